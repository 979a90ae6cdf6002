//! Evaluating pipelines, commands, fields, variables and arguments (Go's `evalPipeline`,
//! `evalCommand`, `evalField`, `evalArg`, `validateType`).

use super::super::error::Msg;
use super::super::gofmt::quote::quote;
use super::super::parse::ast::{Arg, Command, Number, Pipe};
use super::super::value::{ElemKind, MapKind, Ty, Value};
use super::{map_elem, At, Callable, EResult, FilesMethod, State, RV};

/// A declared parameter type: a Go type, or `reflect.Value` (what the built-ins take).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PT {
    Go(Ty),
    Reflect,
}

pub fn ty_name(t: Ty) -> &'static str {
    match t {
        Ty::Any => "interface {}",
        Ty::String => "string",
        Ty::Int => "int",
        Ty::Int64 => "int64",
        Ty::Float64 => "float64",
        Ty::Bool => "bool",
        Ty::List => "[]interface {}",
        Ty::Strings => "[]string",
        Ty::Map => "map[string]interface {}",
    }
}

fn pt_name(t: PT) -> &'static str {
    match t {
        PT::Go(t) => ty_name(t),
        PT::Reflect => "reflect.Value",
    }
}

fn can_be_nil(t: PT) -> bool {
    matches!(
        t,
        PT::Reflect | PT::Go(Ty::Any | Ty::List | Ty::Strings | Ty::Map)
    )
}

/// The zero value of a nil-able type.
fn zero(t: PT) -> RV {
    match t {
        PT::Go(Ty::List) => RV::concrete(Value::list(ElemKind::Any, Vec::new())),
        PT::Go(Ty::Strings) => RV::concrete(Value::list(ElemKind::String, Vec::new())),
        PT::Go(Ty::Map) => RV::concrete(Value::empty_map()),
        PT::Go(Ty::Any) => RV {
            v: Value::Nil,
            iface: true,
        },
        _ => RV::invalid(),
    }
}

fn is_of(v: &Value, t: Ty) -> bool {
    match (v, t) {
        (_, Ty::Any) => true,
        (Value::Str(_), Ty::String) => true,
        (Value::Int(_), Ty::Int) => true,
        (Value::Int64(_), Ty::Int64) => true,
        (Value::Float(_), Ty::Float64) => true,
        (Value::Bool(_), Ty::Bool) => true,
        (Value::List(l), Ty::List) => l.kind == ElemKind::Any,
        (Value::List(l), Ty::Strings) => l.kind == ElemKind::String,
        (Value::Map(m), Ty::Map) => m.borrow().kind == MapKind::StringAny,
        _ => false,
    }
}

impl<'e, 't> State<'e, 't> {
    pub fn eval_pipeline(&mut self, dot: &RV, pipe: &'t Pipe) -> EResult<RV> {
        stacker::maybe_grow(super::RED_ZONE, super::STACK_STEP, || {
            self.eval_pipeline_inner(dot, pipe)
        })
    }

