//! A discrete-event interpreter for the ASL subset jobnet2sfn generates, independent of
//! the compiler: it only reads the emitted JSON. Jobs (Lambda tasks) take a given time and
//! end normally or fail; everything else takes no time. Parallel branches, child and
//! continuation executions run as concurrent threads ordered by simulated time, so the
//! DynamoDB join counters see arrivals in the order they would happen.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// What a job does when run.
#[derive(Debug, Clone, Copy)]
pub struct JobBehaviour {
    pub duration: u64,
    pub fails: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub unit: String,
    pub start: u64,
    pub end: u64,
    pub failed: bool,
}

#[derive(Debug)]
pub struct Outcome {
    pub succeeded: bool,
    /// SNS alerts published.
    pub alerts: usize,
    pub runs: Vec<JobRun>,
    pub executions: Vec<String>,
    /// Delay monitors armed (started without waiting) and stopped, in simulated time.
    pub monitors: Vec<MonitorEvent>,
    /// Status of the run record (`run#…` item) at the end, if the machines keep records.
    pub run_status: Option<String>,
}

/// A monitor execution started (`seconds` or `until` its deadline) or stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorEvent {
    pub name: String,
    pub time: u64,
    pub stop: bool,
    pub seconds: Option<u64>,
    pub until: Option<String>,
}

/// Ends of a thread: finished with output, or failed with an error name.
enum End {
    Ok(Value),
    Err(String),
}

struct Thread {
    time: u64,
    machine: usize,
    /// Path to the States map this thread runs in (branch indices from the machine top).
    scope: Vec<(String, usize)>,
    state: String,
    data: Value,
    ctx: Value,
    /// Who waits for this thread: (parent thread, branch slot) or a child-execution waiter.
    parent: Option<(usize, usize)>,
    done: Option<End>,
    /// For a thread blocked in a Parallel or a sync child: results still missing.
    waiting: usize,
    results: Vec<Option<End>>,
}

pub struct Sim<'a> {
    machines: Vec<(String, &'a Value)>,
    jobs: &'a HashMap<String, JobBehaviour>,
    table: HashMap<String, Map<String, Value>>,
    threads: Vec<Thread>,
    runs: Vec<JobRun>,
    executions: Vec<String>,
    alerts: usize,
    monitors: Vec<MonitorEvent>,
    steps: usize,
}

impl<'a> Sim<'a> {
    /// `machines`: name → definition (placeholders `${...Arn}` name machines by the
    /// manifest's substitutions, resolved through `arn_of`).
    pub fn new(
        machines: Vec<(String, &'a Value)>,
        jobs: &'a HashMap<String, JobBehaviour>,
    ) -> Self {
        Sim {
            machines,
            jobs,
            table: HashMap::new(),
            threads: Vec::new(),
            runs: Vec::new(),
            executions: Vec::new(),
            alerts: 0,
            monitors: Vec::new(),
            steps: 0,
        }
    }

    /// Runs machine `root` to its end. `refs` maps `${Placeholder}` to machine names.
    pub fn run(mut self, root: &str, refs: &BTreeMap<String, String>) -> Outcome {
        let m = self.machine_index(root);
        let ctx = json!({"Execution": {"Name": "run-1", "Id": format!("arn:aws:states:ap-northeast-1:123456789012:execution:{root}:run-1"), "Input": {"businessDate": "2027-01-04"}}});
        self.executions.push("run-1".into());
        let start = self.start_at(m, &[]);
        self.threads.push(Thread {
            time: 0,
            machine: m,
            scope: Vec::new(),
            state: start,
            data: json!({"businessDate": "2027-01-04"}),
            ctx,
            parent: None,
            done: None,
            waiting: 0,
            results: Vec::new(),
        });
        while let Some(t) = self.next_runnable() {
            self.step(t, refs);
            self.steps += 1;
            assert!(self.steps < 2_000_000, "simulation does not terminate");
        }
        let succeeded = matches!(self.threads[0].done, Some(End::Ok(_)));
        let run_status = self
            .table
            .iter()
            .find(|(k, _)| k.starts_with("run#"))
            .and_then(|(_, item)| item.get("status").and_then(Value::as_str))
            .map(str::to_string);
        Outcome {
            run_status,
            succeeded,
            alerts: self.alerts,
            runs: self.runs,
            executions: self.executions,
            monitors: self.monitors,
        }
    }

    fn machine_index(&self, name: &str) -> usize {
        self.machines
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no machine {name}"))
    }

    fn states(&self, machine: usize, scope: &[(String, usize)]) -> &'a Map<String, Value> {
        let mut def: &'a Value = self.machines[machine].1;
        for (state, branch) in scope {
            def = &def["States"][state]["Branches"][*branch];
        }
        def["States"].as_object().expect("States")
    }

