//! Dates and clock times as the contract uses them (times of a business date run to 47:59).

use std::fmt;

pub type Date = chrono::NaiveDate;

/// Minutes after midnight of the business date; may exceed 24:00 (up to 47:59).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    pub minutes: u32,
}

impl ClockTime {
    pub const MAX_MINUTES: u32 = 47 * 60 + 59;

    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        let minutes = hour.checked_mul(60)?.checked_add(minute)?;
        (minute < 60 && minutes <= Self::MAX_MINUTES).then_some(ClockTime { minutes })
    }

    /// Parses `hh:mm` (also `h:mm`); hours up to 47.
    pub fn parse(s: &str) -> Option<Self> {
        let (h, m) = s.trim().split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Self::new(h.parse().ok()?, m.parse().ok()?)
    }

    pub fn hour(self) -> u32 {
        self.minutes / 60
    }

    pub fn minute(self) -> u32 {
        self.minutes % 60
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_up_to_47_59() {
        assert_eq!(ClockTime::parse("02:30").unwrap().minutes, 150);
        assert_eq!(ClockTime::parse("47:59").unwrap().to_string(), "47:59");
        assert!(ClockTime::parse("48:00").is_none());
        assert!(ClockTime::parse("12:60").is_none());
        assert!(ClockTime::parse("1230").is_none());
        assert!(ClockTime::parse("+1:00").is_none());
    }
}
