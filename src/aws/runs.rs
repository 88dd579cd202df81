//! The operations side: `status`, `rerun`, `hold` and `release` on the run records that
//! generated machines keep in the run table (src/back/records.rs writes the same items).
//! What a compile knows about each jobnet (units, successors, root machine) comes from the
//! output directory's `runs.json`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{anyhow, bail, Context as _};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde::Deserialize;
use serde_json::{json, Value};

use super::deploy::{attribute_to_json, list_state_machines, sdk_error, AwsClients};
use crate::back::records::{self, run_key, unit_key};

/// `runs.json` of a compiled output directory.
#[derive(Debug, Clone, Deserialize)]
pub struct RunMap {
    pub jobnets: Vec<JobnetMap>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobnetMap {
    pub name: String,
    pub path: String,
    /// The jobnet's name in record keys.
    pub record: String,
    /// The root state machine's name.
    pub machine: String,
    /// Runs are keyed by business date and generation (several runs a date).
    #[serde(default)]
    pub generations: bool,
    pub units: Vec<UnitMap>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UnitMap {
    pub path: String,
    pub parent: Option<String>,
    pub job: bool,
    /// Keeps a run record (jobs, interval waits, event waits, file waits with `when`); absent in older files, where only
    /// jobs had one.
    #[serde(default)]
    pub recorded: Option<bool>,
    /// A jobnet held in the definition: it waits at a gate whose record `release` marks.
    #[serde(default, rename = "holdGate")]
    pub hold_gate: bool,
    /// A root jobnet held only after its previous run ended so (`after_warning`,
    /// `after_abnormal`): its gate holds a run only when the run marked its record
    /// (`heldAt`) or an operator held it (`held`).
    #[serde(default, rename = "holdAfter")]
    pub hold_after: Option<String>,
    pub successors: Vec<String>,
}

impl UnitMap {
    /// Whether the unit has a run record to read, reset, hold or release.
    pub fn recorded(&self) -> bool {
        self.recorded.unwrap_or(self.job)
    }
}

impl JobnetMap {
    /// A root held after a warning of its previous run: its runs mark warnings in `warned`.
    pub fn warnings_hold(&self) -> bool {
        self.units
            .iter()
            .any(|u| u.parent.is_none() && u.hold_after.as_deref() == Some("after_warning"))
    }
}

impl RunMap {
    pub fn read(dir: &Path) -> anyhow::Result<RunMap> {
        let file = dir.join("runs.json");
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "cannot read {} (compile the jobnets into {} first)",
                file.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid", file.display()))
    }

    /// The jobnet by name, root path or record name.
    pub fn jobnet(&self, name: &str) -> anyhow::Result<&JobnetMap> {
        self.jobnets
            .iter()
            .find(|j| j.name == name || j.path == name || j.record == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.jobnets.iter().map(|j| j.name.as_str()).collect();
                anyhow!(
                    "no jobnet `{name}` with run records in runs.json (known: {})",
                    known.join(", ")
                )
            })
    }
}

/// Which units a rerun runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The unit and everything after it (in its net and in every enclosing net).
    From(String),
    /// Everything after the unit, not the unit itself.
    After(String),
    /// The unit alone (a nested jobnet: all of it).
    Only(String),
    /// From every job that ended abnormally in the run.
    Failed,
}

