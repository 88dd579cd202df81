//! Run records: the states that keep, in the run table, one item per run (jobnet + business
//! date) and one per job, written with DynamoDB service integrations (no Lambda). They make
//! runs idempotent (a job that ended normally in this run is not run again, a second start
//! for a date is refused) and carry operator holds; `jobnet2sfn status|rerun|hold|release`
//! read and write the same items (src/aws/runs.rs). Key layout and statuses are shared with
//! the CLI through the constants below; docs/operations.md describes them.

use crate::back::intrinsic_literal;
use crate::back::tree::{object, Tree};
use crate::tree;

/// Status values of a run or job item.
pub const RUNNING: &str = "RUNNING";
pub const ENDED_NORMALLY: &str = "ENDED_NORMALLY";
pub const ENDED_ABNORMALLY: &str = "ENDED_ABNORMALLY";
/// Set by `rerun` on the jobs it selects: run again.
pub const RESET: &str = "RESET";

/// Input field that names the run of a jobnet that can run several times a business date
/// (multiple launch, several start times): schedules set it to the start time (`HHMM`).
pub const GENERATION_FIELD: &str = "generation";

/// The run part of a key: the business date, plus `@generation` for jobnets that can run
/// several times a business date.
pub fn run_segment(business_date: &str, generation: Option<&str>) -> String {
    match generation {
        Some(g) => format!("{business_date}@{g}"),
        None => business_date.to_string(),
    }
}

/// `pk` of a run item (`run` is a [`run_segment`]).
pub fn run_key(jobnet: &str, run: &str) -> String {
    format!("run#{jobnet}#{run}")
}

/// `pk` of a job item (`run` is a [`run_segment`]).
pub fn unit_key(jobnet: &str, run: &str, unit_path: &str) -> String {
    format!("unit#{jobnet}#{run}#{unit_path}")
}

/// `pk` of the item that names the jobnet's latest run (`lastRun`, a [`run_segment`]), read
/// by a jobnet held after its previous run's end.
pub fn last_key(jobnet: &str) -> String {
    format!("last#{jobnet}")
}

/// `pk` of the item that says when the last event an event wait waits for happened
/// (`state` is the wait's state name): events belong to no business date, so every run of
/// the jobnet reads the same item.
pub fn event_key(jobnet: &str, state: &str) -> String {
    format!("event#{jobnet}#{state}")
}

/// The `Key` of an item, built at run time from the business date (and the generation).
pub fn key_param(
    prefix: &str,
    suffix: &str,
    business_date_path: &str,
    generation_path: Option<&str>,
) -> Tree {
    let format = match generation_path {
        Some(g) => format!(
            "States.Format('{}#{{}}@{{}}{}', {business_date_path}, {g})",
            intrinsic_literal(prefix),
            intrinsic_literal(suffix)
        ),
        None => format!(
            "States.Format('{}#{{}}{}', {business_date_path})",
            intrinsic_literal(prefix),
            intrinsic_literal(suffix)
        ),
    };
    tree!({"pk": {"S.$": format}})
}

/// Inputs shared by the states of one job's record.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub table: String,
    pub jobnet: String,
    pub path: String,
    pub business_date: String,
    /// Path of the run's generation, for jobnets that can run several times a date.
    pub generation: Option<String>,
    /// The job is held in the source (`hold: true`): it waits for `release`.
    pub held_in_source: bool,
    /// Seconds between two looks at a held job.
    pub hold_poll_seconds: u64,
    /// The item's `Key`, built on first use (each of the job's states carries it).
    pub key: std::sync::OnceLock<Tree>,
}

impl JobRecord {
    fn key(&self) -> Tree {
        self.key
            .get_or_init(|| {
                key_param(
                    &format!("unit#{}", self.jobnet),
                    &format!("#{}", self.path),
                    &self.business_date,
                    self.generation.as_deref(),
                )
            })
            .clone()
    }

