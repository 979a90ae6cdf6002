//! `yaml.Unmarshal(text, &map[string]interface{})` as yaml.v2 does it (`decode.go`).
//!
//! libyaml-safer (a safe Rust port of libyaml, the same C library yaml.v2's Go parser was
//! ported from) supplies the events and the scanner/parser error texts and marks; this module
//! builds yaml.v2's node tree from the first document (anchors recorded when a node starts,
//! unknown aliases refused at parse time) and then decodes it with yaml.v2's rules:
//! top-level keys become strings (their source text), nested maps are
//! `map[interface{}]interface{}` whose keys we keep as Go's `%v` text, merges (`<<`) apply in
//! order, and type errors are collected while fatal errors stop decoding but keep the
//! top-level entries already set (Go writes into the caller's map as it goes).
//!
//! Depth is capped at [`MAX_DEPTH`] (yaml.v2 allows 10000; our decoder recurses, so we stop
//! sooner with the same message shape), and alias expansion is limited by yaml.v2's own
//! "excessive aliasing" ratio.

use std::collections::{BTreeMap, HashMap};

use libyaml_safer::{ErrorKind, EventData, Parser};

use super::super::value::{ElemKind, MapKind, Value};
use super::resolve::{self, resolve, short_tag, Scalar, BINARY_TAG, MAP_TAG, SEQ_TAG};

/// The deepest nesting we decode.
pub(super) const MAX_DEPTH: usize = 500;

enum Kind {
    Scalar {
        value: String,
        tag: String,
        implicit: bool,
    },
    Seq(Vec<usize>),
    Map(Vec<usize>),
    Alias {
        name: String,
        target: usize,
    },
}

struct Node {
    kind: Kind,
    line: u64,
}

/// What went wrong: yaml.v2's message, `yaml: ` included.
type Fatal = String;

/// Decodes `text` into the entries of a `map[string]interface{}`; on error also returns the
/// message gorender stores under `"Error"`.
pub(super) fn unmarshal(text: &str) -> (BTreeMap<String, Value>, Option<String>) {
    let mut out = BTreeMap::new();
    let (nodes, root) = match parse(text) {
        Ok(parsed) => parsed,
        Err(msg) => return (out, Some(msg)),
    };
    let Some(root) = root else {
        return (out, None);
    };
    let mut d = Decoder {
        nodes: &nodes,
        type_errors: Vec::new(),
        active_aliases: Vec::new(),
        decode_count: 1, // the document node
        alias_count: 0,
        alias_depth: 0,
    };
    if let Err(fatal) = d.top(root, &mut out) {
        return (out, Some(fatal));
    }
    if d.type_errors.is_empty() {
        (out, None)
    } else {
        let msg = format!("yaml: unmarshal errors:\n  {}", d.type_errors.join("\n  "));
        (out, Some(msg))
    }
}

/// Parses the first document into nodes, returning its root (None for an empty stream).
fn parse(text: &str) -> Result<(Vec<Node>, Option<usize>), Fatal> {
    let input = if text.is_empty() { "\n" } else { text };
    let mut bytes = input.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut bytes);
    let mut nodes: Vec<Node> = Vec::new();
    let mut anchors: HashMap<String, usize> = HashMap::new();
    // Open collections: (node index); the root is the first completed node.
    let mut open: Vec<usize> = Vec::new();
    let mut root = None;
    loop {
        let event = parser.parse().map_err(|e| error_text(&e))?;
        let line = event.start_mark.line;
        let new = match event.data {
            EventData::StreamStart { .. } | EventData::DocumentStart { .. } => continue,
            EventData::StreamEnd => return Ok((nodes, root)),
            EventData::DocumentEnd { .. } => return Ok((nodes, root)),
            EventData::SequenceEnd | EventData::MappingEnd => {
                open.pop();
                continue;
            }
            EventData::Alias { anchor } => {
                let Some(&target) = anchors.get(&anchor) else {
                    return Err(format!("yaml: unknown anchor '{anchor}' referenced"));
                };
                let kind = Kind::Alias {
                    name: anchor,
                    target,
                };
                (kind, None, false)
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                plain_implicit,
                ..
            } => {
                // yaml.v2 keeps the event's plain-implicit flag: false for quoted scalars.
                let kind = Kind::Scalar {
                    value,
                    tag: tag.unwrap_or_default(),
                    implicit: plain_implicit,
                };
                (kind, anchor, false)
            }
            EventData::SequenceStart { anchor, .. } => (Kind::Seq(Vec::new()), anchor, true),
            EventData::MappingStart { anchor, .. } => (Kind::Map(Vec::new()), anchor, true),
        };
        let (kind, anchor, opens) = new;
        let id = nodes.len();
        nodes.push(Node { kind, line });
        if let Some(name) = anchor {
            anchors.insert(name, id);
        }
        match open.last().copied() {
            Some(parent) => match nodes.get_mut(parent).map(|n| &mut n.kind) {
                Some(Kind::Seq(children) | Kind::Map(children)) => children.push(id),
                _ => return Err("yaml: internal error: bad parent node".into()),
            },
            None => root = root.or(Some(id)),
        }
        if opens {
            if open.len() >= MAX_DEPTH {
                return Err(format!("yaml: exceeded max depth of {MAX_DEPTH}"));
            }
            open.push(id);
        }
    }
}

