//! Go's `strconv` quoting: `Quote`, `QuoteToASCII`, `QuoteRune`, `CanBackquote`, `Unquote`.
//!
//! Templates meet these through `%q`, through parse errors (which quote items) and through
//! string and character literals. Go's notion of a printable rune (`unicode.IsPrint`) is
//! approximated: controls, separators other than the ASCII space, format characters, private
//! use and non-characters are unprintable; every other assigned-looking rune is printable.

/// Go's `unicode.IsPrint`, approximated as the module docs say.
pub fn is_print(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(u,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF
        | 0xF0000..=0x10FFFF | 0xE0001 | 0xE0020..=0xE007F)
}

/// Go's `strconv.ErrSyntax` ("invalid syntax").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError;

/// `%#U` of a rune: `U+0029 ')'`.
pub fn quote_rune_hash_u(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if (!ascii_only || c.is_ascii()) && is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, false)
}

/// `strconv.Quote` or, with `ascii_only`, `strconv.QuoteToASCII`.
pub fn quote_with(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// `strconv.QuoteRune` / `QuoteRuneToASCII`. Invalid runes print as U+FFFD, as in Go.
pub fn quote_rune(r: i64, ascii_only: bool) -> String {
    let c = u32::try_from(r)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}');
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// `strconv.CanBackquote`.
pub fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
}

fn hex_digit(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// Decodes one (possibly escaped) character at the start of `s`, inside a literal quoted with
/// `quote`; returns it and the remaining text. `Err` is Go's `strconv.ErrSyntax`.
pub fn unquote_char(s: &str, quote: char) -> Result<(char, &str), SyntaxError> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(SyntaxError)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SyntaxError);
    }
    if c != '\\' {
        return Ok((c, chars.as_str()));
    }
    let rest = chars.as_str();
    let b = rest.as_bytes();
    let e = *b.first().ok_or(SyntaxError)?;
    let tail = rest.get(1..).ok_or(SyntaxError)?;
    let simple = match e {
        b'a' => Some('\x07'),
        b'b' => Some('\x08'),
        b'f' => Some('\x0c'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'v' => Some('\x0b'),
        b'\\' => Some('\\'),
        b'\'' | b'"' => {
            if e as char != quote {
                return Err(SyntaxError);
            }
            Some(e as char)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, tail));
    }
    match e {
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = tail.get(..n).ok_or(SyntaxError)?;
            let mut v = 0u32;
            for d in digits.bytes() {
                v = v * 16 + hex_digit(d).ok_or(SyntaxError)?;
            }
            let rest = tail.get(n..).ok_or(SyntaxError)?;
            if e == b'x' {
                // A byte escape; bytes >= 0x80 cannot stand alone in a Rust string, so they
                // become the rune of the same number (differs from Go, noted in the report).
                return Ok((char::from_u32(v).ok_or(SyntaxError)?, rest));
            }
            Ok((char::from_u32(v).ok_or(SyntaxError)?, rest))
        }
        b'0'..=b'7' => {
            let digits = rest.get(..3).ok_or(SyntaxError)?;
            let mut v = 0u32;
            for d in digits.bytes() {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(SyntaxError);
                }
                v = v * 8 + u32::from(d - b'0');
            }
            if v > 255 {
                return Err(SyntaxError);
            }
            Ok((
                char::from_u32(v).ok_or(SyntaxError)?,
                rest.get(3..).ok_or(SyntaxError)?,
            ))
        }
        _ => Err(SyntaxError),
    }
}

/// `strconv.Unquote` for the three Go literal forms. `Err` is `invalid syntax`.
pub fn unquote(s: &str) -> Result<String, SyntaxError> {
    let q = s.chars().next().ok_or(SyntaxError)?;
    if s.len() < 2 || !s.ends_with(q) {
        return Err(SyntaxError);
    }
    let inner = s.get(1..s.len() - 1).ok_or(SyntaxError)?;
    match q {
        '`' => {
            if inner.contains('`') {
                return Err(SyntaxError);
            }
            Ok(inner.replace('\r', ""))
        }
        '"' | '\'' => {
            let mut out = String::new();
            let mut rest = inner;
            while !rest.is_empty() {
                if rest.starts_with('\n') {
                    return Err(SyntaxError);
                }
                let (c, r) = unquote_char(rest, q)?;
                out.push(c);
                rest = r;
            }
            if q == '\'' && out.chars().count() != 1 {
                return Err(SyntaxError);
            }
            Ok(out)
        }
        _ => Err(SyntaxError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_strconv() {
        // Expected values from Go 1.19's strconv.Quote.
        assert_eq!(quote("a\"b\\c\n\t\x01é"), r#""a\"b\\c\n\t\x01é""#);
        assert_eq!(quote("\u{a0}"), r#""\u00a0""#);
        assert_eq!(quote_with("é", true), r#""\u00e9""#);
        assert_eq!(quote_rune(97, false), "'a'");
        assert_eq!(quote_rune_hash_u(')'), "U+0029 ')'");
    }

    #[test]
    fn unquotes_literals() {
        assert_eq!(unquote(r#""a\tb\u00e9\101""#).as_deref(), Ok("a\tbéA"));
        assert_eq!(unquote("`a\\n`").as_deref(), Ok("a\\n"));
        assert!(unquote(r#""\q""#).is_err());
        assert!(unquote(r#""\'""#).is_err());
    }
}
