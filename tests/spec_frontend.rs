//! Every bundled example loads without diagnostics and lowers to the IR it describes.

use jobnet2sfn::diag::{render, Diagnostics};
use jobnet2sfn::front::spec::load;
use jobnet2sfn::ir::*;
use std::path::Path;

const EXAMPLES: [&str; 7] = [
    "daily_batch",
    "non_series_parallel",
    "or_join",
    "judgment_and_recovery",
    "windows_migration",
    "scheduled_with_calendar",
    "japanese_names",
];

fn load_example(name: &str) -> Project {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).expect("example exists");
    let mut project = Project::default();
    let file = project
        .sources
        .add(path.display().to_string(), text, "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut project, file, &mut diags);
    let shown: Vec<String> = diags
        .items
        .iter()
        .map(|d| render(d, &project.sources, false))
        .collect();
    assert!(shown.is_empty(), "{name}:\n{}", shown.join("\n"));
    project
}

/// A spec text loaded on its own, with its diagnostics.
fn load_str(text: &str) -> (Project, Diagnostics) {
    let mut project = Project::default();
    let file = project.sources.add("t.yaml", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut project, file, &mut diags);
    (project, diags)
}

fn unit<'p>(p: &'p Project, path: &str) -> &'p Unit {
    p.units
        .iter()
        .map(|(_, u)| u)
        .find(|u| u.path == path)
        .unwrap_or_else(|| panic!("no unit {path}"))
}

fn id(p: &Project, path: &str) -> UnitId {
    p.units
        .iter()
        .find(|(_, u)| u.path == path)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no unit {path}"))
}

/// `(from, to, kind)` by unit name, for readable asserts.
fn edges(p: &Project, net: &str) -> Vec<(String, String, EdgeKind)> {
    let n = unit(p, net).as_net().expect("a net");
    n.edges
        .iter()
        .map(|e| {
            (
                p.units[e.from].name.clone(),
                p.units[e.to].name.clone(),
                e.kind,
            )
        })
        .collect()
}

fn has_edge(p: &Project, net: &str, from: &str, to: &str, kind: EdgeKind) -> bool {
    edges(p, net).contains(&(from.to_string(), to.to_string(), kind))
}

#[test]
fn every_example_loads_and_keeps_the_tree_consistent() {
    for name in EXAMPLES {
        let p = load_example(name);
        assert!(!p.roots.is_empty(), "{name}: no roots");
        for (uid, u) in p.units.iter() {
            // Every unit is reachable from a root, its path is its parent's path plus its name.
            match u.parent {
                None => assert!(p.roots.contains(&uid), "{name}: orphan {}", u.path),
                Some(parent) => {
                    assert!(p.children(parent).contains(&uid), "{name}: {}", u.path);
                    assert_eq!(u.path, format!("{}/{}", p.units[parent].path, u.name));
                }
            }
            if let UnitKind::Net(n) = &u.kind {
                for e in &n.edges {
                    assert!(n.children.contains(&e.from) && n.children.contains(&e.to));
                }
            }
        }
        let total: usize = p.roots.iter().map(|r| p.descendants(*r).len()).sum();
        assert_eq!(total, p.units.len(), "{name}");
    }
}