/// yaml.v2's `parser.fail`: `yaml: line N: problem`, N from the problem mark (one more for
/// scanner errors, whose marks are not advanced) or else the context mark.
fn error_text(e: &libyaml_safer::Error) -> String {
    let mut line = 0;
    if let Some(mark) = e.problem_mark().filter(|m| m.line != 0) {
        line = mark.line;
        if e.kind() == ErrorKind::Scanner {
            line += 1;
        }
    } else if let Some(mark) = e.context_mark().filter(|m| m.line != 0) {
        line = mark.line;
    }
    let problem = e.problem();
    let problem = if problem.is_empty() {
        "unknown problem parsing YAML content"
    } else {
        problem
    };
    if line != 0 {
        format!("yaml: line {line}: {problem}")
    } else {
        format!("yaml: {problem}")
    }
}

struct Decoder<'a> {
    nodes: &'a [Node],
    type_errors: Vec<String>,
    active_aliases: Vec<usize>,
    decode_count: u64,
    alias_count: u64,
    alias_depth: u32,
}

/// Where a mapping's entries go: the caller's `map[string]interface{}` or a nested
/// `map[interface{}]interface{}`.
#[derive(Clone, Copy, PartialEq)]
enum KeyType {
    String,
    Any,
}

impl<'a> Decoder<'a> {
    fn node(&self, id: usize) -> Result<&'a Node, Fatal> {
        let nodes: &'a [Node] = self.nodes;
        nodes
            .get(id)
            .ok_or_else(|| "yaml: internal error: missing node".to_string())
    }

    /// yaml.v2 counts every unmarshal call and refuses documents that are mostly aliases.
    fn count(&mut self) -> Result<(), Fatal> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        let (dc, ac) = (self.decode_count as f64, self.alias_count as f64);
        let allowed = if dc <= 400_000.0 {
            0.99
        } else if dc >= 4_000_000.0 {
            0.10
        } else {
            0.99 - 0.89 * ((dc - 400_000.0) / 3_600_000.0)
        };
        if self.alias_count > 100 && self.decode_count > 1000 && ac / dc > allowed {
            return Err("yaml: document contains excessive aliasing".into());
        }
        Ok(())
    }

    /// Follows an alias, refusing one that contains itself.
    fn enter_alias(&mut self, alias: usize, name: &str) -> Result<(), Fatal> {
        if self.active_aliases.contains(&alias) {
            return Err(format!("yaml: anchor '{name}' value contains itself"));
        }
        self.active_aliases.push(alias);
        self.alias_depth += 1;
        Ok(())
    }

    fn leave_alias(&mut self) {
        self.active_aliases.pop();
        self.alias_depth = self.alias_depth.saturating_sub(1);
    }

    /// Decodes the document root into the caller's `map[string]interface{}`.
    fn top(&mut self, id: usize, out: &mut BTreeMap<String, Value>) -> Result<(), Fatal> {
        self.count()?;
        let node = self.node(id)?;
        match &node.kind {
            Kind::Map(_) => self.mapping_into(id, out, KeyType::String, 1),
            Kind::Seq(_) => {
                self.type_error(node.line, SEQ_TAG, "", "map[string]interface {}");
                Ok(())
            }
            Kind::Scalar { .. } => match self.scalar(id)? {
                Value::Nil => Ok(()),
                _ => {
                    let (tag, text) = self.scalar_tag_text(id)?;
                    self.type_error(node.line, &tag, &text, "map[string]interface {}");
                    Ok(())
                }
            },
            Kind::Alias { .. } => Err("yaml: internal error: alias at document root".into()),
        }
    }

    fn type_error(&mut self, line: u64, tag: &str, text: &str, into: &str) {
        let value = if tag == SEQ_TAG || tag == MAP_TAG {
            String::new()
        } else if text.len() > 10 {
            let cut = (0..=7)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            format!(" `{}...`", &text[..cut])
        } else {
            format!(" `{text}`")
        };
        self.type_errors.push(format!(
            "line {}: cannot unmarshal {}{} into {}",
            line + 1,
            short_tag(tag),
            value,
            into
        ));
    }

    /// The tag yaml.v2 reports for a scalar in a type error, and its text.
    fn scalar_tag_text(&self, id: usize) -> Result<(String, String), Fatal> {
        let Kind::Scalar {
            value,
            tag,
            implicit,
        } = &self.node(id)?.kind
        else {
            return Ok((String::new(), String::new()));
        };
        if !tag.is_empty() {
            return Ok((tag.clone(), value.clone()));
        }
        if !implicit {
            return Ok((resolve::STR_TAG.into(), value.clone()));
        }
        let r = resolve("", value).map_err(|m| format!("yaml: {m}"))?;
        Ok((resolve::tag_of(&r).into(), value.clone()))
    }

    /// Decodes a mapping node's entries into `out` (also used by merges).
    fn mapping_into(
        &mut self,
        id: usize,
        out: &mut BTreeMap<String, Value>,
        keys: KeyType,
        depth: usize,
    ) -> Result<(), Fatal> {
        let Kind::Map(children) = &self.node(id)?.kind else {
            return Err("yaml: map merge requires map or sequence of maps as the value".into());
        };
        for pair in children.chunks(2) {
            let [k, v] = *pair else { continue };
            if self.is_merge(k)? {
                self.merge(v, out, keys, depth)?;
                continue;
            }
            let key = match keys {
                KeyType::String => match self.string_key(k)? {
                    Some(key) => key,
                    None => continue,
                },
                KeyType::Any => {
                    let key = self.any(k, depth + 1)?;
                    if matches!(key, Value::List(_) | Value::Map(_)) {
                        return Err(format!("yaml: invalid map key: {}", go_sharp_v(&key)));
                    }
                    key.to_go_string()
                }
            };
            let value = self.any(v, depth + 1)?;
            out.insert(key, value);
        }
        Ok(())
    }

    fn is_merge(&self, id: usize) -> Result<bool, Fatal> {
        Ok(match &self.node(id)?.kind {
            Kind::Scalar {
                value,
                tag,
                implicit,
            } => value == "<<" && (*implicit || tag == resolve::MERGE_TAG),
            _ => false,
        })
    }

    /// yaml.v2's `merge`: a map, an alias of a map, or a sequence of those (later ones first,
    /// so earlier ones win).
    fn merge(
        &mut self,
        id: usize,
        out: &mut BTreeMap<String, Value>,
        keys: KeyType,
        depth: usize,
    ) -> Result<(), Fatal> {
        let want_map =
            || "yaml: map merge requires map or sequence of maps as the value".to_string();
        match &self.node(id)?.kind {
            Kind::Map(_) => {
                self.count()?;
                self.mapping_into(id, out, keys, depth)
            }
            Kind::Alias { name, target } => {
                let (name, target) = (name.clone(), *target);
                if !matches!(self.node(target)?.kind, Kind::Map(_)) {
                    return Err(want_map());
                }
                self.count()?;
                self.enter_alias(id, &name)?;
                self.count()?;
                let r = self.mapping_into(target, out, keys, depth);
                self.leave_alias();
                r
            }
            Kind::Seq(items) => {
                for &item in items.iter().rev() {
                    match &self.node(item)?.kind {
                        Kind::Map(_) => {}
                        Kind::Alias { target, .. }
                            if matches!(self.node(*target)?.kind, Kind::Map(_)) => {}
                        _ => return Err(want_map()),
                    }
                    self.merge(item, out, keys, depth)?;
                }
                Ok(())
            }
            Kind::Scalar { .. } => Err(want_map()),
        }
    }

    /// A key of the top-level map: its source text (None after a type error).
    fn string_key(&mut self, id: usize) -> Result<Option<String>, Fatal> {
        self.count()?;
        let node = self.node(id)?;
        match &node.kind {
            Kind::Alias { name, target } => {
                let (name, target) = (name.clone(), *target);
                self.enter_alias(id, &name)?;
                let r = self.string_key(target);
                self.leave_alias();
                r
            }
            Kind::Map(_) => {
                self.type_error(node.line, MAP_TAG, "", "string");
                Ok(None)
            }
            Kind::Seq(_) => {
                self.type_error(node.line, SEQ_TAG, "", "string");
                Ok(None)
            }
            Kind::Scalar { value, .. } => {
                let value = value.clone();
                Ok(Some(match self.scalar(id)? {
                    Value::Nil => String::new(),
                    Value::Str(s) if self.is_binary(id)? => s.to_string(),
                    _ => value,
                }))
            }
        }
    }

    fn is_binary(&self, id: usize) -> Result<bool, Fatal> {
        Ok(matches!(&self.node(id)?.kind, Kind::Scalar { tag, .. } if tag == BINARY_TAG))
    }

    /// Decodes a node into a Go `interface{}`.
    fn any(&mut self, id: usize, depth: usize) -> Result<Value, Fatal> {
        if depth > MAX_DEPTH {
            return Err(format!("yaml: exceeded max depth of {MAX_DEPTH}"));
        }
        self.count()?;
        match &self.node(id)?.kind {
            Kind::Alias { name, target } => {
                let (name, target) = (name.clone(), *target);
                self.enter_alias(id, &name)?;
                let r = self.any(target, depth);
                self.leave_alias();
                r
            }
            Kind::Scalar { .. } => self.scalar(id),
            Kind::Seq(items) => {
                let items = items.clone();
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.any(item, depth + 1)?);
                }
                Ok(Value::list(ElemKind::Any, out))
            }
            Kind::Map(_) => {
                let mut out = BTreeMap::new();
                self.mapping_into(id, &mut out, KeyType::Any, depth)?;
                Ok(Value::map(MapKind::AnyAny, out))
            }
        }
    }

    /// yaml.v2's scalar decoding into `interface{}`.
    fn scalar(&self, id: usize) -> Result<Value, Fatal> {
        let Kind::Scalar {
            value,
            tag,
            implicit,
        } = &self.node(id)?.kind
        else {
            return Ok(Value::Nil);
        };
        if tag.is_empty() && !implicit {
            return Ok(Value::str(value.as_str()));
        }
        if tag == BINARY_TAG {
            return decode_binary(value).map(Value::str);
        }
        let resolved = resolve(tag, value).map_err(|m| format!("yaml: {m}"))?;
        Ok(match resolved {
            Scalar::Null => Value::Nil,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            // Go keeps a uint64; our model has none, so the nearest float stands in.
            Scalar::Uint(u) => Value::Float(u as f64),
            Scalar::Float(f) => Value::Float(f),
            Scalar::Str(s) => Value::str(s),
            Scalar::Timestamp => Value::str(value.as_str()),
        })
    }
}

/// `!!binary`: standard base64 (Go's decoder skips line breaks).
fn decode_binary(text: &str) -> Result<String, Fatal> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| "yaml: !!binary value contains invalid base64 data".to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Go's `%#v` for the composite keys yaml.v2 refuses, close enough to recognise.
fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Nil => "interface {}(nil)".into(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(l) => {
            let items: Vec<String> = l.items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Map(m) => {
            let items: Vec<String> = m
                .borrow()
                .entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", go_sharp_v(v)))
                .collect();
            format!("map[interface {{}}]interface {{}}{{{}}}", items.join(", "))
        }
        other => other.to_go_string(),
    }
}
