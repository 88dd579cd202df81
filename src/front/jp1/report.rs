//! Conversion coverage of one ajsprint file: what was mapped, approximated or left out.
//!
//! Lowering records one [`Record`] per unit and per parameter; [`coverage`] aggregates them
//! per unit type and per parameter key, so that the report can say which legacy features
//! carry over and what the user must do for the rest.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How one unit or parameter carried over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "note", rename_all = "lowercase")]
pub enum Status {
    Mapped,
    /// Layout or bookkeeping with no runtime meaning (icon positions, comments on groups).
    Ignored(String),
    /// Converted with a different behaviour; the note says how.
    Approximated(String),
    /// Not converted; the note says what the user must do.
    Unsupported(String),
}

/// One unit (`key` is None) or one parameter of a unit.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub unit_path: String,
    pub unit_type: String,
    pub key: Option<String>,
    pub value: String,
    pub line: u32,
    pub col: u32,
    #[serde(flatten)]
    pub status: Status,
}

/// Counts for one unit type or one parameter key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub total: u32,
    pub mapped: u32,
    pub ignored: u32,
    /// How it was approximated → occurrences.
    pub approximated: BTreeMap<String, u32>,
    /// What the user must do → occurrences.
    pub unsupported: BTreeMap<String, u32>,
}

impl Counts {
    fn add(&mut self, s: &Status) {
        self.total += 1;
        match s {
            Status::Mapped => self.mapped += 1,
            Status::Ignored(_) => self.ignored += 1,
            Status::Approximated(n) => *self.approximated.entry(n.clone()).or_default() += 1,
            Status::Unsupported(n) => *self.unsupported.entry(n.clone()).or_default() += 1,
        }
    }

    fn approximated_total(&self) -> u32 {
        self.approximated.values().sum()
    }

    fn unsupported_total(&self) -> u32 {
        self.unsupported.values().sum()
    }
}

/// Coverage of one file.
#[derive(Debug, Clone, Serialize)]
pub struct Jp1Coverage {
    pub file: String,
    pub encoding: String,
    pub unit_types: BTreeMap<String, Counts>,
    pub params: BTreeMap<String, Counts>,
    /// Every approximated or unsupported item, in source order.
    pub findings: Vec<Record>,
    /// Share of units and parameters that were mapped, ignored as layout, or approximated.
    pub coverage_percent: f64,
}

/// Aggregates records of one file (see [`Tally`], which lowering counts into directly).
pub fn coverage(file: &str, encoding: &str, records: &[Record]) -> Jp1Coverage {
    let mut tally = Tally::default();
    for r in records {
        tally.add(&r.unit_type, r.key.as_deref(), r.status.clone(), |status| {
            Record {
                status,
                ..r.clone()
            }
        });
    }
    tally.finish(file, encoding)
}

/// A file's coverage, counted while it is lowered. Only approximated and unsupported items
/// are kept whole, as findings; a 100,000-unit file made a record of every parameter
/// (value text and unit path included) just to count it.
#[derive(Debug, Default)]
pub struct Tally {
    unit_types: BTreeMap<String, Counts>,
    params: BTreeMap<String, Counts>,
    covered: u32,
    total: u32,
    findings: Vec<Record>,
}

impl Tally {
    /// Counts one unit (`key` none) or parameter; `record` makes its finding (with the
    /// status given) if it is one.
    pub fn add(
        &mut self,
        unit_type: &str,
        key: Option<&str>,
        status: Status,
        record: impl FnOnce(Status) -> Record,
    ) {
        let (map, name) = match key {
            None => (&mut self.unit_types, unit_type),
            Some(k) => (&mut self.params, k),
        };
        let counts = match map.get_mut(name) {
            Some(c) => c,
            None => map.entry(name.to_string()).or_default(),
        };
        counts.add(&status);
        self.total += 1;
        if !matches!(status, Status::Unsupported(_)) {
            self.covered += 1;
        }
        if matches!(status, Status::Approximated(_) | Status::Unsupported(_)) {
            self.findings.push(record(status));
        }
    }

