//! Schedules on AWS: EventBridge Scheduler schedules that start a root jobnet's state
//! machine, the business-day Lambda that tells a run day from a non-run day at run time,
//! its calendar table, and the calendar data files that fill that table.
//!
//! EventBridge Scheduler knows nothing of business days, so each schedule fires at one
//! wall-clock start time on every day a rule could run, and hands the state machine the
//! jobnet's rules (as [`rule_json`]) with the scheduled time. The machine's first state asks
//! the Lambda ([`gate_states`]); the Lambda reads open/closed days from the table, which the
//! operator edits when a calendar changes: no recompilation.

use crate::back::asl::{JobnetOutput, Role};
use crate::back::templates::{IamStatement, TemplateSet};
use crate::back::tree::Tree;
use crate::calendar::engine::calendar_of;
use crate::calendar::{resolve, DayReason};
use crate::diag::{Diagnostic, Diagnostics};
pub use crate::ir::{start_watch, StartWatch, Watched};
use crate::ir::{
    ClockTime, ClosedDayAction, Date, DayKind, DayRule, MonthCycle, Project, Reckon, ScheduleRule,
    UnitId,
};
use chrono::{Datelike, Weekday};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Logical ids of the resources every template with schedules shares.
pub const TABLE_LOGICAL: &str = "BusinessCalendarTable";
pub const LAMBDA_LOGICAL: &str = "BusinessDayFunction";
const LAMBDA_ROLE_LOGICAL: &str = "BusinessDayFunctionRole";
/// The gate's `${…}` placeholder for the Lambda's ARN.
pub const LAMBDA_ARN_PLACEHOLDER: &str = "BusinessDayFunctionArn";
/// A gate state name is already used by the jobnet.
pub const E_GATE_CLASH: &str = "E0606";
/// A jobnet needs more schedules than [`MANY_SCHEDULES`].
pub const W_MANY_SCHEDULES: &str = "W0608";
/// A start condition's input would hold `<` or `>`, or be too long.
pub const E_START_INPUT: &str = "E0609";
/// Characters an EventBridge input template may hold.
const INPUT_TEMPLATE_LIMIT: usize = 8192;
/// Schedules of one jobnet above which the template size becomes a concern.
pub const MANY_SCHEDULES: usize = 48;

/// The Lambda's source, inlined into the template (`ZipFile` holds at most 4096 bytes).
pub const LAMBDA_SOURCE: &str = include_str!("../../templates/lambda/business_day.py");

/// `ZipFile` code limit of `AWS::Lambda::Function`.
pub const ZIP_FILE_LIMIT: usize = 4096;

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// A rule as the Lambda reads it: `days` is `[kind, args…]`, weekdays are 0 (Monday)..6.
pub fn rule_json(rule: &ScheduleRule) -> Value {
    let days = match &rule.days {
        DayRule::Daily => json!(["daily"]),
        DayRule::Weekdays(w) => json!([
            "weekdays",
            w.iter()
                .map(|d| d.num_days_from_monday())
                .collect::<Vec<_>>()
        ]),
        DayRule::DaysOfMonth(v) => json!(["days_of_month", v]),
        DayRule::NthOpenDay(n) => json!(["nth_open_day", n]),
        DayRule::NthClosedDay(n) => json!(["nth_closed_day", n]),
        DayRule::DaysBeforeMonthEnd(n) => json!(["days_before_month_end", n]),
        DayRule::NthLastOpenDay(n) => json!(["nth_last_open_day", n]),
        DayRule::NthWeekday { weekday, n } => {
            json!(["nth_weekday", weekday.num_days_from_monday(), n])
        }
        DayRule::Dates(v) => json!([
            "dates",
            v.iter().map(ToString::to_string).collect::<Vec<_>>()
        ]),
        DayRule::EveryNDays { n, from } => json!(["every", "days", n, from.to_string()]),
        DayRule::EveryNWeeks { n, from } => json!(["every", "weeks", n, from.to_string()]),
        DayRule::EveryNMonths { n, from } => json!(["every", "months", n, from.to_string()]),
    };
    let mut m = Map::new();
    m.insert("days".into(), days);
    let (action, max) = match rule.on_closed_day {
        ClosedDayAction::Skip => ("skip", None),
        ClosedDayAction::RunAnyway => ("run", None),
        ClosedDayAction::Previous { max_days } => ("previous", Some(max_days)),
        ClosedDayAction::Next { max_days } => ("next", Some(max_days)),
    };
    m.insert("onClosed".into(), json!(action));
    if let Some(max) = max {
        m.insert("maxShift".into(), json!(max));
    }
    if let Some(r) = rule.reckon {
        m.insert("reckon".into(), json!([r.open_days, r.max_days]));
    }
    if let Some(c) = rule.month_cycle {
        m.insert("months".into(), json!([c.every, c.year, c.month]));
    }
    if let Some(d) = rule.valid_from {
        m.insert("validFrom".into(), json!(d.to_string()));
    }
    if let Some(d) = rule.valid_until {
        m.insert("validUntil".into(), json!(d.to_string()));
    }
    Value::Object(m)
}

/// [`rule_json`], with the rule's name when `named` (the jobnet's delays per rule need the
/// Lambda to say which rule started a run).
fn named_rule_json(rule: &ScheduleRule, named: bool) -> Value {
    let mut v = rule_json(rule);
    if let (true, Some(name)) = (named, &rule.name) {
        v["name"] = json!(name);
    }
    v
}

