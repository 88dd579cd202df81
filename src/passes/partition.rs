//! Partition: moves parts of a jobnet into child state machines so that every machine
//! stays under its budgets (states, definition bytes, worst-case history events).
//!
//! Works bottom-up on the structure plan. A block that fits stays inline; a series or
//! parallel block over budget is cut into groups, each group becoming one child machine
//! started with `startExecution.sync:2` (a failed child fails its caller exactly like a
//! failed job). Nested jobnets are natural boundaries: a big one becomes a child on its own.
//! Cuts are content-defined (a group may end once it is half full, at an item whose name
//! hashes to a cut mark; it must end before it overflows), so editing one job moves no
//! boundary unless its group overflows, and a one-job edit changes few generated files.

use super::naming::{shorten, stable_hash};
use super::structure::{Block, ChildPlan, JobnetPlan};
use crate::ir::{Project, UnitId, UnitKind};
use std::collections::{BTreeSet, HashMap};

/// Limits every generated machine must stay under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub states: usize,
    pub definition_bytes: usize,
    pub history_events: u64,
}

impl Default for Budgets {
    /// The product's 2,500 states; 1,048,576 characters and 25,000 events are hard AWS
    /// limits, kept with a margin for estimation error.
    fn default() -> Self {
        Budgets {
            states: 2_500,
            definition_bytes: 900_000,
            history_events: 20_000,
        }
    }
}

/// Estimated size of a piece of a machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub states: usize,
    /// Pretty-printed bytes with the piece at a machine's top level.
    pub bytes: usize,
    pub events: u64,
    /// Lines of the pretty text: each Parallel around the piece indents every one of them
    /// by [`BRANCH_INDENT`] more bytes, which dominates the size of deeply nested nets.
    pub lines: usize,
}

/// Bytes a Parallel adds to every line of its branches (four JSON levels of two spaces:
/// `Branches`, the branch object, `States`, the state).
pub const BRANCH_INDENT: usize = 8;

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            states: self.states + o.states,
            bytes: self.bytes + o.bytes,
            events: self.events + o.events,
            lines: self.lines + o.lines,
        }
    }
}

/// What is left of a cost without a part of it (never below zero).
impl std::ops::Sub for Cost {
    type Output = Cost;
    fn sub(self, o: Cost) -> Cost {
        Cost {
            states: self.states.saturating_sub(o.states),
            bytes: self.bytes.saturating_sub(o.bytes),
            events: self.events.saturating_sub(o.events),
            lines: self.lines.saturating_sub(o.lines),
        }
    }
}

impl Cost {
    /// Each figure the larger of the two.
    pub fn max(self, o: Cost) -> Cost {
        Cost {
            states: self.states.max(o.states),
            bytes: self.bytes.max(o.bytes),
            events: self.events.max(o.events),
            lines: self.lines.max(o.lines),
        }
    }

    /// The cost of this piece as a branch of a Parallel.
    fn nested(self) -> Cost {
        Cost {
            bytes: self.bytes + BRANCH_INDENT * self.lines,
            ..self
        }
    }

    fn fits(&self, b: &Budgets) -> bool {
        self.states <= b.states
            && self.bytes <= b.definition_bytes
            && self.events <= b.history_events
    }

    /// The first budget this cost exceeds, for the report.
    fn over(&self, b: &Budgets) -> &'static str {
        if self.bytes > b.definition_bytes {
            "definition size"
        } else if self.events > b.history_events {
            "history events"
        } else {
            "states"
        }
    }

    fn half(&self, b: &Budgets) -> bool {
        self.states * 2 >= b.states
            || self.bytes * 2 >= b.definition_bytes
            || self.events * 2 >= b.history_events
    }
}

