//! Nested stacks. A CloudFormation stack holds at most 500 resources and 200 outputs, and
//! its template at most 1 MB; a large jobnet split into a thousand machines, or a thousand
//! jobnets compiled together, is over. Such a template becomes a parent, which keeps the
//! shared resources (tables, alert topic, calendar), and child stacks
//! (`stacks/stack-<bits>.yaml`, `AWS::CloudFormation::Stack` resources of the parent)
//! which hold the jobnets' resources.
//!
//! A jobnet's resources move into one child together when they fit. A jobnet too large
//! for one child moves by rendering (each machine's resources), keeping in the parent what
//! other renderings refer to (its role and log group). Whatever a moved resource refers to
//! outside its child is passed in as a child parameter: `Ref`, `Fn::GetAtt` and the `${…}`
//! of `Fn::Sub` are rewritten to it. Children are the leaves of a binary trie on the
//! leading bits of a hash of each jobnet's name, a leaf splitting while more than half
//! full: adding a jobnet changes (or splits) one child and moves nothing else, since
//! CloudFormation cannot move a named resource from one stack to another in one update.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// CloudFormation's limits for one stack.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub resources: usize,
    pub outputs: usize,
    /// Template body (uploaded to S3) in bytes, as written in YAML.
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            resources: 500,
            outputs: 200,
            bytes: 1_000_000,
        }
    }
}

/// Parameters a template may declare.
pub const MAX_PARAMETERS: usize = 200;

/// A template with, for each resource that belongs to one jobnet, where it came from
/// (resources not listed are shared).
#[derive(Debug, Clone)]
pub struct Template {
    pub value: Value,
    pub origins: BTreeMap<String, Origin>,
}

/// The jobnet (its machine name) a resource belongs to, and the rendering that wrote it
/// (a machine's name for its resources, `schedules` for a jobnet's schedules): a jobnet too
/// large for one nested stack is placed by rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub jobnet: String,
    pub unit: String,
}

/// The parent template and the child templates by file (`stacks/stack-NN.yaml`).
#[derive(Debug)]
pub struct Nested {
    pub parent: Value,
    pub children: Vec<(String, Value)>,
}

/// What a child needs to be placed: its resources, outputs and YAML bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    resources: usize,
    outputs: usize,
    bytes: usize,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.resources += other.resources;
        self.outputs += other.outputs;
        self.bytes += other.bytes;
    }

    fn within(&self, limits: &Limits) -> bool {
        self.resources <= limits.resources
            && self.outputs <= limits.outputs
            && self.bytes <= limits.bytes
    }
}

/// Bytes a child template needs besides its resources and outputs (header, parameters).
const CHILD_OVERHEAD: usize = 20_000;

/// A template that could not be split, given back whole with the reason.
#[derive(Debug)]
pub struct Refused {
    pub template: Value,
    pub reason: String,
}

/// Splits `template` into a parent and child stacks when it is over `limits`; a template
/// within them comes back as it is.
pub fn nest(template: Template, limits: &Limits) -> Result<Nested, Refused> {
    let Template {
        value: mut parent,
        origins,
    } = template;
    match split(&mut parent, &origins, limits) {
        Ok(children) => Ok(Nested { parent, children }),
        Err(reason) => Err(Refused {
            template: parent,
            reason,
        }),
    }
}

/// Where each moved resource and output goes (the bucket's name: the leading bits of its
/// hash).
struct Plan {
    bucket_of: BTreeMap<String, String>,
    output_bucket: BTreeMap<String, String>,
}

