//! Jobnets and units: the walk over `jobnets:` and nested `units:` lists.
//!
//! The walk is a loop over a work stack, not recursion, so deep nesting cannot overflow;
//! `after`/`then` are resolved once every unit exists, which allows forward references and
//! lets "unknown unit" hints name a unit found elsewhere in the file.

use super::codes::*;
use super::read::{Fields, Reader};
use super::suggest::did_you_mean;
use super::yaml::{Node, Value};
use super::MAX_NET_DEPTH;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::ir::*;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

/// Keys that decide what a (non-root) unit is.
const KIND_KEYS: [&str; 5] = ["type", "units", "judge", "wait", "wait_for"];
const COMMON_KEYS: [&str; 9] = [
    "name",
    "comment",
    "after",
    "join",
    "hold",
    "recovery",
    "start_delay",
    "end_delay",
    "expected_minutes",
];
const ROOT_KEYS: [&str; 12] = [
    "name",
    "comment",
    "units",
    "job_defaults",
    "calendar",
    "schedule",
    "concurrency",
    "start_conditions",
    "hold",
    "start_delay",
    "end_delay",
    "expected_minutes",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Job,
    Net,
    Judge,
    Wait,
    WaitFor,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Root => "jobnet",
            Kind::Job => "job",
            Kind::Net => "nested jobnet",
            Kind::Judge => "judgment",
            Kind::Wait => "time wait",
            Kind::WaitFor => "`wait_for` unit",
        }
    }

    fn allowed(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            Kind::Root => return ROOT_KEYS.to_vec(),
            Kind::Job => &["type", "params", "end", "retry", "cutoff"],
            Kind::Net => &["units", "job_defaults"],
            Kind::Judge => &["judge", "then"],
            Kind::Wait => &["wait", "cutoff"],
            Kind::WaitFor => &["wait_for", "cutoff"],
        };
        COMMON_KEYS.iter().chain(own).copied().collect()
    }

    fn from_key(key: &str) -> Kind {
        match key {
            "type" => Kind::Job,
            "units" => Kind::Net,
            "judge" => Kind::Judge,
            "wait" => Kind::Wait,
            _ => Kind::WaitFor,
        }
    }
}

/// Why a known key does not fit where it was written.
fn misplaced(key: &str) -> Option<String> {
    Some(
        match key {
            "type" | "judge" | "wait" | "wait_for" => {
                "a root jobnet is always a jobnet; put jobs, judgments and waits in its `units`"
            }
            "params" | "end" | "retry" => "only jobs (units with `type`) take it",
            "cutoff" => "only jobs, file and event waits and `wait_for` units take it",
            "then" => "only judgments (units with `judge`) take it",
            "job_defaults" | "units" => "only jobnets take it",
            "calendar" | "schedule" | "concurrency" | "start_conditions" => {
                "only root jobnets (directly under `jobnets`) take it"
            }
            "after" | "join" | "recovery" => {
                "root jobnets have no siblings; use a `wait_for` unit or `exclusive_with` to relate jobnets"
            }
            _ => return None,
        }
        .to_string(),
    )
}

/// Fewest items of one list that are read on every core.
const PARALLEL_ITEMS: usize = 512;

/// Reads the items of a long list on every core, each with its diagnostics (which the
/// walk then reports in item order, as if it had read them itself).
fn read_items<'t>(items: &[&'t Node], p: &Pending<'t>) -> Vec<(Option<Built<'t>>, Diagnostics)> {
    crate::par::par_map(items, |item| {
        let mut diags = Diagnostics::default();
        let built = Reader { diags: &mut diags }.unit(item, p);
        (built, diags)
    })
}

/// Fewest waiting `units:` lists whose walk is spread over the cores.
const PARALLEL_LISTS: usize = 16;

/// A `units:` (or `jobnets:`) list still to walk.
#[derive(Clone)]
struct Pending<'t> {
    list: &'t Node,
    parent: Option<UnitId>,
    path: String,
    /// Net depth of `parent` (0 for the `jobnets:` list).
    depth: usize,
}

/// One walked list item, before it joins its siblings.
struct Built<'t> {
    name: String,
    name_span: Span,
    /// None when the unit's kind or its kind-specific part is broken (already reported).
    unit: Option<Unit>,
    units: Option<(&'t Node, Span)>,
    after: Vec<(String, Span)>,
    then: Vec<(String, Span)>,
    recovery: bool,
}

