//! Pretty JSON text of generated definitions, written straight into a `String`.
//!
//! The layout is serde_json's pretty printer's (two-space indent, `": "` after keys,
//! `{}`/`[]` when empty, the same string escapes and number formats) with one change: an
//! object or array of one or two scalars is written on one line (`["States.ALL"]`,
//! `{"S": "RUNNING"}`). Half the bytes of a deeply nested definition were indentation, most
//! of it on such lines; the rule reads only the shape, never lengths, so sizes of jobs of a
//! shape still differ only by their values. It is written without a generic formatter or
//! per-token writes: serialising definitions was a sixth of a large compile. Sizes are
//! computed the same way without building the text.

use serde_json::{Number, Value};

/// A JSON value as the writer sees it: serde_json's `Value` and the back-end's
/// [`crate::back::tree::Tree`] are written by the same code.
pub trait Node: Sized {
    type Entries<'a>: ExactSizeIterator<Item = (&'a str, &'a Self)>
    where
        Self: 'a;
    fn view(&self) -> View<'_, Self>;
}

/// One level of a [`Node`].
pub enum View<'a, T: Node + 'a> {
    Null,
    Bool(bool),
    Number(&'a Number),
    Str(&'a str),
    Array(&'a [T]),
    Object(T::Entries<'a>),
}

type ValueEntries<'a> =
    std::iter::Map<serde_json::map::Iter<'a>, fn((&'a String, &'a Value)) -> (&'a str, &'a Value)>;

fn entry<'a>((k, v): (&'a String, &'a Value)) -> (&'a str, &'a Value) {
    (k, v)
}

impl Node for Value {
    type Entries<'a> = ValueEntries<'a>;
    fn view(&self) -> View<'_, Value> {
        match self {
            Value::Null => View::Null,
            Value::Bool(b) => View::Bool(*b),
            Value::Number(n) => View::Number(n),
            Value::String(s) => View::Str(s),
            Value::Array(a) => View::Array(a),
            Value::Object(m) => View::Object(m.iter().map(entry as fn(_) -> _)),
        }
    }
}

/// Whether `v` is a container written on one line: one or two members, none a container.
fn one_line<T: Node>(v: &T) -> bool {
    fn scalar<T: Node>(v: &T) -> bool {
        !matches!(v.view(), View::Array(_) | View::Object(_))
    }
    match v.view() {
        View::Array(a) => matches!(a.len(), 1 | 2) && a.iter().all(scalar),
        View::Object(m) => matches!(m.len(), 1 | 2) && m.into_iter().all(|(_, x)| scalar(x)),
        _ => false,
    }
}

/// Appends the pretty text of `v`, its first line at the current position and nested
/// lines indented from `level` (two spaces per level).
pub fn write_pretty<T: Node>(out: &mut String, v: &T, level: usize) {
    if one_line(v) {
        match v.view() {
            View::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_pretty(out, x, level);
                }
                out.push(']');
            }
            View::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_str(out, k, "\": ");
                    write_pretty(out, x, level);
                }
                out.push('}');
            }
            _ => unreachable!("only containers are written on one line"),
        }
        return;
    }
    match v.view() {
        View::Null => out.push_str("null"),
        View::Bool(true) => out.push_str("true"),
        View::Bool(false) => out.push_str("false"),
        View::Number(n) => {
            use std::fmt::Write as _;
            let _ = if let Some(u) = n.as_u64() {
                write!(out, "{u}")
            } else if let Some(i) = n.as_i64() {
                write!(out, "{i}")
            } else {
                write!(out, "{n}")
            };
        }
        View::Str(s) => write_str(out, s, "\""),
        View::Array([]) => out.push_str("[]"),
        View::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                new_line(out, i > 0, level + 1);
                write_pretty(out, x, level + 1);
            }
            new_line(out, false, level);
            out.push(']');
        }
        View::Object(m) if m.len() == 0 => out.push_str("{}"),
        View::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.enumerate() {
                new_line(out, i > 0, level + 1);
                write_str(out, k, "\": ");
                write_pretty(out, x, level + 1);
            }
            new_line(out, false, level);
            out.push('}');
        }
    }
}

