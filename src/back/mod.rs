//! Back-ends: ASL state machines, CloudFormation, reports and graphs.

pub mod asl;
pub mod cfn;
pub mod graph;
pub mod json;
pub mod metrics;
pub mod records;
pub mod report;
pub mod schedule;
pub mod stacks;
pub mod templates;
pub mod tree;
pub mod yaml;

/// Escapes text for a string literal inside an intrinsic function (`States.Format('…')`).
pub fn intrinsic_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if intrinsic_escaped(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Characters [`intrinsic_literal`] puts a backslash before.
pub fn intrinsic_escaped(c: char) -> bool {
    matches!(c, '\'' | '{' | '}' | '\\')
}

/// A JSON object from owned values. `json!` deep-copies every interpolated `Value`
/// through its serializer, which made nesting whole branches quadratic; this moves them.
pub fn object<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> serde_json::Value {
    serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Pretty JSON as written to disk: two-space indent, keys in insertion order (which the
/// back-ends keep deterministic), final newline, so diffs of generated files stay small.
pub fn pretty<T: json::Node>(v: &T) -> String {
    // Written into a buffer each thread keeps, which is then handed over whole and
    // replaced by an empty one of the same room: growing a definition of megabytes copied
    // it over and over, measuring it first walked the whole tree a second time, and
    // copying it out cost as much again for machines written and dropped at once.
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        json::write_pretty(buf, v, 0);
        buf.push('\n');
        // One huge definition should not size the buffers for the rest of the run.
        let room = if buf.capacity() > 16 << 20 {
            0
        } else {
            buf.capacity()
        };
        let mut text = std::mem::replace(buf, String::with_capacity(room));
        // Kept texts (inline templates) should not hold a larger machine's room.
        if text.len() < text.capacity() / 2 {
            text.shrink_to_fit();
        }
        text
    })
}
