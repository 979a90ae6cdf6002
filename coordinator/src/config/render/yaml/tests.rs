//! Unit tests for `yaml.rs`. Every expected string is what the reference renderer
//! (`/tmp/gorender/gorender`, Go's yaml.v2) printed for the same input: the round trips are
//! `{{ .Files.Get "in.yaml" | fromYaml | toYaml }}`, the direct cases `{{ toYaml X }}`.

use std::collections::BTreeMap;

use super::super::value::{ElemKind, MapKind, Value};
use super::{from_yaml, to_yaml};

fn map(kind: MapKind, entries: Vec<(&str, Value)>) -> Value {
    let entries: BTreeMap<String, Value> = entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Value::map(kind, entries)
}

#[test]
fn writes_values_like_yaml_v2() {
    let cases = vec![
        (Value::Nil, "null"),
        (Value::list(ElemKind::Any, vec![]), "[]"),
        (Value::empty_map(), "{}"),
        (Value::str("plain"), "plain"),
        (Value::str("multi\nline"), "|-\n  multi\n  line"),
        (Value::Int(42), "42"),
        (Value::Int64(7), "7"),
        (Value::Float(1.5), "1.5"),
        (Value::Bool(true), "true"),
        (Value::str(""), "\"\""),
        (
            Value::list(
                ElemKind::Any,
                vec![
                    Value::Int(1),
                    Value::str("a"),
                    Value::list(ElemKind::Any, vec![]),
                    map(MapKind::StringAny, vec![("k", Value::str("v"))]),
                ],
            ),
            "- 1\n- a\n- []\n- k: v",
        ),
        (
            map(
                MapKind::StringAny,
                vec![
                    (
                        "b",
                        Value::list(ElemKind::String, vec![Value::str("x"), Value::str("y")]),
                    ),
                    ("a", map(MapKind::StringAny, vec![("n", Value::Nil)])),
                ],
            ),
            "a:\n  \"n\": null\nb:\n- x\n- \"y\"",
        ),
        (
            map(
                MapKind::StringString,
                vec![("_0", Value::str("a")), ("_1", Value::str("b"))],
            ),
            "_0: a\n_1: b",
        ),
    ];
    for (value, want) in cases {
        assert_eq!(to_yaml(&value).as_deref(), Ok(want), "toYaml {value:?}");
    }
}

#[test]
fn refuses_a_map_that_contains_itself() {
    let m = Value::empty_map();
    if let Value::Map(inner) = &m {
        inner.borrow_mut().entries.insert("self".into(), m.clone());
    }
    assert!(to_yaml(&m).is_err());
    if let Value::Map(inner) = &m {
        inner.borrow_mut().entries.clear(); // break the cycle so the test does not leak
    }
}

#[test]
fn handles_deep_nesting_within_the_depth_limit() {
    // 450 nested flow sequences: fine for Go and must not overflow a test thread's stack.
    let depth = 450;
    let text = format!("a: {}1{}", "[".repeat(depth), "]".repeat(depth));
    let v = from_yaml(&text);
    let out = to_yaml(&v).expect("within the limit");
    assert!(out.starts_with("a:\n- - - "), "{}", &out[..20]);
    let too_deep = format!("a: {}1{}", "[".repeat(600), "]".repeat(600));
    let err = from_yaml(&too_deep).to_go_string();
    assert_eq!(err, "map[Error:yaml: exceeded max depth of 500]");
}

#[test]
fn reads_values_like_yaml_v2() {
    // `{{ $m := fromYaml X }}{{ $m }} {{ typeOf $m.k }}` in the reference renderer.
    let v = from_yaml("a: 1\nb: [x, 2.5, yes, ~]\nc: {1: one, 2: two}\nd: '1'\n");
    assert_eq!(
        v.to_go_string(),
        "map[a:1 b:[x 2.5 true <nil>] c:map[1:one 2:two] d:1]"
    );
    let Value::Map(m) = &v else {
        panic!("fromYaml returns a map")
    };
    let m = m.borrow();
    assert_eq!(m.kind, MapKind::StringAny);
    assert_eq!(m.entries["a"].go_type(), "int");
    assert_eq!(m.entries["b"].go_type(), "[]interface {}");
    assert_eq!(m.entries["c"].go_type(), "map[interface {}]interface {}");
    assert_eq!(m.entries["d"].go_type(), "string");
}