/// Places the resources of a template over `limits`; `None` when it is within them.
fn plan(
    parent: &Value,
    origins: &BTreeMap<String, Origin>,
    limits: &Limits,
) -> Result<Option<Plan>, String> {
    let empty = Map::new();
    let section = |name: &str| {
        parent
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or(&empty)
    };
    let resources = section("Resources");
    let outputs = section("Outputs");
    let over = resources.len() > limits.resources
        || outputs.len() > limits.outputs
        || scan(parent, 0, resources, &mut Scanned::default()) > limits.bytes;
    if !over {
        return Ok(None);
    }
    for name in ["DefinitionsBucket", "DefinitionsPrefix"] {
        if resources.contains_key(name) {
            return Err(format!(
                "a resource is called `{name}`, the parameter nested stacks need"
            ));
        }
    }
    // One walk per resource: what it refers to and about how large it is.
    let mut refers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut referrers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut resource_bytes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut stay: BTreeSet<&str> = BTreeSet::new();
    for (id, r) in resources {
        let mut found = Scanned::default();
        resource_bytes.insert(id, id.len() + 6 + scan(r, 4, resources, &mut found));
        for t in &found.targets {
            referrers.entry(t).or_default().push(id);
        }
        // An attribute chosen at deploy time cannot become a stack parameter.
        if found.dynamic || !origins.contains_key(id) {
            stay.insert(id);
        }
        refers.insert(id, found.targets);
    }
    let mut output_refers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut output_bytes: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, o) in outputs {
        let mut found = Scanned::default();
        output_bytes.insert(id, id.len() + 6 + scan(o, 4, resources, &mut found));
        if found.dynamic {
            // It stays in the parent, and so does what it names.
            stay.extend(found.targets);
        } else {
            output_refers.insert(id, found.targets);
        }
    }
    let mut by_family: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in resources.keys() {
        if let Some(o) = origins.get(id) {
            by_family.entry(&o.jobnet).or_default().push(id);
        }
    }
    let unit_of = |id: &str| {
        origins
            .get(id)
            .map(|o| (o.jobnet.as_str(), o.unit.as_str()))
    };
    let child_limits = Limits {
        bytes: limits.bytes.saturating_sub(CHILD_OVERHEAD),
        ..*limits
    };
    // Outputs by every resource they name.
    let mut outputs_by_target: BTreeMap<&str, Vec<(&str, &BTreeSet<&str>)>> = BTreeMap::new();
    for (o, ts) in &output_refers {
        for t in ts {
            outputs_by_target.entry(t).or_default().push((o, ts));
        }
    }
    // Groups (placed whole) by key. What stays in the parent only grows, so this settles.
    let (groups, placed_outputs) = loop {
        close_over(&mut stay, &refers);
        // What a set of resources costs with the outputs that go with it: those naming
        // some of them and otherwise only the parent (counted at their first such name).
        let cost_of = |members: &[&str]| {
            let set: BTreeSet<&str> = members.iter().copied().collect();
            let mut cost = Cost {
                resources: members.len(),
                outputs: 0,
                bytes: members.iter().map(|m| resource_bytes[m]).sum(),
            };
            for m in members {
                for (o, ts) in outputs_by_target.get(m).into_iter().flatten() {
                    let first = ts.iter().find(|t| set.contains(*t));
                    if first == Some(m) && ts.iter().all(|t| set.contains(t) || stay.contains(t)) {
                        cost.outputs += 1;
                        cost.bytes += output_bytes[o];
                    }
                }
            }
            cost
        };
        let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut grown = Vec::new();
        for (family, members) in &by_family {
            let movable: Vec<&str> = members
                .iter()
                .copied()
                .filter(|m| !stay.contains(m))
                .collect();
            if movable.is_empty() {
                continue;
            }
            if cost_of(&movable).within(&child_limits) {
                groups.insert(format!("jobnet:{family}"), movable);
                continue;
            }
            // Too large for one child: each rendering (one machine's resources, the
            // schedules) moves on its own; what another rendering refers to stays.
            let mut units: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for m in &movable {
                let (_, unit) = unit_of(m).unwrap_or_default();
                units.entry(unit).or_default().push(m);
            }
            for (unit, ms) in units {
                let anchors: Vec<&str> = ms
                    .iter()
                    .copied()
                    .filter(|m| {
                        referrers
                            .get(m)
                            .is_some_and(|rs| rs.iter().any(|r| unit_of(r) != unit_of(m)))
                    })
                    .collect();
                if !anchors.is_empty() {
                    grown.extend(anchors);
                    continue;
                }
                if cost_of(&ms).within(&child_limits) {
                    groups.insert(format!("unit:{family}/{unit}"), ms);
                    continue;
                }
                // A rendering too large for one child: its resources one by one.
                let inner: Vec<&str> = ms
                    .iter()
                    .copied()
                    .filter(|m| referrers.get(m).is_some_and(|rs| !rs.is_empty()))
                    .collect();
                if inner.is_empty() {
                    for m in ms {
                        groups.insert(format!("resource:{m}"), vec![m]);
                    }
                } else {
                    grown.extend(inner);
                }
            }
        }
        if !grown.is_empty() {
            stay.extend(grown);
            continue;
        }
        let group_of: BTreeMap<&str, &str> = groups
            .iter()
            .flat_map(|(k, ms)| ms.iter().map(move |m| (*m, k.as_str())))
            .collect();
        // A moved resource may refer to the parent, never to another child.
        let mut pinned: Vec<&str> = Vec::new();
        for (m, g) in &group_of {
            for t in &refers[m] {
                if group_of.get(t).is_some_and(|tg| tg != g) {
                    pinned.push(t);
                }
            }
        }
        // An output goes with the resources it names; one naming resources in two
        // children keeps them in the parent.
        let mut placed_outputs: BTreeMap<&str, String> = BTreeMap::new();
        for (o, ts) in &output_refers {
            let gs: BTreeSet<&str> = ts.iter().filter_map(|t| group_of.get(t).copied()).collect();
            match gs.len() {
                0 => {}
                1 => {
                    placed_outputs.extend(gs.into_iter().map(|g| (*o, g.to_string())));
                }
                _ => pinned.extend(ts.iter().filter(|t| group_of.contains_key(*t))),
            }
        }
        if pinned.is_empty() {
            break (groups, placed_outputs);
        }
        stay.extend(pinned);
    };
    if groups.is_empty() {
        return Err("nothing can move into a nested stack".into());
    }
    let mut costs: BTreeMap<&str, Cost> = groups
        .iter()
        .map(|(k, members)| {
            let cost = Cost {
                resources: members.len(),
                outputs: 0,
                bytes: members.iter().map(|m| resource_bytes[m]).sum(),
            };
            (k.as_str(), cost)
        })
        .collect();
    for (o, g) in &placed_outputs {
        if let Some(c) = costs.get_mut(g.as_str()) {
            c.outputs += 1;
            c.bytes += output_bytes[o];
        }
    }
    let items: Vec<(u64, &str, Cost)> = costs
        .into_iter()
        .map(|(k, c)| (mix(fnv1a(k)), k, c))
        .collect();
    if let Some((_, k, _)) = items.iter().find(|(_, _, c)| !c.within(&child_limits)) {
        return Err(format!(
            "`{}` alone is over the limits of a nested stack",
            k.split_once(':').map_or(*k, |(_, n)| n)
        ));
    }
    // Buckets are the leaves of a binary trie on the hash's leading bits, split while a
    // bucket is more than half full: adding a jobnet splits at most the bucket it falls
    // in, and moves nothing else. Where the parent has no room for that many stacks,
    // buckets are filled up to the limits instead.
    let room = limits.resources.saturating_sub(stay.len());
    let half = Limits {
        resources: child_limits.resources / 2,
        outputs: child_limits.outputs / 2,
        bytes: child_limits.bytes / 2,
    };
    let mut buckets = Vec::new();
    trie(&items, 0, String::new(), &half, &mut buckets);
    if buckets.len() > room {
        buckets.clear();
        trie(&items, 0, String::new(), &child_limits, &mut buckets);
    }
    for (name, _, total) in &buckets {
        if !total.within(&child_limits) {
            return Err(format!(
                "the groups in nested stack {name} share a hash and do not fit"
            ));
        }
    }
    if buckets.len() > room {
        return Err(format!(
            "the jobnets' resources do not fit: the parent stack keeps {} resources and has no room for {} nested stacks",
            stay.len(),
            buckets.len()
        ));
    }
    let mut bucket_of = BTreeMap::new();
    let mut group_bucket: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, keys, _) in &buckets {
        for k in keys {
            group_bucket.insert(k, name);
            for m in &groups[*k] {
                bucket_of.insert(m.to_string(), name.clone());
            }
        }
    }
    for (name, _, _) in &buckets {
        if resources.contains_key(&format!("NestedStack{name}")) {
            return Err(format!("a resource is already called `NestedStack{name}`"));
        }
    }
    let output_bucket = placed_outputs
        .iter()
        .map(|(o, g)| (o.to_string(), group_bucket[g.as_str()].to_string()))
        .collect();
    Ok(Some(Plan {
        bucket_of,
        output_bucket,
    }))
}