    fn start_at(&self, machine: usize, scope: &[(String, usize)]) -> String {
        let mut def: &Value = self.machines[machine].1;
        for (state, branch) in scope {
            def = &def["States"][state]["Branches"][*branch];
        }
        def["StartAt"].as_str().expect("StartAt").to_string()
    }

    /// The earliest thread that can make progress (not finished, not waiting).
    fn next_runnable(&self) -> Option<usize> {
        self.threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.done.is_none() && t.waiting == 0)
            .min_by_key(|(i, t)| (t.time, *i))
            .map(|(i, _)| i)
    }

    fn finish(&mut self, t: usize, end: End) {
        self.threads[t].done = Some(match &end {
            End::Ok(v) => End::Ok(v.clone()),
            End::Err(e) => End::Err(e.clone()),
        });
        if let Some((p, slot)) = self.threads[t].parent {
            let time = self.threads[t].time;
            let parent = &mut self.threads[p];
            parent.results[slot] = Some(end);
            parent.waiting -= 1;
            parent.time = parent.time.max(time);
        }
    }

    fn step(&mut self, t: usize, refs: &BTreeMap<String, String>) {
        let (machine, scope, name) = {
            let th = &self.threads[t];
            (th.machine, th.scope.clone(), th.state.clone())
        };
        let states = self.states(machine, &scope);
        let st = states
            .get(&name)
            .unwrap_or_else(|| panic!("transition to missing state {name}"));
        let ty = st["Type"].as_str().expect("Type");
        // A thread resuming after a Parallel or a sync child collects its results first.
        if !self.threads[t].results.is_empty() {
            let results = std::mem::take(&mut self.threads[t].results);
            let outcome = match ty {
                "Parallel" => {
                    let mut arr = Vec::new();
                    let mut err = None;
                    for r in results {
                        match r.expect("all branches ended") {
                            End::Ok(v) => arr.push(v),
                            End::Err(e) => err = Some(e),
                        }
                    }
                    match err {
                        Some(e) => Err(e),
                        None => Ok(Value::Array(arr)),
                    }
                }
                _ => match results.into_iter().next().flatten().expect("child ended") {
                    End::Ok(v) => Ok(json!({"Status": "SUCCEEDED", "Output": v})),
                    End::Err(_) => Err("States.TaskFailed".to_string()),
                },
            };
            self.after_task(t, st, outcome);
            return;
        }
        let input = self.threads[t].data.clone();
        let ctx = self.threads[t].ctx.clone();
        match ty {
            "Pass" => {
                let result = if let Some(p) = st.get("Parameters") {
                    resolve(p, &input, &ctx)
                } else if let Some(r) = st.get("Result") {
                    r.clone()
                } else {
                    input.clone()
                };
                let out = apply_result_path(&input, st.get("ResultPath"), result);
                self.go_next(t, st, out);
            }
            "Succeed" => self.finish(t, End::Ok(input)),
            "Fail" => {
                let e = st
                    .get("Error")
                    .and_then(Value::as_str)
                    .unwrap_or("Failed")
                    .to_string();
                self.finish(t, End::Err(e));
            }
            "Choice" => {
                let next = st["Choices"]
                    .as_array()
                    .expect("Choices")
                    .iter()
                    .find(|r| rule(r, &input, &self.threads[t].ctx))
                    .map(|r| r["Next"].as_str().expect("Next").to_string())
                    .or_else(|| {
                        st.get("Default")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| panic!("Choice {name}: no rule matched and no Default"));
                self.threads[t].state = next;
            }
            "Wait" => {
                // Clock-time waits (TimestampPath) are not timed here: jobs' start times
                // are compared on structure, and generated nets in these tests have none.
                let secs = st.get("Seconds").and_then(Value::as_u64).unwrap_or(0);
                self.threads[t].time += secs;
                self.go_next(t, st, input);
            }
            "Parallel" => {
                let branches = st["Branches"].as_array().expect("Branches").len();
                self.threads[t].waiting = branches;
                self.threads[t].results = (0..branches).map(|_| None).collect();
                for b in 0..branches {
                    let mut sc = scope.clone();
                    sc.push((name.clone(), b));
                    let start = self.start_at(machine, &sc);
                    let th = Thread {
                        time: self.threads[t].time,
                        machine,
                        scope: sc,
                        state: start,
                        data: input.clone(),
                        ctx: ctx.clone(),
                        parent: Some((t, b)),
                        done: None,
                        waiting: 0,
                        results: Vec::new(),
                    };
                    self.threads.push(th);
                }
            }
            "Task" => self.task(t, st, &input, &ctx, refs),
            other => panic!("state type {other} not simulated"),
        }
    }

    fn task(
        &mut self,
        t: usize,
        st: &Value,
        input: &Value,
        ctx: &Value,
        refs: &BTreeMap<String, String>,
    ) {
        let resource = st["Resource"].as_str().expect("Resource");
        let params = st
            .get("Parameters")
            .map(|p| resolve(p, input, ctx))
            .unwrap_or(Value::Null);
        match resource {
            "arn:aws:states:::lambda:invoke" => {
                let unit = params["Payload"]["unit"]
                    .as_str()
                    .expect("payload unit")
                    .to_string();
                let b = *self
                    .jobs
                    .get(&unit)
                    .unwrap_or_else(|| panic!("unknown job {unit}"));
                let start = self.threads[t].time;
                let end = start + b.duration;
                self.runs.push(JobRun {
                    unit,
                    start,
                    end,
                    failed: b.fails,
                });
                self.threads[t].time = end;
                let outcome = if b.fails {
                    Err("Lambda.Unknown".to_string())
                } else {
                    Ok(json!({"Payload": {"rc": 0}}))
                };
                self.after_task(t, st, outcome);
            }
            "arn:aws:states:::sns:publish" => {
                assert!(params["Message"].is_string(), "alert without a message");
                self.alerts += 1;
                self.after_task(t, st, Ok(json!({"MessageId": "m"})));
            }
            "arn:aws:states:::dynamodb:updateItem" => {
                let key = params["Key"]["pk"]["S"].as_str().expect("pk").to_string();
                let expr = params["UpdateExpression"].as_str().unwrap_or("");
                let item = self.table.entry(key).or_default();
                let outcome = if expr.starts_with("ADD arrived") {
                    let n = item.get("arrived").and_then(Value::as_u64).unwrap_or(0) + 1;
                    item.insert("arrived".into(), json!(n));
                    Ok(json!({"Attributes": {"arrived": {"N": n.to_string()}}}))
                } else if expr.starts_with("SET claimedBy") {
                    if item.contains_key("claimedBy") {
                        Err("DynamoDB.ConditionalCheckFailedException".to_string())
                    } else {
                        item.insert("claimedBy".into(), json!(true));
                        Ok(json!({}))
                    }
                } else if expr.starts_with("SET #s = :running") || expr.starts_with("SET #s = :r,")
                {
                    // A run or job record's start (src/back/records.rs).
                    let cond = params["ConditionExpression"].as_str().unwrap_or("");
                    let status = item.get("status").and_then(Value::as_str).unwrap_or("");
                    let released = item.get("released") == Some(&json!(true));
                    let held = item.contains_key("held");
                    let refused = if cond.is_empty() {
                        false
                    } else if cond == "attribute_not_exists(startedAt)" {
                        item.contains_key("startedAt")
                    } else {
                        let hold_ok = if cond.contains("attribute_exists(released)") {
                            released
                        } else {
                            !held || released
                        };
                        status == "ENDED_NORMALLY" || !hold_ok
                    };
                    if refused {
                        Err("DynamoDB.ConditionalCheckFailedException".to_string())
                    } else {
                        item.insert("status".into(), json!("RUNNING"));
                        item.insert("startedAt".into(), json!(true));
                        Ok(json!({}))
                    }
                } else if expr.starts_with("SET #s = :st") {
                    let st = params["ExpressionAttributeValues"][":st"]["S"].clone();
                    item.insert("status".into(), st);
                    Ok(json!({}))
                } else if expr.starts_with("SET lastRefused") {
                    Ok(json!({}))
                } else {
                    panic!("updateItem {expr} not simulated")
                };
                self.after_task(t, st, outcome);
            }
            "arn:aws:states:::dynamodb:getItem" => {
                let key = params["Key"]["pk"]["S"].as_str().expect("pk").to_string();
                let item: Map<String, Value> = self
                    .table
                    .get(&key)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), json!({"S": s}))))
                            .collect()
                    })
                    .unwrap_or_default();
                self.after_task(t, st, Ok(json!({"Item": item})));
            }
            "arn:aws:states:::states:startExecution.sync:2" => {
                let arn = params["StateMachineArn"].as_str().expect("arn");
                let placeholder = arn.trim_start_matches("${").trim_end_matches('}');
                let target = refs
                    .get(placeholder)
                    .unwrap_or_else(|| panic!("no machine for {arn}"))
                    .clone();
                let exec_name = params["Name"].as_str().expect("execution name").to_string();
                assert!(
                    exec_name.len() <= 80,
                    "execution name too long: {exec_name}"
                );
                assert!(
                    !self.executions.contains(&exec_name),
                    "execution name used twice: {exec_name}"
                );
                self.executions.push(exec_name.clone());
                let m = self.machine_index(&target);
                let child_input = params["Input"].clone();
                let start = self.start_at(m, &[]);
                self.threads[t].waiting = 1;
                self.threads[t].results = vec![None];
                let th = Thread {
                    time: self.threads[t].time,
                    machine: m,
                    scope: Vec::new(),
                    state: start,
                    data: child_input.clone(),
                    ctx: json!({"Execution": {"Name": exec_name, "Id": format!("arn:aws:states:ap-northeast-1:123456789012:execution:{target}:{exec_name}"), "Input": child_input}}),
                    parent: Some((t, 0)),
                    done: None,
                    waiting: 0,
                    results: Vec::new(),
                };
                self.threads.push(th);
            }
            "arn:aws:states:::states:startExecution" => {
                let name = params["Name"].as_str().expect("execution name").to_string();
                assert!(name.len() <= 80, "execution name too long: {name}");
                self.monitors.push(MonitorEvent {
                    name,
                    time: self.threads[t].time,
                    stop: false,
                    seconds: params["Input"]["seconds"].as_u64(),
                    until: params["Input"]["until"].as_str().map(str::to_string),
                });
                self.after_task(t, st, Ok(json!({"ExecutionArn": "arn"})));
            }
            "arn:aws:states:::aws-sdk:sfn:stopExecution" => {
                let arn = params["ExecutionArn"].as_str().expect("execution ARN");
                assert!(
                    arn.starts_with("arn:aws:states:ap-northeast-1:123456789012:execution:"),
                    "{arn}"
                );
                let name = arn.rsplit(':').next().expect("name").to_string();
                self.monitors.push(MonitorEvent {
                    name,
                    time: self.threads[t].time,
                    stop: true,
                    seconds: None,
                    until: None,
                });
                self.after_task(t, st, Ok(json!({"StopDate": 0})));
            }
            other => panic!("task resource {other} not simulated"),
        }
    }

    /// Applies ResultSelector/ResultPath or Catch to a task's outcome.
    fn after_task(&mut self, t: usize, st: &Value, outcome: Result<Value, String>) {
        let input = self.threads[t].data.clone();
        let ctx = self.threads[t].ctx.clone();
        match outcome {
            Ok(result) => {
                let result = match st.get("ResultSelector") {
                    Some(sel) => resolve(sel, &result, &ctx),
                    None => result,
                };
                let out = apply_result_path(&input, st.get("ResultPath"), result);
                self.go_next(t, st, out);
            }
            Err(e) => {
                let catcher = st.get("Catch").and_then(Value::as_array).and_then(|cs| {
                    cs.iter().find(|c| {
                        c["ErrorEquals"]
                            .as_array()
                            .expect("ErrorEquals")
                            .iter()
                            .any(|x| {
                                let x = x.as_str().unwrap_or("");
                                x == "States.ALL"
                                    || x == e
                                    || (x == "States.TaskFailed" && !e.starts_with("States."))
                            })
                    })
                });
                match catcher {
                    Some(c) => {
                        let err = json!({"Error": e, "Cause": ""});
                        let out = apply_result_path(&input, c.get("ResultPath"), err);
                        self.threads[t].data = out;
                        self.threads[t].state = c["Next"].as_str().expect("Next").to_string();
                    }
                    None => self.finish(t, End::Err(e)),
                }
            }
        }
    }

    fn go_next(&mut self, t: usize, st: &Value, out: Value) {
        self.threads[t].data = out.clone();
        if st.get("End").and_then(Value::as_bool) == Some(true) {
            self.finish(t, End::Ok(out));
        } else {
            self.threads[t].state = st["Next"].as_str().expect("Next or End").to_string();
        }
    }
}

