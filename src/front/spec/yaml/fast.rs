//! A byte-level reader for the plain block YAML that specs are written in.
//!
//! saphyr scans a character at a time through a look-ahead buffer (some 35 MB/s per core):
//! reading a large spec was a quarter of its compile's wall time. Specs use a small part of
//! YAML: block maps and lists, one-line flow collections, one-line plain and quoted
//! scalars, comments. This reader takes exactly that part and gives up (`None`) on
//! anything else: anchors, tags, rare escapes, multi-line scalars, empty values, control
//! bytes, byte order marks, document markers, a syntax error, nesting near [`MAX_DEPTH`].
//! The caller then parses with saphyr, so trees, spans and errors are always saphyr's;
//! tests and the `spec_yaml` fuzz target compare the two.

use super::{scalar, Node, Value, MAX_DEPTH};
use crate::diag::{FileId, Span};
use saphyr_parser::ScalarStyle;
use std::borrow::Cow;

/// Parses `text` (whose first line is line `offset + 1` of the file, inside `depth`
/// collections) into its one document, or `None` when it is not in the plain subset.
pub(super) fn parse(text: &str, file: FileId, offset: u32, depth: usize) -> Option<Vec<Node>> {
    let bytes = text.as_bytes();
    // Tabs, CRs and other control bytes (saphyr reads a NUL as the end of input), and a
    // byte order mark anywhere (saphyr rejects one inside a document, ends plain scalars
    // at it, and takes one at a line's start as a token).
    if bytes.iter().any(|&b| b < 0x20 && b != b'\n')
        || memchr::memmem::find(bytes, "\u{feff}".as_bytes()).is_some()
    {
        return None;
    }
    // A line starting `---` or `...` may be a document marker (saphyr ends the document at
    // one anywhere), `%` a directive.
    let at_line_start = |m: &[u8]| {
        bytes.starts_with(m)
            || memchr::memmem::find_iter(bytes, m).any(|i| i > 0 && bytes[i - 1] == b'\n')
    };
    if at_line_start(b"---") || at_line_start(b"...") || at_line_start(b"%") {
        return None;
    }
    let mut r = Reader {
        text,
        bytes,
        file,
        offset,
        depth,
        open: 0,
        line: 0,
        at: 0,
    };
    let (indent, _) = r.peek()?;
    let root = r.block(indent)?;
    // Nothing may follow the root: a second node, a dedented line or a marker.
    r.peek().is_none().then(|| vec![root])
}

/// Bytes that may not start a plain scalar (YAML's indicators); `-`, `?` and `:` may when
/// a non-space follows, and of those only `-` is taken here (`-1`, `-x`).
fn indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

fn flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    file: FileId,
    offset: u32,
    depth: usize,
    /// Collections open around the current node.
    open: usize,
    /// 0-based number of the line starting at `at`.
    line: u32,
    /// Start of the current line.
    at: usize,
}

impl<'a> Reader<'a> {
    /// End of the line starting at `from` (its `\n` or the end of the text).
    fn eol(&self, from: usize) -> usize {
        memchr::memchr(b'\n', &self.bytes[from..]).map_or(self.bytes.len(), |i| from + i)
    }

    /// Moves to the next line.
    fn next_line(&mut self) {
        let end = self.eol(self.at);
        self.at = (end + 1).min(self.bytes.len());
        self.line += 1;
    }

    /// Skips blank and comment lines; the indentation and first byte of the next line
    /// with content, or `None` at the end of the text.
    fn peek(&mut self) -> Option<(usize, usize)> {
        while self.at < self.bytes.len() {
            let end = self.eol(self.at);
            let first = self.bytes[self.at..end]
                .iter()
                .position(|&b| b != b' ')
                .map(|i| self.at + i);
            match first {
                Some(p) if self.bytes[p] != b'#' => return Some((p - self.at, p)),
                _ => {
                    if end == self.bytes.len() {
                        self.at = end;
                        return None;
                    }
                    self.at = end + 1;
                    self.line += 1;
                }
            }
        }
        None
    }

