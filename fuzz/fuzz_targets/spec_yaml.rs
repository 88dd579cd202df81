//! Arbitrary text through the spec YAML reader: the fast reader for plain spec YAML must
//! give exactly saphyr's tree, spans and errors (it hands anything else to saphyr), and the
//! spec front-end must load whatever comes out without panicking.
//!
//! `cargo +nightly fuzz run spec_yaml` (needs cargo-fuzz), or see fuzz/README.md.
#![no_main]

use jobnet2sfn::diag::{Diagnostics, FileId};
use jobnet2sfn::front::spec::{self, yaml};
use jobnet2sfn::ir::Project;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(
        yaml::parse(text, FileId(0)),
        yaml::parse_with_saphyr(text, FileId(0)),
        "{text:?}"
    );
    let mut project = Project::default();
    let file = project.sources.add("fuzz.yaml", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    spec::load(&mut project, file, &mut diags);
});