    /// Marks the job RUNNING unless it already ended normally in this run or is held; a
    /// refusal goes to `why`. Its output resets the state data to the failure marker and a
    /// null return code, so the end record finds `$.rc` on every path.
    pub fn begin(&self, job: &str, why: &str, fail: &str) -> Tree {
        let hold = if self.held_in_source {
            "attribute_exists(released) AND released = :yes"
        } else {
            "(attribute_not_exists(held) OR released = :yes)"
        };
        tree!({
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": &self.table,
                "Key": self.key(),
                "UpdateExpression": "SET #s = :r, startedAt = :now, execution = :x REMOVE endedAt, rc ADD attempts :one",
                "ConditionExpression": format!("(attribute_not_exists(#s) OR #s <> :ok) AND {hold}"),
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":r": {"S": RUNNING},
                    ":ok": {"S": ENDED_NORMALLY},
                    ":yes": {"BOOL": true},
                    ":one": {"N": "1"},
                    ":now": {"S.$": "$$.State.EnteredTime"},
                    ":x": {"S.$": "$$.Execution.Id"}
                }
            },
            "ResultSelector": {"failed": false, "rc": null},
            "Catch": [
                {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.refused", "Next": why},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail}
            ],
            "Next": job
        })
    }

    /// Reads the item to tell "already ended normally" from "held".
    pub fn why(&self, decide: &str, fail: &str) -> Tree {
        tree!({
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": &self.table, "Key": self.key(), "ConsistentRead": true},
            "ResultSelector": {"item.$": "$.Item"},
            "ResultPath": "$.record",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail}],
            "Next": decide
        })
    }

    /// Already ended normally, or held with `--skip`: go on without running the job (the
    /// successors run); held: wait and try again.
    pub fn decide(&self, next: &str, wait: &str) -> Tree {
        let status = "$.record.item.status.S";
        let held = "$.record.item.held.S";
        tree!({
            "Type": "Choice",
            "Choices": [
                {"And": [{"Variable": status, "IsPresent": true}, {"Variable": status, "StringEquals": ENDED_NORMALLY}], "Next": next},
                {"And": [{"Variable": held, "IsPresent": true}, {"Variable": held, "StringEquals": "skip"}], "Next": next}
            ],
            "Default": wait
        })
    }

    /// For a job passed over whose return code a judgment reads: a Choice on whether the
    /// record kept a code, and the two Pass states that put it (or null, for a job held
    /// with skip that never ran) at `$.rc`, in the shape a job's own end leaves.
    pub fn restore_rc(&self, restored: &str, none: &str, next: &str) -> [Tree; 3] {
        let rc = "$.record.item.rc.S";
        [
            tree!({
                "Type": "Choice",
                "Comment": "passed over: hand on the return code of the job's earlier run",
                "Choices": [{"Variable": rc, "IsPresent": true, "Next": restored}],
                "Default": none
            }),
            tree!({
                "Type": "Pass",
                "Parameters": {"failed": false, "rc.$": format!("States.StringToJson({rc})")},
                "Next": next
            }),
            tree!({
                "Type": "Pass",
                "Parameters": {"failed": false, "rc": null},
                "Next": next
            }),
        ]
    }

    /// A jobnet held in the source (`hold: true`, JP1 `ha=y`) passes here only once
    /// `release` marked its record of this run; until then it waits at `wait`.
    pub fn hold_gate(&self, next: &str, wait: &str, fail: &str) -> Tree {
        self.gate(
            "held in the definition; runs once released (jobnet2sfn release)",
            "attribute_exists(released) AND released = :yes",
            (next, wait, fail),
        )
    }

    /// An update of `key` that goes on to `next` when `condition` holds, to `wait` (to look
    /// again) when it does not, and to `fail` when the table cannot be written.
    fn conditional_update(
        &self,
        comment: String,
        key: Tree,
        (update, condition): (&str, &str),
        values: Tree,
        (next, wait, fail): (&str, &str, &str),
    ) -> Tree {
        self.update_item(
            comment,
            key,
            (update, Some(condition), values),
            tree!([
                {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": null, "Next": wait},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail}
            ]),
            next,
        )
    }

    /// An `updateItem` Task of the run table that keeps the state's data (`ResultPath:
    /// null`): `update` of `key`, under `condition` when given, caught by `catches`.
    fn update_item(
        &self,
        comment: impl Into<String>,
        key: Tree,
        (update, condition, values): (&str, Option<&str>, Tree),
        catches: Tree,
        next: &str,
    ) -> Tree {
        let mut parameters = tree!({
            "TableName": &self.table,
            "Key": key,
            "UpdateExpression": update
        });
        if let Some(condition) = condition {
            parameters["ConditionExpression"] = tree!(condition);
        }
        parameters["ExpressionAttributeValues"] = values;
        tree!({
            "Type": "Task",
            "Comment": comment.into(),
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": parameters,
            "ResultPath": null,
            "Catch": catches,
            "Next": next
        })
    }

    /// The key of the run's item, which counts the jobs running (`slots`).
    fn run_item(&self) -> Tree {
        key_param(
            &format!("run#{}", self.jobnet),
            "",
            &self.business_date,
            self.generation.as_deref(),
        )
    }

    /// Adds the job to the run item's `warned` set: it ended with a warning, which holds the
    /// next run of a jobnet held after a warning. A mark that cannot be written changes
    /// nothing in this run.
    pub fn warned(&self, next: &str) -> Tree {
        self.run_item_paths(
            format!(
                "{}: ended with a warning: the next run of the jobnet is held",
                self.path
            ),
            "ADD warned :me",
            ("$.recordError", next),
            next,
        )
    }

    /// A root jobnet held after its previous run's end passes here unless its record says
    /// it is held (`heldAt`, by `run.held`; `held`, by `jobnet2sfn hold`) and not released.
    pub fn hold_gate_after(&self, next: &str, wait: &str, fail: &str) -> Tree {
        self.gate(
            "held when the run before ended badly (or by jobnet2sfn hold); runs once released, or once that run ends normally",
            "(attribute_not_exists(heldAt) AND attribute_not_exists(held)) OR released = :yes",
            (next, wait, fail),
        )
    }

    /// A gate on the unit's record: passes (noting when, and which execution) while
    /// `condition` holds, else goes to `wait`.
    fn gate(&self, why: &str, condition: &str, (next, wait, fail): (&str, &str, &str)) -> Tree {
        self.conditional_update(
            format!("{}: {why}", self.path),
            self.key(),
            ("SET passedAt = :now, execution = :x", condition),
            tree!({
                ":yes": {"BOOL": true},
                ":now": {"S.$": "$$.State.EnteredTime"},
                ":x": {"S.$": "$$.Execution.Id"}
            }),
            (next, wait, fail),
        )
    }

    /// The states of a root jobnet held after its previous run's end (`hold_after`) around
    /// its gate `gate` ([`Self::hold_gate_after`], whose wait goes to `run.again`).
    ///
    /// A run that claimed its date notes itself as the jobnet's latest (`run.last`, which
    /// returns the run before it), reads that run's item, and unless it ended normally
    /// (without warnings, for `after_warning`) marks its own record held (`run.held`:
    /// `heldAt`, `heldAfter`). A run still going counts as not ended normally. Each look
    /// again reads the record and that run once more, and clears the mark (`run.unheld`)
    /// once the run has ended normally after all. Reruns and runs of an earlier date are
    /// not checked: they look at a mark an earlier execution left at once (`run.again`),
    /// then go to the gate, which holds them while it stands.
    pub fn previous_run(
        &self,
        after: crate::ir::PreviousEnd,
        gate: &str,
        fail: &str,
    ) -> Vec<(String, Tree)> {
        let run = match &self.generation {
            Some(g) => {
                tree!({"S.$": format!("States.Format('{{}}@{{}}', {}, {g})", self.business_date)})
            }
            None => tree!({"S.$": &self.business_date}),
        };
        let last = "$.hold.Attributes.lastRun.S";
        let held_after = "$.hold.record.Item.heldAfter.S";
        let run_item_at = |at: &str| key_param(&format!("run#{}", self.jobnet), "", at, None);
        let read = |comment: &str,
                    key: Tree,
                    projection: &str,
                    names: Option<Tree>,
                    (into, next): (&str, &str)| {
            let mut parameters = tree!({
                "TableName": &self.table,
                "Key": key,
                "ProjectionExpression": projection
            });
            if let Some(names) = names {
                parameters["ExpressionAttributeNames"] = names;
            }
            parameters["ConsistentRead"] = tree!(true);
            tree!({
                "Type": "Task",
                "Comment": comment,
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": parameters,
                "ResultPath": into,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail}],
                "Next": next
            })
        };
        // The run before ended normally (and without warnings, for `after_warning`), or its
        // item is gone: nothing holds this one.
        let status = "$.hold.previous.Item.status.S";
        let good = |next: &str| {
            let mut and = vec![
                tree!({"Variable": status, "IsPresent": true}),
                tree!({"Variable": status, "StringEquals": ENDED_NORMALLY}),
            ];
            if after == crate::ir::PreviousEnd::Warning {
                and.push(
                    tree!({"Not": {"Variable": "$.hold.previous.Item.warned", "IsPresent": true}}),
                );
            }
            vec![
                tree!({"Not": {"Variable": "$.hold.previous.Item", "IsPresent": true}, "Next": next}),
                tree!({"And": and, "Next": next}),
            ]
        };
        // An update of the root's own record, on to the gate.
        let mark = |comment: &str, update: &str, values: Tree| {
            self.update_item(
                comment,
                self.key(),
                (update, None, values),
                tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail}]),
                gate,
            )
        };
        let when = match after {
            crate::ir::PreviousEnd::Warning => "normally without warnings",
            crate::ir::PreviousEnd::Abnormal => "normally or with warnings",
        };
        // How a run ended: its status and warnings, into `$.hold.previous`.
        let read_run = |comment: &str, at: &str, next: &str| {
            read(
                comment,
                run_item_at(at),
                "#s, warned",
                Some(tree!({"#s": "status"})),
                ("$.hold.previous", next),
            )
        };
        vec![
            (
                "run.last".into(),
                tree!({
                    "Type": "Task",
                    "Comment": "note this run as the jobnet's latest; the run it follows is returned",
                    "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": {
                        "TableName": &self.table,
                        "Key": {"pk": {"S": last_key(&self.jobnet)}},
                        "UpdateExpression": "SET lastRun = :run, lastExecution = :x",
                        "ConditionExpression": "attribute_not_exists(lastRun) OR lastRun < :run",
                        "ExpressionAttributeValues": {":run": run, ":x": {"S.$": "$$.Execution.Id"}},
                        "ReturnValues": "UPDATED_OLD"
                    },
                    "ResultPath": "$.hold",
                    "Catch": [
                        {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": null, "Next": "run.again"},
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail}
                    ],
                    "Next": "run.previous.any"
                }),
            ),
            (
                "run.previous.any".into(),
                tree!({
                    "Type": "Choice",
                    "Choices": [{"Variable": last, "IsPresent": true, "Next": "run.previous"}],
                    "Default": gate
                }),
            ),
            (
                "run.previous".into(),
                read_run(
                    "read how the run before this one ended",
                    last,
                    "run.previous.check",
                ),
            ),
            (
                "run.previous.check".into(),
                tree!({
                    "Type": "Choice",
                    "Comment": format!("not held when the run before ended {when}"),
                    "Choices": good(gate),
                    "Default": "run.held"
                }),
            ),
            (
                "run.held".into(),
                mark(
                    "mark the run held, and after which run",
                    "SET heldAt = if_not_exists(heldAt, :now), heldAfter = :prev",
                    tree!({":now": {"S.$": "$$.State.EnteredTime"}, ":prev": {"S.$": last}}),
                ),
            ),
            (
                "run.again".into(),
                read(
                    "held: after which run?",
                    self.key(),
                    "heldAt, heldAfter",
                    None,
                    ("$.hold.record", "run.again.any"),
                ),
            ),
            (
                "run.again.any".into(),
                tree!({
                    "Type": "Choice",
                    "Choices": [{"And": [
                        {"Variable": "$.hold.record.Item.heldAt", "IsPresent": true},
                        {"Variable": held_after, "IsPresent": true}
                    ], "Next": "run.again.previous"}],
                    "Default": gate
                }),
            ),
            (
                "run.again.previous".into(),
                read_run(
                    "read how the run before this one ended, again",
                    held_after,
                    "run.again.check",
                ),
            ),
            (
                "run.again.check".into(),
                tree!({
                    "Type": "Choice",
                    "Comment": format!("no longer held once the run before has ended {when}"),
                    "Choices": good("run.unheld"),
                    "Default": gate
                }),
            ),
            (
                "run.unheld".into(),
                mark(
                    "the run before has ended well after all: the run is no longer held by it",
                    "SET clearedAt = :now REMOVE heldAt",
                    tree!({":now": {"S.$": "$$.State.EnteredTime"}}),
                ),
            ),
        ]
    }

    /// Takes one of the run's `max` job slots (the job's path joins the run item's `slots`
    /// set), or, all taken, goes to `wait` to try again. Taking it twice is harmless.
    pub fn take_slot(&self, max: u32, next: &str, wait: &str, fail: &str) -> Tree {
        self.conditional_update(
            format!(
                "{}: at most {max} jobs of the run at once: take a slot",
                self.path
            ),
            self.run_item(),
            (
                "ADD slots :me",
                "attribute_not_exists(slots) OR size(slots) < :max OR contains(slots, :path)",
            ),
            tree!({
                ":me": {"SS": [&self.path]},
                ":path": {"S": &self.path},
                ":max": {"N": max.to_string()}
            }),
            (next, wait, fail),
        )
    }

    /// Gives the job's slot back. A slot that cannot be given back would keep other jobs
    /// waiting: that fails the run (`fail`) instead.
    pub fn free_slot(&self, next: &str, fail: &str) -> Tree {
        self.run_item_paths(
            format!("{}: give the job's slot back", self.path),
            "DELETE slots :me",
            ("$.slotError", fail),
            next,
        )
    }

    /// An update of the run item that adds the job's path to a set or deletes it (`update`
    /// names it `:me`); a failed write goes to `on_error` with the error at `error_path`.
    fn run_item_paths(
        &self,
        comment: String,
        update: &str,
        (error_path, on_error): (&str, &str),
        next: &str,
    ) -> Tree {
        self.update_item(
            comment,
            self.run_item(),
            (update, None, tree!({":me": {"SS": [&self.path]}})),
            tree!([{"ErrorEquals": ["States.ALL"], "ResultPath": error_path, "Next": on_error}]),
            next,
        )
    }

    /// A job waits here for a free slot between two attempts to take one: a minute (as
    /// scaled for rehearsals), as a held job does.
    pub fn slot_wait(&self, take: &str) -> Tree {
        look_again(
            "every slot is taken: look again",
            self.hold_poll_seconds,
            take,
        )
    }

    /// A held jobnet waits here between two looks at its record: every five minutes (as
    /// scaled for rehearsals), about a hundred history events an hour, so that a run can
    /// stay held for days within an execution's 25,000 events.
    pub fn gate_wait(&self, gate: &str) -> Tree {
        look_again(
            "held: look again in five minutes",
            self.hold_poll_seconds * 5,
            gate,
        )
    }

    /// A held job waits here between two attempts to start.
    pub fn wait(&self, begin: &str) -> Tree {
        look_again("held: look again", self.hold_poll_seconds, begin)
    }

    /// Records the end, with the return code at `rc` (a path that must exist on every way
    /// into this state: a missing path is a States.Runtime error, which nothing catches).
    pub fn end(&self, status: &str, next: &str, rc: Option<&str>) -> Tree {
        let mut values = tree!({
            ":st": {"S": status},
            ":now": {"S.$": "$$.State.EnteredTime"}
        });
        let mut expr = "SET #s = :st, endedAt = :now".to_string();
        if let Some(rc) = rc {
            values[":rc"] = tree!({"S.$": format!("States.JsonToString({rc})")});
            expr.push_str(", rc = :rc");
        }
        tree!({
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": &self.table,
                "Key": self.key(),
                "UpdateExpression": expr,
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": values
            },
            "ResultPath": null,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.recordError", "Next": next}],
            "Next": next
        })
    }
}

