//! CloudFormation back-end: one template deploying every generated machine with a
//! least-privilege role and a log group each, the run table when a jobnet needs one, and
//! Parameters for the ARNs the user supplies. Also the deploy manifest the Rust deployer
//! (and the emulator tests) read instead of parsing YAML.

use crate::back::asl::{JobnetOutput, Machine, Role, ALERT_TOPIC};
use crate::back::templates::IamStatement;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Retention values CloudWatch Logs accepts.
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub const LOG_LEVELS: &[&str] = &["ALL", "ERROR", "FATAL", "OFF"];

/// Where the template takes each machine's definition from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Definitions {
    /// Inline when all definitions together are small, otherwise from S3.
    #[default]
    Auto,
    /// `Definition` inline in the template (template bodies are limited to 1 MB).
    Inline,
    /// `DefinitionS3Location` in the bucket given by the `DefinitionsBucket` parameter;
    /// upload `statemachines/` under `DefinitionsPrefix` before deploying.
    S3,
}

/// Above this many definition bytes in total, `Auto` switches to S3, keeping the template
/// well under CloudFormation's 1 MB template limit.
pub const INLINE_LIMIT: usize = 400_000;

/// Up to this many child machines, a jobnet's role names each one; above, it names them
/// by the jobnet's machine-name prefix.
const MAX_LISTED_CHILDREN: usize = 20;

/// Above this many machine resources, continuation machines share their root's role and
/// log group (leaving room under the 500-resource stack limit for schedules and tables).
const COMPACT_ABOVE: usize = 250;

#[derive(Debug, Clone)]
pub struct CfnOptions {
    pub log_retention_days: u32,
    pub log_level: String,
    pub definitions: Definitions,
    /// Add a subscription filter to every log group (forwarding to a parameter's ARN).
    pub log_forward: bool,
}

impl Default for CfnOptions {
    fn default() -> Self {
        CfnOptions {
            log_retention_days: 90,
            log_level: "ERROR".into(),
            definitions: Definitions::Auto,
            log_forward: false,
        }
    }
}

/// Logical id of a machine's resources (`DailySales` → `DailySalesStateMachine`, …).
pub fn logical(machine: &str) -> String {
    crate::passes::naming::logical_id(machine)
}

/// How each `${Name}` of a definition is filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Substitution {
    Table(String),
    StateMachine(String),
    Parameter(String),
}

pub fn substitution(
    name: &str,
    tables: &BTreeSet<String>,
    machines: &BTreeMap<String, String>,
) -> Substitution {
    if tables.contains(name) || name == ALERT_TOPIC {
        Substitution::Table(name.to_string())
    } else if let Some(m) = machines.get(name) {
        Substitution::StateMachine(m.clone())
    } else {
        Substitution::Parameter(name.to_string())
    }
}

fn all_tables(outputs: &[JobnetOutput]) -> BTreeSet<String> {
    outputs
        .iter()
        .flat_map(|o| o.tables.iter().cloned())
        .collect()
}

/// Every CloudFormation parameter the outputs use, with a description.
pub fn parameters(outputs: &[JobnetOutput]) -> BTreeMap<String, String> {
    let tables = all_tables(outputs);
    let mut params = BTreeMap::new();
    for o in outputs {
        for m in &o.machines {
            for p in &m.placeholders {
                if let Substitution::Parameter(name) = substitution(p, &tables, &o.machine_refs) {
                    let desc = o.parameters.get(&name).cloned().unwrap_or_else(|| {
                        format!("Value for {name} in the generated definitions")
                    });
                    params.entry(name).or_insert(desc);
                }
            }
            for s in &m.iam {
                for r in &s.resources {
                    let mut found = BTreeSet::new();
                    crate::back::asl::collect_placeholders(&json!(r), &mut found);
                    for name in found {
                        let is_table_arn =
                            name.strip_suffix("Arn").is_some_and(|t| tables.contains(t));
                        if !is_table_arn && !tables.contains(&name) && name != ALERT_TOPIC {
                            let desc = o
                                .parameters
                                .get(&name)
                                .cloned()
                                .unwrap_or_else(|| format!("Value for {name} in IAM policies"));
                            params.entry(name).or_insert(desc);
                        }
                    }
                }
            }
        }
    }
    params
}