fn apply_result_path(input: &Value, path: Option<&Value>, result: Value) -> Value {
    match path {
        None => result,
        Some(Value::Null) => input.clone(),
        Some(Value::String(p)) if p == "$" => result,
        Some(Value::String(p)) => {
            let mut out = input.clone();
            let key = p.trim_start_matches("$.");
            if let Value::Object(o) = &mut out {
                o.insert(key.to_string(), result);
            } else {
                out = json!({ key: result });
            }
            out
        }
        Some(other) => panic!("ResultPath {other} not simulated"),
    }
}

/// Evaluates a payload template (`"x.$": path` keys) against `input` and the context.
fn resolve(template: &Value, input: &Value, ctx: &Value) -> Value {
    match template {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if let Some(k) = k.strip_suffix(".$") {
                    out.insert(k.to_string(), eval(v.as_str().expect("path"), input, ctx));
                } else {
                    out.insert(k.clone(), resolve(v, input, ctx));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, input, ctx)).collect()),
        other => other.clone(),
    }
}

fn eval(expr: &str, input: &Value, ctx: &Value) -> Value {
    if expr.starts_with("States.") {
        let mut p = Intrinsic {
            text: expr.as_bytes(),
            at: 0,
        };
        let v = p.call(input, ctx);
        assert_eq!(p.at, expr.len(), "trailing text in {expr}");
        return v;
    }
    path(expr, input, ctx)
}

