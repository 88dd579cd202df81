//! Schedule rules of root jobnets: `sd st cy sh shd cftd ed ln de ejn jc` → [`Schedule`].
//!
//! A JP1 rule `N` is a start date (`sd`) plus an optional processing cycle (`cy`); this
//! module reads the pair as a repeating day rule. Interpretations that are not certain are
//! recorded as approximations; forms the IR cannot express are reported with what to do.
//! Defaults: start time 00:00 (`+` times are relative to the calendar's base time),
//! `sh=ca`, `shd=2`, `cftd` count 1 and limit 10. A cycle of months or years on a computed
//! day (`yyyy/mm/*b` with `cy=(3,m)`) becomes the rule's month cycle; `sd=en` is the
//! registration date the user gives (`LoadOptions::registration_date`).

use super::lower::{approx, ignored, parse_date, split_rule, unsup, weekday, CalCtx, Lower, Marks};
use super::parser::UnitDef;
use super::report::Status;
use crate::diag::Diagnostic;
use crate::ir::{
    CalendarRef, ClockTime, ClosedDayAction, Date, DayRule, MonthCycle, Net, Reckon, Schedule,
    ScheduleRule,
};
use chrono::{Datelike, Weekday};
use std::collections::BTreeMap;

const RULE_KEYS: &[&str] = &["sd", "st", "cy", "sh", "shd", "cftd", "ed", "ln", "de"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum DaySpec {
    Day(u32),
    Open(u32),
    Closed(u32),
    /// `b[-DD]` with its prefix: ' ' plain, '*' open days, '@' closed days.
    Last {
        before: u32,
        prefix: char,
    },
    Weekday(Weekday, Option<i32>),
}

#[derive(Debug, Clone, PartialEq)]
enum StartDate {
    Undefined,
    Registration,
    Spec {
        year: Option<i32>,
        month: Option<u32>,
        day: DaySpec,
    },
}

fn parse_sd(s: &str) -> Option<StartDate> {
    match s {
        "ud" => return Some(StartDate::Undefined),
        "en" => return Some(StartDate::Registration),
        _ => {}
    }
    let parts: Vec<&str> = s.split('/').collect();
    let (year, month, day) = match parts.as_slice() {
        [d] => (None, None, *d),
        [m, d] => (None, Some(*m), *d),
        [y, m, d] => (Some(*y), Some(*m), *d),
        _ => return None,
    };
    let year = match year {
        Some(y) if y.len() == 4 => Some(y.parse::<i32>().ok()?),
        Some(_) => return None,
        None => None,
    };
    let month = match month {
        Some(m) => Some(m.parse::<u32>().ok().filter(|m| (1..=12).contains(m))?),
        None => None,
    };
    let day = day.strip_prefix('+').unwrap_or(day);
    let (prefix, rest) = match day.chars().next()? {
        c @ ('*' | '@') => (c, &day[1..]),
        _ => (' ', day),
    };
    let spec = if let Some(b) = rest.strip_prefix('b') {
        let before = match b.strip_prefix('-') {
            Some(n) => n.parse().ok().filter(|n: &u32| *n <= 31)?,
            None if b.is_empty() => 0,
            None => return None,
        };
        DaySpec::Last { before, prefix }
    } else if let Some(wd) = rest.get(..2).and_then(weekday) {
        if prefix != ' ' {
            return None;
        }
        let n = match rest.get(2..)? {
            "" => None,
            ":b" => Some(-1),
            r => Some(
                r.strip_prefix(':')?
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (1..=5).contains(n))?,
            ),
        };
        DaySpec::Weekday(wd, n)
    } else {
        let n: u32 = rest.parse().ok().filter(|n| (1..=31).contains(n))?;
        match prefix {
            '*' => DaySpec::Open(n),
            '@' => DaySpec::Closed(n),
            _ => DaySpec::Day(n),
        }
    };
    Some(StartDate::Spec {
        year,
        month,
        day: spec,
    })
}

