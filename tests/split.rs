//! Splitting large jobnets: every machine under every budget, semantics kept (the
//! structure property tests also run on split plans), and splits stable under edits.

use jobnet2sfn::back::asl::Role;
use jobnet2sfn::back::metrics::measure;
use jobnet2sfn::back::schedule::GATE_STATES;
use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::driver::{compile, load_text, CompileOptions, Compiled, InputFormat};
use jobnet2sfn::ir::Project;
use jobnet2sfn::passes::partition::Budgets;
use jobnet2sfn::synth::{spec, Shape};

fn compile_text(text: String, budgets: Budgets) -> Compiled {
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    load_text(
        &mut project,
        "big.yaml",
        text,
        InputFormat::Spec,
        &mut diags,
    );
    let opts = CompileOptions {
        budgets,
        ..CompileOptions::default()
    };
    compile(&project, &opts, &mut diags).unwrap_or_else(|| panic!("{:?}", diags.items))
}

/// With run records, a root machine may end only through its Succeed/Fail states (after
/// `jobnet.done` recorded the run's end): a split part or any other state ending the root
/// machine by itself would leave the run RUNNING.
fn assert_root_ends_through_done(c: &Compiled) {
    for out in &c.outputs {
        for m in out.machines.iter().filter(|m| m.role == Role::Root) {
            for (name, state) in m.definition()["States"].as_object().expect("states") {
                let terminal = matches!(state["Type"].as_str(), Some("Succeed" | "Fail"));
                // The schedule gate's start of the run ends the scheduled execution, which
                // is not a run.
                let gate = GATE_STATES.contains(&name.as_str());
                assert!(
                    terminal || gate || state.get("End").is_none(),
                    "{}: state {name} ends the root machine without recording the run's end",
                    m.name
                );
            }
        }
    }
}

fn assert_within(c: &Compiled, b: &Budgets) {
    assert_root_ends_through_done(c);
    for out in &c.outputs {
        for m in &out.machines {
            let x = measure(&m.definition());
            assert!(x.states <= b.states, "{}: {} states", m.name, x.states);
            assert!(
                x.definition_bytes <= b.definition_bytes,
                "{}: {} bytes",
                m.name,
                x.definition_bytes
            );
            assert!(
                x.history_events <= b.history_events,
                "{}: {} events",
                m.name,
                x.history_events
            );
            assert!(m.name.len() <= 80, "{}", m.name);
            assert!(m
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'));
        }
    }
}

#[test]
fn a_large_net_is_split_under_the_default_budgets() {
    let c = compile_text(spec("big", Shape::with_jobs(6_000)), Budgets::default());
    assert!(
        c.report.totals.machines > 1,
        "6,000 jobs cannot fit one machine"
    );
    assert_within(&c, &Budgets::default());
    let report = &c.files["report.md"];
    assert!(report.contains("| child |"), "{report}");
}

#[test]
fn tiny_budgets_force_many_splits_and_still_hold() {
    let b = Budgets {
        states: 60,
        definition_bytes: 40_000,
        history_events: 300,
    };
    let c = compile_text(spec("small", Shape::with_jobs(300)), b);
    assert!(c.report.totals.machines > 5);
    assert_within(&c, &b);
}

#[test]
fn editing_one_job_in_a_20000_job_net_changes_few_files() {
    let before = spec("stable", Shape::with_jobs(20_000));
    // Change one job's parameters in the middle of the net.
    let after = before.replacen(
        "payload: {step: 10007}",
        "payload: {step: 10007, mode: full}",
        1,
    );
    assert_ne!(before, after);
    // The two compiles are independent: run them side by side.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| compile_text(before, Budgets::default()));
        let b = compile_text(after, Budgets::default());
        (a.join().expect("compile thread"), b)
    });
    let machines = a
        .files
        .keys()
        .filter(|k| k.starts_with("statemachines/"))
        .count();
    let changed: Vec<&String> = a
        .files
        .iter()
        .filter(|(k, v)| k.starts_with("statemachines/") && b.files.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    let added = b.files.keys().filter(|k| !a.files.contains_key(*k)).count();
    eprintln!(
        "{machines} machines; changed {}: {changed:?}; added {added}",
        changed.len()
    );
    assert!(machines > 10);
    assert!(
        changed.len() <= 2,
        "one-job edit changed {} machine files: {changed:?}",
        changed.len()
    );
    assert_eq!(added, 0);
}

