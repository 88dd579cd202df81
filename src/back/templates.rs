//! Templates: job types (how a job becomes Task state(s), which IAM it needs, which
//! CloudFormation parameters it uses) and resources (how the CloudFormation resources
//! around the machines are written). Built-in templates are embedded; a user directory
//! (`--templates DIR`) adds or overrides `<type>.json.tera` files, and `resources/<name>.json.tera`
//! files, without recompiling.

use crate::back::tree::Tree;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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
        "eventbridge",
        include_str!("../../templates/jobtypes/eventbridge.json.tera"),
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
        "sns",
        include_str!("../../templates/jobtypes/sns.json.tera"),
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

/// Built-in resource templates (`templates/resources/`): how the CloudFormation back-end
/// writes the resources around the machines. Each renders an object of logical id →
/// resource; a `resources/` directory under `--templates DIR` overrides them.
const BUILTIN_RESOURCES: &[(&str, &str)] = &[
    (
        "alert_topic",
        include_str!("../../templates/resources/alert_topic.json.tera"),
    ),
    (
        "calendar",
        include_str!("../../templates/resources/calendar.json.tera"),
    ),
    (
        "event_wait",
        include_str!("../../templates/resources/event_wait.json.tera"),
    ),
    (
        "schedule",
        include_str!("../../templates/resources/schedule.json.tera"),
    ),
    (
        "start_condition",
        include_str!("../../templates/resources/start_condition.json.tera"),
    ),
    (
        "state_machine",
        include_str!("../../templates/resources/state_machine.json.tera"),
    ),
    (
        "table",
        include_str!("../../templates/resources/table.json.tera"),
    ),
];

/// What a resource template renders: logical id → resource. serde_json keeps the last of
/// two equal keys, so two resources given one id (two rules named alike) would lose one
/// silently; a repeated id is an error here.
struct Resources(serde_json::Map<String, Value>);

impl<'de> serde::Deserialize<'de> for Resources {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ids;
        impl<'de> serde::de::Visitor<'de> for Ids {
            type Value = Resources;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of logical id → resource")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Resources, A::Error> {
                let mut out = serde_json::Map::new();
                while let Some((id, resource)) = m.next_entry::<String, Value>()? {
                    if out.contains_key(&id) {
                        return Err(serde::de::Error::custom(format!(
                            "logical id `{id}` is given twice"
                        )));
                    }
                    out.insert(id, resource);
                }
                Ok(Resources(out))
            }
        }
        d.deserialize_map(Ids)
    }
}

/// Resource templates are kept in tera under this prefix, apart from job types.
const RESOURCE_PREFIX: &str = "resources/";

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
    /// What the job needs around its states; renderings with equal text share one (see
    /// [`Extras`]).
    pub extras: Arc<Extras>,
}

/// The parts of a rendering that are not states. For most job types (`ecs`, `ecs-windows`,
/// `batch`, `noop`) they are the same for every job, so they are parsed once per distinct
/// text and shared: a 100,000-job compile parsed, copied and merged them per job. Types
/// that name a parameter per job (`lambda`, `glue`, `statemachine`) gain nothing.
#[derive(Debug, Default, PartialEq)]
pub struct Extras {
    pub parameters: BTreeMap<String, String>,
    pub iam: Vec<IamStatement>,
    pub events_rule: Option<String>,
    /// DynamoDB tables (logical ids) the template uses as `${Name}`.
    pub tables: Vec<String>,
}

/// The job types and resource templates available for one compiler run.
pub struct TemplateSet {
    tera: tera::Tera,
    names: Vec<String>,
    /// Where each template came from (`builtin` or a path), for the report.
    pub origin: BTreeMap<String, String>,
}

