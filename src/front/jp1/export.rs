//! Lowered jobnets → native YAML specs (`jobnet2sfn import jp1`).
//!
//! The IR is written back in the spec format of `front::spec`, one file per root jobnet with
//! the calendars it uses, through the deterministic writer of `back::yaml`. What the spec
//! format cannot hold (unsupported unit types, unmapped parameters, start events other than
//! S3 objects) is listed in a comment block at the top of the file, so that it stays in
//! front of whoever continues the migration; unsupported units become `noop` jobs in place
//! so the dependency graph is kept whole.

use crate::back::yaml::to_yaml;
use crate::ir::{
    Calendar, ClosedDayAction, CmpOp, Condition, DayKind, DayRule, DelayMonitor, EdgeKind,
    EndJudgment, EndStatus, JoinKind, ObjectEvents, Project, Schedule, ScheduleRule, StartEvent,
    TimeRef, TimeWait, UnitId, UnitKind,
};
use crate::passes::naming::sanitize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// One spec file per root jobnet of `roots`: `(file name, YAML text)`. File names are the
/// sanitised JP1 paths (`group.net.yaml`), unique per call.
pub fn to_spec_yaml(project: &Project, roots: &[UnitId]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut taken = BTreeSet::new();
    for &root in roots {
        let mut notes = Vec::new();
        let net = unit_value(project, root, true, &mut notes);
        let mut doc = Map::new();
        doc.insert("version".into(), json!(1));
        if let Some(cal) = project.units[root]
            .as_net()
            .and_then(|n| n.calendar.as_ref())
            .and_then(|c| project.calendar_by_name(&c.name))
        {
            let mut cals = Vec::new();
            let mut cur = Some(cal);
            let mut seen = BTreeSet::new();
            while let Some(id) = cur {
                let c = &project.calendars[id];
                if !seen.insert(c.name.clone()) {
                    break;
                }
                cals.push(calendar_value(c));
                cur = c
                    .inherits
                    .as_deref()
                    .and_then(|p| project.calendar_by_name(p));
            }
            cals.reverse();
            doc.insert("calendars".into(), Value::Array(cals));
        }
        doc.insert("jobnets".into(), Value::Array(vec![net]));
        let mut text = String::new();
        let path = &project.units[root].path;
        text.push_str(&format!("# Imported from JP1/AJS3 jobnet {path}\n"));
        if !notes.is_empty() {
            text.push_str("# Not converted; review before deploying:\n");
            for n in &notes {
                for (i, line) in n.lines().enumerate() {
                    let lead = if i == 0 { "#   - " } else { "#     " };
                    text.push_str(lead);
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text.push_str(&to_yaml(&Value::Object(doc)));
        let base = sanitize(path.trim_start_matches('/').replace('/', ".").as_str());
        let mut name = format!("{base}.yaml");
        let mut k = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}_{k}.yaml");
            k += 1;
        }
        out.push((name, text));
    }
    out
}

fn calendar_value(c: &Calendar) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    if let Some(p) = &c.inherits {
        m.insert("inherits".into(), json!(p));
    }
    if let Some(t) = c.day_start {
        m.insert("day_start".into(), json!(t.to_string()));
    }
    if let Some(h) = c.japanese_holidays {
        m.insert("japanese_holidays".into(), json!(h));
    }
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut w = Map::new();
    for (i, k) in c.weekdays.iter().enumerate() {
        if let Some(k) = k {
            w.insert(DAYS[i].into(), json!(day_kind(*k)));
        }
    }
    if !w.is_empty() {
        m.insert("weekdays".into(), Value::Object(w));
    }
    if !c.dates.is_empty() {
        let dates = c
            .dates
            .iter()
            .map(|(d, k)| json!({"date": d.to_string(), day_kind(*k): true}))
            .collect();
        m.insert("dates".into(), Value::Array(dates));
    }
    Value::Object(m)
}

fn day_kind(k: DayKind) -> &'static str {
    match k {
        DayKind::Open => "open",
        DayKind::Closed => "closed",
    }
}