/// The day rule of a spec read as "every month".
fn monthly(day: DaySpec) -> Result<DayRule, String> {
    Ok(match day {
        DaySpec::Day(d) => DayRule::DaysOfMonth(vec![d]),
        DaySpec::Open(n) => DayRule::NthOpenDay(n),
        DaySpec::Closed(n) => DayRule::NthClosedDay(n),
        DaySpec::Last {
            before,
            prefix: ' ',
        } => DayRule::DaysBeforeMonthEnd(before),
        DaySpec::Last {
            before,
            prefix: '*',
        } => DayRule::NthLastOpenDay(before + 1),
        DaySpec::Last { .. } => {
            return Err("closed days counted from the month end: list the dates instead".into())
        }
        DaySpec::Weekday(w, Some(n)) => DayRule::NthWeekday { weekday: w, n },
        DaySpec::Weekday(w, None) => DayRule::Weekdays(vec![w]),
    })
}

fn month_bounds(year: i32, month: u32) -> Option<(Date, Date)> {
    let first = Date::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        Date::from_ymd_opt(year + 1, 1, 1)?
    } else {
        Date::from_ymd_opt(year, month + 1, 1)?
    };
    Some((first, next.pred_opt()?))
}

/// A day rule with its validity window and an approximation note, or what to do.
struct DayPlan {
    rule: DayRule,
    cycle: Option<MonthCycle>,
    from: Option<Date>,
    until: Option<Date>,
    note: Option<String>,
}

