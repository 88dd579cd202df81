//! A small, deterministic YAML writer for generated CloudFormation templates.
//!
//! Output is block style with two-space indents; strings are plain only when that cannot be
//! misread (no YAML 1.1 booleans, numbers or indicators), otherwise JSON-quoted, which YAML
//! reads as a double-quoted scalar. Intrinsics use their long form (`Fn::Sub`), so no tags.

use serde_json::Value;
use std::fmt::Write as _;

pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        let _ = write!(out, "{:indent$}{}:", "", key(k));
        write_value_after_key(out, v, indent);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        let _ = write!(out, "{:indent$}-", "");
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First key on the dash line, the rest aligned under it.
                let mut first = true;
                for (k, item) in m {
                    if first {
                        let _ = write!(out, " {}:", key(k));
                        first = false;
                    } else {
                        let _ = write!(out, "{:w$}{}:", "", key(k), w = indent + 2);
                    }
                    write_value_after_key(out, item, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) {
        k.to_string()
    } else {
        serde_json::to_string(k).expect("string serialises")
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if plain_ok(s) {
                s.clone()
            } else {
                serde_json::to_string(s).expect("string serialises")
            }
        }
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    const SPECIAL: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    if SPECIAL.contains(&lower.as_str()) {
        return false;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'_') {
        return false;
    }
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'))
        && !s.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml_that_quotes_ambiguous_scalars() {
        let v = json!({
            "Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "Flag": "yes", "N": 90, "List": [{"a": "1", "b": true}, "x y"], "Empty": {}
            }}}
        });
        let y = to_yaml(&v);
        assert_eq!(
            y,
            "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      Flag: \"yes\"\n      \"N\": 90\n      List:\n        - a: \"1\"\n          b: true\n        - \"x y\"\n      Empty: {}\n"
        );
    }
}
