//! Parse + lower of a generated 100,000-unit ajsprint file (`cargo bench --bench jp1`).
//!
//! The file is one job group with 100 root jobnets of 999 jobs each (100,101 units): chains
//! with a fan-out every ten jobs, Japanese job names, typical job parameters, a calendar
//! and schedule rules.

use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::front::jp1;
use jobnet2sfn::ir::Project;
use std::sync::LazyLock;

const NETS: usize = 100;
const JOBS: usize = 999;

static TEXT: LazyLock<String> = LazyLock::new(|| jobnet2sfn::synth::jp1(NETS, JOBS));

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 10)]
fn parse_and_lower_100k_units(bencher: divan::Bencher) {
    let text: &str = &TEXT;
    bencher
        .with_inputs(|| {
            let mut p = Project::default();
            let f = p.sources.add("bench.ajs", text.to_string(), "utf-8");
            (p, f)
        })
        .bench_values(|(mut p, f)| {
            let mut d = Diagnostics::default();
            jp1::load(&mut p, f, &mut d);
            assert_eq!(p.units.len(), NETS * (JOBS + 1));
            assert!(!d.has_errors());
            p
        });
}

/// The same file in CP932 (Japanese unit names), found by auto-detection.
#[divan::bench(sample_count = 10)]
fn decode_cp932(bencher: divan::Bencher) {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&TEXT);
    let bytes = bytes.into_owned();
    bencher.bench(|| {
        let (text, enc) = jp1::decode(&bytes, None).expect("decodes");
        assert_eq!(enc, jp1::Encoding::Cp932);
        text.len()
    });
}
