//! The schedule rule engine: which business dates a root jobnet runs on, and when.
//!
//! Each rule first *selects* nominal dates (its day rule and validity period, judged on
//! business dates), then *decides* each one against the calendar: run, shift to an open day,
//! reckon a number of open days, or skip. Runs of all rules are merged (one run per business
//! date and start time) and those on days an exclusive jobnet runs are dropped.
//!
//! Choices where the contract leaves room, kept here so the Lambda can follow them:
//! - validity (`valid_from`/`valid_until`) and the month cycle apply to the nominal date;
//! - a reckoned rule moves the nominal date by open days and ignores `on_closed_day`;
//!   more than `max_days` calendar days of search skips the run;
//! - `nth_closed_day` runs on its closed day (that is its purpose);
//! - `nth_weekday` with n 5 (or -1) is the month's last such weekday, as the IR says;
//! - `days_of_month` days a month lacks (31 in April) select nothing; `every n months`
//!   falls on the month's last day when the month is shorter than the start day;
//! - a start time earlier than the calendar's day start belongs to the same business date
//!   and starts on the next calendar day (the business day runs from `day_start` to
//!   `day_start` + 24h), as do times from 24:00 on;
//! - exclusive jobnets are judged on their own rules without their own exclusions.

use super::{codes, Resolved};
use crate::diag::{Diagnostic, Diagnostics};
use crate::ir::{
    ClockTime, ClosedDayAction, Date, DayKind, DayRule, MonthCycle, Project, Schedule,
    ScheduleRule, UnitId,
};
use chrono::{Datelike, Duration, NaiveDateTime};
use std::collections::{BTreeMap, BTreeSet};

/// The longest period a forecast covers (ten years of days).
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// The farthest a shift or a reckoning searches (the spec allows 31 and 366 days); larger
/// values from other front-ends are cut here rather than searching for ever.
pub const MAX_REACH_DAYS: u32 = 366;

/// Years a business date may have: beyond them date arithmetic would overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// One run of a root jobnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub jobnet: String,
    pub business_date: Date,
    /// Wall-clock start in the schedule's time zone.
    pub start: NaiveDateTime,
    /// The start as a time of the business date (`01:30` before a 05:00 day start is
    /// `25:30`; a repeat adds its cycle).
    pub time: ClockTime,
    /// Index of the rule in the schedule.
    pub rule: usize,
    pub reason: RunReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunReason {
    /// The rule selected an open day.
    OpenDay,
    /// The rule selected a closed day and says to run anyway (or counts closed days).
    ClosedDay,
    /// The rule selected the closed day `from` and the run moved to the nearest open day.
    Shifted { from: Date },
    /// The run moved `open_days` open days from `from` (a reckoned schedule).
    Reckoned { from: Date, open_days: i32 },
}

/// A nominal date the rule selected that did not become a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub jobnet: String,
    pub date: Date,
    pub rule: usize,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `on_closed_day: skip`.
    ClosedDay,
    /// No open day within `max_days` in the shift direction.
    ShiftExceeded { earlier: bool, max_days: u32 },
    /// The reckoned open day lies more than `max_days` days away.
    ReckonExceeded { max_days: u32 },
    /// The exclusive jobnet runs on that business date.
    Exclusive { jobnet: String },
}

/// What a rule does with one nominal date it selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run { date: Date, reason: RunReason },
    Skip(SkipReason),
}

/// The result of a forecast: runs by start, and what was selected but not run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Forecast {
    pub runs: Vec<Run>,
    pub skipped: Vec<Skipped>,
}

/// Open/closed answers over a window, computed once (holiday rules are not free).
struct Days<'a> {
    cal: &'a Resolved,
    first: Date,
    open: Vec<bool>,
}

impl<'a> Days<'a> {
    fn new(cal: &'a Resolved, first: Date, last: Date) -> Self {
        let open = first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| cal.is_open(d))
            .collect();
        Days { cal, first, open }
    }

    fn is_open(&self, d: Date) -> bool {
        usize::try_from((d - self.first).num_days())
            .ok()
            .and_then(|i| self.open.get(i).copied())
            .unwrap_or_else(|| self.cal.is_open(d))
    }
}

fn month_first(d: Date) -> Date {
    d.with_day(1).unwrap_or(d)
}