impl JobnetMap {
    /// A unit path from a full path (`/net/job`) or one relative to the jobnet (`job`).
    pub fn unit(&self, name: &str) -> anyhow::Result<&UnitMap> {
        let path = if name.trim_matches('/').is_empty() {
            self.path.clone()
        } else if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}/{}", self.path, name.trim_matches('/'))
        };
        self.units.iter().find(|u| u.path == path).ok_or_else(|| {
            anyhow!(
                "jobnet `{}` has no unit `{path}` (units are named by path, e.g. {})",
                self.name,
                self.units.get(1).map_or("/net/job", |u| u.path.as_str())
            )
        })
    }

    fn by_path(&self) -> HashMap<&str, &UnitMap> {
        self.units.iter().map(|u| (u.path.as_str(), u)).collect()
    }

    /// The recorded units of `path` itself: the unit if it has a record, every recorded unit
    /// inside if it is a net.
    fn recorded_in(&self, path: &str, out: &mut BTreeSet<String>) {
        let inside = format!("{path}/");
        for u in &self.units {
            if u.recorded() && (u.path == path || u.path.starts_with(&inside)) {
                out.insert(u.path.clone());
            }
        }
    }

    /// The jobs a selection runs again (never empty for a unit selection).
    pub fn select(&self, selection: &Selection, failed: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        match selection {
            Selection::Only(p) => self.recorded_in(p, &mut out),
            Selection::From(p) => self.from(p, true, &mut out),
            Selection::After(p) => self.from(p, false, &mut out),
            Selection::Failed => {
                for p in failed {
                    self.from(p, true, &mut out);
                }
            }
        }
        out
    }

    /// Jobs of `path` (if `include`) and of every unit after it: its successors' closure in
    /// its net, then the same for each enclosing net, whose end it changes.
    fn from(&self, path: &str, include: bool, out: &mut BTreeSet<String>) {
        let units = self.by_path();
        if include {
            self.recorded_in(path, out);
        }
        let mut at = Some(path.to_string());
        while let Some(p) = at {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<String> = units
                .get(p.as_str())
                .map(|u| u.successors.clone())
                .unwrap_or_default();
            while let Some(s) = stack.pop() {
                if !seen.insert(s.clone()) {
                    continue;
                }
                self.recorded_in(&s, out);
                if let Some(u) = units.get(s.as_str()) {
                    stack.extend(u.successors.iter().cloned());
                }
            }
            at = units.get(p.as_str()).and_then(|u| u.parent.clone());
        }
    }

    /// The units `status` lists: those with a record, and held jobnets' gates.
    fn status_units(&self) -> impl Iterator<Item = &UnitMap> {
        self.units.iter().filter(|u| u.recorded() || u.hold_gate)
    }
}

/// One job's record (or one run's, for the run list).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Row {
    pub unit: String,
    pub business_date: String,
    pub status: String,
    pub started: String,
    pub ended: String,
    pub rc: String,
    pub attempts: String,
    pub held: String,
}

