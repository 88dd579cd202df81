//! Hand-written ajsprint snippets, one feature each, asserting the IR they lower to, the
//! diagnostics bad input gives, and that imported specs load back with the same structure.

use jobnet2sfn::diag::{Diagnostics, Severity};
use jobnet2sfn::front::{jp1, spec};
use jobnet2sfn::ir::*;

fn lower(text: &str) -> (Project, Diagnostics) {
    let mut project = Project::default();
    let file = project.sources.add("t.ajs", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    jp1::load(&mut project, file, &mut diags);
    (project, diags)
}

fn lower_ok(text: &str) -> Project {
    let (p, d) = lower(text);
    let errors: Vec<_> = d
        .items
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    p
}

/// `p` compiled with the default options (which must succeed).
fn compile_ok(p: &Project) -> jobnet2sfn::driver::Compiled {
    let mut diags = Diagnostics::default();
    jobnet2sfn::driver::compile(
        p,
        &jobnet2sfn::driver::CompileOptions::default(),
        &mut diags,
    )
    .unwrap_or_else(|| panic!("{:?}", diags.items))
}

fn unit<'p>(p: &'p Project, path: &str) -> &'p Unit {
    p.units
        .iter()
        .map(|(_, u)| u)
        .find(|u| u.path == path)
        .unwrap_or_else(|| panic!("no unit {path}"))
}

fn job<'p>(p: &'p Project, path: &str) -> &'p Job {
    match &unit(p, path).kind {
        UnitKind::Job(j) => j,
        other => panic!("{path} is {other:?}"),
    }
}

fn edges(p: &Project, net: &str) -> Vec<(String, String, EdgeKind)> {
    unit(p, net)
        .as_net()
        .expect("net")
        .edges
        .iter()
        .map(|e| {
            (
                p.units[e.from].name.clone(),
                p.units[e.to].name.clone(),
                e.kind,
            )
        })
        .collect()
}

fn e(a: &str, b: &str, k: EdgeKind) -> (String, String, EdgeKind) {
    (a.into(), b.into(), k)
}

/// A root jobnet `/g/n` holding `body` (children and net parameters).
fn net(body: &str) -> String {
    format!("unit=g,,,;{{ty=g;unit=n,,,;{{ty=n;{body}}}}}")
}

