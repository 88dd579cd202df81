//! Tokens of a unit definition file, with 1-based line/column positions in characters.
//!
//! The lexer knows only punctuation, quoted strings and bare words; what a word means
//! (key, unit name, value) is the parser's business. It never fails: malformed input
//! becomes diagnostics and the lexer carries on.

use crate::diag::{Diagnostic, Diagnostics, FileId, Span};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Semi,
    Comma,
    Eq,
    /// A run of characters that are neither punctuation, quote nor whitespace.
    Word(String),
    /// A quoted string with `#"` and `##` already unescaped.
    Str(String),
    Eof,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
    /// Whitespace (or a comment) precedes the token: `+80 +48` keeps its space.
    pub space_before: bool,
}

fn is_punct(c: char) -> bool {
    matches!(c, '{' | '}' | '(' | ')' | ';' | ',' | '=' | '"')
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    col: u32,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }
}

/// Splits `text` into tokens; the last token is always [`Tok::Eof`].
pub fn lex(text: &str, file: FileId, diags: &mut Diagnostics) -> Vec<Token> {
    let mut lexer = Lexer::new(text, file);
    let mut out = Vec::new();
    loop {
        let t = lexer.next_token();
        let end = t.tok == Tok::Eof;
        out.push(t);
        if end {
            break;
        }
    }
    diags.extend(lexer.finish());
    out
}

/// Tokens on demand: the parser holds two at a time instead of the whole file's (a
/// 100,000-unit export is millions of tokens).
pub struct Lexer<'a> {
    cur: Cursor<'a>,
    file: FileId,
    space: bool,
    diags: Diagnostics,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str, file: FileId) -> Lexer<'a> {
        Lexer {
            cur: Cursor {
                chars: text.chars().peekable(),
                line: 1,
                col: 1,
            },
            file,
            space: false,
            diags: Diagnostics::default(),
        }
    }

    /// The lexical errors met so far.
    pub fn finish(self) -> Diagnostics {
        self.diags
    }

    /// The next token; [`Tok::Eof`] at the end, and again on every call after it.
    pub fn next_token(&mut self) -> Token {
        let file = self.file;
        let cur = &mut self.cur;
        while let Some(c) = cur.peek() {
            let (line, col) = (cur.line, cur.col);
            let span = |len: u32| Span::new(file, line, col, len);
            if c.is_whitespace() || c == '\u{feff}' {
                cur.bump();
                self.space = true;
                continue;
            }
            if c == '/' {
                cur.bump();
                if cur.peek() == Some('*') {
                    cur.bump();
                    if !skip_comment(cur) {
                        self.diags.push(
                            Diagnostic::error("E0302", "unterminated comment")
                                .at(span(2))
                                .hint("close the comment with `*/`"),
                        );
                    }
                    self.space = true;
                    continue;
                }
                let mut word = String::from('/');
                take_word(cur, &mut word);
                return token(Tok::Word(word), span, &mut self.space);
            }
            let tok = match c {
                '{' => Tok::LBrace,
                '}' => Tok::RBrace,
                '(' => Tok::LParen,
                ')' => Tok::RParen,
                ';' => Tok::Semi,
                ',' => Tok::Comma,
                '=' => Tok::Eq,
                '"' => {
                    cur.bump();
                    let (s, closed) = take_string(cur);
                    if !closed {
                        self.diags.push(
                            Diagnostic::error("E0303", "unterminated string")
                                .at(span(1))
                                .hint(
                                    "close the string with `\"`; write a quote inside it as `#\"`",
                                ),
                        );
                    }
                    let len = if line == cur.line { cur.col - col } else { 1 };
                    let t = Token {
                        tok: Tok::Str(s),
                        span: span(len),
                        space_before: self.space,
                    };
                    self.space = false;
                    return t;
                }
                _ => {
                    let mut word = String::new();
                    take_word(cur, &mut word);
                    return token(Tok::Word(word), span, &mut self.space);
                }
            };
            cur.bump();
            return token(tok, span, &mut self.space);
        }
        Token {
            tok: Tok::Eof,
            span: Span::new(file, cur.line, cur.col, 0),
            space_before: self.space,
        }
    }
}

fn token(tok: Tok, span: impl Fn(u32) -> Span, space: &mut bool) -> Token {
    let len = match &tok {
        Tok::Word(w) => w.chars().count() as u32,
        _ => 1,
    };
    let t = Token {
        tok,
        span: span(len),
        space_before: *space,
    };
    *space = false;
    t
}

/// `mm` or `yyyy/mm` so far: digits and slashes.
fn is_month_prefix(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_digit() || c == '/')
}