pub fn template(outputs: &[JobnetOutput], opts: &CfnOptions) -> Value {
    let tables = all_tables(outputs);
    let mut parameters = Map::new();
    parameters.insert(
        "LogRetentionDays".into(),
        json!({"Type": "Number", "Default": opts.log_retention_days, "AllowedValues": RETENTION_DAYS,
               "Description": "Days to keep state machine logs"}),
    );
    parameters.insert(
        "LogLevel".into(),
        json!({"Type": "String", "Default": opts.log_level, "AllowedValues": LOG_LEVELS,
               "Description": "State machine logging level (execution data is never logged)"}),
    );
    let s3 = match opts.definitions {
        Definitions::S3 => true,
        Definitions::Inline => false,
        Definitions::Auto => {
            let machines = || outputs.iter().flat_map(|o| &o.machines);
            // A released definition was written out for S3 (the compile counted it toward
            // the limit, parts of a redone split included): it cannot be inlined.
            machines()
                .map(|m| m.metrics().definition_bytes)
                .sum::<usize>()
                > INLINE_LIMIT
                || machines().any(Machine::released)
        }
    };
    if s3 {
        parameters.insert(
            "DefinitionsBucket".into(),
            json!({"Type": "String", "Description": "S3 bucket holding the generated statemachines/*.asl.json"}),
        );
        parameters.insert(
            "DefinitionsPrefix".into(),
            json!({"Type": "String", "Default": "", "Description": "Key prefix under which statemachines/ was uploaded (empty, or ending with /)"}),
        );
    }
    for (name, desc) in parameters_of(outputs) {
        parameters.insert(name, json!({"Type": "String", "Description": desc}));
    }
    let mut conditions = Map::new();
    if opts.log_forward {
        parameters.insert(
            "LogForwardDestinationArn".into(),
            json!({"Type": "String", "Description": "Where every state machine log group forwards its events (Lambda function, Kinesis stream, Firehose stream or a logs destination ARN)"}),
        );
        parameters.insert(
            "LogForwardRoleArn".into(),
            json!({"Type": "String", "Default": "", "Description": "Role CloudWatch Logs assumes to put records into a Kinesis or Firehose destination (empty for Lambda and logs destinations)"}),
        );
        parameters.insert(
            "LogForwardFilterPattern".into(),
            json!({"Type": "String", "Default": "", "Description": "CloudWatch Logs filter pattern of forwarded events (empty: all)"}),
        );
        conditions.insert(
            "HasLogForwardRole".into(),
            json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "LogForwardRoleArn"}, ""]}]}),
        );
    }
    let mut resources = Map::new();
    for t in &tables {
        resources.insert(
            t.clone(),
            json!({
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "SSESpecification": {"SSEEnabled": true},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
                    "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": true}
                }
            }),
        );
    }
    let mut outputs_section = Map::new();
    let alerts = outputs
        .iter()
        .flat_map(|o| &o.machines)
        .any(|m| m.placeholders.contains(ALERT_TOPIC));
    if alerts {
        resources.insert(
            ALERT_TOPIC.into(),
            json!({
                "Type": "AWS::SNS::Topic",
                "Properties": {
                    "DisplayName": "jobnet2sfn alerts",
                    "KmsMasterKeyId": "alias/aws/sns"
                }
            }),
        );
        outputs_section.insert(
            "AlertTopicArn".into(),
            json!({"Description": "Subscribe operators here (e-mail, HTTPS, or a queue inside the VPC); reachable through an SNS VPC endpoint", "Value": {"Ref": ALERT_TOPIC}}),
        );
    }
    // A stack holds at most 500 resources. Each machine normally gets its own role and log
    // group; when that would come close to the limit (with room for schedules), the
    // continuation machines share their root's as well, as child machines always do.
    let own_resources: usize = outputs
        .iter()
        .flat_map(|o| &o.machines)
        .map(|m| match m.role {
            Role::Child | Role::Monitor => 1,
            _ if opts.log_forward => 4,
            _ => 3,
        })
        .sum();
    let compact = own_resources > COMPACT_ABOVE;
    for o in outputs {
        // Child machines (split off by budgets) and the monitor machine share the root's role and log group, so a
        // split adds one resource per child and the stack stays under its resource limit.
        let root = o.machines.iter().find(|m| m.role == Role::Root);
        // Only the permissions are shared: cloning the root machine would copy its definition.
        let mut shared = root.map(|r| (r.iam.clone(), r.events_rules.clone()));
        if let Some((iam, rules)) = shared.as_mut() {
            let children: Vec<&Machine> = o
                .machines
                .iter()
                .filter(|m| m.role == Role::Child)
                .collect();
            let monitors = o.machines.iter().filter(|m| m.role == Role::Monitor);
            let continuations = o
                .machines
                .iter()
                .filter(|m| compact && m.role == Role::Continuation);
            for c in children
                .iter()
                .copied()
                .chain(continuations)
                .chain(monitors)
            {
                iam.extend(c.iam.iter().cloned());
                rules.extend(c.events_rules.iter().cloned());
            }
            // Many children would list one ARN each and overflow IAM's policy size limit:
            // name the jobnet's machines by their common prefix instead.
            if children.len() > MAX_LISTED_CHILDREN {
                let prefix = format!("{}-", o.machine_base);
                iam.retain(|st| {
                    !st.resources.iter().any(|r| {
                        r.contains(&format!("stateMachine:{prefix}"))
                            || r.contains(&format!("execution:{prefix}"))
                    })
                });
                let arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}";
                iam.push(IamStatement {
                    actions: vec!["states:StartExecution".into()],
                    resources: vec![format!("{arn}:stateMachine:{prefix}*")],
                });
                iam.push(IamStatement {
                    actions: vec![
                        "states:DescribeExecution".into(),
                        "states:StopExecution".into(),
                    ],
                    resources: vec![format!("{arn}:execution:{prefix}*:*")],
                });
            }
        }
        let root_id = root.map(|r| logical(&r.name));
        for m in &o.machines {
            let id = logical(&m.name);
            let owner = match (&m.role, &root_id) {
                (Role::Child | Role::Monitor, Some(r)) => r.clone(),
                (Role::Continuation, Some(r)) if compact => r.clone(),
                _ => id.clone(),
            };
            if owner == id {
                resources.insert(
                    format!("{id}LogGroup"),
                    json!({
                        "Type": "AWS::Logs::LogGroup",
                        "DeletionPolicy": "Delete",
                        "UpdateReplacePolicy": "Delete",
                        "Properties": {
                            "LogGroupName": format!("/aws/vendedlogs/states/jobnet2sfn/{}", m.name),
                            "RetentionInDays": {"Ref": "LogRetentionDays"}
                        }
                    }),
                );
                let (iam, rules) = match (&m.role, &shared) {
                    (Role::Root, Some((iam, rules))) => (iam, rules),
                    _ => (&m.iam, &m.events_rules),
                };
                resources.insert(format!("{id}Role"), role(&m.name, iam, rules, &tables));
                if opts.log_forward {
                    resources.insert(
                        format!("{id}LogForward"),
                        json!({
                            "Type": "AWS::Logs::SubscriptionFilter",
                            "Properties": {
                                "LogGroupName": {"Ref": format!("{id}LogGroup")},
                                "DestinationArn": {"Ref": "LogForwardDestinationArn"},
                                "FilterPattern": {"Ref": "LogForwardFilterPattern"},
                                "RoleArn": {"Fn::If": ["HasLogForwardRole", {"Ref": "LogForwardRoleArn"}, {"Ref": "AWS::NoValue"}]}
                            }
                        }),
                    );
                }
            }
            let mut subs = Map::new();
            for p in &m.placeholders {
                let v = match substitution(p, &tables, &o.machine_refs) {
                    Substitution::Table(t) => json!({"Ref": t}),
                    Substitution::StateMachine(sm) => json!({"Fn::Sub": machine_arn(&sm)}),
                    Substitution::Parameter(name) => json!({"Ref": name}),
                };
                subs.insert(p.clone(), v);
            }
            let mut props = Map::new();
            props.insert("StateMachineName".into(), json!(m.name));
            props.insert("StateMachineType".into(), json!("STANDARD"));
            props.insert(
                "RoleArn".into(),
                json!({"Fn::GetAtt": [format!("{owner}Role"), "Arn"]}),
            );
            if s3 {
                props.insert(
                    "DefinitionS3Location".into(),
                    json!({"Bucket": {"Ref": "DefinitionsBucket"},
                           "Key": {"Fn::Sub": format!("${{DefinitionsPrefix}}{}", crate::back::report::machine_file(&m.name))}}),
                );
            } else {
                props.insert("Definition".into(), m.definition());
            }
            if !subs.is_empty() {
                props.insert("DefinitionSubstitutions".into(), Value::Object(subs));
            }
            props.insert(
                "LoggingConfiguration".into(),
                json!({"Level": {"Ref": "LogLevel"}, "IncludeExecutionData": false,
                       "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [format!("{owner}LogGroup"), "Arn"]}}}]}),
            );
            props.insert("TracingConfiguration".into(), json!({"Enabled": false}));
            resources.insert(
                format!("{id}StateMachine"),
                crate::back::object([
                    ("Type", json!("AWS::StepFunctions::StateMachine")),
                    ("Properties", Value::Object(props)),
                ]),
            );
            outputs_section.insert(
                format!("{id}StateMachineArn"),
                json!({"Description": format!("ARN of {}", m.name), "Value": {"Ref": format!("{id}StateMachine")}}),
            );
        }
    }
    let mut template = crate::back::object([
        ("AWSTemplateFormatVersion", json!("2010-09-09")),
        ("Description", json!("jobnet2sfn: generated state machines, roles and logs (edit the jobnet sources, not this file)")),
        ("Parameters", Value::Object(parameters)),
        ("Resources", Value::Object(resources)),
        ("Outputs", Value::Object(outputs_section)),
    ]);
    if !conditions.is_empty() {
        template["Conditions"] = Value::Object(conditions);
    }
    template
}

