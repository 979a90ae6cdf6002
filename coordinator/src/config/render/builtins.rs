//! Go's template built-ins: `and or not len index slice print printf println html js
//! urlquery call eq ne lt le gt ge`.
//!
//! They take `reflect.Value`s in Go, so they see whether a value is missing or a nil
//! interface ([`RV`]); their error texts are Go's, including the ones Go produces by
//! recovering a reflection panic (`reflect: slice index out of range`). `and` and `or` are
//! evaluated lazily by the executor; only their signature lives here.

use super::exec::eval::PT;
use super::exec::{list_elem, map_elem, RV};
use super::gofmt::{sprint, sprintf, sprintln};
use super::value::{MapKind, Ty, Value};

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Html,
    Js,
    UrlQuery,
    Call,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Every built-in with its name.
pub const BUILTINS: [(&str, Builtin); 19] = [
    ("and", Builtin::And),
    ("or", Builtin::Or),
    ("not", Builtin::Not),
    ("len", Builtin::Len),
    ("index", Builtin::Index),
    ("slice", Builtin::Slice),
    ("print", Builtin::Print),
    ("printf", Builtin::Printf),
    ("println", Builtin::Println),
    ("html", Builtin::Html),
    ("js", Builtin::Js),
    ("urlquery", Builtin::UrlQuery),
    ("call", Builtin::Call),
    ("eq", Builtin::Eq),
    ("ne", Builtin::Ne),
    ("lt", Builtin::Lt),
    ("le", Builtin::Le),
    ("gt", Builtin::Gt),
    ("ge", Builtin::Ge),
];

impl Builtin {
    /// Fixed parameters and the variadic parameter, as Go declares them.
    pub fn signature(self) -> (Vec<PT>, Option<PT>) {
        use Builtin::*;
        let r = PT::Reflect;
        let any = PT::Go(Ty::Any);
        match self {
            And | Or | Index | Slice | Call | Eq => (vec![r], Some(r)),
            Not | Len => (vec![r], None),
            Ne | Lt | Le | Gt | Ge => (vec![r, r], None),
            Print | Println | Html | Js | UrlQuery => (vec![], Some(any)),
            Printf => (vec![PT::Go(Ty::String)], Some(any)),
        }
    }
}

/// Go's `indirectInterface`: a nil interface becomes the invalid value.
fn concrete(v: &RV) -> RV {
    RV::concrete(v.v.clone())
}

/// Go's `truth`.
pub fn truth(v: &RV) -> bool {
    v.v.truth()
}

/// Calls built-in `b` (not `and`/`or`) with checked arguments.
pub fn call(b: Builtin, args: Vec<RV>) -> Result<RV, String> {
    use Builtin::*;
    let vals = || args.iter().map(|a| a.v.clone()).collect::<Vec<_>>();
    let first = args.first().cloned().unwrap_or_else(RV::invalid);
    let ok = |v: Value| Ok(RV::concrete(v));
    match b {
        And | Or => Ok(first),
        Not => ok(Value::Bool(!truth(&first))),
        Len => length(&first).map(|n| RV::concrete(Value::Int(n))),
        Index => index(&first, &args[1..]),
        Slice => slice(&first, &args[1..]),
        Print => ok(Value::str(sprint(&vals()))),
        Println => ok(Value::str(sprintln(&vals()))),
        Printf => {
            let v = vals();
            let fmt = v.first().and_then(Value::as_str).unwrap_or("").to_string();
            ok(Value::str(sprintf(&fmt, v.get(1..).unwrap_or(&[]))))
        }
        Html => ok(Value::str(html_escape(&eval_args(&vals())))),
        Js => ok(Value::str(js_escape(&eval_args(&vals())))),
        UrlQuery => ok(Value::str(query_escape(&eval_args(&vals())))),
        Call => {
            if concrete(&first).is_invalid() {
                Err("call of nil".into())
            } else {
                Err(format!("non-function of type {}", first.v.go_type()))
            }
        }
        Eq => eq(&first, &args[1..]).map(|b| RV::concrete(Value::Bool(b))),
        Ne => eq(&first, &args[1..]).map(|b| RV::concrete(Value::Bool(!b))),
        Lt => {
            lt(&first, args.get(1).unwrap_or(&RV::invalid())).map(|b| RV::concrete(Value::Bool(b)))
        }
        Le => {
            le(&first, args.get(1).unwrap_or(&RV::invalid())).map(|b| RV::concrete(Value::Bool(b)))
        }
        Gt => {
            le(&first, args.get(1).unwrap_or(&RV::invalid())).map(|b| RV::concrete(Value::Bool(!b)))
        }
        Ge => {
            lt(&first, args.get(1).unwrap_or(&RV::invalid())).map(|b| RV::concrete(Value::Bool(!b)))
        }
    }
}

