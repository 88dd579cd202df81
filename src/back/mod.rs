//! Back-ends: ASL state machines, CloudFormation, reports and graphs.

pub mod asl;
pub mod cfn;
pub mod graph;
pub mod json;
pub mod metrics;
pub mod records;
pub mod report;
pub mod schedule;
pub mod templates;
pub mod tree;
pub mod yaml;

/// Escapes text for a string literal inside an intrinsic function (`States.Format('…')`).
pub fn intrinsic_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A JSON object from owned values. `json!` deep-copies every interpolated `Value`
/// through its serializer, which made nesting whole branches quadratic; this moves them.
pub fn object<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> serde_json::Value {
    serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Pretty JSON as written to disk: two-space indent, keys in insertion order (which the
/// back-ends keep deterministic), final newline, so diffs of generated files stay small.
pub fn pretty<T: json::Node>(v: &T) -> String {
    // Sized first: growing a definition of megabytes copied it over and over.
    let mut s = String::with_capacity(json::pretty_size(v, 0).0 + 1);
    json::write_pretty(&mut s, v, 0);
    s.push('\n');
    s
}