struct RefInfo {
    unit: UnitId,
    name: String,
    span: Span,
    after: Vec<(String, Span)>,
    then: Vec<(String, Span)>,
    recovery: bool,
}

/// Where unit names live in the file, for the hints of unknown references.
struct Homes {
    /// Unit name → paths of the nets that have a unit of that name.
    nets: HashMap<String, Vec<String>>,
    roots: HashSet<String>,
}

/// The references of one net's children, resolved after the walk.
struct RefSet {
    parent: UnitId,
    path: String,
    /// Every sibling name; `None` for siblings that were reported broken (no cascade errors).
    siblings: HashMap<String, Option<UnitId>>,
    infos: Vec<RefInfo>,
}

pub struct Lower<'p> {
    project: &'p mut Project,
    r: Reader<'p>,
    sets: Vec<RefSet>,
    /// Threads for the walk (one: the walk stays on this thread).
    threads: usize,
    /// Children given to units of another arena (a walk on another thread writes into an
    /// arena that continues the shared one).
    foreign: Vec<(UnitId, Vec<UnitId>)>,
}

impl<'p> Lower<'p> {
    pub fn new(project: &'p mut Project, diags: &'p mut Diagnostics, threads: usize) -> Self {
        Lower {
            project,
            r: Reader { diags },
            sets: Vec::new(),
            threads,
            foreign: Vec::new(),
        }
    }

    /// Walks the whole document.
    pub fn file(mut self, root: &Node) {
        let Some(f) = self.r.fields(root, "a map with `version: 1` and `jobnets`") else {
            return;
        };
        self.r.check_keys(
            &f,
            &["version", "calendars", "jobnets"],
            "the top level",
            &|_| None,
        );
        match f.get("version") {
            None => self.r.error_hint(
                E_MISSING,
                f.span,
                "missing `version`",
                Some("start the file with `version: 1`".into()),
            ),
            Some(v) => match v.value {
                Value::Int(1) => {}
                Value::Int(n) => self.r.error_hint(
                    E_VERSION,
                    v.span,
                    format!("unsupported spec version {n}"),
                    Some("this compiler reads `version: 1`".into()),
                ),
                _ => self.r.wrong_type(v, "the number 1"),
            },
        }
        if let Some(c) = f.get("calendars") {
            self.calendars(c);
        }
        let mut stack = Vec::new();
        match f.get("jobnets") {
            Some(list) => self.unit_list(
                Pending {
                    list,
                    parent: None,
                    path: String::new(),
                    depth: 0,
                },
                &mut stack,
            ),
            None if !f.has("calendars") => self.r.error_hint(
                E_MISSING,
                f.span,
                "missing `jobnets`",
                Some("list the root jobnets under `jobnets:`".into()),
            ),
            None => {}
        }
        // Depth first on this thread until enough lists wait (the root jobnets' of a file
        // of many, the nested jobnets' of one large jobnet), then those on every core.
        while stack.len() < PARALLEL_LISTS {
            let Some(p) = stack.pop() else { break };
            self.unit_list(p, &mut stack);
        }
        stack.reverse();
        self.walk_lists(stack);
        self.resolve();
    }

    /// Walks `stack` and everything below it, depth first, the top first.
    fn walk(&mut self, mut stack: Vec<Pending<'_>>) {
        while let Some(p) = stack.pop() {
            self.unit_list(p, &mut stack);
        }
    }

