//! Structure: turns each net's dependency graph into nested series/parallel blocks, plus
//! exact joins for the parts that are not series-parallel.
//!
//! A `Parallel` state can only express fork/join nesting. Units whose start cannot be
//! written that way (OR-joins, and joins whose predecessors sit in unrelated branches, such
//! as D in A→C, A→D, B→D) become *regions*: their predecessors each "arrive" at the join
//! (an atomic counter, or a claim for OR-joins) and the last (or first) arriver starts the
//! region in the jobnet's continuation machine. Every region is itself series-parallel, so
//! no job ever waits for a unit that is not its predecessor, and no job is duplicated.
//!
//! Algorithm: regions are grown from the sources (the *main* region) and from every join
//! already chosen; a unit reachable from two regions becomes a join itself. Each region is
//! then reduced series-parallel on its edge graph (node `v` is the edge `v_in → v_out`); if
//! the reduction gets stuck, the earliest stuck join becomes a region too, and we repeat.

use crate::ir::{EdgeKind, JoinKind, Project, UnitId, UnitKind};
use indexmap::IndexMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

/// A piece of structure: what runs in what order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Empty,
    Unit(UnitId),
    Series(Vec<Block>),
    Parallel(Vec<Block>),
    /// `from` ended normally: count (or claim) its arrival at the join `join`.
    Arrive {
        join: UnitId,
        from: UnitId,
    },
    /// Runs child machine `n` of [`JobnetPlan::children`] (set by the partition pass).
    Child(usize),
}

impl Block {
    fn series(a: Block, b: Block) -> Block {
        let mut items = Vec::new();
        for x in [a, b] {
            match x {
                Block::Empty => {}
                Block::Series(v) => items.extend(v),
                other => items.push(other),
            }
        }
        match items.len() {
            0 => Block::Empty,
            1 => items.pop().expect("one item"),
            _ => Block::Series(items),
        }
    }

    /// A path with no units beside another path adds no ordering: drop it.
    fn parallel(a: Block, b: Block) -> Block {
        let mut items = Vec::new();
        for x in [a, b] {
            match x {
                Block::Empty => {}
                Block::Parallel(v) => items.extend(v),
                other => items.push(other),
            }
        }
        match items.len() {
            0 => Block::Empty,
            1 => items.pop().expect("one item"),
            _ => Block::Parallel(items),
        }
    }

    /// Every unit named in this block (arrivals excluded), in block order.
    pub fn units(&self, out: &mut Vec<UnitId>) {
        match self {
            Block::Empty | Block::Arrive { .. } | Block::Child(_) => {}
            Block::Unit(u) => out.push(*u),
            Block::Series(v) | Block::Parallel(v) => v.iter().for_each(|b| b.units(out)),
        }
    }

    /// Orders parallel branches by the first source position they contain, so that output
    /// does not depend on the order reductions happened in.
    fn normalise(&mut self, rank: &dyn Fn(UnitId) -> usize) -> usize {
        match self {
            Block::Empty => usize::MAX,
            Block::Unit(u) => rank(*u),
            Block::Arrive { from, join } => rank(*from).saturating_mul(2).max(rank(*join)),
            Block::Child(_) => usize::MAX,
            Block::Series(v) => v
                .iter_mut()
                .map(|b| b.normalise(rank))
                .min()
                .unwrap_or(usize::MAX),
            Block::Parallel(v) => {
                let mut keyed: Vec<(usize, Block)> =
                    v.drain(..).map(|mut b| (b.normalise(rank), b)).collect();
                keyed.sort_by_key(|(k, _)| *k);
                let min = keyed.first().map_or(usize::MAX, |(k, _)| *k);
                v.extend(keyed.into_iter().map(|(_, b)| b));
                min
            }
        }
    }
}

/// A join started by arrivals: its body runs in the continuation machine.
#[derive(Debug, Clone)]
pub struct Region {
    pub join: UnitId,
    pub kind: JoinKind,
    /// The join's predecessors (each arrives once).
    pub preds: Vec<UnitId>,
    pub body: Block,
}

/// An edge `--approximate` added to make a region series-parallel.
#[derive(Debug, Clone)]
pub struct AddedEdge {
    pub from: UnitId,
    pub to: UnitId,
}

