//! ASL back-end: a [`JobnetPlan`] becomes a root state machine, one continuation machine
//! that dispatches on the join id when the jobnet has exact joins, and the child machines
//! the partition pass split off.
//!
//! Data invariant: every state's output is an object with `"failed": false` (or, from a
//! branch's failure handler, `true`). Jobs reset their output with `ResultSelector`, a
//! `Parallel` condenses its branches to `{"failed": false, "b0": …}` and a `Choice` after it
//! routes to the failure handler when any branch failed. This is how a failed job stops only
//! its own successors: its branch ends normally with a marker, siblings run on, and the
//! enclosing scope fails after everything independent of the failure has ended.

use crate::back::intrinsic_literal;
use crate::back::json::{Node, View};
use crate::back::metrics::{self, Metrics};
use crate::back::records::{self, JobRecord};
use crate::back::templates::{IamStatement, RcSource, Rendered, TemplateSet};
use crate::back::tree::{object, Map, Tree};
use crate::ir::{
    legacy_key, CmpOp, Condition, EndJudgment, EndStatus, JoinKind, Project, TimeRef, TimeWait,
    UnitId, UnitKind, LEGACY_FILE_BUCKET,
};
pub use crate::passes::naming::pascal;
use crate::passes::naming::{shorten, Names};
use crate::passes::partition::Cost;
use crate::passes::structure::{Block, JobnetPlan};
use crate::tree;
/// State lists keyed by generated names: a fast fixed hash, as in [`crate::back::tree`].
type IndexMap<K, V> = indexmap::IndexMap<K, V, foldhash::fast::FixedState>;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// The alert topic the template creates; `${AlertTopic}` in definitions and policies.
pub const ALERT_TOPIC: &str = "AlertTopic";

/// Placeholder for the run table (DynamoDB) name in generated definitions.
pub const RUN_TABLE: &str = "RunTable";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Root,
    Continuation,
    /// A part of the jobnet moved out by the partition pass.
    Child,
    /// Waits for one delay monitor's deadline and alerts (docs/monitors.md).
    Monitor,
    /// Records the arrival of the events the jobnet's event waits wait for; EventBridge
    /// rules start it (docs/decisions.md, "Event waits").
    Recorder,
}

/// Placeholder for the jobnet's monitor machine ARN in the definitions that arm monitors.
pub const MONITOR_ARN: &str = "MonitorArn";

/// How the emitter turns source times into seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmitOptions {
    /// Seconds per source minute (waits, cutoffs, delay monitors): 60, or less to run
    /// tests with time scaled down.
    pub seconds_per_minute: u64,
    /// Keep run records in the run table (idempotent reruns, status, hold).
    pub run_records: bool,
    /// Scheduled jobnets alert (SNS) when the calendar skips a run.
    pub skip_alert: bool,
}

impl Default for EmitOptions {
    fn default() -> Self {
        EmitOptions {
            seconds_per_minute: 60,
            run_records: true,
            skip_alert: false,
        }
    }
}

/// The region of the running execution, for console links (no placeholder needed).
pub const REGION_OF_EXECUTION: &str =
    "States.ArrayGetItem(States.StringSplit($$.Execution.Id, ':'), 3)";

/// One generated state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub name: String,
    pub role: Role,
    definition: Definition,
    /// `${Name}` placeholders used by the definition.
    pub placeholders: BTreeSet<String>,
    pub iam: Vec<IamStatement>,
    pub events_rules: BTreeSet<String>,
    /// Other generated machines this one starts.
    pub starts: BTreeSet<String>,
}

/// A machine's definition: a tree while the back-ends shape it, then sealed into the
/// pretty text written to disk and its figures; once written, the text may be released.
#[derive(Debug, Clone)]
enum Definition {
    Tree(Tree),
    Sealed { text: Arc<String>, metrics: Metrics },
    Released { metrics: Metrics },
}

impl Machine {
    /// The definition as a `serde_json::Value` (a copy, for readers outside the
    /// back-end); parsed back from its text when the machine is sealed, `null` once it was
    /// written out and released.
    pub fn definition(&self) -> serde_json::Value {
        match &self.definition {
            Definition::Tree(tree) => tree.into(),
            Definition::Sealed { text, .. } => {
                serde_json::from_str(text).expect("sealed text is JSON we wrote")
            }
            Definition::Released { .. } => serde_json::Value::Null,
        }
    }

    /// The definition to change; unseals the machine.
    pub fn definition_mut(&mut self) -> &mut Tree {
        match &self.definition {
            Definition::Tree(_) => {}
            Definition::Sealed { text, .. } => {
                let tree = serde_json::from_str(text).expect("sealed text is JSON we wrote");
                self.definition = Definition::Tree(tree);
            }
            Definition::Released { .. } => self.definition = Definition::Tree(Tree::Null),
        }
        match &mut self.definition {
            Definition::Tree(tree) => tree,
            _ => unreachable!("unsealed just above"),
        }
    }

    /// Serialises the definition once for writing and measuring, and drops the tree: held
    /// as trees, the machines of a large compile need about 50 KB of heap per job.
    pub fn seal(&mut self) {
        if let Definition::Tree(tree) = &self.definition {
            let text = crate::back::pretty(tree);
            let metrics = metrics::measure_with_len(tree, text.len());
            self.definition = Definition::Sealed {
                text: text.into(),
                metrics,
            };
        }
    }

    /// The pretty-printed definition as written to disk; `None` once released.
    pub fn text(&self) -> Option<Arc<String>> {
        match &self.definition {
            Definition::Sealed { text, .. } => Some(text.clone()),
            Definition::Tree(tree) => Some(crate::back::pretty(tree).into()),
            Definition::Released { .. } => None,
        }
    }

    /// Drops the definition text (after it was written), keeping its figures: a large
    /// compile then holds one jobnet's definitions at a time, not all of them.
    pub fn release(&mut self) {
        let metrics = self.metrics();
        self.definition = Definition::Released { metrics };
    }

    /// Whether the text was released (after it was written out).
    pub fn released(&self) -> bool {
        matches!(self.definition, Definition::Released { .. })
    }

    /// Size figures of the definition.
    pub fn metrics(&self) -> Metrics {
        match &self.definition {
            Definition::Sealed { metrics, .. } | Definition::Released { metrics } => *metrics,
            Definition::Tree(tree) => metrics::measure(tree),
        }
    }
}

/// Something the report must say about the output: an approximation or an item not compiled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    pub unit: String,
    pub kind: FindingKind,
    pub what: String,
    pub action: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    Approximated,
    NotYetCompiled,
    Unsupported,
}

/// A join compiled with the exact-join mechanism.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JoinInfo {
    pub unit: String,
    pub kind: &'static str,
    pub predecessors: Vec<String>,
}

/// Everything generated for one root jobnet.
#[derive(Debug, Clone)]
pub struct JobnetOutput {
    pub root: UnitId,
    pub machine_base: String,
    pub machines: Vec<Machine>,
    /// Unit path → state names (in the machine that holds them); moved into the report by
    /// [`crate::back::report::build`].
    pub mapping: BTreeMap<String, Vec<String>>,
    /// CloudFormation parameter name → description.
    pub parameters: BTreeMap<String, String>,
    pub tables: BTreeSet<String>,
    pub findings: Vec<Finding>,
    pub joins: Vec<JoinInfo>,
    /// `${Placeholder}` → name of the generated machine whose ARN fills it.
    pub machine_refs: BTreeMap<String, String>,
    /// Child machine name → which budget forced the split.
    pub splits: BTreeMap<String, String>,
    /// Whether the machines keep run records, and key them by generation too.
    pub run_records: bool,
    pub generations: bool,
    /// The event waits, each an EventBridge rule into the recorder machine.
    pub event_waits: Vec<EventWaitRule>,
}

/// An event wait (or a file wait for an object's events) as the template needs it: its
/// rule matches `watched` and starts the jobnet's recorder with the wait's item key
/// ([`records::event_key`] of the machine and `state`).
#[derive(Debug, Clone)]
pub struct EventWaitRule {
    pub path: String,
    /// The wait's state name: unique in the jobnet, and free of `${…}` (a unit path may
    /// hold it, and the definition's substitutions would change the key on one side only).
    pub state: String,
    pub watched: crate::ir::Watched,
}

/// Stands for the run id while a job is rendered: the rendered job is cached and the
/// token replaced by the run id expression of whichever machine the job lands in, so a
/// job rendered to size it for a split is not rendered again to emit it.
const RUN_ID_TOKEN: &str = "@@jobnet2sfn-run-id@@";

/// Whether a root jobnet can run several times a business date (multiple launch, or more
/// than one start time): its runs are generations, and its records are keyed by them.
fn has_generations(net: &crate::ir::Net) -> bool {
    // Rules that start at one time make one run a date (its name is date and time).
    let several_starts = net.schedule.as_ref().is_some_and(|s| {
        let times: std::collections::BTreeSet<_> = s.rules.iter().flat_map(|r| &r.times).collect();
        times.len() > 1 || s.rules.iter().any(|r| r.repeat_minutes.is_some())
    });
    net.concurrency.multiple_launch || several_starts
}

pub use crate::passes::naming::WaitTargets;

/// The run record each cross-jobnet wait of `roots` (the root jobnets of this compile) looks
/// at, as [`records::key_param`]'s prefix and suffix: the other root's run, or one of its
/// units that keeps a record, of the same business date; or why there is none. Resolved once
/// per compile (`machines` from [`crate::passes::naming::machine_names`]), by waiting root;
/// roots without waits have no entry.
pub fn wait_targets(
    project: &Project,
    roots: &[UnitId],
    machines: &HashMap<UnitId, String>,
) -> HashMap<UnitId, WaitTargets> {
    let mut by_name: HashMap<&str, Vec<UnitId>> = HashMap::new();
    for &r in &project.roots {
        by_name
            .entry(project.units[r].name.as_str())
            .or_default()
            .push(r);
    }
    let compiled: HashSet<UnitId> = roots.iter().copied().collect();
    let mut out: HashMap<UnitId, WaitTargets> = HashMap::new();
    for &own in roots {
        for u in project.descendants(own) {
            let UnitKind::WaitFor(w) = &project.units[u].kind else {
                continue;
            };
            let target = w.target.trim_start_matches('/');
            let (net, rest) = target.split_once('/').unwrap_or((target, ""));
            let resolved = match by_name.get(net).map(Vec::as_slice) {
                None | Some([]) => Err(format!("no root jobnet `{net}`")),
                Some([_, _, ..]) => Err(format!("several root jobnets are named `{net}` (in different job groups): which one is meant is not known")),
                Some(&[root]) => wait_target(project, root, own, rest, &compiled, machines),
            };
            out.entry(own).or_default().insert(u, resolved);
        }
    }
    out
}

fn wait_target(
    project: &Project,
    root: UnitId,
    own: UnitId,
    rest: &str,
    compiled: &HashSet<UnitId>,
    machines: &HashMap<UnitId, String>,
) -> Result<(String, String), String> {
    let net = &project.units[root].name;
    if root == own {
        return Err(
            "it waits for its own jobnet's run: relate units of one jobnet with `after`".into(),
        );
    }
    if !compiled.contains(&root) {
        return Err(format!("`{net}` is not compiled with it (--jobnet): each compile has its own run table; compile both together"));
    }
    let Some(root_net) = project.units[root].as_net() else {
        return Err(format!("`{net}` is no jobnet"));
    };
    if has_generations(root_net) {
        return Err(format!(
            "`{net}` runs several times a business date: which run to wait for is not known"
        ));
    }
    let machine = machines.get(&root).cloned().unwrap_or_default();
    if rest.is_empty() {
        return Ok((format!("run#{machine}"), String::new()));
    }
    let path = format!("{}/{rest}", project.units[root].path);
    let unit = project
        .descendants(root)
        .into_iter()
        .find(|&d| project.units[d].path == path)
        .ok_or_else(|| format!("jobnet `{net}` has no unit `{rest}`"))?;
    if !records::has_record(&project.units[unit].kind) {
        return Err(format!("`{rest}` keeps no run record (only jobs, interval waits, event waits and file waits for a write or deletion do): wait for its last job or for the whole jobnet"));
    }
    Ok((format!("unit#{machine}"), format!("#{path}")))
}

/// Where a run's generation is (see [`records::GENERATION_FIELD`]).
const GENERATION_PATH: &str = "$$.Execution.Input.generation";

/// Rendered jobs by unit: [`unit_costs`] renders them, [`emit_cached`] takes them (a
/// split that is redone renders again what it needs).
#[derive(Default)]
pub struct RenderCache {
    map: std::sync::Mutex<HashMap<UnitId, Rendered>>,
    /// Keeps nothing (see [`RenderCache::passing`]).
    passing: bool,
}

impl RenderCache {
    /// A cache that keeps nothing, for an emission that will not be repeated (a jobnet
    /// that fits one machine): storing every job's rendering was a copy per job.
    pub fn passing() -> RenderCache {
        RenderCache {
            passing: true,
            ..RenderCache::default()
        }
    }

    fn keeps(&self) -> bool {
        !self.passing
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<UnitId, Rendered>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Emits the machines of one root jobnet.
pub fn emit(
    project: &Project,
    plan: &JobnetPlan,
    names: &Names,
    templates: &TemplateSet,
) -> Result<JobnetOutput, Vec<String>> {
    emit_cached(
        project,
        plan,
        names,
        templates,
        &RenderCache::default(),
        EmitOptions::default(),
        &|_| {},
    )
}

/// [`emit`] reusing jobs already rendered into `cache`. `built` is called with each
/// split-off child machine as soon as it is sealed, on the thread that built it (the
/// caller may write it out and release its text).
pub fn emit_cached(
    project: &Project,
    plan: &JobnetPlan,
    names: &Names,
    templates: &TemplateSet,
    cache: &RenderCache,
    opts: EmitOptions,
    built: &(dyn Fn(&mut Machine) + Sync),
) -> Result<JobnetOutput, Vec<String>> {
    let base = names.machine.clone();
    let cont_name = format!("{base}-cont");
    let mut e = Emitter::new(
        project,
        plan,
        names,
        templates,
        cache,
        cont_name.clone(),
        opts,
    );
    e.plan_monitors(true);
    e.plan_records();
    // The root is no unit of its own machine's blocks: what it leaves out is reported here.
    e.pending(plan.root);
    let root_net = &plan.nets[&plan.root];
    let mut machines = Vec::new();

    // Root machine.
    let mut scope = Scope::top("jobnet");
    let root_unit = &project.units[plan.root];
    scope.alert = Some(e.alert(
        "alert: the run ended abnormally (SNS topic of the template, KMS-encrypted)".into(),
        "ABNORMAL END",
        &root_unit.path,
        None,
    ));
    let start = "jobnet.start".to_string();
    let main = root_net.main.clone();
    let mut first = if main == Block::Empty {
        Next::End
    } else {
        Next::To(e.entry(&main, None))
    };
    if e.records && root_unit.held() {
        // Held in the definition (`hold: true`), or after the previous run's end
        // (`hold_after`): a run waits here (after its claim, so a second start is still
        // refused, and after its monitors are armed, so deadlines watch the wait) until
        // released, or for `hold_after` only while its record is marked held; its
        // start-delay monitor stops when it goes on.
        // `run.` names cannot meet a unit's (no unit state name has a dot, and no unit
        // suffix is `on-hold`).
        let mut next = scope.target(&first);
        if let Some(m) = e.monitor_of(plan.root, false).cloned() {
            next = e.emit_off(&mut scope, plan.root, &m, ("", "it started"), &next);
        }
        match root_unit.held_after() {
            None => {
                first =
                    Next::To(e.emit_hold_gate(&mut scope, plan.root, "run.on-hold", &next, None));
            }
            Some(after) => {
                // Held only when the run before did not end well: the gate looks at that
                // run again each time, and lets this one go once it has.
                let gate = e.emit_hold_gate(
                    &mut scope,
                    plan.root,
                    "run.on-hold",
                    &next,
                    Some("run.again"),
                );
                let broken = scope.handler();
                let record = e.job_record(plan.root);
                for (name, state) in record.previous_run(after, &gate, &broken) {
                    e.map(plan.root, &name);
                    scope.insert(&name, state);
                }
                e.iam.push(IamStatement {
                    actions: vec!["dynamodb:GetItem".into(), "dynamodb:UpdateItem".into()],
                    resources: vec![format!("${{{RUN_TABLE}Arn}}")],
                });
                first = Next::To("run.last".into());
            }
        }
    }
    let arms = e.arms_at(ArmPoint::Root);
    if !arms.is_empty() {
        first = Next::To(e.emit_arms(&mut scope, plan.root, &arms, ArmPoint::Root, first));
    }
    if e.records {
        let target = scope.target(&first);
        for (name, state) in records::run_start(
            &format!("${{{RUN_TABLE}}}"),
            &base,
            e.business_date(),
            e.generation(),
            e.slots.is_some(),
            &target,
        ) {
            e.map(plan.root, &name);
            scope.insert(&name, state);
        }
        scope.run_record = Some(base.clone());
        scope.run_generation = e.generation();
        first = Next::To(if e.generation().is_some() {
            "run.generation".into()
        } else {
            "run.kind".into()
        });
    }
    scope.insert(
        &start,
        with_next(
            tree!({"Type": "Pass", "Comment": format!("{}: run starts; state data carries only the failure marker", project.units[plan.root].path), "Parameters": {"failed": false}}),
            &first,
        ),
    );
    if main != Block::Empty {
        // With run records the run must end through `jobnet.done` (it records the end), so
        // nothing at the top may end the machine by itself.
        let end = if scope.run_record.is_some() {
            Next::To(scope.done())
        } else {
            Next::End
        };
        e.emit_block(&mut scope, &main, None, end);
    }
    let states = e.close(scope);
    machines.push(e.take_machine(&base, Role::Root, &start, states));

    // Continuation machine(s), when any join needs one: one per group the partition pass
    // made (one unless the regions outgrow a machine).
    let all_regions: Vec<_> = plan.regions().map(|(_, r)| r.clone()).collect();
    let groups = all_regions
        .iter()
        .map(|r| plan.cont_groups.get(&r.join).copied().unwrap_or(0))
        .max()
        .map_or(0, |g| g + 1);
    let mut joins = Vec::new();
    for group in 0..groups {
        let regions: Vec<_> = all_regions
            .iter()
            .filter(|r| plan.cont_groups.get(&r.join).copied().unwrap_or(0) == group)
            .cloned()
            .collect();
        let cont_name = cont_machine(&cont_name, group);
        e.role = Role::Continuation;
        let mut states: IndexMap<String, Tree> = IndexMap::default();
        let dispatch_choices: Vec<Tree> = regions
            .iter()
            .map(|r| tree!({"Variable": "$.join", "StringEquals": e.join_key(r.join), "Next": e.entry(&r.body, None)}))
            .collect();
        states.insert("continuation.start".into(),
            tree!({"Type": "Pass", "Comment": "normalise state data; keep the join id", "Parameters": {"failed": false, "join.$": "$.join"}, "Next": "continuation.dispatch"}),
        );
        states.insert("continuation.dispatch".into(),
            tree!({"Type": "Choice", "Comment": "start the unit whose join completed", "Choices": dispatch_choices, "Default": "continuation.unknown"}),
        );
        states.insert("continuation.unknown".into(),
            tree!({"Type": "Fail", "Error": "UnknownJoin", "Cause": "the execution input names no join of this jobnet"}),
        );
        for r in &regions {
            let key = e.names.state(r.join).to_string();
            let mut scope = Scope::top(&key);
            e.emit_block(&mut scope, &r.body, None, Next::End);
            for (k, v) in e.close(scope) {
                if states.insert(k.clone(), v).is_some() {
                    e.errors
                        .push(format!("internal: duplicate state name `{k}`"));
                }
            }
            joins.push(JoinInfo {
                unit: project.units[r.join].path.clone(),
                kind: match r.kind {
                    JoinKind::And => "and",
                    JoinKind::Or => "or",
                },
                predecessors: r
                    .preds
                    .iter()
                    .map(|&p| project.units[p].path.clone())
                    .collect(),
            });
        }
        machines.push(e.take_machine(&cont_name, Role::Continuation, "continuation.start", states));
    }
    // Child machines made by the partition pass: independent of each other, so they are
    // emitted on every core and merged back in plan order (the output stays the same).
    let mut splits = BTreeMap::new();
    if !plan.children.is_empty() {
        e.role = Role::Child;
    }
    let children = crate::par::par_map(&plan.children, |c| {
        let mut f = e.fork(Role::Child);
        let name = f.child_machine(&c.key);
        let start = "child.start".to_string();
        let mut scope = Scope::top("child");
        let first = if c.body == Block::Empty {
            Next::End
        } else {
            Next::To(f.entry(&c.body, None))
        };
        scope.insert(
            &start,
            with_next(
                tree!({"Type": "Pass", "Comment": "a part of the jobnet run as its own machine (budgets); state data carries only the failure marker", "Parameters": {"failed": false}}),
                &first,
            ),
        );
        if c.body != Block::Empty {
            f.emit_block(&mut scope, &c.body, None, Next::End);
        } else {
            scope.done();
        }
        let states = f.close(scope);
        let mut machine = f.take_machine(&name, Role::Child, &start, states);
        built(&mut machine);
        (name, machine, f)
    });
    for (c, (name, machine, f)) in plan.children.iter().zip(children) {
        splits.insert(name, c.reason.clone());
        machines.push(machine);
        e.absorb(f);
    }
    if !e.monitors.is_empty() {
        let watched: Vec<String> = machines.iter().map(|m| m.name.clone()).collect();
        machines.push(e.monitor_machine(&watched));
    }
    let event_waits: Vec<EventWaitRule> = crate::ir::event_waits(project, plan.root)
        .into_iter()
        .filter_map(|u| {
            Some(EventWaitRule {
                path: project.units[u].path.clone(),
                state: names.state(u).to_string(),
                watched: rule_watch(&project.units[u].kind)?,
            })
        })
        .collect();
    if !event_waits.is_empty() {
        machines.push(e.recorder_machine());
    }
    for (net, p) in &plan.nets {
        for a in &p.approximations {
            e.findings.push(Finding {
                unit: project.units[*net].path.clone(),
                kind: FindingKind::Approximated,
                what: format!(
                    "--approximate added {} edge(s) to make the net series-parallel ({}); critical path {} -> {} minutes",
                    a.added.len(),
                    a.added
                        .iter()
                        .map(|x| format!("{} -> {}", project.units[x.from].name, project.units[x.to].name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    a.critical_path_before,
                    a.critical_path_after
                ),
                action: "compile without --approximate for exact joins".into(),
            });
        }
    }
    e.settle_pruned();
    if !e.errors.is_empty() {
        return Err(e.errors);
    }
    Ok(JobnetOutput {
        root: plan.root,
        machine_base: base,
        machines,
        mapping: e.mapping,
        parameters: e.parameters,
        tables: e.tables,
        findings: e.findings,
        joins,
        machine_refs: e.machine_refs,
        splits,
        run_records: e.records,
        generations: e.records && e.generations,
        event_waits,
    })
}

/// What the partition pass needs to know of a jobnet's units as emitted.
pub struct UnitCosts {
    /// Size of each non-net unit (with its recovery chain and judgment dependents).
    pub costs: HashMap<UnitId, Cost>,
    /// Nested nets emitted inside a one-branch Parallel.
    pub wrapped: HashSet<UnitId>,
    /// The root machine's own states (see [`crate::passes::partition::Estimates::frame`]).
    pub frame: Cost,
    /// Plain jobs sized from their shape's sample rather than emitted.
    pub derived: usize,
}

/// Measures every unit for the partition pass, as emitted on its own into a scratch scope.
///
/// Most units are plain jobs (no recovery units, monitors or judgment reading their code),
/// and plain jobs alike in everything the emitter looks at (`Emitter::plain_shape`)
/// differ in size only by their rendered template and the lengths of their names. One of
/// each shape is emitted and measured; the others are derived from it, which spares
/// emitting every unit twice (here and for real). The split checks the machines it makes
/// against the budgets anyway, so a misjudged size costs a second try, not a wrong result.
/// With `derive` false (tests compare the two) every unit is emitted.
pub fn unit_costs(
    project: &Project,
    plan: &JobnetPlan,
    names: &Names,
    templates: &TemplateSet,
    cache: &RenderCache,
    opts: EmitOptions,
    derive: bool,
) -> UnitCosts {
    let (nets, leaves): (Vec<UnitId>, Vec<UnitId>) = project
        .descendants(plan.root)
        .into_iter()
        .partition(|&u| project.units[u].as_net().is_some());
    // Each unit is rendered (and, unless plain, measured) on its own: independent work,
    // split over the cores, each with its own render cache that is merged into `cache` for
    // the emission after.
    let threads = crate::par::cores();
    let chunks: Vec<&[UnitId]> = leaves
        .chunks(leaves.len().div_ceil(threads).max(1))
        .collect();
    let parts = crate::par::par_map(&chunks, |chunk| {
        let local = RenderCache::default();
        let mut e = Emitter::new(project, plan, names, templates, &local, String::new(), opts);
        e.takes = false;
        e.plan_monitors(false);
        e.plan_records();
        let measured: Vec<(UnitId, Measured)> = chunk
            .iter()
            .map(|&u| match derive.then(|| e.plain_shape(u)).flatten() {
                Some(shape) => (u, Measured::Plain(shape)),
                None => (u, Measured::Emitted(scratch_cost(&e.scratch(u)))),
            })
            .collect();
        drop(e);
        let rendered = std::mem::take(&mut *local.map());
        (measured, rendered)
    });
    let mut measured = Vec::with_capacity(leaves.len());
    {
        let mut shared = cache.map();
        for (part, rendered) in parts {
            measured.extend(part);
            shared.extend(rendered);
        }
    }
    // The first job of each shape, in source order, is emitted and measured.
    let mut firsts: HashMap<&str, usize, foldhash::fast::FixedState> = HashMap::default();
    let mut samples: Vec<(UnitId, &Shape)> = Vec::new();
    for (u, m) in &measured {
        if let Measured::Plain(shape) = m {
            firsts.entry(shape.key.as_str()).or_insert_with(|| {
                samples.push((*u, shape));
                samples.len() - 1
            });
        }
    }
    let sampled = crate::par::par_map(&samples, |&(u, shape)| {
        let mut e = Emitter::new(project, plan, names, templates, cache, String::new(), opts);
        e.takes = false;
        e.plan_monitors(false);
        e.plan_records();
        let scratch = e.scratch(u);
        // Measuring copies renderings: the sample's is still in the cache.
        let cache = e.cache.map();
        let rendered = cache.get(&u).expect("a plain job's rendering is cached");
        let unit = (&project.units[u], names.state(u));
        Sample::new(
            scratch_cost(&scratch),
            shape,
            unit,
            e.run_id(),
            &scratch,
            rendered,
        )
    });
    let mut costs = HashMap::with_capacity(measured.len());
    let mut derived = 0;
    for (u, m) in &measured {
        let cost = match m {
            Measured::Emitted(cost) => *cost,
            Measured::Plain(shape) => {
                derived += 1;
                sampled[firsts[shape.key.as_str()]].derive(shape)
            }
        };
        costs.insert(*u, cost);
    }
    let derived = derived - samples.len();
    // Only the monitor plan is needed to know which nets are wrapped.
    let mut e = Emitter::new_bare(project, plan, names, templates, cache, opts);
    e.plan_monitors(false);
    let wrapped = nets.into_iter().filter(|&n| e.wrapped(n)).collect();
    drop(e);
    UnitCosts {
        costs,
        wrapped,
        frame: root_frame(project, plan, names, templates, cache, opts),
        derived,
    }
}

/// The cost of one unit emitted on its own ([`Emitter::scratch`]).
fn scratch_cost(scratch: &Tree) -> Cost {
    let (bytes, lines) = metrics::pretty_len_lines(scratch);
    let m = metrics::measure_with_len(scratch, bytes);
    Cost {
        states: m.states,
        bytes: m.definition_bytes,
        events: m.history_events.saturating_sub(metrics::EXECUTION_EVENTS),
        // Not the lines of the `{"States": {…}}` wrapper around them.
        lines: lines.saturating_sub(4),
    }
}

/// A unit as the cost pass first sees it.
enum Measured {
    Emitted(Cost),
    /// A plain job, sized from the sample of its shape.
    Plain(Shape),
}

/// What sets a plain job's size apart from another of its shape.
struct Shape {
    /// Everything the emitter looks at besides names and the template's values: jobs with
    /// equal keys emit the same states around their rendered ones.
    key: String,
    /// Bytes and lines of the rendered states' values, as printed in a scratch scope.
    rendered_bytes: usize,
    rendered_lines: usize,
    /// [`RUN_ID_TOKEN`]s in the rendered states, each replaced by the run id.
    tokens: usize,
    /// Printed lengths of the state name and the unit path, without quotes, and of the
    /// path as a literal in an intrinsic function.
    name: usize,
    path: usize,
    quoted_path: usize,
}

/// The measured job of a shape, and how often its name and path occur in what the
/// emitter wrote around its rendered states.
struct Sample<'a> {
    cost: Cost,
    shape: &'a Shape,
    /// Length of the run id that replaces each [`RUN_ID_TOKEN`].
    run_id: usize,
    names: i64,
    paths: i64,
    quoted_paths: i64,
}

/// Counts where a scratch scope names the unit's own states (state keys and targets: the
/// emitter writes them nowhere else) and where it holds the unit's path, as it is or, in
/// intrinsic functions (`….$` fields), escaped as a string literal.
struct Refs<'a> {
    own: &'a HashSet<&'a str>,
    path: &'a str,
    /// The path as `intrinsic_literal` writes it.
    quoted: String,
    names: i64,
    paths: i64,
    quoted_paths: i64,
}

impl Refs<'_> {
    fn name(&mut self, s: &str, sign: i64) {
        if self.own.contains(s) {
            self.names += sign;
        }
    }

    fn path_in(&mut self, s: &str, intrinsic: bool, sign: i64) {
        let (path, count) = if intrinsic {
            (self.quoted.as_str(), &mut self.quoted_paths)
        } else {
            (self.path, &mut self.paths)
        };
        if !path.is_empty() && s.len() >= path.len() {
            *count += sign * s.matches(path).count() as i64;
        }
    }

    /// The unit's states, keyed by their names.
    fn states(&mut self, states: &Map) {
        for (k, v) in states.iter() {
            self.name(k, 1);
            self.tree(v, false, 1);
        }
    }

    fn tree(&mut self, v: &Tree, intrinsic: bool, sign: i64) {
        match v {
            Tree::String(s) => self.path_in(s, intrinsic, sign),
            Tree::Array(a) => a.iter().for_each(|x| self.tree(x, intrinsic, sign)),
            Tree::Object(m) => self.object(m, sign),
            _ => {}
        }
    }

    fn object(&mut self, m: &Map, sign: i64) {
        for (k, x) in m.iter() {
            self.entry(k, x, sign);
        }
    }

    fn entry(&mut self, k: &str, x: &Tree, sign: i64) {
        self.path_in(k, false, sign);
        if let ("Next" | "Default" | "StartAt", Tree::String(s)) = (k, x) {
            self.name(s, sign);
        }
        self.tree(x, k.ends_with(".$"), sign);
    }
}

impl<'a> Sample<'a> {
    /// `scratch` is the sample emitted on its own ([`Emitter::scratch`]), `rendered` its
    /// rendered states.
    fn new(
        cost: Cost,
        shape: &'a Shape,
        (unit, name): (&crate::ir::Unit, &str),
        run_id: &str,
        scratch: &Tree,
        rendered: &Rendered,
    ) -> Sample<'a> {
        let path = unit.path.as_str();
        let Some(Tree::Object(states)) = scratch.get("States") else {
            return Sample {
                cost,
                shape,
                run_id: run_id.len(),
                names: 0,
                paths: 0,
                quoted_paths: 0,
            };
        };
        // The unit's own states are `name` and `name.…`; the scope's end states are not.
        let own: HashSet<&str> = states
            .iter()
            .map(|(k, _)| k)
            .filter(|k| {
                (*k == name || k.strip_prefix(name).is_some_and(|r| r.starts_with('.')))
                    && !matches!(*k, "cost.failed" | "cost.done")
            })
            .collect();
        // A state name is written as a whole string (a key, a target, a record's field); a
        // path inside strings (comments, record keys, alert texts). What the template wrote
        // is measured job by job, so it is not counted here.
        let mut count = Refs {
            own: &own,
            path,
            quoted: crate::back::intrinsic_literal(path),
            names: 0,
            paths: 0,
            quoted_paths: 0,
        };
        count.states(states);
        kept_values(rendered, unit, |key, v, _| match key {
            Some(k) => count.entry(k, v, -1),
            None => count.tree(v, false, -1),
        });
        Sample {
            cost,
            shape,
            run_id: run_id.len(),
            names: count.names,
            paths: count.paths,
            quoted_paths: count.quoted_paths,
        }
    }

