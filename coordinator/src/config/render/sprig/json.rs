//! Go's `encoding/json` as sprig uses it: `Marshal`, `MarshalIndent` and an `Encoder` without
//! HTML escaping (decoding, `Unmarshal` into `interface{}`, is in `json_decode.rs`).
//!
//! Output matches Go 1.19 byte for byte: map keys sorted, `<`, `>`, `&` escaped as `\u003c`
//! etc. unless raw, U+2028/U+2029 always escaped, control characters other than `\n` `\r` `\t`
//! as `\u00XX`, floats in the shortest form with Go's `e` cut-offs (< 1e-6 or >= 1e21).
//! Errors carry Go's messages (`json: unsupported type: ...`, `json: unsupported value: NaN`).
//! Encoding recurses over nesting, capped at [`MAX_DEPTH`] levels: only a map that contains
//! itself (through `set`) gets there, and Go reports such a cycle as an error too.

use super::super::value::{format_float_g, MapKind, Value};
pub(crate) use super::json_decode::decode;

/// Nesting beyond which encoding reports a cycle.
const MAX_DEPTH: usize = 200;

/// Encodes `v` as Go's `json.Marshal` (escape_html) or an `Encoder` with `SetEscapeHTML(false)`.
pub(crate) fn encode(v: &Value, escape_html: bool, indent: bool) -> Result<String, String> {
    let mut out = String::new();
    write_value(
        &mut out,
        v,
        escape_html,
        if indent { Some(0) } else { None },
        0,
    )?;
    Ok(out)
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_value(
    out: &mut String,
    v: &Value,
    html: bool,
    level: Option<usize>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        // Only a map that contains itself (through `set`) nests this deep; Go detects the
        // cycle and fails with this text.
        return Err(format!(
            "json: unsupported value: encountered a cycle via {}",
            v.go_type()
        ));
    }
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float(*f)?),
        Value::Str(s) => write_string(out, s, html),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(n) = level {
                    newline(out, n + 1);
                }
                write_value(out, item, html, level.map(|n| n + 1), depth + 1)?;
            }
            if let (Some(n), false) = (level, l.items.is_empty()) {
                newline(out, n);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.kind == MapKind::AnyAny {
                return Err("json: unsupported type: map[interface {}]interface {}".into());
            }
            out.push('{');
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(n) = level {
                    newline(out, n + 1);
                }
                write_string(out, k, html);
                out.push(':');
                if level.is_some() {
                    out.push(' ');
                }
                write_value(out, item, html, level.map(|n| n + 1), depth + 1)?;
            }
            if let (Some(n), false) = (level, m.entries.is_empty()) {
                newline(out, n);
            }
            out.push('}');
        }
        Value::Object(o) => {
            // `*semver.Version` marshals as its string; other objects are field-less structs.
            if o.go_type() == "*semver.Version" {
                write_string(out, &v.to_go_string(), html);
            } else {
                out.push_str("{}");
            }
        }
    }
    Ok(())
}

/// Go's float encoding: `strconv` shortest form, `e` notation outside [1e-6, 1e21).
fn float(f: f64) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        return Err(format!("json: unsupported value: {}", format_float_g(f)));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{:e}", f);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        let digits = if digits.len() < 2 && sign == '+' {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        return Ok(format!("{m}e{sign}{digits}"));
    }
    // Plain decimal: Rust's `{}` prints f64 in shortest round-trip digits without exponent.
    Ok(format!("{}", f))
}

