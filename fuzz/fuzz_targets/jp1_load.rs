//! Arbitrary bytes through the JP1 front-end: decode, parse, lower, coverage, spec export,
//! then validation and structure planning. Any panic is a bug.
//!
//! `cargo +nightly fuzz run jp1_load` (needs cargo-fuzz), or see fuzz/README.md.
#![no_main]

use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::front::jp1;
use jobnet2sfn::ir::Project;
use jobnet2sfn::passes::{structure, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    let opts = jp1::LoadOptions::default();
    let Some(file) = jp1::load_bytes(&mut project, "fuzz.ajs", data, None, &opts, &mut diags)
    else {
        assert!(diags.has_errors());
        return;
    };
    let _ = jp1::looks_like_jp1(&project.sources.get(file).text);
    let cov = jp1::coverage(&project, file);
    let _ = jp1::render_markdown(&cov);
    let _ = jp1::to_spec_yaml(&project, &project.roots);
    let mut vd = Diagnostics::default();
    validate::validate(&project, &["ecs".into(), "ecs-windows".into()], &mut vd);
    if !vd.has_errors() {
        for &root in &project.roots {
            structure::plan(&project, root, structure::Options::default());
        }
    }
});