    fn derive(&self, shape: &Shape) -> Cost {
        let diff = |a: usize, b: usize| a as i64 - b as i64;
        let s = self.shape;
        let token = diff(self.run_id, RUN_ID_TOKEN.len());
        let bytes = self.cost.bytes as i64
            + diff(shape.rendered_bytes, s.rendered_bytes)
            + diff(shape.tokens, s.tokens) * token
            + diff(shape.name, s.name) * self.names
            + diff(shape.path, s.path) * self.paths
            + diff(shape.quoted_path, s.quoted_path) * self.quoted_paths;
        let lines = self.cost.lines as i64 + diff(shape.rendered_lines, s.rendered_lines);
        Cost {
            bytes: bytes.max(0) as usize,
            lines: lines.max(0) as usize,
            ..self.cost
        }
    }
}

/// The root machine of `plan` with no unit in it: run records, alerts and ends. It is
/// measured around one call of an empty part (so that the failure handler and its alert,
/// which any unit or call needs, are there) less the estimate of that call.
fn root_frame(
    project: &Project,
    plan: &JobnetPlan,
    names: &Names,
    templates: &TemplateSet,
    cache: &RenderCache,
    opts: EmitOptions,
) -> Cost {
    let root = plan.root;
    let empty = JobnetPlan {
        root,
        nets: [(
            root,
            crate::passes::structure::NetPlan {
                main: Block::Child(0),
                regions: Vec::new(),
                recovery: HashMap::new(),
                dependents: HashMap::new(),
                approximations: Vec::new(),
            },
        )]
        .into(),
        children: vec![crate::passes::structure::ChildPlan {
            key: "frame".into(),
            body: Block::Empty,
            reason: String::new(),
        }],
        cont_groups: HashMap::new(),
    };
    let Ok(out) = emit_cached(project, &empty, names, templates, cache, opts, &|_| {}) else {
        return Cost::default();
    };
    out.machines
        .iter()
        .find(|m| m.role == Role::Root)
        .and_then(|m| {
            let text = m.text()?;
            let metrics = m.metrics();
            let whole = Cost {
                states: metrics.states,
                bytes: metrics.definition_bytes,
                events: metrics.history_events,
                lines: text.matches('\n').count(),
            };
            Some(whole - crate::passes::partition::CHILD_CALL)
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
enum Next {
    To(String),
    End,
}

/// The states of one ASL scope (a machine's top level or a Parallel branch) and the names of
/// its shared failure handler and success end, created only when something uses them.
struct Scope {
    states: IndexMap<String, Tree>,
    key: String,
    top: bool,
    handler_used: bool,
    done_used: bool,
    /// For the root machine: the SNS publish that runs before the run fails.
    alert: Option<Tree>,
    /// For the root machine with run records: the jobnet's record key name.
    run_record: Option<String>,
    /// With `run_record`: the path of the run's generation, if the jobnet has them.
    run_generation: Option<&'static str>,
    /// Names inserted twice (a unit named like a generated state); the emitter reports
    /// them when it closes the scope.
    duplicates: Vec<String>,
}

impl Scope {
    fn top(key: &str) -> Scope {
        Scope {
            states: IndexMap::default(),
            key: key.to_string(),
            top: true,
            handler_used: false,
            done_used: false,
            alert: None,
            run_record: None,
            run_generation: None,
            duplicates: Vec::new(),
        }
    }

    fn branch(key: &str) -> Scope {
        Scope {
            top: false,
            ..Scope::top(key)
        }
    }

    fn handler(&mut self) -> String {
        self.handler_used = true;
        format!("{}.failed", self.key)
    }

    fn done(&mut self) -> String {
        self.done_used = true;
        format!("{}.done", self.key)
    }

    fn target(&mut self, next: &Next) -> String {
        match next {
            Next::To(s) => s.clone(),
            Next::End => self.done(),
        }
    }

    fn insert(&mut self, name: &str, state: Tree) {
        if self.states.insert(name.to_string(), state).is_some() {
            self.duplicates.push(name.to_string());
        }
    }

    fn finish(mut self) -> IndexMap<String, Tree> {
        let table = format!("${{{RUN_TABLE}}}");
        let date = "$$.Execution.Input.businessDate";
        if self.handler_used {
            let h = format!("{}.failed", self.key);
            if let Some(jobnet) = self.run_record.clone() {
                // Record the abnormal end first, then alert and fail.
                let end = format!("{}.abnormal-end", self.key);
                let after_record = match self.alert.take() {
                    Some(mut alert) => {
                        let alert_at = format!("{}.alert", self.key);
                        alert["Next"] = tree!(end);
                        alert["Catch"] = tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.alertError", "Next": end}]);
                        self.states.insert(alert_at.clone(), alert);
                        alert_at
                    }
                    None => end.clone(),
                };
                self.states.insert(
                    h.clone(),
                    records::run_end(
                        &table,
                        &jobnet,
                        date,
                        self.run_generation,
                        records::ENDED_ABNORMALLY,
                        &after_record,
                    ),
                );
                self.states.insert(end, tree!({"Type": "Fail", "Comment": "a unit ended abnormally; everything independent of it has ended", "Error": "JobnetFailed", "Cause": "A unit ended abnormally. See the execution history for the failed unit."}));
            } else if let Some(mut alert) = self.alert.take() {
                // The root alerts before it fails; a failed alert must not hide the failure.
                let end = format!("{}.abnormal-end", self.key);
                alert["Next"] = tree!(end);
                alert["Catch"] = tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.alertError", "Next": end}]);
                self.states.insert(h, alert);
                self.states.insert(end, tree!({"Type": "Fail", "Comment": "a unit ended abnormally; everything independent of it has ended", "Error": "JobnetFailed", "Cause": "A unit ended abnormally. See the execution history for the failed unit."}));
            } else {
                let state = if self.top {
                    tree!({"Type": "Fail", "Comment": "a unit ended abnormally; everything independent of it has ended", "Error": "JobnetFailed", "Cause": "A unit ended abnormally. See the execution history for the failed unit."})
                } else {
                    tree!({"Type": "Pass", "Comment": "end this branch, marked failed; sibling branches run on", "Result": {"failed": true}, "End": true})
                };
                self.states.insert(h, state);
            }
        }
        if self.done_used {
            let d = format!("{}.done", self.key);
            if let Some(jobnet) = &self.run_record {
                let ok = format!("{}.ended", self.key);
                self.states.insert(
                    d,
                    records::run_end(
                        &table,
                        jobnet,
                        date,
                        self.run_generation,
                        records::ENDED_NORMALLY,
                        &ok,
                    ),
                );
                self.states.insert(ok, tree!({"Type": "Succeed"}));
            } else {
                self.states.insert(d, tree!({"Type": "Succeed"}));
            }
        }
        self.states
    }
}

/// Sets `Next` or `End` on a state that supports them.
fn with_next(mut state: Tree, next: &Next) -> Tree {
    match next {
        Next::To(n) => state["Next"] = tree!(n),
        Next::End => state["End"] = tree!(true),
    }
    state
}

struct Emitter<'a> {
    project: &'a Project,
    plan: &'a JobnetPlan,
    names: &'a Names,
    templates: &'a TemplateSet,
    role: Role,
    cont_name: String,
    mapping: BTreeMap<String, Vec<String>>,
    /// Units whose return code a judgment unit reads (computed once: a scan per job was
    /// quadratic on wide nets).
    rc_feeders: Arc<HashSet<UnitId>>,
    /// States [`prune_unreachable`] removed; taken out of `mapping` once all machines exist.
    pruned: Vec<String>,
    parameters: BTreeMap<String, String>,
    tables: BTreeSet<String>,
    findings: Vec<Finding>,
    errors: Vec<String>,
    iam: Vec<IamStatement>,
    events_rules: BTreeSet<String>,
    /// The job extras last merged into the machine being built (see [`Emitter::emit_rendered`]).
    merged_extras: Option<Arc<crate::back::templates::Extras>>,
    starts: BTreeSet<String>,
    placeholders: BTreeSet<String>,
    machine_refs: BTreeMap<String, String>,
    cache: &'a RenderCache,
    /// Emission takes renderings out of the cache; measuring for a split copies them.
    takes: bool,
    opts: EmitOptions,
    /// The jobnet's delay monitors, in source order.
    monitors: Vec<Monitor>,
    monitor_name: String,
    /// Run records are kept for this jobnet.
    records: bool,
    /// Records are keyed by business date and generation (see [`Emitter::generation`]).
    generations: bool,
    /// At most this many jobs of a run at once (`max_parallel_jobs`, with run records).
    slots: Option<u32>,
    /// While a job with run records is emitted: where its ends go.
    job_end: Option<JobEnd>,
}

/// The record states a job's ends go to: a normal end (return code at `$.rc`), a continue
/// forced by `always: normal`, a normal cutoff or a file found by an end judgment (no return
/// code), and a normal end judged from a failed task's exit code (at the template's path).
#[derive(Debug, Clone)]
struct JobEnd {
    record: JobRecord,
    forced: String,
    from_cause: String,
    next: String,
}

/// A delay monitor: an execution of the monitor machine started at `arm`, named
/// `{runId}-m-{key}`, that alerts at its deadline unless stopped first (docs/monitors.md).
#[derive(Debug, Clone)]
struct Monitor {
    unit: UnitId,
    /// An end-delay monitor (else a start-delay one).
    end: bool,
    /// Its deadlines: at most one applies to a run, so one execution name serves them all.
    deadlines: Vec<Deadline>,
    /// Rules whose deadline cannot be monitored (reported): their runs get none.
    unwatched: Vec<String>,
    key: String,
}

/// One deadline of a monitor: for every run that no other deadline names (no `rules`), or
/// for the runs of the named schedule rules.
#[derive(Debug, Clone)]
struct Deadline {
    at: TimeRef,
    rules: Vec<String>,
    arm: ArmPoint,
}

impl Monitor {
    fn arms_at(&self, point: ArmPoint) -> bool {
        self.deadlines.iter().any(|d| d.arm == point)
    }

    /// One deadline for every run: armed without asking which rule started the run.
    fn simple(&self) -> bool {
        matches!(self.deadlines.as_slice(), [d] if d.rules.is_empty()) && self.unwatched.is_empty()
    }

    /// The first state that arms it at `point`.
    fn arm_entry(&self, point: ArmPoint) -> String {
        let one_point = self.deadlines.iter().all(|d| d.arm == point);
        if self.simple() || one_point {
            format!("monitor.{}.arm", self.key)
        } else {
            let label = match point {
                ArmPoint::Root => "run",
                ArmPoint::Net(_) => "net",
                ArmPoint::Own(_) => "own",
            };
            format!("monitor.{}.arm.{label}", self.key)
        }
    }
}

/// Which runs a deadline watches, for its arm's Comment: nothing for every run.
fn rules_note(rules: &[String]) -> String {
    match rules {
        [] => String::new(),
        [one] => format!(", for runs of schedule rule {one}"),
        more => format!(", for runs of schedule rules {}", more.join(", ")),
    }
}

/// Where a monitor is armed: at the run's start, at a nested net's start, or at the
/// monitored unit's own start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArmPoint {
    Root,
    Net(UnitId),
    Own(UnitId),
}

impl<'a> Emitter<'a> {
    fn new(
        project: &'a Project,
        plan: &'a JobnetPlan,
        names: &'a Names,
        templates: &'a TemplateSet,
        cache: &'a RenderCache,
        cont_name: String,
        opts: EmitOptions,
    ) -> Self {
        Emitter {
            cont_name,
            rc_feeders: Arc::new(rc_feeders(project, plan.root)),
            ..Emitter::new_bare(project, plan, names, templates, cache, opts)
        }
    }

    fn new_bare(
        project: &'a Project,
        plan: &'a JobnetPlan,
        names: &'a Names,
        templates: &'a TemplateSet,
        cache: &'a RenderCache,
        opts: EmitOptions,
    ) -> Self {
        Emitter {
            project,
            plan,
            names,
            templates,
            role: Role::Root,
            cont_name: String::new(),
            mapping: BTreeMap::new(),
            pruned: Vec::new(),
            parameters: BTreeMap::new(),
            tables: BTreeSet::new(),
            findings: Vec::new(),
            errors: Vec::new(),
            iam: Vec::new(),
            events_rules: BTreeSet::new(),
            merged_extras: None,
            starts: BTreeSet::new(),
            placeholders: BTreeSet::new(),
            machine_refs: BTreeMap::new(),
            cache,
            takes: true,
            opts,
            monitors: Vec::new(),
            monitor_name: shorten(&format!("{}-monitor", names.machine), 80),
            records: false,
            generations: false,
            slots: None,
            job_end: None,
            rc_feeders: Arc::default(),
        }
    }

    /// A fresh emitter for one more machine of the same jobnet, emitted on another thread:
    /// the jobnet-wide plans are shared, the collected results start empty and are merged
    /// back with [`Emitter::absorb`].
    fn fork(&self, role: Role) -> Emitter<'a> {
        Emitter {
            role,
            cont_name: self.cont_name.clone(),
            monitors: self.monitors.clone(),
            rc_feeders: Arc::clone(&self.rc_feeders),
            records: self.records,
            generations: self.generations,
            slots: self.slots,
            takes: self.takes,
            ..Emitter::new_bare(
                self.project,
                self.plan,
                self.names,
                self.templates,
                self.cache,
                self.opts,
            )
        }
    }

    /// Takes in what a [`Emitter::fork`] collected, as if this emitter had emitted it.
    fn absorb(&mut self, other: Emitter<'a>) {
        for (path, states) in other.mapping {
            self.mapping.entry(path).or_default().extend(states);
        }
        self.pruned.extend(other.pruned);
        // The first description of a parameter wins, as when emitting in one go.
        for (k, v) in other.parameters {
            self.parameters.entry(k).or_insert(v);
        }
        self.tables.extend(other.tables);
        self.findings.extend(other.findings);
        self.errors.extend(other.errors);
        self.machine_refs.extend(other.machine_refs);
    }

    /// Removes pruned states from the mapping; a unit left without states never runs.
    fn settle_pruned(&mut self) {
        if self.pruned.is_empty() {
            return;
        }
        let pruned = std::mem::take(&mut self.pruned);
        // Every mapped state is looked up: a fast fixed hash, as for the state lists.
        let gone: HashSet<&str, foldhash::fast::FixedState> =
            pruned.iter().map(String::as_str).collect();
        let mut emptied = Vec::new();
        for (path, states) in self.mapping.iter_mut() {
            let before = states.len();
            states.retain(|s| !gone.contains(s.as_str()));
            if states.is_empty() && before > 0 {
                emptied.push(path.clone());
            }
        }
        for path in emptied {
            self.mapping.remove(&path);
            self.findings.push(Finding {
                unit: path,
                kind: FindingKind::Approximated,
                what: "never runs: the unit it depends on cannot end abnormally, so no state is generated".into(),
                action: "remove the unit, or attach it to a unit that can fail".into(),
            });
        }
    }

    fn take_machine(
        &mut self,
        name: &str,
        role: Role,
        start: &str,
        states: IndexMap<String, Tree>,
    ) -> Machine {
        let root = &self.project.units[self.plan.root];
        let comment = match role {
            Role::Root => format!(
                "jobnet2sfn: jobnet {} (generated; edit the source, not this file)",
                root.path
            ),
            Role::Continuation => format!(
                "jobnet2sfn: exact joins of jobnet {} (generated)",
                root.path
            ),
            Role::Child => format!(
                "jobnet2sfn: part of jobnet {} split off to stay under the budgets (generated)",
                root.path
            ),
            Role::Monitor => format!(
                "jobnet2sfn: delay monitors of jobnet {}: each execution waits for one deadline and alerts unless the jobnet stops it first (generated)",
                root.path
            ),
            Role::Recorder => format!(
                "jobnet2sfn: event recorder of jobnet {}: an EventBridge rule starts an execution for each event one of its event waits waits for; it records the arrival (generated)",
                root.path
            ),
        };
        let mut definition = object([
            ("Comment", Tree::from(comment)),
            ("StartAt", Tree::from(start.to_string())),
            ("States", Tree::Object(states.into())),
        ]);
        // Step Functions rejects unreachable states; they arise only where the source has
        // a unit that can never run (a recovery unit behind a unit that cannot fail).
        prune_unreachable(&mut definition, &mut self.pruned);
        // The next machine starts without the extras merged into this one.
        self.merged_extras = None;
        let mut machine = Machine {
            name: name.to_string(),
            role,
            definition: Definition::Tree(definition),
            placeholders: std::mem::take(&mut self.placeholders),
            iam: dedup(std::mem::take(&mut self.iam)),
            events_rules: std::mem::take(&mut self.events_rules),
            starts: std::mem::take(&mut self.starts),
        };
        // Written out at once: a split jobnet's parts are not all held as trees together.
        machine.seal();
        if let Definition::Sealed { text, .. } = &machine.definition {
            placeholders_in(text, &mut machine.placeholders);
        }
        machine
    }

    fn run_id(&self) -> &'static str {
        match self.role {
            Role::Root => "$$.Execution.Name",
            Role::Continuation | Role::Child | Role::Monitor | Role::Recorder => {
                "$$.Execution.Input.runId"
            }
        }
    }

    fn business_date(&self) -> &'static str {
        "$$.Execution.Input.businessDate"
    }

    /// How often a polling wait (file, cross-jobnet or event wait; `what` names it in the
    /// report) looks, and how many times: at the start and every `wanted` seconds to the end
    /// of its cutoff (else a day, reported), at most [`MAX_FILE_LOOKS`] times (each look is
    /// four history events), spread out beyond that.
    fn poll_plan(&mut self, u: UnitId, wanted: u64, what: &str) -> (u64, u64) {
        let window = match &self.project.units[u].cutoff {
            Some(c) => u64::from(c.minutes) * self.opts.seconds_per_minute,
            None => {
                self.finding(
                    u,
                    FindingKind::Approximated,
                    format!("{what} without a cutoff gives up after 24 hours (abnormal end)"),
                    "give the wait a cutoff if it must wait longer, or less",
                );
                86_400
            }
        }
        .max(1);
        let mut interval = wanted.clamp(1, window);
        let mut looks = window / interval + 1;
        if looks > MAX_FILE_LOOKS {
            interval = window.div_ceil(MAX_FILE_LOOKS - 1);
            looks = window / interval + 1;
            self.finding(
                u,
                FindingKind::Approximated,
                format!("the wait looks every {interval} s instead of every {wanted} s"),
                format!("at most {MAX_FILE_LOOKS} looks keep the wait within the execution history limit; shorten the cutoff to look more often"),
            );
        }
        (interval, looks)
    }

    /// A wait for an event the jobnet's event recorder records (an event wait, a file wait
    /// for an object's events). Like a cross-jobnet wait, a look is a conditional write
    /// that changes nothing, and succeeds once the recorder has seen the event since the
    /// wait began (the state's entry time holds across the retrier's looks). With run
    /// records a rerun passes over a wait that ended: the event it waited for will not
    /// come again.
    #[allow(clippy::too_many_arguments)]
    fn emit_recorded_wait(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        name: &str,
        what: &str,
        plan: (u64, u64),
        next: Next,
        fail_target: String,
    ) {
        let (interval, looks) = plan;
        let comment = format!(
            "{}: wait for {what} (its EventBridge rule records it) after this wait began (a look every {interval} s, at most {looks})",
            self.project.units[u].path
        );
        self.writes_run_table();
        let (next, fail_target) = if self.records {
            let record = self.job_record(u);
            let next_target = scope.target(&next);
            let [end, abnormal] = ["end", "end-abnormal"].map(|s| format!("{name}.{s}"));
            self.emit_record_entry(scope, u, &record, &next_target);
            for (n, state) in [
                (
                    &abnormal,
                    record.end(records::ENDED_ABNORMALLY, &fail_target, None),
                ),
                (
                    &end,
                    record.end(records::ENDED_NORMALLY, &next_target, None),
                ),
            ] {
                self.map(u, n);
                scope.insert(n, state);
            }
            (Next::To(end), abnormal)
        } else {
            (next, fail_target)
        };
        self.map(u, name);
        let look = tree!({
            "Type": "Task",
            "Comment": comment,
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": format!("${{{RUN_TABLE}}}"),
                "Key": {"pk": {"S": records::event_key(&self.names.machine, name)}},
                "UpdateExpression": "SET #at = #at",
                "ConditionExpression": "#at >= :since",
                "ExpressionAttributeNames": {"#at": "arrivedAt"},
                // The entry time cut to its second: event times have whole seconds, and
                // an event in the second the wait began (a file written as it began)
                // must not be missed.
                "ExpressionAttributeValues": {":since": {"S.$": whole_second("$$.State.EnteredTime")}}
            }
        });
        let s = self.polled(u, look, not_written, plan, scope, &next, &fail_target);
        scope.insert(name, s);
    }

    /// A polling wait's Task: its retrier looks again on the `not_yet` errors; giving up
    /// ends as the cutoff's status says (abnormally without one).
    #[allow(clippy::too_many_arguments)]
    fn polled(
        &mut self,
        u: UnitId,
        mut look: Tree,
        not_yet: fn() -> Tree,
        (interval, looks): (u64, u64),
        scope: &mut Scope,
        next: &Next,
        fail_target: &str,
    ) -> Tree {
        look["ResultSelector"] = tree!({"failed": false, "rc": 0});
        look["Retry"] = tree!([{
            "ErrorEquals": not_yet(),
            "IntervalSeconds": interval,
            "MaxAttempts": looks - 1,
            "BackoffRate": 1.0
        }]);
        let gave_up = match self.project.units[u].cutoff.as_ref().map(|c| c.on_timeout) {
            Some(EndStatus::Normal) => scope.target(next),
            Some(EndStatus::Warning) => {
                let next = scope.target(next);
                self.mark_warning(scope, u, "timed-out-warned", &next)
            }
            _ => fail_target.to_string(),
        };
        let mut s = with_next(look, next);
        let mut catches = Vec::new();
        if gave_up != fail_target {
            catches
                .push(tree!({"ErrorEquals": not_yet(), "ResultPath": "$.error", "Next": gave_up}));
        }
        catches.push(
            tree!({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail_target}),
        );
        s["Catch"] = Tree::Array(catches);
        s
    }

    /// The run record a cross-jobnet wait looks at (see [`wait_targets`]), or why there is
    /// none to look at.
    fn wait_record(&self, u: UnitId) -> Result<(String, String), String> {
        if !self.records {
            return Err(
                "waits read the other jobnet's run records: compile without --no-run-records"
                    .into(),
            );
        }
        self.names
            .waits
            .get(&u)
            .cloned()
            .unwrap_or_else(|| Err("its target was not resolved".into()))
    }

    /// Path of the run's generation when the jobnet can run several times a business date
    /// (its records are keyed by date and generation).
    fn generation(&self) -> Option<&'static str> {
        self.generations.then_some(GENERATION_PATH)
    }

    /// Where the root execution's input (its `vars`) is: machines the root starts get it
    /// as `rootInput`, so judgments on variables read the same values in every part.
    fn root_input(&self) -> &'static str {
        if self.role == Role::Root {
            "$$.Execution.Input"
        } else {
            "$$.Execution.Input.rootInput"
        }
    }

    /// The run's identity for a machine this one starts: business date, generation and
    /// the root's input.
    fn run_input(&self, input: &mut Tree) {
        input["businessDate.$"] = tree!(self.business_date());
        input["rootInput.$"] = tree!(self.root_input());
        if let Some(g) = self.generation() {
            input[format!("{}.$", records::GENERATION_FIELD).as_str()] = tree!(g);
        }
    }

    /// An SNS publish to the alert topic: jobnet, unit, status (plus `extra`, a format text
    /// and its argument), business date, run and a console link. The caller decides where
    /// it goes next; a failed publish must never change the run's outcome.
    fn alert(
        &mut self,
        comment: String,
        status: &str,
        unit: &str,
        extra: Option<(&str, &str)>,
    ) -> Tree {
        let root = &self.project.units[self.plan.root].path;
        let (extra_text, extra_arg) = match extra {
            Some((text, arg)) => (text.to_string(), format!(", {arg}")),
            None => (String::new(), String::new()),
        };
        let run_id = self.run_id();
        self.iam.push(IamStatement {
            actions: vec!["sns:Publish".into()],
            resources: vec![format!("${{{ALERT_TOPIC}}}")],
        });
        tree!({
            "Type": "Task",
            "Comment": comment,
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": format!("${{{ALERT_TOPIC}}}"),
                "Subject": format!("[jobnet2sfn] {status} {}", shorten(&self.names.machine, 60)),
                "Message.$": format!(
                    "States.Format('jobnet: {}\nunit: {}\nstatus: {status}{extra_text}\nbusiness date: {{}}\nrun: {{}}\nexecution: {{}}\nconsole: https://{{}}.console.aws.amazon.com/states/home?region={{}}#/v2/executions/details/{{}}'{extra_arg}, {}, {run_id}, $$.Execution.Id, {REGION_OF_EXECUTION}, {REGION_OF_EXECUTION}, $$.Execution.Id)",
                    intrinsic_literal(root),
                    intrinsic_literal(unit),
                    self.business_date(),
                ),
                "MessageAttributes": {
                    "jobnet": {"DataType": "String", "StringValue": root},
                    "unit": {"DataType": "String", "StringValue": unit},
                    "status": {"DataType": "String", "StringValue": status.replace(' ', "_")}
                }
            },
            "ResultPath": null
        })
    }

    /// Finds the jobnet's delay monitors and where each deadline is armed; what cannot be
    /// monitored goes to the report (when `report` is set).
    fn plan_monitors(&mut self, report: bool) {
        let root = self.plan.root;
        for u in self.project.descendants(root) {
            let unit = &self.project.units[u];
            for (end, slot) in [(false, &unit.start_delay), (true, &unit.end_delay)] {
                // A held root starts when released: that start can be late.
                let held_root = self.opts.run_records && unit.held();
                if !end && u == root && !slot.is_empty() && !held_root {
                    if report {
                        self.finding(u, FindingKind::Approximated, "start delay: start delay of a root jobnet: not monitored; the run starts when its schedule fires, so there is nothing to be late", "watch the schedule's delivery instead (EventBridge Scheduler dead-letter queue)");
                    }
                    continue;
                }
                let mut deadlines = Vec::new();
                let mut unwatched = Vec::new();
                for m in slot {
                    let what = if end { "end delay" } else { "start delay" };
                    let problem = if let TimeRef::Absolute(t) = m.at {
                        self.until_timestamp(t).is_none().then_some((FindingKind::NotYetCompiled, "delay monitor at a clock time in a time zone with daylight saving time (or past what an offset can express)", "use a relative delay (after_root_start) meanwhile"))
                    } else if m.at == TimeRef::ExpectedDuration && unit.expected_minutes.is_none() {
                        Some((
                            FindingKind::Unsupported,
                            "end delay `expected` without `expected_minutes`: not monitored",
                            "set expected_minutes on the unit",
                        ))
                    } else {
                        None
                    };
                    if let Some((kind, text, action)) = problem {
                        if report {
                            self.finding(u, kind, format!("{what}: {text}"), action);
                        }
                        // Its rules' runs go unwatched, not to the deadline for every run.
                        unwatched.extend(m.rules.iter().cloned());
                        continue;
                    }
                    let parent = unit.parent.filter(|&p| p != root);
                    let arm = match m.at {
                        TimeRef::Absolute(_) | TimeRef::AfterRootStart(_) => ArmPoint::Root,
                        TimeRef::AfterUpperStart(_) => parent.map_or(ArmPoint::Root, ArmPoint::Net),
                        TimeRef::AfterOwnStart(_) | TimeRef::ExpectedDuration if u == root => {
                            ArmPoint::Root
                        }
                        TimeRef::AfterOwnStart(_) | TimeRef::ExpectedDuration => ArmPoint::Own(u),
                    };
                    deadlines.push(Deadline {
                        at: m.at.clone(),
                        rules: m.rules.clone(),
                        arm,
                    });
                }
                if deadlines.is_empty() {
                    continue;
                }
                let key = format!(
                    "{}-{}",
                    shorten(self.names.state(u), 28),
                    if end { 'e' } else { 's' }
                );
                self.monitors.push(Monitor {
                    unit: u,
                    end,
                    deadlines,
                    unwatched,
                    key,
                });
            }
        }
    }

    /// The monitors with a deadline armed at `point`, in source order.
    fn arms_at(&self, point: ArmPoint) -> Vec<Monitor> {
        self.monitors
            .iter()
            .filter(|m| m.arms_at(point))
            .cloned()
            .collect()
    }

    fn monitor_of(&self, u: UnitId, end: bool) -> Option<&Monitor> {
        self.monitors
            .iter()
            .find(|m| m.unit == u && m.end == end && !(end && u == self.plan.root))
    }

    /// States that run before unit `u` itself: stop its start-delay monitor, then arm the
    /// monitors that count from its start. (A job under a slot limit does that after its
    /// begin and slot: it starts at its begin.)
    fn pre_states(&self, u: UnitId) -> Vec<String> {
        let mut out = Vec::new();
        if self.slot_limit(u).is_some() {
            return out;
        }
        if self.held_net(u) {
            out.push(format!("{}.hold", self.names.state(u)));
        }
        if let Some(m) = self.monitor_of(u, false) {
            out.push(format!("monitor.{}.off", m.key));
        }
        let mut points = vec![ArmPoint::Own(u)];
        if self.project.units[u].as_net().is_some() {
            points.insert(0, ArmPoint::Net(u));
        }
        for point in points {
            out.extend(self.arms_at(point).iter().map(|m| m.arm_entry(point)));
        }
        out
    }

    /// Inserts the arm states of `monitors` at `point` as a chain ending in `next`; returns
    /// its entry. A monitor with deadlines per schedule rule first asks which rule started
    /// the run (`rule` in the run input; a run started by hand has none).
    fn emit_arms(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        monitors: &[Monitor],
        point: ArmPoint,
        next: Next,
    ) -> String {
        let mut target = scope.target(&next);
        for m in monitors.iter().rev() {
            let entry = m.arm_entry(point);
            if m.simple() {
                let state = self.arm_state(m, &m.deadlines[0], &target);
                self.map(u, &entry);
                scope.insert(&entry, state);
                target = entry;
                continue;
            }
            let rule = format!("{}.rule", self.root_input());
            // Where each deadline's runs go at this point: its arm here, else on.
            let mut routes: Vec<(&[String], String)> = Vec::new();
            let mut default = target.clone();
            for (j, d) in m.deadlines.iter().enumerate() {
                let go = if d.arm == point {
                    let name = format!("monitor.{}.arm.{}", m.key, j + 1);
                    let state = self.arm_state(m, d, &target);
                    self.map(u, &name);
                    scope.insert(&name, state);
                    name
                } else {
                    target.clone()
                };
                if d.rules.is_empty() {
                    default = go;
                } else {
                    routes.push((&d.rules, go));
                }
            }
            routes.push((&m.unwatched, target.clone()));
            let mut choices = Vec::new();
            for (rules, go) in routes {
                // The default already goes there.
                if rules.is_empty() || go == default {
                    continue;
                }
                let tests: Vec<Tree> = rules
                    .iter()
                    .map(|r| {
                        tree!({"And": [
                            {"Variable": rule.as_str(), "IsPresent": true},
                            {"Variable": rule.as_str(), "StringEquals": r.as_str()}
                        ]})
                    })
                    .collect();
                let mut choice = if tests.len() == 1 {
                    tests.into_iter().next().expect("one test")
                } else {
                    tree!({"Or": Tree::Array(tests)})
                };
                choice["Next"] = tree!(go);
                choices.push(choice);
            }
            let path = &self.project.units[m.unit].path;
            let state = tree!({
                "Type": "Choice",
                "Comment": format!("{path}: which {} deadline watches this run: the one of the schedule rule that started it", if m.end { "end-delay" } else { "start-delay" }),
                "Choices": Tree::Array(choices),
                "Default": default
            });
            self.map(u, &entry);
            scope.insert(&entry, state);
            target = entry;
        }
        target
    }

    /// Starts monitor `m`: an execution of the monitor machine that waits for the deadline.
    fn arm_state(&mut self, m: &Monitor, d: &Deadline, next: &str) -> Tree {
        let monitor = self.monitor_name.clone();
        self.may_start(MONITOR_ARN, &monitor);
        let unit = &self.project.units[m.unit];
        let status = if m.end { "END DELAY" } else { "START DELAY" };
        let mut input = tree!({
            "runId.$": self.run_id(),
            "businessDate.$": self.business_date(),
            "jobnet": self.project.units[self.plan.root].path,
            "unit": unit.path,
            "status": status,
            "statusCode": status.replace(' ', "_"),
            "subject": format!("[jobnet2sfn] {status} {}", shorten(&self.names.machine, 60)),
            "watch.$": "$$.Execution.Id",
            "region.$": REGION_OF_EXECUTION,
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"
        });
        self.run_input(&mut input);
        let spm = self.opts.seconds_per_minute;
        let deadline = match &d.at {
            TimeRef::Absolute(t) => {
                let (clock, offset) = self.until_timestamp(*t).expect("checked when planned");
                input["until.$"] = tree!(format!(
                    "States.Format('{{}}T{clock}:00{offset}', {})",
                    self.business_date()
                ));
                format!("at {t} of the business date")
            }
            TimeRef::AfterRootStart(n)
            | TimeRef::AfterUpperStart(n)
            | TimeRef::AfterOwnStart(n) => {
                input["seconds"] = tree!(u64::from(*n) * spm);
                let from = match d.at {
                    TimeRef::AfterRootStart(_) => "the run's start",
                    TimeRef::AfterUpperStart(_) => "the enclosing jobnet's start",
                    _ => "its own start",
                };
                format!("{n} minute(s) after {from}")
            }
            TimeRef::ExpectedDuration => {
                let n = unit.expected_minutes.unwrap_or(0);
                input["seconds"] = tree!(u64::from(n) * spm);
                format!("after its expected {n} minute(s)")
            }
        };
        let run_id = self.run_id();
        tree!({
            "Type": "Task",
            "Comment": format!("{}: arm the {} monitor ({deadline}{}); it alerts unless stopped in time", unit.path, status.to_lowercase(), rules_note(&d.rules)),
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {
                "StateMachineArn": format!("${{{MONITOR_ARN}}}"),
                "Name.$": format!("States.Format('{{}}-m-{}', {run_id})", m.key),
                "Input": input
            },
            "ResultPath": null,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.monitorError", "Next": next}],
            "Next": next
        })
    }

    /// Inserts `monitor.{key}.off{suffix}`, which stops monitor `m` for unit `u` and goes on
    /// to `next`; returns its name.
    fn emit_off(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        m: &Monitor,
        (suffix, why): (&str, &str),
        next: &str,
    ) -> String {
        let off = format!("monitor.{}.off{suffix}", m.key);
        let state = self.off_state(m, why, next);
        self.map(u, &off);
        scope.insert(&off, state);
        off
    }

    /// Stops monitor `m` (its unit started or ended in time). Never fails the run: a
    /// monitor that already alerted or was never armed is fine.
    fn off_state(&mut self, m: &Monitor, why: &str, next: &str) -> Tree {
        let monitor = self.monitor_name.clone();
        self.iam.push(IamStatement {
            actions: vec!["states:StopExecution".into()],
            resources: vec![format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{monitor}:*")],
        });
        let run_id = self.run_id();
        let parts = "States.StringSplit($$.Execution.Id, ':')";
        tree!({
            "Type": "Task",
            "Comment": format!("{}: {why}: stop its {} monitor", self.project.units[m.unit].path, if m.end { "end-delay" } else { "start-delay" }),
            "Resource": "arn:aws:states:::aws-sdk:sfn:stopExecution",
            "Parameters": {
                "ExecutionArn.$": format!("States.Format('arn:{{}}:states:{{}}:{{}}:execution:{monitor}:{{}}-m-{}', States.ArrayGetItem({parts}, 1), States.ArrayGetItem({parts}, 3), States.ArrayGetItem({parts}, 4), {run_id})", m.key),
                "Cause": format!("{why}")
            },
            "ResultPath": null,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.monitorError", "Next": next}],
            "Next": next
        })
    }

    /// The monitor machine: wait until the deadline, check that the run is still going,
    /// alert. `watched` are the jobnet's other machines, whose executions it describes.
    fn monitor_machine(&mut self, watched: &[String]) -> Machine {
        self.role = Role::Monitor;
        let arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}";
        let resources = if watched.len() > 20 {
            vec![
                format!("{arn}:execution:{}:*", self.names.machine),
                format!("{arn}:execution:{}-*:*", self.names.machine),
            ]
        } else {
            watched
                .iter()
                .map(|w| format!("{arn}:execution:{w}:*"))
                .collect()
        };
        self.iam.push(IamStatement {
            actions: vec!["states:DescribeExecution".into()],
            resources,
        });
        self.iam.push(IamStatement {
            actions: vec!["sns:Publish".into()],
            resources: vec![format!("${{{ALERT_TOPIC}}}")],
        });
        let mut states = IndexMap::default();
        states.insert("monitor.how".to_string(), tree!({
            "Type": "Choice",
            "Comment": "a deadline at a clock time of the business date, or a number of seconds from now",
            "Choices": [{"Variable": "$.until", "IsPresent": true, "Next": "monitor.until"}],
            "Default": "monitor.after"
        }));
        states.insert("monitor.until".to_string(), tree!({"Type": "Wait", "Comment": "until the deadline (a time already past does not wait)", "TimestampPath": "$.until", "Next": "monitor.check"}));
        states.insert("monitor.after".to_string(), tree!({"Type": "Wait", "Comment": "until the deadline", "SecondsPath": "$.seconds", "Next": "monitor.check"}));
        states.insert("monitor.check".to_string(), tree!({
            "Type": "Task",
            "Comment": "is the run that armed this monitor still going? (an ended run is not late)",
            "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
            "Parameters": {"ExecutionArn.$": "$.watch"},
            "ResultSelector": {"status.$": "$.Status"},
            "ResultPath": "$.watched",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.checkError", "Next": "monitor.alert"}],
            "Next": "monitor.running"
        }));
        states.insert("monitor.running".to_string(), tree!({
            "Type": "Choice",
            "Choices": [{"Variable": "$.watched.status", "StringEquals": "RUNNING", "Next": "monitor.alert"}],
            "Default": "monitor.quiet"
        }));
        states.insert("monitor.quiet".to_string(), tree!({"Type": "Succeed", "Comment": "the run ended before the deadline: nothing is late"}));
        states.insert("monitor.alert".to_string(), tree!({
            "Type": "Task",
            "Comment": "the deadline passed and the monitor was not stopped: alert (SNS topic of the template, KMS-encrypted)",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": format!("${{{ALERT_TOPIC}}}"),
                "Subject.$": "$.subject",
                "Message.$": "States.Format('jobnet: {}\nunit: {}\nstatus: {}\nbusiness date: {}\nrun: {}\nexecution: {}\nconsole: https://{}.console.aws.amazon.com/states/home?region={}#/v2/executions/details/{}', $.jobnet, $.unit, $.status, $.businessDate, $.runId, $.watch, $.region, $.region, $.watch)",
                "MessageAttributes": {
                    "jobnet": {"DataType": "String", "StringValue.$": "$.jobnet"},
                    "unit": {"DataType": "String", "StringValue.$": "$.unit"},
                    "status": {"DataType": "String", "StringValue.$": "$.statusCode"}
                }
            },
            "ResultPath": null,
            "End": true
        }));
        let name = self.monitor_name.clone();
        self.take_machine(&name, Role::Monitor, "monitor.how", states)
    }

    /// The machine updates items of the run table (placeholder, table, permission).
    fn writes_run_table(&mut self) {
        self.placeholders.insert(RUN_TABLE.into());
        self.tables.insert(RUN_TABLE.into());
        self.iam.push(IamStatement {
            actions: vec!["dynamodb:UpdateItem".into()],
            resources: vec![format!("${{{RUN_TABLE}Arn}}")],
        });
    }

    /// The event recorder: checks that the key it is given is one of this jobnet's event
    /// items and records there the event's time, unless a later event is recorded already
    /// (EventBridge may deliver late or twice), and how many events it recorded.
    fn recorder_machine(&mut self) -> Machine {
        self.role = Role::Recorder;
        self.writes_run_table();
        let prefix = records::event_key(&self.names.machine, "");
        let mut states = IndexMap::default();
        states.insert("recorder.check".to_string(), tree!({
            "Type": "Choice",
            "Comment": "only this jobnet's event items are written, with the event's time",
            "Choices": [{
                "And": [
                    {"Variable": "$.key", "IsPresent": true},
                    {"Variable": "$.time", "IsPresent": true},
                    {"Variable": "$.key", "IsString": true},
                    {"Variable": "$.key", "StringMatches": format!("{}*", prefix.replace('\\', "\\\\").replace('*', "\\*"))},
                    {"Variable": "$.time", "IsString": true},
                    {"Variable": "$.time", "StringMatches": "*-*-*T*:*:*Z"}
                ],
                "Next": "recorder.record"
            }],
            "Default": "recorder.refused"
        }));
        states.insert("recorder.refused".to_string(), tree!({
            "Type": "Fail",
            "Error": "NotAnEventOfThisJobnet",
            "Cause": format!("the input needs `key` starting with `{prefix}` and the event's `time` in UTC (`2027-01-05T09:30:00Z`)")
        }));
        states.insert("recorder.record".to_string(), tree!({
            "Type": "Task",
            "Comment": "the event's time cut to its second and written as .000, to compare with the waits' start times, cut alike (an event in the second a wait began counts as after it)",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": format!("${{{RUN_TABLE}}}"),
                "Key": {"pk": {"S.$": "$.key"}},
                "UpdateExpression": "SET #at = :t ADD #n :one",
                "ConditionExpression": "attribute_not_exists(#at) OR #at < :t",
                "ExpressionAttributeNames": {"#at": "arrivedAt", "#n": "arrivals"},
                "ExpressionAttributeValues": {
                    ":t": {"S.$": whole_second("$.time")},
                    ":one": {"N": "1"}
                }
            },
            "ResultPath": null,
            "Retry": [{
                "ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.RequestLimitExceeded", "DynamoDB.InternalServerErrorException", "DynamoDB.ThrottlingException"],
                "IntervalSeconds": 2,
                "MaxAttempts": 6,
                "BackoffRate": 2.0
            }],
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": null, "Next": "recorder.older"}],
            "End": true
        }));
        states.insert(
            "recorder.older".to_string(),
            tree!({
                "Type": "Succeed",
                "Comment": "a later event is recorded already"
            }),
        );
        let name = shorten(&format!("{}-events", self.names.machine), 80);
        self.take_machine(&name, Role::Recorder, "recorder.check", states)
    }

    /// Run records are kept unless switched off or the jobnet may run several times a
    /// business date (their records would collide): then it is reported.
    fn plan_records(&mut self) {
        if !self.opts.run_records {
            return;
        }
        let root = self.plan.root;
        let Some(net) = self.project.units[root].as_net() else {
            return;
        };
        // Several runs a business date: each is a generation of the date, named in the
        // input (schedules pass the start time) and part of every record key.
        self.generations = has_generations(net);
        self.records = true;
        self.slots = net.concurrency.max_parallel_jobs;
        self.tables.insert(RUN_TABLE.into());
    }

    fn job_record(&self, u: UnitId) -> JobRecord {
        let unit = &self.project.units[u];
        JobRecord {
            table: format!("${{{RUN_TABLE}}}"),
            jobnet: self.names.machine.clone(),
            path: unit.path.clone(),
            business_date: self.business_date().into(),
            generation: self.generation().map(str::to_string),
            held_in_source: unit.hold,
            hold_poll_seconds: self.opts.seconds_per_minute,
            key: Default::default(),
        }
    }

    /// Units with a run record ([`records::has_record`]) when the jobnet keeps them.
    fn recorded(&self, u: UnitId) -> bool {
        self.records && records::has_record(&self.project.units[u].kind)
    }

    /// The states a recorded unit starts with: `.begin` claims its record and goes on to
    /// the unit's own state; when the record says it ended normally in an earlier run,
    /// `.why` and `.decide` pass it over (to `passed_over`), and while it is held `.held`
    /// looks again. A record that cannot be read or written fails the run, not the unit:
    /// it must not start recovery units.
    fn emit_record_entry(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        record: &JobRecord,
        passed_over: &str,
    ) {
        let name = self.names.state(u).to_string();
        self.emit_record_entry_to(scope, u, record, passed_over, &name);
    }

    /// [`Emitter::emit_record_entry`] with the begin going on to `start`.
    fn emit_record_entry_to(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        record: &JobRecord,
        passed_over: &str,
        start: &str,
    ) {
        let name = self.names.state(u).to_string();
        let broken = scope.handler();
        let [begin, why, decide, held] =
            ["begin", "why", "decide", "held"].map(|s| format!("{name}.{s}"));
        self.iam.push(IamStatement {
            actions: vec!["dynamodb:UpdateItem".into(), "dynamodb:GetItem".into()],
            resources: vec![format!("${{{RUN_TABLE}Arn}}")],
        });
        for (n, state) in [
            (&begin, record.begin(start, &why, &broken)),
            (&why, record.why(&decide, &broken)),
            (&decide, record.decide(passed_over, &held)),
            (&held, record.wait(&begin)),
        ] {
            self.map(u, n);
            scope.insert(n, state);
        }
    }

    /// The limit on jobs at once that job `u` takes a slot under (a no-op job runs nothing
    /// and takes none).
    fn slot_limit(&self, u: UnitId) -> Option<u32> {
        match &self.project.units[u].kind {
            UnitKind::Job(j) if self.records && j.job_type != "noop" => self.slots,
            _ => None,
        }
    }

    /// Where a warning end of job `u` goes on to `next`: through `<name>.<suffix>`, which
    /// marks the run's item, when the root jobnet is held after a warning of its previous
    /// run; else straight on.
    fn mark_warning(&mut self, scope: &mut Scope, u: UnitId, suffix: &str, next: &str) -> String {
        let root = &self.project.units[self.plan.root];
        if !(self.records && root.held_after() == Some(crate::ir::PreviousEnd::Warning)) {
            return next.to_string();
        }
        let state = format!("{}.{suffix}", self.names.state(u));
        let mark = self.job_record(u).warned(next);
        self.iam.push(IamStatement {
            actions: vec!["dynamodb:UpdateItem".into()],
            resources: vec![format!("${{{RUN_TABLE}Arn}}")],
        });
        self.map(u, &state);
        scope.insert(&state, mark);
        state
    }

    /// A jobnet below the root held in the definition (`hold: true`, JP1 `ha=y`), which
    /// waits at a gate when run records are kept (the root's gate is `run.on-hold`).
    fn held_net(&self, u: UnitId) -> bool {
        let unit = &self.project.units[u];
        self.records && unit.hold && u != self.plan.root && unit.as_net().is_some()
    }

    /// `{gate}` and `{gate}.wait`: on to `next` once `release` marked the unit's record of
    /// this run. A record that cannot be written fails the run, as a job's begin does.
    /// `again` is where the wait goes to look again (the gate itself by default): with it,
    /// the gate is that of a root held after its previous run, which also passes while its
    /// record is not marked held ([`JobRecord::hold_gate_after`]).
    fn emit_hold_gate(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        gate: &str,
        next: &str,
        again: Option<&str>,
    ) -> String {
        let (gate, wait) = (gate.to_string(), format!("{gate}.wait"));
        let record = self.job_record(u);
        let broken = scope.handler();
        self.iam.push(IamStatement {
            actions: vec!["dynamodb:UpdateItem".into()],
            resources: vec![format!("${{{RUN_TABLE}Arn}}")],
        });
        // A gate whose wait looks again elsewhere is that of a root held after its previous run.
        let pass = match again {
            Some(_) => record.hold_gate_after(next, &wait, &broken),
            None => record.hold_gate(next, &wait, &broken),
        };
        for (n, state) in [
            (&gate, pass),
            (&wait, record.gate_wait(again.unwrap_or(&gate))),
        ] {
            self.map(u, n);
            scope.insert(n, state);
        }
        gate
    }

    fn join_key(&self, join: UnitId) -> String {
        shorten(self.names.state(join), 32)
    }

    fn map(&mut self, u: UnitId, state: &str) {
        let path = &self.project.units[u].path;
        match self.mapping.get_mut(path) {
            Some(states) => states.push(state.to_string()),
            None => {
                self.mapping.insert(path.clone(), vec![state.to_string()]);
            }
        }
    }

    fn finding(
        &mut self,
        u: UnitId,
        kind: FindingKind,
        what: impl Into<String>,
        action: impl Into<String>,
    ) {
        self.findings.push(Finding {
            unit: self.project.units[u].path.clone(),
            kind,
            what: what.into(),
            action: action.into(),
        });
    }

    /// The name of the first state a block runs.
    fn entry(&self, b: &Block, own: Option<&str>) -> String {
        match b {
            Block::Empty => own.map_or_else(|| "jobnet.empty".into(), str::to_string),
            Block::Unit(u) => self.unit_entry(*u),
            Block::Series(v) => self.entry(&v[0], own),
            Block::Parallel(v) => own.map_or_else(
                || format!("{}.fork", self.entry(&v[0], None)),
                str::to_string,
            ),
            Block::Child(n) => format!("{}.child", self.plan.children[*n].key),
            Block::Arrive { join, from } => {
                let verb = match self.project.units[*join].join {
                    JoinKind::And => "arrive",
                    JoinKind::Or => "claim",
                };
                format!(
                    "{}.{verb}.{}",
                    self.names.state(*join),
                    self.names.state(*from)
                )
            }
        }
    }

    /// Whether unit `u` has recovery units attached.
    fn has_recovery(&self, u: UnitId) -> bool {
        let parent = self.project.units[u].parent.unwrap_or(self.plan.root);
        self.plan
            .nets
            .get(&parent)
            .and_then(|p| p.recovery.get(&u))
            .is_some_and(|r| !r.is_empty())
    }

    /// The first state of unit `u`, monitor states included.
    fn unit_entry(&self, u: UnitId) -> String {
        self.pre_states(u)
            .into_iter()
            .next()
            .unwrap_or_else(|| self.body_entry(u))
    }

    /// A nested net runs as a one-branch Parallel when an abnormal end anywhere inside it
    /// must reach something of its own: its recovery units, or its end-delay monitor.
    fn wrapped(&self, u: UnitId) -> bool {
        self.has_recovery(u) || self.monitor_of(u, true).is_some()
    }

    /// The first state of unit `u` itself.
    fn body_entry(&self, u: UnitId) -> String {
        let own = self.names.state(u);
        match &self.project.units[u].kind {
            _ if self.recorded(u) => format!("{own}.begin"),
            UnitKind::Net(_) if self.wrapped(u) => own.to_string(),
            UnitKind::Wait(TimeWait::Until(t)) if self.until_timestamp(*t).is_some() => {
                format!("{own}.at")
            }
            UnitKind::Net(_) => {
                let main = &self.plan.nets[&u].main;
                match main {
                    Block::Empty | Block::Parallel(_) => own.to_string(),
                    _ => self.entry(main, Some(own)),
                }
            }
            _ => own.to_string(),
        }
    }

    fn emit_block(&mut self, scope: &mut Scope, b: &Block, own: Option<&str>, next: Next) {
        match b {
            Block::Empty => {}
            Block::Unit(u) => self.emit_unit(scope, *u, next),
            Block::Series(v) => {
                for (i, item) in v.iter().enumerate() {
                    let n = match v.get(i + 1) {
                        Some(following) => Next::To(self.entry(following, None)),
                        None => next.clone(),
                    };
                    self.emit_block(scope, item, if i == 0 { own } else { None }, n);
                }
            }
            Block::Parallel(branches) => self.emit_parallel(scope, branches, own, next),
            Block::Arrive { join, from } => self.emit_arrive(scope, *join, *from, next),
            Block::Child(n) => self.emit_child_call(scope, *n, next),
        }
    }

    fn emit_parallel(
        &mut self,
        scope: &mut Scope,
        branches: &[Block],
        own: Option<&str>,
        next: Next,
    ) {
        let name = match own {
            Some(o) => o.to_string(),
            None => format!("{}.fork", self.entry(&branches[0], None)),
        };
        let check = format!("{name}.check");
        let mut out_branches = Vec::new();
        let mut selector = Map::new();
        selector.insert("failed", tree!(false));
        let mut rules = Vec::new();
        for (i, br) in branches.iter().enumerate() {
            let entry = self.entry(br, None);
            let mut sub = Scope::branch(&entry);
            self.emit_block(&mut sub, br, None, Next::End);
            out_branches.push(object([
                ("StartAt", Tree::from(entry)),
                ("States", Tree::Object(self.close(sub).into())),
            ]));
            selector.insert(format!("b{i}.$"), tree!(format!("$[{i}].failed")));
            rules.push(tree!({"Variable": format!("$.b{i}"), "BooleanEquals": true}));
        }
        let comment = match own.and_then(|o| self.find_net_named(o)) {
            Some(net) => format!(
                "{}: nested jobnet, its units run in parallel",
                self.project.units[net].path
            ),
            None => "fork: these branches have no dependency on each other".to_string(),
        };
        scope.insert(
            &name,
            object([
                ("Type", tree!("Parallel")),
                ("Comment", Tree::from(comment)),
                ("Branches", Tree::Array(out_branches)),
                ("ResultSelector", Tree::Object(selector)),
                ("Next", Tree::from(check.clone())),
            ]),
        );
        let handler = scope.handler();
        let default = scope.target(&next);
        scope.insert(
            &check,
            tree!({"Type": "Choice", "Comment": "join: stop the successors if any branch had an abnormal end", "Choices": [{"Or": rules, "Next": handler}], "Default": default}),
        );
    }

    fn find_net_named(&self, state: &str) -> Option<UnitId> {
        self.plan
            .nets
            .keys()
            .copied()
            .find(|&n| n != self.plan.root && self.names.state(n) == state)
    }

    fn emit_arrive(&mut self, scope: &mut Scope, join: UnitId, from: UnitId, next: Next) {
        let key = self.join_key(join);
        let j = self.names.state(join).to_string();
        let x = self.names.state(from).to_string();
        let n = self
            .plan
            .regions()
            .find(|(_, r)| r.join == join)
            .map_or(0, |(_, r)| r.preds.len());
        let run_id = self.run_id();
        let item_key =
            tree!({"pk": {"S.$": format!("States.Format('{{}}#join#{}', {run_id})", key)}});
        let start = format!("{j}.start.{x}");
        let handler = scope.handler();
        self.tables.insert(RUN_TABLE.into());
        self.iam.push(IamStatement {
            actions: vec!["dynamodb:UpdateItem".into()],
            resources: vec![format!("${{{RUN_TABLE}Arn}}")],
        });
        match self.project.units[join].join {
            JoinKind::And => {
                let arrive = format!("{j}.arrive.{x}");
                let gate = format!("{j}.gate.{x}");
                scope.insert(&arrive, tree!({
                    "Type": "Task",
                    "Comment": format!("{} ended normally: count its arrival at {}", self.project.units[from].path, self.project.units[join].path),
                    "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": {
                        "TableName": format!("${{{RUN_TABLE}}}"),
                        "Key": item_key,
                        "UpdateExpression": "ADD arrived :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                        "ReturnValues": "UPDATED_NEW"
                    },
                    "ResultSelector": {"failed": false, "arrived.$": "$.Attributes.arrived.N"},
                    "Next": gate,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": handler}]
                }));
                let wait = scope.done();
                scope.insert(&gate, tree!({
                    "Type": "Choice",
                    "Comment": format!("the last of {n} predecessors to arrive starts {}", self.project.units[join].path),
                    "Choices": [{"Variable": "$.arrived", "StringEquals": n.to_string(), "Next": start}],
                    "Default": wait
                }));
            }
            JoinKind::Or => {
                let claim = format!("{j}.claim.{x}");
                let lost = scope.done();
                scope.insert(&claim, tree!({
                    "Type": "Task",
                    "Comment": format!("{} ended normally: the first arrival starts OR-join {}", self.project.units[from].path, self.project.units[join].path),
                    "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": {
                        "TableName": format!("${{{RUN_TABLE}}}"),
                        "Key": item_key,
                        "UpdateExpression": "SET claimedBy = :by",
                        "ConditionExpression": "attribute_not_exists(claimedBy)",
                        "ExpressionAttributeValues": {":by": {"S": x}}
                    },
                    "ResultSelector": {"failed": false},
                    "Next": start,
                    "Catch": [
                        {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.error", "Next": lost},
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": handler}
                    ]
                }));
            }
        }
        let group = self.plan.cont_groups.get(&join).copied().unwrap_or(0);
        let cont = cont_machine(&self.cont_name, group);
        let placeholder = cont_placeholder(group);
        self.may_start(&placeholder, &cont);
        let mut state = tree!({
            "Type": "Task",
            "Comment": format!("run {} and what follows it in the continuation machine", self.project.units[join].path),
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn": format!("${{{placeholder}}}"),
                "Name.$": format!("States.Format('{{}}-j-{key}', {run_id})"),
                "Input": {
                    "join": key,
                    "runId.$": run_id,
                    "businessDate.$": self.business_date(),
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"
                }
            },
            "ResultSelector": {"failed": false},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": handler}]
        });
        self.run_input(&mut state["Parameters"]["Input"]);
        let state = with_next(state, &next);
        scope.insert(&start, state);
    }

    /// The root jobnet's time zone (its schedule's; Asia/Tokyo by default).
    fn timezone(&self) -> String {
        self.project.units[self.plan.root]
            .as_net()
            .and_then(|n| n.schedule.as_ref())
            .map_or_else(|| "Asia/Tokyo".to_string(), |s| s.timezone.clone())
    }

    /// Clock part and UTC offset that make `<businessDate>T<clock>:00<offset>` the
    /// instant of `t` on the business date. Times past 24:00 keep the business date in the
    /// string and move the offset back a day (26:30 in Tokyo is `T02:30:00-15:00`), so no
    /// date arithmetic is needed at run time. `None` for zones with daylight saving time and
    /// for times no offset within ±18:00 can express.
    fn until_timestamp(&self, t: crate::ir::ClockTime) -> Option<(String, String)> {
        let zone_offset: i32 = match self.timezone().as_str() {
            "Asia/Tokyo" | "Asia/Seoul" | "Japan" => 540,
            "Asia/Shanghai" | "Asia/Singapore" | "Asia/Taipei" | "Asia/Hong_Kong" => 480,
            "Asia/Kolkata" => 330,
            "UTC" | "Etc/UTC" | "GMT" => 0,
            _ => return None,
        };
        // A time before the calendar's day start belongs to the next calendar day.
        let t = match crate::calendar::engine::calendar_of(self.project, self.plan.root) {
            Ok(cal) => crate::calendar::engine::business_time(&cal, t),
            Err(_) => t,
        };
        let minutes = i32::try_from(t.minutes).ok()?;
        let (clock, offset) = if minutes < 1440 {
            (minutes, zone_offset)
        } else {
            (minutes - 1440, zone_offset - 1440)
        };
        if offset < -1080 {
            return None;
        }
        let sign = if offset < 0 { '-' } else { '+' };
        Some((
            format!("{:02}:{:02}", clock / 60, clock % 60),
            format!("{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60),
        ))
    }

    /// Records that the machine being emitted starts machine `name` (placeholder, IAM).
    fn may_start(&mut self, placeholder: &str, name: &str) {
        self.starts.insert(name.to_string());
        self.machine_refs
            .insert(placeholder.to_string(), name.to_string());
        self.events_rules
            .insert("StepFunctionsGetEventsForStepFunctionsExecutionRule".into());
        self.iam.push(IamStatement {
            actions: vec!["states:StartExecution".into()],
            resources: vec![format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{name}")],
        });
        self.iam.push(IamStatement {
            actions: vec!["states:DescribeExecution".into(), "states:StopExecution".into()],
            resources: vec![format!("arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{name}:*")],
        });
    }

    /// Name of the child machine with key `key`: `[A-Za-z0-9_-]`, at most 80 characters.
    fn child_machine(&self, key: &str) -> String {
        shorten(
            &format!("{}-{}", self.names.machine, key.replace('.', "-")),
            80,
        )
    }

    /// Starts child machine `n` and waits for it; its failure is this branch's failure,
    /// exactly as a failed job's would be.
    fn emit_child_call(&mut self, scope: &mut Scope, n: usize, next: Next) {
        let key = self.plan.children[n].key.clone();
        let machine = self.child_machine(&key);
        // `pascal` would merge `u2-2` and `u22`; keys are distinct with `-` read as `_`.
        let placeholder = format!("Child_{}_Arn", key.replace('-', "_"));
        self.may_start(&placeholder, &machine);
        let handler = scope.handler();
        let run_id = self.run_id();
        let mut state = tree!({
            "Type": "Task",
            "Comment": format!("run the part starting at {key} in child machine {machine} (split to stay under the budgets)"),
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn": format!("${{{placeholder}}}"),
                "Name.$": format!("States.Format('{{}}-p-{}', {run_id})", shorten(&key, 32)),
                "Input": {
                    "runId.$": run_id,
                    "businessDate.$": self.business_date(),
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"
                }
            },
            "ResultSelector": {"failed": false},
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": handler}]
        });
        self.run_input(&mut state["Parameters"]["Input"]);
        let name = format!("{key}.child");
        scope.insert(&name, with_next(state, &next));
    }

    fn emit_unit(&mut self, scope: &mut Scope, u: UnitId, next: Next) {
        let unit = &self.project.units[u];
        let name = self.names.state(u).to_string();
        // Where an abnormal end goes: the recovery units if any, else the scope's handler.
        let recovery = self
            .plan
            .nets
            .get(&unit.parent.unwrap_or(self.plan.root))
            .and_then(|p| p.recovery.get(&u))
            .cloned();
        let mut fail_target = match &recovery {
            Some(r) if !r.is_empty() => self.unit_entry(r[0]),
            _ => scope.handler(),
        };
        self.pending(u);
        let mut next = next;
        if let Some(m) = self.monitor_of(u, true).cloned() {
            let target = scope.target(&next);
            next = Next::To(self.emit_off(scope, u, &m, ("", "it ended"), &target));
            // Units that can end abnormally stop their monitor on that way out too.
            let can_fail = match &unit.kind {
                UnitKind::Job(_)
                | UnitKind::Net(_)
                | UnitKind::FileWait(_)
                | UnitKind::WaitFor(_)
                | UnitKind::EventWait(_) => true,
                UnitKind::Judgment(j) => matches!(j.condition, Condition::FileExists { .. }),
                _ => false,
            };
            if can_fail {
                fail_target = self.emit_off(
                    scope,
                    u,
                    &m,
                    ("-abnormal", "it ended abnormally"),
                    &fail_target,
                );
            }
        }
        // A job under a limit on jobs at once starts when it has a slot: its start monitor
        // stops, and its own-start deadlines are armed, after `.slot`, just before it runs.
        let limit = self.slot_limit(u);
        let mut body = if limit.is_some() {
            name.clone()
        } else {
            self.body_entry(u)
        };
        let mut points = vec![ArmPoint::Own(u)];
        if unit.as_net().is_some() {
            points.push(ArmPoint::Net(u));
        }
        for point in points {
            let arms = self.arms_at(point);
            if !arms.is_empty() {
                body = self.emit_arms(scope, u, &arms, point, Next::To(body));
            }
        }
        let mut start = body.clone();
        if let Some(m) = self.monitor_of(u, false).cloned() {
            start = self.emit_off(scope, u, &m, ("", "it started"), &body);
        }
        if self.held_net(u) {
            // Held in the definition: the jobnet starts (and its start monitor stops) only
            // once released for this run.
            self.emit_hold_gate(scope, u, &format!("{name}.hold"), &start, None);
        }
        match &unit.kind {
            UnitKind::Job(_) if self.records => {
                let record = self.job_record(u);
                let next_target = scope.target(&next);
                let [end, forced, from_cause, abnormal] =
                    ["end", "end-forced", "end-rc", "end-abnormal"].map(|s| format!("{name}.{s}"));
                // A judgment reads this job's return code: when a rerun passes the job
                // over, the code its record kept is handed on as if the job had just ended.
                let passed_over = if self.rc_needed(u) {
                    let names =
                        ["restore", "rc-restored", "rc-none"].map(|s| format!("{name}.{s}"));
                    let states = record.restore_rc(&names[1], &names[2], &next_target);
                    for (n, state) in names.iter().zip(states) {
                        self.map(u, n);
                        scope.insert(n, state);
                    }
                    names[0].clone()
                } else {
                    next_target.clone()
                };
                // With a limit on the jobs running at once, the job takes a slot of the run
                // after its begin (then stops its start monitor and arms its own-start
                // deadlines: `start`) and gives it back on each way out.
                let (start, after_end, after_abnormal) = match limit {
                    Some(max) => {
                        let [slot, wait, free, free_abnormal] =
                            ["slot", "slot.wait", "free", "free-abnormal"]
                                .map(|s| format!("{name}.{s}"));
                        let broken = scope.handler();
                        for (n, state) in [
                            (&slot, record.take_slot(max, &start, &wait, &broken)),
                            (&wait, record.slot_wait(&slot)),
                            (&free, record.free_slot(&next_target, &broken)),
                            (&free_abnormal, record.free_slot(&fail_target, &broken)),
                        ] {
                            self.map(u, n);
                            scope.insert(n, state);
                        }
                        (slot, free, free_abnormal)
                    }
                    None => (name.clone(), next_target.clone(), fail_target.clone()),
                };
                // A job passed over before its slot never got to stop its start monitor.
                let passed_over = match (limit, self.monitor_of(u, false).cloned()) {
                    (Some(_), Some(m)) => self.emit_off(
                        scope,
                        u,
                        &m,
                        ("-passed", "it was passed over"),
                        &passed_over,
                    ),
                    _ => passed_over,
                };
                self.emit_record_entry_to(scope, u, &record, &passed_over, &start);
                for (n, state) in [
                    (
                        &abnormal,
                        record.end(records::ENDED_ABNORMALLY, &after_abnormal, None),
                    ),
                    (
                        &end,
                        record.end(records::ENDED_NORMALLY, &after_end, Some("$.rc")),
                    ),
                ] {
                    self.map(u, n);
                    scope.insert(n, state);
                }
                self.job_end = Some(JobEnd {
                    record,
                    forced,
                    from_cause,
                    next: after_end,
                });
                self.emit_job(scope, u, &abnormal, Next::To(end));
                self.job_end = None;
            }
            UnitKind::Job(_) => self.emit_job(scope, u, &fail_target, next),
            UnitKind::Net(_) => {
                let plan = self.plan;
                let main = &plan.nets[&u].main;
                if *main == Block::Empty {
                    self.map(u, &name);
                    let s = with_next(
                        tree!({"Type": "Pass", "Comment": format!("{}: empty jobnet", unit.path), "Result": {"failed": false}}),
                        &next,
                    );
                    scope.insert(&name, s);
                } else {
                    let entry = self.body_entry(u);
                    self.map(u, &entry);
                    if unit.cutoff.is_some() {
                        self.finding(u, FindingKind::Unsupported, "cutoff on a jobnet: not compiled (a Parallel state has no timeout)", "put the cutoff on its jobs, or an end_delay on the jobnet to be alerted");
                    }
                    if self.wrapped(u) {
                        // The net runs as a one-branch Parallel so that an abnormal end
                        // anywhere inside it reaches its recovery units or monitor.
                        let inner = self.entry(main, None);
                        let mut sub = Scope::branch(&inner);
                        self.emit_block(&mut sub, main, None, Next::End);
                        let check = format!("{name}.check");
                        let branch = object([
                            ("StartAt", Tree::from(inner)),
                            ("States", Tree::Object(self.close(sub).into())),
                        ]);
                        scope.insert(
                            &name,
                            object([
                                ("Type", tree!("Parallel")),
                                (
                                    "Comment",
                                    tree!(format!(
                                        "{}: nested jobnet with recovery units",
                                        unit.path
                                    )),
                                ),
                                ("Branches", Tree::Array(vec![branch])),
                                (
                                    "ResultSelector",
                                    tree!({"failed": false, "b0.$": "$[0].failed"}),
                                ),
                                ("Next", Tree::from(check.clone())),
                            ]),
                        );
                        let default = scope.target(&next);
                        scope.insert(&check, tree!({
                            "Type": "Choice",
                            "Comment": "an abnormal end inside the jobnet runs its recovery units",
                            "Choices": [{"Variable": "$.b0", "BooleanEquals": true, "Next": fail_target}],
                            "Default": default
                        }));
                    } else {
                        self.emit_block(scope, main, Some(&name), next);
                    }
                }
            }
            UnitKind::Judgment(j) => self.emit_judgment(scope, u, &j.condition.clone(), next),
            UnitKind::NoOp => {
                self.map(u, &name);
                let s = with_next(
                    tree!({"Type": "Pass", "Comment": format!("{}: no-op", unit.path), "Result": {"failed": false}}),
                    &next,
                );
                scope.insert(&name, s);
            }
            UnitKind::Wait(TimeWait::Minutes(m)) => {
                let seconds = u64::from(*m) * self.opts.seconds_per_minute;
                let wait = tree!({"Type": "Wait", "Comment": format!("{}: wait {m} minute(s)", unit.path), "Seconds": seconds});
                if self.records {
                    let record = self.job_record(u);
                    let next_target = scope.target(&next);
                    let end = format!("{name}.end");
                    self.emit_record_entry(scope, u, &record, &next_target);
                    for (n, state) in [
                        (&name, with_next(wait, &Next::To(end.clone()))),
                        (
                            &end,
                            record.end(records::ENDED_NORMALLY, &next_target, None),
                        ),
                    ] {
                        self.map(u, n);
                        scope.insert(n, state);
                    }
                } else {
                    self.map(u, &name);
                    scope.insert(&name, with_next(wait, &next));
                }
            }
            UnitKind::Wait(TimeWait::Until(t)) if self.until_timestamp(*t).is_some() => {
                let (clock, offset) = self.until_timestamp(*t).expect("checked");
                let at = format!("{name}.at");
                self.map(u, &at);
                self.map(u, &name);
                scope.insert(&at, tree!({
                    "Type": "Pass",
                    "Comment": format!("{}: wait until {t} of the business date ({})", unit.path, self.timezone()),
                    "Parameters": {
                        "failed": false,
                        "until.$": format!("States.Format('{{}}T{clock}:00{offset}', {})", self.business_date())
                    },
                    "Next": name
                }));
                let s = with_next(
                    tree!({"Type": "Wait", "Comment": format!("{}: until {t} (a time already past does not wait)", unit.path), "TimestampPath": "$.until"}),
                    &next,
                );
                scope.insert(&name, s);
            }
            UnitKind::FileWait(w) if rule_watch(&unit.kind).is_some() => {
                let (interval, looks) =
                    self.poll_plan(u, u64::from(w.interval_seconds), "a file wait");
                if crate::ir::s3_object(&w.path).is_none() {
                    self.legacy_bucket(u, &w.path, "file wait", "watches");
                }
                let what = rule_watch(&unit.kind).map_or_else(String::new, |w| w.describe());
                self.emit_recorded_wait(
                    scope,
                    u,
                    &name,
                    &what,
                    (interval, looks),
                    next,
                    fail_target,
                );
            }
            UnitKind::FileWait(w) => {
                let (interval, looks) =
                    self.poll_plan(u, u64::from(w.interval_seconds), "a file wait");
                self.map(u, &name);
                let look = self.look_at(
                    u,
                    &w.path,
                    "file wait",
                    format!(
                        "{}: wait until {} exists (a look every {interval} s, at most {looks})",
                        unit.path, w.path
                    ),
                );
                let s = self.polled(
                    u,
                    look,
                    missing_object,
                    (interval, looks),
                    scope,
                    &next,
                    &fail_target,
                );
                scope.insert(&name, s);
            }
            UnitKind::WaitFor(w) if self.wait_record(u).is_ok() => {
                let Ok((prefix, suffix)) = self.wait_record(u) else {
                    unreachable!("checked by the guard")
                };
                // Like a file wait; a look is a conditional write that changes nothing.
                let (interval, looks) = self.poll_plan(
                    u,
                    self.opts.seconds_per_minute,
                    &format!("wait for `{}`", w.target),
                );
                self.map(u, &name);
                self.writes_run_table();
                let look = tree!({
                    "Type": "Task",
                    "Comment": format!(
                        "{}: wait until {} has ended normally in this business date's run (a look every {interval} s, at most {looks})",
                        unit.path, w.target
                    ),
                    "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": {
                        "TableName": format!("${{{RUN_TABLE}}}"),
                        "Key": records::key_param(&prefix, &suffix, self.business_date(), None),
                        "UpdateExpression": "SET #s = :ok",
                        "ConditionExpression": "#s = :ok",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":ok": {"S": records::ENDED_NORMALLY}}
                    }
                });
                let s = self.polled(
                    u,
                    look,
                    not_written,
                    (interval, looks),
                    scope,
                    &next,
                    &fail_target,
                );
                scope.insert(&name, s);
            }
            UnitKind::EventWait(_) => {
                let (interval, looks) =
                    self.poll_plan(u, self.opts.seconds_per_minute, "an event wait");
                self.emit_recorded_wait(
                    scope,
                    u,
                    &name,
                    "its event",
                    (interval, looks),
                    next,
                    fail_target,
                );
            }
            UnitKind::Wait(TimeWait::Until(_))
            | UnitKind::WaitFor(_)
            | UnitKind::Unsupported { .. } => {
                self.map(u, &name);
                let s = with_next(
                    tree!({"Type": "Pass", "Comment": format!("{}: NOT COMPILED ({}); see report.md", unit.path, unit.kind.label())}),
                    &next,
                );
                scope.insert(&name, s);
            }
        }
        if let Some(chain) = recovery {
            let handler = scope.handler();
            for (i, &r) in chain.iter().enumerate() {
                let n = match chain.get(i + 1) {
                    Some(&f) => Next::To(self.unit_entry(f)),
                    None => Next::To(handler.clone()),
                };
                self.emit_unit(scope, r, n);
            }
        }
    }

    /// Lists what this unit asks for that is compiled by a later issue (or not at all).
    fn pending(&mut self, u: UnitId) {
        let unit = &self.project.units[u];
        let mut items: Vec<(FindingKind, String, String)> = Vec::new();
        // A jobnet's hold is a gate before it (the root's: `emit_cached`).
        let gated = self.records && (u == self.plan.root || self.held_net(u));
        if unit.hold && !self.recorded(u) && !gated {
            items.push((
                FindingKind::Unsupported,
                "hold".into(),
                if self.records {
                    "only jobs, jobnets, interval waits, event waits and file waits for a write or deletion can be held: hold the units around it (jobnet2sfn hold)"
                } else {
                    "holding needs run records: compile without --no-run-records"
                }
                .into(),
            ));
        }
        if let Some(after) = unit.hold_after.filter(|_| !self.records) {
            items.push((
                FindingKind::Unsupported,
                format!("hold: {}", after.spec_name()),
                "holding needs run records: compile without --no-run-records".into(),
            ));
        }
        match &unit.kind {
            UnitKind::Wait(TimeWait::Until(t)) if self.until_timestamp(*t).is_none() => items.push((FindingKind::NotYetCompiled, format!("time wait until {t} in time zone {}", self.timezone()), "clock-time waits are compiled for fixed-offset zones (Asia/Tokyo, UTC, …) and times the offset can express; wait by interval meanwhile".into())),
            UnitKind::FileWait(w) if w.events.is_some() => match rule_watch(&unit.kind) {
                Some(watched) => {
                    let bucket = match crate::ir::s3_object(&w.path) {
                        Some((bucket, _)) => format!("bucket {bucket}"),
                        None => format!("the {LEGACY_FILE_BUCKET} parameter's bucket"),
                    };
                    items.push((FindingKind::Approximated, format!("file wait: an EventBridge rule on {} records it for the wait", watched.describe()), format!("send the events of {bucket} to EventBridge (the bucket's EventBridge notifications); only an event after the wait began ends it")));
                }
                None => items.push((FindingKind::Approximated, format!("file wait for an object's events on `{}`, which holds a placeholder no rule can match", w.path), "the wait ends once the object exists, even if it was there before the wait began: write the bucket and key in the path".into())),
            },
            UnitKind::EventWait(m) => items.push((FindingKind::Approximated, format!("event wait: an EventBridge rule on {} records its arrival for the wait", crate::ir::Watched::Event(m.clone()).describe()), "send the event to the account's default bus as the `eventbridge` job type (migrated JP1 event sending) sends it; only an event after the wait began ends it".into())),
            UnitKind::WaitFor(w) => {
                if let Err(why) = self.wait_record(u) {
                    items.push((FindingKind::NotYetCompiled, format!("wait for jobnet `{}`", w.target), format!("not compiled: {why}; start the jobnet after the other one meanwhile")));
                }
            }
            UnitKind::Unsupported { type_name, reason } => items.push((FindingKind::Unsupported, format!("unit type `{type_name}`: {reason}"), "replace it with a job, or compile with --allow-partial to keep a no-op in its place".into())),
            UnitKind::Job(job) => {
                if let Some(r) = &job.retry {
                    if let Some((lo, hi)) = r.return_codes {
                        items.push((FindingKind::Approximated, format!("retry only on return codes {lo}..{hi}"), "the generated Retry retries any abnormal end; narrow it in the job if it matters".into()));
                    }
                }
                if matches!(job.end, EndJudgment::FileExists(_)) {
                    if job.retry.is_some() {
                        items.push((FindingKind::Approximated, "retry with an end judgment by file".into(), "an exit code other than 0 is retried before the file is looked at; drop the retry if a rerun of the job does harm".into()));
                    }
                    if self.rc_needed(u) {
                        items.push((FindingKind::Approximated, "a return-code judgment after a job judged by file".into(), "the judgment reads 0: the job's own return code is not kept".into()));
                    }
                }
                if matches!(job.end, EndJudgment::FileModified(_)) {
                    items.push((FindingKind::NotYetCompiled, "end judgment by a file's modification".into(), "judged by return code meanwhile; check the file in the job itself".into()));
                }
            }
            UnitKind::Net(net) => {
                // A root's schedule and calendar become EventBridge schedules, the business
                // calendar table and the gate (src/back/schedule.rs).
                if u != self.plan.root && (net.schedule.is_some() || net.calendar.is_some()) {
                    items.push((FindingKind::Approximated, "schedule or calendar on a nested jobnet".into(), "a nested jobnet runs when its place in the root jobnet comes; put the schedule on the root".into()));
                }
                items.extend(crate::back::schedule::start_condition_findings(self.project, u));
                // Multiple launch is compiled (generations of a business date's records).
                // A limit on jobs at once is a slot count on the run's record.
                match net.concurrency.max_parallel_jobs {
                    Some(n) if !self.records => items.push((FindingKind::Unsupported, format!("at most {n} jobs at once (max_parallel_jobs)"), "the limit counts the run's jobs in its run record: compile without --no-run-records".into())),
                    Some(n) if u == self.plan.root => items.push((FindingKind::Approximated, format!("at most {n} jobs at once (max_parallel_jobs): a job waiting for a slot has begun its record (RUNNING, started when it began waiting) and looks again every minute, about 480 history events an hour per waiting job, which the estimates leave out"), "keep queues short (a long wait can reach an execution's 25,000 history events), or limit the services' own concurrency instead".into())),
                    _ => {}
                }
            }
            _ => {}
        }
        for m in &unit.unmapped {
            items.push((
                FindingKind::Unsupported,
                format!("parameter `{}={}`: {}", m.key, m.value, m.reason),
                "map it by hand".into(),
            ));
        }
        for (kind, what, action) in items {
            self.finding(u, kind, what, action);
        }
    }

    /// The states of `scope`; two states of one name (a unit named like a state the
    /// compiler generates) are an error, not a silent overwrite.
    fn close(&mut self, scope: Scope) -> IndexMap<String, Tree> {
        for name in &scope.duplicates {
            self.errors.push(format!(
                "two states are named `{name}`: a unit's name meets a state the compiler generates; rename the unit"
            ));
        }
        scope.finish()
    }

    /// Unit `u` emitted on its own as `{"States": {…}}`, for measuring.
    fn scratch(&mut self, u: UnitId) -> Tree {
        let mut scope = Scope::branch("cost");
        self.emit_unit(&mut scope, u, Next::End);
        object([("States", Tree::Object(self.close(scope).into()))])
    }

    /// The shape of job `u` if it is plain: no recovery units, monitors or arms, no
    /// judgment reading its code. Renders the job into the cache.
    fn plain_shape(&self, u: UnitId) -> Option<Shape> {
        use std::fmt::Write as _;
        let unit = &self.project.units[u];
        let UnitKind::Job(job) = &unit.kind else {
            return None;
        };
        if self.has_recovery(u)
            || self.rc_needed(u)
            || self.monitor_of(u, true).is_some()
            || self.monitor_of(u, false).is_some()
            || self.monitors.iter().any(|m| m.arms_at(ArmPoint::Own(u)))
            || !self.cache.keeps()
        {
            return None;
        }
        let name = self.names.state(u);
        let mut cache = self.cache.map();
        let rendered = match cache.entry(u) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.render_job(u, name).ok()?)
            }
        };
        // Not spans: jobs alike but for their place in the source are one shape.
        let retry = job
            .retry
            .as_ref()
            .map(|r| (r.max_attempts, r.interval_seconds, r.return_codes));
        let cutoff = unit.cutoff.as_ref().map(|c| (c.minutes, c.on_timeout));
        let mut key = String::new();
        let _ = write!(
            key,
            "{}|{:?}|{retry:?}|{cutoff:?}|{}|{:?}|{}",
            job.job_type, job.end, unit.hold, rendered.rc, rendered.check_default_rc
        );
        for (i, state) in rendered.states.iter().enumerate() {
            key.push('|');
            for (k, v) in state.iter() {
                key.push_str(k);
                match (k, v) {
                    ("Type", Tree::String(t)) => {
                        key.push('=');
                        key.push_str(t);
                    }
                    // What the state and history event counts read besides the type: a
                    // user's template may nest states or retry; jobs of a shape agree.
                    ("Branches" | "ItemProcessor" | "Iterator" | "Items" | "Retry", _) => {
                        key.push('=');
                        key.push_str(&crate::back::pretty(v));
                    }
                    ("ResultSelector", Tree::Object(m)) if i + 1 == rendered.states.len() => {
                        for (k, _) in m.iter() {
                            key.push(':');
                            key.push_str(k);
                        }
                    }
                    _ => {}
                }
                key.push(',');
            }
        }
        let (mut bytes, mut lines, mut tokens) = (0, 0, 0);
        kept_values(rendered, unit, |_, v, level| {
            let (b, l) = crate::back::json::pretty_size(v, level);
            bytes += b;
            lines += l;
            tokens += count_token(v);
        });
        Some(Shape {
            key,
            rendered_bytes: bytes,
            rendered_lines: lines,
            tokens,
            name: crate::back::json::str_len(name) - 2,
            path: crate::back::json::str_len(&unit.path) - 2,
            // Each backslash `intrinsic_literal` adds prints as `\\`.
            quoted_path: crate::back::json::str_len(&unit.path) - 2
                + 2 * unit
                    .path
                    .chars()
                    .filter(|&c| crate::back::intrinsic_escaped(c))
                    .count(),
        })
    }

    fn emit_job(&mut self, scope: &mut Scope, u: UnitId, fail_target: &str, next: Next) {
        let unit = &self.project.units[u];
        let UnitKind::Job(job) = &unit.kind else {
            return;
        };
        let name = self.names.state(u).to_string();
        let keep = self.cache.keeps();
        let cached = keep
            .then(|| {
                let mut cache = self.cache.map();
                if self.takes {
                    cache.remove(&u)
                } else {
                    cache.get(&u).cloned()
                }
            })
            .flatten();
        let mut rendered = match cached {
            Some(r) => r,
            None => match self.render_job(u, &name) {
                Ok(r) => {
                    if keep && !self.takes {
                        self.cache.map().insert(u, r.clone());
                    }
                    r
                }
                Err(e) => {
                    self.errors
                        .push(format!("{}: job type `{}`: {e}", unit.path, job.job_type));
                    return;
                }
            },
        };
        let run_id = self.run_id();
        for st in &mut rendered.states {
            for v in st.values_mut() {
                replace_token(v, run_id);
            }
        }
        self.emit_rendered(scope, u, &name, rendered, fail_target, next);
    }

    /// Renders a job's template with the job's params (inherited `job_defaults` first).
    fn render_job(&self, u: UnitId, name: &str) -> Result<Rendered, String> {
        use serde_json::{json, Value};
        let unit = &self.project.units[u];
        let UnitKind::Job(job) = &unit.kind else {
            return Err("not a job".into());
        };
        let mut params = serde_json::Map::new();
        let mut cur = unit.parent;
        let mut defaults = Vec::new();
        while let Some(p) = cur {
            if let Some(n) = self.project.units[p].as_net() {
                defaults.push(&n.job_defaults);
            }
            cur = self.project.units[p].parent;
        }
        for d in defaults.iter().rev() {
            for (k, v) in d.iter() {
                params.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in &job.params {
            params.insert(k.clone(), v.clone());
        }
        // Environment variables are strings in every AWS API (ECS, Batch); a YAML `8` or
        // `true` must not reach the template as a JSON number or boolean.
        if let Some(Value::Object(env)) = params.get_mut("environment") {
            for v in env.values_mut() {
                let text = match &*v {
                    Value::String(_) => continue,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                *v = Value::String(text);
            }
        }
        // A multi-line script (JP1 `te`/`sc` with several lines) becomes one command line:
        // container APIs take it, but validators reject control characters in definitions.
        if let Some(Value::String(cmd)) = params.get_mut("command") {
            if cmd.contains('\n') {
                *cmd = one_line(cmd, job.job_type.contains("windows"));
            }
        }
        let prefix = pascal(name);
        let ctx = crate::back::object([
            (
                "job",
                crate::back::object([
                    ("name", json!(unit.name)),
                    ("path", json!(unit.path)),
                    ("state", json!(name)),
                    ("params", Value::Object(params)),
                    ("param_prefix", json!(prefix)),
                    ("exec_suffix", json!(shorten(name, 32))),
                ]),
            ),
            (
                "run",
                json!({"id": RUN_ID_TOKEN, "business_date": self.business_date()}),
            ),
            (
                "jobnet",
                json!({"name": self.project.units[self.plan.root].name}),
            ),
        ]);
        self.templates.render(&job.job_type, ctx)
    }

    fn emit_rendered(
        &mut self,
        scope: &mut Scope,
        u: UnitId,
        name: &str,
        rendered: Rendered,
        fail_target: &str,
        next: Next,
    ) {
        let unit = &self.project.units[u];
        let UnitKind::Job(job) = &unit.kind else {
            return;
        };
        let name = name.to_string();
        // Jobs of one type share their extras: merged once per machine, not once per job.
        if !self
            .merged_extras
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m, &rendered.extras))
        {
            let extras = &rendered.extras;
            for (k, v) in &extras.parameters {
                self.parameters
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            for s in &extras.iam {
                if !self.iam.contains(s) {
                    self.iam.push(s.clone());
                }
            }
            if let Some(r) = &extras.events_rule {
                self.events_rules.insert(r.clone());
            }
            self.tables.extend(extras.tables.iter().cloned());
            self.merged_extras = Some(Arc::clone(extras));
        }

        let count = rendered.states.len();
        let names: Vec<String> = (0..count)
            .map(|i| {
                if i == 0 {
                    name.clone()
                } else {
                    format!("{name}.{}", i + 1)
                }
            })
            .collect();
        for n in &names {
            self.map(u, n);
        }
        let after = match &next {
            Next::To(s) => s.clone(),
            Next::End => String::new(),
        };
        let explicit_thresholds = job.end != EndJudgment::default();
        let (abnormal, warning) = match &job.end {
            EndJudgment::ReturnCode { warning, abnormal } => (*abnormal, *warning),
            _ => (0, None),
        };
        let rc_check_result = matches!(rendered.rc, Some(RcSource::Result { .. }))
            && (explicit_thresholds || rendered.check_default_rc)
            && matches!(job.end, EndJudgment::ReturnCode { .. });
        let rc_check_error = matches!(rendered.rc, Some(RcSource::ErrorCause { .. }))
            && explicit_thresholds
            && matches!(job.end, EndJudgment::ReturnCode { .. });
        let rc_state = format!("{name}.rc");
        let cause_state = format!("{name}.cause");
        // Named only for the jobs that have them: this runs for every job.
        let exit_state = if rc_check_error {
            format!("{name}.exit")
        } else {
            String::new()
        };
        // The file an end judgment looks for, and the state that looks.
        let file_end = match &job.end {
            EndJudgment::FileExists(file) => Some((file.as_str(), format!("{name}.file"))),
            _ => None,
        };
        // Where a normal end continues after that look.
        let mut file_normal: Option<String> = None;

        for (i, mut state) in rendered.states.into_iter().enumerate() {
            let last = i + 1 == count;
            let is_task = state.get("Type").and_then(Tree::as_str) == Some("Task");
            state.insert(
                "Comment",
                tree!(if count == 1 {
                    unit.path.clone()
                } else {
                    format!("{} (step {} of {count})", unit.path, i + 1)
                }),
            );
            if !last {
                state.insert("Next", tree!(names[i + 1]));
                if is_task {
                    state.insert("Catch", tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail_target}]));
                }
            } else {
                let kind = state
                    .get("Type")
                    .and_then(Tree::as_str)
                    .unwrap_or("")
                    .to_string();
                // Normalise the output: the failure marker and the return code only.
                let rc_value = match &rendered.rc {
                    Some(RcSource::Result { path }) if rc_check_result || self.rc_needed(u) => {
                        tree!({"rc.$": path})
                    }
                    _ => tree!({"rc": 0}),
                };
                if kind == "Task" || kind == "Parallel" || kind == "Map" {
                    let mut sel = match state.remove("ResultSelector") {
                        Some(Tree::Object(m)) => m,
                        _ => Map::new(),
                    };
                    sel.insert("failed", tree!(false));
                    if let Tree::Object(rc) = rc_value {
                        sel.extend(rc);
                    }
                    state.insert("ResultSelector", Tree::Object(sel));
                    state.remove("ResultPath");
                    state.remove("OutputPath");
                } else if kind == "Pass" {
                    state.insert("Result", tree!({"failed": false, "rc": 0}));
                    state.remove("Parameters");
                }
                if let Some(r) = &job.retry {
                    if is_task {
                        state.insert(
                            "Retry",
                            tree!([{
                                "ErrorEquals": ["States.TaskFailed"],
                                "IntervalSeconds": r.interval_seconds.max(1),
                                "MaxAttempts": r.max_attempts,
                                "BackoffRate": 1.0
                            }]),
                        );
                    }
                }
                if let Some(c) = &unit.cutoff {
                    if is_task {
                        state.insert(
                            "TimeoutSeconds",
                            tree!(u64::from(c.minutes) * self.opts.seconds_per_minute),
                        );
                    }
                }
                let needs_continue = unit
                    .cutoff
                    .as_ref()
                    .is_some_and(|c| c.on_timeout != EndStatus::Abnormal)
                    || job.end == EndJudgment::AlwaysNormal
                    || file_end.is_some();
                let continue_to = if !needs_continue {
                    String::new()
                } else if let Some(je) = self.job_end.clone() {
                    self.map(u, &je.forced);
                    scope.insert(
                        &je.forced,
                        je.record.end(records::ENDED_NORMALLY, &je.next, None),
                    );
                    je.forced
                } else if after.is_empty() {
                    scope.done()
                } else {
                    after.clone()
                };
                if file_end.is_some() {
                    file_normal = Some(continue_to.clone());
                }
                let success_next = if rc_check_result {
                    Next::To(rc_state.clone())
                } else if let Some((_, file_state)) = &file_end {
                    Next::To(file_state.clone())
                } else if job.end == EndJudgment::AlwaysAbnormal {
                    Next::To(fail_target.to_string())
                } else {
                    next.clone()
                };
                match success_next {
                    Next::To(n) => {
                        state.insert("Next", tree!(n));
                    }
                    Next::End => {
                        state.insert("End", tree!(true));
                    }
                }
                if is_task {
                    let mut catches = Vec::new();
                    if let Some(c) = &unit.cutoff {
                        if c.on_timeout != EndStatus::Abnormal {
                            let on = if c.on_timeout == EndStatus::Warning {
                                self.mark_warning(scope, u, "timed-out-warned", &continue_to)
                            } else {
                                continue_to.clone()
                            };
                            catches.push(tree!({"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": on}));
                        }
                    }
                    // `States.ALL` may only stand in the last catcher: AWS rejects a
                    // definition with another catcher after it.
                    if job.end == EndJudgment::AlwaysNormal {
                        catches.push(tree!({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": continue_to}));
                    } else {
                        // Judged by the file, whatever the exit code; a task that could
                        // not run (or a cutoff) is abnormal as always.
                        if let Some((_, file_state)) = &file_end {
                            catches.push(tree!({"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": file_state.clone()}));
                        }
                        if rc_check_error {
                            catches.push(tree!({"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": exit_state}));
                        }
                        catches.push(tree!({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail_target}));
                    }
                    state.insert("Catch", Tree::Array(catches));
                }
            }
            scope.insert(&names[i], Tree::Object(state));
        }
        if let (Some((file, file_state)), Some(normal)) = (&file_end, file_normal) {
            let mut look = self.look_at(
                u,
                file,
                "end judgment by file",
                format!("{}: end judgment, normal if {file} exists", unit.path),
            );
            look["ResultSelector"] = tree!({"failed": false, "rc": 0});
            look["Next"] = tree!(normal);
            look["Catch"] = tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail_target}]);
            self.map(u, file_state);
            scope.insert(file_state, look);
        }
        let continue_to = if !(rc_check_result || rc_check_error) {
            String::new()
        } else if let (true, Some(je), Some(RcSource::ErrorCause { path })) =
            (rc_check_error, self.job_end.clone(), &rendered.rc)
        {
            // The exit code of a failed task is at the template's path, not at `$.rc`.
            self.map(u, &je.from_cause);
            scope.insert(
                &je.from_cause,
                je.record.end(records::ENDED_NORMALLY, &je.next, Some(path)),
            );
            je.from_cause
        } else if after.is_empty() {
            scope.done()
        } else {
            after
        };
        // A warning end (return code above the warning threshold, up to the abnormal one)
        // continues like a normal end after an alert.
        let warn_state = format!("{name}.warning");
        let warns = warning.is_some_and(|w| w < abnormal) && (rc_check_result || rc_check_error);
        if warns {
            let rc_path = match &rendered.rc {
                Some(RcSource::ErrorCause { path }) if rc_check_error => path.clone(),
                _ => "$.rc".to_string(),
            };
            let mut alert = self.alert(
                format!("{}: warning end: alert and go on", unit.path),
                "WARNING END",
                &unit.path.clone(),
                Some((" (return code {})", &rc_path)),
            );
            let on = self.mark_warning(scope, u, "warned", &continue_to);
            alert["Catch"] =
                tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.alertError", "Next": on}]);
            alert["Next"] = tree!(on);
            self.map(u, &warn_state);
            scope.insert(&warn_state, alert);
        }
        let rc_rules = |path: &str, numeric: bool| -> Vec<Tree> {
            let limits = warning
                .filter(|_| warns)
                .map(|w| (w, continue_to.clone()))
                .into_iter()
                .chain([(
                    abnormal,
                    if warns {
                        warn_state.clone()
                    } else {
                        continue_to.clone()
                    },
                )]);
            limits
                .map(|(limit, next)| {
                    let mut and = vec![tree!({"Variable": path, "IsPresent": true})];
                    if numeric {
                        and.push(tree!({"Variable": path, "IsNumeric": true}));
                    }
                    and.push(tree!({"Variable": path, "NumericLessThanEquals": limit}));
                    tree!({"And": and, "Next": next})
                })
                .collect()
        };
        if rc_check_result {
            self.map(u, &rc_state);
            scope.insert(&rc_state, tree!({
                "Type": "Choice",
                "Comment": format!("{}: return code above {abnormal} is an abnormal end{}", unit.path, warning.map(|w| format!(", above {w} a warning")).unwrap_or_default()),
                "Choices": rc_rules("$.rc", true),
                "Default": fail_target
            }));
        }
        if rc_check_error {
            let Some(RcSource::ErrorCause { path }) = &rendered.rc else {
                return;
            };
            let path = path.clone();
            self.map(u, &cause_state);
            self.map(u, &rc_state);
            // A judgment after the job reads `$.rc`: the exit code found in the cause goes
            // there too, as a successful task's code would.
            let mut into_rc = rc_state.clone();
            if self.rc_needed(u) {
                let [found, code] = ["rc-found", "rc-code"].map(|s| format!("{name}.{s}"));
                self.map(u, &found);
                self.map(u, &code);
                scope.insert(&found, tree!({
                    "Type": "Choice",
                    "Choices": [{"And": [{"Variable": path, "IsPresent": true}, {"Variable": path, "IsNumeric": true}], "Next": code}],
                    "Default": rc_state
                }));
                scope.insert(&code, tree!({
                    "Type": "Pass",
                    "Comment": format!("{}: the exit code is the return code a judgment reads", unit.path),
                    "Parameters": {"failed": false, "cause.$": "$.cause", "rc.$": path},
                    "Next": rc_state
                }));
                into_rc = found;
            }
            // `States.TaskFailed` in a catcher matches every error but a timeout: a task that
            // could not start has a cause that is not the task's JSON, and parsing it would
            // end the execution without its failure path.
            self.map(u, &exit_state);
            scope.insert(
                &exit_state,
                tree!({
                    "Type": "Choice",
                    "Comment": format!("{}: did the task run and exit, or fail to run?", unit.path),
                    "Choices": [{"And": [
                        {"Variable": "$.error.Error", "StringEquals": "States.TaskFailed"},
                        {"Variable": "$.error.Cause", "IsPresent": true},
                        {"Variable": "$.error.Cause", "StringMatches": "{*"}
                    ], "Next": cause_state}],
                    "Default": fail_target
                }),
            );
            scope.insert(&cause_state, tree!({
                "Type": "Pass",
                "Comment": format!("{}: read the exit code from the failed task", unit.path),
                "Parameters": {"failed": false, "cause.$": "States.StringToJson($.error.Cause)"},
                "Next": into_rc
            }));
            scope.insert(&rc_state, tree!({
                "Type": "Choice",
                "Comment": format!("{}: exit code up to {abnormal} is a normal or warning end", unit.path),
                "Choices": rc_rules(&path, false),
                "Default": fail_target
            }));
        }
    }

    /// A judgment right after this job reads its return code.
    fn rc_needed(&self, u: UnitId) -> bool {
        self.rc_feeders.contains(&u)
    }

    /// A look at the object a file test of unit `u` reads (`what` names the test in the
    /// report), with the read allowed: a HeadObject Task that ends normally when the
    /// object exists and with [`missing_object`] when it does not. A path that is not
    /// `s3://bucket/key` is looked up under its segments in the `LegacyFileBucket`
    /// parameter's bucket, and reported.
    fn look_at(&mut self, u: UnitId, file: &str, what: &str, comment: String) -> Tree {
        let (bucket, key) = match crate::ir::s3_object(file) {
            Some((bucket, key)) => (bucket.to_string(), key.to_string()),
            None => self.legacy_bucket(u, file, what, "tests"),
        };
        // IAM policies take Latin-1 only: any other character of the key matches as `?`.
        let policy_key: String = key
            .chars()
            .map(|c| if u32::from(c) > 0xFF { '?' } else { c })
            .collect();
        let statement = IamStatement {
            actions: vec!["s3:GetObject".into()],
            resources: vec![format!(
                "arn:${{AWS::Partition}}:s3:::{bucket}/{policy_key}"
            )],
        };
        if !self.iam.contains(&statement) {
            self.iam.push(statement);
        }
        tree!({
            "Type": "Task",
            "Comment": comment,
            "Resource": "arn:aws:states:::aws-sdk:s3:headObject",
            "Parameters": {"Bucket": bucket, "Key": key}
        })
    }

    /// Where a legacy (non-S3) path is looked for: at its segments as key in the bucket of
    /// the LegacyFileBucket parameter, which this declares, with a finding that says the
    /// unit `verb`s (tests, watches) that object.
    fn legacy_bucket(&mut self, u: UnitId, file: &str, what: &str, verb: &str) -> (String, String) {
        let key = legacy_key(file);
        self.parameters
            .entry(LEGACY_FILE_BUCKET.into())
            .or_insert_with(|| crate::ir::LEGACY_FILE_BUCKET_DESCRIPTION.into());
        let on = if file.starts_with("s3://") {
            format!("on {file}, not an s3://bucket/key path")
        } else {
            format!("on the legacy path {file}")
        };
        self.finding(
            u,
            FindingKind::Approximated,
            format!("{what} {on}: {verb} s3://${{{LEGACY_FILE_BUCKET}}}/{key}"),
            "write the file to that bucket and key (an S3 File Gateway share can), or give s3://bucket/key in the source",
        );
        (format!("${{{LEGACY_FILE_BUCKET}}}"), key)
    }

    fn emit_judgment(&mut self, scope: &mut Scope, u: UnitId, cond: &Condition, next: Next) {
        let unit = &self.project.units[u];
        let name = self.names.state(u).to_string();
        self.map(u, &name);
        let parent = unit.parent.unwrap_or(self.plan.root);
        let deps = self.plan.nets[&parent]
            .dependents
            .get(&u)
            .cloned()
            .unwrap_or_default();
        let then_block = match deps.len() {
            0 => Block::Empty,
            1 => Block::Unit(deps[0]),
            _ => Block::Parallel(deps.iter().map(|&d| Block::Unit(d)).collect()),
        };
        let after = scope.target(&next);
        let then_entry = if then_block == Block::Empty {
            after.clone()
        } else {
            self.entry(&then_block, None)
        };
        let path = unit.path.clone();
        match cond {
            Condition::FileExists { path: file, exists } => {
                let handler = scope.handler();
                let (found, missing) = if *exists {
                    (then_entry.clone(), after.clone())
                } else {
                    (after.clone(), then_entry.clone())
                };
                let mut look = self.look_at(
                    u,
                    file,
                    "file judgment",
                    format!("{path}: judgment, does {file} exist?"),
                );
                look["ResultSelector"] = tree!({"failed": false});
                look["Next"] = tree!(found);
                look["Catch"] = tree!([
                    {"ErrorEquals": missing_object(), "ResultPath": "$.error", "Next": missing},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": handler}
                ]);
                scope.insert(&name, look);
            }
            _ => {
                let rule = condition_rule(cond, self.root_input());
                scope.insert(&name, tree!({
                    "Type": "Choice",
                    "Comment": format!("{path}: judgment; true runs its dependent units, false bypasses them"),
                    "Choices": [{"And": rule, "Next": then_entry}],
                    "Default": after
                }));
            }
        }
        if then_block != Block::Empty {
            self.emit_block(scope, &then_block, None, Next::To(after));
        }
    }
}

