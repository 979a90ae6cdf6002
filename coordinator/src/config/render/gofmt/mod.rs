//! Go's `fmt` over template values: `Sprint`, `Sprintln` and `Sprintf`.
//!
//! `print`, `printf` and `println` (and sprig's functions built on them) must produce Go's
//! bytes, including its error forms: `%!d(string=x)` for a verb that does not suit the value,
//! `%!s(MISSING)`, `%!(EXTRA int=1)`, `%!(BADINDEX)`, `%!(NOVERB)`. The printer mirrors
//! `fmt/print.go`: flags persist while a composite value prints its elements with the same
//! verb, and a nil element of an `interface {}` container prints `<nil>` whatever the verb.
//!
//! Not covered: `%p` (addresses) and `%b`/`%x` on floats print as bad verbs.

pub mod float;
mod printf;
pub mod quote;

pub use printf::sprintf;

use std::fmt::Write as _;

use super::value::{ElemKind, MapKind, Value};
use float::format_float;

#[derive(Default, Clone)]
pub(super) struct Flags {
    pub(super) sharp: bool,
    pub(super) zero: bool,
    pub(super) plus: bool,
    pub(super) minus: bool,
    pub(super) space: bool,
    pub(super) sharp_v: bool,
    pub(super) plus_v: bool,
    pub(super) wid: Option<usize>,
    pub(super) prec: Option<usize>,
}

#[derive(Default)]
pub(super) struct Printer {
    pub(super) buf: String,
    pub(super) f: Flags,
}

/// `fmt.Sprint`: operands joined, with a space between two operands neither of which is a
/// string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln`: operands joined by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `%v` of one value, as `fmt.Sprint` prints it.
pub fn sprint_one(v: &Value) -> String {
    sprint(std::slice::from_ref(v))
}

