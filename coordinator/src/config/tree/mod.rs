//! YAML documents as trees of nodes that remember their line and column.
//!
//! The config model reports every error as `werf.yaml:LINE`, so it cannot work on values that
//! have forgotten where they came from (as serde_yaml's do after deserialization). This module
//! turns the rendered text into one [`Document`] per YAML document, built from yaml-rust2's
//! marked events, and leaves the meaning of scalars to the model: werf reads its config with
//! yaml.v2 into typed Go structs, so whether `1` or `yes` is a string or a number depends on the
//! field, not on the YAML alone. Nodes keep the scalar's text and whether it was plain.
//!
//! Aliases are resolved by copying the anchored node (anchors are rare in werf.yaml; copying
//! keeps the tree simple and acyclic). Merge keys (`<<`) are not supported and are reported by
//! the model as unknown keys.

mod block;

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A YAML node and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub line: usize,
    pub col: usize,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar's text; `plain` is false for quoted and block scalars.
    Scalar {
        value: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Key-value pairs in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// True for a plain scalar that YAML reads as null (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, plain: true }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar's text, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// What kind of YAML value this is, for messages (`a string`, `a list`, `a mapping`).
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "null",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// One YAML document of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 1-based position among all documents of the stream, empty ones included.
    pub index: usize,
    /// The line the document's content starts on.
    pub line: usize,
    /// The content; `None` for an empty document.
    pub root: Option<Node>,
}

/// A YAML syntax error at a position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Streams larger than this are parsed in two halves on two threads (10,000 images render to
/// about 5 MB; parsing is most of `load`'s time).
const PARALLEL_FROM: usize = 1 << 20;

/// Parses a multi-document YAML stream into documents.
///
/// A large stream is cut at a `---` line near its middle and both halves are parsed at once.
/// That is almost always safe: a line starting with `---` ends any scalar and starts a
/// document, so each half holds exactly its documents (anchors never cross documents), and
/// the first half is read as followed by a `---` line (see [`parse_piece`]). Where it is not
/// (a block scalar at the root written at column 0 runs on over `---` lines; a flow
/// collection left open across the cut reads differently in two halves), a half has an
/// error, and the whole stream is read again on this thread: results and errors are always
/// the whole stream's.
pub fn parse(text: &str) -> Result<Vec<Document>, SyntaxError> {
    parse_map(text, &|doc| doc).map(join_parts)
}

/// The documents of [`parse_map`]'s parts in one list, numbered from the stream's start.
fn join_parts(parts: Vec<(usize, Vec<Document>)>) -> Vec<Document> {
    parts
        .into_iter()
        .flat_map(|(before, docs)| {
            docs.into_iter().map(move |mut doc| {
                doc.index += before;
                doc
            })
        })
        .collect()
}

/// Parses a stream and maps every document with `f` where it was parsed: a large stream is
/// cut in two halves (as in [`parse`], errors too) that are parsed, mapped and freed on two
/// threads.
/// Returns the mapped documents in order, each part with the number of documents before it
/// (document indices inside a part start at 1; add that number to get the stream's index).
pub fn parse_map<T: Send>(
    text: &str,
    f: &(dyn Fn(Document) -> T + Sync),
) -> Result<Vec<(usize, Vec<T>)>, SyntaxError> {
    let cut = (text.len() >= PARALLEL_FROM)
        .then(|| document_start_near(text, text.len() / 2))
        .flatten();
    parse_map_at(text, cut, f)
}

/// [`parse_map`] with the cut chosen by the caller: `None` reads the stream whole; `Some(at)`
/// (the offset of a `---` line) reads the two pieces on two threads, and the whole stream again
/// should either piece have an error.
fn parse_map_at<T: Send>(
    text: &str,
    cut: Option<usize>,
    f: &(dyn Fn(Document) -> T + Sync),
) -> Result<Vec<(usize, Vec<T>)>, SyntaxError> {
    let map_part = |part: &str, lines_before: usize, followed: bool| {
        parse_part(part, lines_before, followed, f)
    };
    let Some(cut) = cut else {
        return Ok(vec![(0, map_part(text, 0, false)?)]);
    };
    let (head, tail) = text.split_at(cut);
    let lines_before = head.matches('\n').count();
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| map_part(tail, lines_before, false));
        (map_part(head, 0, true), second.join())
    });
    let (Ok(first), Ok(Ok(second))) = (first, second) else {
        return Ok(vec![(0, map_part(text, 0, false)?)]);
    };
    let before = first.len();
    Ok(vec![(0, first), (before, second)])
}

