//! The compile pipeline as a library: read inputs → front-end → validate → per root jobnet
//! (naming, structure, ASL) → CloudFormation, manifest, report → files.
//!
//! The CLI, the tests and the benchmarks all go through here, so what they exercise is
//! what users run. Nothing here prints or exits; problems become diagnostics.

use crate::back::asl::{self, FindingKind, JobnetOutput};
use crate::back::cfn::{self, CfnOptions};
use crate::back::report::{self, Report};
use crate::back::templates::TemplateSet;
use crate::back::{pretty, schedule, stacks, yaml};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::front;
use crate::front::jp1::{Encoding as Jp1Encoding, Jp1Coverage};
use crate::ir::Project;
use crate::output::{lock, Output};
use crate::passes::partition::{self, Budgets};
use crate::passes::{naming, structure, validate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Driver diagnostic codes (E00xx): problems with the input files themselves.
pub mod codes {
    /// The file cannot be read.
    pub const E_READ: &str = "E0001";
    /// The file is larger than `--max-input-bytes`.
    pub const E_TOO_LARGE: &str = "E0002";
    /// The bytes are not text in the expected encoding.
    pub const E_ENCODING: &str = "E0003";
    /// The input format cannot be recognised.
    pub const E_FORMAT: &str = "E0004";
    /// The job-type templates cannot be loaded.
    pub const E_TEMPLATES: &str = "E0005";
    /// A job-type template failed while rendering a job.
    pub const E_RENDER: &str = "E0006";
    /// No jobnet in the inputs (or none matches `--jobnet`).
    pub const E_NO_JOBNET: &str = "E0007";
    /// The generated template has more resources than a stack may hold.
    pub const W_MANY_RESOURCES: &str = "W0010";
}

/// Default cap on one input file: far above any real export, low enough that a wrong file
/// (a disk image, a log) is refused before it is read into memory.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// Decide per file: `.yaml`/`.yml` is a jobnet spec, a file starting with `unit=` is JP1.
    #[default]
    Auto,
    /// Native YAML jobnet spec.
    Spec,
    /// JP1/AJS3 unit definitions (ajsprint output).
    Jp1,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub format: InputFormat,
    pub max_input_bytes: u64,
    /// Encoding of JP1 files (`None`: detect UTF-8 or CP932).
    pub encoding: Option<Jp1Encoding>,
    /// Job types JP1 Unix and PC jobs become.
    pub jp1: front::jp1::LoadOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: InputFormat::Auto,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            encoding: None,
            jp1: front::jp1::LoadOptions::default(),
        }
    }
}

/// A loaded project and, for each JP1 file, its conversion coverage.
#[derive(Debug, Default)]
pub struct Loaded {
    pub project: Project,
    pub jp1: Vec<Jp1Coverage>,
}

/// Reads and parses every input into one project. All problems of all files are reported.
pub fn load(paths: &[PathBuf], opts: &LoadOptions, diags: &mut Diagnostics) -> Project {
    load_all(paths, opts, diags).project
}

/// [`load`], keeping the JP1 coverage of each JP1 file for the report.
pub fn load_all(paths: &[PathBuf], opts: &LoadOptions, diags: &mut Diagnostics) -> Loaded {
    let mut loaded = Loaded::default();
    for path in paths {
        load_one(&mut loaded, path, opts, diags);
    }
    loaded
}

/// Parses text that is already in memory (tests, benchmarks, fuzzing).
pub fn load_text(
    project: &mut Project,
    name: &str,
    text: String,
    format: InputFormat,
    diags: &mut Diagnostics,
) {
    let format = match format {
        InputFormat::Auto => detect(name, &text),
        f => Some(f),
    };
    match format {
        Some(InputFormat::Jp1) => {
            let file = project.sources.add(name, text, "utf-8");
            front::jp1::load(project, file, diags);
        }
        Some(_) => {
            let file = project.sources.add(name, text, "utf-8");
            front::spec::load(project, file, diags);
        }
        None => {
            let file = project.sources.add(name, text, "utf-8");
            diags.push(
                Diagnostic::error(codes::E_FORMAT, "cannot tell the input format of this file")
                    .at(Span::new(file, 1, 1, 0))
                    .hint("name jobnet specs *.yaml, or pass --input-format spec|jp1"),
            );
        }
    }
}

