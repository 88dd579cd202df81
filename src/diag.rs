//! Compiler-style diagnostics: every front-end and pass reports through these, so that
//! one run shows every problem with `file:line:col`, the offending text and a hint.

use serde::Serialize;
use std::fmt::Write as _;

/// Index of a loaded source file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId(pub u32);

/// A position range in a source file. Lines and columns are 1-based and count characters,
/// so they match what editors show for UTF-8 and for decoded CP932 alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    /// Length in characters on the starting line (0 when unknown); used for the `^^^` marker.
    pub len: u32,
}

impl Span {
    pub fn new(file: FileId, line: u32, col: u32, len: u32) -> Self {
        Span {
            file,
            line,
            col,
            len,
        }
    }
}

/// One input file, decoded to UTF-8, kept so that diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (shown in diagnostics).
    pub path: String,
    pub text: String,
    /// The encoding the file was read in (for the report).
    pub encoding: String,
}

/// All source files of one compiler run.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: impl Into<String>, text: String, encoding: &str) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 2^32 files"));
        self.files.push(SourceFile {
            path: path.into(),
            text,
            encoding: encoding.to_string(),
        });
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, id: FileId, line: u32) -> Option<&str> {
        let text = &self.get(id).text;
        text.split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// One finding. `code` is a stable identifier (`E0101`) that CI filters and docs refer to.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    #[serde(skip)]
    pub span: Option<Span>,
    pub hint: Option<String>,
    /// Further lines (for example the members of a cycle).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// Collects diagnostics across a whole run instead of stopping at the first.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Sorts by file, line and column so that output is stable whatever order passes ran in.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            let ka = a.span.map(|s| (s.file, s.line, s.col));
            let kb = b.span.map(|s| (s.file, s.line, s.col));
            ka.cmp(&kb)
                .then(a.severity.cmp(&b.severity))
                .then(a.code.cmp(b.code))
                .then(a.message.cmp(&b.message))
        });
    }
}

/// Renders diagnostics like rustc: header, location, quoted line with a marker, hint.
pub fn render(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let (sev, paint) = match d.severity {
        Severity::Error => ("error", "\x1b[1;31m"),
        Severity::Warning => ("warning", "\x1b[1;33m"),
        Severity::Note => ("note", "\x1b[1;36m"),
    };
    let (bold, reset) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let paint = if color { paint } else { "" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{paint}{sev}[{}]{reset}{bold}: {}{reset}",
        d.code, d.message
    );
    if let Some(span) = d.span {
        let file = sources.get(span.file);
        let _ = writeln!(out, "  --> {}:{}:{}", file.path, span.line, span.col);
        if let Some(line) = sources.line_text(span.file, span.line) {
            let gutter = span.line.to_string().len();
            let shown: String = line.chars().take(200).collect();
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{} | {}", span.line, shown);
            let lead: String = line
                .chars()
                .take(span.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let marks = "^".repeat(span.len.clamp(1, 120) as usize);
            let _ = writeln!(out, "{:gutter$} | {lead}{paint}{marks}{reset}", "");
        }
    }
    for n in &d.notes {
        let _ = writeln!(out, "  = note: {n}");
    }
    if let Some(h) = &d.hint {
        let _ = writeln!(out, "  = hint: {h}");
    }
    out
}

/// JSON form of a diagnostic for `--format json`: location resolved to a path.
pub fn to_json(d: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    let mut v = serde_json::to_value(d).expect("diagnostic serialises");
    if let Some(span) = d.span {
        v["file"] = sources.get(span.file).path.clone().into();
        v["line"] = span.line.into();
        v["col"] = span.col.into();
        v["text"] = sources.line_text(span.file, span.line).unwrap_or("").into();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_hint() {
        let mut sm = SourceMap::default();
        let f = sm.add("a.yaml", "x: 1\nafter: [nope]\n".into(), "utf-8");
        let d = Diagnostic::error("E0201", "unknown unit `nope`")
            .at(Span::new(f, 2, 9, 4))
            .hint("did you mean `x`?");
        let s = render(&d, &sm, false);
        assert!(s.contains("error[E0201]: unknown unit `nope`"), "{s}");
        assert!(s.contains("--> a.yaml:2:9"), "{s}");
        assert!(s.contains("2 | after: [nope]"), "{s}");
        assert!(s.contains("  |         ^^^^"), "{s}");
        assert!(s.contains("= hint: did you mean `x`?"), "{s}");
    }

    #[test]
    fn sorts_by_position() {
        let mut ds = Diagnostics::default();
        ds.push(Diagnostic::error("E2", "b").at(Span::new(FileId(0), 5, 1, 1)));
        ds.push(Diagnostic::error("E1", "a").at(Span::new(FileId(0), 2, 1, 1)));
        ds.sort();
        assert_eq!(ds.items[0].message, "a");
        assert_eq!(ds.error_count(), 2);
    }
}