/// Parses a piece of a stream made of whole documents that starts after `lines_before` lines
/// (and, if `followed`, ends before a `---` line: see [`parse_piece`]), and maps every
/// document with `f`. Lines (in errors too) count from the stream's start; document indices
/// count from the piece's start (1).
pub fn parse_part<T>(
    part: &str,
    lines_before: usize,
    followed: bool,
    f: &(dyn Fn(Document) -> T + Sync),
) -> Result<Vec<T>, SyntaxError> {
    let mut docs = parse_piece(part, followed).map_err(|mut e| {
        e.line += lines_before;
        e
    })?;
    if lines_before > 0 {
        docs.iter_mut()
            .for_each(|doc| doc.shift_lines(lines_before));
    }
    Ok(docs.into_iter().map(f).collect())
}

/// The byte offset of the first line at or after `from` that starts a document (`---` then a
/// space, a newline or the end).
fn document_start_near(text: &str, from: usize) -> Option<usize> {
    let mut pos = text.get(from..)?.find('\n')? + from + 1;
    while pos < text.len() {
        let rest = &text[pos..];
        if rest.starts_with("---")
            && matches!(
                rest.as_bytes().get(3),
                None | Some(b' ' | b'\n' | b'\r' | b'\t')
            )
        {
            return Some(pos);
        }
        pos += rest.find('\n')? + 1;
    }
    None
}

impl Document {
    /// Moves the document `by` lines down (it was read from a piece of its stream).
    fn shift_lines(&mut self, by: usize) {
        self.line += by;
        if let Some(root) = self.root.as_mut() {
            shift_lines(root, by);
        }
    }
}

fn shift_lines(node: &mut Node, by: usize) {
    node.line += by;
    match &mut node.kind {
        NodeKind::Scalar { .. } => {}
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| shift_lines(n, by)),
        NodeKind::Map(pairs) => pairs.iter_mut().for_each(|(k, v)| {
            shift_lines(k, by);
            shift_lines(v, by);
        }),
    }
}

/// A whole stream parsed on this thread (tests compare the other ways with it).
#[cfg(test)]
fn parse_one(text: &str) -> Result<Vec<Document>, SyntaxError> {
    parse_piece(text, false)
}

/// Parses a stream, or a piece of one, on this thread: each document with the fast block
/// reader (see [`block`]) when it can, otherwise with yaml-rust2. Should yaml-rust2 find an
/// error in a document, the whole text is read again by yaml-rust2 alone, so errors are
/// reported exactly as it reports them.
///
/// When `followed`, a `---` line comes right after `text` (which ends with a newline) in its
/// stream, and the piece reads as it reads there. yaml-rust2 ends a document differently at
/// the end of its input: an empty block scalar last in a document reads `"\n"` there, but
/// `""` before a `---` line.
fn parse_piece(text: &str, followed: bool) -> Result<Vec<Document>, SyntaxError> {
    let Some(spans) = block::split(text) else {
        return parse_yaml_followed(text, followed);
    };
    let mut docs = Vec::with_capacity(spans.len());
    for (k, span) in spans.iter().enumerate() {
        match block::document(span) {
            Some(doc) => docs.extend(doc),
            None => {
                // Read with the next document's `---` line after it, as yaml-rust2 sees it in
                // the whole stream (a scalar ending there is not one ending the input), then
                // drop the empty document that line starts.
                let read = match spans.get(k + 1) {
                    Some(next) => {
                        let end =
                            next.start + next.text.find('\n').map_or(next.text.len(), |i| i + 1);
                        parse_yaml_before(&text[span.start..end], next.line - span.line + 1)
                    }
                    None => parse_yaml_followed(&text[span.start..], followed),
                };
                let Ok(mut slow) = read else {
                    return parse_yaml_followed(text, followed);
                };
                slow.iter_mut()
                    .for_each(|doc| doc.shift_lines(span.line - 1));
                docs.append(&mut slow);
            }
        }
    }
    for (n, doc) in docs.iter_mut().enumerate() {
        doc.index = n + 1;
    }
    Ok(docs)
}