    /// Walks the waiting `lists` (in the order the serial walk takes them) and everything
    /// below them, on every core unless `threads` is one.
    ///
    /// The result is the serial walk's, id for id: that walk is depth first, so the units
    /// below each list take one contiguous range of ids after those already allocated. Each
    /// core walks a share of consecutive lists into an arena that continues this one at
    /// `base`; its units are then appended here with their ids shifted past the earlier
    /// shares' units, its reference sets and diagnostics follow in order, and the children
    /// it gave units below `base` (the lists' own nets) are set here.
    fn walk_lists(&mut self, mut lists: Vec<Pending<'_>>) {
        if self.threads < 2 || lists.len() < 2 {
            lists.reverse();
            self.walk(lists);
            return;
        }
        let base = self.project.units.len();
        // One share of consecutive lists per core: an arena per list cost more to merge.
        let shares: Vec<&[Pending<'_>]> = lists
            .chunks(lists.len().div_ceil(crate::par::cores()))
            .collect();
        let parts = crate::par::par_map(&shares, |share| {
            let mut project = Project {
                units: Arena::continuing(base),
                ..Project::default()
            };
            let mut diags = Diagnostics::default();
            let mut lower = Lower::new(&mut project, &mut diags, 1);
            lower.walk(share.iter().rev().cloned().collect());
            let sets = std::mem::take(&mut lower.sets);
            let foreign = std::mem::take(&mut lower.foreign);
            (project.units.into_items(), sets, foreign, diags)
        });
        let added = parts.iter().map(|(units, ..)| units.len()).sum();
        self.project.units.reserve(added);
        for (units, sets, foreign, diags) in parts {
            let offset = self.project.units.len() - base;
            let shift = |id: UnitId| {
                if id.index() < base {
                    id
                } else {
                    UnitId::from_index(id.index() + offset)
                }
            };
            for (unit, children) in foreign {
                if let UnitKind::Net(net) = &mut self.project.units[unit].kind {
                    net.children = children.into_iter().map(shift).collect();
                }
            }
            for mut unit in units {
                unit.parent = unit.parent.map(shift);
                if let UnitKind::Net(net) = &mut unit.kind {
                    net.children.iter_mut().for_each(|c| *c = shift(*c));
                }
                self.project.units.alloc(unit);
            }
            for mut set in sets {
                set.parent = shift(set.parent);
                set.siblings.values_mut().for_each(|id| *id = id.map(shift));
                set.infos.iter_mut().for_each(|i| i.unit = shift(i.unit));
                self.sets.push(set);
            }
            self.r.diags.extend(diags);
        }
    }

    fn calendars(&mut self, node: &Node) {
        let Some(items) = self.r.items(node, "a list of calendars", false) else {
            return;
        };
        let mut seen: HashMap<String, Span> = HashMap::new();
        for item in items {
            let Some(cal) = self.r.calendar(item) else {
                continue;
            };
            if let Some(first) = seen.get(&cal.name) {
                self.dup_name("calendar", &cal.name, cal.span, *first);
                continue;
            }
            seen.insert(cal.name.clone(), cal.span);
            self.project.calendars.alloc(cal);
        }
    }

    fn dup_name(&mut self, what: &str, name: &str, span: Span, first: Span) {
        self.r.diags.push(
            Diagnostic::error(E_DUP_NAME, format!("duplicate {what} name `{name}`"))
                .at(span)
                .note(format!(
                    "first defined at line {}, column {}",
                    first.line, first.col
                ))
                .hint("names must be unique among siblings; rename one"),
        );
    }

    fn unit_list<'t>(&mut self, p: Pending<'t>, stack: &mut Vec<Pending<'t>>) {
        let root = p.parent.is_none();
        let expected = if root {
            "a list of jobnets"
        } else {
            "a list of units"
        };
        let Some(items) = self.r.items(p.list, expected, false) else {
            return;
        };
        let mut siblings: HashMap<String, Option<UnitId>> = HashMap::new();
        let mut first_spans: HashMap<String, Span> = HashMap::new();
        let mut children = Vec::new();
        let mut infos = Vec::new();
        let mut nested = Vec::new();
        let mut read = (self.threads > 1 && items.len() >= PARALLEL_ITEMS)
            .then(|| read_items(&items, &p).into_iter());
        for item in &items {
            let b = match &mut read {
                Some(read) => {
                    let (b, diags) = read.next().expect("one result per item");
                    self.r.diags.extend(diags);
                    b
                }
                None => self.r.unit(item, &p),
            };
            let Some(b) = b else {
                continue;
            };
            if let Some(first) = first_spans.get(&b.name) {
                let what = if root { "jobnet" } else { "unit" };
                self.dup_name(what, &b.name, b.name_span, *first);
                continue;
            }
            first_spans.insert(b.name.clone(), b.name_span);
            let Some(mut unit) = b.unit else {
                siblings.insert(b.name, None);
                continue;
            };
            unit.parent = p.parent;
            let path = unit.path.clone();
            let id = self.project.units.alloc(unit);
            siblings.insert(b.name.clone(), Some(id));
            children.push(id);
            if root {
                self.project.roots.push(id);
            }
            if let Some((list, key_span)) = b.units {
                if p.depth + 1 >= MAX_NET_DEPTH {
                    self.r.error_hint(
                        E_NET_DEPTH,
                        key_span,
                        format!("jobnets nested deeper than {MAX_NET_DEPTH} levels"),
                        Some("flatten the jobnet structure".into()),
                    );
                } else {
                    nested.push(Pending {
                        list,
                        parent: Some(id),
                        path,
                        depth: p.depth + 1,
                    });
                }
            }
            infos.push(RefInfo {
                unit: id,
                name: b.name,
                span: b.name_span,
                after: b.after,
                then: b.then,
                recovery: b.recovery,
            });
        }
        if let Some(parent) = p.parent {
            if parent.index() < self.project.units.base() {
                self.foreign.push((parent, children));
            } else if let UnitKind::Net(net) = &mut self.project.units[parent].kind {
                net.children = children;
            }
            self.sets.push(RefSet {
                parent,
                path: p.path,
                siblings,
                infos,
            });
        }
        stack.extend(nested.into_iter().rev());
    }

