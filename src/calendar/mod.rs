//! Business calendars, Japanese national holidays and schedule rules.
//!
//! A [`Resolved`] calendar flattens inheritance into one open/closed function of a date;
//! [`engine`] turns a root jobnet's schedule into the runs of a period (the forecast),
//! and [`plan`] renders a forecast for operators.

pub mod engine;
pub mod holidays;
pub mod plan;

use crate::diag::{Diagnostic, Span};
use crate::ir::{Calendar, ClockTime, Date, DayKind, Project};
use chrono::Datelike;
use std::collections::BTreeMap;

/// Calendar diagnostic codes (E06xx).
pub mod codes {
    pub const E_UNKNOWN_CALENDAR: &str = "E0601";
    pub const E_INHERIT_CYCLE: &str = "E0602";
    pub const W_HOLIDAY_RANGE: &str = "W0603";
    pub const E_UNKNOWN_JOBNET: &str = "E0604";
    pub const E_PERIOD: &str = "E0605";
    pub const E_FORECAST: &str = "E0607";
}

/// Why a day is open or closed, most specific first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayReason {
    /// Listed in the calendar's (or an inherited calendar's) `dates`.
    Explicit,
    /// A Japanese national holiday, with its name.
    Holiday(String),
    /// The weekday's setting (open when no calendar says otherwise).
    Weekday,
}

/// A calendar with its inheritance chain applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub name: String,
    /// Monday first; weekdays no calendar in the chain sets are open.
    pub weekdays: [DayKind; 7],
    pub japanese_holidays: bool,
    /// Explicit dates after every override (a child's entry beats its parent's).
    pub dates: BTreeMap<Date, DayKind>,
    /// Start of the business day (00:00 unless set).
    pub day_start: ClockTime,
}

impl Resolved {
    /// The calendar used by a jobnet without one: every day open, days start at midnight.
    pub fn always_open() -> Self {
        Resolved {
            name: String::new(),
            weekdays: [DayKind::Open; 7],
            japanese_holidays: false,
            dates: BTreeMap::new(),
            day_start: ClockTime { minutes: 0 },
        }
    }

    /// Open or closed, and why: explicit dates beat holidays, holidays beat weekdays.
    pub fn day(&self, date: Date) -> (DayKind, DayReason) {
        if let Some(kind) = self.dates.get(&date) {
            return (*kind, DayReason::Explicit);
        }
        if self.japanese_holidays {
            if let Some(h) = holidays::holiday(date) {
                return (DayKind::Closed, DayReason::Holiday(h.name));
            }
        }
        let wd = date.weekday().num_days_from_monday() as usize;
        (self.weekdays[wd], DayReason::Weekday)
    }

    pub fn is_open(&self, date: Date) -> bool {
        self.day(date).0 == DayKind::Open
    }
}

/// Resolves the calendar called `name` through its `inherits` chain.
///
/// `span` locates the reference for the "unknown calendar" error.
pub fn resolve(project: &Project, name: &str, span: Span) -> Result<Resolved, Diagnostic> {
    let mut chain: Vec<&Calendar> = Vec::new();
    let mut next = Some((name.to_string(), span));
    while let Some((n, at)) = next.take() {
        let Some(id) = project.calendar_by_name(&n) else {
            let known: Vec<&str> = project
                .calendars
                .iter()
                .map(|(_, c)| c.name.as_str())
                .collect();
            return Err(Diagnostic::error(
                codes::E_UNKNOWN_CALENDAR,
                format!("unknown calendar `{n}`"),
            )
            .at(at)
            .hint(if known.is_empty() {
                "define it under `calendars`".to_string()
            } else {
                format!("known calendars: {}", known.join(", "))
            }));
        };
        let cal = &project.calendars[id];
        if chain.iter().any(|c| c.name == cal.name) {
            let path: Vec<&str> = chain.iter().map(|c| c.name.as_str()).collect();
            return Err(Diagnostic::error(
                codes::E_INHERIT_CYCLE,
                format!(
                    "calendar `{}` inherits from itself ({} -> {})",
                    cal.name,
                    path.join(" -> "),
                    cal.name
                ),
            )
            .at(cal.span)
            .hint("remove one `inherits` of the cycle"));
        }
        chain.push(cal);
        next = cal.inherits.clone().map(|p| (p, cal.span));
    }
    let mut out = Resolved::always_open();
    out.name = name.to_string();
    for cal in chain.iter().rev() {
        for (slot, kind) in out.weekdays.iter_mut().zip(cal.weekdays) {
            if let Some(k) = kind {
                *slot = k;
            }
        }
        if let Some(h) = cal.japanese_holidays {
            out.japanese_holidays = h;
        }
        for (date, kind) in &cal.dates {
            out.dates.insert(*date, *kind);
        }
        if let Some(t) = cal.day_start {
            out.day_start = t;
        }
    }
    Ok(out)
}