#[test]
fn daily_batch_facts() {
    let p = load_example("daily_batch");
    let root = unit(&p, "/daily_sales");
    let net = root.as_net().unwrap();
    assert_eq!(net.children.len(), 9);
    assert_eq!(net.job_defaults["cluster"], "${EcsClusterArn}");
    let UnitKind::Job(load_pos) = &unit(&p, "/daily_sales/load_pos").kind else {
        panic!("job")
    };
    assert_eq!(load_pos.job_type, "ecs");
    assert_eq!(
        load_pos.end,
        EndJudgment::ReturnCode {
            warning: Some(0),
            abnormal: 4
        }
    );
    let retry = load_pos.retry.as_ref().unwrap();
    assert_eq!(
        (
            retry.max_attempts,
            retry.interval_seconds,
            retry.return_codes
        ),
        (3, 120, Some((100, 199)))
    );
    assert_eq!(
        load_pos.params["command"],
        "/app/load_pos.sh --date \"$BUSINESS_DATE\""
    );
    let cleanse = unit(&p, "/daily_sales/cleanse_pos");
    assert_eq!(cleanse.cutoff.as_ref().unwrap().minutes, 90);
    assert_eq!(cleanse.expected_minutes, Some(40));
    let agg = unit(&p, "/daily_sales/aggregate");
    assert_eq!(agg.as_net().unwrap().children.len(), 4);
    assert_eq!(agg.end_delay[0].at, TimeRef::AfterOwnStart(120));
    assert!(has_edge(
        &p,
        "/daily_sales",
        "cleanse_pos",
        "aggregate",
        EdgeKind::Normal
    ));
    assert!(has_edge(
        &p,
        "/daily_sales/aggregate",
        "by_store",
        "reconcile",
        EdgeKind::Normal
    ));
    assert_eq!(edges(&p, "/daily_sales").len(), 10);
    // Span of a unit is its name; of an edge its reference.
    assert_eq!(unit(&p, "/daily_sales/stage_inputs").span.line, 16);
    let e = &net.edges[0];
    assert_eq!(p.units[e.from].name, "stage_inputs");
    assert_eq!((e.span.line, e.span.col), (25, 17));
}

#[test]
fn non_series_parallel_facts() {
    let p = load_example("non_series_parallel");
    let mut n = edges(&p, "/n_shape");
    n.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let want: Vec<(String, String, EdgeKind)> = [("A", "C"), ("A", "D"), ("B", "D")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string(), EdgeKind::Normal))
        .collect();
    assert_eq!(n, want);
    assert_eq!(edges(&p, "/month_end_reports").len(), 10);
}

#[test]
fn or_join_facts() {
    let p = load_example("or_join");
    assert_eq!(unit(&p, "/master_import/import_master").join, JoinKind::Or);
    assert_eq!(unit(&p, "/master_import/refresh_cache").join, JoinKind::And);
    assert_eq!(
        unit(&p, "/master_import/fetch_backup").start_delay[0].at,
        TimeRef::AfterRootStart(10)
    );
}

#[test]
fn judgment_and_recovery_facts() {
    let p = load_example("judgment_and_recovery");
    let UnitKind::Judgment(j) = &unit(&p, "/partner_feed/check_rows").kind else {
        panic!("judgment")
    };
    assert_eq!(
        j.condition,
        Condition::ReturnCode {
            op: CmpOp::Gt,
            value: 0
        }
    );
    assert!(has_edge(
        &p,
        "/partner_feed",
        "check_rows",
        "load_rows",
        EdgeKind::Conditional
    ));
    assert!(has_edge(
        &p,
        "/partner_feed",
        "count_rows",
        "check_rows",
        EdgeKind::Normal
    ));
    assert!(unit(&p, "/partner_feed/restore_table").recovery);
    let UnitKind::Job(count) = &unit(&p, "/partner_feed/count_rows").kind else {
        panic!("job")
    };
    assert_eq!(count.end, EndJudgment::AlwaysNormal);
    let conds: Vec<Condition> = [
        "marker_present",
        "region_is_west",
        "rc_in_band",
        "nothing_missing",
    ]
    .iter()
    .map(|n| match &unit(&p, &format!("/regional_switch/{n}")).kind {
        UnitKind::Judgment(j) => j.condition.clone(),
        _ => panic!("judgment"),
    })
    .collect();
    assert_eq!(
        conds,
        vec![
            Condition::FileExists {
                path: "s3://partner-drop/east/READY".into(),
                exists: true
            },
            Condition::Variable {
                name: "REGION".into(),
                op: CmpOp::Eq,
                value: "west".into()
            },
            Condition::ReturnCodeRange {
                inside: true,
                low: 1,
                high: 5
            },
            Condition::FileExists {
                path: "s3://partner-drop/west/ERROR".into(),
                exists: false
            },
        ]
    );
}

