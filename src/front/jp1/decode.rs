//! Byte decoding and content sniffing for ajsprint files.
//!
//! Real exports come from Japanese Windows or UNIX hosts, so they are CP932 (Shift_JIS with
//! Microsoft extensions) as often as UTF-8. Auto-detection prefers UTF-8: a CP932 file with
//! Japanese text is almost never valid UTF-8, while a UTF-8 file read as CP932 would decode
//! to mojibake without any error.

use crate::diag::{Diagnostic, FileId, Span};
use encoding_rs::SHIFT_JIS;
use std::fmt;

/// The encodings an ajsprint file can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Utf8,
    /// CP932 (Windows-31J): Shift_JIS with the Microsoft extensions real exports use.
    Cp932,
}

impl Encoding {
    /// Parses an `--encoding` value (`utf-8`, `cp932`, `shift_jis`, …; case-insensitive).
    pub fn parse(name: &str) -> Result<Encoding, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "cp932" | "shift_jis" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => {
                Ok(Encoding::Cp932)
            }
            other => Err(format!(
                "unknown encoding `{other}`; use one of: utf-8, cp932, shift_jis"
            )),
        }
    }

    /// The canonical name, as recorded in `SourceFile::encoding` and the report.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => UTF8,
            Encoding::Cp932 => CP932,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Canonical encoding names, as reported in diagnostics and the conversion report.
pub const UTF8: &str = "utf-8";
pub const CP932: &str = "cp932";

/// Why a file could not be decoded, with the position of the first bad byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub message: String,
    /// 1-based line and byte column of the first undecodable byte.
    pub line: u32,
    pub col: u32,
    pub hint: String,
}

impl DecodeError {
    /// An `E0301` diagnostic. The file is not in the source map (it has no text), so the
    /// path and position are part of the message.
    pub fn to_diagnostic(&self, path: &str) -> Diagnostic {
        Diagnostic::error(
            "E0301",
            format!("{path}:{}:{}: {}", self.line, self.col, self.message),
        )
        .hint(self.hint.clone())
    }

    /// The same diagnostic pointing into a file that is in the source map.
    pub fn to_diagnostic_at(&self, file: FileId) -> Diagnostic {
        Diagnostic::error("E0301", self.message.clone())
            .at(Span::new(file, self.line, self.col, 1))
            .hint(self.hint.clone())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// Decodes a unit definition file. `forced` is the `--encoding` option; without it UTF-8
/// (with or without BOM) is tried first, then CP932. Returns the text without BOM and the
/// encoding used.
pub fn decode(bytes: &[u8], forced: Option<Encoding>) -> Result<(String, Encoding), DecodeError> {
    match forced {
        None => decode_auto(bytes),
        Some(Encoding::Utf8) => decode_utf8(bytes),
        Some(Encoding::Cp932) => decode_cp932(bytes),
    }
}

fn decode_auto(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") || std::str::from_utf8(bytes).is_ok() {
        return decode_utf8(bytes);
    }
    decode_cp932(bytes).map_err(|mut e| {
        e.message.push_str(" (the file is not valid UTF-8 either)");
        e
    })
}

fn decode_utf8(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => Ok((s.to_string(), Encoding::Utf8)),
        Err(e) => {
            let at = e.valid_up_to() + (bytes.len() - body.len());
            let (line, col) = byte_position(bytes, at);
            Err(DecodeError {
                message: format!("invalid UTF-8 at byte {at}"),
                line,
                col,
                hint: "the file looks like CP932/Shift_JIS: try --encoding cp932".into(),
            })
        }
    }
}

fn decode_cp932(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(body) {
        Some(text) => Ok((text.into_owned(), Encoding::Cp932)),
        None => {
            let at = first_invalid_cp932(body) + (bytes.len() - body.len());
            let (line, col) = byte_position(bytes, at);
            Err(DecodeError {
                message: format!("invalid CP932/Shift_JIS byte sequence at byte {at}"),
                line,
                col,
                hint: "check the file is a text export (ajsprint); if it is UTF-8, try --encoding utf-8".into(),
            })
        }
    }
}

/// Finds the first byte offset where CP932 decoding fails, by growing the decoded prefix.
fn first_invalid_cp932(bytes: &[u8]) -> usize {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 + 16);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, _) => read.saturating_sub(bad as usize),
        _ => read,
    }
}

/// 1-based line and byte column of a byte offset (good enough for an undecodable file).
fn byte_position(bytes: &[u8], at: usize) -> (u32, u32) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (clamp(line), clamp(col))
}

/// True when the text starts (after a BOM, whitespace and `/* */` comments) with `unit=`:
/// every ajsprint file does, and no YAML spec can.
pub fn looks_like_jp1(text: &str) -> bool {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/*") {
            match after.find("*/") {
                Some(end) => rest = &after[end + 2..],
                None => return false,
            }
        } else {
            break;
        }
    }
    rest.strip_prefix("unit")
        .map(|r| r.trim_start().starts_with('='))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(
            decode(b"unit=a", None).unwrap(),
            ("unit=a".into(), Encoding::Utf8)
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBFunit=a", None).unwrap(),
            ("unit=a".into(), Encoding::Utf8)
        );
    }

    #[test]
    fn cp932_is_detected_and_forced() {
        let (bytes, _, _) = SHIFT_JIS.encode("cm=\"ジョブネット\";");
        let (text, enc) = decode(&bytes, None).unwrap();
        assert_eq!(
            (text.as_str(), enc),
            ("cm=\"ジョブネット\";", Encoding::Cp932)
        );
        let forced = Encoding::parse("Shift_JIS").unwrap();
        assert_eq!(decode(&bytes, Some(forced)).unwrap().1, Encoding::Cp932);
        let err = decode(&bytes, Some(Encoding::Utf8)).unwrap_err();
        assert!(err.message.contains("invalid UTF-8"), "{err}");
        assert_eq!((err.line, err.col), (1, 5));
    }

    #[test]
    fn undecodable_and_unknown_encoding() {
        let err = decode(b"ok\n\x81\x20", Some(Encoding::Cp932)).unwrap_err();
        assert_eq!((err.line, err.col), (2, 1), "{err}");
        let d = err.to_diagnostic("a.txt");
        assert_eq!(d.code, "E0301");
        assert!(d.message.starts_with("a.txt:2:1:"), "{}", d.message);
        assert!(Encoding::parse("latin1").unwrap_err().contains("unknown"));
        assert!(decode(b"\xff\xff\xff", None).is_err());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_jp1("/* a */\n/* b */ unit=x,,,;"));
        assert!(looks_like_jp1("\u{feff}unit =x"));
        assert!(!looks_like_jp1("name: x\nunits: []"));
        assert!(!looks_like_jp1("version: 1\njobnets:\n  - name: unit"));
        assert!(!looks_like_jp1("/* never closed unit=x"));
    }
}
