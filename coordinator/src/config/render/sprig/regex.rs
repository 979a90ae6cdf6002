//! sprig's regular-expression functions on Go's RE2 `regexp` semantics, built on the `regex`
//! crate (also RE2-like: leftmost-first, no backreferences).
//!
//! What is adapted to Go:
//! - Patterns are rewritten into the crate's syntax and compile errors get Go's texts
//!   (`regex_go.rs`).
//! - The loops that find all matches, replace and split follow Go's `regexp.go` exactly,
//!   including how empty matches next to a previous match are skipped.
//! - `$name`/`${name}` expansion is Go's (`$1x` names group `1x`; malformed `$` is literal).
//! - The non-`must` forms fail with Go's `MustCompile` panic text.

use regex::{Captures, Regex};

use super::super::value::{Func, Ty, Value};
use super::conv::{arg_int, arg_str, go_quote, str_list};
use super::regex_go::{go_error, go_only_error, quote_meta, translate};

/// Compiles a Go pattern, or gives Go's error text.
fn compile(pat: &str) -> Result<Regex, String> {
    if let Some(e) = go_only_error(pat) {
        // Go reports the first error in the pattern; ours is only right when the crate
        // finds nothing earlier, so prefer the crate's when both fail.
        return Err(Regex::new(&translate(pat)).map_or_else(|_| go_error(pat), |_| e));
    }
    Regex::new(&translate(pat)).map_err(|_| go_error(pat))
}

/// Go's `regexp.MustCompile` panic text.
fn must_compile(pat: &str) -> Result<Regex, String> {
    compile(pat).map_err(|e| {
        let q = if pat.contains('`') || pat.chars().any(|c| c.is_control() && c != '\t') {
            go_quote(pat)
        } else {
            format!("`{pat}`")
        };
        format!("regexp: Compile({q}): {e}")
    })
}

/// Go's `allMatches`: successive matches, skipping an empty match that abuts the previous
/// match; at most `n` when `n >= 0`.
fn all_matches<'h>(re: &Regex, s: &'h str, n: i64) -> Vec<Captures<'h>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while (n < 0 || (out.len() as i64) < n) && pos <= s.len() {
        let Some(caps) = re.captures_at(s, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push(caps);
        }
    }
    out
}

/// Go's `Regexp.expand` of a `$` template for one match.
fn expand(re: &Regex, template: &str, caps: &Captures<'_>, dst: &mut String) {
    let mut t = template;
    while let Some(i) = t.find('$') {
        dst.push_str(&t[..i]);
        t = &t[i + 1..];
        if let Some(rest) = t.strip_prefix('$') {
            dst.push('$');
            t = rest;
            continue;
        }
        let (brace, body) = match t.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, t),
        };
        let len: usize = body
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(body.len(), |(i, _)| i);
        let name = &body[..len];
        let after = &body[len..];
        let rest = if name.is_empty() {
            None
        } else if brace {
            after.strip_prefix('}')
        } else {
            Some(after)
        };
        let Some(rest) = rest else {
            dst.push('$');
            continue;
        };
        t = rest;
        let num = if name.bytes().all(|b| b.is_ascii_digit()) && name.len() < 9 {
            name.parse::<usize>().ok()
        } else {
            None
        };
        let m = match num {
            Some(n) => caps.get(n),
            None => re
                .capture_names()
                .position(|n| n == Some(name))
                .and_then(|i| caps.get(i)),
        };
        if let Some(m) = m {
            dst.push_str(m.as_str());
        }
    }
    dst.push_str(t);
}

/// Go's `replaceAll` loop; `literal` inserts `repl` as is.
fn replace_all(re: &Regex, src: &str, repl: &str, literal: bool) -> String {
    let mut buf = String::with_capacity(src.len());
    let mut last_end = 0usize;
    let mut search = 0usize;
    while search <= src.len() {
        let Some(caps) = re.captures_at(src, search) else {
            break;
        };
        let Some(m) = caps.get(0) else {
            break;
        };
        buf.push_str(src.get(last_end..m.start()).unwrap_or(""));
        if m.end() > last_end || m.start() == 0 {
            if literal {
                buf.push_str(repl);
            } else {
                expand(re, repl, &caps, &mut buf);
            }
        }
        last_end = m.end();
        let width = src[search..].chars().next().map_or(1, char::len_utf8);
        if search + width > m.end() {
            search += width;
        } else if search + 1 > m.end() {
            search += 1;
        } else {
            search = m.end();
        }
    }
    buf.push_str(src.get(last_end..).unwrap_or(""));
    buf
}

/// Go's `Regexp.Split`.
fn split(re: &Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for caps in all_matches(re, s, n) {
        let Some(m) = caps.get(0) else { continue };
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            parts.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        parts.push(s[beg..].to_string());
    }
    parts
}