fn text(item: &serde_json::Map<String, Value>, key: &str) -> String {
    match item.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

fn row(unit: &str, date: &str, item: Option<&serde_json::Map<String, Value>>) -> Row {
    let Some(item) = item else {
        return Row {
            unit: unit.to_string(),
            business_date: date.to_string(),
            status: "NOT_RUN".into(),
            ..Row::default()
        };
    };
    let held = match (text(item, "held").as_str(), item.get("released")) {
        ("", _) => String::new(),
        (_, Some(Value::Bool(true))) => "released".into(),
        (h, _) => h.to_string(),
    };
    Row {
        unit: unit.to_string(),
        business_date: date.to_string(),
        status: text(item, "status"),
        started: text(item, "startedAt"),
        ended: text(item, "endedAt"),
        rc: text(item, "rc"),
        attempts: text(item, "attempts"),
        held,
    }
}

/// Reads many items by `pk` (BatchGetItem, 100 a request, unprocessed keys retried).
async fn get_many(
    clients: &AwsClients,
    table: &str,
    keys: &[String],
) -> anyhow::Result<HashMap<String, serde_json::Map<String, Value>>> {
    let mut found = HashMap::new();
    for chunk in keys.chunks(100) {
        let mut pending: Vec<HashMap<String, AttributeValue>> = chunk
            .iter()
            .map(|k| HashMap::from([("pk".to_string(), AttributeValue::S(k.clone()))]))
            .collect();
        for attempt in 0..8 {
            if pending.is_empty() {
                break;
            }
            let req = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| anyhow!("building a batch read: {e}"))?;
            let out = clients
                .dynamodb
                .batch_get_item()
                .request_items(table, req)
                .send()
                .await
                .map_err(|e| sdk_error(e, &format!("reading run records from {table:?}")))?;
            for item in out
                .responses()
                .and_then(|r| r.get(table))
                .into_iter()
                .flatten()
            {
                if let Some(AttributeValue::S(pk)) = item.get("pk") {
                    let plain = item
                        .iter()
                        .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                        .collect();
                    found.insert(pk.clone(), plain);
                }
            }
            if let Some(rest) = out.unprocessed_keys().and_then(|u| u.get(table)) {
                pending = rest.keys().to_vec();
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        if !pending.is_empty() {
            bail!("reading run records from {table:?}: keys still unprocessed after retries");
        }
    }
    Ok(found)
}

/// The business dates with a run of `jobnet`, newest first.
pub async fn runs(
    clients: &AwsClients,
    table: &str,
    jobnet: &JobnetMap,
) -> anyhow::Result<Vec<Row>> {
    let prefix = format!("run#{}#", jobnet.record);
    let mut rows = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let out = clients
            .dynamodb
            .scan()
            .table_name(table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", AttributeValue::S(prefix.clone()))
            .set_exclusive_start_key(start.take())
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("listing runs in {table:?}")))?;
        for item in out.items() {
            let plain: serde_json::Map<String, Value> = item
                .iter()
                .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                .collect();
            let date = match text(&plain, "generation").as_str() {
                "" => text(&plain, "businessDate"),
                g => records::run_segment(&text(&plain, "businessDate"), Some(g)),
            };
            let mut r = row(&jobnet.path, &date, Some(&plain));
            r.attempts = text(&plain, "starts");
            r.held = match text(&plain, "refused").as_str() {
                "" => String::new(),
                n => format!("{n} start(s) refused"),
            };
            rows.push(r);
        }
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    rows.sort_by(|a, b| b.business_date.cmp(&a.business_date));
    Ok(rows)
}

/// Every job of one run: what ran, when, how it ended.
pub async fn status(
    clients: &AwsClients,
    table: &str,
    jobnet: &JobnetMap,
    date: &str,
) -> anyhow::Result<Vec<Row>> {
    let jobs: Vec<&UnitMap> = jobnet.status_units().collect();
    let keys: Vec<String> = jobs
        .iter()
        .map(|u| unit_key(&jobnet.record, date, &u.path))
        .collect();
    let found = get_many(clients, table, &keys).await?;
    Ok(jobs
        .iter()
        .zip(&keys)
        .map(|(u, k)| {
            if u.hold_gate {
                gate_row(&u.path, date, found.get(k), u.hold_after.is_some())
            } else {
                row(&u.path, date, found.get(k))
            }
        })
        .collect())
}

/// A held jobnet's gate: HELD until released (it waits when the run reaches it), RELEASED
/// until the run's next look at it, then PASSED, with the time the run went through. A
/// root held after its previous run (`conditional`) is held only once its run marked it
/// (`heldAt`) or an operator held it (`held`): NOT HELD before that, and when the run went
/// through without being held.
fn gate_row(
    unit: &str,
    date: &str,
    item: Option<&serde_json::Map<String, Value>>,
    conditional: bool,
) -> Row {
    let has = |key: &str| item.is_some_and(|i| i.contains_key(key));
    let released = item.is_some_and(|i| i.get("released") == Some(&Value::Bool(true)));
    let passed = item.map(|i| text(i, "passedAt")).unwrap_or_default();
    let after = item.map(|i| text(i, "heldAfter")).unwrap_or_default();
    let held_now = !released && (!conditional || has("heldAt") || has("held"));
    let was_held = !conditional || released || !after.is_empty() || has("held");
    let status = if held_now {
        "HELD"
    } else if released && passed.is_empty() {
        "RELEASED"
    } else if !passed.is_empty() && was_held {
        "PASSED"
    } else {
        "NOT HELD"
    };
    Row {
        unit: unit.to_string(),
        business_date: date.to_string(),
        status: status.into(),
        started: passed,
        held: match () {
            _ if released => "released".into(),
            _ if !conditional => "definition".into(),
            _ if has("held") && !has("heldAt") => "operator".into(),
            _ if !after.is_empty() => format!("after run {after}"),
            _ => String::new(),
        },
        ..Row::default()
    }
}

/// What `rerun` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rerun {
    pub execution_arn: String,
    pub execution_name: String,
    pub reset: Vec<String>,
}

