//! The deployment manifest (`<out>/manifest.json`) that the compiler writes beside the ASL files.
//!
//! It lists what `deploy` must create and how to fill each machine's `${Name}` placeholders, so
//! deploying needs neither CloudFormation nor a re-run of the compiler.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

/// The only manifest version this tool reads and writes.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    pub state_machines: Vec<ManifestStateMachine>,
    #[serde(default)]
    pub tables: Vec<ManifestTable>,
    #[serde(default)]
    pub parameters: Vec<ManifestParameter>,
    /// SNS topics (the alert topic) that the definitions publish to.
    #[serde(default)]
    pub topics: Vec<ManifestTopic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestStateMachine {
    /// The state machine's name in AWS (1..80 safe characters, chosen by the compiler).
    pub name: String,
    /// Path of the ASL file, relative to the manifest's directory.
    pub file: String,
    /// The jobnet the machine implements (informational).
    #[serde(default)]
    pub jobnet: Option<String>,
    /// Its role in the jobnet ("root", "continuation", …; informational).
    #[serde(default)]
    pub role: Option<String>,
    /// Placeholder name (without `${}`) -> what fills it.
    #[serde(default)]
    pub substitutions: BTreeMap<String, Substitution>,
}

/// What a `${Name}` placeholder resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Substitution {
    /// The physical name of the table with this logical id.
    Table(String),
    /// The ARN of the state machine with this manifest name.
    StateMachine(String),
    /// The value of this deployment parameter.
    Parameter(String),
    /// The ARN of the SNS topic with this logical id.
    Topic(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTopic {
    pub logical_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTable {
    pub logical_id: String,
    /// String partition key attribute.
    pub partition_key: String,
    /// Optional string sort key attribute.
    #[serde(default)]
    pub sort_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestParameter {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

impl Manifest {
    /// Parses and checks a manifest: version, unique names, and that every substitution refers
    /// to something the manifest declares.
    pub fn parse(text: &str) -> anyhow::Result<Manifest> {
        let manifest: Manifest = serde_json::from_str(text).context("invalid manifest JSON")?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.version != MANIFEST_VERSION {
            bail!(
                "unsupported manifest version {} (this tool reads version {MANIFEST_VERSION})",
                self.version
            );
        }
        let mut machines = BTreeMap::new();
        for m in &self.state_machines {
            if machines.insert(m.name.as_str(), m).is_some() {
                bail!("state machine {:?} is listed twice", m.name);
            }
        }
        let mut tables = BTreeMap::new();
        for t in &self.tables {
            if tables.insert(t.logical_id.as_str(), t).is_some() {
                bail!("table {:?} is listed twice", t.logical_id);
            }
        }
        let mut params = BTreeMap::new();
        for p in &self.parameters {
            if params.insert(p.name.as_str(), p).is_some() {
                bail!("parameter {:?} is listed twice", p.name);
            }
        }
        let mut topics = BTreeMap::new();
        for t in &self.topics {
            if topics.insert(t.logical_id.as_str(), t).is_some() {
                bail!("topic {:?} is listed twice", t.logical_id);
            }
        }
        for m in &self.state_machines {
            for (placeholder, sub) in &m.substitutions {
                let known = match sub {
                    Substitution::Topic(t) => topics.contains_key(t.as_str()),
                    Substitution::Table(t) => tables.contains_key(t.as_str()),
                    Substitution::StateMachine(s) => machines.contains_key(s.as_str()),
                    Substitution::Parameter(p) => params.contains_key(p.as_str()),
                };
                if !known {
                    bail!(
                        "state machine {:?}: substitution ${{{placeholder}}} refers to {sub:?}, \
                         which the manifest does not declare",
                        m.name
                    );
                }
            }
        }
        Ok(())
    }

    /// In which order to deploy the machines so that every ARN a definition needs exists.
    ///
    /// Machines may refer to each other in cycles (a continuation starts a split-off child that
    /// arrives at another join of the same continuation; a machine may start itself). A cycle
    /// is broken by creating one of its members first with a placeholder definition: its ARN
    /// then exists, and it gets its real definition when the order reaches it.
    pub fn deployment_order(&self) -> DeployOrder {
        let index: BTreeMap<&str, usize> = self
            .state_machines
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), i))
            .collect();
        let n = self.state_machines.len();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, m) in self.state_machines.iter().enumerate() {
            for sub in m.substitutions.values() {
                if let Substitution::StateMachine(target) = sub {
                    let j = index[target.as_str()];
                    if !deps[i].contains(&j) {
                        deps[i].push(j);
                    }
                }
            }
        }
        let mut done = vec![false; n];
        // The ARN exists: deployed, or created first as a placeholder.
        let mut available = vec![false; n];
        let mut plan = DeployOrder::default();
        // Repeatedly take the first machine (in manifest order) whose dependencies all exist:
        // quadratic, but the order stays predictable. When none can go, pre-create the first
        // machine that a waiting machine needs.
        while plan.order.len() < n {
            let next = (0..n).find(|&i| !done[i] && deps[i].iter().all(|&d| available[d]));
            match next {
                Some(i) => {
                    done[i] = true;
                    available[i] = true;
                    plan.order.push(i);
                }
                None => {
                    let blocker = (0..n)
                        .find(|&j| {
                            !available[j] && (0..n).any(|i| !done[i] && deps[i].contains(&j))
                        })
                        .expect("a stuck machine waits for one that does not exist yet");
                    available[blocker] = true;
                    plan.create_first.push(blocker);
                }
            }
        }
        plan
    }
}

