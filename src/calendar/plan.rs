//! The `plan` command: the forecast of every scheduled root jobnet over a period, as rows
//! an operator can read (table), compare with the legacy scheduler's forecast (csv) or feed
//! to other tools (json).

use super::codes;
use super::engine::{forecast, RunReason, SkipReason};
use crate::diag::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::ir::{ClockTime, Date, Project};
use chrono::NaiveDateTime;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One planned (or skipped) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub jobnet: String,
    pub business_date: Date,
    /// Wall-clock start in `timezone`; None for a skipped date.
    pub start: Option<NaiveDateTime>,
    /// The start as a time of the business date (may pass 24:00); None when skipped.
    pub time: Option<ClockTime>,
    pub timezone: String,
    /// Rule number, 1-based as the rules are listed in the source.
    pub rule: usize,
    /// The rule's name (a JP1 rule number, a spec rule's `name`), shown instead of `rule`.
    pub rule_name: Option<String>,
    pub status: Status,
    /// Why it runs on this date, or why not.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Run,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Run => "run",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    Table,
    Csv,
    Json,
}

impl PlanFormat {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "table" => PlanFormat::Table,
            "csv" => PlanFormat::Csv,
            "json" => PlanFormat::Json,
            _ => return None,
        })
    }
}

fn run_reason(r: RunReason) -> String {
    match r {
        RunReason::OpenDay => "open day".into(),
        RunReason::ClosedDay => "closed day, runs anyway".into(),
        RunReason::Shifted { from } => format!("shifted from closed day {from}"),
        RunReason::Reckoned { from, open_days } => {
            format!("{open_days:+} open days from {from}")
        }
    }
}

fn skip_reason(r: &SkipReason) -> String {
    match r {
        SkipReason::ClosedDay => "closed day".into(),
        SkipReason::ShiftExceeded { earlier, max_days } => format!(
            "closed day, no open day within {max_days} days {}",
            if *earlier { "before" } else { "after" }
        ),
        SkipReason::ReckonExceeded { max_days } => {
            format!("reckoned open day lies beyond {max_days} days")
        }
        SkipReason::Exclusive { jobnet } => format!("exclusive with {jobnet}, which runs"),
    }
}