/// Reads [`rule_json`]'s form back (shared test vectors, hand-written Lambda inputs).
/// `times` and `span` are not part of it and come back empty.
pub fn rule_from_json(v: &Value) -> Result<ScheduleRule, String> {
    let obj = v.as_object().ok_or("a rule is a JSON object")?;
    let date = |v: &Value| -> Result<Date, String> {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("`{v}` is no date (YYYY-MM-DD)"))
    };
    let num = |v: Option<&Value>| -> Result<i64, String> {
        v.and_then(Value::as_i64)
            .ok_or_else(|| format!("expected a number, found {v:?}"))
    };
    let unsigned = |v: Option<&Value>| -> Result<u32, String> {
        u32::try_from(num(v)?).map_err(|_| format!("{v:?} is out of range"))
    };
    let days = obj
        .get("days")
        .and_then(Value::as_array)
        .ok_or("`days` is a list such as [\"daily\"]")?;
    let kind = days.first().and_then(Value::as_str).unwrap_or("");
    let list = |v: Option<&Value>| -> Result<Vec<Value>, String> {
        v.and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| format!("`{kind}` needs a list"))
    };
    let weekday = |v: &Value| -> Result<Weekday, String> {
        let i = usize::try_from(num(Some(v))?).map_err(|e| e.to_string())?;
        WEEKDAYS
            .get(i)
            .copied()
            .ok_or_else(|| format!("weekday {i} is not 0..6"))
    };
    let day_rule = match kind {
        "daily" => DayRule::Daily,
        "weekdays" => DayRule::Weekdays(
            list(days.get(1))?
                .iter()
                .map(weekday)
                .collect::<Result<_, _>>()?,
        ),
        "days_of_month" => DayRule::DaysOfMonth(
            list(days.get(1))?
                .iter()
                .map(|x| unsigned(Some(x)))
                .collect::<Result<_, _>>()?,
        ),
        "nth_open_day" => DayRule::NthOpenDay(unsigned(days.get(1))?),
        "nth_closed_day" => DayRule::NthClosedDay(unsigned(days.get(1))?),
        "days_before_month_end" => DayRule::DaysBeforeMonthEnd(unsigned(days.get(1))?),
        "nth_last_open_day" => DayRule::NthLastOpenDay(unsigned(days.get(1))?),
        "nth_weekday" => DayRule::NthWeekday {
            weekday: weekday(days.get(1).unwrap_or(&Value::Null))?,
            n: i32::try_from(num(days.get(2))?).map_err(|e| e.to_string())?,
        },
        "dates" => DayRule::Dates(
            list(days.get(1))?
                .iter()
                .map(date)
                .collect::<Result<_, _>>()?,
        ),
        "every" => {
            let n = unsigned(days.get(2))?;
            let from = date(days.get(3).unwrap_or(&Value::Null))?;
            match days.get(1).and_then(Value::as_str) {
                Some("days") => DayRule::EveryNDays { n, from },
                Some("weeks") => DayRule::EveryNWeeks { n, from },
                Some("months") => DayRule::EveryNMonths { n, from },
                other => return Err(format!("`every` unit {other:?} is not days/weeks/months")),
            }
        }
        other => return Err(format!("unknown day rule `{other}`")),
    };
    let max_days = obj.get("maxShift").map_or(Ok(2), |v| unsigned(Some(v)))?;
    if max_days > 31 {
        return Err(format!("`maxShift` {max_days} is more than 31 days"));
    }
    let on_closed_day = match obj
        .get("onClosed")
        .and_then(Value::as_str)
        .unwrap_or("skip")
    {
        "skip" => ClosedDayAction::Skip,
        "run" => ClosedDayAction::RunAnyway,
        "previous" => ClosedDayAction::Previous { max_days },
        "next" => ClosedDayAction::Next { max_days },
        other => return Err(format!("unknown closed-day action `{other}`")),
    };
    let reckon = match obj.get("reckon") {
        None => None,
        Some(r) => Some(Reckon {
            open_days: i32::try_from(num(r.get(0))?).map_err(|e| e.to_string())?,
            max_days: unsigned(r.get(1))?,
        }),
    };
    if let Some(r) = reckon.filter(|r| r.max_days > 366 || r.open_days == 0) {
        return Err(format!(
            "`reckon` {r:?} needs non-zero open days within 366 days"
        ));
    }
    let month_cycle = match obj.get("months") {
        None => None,
        Some(c) => Some(MonthCycle {
            every: unsigned(c.get(0))?,
            year: i32::try_from(num(c.get(1))?).map_err(|e| e.to_string())?,
            month: unsigned(c.get(2))?,
        }),
    };
    if let Some(c) = month_cycle.filter(|c| c.every == 0 || !(1..=12).contains(&c.month)) {
        return Err(format!(
            "`months` {c:?} needs a cycle of at least 1 and a month 1-12"
        ));
    }
    let opt_date = |k: &str| obj.get(k).map(date).transpose();
    Ok(ScheduleRule {
        name: obj.get("name").and_then(Value::as_str).map(str::to_string),
        days: day_rule,
        times: Vec::new(),
        on_closed_day,
        reckon,
        repeat_minutes: None,
        month_cycle,
        valid_from: opt_date("validFrom")?,
        valid_until: opt_date("validUntil")?,
        span: crate::diag::Span::new(crate::diag::FileId(0), 0, 0, 0),
    })
}

/// A file name for a calendar name (which may be Japanese): path separators and control
/// characters become `_`, and a leading dot is escaped.
pub fn calendar_file(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() || c == ':' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.starts_with('.') || s.is_empty() {
        s.insert(0, '_');
    }
    format!("calendars/{s}.json")
}

/// The holiday-table items of every calendar for `years`: one item per day with
/// `pk` (calendar name), `sk` (date), `open` and, for holidays, `name`.
///
/// Each file is `{calendar, dayStart, years, items}`; load it with
/// any DynamoDB batch writer (boto3 `Table.batch_writer`, see `tests/lambda_vectors.py`). Calendars that do not resolve are
/// reported and left out.
pub fn calendar_items(
    project: &Project,
    years: std::ops::RangeInclusive<i32>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let (Some(first), Some(last)) = (
        Date::from_ymd_opt(*years.start(), 1, 1),
        Date::from_ymd_opt(*years.end(), 12, 31),
    ) else {
        return out;
    };
    for (_, cal) in project.calendars.iter() {
        let resolved = match resolve(project, &cal.name, cal.span) {
            Ok(r) => r,
            Err(d) => {
                if !diags
                    .items
                    .iter()
                    .any(|x| x.code == d.code && x.span == d.span)
                {
                    diags.push(d);
                }
                continue;
            }
        };
        if let Some(w) = crate::calendar::holiday_range_warning(&resolved, first, last) {
            diags.push(w.at(cal.span));
        }
        let items: Vec<Value> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| {
                let (kind, reason) = resolved.day(d);
                let mut item = json!({
                    "pk": cal.name,
                    "sk": d.to_string(),
                    "open": kind == DayKind::Open,
                });
                let why = match reason {
                    DayReason::Explicit => "date",
                    DayReason::Holiday(name) => {
                        item["name"] = json!(name);
                        "holiday"
                    }
                    DayReason::Weekday => "weekday",
                };
                item["reason"] = json!(why);
                item
            })
            .collect();
        out.insert(
            calendar_file(&cal.name),
            json!({
                "calendar": cal.name,
                "dayStart": resolved.day_start.to_string(),
                "years": [years.start(), years.end()],
                "items": items,
            }),
        );
    }
    out
}

/// The calendar table, the business-day Lambda and its role (resource template
/// `calendar`): once per template.
pub fn shared_resources(templates: &TemplateSet) -> Result<Map<String, Value>, String> {
    templates.render_resources(
        "calendar",
        json!({"calendar": {
            "table": TABLE_LOGICAL,
            "function": LAMBDA_LOGICAL,
            "role": LAMBDA_ROLE_LOGICAL,
            "source": LAMBDA_SOURCE,
        }}),
        &[TABLE_LOGICAL.into(), LAMBDA_LOGICAL.into()],
    )
}

/// State names of the gate (checked against the machine's own names).
pub const GATE_STATES: [&str; 10] = [
    "ScheduledStart",
    "BusinessDay",
    "IsRunDay",
    "StartRun",
    "SkipAlert",
    "NotARunDay",
    "AlreadyStarted",
    "StartCondition",
    "AllConditions",
    "OtherConditionsPending",
];

/// The ASL states that turn a scheduled execution into a run: an execution started by a
/// schedule (its input has `scheduledTime`) asks the Lambda whether its business date is
/// a run day and, if so, starts this same machine named `<businessDate>-<runSuffix>` with
/// input `{businessDate, startTime, generation, vars}` (the generation is the start time,
/// `HHMM`, which keys the run records of jobnets that run several times a day), then ends. Execution names are idempotent, so a
/// second start for one date and time is refused (and ends in `AlreadyStarted`). Any other
/// execution (a run, or an operator's start with `businessDate`) goes straight to `next`.
pub fn gate_states(next: &str) -> Map<String, Value> {
    gate_states_with(next, None, None, false)
}

