//! The template lexer: turns template text into items, as Go 1.19's `text/template/parse`
//! lexer does.
//!
//! Go's lexer runs as a goroutine feeding the parser one item at a time; since it never looks
//! at what the parser does (the only feedback, `break`/`continue` being functions, cannot
//! happen: no function of ours has those names), lexing everything up front and stopping at the
//! first error item is equivalent. The parser meets a lexing error exactly when Go's would.
//!
//! Invariants: item positions are byte offsets into the input; `line` is the 1-based line
//! where the item starts, counted with Go's exact rules (including its quirks around trim
//! markers), because parse errors quote it. The item list always ends with `Eof` or `Error`.

use super::gofmt::quote::{quote, quote_rune_hash_u};

/// The kind of a lexed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemType {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

/// One lexed item.
#[derive(Clone, Debug)]
pub struct Item {
    pub typ: ItemType,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl Item {
    /// How Go's `item.String()` shows the item in parse errors.
    pub fn describe(&self) -> String {
        match self.typ {
            ItemType::Eof => "EOF".into(),
            ItemType::Error => self.val.clone(),
            t if t.is_keyword() => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                format!("{}...", quote(&head))
            }
            _ => quote(&self.val),
        }
    }
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    at_eof: bool,
    paren_depth: i64,
    line: usize,
    start_line: usize,
    items: Vec<Item>,
}

/// Lexes the whole input. The result always ends with an `Eof` or an `Error` item.
pub fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        at_eof: false,
        paren_depth: 0,
        line: 1,
        start_line: 1,
        items: Vec::new(),
    };
    let mut state = Some(State::Text);
    while let Some(s) = state {
        state = l.step(s);
    }
    l.items
}

fn is_space(r: Option<char>) -> bool {
    matches!(r, Some(' ' | '\t' | '\r' | '\n'))
}

fn is_alnum(r: Option<char>) -> bool {
    matches!(r, Some(c) if c == '_' || c.is_alphabetic() || is_go_digit(c))
}

/// Go's `unicode.IsDigit`: decimal digits (category Nd).
fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && is_unicode_nd(c))
}

fn is_unicode_nd(c: char) -> bool {
    // Go's IsDigit is category Nd only. Decimal digit blocks are runs of ten code points
    // starting at a zero; this covers the common scripts (others count as non-digits).
    const ZEROS: [u32; 12] = [
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0xFF10,
    ];
    let u = c as u32;
    ZEROS.iter().any(|z| u >= *z && u < z + 10)
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && matches!(b[1], b' ' | b'\t' | b'\r' | b'\n')
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && matches!(b[0], b' ' | b'\t' | b'\r' | b'\n') && b[1] == b'-'
}

fn trim_right_len(s: &str) -> usize {
    s.len() - s.trim_end_matches([' ', '\t', '\r', '\n']).len()
}

