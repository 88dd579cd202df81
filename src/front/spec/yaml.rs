//! A YAML tree with our spans, built from saphyr's event stream.
//!
//! We do not use `MarkedYaml::load_from_str`: its loader recurses once per nesting level
//! (a file of `- - - - …` overflows the stack), silently needs unique keys to keep both
//! locations, and drops tags. Driving the event iterator ourselves keeps the nesting bounded
//! ([`MAX_DEPTH`]), keeps duplicate keys (so the walker can report both places), and caps
//! alias expansion.

use crate::diag::{FileId, Span};

mod fast;
mod split;
use saphyr::Scalar;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError};
use std::borrow::Cow;
use std::collections::HashMap;

/// Deepest nesting of YAML collections accepted. Deeper input is rejected before any tree is
/// built, so nothing downstream (walks, drops, JSON conversion) can recurse without bound.
pub const MAX_DEPTH: usize = 512;

/// Most nodes that aliases (`*name`) may add in one file ("billion laughs" guard).
pub const MAX_ALIAS_NODES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in source order; duplicate keys are kept for the walker to report.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// How a value is named in "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

/// Why the text could not be turned into a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub span: Span,
    pub message: String,
    pub hint: Option<String>,
    /// True for syntax errors (E0101); false for limits and unsupported features (E0102).
    pub syntax: bool,
}

/// Character lengths of every line, to clip spans to their first line.
struct Lines {
    lens: Vec<u32>,
    /// Lines of the file before the parsed text (a part parsed on its own).
    offset: u32,
}

impl Lines {
    fn new(text: &str, offset: u32) -> Self {
        Lines {
            lens: text
                .split('\n')
                .map(|l| u32::try_from(l.chars().count()).unwrap_or(u32::MAX))
                .collect(),
            offset,
        }
    }

    fn span(&self, file: FileId, start: Marker, end: Marker, whole: bool) -> Span {
        let line = u32::try_from(start.line().max(1)).unwrap_or(u32::MAX);
        let col = u32::try_from(start.col()).unwrap_or(u32::MAX - 1);
        let len = if whole {
            let rest = self
                .lens
                .get(line as usize - 1)
                .map_or(0, |l| l.saturating_sub(col));
            let total = u32::try_from(end.index().saturating_sub(start.index())).unwrap_or(0);
            total.min(rest)
        } else {
            1
        };
        Span::new(
            file,
            line.saturating_add(self.offset),
            col.saturating_add(1),
            len,
        )
    }
}

/// An open collection. Its items sit at the top of a scratch stack shared by every open
/// collection from `start` on, and move into a vector of their exact size when it closes:
/// vectors grown item by item left half of a large spec's tree as spare capacity.
enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        start: usize,
        count: usize,
    },
    Map {
        span: Span,
        anchor: usize,
        start: usize,
        key: Option<Node>,
        count: usize,
    },
}

/// Parses one YAML document. `Ok(None)` for an empty file.
pub fn parse(text: &str, file: FileId) -> Result<Option<Node>, LoadError> {
    guarded(file, || build(text, file))
}

/// [`parse`] by saphyr alone, without the fast reader or the split parse: the reference the
/// fast paths must match (tests and the `spec_yaml` fuzz target compare the two).
#[doc(hidden)]
pub fn parse_with_saphyr(text: &str, file: FileId) -> Result<Option<Node>, LoadError> {
    guarded(file, || one_document(saphyr_part(text, file, 0, 0)?.0))
}

/// Runs a parse with panics turned into an error: saphyr's parser has internal assertions,
/// and a bug there must not take the compiler down.
fn guarded(
    file: FileId,
    run: impl FnOnce() -> Result<Option<Node>, LoadError>,
) -> Result<Option<Node>, LoadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(LoadError {
            span: Span::new(file, 1, 1, 0),
            message: "the YAML parser failed on this file".into(),
            hint: Some("check the file for unusual YAML constructs and report this".into()),
            syntax: true,
        })
    })
}

fn build(text: &str, file: FileId) -> Result<Option<Node>, LoadError> {
    if text.len() >= SPLIT_PARSE_MIN_BYTES && crate::par::cores() > 1 {
        if let Some(root) = split::parse(text, file) {
            return Ok(Some(root));
        }
    }
    one_document(build_part(text, file, 0, 0)?.0)
}

