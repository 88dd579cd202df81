//! Unit tree → IR.
//!
//! Job groups are folders: they contribute a path prefix and a calendar, and their jobnets
//! become root jobnets. Every parameter of every unit gets a [`Status`]: mapped, ignored as
//! layout, approximated (how) or unsupported (what to do). Unsupported parameters of units
//! that exist in the IR are also kept in `Unit.unmapped`, so nothing is dropped silently.

use super::parser::{parse, Item, Param, UnitDef};
use super::report::{Jp1Coverage, Record, Status, Tally};
use super::units::idx;
use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use crate::ir::{
    Calendar, CalendarRef, ClockTime, Concurrency, Cutoff, Date, DayKind, DelayMonitor, Edge,
    EdgeKind, EndStatus, Job, JoinKind, Net, PreviousEnd, Project, TimeRef, TimeWait, Unit, UnitId,
    UnitKind, Unmapped,
};
use chrono::Weekday;
use indexmap::IndexMap;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashSet};

/// The time zone of generated schedules: JP1/AJS3 runs on Japanese local time.
pub const DEFAULT_TIMEZONE: &str = crate::ir::DEFAULT_TIMEZONE;

/// Keys this front-end knows; any other key is kept, reported and warned about once.
const KNOWN_KEYS: &[&str] = &[
    "ty", "cm", "el", "sz", "ar", "gty", "op", "cl", "sdd", "stt", "md", "sd", "st", "cy", "sh",
    "shd", "cftd", "ln", "ed", "ejn", "jc", "de", "sy", "ey", "mp", "ms", "ha", "rg", "fd", "ex",
    "pr", "ni", "te", "sc", "prm", "wkp", "env", "ev", "si", "so", "se", "soa", "sea", "un", "da",
    "jd", "jdf", "wth", "tho", "etm", "ets", "etn", "abr", "rjs", "rje", "rec", "rei", "eu", "jty",
    "top1", "top2", "top3", "top4", "ts1", "ts2", "ts3", "ts4", "tu", "ej", "ejc", "ejl", "ejh",
    "ejf", "ejv", "ejt", "eji", "ejs", "ejg", "ejm", "eju", "tmitv", "cond", "wc", "wt", "eun",
    "mm", "ega", "uem", "ncn", "ncl", "ncs", "nchn", "ncsv", "qu", "qm", "req", "flwf", "flwc",
    "flwi", "flco", "jpoif", "evhst", "evsfr", "evsrt", "evspl", "evsrc", "mlprf", "mltx", "mlatf",
    "mlafl", "evwid", "evwms", "evsid", "evsms", "evssv", "ntlgt", "ntevt", "ntsrc", "ntcls",
    "nteid", "ntdis", "mladr", "mlsbj", "mltxt", "pfm", "pwrh", "pwrf", "pwrn", "cty", "sha",
    "prm1",
];

const GROUP_TYPES: &[&str] = &["g", "mg"];
const NET_TYPES: &[&str] = &["n", "rm", "mn"];
const JOB_TYPES: &[&str] = &["j", "pj", "qj", "cj", "cpj", "fxj", "htpj"];
const MONITOR_TYPES: &[&str] = &["evwj", "flwj", "mlwj", "mqwj", "mswj", "lfwj", "ntwj"];
const SEND_TYPES: &[&str] = &["evsj", "mlsj", "mqsj", "mssj", "cmsj"];
const POWER_TYPES: &[&str] = &["pwlj", "pwrj"];
const OTHER_TYPES: &[&str] = &["rc", "nc", "jdj", "orj", "tmwj", "hln"];

/// Splits a type code into its base type and whether it is a recovery unit (`rj` → `j`).
pub fn base_type(ty: &str) -> (&str, bool) {
    let known = |t: &str| {
        [
            GROUP_TYPES,
            NET_TYPES,
            JOB_TYPES,
            MONITOR_TYPES,
            SEND_TYPES,
            POWER_TYPES,
            OTHER_TYPES,
        ]
        .iter()
        .any(|list| list.contains(&t))
    };
    if known(ty) {
        return (ty, false);
    }
    match ty {
        "rn" => return ("n", true),
        "rr" => return ("rm", true),
        "rp" => return ("pj", true),
        "rq" => return ("qj", true),
        _ => {}
    }
    match ty.strip_prefix('r') {
        Some(base) if known(base) && !GROUP_TYPES.contains(&base) && base != "rc" => (base, true),
        _ => (ty, false),
    }
}

/// Parses and lowers one loaded source file into `project`; with `want_records`, returns
/// the records of what happened to every unit and parameter (for [`coverage`]).
pub(super) fn lower_file(
    project: &mut Project,
    file: FileId,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
    want_records: bool,
) -> Tally {
    let units = parse(&project.sources.get(file).text, file, diags);
    let first_new = project.units.len();
    if units.is_empty() && !diags.has_errors() {
        diags.push(
            Diagnostic::error("E0318", "no unit definitions in the file")
                .at(Span::new(file, 1, 1, 0))
                .hint("an ajsprint file starts with `unit=NAME,,,;`"),
        );
    }
    let mut cx = Lower {
        project,
        diags,
        tally: want_records.then(Tally::default),
        warned_keys: HashSet::new(),
        pending_waits: Vec::new(),
        rule_links: Vec::new(),
        opts,
    };
    for u in &units {
        cx.top(u, "", None);
    }
    let tally = cx.tally.unwrap_or_default();
    resolve_wait_targets(project, first_new);
    tally
}

/// JP1 names the jobnet a connector or `eun=` waits for (and an exclusive schedule's
/// jobnet) by its full path (`/group/net/unit`); the rest of the compiler knows root
/// jobnets by name. Targets under a root jobnet loaded so far become `net/unit`; others
/// are left for validation to report.
fn resolve_wait_targets(project: &mut Project, first_new: usize) {
    let roots: Vec<(String, String)> = project
        .roots
        .iter()
        .map(|&r| (project.units[r].path.clone(), project.units[r].name.clone()))
        .collect();
    for i in first_new..project.units.len() {
        let id = UnitId::from_index(i);
        if let UnitKind::Net(Net {
            schedule: Some(s), ..
        }) = &mut project.units[id].kind
        {
            for other in &mut s.exclusive_with {
                if let Some((_, name)) = roots.iter().find(|(p, _)| p == other) {
                    *other = name.clone();
                }
            }
            continue;
        }
        let UnitKind::WaitFor(w) = &mut project.units[id].kind else {
            continue;
        };
        if !w.target.starts_with('/') {
            continue;
        }
        let found = roots.iter().find_map(|(path, name)| {
            let rest = w.target.strip_prefix(path.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{name}{rest}"))
        });
        if let Some(t) = found {
            w.target = t;
        }
    }
}

/// Coverage of the records of one file.
pub(super) fn file_coverage(project: &Project, file: FileId, tally: Tally) -> Jp1Coverage {
    let src = project.sources.get(file);
    tally.finish(&src.path, &src.encoding)
}

/// The calendar in force for the units below a group.
#[derive(Clone)]
pub(super) struct CalCtx {
    pub(super) name: String,
    pub(super) day_start: Option<ClockTime>,
}

pub(super) struct Lower<'a> {
    pub(super) project: &'a mut Project,
    pub(super) diags: &'a mut Diagnostics,
    /// What happened to every unit and parameter; None when only the IR is wanted.
    tally: Option<Tally>,
    warned_keys: HashSet<String>,
    /// Cross-jobnet waits of units whose parent net is still being built:
    /// (parent net, wait unit, waiting unit).
    pub(super) pending_waits: Vec<(UnitId, UnitId, UnitId)>,
    pub(super) opts: &'a LoadOptions,
    /// The root rules that the delay rule numbers of the nets being built stand for,
    /// innermost last (None below a root without converted rules).
    rule_links: Vec<Option<RuleLinks>>,
}