fn load_one(loaded: &mut Loaded, path: &Path, opts: &LoadOptions, diags: &mut Diagnostics) {
    let project = &mut loaded.project;
    let shown = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            diags.push(
                Diagnostic::error(codes::E_READ, format!("cannot read `{shown}`: {e}"))
                    .hint("check the path and its permissions"),
            );
            return;
        }
    };
    if meta.is_dir() {
        diags.push(
            Diagnostic::error(codes::E_READ, format!("`{shown}` is a directory"))
                .hint("pass the files inside it, e.g. `dir/*.yaml`"),
        );
        return;
    }
    if meta.len() > opts.max_input_bytes {
        diags.push(
            Diagnostic::error(
                codes::E_TOO_LARGE,
                format!(
                    "`{shown}` is {} bytes, above the limit of {} bytes",
                    meta.len(),
                    opts.max_input_bytes
                ),
            )
            .hint("raise it with --max-input-bytes if this really is a jobnet definition"),
        );
        return;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::error(
                codes::E_READ,
                format!("cannot read `{shown}`: {e}"),
            ));
            return;
        }
    };
    // JP1 exports are often CP932; decide the format on the bytes before insisting on UTF-8.
    let lower = shown.to_ascii_lowercase();
    let is_yaml = lower.ends_with(".yaml") || lower.ends_with(".yml");
    let jp1 = match opts.format {
        InputFormat::Jp1 => true,
        InputFormat::Spec => false,
        InputFormat::Auto => {
            !is_yaml
                && match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))
                {
                    Ok(t) => front::jp1::looks_like_jp1(t),
                    Err(_) => front::jp1::decode(&bytes, None)
                        .is_ok_and(|(t, _)| front::jp1::looks_like_jp1(&t)),
                }
        }
    };
    if jp1 {
        match front::jp1::decode(&bytes, opts.encoding) {
            Ok((text, enc)) => {
                let file = project.sources.add(shown.clone(), text, enc.name());
                let cov = front::jp1::load_with_coverage(project, file, &opts.jp1, diags);
                loaded.jp1.push(cov);
            }
            Err(e) => diags.push(e.to_diagnostic(&shown)),
        }
        return;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = match String::from_utf8(bytes.to_vec()) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let before = &bytes[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = at
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1)
                + 1;
            let file = project.sources.add(
                shown.clone(),
                String::from_utf8_lossy(bytes).into_owned(),
                "invalid",
            );
            diags.push(
                Diagnostic::error(
                    codes::E_ENCODING,
                    format!("`{shown}` is not valid UTF-8 (byte 0x{:02X})", bytes[at]),
                )
                .at(Span::new(file, line as u32, col as u32, 1))
                .hint("jobnet specs are UTF-8; for a JP1 export pass --input-format jp1 (and --encoding cp932 if needed)"),
            );
            return;
        }
    };
    load_text(project, &shown, text, opts.format, diags);
}

/// Recognises the format from the file name and the first meaningful text.
pub fn detect(name: &str, text: &str) -> Option<InputFormat> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Some(InputFormat::Spec);
    }
    if front::jp1::looks_like_jp1(text) {
        return Some(InputFormat::Jp1);
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("/*"));
    match first {
        Some(l) if l.starts_with("version:") || l.starts_with("jobnets:") => {
            Some(InputFormat::Spec)
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    pub templates: Option<PathBuf>,
    pub approximate: bool,
    pub cfn: CfnOptions,
    /// Compile only these root jobnets (by name); all when empty.
    pub jobnets: Vec<String>,
    /// Budgets every generated machine must stay under (split otherwise).
    pub budgets: Budgets,
    /// Years of business-calendar data to write (`calendars/*.json`); `None`: this year
    /// and the next two. Set it for reproducible output across a new year.
    pub calendar_years: Option<std::ops::RangeInclusive<i32>>,
    /// How source times become seconds (tests scale them down).
    pub emit: asl::EmitOptions,
}

/// The result of a successful compile: file contents by relative path, plus the data
/// behind them for callers that want more than files.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub outputs: Vec<JobnetOutput>,
    pub report: Report,
    /// Relative path → content, in a stable order.
    pub files: BTreeMap<String, Arc<String>>,
}

impl Compiled {
    /// Items that make the output incomplete: not yet compiled or unsupported.
    pub fn partial_items(&self) -> usize {
        self.outputs
            .iter()
            .flat_map(|o| &o.findings)
            .filter(|f| f.kind != FindingKind::Approximated)
            .count()
    }
}

/// Validates and compiles a loaded project. Returns `None` when there are errors (all of
/// them are in `diags`).
pub fn compile(
    project: &Project,
    opts: &CompileOptions,
    diags: &mut Diagnostics,
) -> Option<Compiled> {
    compile_with(project, &[], opts, diags)
}

/// [`compile`] with the JP1 coverage of the inputs, which goes into the report.
pub fn compile_with(
    project: &Project,
    jp1: &[Jp1Coverage],
    opts: &CompileOptions,
    diags: &mut Diagnostics,
) -> Option<Compiled> {
    compile_into(project, jp1, opts, diags, Sink::Keep).map(|(c, _)| c)
}

/// Where a compile's files go.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// Kept in [`Compiled::files`].
    Keep,
    /// Staged in an output directory as they are made.
    Write(&'a Output),
    /// Dropped once measured (`check` wants the diagnostics and figures only).
    Discard,
}