/// A recursive-descent reader of intrinsic calls (`States.Format('…', $.a, States.X(…))`).
struct Intrinsic<'t> {
    text: &'t [u8],
    at: usize,
}

impl Intrinsic<'_> {
    fn skip_ws(&mut self) {
        while self.text.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn arg(&mut self, input: &Value, ctx: &Value) -> Value {
        self.skip_ws();
        match self.text[self.at] {
            b'\'' => {
                self.at += 1;
                let mut out = Vec::new();
                loop {
                    match self.text[self.at] {
                        b'\\' => {
                            out.push(self.text[self.at + 1]);
                            self.at += 2;
                        }
                        b'\'' => {
                            self.at += 1;
                            break;
                        }
                        c => {
                            out.push(c);
                            self.at += 1;
                        }
                    }
                }
                Value::String(String::from_utf8(out).expect("utf-8"))
            }
            b'$' => {
                let start = self.at;
                while !matches!(self.text.get(self.at), None | Some(b',' | b')' | b' ')) {
                    self.at += 1;
                }
                let p = std::str::from_utf8(&self.text[start..self.at]).expect("utf-8");
                path(p, input, ctx)
            }
            b'S' => self.call(input, ctx),
            _ => {
                let start = self.at;
                while !matches!(self.text.get(self.at), None | Some(b',' | b')' | b' ')) {
                    self.at += 1;
                }
                let lit = std::str::from_utf8(&self.text[start..self.at]).expect("utf-8");
                serde_json::from_str(lit).unwrap_or_else(|_| panic!("literal {lit} not simulated"))
            }
        }
    }

    fn call(&mut self, input: &Value, ctx: &Value) -> Value {
        let start = self.at;
        while self.text[self.at] != b'(' {
            self.at += 1;
        }
        let name = std::str::from_utf8(&self.text[start..self.at])
            .expect("utf-8")
            .to_string();
        self.at += 1;
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            if self.text[self.at] == b')' {
                self.at += 1;
                break;
            }
            args.push(self.arg(input, ctx));
            self.skip_ws();
            match self.text[self.at] {
                b',' => self.at += 1,
                b')' => {
                    self.at += 1;
                    break;
                }
                c => panic!("unexpected {} in {name}", c as char),
            }
        }
        match name.as_str() {
            "States.Format" => {
                let fmt = args[0].as_str().expect("format string");
                let mut out = String::new();
                let mut vals = args[1..].iter();
                let mut parts = fmt.split("{}");
                out.push_str(parts.next().unwrap_or(""));
                for p in parts {
                    match vals.next() {
                        Some(Value::String(s)) => out.push_str(s),
                        Some(v) => out.push_str(&v.to_string()),
                        None => panic!("too few arguments for {fmt}"),
                    }
                    out.push_str(p);
                }
                Value::String(out)
            }
            "States.StringSplit" => {
                let s = args[0].as_str().expect("string");
                let d = args[1].as_str().expect("delimiter");
                Value::Array(
                    s.split(|c| d.contains(c))
                        .filter(|x| !x.is_empty())
                        .map(|x| json!(x))
                        .collect(),
                )
            }
            "States.ArrayGetItem" => {
                let i = args[1].as_u64().expect("index") as usize;
                args[0][i].clone()
            }
            "States.JsonToString" => Value::String(args[0].to_string()),
            "States.StringToJson" => {
                serde_json::from_str(args[0].as_str().expect("string")).expect("json")
            }
            other => panic!("intrinsic {other} not simulated"),
        }
    }
}