/// One delay for every run as its value; delays per schedule rule as a list.
fn delays_value(monitors: &[DelayMonitor]) -> Option<Value> {
    match monitors {
        [] => None,
        [m] if m.rules.is_empty() => Some(delay_value(m)),
        _ => Some(Value::Array(
            monitors
                .iter()
                .map(|m| {
                    if m.rules.is_empty() {
                        delay_value(m)
                    } else {
                        json!({"rules": m.rules, "delay": delay_value(m)})
                    }
                })
                .collect(),
        )),
    }
}

fn delay_value(d: &DelayMonitor) -> Value {
    match d.at {
        TimeRef::Absolute(t) => json!(t.to_string()),
        TimeRef::AfterRootStart(m) => json!({"after_root_start": m}),
        TimeRef::AfterUpperStart(m) => json!({"after_upper_start": m}),
        TimeRef::AfterOwnStart(m) => json!({"after_own_start": m}),
        TimeRef::ExpectedDuration => json!("expected"),
    }
}

fn op_word(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "eq",
        CmpOp::Ne => "ne",
        CmpOp::Gt => "gt",
        CmpOp::Ge => "ge",
        CmpOp::Lt => "lt",
        CmpOp::Le => "le",
    }
}

fn status_word(s: EndStatus) -> &'static str {
    match s {
        EndStatus::Normal => "normal",
        EndStatus::Warning => "warning",
        EndStatus::Abnormal => "abnormal",
    }
}