/// [`compile_with`], with the files going to `sink`. Writing into a directory stages every
/// file as soon as it is made (commit or abort the [`Output`] afterwards): state machine
/// definitions are written by the worker that built them and released from memory unless
/// the template needs them inline, so the peak memory of a large compile is about one root
/// jobnet's output, not all of it; `Compiled::files` then holds only what is still in
/// memory. The second value is the first write error.
pub fn compile_into(
    project: &Project,
    jp1: &[Jp1Coverage],
    opts: &CompileOptions,
    diags: &mut Diagnostics,
    sink: Sink<'_>,
) -> Option<(Compiled, std::io::Result<()>)> {
    let dir = match sink {
        Sink::Write(dir) => Some(dir),
        Sink::Keep | Sink::Discard => None,
    };
    let write_error: Mutex<Option<std::io::Error>> = Mutex::new(None);
    let inline_bytes = AtomicUsize::new(0);
    // Writes a sealed machine and releases its text when no inline template can need it
    // (`Auto` goes to S3 once the total passes the inline limit). Returns whether it was
    // written.
    let stage = |m: &mut asl::Machine| -> bool {
        if let Sink::Discard = sink {
            m.release();
        }
        let (Some(dir), Some(text)) = (dir, m.text()) else {
            return false;
        };
        if let Err(e) = dir.put(&report::machine_file(&m.name), &text) {
            lock(&write_error).get_or_insert(e);
            return false;
        }
        let release = match opts.cfn.definitions {
            cfn::Definitions::S3 => true,
            cfn::Definitions::Inline => false,
            cfn::Definitions::Auto => {
                let bytes = m.metrics().definition_bytes;
                inline_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes > cfn::INLINE_LIMIT
            }
        };
        if release {
            m.release();
        }
        true
    };
    let templates = match TemplateSet::load(opts.templates.as_deref()) {
        Ok(t) => Some(t),
        Err(e) => {
            diags.push(
                Diagnostic::error(codes::E_TEMPLATES, format!("templates: {e}"))
                    .hint("fix the template, or remove it from the --templates directory"),
            );
            None
        }
    };
    let job_types = templates
        .as_ref()
        .map(|t| t.names().to_vec())
        .unwrap_or_default();
    validate::validate(project, &job_types, diags);
    let roots = select_roots(project, &opts.jobnets, diags);
    if diags.has_errors() {
        return None;
    }
    let templates = templates?;
    // Root jobnets compile independently: spread them over the cores, then take their
    // results and diagnostics in source order so the output stays deterministic.
    let machine_names = naming::machine_names(project);
    // Cross-jobnet waits are resolved once, against every root of this compile.
    let waits_of = asl::wait_targets(project, &roots, &machine_names);
    let results = crate::par::par_map(&roots, |&root| {
        let mut local = Diagnostics::default();
        let machine = machine_names.get(&root).cloned().unwrap_or_default();
        let mut names = naming::assign(project, root, machine, &mut local);
        names.waits = waits_of.get(&root).cloned().unwrap_or_default();
        let mut plan = structure::plan(
            project,
            root,
            structure::Options {
                approximate: opts.approximate,
            },
        );
        // Split-off parts are written as soon as they are built; a split that is redone
        // takes back the parts it no longer makes.
        let early: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let built = |m: &mut asl::Machine| {
            if stage(m) {
                lock(&early).push(report::machine_file(&m.name));
            }
        };
        let job = SplitJob {
            project,
            names: &names,
            templates: &templates,
            budgets: &opts.budgets,
            emit: opts.emit,
            gated: schedule::is_gated(project, root),
        };
        let out = split(&job, &mut plan, &built, &mut local);
        // The root machine is sealed and written here, on the worker, once the split is
        // final (it may carry the business-day gate).
        let out = out.map(|mut out| {
            let early = std::mem::take(&mut *lock(&early));
            let mut kept = std::collections::BTreeSet::new();
            for m in &mut out.machines {
                if m.role == asl::Role::Child {
                    kept.insert(report::machine_file(&m.name));
                } else {
                    m.seal();
                    stage(m);
                }
            }
            if let Some(dir) = dir {
                for file in early.iter().filter(|f| !kept.contains(*f)) {
                    if let Err(e) = dir.discard(file) {
                        lock(&write_error).get_or_insert(e);
                    }
                }
            }
            out
        });
        (root, out, local)
    });
    let mut outputs = Vec::new();
    for (root, out, local) in results {
        diags.extend(local);
        match out {
            Ok(out) => outputs.push(out),
            Err(errors) => {
                for e in errors {
                    diags.push(
                        Diagnostic::error(codes::E_RENDER, e)
                            .at(project.units[root].span)
                            .hint("check the job's params against its job-type template"),
                    );
                }
            }
        }
    }
    check_machine_names(project, &outputs, diags);
    let years = opts
        .calendar_years
        .clone()
        .unwrap_or_else(|| schedule::default_years(chrono::Local::now().date_naive()));
    let calendars = schedule::calendar_items(project, years, diags);
    if diags.has_errors() {
        return None;
    }
    let mut files: BTreeMap<String, Arc<String>> = if !matches!(sink, Sink::Keep) {
        BTreeMap::new()
    } else {
        outputs
            .iter()
            .flat_map(|o| &o.machines)
            .filter_map(|m| Some((report::machine_file(&m.name), m.text()?)))
            .collect()
    };
    let mut report = report::build(project, &mut outputs);
    report.jp1 = jp1.to_vec();
    // The remaining files are independent of each other; on large inputs (runs.json and
    // the reports list every unit) writing them one after the other left a core idle.
    let (runs, markdown, json) = std::thread::scope(|s| {
        let runs = s.spawn(|| pretty(&crate::back::records::run_map(project, &outputs)));
        let markdown = s.spawn(|| report::markdown(&report));
        let json = s.spawn(|| {
            let mut json = serde_json::to_string_pretty(&report).unwrap_or_default();
            json.push('\n');
            json
        });
        let template = cfn::template(&outputs, &opts.cfn, &templates).and_then(|mut t| {
            schedule::add_schedules(&mut t, project, &outputs, &templates, diags)?;
            Ok(t)
        });
        match template {
            Ok(template) => {
                files.extend(stack_files(template, opts.cfn.max_stack_resources, diags));
            }
            Err(e) => diags.push(
                Diagnostic::error(codes::E_TEMPLATES, format!("CloudFormation template: {e}"))
                    .hint("fix the resource template (or rename the jobnet whose generated names meet another resource's)"),
            ),
        }
        for (file, items) in calendars {
            files.insert(file, pretty(&items).into());
        }
        files.insert(
            "manifest.json".into(),
            pretty(&cfn::manifest(&outputs)).into(),
        );
        let join = |h: std::thread::ScopedJoinHandle<'_, String>| {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        };
        (join(runs), join(markdown), join(json))
    });
    // A resource template that failed, or a schedule that could not be written, leaves no
    // complete template.yaml: nothing is written.
    if diags.has_errors() {
        return None;
    }
    files.insert("runs.json".into(), runs.into());
    files.insert("report.md".into(), markdown.into());
    files.insert("report.json".into(), json.into());
    if let Some(Err(e)) =
        dir.map(|dir| dir.put_all(files.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    {
        lock(&write_error).get_or_insert(e);
    }
    let written = match write_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    };
    Some((
        Compiled {
            outputs,
            report,
            files,
        },
        written,
    ))
}

/// `template.yaml`, and `stacks/*.yaml` when it is over a stack's limits (nested stacks).
/// A file still over a limit (a template that cannot be split, a parent with too many
/// resources left) is written anyway, with warning W0010.
fn stack_files(
    template: cfn::Template,
    max_resources: usize,
    diags: &mut Diagnostics,
) -> Vec<(String, Arc<String>)> {
    let limits = stacks::Limits {
        resources: max_resources,
        ..stacks::Limits::default()
    };
    let hint = "compile the jobnets into several output directories with --jobnet (one stack each), or deploy with `jobnet2sfn deploy`, which has no such limits";
    let (nested, refused) = match stacks::nest(template, &limits) {
        Ok(nested) => (nested, None),
        Err(refused) => {
            let whole = stacks::Nested {
                parent: refused.template,
                children: Vec::new(),
            };
            (whole, Some(refused.reason))
        }
    };
    let mut all = vec![("template.yaml".to_string(), nested.parent)];
    all.extend(nested.children);
    let texts = crate::par::par_map(&all, |(file, t)| (file.clone(), yaml::to_yaml(t)));
    for ((file, t), (_, text)) in all.iter().zip(&texts) {
        let mut over = Vec::new();
        for (section, limit) in [
            ("Resources", limits.resources),
            ("Outputs", limits.outputs),
            ("Parameters", stacks::MAX_PARAMETERS),
        ] {
            let count = t
                .get(section)
                .and_then(|v| v.as_object())
                .map_or(0, |m| m.len());
            if count > limit {
                over.push(format!(
                    "{count} {} (at most {limit})",
                    section.to_ascii_lowercase()
                ));
            }
        }
        if text.len() > limits.bytes {
            over.push(format!("{} bytes (at most {})", text.len(), limits.bytes));
        }
        if over.is_empty() {
            continue;
        }
        let mut message = format!(
            "{file} is over a CloudFormation stack's limits: {}",
            over.join(", ")
        );
        if let Some(reason) = &refused {
            message.push_str(&format!(
                "; it cannot be split into nested stacks: {reason}"
            ));
        }
        diags.push(Diagnostic::warning(codes::W_MANY_RESOURCES, message).hint(hint));
    }
    texts.into_iter().map(|(f, t)| (f, Arc::new(t))).collect()
}

/// Two generated machines must not share a CloudFormation logical id or a file name
/// ([`naming::clash_keys`]): the template would keep only one of them. Root names are checked by validation and a jobnet's parts are named apart
/// by the partition; this catches a part of one jobnet meeting another jobnet's machine.
fn check_machine_names(project: &Project, outputs: &[JobnetOutput], diags: &mut Diagnostics) {
    let mut seen: std::collections::HashMap<String, (&str, crate::ir::UnitId)> =
        std::collections::HashMap::new();
    for o in outputs {
        for m in &o.machines {
            let keys = naming::clash_keys(&m.name);
            let clash = keys.iter().find_map(|k| seen.get(k).copied());
            if let Some((other, root)) = clash {
                diags.push(
                    Diagnostic::error(
                        "E0210",
                        format!(
                            "generated machines `{other}` (jobnet `{}`) and `{}` (jobnet `{}`) get the same CloudFormation logical id or file name",
                            project.units[root].path, m.name, project.units[o.root].path
                        ),
                    )
                    .at(project.units[o.root].span)
                    .hint("rename one of the jobnets, or the unit whose name the split part takes"),
                );
                continue;
            }
            for k in keys {
                seen.insert(k, (m.name.as_str(), o.root));
            }
        }
    }
}

/// What [`split`] works with besides the plan.
#[derive(Clone, Copy)]
struct SplitJob<'a> {
    project: &'a Project,
    names: &'a naming::Names,
    templates: &'a TemplateSet,
    budgets: &'a Budgets,
    emit: asl::EmitOptions,
    /// The root gets the business-day gate (schedules or start conditions start it).
    gated: bool,
}