#[test]
fn nested_nets_edges_and_paths() {
    let p = lower_ok(&net(
        "ar=(f=a,t=sub);ar=(f=sub,t=c,seq);
         unit=a,,,;{ty=j;sc=\"a.sh\";}
         unit=sub,,,;{ty=n;ar=(f=x,t=y);unit=x,,,;{ty=j;te=\"echo x\";}unit=y,,,;{ty=j;te=\"echo y\";}}
         unit=c,,,;{ty=j;sc=\"c.sh\";prm=\"1 2\";}",
    ));
    assert_eq!(p.roots.len(), 1);
    assert_eq!(p.units[p.roots[0]].path, "/g/n");
    assert_eq!(
        edges(&p, "/g/n"),
        vec![
            e("a", "sub", EdgeKind::Normal),
            e("sub", "c", EdgeKind::Normal)
        ]
    );
    assert_eq!(edges(&p, "/g/n/sub"), vec![e("x", "y", EdgeKind::Normal)]);
    assert_eq!(
        unit(&p, "/g/n/sub/y").parent,
        Some(
            p.units
                .iter()
                .find(|(_, u)| u.path == "/g/n/sub")
                .unwrap()
                .0
        )
    );
    assert_eq!(job(&p, "/g/n/c").params["command"], "c.sh 1 2");
    assert_eq!(job(&p, "/g/n/c").job_type, "ecs");
}

#[test]
fn job_types_and_parameters() {
    let p = lower_ok(&net(
        "unit=u,,,;{ty=j;te=\"run\";env=\"A=1\";env=\"B=x=y\";un=batch;ex=\"host1\";}
         unit=w,,,;{ty=pj;sc=\"C:\\bin\\a.exe\";prm=\"/q\";wkp=\"D:\\work\";}
         unit=q,,,;{ty=qj;sc=\"q.sh\";}
         unit=r,,,;{ty=rpj;sc=\"r.bat\";}
         unit=f,,,;{ty=fxj;sc=\"f.sh\";}
         ar=(f=q,t=r);",
    ));
    let u = job(&p, "/g/n/u");
    assert_eq!(u.params["command"], "run");
    assert_eq!(u.params["environment"]["A"], "1");
    assert_eq!(u.params["environment"]["B"], "x=y");
    assert_eq!(u.params["user"], "batch");
    assert_eq!(u.params["host"], "host1");
    let w = job(&p, "/g/n/w");
    assert_eq!(w.job_type, "ecs-windows");
    assert_eq!(
        w.params["command"],
        "cd /d \"D:\\work\" && C:\\bin\\a.exe /q"
    );
    assert_eq!(w.params["working_directory"], "D:\\work");
    assert_eq!(job(&p, "/g/n/q").job_type, "ecs");
    assert_eq!(job(&p, "/g/n/r").job_type, "ecs-windows");
    assert!(unit(&p, "/g/n/r").recovery);
    assert_eq!(job(&p, "/g/n/f").job_type, "ecs");
}

#[test]
fn end_judgment_thresholds() {
    let p = lower_ok(&net("unit=a,,,;{ty=j;te=\"x\";wth=3;tho=8;}
         unit=b,,,;{ty=j;te=\"x\";jd=nm;}
         unit=c,,,;{ty=j;te=\"x\";jd=ab;}
         unit=d,,,;{ty=j;te=\"x\";jd=exf;jdf=\"/data/ok\";}
         unit=e,,,;{ty=j;te=\"x\";jd=mdf;jdf=\"/data/m\";}
         unit=f,,,;{ty=j;te=\"x\";}"));
    assert_eq!(
        job(&p, "/g/n/a").end,
        EndJudgment::ReturnCode {
            warning: Some(3),
            abnormal: 8
        }
    );
    assert_eq!(job(&p, "/g/n/b").end, EndJudgment::AlwaysNormal);
    assert_eq!(job(&p, "/g/n/c").end, EndJudgment::AlwaysAbnormal);
    assert_eq!(
        job(&p, "/g/n/d").end,
        EndJudgment::FileExists("/data/ok".into())
    );
    assert_eq!(
        job(&p, "/g/n/e").end,
        EndJudgment::FileModified("/data/m".into())
    );
    assert_eq!(job(&p, "/g/n/f").end, EndJudgment::default());
    let (_, d) = lower(&net("unit=a,,,;{ty=j;te=\"x\";wth=9;tho=2;}"));
    assert!(d
        .items
        .iter()
        .any(|x| x.code == "E0311" && x.severity == Severity::Error));
}

#[test]
fn retry_cutoff_expected_and_hold() {
    let p = lower_ok(&net(
        "unit=a,,,;{ty=j;te=\"x\";abr=y;rjs=10;rje=20;rec=3;rei=2;etm=30;ets=wr;fd=15;ha=y;}
         unit=b,,,;{ty=j;te=\"x\";abr=n;rec=3;etm=5;}",
    ));
    let a = unit(&p, "/g/n/a");
    let UnitKind::Job(j) = &a.kind else { panic!() };
    let r = j.retry.as_ref().expect("retry");
    assert_eq!(
        (r.max_attempts, r.interval_seconds, r.return_codes),
        (3, 120, Some((10, 20)))
    );
    let c = a.cutoff.as_ref().expect("cutoff");
    assert_eq!((c.minutes, c.on_timeout), (30, EndStatus::Warning));
    assert_eq!(a.expected_minutes, Some(15));
    assert!(a.hold);
    let b = unit(&p, "/g/n/b");
    let UnitKind::Job(j) = &b.kind else { panic!() };
    assert!(j.retry.is_none());
    assert_eq!(
        b.cutoff.as_ref().map(|c| c.on_timeout),
        Some(EndStatus::Abnormal)
    );
}

/// `ha=w`/`ha=a` hold a root jobnet's run after its previous run's warning or abnormal end;
/// below the root JP1 has no previous run to look at, so it is reported, not guessed.
#[test]
fn hold_after_the_previous_run_on_root_jobnets() {
    let text = "unit=g,,,;{ty=g;
           unit=w,,,;{ty=n;ha=w;unit=a,,,;{ty=j;te=\"a\";}}
           unit=ab,,,;{ty=n;ha=a;unit=s,,,;{ty=n;ha=w;unit=b,,,;{ty=j;te=\"b\";}}}}";
    let mut p = Project::default();
    let file = p.sources.add("t.ajs", text.to_string(), "utf-8");
    let mut diags = Diagnostics::default();
    let cov = jp1::load_with_coverage(&mut p, file, &jp1::LoadOptions::default(), &mut diags);
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(unit(&p, "/g/w").hold_after, Some(PreviousEnd::Warning));
    assert_eq!(unit(&p, "/g/ab").hold_after, Some(PreviousEnd::Abnormal));
    assert!(!unit(&p, "/g/w").hold);
    let nested = unit(&p, "/g/ab/s");
    assert_eq!((nested.hold, nested.hold_after), (false, None));
    let ha: Vec<_> = cov
        .findings
        .iter()
        .filter(|r| r.key.as_deref() == Some("ha"))
        .map(|r| (r.line, r.status.clone()))
        .collect();
    assert!(
        matches!(&ha[..], [(3, jp1::Status::Unsupported(why))] if why.contains("root jobnets only")),
        "{ha:?}"
    );
    round_trip(&p);
}

#[test]
fn or_job_joins_or() {
    let p = lower_ok(&net(
        "unit=a,,,;{ty=j;te=\"a\";}unit=b,,,;{ty=j;te=\"b\";}unit=o,,,;{ty=orj;}unit=c,,,;{ty=j;te=\"c\";}
         ar=(f=a,t=o);ar=(f=b,t=o);ar=(f=o,t=c);",
    ));
    let o = unit(&p, "/g/n/o");
    assert_eq!(o.join, JoinKind::Or);
    assert!(matches!(o.kind, UnitKind::NoOp));
    assert_eq!(unit(&p, "/g/n/c").join, JoinKind::And);
    assert_eq!(edges(&p, "/g/n").len(), 3);
}

#[test]
fn judgments_every_form_and_conditional_edges() {
    let p = lower_ok(&net("unit=a,,,;{ty=j;te=\"a\";}
         unit=j1,,,;{ty=jdj;ej=ge;ejc=4;}
         unit=d1,,,;{ty=j;te=\"d\";}
         unit=after,,,;{ty=j;te=\"x\";}
         ar=(f=a,t=j1);ar=(f=j1,t=d1,con);ar=(f=j1,t=after);
         unit=j2,,,;{ty=jdj;ej=ri;ejl=1;ejh=5;}
         unit=j3,,,;{ty=jdj;ej=ef;ejf=\"s3://b/k\";}
         unit=j4,,,;{ty=jdj;ej=nf;ejf=\"/in/x\";}
         unit=j5,,,;{ty=jdj;ej=vge;ejv=\"RC\";eji=3;}
         unit=j6,,,;{ty=jdj;ej=sce;ejv=\"REGION\";ejt=\"east\";}
         unit=j7,,,;{ty=jdj;ej=ro;ejl=2;ejm=gt;ejh=9;eju=lt;}
         unit=j8,,,;{ty=jdj;}
         unit=b,,,;{ty=j;te=\"b\";}unit=c,,,;{ty=j;te=\"c\";}unit=k,,,;{ty=j;te=\"k\";}
         ar=(f=b,t=j2);ar=(f=c,t=j7);ar=(f=k,t=j8);"));
    let cond = |path: &str| match &unit(&p, path).kind {
        UnitKind::Judgment(j) => j.condition.clone(),
        other => panic!("{path}: {other:?}"),
    };
    assert_eq!(
        cond("/g/n/j1"),
        Condition::ReturnCode {
            op: CmpOp::Ge,
            value: 4
        }
    );
    assert_eq!(
        cond("/g/n/j2"),
        Condition::ReturnCodeRange {
            inside: true,
            low: 1,
            high: 5
        }
    );
    assert_eq!(
        cond("/g/n/j3"),
        Condition::FileExists {
            path: "s3://b/k".into(),
            exists: true
        }
    );
    assert_eq!(
        cond("/g/n/j4"),
        Condition::FileExists {
            path: "/in/x".into(),
            exists: false
        }
    );
    assert_eq!(
        cond("/g/n/j5"),
        Condition::Variable {
            name: "RC".into(),
            op: CmpOp::Ge,
            value: "3".into()
        }
    );
    assert_eq!(
        cond("/g/n/j6"),
        Condition::Variable {
            name: "REGION".into(),
            op: CmpOp::Eq,
            value: "east".into()
        }
    );
    assert_eq!(
        cond("/g/n/j7"),
        Condition::ReturnCodeRange {
            inside: false,
            low: 3,
            high: 8
        }
    );
    assert_eq!(
        cond("/g/n/j8"),
        Condition::ReturnCode {
            op: CmpOp::Gt,
            value: 0
        }
    );
    let es = edges(&p, "/g/n");
    assert!(es.contains(&e("j1", "d1", EdgeKind::Conditional)));
    assert!(es.contains(&e("j1", "after", EdgeKind::Normal)));
    // A variable-range judgment has no IR form: kept as an unsupported unit.
    let (p, _) = lower(&net("unit=v,,,;{ty=jdj;ej=vri;ejv=\"X\";}"));
    assert!(matches!(
        unit(&p, "/g/n/v").kind,
        UnitKind::Unsupported { .. }
    ));
}

#[test]
fn recovery_units() {
    let p = lower_ok(&net(
        "unit=a,,,;{ty=j;te=\"a\";}unit=ra,,,;{ty=rj;te=\"fix\";}unit=rn1,,,;{ty=rn;unit=x,,,;{ty=j;te=\"x\";}}
         ar=(f=a,t=ra);ar=(f=ra,t=rn1);",
    ));
    assert!(unit(&p, "/g/n/ra").recovery);
    assert!(unit(&p, "/g/n/rn1").recovery);
    assert!(!unit(&p, "/g/n/a").recovery);
    assert!(matches!(unit(&p, "/g/n/rn1").kind, UnitKind::Net(_)));
    assert_eq!(
        edges(&p, "/g/n"),
        vec![
            e("a", "ra", EdgeKind::Normal),
            e("ra", "rn1", EdgeKind::Normal)
        ]
    );
}

#[test]
fn file_monitoring_jobs_become_file_waits() {
    let (p, d) = lower(
        "unit=g,,,;{ty=g;
           unit=n,,,;{ty=n;
             unit=s3,,,;{ty=flwj;flwf=\"s3://in/ready.ok\";flwi=30;flco=y;etm=10;ets=nr;}
             unit=dos,,,;{ty=flwj;flwf=\"C:\\in\\end.file\";}
             unit=del,,,;{ty=flwj;flwf=\"s3://in/x\";flwc=d;}
             unit=mod,,,;{ty=flwj;flwf=\"s3://in/m\";flwc=m;}
             unit=size,,,;{ty=flwj;flwf=\"s3://in/s\";flwc=c:d:s;flco=y;flco=n;}
             unit=star,,,;{ty=flwj;flwf=\"/data/*.csv\";}
             unit=there,,,;{ty=flwj;flwf=\"/data/*.csv\";flco=y;}
             unit=delco,,,;{ty=flwj;flwf=\"s3://in/l\";flwc=d;flco=y;}
             unit=cs,,,;{ty=flwj;flwf=\"s3://in/cs\";flwc=c:s;}
             unit=run,,,;{ty=flwj;flwf=\"s3://in/${DAY}.csv\";flwc=c:d;}
             unit=rund,,,;{ty=flwj;flwf=\"s3://in/${DAY}.csv\";flwc=d;}
             unit=runy,,,;{ty=flwj;flwf=\"s3://in/${DAY}.csv\";flco=y;}
             unit=empty,,,;{ty=flwj;flwf=\"\";}
             unit=a,,,;{ty=j;te=\"a\";}
             ar=(f=s3,t=a);ar=(f=dos,t=a);}}",
    );
    assert!(
        d.items.iter().all(|x| x.severity != Severity::Error),
        "{:?}",
        d.items
    );
    let s3 = unit(&p, "/g/n/s3");
    let file_wait = |path: &str| match &unit(&p, path).kind {
        UnitKind::FileWait(w) => w.clone(),
        other => panic!("{path}: {other:?}"),
    };
    let written = Some(ObjectEvents {
        written: true,
        deleted: false,
    });
    // `flco=y`: a file already there ends the wait, so it waits for the object to exist.
    assert_eq!(
        file_wait("/g/n/s3"),
        FileWait {
            path: "s3://in/ready.ok".into(),
            interval_seconds: 30,
            events: None,
        }
    );
    let c = s3.cutoff.as_ref().expect("etm= is the wait's cutoff");
    assert_eq!((c.minutes, c.on_timeout), (10, EndStatus::Normal));
    // JP1 waits for a change from what was there when the wait began: S3 events after it.
    assert_eq!(
        file_wait("/g/n/dos"),
        FileWait {
            path: r"C:\in\end.file".into(),
            interval_seconds: FileWait::DEFAULT_INTERVAL,
            events: written,
        }
    );
    assert!(unit(&p, "/g/n/dos").cutoff.is_none());
    let events = |path: &str| file_wait(path).events;
    assert_eq!(
        events("/g/n/del"),
        Some(ObjectEvents {
            written: false,
            deleted: true
        })
    );
    assert_eq!(events("/g/n/mod"), written);
    assert_eq!(
        events("/g/n/size"),
        Some(ObjectEvents {
            written: true,
            deleted: true
        }),
        "the last `flco=` wins"
    );
    assert_eq!(
        events("/g/n/star"),
        written,
        "a rule matches a wildcard name"
    );
    assert_eq!(
        events("/g/n/there"),
        written,
        "a wildcard name cannot be looked for: only a new write ends it (approximated)"
    );
    assert_eq!(
        events("/g/n/delco"),
        Some(ObjectEvents {
            written: false,
            deleted: true
        }),
        "`flco=y` counts only with creation"
    );
    assert_eq!(
        file_wait("/g/n/run").events,
        None,
        "a name filled in at run time is looked for"
    );
    for (name, why) in [
        ("rund", "a deletion of a file named at run time: no rule"),
        ("empty", "no file to look for"),
    ] {
        assert!(
            matches!(&unit(&p, &format!("/g/n/{name}")).kind, UnitKind::Unsupported { type_name, .. } if type_name == "flwj"),
            "{name}: {why}"
        );
    }

    // The conversion report: only a deletion is exact; S3 events cannot tell a creation
    // from an overwrite, nor say the size before.
    let report = jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    // What the unit and its parameters say, each once.
    let notes = |name: &str| -> Vec<jp1::Status> {
        report
            .findings
            .iter()
            .filter(|r| r.unit_path == format!("/g/n/{name}"))
            .map(|r| r.status.clone())
            .collect()
    };
    let mapped = |name: &str| notes(name).is_empty();
    let approximated = |name: &str, how: &str| {
        notes(name)
            .iter()
            .filter(|s| matches!(s, jp1::Status::Approximated(h) if h.contains(how)))
            .count()
            == 1
    };
    assert!(mapped("s3") && mapped("del") && mapped("delco"));
    assert!(
        mapped("runy") && file_wait("/g/n/runy").events.is_none(),
        "a name filled in at run time with `flco=y`: existence is exact"
    );
    assert!(approximated(
        "dos",
        "an overwrite of a file already there counts as a creation"
    ));
    assert!(approximated(
        "mod",
        "the creation of a file that was not there counts as a change"
    ));
    assert!(
        approximated("cs", "one that keeps the size too") && !approximated("cs", "an overwrite"),
        "an overwrite that changes the size is a change of size: {:?}",
        notes("cs")
    );
    assert!(approximated(
        "there",
        "a file already there does not end the wait"
    ));
    assert!(approximated("star", "`*` matches `/` too"));
    assert!(approximated(
        "run",
        "a file named at run time is looked for"
    ));
    let flwc = &report.params["flwc"];
    assert_eq!(
        (flwc.total, flwc.mapped),
        (7, 2),
        "d (twice) mapped; m, c:d:s, c:s and a name filled in at run time approximated, the unsupported unit's own: {flwc:?}"
    );
    let flco = &report.params["flco"];
    assert_eq!(
        (flco.total, flco.mapped, flco.ignored),
        (6, 3, 2),
        "s3's, runy's and size's last (n) mapped; delco's (y without c) and size's first ignored; there's approximated: {flco:?}"
    );
    let (_, d) =
        lower("unit=g,,,;{ty=g;unit=n,,,;{ty=n;unit=f,,,;{ty=flwj;flwf=\"s3://in/f\";flwc=s:m;}}}");
    assert!(
        d.items.iter().any(|x| x.message.contains("s:m")),
        "JP1 refuses `s` with `m`: {:?}",
        d.items
    );

    // Compiled: one rule per event wait, each on its object's S3 events.
    let compiled = compile_ok(&p);
    let out = &compiled.outputs[0];
    let rules: Vec<(String, serde_json::Value)> = out
        .event_waits
        .iter()
        .map(|w| (w.path.clone(), w.watched.pattern()))
        .collect();
    let pattern = |path: &str| {
        rules
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("no rule for {path}: {rules:?}"))
            .1
            .clone()
    };
    assert_eq!(
        rules.len(),
        8,
        "dos, del, mod, size, star, there, delco, cs: {rules:?}"
    );
    assert_eq!(
        pattern("/g/n/del"),
        serde_json::json!({"source": ["aws.s3"], "detail-type": ["Object Deleted"],
            "detail": {"bucket": {"name": ["in"]}, "object": {"key": ["x"]}}})
    );
    assert_eq!(
        pattern("/g/n/size")["detail-type"],
        serde_json::json!(["Object Created", "Object Deleted"])
    );
    assert_eq!(
        pattern("/g/n/star")["detail"],
        serde_json::json!({"bucket": {"name": [{"Ref": "LegacyFileBucket"}]},
            "object": {"key": [{"wildcard": "data/*.csv"}]}})
    );
    assert_eq!(
        pattern("/g/n/dos")["detail"]["object"]["key"],
        serde_json::json!(["C/in/end.file"])
    );
    let template = &compiled.files["template.yaml"];
    assert!(
        template.contains("  LegacyFileBucket:\n    Type: String"),
        "the legacy bucket is a parameter of the template: {template}"
    );
}

#[test]
fn shell_variables_in_unix_commands_stay_shell_variables() {
    let p = lower_ok(
        "unit=g,,,;{ty=g;unit=n,,,;{ty=n;
           unit=u,,,;{ty=j;te=\"cp ${SRC}/a ${DST:-/tmp}/${SRC}x $HOME\";}
           unit=w,,,;{ty=pj;sc=\"run.bat\";prm=\"${KEEP}\";}}}",
    );
    // `${SRC}` in a definition would be a deploy-time parameter; `${SRC:-}` is the same
    // expansion in `sh`. Windows commands are left alone (cmd.exe has no `${}`).
    assert_eq!(
        job(&p, "/g/n/u").params["command"],
        "cp ${SRC:-}/a ${DST:-/tmp}/${SRC:-}x $HOME"
    );
    let w = job(&p, "/g/n/w").params["command"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(w.contains("${KEEP}"), "{w}");
}

#[test]
fn event_and_mail_sending_become_eventbridge_and_sns_jobs() {
    let p = lower_ok(
        "unit=g,,,;{ty=g;
           unit=n,,,;{ty=n;
             unit=ev,,,;{ty=evsj;evsid=00000100;evsms=\"done\";evssv=wr;evsfr=SYSTEM:\"billing\";etm=5;}
             unit=ml,,,;{ty=mlsj;mladr=\"to:ops@example.com\";mlsbj=\"夜間バッチ\";mltxt=\"完了\";}
             ar=(f=ev,t=ml);}}",
    );
    let ev = job(&p, "/g/n/ev");
    assert_eq!(ev.job_type, "eventbridge");
    assert_eq!(ev.end, EndJudgment::default(), "a failed send is abnormal");
    assert_eq!(
        ev.params["detail"],
        serde_json::json!({"eventId": "00000100", "message": "done", "severity": "Warning",
                           "attributes": {"SYSTEM": "billing"}})
    );
    assert_eq!(
        unit(&p, "/g/n/ev").cutoff.as_ref().map(|c| c.minutes),
        Some(5)
    );
    let ml = job(&p, "/g/n/ml");
    assert_eq!(ml.job_type, "sns");
    // SNS subjects are ASCII: a Japanese one opens the message instead.
    assert!(ml.params.get("subject").is_none());
    assert_eq!(ml.params["message"], "夜間バッチ\n\n完了");
}

#[test]
fn waits_connectors_and_cross_jobnet_waits() {
    let p = lower_ok(
        "unit=g,,,;{ty=g;
           unit=other,,,;{ty=n;unit=z,,,;{ty=j;te=\"z\";}}
           unit=n,,,;{ty=n;
             unit=t,,,;{ty=tmwj;tmitv=15;}
             unit=c,,,;{ty=nc;ncn=\"/g/other\";}
             unit=a,,,;{ty=j;te=\"a\";eun=\"/g/other/z\";}
             ar=(f=t,t=c);ar=(f=c,t=a);}}",
    );
    assert_eq!(
        unit(&p, "/g/n/t").kind.label(),
        UnitKind::Wait(TimeWait::Minutes(15)).label()
    );
    let UnitKind::Wait(w) = &unit(&p, "/g/n/t").kind else {
        panic!()
    };
    assert_eq!(*w, TimeWait::Minutes(15));
    let UnitKind::WaitFor(w) = &unit(&p, "/g/n/c").kind else {
        panic!()
    };
    assert_eq!(
        w.target, "other",
        "JP1 paths of loaded roots become root names"
    );
    let waits: Vec<_> = p
        .units
        .iter()
        .filter_map(|(_, u)| match &u.kind {
            UnitKind::WaitFor(w) if u.path != "/g/n/c" => Some((u.path.clone(), w.target.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert_eq!(waits[0].1, "other/z");
    let mut vd = Diagnostics::default();
    jobnet2sfn::passes::validate::validate(&p, &["ecs".to_string()], &mut vd);
    assert!(!vd.has_errors(), "{:?}", vd.items);
    let wname = waits[0].0.rsplit('/').next().unwrap().to_string();
    assert!(edges(&p, "/g/n").contains(&e(&wname, "a", EdgeKind::Normal)));
}

/// A unit's delays as (deadline, rule names).
fn deadlines(monitors: &[jobnet2sfn::ir::DelayMonitor]) -> Vec<(TimeRef, Vec<&str>)> {
    monitors
        .iter()
        .map(|m| (m.at.clone(), m.rules.iter().map(String::as_str).collect()))
        .collect()
}

#[test]
fn delays_per_schedule_rule() {
    let p = lower_ok(
        "unit=grp,,,;{ty=g;
           unit=n,,,;{ty=n;
             sd=1,*1;cy=1,(1,m);st=1,08:00;
             sd=2,b;cy=2,(1,m);st=2,20:00;
             sd=3,mo;cy=3,(1,w);st=3,09:00;
             sd=4,en;st=4,10:00;
             sy=1,M30;sy=2,M30;sy=4,M5;sy=2,M10;
             ey=3,12:00;ey=1,C60;ey=C60;
             unit=a,,,;{ty=j;te=\"a\";}
             unit=sub,,,;{ty=n;sd=0,ud;ln=1,1;ln=2,3;sy=1,M5;ey=2,U10;ey=4,C3;
               unit=x,,,;{ty=j;te=\"x\";}
               unit=deep,,,;{ty=n;ln=2,2;ey=2,C7;unit=y,,,;{ty=j;te=\"y\";}}}
             unit=all,,,;{ty=n;ey=1,C9;ey=2,C9;ey=3,C9;unit=z,,,;{ty=j;te=\"z\";}}
             unit=mid,,,;{ty=n;ln=1,2;unit=leaf,,,;{ty=n;ey=C4;unit=v,,,;{ty=j;te=\"v\";}}}
             unit=dup,,,;{ty=n;ln=1,1;ln=2,1;ey=1,C9;ey=2,C9;unit=w,,,;{ty=j;te=\"w\";}}}
           unit=one,,,;{ty=n;sd=1,*1;cy=1,(1,m);sy=2,M5;ey=M90;
             unit=b,,,;{ty=j;te=\"b\";}}
           unit=hand,,,;{ty=n;sd=0,ud;ey=M90;ey=2,M5;unit=c,,,;{ty=j;te=\"c\";}}
           unit=reg,,,;{ty=n;sd=1,en;ey=1,M60;unit=e,,,;{ty=j;te=\"e\";}}}",
    );
    let n = unit(&p, "/grp/n");
    // Rule 2's later `sy` wins; rule 4 (`en`) is not converted, so its delay watches nothing.
    assert_eq!(
        deadlines(&n.start_delay),
        vec![
            (TimeRef::AfterRootStart(30), vec!["1"]),
            (TimeRef::AfterRootStart(10), vec!["2"]),
        ]
    );
    // `ey=C60` is rule 1's too and overrides `ey=1,C60`; equal deadlines share one entry.
    assert_eq!(
        deadlines(&n.end_delay),
        vec![
            (TimeRef::AfterOwnStart(60), vec!["1"]),
            (TimeRef::Absolute(ClockTime::new(12, 0).unwrap()), vec!["3"]),
        ]
    );
    // Nested jobnets follow the root's rules through `ln=` (rule N ↔ upper rule N by
    // default): sub's rule 2 is the root's 3, deep's 2 is sub's 2, so the root's 3 too.
    let sub = unit(&p, "/grp/n/sub");
    assert_eq!(
        deadlines(&sub.start_delay),
        vec![(TimeRef::AfterRootStart(5), vec!["1"])]
    );
    assert_eq!(
        deadlines(&sub.end_delay),
        vec![(TimeRef::AfterUpperStart(10), vec!["3"])]
    );
    let deep = unit(&p, "/grp/n/sub/deep");
    assert_eq!(
        deadlines(&deep.end_delay),
        vec![(TimeRef::AfterOwnStart(7), vec!["3"])]
    );
    // A jobnet without delays still links those inside it: leaf's rule 1 is mid's 1, which
    // follows the root's 2; two rules following one root rule with one deadline are one.
    let leaf = unit(&p, "/grp/n/mid/leaf");
    assert_eq!(
        deadlines(&leaf.end_delay),
        vec![(TimeRef::AfterOwnStart(4), vec!["2"])]
    );
    let dup = unit(&p, "/grp/n/dup");
    assert_eq!(
        deadlines(&dup.end_delay),
        vec![(TimeRef::AfterOwnStart(9), vec!["1"])]
    );
    // The same delay for every rule of the root: every run.
    let all = unit(&p, "/grp/n/all");
    assert_eq!(
        deadlines(&all.end_delay),
        vec![(TimeRef::AfterOwnStart(9), vec![])]
    );
    let rules: Vec<_> = n
        .as_net()
        .unwrap()
        .schedule
        .as_ref()
        .unwrap()
        .rules
        .iter()
        .map(|r| r.name.as_deref())
        .collect();
    assert_eq!(rules, vec![Some("1"), Some("2"), Some("3")]);
    // One converted rule with a delay: it watches every run (runs started by hand too);
    // a delay of a rule the jobnet does not have watches nothing.
    let one = unit(&p, "/grp/one");
    assert_eq!(deadlines(&one.start_delay), vec![]);
    assert_eq!(
        deadlines(&one.end_delay),
        vec![(TimeRef::AfterRootStart(90), vec![])]
    );
    // Without a schedule (started by hand, JP1's rule 1; `sd=0,ud` is none) rule 1's delay
    // watches every run;
    // with rule 1 not converted too, approximated.
    let hand = unit(&p, "/grp/hand");
    assert_eq!(
        deadlines(&hand.end_delay),
        vec![(TimeRef::AfterRootStart(90), vec![])]
    );
    let reg = unit(&p, "/grp/reg");
    assert_eq!(
        deadlines(&reg.end_delay),
        vec![(TimeRef::AfterRootStart(60), vec![])]
    );
    let cov = jobnet2sfn::front::jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    let statuses = |key: &str| {
        let c = &cov.params[key];
        (
            c.total,
            c.mapped,
            c.approximated.values().sum::<u32>(),
            c.unsupported.values().sum::<u32>(),
        )
    };
    // sy: 1, the second 2 and sub's 1 mapped; the first 2 overridden; 4 and one's 2 not
    // converted.
    assert_eq!(statuses("sy"), (6, 3, 0, 3));
    // ey: n's two, sub's 2, deep's, all's three, leaf's, dup's two and one's mapped; n's first rule-1
    // overridden and sub's 4 linked to nothing; hand's rule 1 mapped and its rule 2
    // unsupported; reg's approximated.
    assert_eq!(statuses("ey"), (16, 12, 1, 3));
    assert_eq!(cov.params["ln"].mapped, 6, "the links of nested jobnets");
    // A malformed link is an error (rules are 1 to 144).
    let (_, d) = lower(
        "unit=g,,,;{ty=g;unit=r,,,;{ty=n;sd=1,*1;cy=1,(1,m);unit=s,,,;{ty=n;ln=2,x;ln=200,1;}}}",
    );
    assert_eq!(
        d.items.iter().filter(|x| x.code == "E0311").count(),
        2,
        "{:?}",
        d.items
    );
}

#[test]
fn calendars_schedules_and_delays() {
    let p = lower_ok(
        "unit=grp,,,;{ty=g;op=sa;cl=su;cl=2026/01/01;stt=05:00;
           unit=n,,,;{ty=n;
             sd=1,2026/04/01;st=1,+02:30;cy=1,(1,d);sh=1,af;shd=1,3;
             sd=2,*1;cy=2,(1,m);st=2,10:00;cftd=2,be,2,5;
             sd=3,b;cy=3,(1,m);st=3,26:00;sh=3,be;
             sd=4,mo;cy=4,(1,w);ed=4,2026/12/31;
             sd=5,2026/04/10;
             sy=1,M30;ey=1,23:00;mp=y;ejn=\"/grp/other\";
             unit=a,,,;{ty=j;te=\"a\";sy=C5;ey=U10;}}
           unit=other,,,;{ty=n;sd=1,fr:b;cy=1,(1,m);unit=b,,,;{ty=j;te=\"b\";}}}",
    );
    let (_, cal) = p.calendars.iter().next().expect("calendar");
    assert_eq!(cal.name, "grp");
    assert_eq!(cal.weekdays[5], Some(DayKind::Open));
    assert_eq!(cal.weekdays[6], Some(DayKind::Closed));
    assert_eq!(cal.day_start, ClockTime::new(5, 0));
    assert_eq!(cal.dates.len(), 1);
    let n = unit(&p, "/grp/n");
    let net = n.as_net().unwrap();
    assert_eq!(net.calendar.as_ref().unwrap().name, "grp");
    assert!(net.concurrency.multiple_launch);
    let s = net.schedule.as_ref().expect("schedule");
    assert_eq!(s.exclusive_with, vec!["other".to_string()]);
    assert_eq!(s.timezone, "Asia/Tokyo");
    let d = |y, m, dd| Date::from_ymd_opt(y, m, dd).unwrap();
    let r = &s.rules;
    assert_eq!(r.len(), 5, "{r:#?}");
    assert_eq!(
        r[0].days,
        DayRule::EveryNDays {
            n: 1,
            from: d(2026, 4, 1)
        }
    );
    assert_eq!(
        r[0].times,
        vec![ClockTime::new(7, 30).unwrap()],
        "+02:30 after the 05:00 base time"
    );
    assert_eq!(r[0].on_closed_day, ClosedDayAction::Next { max_days: 3 });
    assert_eq!(r[1].days, DayRule::NthOpenDay(1));
    assert_eq!(
        r[1].reckon,
        Some(Reckon {
            open_days: -2,
            max_days: 5
        })
    );
    assert_eq!(r[2].days, DayRule::DaysBeforeMonthEnd(0));
    assert_eq!(r[2].times, vec![ClockTime::new(26, 0).unwrap()]);
    assert_eq!(
        r[2].on_closed_day,
        ClosedDayAction::Previous { max_days: 2 }
    );
    assert_eq!(r[3].days, DayRule::Weekdays(vec![chrono::Weekday::Mon]));
    assert_eq!(r[3].valid_until, Some(d(2026, 12, 31)));
    assert_eq!(r[4].days, DayRule::Dates(vec![d(2026, 4, 10)]));
    // Rule 1's delays watch the runs of rule 1 only (the jobnet has five rules).
    assert_eq!(
        deadlines(&n.start_delay),
        vec![(TimeRef::AfterRootStart(30), vec!["1"])]
    );
    assert_eq!(
        deadlines(&n.end_delay),
        vec![(TimeRef::Absolute(ClockTime::new(23, 0).unwrap()), vec!["1"])]
    );
    // Below the root, a delay watches every run.
    let a = unit(&p, "/grp/n/a");
    assert_eq!(
        deadlines(&a.start_delay),
        vec![(TimeRef::AfterOwnStart(5), vec![])]
    );
    assert_eq!(
        deadlines(&a.end_delay),
        vec![(TimeRef::AfterUpperStart(10), vec![])]
    );
    let o = unit(&p, "/grp/other").as_net().unwrap();
    assert_eq!(
        o.schedule.as_ref().unwrap().rules[0].days,
        DayRule::NthWeekday {
            weekday: chrono::Weekday::Fri,
            n: -1
        }
    );
}

/// Cycles of months and years from a computed day, and `sd=en` with and without the
/// registration date the user gives.
#[test]
fn month_and_year_cycles_and_the_registration_date() {
    let text = "unit=grp,,,;{ty=g;
           unit=n,,,;{ty=n;
             sd=1,2027/03/*b;cy=1,(3,m);st=1,22:00;
             sd=2,2027/05/+b-10;cy=2,(9,y);
             sd=3,2028/02/29;cy=3,(1,y);
             sd=4,en;cy=4,(9,y);
             sd=5,en;cy=5,(1,d);
             sd=6,*1;cy=6,(3,m);
             sd=7,2027/04/mo;cy=7,(2,m);
             unit=a,,,;{ty=j;te=\"a\";}}}";
    let load = |registration_date| {
        let mut p = Project::default();
        let file = p.sources.add("t.ajs", text.to_string(), "utf-8");
        let mut diags = Diagnostics::default();
        let opts = jp1::LoadOptions {
            registration_date,
            ..Default::default()
        };
        let cov = jp1::load_with_coverage(&mut p, file, &opts, &mut diags);
        assert!(!diags.has_errors(), "{diags:?}");
        (p, cov)
    };
    let d = |y, m, dd| Date::from_ymd_opt(y, m, dd).unwrap();
    let sd_status = |cov: &jp1::Jp1Coverage, line: u32| {
        cov.findings
            .iter()
            .find(|r| r.key.as_deref() == Some("sd") && r.line == line)
            .map(|r| r.status.clone())
    };

    // A jobnet's rules and their names.
    let rules_of = |p: &Project, path: &str| -> (Vec<ScheduleRule>, Vec<String>) {
        let rules = unit(p, path)
            .as_net()
            .unwrap()
            .schedule
            .clone()
            .unwrap()
            .rules;
        let names = rules.iter().filter_map(|r| r.name.clone()).collect();
        (rules, names)
    };

    let (p, cov) = load(None);
    let (rules, names) = rules_of(&p, "/grp/n");
    // `en` every day is read as daily from deployment (approximated).
    assert_eq!(names, ["1", "2", "3", "5"], "{rules:#?}");
    assert_eq!(rules[3].days, DayRule::Daily);
    // The last open day of every third month from March 2027: a quarter-end close.
    assert_eq!(rules[0].days, DayRule::NthLastOpenDay(1));
    assert_eq!(
        rules[0].month_cycle,
        Some(MonthCycle {
            every: 3,
            year: 2027,
            month: 3
        })
    );
    assert_eq!(rules[0].valid_from, Some(d(2027, 3, 1)));
    // Every nine years is every 108 months.
    assert_eq!(rules[1].days, DayRule::DaysBeforeMonthEnd(10));
    assert_eq!(
        rules[1].month_cycle,
        Some(MonthCycle {
            every: 108,
            year: 2027,
            month: 5
        })
    );
    assert_eq!(
        rules[2].days,
        DayRule::EveryNMonths {
            n: 12,
            from: d(2028, 2, 29)
        }
    );
    assert_eq!(rules[2].month_cycle, None);
    let unsupported = |line, why: &str| {
        assert!(
            matches!(sd_status(&cov, line), Some(jp1::Status::Unsupported(w)) if w.contains(why)),
            "line {line}: {:?}",
            sd_status(&cov, line)
        )
    };
    unsupported(6, "--registration-date");
    assert!(matches!(
        sd_status(&cov, 7),
        Some(jp1::Status::Approximated(_))
    ));
    unsupported(8, "without its first month");
    unsupported(9, "without a week number");

    // The cut-over date given: `en` is that date.
    let (p, cov) = load(Some(d(2027, 4, 5)));
    let (rules, names) = rules_of(&p, "/grp/n");
    assert_eq!(names, ["1", "2", "3", "4", "5"]);
    assert_eq!(
        rules[3].days,
        DayRule::EveryNMonths {
            n: 108,
            from: d(2027, 4, 5)
        }
    );
    assert_eq!(
        rules[4].days,
        DayRule::EveryNDays {
            n: 1,
            from: d(2027, 4, 5)
        }
    );
    assert_eq!(sd_status(&cov, 6), None, "mapped: no finding");
    assert_eq!(sd_status(&cov, 7), None, "mapped: no finding");

    // The imported spec loads back with the same rules.
    let yaml = jp1::to_spec_yaml(&p, &p.roots);
    let mut back = Project::default();
    let file = back.sources.add("n.yaml", yaml[0].1.clone(), "utf-8");
    let mut diags = Diagnostics::default();
    spec::load(&mut back, file, &mut diags);
    assert!(!diags.has_errors(), "{diags:?}\n{}", yaml[0].1);
    let (again, _) = rules_of(&back, "/n");
    // (Rule names are written only where delays refer to them.)
    let strip = |r: &ScheduleRule| (r.days.clone(), r.month_cycle, r.valid_from);
    assert_eq!(
        again.iter().map(strip).collect::<Vec<_>>(),
        rules.iter().map(strip).collect::<Vec<_>>()
    );
}

#[test]
fn start_conditions() {
    let p = lower_ok(&net("unit=.CONDITION,,,;{ty=rc;cond=or;
           unit=f,,,;{ty=flwj;flwf=\"s3://drop/in.csv\";}
           unit=e,,,;{ty=evwj;evwid=0001:0;evwms=\"^batch (done|ok)\";}
           unit=r,,,;{ty=evwj;evwid=7FFF8001;evwms=\"^end of .*day$\";evwsv=er:wr;evwfr=PRODUCT:\"billing\";evusr=\"ops\";}
           unit=m,,,;{ty=mlwj;}}
         unit=a,,,;{ty=j;te=\"a\";}"));
    let jobnet = unit(&p, "/g/n").as_net().unwrap();
    let sc = jobnet.start_conditions.as_ref().expect("conditions");
    assert!(!sc.all);
    assert_eq!(
        sc.events[0],
        StartEvent::File {
            path: "s3://drop/in.csv".into(),
            events: ObjectEvents::WRITTEN
        }
    );
    // A regular expression EventBridge cannot match is no event it can watch.
    assert!(matches!(&sc.events[1], StartEvent::Other { kind, .. } if kind == "evwj"));
    assert_eq!(
        sc.events[2],
        StartEvent::EventReceived(EventMatch {
            source: "jobnet2sfn".into(),
            detail_type: "JP1 event".into(),
            id: Some("7FFF8001".into()),
            message: Some(TextMatch::Wildcard("end of *day".into())),
            severities: vec!["Error".into(), "Warning".into()],
            attributes: vec![("PRODUCT".into(), "billing".into())],
        })
    );
    assert!(matches!(&sc.events[3], StartEvent::Other { kind, .. } if kind == "mlwj"));
    assert_eq!(jobnet.children.len(), 1, ".CONDITION is not a child unit");

    // Compiled: the file and the JP1 event become EventBridge rules that start the gated
    // root machine; the others are reported.
    let compiled = compile_ok(&p);
    let root = &compiled.outputs[0].machines[0];
    assert_eq!(root.definition()["StartAt"], "ScheduledStart");
    let template = &compiled.files["template.yaml"];
    assert_eq!(
        template.matches("Type: AWS::Events::Rule").count(),
        2,
        "{template}"
    );
    assert!(template.contains("- in.csv"), "{template}");
    assert!(template.contains("wildcard: \"end of *day\""), "{template}");
    let findings: Vec<&str> = compiled.outputs[0]
        .findings
        .iter()
        .map(|f| f.what.as_str())
        .collect();
    assert!(
        findings.contains(&"start conditions: EventBridge rules on a write of s3://drop/in.csv; `JP1 event` events from `jobnet2sfn`, id 7FFF8001, message like `end of *day`, severity Error|Warning, PRODUCT `billing`"),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("start conditions EventBridge cannot watch: `evwj`")),
        "{findings:?}"
    );
    // What a migrated event sending job sends, a receiving start condition matches.
    let sender = lower_ok(&net(
        "unit=s,,,;{ty=evsj;evsid=7FFF8001;evsms=\"end of day\";}",
    ));
    let Some(params) = &job(&sender, "/g/n/s").params.get("detail").cloned() else {
        panic!("no detail")
    };
    assert_eq!(params["eventId"], "7FFF8001");
}

#[test]
fn start_conditions_on_file_changes() {
    let p = lower_ok(&net("unit=.CONDITION,,,;{ty=rc;cond=or;
           unit=c,,,;{ty=flwj;flwf=\"s3://drop/c.csv\";flwc=c;flwi=30;}
           unit=m,,,;{ty=flwj;flwf=\"s3://drop/m.csv\";flwc=c:m;}
           unit=d,,,;{ty=flwj;flwf=\"s3://drop/d.csv\";flwc=c:d;}
           unit=s,,,;{ty=flwj;flwf=\"s3://drop/s.csv\";flwc=c:d;flwc=d:s;flco=y;}
           unit=y,,,;{ty=flwj;flwf=\"s3://drop/y.csv\";flco=y;}
           unit=no,,,;{ty=flwj;flwf=\"s3://drop/n.csv\";flco=n;}}
         unit=a,,,;{ty=j;te=\"a\";}"));
    let sc = unit(&p, "/g/n")
        .as_net()
        .unwrap()
        .start_conditions
        .clone()
        .unwrap();
    let file = |path: &str, written, deleted| StartEvent::File {
        path: path.into(),
        events: ObjectEvents { written, deleted },
    };
    assert_eq!(
        sc.events,
        [
            file("s3://drop/c.csv", true, false),
            file("s3://drop/m.csv", true, false),
            file("s3://drop/d.csv", true, true),
            file("s3://drop/s.csv", true, true),
            file("s3://drop/y.csv", true, false),
            file("s3://drop/n.csv", true, false),
        ],
        "the last `flwc=` wins"
    );
    let cov = jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    let flwc = &cov.params["flwc"];
    assert_eq!(
        (flwc.total, flwc.mapped, flwc.ignored),
        (5, 1, 1),
        "c:m is exact, the first of two is ignored, the others count an overwrite or any write: {flwc:?}"
    );
    let flco = &cov.params["flco"];
    assert_eq!(
        (flco.total, flco.mapped, flco.ignored),
        (3, 1, 1),
        "n is exact, y without c is ignored, y with c is approximated: {flco:?}"
    );
    let md = jp1::render_markdown(&cov);
    assert!(
        md.contains("one that keeps the size too"),
        "a change of size: {md}"
    );
    // One rule per condition, on the object's S3 events as watched.
    let watch = jobnet2sfn::back::schedule::start_watch(&p, p.roots[0]).expect("watched");
    let patterns: Vec<serde_json::Value> = watch
        .watched
        .iter()
        .map(|w| w.pattern()["detail-type"].clone())
        .collect();
    assert_eq!(
        patterns,
        [
            serde_json::json!(["Object Created"]),
            serde_json::json!(["Object Created"]),
            serde_json::json!(["Object Created", "Object Deleted"]),
            serde_json::json!(["Object Created", "Object Deleted"]),
            serde_json::json!(["Object Created"]),
            serde_json::json!(["Object Created"]),
        ]
    );
}

#[test]
fn environment_files_are_read_from_s3_by_linux_tasks() {
    let p = lower_ok(&net("unit=a,,,;{ty=j;te=\"a\";ev=\"/etc/batch/a.env\";}
         unit=b,,,;{ty=j;te=\"b\";ev=\"C:\\conf\\b.txt\";ev=\"s3://cfg/b.env\";}
         unit=w,,,;{ty=pj;sc=\"w.bat\";ev=\"w.env\";}"));
    let files = |path: &str| {
        let UnitKind::Job(j) = &unit(&p, path).kind else {
            panic!("{path} is a job")
        };
        j.params.get("environment_files").cloned()
    };
    assert_eq!(
        files("/g/n/a"),
        Some(serde_json::json!([
            "s3://${LegacyFileBucket}/etc/batch/a.env"
        ]))
    );
    // ECS reads only `.env` names: one is added; an S3 path is kept.
    assert_eq!(
        files("/g/n/b"),
        Some(serde_json::json!([
            "s3://${LegacyFileBucket}/C/conf/b.txt.env",
            "s3://cfg/b.env"
        ]))
    );
    // Windows containers cannot read environment files.
    assert_eq!(files("/g/n/w"), None);
    let w = unit(&p, "/g/n/w");
    assert!(w.unmapped.iter().any(|m| m.key == "ev"), "{:?}", w.unmapped);
    let cov = jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    let ev = &cov.params["ev"];
    assert_eq!(
        (
            ev.total,
            ev.approximated.values().sum::<u32>(),
            ev.unsupported.values().sum::<u32>()
        ),
        (4, 3, 1)
    );
    // The ECS template turns them into the task's environment files.
    let state = jobnet2sfn::back::templates::TemplateSet::load(None)
        .unwrap()
        .render(
            "ecs",
            serde_json::json!({
                "job": {"name": "a", "path": "/a", "state": "a", "params": {"environment_files": ["s3://cfg/b.env", "arn:aws:s3:::x/y.env"]}, "param_prefix": "A", "exec_suffix": "a"},
                "run": {"id": "$$.Execution.Name", "business_date": "$$.Execution.Input.businessDate"},
                "jobnet": {"name": "n"}
            }),
        )
        .unwrap();
    let text = format!("{:?}", state.states);
    assert!(
        text.contains("arn:aws:s3:::cfg/b.env")
            && text.contains("arn:aws:s3:::x/y.env")
            && text.contains("EnvironmentFiles"),
        "{text}"
    );
    // One path may stand alone; a name without `.env`, or a job type that reads none, is
    // an error of the job rather than a file dropped.
    let render = |job_type: &str, files: serde_json::Value| {
        jobnet2sfn::back::templates::TemplateSet::load(None)
            .unwrap()
            .render(
                job_type,
                serde_json::json!({
                    "job": {"name": "a", "path": "/a", "state": "a", "params": {"environment_files": files}, "param_prefix": "A", "exec_suffix": "a"},
                    "run": {"id": "$$.Execution.Name", "business_date": "$$.Execution.Input.businessDate"},
                    "jobnet": {"name": "n"}
                }),
            )
            .map(|r| format!("{:?}", r.states))
    };
    let one = render("ecs", serde_json::json!("s3://cfg/one.env")).unwrap();
    assert!(one.contains("arn:aws:s3:::cfg/one.env"), "{one}");
    for (job_type, files, why) in [
        (
            "ecs",
            serde_json::json!(["s3://cfg/b.txt"]),
            "ending in .env",
        ),
        ("ecs", serde_json::json!([5]), "ending in .env"),
        ("ecs", serde_json::json!(["/etc/b.env"]), "ending in .env"),
        (
            "ecs-windows",
            serde_json::json!(["s3://cfg/b.env"]),
            "Windows containers",
        ),
        ("batch", serde_json::json!(["s3://cfg/b.env"]), "AWS Batch"),
    ] {
        let e = render(job_type, files.clone()).unwrap_err();
        assert!(e.contains(why), "{job_type} {files}: {e}");
    }
    // JP1: a UNIX job of another job type, and a path filled in at run time, are reported.
    let text = "unit=g,,,;{ty=g;unit=n,,,;{ty=n;unit=a,,,;{ty=j;te=\"a\";ev=\"/etc/a.env\";}}}";
    let mut q = Project::default();
    let mut d = Diagnostics::default();
    jp1::load_bytes(
        &mut q,
        "t.ajs",
        text.as_bytes(),
        None,
        &jp1::LoadOptions {
            unix_job_type: "batch".into(),
            ..jp1::LoadOptions::default()
        },
        &mut d,
    )
    .unwrap();
    let a = unit(&q, "/g/n/a");
    assert!(
        a.unmapped
            .iter()
            .any(|m| m.key == "ev" && m.reason.contains("`batch`")),
        "{:?}",
        a.unmapped
    );
    let (r, _) = lower(&net("unit=c,,,;{ty=j;te=\"c\";ev=\"${HOME}/c.env\";}"));
    let c = unit(&r, "/g/n/c");
    assert!(
        c.unmapped
            .iter()
            .any(|m| m.key == "ev" && m.reason.contains("run time")),
        "{:?}",
        c.unmapped
    );
}

#[test]
fn unsupported_units_and_unknown_keys_are_kept() {
    let (p, d) = lower(&net(
        "unit=m,,,;{ty=ntwj;ntlgt=sys;}unit=a,,,;{ty=pj;sc=\"a.bat\";zz=1;ev=\"e.env\";pr=3;}ar=(f=m,t=a);",
    ));
    assert!(!d.has_errors(), "{:?}", d.items);
    assert!(d.items.iter().any(|x| x.code == "E0312"));
    let UnitKind::Unsupported { type_name, .. } = &unit(&p, "/g/n/m").kind else {
        panic!()
    };
    assert_eq!(type_name, "ntwj");
    let a = unit(&p, "/g/n/a");
    let keys: Vec<_> = a.unmapped.iter().map(|u| u.key.as_str()).collect();
    assert!(keys.contains(&"zz") && keys.contains(&"ev"), "{keys:?}");
    assert!(!keys.contains(&"pr"), "priority is ignored, not unmapped");
    let cov = jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    assert!(cov.unit_types["ntwj"].unsupported.values().sum::<u32>() == 1);
    assert!(cov.params["zz"].total == 1);
    assert!(cov.coverage_percent < 100.0);
    let md = jp1::render_markdown(&cov);
    assert!(md.contains("ntwj") && md.contains("zz"), "{md}");
}

#[test]
fn diagnostics_point_at_the_source_and_keep_going() {
    let text = "unit=g,,,;\n{\n  ty=g;\n  unit=n,,,;\n  {\n    ty=n;\n    ar=(f=a,t=nope);\n    unit=a,,,;\n    {\n      tho=x;\n    }\n    unit=b,,,;\n    {\n      ty=j;\n      etm=abc;\n    }\n  }\n}\n";
    let (_, d) = lower(text);
    let at: Vec<(&str, u32, u32)> = d
        .items
        .iter()
        .map(|x| (x.code, x.span.unwrap().line, x.span.unwrap().col))
        .collect();
    assert!(at.contains(&("E0313", 7, 15)), "{at:?}");
    assert!(
        !at.contains(&("E0313", 7, 11)),
        "no cascade for the broken unit `a`: {at:?}"
    );
    assert!(at.contains(&("E0310", 8, 10)), "{at:?}");
    assert!(at.contains(&("E0311", 15, 11)), "{at:?}");
    assert!(d.error_count() >= 3);
}

#[test]
fn garbage_gives_diagnostics() {
    for text in [
        "",
        "hello world",
        "unit=",
        "}}}{{{",
        "unit=a,,,;{ty=n;ar=(f=;",
        "\u{0}\u{1}",
    ] {
        let (_, d) = lower(text);
        assert!(d.has_errors(), "{text:?}");
    }
    let mut p = Project::default();
    let mut d = Diagnostics::default();
    assert!(jp1::load_bytes(
        &mut p,
        "bin",
        &[0xff, 0xfe, 0x00, 0x81],
        None,
        &jp1::LoadOptions::default(),
        &mut d
    )
    .is_none());
    assert_eq!(d.items[0].code, "E0301");
}

/// What a front-end made of a root jobnet, independent of the input syntax: unit paths
/// below the root, kinds, job types and params, edges, joins, recovery.
fn structure(p: &Project, root: UnitId) -> Vec<String> {
    let base = &p.units[root].path;
    let mut out = Vec::new();
    for id in p.descendants(root) {
        let u = &p.units[id];
        let rel = u.path.strip_prefix(base.as_str()).unwrap_or(&u.path);
        let kind = match &u.kind {
            UnitKind::Job(j) if j.job_type == "noop" => "noop".to_string(),
            UnitKind::NoOp | UnitKind::Unsupported { .. } => "noop".to_string(),
            UnitKind::Job(j) => format!(
                "job {} {:?} end={:?} retry={:?}",
                j.job_type,
                j.params,
                j.end,
                j.retry
                    .as_ref()
                    .map(|r| (r.max_attempts, r.interval_seconds, r.return_codes))
            ),
            UnitKind::Net(_) => "net".into(),
            UnitKind::Judgment(j) => format!("judge {:?}", j.condition),
            UnitKind::Wait(w) => format!("wait {w:?}"),
            UnitKind::FileWait(w) => format!("file wait {w:?}"),
            UnitKind::WaitFor(w) => format!("waitfor {}", w.target),
            UnitKind::EventWait(m) => format!("event wait {m:?}"),
        };
        out.push(format!(
            "{rel} {kind} join={:?} rec={} hold={} {:?} cut={:?} exp={:?} delays={:?} {:?}",
            u.join,
            u.recovery,
            u.hold,
            u.hold_after,
            u.cutoff.as_ref().map(|c| (c.minutes, c.on_timeout)),
            u.expected_minutes,
            deadlines(&u.start_delay),
            deadlines(&u.end_delay)
        ));
        if let Some(n) = u.as_net() {
            // Edge order carries no meaning.
            let mut es: Vec<String> = n
                .edges
                .iter()
                .map(|e| {
                    format!(
                        "{rel}: {} -> {} {:?}",
                        p.units[e.from].name, p.units[e.to].name, e.kind
                    )
                })
                .collect();
            es.sort();
            out.extend(es);
            if id == root {
                out.push(format!(
                    "schedule {:?}",
                    n.schedule.as_ref().map(|s| s
                        .rules
                        .iter()
                        .map(|r| (
                            r.days.clone(),
                            r.times.clone(),
                            r.on_closed_day,
                            r.reckon,
                            r.valid_from,
                            r.valid_until
                        ))
                        .collect::<Vec<_>>())
                ));
                out.push(format!(
                    "calendar {:?}",
                    n.calendar.as_ref().map(|c| &c.name)
                ));
            }
        }
    }
    out
}

fn round_trip(p: &Project) {
    let files = jp1::to_spec_yaml(p, &p.roots);
    assert_eq!(files.len(), p.roots.len());
    for ((name, yaml), &root) in files.iter().zip(&p.roots) {
        let mut q = Project::default();
        let f = q.sources.add(name.clone(), yaml.clone(), "utf-8");
        let mut d = Diagnostics::default();
        spec::load(&mut q, f, &mut d);
        assert!(!d.has_errors(), "{name}:\n{yaml}\n{:#?}", d.items);
        assert_eq!(q.roots.len(), 1, "{name}");
        // Whole-project checks too: a delay per rule must find its rule's name.
        let types = jobnet2sfn::back::templates::TemplateSet::load(None)
            .unwrap()
            .names()
            .to_vec();
        let mut vd = Diagnostics::default();
        jobnet2sfn::passes::validate::validate(&q, &types, &mut vd);
        assert!(!vd.has_errors(), "{name}:\n{yaml}\n{:#?}", vd.items);
        assert_eq!(
            structure(p, root),
            structure(&q, q.roots[0]),
            "{name}:\n{yaml}"
        );
        if let Some(c) = p.units[root].as_net().unwrap().calendar.as_ref() {
            let a = &p.calendars[p.calendar_by_name(&c.name).unwrap()];
            let b = &q.calendars[q.calendar_by_name(&c.name).expect("calendar exported")];
            assert_eq!(
                (a.weekdays, &a.dates, a.day_start),
                (b.weekdays, &b.dates, b.day_start)
            );
        }
    }
}

#[test]
fn imported_specs_load_back_with_the_same_structure() {
    let p = lower_ok(
        "unit=grp,,,;{ty=g;op=sa;cl=su;stt=05:00;
           unit=n,,,;{ty=n;sd=1,*1;cy=1,(1,m);st=1,+01:00;sh=1,be;shd=1,3;cftd=1,af,1,4;
             sd=2,b;cy=2,(1,m);st=2,20:00;ey=1,M90;ey=2,C30;sy=2,M5;
             unit=a,,,;{ty=j;te=\"a\";env=\"K=v\";wth=1;tho=5;abr=y;rec=2;rei=1;etm=9;fd=4;}
             unit=j,,,;{ty=jdj;ej=lt;ejc=3;}
             unit=d,,,;{ty=pj;sc=\"d.bat\";wkp=\"C:\\w\";}
             unit=o,,,;{ty=orj;}
             unit=r,,,;{ty=rj;te=\"fix\";}
             unit=t,,,;{ty=tmwj;tmitv=5;}
             unit=m,,,;{ty=mlsj;}
             unit=f,,,;{ty=flwj;flwf=\"s3://b/f.ok\";flwi=15;etm=3;}
             unit=sub,,,;{ty=n;unit=x,,,;{ty=j;te=\"x\";ha=y;}}
             ar=(f=a,t=j);ar=(f=j,t=d,con);ar=(f=j,t=o);ar=(f=t,t=o);ar=(f=a,t=r);ar=(f=o,t=sub);ar=(f=m,t=sub);ar=(f=f,t=sub);}}",
    );
    round_trip(&p);
}

#[test]
fn corpus_files_import_and_load_back() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jp1");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let mut p = Project::default();
        let mut d = Diagnostics::default();
        jp1::load_bytes(
            &mut p,
            &path.display().to_string(),
            &bytes,
            None,
            &jp1::LoadOptions::default(),
            &mut d,
        )
        .unwrap();
        round_trip(&p);
        n += 1;
    }
    assert!(n >= 9);
}

#[test]
fn nested_group_calendars_inherit() {
    let p = lower_ok(
        "unit=top,,,;{ty=g;cl=sa;cl=su;stt=04:00;
           unit=sub,,,;{ty=g;op=sa;
             unit=n,,,;{ty=n;sd=1,*1;cy=1,(1,m);st=1,+01:00;unit=a,,,;{ty=j;te=\"a\";}}}}",
    );
    let sub = &p.calendars[p.calendar_by_name("top:sub").expect("sub calendar")];
    assert_eq!(sub.inherits.as_deref(), Some("top"));
    assert_eq!(sub.weekdays[5], Some(DayKind::Open));
    assert_eq!(sub.weekdays[6], None, "Sunday comes from `top`");
    let n = unit(&p, "/top/sub/n").as_net().unwrap();
    assert_eq!(n.calendar.as_ref().unwrap().name, "top:sub");
    let rule = &n.schedule.as_ref().unwrap().rules[0];
    assert_eq!(
        rule.times,
        vec![ClockTime::new(5, 0).unwrap()],
        "base time of `top`"
    );
    let (_, d) = lower("unit=g,,,;{ty=g;stt=25:00;}");
    assert!(d.items.iter().any(|x| x.code == "E0311"));
}

#[test]
fn deep_and_wide_input_is_handled() {
    let depth = 62;
    let mut text = String::from("unit=g,,,;{ty=g;");
    for i in 0..depth {
        text.push_str(&format!("unit=n{i},,,;{{ty=n;"));
    }
    text.push_str("unit=j,,,;{ty=j;te=\"x\";}");
    text.push_str(&"}".repeat(depth + 1));
    let (p, d) = lower(&text);
    assert!(!d.has_errors(), "{:?}", d.items.first());
    assert_eq!(p.units.len(), depth + 1);
    let _ = jp1::coverage(&p, jobnet2sfn::diag::FileId(0));
    let _ = jp1::to_spec_yaml(&p, &p.roots);
    let (_, d) = lower(&format!(
        "unit=g,,,;{{ty=g;{}",
        "unit=n,,,;{ty=n;".repeat(400)
    ));
    assert!(d.items.iter().any(|x| x.code == "E0307"));
}

#[test]
fn structural_warnings_and_errors_have_codes() {
    let codes = |text: &str| -> Vec<(&'static str, Severity)> {
        let (_, d) = lower(text);
        d.items.iter().map(|x| (x.code, x.severity)).collect()
    };
    let c = codes(&net(
        "unit=a,,,;{ty=j;te=\"a\";}unit=b,,,;{ty=j;te=\"b\";}ar=(f=a,t=b,con);",
    ));
    assert!(c.contains(&("E0314", Severity::Warning)), "{c:?}");
    let c = codes(&net("unit=a,,,;{ty=j;}unit=a,,,;{ty=j;}"));
    assert!(c.contains(&("E0315", Severity::Error)), "{c:?}");
    let c = codes("unit=j,,,;{ty=j;te=\"x\";}");
    assert!(c.contains(&("E0316", Severity::Warning)), "{c:?}");
    let c = codes(&net("unit=x,,,;{ty=g;}"));
    assert!(c.contains(&("E0316", Severity::Warning)), "{c:?}");
    let c = codes("/* only a comment */");
    assert_eq!(c, vec![("E0318", Severity::Error)]);
    let c = codes(&net("unit=a,,,;{ty=j;tho=1;tho=2;}sd=1,*1;sd=1,*2;"));
    assert_eq!(c.iter().filter(|x| x.0 == "E0319").count(), 2, "{c:?}");
    let c = codes(&net("unit=a,,,;{ty=zz;}"));
    assert!(c.contains(&("E0310", Severity::Warning)), "{c:?}");
    let c = codes(&net("ar=(f=a);unit=a,,,;{ty=j;}"));
    assert!(c.contains(&("E0311", Severity::Error)), "{c:?}");
}

#[test]
fn job_types_can_be_chosen() {
    let mut p = Project::default();
    let f = p.sources.add(
        "t",
        net("unit=u,,,;{ty=j;te=\"a\";}unit=w,,,;{ty=pj;sc=\"b.bat\";}"),
        "utf-8",
    );
    let opts = jp1::LoadOptions {
        unix_job_type: "batch".into(),
        windows_job_type: "ecs".into(),
        registration_date: None,
    };
    let mut d = Diagnostics::default();
    let cov = jp1::load_with_coverage(&mut p, f, &opts, &mut d);
    assert_eq!(job(&p, "/g/n/u").job_type, "batch");
    assert_eq!(job(&p, "/g/n/w").job_type, "ecs");
    assert_eq!(cov.unit_types["j"].mapped, 1);
}

#[test]
fn event_reception_in_a_jobnet_becomes_an_event_wait() {
    let p = lower_ok(&net(
        "unit=w,,,;{ty=evwj;evwid=7FFF8002:1;evwms=\"^import acknowledged\";evwsv=in;etm=90;ets=wr;jpoif=y;ex=\"agent1\";eu=ent;}
         unit=f,,,;{ty=flwj;flwf=\"s3://in/ok\";flco=y;ex=\"agent1\";eu=ent;}
         unit=rx,,,;{ty=evwj;evwid=1;evwms=\"(a|b)\";}
         unit=a,,,;{ty=j;te=\"a\";}
         ar=(f=w,t=a);ar=(f=rx,t=a);ar=(f=f,t=a);",
    ));
    let w = unit(&p, "/g/n/w");
    assert_eq!(
        w.kind.clone().label(),
        "event wait",
        "evwj in a jobnet waits: {:?}",
        w.kind
    );
    let UnitKind::EventWait(m) = &w.kind else {
        unreachable!()
    };
    assert_eq!(
        *m,
        EventMatch {
            source: "jobnet2sfn".into(),
            detail_type: "JP1 event".into(),
            id: Some("7FFF8002".into()),
            message: Some(TextMatch::Prefix("import acknowledged".into())),
            severities: vec!["Information".into()],
            attributes: vec![],
        }
    );
    let c = w.cutoff.as_ref().expect("etm= is the wait's cutoff");
    assert_eq!((c.minutes, c.on_timeout), (90, EndStatus::Warning));
    // A pattern EventBridge cannot say stays unsupported, with the reason.
    assert!(
        matches!(&unit(&p, "/g/n/rx").kind, UnitKind::Unsupported { type_name, reason } if type_name == "evwj" && reason.contains("(a|b)")),
        "{:?}",
        unit(&p, "/g/n/rx").kind
    );

    // Compiled: a polling look at the unit's event item (with its run record), a recorder
    // machine, and one EventBridge rule into it.
    let compiled = compile_ok(&p);
    let out = &compiled.outputs[0];
    let names: Vec<&str> = out.machines.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["n", "n-events"]);
    // The wait and the unsupported unit run side by side, in the branches of a Parallel.
    fn state(states: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
        let states = states.as_object()?;
        states.get(name).cloned().or_else(|| {
            states.values().find_map(|s| {
                s["Branches"]
                    .as_array()?
                    .iter()
                    .find_map(|b| state(&b["States"], name))
            })
        })
    }
    let root = out.machines[0].definition();
    let look = state(&root["States"], "w").expect("the wait's state");
    assert_eq!(look["Parameters"]["Key"]["pk"]["S"], "event#n#w");
    assert_eq!(look["Parameters"]["ConditionExpression"], "#at >= :since");
    assert_eq!(look["Retry"][0]["MaxAttempts"], 90);
    assert!(
        state(&root["States"], "w.begin").is_some(),
        "a rerun passes over an ended wait"
    );
    let template = &compiled.files["template.yaml"];
    assert_eq!(
        template.matches("Type: AWS::Events::Rule").count(),
        1,
        "{template}"
    );
    assert!(
        template.contains("prefix: \"import acknowledged\""),
        "{template}"
    );
    assert!(
        template.contains(r#"InputTemplate: "{\"key\":\"event#n#w\",\"time\":\"<time>\"}""#),
        "{template}"
    );
    assert!(
        template.contains("NEventsStateMachineWaitW:"),
        "rules are named after their wait: {template}"
    );
    let report = |what: &str| {
        out.findings
            .iter()
            .any(|f| f.unit == "/g/n/w" && f.what.contains(what))
    };
    assert!(report("passing information from the received event"));
    // The agent host and user of monitoring jobs need no conversion by hand.
    let by_hand: Vec<&str> = out
        .findings
        .iter()
        .filter(|f| f.kind == jobnet2sfn::back::asl::FindingKind::Unsupported)
        .filter(|f| f.unit == "/g/n/w" || f.unit == "/g/n/f")
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(by_hand.len(), 1, "only jpoif: {by_hand:?}");
    assert!(report(
        "event wait: an EventBridge rule on `JP1 event` events"
    ));
}

#[test]
fn macro_variables_are_reported_not_passed_as_text() {
    let p = lower_ok(&net(
        "unit=j,,,;{ty=j;sc=\"/bin/run.sh\";prm=\"--day ?AJS2DAY? --x ?AJS2?\";}
         unit=f,,,;{ty=flwj;flwf=\"s3://in/?AJS2FILE.NAME?.csv\";}
         unit=k,,,;{ty=j;te=\"echo ?what? ?AJS2lower?\";cm=\"day from ?AJS2DAY?\";}",
    ));
    let unmapped = |path: &str| -> Vec<(String, String)> {
        unit(&p, path)
            .unmapped
            .iter()
            .map(|u| (u.key.clone(), u.reason.clone()))
            .collect()
    };
    let j = unmapped("/g/n/j");
    assert!(
        j.iter()
            .any(|(k, r)| k == "prm" && r.contains("macro variable `?AJS2DAY?`")),
        "{j:?}"
    );
    let f = unmapped("/g/n/f");
    assert!(
        f.iter()
            .any(|(k, r)| k == "flwf" && r.contains("`?AJS2FILE.NAME?`")),
        "{f:?}"
    );
    assert!(
        unmapped("/g/n/k").is_empty(),
        "no macro variable, and a comment is not run: {:?}",
        unmapped("/g/n/k")
    );
    // The compile lists them, so a partial output needs --allow-partial.
    let compiled = compile_ok(&p);
    assert!(compiled.outputs[0]
        .findings
        .iter()
        .any(|x| x.unit == "/g/n/j" && x.what.contains("?AJS2DAY?")));
}
