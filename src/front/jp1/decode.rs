//! Byte decoding and content sniffing for ajsprint files.
//!
//! Real exports come from Japanese Windows or UNIX hosts, so they are CP932 (Shift_JIS with
//! Microsoft extensions) as often as UTF-8. Auto-detection prefers UTF-8: a CP932 file with
//! Japanese text is almost never valid UTF-8, while a UTF-8 file read as CP932 would decode
//! to mojibake without any error.

use encoding_rs::SHIFT_JIS;

/// Canonical encoding names, as reported in diagnostics and the conversion report.
pub const UTF8: &str = "utf-8";
pub const CP932: &str = "cp932";

/// Decodes a unit definition file. `forced` is the `--encoding` option (`utf-8`, `cp932`,
/// `shift_jis`, case-insensitive). Returns the text (without BOM) and the encoding used.
pub fn decode(bytes: &[u8], forced: Option<&str>) -> Result<(String, &'static str), String> {
    match forced.map(|f| f.trim().to_ascii_lowercase()) {
        None => decode_auto(bytes),
        Some(name) => match name.as_str() {
            "utf-8" | "utf8" => decode_utf8(bytes),
            "cp932" | "shift_jis" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => {
                decode_cp932(bytes)
            }
            other => Err(format!(
                "unknown encoding `{other}`; use one of: utf-8, cp932, shift_jis"
            )),
        },
    }
}

fn decode_auto(bytes: &[u8]) -> Result<(String, &'static str), String> {
    if bytes.starts_with(b"\xEF\xBB\xBF") || std::str::from_utf8(bytes).is_ok() {
        return decode_utf8(bytes);
    }
    decode_cp932(bytes).map_err(|e| format!("{e} (the file is not valid UTF-8 either)"))
}

fn decode_utf8(bytes: &[u8]) -> Result<(String, &'static str), String> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => Ok((s.to_string(), UTF8)),
        Err(e) => {
            let at = e.valid_up_to() + (bytes.len() - body.len());
            let (line, col) = byte_position(bytes, at);
            Err(format!(
                "invalid UTF-8 at byte {at} (line {line}, column {col}); try --encoding cp932"
            ))
        }
    }
}

fn decode_cp932(bytes: &[u8]) -> Result<(String, &'static str), String> {
    match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok((text.into_owned(), CP932)),
        None => {
            let at = first_invalid_cp932(bytes);
            let (line, col) = byte_position(bytes, at);
            Err(format!(
                "invalid CP932/Shift_JIS byte sequence at byte {at} (line {line}, column {col}); try --encoding utf-8"
            ))
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
fn byte_position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
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
        assert_eq!(decode(b"unit=a", None).unwrap(), ("unit=a".into(), UTF8));
        assert_eq!(
            decode(b"\xEF\xBB\xBFunit=a", None).unwrap(),
            ("unit=a".into(), UTF8)
        );
    }

    #[test]
    fn cp932_is_detected_and_forced() {
        let (bytes, _, _) = SHIFT_JIS.encode("cm=\"ジョブネット\";");
        let (text, enc) = decode(&bytes, None).unwrap();
        assert_eq!((text.as_str(), enc), ("cm=\"ジョブネット\";", CP932));
        assert_eq!(decode(&bytes, Some("Shift_JIS")).unwrap().1, CP932);
        assert!(decode(&bytes, Some("utf-8"))
            .unwrap_err()
            .contains("invalid UTF-8"));
    }

    #[test]
    fn undecodable_and_unknown_encoding() {
        let err = decode(b"ok\n\x81\x20", Some("cp932")).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(decode(b"x", Some("latin1")).unwrap_err().contains("unknown"));
        assert!(decode(b"\xff\xff\xff", None).is_err());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_jp1("/* a */\n/* b */ unit=x,,,;"));
        assert!(looks_like_jp1("\u{feff}unit =x"));
        assert!(!looks_like_jp1("name: x\nunits: []"));
        assert!(!looks_like_jp1("/* never closed unit=x"));
    }
}