/// Which of its root's schedule rules a jobnet's rule numbers follow: JP1 links a nested
/// jobnet's rule N to its upper jobnet's rule `ln=N,M` (M is N by default).
#[derive(Debug, Clone)]
pub(super) struct RuleLinks {
    /// Own rule number → the name of the root rule it follows.
    links: BTreeMap<u32, String>,
    /// Every converted rule of the root.
    all: Vec<String>,
    root: bool,
}

impl RuleLinks {
    /// A root's converted rules, each its own.
    fn root(names: &[String]) -> Self {
        RuleLinks {
            links: names
                .iter()
                .filter_map(|n| Some((n.parse().ok()?, n.clone())))
                .collect(),
            all: names.to_vec(),
            root: true,
        }
    }

    /// A nested jobnet's, through its `ln=` links to `self` (its upper jobnet's).
    fn nested(&self, u: &UnitDef) -> Self {
        let ln: BTreeMap<u32, u32> = u
            .params
            .iter()
            .filter(|p| p.key == "ln")
            .filter_map(ln_numbers)
            .collect();
        let own: std::collections::BTreeSet<u32> =
            self.links.keys().chain(ln.keys()).copied().collect();
        RuleLinks {
            links: own
                .into_iter()
                .filter_map(|n| {
                    let upper = ln.get(&n).copied().unwrap_or(n);
                    Some((n, self.links.get(&upper)?.clone()))
                })
                .collect(),
            all: self.all.clone(),
            root: false,
        }
    }
}

/// Choices the conversion leaves to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Job type (template) of UNIX-side jobs (`j`, `qj`, `cj`, `fxj`, `htpj`).
    pub unix_job_type: String,
    /// Job type of PC (Windows) jobs (`pj`, `cpj`).
    pub windows_job_type: String,
    /// The date the jobnets are registered for execution on AWS (the cut-over): what a
    /// start date `sd=en` means. Without it such rules are not converted.
    pub registration_date: Option<Date>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            unix_job_type: "ecs".into(),
            windows_job_type: "ecs-windows".into(),
            registration_date: None,
        }
    }
}

/// Per-parameter statuses of one unit, filled by the mapping code.
pub(super) struct Marks(Vec<Option<Status>>);

impl Marks {
    pub(super) fn new(u: &UnitDef) -> Self {
        Marks(vec![None; u.params.len()])
    }
    pub(super) fn is_unset(&self, i: usize) -> bool {
        self.0[i].is_none()
    }
    pub(super) fn set(&mut self, i: usize, s: Status) {
        self.0[i] = Some(s);
    }
}

/// The first JP1 macro variable (`?AJS2NAME?`, NAME of `A`–`Z`, `0`–`9` and `.`) in a
/// parameter's text.
pub(super) fn macro_variable(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find("?AJS2") {
        let tail = &rest[at + 5..];
        if let Some(end) = tail.find('?') {
            let name = &tail[..end];
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
            {
                return Some(&rest[at..at + 5 + end + 1]);
            }
        }
        rest = &rest[at + 5..];
    }
    None
}

/// The first macro variable in a value's items, tuples included.
fn macro_in(items: &[super::parser::Item]) -> Option<String> {
    items.iter().find_map(|i| {
        macro_variable(&i.text)
            .map(str::to_string)
            .or_else(|| i.tuple.as_deref().and_then(macro_in))
    })
}

pub(super) fn ignored(why: &str) -> Status {
    Status::Ignored(why.to_string())
}
pub(super) fn approx(how: impl Into<String>) -> Status {
    Status::Approximated(how.into())
}
pub(super) fn unsup(what: impl Into<String>) -> Status {
    Status::Unsupported(what.into())
}

fn indices<'u>(u: &'u UnitDef, key: &'u str) -> impl Iterator<Item = (usize, &'u Param)> + 'u {
    u.params
        .iter()
        .enumerate()
        .filter(move |(_, p)| p.key == key)
}

/// The IR name of a job group's calendar: its JP1 path without the leading `/`, with `:`
/// between levels (calendar names cannot hold `/`, and JP1 unit names cannot hold `:`).
pub(super) fn calendar_name(group_path: &str) -> String {
    group_path.trim_start_matches('/').replace('/', ":")
}

fn join_path(prefix: &str, name: &str) -> String {
    format!("{prefix}/{name}")
}