fn month_last(d: Date) -> Date {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    Date::from_ymd_opt(y, m, 1).map_or(d, |n| n - Duration::days(1))
}

fn days_between(a: Date, b: Date) -> impl Iterator<Item = Date> {
    a.iter_days().take_while(move |d| *d <= b)
}

/// Does the day rule select business date `d`?
fn selects(days: &Days, rule: &DayRule, d: Date) -> bool {
    let count = |a: Date, b: Date, open: bool| {
        days_between(a, b)
            .filter(|x| days.is_open(*x) == open)
            .count()
    };
    match rule {
        DayRule::Daily => true,
        DayRule::Weekdays(w) => w.contains(&d.weekday()),
        DayRule::DaysOfMonth(list) => list.contains(&d.day()),
        DayRule::NthOpenDay(n) => days.is_open(d) && count(month_first(d), d, true) == *n as usize,
        DayRule::NthClosedDay(n) => {
            !days.is_open(d) && count(month_first(d), d, false) == *n as usize
        }
        DayRule::DaysBeforeMonthEnd(n) => i64::from(*n) == (month_last(d) - d).num_days(),
        DayRule::NthLastOpenDay(n) => {
            days.is_open(d) && count(d, month_last(d), true) == *n as usize
        }
        DayRule::NthWeekday { weekday, n } => {
            d.weekday() == *weekday
                && if *n < 0 || *n >= 5 {
                    (d + Duration::days(7)).month() != d.month()
                } else {
                    i64::from(d.day0() / 7 + 1) == i64::from(*n)
                }
        }
        DayRule::Dates(list) => list.contains(&d),
        DayRule::EveryNDays { n, from } => every(d, *from, i64::from(*n)),
        DayRule::EveryNWeeks { n, from } => every(d, *from, 7 * i64::from(*n)),
        DayRule::EveryNMonths { n, from } => {
            let months = MonthCycle {
                every: *n,
                year: from.year(),
                month: from.month(),
            };
            months.selects(d) && d.day() == from.day().min(month_last(d).day())
        }
    }
}

fn every(d: Date, from: Date, step: i64) -> bool {
    let gap = (d - from).num_days();
    step > 0 && gap >= 0 && gap % step == 0
}

/// Does the rule select nominal date `d` at all (day rule and validity period)?
pub fn rule_selects(cal: &Resolved, rule: &ScheduleRule, d: Date) -> bool {
    if !YEARS.contains(&d.year()) {
        return false;
    }
    let days = Days::new(cal, month_first(d), month_last(d));
    selects_in(&days, rule, d)
}

fn selects_in(days: &Days, rule: &ScheduleRule, d: Date) -> bool {
    rule.valid_from.is_none_or(|f| d >= f)
        && rule.valid_until.is_none_or(|u| d <= u)
        && rule.month_cycle.is_none_or(|c| c.selects(d))
        && selects(days, &rule.days, d)
}

/// What the rule does with nominal date `d`, or None when it does not select `d`.
pub fn decide(cal: &Resolved, rule: &ScheduleRule, d: Date) -> Option<Decision> {
    if !YEARS.contains(&d.year()) {
        return None;
    }
    let reach = i64::from(margin(rule)) + 40;
    let days = Days::new(cal, d - Duration::days(reach), d + Duration::days(reach));
    selects_in(&days, rule, d).then(|| decide_in(&days, rule, d))
}

fn decide_in(days: &Days, rule: &ScheduleRule, d: Date) -> Decision {
    if let Some(r) = rule.reckon {
        let step = if r.open_days < 0 { -1 } else { 1 };
        let mut left = r.open_days.unsigned_abs();
        let mut at = d;
        for _ in 0..r.max_days.min(MAX_REACH_DAYS) {
            at += Duration::days(step);
            if days.is_open(at) {
                left -= 1;
                if left == 0 {
                    return Decision::Run {
                        date: at,
                        reason: RunReason::Reckoned {
                            from: d,
                            open_days: r.open_days,
                        },
                    };
                }
            }
        }
        return Decision::Skip(SkipReason::ReckonExceeded {
            max_days: r.max_days,
        });
    }
    if days.is_open(d) {
        return Decision::Run {
            date: d,
            reason: RunReason::OpenDay,
        };
    }
    if matches!(rule.days, DayRule::NthClosedDay(_)) {
        return Decision::Run {
            date: d,
            reason: RunReason::ClosedDay,
        };
    }
    let (step, max_days) = match rule.on_closed_day {
        ClosedDayAction::Skip => return Decision::Skip(SkipReason::ClosedDay),
        ClosedDayAction::RunAnyway => {
            return Decision::Run {
                date: d,
                reason: RunReason::ClosedDay,
            }
        }
        ClosedDayAction::Previous { max_days } => (-1, max_days),
        ClosedDayAction::Next { max_days } => (1, max_days),
    };
    (1..=i64::from(max_days.min(MAX_REACH_DAYS)))
        .map(|k| d + Duration::days(step * k))
        .find(|x| days.is_open(*x))
        .map_or(
            Decision::Skip(SkipReason::ShiftExceeded {
                earlier: step < 0,
                max_days,
            }),
            |date| Decision::Run {
                date,
                reason: RunReason::Shifted { from: d },
            },
        )
}

