//! Go RE2 pattern syntax on top of the `regex` crate: rewriting a Go pattern into an
//! equivalent one for the crate, and Go's compile error texts.
//!
//! Go's Perl classes are ASCII (`\d` is `[0-9]`, `\w` `[0-9A-Za-z_]`, `\s` `[\t\n\f\r ]`,
//! `\b` an ASCII word boundary) where the crate's are Unicode, so they are rewritten; so are
//! Go's `\Q...\E` quoting, a `{` that does not start a repeat (a literal in Go, an error in
//! the crate) and class characters the crate reads as set operators (`&&`, `--`, `~~`).
//! Errors: the crate's parser error kind is mapped to Go's `error parsing regexp: CODE:
//! `EXPR`` text, and the errors Go raises for syntax the crate accepts (nested repetition,
//! repeat counts over 1000, flags other than `imsU`, `(?<name>`) are detected beforehand.

use regex_syntax::ast::ErrorKind;

/// Go's syntax for the ASCII Perl classes, for use inside a bracket class.
fn class_body(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'D' => "\\x00-/:-\\x{10FFFF}",
        'w' => "0-9A-Za-z_",
        'W' => "\\x00-/:-@\\[-\\^`\\{-\\x{10FFFF}",
        's' => "\\t\\n\\x0C\\r ",
        'S' => "\\x00-\\x08\\x0B\\x0E-\\x1F!-\\x{10FFFF}",
        _ => return None,
    })
}

/// Rewrites a Go pattern into an equivalent pattern for the `regex` crate.
pub(super) fn translate(pat: &str) -> String {
    let mut out = String::with_capacity(pat.len() + 16);
    let mut chars = pat.chars().peekable();
    let mut in_class = false;
    let mut class_start = false; // just after `[` or `[^`: a `]` here is literal
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                if e == 'Q' && !in_class {
                    let mut lit = String::new();
                    while let Some(q) = chars.next() {
                        if q == '\\' && chars.peek() == Some(&'E') {
                            chars.next();
                            break;
                        }
                        lit.push(q);
                    }
                    out.push_str(&quote_meta(&lit));
                } else if let Some(body) = class_body(e) {
                    if in_class {
                        out.push_str(body);
                    } else if e.is_lowercase() {
                        out.push_str(&format!("[{body}]"));
                    } else {
                        let lower = e.to_ascii_lowercase();
                        out.push_str(&format!("[^{}]", class_body(lower).unwrap_or("")));
                    }
                } else if (e == 'b' || e == 'B') && !in_class {
                    out.push_str(&format!("(?-u:\\{e})"));
                } else {
                    out.push('\\');
                    out.push(e);
                }
                class_start = false;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // An ASCII class such as [:alpha:], copied whole.
                out.push('[');
                for n in chars.by_ref() {
                    out.push(n);
                    if n == ']' {
                        break;
                    }
                }
                class_start = false;
            }
            '[' => {
                out.push_str("\\[");
                class_start = false;
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(']');
            }
            ']' if in_class => {
                out.push_str("\\]");
                class_start = false;
            }
            '&' | '-' | '~' if in_class && chars.peek() == Some(&c) => {
                // Rust's class set operators are plain characters in Go.
                out.push('\\');
                out.push(c);
                class_start = false;
            }
            '{' if !in_class && !starts_repeat(chars.clone()) => out.push_str("\\{"),
            c => {
                out.push(c);
                class_start = false;
            }
        }
    }
    out
}

/// The end (exclusive) of a valid Go repeat spec `{n}`, `{n,}` or `{n,m}` starting at `i`,
/// with its bounds; Go treats any other `{` as a literal.
fn repeat_spec(pat: &str, i: usize) -> Option<(usize, u64, Option<u64>)> {
    let close = i + pat.get(i..)?.find('}')?;
    let body = pat.get(i + 1..close)?;
    let (lo, hi) = match body.split_once(',') {
        Some((lo, hi)) => (lo, Some(hi)),
        None => (body, None),
    };
    let num = |s: &str| {
        if s.is_empty() || !s.bytes().all(|d| d.is_ascii_digit()) {
            None
        } else {
            Some(s.parse::<u64>().unwrap_or(u64::MAX))
        }
    };
    let lo = num(lo)?;
    let hi = match hi {
        None => Some(lo),
        Some("") => None,
        Some(h) => Some(num(h)?),
    };
    Some((close + 1, lo, hi))
}

/// Whether the text after a `{` makes it a repeat spec.
fn starts_repeat(rest: impl Iterator<Item = char>) -> bool {
    let text: String = std::iter::once('{').chain(rest.take(40)).collect();
    repeat_spec(&text, 0).is_some()
}

