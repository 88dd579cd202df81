//! Semantics of the generated ASL, checked by an independent simulator
//! (tests/support/sim.rs) on random jobnets: hundreds of jobs, random AND/OR joins, nested
//! jobnets, failing jobs, and random durations. For every job the simulated start time
//! must equal the time its source predecessors allow (latest end for AND, first normal
//! end for OR): a false dependency would start it later, a missing one earlier. Every job
//! runs at most once, exactly the jobs without a failed ancestor run, and the run fails
//! exactly when a job failed. The same holds with tiny budgets that force many splits.

#[path = "support/asl_rules.rs"]
mod asl_rules;
#[path = "support/sim.rs"]
mod sim;

use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::driver::{compile, load_text, CompileOptions, InputFormat};
use jobnet2sfn::ir::Project;
use jobnet2sfn::passes::partition::Budgets;
use proptest::prelude::*;
use sim::{JobBehaviour, Sim};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// A unit of a generated net: a job, or a nested net with its own units.
#[derive(Debug, Clone)]
enum Node {
    Job { duration: u64, fails: bool },
    Net(Vec<Entry>),
}

#[derive(Debug, Clone)]
struct Entry {
    node: Node,
    /// Indices of earlier siblings this one runs after.
    preds: Vec<usize>,
    or: bool,
    /// Delay monitors: start delay after the run's start, end delay after its own start.
    start_delay: bool,
    end_delay: bool,
}

/// Per monitored unit and kind (end = true): when its monitor was armed and stopped.
type Monitors = BTreeMap<(String, bool), (Option<u64>, Option<u64>)>;

fn entries(depth: u32, max: usize) -> BoxedStrategy<Vec<Entry>> {
    let node = if depth == 0 {
        (1u64..20, prop::bool::weighted(0.04))
            .prop_map(|(duration, fails)| Node::Job { duration, fails })
            .boxed()
    } else {
        prop_oneof![
            8 => (1u64..20, prop::bool::weighted(0.04)).prop_map(|(duration, fails)| Node::Job { duration, fails }),
            1 => entries(depth - 1, 12).prop_map(Node::Net),
        ]
        .boxed()
    };
    prop::collection::vec(
        (
            node,
            prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            prop::bool::weighted(0.15),
            (prop::bool::weighted(0.05), prop::bool::weighted(0.05)),
        ),
        1..max,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (node, picks, or, (start_delay, end_delay)))| {
                let mut preds: Vec<usize> = if i == 0 {
                    Vec::new()
                } else {
                    picks.iter().map(|p| p.index(i)).collect()
                };
                preds.sort();
                preds.dedup();
                let or = or && preds.len() > 1;
                Entry {
                    node,
                    preds,
                    or,
                    start_delay,
                    end_delay,
                }
            })
            .collect()
    })
    .boxed()
}

fn write_units(out: &mut String, units: &[Entry], prefix: &str, indent: usize) {
    let pad = " ".repeat(indent);
    for (i, e) in units.iter().enumerate() {
        let name = format!("{prefix}u{i}");
        out.push_str(&format!("{pad}- name: {name}\n"));
        if !e.preds.is_empty() {
            let p: Vec<String> = e.preds.iter().map(|p| format!("{prefix}u{p}")).collect();
            out.push_str(&format!("{pad}  after: [{}]\n", p.join(", ")));
            if e.or {
                out.push_str(&format!("{pad}  join: or\n"));
            }
        }
        if e.start_delay {
            out.push_str(&format!("{pad}  start_delay: {{after_root_start: 1000}}\n"));
        }
        if e.end_delay {
            out.push_str(&format!("{pad}  end_delay: {{after_own_start: 1000}}\n"));
        }
        match &e.node {
            Node::Job { .. } => out.push_str(&format!("{pad}  type: simjob\n")),
            Node::Net(inner) => {
                out.push_str(&format!("{pad}  units:\n"));
                write_units(out, inner, &format!("{name}_"), indent + 4);
            }
        }
    }
}