/// [`gate_states`], with `skip_alert` (the jobnet's path) publishing an alert to the
/// alert topic before a scheduled start that is not a run day ends, and with `all_of`
/// (the machine's name) for start conditions that must all happen: each event adds its
/// number to the business date's item `cond#<machine>#<date>` of the run table, and the
/// run starts when the count reaches the input's `conditions`. With `rules` (delays per
/// schedule rule), the run's input also names the rule that started it (`rule`, from the
/// Lambda's answer).
pub fn gate_states_with(
    next: &str,
    skip_alert: Option<&str>,
    all_of: Option<&str>,
    rules: bool,
) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert(
        "ScheduledStart".into(),
        json!({
            "Type": "Choice",
            "Choices": [{"Variable": "$.scheduledTime", "IsPresent": true, "Next": "BusinessDay"}],
            "Default": next
        }),
    );
    let mut answer = json!({"run.$": "$.Payload.run", "businessDate.$": "$.Payload.businessDate"});
    if rules {
        answer["rule.$"] = json!("$.Payload.rule");
    }
    s.insert(
        "BusinessDay".into(),
        json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${BusinessDayFunctionArn}", "Payload.$": "$"},
            "ResultSelector": answer,
            "ResultPath": "$.businessDay",
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}],
            "Next": "IsRunDay"
        }),
    );
    s.insert(
        "IsRunDay".into(),
        json!({
            "Type": "Choice",
            "Choices": [{"Variable": "$.businessDay.run", "BooleanEquals": true, "Next": if all_of.is_some() { "StartCondition" } else { "StartRun" }}],
            "Default": if skip_alert.is_some() { "SkipAlert" } else { "NotARunDay" }
        }),
    );
    if let Some(machine) = all_of {
        let literal = crate::back::intrinsic_literal(machine);
        s.insert(
            "StartCondition".into(),
            json!({
                "Type": "Task",
                "Comment": "start conditions that must all happen: this one has, for this business date",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": format!("${{{}}}", crate::back::asl::RUN_TABLE),
                    "Key": {"pk": {"S.$": format!("States.Format('cond#{literal}#{{}}', $.businessDay.businessDate)")}},
                    "UpdateExpression": "ADD seen :c",
                    "ExpressionAttributeValues": {":c": {"SS.$": "States.Array($.condition)"}},
                    "ReturnValues": "ALL_NEW"
                },
                "ResultSelector": {"seen.$": "States.ArrayLength($.Attributes.seen.SS)"},
                "ResultPath": "$.conditionsSeen",
                "Retry": [{"ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException", "DynamoDB.InternalServerErrorException"], "IntervalSeconds": 2, "MaxAttempts": 5, "BackoffRate": 2.0}],
                "Next": "AllConditions"
            }),
        );
        s.insert(
            "AllConditions".into(),
            json!({
                "Type": "Choice",
                "Choices": [{"Variable": "$.conditionsSeen.seen", "NumericGreaterThanEqualsPath": "$.conditions", "Next": "StartRun"}],
                "Default": "OtherConditionsPending"
            }),
        );
        s.insert(
            "OtherConditionsPending".into(),
            json!({"Type": "Succeed", "Comment": "other start conditions of this business date have not happened yet"}),
        );
    }
    let mut input = json!({
        "businessDate.$": "$.businessDay.businessDate",
        "startTime.$": "$.startTime",
        "generation.$": "$.runSuffix",
        "vars.$": "$.vars",
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"
    });
    if rules {
        input["rule.$"] = json!("$.businessDay.rule");
    }
    s.insert(
        "StartRun".into(),
        json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {
                "StateMachineArn.$": "$$.StateMachine.Id",
                "Name.$": "States.Format('{}-{}', $.businessDay.businessDate, $.runSuffix)",
                "Input": input
            },
            "Catch": [{"ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"], "Next": "AlreadyStarted"}],
            "End": true
        }),
    );
    if let Some(jobnet) = skip_alert {
        let region = crate::back::asl::REGION_OF_EXECUTION;
        let literal = crate::back::intrinsic_literal(jobnet);
        s.insert(
            "SkipAlert".into(),
            json!({
                "Type": "Task",
                "Comment": "alert: the calendar skips this scheduled start (--alert-on-skip)",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {
                    "TopicArn": format!("${{{}}}", crate::back::asl::ALERT_TOPIC),
                    "Subject": "[jobnet2sfn] CALENDAR SKIP",
                    "Message.$": format!(
                        "States.Format('jobnet: {literal}\nstatus: CALENDAR SKIP\nbusiness date: {{}}\nexecution: {{}}\nconsole: https://{{}}.console.aws.amazon.com/states/home?region={{}}#/v2/executions/details/{{}}', $.businessDay.businessDate, $$.Execution.Id, {region}, {region}, $$.Execution.Id)"
                    ),
                    "MessageAttributes": {
                        "jobnet": {"DataType": "String", "StringValue": jobnet},
                        "status": {"DataType": "String", "StringValue": "CALENDAR_SKIP"}
                    }
                },
                "ResultPath": null,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.alertError", "Next": "NotARunDay"}],
                "Next": "NotARunDay"
            }),
        );
    }
    s.insert(
        "NotARunDay".into(),
        json!({"Type": "Succeed", "Comment": "the calendar says this business date has no run"}),
    );
    s.insert(
        "AlreadyStarted".into(),
        json!({"Type": "Succeed", "Comment": "this business date and start time already ran"}),
    );
    s
}

/// Roots whose machine gets the gate.
fn gated_roots(project: &Project) -> BTreeSet<UnitId> {
    project
        .roots
        .iter()
        .copied()
        .filter(|r| is_gated(project, *r))
        .collect()
}

/// Whether `root`'s machine gets the business-day gate: schedules or watched start
/// conditions start it.
pub fn is_gated(project: &Project, root: UnitId) -> bool {
    is_scheduled(project, root) || start_watch(project, root).is_some()
}

/// What a start condition's rule is made of on EventBridge.
impl Watched {
    /// The event pattern of its rule.
    pub fn pattern(&self) -> Value {
        match self {
            Watched::Object {
                bucket,
                key,
                events,
            } => {
                // EventBridge's wildcard matches `*` as any text; `\\` escapes a backslash.
                let key_match = if key.contains('*') {
                    // EventBridge refuses `**`: a run of stars is one.
                    let mut pattern = key.replace('\\', "\\\\");
                    while pattern.contains("**") {
                        pattern = pattern.replace("**", "*");
                    }
                    json!({ "wildcard": pattern })
                } else {
                    json!(key)
                };
                // A `${Name}` bucket is a template parameter (the legacy files bucket).
                let bucket = match bucket.strip_prefix("${").and_then(|b| b.strip_suffix('}')) {
                    Some(parameter) => json!({ "Ref": parameter }),
                    None => json!(bucket),
                };
                json!({
                    "source": ["aws.s3"],
                    "detail-type": events.detail_types(),
                    "detail": {"bucket": {"name": [bucket]}, "object": {"key": [key_match]}}
                })
            }
            Watched::Event(m) => {
                let mut data = Map::new();
                if let Some(id) = &m.id {
                    data.insert("eventId".into(), json!([id]));
                }
                if let Some(t) = &m.message {
                    data.insert("message".into(), json!([text_pattern(t)]));
                }
                if !m.severities.is_empty() {
                    data.insert("severity".into(), json!(m.severities));
                }
                if !m.attributes.is_empty() {
                    let a: Map<String, Value> = m
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), json!([v])))
                        .collect();
                    data.insert("attributes".into(), Value::Object(a));
                }
                let mut p = json!({"source": [m.source], "detail-type": [m.detail_type]});
                if !data.is_empty() {
                    p["detail"] = json!({"data": data});
                }
                p
            }
        }
    }

    /// How the report and the rule's description name it.
    pub fn describe(&self) -> String {
        use crate::ir::TextMatch;
        match self {
            Watched::Object {
                bucket,
                key,
                events,
            } => {
                let what = match (events.written, events.deleted) {
                    (true, true) => "a write or the deletion",
                    (false, true) => "the deletion",
                    _ => "a write",
                };
                // A template parameter's `${Name}` would be an error in a Description.
                let bucket = match bucket.strip_prefix("${").and_then(|b| b.strip_suffix('}')) {
                    Some(parameter) => format!("<{parameter}>"),
                    None => bucket.clone(),
                };
                format!("{what} of s3://{bucket}/{key}")
            }
            Watched::Event(m) => {
                let mut parts = vec![format!("`{}` events from `{}`", m.detail_type, m.source)];
                if let Some(id) = &m.id {
                    parts.push(format!("id {id}"));
                }
                match &m.message {
                    Some(TextMatch::Exact(t)) => parts.push(format!("message `{t}`")),
                    Some(TextMatch::Prefix(t)) => parts.push(format!("message starting `{t}`")),
                    Some(TextMatch::Suffix(t)) => parts.push(format!("message ending `{t}`")),
                    Some(TextMatch::Wildcard(t)) => parts.push(format!("message like `{t}`")),
                    None => {}
                }
                if !m.severities.is_empty() {
                    parts.push(format!("severity {}", m.severities.join("|")));
                }
                for (k, v) in &m.attributes {
                    parts.push(format!("{k} `{v}`"));
                }
                parts.join(", ")
            }
        }
    }
}