/// Structural overheads of the generated ASL, per construct (upper estimates).
const PARALLEL: Cost = Cost {
    states: 2,
    bytes: 700,
    events: 8,
    lines: 25,
};
const BRANCH: Cost = Cost {
    states: 2,
    bytes: 400,
    events: 4,
    lines: 14,
};
const ARRIVE: Cost = Cost {
    states: 3,
    bytes: 2_500,
    events: 14,
    lines: 80,
};
/// A call of a child machine (`startExecution.sync:2` with its input), upper estimate.
pub const CHILD_CALL: Cost = Cost {
    states: 1,
    bytes: 1_200,
    events: 6,
    lines: 40,
};
/// One entry of a continuation machine's dispatch (a Choice rule, its region's end).
const DISPATCH: Cost = Cost {
    states: 1,
    bytes: 300,
    events: 2,
    lines: 10,
};
/// A machine's own frame: start state, failure handler, end, execution events.
const MACHINE: Cost = Cost {
    states: 4,
    bytes: 800,
    events: 10,
    lines: 30,
};

/// What the partition pass knows of the emitted size of a jobnet's pieces.
pub struct Estimates<'a> {
    /// Cost of one non-net unit as emitted.
    pub unit: &'a dyn Fn(UnitId) -> Cost,
    /// Whether a nested net is emitted inside a one-branch Parallel (so its contents are
    /// indented further).
    pub wrapped: &'a dyn Fn(UnitId) -> bool,
    /// A machine's own states without any unit (the root's, the largest: run records,
    /// alerts, ends); at least [`MACHINE`].
    pub frame: Cost,
}

/// Splits `plan` in place. `budgets` should already include any safety margin.
pub fn partition(
    project: &Project,
    plan: &mut JobnetPlan,
    budgets: &Budgets,
    names: &dyn Fn(UnitId) -> String,
    estimates: &Estimates<'_>,
) {
    let room = |frame: Cost| Budgets {
        states: budgets.states.saturating_sub(frame.states).max(1),
        definition_bytes: budgets.definition_bytes.saturating_sub(frame.bytes).max(1),
        history_events: budgets.history_events.saturating_sub(frame.events).max(1),
    };
    // Parts are cut for a child's small frame; the root's own states (run records, alerts)
    // are checked once its top block is fitted.
    let root_room = room(estimates.frame.max(MACHINE));
    let mut p = Partitioner {
        project,
        budgets: room(MACHINE),
        names,
        unit_cost: estimates.unit,
        wrapped: estimates.wrapped,
        children: std::mem::take(&mut plan.children),
        keys: BTreeSet::new(),
        net_mains: HashMap::new(),
    };
    for c in &p.children {
        p.keys.insert(key_form(&c.key));
    }
    let root = plan.root;
    let nets: Vec<UnitId> = plan.nets.keys().copied().collect();
    for &n in &nets {
        p.net_mains.insert(n, plan.nets[&n].main.clone());
    }
    // The root machine: its main block, fitted and cut until it fits.
    let main = p.net_mains.remove(&root).unwrap_or(Block::Empty);
    let (main, _) = p.fit_top(main, &root_room);
    plan.nets.get_mut(&root).expect("root plan").main = main;
    // The continuation machine holds every region: fit each, then move whole regions out
    // (largest first) while the machine is over budget.
    let mut regions: Vec<(UnitId, usize, Cost)> = Vec::new();
    for &n in &nets {
        let count = plan.nets[&n].regions.len();
        for i in 0..count {
            let body = std::mem::replace(
                &mut plan.nets.get_mut(&n).expect("net").regions[i].body,
                Block::Empty,
            );
            let (body, cost) = p.fit(body);
            plan.nets.get_mut(&n).expect("net").regions[i].body = body;
            regions.push((n, i, cost));
        }
    }
    let mut total = regions
        .iter()
        .fold(Cost::default(), |a, r| a + r.2 + BRANCH);
    if !total.fits(&p.budgets) {
        let reason = total.over(&p.budgets);
        regions.sort_by(|a, b| {
            b.2.bytes
                .cmp(&a.2.bytes)
                .then(a.0.cmp(&b.0))
                .then(a.1.cmp(&b.1))
        });
        for (n, i, cost) in regions {
            if total.fits(&p.budgets) {
                break;
            }
            let body = std::mem::replace(
                &mut plan.nets.get_mut(&n).expect("net").regions[i].body,
                Block::Empty,
            );
            let child = p.child(body, reason);
            plan.nets.get_mut(&n).expect("net").regions[i].body = child;
            total = total - cost + CHILD_CALL;
        }
    }
    // Too many regions for one continuation machine even with their bodies moved out:
    // spread them over several, in a stable order, each under budget.
    let mut region_costs: Vec<(UnitId, Cost)> = Vec::new();
    for &n in &nets {
        for r in &plan.nets[&n].regions {
            let c = match r.body {
                Block::Child(_) => CHILD_CALL,
                _ => p.cost_of(&r.body),
            };
            region_costs.push((r.join, c + DISPATCH));
        }
    }
    let total = region_costs.iter().fold(Cost::default(), |a, r| a + r.1);
    if !total.fits(&p.budgets) {
        let mut group = 0;
        let mut acc = Cost::default();
        for (join, c) in region_costs {
            if acc != Cost::default() && !(acc + c).fits(&p.budgets) {
                group += 1;
                acc = Cost::default();
            }
            acc = acc + c;
            plan.cont_groups.insert(join, group);
        }
    }
    // Nested nets not reached through the root (none today) keep their plan.
    for (n, main) in p.net_mains.drain() {
        plan.nets.get_mut(&n).expect("net").main = main;
    }
    plan.children = p.children;
}