impl TemplateSet {
    /// Built-in templates, then every `*.json.tera` of `user_dir` (which wins on a clash):
    /// job types at its top, resource templates in its `resources/` directory.
    pub fn load(user_dir: Option<&Path>) -> Result<TemplateSet, String> {
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        let mut origin = BTreeMap::new();
        let builtin = BUILTIN.iter().map(|&(n, t)| (n.to_string(), t)).chain(
            BUILTIN_RESOURCES
                .iter()
                .map(|&(n, t)| (format!("{RESOURCE_PREFIX}{n}"), t)),
        );
        for (name, text) in builtin {
            tera.add_raw_template(&name, text)
                .map_err(|e| format!("built-in template `{name}`: {}", error_chain(&e)))?;
            origin.insert(name, "builtin".to_string());
        }
        if let Some(dir) = user_dir {
            let mut files = template_files(dir, "")?;
            let resources = dir.join("resources");
            if resources.is_dir() {
                for (name, path) in template_files(&resources, RESOURCE_PREFIX)? {
                    // A misspelt override would otherwise be ignored without a word.
                    let stem = &name[RESOURCE_PREFIX.len()..];
                    if !BUILTIN_RESOURCES.iter().any(|(n, _)| *n == stem) {
                        let known: Vec<&str> = BUILTIN_RESOURCES.iter().map(|(n, _)| *n).collect();
                        return Err(format!(
                            "{}: no resource template is called `{stem}` (the compiler writes {})",
                            path.display(),
                            known.join(", ")
                        ));
                    }
                    files.push((name, path));
                }
            }
            for (name, path) in files {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read template {}: {e}", path.display()))?;
                tera.add_raw_template(&name, &text)
                    .map_err(|e| format!("template {}: {}", path.display(), error_chain(&e)))?;
                origin.insert(name, path.display().to_string());
            }
        }
        let names = origin
            .keys()
            .filter(|n| !n.starts_with(RESOURCE_PREFIX))
            .cloned()
            .collect();
        Ok(TemplateSet {
            tera,
            names,
            origin,
        })
    }

    /// Renders resource template `name` (`state_machine`, `table`, `alert_topic`,
    /// `calendar`, `schedule`) with `context`: an object of logical id → resource, each
    /// resource an object with a string `Type`, among them the `needed` ones (the rest of
    /// the template refers to them).
    pub fn render_resources(
        &self,
        name: &str,
        context: Value,
        needed: &[String],
    ) -> Result<serde_json::Map<String, Value>, String> {
        let full = format!("{RESOURCE_PREFIX}{name}");
        let ctx = tera::Context::from_value(context).map_err(|e| e.to_string())?;
        let text = self
            .tera
            .render(&full, &ctx)
            .map_err(|e| format!("resource template `{name}`: {}", error_chain(&e)))?;
        let Resources(resources) = serde_json::from_str(&text).map_err(|e| {
            format!("resource template `{name}` must render a JSON object of logical id → resource, each id once: {e}")
        })?;
        for (id, r) in &resources {
            if !r.get("Type").is_some_and(Value::is_string) {
                return Err(format!(
                    "resource template `{name}`: resource `{id}` needs a string `Type`"
                ));
            }
        }
        if let Some(missing) = needed.iter().find(|n| !resources.contains_key(*n)) {
            return Err(format!(
                "resource template `{name}` must define `{missing}`: other resources refer to it"
            ));
        }
        Ok(resources)
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
        parse_output(job_type, &text)
    }
}

/// A rendering's top-level members, unparsed.
#[derive(serde::Deserialize)]
struct RawOutput<'a> {
    #[serde(borrow)]
    state: Option<&'a RawValue>,
    #[serde(borrow)]
    states: Option<&'a RawValue>,
    #[serde(borrow)]
    rc: Option<&'a RawValue>,
    #[serde(borrow)]
    check_default_rc: Option<&'a RawValue>,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    iam: Option<&'a RawValue>,
    #[serde(borrow)]
    events_rule: Option<&'a RawValue>,
    #[serde(borrow)]
    tables: Option<&'a RawValue>,
}

/// Parsed extras by the text of their members.
type ExtrasByText = std::collections::HashMap<String, Arc<Extras>, foldhash::fast::FixedState>;

/// How many distinct [`Extras`] texts a thread keeps: one per job type whose extras do
/// not name the job, in practice.
const EXTRAS_KEPT: usize = 64;