/// The one document of a spec file (`None` if empty); several are an error.
fn one_document(mut docs: Vec<Node>) -> Result<Option<Node>, LoadError> {
    if docs.len() > 1 {
        return Err(LoadError {
            span: docs[1].span,
            message: "a spec file holds one YAML document, found several".into(),
            hint: Some("split the documents into separate files".into()),
            syntax: false,
        });
    }
    Ok(docs.pop().filter(|d| d.value != Value::Null))
}

/// Files at least this large have their `jobnets:` list (or the `units:` list of their only
/// jobnet) parsed in parts on every core.
const SPLIT_PARSE_MIN_BYTES: usize = 1 << 20;

/// The documents of `text` and the nodes its aliases added. `offset` lines of the file
/// come before `text`; `depth` collections enclose it (both for parts parsed on their own).
fn build_part(
    text: &str,
    file: FileId,
    offset: u32,
    depth: usize,
) -> Result<(Vec<Node>, usize), LoadError> {
    if let Some(docs) = fast::parse(text, file, offset, depth) {
        return Ok((docs, 0));
    }
    saphyr_part(text, file, offset, depth)
}

/// [`build_part`] by saphyr's event stream, for any YAML.
fn saphyr_part(
    text: &str,
    file: FileId,
    offset: u32,
    depth: usize,
) -> Result<(Vec<Node>, usize), LoadError> {
    let lines = Lines::new(text, offset);
    let scan_err = |e: ScanError| {
        let m = *e.marker();
        LoadError {
            span: lines.span(file, m, m, false),
            message: format!("invalid YAML: {}", e.info()),
            hint: None,
            syntax: true,
        }
    };
    let limit = |span: Span, message: String, hint: &str| LoadError {
        span,
        message,
        hint: Some(hint.into()),
        syntax: false,
    };

    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut items: Vec<Node> = Vec::new();
    let mut entries: Vec<(Node, Node)> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut alias_nodes = 0usize;
    let mut docs: Vec<Node> = Vec::new();

    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(scan_err)?;
        let (node, anchor, count) = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd => {
                continue
            }
            Event::Scalar(v, style, anchor, tag) => {
                let sp = lines.span(file, span.start, span.end, true);
                if let Some(tag) = tag.as_deref() {
                    if !tag.is_yaml_core_schema() {
                        return Err(limit(
                            sp,
                            format!("YAML tag `{tag}` is not supported"),
                            "write plain values; use `${Name}` placeholders for deploy-time values",
                        ));
                    }
                }
                let value = scalar(v, style, tag.as_ref()).ok_or_else(|| LoadError {
                    span: sp,
                    message: "value does not match its YAML tag".into(),
                    hint: None,
                    syntax: true,
                })?;
                (Node { span: sp, value }, anchor, 1)
            }
            Event::Alias(id) => {
                let sp = lines.span(file, span.start, span.end, true);
                let Some((node, count)) = anchors.get(&id) else {
                    return Err(LoadError {
                        span: sp,
                        message: "alias refers to an unknown anchor".into(),
                        hint: None,
                        syntax: true,
                    });
                };
                alias_nodes = alias_nodes.saturating_add(*count);
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(limit(
                        sp,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        "use fewer nested aliases",
                    ));
                }
                let mut node = node.clone();
                node.span = sp;
                (node, 0, *count)
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let sp = lines.span(file, span.start, span.end, false);
                if let Some(tag) = tag.as_deref() {
                    if !tag.is_yaml_core_schema() {
                        return Err(limit(
                            sp,
                            format!("YAML tag `{tag}` is not supported"),
                            "remove the tag",
                        ));
                    }
                }
                if stack.len() + depth >= MAX_DEPTH {
                    return Err(limit(
                        sp,
                        format!("YAML nesting deeper than {MAX_DEPTH} levels"),
                        "flatten the structure; jobnets may nest at most 64 deep",
                    ));
                }
                let is_seq = matches!(event, Event::SequenceStart(..));
                stack.push(if is_seq {
                    Frame::Seq {
                        span: sp,
                        anchor,
                        start: items.len(),
                        count: 1,
                    }
                } else {
                    Frame::Map {
                        span: sp,
                        anchor,
                        start: entries.len(),
                        key: None,
                        count: 1,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    span,
                    anchor,
                    start,
                    count,
                }) => (
                    Node {
                        span,
                        value: Value::Seq(items.drain(start..).collect()),
                    },
                    anchor,
                    count,
                ),
                Some(Frame::Map {
                    span,
                    anchor,
                    start,
                    count,
                    ..
                }) => (
                    Node {
                        span,
                        value: Value::Map(entries.drain(start..).collect()),
                    },
                    anchor,
                    count,
                ),
                None => continue,
            },
        };
        if anchor != 0 {
            anchors.insert(anchor, (node.clone(), count));
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq { count: c, .. }) => {
                *c = c.saturating_add(count);
                items.push(node);
            }
            Some(Frame::Map { key, count: c, .. }) => {
                *c = c.saturating_add(count);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
    }
    Ok((docs, alias_nodes))
}