    /// Turns `after`/`then` names into edges, now that every sibling is known.
    fn resolve(&mut self) {
        let sets = std::mem::take(&mut self.sets);
        // Where each name lives, for "it is in another jobnet" hints: built at the first
        // unknown reference, as valid files (nearly all) never need it.
        let mut homes: Option<Homes> = None;
        for set in &sets {
            let afters: HashMap<&str, &Vec<(String, Span)>> = set
                .infos
                .iter()
                .map(|i| (i.name.as_str(), &i.after))
                .collect();
            let mut edges = Vec::new();
            for info in &set.infos {
                for (list, key) in [(&info.after, "after"), (&info.then, "then")] {
                    let mut seen = HashSet::new();
                    for (target, span) in list {
                        if !seen.insert(target.as_str()) {
                            self.r.error_hint(
                                E_BAD_DEP,
                                *span,
                                format!("`{target}` is listed twice in `{key}`"),
                                Some("remove the repeated entry".into()),
                            );
                            continue;
                        }
                        if *target == info.name {
                            self.r.error(
                                E_BAD_DEP,
                                *span,
                                format!("unit `{target}` cannot depend on itself"),
                            );
                            continue;
                        }
                        let Some(found) = set.siblings.get(target) else {
                            let homes = homes.get_or_insert_with(|| self.homes(&sets));
                            self.unknown_ref(target, *span, key, set, homes);
                            continue;
                        };
                        let Some(other) = *found else { continue };
                        let (from, to, kind) = if key == "after" {
                            (other, info.unit, EdgeKind::Normal)
                        } else {
                            let both = afters
                                .get(target.as_str())
                                .is_some_and(|a| a.iter().any(|(n, _)| *n == info.name));
                            if both {
                                self.r.error_hint(
                                    E_BAD_DEP,
                                    *span,
                                    format!("`{target}` is a dependent of judgment `{}` and also lists it in `after`", info.name),
                                    Some(format!("remove `{}` from the `after` of `{target}`: `then` already orders them", info.name)),
                                );
                                continue;
                            }
                            (info.unit, other, EdgeKind::Conditional)
                        };
                        edges.push(Edge {
                            from,
                            to,
                            kind,
                            span: *span,
                        });
                    }
                }
                if info.recovery && info.after.is_empty() {
                    self.r.error_hint(
                        E_BAD_DEP,
                        info.span,
                        format!("recovery unit `{}` has no predecessor", info.name),
                        Some("list the unit it recovers in `after`".into()),
                    );
                }
            }
            if let UnitKind::Net(net) = &mut self.project.units[set.parent].kind {
                net.edges = edges;
            }
        }
    }

    fn homes(&self, sets: &[RefSet]) -> Homes {
        let mut nets: HashMap<String, Vec<String>> = HashMap::new();
        for set in sets {
            for name in set.siblings.keys() {
                nets.entry(name.clone()).or_default().push(set.path.clone());
            }
        }
        let roots = self
            .project
            .roots
            .iter()
            .map(|r| self.project.units[*r].name.clone())
            .collect();
        Homes { nets, roots }
    }

