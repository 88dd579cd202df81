//! The shared vectors of tests/calendar_vectors.json against the Rust engine.

use jobnet2sfn::back::schedule::{rule_from_json, rule_json};
use jobnet2sfn::calendar::engine::{decide, Decision};
use jobnet2sfn::calendar::{resolve, Resolved};
use jobnet2sfn::diag::{Diagnostics, FileId, Span};
use jobnet2sfn::front::spec::load;
use jobnet2sfn::ir::{Date, Project};
use serde_json::{json, Value};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/calendar_vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file")).expect("JSON")
}

/// The vectors' calendars, read by the jobnet-spec front-end (JSON is YAML).
fn project(doc: &Value) -> Project {
    let spec = json!({"version": 1, "calendars": doc["calendars"], "jobnets": []});
    let mut p = Project::default();
    let file = p.sources.add("vectors.json", spec.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut p, file, &mut diags);
    assert!(!diags.has_errors(), "{:?}", diags.items);
    p
}

/// The decision in the vectors' words.
fn word(d: Option<Decision>, nominal: Date) -> String {
    match d {
        None => "none".into(),
        Some(Decision::Skip(_)) => "skip".into(),
        Some(Decision::Run { date, .. }) if date == nominal => "run".into(),
        Some(Decision::Run { date, .. }) => date.to_string(),
    }
}

#[test]
fn engine_decides_every_vector() {
    let doc = vectors();
    let p = project(&doc);
    let list = doc["vectors"].as_array().expect("vectors");
    assert!(list.len() >= 40, "the vectors file lost entries");
    let mut failures = Vec::new();
    for v in list {
        let cal = match v["calendar"].as_str() {
            Some(name) => resolve(&p, name, Span::new(FileId(0), 1, 1, 0)).expect("calendar"),
            None => Resolved::always_open(),
        };
        let rule = rule_from_json(&v["rule"]).expect("rule");
        assert_eq!(
            rule_from_json(&rule_json(&rule)).as_ref(),
            Ok(&rule),
            "round trip of {}",
            v["rule"]
        );
        let date: Date = v["date"].as_str().unwrap().parse().unwrap();
        let got = word(decide(&cal, &rule, date), date);
        if got != v["expect"].as_str().unwrap() {
            failures.push(format!(
                "{}: expected {}, got {got}",
                v["name"], v["expect"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_rule_json_is_an_error_not_a_panic() {
    for bad in [
        json!(null),
        json!({"days": ["fortnightly"]}),
        json!({"days": ["weekdays", [9]]}),
        json!({"days": ["every", "years", 1, "2027-01-01"]}),
        json!({"days": ["dates", ["2027-02-30"]]}),
        json!({"days": ["daily"], "onClosed": "later"}),
        json!({"days": ["nth_open_day", -1]}),
        json!({"days": ["daily"], "onClosed": "next", "maxShift": 4000000000u64}),
        json!({"days": ["daily"], "reckon": [1, 100000]}),
        json!({"days": ["daily"], "reckon": [0, 5]}),
        json!({"days": ["daily"], "months": [0, 2027, 1]}),
        json!({"days": ["daily"], "months": [3, 2027, 13]}),
        json!({"days": ["daily"], "months": [3, 2027]}),
    ] {
        assert!(rule_from_json(&bad).is_err(), "{bad} was accepted");
    }
}