fn plan(sd: &StartDate, cycle: Option<(u32, char)>) -> Result<Option<DayPlan>, String> {
    let (year, month, day) = match sd {
        StartDate::Undefined => return Ok(None),
        // Every day from registration is the usual "daily" definition; the first run
        // becomes the first day after deployment.
        StartDate::Registration if cycle == Some((1, 'd')) => {
            return Ok(Some(DayPlan {
                rule: DayRule::Daily,
                cycle: None,
                from: None,
                until: None,
                note: Some(
                    "every day from the registration date: runs daily from deployment on".into(),
                ),
            }))
        }
        StartDate::Registration => {
            return Err(
                "start date is the registration date: give that date (`--registration-date`), or write it as `sd=yyyy/mm/dd`"
                    .into(),
            )
        }
        StartDate::Spec { year, month, day } => (*year, *month, *day),
    };
    if month.is_some() && year.is_none() {
        return Err("month without a year: give `yyyy/mm/dd` or a monthly day".into());
    }
    let ym = year.zip(month);
    let date = match (ym, day) {
        (Some((y, m)), DaySpec::Day(d)) => {
            Some(Date::from_ymd_opt(y, m, d).ok_or_else(|| format!("{y}/{m}/{d} is not a date"))?)
        }
        _ => None,
    };
    let first = ym.and_then(|(y, m)| month_bounds(y, m));
    let plain = |rule| DayPlan {
        rule,
        cycle: None,
        from: None,
        until: None,
        note: None,
    };
    let p = match cycle {
        None => match (date, first) {
            (Some(d), _) => plain(DayRule::Dates(vec![d])),
            // Without a cycle JP1 runs once, on the start date: here the one day of the
            // given month that the monthly form picks (the n-th open day, the month end …).
            (None, Some((f, l))) => {
                let (rule, note) = match day {
                    DaySpec::Weekday(w, None) => (
                        DayRule::NthWeekday { weekday: w, n: 1 },
                        Some(
                            "a weekday without a week number: its first one in the given month"
                                .into(),
                        ),
                    ),
                    other => (monthly(other)?, None),
                };
                // A day counted from the month end that falls before the month: no run.
                if let DayRule::DaysBeforeMonthEnd(n) = rule {
                    if i64::from(n) > (l - f).num_days() {
                        return Err(format!(
                            "{n} days before the end of {}/{:02} is no day of that month, so the rule never runs",
                            f.year(),
                            f.month()
                        ));
                    }
                }
                DayPlan {
                    rule,
                    cycle: None,
                    from: Some(f),
                    until: Some(l),
                    note,
                }
            }
            (None, None) => {
                let rule = monthly(day)?;
                let note = if matches!(rule, DayRule::Weekdays(_)) {
                    "no cycle (`cy=`): assumed every week"
                } else {
                    "no cycle (`cy=`): assumed every month"
                };
                DayPlan {
                    note: Some(note.into()),
                    ..plain(rule)
                }
            }
        },
        // A monthly form every month (from its month, when given).
        Some((1, 'm')) if date.is_none() => DayPlan {
            from: first.map(|(f, _)| f),
            ..plain(monthly(day)?)
        },
        Some((n, unit @ ('m' | 'y'))) => {
            let (months, what) = if unit == 'm' {
                (n, format!("every {n} months"))
            } else {
                (n.saturating_mul(12), format!("every {n} years"))
            };
            if months > MAX_CYCLE_MONTHS {
                return Err(format!("{what} is more than 100 years: list the dates"));
            }
            match (date, first) {
                // From a date: the same day n months on (the month's last day when it is
                // shorter), as for any cycle of months.
                (Some(from), _) => plain(DayRule::EveryNMonths { n: months, from }),
                // The form's day in the first month, then in every n-th month after it.
                (None, Some((f, _))) => match monthly(day)? {
                    DayRule::Weekdays(_) => {
                        return Err(format!(
                            "{what} on a weekday without a week number: give the week (`mo:1`) or list the dates"
                        ))
                    }
                    DayRule::DaysBeforeMonthEnd(b)
                        if b >= longest_month(f.year(), f.month(), months) =>
                    {
                        return Err(format!(
                            "{b} days before the month end is no day of the months {what} from {}/{:02} reaches, so the rule never runs",
                            f.year(),
                            f.month()
                        ))
                    }
                    rule => DayPlan {
                        cycle: Some(MonthCycle {
                            every: months,
                            year: f.year(),
                            month: f.month(),
                        }),
                        from: Some(f),
                        ..plain(rule)
                    },
                },
                (None, None) => {
                    return Err(format!(
                        "{what} from a day without its first month: give it as `yyyy/mm/…`"
                    ))
                }
            }
        }
        Some((n, 'd')) => match (date, first) {
            (Some(from), _) => plain(DayRule::EveryNDays { n, from }),
            (None, None) if n == 1 => plain(DayRule::Daily),
            _ => return Err(format!("every {n} days needs a start date `yyyy/mm/dd`")),
        },
        Some((n, 'w')) => match (date, day) {
            (Some(from), _) => plain(DayRule::EveryNWeeks { n, from }),
            (None, DaySpec::Weekday(w, None)) if n == 1 => DayPlan {
                from: first.map(|(f, _)| f),
                ..plain(DayRule::Weekdays(vec![w]))
            },
            _ => return Err(format!("every {n} weeks needs a start date `yyyy/mm/dd`")),
        },
        Some((_, u)) => return Err(format!("unknown cycle unit `{u}`")),
    };
    Ok(Some(p))
}

/// The longest cycle of months a JP1 rule converts to (as the spec's `month_cycle` allows).
const MAX_CYCLE_MONTHS: u32 = 1200;

/// The most days a month reached by a cycle of `every` months from `year`/`month` can
/// have: a cycle of whole years only ever reaches that month (February: 29 only if one of
/// the years it reaches is a leap year), others reach a 31-day month.
fn longest_month(year: i32, month: u32, every: u32) -> u32 {
    if !every.is_multiple_of(12) {
        return 31;
    }
    // Month lengths repeat every 400 years: the years reached within them tell.
    let step = i32::try_from(every / 12).unwrap_or(i32::MAX);
    (0..400)
        .filter_map(|k| month_bounds(year.saturating_add(step.saturating_mul(k)), month))
        .map(|(_, last)| last.day())
        .max()
        .unwrap_or(31)
}

/// Whether the unit gives a start date: `sd=0,ud` (what ajsprint writes on jobnets without
/// a schedule of their own) gives none.
pub(super) fn has_start_date(u: &UnitDef) -> bool {
    u.params.iter().any(|p| {
        p.key == "sd"
            && split_rule(p)
                .1
                .first()
                .is_some_and(|i| i.text.trim() != "ud")
    })
}

