//! The business-day Lambda answers the shared vectors like the engine does: the compiler
//! writes the vectors' calendar data files, and tests/lambda_vectors.py loads them into a
//! moto DynamoDB table and asks the Lambda handler (Python, from the test virtualenv).

use jobnet2sfn::back::schedule::calendar_items;
use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::front::spec::load;
use jobnet2sfn::ir::Project;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("JOBNET2SFN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let python = venv.join("bin").join("python");
    assert!(
        python.exists(),
        "no Python test virtualenv at {}: run scripts/test.sh (it installs requirements-test.txt \
         into .venv) or set JOBNET2SFN_VENV",
        venv.display()
    );
    python
}

#[test]
fn lambda_answers_every_vector() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vectors = root.join("tests/calendar_vectors.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&vectors).expect("vectors")).expect("JSON");
    let spec = json!({"version": 1, "calendars": doc["calendars"], "jobnets": []});
    let mut p = Project::default();
    let file = p.sources.add("vectors.json", spec.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut p, file, &mut diags);
    let years = doc["years"][0].as_i64().unwrap() as i32..=doc["years"][1].as_i64().unwrap() as i32;
    let files = calendar_items(&p, years, &mut diags);
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    assert_eq!(files.len(), 3);
    let dir = std::env::temp_dir().join(format!("jobnet2sfn-lambda-{}", std::process::id()));
    for (name, content) in &files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content.to_string()).unwrap();
    }
    let out = Command::new(venv_python())
        .arg(root.join("tests/lambda_vectors.py"))
        .arg(&dir)
        .arg(&vectors)
        .output()
        .expect("run python");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "lambda vectors failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
