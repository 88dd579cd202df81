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
    // Written into a buffer each thread keeps, then copied once at its exact size:
    // growing a definition of megabytes copied it over and over, and measuring it first
    // walked the whole tree a second time.
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        json::write_pretty(buf, v, 0);
        buf.push('\n');
        let text = buf.as_str().to_owned();
        // One huge definition should not pin its buffer for the rest of the run.
        if buf.capacity() > 16 << 20 {
            *buf = String::new();
        }
        text
    })
}
