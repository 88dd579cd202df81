//! Business calendars, Japanese national holidays and schedule rules.