/// Units under `root` with an edge to a return-code judgment unit.
fn rc_feeders(project: &Project, root: UnitId) -> HashSet<UnitId> {
    let mut out = HashSet::new();
    for n in project.descendants(root) {
        let Some(net) = project.units[n].as_net() else {
            continue;
        };
        for e in &net.edges {
            if matches!(&project.units[e.to].kind, UnitKind::Judgment(j)
                if matches!(j.condition, Condition::ReturnCode { .. } | Condition::ReturnCodeRange { .. }))
            {
                out.insert(e.from);
            }
        }
    }
    out
}

/// `root_input`: where the root execution's input is (its `vars`).
fn condition_rule(cond: &Condition, root_input: &str) -> Vec<Tree> {
    let num = |path: &str, op: CmpOp, v: i64| -> Tree {
        let key = match op {
            CmpOp::Eq | CmpOp::Ne => "NumericEquals",
            CmpOp::Gt => "NumericGreaterThan",
            CmpOp::Ge => "NumericGreaterThanEquals",
            CmpOp::Lt => "NumericLessThan",
            CmpOp::Le => "NumericLessThanEquals",
        };
        let rule = tree!({"Variable": path, key: v});
        if op == CmpOp::Ne {
            tree!({"Not": rule})
        } else {
            rule
        }
    };
    match cond {
        Condition::ReturnCode { op, value } => vec![
            tree!({"Variable": "$.rc", "IsPresent": true}),
            tree!({"Variable": "$.rc", "IsNumeric": true}),
            num("$.rc", *op, *value),
        ],
        Condition::ReturnCodeRange { inside, low, high } => {
            let range = tree!({"And": [
                {"Variable": "$.rc", "NumericGreaterThanEquals": low},
                {"Variable": "$.rc", "NumericLessThanEquals": high}
            ]});
            vec![
                tree!({"Variable": "$.rc", "IsPresent": true}),
                tree!({"Variable": "$.rc", "IsNumeric": true}),
                if *inside {
                    range
                } else {
                    tree!({"Not": range})
                },
            ]
        }
        Condition::Variable { name, op, value } => {
            let path = format!("{root_input}.vars.{name}");
            let key = match op {
                CmpOp::Eq | CmpOp::Ne => "StringEquals",
                CmpOp::Gt => "StringGreaterThan",
                CmpOp::Ge => "StringGreaterThanEquals",
                CmpOp::Lt => "StringLessThan",
                CmpOp::Le => "StringLessThanEquals",
            };
            let rule = tree!({"Variable": path, key: value});
            vec![
                tree!({"Variable": path, "IsPresent": true}),
                if *op == CmpOp::Ne {
                    tree!({"Not": rule})
                } else {
                    rule
                },
            ]
        }
        Condition::FileExists { .. } => Vec::new(),
    }
}