/// Expected behaviour of a net started at `start`: records each job's start and each
/// monitor's arm and stop times, returns the net's end time and whether every unit in it
/// ended normally.
#[allow(clippy::too_many_arguments)]
fn expect(
    units: &[Entry],
    path: &str,
    prefix: &str,
    start: u64,
    runs: &mut BTreeMap<String, u64>,
    jobs: &mut HashMap<String, JobBehaviour>,
    any_failed: &mut bool,
    monitors: &mut Monitors,
) -> (u64, bool) {
    let mut ends: Vec<Option<u64>> = vec![None; units.len()];
    let mut net_ok = true;
    let mut net_end = start;
    for (i, e) in units.iter().enumerate() {
        let name = format!("{prefix}u{i}");
        let upath = format!("{path}/{name}");
        let ok_preds: Vec<u64> = e.preds.iter().filter_map(|&p| ends[p]).collect();
        let runs_now = if e.preds.is_empty() {
            Some(start)
        } else if e.or {
            ok_preds.iter().min().copied()
        } else if ok_preds.len() == e.preds.len() {
            ok_preds.iter().max().copied()
        } else {
            None
        };
        // Register every job's behaviour, run or not.
        register(&e.node, &upath, &name, jobs);
        if e.start_delay {
            // Armed when the run starts; stopped when the unit starts, if it does.
            monitors.insert((upath.clone(), false), (Some(0), runs_now));
        }
        let Some(s) = runs_now else {
            net_ok = false;
            if let Node::Net(inner) = &e.node {
                never_started(inner, &upath, &format!("{name}_"), monitors);
            }
            continue;
        };
        let unit_end;
        match &e.node {
            Node::Job { duration, fails } => {
                runs.insert(upath.clone(), s);
                if *fails {
                    *any_failed = true;
                    net_ok = false;
                } else {
                    ends[i] = Some(s + duration);
                }
                net_end = net_end.max(s + duration);
                unit_end = s + duration;
            }
            Node::Net(inner) => {
                let (end, ok) = expect(
                    inner,
                    &upath,
                    &format!("{name}_"),
                    s,
                    runs,
                    jobs,
                    any_failed,
                    monitors,
                );
                net_end = net_end.max(end);
                if ok {
                    ends[i] = Some(end);
                } else {
                    net_ok = false;
                }
                unit_end = end;
            }
        }
        if e.end_delay {
            monitors.insert((upath.clone(), true), (Some(s), Some(unit_end)));
        }
    }
    (net_end, net_ok)
}

/// Start monitors of units in a net that never starts are armed and never stopped.
fn never_started(units: &[Entry], path: &str, prefix: &str, monitors: &mut Monitors) {
    for (i, e) in units.iter().enumerate() {
        let name = format!("{prefix}u{i}");
        let upath = format!("{path}/{name}");
        if e.start_delay {
            monitors.insert((upath.clone(), false), (Some(0), None));
        }
        if let Node::Net(inner) = &e.node {
            never_started(inner, &upath, &format!("{name}_"), monitors);
        }
    }
}

fn register(node: &Node, upath: &str, name: &str, jobs: &mut HashMap<String, JobBehaviour>) {
    match node {
        Node::Job { duration, fails } => {
            jobs.insert(
                upath.to_string(),
                JobBehaviour {
                    duration: *duration,
                    fails: *fails,
                },
            );
        }
        Node::Net(inner) => {
            for (i, e) in inner.iter().enumerate() {
                let n = format!("{name}_u{i}");
                register(&e.node, &format!("{upath}/{n}"), &n, jobs);
            }
        }
    }
}

