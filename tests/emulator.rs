//! Emulator tests: compiled jobnets really run, in moto 5.2.5 (server mode, patched by
//! tests/support/moto_patched.py), and the events their `test` jobs record prove the jobnet
//! semantics: order, fan-out/fan-in, exact and OR joins, nested nets, failures that stop only
//! their descendants, recovery units, judgments, return-code thresholds, retries and cutoffs.
//!
//! Needs the Python tools of `scripts/test.sh` (a virtualenv at $JOBNET2SFN_VENV or ./.venv).
//! One moto server serves every test of this binary; all runs of a test go concurrently.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use jobnet2sfn::aws::testkit::{self, Event, EventKind};
use jobnet2sfn::aws::{AwsClients, DeployOptions};
use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::driver;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};

const REGION: &str = "us-east-1";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/jobnet2sfn-test";
const RUN_TIMEOUT: Duration = Duration::from_secs(200);
/// The scenarios run with time scaled down: one source minute is this many seconds.
const SCENARIO_SECONDS_PER_MINUTE: u64 = 10;

// ---------------------------------------------------------------------------------------------
// The moto server

/// A running moto server; killed on drop (also when a test panics). The server also exits by
/// itself when this process dies, because it watches the stdin pipe held here.
struct Moto {
    child: Child,
    _stdin: ChildStdin,
    endpoint: String,
    log: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server shared by the tests that are running; a new one when none is.
fn moto() -> Arc<Moto> {
    static SHARED: Mutex<Weak<Moto>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = shared.upgrade() {
        return m;
    }
    let m = Arc::new(start_moto());
    *shared = Arc::downgrade(&m);
    m
}

fn start_moto() -> Moto {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var_os("JOBNET2SFN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "no Python virtualenv at {} (set JOBNET2SFN_VENV): run scripts/test.sh once, it \
         installs moto and the other test tools from requirements-test.txt",
        venv.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port")
        .port();
    let log =
        std::env::temp_dir().join(format!("jobnet2sfn-moto-{}-{port}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).expect("cannot create the moto log file");
    let mut child = Command::new(&python)
        .arg(root.join("tests/support/moto_patched.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        // moto's Step Functions interpreter calls the other services on this port.
        .env("MOTO_PORT", port.to_string())
        .env("JOBNET2SFN_EXIT_ON_STDIN_EOF", "1")
        .stdin(Stdio::piped())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let moto = Moto {
        child,
        _stdin: stdin,
        endpoint: format!("http://127.0.0.1:{port}"),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut moto = moto;
    loop {
        if let Some(status) = moto.child.try_wait().expect("try_wait") {
            panic!(
                "moto exited at start ({status}); its log:\n{}",
                std::fs::read_to_string(&moto.log).unwrap_or_default()
            );
        }
        if http(port, "GET", "/moto-api/", "").is_ok_and(|(code, _)| code == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "moto did not answer within 60 s; log: {}",
            moto.log.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Must come before any state machine exists: the executing backend is a separate store.
    let config =
        json!({"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}});
    let (code, body) = http(port, "POST", "/moto-api/config", &config.to_string()).expect("config");
    assert!(
        (200..300).contains(&code),
        "moto refused its config: {body}"
    );
    moto
}

/// A minimal HTTP/1.1 exchange (the server's control API needs nothing more).
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let code = reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, reply))
}

// ---------------------------------------------------------------------------------------------
// Compile, deploy, run

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Compiles spec files (or texts) into a fresh directory with the library driver, the same
/// path the CLI takes.
fn compile(
    inputs: &[(String, String)],
    opts: &driver::CompileOptions,
    dir: &Path,
) -> driver::Compiled {
    let mut diags = Diagnostics::default();
    let mut project = jobnet2sfn::ir::Project::default();
    for (name, text) in inputs {
        driver::load_text(
            &mut project,
            name,
            text.clone(),
            driver::InputFormat::Spec,
            &mut diags,
        );
    }
    let compiled = driver::compile(&project, opts, &mut diags);
    let rendered: Vec<String> = diags
        .items
        .iter()
        .map(|d| jobnet2sfn::diag::render(d, &project.sources, false))
        .collect();
    let compiled = compiled.unwrap_or_else(|| {
        let texts: Vec<String> = inputs
            .iter()
            .map(|(name, text)| format!("--- {name}\n{text}"))
            .collect();
        panic!(
            "compile failed:\n{}\ninputs:\n{}",
            rendered.join("\n"),
            texts.join("")
        )
    });
    assert!(!diags.has_errors(), "{}", rendered.join("\n"));
    driver::write(dir, &compiled.files).expect("write the output directory");
    compiled
}

struct Env {
    clients: AwsClients,
    machines: BTreeMap<String, String>,
    table: String,
    topics: BTreeMap<String, String>,
    tables: BTreeMap<String, String>,
    /// What `deploy` says it left to the template.
    notes: Vec<String>,
}

/// Deploy options that reach `moto`: its endpoint and region, test credentials.
fn moto_options(moto: &Moto) -> DeployOptions {
    let mut opts = DeployOptions::new(ROLE_ARN);
    opts.endpoint_url = Some(moto.endpoint.clone());
    opts.region = Some(REGION.into());
    opts.credentials = Some(jobnet2sfn::aws::deploy::StaticCredentials {
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
    });
    opts
}

/// Deploys one output directory plus the test helper machine. Deploys of concurrently running
/// tests are serialised: both create the shared table and helper.
async fn deploy(moto: &Moto, dir: &Path) -> Env {
    deploy_with_parameters(moto, dir, &[]).await
}

/// [`deploy`], with deployment parameters the output needs beyond the test helper's.
async fn deploy_with_parameters(moto: &Moto, dir: &Path, parameters: &[(&str, &str)]) -> Env {
    static DEPLOYING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = DEPLOYING.lock().await;
    let mut opts = moto_options(moto);
    for (k, v) in parameters {
        opts.parameters.insert((*k).into(), (*v).into());
    }
    let clients = AwsClients::connect(&opts).await;
    let child = testkit::deploy_test_child(&clients, ROLE_ARN)
        .await
        .expect("deploy the test helper machine");
    opts.parameters
        .insert(testkit::TEST_CHILD_PARAMETER.into(), child);
    let deployed = jobnet2sfn::aws::deploy_with(dir, &opts)
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e:#}\nmoto log: {}", moto.log.display()));
    let table = deployed
        .table_name(testkit::EVENTS_TABLE)
        .expect("the test table")
        .to_string();
    Env {
        clients: deployed.clients,
        machines: deployed.state_machines,
        table,
        topics: deployed.topics,
        tables: deployed.tables,
        notes: deployed.notes,
    }
}

/// What one execution did.
#[derive(Debug)]
struct Run {
    name: String,
    status: String,
    error: Option<String>,
    events: Vec<Event>,
    elapsed: Duration,
}

impl Run {
    fn count(&self, kind: EventKind, unit: &str) -> usize {
        self.events
            .iter()
            .filter(|e| e.kind == kind && e.unit == unit)
            .count()
    }

    fn at(&self, kind: EventKind, unit: &str) -> Option<usize> {
        self.events
            .iter()
            .position(|e| e.kind == kind && e.unit == unit)
    }

    fn describe(&self) -> String {
        let events: Vec<String> = self.events.iter().map(ToString::to_string).collect();
        format!(
            "run {} ended {} (error {:?}) after {:?}; events:\n  {}",
            self.name,
            self.status,
            self.error,
            self.elapsed,
            events.join("\n  ")
        )
    }
}

/// At most this many executions run at once: moto serves everything from one Python
/// process, and a flood of runs makes it miss connection timeouts.
const MAX_CONCURRENT_RUNS: usize = 32;

async fn run(env: &Env, machine: &str, name: &str, input: Value) -> Result<Run, String> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_RUNS);
    let _slot = SLOTS.acquire().await.map_err(|e| e.to_string())?;
    let arn = env
        .machines
        .get(machine)
        .ok_or_else(|| format!("machine {machine} was not deployed"))?;
    let started = Instant::now();
    let result = env
        .clients
        .run_execution(arn, name, &input, RUN_TIMEOUT)
        .await
        .map_err(|e| format!("{name}: {e:#}"))?;
    let elapsed = started.elapsed();
    let events = testkit::read_events(&env.clients, &env.table, name)
        .await
        .map_err(|e| format!("{name}: {e:#}"))?;
    Ok(Run {
        name: name.to_string(),
        status: result.status,
        error: result.error,
        events,
        elapsed,
    })
}

/// An execution input with a business date of its own: run records refuse a second start of
/// a jobnet for one business date, and scenarios run some jobnets more than once.
fn input(vars: Value) -> Value {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let date =
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date") + chrono::Days::new(n as u64);
    json!({"businessDate": date.format("%Y-%m-%d").to_string(), "vars": vars})
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Collects every broken expectation of one run instead of stopping at the first.
struct Check<'a> {
    run: &'a Run,
    net: &'static str,
    problems: Vec<String>,
}

impl<'a> Check<'a> {
    fn new(run: &'a Run, net: &'static str) -> Self {
        Check {
            run,
            net,
            problems: Vec::new(),
        }
    }

    fn path(&self, unit: &str) -> String {
        format!("/{}/{unit}", self.net)
    }

    fn expect(&mut self, ok: bool, what: impl FnOnce() -> String) -> &mut Self {
        if !ok {
            self.problems.push(what());
        }
        self
    }

    fn status(&mut self, want: &str) -> &mut Self {
        let got = self.run.status.clone();
        self.expect(got == want, || format!("status {got}, expected {want}"));
        if want == "FAILED" {
            let err = self.run.error.clone();
            self.expect(err.as_deref() == Some("JobnetFailed"), || {
                format!("error {err:?}, expected JobnetFailed")
            });
        }
        self
    }

    /// Started once and ended normally once.
    fn ran(&mut self, units: &[&str]) -> &mut Self {
        for u in units {
            let p = self.path(u);
            let (s, e) = (
                self.run.count(EventKind::Start, &p),
                self.run.count(EventKind::End, &p),
            );
            self.expect(s == 1 && e == 1, || {
                format!("{p}: {s} start(s), {e} end(s), expected one of each")
            });
        }
        self
    }

    /// Started once and never ended normally.
    fn failed(&mut self, units: &[&str]) -> &mut Self {
        for u in units {
            let p = self.path(u);
            let (s, e) = (
                self.run.count(EventKind::Start, &p),
                self.run.count(EventKind::End, &p),
            );
            self.expect(s == 1 && e == 0, || {
                format!("{p}: {s} start(s), {e} end(s), expected a start and no end")
            });
        }
        self
    }

    fn never(&mut self, units: &[&str]) -> &mut Self {
        for u in units {
            let p = self.path(u);
            let s = self.run.count(EventKind::Start, &p);
            self.expect(s == 0, || {
                format!("{p} started {s} time(s), expected never")
            });
        }
        self
    }

    /// `a` ended before `b` started.
    fn before(&mut self, pairs: &[(&str, &str)]) -> &mut Self {
        for (a, b) in pairs {
            let (pa, pb) = (self.path(a), self.path(b));
            let end_a = self.run.at(EventKind::End, &pa);
            let start_b = self.run.at(EventKind::Start, &pb);
            let ok = matches!((end_a, start_b), (Some(x), Some(y)) if x < y);
            self.expect(ok, || {
                format!("{pa} must end (at {end_a:?}) before {pb} starts (at {start_b:?})")
            });
        }
        self
    }

    /// Event `(ka, a)` happened before `(kb, b)`.
    fn earlier(&mut self, (ka, a): (EventKind, &str), (kb, b): (EventKind, &str)) -> &mut Self {
        let (pa, pb) = (self.path(a), self.path(b));
        let (x, y) = (self.run.at(ka, &pa), self.run.at(kb, &pb));
        let ok = matches!((x, y), (Some(x), Some(y)) if x < y);
        self.expect(ok, || {
            format!("{ka:?} {pa} (at {x:?}) must come before {kb:?} {pb} (at {y:?})")
        });
        self
    }

    fn result(&self) -> Result<(), String> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}:\n- {}\n{}",
                self.net,
                self.problems.join("\n- "),
                self.run.describe()
            ))
        }
    }
}

type Scenario =
    fn(
        &Env,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>>;

macro_rules! scenario {
    ($name:ident, |$env:ident| $body:block) => {
        fn $name(
            $env: &Env,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
            Box::pin(async move { $body })
        }
    };
}

use EventKind::{End, Start};

scenario!(linear, |env| {
    let r = run(env, "t_linear", "linear-1", input(json!({}))).await?;
    let mut c = Check::new(&r, "t_linear");
    c.status("SUCCEEDED").ran(&["a", "b", "c"]);
    let order: Vec<String> = r.events.iter().map(ToString::to_string).collect();
    let want = [
        "start /t_linear/a",
        "end /t_linear/a (try 0)",
        "start /t_linear/b",
        "end /t_linear/b (try 0)",
        "start /t_linear/c",
        "end /t_linear/c (try 0)",
    ];
    c.expect(order == want, || {
        format!("order {order:?}, expected {want:?}")
    });
    c.result()
});

scenario!(fan, |env| {
    let r = run(env, "t_fan", "fan-1", input(json!({}))).await?;
    Check::new(&r, "t_fan")
        .status("SUCCEEDED")
        .ran(&["a", "b", "c", "d", "e"])
        .before(&[
            ("a", "b"),
            ("a", "c"),
            ("a", "d"),
            ("b", "e"),
            ("c", "e"),
            ("d", "e"),
        ])
        .result()
});

scenario!(non_series_parallel, |env| {
    let r = run(env, "t_nsp", "nsp-1", input(json!({}))).await?;
    Check::new(&r, "t_nsp")
        .status("SUCCEEDED")
        .ran(&["A", "B", "C", "D", "E"])
        .before(&[("A", "C"), ("A", "D"), ("B", "D"), ("C", "E"), ("D", "E")])
        // Exactness: C does not wait for the slow B, which is not its predecessor.
        .earlier((End, "C"), (End, "B"))
        .result()
});

scenario!(or_join, |env| {
    let r = run(env, "t_or", "or-1", input(json!({}))).await?;
    Check::new(&r, "t_or")
        .status("SUCCEEDED")
        .ran(&["fast", "slow", "j", "k"])
        .before(&[("fast", "j"), ("j", "k")])
        // The first arrival starts the join: it does not wait for the slow predecessor.
        .earlier((Start, "j"), (End, "slow"))
        .result()
});

scenario!(nested, |env| {
    let r = run(env, "t_nested", "nested-1", input(json!({}))).await?;
    Check::new(&r, "t_nested")
        .status("SUCCEEDED")
        .ran(&["a", "sub/x", "sub/y", "sub/z", "b", "c"])
        .before(&[
            ("a", "sub/x"),
            ("a", "sub/y"),
            ("sub/x", "sub/z"),
            ("sub/y", "sub/z"),
            ("sub/z", "b"),
            ("a", "c"),
        ])
        .result()
});

scenario!(nested_failure, |env| {
    let r = run(env, "t_nested_fail", "nested-fail-1", input(json!({}))).await?;
    Check::new(&r, "t_nested_fail")
        .status("FAILED")
        .failed(&["sub/x"])
        .ran(&["sub/y", "outer"])
        .never(&["sub/z", "b"])
        .result()
});

scenario!(or_join_failure, |env| {
    let r = run(env, "t_or_fail", "or-fail-1", input(json!({}))).await?;
    Check::new(&r, "t_or_fail")
        .status("FAILED")
        .failed(&["fast"])
        .ran(&["slow", "j"])
        .before(&[("slow", "j")])
        .result()
});

scenario!(failure, |env| {
    let r = run(env, "t_failure", "failure-1", input(json!({}))).await?;
    Check::new(&r, "t_failure")
        .status("FAILED")
        .ran(&["first", "slow_ok", "ok2"])
        .failed(&["bad"])
        .never(&["after_bad", "last"])
        .before(&[("first", "bad"), ("first", "slow_ok"), ("slow_ok", "ok2")])
        // The failure happened while the independent branch was still running.
        .earlier((Start, "bad"), (End, "slow_ok"))
        .result()
});

scenario!(recovery, |env| {
    let r = run(env, "t_recovery", "recovery-1", input(json!({}))).await?;
    Check::new(&r, "t_recovery")
        .status("FAILED")
        .ran(&["good", "bad_recovery"])
        .failed(&["bad"])
        .never(&["good_recovery", "never"])
        .earlier((Start, "bad"), (Start, "bad_recovery"))
        .result()
});

scenario!(judgment_true, |env| {
    let r = run(
        env,
        "t_judge_var",
        "judge-yes",
        input(json!({"FLAG": "yes"})),
    )
    .await?;
    Check::new(&r, "t_judge_var")
        .status("SUCCEEDED")
        .ran(&["before", "dependent", "successor"])
        .before(&[("before", "dependent"), ("dependent", "successor")])
        .result()
});

scenario!(judgment_false, |env| {
    let r = run(env, "t_judge_var", "judge-no", input(json!({"FLAG": "no"}))).await?;
    Check::new(&r, "t_judge_var")
        .status("SUCCEEDED")
        .ran(&["before", "successor"])
        .never(&["dependent"])
        .before(&[("before", "successor")])
        .result()
});

scenario!(judgment_rc, |env| {
    let r = run(env, "t_judge_rc", "judge-rc", input(json!({}))).await?;
    Check::new(&r, "t_judge_rc")
        .status("SUCCEEDED")
        .ran(&["count", "load", "tail"])
        .before(&[("count", "load"), ("load", "tail")])
        .result()
});

scenario!(warning, |env| {
    let r = run(env, "t_warn", "warn-1", input(json!({}))).await?;
    Check::new(&r, "t_warn")
        .status("SUCCEEDED")
        .ran(&["w", "next"])
        .before(&[("w", "next")])
        .result()
});

scenario!(abnormal_rc, |env| {
    let r = run(env, "t_abnormal_rc", "abnormal-rc-1", input(json!({}))).await?;
    Check::new(&r, "t_abnormal_rc")
        .status("FAILED")
        // The job itself ran to its end; its return code (5 > 4) makes the end abnormal.
        .ran(&["w", "side"])
        .never(&["next"])
        .result()
});

scenario!(retry, |env| {
    let r = run(env, "t_retry", "retry-1", input(json!({}))).await?;
    let mut c = Check::new(&r, "t_retry");
    c.status("SUCCEEDED")
        .ran(&["flaky", "next"])
        .before(&[("flaky", "next")]);
    let tries: Vec<u32> = r
        .events
        .iter()
        .filter(|e| e.kind == End && e.unit == "/t_retry/flaky")
        .map(|e| e.attempt)
        .collect();
    c.expect(tries == [2], || {
        format!("flaky ended on tries {tries:?}, expected the third attempt (try 2)")
    });
    c.result()
});

scenario!(retry_exhausted, |env| {
    let r = run(env, "t_retry_out", "retry-out-1", input(json!({}))).await?;
    Check::new(&r, "t_retry_out")
        .status("FAILED")
        .failed(&["hopeless"])
        .never(&["next"])
        .result()
});

scenario!(cutoff, |env| {
    let r = run(env, "t_cutoff", "cutoff-1", input(json!({}))).await?;
    let mut c = Check::new(&r, "t_cutoff");
    c.status("FAILED")
        .failed(&["long"])
        .ran(&["side"])
        .never(&["next"]);
    let elapsed = r.elapsed;
    c.expect(
        elapsed >= Duration::from_secs(SCENARIO_SECONDS_PER_MINUTE)
            && elapsed < Duration::from_secs(35),
        || {
            format!(
                "the run took {elapsed:?}: the 1-minute cutoff (scaled to {SCENARIO_SECONDS_PER_MINUTE} s) did not stop the 40 s job"
            )
        },
    );
    c.result()
});

scenario!(cutoff_normal, |env| {
    let r = run(env, "t_cutoff_normal", "cutoff-normal-1", input(json!({}))).await?;
    Check::new(&r, "t_cutoff_normal")
        .status("SUCCEEDED")
        .failed(&["long"])
        .ran(&["next"])
        .earlier((Start, "long"), (Start, "next"))
        .result()
});

scenario!(wait_unit, |env| {
    let r = run(env, "t_wait", "wait-1", input(json!({}))).await?;
    let mut c = Check::new(&r, "t_wait");
    c.status("SUCCEEDED").ran(&["a", "b"]).before(&[("a", "b")]);
    let elapsed = r.elapsed;
    c.expect(
        elapsed >= Duration::from_secs(SCENARIO_SECONDS_PER_MINUTE),
        || format!("the run took {elapsed:?}, less than its one-minute wait (scaled)"),
    );
    c.result()
});

scenario!(clock_wait, |env| {
    // Long past: the wait ends at once.
    let r = run(
        env,
        "t_clock_wait",
        "clock-wait-1",
        json!({"businessDate": "2020-01-06"}),
    )
    .await?;
    let mut c = Check::new(&r, "t_clock_wait");
    c.status("SUCCEEDED").ran(&["a", "b"]).before(&[("a", "b")]);
    c.result()?;
    // Far ahead: the run waits after `a` (then the test stops it).
    let arn = env
        .machines
        .get("t_clock_wait")
        .ok_or("t_clock_wait not deployed")?;
    let name = "clock-wait-2";
    let exec = env
        .clients
        .start_execution(arn, name, &json!({"businessDate": "2099-01-01"}))
        .await
        .map_err(|e| format!("{e:#}"))?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let events = testkit::read_events(&env.clients, &env.table, name)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let status = env
        .clients
        .sfn
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await
        .map_err(|e| format!("{e}"))?
        .status()
        .as_str()
        .to_string();
    let _ = env
        .clients
        .sfn
        .stop_execution()
        .execution_arn(&exec)
        .send()
        .await;
    let units: Vec<String> = events.iter().map(ToString::to_string).collect();
    if status != "RUNNING" || units != ["start /t_clock_wait/a", "end /t_clock_wait/a (try 0)"] {
        return Err(format!(
            "a wait until 2099-01-02 02:30 JST should hold the run after `a`: status {status}, events {units:?}"
        ));
    }
    Ok(())
});

scenario!(always_normal, |env| {
    let r = run(env, "t_always", "always-1", input(json!({}))).await?;
    Check::new(&r, "t_always")
        .status("SUCCEEDED")
        .failed(&["broken_but_fine"])
        .ran(&["next"])
        .earlier((Start, "broken_but_fine"), (Start, "next"))
        .result()
});

scenario!(always_abnormal, |env| {
    let r = run(
        env,
        "t_always_abnormal",
        "always-abnormal-1",
        input(json!({})),
    )
    .await?;
    Check::new(&r, "t_always_abnormal")
        .status("FAILED")
        .ran(&["fine_but_broken", "side"])
        .never(&["next"])
        .result()
});

scenario!(file_end, |env| {
    let r = run(env, "t_file_end", "file-end-1", input(json!({}))).await?;
    Check::new(&r, "t_file_end")
        .status("FAILED")
        .failed(&["made_it"])
        .ran(&["next", "missing"])
        .never(&["after_missing"])
        .result()
});

scenario!(file_wait, |env| {
    let r = run(env, "t_file_wait", "file-wait-1", input(json!({}))).await?;
    Check::new(&r, "t_file_wait")
        .status("FAILED")
        .ran(&["a", "c"])
        .never(&["b"])
        .result()
});

scenario!(file_judgment, |env| {
    let r = run(env, "t_file_judge", "file-judge-1", input(json!({}))).await?;
    Check::new(&r, "t_file_judge")
        .status("SUCCEEDED")
        .ran(&["load", "tail"])
        .never(&["repair"])
        .before(&[("load", "tail")])
        .result()
});

scenario!(sending, |env| {
    let r = run(env, "t_send", "send-1", input(json!({}))).await?;
    Check::new(&r, "t_send")
        .status("SUCCEEDED")
        .ran(&["after"])
        .result()
});

scenario!(no_business_date, |env| {
    // A start by hand without a business date is refused before any job runs.
    let r = run(env, "t_linear", "no-date-1", json!({})).await?;
    Check::new(&r, "t_linear")
        .never(&["a", "b", "c"])
        .expect(
            r.status == "FAILED" && r.error.as_deref() == Some("MissingBusinessDate"),
            || {
                format!(
                    "{} with error {:?}, expected FAILED with MissingBusinessDate",
                    r.status, r.error
                )
            },
        )
        .result()
});

scenario!(nsp_nested, |env| {
    let r = run(env, "t_nsp_nested", "nsp-nested-1", input(json!({}))).await?;
    Check::new(&r, "t_nsp_nested")
        .status("SUCCEEDED")
        .ran(&["inner/A", "inner/B", "inner/C", "inner/D", "after"])
        .before(&[
            ("inner/A", "inner/C"),
            ("inner/A", "inner/D"),
            ("inner/B", "inner/D"),
            ("inner/C", "after"),
            ("inner/D", "after"),
        ])
        .result()
});

scenario!(judgment_two_dependents, |env| {
    let r = run(
        env,
        "t_judge_multi",
        "judge-multi",
        input(json!({"FLAG": "yes"})),
    )
    .await?;
    Check::new(&r, "t_judge_multi")
        .status("SUCCEEDED")
        .ran(&["d1", "d2", "s"])
        .before(&[("d1", "s"), ("d2", "s")])
        .result()
});

scenario!(long_run_id, |env| {
    // Child executions of exact joins and split parts are named `<run id>-j-<key>` or
    // `<run id>-p-<key>` (key up to 32 characters) and AWS caps names at 80, so 45 characters
    // is the longest run id that works for every jobnet. (An 80-character run id fails the
    // run: reported as a back-end bug.)
    let name = format!("long-{}", "x".repeat(40));
    let r = run(env, "t_nsp", &name, input(json!({}))).await?;
    Check::new(&r, "t_nsp")
        .status("SUCCEEDED")
        .ran(&["A", "B", "C", "D", "E"])
        .result()
});

const SCENARIOS: &[(&str, Scenario)] = &[
    ("linear", linear),
    ("fan", fan),
    ("non_series_parallel", non_series_parallel),
    ("or_join", or_join),
    ("nested", nested),
    ("nested_failure", nested_failure),
    ("or_join_failure", or_join_failure),
    ("failure", failure),
    ("recovery", recovery),
    ("judgment_true", judgment_true),
    ("judgment_false", judgment_false),
    ("judgment_rc", judgment_rc),
    ("judgment_two_dependents", judgment_two_dependents),
    ("warning", warning),
    ("abnormal_rc", abnormal_rc),
    ("retry", retry),
    ("retry_exhausted", retry_exhausted),
    ("cutoff", cutoff),
    ("long_run_id", long_run_id),
    ("cutoff_normal", cutoff_normal),
    ("wait_unit", wait_unit),
    ("clock_wait", clock_wait),
    ("always_normal", always_normal),
    ("always_abnormal", always_abnormal),
    ("nsp_nested", nsp_nested),
    ("file_end", file_end),
    ("file_wait", file_wait),
    ("file_judgment", file_judgment),
    ("sending", sending),
    ("no_business_date", no_business_date),
];

fn scenario_inputs() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("scenario file");
            (p.display().to_string(), text)
        })
        .collect()
}

