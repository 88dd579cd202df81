//! `jobnet2sfn deploy`: creates the tables and state machines a compiled output directory
//! describes (`manifest.json`), directly with the SDK, plus the few run-time helpers that the
//! CLI and the emulator tests share (start an execution, wait for it, read an item).
//!
//! Deploying is idempotent: existing tables are kept, existing state machines get the new
//! definition. The same code talks to AWS or to the emulator (`endpoint_url`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};

use super::manifest::{substitute, Manifest, ManifestTable, Substitution};

/// Access key pair for endpoints that take any credentials (the emulator) or for explicit use.
#[derive(Debug, Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Overrides the service endpoint (the emulator); None uses AWS.
    pub endpoint_url: Option<String>,
    /// None uses the default provider chain (AWS_REGION, profile).
    pub region: Option<String>,
    /// None uses the default credential chain.
    pub credentials: Option<StaticCredentials>,
    /// Physical table (and topic) name = prefix + logical id.
    pub table_prefix: String,
    /// Execution role of every state machine.
    pub role_arn: String,
    /// Values of the manifest's parameters.
    pub parameters: BTreeMap<String, String>,
}

impl DeployOptions {
    pub const DEFAULT_TABLE_PREFIX: &'static str = "jobnet2sfn-";

    pub fn new(role_arn: impl Into<String>) -> Self {
        DeployOptions {
            endpoint_url: None,
            region: None,
            credentials: None,
            table_prefix: Self::DEFAULT_TABLE_PREFIX.to_string(),
            role_arn: role_arn.into(),
            parameters: BTreeMap::new(),
        }
    }
}

/// SDK clients built from one configuration.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sfn: aws_sdk_sfn::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
}

impl AwsClients {
    pub async fn connect(opts: &DeployOptions) -> AwsClients {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &opts.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(c) = &opts.credentials {
            loader = loader.credentials_provider(aws_sdk_sfn::config::Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.clone(),
                None,
                None,
                "jobnet2sfn-static",
            ));
        }
        let config = loader.load().await;
        AwsClients {
            sfn: aws_sdk_sfn::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
        }
    }
}

/// What a deployment created or updated.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub clients: AwsClients,
    /// Manifest name -> state machine ARN.
    pub state_machines: BTreeMap<String, String>,
    /// Logical id -> physical table name.
    pub tables: BTreeMap<String, String>,
    /// Logical id -> topic ARN.
    pub topics: BTreeMap<String, String>,
    /// What the SDK path leaves to the CloudFormation template, for the user to know.
    pub notes: Vec<String>,
}

impl Deployed {
    pub fn state_machine_arn(&self, name: &str) -> anyhow::Result<&str> {
        self.state_machines
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("no state machine {name:?} was deployed"))
    }

    pub fn table_name(&self, logical_id: &str) -> anyhow::Result<&str> {
        self.tables
            .get(logical_id)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("no table {logical_id:?} was deployed"))
    }
}

/// Deployment parameter that names the role every state machine runs as (the SDK path
/// creates no IAM roles; CloudFormation does that from `template.yaml`).
pub const ROLE_PARAMETER: &str = "StateMachineRoleArn";

/// Deploys `<out_dir>/manifest.json` to `endpoint_url` (None: AWS) in `region`.
///
/// `params` holds the manifest's parameters plus [`ROLE_PARAMETER`]. With an endpoint and no
/// `AWS_ACCESS_KEY_ID` in the environment, fixed dummy credentials are used: emulators accept
/// any, and the default chain would otherwise wait for instance metadata that is not there.
pub async fn deploy(
    out_dir: &Path,
    endpoint_url: Option<&str>,
    region: &str,
    params: &BTreeMap<String, String>,
) -> anyhow::Result<Deployed> {
    let role = params.get(ROLE_PARAMETER).ok_or_else(|| {
        anyhow!("missing deployment parameter {ROLE_PARAMETER} (the state machines' role ARN)")
    })?;
    let mut opts = DeployOptions::new(role.clone());
    opts.endpoint_url = endpoint_url.map(str::to_string);
    opts.region = Some(region.to_string());
    if endpoint_url.is_some() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        opts.credentials = Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        });
    }
    opts.parameters = params.clone();
    deploy_with(out_dir, &opts).await
}