fn check(units: &[Entry], budgets: Budgets) {
    let mut spec = String::from("version: 1\njobnets:\n  - name: r\n    units:\n");
    write_units(&mut spec, units, "", 6);
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    load_text(
        &mut project,
        "r.yaml",
        spec.clone(),
        InputFormat::Spec,
        &mut diags,
    );
    let opts = CompileOptions {
        templates: Some(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sim-templates"),
        ),
        budgets,
        ..CompileOptions::default()
    };
    let compiled =
        compile(&project, &opts, &mut diags).unwrap_or_else(|| panic!("{spec}\n{:?}", diags.items));
    let out = &compiled.outputs[0];

    let mut expected = BTreeMap::new();
    let mut jobs = HashMap::new();
    let mut any_failed = false;
    let mut expected_monitors = Monitors::new();
    expect(
        units,
        "/r",
        "",
        0,
        &mut expected,
        &mut jobs,
        &mut any_failed,
        &mut expected_monitors,
    );

    let definitions: Vec<_> = out.machines.iter().map(|m| m.definition()).collect();
    let machines: Vec<(String, &serde_json::Value)> = out
        .machines
        .iter()
        .zip(&definitions)
        .map(|(m, d)| (m.name.clone(), d))
        .collect();
    for (name, definition) in &machines {
        asl_rules::assert_wildcard_last(name, definition);
    }
    let outcome = Sim::new(machines, &jobs).run(&out.machines[0].name, &out.machine_refs);

    let mut seen = BTreeMap::new();
    for r in &outcome.runs {
        assert!(
            seen.insert(r.unit.clone(), r.start).is_none(),
            "{} ran twice\n{spec}",
            r.unit
        );
    }
    assert_eq!(seen, expected, "jobs run and their start times\n{spec}");

    // Monitor executions are named `{runId}-m-{key}`; the mapping names each unit's
    // `monitor.{key}.arm|off` states.
    let mut key_of = BTreeMap::new();
    for (unit, states) in &compiled.report.jobnets[0].mapping {
        for st in states {
            if let Some(key) = st
                .strip_prefix("monitor.")
                .and_then(|k| k.rsplit_once('.'))
                .map(|(k, _)| k)
            {
                key_of.insert(
                    format!("run-1-m-{key}"),
                    (unit.clone(), key.ends_with("-e")),
                );
            }
        }
    }
    let mut monitors = Monitors::new();
    for m in &outcome.monitors {
        let at = key_of
            .get(&m.name)
            .unwrap_or_else(|| panic!("monitor execution {} of no unit\n{spec}", m.name));
        let slot = monitors.entry(at.clone()).or_default();
        let field = if m.stop { &mut slot.1 } else { &mut slot.0 };
        assert!(
            field.is_none(),
            "monitor {} {} twice\n{spec}",
            m.name,
            if m.stop { "stopped" } else { "armed" }
        );
        *field = Some(m.time);
        if !m.stop {
            assert_eq!(m.seconds, Some(60_000), "monitor deadline\n{spec}");
        }
    }
    assert_eq!(
        monitors, expected_monitors,
        "monitors armed and stopped\n{spec}"
    );
    assert_eq!(outcome.succeeded, !any_failed, "final status\n{spec}");
    // The run record ends with the run, however the root machine's last part is built.
    let recorded = if any_failed {
        "ENDED_ABNORMALLY"
    } else {
        "ENDED_NORMALLY"
    };
    assert_eq!(
        outcome.run_status.as_deref(),
        Some(recorded),
        "run record at the end\n{spec}"
    );
    assert_eq!(
        outcome.alerts,
        usize::from(any_failed),
        "one alert per abnormal run\n{spec}"
    );
    for e in &outcome.executions {
        assert!(
            e.len() <= 80
                && e.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "execution name {e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_machines_keep_the_semantics(units in entries(2, 120)) {
        check(&units, Budgets::default());
    }

    #[test]
    fn split_machines_keep_the_semantics(units in entries(2, 60)) {
        check(&units, Budgets { states: 120, definition_bytes: 80_000, history_events: 800 });
    }
}

#[test]
fn hundreds_of_jobs() {
    // A fixed large case, so every run covers a net of several hundred jobs.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let units = entries(1, 400)
        .new_tree(&mut runner)
        .expect("tree")
        .current();
    check(&units, Budgets::default());
}
