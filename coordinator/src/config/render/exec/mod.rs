//! Template execution: walking the tree with Go 1.19's `text/template` semantics.
//!
//! Go evaluates with reflection, and a few observable behaviours depend on reflection details
//! that our [`Value`] does not carry: whether a value sits in an `interface {}` slot (a map
//! entry, a `[]interface {}` element) or is concrete, and whether a nil is a missing value
//! (an invalid `reflect.Value`) or a nil interface. [`RV`] adds exactly that bit, so that
//! `.a.b` on a missing `a` prints `<no value>` while on a present-but-nil `a` it fails with
//! Go's `nil pointer evaluating interface {}.b`, and type errors name `interface {}` where Go
//! does.
//!
//! Shape: [`Engine`] owns the template set and the function table for one render; a [`State`]
//! is one template invocation (Go's `state`, copied on `{{template}}`), holding the variable
//! stack and the node being evaluated, which every error quotes. Execution nests `template`,
//! `include` and `tpl` calls; the total nesting is capped at [`MAX_DEPTH`] (Go allows 100000
//! `template` levels, which would overflow our stack; Go's `include` recursion has no cap and
//! crashes the Go process).

mod call;
pub mod eval;

use foldhash::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::builtins::Builtin;
use super::error::{Msg, Name, TmplError};
use super::lex::lex;
use super::parse::ast::{is_empty_tree, Arg, Command, ListNode, Node, Pipe};
use super::parse::parse;
use super::value::{ElemKind, Func, MapKind, Object, Value};
use super::FileSource;

/// How deep `template`/`include`/`tpl` calls may nest.
pub const MAX_DEPTH: usize = 1000;

/// Recursion points grow the stack (with `stacker`) when less than this much is left, so deep
/// nesting in a template or its data cannot overflow the thread's stack (Go's goroutine
/// stacks grow the same way).
pub const RED_ZONE: usize = 64 * 1024;
/// How much stack each growth step adds.
pub const STACK_STEP: usize = 1024 * 1024;

/// A value as reflection sees it: `iface` marks a value held in an `interface {}` slot.
/// `Nil` with `iface == false` is Go's invalid value (missing); with `iface == true` it is a
/// nil interface.
#[derive(Clone, Debug)]
pub struct RV {
    pub v: Value,
    pub iface: bool,
}

impl RV {
    pub fn invalid() -> RV {
        RV {
            v: Value::Nil,
            iface: false,
        }
    }

    pub fn concrete(v: Value) -> RV {
        RV { v, iface: false }
    }

    pub fn is_invalid(&self) -> bool {
        !self.iface && matches!(self.v, Value::Nil)
    }

    /// What `evalPipeline` does to each command's result: unwrap the interface.
    pub fn normalize(self) -> RV {
        RV::concrete(self.v)
    }

    /// The static type Go names in field errors.
    pub fn type_name(&self) -> String {
        if self.iface {
            "interface {}".into()
        } else {
            self.v.go_type()
        }
    }
}

/// Elements of a list as reflection sees them.
pub fn list_elem(kind: ElemKind, v: &Value) -> RV {
    RV {
        v: v.clone(),
        iface: kind == ElemKind::Any,
    }
}

/// Values of a map as reflection sees them.
pub fn map_elem(kind: MapKind, v: &Value) -> RV {
    RV {
        v: v.clone(),
        iface: kind != MapKind::StringString,
    }
}

/// What a function name resolves to.
#[derive(Clone)]
pub enum Callable {
    /// One of Go's built-ins, which see reflection values.
    Builtin(Builtin),
    /// A plain function (werf's, sprig's).
    Func(Func),
    /// werf's `include`, `tpl` and `env`, which need the engine.
    Include,
    Tpl,
    Env,
    /// A method of werf's `.Files`.
    Files(FilesMethod),
}

/// The methods of werf's `.Files`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilesMethod {
    Get,
    Glob,
    Exists,
}

/// A parsed template.
pub struct Template {
    pub name: Name,
    /// The name Go's error locations use (the top-level template of the parse) and ours.
    pub file: Name,
    pub text: Rc<str>,
    pub root: ListNode,
}

