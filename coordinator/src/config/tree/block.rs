//! A fast reader for the plain block YAML that almost every werf.yaml document is written in:
//! block mappings and sequences, one-line plain and quoted scalars, comments. yaml-rust2 reads
//! about 35 MB/s; rendered monorepo configs are megabytes, so parsing was most of the front
//! end's time. This reader makes the very same [`Document`]s, positions included, in about
//! half the time (the nodes' allocations are most of what is left), or gives up on a document
//! it is not sure of; `parse_piece` then hands that document to yaml-rust2.
//!
//! It gives up (returns `None`) on anything outside the subset rather than interpreting it:
//! flow collections, block scalars (`|`, `>`), anchors, aliases, tags, multi-line scalars,
//! escapes in double quotes, empty (null) values, plain scalars starting with an indicator,
//! tabs, control characters. So a document it accepts is one whose reading is not in doubt;
//! the tests compare it with yaml-rust2's on random documents.
//!
//! Positions follow yaml-rust2's marks (1-based line and column, columns in characters):
//! a scalar's is its first character (the quote, for a quoted one); a mapping's is the `:` of
//! its first key; a sequence's is its first `-`, except for a sequence written at its key's
//! own indentation (`install:` then `- ...` below it), whose position is its first entry's.

use super::{Document, Node, NodeKind};

/// A stream's document: its text (from its `---` line, if any, to the next one) and where it
/// starts.
pub(super) struct Span<'a> {
    pub text: &'a str,
    /// Byte offset of `text` in the stream.
    pub start: usize,
    /// The 1-based line of the span's first line.
    pub line: usize,
    /// Whether it starts with a `---` line (the first document of a stream may not).
    pub explicit: bool,
}

/// Cuts a stream at its `---` lines. `None` when the stream holds something that makes cutting
/// it unsafe or that this reader leaves to yaml-rust2 anyway: directives (`%`), document ends
/// (`...`), a block scalar at the root (`|` or `>` at column 0, whose text may hold `---`
/// lines), content on a `---` line, a byte order mark, carriage returns.
pub(super) fn split(text: &str) -> Option<Vec<Span<'_>>> {
    if text.contains('\r') || text.starts_with('\u{feff}') {
        return None;
    }
    let mut spans = vec![];
    let (mut start, mut start_line, mut explicit) = (0, 1, false);
    let mut line_no = 1;
    let mut pos = 0;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..end];
        // A block scalar at the root with its text at column 0 runs on over `---` lines.
        if line.starts_with(['%', '|', '>']) || line.starts_with("...") {
            return None;
        }
        if let Some(after) = line.strip_prefix("---") {
            if after.starts_with([' ', '\t']) && !after.trim_matches([' ', '\t']).is_empty() {
                return None;
            }
            if after.is_empty() || after.starts_with([' ', '\t']) {
                if pos > 0 {
                    spans.push(Span {
                        text: &text[start..pos],
                        start,
                        line: start_line,
                        explicit,
                    });
                }
                (start, start_line, explicit) = (pos, line_no, true);
            }
        }
        pos = end + 1;
        line_no += 1;
    }
    spans.push(Span {
        text: &text[start..],
        start,
        line: start_line,
        explicit,
    });
    Some(spans)
}

/// Reads one document. `Some(None)`: the span holds no document (a first span of blank lines
/// and comments). `None`: not sure; let yaml-rust2 read it. The document's index is left 0.
pub(super) fn document(span: &Span<'_>) -> Option<Option<Document>> {
    let mut lines = vec![];
    for (n, raw) in span.text.split('\n').enumerate() {
        let no = span.line + n;
        if span.explicit && n == 0 {
            continue; // the `---` line
        }
        if raw.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f) {
            return None; // tabs and control characters
        }
        if !raw.is_ascii() && raw.chars().any(odd_char) {
            return None;
        }
        let text = raw.trim_start_matches(' ');
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        lines.push(Line {
            no,
            indent: raw.len() - text.len(),
            text: text.trim_end_matches(' '),
        });
    }
    let Some(&first) = lines.first() else {
        return Some(span.explicit.then_some(Document {
            index: 0,
            line: span.line,
            root: None,
        }));
    };
    let mut reader = Reader {
        lines: &mut lines,
        pos: 0,
    };
    let root = reader.block(first.indent)?;
    if reader.pos < reader.lines.len() {
        return None;
    }
    Some(Some(Document {
        index: 0,
        line: root.line,
        root: Some(root),
    }))
}