type Op = fn(&Regex, &[Value]) -> Result<Value, String>;

/// Registers a function under its plain name (compile errors as Go's MustCompile panic, or
/// swallowed for `regexMatch`) and its `must` name (compile errors returned).
fn both(
    out: &mut Vec<(&'static str, Func)>,
    names: [&'static str; 2],
    params: &'static [Ty],
    op: Op,
) {
    for (k, name) in names.into_iter().enumerate() {
        out.push((
            name,
            Func::new(params, move |a| {
                let pat = arg_str(&a, 0)?;
                let re = if k == 1 || name == "regexMatch" {
                    compile(pat)
                } else {
                    must_compile(pat)
                };
                match re {
                    Ok(re) => op(&re, &a),
                    Err(_) if name == "regexMatch" => Ok(Value::Bool(false)),
                    Err(e) => Err(e),
                }
            }),
        ));
    }
}

/// Registers the regex functions.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::{Int, String as S};
    both(out, ["regexMatch", "mustRegexMatch"], &[S, S], |re, a| {
        Ok(Value::Bool(re.is_match(arg_str(a, 1)?)))
    });
    both(
        out,
        ["regexFindAll", "mustRegexFindAll"],
        &[S, S, Int],
        |re, a| {
            let s = arg_str(a, 1)?;
            let found = all_matches(re, s, arg_int(a, 2)?);
            Ok(str_list(
                found
                    .iter()
                    .filter_map(|c| c.get(0))
                    .map(|m| m.as_str().to_string()),
            ))
        },
    );
    both(out, ["regexFind", "mustRegexFind"], &[S, S], |re, a| {
        let s = arg_str(a, 1)?;
        Ok(Value::str(re.find(s).map_or("", |m| m.as_str())))
    });
    both(
        out,
        ["regexReplaceAll", "mustRegexReplaceAll"],
        &[S, S, S],
        |re, a| {
            Ok(Value::str(replace_all(
                re,
                arg_str(a, 1)?,
                arg_str(a, 2)?,
                false,
            )))
        },
    );
    both(
        out,
        ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"],
        &[S, S, S],
        |re, a| {
            Ok(Value::str(replace_all(
                re,
                arg_str(a, 1)?,
                arg_str(a, 2)?,
                true,
            )))
        },
    );
    both(
        out,
        ["regexSplit", "mustRegexSplit"],
        &[S, S, Int],
        |re, a| Ok(str_list(split(re, arg_str(a, 1)?, arg_int(a, 2)?))),
    );
    out.push((
        "regexQuoteMeta",
        Func::new(&[S], |a| Ok(Value::str(quote_meta(arg_str(&a, 0)?)))),
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
            (
                r#"mustRegexMatch "\\é*" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\é`"#,
            ),
            (
                r#"mustRegexMatch "é**" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `**`"#,
            ),
            (r#"regexMatch "[é]+" "éé""#, r#"true"#),
            (r#"regexMatch "^[a-z]+\\d$" "abc1""#, r#"true"#),
            (r#"regexMatch "\\d" "٣""#, r#"false"#),
            (r#"regexMatch "\\w+" "é""#, r#"false"#),
            (r#"regexMatch "(" "x""#, r#"false"#),
            (
                r#"mustRegexMatch "(" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing closing ): `(`"#,
            ),
            (
                r#"mustRegexMatch "a)" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: unexpected ): `a)`"#,
            ),
            (
                r#"mustRegexMatch "[a-" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing closing ]: `[a-`"#,
            ),
            (
                r#"mustRegexMatch "x\\q" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\q`"#,
            ),
            (
                r#"mustRegexMatch "*a" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"#,
            ),
            (
                r#"mustRegexMatch "a**" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `**`"#,
            ),
            (
                r#"mustRegexMatch "x{2,1}" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid repeat count: `{2,1}`"#,
            ),
            (
                r#"mustRegexMatch "[z-a]" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid character class range: `z-a`"#,
            ),
            (
                r#"mustRegexMatch "(?P<n>a" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing closing ): `(?P<n>a`"#,
            ),
            (
                r#"mustRegexMatch "(?P<>a)" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid named capture: `(?P<>`"#,
            ),
            (
                r#"mustRegexMatch "(?<n>a)" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid or unsupported Perl syntax: `(?<`"#,
            ),
            (
                r#"mustRegexMatch "a\\" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: trailing backslash at end of expression: ``"#,
            ),
            (
                r#"mustRegexMatch "(?x)a" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid or unsupported Perl syntax: `(?x`"#,
            ),
            (r#"mustRegexMatch "\\Qa.b\\E+" "a.bb""#, r#"true"#),
            (r#"regexFindAll "a*" "baaac" -1"#, r#"[ aaa ]"#),
            (r#"regexFindAll "[0-9]+" "a1b22c333" 2"#, r#"[1 22]"#),
            (r#"regexFindAll "x" "abc" -1"#, r#"[]"#),
            (r#"regexFindAll "" "abc" -1"#, r#"[   ]"#),
            (r#"regexFind "b+" "abbbc""#, r#"bbb"#),
            (r#"regexFind "z" "abc""#, r#""#),
            (
                r#"regexFind "(" "abc""#,
                r#"ERR error calling regexFind: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"#,
            ),
            (
                r#"regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W""#,
                r#"-W-xxW-"#,
            ),
            (r#"regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W""#, r#"---"#),
            (
                r#"regexReplaceAll "a(?P<n>x*)b" "-ab-axxb-" "<$n>""#,
                r#"-<>-<xx>-"#,
            ),
            (
                r#"regexReplaceAll "a(x*)b" "-ab-axxb-" "$$ $ ${1 $2""#,
                r#"-$ $ ${1 -$ $ ${1 -"#,
            ),
            (r#"regexReplaceAll "a*" "baaac" "X""#, r#"XbXcX"#),
            (r#"regexReplaceAll "" "abc" "-""#, r#"-a-b-c-"#),
            (r#"regexReplaceAll "x*" "é" "-""#, r#"-é-"#),
            (
                r#"regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "$1""#,
                r#"-$1-$1-"#,
            ),
            (r#"regexSplit "a*" "baaac" -1"#, r#"[b c]"#),
            (r#"regexSplit "," "a,b,c" 2"#, r#"[a b,c]"#),
            (r#"regexSplit "," "a,b,c" 0"#, r#"[]"#),
            (r#"regexSplit "," "" -1"#, r#"[]"#),
            (r#"regexSplit "" "abc" -1"#, r#"[a b c]"#),
            (r#"regexSplit "\\s+" " a b  c " -1"#, r#"[ a b c ]"#),
            (r#"regexQuoteMeta "a.b*c[d]$#-""#, r#"a\.b\*c\[d\]\$#-"#),
            (r#"regexMatch "\\bfoo\\b" "a foo b""#, r#"true"#),
            (r#"regexMatch "[\\d]" "5""#, r#"true"#),
            (r#"regexMatch "[^\\w]" "a""#, r#"false"#),
            (r#"regexMatch "[[:alpha:]]" "a""#, r#"true"#),
            (r#"regexMatch "(?i)ABC" "abc""#, r#"true"#),
            (r#"regexFindAll "\\S+" "a\u00a0b c" -1"#, r#"[a b c]"#),
            (
                r#"mustRegexFindAll "(" "x" 1"#,
                r#"ERR error calling mustRegexFindAll: error parsing regexp: missing closing ): `(`"#,
            ),
            (
                r#"mustRegexSplit "(" "x" 1"#,
                r#"ERR error calling mustRegexSplit: error parsing regexp: missing closing ): `(`"#,
            ),
            (
                r#"mustRegexReplaceAll "(" "x" "y""#,
                r#"ERR error calling mustRegexReplaceAll: error parsing regexp: missing closing ): `(`"#,
            ),
            (
                r#"regexReplaceAll "(" "x" "y""#,
                r#"ERR error calling regexReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"#,
            ),
            (r#"regexMatch "[]a]" "]""#, r#"true"#),
            (r#"regexMatch "[^]a]" "b""#, r#"true"#),
            (
                r#"mustRegexMatch "a+?*" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `+?*`"#,
            ),
            (
                r#"mustRegexMatch "a{2}*" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `{2}*`"#,
            ),
            (r#"mustRegexMatch "a{2" "a{2""#, r#"true"#),
            (r#"mustRegexMatch "(?i:A)" "a""#, r#"true"#),
            (r#"mustRegexMatch "(?:a)+" "a""#, r#"true"#),
            (
                r#"mustRegexMatch "a|*" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"#,
            ),
            (
                r#"mustRegexMatch "(*)" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"#,
            ),
            (
                r#"mustRegexMatch "(?P<n" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid named capture: `(?P<n`"#,
            ),
            (
                r#"mustRegexMatch "{2}" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `{2}`"#,
            ),
            (
                r#"mustRegexMatch "a{1001}" "x""#,
                r#"ERR error calling mustRegexMatch: error parsing regexp: invalid repeat count: `{1001}`"#,
            ),
            (r#"mustRegexMatch "a{2,1000}" "aa""#, r#"true"#),
            (r#"regexFind "a{,2}" "a{,2}""#, r#"a{,2}"#),
            (r#"regexFind "a{" "a{""#, r#"a{"#),
            (r#"regexFind "a{2}" "aaa""#, r#"aa"#),
            (r#"regexFind "x}" "x}""#, r#"x}"#),
        ]);
    }
}
