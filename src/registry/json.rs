//! JSON text exactly as Python's `json.dump(obj, indent=2)` writes it, which is what the
//! catalogue files have always held: two-space indent, `", "`/`": "` separators, every non-ASCII
//! character escaped (`\u00fc`, astral characters as surrogate pairs), floats in Python's `repr`,
//! empty containers as `[]`/`{}`, and no final newline. Keys keep their order.

use serde_json::{Number, Value};
use std::fmt::Write;

/// `json.dumps(value, indent=2)`.
pub fn to_python_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Integers as they are; floats as Python's `float.__repr__` (`1e-05`, `1e+16`, `2.0`).
fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&crate::yaml::python_repr(f));
    }
}

/// A string with `ensure_ascii=True`: `"`, `\` and the short escapes, everything outside
/// printable ASCII as `\uXXXX` (lower-case hex), characters beyond the BMP as surrogate pairs.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dumps(text: &str) -> String {
        to_python_json(&serde_json::from_str(text).expect("json"))
    }

    #[test]
    fn layout_matches_python() {
        // json.dumps(json.loads(...), indent=2) in Python 3.11.
        assert_eq!(
            dumps(r#"[{"b": [], "a": {}, "c": [1, {"d": null}], "e": true}]"#),
            "[\n  {\n    \"b\": [],\n    \"a\": {},\n    \"c\": [\n      1,\n      {\n        \"d\": null\n      }\n    ],\n    \"e\": true\n  }\n]"
        );
        assert_eq!(dumps("[]"), "[]");
    }

    #[test]
    fn strings_are_ascii_escaped() {
        assert_eq!(
            dumps(r#""ünï \"q\" \\ / \n\t\r\b\f \u0001 \u007f é😀""#),
            r#""\u00fcn\u00ef \"q\" \\ / \n\t\r\b\f \u0001 \u007f \u00e9\ud83d\ude00""#
        );
    }

    #[test]
    fn numbers_as_python_prints_them() {
        assert_eq!(
            dumps("[0, -3, 18446744073709551615, 1.0, 1e2, 0.00001, 1e16, 2.5, -0.0, 123456789.125]"),
            "[\n  0,\n  -3,\n  18446744073709551615,\n  1.0,\n  100.0,\n  1e-05,\n  1e+16,\n  2.5,\n  -0.0,\n  123456789.125\n]"
        );
    }
}
