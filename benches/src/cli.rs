//! A small command-line parser shared by the binaries: `--name value` options and `--flag`s.

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed arguments.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, Vec<String>>,
    flags: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`; `flags` lists the options that take no value.
    pub fn parse(flags: &[&str]) -> Result<Args, String> {
        Args::parse_from(std::env::args().skip(1), flags)
    }

    /// Parses `args`.
    pub fn parse_from(
        args: impl IntoIterator<Item = String>,
        flags: &[&str],
    ) -> Result<Args, String> {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            if let Some((name, value)) = name.split_once('=') {
                parsed.push(name, value.to_owned());
            } else if flags.contains(&name) {
                parsed.flags.push(name.to_owned());
            } else {
                let value = args
                    .next()
                    .ok_or_else(|| format!("`--{name}` needs a value"))?;
                parsed.push(name, value);
            }
        }
        Ok(parsed)
    }

    fn push(&mut self, name: &str, value: String) {
        self.values.entry(name.to_owned()).or_default().push(value);
    }

    /// Whether `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// The last value of `--name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name)?.last().map(String::as_str)
    }

    /// Every value of `--name` (repeated, or comma-separated).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.values
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `--name` parsed, or `default`.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("`--{name} {v}`: {e}")),
        }
    }

    /// `--name` parsed, if given.
    pub fn opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        self.value(name)
            .map(|v| v.parse().map_err(|e| format!("`--{name} {v}`: {e}")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_flags_and_lists() {
        let args = Args::parse_from(
            [
                "--quick",
                "--variants",
                "a,b",
                "--variants=c",
                "--repeat",
                "3",
            ]
            .map(String::from),
            &["quick"],
        )
        .unwrap();
        assert!(args.flag("quick"));
        assert_eq!(args.list("variants"), ["a", "b", "c"]);
        assert_eq!(args.get("repeat", 1u32).unwrap(), 3);
        assert_eq!(args.get("missing", 7u32).unwrap(), 7);
        assert!(Args::parse_from(["--repeat".to_owned()], &[]).is_err());
    }
}