    fn eval_pipeline_inner(&mut self, dot: &RV, pipe: &'t Pipe) -> EResult<RV> {
        self.at = At::Pipe(pipe);
        let mut value: Option<RV> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?.normalize());
        }
        let value = value.unwrap_or_else(RV::invalid);
        for (_, name) in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<RV>) -> EResult<()> {
        if args.len() > 1 || fin.is_some() {
            let first = args.first().map(Arg::to_go_string).unwrap_or_default();
            return self.errorf(format!("can't give argument to non-function {first}"));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &RV, cmd: &'t Command, fin: Option<RV>) -> EResult<RV> {
        let Some(first) = cmd.args.first() else {
            return Ok(RV::invalid());
        };
        match first {
            Arg::Field { ident, .. } => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), first, ident, Some(&cmd.args), fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, Some(&cmd.args), fin),
            Arg::Identifier { name, .. } => {
                self.at = At::Arg(first);
                return self.eval_function(dot, name, At::Cmd(cmd), Some(&cmd.args), fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, Some(&cmd.args), fin),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(RV::concrete(Value::Bool(*val))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.errorf("nil is not a command"),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(RV::concrete(Value::str(text.as_str()))),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                quote(&first.to_go_string())
            )),
        }
    }

    fn ideal_constant(&mut self, node: &'t Arg, n: &Number) -> EResult<RV> {
        self.at = At::Arg(node);
        if n.is_complex {
            return self.errorf("complex numbers are not supported");
        }
        let t = &n.text;
        let hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes().get(1), Some(b'x' | b'X'))
            && !t.contains(['p', 'P']);
        let rune = t.starts_with('\'');
        if n.is_float && !hex_int && !rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(RV::concrete(Value::Float(n.float64)));
        }
        if n.is_int {
            return Ok(RV::concrete(Value::Int(n.int64)));
        }
        if n.is_uint {
            return self.errorf(format!("{t} overflows int"));
        }
        Ok(RV::invalid())
    }

    fn eval_chain(
        &mut self,
        dot: &RV,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<RV>,
    ) -> EResult<RV> {
        self.at = At::Arg(node);
        let Arg::Chain {
            node: inner,
            fields,
            ..
        } = node
        else {
            return Ok(RV::invalid());
        };
        if matches!(inner.as_ref(), Arg::Nil { .. }) {
            return self.errorf(format!(
                "indirection through explicit nil in {}",
                node.to_go_string()
            ));
        }
        let recv = self.eval_arg(dot, None, inner)?;
        self.eval_field_chain(dot, recv, node, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &RV,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<RV>,
    ) -> EResult<RV> {
        self.at = At::Arg(node);
        let Arg::Variable { ident, .. } = node else {
            return Ok(RV::invalid());
        };
        let value = self.var_value(ident.first().map(String::as_str).unwrap_or("$"))?;
        if ident.len() == 1 {
            self.not_a_function(args.unwrap_or(&[]), &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &RV,
        mut recv: RV,
        node: &'t Arg,
        ident: &'t [String],
        args: Option<&'t [Arg]>,
        fin: Option<RV>,
    ) -> EResult<RV> {
        let Some((last, init)) = ident.split_last() else {
            return Ok(recv);
        };
        for name in init {
            recv = self.eval_field(dot, name, node, None, None, recv)?;
        }
        self.eval_field(dot, last, node, args, fin, recv)
    }

    fn eval_field(
        &mut self,
        dot: &RV,
        name: &str,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<RV>,
        recv: RV,
    ) -> EResult<RV> {
        if recv.is_invalid() {
            return Ok(RV::invalid());
        }
        let typ = recv.type_name();
        if recv.iface && matches!(recv.v, Value::Nil) {
            return self.errorf(format!("nil pointer evaluating {typ}.{name}"));
        }
        let has_args = args.is_some_and(|a| a.len() > 1) || fin.is_some();
        match &recv.v {
            Value::Object(o) => {
                if std::rc::Rc::ptr_eq(o, &self.eng.files_obj) {
                    let m = match name {
                        "Get" => Some(FilesMethod::Get),
                        "Glob" => Some(FilesMethod::Glob),
                        "Exists" => Some(FilesMethod::Exists),
                        _ => None,
                    };
                    if let Some(m) = m {
                        return self.eval_call(
                            dot,
                            &Callable::Files(m),
                            At::Arg(node),
                            name,
                            args,
                            fin,
                        );
                    }
                } else if let Some(f) = o.method(name) {
                    return self.eval_call(dot, &Callable::Func(f), At::Arg(node), name, args, fin);
                }
            }
            Value::Map(m) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                let m = m.borrow();
                return Ok(match m.entries.get(name) {
                    Some(v) => map_elem(m.kind, v),
                    None => RV::invalid(),
                });
            }
            _ => {}
        }
        self.errorf(format!("can't evaluate field {name} in type {typ}"))
    }

    pub fn eval_function(
        &mut self,
        dot: &RV,
        name: &str,
        node: At<'t>,
        args: Option<&'t [Arg]>,
        fin: Option<RV>,
    ) -> EResult<RV> {
        let Some(f) = self.eng.funcs.get(name).cloned() else {
            return self.errorf(format!("{} is not a defined function", quote(name)));
        };
        self.eval_call(dot, &f, node, name, args, fin)
    }

    /// Go's `evalArg`: evaluates `n` for a parameter of type `typ` (`None`: no type).
    pub fn eval_arg(&mut self, dot: &RV, typ: Option<PT>, n: &'t Arg) -> EResult<RV> {
        self.at = At::Arg(n);
        let v = match n {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                return match typ {
                    Some(t) if can_be_nil(t) => Ok(zero(t)),
                    Some(t) => self.errorf(format!("cannot assign nil to {}", pt_name(t))),
                    None => self.errorf("cannot assign nil to <nil>"),
                }
            }
            Arg::Field { ident, .. } => self.eval_field_chain(
                dot,
                dot.clone(),
                n,
                ident,
                Some(std::slice::from_ref(n)),
                None,
            )?,
            Arg::Variable { .. } => self.eval_variable(dot, n, None, None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier { name, .. } => {
                self.at = At::Arg(n);
                self.eval_function(dot, name, At::Arg(n), None, None)?
            }
            Arg::Chain { .. } => self.eval_chain(dot, n, None, None)?,
            _ => return self.eval_literal(typ, n),
        };
        self.validate_type(v, typ)
    }

    fn eval_literal(&mut self, typ: Option<PT>, n: &'t Arg) -> EResult<RV> {
        // The literal as written, for the error messages only (a literal is evaluated often).
        let shown = || n.to_go_string();
        let Some(typ) = typ else {
            return self.errorf(format!("can't handle {} for arg of type <nil>", shown()));
        };
        match typ {
            PT::Reflect | PT::Go(Ty::Any) => match n {
                Arg::Bool { val, .. } => Ok(RV::concrete(Value::Bool(*val))),
                Arg::Number(num) => self.ideal_constant(n, num),
                Arg::String { text, .. } => Ok(RV::concrete(Value::str(text.as_str()))),
                _ => self.errorf(format!(
                    "can't handle assignment of {} to empty interface argument",
                    shown()
                )),
            },
            PT::Go(Ty::Bool) => match n {
                Arg::Bool { val, .. } => Ok(RV::concrete(Value::Bool(*val))),
                _ => self.errorf(format!("expected bool; found {}", shown())),
            },
            PT::Go(Ty::String) => match n {
                Arg::String { text, .. } => Ok(RV::concrete(Value::str(text.as_str()))),
                _ => self.errorf(format!("expected string; found {}", shown())),
            },
            PT::Go(Ty::Int | Ty::Int64) => match n {
                Arg::Number(num) if num.is_int => Ok(RV::concrete(if typ == PT::Go(Ty::Int) {
                    Value::Int(num.int64)
                } else {
                    Value::Int64(num.int64)
                })),
                _ => self.errorf(format!("expected integer; found {}", shown())),
            },
            PT::Go(Ty::Float64) => match n {
                Arg::Number(num) if num.is_float => Ok(RV::concrete(Value::Float(num.float64))),
                _ => self.errorf(format!("expected float; found {}", shown())),
            },
            PT::Go(t) => self.errorf(format!(
                "can't handle {} for arg of type {}",
                shown(),
                ty_name(t)
            )),
        }
    }

    /// Go's `validateType`.
    pub fn validate_type(&self, value: RV, typ: Option<PT>) -> EResult<RV> {
        let Some(typ) = typ else {
            return Ok(value);
        };
        if value.is_invalid() {
            if can_be_nil(typ) {
                return Ok(zero(typ));
            }
            return self.errorf(format!("invalid value; expected {}", pt_name(typ)));
        }
        let t = match typ {
            PT::Reflect | PT::Go(Ty::Any) => return Ok(value),
            PT::Go(t) => t,
        };
        if value.iface && matches!(value.v, Value::Nil) {
            return self.errorf(format!(
                "wrong type for value; expected {}; got interface {{}}",
                ty_name(t)
            ));
        }
        if is_of(&value.v, t) {
            return Ok(RV::concrete(value.v));
        }
        self.errorf(format!(
            "wrong type for value; expected {}; got {}",
            ty_name(t),
            value.v.go_type()
        ))
    }

    /// `error calling NAME: MSG` at `node`.
    pub fn call_error(
        &mut self,
        node: At<'t>,
        name: &str,
        msg: Msg,
    ) -> Box<super::super::error::TmplError> {
        self.at = node;
        self.err(Msg {
            text: format!("error calling {name}: {}", msg.text),
            nested: msg.nested,
        })
    }
}