/// Parses a template's output. The members are split out unparsed first, so that the
/// extras are parsed only when their text differs from one seen before on this thread.
/// Output that does not split that way (not an object, a member twice) takes the whole
/// parse, which reports what is wrong.
fn parse_output(job_type: &str, text: &str) -> Result<Rendered, String> {
    // serde reads a struct from an array too (by position): only objects take this path.
    let object = text.trim_start().starts_with('{');
    let Some(raw) = object
        .then(|| serde_json::from_str::<RawOutput<'_>>(text).ok())
        .flatten()
    else {
        let value: Tree = serde_json::from_str(text)
            .map_err(|e| format!("template `{job_type}` did not render valid JSON: {e}"))?;
        return parse_rendered(job_type, value);
    };
    let tree = |v: Option<&RawValue>| -> Result<Option<Tree>, String> {
        v.map(|v| serde_json::from_str::<Tree>(v.get()))
            .transpose()
            .map_err(|e| format!("template `{job_type}` did not render valid JSON: {e}"))
    };
    let parts = [raw.parameters, raw.iam, raw.events_rule, raw.tables];
    let mut key = String::new();
    for p in parts {
        key.push_str(p.map_or("", RawValue::get));
        // JSON text cannot hold a raw NUL, so the key is unambiguous.
        key.push('\0');
    }
    thread_local! {
        /// Extras by text, and the text of the last miss: a text is kept once it is seen
        /// twice in a row, so types whose extras name each job (a parameter per job, as
        /// `lambda` has) do not crowd out the ones that repeat.
        static SEEN: std::cell::RefCell<(ExtrasByText, String)> = std::cell::RefCell::default();
    }
    let extras = match SEEN.with_borrow(|(seen, _)| seen.get(&key).cloned()) {
        Some(e) => e,
        None => {
            let [parameters, iam, events_rule, tables] = parts.map(&tree);
            let extras = Arc::new(extras_of(
                job_type,
                parameters?,
                iam?,
                events_rule?,
                tables?,
            )?);
            SEEN.with_borrow_mut(|(seen, last_miss)| {
                if *last_miss == key && seen.len() < EXTRAS_KEPT {
                    seen.insert(key, Arc::clone(&extras));
                } else {
                    *last_miss = key;
                }
            });
            extras
        }
    };
    Ok(Rendered {
        states: states_of(job_type, tree(raw.state)?, tree(raw.states)?)?,
        rc: rc_of(job_type, tree(raw.rc)?)?,
        check_default_rc: tree(raw.check_default_rc)?
            .as_ref()
            .and_then(Tree::as_bool)
            .unwrap_or(false),
        extras,
    })
}

/// Checks and takes apart a template's output parsed whole.
fn parse_rendered(job_type: &str, value: Tree) -> Result<Rendered, String> {
    let Tree::Object(mut obj) = value else {
        return Err(format!("template `{job_type}` must render a JSON object"));
    };
    let states = states_of(job_type, obj.remove("state"), obj.remove("states"))?;
    let rc = rc_of(job_type, obj.remove("rc"))?;
    let check_default_rc = obj
        .get("check_default_rc")
        .and_then(Tree::as_bool)
        .unwrap_or(false);
    let extras = extras_of(
        job_type,
        obj.remove("parameters"),
        obj.remove("iam"),
        obj.remove("events_rule"),
        obj.remove("tables"),
    )?;
    Ok(Rendered {
        states,
        rc,
        check_default_rc,
        extras: Arc::new(extras),
    })
}

fn states_of(
    job_type: &str,
    state: Option<Tree>,
    states: Option<Tree>,
) -> Result<Vec<crate::back::tree::Map>, String> {
    let states = match (state, states) {
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
    Ok(states)
}

fn rc_of(job_type: &str, rc: Option<Tree>) -> Result<Option<RcSource>, String> {
    Ok(match rc {
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
    })
}

fn extras_of(
    job_type: &str,
    parameters: Option<Tree>,
    iam: Option<Tree>,
    events_rule: Option<Tree>,
    tables: Option<Tree>,
) -> Result<Extras, String> {
    let parameters = match parameters {
        Some(Tree::Object(p)) => p
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        _ => BTreeMap::new(),
    };
    let iam = match iam {
        None | Some(Tree::Null) => Vec::new(),
        Some(v) => serde_json::from_value::<Vec<IamIn>>(Value::from(&v))
            .map_err(|e| format!("template `{job_type}`: bad `iam`: {e}"))?
            .into_iter()
            .map(|s| IamStatement {
                actions: s.action,
                resources: s.resource,
            })
            .collect(),
    };
    let events_rule = events_rule
        .as_ref()
        .and_then(Tree::as_str)
        .map(str::to_string);
    let tables = tables
        .as_ref()
        .and_then(Tree::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Tree::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Extras {
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

/// The `*.json.tera` files of `dir`, sorted, as (template name, path).
fn template_files(dir: &Path, prefix: &str) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read template directory {}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|p| {
            let stem = p
                .file_name()?
                .to_str()?
                .strip_suffix(".json.tera")?
                .to_string();
            Some((format!("{prefix}{stem}"), p))
        })
        .collect();
    files.sort();
    Ok(files)
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

    #[test]
    fn a_logical_id_given_twice_is_an_error() {
        let one: Result<Resources, _> =
            serde_json::from_str(r#"{"A": {"Type": "X"}, "B": {"Type": "Y"}}"#);
        assert_eq!(one.map(|r| r.0.len()).ok(), Some(2));
        let twice: Result<Resources, _> =
            serde_json::from_str(r#"{"A": {"Type": "X"}, "A": {"Type": "Y"}}"#);
        let e = twice.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("logical id `A` is given twice"), "{e}");
        assert!(serde_json::from_str::<Resources>("[1]").is_err());
    }
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
    fn output_split_by_members_reads_as_output_parsed_whole() {
        let t = TemplateSet::load(None).unwrap();
        let same = |a: &Rendered, b: &Rendered| {
            let tree = |r: &Rendered| {
                Value::from(&Tree::Array(
                    r.states.iter().cloned().map(Tree::Object).collect(),
                ))
            };
            assert_eq!(tree(a), tree(b));
            assert_eq!(a.rc, b.rc);
            assert_eq!(a.check_default_rc, b.check_default_rc);
            assert_eq!(a.extras, b.extras);
        };
        for name in t.names() {
            let ctx = tera::Context::from_value(ctx(json!({
                "function": "arn:aws:lambda:ap-northeast-1:1:function:f",
                "command": "run.sh", "environment": {"A": "1"}
            })))
            .unwrap();
            let text = t.tera.render(name, &ctx).unwrap();
            let split = parse_output(name, &text).unwrap();
            let whole = parse_rendered(name, serde_json::from_str(&text).unwrap()).unwrap();
            same(&split, &whole);
            // Extras seen twice in a row are kept: the third rendering shares the second's.
            let second = parse_output(name, &text).unwrap();
            let third = parse_output(name, &text).unwrap();
            assert!(Arc::ptr_eq(&second.extras, &third.extras), "{name}");
            assert_eq!(split.extras, third.extras);
        }
        // Output that does not split into members still says what is wrong with it.
        let cases = [
            ("[1]", "must render a JSON object"),
            (
                "[{\"Type\": \"Pass\"}, null, null, null, null, null, null, null]",
                "must render a JSON object",
            ),
            (
                "{\"state\": {\"Type\": \"Pass\"}, \"state\": 1}",
                "exactly one of",
            ),
            ("{\"state\": {\"Type\": \"Pass\"}, \"iam\": 3}", "bad `iam`"),
            (
                "{\"state\": {\"Type\": \"Pass\"}, \"rc\": {\"path\": \"x\"}}",
                "JSONPath",
            ),
            ("{\"state\": ", "did not render valid JSON"),
        ];
        for (text, want) in cases {
            let err = parse_output("x", text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        // A member given twice: the last one counts, as when parsed whole.
        let twice = "{\"state\": {\"Type\": \"Task\"}, \"state\": {\"Type\": \"Pass\"}}";
        assert_eq!(parse_output("x", twice).unwrap().states[0]["Type"], "Pass");
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
