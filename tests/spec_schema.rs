//! The JSON Schema `jobnet-specs/jobnet-spec.schema.json` and the spec parser agree.
//!
//! YAML is turned into JSON with the front-end's own saphyr-based reader, so schema and
//! parser see the same scalars (`02:30` and `2027-01-04` stay strings, `1` is a number).
//! Besides the bundled examples and a set of snippets both must reject, the key sets are
//! compared context by context: the parser's "known keys here" hint for an unknown key
//! must list exactly the properties the schema offers there.

use jobnet2sfn::diag::{Diagnostic, Diagnostics, FileId};
use jobnet2sfn::front::spec::load;
use jobnet2sfn::front::spec::yaml::{parse, Node, Value as Y};
use jobnet2sfn::ir::Project;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("jobnet-specs/jobnet-spec.schema.json"))
        .expect("schema file exists");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("schema compiles")
}

fn to_json(node: &Node) -> Value {
    match &node.value {
        Y::Null => Value::Null,
        Y::Bool(b) => json!(b),
        Y::Int(i) => json!(i),
        Y::Float(f) => json!(f),
        Y::Str(s) => json!(s),
        Y::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Y::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let key = match &k.value {
                    Y::Str(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                out.entry(key).or_insert_with(|| to_json(v));
            }
            Value::Object(out)
        }
    }
}

fn yaml_to_json(text: &str) -> Value {
    let node = parse(text, FileId(0))
        .expect("snippet is YAML")
        .expect("snippet is not empty");
    to_json(&node)
}

fn parser_diags(text: &str) -> Diagnostics {
    let mut project = Project::default();
    let file = project.sources.add("t.yaml", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut project, file, &mut diags);
    diags
}

fn parser_codes(text: &str) -> Vec<&'static str> {
    parser_diags(text).items.iter().map(|d| d.code).collect()
}

fn schema_errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance = yaml_to_json(text);
    v.iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// A spec with one root jobnet `n` holding `units` (YAML lines indented by 6).
fn net(units: &str) -> String {
    format!("version: 1\njobnets:\n  - name: n\n    units:\n{units}")
}

/// A spec with one scheduled root jobnet `n`: `rule` is one flow-style schedule rule.
fn rule(rule: &str) -> String {
    format!(
        "version: 1\njobnets:\n  - name: n\n    schedule:\n      rules:\n        - {rule}\n    units:\n      - {{name: a, type: noop}}\n"
    )
}

#[test]
fn schema_is_valid_draft_2020_12_and_documents_every_property() {
    let s = schema();
    assert_eq!(
        s["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    if let Err(e) = jsonschema::meta::validate(&s) {
        panic!("schema violates the 2020-12 meta-schema: {e}");
    }
    let mut missing = Vec::new();
    let mut stack = vec![("#".to_string(), &s)];
    while let Some((at, v)) = stack.pop() {
        match v {
            Value::Object(o) => {
                if let Some(Value::Object(props)) = o.get("properties") {
                    for (k, p) in props {
                        if !p.get("description").is_some_and(Value::is_string) {
                            missing.push(format!("{at}/properties/{k}"));
                        }
                    }
                }
                for (k, c) in o {
                    stack.push((format!("{at}/{k}"), c));
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    stack.push((format!("{at}/{i}"), c));
                }
            }
            _ => {}
        }
    }
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:#?}"
    );
}