#[test]
fn windows_migration_facts() {
    let p = load_example("windows_migration");
    let UnitKind::Job(j) = &unit(&p, "/invoice_print/render_pdf").kind else {
        panic!("job")
    };
    assert_eq!(j.job_type, "ecs-windows");
    assert_eq!(
        j.params["command"][0],
        r"C:\Program Files\InvoiceTool\render.exe"
    );
    let UnitKind::Job(up) = &unit(&p, "/invoice_print/upload").kind else {
        panic!("job")
    };
    assert_eq!(
        up.end,
        EndJudgment::FileExists(r"D:\work\pdf\upload.ok".into())
    );
}

#[test]
fn scheduled_with_calendar_facts() {
    let p = load_example("scheduled_with_calendar");
    assert_eq!(p.calendars.len(), 2);
    let cal = &p.calendars[p.calendar_by_name("jp-business").unwrap()];
    assert_eq!(cal.inherits.as_deref(), Some("base"));
    assert_eq!(cal.day_start, ClockTime::new(5, 0));
    assert_eq!(cal.japanese_holidays, Some(true));
    assert_eq!(cal.dates.len(), 2);
    assert_eq!(cal.dates[0].1, DayKind::Closed);
    let base = &p.calendars[p.calendar_by_name("base").unwrap()];
    assert_eq!(base.weekdays[5], Some(DayKind::Closed));

    let billing = unit(&p, "/daily_billing");
    let net = billing.as_net().unwrap();
    assert_eq!(net.calendar.as_ref().unwrap().name, "jp-business");
    let s = net.schedule.as_ref().unwrap();
    assert_eq!(s.timezone, "Asia/Tokyo");
    assert_eq!(s.exclusive_with, vec!["month_end_close".to_string()]);
    assert_eq!(s.rules.len(), 2);
    assert_eq!(s.rules[1].times, vec![ClockTime::new(26, 0).unwrap()]);
    assert_eq!(s.rules[1].on_closed_day, ClosedDayAction::RunAnyway);
    assert_eq!(
        s.rules[1].days,
        DayRule::Weekdays(vec![chrono::Weekday::Sat])
    );
    assert_eq!(net.concurrency.max_parallel_jobs, Some(4));
    assert_eq!(
        billing.start_delay[0].at,
        TimeRef::Absolute(ClockTime::new(3, 0).unwrap())
    );
    assert!(matches!(
        unit(&p, "/daily_billing/wait_for_bank").kind,
        UnitKind::Wait(TimeWait::Until(t)) if t == ClockTime::new(4, 30).unwrap()
    ));
    assert!(matches!(
        unit(&p, "/daily_billing/cool_down").kind,
        UnitKind::Wait(TimeWait::Minutes(10))
    ));
    let ack = unit(&p, "/bank_reply/bank_ack");
    assert_eq!(
        ack.kind.label(),
        "event wait",
        "`wait: {{event: …}}`: {:?}",
        ack.kind
    );
    if let UnitKind::EventWait(m) = &ack.kind {
        assert_eq!(m.id.as_deref(), Some("7FFF8002"));
        assert_eq!(
            m.message,
            Some(TextMatch::Prefix("import acknowledged".into()))
        );
        assert_eq!(m.severities, ["Information"]);
        assert_eq!(m.source, "jobnet2sfn");
    }
    assert_eq!(ack.cutoff.as_ref().map(|c| c.minutes), Some(120));
    assert_eq!(
        unit(&p, "/daily_billing/bill").end_delay[0].at,
        TimeRef::ExpectedDuration
    );

    let close = unit(&p, "/month_end_close").as_net().unwrap();
    let rules = &close.schedule.as_ref().unwrap().rules;
    assert_eq!(rules[0].days, DayRule::NthLastOpenDay(1));
    assert_eq!(
        rules[1].on_closed_day,
        ClosedDayAction::Previous { max_days: 3 }
    );
    assert_eq!(
        rules[2].days,
        DayRule::NthWeekday {
            weekday: chrono::Weekday::Fri,
            n: -1
        }
    );
    assert_eq!(rules[2].valid_until, Date::from_ymd_opt(2027, 12, 31));

    let sync = unit(&p, "/periodic_sync").as_net().unwrap();
    let rules = &sync.schedule.as_ref().unwrap().rules;
    assert_eq!(
        rules[0].days,
        DayRule::EveryNWeeks {
            n: 2,
            from: Date::from_ymd_opt(2027, 1, 4).unwrap()
        }
    );
    assert_eq!(rules[0].repeat_minutes, Some(60));
    assert_eq!(
        rules[1].on_closed_day,
        ClosedDayAction::Next { max_days: 2 }
    );
    assert_eq!(
        rules[2].reckon,
        Some(Reckon {
            open_days: -1,
            max_days: 5
        })
    );
    assert_eq!(rules[4].days, DayRule::NthClosedDay(1));
    assert!(sync.start_conditions.is_none());
    let reply = unit(&p, "/bank_reply").as_net().unwrap();
    let sc = reply.start_conditions.as_ref().unwrap();
    assert!(!sc.all);
    assert_eq!(
        sc.events,
        vec![
            StartEvent::File {
                path: "s3://bank-drop/reply/*.csv".into(),
                events: ObjectEvents::WRITTEN
            },
            StartEvent::EventReceived(EventMatch {
                source: "jobnet2sfn".into(),
                detail_type: "JP1 event".into(),
                id: Some("7FFF8001".into()),
                message: Some(TextMatch::Prefix("bank reply".into())),
                severities: vec![],
                attributes: vec![],
            })
        ]
    );
    let UnitKind::WaitFor(w) = &unit(&p, "/periodic_sync/upstream_done").kind else {
        panic!("wait_for")
    };
    assert_eq!(w.target, "bank_reply/import_reply");
}