fn path(expr: &str, input: &Value, ctx: &Value) -> Value {
    let (root, rest) = if let Some(r) = expr.strip_prefix("$$") {
        (ctx, r)
    } else if let Some(r) = expr.strip_prefix('$') {
        (input, r)
    } else {
        panic!("expression {expr} not simulated")
    };
    let mut cur = root.clone();
    let mut s = rest;
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end]).cloned().unwrap_or(Value::Null);
            s = &r[end..];
        } else if let Some(r) = s.strip_prefix('[') {
            let end = r.find(']').expect("]");
            let i: usize = r[..end].parse().expect("index");
            cur = cur.get(i).cloned().unwrap_or(Value::Null);
            s = &r[end + 1..];
        } else {
            panic!("path {expr} not simulated");
        }
    }
    cur
}

fn rule(r: &Value, input: &Value, ctx: &Value) -> bool {
    if let Some(any) = r.get("Or").and_then(Value::as_array) {
        return any.iter().any(|x| rule(x, input, ctx));
    }
    if let Some(all) = r.get("And").and_then(Value::as_array) {
        return all.iter().all(|x| rule(x, input, ctx));
    }
    if let Some(n) = r.get("Not") {
        return !rule(n, input, ctx);
    }
    let v = eval(r["Variable"].as_str().expect("Variable"), input, ctx);
    if let Some(p) = r.get("IsPresent").and_then(Value::as_bool) {
        return v.is_null() != p;
    }
    if let Some(p) = r.get("IsString").and_then(Value::as_bool) {
        return v.is_string() == p;
    }
    if let Some(b) = r.get("BooleanEquals") {
        return &v == b;
    }
    if let Some(s) = r.get("StringEquals") {
        return &v == s;
    }
    let num = |k: &str| r.get(k).and_then(Value::as_f64);
    let x = v.as_f64();
    match (
        x,
        num("NumericEquals"),
        num("NumericGreaterThan"),
        num("NumericGreaterThanEquals"),
        num("NumericLessThan"),
        num("NumericLessThanEquals"),
    ) {
        (Some(x), Some(n), _, _, _, _) => x == n,
        (Some(x), _, Some(n), _, _, _) => x > n,
        (Some(x), _, _, Some(n), _, _) => x >= n,
        (Some(x), _, _, _, Some(n), _) => x < n,
        (Some(x), _, _, _, _, Some(n)) => x <= n,
        _ => panic!("choice rule {r} not simulated"),
    }
}
