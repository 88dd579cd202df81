//! States Language rules that AWS enforces when a machine is created and that
//! asl-validator 4.0.0 does not check (scripts/validate-artifacts.sh checks them too).

use serde_json::Value;

/// `States.ALL` must stand alone in its `ErrorEquals` and only in the last retrier or
/// catcher. Panics naming the machine and the offending state.
pub fn assert_wildcard_last(machine: &str, definition: &Value) {
    fn walk(machine: &str, v: &Value, at: &str) {
        match v {
            Value::Object(map) => {
                for field in ["Retry", "Catch"] {
                    let Some(entries) = map.get(field).and_then(Value::as_array) else {
                        continue;
                    };
                    for (n, entry) in entries.iter().enumerate() {
                        let names = entry["ErrorEquals"]
                            .as_array()
                            .map_or(&[][..], Vec::as_slice);
                        let wildcard = names.iter().any(|x| x == "States.ALL");
                        assert!(
                            !wildcard || (names.len() == 1 && n + 1 == entries.len()),
                            "{machine}: {at}: {field}[{n}] has States.ALL, which AWS accepts \
                             only alone and in the last entry"
                        );
                    }
                }
                for (k, x) in map {
                    walk(machine, x, &format!("{at}/{k}"));
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(machine, x, at)),
            _ => {}
        }
    }
    walk(machine, definition, "");
}
