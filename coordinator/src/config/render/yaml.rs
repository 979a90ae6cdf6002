//! werf's `toYaml` and `fromYaml`: gopkg.in/yaml.v2's `Marshal` and `Unmarshal` as the
//! reference renderer calls them, byte for byte.
//!
//! - [`to_yaml`] turns a [`Value`] into the events yaml.v2's encoder would produce (map keys
//!   in yaml.v2's "natural" order, strings quoted exactly when yaml.v2 would read them back as
//!   something else, multi-line strings as literal blocks) and writes them with a port of the
//!   part of libyaml's emitter yaml.v2 uses (`yaml/emit.rs`).
//! - [`from_yaml`] parses with libyaml-safer (same libyaml lineage, same error texts) and
//!   decodes with yaml.v2's rules (`yaml/decode.rs`, scalar rules in `yaml/resolve.rs`).
//!
//! Our maps keep string keys. Nested maps from `fromYaml` are Go
//! `map[interface{}]interface{}` whose keys may be ints, floats, bools or nil; we store Go's
//! `%v` text of such keys, and `to_yaml` reads a key of a [`MapKind::AnyAny`] map back as the
//! typed key whose `%v` text it is (`1` → int, `true` → bool, `<nil>` → nil), which makes a
//! `fromYaml | toYaml` round trip match Go. Known loss: a quoted `"1"` key in a nested map
//! comes back unquoted.
//!
//! Cyclic maps (a map `set` into itself) make Go overflow its stack; we stop at
//! [`MAX_DEPTH`] levels and return an error instead.

#[path = "yaml/decode.rs"]
mod decode;
#[path = "yaml/emit.rs"]
mod emit;
#[path = "yaml/resolve.rs"]
mod resolve;

use super::value::{format_float_g, MapKind, Value};
use emit::{Node, Style};
use resolve::{Key, Scalar};

/// The deepest value `to_yaml` writes and `from_yaml` reads.
pub const MAX_DEPTH: usize = decode::MAX_DEPTH;

/// Go's `time.RFC3339Nano`, the layout yaml.v2 writes `time.Time` values with.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// `yaml.Marshal(v)` with the trailing newline trimmed (werf's `toYaml`). Errors are for
/// values yaml.v2 cannot write; gorender prints "" for them, the caller decides.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    let node = marshal(v, 0)?;
    let out = emit::emit_document(&node);
    Ok(out.strip_suffix('\n').unwrap_or(&out).to_string())
}

/// `yaml.Unmarshal(s, &map[string]interface{})` (werf's `fromYaml`): the decoded map, with an
/// `"Error"` entry holding yaml.v2's message if decoding failed (entries decoded before a
/// failure stay, as in Go).
pub fn from_yaml(s: &str) -> Value {
    let (mut entries, error) = decode::unmarshal(s);
    if let Some(message) = error {
        entries.insert("Error".to_string(), Value::str(message));
    }
    Value::map(MapKind::StringAny, entries)
}

fn marshal(v: &Value, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "toYaml: value nested deeper than {MAX_DEPTH} levels (a map containing itself?)"
        ));
    }
    Ok(match v {
        Value::Nil => plain("null"),
        Value::Bool(b) => plain(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => plain(&i.to_string()),
        Value::Float(f) => plain(&float_text(*f)),
        Value::Str(s) => string_node(s),
        Value::List(l) => Node::Seq(
            l.items
                .iter()
                .map(|item| marshal(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let m = m.borrow();
            let keyed: Vec<(Key, &Value)> = m
                .entries
                .iter()
                .map(|(k, v)| (typed_key(m.kind, k), v))
                .collect();
            let mut entries = Vec::with_capacity(keyed.len());
            for (key, value) in resolve::sort_keys(keyed) {
                entries.push((key_node(&key), marshal(value, depth + 1)?));
            }
            Node::Map(entries)
        }
        Value::Object(o) => {
            // time.Time is written as RFC 3339 text; other Go structs (werf's `.Files`) have
            // no exported fields, which yaml.v2 writes as `{}`.
            let formatted = (o.go_type() == "time.Time")
                .then(|| o.method("Format"))
                .flatten()
                .and_then(|f| (f.call)(vec![Value::str(RFC3339_NANO)]).ok());
            match formatted {
                Some(Value::Str(s)) => plain(&s),
                _ => Node::Map(Vec::new()),
            }
        }
    })
}

fn plain(s: &str) -> Node {
    Node::Scalar(s.to_string(), Style::Plain)
}

/// yaml.v2's `floatv`: `%g` digits, with YAML's spellings of infinities and NaN.
fn float_text(f: f64) -> String {
    match format_float_g(f).as_str() {
        "+Inf" => ".inf".into(),
        "-Inf" => "-.inf".into(),
        "NaN" => ".nan".into(),
        other => other.into(),
    }
}

/// yaml.v2's `stringv`: literal block if multi-line, plain if it reads back as the same
/// string, double-quoted otherwise (the emitter may still pick another safe style).
fn string_node(s: &str) -> Node {
    let style = if s.contains('\n') {
        Style::Literal
    } else if matches!(resolve::resolve("", s), Ok(Scalar::Str(_))) && !resolve::is_base60_float(s)
    {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    Node::Scalar(s.to_string(), style)
}

/// The Go key a stored key stands for. Only `map[interface{}]interface{}` keys can be
/// non-strings, and we stored their `%v` text, so read back exactly the texts `%v` makes.
fn typed_key(kind: MapKind, k: &str) -> Key {
    if kind != MapKind::AnyAny {
        return Key::Str(k.to_string());
    }
    match k {
        "<nil>" => return Key::Nil,
        "true" => return Key::Bool(true),
        "false" => return Key::Bool(false),
        "+Inf" => return Key::Float(f64::INFINITY),
        "-Inf" => return Key::Float(f64::NEG_INFINITY),
        "NaN" => return Key::Float(f64::NAN),
        _ => {}
    }
    if let Ok(i) = k.parse::<i64>() {
        if i.to_string() == k {
            return Key::Int(i);
        }
    }
    if k.bytes()
        .all(|b| b.is_ascii_digit() || b"+-.e".contains(&b))
    {
        if let Ok(f) = k.parse::<f64>() {
            if format_float_g(f) == k {
                return Key::Float(f);
            }
        }
    }
    Key::Str(k.to_string())
}

fn key_node(key: &Key) -> Node {
    match key {
        Key::Nil => plain("null"),
        Key::Bool(b) => plain(if *b { "true" } else { "false" }),
        Key::Int(i) => plain(&i.to_string()),
        Key::Float(f) => plain(&float_text(*f)),
        Key::Str(s) => string_node(s),
    }
}

#[cfg(test)]
#[path = "yaml/tests.rs"]
mod tests;
