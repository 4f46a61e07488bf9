//! YAML 1.1 implicit tag resolution, exactly as PyYAML's `Resolver` does it (bool, float, int,
//! merge, null, timestamp, value), plus Python's `repr(float)`. The loader uses it to type plain
//! scalars; the emitter uses it to decide when a string must be quoted.

use regex::Regex;
use std::sync::LazyLock;

/// What a plain scalar means under YAML 1.1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Implicit {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// `<<`.
    Merge,
    /// A date or date-time (PyYAML builds a datetime; kz keeps the text).
    Timestamp,
    /// `=` (PyYAML's `tag:yaml.org,2002:value`).
    ValueKey,
    Str,
}

static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    )
    .expect("static regex")
});
static INT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    )
    .expect("static regex")
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
    )
    .expect("static regex")
});

/// Which reader's rules plain scalars follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scalars {
    /// PyYAML's YAML 1.1 resolver: manifests, the reference's own files, App Garden files.
    #[default]
    Yaml11,
    /// Docker Compose (compose-go on go-yaml v3) for compose files, where it differs from
    /// YAML 1.1: `yes`/`no`/`on`/`off` (any case) stay strings, base-60 `53:53` / `1:30.5` stay
    /// strings, `0o17` is an octal integer. Everything else (`true`, `0755` octal, `0x1F`,
    /// `1_000`, null, floats) resolves as YAML 1.1 does. See docs/compat.md for the go-yaml
    /// source of each case.
    Compose,
}

/// `resolve_plain` under the rules of `scalars`.
pub fn resolve_plain_as(s: &str, scalars: Scalars) -> Implicit {
    if scalars == Scalars::Yaml11 {
        return resolve_plain(s);
    }
    let yaml11 = resolve_plain(s);
    match yaml11 {
        // go-yaml v3 resolve.go: only true/True/TRUE and false/False/FALSE are booleans.
        Implicit::Bool(_)
            if !matches!(s, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") =>
        {
            Implicit::Str
        }
        // go-yaml v3 has no base-60 numbers: strconv.ParseInt/ParseFloat refuse the `:`.
        Implicit::Int(_) | Implicit::Float(_) if s.contains(':') => Implicit::Str,
        Implicit::Str => {
            let (sign, digits) = split_sign(s);
            match digits.strip_prefix("0o") {
                Some(oct) if !oct.is_empty() => i128::from_str_radix(&oct.replace('_', ""), 8)
                    .map_or(Implicit::Str, |v| Implicit::Int(sign * v)),
                _ => Implicit::Str,
            }
        }
        other => other,
    }
}

/// Resolve a plain (unquoted) scalar the way PyYAML's SafeLoader does. Resolvers are tried in
/// PyYAML's registration order, keyed on the first character.
pub fn resolve_plain(s: &str) -> Implicit {
    let Some(first) = s.chars().next() else {
        return Implicit::Null;
    };
    if "yYnNtTfFoO".contains(first) {
        match s {
            "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                return Implicit::Bool(true)
            }
            "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
                return Implicit::Bool(false)
            }
            _ => {}
        }
    }
    if "-+0123456789.".contains(first) && FLOAT.is_match(s) {
        return Implicit::Float(construct_float(s));
    }
    if "-+0123456789".contains(first) && INT.is_match(s) {
        if let Some(i) = construct_int(s) {
            return Implicit::Int(i);
        }
    }
    if s == "<<" {
        return Implicit::Merge;
    }
    if matches!(s, "~" | "null" | "Null" | "NULL") {
        return Implicit::Null;
    }
    if first.is_ascii_digit() && TIMESTAMP.is_match(s) {
        return Implicit::Timestamp;
    }
    if s == "=" {
        return Implicit::ValueKey;
    }
    Implicit::Str
}

/// Whether PyYAML's resolver leaves this text a string when written plain, i.e. whether the
/// emitter may write a `str` without quotes. Unlike `resolve_plain` the int pattern alone
/// decides, so a number too large for `i128` (or `0b_`) still counts as an int, as in PyYAML.
pub(crate) fn is_implicit_str(s: &str) -> bool {
    resolve_plain(s) == Implicit::Str
        && !(s.starts_with(|c: char| "-+0123456789".contains(c)) && INT.is_match(s))
}

fn split_sign(s: &str) -> (i128, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    }
}

fn sexagesimal(s: &str) -> Option<(i128, Vec<&str>)> {
    let parts: Vec<&str> = s.split(':').collect();
    (parts.len() > 1).then_some((0, parts))
}

/// PyYAML's `construct_yaml_int`. `None` only when the number does not fit in 128 bits.
fn construct_int(text: &str) -> Option<i128> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (sign, digits) = split_sign(&cleaned);
    let value = if digits == "0" {
        0
    } else if let Some(b) = digits.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()?
    } else if let Some(h) = digits.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = digits.strip_prefix('0') {
        i128::from_str_radix(o, 8).ok()?
    } else if let Some((_, parts)) = sexagesimal(digits) {
        let mut total: i128 = 0;
        for p in parts {
            total = total
                .checked_mul(60)?
                .checked_add(p.parse::<i128>().ok()?)?;
        }
        total
    } else {
        digits.parse::<i128>().ok()?
    };
    Some(sign * value)
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    let (sign, digits) = split_sign(&cleaned);
    #[allow(clippy::cast_precision_loss)]
    let sign = sign as f64;
    if digits == ".inf" {
        return sign * f64::INFINITY;
    }
    if digits == ".nan" {
        return f64::NAN;
    }
    if let Some((_, parts)) = sexagesimal(digits) {
        let mut total = 0.0_f64;
        for p in parts {
            total = total * 60.0 + p.parse::<f64>().unwrap_or(0.0);
        }
        return sign * total;
    }
    // Python's float() accepts "1." and ".5"; Rust's parser does too.
    sign * digits.parse::<f64>().unwrap_or(0.0)
}

