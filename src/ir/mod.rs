//! The one intermediate representation every front-end produces and every back-end reads.
//!
//! It follows the contract in `jobnet-semantics.md`, not any input syntax: a project holds
//! root jobnets, units live in one arena addressed by [`UnitId`], dependencies are edges
//! between siblings of one net, and every node keeps the [`Span`] it came from.

pub mod arena;
pub mod time;

pub use arena::{Arena, Id};
pub use time::{ClockTime, Date};

use crate::diag::{SourceMap, Span};
use indexmap::IndexMap;

pub type UnitId = Id<Unit>;
pub type CalendarId = Id<Calendar>;

/// Everything one compiler run knows: sources, units, calendars and the root jobnets.
#[derive(Debug, Default)]
pub struct Project {
    pub sources: SourceMap,
    pub units: Arena<Unit>,
    pub calendars: Arena<Calendar>,
    /// Root jobnets in source order; each becomes one state machine family.
    pub roots: Vec<UnitId>,
}

impl Project {
    /// The children of a net unit (empty for anything else).
    pub fn children(&self, id: UnitId) -> &[UnitId] {
        match &self.units[id].kind {
            UnitKind::Net(net) => &net.children,
            _ => &[],
        }
    }

    /// Every unit below `root` (including it), depth first in source order.
    pub fn descendants(&self, root: UnitId) -> Vec<UnitId> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(u) = stack.pop() {
            out.push(u);
            stack.extend(self.children(u).iter().rev().copied());
        }
        out
    }

    pub fn calendar_by_name(&self, name: &str) -> Option<CalendarId> {
        self.calendars
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(id, _)| id)
    }
}

/// A unit: a job, a net, a judgment, a wait, … Anything a legacy scheduler draws as a box.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The name as written in the source (may be Japanese).
    pub name: String,
    /// Full unit path from the top of the source (`/group/net/job`), unique in a project.
    pub path: String,
    pub parent: Option<UnitId>,
    pub kind: UnitKind,
    /// How a unit with several predecessors starts.
    pub join: JoinKind,
    /// A recovery unit runs only when its predecessor ends abnormally.
    pub recovery: bool,
    pub comment: Option<String>,
    /// Hold: the unit waits for an operator's release before it runs.
    pub hold: bool,
    /// Root jobnets only: a run is held (as by `hold`) when the jobnet's previous run ended
    /// so (JP1 `ha=w`/`ha=a`), until released or until that run ends normally after all.
    pub hold_after: Option<PreviousEnd>,
    /// Start- and end-delay monitors: at most one for every run (no `rules`), and any number
    /// for the runs of given schedule rules.
    pub start_delay: Vec<DelayMonitor>,
    pub end_delay: Vec<DelayMonitor>,
    /// Kill the unit after this long; it then ends with `on_timeout` (abnormal by default).
    pub cutoff: Option<Cutoff>,
    /// Expected duration in minutes (for critical-path figures and end-delay monitoring).
    pub expected_minutes: Option<u32>,
    /// Parameters the front-end kept but nothing maps yet; listed in the conversion report.
    pub unmapped: Vec<Unmapped>,
    pub span: Span,
}

impl Unit {
    pub fn new(
        name: impl Into<String>,
        path: impl Into<String>,
        kind: UnitKind,
        span: Span,
    ) -> Self {
        Unit {
            name: name.into(),
            path: path.into(),
            parent: None,
            kind,
            join: JoinKind::And,
            recovery: false,
            comment: None,
            hold: false,
            hold_after: None,
            start_delay: Vec::new(),
            end_delay: Vec::new(),
            cutoff: None,
            expected_minutes: None,
            unmapped: Vec::new(),
            span,
        }
    }

    /// Held in the definition in either way: every run, or after the previous run's end.
    pub fn held(&self) -> bool {
        self.hold || self.hold_after.is_some()
    }

    /// The hold after the previous run's end, unless every run is held anyway.
    pub fn held_after(&self) -> Option<PreviousEnd> {
        self.hold_after.filter(|_| !self.hold)
    }

    pub fn as_net(&self) -> Option<&Net> {
        match &self.kind {
            UnitKind::Net(n) => Some(n),
            _ => None,
        }
    }
}