/// Splits `items` on the hash bit after `prefix` until each bucket is
/// within `fill` or holds one item; appends the non-empty buckets, named by their bits
/// (at least one bit, so a single bucket is `0` or `1`), with what they hold in total.
fn trie<'a>(
    items: &[(u64, &'a str, Cost)],
    depth: u32,
    prefix: String,
    fill: &Limits,
    out: &mut Vec<(String, Vec<&'a str>, Cost)>,
) {
    if items.is_empty() {
        return;
    }
    let mut total = Cost::default();
    for (_, _, c) in items {
        total.add(*c);
    }
    if depth >= 1 && (items.len() == 1 || total.within(fill) || depth == 64) {
        out.push((prefix, items.iter().map(|(_, k, _)| *k).collect(), total));
        return;
    }
    let bit = 1u64 << (63 - depth);
    let (zeros, ones): (Vec<_>, Vec<_>) = items.iter().partition(|(h, _, _)| h & bit == 0);
    trie(&zeros, depth + 1, format!("{prefix}0"), fill, out);
    trie(&ones, depth + 1, format!("{prefix}1"), fill, out);
}

/// [`nest`]: the child templates, with `parent` changed only when it succeeds.
fn split(
    parent: &mut Value,
    origins: &BTreeMap<String, Origin>,
    limits: &Limits,
) -> Result<Vec<(String, Value)>, String> {
    let Some(Plan {
        bucket_of,
        output_bucket,
    }) = plan(parent, origins, limits)?
    else {
        return Ok(Vec::new());
    };
    let stack_id = |b: &str| format!("NestedStack{b}");
    let stack_file = |b: &str| format!("stacks/stack-{b}.yaml");
    let Some(t) = parent.as_object_mut() else {
        return Ok(Vec::new());
    };
    let mut take = |name: &str| match t.get_mut(name).map(Value::take) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let resources = take("Resources");
    let outputs = take("Outputs");
    let mut parameters = take("Parameters");
    let mut conditions = take("Conditions");
    let mut kept = Map::new();
    let mut kept_outputs = Map::new();
    let mut children: BTreeMap<&str, Child> = BTreeMap::new();
    for (id, r) in resources {
        let into = match bucket_of.get(&id) {
            Some(b) => &mut children.entry(b).or_default().resources,
            None => &mut kept,
        };
        into.insert(id, r);
    }
    for (id, o) in outputs {
        let into = match output_bucket.get(&id) {
            Some(b) => &mut children.entry(b).or_default().outputs,
            None => &mut kept_outputs,
        };
        into.insert(id, o);
    }
    let mut files = Vec::new();
    let mut stacks = Map::new();
    for (b, child) in children {
        let Finished {
            template,
            passed,
            depends,
        } = child.finish(b, &parameters, &conditions, &kept);
        files.push((stack_file(b), template));
        let url = format!(
            "https://${{DefinitionsBucket}}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}/${{DefinitionsPrefix}}{}",
            stack_file(b)
        );
        let mut stack = Map::new();
        stack.insert("Type".into(), json!("AWS::CloudFormation::Stack"));
        if !depends.is_empty() {
            stack.insert("DependsOn".into(), json!(depends));
        }
        let mut props = Map::new();
        props.insert("TemplateURL".into(), json!({"Fn::Sub": url}));
        if !passed.is_empty() {
            props.insert("Parameters".into(), Value::Object(passed));
        }
        stack.insert("Properties".into(), Value::Object(props));
        stacks.insert(stack_id(b), Value::Object(stack));
    }
    kept.extend(stacks);
    // Conditions only moved resources used would be unused in the parent.
    let mut used = BTreeSet::new();
    for v in kept.values().chain(kept_outputs.values()) {
        conditions_in(v, &mut used);
    }
    close_conditions(&mut used, &conditions);
    conditions.retain(|c, _| used.contains(c));
    crate::back::cfn::definitions_location(
        &mut parameters,
        "statemachines/ and stacks/ (the nested stacks' templates)",
        "statemachines/ and stacks/ were",
    );
    for (name, section) in [
        ("Parameters", parameters),
        ("Conditions", conditions),
        ("Resources", kept),
        ("Outputs", kept_outputs),
    ] {
        if section.is_empty() && name != "Resources" {
            t.shift_remove(name);
        } else {
            t.insert(name.into(), Value::Object(section));
        }
    }
    Ok(files)
}

/// The resources and outputs of one child stack, before its references are settled.
#[derive(Default)]
struct Child {
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

impl Child {
    /// The child template; its resources' `DependsOn` on parent resources become the
    /// stack resource's.
    fn finish(
        mut self,
        bucket: &str,
        parameters: &Map<String, Value>,
        conditions: &Map<String, Value>,
        resources: &Map<String, Value>,
    ) -> Finished {
        let local: BTreeSet<String> = self.resources.keys().cloned().collect();
        let scope = Scope {
            local: &local,
            parameters,
            resources,
        };
        let mut wanted: BTreeMap<String, Passed> = BTreeMap::new();
        let mut used_conditions = BTreeSet::new();
        let mut depends = BTreeSet::new();
        for r in self.resources.values_mut() {
            if let Some(obj) = r.as_object_mut() {
                if let Some(d) = obj.shift_remove("DependsOn") {
                    let names: Vec<String> = match d {
                        Value::String(s) => vec![s],
                        Value::Array(a) => a
                            .into_iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect(),
                        _ => Vec::new(),
                    };
                    let (out, inside): (Vec<String>, Vec<String>) =
                        names.into_iter().partition(|n| scope.outside(n));
                    // A parent resource under a condition may not exist: its value is
                    // passed conditionally instead.
                    depends.extend(
                        out.into_iter()
                            .filter(|n| condition_of(resources, n).is_none()),
                    );
                    if !inside.is_empty() {
                        obj.insert("DependsOn".into(), json!(inside));
                    }
                }
            }
            rewrite(r, &scope, &mut wanted, &mut used_conditions);
        }
        for o in self.outputs.values_mut() {
            rewrite(o, &scope, &mut wanted, &mut used_conditions);
        }
        // Conditions the moved resources use come along (in the parent's order), with
        // what they refer to.
        close_conditions(&mut used_conditions, conditions);
        let mut child_conditions = Map::new();
        for (c, def) in conditions
            .iter()
            .filter(|(c, _)| used_conditions.contains(*c))
        {
            let mut def = def.clone();
            rewrite(&mut def, &scope, &mut wanted, &mut BTreeSet::new());
            child_conditions.insert(c.clone(), def);
        }
        let mut child_params = Map::new();
        let mut passed = Map::new();
        for (name, p) in wanted {
            let mut declared = json!({"Type": "String"});
            let value = match &p {
                Passed::Parameter => {
                    let def = parameters.get(&name);
                    let ty = def
                        .and_then(|d| d.get("Type"))
                        .and_then(Value::as_str)
                        .unwrap_or("String");
                    let inner = ty
                        .strip_prefix("AWS::SSM::Parameter::Value<")
                        .and_then(|t| t.strip_suffix('>'))
                        .unwrap_or(ty);
                    let list = inner.starts_with("List<") || inner == "CommaDelimitedList";
                    declared["Type"] = json!(match (ty.starts_with("AWS::SSM::"), list) {
                        (true, true) => "CommaDelimitedList",
                        (true, false) => "String",
                        (false, _) => ty,
                    });
                    if let Some(no_echo) = def.and_then(|d| d.get("NoEcho")) {
                        declared["NoEcho"] = no_echo.clone();
                    }
                    declared["Description"] = json!(format!("The parent stack's {name}"));
                    if list {
                        json!({"Fn::Join": [",", {"Ref": name}]})
                    } else {
                        json!({"Ref": name})
                    }
                }
                Passed::Pseudo(pseudo) => {
                    declared["Description"] = json!(format!("{pseudo} of the parent stack"));
                    json!({"Ref": pseudo})
                }
                Passed::Ref(r) | Passed::Attribute(r, _) => {
                    let value = match &p {
                        Passed::Attribute(_, a) => {
                            declared["Description"] =
                                json!(format!("{a} of {r} in the parent stack"));
                            json!({"Fn::GetAtt": [r, a]})
                        }
                        _ => {
                            declared["Description"] =
                                json!(format!("Ref of {r} in the parent stack"));
                            json!({"Ref": r})
                        }
                    };
                    match condition_of(resources, r) {
                        Some(c) => json!({"Fn::If": [c, value, ""]}),
                        None => value,
                    }
                }
            };
            child_params.insert(name.clone(), declared);
            passed.insert(name, value);
        }
        let mut template = Map::new();
        template.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        template.insert(
            "Description".into(),
            json!(format!(
                "jobnet2sfn: nested stack {bucket} of template.yaml (generated; edit the jobnet sources, not this file)"
            )),
        );
        if !child_params.is_empty() {
            template.insert("Parameters".into(), Value::Object(child_params));
        }
        if !child_conditions.is_empty() {
            template.insert("Conditions".into(), Value::Object(child_conditions));
        }
        template.insert("Resources".into(), Value::Object(self.resources));
        if !self.outputs.is_empty() {
            template.insert("Outputs".into(), Value::Object(self.outputs));
        }
        Finished {
            template: Value::Object(template),
            passed,
            depends: depends.into_iter().collect(),
        }
    }
}

/// The condition a parent resource is created under, if any.
fn condition_of<'a>(resources: &'a Map<String, Value>, id: &str) -> Option<&'a str> {
    resources.get(id)?.get("Condition")?.as_str()
}

/// Pseudo parameters whose value differs in a nested stack: a moved resource gets the
/// parent's through a parameter.
const STACK_PSEUDO: [(&str, &str); 2] = [
    ("AWS::StackName", "ParentStackName"),
    ("AWS::StackId", "ParentStackId"),
];

/// What a child's references are resolved against.
struct Scope<'a> {
    /// The child's own resources.
    local: &'a BTreeSet<String>,
    /// The parent's parameters and resources.
    parameters: &'a Map<String, Value>,
    resources: &'a Map<String, Value>,
}