/// Approximation applied to one region under `--approximate`.
#[derive(Debug, Clone)]
pub struct Approximation {
    pub added: Vec<AddedEdge>,
    pub critical_path_before: u64,
    pub critical_path_after: u64,
}

/// The structure of one net's children.
#[derive(Debug, Clone)]
pub struct NetPlan {
    pub main: Block,
    pub regions: Vec<Region>,
    /// Protected unit → its recovery units, in the order they run.
    pub recovery: HashMap<UnitId, Vec<UnitId>>,
    /// Judgment → its dependent units (run only when the judgment is true).
    pub dependents: HashMap<UnitId, Vec<UnitId>>,
    pub approximations: Vec<Approximation>,
}

/// The structure of a root jobnet: one plan per net (the root and every nested net).
#[derive(Debug, Clone)]
pub struct JobnetPlan {
    pub root: UnitId,
    pub nets: BTreeMap<UnitId, NetPlan>,
    /// Parts moved into child machines by the partition pass (empty until it runs).
    pub children: Vec<ChildPlan>,
    /// Join → index of the continuation machine running its region, when the partition
    /// pass needed more than one (absent: the first).
    pub cont_groups: HashMap<UnitId, usize>,
}

/// A part of a jobnet that runs as its own (child) state machine.
#[derive(Debug, Clone)]
pub struct ChildPlan {
    /// Stable key, derived from the first unit of the part; names the machine.
    pub key: String,
    pub body: Block,
    /// Which budget forced the split.
    pub reason: String,
}

impl JobnetPlan {
    /// All regions of all nets, in a stable order (nets by id, regions by topological order).
    pub fn regions(&self) -> impl Iterator<Item = (UnitId, &Region)> {
        self.nets
            .iter()
            .flat_map(|(n, p)| p.regions.iter().map(move |r| (*n, r)))
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Add edges instead of exact joins where a region is not series-parallel.
    pub approximate: bool,
}

/// Plans every net below `root`. Cycles must have been rejected by validation; should one
/// slip through, its units are left out of the plan rather than looping.
pub fn plan(project: &Project, root: UnitId, opts: Options) -> JobnetPlan {
    let mut nets = BTreeMap::new();
    for u in project.descendants(root) {
        if let UnitKind::Net(_) = project.units[u].kind {
            nets.insert(u, plan_net(project, u, opts));
        }
    }
    JobnetPlan {
        root,
        nets,
        children: Vec::new(),
        cont_groups: HashMap::new(),
    }
}

const MAIN: usize = usize::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    Root(usize),
    Conflict,
}

