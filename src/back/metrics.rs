//! Size figures of a generated definition: states, bytes, worst-case history events.
//!
//! The history estimate is an upper bound, not a simulation: generated machines have no
//! loops, so every state runs at most once per execution and summing each state's events
//! (with every retry attempt taken) bounds any path. It is what the splitting budgets and
//! the report use, so it must never under-count.

use crate::back::json::{Node, View};

/// Figures of one state machine definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metrics {
    /// States, including those inside Parallel branches and Map iterators.
    pub states: usize,
    /// Upper bound of history events of one execution.
    pub history_events: u64,
    /// Bytes of the pretty-printed definition as written to disk.
    pub definition_bytes: usize,
}

/// Events of the execution itself (ExecutionStarted and its terminal event).
pub const EXECUTION_EVENTS: u64 = 2;

/// Bytes of `crate::back::pretty(v)`, counted without building the string.
pub fn pretty_len<T: Node>(v: &T) -> usize {
    pretty_len_lines(v).0
}

/// Bytes and lines of `crate::back::pretty(v)`, counted without building the string.
pub fn pretty_len_lines<T: Node>(v: &T) -> (usize, usize) {
    let (bytes, newlines) = crate::back::json::pretty_size(v, 0);
    (bytes + 1, newlines + 1)
}

/// Measures a definition (`{"StartAt":…,"States":{…}}`).
pub fn measure<T: Node>(definition: &T) -> Metrics {
    measure_with_len(definition, pretty_len(definition))
}

/// [`measure`] when the pretty text is already at hand (its length is `bytes`).
pub fn measure_with_len<T: Node>(definition: &T, bytes: usize) -> Metrics {
    let mut m = Metrics {
        definition_bytes: bytes,
        history_events: EXECUTION_EVENTS,
        ..Metrics::default()
    };
    walk(definition, &mut m);
    m
}

/// The member `key` of an object.
fn get<'a, T: Node>(v: &'a T, key: &str) -> Option<&'a T> {
    match v.view() {
        View::Object(mut m) => m.find(|(k, _)| *k == key).map(|(_, x)| x),
        _ => None,
    }
}

fn str_of<T: Node>(v: Option<&T>) -> Option<&str> {
    match v?.view() {
        View::Str(s) => Some(s),
        _ => None,
    }
}

fn array_of<T: Node>(v: Option<&T>) -> &[T] {
    match v.map(Node::view) {
        Some(View::Array(a)) => a,
        _ => &[],
    }
}

fn walk<T: Node>(machine: &T, m: &mut Metrics) {
    let Some(View::Object(states)) = get(machine, "States").map(Node::view) else {
        return;
    };
    for (_, state) in states {
        m.states += 1;
        m.history_events += state_events(state);
        match str_of(get(state, "Type")) {
            Some("Parallel") => {
                for b in array_of(get(state, "Branches")) {
                    walk(b, m);
                }
            }
            Some("Map") => {
                let inner = get(state, "ItemProcessor").or_else(|| get(state, "Iterator"));
                if let Some(inner) = inner {
                    // Generated machines only use Map over a bounded list known at compile
                    // time; without it, count one iteration and let the caller budget more.
                    let items = match get(state, "Items").map(Node::view) {
                        Some(View::Array(a)) => a.len() as u64,
                        _ => 1,
                    };
                    let mut sub = Metrics::default();
                    walk(inner, &mut sub);
                    m.states += sub.states;
                    m.history_events += items * (sub.history_events + 2);
                }
            }
            _ => {}
        }
    }
}

/// Events of one state, retries included: entered/exited for all, plus the task or
/// parallel lifecycle events, plus four per retry attempt (scheduled, started, submitted,
/// failed).
fn state_events<T: Node>(state: &T) -> u64 {
    let base = match str_of(get(state, "Type")) {
        Some("Task") => 6,
        Some("Parallel") | Some("Map") => 4,
        Some("Fail") => 2,
        _ => 2,
    };
    let retries: u64 = array_of(get(state, "Retry"))
        .iter()
        .map(|r| match get(r, "MaxAttempts").map(Node::view) {
            Some(View::Number(n)) => n.as_u64().unwrap_or(3),
            _ => 3,
        })
        .sum();
    base + 4 * retries
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_nested_states_and_retries() {
        let def = json!({"StartAt": "p", "States": {
            "p": {"Type": "Parallel", "Next": "t", "Branches": [
                {"StartAt": "a", "States": {"a": {"Type": "Pass", "End": true}}},
                {"StartAt": "b", "States": {"b": {"Type": "Task", "Resource": "x", "End": true,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]}}}
            ]},
            "t": {"Type": "Succeed"}
        }});
        let m = measure(&def);
        assert_eq!(m.states, 4);
        // execution 2 + parallel 4 + pass 2 + task 6 + 2 retries * 4 + succeed 2
        assert_eq!(m.history_events, 2 + 4 + 2 + 6 + 8 + 2);
        assert_eq!(m.definition_bytes, crate::back::pretty(&def).len());
    }

    #[test]
    fn empty_definition_has_only_execution_events() {
        let m = measure(&json!({}));
        assert_eq!(m.states, 0);
        assert_eq!(m.history_events, EXECUTION_EVENTS);
    }
}