/// How many days a rule can move a run away from its nominal date.
fn margin(rule: &ScheduleRule) -> u32 {
    let shift = match rule.on_closed_day {
        ClosedDayAction::Previous { max_days } | ClosedDayAction::Next { max_days } => max_days,
        _ => 0,
    };
    shift
        .max(rule.reckon.map_or(0, |r| r.max_days))
        .min(MAX_REACH_DAYS)
}

/// Wall-clock start of a run at `time` of business date `date`.
pub fn wall_clock(cal: &Resolved, date: Date, time: ClockTime) -> NaiveDateTime {
    let minutes = business_time(cal, time).minutes;
    date.and_time(chrono::NaiveTime::MIN) + Duration::minutes(i64::from(minutes))
}

/// The business date a wall-clock instant belongs to (the day boundary applied).
pub fn business_date_of(cal: &Resolved, at: NaiveDateTime) -> Date {
    at.checked_sub_signed(Duration::minutes(i64::from(cal.day_start.minutes)))
        .unwrap_or(at)
        .date()
}

/// The start times of a rule on one business date: each time, then its repeats until the
/// business day ends.
pub fn start_times(cal: &Resolved, rule: &ScheduleRule) -> Vec<ClockTime> {
    let day_end = cal.day_start.minutes + 24 * 60;
    let mut out = BTreeSet::new();
    for t in &rule.times {
        let base = business_time(cal, *t);
        out.insert(base);
        if let Some(step) = rule.repeat_minutes.filter(|s| *s > 0) {
            let mut m = base.minutes + step;
            while m < day_end && m <= ClockTime::MAX_MINUTES {
                out.insert(ClockTime { minutes: m });
                m += step;
            }
        }
    }
    out.into_iter().collect()
}

/// A start time as a time of the business date: before the day start it is the next
/// calendar day's (`01:30` with days from 05:00 is `25:30`), so `01:30` and `25:30` are
/// one start, not two.
pub fn business_time(cal: &Resolved, t: ClockTime) -> ClockTime {
    if t.minutes < cal.day_start.minutes {
        ClockTime {
            minutes: t.minutes + 24 * 60,
        }
    } else {
        t
    }
}

/// The calendar of a root jobnet (always open when it names none).
pub fn calendar_of(project: &Project, root: UnitId) -> Result<Resolved, Diagnostic> {
    match project.units[root]
        .as_net()
        .and_then(|n| n.calendar.as_ref())
    {
        Some(c) => super::resolve(project, &c.name, c.span),
        None => Ok(Resolved::always_open()),
    }
}

fn find_root(project: &Project, name: &str) -> Option<UnitId> {
    project.roots.iter().copied().find(|r| {
        let u = &project.units[*r];
        u.name == name || u.path == name || u.path.trim_start_matches('/') == name
    })
}

fn schedule_of(project: &Project, root: UnitId) -> Option<&Schedule> {
    project.units[root]
        .as_net()
        .and_then(|n| n.schedule.as_ref())
}