#[test]
fn japanese_names_facts() {
    let p = load_example("japanese_names");
    let agg = id(&p, "/日次バッチ/売上集計");
    assert_eq!(p.children(agg).len(), 2);
    assert!(has_edge(
        &p,
        "/日次バッチ",
        "売上取込",
        "売上集計",
        EdgeKind::Normal
    ));
    assert!(has_edge(
        &p,
        "/日次バッチ",
        "件数確認",
        "帳票出力",
        EdgeKind::Conditional
    ));
    // Columns count characters, not bytes.
    let u = unit(&p, "/日次バッチ/売上集計/店舗別集計");
    assert_eq!((u.span.line, u.span.col, u.span.len), (28, 19, 5));
    assert_eq!(
        unit(&p, "/日次バッチ")
            .as_net()
            .unwrap()
            .calendar
            .as_ref()
            .unwrap()
            .name,
        "営業日カレンダー"
    );
}

#[test]
fn received_events_start_a_jobnet() {
    let (p, d) = load_str(
        "version: 1\njobnets:\n  - name: n\n    start_conditions:\n      events:\n        - event_received: {id: \"007FFF8001\"}\n        - event_received: {id: \"00A1\", message: {prefix: \"end\"}, severity: Error, attributes: {PRODUCT: billing}, source: app, detail_type: done}\n    units: [{name: a, type: noop}]\n",
    );
    assert!(
        d.items
            .iter()
            .any(|x| x.code == "E0112" && x.message.contains("hexadecimal")),
        "{:?}",
        d.items
    );
    let (p2, d2) = load_str(
        "version: 1\njobnets:\n  - name: n\n    start_conditions:\n      events:\n        - event_received: {id: \"00A1\", message: {prefix: \"end\"}, severity: Error, attributes: {PRODUCT: billing}, source: app, detail_type: done}\n    units: [{name: a, type: noop}]\n",
    );
    assert!(!d2.has_errors(), "{:?}", d2.items);
    let sc = unit(&p2, "/n")
        .as_net()
        .unwrap()
        .start_conditions
        .clone()
        .unwrap();
    assert_eq!(
        sc.events,
        vec![StartEvent::EventReceived(EventMatch {
            source: "app".into(),
            detail_type: "done".into(),
            id: Some("000000A1".into()),
            message: Some(TextMatch::Prefix("end".into())),
            severities: vec!["Error".into()],
            attributes: vec![("PRODUCT".into(), "billing".into())],
        })]
    );
    drop(p);
    // Two tests in one text match, an unknown severity, both event kinds in one item.
    let (_, d) = load_str(
        "version: 1\njobnets:\n  - name: n\n    start_conditions:\n      events:\n        - event_received: {message: {exact: a, prefix: b}}\n        - event_received: {severity: [Eror]}\n        - {file_created: \"s3://b/k\", event_received: {}}\n    units: [{name: a, type: noop}]\n",
    );
    let codes: Vec<&str> = d.items.iter().map(|x| x.code).collect();
    assert_eq!(codes.len(), 3, "{:?}", d.items);
    assert!(
        d.items
            .iter()
            .any(|x| x.message.contains("unknown severity `Eror`")),
        "{:?}",
        d.items
    );
}

