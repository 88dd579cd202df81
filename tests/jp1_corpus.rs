//! Every JP1/AJS3 corpus file (tests/fixtures/jp1, copied from the shared corpus with
//! original names and encodings) decodes, parses and lowers without errors, passes the
//! passes and the ASL back-end, and the CP932 copy lowers exactly like its UTF-8 twin.

use jobnet2sfn::back::asl;
use jobnet2sfn::back::templates::TemplateSet;
use jobnet2sfn::diag::{render, Diagnostics, Severity};
use jobnet2sfn::front::jp1;
use jobnet2sfn::ir::*;
use jobnet2sfn::passes::{naming, structure, validate};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jp1")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures exist")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".txt") || n.ends_with(".ajs")
        })
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> (Project, Diagnostics, FileIdOf) {
    let bytes = std::fs::read(path).expect("readable");
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    let file = jp1::load_bytes(
        &mut project,
        &path.display().to_string(),
        &bytes,
        None,
        &jp1::LoadOptions::default(),
        &mut diags,
    )
    .expect("decodes");
    (project, diags, file)
}

type FileIdOf = jobnet2sfn::diag::FileId;

fn shown(project: &Project, diags: &Diagnostics, sev: Severity) -> Vec<String> {
    diags
        .items
        .iter()
        .filter(|d| d.severity == sev)
        .map(|d| render(d, &project.sources, false))
        .collect()
}

#[test]
fn corpus_files_lower_and_compile() {
    let templates = TemplateSet::load(None).expect("built-in templates");
    let files = corpus_files();
    assert!(files.len() >= 9, "corpus copied: {files:?}");
    for path in files {
        let (project, diags, file) = load(&path);
        let errors = shown(&project, &diags, Severity::Error);
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
        assert!(
            !project.roots.is_empty(),
            "{}: no root jobnet",
            path.display()
        );
        for (_, u) in project.units.iter() {
            assert!(u.path.starts_with('/'), "{}", u.path);
            assert!(u.path.ends_with(&format!("/{}", u.name)), "{}", u.path);
            assert_eq!(u.span.file, file);
        }

        let mut vd = Diagnostics::default();
        validate::validate(&project, templates.names(), &mut vd);
        // Same-named roots in different job groups get path-qualified machine names.
        let machines: std::collections::BTreeSet<String> =
            naming::machine_names(&project).into_values().collect();
        assert_eq!(machines.len(), project.roots.len(), "{}", path.display());
        let unexpected: Vec<String> = vd
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| render(d, &project.sources, false))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{}:\n{}",
            path.display(),
            unexpected.join("\n")
        );
        let machines = naming::machine_names(&project);
        for &root in &project.roots {
            let mut nd = Diagnostics::default();
            let names = naming::assign(&project, root, machines[&root].clone(), &mut nd);
            assert!(!nd.has_errors(), "{}: {:?}", path.display(), nd.items);
            let plan = structure::plan(&project, root, structure::Options::default());
            let out = asl::emit(&project, &plan, &names, &templates);
            assert!(
                out.is_ok(),
                "{} {}: {:?}",
                path.display(),
                project.units[root].path,
                out.err()
            );
        }
        let cov = jp1::coverage(&project, file);
        eprintln!(
            "{}: {} units, coverage {:.1}%",
            path.file_name().unwrap().to_string_lossy(),
            project.units.len(),
            cov.coverage_percent
        );
        assert!(cov.coverage_percent > 0.0 && cov.coverage_percent <= 100.0);
        assert!(jp1::render_markdown(&cov).contains("Coverage:"));
    }
}