/// Resets the selected jobs of the run of `date` (and `generation`) and starts an execution
/// that runs exactly those (and whatever had not ended normally), with the run's original
/// variables.
pub async fn rerun(
    clients: &AwsClients,
    table: &str,
    jobnet: &JobnetMap,
    business_date: &str,
    generation: Option<&str>,
    selection: &Selection,
) -> anyhow::Result<Rerun> {
    let run_segment = records::run_segment(business_date, generation);
    let date = run_segment.as_str();
    let run = clients
        .get_item(table, &[("pk", &run_key(&jobnet.record, date))])
        .await?
        .ok_or_else(|| {
            anyhow!(
                "jobnet `{}` has no run for business date {date}",
                jobnet.name
            )
        })?;
    // Everything that can refuse the rerun is checked before any record is reset.
    let machines = list_state_machines(&clients.sfn).await?;
    let arn = machines.get(&jobnet.machine).ok_or_else(|| {
        anyhow!(
            "state machine {} is not deployed in this account and region",
            jobnet.machine
        )
    })?;
    let previous = text(&run, "execution");
    let mut original_input = json!({});
    if !previous.is_empty() {
        let d = clients.describe_execution(&previous).await?;
        if d.status == "RUNNING" {
            bail!(
                "the run of {date} is still going ({previous}); wait for it to end or stop it first"
            );
        }
        let described = clients
            .sfn
            .describe_execution()
            .execution_arn(&previous)
            .send()
            .await
            .map_err(|e| sdk_error(e, "reading the run's input"))?;
        if let Some(input) = described.input() {
            original_input = serde_json::from_str(input).unwrap_or_else(|_| json!({}));
        }
    }
    let failed: Vec<String> = if *selection == Selection::Failed {
        status(clients, table, jobnet, date)
            .await?
            .into_iter()
            .filter(|r| r.status == records::ENDED_ABNORMALLY)
            .map(|r| r.unit)
            .collect()
    } else {
        Vec::new()
    };
    let reset: Vec<String> = jobnet.select(selection, &failed).into_iter().collect();
    if reset.is_empty() {
        bail!("nothing to rerun: the selection has no job (for --failed: no job ended abnormally on {date})");
    }
    for path in &reset {
        clients
            .dynamodb
            .update_item()
            .table_name(table)
            .key(
                "pk",
                AttributeValue::S(unit_key(&jobnet.record, date, path)),
            )
            .update_expression("SET #s = :reset REMOVE endedAt, rc")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":reset", AttributeValue::S(records::RESET.into()))
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("resetting {path}")))?;
    }
    // The units that run again lose their warnings (`warned`, which holds the next run of a
    // jobnet held after a warning): the jobs reset, and the units without a record, which
    // every execution runs again. One that warns again is marked again.
    let mut counting = clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(run_key(&jobnet.record, date)))
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    counting = if jobnet.warnings_hold() {
        let again: BTreeSet<String> = reset
            .iter()
            .cloned()
            .chain(
                jobnet
                    .units
                    .iter()
                    .filter(|u| !u.recorded())
                    .map(|u| u.path.clone()),
            )
            .collect();
        // RUNNING at once: a held next run must not read the run as ended without
        // warnings before the rerun's execution marks it (restored if it cannot start).
        counting
            .update_expression("SET #s = :running ADD reruns :one DELETE warned :again")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":running", AttributeValue::S(records::RUNNING.into()))
            .expression_attribute_values(":again", AttributeValue::Ss(again.into_iter().collect()))
    } else {
        counting.update_expression("ADD reruns :one")
    };
    let counted = counting
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| sdk_error(e, "counting the rerun"))?;
    let n = match counted.attributes().and_then(|a| a.get("reruns")) {
        Some(AttributeValue::N(n)) => n.clone(),
        _ => "1".into(),
    };
    let name = match generation {
        Some(g) => format!("{business_date}-{g}-rerun-{n}"),
        None => format!("{business_date}-rerun-{n}"),
    };
    let mut input = json!({"businessDate": business_date, "rerun": true});
    if let Some(g) = generation {
        input[records::GENERATION_FIELD] = json!(g);
    }
    for key in ["vars", "startTime", "rule"] {
        if let Some(v) = original_input.get(key) {
            input[key] = v.clone();
        }
    }
    let execution_arn = match clients.start_execution(arn, &name, &input).await {
        Ok(arn) => arn,
        Err(e) => {
            // The run's status and warnings as they were: a held next run reads them.
            let before = text(&run, "status");
            if jobnet.warnings_hold() && !before.is_empty() {
                let warned: Vec<String> = run
                    .get("warned")
                    .and_then(Value::as_array)
                    .map(|w| {
                        w.iter()
                            .filter_map(|p| p.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut restore = clients
                    .dynamodb
                    .update_item()
                    .table_name(table)
                    .key("pk", AttributeValue::S(run_key(&jobnet.record, date)))
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":before", AttributeValue::S(before));
                restore = if warned.is_empty() {
                    restore.update_expression("SET #s = :before")
                } else {
                    restore
                        .update_expression("SET #s = :before ADD warned :warned")
                        .expression_attribute_values(":warned", AttributeValue::Ss(warned))
                };
                restore
                    .send()
                    .await
                    .map_err(|e| sdk_error(e, "restoring the run's status"))?;
            }
            return Err(e);
        }
    };
    Ok(Rerun {
        execution_arn,
        execution_name: name,
        reset,
    })
}

/// Holds a job of the run of `date`: it waits (or, with `skip`, is passed over) when its
/// turn comes, until `release`.
pub async fn hold(
    clients: &AwsClients,
    table: &str,
    jobnet: &JobnetMap,
    date: &str,
    unit: &str,
    skip: bool,
) -> anyhow::Result<String> {
    let held = AttributeValue::S(if skip { "skip" } else { "wait" }.into());
    mark_job(
        clients,
        table,
        jobnet,
        (date, unit),
        (
            "hold",
            "SET held = :v, unitPath = :u, businessDate = :d REMOVE released",
        ),
        held,
    )
    .await
}

/// Releases a held job (also one held in the source definition).
pub async fn release(
    clients: &AwsClients,
    table: &str,
    jobnet: &JobnetMap,
    date: &str,
    unit: &str,
) -> anyhow::Result<String> {
    mark_job(
        clients,
        table,
        jobnet,
        (date, unit),
        (
            "release",
            "SET released = :v, unitPath = :u, businessDate = :d",
        ),
        AttributeValue::Bool(true),
    )
    .await
}

/// Applies `update` (with `:v` = `value`) to the record of one job of the run of `date`;
/// `verb` names the operation in messages. Returns the job's path.
async fn mark_job(
    clients: &AwsClients,
    table: &str,
    jobnet: &JobnetMap,
    (date, unit): (&str, &str),
    (verb, update): (&str, &str),
    value: AttributeValue,
) -> anyhow::Result<String> {
    let u = jobnet.unit(unit)?;
    if u.hold_gate && verb == "hold" && value == AttributeValue::S("skip".into()) {
        bail!(
            "`{}` is a held jobnet: it can wait, not be passed over; hold the jobs inside it with --skip",
            u.path
        );
    }
    if !u.recorded() && !u.hold_gate {
        bail!(
            "`{}` has no run record (jobs, interval waits, event waits, file waits for a write or deletion, and jobnets held in the definition have one): {verb} the jobs inside it",
            u.path
        );
    }
    clients
        .dynamodb
        .update_item()
        .table_name(table)
        .key(
            "pk",
            AttributeValue::S(unit_key(&jobnet.record, date, &u.path)),
        )
        .update_expression(update)
        .expression_attribute_values(":v", value)
        .expression_attribute_values(":u", AttributeValue::S(u.path.clone()))
        .expression_attribute_values(":d", AttributeValue::S(date.into()))
        .send()
        .await
        .map_err(|e| sdk_error(e, &format!("{verb} of {}", u.path)))?;
    Ok(u.path.clone())
}

/// Rows as an aligned text table.
pub fn table(rows: &[Row], runs: bool) -> String {
    let head: Vec<&str> = if runs {
        vec![
            "business date",
            "status",
            "started",
            "ended",
            "starts",
            "notes",
        ]
    } else {
        vec![
            "unit", "status", "started", "ended", "rc", "attempts", "hold",
        ]
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            // A run's row has its date and no return code; a job's its unit and code.
            let first = if runs { &r.business_date } else { &r.unit };
            let rc = (!runs).then_some(&r.rc);
            [first, &r.status, &r.started, &r.ended]
                .into_iter()
                .chain(rc)
                .chain([&r.attempts, &r.held])
                .cloned()
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[String]| {
        let parts: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(
        &mut out,
        &head.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    for row in &cells {
        line(&mut out, row);
    }
    out
}

/// Counts of each status, for a one-line summary.
pub fn summary(rows: &[Row]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *by.entry(r.status.as_str()).or_default() += 1;
    }
    by.iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> JobnetMap {
        // /n: a -> inner -> d ; inner: b -> c ; e independent.
        let u = |path: &str, parent: &str, job: bool, succ: &[&str]| UnitMap {
            path: path.into(),
            parent: Some(parent.into()),
            job,
            recorded: None,
            hold_gate: false,
            hold_after: None,
            successors: succ.iter().map(|s| s.to_string()).collect(),
        };
        JobnetMap {
            name: "n".into(),
            path: "/n".into(),
            record: "n".into(),
            machine: "n".into(),
            generations: false,
            units: vec![
                UnitMap {
                    path: "/n".into(),
                    parent: None,
                    job: false,
                    recorded: None,
                    hold_gate: false,
                    hold_after: None,
                    successors: vec![],
                },
                u("/n/a", "/n", true, &["/n/inner"]),
                u("/n/inner", "/n", false, &["/n/d"]),
                u("/n/inner/b", "/n/inner", true, &["/n/inner/c"]),
                u("/n/inner/c", "/n/inner", true, &[]),
                u("/n/d", "/n", true, &[]),
                u("/n/e", "/n", true, &[]),
            ],
        }
    }

    #[test]
    fn the_root_is_named_by_its_path_or_by_nothing() {
        let m = map();
        for name in ["", "/", "/n"] {
            assert_eq!(m.unit(name).expect(name).path, "/n");
        }
        assert_eq!(m.unit("a").expect("a").path, "/n/a");
        assert!(m.unit("zz").is_err());
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selections_follow_successors_and_enclosing_nets() {
        let m = map();
        assert_eq!(
            m.select(&Selection::From("/n/a".into()), &[]),
            set(&["/n/a", "/n/inner/b", "/n/inner/c", "/n/d"])
        );
        assert_eq!(
            m.select(&Selection::After("/n/a".into()), &[]),
            set(&["/n/inner/b", "/n/inner/c", "/n/d"])
        );
        // Inside a nested net, the enclosing net's successors run again too.
        assert_eq!(
            m.select(&Selection::From("/n/inner/c".into()), &[]),
            set(&["/n/inner/c", "/n/d"])
        );
        assert_eq!(
            m.select(&Selection::Only("/n/inner".into()), &[]),
            set(&["/n/inner/b", "/n/inner/c"])
        );
        assert_eq!(
            m.select(&Selection::Failed, &["/n/inner/b".into(), "/n/e".into()]),
            set(&["/n/inner/b", "/n/inner/c", "/n/d", "/n/e"])
        );
    }

    /// An interval wait keeps a record: a rerun from before it waits again, a rerun after
    /// it does not touch it.
    #[test]
    fn interval_waits_after_the_rerun_point_are_reset_too() {
        let mut m = map();
        m.units[1].successors = vec!["/n/w".into()];
        m.units.push(UnitMap {
            path: "/n/w".into(),
            parent: Some("/n".into()),
            job: false,
            recorded: Some(true),
            hold_gate: false,
            hold_after: None,
            successors: vec!["/n/inner".into()],
        });
        assert_eq!(
            m.select(&Selection::From("/n/a".into()), &[]),
            set(&["/n/a", "/n/w", "/n/inner/b", "/n/inner/c", "/n/d"])
        );
        assert_eq!(
            m.select(&Selection::From("/n/inner/b".into()), &[]),
            set(&["/n/inner/b", "/n/inner/c", "/n/d"])
        );
        assert!(
            m.status_units().any(|u| u.path == "/n/w"),
            "listed by status"
        );
    }

    #[test]
    fn a_gate_held_after_the_previous_run_is_held_once_the_run_marks_it() {
        let item = |v: serde_json::Value| v.as_object().cloned();
        let status = |i: Option<serde_json::Map<String, Value>>, conditional| {
            let r = gate_row("/n", "2027-01-02", i.as_ref(), conditional);
            (r.status, r.held)
        };
        assert_eq!(status(None, true), ("NOT HELD".into(), String::new()));
        assert_eq!(status(None, false), ("HELD".into(), "definition".into()));
        let held = item(json!({"heldAt": "t", "heldAfter": "2027-01-01"}));
        assert_eq!(
            status(held, true),
            ("HELD".into(), "after run 2027-01-01".into())
        );
        let by_hand = item(json!({"held": "wait"}));
        assert_eq!(status(by_hand, true), ("HELD".into(), "operator".into()));
        let released = item(json!({"heldAt": "t", "released": true}));
        assert_eq!(
            status(released, true),
            ("RELEASED".into(), "released".into())
        );
        // Went on by itself once the run before ended well: PASSED, and after which run.
        let cleared = item(json!({"heldAfter": "2027-01-01", "clearedAt": "t", "passedAt": "u"}));
        assert_eq!(
            status(cleared, true),
            ("PASSED".into(), "after run 2027-01-01".into())
        );
        // Never held: its gate let it through at once.
        let through = item(json!({"passedAt": "u"}));
        assert_eq!(status(through, true).0, "NOT HELD");
        let passed = item(json!({"released": true, "passedAt": "t"}));
        assert_eq!(status(passed, false).0, "PASSED");
        // Held again by an operator after it went through: HELD (a rerun waits).
        let again = |v| status(item(v), false);
        assert_eq!(
            again(json!({"passedAt": "t", "held": "wait"})),
            ("HELD".into(), "definition".into())
        );
        let again = |v| status(item(v), true);
        assert_eq!(
            again(json!({"passedAt": "t", "held": "wait"})),
            ("HELD".into(), "operator".into())
        );
        assert_eq!(
            again(json!({"passedAt": "t", "heldAt": "u", "heldAfter": "d", "held": "wait"})),
            ("HELD".into(), "after run d".into())
        );
    }

    #[test]
    fn units_are_named_by_path_or_relative_to_the_jobnet() {
        let m = map();
        assert_eq!(m.unit("inner/b").expect("found").path, "/n/inner/b");
        assert_eq!(m.unit("/n/d").expect("found").path, "/n/d");
        assert!(m.unit("zz").is_err());
    }
}