impl Scope<'_> {
    fn outside(&self, name: &str) -> bool {
        !self.local.contains(name)
            && (self.resources.contains_key(name) || self.parameters.contains_key(name))
    }

    /// The child parameter standing for a reference to the parent (`None`: not one),
    /// recorded in `wanted` with how the parent fills it.
    fn want(
        &self,
        target: &str,
        attr: Option<&str>,
        wanted: &mut BTreeMap<String, Passed>,
        bound: &BTreeSet<String>,
    ) -> Option<String> {
        let pseudo = STACK_PSEUDO
            .iter()
            .find(|(p, _)| *p == target && attr.is_none());
        if pseudo.is_none() && !self.outside(target) {
            return None;
        }
        let (base, passed) = match (pseudo, attr) {
            (Some((p, name)), _) => (name.to_string(), Passed::Pseudo(p.to_string())),
            (None, None) if self.resources.contains_key(target) => {
                (target.to_string(), Passed::Ref(target.to_string()))
            }
            (None, None) => (target.to_string(), Passed::Parameter),
            (None, Some(a)) => (
                format!(
                    "{target}{}",
                    a.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                ),
                Passed::Attribute(target.to_string(), a.to_string()),
            ),
        };
        // A new parameter must not take a name already meaning something else.
        let renamable = matches!(passed, Passed::Attribute(..) | Passed::Pseudo(_));
        let mut name = base.clone();
        let mut n = 1;
        loop {
            // Within an `Fn::Sub`, its own variables are taken too.
            let taken = renamable && bound.contains(&name)
                || match wanted.get(&name) {
                    Some(p) => *p != passed,
                    None => {
                        renamable
                            && (self.local.contains(&name)
                                || self.parameters.contains_key(&name)
                                || self.resources.contains_key(&name))
                    }
                };
            if !taken {
                break;
            }
            n += 1;
            name = format!("{base}{n}");
        }
        wanted.insert(name.clone(), passed);
        Some(name)
    }
}

/// A child template, the parameters the parent passes it, and the parent resources the
/// stack resource depends on.
struct Finished {
    template: Value,
    passed: Map<String, Value>,
    depends: Vec<String>,
}

/// How the parent fills one of a child's parameters.
#[derive(Debug, PartialEq)]
enum Passed {
    /// The parent's parameter of the same name.
    Parameter,
    /// `Ref` of a parent resource.
    Ref(String),
    /// `Fn::GetAtt` of a parent resource.
    Attribute(String, String),
    /// A pseudo parameter of the parent stack (`AWS::StackName`).
    Pseudo(String),
}

/// Rewrites, in a moved value, every reference to the parent into a reference to a child
/// parameter, recording in `wanted` how the parent fills it; collects the conditions the
/// value uses.
fn rewrite(
    v: &mut Value,
    scope: &Scope,
    wanted: &mut BTreeMap<String, Passed>,
    conditions: &mut BTreeSet<String>,
) {
    let mut replacement = None;
    match v {
        Value::Object(obj) if obj.len() == 1 => {
            let key = obj.keys().next().cloned().unwrap_or_default();
            let Some(inner) = obj.get_mut(&key) else {
                return;
            };
            match (key.as_str(), &*inner) {
                ("Ref", Value::String(t)) => {
                    replacement = scope
                        .want(t, None, wanted, &BTreeSet::new())
                        .filter(|p| p != t)
                        .map(|p| json!({"Ref": p}));
                }
                ("Fn::GetAtt", _) => {
                    let pair = match &*inner {
                        Value::Array(a) if a.len() == 2 => a[0].as_str().zip(a[1].as_str()),
                        Value::String(s) => s.split_once('.'),
                        _ => None,
                    };
                    if let Some((t, a)) = pair {
                        replacement = scope
                            .want(t, Some(a), wanted, &BTreeSet::new())
                            .map(|p| json!({"Ref": p}));
                    } else {
                        rewrite(inner, scope, wanted, conditions);
                    }
                }
                ("Fn::Sub", _) => {
                    let (text, vars) = match inner {
                        Value::String(s) => (Some(s), None),
                        Value::Array(a) => match a.as_mut_slice() {
                            [Value::String(s), vars] => (Some(s), Some(vars)),
                            _ => (None, None),
                        },
                        _ => (None, None),
                    };
                    let bound: BTreeSet<String> = vars
                        .as_ref()
                        .and_then(|m| m.as_object())
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    if let Some(text) = text {
                        if let Some(new) =
                            rewrite_sub(text, &bound, &mut |t, a| scope.want(t, a, wanted, &bound))
                        {
                            *text = new;
                        }
                    }
                    if let Some(vars) = vars {
                        rewrite(vars, scope, wanted, conditions);
                    }
                }
                ("Condition", Value::String(c)) => {
                    conditions.insert(c.clone());
                }
                _ => {
                    if let Some(c) = inner
                        .get(0)
                        .and_then(Value::as_str)
                        .filter(|_| key == "Fn::If")
                    {
                        conditions.insert(c.to_string());
                    }
                    rewrite(inner, scope, wanted, conditions);
                }
            }
        }
        Value::Object(obj) => {
            for (k, x) in obj.iter_mut() {
                match (k.as_str(), &*x) {
                    ("Condition", Value::String(c)) => {
                        conditions.insert(c.clone());
                    }
                    _ => rewrite(x, scope, wanted, conditions),
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                rewrite(x, scope, wanted, conditions);
            }
        }
        _ => {}
    }
    if let Some(r) = replacement {
        *v = r;
    }
}

/// An `Fn::Sub` text with each `${Name}` / `${Name.Attr}` that `want` maps to a child
/// parameter replaced by `${Parameter}` (variables `bound` by the `Fn::Sub` and `${!…}`
/// literals are left alone); `None` when nothing changes.
fn rewrite_sub(
    text: &str,
    bound: &BTreeSet<String>,
    want: &mut dyn FnMut(&str, Option<&str>) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    let mut changed = false;
    let mut copied = 0;
    for (range, name) in sub_refs(text) {
        if bound.contains(name) {
            continue;
        }
        let replaced = match name.split_once('.') {
            Some((t, a)) => want(t, Some(a)),
            None => want(name, None),
        };
        if let Some(r) = replaced.filter(|r| r != name) {
            out.push_str(&text[copied..range.start]);
            out.push_str("${");
            out.push_str(&r);
            out.push('}');
            copied = range.end;
            changed = true;
        }
    }
    out.push_str(&text[copied..]);
    changed.then_some(out)
}

/// What [`scan`] found in a value: the resources it refers to, and whether it reads an
/// attribute whose name is only known at deploy time.
#[derive(Default)]
struct Scanned<'a> {
    targets: BTreeSet<&'a str>,
    dynamic: bool,
}