/// Go's `regexp.QuoteMeta`.
pub(super) fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's `error parsing regexp: ...` text for a pattern the crate refused.
pub(super) fn go_error(pat: &str) -> String {
    let ast = regex_syntax::ast::parse::Parser::new().parse(pat);
    let (code, expr) = match ast {
        Ok(_) => ("invalid or unsupported Perl syntax", pat.to_string()),
        Err(e) => {
            let span = e.span();
            let text = pat
                .get(span.start.offset..span.end.offset)
                .unwrap_or("")
                .to_string();
            let tail = pat.get(span.start.offset..).unwrap_or("").to_string();
            match e.kind() {
                ErrorKind::GroupUnclosed => ("missing closing )", pat.to_string()),
                ErrorKind::GroupUnopened => ("unexpected )", pat.to_string()),
                ErrorKind::ClassUnclosed => ("missing closing ]", tail),
                ErrorKind::ClassRangeInvalid => ("invalid character class range", text),
                ErrorKind::EscapeUnexpectedEof => {
                    ("trailing backslash at end of expression", String::new())
                }
                ErrorKind::EscapeUnrecognized | ErrorKind::EscapeHexInvalidDigit => {
                    ("invalid escape sequence", text)
                }
                ErrorKind::RepetitionMissing => {
                    let op = match repeat_spec(&tail, 0) {
                        Some((end, _, _)) => tail[..end].to_string(),
                        None => tail.chars().next().map(String::from).unwrap_or_default(),
                    };
                    ("missing argument to repetition operator", op)
                }
                ErrorKind::RepetitionCountInvalid
                | ErrorKind::RepetitionCountUnclosed
                | ErrorKind::RepetitionCountDecimalEmpty => ("invalid repeat count", text),
                ErrorKind::GroupNameInvalid
                | ErrorKind::GroupNameEmpty
                | ErrorKind::GroupNameUnexpectedEof
                | ErrorKind::GroupNameDuplicate { .. } => {
                    let open = pat[..span.start.offset].rfind("(?").unwrap_or(0);
                    let close = pat[open..].find('>').map_or(pat.len(), |k| open + k + 1);
                    ("invalid named capture", pat[open..close].to_string())
                }
                _ => ("invalid or unsupported Perl syntax", text),
            }
        }
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

/// Errors Go's parser raises for syntax the `regex` crate accepts: nested repetition
/// operators (`a**`) and group flags other than `imsU` (`(?x)`, `(?<name>`).
pub(super) fn go_only_error(pat: &str) -> Option<String> {
    let b = pat.as_bytes();
    let mut i = 0;
    let mut last_repeat: Option<usize> = None;
    while i < b.len() {
        let start = i;
        let mut repeat_end = None;
        match b[i] {
            b'\\' => {
                // Skip the backslash and the whole (possibly multi-byte) escaped character.
                i += 1 + pat
                    .get(i + 1..)
                    .and_then(|r| r.chars().next())
                    .map_or(0, char::len_utf8);
            }
            b'[' => {
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                while i < b.len() && b[i] != b']' {
                    if b[i] == b'\\' || (b[i] == b'[' && b.get(i + 1) == Some(&b':')) {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'(' if b.get(i + 1) == Some(&b'?') => {
                if b.get(i + 2) == Some(&b'P') {
                    i += 3;
                } else {
                    let mut j = i + 2;
                    while j < b.len() && b[j] != b')' && b[j] != b':' {
                        if !matches!(b[j], b'i' | b'm' | b's' | b'U' | b'-') {
                            let end = pat[j..].chars().next().map_or(j, |c| j + c.len_utf8());
                            return Some(format!(
                                "error parsing regexp: invalid or unsupported Perl syntax: `{}`",
                                &pat[i..end]
                            ));
                        }
                        j += 1;
                    }
                    i = j;
                }
            }
            b'*' | b'+' | b'?' => {
                i += 1;
                repeat_end = Some(i);
            }
            b'{' => match repeat_spec(pat, i) {
                Some((end, lo, hi)) => {
                    if lo > 1000 || hi.is_some_and(|h| h > 1000 || h < lo) {
                        return Some(format!(
                            "error parsing regexp: invalid repeat count: `{}`",
                            &pat[i..end]
                        ));
                    }
                    i = end;
                    repeat_end = Some(i);
                }
                None => i += 1,
            },
            _ => {
                i += pat
                    .get(i..)
                    .and_then(|r| r.chars().next())
                    .map_or(1, char::len_utf8)
            }
        }
        match repeat_end {
            Some(_) => {
                if b.get(i) == Some(&b'?') {
                    i += 1;
                }
                if let Some(prev) = last_repeat {
                    return Some(format!(
                        "error parsing regexp: invalid nested repetition operator: `{}`",
                        &pat[prev..i]
                    ));
                }
                last_repeat = Some(start);
            }
            None => last_repeat = None,
        }
    }
    None
}