/// One unit (and, for nets, everything below it) as a spec map.
fn unit_value(project: &Project, id: UnitId, root: bool, notes: &mut Vec<String>) -> Value {
    let u = &project.units[id];
    let mut m = Map::new();
    m.insert("name".into(), json!(u.name));
    if let Some(c) = &u.comment {
        m.insert("comment".into(), json!(c));
    }
    if !root {
        if let Some(parent) = u.parent.and_then(|p| project.units[p].as_net()) {
            let after: Vec<Value> = parent
                .edges
                .iter()
                .filter(|e| e.to == id && e.kind == EdgeKind::Normal)
                .map(|e| json!(project.units[e.from].name))
                .collect();
            if !after.is_empty() {
                m.insert("after".into(), Value::Array(after));
            }
            let cond_from_non_judgment = parent.edges.iter().any(|e| {
                e.to == id
                    && e.kind == EdgeKind::Conditional
                    && !matches!(project.units[e.from].kind, UnitKind::Judgment(_))
            });
            if cond_from_non_judgment {
                notes.push(format!(
                    "{}: a conditional relation from a unit that is not a judgment",
                    u.path
                ));
            }
        }
        if u.join == JoinKind::Or {
            m.insert("join".into(), json!("or"));
        }
        if u.recovery {
            m.insert("recovery".into(), json!(true));
        }
    }
    if u.hold {
        m.insert("hold".into(), json!(true));
    } else if let Some(after) = u.hold_after {
        m.insert("hold".into(), json!(after.spec_name()));
    }
    for (key, monitors) in [("start_delay", &u.start_delay), ("end_delay", &u.end_delay)] {
        if let Some(v) = delays_value(monitors) {
            m.insert(key.into(), v);
        }
    }
    if let Some(e) = u.expected_minutes {
        m.insert("expected_minutes".into(), json!(e));
    }
    for un in &u.unmapped {
        notes.push(format!(
            "{}: {}={} ({})",
            u.path, un.key, un.value, un.reason
        ));
    }
    let cutoff = u.cutoff.as_ref().map(|c| {
        let mut cm = Map::new();
        cm.insert("minutes".into(), json!(c.minutes));
        if c.on_timeout != EndStatus::Abnormal {
            cm.insert("status".into(), json!(status_word(c.on_timeout)));
        }
        Value::Object(cm)
    });
    match &u.kind {
        UnitKind::Job(job) => {
            m.insert("type".into(), json!(job.job_type));
            if !job.params.is_empty() {
                let p: Map<String, Value> = job
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                m.insert("params".into(), Value::Object(p));
            }
            let end = match &job.end {
                EndJudgment::ReturnCode {
                    warning: None,
                    abnormal: 0,
                } => None,
                EndJudgment::ReturnCode { warning, abnormal } => {
                    let mut e = Map::new();
                    if let Some(w) = warning {
                        e.insert("warning_above".into(), json!(w));
                    }
                    e.insert("abnormal_above".into(), json!(abnormal));
                    Some(Value::Object(e))
                }
                EndJudgment::AlwaysNormal => Some(json!({"always": "normal"})),
                EndJudgment::AlwaysAbnormal => Some(json!({"always": "abnormal"})),
                EndJudgment::FileExists(p) => Some(json!({"file_exists": p})),
                EndJudgment::FileModified(p) => Some(json!({"file_modified": p})),
            };
            if let Some(e) = end {
                m.insert("end".into(), e);
            }
            if let Some(r) = &job.retry {
                let mut rm = Map::new();
                rm.insert("attempts".into(), json!(r.max_attempts));
                rm.insert("interval_seconds".into(), json!(r.interval_seconds));
                if let Some((lo, hi)) = r.return_codes {
                    rm.insert("return_codes".into(), json!([lo, hi]));
                }
                m.insert("retry".into(), Value::Object(rm));
            }
            if let Some(c) = cutoff {
                m.insert("cutoff".into(), c);
            }
        }
        UnitKind::Net(net) => {
            if root {
                if let Some(c) = &net.calendar {
                    m.insert("calendar".into(), json!(c.name));
                }
                if let Some(s) = &net.schedule {
                    // Rules keep their names (JP1 rule numbers) where a delay names them.
                    let named: BTreeSet<&str> = project
                        .descendants(id)
                        .into_iter()
                        .flat_map(|d| {
                            let unit = &project.units[d];
                            unit.start_delay.iter().chain(&unit.end_delay)
                        })
                        .flat_map(|m| m.rules.iter().map(String::as_str))
                        .collect();
                    match schedule_value(s, &named) {
                        Some(v) => {
                            m.insert("schedule".into(), v);
                        }
                        None => notes.push(format!(
                            "{}: exclusive schedule with {} but no start rule",
                            u.path,
                            s.exclusive_with.join(", ")
                        )),
                    }
                }
                let c = &net.concurrency;
                if c.multiple_launch || c.max_parallel_jobs.is_some() {
                    let mut cm = Map::new();
                    cm.insert("multiple_launch".into(), json!(c.multiple_launch));
                    if let Some(n) = c.max_parallel_jobs {
                        cm.insert("max_parallel_jobs".into(), json!(n));
                    }
                    m.insert("concurrency".into(), Value::Object(cm));
                }
                if let Some(sc) = &net.start_conditions {
                    let mut events = Vec::new();
                    for e in &sc.events {
                        match e {
                            StartEvent::File { path, events: e } if *e == ObjectEvents::WRITTEN => {
                                events.push(json!({"file_created": path}));
                            }
                            StartEvent::File { path, events: e } => {
                                events.push(json!({"file": path, "when": e.names()}));
                            }
                            StartEvent::EventReceived(m) => {
                                events.push(json!({"event_received": event_match_spec(m)}));
                            }
                            StartEvent::Other { kind, detail } => notes
                                .push(format!("{}: start condition `{kind}` ({detail})", u.path)),
                        }
                    }
                    if !events.is_empty() {
                        m.insert(
                            "start_conditions".into(),
                            json!({"all": sc.all, "events": events}),
                        );
                    }
                }
            }
            if !net.job_defaults.is_empty() {
                let d: Map<String, Value> = net
                    .job_defaults
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                m.insert("job_defaults".into(), Value::Object(d));
            }
            let units: Vec<Value> = net
                .children
                .iter()
                .map(|&c| unit_value(project, c, false, notes))
                .collect();
            m.insert("units".into(), Value::Array(units));
        }
        UnitKind::Judgment(j) => {
            let judge = match &j.condition {
                Condition::ReturnCode { op, value } => {
                    json!({"return_code": {"op": op_word(*op), "value": value}})
                }
                Condition::ReturnCodeRange { inside, low, high } => {
                    json!({"return_code_range": {"inside": inside, "low": low, "high": high}})
                }
                Condition::FileExists { path, exists: true } => json!({"file_exists": path}),
                Condition::FileExists {
                    path,
                    exists: false,
                } => json!({"file_missing": path}),
                Condition::Variable { name, op, value } => {
                    json!({"variable": {"name": name, "op": op_word(*op), "value": value}})
                }
            };
            m.insert("judge".into(), judge);
            if let Some(parent) = u.parent.and_then(|p| project.units[p].as_net()) {
                let then: Vec<Value> = parent
                    .edges
                    .iter()
                    .filter(|e| e.from == id && e.kind == EdgeKind::Conditional)
                    .map(|e| json!(project.units[e.to].name))
                    .collect();
                if !then.is_empty() {
                    m.insert("then".into(), Value::Array(then));
                }
            }
        }
        UnitKind::NoOp => {
            m.insert("type".into(), json!("noop"));
        }
        UnitKind::Wait(w) => {
            let v = match w {
                TimeWait::Until(t) => json!({"until": t.to_string()}),
                TimeWait::Minutes(n) => json!({"minutes": n}),
            };
            m.insert("wait".into(), v);
        }
        UnitKind::FileWait(w) => {
            let mut v = json!({"file": w.path});
            if w.interval_seconds != crate::ir::FileWait::DEFAULT_INTERVAL {
                v["interval_seconds"] = json!(w.interval_seconds);
            }
            if let Some(e) = w.events {
                v["when"] = match e.names().as_slice() {
                    [one] => json!(one),
                    all => json!(all),
                };
            }
            m.insert("wait".into(), v);
            if let Some(c) = cutoff {
                m.insert("cutoff".into(), c);
            }
        }
        UnitKind::EventWait(e) => {
            m.insert("wait".into(), json!({"event": event_match_spec(e)}));
            if let Some(c) = cutoff {
                m.insert("cutoff".into(), c);
            }
        }
        UnitKind::WaitFor(w) => {
            m.insert("wait_for".into(), json!({"jobnet": w.target}));
            if let Some(c) = cutoff {
                m.insert("cutoff".into(), c);
            }
        }
        UnitKind::Unsupported { type_name, reason } => {
            notes.push(format!(
                "{}: JP1 unit type `{type_name}` ({reason}); written as a `noop` job",
                u.path
            ));
            m.insert("type".into(), json!("noop"));
        }
    }
    Value::Object(m)
}