fn trim_left_len(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t', '\r', '\n']).len()
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn next(&mut self) -> Option<char> {
        let Some(c) = self.rest().chars().next() else {
            self.at_eof = true;
            return None;
        };
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self) {
        if !self.at_eof && self.pos > 0 {
            if let Some(c) = self
                .input
                .get(..self.pos)
                .and_then(|s| s.chars().next_back())
            {
                self.pos -= c.len_utf8();
                if c == '\n' {
                    self.line -= 1;
                }
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let r = self.next();
        self.backup();
        r
    }

    fn emit(&mut self, typ: ItemType) {
        let val = self
            .input
            .get(self.start..self.pos)
            .unwrap_or("")
            .to_string();
        self.items.push(Item {
            typ,
            pos: self.start,
            val,
            line: self.start_line,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        let skipped = self.input.get(self.start..self.pos).unwrap_or("");
        self.line += skipped.matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while matches!(self.next(), Some(c) if valid.contains(c)) {}
        self.backup();
    }

    fn errorf(&mut self, msg: String) -> Option<State> {
        self.items.push(Item {
            typ: ItemType::Error,
            pos: self.start,
            val: msg,
            line: self.start_line,
        });
        None
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest.get(2..).is_some_and(|r| r.starts_with(RIGHT)) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn at_terminator(&mut self) -> bool {
        let r = self.peek();
        if is_space(r) {
            return true;
        }
        match r {
            None | Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn step(&mut self, state: State) -> Option<State> {
        match state {
            State::Text => self.lex_text(),
            State::LeftDelim => self.lex_left_delim(),
            State::Comment => self.lex_comment(),
            State::RightDelim => self.lex_right_delim(),
            State::InsideAction => self.lex_inside_action(),
            State::Space => self.lex_space(),
            State::Identifier => self.lex_identifier(),
            State::Field => self.lex_field_or_variable(ItemType::Field),
            State::Variable => {
                if self.at_terminator() {
                    self.emit(ItemType::Variable);
                    return Some(State::InsideAction);
                }
                self.lex_field_or_variable(ItemType::Variable)
            }
            State::Char => self.lex_quoted('\'', "unterminated character constant"),
            State::Number => self.lex_number(),
            State::Quote => self.lex_quoted('"', "unterminated quoted string"),
            State::RawQuote => self.lex_raw_quote(),
        }
    }

    fn lex_text(&mut self) -> Option<State> {
        if let Some(x) = self.rest().find(LEFT) {
            self.pos += x;
            let after = self.input.get(self.pos + LEFT.len()..).unwrap_or("");
            let trim = if has_left_trim_marker(after) {
                trim_right_len(self.input.get(self.start..self.pos).unwrap_or(""))
            } else {
                0
            };
            self.pos -= trim;
            if self.pos > self.start {
                let text = self.input.get(self.start..self.pos).unwrap_or("");
                self.line += text.matches('\n').count();
                self.emit(ItemType::Text);
            }
            self.pos += trim;
            self.ignore();
            return Some(State::LeftDelim);
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            let text = self.input.get(self.start..self.pos).unwrap_or("");
            self.line += text.matches('\n').count();
            self.emit(ItemType::Text);
        }
        self.emit(ItemType::Eof);
        None
    }

    fn lex_left_delim(&mut self) -> Option<State> {
        self.pos += LEFT.len();
        let trim = has_left_trim_marker(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self
            .rest()
            .get(after_marker..)
            .is_some_and(|r| r.starts_with(LEFT_COMMENT))
        {
            self.pos += after_marker;
            self.ignore();
            return Some(State::Comment);
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        Some(State::InsideAction)
    }

    fn lex_comment(&mut self) -> Option<State> {
        self.pos += LEFT_COMMENT.len();
        let Some(i) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += i + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            self.pos += trim_left_len(self.rest());
        }
        self.ignore();
        Some(State::Text)
    }

    fn lex_right_delim(&mut self) -> Option<State> {
        let trim = has_right_trim_marker(self.rest());
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(ItemType::RightDelim);
        if trim {
            self.pos += trim_left_len(self.rest());
            self.ignore();
        }
        Some(State::Text)
    }

    fn lex_inside_action(&mut self) -> Option<State> {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return Some(State::RightDelim);
            }
            return self.errorf("unclosed left paren".into());
        }
        let r = self.next();
        match r {
            None => return self.errorf("unclosed action".into()),
            Some(' ' | '\t' | '\r' | '\n') => {
                self.backup();
                return Some(State::Space);
            }
            Some('=') => self.emit(ItemType::Assign),
            Some(':') => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(ItemType::Declare);
            }
            Some('|') => self.emit(ItemType::Pipe),
            Some('"') => return Some(State::Quote),
            Some('`') => return Some(State::RawQuote),
            Some('$') => return Some(State::Variable),
            Some('\'') => return Some(State::Char),
            Some('.') => {
                let next_is_digit = self
                    .input
                    .as_bytes()
                    .get(self.pos)
                    .is_some_and(|b| b.is_ascii_digit());
                if self.pos < self.input.len() && !next_is_digit {
                    return Some(State::Field);
                }
                self.backup();
                return Some(State::Number);
            }
            Some('+' | '-' | '0'..='9') => {
                self.backup();
                return Some(State::Number);
            }
            Some(c) if is_alnum(Some(c)) => {
                self.backup();
                return Some(State::Identifier);
            }
            Some('(') => {
                self.emit(ItemType::LeftParen);
                self.paren_depth += 1;
            }
            Some(')') => {
                self.emit(ItemType::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self
                        .errorf(format!("unexpected right paren {}", quote_rune_hash_u(')')));
                }
            }
            Some(c) if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemType::Char),
            Some(c) => {
                return self.errorf(format!(
                    "unrecognized character in action: {}",
                    quote_rune_hash_u(c)
                ))
            }
        }
        Some(State::InsideAction)
    }

    fn lex_space(&mut self) -> Option<State> {
        let mut spaces = 0;
        while is_space(self.peek()) {
            self.next();
            spaces += 1;
        }
        let tail = self.input.get(self.pos.saturating_sub(1)..).unwrap_or("");
        if has_right_trim_marker(tail) && tail.get(2..).is_some_and(|t| t.starts_with(RIGHT)) {
            self.backup();
            if spaces == 1 {
                return Some(State::RightDelim);
            }
        }
        self.emit(ItemType::Space);
        Some(State::InsideAction)
    }

    fn lex_identifier(&mut self) -> Option<State> {
        loop {
            let r = self.next();
            if is_alnum(r) {
                continue;
            }
            self.backup();
            let word = self
                .input
                .get(self.start..self.pos)
                .unwrap_or("")
                .to_string();
            if !self.at_terminator() {
                return self.bad_char(r);
            }
            match keyword(&word) {
                Some(k) => self.emit(k),
                None if word.starts_with('.') => self.emit(ItemType::Field),
                None if word == "true" || word == "false" => self.emit(ItemType::Bool),
                None => self.emit(ItemType::Identifier),
            }
            return Some(State::InsideAction);
        }
    }

    fn bad_char(&mut self, r: Option<char>) -> Option<State> {
        let shown = match r {
            Some(c) => quote_rune_hash_u(c),
            None => "U+FFFFFFFFFFFFFFFF".into(),
        };
        self.errorf(format!("bad character {shown}"))
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> Option<State> {
        if self.at_terminator() {
            self.emit(if typ == ItemType::Variable {
                ItemType::Variable
            } else {
                ItemType::Dot
            });
            return Some(State::InsideAction);
        }
        let r = loop {
            let r = self.next();
            if !is_alnum(r) {
                self.backup();
                break r;
            }
        };
        if !self.at_terminator() {
            return self.bad_char(r);
        }
        self.emit(typ);
        Some(State::InsideAction)
    }

    fn lex_quoted(&mut self, close: char, unterminated: &str) -> Option<State> {
        loop {
            match self.next() {
                Some('\\') => {
                    if !matches!(self.next(), None | Some('\n')) {
                        continue;
                    }
                    return self.errorf(unterminated.into());
                }
                None | Some('\n') => return self.errorf(unterminated.into()),
                Some(c) if c == close => break,
                _ => {}
            }
        }
        self.emit(if close == '"' {
            ItemType::String
        } else {
            ItemType::CharConstant
        });
        Some(State::InsideAction)
    }

    fn lex_raw_quote(&mut self) -> Option<State> {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString);
        Some(State::InsideAction)
    }

    fn lex_number(&mut self) -> Option<State> {
        if !self.scan_number() {
            let text = self
                .input
                .get(self.start..self.pos)
                .unwrap_or("")
                .to_string();
            return self.errorf(format!("bad number syntax: {}", quote(&text)));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input.get(..self.pos).is_some_and(|s| s.ends_with('i'))
            {
                let text = self
                    .input
                    .get(self.start..self.pos)
                    .unwrap_or("")
                    .to_string();
                return self.errorf(format!("bad number syntax: {}", quote(&text)));
            }
            self.emit(ItemType::Complex);
        } else {
            self.emit(ItemType::Number);
        }
        Some(State::InsideAction)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if is_alnum(self.peek()) {
            self.next();
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(ItemType, String)> {
        lex(s).into_iter().map(|i| (i.typ, i.val)).collect()
    }

    #[test]
    fn lexes_actions_and_trim_markers() {
        let items = kinds("a  {{- .x | f 1 -}}  b");
        let types: Vec<ItemType> = items.iter().map(|i| i.0).collect();
        use ItemType::*;
        assert_eq!(
            types,
            vec![
                Text, LeftDelim, Field, Space, Pipe, Space, Identifier, Space, Number, RightDelim,
                Text, Eof
            ]
        );
        assert_eq!(items[0].1, "a");
        assert_eq!(items[10].1, "b");
    }

    #[test]
    fn reports_lexing_errors() {
        let last = lex("{{ \"abc }}").pop().map(|i| i.val);
        assert_eq!(last.as_deref(), Some("unterminated quoted string"));
        let last = lex("{{ 3x }}").pop().map(|i| i.val);
        assert_eq!(last.as_deref(), Some("bad number syntax: \"3x\""));
    }
}
