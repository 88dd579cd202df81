//! Synthetic jobnet specs of any size, shaped like real nightly batches: stages run one
//! after another, each stage fans out into parallel chains of jobs, and every few stages a
//! nested jobnet groups the work. Used by the benchmarks and the scale tests so that both
//! measure the same, realistic input.

use std::fmt::Write as _;

/// Shape of a synthetic net.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Total number of jobs.
    pub jobs: usize,
    /// Jobs per chain.
    pub chain: usize,
    /// Parallel chains per stage.
    pub width: usize,
    /// Every n-th stage is wrapped in a nested jobnet (0: never).
    pub nest_every: usize,
}

impl Shape {
    pub fn with_jobs(jobs: usize) -> Shape {
        Shape {
            jobs,
            chain: 5,
            width: 8,
            nest_every: 3,
        }
    }
}

/// Writes a spec with one root jobnet `name` of the given shape.
pub fn spec(name: &str, shape: Shape) -> String {
    let chain = shape.chain.max(1);
    let width = shape.width.max(1);
    let per_stage = chain * width;
    let stages = shape.jobs.div_ceil(per_stage).max(1);
    let mut o = String::with_capacity(shape.jobs * 90);
    let _ = writeln!(o, "version: 1\njobnets:\n  - name: {name}\n    units:");
    let mut made = 0;
    let mut prev_stage: Option<String> = None;
    for s in 0..stages {
        let nested = shape.nest_every > 0 && s % shape.nest_every == 0;
        let stage = format!("stage{s:05}");
        let ind = if nested { "          " } else { "      " };
        if nested {
            let _ = writeln!(o, "      - name: {stage}");
            if let Some(p) = &prev_stage {
                let _ = writeln!(o, "        after: [{p}]");
            }
            let _ = writeln!(o, "        units:");
        }
        // Stage entry and exit points, so stages join cleanly.
        let gate = format!("{stage}_in");
        let _ = writeln!(o, "{ind}- name: {gate}\n{ind}  type: noop");
        if let (false, Some(p)) = (nested, &prev_stage) {
            let _ = writeln!(o, "{ind}  after: [{p}]");
        }
        let mut tails = Vec::new();
        for w in 0..width {
            let mut prev = gate.clone();
            for c in 0..chain {
                if made >= shape.jobs {
                    break;
                }
                let job = format!("{stage}_b{w:02}_j{c:02}");
                let _ = writeln!(
                    o,
                    "{ind}- name: {job}\n{ind}  type: lambda\n{ind}  after: [{prev}]\n{ind}  params: {{function: \"${{JobFunctionArn}}\", payload: {{step: {made}}}}}\n{ind}  retry: {{attempts: 2, interval_seconds: 60}}"
                );
                made += 1;
                prev = job;
            }
            if prev != gate {
                tails.push(prev);
            }
        }
        let out = format!("{stage}_out");
        if tails.is_empty() {
            tails.push(gate);
        }
        let _ = writeln!(
            o,
            "{ind}- name: {out}\n{ind}  type: noop\n{ind}  after: [{}]",
            tails.join(", ")
        );
        prev_stage = Some(if nested { stage } else { out });
    }
    o
}

/// An ajsprint export of one job group with `nets` root jobnets of `jobs` jobs each:
/// chains with a fan-out every ten jobs, Japanese job names, typical job parameters, a
/// calendar and schedule rules (the JP1 benchmark input; `synth --jp1-nets`).
pub fn jp1(nets: usize, jobs: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(nets * jobs * 200);
    s.push_str("unit=bench_grp,,jp1admin,;\n{\n\tty=g;\n\top=mo;\n\tcl=su;\n\tstt=05:00;\n");
    for n in 0..nets {
        let _ = write!(
            s,
            "\tunit=net{n:03},,jp1admin,;\n\t{{\n\t\tty=n;\n\t\tsd=1,*1;\n\t\tcy=1,(1,m);\n\t\tst=1,+02:30;\n\t\tsh=1,af;\n"
        );
        for j in 1..jobs {
            let from = if j % 10 == 0 { j - 10 } else { j - 1 };
            let _ = writeln!(s, "\t\tar=(f=ジョブ{from:04},t=ジョブ{j:04},seq);");
        }
        for j in 0..jobs {
            let _ = write!(
                s,
                "\t\tunit=ジョブ{j:04},,jp1admin,;\n\t\t{{\n\t\t\tty=j;\n\t\t\tsc=\"/opt/batch/run{j}.sh\";\n\t\t\tprm=\"--date ${{DATE}} --part {j}\";\n\t\t\tenv=\"PART={j}\";\n\t\t\twth=1;\n\t\t\ttho=8;\n\t\t\tetm=120;\n\t\t}}\n"
            );
        }
        s.push_str("\t}\n");
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::driver::{compile, load_text, CompileOptions, InputFormat};
    use crate::ir::{Project, UnitKind};

    #[test]
    fn jp1_export_compiles_with_the_requested_units() {
        let mut p = Project::default();
        let mut d = Diagnostics::default();
        load_text(&mut p, "b.ajs", jp1(2, 12), InputFormat::Jp1, &mut d);
        assert!(!d.has_errors(), "{:?}", d.items);
        assert_eq!(p.roots.len(), 2);
        assert_eq!(p.descendants(p.roots[0]).len(), 13);
        let c = compile(&p, &CompileOptions::default(), &mut d).expect("compiles");
        assert_eq!(c.report.totals.jobnets, 2);
    }

    #[test]
    fn synthetic_spec_loads_with_the_requested_job_count() {
        let text = spec("big", Shape::with_jobs(137));
        let mut p = Project::default();
        let mut d = Diagnostics::default();
        load_text(&mut p, "big.yaml", text, InputFormat::Spec, &mut d);
        assert!(!d.has_errors(), "{:?}", d.items);
        let lambdas = p
            .units
            .iter()
            .filter(|(_, u)| matches!(&u.kind, UnitKind::Job(j) if j.job_type == "lambda"))
            .count();
        assert_eq!(lambdas, 137);
        assert!(compile(&p, &CompileOptions::default(), &mut d).is_some());
    }
}
