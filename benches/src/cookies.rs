//! The client's cookie jar: one per connection, the same code for every variant.
//!
//! It keeps `name=value` from each `Set-Cookie` (attributes are ignored, except that an empty
//! value or `Max-Age=0` removes the cookie) and renders them into one `Cookie` header, rebuilt
//! only when something changed.

/// The cookies of one client.
#[derive(Clone, Debug, Default)]
pub struct Jar {
    cookies: Vec<(String, String)>,
    header: String,
}

impl Jar {
    /// Applies one `Set-Cookie` header value. Returns `false` if it is not `name=value...`.
    pub fn apply(&mut self, set_cookie: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(set_cookie) else {
            return false;
        };
        let mut parts = text.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return false;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return false;
        }
        let removed = value.is_empty()
            || parts.any(|attr| {
                attr.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-'])
                })
            });
        let existing = self.cookies.iter().position(|(n, _)| n == name);
        match (existing, removed) {
            (Some(i), true) => {
                self.cookies.remove(i);
            }
            (Some(i), false) => {
                if let Some(slot) = self.cookies.get_mut(i) {
                    value.clone_into(&mut slot.1);
                }
            }
            (None, true) => return true,
            (None, false) => self.cookies.push((name.to_owned(), value.to_owned())),
        }
        self.render();
        true
    }

    /// The `Cookie` header to send, or `None` when the jar is empty.
    pub fn header(&self) -> Option<&str> {
        (!self.header.is_empty()).then_some(self.header.as_str())
    }

    /// Forgets every cookie.
    pub fn clear(&mut self) {
        self.cookies.clear();
        self.header.clear();
    }

    fn render(&mut self) {
        self.header.clear();
        for (i, (name, value)) in self.cookies.iter().enumerate() {
            if i > 0 {
                self.header.push_str("; ");
            }
            self.header.push_str(name);
            self.header.push('=');
            self.header.push_str(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_replaces_and_removes() {
        let mut jar = Jar::default();
        assert!(jar.apply(b"a=1; Path=/; HttpOnly"));
        assert!(jar.apply(b"b=x=y; Max-Age=604800"));
        assert_eq!(jar.header(), Some("a=1; b=x=y"));
        assert!(jar.apply(b"a=2"));
        assert_eq!(jar.header(), Some("a=2; b=x=y"));
        assert!(jar.apply(b"b=; Max-Age=0"));
        assert_eq!(jar.header(), Some("a=2"));
        assert!(jar.apply(b"a=gone; Max-Age=0"));
        assert_eq!(jar.header(), None);
        assert!(!jar.apply(b"garbage"));
    }
}