#[test]
fn reports_errors_like_yaml_v2() {
    let cases = [
        ("- a\n- b\n", "map[Error:yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]interface {}]"),
        ("just a string\n", "map[Error:yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `just a ...` into map[string]interface {}]"),
        ("a: 1\n b: 2\n", "map[Error:yaml: line 2: mapping values are not allowed in this context]"),
        ("a: *unknown\n", "map[Error:yaml: unknown anchor 'unknown' referenced]"),
        ("key: value\n\u{1}\n", "map[Error:yaml: control characters are not allowed]"),
        ("a: 1\nb:\n\t- x\n", "map[Error:yaml: line 3: found character that cannot start any token]"),
        ("", "map[]"),
    ];
    for (input, want) in cases {
        assert_eq!(from_yaml(input).to_go_string(), want, "fromYaml {input:?}");
    }
}

#[test]
fn round_trips_like_yaml_v2() {
    for (input, want) in ROUND_TRIPS {
        let got = to_yaml(&from_yaml(input));
        assert_eq!(got.as_deref(), Ok(*want), "fromYaml | toYaml of {input:?}");
    }
}

const ROUND_TRIPS: &[(&str, &str)] = &[
    (
        r#"name: app
version: 1
ratio: 1.5
big: 1e6
enabled: yes
off: off
nothing: ~
empty:
list:
- a
- 1
- true
- null
nested:
  z: 1
  a: [1, 2]
  m: {}
  l: []
  10: ten
  9: nine
  true: t
  1.5: f
str: "true"
q: "123"
date: 2001-12-14
ts: 2001-12-14t21:59:43.10-05:00
multi: |
  line1
  line2
keep: |+
  a

strip: |-
  a
  b
folded: >
  folded text
  here
key10: x
key9: y
key1: z
"#,
        r#"big: 1e+06
date: "2001-12-14"
empty: null
enabled: true
folded: |
  folded text here
keep: |+
  a

key1: z
key9: true
key10: x
list:
- a
- 1
- true
- null
multi: |
  line1
  line2
name: app
nested:
  true: t
  1.5: f
  9: nine
  10: ten
  a:
  - 1
  - 2
  l: []
  m: {}
  z: 1
nothing: null
"off": false
q: "123"
ratio: 1.5
str: "true"
strip: |-
  a
  b
ts: "2001-12-14t21:59:43.10-05:00"
version: 1"#,
    ),
    (
        r##"a: "  leading"
b: "trailing  "
c: "- dash"
d: ": colon"
e: "a: b"
f: "#hash"
g: "a #b"
h: "a#b"
i: "it's"
j: "tab\there"
k: "emoji 😀"
l: "é ü"
m: "back\\slash"
n: '"quoted"'
o: "*star"
p: "&amp"
q: "!bang"
r: "%pct"
s: "@at"
t: "`tick"
u: "[x]"
v: "{x}"
w: "x,y"
x: "?q"
y: "? q"
z: "---"
aa: "..."
ab: "y"
ac: "n"
ad: "NULL"
ae: ""
af: "0x1F"
ag: "017"
ah: "08"
ai: "1_000"
aj: "1:20"
ak: "+1"
al: ".5"
am: "1."
an: "1e5"
ao: "-.inf"
ap: ".NaN"
aq: "<<"
ar: "~"
as: "a\nb "
at: "a \nb"
au: " \nb"
av: "\nlead"
aw: "trail\n\n"
ax: "x\r\ny"
"##,
        r#"a: '  leading'
aa: '...'
ab: "y"
ac: "n"
ad: "NULL"
ae: ""
af: "0x1F"
ag: "017"
ah: "08"
ai: "1_000"
aj: "1:20"
ak: "+1"
al: ".5"
am: "1."
an: "1e5"
ao: "-.inf"
ap: ".NaN"
aq: <<
ar: "~"
as: "a\nb "
at: "a \nb"
au: " \nb"
av: |2-

  lead
aw: |+
  trail

ax: "x\r\ny"
b: 'trailing  '
c: '- dash'
d: ': colon'
e: 'a: b'
f: '#hash'
g: 'a #b'
h: a#b
i: it's
j: "tab\there"
k: "emoji \U0001F600"
l: é ü
m: back\slash
"n": '"quoted"'
o: '*star'
p: '&amp'
q: '!bang'
r: '%pct'
s: '@at'
t: '`tick'
u: '[x]'
v: '{x}'
w: x,y
x: ?q
"y": '? q'
z: '---'"#,
    ),
    (
        r#"long: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam"
longq: "true Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod: tempor incididunt ut labore et dolore magna aliqua.  Ut enim ad minim veniam, quis nostrud"
longdq: "tab\tLorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna  aliqua. Ut enim ad minim veniam, quis nostrud"
longword: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb"
"very long key aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": v
"multi\nline key": v2
items:
  - name: a
    value: 1
    sub:
      - x
      - - y
        - z
  - - p
    - q: r
  - {}
  - []
  - ""
deep:
  a:
    b:
      c:
        long: "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore"
        lit: "Lorem ipsum\n dolor"
"#,
        r#"deep:
  a:
    b:
      c:
        lit: |-
          Lorem ipsum
           dolor
        long: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod
          tempor incididunt ut labore
items:
- name: a
  sub:
  - x
  - - true
    - z
  value: 1
- - p
  - q: r
- {}
- []
- ""
long: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor
  incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam
longdq: "tab\tLorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod
  tempor incididunt ut labore et dolore magna  aliqua. Ut enim ad minim veniam, quis
  nostrud"
longq: 'true Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod:
  tempor incididunt ut labore et dolore magna aliqua.  Ut enim ad minim veniam, quis
  nostrud'
longword: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
  bbb
? |-
  multi
  line key
: v2
? very long key aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
: v"#,
    ),
    (
        r#"base: &base
  a: 1
  b: 2
derived:
  <<: *base
  b: 3
multi:
  <<: [*base, {c: 4}]
list: &l [1, 2]
again: *l
"<<": notmerge
"#,
        r#"<<: notmerge
again:
- 1
- 2
base:
  a: 1
  b: 2
derived:
  a: 1
  b: 3
list:
- 1
- 2
multi:
  a: 1
  b: 2
  c: 4"#,
    ),
    (
        r#"a: 1
b: [
"#,
        r#"Error: 'yaml: line 2: did not find expected node content'"#,
    ),
    (
        r#"a: 1
 b: 2
"#,
        r#"Error: 'yaml: line 2: mapping values are not allowed in this context'"#,
    ),
    (
        r#"a: !!int "12"
b: !!str 12
c: !!float 3
d: !custom x
e: !!binary aGVsbG8=
f: !!int foo
"#,
        r#"Error: 'yaml: cannot decode !!str `foo` as a !!int'
a: 12
b: "12"
c: 3
d: x
e: hello"#,
    ),
    (
        r#"a: 1
[x]: 2
b: 3
"#,
        r#"Error: |-
  yaml: unmarshal errors:
    line 2: cannot unmarshal !!seq into string
a: 1
b: 3"#,
    ),
    (
        r#"a: 1
n:
  [x]: 2
b: 3
"#,
        r#"Error: 'yaml: invalid map key: []interface {}{"x"}'
a: 1"#,
    ),
    (
        r#"a10: 1
a2: 2
a02: 3
a1: 4
A: 5
_x: 6
"1": 7
"10": 8
"2": 9
b-1: 10
b_1: 11
b1: 12
"é": 13
"z": 14
"": 15
" ": 16
"a b": 17
x00: 18
x0: 19
x000a: 20
x01: 21
"#,
        r#""": 15
' ': 16
_x: 6
"1": 7
"2": 9
"10": 8
A: 5
a b: 17
a1: 4
a2: 2
a02: 3
a10: 1
b-1: 10
b_1: 11
b1: 12
x0: 19
x00: 18
x000a: 20
x01: 21
z: 14
é: 13"#,
    ),
    (
        r#"script: |
  #!/bin/bash
  set -e
  echo "hello"    # comment

  if [ -f x ]; then
  	echo tab
  fi
trailing: "line1\nline2 "
indented: "  first\nsecond"
crlf: "a\r\nb"
onlynl: "\n"
twonl: "\n\n"
endsnl: "a\n"
ends2nl: "a\n\n"
"#,
        r##"crlf: "a\r\nb"
ends2nl: |+
  a

endsnl: |
  a
indented: |2-
    first
  second
onlynl: |2+

script: "#!/bin/bash\nset -e\necho \"hello\"    # comment\n\nif [ -f x ]; then\n\techo
  tab\nfi\n"
trailing: "line1\nline2 "
twonl: |2+

"##,
    ),
    (
        r#"a: &x 1
b: &x 2
c: *x
"#,
        r#"a: 1
b: 2
c: 2"#,
    ),
    (
        r#"a: &a [*a]
"#,
        r#"Error: 'yaml: anchor ''a'' value contains itself'"#,
    ),
    (
        r#"a: 1 # c
# x
b: "x # y" # z
"#,
        r#"a: 1
b: 'x # y'"#,
    ),
];