/// A source parameter that has no mapping (yet), kept so the report can list it.
#[derive(Debug, Clone)]
pub struct Unmapped {
    pub key: String,
    pub value: String,
    pub reason: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Start when every predecessor has ended normally (the default).
    And,
    /// Start once, when the first predecessor ends normally.
    Or,
}

#[derive(Debug, Clone)]
pub enum UnitKind {
    Job(Job),
    Net(Net),
    Judgment(Judgment),
    /// Does nothing; used for OR jobs, placeholders and join points.
    NoOp,
    Wait(TimeWait),
    /// Wait for a file (an S3 object): until it exists, or for its next write or deletion.
    FileWait(FileWait),
    /// Wait for another jobnet's run of the same business date (connector, `eun`).
    WaitFor(WaitFor),
    /// Wait for an event (JP1 event reception monitoring in a jobnet): ends when a matching
    /// event arrives after the unit started.
    EventWait(EventMatch),
    /// A unit type the back-ends cannot express; compiled as a no-op only with
    /// `--allow-partial`, and always listed in the report.
    Unsupported {
        type_name: String,
        reason: String,
    },
}

impl UnitKind {
    pub fn label(&self) -> &'static str {
        match self {
            UnitKind::Job(_) => "job",
            UnitKind::Net(_) => "jobnet",
            UnitKind::Judgment(_) => "judgment",
            UnitKind::NoOp => "no-op",
            UnitKind::Wait(_) => "time wait",
            UnitKind::FileWait(_) => "file wait",
            UnitKind::WaitFor(_) => "cross-jobnet wait",
            UnitKind::EventWait(_) => "event wait",
            UnitKind::Unsupported { .. } => "unsupported",
        }
    }
}

/// A job: a piece of work run by a job type (template).
#[derive(Debug, Clone)]
pub struct Job {
    /// Name of the job-type template (`lambda`, `ecs`, `ecs-windows`, `batch`, `glue`,
    /// `statemachine`, `noop`, or a user template).
    pub job_type: String,
    /// Parameters handed to the template (`command`, `environment`, `function`, …).
    pub params: IndexMap<String, serde_json::Value>,
    pub end: EndJudgment,
    pub retry: Option<Retry>,
    /// The source location of the job type (for "unknown job type" errors).
    pub type_span: Span,
}

/// How a job's end status is decided.
#[derive(Debug, Clone, PartialEq)]
pub enum EndJudgment {
    /// rc <= warning (or rc <= abnormal when no warning threshold): normal;
    /// warning < rc <= abnormal: warning end; rc > abnormal: abnormal end.
    ReturnCode {
        warning: Option<i64>,
        abnormal: i64,
    },
    AlwaysNormal,
    AlwaysAbnormal,
    /// Normal when the file exists after the job ran.
    FileExists(String),
    /// Normal when the job modified the file.
    FileModified(String),
}

impl Default for EndJudgment {
    fn default() -> Self {
        EndJudgment::ReturnCode {
            warning: None,
            abnormal: 0,
        }
    }
}

/// Automatic retry of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub max_attempts: u32,
    pub interval_seconds: u32,
    /// Retry only when the return code is in this inclusive range.
    pub return_codes: Option<(i64, i64)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cutoff {
    pub minutes: u32,
    pub on_timeout: EndStatus,
    pub span: Span,
}

/// How the previous run of a jobnet must have ended for the next run to be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousEnd {
    /// With a warning or abnormally.
    Warning,
    /// Abnormally.
    Abnormal,
}