/// Characters yaml-rust2 may read as line breaks or reject, left to it.
fn odd_char(c: char) -> bool {
    matches!(c as u32, 0x80..=0x9f | 0x2028 | 0x2029 | 0xfeff)
}

/// A line with content: not blank, not a comment.
#[derive(Clone, Copy)]
struct Line<'a> {
    no: usize,
    /// Columns before `text` (0-based column of its first character).
    indent: usize,
    /// From the first non-space character, trailing spaces trimmed.
    text: &'a str,
}

impl Line<'_> {
    /// The 1-based column of byte `at` of `text`.
    fn col(&self, at: usize) -> usize {
        let before = &self.text[..at];
        let chars = if before.is_ascii() {
            at
        } else {
            before.chars().count()
        };
        self.indent + chars + 1
    }
}

struct Reader<'a, 'l> {
    lines: &'l mut Vec<Line<'a>>,
    pos: usize,
}

impl<'a> Reader<'a, '_> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.pos).copied()
    }

    /// The next line of a block at column `col`: `Some(None)` where the block ends (no more
    /// lines, or one less indented), `None` for a more indented line (a multi-line scalar, or
    /// an error).
    fn next_at(&self, col: usize) -> Option<Option<Line<'a>>> {
        match self.peek() {
            Some(line) if line.indent > col => None,
            Some(line) if line.indent == col => Some(Some(line)),
            _ => Some(None),
        }
    }

    /// A mapping or sequence whose first line is the current one, at column `col`.
    fn block(&mut self, col: usize) -> Option<Node> {
        let line = self.peek()?;
        if is_entry(line.text) {
            self.seq(col, false)
        } else if key(line.text).is_some() {
            self.map(col)
        } else {
            None
        }
    }

    fn map(&mut self, col: usize) -> Option<Node> {
        let mut pairs = vec![];
        let mut mark = None;
        while let Some(line) = self.next_at(col)? {
            let (k, colon, rest) = key(line.text)?;
            mark.get_or_insert((line.no, line.col(colon)));
            let key = scalar_node(line.no, line.col(0), k.to_string(), true);
            self.pos += 1;
            let value = if rest == line.text.len() {
                match self.peek() {
                    Some(next) if next.indent > col => self.block(next.indent)?,
                    Some(next) if next.indent == col && is_entry(next.text) => {
                        self.seq(col, true)?
                    }
                    _ => return None, // a null value
                }
            } else {
                // A more indented line next (a multi-line scalar, or an error) makes
                // `next_at` give up.
                scalar(&line, rest)?
            };
            pairs.push((key, value));
        }
        marked(mark, NodeKind::Map(pairs))
    }

    /// A sequence of `- ` entries at column `col`; `indentless` when it is a mapping value
    /// written at its key's indentation (it then ends at the first line that is not an entry).
    fn seq(&mut self, col: usize, indentless: bool) -> Option<Node> {
        let mut items = vec![];
        let mut mark = None;
        while let Some(line) = self.next_at(col)? {
            if !is_entry(line.text) {
                if indentless {
                    break;
                }
                return None;
            }
            let after = &line.text[1..];
            let content = after.trim_start_matches(' ');
            if content.is_empty() {
                return None; // the entry is on the next lines
            }
            let at = line.text.len() - content.len();
            let entry = Line {
                no: line.no,
                indent: line.indent + at,
                text: content,
            };
            if !indentless {
                mark.get_or_insert((line.no, line.col(0)));
            }
            mark.get_or_insert((line.no, line.col(at)));
            // (A nested compact sequence, `- - a`, is no key and no plain scalar: it gives up.)
            let item = if key(content).is_some() {
                // A compact mapping (`- a: b`): its keys sit at its first key's column.
                self.lines[self.pos] = entry;
                self.map(entry.indent)?
            } else {
                // As in `map`, a more indented line next gives up.
                let item = scalar(&line, at)?;
                self.pos += 1;
                item
            };
            items.push(item);
        }
        marked(mark, NodeKind::Seq(items))
    }
}

