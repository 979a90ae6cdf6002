//! The parser: items to trees, following Go 1.19's `parse.Tree` exactly where it shows.
//!
//! What shows is the error text and its line. Go reports the line of the last item pulled
//! from the lexer (`token[0]`), which depends on how far the parser has looked ahead, so this
//! parser keeps Go's three-item look-ahead buffer and its `backup2`/`backup3` moves rather than
//! a simpler design. `define` and `block` bodies are parsed by a fresh tree parser sharing the
//! item stream, as in Go (each with its own look-ahead, variables and range depth).

use super::super::gofmt::quote::unquote;
use super::super::lex::{Item, ItemType};
use super::ast::{is_empty_tree, Arg, Branch, Command, ListNode, Node, Pipe};
use super::number::new_number;

/// A parse error: Go prints it as `template: NAME:LINE: MSG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

/// The templates one source text defines, in definition order, with Go's `treeSet` rules
/// applied (an empty body never replaces a non-empty one; two non-empty ones are an error).
pub type TreeSet = Vec<(String, ListNode)>;

struct Stream<'a> {
    items: &'a [Item],
    next: usize,
}

impl Stream<'_> {
    fn next_item(&mut self) -> Item {
        let item = self.items.get(self.next).cloned().unwrap_or(Item {
            typ: ItemType::Eof,
            pos: 0,
            val: String::new(),
            line: 0,
        });
        // After an error or EOF Go's lexer channel is closed and yields zero items (EOF-like
        // errors); staying on the last item is equivalent for the parser, which stops there.
        if self.next + 1 < self.items.len() {
            self.next += 1;
        }
        item
    }
}

enum Parsed {
    Node(Node),
    End,
    Else { pos: usize },
}

type PResult<T> = Result<T, ParseError>;

struct Tree<'s, 'a> {
    stream: &'s mut Stream<'a>,
    token: [Item; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    has_func: &'s dyn Fn(&str) -> bool,
    set: &'s mut TreeSet,
    parse_name: &'s str,
}

fn blank() -> Item {
    Item {
        typ: ItemType::Eof,
        pos: 0,
        val: String::new(),
        line: 0,
    }
}

/// Parses `text` (lexed into `items`) as template `name`.
pub fn parse(
    name: &str,
    items: &[Item],
    has_func: &dyn Fn(&str) -> bool,
) -> Result<TreeSet, ParseError> {
    let mut stream = Stream { items, next: 0 };
    let mut set = TreeSet::new();
    let mut t = Tree {
        stream: &mut stream,
        token: [blank(), blank(), blank()],
        peek_count: 0,
        vars: vec!["$".into()],
        action_line: 0,
        range_depth: 0,
        has_func,
        set: &mut set,
        parse_name: name,
    };
    let root = t.parse_top()?;
    t.add(name, root)?;
    Ok(set)
}

impl<'s, 'a> Tree<'s, 'a> {
    fn sub<'t>(&'t mut self) -> Tree<'t, 'a> {
        Tree {
            stream: self.stream,
            token: [blank(), blank(), blank()],
            peek_count: 0,
            vars: vec!["$".into()],
            action_line: 0,
            range_depth: 0,
            has_func: self.has_func,
            set: self.set,
            parse_name: self.parse_name,
        }
    }

    fn errorf<T>(&self, msg: String) -> PResult<T> {
        Err(ParseError {
            line: self.token[0].line,
            msg,
        })
    }

    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.stream.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.stream.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != expected {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn unexpected<T>(&self, token: &Item, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", token.describe(), extra));
        }
        self.errorf(format!("unexpected {} in {}", token.describe(), context))
    }

    fn add(&mut self, name: &str, root: ListNode) -> PResult<()> {
        match self.set.iter_mut().find(|(n, _)| n == name) {
            None => self.set.push((name.to_string(), root)),
            Some((_, existing)) if is_empty_tree(existing) => *existing = root,
            Some(_) => {
                if !is_empty_tree(&root) {
                    return self.errorf(format!(
                        "template: multiple definition of template {}",
                        super::super::gofmt::quote::quote(name)
                    ));
                }
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<ListNode> {
        let mut root = ListNode {
            pos: self.peek().pos,
            nodes: Vec::new(),
        };
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == ItemType::Define {
                    let mut sub = self.sub();
                    sub.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Parsed::End => return self.errorf("unexpected {{end}}".into()),
                Parsed::Else { .. } => return self.errorf("unexpected {{else}}".into()),
                Parsed::Node(n) => root.nodes.push(n),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let name = self.next_non_space();
        if name.typ != ItemType::String && name.typ != ItemType::RawString {
            return self.unexpected(&name, context);
        }
        let Ok(tname) = unquote(&name.val) else {
            return self.errorf("invalid syntax".into());
        };
        self.expect(ItemType::RightDelim, context)?;
        let (list, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {}", parsed_str(&end), context));
        }
        self.add(&tname, list)
    }

    fn item_list(&mut self) -> PResult<(ListNode, Parsed)> {
        let mut list = ListNode {
            pos: self.peek_non_space().pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.nodes.push(n),
                other => return Ok((list, other)),
            }
        }
        self.errorf("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: token.val,
            })),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control(),
            ItemType::Break | ItemType::Continue => {
                let is_break = token.typ == ItemType::Break;
                let word = if is_break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let next = self.next_non_space();
                if next.typ != ItemType::RightDelim {
                    return self.unexpected(&next, word);
                }
                if self.range_depth == 0 {
                    return self.errorf(format!("{word} outside {{{{range}}}}"));
                }
                return Ok(Parsed::Node(if is_break {
                    Node::Break { pos: token.pos }
                } else {
                    Node::Continue { pos: token.pos }
                }));
            }
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return Ok(Parsed::Node(Node::If(self.parse_control(true, "if")?))),
            ItemType::Range => {
                return Ok(Parsed::Node(Node::Range(
                    self.parse_control(false, "range")?,
                )))
            }
            ItemType::Template => return self.template_control(),
            ItemType::With => {
                return Ok(Parsed::Node(Node::With(self.parse_control(false, "with")?)))
            }
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action {
            pos: token.pos,
            pipe,
        }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If {
            return Ok(Parsed::Else { pos: peek.pos });
        }
        let token = self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else { pos: token.pos })
    }