/// A text test in an event pattern.
fn text_pattern(t: &crate::ir::TextMatch) -> Value {
    match t.parts() {
        ("exact", text) => json!(text),
        (kind, text) => json!({ kind: text }),
    }
}

/// What the report says of the start conditions of unit `u` (a jobnet) of the machine
/// rooted at `root`: (kind, what, what the user must do).
pub fn start_condition_findings(
    project: &Project,
    u: UnitId,
) -> Vec<(crate::back::asl::FindingKind, String, String)> {
    use crate::back::asl::FindingKind;
    let Some(conditions) = project.units[u]
        .as_net()
        .and_then(|n| n.start_conditions.as_ref())
    else {
        return Vec::new();
    };
    if !project.roots.contains(&u) {
        return vec![(
            FindingKind::Unsupported,
            "start conditions on a nested jobnet".into(),
            "only a root jobnet starts on an event: move them to the root jobnet".into(),
        )];
    }
    let Some(watch) = start_watch(project, u) else {
        let some_watched = conditions.events.iter().any(|e| e.watch().is_ok());
        let what = if some_watched {
            "start conditions that must all happen, one of which EventBridge cannot watch"
        } else {
            "start conditions with nothing EventBridge can watch"
        };
        return vec![(
            FindingKind::Unsupported,
            what.into(),
            "start the jobnet on S3 objects' creation (`file_created: s3://bucket/key`), or begin it with file waits (`wait: {file: …}`), or start it from an EventBridge rule of your own".into(),
        )];
    };
    let mut buckets: Vec<&str> = watch
        .watched
        .iter()
        .filter_map(|w| match w {
            Watched::Object { bucket, .. } => Some(bucket.as_str()),
            Watched::Event(_) => None,
        })
        .collect();
    buckets.sort_unstable();
    buckets.dedup();
    let described: Vec<String> = watch.watched.iter().map(Watched::describe).collect();
    let mut action = String::new();
    if !buckets.is_empty() {
        action.push_str(&format!(
            "send the events of bucket(s) {} to EventBridge (the bucket's EventBridge notifications); ",
            buckets.join(", ")
        ));
    }
    if watch.watched.iter().any(|w| matches!(w, Watched::Event(_))) {
        action.push_str("events are matched on the default bus as the `eventbridge` job type (migrated JP1 event sending) sends them; ");
    }
    action.push_str(&format!(
        "{} of a business date starts its run and later ones that date are refused by the run's name (JP1's counts and time limits, `wc`/`wt`, are not kept)",
        if watch.all { "the last of the awaited events" } else { "the first event" }
    ));
    let mut items = vec![(
        FindingKind::Approximated,
        format!(
            "start conditions: EventBridge rules on {}",
            described.join("; ")
        ),
        action,
    )];
    if watch.all {
        items.push((
            FindingKind::Approximated,
            "start conditions that must all happen".into(),
            "the run table counts the events per business date: all of them must happen within one business date (JP1 keeps what happened until the condition is met)".into(),
        ));
    }
    if is_scheduled(project, u) {
        items.push((
            FindingKind::Approximated,
            "a schedule with start conditions".into(),
            "the schedule's start times start no run: an event on a run day of the schedule does, at any time of that business date".into(),
        ));
    }
    if !watch.unwatched.is_empty() {
        items.push((
            FindingKind::Unsupported,
            format!(
                "start conditions EventBridge cannot watch: {}",
                watch.unwatched.join(", ")
            ),
            "start the jobnet on them from an EventBridge rule of your own".into(),
        ));
    }
    items
}

/// Whether `root` has schedule rules, so its root machine gets the gate.
pub fn is_scheduled(project: &Project, root: UnitId) -> bool {
    project.units[root]
        .as_net()
        .is_some_and(|n| n.schedule.as_ref().is_some_and(|s| !s.rules.is_empty()))
}

/// The machine name the gate counts a root's start conditions under, when they must all
/// happen (`gate_states_with`'s `all_of`).
fn counted_by<'m>(project: &Project, root: UnitId, machine: &'m str) -> Option<&'m str> {
    start_watch(project, root)
        .filter(|w| w.all)
        .map(|_| machine)
}

/// What the gate adds to a root machine, for the split to budget before it is there.
pub fn gate_cost(
    project: &Project,
    root: UnitId,
    machine: &str,
    skip_alert: Option<&str>,
) -> crate::passes::partition::Cost {
    let states = |s: Map<String, Value>| json!({"StartAt": "x", "States": s});
    let all_of = counted_by(project, root, machine);
    let rules = crate::ir::rule_delays(project, root);
    let gated = states(gate_states_with("x", skip_alert, all_of, rules));
    let empty = states(Map::new());
    let (bytes, lines) = crate::back::metrics::pretty_len_lines(&gated);
    let (bytes0, lines0) = crate::back::metrics::pretty_len_lines(&empty);
    let m = crate::back::metrics::measure(&gated);
    crate::passes::partition::Cost {
        states: m.states,
        bytes: bytes - bytes0,
        events: m.history_events - crate::back::metrics::EXECUTION_EVENTS,
        lines: lines - lines0,
    }
}

/// Puts the gate in front of the root machine of a scheduled jobnet's output and grants it
/// the Lambda and the start of itself. An error when a unit's state name is one the gate
/// needs.
pub fn gate_root(
    project: &Project,
    out: &mut JobnetOutput,
    skip_alert: bool,
) -> Result<(), Diagnostic> {
    let root = out.root;
    let Some(m) = out.machines.iter_mut().find(|m| m.role == Role::Root) else {
        return Ok(());
    };
    let path = &project.units[root].path;
    let all_of = counted_by(project, root, &m.name).map(str::to_string);
    let definition = m.definition_mut();
    let next = definition["StartAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let gate = gate_states_with(
        &next,
        skip_alert.then_some(path.as_str()),
        all_of.as_deref(),
        crate::ir::rule_delays(project, root),
    );
    let Some(states) = definition.get("States").and_then(Tree::as_object) else {
        return Ok(());
    };
    // Only the states this gate has: the others' names stay free for units.
    if let Some(clash) = gate.keys().find(|n| states.contains_key(n.as_str())) {
        return Err(Diagnostic::error(
            E_GATE_CLASH,
            format!(
                "jobnet `{}` has a state named `{clash}`, which the schedule gate needs",
                project.units[root].name
            ),
        )
        .at(project.units[root].span)
        .hint("rename that unit"));
    }
    let Tree::Object(mut merged) = Tree::from(Value::Object(gate)) else {
        unreachable!("an object converts to an object");
    };
    if skip_alert {
        m.placeholders.insert(crate::back::asl::ALERT_TOPIC.into());
        m.iam.push(IamStatement {
            actions: vec!["sns:Publish".into()],
            resources: vec![format!("${{{}}}", crate::back::asl::ALERT_TOPIC)],
        });
    }
    let definition = m.definition_mut();
    if let Some(Tree::Object(states)) = definition.get_mut("States").map(Tree::take) {
        merged.extend(states);
    }
    definition["States"] = Tree::Object(merged);
    definition["StartAt"] = Tree::from("ScheduledStart");
    if all_of.is_some() {
        let table = crate::back::asl::RUN_TABLE;
        m.placeholders.insert(table.into());
        m.iam.push(IamStatement {
            actions: vec!["dynamodb:UpdateItem".into()],
            resources: vec![format!("${{{table}Arn}}")],
        });
    }
    m.placeholders.insert(LAMBDA_ARN_PLACEHOLDER.into());
    m.iam.push(IamStatement {
        actions: vec!["lambda:InvokeFunction".into()],
        resources: vec![format!("${{{LAMBDA_LOGICAL}.Arn}}")],
    });
    m.iam.push(IamStatement {
        actions: vec!["states:StartExecution".into()],
        resources: vec![format!(
            "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{}",
            m.name
        )],
    });
    if all_of.is_some() {
        out.tables.insert(crate::back::asl::RUN_TABLE.into());
    }
    Ok(())
}