/// Deploys `<out_dir>/manifest.json`: tables first, then state machines in dependency order.
pub async fn deploy_with(out_dir: &Path, opts: &DeployOptions) -> anyhow::Result<Deployed> {
    let manifest_path = out_dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest =
        Manifest::parse(&text).with_context(|| format!("in {}", manifest_path.display()))?;
    let missing: Vec<&str> = manifest
        .parameters
        .iter()
        .filter(|p| !opts.parameters.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!("missing deployment parameter(s): {}", missing.join(", "));
    }
    let plan = manifest.deployment_order();
    // Read every definition before touching AWS, so a missing file deploys nothing.
    let mut definitions = Vec::with_capacity(manifest.state_machines.len());
    for m in &manifest.state_machines {
        let path = out_dir.join(&m.file);
        let asl = std::fs::read_to_string(&path).with_context(|| {
            format!("state machine {:?}: cannot read {}", m.name, path.display())
        })?;
        definitions.push(asl);
    }

    let clients = AwsClients::connect(opts).await;
    let mut tables = BTreeMap::new();
    for t in &manifest.tables {
        let name = format!("{}{}", opts.table_prefix, t.logical_id);
        ensure_table(&clients.dynamodb, &name, t).await?;
        tables.insert(t.logical_id.clone(), name);
    }

    // CreateTopic is idempotent: an existing topic of that name comes back with its ARN.
    let mut topics = BTreeMap::new();
    for t in &manifest.topics {
        let name = format!("{}{}", opts.table_prefix, t.logical_id);
        let out = clients
            .sns
            .create_topic()
            .name(&name)
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("creating topic {name:?}")))?;
        let arn = out
            .topic_arn()
            .ok_or_else(|| anyhow!("creating topic {name:?}: no ARN in the answer"))?;
        topics.insert(t.logical_id.clone(), arn.to_string());
    }

    let mut existing = list_state_machines(&clients.sfn).await?;
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    for &i in &plan.create_first {
        // Part of a reference cycle: its ARN must exist before its real definition does.
        let name = &manifest.state_machines[i].name;
        if !existing.contains_key(name) {
            let arn =
                create_state_machine(&clients.sfn, name, PLACEHOLDER_ASL, &opts.role_arn).await?;
            existing.insert(name.clone(), arn);
        }
    }
    for (name, arn) in &existing {
        if manifest.state_machines.iter().any(|m| &m.name == name) {
            arns.insert(name.clone(), arn.clone());
        }
    }
    for &i in &plan.order {
        let m = &manifest.state_machines[i];
        let mut values = BTreeMap::new();
        for (placeholder, sub) in &m.substitutions {
            let value = match sub {
                Substitution::Table(t) => tables[t].clone(),
                Substitution::StateMachine(s) => arns[s].clone(),
                Substitution::Parameter(p) => opts.parameters[p].clone(),
                Substitution::Topic(t) => topics[t].clone(),
            };
            values.insert(placeholder.clone(), value);
        }
        let definition = substitute(&definitions[i], &values)
            .with_context(|| format!("state machine {:?} ({})", m.name, m.file))?;
        serde_json::from_str::<serde_json::Value>(&definition).with_context(|| {
            format!(
                "state machine {:?}: {} is not valid JSON after substitution",
                m.name, m.file
            )
        })?;
        let arn = upsert_state_machine(
            &clients.sfn,
            &m.name,
            &definition,
            &opts.role_arn,
            existing.get(&m.name).map(String::as_str),
        )
        .await?;
        arns.insert(m.name.clone(), arn);
    }
    // An event recorder is started by EventBridge rules, which only the template creates.
    let notes = manifest
        .state_machines
        .iter()
        .filter(|m| m.role.as_deref() == Some("recorder"))
        .map(|m| format!("{}: its EventBridge rules come with template.yaml only; without them the event and file waits of {} wait until their cutoff", m.name, m.jobnet.as_deref().unwrap_or("its jobnet")))
        .collect();
    Ok(Deployed {
        clients,
        state_machines: arns,
        tables,
        topics,
        notes,
    })
}

const PLACEHOLDER_ASL: &str =
    r#"{"StartAt":"Deploying","States":{"Deploying":{"Type":"Pass","End":true}}}"#;

pub(crate) fn sdk_error(
    e: impl std::error::Error + Send + Sync + 'static,
    doing: &str,
) -> anyhow::Error {
    anyhow!("{doing}: {}", aws_sdk_sfn::error::DisplayErrorContext(e))
}