impl Lower<'_> {
    // ----- plumbing -------------------------------------------------------------------

    pub(super) fn record(&mut self, u: &UnitDef, path: &str, key: Option<&Param>, status: Status) {
        let Some(tally) = self.tally.as_mut() else {
            return;
        };
        let unit_type = u.ty().unwrap_or("?");
        tally.add(unit_type, key.map(|p| p.key.as_str()), status, |status| {
            let (k, v, span) = match key {
                Some(p) => (Some(p.key.clone()), p.value.raw(), p.key_span),
                None => (None, u.name.clone(), u.name_span),
            };
            Record {
                unit_path: path.to_string(),
                unit_type: unit_type.to_string(),
                key: k,
                value: v,
                line: span.line,
                col: span.col,
                status,
            }
        });
    }

    /// Records every parameter's status; unmarked ones become "not converted for this
    /// type". Unsupported ones are kept on `unit` when it exists in the IR.
    pub(super) fn finish(&mut self, u: &UnitDef, path: &str, marks: Marks, unit: Option<UnitId>) {
        let ty = u.ty().unwrap_or("?").to_string();
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, p) in u.params.iter().enumerate() {
            let status = match marks.0[i].clone() {
                Some(s) => s,
                None if !KNOWN_KEYS.contains(&p.key.as_str()) => {
                    if self.warned_keys.insert(p.key.clone()) {
                        self.diags.push(
                            Diagnostic::warning("E0312", format!("unknown parameter `{}`", p.key))
                                .at(p.key_span)
                                .hint("it is kept and listed in the conversion report"),
                        );
                    }
                    unsup("unknown parameter: check its meaning and convert it by hand")
                }
                None => unsup(format!(
                    "`{}` is not converted for unit type `{ty}`: convert it by hand",
                    p.key
                )),
            };
            // JP1 fills macro variables in when the jobnet is registered or from an event
            // job's passing information; the generated machines would use the literal text.
            // Comments and the informational host and user are not run.
            let run = !matches!(p.key.as_str(), "cm" | "ex" | "da" | "un" | "eu");
            let found = if run { macro_in(&p.value.items) } else { None };
            let status = match (&status, found) {
                (Status::Mapped | Status::Approximated(_), Some(name)) => unsup(format!(
                    "macro variable `{name}` would be used as literal text (JP1 fills it in at registration, `ajsentry -V`, or from passing information): write the value, or pass it in the run input's `vars` and read it in the job"
                )),
                _ => status,
            };
            if matches!(
                p.key.as_str(),
                "ty" | "cm" | "jd" | "tho" | "wth" | "etm" | "fd"
            ) && !seen.insert(p.key.as_str())
            {
                self.diags.push(
                    Diagnostic::warning("E0319", format!("`{}=` is repeated", p.key))
                        .at(p.key_span)
                        .hint("the last occurrence is used"),
                );
            }
            if let (Status::Unsupported(what), Some(id)) = (&status, unit) {
                self.project.units[id].unmapped.push(Unmapped {
                    key: p.key.clone(),
                    value: p.value.raw(),
                    reason: what.clone(),
                    span: p.key_span,
                });
            }
            self.record(u, path, Some(p), status);
        }
    }

    pub(super) fn bad_value(&mut self, p: &Param, expected: &str) -> Status {
        self.diags.push(
            Diagnostic::error(
                "E0311",
                format!("invalid value `{}` for `{}=`", p.value.raw(), p.key),
            )
            .at(p
                .value
                .items
                .first()
                .and_then(|i| i.span)
                .unwrap_or(p.key_span))
            .hint(format!("expected {expected}")),
        );
        unsup(format!("fix the value: expected {expected}"))
    }

    pub(super) fn number<T: std::str::FromStr>(
        &mut self,
        p: &Param,
        expected: &str,
    ) -> Result<T, Status> {
        p.value
            .first_text()
            .trim()
            .parse::<T>()
            .map_err(|_| self.bad_value(p, expected))
    }

    pub(super) fn alloc(
        &mut self,
        u: &UnitDef,
        path: String,
        kind: UnitKind,
        parent: Option<UnitId>,
    ) -> UnitId {
        let mut unit = Unit::new(u.name.clone(), path, kind, u.name_span);
        unit.parent = parent;
        self.project.units.alloc(unit)
    }

    // ----- groups and roots ---------------------------------------------------------

    fn top(&mut self, u: &UnitDef, prefix: &str, cal: Option<&CalCtx>) {
        let path = join_path(prefix, &u.name);
        let Some(ty) = u.ty() else {
            self.diags.push(
                Diagnostic::error("E0310", format!("unit `{}` has no `ty=`", u.name))
                    .at(u.name_span)
                    .hint("every unit needs a type, e.g. `ty=n;`"),
            );
            return;
        };
        let (base, _) = base_type(ty);
        if GROUP_TYPES.contains(&ty) {
            self.group(u, &path, cal);
        } else if NET_TYPES.contains(&base) {
            let id = self.net(u, &path, None, cal);
            self.project.roots.push(id);
        } else {
            self.diags.push(
                Diagnostic::warning(
                    "E0316",
                    format!("unit `{}` of type `{ty}` is outside any jobnet", u.name),
                )
                .at(u.name_span)
                .hint("only job groups and jobnets may be at the top of a file or in a group"),
            );
            self.record(u, &path, None, unsup("move the unit into a jobnet"));
            let marks = Marks::new(u);
            self.finish(u, &path, marks, None);
        }
    }

    fn group(&mut self, u: &UnitDef, path: &str, cal: Option<&CalCtx>) {
        let mut marks = Marks::new(u);
        self.common(u, &mut marks);
        for (i, p) in u.params.iter().enumerate() {
            match p.key.as_str() {
                "gty" => marks.set(
                    i,
                    match p.value.first_text() {
                        "n" => Status::Mapped,
                        _ => unsup("planning groups switch jobnet versions by date: deploy the version you need"),
                    },
                ),
                "ex" | "pr" => marks.set(i, unsup("set it on the jobnets of the group")),
                _ => {}
            }
        }
        let own = self.calendar(u, path, &mut marks, cal);
        let here = own.or_else(|| cal.cloned());
        self.record(u, path, None, Status::Mapped);
        self.finish(u, path, marks, None);
        let mut names = HashSet::new();
        for c in &u.children {
            if !names.insert(c.name.as_str()) {
                self.duplicate(c);
            }
            self.top(c, path, here.as_ref());
        }
    }

    pub(super) fn duplicate(&mut self, c: &UnitDef) {
        self.diags.push(
            Diagnostic::error("E0315", format!("unit `{}` is defined twice here", c.name))
                .at(c.name_span)
                .hint("sibling units need distinct names"),
        );
    }

    /// op/cl/sdd/stt/md of a group → an IR calendar named after the group path.
    /// A nested group's calendar inherits its upper group's: days it does not set stay
    /// as the upper group has them, as does the base time.
    fn calendar(
        &mut self,
        u: &UnitDef,
        path: &str,
        marks: &mut Marks,
        upper: Option<&CalCtx>,
    ) -> Option<CalCtx> {
        let keys = ["op", "cl", "sdd", "stt", "md"];
        let first = u.params.iter().find(|p| keys.contains(&p.key.as_str()))?;
        let mut cal = Calendar {
            name: calendar_name(path),
            inherits: upper.map(|c| c.name.clone()),
            weekdays: [None; 7],
            japanese_holidays: None,
            dates: Vec::new(),
            day_start: None,
            span: first.key_span,
        };
        for (i, p) in u.params.iter().enumerate() {
            let kind = match p.key.as_str() {
                "op" => DayKind::Open,
                "cl" => DayKind::Closed,
                "sdd" => {
                    let v = p.value.items.last().map(|x| x.text.as_str()).unwrap_or("");
                    let s = if v.trim_start_matches('0') == "1" {
                        Status::Mapped
                    } else {
                        unsup("a base day other than the 1st shifts month boundaries: rewrite the schedule rules with explicit days")
                    };
                    marks.set(i, s);
                    continue;
                }
                "stt" => {
                    let v = p
                        .value
                        .items
                        .last()
                        .map(|x| x.text.clone())
                        .unwrap_or_default();
                    let s = match ClockTime::parse(v.trim_start_matches('+')) {
                        Some(t) if t.hour() < 24 => {
                            cal.day_start = Some(t);
                            Status::Mapped
                        }
                        _ => self.bad_value(p, "a base time `hh:mm` from 00:00 to 23:59"),
                    };
                    marks.set(i, s);
                    continue;
                }
                "md" => {
                    marks.set(
                        i,
                        unsup("base month treatment is not converted: check month-relative rules"),
                    );
                    continue;
                }
                _ => continue,
            };
            let mut status = Status::Mapped;
            for item in &p.value.items {
                let t = item.text.trim();
                if let Some(wd) = weekday(t) {
                    cal.weekdays[wd.num_days_from_monday() as usize] = Some(kind);
                } else if let Some(d) = parse_date(t) {
                    cal.dates.push((d, kind));
                } else {
                    status = self.bad_value(p, "a weekday (`su`..`sa`) or a date `yyyy/mm/dd`");
                }
            }
            marks.set(i, status);
        }
        let day_start = cal.day_start.or(upper.and_then(|c| c.day_start));
        self.project.calendars.alloc(cal);
        Some(CalCtx {
            name: calendar_name(path),
            day_start,
        })
    }

    /// Marks the keys every unit may have.
    pub(super) fn common(&mut self, u: &UnitDef, marks: &mut Marks) {
        for (i, p) in u.params.iter().enumerate() {
            match p.key.as_str() {
                "ty" => marks.set(i, Status::Mapped),
                "el" | "sz" => marks.set(i, ignored("editor layout")),
                "cm" => marks.set(i, Status::Mapped),
                _ => {}
            }
        }
    }

    // ----- nets ------------------------------------------------------------------------

    fn net(
        &mut self,
        u: &UnitDef,
        path: &str,
        parent: Option<UnitId>,
        cal: Option<&CalCtx>,
    ) -> UnitId {
        let ty = u.ty().unwrap_or("n");
        let (base, recovery) = base_type(ty);
        let id = self.alloc(u, path.to_string(), UnitKind::Net(Net::default()), parent);
        let mut marks = Marks::new(u);
        self.common(u, &mut marks);
        self.unit_common(u, id, &mut marks);
        self.project.units[id].recovery = recovery;
        let unit_status = match base {
            "rm" => approx("remote jobnet: runs in the same state machine as its parent"),
            "mn" => approx(
                "manager jobnet: the referenced jobnet must be converted from its own manager",
            ),
            _ => Status::Mapped,
        };
        self.record(u, path, None, unit_status);

        let mut net = Net::default();
        // The schedule first: the delays of the nets inside follow its rules.
        let links = if parent.is_none() {
            // op/cl on a root jobnet: its own calendar on top of its group's.
            let own = self.calendar(u, path, &mut marks, cal);
            let cal = own.as_ref().or(cal);
            net.calendar = cal.map(|c| CalendarRef {
                name: c.name.clone(),
                span: u.name_span,
            });
            net.schedule = self.schedule(u, &mut marks, cal, &mut net);
            let names: Vec<String> = net
                .schedule
                .iter()
                .flat_map(|s| s.rules.iter().filter_map(|r| r.name.clone()))
                .collect();
            Some(RuleLinks::root(&names))
        } else {
            self.nested_schedule(u, &mut marks);
            self.rule_links
                .last()
                .cloned()
                .flatten()
                .filter(|l| !l.all.is_empty())
                .map(|l| l.nested(u))
        };
        self.delays(u, id, &mut marks, links.as_ref());
        if parent.is_some() && links.is_some() {
            // Its links route its delays, and those of the jobnets inside, to the root's rules.
            for (i, p) in u.params.iter().enumerate().filter(|(_, p)| p.key == "ln") {
                let s = if ln_numbers(p).is_some() {
                    Status::Mapped
                } else {
                    self.bad_value(
                        p,
                        "`N,M`: this jobnet's rule N follows its upper jobnet's rule M (1 to 144)",
                    )
                };
                marks.set(i, s);
            }
        }
        self.rule_links.push(links);
        // Children first, so that edges can name them.
        let mut by_name: IndexMap<String, UnitId> = IndexMap::new();
        let mut conditions: Option<&UnitDef> = None;
        // Children already reported as broken: relations naming them are not errors again.
        let mut broken: HashSet<String> = HashSet::new();
        for c in &u.children {
            if c.ty() == Some("rc") {
                conditions = Some(c);
                continue;
            }
            if by_name.contains_key(&c.name) {
                self.duplicate(c);
                continue;
            }
            match self.child(c, &join_path(path, &c.name), id, cal) {
                Some(cid) => {
                    by_name.insert(c.name.clone(), cid);
                    net.children.push(cid);
                }
                None => {
                    broken.insert(c.name.clone());
                }
            }
        }
        for (i, p) in indices(u, "ar") {
            let s = self.edge(p, &by_name, &broken, &mut net);
            marks.set(i, s);
        }
        if let Some(rc) = conditions {
            net.start_conditions = Some(self.conditions(rc, path, id));
        }
        self.rule_links.pop();
        self.net_params(u, &mut marks, &mut net);
        let waits: Vec<(UnitId, UnitId)> = self
            .pending_waits
            .iter()
            .filter(|(p, _, _)| *p == id)
            .map(|(_, w, to)| (*w, *to))
            .collect();
        self.pending_waits.retain(|(p, _, _)| *p != id);
        for (w, to) in waits {
            let span = self.project.units[w].span;
            net.children.push(w);
            net.edges.push(Edge {
                from: w,
                to,
                kind: EdgeKind::Normal,
                span,
            });
        }
        if let UnitKind::Net(n) = &mut self.project.units[id].kind {
            *n = net;
        }
        self.wait_conditions(u, id, &mut marks);
        self.finish(u, path, marks, Some(id));
        id
    }

    fn net_params(&mut self, u: &UnitDef, marks: &mut Marks, net: &mut Net) {
        for (i, p) in u.params.iter().enumerate() {
            let s = match p.key.as_str() {
                "ex" => {
                    net.job_defaults
                        .insert("host".into(), json!(p.value.first_text()));
                    Status::Mapped
                }
                "mp" => {
                    net.concurrency = Concurrency {
                        multiple_launch: p.value.first_text() == "y",
                        max_parallel_jobs: None,
                        span: Some(p.key_span),
                    };
                    Status::Mapped
                }
                "ms" => match p.value.first_text() {
                    "sch" => Status::Mapped,
                    _ => unsup(
                        "multi-schedule (run every missed start): start the missed runs by hand",
                    ),
                },
                "rg" => ignored("generations kept: Step Functions keeps execution history itself"),
                "ncl" | "ncs" => approx(
                    "connected to a jobnet connector: the connector waits for this jobnet's run; this jobnet does not wait for the connector",
                ),
                "pr" | "ni" => ignored(
                    "job priority and nice value only order jobs waiting for an agent; tasks do not queue for one",
                ),
                _ => continue,
            };
            marks.set(i, s);
        }
    }

    /// ar=(f=A,t=B[,seq|con]) between two children of this net.
    fn edge(
        &mut self,
        p: &Param,
        by_name: &IndexMap<String, UnitId>,
        broken: &HashSet<String>,
        net: &mut Net,
    ) -> Status {
        let Some(item) = p.value.items.first().filter(|i| i.tuple.is_some()) else {
            return self.bad_value(p, "`(f=FROM,t=TO[,seq|con])`");
        };
        let (Some(f), Some(t)) = (item.tuple_get("f"), item.tuple_get("t")) else {
            return self.bad_value(p, "`(f=FROM,t=TO[,seq|con])`");
        };
        let kind_text = item
            .tuple
            .iter()
            .flatten()
            .find(|i| i.key.is_none())
            .map(|i| i.text.as_str())
            .unwrap_or("seq");
        let mut ends = [None, None];
        for (slot, end) in ends.iter_mut().zip([f, t]) {
            match by_name.get(&end.text) {
                Some(id) => *slot = Some(*id),
                None if broken.contains(&end.text) => {}
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0313",
                            format!("relation names unknown unit `{}`", end.text),
                        )
                        .at(end.span.unwrap_or(p.key_span))
                        .hint("`ar=` connects units defined in the same jobnet"),
                    );
                }
            }
        }
        let [Some(from), Some(to)] = ends else {
            return unsup("fix the relation: both ends must be units of this jobnet");
        };
        let mut kind = match kind_text {
            "seq" => EdgeKind::Normal,
            "con" => EdgeKind::Conditional,
            _ => return self.bad_value(p, "`seq` or `con` as the relation type"),
        };
        if kind == EdgeKind::Conditional
            && !matches!(self.project.units[from].kind, UnitKind::Judgment(_))
        {
            if reaches(&net.edges, to, from) {
                self.diags.push(
                    Diagnostic::warning(
                        "E0314",
                        format!(
                            "`con` relation from `{}`, which is not a judgment job, closes a cycle",
                            f.text
                        ),
                    )
                    .at(p.key_span)
                    .hint("JP1 accepts `con` only from judgment jobs; the relation is left out"),
                );
                return unsup("`con` from a non-judgment unit against the other relations: left out, add the dependency by hand if it is meant");
            }
            self.diags.push(
                Diagnostic::warning(
                    "E0314",
                    format!(
                        "`con` relation from `{}`, which is not a judgment job",
                        f.text
                    ),
                )
                .at(p.key_span)
                .hint(
                    "only judgment jobs have dependent units; the relation is converted as `seq`",
                ),
            );
            kind = EdgeKind::Normal;
        }
        net.edges.push(Edge {
            from,
            to,
            kind,
            span: p.key_span,
        });
        if kind_text == "con" && kind == EdgeKind::Normal {
            approx("`con` from a non-judgment unit converted as a normal relation")
        } else {
            Status::Mapped
        }
    }

    /// A child of a net: anything but `.CONDITION`.
    fn child(
        &mut self,
        c: &UnitDef,
        path: &str,
        parent: UnitId,
        cal: Option<&CalCtx>,
    ) -> Option<UnitId> {
        let Some(ty) = c.ty() else {
            self.diags.push(
                Diagnostic::error("E0310", format!("unit `{}` has no `ty=`", c.name))
                    .at(c.name_span)
                    .hint("every unit needs a type, e.g. `ty=j;`"),
            );
            return None;
        };
        let (base, recovery) = base_type(ty);
        if NET_TYPES.contains(&base) {
            return Some(self.net(c, path, Some(parent), cal));
        }
        let mut marks = Marks::new(c);
        self.common(c, &mut marks);
        let mut cutoff = None;
        let (kind, status) = if JOB_TYPES.contains(&base) {
            let (job, cut) = self.job(c, base, &mut marks);
            cutoff = cut;
            let status = match base {
                "qj" => approx("QUEUE job: runs directly as a container task, not through a queue"),
                "cj" | "cpj" => approx("custom job: its program runs as the task command; the custom job's own options are not converted"),
                "fxj" => approx("flexible job: runs as a container task instead of on the relay/destination agent"),
                "htpj" => approx("HTTP connection job: runs as a container task; make its command perform the HTTP call"),
                _ => Status::Mapped,
            };
            (UnitKind::Job(job), status)
        } else {
            match base {
                "jdj" => match self.judgment(c, &mut marks) {
                    Ok(j) => (UnitKind::Judgment(j), Status::Mapped),
                    Err(why) => (
                        unsupported(ty, &why),
                        unsup(format!(
                            "{why}: rewrite the condition as a job that exits 0/1"
                        )),
                    ),
                },
                "orj" => (UnitKind::NoOp, Status::Mapped),
                "tmwj" => match self.interval(c, &mut marks) {
                    Some(m) => (UnitKind::Wait(TimeWait::Minutes(m)), Status::Mapped),
                    None => (
                        unsupported(ty, "the wait has no valid interval"),
                        unsup("give `tmitv=` minutes"),
                    ),
                },
                "nc" => self.connector(c, &mut marks),
                "flwj" | "evwj" | "evsj" | "mlsj" => {
                    let (etm, ets) = (idx(c, "etm"), idx(c, "ets"));
                    cutoff = self.cutoff(c, &mut marks, etm, ets);
                    match base {
                        "flwj" => self.file_wait(c, &mut marks),
                        "evwj" => self.event_wait(c, &mut marks),
                        "evsj" => self.send_event(c, &mut marks),
                        _ => self.send_mail(c, &mut marks),
                    }
                }
                _ => {
                    let (reason, todo) = unsupported_reason(base);
                    if !known_type(base) {
                        self.diags.push(
                            Diagnostic::warning("E0310", format!("unknown unit type `{ty}`"))
                                .at(c.get("ty").map(|p| p.key_span).unwrap_or(c.name_span))
                                .hint("the unit is kept as unsupported"),
                        );
                    } else if GROUP_TYPES.contains(&base) {
                        self.diags.push(
                            Diagnostic::warning(
                                "E0316",
                                format!("job group `{}` inside a jobnet", c.name),
                            )
                            .at(c.name_span)
                            .hint("job groups may only contain job groups and jobnets"),
                        );
                    }
                    (unsupported(ty, &reason), unsup(todo))
                }
            }
        };
        let unsupported_unit = matches!(kind, UnitKind::Unsupported { .. });
        let id = self.alloc(c, path.to_string(), kind, Some(parent));
        self.project.units[id].recovery = recovery;
        self.project.units[id].cutoff = cutoff;
        if base == "orj" {
            self.project.units[id].join = JoinKind::Or;
        }
        self.unit_common(c, id, &mut marks);
        self.delays(c, id, &mut marks, None);
        self.wait_conditions(c, id, &mut marks);
        if unsupported_unit {
            for (i, p) in c.params.iter().enumerate() {
                if marks.0[i].is_none() {
                    marks.set(
                        i,
                        unsup(format!("part of unsupported unit type `{ty}`: {}", p.key)),
                    );
                }
            }
        }
        self.record(c, path, None, status);
        self.finish(c, path, marks, Some(id));
        for (k, g) in c.children.iter().enumerate() {
            // Only nets have children; anything nested elsewhere is reported, not lost.
            let gp = join_path(path, &g.name);
            if k == 0 {
                self.diags.push(
                    Diagnostic::warning(
                        "E0316",
                        format!("unit `{}` of type `{ty}` cannot contain units", c.name),
                    )
                    .at(g.name_span)
                    .hint("only jobnets and job groups contain units"),
                );
            }
            self.record(g, &gp, None, unsup("move the unit into a jobnet"));
            let m = Marks::new(g);
            self.finish(g, &gp, m, None);
        }
        Some(id)
    }

    /// Keys shared by every unit kind that lives in the IR.
    fn unit_common(&mut self, u: &UnitDef, id: UnitId, marks: &mut Marks) {
        for (i, p) in u.params.iter().enumerate() {
            let s = match p.key.as_str() {
                "cm" => {
                    self.project.units[id].comment = Some(p.value.first_text().to_string());
                    Status::Mapped
                }
                "fd" => match self.number::<u32>(p, "minutes") {
                    Ok(m) => {
                        self.project.units[id].expected_minutes = Some(m);
                        Status::Mapped
                    }
                    Err(s) => s,
                },
                "ha" => match p.value.first_text() {
                    "y" => {
                        self.project.units[id].hold = true;
                        Status::Mapped
                    }
                    "n" => Status::Mapped,
                    "w" | "a" if self.project.units[id].parent.is_some() => unsup("hold after a warning/abnormal end of the previous run applies to root jobnets only: hold the unit by hand when needed"),
                    "w" | "a" => {
                        self.project.units[id].hold_after = Some(if p.value.first_text() == "w" {
                            PreviousEnd::Warning
                        } else {
                            PreviousEnd::Abnormal
                        });
                        Status::Mapped
                    }
                    _ => self.bad_value(p, "`y`, `w`, `a` or `n`"),
                },
                _ => continue,
            };
            marks.set(i, s);
        }
    }

    /// `sy=`/`ey=`: start and end delays, each for one schedule rule (`N,`; rule 1 without).
    /// `rules` are the names (numbers) of the root's converted schedule rules; `None` below
    /// a root jobnet, whose rules are its own and not the runs' (one delay for every run).
    fn delays(&mut self, u: &UnitDef, id: UnitId, marks: &mut Marks, rules: Option<&RuleLinks>) {
        for key in ["sy", "ey"] {
            // Per rule number, the last occurrence and its index.
            let mut by_rule: BTreeMap<u32, (usize, TimeRef)> = BTreeMap::new();
            for (i, p) in u.params.iter().enumerate().filter(|(_, p)| p.key == key) {
                let (n, rest) = split_rule(p);
                let text = rest.first().map(|x| x.text.as_str()).unwrap_or("");
                match parse_time_ref(text).filter(|_| rest.len() == 1) {
                    Some(at) => {
                        let n = n.unwrap_or(1);
                        if let Some((prev, _)) = by_rule.insert(n, (i, at)) {
                            marks.set(
                                prev,
                                unsup(format!("overridden by a later `{key}=` for rule {n}")),
                            );
                        }
                    }
                    None => {
                        let s = self.bad_value(p, "`hh:mm` or `M`/`U`/`C` followed by minutes");
                        marks.set(i, s);
                    }
                }
            }
            let monitors = match rules {
                Some(links) => Self::rule_delays(&by_rule, links, marks, u),
                None => {
                    let mut out = Vec::new();
                    for (k, (n, (i, at))) in by_rule.iter().enumerate() {
                        let s = if k > 0 {
                            unsup("one delay for every run below the root jobnet: add a separate alarm for the other rules")
                        } else if *n > 1 || by_rule.len() > 1 {
                            approx("the delay watches every run, not only the runs of its schedule rule")
                        } else {
                            Status::Mapped
                        };
                        if k == 0 {
                            out.push(DelayMonitor::every_run(at.clone(), u.params[*i].key_span));
                        }
                        marks.set(*i, s);
                    }
                    out
                }
            };
            let unit = &mut self.project.units[id];
            if key == "sy" {
                unit.start_delay = monitors;
            } else {
                unit.end_delay = monitors;
            }
        }
    }

    /// A jobnet's delays by rule number, through `links` to its root's rules: one delay for
    /// every run when every converted rule of the root has the same one, else one per delay
    /// time naming its rules. A root without converted rules is started by hand (JP1
    /// assumes rule 1 then): rule 1's delay watches every run.
    fn rule_delays(
        by_rule: &BTreeMap<u32, (usize, TimeRef)>,
        links: &RuleLinks,
        marks: &mut Marks,
        u: &UnitDef,
    ) -> Vec<DelayMonitor> {
        let params = &u.params;
        if links.all.is_empty() {
            let mut out = Vec::new();
            for (n, (i, at)) in by_rule {
                let s = if *n != 1 {
                    unsup(format!(
                        "the jobnet has no converted schedule rule {n}, so no run of it is watched"
                    ))
                } else if super::schedule::has_start_date(u) {
                    approx("schedule rule 1 is not converted: the delay watches every run (runs started by hand)")
                } else {
                    Status::Mapped
                };
                if *n == 1 {
                    out.push(DelayMonitor::every_run(at.clone(), params[*i].key_span));
                }
                marks.set(*i, s);
            }
            return out;
        }
        // (root rule, param index, deadline), each root rule once.
        let mut kept: Vec<(&str, usize, &TimeRef)> = Vec::new();
        for (n, (i, at)) in by_rule {
            let s = match links.links.get(n) {
                None if links.root => unsup(format!(
                    "the jobnet has no converted schedule rule {n}, so no run of it is watched"
                )),
                None => unsup(format!(
                    "rule {n} follows no converted schedule rule of the root jobnet, so no run of it is watched"
                )),
                // Several rules may follow one root rule: alike, they are one deadline.
                Some(name) => match kept.iter().find(|(k, _, _)| *k == name) {
                    Some((_, _, other)) if *other == at => Status::Mapped,
                    Some(_) => unsup(format!(
                        "another rule's delay, a different one, already watches the runs of the root's rule {name}"
                    )),
                    None => {
                        kept.push((name, *i, at));
                        Status::Mapped
                    }
                },
            };
            marks.set(*i, s);
        }
        let Some((_, first_i, first_at)) = kept.first() else {
            return Vec::new();
        };
        if kept.len() == links.all.len() && kept.iter().all(|(_, _, at)| at == first_at) {
            return vec![DelayMonitor::every_run(
                (*first_at).clone(),
                params[*first_i].key_span,
            )];
        }
        let mut out: Vec<DelayMonitor> = Vec::new();
        for (name, i, at) in kept {
            match out.iter_mut().find(|m| m.at == *at) {
                Some(m) => m.rules.push(name.to_string()),
                None => out.push(DelayMonitor {
                    at: at.clone(),
                    rules: vec![name.to_string()],
                    span: params[i].key_span,
                }),
            }
        }
        out
    }

    // ----- jobs ------------------------------------------------------------------------

    /// `etm=` minutes and `ets=` status after them (at indices `etm`, `ets` of `u`).
    fn cutoff(
        &mut self,
        u: &UnitDef,
        marks: &mut Marks,
        etm: Option<usize>,
        ets: Option<usize>,
    ) -> Option<Cutoff> {
        let mut cutoff = None;
        if let Some(i) = etm {
            let p = &u.params[i];
            let on_timeout = match ets.map(|j| u.params[j].value.first_text()) {
                None | Some("kl") | Some("an") => Some(EndStatus::Abnormal),
                Some("nr") => Some(EndStatus::Normal),
                Some("wr") => Some(EndStatus::Warning),
                Some(_) => None,
            };
            if let Some(j) = ets {
                let s = if on_timeout.is_some() {
                    Status::Mapped
                } else {
                    self.bad_value(&u.params[j], "`kl`, `nr`, `wr` or `an`")
                };
                marks.set(j, s);
            }
            let s = match self.number::<u32>(p, "minutes") {
                Ok(minutes) => {
                    cutoff = Some(Cutoff {
                        minutes,
                        on_timeout: on_timeout.unwrap_or(EndStatus::Abnormal),
                        span: p.key_span,
                    });
                    Status::Mapped
                }
                Err(s) => s,
            };
            marks.set(i, s);
        } else if let Some(j) = ets {
            marks.set(
                j,
                ignored("no `etm=`: the end state after a timeout never applies"),
            );
        }
        cutoff
    }

    /// A job and its cutoff (which lives on the unit, not the job).
    fn job(&mut self, u: &UnitDef, base: &str, marks: &mut Marks) -> (Job, Option<Cutoff>) {
        let windows = matches!(base, "pj" | "cpj");
        let job_type = if windows {
            self.opts.windows_job_type.clone()
        } else {
            self.opts.unix_job_type.clone()
        };
        let mut params: IndexMap<String, Json> = IndexMap::new();
        let mut env: serde_json::Map<String, Json> = serde_json::Map::new();
        let mut env_files: Vec<Json> = Vec::new();
        let text = |k: &str| u.get(k).map(|p| p.value.first_text().to_string());
        let (te, sc, prm) = (text("te"), text("sc"), text("prm"));
        let has_sc = sc.is_some();
        // JP1 runs the command text first, then the script file with its parameters.
        let script = sc.map(|sc| match &prm {
            Some(a) if !a.is_empty() => format!("{sc} {a}"),
            _ => sc,
        });
        let command = match (te, script) {
            (Some(te), Some(sc)) => Some(format!("{te}\n{sc}")),
            (te, sc) => te.or(sc),
        };
        let wkp = text("wkp").filter(|w| !w.is_empty());
        // A shell variable `${NAME}` would read as a deploy-time value in a definition:
        // `${NAME:-}` expands the same in `sh` and stays a shell variable.
        let command = command.map(|c| {
            if windows {
                return c;
            }
            shell_variables_kept(&c).unwrap_or(c)
        });
        if let Some(c) = command {
            // The job runs in its work directory, as on the agent.
            let c = match &wkp {
                Some(w) if windows => format!("cd /d \"{w}\" && {c}"),
                Some(w) => format!("cd '{}' && {c}", w.replace('\'', "'\\''")),
                None => c,
            };
            params.insert("command".into(), json!(c));
        }
        if let Some(w) = &wkp {
            params.insert("working_directory".into(), json!(w));
        }
        let (mut jd, mut wth, mut tho, mut jdf) = (None, None, None, None);
        let (mut abr, mut rjs, mut rje, mut rec, mut rei) = (None, None, None, None, None);
        let (mut etm, mut ets) = (None, None);
        for (i, p) in u.params.iter().enumerate() {
            let v = p.value.first_text();
            let s = match p.key.as_str() {
                "te" | "sc" | "wkp" => Status::Mapped,
                "prm" if has_sc => Status::Mapped,
                "prm" => ignored("parameters apply to the script file `sc=`, which is not given"),
                "un" => {
                    params.insert("user".into(), json!(v));
                    approx(
                        "the OS user becomes the task role: the `user` parameter is informational",
                    )
                }
                "ex" | "da" => {
                    params.insert("host".into(), json!(v));
                    approx("the agent host has no equivalent on ECS: kept as the informational `host` parameter")
                }
                "si" | "so" | "se" => {
                    let name = match p.key.as_str() {
                        "si" => "stdin",
                        "so" => "stdout",
                        _ => "stderr",
                    };
                    params.insert(name.into(), json!(v));
                    approx("standard streams of the task go to CloudWatch Logs; the file name is kept as a parameter")
                }
                "env" => match v.split_once('=') {
                    Some((k, val)) if !k.trim().is_empty() => {
                        env.insert(k.trim().to_string(), json!(val));
                        Status::Mapped
                    }
                    _ => self.bad_value(p, "`NAME=value`"),
                },
                "ev" if job_type != "ecs" => unsup(if windows {
                    "environment file: Windows containers cannot read one; copy its variables into `env=` entries".to_string()
                } else {
                    format!("environment file: job type `{job_type}` reads none; copy its variables into `env=` entries")
                }),
                "ev" if v.contains("${") => unsup("environment file named at run time: give its path in full"),
                "ev" => {
                    let (object, how) = env_file_object(v);
                    env_files.push(json!(object));
                    approx(format!("environment file: the task reads it from {object} ({how}); ECS wants `NAME=value` lines, and the task execution role must be allowed to read it"))
                }
                "soa" | "sea" => approx("append mode of std streams: logs always go to CloudWatch"),
                "jd" => {
                    jd = Some(i);
                    continue;
                }
                "jdf" => {
                    jdf = Some(i);
                    continue;
                }
                "wth" => {
                    wth = Some(i);
                    continue;
                }
                "tho" => {
                    tho = Some(i);
                    continue;
                }
                "abr" => {
                    abr = Some(i);
                    continue;
                }
                "rjs" => {
                    rjs = Some(i);
                    continue;
                }
                "rje" => {
                    rje = Some(i);
                    continue;
                }
                "rec" => {
                    rec = Some(i);
                    continue;
                }
                "rei" => {
                    rei = Some(i);
                    continue;
                }
                "etm" => {
                    etm = Some(i);
                    continue;
                }
                "ets" => {
                    ets = Some(i);
                    continue;
                }
                "pr" => ignored("job priority only orders jobs waiting for an agent; tasks do not queue for one"),
                "eu" => approx("the execution user type is replaced by the task role"),
                "top1" | "top2" | "top3" | "top4" | "ts1" | "ts2" | "ts3" | "ts4" | "tu" => {
                    unsup("file transfer to the agent: stage the file in S3 and copy it in the job")
                }
                "qu" | "qm" | "req" => approx(
                    "queue/submit options: the job runs directly as a task, not through a queue",
                ),
                "jty" => approx("QUEUE job submission type: the job runs directly as a task"),
                _ => continue,
            };
            marks.set(i, s);
        }
        if !env.is_empty() {
            params.insert("environment".into(), Json::Object(env));
        }
        if !env_files.is_empty() {
            params.insert("environment_files".into(), Json::Array(env_files));
        }
        if !windows {
            for key in ["te", "sc", "prm"] {
                if let Some(i) = idx(u, key) {
                    let text = u.params[i].value.first_text();
                    if shell_variables_kept(text).is_some() {
                        marks.set(i, approx("`${NAME}` is written `${NAME:-}`, which expands the same: in a definition `${NAME}` is a deploy-time value"));
                    }
                }
            }
        }
        let end = self.end_judgment(u, marks, jd, wth, tho, jdf);
        let retry = self.retry(u, marks, [abr, rjs, rje, rec, rei]);
        let cutoff = self.cutoff(u, marks, etm, ets);
        let type_span = u.get("ty").map(|p| p.key_span).unwrap_or(u.name_span);
        let job = Job {
            job_type,
            params,
            end,
            retry,
            type_span,
        };
        (job, cutoff)
    }
}

