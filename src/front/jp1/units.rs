//! Lowering of unit-level features: end judgment, retry, judgment jobs, timed and file waits,
//! connectors, cross-jobnet waits (`eun=`) and `.CONDITION` start conditions.
//!
//! JP1 defaults applied here (from the Command Reference): `jd=cod`; `ej=gt` with
//! `ejc=0`; range judgments `ejm=ge`, `eju=le`; retry `rec=1`, `rei=1` minute,
//! `rjs=1`, `rje=4294967295`.

use super::lower::{approx, ignored, unsup, Lower, Marks};
use super::parser::{Param, UnitDef};
use super::report::Status;
use crate::diag::Diagnostic;
use crate::ir::{
    event_id, s3_object, CmpOp, Condition, EndJudgment, EventMatch, FileWait, Job, Judgment,
    ObjectEvents, StartConditions, StartEvent, TextMatch, UnitId, UnitKind, WaitFor,
};

const RETRY_MAX_CODE: i64 = 4_294_967_295;

/// How a path on the legacy host is read: the back end looks it up under its segments in
/// the `LegacyFileBucket` bucket.
fn legacy_path() -> Status {
    approx("legacy file path: the object at that path (as key) in the bucket of the LegacyFileBucket template parameter")
}

/// What JP1 file monitoring watches (`flwc=c[:d[:{s|m}]]`, creation when not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileChange {
    pub created: bool,
    pub deleted: bool,
    pub resized: bool,
    pub rewritten: bool,
}

impl Default for FileChange {
    fn default() -> Self {
        FileChange {
            created: true,
            deleted: false,
            resized: false,
            rewritten: false,
        }
    }
}

impl FileChange {
    /// `c:d:s`; `None` for another letter, a repeated one, or `s` with `m`.
    pub fn parse(v: &str) -> Option<FileChange> {
        let mut c = FileChange {
            created: false,
            ..FileChange::default()
        };
        for k in v.split(':') {
            let flag = match k {
                "c" => &mut c.created,
                "d" => &mut c.deleted,
                "s" => &mut c.resized,
                "m" => &mut c.rewritten,
                _ => return None,
            };
            if *flag {
                return None;
            }
            *flag = true;
        }
        (!(c.resized && c.rewritten)).then_some(c)
    }

    /// The S3 events that show it: any change but a deletion is a write.
    pub fn events(self) -> ObjectEvents {
        ObjectEvents {
            written: self.created || self.resized || self.rewritten,
            deleted: self.deleted,
        }
    }

    /// Where S3's `Object Created` and `Object Deleted` events say less than JP1 watches.
    pub fn approximations(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.created && !self.resized && !self.rewritten {
            v.push("an overwrite of a file already there counts as a creation (S3 events do not tell them apart)");
        }
        if (self.resized || self.rewritten) && !self.created {
            v.push("the creation of a file that was not there counts as a change (S3 events do not tell them apart)");
        }
        if self.resized {
            v.push("any write counts as a change of size, one that keeps the size too (S3 events carry no size before)");
        }
        v
    }
}

/// A file monitoring job's `flwc=` and `flco=`: the last valid one of each, by index, for
/// the caller to mark; earlier ones are marked ignored, invalid ones are errors.
pub(super) struct FileConditions {
    pub change: FileChange,
    pub flwc: Option<usize>,
    pub flco: Option<(usize, bool)>,
}

pub(super) fn idx(u: &UnitDef, key: &str) -> Option<usize> {
    u.params.iter().rposition(|p| p.key == key)
}

