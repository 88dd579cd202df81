//! Hand-worked forecasts: month ends, Golden Week, the year-end closure, leap years,
//! shifts across a month end or past their maximum, the day boundary and exclusive runs.
//! Every expected date below was worked out from a printed 2026–2028 Japanese calendar.

use jobnet2sfn::calendar::engine::{business_date_of, forecast, Forecast, RunReason, SkipReason};
use jobnet2sfn::calendar::{engine::calendar_of, Resolved};
use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::front::spec::load;
use jobnet2sfn::ir::{Date, Project, UnitId};

const CALENDARS: &str = r#"
version: 1
calendars:
  - name: base
    weekdays: {sat: closed, sun: closed}
  - name: jp
    inherits: base
    japanese_holidays: true
    day_start: "05:00"
    dates:
      - {date: 2027-12-31, closed: true}
      - {date: 2028-01-03, closed: true}
      - {date: 2028-01-02, open: true}
"#;

fn project(jobnets: &str) -> Project {
    let text = format!("{CALENDARS}jobnets:\n{jobnets}");
    let mut project = Project::default();
    let file = project.sources.add("test.yaml", text, "utf-8");
    let mut diags = Diagnostics::default();
    load(&mut project, file, &mut diags);
    assert!(!diags.has_errors(), "{:?}", diags.items);
    project
}

/// One jobnet `j` on calendar `jp` with the given rules (YAML list items, 6 spaces in).
fn one(rules: &str) -> Project {
    project(&format!(
        "  - name: j\n    calendar: jp\n    schedule:\n      rules:\n{rules}    units:\n      - {{name: a, type: lambda, params: {{function: f}}}}\n"
    ))
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn root(p: &Project, name: &str) -> UnitId {
    *p.roots
        .iter()
        .find(|r| p.units[**r].name == name)
        .expect("root exists")
}

fn run(p: &Project, name: &str, from: &str, to: &str) -> Forecast {
    let mut diags = Diagnostics::default();
    let f = forecast(p, root(p, name), d(from), d(to), &mut diags);
    assert!(diags.items.is_empty(), "{:?}", diags.items);
    f
}

fn dates(f: &Forecast) -> Vec<String> {
    f.runs.iter().map(|r| r.business_date.to_string()).collect()
}

#[test]
fn month_ends_shift_back_to_the_last_open_day() {
    let p = one(
        "        - {days_before_month_end: 0, at: \"23:00\", on_closed_day: previous, max_shift_days: 3}\n\
         \x20       - {nth_last_open_day: 1, at: \"20:00\"}\n",
    );
    let f = run(&p, "j", "2027-01-01", "2027-04-30");
    // Jan 31 Sun -> Fri 29; Feb 28 Sun -> Fri 26; Mar 31 Wed; Apr 30 Fri.
    // The last-open-day rule gives the same dates at 20:00.
    let starts: Vec<String> = f.runs.iter().map(|r| r.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2027-01-29 20:00:00",
            "2027-01-29 23:00:00",
            "2027-02-26 20:00:00",
            "2027-02-26 23:00:00",
            "2027-03-31 20:00:00",
            "2027-03-31 23:00:00",
            "2027-04-30 20:00:00",
            "2027-04-30 23:00:00",
        ]
    );
    assert_eq!(
        f.runs[1].reason,
        RunReason::Shifted {
            from: d("2027-01-31")
        }
    );
    assert_eq!(f.runs[0].reason, RunReason::OpenDay);
}

#[test]
fn golden_week_2027_and_shift_exceeding_its_maximum() {
    let p = one("        - {days: daily, at: \"09:00\", on_closed_day: next, max_shift_days: 2}\n");
    let f = run(&p, "j", "2027-04-28", "2027-05-07");
    // 4/29 Thu holiday -> 4/30; 5/1 Sat: 5/2, 5/3 closed -> exceeded; 5/2 Sun: 5/3, 5/4
    // closed -> exceeded; 5/3 Mon: 5/4, 5/5 closed -> exceeded; 5/4 -> 5/6; 5/5 -> 5/6.
    assert_eq!(
        dates(&f),
        ["2027-04-28", "2027-04-30", "2027-05-06", "2027-05-07"]
    );
    let exceeded: Vec<String> = f
        .skipped
        .iter()
        .filter(|s| {
            s.reason
                == SkipReason::ShiftExceeded {
                    earlier: false,
                    max_days: 2,
                }
        })
        .map(|s| s.date.to_string())
        .collect();
    assert_eq!(exceeded, ["2027-05-01", "2027-05-02", "2027-05-03"]);
    // 2026: 5/3 Sunday makes 5/6 Wednesday a substitute holiday.
    let f = run(&p, "j", "2026-05-01", "2026-05-08");
    assert_eq!(dates(&f), ["2026-05-01", "2026-05-07", "2026-05-08"]);
}

