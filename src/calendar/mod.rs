//! Business calendars, Japanese national holidays and schedule rules.

pub mod holidays;