#[test]
fn every_example_validates_against_the_schema_and_parses() {
    let v = validator();
    let mut seen = 0;
    let mut dir: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    dir.sort();
    for path in dir {
        let text = std::fs::read_to_string(&path).expect("readable example");
        let errors = schema_errors(&v, &text);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        let codes = parser_codes(&text);
        assert!(codes.is_empty(), "{}: {codes:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 7, "only {seen} examples found");
}

#[test]
fn valid_snippets_pass_both() {
    let v = validator();
    let cases = [
        net("      - {name: a, type: noop, after: b}\n      - {name: b, type: noop}\n"),
        net("      - {name: a, type: noop, end: {abnormal_above: 3}, retry: {attempts: 1, return_codes: 7}}\n"),
        net("      - {name: a, wait: {until: \"7:05\"}, start_delay: \"47:59\", end_delay: expected}\n"),
        net("      - {name: a, type: noop}\n      - {name: j, after: a, judge: {return_code_range: {low: -5, high: 5}}, then: b}\n      - {name: b, type: noop}\n"),
        net("      - {name: j, judge: {variable: {name: X, op: \">=\", value: 3}}}\n"),
        net("      - {name: w, wait_for: {jobnet: /other/unit}, cutoff: {minutes: 5, status: warning}}\n"),
        net("      - {name: f, wait: {file: \"s3://b/in/k.ok\", interval_seconds: 30}, cutoff: {minutes: 5, status: normal}}\n"),
        net("      - {name: f, wait: {file: 'D:\\in\\k.ok'}}\n"),
        net("      - {name: f, wait: {file: \"s3://b/in/*.csv\", when: written}}\n"),
        net("      - {name: f, wait: {file: \"s3://b/k\", when: [written, deleted], interval_seconds: 5}}\n"),
        "version: 1\njobnets:\n  - {name: n, units: [], start_conditions: {events: [{file: \"s3://b/*.csv\", when: [written, deleted]}, {file_created: \"s3://b/*.ok\"}]}}\n".into(),
        "version: 1\njobnets:\n  - name: n\n    schedule: {rules: [{name: day, days: daily, at: \"01:00\"}, {name: \"2\", nth_open_day: 1, at: \"02:00\"}]}\n    units:\n      - {name: a, type: noop, end_delay: [{after_own_start: 5}, {rules: [day], delay: \"03:00\"}, {rules: [\"2\"], delay: expected}], expected_minutes: 3, start_delay: [{rules: [day], delay: {after_root_start: 1}}]}\n".into(),
        rule("{weekdays: [mon, mon], at: \"00:00\", on_closed_day: next, max_shift_days: 31}"),
        rule("{nth_weekday: {weekday: sun, n: 5}, at: [\"01:00\", \"25:00\"], reckon: {open_days: 2}}"),
        rule("{days_before_month_end: 30, at: \"09:00\", repeat_minutes: 1440, valid_from: 2028-02-29}"),
        rule("{nth_last_open_day: 1, at: \"22:00\", month_cycle: {every: 3, from: 2027-03}}"),
        rule("{days: daily, at: \"22:00\", month_cycle: {every: 1200, from: 1999-12}}"),
        "version: 1\ncalendars:\n  - {name: c, day_start: \"23:59\", dates: [{date: 2027-01-01, open: false}]}\n".into(),
        "version: 1\njobnets: []\n".into(),
        "version: 1\njobnets:\n  - {name: n, hold: after_warning, units: [{name: a, type: noop, hold: true}]}\n  - {name: m, hold: after_abnormal, units: []}\n".into(),
    ];
    for text in &cases {
        let errors = schema_errors(&v, text);
        assert!(errors.is_empty(), "schema rejects:\n{text}\n{errors:#?}");
        let codes = parser_codes(text);
        assert!(codes.is_empty(), "parser rejects:\n{text}\n{codes:?}");
    }
}

#[test]
fn invalid_snippets_are_rejected_by_both() {
    let v = validator();
    // (expected parser code, text)
    let cases: Vec<(&str, String)> = vec![
        ("E0105", net("      - {name: a, type: noop, colour: red}\n")),
        ("E0105", "version: 1\njobnets: []\nextra: 1\n".into()),
        ("E0105", net("      - {name: a, type: noop, retry: {attempts: 2, backoff: 2}}\n")),
        ("E0105", "version: 1\ncalendars:\n  - {name: c, weekdays: {mo: closed}}\n".into()),
        ("E0104", net("      - {name: a, type: noop, hold: \"yes\"}\n")),
        ("E0112", "version: 1\njobnets:\n  - {name: n, hold: always, units: []}\n".into()),
        ("E0116", net("      - {name: s, hold: after_abnormal, units: [{name: a, type: noop}]}\n")),
        ("E0104", net("      - {name: 123, type: noop}\n")),
        ("E0104", net("      - {name: a, type: noop, comment: 5}\n")),
        ("E0104", net("      - {name: a, type: noop, params: [1, 2]}\n")),
        ("E0104", "version: 1\njobnets: {name: n}\n".into()),
        ("E0104", "version: \"1\"\njobnets: []\n".into()),
        ("E0104", net("      - {name: a, wait: {until: 230}}\n")),
        ("E0104", net("      - {name: a, type: noop, after: {b: 1}}\n")),
        ("E0104", net("      - {name: j, judge: {variable: {name: X, op: eq, value: [1]}}}\n")),
        ("E0110", net("      - {name: a, wait: {until: \"48:00\"}}\n")),
        ("E0112", net("      - {name: a, wait: {file: \"s3://b/*.csv\"}}\n")),
        ("E0112", net("      - {name: a, wait: {file: \"s3://b/k\", when: []}}\n")),
        ("E0112", net("      - {name: a, wait: {file: \"s3://b/k\", when: moved}}\n")),
        ("E0116", net("      - {name: a, wait: {minutes: 3, when: written}}\n")),
        ("E0116", "version: 1\njobnets:\n  - {name: n, units: [], start_conditions: {events: [{file_created: x, when: deleted}]}}\n".into()),
        ("E0110", net("      - {name: a, type: noop, start_delay: \"12:60\"}\n")),
        ("E0110", net("      - {name: a, type: noop, end_delay: \"0230\"}\n")),
        ("E0110", rule("{days: daily, at: [\"2:3\"]}")),
        ("E0110", "version: 1\ncalendars:\n  - {name: c, day_start: \"24:00\"}\n".into()),
        ("E0111", rule("{days: daily, at: \"01:00\", valid_from: 2027-13-01}")),
        ("E0111", rule("{dates: [2027-1-4], at: \"01:00\"}")),
        ("E0111", rule("{days: daily, at: \"01:00\", month_cycle: {every: 3, from: 2027-13}}")),
        ("E0111", rule("{days: daily, at: \"01:00\", month_cycle: {every: 3, from: 2027-3}}")),
        ("E0111", rule("{days: daily, at: \"01:00\", month_cycle: {every: 3, from: 2027-03-01}}")),
        ("E0112", rule("{days: daily, at: \"01:00\", month_cycle: {every: 0, from: 2027-03}}")),
        ("E0106", rule("{days: daily, at: \"01:00\", month_cycle: {every: 2}}")),
        ("E0116", rule("{dates: [2027-01-04], at: \"01:00\", month_cycle: {every: 2, from: 2027-01}}")),
        ("E0116", rule("{every: {n: 2, unit: days, from: 2027-01-04}, at: \"01:00\", month_cycle: {every: 2, from: 2027-01}}")),
        ("E0103", "version: 2\njobnets: []\n".into()),
        ("E0106", "jobnets: []\n".into()),
        ("E0106", "version: 1\n".into()),
        ("E0106", "version: 1\njobnets:\n  - name: r\n".into()),
        ("E0106", net("      - {type: noop}\n")),
        ("E0106", net("      - {name: a, type: noop, end: {warning_above: 1}}\n")),
        ("E0106", net("      - {name: a, type: noop, retry: {interval_seconds: 5}}\n")),
        ("E0106", rule("{days: daily}")),
        ("E0106", "version: 1\njobnets:\n  - {name: n, schedule: {timezone: UTC}, units: []}\n".into()),
        ("E0114", net("      - {name: a, comment: hi}\n")),
        ("E0114", net("      - {name: a, type: noop, wait: {minutes: 1}}\n")),
        ("E0115", net("      - {name: a, type: noop, end: {always: normal, file_exists: x}}\n")),
        ("E0115", net("      - {name: j, judge: {file_exists: a, file_missing: b}}\n")),
        ("E0115", net("      - {name: a, type: noop, start_delay: {}}\n")),
        ("E0115", rule("{days: daily, weekdays: [mon], at: \"01:00\"}")),
        ("E0115", rule("{at: \"01:00\"}")),
        ("E0115", "version: 1\ncalendars:\n  - {name: c, dates: [{date: 2027-01-01, open: true, closed: false}]}\n".into()),
        ("E0116", net("      - {name: a, type: noop, then: [b]}\n      - {name: b, type: noop}\n")),
        ("E0116", net("      - {name: s, units: [], params: {x: 1}}\n")),
        ("E0116", net("      - {name: s, units: [], calendar: c}\n")),
        ("E0116", "version: 1\njobnets:\n  - {name: r, after: [x], units: []}\n".into()),
        ("E0116", net("      - {name: a, type: noop, start_delay: {after_own_start: 5}}\n")),
        ("E0116", rule("{days: daily, at: \"01:00\", max_shift_days: 3}")),
        ("E0116", net("      - {name: w, wait: {minutes: 1, interval_seconds: 5}}\n")),
        ("E0112", net("      - {name: w, wait: {file: x, interval_seconds: 0}}\n")),
        ("E0115", net("      - {name: w, wait: {file: x, minutes: 1}}\n")),
        ("E0112", net("      - {name: a, type: noop, join: xor}\n")),
        ("E0112", net("      - {name: a, type: noop, retry: {attempts: 0}}\n")),
        ("E0112", net("      - {name: a, type: noop, cutoff: {minutes: 0}}\n")),
        ("E0112", net("      - {name: a, type: noop, cutoff: {minutes: 5, status: failed}}\n")),
        ("E0112", net("      - {name: a, type: noop, expected_minutes: 0}\n")),
        ("E0112", net("      - {name: a, type: noop, end: {always: warning}}\n")),
        ("E0112", net("      - {name: a, type: \"  \"}\n")),
        ("E0112", net("      - {name: \"a/b\", type: noop}\n")),
        ("E0112", net("      - {name: \"\", type: noop}\n")),
        ("E0112", net("      - {name: a, type: noop, start_delay: expected}\n")),
        ("E0112", net("      - {name: w, wait_for: {jobnet: \"a//b\"}}\n")),
        ("E0112", net("      - {name: j, judge: {return_code: {op: approx, value: 1}}}\n")),
        ("E0112", net("      - {name: a, type: noop, retry: {attempts: 1, return_codes: [1, 2, 3]}}\n")),
        ("E0112", rule("{days: weekly, at: \"01:00\"}")),
        ("E0112", rule("{days_of_month: [32], at: \"01:00\"}")),
        ("E0112", rule("{weekdays: [], at: \"01:00\"}")),
        ("E0112", rule("{nth_weekday: {weekday: fri, n: 6}, at: \"01:00\"}")),
        ("E0112", rule("{days_before_month_end: 31, at: \"01:00\"}")),
        ("E0112", rule("{every: {n: 1, unit: years, from: 2027-01-01}, at: \"01:00\"}")),
        ("E0112", rule("{days: daily, at: [\"01:00\", \"01:00\"]}")),
        ("E0112", rule("{days: daily, at: []}")),
        ("E0112", rule("{name: \"a/b\", days: daily, at: \"01:00\"}")),
        ("E0112", net("      - {name: a, type: noop, end_delay: []}\n")),
        ("E0112", net("      - {name: a, type: noop, end_delay: [{rules: [], delay: expected}]}\n")),
        ("E0106", net("      - {name: a, type: noop, end_delay: [{rules: [r]}]}\n")),
        ("E0115", net("      - {name: a, type: noop, end_delay: [\"01:00\", {after_own_start: 3}]}\n")),
        ("E0105", net("      - {name: a, type: noop, end_delay: [{rules: [r], delay: expected, at: \"01:00\"}]}\n")),
        ("E0112", rule("{days: daily, at: \"01:00\", on_closed_day: later}")),
        ("E0112", rule("{days: daily, at: \"01:00\", reckon: {open_days: 0}}")),
        ("E0112", rule("{days: daily, at: \"01:00\", repeat_minutes: 1441}")),
        ("E0112", "version: 1\njobnets:\n  - {name: n, schedule: {rules: []}, units: []}\n".into()),
        ("E0112", "version: 1\njobnets:\n  - {name: n, schedule: {timezone: \"Asia Tokyo\", rules: [{days: daily, at: \"01:00\"}]}, units: []}\n".into()),
        ("E0112", "version: 1\njobnets:\n  - {name: n, start_conditions: {events: []}, units: []}\n".into()),
        ("E0112", "version: 1\njobnets:\n  - {name: n, concurrency: {max_parallel_jobs: 0}, units: []}\n".into()),
    ];
    let mut failures = Vec::new();
    for (code, text) in &cases {
        let codes = parser_codes(text);
        if !codes.contains(code) {
            failures.push(format!("parser gave {codes:?}, expected {code}:\n{text}"));
        }
        if schema_errors(&v, text).is_empty() {
            failures.push(format!("schema accepts ({code}):\n{text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What a schema cannot say (real dates, order between two values, names and references)
/// is the parser's alone; the README lists these checks. The schema accepts each snippet.
#[test]
fn checks_beyond_the_schema_are_the_parsers() {
    let v = validator();
    let cases: Vec<(&str, String)> = vec![
        ("E0111", rule("{dates: [2027-02-29], at: \"01:00\"}")),
        (
            "E0113",
            net("      - {name: a, type: noop, end: {warning_above: 9, abnormal_above: 8}}\n"),
        ),
        (
            "E0108",
            net("      - {name: a, type: noop}\n      - {name: a, type: noop}\n"),
        ),
        ("E0109", net("      - {name: a, type: noop, after: [b]}\n")),
        (
            "E0112",
            net("      - {name: a, type: noop, end_delay: [{rules: [r], delay: \"01:00\"}, {rules: [r], delay: expected}]}\n"),
        ),
        (
            "E0108",
            "version: 1\njobnets:\n  - name: n\n    schedule: {rules: [{name: r, days: daily, at: \"01:00\"}, {name: r, days: daily, at: \"02:00\"}]}\n    units: []\n".into(),
        ),
        (
            "E0112",
            net("      - {name: a, wait: {file: \"s3://b/${DAY}.csv\", when: written}}\n"),
        ),
        ("E0117", net("      - {name: a, type: noop, after: [a]}\n")),
        (
            "E0117",
            net("      - {name: a, type: noop, recovery: true}\n"),
        ),
        (
            "E0112",
            rule("{days: daily, at: \"01:00\", valid_from: 2027-02-01, valid_until: 2027-01-01}"),
        ),
        (
            "E0112",
            net("      - {name: j, judge: {return_code_range: {low: 5, high: 1}}}\n"),
        ),
        (
            "E0116",
            net("      - {name: w, wait: {minutes: 1}, cutoff: {minutes: 5}}\n"),
        ),
        (
            "E0112",
            net("      - {name: a, type: noop, retry: {attempts: 1, return_codes: [5, 1]}}\n"),
        ),
        ("E0112", rule("{days: daily, at: [\"2:30\", \"02:30\"]}")),
    ];
    for (code, text) in &cases {
        let errors = schema_errors(&v, text);
        assert!(errors.is_empty(), "schema rejects:\n{text}\n{errors:#?}");
        let codes = parser_codes(text);
        assert!(
            codes.contains(code),
            "parser gave {codes:?}, expected {code}:\n{text}"
        );
    }
}

/// The property names the schema offers at `pointer`, through `$ref`s and `oneOf` branches.
fn schema_keys(schema: &Value, pointer: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![schema.pointer(pointer).expect("pointer resolves")];
    while let Some(node) = stack.pop() {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let target = r.trim_start_matches('#');
            stack.push(schema.pointer(target).expect("ref resolves"));
        }
        if let Some(Value::Object(props)) = node.get("properties") {
            out.extend(props.keys().cloned());
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(Value::Array(branches)) = node.get(key) {
                stack.extend(branches.iter());
            }
        }
    }
    out
}

/// The keys the parser lists in its hint for the unknown key `zzzzzzzzzz` in `text`.
fn parser_keys(text: &str) -> BTreeSet<String> {
    let diags = parser_diags(text);
    let d = diags
        .items
        .iter()
        .find(|d| d.code == "E0105" && d.message.contains("zzzzzzzzzz"))
        .unwrap_or_else(|| panic!("no unknown-key diagnostic for:\n{text}\n{:?}", diags.items));
    let hint = d.hint.as_deref().unwrap_or_default();
    let list = hint
        .strip_prefix("known keys here: ")
        .unwrap_or_else(|| panic!("unexpected hint `{hint}`"));
    list.split(", ")
        .map(|k| k.trim_matches('`').to_string())
        .collect()
}

#[test]
fn schema_and_parser_know_the_same_keys_everywhere() {
    let s = schema();
    let z = "zzzzzzzzzz: 1";
    let unit = |extra: &str| net(&format!("      - {{name: a, {extra}, {z}}}\n"));
    let job = |field: &str| net(&format!("      - {{name: a, type: noop, {field}}}\n"));
    let contexts: Vec<(&str, String)> = vec![
        ("", format!("version: 1\njobnets: []\n{z}\n")),
        (
            "/$defs/jobnet",
            format!("version: 1\njobnets:\n  - {{name: n, units: [], {z}}}\n"),
        ),
        ("/$defs/unit/oneOf/0", unit("type: noop")),
        ("/$defs/unit/oneOf/1", unit("units: []")),
        ("/$defs/unit/oneOf/2", unit("judge: {file_exists: x}")),
        ("/$defs/unit/oneOf/3", unit("wait: {minutes: 1}")),
        ("/$defs/unit/oneOf/4", unit("wait_for: {jobnet: x}")),
        ("/$defs/end", job(&format!("end: {{always: normal, {z}}}"))),
        ("/$defs/retry", job(&format!("retry: {{attempts: 1, {z}}}"))),
        ("/$defs/cutoff", job(&format!("cutoff: {{minutes: 1, {z}}}"))),
        (
            "/$defs/startDeadline/oneOf/1",
            job(&format!("start_delay: {{after_root_start: 1, {z}}}")),
        ),
        (
            "/$defs/endDeadline/oneOf/2",
            job(&format!("end_delay: {{after_own_start: 1, {z}}}")),
        ),
        (
            "/$defs/endDelay/oneOf/1/items/oneOf/1",
            job(&format!("end_delay: [{{rules: [r], delay: expected, {z}}}]")),
        ),
        (
            "/$defs/judge",
            net(&format!("      - {{name: j, judge: {{file_exists: x, {z}}}}}\n")),
        ),
        (
            "/$defs/judge/oneOf/0/properties/return_code",
            net(&format!(
                "      - {{name: j, judge: {{return_code: {{op: eq, value: 1, {z}}}}}}}\n"
            )),
        ),
        (
            "/$defs/judge/oneOf/1/properties/return_code_range",
            net(&format!(
                "      - {{name: j, judge: {{return_code_range: {{low: 1, high: 2, {z}}}}}}}\n"
            )),
        ),
        (
            "/$defs/judge/oneOf/4/properties/variable",
            net(&format!(
                "      - {{name: j, judge: {{variable: {{name: X, op: eq, value: 1, {z}}}}}}}\n"
            )),
        ),
        (
            "/$defs/wait",
            net(&format!("      - {{name: w, wait: {{file: x, {z}}}}}\n")),
        ),
        (
            "/$defs/waitFor",
            net(&format!("      - {{name: w, wait_for: {{jobnet: x, {z}}}}}\n")),
        ),
        (
            "/$defs/calendar",
            format!("version: 1\ncalendars:\n  - {{name: c, {z}}}\n"),
        ),
        (
            "/$defs/calendar/properties/weekdays",
            format!("version: 1\ncalendars:\n  - {{name: c, weekdays: {{{z}}}}}\n"),
        ),
        (
            "/$defs/calendar/properties/dates/items",
            format!(
                "version: 1\ncalendars:\n  - {{name: c, dates: [{{date: 2027-01-01, open: true, {z}}}]}}\n"
            ),
        ),
        (
            "/$defs/schedule",
            format!(
                "version: 1\njobnets:\n  - {{name: n, units: [], schedule: {{rules: [{{days: daily, at: \"01:00\"}}], {z}}}}}\n"
            ),
        ),
        ("/$defs/rule", rule(&format!("{{days: daily, at: \"01:00\", {z}}}"))),
        (
            "/$defs/rule/properties/reckon",
            rule(&format!(
                "{{days: daily, at: \"01:00\", reckon: {{open_days: 1, {z}}}}}"
            )),
        ),
        (
            "/$defs/rule/properties/nth_weekday",
            rule(&format!(
                "{{nth_weekday: {{weekday: mon, n: 1, {z}}}, at: \"01:00\"}}"
            )),
        ),
        (
            "/$defs/rule/properties/month_cycle",
            rule(&format!(
                "{{days_of_month: [1], at: \"01:00\", month_cycle: {{every: 3, from: 2027-03, {z}}}}}"
            )),
        ),
        (
            "/$defs/rule/properties/every",
            rule(&format!(
                "{{every: {{n: 1, unit: days, from: 2027-01-01, {z}}}, at: \"01:00\"}}"
            )),
        ),
        (
            "/$defs/concurrency",
            format!("version: 1\njobnets:\n  - {{name: n, units: [], concurrency: {{{z}}}}}\n"),
        ),
        (
            "/$defs/startConditions",
            format!(
                "version: 1\njobnets:\n  - {{name: n, units: [], start_conditions: {{events: [{{file_created: x}}], {z}}}}}\n"
            ),
        ),
        (
            "/$defs/startConditions/properties/events/items",
            format!(
                "version: 1\njobnets:\n  - {{name: n, units: [], start_conditions: {{events: [{{file: x, {z}}}]}}}}\n"
            ),
        ),
        (
            "/$defs/startConditions/properties/events/items/properties/event_received",
            format!(
                "version: 1\njobnets:\n  - {{name: n, units: [], start_conditions: {{events: [{{event_received: {{{z}}}}}]}}}}\n"
            ),
        ),
        (
            "/$defs/textMatch",
            format!(
                "version: 1\njobnets:\n  - {{name: n, units: [], start_conditions: {{events: [{{event_received: {{message: {{exact: x, {z}}}}}}}]}}}}\n"
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (pointer, text) in &contexts {
        let from_schema = schema_keys(&s, pointer);
        let from_parser = parser_keys(text);
        if from_schema != from_parser {
            failures.push(format!(
                "{pointer}: schema only {:?}, parser only {:?}",
                from_schema.difference(&from_parser).collect::<Vec<_>>(),
                from_parser.difference(&from_schema).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every position of `v` (as a JSON pointer) with the value there.
fn positions(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
    out.push((at.clone(), v.clone()));
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                let key = k.replace('~', "~0").replace('/', "~1");
                positions(c, format!("{at}/{key}"), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                positions(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Mutated copies of the examples (each value replaced by values of other types and
/// edge cases, each map given an unknown key or missing one of its keys), fed to both as
/// JSON text (which is YAML). Whatever the parser accepts the schema must accept; what
/// the schema accepts may only fail the parser's own checks (see
/// `checks_beyond_the_schema_are_the_parsers`).
#[test]
fn mutated_examples_never_split_schema_and_parser() {
    let v = validator();
    let replacements = [
        json!(null),
        json!(true),
        json!(0),
        json!(1),
        json!(-1),
        json!(48),
        json!(1.5),
        json!("x"),
        json!(""),
        json!("a/b"),
        json!("48:00"),
        json!("23:59"),
        json!("2027-02-30"),
        json!("2027-12-31"),
        json!("expected"),
        json!([]),
        json!(["x"]),
        json!({}),
    ];
    // What a schema-valid document may still get from the parser: names, references,
    // real dates, order between two values, repeated items.
    let parser_only = |d: &Diagnostic| {
        ["E0108", "E0109", "E0111", "E0113", "E0117"].contains(&d.code)
            || (d.code == "E0112"
                && ["listed twice", "is empty", "is below", "is before"]
                    .iter()
                    .any(|m| d.message.contains(m)))
    };
    let mut failures = Vec::new();
    let mut tried = 0;
    let mut examples: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    for path in examples {
        let base = yaml_to_json(&std::fs::read_to_string(&path).expect("readable"));
        let mut spots = Vec::new();
        positions(&base, String::new(), &mut spots);
        let mut variants = Vec::new();
        for (at, here) in &spots {
            if at.is_empty() {
                continue;
            }
            for r in &replacements {
                if r != here {
                    let mut m = base.clone();
                    *m.pointer_mut(at).expect("position exists") = r.clone();
                    variants.push((format!("{at} = {r}"), m));
                }
            }
            if let Value::Object(o) = here {
                let mut m = base.clone();
                if let Some(Value::Object(target)) = m.pointer_mut(at) {
                    target.insert("zz_unknown".into(), json!(1));
                }
                variants.push((format!("{at} + zz_unknown"), m));
                for k in o.keys() {
                    let mut m = base.clone();
                    if let Some(Value::Object(target)) = m.pointer_mut(at) {
                        target.remove(k);
                    }
                    variants.push((format!("{at} - {k}"), m));
                }
            }
        }
        for (what, doc) in variants {
            tried += 1;
            let text = serde_json::to_string(&doc).expect("serialisable");
            let schema_ok = v.is_valid(&doc);
            let diags = parser_diags(&text);
            let parser_ok = diags.items.is_empty();
            if parser_ok && !schema_ok {
                let errors = schema_errors(&v, &text);
                failures.push(format!(
                    "{}: {what}: parser accepts, schema rejects: {errors:?}",
                    path.display()
                ));
            } else if schema_ok && !diags.items.iter().all(parser_only) {
                let said: Vec<_> = diags
                    .items
                    .iter()
                    .map(|d| format!("{} {}", d.code, d.message))
                    .collect();
                failures.push(format!(
                    "{}: {what}: schema accepts, parser says {said:?}",
                    path.display()
                ));
            }
        }
    }
    assert!(tried > 1000, "only {tried} variants");
    failures.truncate(40);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The YAML examples of `jobnet-specs/README.md`, each made a whole spec: unit lists go
/// into a root jobnet, root-jobnet keys onto one, single keys onto a job (line by line).
fn readme_examples() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("jobnet-specs/README.md")).expect("README");
    let indent = |block: &str, pad: &str| -> String {
        block
            .lines()
            .map(|l| format!("{pad}{l}\n"))
            .collect::<String>()
    };
    let mut out = Vec::new();
    for chunk in text.split("```yaml\n").skip(1) {
        let block = chunk.split("```").next().unwrap_or_default();
        let first = block.lines().next().unwrap_or_default();
        if first.starts_with("version:") {
            out.push(block.to_string());
        } else if first.starts_with("- name:") {
            out.push(net(&indent(block, "      ")));
        } else if first.starts_with("calendars:") {
            out.push(format!("version: 1\n{block}"));
        } else if first.starts_with("schedule:") || first.starts_with("start_conditions:") {
            out.push(format!(
                "version: 1\njobnets:\n  - name: n\n    units: []\n{}",
                indent(block, "    ")
            ));
        } else if first.starts_with('#') {
            continue;
        } else {
            for line in block.lines().filter(|l| !l.trim().is_empty()) {
                out.push(net(&format!(
                    "      - name: a\n        type: noop\n        {line}\n"
                )));
            }
        }
    }
    out
}

#[test]
fn readme_examples_are_valid() {
    let v = validator();
    let examples = readme_examples();
    assert!(examples.len() >= 15, "only {} examples", examples.len());
    for text in &examples {
        let errors = schema_errors(&v, text);
        assert!(errors.is_empty(), "schema rejects:\n{text}\n{errors:#?}");
        // Fragments may name siblings they do not show.
        let codes: Vec<_> = parser_codes(text)
            .into_iter()
            .filter(|c| *c != "E0109")
            .collect();
        assert!(codes.is_empty(), "parser rejects:\n{text}\n{codes:?}");
    }
}