/// The errors of a look at a missing object: `S3.NoSuchKeyException`, or `S3.S3Exception`
/// (a HEAD answer has no body to name the error by, and without `s3:ListBucket` a missing
/// object is a 403).
fn missing_object() -> Tree {
    tree!(["S3.NoSuchKeyException", "S3.S3Exception"])
}

/// What a conditional write that did not happen raises: the "not yet" of the waits that
/// look at run-table items (cross-jobnet and event waits).
fn not_written() -> Tree {
    tree!(["DynamoDB.ConditionalCheckFailedException"])
}

/// Most looks a file wait makes: a day at JP1's default interval of a minute, from a look
/// at the start. Each look is four history events, so one wait takes at most about a
/// quarter of an execution's 25,000.
const MAX_FILE_LOOKS: u64 = 1_441;

/// An intrinsic giving the UTC time at `path` (`…T09:30:00Z` or `…T09:30:00.123Z`) cut to
/// its second and written `…T09:30:00.000Z`: the recorder writes event times and the waits
/// compare their entry times in this one form, as strings.
fn whole_second(path: &str) -> String {
    format!("States.Format('{{}}.000Z', States.ArrayGetItem(States.StringSplit({path}, '.Z'), 0))")
}

/// What the EventBridge rule of a unit the event recorder serves matches: `None` for any
/// other unit, and for a file whose path holds a `${…}` placeholder (the front-ends keep
/// those on looks at the object).
fn rule_watch(kind: &UnitKind) -> Option<crate::ir::Watched> {
    match kind {
        UnitKind::EventWait(m) => Some(crate::ir::Watched::Event(m.clone())),
        UnitKind::FileWait(w) if crate::ir::FileWait::matchable(&w.path) => {
            let (bucket, key) = match crate::ir::s3_object(&w.path) {
                Some((bucket, key)) => (bucket.to_string(), key.to_string()),
                None => (format!("${{{LEGACY_FILE_BUCKET}}}"), legacy_key(&w.path)),
            };
            Some(crate::ir::Watched::Object {
                bucket,
                key,
                events: w.events?,
            })
        }
        _ => None,
    }
}