#[test]
fn event_patterns_eventbridge_refuses_are_errors() {
    let (_, d) = load_str(
        "version: 1\njobnets:\n  - name: n\n    start_conditions:\n      events:\n        - event_received: {message: {wildcard: \"a**b\"}}\n        - event_received: {message: {wildcard: 'a\\x'}}\n        - event_received: {id: \"1:5\"}\n        - event_received: {message: {wildcard: 'a\\*b*'}}\n        - event_received: {message: {wildcard: 'a\\**'}}\n    units: [{name: a, type: noop}]\n",
    );
    let lines: Vec<u32> = d
        .items
        .iter()
        .filter_map(|x| x.span.map(|s| s.line))
        .collect();
    assert_eq!(lines, [6, 7, 8], "{:?}", d.items);
}

#[test]
fn event_waits_are_checked_like_start_condition_events() {
    let spec = |wait: &str| {
        format!("version: 1\njobnets:\n  - name: n\n    units:\n      - name: w\n        wait: {wait}\n        cutoff: {{minutes: 5}}\n")
    };
    let (p, d) = load_str(&spec("{event: {id: \"1\", severity: Error}}"));
    assert!(d.items.is_empty(), "{:?}", d.items);
    assert!(
        matches!(&unit(&p, "/n/w").kind, UnitKind::EventWait(m) if m.id.as_deref() == Some("00000001") && m.severities == ["Error"])
    );
    for (wait, said) in [
        (
            "{event: {id: \"xyz\"}}",
            "an event id is a hexadecimal code",
        ),
        (
            "{event: {severity: []}}",
            "`severity` needs at least one level",
        ),
        ("{event: {colour: red}}", "colour"),
        (
            "{event: {id: \"1\"}, file: \"s3://b/k\"}",
            "has both `event` and `file`",
        ),
    ] {
        let (_, d) = load_str(&spec(wait));
        assert!(
            d.items.iter().any(|x| x.message.contains(said)),
            "{wait}: {:?}",
            d.items
        );
    }
}

