//! Japanese national holidays (国民の祝日 and the days the holiday law makes rest days),
//! computed by rule for 1955–2099 so calendars need no yearly data file.
//!
//! Rules follow the Act on National Holidays (昭和23年法律第178号) and its amendments:
//! fixed days and their moves, Happy Monday (2000/2003), the equinox days by the usual
//! formula (valid 1900–2099), substitute holidays (1973-04-12 rule: the Monday after a
//! Sunday holiday; 2007 rule: the next day that is no holiday), citizens' holidays
//! (from 1986: a day between two holidays), and the one-off days of special laws.

use crate::ir::Date;
use chrono::{Datelike, Duration, Weekday};

/// The first and last year whose holidays are computed (the equinox formula's range).
pub const FIRST_YEAR: i32 = 1955;
pub const LAST_YEAR: i32 = 2099;

/// Why a day is a holiday; substitute and citizens' holidays matter to the closing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayKind {
    /// A national holiday (国民の祝日) or a one-off holiday of a special law.
    National,
    /// 振替休日: the rest day for a holiday that fell on a Sunday.
    Substitute,
    /// 国民の休日: a day between two national holidays.
    Citizens,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub date: Date,
    /// Japanese name; a substitute holiday is named after the holiday it replaces.
    pub name: String,
    pub kind: HolidayKind,
}

fn ymd(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd_opt(y, m, d).unwrap_or(Date::MIN)
}

/// The n-th (1-based) given weekday of a month.
fn nth_weekday(y: i32, m: u32, wd: Weekday, n: u32) -> Date {
    let first = ymd(y, m, 1);
    let offset = (7 + wd.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days(i64::from(offset + 7 * (n - 1)))
}

/// Day of March of the vernal equinox (春分日) by the standard formula.
fn vernal_equinox_day(y: i32) -> u32 {
    equinox(y, 20.8357, 20.8431)
}

/// Day of September of the autumnal equinox (秋分日) by the standard formula.
fn autumnal_equinox_day(y: i32) -> u32 {
    equinox(y, 23.2588, 23.2488)
}

/// `int(base + 0.242194 (y-1980) - int((y-ref)/4))`, with the constants of 1900–1979 and
/// 1980–2099; the inner division truncates toward zero as in the published formula.
fn equinox(y: i32, base_1900: f64, base_1980: f64) -> u32 {
    let (base, reference) = if y < 1980 {
        (base_1900, 1983)
    } else {
        (base_1980, 1980)
    };
    let leap_steps = f64::from((y - reference) / 4);
    (base + 0.242194 * f64::from(y - 1980) - leap_steps).floor() as u32
}

/// The national holidays (国民の祝日) of a year and the one-off days, in no order.
fn national(y: i32) -> Vec<(Date, &'static str)> {
    let mut v: Vec<(Date, &'static str)> = vec![(ymd(y, 1, 1), "元日")];
    v.push(if y <= 1999 {
        (ymd(y, 1, 15), "成人の日")
    } else {
        (nth_weekday(y, 1, Weekday::Mon, 2), "成人の日")
    });
    if y >= 1967 {
        v.push((ymd(y, 2, 11), "建国記念の日"));
    }
    if y >= 2020 {
        v.push((ymd(y, 2, 23), "天皇誕生日"));
    }
    v.push((ymd(y, 3, vernal_equinox_day(y)), "春分の日"));
    v.push((
        ymd(y, 4, 29),
        match y {
            ..=1988 => "天皇誕生日",
            1989..=2006 => "みどりの日",
            _ => "昭和の日",
        },
    ));
    v.push((ymd(y, 5, 3), "憲法記念日"));
    if y >= 2007 {
        v.push((ymd(y, 5, 4), "みどりの日"));
    }
    v.push((ymd(y, 5, 5), "こどもの日"));
    match y {
        1996..=2002 => v.push((ymd(y, 7, 20), "海の日")),
        2020 => v.push((ymd(y, 7, 23), "海の日")),
        2021 => v.push((ymd(y, 7, 22), "海の日")),
        2003.. => v.push((nth_weekday(y, 7, Weekday::Mon, 3), "海の日")),
        _ => {}
    }
    match y {
        2020 => v.push((ymd(y, 8, 10), "山の日")),
        2021 => v.push((ymd(y, 8, 8), "山の日")),
        2016.. => v.push((ymd(y, 8, 11), "山の日")),
        _ => {}
    }
    match y {
        1966..=2002 => v.push((ymd(y, 9, 15), "敬老の日")),
        2003.. => v.push((nth_weekday(y, 9, Weekday::Mon, 3), "敬老の日")),
        _ => {}
    }
    v.push((ymd(y, 9, autumnal_equinox_day(y)), "秋分の日"));
    match y {
        1966..=1999 => v.push((ymd(y, 10, 10), "体育の日")),
        2000..=2019 => v.push((nth_weekday(y, 10, Weekday::Mon, 2), "体育の日")),
        2020 => v.push((ymd(y, 7, 24), "スポーツの日")),
        2021 => v.push((ymd(y, 7, 23), "スポーツの日")),
        2022.. => v.push((nth_weekday(y, 10, Weekday::Mon, 2), "スポーツの日")),
        _ => {}
    }
    v.push((ymd(y, 11, 3), "文化の日"));
    v.push((ymd(y, 11, 23), "勤労感謝の日"));
    if (1989..=2018).contains(&y) {
        v.push((ymd(y, 12, 23), "天皇誕生日"));
    }
    v.extend(
        ONE_OFF
            .iter()
            .filter(|(yy, ..)| *yy == y)
            .map(|&(yy, m, d, name)| (ymd(yy, m, d), name)),
    );
    v
}

/// Holidays made by special laws for one day only.
const ONE_OFF: [(i32, u32, u32, &str); 6] = [
    (1959, 4, 10, "皇太子・明仁親王の結婚の儀"),
    (1989, 2, 24, "昭和天皇の大喪の礼"),
    (1990, 11, 12, "即位の礼正殿の儀"),
    (1993, 6, 9, "皇太子・皇太子徳仁親王の結婚の儀"),
    (2019, 5, 1, "天皇の即位の日"),
    (2019, 10, 22, "即位礼正殿の儀"),
];

/// Every holiday of `year`, sorted by date; empty outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn holidays_of_year(year: i32) -> Vec<Holiday> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Vec::new();
    }
    let base = national(year);
    let is_national = |d: Date| base.iter().any(|(x, _)| *x == d);
    let mut out: Vec<Holiday> = base
        .iter()
        .map(|&(date, name)| Holiday {
            date,
            name: name.to_string(),
            kind: HolidayKind::National,
        })
        .collect();
    let substitute_from = ymd(1973, 4, 12);
    for &(date, name) in &base {
        if date.weekday() != Weekday::Sun || date < substitute_from {
            continue;
        }
        let mut day = date + Duration::days(1);
        if year >= 2007 {
            while is_national(day) {
                day += Duration::days(1);
            }
        } else if is_national(day) {
            continue;
        }
        out.push(Holiday {
            date: day,
            name: format!("{name} 振替休日"),
            kind: HolidayKind::Substitute,
        });
    }
    if year >= 1986 {
        for &(date, _) in &base {
            let mid = date + Duration::days(1);
            let taken = |d: Date| out.iter().any(|h| h.date == d);
            if mid.weekday() != Weekday::Sun && !taken(mid) && is_national(mid + Duration::days(1))
            {
                out.push(Holiday {
                    date: mid,
                    name: "国民の休日".to_string(),
                    kind: HolidayKind::Citizens,
                });
            }
        }
    }
    out.sort_by_key(|h| h.date);
    out.dedup_by_key(|h| h.date);
    out
}