/// Compiling into a directory writes each split-off part as soon as it is built and drops
/// it from memory: the files must be exactly those of the in-memory compile, under the
/// default `auto` definitions (released parts force S3 in the template) and `inline`.
#[test]
fn parts_written_while_compiling_equal_the_in_memory_compile() {
    use jobnet2sfn::back::cfn::Definitions;
    use jobnet2sfn::driver::{compile_into, Sink};
    use jobnet2sfn::output::Output;
    let text = spec("streamed", Shape::with_jobs(300));
    for definitions in [Definitions::Auto, Definitions::Inline, Definitions::S3] {
        let mut project = Project::default();
        let mut diags = Diagnostics::default();
        load_text(
            &mut project,
            "big.yaml",
            text.clone(),
            InputFormat::Spec,
            &mut diags,
        );
        let mut opts = CompileOptions {
            budgets: Budgets {
                states: 60,
                definition_bytes: 40_000,
                history_events: 300,
            },
            calendar_years: Some(2027..=2027),
            ..CompileOptions::default()
        };
        opts.cfn.definitions = definitions;
        let kept = compile(&project, &opts, &mut diags).expect("compiles");
        let dir = std::env::temp_dir().join(format!(
            "jobnet2sfn-split-streamed-{}-{definitions:?}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let out = Output::create(&dir);
        let (written, ok) =
            compile_into(&project, &[], &opts, &mut diags, Sink::Write(&out)).expect("compiles");
        ok.expect("written");
        out.commit().expect("commit");
        assert!(kept.report.totals.machines > 5);
        assert!(
            written
                .outputs
                .iter()
                .flat_map(|o| &o.machines)
                .any(|m| m.role == Role::Child && m.text().is_none())
                == (definitions != Definitions::Inline),
            "parts are released unless inlined"
        );
        for (rel, content) in &kept.files {
            let on_disk = std::fs::read_to_string(dir.join(rel)).expect("written");
            assert_eq!(&on_disk, &**content, "{rel} ({definitions:?})");
        }
        let count = std::fs::read_dir(dir.join("statemachines"))
            .expect("dir")
            .count();
        assert_eq!(
            count,
            kept.files
                .keys()
                .filter(|k| k.starts_with("statemachines/"))
                .count()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_scheduled_root_stays_under_its_budget_with_the_business_day_gate() {
    // The gate (seven states) goes in front of a scheduled root machine; the split must
    // count it, or a root fitted just under a budget ends up over it.
    let text = spec("gated", Shape::with_jobs(12)).replacen(
        "    units:\n",
        "    schedule:\n      rules:\n        - days: daily\n          at: [\"01:00\"]\n    units:\n",
        1,
    );
    assert!(text.contains("schedule:"));
    for states in 60..=130 {
        let budgets = Budgets {
            states,
            ..Budgets::default()
        };
        let c = compile_text(text.clone(), budgets);
        let root = c.outputs[0]
            .machines
            .iter()
            .find(|m| m.role == Role::Root)
            .expect("root");
        assert!(
            root.definition()["States"]
                .as_object()
                .is_some_and(|s| s.contains_key("ScheduledStart")),
            "the root is gated"
        );
        assert_within(&c, &budgets);
    }
}

#[test]
fn an_event_wait_in_a_split_off_part_still_reads_the_item_its_rule_writes() {
    // A wait beside the stages of a net too large for one machine lands in a child; its
    // key must be the one the rule hands the recorder, whichever machine holds it.
    let text = spec("evsplit", Shape::with_jobs(200)).replacen(
        "    units:\n",
        "    units:\n      - name: ack\n        wait: {event: {id: \"7FFF8002\"}}\n        cutoff: {minutes: 30}\n",
        1,
    );
    let b = Budgets {
        states: 120,
        definition_bytes: 60_000,
        history_events: 2_000,
    };
    let c = compile_text(text, b);
    assert_within(&c, &b);
    let out = &c.outputs[0];
    assert!(
        out.machines
            .iter()
            .filter(|m| m.role == Role::Child)
            .count()
            > 1
    );
    let holders: Vec<&str> = out
        .machines
        .iter()
        .filter(|m| {
            m.text()
                .is_some_and(|t| t.contains("\"S\": \"event#evsplit#ack\""))
        })
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(holders.len(), 1, "one machine waits: {holders:?}");
    let holder = out.machines.iter().find(|m| m.name == holders[0]);
    assert_eq!(holder.map(|m| m.role), Some(Role::Child), "{holders:?}");
    assert_eq!(
        out.machines
            .iter()
            .filter(|m| m.role == Role::Recorder)
            .count(),
        1
    );
    let template = &c.files["template.yaml"];
    assert!(
        template
            .contains(r#"InputTemplate: "{\"key\":\"event#evsplit#ack\",\"time\":\"<time>\"}""#),
        "the rule writes the item the wait reads"
    );
}
