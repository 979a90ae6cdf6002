//! Engine tests: small templates whose expected results were printed by the reference
//! renderer (Go 1.19 text/template + sprig; `list` and `dict` stand in for sprig's here).
//! The golden cases under `coordinator/tests/render/cases` cover far more; these pin the
//! reflection-level details (interface slots, nil vs missing) close to the code.

use std::collections::BTreeMap;

use super::value::{ElemKind, Func, MapKind, Ty, Value};
use super::{render_with, FileSource, RenderInput};

struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
    fn list(&self) -> Vec<String> {
        Vec::new()
    }
}

fn test_funcs() -> Vec<(&'static str, Func)> {
    vec![
        (
            "list",
            Func::variadic(&[], Ty::Any, |a| Ok(Value::list(ElemKind::Any, a))),
        ),
        (
            "dict",
            Func::variadic(&[], Ty::Any, |a| {
                let mut m = BTreeMap::new();
                for pair in a.chunks(2) {
                    let v = pair.get(1).cloned().unwrap_or(Value::str(""));
                    m.insert(pair[0].to_go_string(), v);
                }
                Ok(Value::map(MapKind::StringAny, m))
            }),
        ),
    ]
}

/// Renders `text`; an error comes back as Go's full message.
fn run(text: &str) -> String {
    let env = |_: &str| None;
    let input = RenderInput {
        config_name: "werf.yaml",
        config: text,
        files: &NoFiles,
        env: &env,
    };
    match render_with(&input, test_funcs(), None) {
        Ok(r) => r.text,
        Err(e) => e.go_message().to_string(),
    }
}

#[test]
fn nil_elements_and_missing_values() {
    assert_eq!(
        run("{{ range list nil \"a\" }}[{{ . }}]{{ end }}"),
        "[<no value>][a]"
    );
    assert_eq!(
        run("{{ index (list nil) 0 }}|{{ $x := index (dict) \"k\" }}{{ $x }}|{{ printf \"%v\" (index (dict) \"k\") }}"),
        "<no value>|<no value>|<nil>"
    );
    assert_eq!(
        run("{{ range $i, $e := list nil }}{{ $e.x }}{{ end }}"),
        "template: werfConfig:1:35: executing \"werfConfig\" at <$e.x>: nil pointer evaluating interface {}.x"
    );
    assert_eq!(
        run("{{ $l := list 1 }}{{ $l.x }}"),
        "template: werfConfig:1:23: executing \"werfConfig\" at <$l.x>: can't evaluate field x in type []interface {}"
    );
}

#[test]
fn formatting_and_printing() {
    assert_eq!(
        run("{{ printf \"%5v|%-4v|%05d\" (list 1 22) (dict \"a\" \"b\") 7 }}"),
        "[    1    22]|map[a   :b   ]|00007"
    );
    assert_eq!(run("{{ \"a\" | printf \"%s|%s\" }}"), "a|%!s(MISSING)");
    assert_eq!(run("{{ len (list 1 2 | printf \"%v\") }}"), "5");
    assert_eq!(run("{{ print (list \"a\" \"b\") \"c\" 1 2 }}"), "[a b]c1 2");
    assert_eq!(
        run("{{ println }}|{{ print nil nil }}|{{ print \"a\" nil }}"),
        "\n|<nil> <nil>|a<nil>"
    );
    assert_eq!(
        run("{{ urlquery \"a=b c\" 1 }}|{{ js \"é\\u2028x\" }}|{{ html \"\\x00\" }}"),
        "a%3Db+c1|é\\u2028x|\u{FFFD}"
    );
}

#[test]
fn variables_and_comparisons() {
    assert_eq!(
        run("{{ $x := 1 }}{{ with $x := 2 }}{{ $x }}{{ end }}{{ $x }}"),
        "21"
    );
    assert_eq!(run("{{ eq .Files .Files }} {{ eq nil nil }}"), "true true");
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 3000;
    let text = format!("{}x{}", "{{if 1}}".repeat(depth), "{{end}}".repeat(depth));
    assert_eq!(run(&text), "x");
    let text = format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(run(&text), "1");
}

#[test]
fn recursion_is_capped() {
    let out = run("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" 1}}");
    assert!(
        out.contains("exceeded maximum template depth (1000)"),
        "{out}"
    );
    let out = run("{{define \"r\"}}{{include \"r\" .}}{{end}}{{include \"r\" 1}}");
    assert!(
        out.contains("exceeded maximum template depth (1000)"),
        "{out}"
    );
}

#[test]
fn errors_display_our_file_names() {
    let env = |_: &str| None;
    let input = RenderInput {
        config_name: "werf.yaml",
        config: "{{ $d := dict \"a\" nil }}\n  {{ $d.a.b }}",
        files: &NoFiles,
        env: &env,
    };
    let e = render_with(&input, test_funcs(), None)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("werf.yaml:2:7: executing \"werf.yaml\" at <$d.a.b>: nil pointer evaluating interface {}.b")
    );
    let input = RenderInput {
        config: "a\n{{ if }}",
        ..input
    };
    let e = render_with(&input, test_funcs(), None)
        .err()
        .map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("werf.yaml:2: missing value for if"));
}