/// The holiday on `date`, if any.
pub fn holiday(date: Date) -> Option<Holiday> {
    holidays_of_year(date.year())
        .into_iter()
        .find(|h| h.date == date)
}

/// Every holiday from `from` to `to` inclusive.
pub fn holidays_between(from: Date, to: Date) -> Vec<Holiday> {
    (from.year()..=to.year())
        .flat_map(holidays_of_year)
        .filter(|h| h.date >= from && h.date <= to)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(y: i32) -> Vec<String> {
        holidays_of_year(y)
            .iter()
            .map(|h| format!("{} {}", h.date.format("%m-%d"), h.name))
            .collect()
    }

    #[test]
    fn year_2019_abdication_and_enthronement() {
        let n = names(2019);
        for want in [
            "04-29 昭和の日",
            "04-30 国民の休日",
            "05-01 天皇の即位の日",
            "05-02 国民の休日",
            "05-06 こどもの日 振替休日",
            "10-22 即位礼正殿の儀",
        ] {
            assert!(n.contains(&want.to_string()), "{want} missing from {n:?}");
        }
        assert!(
            !n.iter().any(|s| s.starts_with("12-23")),
            "no emperor's birthday in 2019"
        );
        assert!(!n.iter().any(|s| s.starts_with("02-23")));
    }

    #[test]
    fn olympic_moves_2020_2021() {
        let n = names(2020);
        assert!(n.contains(&"07-23 海の日".into()));
        assert!(n.contains(&"07-24 スポーツの日".into()));
        assert!(n.contains(&"08-10 山の日".into()));
        assert!(!n.iter().any(|s| s.starts_with("10-")), "{n:?}");
        let n = names(2021);
        assert!(n.contains(&"07-22 海の日".into()));
        assert!(n.contains(&"07-23 スポーツの日".into()));
        assert!(n.contains(&"08-08 山の日".into()));
        assert!(n.contains(&"08-09 山の日 振替休日".into()));
    }

    #[test]
    fn substitute_rules_1973_and_2007() {
        // 1973-02-11 was a Sunday before the law of 1973-04-12: no substitute.
        assert!(holiday(ymd(1973, 2, 12)).is_none());
        // 1973-04-29 Sunday: the first substitute holiday.
        assert_eq!(
            holiday(ymd(1973, 4, 30)).unwrap().kind,
            HolidayKind::Substitute
        );
        // 2008-05-04 Sunday (みどりの日): the substitute moves past 05-05 to 05-06.
        assert_eq!(
            holiday(ymd(2008, 5, 6)).unwrap().name,
            "みどりの日 振替休日"
        );
        // 2006-05-03 Wednesday … 05-04 was a citizens' holiday before 2007.
        assert_eq!(holiday(ymd(2006, 5, 4)).unwrap().name, "国民の休日");
        // 1985 had no citizens' holiday yet.
        assert!(holiday(ymd(1985, 5, 4)).is_none());
    }

    #[test]
    fn silver_week_2015_and_equinoxes() {
        assert_eq!(holiday(ymd(2015, 9, 22)).unwrap().name, "国民の休日");
        assert_eq!(vernal_equinox_day(2024), 20);
        assert_eq!(autumnal_equinox_day(2024), 22);
        assert_eq!(vernal_equinox_day(2099), 20);
        assert_eq!(autumnal_equinox_day(1979), 24);
    }

    #[test]
    fn out_of_range_years_are_empty() {
        assert!(holidays_of_year(1954).is_empty());
        assert!(holidays_of_year(2100).is_empty());
        assert_eq!(
            holidays_between(ymd(2026, 12, 31), ymd(2027, 1, 1)).len(),
            1
        );
    }
}