/// A warning when a holiday calendar is asked about years the holiday rules do not cover.
pub fn holiday_range_warning(cal: &Resolved, from: Date, to: Date) -> Option<Diagnostic> {
    let covered = holidays::FIRST_YEAR..=holidays::LAST_YEAR;
    (cal.japanese_holidays && (!covered.contains(&from.year()) || !covered.contains(&to.year())))
        .then(|| {
            Diagnostic::warning(
                codes::W_HOLIDAY_RANGE,
                format!(
                    "calendar `{}`: Japanese holidays are known for {}–{} only; {from}..{to} \
                     treats other years as having none",
                    cal.name,
                    holidays::FIRST_YEAR,
                    holidays::LAST_YEAR
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::FileId;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn sp() -> Span {
        Span::new(FileId(0), 1, 1, 1)
    }

    fn cal(name: &str, inherits: Option<&str>) -> Calendar {
        Calendar {
            name: name.into(),
            inherits: inherits.map(Into::into),
            weekdays: [None; 7],
            japanese_holidays: None,
            dates: Vec::new(),
            day_start: None,
            span: sp(),
        }
    }

    #[test]
    fn inheritance_overrides_in_order() {
        let mut p = Project::default();
        let mut base = cal("base", None);
        base.weekdays[5] = Some(DayKind::Closed);
        base.weekdays[6] = Some(DayKind::Closed);
        base.dates.push((d("2027-12-31"), DayKind::Closed));
        let mut jp = cal("jp", Some("base"));
        jp.japanese_holidays = Some(true);
        jp.day_start = ClockTime::new(5, 0);
        jp.dates.push((d("2027-12-31"), DayKind::Open));
        jp.dates.push((d("2027-01-01"), DayKind::Open));
        jp.weekdays[5] = Some(DayKind::Open);
        p.calendars.alloc(base);
        p.calendars.alloc(jp);
        let r = resolve(&p, "jp", sp()).unwrap();
        assert_eq!(r.day_start.minutes, 300);
        assert!(r.is_open(d("2027-12-31")), "child's date beats parent's");
        assert!(
            r.is_open(d("2027-01-01")),
            "explicit date beats the holiday"
        );
        assert!(r.is_open(d("2027-01-02")), "Saturday reopened by the child");
        assert!(!r.is_open(d("2027-01-03")), "Sunday closed by the parent");
        assert_eq!(
            r.day(d("2027-01-11")),
            (DayKind::Closed, DayReason::Holiday("成人の日".into()))
        );
        let b = resolve(&p, "base", sp()).unwrap();
        assert!(b.is_open(d("2027-01-11")), "base has no holidays");
    }

    #[test]
    fn unknown_and_cyclic_calendars_are_errors() {
        let mut p = Project::default();
        p.calendars.alloc(cal("a", Some("b")));
        p.calendars.alloc(cal("b", Some("a")));
        p.calendars.alloc(cal("c", Some("nope")));
        let e = resolve(&p, "a", sp()).unwrap_err();
        assert_eq!(e.code, codes::E_INHERIT_CYCLE);
        assert!(e.message.contains("a -> b -> a"), "{}", e.message);
        let e = resolve(&p, "c", sp()).unwrap_err();
        assert_eq!(e.code, codes::E_UNKNOWN_CALENDAR);
        assert!(e.message.contains("nope"));
        assert!(e.hint.unwrap().contains("a, b, c"));
    }

    #[test]
    fn holiday_range_warning_only_outside_known_years() {
        let mut r = Resolved::always_open();
        r.japanese_holidays = true;
        assert!(holiday_range_warning(&r, d("2027-01-01"), d("2027-12-31")).is_none());
        assert!(holiday_range_warning(&r, d("2099-12-01"), d("2100-01-31")).is_some());
        r.japanese_holidays = false;
        assert!(holiday_range_warning(&r, d("2099-12-01"), d("2100-01-31")).is_none());
    }
}
