//! Tests of the fast block reader: on generated block streams and on YAML-like soup, it reads
//! what yaml-rust2 reads (or gives up), alone and in pieces cut before any document; and it
//! does take most generated streams itself.

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
                    1 => out.push_str(&format!("{}# comment\n", pad(usize::from(pick(style) % 5)))),
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
        let mapped = parse_map_at(&text, Some(cut), &|doc| doc).map(join_parts);
        prop_assert_eq!(mapped, whole, "{}", text);
    }

    #[test]
    fn any_lines_read_as_yaml_rust2_reads_them(text in soup()) {
        prop_assert_eq!(parse_one(&text), parse_yaml(&text), "{}", text);
    }
}