/// `extract_sales` → `ExtractSales`, for per-job CloudFormation parameter names.
/// Joins script lines with `; ` (`cmd.exe`: ` & `), except where a line continues the
/// next (a trailing `\`, `&&`, `||`, `|`, or a shell keyword that opens a block).
fn one_line(script: &str, windows: bool) -> String {
    let sep = if windows { " & " } else { "; " };
    let mut out = String::new();
    let mut glue = "";
    for line in script
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        out.push_str(glue);
        let (text, continues) = match line.strip_suffix('\\') {
            Some(t) => (t.trim_end(), true),
            None => {
                let last = line.split_whitespace().last().unwrap_or("");
                let opens = !windows && matches!(last, "then" | "do" | "else" | "{" | "in");
                (
                    line,
                    opens || ["&&", "||", "|", "("].iter().any(|op| line.ends_with(op)),
                )
            }
        };
        out.push_str(text);
        glue = if continues { " " } else { sep };
    }
    out
}

/// Name of continuation machine `group` (`<base>-cont`, then `<base>-cont2`, …).
fn cont_machine(first: &str, group: usize) -> String {
    if group == 0 {
        first.to_string()
    } else {
        format!("{first}{}", group + 1)
    }
}

fn cont_placeholder(group: usize) -> String {
    if group == 0 {
        "ContinuationArn".into()
    } else {
        format!("Continuation{}Arn", group + 1)
    }
}