fn parameters_of(outputs: &[JobnetOutput]) -> BTreeMap<String, String> {
    parameters(outputs)
}

fn machine_arn(name: &str) -> String {
    format!(
        "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{name}"
    )
}

/// A `Resource` string: plain when it has no placeholder, `Fn::Sub` otherwise, with table
/// ARNs (`${RunTableArn}`) bound to the tables' `Arn` attributes.
fn resource(r: &str, tables: &BTreeSet<String>) -> Value {
    if !r.contains("${") {
        return json!(r);
    }
    let mut found = BTreeSet::new();
    crate::back::asl::collect_placeholders(&json!(r), &mut found);
    let mut vars = Map::new();
    for name in found {
        if let Some(t) = name.strip_suffix("Arn").filter(|t| tables.contains(*t)) {
            vars.insert(name.clone(), json!({"Fn::GetAtt": [t, "Arn"]}));
        } else if tables.contains(&name) || name == ALERT_TOPIC {
            vars.insert(name.clone(), json!({"Ref": name}));
        }
    }
    if vars.is_empty() {
        json!({"Fn::Sub": r})
    } else {
        json!({"Fn::Sub": [r, Value::Object(vars)]})
    }
}

fn role(
    name: &str,
    iam: &[IamStatement],
    rules: &BTreeSet<String>,
    tables: &BTreeSet<String>,
) -> Value {
    let mut statements: Vec<Value> = Vec::new();
    // Grouping by action list keeps the policy short and stable.
    let mut grouped: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for IamStatement { actions, resources } in iam {
        let mut a = actions.clone();
        a.sort();
        grouped
            .entry(a)
            .or_default()
            .extend(resources.iter().cloned());
    }
    for (actions, resources) in grouped {
        let res: Vec<Value> = resources.iter().map(|r| resource(r, tables)).collect();
        statements.push(json!({"Effect": "Allow", "Action": actions, "Resource": res}));
    }
    for rule in rules {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            "Resource": [{"Fn::Sub": format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule}")}]
        }));
    }
    // CloudWatch Logs delivery APIs accept no narrower resource than `*` (AWS documents this).
    statements.push(json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                   "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                   "logs:PutResourcePolicy", "logs:UpdateLogDelivery"],
        "Resource": "*"
    }));
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": format!("Role of state machine {name}"),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "states.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
                }]
            },
            "Policies": [{
                "PolicyName": "jobnet2sfn",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}
            }]
        }
    })
}

