//! How yaml.v2 reads a scalar's text (`resolve.go`), and its map-key order (`sorter.go`).
//!
//! Both directions of werf's YAML functions need the same table: `fromYaml` turns a plain
//! scalar into a bool, int, float, null or string with it, and `toYaml` quotes a string
//! exactly when the table would read it back as something else. yaml.v2 is YAML 1.1 flavoured:
//! `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `0x1F`, `0o17`, `017` and `0b101` are ints,
//! underscores are dropped from numbers, and timestamp-looking strings stay strings in
//! `interface{}` but are quoted on output.
//!
//! Hand-written matchers stand in for Go's regular expressions and `time.Parse`; each names
//! the Go rule it mirrors.

pub(super) const STR_TAG: &str = "tag:yaml.org,2002:str";
pub(super) const BOOL_TAG: &str = "tag:yaml.org,2002:bool";
pub(super) const INT_TAG: &str = "tag:yaml.org,2002:int";
pub(super) const FLOAT_TAG: &str = "tag:yaml.org,2002:float";
pub(super) const NULL_TAG: &str = "tag:yaml.org,2002:null";
pub(super) const TIMESTAMP_TAG: &str = "tag:yaml.org,2002:timestamp";
pub(super) const BINARY_TAG: &str = "tag:yaml.org,2002:binary";
pub(super) const MERGE_TAG: &str = "tag:yaml.org,2002:merge";
pub(super) const SEQ_TAG: &str = "tag:yaml.org,2002:seq";
pub(super) const MAP_TAG: &str = "tag:yaml.org,2002:map";

/// A scalar as yaml.v2 resolves it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` (Go `uint64`).
    Uint(u64),
    Float(f64),
    Str(String),
    /// Looks like a timestamp; into `interface{}` yaml.v2 keeps the original text.
    Timestamp,
}

/// `!!str` style short form of a tag, as yaml.v2 prints tags in messages.
pub(super) fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// The tag a resolved scalar has.
pub(super) fn tag_of(s: &Scalar) -> &'static str {
    match s {
        Scalar::Null => NULL_TAG,
        Scalar::Bool(_) => BOOL_TAG,
        Scalar::Int(_) | Scalar::Uint(_) => INT_TAG,
        Scalar::Float(_) => FLOAT_TAG,
        Scalar::Str(_) => STR_TAG,
        Scalar::Timestamp => TIMESTAMP_TAG,
    }
}

/// yaml.v2's `resolve(tag, in)`: `tag` is "" for an untagged plain scalar. A tag outside the
/// core schema leaves the text a string. Errors are yaml.v2's messages without `yaml: `.
pub(super) fn resolve(tag: &str, input: &str) -> Result<Scalar, String> {
    let resolvable = matches!(
        tag,
        "" | STR_TAG | BOOL_TAG | INT_TAG | FLOAT_TAG | NULL_TAG | TIMESTAMP_TAG
    );
    if !resolvable {
        return Ok(Scalar::Str(input.to_string()));
    }
    let out = resolve_untyped(tag, input);
    let rtag = tag_of(&out);
    if tag.is_empty() || tag == rtag || tag == STR_TAG || tag == BINARY_TAG {
        // An explicit !!str keeps the text (resolve_untyped already did so).
        return Ok(out);
    }
    if tag == FLOAT_TAG {
        match out {
            Scalar::Int(i) => return Ok(Scalar::Float(i as f64)),
            Scalar::Uint(u) => return Ok(Scalar::Float(u as f64)),
            _ => {}
        }
    }
    Err(format!(
        "cannot decode {} `{}` as a {}",
        short_tag(rtag),
        input,
        short_tag(tag)
    ))
}

fn resolve_untyped(tag: &str, input: &str) -> Scalar {
    let first = input.bytes().next();
    let hint = match first {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint == 0 || tag == STR_TAG || tag == BINARY_TAG {
        return Scalar::Str(input.to_string());
    }
    if let Some(v) = lookup(input) {
        return v;
    }
    match hint {
        b'.' => {
            if let Some(f) = parse_float(input) {
                return Scalar::Float(f);
            }
        }
        b'D' | b'S' => {
            if (tag.is_empty() || tag == TIMESTAMP_TAG) && is_timestamp(input) {
                return Scalar::Timestamp;
            }
            let plain: String = input.chars().filter(|&c| c != '_').collect();
            if let Some(v) = parse_int_base0(&plain) {
                return v;
            }
            if is_yaml_style_float(&plain) {
                if let Some(f) = parse_float(&plain) {
                    return Scalar::Float(f);
                }
            }
            // "0b…" and "-0b…" are already covered by Go's base-0 integer syntax.
        }
        _ => {}
    }
    Scalar::Str(input.to_string())
}

fn lookup(s: &str) -> Option<Scalar> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Scalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Scalar::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms yaml.v2 lets through: out of
/// range is an error there, not an infinity.
fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    if lower.contains("inf") || lower.contains("nan") || lower.contains('x') {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)` as yaml.v2 does.
fn parse_int_base0(s: &str) -> Option<Scalar> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        let v = -(i128::try_from(magnitude).ok()?);
        i64::try_from(v).ok().map(Scalar::Int)
    } else if let Ok(v) = i64::try_from(magnitude) {
        Some(Scalar::Int(v))
    } else if s.starts_with('+') {
        None // ParseUint takes no sign.
    } else {
        u64::try_from(magnitude).ok().map(Scalar::Uint)
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// yaml.v2's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
/// Such strings are quoted on output for old YAML 1.1 readers.
pub(super) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // [0-5]?[0-9]: one or two digits, the first of two at most 5.
        let d1 = b.get(i).copied().filter(u8::is_ascii_digit);
        let d2 = b.get(i + 1).copied().filter(u8::is_ascii_digit);
        match (d1, d2) {
            (Some(a), Some(_)) if a <= b'5' => i += 2,
            (Some(_), _) => i += 1,
            (None, _) => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// yaml.v2's `parseTimestamp`: `YYYY-` then one of Go's layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`), `2006-1-2 15:4:5.999999999`, `2006-1-2`,