/// Creates the machine, or gives the existing one (`existing` ARN) the new definition:
/// CreateStateMachine with an existing name does not update it.
pub async fn upsert_state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
    role_arn: &str,
    existing: Option<&str>,
) -> anyhow::Result<String> {
    match existing {
        Some(arn) => {
            sfn.update_state_machine()
                .state_machine_arn(arn)
                .definition(definition)
                .role_arn(role_arn)
                .send()
                .await
                .map_err(|e| sdk_error(e, &format!("updating state machine {name:?}")))?;
            Ok(arn.to_string())
        }
        None => create_state_machine(sfn, name, definition, role_arn).await,
    }
}

async fn create_state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
    role_arn: &str,
) -> anyhow::Result<String> {
    let out = sfn
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(role_arn)
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .map_err(|e| sdk_error(e, &format!("creating state machine {name:?}")))?;
    Ok(out.state_machine_arn().to_string())
}

/// Name -> ARN of every state machine of the account and region.
pub async fn list_state_machines(
    sfn: &aws_sdk_sfn::Client,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let mut pages = sfn.list_state_machines().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error(e, "listing state machines"))?;
        for m in page.state_machines() {
            found.insert(m.name().to_string(), m.state_machine_arn().to_string());
        }
    }
    Ok(found)
}

async fn ensure_table(
    ddb: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &ManifestTable,
) -> anyhow::Result<()> {
    match ddb.describe_table().table_name(name).send().await {
        Ok(d) => return wait_active(ddb, name, d.table().and_then(|t| t.table_status())).await,
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception());
            if !not_found {
                return Err(sdk_error(e, &format!("describing table {name:?}")));
            }
        }
    }
    let mut keys = vec![(table.partition_key.as_str(), KeyType::Hash)];
    if let Some(sort) = &table.sort_key {
        keys.push((sort.as_str(), KeyType::Range));
    }
    let mut request = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attr, key_type) in keys {
        request = request
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr)
                    .key_type(key_type)
                    .build()?,
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            );
    }
    match request.send().await {
        Ok(_) => {}
        // Created meanwhile: by another deploy, or by this request when the SDK retried it
        // after a slow answer (seen against the emulator under load). Either way it exists.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(sdk_error(e, &format!("creating table {name:?}"))),
    }
    wait_active(ddb, name, None).await
}

/// How long a new table may stay CREATING: AWS takes seconds, rarely a minute.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Waits until table `name` is ACTIVE (`status` is what a describe already said, if one
/// did): AWS answers CreateTable at once with CREATING, and writes to the table fail until
/// it is ACTIVE, so pushing holidays right after creating it would fail.
async fn wait_active(
    ddb: &aws_sdk_dynamodb::Client,
    name: &str,
    mut status: Option<&TableStatus>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + TABLE_ACTIVE_TIMEOUT;
    let mut pause = Duration::from_millis(200);
    let mut described;
    loop {
        match status {
            Some(TableStatus::Active) => return Ok(()),
            // An updating table takes writes; these others will not become writable.
            Some(TableStatus::Updating) => return Ok(()),
            Some(
                s @ (TableStatus::Deleting
                | TableStatus::Archived
                | TableStatus::Archiving
                | TableStatus::InaccessibleEncryptionCredentials),
            ) => {
                bail!("table {name:?} is {}: it cannot take items", s.as_str())
            }
            _ => {}
        }
        if status.is_some() {
            if Instant::now() >= deadline {
                bail!(
                    "table {name:?} is still {} after {TABLE_ACTIVE_TIMEOUT:?}",
                    status.map_or("unknown", |s| s.as_str())
                );
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
        described = ddb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("describing table {name:?}")))?;
        status = Some(
            described
                .table()
                .and_then(|t| t.table_status())
                .unwrap_or(&TableStatus::Active),
        );
    }
}

