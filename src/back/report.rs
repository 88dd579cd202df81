//! The conversion report (`report.md`, `report.json`): what was generated for each jobnet,
//! how big it is, where every source unit went, and everything that is not exact.
//!
//! The JSON form is the machine-readable contract for CI (`--format json` prints it); the
//! Markdown form is rendered from the same data so the two never disagree.

use crate::back::asl::{Finding, FindingKind, JobnetOutput, JoinInfo, Role};
use crate::back::metrics::Metrics;
use crate::ir::Project;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Version of the report's JSON layout; bumped on incompatible changes.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub jobnets: Vec<JobnetReport>,
    pub totals: Totals,
    /// Per JP1 input file: what was mapped, approximated or unsupported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jp1: Vec<crate::front::jp1::Jp1Coverage>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub jobnets: usize,
    pub units: usize,
    pub machines: usize,
    pub states: usize,
    pub approximated: usize,
    pub not_yet_compiled: usize,
    pub unsupported: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobnetReport {
    pub name: String,
    pub path: String,
    /// Source file and line of the root jobnet.
    pub source: String,
    pub units: usize,
    pub machines: Vec<MachineReport>,
    /// Joins compiled with the exact-join mechanism (counter or claim in the run table).
    pub exact_joins: Vec<JoinInfo>,
    /// Unit path → generated state names.
    pub mapping: BTreeMap<String, Vec<String>>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MachineReport {
    pub name: String,
    pub role: Role,
    pub file: String,
    /// For a child machine: the budget that forced the split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_because: Option<String>,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// Path of a machine's definition inside the output directory.
pub fn machine_file(name: &str) -> String {
    format!("statemachines/{name}.asl.json")
}

/// Builds the report from the emitted outputs (sealed machines carry their figures). Their
/// unit → state mappings move into it: nothing else reads them, and copying them was a
/// serial fiftieth of a compile of many jobnets.
pub fn build(project: &Project, outputs: &mut [JobnetOutput]) -> Report {
    let mut totals = Totals::default();
    let mut jobnets = Vec::new();
    for out in outputs.iter_mut() {
        let root = &project.units[out.root];
        let span = root.span;
        let source = format!(
            "{}:{}",
            project.sources.get(span.file).path,
            span.line.max(1)
        );
        let units = project.descendants(out.root).len();
        let machines: Vec<MachineReport> = out
            .machines
            .iter()
            .map(|m| MachineReport {
                name: m.name.clone(),
                role: m.role,
                file: machine_file(&m.name),
                split_because: out.splits.get(&m.name).cloned(),
                metrics: m.metrics(),
            })
            .collect();
        totals.jobnets += 1;
        totals.units += units;
        totals.machines += machines.len();
        totals.states += machines.iter().map(|m| m.metrics.states).sum::<usize>();
        for f in &out.findings {
            match f.kind {
                FindingKind::Approximated => totals.approximated += 1,
                FindingKind::NotYetCompiled => totals.not_yet_compiled += 1,
                FindingKind::Unsupported => totals.unsupported += 1,
            }
        }
        let mut findings = out.findings.clone();
        findings.sort_by(|a, b| (a.kind, &a.unit, &a.what).cmp(&(b.kind, &b.unit, &b.what)));
        jobnets.push(JobnetReport {
            name: root.name.clone(),
            path: root.path.clone(),
            source,
            units,
            machines,
            exact_joins: out.joins.clone(),
            mapping: std::mem::take(&mut out.mapping),
            findings,
        });
    }
    Report {
        version: REPORT_VERSION,
        jobnets,
        totals,
        jp1: Vec::new(),
    }
}

/// Escapes a value for a Markdown table cell.
fn cell(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    push_cell(&mut o, s);
    o
}

/// Appends `s` escaped for a table cell (the mapping table has a row per unit: no
/// allocation per cell).
fn push_cell(o: &mut String, s: &str) {
    if !s.bytes().any(|b| b == b'|' || b == b'\n') {
        o.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '|' => o.push_str("\\|"),
            '\n' => o.push(' '),
            c => o.push(c),
        }
    }
}

/// Renders the report as Markdown (`report.md`).
pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let t = &r.totals;
    let _ = writeln!(o, "# jobnet2sfn conversion report\n");
    let _ = writeln!(
        o,
        "{} jobnet(s), {} unit(s) → {} state machine(s), {} state(s). Findings: {} approximated, {} not yet compiled, {} unsupported.\n",
        t.jobnets, t.units, t.machines, t.states, t.approximated, t.not_yet_compiled, t.unsupported
    );
    for j in &r.jobnets {
        let _ = writeln!(o, "## Jobnet `{}`\n", j.path);
        let _ = writeln!(o, "Source: `{}`. Units: {}.\n", j.source, j.units);
        let _ = writeln!(
            o,
            "| Machine | Role | States | Worst-case history events per run | Definition bytes | Split because of |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---:|---|");
        for m in &j.machines {
            let role = match m.role {
                Role::Root => "root",
                Role::Continuation => "continuation",
                Role::Child => "child",
                Role::Monitor => "monitor",
                Role::Recorder => "recorder",
            };
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} | {} |",
                m.name,
                role,
                m.metrics.states,
                m.metrics.history_events,
                m.metrics.definition_bytes,
                m.split_because.as_deref().unwrap_or("")
            );
        }
        o.push('\n');
        if j.exact_joins.is_empty() {
            let _ = writeln!(
                o,
                "Structure: series-parallel; every join is a nested Parallel state.\n"
            );
        } else {
            let _ = writeln!(
                o,
                "Joins that are not series-parallel run through the run table (the last arrival, or the first for an OR join, starts the continuation):\n"
            );
            let _ = writeln!(o, "| Join unit | Kind | Predecessors |");
            let _ = writeln!(o, "|---|---|---|");
            for jn in &j.exact_joins {
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} |",
                    cell(&jn.unit),
                    jn.kind,
                    cell(&jn.predecessors.join(", "))
                );
            }
            o.push('\n');
        }
        if !j.findings.is_empty() {
            let _ = writeln!(o, "### Findings\n");
            let _ = writeln!(o, "| Unit | Kind | What | What to do |");
            let _ = writeln!(o, "|---|---|---|---|");
            for f in &j.findings {
                let kind = match f.kind {
                    FindingKind::Approximated => "approximated",
                    FindingKind::NotYetCompiled => "not yet compiled",
                    FindingKind::Unsupported => "unsupported",
                };
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} | {} |",
                    cell(&f.unit),
                    kind,
                    cell(&f.what),
                    cell(&f.action)
                );
            }
            o.push('\n');
        }
        let _ = writeln!(o, "### Unit → state mapping\n");
        let _ = writeln!(o, "| Unit | States |");
        let _ = writeln!(o, "|---|---|");
        for (unit, states) in &j.mapping {
            o.push_str("| `");
            push_cell(&mut o, unit);
            o.push_str("` | ");
            for (i, state) in states.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                o.push('`');
                push_cell(&mut o, state);
                o.push('`');
            }
            o.push_str(" |\n");
        }
        o.push('\n');
    }
    for c in &r.jp1 {
        o.push_str(&crate::front::jp1::render_markdown(c));
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn empty_report_renders_totals() {
        let r = build(&Project::default(), &mut []);
        let md = markdown(&r);
        assert!(md.contains("0 jobnet(s)"), "{md}");
        assert_eq!(r.version, REPORT_VERSION);
    }
}