#[test]
fn year_end_closure_and_first_open_day() {
    let p = one("        - {nth_open_day: 1, at: \"08:00\"}\n\
         \x20       - {days: daily, at: \"12:00\", on_closed_day: skip}\n");
    let f = run(&p, "j", "2027-12-29", "2028-01-05");
    // 12/31 closed by date, 1/1 holiday (Sat), 1/2 Sunday opened by date, 1/3 closed.
    assert_eq!(
        dates(&f),
        [
            "2027-12-29",
            "2027-12-30",
            "2028-01-02",
            "2028-01-02",
            "2028-01-04",
            "2028-01-05"
        ]
    );
    assert_eq!(f.runs[2].rule, 0, "1/2 is January's first open day");
    assert_eq!(f.runs[2].time.to_string(), "08:00");
    let skipped: Vec<String> = f.skipped.iter().map(|s| s.date.to_string()).collect();
    assert_eq!(skipped, ["2027-12-31", "2028-01-01", "2028-01-03"]);
}

#[test]
fn leap_years() {
    let p = one(
        "        - {days_of_month: [29], at: \"10:00\", on_closed_day: run}\n\
         \x20       - {every: {n: 1, unit: months, from: 2027-01-31}, at: \"11:00\", on_closed_day: run}\n",
    );
    let f = run(&p, "j", "2027-02-01", "2027-03-01");
    assert_eq!(
        dates(&f),
        ["2027-02-28"],
        "no 29th in 2027; month end instead"
    );
    let f = run(&p, "j", "2028-02-01", "2028-03-01");
    assert_eq!(dates(&f), ["2028-02-29", "2028-02-29"]);
    assert_eq!(f.runs[0].rule, 0);
    assert_eq!(f.runs[1].rule, 1);
}

#[test]
fn shift_crosses_a_month_end() {
    let p = one(
        "        - {days_of_month: [31], at: \"07:00\", on_closed_day: next, max_shift_days: 5}\n\
         \x20       - {days_of_month: [1], at: \"07:30\", on_closed_day: previous, max_shift_days: 5}\n",
    );
    let f = run(&p, "j", "2027-08-01", "2027-08-31");
    // July 31 Sat -> Mon Aug 2 (nominal date outside the period, the run inside);
    // Aug 1 Sun -> Fri July 30 (outside the period: not listed).
    assert_eq!(dates(&f), ["2027-08-02", "2027-08-31"]);
    assert_eq!(
        f.runs[0].reason,
        RunReason::Shifted {
            from: d("2027-07-31")
        }
    );
    let f = run(&p, "j", "2027-07-30", "2027-07-30");
    assert_eq!(
        f.runs[0].reason,
        RunReason::Shifted {
            from: d("2027-08-01")
        }
    );
}

#[test]
fn start_before_the_day_boundary_belongs_to_the_previous_business_date() {
    let p = one("        - {weekdays: [mon], at: [\"01:30\", \"22:00\", \"26:15\"]}\n");
    let f = run(&p, "j", "2027-01-04", "2027-01-10");
    let starts: Vec<String> = f.runs.iter().map(|r| r.start.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2027-01-04 22:00:00",
            "2027-01-05 01:30:00",
            "2027-01-05 02:15:00"
        ]
    );
    assert!(f.runs.iter().all(|r| r.business_date == d("2027-01-04")));
    let cal = calendar_of(&p, root(&p, "j")).unwrap();
    assert_eq!(business_date_of(&cal, f.runs[1].start), d("2027-01-04"));
    assert_eq!(
        business_date_of(&cal, d("2027-01-05").and_hms_opt(5, 0, 0).unwrap()),
        d("2027-01-05")
    );
    let midnight = Resolved::always_open();
    assert_eq!(
        business_date_of(&midnight, f.runs[1].start),
        d("2027-01-05")
    );
}

#[test]
fn repeat_stops_at_the_end_of_the_business_day() {
    let p = one("        - {dates: [2027-01-04], at: \"03:00\", repeat_minutes: 60}\n");
    let f = run(&p, "j", "2027-01-04", "2027-01-04");
    // 03:00 is 27:00 of 1/4 (day starts 05:00): 03:00 and 04:00 on 1/5, then the day ends.
    let starts: Vec<String> = f.runs.iter().map(|r| r.start.to_string()).collect();
    assert_eq!(starts, ["2027-01-05 03:00:00", "2027-01-05 04:00:00"]);
}