struct Partitioner<'a> {
    project: &'a Project,
    budgets: Budgets,
    names: &'a dyn Fn(UnitId) -> String,
    unit_cost: &'a dyn Fn(UnitId) -> Cost,
    wrapped: &'a dyn Fn(UnitId) -> bool,
    children: Vec<ChildPlan>,
    keys: BTreeSet<String>,
    /// Nested nets' main blocks, taken out while their parent is fitted.
    net_mains: HashMap<UnitId, Block>,
}

impl Partitioner<'_> {
    /// Fits a machine's top block; if it is still over `room` (what the machine's own
    /// states leave), the whole block becomes one child machine.
    fn fit_top(&mut self, b: Block, room: &Budgets) -> (Block, Cost) {
        let (b, c) = self.fit(b);
        if c.fits(room) {
            return (b, c);
        }
        let reason = c.over(room);
        let child = self.child(b, reason);
        (child, CHILD_CALL)
    }

    /// Returns the block rewritten so that it fits one machine, and its cost.
    fn fit(&mut self, b: Block) -> (Block, Cost) {
        match b {
            Block::Empty => (Block::Empty, Cost::default()),
            Block::Arrive { .. } => (b, ARRIVE),
            Block::Child(_) => (b, CHILD_CALL),
            Block::Unit(u) => match self.project.units[u].kind {
                UnitKind::Net(_) => {
                    let main = self.net_mains.remove(&u).unwrap_or(Block::Empty);
                    let (main, cost) = self.fit(main);
                    let mut cost = self.net_frame(u, cost);
                    let main = if cost.fits(&self.budgets) {
                        main
                    } else {
                        // Cannot happen after `fit`, but a child keeps the invariant anyway.
                        let reason = cost.over(&self.budgets);
                        cost = CHILD_CALL;
                        self.child(main, reason)
                    };
                    self.net_mains.insert(u, main);
                    (Block::Unit(u), cost)
                }
                _ => (b, (self.unit_cost)(u)),
            },
            Block::Series(items) => self.fit_list(items, false),
            Block::Parallel(branches) => self.fit_list(branches, true),
        }
    }

    /// Fits the items of a series (or the branches of a parallel block); over budget, cuts
    /// them into groups that each become a child machine.
    fn fit_list(&mut self, items: Vec<Block>, parallel: bool) -> (Block, Cost) {
        let (base, per_item) = if parallel {
            (PARALLEL, BRANCH)
        } else {
            (Cost::default(), Cost::default())
        };
        let make = |v: Vec<Block>| {
            if parallel {
                Block::Parallel(v)
            } else {
                Block::Series(v)
            }
        };
        let fitted: Vec<(Block, Cost)> = items
            .into_iter()
            .map(|i| {
                let (b, c) = self.fit(i);
                (b, if parallel { c.nested() } else { c })
            })
            .collect();
        let total = fitted.iter().fold(base, |a, x| a + x.1 + per_item);
        if total.fits(&self.budgets) {
            return (make(fitted.into_iter().map(|x| x.0).collect()), total);
        }
        let reason = total.over(&self.budgets);
        let n = fitted.len();
        let groups = self.cut(fitted, per_item);
        let merged = groups.len() < n;
        // Every group could become a child; those that still fit beside the others' calls
        // stay inline, smallest first (a big branch moves out, its small siblings stay).
        let call = if parallel {
            CHILD_CALL.nested()
        } else {
            CHILD_CALL
        } + per_item;
        // Kept inline, each item of a group is a branch of its own again.
        let inline: Vec<Cost> = groups
            .iter()
            .map(|g| g.iter().fold(Cost::default(), |a, x| a + x.1 + per_item))
            .collect();
        let mut keep = vec![false; groups.len()];
        let mut all_calls = (0..groups.len()).fold(base, |a, _| a + call);
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&i| (inline[i].bytes, inline[i].states, i));
        for i in order {
            let with = all_calls - call + inline[i];
            if with.fits(&self.budgets) {
                keep[i] = true;
                all_calls = with;
            }
        }
        let mut out = Vec::new();
        let mut cost = base;
        for ((g, keep), inline) in groups.into_iter().zip(keep).zip(inline) {
            if keep {
                out.extend(g.into_iter().map(|(b, _)| b));
                cost = cost + inline;
            } else {
                let (b, c) = self.group_block(g, parallel, reason);
                out.push(b);
                cost = cost + if parallel { c.nested() } else { c } + per_item;
            }
        }
        self.refit(make(out), cost, merged)
    }

    /// After a cut, many child calls may still be too many for one machine: cut again (the
    /// calls are small, so each round divides their number), as long as rounds merge.
    fn refit(&mut self, b: Block, cost: Cost, merged: bool) -> (Block, Cost) {
        if cost.fits(&self.budgets) || !merged {
            (b, cost)
        } else {
            self.fit(b)
        }
    }

    /// A group of items becomes one child machine, unless it is a single child call already.
    fn group_block(
        &mut self,
        mut g: Vec<(Block, Cost)>,
        parallel: bool,
        reason: &str,
    ) -> (Block, Cost) {
        if g.len() == 1 && matches!(g[0].0, Block::Child(_)) {
            let (b, _) = g.pop().expect("one");
            return (b, CHILD_CALL);
        }
        let blocks: Vec<Block> = g.into_iter().map(|x| x.0).collect();
        let body = if blocks.len() == 1 {
            blocks.into_iter().next().expect("one")
        } else if parallel {
            Block::Parallel(blocks)
        } else {
            Block::Series(blocks)
        };
        (self.child(body, reason), CHILD_CALL)
    }

    /// Content-defined cutting of fitted items into groups that each fit a machine.
    fn cut(&self, items: Vec<(Block, Cost)>, per_item: Cost) -> Vec<Vec<(Block, Cost)>> {
        let room = Budgets {
            states: self.budgets.states.saturating_sub(PARALLEL.states),
            definition_bytes: self.budgets.definition_bytes.saturating_sub(PARALLEL.bytes),
            history_events: self.budgets.history_events.saturating_sub(PARALLEL.events),
        };
        let mut groups: Vec<Vec<(Block, Cost)>> = Vec::new();
        let mut cur: Vec<(Block, Cost)> = Vec::new();
        let mut cost = Cost::default();
        for (b, c) in items {
            let c = c + per_item;
            if !cur.is_empty() && !(cost + c).fits(&room) {
                groups.push(std::mem::take(&mut cur));
                cost = Cost::default();
            }
            let mark = self
                .first_name(&b)
                .is_some_and(|n| stable_hash(&n).is_multiple_of(4));
            cost = cost + c;
            cur.push((b, c));
            if mark && cost.half(&room) {
                groups.push(std::mem::take(&mut cur));
                cost = Cost::default();
            }
        }
        if !cur.is_empty() {
            groups.push(cur);
        }
        groups
    }

    /// Cost of an already fitted block (units at their emitted size).
    fn cost_of(&self, b: &Block) -> Cost {
        match b {
            Block::Empty => Cost::default(),
            Block::Arrive { .. } => ARRIVE,
            Block::Child(_) => CHILD_CALL,
            Block::Unit(u) => match self.project.units[*u].kind {
                UnitKind::Net(_) => {
                    let main = self.net_mains.get(u).cloned().unwrap_or(Block::Empty);
                    self.net_frame(*u, self.cost_of(&main))
                }
                _ => (self.unit_cost)(*u),
            },
            Block::Series(v) => v.iter().fold(Cost::default(), |a, x| a + self.cost_of(x)),
            Block::Parallel(v) => v
                .iter()
                .fold(PARALLEL, |a, x| a + self.cost_of(x).nested() + BRANCH),
        }
    }

    /// Cost of a nested net inline, given the cost of its main block.
    fn net_frame(&self, net: UnitId, main: Cost) -> Cost {
        let main = if (self.wrapped)(net) {
            main.nested()
        } else {
            main
        };
        main + CHILD_CALL
    }

    fn first_unit(&self, b: &Block) -> Option<UnitId> {
        match b {
            Block::Unit(u) => Some(*u),
            Block::Arrive { from, .. } => Some(*from),
            Block::Series(v) | Block::Parallel(v) => v.iter().find_map(|x| self.first_unit(x)),
            Block::Child(n) => self.first_unit(&self.children[*n].body),
            Block::Empty => None,
        }
    }

    fn first_name(&self, b: &Block) -> Option<String> {
        self.first_unit(b).map(|u| (self.names)(u))
    }

    /// Registers `body` as a child machine and returns the block that calls it.
    fn child(&mut self, body: Block, reason: &str) -> Block {
        let base = self
            .first_name(&body)
            .map_or_else(|| "part".to_string(), |n| n.replace('.', "-"));
        let key = unique_key(&shorten(&base, 40), &self.keys);
        self.keys.insert(key_form(&key));
        self.children.push(ChildPlan {
            key,
            body,
            reason: reason.to_string(),
        });
        Block::Child(self.children.len() - 1)
    }
}