/// A Wait of `seconds` before `next` looks again.
fn look_again(comment: &str, seconds: u64, next: &str) -> Tree {
    tree!({"Type": "Wait", "Comment": comment, "Seconds": seconds, "Next": next})
}

/// The run item's states at the top of the root machine: claim the business date (or, for
/// `rerun`, take it over), else record the refusal and end.
pub fn run_start(
    table: &str,
    jobnet: &str,
    business_date: &str,
    generation: Option<&str>,
    reset_slots: bool,
    next: &str,
) -> Vec<(String, Tree)> {
    let key = key_param(&format!("run#{jobnet}"), "", business_date, generation);
    let mut set = "SET #s = :running, startedAt = :now, execution = :exec, jobnet = :jobnet, businessDate = :date".to_string();
    let mut values = tree!({
        ":running": {"S": RUNNING},
        ":one": {"N": "1"},
        ":now": {"S.$": "$$.State.EnteredTime"},
        ":exec": {"S.$": "$$.Execution.Id"},
        ":jobnet": {"S": jobnet},
        ":date": {"S.$": business_date}
    });
    if let Some(g) = generation {
        set.push_str(", generation = :gen");
        values[":gen"] = tree!({"S.$": g});
    }
    // Slots still taken by an execution that was stopped are free again for this one.
    set.push_str(if reset_slots {
        " REMOVE endedAt, slots ADD starts :one"
    } else {
        " REMOVE endedAt ADD starts :one"
    });
    let mut states = Vec::new();
    if let Some(g) = generation {
        states.push((
            "run.generation".to_string(),
            tree!({
                "Type": "Choice",
                "Comment": "the jobnet can run several times a business date: each run names its generation",
                "Choices": [
                    {"Not": {"Variable": g, "IsPresent": true}, "Next": "run.no-generation"},
                    {"Not": {"Variable": g, "IsString": true}, "Next": "run.no-generation"}
                ],
                "Default": "run.kind"
            }),
        ));
        states.push((
            "run.no-generation".to_string(),
            tree!({"Type": "Fail", "Comment": "started without a generation", "Error": "MissingGeneration", "Cause": format!("This jobnet can run several times a business date: start it with `{GENERATION_FIELD}` (a string) in the input (schedules pass the start time, HHMM).")}),
        ));
    }
    states.extend(vec![
        (
            "run.kind".into(),
            tree!({
                "Type": "Choice",
                "Comment": "a start without a business date is refused; a rerun (jobnet2sfn rerun) takes over the business date's run; any other start claims it",
                "Choices": [
                    {"Not": {"Variable": business_date, "IsPresent": true}, "Next": "run.no-date"},
                    {"Not": {"Variable": business_date, "IsString": true}, "Next": "run.no-date"},
                    {"And": [
                        {"Variable": "$$.Execution.Input.rerun", "IsPresent": true},
                        {"Variable": "$$.Execution.Input.rerun", "BooleanEquals": true}
                    ], "Next": "run.rerun"}
                ],
                "Default": "run.claim"
            }),
        ),
        (
            "run.no-date".into(),
            tree!({"Type": "Fail", "Comment": "started without a business date", "Error": "MissingBusinessDate", "Cause": "Start the jobnet with `businessDate` (YYYY-MM-DD) in the input; its schedules and `jobnet2sfn rerun` pass it."}),
        ),
        (
            "run.claim".into(),
            tree!({
                "Type": "Task",
                "Comment": "record the run; a second start for the same business date is refused",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": set,
                    "ConditionExpression": "attribute_not_exists(startedAt)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": values
                },
                "ResultPath": null,
                "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": null, "Next": "run.refused"}],
                "Next": next
            }),
        ),
        (
            "run.rerun".into(),
            tree!({
                "Type": "Task",
                "Comment": "a rerun: the business date's run goes on in this execution",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": set,
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": values
                },
                "ResultPath": null,
                "Next": next
            }),
        ),
        (
            "run.refused".into(),
            tree!({
                "Type": "Task",
                "Comment": "record the refused start",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "SET lastRefused = :exec ADD refused :one",
                    "ExpressionAttributeValues": {":exec": {"S.$": "$$.Execution.Id"}, ":one": {"N": "1"}}
                },
                "ResultPath": null,
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "run.already-started"}],
                "Next": "run.already-started"
            }),
        ),
        (
            "run.already-started".into(),
            tree!({"Type": "Fail", "Comment": "this business date already has a run: use jobnet2sfn rerun", "Error": "RunAlreadyStarted", "Cause": "The jobnet already has a run for this business date. Use `jobnet2sfn rerun` to run units again."}),
        ),
    ]);
    states
}