/// Bytes and newlines of the pretty text of `v` at nesting `level`, as [`write_pretty`]
/// would write it.
pub fn pretty_size<T: Node>(v: &T, level: usize) -> (usize, usize) {
    if one_line(v) {
        // Brackets, `", "` between members, and `": "` after each key.
        return match v.view() {
            View::Array(a) => (
                2 + 2 * (a.len() - 1) + a.iter().map(|x| pretty_size(x, level).0).sum::<usize>(),
                0,
            ),
            View::Object(m) => {
                let n = m.len();
                let members: usize = m
                    .map(|(k, x)| str_len(k) + 2 + pretty_size(x, level).0)
                    .sum();
                (2 + 2 * (n - 1) + members, 0)
            }
            _ => unreachable!("only containers are written on one line"),
        };
    }
    match v.view() {
        View::Null => (4, 0),
        View::Bool(true) => (4, 0),
        View::Bool(false) => (5, 0),
        View::Number(n) => (number_len(n), 0),
        View::Str(s) => (str_len(s), 0),
        View::Array([]) => (2, 0),
        View::Object(m) if m.len() == 0 => (2, 0),
        View::Array(a) => {
            // `[`, per item a newline (after a comma but the first) and its indent, then a
            // newline, the closing indent and `]`.
            let mut bytes = 1 + (a.len() - 1) + a.len() * (1 + 2 * (level + 1)) + 1 + 2 * level + 1;
            let mut lines = a.len() + 1;
            for x in a {
                let (b, l) = pretty_size(x, level + 1);
                bytes += b;
                lines += l;
            }
            (bytes, lines)
        }
        View::Object(m) => {
            let n = m.len();
            let mut bytes = 1 + (n - 1) + n * (1 + 2 * (level + 1) + 2) + 1 + 2 * level + 1;
            let mut lines = n + 1;
            for (k, x) in m {
                let (b, l) = pretty_size(x, level + 1);
                bytes += str_len(k) + b;
                lines += l;
            }
            (bytes, lines)
        }
    }
}

/// A comma if `comma`, a newline and the indent of `level`, in one copy for the usual
/// depths: a definition is mostly short lines, and writing them piece by piece was most
/// of the writer's time.
fn new_line(out: &mut String, comma: bool, level: usize) {
    const LINE: &str = ",\n                                                                                                                                ";
    let start = usize::from(!comma);
    let end = 2 + 2 * level;
    if end <= LINE.len() {
        out.push_str(&LINE[start..end]);
        return;
    }
    out.push_str(&LINE[start..2]);
    let mut n = 2 * level;
    while n > 0 {
        let k = n.min(LINE.len() - 2);
        out.push_str(&LINE[2..2 + k]);
        n -= k;
    }
}

/// The escape serde_json writes for a byte, if any.
fn escape(b: u8) -> Option<&'static str> {
    const HEX: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    ];
    match b {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        0..=0x1f => Some(HEX[b as usize]),
        _ => None,
    }
}

/// Writes `s` quoted and escaped, then `close` (its closing quote, and after a key the
/// `: ` too, in one copy).
fn write_str(out: &mut String, s: &str, close: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    // Nearly every generated string needs no escape: check with a loop the compiler
    // vectorises, then copy it whole.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push_str(close);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(e) = escape(b) {
            // Escaped bytes are ASCII, so `start..i` are char boundaries.
            out.push_str(&s[start..i]);
            out.push_str(e);
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
    out.push_str(close);
}

/// Printed length of `s`, quotes and escapes included.
pub(crate) fn str_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| escape(b).map_or(1, str::len))
        .sum::<usize>()
}

