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
use super::goutils::{
    abbreviate_full, go_lower, go_upper, initials, nospace, swapcase, title, untitle, wrap_custom,
};
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
        return Err(format!(
            "runtime error: slice bounds out of range [{l}:{h}]"
        ));
    }
    Ok(bytes_str(
        s.as_bytes().get(l as usize..h as usize).unwrap_or(&[]),
    ))
}

/// Bytes back to a string; bytes of a cut character become U+FFFD.
pub(crate) fn bytes_str(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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
            Ok(Value::str(
                pad.clone() + &s.replace('\n', &format!("\n{pad}")),
            ))
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

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"upper "héllo ßtraße""#, r#"HÉLLO ßTRAßE"#),
            (r#"lower "HÉLLO İ""#, r#"héllo i"#),
            (
                r#"title "hello wOrld foo_bar x-y""#,
                r#"Hello WOrld Foo_bar X-Y"#,
            ),
            (r#"untitle "Hello World FOO""#, r#"hello world fOO"#),
            (r#"trim "  \t hi  \n""#, r#"hi"#),
            (r#"trimAll "$" "$$5.00$""#, r#"5.00"#),
            (r#"trimall "ab" "abcba""#, r#"c"#),
            (r#"trimSuffix "-" "hello-""#, r#"hello"#),
            (r#"trimPrefix "-" "-hello""#, r#"hello"#),
            (r#"abbrev 5 "hello world""#, r#"he..."#),
            (r#"abbrev 3 "hello world""#, r#"hello world"#),
            (r#"abbrevboth 5 10 "1234 5678 9123""#, r#"...5678..."#),
            (r#"abbrevboth 0 10 "1234 5678 9123""#, r#"1234 56..."#),
            (r#"trunc 5 "hello world""#, r#"hello"#),
            (r#"trunc -5 "hello world""#, r#"world"#),
            (r#"trunc 50 "hello""#, r#"hello"#),
            (r#"substr 0 5 "hello world""#, r#"hello"#),
            (r#"substr 6 -1 "hello world""#, r#"world"#),
            (r#"substr -1 3 "hello""#, r#"hel"#),
            (
                r#"substr 2 1 "hello""#,
                r#"ERR error calling substr: runtime error: slice bounds out of range [2:1]"#,
            ),
            (r#"substr 0 10 "hello""#, r#"hello"#),
            (
                r#"substr -1 10 "hello""#,
                r#"ERR error calling substr: runtime error: slice bounds out of range [:10] with length 5"#,
            ),
            (r#"repeat 3 "ab""#, r#"ababab"#),
            (
                r#"repeat -1 "ab""#,
                r#"ERR error calling repeat: strings: negative Repeat count"#,
            ),
            (r#"nospace "h e l l o""#, r#"hello"#),
            (r#"nospace "hé llo""#, r#"hÃ©llo"#),
            (r#"initials "hello world foo""#, r#"hwf"#),
            (r#"swapcase "Hello World hELLO""#, r#"hELLO wORLD Hello"#),
            (
                r#"wrap 5 "hello world foo bar""#,
                r#"hello
world
foo
bar"#,
            ),
            (
                r#"wrap 3 "abcdefgh ij""#,
                r#"abcdefgh
ij"#,
            ),
            (
                r#"wrapWith 5 "\t" "hello world foo bar""#,
                r#"hello	world	foo	bar"#,
            ),
            (r#"wrapWith 3 "|" "abcdefgh ij""#, r#"abc|def|gh|ij"#),
            (r#"contains "ell" "hello""#, r#"true"#),
            (r#"hasPrefix "he" "hello""#, r#"true"#),
            (r#"hasSuffix "lo" "hello""#, r#"true"#),
            (
                r#"quote "a\"b" 1 nil "c\td" 2.5"#,
                r#""a\"b" "1" "c\td" "2.5""#,
            ),
            (r#"squote "a" 1 nil true"#, r#"'a' '1' 'true'"#),
            (r#"cat "a" 1 nil (list 1 2) 2.5"#, r#"a 1 [1 2] 2.5"#),
            (
                r#"indent 2 "a\nb""#,
                r#"  a
  b"#,
            ),
            (r#"replace "a" "b" "banana""#, r#"bbnbnb"#),
            (r#"replace "" "-" "abc""#, r#"-a-b-c-"#),
            (r#"plural "one" "many" 1"#, r#"one"#),
            (r#"plural "one" "many" 2"#, r#"many"#),
            (r#"toString 1.5"#, r#"1.5"#),
            (r#"toString (list 1 "a")"#, r#"[1 a]"#),
            (r#"toString nil"#, r#"<nil>"#),
            (r#"toStrings (list 1 nil "a" 2.5)"#, r#"[1 a 2.5]"#),
            (r#"toStrings "abc""#, r#"[abc]"#),
            (r#"toStrings nil"#, r#"[]"#),
            (r#"split "," "a,b,c""#, r#"map[_0:a _1:b _2:c]"#),
            (r#"split "" "abc""#, r#"map[_0:a _1:b _2:c]"#),
            (r#"splitList "," "a,b,,c""#, r#"[a b  c]"#),
            (r#"splitList "" "héllo""#, r#"[h é l l o]"#),
            (r#"splitn "," 2 "a,b,c""#, r#"map[_0:a _1:b,c]"#),
            (r#"splitn "," 0 "a,b,c""#, r#"map[]"#),
            (r#"splitn "" 2 "abc""#, r#"map[_0:a _1:bc]"#),
            (r#"join "-" (list 1 "a" nil 2.5)"#, r#"1-a-2.5"#),
            (r#"join "," "abc""#, r#"abc"#),
            (r#"join "," (splitList "." "a.b")"#, r#"a,b"#),
            (r#"sortAlpha (list "b" "a" 10 2)"#, r#"[10 2 a b]"#),
            (r#"sortAlpha "x""#, r#"[x]"#),
            (r#"sortAlpha nil"#, r#"[<nil>]"#),
            (r#"hello"#, r#"Hello!"#),
            (r#"title "ǆemal""#, r#"ǅemal"#),
            (r#"quote "é\u00a0x""#, r#""é\u00a0x""#),
            (r#"swapcase "ǆ ǅ""#, r#"ǅ ǆ"#),
            (r#"title "x.y-z_w""#, r#"X.Y-Z_w"#),
        ]);
    }
}