impl PreviousEnd {
    /// The spelling in specs and reports.
    pub fn spec_name(self) -> &'static str {
        match self {
            PreviousEnd::Warning => "after_warning",
            PreviousEnd::Abnormal => "after_abnormal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndStatus {
    Normal,
    Warning,
    Abnormal,
}

/// A net: nested or root. Edges connect its children.
#[derive(Debug, Clone, Default)]
pub struct Net {
    pub children: Vec<UnitId>,
    pub edges: Vec<Edge>,
    /// Only meaningful on root nets (nested nets follow their root's run).
    pub schedule: Option<Schedule>,
    pub calendar: Option<CalendarRef>,
    pub concurrency: Concurrency,
    pub start_conditions: Option<StartConditions>,
    /// Default parameters for every job below this net, overridden per job.
    pub job_defaults: IndexMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// `to` starts after `from` ended normally (or with a warning).
    Normal,
    /// From a judgment to a dependent unit: runs only when the judgment is true.
    Conditional,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: UnitId,
    pub to: UnitId,
    pub kind: EdgeKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct CalendarRef {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Concurrency {
    /// Several runs of one business date allowed (each its own generation).
    pub multiple_launch: bool,
    /// Maximum number of jobs of this net running at once (None: unlimited).
    pub max_parallel_jobs: Option<u32>,
    pub span: Option<Span>,
}

/// A judgment unit: if-then. True runs the dependent units, false bypasses them.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgment {
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The direct predecessor's return code compared with `value`.
    ReturnCode { op: CmpOp, value: i64 },
    /// The predecessor's return code inside (or outside) an inclusive range.
    ReturnCodeRange { inside: bool, low: i64, high: i64 },
    /// An object exists (or not) in storage; `path` is `s3://bucket/key` after mapping.
    FileExists { path: String, exists: bool },
    /// A run variable (from the execution input `vars`) compared with a value.
    Variable {
        name: String,
        op: CmpOp,
        value: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn parse(s: &str) -> Option<CmpOp> {
        Some(match s {
            "eq" | "==" => CmpOp::Eq,
            "ne" | "!=" => CmpOp::Ne,
            "gt" | ">" => CmpOp::Gt,
            "ge" | ">=" => CmpOp::Ge,
            "lt" | "<" => CmpOp::Lt,
            "le" | "<=" => CmpOp::Le,
            _ => return None,
        })
    }
}

/// A wait inside a net: until a clock time of the business date, or for an interval.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeWait {
    Until(ClockTime),
    Minutes(u32),
}

/// Whether `${name}` in a string is a deploy-time value (a template parameter filled in
/// through `DefinitionSubstitutions`): a name of letters, digits and `_`.
pub fn is_deploy_time_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Bucket and key of an `s3://bucket/key` path (both non-empty); `None` for any other
/// path, which names a file on a legacy host.
pub fn s3_object(path: &str) -> Option<(&str, &str)> {
    let (bucket, key) = path.strip_prefix("s3://")?.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// Waits for a file (JP1's file monitoring job), looking again every `interval_seconds`.
/// A cutoff bounds the wait.
#[derive(Debug, Clone, PartialEq)]
pub struct FileWait {
    /// `s3://bucket/key`, or a legacy path (looked up in the legacy files bucket).
    pub path: String,
    pub interval_seconds: u32,
    /// `None`: until the object exists, already there or later (JP1 `flco=y`), each look
    /// a HeadObject. `Some`: until the object's S3 events of these kinds happen after the
    /// wait began, recorded by an EventBridge rule like an event wait's (JP1 watches for a
    /// change from what was there when the wait began).
    pub events: Option<ObjectEvents>,
}

impl FileWait {
    /// Seconds between looks when the source does not say (JP1's default too).
    pub const DEFAULT_INTERVAL: u32 = 60;

    /// Whether an EventBridge rule can match the object's events: a `${…}` placeholder in
    /// the path is filled in only when the machine runs.
    pub fn matchable(path: &str) -> bool {
        !path.contains("${")
    }
}

/// Which of an S3 object's events a rule matches: S3 tells writes (`Object Created`, a
/// creation or an overwrite) and deletions (`Object Deleted`) apart, nothing finer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectEvents {
    pub written: bool,
    pub deleted: bool,
}

impl ObjectEvents {
    pub const WRITTEN: ObjectEvents = ObjectEvents {
        written: true,
        deleted: false,
    };

    /// The `detail-type`s of the S3 events on EventBridge.
    pub fn detail_types(self) -> Vec<&'static str> {
        self.pick("Object Created", "Object Deleted")
    }

    /// How the spec names them (`when:`): `written`, `deleted`.
    pub fn names(self) -> Vec<&'static str> {
        self.pick("written", "deleted")
    }

    /// `written` and `deleted`, in that order, for the kinds that are set.
    fn pick(self, written: &'static str, deleted: &'static str) -> Vec<&'static str> {
        [(self.written, written), (self.deleted, deleted)]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect()
    }
}

/// Waits for a unit of another jobnet (same business date) to end normally.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitFor {
    /// Path or name of the other jobnet (or unit in it).
    pub target: String,
    pub span: Span,
}