fn number_len(n: &Number) -> usize {
    if let Some(u) = n.as_u64() {
        u.checked_ilog10().map_or(1, |d| d as usize + 1)
    } else if let Some(i) = n.as_i64() {
        1 + i
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1)
    } else {
        n.to_string().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ours(v: &Value) -> String {
        let mut s = String::new();
        write_pretty(&mut s, v, 0);
        s
    }

    /// The layout spelled out the plain way: serde_json's pretty text, but containers of
    /// one or two scalars on one line with serde_json's own scalar text.
    fn reference(v: &Value, level: usize) -> String {
        let scalar = |x: &Value| !x.is_array() && !x.is_object();
        let pad = |l: usize| "  ".repeat(l);
        match v {
            Value::Array(a) if (1..=2).contains(&a.len()) && a.iter().all(scalar) => {
                let items: Vec<String> = a.iter().map(|x| reference(x, level)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Object(m) if (1..=2).contains(&m.len()) && m.values().all(scalar) => {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, x)| {
                        format!("{}: {}", reference(&json!(k), level), reference(x, level))
                    })
                    .collect();
                format!("{{{}}}", items.join(", "))
            }
            Value::Array(a) if !a.is_empty() => {
                let items: Vec<String> = a
                    .iter()
                    .map(|x| format!("{}{}", pad(level + 1), reference(x, level + 1)))
                    .collect();
                format!("[\n{}\n{}]", items.join(",\n"), pad(level))
            }
            Value::Object(m) if !m.is_empty() => {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, x)| {
                        let key = reference(&json!(k), level + 1);
                        format!("{}{key}: {}", pad(level + 1), reference(x, level + 1))
                    })
                    .collect();
                format!("{{\n{}\n{}}}", items.join(",\n"), pad(level))
            }
            _ => serde_json::to_string_pretty(v).expect("serialises"),
        }
    }

    fn check(v: &Value) {
        let theirs = reference(v, 0);
        assert_eq!(ours(v), theirs);
        let (bytes, lines) = pretty_size(v, 0);
        assert_eq!(bytes, theirs.len(), "size of {theirs}");
        assert_eq!(lines, theirs.matches('\n').count(), "lines of {theirs}");
    }

    #[test]
    fn short_scalar_containers_take_one_line() {
        let v = json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "x"}], "V": {":r": {"S": "RUNNING"}}, "L": [1, 2, 3]});
        assert_eq!(
            ours(&v),
            "{\n  \"Catch\": [\n    {\n      \"ErrorEquals\": [\"States.ALL\"],\n      \"Next\": \"x\"\n    }\n  ],\n  \"V\": {\n    \":r\": {\"S\": \"RUNNING\"}\n  },\n  \"L\": [\n    1,\n    2,\n    3\n  ]\n}"
        );
        check(&v);
    }

    #[test]
    fn same_bytes_as_the_reference() {
        check(&json!(null));
        check(&json!({}));
        check(&json!([]));
        check(&json!({"a": [], "b": {}, "c": [1, -2, 3.5, 1e300, -0.0, u64::MAX, i64::MIN]}));
        check(
            &json!({"s": "quote \" backslash \\ nl \n tab \t cr \r bell \u{7} del \u{7f} ジョブ / é"}),
        );
        check(
            &json!({"States": {"x": {"Type": "Pass", "Next": "y", "Result": {"failed": false}}}}),
        );
        check(&json!([[[[]]], [{"k": [true, false, null]}], 0, -1, 9, 10, 99, 100]));
        // Deeper than one copy of the indent covers.
        let mut deep = json!({"leaf": [1, {"k": "v"}]});
        for i in 0..100 {
            deep = if i % 2 == 0 {
                json!([deep, i])
            } else {
                json!({"k": deep, "x": i})
            };
        }
        check(&deep);
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_prints_as_the_reference_does(v in value()) {
            check(&v);
        }
    }
}
