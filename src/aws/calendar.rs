//! `jobnet2sfn holidays push`: loads `calendars/*.json` into the business-calendar table.
//!
//! Items are written with `BatchWriteItem` (25 per request, unprocessed items retried), and a
//! put replaces an item with the same key, so pushing the same files twice leaves the table
//! as it was: a run after a calendar change only updates what changed in meaning.

use anyhow::{anyhow, bail, Context};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Calendar files to push: the `calendars/` directory of an output directory, a directory
/// of calendar files, or the files themselves.
pub fn calendar_files(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let dir = if input.join("calendars").is_dir() {
            input.join("calendars")
        } else {
            input.clone()
        };
        if dir.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("no calendar files (*.json) in {}", dir.display());
            }
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// The table items of one calendar file, as DynamoDB attribute maps.
pub fn items_of(path: &Path) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let items = doc
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("{}: no `items` list (not a calendar file?)", path.display()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let obj = item
                .as_object()
                .ok_or_else(|| anyhow!("{}: item {i} is not an object", path.display()))?;
            for key in ["pk", "sk"] {
                if !obj.get(key).is_some_and(Value::is_string) {
                    bail!("{}: item {i} has no string `{key}`", path.display());
                }
            }
            obj.iter()
                .map(|(k, v)| Ok((k.clone(), attribute(v)?)))
                .collect::<anyhow::Result<HashMap<_, _>>>()
                .with_context(|| format!("{}: item {i}", path.display()))
        })
        .collect()
}

fn attribute(v: &Value) -> anyhow::Result<AttributeValue> {
    Ok(match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Null => AttributeValue::Null(true),
        other => bail!("unsupported value {other}"),
    })
}

/// Writes every item into `table`; returns how many were written.
pub async fn push(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> anyhow::Result<usize> {
    let total = items.len();
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .map_err(|e| anyhow!("bad item: {e}"))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<anyhow::Result<_>>()?;
        let mut attempt = 0;
        while !requests.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .with_context(|| format!("BatchWriteItem on table {table}"))?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            attempt += 1;
            if !requests.is_empty() {
                if attempt > 8 {
                    bail!(
                        "table {table} keeps throttling; {} items not written",
                        requests.len()
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_calendar_files_and_rejects_others() {
        let dir = std::env::temp_dir().join(format!("j2s-cal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("base.json");
        std::fs::write(
            &good,
            r#"{"calendar":"base","items":[{"pk":"base","sk":"2027-01-01","open":false,"name":"元日","reason":"holiday"}]}"#,
        )
        .unwrap();
        let items = items_of(&good).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["open"], AttributeValue::Bool(false));
        assert_eq!(items[0]["name"], AttributeValue::S("元日".into()));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"items":[{"sk":"2027-01-01"}]}"#).unwrap();
        assert!(items_of(&bad).unwrap_err().to_string().contains("pk"));
        assert_eq!(calendar_files(std::slice::from_ref(&dir)).unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