/// [`parse_yaml`], reading `text` as followed by a `---` line when `followed`.
fn parse_yaml_followed(text: &str, followed: bool) -> Result<Vec<Document>, SyntaxError> {
    if !followed {
        return parse_yaml(text);
    }
    let mut with_next = String::with_capacity(text.len() + 5);
    with_next.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        with_next.push('\n');
    }
    let next_line = with_next.matches('\n').count() + 1;
    with_next.push_str("---\n");
    parse_yaml_before(&with_next, next_line)
}

/// yaml-rust2's documents of `text`, whose last line (line `next_line`) is a `---` line,
/// without the empty document that line starts. An error if that line starts no empty
/// document of its own: what comes before runs on over it (a block scalar at the root written
/// at column 0 does), so the text cannot be read apart from what follows it.
fn parse_yaml_before(text: &str, next_line: usize) -> Result<Vec<Document>, SyntaxError> {
    let mut docs = parse_yaml(text)?;
    match docs.pop() {
        Some(last) if last.line == next_line && last.root.is_none() => Ok(docs),
        _ => Err(SyntaxError {
            line: next_line,
            col: 1,
            message: "a document runs on over the `---` line after it".into(),
        }),
    }
}

/// Parses a stream with yaml-rust2.
fn parse_yaml(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if let Some(message) = builder.error {
        return Err(message);
    }
    Ok(builder.documents)
}

/// An open collection while events arrive.
enum Open {
    Seq(Node, usize, Vec<Node>),
    Map(Node, usize, Vec<(Node, Node)>, Option<Node>),
}

/// Builds documents from marked events.
#[derive(Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Open>,
    current: Option<Document>,
    anchors: HashMap<usize, Node>,
    error: Option<SyntaxError>,
}

impl Builder {
    /// Places a finished node in the open collection, or as the document's root.
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, pairs, key)) => match key.take() {
                Some(k) => pairs.push((k, node)),
                None => *key = Some(node),
            },
            None => {
                if let Some(doc) = self.current.as_mut() {
                    doc.root = Some(node);
                }
            }
        }
    }
}

fn at(mark: &Marker, kind: NodeKind) -> Node {
    Node {
        kind,
        line: mark.line(),
        col: mark.col() + 1,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => {
                self.current = Some(Document {
                    index: self.documents.len() + 1,
                    line: mark.line(),
                    root: None,
                });
            }
            Event::DocumentEnd => {
                if let Some(mut doc) = self.current.take() {
                    if doc.root.as_ref().is_some_and(Node::is_null) {
                        doc.root = None;
                    }
                    if let Some(root) = &doc.root {
                        doc.line = root.line;
                    }
                    self.documents.push(doc);
                }
                self.anchors.clear();
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.push(at(&mark, NodeKind::Scalar { value, plain }), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack
                    .push(Open::Seq(at(&mark, NodeKind::Seq(vec![])), anchor, vec![]));
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Map(
                    at(&mark, NodeKind::Map(vec![])),
                    anchor,
                    vec![],
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq(mut node, anchor, items)) => {
                    node.kind = NodeKind::Seq(items);
                    self.push(node, anchor);
                }
                Some(Open::Map(mut node, anchor, pairs, _)) => {
                    node.kind = NodeKind::Map(pairs);
                    self.push(node, anchor);
                }
                None => {}
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.line = mark.line();
                    node.col = mark.col() + 1;
                    self.push(node, 0);
                }
                None => {
                    self.error.get_or_insert(SyntaxError {
                        line: mark.line(),
                        col: mark.col() + 1,
                        message: "alias to an unknown anchor".into(),
                    });
                }
            },
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests;
