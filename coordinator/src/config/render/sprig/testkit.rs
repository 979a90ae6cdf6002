//! Test support (compiled only under `cfg(test)`): evaluates one-line template expressions
//! such as `join "-" (list 1 "a") | upper` against the sprig functions of this directory, so
//! that the modules' tests can be tables of (expression, output the Go oracle printed).
//!
//! The mini language is the subset of template syntax those tables use: string literals
//! (Go escapes, raw back-quoted), integers, floats, `nil`/`true`/`false`, parenthesised calls,
//! pipelines, and `$x := EXPR` entries that bind a variable for later entries. Results print
//! the way an action prints them (`<no value>` for nil); errors as `ERR error calling NAME:
//! MSG`, the tail of Go's message. Arguments are not converted like the engine does, except
//! integer literals passed to `float64` parameters.

use std::collections::HashMap;

use super::super::value::{Func, Ty, Value};

/// Every function registered by the modules here.
fn funcs() -> HashMap<&'static str, Func> {
    let mut v = Vec::new();
    super::conv::register(&mut v);
    super::defaults::register(&mut v);
    super::dicts::register(&mut v);
    super::encoding::register(&mut v);
    super::lists::register(&mut v);
    super::numeric::register(&mut v);
    super::paths::register(&mut v);
    super::reflect::register(&mut v);
    super::regex::register(&mut v);
    super::strings::register(&mut v);
    super::url::register(&mut v);
    super::semver::register(&mut v);
    v.into_iter().collect()
}

#[derive(Clone, Debug)]
enum Tok {
    Str(String),
    Num(String),
    Word(String),
    Open,
    Close,
    Pipe,
}

/// Go's interpreted string literal escapes.
fn unescape(chars: &[char], i: &mut usize) -> char {
    let c = chars[*i];
    *i += 1;
    let hex = |i: &mut usize, n: usize| {
        let s: String = chars[*i..*i + n].iter().collect();
        *i += n;
        char::from_u32(u32::from_str_radix(&s, 16).unwrap()).unwrap()
    };
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'v' => '\u{b}',
        'x' => hex(i, 2),
        'u' => hex(i, 4),
        'U' => hex(i, 8),
        c => c,
    }
}

fn lex(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < c.len() {
        match c[i] {
            ' ' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                        s.push(unescape(&c, &mut i));
                    } else {
                        s.push(c[i]);
                        i += 1;
                    }
                }
                i += 1;
                out.push(Tok::Str(s));
            }
            '`' => {
                let end = c[i + 1..].iter().position(|x| *x == '`').unwrap() + i + 1;
                out.push(Tok::Str(c[i + 1..end].iter().collect()));
                i = end + 1;
            }
            _ => {
                let mut w = String::new();
                while i < c.len() && !" ()|".contains(c[i]) {
                    w.push(c[i]);
                    i += 1;
                }
                if w.starts_with(|x: char| x.is_ascii_digit() || x == '-') {
                    out.push(Tok::Num(w));
                } else {
                    out.push(Tok::Word(w));
                }
            }
        }
    }
    out
}

struct Eval {
    funcs: HashMap<&'static str, Func>,
    vars: HashMap<String, Value>,
}

impl Eval {
    fn operand(&self, t: &[Tok], i: &mut usize) -> Result<Value, String> {
        let tok = t[*i].clone();
        *i += 1;
        Ok(match tok {
            Tok::Str(s) => Value::str(s),
            Tok::Num(n) if n.contains(['.', 'e']) => Value::Float(n.parse().unwrap()),
            Tok::Num(n) => Value::Int(n.parse().unwrap()),
            Tok::Open => {
                let v = self.pipeline(t, i)?;
                *i += 1;
                v
            }
            Tok::Word(w) if w == "nil" => Value::Nil,
            Tok::Word(w) if w == "true" => Value::Bool(true),
            Tok::Word(w) if w == "false" => Value::Bool(false),
            Tok::Word(w) if w.starts_with('$') => self.vars[&w].clone(),
            Tok::Word(w) => self.call(&w, t, i, None)?,
            other => panic!("unexpected {other:?}"),
        })
    }

    fn call(
        &self,
        name: &str,
        t: &[Tok],
        i: &mut usize,
        piped: Option<Value>,
    ) -> Result<Value, String> {
        let f = self
            .funcs
            .get(name)
            .unwrap_or_else(|| panic!("no function {name}"))
            .clone();
        let mut args = vec![];
        while *i < t.len() && !matches!(t[*i], Tok::Close | Tok::Pipe) {
            args.push(self.operand(t, i)?);
        }
        args.extend(piped);
        let n = f.params.len();
        for (k, a) in args.iter_mut().enumerate() {
            let ty = f.params.get(k).copied().or(f.variadic);
            if let (Some(Ty::Float64), Value::Int(x)) = (ty, &*a) {
                *a = Value::Float(*x as f64);
            }
        }
        assert!(args.len() >= n, "{name}: too few arguments");
        (f.call)(args).map_err(|e| format!("error calling {name}: {e}"))
    }

    fn pipeline(&self, t: &[Tok], i: &mut usize) -> Result<Value, String> {
        let mut v = match &t[*i] {
            Tok::Word(w)
                if !w.starts_with('$') && !["nil", "true", "false"].contains(&w.as_str()) =>
            {
                *i += 1;
                self.call(&w.clone(), t, i, None)?
            }
            _ => self.operand(t, i)?,
        };
        while *i < t.len() && matches!(t[*i], Tok::Pipe) {
            let Tok::Word(w) = t[*i + 1].clone() else {
                panic!("pipe to a non-function")
            };
            *i += 2;
            v = self.call(&w, t, i, Some(v))?;
        }
        Ok(v)
    }
}

/// Evaluates each (expression, expected) pair in order and asserts the printed result.
pub(crate) fn check(cases: &[(&str, &str)]) {
    let mut ev = Eval {
        funcs: funcs(),
        vars: HashMap::new(),
    };
    for (expr, want) in cases {
        if let Some((var, rhs)) = expr.split_once(" := ") {
            let toks = lex(rhs);
            let v = ev.pipeline(&toks, &mut 0).expect("assignment failed");
            ev.vars.insert(var.to_string(), v);
            continue;
        }
        let toks = lex(expr);
        let got = match ev.pipeline(&toks, &mut 0) {
            Ok(Value::Nil) => "<no value>".to_string(),
            Ok(v) => v.to_go_string(),
            Err(e) => format!("ERR {e}"),
        };
        assert_eq!(&got, want, "for {expr}");
    }
}