/// Replaces every `Span { … }` in a Debug dump, so trees from files whose lines are
/// shifted compare equal.
fn without_spans(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        out.push_str("Span");
        rest = &rest[i..];
        let end = rest.find('}').map_or(rest.len(), |e| e + 1);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn dump(project: &Project) -> Vec<String> {
    let mut out: Vec<String> = project
        .units
        .iter()
        .map(|(_, u)| without_spans(&format!("{u:?}")))
        .collect();
    out.extend(
        project
            .calendars
            .iter()
            .map(|(_, c)| without_spans(&format!("{c:?}"))),
    );
    out
}

#[test]
fn cp932_copy_lowers_like_its_utf8_twin() {
    let (a, da, _) = load(&fixtures().join("01_kittybbit_sample1_original.cp932.ajs"));
    let (b, db, _) = load(&fixtures().join("01_kittybbit_sample1_original.txt"));
    assert_eq!(a.sources.get(jobnet2sfn::diag::FileId(0)).encoding, "cp932");
    assert_eq!(b.sources.get(jobnet2sfn::diag::FileId(0)).encoding, "utf-8");
    assert_eq!(dump(&a), dump(&b));
    // The UTF-8 twin has one extra comment line at the top.
    let pos = |d: &Diagnostics| -> Vec<(&str, u32, u32)> {
        d.items
            .iter()
            .map(|x| {
                let s = x.span.expect("located");
                (x.code, s.line, s.col)
            })
            .collect()
    };
    let shifted: Vec<_> = pos(&da)
        .into_iter()
        .map(|(c, l, k)| (c, l + 1, k))
        .collect();
    assert_eq!(shifted, pos(&db));
    let (ca, cb) = (
        jp1::coverage(&a, jobnet2sfn::diag::FileId(0)),
        jp1::coverage(&b, jobnet2sfn::diag::FileId(0)),
    );
    assert_eq!(ca.coverage_percent, cb.coverage_percent);
    assert_eq!(ca.findings.len(), cb.findings.len());
}

#[test]
fn corpus_sample_maps_its_features() {
    let (p, _, _) = load(&fixtures().join("01_kittybbit_sample1_original.txt"));
    let unit = |path: &str| {
        p.units
            .iter()
            .map(|(_, u)| u)
            .find(|u| u.path == path)
            .unwrap_or_else(|| panic!("no unit {path}"))
    };
    let root = "/test_jg/nest_jg/root_jn";
    assert_eq!(p.roots.len(), 1);
    assert_eq!(p.units[p.roots[0]].path, root);
    let unix = unit(&format!("{root}/UNIXジョブ"));
    let UnitKind::Job(job) = &unix.kind else {
        panic!("job")
    };
    assert_eq!(job.job_type, "ecs");
    assert_eq!(
        job.params["command"],
        "cd '/tmp' && ls\npwd\nscript.sh param1"
    );
    assert_eq!(job.params["working_directory"], "/tmp");
    assert_eq!(job.params["environment"]["ENV"], "test");
    let pc = unit(&format!("{root}/ジョブネット/PCジョブ"));
    let UnitKind::Job(job) = &pc.kind else {
        panic!("job")
    };
    assert_eq!(job.job_type, "ecs-windows");
    assert_eq!(
        job.params["command"],
        "cd /d \"c:\\temp\" && script.cmd param1"
    );
    let or = unit(&format!("{root}/ORジョブ"));
    assert_eq!(or.join, JoinKind::Or);
    let judge = unit(&format!("{root}/判定ジョブ"));
    assert_eq!(
        judge.kind.label(),
        "judgment",
        "default ej=gt ejc=0 is a judgment"
    );
    let net = unit(root).as_net().unwrap();
    let sc = net.start_conditions.as_ref().expect(".CONDITION");
    assert!(sc.all);
    assert_eq!(sc.events.len(), 2);
    let con: Vec<_> = net
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Conditional)
        .map(|e| (&p.units[e.from].name, &p.units[e.to].name))
        .collect();
    assert_eq!(con.len(), 1);
    assert_eq!(con[0].1, "JP1イベント送信");
}

#[test]
fn root_jobnet_calendar_and_schedule_from_the_reference_sample() {
    let (p, _, _) = load(&fixtures().join("03_kittybbit_ref_schedule.txt"));
    let root = &p.units[p.roots[0]];
    let net = root.as_net().unwrap();
    let cal_name = &net.calendar.as_ref().expect("own calendar").name;
    assert_eq!(cal_name, "sample_ref_schedule:root_jn");
    let cal = &p.calendars[p.calendar_by_name(cal_name).unwrap()];
    assert_eq!(cal.weekdays[0], Some(DayKind::Open));
    assert_eq!(cal.weekdays[5], Some(DayKind::Closed));
    assert_eq!(cal.dates.len(), 2);
    // Rule 1 (`en` with a yearly cycle) cannot be converted; rule 2 is the 1st closed day
    // of April 2026 at 00:00.
    let rules = &net.schedule.as_ref().unwrap().rules;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].days, DayRule::NthClosedDay(1));
    assert_eq!(rules[0].valid_from, Date::from_ymd_opt(2026, 4, 1));
    // Its delays are rule 1's, whose runs are not converted.
    assert!(root.start_delay.is_empty() && root.end_delay.is_empty());
    let cov = jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    let sd = &cov.params["sd"];
    // Rule 2 (one run, on that day) is exact; rule 1 is not converted.
    assert_eq!((sd.total, sd.mapped), (2, 1));
    assert_eq!(sd.unsupported.values().sum::<u32>(), 1);
}

#[test]
fn crlf_copy_lowers_like_the_original() {
    let path = fixtures().join("02_kittybbit_sample1_large.txt");
    let (a, da, _) = load(&path);
    let crlf = std::fs::read_to_string(&path)
        .unwrap()
        .replace('\n', "\r\n");
    let mut b = Project::default();
    let mut db = Diagnostics::default();
    jp1::load_bytes(
        &mut b,
        "crlf.txt",
        crlf.as_bytes(),
        None,
        &jp1::LoadOptions::default(),
        &mut db,
    )
    .unwrap();
    assert_eq!(dump(&a), dump(&b));
    assert_eq!(da.items.len(), db.items.len());
}