/// A collection node at `mark` (`None`: it has no entries, which this reader leaves alone).
fn marked(mark: Option<(usize, usize)>, kind: NodeKind) -> Option<Node> {
    let (line, col) = mark?;
    Some(Node { kind, line, col })
}

/// Whether a line's text is a sequence entry (`-` then a space, or `-` alone).
fn is_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Splits `key: rest` into the key, the byte offset of its `:` and that of the value (the
/// text's length when there is none, or only a comment). `None` when the text is no plain
/// key this reader is sure of.
fn key(text: &str) -> Option<(&str, usize, usize)> {
    let colon = text
        .match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| matches!(text.as_bytes().get(i + 1), None | Some(b' ')))?;
    let k = &text[..colon];
    if k.is_empty() || k.ends_with(' ') || !plain_ok(k) {
        return None;
    }
    // yaml-rust2 reads no key whose `:` is more than 1024 characters after its start.
    if k.len() >= 1024 && k.chars().count() >= 1024 {
        return None;
    }
    let after = &text[colon + 1..];
    let value = after.trim_start_matches(' ');
    let rest = if value.is_empty() || value.starts_with('#') {
        text.len()
    } else {
        text.len() - value.len()
    };
    Some((k, colon, rest))
}

/// Whether `s` (trimmed, one line) reads as this very plain scalar in block context.
fn plain_ok(s: &str) -> bool {
    // Bytes, one pass: every character tested is ASCII, and a scalar is a few dozen bytes
    // (two substring searches per scalar showed up in profiles of 10,000-image configs).
    let b = s.as_bytes();
    let Some(first) = b.first() else {
        return false;
    };
    !b"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !b.ends_with(b":")
        && !b
            .windows(2)
            .any(|w| matches!(w, [b' ', b'#'] | [b':', b' ']))
}

/// The scalar at byte `at` of `line` up to its end (a trailing comment aside).
fn scalar(line: &Line<'_>, at: usize) -> Option<Node> {
    let s = &line.text[at..];
    let col = line.col(at);
    let quoted = |value: String, close: usize| {
        // After the closing quote: nothing, or spaces and a comment.
        let after = &s[close + 1..];
        let trimmed = after.trim_start_matches(' ');
        (trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < after.len()))
            .then(|| scalar_node(line.no, col, value, false))
    };
    match s.as_bytes().first()? {
        b'\'' => {
            let mut value = String::new();
            let mut rest = &s[1..];
            loop {
                let q = rest.find('\'')?;
                value.push_str(&rest[..q]);
                if rest[q + 1..].starts_with('\'') {
                    value.push('\'');
                    rest = &rest[q + 2..];
                } else {
                    let close = s.len() - rest.len() + q;
                    return quoted(value, close);
                }
            }
        }
        b'"' => {
            let close = s[1..].find('"')? + 1;
            let body = &s[1..close];
            if body.contains('\\') {
                return None;
            }
            quoted(body.to_string(), close)
        }
        _ => {
            let value = match s.find(" #") {
                Some(i) => s[..i].trim_end_matches(' '),
                None => s,
            };
            plain_ok(value).then(|| scalar_node(line.no, col, value.to_string(), true))
        }
    }
}

fn scalar_node(line: usize, col: usize, value: String, plain: bool) -> Node {
    Node {
        kind: NodeKind::Scalar { value, plain },
        line,
        col,
    }
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
