//! Go's `encoding/json` as sprig uses it: `Marshal`, `MarshalIndent`, an `Encoder` without
//! HTML escaping, and `Unmarshal` into `interface{}`.
//!
//! Output matches Go 1.19 byte for byte: map keys sorted, `<`, `>`, `&` escaped as `\u003c`
//! etc. unless raw, U+2028/U+2029 always escaped, control characters other than `\n` `\r` `\t`
//! as `\u00XX`, floats in the shortest form with Go's `e` cut-offs (< 1e-6 or >= 1e21).
//! Errors carry Go's messages: unsupported types/values when encoding, the scanner's
//! `invalid character ...` texts when decoding. Decoding is iterative over the input but
//! recursive over nesting, so nesting depth is capped ([`MAX_DEPTH`], Go allows 10000).

use std::collections::BTreeMap;

use super::super::value::{format_float_g, ElemKind, MapKind, Value};

/// The deepest nesting `fromJson` accepts (Go's decoder allows 10000; we stop earlier to
/// keep recursion bounded on a small stack).
const MAX_DEPTH: usize = 1000;

/// Encodes `v` as Go's `json.Marshal` (escape_html) or an `Encoder` with `SetEscapeHTML(false)`.
pub(crate) fn encode(v: &Value, escape_html: bool, indent: bool) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, escape_html, if indent { Some(0) } else { None })?;
    Ok(out)
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_value(
    out: &mut String,
    v: &Value,
    html: bool,
    level: Option<usize>,
) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float(*f)?),
        Value::Str(s) => write_string(out, s, html),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(n) = level {
                    newline(out, n + 1);
                }
                write_value(out, item, html, level.map(|n| n + 1))?;
            }
            if let (Some(n), false) = (level, l.items.is_empty()) {
                newline(out, n);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.kind == MapKind::AnyAny {
                return Err("json: unsupported type: map[interface {}]interface {}".into());
            }
            out.push('{');
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(n) = level {
                    newline(out, n + 1);
                }
                write_string(out, k, html);
                out.push(':');
                if level.is_some() {
                    out.push(' ');
                }
                write_value(out, item, html, level.map(|n| n + 1))?;
            }
            if let (Some(n), false) = (level, m.entries.is_empty()) {
                newline(out, n);
            }
            out.push('}');
        }
        Value::Object(o) => {
            // `*semver.Version` marshals as its string; other objects are field-less structs.
            if o.go_type() == "*semver.Version" {
                write_string(out, &v.to_go_string(), html);
            } else {
                out.push_str("{}");
            }
        }
    }
    Ok(())
}

/// Go's float encoding: `strconv` shortest form, `e` notation outside [1e-6, 1e21).
fn float(f: f64) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        return Err(format!("json: unsupported value: {}", format_float_g(f)));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{:e}", f);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        let digits = if digits.len() < 2 && sign == '+' {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        return Ok(format!("{m}e{sign}{digits}"));
    }
    // Plain decimal: Rust's `{}` prints f64 in shortest round-trip digits without exponent.
    Ok(format!("{}", f))
}

fn write_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes JSON text as Go's `json.Unmarshal` into an `interface{}`.
pub(crate) fn decode(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        b: text.as_bytes(),
        s: text,
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if let Some(c) = p.peek_char() {
        return Err(format!("invalid character {} after top-level value", quote_char(c)));
    }
    Ok(v)
}

/// Go's `quoteChar` for scanner errors.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = super::conv::go_quote(&c.to_string());
            format!("'{}'", q.get(1..q.len() - 1).unwrap_or(""))
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

const EOF: &str = "unexpected end of JSON input";

impl Parser<'_> {
    fn peek_char(&self) -> Option<char> {
        self.s.get(self.i..).and_then(|r| r.chars().next())
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn err(&self, context: &str) -> String {
        match self.peek_char() {
            None => EOF.into(),
            Some(c) => format!("invalid character {} {context}", quote_char(c)),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("exceeded max depth of {MAX_DEPTH}"));
        }
        match self.b.get(self.i) {
            None => Err(EOF.into()),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::str(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (k, expect) in word.bytes().enumerate() {
            if k == 0 {
                self.i += 1;
                continue;
            }
            match self.b.get(self.i) {
                Some(c) if *c == expect => self.i += 1,
                _ => {
                    return Err(self.err(&format!(
                        "in literal {word} (expecting {})",
                        quote_char(char::from(expect))
                    )))
                }
            }
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return Err(self.err("in numeric literal"));
            }
        }
        if self.b.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("after decimal point in numeric literal"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("in exponent of numeric literal"));
            }
        }
        let text = self.s.get(start..self.i).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            )),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = self.b.get(self.i).and_then(|c| char::from(*c).to_digit(16));
            match d {
                Some(d) => {
                    n = n * 16 + d;
                    self.i += 1;
                }
                None => return Err(self.err("in \\u hexadecimal character escape")),
            }
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(EOF.into());
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.i += 1;
                    let Some(e) = self.peek_char() else {
                        return Err(EOF.into());
                    };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '/' => Some('/'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        'u' => None,
                        _ => return Err(self.err("in string escape code")),
                    };
                    self.i += 1;
                    if let Some(ch) = simple {
                        out.push(ch);
                        continue;
                    }
                    let hi = self.hex4()?;
                    if (0xd800..0xdc00).contains(&hi)
                        && self.b.get(self.i..self.i + 2) == Some(b"\\u")
                    {
                        let save = self.i;
                        self.i += 2;
                        let lo = self.hex4()?;
                        if (0xdc00..0xe000).contains(&lo) {
                            let cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                            continue;
                        }
                        self.i = save;
                    }
                    out.push(char::from_u32(hi).unwrap_or('\u{fffd}'));
                }
                c if (c as u32) < 0x20 => return Err(self.err("in string literal")),
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::list(ElemKind::Any, items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(ElemKind::Any, items));
                }
                _ => return Err(self.err("after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut entries = BTreeMap::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::map(MapKind::StringAny, entries));
        }
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("after object key"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            entries.insert(key, v);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::map(MapKind::StringAny, entries));
                }
                _ => return Err(self.err("after object key:value pair")),
            }
        }
    }
}