/// Partitions and emits one jobnet. Unit costs are estimates; should a machine still come
/// out over a budget, the pass runs again from the unsplit plan with budgets shrunk by the
/// overshoot, so the result is always measured, never assumed.
fn split(
    job: &SplitJob<'_>,
    plan: &mut structure::JobnetPlan,
    built: &(dyn Fn(&mut asl::Machine) + Sync),
    diags: &mut Diagnostics,
) -> Result<JobnetOutput, Vec<String>> {
    let SplitJob {
        project,
        names,
        templates,
        budgets,
        emit,
        gated,
    } = *job;
    let cache = asl::RenderCache::default();
    // A scheduled or event-started jobnet's root gets the business-day gate, measured with it; a clash of
    // names with the gate is an error that no split changes, so it ends the search.
    let path = &project.units[plan.root].path;
    let gate = |out: &mut JobnetOutput, diags: &mut Diagnostics| -> bool {
        if !gated {
            return true;
        }
        match schedule::gate_root(project, out, emit.skip_alert) {
            Ok(()) => true,
            Err(d) => {
                diags.push(d);
                false
            }
        }
    };
    let within = |m: &crate::back::metrics::Metrics| {
        m.states <= budgets.states
            && m.definition_bytes <= budgets.definition_bytes
            && m.history_events <= budgets.history_events
    };
    // Most jobnets fit one machine: emit them whole and measure before estimating the cost
    // of every unit, which only a split needs. Nets too large to fit (a job is at least
    // four states with run records) go straight to the estimate.
    let units = project.descendants(plan.root).len();
    if units <= budgets.states / 4 {
        let passing = asl::RenderCache::passing();
        let mut whole = asl::emit_cached(project, plan, names, templates, &passing, emit, built)?;
        if !gate(&mut whole, diags) || whole.machines.iter().all(|m| within(&m.metrics())) {
            return Ok(whole);
        }
    }
    let costs = asl::unit_costs(project, plan, names, templates, &cache, emit, true);
    let state_name = |u| names.state(u).to_string();
    let cost = |u| costs.costs.get(&u).copied().unwrap_or_default();
    let wrapped = |u| costs.wrapped.contains(&u);
    let estimates = partition::Estimates {
        unit: &cost,
        wrapped: &wrapped,
        frame: if gated {
            costs.frame
                + schedule::gate_cost(
                    project,
                    plan.root,
                    &names.machine,
                    emit.skip_alert.then_some(path.as_str()),
                )
        } else {
            costs.frame
        },
    };
    let unsplit = plan.clone();
    let mut effective = *budgets;
    let mut over = Vec::new();
    let mut previous = f64::INFINITY;
    for _ in 0..8 {
        *plan = unsplit.clone();
        partition::partition(project, plan, &effective, &state_name, &estimates);
        let mut out = asl::emit_cached(project, plan, names, templates, &cache, emit, built)?;
        if !gate(&mut out, diags) {
            return Ok(out);
        }
        let figures: Vec<_> = out.machines.iter().map(asl::Machine::metrics).collect();
        let worst = figures.iter().fold((1.0f64, true), |(f, ok), m| {
            let r = (m.states as f64 / budgets.states as f64)
                .max(m.definition_bytes as f64 / budgets.definition_bytes as f64)
                .max(m.history_events as f64 / budgets.history_events as f64);
            (f.max(r), ok && r <= 1.0)
        });
        if worst.1 {
            return Ok(out);
        }
        over = out
            .machines
            .iter()
            .zip(figures)
            .map(|(m, figures)| (m.name.clone(), figures))
            .filter(|(_, m)| {
                m.states > budgets.states
                    || m.definition_bytes > budgets.definition_bytes
                    || m.history_events > budgets.history_events
            })
            .map(|(n, m)| {
                format!(
                    "{n}: {} states, {} bytes, {} history events",
                    m.states, m.definition_bytes, m.history_events
                )
            })
            .collect();
        // Unit costs are estimates (overheads of forks, calls and joins are constants). When
        // a retry made no headway, cut harder.
        let mut shrink = 0.9 / worst.0;
        if worst.0 > previous * 0.98 {
            shrink *= 0.6;
        }
        previous = worst.0;
        effective = Budgets {
            states: ((effective.states as f64) * shrink) as usize,
            definition_bytes: ((effective.definition_bytes as f64) * shrink) as usize,
            history_events: ((effective.history_events as f64) * shrink) as u64,
        };
    }
    Err(vec![format!(
        "{}: cannot split this jobnet under the budgets ({} states, {} bytes, {} history events); still over: {}",
        project.units[plan.root].path,
        budgets.states,
        budgets.definition_bytes,
        budgets.history_events,
        over.join("; ")
    )])
}