/// One render: templates, functions and the outside world.
pub struct Engine<'e> {
    pub templates: RefCell<HashMap<String, Rc<Template>>>,
    pub funcs: HashMap<String, Callable>,
    pub files: &'e dyn FileSource,
    /// The `.Files` object; method calls on it are served by `files`.
    pub files_obj: Rc<dyn Object>,
    pub env: &'e dyn Fn(&str) -> Option<String>,
    pub warnings: RefCell<Vec<String>>,
    pub nesting: Cell<usize>,
    /// The root template (`werfConfig`), named in `include`'s "no template" error.
    pub root: Name,
    /// Where finished documents of the main output go while rendering goes on, if anywhere.
    pub stream: Option<Stream<'e>>,
}

/// Hands the main output on in pieces while it is written, each piece whole YAML documents,
/// so that they can be parsed on another thread while the rest renders.
///
/// Output is only ever appended to, so a piece once handed on never changes. A piece ends
/// before a line that starts a document (`---` then a blank or a line end), and only once
/// that line's fourth byte is written, so it cannot turn out to be `---x` later.
pub struct Stream<'e> {
    /// The address of the buffer being streamed (the main template's output); text written to
    /// other buffers (`include`, `tpl`) is not.
    top: Cell<usize>,
    /// How much of the buffer has been handed on.
    sent: Cell<usize>,
    sink: RefCell<&'e mut Sink<'e>>,
}

/// Takes each piece, and whether a `---` line follows it (all but the last).
pub type Sink<'e> = dyn FnMut(&str, bool) + 'e;

/// A piece is handed on once this much unsent output has gathered.
const PIECE: usize = 256 * 1024;

impl<'e> Stream<'e> {
    pub fn new(sink: &'e mut Sink<'e>) -> Stream<'e> {
        Stream {
            top: Cell::new(0),
            sent: Cell::new(0),
            sink: RefCell::new(sink),
        }
    }

    /// Streams `out` from now on.
    pub fn watch(&self, out: &String) {
        self.top.set(out as *const String as usize);
        self.sent.set(0);
    }

    /// Hands on the whole documents of `out` not handed on yet, if enough have gathered.
    fn maybe_send(&self, out: &String) {
        let sent = self.sent.get();
        if out as *const String as usize != self.top.get() || out.len() - sent < PIECE {
            return;
        }
        let Some(cut) = last_document_start(&out[sent..]).map(|c| c + sent) else {
            return;
        };
        (self.sink.borrow_mut())(&out[sent..cut], true);
        self.sent.set(cut);
    }

    /// Hands on the rest of `out` once rendering is over.
    pub fn finish(&self, out: &str) {
        let sent = self.sent.get();
        if sent < out.len() {
            (self.sink.borrow_mut())(&out[sent..], false);
        }
        self.sent.set(out.len());
    }
}

/// The byte offset (after the start) of the last line of `text` that starts a YAML document.
fn last_document_start(text: &str) -> Option<usize> {
    text.rmatch_indices("\n---")
        .map(|(i, _)| i + 1)
        .find(|&line| {
            matches!(
                text.as_bytes().get(line + 3),
                Some(b' ' | b'\n' | b'\r' | b'\t')
            )
        })
}

pub type EResult<T> = Result<T, Box<TmplError>>;

/// Where a break or continue is heading.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node being evaluated, which errors quote.
#[derive(Clone, Copy)]
pub enum At<'t> {
    None,
    Node(&'t Node),
    List(&'t ListNode),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Arg(&'t Arg),
}

impl At<'_> {
    fn pos_and_text(&self) -> Option<(usize, String)> {
        let mut s = String::new();
        let pos = match self {
            At::None => return None,
            At::Node(n) => {
                n.write_to(&mut s);
                n.pos()
            }
            At::List(l) => {
                l.write_to(&mut s);
                l.pos
            }
            At::Pipe(p) => {
                p.write_to(&mut s);
                p.pos
            }
            At::Cmd(c) => {
                c.write_to(&mut s);
                c.pos
            }
            At::Arg(a) => {
                a.write_to(&mut s);
                a.pos()
            }
        };
        Some((pos, s))
    }
}

/// One template invocation.
pub struct State<'e, 't> {
    pub eng: &'t Engine<'e>,
    pub tmpl: &'t Template,
    pub at: At<'t>,
    pub vars: Vec<(String, RV)>,
}