    /// The text `from..to`, borrowed for as long as the text.
    fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.text[from..to]
    }

    /// Characters from the start of the current line to `pos`.
    fn col(&self, pos: usize) -> u32 {
        let head = self.slice(self.at, pos);
        let n = if head.is_ascii() {
            head.len()
        } else {
            head.chars().count()
        };
        u32::try_from(n).unwrap_or(u32::MAX - 1)
    }

    fn span(&self, pos: usize, len: u32) -> Span {
        Span::new(
            self.file,
            (self.line + 1).saturating_add(self.offset),
            self.col(pos).saturating_add(1),
            len,
        )
    }

    /// A scalar node for the token `from..to` (quotes included) with value text `value`.
    fn scalar(
        &self,
        from: usize,
        to: usize,
        value: Cow<'_, str>,
        style: ScalarStyle,
    ) -> Option<Node> {
        let token = self.slice(from, to);
        let len = if token.is_ascii() {
            token.len()
        } else {
            token.chars().count()
        };
        Some(Node {
            span: self.span(from, u32::try_from(len).ok()?),
            value: scalar(value, style, None)?,
        })
    }

    /// Enters a collection, refusing nesting the plain parse would reject (or come near).
    fn enter(&mut self) -> Option<()> {
        self.open += 1;
        (self.open.saturating_add(self.depth) < MAX_DEPTH - 1).then_some(())
    }

    /// The block node whose first line (already peeked) is indented by `indent`.
    fn block(&mut self, indent: usize) -> Option<Node> {
        let p = self.at + indent;
        match self.bytes[p] {
            b'-' if self.dash(p) => self.seq(indent),
            b'[' | b'{' => {
                let (node, end) = self.flow(p)?;
                self.end_line(end)?;
                Some(node)
            }
            _ => {
                self.key(p)?;
                self.map(indent, p)
            }
        }
    }

    /// Whether the `-` at `p` is a list item's (followed by a space or the line's end).
    fn dash(&self, p: usize) -> bool {
        matches!(self.bytes.get(p + 1), None | Some(b' ' | b'\n'))
    }

    /// A block list whose items start at column `indent`.
    fn seq(&mut self, indent: usize) -> Option<Node> {
        self.enter()?;
        let span = self.span(self.at + indent, 1);
        let mut items = Vec::new();
        while let Some((i, p)) = self.peek() {
            if i < indent || (i == indent && !(self.bytes[p] == b'-' && self.dash(p))) {
                break;
            }
            if i > indent {
                return None;
            }
            let q = self.skip_spaces(p + 1);
            let item = if self.rest_empty(q) {
                self.next_line();
                match self.peek() {
                    Some((i, _)) if i > indent => self.block(i)?,
                    _ => return None,
                }
            } else {
                self.inline(q, true)?
            };
            items.push(item);
        }
        self.open -= 1;
        Some(Node {
            span,
            value: Value::Seq(items),
        })
    }

    /// A block map whose first key is at `first` on the current line, its keys at column
    /// `indent` (of the line's bytes: only ASCII can precede them).
    fn map(&mut self, indent: usize, first: usize) -> Option<Node> {
        self.enter()?;
        let span = self.span(first, 1);
        let mut entries = Vec::new();
        let mut key_at = Some(first);
        loop {
            let k = match key_at.take() {
                Some(k) => k,
                None => match self.peek() {
                    Some((i, p)) if i == indent => p,
                    Some((i, _)) if i > indent => return None,
                    _ => break,
                },
            };
            let (key, colon) = self.key(k)?;
            let q = self.skip_spaces(colon + 1);
            let value = if self.rest_empty(q) {
                self.next_line();
                match self.peek() {
                    Some((i, _)) if i > indent => self.block(i)?,
                    Some((i, p)) if i == indent && self.bytes[p] == b'-' && self.dash(p) => {
                        // A list may sit at its key's own indentation; the plain parse
                        // places it at its first item's content.
                        let q = self.skip_spaces(p + 1);
                        if self.rest_empty(q) {
                            return None;
                        }
                        let node = self.seq(indent)?;
                        Node {
                            span: Span {
                                col: u32::try_from(q - p + indent + 1).ok()?,
                                ..node.span
                            },
                            ..node
                        }
                    }
                    _ => return None,
                }
            } else {
                self.inline(q, false)?
            };
            entries.push((key, value));
        }
        self.open -= 1;
        Some(Node {
            span,
            value: Value::Map(entries),
        })
    }

    /// The node that starts at `q` on the current line after `- ` (`item`) or `key: `:
    /// a flow collection, a scalar, or (after `- `) a map whose first key is here.
    fn inline(&mut self, q: usize, item: bool) -> Option<Node> {
        match self.bytes[q] {
            b'[' | b'{' => {
                let (node, end) = self.flow(q)?;
                self.end_line(end)?;
                Some(node)
            }
            b'-' if self.dash(q) => None,
            _ if item && self.key(q).is_some() => {
                let indent = q - self.at;
                self.map(indent, q)
            }
            b'"' | b'\'' => {
                let (node, end) = self.quoted(q)?;
                self.end_line(end)?;
                Some(node)
            }
            _ => {
                let end = self.eol(q);
                let mut to = q;
                let mut i = q;
                while i < end {
                    match self.bytes[i] {
                        b'#' if self.bytes[i - 1] == b' ' => break,
                        b':' if matches!(self.bytes.get(i + 1), None | Some(b' ' | b'\n')) => {
                            return None
                        }
                        b' ' => {}
                        _ => to = i + 1,
                    }
                    i += 1;
                }
                let node = self.plain(q, to)?;
                self.next_line();
                Some(node)
            }
        }
    }

    /// A plain scalar `from..to`.
    fn plain(&self, from: usize, to: usize) -> Option<Node> {
        let first = self.bytes[from];
        let safe_dash = first == b'-'
            && to > from + 1
            && !matches!(self.bytes[from + 1], b' ' | b'\n')
            && !indicator(self.bytes[from + 1]);
        if indicator(first) && !safe_dash {
            return None;
        }
        self.scalar(
            from,
            to,
            Cow::Borrowed(self.slice(from, to)),
            ScalarStyle::Plain,
        )
    }

    /// The key at `k` (plain, or quoted and right before its `:`) and the position of its
    /// `:`, which a space or the line's end follows; `None` if the line holds no such key.
    fn key(&self, k: usize) -> Option<(Node, usize)> {
        let (node, colon) = if matches!(self.bytes[k], b'"' | b'\'') {
            let (node, colon) = self.quoted(k)?;
            let ok = self.bytes.get(colon) == Some(&b':')
                && matches!(self.bytes.get(colon + 1), None | Some(b' ' | b'\n'));
            (ok.then_some(node)?, colon)
        } else {
            let colon = self.key_end(k)?;
            (self.plain(k, colon)?, colon)
        };
        // saphyr forgets a possible block key 1,024 characters on, and then rejects its `:`.
        let long = colon - k >= 1024 && self.slice(k, colon).chars().count() >= 1024;
        (!long).then_some((node, colon))
    }

    /// The end of a plain key starting at `k`: the position of its `:` (followed by a
    /// space or the line's end), or `None` if the line holds no such key.
    fn key_end(&self, k: usize) -> Option<usize> {
        let first = self.bytes[k];
        if indicator(first) {
            return None;
        }
        let end = self.eol(k);
        let colon = k + memchr::memchr(b':', &self.bytes[k..end])?;
        let ok = matches!(self.bytes.get(colon + 1), None | Some(b' ' | b'\n'))
            && self.bytes[colon - 1] != b' '
            && !self.bytes[k..colon].windows(2).any(|w| w == b" #");
        ok.then_some(colon)
    }

    fn skip_spaces(&self, mut p: usize) -> usize {
        while self.bytes.get(p) == Some(&b' ') {
            p += 1;
        }
        p
    }

    /// Whether the line holds nothing but spaces or a comment from `q` (after a space).
    fn rest_empty(&self, q: usize) -> bool {
        match self.bytes.get(q) {
            None | Some(b'\n') => true,
            Some(b'#') => self.bytes[q - 1] == b' ',
            _ => false,
        }
    }

    /// Checks that only spaces or a comment follow `end` on the line, and moves on.
    fn end_line(&mut self, end: usize) -> Option<()> {
        let q = self.skip_spaces(end);
        if !self.rest_empty(q) || (q == end && self.bytes.get(q) == Some(&b'#')) {
            return None;
        }
        self.next_line();
        Some(())
    }

    /// A one-line quoted scalar at `q` and the position after it. Double quotes take the
    /// common escapes (`\\`, `\"`, `\/`, `\n`, `\t`, `\r`, `\0`, ...; Windows paths and
    /// commands in imported specs are full of them), single quotes their `''`; anything
    /// else (`\x`, `\u`, a line continuation) is left to saphyr.
    fn quoted(&self, q: usize) -> Option<(Node, usize)> {
        let quote = self.bytes[q];
        let end = self.eol(q);
        let mut value: Option<String> = None;
        let mut run = q + 1;
        let mut i = q + 1;
        let close = loop {
            let at = i + memchr::memchr2(quote, b'\\', &self.bytes[i..end])?;
            let b = self.bytes[at];
            let escaped = if b == b'\\' && quote == b'"' {
                Some(match *self.bytes.get(at + 1)? {
                    b'\\' => '\\',
                    b'"' => '"',
                    b'/' => '/',
                    b' ' => ' ',
                    b'n' => '\n',
                    b't' => '\t',
                    b'r' => '\r',
                    b'0' => '\0',
                    b'a' => '\u{7}',
                    b'b' => '\u{8}',
                    b'e' => '\u{1b}',
                    b'f' => '\u{c}',
                    b'v' => '\u{b}',
                    _ => return None,
                })
            } else if b == b'\'' && self.bytes.get(at + 1) == Some(&b'\'') {
                Some('\'')
            } else if b == quote {
                None
            } else {
                // A backslash in single quotes is itself.
                i = at + 1;
                continue;
            };
            let Some(c) = escaped else { break at };
            let v = value.get_or_insert_with(String::new);
            v.push_str(self.slice(run, at));
            v.push(c);
            run = at + 2;
            i = at + 2;
        };
        let value = match value {
            None => Cow::Borrowed(self.slice(q + 1, close)),
            Some(mut v) => {
                v.push_str(self.slice(run, close));
                Cow::Owned(v)
            }
        };
        let style = if quote == b'"' {
            ScalarStyle::DoubleQuoted
        } else {
            ScalarStyle::SingleQuoted
        };
        // saphyr ends a quoted scalar's span where the next token starts, which the span
        // then clips to the line: spaces and a comment after it count.
        let next = self.skip_spaces(close + 1);
        let to = if self.rest_empty(next) { end } else { next };
        let node = self.scalar(q, to, value, style)?;
        Some((node, close + 1))
    }

    /// A one-line flow collection at `p`, and the position after it.
    fn flow(&mut self, p: usize) -> Option<(Node, usize)> {
        self.enter()?;
        let span = self.span(p, 1);
        let close = if self.bytes[p] == b'[' { b']' } else { b'}' };
        let mut pos = self.skip_spaces(p + 1);
        let value = if close == b']' {
            let mut items = Vec::new();
            if self.bytes.get(pos) != Some(&close) {
                loop {
                    let (item, end) = self.flow_item(pos)?;
                    items.push(item);
                    pos = self.after_item(end, close)?;
                    if self.bytes[pos] == close {
                        break;
                    }
                    pos = self.skip_spaces(pos + 1);
                }
            }
            Value::Seq(items)
        } else {
            let mut entries = Vec::new();
            if self.bytes.get(pos) != Some(&close) {
                loop {
                    let (key, colon) = self.flow_key(pos)?;
                    let (value, end) = self.flow_item(self.skip_spaces(colon + 1))?;
                    entries.push((key, value));
                    pos = self.after_item(end, close)?;
                    if self.bytes[pos] == close {
                        break;
                    }
                    pos = self.skip_spaces(pos + 1);
                }
            }
            Value::Map(entries)
        };
        self.open -= 1;
        Some((Node { span, value }, pos + 1))
    }

    /// After a flow item ending at `end`: the position of the `,` or `close` that follows
    /// (a `,` must be followed by another item).
    fn after_item(&self, end: usize, close: u8) -> Option<usize> {
        let pos = self.skip_spaces(end);
        match self.bytes.get(pos) {
            Some(&b) if b == close => Some(pos),
            Some(b',') => {
                let next = self.skip_spaces(pos + 1);
                match self.bytes.get(next) {
                    None | Some(b'\n' | b']' | b'}' | b',' | b'#') => None,
                    _ => Some(pos),
                }
            }
            _ => None,
        }
    }

    /// A plain key in a flow map at `p` and the position of its `:` (followed by a space).
    fn flow_key(&self, p: usize) -> Option<(Node, usize)> {
        if matches!(self.bytes.get(p)?, b'"' | b'\'') {
            let (node, colon) = self.quoted(p)?;
            let ok =
                self.bytes.get(colon) == Some(&b':') && self.bytes.get(colon + 1) == Some(&b' ');
            return ok.then_some((node, colon));
        }
        let mut i = p;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b':' => break,
                b'\n' | b'#' => return None,
                _ if flow_indicator(b) => return None,
                _ => i += 1,
            }
        }
        if i == p || self.bytes.get(i + 1) != Some(&b' ') || self.bytes[i - 1] == b' ' {
            return None;
        }
        Some((self.plain(p, i)?, i))
    }

    /// A flow collection, quoted or plain scalar at `p` inside a flow collection.
    fn flow_item(&mut self, p: usize) -> Option<(Node, usize)> {
        match self.bytes.get(p)? {
            b'[' | b'{' => self.flow(p),
            b'"' | b'\'' => self.quoted(p),
            _ => {
                let mut i = p;
                let mut to = p;
                while let Some(&b) = self.bytes.get(i) {
                    match b {
                        b'\n' => return None,
                        b'#' if self.bytes[i - 1] == b' ' => return None,
                        b':' => match self.bytes.get(i + 1) {
                            None | Some(b' ' | b'\n') => return None,
                            Some(&c) if flow_indicator(c) => return None,
                            _ => to = i + 1,
                        },
                        _ if flow_indicator(b) => break,
                        // saphyr takes ` -` before a non-word as a new token here.
                        b'-' if self.bytes[i - 1] == b' '
                            && !self.bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) =>
                        {
                            return None
                        }
                        b' ' => {}
                        _ => to = i + 1,
                    }
                    i += 1;
                }
                if to == p {
                    return None;
                }
                Some((self.plain(p, to)?, to))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::saphyr_part;
    use super::*;
    use proptest::prelude::*;

    /// What the reader makes of `text`, checked against saphyr: when it takes the text,
    /// saphyr must read the same tree with the same spans.
    fn same(text: &str) -> Option<Vec<Node>> {
        let fast = parse(text, FileId(0), 0, 0);
        if let Some(docs) = &fast {
            match saphyr_part(text, FileId(0), 0, 0) {
                Ok((plain, _)) => assert_eq!(docs, &plain, "{text:?}"),
                Err(e) => panic!("read {text:?}, which saphyr rejects: {}", e.message),
            }
        }
        fast
    }

    fn files(dir: &str) -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            // Fixtures of bad encodings are not text.
            .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(&p).ok()?)))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn reads_every_example_as_saphyr_does() {
        for (path, text) in files("examples") {
            assert!(same(&text).is_some(), "{path} is not read by the fast path");
        }
        for dir in ["tests/scenarios", "tests/fixtures/spec"] {
            for (_, text) in files(dir) {
                same(&text);
            }
        }
    }

    #[test]
    fn reads_synthetic_specs_and_their_parts() {
        let text = crate::synth::spec("net", crate::synth::Shape::with_jobs(300));
        assert!(same(&text).is_some());
        // A part as the split parse cuts it: list items, indented, at a line offset and depth.
        let from = text.find("      - name:").unwrap();
        let part = &text[from..];
        let fast = parse(part, FileId(0), 7, 3).expect("part read");
        let (plain, _) = saphyr_part(part, FileId(0), 7, 3).unwrap();
        assert_eq!(fast, plain);
    }

    #[test]
    fn matches_saphyr_on_the_edges_of_the_subset() {
        let taken = [
            "a: 1\nb: [x, \"y\", 'z']\na: 2\n",
            "a:\n- x\n- y\nb: 1\n",
            "a:\n  - x\n  - {k: v, l: [1, 2]}\n",
            "- a\n- b: c\n  d: e\n- [ ]\n- { }\n",
            "a: -1\nb: x:y\nc: x#c\nd: x # c\ne: 'x' # c\n",
            "t: 02:30\nd: 2027-01-04\nn: 12\nf: 1.5\nz: ~\nb: true\nh: 0x1F\ni: .inf\n",
            "名前: ジョブ # c\nl: [日本, x]\n- : x\n",
            "# head\n\nroot:\n  # inside\n  k: v   \n\n  l: w\n",
            "a: ${Name}\nb: \"${JobFunctionArn}\"\nc: {f: \"${X}\"}\n",
            "  - a\n  - b\n",
            "a:\n  -\n    b: 1\n",
            "a: # comment\n  b: 1\n",
            "\"a\": 1\n'b c': {\"--mode\": x, 'k': [\"v\" , w]}\n- \"q\": 1\n",
            "- \"q\": 1\n  r: 2\n- 'x'\n",
            "a: 'it''s'\nb: \"x\\ny\"\nc: \"C:\\\\temp\\\\x\"\nd: 'C:\\temp'\ne: \"say \\\"hi\\\"\"\n",
            "- \"\\t\\/\\0\\ \\e\"\n- ''''\n- \"\"\n",
            "a: x[1], y{2}\nb: +1\nc: 0o17\nd: 1_000\ne: .5\nf: b #c: d\n",
            "a: x\u{2028}y\n",
            "a: x\u{1}y\n",
            "a: x\u{7f}y\n",
            "a: x\u{85}y\n",
            "a: x\u{fffe}y\n",
            "a: \"x\u{1}y\"\n",
            "a: x\u{0}y\n",
        ];
        for text in taken {
            same(text);
        }
        for text in taken[..6]
            .iter()
            .chain(taken.iter().filter(|t| t.contains('\\')))
        {
            assert!(same(text).is_some(), "{text:?} not taken");
        }
        let refused = [
            "",
            "# only a comment\n",
            "a: b: c\n",
            "- - x\n",
            "a:\n",
            "a:\nb: 1\n",
            "a: &x 1\nb: *x\n",
            "a: !t x\n",
            "a: [1, 2,]\n",
            "a: {b}\n",
            "a: [x,\n  y]\n",
            "a: -\n",
            "a: :x\n",
            "? a\n: b\n",
            "a: |\n  x\n",
            "a: >\n  x\n",
            "a: 'x'#c\n",
            "a: 1\n  b: 2\n",
            "  a: 1\nb: 2\n",
            "a: x\n  y\n",
            "---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "a:\tb\n",
            "a: 1\r\n",
            "a : 1\n",
            "a: [b: c]\n",
            "a: [x]]\n",
            "a: {k: v} x\n",
            "a: @x\n",
            "\"a\" : 1\n",
            "a: {\"k\":v}\n",
            "a: [[x, - y]]\n",
            "a: [a -]\n",
            "a: \"\\x41\"\n",
            "a: \"\\u00e9\"\n",
            "a: \"x\\\"\n",
            "a: \"x\\\n  y\"\n",
            "{",
            "a: {  ",
            "[{ ",
            "a: x\u{feff}",
            "a: 1 #\u{feff}",
            "\n\u{feff}: a",
            "a: 'x\u{feff}'",
            "a:\n  - b\n...  c: d\n",
            "a: 1\n--- # c\n",
            "a: 1\n%YAML 1.2\n",
        ];
        for text in refused {
            assert!(same(text).is_none(), "{text:?} taken");
        }
        let long = "a".repeat(1025) + ": b";
        assert!(same(&long).is_none());
        assert!(same(&format!("- {long}")).is_none());
        assert!(same(&format!("'{}': b", "a".repeat(1023))).is_none());
        assert!(same(&format!("{}: b", "é".repeat(1025))).is_none());
        assert!(same(&format!("{}: b", "é".repeat(1000))).is_some());
    }

    #[test]
    fn refuses_nesting_near_the_limit() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(same(&deep).is_none());
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(same(&ok).is_some());
    }

    /// A random tree to write as spec-like YAML.
    #[derive(Debug, Clone)]
    enum T {
        Scalar(String),
        Seq(Vec<T>),
        Map(Vec<(String, T)>),
    }

    fn scalar_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9_]{0,8}",
            "-?[0-9]{1,4}",
            "[0-9]{1,2}:[0-9]{2}",
            "(true|false|null|~|yes|No|0x1f|1e3|\\.inf)",
            "[a-z$#:{}@' \"-]{1,8}",
            "[a-z\\\\\"'/ ntx0]{1,8}",
            "[ぁ-ん]{1,3}",
        ]
    }

    fn tree() -> impl Strategy<Value = T> {
        let leaf = scalar_text().prop_map(T::Scalar);
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(T::Seq),
                prop::collection::vec(("[a-z][a-z_]{0,5}", inner), 1..4).prop_map(T::Map),
            ]
        })
    }

    /// How a scalar is written: plain, double or single quoted.
    fn write_scalar(s: &str, style: u8) -> String {
        match style % 3 {
            0 => s.to_string(),
            1 => format!("\"{s}\""),
            _ => format!("'{s}'"),
        }
    }

    fn flow(t: &T, style: &mut impl Iterator<Item = u8>) -> String {
        match t {
            T::Scalar(s) => write_scalar(s, style.next().unwrap_or(0)),
            T::Seq(items) => {
                let items: Vec<_> = items.iter().map(|i| flow(i, style)).collect();
                format!("[{}]", items.join(", "))
            }
            T::Map(entries) => {
                let entries: Vec<_> = entries
                    .iter()
                    .map(|(k, v)| {
                        let k = key(k, style.next().unwrap_or(0));
                        format!("{k}: {}", flow(v, style))
                    })
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }

    /// Writes `t` as a block node at `indent`, choosing flow or block per node from `style`.
    fn block(t: &T, indent: usize, out: &mut String, style: &mut impl Iterator<Item = u8>) {
        let pad = " ".repeat(indent);
        match t {
            T::Seq(items) if !items.is_empty() => {
                for item in items {
                    let s = style.next().unwrap_or(0);
                    match item {
                        T::Map(entries) if s.is_multiple_of(2) => {
                            out.push_str(&format!("{pad}- "));
                            let mut first = String::new();
                            block(&T::Map(entries.clone()), indent + 2, &mut first, style);
                            out.push_str(&first[indent + 2..]);
                        }
                        T::Seq(_) | T::Map(_) if s % 3 == 1 && !is_empty(item) => {
                            out.push_str(&format!("{pad}-\n"));
                            block(item, indent + 2, out, style);
                        }
                        _ => out.push_str(&format!("{pad}- {}\n", flow(item, style))),
                    }
                    if s.is_multiple_of(5) {
                        out.push_str(&format!("{pad}# note: {s}\n\n"));
                    }
                }
            }
            T::Map(entries) => {
                for (k, v) in entries {
                    let s = style.next().unwrap_or(0);
                    let k = key(k, s);
                    let trail = if s.is_multiple_of(17) { "   " } else { "" };
                    match v {
                        T::Seq(_) | T::Map(_) if s.is_multiple_of(2) && !is_empty(v) => {
                            let note = if s.is_multiple_of(3) { " # c" } else { "" };
                            out.push_str(&format!("{pad}{k}:{note}{trail}\n"));
                            let deeper = if matches!(v, T::Seq(_)) && s.is_multiple_of(4) {
                                0
                            } else {
                                1 + usize::from(s % 4)
                            };
                            block(v, indent + deeper, out, style);
                        }
                        _ => out.push_str(&format!(
                            "{pad}{k}: {}{}{trail}\n",
                            flow(v, style),
                            if s.is_multiple_of(7) {
                                "  # tail: x"
                            } else {
                                ""
                            }
                        )),
                    }
                }
            }
            _ => out.push_str(&format!("{pad}{}\n", flow(t, style))),
        }
    }

    /// A key, sometimes quoted.
    fn key(k: &str, s: u8) -> String {
        match s % 13 {
            3 => format!("\"{k}\""),
            5 => format!("'{k}'"),
            _ => k.to_string(),
        }
    }

    fn is_empty(t: &T) -> bool {
        match t {
            T::Scalar(_) => false,
            T::Seq(v) => v.is_empty(),
            T::Map(v) => v.is_empty(),
        }
    }

    /// How the reader and saphyr disagree on `text`, if they do (panics caught).
    fn diverges(text: &str) -> Option<String> {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        let Ok(fast) = catch_unwind(AssertUnwindSafe(|| parse(text, FileId(0), 0, 0))) else {
            return Some("the reader panics".into());
        };
        let docs = fast?;
        match catch_unwind(AssertUnwindSafe(|| saphyr_part(text, FileId(0), 0, 0))) {
            Err(_) => Some("taken, but saphyr panics".into()),
            Ok(Err(e)) => Some(format!("taken, but saphyr rejects it: {}", e.message)),
            Ok(Ok((plain, _))) if plain != docs => {
                Some(format!("differs:\n  fast:   {docs:?}\n  saphyr: {plain:?}"))
            }
            Ok(Ok(_)) => None,
        }
    }

    /// Characters that matter to YAML or to the reader's byte handling.
    const SIGNIFICANT: &[char] = &[
        '-',
        ':',
        '#',
        '[',
        ']',
        '{',
        '}',
        ',',
        '\'',
        '"',
        '&',
        '*',
        '!',
        '|',
        '>',
        '?',
        '%',
        ' ',
        ' ',
        ' ',
        '\n',
        '\n',
        '.',
        'a',
        'b',
        '1',
        '~',
        '@',
        '`',
        '\\',
        '\t',
        '\r',
        '\0',
        '\u{feff}',
        '\u{85}',
        '\u{2028}',
        '\u{a0}',
        'é',
        '日',
        '\u{1F600}',
        '\u{7f}',
    ];

    fn boundary(s: &str, i: usize) -> usize {
        (0..=i.min(s.len()))
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0)
    }

    /// One edit of `text`: a character or a YAML token inserted, bytes deleted, a line
    /// copied, swapped, indented or dedented.
    fn apply(text: &mut String, op: u8, at: usize, n: usize, c: char) {
        let at = boundary(text, at % (text.len() + 1));
        match op % 8 {
            0 | 1 => text.insert(at, c),
            2 => text.insert_str(
                at,
                ["- ", ": ", " #", "\n", "  ", "[", "{", "'", "\""][n % 9],
            ),
            3 => {
                let end = boundary(text, at + 1 + n % 8);
                text.replace_range(at..end, "");
            }
            _ => {
                let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
                let (i, j) = (at % lines.len(), n % lines.len());
                match op % 8 {
                    4 => lines.insert(i, lines[j].clone()),
                    5 => lines.swap(i, j),
                    6 => lines[i].insert_str(0, &" ".repeat(1 + n % 3)),
                    _ => {
                        let k = lines[i].len() - lines[i].trim_start_matches(' ').len();
                        lines[i].replace_range(..k.min(1 + n % 3), "");
                    }
                }
                *text = lines.join("\n");
            }
        }
    }

    /// Every example, scenario and fixture, and a synthetic spec.
    fn seeds() -> Vec<String> {
        let mut out: Vec<String> = ["examples", "tests/scenarios", "tests/fixtures/spec"]
            .into_iter()
            .flat_map(files)
            .map(|(_, t)| t)
            .collect();
        out.push(crate::synth::spec("net", crate::synth::Shape::with_jobs(3)));
        out
    }

    fn edit_char() -> impl Strategy<Value = char> {
        prop_oneof![4 => prop::sample::select(SIGNIFICANT.to_vec()), 1 => any::<char>()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// Mutated real specs: the reader takes some, and must read those as saphyr does.
        #[test]
        fn reads_mutated_specs_as_saphyr_does(
            seed in any::<prop::sample::Index>(),
            edits in prop::collection::vec(
                (any::<u8>(), any::<usize>(), any::<usize>(), edit_char()),
                1..5,
            ),
        ) {
            let seeds = seeds();
            let mut text = seed.get(&seeds).clone();
            for (op, at, n, c) in edits {
                apply(&mut text, op, at, n, c);
            }
            if let Some(d) = diverges(&text) {
                prop_assert!(false, "{text:?}: {d}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn reads_random_specs_as_saphyr_does(
            entries in prop::collection::vec(("[a-z]{1,6}", tree()), 1..5),
            style in prop::collection::vec(any::<u8>(), 64),
        ) {
            let mut text = String::new();
            let mut style = style.into_iter().cycle();
            block(&T::Map(entries), 0, &mut text, &mut style);
            same(&text);
        }
    }
}