/// Adds to a template from [`crate::back::cfn::template`] the calendar table, the Lambda,
/// and each scheduled jobnet's schedules, and binds the gate's Lambda ARN. The error is
/// that of a resource template that failed.
pub fn add_schedules(
    template: &mut crate::back::cfn::Template,
    project: &Project,
    outputs: &[JobnetOutput],
    templates: &TemplateSet,
    diags: &mut Diagnostics,
) -> Result<(), String> {
    let gated = gated_roots(project);
    let mut added = Vec::new();
    for out in outputs.iter().filter(|o| gated.contains(&o.root)) {
        let Some(m) = out.machines.iter().find(|m| m.role == Role::Root) else {
            continue;
        };
        let machine = format!("{}StateMachine", crate::back::cfn::logical(&m.name));
        // The gate's Lambda ARN is bound where the machine's other placeholders are.
        let subs = template
            .value
            .pointer_mut(&format!(
                "/Resources/{machine}/Properties/DefinitionSubstitutions"
            ))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| {
                format!(
                    "resource template `state_machine` must keep `Properties.DefinitionSubstitutions` of `{machine}`: the business-day gate's Lambda ARN is bound there"
                )
            })?;
        subs.insert(
            LAMBDA_ARN_PLACEHOLDER.into(),
            json!({"Fn::GetAtt": [LAMBDA_LOGICAL, "Arn"]}),
        );
        // Start conditions start the run; a schedule beside them only says which days.
        let (kind, origin, resources) = match start_watch(project, out.root) {
            Some(watch) => (
                "start_condition",
                "#start_conditions",
                jobnet_start_rules(project, out.root, &watch, &machine, templates, diags)?,
            ),
            None => (
                "schedule",
                "#schedules",
                jobnet_schedules(project, out.root, &machine, templates, diags)?,
            ),
        };
        if !resources.is_empty() {
            template.origins.extend(resources.keys().map(|k| {
                let origin = crate::back::cfn::Origin {
                    jobnet: out.machine_base.clone(),
                    unit: origin.into(),
                };
                (k.clone(), origin)
            }));
            added.push((kind, resources));
        }
    }
    if added.is_empty() {
        return Ok(());
    }
    let template = &mut template.value;
    if let Some(params) = template
        .get_mut("Parameters")
        .and_then(Value::as_object_mut)
    {
        params.remove(LAMBDA_ARN_PLACEHOLDER);
    }
    if let Some(res) = template.get_mut("Resources").and_then(Value::as_object_mut) {
        crate::back::cfn::add_resources(res, "calendar", shared_resources(templates)?)?;
        for (kind, resources) in added {
            crate::back::cfn::add_resources(res, kind, resources)?;
        }
    }
    if let Some(outs) = template.get_mut("Outputs").and_then(Value::as_object_mut) {
        outs.insert(
            "BusinessCalendarTableName".into(),
            json!({"Description": "Load calendars/*.json here (pk calendar, sk date)", "Value": {"Ref": TABLE_LOGICAL}}),
        );
    }
    Ok(())
}

/// Days between the calendar date a start fires on and its business date.
fn day_offset(day_start: ClockTime, t: ClockTime) -> u32 {
    u32::from(t.minutes >= 24 * 60 || t.minutes < day_start.minutes)
}

/// The schedules (one per distinct start time) and their role for one root jobnet, written
/// by resource template `schedule`; the error of a template that fails. Problems with the
/// jobnet's schedule go to `diags`.
///
/// `machine_logical` is the logical id of the jobnet's `AWS::StepFunctions::StateMachine`.
/// Each schedule's input is the Lambda's event: `scheduledTime`, `timezone`, `dayOffset`,
/// `calendar`, `rules` (those with this start time), `exclusive`, plus `startTime`,
/// `runSuffix` (`HHMM`, for the run's execution name) and empty run `vars`.
pub fn jobnet_schedules(
    project: &Project,
    root: UnitId,
    machine_logical: &str,
    templates: &TemplateSet,
    diags: &mut Diagnostics,
) -> Result<Map<String, Value>, String> {
    let Some(net) = project.units[root].as_net() else {
        return Ok(Map::new());
    };
    let Some(schedule) = net.schedule.as_ref() else {
        return Ok(Map::new());
    };
    let Some(cal) = root_calendar(project, root, diags) else {
        return Ok(Map::new());
    };
    let calendar = net.calendar.as_ref().map(|c| c.name.clone());
    let exclusive = exclusive_of(project, schedule, diags);
    let named = crate::ir::rule_delays(project, root);
    let mut by_time: BTreeMap<ClockTime, Vec<usize>> = BTreeMap::new();
    for (i, rule) in schedule.rules.iter().enumerate() {
        for t in crate::calendar::engine::start_times(&cal, rule) {
            by_time.entry(t).or_default().push(i);
        }
    }
    if by_time.len() > MANY_SCHEDULES {
        diags.push(
            Diagnostic::warning(
                W_MANY_SCHEDULES,
                format!(
                    "jobnet `{}` needs {} schedules, one per start time (repeats included)",
                    project.units[root].name,
                    by_time.len()
                ),
            )
            .at(schedule.span)
            .hint("a template holds at most 500 resources: use a longer `repeat_minutes` or fewer start times"),
        );
    }
    let role = format!("{machine_logical}SchedulerRole");
    let mut schedules = Vec::new();
    // The schedules' ids and their role: the resources the template must define.
    let mut needed = Vec::new();
    for (t, rules) in &by_time {
        let offset = day_offset(cal.day_start, *t);
        let wall = t.minutes % (24 * 60);
        let input = json!({
            "scheduledTime": "<aws.scheduler.scheduled-time>",
            "timezone": schedule.timezone,
            "dayOffset": offset,
            "startTime": t.to_string(),
            "runSuffix": format!("{:02}{:02}", t.hour(), t.minute()),
            "vars": {},
            "calendar": calendar,
            "rules": rules.iter().map(|i| named_rule_json(&schedule.rules[*i], named)).collect::<Vec<_>>(),
            "exclusive": exclusive,
        });
        let id = format!("{machine_logical}Schedule{:02}{:02}", t.hour(), t.minute());
        schedules.push(json!({
            "id": id,
            "description": format!("{} at {t} (business-day time)", project.units[root].name),
            "expression": cron(wall / 60, wall % 60, &schedule.rules, rules, offset),
            "timezone": schedule.timezone,
            "input": input.to_string(),
        }));
        needed.push(id);
    }
    if schedules.is_empty() {
        return Ok(Map::new());
    }
    needed.push(role.clone());
    templates.render_resources(
        "schedule",
        json!({"jobnet": {
            "name": project.units[root].name,
            "machine": machine_logical,
            "role": role,
            "schedules": schedules,
        }}),
        &needed,
    )
}

