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

/// `items.iter().map(f)` on every core, in order. Serialising and measuring hundreds of
/// large definitions are independent, and the targets are set for a 2-core machine.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let mut refs: Vec<&T> = items.iter().collect();
    par_map_mut(&mut refs, |t| f(t))
}

/// Cores to spread work over. Asked once: the standard library reads the cgroup quota
/// files on every call, which cost more than emitting a small jobnet.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// [`par_map`] over mutable items.
pub fn par_map_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    let threads = if items.len() < 2 { 1 } else { cores() };
    if threads < 2 {
        return items.iter_mut().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks_mut(chunk)
            .map(|c| s.spawn(move || c.iter_mut().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

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
pub fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