/// The plan of `jobnets` (every root jobnet with a schedule when empty) for business
/// dates `from..=to`, ordered by date, start and jobnet. Skipped dates only on request.
pub fn plan(
    project: &Project,
    jobnets: &[String],
    from: Date,
    to: Date,
    include_skipped: bool,
    diags: &mut Diagnostics,
) -> Vec<PlanRow> {
    let scheduled: Vec<_> = project
        .roots
        .iter()
        .copied()
        .filter(|r| {
            project.units[*r]
                .as_net()
                .is_some_and(|n| n.schedule.is_some())
        })
        .collect();
    for name in jobnets {
        if !scheduled.iter().any(|r| project.units[*r].name == *name) {
            let known: Vec<&str> = scheduled
                .iter()
                .map(|r| project.units[*r].name.as_str())
                .collect();
            diags.push(
                Diagnostic::error(
                    codes::E_UNKNOWN_JOBNET,
                    format!("`{name}` is no root jobnet with a schedule"),
                )
                .hint(if known.is_empty() {
                    "no root jobnet of these inputs has a schedule".to_string()
                } else {
                    format!("scheduled jobnets: {}", known.join(", "))
                }),
            );
        }
    }
    let mut rows = Vec::new();
    for root in scheduled {
        let unit = &project.units[root];
        if !jobnets.is_empty() && !jobnets.contains(&unit.name) {
            continue;
        }
        let timezone = unit
            .as_net()
            .and_then(|n| n.schedule.as_ref())
            .map(|s| s.timezone.clone())
            .unwrap_or_default();
        // With watched start conditions the date is a run day, but its event starts the run
        // (conditions that cannot be watched leave the schedule to start it).
        let on_event = crate::ir::start_watch(project, root).is_some();
        let names: Vec<Option<String>> = unit
            .as_net()
            .and_then(|n| n.schedule.as_ref())
            .map(|s| s.rules.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default();
        let name_of = |i: usize| names.get(i).cloned().flatten();
        let f = forecast(project, root, from, to, diags);
        rows.extend(f.runs.into_iter().map(|r| PlanRow {
            jobnet: r.jobnet,
            business_date: r.business_date,
            start: Some(r.start),
            time: Some(r.time),
            timezone: timezone.clone(),
            rule: r.rule + 1,
            rule_name: name_of(r.rule),
            status: Status::Run,
            reason: if on_event {
                format!(
                    "{}; started by its start condition, not at this time",
                    run_reason(r.reason)
                )
            } else {
                run_reason(r.reason)
            },
        }));
        if include_skipped {
            rows.extend(f.skipped.into_iter().map(|s| PlanRow {
                reason: skip_reason(&s.reason),
                jobnet: s.jobnet,
                business_date: s.date,
                start: None,
                time: None,
                timezone: timezone.clone(),
                rule: s.rule + 1,
                rule_name: name_of(s.rule),
                status: Status::Skipped,
            }));
        }
    }
    rows.sort_by(|a, b| {
        (a.business_date, a.start, &a.jobnet, a.rule).cmp(&(
            b.business_date,
            b.start,
            &b.jobnet,
            b.rule,
        ))
    });
    rows
}

const HEADER: [&str; 7] = [
    "business_date",
    "start",
    "timezone",
    "jobnet",
    "rule",
    "status",
    "reason",
];

fn cells(r: &PlanRow) -> [String; 7] {
    [
        r.business_date.to_string(),
        r.start
            .map(|s| s.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        r.timezone.clone(),
        r.jobnet.clone(),
        r.rule_name
            .clone()
            .unwrap_or_else(|| format!("#{}", r.rule)),
        r.status.as_str().to_string(),
        r.reason.clone(),
    ]
}

/// Display width: East Asian wide characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// Aligned columns for a terminal.
pub fn render_table(rows: &[PlanRow]) -> String {
    let body: Vec<[String; 7]> = rows.iter().map(cells).collect();
    let mut widths = HEADER.map(width);
    for row in &body {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(c));
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            s.push_str(c);
            if i + 1 < cols.len() {
                s.push_str(&" ".repeat(w - width(c) + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&HEADER.map(String::from));
    for row in &body {
        out.push_str(&line(row));
    }
    if rows.is_empty() {
        out.push_str("(no runs in this period)\n");
    }
    out
}

/// RFC 4180 CSV with a header line.
pub fn render_csv(rows: &[PlanRow]) -> String {
    let quote = |c: &str| {
        if c.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        }
    };
    let mut out = HEADER.join(",") + "\r\n";
    for row in rows {
        let line: Vec<String> = cells(row).iter().map(|c| quote(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A JSON array of row objects (`start` is null for skipped dates).
pub fn render_json(rows: &[PlanRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "businessDate": r.business_date.to_string(),
                    "start": r.start.map(|s| s.format("%Y-%m-%dT%H:%M:%S").to_string()),
                    "timezone": r.timezone,
                    "jobnet": r.jobnet,
                    "rule": r.rule,
                    "ruleName": r.rule_name,
                    "status": r.status.as_str(),
                    "reason": r.reason,
                })
            })
            .collect(),
    )
}

/// Renders rows in `format` as the text to print.
pub fn render(rows: &[PlanRow], format: PlanFormat) -> String {
    match format {
        PlanFormat::Table => render_table(rows),
        PlanFormat::Csv => render_csv(rows),
        PlanFormat::Json => crate::back::pretty(&render_json(rows)),
    }
}

/// A difference between our plan and another scheduler's forecast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub jobnet: String,
    pub business_date: Date,
    /// `HH:MM` when the other forecast gives times.
    pub time: Option<String>,
    /// True: only the other forecast has it; false: only ours.
    pub only_theirs: bool,
    /// Line of the other forecast (1-based), when it is theirs.
    pub line: Option<u32>,
}

/// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    (!quoted).then_some(out)
}

/// Compares our run rows with another scheduler's forecast, a CSV file with a header
/// naming `jobnet`, `business_date` (or `date`) and optionally `time` (or `start`, whose
/// `HH:MM` part is used). A time matches our wall-clock start or our business-day time
/// (`26:00`). Returns the differences ordered by date; bad lines become diagnostics.
pub fn compare(
    rows: &[PlanRow],
    sources: &SourceMap,
    file: FileId,
    diags: &mut Diagnostics,
) -> Vec<Difference> {
    let text = &sources.get(file).text;
    let at = |line: u32, len: usize| Span::new(file, line, 1, u32::try_from(len).unwrap_or(0));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        diags.push(
            Diagnostic::error(codes::E_FORECAST, "the forecast file is empty")
                .hint("give a CSV with a header line: jobnet,business_date,time"),
        );
        return Vec::new();
    };
    let names: Vec<String> = csv_fields(header.trim_start_matches('\u{feff}'))
        .unwrap_or_default()
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |want: &[&str]| names.iter().position(|n| want.contains(&n.as_str()));
    let (Some(jc), Some(dc)) = (col(&["jobnet"]), col(&["business_date", "date"])) else {
        diags.push(
            Diagnostic::error(
                codes::E_FORECAST,
                format!("the forecast header `{header}` lacks `jobnet` or `business_date`"),
            )
            .at(at(1, header.chars().count()))
            .hint("name the columns jobnet,business_date[,time]"),
        );
        return Vec::new();
    };
    let tc = col(&["time", "start"]);
    let mut theirs: BTreeSet<(Date, String, Option<String>, u32)> = BTreeSet::new();
    for (i, line) in lines {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let fields = csv_fields(line).unwrap_or_default();
        let get = |c: usize| fields.get(c).map(|f| f.trim().to_string());
        let date = get(dc).and_then(|d| d.parse::<Date>().ok());
        let time = match tc.map(get) {
            None => Some(None),
            Some(t) => t
                .and_then(|t| ClockTime::parse(t.rsplit(' ').next().unwrap_or("")))
                .map(|t| Some(t.to_string())),
        };
        match (get(jc).filter(|j| !j.is_empty()), date, time) {
            (Some(j), Some(d), Some(t)) => {
                theirs.insert((d, j, t, n));
            }
            _ => diags.push(
                Diagnostic::error(
                    codes::E_FORECAST,
                    format!(
                        "forecast line `{line}` needs a jobnet, a date YYYY-MM-DD and a time HH:MM"
                    ),
                )
                .at(at(n, line.chars().count())),
            ),
        }
    }
    let with_times = tc.is_some();
    let ours: Vec<&PlanRow> = rows.iter().filter(|r| r.status == Status::Run).collect();
    let matches = |r: &PlanRow, d: Date, j: &str, t: &Option<String>| {
        r.business_date == d
            && r.jobnet == j
            && t.as_ref().is_none_or(|t| {
                r.time.is_some_and(|x| x.to_string() == *t)
                    || r.start.is_some_and(|s| s.format("%H:%M").to_string() == *t)
            })
    };
    let mut out = Vec::new();
    for (d, j, t, n) in &theirs {
        if !ours.iter().any(|r| matches(r, *d, j, t)) {
            out.push(Difference {
                jobnet: j.clone(),
                business_date: *d,
                time: t.clone(),
                only_theirs: true,
                line: Some(*n),
            });
        }
    }
    let mut reported = BTreeSet::new();
    for r in &ours {
        let found = theirs.iter().any(|(d, j, t, _)| matches(r, *d, j, t));
        let time = with_times.then(|| r.time.map(|t| t.to_string())).flatten();
        if !found && reported.insert((r.business_date, r.jobnet.clone(), time.clone())) {
            out.push(Difference {
                jobnet: r.jobnet.clone(),
                business_date: r.business_date,
                time,
                only_theirs: false,
                line: None,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.business_date, &a.jobnet, &a.time).cmp(&(b.business_date, &b.jobnet, &b.time))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::spec::load;

    const SPEC: &str = r#"
version: 1
calendars:
  - name: 営業日
    weekdays: {sat: closed, sun: closed}
    japanese_holidays: true
jobnets:
  - name: 日次
    calendar: 営業日
    schedule:
      rules:
        - {days: daily, at: "02:30"}
        - {name: 月次, days_of_month: [10], at: "09:00", on_closed_day: next, max_shift_days: 3}
    units:
      - {name: a, type: lambda, params: {function: f}}
  - name: manual
    units:
      - {name: a, type: lambda, params: {function: f}}
"#;

    fn rows(include_skipped: bool, only: &[&str]) -> (Vec<PlanRow>, Diagnostics) {
        let mut p = Project::default();
        let file = p.sources.add("t.yaml", SPEC.to_string(), "utf-8");
        let mut diags = Diagnostics::default();
        load(&mut p, file, &mut diags);
        assert!(!diags.has_errors());
        let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
        let r = plan(
            &p,
            &only,
            "2027-01-08".parse().unwrap(),
            "2027-01-12".parse().unwrap(),
            include_skipped,
            &mut diags,
        );
        (r, diags)
    }

    #[test]
    fn rows_with_and_without_skipped_dates() {
        let (r, d) = rows(false, &[]);
        assert!(d.items.is_empty());
        // 1/8 Fri; 1/9, 1/10 weekend; 1/11 成人の日; 1/12 Tue gets the 10th's shifted run.
        let got: Vec<String> = r
            .iter()
            .map(|r| format!("{} r{} {}", r.business_date, r.rule, r.reason))
            .collect();
        assert_eq!(
            got,
            [
                "2027-01-08 r1 open day",
                "2027-01-12 r1 open day",
                "2027-01-12 r2 shifted from closed day 2027-01-10",
            ]
        );
        let (r, _) = rows(true, &["日次"]);
        assert_eq!(r.len(), 6);
        assert_eq!(r[1].status, Status::Skipped);
        assert_eq!(r[1].start, None);
    }

    #[test]
    fn a_run_day_of_a_jobnet_with_start_conditions_waits_for_its_event() {
        let mut p = Project::default();
        let text = SPEC.replace(
            "  - name: manual\n",
            "  - name: flagged\n    schedule: {rules: [{days: daily, at: \"09:00\"}]}\n    start_conditions: {events: [{file_created: \"s3://b/ok\"}]}\n    units:\n      - {name: a, type: noop}\n  - name: manual\n",
        );
        let file = p.sources.add("t.yaml", text, "utf-8");
        let mut diags = Diagnostics::default();
        load(&mut p, file, &mut diags);
        assert!(!diags.has_errors(), "{:?}", diags.items);
        let d: Date = "2027-01-08".parse().unwrap();
        let r = plan(&p, &["flagged".into()], d, d, false, &mut diags);
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].reason,
            "open day; started by its start condition, not at this time"
        );
        // A condition EventBridge cannot watch: the schedule starts the run.
        let mut p = Project::default();
        let text = SPEC.replace(
            "  - name: manual\n",
            "  - name: flagged\n    schedule: {rules: [{days: daily, at: \"09:00\"}]}\n    start_conditions: {events: [{file_created: 'C:\\in\\ok'}]}\n    units:\n      - {name: a, type: noop}\n  - name: manual\n",
        );
        let file = p.sources.add("t.yaml", text, "utf-8");
        load(&mut p, file, &mut diags);
        assert!(!diags.has_errors(), "{:?}", diags.items);
        let r = plan(&p, &["flagged".into()], d, d, false, &mut diags);
        assert_eq!(r[0].reason, "open day");
    }

    #[test]
    fn renderers() {
        let (r, _) = rows(true, &[]);
        let table = render(&r, PlanFormat::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("business_date  start             timezone    jobnet"));
        assert!(lines[1].starts_with("2027-01-08     2027-01-08 02:30  Asia/Tokyo  日次    #1"));
        let csv = render(&r, PlanFormat::Csv);
        assert!(csv.starts_with("business_date,start,timezone,jobnet,rule,status,reason\r\n"));
        // A named rule shows its name (a JP1 rule its number), others their place.
        assert!(csv.contains("2027-01-12,2027-01-12 09:00,Asia/Tokyo,日次,月次,run,shifted"));
        assert!(csv.contains("2027-01-09,,Asia/Tokyo,日次,#1,skipped,closed day\r\n"));
        let quoted = vec![PlanRow {
            reason: "a, \"b\"".into(),
            ..r[0].clone()
        }];
        assert!(render_csv(&quoted).ends_with(",run,\"a, \"\"b\"\"\"\r\n"));
        let json: Value = serde_json::from_str(&render(&r, PlanFormat::Json)).unwrap();
        assert_eq!(json[0]["start"], "2027-01-08T02:30:00");
        assert_eq!(json[1]["start"], Value::Null);
        let shifted = json
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["start"] == "2027-01-12T09:00:00")
            .expect("the shifted run");
        assert_eq!(
            (&shifted["rule"], &shifted["ruleName"]),
            (&json!(2), &json!("月次"))
        );
        assert_eq!(json[0]["ruleName"], Value::Null);
        assert_eq!(PlanFormat::parse("xml"), None);
        assert!(render_table(&[]).contains("no runs"));
    }

    #[test]
    fn comparison_with_another_forecast() {
        let (r, _) = rows(false, &[]);
        let mut sources = SourceMap::default();
        let legacy = "Jobnet,Date,Time\n日次,2027-01-08,02:30\n日次,2027-01-11,02:30\n\"日次\",2027-01-12,2027-01-12 02:30\n日次,2027-01-1x,02:30\n";
        let file = sources.add("legacy.csv", legacy.to_string(), "utf-8");
        let mut diags = Diagnostics::default();
        let d = compare(&r, &sources, file, &mut diags);
        let got: Vec<String> = d
            .iter()
            .map(|x| {
                format!(
                    "{} {:?} {}",
                    x.business_date,
                    x.time,
                    if x.only_theirs { "theirs" } else { "ours" }
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "2027-01-11 Some(\"02:30\") theirs",
                "2027-01-12 Some(\"09:00\") ours"
            ]
        );
        assert_eq!(d[0].line, Some(3));
        assert_eq!(diags.items.len(), 1);
        assert_eq!(diags.items[0].span.unwrap().line, 5);
        // Without times, dates alone are compared.
        let file = sources.add(
            "dates.csv",
            "jobnet,business_date\n日次,2027-01-08\n日次,2027-01-12\n".into(),
            "utf-8",
        );
        let mut diags = Diagnostics::default();
        assert!(compare(&r, &sources, file, &mut diags).is_empty());
        let file = sources.add("bad.csv", "a,b\n".into(), "utf-8");
        compare(&r, &sources, file, &mut diags);
        assert_eq!(diags.items[0].code, "E0607");
    }

    #[test]
    fn unknown_jobnet_filter_is_an_error() {
        let (r, d) = rows(false, &["manual"]);
        assert!(r.is_empty());
        assert_eq!(d.items[0].code, "E0604");
        assert!(d.items[0].hint.as_deref().unwrap().contains("日次"));
    }
}
