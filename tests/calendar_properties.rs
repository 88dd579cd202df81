//! Properties of forecasts over random calendars and rules: runs stay in the period, land
//! on open days unless told otherwise, agree with `decide`, and a period split in two
//! forecasts the same runs as the whole.

use chrono::{Datelike, Duration, Weekday};
use jobnet2sfn::calendar::engine::{
    business_time, calendar_of, decide, forecast, Decision, Run, RunReason,
};
use jobnet2sfn::diag::{Diagnostics, FileId, Span};
use jobnet2sfn::ir::*;
use proptest::prelude::*;

fn sp() -> Span {
    Span::new(FileId(0), 1, 1, 0)
}

fn day(offset: u32) -> Date {
    Date::from_ymd_opt(2026, 11, 1).unwrap() + Duration::days(i64::from(offset))
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn day_rule() -> impl Strategy<Value = DayRule> {
    prop_oneof![
        Just(DayRule::Daily),
        prop::collection::vec(0usize..7, 1..3)
            .prop_map(|v| DayRule::Weekdays(v.into_iter().map(|i| WEEKDAYS[i]).collect())),
        prop::collection::vec(1u32..=31, 1..3).prop_map(DayRule::DaysOfMonth),
        (1u32..6).prop_map(DayRule::NthOpenDay),
        (1u32..6).prop_map(DayRule::NthClosedDay),
        (0u32..6).prop_map(DayRule::DaysBeforeMonthEnd),
        (1u32..6).prop_map(DayRule::NthLastOpenDay),
        (0usize..7, prop_oneof![Just(-1i32), 1i32..=5]).prop_map(|(w, n)| DayRule::NthWeekday {
            weekday: WEEKDAYS[w],
            n
        }),
        prop::collection::vec(0u32..400, 1..4)
            .prop_map(|v| DayRule::Dates(v.into_iter().map(day).collect())),
        (1u32..10, 0u32..60).prop_map(|(n, f)| DayRule::EveryNDays { n, from: day(f) }),
        (1u32..4, 0u32..60).prop_map(|(n, f)| DayRule::EveryNWeeks { n, from: day(f) }),
        (1u32..4, 0u32..60).prop_map(|(n, f)| DayRule::EveryNMonths { n, from: day(f) }),
    ]
}

fn rule() -> impl Strategy<Value = ScheduleRule> {
    (
        day_rule(),
        prop::collection::btree_set(0u32..(36 * 60), 1..3),
        0u8..4,
        1u32..6,
        prop::option::of((prop_oneof![-3i32..=-1, 1i32..=3], 2u32..12)),
        prop::option::of((1u32..5, 0u32..14)),
    )
        .prop_map(
            |(days, times, action, max_days, reckon, cycle)| ScheduleRule {
                name: None,
                days,
                times: times
                    .into_iter()
                    .map(|minutes| ClockTime { minutes })
                    .collect(),
                on_closed_day: match action {
                    0 => ClosedDayAction::Skip,
                    1 => ClosedDayAction::RunAnyway,
                    2 => ClosedDayAction::Previous { max_days },
                    _ => ClosedDayAction::Next { max_days },
                },
                reckon: reckon.map(|(open_days, max_days)| Reckon {
                    open_days,
                    max_days,
                }),
                repeat_minutes: None,
                month_cycle: cycle.map(|(every, m)| MonthCycle {
                    every,
                    year: 2026 + i32::from(m >= 12),
                    month: m % 12 + 1,
                }),
                valid_from: None,
                valid_until: None,
                span: sp(),
            },
        )
}

fn calendar() -> impl Strategy<Value = Calendar> {
    (
        prop::collection::vec(prop::option::of(prop::bool::ANY), 7),
        prop::bool::ANY,
        prop::collection::vec((0u32..400, prop::bool::ANY), 0..20),
        0u32..(6 * 60),
    )
        .prop_map(|(w, holidays, dates, start)| {
            let mut weekdays = [None; 7];
            for (slot, open) in weekdays.iter_mut().zip(w) {
                *slot = open.map(|o| if o { DayKind::Open } else { DayKind::Closed });
            }
            Calendar {
                name: "c".into(),
                inherits: None,
                weekdays,
                japanese_holidays: Some(holidays),
                dates: dates
                    .into_iter()
                    .map(|(d, o)| (day(d), if o { DayKind::Open } else { DayKind::Closed }))
                    .collect(),
                day_start: Some(ClockTime { minutes: start }),
                span: sp(),
            }
        })
}

fn project(cal: Calendar, rules: Vec<ScheduleRule>) -> (Project, UnitId) {
    let mut p = Project::default();
    p.calendars.alloc(cal);
    let net = Net {
        schedule: Some(Schedule {
            rules,
            exclusive_with: Vec::new(),
            timezone: "Asia/Tokyo".into(),
            span: sp(),
        }),
        calendar: Some(CalendarRef {
            name: "c".into(),
            span: sp(),
        }),
        ..Net::default()
    };
    let root = p
        .units
        .alloc(Unit::new("j", "/j", UnitKind::Net(net), sp()));
    p.roots.push(root);
    (p, root)
}

fn key(r: &Run) -> (Date, ClockTime) {
    (r.business_date, r.time)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn forecasts_are_consistent(
        cal in calendar(),
        rules in prop::collection::vec(rule(), 1..3),
        start in 30u32..300,
        len in 1u32..60,
        split in 0u32..60,
    ) {
        let (p, root) = project(cal, rules.clone());
        let resolved = calendar_of(&p, root).unwrap();
        let (from, to) = (day(start), day(start + len));
        let mut diags = Diagnostics::default();
        let f = forecast(&p, root, from, to, &mut diags);
        prop_assert!(diags.items.is_empty());
        let mut seen = std::collections::BTreeSet::new();
        for r in &f.runs {
            prop_assert!(r.business_date >= from && r.business_date <= to);
            prop_assert!(seen.insert(key(r)), "duplicate run {:?}", r);
            let rule = &rules[r.rule];
            let nominal = match r.reason {
                RunReason::OpenDay | RunReason::ClosedDay => r.business_date,
                RunReason::Shifted { from } | RunReason::Reckoned { from, .. } => from,
            };
            if r.reason != RunReason::ClosedDay {
                prop_assert!(resolved.is_open(r.business_date), "{:?} on a closed day", r);
            }
            // A month cycle picks the nominal date's month, whatever shift follows.
            if let Some(c) = rule.month_cycle {
                let months = (nominal.year() - c.year) * 12 + nominal.month() as i32 - c.month as i32;
                prop_assert!(months >= 0 && months % c.every as i32 == 0, "{:?} outside {:?}", r, c);
            }
            prop_assert_eq!(
                decide(&resolved, rule, nominal),
                Some(Decision::Run { date: r.business_date, reason: r.reason })
            );
            prop_assert!(rule.times.iter().any(|t| business_time(&resolved, *t) == r.time));
            prop_assert!(r.time >= resolved.day_start);
            prop_assert_eq!(r.start.date() >= r.business_date, true);
        }
        // The same runs (by date and time) when the period is forecast in two halves.
        let mid = day(start + split.min(len));
        let mut halves: Vec<(Date, ClockTime)> = Vec::new();
        for (a, b) in [(from, mid), (mid + Duration::days(1), to)] {
            if a <= b {
                let h = forecast(&p, root, a, b, &mut Diagnostics::default());
                halves.extend(h.runs.iter().map(key));
            }
        }
        halves.sort();
        let mut whole: Vec<(Date, ClockTime)> = f.runs.iter().map(key).collect();
        whole.sort();
        prop_assert_eq!(halves, whole);
        prop_assert!(f.runs.windows(2).all(|w| w[0].start <= w[1].start));
        prop_assert!(f.runs.iter().all(|r| r.start.year() >= 2026));
    }
}
