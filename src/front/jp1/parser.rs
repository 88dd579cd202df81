//! The unit tree: `unit=NAME,perm,user,group; { key=value; … unit=…; { … } }`.
//!
//! The parser keeps every parameter, known or not, in source order with its span, so that
//! lowering can map it or report it. It recovers at `;` and `}` to report many errors per
//! run, and bounds its recursion so hostile input cannot overflow the stack.

use super::lexer::{Lexer, Tok, Token};
use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use std::fmt;

/// Deeper nesting than any real export (JP1 allows about 30 levels), and the spec
/// format's limit, so that lowering's recursion stays shallow and imports load back.
pub const MAX_DEPTH: usize = 64;

/// A parsed unit definition.
#[derive(Debug, Clone)]
pub struct UnitDef {
    pub name: String,
    pub name_span: Span,
    /// Permission mode, JP1 user and resource group, as written (often empty).
    pub attrs: Vec<String>,
    pub params: Vec<Param>,
    pub children: Vec<UnitDef>,
    /// The `unit` keyword.
    pub span: Span,
}

impl UnitDef {
    /// The last parameter with this key: a repeated single-valued key is overridden by
    /// its later occurrence (lowering warns about the repetition).
    pub fn get(&self, key: &str) -> Option<&Param> {
        self.params.iter().rev().find(|p| p.key == key)
    }

    /// The unit type code (`ty=`), if any.
    pub fn ty(&self) -> Option<&str> {
        self.get("ty").map(|p| p.value.first_text())
    }
}

/// One `key=value;` statement.
#[derive(Debug, Clone)]
pub struct Param {
    pub key: String,
    pub key_span: Span,
    pub value: Value,
}

/// A comma-separated value list.
#[derive(Debug, Clone)]
pub struct Value {
    pub items: Vec<Item>,
    pub span: Span,
}

impl Value {
    /// The text of the first item (empty when there is none).
    pub fn first_text(&self) -> &str {
        self.items.first().map(|i| i.text.as_str()).unwrap_or("")
    }

    /// The value as it could be written back (strings re-quoted and re-escaped).
    pub fn raw(&self) -> String {
        join(&self.items)
    }
}

/// One list element: text (bare or quoted), `key=value` inside a tuple, or a tuple.
#[derive(Debug, Clone, Default)]
pub struct Item {
    pub key: Option<String>,
    pub text: String,
    pub quoted: bool,
    pub tuple: Option<Vec<Item>>,
    pub span: Option<Span>,
}

impl Item {
    /// The value of `key=` inside this item's tuple.
    pub fn tuple_get(&self, key: &str) -> Option<&Item> {
        self.tuple
            .as_ref()?
            .iter()
            .find(|i| i.key.as_deref() == Some(key))
    }
}

fn join(items: &[Item]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = &self.key {
            write!(f, "{k}=")?;
        }
        if self.quoted {
            let esc = self.text.replace('#', "##").replace('"', "#\"");
            write!(f, "\"{esc}\"")?;
        } else {
            f.write_str(&self.text)?;
        }
        if let Some(t) = &self.tuple {
            write!(f, "({})", join(t))?;
        }
        Ok(())
    }
}

/// Parses a decoded file into its top-level units. Never fails: problems become
/// diagnostics and the units that could be read are returned.
pub fn parse(text: &str, file: FileId, diags: &mut Diagnostics) -> Vec<UnitDef> {
    let mut p = Parser::new(Lexer::new(text, file));
    let mut units = Vec::new();
    loop {
        match p.peek().clone() {
            Tok::Eof => break,
            Tok::Word(w) if w == "unit" && p.peek_at(1) == &Tok::Eq => {
                if let Some(u) = p.unit(0) {
                    units.push(u);
                }
            }
            _ => {
                let t = p.bump();
                p.unexpected(&t, "expected `unit=` at the top level");
                p.recover(true);
            }
        }
    }
    // Lexical errors first, as if the file had been tokenised before parsing.
    diags.extend(p.lexer.finish());
    diags.extend(p.diags);
    units
}

