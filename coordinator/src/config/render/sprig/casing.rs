//! huandu/xstrings' word splitting, behind sprig's `snakecase`, `kebabcase` and `camelcase`.
//!
//! xstrings cuts a string into typed words (upper-case, lower-case alphabetic, number,
//! connector `-`/`_`/space, punctuation, other) and re-joins them with a connector; the rules
//! for where a connector goes around numbers are intricate (`Bld4Floor` → `bld4_floor`,
//! `HTTP2xx` → `http_2xx`), so the algorithm is kept step for step with xstrings 1.3.x rather
//! than re-derived. Words are byte ranges of the input, so everything stays valid UTF-8.
//! Unicode classes use Rust's tables; Go's `unicode.IsPunct` (category P) is approximated by
//! ASCII punctuation minus symbols plus the common non-ASCII punctuation blocks.

use super::goutils::{go_lower, go_upper};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || r.is_whitespace()
}

/// Go's `unicode.IsPunct` (general category P), approximately outside ASCII.
fn is_punct(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_punctuation()
            && !matches!(r, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~');
    }
    matches!(r as u32, 0xa1 | 0xa7 | 0xab | 0xb6 | 0xb7 | 0xbb | 0xbf | 0x37e | 0x387
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205e
        | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301f | 0xff01..=0xff03
        | 0xff05..=0xff0a | 0xff0c..=0xff0f | 0xff1a | 0xff1b | 0xff1f | 0xff20)
}

/// xstrings' `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(r: char) -> bool {
    r.is_alphabetic() && !matches!(r as u32, 0x4e00..=0x9fcc | 0x3400..=0x4d85 | 0x20000..=0x2b81d)
}

/// xstrings' `nextWord`: the type of the word at the start of `s` and its byte length.
fn next_word(s: &str) -> (Word, usize) {
    let mut chars = s.char_indices().peekable();
    let Some((_, first)) = chars.next() else {
        return (Word::Invalid, 0);
    };
    let end_of = |chars: &mut std::iter::Peekable<std::str::CharIndices>,
                  pred: &dyn Fn(char) -> bool| {
        while let Some(&(_, c)) = chars.peek() {
            if !pred(c) {
                break;
            }
            chars.next();
        }
        chars.peek().map_or(s.len(), |(i, _)| *i)
    };
    if is_connector(first) {
        (Word::Connector, end_of(&mut chars, &is_connector))
    } else if is_punct(first) {
        (Word::Punct, end_of(&mut chars, &is_punct))
    } else if first.is_uppercase() {
        let Some(&(_, second)) = chars.peek() else {
            return (Word::Upper, s.len());
        };
        if second.is_uppercase() {
            // A run of capitals; "HTTPStatus" splits as "HTTP" + "Status".
            let mut last_start = 0;
            while let Some(&(i, c)) = chars.peek() {
                if !c.is_uppercase() {
                    break;
                }
                last_start = i;
                chars.next();
            }
            match chars.peek() {
                Some(&(_, c)) if is_alphabet(c) => (Word::Upper, last_start),
                Some(&(i, _)) => (Word::Upper, i),
                None => (Word::Upper, s.len()),
            }
        } else if is_alphabet(second) {
            (
                Word::Upper,
                end_of(&mut chars, &|c| is_alphabet(c) && !c.is_uppercase()),
            )
        } else {
            (Word::Upper, first.len_utf8())
        }
    } else if is_alphabet(first) {
        (
            Word::Alphabet,
            end_of(&mut chars, &|c| is_alphabet(c) && !c.is_uppercase()),
        )
    } else if first.is_numeric() {
        (Word::Number, end_of(&mut chars, &char::is_numeric))
    } else {
        (
            Word::Other,
            end_of(&mut chars, &|c| {
                !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
            }),
        )
    }
}

/// Splits off the next word: (type, word, remaining).
fn split_word(s: &str) -> (Word, &str, &str) {
    let (w, n) = next_word(s);
    let n = n.min(s.len());
    (w, &s[..n], &s[n..])
}