impl Lower<'_> {
    pub(super) fn end_judgment(
        &mut self,
        u: &UnitDef,
        marks: &mut Marks,
        jd: Option<usize>,
        wth: Option<usize>,
        tho: Option<usize>,
        jdf: Option<usize>,
    ) -> EndJudgment {
        let mode = jd.map(|i| u.params[i].value.first_text()).unwrap_or("cod");
        let mut thresholds_used = false;
        let end = match mode {
            "cod" => {
                thresholds_used = true;
                let mut warning = None;
                let mut abnormal = 0;
                if let Some(i) = wth {
                    match self.number::<i64>(&u.params[i], "a return code") {
                        Ok(v) => {
                            warning = Some(v);
                            marks.set(i, Status::Mapped);
                        }
                        Err(s) => marks.set(i, s),
                    }
                }
                match tho {
                    Some(i) => match self.number::<i64>(&u.params[i], "a return code") {
                        Ok(v) => {
                            abnormal = v;
                            marks.set(i, Status::Mapped);
                        }
                        Err(s) => marks.set(i, s),
                    },
                    None => {
                        if let (Some(w), Some(i)) = (warning, wth) {
                            abnormal = i64::from(i32::MAX).max(w);
                            marks.set(
                                i,
                                approx("no abnormal threshold: every code above the warning threshold is a warning"),
                            );
                        }
                    }
                }
                if let (Some(w), Some(i)) = (warning, wth) {
                    if tho.is_some() && w > abnormal {
                        self.diags.push(
                            Diagnostic::error(
                                "E0311",
                                format!("warning threshold `wth={w}` is above the abnormal threshold `tho={abnormal}`"),
                            )
                            .at(u.params[i].key_span)
                            .hint("JP1 needs `wth` below `tho`: codes above `tho` are abnormal"),
                        );
                        warning = None;
                        marks.set(i, unsup("fix the thresholds: `wth` must not exceed `tho`"));
                    }
                }
                EndJudgment::ReturnCode { warning, abnormal }
            }
            "nm" => EndJudgment::AlwaysNormal,
            "ab" => EndJudgment::AlwaysAbnormal,
            "mdf" | "exf" => match jdf {
                Some(i) => {
                    let path = u.params[i].value.first_text().to_string();
                    marks.set(
                        i,
                        if s3_object(&path).is_some() {
                            Status::Mapped
                        } else {
                            legacy_path()
                        },
                    );
                    if mode == "mdf" {
                        EndJudgment::FileModified(path)
                    } else {
                        EndJudgment::FileExists(path)
                    }
                }
                None => {
                    let p = &u.params[jd.unwrap_or(0)];
                    self.diags.push(
                        Diagnostic::error(
                            "E0311",
                            format!("`jd={mode}` needs the judgment file `jdf=`"),
                        )
                        .at(p.key_span)
                        .hint("add `jdf=\"path\";`"),
                    );
                    EndJudgment::default()
                }
            },
            _ => {
                if let Some(i) = jd {
                    let s = self.bad_value(&u.params[i], "`cod`, `nm`, `ab`, `mdf` or `exf`");
                    marks.set(i, s);
                }
                EndJudgment::default()
            }
        };
        if let Some(i) = jd {
            if marks.is_unset(i) {
                marks.set(i, Status::Mapped);
            }
        }
        if !thresholds_used {
            for i in [wth, tho].into_iter().flatten() {
                marks.set(i, ignored("thresholds apply only with `jd=cod`"));
            }
        }
        if let Some(i) = jdf {
            if marks.is_unset(i) {
                marks.set(
                    i,
                    ignored("the judgment file applies only with `jd=mdf|exf`"),
                );
            }
        }
        end
    }

    /// abr/rjs/rje/rec/rei → automatic retry.
    pub(super) fn retry(
        &mut self,
        u: &UnitDef,
        marks: &mut Marks,
        keys: [Option<usize>; 5],
    ) -> Option<crate::ir::Retry> {
        let [abr, rjs, rje, rec, rei] = keys;
        let on = abr.is_some_and(|i| u.params[i].value.first_text() == "y");
        if let Some(i) = abr {
            let s = match u.params[i].value.first_text() {
                "y" | "n" => Status::Mapped,
                _ => self.bad_value(&u.params[i], "`y` or `n`"),
            };
            marks.set(i, s);
        }
        if !on {
            for i in [rjs, rje, rec, rei].into_iter().flatten() {
                marks.set(i, ignored("automatic retry is off (`abr=n`)"));
            }
            return None;
        }
        let mut get = |slot: Option<usize>, default: i64, this: &mut Self| -> i64 {
            let Some(i) = slot else { return default };
            match this.number::<i64>(&u.params[i], "a number") {
                Ok(v) => {
                    marks.set(i, Status::Mapped);
                    v
                }
                Err(s) => {
                    marks.set(i, s);
                    default
                }
            }
        };
        let low = get(rjs, 1, self);
        let high = get(rje, RETRY_MAX_CODE, self);
        let attempts = get(rec, 1, self);
        let interval = get(rei, 1, self);
        Some(crate::ir::Retry {
            max_attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
            interval_seconds: u32::try_from(interval.max(0).saturating_mul(60)).unwrap_or(u32::MAX),
            return_codes: Some((low, high)),
            span: u.params[abr.unwrap_or(0)].key_span,
        })
    }

    /// A judgment job's condition; Err(reason) for forms the IR cannot express.
    pub(super) fn judgment(&mut self, u: &UnitDef, marks: &mut Marks) -> Result<Judgment, String> {
        let ej = idx(u, "ej");
        let form = ej.map(|i| u.params[i].value.first_text()).unwrap_or("gt");
        let text = |k: &str| idx(u, k).map(|i| (i, u.params[i].value.first_text().to_string()));
        let mut used: Vec<&str> = vec!["ej"];
        let num = |this: &mut Self, k: &'static str, default: Option<i64>| -> Option<i64> {
            match idx(u, k) {
                Some(i) => this.number::<i64>(&u.params[i], "an integer").ok(),
                None => default,
            }
        };
        let cond = match form {
            "gt" | "ge" | "lt" | "le" | "eq" | "ne" => {
                used.push("ejc");
                let value = num(self, "ejc", Some(0)).unwrap_or(0);
                Condition::ReturnCode {
                    op: CmpOp::parse(form).unwrap_or(CmpOp::Gt),
                    value,
                }
            }
            "ri" | "ro" => {
                used.extend(["ejl", "ejh", "ejm", "eju"]);
                let (Some(low), Some(high)) = (num(self, "ejl", None), num(self, "ejh", None))
                else {
                    return Err("range judgment without `ejl=`/`ejh=`".into());
                };
                let low_excl = text("ejm").is_some_and(|(_, v)| v == "gt");
                let high_excl = text("eju").is_some_and(|(_, v)| v == "lt");
                Condition::ReturnCodeRange {
                    inside: form == "ri",
                    low: if low_excl { low.saturating_add(1) } else { low },
                    high: if high_excl {
                        high.saturating_sub(1)
                    } else {
                        high
                    },
                }
            }
            "ef" | "nf" => {
                used.push("ejf");
                let Some((i, path)) = text("ejf") else {
                    return Err("file judgment without `ejf=`".into());
                };
                if s3_object(&path).is_none() {
                    marks.set(i, legacy_path());
                }
                Condition::FileExists {
                    path,
                    exists: form == "ef",
                }
            }
            "vgt" | "vge" | "vlt" | "vle" | "veq" | "vne" | "sce" | "sne" | "snn" | "snl" => {
                let Some((_, name)) = text("ejv") else {
                    return Err("variable judgment without `ejv=`".into());
                };
                used.push("ejv");
                let (op, value) = match form {
                    "sce" | "sne" => {
                        used.push("ejt");
                        let op = if form == "sce" { CmpOp::Eq } else { CmpOp::Ne };
                        (op, text("ejt").map(|(_, v)| v).unwrap_or_default())
                    }
                    "snl" => (CmpOp::Eq, String::new()),
                    "snn" => (CmpOp::Ne, String::new()),
                    _ => {
                        used.push("eji");
                        let v = num(self, "eji", Some(0)).unwrap_or(0);
                        (CmpOp::parse(&form[1..]).unwrap_or(CmpOp::Eq), v.to_string())
                    }
                };
                Condition::Variable { name, op, value }
            }
            "vri" | "vro" => return Err("variable range judgment (`vri`/`vro`)".into()),
            "spe" | "spn" => return Err("variable substring judgment (`spe`/`spn`)".into()),
            _ => {
                if let Some(i) = ej {
                    let s =
                        self.bad_value(&u.params[i], "a judgment condition such as `gt` or `ef`");
                    marks.set(i, s);
                }
                return Err(format!("unknown judgment condition `{form}`"));
            }
        };
        for (i, p) in u.params.iter().enumerate() {
            if p.key.starts_with("ej") && marks.is_unset(i) {
                marks.set(
                    i,
                    if used.contains(&p.key.as_str()) {
                        Status::Mapped
                    } else {
                        ignored("not used by this judgment condition")
                    },
                );
            }
        }
        Ok(Judgment { condition: cond })
    }

    /// tmwj: `tmitv=` minutes.
    pub(super) fn interval(&mut self, u: &UnitDef, marks: &mut Marks) -> Option<u32> {
        let i = idx(u, "tmitv")?;
        match self.number::<u32>(&u.params[i], "minutes") {
            Ok(m) => {
                marks.set(i, Status::Mapped);
                Some(m)
            }
            Err(s) => {
                marks.set(i, s);
                None
            }
        }
    }

    /// flwj: waits for `flwf=` as `flwc=` says (creation by default, deletion, a change of
    /// size or write time), looking every `flwi=` seconds. JP1 watches for a change from
    /// what was there when the wait began: the object's S3 events after the wait began end
    /// it (an EventBridge rule records them). With `flco=y` a file already there ends a
    /// creation wait, so the wait looks for the object to exist instead, which also covers
    /// the other conditions (nothing that is not there can be deleted or changed).
    pub(super) fn file_wait(&mut self, u: &UnitDef, marks: &mut Marks) -> (UnitKind, Status) {
        let mut interval = FileWait::DEFAULT_INTERVAL;
        let fc = self.file_conditions(u, marks);
        let change = fc.change;
        for (i, p) in u.params.iter().enumerate() {
            let s = match p.key.as_str() {
                "flwf" => Status::Mapped,
                "flwi" => match self.number::<u32>(p, "seconds") {
                    Ok(n) if (1..=600).contains(&n) => {
                        interval = n;
                        Status::Mapped
                    }
                    Ok(_) => self.bad_value(p, "1 to 600 seconds"),
                    Err(s) => s,
                },
                "jpoif" => unsup(
                    "passing information from the monitored file: read the file in the next job",
                ),
                "ex" => approx("the agent host is not kept: the file is looked for in S3"),
                "eu" | "pfm" => ignored("no agent runs the wait: the machine looks at S3"),
                _ => continue,
            };
            marks.set(i, s);
        }
        // `flco=y` counts only with creation (JP1 ignores it otherwise).
        let exists = change.created && fc.flco.is_some_and(|(_, y)| y);
        let Some(i) = idx(u, "flwf") else {
            return (
                UnitKind::Unsupported {
                    type_name: "flwj".into(),
                    reason: "file monitoring without `flwf=`".into(),
                },
                unsup("name the monitored file with `flwf=`"),
            );
        };
        let path = u.params[i].value.first_text().to_string();
        let (wildcard, matchable) = (path.contains('*'), FileWait::matchable(&path));
        let unusable = if path.trim().is_empty() {
            Some("file monitoring without a file name")
        } else if wildcard && !matchable {
            Some("file monitoring of a wildcard name filled in at run time (no EventBridge rule can match it, and an S3 look reads one key)")
        } else if !matchable && !change.created {
            Some("file monitoring for a deletion or change of a file named at run time (no EventBridge rule can match it)")
        } else {
            None
        };
        if let Some(reason) = unusable {
            marks.set(i, unsup(reason));
            return (
                UnitKind::Unsupported {
                    type_name: "flwj".into(),
                    reason: reason.into(),
                },
                unsup("write the file name in full, or wait in a polling job"),
            );
        }
        if s3_object(&path).is_none() {
            marks.set(i, legacy_path());
        }
        let notes = change.approximations();
        let mut unit_notes: Vec<&str> = Vec::new();
        let (events, flwc, flco) = if exists && !wildcard {
            (None, Status::Mapped, Status::Mapped)
        } else if !matchable {
            // No rule can match a name filled in at run time: look for it to exist.
            unit_notes.push("a file named at run time is looked for: one already there when the wait starts ends it (JP1 waits for a new one unless `flco=y`)");
            (
                None,
                approx(
                    "only the file's existence is looked for (its name is filled in at run time)",
                ),
                Status::Mapped,
            )
        } else {
            if fc.flwc.is_none() {
                unit_notes.extend(&notes);
            }
            if wildcard {
                unit_notes.push("`*` matches `/` too: names in folders below match");
            }
            let flco = match fc.flco {
                // A wildcard name cannot be looked for (one key per look): only what is
                // written after the wait began ends it.
                Some((_, true)) if exists => approx("a file already there does not end the wait: only one written after it began (an S3 look reads one key, not a wildcard)"),
                Some((_, true)) => ignored("`flco=y` counts only with creation (`flwc=c`)"),
                _ => Status::Mapped,
            };
            let flwc = if notes.is_empty() {
                Status::Mapped
            } else {
                approx(notes.join("; "))
            };
            (Some(change.events()), flwc, flco)
        };
        if let Some(f) = fc.flwc {
            marks.set(f, flwc);
        }
        if let Some((f, _)) = fc.flco {
            marks.set(f, flco);
        }
        let status = if unit_notes.is_empty() {
            Status::Mapped
        } else {
            approx(unit_notes.join("; "))
        };
        (
            UnitKind::FileWait(FileWait {
                path,
                interval_seconds: interval,
                events,
            }),
            status,
        )
    }

    /// Reads `flwc=` and `flco=` of a file monitoring job ([`FileConditions`]).
    fn file_conditions(&mut self, u: &UnitDef, marks: &mut Marks) -> FileConditions {
        let mut out = FileConditions {
            change: FileChange::default(),
            flwc: None,
            flco: None,
        };
        for (i, p) in u.params.iter().enumerate() {
            match p.key.as_str() {
                "flwc" => {
                    if let Some(j) = out.flwc.take() {
                        marks.set(j, ignored("a later `flwc=` is used"));
                    }
                    match FileChange::parse(p.value.first_text()) {
                        Some(c) => {
                            out.change = c;
                            out.flwc = Some(i);
                        }
                        None => {
                            let s = self.bad_value(
                                p,
                                "`c`, `d`, `s` or `m` (not `s` with `m`), joined by `:`",
                            );
                            marks.set(i, s);
                        }
                    }
                }
                "flco" => {
                    if let Some((j, _)) = out.flco.take() {
                        marks.set(j, ignored("a later `flco=` is used"));
                    }
                    match p.value.first_text() {
                        v @ ("y" | "n") => out.flco = Some((i, v == "y")),
                        _ => {
                            let s = self.bad_value(p, "`y` or `n`");
                            marks.set(i, s);
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// evsj: a JP1 event becomes an EventBridge event (job type `eventbridge`) whose
    /// detail keeps the event id, message, level and extended attributes.
    pub(super) fn send_event(&mut self, u: &UnitDef, marks: &mut Marks) -> (UnitKind, Status) {
        let mut detail = serde_json::Map::new();
        let mut attributes = serde_json::Map::new();
        let mut status = Status::Mapped;
        for (i, p) in u.params.iter().enumerate() {
            let v = p.value.first_text();
            let s = match p.key.as_str() {
                "evsid" => {
                    // Written as a receiving start condition matches it (`ir::event_id`).
                    detail.insert(
                        "eventId".into(),
                        event_id(v).unwrap_or_else(|| v.into()).into(),
                    );
                    Status::Mapped
                }
                "evsms" => {
                    detail.insert("message".into(), v.into());
                    Status::Mapped
                }
                "evssv" => match event_level(v) {
                    Some(level) => {
                        detail.insert("severity".into(), level.into());
                        Status::Mapped
                    }
                    None => self.bad_value(p, "`em`, `al`, `cr`, `er`, `wr`, `no`, `in` or `db`"),
                },
                "evsfr" => match v.split_once(':') {
                    Some((name, value)) => {
                        attributes.insert(name.to_string(), value.trim_matches('"').into());
                        Status::Mapped
                    }
                    None => self.bad_value(p, "`name:\"value\"`"),
                },
                "evhst" => {
                    status = approx("the event goes to the EventBridge bus: route it with a rule instead of to a destination host");
                    approx("no destination host: a rule on the bus routes the event")
                }
                "evsrt" | "evspl" | "evsrc" => ignored(
                    "arrival checks: EventBridge accepts the event or the job ends abnormally",
                ),
                "pfm" => ignored("no agent platform: Step Functions sends the event"),
                _ => continue,
            };
            marks.set(i, s);
        }
        detail.entry("severity").or_insert_with(|| "Notice".into());
        if !attributes.is_empty() {
            detail.insert("attributes".into(), attributes.into());
        }
        let params = [
            ("detail_type".to_string(), serde_json::json!("JP1 event")),
            ("detail".to_string(), serde_json::Value::Object(detail)),
        ];
        (UnitKind::Job(send_job(u, "eventbridge", params)), status)
    }

    /// mlsj: mail sending becomes an SNS publish (job type `sns`); the recipients are
    /// reported, to be subscribed to the topic.
    pub(super) fn send_mail(&mut self, u: &UnitDef, marks: &mut Marks) -> (UnitKind, Status) {
        let mut subject = None;
        let mut message = None;
        let mut recipients = Vec::new();
        for (i, p) in u.params.iter().enumerate() {
            let v = p.value.first_text();
            let s = match p.key.as_str() {
                "mlsbj" => {
                    subject = Some(v.to_string());
                    Status::Mapped
                }
                "mltxt" | "mltx" => {
                    message = Some(v.to_string());
                    Status::Mapped
                }
                "mladr" => {
                    // `to:`, `cc:` or `bcc:` and the address.
                    let address = match v.split_once(':') {
                        Some(("to" | "cc" | "bcc", a)) => a,
                        _ => v,
                    };
                    recipients.push(address.to_string());
                    approx(format!(
                        "recipient {address}: subscribe it to the job's SNS topic"
                    ))
                }
                "pfm" | "mlprf" => {
                    ignored("no mail client profile: SNS delivers to the topic's subscribers")
                }
                "mlatf" | "mlafl" => {
                    unsup("attachments: put the file in S3 and send a link in the message")
                }
                _ => continue,
            };
            marks.set(i, s);
        }
        let mut params = Vec::new();
        let mut text = message.unwrap_or_default();
        if let Some(subject) = subject {
            // SNS takes a one-line subject under 100 characters without control characters,
            // and has not always taken non-ASCII ones: any other subject opens the message.
            if subject.is_ascii()
                && subject.len() < 100
                && !subject.chars().any(|c| c.is_ascii_control())
            {
                params.push(("subject".to_string(), serde_json::json!(subject)));
            } else {
                text = if text.is_empty() {
                    subject
                } else {
                    format!("{subject}\n\n{text}")
                };
            }
        }
        if !text.is_empty() {
            params.push(("message".to_string(), serde_json::json!(text)));
        }
        let status = approx(format!(
            "mail becomes an SNS message: subscribe {} to the topic",
            if recipients.is_empty() {
                "the recipients".to_string()
            } else {
                recipients.join(", ")
            }
        ));
        (UnitKind::Job(send_job(u, "sns", params)), status)
    }

    /// nc: a jobnet connector waits for the connected root jobnet (`ncn=`).
    pub(super) fn connector(&mut self, u: &UnitDef, marks: &mut Marks) -> (UnitKind, Status) {
        for (i, p) in u.params.iter().enumerate() {
            if matches!(p.key.as_str(), "nchn" | "ncsv") {
                marks.set(
                    i,
                    unsup("connection to another manager: convert that jobnet too and wait for it"),
                );
            }
        }
        match idx(u, "ncn") {
            Some(i) => {
                marks.set(i, Status::Mapped);
                let p = &u.params[i];
                (
                    UnitKind::WaitFor(WaitFor {
                        target: p.value.first_text().to_string(),
                        span: p.key_span,
                    }),
                    Status::Mapped,
                )
            }
            None => (
                UnitKind::Unsupported {
                    type_name: "nc".into(),
                    reason: "jobnet connector without `ncn=`".into(),
                },
                unsup("name the connected jobnet with `ncn=`"),
            ),
        }
    }

    /// eun=/mm=/ega=/uem=: waits for units of other jobnets, as WaitFor units placed
    /// before the waiting unit (or before every entry unit of a waiting net).
    pub(super) fn wait_conditions(&mut self, u: &UnitDef, id: UnitId, marks: &mut Marks) {
        let targets: Vec<(usize, &Param)> = u
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.key == "eun")
            .collect();
        for (i, p) in u.params.iter().enumerate() {
            let s = match p.key.as_str() {
                "mm" if targets.len() > 1 && p.value.first_text() == "or" => {
                    approx("waits for every listed unit, not the first one to end")
                }
                "mm" => Status::Mapped,
                "ega" | "uem" => unsup("wait options: check that waiting for a normal end of the same business date is right"),
                _ => continue,
            };
            marks.set(i, s);
        }
        let parent = self.project.units[id].parent;
        let is_net = matches!(self.project.units[id].kind, UnitKind::Net(_));
        for (k, (i, p)) in targets.into_iter().enumerate() {
            let target = p.value.first_text().to_string();
            let name = format!("{}#wait{}", self.project.units[id].name, k + 1);
            let kind = UnitKind::WaitFor(WaitFor {
                target,
                span: p.key_span,
            });
            let mut w = crate::ir::Unit::new(name.clone(), String::new(), kind, p.key_span);
            if is_net {
                w.path = format!("{}/{name}", self.project.units[id].path);
                w.parent = Some(id);
                let wid = self.project.units.alloc(w);
                let entries = self.entry_children(id);
                if let UnitKind::Net(net) = &mut self.project.units[id].kind {
                    for to in entries {
                        net.edges.push(crate::ir::Edge {
                            from: wid,
                            to,
                            kind: crate::ir::EdgeKind::Normal,
                            span: p.key_span,
                        });
                    }
                    net.children.push(wid);
                }
                marks.set(i, Status::Mapped);
            } else if let Some(par) = parent {
                let pp = self.project.units[par].path.clone();
                w.path = format!("{pp}/{name}");
                w.parent = Some(par);
                let wid = self.project.units.alloc(w);
                self.pending_waits.push((par, wid, id));
                marks.set(i, Status::Mapped);
            } else {
                marks.set(
                    i,
                    unsup("wait condition outside a jobnet: add it to a jobnet"),
                );
            }
        }
    }

    /// Children of a net with no incoming edge, recovery units excepted.
    fn entry_children(&self, net: UnitId) -> Vec<UnitId> {
        let Some(n) = self.project.units[net].as_net() else {
            return Vec::new();
        };
        let targets: std::collections::HashSet<UnitId> = n.edges.iter().map(|e| e.to).collect();
        n.children
            .iter()
            .copied()
            .filter(|c| !self.project.units[*c].recovery && !targets.contains(c))
            .collect()
    }

    /// `.CONDITION` (ty=rc) → start conditions of its net.
    pub(super) fn conditions(
        &mut self,
        rc: &UnitDef,
        net_path: &str,
        net: UnitId,
    ) -> StartConditions {
        let path = format!("{net_path}/{}", rc.name);
        let mut marks = Marks::new(rc);
        self.common(rc, &mut marks);
        let mut all = true;
        for (i, p) in rc.params.iter().enumerate() {
            let s = match p.key.as_str() {
                "cond" => match p.value.first_text() {
                    "and" => Status::Mapped,
                    "or" => {
                        all = false;
                        Status::Mapped
                    }
                    _ => self.bad_value(p, "`and` or `or`"),
                },
                "wc" | "wt" => approx("the start condition stays armed: no limit on count or time"),
                _ => continue,
            };
            marks.set(i, s);
        }
        if self.project.units[net].parent.is_some() {
            self.record(rc, &path, None, approx("start conditions of a nested jobnet are kept on it; only root jobnets can use them"));
        } else {
            self.record(rc, &path, None, Status::Mapped);
        }
        self.finish(rc, &path, marks, Some(net));
        let mut events = Vec::new();
        for c in &rc.children {
            let cpath = format!("{path}/{}", c.name);
            let mut m = Marks::new(c);
            self.common(c, &mut m);
            let ty = c.ty().unwrap_or("?");
            let base = super::lower::base_type(ty).0;
            let (event, status) = if base == "flwj" {
                // What change is watched, as S3's events say it (`FileChange`). The last
                // `flwc=` and `flco=` win.
                let fc = self.file_conditions(c, &mut m);
                let change = fc.change;
                let on = change.events();
                let notes = change.approximations();
                if let Some(f) = fc.flwc {
                    let s = if notes.is_empty() {
                        Status::Mapped
                    } else {
                        approx(notes.join("; "))
                    };
                    m.set(f, s);
                }
                if let Some((f, y)) = fc.flco {
                    let s = match (y, change.created) {
                        (true, true) => approx("an object already there does not start the jobnet: only its next write does"),
                        (true, false) => ignored("`flco=y` counts only with creation (`flwc=c`)"),
                        (false, _) => Status::Mapped,
                    };
                    m.set(f, s);
                }
                for (i, p) in c.params.iter().enumerate() {
                    if p.key == "flwi" {
                        m.set(
                            i,
                            ignored("EventBridge delivers the event: nothing is polled"),
                        );
                    }
                }
                match idx(c, "flwf") {
                    Some(i) => {
                        let path = c.params[i].value.first_text().to_string();
                        if !FileWait::matchable(&path) {
                            let why = "a name filled in at run time (`${…}`) cannot be matched by an EventBridge rule";
                            m.set(i, unsup(why));
                            (
                                StartEvent::Other {
                                    kind: "file".into(),
                                    detail: path,
                                },
                                unsup(format!("{why}: write the bucket and key")),
                            )
                        } else if s3_object(&path).is_some() {
                            m.set(i, Status::Mapped);
                            let mut unit_notes: Vec<&str> = Vec::new();
                            if fc.flwc.is_none() {
                                unit_notes.extend(&notes);
                            }
                            if path.contains('*') {
                                unit_notes
                                    .push("`*` matches `/` too: names in folders below match");
                            }
                            let status = if unit_notes.is_empty() {
                                Status::Mapped
                            } else {
                                approx(unit_notes.join("; "))
                            };
                            (StartEvent::File { path, events: on }, status)
                        } else {
                            m.set(i, unsup("map the monitored file to s3://bucket/key"));
                            (
                                StartEvent::Other {
                                    kind: "file".into(),
                                    detail: path,
                                },
                                unsup("the monitored file is not an S3 object: write it as s3://bucket/key"),
                            )
                        }
                    }
                    None => (
                        StartEvent::Other {
                            kind: "file".into(),
                            detail: String::new(),
                        },
                        unsup("file monitoring without `flwf=`: name the file"),
                    ),
                }
            } else {
                let received = if base == "evwj" {
                    self.event_match(c, &mut m, true)
                        .map(|(matched, status)| (StartEvent::EventReceived(matched), status))
                } else {
                    Err(format!(
                        "start condition `{ty}` cannot be watched: start the jobnet from an EventBridge rule instead"
                    ))
                };
                received.unwrap_or_else(|why| {
                    let detail = c
                        .params
                        .iter()
                        .filter(|p| !matches!(p.key.as_str(), "ty" | "cm" | "el" | "sz"))
                        .map(|p| format!("{}={}", p.key, p.value.raw()))
                        .collect::<Vec<_>>()
                        .join(";");
                    let event = StartEvent::Other {
                        kind: ty.to_string(),
                        detail,
                    };
                    (event, unsup(why))
                })
            };
            for (i, p) in c.params.iter().enumerate() {
                if m.is_unset(i) {
                    m.set(
                        i,
                        unsup(format!("part of the start condition `{ty}`: {}", p.key)),
                    );
                }
            }
            events.push(event);
            self.record(c, &cpath, None, status);
            self.finish(c, &cpath, m, Some(net));
        }
        StartConditions {
            all,
            events,
            span: rc.name_span,
        }
    }
}

impl Lower<'_> {
    /// evwj in a jobnet: a wait that ends when a matching event arrives after the unit
    /// started (`etm`/`ets` are its cutoff, read by the caller).
    pub(super) fn event_wait(&mut self, u: &UnitDef, marks: &mut Marks) -> (UnitKind, Status) {
        match self.event_match(u, marks, false) {
            Ok((matched, status)) => (UnitKind::EventWait(matched), status),
            Err(why) => (
                UnitKind::Unsupported {
                    type_name: "evwj".into(),
                    reason: why.clone(),
                },
                unsup(format!("{why}: wait for the event in a polling job")),
            ),
        }
    }

    /// The EventBridge match of an evwj's filters, for a start condition or a wait in a
    /// jobnet: the JP1 event as a migrated event sending job (`evsj`, job type
    /// `eventbridge`) sends it, matched on its id, message, levels and extended attributes.
    /// The error says why it cannot be matched.
    fn event_match(
        &mut self,
        u: &UnitDef,
        marks: &mut Marks,
        condition: bool,
    ) -> Result<(EventMatch, Status), String> {
        let mut matched = EventMatch {
            source: EventMatch::SOURCE.into(),
            detail_type: EventMatch::JP1_DETAIL_TYPE.into(),
            id: None,
            message: None,
            severities: Vec::new(),
            attributes: Vec::new(),
        };
        let mut status = Status::Mapped;
        for (i, p) in u.params.iter().enumerate() {
            let v = p.value.first_text();
            let s = match p.key.as_str() {
                "evwid" => {
                    matched.id = Some(event_id(v).ok_or_else(|| {
                        format!("event id `{v}` is no hexadecimal `basic:extended` code")
                    })?);
                    match v.split_once(':').map(|(_, x)| x.trim_start_matches('0')) {
                        Some(x) if !x.is_empty() => {
                            status = approx("the extended event code is not matched");
                            approx("only the basic code is matched: migrated event sending sends no extended code")
                        }
                        _ => Status::Mapped,
                    }
                }
                "evwms" => {
                    matched.message = Some(text_match(v).ok_or_else(|| {
                        format!("message pattern `{v}` is no text EventBridge can match (literal text, `^`, `$` and `.*` only)")
                    })?);
                    Status::Mapped
                }
                "evwsv" => {
                    for level in v.split(':') {
                        matched.severities.push(
                            event_level(level)
                                .ok_or_else(|| format!("unknown event level `{level}`"))?
                                .into(),
                        );
                    }
                    Status::Mapped
                }
                "evwfr" => {
                    let (name, value) = v
                        .split_once(':')
                        .ok_or_else(|| format!("`evwfr={v}` is not `name:\"value\"`"))?;
                    let value = value.trim_matches('"');
                    match text_match(value) {
                        Some(TextMatch::Exact(x)) => {
                            matched.attributes.push((name.into(), x));
                            Status::Mapped
                        }
                        _ if !value.contains(['^', '$', '.', '*', '[', '(', '|', '?', '+', '\\']) => {
                            matched.attributes.push((name.into(), value.into()));
                            status = approx("an extended attribute is matched as its whole value");
                            approx("matched as the attribute's whole value (as a JP1 regular expression it would also match inside a longer value)")
                        }
                        _ => return Err(format!("extended attribute pattern `{value}`: only an exact value can be matched")),
                    }
                }
                "evusr" | "evgrp" | "evhst" | "evipa" | "evdet" | "evuid" | "evgid" | "evpid" => {
                    status = approx("some of the event's filters are not matched");
                    approx("not matched: a migrated event carries no such JP1/Base attribute")
                }
                "evtmc" | "jpoif" | "evesc" | "ets" | "etm" | "fd" | "ex" | "eu" | "pfm"
                    if condition =>
                {
                    ignored("a start condition waits for the event only; the jobnet's own settings apply")
                }
                "jpoif" => unsup(
                    "passing information from the received event: the next job does not get it",
                ),
                "evtmc" | "evesc" => unsup("not converted: the wait ends on the first matching event"),
                "ex" => approx("the agent host is not kept: an event from any sender ends the wait"),
                "eu" | "pfm" => ignored("no agent runs the wait: the EventBridge rule watches for the event"),
                _ => continue,
            };
            marks.set(i, s);
        }
        Ok((matched, status))
    }
}

/// A JP1 regular expression (on a message, searched anywhere in it) as an EventBridge text
/// test, when it is one: literal text (with `\` escapes), `^` and `$` anchors, and `.*`.
pub(super) fn text_match(re: &str) -> Option<TextMatch> {
    let (start, rest) = match re.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, re),
    };
    let (end, body) = match rest.strip_suffix('$') {
        Some(b) if !b.ends_with('\\') => (true, b),
        _ => (false, rest),
    };
    let mut parts = vec![String::new()];
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Only an escape that is literal in basic and extended dialects alike
            // (`\<` is a word boundary in GNU's, `\(` a group in basic ones).
            '\\' => {
                let n = chars.next()?;
                if !".*^$[]\\".contains(n) {
                    return None;
                }
                parts.last_mut()?.push(n);
            }
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                parts.push(String::new());
            }
            '.' | '[' | ']' | '(' | ')' | '|' | '?' | '+' | '*' | '{' | '}' | '^' | '$' => {
                return None
            }
            c => parts.last_mut()?.push(c),
        }
    }
    if let [t] = parts.as_slice() {
        return Some(match (start, end) {
            (true, true) => TextMatch::Exact(t.clone()),
            (true, false) if !t.is_empty() => TextMatch::Prefix(t.clone()),
            (false, true) if !t.is_empty() => TextMatch::Suffix(t.clone()),
            _ if t.is_empty() => TextMatch::Wildcard("*".into()),
            _ => TextMatch::Wildcard(format!("*{}*", wildcard_literal(t))),
        });
    }
    // `.*` between parts: any text; runs of it are one `*` (EventBridge refuses `**`).
    let mut tokens: Vec<Option<&str>> = Vec::new();
    if !start {
        tokens.push(None);
    }
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            tokens.push(None);
        }
        if !p.is_empty() {
            tokens.push(Some(p));
        }
    }
    if !end {
        tokens.push(None);
    }
    tokens.dedup_by(|a, b| a.is_none() && b.is_none());
    let pattern: String = tokens
        .iter()
        .map(|t| t.map_or_else(|| "*".to_string(), wildcard_literal))
        .collect();
    Some(TextMatch::Wildcard(pattern))
}

