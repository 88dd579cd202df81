//! CloudFormation back-end: one template deploying every generated machine with a
//! least-privilege role and a log group each, the run table when a jobnet needs one, and
//! Parameters for the ARNs the user supplies. Also the deploy manifest the Rust deployer
//! (and the emulator tests) read instead of parsing YAML.

use crate::back::asl::{JobnetOutput, Machine, Role, ALERT_TOPIC};
pub use crate::back::stacks::{Origin, Template};
use crate::back::templates::{IamStatement, TemplateSet};
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

/// Resources a CloudFormation stack may hold.
pub const MAX_RESOURCES: usize = 500;

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
    /// Above this many resources (or 200 outputs, or 1 MB) the template is split into
    /// nested stacks.
    pub max_stack_resources: usize,
}

impl Default for CfnOptions {
    fn default() -> Self {
        CfnOptions {
            log_retention_days: 90,
            log_level: "ERROR".into(),
            definitions: Definitions::Auto,
            log_forward: false,
            max_stack_resources: MAX_RESOURCES,
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
                        if name == crate::ir::LEGACY_FILE_BUCKET {
                            crate::ir::LEGACY_FILE_BUCKET_DESCRIPTION.to_string()
                        } else {
                            format!("Value for {name} in the generated definitions")
                        }
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

/// The template's parameters: the machines' ([`parameters`], what `deploy` needs too),
/// and those only the event waits' rules name (a legacy path's bucket), which `deploy`
/// does not create.
fn template_parameters(outputs: &[JobnetOutput]) -> BTreeMap<String, String> {
    let mut params = parameters(outputs);
    for o in outputs {
        for w in &o.event_waits {
            if let crate::ir::Watched::Object { bucket, .. } = &w.watched {
                if let Some(name) = bucket.strip_prefix("${").and_then(|b| b.strip_suffix('}')) {
                    let desc = o
                        .parameters
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| format!("Value for {name} in the event rules"));
                    params.entry(name.to_string()).or_insert(desc);
                }
            }
        }
    }
    params
}

/// The CloudFormation template. Resources are written by the resource templates of
/// `templates` (`state_machine`, `table`, `alert_topic`); an error names the template.
pub fn template(
    outputs: &[JobnetOutput],
    opts: &CfnOptions,
    templates: &TemplateSet,
) -> Result<Template, String> {
    let tables = all_tables(outputs);
    let mut origins = BTreeMap::new();
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
        definitions_location(
            &mut parameters,
            "statemachines/*.asl.json",
            "statemachines/ was",
        );
    }
    for (name, desc) in template_parameters(outputs) {
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
        let rendered = templates.render_resources(
            "table",
            json!({"table": {"id": t}}),
            std::slice::from_ref(t),
        )?;
        add_resources(&mut resources, "table", rendered)?;
    }
    let mut outputs_section = Map::new();
    let alerts = outputs
        .iter()
        .flat_map(|o| &o.machines)
        .any(|m| m.placeholders.contains(ALERT_TOPIC));
    if alerts {
        let rendered = templates.render_resources(
            "alert_topic",
            json!({"topic": {"id": ALERT_TOPIC}}),
            &[ALERT_TOPIC.into()],
        )?;
        add_resources(&mut resources, "alert_topic", rendered)?;
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
            Role::Child | Role::Monitor | Role::Recorder => 1,
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
            let monitors = o
                .machines
                .iter()
                .filter(|m| matches!(m.role, Role::Monitor | Role::Recorder));
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
        // Each machine's resources are rendered on every core (a large input has thousands)
        // and added in order.
        let rendered = crate::par::par_map(&o.machines, |m| {
            let id = logical(&m.name);
            let owner = match (&m.role, &root_id) {
                (Role::Child | Role::Monitor | Role::Recorder, Some(r)) => r.clone(),
                (Role::Continuation, Some(r)) if compact => r.clone(),
                _ => id.clone(),
            };
            let owns = owner == id;
            let policy = if owns {
                let (iam, rules) = match (&m.role, &shared) {
                    (Role::Root, Some((iam, rules))) => (iam, rules),
                    _ => (&m.iam, &m.events_rules),
                };
                Value::Array(policy(iam, rules, &tables))
            } else {
                Value::Null
            };
            let mut subs = Map::new();
            for p in &m.placeholders {
                let v = match substitution(p, &tables, &o.machine_refs) {
                    Substitution::Table(t) => json!({"Ref": t}),
                    Substitution::StateMachine(sm) => json!({"Fn::Sub": machine_arn(&sm)}),
                    Substitution::Parameter(name) => json!({"Ref": name}),
                };
                subs.insert(p.clone(), v);
            }
            // The large computed values reach the template as stand-ins, put in place after
            // rendering: serialising them into its text and parsing them back was a tenth
            // of a compile of many machines.
            let definition = if s3 { Value::Null } else { m.definition() };
            let context = json!({
                "machine": {
                    "name": m.name,
                    "id": id,
                    "kind": m.role,
                    "owner": owner,
                    "owns": owns,
                    "policy": if owns { json!(POLICY) } else { Value::Null },
                    "file": crate::back::report::machine_file(&m.name),
                    "definition": if s3 { Value::Null } else { json!(DEFINITION) },
                    "substitutions": SUBSTITUTIONS,
                    "has_substitutions": !subs.is_empty(),
                },
                "s3": s3,
                "log_forward": opts.log_forward,
            });
            let mut values = [
                (POLICY, policy),
                (DEFINITION, definition),
                (SUBSTITUTIONS, Value::Object(subs)),
            ];
            let mut needed = vec![format!("{id}StateMachine")];
            if owns {
                needed.push(format!("{id}LogGroup"));
                needed.push(format!("{id}Role"));
            }
            templates
                .render_resources("state_machine", context, &needed)
                .map(|mut r| {
                    put_in_place(&mut r, &mut values);
                    (id, m.name.clone(), r)
                })
        });
        for r in rendered {
            let (id, name, r) = r?;
            origins.extend(r.keys().map(|k| {
                let origin = Origin {
                    jobnet: o.machine_base.clone(),
                    unit: name.clone(),
                };
                (k.clone(), origin)
            }));
            add_resources(&mut resources, "state_machine", r)?;
            outputs_section.insert(
                format!("{id}StateMachineArn"),
                json!({"Description": format!("ARN of {name}"), "Value": {"Ref": format!("{id}StateMachine")}}),
            );
        }
        if let Some(recorder) = o.machines.iter().find(|m| m.role == Role::Recorder) {
            let r = event_wait_rules(o, &logical(&recorder.name), templates)?;
            origins.extend(r.keys().map(|k| {
                let origin = Origin {
                    jobnet: o.machine_base.clone(),
                    unit: "#event_waits".into(),
                };
                (k.clone(), origin)
            }));
            add_resources(&mut resources, "event_wait", r)?;
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
    Ok(Template {
        value: template,
        origins,
    })
}

/// The EventBridge rules (one per event wait) that start a jobnet's event recorder with
/// the waiting unit's item key and the event's time, and their role: resource template
/// `event_wait`. Rules are named after their wait's state, so adding a wait leaves the
/// others' ids alone.
fn event_wait_rules(
    o: &JobnetOutput,
    recorder: &str,
    templates: &TemplateSet,
) -> Result<Map<String, Value>, String> {
    let machine = format!("{recorder}StateMachine");
    let role = format!("{machine}EventsRole");
    let mut needed = vec![role.clone()];
    let mut taken = BTreeSet::new();
    let rules: Vec<Value> = o
        .event_waits
        .iter()
        .enumerate()
        .map(|(i, w)| {
            // `Wait` keeps a state named like the role (`events_role`) off the role's id.
            let base = format!("{machine}Wait{}", crate::passes::naming::pascal(&w.state));
            // States apart only by punctuation meet in one id.
            let mut id = base.clone();
            let mut n = i + 1;
            while !taken.insert(id.clone()) {
                id = format!("{base}{n}");
                n += 1;
            }
            needed.push(id.clone());
            let watched = &w.watched;
            let description = crate::back::schedule::rule_description(format!(
                "{}: waits for {}",
                w.path,
                watched.describe()
            ));
            json!({
                "id": id,
                "description": description,
                "pattern": watched.pattern(),
                "input": json!({
                    "key": crate::back::records::event_key(&o.machine_base, &w.state),
                    "time": "<time>"
                })
                .to_string(),
            })
        })
        .collect();
    templates.render_resources(
        "event_wait",
        json!({"jobnet": {
            "name": o.machine_base,
            "recorder": machine,
            "role": role,
            "rules": rules,
        }}),
        &needed,
    )
}

/// The parameters that say where the generated files were uploaded (`DefinitionsBucket`,
/// `DefinitionsPrefix`), for definitions on S3 and for nested stacks' templates: the
/// bucket "holding the generated {holding}", the prefix "under which {uploaded} uploaded".
pub fn definitions_location(parameters: &mut Map<String, Value>, holding: &str, uploaded: &str) {
    parameters.insert(
        "DefinitionsBucket".into(),
        json!({"Type": "String", "Description": format!("S3 bucket holding the generated {holding}")}),
    );
    parameters.insert(
        "DefinitionsPrefix".into(),
        json!({"Type": "String", "Default": "", "Description": format!("Key prefix under which {uploaded} uploaded (empty, or ending with /)")}),
    );
}

/// Stand-ins for the large values of the `state_machine` template's context.
const POLICY: &str = "@@jobnet2sfn:policy@@";
const DEFINITION: &str = "@@jobnet2sfn:definition@@";
const SUBSTITUTIONS: &str = "@@jobnet2sfn:substitutions@@";

/// Replaces the stand-ins in rendered resources by their values: moved in where a stand-in
/// is placed once (at its last place), copied where a template places it more than once.
fn put_in_place(resources: &mut Map<String, Value>, values: &mut [(&str, Value)]) {
    fn find<'v>(v: &'v mut Value, values: &[(&str, Value)], out: &mut Vec<(usize, &'v mut Value)>) {
        if let Some(i) = v
            .as_str()
            .and_then(|s| values.iter().position(|(m, _)| *m == s))
        {
            out.push((i, v));
            return;
        }
        match v {
            Value::Array(a) => a.iter_mut().for_each(|x| find(x, values, out)),
            Value::Object(o) => o.values_mut().for_each(|x| find(x, values, out)),
            _ => {}
        }
    }
    let mut places = Vec::new();
    for r in resources.values_mut() {
        find(r, values, &mut places);
    }
    let mut last = vec![usize::MAX; values.len()];
    for (n, (i, _)) in places.iter().enumerate() {
        last[*i] = n;
    }
    for (n, (i, place)) in places.into_iter().enumerate() {
        *place = if last[i] == n {
            std::mem::take(&mut values[i].1)
        } else {
            values[i].1.clone()
        };
    }
}

/// Adds what a resource template rendered, refusing a logical id another rendering defined
/// (it would replace that resource).
pub fn add_resources(
    resources: &mut Map<String, Value>,
    template: &str,
    rendered: Map<String, Value>,
) -> Result<(), String> {
    for (id, r) in rendered {
        if resources.contains_key(&id) {
            return Err(format!(
                "resource template `{template}` defines `{id}`, which is already defined (by another template, or for a jobnet whose generated name meets this one)"
            ));
        }
        resources.insert(id, r);
    }
    Ok(())
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

/// The statements of a machine role's policy.
fn policy(iam: &[IamStatement], rules: &BTreeSet<String>, tables: &BTreeSet<String>) -> Vec<Value> {
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
    // A resource already granted by a statement with more actions needs no statement of
    // its own for fewer.
    let covered = grouped.clone();
    for (actions, resources) in grouped.iter_mut() {
        resources.retain(|r| {
            !covered.iter().any(|(more, granted)| {
                more.len() > actions.len()
                    && actions.iter().all(|a| more.contains(a))
                    && granted.contains(r)
            })
        });
    }
    for (actions, resources) in grouped {
        if resources.is_empty() {
            continue;
        }
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
    statements
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
    use crate::diag::Diagnostics;
    use crate::driver::{compile, CompileOptions};

    /// Compiles a two-job net with run records using the templates in `dir`: the
    /// CloudFormation template (built again from the outputs) if the compile succeeded.
    fn compile_with_templates(dir: &std::path::Path) -> (Option<Value>, Diagnostics) {
        let text = "version: 1\njobnets:\n  - name: n\n    units:\n      - {name: a, type: noop}\n      - {name: b, type: lambda, after: [a]}\n";
        let (project, mut diags) = crate::driver::project_of(text);
        let opts = CompileOptions {
            templates: Some(dir.to_path_buf()),
            ..CompileOptions::default()
        };
        let template = compile(&project, &opts, &mut diags).map(|c| {
            assert!(c.files.contains_key("template.yaml"));
            let templates = TemplateSet::load(Some(dir)).expect("templates");
            template(&c.outputs, &opts.cfn, &templates)
                .expect("template")
                .value
        });
        (template, diags)
    }

    #[test]
    fn a_statement_with_more_actions_on_a_resource_absorbs_one_with_fewer() {
        let st = |actions: &[&str], resources: &[&str]| IamStatement {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
        };
        let iam = [
            st(&["dynamodb:UpdateItem"], &["arn:t1", "arn:t2"]),
            st(&["dynamodb:UpdateItem", "dynamodb:GetItem"], &["arn:t1"]),
            st(&["dynamodb:GetItem"], &["arn:t1"]),
            st(&["sns:Publish"], &["arn:topic"]),
        ];
        let statements = policy(&iam, &BTreeSet::new(), &BTreeSet::new());
        let granted: Vec<(Value, Value)> = statements
            .iter()
            .filter(|s| s["Resource"] != "*")
            .map(|s| (s["Action"].clone(), s["Resource"].clone()))
            .collect();
        assert_eq!(
            granted,
            vec![
                (
                    json!(["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                    json!(["arn:t1"])
                ),
                (json!(["dynamodb:UpdateItem"]), json!(["arn:t2"])),
                (json!(["sns:Publish"]), json!(["arn:topic"])),
            ]
        );
    }

    #[test]
    fn resource_templates_can_be_overridden_without_recompiling() {
        let dir = std::env::temp_dir().join(format!("j2s-res-tpl-{}", std::process::id()));
        let res = dir.join("resources");
        std::fs::create_dir_all(&res).unwrap();
        // A site rule: every role gets a permissions boundary and every table a tag.
        let machine = include_str!("../../templates/resources/state_machine.json.tera").replace(
            "\"Description\": {{ role_description | json_encode() }},",
            "\"Description\": {{ role_description | json_encode() }},\n      \"PermissionsBoundary\": {\"Fn::Sub\": \"arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundary\"},",
        );
        std::fs::write(res.join("state_machine.json.tera"), machine).unwrap();
        std::fs::write(
            res.join("table.json.tera"),
            r#"{"{{ table.id }}": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST", "Tags": [{"Key": "system", "Value": "batch"}]}}}"#,
        )
        .unwrap();
        let (template, diags) = compile_with_templates(&dir);
        assert!(!diags.has_errors(), "{:?}", diags.items);
        let resources = template.expect("template")["Resources"].clone();
        assert_eq!(
            resources["NRole"]["Properties"]["PermissionsBoundary"]["Fn::Sub"],
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundary"
        );
        assert_eq!(
            resources["NStateMachine"]["Type"],
            "AWS::StepFunctions::StateMachine"
        );
        assert_eq!(
            resources[RUN_TABLE]["Properties"]["Tags"][0]["Value"],
            "batch"
        );
        // The alert topic still comes from the built-in template.
        assert_eq!(resources[ALERT_TOPIC]["Type"], "AWS::SNS::Topic");

        // An override that drops a resource others refer to is an error naming it.
        std::fs::write(
            res.join("state_machine.json.tera"),
            r#"{"{{ machine.id }}Machine": {"Type": "AWS::StepFunctions::StateMachine"}}"#,
        )
        .unwrap();
        let (template, diags) = compile_with_templates(&dir);
        assert!(template.is_none());
        let err = diags
            .items
            .iter()
            .find(|d| d.code == crate::driver::codes::E_TEMPLATES)
            .expect("E0005");
        assert!(
            err.message.contains("must define `NStateMachine`"),
            "{}",
            err.message
        );

        // A misspelt override is an error, not ignored.
        std::fs::write(res.join("state_machines.json.tera"), "{}").unwrap();
        let err = TemplateSet::load(Some(&dir)).err().expect("refused");
        assert!(
            err.contains("no resource template is called `state_machines`"),
            "{err}"
        );
        std::fs::remove_file(res.join("state_machines.json.tera")).unwrap();

        // A resource without a `Type` is refused too.
        std::fs::write(res.join("state_machine.json.tera"), r#"{"X": {}}"#).unwrap();
        let (_, diags) = compile_with_templates(&dir);
        assert!(
            diags
                .items
                .iter()
                .any(|d| d.message.contains("needs a string `Type`")),
            "{:?}",
            diags.items
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stand_ins_are_replaced_wherever_a_template_puts_them() {
        let mut rendered = Map::new();
        rendered.insert(
            "A".into(),
            json!({"Type": "X", "P": POLICY, "Copy": [POLICY], "S": SUBSTITUTIONS, "Name": "kept"}),
        );
        let mut values = [
            (POLICY, json!([{"Effect": "Allow"}])),
            (DEFINITION, json!({"StartAt": "a"})),
            (SUBSTITUTIONS, json!({"X": {"Ref": "X"}})),
        ];
        put_in_place(&mut rendered, &mut values);
        assert_eq!(
            rendered["A"],
            json!({"Type": "X", "P": [{"Effect": "Allow"}], "Copy": [[{"Effect": "Allow"}]],
                   "S": {"X": {"Ref": "X"}}, "Name": "kept"})
        );
        // Placed once: moved, not copied.
        assert_eq!(values[2].1, Value::Null);
        assert_eq!(
            values[1].1,
            json!({"StartAt": "a"}),
            "not placed: left alone"
        );
    }

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
