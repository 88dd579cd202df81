//! Typed reading of YAML nodes: each getter either returns the value or reports one
//! diagnostic at the node and returns `None`, so callers can go on checking the rest.

use super::codes::*;
use super::suggest::did_you_mean;
use super::yaml::{Node, Value};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::ir::{ClockTime, Date};

/// A map's entries by key, duplicates already reported.
pub struct Fields<'t> {
    pub span: Span,
    pub entries: Vec<(&'t str, &'t Node, &'t Node)>,
}

impl<'t> Fields<'t> {
    pub fn get(&self, key: &str) -> Option<&'t Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, k, _)| k.span)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys of `options` present here, in source order.
    pub fn present<'o>(&self, options: &[&'o str]) -> Vec<&'o str> {
        self.entries
            .iter()
            .filter_map(|(k, _, _)| options.iter().find(|o| **o == *k).copied())
            .collect()
    }
}

/// The diagnostic sink plus the reading helpers.
pub struct Reader<'d> {
    pub diags: &'d mut Diagnostics,
}

fn quote_hint(v: &Value) -> Option<String> {
    matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_))
        .then(|| "put the value in quotes to make it a string".to_string())
}

impl Reader<'_> {
    pub fn error(&mut self, code: &'static str, span: Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, message).at(span));
    }

    pub fn error_hint(
        &mut self,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::error(code, message).at(span);
        d.hint = hint;
        self.diags.push(d);
    }

    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let hint = if expected.contains("string") || expected.contains("name") {
            quote_hint(&node.value)
        } else {
            None
        };
        self.error_hint(
            E_TYPE,
            node.span,
            format!("expected {expected}, found {}", node.value.describe()),
            hint,
        );
    }

    /// A map, with duplicate keys reported (the first occurrence wins).
    pub fn fields<'t>(&mut self, node: &'t Node, expected: &str) -> Option<Fields<'t>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, expected);
            return None;
        };
        let mut out: Vec<(&'t str, &'t Node, &'t Node)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Value::Str(key) = &k.value else {
                self.wrong_type(k, "a key name");
                continue;
            };
            if let Some((_, first, _)) = out.iter().find(|(name, _, _)| *name == key.as_str()) {
                let first = first.span;
                self.diags.push(
                    Diagnostic::error(E_DUP_KEY, format!("duplicate key `{key}`"))
                        .at(k.span)
                        .note(format!(
                            "first given at line {}, column {}",
                            first.line, first.col
                        ))
                        .hint("remove one of them"),
                );
                continue;
            }
            out.push((key.as_str(), k, v));
        }
        Some(Fields {
            span: node.span,
            entries: out,
        })
    }

    /// Reports keys outside `allowed`; `misplaced` explains keys that exist elsewhere.
    pub fn check_keys(
        &mut self,
        f: &Fields<'_>,
        allowed: &[&str],
        context: &str,
        misplaced: &dyn Fn(&str) -> Option<String>,
    ) {
        for (key, knode, _) in &f.entries {
            if allowed.contains(key) {
                continue;
            }
            if let Some(why) = misplaced(key) {
                self.error_hint(
                    E_NOT_ALLOWED,
                    knode.span,
                    format!("`{key}` is not allowed on {context}"),
                    Some(why),
                );
                continue;
            }
            let hint = if *key == "<<" {
                Some("YAML merge keys are not supported; use `job_defaults` for shared job parameters".into())
            } else {
                did_you_mean(key, allowed.iter().copied()).or_else(|| {
                    Some(format!(
                        "known keys here: {}",
                        allowed
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
            };
            self.error_hint(
                E_UNKNOWN_KEY,
                knode.span,
                format!("unknown key `{key}` in {context}"),
                hint,
            );
        }
    }

    /// Reports a required key that is absent.
    pub fn require<'t>(
        &mut self,
        f: &Fields<'t>,
        key: &str,
        context: &str,
        hint: Option<&str>,
    ) -> Option<&'t Node> {
        let v = f.get(key);
        if v.is_none() {
            self.error_hint(
                E_MISSING,
                f.span,
                format!("missing `{key}` in {context}"),
                hint.map(str::to_string),
            );
        }
        v
    }

    /// Exactly one of `options`: reports none or several, returns the one present.
    pub fn one_of<'o>(
        &mut self,
        f: &Fields<'_>,
        options: &[&'o str],
        context: &str,
    ) -> Option<&'o str> {
        let present = f.present(options);
        let list = || {
            options
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match present.as_slice() {
            [one] => Some(one),
            [] => {
                self.error_hint(
                    E_CONFLICT,
                    f.span,
                    format!("{context} needs one of {}", list()),
                    None,
                );
                None
            }
            [first, second, ..] => {
                let span = f.key_span(second).unwrap_or(f.span);
                self.error_hint(
                    E_CONFLICT,
                    span,
                    format!("{context} has both `{first}` and `{second}`"),
                    Some(format!("use exactly one of {}", list())),
                );
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, expected: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, expected);
                None
            }
        }
    }

    /// A non-empty string.
    pub fn text(&mut self, node: &Node, expected: &str) -> Option<String> {
        let s = self.string(node, expected)?;
        if s.trim().is_empty() {
            self.error(
                E_VALUE,
                node.span,
                format!("expected {expected}, found an empty string"),
            );
            return None;
        }
        Some(s)
    }

    /// A unit or calendar name: non-empty, no `/` (the path separator), no control characters.
    pub fn name(&mut self, node: &Node, what: &str) -> Option<String> {
        let s = self.text(node, &format!("a {what} name"))?;
        if s.contains('/') {
            self.error_hint(
                E_VALUE,
                node.span,
                format!("{what} name `{s}` contains `/`"),
                Some("`/` separates the parts of unit paths; choose another character".into()),
            );
            return None;
        }
        if s.chars().any(char::is_control) {
            self.error(
                E_VALUE,
                node.span,
                format!("{what} name contains control characters"),
            );
            return None;
        }
        Some(s)
    }

    pub fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, &format!("`true` or `false` for {what}"));
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.value {
            Value::Int(i) => Some(i),
            _ => {
                self.wrong_type(node, &format!("a whole number for {what}"));
                None
            }
        }
    }

    /// A whole number `>= min` that fits in `u32`.
    pub fn count(&mut self, node: &Node, what: &str, min: u32) -> Option<u32> {
        self.bounded(node, what, min, u32::MAX)
    }

    pub fn bounded(&mut self, node: &Node, what: &str, min: u32, max: u32) -> Option<u32> {
        let i = self.integer(node, what)?;
        if i < 0 {
            self.error(
                E_VALUE,
                node.span,
                format!("{what} must not be negative, found {i}"),
            );
            return None;
        }
        if i < i64::from(min) {
            self.error(
                E_VALUE,
                node.span,
                format!("{what} must be at least {min}, found {i}"),
            );
            return None;
        }
        if i > i64::from(max) {
            self.error(
                E_VALUE,
                node.span,
                format!("{what} must be at most {max}, found {i}"),
            );
            return None;
        }
        u32::try_from(i).ok()
    }

    pub fn time(&mut self, node: &Node, what: &str) -> Option<ClockTime> {
        let Value::Str(s) = &node.value else {
            self.error_hint(
                E_TYPE,
                node.span,
                format!(
                    "expected a time like \"02:30\" for {what}, found {}",
                    node.value.describe()
                ),
                Some("write times as quoted `hh:mm` strings".into()),
            );
            return None;
        };
        let t = ClockTime::parse(s);
        if t.is_none() {
            self.error_hint(
                E_TIME,
                node.span,
                format!("invalid time `{s}` for {what}"),
                Some("times are `hh:mm` from 00:00 up to 47:59 (hours past 23 fall after midnight of the business date)".into()),
            );
        }
        t
    }

    pub fn date(&mut self, node: &Node, what: &str) -> Option<Date> {
        let Value::Str(s) = &node.value else {
            self.error_hint(
                E_TYPE,
                node.span,
                format!(
                    "expected a date like 2027-01-31 for {what}, found {}",
                    node.value.describe()
                ),
                Some("write dates as YYYY-MM-DD".into()),
            );
            return None;
        };
        match parse_date(s) {
            Ok(d) => Some(d),
            Err(hint) => {
                self.error_hint(
                    E_DATE,
                    node.span,
                    format!("invalid date `{s}` for {what}"),
                    Some(hint),
                );
                None
            }
        }
    }

    /// One word out of a fixed set.
    pub fn choice<T: Clone>(
        &mut self,
        node: &Node,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let names = || options.iter().map(|(n, _)| *n);
        let Value::Str(s) = &node.value else {
            let list = names()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.wrong_type(node, &format!("one of {list} for {what}"));
            return None;
        };
        if let Some((_, v)) = options.iter().find(|(n, _)| *n == s.as_str()) {
            return Some(v.clone());
        }
        let hint = did_you_mean(s, names()).unwrap_or_else(|| {
            format!(
                "expected one of {}",
                names()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        self.error_hint(
            E_VALUE,
            node.span,
            format!("unknown {what} `{s}`"),
            Some(hint),
        );
        None
    }

    /// A list, or a single item standing for a one-item list.
    pub fn items<'t>(
        &mut self,
        node: &'t Node,
        expected: &str,
        single_ok: bool,
    ) -> Option<Vec<&'t Node>> {
        match &node.value {
            Value::Seq(items) => Some(items.iter().collect()),
            Value::Str(_) if single_ok => Some(vec![node]),
            _ => {
                self.wrong_type(node, expected);
                None
            }
        }
    }

    /// A list of names (or one name), each with its span.
    pub fn names(
        &mut self,
        node: &Node,
        expected: &str,
        item_name: &str,
    ) -> Option<Vec<(String, Span)>> {
        let items = self.items(node, expected, true)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(s) = self.text(item, item_name) {
                out.push((s, item.span));
            }
        }
        Some(out)
    }

    /// Converts any YAML value to JSON (for job parameters).
    pub fn json(&mut self, node: &Node) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match &node.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => J::Number(n),
                None => {
                    self.error(E_VALUE, node.span, "parameters must be finite numbers");
                    return None;
                }
            },
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => {
                let mut ok = true;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.json(item) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                J::Array(out)
            }
            Value::Map(_) => J::Object(self.json_map(node)?.into_iter().collect()),
        })
    }

    /// A map of parameters (`params`, `job_defaults`).
    pub fn json_map(
        &mut self,
        node: &Node,
    ) -> Option<indexmap::IndexMap<String, serde_json::Value>> {
        let f = self.fields(node, "a map of parameters")?;
        let mut ok = true;
        let mut out = indexmap::IndexMap::with_capacity(f.entries.len());
        for (k, _, v) in &f.entries {
            match self.json(v) {
                Some(j) => {
                    out.insert((*k).to_string(), j);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// Strict `YYYY-MM-DD`, with a hint that says what is wrong.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err("write dates as YYYY-MM-DD, e.g. 2027-01-31".into());
    }
    let (y, m, d) = (
        s[0..4].parse::<i32>().unwrap_or(0),
        s[5..7].parse::<u32>().unwrap_or(0),
        s[8..10].parse::<u32>().unwrap_or(0),
    );
    if !(1..=12).contains(&m) {
        return Err(format!("there is no month {m}"));
    }
    Date::from_ymd_opt(y, m, d).ok_or_else(|| {
        let days = (28..=31)
            .rev()
            .find(|dd| Date::from_ymd_opt(y, m, *dd).is_some())
            .unwrap_or(28);
        format!("{y}-{m:02} has {days} days")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert_eq!(
            parse_date("2027-01-04"),
            Date::from_ymd_opt(2027, 1, 4).ok_or(String::new())
        );
        assert_eq!(parse_date("2027-02-29").unwrap_err(), "2027-02 has 28 days");
        assert_eq!(parse_date("2028-02-30").unwrap_err(), "2028-02 has 29 days");
        assert_eq!(
            parse_date("2027-13-01").unwrap_err(),
            "there is no month 13"
        );
        assert!(parse_date("2027-1-4").is_err());
        assert!(parse_date("2027/01/04").is_err());
        assert!(parse_date("２０２７-01-04").is_err());
    }
}
