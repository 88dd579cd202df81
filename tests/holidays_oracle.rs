//! Compares every computed Japanese holiday of 1955–2099 with the PyPI package `jpholiday`
//! (requirements-test.txt), run from the project's test virtualenv.

use jobnet2sfn::calendar::holidays::{holidays_between, FIRST_YEAR, LAST_YEAR};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// Where `jpholiday` and `moto` live: `$JOBNET2SFN_VENV` or `./.venv`.
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

/// Why the package and the law disagree on `day` (ours follow the law), if they may.
fn known_difference(day: &str) -> Option<&'static str> {
    let year: i32 = day[..4].parse().ok()?;
    if day == "1973-02-12" {
        return Some(
            "jpholiday applies substitute holidays from 1973-01-01; the law took effect on 1973-04-12",
        );
    }
    (day.ends_with("-05-04") && year < 1986).then_some(
        "jpholiday makes citizens' holidays in any year; the rule exists since 1985-12-27",
    )
}

#[test]
fn every_holiday_matches_jpholiday() {
    let script = format!(
        "import jpholiday, datetime\n\
         for y in range({FIRST_YEAR}, {LAST_YEAR} + 1):\n\
         \x20   for d, n in jpholiday.year_holidays(y):\n\
         \x20       print(d.isoformat() + '\\t' + n)\n"
    );
    let out = Command::new(venv_python())
        .args(["-c", &script])
        .output()
        .expect("run the virtualenv's python");
    assert!(
        out.status.success(),
        "jpholiday dump failed (run scripts/test.sh to install it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeMap<String, String> = String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(d, n)| (d.to_string(), n.to_string()))
        .collect();
    assert!(
        theirs.len() > 2000,
        "suspiciously few holidays from jpholiday: {}",
        theirs.len()
    );
    let from = chrono::NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).unwrap();
    let ours: BTreeMap<String, String> = holidays_between(from, to)
        .into_iter()
        .map(|h| (h.date.to_string(), h.name))
        .collect();
    let mut diffs = Vec::new();
    for day in theirs
        .keys()
        .chain(ours.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (ours.get(day), theirs.get(day));
        if a != b && known_difference(day).is_none() {
            diffs.push(format!("{day}: ours {a:?}, jpholiday {b:?}"));
        }
    }
    let excused = theirs
        .keys()
        .filter(|d| known_difference(d).is_some())
        .count();
    assert_eq!(
        excused, 28,
        "the known differences changed: review known_difference()"
    );
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