#[test]
fn file_waits_wait_for_the_object_to_exist_or_for_its_events() {
    let spec = |wait: &str| {
        format!("version: 1\njobnets:\n  - name: n\n    units:\n      - name: w\n        wait: {wait}\n")
    };
    let events = |wait: &str| {
        let (p, d) = load_str(&spec(wait));
        assert!(d.items.is_empty(), "{wait}: {:?}", d.items);
        match &unit(&p, "/n/w").kind {
            UnitKind::FileWait(w) => w.events,
            other => panic!("{wait}: {other:?}"),
        }
    };
    assert_eq!(events("{file: \"s3://b/k\"}"), None, "until it exists");
    let (written, deleted) = (
        ObjectEvents::WRITTEN,
        ObjectEvents {
            written: false,
            deleted: true,
        },
    );
    assert_eq!(
        events("{file: \"s3://b/*.csv\", when: written}"),
        Some(written)
    );
    assert_eq!(
        events("{file: \"/data/f\", when: [deleted]}"),
        Some(deleted)
    );
    assert_eq!(
        events("{file: \"s3://b/k\", when: [deleted, written], interval_seconds: 5}"),
        Some(ObjectEvents {
            written: true,
            deleted: true
        })
    );
    for (wait, said) in [
        (
            "{file: \"s3://b/k\", when: []}",
            "`when` needs at least one of",
        ),
        ("{file: \"s3://b/k\", when: [moved]}", "moved"),
        (
            "{file: \"s3://b/k\", when: {written: 1}}",
            "`written`, `deleted`",
        ),
        ("{file: \"s3://b/k\", on: written}", "unknown key `on`"),
        (
            "{file: \"s3://b/${DAY}.csv\", when: written}",
            "holds a placeholder filled in only when the jobnet runs",
        ),
        ("{minutes: 5, when: written}", "`when` is for `file` waits"),
        ("{file: \"s3://b/*.csv\"}", "add `when: written`"),
    ] {
        let (_, d) = load_str(&spec(wait));
        assert!(
            d.items
                .iter()
                .any(|x| x.message.contains(said)
                    || x.hint.as_deref().is_some_and(|h| h.contains(said))),
            "{wait}: {:?}",
            d.items
        );
    }
}

#[test]
fn start_conditions_watch_an_objects_writes_or_deletion() {
    let spec = |event: &str| {
        format!("version: 1\njobnets:\n  - name: n\n    start_conditions:\n      events:\n        - {event}\n    units:\n      - {{name: a, type: noop}}\n")
    };
    let event = |text: &str| {
        let (p, d) = load_str(&spec(text));
        assert!(d.items.is_empty(), "{text}: {:?}", d.items);
        let net = unit(&p, "/n").as_net().expect("a jobnet").clone();
        net.start_conditions.expect("start conditions").events[0].clone()
    };
    let file = |written, deleted| StartEvent::File {
        path: "s3://b/in/*.csv".into(),
        events: ObjectEvents { written, deleted },
    };
    assert_eq!(
        event("{file_created: \"s3://b/in/*.csv\"}"),
        file(true, false)
    );
    assert_eq!(event("{file: \"s3://b/in/*.csv\"}"), file(true, false));
    assert_eq!(
        event("{file: \"s3://b/in/*.csv\", when: deleted}"),
        file(false, true)
    );
    assert_eq!(
        event("{file: \"s3://b/in/*.csv\", when: [written, deleted]}"),
        file(true, true)
    );
    for (text, said) in [
        (
            "{file_created: \"s3://b/k\", when: deleted}",
            "`when` is for `file` events",
        ),
        (
            "{file: \"s3://b/k\", when: []}",
            "`when` needs at least one of",
        ),
        (
            "{file: \"s3://b/k\", file_created: \"s3://b/k\"}",
            "has both",
        ),
    ] {
        let (_, d) = load_str(&spec(text));
        assert!(
            d.items
                .iter()
                .any(|x| x.message.contains(said)
                    || x.hint.as_deref().is_some_and(|h| h.contains(said))),
            "{text}: {:?}",
            d.items
        );
    }
}