/// Removes states no transition reaches, in the machine and inside every branch, and
/// returns their names in `removed`.
fn prune_unreachable(machine: &mut Tree, removed: &mut Vec<String>) {
    let start = machine
        .get("StartAt")
        .and_then(Tree::as_str)
        .unwrap_or_default();
    let Some(states) = machine.get("States").and_then(Tree::as_object) else {
        return;
    };
    // Reachability by position, with names borrowed from the tree: this walk runs over
    // every state of every machine.
    let mut keep = vec![false; states.len()];
    let mut todo = vec![start];
    while let Some(n) = todo.pop() {
        let Some(i) = states.index_of(n) else {
            continue;
        };
        if std::mem::replace(&mut keep[i], true) {
            continue;
        }
        // One pass over the state's members, not a lookup of each transition key.
        let Some(st) = states.value_at(i).as_object() else {
            continue;
        };
        for (key, v) in st.iter() {
            match key {
                "Next" | "Default" => todo.extend(v.as_str()),
                "Choices" | "Catch" => todo.extend(
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("Next").and_then(Tree::as_str)),
                ),
                _ => {}
            }
        }
    }
    let Some(states) = machine.get_mut("States").and_then(Tree::as_object_mut) else {
        return;
    };
    let mut keep = keep.into_iter();
    states.retain(|k, _| {
        let kept = keep.next().unwrap_or(true);
        if !kept {
            removed.push(k.to_string());
        }
        kept
    });
    for st in states.values_mut() {
        if let Some(branches) = st.get_mut("Branches").and_then(Tree::as_array_mut) {
            for b in branches {
                prune_unreachable(b, removed);
            }
        }
    }
}