/// How an execution ended (or that it is still running).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionResult {
    pub execution_arn: String,
    /// SUCCEEDED, FAILED, TIMED_OUT, ABORTED, RUNNING, PENDING_REDRIVE.
    pub status: String,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl AwsClients {
    /// Starts an execution with a JSON input; the name makes the start idempotent.
    pub async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> anyhow::Result<String> {
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("starting execution {name:?}")))?;
        Ok(out.execution_arn().to_string())
    }

    pub async fn describe_execution(&self, execution_arn: &str) -> anyhow::Result<ExecutionResult> {
        let d = self
            .sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("describing execution {execution_arn}")))?;
        let output = match d.output() {
            Some(text) => Some(
                serde_json::from_str(text)
                    .with_context(|| format!("execution output is not JSON: {text}"))?,
            ),
            None => None,
        };
        Ok(ExecutionResult {
            execution_arn: execution_arn.to_string(),
            status: d.status().as_str().to_string(),
            output,
            error: d.error().map(str::to_string),
            cause: d.cause().map(str::to_string),
        })
    }

    /// Polls until the execution leaves RUNNING; an error after `timeout`.
    pub async fn wait_execution(
        &self,
        execution_arn: &str,
        timeout: Duration,
    ) -> anyhow::Result<ExecutionResult> {
        let deadline = Instant::now() + timeout;
        // Short first polls for quick runs, then at most one a second: an emulator serving
        // many concurrent executions slows down under eager polling.
        let mut pause = Duration::from_millis(200);
        loop {
            let result = self.describe_execution(execution_arn).await?;
            if result.status != ExecutionStatus::Running.as_str() {
                return Ok(result);
            }
            if Instant::now() >= deadline {
                bail!("execution {execution_arn} still RUNNING after {timeout:?}");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// Starts an execution and waits for its end.
    pub async fn run_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
        timeout: Duration,
    ) -> anyhow::Result<ExecutionResult> {
        let arn = self.start_execution(state_machine_arn, name, input).await?;
        self.wait_execution(&arn, timeout).await
    }

    /// Reads one item (strongly consistent) and converts it to plain JSON.
    pub async fn get_item(
        &self,
        table: &str,
        key: &[(&str, &str)],
    ) -> anyhow::Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let key: HashMap<String, AttributeValue> = key
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect();
        let out = self
            .dynamodb
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(e, &format!("reading an item of {table:?}")))?;
        Ok(out.item().map(|item| {
            item.iter()
                .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                .collect()
        }))
    }
}

/// DynamoDB's typed value as plain JSON: numbers become JSON numbers when they parse, sets and
/// binaries become arrays/strings (base64 is not needed by any caller, so bytes are lossy).
pub fn attribute_to_json(v: &AttributeValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => serde_json::from_str::<serde_json::Number>(n)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(n.clone())),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(items) => Value::Array(items.iter().map(attribute_to_json).collect()),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_to_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(items) => {
            Value::Array(items.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(items) => Value::Array(
            items
                .iter()
                .map(|n| attribute_to_json(&AttributeValue::N(n.clone())))
                .collect(),
        ),
        AttributeValue::B(b) => Value::String(String::from_utf8_lossy(b.as_ref()).into_owned()),
        AttributeValue::Bs(items) => Value::Array(
            items
                .iter()
                .map(|b| Value::String(String::from_utf8_lossy(b.as_ref()).into_owned()))
                .collect(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_convert_to_plain_json() {
        let item = AttributeValue::M(HashMap::from([
            (
                "events".to_string(),
                AttributeValue::L(vec![
                    AttributeValue::S("start:a".into()),
                    AttributeValue::N("3".into()),
                    AttributeValue::N("1.5".into()),
                ]),
            ),
            ("ok".to_string(), AttributeValue::Bool(true)),
            ("none".to_string(), AttributeValue::Null(true)),
            (
                "ns".to_string(),
                AttributeValue::Ns(vec!["7".into(), "x".into()]),
            ),
        ]));
        assert_eq!(
            attribute_to_json(&item),
            json!({"events": ["start:a", 3, 1.5], "ok": true, "none": null, "ns": [7, "x"]})
        );
    }

    #[test]
    fn missing_manifest_and_missing_parameters_are_reported() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("jobnet2sfn-deploy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let params = BTreeMap::new();
        let err = rt
            .block_on(deploy(
                &dir,
                Some("http://127.0.0.1:9"),
                "us-east-1",
                &params,
            ))
            .unwrap_err();
        assert!(format!("{err:#}").contains(ROLE_PARAMETER), "{err:#}");
        let opts = DeployOptions::new("arn:aws:iam::123456789012:role/r");
        let err = rt.block_on(deploy_with(&dir, &opts)).unwrap_err();
        assert!(format!("{err:#}").contains("manifest.json"), "{err:#}");
        std::fs::write(
            dir.join("manifest.json"),
            r#"{"version": 1, "state_machines": [], "tables": [],
                "parameters": [{"name": "EcsClusterArn"}, {"name": "Other"}]}"#,
        )
        .unwrap();
        let err = rt.block_on(deploy_with(&dir, &opts)).unwrap_err();
        assert!(
            format!("{err:#}").contains("EcsClusterArn, Other"),
            "{err:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
