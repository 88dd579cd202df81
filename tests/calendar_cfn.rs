//! The schedule back-end on a real compile: the bundled calendar example gets its gate,
//! schedules, calendar table, Lambda and calendar data files.

use jobnet2sfn::back::templates::TemplateSet;
use jobnet2sfn::back::{cfn, schedule};
use jobnet2sfn::diag::Diagnostics;
use jobnet2sfn::driver::{compile, load, CompileOptions, Compiled, LoadOptions};
use jobnet2sfn::ir::Project;
use serde_json::{json, Value};
use std::path::PathBuf;

/// The CloudFormation template of a compile, schedules included, from `templates`.
fn template_of(
    project: &Project,
    compiled: &Compiled,
    templates: &TemplateSet,
    diags: &mut Diagnostics,
) -> Result<Value, String> {
    let mut template = cfn::template(&compiled.outputs, &CompileOptions::default().cfn, templates)?;
    schedule::add_schedules(&mut template, project, &compiled.outputs, templates, diags)?;
    Ok(template.value)
}

#[test]
fn scheduled_example_gets_gate_schedules_and_calendars() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scheduled_with_calendar.yaml");
    let mut diags = Diagnostics::default();
    let project = load(&[path], &LoadOptions::default(), &mut diags);
    // `compile` puts the gate in front of scheduled jobnets itself.
    let compiled = compile(&project, &CompileOptions::default(), &mut diags).expect("compiles");
    let templates = TemplateSet::load(None).expect("templates");
    let template = template_of(&project, &compiled, &templates, &mut diags).expect("template");
    assert!(!diags.has_errors(), "{:?}", diags.items);

    let res = template["Resources"].as_object().unwrap();
    let schedules: Vec<&String> = res
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Scheduler::Schedule")
        .map(|(k, _)| k)
        .collect();
    // daily_billing: 02:30 and 26:00; month_end_close: 20:00, 21:00, 23:00; periodic_sync:
    // 08:00 repeated hourly to 23:00, 09:00, 10:00, 12:00, 18:00, 21:00 (some shared).
    assert!(schedules.len() >= 5, "{schedules:?}");
    for id in &schedules {
        let p = &res[id.as_str()]["Properties"];
        assert_eq!(p["FlexibleTimeWindow"], json!({"Mode": "OFF"}));
        let target = p["Target"]["Arn"]["Ref"].as_str().unwrap();
        assert_eq!(res[target]["Type"], "AWS::StepFunctions::StateMachine");
        let input: Value = serde_json::from_str(p["Target"]["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["calendar"], "jp-business");
    }
    for shared in [schedule::TABLE_LOGICAL, schedule::LAMBDA_LOGICAL] {
        assert!(res.contains_key(shared), "{shared} missing");
    }
    assert!(template["Parameters"]
        .get("BusinessDayFunctionArn")
        .is_none());
    let machines: Vec<&Value> = res
        .values()
        .filter(|r| r["Type"] == "AWS::StepFunctions::StateMachine")
        .collect();
    let gated: Vec<&&Value> = machines
        .iter()
        .filter(|m| m["Properties"]["Definition"]["StartAt"] == "ScheduledStart")
        .collect();
    assert_eq!(
        gated.len(),
        4,
        "every scheduled or event-started root machine is gated"
    );
    for m in gated {
        assert_eq!(
            m["Properties"]["DefinitionSubstitutions"]["BusinessDayFunctionArn"],
            json!({"Fn::GetAtt": ["BusinessDayFunction", "Arn"]})
        );
        let states = m["Properties"]["Definition"]["States"].as_object().unwrap();
        let next = states["ScheduledStart"]["Default"].as_str().unwrap();
        assert!(states.contains_key(next), "gate continues to {next}");
    }
    // bank_reply starts on its start condition: an EventBridge rule whose input is the
    // Lambda's event once `<time>` is filled in, and no schedule.
    let rule = &res["BankReplyStateMachineStart01"]["Properties"];
    assert_eq!(
        res["BankReplyStateMachineStart01"]["Type"],
        "AWS::Events::Rule"
    );
    assert_eq!(
        rule["EventPattern"],
        json!({"source": ["aws.s3"], "detail-type": ["Object Created"],
               "detail": {"bucket": {"name": ["bank-drop"]}, "object": {"key": [{"wildcard": "reply/*.csv"}]}}})
    );
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], json!({"Ref": "BankReplyStateMachine"}));
    let transformer = &target["InputTransformer"];
    assert_eq!(transformer["InputPathsMap"], json!({"time": "$.time"}));
    let input: Value = serde_json::from_str(
        &transformer["InputTemplate"]
            .as_str()
            .unwrap()
            .replace("<time>", "2027-01-05T19:59:00Z"),
    )
    .expect("the input template is JSON once filled");
    assert_eq!(input["scheduledTime"], "2027-01-05T19:59:00Z");
    assert_eq!(
        input["dayStart"], 300,
        "jp-business starts its day at 05:00"
    );
    assert_eq!(input["runSuffix"], "cond");
    assert_eq!(input["rules"], json!([{"days": ["daily"]}]));
    let role = &res["BankReplyStateMachineEventsRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "events.amazonaws.com"
    );
    assert_eq!(
        role["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"],
        json!({"Ref": "BankReplyStateMachine"})
    );
    assert!(!schedules.iter().any(|s| s.starts_with("BankReply")));

    let role_text = serde_json::to_string(&res).unwrap();
    assert!(role_text.contains("lambda:InvokeFunction"));
    assert!(role_text.contains("${BusinessDayFunction.Arn}"));

    let files = schedule::calendar_items(&project, 2027..=2027, &mut diags);
    let keys: Vec<&String> = files.keys().collect();
    assert_eq!(keys, ["calendars/base.json", "calendars/jp-business.json"]);
    let jp = &files["calendars/jp-business.json"]["items"];
    let day = |d: &str| {
        jp.as_array()
            .unwrap()
            .iter()
            .find(|i| i["sk"] == d)
            .unwrap()
            .clone()
    };
    assert_eq!(day("2027-12-31")["open"], false);
    assert_eq!(
        day("2027-01-02")["open"],
        true,
        "explicitly opened Saturday"
    );
    assert_eq!(day("2027-01-11")["name"], "成人の日");
}