fn schedule_value(s: &Schedule, named: &BTreeSet<&str>) -> Option<Value> {
    if s.rules.is_empty() {
        return None;
    }
    let mut m = Map::new();
    m.insert("timezone".into(), json!(s.timezone));
    if !s.exclusive_with.is_empty() {
        m.insert("exclusive_with".into(), json!(s.exclusive_with));
    }
    let rules: Vec<Value> = s
        .rules
        .iter()
        .map(|r| {
            let name = r.name.as_deref().filter(|n| named.contains(n));
            rule_value(r, name)
        })
        .collect();
    m.insert("rules".into(), Value::Array(rules));
    Some(Value::Object(m))
}

fn rule_value(r: &ScheduleRule, name: Option<&str>) -> Value {
    let mut m = Map::new();
    if let Some(n) = name {
        m.insert("name".into(), json!(n));
    }
    let wd = |w: &chrono::Weekday| {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][w.num_days_from_monday() as usize]
    };
    let (key, v) = match &r.days {
        DayRule::Daily => ("days", json!("daily")),
        DayRule::Weekdays(ws) => ("weekdays", json!(ws.iter().map(wd).collect::<Vec<_>>())),
        DayRule::DaysOfMonth(d) => ("days_of_month", json!(d)),
        DayRule::NthOpenDay(n) => ("nth_open_day", json!(n)),
        DayRule::NthClosedDay(n) => ("nth_closed_day", json!(n)),
        DayRule::DaysBeforeMonthEnd(n) => ("days_before_month_end", json!(n)),
        DayRule::NthLastOpenDay(n) => ("nth_last_open_day", json!(n)),
        DayRule::NthWeekday { weekday, n } => {
            ("nth_weekday", json!({"weekday": wd(weekday), "n": n}))
        }
        DayRule::Dates(ds) => (
            "dates",
            json!(ds.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
        ),
        DayRule::EveryNDays { n, from } => (
            "every",
            json!({"n": n, "unit": "days", "from": from.to_string()}),
        ),
        DayRule::EveryNWeeks { n, from } => (
            "every",
            json!({"n": n, "unit": "weeks", "from": from.to_string()}),
        ),
        DayRule::EveryNMonths { n, from } => (
            "every",
            json!({"n": n, "unit": "months", "from": from.to_string()}),
        ),
    };
    m.insert(key.into(), v);
    m.insert(
        "at".into(),
        json!(r.times.iter().map(|t| t.to_string()).collect::<Vec<_>>()),
    );
    let (shift, max) = match r.on_closed_day {
        ClosedDayAction::Skip => ("skip", None),
        ClosedDayAction::RunAnyway => ("run", None),
        ClosedDayAction::Previous { max_days } => ("previous", Some(max_days)),
        ClosedDayAction::Next { max_days } => ("next", Some(max_days)),
    };
    m.insert("on_closed_day".into(), json!(shift));
    if let Some(d) = max {
        m.insert("max_shift_days".into(), json!(d));
    }
    if let Some(rk) = r.reckon {
        m.insert(
            "reckon".into(),
            json!({"open_days": rk.open_days, "max_days": rk.max_days}),
        );
    }
    if let Some(n) = r.repeat_minutes {
        m.insert("repeat_minutes".into(), json!(n));
    }
    if let Some(c) = r.month_cycle {
        m.insert(
            "month_cycle".into(),
            json!({"every": c.every, "from": format!("{:04}-{:02}", c.year, c.month)}),
        );
    }
    if let Some(d) = r.valid_from {
        m.insert("valid_from".into(), json!(d.to_string()));
    }
    if let Some(d) = r.valid_until {
        m.insert("valid_until".into(), json!(d.to_string()));
    }
    Value::Object(m)
}