    pub fn finish(self, file: &str, encoding: &str) -> Jp1Coverage {
        let coverage_percent = if self.total == 0 {
            100.0
        } else {
            (f64::from(self.covered) * 1000.0 / f64::from(self.total)).round() / 10.0
        };
        Jp1Coverage {
            file: file.to_string(),
            encoding: encoding.to_string(),
            unit_types: self.unit_types,
            params: self.params,
            findings: self.findings,
            coverage_percent,
        }
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Jp1Coverage {
    /// A Markdown section for the conversion report.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## JP1/AJS3: `{}` ({})\n", self.file, self.encoding);
        let _ = writeln!(out, "Coverage: **{:.1}%**\n", self.coverage_percent);
        for (title, map) in [
            ("Unit types", &self.unit_types),
            ("Parameters", &self.params),
        ] {
            let _ = writeln!(out, "### {title}\n");
            let _ = writeln!(
                out,
                "| {} | total | mapped | ignored | approximated | unsupported |",
                if title == "Unit types" { "ty" } else { "key" }
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
            for (k, c) in map {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    md_escape(k),
                    c.total,
                    c.mapped,
                    c.ignored,
                    c.approximated_total(),
                    c.unsupported_total()
                );
            }
            out.push('\n');
        }
        if !self.findings.is_empty() {
            // The same advice across thousands of units reads best once, with a count.
            let mut todo: BTreeMap<(&str, &str), u32> = BTreeMap::new();
            for r in &self.findings {
                let key = match &r.status {
                    Status::Approximated(n) => ("approximated", n.as_str()),
                    Status::Unsupported(n) => ("unsupported", n.as_str()),
                    _ => continue,
                };
                *todo.entry(key).or_default() += 1;
            }
            let mut todo: Vec<_> = todo.into_iter().collect();
            todo.sort_by(|a, b| a.0 .0.cmp(b.0 .0).reverse().then(b.1.cmp(&a.1)));
            let _ = writeln!(out, "### What to do\n");
            let _ = writeln!(out, "| status | count | note |");
            let _ = writeln!(out, "|---|---:|---|");
            for ((st, note), n) in &todo {
                let _ = writeln!(out, "| {st} | {n} | {} |", md_escape(note));
            }
            out.push('\n');
            let _ = writeln!(out, "### Findings\n");
            let _ = writeln!(out, "| line | unit | parameter | status | note |");
            let _ = writeln!(out, "|---:|---|---|---|---|");
            for r in self.findings.iter().take(MAX_MD_FINDINGS) {
                let (st, note) = match &r.status {
                    Status::Approximated(n) => ("approximated", n),
                    Status::Unsupported(n) => ("unsupported", n),
                    _ => continue,
                };
                let param = match &r.key {
                    Some(k) => format!("`{}={}`", md_escape(k), md_escape(&r.value)),
                    None => format!("`ty={}`", md_escape(&r.unit_type)),
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {} |",
                    r.line,
                    md_escape(&r.unit_path),
                    param,
                    st,
                    md_escape(note)
                );
            }
            if self.findings.len() > MAX_MD_FINDINGS {
                let _ = writeln!(
                    out,
                    "\n… and {} more findings (all of them are in the JSON report).",
                    self.findings.len() - MAX_MD_FINDINGS
                );
            }
        }
        out
    }
}

/// Findings listed one by one in Markdown; the JSON form keeps them all.
const MAX_MD_FINDINGS: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: Option<&str>, status: Status) -> Record {
        Record {
            unit_path: "/g/n".into(),
            unit_type: "n".into(),
            key: key.map(str::to_string),
            value: "v|x".into(),
            line: 3,
            col: 1,
            status,
        }
    }

    #[test]
    fn aggregates_and_renders() {
        let records = vec![
            rec(None, Status::Mapped),
            rec(Some("sd"), Status::Mapped),
            rec(Some("sd"), Status::Unsupported("give a date".into())),
            rec(Some("el"), Status::Ignored("layout".into())),
            rec(Some("ms"), Status::Approximated("runs skip".into())),
        ];
        let c = coverage("a.txt", "cp932", &records);
        assert_eq!(c.coverage_percent, 80.0);
        assert_eq!(c.params["sd"].mapped, 1);
        assert_eq!(c.params["sd"].unsupported["give a date"], 1);
        assert_eq!(c.findings.len(), 2);
        let md = c.to_markdown();
        assert!(md.contains("Coverage: **80.0%**"), "{md}");
        assert!(md.contains("| `sd` | 2 | 1 | 0 | 0 | 1 |"), "{md}");
        assert!(md.contains("`sd=v\\|x`"), "{md}");
        assert!(md.contains("| unsupported | 1 | give a date |"), "{md}");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["findings"][0]["status"], "unsupported");
    }
}
