//! Golden files: every bundled example compiles to exactly the committed output (ASL,
//! template, manifest, reports, source graph). Review changes with `cargo insta review`,
//! or accept them with `INSTA_UPDATE=always cargo test --test golden`.

use jobnet2sfn::back::graph::{self, GraphFormat};
use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::driver::{
    compile, compile_with, load_all, load_text, CompileOptions, InputFormat, LoadOptions,
};
use jobnet2sfn::ir::Project;
use std::path::Path;

#[path = "support/asl_rules.rs"]
mod asl_rules;

fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no examples found");
    names
}

#[test]
fn every_example_matches_its_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in examples() {
        let rel = format!("examples/{file}");
        let text = std::fs::read_to_string(root.join(&rel)).expect("readable");
        let mut project = Project::default();
        let mut diags = Diagnostics::default();
        load_text(&mut project, &rel, text, InputFormat::Auto, &mut diags);
        let opts = CompileOptions {
            calendar_years: Some(2027..=2027),
            ..CompileOptions::default()
        };
        let compiled = compile(&project, &opts, &mut diags)
            .unwrap_or_else(|| panic!("{rel} does not compile: {:?}", diags.items));
        assert_runs_end_through_done(&compiled);
        assert_wildcards_last(&compiled);
        let stem = file.trim_end_matches(".yaml");
        for (path, content) in &compiled.files {
            let name = format!("{stem}__{}", path.replace(['/', '.'], "_"));
            insta::assert_snapshot!(name, content);
        }
        for out in &compiled.outputs {
            let g = graph::source(&project, out.root, GraphFormat::Mermaid);
            insta::assert_snapshot!(format!("{stem}__graph_{}_mmd", out.machine_base), g);
        }
    }
}

/// Every machine, whatever its role, keeps the rules AWS checks on creation.
fn assert_wildcards_last(c: &jobnet2sfn::driver::Compiled) {
    for m in c.outputs.iter().flat_map(|out| &out.machines) {
        asl_rules::assert_wildcard_last(&m.name, &m.definition());
    }
}

/// With run records, a root machine ends only in its Succeed/Fail states, after
/// `jobnet.done` or the failure handler recorded the run's end. The schedule gate's
/// `StartRun` ends a scheduling execution that is not itself a run.
fn assert_runs_end_through_done(c: &jobnet2sfn::driver::Compiled) {
    for out in &c.outputs {
        for m in out
            .machines
            .iter()
            .filter(|m| m.role == jobnet2sfn::back::asl::Role::Root)
        {
            let definition = m.definition();
            let states = definition["States"].as_object().expect("states");
            if !states.contains_key("run.kind") {
                continue;
            }
            for (name, state) in states {
                let terminal = matches!(state["Type"].as_str(), Some("Succeed" | "Fail"));
                assert!(
                    terminal || name == "StartRun" || state.get("End").is_none(),
                    "{}: state {name} ends the root machine without recording the run's end",
                    m.name
                );
            }
        }
    }
}

/// Every JP1 corpus file compiles to its committed output (the large file: report only).
#[test]
fn jp1_corpus_matches_its_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/fixtures/jp1");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for file in files {
        let rel = std::path::PathBuf::from(format!("tests/fixtures/jp1/{file}"));
        let mut diags = Diagnostics::default();
        // Cargo runs integration tests from the package root, so the relative path (which
        // the report records) resolves.
        let loaded = load_all(
            std::slice::from_ref(&rel),
            &LoadOptions::default(),
            &mut diags,
        );
        let opts = CompileOptions {
            calendar_years: Some(2027..=2027),
            ..CompileOptions::default()
        };
        let compiled = compile_with(&loaded.project, &loaded.jp1, &opts, &mut diags)
            .unwrap_or_else(|| panic!("{file} does not compile: {:?}", diags.items));
        assert_runs_end_through_done(&compiled);
        assert_wildcards_last(&compiled);
        let stem = file.replace('.', "_");
        for (path, content) in &compiled.files {
            if file.starts_with("02_") && path != "report.md" {
                continue;
            }
            let name = format!("jp1_{stem}__{}", path.replace(['/', '.'], "_"));
            insta::assert_snapshot!(name, content);
        }
    }
}

/// The nested stacks of a template over the stack limit (forced low here): the parent and
/// every child template.
#[test]
fn nested_stacks_match_their_golden_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = "examples/scheduled_with_calendar.yaml";
    let text = std::fs::read_to_string(root.join(rel)).expect("readable");
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    load_text(&mut project, rel, text, InputFormat::Auto, &mut diags);
    let mut opts = CompileOptions {
        calendar_years: Some(2027..=2027),
        ..CompileOptions::default()
    };
    opts.cfn.max_stack_resources = 16;
    let compiled = compile(&project, &opts, &mut diags)
        .unwrap_or_else(|| panic!("{rel} does not compile: {:?}", diags.items));
    assert!(
        !diags.items.iter().any(|d| d.code == "W0010"),
        "{:?}",
        diags.items
    );
    let mut stacks = 0;
    for (path, content) in &compiled.files {
        if path == "template.yaml" || path.starts_with("stacks/") {
            stacks += usize::from(path.starts_with("stacks/"));
            let name = format!("nested__{}", path.replace(['/', '.'], "_"));
            insta::assert_snapshot!(name, content);
        }
    }
    assert!(stacks > 1);
}