/// What follows the `*` of an n-th open day up to the end of the value: `dd`, `b` or
/// `b-dd`.
fn is_day_form(mut rest: std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    let mut form = String::new();
    while let Some(&c) = rest.peek() {
        if c.is_whitespace() || is_punct(c) || form.len() > 8 {
            break;
        }
        form.push(c);
        rest.next();
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match form.strip_prefix('b') {
        Some("") => true,
        Some(after) => after.strip_prefix('-').is_some_and(digits),
        None => digits(&form),
    }
}

fn take_word(cur: &mut Cursor<'_>, word: &mut String) {
    while let Some(c) = cur.peek() {
        if c.is_whitespace() || is_punct(c) {
            break;
        }
        if c == '/' {
            // `/*` right after a word starts a comment, except in a date's n-th open day
            // (`sd=2024/04/*1`, `12/*b-2`): a `[yyyy/]mm` word and a day form after the `*`.
            let mut ahead = cur.chars.clone();
            ahead.next();
            if ahead.peek() == Some(&'*') {
                ahead.next();
                if !(is_month_prefix(word) && is_day_form(ahead)) {
                    break;
                }
            }
        }
        word.push(c);
        cur.bump();
    }
}

/// Skips to the end of a comment; false when the input ends first.
fn skip_comment(cur: &mut Cursor<'_>) -> bool {
    while let Some(c) = cur.bump() {
        if c == '*' && cur.peek() == Some('/') {
            cur.bump();
            return true;
        }
    }
    false
}

/// Reads a quoted string after its opening quote; `#` escapes `"` and `#`.
fn take_string(cur: &mut Cursor<'_>) -> (String, bool) {
    let mut s = String::new();
    while let Some(c) = cur.bump() {
        match c {
            '"' => return (s, true),
            '#' if matches!(cur.peek(), Some('"') | Some('#')) => {
                s.extend(cur.bump());
            }
            // Windows exports end lines with CRLF; commands and texts keep plain newlines.
            '\r' if cur.peek() == Some('\n') => {}
            _ => s.push(c),
        }
    }
    (s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> (Vec<Token>, Diagnostics) {
        let mut d = Diagnostics::default();
        (lex(text, FileId(0), &mut d), d)
    }

    #[test]
    fn punctuation_words_strings_positions() {
        let (t, d) = toks("/* c */ unit=ジョブ,,a;\n  cm=\"x#\"y##\nz\";");
        assert!(d.items.is_empty());
        let kinds: Vec<_> = t.iter().map(|t| t.tok.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Word("unit".into()),
                Tok::Eq,
                Tok::Word("ジョブ".into()),
                Tok::Comma,
                Tok::Comma,
                Tok::Word("a".into()),
                Tok::Semi,
                Tok::Word("cm".into()),
                Tok::Eq,
                Tok::Str("x\"y#\nz".into()),
                Tok::Semi,
                Tok::Eof,
            ]
        );
        assert_eq!((t[0].span.line, t[0].span.col), (1, 9));
        assert!(t[0].space_before);
        assert_eq!((t[2].span.col, t[2].span.len), (14, 3));
        assert_eq!((t[7].span.line, t[7].span.col), (2, 3));
        assert_eq!((t[10].span.line, t[10].span.col), (3, 3));
    }

    #[test]
    fn unterminated_string_and_comment_are_reported() {
        let (t, d) = toks("cm=\"abc");
        assert_eq!(d.items[0].code, "E0303");
        assert_eq!(t.last().unwrap().tok, Tok::Eof);
        let (_, d) = toks("ty=n; /* never");
        assert_eq!(d.items[0].code, "E0302");
        assert_eq!(d.items[0].span.unwrap().col, 7);
    }

    #[test]
    fn crlf_inside_strings_becomes_lf() {
        let (t, d) = toks("te=\"ls\r\npwd\";\r\nty=j;");
        assert!(d.items.is_empty());
        assert_eq!(t[2].tok, Tok::Str("ls\npwd".into()));
        assert_eq!((t[4].span.line, t[4].span.col), (3, 1));
    }

    #[test]
    fn slash_words_and_comment_after_word() {
        let (t, _) = toks("sd=2014/12/12/* x */;");
        assert_eq!(t[2].tok, Tok::Word("2014/12/12".into()));
        assert_eq!(t[3].tok, Tok::Semi);
        assert!(t[3].space_before);
        // The n-th open day of a month is a value, even before a comment; other `/*`
        // after a word still open one.
        let (t, d) =
            toks("sd=1,2024/04/*1;sd=2,05/*b-2 /* x */;sd=3,12/*5;/* c */ty=n/* a\n b */;");
        assert!(d.items.is_empty(), "{:?}", d.items);
        let words: Vec<&str> = t
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Word(w) => Some(w.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            words,
            [
                "sd",
                "1",
                "2024/04/*1",
                "sd",
                "2",
                "05/*b-2",
                "sd",
                "3",
                "12/*5",
                "ty",
                "n"
            ]
        );
        let (_, d) = toks("sd=2014/12/12/* never");
        assert!(d.items.iter().any(|x| x.code == "E0302"), "{:?}", d.items);
    }
}
