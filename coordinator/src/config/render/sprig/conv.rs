//! Conversions shared by the sprig functions, and sprig's numeric conversion functions.
//!
//! sprig funnels almost every loosely typed argument through three helpers: `strval` (Go's
//! `fmt.Sprint` with `Stringer` support), and spf13/cast's `ToInt64`/`ToInt`/`ToFloat64`, which
//! never fail but fall back to 0. Those helpers live here so that every sibling module converts
//! the same way; the Go parsing rules they rely on (`strconv.ParseInt` with base 0,
//! `strconv.ParseFloat`, Go's float-to-int conversion, `strconv.Quote`) are reproduced here too.
//!
//! Invariants: nothing here panics on any input; on a 64-bit Go, `int` and `int64` are both
//! 64 bits, so `to_int` and `to_int64` agree.

use super::super::value::{ElemKind, Func, Ty, Value};

/// Go's `strval`: strings as they are, anything else as `fmt.Sprint` prints it.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.to_go_string(),
    }
}

/// spf13/cast `ToInt64` (errors become 0), as sprig's arithmetic uses it.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => go_float_to_int(*f),
        Value::Str(s) => parse_int(trim_zero_decimal(s), 0).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// spf13/cast `ToInt`; identical to [`to_int64`] on a 64-bit Go.
pub(crate) fn to_int(v: &Value) -> i64 {
    to_int64(v)
}

/// spf13/cast `ToFloat64` (errors become 0).
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => parse_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Go's `int64(f)` on amd64: truncation toward zero; NaN and out-of-range values give the
/// "integer indefinite" value `math.MinInt64`.
pub(crate) fn go_float_to_int(f: f64) -> i64 {
    // 2^63 is exactly representable; every finite f64 in [-2^63, 2^63) converts.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-TWO_63..TWO_63).contains(&f) {
        i64::MIN
    } else {
        f.trunc() as i64
    }
}

/// cast's `trimZeroDecimal`: "12.00" → "12" so that it parses as an integer.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return &s[..i],
            b'.' => return s,
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Go's `strconv.ParseInt(s, base, 64)`; base 0 reads the `0x`/`0o`/`0b`/`0` prefixes and
/// allows `_` separators. Returns None where Go returns an error.
pub(crate) fn parse_int(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = parse_uint(body, base)?;
    if neg {
        if mag > 1u64 << 63 {
            return None;
        }
        Some((mag as i64).wrapping_neg())
    } else if mag > i64::MAX as u64 {
        None
    } else {
        Some(mag as i64)
    }
}

/// Go's `strconv.ParseUint(s, base, 64)` without a sign.
fn parse_uint(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let (radix, digits, base0) = if base == 0 {
        if let Some(rest) = lower.strip_prefix("0x") {
            (16, rest, true)
        } else if let Some(rest) = lower.strip_prefix("0o") {
            (8, rest, true)
        } else if let Some(rest) = lower.strip_prefix("0b") {
            (2, rest, true)
        } else if lower.len() > 1 && lower.starts_with('0') {
            (8, &lower[1..], true)
        } else {
            (10, lower.as_str(), true)
        }
    } else {
        (base, lower.as_str(), false)
    };
    let mut n: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' && base0 {
            continue;
        }
        let d = c.to_digit(radix)?;
        n = n.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
        any = true;
    }
    let bare_octal_zero = base == 0 && lower.len() > 1 && lower.starts_with('0') && radix == 8;
    if !any && !bare_octal_zero {
        return None;
    }
    if base0 && s.contains('_') && !underscore_ok(s) {
        return None;
    }
    Some(n)
}

