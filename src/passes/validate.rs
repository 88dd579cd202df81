//! Whole-project validation: what no single front-end file can check alone.
//!
//! Cycles (printed in full), references across files (calendars, exclusive schedules,
//! cross-jobnet waits), duplicate root names, unknown job types, and the shape rules that
//! judgment and recovery units need. Every finding is collected; nothing stops early.

use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{Condition, EdgeKind, Project, UnitId, UnitKind};
use foldhash::{HashMap, HashMapExt, HashSet};
use std::collections::BTreeMap;

/// Validates the project. `job_types` are the names of the templates available.
pub fn validate(project: &Project, job_types: &[String], diags: &mut Diagnostics) {
    check_roots(project, diags);
    for &root in &project.roots {
        let rule_names: Vec<&str> = project.units[root]
            .as_net()
            .and_then(|n| n.schedule.as_ref())
            .map(|s| s.rules.iter().filter_map(|r| r.name.as_deref()).collect())
            .unwrap_or_default();
        for u in project.descendants(root) {
            let unit = &project.units[u];
            check_delay_rules(project, root, u, &rule_names, diags);
            if let UnitKind::Net(net) = &unit.kind {
                check_cycles(project, net.children.as_slice(), &net.edges, diags);
                check_shapes(project, u, diags);
                if let Some(c) = &net.calendar {
                    if project.calendar_by_name(&c.name).is_none() {
                        diags.push(
                            Diagnostic::error("E0207", format!("unknown calendar `{}`", c.name))
                                .at(c.span)
                                .hint(suggest(
                                    &c.name,
                                    project.calendars.iter().map(|(_, c)| c.name.as_str()),
                                )),
                        );
                    }
                }
                if let Some(s) = &net.schedule {
                    for other in &s.exclusive_with {
                        if !project
                            .roots
                            .iter()
                            .any(|&r| &project.units[r].name == other)
                        {
                            diags.push(
                                Diagnostic::error(
                                    "E0208",
                                    format!("exclusive schedule names unknown jobnet `{other}`"),
                                )
                                .at(s.span)
                                .hint(suggest(
                                    other,
                                    project
                                        .roots
                                        .iter()
                                        .map(|&r| project.units[r].name.as_str()),
                                )),
                            );
                        }
                    }
                }
            }
            match &unit.kind {
                // No job types at all means the templates failed to load (already reported).
                UnitKind::Job(job)
                    if !job_types.is_empty() && !job_types.iter().any(|t| t == &job.job_type) =>
                {
                    diags.push(
                            Diagnostic::error("E0211", format!("unknown job type `{}`", job.job_type))
                                .at(job.type_span)
                                .hint(format!(
                                    "{} known types: {}; add `{}.json.tera` to a --templates directory for a new one",
                                    suggest(&job.job_type, job_types.iter().map(String::as_str)),
                                    job_types.join(", "),
                                    job.job_type
                                )),
                        );
                }
                UnitKind::WaitFor(w) => {
                    let target = w.target.trim_start_matches('/');
                    let net = target.split('/').next().unwrap_or("");
                    if !project.roots.iter().any(|&r| {
                        project.units[r].name == net
                            || project.units[r].path.trim_start_matches('/') == target
                    }) {
                        diags.push(
                            Diagnostic::error(
                                "E0209",
                                format!("waits for unknown jobnet `{}`", w.target),
                            )
                            .at(w.span)
                            .hint(suggest(
                                net,
                                project
                                    .roots
                                    .iter()
                                    .map(|&r| project.units[r].name.as_str()),
                            )),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    check_calendars(project, diags);
}

/// A delay monitor for the runs of given schedule rules must name rules of its root's
/// schedule.
fn check_delay_rules(
    project: &Project,
    root: UnitId,
    u: UnitId,
    rule_names: &[&str],
    diags: &mut Diagnostics,
) {
    let unit = &project.units[u];
    for (key, monitors) in [
        ("start_delay", &unit.start_delay),
        ("end_delay", &unit.end_delay),
    ] {
        for m in monitors {
            for name in m.rules.iter().filter(|n| !rule_names.contains(&n.as_str())) {
                let hint = if rule_names.is_empty() {
                    format!(
                        "jobnet `{}` has no named schedule rules: give the rule a `name`",
                        project.units[root].name
                    )
                } else {
                    suggest(name, rule_names.iter().copied())
                };
                diags.push(
                    Diagnostic::error(
                        "E0212",
                        format!(
                            "`{key}` of `{}` names schedule rule `{name}`, which jobnet `{}` does not have",
                            unit.name, project.units[root].name
                        ),
                    )
                    .at(m.span)
                    .hint(hint),
                );
            }
        }
    }
}

fn check_roots(project: &Project, diags: &mut Diagnostics) {
    let mut seen: HashMap<String, (UnitId, String)> = HashMap::new();
    let mut names = crate::passes::naming::machine_names(project);
    for &r in &project.roots {
        let name = names.remove(&r).unwrap_or_default();
        let keys = crate::passes::naming::clash_keys(&name);
        let clash = keys.iter().find_map(|key| seen.get(key).cloned());
        if let Some((other, other_name)) = clash.as_ref() {
            let what = if *other_name == name {
                format!("the same machine name `{name}`")
            } else {
                format!("machine names `{other_name}` and `{name}`, which CloudFormation logical ids and case-insensitive file systems do not tell apart")
            };
            diags.push(
                Diagnostic::error(
                    "E0210",
                    format!(
                        "jobnets `{}` and `{}` get {what}",
                        project.units[*other].path, project.units[r].path
                    ),
                )
                .at(project.units[r].span)
                .hint("rename one: root jobnet names must stay distinct after sanitising to [A-Za-z0-9_-], in any case, and with `_` and `-` dropped"),
            );
        } else {
            // A machine name also names its CloudFormation resources (`a_b` and `aB` are
            // both `AB…`) and its files, which may land on a case-insensitive file system.
            for key in keys {
                seen.insert(key, (r, name.clone()));
            }
        }
    }
}

fn check_calendars(project: &Project, diags: &mut Diagnostics) {
    for (_, c) in project.calendars.iter() {
        if let Some(parent) = &c.inherits {
            if project.calendar_by_name(parent).is_none() {
                diags.push(
                    Diagnostic::error(
                        "E0207",
                        format!("calendar `{}` inherits unknown calendar `{parent}`", c.name),
                    )
                    .at(c.span)
                    .hint(suggest(
                        parent,
                        project.calendars.iter().map(|(_, c)| c.name.as_str()),
                    )),
                );
            }
        }
    }
}

/// Finds every cycle's strongly connected component and prints one cycle through it.
fn check_cycles(
    project: &Project,
    children: &[UnitId],
    edges: &[crate::ir::Edge],
    diags: &mut Diagnostics,
) {
    let idx: HashMap<UnitId, usize> = children.iter().enumerate().map(|(i, &u)| (u, i)).collect();
    let n = children.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in edges {
        if let (Some(&a), Some(&b)) = (idx.get(&e.from), idx.get(&e.to)) {
            succ[a].push(b);
        }
    }
    for comp in sccs(&succ) {
        let self_loop = comp.len() == 1 && succ[comp[0]].contains(&comp[0]);
        if comp.len() < 2 && !self_loop {
            continue;
        }
        let set: HashSet<usize> = comp.iter().copied().collect();
        let start = *comp.iter().min().expect("non-empty");
        // Walk inside the component until a unit repeats: that is a cycle.
        let mut path = vec![start];
        let mut on_path: HashMap<usize, usize> = HashMap::from_iter([(start, 0)]);
        let cycle = loop {
            let cur = *path.last().expect("path");
            let next = *succ[cur]
                .iter()
                .filter(|s| set.contains(s))
                .min()
                .expect("scc has an edge");
            if let Some(&at) = on_path.get(&next) {
                let mut c = path[at..].to_vec();
                c.push(next);
                break c;
            }
            on_path.insert(next, path.len());
            path.push(next);
        };
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| format!("`{}`", project.units[children[i]].name))
            .collect();
        let first = children[cycle[0]];
        diags.push(
            Diagnostic::error("E0202", format!("dependency cycle: {}", names.join(" -> ")))
                .at(project.units[first].span)
                .note(format!("in {}", project.units[first].parent.map_or("", |p| project.units[p].path.as_str())))
                .hint("a unit cannot (even indirectly) wait for itself; remove one of these dependencies"),
        );
    }
}

/// Tarjan's algorithm, iterative so that deep graphs cannot overflow the stack.
fn sccs(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    for s in 0..n {
        if index[s] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(s, 0)];
        index[s] = counter;
        low[s] = counter;
        counter += 1;
        stack.push(s);
        on_stack[s] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if *i < succ[v].len() {
                let w = succ[v][*i];
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p] = low[p].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    comp.sort_unstable();
                    out.push(comp);
                }
            }
        }
    }
    out.sort();
    out
}

/// Judgment, dependent and recovery units need particular shapes to mean what they say.
fn check_shapes(project: &Project, net_id: UnitId, diags: &mut Diagnostics) {
    let net = project.units[net_id].as_net().expect("net");
    let mut preds: BTreeMap<UnitId, Vec<&crate::ir::Edge>> = BTreeMap::new();
    for e in &net.edges {
        preds.entry(e.to).or_default().push(e);
    }
    for &c in &net.children {
        let unit = &project.units[c];
        let ps = preds.get(&c).map(Vec::as_slice).unwrap_or(&[]);
        let conditional: Vec<_> = ps
            .iter()
            .filter(|e| {
                e.kind == EdgeKind::Conditional
                    && matches!(project.units[e.from].kind, UnitKind::Judgment(_))
            })
            .collect();
        if !conditional.is_empty() && ps.len() > 1 {
            diags.push(
                Diagnostic::error("E0204", format!("`{}` depends on judgment `{}` and on other units", unit.name, project.units[conditional[0].from].name))
                    .at(unit.span)
                    .hint("a judgment's dependent unit must have no other predecessor; put further units after it instead"),
            );
        }
        if unit.recovery {
            if ps.len() != 1 {
                diags.push(
                    Diagnostic::error(
                        "E0205",
                        format!(
                            "recovery unit `{}` needs exactly one predecessor, found {}",
                            unit.name,
                            ps.len()
                        ),
                    )
                    .at(unit.span)
                    .hint("a recovery unit runs when the one unit before it ends abnormally"),
                );
            }
            for e in net.edges.iter().filter(|e| e.from == c) {
                if !project.units[e.to].recovery {
                    diags.push(
                        Diagnostic::error(
                            "E0205",
                            format!(
                                "recovery unit `{}` is followed by normal unit `{}`",
                                unit.name, project.units[e.to].name
                            ),
                        )
                        .at(e.span)
                        .hint("only recovery units may follow a recovery unit"),
                    );
                }
            }
        }
        if let UnitKind::Judgment(j) = &unit.kind {
            let needs_rc = matches!(
                j.condition,
                Condition::ReturnCode { .. } | Condition::ReturnCodeRange { .. }
            );
            if needs_rc {
                let normal: Vec<_> = ps.iter().filter(|e| e.kind == EdgeKind::Normal).collect();
                let ok = normal.len() == 1
                    && matches!(project.units[normal[0].from].kind, UnitKind::Job(_));
                if !ok {
                    diags.push(
                        Diagnostic::error("E0206", format!("judgment `{}` tests a return code but does not follow exactly one job", unit.name))
                            .at(unit.span)
                            .hint("make the job whose return code is judged the judgment's only predecessor"),
                    );
                }
            }
        }
    }
}

/// "did you mean" text from the closest candidate by edit distance.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(2))
        .min();
    match best {
        Some((_, c)) => format!("did you mean `{c}`?"),
        None => "check the spelling, or define it".to_string(),
    }
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sccs_find_cycles_only() {
        let succ = vec![vec![1], vec![2], vec![0], vec![0]];
        let c = sccs(&succ);
        assert!(c.contains(&vec![0, 1, 2]));
        assert!(c.contains(&vec![3]));
    }

    #[test]
    fn root_names_that_merge_in_resources_or_files_are_errors() {
        let errors = |a: &str, b: &str| {
            let mut project = Project::default();
            let mut diags = Diagnostics::default();
            let spec = format!(
                "version: 1\njobnets:\n  - name: {a}\n    units: [{{name: j, type: noop}}]\n  - name: {b}\n    units: [{{name: j, type: noop}}]\n"
            );
            crate::driver::load_text(
                &mut project,
                "r.yaml",
                spec,
                crate::driver::InputFormat::Spec,
                &mut diags,
            );
            validate(&project, &["noop".to_string()], &mut diags);
            diags.items.iter().filter(|d| d.code == "E0210").count()
        };
        // Same logical id (`AB`), same file name but for case, and distinct names.
        assert_eq!(errors("a_b", "aB"), 1);
        assert_eq!(errors("Daily", "daily"), 1);
        assert_eq!(errors("daily", "nightly"), 0);
        assert_eq!(
            errors("ab", "a_b"),
            0,
            "`Ab` and `AB`, `ab` and `a_b`: no clash"
        );
    }

    #[test]
    fn suggestions_use_edit_distance() {
        assert_eq!(
            suggest("extrct", ["extract", "load"].into_iter()),
            "did you mean `extract`?"
        );
        assert_eq!(
            suggest("zzz", ["extract"].into_iter()),
            "check the spelling, or define it"
        );
    }
}
