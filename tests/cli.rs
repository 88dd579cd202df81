//! The command line as users and CI see it: exit codes, diagnostics, JSON output, files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jobnet2sfn"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("jobnet2sfn-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside").display().to_string();
                out.push((rel, std::fs::read(&p).expect("file")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn compiles_an_example_and_writes_every_artifact() {
    let out = tmp("daily");
    let o = run(&[
        "compile",
        "examples/daily_batch.yaml",
        "-o",
        out.to_str().unwrap(),
        "--allow-partial",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in [
        "statemachines/daily_sales.asl.json",
        "template.yaml",
        "manifest.json",
        "report.md",
        "report.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let asl: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("statemachines/daily_sales.asl.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(asl["StartAt"], "jobnet.start");
    assert!(stdout(&o).contains("compiled 1 jobnet(s)"));
}

#[test]
fn output_is_byte_identical_across_runs() {
    let (a, b) = (tmp("det-a"), tmp("det-b"));
    for d in [&a, &b] {
        let o = run(&[
            "compile",
            "examples/non_series_parallel.yaml",
            "examples/japanese_names.yaml",
            "-o",
            d.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    assert_eq!(read_all(&a), read_all(&b));
}

/// Files are staged and moved into place only when the whole compile succeeds: a compile
/// that fails after some jobnets were written leaves the previous output as it was.
#[test]
fn a_failed_compile_leaves_the_previous_output_as_it_was() {
    let d = tmp("keep");
    let dir = d.to_str().unwrap();
    let ok = run(&[
        "compile",
        "examples/or_join.yaml",
        "examples/japanese_names.yaml",
        "-o",
        dir,
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let before = read_all(&d);
    // Under 15 states per machine, the first jobnet compiles (and is staged) and the
    // second cannot be split.
    let o = run(&[
        "compile",
        "examples/or_join.yaml",
        "examples/japanese_names.yaml",
        "-o",
        dir,
        "--max-states",
        "15",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot split"), "{}", stderr(&o));
    assert_eq!(read_all(&d), before);
    // A rerun that drops a jobnet removes its definitions, and only those.
    let o = run(&["compile", "examples/or_join.yaml", "-o", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let after = read_all(&d);
    assert!(after.iter().all(|(f, _)| !f.contains("staging")));
    let machines = |v: &[(String, Vec<u8>)]| -> Vec<String> {
        v.iter()
            .filter(|(f, _)| f.starts_with("statemachines"))
            .map(|(f, _)| f.clone())
            .collect()
    };
    let kept: Vec<String> = machines(&before)
        .into_iter()
        .filter(|f| !f.contains("Ri_Ci_batuti"))
        .collect();
    assert!(machines(&after).len() < machines(&before).len());
    assert_eq!(machines(&after), kept);
}

#[test]
fn a_compile_into_a_directory_another_compile_holds_exits_2() {
    let d = tmp("locked");
    let dir = d.to_str().unwrap();
    let ok = run(&["compile", "examples/or_join.yaml", "-o", dir]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        !d.join(".jobnet2sfn-lock").exists(),
        "no lock file left behind"
    );
    let before = read_all(&d);
    // Another compile (here: this test) holds the directory's lock.
    let held = std::fs::File::create(d.join(".jobnet2sfn-lock")).unwrap();
    held.lock().unwrap();
    let o = run(&["compile", "examples/japanese_names.yaml", "-o", dir]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another jobnet2sfn compile is writing into"),
        "{}",
        stderr(&o)
    );
    let mut now = read_all(&d);
    now.retain(|(f, _)| f != ".jobnet2sfn-lock");
    assert_eq!(now, before, "the holder's directory is untouched");
    drop(held);
    let o = run(&["compile", "examples/japanese_names.yaml", "-o", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn not_yet_compiled_items_exit_3_unless_allowed() {
    let out = tmp("partial");
    std::fs::create_dir_all(&out).unwrap();
    // An end judgment by a file's modification is not compiled yet.
    let spec = out.join("partial.yaml");
    std::fs::write(
        &spec,
        "version: 1\njobnets:\n  - name: p\n    units:\n      - {name: k, type: noop, end: {file_modified: 's3://b/x'}}\n",
    )
    .unwrap();
    let out = out.join("out");
    let args = [
        "compile",
        spec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let o = run(&args);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("--allow-partial"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("not yet compiled"), "{report}");
    let o = run(&[&args[..], &["--allow-partial"]].concat());
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn reports_every_error_with_position_and_hint() {
    let o = run(&[
        "check",
        "tests/fixtures/spec/many_errors.yaml",
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    // unknown reference, cycle, unknown job type (with suggestion), bad time: all in one run.
    assert!(
        err.contains("tests/fixtures/spec/many_errors.yaml:"),
        "{err}"
    );
    assert!(err.contains("missing"), "{err}");
    assert!(err.contains("48:00"), "{err}");
    let errors: usize = err
        .lines()
        .find_map(|l| l.strip_suffix(" error(s)"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(errors >= 3, "expected several errors:\n{err}");
    assert!(!err.contains("\x1b["), "no colour when not asked");
}

#[test]
fn a_cycle_is_printed_in_full() {
    let o = run(&["check", "tests/fixtures/spec/cycle.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for u in ["extract", "transform", "load"] {
        assert!(err.contains(u), "{err}");
    }
    assert!(err.contains("E0202"), "{err}");
    // A compile reports the same and creates no output directory.
    let d = tmp("cycle-out");
    let o = run(&[
        "compile",
        "tests/fixtures/spec/cycle.yaml",
        "-o",
        d.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("E0202"), "{}", stderr(&o));
    assert!(!d.exists(), "no output directory for a failed compile");
}

#[test]
fn json_format_is_machine_readable() {
    let o = run(&[
        "check",
        "tests/fixtures/spec/cycle.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert_eq!(v["exit_code"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert!(d["file"].as_str().unwrap().ends_with("cycle.yaml"));
    assert!(d["line"].as_u64().unwrap() >= 1);

    let out = tmp("json");
    let o = run(&[
        "compile",
        "examples/or_join.yaml",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
        "--allow-partial",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert_eq!(v["report"]["jobnets"][0]["name"], "master_import");
    assert_eq!(v["report"]["jobnets"][0]["exact_joins"][0]["kind"], "or");
}

#[test]
fn bad_files_get_clear_errors_not_panics() {
    for (file, code) in [
        ("tests/fixtures/spec/latin1.yaml", "E0003"),
        ("tests/fixtures/spec/garbage.bin", "E0003"),
        ("tests/fixtures/spec/does-not-exist.yaml", "E0001"),
        ("tests/fixtures/spec", "E0001"),
    ] {
        let o = run(&["check", file]);
        assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(code), "{file}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{file}");
    }
    let o = run(&[
        "check",
        "examples/daily_batch.yaml",
        "--max-input-bytes",
        "100",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("E0002"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["compile"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Exit codes"));
}

#[test]
fn user_templates_add_job_types_without_recompiling() {
    let o = run(&["check", "tests/fixtures/spec/custom_type.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown job type `sftp`"),
        "{}",
        stderr(&o)
    );
    let out = tmp("custom");
    let o = run(&[
        "compile",
        "tests/fixtures/spec/custom_type.yaml",
        "--templates",
        "tests/fixtures/spec/templates",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let asl = std::fs::read_to_string(out.join("statemachines/custom.asl.json")).unwrap();
    assert!(asl.contains("files.example.jp"), "{asl}");
    let tpl = std::fs::read_to_string(out.join("template.yaml")).unwrap();
    assert!(tpl.contains("SftpFunctionArn"), "{tpl}");
}

#[test]
fn graphs_in_mermaid_and_dot() {
    let o = run(&["graph", "examples/or_join.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("flowchart TD"));
    assert!(stdout(&o).contains("(OR)"));
    let o = run(&[
        "graph",
        "examples/or_join.yaml",
        "--syntax",
        "dot",
        "--view",
        "generated",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("digraph"));
    let o = run(&["graph", "examples/non_series_parallel.yaml"]);
    assert_eq!(o.status.code(), Some(2), "two jobnets need --jobnet or -o");
    let out = tmp("graphs");
    let o = run(&[
        "graph",
        "examples/non_series_parallel.yaml",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out.join("n_shape.source.mmd").is_file());
    assert!(out.join("n_shape-cont.generated.mmd").is_file());
}

#[test]
fn jp1_files_compile_directly_in_either_encoding() {
    let (a, b) = (tmp("jp1-utf8"), tmp("jp1-cp932"));
    for (file, out) in [
        ("tests/fixtures/jp1/01_kittybbit_sample1_original.txt", &a),
        (
            "tests/fixtures/jp1/01_kittybbit_sample1_original.cp932.ajs",
            &b,
        ),
    ] {
        let o = run(&[
            "compile",
            file,
            "-o",
            out.to_str().unwrap(),
            "--allow-partial",
        ]);
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr(&o));
    }
    // Same machines from the CP932 copy as from its UTF-8 twin.
    let machines = |d: &Path| {
        read_all(&d.join("statemachines"))
            .into_iter()
            .map(|(n, c)| (n, String::from_utf8(c).unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(machines(&a), machines(&b));
    let report = std::fs::read_to_string(a.join("report.md")).unwrap();
    assert!(report.contains("Coverage: **"), "{report}");
    // Unit paths appear in state comments.
    let any = &machines(&a)[0].1;
    assert!(any.contains("\"Comment\": \"/"), "{any}");
}

#[test]
fn jp1_import_writes_specs_that_compile() {
    let out = tmp("import");
    let o = run(&[
        "import",
        "jp1",
        "tests/fixtures/jp1/03_kittybbit_ref_schedule.txt",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join("jp1-coverage.md").is_file());
    let specs: Vec<String> = read_all(&out)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert!(!specs.is_empty());
    let inputs: Vec<String> = specs
        .iter()
        .map(|s| out.join(s).display().to_string())
        .collect();
    let mut args = vec!["check", "--allow-partial"];
    args.extend(inputs.iter().map(String::as_str));
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn plan_prints_a_forecast() {
    let o = run(&[
        "plan",
        "examples/scheduled_with_calendar.yaml",
        "--from",
        "2027-04-28",
        "--to",
        "2027-05-06",
        "--jobnet",
        "daily_billing",
        "--output",
        "csv",
        "--skipped",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    // 2027-04-29 (Showa Day) is a holiday: skipped, with its reason.
    assert!(
        out.lines()
            .any(|l| l.starts_with("2027-04-29") && l.contains("skipped")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("2027-04-28") && l.contains("run")),
        "{out}"
    );
}

#[test]
fn registration_date_starts_jp1_rules_written_en() {
    let dir = tmp("registration");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("en.ajs");
    std::fs::write(
        &file,
        "unit=g,,,;{ty=g;unit=n,,,;{ty=n;sd=1,en;cy=1,(1,m);st=1,09:00;unit=a,,,;{ty=j;te=\"a\";}}}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            file,
            "--from",
            "2027-04-01",
            "--to",
            "2027-06-30",
            "--output",
            "csv",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Without the date the rule is not converted: nothing to forecast, and `check` says why.
    let o = plan(&[]);
    assert!(!stdout(&o).contains("2027-"), "{}", stdout(&o));
    let o = run(&["check", file, "--format", "json"]);
    assert!(stdout(&o).contains("--registration-date"), "{}", stdout(&o));
    // With it, the rule runs on that day of every month from that date on.
    let o = plan(&["--registration-date", "2027-04-05"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let days: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("2027-"))
        .map(|l| &l[..10])
        .collect();
    assert_eq!(days, ["2027-04-05", "2027-05-05", "2027-06-05"], "{out}");
    let o = run(&["check", file, "--registration-date", "2027-13-01"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn deep_nesting_and_huge_files_get_errors_not_panics() {
    let dir = tmp("bad-big");
    std::fs::create_dir_all(&dir).unwrap();
    // 1,000 nested jobnets.
    let mut deep = String::from("version: 1\njobnets:\n  - name: n0\n    units:\n");
    for i in 1..1000 {
        let pad = " ".repeat(6 + (i - 1) * 4);
        deep.push_str(&format!("{pad}- name: n{i}\n{pad}  units:\n"));
    }
    let pad = " ".repeat(6 + 999 * 4);
    deep.push_str(&format!("{pad}- {{name: leaf, type: noop}}\n"));
    let deep_file = dir.join("deep.yaml");
    std::fs::write(&deep_file, deep).unwrap();
    let o = run(&["check", deep_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    assert!(stderr(&o).contains("E01"), "{}", stderr(&o));

    // 50 MB: one valid spec followed by garbage, and 50 MB of binary noise.
    let mut big =
        String::from("version: 1\njobnets:\n  - name: x\n    units: [{name: a, type: noop}]\n");
    let line = "garbage: [unclosed, {still: open\n";
    while big.len() < 50 * 1024 * 1024 {
        big.push_str(line);
    }
    let big_file = dir.join("big.yaml");
    std::fs::write(&big_file, big).unwrap();
    let o = run(&["check", big_file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v["errors"].as_u64().unwrap() >= 1);

    let noise: Vec<u8> = (0..50 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let noise_file = dir.join("noise.bin");
    std::fs::write(&noise_file, noise).unwrap();
    let o = run(&["check", noise_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn operations_ask_for_a_generation_exactly_when_the_jobnet_has_them() {
    let dir = tmp("generations");
    std::fs::create_dir_all(&dir).expect("dir");
    let spec = dir.join("gen.yaml");
    std::fs::write(
        &spec,
        "version: 1\njobnets:\n  - name: g\n    concurrency: {multiple_launch: true}\n    units:\n      - {name: a, type: noop}\n  - name: once\n    units:\n      - {name: a, type: noop}\n",
    )
    .expect("spec");
    let out = dir.join("out");
    let o = run(&[
        "compile",
        spec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&[
        "status",
        "g",
        "--date",
        "2027-01-04",
        "--table",
        "T",
        "--dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--generation"), "{}", stderr(&o));
    let o = run(&[
        "hold",
        "once",
        "--date",
        "2027-01-04",
        "a",
        "--generation",
        "0930",
        "--table",
        "T",
        "--dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("runs once a business date"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A template over the stack limit is split into nested stacks; compiled again under the
/// limit, the stacks it no longer needs are removed.
#[test]
fn a_large_template_is_written_as_nested_stacks() {
    let out = tmp("nested");
    let dir = out.to_str().unwrap();
    let args = [
        "compile",
        "tests/scenarios/linear.yaml",
        "tests/scenarios/retry.yaml",
        "tests/scenarios/fan.yaml",
        "-o",
        dir,
    ];
    let o = bin()
        .args(args)
        .args(["--max-stack-resources", "6"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("W0010"), "{}", stderr(&o));
    let stacks: Vec<_> = std::fs::read_dir(out.join("stacks"))
        .expect("stacks/ written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!stacks.is_empty());
    let parent = std::fs::read_to_string(out.join("template.yaml")).expect("template");
    for s in &stacks {
        assert!(
            parent.contains(&format!("stacks/{s}")),
            "{s} not in the parent"
        );
    }
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let left = std::fs::read_dir(out.join("stacks")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "stale nested stacks removed");
    let o = run(&[
        "compile",
        "tests/scenarios/linear.yaml",
        "-o",
        dir,
        "--max-stack-resources",
        "3",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "out of range refused: {}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&out);
}
