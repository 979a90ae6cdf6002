//! Calling functions and methods (Go's `evalCall`): argument count and type checks, the lazy
//! `and`/`or`, and the calls that need the engine (`include`, `tpl`, `env`, `.Files.*`).

use super::super::builtins::{self, Builtin};
use super::super::error::{Msg, Name, TmplError};
use super::super::parse::ast::Arg;
use super::super::value::{Ty, Value};
use super::super::werf;
use super::eval::PT;
use super::{At, Callable, EResult, FilesMethod, State, RV};

fn signature(c: &Callable) -> (Vec<PT>, Option<PT>) {
    let s = PT::Go(Ty::String);
    match c {
        Callable::Builtin(b) => b.signature(),
        Callable::Func(f) => (
            f.params.iter().map(|t| PT::Go(*t)).collect(),
            f.variadic.map(PT::Go),
        ),
        Callable::Include | Callable::Tpl => (vec![s, PT::Go(Ty::Any)], None),
        Callable::Env => (vec![s], Some(s)),
        Callable::Files(_) => (vec![s], None),
    }
}

impl<'e, 't> State<'e, 't> {
    pub fn eval_call(
        &mut self,
        dot: &RV,
        fun: &Callable,
        node: At<'t>,
        name: &str,
        args: Option<&'t [Arg]>,
        fin: Option<RV>,
    ) -> EResult<RV> {
        let args: &'t [Arg] = args.and_then(|a| a.get(1..)).unwrap_or(&[]);
        let (params, variadic) = signature(fun);
        let num_in = args.len() + usize::from(fin.is_some());
        let mut num_fixed = args.len();
        if variadic.is_some() {
            num_fixed = params.len();
            if num_in < num_fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    params.len(),
                    args.len()
                ));
            }
        } else if num_in != params.len() {
            return self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                params.len()
            ));
        }
        if let Callable::Builtin(b @ (Builtin::And | Builtin::Or)) = fun {
            let is_or = *b == Builtin::Or;
            let mut v = RV::invalid();
            for arg in args {
                v = self.eval_arg(dot, Some(PT::Reflect), arg)?;
                if builtins::truth(&v) == is_or {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = self.validate_type(f, Some(PT::Reflect))?;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            let t = params.get(i).copied();
            argv.push(self.eval_arg(dot, t, &args[i])?);
            i += 1;
        }
        if let Some(vt) = variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(vt), &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let t = match variadic {
                Some(vt) => {
                    if num_in - 1 < num_fixed {
                        params.get(num_in - 1).copied().unwrap_or(vt)
                    } else {
                        vt
                    }
                }
                None => params.last().copied().unwrap_or(PT::Go(Ty::Any)),
            };
            argv.push(self.validate_type(f, Some(t))?);
        }
        let result = match fun {
            Callable::Builtin(b) => builtins::call(*b, argv).map_err(Msg::plain),
            Callable::Func(f) => (f.call)(argv.into_iter().map(|a| a.v).collect())
                .map(RV::concrete)
                .map_err(Msg::plain),
            Callable::Include => self.call_include(argv),
            Callable::Tpl => self.call_tpl(argv),
            Callable::Env => self.call_env(argv),
            Callable::Files(m) => Ok(self.call_files(*m, argv)),
        };
        result.map_err(|m| self.call_error(node, name, m))
    }

    fn call_include(&mut self, argv: Vec<RV>) -> Result<RV, Msg> {
        let mut it = argv.into_iter();
        let name = it.next().map(|a| a.v).unwrap_or(Value::Nil);
        let data = it.next().map(|a| a.v).unwrap_or(Value::Nil);
        let name = name.as_str().unwrap_or("").to_string();
        let Some(t) = self.eng.lookup(&name) else {
            return Err(Msg {
                text: String::new(),
                nested: Some(Box::new(TmplError::NoTemplate {
                    name,
                    root: self.eng.root.clone(),
                })),
            });
        };
        let mut buf = String::new();
        match self.eng.execute(&t, RV::concrete(data), &mut buf) {
            Ok(()) => Ok(RV::concrete(Value::str(buf))),
            Err(e) => Err(Msg {
                text: String::new(),
                nested: Some(e),
            }),
        }
    }

    fn call_tpl(&mut self, argv: Vec<RV>) -> Result<RV, Msg> {
        let mut it = argv.into_iter();
        let text = it.next().map(|a| a.v).unwrap_or(Value::Nil);
        let data = it.next().map(|a| a.v).unwrap_or(Value::Nil);
        let text = text.as_str().unwrap_or("").to_string();
        let tname = format!("tpl-{}", werf::adler32(text.as_bytes()));
        let name = Name {
            go: tname.clone(),
            ours: tname,
        };
        let nested = |e: Box<TmplError>| Msg {
            text: String::new(),
            nested: Some(e),
        };
        let t = self.eng.parse_template(&name, &text).map_err(nested)?;
        let mut buf = String::new();
        self.eng
            .execute(&t, RV::concrete(data), &mut buf)
            .map_err(nested)?;
        Ok(RV::concrete(Value::str(buf)))
    }

    fn call_env(&mut self, argv: Vec<RV>) -> Result<RV, Msg> {
        let vals: Vec<String> = argv
            .into_iter()
            .map(|a| a.v.as_str().unwrap_or("").to_string())
            .collect();
        if vals.len() > 2 {
            return Err(Msg::plain("env: more than one default value"));
        }
        let name = vals.first().cloned().unwrap_or_default();
        let v = (self.eng.env)(&name)
            .or_else(|| vals.get(1).cloned())
            .unwrap_or_default();
        Ok(RV::concrete(Value::str(v)))
    }

    fn call_files(&mut self, m: FilesMethod, argv: Vec<RV>) -> RV {
        let path = argv
            .first()
            .and_then(|a| a.v.as_str())
            .unwrap_or("")
            .to_string();
        RV::concrete(match m {
            FilesMethod::Get => match werf::files_get(self.eng.files, &path) {
                Some(s) => Value::str(s),
                None => {
                    self.eng.warnings.borrow_mut().push(format!(
                        ".Files.Get {}: no such file",
                        super::super::gofmt::quote::quote(&path)
                    ));
                    Value::str("")
                }
            },
            FilesMethod::Glob => werf::files_glob(self.eng.files, &path),
            FilesMethod::Exists => Value::Bool(werf::files_exists(self.eng.files, &path)),
        })
    }
}
