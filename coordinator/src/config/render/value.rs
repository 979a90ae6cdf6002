//! Values as a Go template sees them.
//!
//! werf renders `werf.yaml` with Go's `text/template`, where every value is a Go `interface{}`
//! holding a concrete Go type. Users' templates observe those types: `%v` prints `[a b]` for a
//! slice and `map[k:v]` for a map, `typeOf` names `[]interface {}`, `eq` refuses to compare a
//! string with an int, sprig's `set` mutates a map that other variables also see. [`Value`]
//! models exactly the Go types that the template built-ins, sprig and werf's functions produce.
//!
//! Invariants:
//! - Maps are shared and mutable (`Rc<RefCell<..>>`), like Go maps: `set`/`unset` on one
//!   reference are seen through every other. Lists are immutable; list functions build new ones
//!   (sprig copies slices too).
//! - Map keys are strings kept in byte order, which is the order Go's `fmt` and `range` use.
//! - `Value::Nil` is Go's nil interface: it prints `<nil>` through `fmt` and `<no value>` when
//!   an action prints it directly (the engine decides which).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// A Go value inside a template.
#[derive(Clone)]
pub enum Value {
    /// Go's nil interface (a missing map key, an unset variable, `nil`).
    Nil,
    Bool(bool),
    /// Go `int` (what `len`, `atoi`, YAML integers and integer literals give).
    Int(i64),
    /// Go `int64` (what sprig's arithmetic and `int64` give).
    Int64(i64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`. Go strings are bytes; ours are UTF-8, which is all a werf.yaml holds.
    Str(Rc<str>),
    /// A Go slice.
    List(Rc<List>),
    /// A Go map with string keys, shared and mutable.
    Map(Rc<RefCell<Map>>),
    /// Anything with methods, e.g. werf's `.Files`.
    Object(Rc<dyn Object>),
}

/// The element type of a Go slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemKind {
    /// `[]interface {}`
    Any,
    /// `[]string`
    String,
    /// `[]int`
    Int,
}

/// A Go slice: its element type and items.
#[derive(Clone, Debug)]
pub struct List {
    pub kind: ElemKind,
    pub items: Vec<Value>,
}

/// The key and element types of a Go map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `map[string]interface {}` (dict, werf's data, `fromYaml`'s top level).
    StringAny,
    /// `map[string]string` (sprig's `split`, `splitn`).
    StringString,
    /// `map[interface {}]interface {}` (nested maps that yaml.v2 decodes).
    AnyAny,
}

/// A Go map: its type and entries in key order.
#[derive(Clone, Debug)]
pub struct Map {
    pub kind: MapKind,
    pub entries: BTreeMap<String, Value>,
}

/// The parameter types a function declares. The engine checks and converts arguments against
/// them the way Go's `text/template` does with reflection, so errors read like Go's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `interface {}`: any value, nil included.
    Any,
    String,
    Int,
    Int64,
    Float64,
    Bool,
    /// `[]interface {}`
    List,
    /// `[]string`
    Strings,
    /// `map[string]interface {}`
    Map,
}

/// What a function returns: a value, or an error message (the engine adds Go's
/// `error calling NAME: ` prefix and the template position).
pub type FuncResult = Result<Value, String>;

/// A callable: a template function or an object's method.
#[derive(Clone)]
pub struct Func {
    /// Declared parameter types, in order.
    pub params: Vec<Ty>,
    /// The type of trailing variadic arguments, if the function is variadic.
    pub variadic: Option<Ty>,
    /// The implementation; it receives arguments already checked against `params`.
    pub call: Rc<dyn Fn(Vec<Value>) -> FuncResult>,
}

impl Func {
    /// A function with fixed parameters.
    pub fn new(params: &[Ty], call: impl Fn(Vec<Value>) -> FuncResult + 'static) -> Func {
        Func {
            params: params.to_vec(),
            variadic: None,
            call: Rc::new(call),
        }
    }

    /// A function with fixed parameters followed by any number of `rest` arguments.
    pub fn variadic(
        params: &[Ty],
        rest: Ty,
        call: impl Fn(Vec<Value>) -> FuncResult + 'static,
    ) -> Func {
        Func {
            params: params.to_vec(),
            variadic: Some(rest),
            call: Rc::new(call),
        }
    }
}

/// A value with methods and fields, such as werf's `.Files`.
pub trait Object {
    /// The Go type name used in messages and by `typeOf`, e.g. `*config.files`.
    fn go_type(&self) -> String;
    /// The method called `name`, if there is one.
    fn method(&self, name: &str) -> Option<Func>;
    /// The concrete Rust value, for functions that accept only their own object type (sprig's
    /// date functions take a `time.Time`). Objects nobody downcasts keep the default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn list(kind: ElemKind, items: Vec<Value>) -> Value {
        Value::List(Rc::new(List { kind, items }))
    }

    pub fn map(kind: MapKind, entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(Map { kind, entries })))
    }

    /// An empty `map[string]interface {}`.
    pub fn empty_map() -> Value {
        Value::map(MapKind::StringAny, BTreeMap::new())
    }

    /// The Go type name, as `%T` and sprig's `typeOf` print it.
    pub fn go_type(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::List(l) => match l.kind {
                ElemKind::Any => "[]interface {}".into(),
                ElemKind::String => "[]string".into(),
                ElemKind::Int => "[]int".into(),
            },
            Value::Map(m) => match m.borrow().kind {
                MapKind::StringAny => "map[string]interface {}".into(),
                MapKind::StringString => "map[string]string".into(),
                MapKind::AnyAny => "map[interface {}]interface {}".into(),
            },
            Value::Object(o) => o.go_type(),
        }
    }

    /// The Go reflect kind name, as sprig's `kindOf` prints it.
    pub fn go_kind(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "ptr",
        }
    }

    /// Go template truth (`if`, `and`, `or`, `not`): false for nil, false, zero numbers, and
    /// empty strings, lists and maps.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.borrow().entries.is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The string inside, if this is a Go string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Formats as Go's `fmt` does with `%v` (and `fmt.Sprint` of one operand).
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        write_v(&mut out, self, true);
        out
    }
}

/// Writes `v` as `%v` does. `top` is false inside slices and maps, where Go prints a nil
/// element as `<nil>` too, so today both cases agree; kept for clarity of intent.
fn write_v(out: &mut String, v: &Value, top: bool) {
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, item, false);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.borrow().entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, item, false);
            }
            out.push(']');
        }
        Value::Object(o) => {
            let _ = top;
            // Go's fmt prints a value with a `String() string` method through it (Stringer),
            // as it does for `time.Time`.
            let stringer = o.method("String").filter(|f| f.params.is_empty());
            match stringer.map(|f| (f.call)(Vec::new())) {
                Some(Ok(Value::Str(s))) => out.push_str(&s),
                _ => out.push_str(&format!("{{{}}}", o.go_type())),
            }
        }
    }
}

/// Formats a float64 as Go's `fmt` does for `%v`: `strconv.FormatFloat(f, 'g', -1, 64)`, the
/// shortest digits that round-trip, in `%e` form when the decimal exponent is < -4 or >= 6
/// (Go's rule for the shortest `%g`; see `strconv/ftoa.go`).
pub fn format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, like Go's shortest mode.
    let sci = format!("{:e}", f);
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // %e form: d.ddde±XX
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.go_type(), self.to_go_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        // Expected strings are what Go 1.19's fmt.Sprint prints for these float64 values.
        let cases = [
            (1.0, "1"),
            (3.25, "3.25"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (100.0, "100"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float_g(f), want, "formatting {f}");
        }
    }

    #[test]
    fn composite_values_print_like_go() {
        let list = Value::list(
            ElemKind::Any,
            vec![Value::str("a"), Value::Int(1), Value::Nil],
        );
        assert_eq!(list.to_go_string(), "[a 1 <nil>]");
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), Value::Bool(true));
        m.insert("a".to_string(), list);
        assert_eq!(
            Value::map(MapKind::StringAny, m).to_go_string(),
            "map[a:[a 1 <nil>] b:true]"
        );
    }
}
