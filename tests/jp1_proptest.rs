//! Random bytes, random token soup and mutated corpus files never make the JP1 front-end
//! (decode, parse, lower, coverage, spec export) or the passes after it panic.

use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::front::jp1;
use jobnet2sfn::ir::Project;
use jobnet2sfn::passes::{structure, validate};
use proptest::prelude::*;

fn run(bytes: &[u8]) {
    let mut project = Project::default();
    let mut diags = Diagnostics::default();
    let Some(file) = jp1::load_bytes(
        &mut project,
        "fuzz.ajs",
        bytes,
        None,
        &jp1::LoadOptions::default(),
        &mut diags,
    ) else {
        assert!(diags.has_errors(), "undecodable input must be reported");
        return;
    };
    let text = &project.sources.get(file).text;
    let _ = jp1::looks_like_jp1(text);
    let cov = jp1::coverage(&project, file);
    let _ = jp1::render_markdown(&cov);
    let _ = jp1::to_spec_yaml(&project, &project.roots);
    for d in &diags.items {
        if let Some(s) = d.span {
            assert!(s.line >= 1 && s.col >= 1, "{d:?}");
        }
    }
    let mut vd = Diagnostics::default();
    validate::validate(
        &project,
        &["ecs".to_string(), "ecs-windows".to_string()],
        &mut vd,
    );
    if !vd.has_errors() {
        for &root in &project.roots {
            structure::plan(&project, root, structure::Options::default());
        }
    }
}

const PIECES: &[&str] = &[
    "unit=",
    "a",
    "b",
    "ジョブ",
    ",,,;",
    "{",
    "}",
    ";",
    ",",
    "(",
    ")",
    "=",
    "\"",
    "#\"",
    "##",
    "/*",
    "*/",
    "\n",
    " ",
    "ty=",
    "n",
    "j",
    "pj",
    "rj",
    "jdj",
    "orj",
    "rc",
    "nc",
    "tmwj",
    "g",
    "ar=(f=a,t=b)",
    "ar=(f=b,t=a,con)",
    "sd=1,",
    "en",
    "*1",
    "b-2",
    "2024/02/30",
    "st=1,+25:00",
    "cy=1,(2,d)",
    "sh=1,be",
    "shd=1,99999999999",
    "cftd=1,af,2,3",
    "ej=ri",
    "ejl=5",
    "ejh=1",
    "abr=y",
    "rec=-1",
    "rei=99999999999",
    "etm=0",
    "wth=5",
    "tho=1",
    "eun=/x/y",
    "ncn=",
    "op=mo",
    "cl=2020/13/01",
    "stt=47:59",
    "sy=M",
    "ey=C99999999999",
    "tmitv=0",
    "te=\"x\"",
    "env=\"=\"",
    "cond=or",
    "jd=exf",
    "ha=w",
    "mp=y",
    ".CONDITION",
    "flwf=\"s3://b/k\"",
    "flwj",
    "evwj",
    "flwc=c:d",
    "flwc=s:m",
    "flwc=d:d",
    "flwc=m",
    "flco=y",
    "flco=n",
    "flwf=\"/data/*.csv\"",
    "flwf=\"s3://b/${X}.csv\"",
    "?AJS2X?",
    "prm=\"?AJS2A.B?",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..200).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        run(&bytes);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        run(text.as_bytes());
    }

    #[test]
    fn token_soup_never_panics(text in soup()) {
        run(text.as_bytes());
    }

    #[test]
    fn mutated_corpus_never_panics(
        cut in 0usize..7000,
        len in 0usize..50,
        insert in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/jp1/01_kittybbit_sample1_original.cp932.ajs");
        let mut bytes = std::fs::read(path).unwrap();
        let at = cut.min(bytes.len());
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, insert);
        run(&bytes);
    }
}

/// Inputs that once made the front-end panic (found by `fuzz/`), kept as regressions.
#[test]
fn fuzz_regressions_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jp1_fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        run(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 1);
}