fn select_roots(
    project: &Project,
    wanted: &[String],
    diags: &mut Diagnostics,
) -> Vec<crate::ir::UnitId> {
    if project.roots.is_empty() && !diags.has_errors() {
        diags.push(
            Diagnostic::error(codes::E_NO_JOBNET, "the inputs define no jobnet")
                .hint("a spec needs a `jobnets:` list with at least one jobnet"),
        );
    }
    if wanted.is_empty() {
        return project.roots.clone();
    }
    let mut out = Vec::new();
    for w in wanted {
        match project.roots.iter().find(|&&r| &project.units[r].name == w) {
            Some(&r) => out.push(r),
            None => {
                let names = project
                    .roots
                    .iter()
                    .map(|&r| project.units[r].name.as_str());
                diags.push(
                    Diagnostic::error(codes::E_NO_JOBNET, format!("no root jobnet `{w}`"))
                        .hint(validate::suggest(w, names)),
                );
            }
        }
    }
    out
}

/// Writes the files (relative path, content) under `dir`, replacing generated definitions
/// of machines that no longer exist so the directory always mirrors one compile.
pub fn write<'a, K, S>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a K, &'a S)>,
) -> std::io::Result<()>
where
    K: AsRef<str> + ?Sized + 'a,
    S: std::ops::Deref + ?Sized + 'a,
    S::Target: AsRef<str>,
{
    let out = Output::create(dir);
    match out.put_all(files.into_iter().map(|(k, v)| (k.as_ref(), (**v).as_ref()))) {
        Ok(()) => out.commit(),
        Err(e) => {
            out.abort();
            Err(e)
        }
    }
}

