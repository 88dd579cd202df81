//! Support for the `test` job type (templates/jobtypes/test.json.tera): the helper machine
//! its jobs start when they need a return code or a duration, and the reader of the event
//! log its jobs write. Used by the emulator tests; usable against AWS as a smoke test.

use anyhow::{anyhow, bail, Context as _};
use serde_json::Value;

use super::deploy::{list_state_machines, upsert_state_machine, AwsClients};

/// Definition of the helper machine (`${TestChildArn}` of test jobs).
pub const TEST_CHILD_ASL: &str = include_str!("../../templates/test-child.asl.json");
/// Name the helper machine is deployed under.
pub const TEST_CHILD_NAME: &str = "jobnet2sfn-test-child";
/// Deployment parameter that receives the helper machine's ARN.
pub const TEST_CHILD_PARAMETER: &str = "TestChildArn";
/// Logical id of the table test jobs record their events in.
pub const EVENTS_TABLE: &str = "TestEvents";

/// Creates or updates the helper machine; returns its ARN.
pub async fn deploy_test_child(clients: &AwsClients, role_arn: &str) -> anyhow::Result<String> {
    let existing = list_state_machines(&clients.sfn).await?;
    upsert_state_machine(
        &clients.sfn,
        TEST_CHILD_NAME,
        TEST_CHILD_ASL,
        role_arn,
        existing.get(TEST_CHILD_NAME).map(String::as_str),
    )
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Start,
    End,
}

/// One recorded event: a job (by unit path) started, or ended normally on retry `attempt`
/// (0 = first attempt).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    pub kind: EventKind,
    pub unit: String,
    pub attempt: u32,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            EventKind::Start => write!(f, "start {}", self.unit),
            EventKind::End => write!(f, "end {} (try {})", self.unit, self.attempt),
        }
    }
}

/// The events of run `run_id` in the order they happened (empty when no job ran). Fails when
/// the item is malformed or its `seq` counter disagrees with the list (a lost write).
pub async fn read_events(
    clients: &AwsClients,
    table: &str,
    run_id: &str,
) -> anyhow::Result<Vec<Event>> {
    let Some(item) = clients.get_item(table, &[("pk", run_id)]).await? else {
        return Ok(Vec::new());
    };
    parse_events(&Value::Object(item)).with_context(|| format!("events of run {run_id:?}"))
}

/// Parses the plain-JSON form of an event item (see [`super::deploy::attribute_to_json`]).
pub fn parse_events(item: &Value) -> anyhow::Result<Vec<Event>> {
    let list = item
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the item has no `events` list: {item}"))?;
    let mut events = Vec::with_capacity(list.len());
    for e in list {
        let kind = match e.get("k").and_then(Value::as_str) {
            Some("start") => EventKind::Start,
            Some("end") => EventKind::End,
            _ => bail!("event without a valid kind: {e}"),
        };
        let unit = e
            .get("u")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("event without a unit: {e}"))?
            .to_string();
        let attempt = e
            .get("try")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| anyhow!("event without a valid try: {e}"))?;
        events.push(Event {
            kind,
            unit,
            attempt,
        });
    }
    let seq = item.get("seq").and_then(Value::as_u64);
    if seq != Some(events.len() as u64) {
        bail!(
            "seq is {seq:?} but {} events are listed: a write was lost",
            events.len()
        );
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_helper_definition_is_json_with_its_documented_states() {
        let v: Value = serde_json::from_str(TEST_CHILD_ASL).unwrap();
        for s in ["work", "judge", "record", "done", "failed"] {
            assert!(v["States"].get(s).is_some(), "{s}");
        }
    }

    #[test]
    fn events_parse_in_order_and_lost_writes_are_detected() {
        let item = json!({"pk": "r1", "seq": 2, "events": [
            {"k": "start", "u": "/n/a", "try": 0},
            {"k": "end", "u": "/n/a", "try": 2}
        ]});
        let events = parse_events(&item).unwrap();
        assert_eq!(events[0].kind, EventKind::Start);
        assert_eq!(events[1].attempt, 2);
        assert_eq!(events[1].to_string(), "end /n/a (try 2)");
        let lost = json!({"seq": 3, "events": [{"k": "start", "u": "/n/a", "try": 0}]});
        assert!(parse_events(&lost)
            .unwrap_err()
            .to_string()
            .contains("lost"));
        let bad = json!({"seq": 1, "events": [{"k": "begin", "u": "/n/a", "try": 0}]});
        assert!(parse_events(&bad).is_err());
    }
}
