//! Diagnostics of the spec front-end: one test per error kind, with code and position.

use super::load;
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::*;

fn run(text: &str) -> (Project, Diagnostics) {
    let mut project = Project::default();
    let file = project.sources.add("t.yaml", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut project, file, &mut diags);
    (project, diags)
}

#[test]
fn minimal_spec_loads() {
    let (p, d) = run("version: 1\njobnets:\n  - name: a\n    units:\n      - {name: x, type: noop}\n");
    assert!(d.items.is_empty(), "{:?}", d.items.iter().map(|d: &Diagnostic| &d.message).collect::<Vec<_>>());
    assert_eq!(p.roots.len(), 1);
}
