//! `jobnet2sfn graph`: Mermaid and DOT drawings of a jobnet as written (units, nested nets,
//! dependencies) and as generated (the states and transitions of each machine).
//!
//! Node ids are positional (`u12`, `s3`), labels carry the names, so Japanese names and
//! punctuation never break the graph syntax and the output is stable across runs.

use crate::ir::{EdgeKind, JoinKind, Project, UnitId, UnitKind};
use serde_json::Value;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

fn esc_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn esc_mermaid(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn unit_label(project: &Project, u: UnitId) -> String {
    let unit = &project.units[u];
    let mut label = unit.name.clone();
    match &unit.kind {
        UnitKind::Job(j) => label.push_str(&format!(" [{}]", j.job_type)),
        UnitKind::Judgment(_) => label.push_str(" [judgment]"),
        UnitKind::Net(_) => {}
        other => label.push_str(&format!(" [{}]", other.label())),
    }
    if unit.join == JoinKind::Or {
        label.push_str(" (OR)");
    }
    if unit.recovery {
        label.push_str(" (recovery)");
    }
    label
}

/// First leaf below `u` (or `u` itself): DOT edges touching a cluster attach to it.
fn anchor(project: &Project, u: UnitId) -> UnitId {
    let mut cur = u;
    loop {
        match project.units[cur].as_net().and_then(|n| n.children.first()) {
            Some(&c) => cur = c,
            None => return cur,
        }
    }
}

/// Draws the source structure of root jobnet `root`.
pub fn source(project: &Project, root: UnitId, format: GraphFormat) -> String {
    let mut o = String::new();
    match format {
        GraphFormat::Mermaid => {
            let _ = writeln!(o, "flowchart TD");
            mermaid_net(project, root, 1, &mut o);
        }
        GraphFormat::Dot => {
            let _ = writeln!(
                o,
                "digraph \"{}\" {{\n  compound=true;\n  rankdir=TB;\n  node [shape=box, fontname=\"sans-serif\"];",
                esc_dot(&project.units[root].name)
            );
            dot_net(project, root, 1, &mut o);
            o.push_str("}\n");
        }
    }
    o
}

fn mermaid_net(project: &Project, net: UnitId, depth: usize, o: &mut String) {
    let pad = "  ".repeat(depth);
    let label = esc_mermaid(&unit_label(project, net));
    let _ = writeln!(o, "{pad}subgraph u{}[\"{label}\"]", net.index());
    let Some(n) = project.units[net].as_net() else {
        return;
    };
    for &c in &n.children {
        if project.units[c].as_net().is_some() {
            mermaid_net(project, c, depth + 1, o);
        } else {
            let l = esc_mermaid(&unit_label(project, c));
            let shape = match project.units[c].kind {
                UnitKind::Judgment(_) => format!("{{\"{l}\"}}"),
                _ if project.units[c].recovery => format!("[/\"{l}\"/]"),
                _ => format!("[\"{l}\"]"),
            };
            let _ = writeln!(o, "{pad}  u{}{shape}", c.index());
        }
    }
    for e in &n.edges {
        let arrow = match e.kind {
            EdgeKind::Normal if project.units[e.to].recovery => " -. on abnormal end .-> ",
            EdgeKind::Normal => " --> ",
            EdgeKind::Conditional => " -- then --> ",
        };
        let _ = writeln!(o, "{pad}  u{}{arrow}u{}", e.from.index(), e.to.index());
    }
    let _ = writeln!(o, "{pad}end");
}

fn dot_net(project: &Project, net: UnitId, depth: usize, o: &mut String) {
    let pad = "  ".repeat(depth);
    let Some(n) = project.units[net].as_net() else {
        return;
    };
    let _ = writeln!(
        o,
        "{pad}subgraph cluster_u{} {{\n{pad}  label=\"{}\";",
        net.index(),
        esc_dot(&unit_label(project, net))
    );
    if n.children.is_empty() {
        let _ = writeln!(
            o,
            "{pad}  u{} [label=\"(empty)\", shape=plaintext];",
            net.index()
        );
    }
    for &c in &n.children {
        if project.units[c].as_net().is_some() {
            dot_net(project, c, depth + 1, o);
        } else {
            let shape = match project.units[c].kind {
                UnitKind::Judgment(_) => "diamond",
                UnitKind::Wait(_)
                | UnitKind::FileWait(_)
                | UnitKind::WaitFor(_)
                | UnitKind::EventWait(_) => "hexagon",
                UnitKind::NoOp => "ellipse",
                _ => "box",
            };
            let style = if project.units[c].recovery {
                ", style=dashed"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "{pad}  u{} [label=\"{}\", shape={shape}{style}];",
                c.index(),
                esc_dot(&unit_label(project, c))
            );
        }
    }
    for e in &n.edges {
        let (from, to) = (anchor(project, e.from), anchor(project, e.to));
        let mut attrs = Vec::new();
        if project.units[e.from].as_net().is_some() {
            attrs.push(format!("ltail=cluster_u{}", e.from.index()));
        }
        if project.units[e.to].as_net().is_some() {
            attrs.push(format!("lhead=cluster_u{}", e.to.index()));
        }
        if e.kind == EdgeKind::Conditional {
            attrs.push("label=\"then\"".into());
        }
        if project.units[e.to].recovery {
            attrs.push("style=dashed, label=\"on abnormal end\"".into());
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(o, "{pad}  u{} -> u{}{attrs};", from.index(), to.index());
    }
    let _ = writeln!(o, "{pad}}}");
}

/// Draws the states of one generated machine definition.
pub fn generated(name: &str, definition: &Value, format: GraphFormat) -> String {
    let mut g = Gen {
        format,
        out: String::new(),
        next_id: 0,
    };
    match format {
        GraphFormat::Mermaid => {
            let _ = writeln!(g.out, "flowchart TD");
            let _ = writeln!(g.out, "  %% state machine {name}");
            g.machine(definition, 1);
        }
        GraphFormat::Dot => {
            let _ = writeln!(
                g.out,
                "digraph \"{}\" {{\n  node [shape=box, fontname=\"sans-serif\"];",
                esc_dot(name)
            );
            g.machine(definition, 1);
            g.out.push_str("}\n");
        }
    }
    g.out
}

struct Gen {
    format: GraphFormat,
    out: String,
    next_id: usize,
}

impl Gen {
    /// Emits the states of one (sub-)machine; returns the node id of its StartAt state.
    fn machine(&mut self, def: &Value, depth: usize) -> Option<String> {
        let states = def.get("States")?.as_object()?;
        let pad = "  ".repeat(depth);
        let base = self.next_id;
        self.next_id += states.len();
        let id_of = |name: &str| -> Option<String> {
            states
                .keys()
                .position(|k| k == name)
                .map(|i| format!("s{}", base + i))
        };
        for (i, (sname, state)) in states.iter().enumerate() {
            let id = format!("s{}", base + i);
            let ty = state.get("Type").and_then(Value::as_str).unwrap_or("?");
            let label = format!("{sname} ({ty})");
            if ty == "Parallel" {
                self.open_group(&id, &label, &pad);
                for (bi, b) in state
                    .get("Branches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let bid = format!("{id}_b{bi}");
                    self.open_group(&bid, &format!("branch {bi}"), &format!("{pad}  "));
                    self.machine(b, depth + 2);
                    self.close_group(&format!("{pad}  "));
                }
                self.close_group(&pad);
            } else {
                self.node(&id, &label, ty, &pad);
            }
        }
        for (i, state) in states.values().enumerate() {
            let id = format!("s{}", base + i);
            let mut targets: Vec<(String, Option<String>)> = Vec::new();
            if let Some(n) = state.get("Next").and_then(Value::as_str) {
                targets.push((n.to_string(), None));
            }
            if let Some(n) = state.get("Default").and_then(Value::as_str) {
                targets.push((n.to_string(), Some("default".into())));
            }
            for c in state
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = c.get("Next").and_then(Value::as_str) {
                    targets.push((n.to_string(), Some("choice".into())));
                }
            }
            for c in state
                .get("Catch")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = c.get("Next").and_then(Value::as_str) {
                    targets.push((n.to_string(), Some("catch".into())));
                }
            }
            for (t, label) in targets {
                if let Some(tid) = id_of(&t) {
                    self.edge(&id, &tid, label.as_deref(), &pad);
                }
            }
        }
        def.get("StartAt").and_then(Value::as_str).and_then(id_of)
    }

    fn node(&mut self, id: &str, label: &str, ty: &str, pad: &str) {
        match self.format {
            GraphFormat::Mermaid => {
                let l = esc_mermaid(label);
                let shape = match ty {
                    "Choice" => format!("{{\"{l}\"}}"),
                    "Succeed" | "Fail" => format!("([\"{l}\"])"),
                    _ => format!("[\"{l}\"]"),
                };
                let _ = writeln!(self.out, "{pad}{id}{shape}");
            }
            GraphFormat::Dot => {
                let shape = match ty {
                    "Choice" => "diamond",
                    "Succeed" | "Fail" => "doublecircle",
                    "Pass" => "ellipse",
                    _ => "box",
                };
                let _ = writeln!(
                    self.out,
                    "{pad}{id} [label=\"{}\", shape={shape}];",
                    esc_dot(label)
                );
            }
        }
    }

    fn open_group(&mut self, id: &str, label: &str, pad: &str) {
        match self.format {
            GraphFormat::Mermaid => {
                let _ = writeln!(self.out, "{pad}subgraph {id}[\"{}\"]", esc_mermaid(label));
            }
            GraphFormat::Dot => {
                let _ = writeln!(
                    self.out,
                    "{pad}subgraph cluster_{id} {{\n{pad}  label=\"{}\";",
                    esc_dot(label)
                );
            }
        }
    }

    fn close_group(&mut self, pad: &str) {
        match self.format {
            GraphFormat::Mermaid => {
                let _ = writeln!(self.out, "{pad}end");
            }
            GraphFormat::Dot => {
                let _ = writeln!(self.out, "{pad}}}");
            }
        }
    }

    fn edge(&mut self, from: &str, to: &str, label: Option<&str>, pad: &str) {
        match (self.format, label) {
            (GraphFormat::Mermaid, None) => {
                let _ = writeln!(self.out, "{pad}{from} --> {to}");
            }
            (GraphFormat::Mermaid, Some(l)) => {
                let _ = writeln!(self.out, "{pad}{from} -- {l} --> {to}");
            }
            (GraphFormat::Dot, None) => {
                let _ = writeln!(self.out, "{pad}{from} -> {to};");
            }
            (GraphFormat::Dot, Some(l)) => {
                let _ = writeln!(self.out, "{pad}{from} -> {to} [label=\"{l}\"];");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_graph_has_every_transition() {
        let def = json!({"StartAt": "a", "States": {
            "a": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "b"}], "Default": "c"},
            "b": {"Type": "Pass", "Next": "c"},
            "c": {"Type": "Succeed"}
        }});
        let m = generated("m", &def, GraphFormat::Mermaid);
        assert!(m.contains("s0 -- choice --> s1"), "{m}");
        assert!(m.contains("s0 -- default --> s2"), "{m}");
        assert!(m.contains("s1 --> s2"), "{m}");
        let d = generated("m", &def, GraphFormat::Dot);
        assert!(d.contains("s1 -> s2;"), "{d}");
        assert!(d.contains("shape=diamond"), "{d}");
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(esc_dot("a\"b"), "a\\\"b");
        assert_eq!(esc_mermaid("a\"b"), "a#quot;b");
    }
}