/// About the bytes `v` takes as block YAML at `indent`, erring high (quoted keys and
/// strings, one entry per line; writing the YAML to measure it would double the work on
/// the templates that need nesting), recording in `out` what it refers to (`Ref`,
/// `Fn::GetAtt`, `Fn::Sub`, `DependsOn`).
fn scan<'a>(
    v: &Value,
    indent: usize,
    resources: &'a Map<String, Value>,
    out: &mut Scanned<'a>,
) -> usize {
    let add = |name: &str, out: &mut Scanned<'a>| {
        if let Some((k, _)) = resources.get_key_value(name) {
            out.targets.insert(k.as_str());
        }
    };
    match v {
        Value::Object(obj) => {
            for (k, x) in obj {
                match (k.as_str(), x) {
                    ("Ref" | "DependsOn", Value::String(t)) => add(t, out),
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(t) = a.first().and_then(Value::as_str) {
                            add(t, out);
                            out.dynamic |= !a.get(1).is_some_and(Value::is_string);
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => add(s.split('.').next().unwrap_or(""), out),
                    ("DependsOn", Value::Array(a)) => {
                        a.iter().filter_map(Value::as_str).for_each(|t| add(t, out))
                    }
                    ("Fn::Sub", Value::String(s)) => sub_names(s).for_each(|t| add(t, out)),
                    ("Fn::Sub", Value::Array(a)) => a
                        .first()
                        .and_then(Value::as_str)
                        .into_iter()
                        .flat_map(sub_names)
                        .for_each(|t| add(t, out)),
                    _ => {}
                }
            }
            let entries: usize = obj
                .iter()
                .map(|(k, x)| indent + k.len() + 5 + scan(x, indent + 2, resources, out))
                .sum();
            entries + 3
        }
        Value::Array(a) => {
            a.iter()
                .map(|x| indent + 3 + scan(x, indent + 2, resources, out))
                .sum::<usize>()
                + 3
        }
        Value::String(s) => {
            s.len()
                + 2
                + 5 * s
                    .bytes()
                    .filter(|b| matches!(b, b'"' | b'\\' | 0..=0x1f))
                    .count()
        }
        Value::Number(_) => 24,
        _ => 5,
    }
}

/// The `${Name}` and `${Name.Attr}` of an `Fn::Sub` text: where each is (from `$` to
/// `}`) and what it names. `${!…}` literals are not references.
fn sub_refs(s: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let start = at + s[at..].find("${")?;
        let end = start + 2 + s[start + 2..].find('}')?;
        at = end + 1;
        let name = &s[start + 2..end];
        if !name.starts_with('!') {
            return Some((start..end + 1, name));
        }
    })
}

/// The resources (or parameters) the `${…}` of an `Fn::Sub` text name.
fn sub_names(s: &str) -> impl Iterator<Item = &str> {
    sub_refs(s).map(|(_, name)| name.split('.').next().unwrap_or(name))
}

/// The conditions a value uses (`Condition` attributes and references, `Fn::If`).
fn conditions_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(obj) => {
            for (k, x) in obj {
                match (k.as_str(), x) {
                    ("Condition", Value::String(c)) => {
                        out.insert(c.clone());
                    }
                    ("Fn::If", Value::Array(a)) => {
                        if let Some(c) = a.first().and_then(Value::as_str) {
                            out.insert(c.to_string());
                        }
                        a.iter().skip(1).for_each(|x| conditions_in(x, out));
                    }
                    _ => conditions_in(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| conditions_in(x, out)),
        _ => {}
    }
}

/// Adds to `used` the conditions the used conditions refer to.
fn close_conditions(used: &mut BTreeSet<String>, conditions: &Map<String, Value>) {
    let mut todo: Vec<String> = used.iter().cloned().collect();
    while let Some(c) = todo.pop() {
        let mut more = BTreeSet::new();
        if let Some(def) = conditions.get(&c) {
            conditions_in(def, &mut more);
        }
        for m in more {
            if used.insert(m.clone()) {
                todo.push(m);
            }
        }
    }
}

/// Adds to `stay` everything a staying resource refers to.
fn close_over<'a>(stay: &mut BTreeSet<&'a str>, refers: &BTreeMap<&'a str, BTreeSet<&'a str>>) {
    let mut todo: Vec<&str> = stay.iter().copied().collect();
    while let Some(id) = todo.pop() {
        for t in refers.get(id).into_iter().flatten() {
            if stay.insert(t) {
                todo.push(t);
            }
        }
    }
}