/// Start- or end-delay monitoring: alert, stop nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct DelayMonitor {
    pub at: TimeRef,
    /// Names of the root's schedule rules whose runs this deadline watches (JP1 gives a delay
    /// per rule). Empty: every run that no other monitor of the unit names, including runs
    /// started by hand.
    pub rules: Vec<String>,
    pub span: Span,
}

impl DelayMonitor {
    /// A deadline for every run.
    pub fn every_run(at: TimeRef, span: Span) -> Self {
        DelayMonitor {
            at,
            rules: Vec::new(),
            span,
        }
    }
}

/// Whether a delay monitor of `root` watches the runs of named schedule rules only: the
/// runs then carry the name of the rule that started them (`rule` in the run input). The
/// root's own start delay is not monitored (its run starts when its schedule fires).
pub fn rule_delays(project: &Project, root: UnitId) -> bool {
    project.descendants(root).into_iter().any(|u| {
        let unit = &project.units[u];
        let start: &[DelayMonitor] = if u == root { &[] } else { &unit.start_delay };
        start
            .iter()
            .chain(&unit.end_delay)
            .any(|m| !m.rules.is_empty())
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimeRef {
    /// A clock time of the business date (up to 47:59).
    Absolute(ClockTime),
    /// Minutes after the start of the root net.
    AfterRootStart(u32),
    /// Minutes after the start of the enclosing net.
    AfterUpperStart(u32),
    /// Minutes after the unit's own start.
    AfterOwnStart(u32),
    /// After the unit's expected duration.
    ExpectedDuration,
}

/// Start conditions: the root net starts when these events happen.
#[derive(Debug, Clone, PartialEq)]
pub struct StartConditions {
    pub all: bool,
    pub events: Vec<StartEvent>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StartEvent {
    /// An object is written (created or overwritten) or deleted in storage: an EventBridge
    /// rule on the object's S3 events.
    File { path: String, events: ObjectEvents },
    /// An event on the account's default EventBridge bus, as the `eventbridge` job type
    /// sends them (JP1 event sending is migrated to it).
    EventReceived(EventMatch),
    /// Something the back-ends cannot watch; listed in the report.
    Other { kind: String, detail: String },
}

/// Which events start a jobnet: every given field must match (an absent one matches
/// anything). `id`, `message`, `severities` and `attributes` are read from the event's
/// `detail.data`, where the `eventbridge` job type puts what a JP1 event carried.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMatch {
    pub source: String,
    pub detail_type: String,
    /// JP1 event id (basic code) as [`event_id`] writes it.
    pub id: Option<String>,
    pub message: Option<TextMatch>,
    /// Any of these severities (`Error`, `Warning`, …).
    pub severities: Vec<String>,
    /// Extended attributes, each with its exact value.
    pub attributes: Vec<(String, String)>,
}

impl EventMatch {
    /// What the `eventbridge` job type sends unless told otherwise, and what a migrated
    /// JP1 event sending job sends.
    pub const SOURCE: &'static str = "jobnet2sfn";
    pub const JP1_DETAIL_TYPE: &'static str = "JP1 event";
}

/// What of a root jobnet's start conditions can be watched: the back-end writes one
/// EventBridge rule per watched event, each starting the root machine through the gate
/// (`crate::back::schedule`; docs/decisions.md, "Start conditions are EventBridge rules").
#[derive(Debug, Clone, PartialEq)]
pub struct StartWatch {
    /// What each rule watches, in source order.
    pub watched: Vec<Watched>,
    /// The events that cannot be watched, as the report names them.
    pub unwatched: Vec<String>,
    /// Every rule must fire (within one business date) before the run starts.
    pub all: bool,
}

/// What one start condition's rule matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// Events of an S3 object; `*` in the key matches any text. A bucket written
    /// `${Name}` is the template parameter `Name`.
    Object {
        bucket: String,
        key: String,
        events: ObjectEvents,
    },
    /// An event on the default bus (as the `eventbridge` job type sends them).
    Event(EventMatch),
}

impl StartEvent {
    /// What an EventBridge rule watches for this event, or how the report names an event
    /// that cannot be watched.
    pub fn watch(&self) -> Result<Watched, String> {
        match self {
            StartEvent::File { path, .. } if !FileWait::matchable(path) => Err(format!(
                "file `{path}` (a `${{…}}` placeholder cannot be matched: write the bucket and key)"
            )),
            StartEvent::File { path, events } => match s3_object(path) {
                Some((bucket, key)) => Ok(Watched::Object {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    events: *events,
                }),
                None => Err(format!("file `{path}` (not s3://bucket/key)")),
            },
            StartEvent::EventReceived(m) => Ok(Watched::Event(m.clone())),
            StartEvent::Other { kind, detail } if detail.is_empty() => Err(format!("`{kind}`")),
            StartEvent::Other { kind, detail } => Err(format!("`{kind}` ({detail})")),
        }
    }
}

/// The template parameter naming the bucket that stands in for legacy file systems: a
/// legacy path becomes the key [`legacy_key`] in it.
pub const LEGACY_FILE_BUCKET: &str = "LegacyFileBucket";

/// The description of the [`LEGACY_FILE_BUCKET`] template parameter.
pub const LEGACY_FILE_BUCKET_DESCRIPTION: &str = "Bucket holding the files on legacy (non-S3) paths that tests, waits and jobs' environment files read, each at its path as key (file waits for a write or deletion need its EventBridge notifications on)";

/// The object key a legacy path is looked up under: its segments joined by `/`, a drive
/// letter kept as a segment (`C:\in\a.txt` → `C/in/a.txt`, `/data/a` → `data/a`), so
/// that a copy of the old tree into the bucket keeps every check working.
pub fn legacy_key(path: &str) -> String {
    let key = path
        .split(['/', '\\'])
        .map(|s| s.strip_suffix(':').unwrap_or(s))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    if key.is_empty() {
        "_".into()
    } else {
        key
    }
}

/// The units of a root jobnet that wait for an event the jobnet's event recorder records,
/// in source order: event waits, and file waits for an object's events. Each gets an
/// EventBridge rule into the recorder.
pub fn event_waits(project: &Project, root: UnitId) -> Vec<UnitId> {
    project
        .descendants(root)
        .into_iter()
        .filter(|&u| waits_for_event(&project.units[u].kind))
        .collect()
}

/// Whether a unit of this kind waits for an event the recorder records.
pub fn waits_for_event(kind: &UnitKind) -> bool {
    match kind {
        UnitKind::EventWait(_) => true,
        UnitKind::FileWait(w) => w.events.is_some() && FileWait::matchable(&w.path),
        _ => false,
    }
}

/// The watch of `root`'s start conditions: `None` without any, when none can be watched,
/// or when all must happen (`all`, JP1's `cond=and`) and one of them cannot be.
pub fn start_watch(project: &Project, root: UnitId) -> Option<StartWatch> {
    if !project.roots.contains(&root) {
        return None;
    }
    let conditions = project.units[root].as_net()?.start_conditions.as_ref()?;
    let mut watched = Vec::new();
    let mut unwatched = Vec::new();
    for e in &conditions.events {
        match e.watch() {
            Ok(w) => watched.push(w),
            Err(why) => unwatched.push(why),
        }
    }
    let all = conditions.all && conditions.events.len() > 1;
    // All must happen: one that cannot be watched never does.
    if watched.is_empty() || (all && !unwatched.is_empty()) {
        return None;
    }
    Some(StartWatch {
        watched,
        unwatched,
        all,
    })
}

/// A text test EventBridge can make.
#[derive(Debug, Clone, PartialEq)]
pub enum TextMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    /// `*` matches any text.
    Wildcard(String),
}

impl TextMatch {
    /// The tests' names as the spec and EventBridge's patterns write them.
    pub const KINDS: [&'static str; 4] = ["exact", "prefix", "suffix", "wildcard"];

    /// The test's name (one of [`TextMatch::KINDS`]) and its text.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            TextMatch::Exact(t) => ("exact", t),
            TextMatch::Prefix(t) => ("prefix", t),
            TextMatch::Suffix(t) => ("suffix", t),
            TextMatch::Wildcard(t) => ("wildcard", t),
        }
    }

    /// The test named `kind` (one of [`TextMatch::KINDS`]) on `text`.
    pub fn from_parts(kind: &str, text: String) -> Option<TextMatch> {
        Some(match kind {
            "exact" => TextMatch::Exact(text),
            "prefix" => TextMatch::Prefix(text),
            "suffix" => TextMatch::Suffix(text),
            "wildcard" => TextMatch::Wildcard(text),
            _ => return None,
        })
    }
}