/// The EventBridge rules (one per watched object) and their role that start `root` on its
/// start conditions, written by resource template `start_condition`; the error of a
/// template that fails.
///
/// Each rule's input is the Lambda's event, as a schedule's is, with the event's time as
/// `scheduledTime` and `dayStart` (the calendar's, in minutes) so that an event before
/// the day start belongs to the business date before. A scheduled jobnet's rules say which
/// days are run days; without a schedule every day is. `runSuffix` is `cond`: one run per
/// business date, named `<businessDate>-cond`.
pub fn jobnet_start_rules(
    project: &Project,
    root: UnitId,
    watch: &StartWatch,
    machine_logical: &str,
    templates: &TemplateSet,
    diags: &mut Diagnostics,
) -> Result<Map<String, Value>, String> {
    let Some(net) = project.units[root].as_net() else {
        return Ok(Map::new());
    };
    let Some(cal) = root_calendar(project, root, diags) else {
        return Ok(Map::new());
    };
    let named = crate::ir::rule_delays(project, root);
    let (timezone, calendar, rules, exclusive) =
        match net.schedule.as_ref().filter(|s| !s.rules.is_empty()) {
            Some(s) => (
                s.timezone.clone(),
                net.calendar.as_ref().map(|c| c.name.clone()),
                s.rules
                    .iter()
                    .map(|r| named_rule_json(r, named))
                    .collect::<Vec<_>>(),
                exclusive_of(project, s, diags),
            ),
            None => (
                crate::ir::DEFAULT_TIMEZONE.to_string(),
                None,
                vec![json!({"days": ["daily"]})],
                Vec::new(),
            ),
        };
    // Each rule's input template (with `all`, its number among the conditions).
    let inputs: Vec<String> = (1..=watch.watched.len())
        .map(|condition| {
            let mut input = json!({
            "scheduledTime": "<time>",
            "timezone": timezone,
            "dayStart": cal.day_start.minutes,
            "dayOffset": 0,
            "startTime": "<time>",
            "runSuffix": "cond",
            "vars": {},
            "calendar": calendar,
            "rules": rules,
            "exclusive": exclusive,
            });
            if watch.all {
                input["condition"] = json!(condition.to_string());
                input["conditions"] = json!(watch.watched.len());
            }
            input.to_string()
        })
        .collect();
    // An input template holds at most 8,192 characters (a long schedule inlined in it), and
    // `<`/`>` cannot be escaped in it: any other pair reads as a placeholder.
    let longest = inputs.iter().map(|i| i.chars().count()).max().unwrap_or(0);
    let refused = if longest > INPUT_TEMPLATE_LIMIT {
        Some((
            format!("its start conditions' input would be {longest} characters (EventBridge takes {INPUT_TEMPLATE_LIMIT}): its schedule's rules and exclusive jobnets are inlined in it"),
            "shorten the schedule (fewer listed dates) or the exclusive jobnets' rules",
        ))
    } else if inputs
        .iter()
        .any(|i| i.replace("<time>", "").contains(['<', '>']))
    {
        Some((
            "its start conditions' input would hold `<` or `>` (a calendar or jobnet name), which EventBridge reads as a placeholder".to_string(),
            "rename the calendar or the exclusive jobnet",
        ))
    } else {
        None
    };
    if let Some((why, hint)) = refused {
        diags.push(
            Diagnostic::error(
                E_START_INPUT,
                format!("jobnet `{}`: {why}", project.units[root].name),
            )
            .at(net
                .start_conditions
                .as_ref()
                .map_or(project.units[root].span, |c| c.span))
            .hint(hint),
        );
        return Ok(Map::new());
    }
    let name = &project.units[root].name;
    let role = format!("{machine_logical}EventsRole");
    let mut needed = vec![role.clone()];
    let rules: Vec<Value> = watch
        .watched
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let id = format!("{machine_logical}Start{:02}", i + 1);
            needed.push(id.clone());
            json!({
                "id": id,
                "description": rule_description(format!("{name}: starts on {}", w.describe())),
                "pattern": w.pattern(),
                "input": &inputs[i],
            })
        })
        .collect();
    templates.render_resources(
        "start_condition",
        json!({"jobnet": {
            "name": name,
            "machine": machine_logical,
            "role": role,
            "rules": rules,
        }}),
        &needed,
    )
}

/// An EventBridge rule's description: at most 512 characters (EventBridge's limit),
/// shortened with `...`.
pub(crate) fn rule_description(mut description: String) -> String {
    if description.len() > 512 {
        let mut end = 509;
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        description.truncate(end);
        description.push_str("...");
    }
    description
}

/// The calendar of a root jobnet, or `None` with its problem in `diags`.
fn root_calendar(
    project: &Project,
    root: UnitId,
    diags: &mut Diagnostics,
) -> Option<crate::calendar::Resolved> {
    calendar_of(project, root).map_err(|d| diags.push(d)).ok()
}

/// The jobnets `schedule` must not run beside, as the Lambda reads them; a name that is no
/// scheduled root jobnet is an error.
fn exclusive_of(
    project: &Project,
    schedule: &crate::ir::Schedule,
    diags: &mut Diagnostics,
) -> Vec<Value> {
    let mut exclusive = Vec::new();
    for other in &schedule.exclusive_with {
        let found = project.roots.iter().copied().find(|r| {
            let u = &project.units[*r];
            u.name == *other || u.path.trim_start_matches('/') == other.trim_start_matches('/')
        });
        match found.and_then(|r| Some((r, project.units[r].as_net()?.schedule.as_ref()?))) {
            Some((r, s)) => exclusive.push(json!({
                "jobnet": other,
                "calendar": project.units[r].as_net().and_then(|n| n.calendar.as_ref()).map(|c| c.name.clone()),
                "rules": s.rules.iter().map(rule_json).collect::<Vec<_>>(),
            })),
            None => diags.push(
                Diagnostic::error(
                    crate::calendar::codes::E_UNKNOWN_JOBNET,
                    format!("`exclusive_with` names `{other}`, which is no scheduled root jobnet"),
                )
                .at(schedule.span)
                .hint("name a root jobnet of the project that has a schedule"),
            ),
        }
    }
    exclusive
}