fn plan_net(project: &Project, net_id: UnitId, opts: Options) -> NetPlan {
    let net = project.units[net_id].as_net().expect("a net");
    let children = &net.children;
    let rank_of: HashMap<UnitId, usize> =
        children.iter().enumerate().map(|(i, &u)| (u, i)).collect();

    let mut recovery_of: HashMap<UnitId, UnitId> = HashMap::new();
    let mut dependents: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
    let mut judgment_of: HashMap<UnitId, UnitId> = HashMap::new();
    for e in &net.edges {
        if !rank_of.contains_key(&e.from) || !rank_of.contains_key(&e.to) {
            continue;
        }
        let conditional = e.kind == EdgeKind::Conditional
            && matches!(project.units[e.from].kind, UnitKind::Judgment(_));
        if conditional {
            let d = dependents.entry(e.from).or_default();
            if !d.contains(&e.to) {
                d.push(e.to);
            }
            judgment_of.insert(e.to, e.from);
        } else if project.units[e.to].recovery {
            recovery_of.entry(e.to).or_insert(e.from);
        }
    }
    for d in dependents.values_mut() {
        d.sort_by_key(|u| rank_of[u]);
    }
    // Recovery chains: units protected directly, then recovery units following recovery units.
    let mut recovery: HashMap<UnitId, Vec<UnitId>> = HashMap::new();
    for &c in children {
        if !project.units[c].recovery {
            continue;
        }
        let mut anchor = c;
        let mut guard = 0;
        while let Some(&p) = recovery_of.get(&anchor) {
            anchor = p;
            guard += 1;
            if !project.units[anchor].recovery || guard > children.len() {
                break;
            }
        }
        if anchor != c && !project.units[anchor].recovery {
            recovery.entry(anchor).or_default().push(c);
        }
    }

    // The main graph: units that are neither recovery units nor judgment dependents.
    let main_units: Vec<UnitId> = children
        .iter()
        .copied()
        .filter(|u| !project.units[*u].recovery && !judgment_of.contains_key(u))
        .collect();
    let idx: HashMap<UnitId, usize> = main_units
        .iter()
        .enumerate()
        .map(|(i, &u)| (u, i))
        .collect();
    let n = main_units.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for e in &net.edges {
        let conditional = e.kind == EdgeKind::Conditional
            && matches!(project.units[e.from].kind, UnitKind::Judgment(_));
        if conditional || project.units[e.to].recovery {
            continue;
        }
        // An edge leaving a dependent unit leaves its judgment's composite.
        let from = judgment_of.get(&e.from).copied().unwrap_or(e.from);
        let (Some(&a), Some(&b)) = (idx.get(&from), idx.get(&e.to)) else {
            continue;
        };
        if a != b && seen.insert((a, b)) {
            preds[b].push(a);
            succs[a].push(b);
        }
    }
    for v in preds.iter_mut().chain(succs.iter_mut()) {
        v.sort_unstable();
    }
    let topo = topo_order(&preds, &succs);
    let mut pos = vec![usize::MAX; n];
    for (i, &v) in topo.iter().enumerate() {
        pos[v] = i;
    }

    let mut is_join: Vec<bool> = (0..n)
        .map(|v| project.units[main_units[v]].join == JoinKind::Or && preds[v].len() >= 2)
        .collect();
    let mut approximated: HashMap<usize, (Block, Approximation)> = HashMap::new();

    let (owner, regions) = loop {
        let owner = owners(&topo, &preds, &is_join);
        let mut changed = false;
        for &v in &topo {
            if owner[v] == Owner::Conflict && preds[v].iter().all(|&p| owner[p] != Owner::Conflict)
            {
                is_join[v] = true;
                changed = true;
            }
        }
        if changed {
            continue;
        }
        let mut roots: Vec<usize> = vec![MAIN];
        roots.extend(topo.iter().copied().filter(|&v| is_join[v]));
        let mut results = Vec::new();
        for &r in &roots {
            let members: Vec<usize> = topo
                .iter()
                .copied()
                .filter(|&v| owner[v] == Owner::Root(r))
                .collect();
            match reduce(r, &members, &preds, &succs, &is_join, &pos) {
                Ok(b) => results.push((r, b)),
                Err(stuck) => {
                    let arrives = members
                        .iter()
                        .any(|&m| succs[m].iter().any(|&s| is_join[s]));
                    if opts.approximate && !arrives {
                        let weight = |v: usize| {
                            u64::from(project.units[main_units[v]].expected_minutes.unwrap_or(1))
                        };
                        let (b, a) = levelise(&members, &preds, &succs, &pos, &weight);
                        approximated.insert(r, (b.clone(), a));
                        results.push((r, b));
                    } else {
                        is_join[stuck] = true;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break (owner, results);
        }
    };
    let _ = owner;

    let to_unit = |b: Block| map_block(b, &main_units);
    let rank = |u: UnitId| rank_of.get(&u).copied().unwrap_or(usize::MAX);
    let mut main = Block::Empty;
    let mut out_regions = Vec::new();
    let mut approximations = Vec::new();
    for (r, b) in regions {
        let mut block = to_unit(b);
        block.normalise(&rank);
        if let Some((_, a)) = approximated.remove(&r) {
            approximations.push(Approximation {
                added: a
                    .added
                    .iter()
                    .map(|e| AddedEdge {
                        from: main_units[e.from.index()],
                        to: main_units[e.to.index()],
                    })
                    .collect(),
                ..a
            });
        }
        if r == MAIN {
            main = block;
        } else {
            let u = main_units[r];
            out_regions.push(Region {
                join: u,
                kind: project.units[u].join,
                preds: preds[r].iter().map(|&p| main_units[p]).collect(),
                body: block,
            });
        }
    }
    NetPlan {
        main,
        regions: out_regions,
        recovery,
        dependents,
        approximations,
    }
}

/// Kahn's algorithm, smallest source position first, so order is stable. Units on a cycle
/// (rejected earlier by validation) are simply not returned.
fn topo_order(preds: &[Vec<usize>], succs: &[Vec<usize>]) -> Vec<usize> {
    let mut indeg: Vec<usize> = preds.iter().map(Vec::len).collect();
    let mut heap: BinaryHeap<Reverse<usize>> = (0..preds.len())
        .filter(|&v| indeg[v] == 0)
        .map(Reverse)
        .collect();
    let mut out = Vec::with_capacity(preds.len());
    while let Some(Reverse(v)) = heap.pop() {
        out.push(v);
        for &s in &succs[v] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                heap.push(Reverse(s));
            }
        }
    }
    out
}

fn owners(topo: &[usize], preds: &[Vec<usize>], is_join: &[bool]) -> Vec<Owner> {
    let mut owner = vec![Owner::Conflict; preds.len()];
    for &v in topo {
        owner[v] = if is_join[v] {
            Owner::Root(v)
        } else if preds[v].is_empty() {
            Owner::Root(MAIN)
        } else {
            let first = owner[preds[v][0]];
            if preds[v].iter().all(|&p| owner[p] == first) {
                first
            } else {
                Owner::Conflict
            }
        };
    }
    owner
}

/// Series-parallel reduction of one region on its two-terminal edge graph.
/// Returns the block, or the earliest unit whose join got the reduction stuck.
fn reduce(
    root: usize,
    members: &[usize],
    preds: &[Vec<usize>],
    succs: &[Vec<usize>],
    is_join: &[bool],
    pos: &[usize],
) -> Result<Block, usize> {
    const S: usize = 0;
    const T: usize = 1;
    let local: HashMap<usize, usize> = members.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let vin = |i: usize| 2 + 2 * i;
    let vout = |i: usize| 3 + 2 * i;
    let nv = 2 + 2 * members.len();
    let mut g = EdgeGraph {
        out: vec![IndexMap::new(); nv],
        inn: vec![IndexMap::new(); nv],
    };
    for (i, &v) in members.iter().enumerate() {
        g.add(vin(i), vout(i), Block::Unit(UnitId::from_index(v)));
        let is_source = if root == MAIN {
            preds[v].is_empty()
        } else {
            v == root
        };
        if is_source {
            g.add(S, vin(i), Block::Empty);
        }
        let mut sink = true;
        for &s in &succs[v] {
            if is_join[s] {
                g.add_arrive(vout(i), T, s, v);
                sink = false;
            } else if let Some(&j) = local.get(&s) {
                g.add(vout(i), vin(j), Block::Empty);
                sink = false;
            }
        }
        if sink {
            g.add(vout(i), T, Block::Empty);
        }
    }
    let mut work: Vec<usize> = (2..nv).collect();
    while let Some(v) = work.pop() {
        if g.inn[v].len() != 1 || g.out[v].len() != 1 {
            continue;
        }
        let (&a, _) = g.inn[v].first().expect("one in");
        let (&b, _) = g.out[v].first().expect("one out");
        let la = g.out[a].shift_remove(&v).expect("edge a→v");
        g.inn[v].clear();
        let lb = g.out[v].shift_remove(&b).expect("edge v→b");
        g.inn[b].shift_remove(&v);
        g.add(a, b, Block::series(la, lb));
        work.push(a);
        work.push(b);
    }
    if g.out[S].len() == 1 && g.inn[T].len() == 1 && g.out[S].contains_key(&T) {
        let only_edge = (2..nv).all(|v| g.inn[v].is_empty() && g.out[v].is_empty());
        if only_edge {
            let block = g.out[S].shift_remove(&T).expect("S→T");
            return Ok(block);
        }
    }
    if members.is_empty() {
        return Ok(Block::Empty);
    }
    let stuck = (0..members.len())
        .filter(|&i| g.inn[vin(i)].len() >= 2)
        .map(|i| members[i])
        .min_by_key(|&v| pos[v]);
    Err(stuck.unwrap_or_else(|| *members.iter().max_by_key(|&&v| pos[v]).expect("members")))
}

/// A multigraph whose parallel edges are merged as they are added.
struct EdgeGraph {
    out: Vec<IndexMap<usize, Block>>,
    inn: Vec<IndexMap<usize, ()>>,
}

impl EdgeGraph {
    fn add(&mut self, a: usize, b: usize, label: Block) {
        if let Some(existing) = self.out[a].get_mut(&b) {
            let old = std::mem::replace(existing, Block::Empty);
            *existing = Block::parallel(old, label);
        } else {
            self.out[a].insert(b, label);
            self.inn[b].insert(a, ());
        }
    }

    /// Arrivals are real work even though they end at the sink: never merged away.
    fn add_arrive(&mut self, a: usize, b: usize, join: usize, from: usize) {
        self.add(
            a,
            b,
            Block::Arrive {
                join: UnitId::from_index(join),
                from: UnitId::from_index(from),
            },
        );
    }
}

/// Replaces local indices (stored in `UnitId`s during reduction) with the real unit ids.
fn map_block(b: Block, units: &[UnitId]) -> Block {
    match b {
        Block::Empty => Block::Empty,
        Block::Unit(u) => Block::Unit(units[u.index()]),
        Block::Arrive { join, from } => Block::Arrive {
            join: units[join.index()],
            from: units[from.index()],
        },
        Block::Child(n) => Block::Child(n),
        Block::Series(v) => Block::Series(v.into_iter().map(|b| map_block(b, units)).collect()),
        Block::Parallel(v) => Block::Parallel(v.into_iter().map(|b| map_block(b, units)).collect()),
    }
}

/// `--approximate`: levels by longest path, each level waiting for the whole previous one.
/// Returns the block (local indices) and the edges that adds, with the critical paths.
fn levelise(
    members: &[usize],
    preds: &[Vec<usize>],
    succs: &[Vec<usize>],
    pos: &[usize],
    weight: &dyn Fn(usize) -> u64,
) -> (Block, Approximation) {
    let set: HashSet<usize> = members.iter().copied().collect();
    let mut order = members.to_vec();
    order.sort_by_key(|&v| pos[v]);
    let mut level: HashMap<usize, usize> = HashMap::new();
    let mut finish: HashMap<usize, u64> = HashMap::new();
    for &v in &order {
        let ps: Vec<usize> = preds[v]
            .iter()
            .copied()
            .filter(|p| set.contains(p))
            .collect();
        let l = ps.iter().map(|p| level[p] + 1).max().unwrap_or(0);
        level.insert(v, l);
        let f = ps.iter().map(|p| finish[p]).max().unwrap_or(0) + weight(v);
        finish.insert(v, f);
    }
    let depth = level.values().max().map_or(0, |m| m + 1);
    let mut levels: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for &v in &order {
        levels[level[&v]].push(v);
    }
    // Ancestors inside the region, to tell new edges from implied ones.
    let mut anc: HashMap<usize, HashSet<usize>> = HashMap::new();
    for &v in &order {
        let mut a = HashSet::new();
        for &p in preds[v].iter().filter(|p| set.contains(p)) {
            a.insert(p);
            a.extend(anc[&p].iter().copied());
        }
        anc.insert(v, a);
    }
    let mut added = Vec::new();
    for w in levels.windows(2) {
        for &to in &w[1] {
            for &from in &w[0] {
                if !anc[&to].contains(&from) {
                    added.push(AddedEdge {
                        from: UnitId::from_index(from),
                        to: UnitId::from_index(to),
                    });
                }
            }
        }
    }
    let before = finish.values().copied().max().unwrap_or(0);
    let after: u64 = levels
        .iter()
        .map(|l| l.iter().map(|&v| weight(v)).max().unwrap_or(0))
        .sum();
    let _ = succs;
    let block = levels.iter().fold(Block::Empty, |acc, l| {
        let par = l.iter().fold(Block::Empty, |p, &v| {
            Block::parallel(p, Block::Unit(UnitId::from_index(v)))
        });
        Block::series(acc, par)
    });
    (
        block,
        Approximation {
            added,
            critical_path_before: before,
            critical_path_after: after,
        },
    )
}

#[cfg(test)]
mod tests {
    //! Properties of the plan, on random DAGs: every unit is planned exactly once, every
    //! dependency is kept, and no unit waits for anything that is not its ancestor.

    use super::*;
    use crate::diag::Diagnostics;
    use crate::driver::{load_text, InputFormat};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// A net of `n` jobs `j0..`, edges `(from, to)` with `from < to`, and the OR-join units.
    fn project(n: usize, edges: &[(usize, usize)], or: &BTreeSet<usize>) -> Project {
        let mut y = String::from("version: 1\njobnets:\n  - name: n\n    units:\n");
        for j in 0..n {
            y.push_str(&format!("      - name: j{j}\n        type: noop\n"));
            let preds: Vec<String> = edges
                .iter()
                .filter(|e| e.1 == j)
                .map(|e| format!("j{}", e.0))
                .collect();
            if !preds.is_empty() {
                y.push_str(&format!("        after: [{}]\n", preds.join(", ")));
                if or.contains(&j) && preds.len() > 1 {
                    y.push_str("        join: or\n");
                }
            }
        }
        let mut p = Project::default();
        let mut d = Diagnostics::default();
        load_text(&mut p, "t.yaml", y.clone(), InputFormat::Spec, &mut d);
        assert!(!d.has_errors(), "{y}\n{:?}", d.items);
        p
    }

    /// What must have ended before each unit starts, according to the plan.
    pub(crate) struct Walk {
        pub children: Vec<Block>,
        pub before: HashMap<UnitId, HashSet<UnitId>>,
        pub arrivals: HashMap<(UnitId, UnitId), HashSet<UnitId>>,
        pub seen: Vec<UnitId>,
    }

    impl Walk {
        /// Returns the units finished when `b` has finished.
        pub fn block(&mut self, b: &Block, before: &HashSet<UnitId>) -> HashSet<UnitId> {
            match b {
                Block::Empty => before.clone(),
                Block::Child(n) => {
                    let body = self.children[*n].clone();
                    self.block(&body, before)
                }
                Block::Unit(u) => {
                    self.seen.push(*u);
                    self.before.insert(*u, before.clone());
                    let mut after = before.clone();
                    after.insert(*u);
                    after
                }
                Block::Arrive { join, from } => {
                    self.arrivals.insert((*join, *from), before.clone());
                    before.clone()
                }
                Block::Series(v) => {
                    let mut cur = before.clone();
                    for x in v {
                        cur = self.block(x, &cur);
                    }
                    cur
                }
                Block::Parallel(v) => {
                    let mut all = before.clone();
                    for x in v {
                        all.extend(self.block(x, before));
                    }
                    all
                }
            }
        }
    }

    fn check(n: usize, edges: &[(usize, usize)], or: &BTreeSet<usize>, approximate: bool) {
        check_split(n, edges, or, approximate, None);
    }

    /// With `budget`, the plan is also partitioned (one state per unit) under that many
    /// states per machine, and the same properties must hold across the child machines.
    fn check_split(
        n: usize,
        edges: &[(usize, usize)],
        or: &BTreeSet<usize>,
        approximate: bool,
        budget: Option<usize>,
    ) {
        let p = project(n, edges, or);
        let root = p.roots[0];
        let mut plan = plan(&p, root, Options { approximate });
        if let Some(states) = budget {
            let budgets = crate::passes::partition::Budgets {
                states,
                definition_bytes: usize::MAX / 4,
                history_events: u64::MAX / 4,
            };
            let unit = crate::passes::partition::Cost {
                states: 1,
                bytes: 10,
                events: 6,
                lines: 1,
            };
            crate::passes::partition::partition(
                &p,
                &mut plan,
                &budgets,
                &|u| p.units[u].name.clone(),
                &crate::passes::partition::Estimates {
                    unit: &|_| unit,
                    wrapped: &|_| false,
                    frame: crate::passes::partition::Cost::default(),
                },
            );
            if n + 4 > states {
                assert!(
                    !plan.children.is_empty(),
                    "{n} units under {states} states must split"
                );
            }
        }
        let np = &plan.nets[&root];
        let ids: Vec<UnitId> = p.children(root).to_vec();
        let unit_of = |u: UnitId| ids.iter().position(|&x| x == u).expect("child");
        let mut w = Walk {
            children: plan.children.iter().map(|c| c.body.clone()).collect(),
            before: HashMap::new(),
            arrivals: HashMap::new(),
            seen: Vec::new(),
        };
        w.block(&np.main, &HashSet::new());
        // Regions start once their arrivals are known; they may depend on each other.
        let mut pending: Vec<&Region> = np.regions.iter().collect();
        while !pending.is_empty() {
            let before_len = pending.len();
            pending.retain(|r| {
                let known: Option<Vec<&HashSet<UnitId>>> = r
                    .preds
                    .iter()
                    .map(|&pr| w.arrivals.get(&(r.join, pr)))
                    .collect();
                let Some(known) = known else { return true };
                let mut start = HashSet::new();
                for (k, &pr) in known.iter().zip(&r.preds) {
                    assert!(k.contains(&pr), "arrival of {pr:?} before it ended");
                    start.extend(k.iter().copied());
                }
                if r.kind == JoinKind::Or {
                    // Only one arrival is awaited: what is certain is their intersection.
                    let mut common: Option<HashSet<UnitId>> = None;
                    for k in &known {
                        common = Some(match common {
                            None => (*k).clone(),
                            Some(c) => c.intersection(k).copied().collect(),
                        });
                    }
                    start = common.unwrap_or_default();
                }
                w.block(&r.body, &start);
                false
            });
            assert!(
                pending.len() < before_len,
                "regions never start: {pending:?}"
            );
        }
        // Every unit exactly once.
        let mut seen = w.seen.clone();
        seen.sort();
        let mut all = ids.clone();
        all.sort();
        assert_eq!(seen, all, "each unit planned exactly once");
        // Ancestors in the DAG.
        let mut anc: Vec<HashSet<usize>> = vec![HashSet::new(); n];
        for j in 0..n {
            for &(a, b) in edges {
                if b == j {
                    let mut s = anc[a].clone();
                    s.insert(a);
                    anc[j].extend(s);
                }
            }
        }
        for (j, &u) in ids.iter().enumerate() {
            let before: HashSet<usize> = w.before[&u].iter().map(|&x| unit_of(x)).collect();
            let preds: Vec<usize> = edges.iter().filter(|e| e.1 == j).map(|e| e.0).collect();
            let is_or = or.contains(&j) && preds.len() > 1;
            if !is_or {
                for &pr in &preds {
                    assert!(
                        before.contains(&pr),
                        "j{j} may start before its predecessor j{pr}"
                    );
                }
            }
            if !approximate {
                for &x in &before {
                    assert!(anc[j].contains(&x), "j{j} waits for j{x}, not an ancestor");
                }
            }
        }
    }

    fn dag() -> impl Strategy<Value = (usize, Vec<(usize, usize)>, BTreeSet<usize>)> {
        (1usize..10).prop_flat_map(|n| {
            let pairs: Vec<(usize, usize)> =
                (0..n).flat_map(|b| (0..b).map(move |a| (a, b))).collect();
            let m = pairs.len();
            (
                Just(n),
                proptest::collection::vec(any::<bool>(), m).prop_map(move |keep| {
                    pairs
                        .iter()
                        .zip(keep)
                        .filter(|(_, k)| *k)
                        .map(|(e, _)| *e)
                        .collect::<Vec<_>>()
                }),
                proptest::collection::btree_set(0..n, 0..3),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn exact_plans_keep_every_dependency_and_add_none((n, edges, or) in dag()) {
            check(n, &edges, &or, false);
        }

        #[test]
        fn approximate_plans_keep_every_dependency((n, edges, or) in dag()) {
            check(n, &edges, &or, true);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn split_plans_keep_the_semantics((n, edges, or) in dag(), budget in 6usize..12) {
            check_split(n, &edges, &or, false, Some(budget));
        }
    }

    #[test]
    fn smallest_non_series_parallel_net_gets_one_region() {
        // A→C, A→D, B→D
        check(4, &[(0, 2), (0, 3), (1, 3)], &BTreeSet::new(), false);
        let p = project(4, &[(0, 2), (0, 3), (1, 3)], &BTreeSet::new());
        let root = p.roots[0];
        let np = &plan(&p, root, Options::default()).nets[&root];
        assert_eq!(np.regions.len(), 1);
        assert_eq!(p.units[np.regions[0].join].name, "j3");
    }

    #[test]
    fn series_parallel_net_needs_no_region() {
        let edges = [(0, 1), (0, 2), (1, 3), (2, 3)];
        let p = project(4, &edges, &BTreeSet::new());
        let root = p.roots[0];
        let np = &plan(&p, root, Options::default()).nets[&root];
        assert!(np.regions.is_empty());
        check(4, &edges, &BTreeSet::new(), false);
    }
}
