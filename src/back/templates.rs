//! Job-type templates: how a job becomes Task state(s), which IAM it needs, which
//! CloudFormation parameters it uses. Built-in templates are embedded; a user directory
//! (`--templates DIR`) adds or overrides `<type>.json.tera` files without recompiling.

use crate::back::tree::Tree;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const BUILTIN: &[(&str, &str)] = &[
    (
        "batch",
        include_str!("../../templates/jobtypes/batch.json.tera"),
    ),
    (
        "ecs",
        include_str!("../../templates/jobtypes/ecs.json.tera"),
    ),
    (
        "ecs-windows",
        include_str!("../../templates/jobtypes/ecs-windows.json.tera"),
    ),
    (
        "glue",
        include_str!("../../templates/jobtypes/glue.json.tera"),
    ),
    (
        "lambda",
        include_str!("../../templates/jobtypes/lambda.json.tera"),
    ),
    (
        "noop",
        include_str!("../../templates/jobtypes/noop.json.tera"),
    ),
    (
        "statemachine",
        include_str!("../../templates/jobtypes/statemachine.json.tera"),
    ),
    (
        "test",
        include_str!("../../templates/jobtypes/test.json.tera"),
    ),
];

/// Where a job's return code is found.
#[derive(Debug, Clone, PartialEq)]
pub enum RcSource {
    /// In the output of the job's last state (JSONPath into the result).
    Result { path: String },
    /// In the JSON error cause of a failed task (JSONPath below `$.cause`).
    ErrorCause { path: String },
}

/// One IAM statement a job type needs; strings may hold `${Param}` placeholders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IamStatement {
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    #[serde(rename = "Resource")]
    pub resources: Vec<String>,
}

/// The rendered form of one job.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// One state, or a chain the compiler links in order.
    pub states: Vec<crate::back::tree::Map>,
    pub rc: Option<RcSource>,
    /// Check the default threshold (rc > 0 is abnormal) even without explicit thresholds.
    pub check_default_rc: bool,
    pub parameters: BTreeMap<String, String>,
    pub iam: Vec<IamStatement>,
    pub events_rule: Option<String>,
    /// DynamoDB tables (logical ids) the template uses as `${Name}`.
    pub tables: Vec<String>,
}

/// The job types available for one compiler run.
pub struct TemplateSet {
    tera: tera::Tera,
    names: Vec<String>,
    /// Where each template came from (`builtin` or a path), for the report.
    pub origin: BTreeMap<String, String>,
}

impl TemplateSet {
    /// Built-in templates, then every `*.json.tera` of `user_dir` (which wins on a clash).
    pub fn load(user_dir: Option<&Path>) -> Result<TemplateSet, String> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        let mut origin = BTreeMap::new();
        for (name, text) in BUILTIN {
            tera.add_raw_template(name, text)
                .map_err(|e| format!("built-in template `{name}`: {}", error_chain(&e)))?;
            origin.insert((*name).to_string(), "builtin".to_string());
        }
        if let Some(dir) = user_dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("cannot read template directory {}: {e}", dir.display()))?;
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".json.tera"))
                .collect();
            files.sort();
            for path in files {
                let file = path
                    .file_name()
                    .and_then(|f| f.to_str())
                    .unwrap_or_default();
                let name = file.trim_end_matches(".json.tera").to_string();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read template {}: {e}", path.display()))?;
                tera.add_raw_template(&name, &text)
                    .map_err(|e| format!("template {}: {}", path.display(), error_chain(&e)))?;
                origin.insert(name, path.display().to_string());
            }
        }
        let names = origin.keys().cloned().collect();
        Ok(TemplateSet {
            tera,
            names,
            origin,
        })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Renders a job type with `context` and checks the result's shape.
    pub fn render(&self, job_type: &str, context: Value) -> Result<Rendered, String> {
        let ctx = tera::Context::from_value(context).map_err(|e| e.to_string())?;
        let text = self
            .tera
            .render(job_type, &ctx)
            .map_err(|e| error_chain(&e))?;
        let value: Tree = serde_json::from_str(&text)
            .map_err(|e| format!("template `{job_type}` did not render valid JSON: {e}"))?;
        parse_rendered(job_type, value)
    }
}