#[test]
fn reckoning_nth_weekday_and_validity() {
    let p = one(
        "        - {nth_open_day: 3, at: \"10:00\", reckon: {open_days: -1, max_days: 5}}\n\
         \x20       - {nth_weekday: {weekday: fri, n: -1}, at: \"21:00\", valid_from: 2027-03-01, valid_until: 2027-04-30}\n\
         \x20       - {nth_weekday: {weekday: mon, n: 5}, at: \"06:00\", on_closed_day: run}\n",
    );
    let f = run(&p, "j", "2027-01-01", "2027-05-31");
    let got: Vec<String> = f
        .runs
        .iter()
        .map(|r| format!("{} r{}", r.business_date, r.rule))
        .collect();
    // January: open days 4, 5, 6 -> 3rd is 1/6, one open day back 1/5. February: 1, 2, 3
    // -> 2/2. March: 1, 2, 3 -> 3/2 … April: 1, 2, 5 -> 4/2. May: 6, 7, 10 -> 5/7.
    // Last Fridays: 3/26, 4/30. "Fifth" Mondays mean the last ones: 1/25, 2/22, 3/29,
    // 4/26, 5/31.
    assert_eq!(
        got,
        [
            "2027-01-05 r0",
            "2027-01-25 r2",
            "2027-02-02 r0",
            "2027-02-22 r2",
            "2027-03-02 r0",
            "2027-03-26 r1",
            "2027-03-29 r2",
            "2027-04-02 r0",
            "2027-04-26 r2",
            "2027-04-30 r1",
            "2027-05-07 r0",
            "2027-05-31 r2"
        ]
    );
    assert_eq!(
        f.runs[0].reason,
        RunReason::Reckoned {
            from: d("2027-01-06"),
            open_days: -1
        }
    );
}

#[test]
fn exclusive_schedule_suppresses_runs() {
    let p = project(
        "  - name: daily\n    calendar: jp\n    schedule:\n      exclusive_with: [close]\n      rules:\n        - {days: daily, at: \"02:30\"}\n    units:\n      - {name: a, type: lambda, params: {function: f}}\n\
         \x20 - name: close\n    calendar: jp\n    schedule:\n      rules:\n        - {nth_last_open_day: 1, at: \"20:00\"}\n    units:\n      - {name: a, type: lambda, params: {function: f}}\n",
    );
    let f = run(&p, "daily", "2027-01-25", "2027-02-02");
    assert_eq!(
        dates(&f),
        [
            "2027-01-25",
            "2027-01-26",
            "2027-01-27",
            "2027-01-28",
            "2027-02-01",
            "2027-02-02"
        ]
    );
    assert!(f.skipped.iter().any(|s| s.date == d("2027-01-29")
        && s.reason
            == SkipReason::Exclusive {
                jobnet: "close".into()
            }));
}

#[test]
fn bad_period_and_unknown_names_are_diagnostics() {
    let p = project(
        "  - name: x\n    calendar: nope\n    schedule:\n      exclusive_with: [ghost]\n      rules:\n        - {days: daily, at: \"02:30\"}\n    units:\n      - {name: a, type: lambda, params: {function: f}}\n",
    );
    let mut diags = Diagnostics::default();
    let f = forecast(
        &p,
        root(&p, "x"),
        d("2027-01-02"),
        d("2027-01-01"),
        &mut diags,
    );
    assert!(f.runs.is_empty());
    assert_eq!(diags.items[0].code, "E0605");
    let mut diags = Diagnostics::default();
    forecast(
        &p,
        root(&p, "x"),
        d("2027-01-01"),
        d("2027-01-02"),
        &mut diags,
    );
    let codes: Vec<&str> = diags.items.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0601", "E0604"]);
    // Extreme dates are refused, not overflowed.
    let mut diags = Diagnostics::default();
    let far = Date::MAX;
    forecast(&p, root(&p, "x"), far, far, &mut diags);
    assert_eq!(diags.items[0].code, "E0605");
    let cal = Resolved::always_open();
    let rule = jobnet2sfn::back::schedule::rule_from_json(
        &serde_json::json!({"days": ["daily"], "onClosed": "next", "maxShift": 31}),
    )
    .unwrap();
    assert_eq!(jobnet2sfn::calendar::engine::decide(&cal, &rule, far), None);
    assert_eq!(
        business_date_of(&cal, Date::MIN.and_hms_opt(0, 0, 0).unwrap()),
        Date::MIN
    );
}

#[test]
fn years_without_holiday_rules_warn() {
    let p = one("        - {days: daily, at: \"09:00\"}\n");
    let mut diags = Diagnostics::default();
    let f = forecast(
        &p,
        root(&p, "j"),
        d("2100-01-01"),
        d("2100-01-05"),
        &mut diags,
    );
    assert_eq!(diags.items.len(), 1);
    assert_eq!(diags.items[0].code, "W0603");
    assert!(!diags.has_errors());
    // 2100-01-01 is a Friday: open, as no holiday is known for that year.
    assert_eq!(dates(&f)[0], "2100-01-01");
}

#[test]
fn one_start_written_two_ways_runs_once() {
    let p = one("        - {dates: [2027-01-04], at: [\"01:30\", \"25:30\"]}\n");
    let f = run(&p, "j", "2027-01-04", "2027-01-04");
    assert_eq!(f.runs.len(), 1);
    assert_eq!(f.runs[0].time.to_string(), "25:30");
    assert_eq!(f.runs[0].start.to_string(), "2027-01-05 01:30:00");
}
