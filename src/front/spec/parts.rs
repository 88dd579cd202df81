//! The per-unit settings: end judgment, retry, cutoff, delay monitors, judgments and waits.

use super::codes::*;
use super::read::Reader;
use super::yaml::{Node, Value};
use crate::ir::*;

const OPS: [(&str, CmpOp); 12] = [
    ("eq", CmpOp::Eq),
    ("ne", CmpOp::Ne),
    ("gt", CmpOp::Gt),
    ("ge", CmpOp::Ge),
    ("lt", CmpOp::Lt),
    ("le", CmpOp::Le),
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    (">", CmpOp::Gt),
    (">=", CmpOp::Ge),
    ("<", CmpOp::Lt),
    ("<=", CmpOp::Le),
];

impl Reader<'_> {
    /// `end:` — return-code thresholds, `always`, `file_exists` or `file_modified`.
    pub fn end_judgment(&mut self, node: &Node) -> Option<EndJudgment> {
        let f = self.fields(node, "a map such as `{abnormal_above: 8}`")?;
        let keys = [
            "warning_above",
            "abnormal_above",
            "always",
            "file_exists",
            "file_modified",
        ];
        self.check_keys(&f, &keys, "`end`", &|_| None);
        // Thresholds are one form written with one or two keys.
        let mut forms: Vec<(&str, &str)> = Vec::new();
        for (k, _, _) in &f.entries {
            let group = match *k {
                "warning_above" | "abnormal_above" => "thresholds",
                "always" | "file_exists" | "file_modified" => k,
                _ => continue,
            };
            if !forms.iter().any(|(g, _)| *g == group) {
                forms.push((group, k));
            }
        }
        let form = match forms.as_slice() {
            [(one, _)] => *one,
            [] => {
                self.one_of(
                    &f,
                    &["abnormal_above", "always", "file_exists", "file_modified"],
                    "`end`",
                );
                return None;
            }
            [(_, a), (_, b), ..] => {
                let span = f.key_span(b).unwrap_or(f.span);
                self.error_hint(
                    E_CONFLICT,
                    span,
                    format!("`end` has both `{a}` and `{b}`"),
                    Some(
                        "use thresholds, `always`, `file_exists` or `file_modified`, not several"
                            .into(),
                    ),
                );
                return None;
            }
        };
        match form {
            "thresholds" => {
                let abnormal = self.require(
                    &f,
                    "abnormal_above",
                    "`end`",
                    Some("a job with `warning_above` needs `abnormal_above` too"),
                )?;
                let abnormal_n = self.integer(abnormal, "`abnormal_above`");
                let warning = match f.get("warning_above") {
                    Some(w) => Some((self.integer(w, "`warning_above`")?, w.span)),
                    None => None,
                };
                let abnormal_n = abnormal_n?;
                if let Some((w, span)) = warning {
                    if w > abnormal_n {
                        self.error_hint(
                            E_THRESHOLD,
                            span,
                            format!("warning threshold {w} is above the abnormal threshold {abnormal_n}"),
                            Some("return codes above `abnormal_above` are abnormal, so `warning_above` must not exceed it".into()),
                        );
                        return None;
                    }
                }
                Some(EndJudgment::ReturnCode {
                    warning: warning.map(|(w, _)| w),
                    abnormal: abnormal_n,
                })
            }
            "always" => self.choice(
                f.get("always")?,
                "end status",
                &[
                    ("normal", EndJudgment::AlwaysNormal),
                    ("abnormal", EndJudgment::AlwaysAbnormal),
                ],
            ),
            "file_exists" => self
                .text(f.get("file_exists")?, "a file path")
                .map(EndJudgment::FileExists),
            _ => self
                .text(f.get("file_modified")?, "a file path")
                .map(EndJudgment::FileModified),
        }
    }

    /// `retry: {attempts, interval_seconds, return_codes}`.
    pub fn retry(&mut self, node: &Node) -> Option<Retry> {
        let f = self.fields(node, "a map such as `{attempts: 3}`")?;
        self.check_keys(
            &f,
            &["attempts", "interval_seconds", "return_codes"],
            "`retry`",
            &|_| None,
        );
        let attempts_node = self.require(&f, "attempts", "`retry`", None);
        let attempts = match attempts_node {
            Some(n) if n.value == Value::Int(0) => {
                self.error_hint(
                    E_VALUE,
                    n.span,
                    "retry attempts must be at least 1",
                    Some("remove `retry` to run the job once without retries".into()),
                );
                None
            }
            Some(n) => self.count(n, "`attempts`", 1),
            None => None,
        };
        let interval = match f.get("interval_seconds") {
            Some(n) => self.count(n, "`interval_seconds`", 1),
            None => Some(60),
        };
        let codes = match f.get("return_codes") {
            None => Some(None),
            Some(n) => self.code_range(n).map(Some),
        };
        Some(Retry {
            max_attempts: attempts?,
            interval_seconds: interval?,
            return_codes: codes?,
            span: node.span,
        })
    }

    /// `[low, high]` (inclusive) or a single return code.
    fn code_range(&mut self, node: &Node) -> Option<(i64, i64)> {
        if let Value::Int(i) = node.value {
            return Some((i, i));
        }
        let items = self.items(node, "a return-code range `[low, high]`", false)?;
        let [lo, hi] = items.as_slice() else {
            self.error_hint(
                E_VALUE,
                node.span,
                format!("expected `[low, high]`, found {} values", items.len()),
                Some("`return_codes` is an inclusive range such as `[1, 10]`".into()),
            );
            return None;
        };
        let (lo_v, hi_v) = (
            self.integer(lo, "a return code"),
            self.integer(hi, "a return code"),
        );
        let (lo_v, hi_v) = (lo_v?, hi_v?);
        if lo_v > hi_v {
            self.error(
                E_VALUE,
                node.span,
                format!("range `[{lo_v}, {hi_v}]` is empty: low is above high"),
            );
            return None;
        }
        Some((lo_v, hi_v))
    }

    /// `cutoff: {minutes, status}`.
    pub fn cutoff(&mut self, node: &Node) -> Option<Cutoff> {
        let f = self.fields(node, "a map such as `{minutes: 60}`")?;
        self.check_keys(&f, &["minutes", "status"], "`cutoff`", &|_| None);
        let minutes = self
            .require(&f, "minutes", "`cutoff`", None)
            .and_then(|n| self.count(n, "`minutes`", 1));
        let on_timeout = match f.get("status") {
            Some(n) => self.choice(
                n,
                "end status",
                &[
                    ("normal", EndStatus::Normal),
                    ("warning", EndStatus::Warning),
                    ("abnormal", EndStatus::Abnormal),
                ],
            ),
            None => Some(EndStatus::Abnormal),
        };
        Some(Cutoff {
            minutes: minutes?,
            on_timeout: on_timeout?,
            span: node.span,
        })
    }

    /// `start_delay` / `end_delay`: one deadline for every run, or a list of deadlines, each
    /// for every run (at most one) or for the runs of named schedule rules
    /// (`{rules: [..], delay: ..}`).
    pub fn delay(&mut self, node: &Node, start: bool) -> Vec<DelayMonitor> {
        let what = if start {
            "`start_delay`"
        } else {
            "`end_delay`"
        };
        let per_rule = |n: &Node| matches!(&n.value, Value::Map(m) if m.iter().any(|(k, _)| matches!(&k.value, Value::Str(k) if k == "rules" || k == "delay")));
        let Value::Seq(items) = &node.value else {
            if per_rule(node) {
                self.error_hint(
                    E_TYPE,
                    node.span,
                    format!("a delay per schedule rule in {what} must be an item of a list"),
                    Some(format!("write {what}: [{{rules: [..], delay: ..}}], with a plain delay for the other runs beside it if they have one")),
                );
                return Vec::new();
            }
            return self
                .deadline(node, start, what, ", a list of delays per schedule rule,")
                .map(|at| vec![DelayMonitor::every_run(at, node.span)])
                .unwrap_or_default();
        };
        if items.is_empty() {
            self.error_hint(
                E_VALUE,
                node.span,
                format!("{what} is an empty list"),
                Some("give a delay, or a list of them per schedule rule".into()),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut every: Option<crate::diag::Span> = None;
        let mut named: Vec<String> = Vec::new();
        for item in items {
            if !per_rule(item) {
                if let Some(first) = every {
                    self.error_hint(
                        E_CONFLICT,
                        item.span,
                        format!("{what} has two delays for every run (the first is at line {})", first.line),
                        Some("give one delay for every run; name schedule rules in the others (`{rules: [..], delay: ..}`)".into()),
                    );
                    continue;
                }
                every = Some(item.span);
                if let Some(at) = self.deadline(item, start, what, ", `{rules: [..], delay: ..}`,")
                {
                    out.push(DelayMonitor::every_run(at, item.span));
                }
                continue;
            }
            let Some(f) = self.fields(item, "a map `{rules: [..], delay: ..}`") else {
                continue;
            };
            self.check_keys(&f, &["rules", "delay"], what, &|_| None);
            let context = format!("a delay per schedule rule in {what}");
            let rules_node = self.require(
                &f,
                "rules",
                &context,
                Some("list the names of the schedule rules whose runs this delay watches"),
            );
            let rules = rules_node.and_then(|n| {
                self.names(n, "a list of schedule rule names", "a schedule rule name")
            });
            let at = self
                .require(
                    &f,
                    "delay",
                    &context,
                    Some("give the delay, e.g. `delay: \"03:00\"`"),
                )
                .and_then(|n| self.deadline(n, start, what, ","));
            let Some(rules) = rules else { continue };
            if rules_node.is_some_and(|n| matches!(&n.value, Value::Seq(v) if v.is_empty())) {
                self.error(E_VALUE, f.span, format!("`rules` in {what} is empty"));
                continue;
            }
            let mut mine = Vec::new();
            for (name, span) in rules {
                if named.contains(&name) {
                    self.error_hint(
                        E_VALUE,
                        span,
                        format!("schedule rule `{name}` is named twice in {what}"),
                        Some("a run has one deadline: name each rule once".into()),
                    );
                    continue;
                }
                named.push(name.clone());
                mine.push(name);
            }
            if let Some(at) = at.filter(|_| !mine.is_empty()) {
                out.push(DelayMonitor {
                    at,
                    rules: mine,
                    span: item.span,
                });
            }
        }
        out
    }

    /// One delay value: a clock time, `expected` (end only) or one relative form; `also`
    /// names what else could stand there, for the wrong-type message.
    fn deadline(&mut self, node: &Node, start: bool, what: &str, also: &str) -> Option<TimeRef> {
        Some(match &node.value {
            Value::Str(s) if s == "expected" => {
                if start {
                    self.error_hint(
                        E_VALUE,
                        node.span,
                        "`start_delay` cannot be `expected`",
                        Some("`expected` means the unit's expected duration after its start; use it with `end_delay`".into()),
                    );
                    return None;
                }
                TimeRef::ExpectedDuration
            }
            Value::Str(_) => TimeRef::Absolute(self.time(node, what)?),
            Value::Map(_) => {
                let f = self.fields(node, "a delay")?;
                let mut forms = vec!["after_root_start", "after_upper_start"];
                if !start {
                    forms.push("after_own_start");
                }
                self.check_keys(&f, &forms, what, &|k| {
                    (k == "after_own_start").then(|| {
                        "a unit that has not started has no start to count from; use `after_root_start` or `after_upper_start`".to_string()
                    })
                });
                let form = self.one_of(&f, &forms, what)?;
                let minutes = self.count(f.get(form)?, &format!("`{form}`"), 1)?;
                match form {
                    "after_root_start" => TimeRef::AfterRootStart(minutes),
                    "after_upper_start" => TimeRef::AfterUpperStart(minutes),
                    _ => TimeRef::AfterOwnStart(minutes),
                }
            }
            _ => {
                self.wrong_type(
                    node,
                    &format!("a time like \"02:00\", `expected`{also} or a map such as `{{after_root_start: 30}}`"),
                );
                return None;
            }
        })
    }

    /// `judge:` — exactly one condition.
    pub fn judge(&mut self, node: &Node) -> Option<Condition> {
        let f = self.fields(node, "a map such as `{return_code: {op: gt, value: 3}}`")?;
        let forms = [
            "return_code",
            "return_code_range",
            "file_exists",
            "file_missing",
            "variable",
        ];
        self.check_keys(&f, &forms, "`judge`", &|_| None);
        let form = self.one_of(&f, &forms, "`judge`")?;
        let v = f.get(form)?;
        match form {
            "return_code" => {
                let g = self.fields(v, "a map such as `{op: gt, value: 3}`")?;
                self.check_keys(&g, &["op", "value"], "`return_code`", &|_| None);
                let op = self
                    .require(&g, "op", "`return_code`", None)
                    .and_then(|n| self.choice(n, "comparison", &OPS));
                let value = self
                    .require(&g, "value", "`return_code`", None)
                    .and_then(|n| self.integer(n, "`value`"));
                Some(Condition::ReturnCode {
                    op: op?,
                    value: value?,
                })
            }
            "return_code_range" => {
                let g = self.fields(v, "a map such as `{low: 1, high: 5}`")?;
                self.check_keys(
                    &g,
                    &["inside", "low", "high"],
                    "`return_code_range`",
                    &|_| None,
                );
                let inside = match g.get("inside") {
                    Some(n) => self.boolean(n, "`inside`"),
                    None => Some(true),
                };
                let low = self
                    .require(&g, "low", "`return_code_range`", None)
                    .and_then(|n| self.integer(n, "`low`"));
                let high_node = self.require(&g, "high", "`return_code_range`", None);
                let high = high_node.and_then(|n| self.integer(n, "`high`"));
                let (inside, low, high) = (inside?, low?, high?);
                if low > high {
                    self.error(
                        E_VALUE,
                        high_node.map_or(v.span, |n| n.span),
                        format!("`high` ({high}) is below `low` ({low})"),
                    );
                    return None;
                }
                Some(Condition::ReturnCodeRange { inside, low, high })
            }
            "file_exists" | "file_missing" => Some(Condition::FileExists {
                path: self.text(v, "a file path")?,
                exists: form == "file_exists",
            }),
            _ => {
                let g = self.fields(v, "a map such as `{name: REGION, op: eq, value: east}`")?;
                self.check_keys(&g, &["name", "op", "value"], "`variable`", &|_| None);
                let name = self
                    .require(&g, "name", "`variable`", None)
                    .and_then(|n| self.text(n, "a variable name"));
                let op = self
                    .require(&g, "op", "`variable`", None)
                    .and_then(|n| self.choice(n, "comparison", &OPS));
                let value =
                    self.require(&g, "value", "`variable`", None)
                        .and_then(|n| match &n.value {
                            Value::Str(s) => Some(s.clone()),
                            Value::Int(i) => Some(i.to_string()),
                            Value::Float(x) => Some(x.to_string()),
                            Value::Bool(b) => Some(b.to_string()),
                            _ => {
                                self.wrong_type(n, "a value to compare with");
                                None
                            }
                        });
                Some(Condition::Variable {
                    name: name?,
                    op: op?,
                    value: value?,
                })
            }
        }
    }

    /// `wait: {until: "26:30"}`, `{minutes: 10}`, `{file: PATH, interval_seconds: 60}` or
    /// `{event: {id: "7FFF8001", …}}`.
    pub fn wait(&mut self, node: &Node) -> Option<UnitKind> {
        let f = self.fields(
            node,
            "a map such as `{until: \"26:30\"}`, `{minutes: 10}`, `{file: \"s3://bucket/key\"}` or `{event: {id: \"1\"}}`",
        )?;
        let allowed: &[&str] = if f.get("file").is_some() {
            &[
                "until",
                "minutes",
                "file",
                "event",
                "interval_seconds",
                "when",
            ]
        } else {
            &["until", "minutes", "file", "event"]
        };
        self.check_keys(&f, allowed, "`wait`", &|k| {
            matches!(k, "interval_seconds" | "when").then(|| format!("`{k}` is for `file` waits"))
        });
        match self.one_of(&f, &["until", "minutes", "file", "event"], "`wait`")? {
            "event" => self
                .event_match(f.get("event")?, "`event`")
                .map(UnitKind::EventWait),
            "until" => self
                .time(f.get("until")?, "`until`")
                .map(|t| UnitKind::Wait(TimeWait::Until(t))),
            "minutes" => self
                .count(f.get("minutes")?, "`minutes`", 1)
                .map(|m| UnitKind::Wait(TimeWait::Minutes(m))),
            _ => {
                let path = self.text(f.get("file")?, "a file path such as `s3://bucket/key`")?;
                let interval_seconds = match f.get("interval_seconds") {
                    Some(n) => self.bounded(n, "`interval_seconds`", 1, 86_400)?,
                    None => FileWait::DEFAULT_INTERVAL,
                };
                let events = match f.get("when") {
                    Some(n) => Some(self.object_events(n, Some(&path))?),
                    None if path.contains('*') => {
                        self.error_hint(
                            E_VALUE,
                            f.get("file")?.span,
                            format!("`{path}`: a wait for a file to exist looks at one object, and `*` is part of its name"),
                            Some("add `when: written` to wait for any matching object written after the wait began".into()),
                        );
                        return None;
                    }
                    None => None,
                };
                Some(UnitKind::FileWait(FileWait {
                    path,
                    interval_seconds,
                    events,
                }))
            }
        }
    }

    /// A file wait's or start condition's `when:`: `written`, `deleted` or both as a list.
    /// A wait's path must not hold a `${…}` placeholder (`path` given): its rule could not
    /// match it (a start condition's is reported as not watchable, with or without `when`).
    pub(super) fn object_events(
        &mut self,
        node: &Node,
        path: Option<&str>,
    ) -> Option<ObjectEvents> {
        let items = self.items(node, "`written`, `deleted` or a list of both", true)?;
        if items.is_empty() {
            let hint = match path {
                Some(_) => "leave `when` out to wait until the file exists",
                None => "leave `when` out for `written`",
            };
            self.error_hint(
                E_VALUE,
                node.span,
                "`when` needs at least one of `written`, `deleted`",
                Some(hint.into()),
            );
            return None;
        }
        let mut events = ObjectEvents {
            written: false,
            deleted: false,
        };
        let mut ok = true;
        for item in items {
            match self.choice(item, "`when`", &[("written", true), ("deleted", false)]) {
                Some(true) => events.written = true,
                Some(false) => events.deleted = true,
                None => ok = false,
            }
        }
        if let Some(path) = path.filter(|p| !FileWait::matchable(p)) {
            self.error_hint(
                E_VALUE,
                node.span,
                format!("`when` waits for the events of one object, and `{path}` holds a placeholder filled in only when the jobnet runs"),
                Some("write the bucket and key in full (`*` matches any text), or leave `when` out to wait until the file exists".into()),
            );
            ok = false;
        }
        ok.then_some(events)
    }

    /// `wait_for: {jobnet: "other_net"}` or `"other_net/unit"`.
    pub fn wait_for(&mut self, node: &Node) -> Option<WaitFor> {
        let f = self.fields(node, "a map such as `{jobnet: other_net}`")?;
        self.check_keys(&f, &["jobnet"], "`wait_for`", &|_| None);
        let n = self.require(&f, "jobnet", "`wait_for`", None)?;
        let target = self.text(n, "a jobnet name or `jobnet/unit` path")?;
        if target
            .trim_start_matches('/')
            .split('/')
            .any(|seg| seg.trim().is_empty())
        {
            self.error_hint(
                E_VALUE,
                n.span,
                format!("invalid `wait_for` target `{target}`"),
                Some("write a root jobnet name, or `jobnet/unit` for a unit in it".into()),
            );
            return None;
        }
        Some(WaitFor {
            target,
            span: n.span,
        })
    }
}
