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
    let Some(first) = s.chars().next() else {
        return false;
    };
    !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !s.contains(" #")
        && !s.contains(": ")
        && !s.ends_with(':')
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
mod tests {
    use super::super::{join_parts, parse_map_at, parse_one, parse_piece, parse_yaml, SyntaxError};
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    /// The fast reader's documents for `text`; `None` if it gave up on any.
    fn fast(text: &str) -> Option<Vec<Document>> {
        let mut docs = vec![];
        for span in &split(text)? {
            docs.extend(document(span)?);
        }
        for (n, doc) in docs.iter_mut().enumerate() {
            doc.index = n + 1;
        }
        Some(docs)
    }

    #[test]
    fn a_werf_config_is_read_fast_and_as_yaml_rust2_reads_it() {
        let text = "\
# a comment
project: demo   # trailing
configVersion: 1
---
image: app
from: alpine:3.19
fromCacheVersion: '2'
import:
- artifact: tool
  add: /out
  to: /opt/tool
  after: install
shell:
  beforeInstall:
    - apk add --no-cache curl
  install:
  - echo \"service-0001\" > /app/name
  - 'it''s quoted'
docker:
  ENV:
    SERVICE: \"svc-1\"
    URL: http://example.com:8080/a#b
  EXPOSE: [\"80\"]
---
---
artifact: tool
from: ünïcode-base
shell:
  install:
  - mkdir -p /out && echo ü > /out/bin # done
";
        let docs = parse_one(text).unwrap();
        assert_eq!(docs, parse_yaml(text).unwrap());
        // The documents without a flow sequence are the fast reader's own.
        let spans = split(text).unwrap();
        assert!(document(&spans[0]).unwrap().is_some());
        assert!(
            document(&spans[1]).is_none(),
            "a flow sequence goes to yaml-rust2"
        );
        assert_eq!(document(&spans[2]).unwrap().unwrap().root, None);
        assert_eq!(document(&spans[3]).unwrap().unwrap(), {
            let mut d = docs[3].clone();
            d.index = 0;
            d
        });
    }

    #[test]
    fn documents_it_is_unsure_of_go_to_yaml_rust2() {
        for text in [
            "a: |\n  text\n",
            "a: >\n  folded\n",
            "a: &x b\nc: *x\n",
            "a: !!str 1\n",
            "a:\nb: 1\n",
            "a: b\n  c\n",
            "- - a\n",
            "a: \"x\\ty\"\n",
            "a: 'multi\n  line'\n",
            "? complex\n: key\n",
            "a: -x\n",
            "a:\tb\n",
            "a: b: c\n",
            "- a\n b\n",
            // A block scalar ending where the next document starts (not at the input's end).
            "-   |  \n---\na  \n",
        ] {
            let spans = split(text).unwrap();
            assert!(document(&spans[0]).is_none(), "{text:?}");
            assert_eq!(parse_one(text), parse_yaml(text), "{text:?}");
        }
        let long_key = format!("{}: v\n", "k".repeat(1025));
        let spans = split(&long_key).unwrap();
        assert!(document(&spans[0]).is_none(), "a key of 1,025 characters");
        assert_eq!(parse_one(&long_key), parse_yaml(&long_key));
        assert!(parse_yaml(&long_key).is_err(), "yaml-rust2 refuses it");
        for text in [
            "%YAML 1.2\n---\na: 1\n",
            "a: 1\n...\n",
            "--- a: 1\n",
            "a: 1\r\n",
            "|\nfoo\n---\nbar\n",
            "---\n>\nfoo\n---\nbar\n",
        ] {
            assert!(split(text).is_none(), "{text:?}");
            assert_eq!(parse_one(text), parse_yaml(text), "{text:?}");
        }
    }

    #[test]
    fn an_error_is_the_one_yaml_rust2_reports_for_the_whole_stream() {
        let text = "a: 1\n---\nb: [c\n---\nd: 'e\n";
        assert_eq!(parse_one(text), parse_yaml(text));
        assert!(parse_one(text).is_err());
    }

    /// A YAML value written in block style in one of the ways this reader takes or gives up on.
    #[derive(Debug, Clone)]
    enum Value {
        Scalar(String),
        Seq(Vec<Value>),
        Map(Vec<(String, Value)>),
    }

    fn words() -> impl Strategy<Value = String> {
        prop_oneof![
            30 => "[a-z][a-z0-9_./-]{0,8}",
            4 => "[a-zA-Z0-9 :#,'\"\\[\\]{}&*!|>%@`?-]{1,10}",
            1 => Just("ü".to_string()),
            1 => Just("a: b".to_string()),
            1 => Just("x #y".to_string()),
            1 => Just("k #x: v".to_string()),
            1 => Just("k#x: v".to_string()),
            1 => Just("'q''d'".to_string()),
            1 => Just("\"dq\"".to_string()),
            1 => Just("\"d\\\"q\"".to_string()),
            1 => Just("'open".to_string()),
            1 => Just("~".to_string()),
            1 => Just("1.5".to_string()),
            1 => Just("true".to_string()),
        ]
    }

    fn key_text() -> impl Strategy<Value = String> {
        prop_oneof![9 => "[a-z][a-z0-9:#-]{0,5}", 1 => "[a-z][a-z0-9:# -]{0,5}"]
    }

    fn value() -> impl Strategy<Value = Value> {
        words()
            .prop_map(Value::Scalar)
            .prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Seq),
                    prop::collection::vec((key_text(), inner), 1..4).prop_map(Value::Map),
                ]
            })
    }

    fn pick(style: &mut impl Iterator<Item = u8>) -> u8 {
        style.next().unwrap_or(0)
    }

    /// Writes `v` at `indent`; `style` picks among the ways to write the same thing.
    fn write(out: &mut String, v: &Value, indent: usize, style: &mut impl Iterator<Item = u8>) {
        let pad = |n: usize| " ".repeat(n);
        match v {
            Value::Scalar(s) => {
                out.push_str(s);
                match pick(style) % 6 {
                    0 => out.push_str("  "),
                    1 => out.push_str(" # note"),
                    _ => {}
                }
                out.push('\n');
            }
            Value::Seq(items) => {
                for item in items {
                    out.push_str(&pad(indent));
                    out.push_str(if pick(style).is_multiple_of(5) {
                        "-   "
                    } else {
                        "- "
                    });
                    match item {
                        Value::Scalar(_) => write(out, item, indent + 2, style),
                        Value::Map(_) if !pick(style).is_multiple_of(3) => {
                            // A compact mapping: the first key on the entry's line.
                            let mut inner = String::new();
                            write(&mut inner, item, indent + 2, style);
                            out.push_str(inner.trim_start_matches(' '));
                        }
                        _ => {
                            out.push('\n');
                            write(out, item, indent + 2, style);
                        }
                    }
                }
            }
            Value::Map(pairs) => {
                for (k, item) in pairs {
                    out.push_str(&pad(indent));
                    out.push_str(k);
                    out.push(':');
                    match item {
                        Value::Scalar(_) => {
                            out.push_str(if pick(style).is_multiple_of(4) {
                                "   "
                            } else {
                                " "
                            });
                            write(out, item, indent + 2, style);
                        }
                        Value::Seq(_) if pick(style).is_multiple_of(2) => {
                            out.push('\n');
                            write(out, item, indent, style); // indentless
                        }
                        _ => {
                            out.push('\n');
                            let step = [2, 4, 1][usize::from(pick(style) % 3)];
                            write(out, item, indent + step, style);
                        }
                    }
                    match pick(style) % 9 {
                        0 => out.push('\n'),
                        1 => out
                            .push_str(&format!("{}# comment\n", pad(usize::from(pick(style) % 5)))),
                        _ => {}
                    }
                }
            }
        }
    }

    fn stream() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((value(), 0..3u8), 1..4),
            prop::collection::vec(any::<u8>(), 64),
        )
            .prop_map(|(docs, style)| {
                let mut style = style.into_iter().cycle();
                let mut out = String::new();
                for (n, (v, sep)) in docs.iter().enumerate() {
                    if n > 0 || *sep == 1 {
                        out.push_str(if *sep == 2 { "---  \n" } else { "---\n" });
                    }
                    if *sep == 2 {
                        out.push_str("\n# leading comment\n");
                    }
                    write(&mut out, v, 0, &mut style);
                }
                out
            })
    }

    /// Lines of YAML-like text in no particular structure, to try the reader on bad input.
    fn soup() -> impl Strategy<Value = String> {
        let line = (
            0..5usize,
            prop_oneof![
                Just(""),
                Just("- "),
                Just("-"),
                Just("k: "),
                Just("k:"),
                Just("- k: "),
                Just("---"),
                Just("# "),
            ],
            words(),
        )
            .prop_map(|(indent, prefix, word)| format!("{}{prefix}{word}\n", " ".repeat(indent)));
        prop::collection::vec(line, 1..12).prop_map(|lines| lines.concat())
    }

    /// The stream's offsets where a `---` line starts: where `parse` and `render_and_load`
    /// may cut it.
    fn cuts(text: &str) -> Vec<usize> {
        std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&i| text[i..].starts_with("---"))
            .collect()
    }

    /// `text` read as two pieces cut at `cut`, each on its own, then put together.
    fn read_in_pieces(text: &str, cut: usize) -> Result<Vec<Document>, SyntaxError> {
        let (head, tail) = text.split_at(cut);
        let lines = head.matches('\n').count();
        let mut docs = parse_piece(head, true)?;
        let mut rest = parse_piece(tail, false).map_err(|mut e| {
            e.line += lines;
            e
        })?;
        for doc in &mut rest {
            doc.shift_lines(lines);
            doc.index += docs.len();
        }
        docs.append(&mut rest);
        Ok(docs)
    }

    #[test]
    fn nearly_every_cut_of_a_good_stream_reads_in_pieces() {
        // A piece with an error only costs time (the whole is read again), so the property
        // test below lets pieces fail: this one makes sure they seldom do.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = stream();
        let (mut in_pieces, mut good) = (0, 0);
        for _ in 0..1000 {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            if parse_yaml(&text).is_err() {
                continue;
            }
            for cut in cuts(&text) {
                good += 1;
                in_pieces += usize::from(read_in_pieces(&text, cut).is_ok());
            }
        }
        assert!(good > 500, "only {good} cuts of good streams");
        assert!(
            in_pieces * 100 >= good * 99,
            "{in_pieces} of {good} cuts read in pieces"
        );
    }

    #[test]
    fn most_generated_block_streams_are_the_fast_readers_own() {
        // The property tests below would pass with a reader that gives up on everything: this
        // one makes sure they do test it.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = stream();
        let (mut taken, total) = (0, 500);
        for _ in 0..total {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            if let Some(docs) = fast(&text) {
                assert_eq!(Ok(docs), parse_yaml(&text), "{text}");
                taken += 1;
            }
        }
        assert!(taken * 4 > total, "only {taken} of {total} read fast");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn block_documents_read_as_yaml_rust2_reads_them(text in stream()) {
            prop_assert_eq!(parse_one(&text), parse_yaml(&text), "{}", text);
        }

        #[test]
        fn a_stream_cut_before_any_document_reads_as_the_whole(
            text in stream(),
            at in any::<prop::sample::Index>(),
        ) {
            // The cuts `parse` and `render_and_load` may make: before a `---` line.
            let starts = cuts(&text);
            prop_assume!(!starts.is_empty());
            let cut = starts[at.index(starts.len())];
            let whole = parse_yaml(&text);
            // Each piece either reads as in the whole stream or has an error, which makes the
            // callers read the whole stream again: a flow collection left open across the cut
            // reads differently in two pieces, and yaml-rust2 reads a root block scalar with
            // no text (`|` alone on its line) as running on over the `---` line after it.
            let parts = read_in_pieces(&text, cut);
            if parts.is_ok() {
                prop_assert_eq!(&parts, &whole, "{}", text);
            }
            // And so, pieces or not, the caller's result is the whole stream's.
            let mapped = parse_map_at(&text, Some(cut), &Document::clone).map(join_parts);
            prop_assert_eq!(mapped, whole, "{}", text);
        }

        #[test]
        fn any_lines_read_as_yaml_rust2_reads_them(text in soup()) {
            prop_assert_eq!(parse_one(&text), parse_yaml(&text), "{}", text);
        }
    }
}