/// The result of [`Manifest::deployment_order`] (indices into `state_machines`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployOrder {
    /// Machines to create with a placeholder definition before anything else.
    pub create_first: Vec<usize>,
    /// Every machine, each after the machines whose ARNs it needs.
    pub order: Vec<usize>,
}

/// Replaces every `${Name}` in `text` with `values[Name]`. A placeholder without a value is an
/// error (it would reach AWS as a literal and fail at run time). As for the compiler, only a
/// name of letters, digits, `_`, `.` and `:` makes a placeholder: any other `${…}` (a shell's
/// `${NAME:-}` in a command) and a `$` not followed by `{` are kept as written.
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let name = after.find('}').map(|end| &after[..end]).filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':')
        });
        let Some(name) = name else {
            out.push_str("${");
            rest = after;
            continue;
        };
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => bail!("placeholder ${{{name}}} has no substitution"),
        }
        rest = &after[name.len() + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(machines: &str) -> String {
        format!(
            r#"{{"version": 1, "state_machines": {machines},
                "tables": [{{"logical_id": "RunTable", "partition_key": "pk", "sort_key": null}}],
                "parameters": [{{"name": "P", "description": "d"}}]}}"#
        )
    }

    fn sm(name: &str, refs: &[&str]) -> String {
        let subs: Vec<String> = refs
            .iter()
            .map(|r| format!(r#""{r}Arn": {{"state_machine": "{r}"}}"#))
            .collect();
        format!(
            r#"{{"name": "{name}", "file": "{name}.asl.json", "substitutions": {{{}}}}}"#,
            subs.join(",")
        )
    }

    fn names(m: &Manifest, order: &[usize]) -> Vec<String> {
        order
            .iter()
            .map(|&i| m.state_machines[i].name.clone())
            .collect()
    }

    #[test]
    fn parses_the_documented_format() {
        let text = manifest(
            r#"[{"name": "daily_sales", "file": "statemachines/daily_sales.asl.json",
                 "jobnet": "daily_sales", "role": "root",
                 "substitutions": {"RunTable": {"table": "RunTable"},
                                   "ContinuationArn": {"state_machine": "daily_sales-cont"},
                                   "Cluster": {"parameter": "P"}}},
                {"name": "daily_sales-cont", "file": "statemachines/daily_sales-cont.asl.json",
                 "jobnet": "daily_sales", "role": "continuation", "substitutions": {}}]"#,
        );
        let m = Manifest::parse(&text).unwrap();
        assert_eq!(m.state_machines.len(), 2);
        assert_eq!(
            m.state_machines[0].substitutions["ContinuationArn"],
            Substitution::StateMachine("daily_sales-cont".into())
        );
        assert_eq!(m.tables[0].sort_key, None);
        let plan = m.deployment_order();
        assert_eq!(names(&m, &plan.order), ["daily_sales-cont", "daily_sales"]);
        assert!(plan.create_first.is_empty());
    }

    #[test]
    fn order_follows_references_and_pre_creates_self_references() {
        let text = manifest(&format!(
            "[{}, {}, {}]",
            sm("a", &["c"]),
            sm("b", &["b"]),
            sm("c", &["b", "c"])
        ));
        let m = Manifest::parse(&text).unwrap();
        let plan = m.deployment_order();
        assert_eq!(names(&m, &plan.order), ["b", "a", "c"]);
        assert_eq!(names(&m, &plan.create_first), ["b", "c"]);
    }

    #[test]
    fn a_cycle_is_broken_by_pre_creating_one_member() {
        let text = manifest(&format!(
            "[{}, {}, {}]",
            sm("a", &["b"]),
            sm("b", &["a"]),
            sm("c", &[])
        ));
        let m = Manifest::parse(&text).unwrap();
        let plan = m.deployment_order();
        assert_eq!(names(&m, &plan.order), ["c", "b", "a"]);
        assert_eq!(names(&m, &plan.create_first), ["a"]);
    }

    #[test]
    fn topics_are_declared_and_referenced() {
        let text = r#"{"version": 1, "topics": [{"logical_id": "AlertTopic"}],
            "state_machines": [{"name": "a", "file": "a.json",
                                "substitutions": {"AlertTopic": {"topic": "AlertTopic"}}}]}"#;
        let m = Manifest::parse(text).unwrap();
        assert_eq!(
            m.state_machines[0].substitutions["AlertTopic"],
            Substitution::Topic("AlertTopic".into())
        );
        let undeclared = text.replace(r#"[{"logical_id": "AlertTopic"}]"#, "[]");
        let err = Manifest::parse(&undeclared).unwrap_err().to_string();
        assert!(err.contains("AlertTopic"), "{err}");
    }

    #[test]
    fn undeclared_references_and_bad_versions_are_rejected() {
        let text = manifest(&format!("[{}]", sm("a", &["zzz"])));
        let err = Manifest::parse(&text).unwrap_err().to_string();
        assert!(err.contains("zzz"), "{err}");
        let text = manifest(
            r#"[{"name": "a", "file": "a.json", "substitutions": {"T": {"table": "Nope"}}}]"#,
        );
        assert!(Manifest::parse(&text).is_err());
        let text = manifest("[]").replace("\"version\": 1", "\"version\": 2");
        let err = Manifest::parse(&text).unwrap_err().to_string();
        assert!(err.contains("version 2"), "{err}");
        let text = manifest(&format!("[{}, {}]", sm("a", &[]), sm("a", &[])));
        assert!(Manifest::parse(&text).is_err());
    }

    #[test]
    fn substitute_fills_placeholders_and_rejects_unknown_ones() {
        let values: BTreeMap<String, String> = [("A".to_string(), "x".to_string())].into();
        assert_eq!(
            substitute(
                "{\"t\": \"${A}\", \"p\": \"$.a\", \"q\": \"${A}${A}\"}",
                &values
            )
            .unwrap(),
            "{\"t\": \"x\", \"p\": \"$.a\", \"q\": \"xx\"}"
        );
        let err = substitute("${B}", &values).unwrap_err().to_string();
        assert!(err.contains("${B}"), "{err}");
        for kept in ["${A", "${ A }", "echo ${HOME:-} ${#A}"] {
            assert_eq!(substitute(kept, &values).unwrap(), kept);
        }
        assert_eq!(substitute("${A:-}${A}", &values).unwrap(), "${A:-}x");
    }
}