/// The values of a job's rendered states that `Emitter::emit_rendered` keeps, with the
/// level they print at in a scratch scope, and the key of those inside a selector. What it
/// sets or removes instead is the same for every job of a shape.
fn kept_values<'t>(
    rendered: &'t Rendered,
    unit: &crate::ir::Unit,
    mut f: impl FnMut(Option<&'t str>, &'t Tree, usize),
) {
    let UnitKind::Job(job) = &unit.kind else {
        return;
    };
    let states = &rendered.states;
    // The return code the emitter puts in the last selector (a plain job feeds no judgment).
    let checked = matches!(rendered.rc, Some(RcSource::Result { .. }))
        && (job.end != EndJudgment::default() || rendered.check_default_rc)
        && matches!(job.end, EndJudgment::ReturnCode { .. });
    let rc = if checked { "rc.$" } else { "rc" };
    for (i, state) in states.iter().enumerate() {
        let kind = state.get("Type").and_then(Tree::as_str).unwrap_or("");
        let (task, last) = (kind == "Task", i + 1 == states.len());
        let result = last && matches!(kind, "Task" | "Parallel" | "Map");
        for (k, v) in state.iter() {
            let replaced = match k {
                "Comment" | "Next" | "End" => true,
                "Catch" => task,
                "ResultPath" | "OutputPath" => result,
                "Result" | "Parameters" => last && kind == "Pass",
                "Retry" => last && task && job.retry.is_some(),
                "TimeoutSeconds" => last && task && unit.cutoff.is_some(),
                _ => false,
            };
            match (k, v) {
                _ if replaced => {}
                // The emitter sets the failure marker and the return code, in place of a
                // selector that is not an object.
                ("ResultSelector", Tree::Object(m)) if result => {
                    for (k, v) in m.iter() {
                        if k != "failed" && k != rc {
                            f(Some(k), v, 4);
                        }
                    }
                }
                ("ResultSelector", _) if result => {}
                // Values of a state in `{"States": {name: {…}}}` print at level 3.
                _ => f(None, v, 3),
            }
        }
    }
}

/// The [`RUN_ID_TOKEN`]s in the strings of `v`.
fn count_token(v: &Tree) -> usize {
    match v {
        // A byte search first: a substring search is set up anew for every string.
        Tree::String(s) if s.as_bytes().contains(&b'@') => s.matches(RUN_ID_TOKEN).count(),
        Tree::Array(a) => a.iter().map(count_token).sum(),
        Tree::Object(o) => o.iter().map(|(_, x)| count_token(x)).sum(),
        _ => 0,
    }
}

/// Replaces [`RUN_ID_TOKEN`] in every string of `v`.
fn replace_token(v: &mut Tree, run_id: &str) {
    match v {
        Tree::String(s) if s.as_bytes().contains(&b'@') && s.contains(RUN_ID_TOKEN) => {
            *s = s.replace(RUN_ID_TOKEN, run_id).into()
        }
        Tree::Array(a) => a.iter_mut().for_each(|x| replace_token(x, run_id)),
        Tree::Object(o) => o.values_mut().for_each(|x| replace_token(x, run_id)),
        _ => {}
    }
}