/// The indices of one rule's keys.
#[derive(Default)]
struct RuleKeys {
    by_key: BTreeMap<&'static str, usize>,
}

impl Lower<'_> {
    pub(super) fn schedule(
        &mut self,
        u: &UnitDef,
        marks: &mut Marks,
        cal: Option<&CalCtx>,
        net: &mut Net,
    ) -> Option<Schedule> {
        let mut rules: BTreeMap<u32, RuleKeys> = BTreeMap::new();
        let mut exclusive = Vec::new();
        let mut span = None;
        for (i, p) in u.params.iter().enumerate() {
            let key = p.key.as_str();
            if let Some(&k) = RULE_KEYS.iter().find(|k| **k == key) {
                let n = split_rule(p).0.unwrap_or(1);
                let slot = rules.entry(n).or_default();
                if let Some(prev) = slot.by_key.insert(k, i) {
                    self.diags.push(
                        Diagnostic::warning(
                            "E0319",
                            format!("`{k}=` is repeated for schedule rule {n}"),
                        )
                        .at(p.key_span)
                        .hint("the last occurrence is used"),
                    );
                    marks.set(
                        prev,
                        unsup(format!("overridden by a later `{k}=` for rule {n}")),
                    );
                }
                if k == "sd" && span.is_none() {
                    span = Some(p.key_span);
                }
            } else if key == "ejn" {
                exclusive.push(p.value.first_text().to_string());
                marks.set(i, Status::Mapped);
            } else if key == "jc" {
                net.calendar = Some(CalendarRef {
                    name: super::lower::calendar_name(p.value.first_text()),
                    span: p.key_span,
                });
                marks.set(i, Status::Mapped);
            }
        }
        let mut out = Vec::new();
        for (n, keys) in &rules {
            match self.rule(u, *n, keys, marks, cal) {
                Ok(Some(r)) => out.push(r),
                Ok(None) => {}
                Err(why) => {
                    for (k, &i) in &keys.by_key {
                        if marks.is_unset(i) {
                            marks.set(
                                i,
                                if *k == "sd" {
                                    unsup(why.clone())
                                } else {
                                    unsup(format!("schedule rule {n} is not converted: {why}"))
                                },
                            );
                        }
                    }
                }
            }
        }
        if out.is_empty() && exclusive.is_empty() {
            return None;
        }
        Some(Schedule {
            rules: out,
            exclusive_with: exclusive,
            timezone: super::lower::DEFAULT_TIMEZONE.to_string(),
            span: span.unwrap_or(u.name_span),
        })
    }

    fn rule(
        &mut self,
        u: &UnitDef,
        n: u32,
        keys: &RuleKeys,
        marks: &mut Marks,
        cal: Option<&CalCtx>,
    ) -> Result<Option<ScheduleRule>, String> {
        let rest = |k: &str| -> Option<(usize, Vec<String>)> {
            let i = *keys.by_key.get(k)?;
            let (_, items) = split_rule(&u.params[i]);
            let mut texts = Vec::new();
            for it in items {
                match &it.tuple {
                    Some(t) => texts.extend(t.iter().map(|x| x.text.trim().to_string())),
                    None => texts.push(it.text.trim().to_string()),
                }
            }
            Some((i, texts))
        };
        for k in ["ln", "de"] {
            if let Some(&i) = keys.by_key.get(k) {
                marks.set(
                    i,
                    if k == "ln" {
                        ignored("only nested jobnets follow their parent's rules")
                    } else {
                        unsup("`de=` is not converted: check the rule by hand")
                    },
                );
            }
        }
        let Some((sd_i, sd)) = rest("sd") else {
            return Err(format!("rule {n} has no start date `sd=`"));
        };
        let sd_text = sd.first().cloned().unwrap_or_default();
        let Some(mut start) = parse_sd(&sd_text) else {
            let s = self.bad_value(
                &u.params[sd_i],
                "a start date such as `2024/04/01`, `*1`, `b`, `mo:1`, `en` or `ud`",
            );
            marks.set(sd_i, s);
            return Ok(None);
        };
        if let (StartDate::Registration, Some(d)) = (&start, self.opts.registration_date) {
            start = StartDate::Spec {
                year: Some(d.year()),
                month: Some(d.month()),
                day: DaySpec::Day(d.day()),
            };
        }
        let cycle = match rest("cy") {
            Some((i, t)) => {
                let parsed = match t.as_slice() {
                    [num, unit] => num
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .zip(unit.chars().next().filter(|_| unit.len() == 1)),
                    _ => None,
                };
                match parsed {
                    Some(c) => Some(c),
                    None => {
                        let s = self.bad_value(&u.params[i], "`(n,y|m|w|d)`");
                        marks.set(i, s);
                        return Ok(None);
                    }
                }
            }
            None => None,
        };
        let Some(plan) = plan(&start, cycle)? else {
            for &i in keys.by_key.values() {
                if marks.is_unset(i) {
                    marks.set(i, ignored("the rule has no start date (`sd=ud`)"));
                }
            }
            return Ok(None);
        };
        let mut time = cal
            .and_then(|c| c.day_start)
            .unwrap_or(ClockTime { minutes: 0 });
        if let Some((i, t)) = rest("st") {
            let text = t.first().cloned().unwrap_or_default();
            let parsed = match text.strip_prefix('+') {
                Some(rel) => ClockTime::parse(rel).and_then(|r| {
                    let base = cal.and_then(|c| c.day_start).map_or(0, |b| b.minutes);
                    let m = base + r.minutes;
                    (m <= ClockTime::MAX_MINUTES).then_some(ClockTime { minutes: m })
                }),
                None => ClockTime::parse(&text),
            };
            match parsed {
                Some(c) => {
                    time = c;
                    marks.set(i, Status::Mapped);
                }
                None => {
                    let s = self.bad_value(&u.params[i], "`hh:mm` or `+hh:mm` (up to 47:59)");
                    marks.set(i, s);
                }
            }
        }
        let max_days = match rest("shd") {
            Some((i, t)) => match t.first().and_then(|x| x.parse::<u32>().ok()) {
                Some(d) => {
                    marks.set(i, Status::Mapped);
                    d
                }
                None => {
                    let s = self.bad_value(&u.params[i], "a number of days");
                    marks.set(i, s);
                    2
                }
            },
            None => 2,
        };
        let on_closed_day = match rest("sh") {
            Some((i, t)) => {
                let a = match t.first().map(String::as_str) {
                    Some("be") => Some(ClosedDayAction::Previous { max_days }),
                    Some("af") => Some(ClosedDayAction::Next { max_days }),
                    Some("ca") => Some(ClosedDayAction::Skip),
                    Some("no") => Some(ClosedDayAction::RunAnyway),
                    _ => None,
                };
                match a {
                    Some(a) => {
                        marks.set(i, Status::Mapped);
                        a
                    }
                    None => {
                        let s = self.bad_value(&u.params[i], "`be`, `af`, `ca` or `no`");
                        marks.set(i, s);
                        ClosedDayAction::Skip
                    }
                }
            }
            None => ClosedDayAction::Skip,
        };
        let mut reckon = None;
        if let Some((i, t)) = rest("cftd") {
            let num = |k: usize, d: u32| t.get(k).and_then(|x| x.parse::<u32>().ok()).unwrap_or(d);
            let (days, limit) = (num(1, 1), num(2, 10));
            let s = match t.first().map(String::as_str) {
                Some("no") => Status::Mapped,
                Some(dir @ ("be" | "af")) => {
                    let signed = i32::try_from(days).unwrap_or(i32::MAX);
                    reckon = Some(Reckon {
                        open_days: if dir == "be" { -signed } else { signed },
                        max_days: limit,
                    });
                    Status::Mapped
                }
                Some("db" | "da") => {
                    unsup("reckoning that also counts closed days is not converted: adjust the rule's dates")
                }
                _ => self.bad_value(&u.params[i], "`no`, `be`, `af`, `db` or `da`"),
            };
            marks.set(i, s);
        }
        let mut until = plan.until;
        if let Some((i, t)) = rest("ed") {
            match t.first().and_then(|x| parse_date(x)) {
                Some(d) => {
                    until = Some(until.map_or(d, |u| u.min(d)));
                    marks.set(i, Status::Mapped);
                }
                None => {
                    let s = self.bad_value(&u.params[i], "a date `yyyy/mm/dd`");
                    marks.set(i, s);
                }
            }
        }
        marks.set(
            sd_i,
            match &plan.note {
                Some(n) => approx(n.clone()),
                None => Status::Mapped,
            },
        );
        if let Some(&i) = keys.by_key.get("cy") {
            if marks.is_unset(i) {
                marks.set(i, Status::Mapped);
            }
        }
        Ok(Some(ScheduleRule {
            name: Some(n.to_string()),
            days: plan.rule,
            times: vec![time],
            on_closed_day,
            reckon,
            repeat_minutes: None,
            month_cycle: plan.cycle,
            valid_from: plan.from,
            valid_until: until,
            span: u.params[sd_i].key_span,
        }))
    }

    /// Nested jobnets run with their root: their rules only matter when they define
    /// their own start dates, which the IR cannot express.
    pub(super) fn nested_schedule(&mut self, u: &UnitDef, marks: &mut Marks) {
        let own = has_start_date(u);
        for (i, p) in u.params.iter().enumerate() {
            let k = p.key.as_str();
            if matches!(k, "op" | "cl" | "sdd" | "stt" | "md") {
                marks.set(
                    i,
                    unsup("calendar days on a nested jobnet: nested jobnets follow their root's calendar; put them on the root jobnet or its group"),
                );
                continue;
            }
            if !(RULE_KEYS.contains(&k) || k == "ejn" || k == "jc") {
                continue;
            }
            let s = if k == "ln" || !own {
                ignored("nested jobnets run with their root jobnet")
            } else {
                unsup("nested jobnet with its own schedule: it runs with its root; make it a root jobnet if it must run on its own dates")
            };
            marks.set(i, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd(s: &str) -> StartDate {
        parse_sd(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn start_date_forms() {
        assert_eq!(sd("ud"), StartDate::Undefined);
        assert_eq!(sd("en"), StartDate::Registration);
        let spec = |y, m, day| StartDate::Spec {
            year: y,
            month: m,
            day,
        };
        assert_eq!(
            sd("2014/12/12"),
            spec(Some(2014), Some(12), DaySpec::Day(12))
        );
        assert_eq!(sd("*12"), spec(None, None, DaySpec::Open(12)));
        assert_eq!(
            sd("2020/04/@01"),
            spec(Some(2020), Some(4), DaySpec::Closed(1))
        );
        assert_eq!(
            sd("2020/05/+b-10"),
            spec(
                Some(2020),
                Some(5),
                DaySpec::Last {
                    before: 10,
                    prefix: ' '
                }
            )
        );
        assert_eq!(
            sd("@b-5"),
            spec(
                None,
                None,
                DaySpec::Last {
                    before: 5,
                    prefix: '@'
                }
            )
        );
        assert_eq!(
            sd("+mo:1"),
            spec(None, None, DaySpec::Weekday(Weekday::Mon, Some(1)))
        );
        assert_eq!(
            sd("fr:b"),
            spec(None, None, DaySpec::Weekday(Weekday::Fri, Some(-1)))
        );
        assert_eq!(
            sd("th"),
            spec(None, None, DaySpec::Weekday(Weekday::Thu, None))
        );
        assert!(parse_sd("2014/13/01").is_none());
        assert!(parse_sd("*mo").is_none());
        assert!(parse_sd("zz").is_none());
        assert!(parse_sd("1墜").is_none());
        assert!(parse_sd("*b-4294967295").is_none());
        assert!(parse_sd("*墜").is_none());
    }

    #[test]
    fn plans() {
        let d = |y, m, dd| Date::from_ymd_opt(y, m, dd).unwrap();
        let p = plan(&sd("2024/04/01"), Some((3, 'd'))).unwrap().unwrap();
        assert_eq!(
            p.rule,
            DayRule::EveryNDays {
                n: 3,
                from: d(2024, 4, 1)
            }
        );
        let p = plan(&sd("*1"), Some((1, 'm'))).unwrap().unwrap();
        assert_eq!((p.rule, p.note), (DayRule::NthOpenDay(1), None));
        // No cycle: one run, on the day of the given month the monthly form picks (exact).
        let p = plan(&sd("2024/04/*b"), None).unwrap().unwrap();
        assert_eq!((p.rule, p.note), (DayRule::NthLastOpenDay(1), None));
        assert_eq!(
            (p.from, p.until),
            (Some(d(2024, 4, 1)), Some(d(2024, 4, 30)))
        );
        // A form that picks no day of the month is an error, not a silent rule.
        let Err(e) = plan(&sd("2025/02/b-29"), None) else {
            panic!("a day before February")
        };
        assert!(e.contains("no day of that month"), "{e}");
        assert!(plan(&sd("2025/02/b-27"), None).is_ok());
        let p = plan(&sd("2024/04/su"), None).unwrap().unwrap();
        assert_eq!(
            p.rule,
            DayRule::NthWeekday {
                weekday: Weekday::Sun,
                n: 1
            }
        );
        assert!(p.note.is_some());
        let p = plan(&sd("mo"), Some((1, 'w'))).unwrap().unwrap();
        assert_eq!(p.rule, DayRule::Weekdays(vec![Weekday::Mon]));
        assert!(plan(&sd("ud"), None).unwrap().is_none());
        assert!(plan(&sd("en"), None).is_err());
        let p = plan(&sd("en"), Some((1, 'd'))).unwrap().unwrap();
        assert_eq!(p.rule, DayRule::Daily);
        assert!(p.note.is_some());
        let p = plan(&sd("2024/01/31"), Some((2, 'y'))).unwrap().unwrap();
        assert_eq!(
            p.rule,
            DayRule::EveryNMonths {
                n: 24,
                from: d(2024, 1, 31)
            }
        );
        let p = plan(&sd("2024/06/*2"), Some((6, 'm'))).unwrap().unwrap();
        assert_eq!(p.rule, DayRule::NthOpenDay(2));
        assert_eq!(
            p.cycle,
            Some(MonthCycle {
                every: 6,
                year: 2024,
                month: 6
            })
        );
        assert_eq!((p.from, p.until), (Some(d(2024, 6, 1)), None));
        assert!(plan(&sd("*2"), Some((6, 'm'))).is_err());
        // A monthly cycle from a date keeps the day, or the month's last (31 → 28 in Feb).
        let p = plan(&sd("2027/01/31"), Some((1, 'm'))).unwrap().unwrap();
        assert_eq!(
            p.rule,
            DayRule::EveryNMonths {
                n: 1,
                from: d(2027, 1, 31)
            }
        );
        // Cycles the spec cannot hold, and forms no reached month has, are errors.
        assert!(plan(&sd("2027/01/31"), Some((101, 'y'))).is_err());
        assert!(plan(&sd("2027/01/31"), Some((100, 'y'))).is_ok());
        let Err(e) = plan(&sd("2027/02/b-29"), Some((1, 'y'))) else {
            panic!("February has no day 29 days before its end")
        };
        assert!(e.contains("never runs"), "{e}");
        assert!(
            plan(&sd("2027/02/b-28"), Some((1, 'y'))).is_ok(),
            "in leap years"
        );
        assert!(
            plan(&sd("2027/02/b-29"), Some((6, 'm'))).is_ok(),
            "August has 31 days"
        );
        assert!(plan(&sd("2027/04/b-30"), Some((12, 'm'))).is_err());
        // Every second year from 2027 reaches no leap year: February never has 29 days.
        assert!(plan(&sd("2027/02/b-28"), Some((2, 'y'))).is_err());
        assert!(plan(&sd("2028/02/b-28"), Some((2, 'y'))).is_ok());
        assert!(plan(&sd("2027/02/b-28"), Some((3, 'y'))).is_ok(), "2036");
        assert!(plan(&sd("b"), Some((1, 'y'))).is_err());
        assert!(plan(&sd("12/12"), None).is_err());
        assert!(plan(&sd("2023/02/29"), None).is_err());
    }
}
