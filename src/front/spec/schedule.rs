//! Calendars, schedules, concurrency and start conditions of root jobnets.

use super::codes::*;
use super::read::Reader;
use super::yaml::{Node, Value};
use crate::diag::Diagnostic;
use crate::ir::*;
use chrono::Weekday;

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

const DAY_KINDS: [(&str, DayKind); 2] = [("open", DayKind::Open), ("closed", DayKind::Closed)];

/// The day selectors of a schedule rule; exactly one per rule.
const DAY_SELECTORS: [&str; 10] = [
    "days",
    "weekdays",
    "days_of_month",
    "nth_open_day",
    "nth_closed_day",
    "days_before_month_end",
    "nth_last_open_day",
    "nth_weekday",
    "dates",
    "every",
];

const RULE_KEYS: [&str; 9] = [
    "name",
    "at",
    "on_closed_day",
    "max_shift_days",
    "reckon",
    "repeat_minutes",
    "month_cycle",
    "valid_from",
    "valid_until",
];

#[derive(Clone, Copy)]
enum Shift {
    Skip,
    Previous,
    Next,
    Run,
}

#[derive(Clone, Copy)]
enum Every {
    Days,
    Weeks,
    Months,
}

impl Reader<'_> {
    pub fn calendar(&mut self, node: &Node) -> Option<Calendar> {
        let f = self.fields(node, "a calendar (a map with `name`)")?;
        self.check_keys(
            &f,
            &[
                "name",
                "inherits",
                "day_start",
                "weekdays",
                "japanese_holidays",
                "dates",
            ],
            "a calendar",
            &|_| None,
        );
        let name_node = self.require(&f, "name", "calendar", None);
        let name = name_node.and_then(|n| self.name(n, "calendar"));
        let mut cal = Calendar {
            name: String::new(),
            inherits: None,
            weekdays: [None; 7],
            japanese_holidays: None,
            dates: Vec::new(),
            day_start: None,
            span: name_node.map_or(f.span, |n| n.span),
        };
        if let Some(n) = f.get("inherits") {
            cal.inherits = self.name(n, "calendar");
        }
        if let Some(n) = f.get("day_start") {
            cal.day_start = self.time(n, "`day_start`").filter(|t| {
                let ok = t.hour() < 24;
                if !ok {
                    self.error_hint(
                        E_TIME,
                        n.span,
                        format!("`day_start` {t} is not within one day"),
                        Some("the business day boundary is a time from 00:00 to 23:59".into()),
                    );
                }
                ok
            });
        }
        if let Some(n) = f.get("japanese_holidays") {
            cal.japanese_holidays = self.boolean(n, "`japanese_holidays`");
        }
        if let Some(n) = f.get("weekdays") {
            if let Some(w) = self.fields(n, "a map such as `{sat: closed, sun: closed}`") {
                let names: Vec<&str> = WEEKDAYS.iter().map(|(d, _)| *d).collect();
                self.check_keys(&w, &names, "`weekdays`", &|_| None);
                for (i, day) in names.iter().enumerate() {
                    if let Some(v) = w.get(day) {
                        cal.weekdays[i] = self.choice(v, "day kind", &DAY_KINDS);
                    }
                }
            }
        }
        if let Some(n) = f.get("dates") {
            for item in self.items(n, "a list of dates", false).unwrap_or_default() {
                if let Some(entry) = self.calendar_date(item) {
                    cal.dates.push(entry);
                }
            }
        }
        cal.name = name?;
        Some(cal)
    }

    /// `{date: 2027-12-31, closed: true}` or `{date: …, open: true}`.
    fn calendar_date(&mut self, node: &Node) -> Option<(Date, DayKind)> {
        let f = self.fields(node, "a map such as `{date: 2027-12-31, closed: true}`")?;
        self.check_keys(&f, &["date", "open", "closed"], "a calendar date", &|_| {
            None
        });
        let date = self
            .require(&f, "date", "a calendar date", None)
            .and_then(|n| self.date(n, "`date`"));
        let kind = match self.one_of(&f, &["open", "closed"], "a calendar date")? {
            "open" => self.boolean(f.get("open")?, "`open`").map(|b| {
                if b {
                    DayKind::Open
                } else {
                    DayKind::Closed
                }
            }),
            _ => self.boolean(f.get("closed")?, "`closed`").map(|b| {
                if b {
                    DayKind::Closed
                } else {
                    DayKind::Open
                }
            }),
        };
        Some((date?, kind?))
    }

    pub fn schedule(&mut self, node: &Node) -> Option<Schedule> {
        let f = self.fields(node, "a map with `rules`")?;
        self.check_keys(
            &f,
            &["timezone", "exclusive_with", "rules"],
            "`schedule`",
            &|_| None,
        );
        let timezone = match f.get("timezone") {
            None => Some(crate::ir::DEFAULT_TIMEZONE.to_string()),
            Some(n) => self.text(n, "a time zone name").filter(|tz| {
                let ok = tz
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
                if !ok {
                    self.error_hint(
                        E_VALUE,
                        n.span,
                        format!("invalid time zone `{tz}`"),
                        Some("use an IANA name such as `Asia/Tokyo` or `UTC`".into()),
                    );
                }
                ok
            }),
        };
        let exclusive_with = f
            .get("exclusive_with")
            .and_then(|n| self.names(n, "a list of jobnet names", "a jobnet name"))
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut rules = Vec::new();
        if let Some(n) = self.require(&f, "rules", "`schedule`", None) {
            let items = self
                .items(n, "a list of schedule rules", false)
                .unwrap_or_default();
            if items.is_empty() && matches!(n.value, Value::Seq(_)) {
                self.error_hint(
                    E_VALUE,
                    n.span,
                    "a schedule needs at least one rule",
                    Some(
                        "remove `schedule` for a jobnet that is only started by hand or by events"
                            .into(),
                    ),
                );
            }
            let mut named: Vec<(String, crate::diag::Span)> = Vec::new();
            for item in items {
                let Some(rule) = self.rule(item) else {
                    continue;
                };
                if let Some(name) = &rule.name {
                    if let Some((_, first)) = named.iter().find(|(n, _)| n == name) {
                        self.diags.push(
                            Diagnostic::error(
                                E_DUP_NAME,
                                format!("duplicate schedule rule name `{name}`"),
                            )
                            .at(rule.span)
                            .note(format!(
                                "first defined at line {}, column {}",
                                first.line, first.col
                            ))
                            .hint("delays name the rules whose runs they watch: rename one"),
                        );
                        continue;
                    }
                    named.push((name.clone(), rule.span));
                }
                rules.push(rule);
            }
        }
        Some(Schedule {
            rules,
            exclusive_with,
            timezone: timezone?,
            span: node.span,
        })
    }

    fn rule(&mut self, node: &Node) -> Option<ScheduleRule> {
        let f = self.fields(node, "a schedule rule (a map with a day selector and `at`)")?;
        let allowed: Vec<&str> = DAY_SELECTORS.iter().chain(&RULE_KEYS).copied().collect();
        self.check_keys(&f, &allowed, "a schedule rule", &|_| None);
        let name = match f.get("name") {
            None => Some(None),
            Some(n) => self.name(n, "schedule rule").map(Some),
        };
        let selector = self.one_of(&f, &DAY_SELECTORS, "a schedule rule");
        let days = selector.and_then(|sel| self.day_rule(sel, f.get(sel)?));
        let times = self
            .require(
                &f,
                "at",
                "a schedule rule",
                Some("give start times, e.g. `at: [\"02:30\"]`"),
            )
            .and_then(|n| self.times(n));
        let shift = match f.get("on_closed_day") {
            None => Some(Shift::Skip),
            Some(n) => self.choice(
                n,
                "closed-day action",
                &[
                    ("skip", Shift::Skip),
                    ("previous", Shift::Previous),
                    ("next", Shift::Next),
                    ("run", Shift::Run),
                ],
            ),
        };
        let max_days = match f.get("max_shift_days") {
            None => Some(2),
            Some(n) => {
                if matches!(shift, Some(Shift::Skip | Shift::Run)) {
                    self.error_hint(
                        E_NOT_ALLOWED,
                        f.key_span("max_shift_days").unwrap_or(n.span),
                        "`max_shift_days` only applies with `on_closed_day: previous` or `next`",
                        None,
                    );
                }
                self.bounded(n, "`max_shift_days`", 1, 31)
            }
        };
        // Combined only at the end, so that the rule's later keys are checked too.
        let on_closed_day = match (shift, max_days) {
            (Some(Shift::Skip), _) => Some(ClosedDayAction::Skip),
            (Some(Shift::Run), _) => Some(ClosedDayAction::RunAnyway),
            (Some(Shift::Previous), Some(m)) => Some(ClosedDayAction::Previous { max_days: m }),
            (Some(Shift::Next), Some(m)) => Some(ClosedDayAction::Next { max_days: m }),
            _ => None,
        };
        let reckon = match f.get("reckon") {
            None => Some(None),
            Some(n) => self.reckon(n).map(Some),
        };
        let repeat_minutes = match f.get("repeat_minutes") {
            None => Some(None),
            Some(n) => self.bounded(n, "`repeat_minutes`", 1, 1440).map(Some),
        };
        let month_cycle = match f.get("month_cycle") {
            None => Some(None),
            Some(n) => {
                if let Some(sel @ ("dates" | "every")) = selector {
                    self.error_hint(
                        E_NOT_ALLOWED,
                        f.key_span("month_cycle").unwrap_or(n.span),
                        format!("`month_cycle` does not apply to `{sel}`, which gives its own dates"),
                        Some("use a day of the month (`days_of_month`, `nth_open_day`, …) with `month_cycle`, or `every: {unit: months}`".into()),
                    );
                }
                self.month_cycle(n).map(Some)
            }
        };
        let valid_from = f
            .get("valid_from")
            .map(|n| (self.date(n, "`valid_from`"), n));
        let valid_until = f
            .get("valid_until")
            .map(|n| (self.date(n, "`valid_until`"), n));
        if let (Some((Some(a), _)), Some((Some(b), n))) = (&valid_from, &valid_until) {
            if a > b {
                self.error(
                    E_VALUE,
                    n.span,
                    format!("`valid_until` {b} is before `valid_from` {a}"),
                );
                return None;
            }
        }
        let unwrap_date = |d: Option<(Option<Date>, &Node)>| match d {
            None => Some(None),
            Some((d, _)) => d.map(Some),
        };
        Some(ScheduleRule {
            name: name?,
            days: days?,
            times: times?,
            on_closed_day: on_closed_day?,
            reckon: reckon?,
            repeat_minutes: repeat_minutes?,
            month_cycle: month_cycle?,
            valid_from: unwrap_date(valid_from)?,
            valid_until: unwrap_date(valid_until)?,
            span: node.span,
        })
    }

    /// `at:` — one time or a list of times.
    fn times(&mut self, node: &Node) -> Option<Vec<ClockTime>> {
        let items = self.items_or_one(node, "a list of start times like [\"02:30\"]")?;
        if items.is_empty() {
            self.error(E_VALUE, node.span, "`at` needs at least one start time");
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            match self.time(item, "`at`") {
                Some(t) if out.contains(&t) => {
                    self.error(
                        E_VALUE,
                        item.span,
                        format!("start time {t} is listed twice"),
                    );
                    ok = false;
                }
                Some(t) => out.push(t),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn items_or_one<'t>(&mut self, node: &'t Node, expected: &str) -> Option<Vec<&'t Node>> {
        match &node.value {
            Value::Seq(items) => Some(items.iter().collect()),
            Value::Str(_) => Some(vec![node]),
            _ => {
                self.wrong_type(node, expected);
                None
            }
        }
    }

    fn reckon(&mut self, node: &Node) -> Option<Reckon> {
        let f = self.fields(node, "a map such as `{open_days: -1, max_days: 5}`")?;
        self.check_keys(&f, &["open_days", "max_days"], "`reckon`", &|_| None);
        let open_node = self.require(&f, "open_days", "`reckon`", None);
        let open_days = open_node.and_then(|n| {
            let v = self.integer(n, "`open_days`")?;
            match i32::try_from(v) {
                Ok(0) | Err(_) => {
                    self.error_hint(
                        E_VALUE,
                        n.span,
                        format!("`open_days` must be a non-zero number of open days, found {v}"),
                        Some("negative counts back (earlier open days), positive forward".into()),
                    );
                    None
                }
                Ok(d) => Some(d),
            }
        });
        let max_days = match f.get("max_days") {
            None => Some(10),
            Some(n) => self.bounded(n, "`max_days`", 1, 366),
        };
        Some(Reckon {
            open_days: open_days?,
            max_days: max_days?,
        })
    }

    /// `month_cycle: {every: N, from: YYYY-MM}`.
    fn month_cycle(&mut self, node: &Node) -> Option<MonthCycle> {
        let f = self.fields(node, "a map such as `{every: 3, from: 2027-03}`")?;
        self.check_keys(&f, &["every", "from"], "`month_cycle`", &|_| None);
        let every = self
            .require(&f, "every", "`month_cycle`", None)
            .and_then(|n| self.bounded(n, "`every`", 1, 1200));
        let from = self
            .require(
                &f,
                "from",
                "`month_cycle`",
                Some("the first month of the cycle, e.g. `from: 2027-03`"),
            )
            .and_then(|n| {
                let parsed = match &n.value {
                    Value::Str(s) => parse_month(s),
                    _ => None,
                };
                if parsed.is_none() {
                    self.error_hint(
                        E_DATE,
                        n.span,
                        format!(
                            "expected a month like 2027-03 for `from`, found {}",
                            n.value.describe()
                        ),
                        Some("write the month as YYYY-MM".into()),
                    );
                }
                parsed
            });
        let (year, month) = from?;
        Some(MonthCycle {
            every: every?,
            year,
            month,
        })
    }

    fn day_rule(&mut self, selector: &str, v: &Node) -> Option<DayRule> {
        Some(match selector {
            "days" => self.choice(v, "day selector", &[("daily", DayRule::Daily)])?,
            "weekdays" => {
                let items = self.items(v, "a list of weekdays like [mon, fri]", false)?;
                let days =
                    self.every_item(&items, |r, item| r.choice(item, "weekday", &WEEKDAYS))?;
                self.non_empty(&days, v)?;
                DayRule::Weekdays(days)
            }
            "days_of_month" => {
                let items = self.items(v, "a list of days of the month like [1, 15]", false)?;
                let days = self.every_item(&items, |r, item| {
                    r.bounded(item, "a day of the month", 1, 31)
                })?;
                self.non_empty(&days, v)?;
                DayRule::DaysOfMonth(days)
            }
            "nth_open_day" => DayRule::NthOpenDay(self.bounded(v, "`nth_open_day`", 1, 31)?),
            "nth_closed_day" => {
                DayRule::NthClosedDay(self.bounded(v, "`nth_closed_day`", 1, 31)?)
            }
            "days_before_month_end" => {
                DayRule::DaysBeforeMonthEnd(self.bounded(v, "`days_before_month_end`", 0, 30)?)
            }
            "nth_last_open_day" => {
                DayRule::NthLastOpenDay(self.bounded(v, "`nth_last_open_day`", 1, 31)?)
            }
            "nth_weekday" => {
                let f = self.fields(v, "a map such as `{weekday: fri, n: 2}`")?;
                self.check_keys(&f, &["weekday", "n"], "`nth_weekday`", &|_| None);
                let weekday = self
                    .require(&f, "weekday", "`nth_weekday`", None)
                    .and_then(|n| self.choice(n, "weekday", &WEEKDAYS));
                let n_node = self.require(&f, "n", "`nth_weekday`", None);
                let n = n_node.and_then(|n| self.integer(n, "`n`"));
                let (weekday, n) = (weekday?, n?);
                if !(n == -1 || (1..=5).contains(&n)) {
                    self.error_hint(
                        E_VALUE,
                        n_node.map_or(v.span, |x| x.span),
                        format!("`n` must be 1 to 5, or -1 for the last, found {n}"),
                        None,
                    );
                    return None;
                }
                DayRule::NthWeekday {
                    weekday,
                    n: i32::try_from(n).ok()?,
                }
            }
            "dates" => {
                let items = self.items(v, "a list of dates like [2027-01-04]", false)?;
                let dates = self.every_item(&items, |r, item| r.date(item, "`dates`"))?;
                self.non_empty(&dates, v)?;
                DayRule::Dates(dates)
            }
            _ => {
                let f = self.fields(v, "a map such as `{n: 3, unit: days, from: 2027-01-01}`")?;
                self.check_keys(&f, &["n", "unit", "from"], "`every`", &|_| None);
                let n = self
                    .require(&f, "n", "`every`", None)
                    .and_then(|x| self.count(x, "`n`", 1));
                let unit = self.require(&f, "unit", "`every`", None).and_then(|x| {
                    self.choice(
                        x,
                        "interval unit",
                        &[
                            ("days", Every::Days),
                            ("weeks", Every::Weeks),
                            ("months", Every::Months),
                        ],
                    )
                });
                let from = self
                    .require(
                        &f,
                        "from",
                        "`every`",
                        Some("give the first date, e.g. `from: 2027-01-01`"),
                    )
                    .and_then(|x| self.date(x, "`from`"));
                let (n, unit, from) = (n?, unit?, from?);
                match unit {
                    Every::Days => DayRule::EveryNDays { n, from },
                    Every::Weeks => DayRule::EveryNWeeks { n, from },
                    Every::Months => DayRule::EveryNMonths { n, from },
                }
            }
        })
    }

    /// Reads every item (reporting each bad one), `None` if any was bad.
    fn every_item<T>(
        &mut self,
        items: &[&Node],
        mut read: impl FnMut(&mut Self, &Node) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match read(self, item) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn non_empty<T>(&mut self, items: &[T], node: &Node) -> Option<()> {
        if items.is_empty() {
            self.error(E_VALUE, node.span, "the list must not be empty");
            return None;
        }
        Some(())
    }

    pub fn concurrency(&mut self, node: &Node) -> Option<Concurrency> {
        let f = self.fields(node, "a map such as `{multiple_launch: false}`")?;
        self.check_keys(
            &f,
            &["multiple_launch", "max_parallel_jobs"],
            "`concurrency`",
            &|_| None,
        );
        let multiple_launch = match f.get("multiple_launch") {
            Some(n) => self.boolean(n, "`multiple_launch`"),
            None => Some(false),
        };
        let max_parallel_jobs = match f.get("max_parallel_jobs") {
            Some(n) => self.count(n, "`max_parallel_jobs`", 1).map(Some),
            None => Some(None),
        };
        Some(Concurrency {
            multiple_launch: multiple_launch?,
            max_parallel_jobs: max_parallel_jobs?,
            span: Some(node.span),
        })
    }

    pub fn start_conditions(&mut self, node: &Node) -> Option<StartConditions> {
        let f = self.fields(node, "a map with `events`")?;
        self.check_keys(&f, &["all", "events"], "`start_conditions`", &|_| None);
        let all = match f.get("all") {
            Some(n) => self.boolean(n, "`all`"),
            None => Some(false),
        };
        let mut events = Vec::new();
        if let Some(n) = self.require(&f, "events", "`start_conditions`", None) {
            let items = self.items(n, "a list of events", false).unwrap_or_default();
            if items.is_empty() && matches!(n.value, Value::Seq(_)) {
                self.error(E_VALUE, n.span, "`events` needs at least one event");
            }
            for item in items {
                let Some(e) = self.fields(
                    item,
                    "an event such as `{file_created: \"s3://bucket/key\"}`",
                ) else {
                    continue;
                };
                let kinds = ["file_created", "file", "event_received"];
                let keys: &[&str] = if e.get("file").is_some() {
                    &["file_created", "file", "event_received", "when"]
                } else {
                    &kinds
                };
                self.check_keys(&e, keys, "an event", &|k| {
                    (k == "when").then(|| "`when` is for `file` events".to_string())
                });
                match self.one_of(&e, &kinds, "an event") {
                    Some("file_created") => {
                        if let Some(path) = e
                            .get("file_created")
                            .and_then(|p| self.text(p, "an object path"))
                        {
                            events.push(StartEvent::File {
                                path,
                                events: ObjectEvents::WRITTEN,
                            });
                        }
                    }
                    Some("file") => {
                        let path = e.get("file").and_then(|p| self.text(p, "an object path"));
                        let on = match e.get("when") {
                            Some(n) => self.object_events(n, None),
                            None => Some(ObjectEvents::WRITTEN),
                        };
                        if let (Some(path), Some(events_on)) = (path, on) {
                            events.push(StartEvent::File {
                                path,
                                events: events_on,
                            });
                        }
                    }
                    Some(_) => {
                        if let Some(m) = e
                            .get("event_received")
                            .and_then(|n| self.event_match(n, "`event_received`"))
                        {
                            events.push(StartEvent::EventReceived(m));
                        }
                    }
                    None => {}
                }
            }
        }
        Some(StartConditions {
            all: all?,
            events,
            span: node.span,
        })
    }

    /// `event_received` (a start condition) or a `wait`'s `event` (named by `what`): which
    /// EventBridge events, as the `eventbridge` job type sends them.
    pub(super) fn event_match(&mut self, node: &Node, what: &str) -> Option<EventMatch> {
        let f = self.fields(node, "a map such as `{id: \"1\", message: {exact: start}}`")?;
        let keys = [
            "source",
            "detail_type",
            "id",
            "message",
            "severity",
            "attributes",
        ];
        self.check_keys(&f, &keys, what, &|_| None);
        let mut ok = true;
        let mut text = |r: &mut Self, key: &str, default: &str| match f.get(key) {
            Some(n) => r.text(n, key).or_else(|| {
                ok = false;
                None
            }),
            None => Some(default.to_string()),
        };
        let source = text(self, "source", EventMatch::SOURCE);
        let detail_type = text(self, "detail_type", EventMatch::JP1_DETAIL_TYPE);
        let mut m = EventMatch {
            source: source.unwrap_or_default(),
            detail_type: detail_type.unwrap_or_default(),
            id: None,
            message: None,
            severities: Vec::new(),
            attributes: Vec::new(),
        };
        if let Some(n) = f.get("id") {
            let id = self.text(n, "an event id (hexadecimal)");
            // The extended code (`basic:extended`) is not sent by the `eventbridge` type.
            m.id = id
                .as_deref()
                .filter(|i| !i.contains(':'))
                .and_then(event_id);
            if id.is_some() && m.id.is_none() {
                self.error_hint(
                    E_VALUE,
                    n.span,
                    "an event id is a hexadecimal code of at most 8 digits",
                    Some("write the JP1 event id's basic code, such as `1` or `7FFF8001` (no extended code)".into()),
                );
            }
            ok &= m.id.is_some();
        }
        if let Some(n) = f.get("message") {
            m.message = self.text_match(n);
            ok &= m.message.is_some();
        }
        if let Some(n) = f.get("severity") {
            let levels = [
                ("Emergency", ()),
                ("Alert", ()),
                ("Critical", ()),
                ("Error", ()),
                ("Warning", ()),
                ("Notice", ()),
                ("Information", ()),
                ("Debug", ()),
            ];
            let items = self
                .items(n, "a list of severities", true)
                .unwrap_or_default();
            if items.is_empty() && matches!(n.value, Value::Seq(_)) {
                // An empty list in an event pattern is refused by EventBridge.
                self.error(E_VALUE, n.span, "`severity` needs at least one level");
                ok = false;
            }
            for item in items {
                match self.choice(item, "severity", &levels) {
                    Some(()) => {
                        if let Value::Str(s) = &item.value {
                            m.severities.push(s.clone());
                        }
                    }
                    None => ok = false,
                }
            }
        }
        if let Some(n) = f.get("attributes") {
            match self.fields(n, "a map of attribute name → value") {
                Some(a) => {
                    for (k, _, v) in &a.entries {
                        match self.string(v, "an attribute value") {
                            Some(v) => m.attributes.push(((*k).to_string(), v)),
                            None => ok = false,
                        }
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(m)
    }

    /// `{exact|prefix|suffix|wildcard: TEXT}`.
    fn text_match(&mut self, node: &Node) -> Option<TextMatch> {
        let f = self.fields(node, "a map such as `{prefix: \"start\"}`")?;
        let kinds = TextMatch::KINDS;
        self.check_keys(&f, &kinds, "a text match", &|_| None);
        let kind = self.one_of(&f, &kinds, "a text match")?;
        let n = f.get(kind)?;
        let t = self.string(n, "text")?;
        if kind == "wildcard" {
            // EventBridge refuses `**` and escapes other than `\*` and `\\`.
            // Two wildcard stars in a row; an escaped star (`\*`) is text.
            let mut chars = t.chars();
            let (mut bad, mut star) = (false, false);
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        bad |= !matches!(chars.next(), Some('*' | '\\'));
                        star = false;
                    }
                    '*' => {
                        bad |= star;
                        star = true;
                    }
                    _ => star = false,
                }
            }
            if bad {
                self.error_hint(
                    E_VALUE,
                    n.span,
                    format!("wildcard `{t}` is no EventBridge wildcard pattern"),
                    Some("`*` matches any text (one at a time: no `**`); `\\*` and `\\\\` are a literal star and backslash".into()),
                );
                return None;
            }
        }
        TextMatch::from_parts(kind, t)
    }
}

/// `YYYY-MM` (four digits, two digits, month 1-12).
fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month: u32 = m.parse().ok()?;
    (1..=12)
        .contains(&month)
        .then_some((y.parse().ok()?, month))
}
