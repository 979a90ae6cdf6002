//! Tests of the stream parser: documents and their positions, pieces read as in the whole
//! stream, and large streams parsed in halves with the whole stream's results and errors.

use super::*;

fn scalar(node: &Node) -> (&str, usize, usize) {
    (node.as_scalar().unwrap(), node.line, node.col)
}

#[test]
fn documents_keep_their_lines_and_empty_ones_are_marked() {
    let text = "project: p\nconfigVersion: 1\n---\n---\nimage: app\nfrom: alpine\n";
    let docs = parse(text).unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!((docs[0].index, docs[0].line), (1, 1));
    assert!(docs[1].root.is_none(), "the empty document has no content");
    assert_eq!((docs[2].index, docs[2].line), (3, 5));
    let NodeKind::Map(pairs) = &docs[2].root.as_ref().unwrap().kind else {
        panic!("a mapping")
    };
    assert_eq!(scalar(&pairs[1].0), ("from", 6, 1));
    assert_eq!(scalar(&pairs[1].1), ("alpine", 6, 7));
}

#[test]
fn scalars_remember_quoting_and_nulls() {
    let docs = parse("a: '1'\nb: 1\nc:\nd: ~\n").unwrap();
    let NodeKind::Map(pairs) = &docs[0].root.as_ref().unwrap().kind else {
        panic!("a mapping")
    };
    assert_eq!(
        pairs[0].1.kind,
        NodeKind::Scalar {
            value: "1".into(),
            plain: false
        }
    );
    assert!(!pairs[1].1.is_null());
    assert!(pairs[2].1.is_null());
    assert!(pairs[3].1.is_null());
}

#[test]
fn a_piece_followed_by_a_document_reads_as_it_does_in_the_stream() {
    // yaml-rust2 reads an empty block scalar at the very end of its input as "\n", and
    // as "" before a `---` line: a piece cut before one must be read as followed by it.
    let (head, tail) = ("a: |\n", "---\nb: 1\n");
    let whole = parse_yaml(&format!("{head}{tail}")).unwrap();
    let alone = parse_yaml(head).unwrap();
    assert_ne!(alone[0], whole[0], "yaml-rust2 reads the two differently");
    assert_eq!(parse_piece(head, true).unwrap(), whole[..1]);
    assert_eq!(parse_piece(head, false).unwrap(), alone);
    // Also in a piece that the fast reader cannot split (a directive).
    let head = "%YAML 1.2\n---\na: |\n";
    let whole = parse_yaml(&format!("{head}{tail}")).unwrap();
    assert_eq!(parse_piece(head, true).unwrap(), whole[..1]);
    // And through `parse_part`, as `render_and_load` reads its pieces.
    let read = |d: Document| d;
    assert_eq!(
        parse_part("a: |\n", 0, true, &read).unwrap(),
        parse_one("a: |\n---\n").unwrap()[..1]
    );
}

#[test]
fn a_cut_that_is_not_safe_reads_the_whole_stream() {
    // Large streams are cut in halves before the `---` line nearest the middle; make the
    // document before that line end inside an open flow sequence (an error, reported
    // differently in a half), or a root block scalar with its text at column 0 (which runs
    // on over `---` lines): the halves read alone would differ from the whole.
    let mut text = String::new();
    let mut i = 0;
    while text.len() < PARALLEL_FROM + 4096 {
        text.push_str(&format!("---\nimage: i{i}\nfrom: alpine\n"));
        i += 1;
    }
    let cut = document_start_near(&text, text.len() / 2).unwrap();
    // The last document before the cut starts after this `---` line.
    let last = text[..cut].rfind("---\n").unwrap() + 4;
    for (at, insert) in [(cut, "x:\n  - {\n"), (last, "|\n")] {
        let bad = format!("{}{insert}{}", &text[..at], &text[at..]);
        // The halves are still cut before the same `---` line.
        let new_cut = document_start_near(&bad, bad.len() / 2).unwrap();
        assert_eq!(new_cut, cut + insert.len(), "{insert:?}");
        let whole = parse_yaml(&bad);
        assert_eq!(parse(&bad), whole, "{insert:?}");
        let mapped = parse_map(&bad, &|doc| doc).map(join_parts);
        assert_eq!(mapped, whole, "{insert:?}");
    }
}

#[test]
fn aliases_copy_the_anchored_node() {
    let docs = parse("a: &x [1, 2]\nb: *x\n").unwrap();
    let NodeKind::Map(pairs) = &docs[0].root.as_ref().unwrap().kind else {
        panic!("a mapping")
    };
    assert_eq!(pairs[0].1.kind, pairs[1].1.kind);
    assert_eq!(pairs[1].1.line, 2);
}

#[test]
fn large_streams_parse_in_halves_with_the_same_result() {
    let mut text = String::from("project: p\nconfigVersion: 1\n");
    for i in 0..40_000 {
        text.push_str(&format!(
            "---\nimage: i{i}\nshell:\n  install: [\"echo {i}\"]\n"
        ));
        if i % 1000 == 0 {
            text.push_str("---\n");
        }
    }
    assert!(
        text.len() >= PARALLEL_FROM,
        "the test must take the parallel path"
    );
    let halves = parse(&text).unwrap();
    let whole = parse_one(&text).unwrap();
    assert_eq!(halves, whole);
    let bad = format!("{text}---\na: [b\n");
    assert_eq!(parse(&bad).unwrap_err(), parse_one(&bad).unwrap_err());
}

#[test]
fn syntax_errors_name_the_line() {
    let err = parse("image: app\nfrom: [a\nshell: x\n").unwrap_err();
    assert!(err.line >= 2, "{err}");
    let err = parse("a: b: c\n").unwrap_err();
    assert_eq!(err.line, 1, "{err}");
}