#[test]
fn schedules_and_the_calendar_stack_follow_user_resource_templates() {
    let dir = std::env::temp_dir().join(format!("j2s-sched-tpl-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("resources")).unwrap();
    let builtin = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates/resources/schedule.json.tera"),
    )
    .unwrap();
    std::fs::write(
        dir.join("resources/schedule.json.tera"),
        builtin.replace(
            "\"State\": \"ENABLED\",",
            "\"State\": \"ENABLED\",\n      \"GroupName\": \"batch\",",
        ),
    )
    .unwrap();
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scheduled_with_calendar.yaml");
    let mut diags = Diagnostics::default();
    let project = load(&[path], &LoadOptions::default(), &mut diags);
    let compiled = compile(&project, &CompileOptions::default(), &mut diags).expect("compiles");
    let templates = TemplateSet::load(Some(&dir)).expect("templates");
    let template = template_of(&project, &compiled, &templates, &mut diags).expect("template");
    let res = template["Resources"].as_object().unwrap();
    let schedules: Vec<&Value> = res
        .values()
        .filter(|r| r["Type"] == "AWS::Scheduler::Schedule")
        .collect();
    assert!(!schedules.is_empty());
    assert!(schedules
        .iter()
        .all(|s| s["Properties"]["GroupName"] == "batch"));

    // A calendar template without the Lambda the gates call is refused.
    std::fs::write(
        dir.join("resources/calendar.json.tera"),
        r#"{"{{ calendar.table }}": {"Type": "AWS::DynamoDB::Table"}}"#,
    )
    .unwrap();
    let templates = TemplateSet::load(Some(&dir)).expect("templates");
    let err = template_of(&project, &compiled, &templates, &mut diags).expect_err("no Lambda");
    assert!(err.contains("must define `BusinessDayFunction`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The gate reserves only the state names it puts in front of a machine: a unit may be
/// named like a state of the start-condition gate when its jobnet has none.
#[test]
fn gate_names_are_reserved_only_where_used() {
    let spec = |extra: &str| {
        format!("version: 1\njobnets:\n  - name: n\n    schedule: {{rules: [{{days: daily, at: \"09:00\"}}]}}\n{extra}    units:\n      - {{name: StartCondition, type: noop}}\n")
    };
    let compile = |text: String| {
        let mut project = Project::default();
        let mut diags = Diagnostics::default();
        jobnet2sfn::driver::load_text(
            &mut project,
            "t.yaml",
            text,
            jobnet2sfn::driver::InputFormat::Spec,
            &mut diags,
        );
        let ok = compile(&project, &CompileOptions::default(), &mut diags).is_some();
        (ok, diags)
    };
    let (ok, diags) = compile(spec(""));
    assert!(ok, "{:?}", diags.items);
    let (ok, diags) = compile(spec(
        "    start_conditions: {all: true, events: [{file_created: \"s3://b/x\"}, {file_created: \"s3://b/y\"}]}\n",
    ));
    assert!(!ok);
    assert!(
        diags
            .items
            .iter()
            .any(|d| d.code == "E0606" && d.message.contains("StartCondition")),
        "{:?}",
        diags.items
    );
}