    fn parse_control(&mut self, allow_else_if: bool, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            self.parse_control_inner(allow_else_if, context)
        });
        self.vars.truncate(mark);
        r
    }

    fn parse_control_inner(&mut self, allow_else_if: bool, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Parsed::Else { pos } = next {
            if allow_else_if && self.peek().typ == ItemType::If {
                self.next();
                let inner = self.parse_control(true, "if")?;
                else_list = Some(ListNode {
                    pos,
                    nodes: vec![Node::If(inner)],
                });
            } else {
                let (l, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return self.errorf(format!("expected end; found {}", parsed_str(&next)));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => match unquote(&token.val) {
                Ok(s) => Ok(s),
                Err(_) => self.errorf("invalid syntax".into()),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn block_control(&mut self) -> PResult<Parsed> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let end = {
            let mut sub = self.sub();
            let (list, end) = sub.item_list()?;
            if matches!(end, Parsed::End) {
                sub.add(&name, list)?;
            }
            end
        };
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {}", parsed_str(&end), context));
        }
        Ok(Parsed::Node(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> PResult<Parsed> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Parsed::Node(Node::Template {
            pos: token.pos,
            name,
            pipe,
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.pipeline_inner(context, end))
    }

    fn pipeline_inner(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push((v.pos, v.val.clone()));
                self.vars.push(v.val);
            } else if next.typ == ItemType::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push((v.pos, v.val.clone()));
                self.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                            continue
                        }
                        _ => return self.errorf("range can only initialize variables".into()),
                    }
                }
                return self.errorf(format!("too many declarations in {context}"));
            } else if after.typ == ItemType::Space {
                self.backup3(v, after);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number(_)
                        | Arg::String { .. }
                )
            ) {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command".into());
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            let f = self.next().val;
            fields.push(f.get(1..).unwrap_or("").to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Variable { mut ident, .. } => {
                ident.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number(_)
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return self.errorf(format!(
                    "unexpected . after term {}",
                    super::super::gofmt::quote::quote(&node.to_go_string())
                ))
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                if !(self.has_func)(&token.val) {
                    return self.errorf(format!(
                        "function {} not defined",
                        super::super::gofmt::quote::quote(&token.val)
                    ));
                }
                Arg::Identifier {
                    pos,
                    name: token.val,
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => {
                let ident: Vec<String> = token.val.split('.').map(String::from).collect();
                let first = ident.first().cloned().unwrap_or_default();
                if !self.vars.contains(&first) {
                    return self.errorf(format!(
                        "undefined variable {}",
                        super::super::gofmt::quote::quote(&first)
                    ));
                }
                Arg::Variable { pos, ident }
            }
            ItemType::Field => Arg::Field {
                pos,
                ident: token
                    .val
                    .get(1..)
                    .unwrap_or("")
                    .split('.')
                    .map(String::from)
                    .collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos,
                val: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match new_number(
                    pos,
                    &token.val,
                    token.typ == ItemType::CharConstant,
                    token.typ == ItemType::Complex,
                ) {
                    Ok(n) => Arg::Number(Box::new(n)),
                    Err(e) => return self.errorf(e),
                }
            }
            ItemType::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", ItemType::RightParen)?,
            )),
            ItemType::String | ItemType::RawString => match unquote(&token.val) {
                Ok(text) => Arg::String {
                    pos,
                    quoted: token.val,
                    text,
                },
                Err(_) => return self.errorf("invalid syntax".into()),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn parsed_str(p: &Parsed) -> String {
    match p {
        Parsed::End => "{{end}}".into(),
        Parsed::Else { .. } => "{{else}}".into(),
        Parsed::Node(n) => {
            let mut s = String::new();
            n.write_to(&mut s);
            s
        }
    }
}