/// The objects the file judgments and waits of tests/scenarios/files.yaml look for (moto takes
/// unsigned path-style S3 requests).
fn put_scenario_files(moto: &Moto) {
    let port = moto
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("moto port");
    for (path, body) in [
        ("/j2s-scenario-files", ""),
        ("/j2s-scenario-files/present.ok", "ok"),
    ] {
        let (code, reply) = http(port, "PUT", path, body).expect("S3 PUT");
        assert_eq!(code, 200, "PUT {path}: {reply}");
    }
}

#[test]
fn scenarios_run_with_jobnet_semantics() {
    let moto = moto();
    let dir = tempdir("scenarios");
    // One source minute runs as SCENARIO_SECONDS_PER_MINUTE seconds (cutoffs, waits).
    let mut opts = driver::CompileOptions::default();
    opts.emit.seconds_per_minute = SCENARIO_SECONDS_PER_MINUTE;
    let _ = compile(&scenario_inputs(), &opts, &dir);
    put_scenario_files(&moto);
    let rt = runtime();
    let failures = rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        // Deploying again is idempotent: same machines (updated in place), same table.
        let again = deploy(&moto, &dir).await;
        assert_eq!(
            again.machines, env.machines,
            "a second deploy changed the machines"
        );
        assert_eq!(again.table, env.table);
        let env = Arc::new(env);
        let mut tasks = tokio::task::JoinSet::new();
        for (name, scenario) in SCENARIOS {
            let env = Arc::clone(&env);
            tasks.spawn(async move { (*name, scenario(&env).await) });
        }
        let mut failures = Vec::new();
        let mut passed = BTreeSet::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((name, Ok(()))) => {
                    passed.insert(name);
                }
                Ok((name, Err(e))) => failures.push(format!("[{name}] {e}")),
                Err(e) => failures.push(format!("a scenario panicked: {e}")),
            }
        }
        eprintln!("emulator scenarios passed: {passed:?}");
        failures
    });
    assert!(
        failures.is_empty(),
        "{} of {} scenario(s) failed (moto log: {}):\n\n{}",
        failures.len(),
        SCENARIOS.len(),
        moto.log.display(),
        failures.join("\n\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir(what: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("jobnet2sfn-emulator-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// Random DAGs

/// A random jobnet: `n` jobs, edges only from lower to higher index (so it is acyclic), the
/// jobs that end abnormally, and the jobs (among those with several predecessors) that are
/// OR-joins.
#[derive(Debug, Clone)]
struct Dag {
    n: usize,
    edges: Vec<(usize, usize)>,
    failing: BTreeSet<usize>,
    or_joins: BTreeSet<usize>,
}

fn dag_strategy() -> impl Strategy<Value = Dag> {
    (3usize..=7).prop_flat_map(|n| {
        let pairs = n * (n - 1) / 2;
        (
            proptest::collection::vec(proptest::bool::weighted(0.4), pairs),
            proptest::collection::vec(proptest::bool::weighted(0.2), n),
            proptest::collection::vec(proptest::bool::weighted(0.4), n),
        )
            .prop_map(move |(edge_bits, fail_bits, or_bits)| {
                let mut edges = Vec::new();
                let mut k = 0;
                for a in 0..n {
                    for b in a + 1..n {
                        if edge_bits[k] {
                            edges.push((a, b));
                        }
                        k += 1;
                    }
                }
                let failing = (0..n).filter(|&i| fail_bits[i]).collect();
                let or_joins = (0..n)
                    .filter(|&i| or_bits[i] && edges.iter().filter(|e| e.1 == i).count() >= 2)
                    .collect();
                Dag {
                    n,
                    edges,
                    failing,
                    or_joins,
                }
            })
    })
}

impl Dag {
    fn preds(&self, i: usize) -> Vec<usize> {
        self.edges
            .iter()
            .filter(|e| e.1 == i)
            .map(|e| e.0)
            .collect()
    }

    fn spec(&self, net: &str) -> String {
        let mut s = format!("version: 1\njobnets:\n  - name: {net}\n    units:\n");
        for i in 0..self.n {
            let after: Vec<String> = self.preds(i).iter().map(|a| format!("j{a}")).collect();
            s.push_str(&format!("      - {{name: j{i}, type: test"));
            if !after.is_empty() {
                s.push_str(&format!(", after: [{}]", after.join(", ")));
            }
            if self.or_joins.contains(&i) {
                s.push_str(", join: or");
            }
            if self.failing.contains(&i) {
                s.push_str(", params: {outcome: fail}");
            }
            s.push_str("}\n");
        }
        s
    }

    /// The jobnet semantics, simulated: which jobs start and which end normally. A job starts
    /// when all (OR-join: any) of its predecessors ended normally; edges go from lower to
    /// higher index, so one pass in index order suffices.
    fn expected(&self) -> (Vec<bool>, Vec<bool>) {
        let mut started = vec![false; self.n];
        let mut ended = vec![false; self.n];
        for i in 0..self.n {
            let preds = self.preds(i);
            started[i] = preds.is_empty()
                || if self.or_joins.contains(&i) {
                    preds.iter().any(|&p| ended[p])
                } else {
                    preds.iter().all(|&p| ended[p])
                };
            ended[i] = started[i] && !self.failing.contains(&i);
        }
        (started, ended)
    }

    fn check(&self, run: &Run, net: &str) -> Result<(), String> {
        let mut problems = Vec::new();
        let path = |i: usize| format!("/{net}/j{i}");
        let (started, ended) = self.expected();
        for i in 0..self.n {
            let (s, e) = (run.count(Start, &path(i)), run.count(End, &path(i)));
            let want = (usize::from(started[i]), usize::from(ended[i]));
            if (s, e) != want {
                problems.push(format!(
                    "j{i}: {s} start(s), {e} end(s), expected {} and {}",
                    want.0, want.1
                ));
            }
        }
        for b in 0..self.n {
            let Some(sb) = run.at(Start, &path(b)) else {
                continue;
            };
            let ended_before: Vec<bool> = self
                .preds(b)
                .iter()
                .map(|&a| run.at(End, &path(a)).is_some_and(|ea| ea < sb))
                .collect();
            let ok = if self.or_joins.contains(&b) {
                ended_before.iter().any(|&x| x)
            } else {
                ended_before.iter().all(|&x| x)
            };
            if !ok {
                problems.push(format!(
                    "j{b} started (at {sb}) before its predecessors {:?} had ended as required",
                    self.preds(b)
                ));
            }
        }
        let any_failure_ran = (0..self.n).any(|i| started[i] && self.failing.contains(&i));
        let want = if any_failure_ran {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        if run.status != want {
            problems.push(format!("status {}, expected {want}", run.status));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{net}: {self:?}\n- {}\nspec:\n{}{}",
                problems.join("\n- "),
                self.spec(net),
                run.describe()
            ))
        }
    }
}

/// State budget for the split half of the cases: small enough to split most 3-7 job nets.
const SPLIT_STATES: usize = 20;

/// Cases per run (JOBNET2SFN_DAG_CASES overrides); the seed is printed and can be replayed
/// with JOBNET2SFN_DAG_SEED.
const DAG_CASES: usize = 20;

#[test]
fn random_dags_respect_dependencies_and_stop_only_descendants_of_failures() {
    let cases: usize = std::env::var("JOBNET2SFN_DAG_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DAG_CASES);
    let seed: u64 = match std::env::var("JOBNET2SFN_DAG_SEED") {
        Ok(s) => s.parse().expect("JOBNET2SFN_DAG_SEED must be a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs()),
    };
    eprintln!("random DAG seed: {seed} (replay with JOBNET2SFN_DAG_SEED={seed})");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = dag_strategy();
    let dags: Vec<Dag> = (0..cases)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a DAG")
                .current()
        })
        .collect();
    eprintln!(
        "{} DAG(s): {} with failing jobs, {} with OR-joins, {} edge(s) in all",
        dags.len(),
        dags.iter().filter(|d| !d.failing.is_empty()).count(),
        dags.iter().filter(|d| !d.or_joins.is_empty()).count(),
        dags.iter().map(|d| d.edges.len()).sum::<usize>()
    );
    // Odd cases compile under tiny budgets, so the partition pass splits them into child
    // machines: the split output must behave exactly like the whole.
    let mut small = driver::CompileOptions::default();
    small.budgets.states = SPLIT_STATES;
    let groups = [(0, driver::CompileOptions::default()), (1, small)];
    let moto = moto();
    let mut dirs = Vec::new();
    let (mut with_joins, mut split) = (0, 0);
    for (parity, opts) in &groups {
        let inputs: Vec<(String, String)> = dags
            .iter()
            .enumerate()
            .filter(|(k, _)| k % 2 == *parity)
            .map(|(k, d)| (format!("dag{k}.yaml"), d.spec(&format!("dag{k}"))))
            .collect();
        let dir = tempdir(&format!("dags{parity}"));
        let compiled = compile(&inputs, opts, &dir);
        with_joins += compiled
            .outputs
            .iter()
            .filter(|o| !o.joins.is_empty())
            .count();
        split += compiled
            .outputs
            .iter()
            .filter(|o| !o.splits.is_empty())
            .count();
        dirs.push(dir);
    }
    eprintln!("{with_joins} DAG(s) need exact joins (a continuation machine), {split} were split");
    assert!(
        cases < 10 || (with_joins > 0 && split > 0),
        "no generated DAG needs an exact join or a split: the generator lost its point"
    );
    let rt = runtime();
    let failures = rt.block_on(async {
        let mut envs = Vec::new();
        for dir in &dirs {
            envs.push(Arc::new(deploy(&moto, dir).await));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (k, dag) in dags.iter().cloned().enumerate() {
            let env = Arc::clone(&envs[k % 2]);
            tasks.spawn(async move {
                let net = format!("dag{k}");
                let r = run(&env, &net, &format!("{net}-run"), input(json!({}))).await?;
                dag.check(&r, &net)
            });
        }
        let mut failures = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(e) => failures.push(format!("a case panicked: {e}")),
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "{} of {cases} random DAG(s) failed (seed {seed}, moto log: {}):\n\n{}",
        failures.len(),
        moto.log.display(),
        failures.join("\n\n")
    );
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `jobnet2sfn compile` of the or_join example into `dir`.
fn compile_or_join(dir: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_jobnet2sfn"))
        .args(["compile", "examples/or_join.yaml", "-o"])
        .arg(dir)
        .arg("--allow-partial")
        .status()
        .expect("compile runs");
    assert!(status.success());
}

/// Runs `cli` (a `jobnet2sfn` command) against `moto` with the emulator's region, endpoint
/// and test credentials; fails the test unless it succeeds. Its stdout.
fn cli_against(moto: &Moto, cli: &mut Command) -> String {
    let o = cli
        .args(["--region", REGION, "--endpoint-url", &moto.endpoint])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("the CLI runs");
    assert!(
        o.status.success(),
        "{cli:?} failed: {}\nmoto log: {}",
        String::from_utf8_lossy(&o.stderr),
        moto.log.display()
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `jobnet2sfn deploy` of the or_join example's output in `dir` into `moto`; its stdout.
fn cli_deploy(moto: &Moto, dir: &Path) -> String {
    cli_against(
        moto,
        Command::new(env!("CARGO_BIN_EXE_jobnet2sfn"))
            .arg("deploy")
            .arg(dir)
            .args(["--role-arn", ROLE_ARN])
            .args([
                "--param",
                "FetchPrimaryFunctionArn=arn:aws:lambda:ap-northeast-1:123456789012:function:p",
            ])
            .args([
                "--param",
                "FetchBackupFunctionArn=arn:aws:lambda:ap-northeast-1:123456789012:function:b",
            ])
            .args([
                "--param",
                "RefreshCacheFunctionArn=arn:aws:lambda:ap-northeast-1:123456789012:function:r",
            ])
            .args([
                "--param",
                "EcsClusterArn=arn:aws:ecs:ap-northeast-1:123456789012:cluster/c",
            ])
            .args([
                "--param",
                "EcsTaskDefinitionArn=arn:aws:ecs:ap-northeast-1:123456789012:task-definition/t:1",
            ])
            .args([
                "--param",
                "EcsSubnetA=subnet-a",
                "--param",
                "EcsSubnetB=subnet-b",
            ])
            .args(["--param", "EcsSecurityGroup=sg-1"])
            .args([
                "--param",
                "EcsTaskRoleArn=arn:aws:iam::123456789012:role/task",
            ])
            .args([
                "--param",
                "EcsTaskExecutionRoleArn=arn:aws:iam::123456789012:role/exec",
            ]),
    )
}

/// `jobnet2sfn deploy` against the emulator: creates everything, and a second deploy of the
/// same directory succeeds and changes no ARN (idempotent).
#[test]
fn cli_deploy_is_idempotent() {
    let moto = moto();
    let dir = tempdir("cli-deploy");
    compile_or_join(&dir);
    let deploy = || cli_deploy(&moto, &dir);
    let first = deploy();
    assert!(
        first.contains("state machine master_import: arn:"),
        "{first}"
    );
    assert!(
        first.contains("state machine master_import-cont: arn:"),
        "{first}"
    );
    assert_eq!(first, deploy(), "a second deploy changes nothing");
}

/// Deploys racing into a fresh emulator all succeed: whichever creates the run table
/// second finds it there (before, it failed with ResourceInUseException, which made the
/// tests that deploy while `cli_deploy_is_idempotent` runs flaky).
#[test]
fn concurrent_deploys_all_succeed() {
    let moto = start_moto();
    let dir = tempdir("deploy-race");
    compile_or_join(&dir);
    let mut opts = moto_options(&moto);
    for (k, v) in [
        (
            "FetchPrimaryFunctionArn",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:p",
        ),
        (
            "FetchBackupFunctionArn",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:b",
        ),
        (
            "RefreshCacheFunctionArn",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:r",
        ),
        (
            "EcsClusterArn",
            "arn:aws:ecs:ap-northeast-1:123456789012:cluster/c",
        ),
        (
            "EcsTaskDefinitionArn",
            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/t:1",
        ),
        ("EcsSubnetA", "subnet-a"),
        ("EcsSubnetB", "subnet-b"),
        ("EcsSecurityGroup", "sg-1"),
        ("EcsTaskRoleArn", "arn:aws:iam::123456789012:role/task"),
        (
            "EcsTaskExecutionRoleArn",
            "arn:aws:iam::123456789012:role/exec",
        ),
    ] {
        opts.parameters.insert(k.into(), v.into());
    }
    let deploy = || jobnet2sfn::aws::deploy_with(&dir, &opts);
    let (a, b, c) = runtime().block_on(async { tokio::join!(deploy(), deploy(), deploy()) });
    for r in [a, b, c] {
        let deployed =
            r.unwrap_or_else(|e| panic!("deploy failed: {e:#}\nmoto log: {}", moto.log.display()));
        assert!(deployed.state_machines.contains_key("master_import"));
    }
}

/// `jobnet2sfn holidays push` loads a compiled example's calendars into a table, twice
/// (idempotent), and the items are readable as the business-day Lambda reads them.
#[test]
fn holidays_push_loads_the_calendar_table() {
    let moto = moto();
    let dir = tempdir("holidays-push");
    let status = Command::new(env!("CARGO_BIN_EXE_jobnet2sfn"))
        .args([
            "compile",
            "examples/scheduled_with_calendar.yaml",
            "--calendar-years",
            "2027..2027",
            "--allow-partial",
            "-o",
        ])
        .arg(&dir)
        .status()
        .expect("compile runs");
    assert!(status.success());
    let rt = runtime();
    let table = "calendar-push-test";
    rt.block_on(async {
        let opts = moto_options(&moto);
        let c = AwsClients::connect(&opts).await;
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let mut req = c
            .dynamodb
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest);
        for (name, kind) in [("pk", KeyType::Hash), ("sk", KeyType::Range)] {
            req = req
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(kind)
                        .build()
                        .unwrap(),
                );
        }
        req.send().await.expect("create the calendar table");
    });
    for _ in 0..2 {
        let out = cli_against(
            &moto,
            Command::new(env!("CARGO_BIN_EXE_jobnet2sfn"))
                .args(["holidays", "push"])
                .arg(&dir)
                .args(["--table", table]),
        );
        // Two calendars in the example, 365 days of 2027 each.
        assert!(out.contains("wrote 730 calendar item(s)"), "{out}");
    }
    rt.block_on(async {
        let opts = moto_options(&moto);
        let c = AwsClients::connect(&opts).await;
        use aws_sdk_dynamodb::types::AttributeValue;
        let item = c
            .dynamodb
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("jp-business".into()))
            .key("sk", AttributeValue::S("2027-04-29".into()))
            .send()
            .await
            .expect("get_item")
            .item
            .expect("Showa Day is in the table");
        assert_eq!(item["open"], AttributeValue::Bool(false));
        assert_eq!(item["name"], AttributeValue::S("昭和の日".into()));
        let count = c
            .dynamodb
            .scan()
            .table_name(table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .expect("scan")
            .count;
        assert_eq!(count, 730, "pushing twice keeps one item per calendar day");
    });
}

/// Runs `tests/support/sns_inbox.py` with the test virtualenv's Python.
fn inbox(moto: &Moto, command: &str, arg: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var_os("JOBNET2SFN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let out = Command::new(venv.join("bin/python"))
        .arg(root.join("tests/support/sns_inbox.py"))
        .args([moto.endpoint.as_str(), command, arg])
        .output()
        .expect("run sns_inbox.py");
    assert!(
        out.status.success(),
        "sns_inbox.py {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// Issue 8 end to end, with one source minute run as one second: a warning end, an
/// abnormal end, a start delay, an end delay relative to the unit's start and one at a clock
/// time each reach the alert topic with jobnet, unit, status, business date and a console
/// link; monitors whose unit starts or ends in time (also abnormally) are stopped and stay
/// silent.
#[test]
fn alerts_and_delay_monitors_reach_the_topic() {
    let moto = moto();
    let dir = tempdir("alerts");
    let spec = r#"version: 1
jobnets:
  - name: t_alerts
    units:
      - {name: w, type: test, params: {rc: 3}, end: {warning_above: 0, abnormal_above: 4}}
      - {name: slow, type: test, params: {sleep_seconds: 8}, end_delay: {after_own_start: 2}}
      - {name: late, type: test, after: [slow], start_delay: {after_root_start: 3}}
      - {name: quick, type: test, end_delay: {after_own_start: 40}}
      - {name: ontime, type: test, start_delay: {after_root_start: 40}}
      - {name: clock, type: test, params: {sleep_seconds: 6}, end_delay: "00:30"}
      - {name: bad, type: test, params: {outcome: fail}, end_delay: {after_own_start: 40}}
"#;
    let mut opts = driver::CompileOptions::default();
    opts.emit.seconds_per_minute = 1;
    let _ = compile(&[("alerts.yaml".into(), spec.into())], &opts, &dir);
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        let topic = env.topics.get("AlertTopic").expect("the alert topic was deployed");
        let queue = inbox(&moto, "subscribe", topic);
        let run_name = "alerts-1";
        let arn = &env.machines["t_alerts"];
        // A business date in the past: the clock-time monitor (00:30) is already due.
        let result = env
            .clients
            .run_execution(arn, run_name, &json!({"businessDate": "2020-01-06"}), RUN_TIMEOUT)
            .await
            .expect("run");
        assert_eq!(result.status, "FAILED", "`bad` fails the run: {result:?}");

        // Every monitor execution ends: by its alert, by a stop, or quietly.
        let executions = settled_monitors(&env, run_name).await;
        assert_eq!(executions.len(), 6, "one monitor execution per delay monitor: {executions:?}");
        let stopped = executions.iter().filter(|(_, st)| st == "ABORTED").count();
        assert_eq!(stopped, 3, "quick, ontime and bad are stopped in time: {executions:?}");

        let alerts: Vec<Value> =
            serde_json::from_str(&inbox(&moto, "read", &queue)).expect("alerts JSON");
        let mut got: Vec<(String, String)> = alerts
            .iter()
            .filter(|a| a["message"].as_str().is_some_and(|m| m.contains(&format!("run: {run_name}\n"))))
            .map(|a| {
                (
                    a["attributes"]["status"].as_str().unwrap_or("?").to_string(),
                    a["attributes"]["unit"].as_str().unwrap_or("?").to_string(),
                )
            })
            .collect();
        got.sort();
        let want = [
            ("ABNORMAL_END", "/t_alerts"),
            ("END_DELAY", "/t_alerts/clock"),
            ("END_DELAY", "/t_alerts/slow"),
            ("START_DELAY", "/t_alerts/late"),
            ("WARNING_END", "/t_alerts/w"),
        ];
        let want: Vec<(String, String)> =
            want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want, "monitors {executions:?}, alerts: {alerts:#?}");
        for a in alerts.iter().filter(|a| a["message"].as_str().is_some_and(|m| m.contains(run_name))) {
            let m = a["message"].as_str().unwrap_or_default();
            for part in ["jobnet: /t_alerts\n", "business date: 2020-01-06\n", "console: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:"] {
                assert!(m.contains(part), "alert without `{part}`: {m}");
            }
            assert!(a["subject"].as_str().is_some_and(|s| s.starts_with("[jobnet2sfn] ") && s.is_ascii() && s.len() < 100), "subject {a}");
        }
        let warning = alerts.iter().find(|a| a["attributes"]["status"] == "WARNING_END").expect("warning alert");
        assert!(warning["message"].as_str().unwrap_or_default().contains("status: WARNING END (return code 3)"), "{warning}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Delays per schedule rule: the gate hands the rule that started a run (the Lambda's
/// answer) to the run, and each monitor arms the deadline of that rule; a run of another
/// rule, or one started by hand, gets the deadline for every run, or none.
#[test]
fn delays_per_schedule_rule_watch_the_runs_of_their_rule() {
    let moto = moto();
    let dir = tempdir("rule-delays");
    let spec = r#"version: 1
jobnets:
  - name: t_rules
    schedule:
      rules:
        - {name: weekday, weekdays: [mon, tue, wed, thu, fri], at: "01:00"}
        - {name: weekend, weekdays: [sat, sun], at: "01:00"}
    units:
      - {name: slow, type: test, params: {sleep_seconds: 5}, end_delay: [{after_own_start: 40}, {rules: [weekend], delay: {after_own_start: 2}}]}
      - {name: quiet, type: test, params: {sleep_seconds: 5}, end_delay: [{rules: [weekend], delay: {after_own_start: 2}}]}
"#;
    let mut opts = driver::CompileOptions::default();
    opts.emit.seconds_per_minute = 1;
    let _ = compile(&[("rules.yaml".into(), spec.into())], &opts, &dir);
    // The Lambda's answer for a Saturday: the `weekend` rule starts the run.
    let definition = answer_business_day(
        &dir,
        "t_rules",
        json!({"run": true, "businessDate": "2027-01-09", "rule": "weekend"}),
    );
    assert_eq!(
        definition["States"]["BusinessDay"]["ResultSelector"]["rule.$"],
        "$.Payload.rule"
    );
    let rt = runtime();
    rt.block_on(async {
        let env = deploy_gated(&moto, &dir).await;
        let topic = env.topics.get("AlertTopic").expect("the alert topic");
        let queue = inbox(&moto, "subscribe", topic);
        let arn = env.machines["t_rules"].clone();
        let scheduled = json!({
            "scheduledTime": "2027-01-08T16:00:00Z", "timezone": "Asia/Tokyo", "dayOffset": 0,
            "startTime": "01:00", "runSuffix": "0100", "vars": {}, "calendar": null,
            "rules": [], "exclusive": []
        });
        let gate = env
            .clients
            .run_execution(&arn, "schedule-sat", &scheduled, RUN_TIMEOUT)
            .await
            .expect("scheduled execution");
        assert_eq!(gate.status, "SUCCEEDED", "{gate:?}");
        let weekend = env
            .clients
            .wait_execution(
                &format!("{}:2027-01-09-0100", arn.replace(":stateMachine:", ":execution:")),
                RUN_TIMEOUT,
            )
            .await
            .expect("the gate started the run");
        assert_eq!(weekend.status, "SUCCEEDED", "{weekend:?}");
        for (name, input) in [
            ("2027-01-11-by-rule", json!({"businessDate": "2027-01-11", "rule": "weekday"})),
            ("2027-01-12-by-hand", json!({"businessDate": "2027-01-12"})),
        ] {
            let r = env
                .clients
                .run_execution(&arn, name, &input, RUN_TIMEOUT)
                .await
                .expect("run");
            assert_eq!(r.status, "SUCCEEDED", "{name}: {r:?}");
        }
        let mut executions = settled_monitors(&env, "").await;
        executions.sort();
        let want: Vec<(String, String)> = [
            ("2027-01-09-0100-m-quiet-e", "SUCCEEDED"),
            ("2027-01-09-0100-m-slow-e", "SUCCEEDED"),
            ("2027-01-11-by-rule-m-slow-e", "ABORTED"),
            ("2027-01-12-by-hand-m-slow-e", "ABORTED"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(
            executions, want,
            "weekend: both units' 2-minute deadlines alert; weekday and by hand: only slow's 40-minute one, stopped in time"
        );
        let alerts: Vec<Value> =
            serde_json::from_str(&inbox(&moto, "read", &queue)).expect("alerts JSON");
        // Other tests' jobnets publish to the same emulator's topics.
        let mut got: Vec<(String, String)> = alerts
            .iter()
            .filter(|a| a["attributes"]["jobnet"] == "/t_rules")
            .map(|a| {
                let m = a["message"].as_str().unwrap_or_default();
                let run = m.lines().find_map(|l| l.strip_prefix("run: ")).unwrap_or("?");
                (run.to_string(), a["attributes"]["unit"].as_str().unwrap_or("?").to_string())
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("2027-01-09-0100".to_string(), "/t_rules/quiet".to_string()),
                ("2027-01-09-0100".to_string(), "/t_rules/slow".to_string()),
            ],
            "{alerts:#?}"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Replaces the business-day Lambda call of `machine`'s compiled gate by its `answer` (moto
/// runs no Lambda); returns the definition as compiled.
fn answer_business_day(dir: &Path, machine: &str, answer: Value) -> Value {
    let file = dir.join(format!("statemachines/{machine}.asl.json"));
    let compiled: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut definition = compiled.clone();
    definition["States"]["BusinessDay"] = json!({
        "Type": "Pass",
        "Result": answer,
        "ResultPath": "$.businessDay",
        "Next": "IsRunDay"
    });
    std::fs::write(&file, serde_json::to_string_pretty(&definition).unwrap()).unwrap();
    compiled
}

/// Deploys machines whose gate names the business-day Lambda (answered by
/// [`answer_business_day`]).
async fn deploy_gated(moto: &Moto, dir: &Path) -> Env {
    deploy_with_parameters(
        moto,
        dir,
        &[(
            "BusinessDayFunctionArn",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:business-day",
        )],
    )
    .await
}

/// The executions of the deployed monitor machine whose names start with `prefix`, with
/// their status, once none is running (each ends by its alert, a stop, or quietly).
async fn settled_monitors(env: &Env, prefix: &str) -> Vec<(String, String)> {
    let monitor_arn = env
        .machines
        .iter()
        .find(|(name, _)| name.ends_with("-monitor"))
        .map(|(_, arn)| arn.clone())
        .expect("a monitor machine was deployed");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let listed = env
            .clients
            .sfn
            .list_executions()
            .state_machine_arn(&monitor_arn)
            .send()
            .await
            .expect("list monitor executions");
        let all: Vec<(String, String)> = listed
            .executions()
            .iter()
            .filter(|e| e.name().starts_with(prefix))
            .map(|e| (e.name().to_string(), e.status().as_str().to_string()))
            .collect();
        if all.iter().all(|(_, st)| st != "RUNNING") {
            return all;
        }
        assert!(Instant::now() < deadline, "monitors still running: {all:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Issue 7 end to end: run records, refusal of a second start, `status`, `rerun` (failed
/// jobs, from a succeeded job, only one job) and `hold`/`release`/`--skip`, with the event
/// log proving that no job that ended normally runs again unless selected.
/// Units (relative to `net`, e.g. `/t_ops/`) that the test job type recorded as started in
/// execution `name`.
async fn started_units(env: &Env, name: &str, net: &str) -> BTreeSet<String> {
    testkit::read_events(&env.clients, &env.table, name)
        .await
        .expect("events")
        .iter()
        .filter(|e| e.kind == EventKind::Start)
        .map(|e| e.unit.trim_start_matches(net).to_string())
        .collect()
}

/// Asserts that execution `arn` is still RUNNING after `seconds` (`why` says what it
/// waits for).
async fn still_waiting(env: &Env, arn: &str, seconds: u64, why: &str) {
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let d = env.clients.describe_execution(arn).await.expect("describe");
    assert_eq!(d.status, "RUNNING", "{why}");
}

/// The entry of jobnet `name` in the runs.json of the compile in `dir`.
fn jobnet_map(dir: &Path, name: &str) -> jobnet2sfn::aws::runs::JobnetMap {
    jobnet2sfn::aws::runs::RunMap::read(dir)
        .expect("runs.json")
        .jobnet(name)
        .unwrap_or_else(|e| panic!("{name} in runs.json: {e:#}"))
        .clone()
}

/// Compiles one spec into `dir` with clocks at a second per minute and returns the
/// jobnet's entry of runs.json, which `status` and `rerun` work from.
fn compile_for_runs(
    file: &str,
    spec: &str,
    jobnet: &str,
    dir: &Path,
) -> jobnet2sfn::aws::runs::JobnetMap {
    let mut opts = driver::CompileOptions::default();
    opts.emit.seconds_per_minute = 1;
    let _ = compile(&[(file.into(), spec.into())], &opts, dir);
    jobnet_map(dir, jobnet)
}

/// Runs `machine` as execution `name` with `input`, to its end.
async fn run_machine(
    env: &Env,
    machine: &str,
    name: &str,
    input: &serde_json::Value,
) -> jobnet2sfn::aws::ExecutionResult {
    env.clients
        .run_execution(&env.machines[machine], name, input, RUN_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("run {name} of {machine}: {e:#}"))
}

/// Runs `machine` for `date` as execution `name`, to its end.
async fn run_date(
    env: &Env,
    machine: &str,
    name: &str,
    date: &str,
) -> jobnet2sfn::aws::ExecutionResult {
    run_machine(
        env,
        machine,
        name,
        &json!({"businessDate": date, "vars": {}}),
    )
    .await
}

/// Runs `machine` for `date` as execution `name`, expecting it to fail (a job with
/// `fail_runs` fails its first run); returns the run table, for `status` and `rerun`.
async fn run_failing(env: &Env, machine: &str, name: &str, date: &str) -> String {
    let r = run_date(env, machine, name, date).await;
    assert_eq!(r.status, "FAILED", "{r:?}");
    env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone()
}

/// Reruns the run of `date` (and `generation`) with `selection`, expects the rerun to
/// succeed, and returns its execution name.
async fn rerun_succeeds(
    env: &Env,
    run_table: &str,
    jobnet: &jobnet2sfn::aws::runs::JobnetMap,
    date: &str,
    generation: Option<&str>,
    selection: &jobnet2sfn::aws::runs::Selection,
) -> String {
    let rr =
        jobnet2sfn::aws::runs::rerun(&env.clients, run_table, jobnet, date, generation, selection)
            .await
            .expect("rerun");
    let end = env
        .clients
        .wait_execution(&rr.execution_arn, RUN_TIMEOUT)
        .await
        .expect("wait");
    assert_eq!(end.status, "SUCCEEDED", "{end:?}");
    rr.execution_name
}

fn set(units: &[&str]) -> BTreeSet<String> {
    units.iter().map(|s| s.to_string()).collect()
}

/// An interval wait that ended keeps a record: a rerun of the failed job after it passes
/// over the wait instead of waiting again, and a rerun from before it waits again.
#[test]
fn rerun_passes_over_an_interval_wait_that_ended() {
    use jobnet2sfn::aws::runs::{self, Selection};
    let moto = moto();
    let dir = tempdir("rerun-wait");
    let spec = r#"version: 1
jobnets:
  - name: t_rerun_wait
    units:
      - {name: first, type: test}
      - {name: pause, wait: {minutes: 2}, after: [first]}
      - {name: last, type: test, after: [pause], params: {fail_runs: 1}}
"#;
    let jobnet = compile_for_runs("rerun_wait.yaml", spec, "t_rerun_wait", &dir);
    runtime().block_on(async {
        let env = deploy(&moto, &dir).await;
        let date = "2027-01-06";
        let run_table = run_failing(&env, "t_rerun_wait", "wait-1", date).await;
        let pause = |rows: &[runs::Row]| -> (String, String) {
            let row = rows
                .iter()
                .find(|r| r.unit == "/t_rerun_wait/pause")
                .expect("the wait has a record");
            (row.status.clone(), row.attempts.clone())
        };
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        assert_eq!(pause(&rows), ("ENDED_NORMALLY".into(), "1".into()));

        let rerun = |sel: Selection| {
            let (env, table, jobnet) = (&env, &run_table, &jobnet);
            async move {
                rerun_succeeds(env, table, jobnet, date, None, &sel).await;
                runs::status(&env.clients, table, jobnet, date)
                    .await
                    .expect("status")
            }
        };
        // The failed job only: the wait is passed over (still one attempt).
        let rows = rerun(Selection::Failed).await;
        assert_eq!(pause(&rows), ("ENDED_NORMALLY".into(), "1".into()));
        assert!(
            rows.iter().all(|r| r.status == "ENDED_NORMALLY"),
            "{rows:?}"
        );
        // From the first job: the wait is reset and waits again.
        let rows = rerun(Selection::From("/t_rerun_wait/first".into())).await;
        assert_eq!(pause(&rows), ("ENDED_NORMALLY".into(), "2".into()));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generations_keep_runs_of_one_date_apart() {
    use jobnet2sfn::aws::runs::{self, Selection};
    use jobnet2sfn::back::records::run_segment;
    let moto = moto();
    let dir = tempdir("generations");
    let spec = r#"version: 1
jobnets:
  - name: t_gen
    concurrency: {multiple_launch: true}
    units:
      - {name: a, type: test}
      - {name: b, type: test, after: [a]}
"#;
    let jobnet = compile_for_runs("gen.yaml", spec, "t_gen", &dir);
    assert!(
        jobnet.generations,
        "multiple launch keys runs by generation"
    );
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let arn = env.machines["t_gen"].clone();
        let date = "2027-01-04";
        let start = |name: &'static str, input: Value| {
            let env = &env;
            let arn = arn.clone();
            async move {
                env.clients
                    .run_execution(&arn, name, &input, RUN_TIMEOUT)
                    .await
                    .expect("run")
            }
        };
        let started = |name: &'static str| started_units(&env, name, "/t_gen/");

        // Two generations of one business date both run.
        for (name, g) in [("gen-0900", "0900"), ("gen-1000", "1000")] {
            let r = start(name, json!({"businessDate": date, "generation": g})).await;
            assert_eq!(r.status, "SUCCEEDED", "{name}: {r:?}");
            assert_eq!(started(name).await, set(&["a", "b"]), "{name}");
        }
        // The same generation again is refused; no generation at all is an error.
        let r = start(
            "gen-0900-again",
            json!({"businessDate": date, "generation": "0900"}),
        )
        .await;
        assert_eq!(r.error.as_deref(), Some("RunAlreadyStarted"), "{r:?}");
        let r = start("gen-none", json!({"businessDate": date})).await;
        assert_eq!(r.error.as_deref(), Some("MissingGeneration"), "{r:?}");
        assert!(started("gen-none").await.is_empty());

        // Each generation has its own records; a rerun of one leaves the other alone.
        for g in ["0900", "1000"] {
            let rows = runs::status(
                &env.clients,
                &run_table,
                &jobnet,
                &run_segment(date, Some(g)),
            )
            .await
            .expect("status");
            assert!(
                rows.iter().all(|r| r.status == "ENDED_NORMALLY"),
                "{g}: {rows:?}"
            );
        }
        let name = rerun_succeeds(
            &env,
            &run_table,
            &jobnet,
            date,
            Some("1000"),
            &Selection::Only("/t_gen/b".into()),
        )
        .await;
        assert_eq!(name, "2027-01-04-1000-rerun-1");
        assert_eq!(started("2027-01-04-1000-rerun-1").await, set(&["b"]));
        let listed = runs::runs(&env.clients, &run_table, &jobnet)
            .await
            .expect("runs");
        let mut dates: Vec<&str> = listed.iter().map(|r| r.business_date.as_str()).collect();
        dates.sort_unstable();
        assert_eq!(dates, ["2027-01-04@0900", "2027-01-04@1000"], "{listed:?}");
        assert!(
            listed.iter().all(|r| r.status == "ENDED_NORMALLY"),
            "every run recorded its end: {listed:?}"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Jobnets held in the definition (JP1 `ha=y`): the root's run is claimed, then waits at
/// its gate until `release` marks that run (a second start is refused meanwhile); a nested
/// jobnet waits when its turn comes, until released too.
#[test]
fn a_held_root_jobnet_waits_for_its_release() {
    use jobnet2sfn::aws::runs;
    let moto = moto();
    let dir = tempdir("held-root");
    let spec = r#"version: 1
jobnets:
  - name: t_held
    hold: true
    start_delay: {after_root_start: 2}
    units:
      - {name: a, type: test}
      - {name: s, hold: true, after: [a], units: [{name: b, type: test}]}
      - {name: c, type: test, after: [s]}
"#;
    let jobnet = compile_for_runs("held.yaml", spec, "t_held", &dir);
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        let topic = env
            .topics
            .get("AlertTopic")
            .expect("the alert topic was deployed");
        let queue = inbox(&moto, "subscribe", topic);
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let date = "2027-01-05";
        let input = json!({"businessDate": date});
        let arn = env.machines["t_held"].clone();
        let exec = env
            .clients
            .start_execution(&arn, "held-1", &input)
            .await
            .expect("start");
        still_waiting(&env, &exec, 4, "the held run waits").await;
        assert!(started_units(&env, "held-1", "/t_held/").await.is_empty());
        // The run is claimed while it waits: a second start for the date is refused.
        let second = run_machine(&env, "t_held", "held-2", &input).await;
        assert_eq!(
            second.error.as_deref(),
            Some("RunAlreadyStarted"),
            "{second:?}"
        );
        // `status` shows the run waiting at the gate.
        let gates = |rows: Vec<runs::Row>| -> BTreeMap<String, String> {
            rows.into_iter()
                .filter(|r| {
                    !r.unit.ends_with("/a") && !r.unit.ends_with("/b") && !r.unit.ends_with("/c")
                })
                .map(|r| (r.unit, r.status))
                .collect()
        };
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        assert_eq!(
            gates(rows),
            BTreeMap::from([
                ("/t_held".to_string(), "HELD".to_string()),
                ("/t_held/s".to_string(), "HELD".to_string())
            ])
        );
        // A held jobnet cannot be passed over.
        let skip = runs::hold(&env.clients, &run_table, &jobnet, date, "/t_held", true).await;
        assert!(skip.is_err(), "{skip:?}");
        runs::release(&env.clients, &run_table, &jobnet, date, "/t_held")
            .await
            .expect("release");
        // Released (the gate looks every five scaled minutes), the run goes on to the held
        // nested jobnet, where it waits again.
        let mut started = BTreeSet::new();
        for _ in 0..40 {
            started = started_units(&env, "held-1", "/t_held/").await;
            if !started.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            started_units(&env, "held-1", "/t_held/").await,
            set(&["a"]),
            "{started:?}"
        );
        still_waiting(&env, &exec, 0, "the held nested jobnet waits").await;
        runs::release(&env.clients, &run_table, &jobnet, date, "s")
            .await
            .expect("release s");
        let end = env
            .clients
            .wait_execution(&exec, RUN_TIMEOUT)
            .await
            .expect("wait");
        assert_eq!(end.status, "SUCCEEDED", "{end:?}");
        assert_eq!(
            started_units(&env, "held-1", "/t_held/").await,
            set(&["a", "s/b", "c"])
        );
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        assert!(
            gates(rows).values().all(|s| s == "PASSED"),
            "the run went through both gates"
        );
        // Held past its start delay: the root's start was late.
        settled_monitors(&env, "held-1").await;
        let alerts: Vec<Value> =
            serde_json::from_str(&inbox(&moto, "read", &queue)).expect("alerts JSON");
        assert!(
            alerts
                .iter()
                .any(|a| a["attributes"]["status"] == "START_DELAY"
                    && a["attributes"]["unit"] == "/t_held"
                    && a["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("run: held-1\n"))),
            "{alerts:#?}"
        );
        // Another date's run is held on its own.
        let other = env
            .clients
            .start_execution(&arn, "held-3", &json!({"businessDate": "2027-01-06"}))
            .await
            .expect("start");
        still_waiting(&env, &other, 3, "a release holds for its own date only").await;
        env.clients
            .sfn
            .stop_execution()
            .execution_arn(&other)
            .send()
            .await
            .expect("stop");
    });
}

/// `hold: after_abnormal` and `after_warning`: a run is held when the jobnet's run before
/// it did not end well, until an operator releases it or that run ends normally after all
/// (a rerun), and an operator can hold a run that nothing else holds.
#[test]
fn a_run_is_held_after_its_previous_run_ended_badly() {
    use jobnet2sfn::aws::runs::{self, Selection};
    let moto = moto();
    let dir = tempdir("held-after");
    let spec = r#"version: 1
jobnets:
  - name: t_after_a
    hold: after_abnormal
    units:
      - {name: a, type: test, params: {fail_runs: 1}}
      - {name: s, type: test, after: [a], params: {sleep_seconds: 8}}
      - {name: w, type: test, after: [s], params: {rc: 3}, end: {warning_above: 0, abnormal_above: 4}}
  - name: t_after_w
    hold: after_warning
    units:
      - {name: w, type: test, params: {rc: 3}, end: {warning_above: 0, abnormal_above: 4}}
"#;
    let after_a = compile_for_runs("held_after.yaml", spec, "t_after_a", &dir);
    let after_w = jobnet_map(&dir, "t_after_w");
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let root_gate = |map: &runs::JobnetMap, date: &'static str| {
            let (env, table, map) = (&env, &run_table, map.clone());
            async move {
                let rows = runs::status(&env.clients, table, &map, date)
                    .await
                    .expect("status");
                let r = rows
                    .into_iter()
                    .find(|r| r.unit == map.path)
                    .expect("the root's gate has a status row");
                (r.status, r.held)
            }
        };
        let start = |machine: &str, name: &str, date: &str| {
            let arn = env.machines[machine].clone();
            let (clients, name) = (&env.clients, name.to_string());
            let input = json!({"businessDate": date, "vars": {}});
            async move {
                clients
                    .start_execution(&arn, &name, &input)
                    .await
                    .expect("start")
            }
        };
        let ends = |arn: String| {
            let clients = &env.clients;
            async move {
                clients
                    .wait_execution(&arn, RUN_TIMEOUT)
                    .await
                    .expect("wait")
                    .status
            }
        };
        // 1. The first run ends abnormally (`a` fails the first run of every date); the
        // next date's run is held.
        run_failing(&env, "t_after_a", "ha-1", "2027-02-01").await;
        let second = start("t_after_a", "ha-2", "2027-02-02").await;
        still_waiting(&env, &second, 4, "held after an abnormal end").await;
        assert!(started_units(&env, "ha-2", "/t_after_a/").await.is_empty());
        assert_eq!(
            root_gate(&after_a, "2027-02-02").await,
            ("HELD".to_string(), "after run 2027-02-01".to_string())
        );
        // 2. While the first run is rerun it has not ended: the held run keeps waiting.
        // Once the rerun ends normally, the held run goes on by itself.
        let rr = runs::rerun(
            &env.clients,
            &run_table,
            &after_a,
            "2027-02-01",
            None,
            &Selection::Failed,
        )
        .await
        .expect("rerun");
        still_waiting(&env, &second, 6, "held while the run before is rerun").await;
        assert_eq!(ends(rr.execution_arn.clone()).await, "SUCCEEDED");
        assert_eq!(ends(second.clone()).await, "FAILED");
        assert_eq!(
            started_units(&env, "ha-2", "/t_after_a/").await,
            set(&["a"])
        );
        assert_eq!(
            root_gate(&after_a, "2027-02-02").await,
            ("PASSED".to_string(), "after run 2027-02-01".to_string())
        );
        // 3. Its rerun ends with a warning (w), which this jobnet does not hold for: the
        // next run is not held.
        rerun_succeeds(
            &env,
            &run_table,
            &after_a,
            "2027-02-02",
            None,
            &Selection::Failed,
        )
        .await;
        let third = run_date(&env, "t_after_a", "ha-3", "2027-02-03").await;
        assert_eq!(third.status, "FAILED", "{third:?}");
        assert_eq!(
            started_units(&env, "ha-3", "/t_after_a/").await,
            set(&["a"])
        );
        assert_eq!(root_gate(&after_a, "2027-02-03").await.0, "NOT HELD");
        // 4. `after_warning`: a warning holds the next run until it is released.
        let first = run_date(&env, "t_after_w", "hw-1", "2027-02-01").await;
        assert_eq!(first.status, "SUCCEEDED", "{first:?}");
        let second = start("t_after_w", "hw-2", "2027-02-02").await;
        still_waiting(&env, &second, 4, "held after a warning").await;
        assert!(started_units(&env, "hw-2", "/t_after_w/").await.is_empty());
        runs::release(
            &env.clients,
            &run_table,
            &after_w,
            "2027-02-02",
            "/t_after_w",
        )
        .await
        .expect("release");
        assert_eq!(ends(second).await, "SUCCEEDED");
        assert_eq!(
            started_units(&env, "hw-2", "/t_after_w/").await,
            set(&["w"])
        );
        // 5. A run of an earlier date started late is not the latest: nothing holds it but
        // an operator's hold, until released.
        runs::hold(
            &env.clients,
            &run_table,
            &after_w,
            "2027-01-31",
            "/t_after_w",
            false,
        )
        .await
        .expect("hold");
        let late = start("t_after_w", "hw-0", "2027-01-31").await;
        still_waiting(&env, &late, 4, "held by the operator").await;
        assert_eq!(
            root_gate(&after_w, "2027-01-31").await,
            ("HELD".to_string(), "operator".to_string())
        );
        runs::release(
            &env.clients,
            &run_table,
            &after_w,
            "2027-01-31",
            "/t_after_w",
        )
        .await
        .expect("release");
        assert_eq!(ends(late).await, "SUCCEEDED");
    });
}

/// `max_parallel_jobs`: four independent jobs of two seconds each run at most two at a
/// time (the slots of the run's record), where without the limit all four overlap.
#[test]
fn at_most_max_parallel_jobs_run_at_once() {
    let moto = moto();
    let dir = tempdir("slots");
    let spec = r#"version: 1
jobnets:
  - name: t_slots
    concurrency: {max_parallel_jobs: 2}
    units:
      - {name: a, type: test, params: {sleep_seconds: 2}, start_delay: {after_root_start: 1}}
      - {name: b, type: test, params: {sleep_seconds: 2}, start_delay: {after_root_start: 1}}
      - {name: c, type: test, params: {sleep_seconds: 2}, start_delay: {after_root_start: 1}}
      - {name: d, type: test, params: {sleep_seconds: 2}, start_delay: {after_root_start: 1}}
      - {name: e, type: noop, after: [a, b, c, d], start_delay: {after_root_start: 60}}
  - name: t_free
    units:
      - {name: a, type: test, params: {sleep_seconds: 2}}
      - {name: b, type: test, params: {sleep_seconds: 2}}
      - {name: c, type: test, params: {sleep_seconds: 2}}
      - {name: d, type: test, params: {sleep_seconds: 2}}
"#;
    compile_for_runs("slots.yaml", spec, "t_slots", &dir);
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        // The most jobs running at one time, from the ordered start and end events.
        let overlap = |name: &'static str| {
            let env = &env;
            async move {
                let events = testkit::read_events(&env.clients, &env.table, name)
                    .await
                    .expect("events");
                let (mut running, mut most) = (0i32, 0i32);
                for e in &events {
                    running += if e.kind == EventKind::Start { 1 } else { -1 };
                    most = most.max(running);
                }
                (events.len(), most)
            }
        };
        let topic = env
            .topics
            .get("AlertTopic")
            .expect("the alert topic was deployed");
        let queue = inbox(&moto, "subscribe", topic);
        let r = run_date(&env, "t_slots", "slots-1", "2027-01-04").await;
        assert_eq!(r.status, "SUCCEEDED", "{r:?}");
        assert_eq!(
            overlap("slots-1").await,
            (8, 2),
            "four starts and ends, two at once"
        );
        // A job waiting for a slot has not started: the two that start only after another
        // job's end (two seconds on) are past their one-second start delay.
        let events = testkit::read_events(&env.clients, &env.table, "slots-1")
            .await
            .expect("events");
        let first_end = events
            .iter()
            .position(|e| e.kind == EventKind::End)
            .expect("an end");
        let queued: BTreeSet<&str> = events[first_end..]
            .iter()
            .filter(|e| e.kind == EventKind::Start)
            .map(|e| e.unit.as_str())
            .collect();
        assert_eq!(queued.len(), 2, "{events:?}");
        settled_monitors(&env, "slots-1").await;
        let alerts: Vec<Value> =
            serde_json::from_str(&inbox(&moto, "read", &queue)).expect("alerts JSON");
        let late: BTreeSet<&str> = alerts
            .iter()
            .filter(|a| a["attributes"]["status"] == "START_DELAY")
            .filter_map(|a| a["attributes"]["unit"].as_str())
            .collect();
        assert!(queued.is_subset(&late), "{queued:?} {alerts:#?}");
        assert!(!late.contains("/t_slots/e"), "{alerts:#?}");
        let r = run_date(&env, "t_free", "free-1", "2027-01-04").await;
        assert_eq!(r.status, "SUCCEEDED", "{r:?}");
        assert_eq!(
            overlap("free-1").await,
            (8, 4),
            "without a limit all four overlap"
        );
        // Every slot was given back.
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let item = env
            .clients
            .dynamodb
            .get_item()
            .table_name(&run_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("run#t_slots#2027-01-04".into()),
            )
            .send()
            .await
            .expect("run item");
        let item = item.item().expect("the run's record");
        assert!(!item.contains_key("slots"), "{item:?}");
    });
}

#[test]
fn operations_rerun_status_and_hold() {
    use jobnet2sfn::aws::runs::{self, Selection};
    let moto = moto();
    let dir = tempdir("operations");
    let spec = r#"version: 1
jobnets:
  - name: t_ops
    units:
      - {name: a, type: test}
      - {name: b, type: test, after: [a], params: {fail_runs: 1}}
      - {name: c, type: test, after: [b]}
      - {name: d, type: test}
"#;
    let jobnet = compile_for_runs("ops.yaml", spec, "t_ops", &dir);
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let date = "2027-01-04";
        let input = json!({"businessDate": date, "vars": {"X": "1"}});
        let events = |name: &'static str| started_units(&env, name, "/t_ops/");
        let arn = env.machines["t_ops"].clone();
        // A rerun of the date with `selection`, and the wait for a successful end.
        let rerun = |selection: Selection| {
            let (env, run_table, jobnet) = (&env, &run_table, &jobnet);
            async move {
                runs::rerun(&env.clients, run_table, jobnet, date, None, &selection)
                    .await
                    .expect("rerun")
            }
        };
        let succeeds = |execution_arn: String| {
            let env = &env;
            async move {
                let end = env
                    .clients
                    .wait_execution(&execution_arn, RUN_TIMEOUT)
                    .await
                    .expect("wait");
                assert_eq!(end.status, "SUCCEEDED", "{end:?}");
            }
        };

        // 1. b fails on its first run: a and d run, c does not.
        let r = env
            .clients
            .run_execution(&arn, "ops-1", &input, RUN_TIMEOUT)
            .await
            .expect("run");
        assert_eq!(r.status, "FAILED", "{r:?}");
        assert_eq!(events("ops-1").await, set(&["a", "b", "d"]));
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        let st: BTreeMap<String, String> = rows
            .iter()
            .map(|r| (r.unit.clone(), r.status.clone()))
            .collect();
        assert_eq!(st["/t_ops/a"], "ENDED_NORMALLY", "{rows:?}");
        assert_eq!(st["/t_ops/b"], "ENDED_ABNORMALLY", "{rows:?}");
        assert_eq!(st["/t_ops/c"], "NOT_RUN", "{rows:?}");
        assert_eq!(st["/t_ops/d"], "ENDED_NORMALLY", "{rows:?}");
        assert!(
            rows.iter().all(|r| r.status == "NOT_RUN"
                || (r.attempts == "1" && !r.started.is_empty() && !r.ended.is_empty())),
            "{rows:?}"
        );

        // 2. A second start for the same business date is refused and recorded.
        let r = env
            .clients
            .run_execution(&arn, "ops-2", &input, RUN_TIMEOUT)
            .await
            .expect("run");
        assert_eq!(
            (r.status.as_str(), r.error.as_deref()),
            ("FAILED", Some("RunAlreadyStarted")),
            "{r:?}"
        );
        assert!(
            events("ops-2").await.is_empty(),
            "a refused start runs nothing"
        );
        let listed = runs::runs(&env.clients, &run_table, &jobnet)
            .await
            .expect("runs");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert!(listed[0].held.contains("1 start(s) refused"), "{listed:?}");

        // 3. rerun --failed: b and c run, a and d do not run twice.
        let rr = rerun(Selection::Failed).await;
        assert_eq!(
            rr.reset,
            vec!["/t_ops/b".to_string(), "/t_ops/c".to_string()]
        );
        succeeds(rr.execution_arn.clone()).await;
        assert_eq!(events("2027-01-04-rerun-1").await, set(&["b", "c"]));
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        assert!(
            rows.iter().all(|r| r.status == "ENDED_NORMALLY"),
            "{rows:?}"
        );

        // 4. rerun --from a (it had succeeded): a, b, c again; d not.
        let rr = rerun(Selection::From("/t_ops/a".into())).await;
        succeeds(rr.execution_arn.clone()).await;
        assert_eq!(events("2027-01-04-rerun-2").await, set(&["a", "b", "c"]));

        // 5. hold c, rerun --only c: it waits until released.
        runs::hold(&env.clients, &run_table, &jobnet, date, "c", false)
            .await
            .expect("hold");
        let rr = rerun(Selection::Only("/t_ops/c".into())).await;
        still_waiting(
            &env,
            &rr.execution_arn,
            4,
            "a held job keeps the run waiting",
        )
        .await;
        assert!(events("2027-01-04-rerun-3").await.is_empty(), "c is held");
        runs::release(&env.clients, &run_table, &jobnet, date, "/t_ops/c")
            .await
            .expect("release");
        succeeds(rr.execution_arn.clone()).await;
        assert_eq!(events("2027-01-04-rerun-3").await, set(&["c"]));

        // 6. hold d --skip, rerun --only d: d is passed over.
        runs::hold(&env.clients, &run_table, &jobnet, date, "d", true)
            .await
            .expect("hold");
        let rr = rerun(Selection::Only("/t_ops/d".into())).await;
        succeeds(rr.execution_arn.clone()).await;
        assert!(events("2027-01-04-rerun-4").await.is_empty());
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        let d = rows.iter().find(|r| r.unit == "/t_ops/d").expect("d");
        // Passed over: the record keeps the rerun's reset and shows the hold.
        assert_eq!(
            (d.status.as_str(), d.held.as_str()),
            ("RESET", "skip"),
            "{rows:?}"
        );
    });

    // The CLI reads the same records.
    let out = cli_against(
        &moto,
        Command::new(env!("CARGO_BIN_EXE_jobnet2sfn"))
            .args([
                "status",
                "t_ops",
                "--date",
                "2027-01-04",
                "--format",
                "json",
                "--table",
            ])
            .arg(format!("jobnet2sfn-{}", jobnet2sfn::back::asl::RUN_TABLE))
            .arg("--dir")
            .arg(&dir),
    );
    let rows: Vec<Value> = serde_json::from_str(&out).expect("JSON rows");
    assert_eq!(rows.len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rerun that passes over a job whose return code a judgment reads hands the judgment
/// the code of the job's earlier run: the judgment takes the same way as before.
#[test]
fn rerun_keeps_the_return_code_a_judgment_reads() {
    use jobnet2sfn::aws::runs::Selection;
    let moto = moto();
    let dir = tempdir("rerun-rc");
    let spec = r#"version: 1
jobnets:
  - name: t_rerun_rc
    units:
      - {name: count, type: test, params: {rc: 3}, end: {always: normal}}
      - name: rows
        after: [count]
        judge: {return_code: {op: gt, value: 0}}
        then: [load]
      - {name: load, type: test, params: {fail_runs: 1}}
      - {name: tail, type: test, after: [rows]}
"#;
    let jobnet = compile_for_runs("rerun_rc.yaml", spec, "t_rerun_rc", &dir);
    runtime().block_on(async {
        let env = deploy(&moto, &dir).await;
        let date = "2027-01-05";
        let run_table = run_failing(&env, "t_rerun_rc", "rc-1", date).await;
        let first = started_units(&env, "rc-1", "/t_rerun_rc/").await;
        assert_eq!(
            first,
            set(&["count", "load"]),
            "load fails on its first run"
        );

        rerun_succeeds(&env, &run_table, &jobnet, date, None, &Selection::Failed).await;
        // count is passed over; its return code 3 still makes the judgment true, so load
        // runs again (without the code the judgment would bypass it).
        let again = started_units(&env, "2027-01-05-rerun-1", "/t_rerun_rc/").await;
        assert_eq!(again, set(&["load", "tail"]));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start conditions that must all happen: the gate counts each object's event per business
/// date in the run table and starts the run (`<businessDate>-cond`) once every object has
/// been created; repeats change nothing. The inputs are the compiled rules' input templates
/// as EventBridge fills them in. moto runs no Lambda code, so the business-day Lambda
/// (tests/start_rule_events.py and the Lambda vectors check it) is replaced by a Pass
/// giving its answer.
#[test]
fn start_conditions_that_must_all_happen_start_the_run_once() {
    let moto = moto();
    let dir = tempdir("all-of");
    let spec = r#"version: 1
jobnets:
  - name: t_all
    start_conditions:
      all: true
      events:
        - {file_created: "s3://drop/a.csv"}
        - {file_created: "s3://drop/b.csv"}
    units:
      - {name: a, type: test}
"#;
    let mut opts = driver::CompileOptions::default();
    opts.emit.seconds_per_minute = 1;
    let compiled = compile(&[("all.yaml".into(), spec.into())], &opts, &dir);
    let templates = jobnet2sfn::back::templates::TemplateSet::load(None).unwrap();
    let mut template =
        jobnet2sfn::back::cfn::template(&compiled.outputs, &opts.cfn, &templates).unwrap();
    let mut project = jobnet2sfn::ir::Project::default();
    let mut diags = Diagnostics::default();
    driver::load_text(
        &mut project,
        "all.yaml",
        spec.into(),
        driver::InputFormat::Spec,
        &mut diags,
    );
    jobnet2sfn::back::schedule::add_schedules(
        &mut template,
        &project,
        &compiled.outputs,
        &templates,
        &mut diags,
    )
    .unwrap();
    let event_input = |rule: &str| -> Value {
        let t = template.value["Resources"][rule]["Properties"]["Targets"][0]["InputTransformer"]
            ["InputTemplate"]
            .as_str()
            .unwrap_or_else(|| panic!("rule {rule}"))
            .replace("<time>", "2027-01-05T03:00:00Z");
        serde_json::from_str(&t).expect("input JSON")
    };
    let (first, second) = (
        event_input("TAllStateMachineStart01"),
        event_input("TAllStateMachineStart02"),
    );
    let definition = answer_business_day(
        &dir,
        "t_all",
        json!({"run": true, "businessDate": "2027-01-05"}),
    );
    assert_eq!(definition["StartAt"], "ScheduledStart");
    let rt = runtime();
    rt.block_on(async {
        let env = deploy_gated(&moto, &dir).await;
        let arn = env.machines["t_all"].clone();
        let run_arn = format!(
            "{}:2027-01-05-cond",
            arn.replace(":stateMachine:", ":execution:")
        );
        let event = |name: &'static str, input: Value| {
            let env = &env;
            let arn = arn.clone();
            async move {
                let r = env
                    .clients
                    .run_execution(&arn, name, &input, RUN_TIMEOUT)
                    .await
                    .expect("event execution");
                assert_eq!(r.status, "SUCCEEDED", "{name}: {r:?}");
            }
        };
        let run_started = || async { env.clients.describe_execution(&run_arn).await.is_ok() };
        event("ev-a", first.clone()).await;
        assert!(!run_started().await, "one of two objects: no run yet");
        event("ev-a-again", first.clone()).await;
        assert!(
            !run_started().await,
            "the same object twice is still one of two"
        );
        event("ev-b", second.clone()).await;
        let end = env
            .clients
            .wait_execution(&run_arn, RUN_TIMEOUT)
            .await
            .expect("the run started");
        assert_eq!(end.status, "SUCCEEDED", "{end:?}");
        assert_eq!(
            started_units(&env, "2027-01-05-cond", "/t_all/").await,
            set(&["a"])
        );
        // A later event of the date finds the run already started.
        event("ev-b-again", second).await;
        assert_eq!(
            started_units(&env, "2027-01-05-cond", "/t_all/").await,
            set(&["a"])
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cross-jobnet wait looks at the other jobnet's run record of the same business date: it
/// goes on once the awaited job has ended normally there, and gives up at its cutoff.
#[test]
fn cross_jobnet_waits_go_on_when_the_other_run_has_done_its_part() {
    let moto = moto();
    let dir = tempdir("wait-for");
    let spec = r#"version: 1
jobnets:
  - name: t_up
    units:
      - {name: a, type: test}
  - name: t_down
    units:
      - {name: upstream_done, wait_for: {jobnet: t_up/a}, cutoff: {minutes: 60}}
      - {name: b, type: test, after: [upstream_done]}
  - name: t_never
    units:
      - {name: nothing_yet, wait_for: {jobnet: t_up}, cutoff: {minutes: 3}}
      - {name: c, type: test, after: [nothing_yet]}
"#;
    let down_map = compile_for_runs("wait.yaml", spec, "t_down", &dir);
    let up_map = jobnet_map(&dir, "t_up");
    let rt = runtime();
    rt.block_on(async {
        let env = deploy(&moto, &dir).await;
        let date = "2027-02-01";
        let start_on = |machine: &'static str, name: &'static str, date: &'static str| {
            run_date(&env, machine, name, date)
        };
        let start = |machine: &'static str, name: &'static str| start_on(machine, name, date);
        // The other jobnet has not run on this date: the wait gives up at its cutoff.
        let never = start("t_never", "never-1").await;
        assert_eq!(never.status, "FAILED", "{never:?}");
        assert!(started_units(&env, "never-1", "/t_never/").await.is_empty());
        // The waiting run starts first and goes on once t_up's job `a` has ended.
        let down = start("t_down", "down-1");
        let up = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            start("t_up", "up-1").await
        };
        let (down, up) = tokio::join!(down, up);
        assert_eq!(up.status, "SUCCEEDED", "{up:?}");
        assert_eq!(down.status, "SUCCEEDED", "{down:?}");
        assert_eq!(started_units(&env, "down-1", "/t_down/").await, set(&["b"]));
        // The run records say when: b started after a ended.
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let row = |map: &jobnet2sfn::aws::runs::JobnetMap, unit: &'static str| {
            let (clients, run_table) = (&env.clients, &run_table);
            let map = map.clone();
            async move {
                jobnet2sfn::aws::runs::status(clients, run_table, &map, date)
                    .await
                    .expect("status")
                    .into_iter()
                    .find(|r| r.unit == unit)
                    .unwrap_or_else(|| panic!("no record of {unit}"))
            }
        };
        let a = row(&up_map, "/t_up/a").await;
        let b = row(&down_map, "/t_down/b").await;
        assert!(
            !a.ended.is_empty() && b.started >= a.ended,
            "b started at {}, a ended at {}",
            b.started,
            a.ended
        );
        // Once t_up's run of a date has ended, a wait for the whole jobnet goes on at once.
        let up = start_on("t_up", "up-2", "2027-02-02").await;
        assert_eq!(up.status, "SUCCEEDED", "{up:?}");
        let never = start_on("t_never", "never-2", "2027-02-02").await;
        assert_eq!(never.status, "SUCCEEDED", "{never:?}");
        assert_eq!(
            started_units(&env, "never-2", "/t_never/").await,
            set(&["c"])
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// An event wait goes on when its event happens after the wait began, not on one that
/// happened before (even delivered while it waits); the event reaches the recorder as its
/// rule delivers it (the rule's `InputTemplate` from template.yaml, with the event's time);
/// a rerun of a failed job after the wait passes over it.
#[test]
fn event_waits_go_on_when_their_event_arrives_after_they_began() {
    use jobnet2sfn::aws::runs::{self, Selection};
    let moto = moto();
    let dir = tempdir("event-wait");
    let spec = r#"version: 1
jobnets:
  - name: t_ev
    units:
      - {name: a, type: test}
      - {name: ack, after: [a], wait: {event: {id: "7FFF8002"}}, cutoff: {minutes: 6}}
      - {name: b, type: test, after: [ack], params: {fail_runs: 1}}
"#;
    let jobnet = compile_for_runs("event_wait.yaml", spec, "t_ev", &dir);
    let template = std::fs::read_to_string(dir.join("template.yaml")).expect("template");
    let input = template
        .lines()
        .find_map(|l| l.trim().strip_prefix("InputTemplate: "))
        .map(|quoted| serde_json::from_str::<String>(quoted).expect("a quoted JSON text"))
        .expect("the event wait's rule");
    // What the rule's input transformer hands the recorder for an event at `time`.
    let delivered = |time: chrono::DateTime<chrono::Utc>| -> serde_json::Value {
        let time = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        serde_json::from_str(&input.replace("<time>", &time)).expect("rule input")
    };
    assert_eq!(
        delivered(chrono::DateTime::UNIX_EPOCH),
        json!({"key": "event#t_ev#ack", "time": "1970-01-01T00:00:00Z"})
    );
    runtime().block_on(async {
        let env = deploy(&moto, &dir).await;
        let deliver = |name: &'static str, input: serde_json::Value| {
            let env = &env;
            async move { run_machine(env, "t_ev-events", name, &input).await }
        };
        let start = |name, date| run_date(&env, "t_ev", name, date);
        // The recorder writes only this jobnet's event items.
        let refused = deliver(
            "foreign",
            json!({"key": "run#t_ev#2027-03-01", "time": "2027-03-01T00:00:00Z"}),
        )
        .await;
        assert_eq!(refused.status, "FAILED", "{refused:?}");
        // An event that came before the wait began does not end it, even when it is
        // delivered while the wait waits: it gives up at its cutoff.
        let before = chrono::Utc::now() - chrono::Duration::seconds(5);
        let early = deliver("early", delivered(before)).await;
        assert_eq!(early.status, "SUCCEEDED", "{early:?}");
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let waiting = |date: &'static str| wait_began(&env, &run_table, &jobnet, date, "/t_ev/ack");
        let stale = start("ev-1", "2027-03-01");
        let late = async {
            waiting("2027-03-01").await;
            deliver("late", delivered(before)).await
        };
        let (stale, late) = tokio::join!(stale, late);
        assert_eq!(late.status, "SUCCEEDED", "{late:?}");
        assert_eq!(stale.status, "FAILED", "{stale:?}");
        assert_eq!(started_units(&env, "ev-1", "/t_ev/").await, set(&["a"]));
        // The event arrives while the wait waits: the run goes on (b fails its first run).
        let date = "2027-03-02";
        let run = start("ev-2", date);
        let event = async {
            waiting(date).await;
            // A second on: event times have whole seconds.
            deliver(
                "on-time",
                delivered(chrono::Utc::now() + chrono::Duration::seconds(1)),
            )
            .await
        };
        let (run, event) = tokio::join!(run, event);
        assert_eq!(event.status, "SUCCEEDED", "{event:?}");
        assert_eq!(run.status, "FAILED", "{run:?}");
        assert_eq!(
            started_units(&env, "ev-2", "/t_ev/").await,
            set(&["a", "b"])
        );
        // An older event delivered late leaves the later one recorded.
        let arrived = || async {
            use aws_sdk_dynamodb::types::AttributeValue;
            let item = env
                .clients
                .dynamodb
                .get_item()
                .table_name(&run_table)
                .key("pk", AttributeValue::S("event#t_ev#ack".into()))
                .consistent_read(true)
                .send()
                .await
                .expect("get_item")
                .item
                .expect("the event item");
            (item["arrivedAt"].clone(), item["arrivals"].clone())
        };
        let recorded = arrived().await;
        let older = deliver("older", delivered(before)).await;
        assert_eq!(older.status, "SUCCEEDED", "{older:?}");
        assert_eq!(arrived().await, recorded, "the later event stays recorded");
        // A rerun of the failed job passes over the wait (its event will not come again).
        rerun_succeeds(&env, &run_table, &jobnet, date, None, &Selection::Failed).await;
        let rows = runs::status(&env.clients, &run_table, &jobnet, date)
            .await
            .expect("status");
        let ack = rows
            .iter()
            .find(|r| r.unit == "/t_ev/ack")
            .expect("the wait has a record");
        assert_eq!(
            (ack.status.as_str(), ack.attempts.as_str()),
            ("ENDED_NORMALLY", "1")
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Returns once the record of `unit` in the run of `date` says it runs, and a second
/// later (event times have whole seconds).
async fn wait_began(
    env: &Env,
    run_table: &str,
    jobnet: &jobnet2sfn::aws::runs::JobnetMap,
    date: &str,
    unit: &str,
) {
    for _ in 0..100 {
        let rows = jobnet2sfn::aws::runs::status(&env.clients, run_table, jobnet, date)
            .await
            .expect("status");
        if rows.iter().any(|r| r.unit == unit && r.status == "RUNNING") {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the wait of {date} never began");
}

/// What the rule `rule_id` of the template in `dir` hands its target for `event`, by moto's
/// pattern matching and input transformer (tests/support/rule_delivery.py); `Null` when
/// the rule does not match.
fn rule_delivery(dir: &Path, rule_id: &str, event: &serde_json::Value) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var_os("JOBNET2SFN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let out = Command::new(venv.join("bin/python"))
        .arg(root.join("tests/support/rule_delivery.py"))
        .arg(dir.join("template.yaml"))
        .args([rule_id, &event.to_string()])
        .output()
        .expect("run rule_delivery.py");
    assert!(
        out.status.success(),
        "rule_delivery.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("rule_delivery.py prints JSON")
}

/// File waits on an object's writes and on its deletion (JP1 file monitoring for a
/// creation, a deletion): S3 events go through the generated rules (moto's matching and
/// transformer) into the recorder. An object written before the wait began does not end
/// it; a write and a deletion while they wait do.
#[test]
fn file_waits_go_on_when_the_object_is_written_or_deleted_after_they_began() {
    let moto = moto();
    let dir = tempdir("file-event-wait");
    let spec = r#"version: 1
jobnets:
  - name: t_fw
    units:
      - {name: a, type: test}
      - {name: rates, after: [a], wait: {file: "s3://inbound/rates/*.csv", when: written}, cutoff: {minutes: 6}}
      - {name: unlocked, after: [a], wait: {file: "s3://inbound/lock.flag", when: deleted}, cutoff: {minutes: 6}}
      - {name: b, type: test, after: [rates, unlocked]}
"#;
    let mut opts = driver::CompileOptions::default();
    opts.emit.seconds_per_minute = 1;
    let compiled = compile(&[("file_wait.yaml".into(), spec.into())], &opts, &dir);
    let (rule, unlock_rule) = (
        "TFwEventsStateMachineWaitRates",
        "TFwEventsStateMachineWaitUnlocked",
    );
    let watched = &compiled.outputs[0].event_waits[0].watched;
    assert!(
        matches!(watched, jobnet2sfn::ir::Watched::Object { bucket, key, .. } if bucket == "inbound" && key == "rates/*.csv"),
        "{watched:?}"
    );
    let jobnet = jobnet_map(&dir, "t_fw");
    // S3's event for a write (or deletion) of `key` at `time`.
    let s3_event = |kind: &str, key: &str, time: chrono::DateTime<chrono::Utc>| {
        json!({
            "version": "0", "id": "0d6e2b3c-0000-0000-0000-000000000000",
            "detail-type": kind, "source": "aws.s3", "account": "123456789012",
            "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": "us-east-1", "resources": ["arn:aws:s3:::inbound"],
            "detail": {"version": "0", "bucket": {"name": "inbound"},
                       "object": {"key": key, "size": 5, "etag": "x", "sequencer": "1"},
                       "request-id": "r", "requester": "123456789012", "reason": "PutObject"}
        })
    };
    let now = chrono::Utc::now;
    assert_eq!(
        rule_delivery(
            &dir,
            rule,
            &s3_event("Object Created", "rates/x.txt", now())
        ),
        serde_json::Value::Null,
        "another name"
    );
    assert_eq!(
        rule_delivery(
            &dir,
            rule,
            &s3_event("Object Deleted", "rates/a.csv", now())
        ),
        serde_json::Value::Null,
        "a deletion is no write"
    );
    assert_eq!(
        rule_delivery(
            &dir,
            unlock_rule,
            &s3_event("Object Created", "lock.flag", now())
        ),
        serde_json::Value::Null,
        "a write is no deletion"
    );
    runtime().block_on(async {
        let env = deploy(&moto, &dir).await;
        assert!(
            env.notes.iter().any(|n| n
                .starts_with("t_fw-events: its EventBridge rules come with template.yaml only")),
            "deploy says the rules are the template's: {:?}",
            env.notes
        );
        let deliver = |name: &'static str, rule: &str, event: serde_json::Value| {
            let input = rule_delivery(&dir, rule, &event);
            assert_ne!(input, serde_json::Value::Null, "the rule matches {event}");
            let env = &env;
            async move { run_machine(env, "t_fw-events", name, &input).await }
        };
        let start = |name, date| run_date(&env, "t_fw", name, date);
        let run_table = env.tables[jobnet2sfn::back::asl::RUN_TABLE].clone();
        let waiting =
            |date: &'static str| wait_began(&env, &run_table, &jobnet, date, "/t_fw/rates");
        // A file already there when the wait begins does not end it: it gives up at its
        // cutoff.
        let before = deliver(
            "written-before",
            rule,
            s3_event(
                "Object Created",
                "rates/old.csv",
                now() - chrono::Duration::seconds(5),
            ),
        )
        .await;
        assert_eq!(before.status, "SUCCEEDED", "{before:?}");
        let stale = start("fw-1", "2027-03-01").await;
        assert_eq!(stale.status, "FAILED", "{stale:?}");
        assert_eq!(started_units(&env, "fw-1", "/t_fw/").await, set(&["a"]));
        // Written and deleted while the waits wait: the run goes on.
        let run = start("fw-2", "2027-03-02");
        let events = async {
            waiting("2027-03-02").await;
            let write = deliver(
                "written",
                rule,
                s3_event("Object Created", "rates/new.csv", now()),
            )
            .await;
            let delete = deliver(
                "deleted",
                unlock_rule,
                s3_event("Object Deleted", "lock.flag", now()),
            )
            .await;
            (write, delete)
        };
        let (run, (write, delete)) = tokio::join!(run, events);
        assert_eq!(write.status, "SUCCEEDED", "{write:?}");
        assert_eq!(delete.status, "SUCCEEDED", "{delete:?}");
        assert_eq!(run.status, "SUCCEEDED", "{run:?}");
        assert_eq!(
            started_units(&env, "fw-2", "/t_fw/").await,
            set(&["a", "b"])
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