fn parse_rendered(job_type: &str, value: Tree) -> Result<Rendered, String> {
    let Tree::Object(mut obj) = value else {
        return Err(format!("template `{job_type}` must render a JSON object"));
    };
    let states = match (obj.remove("state"), obj.remove("states")) {
        (Some(Tree::Object(s)), None) => vec![s],
        (None, Some(Tree::Array(list))) if !list.is_empty() => list
            .into_iter()
            .map(|s| match s {
                Tree::Object(o) => Ok(o),
                _ => Err(format!("template `{job_type}`: every entry of `states` must be an object")),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(format!(
                "template `{job_type}` must render exactly one of `state` (an object) or `states` (a non-empty list)"
            ))
        }
    };
    for s in &states {
        if !s.get("Type").is_some_and(Tree::is_string) {
            return Err(format!(
                "template `{job_type}`: every state needs a string `Type`"
            ));
        }
        for k in ["Next", "End", "Catch"] {
            if s.contains_key(k) {
                return Err(format!(
                    "template `{job_type}`: states must not set `{k}`; the compiler links them"
                ));
            }
        }
    }
    let rc = match obj.remove("rc") {
        None | Some(Tree::Null) => None,
        Some(Tree::Object(r)) => {
            let path = r
                .get("path")
                .and_then(Tree::as_str)
                .unwrap_or("")
                .to_string();
            if !path.starts_with('$') {
                return Err(format!(
                    "template `{job_type}`: `rc.path` must be a JSONPath"
                ));
            }
            match r.get("from").and_then(Tree::as_str) {
                Some("result") => Some(RcSource::Result { path }),
                Some("error") => Some(RcSource::ErrorCause { path }),
                _ => {
                    return Err(format!(
                        "template `{job_type}`: `rc.from` must be `result` or `error`"
                    ))
                }
            }
        }
        Some(_) => return Err(format!("template `{job_type}`: `rc` must be an object")),
    };
    let check_default_rc = obj
        .get("check_default_rc")
        .and_then(Tree::as_bool)
        .unwrap_or(false);
    let parameters = match obj.remove("parameters") {
        Some(Tree::Object(p)) => p
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        _ => BTreeMap::new(),
    };
    let iam = match obj.remove("iam") {
        Some(v) => serde_json::from_value::<Vec<IamIn>>(Value::from(&v))
            .map_err(|e| format!("template `{job_type}`: bad `iam`: {e}"))?
            .into_iter()
            .map(|s| IamStatement {
                actions: s.action,
                resources: s.resource,
            })
            .collect(),
        None => Vec::new(),
    };
    let events_rule = obj
        .get("events_rule")
        .and_then(Tree::as_str)
        .map(str::to_string);
    let tables = obj
        .get("tables")
        .and_then(Tree::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Tree::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Rendered {
        states,
        rc,
        check_default_rc,
        parameters,
        iam,
        events_rule,
        tables,
    })
}

#[derive(serde::Deserialize)]
struct IamIn {
    #[serde(rename = "Action")]
    action: Vec<String>,
    #[serde(rename = "Resource")]
    resource: Vec<String>,
}

/// Tera hides the useful part of an error in its source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        cur = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(params: Value) -> Value {
        json!({
            "job": {"name": "extract", "path": "/net/extract", "state": "extract", "params": params,
                    "param_prefix": "Extract", "exec_suffix": "extract"},
            "run": {"id": "$$.Execution.Name", "business_date": "$$.Execution.Input.businessDate"},
            "jobnet": {"name": "net"}
        })
    }

    #[test]
    fn every_builtin_renders_with_minimal_params() {
        let t = TemplateSet::load(None).unwrap();
        for name in t.names() {
            let r = t.render(
                name,
                ctx(json!({"function": "arn:aws:lambda:ap-northeast-1:1:function:f"})),
            );
            assert!(r.is_ok(), "{name}: {r:?}");
        }
    }

    #[test]
    fn ecs_string_command_runs_under_a_shell_and_keeps_environment() {
        let t = TemplateSet::load(None).unwrap();
        let r = t
            .render(
                "ecs",
                ctx(json!({"command": "run.sh --all", "environment": {"MODE": "full"}})),
            )
            .unwrap();
        let over = &r.states[0]["Parameters"]["Overrides"]["ContainerOverrides"][0];
        assert_eq!(over["Command"], json!(["/bin/sh", "-c", "run.sh --all"]));
        assert_eq!(
            over["Environment"][3],
            json!({"Name": "MODE", "Value": "full"})
        );
        assert_eq!(
            r.rc,
            Some(RcSource::ErrorCause {
                path: "$.cause.Containers[0].ExitCode".into()
            })
        );
    }

    #[test]
    fn windows_jobs_run_under_cmd() {
        let t = TemplateSet::load(None).unwrap();
        let r = t
            .render(
                "ecs-windows",
                ctx(json!({"command": "C:\\jobs\\daily.bat"})),
            )
            .unwrap();
        let cmd = &r.states[0]["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"];
        assert_eq!(cmd, &json!(["cmd.exe", "/c", "C:\\jobs\\daily.bat"]));
    }

    #[test]
    fn user_templates_override_and_bad_ones_are_reported() {
        let dir = std::env::temp_dir().join(format!("j2s-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("noop.json.tera"),
            r#"{"state": {"Type": "Pass", "Comment": "mine"}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("bad.json.tera"),
            r#"{"state": {"Type": "Task", "Next": "x"}}"#,
        )
        .unwrap();
        let t = TemplateSet::load(Some(&dir)).unwrap();
        assert_eq!(
            t.render("noop", ctx(json!({}))).unwrap().states[0]["Comment"],
            "mine"
        );
        let err = t.render("bad", ctx(json!({}))).unwrap_err();
        assert!(err.contains("must not set `Next`"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