/// with `time.Parse`'s field widths and range checks.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let leading = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if leading != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    let mut c = Cursor { b, i: 5 };
    let year: u32 = b[..4].iter().fold(0, |a, d| a * 10 + u32::from(d - b'0'));
    let Some(month) = c.num12().filter(|m| (1..=12).contains(m)) else {
        return false;
    };
    if !c.eat(b'-') {
        return false;
    }
    let Some(day) = c.num12() else { return false };
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > days_in {
        return false;
    }
    if c.i == b.len() {
        return true;
    }
    let zoned = match b.get(c.i) {
        Some(b'T' | b't') => true,
        Some(b' ') => false,
        _ => return false,
    };
    c.i += 1;
    if !zoned {
        // A layout space matches a run of spaces in Go's time.Parse.
        while b.get(c.i) == Some(&b' ') {
            c.i += 1;
        }
    }
    let hms = c.num12().filter(|h| *h < 24).is_some()
        && c.eat(b':')
        && c.num12().filter(|m| *m < 60).is_some()
        && c.eat(b':')
        && c.num12().filter(|s| *s < 60).is_some();
    if !hms {
        return false;
    }
    if b.get(c.i) == Some(&b'.') && b.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
        c.i += 1;
        while b.get(c.i).is_some_and(u8::is_ascii_digit) {
            c.i += 1;
        }
    }
    if zoned {
        if c.eat(b'Z') {
            // UTC
        } else {
            let tz = &b[c.i.min(b.len())..];
            let ok = tz.len() >= 6
                && matches!(tz[0], b'+' | b'-')
                && tz[1].is_ascii_digit()
                && tz[2].is_ascii_digit()
                && tz[3] == b':'
                && tz[4].is_ascii_digit()
                && tz[5].is_ascii_digit()
                && (tz[1] - b'0') * 10 + (tz[2] - b'0') <= 24
                && (tz[4] - b'0') * 10 + (tz[5] - b'0') <= 60;
            if !ok {
                return false;
            }
            c.i += 6;
        }
    }
    c.i == b.len()
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, ch: u8) -> bool {
        if self.b.get(self.i) == Some(&ch) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Go's `getnum(s, false)`: one digit, or two when a second follows.
    fn num12(&mut self) -> Option<u32> {
        let d1 = self.b.get(self.i).filter(|c| c.is_ascii_digit())?;
        self.i += 1;
        let mut v = u32::from(d1 - b'0');
        if let Some(d2) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            self.i += 1;
            v = v * 10 + u32::from(d2 - b'0');
        }
        Some(v)
    }
}

/// A map key with the Go type yaml.v2 sorts by.
#[derive(Clone, Debug)]
pub(super) enum Key {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Key {
    /// Go's `reflect.Kind` number, which orders keys of different kinds.
    fn kind(&self) -> u8 {
        match self {
            Key::Bool(_) => 1,
            Key::Int(_) => 2,
            Key::Float(_) => 14,
            Key::Nil => 20, // a nil interface stays reflect.Interface
            Key::Str(_) => 24,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Key::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Key::Int(i) => Some(*i as f64),
            Key::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// yaml.v2's `keyList.Less`: numbers (and bools) by value first, then other kinds by kind,
/// then strings in "natural" order (digit runs compared as numbers, letters after
/// non-letters).
pub(super) fn key_less(a: &Key, b: &Key) -> bool {
    if let (Some(af), Some(bf)) = (a.number(), b.number()) {
        if af != bf {
            return af < bf;
        }
        if a.kind() != b.kind() {
            return a.kind() < b.kind();
        }
        return match (a, b) {
            (Key::Int(x), Key::Int(y)) => x < y,
            (Key::Float(x), Key::Float(y)) => x < y,
            (Key::Bool(x), Key::Bool(y)) => !x && *y,
            _ => false,
        };
    }
    let (Key::Str(a), Key::Str(b)) = (a, b) else {
        return a.kind() < b.kind();
    };
    natural_less(a, b)
}

fn natural_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let is_digit = |c: char| c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric());
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            for j in (0..i).rev() {
                if !is_digit(ar[j]) {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let run = |r: &[char], n: &mut i64| {
            let mut k = i;
            while k < r.len() && is_digit(r[k]) {
                let d = i64::from(u32::from(r[k]).wrapping_sub(u32::from('0')));
                *n = n.wrapping_mul(10).wrapping_add(d);
                k += 1;
            }
            k
        };
        let ai = run(&ar, &mut an);
        let bi = run(&br, &mut bn);
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Sorts with `key_less` by binary insertion: never panics, even if the order is not total.
pub(super) fn sort_keys<T>(items: Vec<(Key, T)>) -> Vec<(Key, T)> {
    let mut out: Vec<(Key, T)> = Vec::with_capacity(items.len());
    for item in items {
        let at = out.partition_point(|probe| !key_less(&item.0, &probe.0));
        out.insert(at, item);
    }
    out
}