#[test]
fn delays_per_schedule_rule_name_the_rules_of_their_root() {
    let text = r#"version: 1
jobnets:
  - name: n
    schedule:
      rules:
        - {name: weekday, weekdays: [mon, tue, wed, thu, fri], at: "01:00"}
        - {name: weekend, weekdays: [sat, sun], at: "01:00"}
        - {days_of_month: [1], at: "01:00"}
    end_delay: [{rules: [weekend], delay: {after_own_start: 90}}]
    units:
      - name: sub
        units:
          - {name: a, type: noop, end_delay: ["06:00", {rules: weekday, delay: "05:00"}, {rules: [weekend, holiday], delay: expected}], expected_minutes: 9}
          - {name: b, type: noop, start_delay: [{rules: [weekday], delay: {after_upper_start: 5}}]}
"#;
    let (p, diags) = load_str(text);
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    let rules = &p.units[p.roots[0]]
        .as_net()
        .unwrap()
        .schedule
        .as_ref()
        .unwrap()
        .rules;
    let names: Vec<Option<&str>> = rules.iter().map(|r| r.name.as_deref()).collect();
    assert_eq!(names, vec![Some("weekday"), Some("weekend"), None]);
    let delays = |m: &[DelayMonitor]| -> Vec<(TimeRef, Vec<String>)> {
        m.iter().map(|d| (d.at.clone(), d.rules.clone())).collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        delays(&unit(&p, "/n/sub/a").end_delay),
        vec![
            (TimeRef::Absolute(ClockTime::new(6, 0).unwrap()), vec![]),
            (
                TimeRef::Absolute(ClockTime::new(5, 0).unwrap()),
                s(&["weekday"])
            ),
            (TimeRef::ExpectedDuration, s(&["weekend", "holiday"])),
        ]
    );
    assert_eq!(
        delays(&unit(&p, "/n/sub/b").start_delay),
        vec![(TimeRef::AfterUpperStart(5), s(&["weekday"]))]
    );
    assert_eq!(
        delays(&unit(&p, "/n").end_delay),
        vec![(TimeRef::AfterOwnStart(90), s(&["weekend"]))]
    );
    // `holiday` is no rule of `n`: the whole-project check says so, with a suggestion.
    let mut vd = Diagnostics::default();
    jobnet2sfn::passes::validate::validate(&p, &["noop".to_string()], &mut vd);
    let shown: Vec<String> = vd
        .items
        .iter()
        .map(|d| render(d, &p.sources, false))
        .collect();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].contains("E0212")
            && shown[0].contains("schedule rule `holiday`")
            && shown[0].contains("t.yaml:13:"),
        "{}",
        shown[0]
    );
    // Without a schedule, no rule can be named.
    let (p, _) = load_str("version: 1\njobnets:\n  - name: m\n    units:\n      - {name: a, type: noop, end_delay: [{rules: [x], delay: \"01:00\"}]}\n");
    let mut vd = Diagnostics::default();
    jobnet2sfn::passes::validate::validate(&p, &["noop".to_string()], &mut vd);
    assert!(
        vd.items.iter().any(|d| d.code == "E0212"
            && d.hint
                .as_deref()
                .is_some_and(|h| h.contains("no named schedule rules"))),
        "{:?}",
        vd.items
    );
    // Two rules of one name, and two deadlines for every run.
    let (_, diags) = load_str("version: 1\njobnets:\n  - name: m\n    schedule: {rules: [{name: r, days: daily, at: \"01:00\"}, {name: r, days: daily, at: \"02:00\"}]}\n    units:\n      - {name: a, type: noop, end_delay: [\"01:00\", \"02:00\"]}\n");
    let codes: Vec<&str> = diags.items.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0108", "E0115"], "{:?}", diags.items);
    // A rule's name must be text; a per-rule delay outside a list says where it belongs.
    let (_, diags) = load_str("version: 1\njobnets:\n  - name: m\n    units:\n      - {name: a, type: noop, end_delay: [{rules: [2], delay: \"01:00\"}]}\n      - {name: b, type: noop, end_delay: {rules: [x], delay: \"01:00\"}}\n");
    let shown: Vec<String> = diags
        .items
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(
        shown[0].starts_with("E0104") && shown[0].contains("a schedule rule name"),
        "{shown:#?}"
    );
    assert!(
        shown[1].starts_with("E0104") && shown[1].contains("must be an item of a list"),
        "{shown:#?}"
    );
}