/// The finaliser of MurmurHash3: spreads FNV-1a's bits, whose leading bits name buckets.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// FNV-1a: a fixed hash, so placement is the same on every machine and every run.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(resources: usize, outputs: usize) -> Limits {
        Limits {
            resources,
            outputs,
            bytes: 1_000_000,
        }
    }

    /// Nests `t` (which must succeed) and [`check`]s the result.
    fn nest_checked(t: Template, limits: &Limits) -> (Nested, BTreeMap<String, String>) {
        let original = t.value.clone();
        let nested = nest(t, limits).expect("nested");
        let placed = check(&original, &nested, limits);
        (nested, placed)
    }

    /// A template of shared resources (a table, a topic), and `jobnets` jobnets of
    /// `machines` machines each, sharing one role and log group per jobnet, with an ARN
    /// output per machine.
    fn template(jobnets: usize, machines: usize) -> Template {
        let mut resources = Map::new();
        let mut outputs = Map::new();
        let mut families = BTreeMap::new();
        resources.insert("RunTable".into(), json!({"Type": "AWS::DynamoDB::Table"}));
        resources.insert("AlertTopic".into(), json!({"Type": "AWS::SNS::Topic"}));
        for j in 0..jobnets {
            let net = format!("Net{j}");
            let mut add = |id: String, r: Value, resources: &mut Map<String, Value>| {
                families.insert(
                    id.clone(),
                    Origin {
                        jobnet: net.clone(),
                        unit: id.clone(),
                    },
                );
                resources.insert(id, r);
            };
            add(
                format!("{net}Role"),
                json!({"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"Resource": {"Fn::Sub": ["${T}", {"T": {"Fn::GetAtt": ["RunTable", "Arn"]}}]}}]}}),
                &mut resources,
            );
            add(
                format!("{net}LogGroup"),
                json!({"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": {"Ref": "LogRetentionDays"}}}),
                &mut resources,
            );
            add(
                format!("{net}Forward"),
                json!({"Type": "AWS::Logs::SubscriptionFilter", "Properties": {
                    "LogGroupName": {"Ref": format!("{net}LogGroup")},
                    "RoleArn": {"Fn::If": ["HasRole", {"Ref": "ForwardRole"}, {"Ref": "AWS::NoValue"}]}}}),
                &mut resources,
            );
            for m in 0..machines {
                let id = format!("{net}M{m}StateMachine");
                add(
                    id.clone(),
                    json!({"Type": "AWS::StepFunctions::StateMachine", "DependsOn": "RunTable", "Properties": {
                        "RoleArn": {"Fn::GetAtt": format!("{net}Role.Arn")},
                        "Key": {"Fn::Sub": "${Prefix}statemachines/${AWS::Region}/${!Literal}"},
                        "Log": {"Fn::Sub": format!("${{{net}LogGroup.Arn}}")},
                        "Subs": {"Topic": {"Ref": "AlertTopic"}, "Table": {"Ref": "RunTable"}}}}),
                    &mut resources,
                );
                outputs.insert(format!("{id}Arn"), json!({"Value": {"Ref": id}}));
            }
        }
        Template {
            value: json!({
                "AWSTemplateFormatVersion": "2010-09-09",
                "Parameters": {
                    "LogRetentionDays": {"Type": "Number"},
                    "Prefix": {"Type": "String"},
                    "ForwardRole": {"Type": "String"},
                    "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>"},
                    "Unused": {"Type": "String"},
                },
                "Conditions": {
                    "HasRole": {"Fn::Not": [{"Condition": "NoRole"}]},
                    "NoRole": {"Fn::Equals": [{"Ref": "ForwardRole"}, ""]},
                },
                "Resources": resources,
                "Outputs": outputs,
            }),
            origins: families,
        }
    }

    /// Every name a value refers to, with what a `Ref` or `${}` resolves in `scope`.
    fn unresolved(v: &Value, scope: &BTreeSet<String>) -> Vec<String> {
        let mut missing = Vec::new();
        let mut check = |name: &str| {
            if !name.starts_with("AWS::") && !scope.contains(name) {
                missing.push(name.to_string());
            }
        };
        fn walk(v: &Value, check: &mut dyn FnMut(&str)) {
            match v {
                Value::Object(o) => {
                    for (k, x) in o {
                        match (k.as_str(), x) {
                            ("Ref", Value::String(t)) => check(t),
                            ("Fn::GetAtt", Value::Array(a)) => check(a[0].as_str().unwrap()),
                            ("Fn::GetAtt", Value::String(s)) => check(s.split('.').next().unwrap()),
                            ("DependsOn", Value::String(t)) => check(t),
                            ("Fn::Sub", Value::String(s)) => sub_names(s).for_each(&mut *check),
                            _ => walk(x, check),
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, check)),
                _ => {}
            }
        }
        walk(v, &mut check);
        missing
    }

    fn keys(v: &Value, section: &str) -> BTreeSet<String> {
        v.get(section)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every resource and output is in exactly one stack, every stack is within the
    /// limits, every reference resolves in its own stack, and every child parameter is
    /// passed by the parent. Returns the stack of each resource.
    fn check(original: &Value, nested: &Nested, limits: &Limits) -> BTreeMap<String, String> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut outputs = BTreeSet::new();
        let parent = &nested.parent;
        let parent_resources = keys(parent, "Resources");
        let parent_scope: BTreeSet<String> = parent_resources
            .union(&keys(parent, "Parameters"))
            .cloned()
            .collect();
        assert!(parent_resources.len() <= limits.resources);
        assert_eq!(
            unresolved(&parent["Resources"], &parent_scope),
            Vec::<String>::new()
        );
        assert_eq!(
            unresolved(&parent["Outputs"], &parent_scope),
            Vec::<String>::new()
        );
        for (id, r) in parent["Resources"].as_object().unwrap() {
            if r["Type"] != "AWS::CloudFormation::Stack" {
                seen.insert(id.clone(), "parent".into());
            }
        }
        outputs.extend(keys(parent, "Outputs"));
        for (file, child) in &nested.children {
            let stack = format!(
                "NestedStack{}",
                file.trim_start_matches("stacks/stack-")
                    .trim_end_matches(".yaml")
            );
            let resource = &parent["Resources"][&stack];
            assert_eq!(resource["Type"], "AWS::CloudFormation::Stack", "{stack}");
            assert!(resource["Properties"]["TemplateURL"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .ends_with(file.as_str()));
            let child_resources = keys(child, "Resources");
            assert!(child_resources.len() <= limits.resources, "{file}");
            assert!(keys(child, "Outputs").len() <= limits.outputs, "{file}");
            assert!(
                crate::back::yaml::to_yaml(child).len() <= limits.bytes,
                "{file}"
            );
            let params = keys(child, "Parameters");
            let passed: BTreeSet<String> = resource["Properties"]["Parameters"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            assert_eq!(params, passed, "{file}: parameters declared and passed");
            let scope: BTreeSet<String> = child_resources.union(&params).cloned().collect();
            for section in ["Resources", "Outputs", "Conditions"] {
                if let Some(v) = child.get(section) {
                    assert_eq!(
                        unresolved(v, &scope),
                        Vec::<String>::new(),
                        "{file} {section}"
                    );
                }
            }
            let mut used = BTreeSet::new();
            conditions_in(&child["Resources"], &mut used);
            for c in used {
                assert!(
                    child["Conditions"].get(&c).is_some(),
                    "{file}: condition {c}"
                );
            }
            for id in child_resources {
                assert!(
                    seen.insert(id.clone(), file.clone()).is_none(),
                    "{id} twice"
                );
            }
            for o in keys(child, "Outputs") {
                assert!(outputs.insert(o.clone()), "output {o} twice");
            }
        }
        assert_eq!(
            seen.keys().cloned().collect::<BTreeSet<_>>(),
            keys(original, "Resources")
        );
        assert_eq!(outputs, keys(original, "Outputs"));
        seen
    }

    #[test]
    fn a_template_within_the_limits_is_left_whole() {
        let t = template(3, 2);
        let original = t.value.clone();
        let nested = nest(t, &Limits::default()).expect("nested");
        assert!(nested.children.is_empty());
        assert_eq!(nested.parent, original);
    }

    #[test]
    fn many_jobnets_move_whole_into_children() {
        let limits = limits(40, 20);
        let t = template(60, 2);
        let (nested, placed) = nest_checked(t, &limits);
        assert!(nested.children.len() > 1);
        for j in 0..60 {
            let stack = &placed[&format!("Net{j}Role")];
            assert_ne!(stack, "parent");
            for id in [format!("Net{j}LogGroup"), format!("Net{j}M1StateMachine")] {
                assert_eq!(&placed[&id], stack, "{id} with its jobnet");
            }
        }
        assert_eq!(placed["RunTable"], "parent");
        // The parent passes what the children refer to.
        let (file, child) = &nested.children[0];
        assert_eq!(
            child["Parameters"]["RunTableArn"]["Type"], "String",
            "{file}"
        );
        assert_eq!(child["Parameters"]["LogRetentionDays"]["Type"], "Number");
        assert!(child["Parameters"].get("Unused").is_none());
        assert!(child["Conditions"]["HasRole"].is_object());
        assert!(
            child["Conditions"]["NoRole"].is_object(),
            "conditions a condition uses"
        );
        // Only the moved resources used the condition.
        assert!(nested.parent.get("Conditions").is_none());
        // DependsOn on a parent resource becomes the stack's.
        let stack = file
            .trim_start_matches("stacks/stack-")
            .trim_end_matches(".yaml");
        assert_eq!(
            nested.parent["Resources"][format!("NestedStack{stack}")]["DependsOn"],
            json!(["RunTable"])
        );
    }

    #[test]
    fn a_jobnet_too_large_for_one_child_keeps_its_role_and_log_group_in_the_parent() {
        let limits = limits(30, 200);
        let t = template(1, 100);
        let (nested, placed) = nest_checked(t, &limits);
        assert_eq!(placed["Net0Role"], "parent");
        assert_eq!(placed["Net0LogGroup"], "parent");
        let (_, child) = &nested.children[0];
        let m = child["Resources"]
            .as_object()
            .unwrap()
            .values()
            .find(|r| r["Type"] == "AWS::StepFunctions::StateMachine")
            .expect("a machine");
        assert_eq!(m["Properties"]["RoleArn"], json!({"Ref": "Net0RoleArn"}));
        assert_eq!(
            m["Properties"]["Log"],
            json!({"Fn::Sub": "${Net0LogGroupArn}"})
        );
        assert_eq!(
            m["Properties"]["Key"],
            json!({"Fn::Sub": "${Prefix}statemachines/${AWS::Region}/${!Literal}"})
        );
    }

    /// The stacks that resources placed in both `before` and `after` left.
    fn moved_out_of<'a>(
        before: &'a BTreeMap<String, String>,
        after: &BTreeMap<String, String>,
    ) -> BTreeSet<&'a String> {
        before
            .iter()
            .filter(|(id, stack)| after.get(*id).is_some_and(|s| s != *stack))
            .map(|(_, stack)| stack)
            .collect()
    }

    #[test]
    fn adding_or_removing_a_jobnet_moves_at_most_one_stack_s_resources() {
        let limits = limits(60, 30);
        let placed = |n: usize| {
            let t = template(n, 2);
            let original = t.value.clone();
            check(&original, &nest(t, &limits).expect("nested"), &limits)
        };
        let mut before = placed(20);
        let mut stacks_seen = BTreeSet::new();
        for n in 21..=120 {
            let after = placed(n);
            stacks_seen.insert(after.values().cloned().collect::<BTreeSet<_>>().len());
            // Resources of earlier jobnets that changed stack all came from one stack.
            assert!(
                before.keys().all(|id| after.contains_key(id)),
                "adding jobnet {n} lost resources"
            );
            let from = moved_out_of(&before, &after);
            assert!(
                from.len() <= 1,
                "adding jobnet {n} moved resources out of {from:?}"
            );
            before = after;
        }
        assert!(
            stacks_seen.len() > 3,
            "the number of stacks grew: {stacks_seen:?}"
        );
        // Removing is adding backwards.
        for n in (21..120).rev() {
            let after = placed(n);
            let from = moved_out_of(&before, &after);
            assert!(
                from.len() <= 2,
                "removing jobnet {n} moved resources out of {from:?}"
            );
            before = after;
        }
    }

    #[test]
    fn a_jobnet_with_too_many_outputs_for_one_child_is_spread() {
        let limits = limits(500, 100);
        let t = template(1, 150);
        let (_, placed) = nest_checked(t, &limits);
        assert_eq!(placed["Net0Role"], "parent");
    }

    /// Shapes user resource templates can write: a condition object inside a property, an
    /// attribute named by a parameter, the stack's own name, a parent resource under a
    /// condition.
    #[test]
    fn odd_references_in_user_resources_are_kept_valid() {
        let limits = limits(30, 200);
        let mut t = template(1, 100);
        let r = &mut t.value["Resources"];
        r["Gated"] = json!({"Type": "AWS::SNS::Topic", "Condition": "HasRole"});
        r["Net0M1StateMachine"]["Properties"]["Policy"] =
            json!({"Condition": {"StringEquals": {"k": {"Ref": "RunTable"}}}});
        r["Net0M2StateMachine"]["Properties"]["Dynamic"] =
            json!({"Fn::GetAtt": ["RunTable", {"Ref": "Prefix"}]});
        r["Net0M3StateMachine"]["Properties"]["Name"] = json!({"Fn::Sub": "${AWS::StackName}-x"});
        r["Net0M3StateMachine"]["Properties"]["Also"] = json!({"Ref": "AWS::StackId"});
        r["Net0M4StateMachine"]["Properties"]["Topic"] =
            json!({"Fn::If": ["HasRole", {"Ref": "Gated"}, {"Ref": "AWS::NoValue"}]});
        r["Net0M4StateMachine"]["DependsOn"] = json!(["RunTable", "Gated"]);
        let (nested, placed) = nest_checked(t, &limits);
        assert_eq!(
            placed["Net0M2StateMachine"], "parent",
            "a deploy-time attribute stays"
        );
        let child_of = |id: &str| {
            let file = &placed[id];
            let (_, c) = nested
                .children
                .iter()
                .find(|(f, _)| f == file)
                .expect("child");
            let stack = file
                .trim_start_matches("stacks/stack-")
                .trim_end_matches(".yaml");
            (
                c,
                &nested.parent["Resources"][format!("NestedStack{stack}")],
            )
        };
        let (c, _) = child_of("Net0M1StateMachine");
        assert_eq!(
            c["Resources"]["Net0M1StateMachine"]["Properties"]["Policy"]["Condition"]
                ["StringEquals"]["k"],
            json!({"Ref": "RunTable"})
        );
        assert!(c["Parameters"].get("RunTable").is_some());
        let (c, stack) = child_of("Net0M3StateMachine");
        let props = &c["Resources"]["Net0M3StateMachine"]["Properties"];
        assert_eq!(props["Name"]["Fn::Sub"], "${ParentStackName}-x");
        assert_eq!(props["Also"], json!({"Ref": "ParentStackId"}));
        assert_eq!(
            stack["Properties"]["Parameters"]["ParentStackName"],
            json!({"Ref": "AWS::StackName"})
        );
        let (_, stack) = child_of("Net0M4StateMachine");
        assert_eq!(
            stack["Properties"]["Parameters"]["Gated"],
            json!({"Fn::If": ["HasRole", {"Ref": "Gated"}, ""]})
        );
        assert_eq!(
            stack["DependsOn"],
            json!(["RunTable"]),
            "not on a conditional resource"
        );
    }

    /// The size estimate errs high against the YAML really written, on every example's
    /// template (the stack byte limit relies on it).
    #[test]
    fn the_size_estimate_is_never_below_the_written_yaml() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let templates = crate::back::templates::TemplateSet::load(None).expect("built-in");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("examples") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            let (project, mut diags) = crate::driver::project_of(&text);
            let opts = crate::driver::CompileOptions::default();
            let Some(c) = crate::driver::compile(&project, &opts, &mut diags) else {
                continue;
            };
            let t =
                crate::back::cfn::template(&c.outputs, &opts.cfn, &templates).expect("template");
            let resources = t.value["Resources"].as_object().expect("resources");
            for (id, r) in resources {
                let mut one = Map::new();
                one.insert(id.clone(), r.clone());
                let written = crate::back::yaml::to_yaml(&Value::Object(one)).len();
                let estimate = id.len() + 6 + scan(r, 4, resources, &mut Scanned::default());
                assert!(estimate >= written, "{id}: estimate {estimate} < {written}");
                checked += 1;
            }
            let whole = scan(&t.value, 0, resources, &mut Scanned::default());
            assert!(whole >= crate::back::yaml::to_yaml(&t.value).len());
        }
        assert!(checked > 20);
    }

    /// Cases a second review found: an output reading a deploy-time attribute, a new
    /// parameter meeting an `Fn::Sub` variable, outputs that also name the parent.
    #[test]
    fn second_review_cases() {
        let mut t = template(1, 100);
        let outs = t.value["Outputs"].as_object_mut().unwrap();
        outs.insert(
            "Dynamic".into(),
            json!({"Value": {"Fn::Join": ["", [{"Ref": "Net0M0StateMachine"}, {"Fn::GetAtt": ["RunTable", {"Ref": "Prefix"}]}]]}}),
        );
        t.value["Resources"]["Net0M1StateMachine"]["Properties"]["Both"] =
            json!({"Fn::Sub": ["${Net0Role.Arn}/${Net0RoleArn}", {"Net0RoleArn": "literal"}]});
        let (nested, placed) = nest_checked(t, &limits(30, 200));
        assert_eq!(
            placed["Net0M0StateMachine"], "parent",
            "named by a dynamic output"
        );
        assert!(nested.parent["Outputs"].get("Dynamic").is_some());
        let (_, child) = nested
            .children
            .iter()
            .find(|(f, _)| *f == placed["Net0M1StateMachine"])
            .expect("moved");
        assert_eq!(
            child["Resources"]["Net0M1StateMachine"]["Properties"]["Both"],
            json!({"Fn::Sub": ["${Net0RoleArn2}/${Net0RoleArn}", {"Net0RoleArn": "literal"}]})
        );
        // Each machine's output also names a shared resource: still counted with the
        // jobnet, which is then spread instead of refused.
        let mut t = template(1, 15);
        for (id, o) in t.value["Outputs"].as_object_mut().unwrap() {
            let machine = id.trim_end_matches("Arn").to_string();
            *o = json!({"Value": {"Fn::Sub": format!("${{RunTable}}-${{{machine}}}")}});
        }
        nest_checked(t, &limits(100, 10));
    }

    #[test]
    fn list_parameters_are_passed_joined() {
        let mut t = template(1, 100);
        t.value["Resources"]["Net0M0StateMachine"]["Properties"]["Subnets"] =
            json!({"Ref": "Subnets"});
        let limits = limits(30, 200);
        let nested = nest(t, &limits).expect("nested");
        let (file, child) = nested
            .children
            .iter()
            .find(|(_, c)| c["Resources"].get("Net0M0StateMachine").is_some())
            .expect("moved");
        assert_eq!(
            child["Parameters"]["Subnets"]["Type"],
            "List<AWS::EC2::Subnet::Id>"
        );
        let stack = file
            .trim_start_matches("stacks/stack-")
            .trim_end_matches(".yaml");
        assert_eq!(
            nested.parent["Resources"][format!("NestedStack{stack}")]["Properties"]["Parameters"]
                ["Subnets"],
            json!({"Fn::Join": [",", {"Ref": "Subnets"}]})
        );
    }

    #[test]
    fn a_parameter_named_deep_in_a_property_is_passed() {
        // As an event wait's rule names a legacy path's bucket inside its event pattern.
        let mut t = template(1, 100);
        t.value["Parameters"]["LegacyFileBucket"] = json!({"Type": "String"});
        t.value["Resources"]["Net0M0StateMachine"]["Properties"]["EventPattern"] =
            json!({"detail": {"bucket": {"name": [{"Ref": "LegacyFileBucket"}]}}});
        let (nested, _) = nest_checked(t, &limits(30, 200));
        let (file, child) = nested
            .children
            .iter()
            .find(|(_, c)| c["Resources"].get("Net0M0StateMachine").is_some())
            .expect("moved");
        assert_eq!(child["Parameters"]["LegacyFileBucket"]["Type"], "String");
        let stack = file
            .trim_start_matches("stacks/stack-")
            .trim_end_matches(".yaml");
        assert_eq!(
            nested.parent["Resources"][format!("NestedStack{stack}")]["Properties"]["Parameters"]
                ["LegacyFileBucket"],
            json!({"Ref": "LegacyFileBucket"})
        );
    }

    #[test]
    fn an_attribute_parameter_does_not_take_a_name_in_use() {
        let mut t = template(1, 100);
        t.value["Parameters"]["Net0RoleArn"] = json!({"Type": "String"});
        t.value["Resources"]["Net0M0StateMachine"]["Properties"]["Other"] =
            json!({"Ref": "Net0RoleArn"});
        let limits = limits(30, 200);
        let original = t.value.clone();
        let nested = nest(t, &limits).expect("nested");
        check(&original, &nested, &limits);
        let (_, child) = nested
            .children
            .iter()
            .find(|(_, c)| c["Resources"].get("Net0M0StateMachine").is_some())
            .expect("moved");
        let m = &child["Resources"]["Net0M0StateMachine"]["Properties"];
        assert_eq!(m["Other"], json!({"Ref": "Net0RoleArn"}));
        assert_eq!(m["RoleArn"], json!({"Ref": "Net0RoleArn2"}));
        assert_eq!(m["Log"], json!({"Fn::Sub": "${Net0LogGroupArn}"}));
    }

    #[test]
    fn what_cannot_fit_is_refused_and_the_template_given_back() {
        let limits = limits(5, 200);
        let t = template(20, 3);
        let original = t.value.clone();
        let refused = nest(t, &limits).expect_err("refused");
        assert_eq!(refused.template, original);
        assert!(refused.reason.contains("do not fit"), "{}", refused.reason);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Any mix of jobnet sizes under any limits: either every stack is within the
        /// limits with every reference resolved, or the template comes back whole.
        #[test]
        fn nesting_keeps_every_resource_and_reference(
            sizes in proptest::collection::vec(1usize..40, 1..20),
            resources in 12usize..200,
            outputs in 4usize..60,
        ) {
            // Vary the jobnets' sizes: drop machines beyond each one's size.
            let mut t = template(sizes.len(), 40);
            for (j, n) in sizes.iter().enumerate() {
                for m in *n..40 {
                    let id = format!("Net{j}M{m}StateMachine");
                    t.value["Resources"].as_object_mut().unwrap().shift_remove(&id);
                    t.value["Outputs"].as_object_mut().unwrap().shift_remove(&format!("{id}Arn"));
                    t.origins.remove(&id);
                }
            }
            let limits = Limits { resources, outputs, bytes: 1_000_000 };
            let original = t.value.clone();
            match nest(t, &limits) {
                Ok(nested) => {
                    if !nested.children.is_empty() {
                        check(&original, &nested, &limits);
                    } else {
                        proptest::prop_assert_eq!(&nested.parent, &original);
                    }
                }
                Err(refused) => {
                    proptest::prop_assert_eq!(&refused.template, &original);
                    proptest::prop_assert!(refused.reason.contains("do not fit") || refused.reason.contains("nothing can move"), "{}", refused.reason);
                }
            }
        }
    }

    #[test]
    fn sub_texts_are_rewritten_only_where_they_name_the_parent() {
        let bound: BTreeSet<String> = ["Bound".to_string()].into();
        let mut want =
            |t: &str, a: Option<&str>| (t == "Parent").then(|| format!("{t}{}", a.unwrap_or("")));
        assert_eq!(
            rewrite_sub(
                "${Parent.Arn}/${Parent}/${Bound}/${!Parent}/${Local}/${",
                &bound,
                &mut want
            )
            .as_deref(),
            Some("${ParentArn}/${Parent}/${Bound}/${!Parent}/${Local}/${")
        );
        assert_eq!(rewrite_sub("${Parent}/${Local}", &bound, &mut want), None);
    }
}
