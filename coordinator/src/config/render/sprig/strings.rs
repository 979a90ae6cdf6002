//! sprig's string functions: trimming, case, padding, quoting, splitting and joining.
//!
//! Go strings are bytes and several sprig helpers (goutils' `Abbreviate`, `Initials`,
//! `DeleteWhiteSpace`, `Wrap`, sprig's own `trunc` and `substr`) work byte by byte; they are
//! reproduced byte-wise here so that lengths and offsets match Go on any input. Where Go would
//! cut a multi-byte character in half (only possible with non-ASCII text), the stray bytes
//! become U+FFFD because our strings are UTF-8. Case mapping uses Go's simple (one rune to one
//! rune) mappings, never Rust's multi-character ones (`ß` stays `ß` in `upper`). The word
//! splitting of `snakecase`/`kebabcase`/`camelcase` (huandu/xstrings) lives in `casing.rs`.

use super::super::value::{ElemKind, Func, MapKind, Ty, Value};
use super::casing;
use super::conv::{arg, arg_int, arg_str, go_quote, str_list, strval};
use std::collections::BTreeMap;

/// The largest string `repeat`/`indent` will build; Go has no limit but memory, we refuse
/// rather than exhaust it.
const MAX_REPEAT_BYTES: usize = 64 << 20;

/// Go's `s[lo:hi]` on bytes, with Go's runtime panic text when out of range.
pub(crate) fn go_slice(s: &str, lo: Option<i64>, hi: Option<i64>) -> Result<String, String> {
    let len = s.len() as i64;
    let h = hi.unwrap_or(len);
    let l = lo.unwrap_or(0);
    if let Some(h) = hi {
        if h < 0 {
            return Err(format!("runtime error: slice bounds out of range [:{h}]"));
        }
        if h > len {
            return Err(format!(
                "runtime error: slice bounds out of range [:{h}] with length {len}"
            ));
        }
    }
    if l < 0 {
        return Err(format!("runtime error: slice bounds out of range [{l}:]"));
    }
    if l > h {
        return Err(format!("runtime error: slice bounds out of range [{l}:{h}]"));
    }
    Ok(bytes_str(s.as_bytes().get(l as usize..h as usize).unwrap_or(&[])))
}