    fn unknown_ref(&mut self, target: &str, span: Span, key: &str, set: &RefSet, homes: &Homes) {
        let Homes { nets, roots } = homes;
        let hint = did_you_mean(target, set.siblings.keys().map(String::as_str))
            .or_else(|| {
                nets.get(target).and_then(|h| h.first()).map(|home| {
                    format!("`{target}` is in `{home}`; `{key}` can only name units of the same jobnet (`{}`)", set.path)
                })
            })
            .or_else(|| {
                roots.contains(target).then(|| {
                    format!("`{target}` is a root jobnet; use a unit with `wait_for: {{jobnet: {target}}}` to wait for it")
                })
            });
        self.r.error_hint(
            E_UNKNOWN_REF,
            span,
            format!("unknown unit `{target}` in `{key}`"),
            hint,
        );
    }
}

/// Reading one list item needs nothing but the reader, so items of a long list can be
/// read on several threads.
impl Reader<'_> {
    /// Walks one list item; `None` when it has no usable name (reported).
    fn unit<'t>(&mut self, item: &'t Node, p: &Pending<'t>) -> Option<Built<'t>> {
        let root = p.parent.is_none();
        let f = self.fields(
            item,
            if root {
                "a jobnet (a map with `name` and `units`)"
            } else {
                "a unit (a map with `name`)"
            },
        )?;
        let name_node = self.require(
            &f,
            "name",
            if root { "jobnet" } else { "unit" },
            Some("every unit needs a `name`, unique among its siblings"),
        );
        let name = name_node.and_then(|n| self.name(n, "unit"));
        let label = name.as_deref().unwrap_or("(unnamed)");

        let kind = if root {
            if !f.has("units") {
                self.error_hint(
                    E_MISSING,
                    name_node.map_or(f.span, |n| n.span),
                    format!("jobnet `{label}` has no `units`"),
                    Some("list its jobs under `units:`".into()),
                );
            }
            Some(Kind::Root)
        } else {
            self.kind(&f, label, name_node.map_or(f.span, |n| n.span))
        };
        let allowed = match kind {
            Some(k) => {
                let context = format!("{} `{label}`", k.word());
                self.check_keys(&f, &k.allowed(), &context, &misplaced);
                k.allowed()
            }
            None => {
                let all: Vec<&str> = COMMON_KEYS
                    .iter()
                    .chain(&KIND_KEYS)
                    .chain(&["params", "end", "retry", "cutoff", "then", "job_defaults"])
                    .copied()
                    .collect();
                self.check_keys(&f, &all, &format!("unit `{label}`"), &misplaced);
                COMMON_KEYS.to_vec()
            }
        };
        let get = |key: &str| {
            if allowed.contains(&key) {
                f.get(key)
            } else {
                None
            }
        };

        let span = name_node.map_or(f.span, |n| n.span);
        let path = format!("{}/{}", p.path, label);
        let mut u = Unit::new(label, path, UnitKind::NoOp, span);
        if let Some(n) = get("comment") {
            u.comment = self.string(n, "a comment");
        }
        if let Some(n) = get("hold") {
            let after = [
                ("after_warning", PreviousEnd::Warning),
                ("after_abnormal", PreviousEnd::Abnormal),
            ];
            match &n.value {
                Value::Str(s) if root => match after.iter().find(|(a, _)| a == s) {
                    Some((_, end)) => u.hold_after = Some(*end),
                    None => self.error_hint(
                        E_VALUE,
                        n.span,
                        format!("unknown `hold` `{s}`"),
                        Some("expected `true`, `false`, `after_warning` or `after_abnormal`".into()),
                    ),
                },
                Value::Str(s) if after.iter().any(|(a, _)| a == s) => self.error_hint(
                    E_NOT_ALLOWED,
                    n.span,
                    format!("`hold: {s}` is not allowed on unit `{label}`"),
                    Some("only root jobnets are held after their previous run; hold this unit with `hold: true`".into()),
                ),
                _ => u.hold = self.boolean(n, "`hold`").unwrap_or(false),
            }
        }
        let recovery = get("recovery").and_then(|n| self.boolean(n, "`recovery`"));
        u.recovery = recovery.unwrap_or(false);
        if let Some(n) = get("join") {
            u.join = self
                .choice(n, "join", &[("and", JoinKind::And), ("or", JoinKind::Or)])
                .unwrap_or(JoinKind::And);
        }
        if let Some(n) = get("start_delay") {
            u.start_delay = self.delay(n, true);
        }
        if let Some(n) = get("end_delay") {
            u.end_delay = self.delay(n, false);
        }
        if let Some(n) = get("expected_minutes") {
            u.expected_minutes = self.count(n, "`expected_minutes`", 1);
        }
        if let Some(n) = get("cutoff") {
            u.cutoff = self.cutoff(n);
        }
        let after = get("after")
            .and_then(|n| self.names(n, "a list of unit names", "a unit name"))
            .unwrap_or_default();
        let then = get("then")
            .and_then(|n| self.names(n, "a list of unit names", "a unit name"))
            .unwrap_or_default();

        let payload = match kind {
            None => None,
            Some(Kind::Root | Kind::Net) => Some(UnitKind::Net(self.net(&f, root))),
            Some(Kind::Job) => self.job(&f).map(UnitKind::Job),
            Some(Kind::Judge) => f
                .get("judge")
                .and_then(|n| self.judge(n))
                .map(|condition| UnitKind::Judgment(Judgment { condition })),
            Some(Kind::Wait) => {
                let wait = f.get("wait").and_then(|n| self.wait(n));
                if let (Some(UnitKind::Wait(_)), Some(at)) = (&wait, f.key_span("cutoff")) {
                    self.error_hint(
                        E_NOT_ALLOWED,
                        at,
                        "`cutoff` is not allowed on a time wait".to_string(),
                        Some(
                            "a time wait ends when its time comes; only `file` and `event` waits take a cutoff"
                                .into(),
                        ),
                    );
                }
                wait
            }
            Some(Kind::WaitFor) => f
                .get("wait_for")
                .and_then(|n| self.wait_for(n))
                .map(UnitKind::WaitFor),
        };
        let name = name?;
        let units = get("units").map(|n| (n, f.key_span("units").unwrap_or(span)));
        Some(Built {
            name,
            name_span: span,
            unit: payload.map(|kind| Unit { kind, ..u }),
            units,
            after,
            then,
            recovery: recovery.unwrap_or(false),
        })
    }

    /// The kind of a non-root unit from its kind key; reports none or several.
    fn kind(&mut self, f: &Fields<'_>, label: &str, span: Span) -> Option<Kind> {
        match f.present(&KIND_KEYS).as_slice() {
            [k] => Some(Kind::from_key(k)),
            [] => {
                self.error_hint(
                    E_KIND,
                    span,
                    format!("unit `{label}` has no kind"),
                    Some("add `type:` (a job), `units:` (a nested jobnet), `judge:` (a judgment), `wait:` (a time wait) or `wait_for:` (a cross-jobnet wait)".into()),
                );
                None
            }
            [a, b, ..] => {
                self.error_hint(
                    E_KIND,
                    f.key_span(b).unwrap_or(span),
                    format!("unit `{label}` has both `{a}` and `{b}`"),
                    Some("a unit is exactly one of: a job (`type`), a jobnet (`units`), a judgment (`judge`), a time wait (`wait`), a cross-jobnet wait (`wait_for`)".into()),
                );
                None
            }
        }
    }

    fn job(&mut self, f: &Fields<'_>) -> Option<Job> {
        let type_node = f.get("type")?;
        let job_type = self.text(type_node, "a job type name");
        let params = f
            .get("params")
            .and_then(|n| self.json_map(n))
            .unwrap_or_default();
        let end = f
            .get("end")
            .and_then(|n| self.end_judgment(n))
            .unwrap_or_default();
        let retry = f.get("retry").and_then(|n| self.retry(n));
        Some(Job {
            job_type: job_type?,
            params,
            end,
            retry,
            type_span: type_node.span,
        })
    }

    fn net(&mut self, f: &Fields<'_>, root: bool) -> Net {
        let mut net = Net {
            job_defaults: f
                .get("job_defaults")
                .and_then(|n| self.json_map(n))
                .unwrap_or_default(),
            ..Net::default()
        };
        if !root {
            return net;
        }
        if let Some(n) = f.get("calendar") {
            net.calendar = self
                .name(n, "calendar")
                .map(|name| CalendarRef { name, span: n.span });
        }
        if let Some(n) = f.get("schedule") {
            net.schedule = self.schedule(n);
        }
        if let Some(n) = f.get("concurrency") {
            net.concurrency = self.concurrency(n).unwrap_or_default();
        }
        if let Some(n) = f.get("start_conditions") {
            net.start_conditions = self.start_conditions(n);
        }
        net
    }
}
