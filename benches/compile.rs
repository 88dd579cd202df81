//! Compile time of large jobnet specs (load, validate, plan, emit, CloudFormation, report).
//! Run with `cargo bench --bench compile`; figures go to BENCHMARKS.md.

use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::driver::{compile, load_text, CompileOptions, InputFormat};
use jobnet2sfn::ir::Project;
use jobnet2sfn::synth::{spec, Shape};

/// Same allocator as the binary, so figures match what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 5)]
fn load_and_compile(bencher: divan::Bencher, jobs: usize) {
    let text = spec("bench", Shape::with_jobs(jobs));
    bencher.bench(|| {
        let mut project = Project::default();
        let mut diags = Diagnostics::default();
        load_text(
            &mut project,
            "bench.yaml",
            text.clone(),
            InputFormat::Spec,
            &mut diags,
        );
        let out = compile(&project, &CompileOptions::default(), &mut diags);
        assert!(out.is_some(), "{:?}", diags.items.first());
        out
    });
}