/// Records the run's end (`status`), then goes to `next`; never changes the outcome.
pub fn run_end(
    table: &str,
    jobnet: &str,
    business_date: &str,
    generation: Option<&str>,
    status: &str,
    next: &str,
) -> Tree {
    tree!({
        "Type": "Task",
        "Comment": format!("record the run's end ({status})"),
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": table,
            "Key": key_param(&format!("run#{jobnet}"), "", business_date, generation),
            "UpdateExpression": "SET #s = :st, endedAt = :now",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":st": {"S": status}, ":now": {"S.$": "$$.State.EnteredTime"}}
        },
        "ResultPath": null,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.recordError", "Next": next}],
        "Next": next
    })
}

/// `runs.json`: what `jobnet2sfn status|rerun|hold|release` need to know about each jobnet
/// with run records: its record name, root machine, and every unit with its parent, its
/// successors in its net and whether it is a job (only jobs have records).
/// Whether a unit keeps a run record (when its jobnet keeps them): jobs, and interval and
/// event waits (file waits for an object's events too), so that a rerun passes over a
/// wait that already ended instead of waiting again (an event that came will not come
/// again). A clock-time wait needs none (a time already past does not wait), nor does a
/// wait for a file to exist (the file is still there).
pub fn has_record(kind: &crate::ir::UnitKind) -> bool {
    use crate::ir::{TimeWait, UnitKind};
    matches!(
        kind,
        UnitKind::Job(_) | UnitKind::Wait(TimeWait::Minutes(_))
    ) || crate::ir::waits_for_event(kind)
}