/// Go's `underscoreOK`: underscores only between digits or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms a template meets: decimal and exponent
/// notation, `inf`/`infinity`/`nan` in any case, and `_` separators where Go allows them.
/// Out-of-range values are an error in Go (`ErrRange`); so they are here.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if lower.len() - unsigned.len() > 1 {
        return None;
    }
    match unsigned {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if unsigned.starts_with("0x") {
        return None; // hex floats: not supported here (reported as not done)
    }
    let cleaned: String = if lower.contains('_') {
        if !underscore_ok(unsigned) {
            return None;
        }
        lower.chars().filter(|c| *c != '_').collect()
    } else {
        lower.clone()
    };
    let valid = cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'));
    if !valid || cleaned.is_empty() {
        return None;
    }
    let f: f64 = cleaned.parse().ok()?;
    if f.is_infinite() {
        return None;
    }
    Some(f)
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !is_go_print(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`: everything but controls, format characters,
/// non-space separators, private-use and noncharacters.
fn is_go_print(c: char) -> bool {
    let u = c as u32;
    !(matches!(u, 0x80..=0x9f | 0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x1680
        | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f | 0x3000 | 0xd800..=0xf8ff
        | 0xfeff | 0xfff9..=0xfffb | 0xfffe | 0xffff | 0xe0000..=0x10ffff))
}

/// A `[]string` value.
pub(crate) fn str_list(items: impl IntoIterator<Item = String>) -> Value {
    Value::list(
        ElemKind::String,
        items.into_iter().map(Value::str).collect(),
    )
}

/// The string argument at `i` (the engine has already converted it to a Go string).
pub(crate) fn arg_str(args: &[Value], i: usize) -> Result<&str, String> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        other => Err(format!("internal: argument {i} is not a string: {other:?}")),
    }
}

/// The integer argument at `i` (declared `int`/`int64`).
pub(crate) fn arg_int(args: &[Value], i: usize) -> Result<i64, String> {
    match args.get(i) {
        Some(Value::Int(n)) | Some(Value::Int64(n)) => Ok(*n),
        other => Err(format!("internal: argument {i} is not an int: {other:?}")),
    }
}

/// The argument at `i`, or nil.
pub(crate) fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::Nil)
}

/// sprig's `atoi`: Go's `strconv.Atoi` with the error dropped, so syntax errors give 0 and
/// out-of-range numbers the clamped value Go returns alongside its range error.
fn atoi(s: &str) -> i64 {
    if let Some(n) = parse_int(s, 10) {
        return n;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if s.starts_with('-') {
            return i64::MIN;
        }
        return i64::MAX;
    }
    0
}

/// Go's `strconv.ParseInt(fmt.Sprint(v), 8, 64)`, 0 on error: sprig's `toDecimal`.
fn to_decimal(v: &Value) -> i64 {
    parse_int(&strval(v), 8).unwrap_or(0)
}

/// sprig's `untilStep`: the ints from `start` toward `stop` by `step`, empty when the step
/// points away from `stop` (or is zero).
pub(crate) fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut v = Vec::new();
    let mut i = start;
    if stop < start {
        if step >= 0 {
            return v;
        }
        while i > stop {
            v.push(i);
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
    } else {
        if step <= 0 {
            return v;
        }
        while i < stop {
            v.push(i);
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
    }
    v
}

fn int_list(items: Vec<i64>) -> Value {
    Value::list(ElemKind::Int, items.into_iter().map(Value::Int).collect())
}

/// sprig's `seq`: like the Unix tool, 1..=n, start..=end or start..=end by step, joined
/// with spaces.
fn seq(params: &[i64]) -> String {
    let nums = match *params {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            until_step(1, end.wrapping_add(inc), inc)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(start, end.wrapping_add(step), step)
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return String::new();
                }
            }
            until_step(start, end.wrapping_add(inc), step)
        }
        _ => return String::new(),
    };
    nums.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Registers atoi int int64 float64 toDecimal seq until untilStep.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push((
        "atoi",
        Func::new(&[Ty::String], |a| Ok(Value::Int(atoi(arg_str(&a, 0)?)))),
    ));
    out.push((
        "int",
        Func::new(&[Ty::Any], |a| Ok(Value::Int(to_int(&arg(&a, 0))))),
    ));
    out.push((
        "int64",
        Func::new(&[Ty::Any], |a| Ok(Value::Int64(to_int64(&arg(&a, 0))))),
    ));
    out.push((
        "float64",
        Func::new(&[Ty::Any], |a| Ok(Value::Float(to_float64(&arg(&a, 0))))),
    ));
    out.push((
        "toDecimal",
        Func::new(&[Ty::Any], |a| Ok(Value::Int64(to_decimal(&arg(&a, 0))))),
    ));
    out.push((
        "seq",
        Func::variadic(&[], Ty::Int, |a| {
            let nums = a.iter().map(|v| arg_int(std::slice::from_ref(v), 0));
            Ok(Value::str(seq(&nums.collect::<Result<Vec<_>, _>>()?)))
        }),
    ));
    out.push((
        "until",
        Func::new(&[Ty::Int], |a| {
            let n = arg_int(&a, 0)?;
            Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })))
        }),
    ));
    out.push((
        "untilStep",
        Func::new(&[Ty::Int, Ty::Int, Ty::Int], |a| {
            let (s, e, st) = (arg_int(&a, 0)?, arg_int(&a, 1)?, arg_int(&a, 2)?);
            Ok(int_list(until_step(s, e, st)))
        }),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"atoi "42""#, r#"42"#),
            (r#"atoi "-42""#, r#"-42"#),
            (r#"atoi "0x1f""#, r#"0"#),
            (r#"atoi "99999999999999999999""#, r#"9223372036854775807"#),
            (r#"atoi "-99999999999999999999""#, r#"-9223372036854775808"#),
            (r#"atoi "abc""#, r#"0"#),
            (r#"int "0x1f""#, r#"31"#),
            (r#"int "010""#, r#"8"#),
            (r#"int "1_000""#, r#"1000"#),
            (r#"int "12.00""#, r#"12"#),
            (r#"int "12.5""#, r#"0"#),
            (r#"int 3.9"#, r#"3"#),
            (r#"int -3.9"#, r#"-3"#),
            (r#"int true"#, r#"1"#),
            (r#"int nil"#, r#"0"#),
            (r#"int64 "42""#, r#"42"#),
            (r#"float64 "1.5""#, r#"1.5"#),
            (r#"float64 "1e3""#, r#"1000"#),
            (r#"float64 "abc""#, r#"0"#),
            (r#"float64 "inf""#, r#"+Inf"#),
            (r#"float64 3"#, r#"3"#),
            (r#"toDecimal "0777""#, r#"511"#),
            (r#"toDecimal 777"#, r#"511"#),
            (r#"toDecimal "9""#, r#"0"#),
            (r#"seq 5"#, r#"1 2 3 4 5"#),
            (r#"seq -3"#, r#"1 0 -1 -2 -3"#),
            (r#"seq 2 5"#, r#"2 3 4 5"#),
            (r#"seq 5 2"#, r#"5 4 3 2"#),
            (r#"seq 1 2 10"#, r#"1 3 5 7 9"#),
            (r#"seq 10 -3 1"#, r#"10 7 4 1"#),
            (r#"seq 10 3 1"#, r#""#),
            (r#"seq"#, r#""#),
            (r#"seq 1 2 3 4"#, r#""#),
            (r#"until 5"#, r#"[0 1 2 3 4]"#),
            (r#"until -3"#, r#"[0 -1 -2]"#),
            (r#"until 0"#, r#"[]"#),
            (r#"untilStep 0 10 3"#, r#"[0 3 6 9]"#),
            (r#"untilStep 10 0 -3"#, r#"[10 7 4 1]"#),
            (r#"untilStep 0 10 -1"#, r#"[]"#),
        ]);
    }
}