impl<'e> Engine<'e> {
    /// Whether `name` is a function the parser may accept.
    pub fn has_function(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    /// Parses `text` as template `name` (shown as `display` in our errors), adding every
    /// template it defines to the set with Go's `AddParseTree` rules. Returns the top template
    /// even when an existing one of the same name was kept (as Go's `Template.Parse` does).
    pub fn parse_template(&self, name: &Name, text: &str) -> EResult<Rc<Template>> {
        let items = lex(text);
        let has = |n: &str| self.has_function(n);
        let set = parse(&name.go, &items, &has).map_err(|e| {
            Box::new(TmplError::Parse {
                file: name.clone(),
                line: e.line,
                msg: e.msg,
            })
        })?;
        let text: Rc<str> = Rc::from(text);
        let mut top = None;
        let mut templates = self.templates.borrow_mut();
        for (tname, root) in set {
            let display = if tname == name.go {
                name.ours.clone()
            } else {
                tname.clone()
            };
            let empty = is_empty_tree(&root);
            let t = Rc::new(Template {
                name: Name {
                    go: tname.clone(),
                    ours: display,
                },
                file: name.clone(),
                text: text.clone(),
                root,
            });
            if tname == name.go {
                top = Some(t.clone());
            }
            if !(empty && templates.contains_key(&tname)) {
                templates.insert(tname, t);
            }
        }
        drop(templates);
        match top {
            Some(t) => Ok(t),
            None => Ok(Rc::new(Template {
                name: name.clone(),
                file: name.clone(),
                text,
                root: ListNode::default(),
            })),
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Rc<Template>> {
        self.templates.borrow().get(name).cloned()
    }

    /// Executes `tmpl` with `data` as dot and `$`, appending to `out`.
    pub fn execute(&self, tmpl: &Template, data: RV, out: &mut String) -> EResult<()> {
        let depth = self.nesting.get();
        if depth >= MAX_DEPTH {
            return Err(Box::new(TmplError::Exec {
                file: tmpl.file.clone(),
                line: 1,
                col: 0,
                name: tmpl.name.clone(),
                context: String::new(),
                msg: Msg::plain(format!("exceeded maximum template depth ({MAX_DEPTH})")),
            }));
        }
        self.nesting.set(depth + 1);
        let mut st = State {
            eng: self,
            tmpl,
            at: At::None,
            vars: vec![("$".into(), data.clone())],
        };
        let r = stacker::maybe_grow(RED_ZONE, STACK_STEP, || {
            st.walk_list(&data, &tmpl.root, out)
        });
        self.nesting.set(depth);
        r.map(|_| ())
    }
}

impl<'e, 't> State<'e, 't> {
    /// Go's `state.errorf`: the error at the current node.
    pub fn err(&self, msg: Msg) -> Box<TmplError> {
        let Some((pos, context)) = self.at.pos_and_text() else {
            return Box::new(TmplError::Exec {
                file: self.tmpl.file.clone(),
                line: 0,
                col: 0,
                name: self.tmpl.name.clone(),
                context: String::new(),
                msg,
            });
        };
        let before = self.tmpl.text.get(..pos).unwrap_or("");
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        Box::new(TmplError::Exec {
            file: self.tmpl.file.clone(),
            line,
            col,
            name: self.tmpl.name.clone(),
            context,
            msg,
        })
    }

    pub fn errorf<T>(&self, text: impl Into<String>) -> EResult<T> {
        Err(self.err(Msg::plain(text)))
    }

    fn walk_list(&mut self, dot: &RV, list: &'t ListNode, out: &mut String) -> EResult<Flow> {
        self.at = At::List(list);
        for n in &list.nodes {
            let f = self.walk(dot, n, out)?;
            if f != Flow::Normal {
                return Ok(f);
            }
            if let Some(stream) = &self.eng.stream {
                stream.maybe_send(out);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &RV, node: &'t Node, out: &mut String) -> EResult<Flow> {
        stacker::maybe_grow(RED_ZONE, STACK_STEP, || self.walk_node(dot, node, out))
    }

    fn walk_node(&mut self, dot: &RV, node: &'t Node, out: &mut String) -> EResult<Flow> {
        self.at = At::Node(node);
        match node {
            Node::Text { text, .. } => out.push_str(text),
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    if val.is_invalid() {
                        out.push_str("<no value>");
                    } else {
                        out.push_str(&super::gofmt::sprint_one(&val.v));
                    }
                }
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
            Node::If(b) | Node::With(b) => {
                let mark = self.vars.len();
                let r = self.walk_if_or_with(matches!(node, Node::With(_)), dot, b, out);
                self.vars.truncate(mark);
                return r;
            }
            Node::Range(b) => return self.walk_range(dot, node, b, out),
            Node::Template { name, pipe, .. } => self.walk_template(dot, node, name, pipe, out)?,
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(
        &mut self,
        with: bool,
        dot: &RV,
        b: &'t super::parse::ast::Branch,
        out: &mut String,
    ) -> EResult<Flow> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        if val.v.truth() {
            if with {
                self.walk_list(&val, &b.list, out)
            } else {
                self.walk_list(dot, &b.list, out)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e, out)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn walk_range(
        &mut self,
        dot: &RV,
        node: &'t Node,
        b: &'t super::parse::ast::Branch,
        out: &mut String,
    ) -> EResult<Flow> {
        self.at = At::Node(node);
        let outer_mark = self.vars.len();
        let r = self.walk_range_inner(dot, node, b, out);
        self.vars.truncate(outer_mark);
        r.map(|_| Flow::Normal)
    }

    fn walk_range_inner(
        &mut self,
        dot: &RV,
        _node: &'t Node,
        b: &'t super::parse::ast::Branch,
        out: &mut String,
    ) -> EResult<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let items: Vec<(RV, RV)> = match &val.v {
            Value::List(l) => l
                .items
                .iter()
                .enumerate()
                .map(|(i, v)| (RV::concrete(Value::Int(i as i64)), list_elem(l.kind, v)))
                .collect(),
            Value::Map(m) => {
                let m = m.borrow();
                m.entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            RV {
                                v: Value::str(k.as_str()),
                                iface: m.kind == MapKind::AnyAny,
                            },
                            map_elem(m.kind, v),
                        )
                    })
                    .collect()
            }
            Value::Nil => Vec::new(),
            other => {
                return self.errorf(format!(
                    "range can't iterate over {}",
                    super::gofmt::sprint_one(other)
                ))
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                self.walk_list(dot, e, out)?;
            }
            return Ok(());
        }
        let ndecl = b.pipe.decl.len();
        for (index, elem) in items {
            if ndecl > 0 {
                if let Some(slot) = self
                    .vars
                    .len()
                    .checked_sub(1)
                    .and_then(|i| self.vars.get_mut(i))
                {
                    slot.1 = elem.clone();
                }
            }
            if ndecl > 1 {
                if let Some(slot) = self
                    .vars
                    .len()
                    .checked_sub(2)
                    .and_then(|i| self.vars.get_mut(i))
                {
                    slot.1 = index;
                }
            }
            let r = self.walk_list(&elem, &b.list, out);
            self.vars.truncate(mark);
            if r? == Flow::Break {
                break;
            }
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &RV,
        node: &'t Node,
        name: &str,
        pipe: &'t Option<Pipe>,
        out: &mut String,
    ) -> EResult<()> {
        self.at = At::Node(node);
        let Some(tmpl) = self.eng.lookup(name) else {
            return self.errorf(format!(
                "template {} not defined",
                super::gofmt::quote::quote(name)
            ));
        };
        if self.eng.nesting.get() >= MAX_DEPTH {
            return self.errorf(format!("exceeded maximum template depth ({MAX_DEPTH})"));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => RV::invalid(),
        };
        self.eng.execute(&tmpl, new_dot, out)
    }

    fn var_value(&self, name: &str) -> EResult<RV> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: RV) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }
}

#[cfg(test)]
mod stream_tests {
    use super::last_document_start;

    #[test]
    fn a_piece_ends_before_the_last_complete_document_start() {
        assert_eq!(last_document_start("a: 1\n---\nb: 2\n"), Some(5));
        assert_eq!(last_document_start("a: 1\n--- x\n---\nb"), Some(11));
        // `---` must be followed by a blank or a line end that is already written.
        assert_eq!(last_document_start("a: 1\n---"), None);
        assert_eq!(last_document_start("a: 1\n---x\n"), None);
        assert_eq!(last_document_start("a: 1\n ---\n"), None);
        // A start at the very beginning makes no piece.
        assert_eq!(last_document_start("---\na: 1\n"), None);
    }
}
