//! The parse tree of a template, shaped like Go's `text/template/parse` nodes.
//!
//! Every node keeps its byte position (errors turn it into `line:column` against the
//! template's text) and prints itself exactly as Go's `Node.String()` does, because execution
//! errors quote the node being evaluated (`at <.a.b>`). Argument nodes (`Arg`) are separate
//! from statement nodes (`Node`) so that the executor can match on what may appear where.

use super::super::gofmt::quote::quote;

/// A statement-level node.
#[derive(Debug, Clone)]
pub enum Node {
    Text {
        pos: usize,
        text: String,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

/// A sequence of nodes.
#[derive(Debug, Clone, Default)]
pub struct ListNode {
    pub pos: usize,
    pub nodes: Vec<Node>,
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: ListNode,
    pub else_list: Option<ListNode>,
}

/// A pipeline with optional variable declarations.
#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    /// Declared variables, each a `$name`.
    pub decl: Vec<(usize, String)>,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline.
#[derive(Debug, Clone)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A parsed number literal with every interpretation Go gives it.
#[derive(Debug, Clone, Default)]
pub struct Number {
    pub pos: usize,
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int64: i64,
    pub uint64: u64,
    pub float64: f64,
}

/// An operand.
#[derive(Debug, Clone)]
pub enum Arg {
    Identifier {
        pos: usize,
        name: String,
    },
    /// `$x` or `$x.a.b`: `ident[0]` is the variable.
    Variable {
        pos: usize,
        ident: Vec<String>,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    /// `.a.b`
    Field {
        pos: usize,
        ident: Vec<String>,
    },
    /// `(pipe).a.b`
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number(Box<Number>),
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Bool { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Number(n) => n.pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    pub fn write_to(&self, out: &mut String) {
        match self {
            Arg::Identifier { name, .. } => out.push_str(name),
            Arg::Variable { ident, .. } => out.push_str(&ident.join(".")),
            Arg::Dot { .. } => out.push('.'),
            Arg::Nil { .. } => out.push_str("nil"),
            Arg::Field { ident, .. } => {
                for id in ident {
                    out.push('.');
                    out.push_str(id);
                }
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    out.push('(');
                    p.write_to(out);
                    out.push(')');
                } else {
                    node.write_to(out);
                }
                for f in fields {
                    out.push('.');
                    out.push_str(f);
                }
            }
            Arg::Bool { val, .. } => out.push_str(if *val { "true" } else { "false" }),
            Arg::Number(n) => out.push_str(&n.text),
            Arg::String { quoted, .. } => out.push_str(quoted),
            Arg::Pipe(p) => p.write_to(out),
        }
    }

    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }
}

impl Command {
    pub fn write_to(&self, out: &mut String) {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if let Arg::Pipe(p) = arg {
                out.push('(');
                p.write_to(out);
                out.push(')');
            } else {
                arg.write_to(out);
            }
        }
    }
}

impl Pipe {
    pub fn write_to(&self, out: &mut String) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.write_inner(out));
    }

    fn write_inner(&self, out: &mut String) {
        if !self.decl.is_empty() {
            for (i, (_, v)) in self.decl.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(v);
            }
            out.push_str(" := ");
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            c.write_to(out);
        }
    }

    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }
}

impl ListNode {
    pub fn write_to(&self, out: &mut String) {
        for n in &self.nodes {
            n.write_to(out);
        }
    }
}

impl Node {
    pub fn pos(&self) -> usize {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Template { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        }
    }

    pub fn write_to(&self, out: &mut String) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.write_inner(out));
    }

    fn write_inner(&self, out: &mut String) {
        let branch = |out: &mut String, name: &str, b: &Branch| {
            out.push_str("{{");
            out.push_str(name);
            out.push(' ');
            b.pipe.write_to(out);
            out.push_str("}}");
            b.list.write_to(out);
            if let Some(e) = &b.else_list {
                out.push_str("{{else}}");
                e.write_to(out);
            }
            out.push_str("{{end}}");
        };
        match self {
            Node::Text { text, .. } => out.push_str(text),
            Node::Action { pipe, .. } => {
                out.push_str("{{");
                pipe.write_to(out);
                out.push_str("}}");
            }
            Node::If(b) => branch(out, "if", b),
            Node::Range(b) => branch(out, "range", b),
            Node::With(b) => branch(out, "with", b),
            Node::Template { name, pipe, .. } => {
                out.push_str("{{template ");
                out.push_str(&quote(name));
                if let Some(p) = pipe {
                    out.push(' ');
                    p.write_to(out);
                }
                out.push_str("}}");
            }
            Node::Break { .. } => out.push_str("{{break}}"),
            Node::Continue { .. } => out.push_str("{{continue}}"),
        }
    }
}

/// Go's `parse.IsEmptyTree`: a tree holding only whitespace text (and comments).
pub fn is_empty_tree(list: &ListNode) -> bool {
    list.nodes
        .iter()
        .all(|n| matches!(n, Node::Text { text, .. } if text.trim_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c', '\u{85}', '\u{a0}']).is_empty()))
}

// Trees nest as deeply as the text does (`((((1))))`, `{{if}}{{if}}...`); dropping them
// recursively could overflow the stack, so the recursive links grow it when needed.
impl Drop for Pipe {
    fn drop(&mut self) {
        let cmds = std::mem::take(&mut self.cmds);
        stacker::maybe_grow(64 * 1024, 1024 * 1024, move || drop(cmds));
    }
}

impl Drop for ListNode {
    fn drop(&mut self) {
        let nodes = std::mem::take(&mut self.nodes);
        stacker::maybe_grow(64 * 1024, 1024 * 1024, move || drop(nodes));
    }
}