/// A project loaded from spec text (`t.yaml`), and what loading said: for unit tests.
#[cfg(test)]
pub(crate) fn project_of(text: &str) -> (Project, Diagnostics) {
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    load_text(
        &mut project,
        "t.yaml",
        text.into(),
        InputFormat::Auto,
        &mut diags,
    );
    (project, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Costs of every leaf unit of every root, derived (plain jobs from their shape's
    /// sample) and emitted one by one; returns the jobs whose bytes differ and how many
    /// jobs were derived.
    fn compare_costs(project: &Project, emit: asl::EmitOptions) -> (Vec<String>, usize) {
        compare_costs_with(project, emit, None)
    }

    fn compare_costs_with(
        project: &Project,
        emit: asl::EmitOptions,
        templates: Option<&Path>,
    ) -> (Vec<String>, usize) {
        let templates = TemplateSet::load(templates).expect("templates");
        let machine_names = naming::machine_names(project);
        let (mut off, mut count) = (Vec::new(), 0);
        for &root in &project.roots {
            let mut d = Diagnostics::default();
            let machine = machine_names.get(&root).cloned().unwrap_or_default();
            let names = naming::assign(project, root, machine, &mut d);
            let plan = structure::plan(project, root, structure::Options::default());
            let costs = |derive| {
                let cache = asl::RenderCache::default();
                asl::unit_costs(project, &plan, &names, &templates, &cache, emit, derive)
            };
            let (derived, exact) = (costs(true), costs(false));
            assert_eq!(derived.costs.len(), exact.costs.len());
            count += derived.derived;
            for (u, e) in &exact.costs {
                let d = derived.costs[u];
                let path = &project.units[*u].path;
                assert_eq!(
                    (d.states, d.events, d.lines),
                    (e.states, e.events, e.lines),
                    "{path}"
                );
                if d.bytes != e.bytes {
                    off.push(format!("{path}: {} vs {}", d.bytes, e.bytes));
                }
            }
        }
        (off, count)
    }

    /// Strings the emitter writes itself (state fields, record values, types): as job
    /// names they must not be mistaken for references to the job's states.
    const EMITTER_WORDS: &[&str] = &[
        "States",
        "end",
        "cost",
        "Next",
        "failed",
        "Type",
        "Comment",
        "a",
        "status",
        "Task",
        "Pass",
        "skip",
        "RUNNING",
        "String",
        "ENDED_NORMALLY",
        "WARNING_END",
    ];

    /// A jobnet `root` of `jobs` (name, then the rest of the unit's lines), each after the
    /// one before.
    fn chained_spec(root: &str, jobs: &[(String, String)]) -> String {
        let mut o = format!("version: 1\njobnets:\n  - name: \"{root}\"\n    units:\n");
        for (i, (name, body)) in jobs.iter().enumerate() {
            o.push_str(&format!("      - name: \"{name}\"\n        {body}\n"));
            if i > 0 {
                o.push_str(&format!("        after: [\"{}\"]\n", jobs[i - 1].0));
            }
        }
        o
    }

    /// One random job of [`random_net_costs_derive_exactly`].
    #[derive(Debug, Clone)]
    struct RandomJob {
        kind: usize,
        name: String,
        retry: Option<(u8, u16)>,
        end: usize,
        limits: (i8, i8),
        cutoff: Option<(u16, usize)>,
        hold: bool,
        text: String,
        after: Vec<usize>,
    }

    fn random_job() -> impl proptest::strategy::Strategy<Value = RandomJob> {
        use proptest::prelude::*;
        let name = prop_oneof![
            prop::sample::select(EMITTER_WORDS.to_vec()).prop_map(String::from),
            "[a-z][a-z0-9_]{0,24}",
            // Escaped in JSON, or in intrinsic function literals.
            r#"[a-z'{}\\"]{1,8}"#,
            "[ぁ-ん]{1,6}",
        ];
        (
            // Few distinct settings, so that many jobs share a shape and are derived.
            (
                0..7usize,
                name,
                proptest::option::of((1..3u8, prop::sample::select(vec![60u16, 300]))),
                0..6usize,
            ),
            (
                (-1..3i8, -1..3i8),
                proptest::option::of((prop::sample::select(vec![30u16, 120]), 0..3usize)),
                any::<bool>(),
            ),
            (
                r#"[a-zA-Z0-9 /\\".%-]{0,30}"#,
                proptest::collection::vec(0..64usize, 0..3),
            ),
        )
            .prop_map(
                |((kind, name, retry, end), (limits, cutoff, hold), (text, after))| RandomJob {
                    kind,
                    name,
                    retry,
                    end,
                    limits,
                    cutoff,
                    hold,
                    text,
                    after,
                },
            )
    }

    /// The jobs as a spec, each after some earlier ones; names made unique.
    fn random_spec(jobs: &[RandomJob]) -> String {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        // A root name in every path, escaped in intrinsic literals, or not.
        let root = if jobs.len().is_multiple_of(2) {
            "random"
        } else {
            "bob's {net}"
        };
        let mut o = format!(
            "version: 1\njobnets:\n  - name: {}\n    units:\n",
            quote(root)
        );
        let mut names: Vec<String> = Vec::new();
        for (i, j) in jobs.iter().enumerate() {
            let mut name = j.name.clone();
            if names.contains(&name) {
                name = format!("{name}_{i}");
            }
            let text = j.text.replace('\'', "''");
            let (kind, params) = [
                ("lambda", format!("{{function: \"${{F}}\", payload: {{n: {i}, t: '{text}'}}}}")),
                ("ecs", format!("{{command: ['{text}', \"--x\"], environment: {{K{i}: '{text}'}}}}")),
                ("ecs-windows", format!("{{command: '{text}'}}")),
                ("batch", format!("{{job_queue: \"${{Q}}\", job_definition: \"${{D}}\", command: ['{text}']}}")),
                ("glue", format!("{{job_name: j{i}, arguments: {{\"--a\": '{text}'}}}}")),
                ("noop", "{}".to_string()),
                ("statemachine", "{state_machine: \"${SM}\"}".to_string()),
            ][j.kind]
            .clone();
            o.push_str(&format!(
                "      - name: {}\n        type: {kind}\n        params: {params}\n",
                quote(&name)
            ));
            let (w, a) = (j.limits.0.min(j.limits.1), j.limits.0.max(j.limits.1));
            let end = match j.end {
                1 => format!("{{abnormal_above: {a}}}"),
                2 => format!("{{warning_above: {w}, abnormal_above: {a}}}"),
                3 => "{always: normal}".into(),
                4 => "{always: abnormal}".into(),
                5 => format!("{{file_exists: '/x/{text}'}}"),
                _ => String::new(),
            };
            if !end.is_empty() {
                o.push_str(&format!("        end: {end}\n"));
            }
            if let Some((attempts, interval)) = j.retry {
                o.push_str(&format!(
                    "        retry: {{attempts: {attempts}, interval_seconds: {interval}}}\n"
                ));
            }
            if let Some((minutes, status)) = j.cutoff {
                let status = ["normal", "warning", "abnormal"][status];
                o.push_str(&format!(
                    "        cutoff: {{minutes: {minutes}, status: {status}}}\n"
                ));
            }
            if j.hold {
                o.push_str("        hold: true\n");
            }
            let after: std::collections::BTreeSet<&String> = j
                .after
                .iter()
                .filter(|_| i > 0)
                .map(|a| &names[a % i])
                .collect();
            if !after.is_empty() {
                let list: Vec<String> = after.iter().map(|n| quote(n)).collect();
                o.push_str(&format!("        after: [{}]\n", list.join(", ")));
            }
            names.push(name);
        }
        o
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Random jobs of every built-in type, with names the emitter's own strings start
        /// with, thresholds, retries, cutoffs and holds: derived costs equal emitted ones.
        #[test]
        fn random_net_costs_derive_exactly(jobs in proptest::collection::vec(random_job(), 1..40)) {
            let text = random_spec(&jobs);
            let (project, d) = project_of(&text);
            proptest::prop_assert!(!d.has_errors(), "{text}\n{:?}", d.items);
            for run_records in [true, false] {
                let emit = asl::EmitOptions { run_records, ..Default::default() };
                let (off, _) = compare_costs(&project, emit);
                proptest::prop_assert!(off.is_empty(), "{off:?}\n{text}");
            }
        }
    }

    /// A user's template may write what the emitter then sets or removes (a comment, a
    /// result path, a selector's return code, a Pass's parameters), retry itself, or nest
    /// states: only what stays counts, and jobs alike only in their shape key agree.
    #[test]
    fn derived_unit_costs_see_what_user_templates_keep() {
        let dir = std::env::temp_dir().join(format!("j2s-cost-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let templates = [
            (
                "chain",
                r#"{"states": [
  {"Type": "Pass", "Comment": {{ job.path | json_encode() }}, "Parameters": {"at": {{ job.path | json_encode() }}}},
  {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Comment": {{ job.path | json_encode() }},
   "Parameters": {"FunctionName": "f", "Payload": {"unit": {{ job.path | json_encode() }}, "run.$": {{ run.id | json_encode() }}}},
   "ResultSelector": {"rc.$": "$.Payload.rc", "failed": true, "rc": 7, "where": {{ job.path | json_encode() }}},
   "ResultPath": "$.{{ job.state }}", "OutputPath": "$", "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": {{ job.name | length }}}],
   "TimeoutSeconds": {{ job.name | length }}}
], "rc": {"from": "result", "path": "$.rc"}}"#,
            ),
            (
                "fan",
                r#"{"state": {"Type": "Parallel", "Branches": [
  {% for i in range(end=job.name | length % 3 + 1) %}{"StartAt": "b{{ i }}", "States": {"b{{ i }}": {"Type": "Pass", "Comment": {{ job.path | json_encode() }}, "End": true}}}{% if not loop.last %},{% endif %}{% endfor %}
]}}"#,
            ),
            (
                "pass",
                r#"{"state": {"Type": "Pass", "Comment": {{ job.state | json_encode() }}, "Result": {"u": {{ job.path | json_encode() }}}, "Parameters": {"p": {{ job.name | json_encode() }}}}}"#,
            ),
            (
                "odd",
                r#"{"state": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": {{ job.name | json_encode() }}}, "ResultSelector": "x"}}"#,
            ),
        ];
        for (name, text) in templates {
            std::fs::write(dir.join(format!("{name}.json.tera")), text).expect("template");
        }
        let names = [
            "Comment",
            "a",
            "status",
            "a_much_longer_name_than_the_first",
            "ユーザー's {ジョブ}",
            "Task",
        ];
        let variants = [
            (
                "chain",
                "\n        retry: {attempts: 2}\n        cutoff: {minutes: 5}",
            ),
            ("chain", ""),
            (
                "chain",
                "\n        end: {warning_above: 1, abnormal_above: 3}",
            ),
            ("fan", ""),
            ("pass", ""),
            ("odd", ""),
        ];
        let jobs: Vec<(String, String)> = (names.iter().enumerate())
            .flat_map(|(i, n)| {
                variants.iter().map(move |(t, extra)| {
                    (
                        format!("{n}_{t}{}{i}", extra.len()),
                        format!("type: {t}{extra}"),
                    )
                })
            })
            .collect();
        let spec = chained_spec("user's {net}", &jobs);
        let (project, mut d) = project_of(&spec);
        let opts = CompileOptions {
            templates: Some(dir.clone()),
            ..Default::default()
        };
        assert!(
            compile(&project, &opts, &mut d).is_some() && !d.has_errors(),
            "{:?}",
            d.items
        );
        for run_records in [true, false] {
            let emit = asl::EmitOptions {
                run_records,
                ..Default::default()
            };
            let (off, derived) = compare_costs_with(&project, emit, Some(&dir));
            assert!(off.is_empty(), "{off:?}\n{spec}");
            assert!(derived >= 8, "{derived} jobs derived");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn derived_unit_costs_match_emitted_ones() {
        let mut inputs: Vec<(String, String)> = Vec::new();
        for dir in [
            "examples",
            "tests/scenarios",
            "tests/fixtures/spec",
            "tests/fixtures/jp1",
        ] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("dir")
                .flatten()
                .map(|e| e.path())
                .collect();
            files.sort();
            for f in files {
                if let Ok(text) = std::fs::read_to_string(&f) {
                    inputs.push((f.display().to_string(), text));
                }
            }
        }
        let shapes = [(300, 3, 4, 3), (120, 1, 1, 0), (90, 5, 2, 2)];
        for (i, (jobs, chain, width, nest_every)) in shapes.into_iter().enumerate() {
            let shape = crate::synth::Shape {
                jobs,
                chain,
                width,
                nest_every,
            };
            inputs.push((
                format!("synth{i}.yaml"),
                crate::synth::spec(&format!("synthetic_net_{i}"), shape),
            ));
        }
        inputs.push(("synth.ajs".into(), crate::synth::jp1(2, 150)));
        // Names that the emitter's own strings start with or equal, sampled first, and
        // names of other lengths (Japanese ones print longer than they look) in the same
        // shapes: lambdas with retries, ECS jobs with thresholds, cutoffs and quoted paths.
        let longer = ["load_all_customer_records_nightly", "集計ジョブ", "b_2"];
        let names: Vec<&str> = EMITTER_WORDS.iter().chain(&longer).copied().collect();
        let lambda = "type: lambda\n        retry: {attempts: 2, interval_seconds: 60}\n        params: {function: \"${F}\"}";
        let ecs = "type: ecs\n        end: {warning_above: 1, abnormal_above: 8}\n        cutoff: {minutes: 30}\n        params: {command: ['C:\\x\\\"q\\\".bat', \"--n\"], environment: {A: b}}";
        let jobs: Vec<(String, String)> = (names.iter().enumerate())
            .flat_map(|(i, n)| {
                [
                    (n.to_string(), lambda.to_string()),
                    (format!("{n}_e{i}"), ecs.to_string()),
                ]
            })
            .collect();
        let tricky = chained_spec("tricky", &jobs);
        inputs.push(("tricky.yaml".into(), tricky));
        let (mut derived, mut off) = (0, Vec::new());
        for (file, text) in inputs {
            let mut project = Project::default();
            let mut d = Diagnostics::default();
            load_text(&mut project, &file, text, InputFormat::Auto, &mut d);
            let made = !file.contains('/');
            assert!(!(made && d.has_errors()), "{file}: {:?}", d.items);
            if d.has_errors() {
                continue;
            }
            for run_records in [true, false] {
                let emit = asl::EmitOptions {
                    run_records,
                    ..Default::default()
                };
                let (o, d) = compare_costs(&project, emit);
                off.extend(o);
                derived += d;
            }
        }
        assert!(derived > 1000, "{derived} jobs derived");
        // Any difference means the shape misses something the emitter looks at.
        assert!(off.is_empty(), "{} jobs off in bytes: {off:?}", off.len());
    }

    #[test]
    fn detects_formats() {
        assert_eq!(detect("a.yaml", ""), Some(InputFormat::Spec));
        assert_eq!(detect("a.YML", ""), Some(InputFormat::Spec));
        assert_eq!(
            detect("net.txt", "\n/* x */\nunit=G,,jp1admin,;\n"),
            Some(InputFormat::Jp1)
        );
        assert_eq!(detect("x", "version: 1\n"), Some(InputFormat::Spec));
        assert_eq!(detect("x", "\u{0}\u{1}garbage"), None);
    }

    #[test]
    fn compiles_text_and_reports_missing_jobnets() {
        let mut project = Project::default();
        let mut diags = Diagnostics::default();
        load_text(
            &mut project,
            "t.yaml",
            "version: 1\njobnets: []\n".into(),
            InputFormat::Auto,
            &mut diags,
        );
        assert!(compile(&project, &CompileOptions::default(), &mut diags).is_none());
        assert!(diags.items.iter().any(|d| d.code == codes::E_NO_JOBNET));
    }

    #[test]
    fn compile_is_deterministic() {
        let text = "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: a, type: noop}\n      - {name: b, type: noop, after: [a]}\n      - {name: c, type: noop, after: [a]}\n";
        let run = || {
            let (project, mut diags) = project_of(text);
            compile(&project, &CompileOptions::default(), &mut diags)
                .expect("compiles")
                .files
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.contains_key("statemachines/n.asl.json"), "{:?}", a.keys());
    }

    #[test]
    fn a_machine_of_one_jobnet_that_meets_another_jobnet_s_is_an_error() {
        // `a` gets a monitor machine `a-monitor`, the name of the other root jobnet.
        let text = "version: 1\njobnets:\n  - name: a\n    units:\n      - {name: x, type: noop, end_delay: {after_own_start: 10}}\n  - name: a-monitor\n    units:\n      - {name: y, type: noop}\n";
        let (project, mut diags) = project_of(text);
        assert!(!diags.has_errors(), "{:?}", diags.items);
        assert!(compile(&project, &CompileOptions::default(), &mut diags).is_none());
        let d = diags
            .items
            .iter()
            .find(|d| d.code == "E0210")
            .expect("E0210");
        assert!(d.message.contains("`a-monitor`"), "{}", d.message);
    }
}