fn write_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
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
                r#"toJson (dict "b" 1 "a" (list 1 2.5 "x<y>&z" nil true) "c" (dict))"#,
                r#"{"a":[1,2.5,"x\u003cy\u003e\u0026z",null,true],"b":1,"c":{}}"#,
            ),
            (
                r#"toRawJson (dict "b" 1 "a" (list 1 2.5 "x<y>&z" nil true))"#,
                r#"{"a":[1,2.5,"x<y>&z",null,true],"b":1}"#,
            ),
            (r#"toJson 1e21"#, r#"1e+21"#),
            (r#"toJson 1e20"#, r#"100000000000000000000"#),
            (r#"toJson 0.000001"#, r#"0.000001"#),
            (r#"toJson 0.0000001"#, r#"1e-7"#),
            (r#"toJson -1.5e-9"#, r#"-1.5e-9"#),
            (r#"toJson 123456789.123"#, r#"123456789.123"#),
            (
                r#"toJson "a\u2028b\x01c\bd\fe\n""#,
                r#""a\u2028b\u0001c\u0008d\u000ce\n""#,
            ),
            (r#"toJson (list)"#, r#"[]"#),
            (r#"toJson nil"#, r#"null"#),
            (r#"toJson (splitList "," "a,b")"#, r#"["a","b"]"#),
            (r#"toJson (split "," "a,b")"#, r#"{"_0":"a","_1":"b"}"#),
            (r#"toJson (float64 "nan")"#, r#""#),
            (
                r#"mustToJson (float64 "nan")"#,
                r#"ERR error calling mustToJson: json: unsupported value: NaN"#,
            ),
            (
                r#"toRawJson (float64 "inf")"#,
                r#"ERR error calling toRawJson: json: unsupported value: +Inf"#,
            ),
            (
                r#"fromJson "{\"a\": [1, 2.5, \"x\", null, true, {\"b\": {}}], \"c\": 1e3}""#,
                r#"map[a:[1 2.5 x <nil> true map[b:map[]]] c:1000]"#,
            ),
            (r#"fromJson "[1,""#, r#"<no value>"#),
            (r#"fromJson "nope""#, r#"<no value>"#),
            (
                r#"mustFromJson "nope""#,
                r#"ERR error calling mustFromJson: invalid character 'o' in literal null (expecting 'u')"#,
            ),
            (
                r#"mustFromJson "[1,""#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"mustFromJson "{\"a\" 1}""#,
                r#"ERR error calling mustFromJson: invalid character '1' after object key"#,
            ),
            (
                r#"mustFromJson "{\"a\": 1 \"b\"}""#,
                r#"ERR error calling mustFromJson: invalid character '"' after object key:value pair"#,
            ),
            (
                r#"mustFromJson "[1 2]""#,
                r#"ERR error calling mustFromJson: invalid character '2' after array element"#,
            ),
            (
                r#"mustFromJson "{1:2}""#,
                r#"ERR error calling mustFromJson: invalid character '1' looking for beginning of object key string"#,
            ),
            (
                r#"mustFromJson "tru""#,
                r#"ERR error calling mustFromJson: invalid character ' ' in literal true (expecting 'e')"#,
            ),
            (
                r#"mustFromJson "trux""#,
                r#"ERR error calling mustFromJson: invalid character 'x' in literal true (expecting 'e')"#,
            ),
            (
                r#"mustFromJson "1.x""#,
                r#"ERR error calling mustFromJson: invalid character 'x' after decimal point in numeric literal"#,
            ),
            (
                r#"mustFromJson "1ex""#,
                r#"ERR error calling mustFromJson: invalid character 'x' in exponent of numeric literal"#,
            ),
            (
                r#"mustFromJson "-x""#,
                r#"ERR error calling mustFromJson: invalid character 'x' in numeric literal"#,
            ),
            (
                r#"mustFromJson "1 2""#,
                r#"ERR error calling mustFromJson: invalid character '2' after top-level value"#,
            ),
            (
                r#"mustFromJson "\"a\\qb\"""#,
                r#"ERR error calling mustFromJson: invalid character 'q' in string escape code"#,
            ),
            (
                r#"mustFromJson "\"\\u12x4\"""#,
                r#"ERR error calling mustFromJson: invalid character 'x' in \u hexadecimal character escape"#,
            ),
            (
                r#"mustFromJson """#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"mustFromJson "  ""#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"mustFromJson "'a'""#,
                r#"ERR error calling mustFromJson: invalid character '\'' looking for beginning of value"#,
            ),
            (r#"mustFromJson "\"\\ud83d\\ude00 \\u00e9\"""#, r#"😀 é"#),
            (
                r#"mustFromJson "01""#,
                r#"ERR error calling mustFromJson: invalid character '1' after top-level value"#,
            ),
            (
                r#"mustFromJson "1e500""#,
                r#"ERR error calling mustFromJson: json: cannot unmarshal number 1e500 into Go value of type float64"#,
            ),
            (
                r#"mustFromJson "tru""#,
                r#"ERR error calling mustFromJson: invalid character ' ' in literal true (expecting 'e')"#,
            ),
            (
                r#"mustFromJson "1.""#,
                r#"ERR error calling mustFromJson: invalid character ' ' after decimal point in numeric literal"#,
            ),
            (
                r#"mustFromJson "-""#,
                r#"ERR error calling mustFromJson: invalid character ' ' in numeric literal"#,
            ),
            (
                r#"mustFromJson "1e""#,
                r#"ERR error calling mustFromJson: invalid character ' ' in exponent of numeric literal"#,
            ),
            (
                r#"mustFromJson "\"abc""#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"mustFromJson "\"\\""#,
                r#"ERR error calling mustFromJson: invalid character ' ' in string escape code"#,
            ),
            (
                r#"mustFromJson "\"\\u12""#,
                r#"ERR error calling mustFromJson: invalid character ' ' in \u hexadecimal character escape"#,
            ),
            (
                r#"mustFromJson "{""#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"mustFromJson "{\"a\"""#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"mustFromJson "{\"a\":""#,
                r#"ERR error calling mustFromJson: unexpected end of JSON input"#,
            ),
            (
                r#"toPrettyJson (dict "b" 1 "a" (list 1 (dict) (list) (dict "x" (list 1))))"#,
                r#"{
  "a": [
    1,
    {},
    [],
    {
      "x": [
        1
      ]
    }
  ],
  "b": 1
}"#,
            ),
            (r#"mustToPrettyJson (list)"#, r#"[]"#),
        ]);
    }
}
