//! Back-ends: ASL state machines, CloudFormation, reports and graphs.

pub mod asl;
pub mod cfn;
pub mod graph;
pub mod metrics;
pub mod records;
pub mod report;
pub mod schedule;
pub mod templates;
pub mod yaml;

/// Pretty JSON as written to disk: two-space indent, keys in insertion order (which the
/// back-ends keep deterministic), final newline, so diffs of generated files stay small.
pub fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