/// xstrings' `toLower`: upper-case and connector words are lowered and connectors replaced;
/// other words are copied as they are.
fn push_lower(buf: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        buf.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            buf.push(connector);
        } else if c.is_uppercase() {
            buf.push(go_lower(c));
        } else {
            buf.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (snake_case and kebab-case).
pub(crate) fn to_lower_case(s: &str, connector: char) -> String {
    let mut buf = String::new();
    let (mut wt, mut word, mut remaining) = split_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut buf, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = split_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut buf, wt, word, connector);
                    (wt, word, remaining) = split_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    buf.push(connector);
                }
            }
            Word::Connector => push_lower(&mut buf, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        buf.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let num = word;
                (wt, word, remaining) = split_word(remaining);
                if wt != Word::Alphabet {
                    push_lower(&mut buf, Word::Number, num, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        buf.push(connector);
                    }
                    continue;
                }
                buf.push(connector);
                push_lower(&mut buf, Word::Number, num, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut buf, wt, word, connector);
                    (wt, word, remaining) = split_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    buf.push(connector);
                }
            }
        }
    }
    push_lower(&mut buf, wt, word, connector);
    buf
}

/// xstrings' `ToCamelCase`: drops connectors and upper-cases the rune after each; leading
/// connectors are kept and the first letter is upper-cased.
pub(crate) fn to_camel_case(s: &str) -> String {
    let mut buf = String::new();
    let mut chars = s.chars();
    let mut r0 = '\0';
    let mut found = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = go_upper(c);
            found = true;
            break;
        }
        buf.push(c);
    }
    if !found {
        // xstrings writes the last connector a second time here.
        if let Some(c) = s.chars().last() {
            buf.push(c);
        }
        return buf;
    }
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            buf.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = go_upper(r0);
        } else {
            r0 = go_lower(r0);
            buf.push(r1);
        }
    }
    buf.push(r0);
    buf
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"snakecase "HTTPStatusCode""#, r#"http_status_code"#),
            (r#"snakecase "Bld4Floor""#, r#"bld4_floor"#),
            (r#"snakecase "HTTP2xx""#, r#"http_2xx"#),
            (
                r#"snakecase "firstName lastName""#,
                r#"first_name_last_name"#,
            ),
            (
                r#"snakecase "some-kebab_case Word""#,
                r#"some_kebab_case_word"#,
            ),
            (r#"snakecase "a1b2""#, r#"a_1b2"#),
            (r#"snakecase "foo.bar""#, r#"foo.bar"#),
            (r#"kebabcase "FirstName""#, r#"first-name"#),
            (r#"kebabcase "ID""#, r#"id"#),
            (r#"camelcase "http_server""#, r#"HttpServer"#),
            (r#"camelcase "_foo_bar""#, r#"_FooBar"#),
            (r#"camelcase "__""#, r#"___"#),
            (r#"camelcase "hello-world foo""#, r#"HelloWorldFoo"#),
            (r#"camelcase "x""#, r#"X"#),
            (r#"snakecase "XMLHttpRequest""#, r#"xml_http_request"#),
            (r#"kebabcase "XMLHttpRequest""#, r#"xml-http-request"#),
            (r#"camelcase "XMLHttpRequest""#, r#"Xmlhttprequest"#),
            (r#"snakecase "already_snake""#, r#"already_snake"#),
            (r#"camelcase "already_snake""#, r#"AlreadySnake"#),
            (r#"kebabcase "a1b2""#, r#"a-1b2"#),
            (r#"camelcase "foo.bar""#, r#"Foo.bar"#),
            (r#"snakecase "ABC""#, r#"abc"#),
            (r#"snakecase "aBC""#, r#"a_bc"#),
            (r#"snakecase "A""#, r#"a"#),
            (r#"snakecase "one two  three""#, r#"one_two__three"#),
            (r#"snakecase "  lead""#, r#"__lead"#),
            (r#"snakecase "trail  ""#, r#"trail__"#),
            (r#"snakecase "x-Y_z""#, r#"x_y_z"#),
            (r#"snakecase "日本語Test""#, r#"日本語_test"#),
            (r#"snakecase "v1.2.3""#, r#"v1.2.3"#),
            (r#"snakecase "hello!World""#, r#"hello!world"#),
            (r#"snakecase "$money$Sign""#, r#"$_money_$_sign"#),
            (r#"camelcase "  lead""#, r#"  Lead"#),
            (r#"camelcase "a b""#, r#"AB"#),
            (r#"kebabcase "HelloWorld123Foo""#, r#"hello-world123-foo"#),
            (r#"kebabcase "123abc""#, r#"123abc"#),
            (r#"kebabcase "abc123""#, r#"abc123"#),
            (r#"kebabcase "ABC123def""#, r#"abc-123def"#),
            (r#"kebabcase "a-1-b""#, r#"a-1-b"#),
        ]);
    }
}