/// A JP1 event id (`basic[:extended]`, hexadecimal) as sent and matched: the basic code in
/// JP1's own form, eight upper-case hexadecimal digits, so that `evsid=1` and
/// `evwid=00000001:0` meet. `None` for text that is no such code.
pub fn event_id(text: &str) -> Option<String> {
    let basic = text.split(':').next().unwrap_or("").trim();
    if basic.is_empty() || basic.len() > 8 || !basic.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(basic, 16)
        .ok()
        .map(|n| format!("{n:08X}"))
}

/// A calendar of open (business) and closed days.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    /// Inherit every setting of this calendar, then apply our own on top.
    pub inherits: Option<String>,
    /// Open/closed by weekday, Monday first; None leaves the inherited value.
    pub weekdays: [Option<DayKind>; 7],
    /// Japanese national holidays (computed by rule) are closed days.
    pub japanese_holidays: Option<bool>,
    /// Explicit dates, later entries win.
    pub dates: Vec<(Date, DayKind)>,
    /// The business day starts at this time (e.g. 05:00: a 02:00 start belongs to the day before).
    pub day_start: Option<ClockTime>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Open,
    Closed,
}

/// When a root jobnet runs.
/// Time zone of schedules (and of the business dates of start conditions) when the source
/// names none: the systems this tool migrates run on Japan time.
pub const DEFAULT_TIMEZONE: &str = "Asia/Tokyo";

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub rules: Vec<ScheduleRule>,
    /// Do not run on days when any of these jobnets runs.
    pub exclusive_with: Vec<String>,
    pub timezone: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRule {
    /// What delay monitors call the rule (JP1: its rule number); runs started under it carry
    /// it when a monitor needs it.
    pub name: Option<String>,
    pub days: DayRule,
    pub times: Vec<ClockTime>,
    pub on_closed_day: ClosedDayAction,
    /// Move the computed date by this many open days (reckoned schedule).
    pub reckon: Option<Reckon>,
    /// Repeat every this many minutes after each start time, within the business day.
    pub repeat_minutes: Option<u32>,
    /// Select days only in every n-th month (a quarterly close: the last open day of every
    /// third month). Applies to the nominal date, as validity does.
    pub month_cycle: Option<MonthCycle>,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DayRule {
    Daily,
    Weekdays(Vec<chrono::Weekday>),
    /// Day numbers of the month (1..=31).
    DaysOfMonth(Vec<u32>),
    /// The n-th open day of the month (1-based).
    NthOpenDay(u32),
    /// The n-th closed day of the month.
    NthClosedDay(u32),
    /// n days before the month end (0 is the last day).
    DaysBeforeMonthEnd(u32),
    /// The n-th open day counted back from the month end (1 is the last open day).
    NthLastOpenDay(u32),
    /// The n-th given weekday of the month (5 or -1 meaning the last).
    NthWeekday {
        weekday: chrono::Weekday,
        n: i32,
    },
    Dates(Vec<Date>),
    EveryNDays {
        n: u32,
        from: Date,
    },
    EveryNWeeks {
        n: u32,
        from: Date,
    },
    EveryNMonths {
        n: u32,
        from: Date,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedDayAction {
    Skip,
    Previous { max_days: u32 },
    Next { max_days: u32 },
    RunAnyway,
}

/// Every `every`-th month, counted from `year`/`month` (earlier months are not selected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthCycle {
    pub every: u32,
    pub year: i32,
    pub month: u32,
}

impl MonthCycle {
    /// Whether the cycle selects the month of `d`.
    pub fn selects(&self, d: Date) -> bool {
        use chrono::Datelike;
        let months = (i64::from(d.year()) - i64::from(self.year)) * 12 + i64::from(d.month())
            - i64::from(self.month);
        self.every > 0 && months >= 0 && months % i64::from(self.every) == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reckon {
    /// Positive: later open days; negative: earlier.
    pub open_days: i32,
    pub max_days: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_objects_have_a_bucket_and_a_key() {
        assert_eq!(s3_object("s3://bkt/in/a.csv"), Some(("bkt", "in/a.csv")));
        for not_s3 in [
            "s3://bkt",
            "s3://bkt/",
            "s3:///k",
            "C:\\in\\a.txt",
            "/data/a",
        ] {
            assert_eq!(s3_object(not_s3), None, "{not_s3}");
        }
    }
}