/// Python's `repr(float)` (shortest round-trip digits; exponent form below 1e-4 and from 1e16),
/// as PyYAML's `represent_float` writes it (`.inf`, `.nan`, and `1e+16` becomes `1.0e+16`).
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let repr = python_repr(f);
    let lower = repr.to_lowercase();
    if !lower.contains('.') && lower.contains('e') {
        lower.replacen('e', ".0e", 1)
    } else {
        lower
    }
}

/// The shortest round-trip digits of `f` as `d.ddddeN`, as Python picks them. `{:e}` gives the
/// shortest digits, but on an exact tie between two candidates it rounds half up, where Python
/// rounds half to even (665966212644480.25 is `...480.2`); the correctly rounded string with the
/// same number of digits (exact formatting rounds half to even) settles it when it round-trips.
fn shortest_sci(f: f64) -> String {
    let shortest = format!("{f:e}");
    let digits = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit);
    let precision = digits.count().saturating_sub(1);
    let rounded = format!("{f:.precision$e}");
    if rounded != shortest && rounded.parse::<f64>() == Ok(f) {
        rounded
    } else {
        shortest
    }
}

/// Python's `repr()` of a finite float.
pub(crate) fn python_repr(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = shortest_sci(f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        let body = if exp >= 0 {
            let int_len = usize::try_from(exp + 1).unwrap_or(0);
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let zeros = usize::try_from(-exp - 1).unwrap_or(0);
            let _ = n;
            format!("0.{}{digits}", "0".repeat(zeros))
        };
        format!("{sign}{body}")
    } else {
        let frac = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{frac}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_types() {
        assert_eq!(resolve_plain("yes"), Implicit::Bool(true));
        assert_eq!(resolve_plain("Off"), Implicit::Bool(false));
        assert_eq!(resolve_plain("y"), Implicit::Str);
        assert_eq!(resolve_plain("0755"), Implicit::Int(493));
        assert_eq!(resolve_plain("08"), Implicit::Str);
        assert_eq!(resolve_plain("0x1F"), Implicit::Int(31));
        assert_eq!(resolve_plain("1_000"), Implicit::Int(1000));
        assert_eq!(resolve_plain("22:22"), Implicit::Int(1342));
        assert_eq!(resolve_plain("3000:3000"), Implicit::Str);
        assert_eq!(resolve_plain("1e3"), Implicit::Str);
        assert_eq!(resolve_plain("1.0e+3"), Implicit::Float(1000.0));
        assert_eq!(resolve_plain("3.8"), Implicit::Float(3.8));
        assert_eq!(resolve_plain(""), Implicit::Null);
        assert_eq!(resolve_plain("~"), Implicit::Null);
        assert_eq!(resolve_plain("<<"), Implicit::Merge);
        assert_eq!(resolve_plain("2024-01-02"), Implicit::Timestamp);
        assert_eq!(resolve_plain("="), Implicit::ValueKey);
        assert_eq!(resolve_plain("512M"), Implicit::Str);
    }

    #[test]
    fn compose_types() {
        let c = |s| resolve_plain_as(s, Scalars::Compose);
        assert_eq!(c("yes"), Implicit::Str);
        assert_eq!(c("Off"), Implicit::Str);
        assert_eq!(c("true"), Implicit::Bool(true));
        assert_eq!(c("FALSE"), Implicit::Bool(false));
        assert_eq!(c("53:53"), Implicit::Str);
        assert_eq!(c("1:30.5"), Implicit::Str);
        assert_eq!(c("0755"), Implicit::Int(493));
        assert_eq!(c("0o17"), Implicit::Int(15));
        assert_eq!(c("-0o17"), Implicit::Int(-15));
        assert_eq!(c("0o"), Implicit::Str);
        assert_eq!(c("0x1F"), Implicit::Int(31));
        assert_eq!(c("~"), Implicit::Null);
        assert_eq!(c("3.8"), Implicit::Float(3.8));
        assert_eq!(resolve_plain("0o17"), Implicit::Str);
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float_repr(3.8), "3.8");
        assert_eq!(py_float_repr(1.0), "1.0");
        assert_eq!(py_float_repr(1000.0), "1000.0");
        assert_eq!(py_float_repr(1e16), "1.0e+16");
        assert_eq!(py_float_repr(1.5e16), "1.5e+16");
        assert_eq!(py_float_repr(0.0001), "0.0001");
        assert_eq!(py_float_repr(0.00001), "1.0e-05");
        assert_eq!(py_float_repr(-2.5), "-2.5");
        assert_eq!(py_float_repr(f64::INFINITY), ".inf");
        assert_eq!(py_float_repr(123_456_789.123), "123456789.123");
        // An exact tie between two shortest candidates: Python rounds half to even.
        assert_eq!(py_float_repr(665_966_212_644_480.2), "665966212644480.2");
    }
}
