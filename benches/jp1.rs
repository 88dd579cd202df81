//! Parse + lower of a generated 100,000-unit ajsprint file (`cargo bench --bench jp1`).
//!
//! The file is one job group with 100 root jobnets of 999 jobs each (100,101 units): chains
//! with a fan-out every ten jobs, Japanese job names, typical job parameters, a calendar
//! and schedule rules.

use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::front::jp1;
use jobnet2sfn::ir::Project;
use std::fmt::Write as _;
use std::sync::LazyLock;

const NETS: usize = 100;
const JOBS: usize = 999;

static TEXT: LazyLock<String> = LazyLock::new(|| {
    let mut s = String::with_capacity(NETS * JOBS * 200);
    s.push_str("unit=bench_grp,,jp1admin,;\n{\n\tty=g;\n\top=mo;\n\tcl=su;\n\tstt=05:00;\n");
    for n in 0..NETS {
        let _ = write!(
            s,
            "\tunit=net{n:03},,jp1admin,;\n\t{{\n\t\tty=n;\n\t\tsd=1,*1;\n\t\tcy=1,(1,m);\n\t\tst=1,+02:30;\n\t\tsh=1,af;\n"
        );
        for j in 1..JOBS {
            let from = if j % 10 == 0 { j - 10 } else { j - 1 };
            let _ = writeln!(s, "\t\tar=(f=ジョブ{from:04},t=ジョブ{j:04},seq);");
        }
        for j in 0..JOBS {
            let _ = write!(
                s,
                "\t\tunit=ジョブ{j:04},,jp1admin,;\n\t\t{{\n\t\t\tty=j;\n\t\t\tsc=\"/opt/batch/run{j}.sh\";\n\t\t\tprm=\"--date ${{DATE}} --part {j}\";\n\t\t\tenv=\"PART={j}\";\n\t\t\twth=1;\n\t\t\ttho=8;\n\t\t\tetm=120;\n\t\t}}\n"
            );
        }
        s.push_str("\t}\n");
    }
    s.push_str("}\n");
    s
});

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