/// `manifest.json`: machines, their files and how to fill their placeholders.
pub fn manifest(outputs: &[JobnetOutput]) -> Value {
    let tables = all_tables(outputs);
    let mut machines = Vec::new();
    for o in outputs {
        for m in &o.machines {
            let mut subs = Map::new();
            for p in &m.placeholders {
                let v = match substitution(p, &tables, &o.machine_refs) {
                    Substitution::Table(t) if t == ALERT_TOPIC => json!({"topic": t}),
                    Substitution::Table(t) => json!({"table": t}),
                    Substitution::StateMachine(sm) => json!({"state_machine": sm}),
                    Substitution::Parameter(name) => json!({"parameter": name}),
                };
                subs.insert(p.clone(), v);
            }
            machines.push(json!({
                "name": m.name,
                "file": format!("statemachines/{}.asl.json", m.name),
                "jobnet": o.machine_base,
                "role": m.role,
                "substitutions": subs
            }));
        }
    }
    let table_list: Vec<Value> = tables
        .iter()
        .map(|t| json!({"logical_id": t, "partition_key": "pk", "sort_key": null}))
        .collect();
    let params: Vec<Value> = parameters(outputs)
        .into_iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    let alerts = outputs
        .iter()
        .flat_map(|o| &o.machines)
        .any(|m| m.placeholders.contains(ALERT_TOPIC));
    let topics: Vec<Value> = if alerts {
        vec![json!({"logical_id": ALERT_TOPIC})]
    } else {
        Vec::new()
    };
    json!({"version": 1, "state_machines": machines, "tables": table_list, "topics": topics, "parameters": params})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::back::asl::RUN_TABLE;

    #[test]
    fn table_arns_bind_to_get_att() {
        let tables: BTreeSet<String> = [RUN_TABLE.to_string()].into();
        assert_eq!(
            resource("${RunTableArn}", &tables),
            json!({"Fn::Sub": ["${RunTableArn}", {"RunTableArn": {"Fn::GetAtt": ["RunTable", "Arn"]}}]})
        );
        assert_eq!(
            resource("arn:aws:s3:::b/k", &tables),
            json!("arn:aws:s3:::b/k")
        );
    }
}