/// The cron of one start time: only the rules' weekdays when every rule using it is a
/// plain weekday rule (the Lambda still judges the calendar), otherwise every day.
fn cron(hour: u32, minute: u32, all: &[ScheduleRule], used: &[usize], offset: u32) -> String {
    let mut dows = BTreeSet::new();
    for i in used {
        let r = &all[*i];
        match (&r.days, r.on_closed_day, r.reckon) {
            (DayRule::Weekdays(w), ClosedDayAction::Skip | ClosedDayAction::RunAnyway, None) => {
                dows.extend(
                    w.iter()
                        .map(|d| (d.num_days_from_sunday() + offset) % 7 + 1),
                );
            }
            _ => return format!("cron({minute} {hour} * * ? *)"),
        }
    }
    let names: Vec<&str> = dows
        .iter()
        .map(|d| ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"][(*d as usize) - 1])
        .collect();
    format!("cron({minute} {hour} ? * {} *)", names.join(","))
}

/// First and last year of a project's calendar data: the current year and the next two.
pub fn default_years(today: Date) -> std::ops::RangeInclusive<i32> {
    today.year()..=today.year() + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::spec::load;

    fn project(text: &str) -> (Project, Diagnostics) {
        let mut p = Project::default();
        let file = p.sources.add("t.yaml", text.to_string(), "utf-8");
        let mut diags = Diagnostics::default();
        load(&mut p, file, &mut diags);
        assert!(!diags.has_errors(), "{:?}", diags.items);
        (p, diags)
    }

    const SPEC: &str = r#"
version: 1
calendars:
  - name: 営業日
    weekdays: {sat: closed, sun: closed}
    japanese_holidays: true
    day_start: "05:00"
jobnets:
  - name: nightly
    calendar: 営業日
    schedule:
      exclusive_with: [monthly]
      rules:
        - {weekdays: [mon, fri], at: ["01:30", "22:00"]}
        - {nth_open_day: 1, at: "22:00", on_closed_day: next}
    units:
      - {name: a, type: lambda, params: {function: f}}
  - name: monthly
    schedule:
      rules:
        - {days_before_month_end: 0, at: "23:00"}
    units:
      - {name: a, type: lambda, params: {function: f}}
"#;

    #[test]
    fn lambda_fits_in_zip_file() {
        assert!(
            LAMBDA_SOURCE.len() <= ZIP_FILE_LIMIT,
            "{}",
            LAMBDA_SOURCE.len()
        );
        let r = shared_resources(&TemplateSet::load(None).unwrap()).unwrap();
        assert_eq!(
            r[LAMBDA_LOGICAL]["Properties"]["Code"]["ZipFile"],
            LAMBDA_SOURCE
        );
        assert_eq!(r[TABLE_LOGICAL]["Type"], "AWS::DynamoDB::Table");
    }

    #[test]
    fn one_schedule_per_start_time_with_a_narrow_role() {
        let (p, _) = project(SPEC);
        let mut diags = Diagnostics::default();
        let t = TemplateSet::load(None).unwrap();
        let r = jobnet_schedules(&p, p.roots[0], "NightlyMachine", &t, &mut diags).unwrap();
        assert!(diags.items.is_empty(), "{:?}", diags.items);
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "NightlyMachineSchedule2200",
                "NightlyMachineSchedule2530",
                "NightlyMachineSchedulerRole"
            ]
        );
        // 01:30 is before the 05:00 day start: Monday's and Friday's runs fire on Tuesday
        // and Saturday, and the Lambda takes one day off the scheduled date.
        let early = &r["NightlyMachineSchedule2530"]["Properties"];
        assert_eq!(early["ScheduleExpression"], "cron(30 1 ? * TUE,SAT *)");
        assert_eq!(early["ScheduleExpressionTimezone"], "Asia/Tokyo");
        let input: Value =
            serde_json::from_str(early["Target"]["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["dayOffset"], 1);
        assert_eq!(input["calendar"], "営業日");
        assert_eq!(input["rules"].as_array().unwrap().len(), 1);
        assert_eq!(input["exclusive"][0]["jobnet"], "monthly");
        assert_eq!(input["scheduledTime"], "<aws.scheduler.scheduled-time>");
        // 22:00 serves both rules; the open-day rule needs every day.
        let late = &r["NightlyMachineSchedule2200"]["Properties"];
        assert_eq!(late["ScheduleExpression"], "cron(0 22 * * ? *)");
        let role = &r["NightlyMachineSchedulerRole"]["Properties"];
        let stmt = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
        assert_eq!(stmt["Action"], "states:StartExecution");
        assert_eq!(stmt["Resource"], json!({"Ref": "NightlyMachine"}));
    }

    #[test]
    fn a_scheduled_jobnet_with_a_start_condition_starts_on_the_event_of_a_run_day() {
        let spec = SPEC.replace(
            "    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
            "    start_conditions:\n      events:\n        - {file_created: \"s3://drop/in/a\\\\b*.csv\"}\n        - {file_created: \"s3://drop/ok.flag\"}\n    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
        );
        let (p, _) = project(&spec);
        let root = p.roots[0];
        let watch = start_watch(&p, root).expect("watched");
        assert_eq!(
            watch.watched,
            [
                Watched::Object {
                    bucket: "drop".into(),
                    key: "in/a\\b*.csv".into(),
                    events: crate::ir::ObjectEvents::WRITTEN,
                },
                Watched::Object {
                    bucket: "drop".into(),
                    key: "ok.flag".into(),
                    events: crate::ir::ObjectEvents::WRITTEN,
                }
            ]
        );
        assert!(is_gated(&p, root));
        let mut diags = Diagnostics::default();
        let t = TemplateSet::load(None).unwrap();
        let r = jobnet_start_rules(&p, root, &watch, "NightlyMachine", &t, &mut diags).unwrap();
        assert!(diags.items.is_empty(), "{:?}", diags.items);
        let keys: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "NightlyMachineStart01",
                "NightlyMachineStart02",
                "NightlyMachineEventsRole"
            ]
        );
        let key =
            |i: &str| r[i]["Properties"]["EventPattern"]["detail"]["object"]["key"][0].clone();
        assert_eq!(
            key("NightlyMachineStart01"),
            json!({"wildcard": "in/a\\\\b*.csv"})
        );
        assert_eq!(key("NightlyMachineStart02"), json!("ok.flag"));
        let template = r["NightlyMachineStart02"]["Properties"]["Targets"][0]["InputTransformer"]
            ["InputTemplate"]
            .as_str()
            .unwrap();
        let input: Value = serde_json::from_str(&template.replace("<time>", "t")).unwrap();
        // The schedule's rules and calendar say which business dates run.
        assert_eq!(input["calendar"], "営業日");
        assert_eq!(input["rules"].as_array().unwrap().len(), 2);
        assert_eq!(input["exclusive"][0]["jobnet"], "monthly");
        assert_eq!(input["dayStart"], 300);
        assert_eq!(input["dayOffset"], 0);
        let findings = start_condition_findings(&p, root);
        let kinds: Vec<_> = findings.iter().map(|f| (f.0, f.1.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (
                    crate::back::asl::FindingKind::Approximated,
                    "start conditions: EventBridge rules on a write of s3://drop/in/a\\b*.csv; a write of s3://drop/ok.flag"
                ),
                (
                    crate::back::asl::FindingKind::Approximated,
                    "a schedule with start conditions"
                )
            ]
        );
        assert!(
            findings[0].2.contains("bucket(s) drop "),
            "{}",
            findings[0].2
        );
    }

    #[test]
    fn start_conditions_that_cannot_be_watched_are_reported() {
        use crate::back::asl::FindingKind;
        let with = |conditions: &str| {
            let spec = SPEC.replace(
                "    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
                &format!("    start_conditions: {conditions}\n    units:\n      - {{name: a, type: lambda, params: {{function: f}}}}\n  - name: monthly"),
            );
            let (p, _) = project(&spec);
            let root = p.roots[0];
            (start_watch(&p, root), start_condition_findings(&p, root))
        };
        // Both must happen: counted in the run table, reported.
        let (watch, findings) = with(
            "{all: true, events: [{file_created: \"s3://b/x\"}, {file_created: \"s3://b/y\"}]}",
        );
        assert!(watch.unwrap().all);
        assert_eq!(findings[1].0, FindingKind::Approximated);
        assert_eq!(findings[1].1, "start conditions that must all happen");
        assert!(findings[0].2.contains("the last of the awaited events"));
        // Both must happen, and one cannot be watched: never.
        let (watch, findings) =
            with("{all: true, events: [{file_created: \"s3://b/x\"}, {file_created: 'E:\\y'}]}");
        assert!(watch.is_none());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].0, FindingKind::Unsupported);
        assert_eq!(
            findings[0].1,
            "start conditions that must all happen, one of which EventBridge cannot watch"
        );
        // A legacy path is no S3 object.
        let (watch, findings) = with("{events: [{file_created: 'C:\\in\\x.csv'}]}");
        assert!(watch.is_none());
        assert_eq!(
            findings[0].1,
            "start conditions with nothing EventBridge can watch"
        );
        // Either of two, one of them watchable: the other is reported.
        let (watch, findings) =
            with("{events: [{file_created: \"s3://b/x\"}, {file_created: 'D:\\y'}]}");
        assert_eq!(
            watch.unwrap().unwatched,
            ["file `D:\\y` (not s3://bucket/key)"]
        );
        assert_eq!(findings.last().unwrap().0, FindingKind::Unsupported);
        // One event that must "all" happen is just that event.
        let (watch, _) = with("{all: true, events: [{file_created: \"s3://b/x\"}]}");
        assert!(!watch.unwrap().all);
    }

    #[test]
    fn start_condition_edge_cases() {
        use crate::back::asl::FindingKind;
        let with = |events: &str| {
            let spec = SPEC.replace(
                "    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
                &format!("    start_conditions: {{events: [{events}]}}\n    units:\n      - {{name: a, type: lambda, params: {{function: f}}}}\n  - name: monthly"),
            );
            project(&spec).0
        };
        // A placeholder cannot be matched by a pattern: not watched, reported.
        let p = with("{file_created: \"s3://${DropBucket}/in.csv\"}");
        assert!(start_watch(&p, p.roots[0]).is_none());
        let f = start_condition_findings(&p, p.roots[0]);
        assert_eq!(f[0].0, FindingKind::Unsupported);
        // EventBridge refuses `**`: a run of stars is one.
        let p = with("{file_created: \"s3://drop/in/**/x*.csv\"}");
        let w = start_watch(&p, p.roots[0]).unwrap();
        assert_eq!(
            w.watched[0].pattern()["detail"]["object"]["key"][0],
            json!({"wildcard": "in/*/x*.csv"})
        );
        // An input template over EventBridge's 8,192 characters is an error at compile time.
        let dates: Vec<String> = (0..700)
            .map(|i| format!("2027-{:02}-{:02}", i % 12 + 1, i % 28 + 1))
            .collect();
        let spec = SPEC
            .replace(
                r#"{nth_open_day: 1, at: "22:00", on_closed_day: next}"#,
                &format!("{{dates: [{}], at: \"22:00\"}}", dates.join(", ")),
            )
            .replace(
                "    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
                "    start_conditions: {events: [{file_created: \"s3://b/x\"}]}\n    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
            );
        let (p, _) = project(&spec);
        let watch = start_watch(&p, p.roots[0]).unwrap();
        let mut diags = Diagnostics::default();
        let t = TemplateSet::load(None).unwrap();
        let r = jobnet_start_rules(&p, p.roots[0], &watch, "M", &t, &mut diags).unwrap();
        assert!(r.is_empty());
        assert_eq!(diags.items[0].code, E_START_INPUT);
        assert!(
            diags.items[0].message.contains("8192"),
            "{}",
            diags.items[0].message
        );
    }

    #[test]
    fn a_start_input_with_angle_brackets_is_refused() {
        let spec = SPEC
            .replace("営業日", "<営業日>")
            .replace(
                "    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
                "    start_conditions: {events: [{file_created: \"s3://b/x\"}]}\n    units:\n      - {name: a, type: lambda, params: {function: f}}\n  - name: monthly",
            );
        let (p, _) = project(&spec);
        let root = p.roots[0];
        let watch = start_watch(&p, root).unwrap();
        let mut diags = Diagnostics::default();
        let t = TemplateSet::load(None).unwrap();
        let r = jobnet_start_rules(&p, root, &watch, "M", &t, &mut diags).unwrap();
        assert!(r.is_empty());
        assert_eq!(diags.items[0].code, E_START_INPUT);
    }

    #[test]
    fn frequent_repeats_warn() {
        let spec = SPEC.replace(
            r#"{nth_open_day: 1, at: "22:00", on_closed_day: next}"#,
            r#"{nth_open_day: 1, at: "05:00", repeat_minutes: 20}"#,
        );
        let (p, _) = project(&spec);
        let mut diags = Diagnostics::default();
        let t = TemplateSet::load(None).unwrap();
        let r = jobnet_schedules(&p, p.roots[0], "M", &t, &mut diags).unwrap();
        assert_eq!(diags.items.len(), 1, "{:?}", diags.items);
        assert_eq!(diags.items[0].code, W_MANY_SCHEDULES);
        assert!(!diags.has_errors());
        // 05:00 to 28:40 every 20 minutes (22:00 among them), 25:30 (01:30), the role.
        assert_eq!(r.len(), 72 + 1 + 1);
    }

    #[test]
    fn a_skipped_start_alerts_only_when_asked() {
        let plain = gate_states("FirstJob");
        assert_eq!(plain["IsRunDay"]["Default"], "NotARunDay");
        assert!(!plain.contains_key("SkipAlert"));
        let g = gate_states_with("FirstJob", Some("/net{x}"), Some("m"), false);
        assert_eq!(g["IsRunDay"]["Default"], "SkipAlert");
        let alert = &g["SkipAlert"];
        assert_eq!(alert["Resource"], "arn:aws:states:::sns:publish");
        assert_eq!(alert["Next"], "NotARunDay");
        assert_eq!(
            alert["Catch"][0]["Next"], "NotARunDay",
            "a failed alert still ends the skip"
        );
        let message = alert["Parameters"]["Message.$"].as_str().unwrap();
        assert!(message.contains("jobnet: /net\\{x\\}"), "{message}");
        assert!(message.contains("$.businessDay.businessDate"), "{message}");
        assert!(GATE_STATES.iter().all(|n| g.contains_key(*n)));
    }

    #[test]
    fn unknown_exclusive_jobnet_is_reported() {
        let (p, _) = project(&SPEC.replace("[monthly]", "[ghost]"));
        let mut diags = Diagnostics::default();
        let t = TemplateSet::load(None).unwrap();
        jobnet_schedules(&p, p.roots[0], "M", &t, &mut diags).unwrap();
        assert_eq!(diags.items[0].code, "E0604");
        assert!(diags.items[0].message.contains("ghost"));
    }

    #[test]
    fn calendar_files_hold_every_day() {
        let (p, _) = project(SPEC);
        let mut diags = Diagnostics::default();
        let files = calendar_items(&p, 2027..=2028, &mut diags);
        assert!(diags.items.is_empty());
        let f = &files["calendars/営業日.json"];
        assert_eq!(f["dayStart"], "05:00");
        let items = f["items"].as_array().unwrap();
        assert_eq!(items.len(), 365 + 366);
        assert_eq!(
            items[0],
            json!({"pk": "営業日", "sk": "2027-01-01", "open": false, "name": "元日", "reason": "holiday"})
        );
        assert_eq!(items[3]["open"], true);
        assert_eq!(items[3]["reason"], "weekday");
        assert_eq!(calendar_file("../a/b"), "calendars/_.._a_b.json");
    }

    #[test]
    fn gate_goes_on_or_ends() {
        let g = gate_states("FirstJob");
        assert_eq!(g["ScheduledStart"]["Default"], "FirstJob");
        assert_eq!(g["BusinessDay"]["Next"], "IsRunDay");
        assert_eq!(g["IsRunDay"]["Choices"][0]["Next"], "StartRun");
        assert_eq!(g["NotARunDay"]["Type"], "Succeed");
        let keys: Vec<&str> = g.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            GATE_STATES[..7]
                .iter()
                .copied()
                .filter(|n| *n != "SkipAlert")
                .collect::<Vec<_>>()
        );
        // Start conditions that must all happen: the run starts once every one has.
        let g = gate_states_with("FirstJob", None, Some("nightly's"), false);
        assert_eq!(g["IsRunDay"]["Choices"][0]["Next"], "StartCondition");
        let count = &g["StartCondition"];
        assert_eq!(
            count["Parameters"]["Key"]["pk"]["S.$"],
            "States.Format('cond#nightly\\'s#{}', $.businessDay.businessDate)"
        );
        assert_eq!(count["Parameters"]["UpdateExpression"], "ADD seen :c");
        assert_eq!(count["Next"], "AllConditions");
        let all = &g["AllConditions"]["Choices"][0];
        assert_eq!(all["NumericGreaterThanEqualsPath"], "$.conditions");
        assert_eq!(all["Next"], "StartRun");
        assert_eq!(g["AllConditions"]["Default"], "OtherConditionsPending");
        assert_eq!(g["OtherConditionsPending"]["Type"], "Succeed");
    }
}
