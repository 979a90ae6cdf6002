//! Number literals: Go's `parse.newNumber` on top of `strconv.ParseUint/ParseInt/ParseFloat`
//! with base 0 (prefixes `0x`, `0o`, `0b`, a leading `0` for octal, `_` separators).
//!
//! A literal gets every interpretation that succeeds (int, uint, float), because the executor
//! picks one by the parameter type it is passed to, as Go does.

use super::super::gofmt::quote::quote;
use super::super::gofmt::quote::unquote_char;
use super::ast::Number;

/// Go's `strconv.underscoreOK`.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let b = if matches!(b.first(), Some(b'-' | b'+')) {
        &b[1..]
    } else {
        b
    };
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&c.to_ascii_lowercase())) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, 0, 64)`.
pub fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (base, digits) = if let Some(r) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = s.strip_prefix("0o").or(s.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = s.strip_prefix("0b").or(s.strip_prefix("0B")) {
        (2, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let mut v: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(base)?;
        v = v.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
        any = true;
    }
    if !any && base != 8 {
        return None;
    }
    Some(v)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(body)?;
    if neg {
        if u > 1u64 << 63 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body.strip_prefix("0x").or(body.strip_prefix("0X"))?;
    let (mant, exp) = body.split_once(['p', 'P'])?;
    let exp: i32 = exp.replace('_', "").parse().ok()?;
    let (int_part, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    let mut frac_digits = 0;
    let mut any = false;
    for c in int_part.chars().chain(frac.chars().inspect(|_| {})) {
        if c == '_' {
            continue;
        }
        v = v * 16.0 + f64::from(c.to_digit(16)?);
        any = true;
    }
    for c in frac.chars() {
        if c != '_' {
            frac_digits += 1;
        }
    }
    if !any {
        return None;
    }
    let r = v * 2f64.powi(exp - 4 * frac_digits);
    Some(if neg { -r } else { r })
}

/// `strconv.ParseFloat(s, 64)`, failing on out-of-range values as Go does.
pub fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let f = if unsigned.starts_with("0x") {
        parse_hex_float(s)?
    } else {
        let clean = s.replace('_', "");
        if !clean
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        clean.parse::<f64>().ok()?
    };
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// Go's `parse.newNumber`: `Err` carries Go's message.
pub fn new_number(
    pos: usize,
    text: &str,
    is_char: bool,
    is_complex: bool,
) -> Result<Number, String> {
    let mut n = Number {
        pos,
        text: text.to_string(),
        ..Number::default()
    };
    if is_char {
        let inner = text.get(1..).unwrap_or("");
        let (c, tail) = unquote_char(inner, '\'').map_err(|_| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = c as u32;
        n.int64 = i64::from(v);
        n.uint64 = u64::from(v);
        n.float64 = f64::from(v);
        n.is_int = true;
        n.is_uint = true;
        n.is_float = true;
        return Ok(n);
    }
    if is_complex || (text.ends_with('i') && parse_float(&text[..text.len() - 1]).is_some()) {
        n.is_complex = true;
        return Ok(n);
    }
    let u = parse_uint(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint64 = u;
    }
    if let Some(i) = parse_int(text) {
        n.is_int = true;
        n.int64 = i;
        if i == 0 {
            n.is_uint = true;
            n.uint64 = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float64 = n.int64 as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float64 = n.uint64 as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text)));
        }
        n.is_float = true;
        n.float64 = f;
        if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) {
            n.is_int = true;
            n.int64 = f as i64;
        }
        if f.fract() == 0.0 && (0.0..1.8446744073709552e19).contains(&f) {
            n.is_uint = true;
            n.uint64 = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", quote(text)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_integer_forms() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(parse_int("0o17"), Some(15));
        assert_eq!(parse_int("0b101"), Some(5));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_int("08"), None);
        assert_eq!(parse_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_float("1e3"), Some(1000.0));
    }

    #[test]
    fn classifies_literals() {
        let n = new_number(0, "2.0", false, false).unwrap_or_default();
        assert!(n.is_int && n.is_float && n.int64 == 2);
        assert_eq!(
            new_number(0, "08", false, false).err().as_deref(),
            Some("integer overflow: \"08\"")
        );
    }
}