/// How many tokens the parser looks ahead (`unit` `=`, `key` `=`).
const LOOKAHEAD: usize = 2;

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The current token and the next; the last one is `Eof` once the input is read.
    ahead: std::collections::VecDeque<Token>,
    /// The line the previous token ended on.
    prev_end: u32,
    diags: Diagnostics,
}

/// The line a token ends on (quoted strings may span lines).
fn end_line(t: &Token) -> u32 {
    match &t.tok {
        Tok::Str(s) => {
            let n = u32::try_from(s.matches('\n').count()).unwrap_or(u32::MAX);
            t.span.line.saturating_add(n)
        }
        _ => t.span.line,
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LBrace => "`{`".into(),
        Tok::RBrace => "`}`".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Semi => "`;`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Eq => "`=`".into(),
        Tok::Word(w) => format!("`{}`", w.chars().take(40).collect::<String>()),
        Tok::Str(_) => "a quoted string".into(),
        Tok::Eof => "end of file".into(),
    }
}

impl<'a> Parser<'a> {
    fn new(lexer: Lexer<'a>) -> Parser<'a> {
        let mut p = Parser {
            lexer,
            ahead: std::collections::VecDeque::with_capacity(LOOKAHEAD),
            prev_end: 1,
            diags: Diagnostics::default(),
        };
        p.fill();
        p
    }

    /// Reads tokens until `LOOKAHEAD` are ahead or the last one is `Eof`.
    fn fill(&mut self) {
        while self.ahead.len() < LOOKAHEAD && self.ahead.back().is_none_or(|t| t.tok != Tok::Eof) {
            self.ahead.push_back(self.lexer.next_token());
        }
    }

    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    /// The token `n` ahead (`n < LOOKAHEAD`); `Eof` past the end.
    fn peek_at(&self, n: usize) -> &Tok {
        let i = n.min(self.ahead.len() - 1);
        &self.ahead[i].tok
    }

    fn cur(&self) -> &Token {
        &self.ahead[0]
    }

    /// Takes the current token; at the end, `Eof` stays current.
    fn bump(&mut self) -> Token {
        let t = if self.ahead[0].tok == Tok::Eof {
            self.ahead[0].clone()
        } else {
            self.ahead.pop_front().expect("a current token")
        };
        self.prev_end = end_line(&t);
        self.fill();
        t
    }

    fn unexpected(&mut self, t: &Token, what: &str) {
        self.diags.push(
            Diagnostic::error("E0304", format!("unexpected {}: {what}", describe(&t.tok)))
                .at(t.span)
                .hint("each statement is `key=value;`; units are `unit=NAME,,,; { … }`"),
        );
    }

    /// Skips to the next `;` (consumed) or `}` (consumed only at the top level).
    fn recover(&mut self, top: bool) {
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::Semi => {
                    self.bump();
                    return;
                }
                Tok::RBrace => {
                    if top {
                        self.bump();
                    }
                    return;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// `unit=NAME,…;` `{ body }`, with the cursor on `unit`.
    fn unit(&mut self, depth: usize) -> Option<UnitDef> {
        let kw = self.bump();
        self.bump(); // `=`
        let head = self.value(depth);
        let mut texts = head.items.iter().map(|i| i.text.clone());
        let name = texts.next().unwrap_or_default();
        let attrs: Vec<String> = texts.collect();
        let name_span = head.items.first().and_then(|i| i.span).unwrap_or(head.span);
        if name.is_empty() {
            self.diags.push(
                Diagnostic::error("E0306", "unit without a name")
                    .at(kw.span)
                    .hint("write `unit=NAME,,,;`"),
            );
        }
        if self.peek() == &Tok::Semi {
            self.bump();
        } else {
            let t = self.cur().clone();
            self.unexpected(&t, "expected `;` after the unit name");
        }
        let mut unit = UnitDef {
            name,
            name_span,
            attrs,
            params: Vec::new(),
            children: Vec::new(),
            span: kw.span,
        };
        if self.peek() != &Tok::LBrace {
            self.diags.push(
                Diagnostic::error("E0306", format!("unit `{}` has no body", unit.name))
                    .at(self.cur().span)
                    .hint("follow `unit=NAME,,,;` with `{ ty=…; … }`"),
            );
            return Some(unit);
        }
        let open = self.bump();
        if depth >= MAX_DEPTH {
            self.diags.push(
                Diagnostic::error(
                    "E0307",
                    format!("units nested deeper than {MAX_DEPTH} levels"),
                )
                .at(open.span),
            );
            self.skip_block();
            return None;
        }
        loop {
            match self.peek().clone() {
                Tok::RBrace => {
                    self.bump();
                    return Some(unit);
                }
                Tok::Eof => {
                    self.diags.push(
                        Diagnostic::error("E0305", format!("unit `{}` is not closed", unit.name))
                            .at(open.span)
                            .hint("add the missing `}`"),
                    );
                    return Some(unit);
                }
                Tok::Word(w) if self.peek_at(1) == &Tok::Eq => {
                    if w == "unit" {
                        if let Some(child) = self.unit(depth + 1) {
                            unit.children.push(child);
                        }
                        continue;
                    }
                    let key = self.bump();
                    self.bump();
                    let value = self.value(depth);
                    match self.peek() {
                        Tok::Semi => {
                            self.bump();
                        }
                        _ => {
                            let t = self.cur().clone();
                            self.unexpected(&t, &format!("expected `;` after `{w}=`"));
                            self.recover(false);
                        }
                    }
                    unit.params.push(Param {
                        key: w,
                        key_span: key.span,
                        value,
                    });
                }
                _ => {
                    let t = self.bump();
                    self.unexpected(&t, "expected `key=value;`, `unit=` or `}`");
                    self.recover(false);
                }
            }
        }
    }

    /// Skips a balanced `{ … }` whose `{` was consumed.
    fn skip_block(&mut self) {
        let mut level = 1usize;
        loop {
            match self.bump().tok {
                Tok::LBrace => level += 1,
                Tok::RBrace => {
                    level -= 1;
                    if level == 0 {
                        return;
                    }
                }
                Tok::Eof => return,
                _ => {}
            }
        }
    }

    /// A comma list up to `;`, `{`, `}` or the end of the file.
    fn value(&mut self, depth: usize) -> Value {
        let span = self.cur().span;
        let mut items = vec![Item::default()];
        loop {
            // Bare values never continue on a new line: a token there means a missing `;`.
            let prev = self.prev_end;
            if self.cur().span.line > prev && self.peek() != &Tok::Eof {
                break;
            }
            match self.peek() {
                Tok::Semi | Tok::LBrace | Tok::RBrace | Tok::Eof => break,
                Tok::Comma => {
                    self.bump();
                    items.push(Item::default());
                }
                Tok::RParen => {
                    let t = self.bump();
                    self.unexpected(&t, "`)` without `(`");
                }
                _ => {
                    let last = items.len() - 1;
                    self.piece(&mut items[last], depth, false);
                }
            }
        }
        if items.len() == 1 && items[0].span.is_none() {
            items.clear();
        }
        Value { items, span }
    }

    /// Adds one token (or a whole tuple) to the current element.
    fn piece(&mut self, item: &mut Item, depth: usize, in_tuple: bool) {
        let t = self.bump();
        let first = item.span.is_none();
        if first {
            item.span = Some(t.span);
        }
        let sep = if !first && t.space_before { " " } else { "" };
        match t.tok {
            Tok::Word(w) => {
                if in_tuple && item.key.is_none() && first && self.peek() == &Tok::Eq {
                    self.bump();
                    item.key = Some(w);
                    item.span = None;
                    return;
                }
                item.text.push_str(sep);
                item.text.push_str(&w);
            }
            Tok::Str(s) => {
                item.text.push_str(sep);
                item.text.push_str(&s);
                item.quoted = true;
            }
            Tok::Eq => item.text.push('='),
            Tok::LParen => {
                if depth >= MAX_DEPTH {
                    self.diags.push(
                        Diagnostic::error("E0307", "parentheses nested too deeply").at(t.span),
                    );
                    return;
                }
                item.tuple = Some(self.tuple(t.span, depth + 1));
            }
            _ => {}
        }
    }

    /// The elements of `( … )` whose `(` was consumed.
    fn tuple(&mut self, open: Span, depth: usize) -> Vec<Item> {
        let mut items = vec![Item::default()];
        loop {
            match self.peek() {
                Tok::RParen => {
                    self.bump();
                    break;
                }
                Tok::Semi | Tok::LBrace | Tok::RBrace | Tok::Eof => {
                    self.diags.push(
                        Diagnostic::error("E0304", "unclosed `(`")
                            .at(open)
                            .hint("close the list with `)`, e.g. `ar=(f=A,t=B,seq);`"),
                    );
                    break;
                }
                Tok::Comma => {
                    self.bump();
                    items.push(Item::default());
                }
                _ => {
                    let last = items.len() - 1;
                    self.piece(&mut items[last], depth, true);
                }
            }
        }
        if items.len() == 1 && items[0].span.is_none() && items[0].key.is_none() {
            items.clear();
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<UnitDef> {
        let mut d = Diagnostics::default();
        let u = parse(text, FileId(0), &mut d);
        assert!(d.items.is_empty(), "{:?}", d.items);
        u
    }

    #[test]
    fn whole_tree_on_one_line() {
        let u = parse_ok("unit=g,,admin,;{ty=g;unit=n,,,;{ty=n;ar=(f=a,t=b,con);}}");
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].attrs, vec!["", "admin", ""]);
        let n = &u[0].children[0];
        assert_eq!(n.ty(), Some("n"));
        let ar = &n.get("ar").unwrap().value.items[0];
        assert_eq!(ar.tuple_get("f").unwrap().text, "a");
        assert_eq!(ar.tuple_get("t").unwrap().text, "b");
        assert_eq!(ar.tuple.as_ref().unwrap()[2].text, "con");
    }

    #[test]
    fn lists_spaces_quotes_and_raw() {
        let u = parse_ok(
            "unit=x,,,;{el=a,pj,+240 +144;mladr=to:\"a@b\";cy=1,(9,y);xx=A,HAS SPACE,\"Q#\"\",();}",
        );
        let p = &u[0].params;
        assert_eq!(p[0].value.items[2].text, "+240 +144");
        assert_eq!(p[1].value.items[0].text, "to:a@b");
        assert!(p[1].value.items[0].quoted);
        assert_eq!(p[2].value.items[1].tuple.as_ref().unwrap()[1].text, "y");
        assert_eq!(p[3].value.raw(), "A,HAS SPACE,\"Q#\"\",()");
    }

    #[test]
    fn errors_recover_and_carry_positions() {
        let mut d = Diagnostics::default();
        let u = parse(
            "unit=a,,,;\n{\n  ty=n\n  = oops;\n  cm=\"ok\";\n  unit=b,,,;\n  {\n    ty=j;\n",
            FileId(0),
            &mut d,
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].children.len(), 1);
        assert!(u[0].get("cm").is_some());
        let codes: Vec<_> = d
            .items
            .iter()
            .map(|d| (d.code, d.span.unwrap().line, d.span.unwrap().col))
            .collect();
        assert!(codes.contains(&("E0304", 4, 3)), "{codes:?}");
        assert!(codes.contains(&("E0305", 7, 3)), "{codes:?}");
        assert!(codes.contains(&("E0305", 2, 1)), "{codes:?}");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "unit=a,,,;{".repeat(5000);
        let mut d = Diagnostics::default();
        let u = parse(&text, FileId(0), &mut d);
        assert_eq!(u.len(), 1);
        assert!(d.items.iter().any(|d| d.code == "E0307"));
        let parens = format!("unit=a,,,;{{x={};}}", "(".repeat(5000));
        let mut d = Diagnostics::default();
        parse(&parens, FileId(0), &mut d);
        assert!(d.has_errors());
    }
}