fn scalar(
    v: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Cow<'_, saphyr_parser::Tag>>,
) -> Option<Value> {
    Some(match Scalar::parse_from_cow_and_metadata(v, style, tag)? {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Int(i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Option<Node>, LoadError> {
        parse(text, FileId(0))
    }

    #[test]
    fn keeps_spans_and_duplicate_keys() {
        let n = p("a: 1\nb: [x, \"y\"]\na: 2\n").unwrap().unwrap();
        let Value::Map(entries) = &n.value else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].0.span, Span::new(FileId(0), 3, 1, 1));
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!(items[0].span, Span::new(FileId(0), 2, 5, 1));
        assert_eq!(items[1].value, Value::Str("y".into()));
        assert_eq!(items[1].span.col, 8);
    }

    #[test]
    fn times_and_dates_stay_strings() {
        let n = p("t: 02:30\nd: 2027-01-04\nn: 12\n").unwrap().unwrap();
        let Value::Map(e) = n.value else {
            panic!("not a map")
        };
        assert_eq!(e[0].1.value, Value::Str("02:30".into()));
        assert_eq!(e[1].1.value, Value::Str("2027-01-04".into()));
        assert_eq!(e[2].1.value, Value::Int(12));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = p("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.syntax);
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
        assert!(e.span.line >= 1);
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflow() {
        let text = "- ".repeat(200_000) + "x\n";
        let e = p(&text).unwrap_err();
        assert!(e.message.contains("nesting deeper"), "{}", e.message);
        let flow = "[".repeat(100_000);
        assert!(p(&flow).is_err());
    }

    #[test]
    fn alias_bombs_are_capped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let row = [prev.as_str(); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{row}]\n"));
        }
        let e = p(&text).unwrap_err();
        assert!(e.message.contains("aliases expand"), "{}", e.message);
        let ok = p("a: &x {k: 1}\nb: *x\n").unwrap().unwrap();
        let Value::Map(e) = ok.value else {
            panic!("not a map")
        };
        assert_eq!(e[0].1.value, e[1].1.value);
        assert_eq!(e[1].1.span.line, 2);
    }

    #[test]
    fn empty_and_multi_document() {
        assert_eq!(p("").unwrap(), None);
        assert_eq!(p("# only a comment\n").unwrap(), None);
        assert!(p("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .message
            .contains("one YAML document"));
    }

    #[test]
    fn the_fast_paths_give_saphyrs_results() {
        let synth = crate::synth::spec("net", crate::synth::Shape::with_jobs(20_000));
        assert!(synth.len() >= SPLIT_PARSE_MIN_BYTES, "the split parse runs");
        let texts = [
            "a: 1\nb: [x, \"y\"]\n",
            "",
            "# only a comment\n",
            "a: 1\n---\nb: 2\n",
            "a: [1, 2\nb: 3\n",
            "a: &x 1\nb: *x\n",
            "a: !Ref Foo\n",
            "{",
            synth.as_str(),
        ];
        for text in texts {
            assert_eq!(p(text), parse_with_saphyr(text, FileId(0)), "{text:.60?}");
        }
    }

    #[test]
    fn custom_tags_are_rejected() {
        let e = p("a: !Ref Foo\n").unwrap_err();
        assert!(e.message.contains("tag"), "{}", e.message);
        assert!(!e.syntax);
    }
}