/// Literal text in an EventBridge wildcard pattern: `*` and `\\` escaped.
fn wildcard_literal(text: &str) -> String {
    text.replace('\\', "\\\\").replace('*', "\\*")
}

/// The level names of JP1's event levels (`evssv=`).
fn event_level(code: &str) -> Option<&'static str> {
    Some(match code {
        "em" => "Emergency",
        "al" => "Alert",
        "cr" => "Critical",
        "er" => "Error",
        "wr" => "Warning",
        "no" => "Notice",
        "in" => "Information",
        "db" => "Debug",
        _ => return None,
    })
}

/// A job of a built-in sending type with `params`: abnormal when the send fails.
fn send_job(
    u: &UnitDef,
    job_type: &str,
    params: impl IntoIterator<Item = (String, serde_json::Value)>,
) -> Job {
    Job {
        job_type: job_type.to_string(),
        params: params.into_iter().collect(),
        end: EndJudgment::default(),
        retry: None,
        type_span: u.get("ty").map(|p| p.key_span).unwrap_or(u.name_span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_expressions_eventbridge_can_match() {
        let m = |re: &str| text_match(re);
        let w = |t: &str| Some(TextMatch::Wildcard(t.into()));
        assert_eq!(m("^start$"), Some(TextMatch::Exact("start".into())));
        assert_eq!(m("^start"), Some(TextMatch::Prefix("start".into())));
        assert_eq!(m("done$"), Some(TextMatch::Suffix("done".into())));
        assert_eq!(m("done"), w("*done*"), "searched anywhere in the message");
        assert_eq!(m("^a.*b$"), w("a*b"));
        assert_eq!(m("a.*.*b"), w("*a*b*"), "no `**`");
        assert_eq!(m("^.*$"), w("*"));
        assert_eq!(m(".*"), w("*"));
        assert_eq!(m("^$"), Some(TextMatch::Exact(String::new())));
        assert_eq!(m(r"^1\.5 \*$"), Some(TextMatch::Exact("1.5 *".into())));
        assert_eq!(m(r"1\*.*x"), w(r"*1\**x*"), "a literal `*` is escaped");
        for refused in [
            "a|b", "[0-9]+", "a?", r"\d", "(x)", "a.b", "x{2}", r"\<w\>", r"\(x\)",
        ] {
            assert_eq!(m(refused), None, "{refused}");
        }
    }
}