/// `command` with each `${NAME}` (a plain name) as `${NAME:-}`: the same expansion in
/// `sh`, and not a deploy-time placeholder of the definition. `None` when there is none.
fn shell_variables_kept(command: &str) -> Option<String> {
    if !command.contains("${") {
        return None;
    }
    let mut out = String::with_capacity(command.len());
    let mut rest = command;
    let mut kept = false;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find('}') {
            Some(end) if crate::ir::is_deploy_time_name(&after[..end]) => {
                out.push_str("${");
                out.push_str(&after[..end]);
                out.push_str(":-}");
                rest = &after[end + 1..];
                kept = true;
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    kept.then_some(out)
}

fn unsupported(ty: &str, reason: &str) -> UnitKind {
    UnitKind::Unsupported {
        type_name: ty.to_string(),
        reason: reason.to_string(),
    }
}

fn known_type(t: &str) -> bool {
    [
        GROUP_TYPES,
        NET_TYPES,
        JOB_TYPES,
        MONITOR_TYPES,
        SEND_TYPES,
        POWER_TYPES,
        OTHER_TYPES,
    ]
    .iter()
    .any(|l| l.contains(&t))
}

/// True when `to` is reachable from `from` along `edges`.
fn reaches(edges: &[Edge], from: UnitId, to: UnitId) -> bool {
    let mut stack = vec![from];
    let mut seen = HashSet::new();
    while let Some(u) = stack.pop() {
        if u == to {
            return true;
        }
        if seen.insert(u) {
            stack.extend(edges.iter().filter(|e| e.from == u).map(|e| e.to));
        }
    }
    false
}

/// Why a unit type has no AWS meaning here, and what the user can do instead.
fn unsupported_reason(base: &str) -> (String, String) {
    let (r, t) = match base {
        "evwj" => (
            "JP1 event reception monitoring",
            "replace with an EventBridge rule or a polling job",
        ),
        "mlwj" => (
            "mail reception monitoring",
            "replace with SES receiving rules or a polling job",
        ),
        "mqwj" | "mswj" => (
            "message queue reception monitoring",
            "replace with an SQS-triggered start or a polling job",
        ),
        "lfwj" => (
            "log file monitoring",
            "replace with a CloudWatch Logs metric filter and alarm",
        ),
        "ntwj" => (
            "Windows event log monitoring",
            "replace with CloudWatch agent event collection and an alarm",
        ),
        "mqsj" | "mssj" => ("message queue sending", "send to SQS from a job"),
        "cmsj" => ("status notification to JP1/IM", "publish to SNS from a job"),
        "pwlj" | "pwrj" => (
            "host power control",
            "start/stop EC2 instances from a job if still needed",
        ),
        "hln" => ("host-link jobnet", "convert the linked jobnet separately"),
        "g" | "mg" => (
            "job group inside a jobnet",
            "move the group out of the jobnet",
        ),
        "rc" => (
            "start condition outside a root jobnet",
            "move the `.CONDITION` into the root jobnet",
        ),
        _ => (
            "unknown unit type",
            "check the type code and convert the unit by hand",
        ),
    };
    (r.to_string(), t.to_string())
}

/// Where a job's environment file (`ev=`) is read from: the S3 object an `s3://` path
/// names, else the legacy path's key in the legacy-file bucket; ECS takes only names ending
/// in `.env`, so one is added where missing. Also how the path was read, for the report.
fn env_file_object(path: &str) -> (String, String) {
    let (object, how) = match crate::ir::s3_object(path) {
        Some(_) => (path.to_string(), "the S3 object given".to_string()),
        None => (
            format!(
                "s3://${{{}}}/{}",
                crate::ir::LEGACY_FILE_BUCKET,
                crate::ir::legacy_key(path)
            ),
            "upload the legacy file there".to_string(),
        ),
    };
    if object.ends_with(".env") {
        (object, how)
    } else {
        (
            format!("{object}.env"),
            format!("{how}, named with the `.env` that ECS requires"),
        )
    }
}

/// `ln=N,M` (`ln=M`: rule 1) as `(N, M)`, both rule numbers 1 to 144; None when malformed.
fn ln_numbers(p: &Param) -> Option<(u32, u32)> {
    let (n, rest) = split_rule(p);
    let m: u32 = match rest.as_slice() {
        [m] => m.text.trim().parse().ok()?,
        _ => return None,
    };
    let n = n.unwrap_or(1);
    [n, m]
        .iter()
        .all(|x| (1..=144).contains(x))
        .then_some((n, m))
}

/// `N,rest…` on schedule keys: the rule number (if any) and the remaining items.
pub(super) fn split_rule(p: &Param) -> (Option<u32>, Vec<&Item>) {
    let items: Vec<&Item> = p.value.items.iter().collect();
    if items.len() >= 2 && items[0].tuple.is_none() {
        let t = items[0].text.trim();
        if !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()) {
            return (t.parse().ok(), items[1..].to_vec());
        }
    }
    (None, items)
}

pub(super) fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "su" => Weekday::Sun,
        "mo" => Weekday::Mon,
        "tu" => Weekday::Tue,
        "we" => Weekday::Wed,
        "th" => Weekday::Thu,
        "fr" => Weekday::Fri,
        "sa" => Weekday::Sat,
        _ => return None,
    })
}