fn type_name(v: &Value) -> String {
    v.go_type()
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        for _ in 0..n {
            self.buf.push(c);
        }
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|w| *w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let width = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.buf.push_str(s);
        }
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(n) => match s.char_indices().nth(n) {
                Some((i, _)) => &s[..i],
                None => s,
            },
            None => s,
        }
    }

    fn bad_verb(&mut self, verb: char, v: Option<&Value>) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Some(v) if !matches!(v, Value::Nil) => {
                self.buf.push_str(&type_name(v));
                self.buf.push('=');
                let saved = std::mem::take(&mut self.f);
                self.print_arg(v, 'v');
                self.f = saved;
            }
            _ => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
    }

    pub(super) fn print_arg(&mut self, v: &Value, verb: char) {
        if let Value::Nil = v {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, None),
            }
            return;
        }
        if verb == 'T' {
            let t = type_name(v);
            let t = self.truncate(&t).to_string();
            self.pad(&t);
            return;
        }
        self.print_value(v, verb, 0);
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        match v {
            Value::Nil => {
                // A nil element inside an interface container.
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_integer(*i, verb, v),
            Value::Float(f) => self.fmt_float(*f, verb, v),
            Value::Str(s) => self.fmt_string(s, verb, v),
            Value::List(l) => {
                if self.f.sharp_v {
                    self.buf.push_str(&type_name(v));
                    self.buf.push('{');
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_elem(item, l.kind == ElemKind::Any, verb, depth);
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.print_elem(item, l.kind == ElemKind::Any, verb, depth);
                    }
                    self.buf.push(']');
                }
            }
            Value::Map(m) => {
                let m = m.borrow();
                let iface_keys = m.kind == MapKind::AnyAny;
                let iface_vals = m.kind != MapKind::StringString;
                if self.f.sharp_v {
                    self.buf.push_str(&type_name(v));
                    self.buf.push('{');
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, item)) in m.entries.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.push_str(", ");
                        } else {
                            self.buf.push(' ');
                        }
                    }
                    self.print_elem(&Value::str(k.as_str()), iface_keys, verb, depth);
                    self.buf.push(':');
                    self.print_elem(item, iface_vals, verb, depth);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => {
                // Go's fmt calls a `String() string` method (Stringer) for %v %s %x %X %q,
                // as it does for time.Time and semver versions.
                if !self.f.sharp_v && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
                    let stringer = o.method("String").filter(|f| f.params.is_empty());
                    if let Some(Ok(Value::Str(text))) = stringer.map(|f| (f.call)(Vec::new())) {
                        self.print_value(&Value::Str(text), verb, depth);
                        return;
                    }
                }
                if self.f.sharp_v {
                    self.buf.push_str(&o.go_type());
                }
                self.buf.push_str("{}");
            }
        }
    }

    fn print_elem(&mut self, v: &Value, iface: bool, verb: char, depth: usize) {
        if iface && matches!(v, Value::Nil) {
            if self.f.sharp_v {
                self.buf.push_str("interface {}(nil)");
            } else {
                self.buf.push_str("<nil>");
            }
            return;
        }
        self.print_value(v, verb, depth + 1);
    }

    fn fmt_integer(&mut self, i: i64, verb: char, v: &Value) {
        match verb {
            'v' | 'd' => self.fmt_int_base(i, 10, verb, false),
            'b' => self.fmt_int_base(i, 2, verb, false),
            'o' | 'O' => self.fmt_int_base(i, 8, verb, false),
            'x' => self.fmt_int_base(i, 16, verb, false),
            'X' => self.fmt_int_base(i, 16, verb, true),
            'c' => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let q = quote::quote_rune(i, self.f.plus);
                self.pad(&q);
            }
            'U' => {
                let u = i as u64;
                let mut s = format!("{:X}", u);
                let prec = self.f.prec.filter(|p| *p > 4).unwrap_or(4);
                while s.len() < prec {
                    s.insert(0, '0');
                }
                s.insert_str(0, "U+");
                if self.f.sharp {
                    if let Some(c) = u32::try_from(u).ok().and_then(char::from_u32) {
                        if quote::is_print(c) {
                            s.push_str(&format!(" '{c}'"));
                        }
                    }
                }
                let old = self.f.zero;
                self.f.zero = false;
                self.pad(&s);
                self.f.zero = old;
            }
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_int_base(&mut self, i: i64, base: u32, verb: char, upper: bool) {
        let negative = i < 0;
        let u = i.unsigned_abs();
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && self.f.wid.is_some() {
            prec = self.f.wid.unwrap_or(0);
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match base {
            2 => format!("{u:b}"),
            8 => format!("{u:o}"),
            16 if upper => format!("{u:X}"),
            16 => format!("{u:x}"),
            _ => u.to_string(),
        };
        while digits.len() < prec {
            digits.insert(0, '0');
        }
        if self.f.sharp {
            match base {
                2 => digits.insert_str(0, "0b"),
                8 if !digits.starts_with('0') => digits.insert(0, '0'),
                16 => digits.insert_str(0, if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            digits.insert_str(0, "0o");
        }
        if negative {
            digits.insert(0, '-');
        } else if self.f.plus {
            digits.insert(0, '+');
        } else if self.f.space {
            digits.insert(0, ' ');
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&digits);
        self.f.zero = old;
    }

    fn fmt_float(&mut self, x: f64, verb: char, v: &Value) {
        let (fmt, default_prec) = match verb {
            'v' => ('g', -1),
            'g' | 'G' => (verb, -1),
            'f' | 'e' | 'E' => (verb, 6),
            'F' => ('f', 6),
            _ => return self.bad_verb(verb, Some(v)),
        };
        let prec = self.f.prec.map_or(default_prec, |p| p as i32);
        let mut num = format_float(x, fmt, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.sharp {
            let mut digits: i64 = match verb {
                'v' | 'g' | 'G' => {
                    if prec == -1 {
                        6
                    } else {
                        i64::from(prec)
                    }
                }
                _ => 0,
            };
            let (body, tail) = match num.find(['e', 'E']) {
                Some(i) => (num[..i].to_string(), num[i..].to_string()),
                None => (num.clone(), String::new()),
            };
            let mut body = body;
            let has_point = body.contains('.');
            let mut saw_nonzero = false;
            for c in body[1..].chars() {
                if c == '.' {
                    continue;
                }
                if c != '0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
            if !has_point {
                if body.len() == 2 && body.ends_with('0') {
                    digits -= 1;
                }
                body.push('.');
            }
            while digits > 0 {
                body.push('0');
                digits -= 1;
            }
            num = body + &tail;
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero && self.f.wid.is_some_and(|w| w > num.chars().count()) {
                let w = self.f.wid.unwrap_or(0);
                let n = num.chars().count();
                self.buf.push_str(&num[..1]);
                self.write_padding(w - n);
                self.buf.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => {
                let t = self.truncate(s).to_string();
                self.pad(&t);
            }
            'x' | 'X' => self.fmt_sx(s, verb == 'X'),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s).to_string();
        if self.f.sharp && quote::can_backquote(&s) {
            self.pad(&format!("`{s}`"));
            return;
        }
        let q = quote::quote_with(&s, self.f.plus);
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let bytes = s.as_bytes();
        let length = self.f.prec.map_or(bytes.len(), |p| p.min(bytes.len()));
        let mut width = 2 * length;
        if width == 0 {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        let prefix = if upper { "0X" } else { "0x" };
        if self.f.sharp {
            self.buf.push_str(prefix);
        }
        for (i, b) in bytes.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push_str(prefix);
                }
            }
            // Written in place, not through a `format!` per byte.
            let _ = if upper {
                write!(self.buf, "{b:02X}")
            } else {
                write!(self.buf, "{b:02x}")
            };
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn sprintf_matches_go() {
        // Expected strings printed by Go 1.19's fmt.Sprintf with the same operands.
        assert_eq!(
            sprintf(
                "%d|%5d|%-5d|%05d|%x|%X|%o|%b",
                &[
                    Value::Int(42),
                    Value::Int(42),
                    Value::Int(42),
                    Value::Int(-42),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "42|   42|42   |-0042|ff|FF|10|101"
        );
        assert_eq!(
            sprintf(
                "%s %q %v %5.2f %e %g",
                &[
                    s("a"),
                    s("b\n"),
                    Value::Bool(true),
                    Value::Float(3.25159),
                    Value::Float(1234.5),
                    Value::Float(0.00001)
                ]
            ),
            "a \"b\\n\" true  3.25 1.234500e+03 1e-05"
        );
        assert_eq!(sprintf("%d", &[s("x")]), "%!d(string=x)");
        assert_eq!(sprintf("%s %s", &[s("x")]), "x %!s(MISSING)");
        assert_eq!(sprintf("%s", &[s("x"), Value::Int(1)]), "x%!(EXTRA int=1)");
        assert_eq!(sprintf("%[2]s %[1]s", &[s("a"), s("b")]), "b a");
        assert_eq!(sprintf("%!", &[]), "%!!(MISSING)");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(sprintf("%d", &[Value::Nil]), "%!d(<nil>)");
        assert_eq!(sprintf("%T %T", &[Value::Int(1), s("a")]), "int string");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), s("a"), Value::Int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[s("a"), Value::Int(1)]), "a 1\n");
    }
}