fn length(item: &RV) -> Result<i64, String> {
    if item.iface && matches!(item.v, Value::Nil) {
        return Err("len of nil pointer".into());
    }
    match &item.v {
        Value::Nil => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::Str(s) => Ok(s.len() as i64),
        Value::List(l) => Ok(l.items.len() as i64),
        Value::Map(m) => Ok(m.borrow().entries.len() as i64),
        other => Err(format!("len of type {}", other.go_type())),
    }
}

fn index_arg(index: &RV, cap: usize) -> Result<usize, String> {
    let x = match &index.v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.go_type()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &RV, indexes: &[RV]) -> Result<RV, String> {
    let mut item = concrete(item);
    if item.is_invalid() {
        return Err("index of untyped nil".into());
    }
    for idx in indexes {
        let idx = concrete(idx);
        if item.iface && matches!(item.v, Value::Nil) {
            return Err("index of nil pointer".into());
        }
        item = match &item.v {
            Value::List(l) => {
                let x = index_arg(&idx, l.items.len())?;
                match l.items.get(x) {
                    Some(v) => list_elem(l.kind, v),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::Str(s) => {
                let x = index_arg(&idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => RV::concrete(Value::Int(i64::from(*b))),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => {
                let m = m.borrow();
                let key = match (&idx.v, m.kind) {
                    (Value::Str(s), _) => s.to_string(),
                    (Value::Nil, MapKind::AnyAny) => String::from("\u{0}<nil>"),
                    (Value::Nil, _) => return Err("value is nil; should be of type string".into()),
                    (other, MapKind::AnyAny) => other.to_go_string(),
                    (other, _) => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.go_type()
                        ))
                    }
                };
                match m.entries.get(&key) {
                    Some(v) => map_elem(m.kind, v),
                    None if m.kind == MapKind::StringString => RV::concrete(Value::str("")),
                    None => RV {
                        v: Value::Nil,
                        iface: true,
                    },
                }
            }
            other => return Err(format!("can't index item of type {}", other.go_type())),
        };
    }
    Ok(item)
}

fn slice(item: &RV, indexes: &[RV]) -> Result<RV, String> {
    let item = concrete(item);
    if item.is_invalid() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match &item.v {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        other => return Err(format!("can't slice item of type {}", other.go_type())),
    };
    let mut idx = [0usize, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(&concrete(index), len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(RV::concrete(match &item.v {
        Value::Str(s) => {
            let bytes = s.as_bytes().get(idx[0]..idx[1]).unwrap_or(&[]);
            Value::str(String::from_utf8_lossy(bytes).as_ref())
        }
        Value::List(l) => Value::list(l.kind, l.items.get(idx[0]..idx[1]).unwrap_or(&[]).to_vec()),
        _ => Value::Nil,
    }))
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

/// reflect kinds, for `canCompare`.
fn reflect_kind(v: &Value) -> &'static str {
    v.go_kind()
}

fn eq(arg1: &RV, rest: &[RV]) -> Result<bool, String> {
    let a = &arg1.v;
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for arg in rest {
        let b = &arg.v;
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if !matches!(a, Value::Nil) && !matches!(b, Value::Nil) {
                return Err("incompatible types for comparison".into());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                _ => {
                    let (ka, kb) = (reflect_kind(a), reflect_kind(b));
                    if ka != kb && ka != "invalid" && kb != "invalid" {
                        return Err(sprintf(
                            "non-comparable types %s: %v, %s: %v",
                            &[
                                a.clone(),
                                Value::str(a.go_type()),
                                Value::str(b.go_type()),
                                b.clone(),
                            ],
                        ));
                    }
                    let nil_a = matches!(a, Value::Nil);
                    let nil_b = matches!(b, Value::Nil);
                    if nil_a || nil_b {
                        nil_a == nil_b
                    } else {
                        match (a, b) {
                            (Value::Object(x), Value::Object(y)) => std::rc::Rc::ptr_eq(x, y),
                            _ => {
                                return Err(sprintf(
                                    "non-comparable type %s: %v",
                                    &[b.clone(), Value::str(b.go_type())],
                                ))
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(arg1: &RV, arg2: &RV) -> Result<bool, String> {
    let (a, b) = (&arg1.v, &arg2.v);
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x.as_bytes() < y.as_bytes(),
        _ => return Err("invalid type for comparison".into()),
    })
}

fn le(a: &RV, b: &RV) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `evalArgs` for the escapers: a single string as is, otherwise `fmt.Sprint` with a
/// missing value shown as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    let shown: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::str("<no value>"),
            other => other.clone(),
        })
        .collect();
    sprint(&shown)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || super::gofmt::quote::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapers_match_go() {
        // Expected values from Go 1.19's html, js and urlquery built-ins.
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            js_escape("a'b\"c<d>=&\\\n"),
            "a\\'b\\\"c\\u003Cd\\u003E\\u003D\\u0026\\\\\\u000A"
        );
        assert_eq!(query_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
