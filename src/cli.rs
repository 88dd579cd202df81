//! Command line: argument parsing, output to the terminal, exit codes.
//!
//! Exit codes (also in `jobnet2sfn --help` and README.md):
//! 0 success; 1 errors in the inputs; 2 usage or I/O error; 3 the output is incomplete
//! (not-yet-compiled or unsupported items) and `--allow-partial` was not given.

use crate::back::asl::Role;
use crate::back::cfn::Definitions;
use crate::back::graph::{self, GraphFormat};
use crate::diag::{self, Diagnostics};
use crate::driver::{self, CompileOptions, Compiled, InputFormat, LoadOptions, Loaded};
use crate::ir::Project;
use crate::passes::partition::Budgets;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_INPUT: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_PARTIAL: i32 = 3;
/// `rerun --wait`: the new execution did not succeed.
pub const EXIT_RUN_FAILED: i32 = 4;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  errors in the inputs (all of them are printed)
  2  usage error, or a file could not be read or written
  3  output incomplete: items not yet compiled or unsupported (see the report);
     pass --allow-partial to accept it
  4  rerun --wait: the new execution did not succeed

Examples:
  jobnet2sfn compile examples/daily_batch.yaml -o out/
  jobnet2sfn check jobnets/*.yaml --format json
  jobnet2sfn graph examples/or_join.yaml --syntax dot > or_join.dot";

#[derive(Debug, Parser)]
#[command(
    name = "jobnet2sfn",
    version,
    about = "Compile legacy jobnets (JP1/AJS3, native YAML specs) into AWS Step Functions, EventBridge Scheduler and CloudFormation",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile jobnets into state machines, a CloudFormation template and a report.
    #[command(
        after_help = "Examples:\n  jobnet2sfn compile examples/daily_batch.yaml -o out/\n  jobnet2sfn compile specs/*.yaml -o out/ --templates my-templates/ --allow-partial\n  jobnet2sfn compile ajsprint.txt -o out/ --registration-date 2027-04-05"
    )]
    Compile(CompileArgs),
    /// Validate jobnets without writing anything (for CI).
    #[command(
        after_help = "Examples:\n  jobnet2sfn check specs/*.yaml\n  jobnet2sfn check specs/*.yaml --format json"
    )]
    Check(CheckArgs),
    /// Draw a jobnet (as written, or as generated) in Mermaid or DOT.
    #[command(
        after_help = "Examples:\n  jobnet2sfn graph examples/non_series_parallel.yaml\n  jobnet2sfn graph examples/daily_batch.yaml --view generated --syntax dot\n  jobnet2sfn graph examples/*.yaml -o graphs/"
    )]
    Graph(GraphArgs),
    /// Create or update the compiled machines and tables directly (no CloudFormation);
    /// idempotent. Uses the standard AWS credential chain.
    #[command(
        after_help = "Examples:\n  jobnet2sfn deploy out/ --role-arn arn:aws:iam::123456789012:role/jobnets --param EcsClusterArn=arn:...\n  jobnet2sfn deploy out/ --role-arn arn:aws:iam::123456789012:role/r --endpoint-url http://127.0.0.1:5000 --region ap-northeast-1"
    )]
    Deploy(DeployArgs),
    /// Business-calendar data.
    #[command(subcommand)]
    Holidays(HolidaysCommand),
    /// What the runs of a jobnet did: per business date, or per job of one run.
    #[command(
        after_help = "Examples:\n  jobnet2sfn status daily_sales --dir out --table my-stack-RunTable-ABC\n  jobnet2sfn status daily_sales --date 2027-04-01 --dir out --table T --format json"
    )]
    Status(StatusArgs),
    /// Run units of a business date's run again: from a unit (succeeded or failed), only
    /// it, after it, or from every failed job. Jobs that ended normally and are not
    /// selected do not run twice.
    #[command(
        after_help = "Examples:\n  jobnet2sfn rerun daily_sales --date 2027-04-01 --from load_pos --dir out --table T\n  jobnet2sfn rerun daily_sales --date 2027-04-01 --failed --wait --dir out --table T"
    )]
    Rerun(RerunArgs),
    /// Hold a job of a business date's run: it waits (or, with --skip, is passed over)
    /// when its turn comes, until released.
    #[command(
        after_help = "Examples:\n  jobnet2sfn hold daily_sales --date 2027-04-01 aggregate/join_sales --dir out --table T"
    )]
    Hold(HoldArgs),
    /// Release a held job (also one held in its definition).
    #[command(
        after_help = "Examples:\n  jobnet2sfn release daily_sales --date 2027-04-01 aggregate/join_sales --dir out --table T\n  jobnet2sfn release daily_sales --date 2027-04-01 /daily_sales --dir out --table T"
    )]
    Release(ReleaseArgs),
    /// Convert legacy definitions into native jobnet specs for a team to review and own.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Forecast the runs of scheduled jobnets: business date, start time, and why.
    #[command(
        after_help = "Examples:\n  jobnet2sfn plan examples/scheduled_with_calendar.yaml --from 2027-01-01 --to 2027-12-31\n  jobnet2sfn plan specs/*.yaml --from 2027-04-25 --to 2027-05-10 --output csv --skipped"
    )]
    Plan(PlanArgs),
    /// Write a synthetic jobnet spec of N jobs (for benchmarks and scale tests).
    #[command(hide = true)]
    Synth {
        /// Number of jobs.
        #[arg(long, default_value_t = 1000)]
        jobs: usize,
        /// Name of the root jobnet.
        #[arg(long, default_value = "synthetic")]
        name: String,
        /// Write an ajsprint (JP1) export instead: this many root jobnets of `--jobs` jobs.
        #[arg(long)]
        jp1_nets: Option<usize>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
struct Common {
    /// Input files: jobnet specs (*.yaml) or JP1/AJS3 definitions.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Force the input format instead of detecting it per file.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    input_format: InputFormat,
    /// Encoding of JP1 files: utf-8 or cp932 (Shift_JIS); detected when absent.
    #[arg(long, value_name = "ENC", value_parser = parse_encoding)]
    encoding: Option<crate::front::jp1::Encoding>,
    /// The date JP1 jobnets are registered for execution on AWS (the cut-over, YYYY-MM-DD):
    /// the start date of schedule rules written `sd=en`. Without it they are not converted.
    #[arg(long, value_name = "DATE")]
    registration_date: Option<chrono::NaiveDate>,
    /// Directory of job-type templates (*.json.tera) that add to or override the built-in ones; its resources/ directory overrides the CloudFormation resource templates.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Only these root jobnets (repeatable).
    #[arg(long = "jobnet", value_name = "NAME")]
    jobnets: Vec<String>,
    /// Make non-series-parallel nets series-parallel by adding edges (reported) instead of
    /// compiling exact joins.
    #[arg(long)]
    approximate: bool,
    /// Split any machine with more states than this into child machines.
    #[arg(long, value_name = "N", default_value_t = Budgets::default().states)]
    max_states: usize,
    /// Split any machine whose definition would be larger than this (AWS limit: 1,048,576).
    #[arg(long, value_name = "BYTES", default_value_t = Budgets::default().definition_bytes)]
    max_definition_bytes: usize,
    /// Split any machine whose worst-case run could log more history events than this
    /// (AWS limit: 25,000 per execution).
    #[arg(long, value_name = "N", default_value_t = Budgets::default().history_events)]
    max_history_events: u64,
    /// Refuse input files larger than this.
    #[arg(long, value_name = "BYTES", default_value_t = driver::DEFAULT_MAX_INPUT_BYTES)]
    max_input_bytes: u64,
    /// Diagnostics and results as text or as JSON (for CI).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Colour diagnostics (auto: only on a terminal, and not when NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Args)]
struct CompileArgs {
    #[command(flatten)]
    common: Common,
    /// Output directory.
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
    /// Exit 0 even when items are not yet compiled or unsupported (they stay in the report).
    #[arg(long)]
    allow_partial: bool,
    /// Retention of the state machines' log groups.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    log_retention_days: u32,
    /// Where the template takes definitions from: inline, or S3 (large outputs; upload
    /// `statemachines/` to the bucket given at deploy time).
    #[arg(long, value_enum, default_value_t = Definitions::Auto)]
    definitions: Definitions,
    /// Years of business-calendar data to write, e.g. `2027..2029` (default: this year
    /// and the next two). Fix it in CI for output that does not change at New Year.
    #[arg(long, value_name = "FIRST..LAST", value_parser = parse_years)]
    calendar_years: Option<std::ops::RangeInclusive<i32>>,
    /// Step Functions logging level.
    #[arg(long, value_name = "LEVEL", default_value = "ERROR", value_parser = ["ALL", "ERROR", "FATAL", "OFF"])]
    log_level: String,
    /// Add a CloudWatch Logs subscription filter to every log group, forwarding to the
    /// template parameters `LogForwardDestinationArn` (and `LogForwardRoleArn` for Kinesis
    /// or Firehose destinations).
    #[arg(long)]
    log_forward: bool,
    /// Seconds per source minute for waits, cutoffs and delay monitors: 60, or less to
    /// rehearse a jobnet with time scaled down (never for production).
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds_per_minute: u64,
    /// Split template.yaml into nested stacks (`stacks/*.yaml`) above this many resources
    /// (CloudFormation's limit: 500), or above 200 outputs or 1 MB.
    #[arg(long, value_name = "N", default_value_t = crate::back::cfn::MAX_RESOURCES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(4..=500))]
    max_stack_resources: usize,
    /// Do not keep run records (no idempotent reruns, status or hold; about a third of
    /// the states and bytes per job).
    #[arg(long)]
    no_run_records: bool,
    /// Scheduled jobnets publish an alert (status CALENDAR SKIP) when the calendar says a
    /// scheduled start is not a run day.
    #[arg(long)]
    alert_on_skip: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    common: Common,
    /// Exit 0 even when items are not yet compiled or unsupported.
    #[arg(long)]
    allow_partial: bool,
}

#[derive(Debug, Args)]
struct DeployArgs {
    /// A directory written by `jobnet2sfn compile`.
    out: PathBuf,
    /// Execution role for every state machine (the template's per-machine roles are the
    /// least-privilege alternative).
    #[arg(long, value_name = "ARN")]
    role_arn: String,
    /// A value for one of the manifest's parameters (repeatable): NAME=VALUE.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// AWS region (default: the credential chain's).
    #[arg(long)]
    region: Option<String>,
    /// Service endpoint, e.g. an emulator on loopback.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Prefix of the physical table and topic names.
    #[arg(long, default_value = "jobnet2sfn-")]
    prefix: String,
}

#[derive(Debug, Subcommand)]
enum HolidaysCommand {
    /// Load or update calendars/*.json in the calendar table (batched, idempotent). Changing
    /// the table changes run days without recompiling.
    #[command(
        after_help = "Examples:\n  jobnet2sfn holidays push out/ --table my-stack-BusinessCalendarTable-ABC\n  jobnet2sfn holidays push out/calendars/jp-business.json --table T --endpoint-url http://127.0.0.1:5000"
    )]
    Push(PushArgs),
}

#[derive(Debug, Args)]
struct PushArgs {
    /// Output directories (their calendars/), directories of calendar files, or files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The calendar table (the stack output BusinessCalendarTableName).
    #[arg(long)]
    table: String,
    /// AWS region (default: the credential chain's).
    #[arg(long)]
    region: Option<String>,
    /// Service endpoint, e.g. an emulator on loopback.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// JP1/AJS3 unit definitions (ajsprint output) → jobnet specs plus a coverage report.
    #[command(
        after_help = "Examples:\n  jobnet2sfn import jp1 export.txt -o jobnets/\n  jobnet2sfn import jp1 export.txt -o jobnets/ --encoding cp932\n  jobnet2sfn import jp1 export.txt -o jobnets/ --registration-date 2027-04-05"
    )]
    Jp1(ImportArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// ajsprint output files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Directory for the specs (`<jobnet>.yaml`) and `jp1-coverage.md`.
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
    /// Encoding of the files: utf-8 or cp932 (Shift_JIS); detected when absent.
    #[arg(long, value_name = "ENC", value_parser = parse_encoding)]
    encoding: Option<crate::front::jp1::Encoding>,
    /// The date the jobnets are registered for execution on AWS (the cut-over, YYYY-MM-DD):
    /// the start date of schedule rules written `sd=en`. Without it they are not converted.
    #[arg(long, value_name = "DATE")]
    registration_date: Option<chrono::NaiveDate>,
    /// Diagnostics as text or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Colour diagnostics (auto: only on a terminal).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanOutput {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
struct PlanArgs {
    #[command(flatten)]
    common: Common,
    /// First business date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    from: chrono::NaiveDate,
    /// Last business date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    to: chrono::NaiveDate,
    /// Forecast layout (diagnostics follow --format).
    #[arg(long, value_enum, default_value_t = PlanOutput::Table)]
    output: PlanOutput,
    /// Also list the dates a rule selected but that do not run, and why.
    #[arg(long)]
    skipped: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum View {
    /// The net as written: units, nested nets, dependencies.
    Source,
    /// The generated state machines.
    Generated,
}

#[derive(Debug, Args)]
struct GraphArgs {
    #[command(flatten)]
    common: Common,
    /// What to draw.
    #[arg(long, value_enum, default_value_t = View::Source)]
    view: View,
    /// Graph language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    syntax: GraphFormat,
    /// Write every view of every jobnet into this directory instead of printing one graph.
    #[arg(short, long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Entry point used by `main`; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Compile(a) => compile(a),
        Command::Check(a) => check(a),
        Command::Graph(a) => graph_cmd(a),
        Command::Plan(a) => plan_cmd(a),
        Command::Import(ImportCommand::Jp1(a)) => import_jp1(a),
        Command::Deploy(a) => deploy_cmd(a),
        Command::Holidays(HolidaysCommand::Push(a)) => holidays_push(a),
        Command::Status(a) => status_cmd(a),
        Command::Rerun(a) => rerun_cmd(a),
        Command::Hold(a) => hold_cmd(a),
        Command::Release(a) => release_cmd(a),
        Command::Synth {
            jobs,
            name,
            jp1_nets,
        } => {
            match jp1_nets {
                Some(nets) => print!("{}", crate::synth::jp1(nets, jobs)),
                None => print!(
                    "{}",
                    crate::synth::spec(&name, crate::synth::Shape::with_jobs(jobs))
                ),
            }
            EXIT_OK
        }
    }
}

fn use_color(c: ColorChoice) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
        }
    }
}

fn load(common: &Common, diags: &mut Diagnostics) -> Loaded {
    driver::load_all(
        &common.inputs,
        &LoadOptions {
            format: common.input_format,
            max_input_bytes: common.max_input_bytes,
            encoding: common.encoding,
            jp1: jp1_options(common.registration_date),
        },
        diags,
    )
}

fn jp1_options(registration_date: Option<chrono::NaiveDate>) -> crate::front::jp1::LoadOptions {
    crate::front::jp1::LoadOptions {
        registration_date,
        ..Default::default()
    }
}

fn compile_options(common: &Common) -> CompileOptions {
    CompileOptions {
        templates: common.templates.clone(),
        approximate: common.approximate,
        jobnets: common.jobnets.clone(),
        budgets: Budgets {
            states: common.max_states.max(10),
            definition_bytes: common.max_definition_bytes.max(10_000),
            history_events: common.max_history_events.max(100),
        },
        ..CompileOptions::default()
    }
}

fn print_diags(project: &Project, diags: &mut Diagnostics, color: bool) {
    diags.sort();
    let mut err = std::io::stderr().lock();
    for d in &diags.items {
        let _ = write!(err, "{}", diag::render(d, &project.sources, color));
    }
    let errors = diags.error_count();
    if errors > 0 {
        let _ = writeln!(err, "{errors} error(s)");
    }
}

/// The JSON document printed by `--format json`.
fn json_result(
    project: &Project,
    diags: &mut Diagnostics,
    compiled: Option<&Compiled>,
    exit: i32,
) -> serde_json::Value {
    diags.sort();
    let list: Vec<serde_json::Value> = diags
        .items
        .iter()
        .map(|d| diag::to_json(d, &project.sources))
        .collect();
    serde_json::json!({
        "exit_code": exit,
        "errors": diags.error_count(),
        "diagnostics": list,
        "report": compiled.map(|c| serde_json::to_value(&c.report).unwrap_or_default()),
    })
}

fn finish(
    common: &Common,
    project: &Project,
    diags: &mut Diagnostics,
    compiled: Option<&Compiled>,
    exit: i32,
    summary: &str,
) -> i32 {
    match common.format {
        OutputFormat::Json => {
            println!(
                "{}",
                crate::back::pretty(&json_result(project, diags, compiled, exit)).trim_end()
            );
        }
        OutputFormat::Text => {
            print_diags(project, diags, use_color(common.color));
            if !summary.is_empty() {
                println!("{summary}");
            }
        }
    }
    exit
}

fn partial_exit(compiled: &Compiled, allow_partial: bool) -> (i32, String) {
    let partial = compiled.partial_items();
    if partial > 0 && !allow_partial {
        (
            EXIT_PARTIAL,
            format!("{partial} item(s) not yet compiled or unsupported (see the report); pass --allow-partial to accept"),
        )
    } else {
        (EXIT_OK, String::new())
    }
}

fn compile(a: CompileArgs) -> i32 {
    let mut diags = Diagnostics::default();
    let loaded = load(&a.common, &mut diags);
    let project = &loaded.project;
    let mut opts = compile_options(&a.common);
    opts.cfn.log_retention_days = a.log_retention_days;
    opts.cfn.log_level = a.log_level.clone();
    opts.cfn.definitions = a.definitions;
    opts.calendar_years = a.calendar_years.clone();
    opts.cfn.log_forward = a.log_forward;
    opts.cfn.max_stack_resources = a.max_stack_resources;
    opts.emit.seconds_per_minute = a.seconds_per_minute;
    opts.emit.run_records = !a.no_run_records;
    opts.emit.skip_alert = a.alert_on_skip;
    if a.seconds_per_minute != 60 {
        diags.push(crate::diag::Diagnostic::warning(
            "W0701",
            format!(
                "--seconds-per-minute {}: waits, cutoffs and delay monitors run {:.1}x faster than the source says; for rehearsals, not production",
                a.seconds_per_minute,
                60.0 / a.seconds_per_minute as f64
            ),
        ));
    }
    let write_failed = |diags: &mut Diagnostics, e: std::io::Error| {
        diags.push(diag::Diagnostic::error(
            "E0008",
            format!("cannot write to `{}`: {e}", a.out.display()),
        ));
    };
    // Files are staged as they are made and moved into place only if the compile succeeds.
    let out = crate::output::Output::create(&a.out);
    // Validation runs even after front-end errors, so one run reports everything.
    let compiled = driver::compile_into(
        project,
        &loaded.jp1,
        &opts,
        &mut diags,
        driver::Sink::Write(&out),
    );
    let Some((compiled, written)) = compiled else {
        out.abort();
        return finish(&a.common, project, &mut diags, None, EXIT_INPUT, "");
    };
    if out.unguarded() {
        diags.push(
            diag::Diagnostic::warning(
                "W0009",
                format!(
                    "the file system of `{}` cannot lock files: a second compile into it at the same time would not have been refused",
                    a.out.display()
                ),
            )
            .hint("run one compile per output directory at a time"),
        );
    }
    let written = match written {
        Ok(()) => out.commit(),
        Err(e) => {
            out.abort();
            Err(e)
        }
    };
    if let Err(e) = written {
        write_failed(&mut diags, e);
        return finish(
            &a.common,
            project,
            &mut diags,
            Some(&compiled),
            EXIT_USAGE,
            "",
        );
    }
    let (exit, note) = partial_exit(&compiled, a.allow_partial);
    let t = &compiled.report.totals;
    let mut summary = format!(
        "compiled {} jobnet(s) into {} state machine(s) ({} states) in {}; report: {}",
        t.jobnets,
        t.machines,
        t.states,
        a.out.display(),
        a.out.join("report.md").display()
    );
    if !note.is_empty() {
        summary = format!("{summary}\n{note}");
    }
    let code = finish(
        &a.common,
        project,
        &mut diags,
        Some(&compiled),
        exit,
        &summary,
    );
    // The process exits next: freeing millions of small JSON values one by one would take
    // a sixth of the run on large inputs, and the OS reclaims them at once.
    std::mem::forget(compiled);
    std::mem::forget(loaded);
    code
}

fn check(a: CheckArgs) -> i32 {
    let mut diags = Diagnostics::default();
    let loaded = load(&a.common, &mut diags);
    let project = &loaded.project;
    let compiled = driver::compile_into(
        project,
        &loaded.jp1,
        &compile_options(&a.common),
        &mut diags,
        driver::Sink::Discard,
    )
    .map(|(c, _)| c);
    let (exit, summary) = match &compiled {
        None => (EXIT_INPUT, String::new()),
        Some(c) => match partial_exit(c, a.allow_partial) {
            (exit, note) if note.is_empty() => {
                (exit, format!("ok: {} jobnet(s)", c.report.totals.jobnets))
            }
            other => other,
        },
    };
    finish(
        &a.common,
        project,
        &mut diags,
        compiled.as_ref(),
        exit,
        &summary,
    )
}

fn import_jp1(a: ImportArgs) -> i32 {
    let mut diags = Diagnostics::default();
    let loaded = driver::load_all(
        &a.inputs,
        &LoadOptions {
            format: InputFormat::Jp1,
            encoding: a.encoding,
            jp1: jp1_options(a.registration_date),
            ..LoadOptions::default()
        },
        &mut diags,
    );
    let project = &loaded.project;
    let exit = if diags.has_errors() {
        EXIT_INPUT
    } else {
        let mut files: std::collections::BTreeMap<String, String> =
            crate::front::jp1::to_spec_yaml(project, &project.roots)
                .into_iter()
                .collect();
        let mut cov = String::from("# JP1 conversion coverage\n\n");
        for c in &loaded.jp1 {
            cov.push_str(&crate::front::jp1::render_markdown(c));
            cov.push('\n');
        }
        files.insert("jp1-coverage.md".into(), cov);
        match driver::write(&a.out, &files) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("error: cannot write to `{}`: {e}", a.out.display());
                return EXIT_USAGE;
            }
        }
    };
    if a.format == OutputFormat::Json {
        let mut v = json_result(project, &mut diags, None, exit);
        v["jp1"] = serde_json::to_value(&loaded.jp1).unwrap_or_default();
        println!("{}", crate::back::pretty(&v).trim_end());
    } else {
        print_diags(project, &mut diags, use_color(a.color));
        if exit == EXIT_OK {
            println!(
                "imported {} jobnet(s) into {} (coverage: {})",
                project.roots.len(),
                a.out.display(),
                a.out.join("jp1-coverage.md").display()
            );
        }
    }
    exit
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

fn holidays_push(a: PushArgs) -> i32 {
    use crate::aws::calendar;
    let mut items = Vec::new();
    let files = match calendar::calendar_files(&a.inputs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_INPUT;
        }
    };
    for f in &files {
        match calendar::items_of(f) {
            Ok(mut i) => items.append(&mut i),
            Err(e) => {
                eprintln!("error: {e:#}");
                return EXIT_INPUT;
            }
        }
    }
    let mut opts = crate::aws::deploy::DeployOptions::new(String::new());
    opts.endpoint_url = a.endpoint_url.clone();
    opts.region = a.region.clone();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("error: cannot start the async runtime");
        return EXIT_USAGE;
    };
    let result = runtime.block_on(async {
        let clients = crate::aws::AwsClients::connect(&opts).await;
        calendar::push(&clients.dynamodb, &a.table, items).await
    });
    match result {
        Ok(n) => {
            println!(
                "wrote {n} calendar item(s) from {} file(s) to {}",
                files.len(),
                a.table
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: push failed: {e:#}");
            EXIT_USAGE
        }
    }
}

fn deploy_cmd(a: DeployArgs) -> i32 {
    let mut opts = crate::aws::deploy::DeployOptions::new(a.role_arn.clone());
    opts.endpoint_url = a.endpoint_url.clone();
    opts.region = a.region.clone();
    opts.table_prefix = a.prefix.clone();
    opts.parameters = a.params.iter().cloned().collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_USAGE;
        }
    };
    match runtime.block_on(crate::aws::deploy::deploy_with(&a.out, &opts)) {
        Ok(d) => {
            for (name, arn) in &d.state_machines {
                println!("state machine {name}: {arn}");
            }
            for (id, name) in &d.tables {
                println!("table {id}: {name}");
            }
            for (id, arn) in &d.topics {
                println!("topic {id}: {arn}");
            }
            for note in &d.notes {
                eprintln!("note: {note}");
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: deploy failed: {e:#}");
            EXIT_USAGE
        }
    }
}

fn parse_encoding(s: &str) -> Result<crate::front::jp1::Encoding, String> {
    crate::front::jp1::Encoding::parse(s)
}

fn parse_years(s: &str) -> Result<std::ops::RangeInclusive<i32>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or("expected FIRST..LAST, e.g. 2027..2029")?;
    let (a, b): (i32, i32) = (
        a.parse().map_err(|_| format!("bad year `{a}`"))?,
        b.parse().map_err(|_| format!("bad year `{b}`"))?,
    );
    if !(1955..=2099).contains(&a) || !(a..=2099).contains(&b) {
        return Err("years must lie within 1955..2099, first not after last".into());
    }
    Ok(a..=b)
}

fn plan_cmd(a: PlanArgs) -> i32 {
    let mut diags = Diagnostics::default();
    let loaded = load(&a.common, &mut diags);
    let project = &loaded.project;
    if !diags.has_errors() {
        crate::passes::validate::validate(project, &[], &mut diags);
    }
    if a.from > a.to {
        eprintln!("error: --from {} is after --to {}", a.from, a.to);
        return EXIT_USAGE;
    }
    let rows = if diags.has_errors() {
        Vec::new()
    } else {
        crate::calendar::plan::plan(
            project,
            &a.common.jobnets,
            a.from,
            a.to,
            a.skipped,
            &mut diags,
        )
    };
    let color = use_color(a.common.color);
    let exit = if diags.has_errors() {
        EXIT_INPUT
    } else {
        EXIT_OK
    };
    if a.common.format == OutputFormat::Json {
        let v = json_result(project, &mut diags, None, exit);
        let mut v = v;
        v["plan"] = crate::calendar::plan::render_json(&rows);
        println!("{}", crate::back::pretty(&v).trim_end());
        return exit;
    }
    print_diags(project, &mut diags, color);
    if exit == EXIT_OK {
        let format = match a.output {
            PlanOutput::Table => crate::calendar::plan::PlanFormat::Table,
            PlanOutput::Csv => crate::calendar::plan::PlanFormat::Csv,
            PlanOutput::Json => crate::calendar::plan::PlanFormat::Json,
        };
        print!("{}", crate::calendar::plan::render(&rows, format));
    }
    exit
}

fn graph_cmd(a: GraphArgs) -> i32 {
    let mut diags = Diagnostics::default();
    let loaded = load(&a.common, &mut diags);
    let project = &loaded.project;
    let compiled = driver::compile_with(
        project,
        &loaded.jp1,
        &compile_options(&a.common),
        &mut diags,
    );
    let Some(compiled) = compiled else {
        return finish(&a.common, project, &mut diags, None, EXIT_INPUT, "");
    };
    let ext = match a.syntax {
        GraphFormat::Mermaid => "mmd",
        GraphFormat::Dot => "dot",
    };
    // (file name, graph) for every view of every selected jobnet, in a stable order.
    let mut graphs = Vec::new();
    for out in &compiled.outputs {
        if a.out.is_some() || a.view == View::Source {
            graphs.push((
                format!("{}.source.{ext}", out.machine_base),
                graph::source(project, out.root, a.syntax),
            ));
        }
        if a.out.is_some() || a.view == View::Generated {
            // Printed alone, the generated view is the root machine; -o writes them all.
            let all = a.out.is_some();
            for m in out.machines.iter().filter(|m| all || m.role == Role::Root) {
                graphs.push((
                    format!("{}.generated.{ext}", m.name),
                    graph::generated(&m.name, &m.definition(), a.syntax),
                ));
            }
        }
    }
    if let Some(dir) = &a.out {
        let files: std::collections::BTreeMap<String, String> = graphs.into_iter().collect();
        if let Err(e) = driver::write(dir, &files) {
            diags.push(diag::Diagnostic::error(
                "E0008",
                format!("cannot write to `{}`: {e}", dir.display()),
            ));
            return finish(&a.common, project, &mut diags, None, EXIT_USAGE, "");
        }
        let summary = format!("graphs written to {}", dir.display());
        return finish(&a.common, project, &mut diags, None, EXIT_OK, &summary);
    }
    if graphs.len() != 1 {
        let names: Vec<&str> = graphs.iter().map(|(n, _)| n.as_str()).collect();
        eprintln!(
            "error: this would print {} graphs ({}); choose one jobnet with --jobnet (and --view), or write them all with -o DIR",
            graphs.len(),
            names.join(", ")
        );
        return EXIT_USAGE;
    }
    print_diags(project, &mut diags, use_color(a.common.color));
    print!("{}", graphs[0].1);
    EXIT_OK
}

/// Where the run records live: the compiled directory (for runs.json) and the table.
#[derive(Debug, Args)]
struct RecordArgs {
    /// The jobnet (its name, root path, or record name in runs.json).
    jobnet: String,
    /// The compiled output directory (its runs.json names units and machines).
    #[arg(long, value_name = "DIR", default_value = "out")]
    dir: PathBuf,
    /// The run table (stack resource RunTable, or `<prefix>RunTable` after `deploy`).
    #[arg(long)]
    table: String,
    /// AWS region (default: the credential chain's).
    #[arg(long)]
    region: Option<String>,
    /// Service endpoint, e.g. an emulator on loopback.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Output: a table, or JSON for scripts.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// The run's generation, for jobnets that run several times a business date (multiple
    /// launch, several start times): the start time `HHMM` of a scheduled run, or the
    /// `generation` given at start.
    #[arg(long, value_name = "GENERATION")]
    generation: Option<String>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    rec: RecordArgs,
    /// The run's business date; without it, every run of the jobnet.
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["from", "only", "after", "failed"])))]
struct RerunArgs {
    #[command(flatten)]
    rec: RecordArgs,
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: String,
    /// Run this unit and everything after it again (succeeded or not).
    #[arg(long, value_name = "UNIT")]
    from: Option<String>,
    /// Run this unit alone again (a nested jobnet: all of it).
    #[arg(long, value_name = "UNIT")]
    only: Option<String>,
    /// Run everything after this unit again.
    #[arg(long, value_name = "UNIT")]
    after: Option<String>,
    /// Run again from every job that ended abnormally.
    #[arg(long)]
    failed: bool,
    /// Wait for the new execution to end (exit 0 when it succeeds, 4 when it does not).
    #[arg(long)]
    wait: bool,
}

#[derive(Debug, Args)]
struct HoldArgs {
    #[command(flatten)]
    rec: RecordArgs,
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: String,
    /// The job, by path (`/net/job`) or relative to the jobnet (`job`, `inner/job`).
    unit: String,
    /// Pass the job over when its turn comes (successors run) instead of waiting.
    #[arg(long)]
    skip: bool,
}

#[derive(Debug, Args)]
struct ReleaseArgs {
    #[command(flatten)]
    rec: RecordArgs,
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: String,
    unit: String,
}

/// Runs one operations command against the run table.
fn with_records<T: serde::Serialize>(
    rec: &RecordArgs,
    date: Option<&str>,
    op: impl for<'a> FnOnce(
        &'a crate::aws::AwsClients,
        &'a crate::aws::runs::JobnetMap,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = anyhow::Result<T>> + 'a>,
    >,
    show: impl FnOnce(&T) -> String,
) -> i32 {
    if let Some(d) = date {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            eprintln!("error: `{d}` is not a date (YYYY-MM-DD)");
            return EXIT_USAGE;
        }
    }
    let map = match crate::aws::runs::RunMap::read(&rec.dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_USAGE;
        }
    };
    let jobnet = match map.jobnet(&rec.jobnet) {
        Ok(j) => j.clone(),
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_INPUT;
        }
    };
    if let Some(g) = &rec.generation {
        let ok = !g.is_empty()
            && g.len() <= 32
            && g.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            eprintln!("error: --generation `{g}` must be 1 to 32 letters, digits, `-` or `_` (a scheduled run's is its start time, e.g. 0930)");
            return EXIT_USAGE;
        }
    }
    match (jobnet.generations, &rec.generation) {
        (true, None) if date.is_some() => {
            eprintln!(
                "error: jobnet `{}` runs several times a business date: give --generation (the start time HHMM of a scheduled run, or the generation given at start)",
                jobnet.name
            );
            return EXIT_USAGE;
        }
        (false, Some(g)) => {
            eprintln!(
                "error: jobnet `{}` runs once a business date; --generation {g} does not apply",
                jobnet.name
            );
            return EXIT_USAGE;
        }
        _ => {}
    }
    let mut opts = crate::aws::deploy::DeployOptions::new(String::new());
    opts.endpoint_url = rec.endpoint_url.clone();
    opts.region = rec.region.clone();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("error: cannot start the async runtime");
        return EXIT_USAGE;
    };
    let result = runtime.block_on(async {
        let clients = crate::aws::AwsClients::connect(&opts).await;
        op(&clients, &jobnet).await
    });
    match result {
        Ok(v) => {
            match rec.format {
                OutputFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                OutputFormat::Text => print!("{}", show(&v)),
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_INPUT
        }
    }
}

fn status_cmd(a: StatusArgs) -> i32 {
    use crate::aws::runs;
    let table = a.rec.table.clone();
    let date = a
        .date
        .clone()
        .map(|d| crate::back::records::run_segment(&d, a.rec.generation.as_deref()));
    let listing = date.is_none();
    with_records(
        &a.rec,
        a.date.as_deref(),
        move |clients, jobnet| {
            Box::pin(async move {
                match date {
                    Some(d) => runs::status(clients, &table, jobnet, &d).await,
                    None => runs::runs(clients, &table, jobnet).await,
                }
            })
        },
        move |rows| {
            let mut out = runs::table(rows, listing);
            if !listing {
                out.push_str(&format!("{}\n", runs::summary(rows)));
            }
            out
        },
    )
}

fn rerun_cmd(a: RerunArgs) -> i32 {
    use crate::aws::runs::{self, Selection};
    let selection = match (&a.from, &a.only, &a.after) {
        (Some(u), _, _) => Some(Selection::From(u.clone())),
        (_, Some(u), _) => Some(Selection::Only(u.clone())),
        (_, _, Some(u)) => Some(Selection::After(u.clone())),
        _ => None,
    };
    let table = a.rec.table.clone();
    let date = a.date.clone();
    let generation = a.rec.generation.clone();
    let wait = a.wait;
    let succeeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ok = std::sync::Arc::clone(&succeeded);
    let code = with_records(
        &a.rec,
        Some(&a.date),
        move |clients, jobnet| {
            Box::pin(async move {
                let selection = match selection {
                    Some(Selection::From(u)) => Selection::From(jobnet.unit(&u)?.path.clone()),
                    Some(Selection::Only(u)) => Selection::Only(jobnet.unit(&u)?.path.clone()),
                    Some(Selection::After(u)) => Selection::After(jobnet.unit(&u)?.path.clone()),
                    _ => Selection::Failed,
                };
                let r = runs::rerun(
                    clients,
                    &table,
                    jobnet,
                    &date,
                    generation.as_deref(),
                    &selection,
                )
                .await?;
                let mut status = None;
                if wait {
                    let end = clients
                        .wait_execution(&r.execution_arn, std::time::Duration::from_secs(86_400))
                        .await?;
                    ok.store(
                        end.status == "SUCCEEDED",
                        std::sync::atomic::Ordering::SeqCst,
                    );
                    status = Some(end.status);
                }
                Ok(
                    serde_json::json!({"execution": r.execution_arn, "name": r.execution_name, "reset": r.reset, "status": status}),
                )
            })
        },
        |v| {
            let reset = v["reset"].as_array().map_or(0, Vec::len);
            let mut s = format!(
                "started {} ({reset} job(s) reset to run again)\n",
                v["name"].as_str().unwrap_or_default()
            );
            if let Some(st) = v["status"].as_str() {
                s.push_str(&format!("ended {st}\n"));
            }
            s
        },
    );
    if code == EXIT_OK && !succeeded.load(std::sync::atomic::Ordering::SeqCst) {
        EXIT_RUN_FAILED
    } else {
        code
    }
}

fn hold_cmd(a: HoldArgs) -> i32 {
    let date = crate::back::records::run_segment(&a.date, a.rec.generation.as_deref());
    let (table, unit, skip) = (a.rec.table.clone(), a.unit.clone(), a.skip);
    with_records(
        &a.rec,
        Some(&a.date),
        move |clients, jobnet| {
            Box::pin(async move {
                crate::aws::runs::hold(clients, &table, jobnet, &date, &unit, skip).await
            })
        },
        move |path| {
            format!(
                "held {path}: it {} when its turn comes, until released\n",
                if skip { "is passed over" } else { "waits" }
            )
        },
    )
}

fn release_cmd(a: ReleaseArgs) -> i32 {
    let date = crate::back::records::run_segment(&a.date, a.rec.generation.as_deref());
    let (table, unit) = (a.rec.table.clone(), a.unit.clone());
    with_records(
        &a.rec,
        Some(&a.date),
        move |clients, jobnet| {
            Box::pin(async move {
                crate::aws::runs::release(clients, &table, jobnet, &date, &unit).await
            })
        },
        |path| format!("released {path}\n"),
    )
}