/// What must differ between two child keys of a jobnet: placeholders conflate `-` and `_`,
/// CloudFormation logical ids drop both (`u3-2` and `u32` are both `…U32`), and output files
/// may land on a case-insensitive file system.
fn key_form(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `base`, or `base-2`, `base-3`, … : the first that no key in `taken` (in [`key_form`])
/// and no other machine of the jobnet has. A base that names one of those machines itself
/// (`cont`, `CONT01`, `monitor`) gets `-part` first: digits alone would never leave
/// `cont…` and the search would not end.
fn unique_key(base: &str, taken: &BTreeSet<String>) -> String {
    let base = if reserved(&key_form(base)) {
        format!("{base}-part")
    } else {
        base.to_string()
    };
    let mut key = base.clone();
    let mut i = 2;
    while taken.contains(&key_form(&key)) {
        key = format!("{base}-{i}");
        i += 1;
    }
    key
}

/// Keys (in [`key_form`]) the jobnet's other machines use: `<base>-cont`, `<base>-cont2`, …
/// `<base>-monitor` and `<base>-events`.
fn reserved(form: &str) -> bool {
    form == "monitor"
        || form == "events"
        || form
            .strip_prefix("cont")
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_keys_that_would_share_a_logical_id_or_file_are_told_apart() {
        assert_eq!(key_form("u3-2"), key_form("u32"));
        assert_eq!(key_form("U_32"), key_form("u32"));
        assert_ne!(key_form("u3-2"), key_form("u3-3"));
        assert!(reserved(&key_form("cont")) && reserved(&key_form("Cont-2")));
        assert!(reserved(&key_form("monitor")) && reserved(&key_form("Events")));
        assert!(!reserved(&key_form("contract")) && !reserved(&key_form("monitors")));
        let taken: BTreeSet<String> = ["u32", "cont"].map(String::from).into();
        assert_eq!(unique_key("u3", &taken), "u3");
        assert_eq!(unique_key("u32", &taken), "u32-2");
        // Names of the jobnet's other machines end; `cont` followed by digits would not.
        assert_eq!(unique_key("cont", &taken), "cont-part");
        assert_eq!(unique_key("CONT01", &taken), "CONT01-part");
        assert_eq!(unique_key("monitor", &taken), "monitor-part");
        let mut more = taken.clone();
        more.insert(key_form("cont-part"));
        assert_eq!(unique_key("cont", &more), "cont-part-2");
    }

    #[test]
    fn costs_add_and_compare() {
        let b = Budgets {
            states: 10,
            definition_bytes: 100,
            history_events: 50,
        };
        let c = Cost {
            states: 6,
            bytes: 10,
            events: 5,
            lines: 3,
        };
        assert!(c.fits(&b));
        assert!(!(c + c).fits(&b));
        assert_eq!((c + c).over(&b), "states");
        assert!(c.half(&b));
    }

    #[test]
    fn a_branch_is_indented_on_every_line() {
        let c = Cost {
            states: 2,
            bytes: 100,
            events: 4,
            lines: 10,
        };
        assert_eq!(c.nested().bytes, 100 + 10 * BRANCH_INDENT);
        assert_eq!(c.nested().nested().bytes, 100 + 20 * BRANCH_INDENT);
        assert_eq!((c.nested().states, c.nested().lines), (2, 10));
    }

    fn units_in(b: &Block, out: &mut Vec<UnitId>) {
        match b {
            Block::Unit(u) => out.push(*u),
            Block::Series(v) | Block::Parallel(v) => v.iter().for_each(|x| units_in(x, out)),
            _ => {}
        }
    }

    /// `j0` forks into a one-job branch `j1` and a long chain `j2..j9`: over budget, the
    /// chain moves into a child machine and the small branch stays where it was.
    #[test]
    fn a_big_branch_moves_out_and_its_small_sibling_stays() {
        let mut y = String::from("version: 1\njobnets:\n  - name: n\n    units:\n");
        y.push_str("      - {name: j0, type: noop}\n      - {name: j1, type: noop, after: [j0]}\n");
        for j in 2..10 {
            y.push_str(&format!(
                "      - {{name: j{j}, type: noop, after: [j{}]}}\n",
                if j == 2 { 0 } else { j - 1 }
            ));
        }
        let mut p = Project::default();
        let mut d = crate::diag::Diagnostics::default();
        crate::driver::load_text(
            &mut p,
            "t.yaml",
            y,
            crate::driver::InputFormat::Spec,
            &mut d,
        );
        assert!(!d.has_errors(), "{:?}", d.items);
        let root = p.roots[0];
        let mut plan = super::super::structure::plan(&p, root, Default::default());
        let unit = Cost {
            states: 1,
            bytes: 10,
            events: 1,
            lines: 1,
        };
        let budgets = Budgets {
            states: MACHINE.states + 11,
            definition_bytes: usize::MAX / 4,
            history_events: u64::MAX / 4,
        };
        partition(
            &p,
            &mut plan,
            &budgets,
            &|u| p.units[u].name.clone(),
            &Estimates {
                unit: &|_| unit,
                wrapped: &|_| false,
                frame: Cost::default(),
            },
        );
        assert_eq!(plan.children.len(), 1, "{:?}", plan.children);
        let name = |v: Vec<UnitId>| -> Vec<String> {
            v.into_iter().map(|u| p.units[u].name.clone()).collect()
        };
        let mut moved = Vec::new();
        units_in(&plan.children[0].body, &mut moved);
        assert_eq!(
            name(moved),
            ["j2", "j3", "j4", "j5", "j6", "j7", "j8", "j9"]
        );
        let mut kept = Vec::new();
        units_in(&plan.nets[&root].main, &mut kept);
        assert_eq!(name(kept), ["j0", "j1"]);
    }
}
