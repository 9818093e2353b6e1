//! Kotlin's `Double.toString()` and `Float.toString()` on the JVM (Java's algorithm).
//!
//! * `NaN`, `Infinity`, `-Infinity`, `0.0`, `-0.0`.
//! * A magnitude in `[10⁻³, 10⁷)` is written in plain notation with at least one fractional
//!   digit: `3.0`, `0.001`, `1234567.5`.
//! * Anything else is written as `d.ddd` `E` exponent: `1.0E7`, `1.0E10`, `1.5E-5`, `-2.5E300`.
//! * The digits are the shortest that read back as the same value (Rust's `Display` and
//!   `LowerExp` give them), which is what JDK 19 and later print. Where that shortest form has one
//!   digit, Java picks the closest of the one- and two-digit candidates, which only differs for
//!   subnormals (`Double.MIN_VALUE` is `4.9E-324`, not `5.0E-324`); that rule is applied too.
//!
//! JDK 18 and earlier sometimes printed one or two more digits than needed (JDK-4511638). Such
//! output still reads back as the same value, so only the bytes of a rewritten cookie can differ.

/// `Double.toString()`.
pub(super) fn double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        plain(format!("{v}"))
    } else {
        let shortest = format!("{v:e}");
        let two_digits = format!("{v:.1e}");
        let closer = two_digits.parse::<f64>().is_ok_and(|back| back == v);
        scientific(&shortest, closer.then_some(two_digits.as_str()))
    }
}

/// `Float.toString()`.
pub(super) fn float_to_string(v: f32) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        plain(format!("{v}"))
    } else {
        let shortest = format!("{v:e}");
        let two_digits = format!("{v:.1e}");
        let closer = two_digits.parse::<f32>().is_ok_and(|back| back == v);
        scientific(&shortest, closer.then_some(two_digits.as_str()))
    }
}

/// `123` becomes `123.0`; `0.5` stays.
fn plain(mut text: String) -> String {
    if !text.contains('.') {
        text.push_str(".0");
    }
    text
}

/// Rust's `1.5e-5` becomes Java's `1.5E-5`, and `1e10` becomes `1.0E10`. `two_digits` is the
/// closest two-digit form (`4.9e-324`) if it reads back as the same value.
fn scientific(shortest: &str, two_digits: Option<&str>) -> String {
    let Some((mantissa, exponent)) = shortest.split_once('e') else {
        return plain(shortest.to_owned());
    };
    if !mantissa.contains('.') {
        // One significant digit: Java takes the closest of the one- and two-digit candidates.
        if let Some((m2, e2)) = two_digits.and_then(|t| t.split_once('e')) {
            return format!("{m2}E{e2}");
        }
        return format!("{mantissa}.0E{exponent}");
    }
    format!("{mantissa}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        let cases: &[(f64, &str)] = &[
            (3.0, "3.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (0.001, "0.001"),
            (0.000_999, "9.99E-4"),
            (1e-4, "1.0E-4"),
            (1234567.125, "1234567.125"),
            (9_999_999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (1e10, "1.0E10"),
            (1.5e-5, "1.5E-5"),
            (123_456_789.0, "1.23456789E8"),
            (1e23, "1.0E23"),
            (-2.5e300, "-2.5E300"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, java) in cases {
            assert_eq!(double_to_string(v), java, "{v:e}");
            if v.is_finite() {
                assert_eq!(java.parse::<f64>().unwrap(), v, "{java} reads back");
            }
        }
    }

    #[test]
    fn floats_print_like_java() {
        let cases: &[(f32, &str)] = &[
            (4.0, "4.0"),
            (0.1, "0.1"),
            (1.1, "1.1"),
            (3.4028235e38, "3.4028235E38"),
            (1e7, "1.0E7"),
            (1e-3, "0.001"),
            (1.0e-5, "1.0E-5"),
            (1.4e-45, "1.4E-45"),
            (f32::NAN, "NaN"),
            (f32::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, java) in cases {
            assert_eq!(float_to_string(v), java, "{v:e}");
        }
    }
}