/// Bytes back to a string; bytes of a cut character become U+FFFD.
fn bytes_str(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Go's `unicode.ToUpper` (simple mapping).
pub(crate) fn go_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower` (simple mapping).
pub(crate) fn go_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut low = c.to_lowercase();
    match (low.next(), low.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: upper case except for the four digraphs with a title form.
fn go_title(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        c => go_upper(c),
    }
}

fn is_title_case(c: char) -> bool {
    matches!(c, 'ǅ' | 'ǈ' | 'ǋ' | 'ǲ' | '\u{1f88}'..='\u{1f8f}' | '\u{1f98}'..='\u{1f9f}'
        | '\u{1fa8}'..='\u{1faf}' | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}')
}

/// Go's `strings.Title`: title-cases the first letter of every word.
fn title(s: &str) -> String {
    let is_sep = |r: char| {
        if r.is_ascii() {
            !(r.is_ascii_alphanumeric() || r == '_')
        } else if r.is_alphabetic() || r.is_numeric() {
            false
        } else {
            r.is_whitespace()
        }
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_sep(prev) { go_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// goutils' `Uncapitalize`: lower-cases the first rune of every whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                go_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `SwapCase`.
fn swapcase(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() || is_title_case(c) {
                whitespace = false;
                go_lower(c)
            } else if c.is_lowercase() {
                let out = if whitespace { go_title(c) } else { go_upper(c) };
                whitespace = false;
                out
            } else {
                whitespace = c.is_whitespace();
                c
            }
        })
        .collect()
}

/// Go's `unicode.IsSpace` for a single byte seen as a rune (goutils reads bytes as runes).
fn is_space_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// goutils' `DeleteWhiteSpace`: works on bytes, re-encoding each kept byte as a rune (so
/// non-ASCII text is mangled exactly as Go mangles it) unless nothing was removed.
fn nospace(s: &str) -> String {
    if !s.bytes().any(is_space_byte) {
        return s.to_string();
    }
    s.bytes()
        .filter(|b| !is_space_byte(*b))
        .map(char::from)
        .collect()
}

/// goutils' `Initials`: the first byte (as a rune) of every whitespace-separated word.
fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for b in s.bytes() {
        if is_space_byte(b) {
            gap = true;
        } else if gap {
            out.push(char::from(b));
            gap = false;
        }
    }
    out
}

/// goutils' `AbbreviateFull` (errors become "").
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> String {
    let len = s.len() as i64;
    if s.is_empty() || max_width < 4 {
        return String::new();
    }
    if len <= max_width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let b = s.as_bytes();
    let cut = |lo: i64, hi: i64| bytes_str(b.get(lo.max(0) as usize..hi as usize).unwrap_or(&[]));
    if offset <= 4 {
        return cut(0, max_width - 3) + "...";
    }
    if max_width < 7 {
        return String::new();
    }
    if offset + max_width - 3 < len {
        let rest = cut(offset, len);
        return "...".to_string() + &abbreviate_full(&rest, 0, max_width - 3);
    }
    "...".to_string() + &cut(len - (max_width - 3), len)
}

/// goutils' `WrapCustom` on bytes.
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline }.as_bytes();
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::new();
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let window = &b[offset..end];
        if let Some(sp) = window.iter().rposition(|c| *c == b' ') {
            out.extend_from_slice(&b[offset..offset + sp]);
            out.extend_from_slice(newline);
            offset += sp + 1;
        } else if wrap_long {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline);
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(b.get(offset..).unwrap_or(&[]));
    bytes_str(&out)
}

/// Go's `strings.Repeat`, refusing negative counts as Go panics, and huge results.
pub(crate) fn go_repeat(s: &str, count: i64) -> Result<String, String> {
    if count < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let total = (s.len() as u128) * (count as u128);
    if total > MAX_REPEAT_BYTES as u128 {
        return Err(format!(
            "strings: Repeat result of {total} bytes is over our {MAX_REPEAT_BYTES}-byte limit"
        ));
    }
    Ok(s.repeat(count as usize))
}

/// Go's `strings.SplitN` (n < 0: all; n == 0: none).
pub(crate) fn go_split_n(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<&str> = s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
        let limit = if n < 0 || n as usize > chars.len() {
            chars.len()
        } else {
            n as usize
        };
        let mut out: Vec<String> = chars
            .iter()
            .take(limit.saturating_sub(1))
            .map(|c| c.to_string())
            .collect();
        if limit > 0 {
            let consumed: usize = out.iter().map(String::len).sum();
            out.push(s[consumed..].to_string());
        }
        return out;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_string).collect()
    }
}

/// sprig's `split`/`splitn` result: `map[string]string` keyed `_0`, `_1`, ...
fn index_map(parts: Vec<String>) -> Value {
    let entries: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(p)))
        .collect();
    Value::map(MapKind::StringString, entries)
}

/// sprig's `strslice` (`toStrings`): a list's non-nil items through `strval`; nil gives an
/// empty list and any other value a one-item list.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .items
            .iter()
            .filter(|i| !matches!(i, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// Go's `strings.Trim(s, cutset)`.
fn trim_set(s: &str, cutset: &str) -> String {
    s.trim_matches(|c| cutset.contains(c)).to_string()
}

fn s1(name: &'static str, f: fn(&str) -> String) -> (&'static str, Func) {
    (
        name,
        Func::new(&[Ty::String], move |a| Ok(Value::str(f(arg_str(&a, 0)?)))),
    )
}

fn s2(name: &'static str, f: fn(&str, &str) -> String) -> (&'static str, Func) {
    (
        name,
        Func::new(&[Ty::String, Ty::String], move |a| {
            Ok(Value::str(f(arg_str(&a, 0)?, arg_str(&a, 1)?)))
        }),
    )
}

fn b2(name: &'static str, f: fn(&str, &str) -> bool) -> (&'static str, Func) {
    (
        name,
        Func::new(&[Ty::String, Ty::String], move |a| {
            Ok(Value::Bool(f(arg_str(&a, 0)?, arg_str(&a, 1)?)))
        }),
    )
}

/// Registers hello and the string functions listed in the module docs.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::{Any, Int, String as S};
    out.push(("hello", Func::new(&[], |_| Ok(Value::str("Hello!")))));
    out.push((
        "abbrev",
        Func::new(&[Int, S], |a| {
            let (w, s) = (arg_int(&a, 0)?, arg_str(&a, 1)?);
            Ok(Value::str(if w < 4 {
                s.to_string()
            } else {
                abbreviate_full(s, 0, w)
            }))
        }),
    ));
    out.push((
        "abbrevboth",
        Func::new(&[Int, Int, S], |a| {
            let (l, r, s) = (arg_int(&a, 0)?, arg_int(&a, 1)?, arg_str(&a, 2)?);
            Ok(Value::str(if r < 4 || (l > 0 && r < 7) {
                s.to_string()
            } else {
                abbreviate_full(s, l, r)
            }))
        }),
    ));
    out.push((
        "trunc",
        Func::new(&[Int, S], |a| {
            let (c, s) = (arg_int(&a, 0)?, arg_str(&a, 1)?);
            let len = s.len() as i64;
            Ok(Value::str(if c < 0 && len + c > 0 {
                go_slice(s, Some(len + c), None)?
            } else if c >= 0 && len > c {
                go_slice(s, None, Some(c))?
            } else {
                s.to_string()
            }))
        }),
    ));
    out.push(s1("trim", |s| s.trim().to_string()));
    out.push(s2("trimAll", |cut, s| trim_set(s, cut)));
    out.push(s2("trimall", |cut, s| trim_set(s, cut)));
    out.push(s2("trimSuffix", |suf, s| {
        s.strip_suffix(suf).unwrap_or(s).to_string()
    }));
    out.push(s2("trimPrefix", |pre, s| {
        s.strip_prefix(pre).unwrap_or(s).to_string()
    }));
    out.push(s1("upper", |s| s.chars().map(go_upper).collect()));
    out.push(s1("lower", |s| s.chars().map(go_lower).collect()));
    out.push(s1("title", title));
    out.push(s1("untitle", untitle));
    out.push((
        "substr",
        Func::new(&[Int, Int, S], |a| {
            let (start, end, s) = (arg_int(&a, 0)?, arg_int(&a, 1)?, arg_str(&a, 2)?);
            let r = if start < 0 {
                go_slice(s, None, Some(end))?
            } else if end < 0 || end > s.len() as i64 {
                go_slice(s, Some(start), None)?
            } else {
                go_slice(s, Some(start), Some(end))?
            };
            Ok(Value::str(r))
        }),
    ));
    out.push((
        "repeat",
        Func::new(&[Int, S], |a| {
            Ok(Value::str(go_repeat(arg_str(&a, 1)?, arg_int(&a, 0)?)?))
        }),
    ));
    out.push(s1("nospace", nospace));
    out.push(s1("initials", initials));
    out.push(s1("swapcase", swapcase));
    out.push(s1("snakecase", |s| casing::to_lower_case(s, '_')));
    out.push(s1("kebabcase", |s| casing::to_lower_case(s, '-')));
    out.push(s1("camelcase", casing::to_camel_case));
    out.push((
        "wrap",
        Func::new(&[Int, S], |a| {
            Ok(Value::str(wrap_custom(
                arg_str(&a, 1)?,
                arg_int(&a, 0)?,
                "",
                false,
            )))
        }),
    ));
    out.push((
        "wrapWith",
        Func::new(&[Int, S, S], |a| {
            Ok(Value::str(wrap_custom(
                arg_str(&a, 2)?,
                arg_int(&a, 0)?,
                arg_str(&a, 1)?,
                true,
            )))
        }),
    ));
    out.push(b2("contains", |sub, s| s.contains(sub)));
    out.push(b2("hasPrefix", |p, s| s.starts_with(p)));
    out.push(b2("hasSuffix", |p, s| s.ends_with(p)));
    out.push((
        "quote",
        Func::variadic(&[], Any, |a| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(|v| go_quote(&strval(v)))
                .collect();
            Ok(Value::str(parts.join(" ")))
        }),
    ));
    out.push((
        "squote",
        Func::variadic(&[], Any, |a| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(|v| format!("'{}'", v.to_go_string()))
                .collect();
            Ok(Value::str(parts.join(" ")))
        }),
    ));
    out.push((
        "cat",
        Func::variadic(&[], Any, |a| {
            let parts: Vec<String> = a
                .iter()
                .filter(|v| !matches!(v, Value::Nil))
                .map(Value::to_go_string)
                .collect();
            Ok(Value::str(parts.join(" ")))
        }),
    ));
    out.push((
        "indent",
        Func::new(&[Int, S], |a| {
            let pad = go_repeat(" ", arg_int(&a, 0)?)?;
            let s = arg_str(&a, 1)?;
            Ok(Value::str(pad.clone() + &s.replace('\n', &format!("\n{pad}"))))
        }),
    ));
    out.push((
        "nindent",
        Func::new(&[Int, S], |a| {
            let pad = go_repeat(" ", arg_int(&a, 0)?)?;
            let s = arg_str(&a, 1)?;
            Ok(Value::str(
                format!("\n{pad}") + &s.replace('\n', &format!("\n{pad}")),
            ))
        }),
    ));
    out.push((
        "replace",
        Func::new(&[S, S, S], |a| {
            let (old, new, src) = (arg_str(&a, 0)?, arg_str(&a, 1)?, arg_str(&a, 2)?);
            Ok(Value::str(src.replace(old, new)))
        }),
    ));
    out.push((
        "plural",
        Func::new(&[S, S, Int], |a| {
            let n = arg_int(&a, 2)?;
            Ok(arg(&a, if n == 1 { 0 } else { 1 }))
        }),
    ));
    out.push((
        "toString",
        Func::new(&[Any], |a| Ok(Value::str(strval(&arg(&a, 0))))),
    ));
    out.push((
        "toStrings",
        Func::new(&[Any], |a| Ok(str_list(strslice(&arg(&a, 0))))),
    ));
    out.push((
        "split",
        Func::new(&[S, S], |a| {
            let (sep, s) = (arg_str(&a, 0)?, arg_str(&a, 1)?);
            Ok(index_map(go_split_n(s, sep, -1)))
        }),
    ));
    out.push((
        "splitList",
        Func::new(&[S, S], |a| {
            let (sep, s) = (arg_str(&a, 0)?, arg_str(&a, 1)?);
            Ok(str_list(go_split_n(s, sep, -1)))
        }),
    ));
    out.push((
        "splitn",
        Func::new(&[S, Int, S], |a| {
            let (sep, n, s) = (arg_str(&a, 0)?, arg_int(&a, 1)?, arg_str(&a, 2)?);
            Ok(index_map(go_split_n(s, sep, n)))
        }),
    ));
    out.push((
        "join",
        Func::new(&[S, Any], |a| {
            Ok(Value::str(strslice(&arg(&a, 1)).join(arg_str(&a, 0)?)))
        }),
    ));
    out.push((
        "sortAlpha",
        Func::new(&[Any], |a| {
            let v = arg(&a, 0);
            let mut items = match &v {
                Value::List(_) => strslice(&v),
                other => vec![strval(other)],
            };
            items.sort();
            Ok(str_list(items))
        }),
    ));
    let _ = ElemKind::String;
}