pub(super) fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('/');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 {
        return None;
    }
    Date::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// `hh:mm`, or `M`/`U`/`C` followed by minutes.
fn parse_time_ref(s: &str) -> Option<TimeRef> {
    let s = s.trim();
    let mins = |r: &str| r.parse::<u32>().ok();
    if let Some(r) = s.strip_prefix('M') {
        return mins(r).map(TimeRef::AfterRootStart);
    }
    if let Some(r) = s.strip_prefix('U') {
        return mins(r).map(TimeRef::AfterUpperStart);
    }
    if let Some(r) = s.strip_prefix('C') {
        return mins(r).map(TimeRef::AfterOwnStart);
    }
    ClockTime::parse(s).map(TimeRef::Absolute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_types() {
        assert_eq!(base_type("rj"), ("j", true));
        assert_eq!(base_type("rp"), ("pj", true));
        assert_eq!(base_type("rn"), ("n", true));
        assert_eq!(base_type("rm"), ("rm", false));
        assert_eq!(base_type("rc"), ("rc", false));
        assert_eq!(base_type("rjdj"), ("jdj", true));
        assert_eq!(base_type("rorj"), ("orj", true));
        assert_eq!(base_type("rzz"), ("rzz", false));
    }

    #[test]
    fn time_refs_and_dates() {
        assert_eq!(parse_time_ref("M500"), Some(TimeRef::AfterRootStart(500)));
        assert_eq!(parse_time_ref("C5"), Some(TimeRef::AfterOwnStart(5)));
        assert_eq!(
            parse_time_ref("27:04"),
            Some(TimeRef::Absolute(ClockTime::new(27, 4).unwrap()))
        );
        assert_eq!(parse_time_ref("Mx"), None);
        assert_eq!(parse_date("2020/02/29"), Date::from_ymd_opt(2020, 2, 29));
        assert_eq!(parse_date("2021/02/29"), None);
    }
}
