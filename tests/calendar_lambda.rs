//! The business-day Lambda answers the shared vectors like the engine does: the compiler
//! writes the vectors' calendar data files, and tests/lambda_vectors.py loads them into a
//! moto DynamoDB table and asks the Lambda handler (Python, from the test virtualenv).

use jobnet2sfn::back::schedule::{calendar_items, rule_from_json};
use jobnet2sfn::calendar::engine::{decide, rule_selects, Decision};
use jobnet2sfn::calendar::{resolve, Resolved};
use jobnet2sfn::diag::{Diagnostics, FileId, Span};
use jobnet2sfn::front::spec::load;
use jobnet2sfn::ir::Date;
use jobnet2sfn::ir::Project;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("JOBNET2SFN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let python = venv.join("bin").join("python");
    assert!(
        python.exists(),
        "no Python test virtualenv at {}: run scripts/test.sh (it installs requirements-test.txt \
         into .venv) or set JOBNET2SFN_VENV",
        venv.display()
    );
    python
}

/// Runs a Python harness of tests/ with the compiler's calendar data files and `doc` (as
/// JSON) in a fresh directory: `harness.py DIR DOC_FILE`. Returns its standard output; a
/// failing harness fails the test.
fn run_harness(
    harness: &str,
    what: &str,
    files: &std::collections::BTreeMap<String, Value>,
    doc: &Value,
) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("jobnet2sfn-{what}-{}", std::process::id()));
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content.to_string()).unwrap();
    }
    let doc_file = dir.join("doc.json");
    std::fs::write(&doc_file, doc.to_string()).unwrap();
    let out = Command::new(venv_python())
        .arg(root.join("tests").join(harness))
        .arg(&dir)
        .arg(&doc_file)
        .output()
        .expect("run python");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{harness} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A small deterministic generator (no dependency, same cases on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.next((hi - lo + 1) as u64) as i64
    }
}

/// Random rules and dates whose expected decisions come from the Rust engine, so the
/// Lambda is compared with the engine beyond the hand-written vectors.
fn differential_vectors(p: &Project, count: usize) -> Vec<Value> {
    let mut g = Lcg(20270104);
    let base: Date = "2027-01-20".parse().unwrap();
    let day = |g: &mut Lcg| (base + chrono::Duration::days(g.int(0, 320))).to_string();
    let mut out = Vec::new();
    for i in 0..count {
        let days = match g.next(12) {
            0 => json!(["daily"]),
            1 => json!(["weekdays", [g.int(0, 6), g.int(0, 6)]]),
            2 => json!(["days_of_month", [g.int(1, 31), g.int(1, 31)]]),
            3 => json!(["nth_open_day", g.int(1, 5)]),
            4 => json!(["nth_closed_day", g.int(1, 5)]),
            5 => json!(["days_before_month_end", g.int(0, 5)]),
            6 => json!(["nth_last_open_day", g.int(1, 5)]),
            7 => {
                let n = [-1, 1, 2, 3, 4, 5][g.next(6) as usize];
                json!(["nth_weekday", g.int(0, 6), n])
            }
            8 => json!(["dates", [day(&mut g)]]),
            9 => json!(["every", "days", g.int(1, 10), "2027-01-03"]),
            10 => json!(["every", "weeks", g.int(1, 3), "2027-01-05"]),
            _ => json!([
                "every",
                "months",
                g.int(1, 3),
                format!("2027-01-{:02}", g.int(1, 31))
            ]),
        };
        let action = ["skip", "run", "previous", "next"][g.next(4) as usize];
        let mut rule = json!({"days": days, "onClosed": action});
        if matches!(rule["onClosed"].as_str(), Some("previous" | "next")) {
            rule["maxShift"] = json!(g.int(1, 6));
        }
        if g.next(5) == 0 {
            let n = [-3, -2, -1, 1, 2, 3][g.next(6) as usize];
            rule["reckon"] = json!([n, g.int(2, 10)]);
        }
        if g.next(6) == 0 {
            rule["validFrom"] = json!(day(&mut g));
        }
        // A month cycle on month-based selectors, starting before or inside the period.
        if (2..8).contains(&g.next(12))
            && !matches!(rule["days"][0].as_str(), Some("dates" | "every"))
        {
            rule["months"] = json!([g.int(1, 4), 2026 + g.int(0, 1), g.int(1, 12)]);
        }
        let calendar =
            [json!("jp"), json!("six"), json!("base"), Value::Null][g.next(4) as usize].clone();
        let cal = match calendar.as_str() {
            Some(name) => resolve(p, name, Span::new(FileId(0), 1, 1, 0)).unwrap(),
            None => Resolved::always_open(),
        };
        let parsed = rule_from_json(&rule).unwrap();
        let mut d: Date = day(&mut g).parse().unwrap();
        // Mostly a date the rule selects (the first within 150 days), sometimes any date.
        if g.next(4) != 0 {
            if let Some(hit) = d
                .iter_days()
                .take(150)
                .find(|x| rule_selects(&cal, &parsed, *x))
            {
                d = hit;
            }
        }
        let date = d.to_string();
        let expect = match decide(&cal, &parsed, d) {
            None => "none".to_string(),
            Some(Decision::Skip(_)) => "skip".to_string(),
            Some(Decision::Run { date, .. }) if date == d => "run".to_string(),
            Some(Decision::Run { date, .. }) => date.to_string(),
        };
        out.push(json!({"name": format!("random {i}"), "calendar": calendar, "rule": rule, "date": date, "expect": expect}));
    }
    out
}