pub fn run_map(project: &crate::ir::Project, outputs: &[crate::back::asl::JobnetOutput]) -> Tree {
    use crate::back::asl::Role;
    let mut jobnets = Vec::new();
    for out in outputs {
        let Some(root) = out.machines.iter().find(|m| m.role == Role::Root) else {
            continue;
        };
        if !out.tables.contains(crate::back::asl::RUN_TABLE) || !out.run_records {
            continue;
        }
        let generations = out.generations;
        let units_under = project.descendants(out.root);
        // Successors by unit, from one pass over every net's edges (in edge order).
        let mut next: foldhash::HashMap<crate::ir::UnitId, Vec<&str>> =
            foldhash::HashMap::default();
        for &n in &units_under {
            for e in project.units[n]
                .as_net()
                .map_or(&[][..], |net| &net.edges[..])
            {
                next.entry(e.from)
                    .or_default()
                    .push(project.units[e.to].path.as_str());
            }
        }
        let mut units = Vec::new();
        for u in units_under {
            let unit = &project.units[u];
            let successors = next.remove(&u).unwrap_or_default();
            units.push(tree!({
                "path": unit.path,
                "parent": unit.parent.map(|p| project.units[p].path.clone()),
                "job": matches!(unit.kind, crate::ir::UnitKind::Job(_)),
                "recorded": has_record(&unit.kind),
                "successors": successors
            }));
            if unit.as_net().is_some() && unit.held() {
                // A held jobnet's gate keeps a record that `release` marks.
                if let Some(Tree::Object(entry)) = units.last_mut() {
                    entry.insert("holdGate", tree!(true));
                    if let Some(after) = unit.held_after() {
                        entry.insert("holdAfter", tree!(after.spec_name()));
                    }
                }
            }
        }
        // `object` moves the unit lists in; interpolating them in `tree!` would copy them.
        jobnets.push(object([
            ("name", tree!(project.units[out.root].name)),
            ("path", tree!(project.units[out.root].path)),
            ("record", tree!(out.machine_base)),
            ("machine", tree!(root.name)),
            ("generations", tree!(generations)),
            ("units", Tree::Array(units)),
        ]));
    }
    object([("version", tree!(1)), ("jobnets", Tree::Array(jobnets))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_part_of_the_key() {
        let k = key_param(
            "run#net",
            "",
            "$$.Execution.Input.businessDate",
            Some("$$.Execution.Input.generation"),
        );
        assert_eq!(
            k["pk"]["S.$"],
            "States.Format('run#net#{}@{}', $$.Execution.Input.businessDate, $$.Execution.Input.generation)"
        );
        assert_eq!(
            run_key("net", &run_segment("2027-01-04", Some("0930"))),
            "run#net#2027-01-04@0930"
        );
        assert_eq!(run_segment("2027-01-04", None), "2027-01-04");
        let states = run_start(
            "T",
            "net",
            "$$.Execution.Input.businessDate",
            Some("$$.Execution.Input.generation"),
            false,
            "go",
        );
        assert_eq!(states[0].0, "run.generation");
        assert!(states
            .iter()
            .any(|(n, s)| n == "run.no-generation" && s["Error"] == "MissingGeneration"));
    }

    #[test]
    fn keys_escape_intrinsic_characters() {
        let k = key_param(
            "unit#net",
            "#/net/a{b}'c",
            "$$.Execution.Input.businessDate",
            None,
        );
        assert_eq!(
            k["pk"]["S.$"],
            "States.Format('unit#net#{}#/net/a\\{b\\}\\'c', $$.Execution.Input.businessDate)"
        );
        assert_eq!(
            unit_key("net", "2027-01-04", "/net/a"),
            "unit#net#2027-01-04#/net/a"
        );
        assert_eq!(run_key("net", "2027-01-04"), "run#net#2027-01-04");
    }

    #[test]
    fn a_job_held_in_the_source_needs_a_release() {
        let r = JobRecord {
            table: "${RunTable}".into(),
            jobnet: "n".into(),
            path: "/n/a".into(),
            business_date: "$$.Execution.Input.businessDate".into(),
            generation: None,
            held_in_source: true,
            key: Default::default(),
            hold_poll_seconds: 60,
        };
        let cond = r.begin("a", "a.why", "x")["Parameters"]["ConditionExpression"].clone();
        assert!(cond
            .as_str()
            .unwrap()
            .contains("attribute_exists(released)"));
    }
}
