//! Diagnostics of the spec front-end: one test per error kind, asserting code, position
//! and message, plus robustness against hostile input.

use super::{load, load_on};
use crate::diag::Diagnostics;
use crate::ir::*;

fn run(text: &str) -> (Project, Diagnostics) {
    let mut project = Project::default();
    let file = project.sources.add("t.yaml", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut project, file, &mut diags);
    (project, diags)
}

/// `(code, line, col, message, hint)` of every diagnostic.
fn errs(text: &str) -> Vec<(&'static str, u32, u32, String, String)> {
    run(text)
        .1
        .items
        .into_iter()
        .map(|d| {
            let s = d.span.expect("every spec diagnostic has a span");
            (d.code, s.line, s.col, d.message, d.hint.unwrap_or_default())
        })
        .collect()
}

/// The only diagnostic of `text`.
fn one(text: &str) -> (&'static str, u32, u32, String, String) {
    let mut e = errs(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.remove(0)
}

/// A root jobnet `n` holding the given unit lines (already indented by 6).
fn net(units: &str) -> String {
    format!("version: 1\njobnets:\n  - name: n\n    units:\n{units}")
}

#[test]
fn minimal_spec_loads() {
    let (p, d) = run(&net("      - {name: x, type: noop}\n"));
    assert!(d.items.is_empty(), "{:?}", d.items);
    assert_eq!(p.roots.len(), 1);
    assert_eq!(p.units[p.children(p.roots[0])[0]].path, "/n/x");
}

#[test]
fn e0101_yaml_syntax() {
    let (code, line, col, msg, _) = one("version: 1\njobnets: [\n  - a\n");
    assert_eq!(code, "E0101");
    assert!(msg.starts_with("invalid YAML"), "{msg}");
    assert_eq!((line, col), (3, 3));
}

#[test]
fn e0102_nesting_too_deep_without_overflow() {
    // 1,000 nested jobnets: each level is a list and a map in YAML.
    let mut text = String::from("version: 1\njobnets:\n");
    for depth in 0..1000 {
        let pad = "  ".repeat(depth * 2);
        text.push_str(&format!("{pad}  - name: n{depth}\n{pad}    units:\n"));
    }
    text.push_str(&format!(
        "{}  - {{name: leaf, type: noop}}\n",
        "  ".repeat(2000)
    ));
    let e = errs(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "E0102");
    assert!(e[0].3.contains("nesting deeper than 512"), "{}", e[0].3);
}

#[test]
fn e0118_jobnet_depth_limit() {
    let mut text = String::from("version: 1\njobnets:\n");
    for depth in 0..70 {
        let pad = "  ".repeat(depth * 2);
        text.push_str(&format!("{pad}  - name: n{depth}\n{pad}    units:\n"));
    }
    text.push_str(&format!(
        "{}  - {{name: leaf, type: noop}}\n",
        "  ".repeat(140)
    ));
    let (p, d) = run(&text);
    let codes: Vec<_> = d.items.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0118"]);
    assert!(d.items[0].message.contains("deeper than 64"));
    // The allowed levels are built and consistent.
    assert_eq!(p.units.len(), 64);
}

#[test]
fn e0103_version_and_missing_version() {
    let (code, line, col, msg, hint) = one("version: 2\njobnets: []\n");
    assert_eq!((code, line, col), ("E0103", 1, 10));
    assert_eq!(msg, "unsupported spec version 2");
    assert!(hint.contains("version: 1"));
    let (code, _, _, msg, _) = one("jobnets: []\n");
    assert_eq!((code, msg.as_str()), ("E0106", "missing `version`"));
}

#[test]
fn e0104_wrong_type() {
    let (code, line, col, msg, _) = one(&net(
        "      - {name: a, type: noop}\n      - name: b\n        type: noop\n        after: 5\n",
    ));
    assert_eq!((code, line, col), ("E0104", 8, 16));
    assert_eq!(msg, "expected a list of unit names, found a number");
    let (code, _, _, msg, hint) = one(&net("      - {name: 123, type: noop}\n"));
    assert_eq!(code, "E0104");
    assert_eq!(msg, "expected a unit name, found a number");
    assert!(hint.contains("quotes"));
}

#[test]
fn e0105_unknown_key_with_suggestion() {
    let (code, line, col, msg, hint) = one(&net(
        "      - {name: a, type: noop}\n      - {name: b, type: noop, aftr: [a]}\n",
    ));
    assert_eq!((code, line, col), ("E0105", 6, 31));
    assert_eq!(msg, "unknown key `aftr` in job `b`");
    assert_eq!(hint, "did you mean `after`?");
    // The misspelt list is also reported as missing.
    let e = errs("version: 1\njobnet: []\n");
    assert_eq!((e[0].0, e[0].1, e[0].2), ("E0105", 2, 1));
    assert_eq!(e[0].3, "unknown key `jobnet` in the top level");
    assert_eq!(e[0].4, "did you mean `jobnets`?");
    assert_eq!((e[1].0, e[1].3.as_str()), ("E0106", "missing `jobnets`"));
}

#[test]
fn e0106_missing_required_key() {
    let (code, line, col, msg, _) = one(&net("      - {type: noop}\n"));
    assert_eq!((code, line, col), ("E0106", 5, 9));
    assert_eq!(msg, "missing `name` in unit");
    let (code, _, _, msg, _) = one("version: 1\njobnets:\n  - name: r\n");
    assert_eq!((code, msg.as_str()), ("E0106", "jobnet `r` has no `units`"));
}

#[test]
fn e0107_duplicate_key() {
    let e = errs(&net(
        "      - name: a\n        type: noop\n        type: ecs\n",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1, e[0].2), ("E0107", 7, 9));
    assert_eq!(e[0].3, "duplicate key `type`");
}

#[test]
fn e0108_duplicate_sibling_name() {
    let (p, d) = run(&net(
        "      - {name: a, type: noop}\n      - {name: a, type: ecs}\n",
    ));
    assert_eq!(d.items.len(), 1);
    let item = &d.items[0];
    assert_eq!(item.code, "E0108");
    assert_eq!(item.message, "duplicate unit name `a`");
    assert_eq!(item.span.map(|s| (s.line, s.col)), Some((6, 16)));
    assert_eq!(
        item.notes,
        vec!["first defined at line 5, column 16".to_string()]
    );
    assert_eq!(p.children(p.roots[0]).len(), 1);
    // The same name in different nets is fine.
    let ok = net("      - {name: a, type: noop}\n      - name: s\n        units:\n          - {name: a, type: noop}\n");
    assert!(errs(&ok).is_empty());
}

#[test]
fn e0109_unknown_reference_with_hints() {
    let (code, line, col, msg, hint) = one(&net(
        "      - {name: extract, type: noop}\n      - {name: load, type: noop, after: [extrct]}\n",
    ));
    assert_eq!((code, line, col), ("E0109", 6, 42));
    assert_eq!(msg, "unknown unit `extrct` in `after`");
    assert_eq!(hint, "did you mean `extract`?");
    // A unit of another net: say where it is.
    let (_, _, _, _, hint) = one(&net(
        "      - name: sub\n        units:\n          - {name: deep_job, type: noop}\n      - {name: b, type: noop, after: [deep_job]}\n",
    ));
    assert!(hint.contains("`deep_job` is in `/n/sub`"), "{hint}");
    // `then` too.
    let (code, _, _, msg, _) = one(&net(
        "      - name: j\n        judge: {file_exists: x}\n        then: [ghost]\n",
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("E0109", "unknown unit `ghost` in `then`")
    );
}

#[test]
fn forward_references_resolve() {
    let (p, d) = run(&net(
        "      - {name: b, type: noop, after: [a]}\n      - {name: a, type: noop}\n",
    ));
    assert!(d.items.is_empty());
    let n = p.units[p.roots[0]].as_net().unwrap();
    assert_eq!(n.edges.len(), 1);
    assert_eq!(p.units[n.edges[0].from].name, "a");
    assert_eq!((n.edges[0].span.line, n.edges[0].span.col), (5, 39));
}

#[test]
fn e0110_invalid_time() {
    let text = "version: 1\njobnets:\n  - name: r\n    schedule:\n      rules:\n        - {days: daily, at: [\"02:30\", \"48:00\"]}\n    units: []\n";
    let (code, line, col, msg, hint) = one(text);
    assert_eq!((code, line, col), ("E0110", 6, 39));
    assert_eq!(msg, "invalid time `48:00` for `at`");
    assert!(hint.contains("47:59"));
    let ok = text.replace("48:00", "47:59");
    assert!(errs(&ok).is_empty());
}

#[test]
fn e0111_invalid_date() {
    let (code, line, col, msg, hint) =
        one("version: 1\ncalendars:\n  - name: c\n    dates: [{date: 2027-02-29, closed: true}]\n");
    assert_eq!((code, line, col), ("E0111", 4, 20));
    assert_eq!(msg, "invalid date `2027-02-29` for `date`");
    assert_eq!(hint, "2027-02 has 28 days");
}

#[test]
fn e0112_out_of_range_values() {
    let (code, line, col, msg, _) = one(&net(
        "      - {name: a, type: noop, retry: {attempts: 0}}\n",
    ));
    assert_eq!((code, line, col), ("E0112", 5, 49));
    assert_eq!(msg, "retry attempts must be at least 1");
    let (code, _, _, msg, _) = one(&net(
        "      - {name: a, type: noop, cutoff: {minutes: -5}}\n",
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("E0112", "`minutes` must not be negative, found -5")
    );
    let (code, _, _, msg, hint) = one(&net("      - {name: a, type: noop, join: xor}\n"));
    assert_eq!((code, msg.as_str()), ("E0112", "unknown join `xor`"));
    assert_eq!(hint, "did you mean `or`?");
}

#[test]
fn e0113_warning_above_abnormal() {
    let (code, line, col, msg, _) = one(&net(
        "      - name: a\n        type: noop\n        end: {warning_above: 9, abnormal_above: 8}\n",
    ));
    assert_eq!((code, line, col), ("E0113", 7, 30));
    assert_eq!(msg, "warning threshold 9 is above the abnormal threshold 8");
}

#[test]
fn e0114_unit_kind() {
    let (code, line, col, msg, hint) = one(&net("      - {name: a, comment: hi}\n"));
    assert_eq!((code, line, col), ("E0114", 5, 16));
    assert_eq!(msg, "unit `a` has no kind");
    assert!(hint.contains("`type:`"));
    let (code, line, col, msg, _) =
        one(&net("      - {name: a, type: noop, wait: {minutes: 1}}\n"));
    assert_eq!((code, line, col), ("E0114", 5, 31));
    assert_eq!(msg, "unit `a` has both `type` and `wait`");
}

#[test]
fn e0115_exactly_one_option() {
    let text = "version: 1\njobnets:\n  - name: r\n    schedule:\n      rules:\n        - {days: daily, weekdays: [mon], at: \"01:00\"}\n    units: []\n";
    let (code, line, col, msg, _) = one(text);
    assert_eq!((code, line, col), ("E0115", 6, 25));
    assert_eq!(msg, "a schedule rule has both `days` and `weekdays`");
    let (code, _, _, msg, _) = one(&net(
        "      - {name: a, type: noop, end: {always: normal, file_exists: x}}\n",
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("E0115", "`end` has both `always` and `file_exists`")
    );
}

#[test]
fn e0116_key_not_allowed_here() {
    let (code, line, col, msg, hint) = one(&net(
        "      - name: s\n        params: {a: 1}\n        units: []\n",
    ));
    assert_eq!((code, line, col), ("E0116", 6, 9));
    assert_eq!(msg, "`params` is not allowed on nested jobnet `s`");
    assert!(hint.contains("only jobs"));
    let (code, _, _, msg, _) = one(&net(
        "      - {name: a, type: noop, schedule: {rules: []}}\n",
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("E0116", "`schedule` is not allowed on job `a`")
    );
    let (code, _, _, msg, _) = one("version: 1\njobnets:\n  - {name: r, after: [x], units: []}\n");
    assert_eq!(
        (code, msg.as_str()),
        ("E0116", "`after` is not allowed on jobnet `r`")
    );
}

#[test]
fn e0117_impossible_dependencies() {
    let (code, _, _, msg, hint) = one(&net(
        "      - name: j\n        judge: {file_exists: x}\n        then: [f]\n      - {name: f, type: noop, after: [j]}\n",
    ));
    assert_eq!(code, "E0117");
    assert_eq!(
        msg,
        "`f` is a dependent of judgment `j` and also lists it in `after`"
    );
    assert!(hint.contains("remove `j`"));
    let (code, _, _, msg, _) = one(&net("      - {name: a, type: noop, after: [a]}\n"));
    assert_eq!(
        (code, msg.as_str()),
        ("E0117", "unit `a` cannot depend on itself")
    );
    let (code, _, _, msg, _) = one(&net("      - {name: a, type: noop, recovery: true}\n"));
    assert_eq!(
        (code, msg.as_str()),
        ("E0117", "recovery unit `a` has no predecessor")
    );
    let (code, _, _, msg, _) = one(&net(
        "      - {name: a, type: noop}\n      - {name: b, type: noop, after: [a, a]}\n",
    ));
    assert_eq!(
        (code, msg.as_str()),
        ("E0117", "`a` is listed twice in `after`")
    );
}

#[test]
fn reports_every_error_of_a_file() {
    let text = net(concat!(
        "      - {name: a, type: noop, aftr: [b]}\n",
        "      - {name: b, type: noop, after: [zz]}\n",
        "      - {name: c, type: noop, end: {warning_above: 5, abnormal_above: 1}}\n",
        "      - {name: d, wait: {until: \"99:00\"}}\n",
        "      - {name: e}\n",
        "      - {name: f, type: noop, after: [e]}\n",
    ));
    let codes: Vec<_> = errs(&text).into_iter().map(|e| e.0).collect();
    // `f` refers to the broken `e` without a cascade error.
    assert_eq!(codes, vec!["E0105", "E0113", "E0110", "E0114", "E0109"]);
}

#[test]
fn schedule_rules_and_concurrency_report_every_error() {
    // A bad `on_closed_day` used to stop the rule before `repeat_minutes` and the dates
    // were read; a bad `multiple_launch` hid a bad `max_parallel_jobs`; lists stopped at
    // their first bad item.
    let text = concat!(
        "version: 1\njobnets:\n  - name: r\n    schedule:\n      rules:\n",
        "        - {days: daily, at: \"01:00\", on_closed_day: later, repeat_minutes: 0, valid_from: 2027-02-30}\n",
        "        - {weekdays: [mo, fri, tu], at: \"01:00\"}\n",
        "        - {days_of_month: [0, 15, 32], at: \"01:00\"}\n",
        "        - {dates: [2027-02-29, 2027-1-4], at: \"01:00\"}\n",
        "    concurrency: {multiple_launch: \"no\", max_parallel_jobs: 0}\n",
        "    units: []\n",
    );
    let e: Vec<_> = errs(text)
        .into_iter()
        .map(|(code, line, col, _, _)| (code, line, col))
        .collect();
    assert_eq!(
        e,
        vec![
            ("E0112", 6, 53),
            ("E0112", 6, 76),
            ("E0111", 6, 91),
            ("E0112", 7, 23),
            ("E0112", 7, 32),
            ("E0112", 8, 28),
            ("E0112", 8, 35),
            ("E0111", 9, 20),
            ("E0111", 9, 32),
            ("E0104", 10, 36),
            ("E0112", 10, 61),
        ]
    );
}

#[test]
fn edges_and_spans_follow_the_source() {
    let (p, d) = run(&net(concat!(
        "      - {name: a, type: noop}\n",
        "      - name: j\n",
        "        after: [a]\n",
        "        judge: {return_code: {op: \">=\", value: 4}}\n",
        "        then: [b]\n",
        "      - {name: b, type: lambda, params: {function: f, n: [1, 2.5, null, true]}}\n",
    )));
    assert!(d.items.is_empty(), "{:?}", d.items);
    let root = p.roots[0];
    let kids = p.children(root);
    assert_eq!(
        p.units[kids[1]].span,
        crate::diag::Span::new(crate::diag::FileId(0), 6, 15, 1)
    );
    let n = p.units[root].as_net().unwrap();
    let kinds: Vec<_> = n.edges.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EdgeKind::Normal, EdgeKind::Conditional]);
    let UnitKind::Job(job) = &p.units[kids[2]].kind else {
        panic!("job")
    };
    assert_eq!(
        serde_json::Value::Object(job.params.clone().into_iter().collect()),
        serde_json::json!({"function": "f", "n": [1, 2.5, null, true]})
    );
    assert_eq!(job.type_span.col, 25);
    assert_eq!(p.units[kids[2]].parent, Some(root));
}

#[test]
fn hostile_input_never_panics() {
    let inputs = [
        "\u{0}\u{1}\u{fffd}garbage: [}{",
        ":::\n- - -\n  ? ? ?\n",
        "version: 1\njobnets: 7\ncalendars: {a: 1}\n",
        "version: 1\njobnets:\n  - 1\n  - [a]\n  - {name: [x], units: {a: 1}}\n",
        "version: x\njobnets:\n  - name: r\n    schedule: 3\n    concurrency: []\n    start_conditions: {events: [1, {file_created: 2}]}\n    calendar: {}\n    units:\n      - {name: a, type: [x], params: 3, end: 1, retry: [], cutoff: x, after: {}, join: 1, hold: 2, start_delay: 1, end_delay: [], expected_minutes: \"x\"}\n      - {name: b, judge: {variable: {name: 1, op: 2, value: []}}, then: 3}\n      - {name: c, wait: 5, comment: []}\n      - {name: d, wait_for: {jobnet: \"//\"}}\n",
        "&a [*a]",
        "{? [a, b] : c}",
        "- &x {a: 1}\n- *x\n- *y\n",
        "version: 1\njobnets:\n  - name: r\n    schedule:\n      rules:\n        - {every: {n: 0, unit: years, from: 1}, at: 5, reckon: {open_days: 0}, valid_from: 2027-13-01}\n        - {nth_weekday: {weekday: fri, n: 9}, at: []}\n        - {}\n    units: []\n",
    ];
    for text in inputs {
        let (_, d) = run(text);
        assert!(d.has_errors(), "no error for {text:?}");
        assert!(d.items.iter().all(|d| d.span.is_some()));
    }
}

mod props {
    use super::run;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = run(&text);
        }

        #[test]
        fn yamlish_text_never_panics(text in "(version: 1\n|jobnets:\n|  - name: [a-z]{1,3}\n|    units:\n|      - \\{name: [a-z], type: noop, after: \\[[a-z]\\]\\}\n|[\\[\\]{}:,\\- &*!?|>'\"#\n a-z0-9]{0,8}){0,12}") {
            let _ = run(&text);
        }
    }
}

/// 23 jobnets, as roots or (`nested`) as the stages of one root, with errors whose hints
/// need the whole file.
fn many_nets(nested: bool) -> String {
    let (mut text, pad) = if nested {
        (
            String::from("version: 1\njobnets:\n  - name: big\n    units:\n"),
            "    ",
        )
    } else {
        (String::from("version: 1\njobnets:\n"), "")
    };
    for r in 0..23 {
        let mut net = format!("  - name: net{r}\n    units:\n");
        net.push_str("      - {name: first_step, type: noop}\n");
        net.push_str("      - name: inner\n        after: [first_step]\n        units:\n");
        net.push_str("          - {name: inner_one, type: noop}\n");
        net.push_str("          - {name: inner_two, type: noop, after: [inner_one]}\n");
        if r % 5 == 1 {
            // In another jobnet: the hint names where it is.
            net.push_str("          - {name: late_step, type: noop, after: [first_step]}\n");
        }
        if r % 7 == 2 {
            net.push_str("      - {name: first_step, type: noop}\n");
            net.push_str("      - {name: b, type: 7}\n");
        }
        net.push_str("      - {name: last_step, type: noop, after: [inner, first_step]}\n");
        if nested && r > 0 {
            net.push_str(&format!("    after: [net{}]\n", r - 1));
        }
        for line in net.lines() {
            text.push_str(&format!("{pad}{line}\n"));
        }
    }
    text
}

/// Many waiting `units:` lists (of many roots, or of one root's nested jobnets) are walked
/// on several threads; ids, units, edges and diagnostics (errors and their hints) must be
/// the serial walk's exactly.
#[test]
fn the_parallel_walk_equals_the_serial_one() {
    // And one long list, whose items are read on several threads.
    let mut long = String::from("version: 1\njobnets:\n  - name: long\n    units:\n");
    for i in 0..700 {
        long.push_str(&match i % 97 {
            3 => format!("      - {{name: j{}, type: noop}}\n", i - 1),
            5 => format!("      - {{name: j{i}, type: [x]}}\n"),
            7 => format!("      - {{name: j{i}, type: noop, after: [j{i}x, j0]}}\n"),
            _ => format!("      - {{name: j{i}, type: noop, after: [j0]}}\n"),
        });
    }
    long.push_str("      - {name: j0, type: noop}\n");
    for (nested, text) in [
        (Some(false), many_nets(false)),
        (Some(true), many_nets(true)),
        (None, long),
    ] {
        let walk = |threads: usize| {
            let mut project = Project::default();
            let file = project.sources.add("t.yaml", text.clone(), "utf-8");
            let mut diags = Diagnostics::default();
            load_on(&mut project, file, &mut diags, threads);
            (project, diags.items)
        };
        let (project, diags) = walk(1);
        let (units, diags) = (format!("{project:#?}"), format!("{diags:#?}"));
        match nested {
            Some(nested) => {
                assert_eq!(project.units.len(), usize::from(nested) + 23 * 6 + 5);
                assert!(diags.contains("`first_step` is in `/"), "{diags}");
            }
            None => {
                assert_eq!(project.units.len(), 1 + 700 - 2 * 8);
                assert!(diags.contains("unknown unit `j7x` in `after`"), "{diags}");
            }
        }
        assert!(diags.contains("E0108"), "{diags}");
        for threads in [2, 3, 8] {
            let (p, d) = walk(threads);
            assert!(
                format!("{p:#?}") == units,
                "units differ on {threads} threads"
            );
            assert!(
                format!("{d:#?}") == diags,
                "diagnostics differ on {threads} threads"
            );
        }
    }
}