/// Runs of `root` whose business dates lie in `from..=to`, by start, with what was skipped.
///
/// Problems (unknown calendar or exclusive jobnet, bad period) go to `diags`; the forecast
/// then holds what could be computed.
pub fn forecast(
    project: &Project,
    root: UnitId,
    from: Date,
    to: Date,
    diags: &mut Diagnostics,
) -> Forecast {
    let supported = YEARS.contains(&from.year()) && YEARS.contains(&to.year());
    if !supported || from > to || (to - from).num_days() > MAX_PERIOD_DAYS {
        diags.push(
            Diagnostic::error(
                codes::E_PERIOD,
                format!("cannot forecast the period {from} to {to}"),
            )
            .hint(format!(
                "give a start date not after the end date, at most {MAX_PERIOD_DAYS} days apart, \
                 in the years 1 to 9999"
            )),
        );
        return Forecast::default();
    }
    let mut out = unexclusive(project, root, from, to, diags);
    let Some(schedule) = schedule_of(project, root) else {
        return out;
    };
    let mut taken: BTreeMap<Date, String> = BTreeMap::new();
    for other in &schedule.exclusive_with {
        let Some(id) = find_root(project, other) else {
            diags.push(
                Diagnostic::error(
                    codes::E_UNKNOWN_JOBNET,
                    format!("`exclusive_with` names `{other}`, which is no root jobnet"),
                )
                .at(schedule.span)
                .hint("name a root jobnet of the project"),
            );
            continue;
        };
        if id == root {
            continue;
        }
        for run in unexclusive(project, id, from, to, &mut Diagnostics::default()).runs {
            taken
                .entry(run.business_date)
                .or_insert_with(|| other.clone());
        }
    }
    let jobnet = project.units[root].name.clone();
    out.runs.retain(|r| match taken.get(&r.business_date) {
        Some(other) => {
            let already = out.skipped.iter().any(|s| {
                s.date == r.business_date
                    && s.rule == r.rule
                    && matches!(s.reason, SkipReason::Exclusive { .. })
            });
            if !already {
                out.skipped.push(Skipped {
                    jobnet: jobnet.clone(),
                    date: r.business_date,
                    rule: r.rule,
                    reason: SkipReason::Exclusive {
                        jobnet: other.clone(),
                    },
                });
            }
            false
        }
        None => true,
    });
    out.skipped.sort_by_key(|s| (s.date, s.rule));
    out
}

/// A forecast that ignores `exclusive_with`.
fn unexclusive(
    project: &Project,
    root: UnitId,
    from: Date,
    to: Date,
    diags: &mut Diagnostics,
) -> Forecast {
    let mut out = Forecast::default();
    let Some(schedule) = schedule_of(project, root) else {
        return out;
    };
    let cal = match calendar_of(project, root) {
        Ok(c) => c,
        Err(d) => {
            diags.push(d);
            return out;
        }
    };
    if let Some(w) = super::holiday_range_warning(&cal, from, to) {
        diags.push(w.at(schedule.span));
    }
    let jobnet = project.units[root].name.clone();
    let reach = i64::from(schedule.rules.iter().map(margin).max().unwrap_or(0));
    let (first, last) = (from - Duration::days(reach), to + Duration::days(reach));
    let days = Days::new(
        &cal,
        month_first(first) - Duration::days(reach),
        month_last(last) + Duration::days(reach),
    );
    let mut seen: BTreeSet<(Date, ClockTime)> = BTreeSet::new();
    for (index, rule) in schedule.rules.iter().enumerate() {
        let times = start_times(&cal, rule);
        for nominal in days_between(first, last) {
            if !selects_in(&days, rule, nominal) {
                continue;
            }
            match decide_in(&days, rule, nominal) {
                Decision::Run { date, reason } if date >= from && date <= to => {
                    for t in &times {
                        if seen.insert((date, *t)) {
                            out.runs.push(Run {
                                jobnet: jobnet.clone(),
                                business_date: date,
                                start: wall_clock(&cal, date, *t),
                                time: *t,
                                rule: index,
                                reason,
                            });
                        }
                    }
                }
                Decision::Skip(reason) if nominal >= from && nominal <= to => {
                    out.skipped.push(Skipped {
                        jobnet: jobnet.clone(),
                        date: nominal,
                        rule: index,
                        reason,
                    });
                }
                _ => {}
            }
        }
    }
    out.runs.sort_by_key(|r| (r.start, r.rule));
    out
}

/// Open and closed days of a resolved calendar over a period, for data files and reports.
pub fn day_kinds(cal: &Resolved, from: Date, to: Date) -> Vec<(Date, DayKind)> {
    days_between(from, to).map(|d| (d, cal.day(d).0)).collect()
}