fn dedup(items: Vec<IamStatement>) -> Vec<IamStatement> {
    let mut out: Vec<IamStatement> = Vec::new();
    for s in items {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Collects `${Name}` placeholders (not CloudFormation pseudo parameters like `${AWS::Region}`).
pub fn collect_placeholders<T: Node>(v: &T, out: &mut BTreeSet<String>) {
    match v.view() {
        View::Str(s) => placeholders_in(s, out),
        View::Array(a) => a.iter().for_each(|x| collect_placeholders(x, out)),
        View::Object(o) => o.for_each(|(_, x)| collect_placeholders(x, out)),
        _ => {}
    }
}

/// Collects the `${Name}` placeholders of a text. Run on a definition's JSON text it sees
/// what CloudFormation substitutes (keys too; JSON escapes none of `${}`, letters, digits
/// or `_`), at memchr speed instead of a walk of the tree.
pub fn placeholders_in(text: &str, out: &mut BTreeSet<String>) {
    // A two-byte search: definitions are full of `$.` and `$$.` paths, so stopping at
    // every `$` was most of the scan.
    let mut from = 0;
    for i in memchr::memmem::find_iter(text.as_bytes(), b"${") {
        if i < from {
            continue;
        }
        from = i + 2;
        let rest = &text[from..];
        if let Some(j) = rest.find('}') {
            let name = &rest[..j];
            if crate::ir::is_deploy_time_name(name) {
                out.insert(name.to_string());
            }
            from += j + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_jobnet_waits_resolve_against_the_compiled_roots() {
        let mut p = Project::default();
        let text = "version: 1\njobnets:\n  - name: up\n    units:\n      - {name: a, type: noop}\n      - {name: n, units: [{name: x, type: noop}]}\n  - name: down\n    units:\n      - {name: w1, wait_for: {jobnet: up/a}}\n      - {name: w2, wait_for: {jobnet: up}}\n      - {name: w3, wait_for: {jobnet: up/nope}}\n      - {name: w4, wait_for: {jobnet: up/n}}\n      - {name: w5, wait_for: {jobnet: down}}\n";
        let file = p.sources.add("t.yaml", text.to_string(), "utf-8");
        let mut d = crate::diag::Diagnostics::default();
        crate::front::spec::load(&mut p, file, &mut d);
        assert!(!d.has_errors(), "{:?}", d.items);
        let machines = crate::passes::naming::machine_names(&p);
        let unit = |path: &str| {
            p.units
                .iter()
                .find(|(_, u)| u.path == path)
                .map(|(id, _)| id)
                .unwrap()
        };
        let all = wait_targets(&p, &p.roots, &machines);
        assert!(!all.contains_key(&unit("/up")), "no waits, no entry");
        let got = |w: &str| all[&unit("/down")][&unit(&format!("/down/{w}"))].clone();
        assert_eq!(got("w1"), Ok(("unit#up".into(), "#/up/a".into())));
        assert_eq!(got("w2"), Ok(("run#up".into(), String::new())));
        assert!(got("w3").unwrap_err().contains("no unit `nope`"));
        assert!(got("w4").unwrap_err().contains("keeps no run record"));
        assert!(got("w5").unwrap_err().contains("its own jobnet"));
        // Compiled without `up` (--jobnet down): the other run table is another stack's.
        let down = vec![unit("/down")];
        let only = wait_targets(&p, &down, &machines);
        assert!(only[&unit("/down")][&unit("/down/w1")]
            .clone()
            .unwrap_err()
            .contains("not compiled with it"));
    }

    #[test]
    fn placeholders_skip_pseudo_parameters() {
        let mut s = BTreeSet::new();
        collect_placeholders(
            &tree!({"a": "${RunTable}", "b": ["arn:${AWS::Region}:${X_1}"]}),
            &mut s,
        );
        assert_eq!(s.into_iter().collect::<Vec<_>>(), vec!["RunTable", "X_1"]);
    }

    #[test]
    fn placeholders_in_text_include_keys_and_skip_paths_and_pseudo_parameters() {
        let mut s = BTreeSet::new();
        placeholders_in(
            r#"{"${Key}": "$$.Execution.Id $.x ${A} ${AWS::Region}", "b": "x${B_2}y", "c": "${open"}"#,
            &mut s,
        );
        assert_eq!(s.into_iter().collect::<Vec<_>>(), vec!["A", "B_2", "Key"]);
    }

    #[test]
    fn legacy_paths_become_keys() {
        assert_eq!(legacy_key("C:\\path\\to\\file.txt"), "C/path/to/file.txt");
        assert_eq!(legacy_key("\\\\srv\\share\\x.ok"), "srv/share/x.ok");
        assert_eq!(legacy_key("/data//in/a b.csv"), "data/in/a b.csv");
        assert_eq!(legacy_key("s3://bkt"), "s3/bkt");
        assert_eq!(legacy_key("/"), "_");
    }

    #[test]
    fn judgments_on_legacy_paths_test_the_legacy_bucket_and_say_so() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    units:\n      - name: j\n        judge: {file_exists: 'D:\\work\\done.ok'}\n        then: [a]\n      - {name: a, type: noop}\n",
        );
        let out = &c.outputs[0];
        let def = out.machines[0].definition();
        let check = &def["States"]["j"];
        assert_eq!(check["Parameters"]["Bucket"], "${LegacyFileBucket}");
        assert_eq!(check["Parameters"]["Key"], "D/work/done.ok");
        assert!(out.parameters.contains_key("LegacyFileBucket"));
        let found: Vec<_> = out.findings.iter().filter(|f| f.unit == "/n/j").collect();
        assert_eq!(found.len(), 1, "{:?}", out.findings);
        assert_eq!(found[0].kind, FindingKind::Approximated);
        assert!(found[0]
            .what
            .contains("s3://${LegacyFileBucket}/D/work/done.ok"));
    }

    #[test]
    fn jobs_take_a_slot_of_the_run_after_their_begin_and_give_it_back_on_every_way_out() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    concurrency: {max_parallel_jobs: 3}\n    units:\n      - {name: a, type: lambda, params: {function: f}, end: {warning_above: 0, abnormal_above: 4}}\n      - {name: b, type: noop, after: [a]}\n",
        );
        let out = &c.outputs[0];
        let def = out.machines[0].definition();
        assert_well_formed(&def);
        let states = &def["States"];
        // Slots still taken by a stopped execution are freed when the run is (re)claimed.
        for s in ["run.claim", "run.rerun"] {
            let expr = states[s]["Parameters"]["UpdateExpression"]
                .as_str()
                .unwrap();
            assert!(expr.contains("REMOVE endedAt, slots"), "{s}: {expr}");
        }
        assert_eq!(states["a.begin"]["Next"], "a.slot");
        let take = &states["a.slot"];
        assert_eq!(take["Next"], "a");
        assert_eq!(
            take["Parameters"]["Key"]["pk"]["S.$"],
            "States.Format('run#n#{}', $$.Execution.Input.businessDate)"
        );
        assert_eq!(
            take["Parameters"]["ExpressionAttributeValues"][":max"]["N"],
            "3"
        );
        assert_eq!(take["Catch"][0]["Next"], "a.slot.wait");
        assert_eq!(states["a.slot.wait"]["Next"], "a.slot");
        // Every end record goes through a give-back: normal (a warning end too), abnormal.
        assert_eq!(states["a.end"]["Next"], "a.free");
        assert_eq!(states["a.warning"]["Next"], "a.end");
        assert_eq!(states["a.end-abnormal"]["Next"], "a.free-abnormal");
        assert_eq!(states["a.free"]["Next"], "b.begin");
        assert_eq!(states["a.free-abnormal"]["Next"], "jobnet.failed");
        assert_eq!(
            states["a.free"]["Parameters"]["UpdateExpression"],
            "DELETE slots :me"
        );
        // A run passed over never took one; a no-op job takes none.
        assert_eq!(states["a.decide"]["Choices"][0]["Next"], "b.begin");
        assert_eq!(states["b.begin"]["Next"], "b");
        // What the limit approximates is said once, on the jobnet.
        let said: Vec<_> = out
            .findings
            .iter()
            .filter(|f| f.what.contains("max_parallel_jobs"))
            .map(|f| (f.unit.as_str(), f.kind))
            .collect();
        assert_eq!(said, [("/n", FindingKind::Approximated)]);
        // A job starts when it has its slot: its start monitor stops after `.slot`, and a
        // job passed over stops it on its own way.
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    concurrency: {max_parallel_jobs: 1}\n    units:\n      - {name: a, type: lambda, params: {function: f}, start_delay: {after_root_start: 5}, end_delay: {after_own_start: 3}}\n",
        );
        let def = c.outputs[0].machines[0].definition();
        assert_well_formed(&def);
        let states = &def["States"];
        assert_eq!(states["monitor.a-s.arm"]["Next"], "a.begin");
        assert_eq!(states["a.begin"]["Next"], "a.slot");
        assert_eq!(states["a.slot"]["Next"], "monitor.a-s.off");
        assert_eq!(states["monitor.a-s.off"]["Next"], "monitor.a-e.arm");
        assert_eq!(states["monitor.a-e.arm"]["Next"], "a");
        assert_eq!(
            states["a.decide"]["Choices"][0]["Next"],
            "monitor.a-s.off-passed"
        );
        // Jobs of split-off machines take slots too.
        let mut chain = String::from(
            "version: 1\njobnets:\n  - name: n\n    concurrency: {max_parallel_jobs: 2}\n    units:\n",
        );
        for i in 0..12 {
            chain.push_str(&format!(
                "      - {{name: j{i}, type: lambda, params: {{function: f}}}}\n"
            ));
        }
        let split = compile_split(chain, 30);
        let machines = &split.outputs[0].machines;
        assert!(machines.iter().any(|m| m.role == Role::Child), "split");
        let mut begins = 0;
        for m in machines {
            let d = m.definition();
            for (name, _) in d["States"].as_object().unwrap() {
                if let Some(job) = name.strip_suffix(".begin") {
                    begins += 1;
                    let slot = format!("{job}.slot");
                    assert!(d["States"].get(&slot).is_some(), "{}: {name}", m.name);
                }
            }
        }
        assert_eq!(begins, 12);
        // Without run records there is nothing to count in: reported.
        let c = compile_without_records(
            "version: 1\njobnets:\n  - name: n\n    concurrency: {max_parallel_jobs: 3}\n    units: [{name: a, type: noop}]\n",
        );
        assert!(c.outputs[0]
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::Unsupported && f.what.contains("max_parallel_jobs")));
    }

    #[test]
    fn a_state_inserted_twice_is_recorded_not_overwritten_silently() {
        let mut scope = Scope::top("jobnet");
        scope.insert("a", tree!({"Type": "Pass", "End": true}));
        scope.insert("b", tree!({"Type": "Pass", "End": true}));
        scope.insert("a", tree!({"Type": "Succeed"}));
        assert_eq!(scope.duplicates, ["a"]);
    }

    /// Every way into a held jobnet goes through its gate: as an OR join (the continuation
    /// machine's dispatch), inside a split-off child, as a recovery unit; a held jobnet
    /// named `jobnet` keeps its own gate apart from the root's; the root's monitors are
    /// armed before its gate, so deadlines watch the hold.
    #[test]
    fn held_jobnets_are_gated_on_every_way_in() {
        let spec = "version: 1\njobnets:\n  - name: n\n    hold: true\n    start_delay: \"04:00\"\n    end_delay: \"05:00\"\n    units:\n      - {name: a, type: noop}\n      - {name: x, type: noop}\n      - {name: jobnet, hold: true, after: [a, x], join: or, units: [{name: b, type: noop}]}\n      - {name: f, type: lambda, params: {function: g}}\n      - {name: r, hold: true, recovery: true, after: [f], units: [{name: rb, type: noop}]}\n";
        let c = compile_one(spec);
        let out = &c.outputs[0];
        let all: Vec<serde_json::Value> = out.machines.iter().map(Machine::definition).collect();
        for d in &all {
            assert_well_formed(d);
        }
        let root = &all[0]["States"];
        // Claim, then the monitors are armed, then the gate; going on stops the root's
        // start-delay monitor.
        assert_eq!(root["run.claim"]["Next"], "monitor.n-s.arm");
        assert_eq!(root["monitor.n-s.arm"]["Next"], "monitor.n-e.arm");
        assert_eq!(root["monitor.n-e.arm"]["Next"], "run.on-hold");
        assert_eq!(root["run.on-hold"]["Next"], "monitor.n-s.off");
        assert!(out.findings.iter().all(|f| !f.what.contains("start delay")));
        // The OR join reaches the nested jobnet's own gate in the continuation machine.
        let cont = all
            .iter()
            .find(|d| d["States"].get("continuation.dispatch").is_some())
            .expect("a continuation machine");
        let choices = cont["States"]["continuation.dispatch"]["Choices"]
            .as_array()
            .unwrap();
        assert!(
            choices.iter().any(|c| c["Next"] == "jobnet.hold"),
            "{choices:?}"
        );
        assert_eq!(cont["States"]["jobnet.hold"]["Next"], "b.begin");
        // The recovery unit's way in is its gate too (in a branch of the root's fork).
        fn find<'a>(states: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
            let map = states.as_object()?;
            map.get(name).or_else(|| {
                map.values()
                    .filter_map(|s| s["Branches"].as_array())
                    .flatten()
                    .find_map(|b| find(&b["States"], name))
            })
        }
        assert_eq!(find(root, "f.end-abnormal").expect("f")["Next"], "r.hold");
        // In a split-off child, the child starts at the gate.
        let split = compile_split(
            spec.replace("start_delay: \"04:00\"\n    end_delay: \"05:00\"\n    ", ""),
            20,
        );
        let gated: Vec<_> = split.outputs[0]
            .machines
            .iter()
            .filter(|m| m.definition()["States"].get("r.hold").is_some())
            .collect();
        assert_eq!(gated.len(), 1);
        assert_eq!(gated[0].role, Role::Child);
        assert_well_formed(&gated[0].definition());
    }

    #[test]
    fn a_root_held_after_its_previous_run_reads_that_run_and_marks_warnings() {
        let spec = |after: &str| {
            format!("version: 1\njobnets:\n  - name: n\n    hold: {after}\n    units:\n      - {{name: w, type: ecs, params: {{task_definition: t, command: x}}, end: {{warning_above: 0, abnormal_above: 4}}, cutoff: {{minutes: 3, status: warning}}}}\n      - {{name: f, wait: {{file: 's3://b/k'}}, cutoff: {{minutes: 3, status: warning}}, after: [w]}}\n")
        };
        let c = compile_one(&spec("after_warning"));
        let def = c.outputs[0].machines[0].definition();
        assert_well_formed(&def);
        let states = &def["States"];
        // Claimed or rerun, the run first notes itself as the jobnet's latest.
        assert_eq!(states["run.claim"]["Next"], "run.last");
        assert_eq!(states["run.rerun"]["Next"], "run.last");
        let last = &states["run.last"];
        assert_eq!(last["Parameters"]["Key"]["pk"]["S"], "last#n");
        assert_eq!(
            last["Parameters"]["ConditionExpression"],
            "attribute_not_exists(lastRun) OR lastRun < :run"
        );
        // Not the latest run (a rerun, an earlier date): a mark an earlier execution left
        // is looked at at once. The first run: straight to the gate, which holds it only
        // when its record says so.
        assert_eq!(last["Catch"][0]["Next"], "run.again");
        assert_eq!(states["run.previous.any"]["Default"], "run.on-hold");
        assert_eq!(
            states["run.previous"]["Parameters"]["Key"]["pk"]["S.$"],
            "States.Format('run#n#{}', $.hold.Attributes.lastRun.S)"
        );
        // Held unless the run before ended normally without warnings (or is gone).
        let check = &states["run.previous.check"];
        let rules = check["Choices"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert!(rules.iter().all(|r| r["Next"] == "run.on-hold"));
        assert_eq!(rules[1]["And"].as_array().unwrap().len(), 3);
        assert_eq!(check["Default"], "run.held");
        assert_eq!(states["run.held"]["Next"], "run.on-hold");
        let gate = &states["run.on-hold"];
        assert_eq!(gate["Next"], "w.begin");
        assert_eq!(
            gate["Parameters"]["ConditionExpression"],
            "(attribute_not_exists(heldAt) AND attribute_not_exists(held)) OR released = :yes"
        );
        // Each look again reads which run held it, and that run again: once it ended
        // well, the mark is cleared and the gate lets the run go.
        assert_eq!(states["run.on-hold.wait"]["Next"], "run.again");
        assert_eq!(
            states["run.again.previous"]["Parameters"]["Key"]["pk"]["S.$"],
            "States.Format('run#n#{}', $.hold.record.Item.heldAfter.S)"
        );
        assert_eq!(states["run.again.check"]["Default"], "run.on-hold");
        assert!(states["run.again.check"]["Choices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["Next"] == "run.unheld"));
        assert_eq!(states["run.unheld"]["Next"], "run.on-hold");
        // Warning ends mark the run's item: a return code, a job's or a wait's cutoff.
        assert_eq!(states["w.warning"]["Next"], "w.warned");
        assert_eq!(states["w.warned"]["Next"], "w.end-rc");
        assert_eq!(
            states["w.warned"]["Parameters"]["UpdateExpression"],
            "ADD warned :me"
        );
        let timeout = |state: &str| {
            states[state]["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| {
                    c["ErrorEquals"][0] == "States.Timeout" || c["ErrorEquals"][0] == "S3.NoSuchKey"
                })
                .map(|c| c["Next"].clone())
        };
        assert_eq!(timeout("w"), Some("w.timed-out-warned".into()));
        assert_eq!(states["w.timed-out-warned"]["Next"], "w.end-forced");
        assert!(states.get("f.timed-out-warned").is_some(), "{states:#}");
        // `after_abnormal`: warnings are not marked, and only an abnormal end holds.
        let c = compile_one(&spec("after_abnormal"));
        let def = c.outputs[0].machines[0].definition();
        assert_well_formed(&def);
        let states = def["States"].as_object().unwrap();
        let rules = states["run.previous.check"]["Choices"].as_array().unwrap();
        assert_eq!(rules[1]["And"].as_array().unwrap().len(), 2, "{rules:?}");
        assert!(
            states.keys().all(|k| !k.contains("warned")),
            "{:?}",
            states.keys()
        );
        assert_eq!(states["w.warning"]["Next"], "w.end-rc");
        // Without run records there is nothing to hold on: reported.
        let c = compile_without_records(&spec("after_warning"));
        assert!(c.outputs[0]
            .findings
            .iter()
            .any(|f| f.what == "hold: after_warning" && f.kind == FindingKind::Unsupported));
        assert!(c.outputs[0].machines[0].definition()["States"]
            .get("run.last")
            .is_none());
    }

    #[test]
    fn held_jobnets_wait_at_their_gates_the_root_after_the_claim() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    hold: true\n    units:\n      - {name: a, type: noop}\n      - {name: s, hold: true, after: [a], units: [{name: b, type: noop}]}\n",
        );
        let out = &c.outputs[0];
        let def = out.machines[0].definition();
        assert_well_formed(&def);
        let states = &def["States"];
        // Both ways into the run (a claim, a rerun) go through the gate.
        assert_eq!(states["run.claim"]["Next"], "run.on-hold");
        assert_eq!(states["run.rerun"]["Next"], "run.on-hold");
        let gate = &states["run.on-hold"];
        assert_eq!(gate["Next"], "a.begin");
        assert_eq!(
            gate["Parameters"]["ConditionExpression"],
            "attribute_exists(released) AND released = :yes"
        );
        assert_eq!(
            gate["Parameters"]["Key"]["pk"]["S.$"],
            "States.Format('unit#n#{}#/n', $$.Execution.Input.businessDate)"
        );
        assert_eq!(gate["Catch"][0]["Next"], "run.on-hold.wait");
        assert_eq!(states["run.on-hold.wait"]["Next"], "run.on-hold");
        // The nested jobnet: its predecessor's end leads to its gate, the gate to its jobs.
        assert_eq!(states["a.end"]["Next"], "s.hold");
        assert_eq!(states["s.hold"]["Next"], "b.begin");
        assert_eq!(
            states["s.hold"]["Parameters"]["Key"]["pk"]["S.$"],
            "States.Format('unit#n#{}#/n/s', $$.Execution.Input.businessDate)"
        );
        assert_eq!(states["s.hold"]["Catch"][1]["Next"], "jobnet.failed");
        assert!(
            out.findings.iter().all(|f| f.what != "hold"),
            "{:?}",
            out.findings
        );
        // Without run records there is nothing to release: reported.
        let c = compile_without_records(
            "version: 1\njobnets:\n  - name: n\n    hold: true\n    units: [{name: a, type: noop}]\n",
        );
        let held: Vec<_> = c.outputs[0]
            .findings
            .iter()
            .filter(|f| f.what == "hold")
            .map(|f| f.unit.as_str())
            .collect();
        assert_eq!(held, ["/n"]);
    }

    #[test]
    fn end_judgment_by_file_reads_the_object_after_the_job_whatever_its_exit() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: j, type: lambda, params: {function: f}, end: {file_exists: 's3://b/out/done.ok'}}\n      - {name: k, type: noop, after: [j], end: {file_modified: 's3://b/x'}}\n",
        );
        let out = &c.outputs[0];
        let def = out.machines[0].definition();
        let job = &def["States"]["j"];
        assert_eq!(job["Next"], "j.file");
        let catches: Vec<_> = job["Catch"]
            .as_array()
            .expect("catches")
            .iter()
            .map(|c| {
                (
                    c["ErrorEquals"][0].as_str().unwrap_or(""),
                    c["Next"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            catches,
            [
                ("States.TaskFailed", "j.file"),
                ("States.ALL", "j.end-abnormal")
            ]
        );
        let file = &def["States"]["j.file"];
        assert_eq!(file["Resource"], "arn:aws:states:::aws-sdk:s3:headObject");
        assert_eq!(
            file["Parameters"],
            serde_json::json!({"Bucket": "b", "Key": "out/done.ok"})
        );
        assert_eq!(file["Next"], "j.end-forced");
        assert_eq!(file["Catch"][0]["Next"], "j.end-abnormal");
        let kinds: Vec<_> = out
            .findings
            .iter()
            .map(|f| (f.unit.as_str(), f.kind))
            .collect();
        assert_eq!(kinds, [("/n/k", FindingKind::NotYetCompiled)]);
    }

    #[test]
    fn file_waits_are_a_retried_look_bounded_by_the_cutoff_or_a_day() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: w, wait: {file: 's3://b/in.ok', interval_seconds: 30}, cutoff: {minutes: 10, status: normal}}\n      - {name: d, wait: {file: 's3://b/day.ok', interval_seconds: 10}}\n      - {name: a, type: noop, after: [w, d]}\n",
        );
        let out = &c.outputs[0];
        let def = out.machines[0].definition();
        let mut waits = BTreeMap::new();
        fn collect(states: &serde_json::Value, into: &mut BTreeMap<String, serde_json::Value>) {
            for (k, v) in states.as_object().expect("states") {
                into.insert(k.clone(), v.clone());
                for b in v["Branches"].as_array().into_iter().flatten() {
                    collect(&b["States"], into);
                }
            }
        }
        collect(&def["States"], &mut waits);
        let w = &waits["w"];
        assert_eq!(w["Resource"], "arn:aws:states:::aws-sdk:s3:headObject");
        assert_eq!(w["Retry"][0]["IntervalSeconds"], 30);
        // Ten minutes of looks every 30 s: one at the start and 20 more, the last at 10 min.
        assert_eq!(w["Retry"][0]["MaxAttempts"], 20);
        let catches = w["Catch"].as_array().expect("catches");
        assert_eq!(catches.len(), 2, "a normal end after the cutoff continues");
        assert_eq!(catches[1]["ErrorEquals"][0], "States.ALL");
        // No cutoff: a day, and 8,640 looks at 10 s are spread to the most allowed.
        let d = &waits["d"];
        assert_eq!(d["Retry"][0]["IntervalSeconds"], 60);
        assert_eq!(d["Retry"][0]["MaxAttempts"], MAX_FILE_LOOKS - 1);
        assert_eq!(d["Catch"].as_array().map(Vec::len), Some(1));
        let about_d: Vec<_> = out
            .findings
            .iter()
            .filter(|f| f.unit == "/n/d")
            .map(|f| f.kind)
            .collect();
        assert_eq!(
            about_d,
            [FindingKind::Approximated, FindingKind::Approximated]
        );
        assert!(out.findings.iter().all(|f| f.unit != "/n/w"));

        // An interval past the cutoff looks at the start and at the cutoff; an end-delay
        // monitor is stopped on the abnormal way out too.
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: w, wait: {file: 's3://b/k', interval_seconds: 3600}, cutoff: {minutes: 10}, end_delay: {after_own_start: 5}}\n",
        );
        let def = c.outputs[0].machines[0].definition();
        let w = &def["States"]["w"];
        assert_eq!(w["Retry"][0]["IntervalSeconds"], 600);
        assert_eq!(w["Retry"][0]["MaxAttempts"], 1);
        let off = w["Catch"][0]["Next"].as_str().expect("catch target");
        assert!(off.ends_with(".off-abnormal"), "{off}");
    }

    #[test]
    fn end_judgment_by_file_reports_what_it_cannot_keep() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: j, type: lambda, params: {function: f}, retry: {attempts: 2}, end: {file_exists: 's3://b'}}\n      - {name: g, after: [j], judge: {return_code: {op: gt, value: 0}}, then: [k]}\n      - {name: k, type: noop}\n",
        );
        let what: Vec<&str> = c.outputs[0]
            .findings
            .iter()
            .filter(|f| f.unit == "/n/j")
            .map(|f| f.what.as_str())
            .collect();
        assert_eq!(what.len(), 3, "{what:?}");
        for part in [
            "on s3://b, not an s3://bucket/key path",
            "retry with an end judgment by file",
            "a return-code judgment after",
        ] {
            assert!(what.iter().any(|w| w.contains(part)), "{part}: {what:?}");
        }
    }

    #[test]
    fn an_exit_code_is_read_only_from_a_task_that_ran() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: j, type: ecs, params: {command: run}, end: {warning_above: 1, abnormal_above: 8}}\n",
        );
        let def = c.outputs[0].machines[0].definition();
        let catches: Vec<_> = def["States"]["j"]["Catch"]
            .as_array()
            .expect("catches")
            .iter()
            .map(|c| c["Next"].clone())
            .collect();
        assert_eq!(catches[0], "j.exit");
        let exit = &def["States"]["j.exit"];
        assert_eq!(exit["Choices"][0]["Next"], "j.cause");
        // A task that failed to start (any other error, or a cause that is not the task's
        // JSON) is abnormal, like the catch-all.
        assert_eq!(exit["Default"], catches[1]);
        let rules = exit["Choices"][0]["And"].to_string();
        assert!(
            rules.contains("States.TaskFailed") && rules.contains("{*"),
            "{rules}"
        );
    }

    /// [`compile_one`] with `--no-run-records`.
    fn compile_without_records(yaml: &str) -> crate::driver::Compiled {
        let mut opts = crate::driver::CompileOptions::default();
        opts.emit.run_records = false;
        compile_with(yaml, &opts)
    }

    fn compile_one(yaml: &str) -> crate::driver::Compiled {
        compile_with(yaml, &crate::driver::CompileOptions::default())
    }

    /// One spec compiled with `opts` (which must succeed).
    fn compile_with(yaml: &str, opts: &crate::driver::CompileOptions) -> crate::driver::Compiled {
        use crate::diag::Diagnostics;
        use crate::driver::{compile, load_text, InputFormat};
        let mut p = Project::default();
        let mut d = Diagnostics::default();
        load_text(&mut p, "t.yaml", yaml.into(), InputFormat::Spec, &mut d);
        compile(&p, opts, &mut d).unwrap_or_else(|| panic!("does not compile: {:?}", d.items))
    }

    /// Every transition target exists and every state is reachable, recursively.
    fn assert_well_formed(machine: &serde_json::Value) {
        let mut copy = Tree::from(machine);
        let mut removed = Vec::new();
        prune_unreachable(&mut copy, &mut removed);
        assert!(removed.is_empty(), "unreachable: {removed:?}");
    }

    #[test]
    fn a_judgment_after_a_container_job_reads_its_exit_code() {
        let c = compile_one(
            r#"version: 1
jobnets:
  - name: n
    units:
      - {name: extract, type: ecs, params: {command: [x]}, end: {warning_above: 2, abnormal_above: 8}}
      - name: rows
        after: [extract]
        judge: {return_code: {op: gt, value: 0}}
        then: [load]
      - {name: load, type: noop}
"#,
        );
        let m = c.outputs[0].machines[0].definition();
        assert_well_formed(&m);
        let states = &m["States"];
        assert_eq!(states["extract.cause"]["Next"], "extract.rc-found");
        assert_eq!(states["extract.rc-found"]["Default"], "extract.rc");
        let code = &states["extract.rc-code"];
        assert_eq!(code["Next"], "extract.rc");
        assert_eq!(code["Parameters"]["rc.$"], "$.cause.Containers[0].ExitCode");
        assert_eq!(code["Parameters"]["cause.$"], "$.cause");
        // A passed-over job hands on its recorded code the same way.
        assert_eq!(
            states["extract.decide"]["Choices"][0]["Next"],
            "extract.restore"
        );
    }

    /// A spec compiled with at most `states` states per machine (so that it splits).
    fn compile_split(yaml: String, states: usize) -> crate::driver::Compiled {
        use crate::diag::Diagnostics;
        use crate::driver::{compile, load_text, CompileOptions, InputFormat};
        use crate::passes::partition::Budgets;
        let mut p = Project::default();
        let mut d = Diagnostics::default();
        load_text(&mut p, "t.yaml", yaml, InputFormat::Spec, &mut d);
        let opts = CompileOptions {
            budgets: Budgets {
                states,
                definition_bytes: 200_000,
                history_events: 5_000,
            },
            ..CompileOptions::default()
        };
        let c = compile(&p, &opts, &mut d).unwrap_or_else(|| panic!("{:?}", d.items));
        assert!(!d.has_errors(), "{:?}", d.items);
        c
    }

    #[test]
    fn variable_judgments_in_split_parts_read_the_root_input() {
        let mut units = String::new();
        for i in 0..10 {
            units.push_str(&format!("          - {{name: j{i}, type: noop}}\n"));
        }
        // The judgment's branch is the largest, so it is the one split off.
        let mut tail = String::new();
        for i in 0..12 {
            let before = if i == 0 {
                "deep".to_string()
            } else {
                format!("d{}", i - 1)
            };
            tail.push_str(&format!(
                "          - {{name: d{i}, type: noop, after: [{before}]}}\n"
            ));
        }
        let yaml = format!(
            "version: 1\njobnets:\n  - name: vs\n    units:\n      - {{name: first, type: noop}}\n      - name: part\n        after: [first]\n        units:\n{units}          - {{name: ask, judge: {{variable: {{name: MODE, op: eq, value: full}}}}, then: [deep]}}\n          - {{name: deep, type: noop}}\n{tail}"
        );
        let c = compile_split(yaml, 50);
        let text = |m: &Machine| m.definition().to_string();
        let holder = c.outputs[0]
            .machines
            .iter()
            .find(|m| text(m).contains("vars.MODE"))
            .expect("a machine with the judgment");
        assert_eq!(holder.role, Role::Child, "the judgment was split off");
        assert!(text(holder).contains("$$.Execution.Input.rootInput.vars.MODE"));
        let root = &c.outputs[0].machines[0];
        assert!(
            text(root).contains("\"rootInput.$\":\"$$.Execution.Input\""),
            "the root passes its input to the parts it starts"
        );
    }

    /// Deadlines per schedule rule armed at different points: a Choice at each point, on
    /// the run's `rule` (`rootInput.rule` in a split-off part); a rule whose deadline
    /// cannot be monitored gets none rather than the one for every run.
    #[test]
    fn deadlines_per_rule_are_chosen_where_each_is_armed() {
        let mut units = String::new();
        for i in 0..40 {
            units.push_str(&format!("          - {{name: j{i}, type: noop}}\n"));
        }
        let yaml = format!(
            "version: 1\njobnets:\n  - name: pr\n    schedule: {{rules: [{{name: a, days: daily, at: \"01:00\"}}, {{name: b, weekdays: [sat], at: \"01:00\"}}]}}\n    units:\n      - {{name: first, type: noop}}\n      - name: part\n        after: [first]\n        units:\n{units}          - {{name: x, type: noop, end_delay: [\"05:00\", {{rules: [a], delay: {{after_own_start: 5}}}}, {{rules: [b], delay: expected}}]}}\n"
        );
        let c = compile_split(yaml, 30);
        fn find(v: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
            let states = v.get("States")?.as_object()?;
            if let Some(s) = states.get(name) {
                return Some(s.clone());
            }
            states.values().find_map(|s| {
                s.get("Branches")?
                    .as_array()?
                    .iter()
                    .find_map(|b| find(b, name))
            })
        }
        let machines: Vec<(Role, serde_json::Value)> = c.outputs[0]
            .machines
            .iter()
            .map(|m| {
                (
                    m.role,
                    serde_json::from_str(&m.definition().to_string()).unwrap(),
                )
            })
            .collect();
        let state = |name: &str| {
            machines
                .iter()
                .find_map(|(role, m)| find(m, name).map(|s| (*role, s)))
                .unwrap_or_else(|| panic!("no state {name}"))
        };
        let (role, run) = state("monitor.x-e.arm.run");
        assert_eq!(role, Role::Root);
        let rule_of = |choice: &serde_json::Value, i: usize| {
            choice["Choices"][i]["And"][1]["StringEquals"]
                .as_str()
                .map(str::to_string)
        };
        assert_eq!(
            run["Choices"][0]["And"][0]["Variable"],
            "$$.Execution.Input.rule"
        );
        assert_eq!(rule_of(&run, 0).as_deref(), Some("a"));
        assert_eq!(rule_of(&run, 1).as_deref(), Some("b"));
        let after_run = run["Choices"][0]["Next"].clone();
        assert_eq!(
            run["Choices"][1]["Next"], after_run,
            "a and b: no deadline armed here"
        );
        assert_eq!(run["Default"], "monitor.x-e.arm.1", "other runs: 05:00");
        let (role, own) = state("monitor.x-e.arm.own");
        assert_eq!(role, Role::Child, "x was split off with its net");
        assert_eq!(
            own["Choices"][0]["And"][0]["Variable"],
            "$$.Execution.Input.rootInput.rule"
        );
        assert_eq!(rule_of(&own, 0).as_deref(), Some("a"));
        assert_eq!(own["Choices"][0]["Next"], "monitor.x-e.arm.2");
        assert_eq!(
            own["Choices"].as_array().unwrap().len(),
            1,
            "b goes on like the default"
        );
        assert_ne!(own["Default"], "monitor.x-e.arm.2");
    }

    /// Several rules at one start time make one run a date (no generations); two start
    /// times or a repeat make several.
    #[test]
    fn generations_come_from_distinct_start_times() {
        use crate::diag::Diagnostics;
        use crate::driver::{load_text, InputFormat};
        let net = |rules: &str| {
            let mut p = Project::default();
            let mut d = Diagnostics::default();
            let yaml = format!("version: 1\njobnets:\n  - name: g\n    schedule: {{rules: [{rules}]}}\n    units: [{{name: a, type: noop}}]\n");
            load_text(&mut p, "t.yaml", yaml, InputFormat::Spec, &mut d);
            assert!(!d.has_errors(), "{:?}", d.items);
            has_generations(p.units[p.roots[0]].as_net().unwrap())
        };
        assert!(!net(
            "{days: daily, at: \"01:00\"}, {weekdays: [sat], at: \"01:00\"}"
        ));
        assert!(net(
            "{days: daily, at: \"01:00\"}, {weekdays: [sat], at: \"02:00\"}"
        ));
        assert!(net("{days: daily, at: [\"01:00\", \"13:00\"]}"));
        assert!(net("{days: daily, at: \"01:00\", repeat_minutes: 60}"));
    }

    #[test]
    fn a_nested_net_failure_reaches_its_recovery_unit() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: nr\n    units:\n      - name: inner\n        units:\n          - {name: a, type: lambda}\n      - {name: fix, type: noop, after: [inner], recovery: true}\n      - {name: next, type: noop, after: [inner]}\n",
        );
        let m = &c.outputs[0].machines[0].definition();
        assert_well_formed(m);
        assert_eq!(m["States"]["inner"]["Type"], "Parallel");
        assert_eq!(
            m["States"]["inner.check"]["Choices"][0]["Next"],
            "fix.begin"
        );
        assert_eq!(m["States"]["inner.check"]["Default"], "next.begin");
        let inner = &m["States"]["inner"]["Branches"][0]["States"];
        assert!(
            inner["a"]["Catch"].to_string().contains("a.end-abnormal"),
            "{inner}"
        );
        assert_eq!(inner["a.end-abnormal"]["Next"], "a.begin.failed", "{inner}");
    }

    #[test]
    fn a_recovery_unit_that_can_never_run_is_pruned_and_reported() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: np\n    units:\n      - {name: a, type: noop}\n      - {name: fix, type: noop, after: [a], recovery: true}\n",
        );
        let out = &c.outputs[0];
        assert_well_formed(&out.machines[0].definition());
        assert!(out.machines[0].definition()["States"].get("fix").is_none());
        assert!(!out.mapping.contains_key("/np/fix"));
        assert!(out
            .findings
            .iter()
            .any(|f| f.unit == "/np/fix" && f.what.contains("never runs")));
    }

    #[test]
    fn every_example_is_well_formed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for e in std::fs::read_dir(dir).expect("examples") {
            let text = std::fs::read_to_string(e.expect("entry").path()).expect("text");
            for out in compile_one(&text).outputs {
                for m in &out.machines {
                    assert_well_formed(&m.definition());
                }
            }
        }
    }

    #[test]
    fn clock_time_waits_use_the_business_date() {
        let c = compile_one(
            "version: 1\njobnets:\n  - name: w\n    units:\n      - {name: early, wait: {until: \"06:30\"}}\n      - {name: late, wait: {until: \"26:30\"}, after: [early]}\n",
        );
        let m = &c.outputs[0].machines[0].definition();
        assert_well_formed(m);
        assert_eq!(
            m["States"]["early.at"]["Parameters"]["until.$"],
            "States.Format('{}T06:30:00+09:00', $$.Execution.Input.businessDate)"
        );
        // 26:30 of D in Tokyo is 02:30 of D+1 (+09:00), i.e. D 02:30 at -15:00.
        assert_eq!(
            m["States"]["late.at"]["Parameters"]["until.$"],
            "States.Format('{}T02:30:00-15:00', $$.Execution.Input.businessDate)"
        );
        assert_eq!(m["States"]["late"]["TimestampPath"], "$.until");
        assert!(
            c.outputs[0].findings.is_empty(),
            "{:?}",
            c.outputs[0].findings
        );
    }

    #[test]
    fn multi_line_scripts_become_one_command_line() {
        assert_eq!(
            one_line("cd /tmp && ls\npwd\n\nrun.sh a", false),
            "cd /tmp && ls; pwd; run.sh a"
        );
        assert_eq!(
            one_line("if [ -f x ]; then\n  echo y\nfi", false),
            "if [ -f x ]; then   echo y; fi"
        );
        assert_eq!(one_line("a \\\n  b\nc |\nd", false), "a   b; c | d");
        assert_eq!(one_line("copy a b\r\ndel a", true), "copy a b & del a");
    }

    #[test]
    fn pascal_case_parameter_prefix() {
        assert_eq!(pascal("extract_sales-v2"), "ExtractSalesV2");
    }
}