#[test]
fn lambda_answers_every_vector() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vectors = root.join("tests/calendar_vectors.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&vectors).expect("vectors")).expect("JSON");
    let spec = json!({"version": 1, "calendars": doc["calendars"], "jobnets": []});
    let mut p = Project::default();
    let file = p.sources.add("vectors.json", spec.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut p, file, &mut diags);
    let mut doc = doc;
    let extra = differential_vectors(&p, 150);
    let runs = extra.iter().filter(|v| v["expect"] != "none").count();
    assert!(
        runs > 90,
        "the random cases should mostly select their date: {runs}"
    );
    let kind = |k: &str| extra.iter().filter(|v| v["expect"] == k).count();
    let moved = extra
        .iter()
        .filter(|v| v["expect"].as_str().unwrap().starts_with("20"))
        .count();
    eprintln!(
        "random cases: run {}, skip {}, none {}, moved {moved}",
        kind("run"),
        kind("skip"),
        kind("none")
    );
    assert!(kind("run") > 20 && kind("skip") > 5 && kind("none") > 5 && moved > 10);
    doc["vectors"].as_array_mut().unwrap().extend(extra);
    let years = doc["years"][0].as_i64().unwrap() as i32..=doc["years"][1].as_i64().unwrap() as i32;
    let files = calendar_items(&p, years, &mut diags);
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    assert_eq!(files.len(), 3);
    let stdout = run_harness("lambda_vectors.py", "lambda", &files, &doc);
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

/// S3 events go through the EventBridge rules compiled from start conditions (moto's
/// pattern matching and input transformation) into the business-day Lambda: the event's
/// time and the calendar's day start give the business date; a schedule beside the start
/// condition says which dates run, and without one every date does.
#[test]
fn start_condition_rules_deliver_the_lambdas_event() {
    let spec = r#"
version: 1
calendars:
  - name: jp
    weekdays: {sat: closed, sun: closed}
    japanese_holidays: true
    day_start: "05:00"
jobnets:
  - name: on_file
    calendar: jp
    start_conditions: {events: [{file_created: "s3://drop/in/*.csv"}]}
    units: [{name: a, type: lambda, params: {function: f}}]
  - name: on_flag_open_days
    calendar: jp
    schedule: {rules: [{days: daily, at: "09:00", on_closed_day: skip}]}
    start_conditions: {events: [{file_created: "s3://drop/ok.flag"}]}
    units: [{name: a, type: lambda, params: {function: f}}]
  - name: on_unlock
    calendar: jp
    start_conditions: {events: [{file: "s3://drop/lock/*.lck", when: deleted}]}
    units: [{name: a, type: lambda, params: {function: f}}]
  - name: on_event
    start_conditions:
      events:
        - event_received: {id: "7FFF8001", message: {wildcard: "end of *day"}, severity: [Error, Warning]}
    units: [{name: a, type: lambda, params: {function: f}}]
"#;
    let mut p = Project::default();
    let file = p.sources.add("t.yaml", spec.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut p, file, &mut diags);
    assert!(!diags.has_errors(), "{:?}", diags.items);
    let opts = jobnet2sfn::driver::CompileOptions::default();
    let compiled = jobnet2sfn::driver::compile(&p, &opts, &mut diags).expect("compiles");
    let templates = jobnet2sfn::back::templates::TemplateSet::load(None).unwrap();
    let mut template =
        jobnet2sfn::back::cfn::template(&compiled.outputs, &opts.cfn, &templates).unwrap();
    jobnet2sfn::back::schedule::add_schedules(
        &mut template,
        &p,
        &compiled.outputs,
        &templates,
        &mut diags,
    )
    .unwrap();
    assert!(!diags.has_errors(), "{:?}", diags.items);
    let resources = template.value["Resources"].as_object().unwrap();
    let rules: Vec<Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Events::Rule")
        .map(|r| {
            json!({
                "pattern": r["Properties"]["EventPattern"],
                "transformer": r["Properties"]["Targets"][0]["InputTransformer"],
            })
        })
        .collect();
    assert_eq!(rules.len(), 4);
    assert!(
        !resources
            .values()
            .any(|r| r["Type"] == "AWS::Scheduler::Schedule"),
        "the schedule only says which days run: no schedule starts a run"
    );
    let event = |time: &str, bucket: &str, key: &str, kind: &str| {
        json!({
            "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": kind, "source": "aws.s3", "account": "123456789012",
            "time": time, "region": "ap-northeast-1",
            "resources": [format!("arn:aws:s3:::{bucket}")],
            "detail": {"version": "0", "bucket": {"name": bucket},
                       "object": {"key": key, "size": 5, "etag": "e", "sequencer": "00"},
                       "request-id": "R", "requester": "123456789012", "reason": "PutObject"}
        })
    };
    // As the `eventbridge` job type sends a migrated JP1 event.
    let jp1 = |id: &str, message: &str, severity: &str| {
        json!({
            "version": "0", "id": "0d0b9f3e-1428-4cd3-a780-95db273d1602",
            "detail-type": "JP1 event", "source": "jobnet2sfn", "account": "123456789012",
            "time": "2027-01-05T03:00:00Z", "region": "ap-northeast-1", "resources": [],
            "detail": {"jobnet": "sender", "unit": "/sender/s", "runId": "2027-01-05",
                       "businessDate": "2027-01-05",
                       "data": {"eventId": id, "message": message, "severity": severity}}
        })
    };
    let created = "Object Created";
    let case =
        |name: &str, e: Value, expect: Value| json!({"name": name, "event": e, "expect": expect});
    let cases = vec![
        case(
            "csv on a Tuesday noon",
            event("2027-01-05T03:00:00Z", "drop", "in/a.csv", created),
            json!({"businessDate": "2027-01-05", "run": true}),
        ),
        case(
            "csv on a holiday: no schedule, every day runs",
            event("2027-01-11T03:00:00Z", "drop", "in/b.csv", created),
            json!({"businessDate": "2027-01-11", "run": true}),
        ),
        case(
            "flag at 04:59 belongs to the day before",
            event("2027-01-05T19:59:00Z", "drop", "ok.flag", created),
            json!({"businessDate": "2027-01-05", "run": true}),
        ),
        case(
            "flag on a Saturday: not a run day of the schedule",
            event("2027-01-09T03:00:00Z", "drop", "ok.flag", created),
            json!({"businessDate": "2027-01-09", "run": false}),
        ),
        case(
            "another key",
            event("2027-01-05T03:00:00Z", "drop", "in/a.txt", created),
            Value::Null,
        ),
        case(
            "another bucket",
            event("2027-01-05T03:00:00Z", "other", "in/a.csv", created),
            Value::Null,
        ),
        case(
            "a deletion",
            event("2027-01-05T03:00:00Z", "drop", "in/a.csv", "Object Deleted"),
            Value::Null,
        ),
        case(
            "a lock removed",
            event(
                "2027-01-05T03:00:00Z",
                "drop",
                "lock/a.lck",
                "Object Deleted",
            ),
            json!({"businessDate": "2027-01-05", "run": true}),
        ),
        case(
            "a lock written",
            event("2027-01-05T03:00:00Z", "drop", "lock/a.lck", created),
            Value::Null,
        ),
        case(
            "the JP1 event",
            jp1("7FFF8001", "end of business day", "Error"),
            json!({"businessDate": "2027-01-05", "run": true}),
        ),
        case(
            "another message",
            jp1("7FFF8001", "end of week", "Error"),
            Value::Null,
        ),
        case(
            "another severity",
            jp1("7FFF8001", "end of business day", "Notice"),
            Value::Null,
        ),
        case(
            "another event id",
            jp1("00000001", "end of business day", "Error"),
            Value::Null,
        ),
    ];
    let files = calendar_items(&p, 2027..=2027, &mut diags);
    let stdout = run_harness(
        "start_rule_events.py",
        "start-rules",
        &files,
        &json!({"rules": rules, "cases": cases}),
    );
    assert!(stdout.contains("13 passed, 0 failed"), "{stdout}");
}