/// An [`EventMatch`] as the spec's `event_received` writes it (defaults left out).
fn event_match_spec(m: &crate::ir::EventMatch) -> Value {
    use crate::ir::EventMatch;
    let mut out = Map::new();
    if m.source != EventMatch::SOURCE {
        out.insert("source".into(), json!(m.source));
    }
    if m.detail_type != EventMatch::JP1_DETAIL_TYPE {
        out.insert("detail_type".into(), json!(m.detail_type));
    }
    if let Some(id) = &m.id {
        out.insert("id".into(), json!(id));
    }
    if let Some(t) = &m.message {
        let (kind, text) = t.parts();
        out.insert("message".into(), json!({ kind: text }));
    }
    if !m.severities.is_empty() {
        out.insert("severity".into(), json!(m.severities));
    }
    if !m.attributes.is_empty() {
        let a: Map<String, Value> = m
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        out.insert("attributes".into(), Value::Object(a));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;

    #[test]
    fn one_file_per_root_with_notes_and_unique_names() {
        let mut p = Project::default();
        let text = "unit=a,,,;{ty=g;unit=n,,,;{ty=n;unit=m,,,;{ty=ntwj;}unit=j,,,;{ty=j;te=\"x\";ev=\"e\";zz=1;}}}
unit=b,,,;{ty=g;unit=n,,,;{ty=n;unit=k,,,;{ty=j;te=\"y\";}}}
unit=a.n,,,;{ty=n;unit=z,,,;{ty=j;te=\"z\";}}";
        let f = p.sources.add("t", text.into(), "utf-8");
        let mut d = Diagnostics::default();
        crate::front::jp1::load(&mut p, f, &mut d);
        let files = to_spec_yaml(&p, &p.roots);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a_n.yaml", "b_n.yaml", "a_n_2.yaml"]);
        let first = &files[0].1;
        assert!(
            first.starts_with("# Imported from JP1/AJS3 jobnet /a/n\n"),
            "{first}"
        );
        assert!(
            first.contains("#   - /a/n/m: JP1 unit type `ntwj`"),
            "{first}"
        );
        assert!(first.contains("#   - /a/n/j: zz=1"), "{first}");
        assert!(
            first.contains("environment_files:\n            - \"s3://${LegacyFileBucket}/e.env\""),
            "{first}"
        );
        assert!(
            first.contains("version: 1\njobnets:\n  - name: \"n\"\n"),
            "{first}"
        );
        assert!(!files[1].1.contains("Not converted"), "{}", files[1].1);
    }
}
