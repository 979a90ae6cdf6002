//! sprig's defaults and flow helpers (`default`, `empty`, `coalesce`, `all`, `any`,
//! `ternary`, `fail`), JSON in and out (`fromJson`, `toJson`, `toPrettyJson`, `toRawJson` and
//! their `must` forms) and `deepCopy`.
//!
//! "Empty" is sprig's `empty`: nil, false, zero numbers and zero-length strings, lists and
//! maps; objects (Go structs and pointers to them) are never empty. The non-`must` JSON
//! encoders swallow errors and return "" like Go, except `toRawJson`, which panics in Go (so
//! its error surfaces here too). `deepCopy` copies maps recursively: the copy shares nothing
//! mutable with the original, as with mitchellh/copystructure; recursion is bounded by
//! [`MAX_COPY_DEPTH`] since a map can contain itself through `set`.

use std::collections::BTreeMap;

use super::super::value::{Func, Ty, Value};
use super::conv::{arg, arg_str};
use super::json;

/// How deep `deepCopy` follows nested maps and lists before refusing.
const MAX_COPY_DEPTH: usize = 200;

/// sprig's `empty`.
pub(crate) fn is_empty(v: &Value) -> bool {
    !v.truth()
}

/// A deep copy of `v`: maps are rebuilt so no map is shared with the original.
pub(crate) fn deep_copy(v: &Value, depth: usize) -> Result<Value, String> {
    if depth == 0 && matches!(v, Value::Nil) {
        // copystructure reflects on the nil interface and panics.
        return Err("reflect: call of reflect.Value.Type on zero Value".into());
    }
    if depth > MAX_COPY_DEPTH {
        return Err(format!(
            "value nested deeper than {MAX_COPY_DEPTH} levels (a map containing itself?)"
        ));
    }
    Ok(match v {
        Value::List(l) => {
            let items = l
                .items
                .iter()
                .map(|i| deep_copy(i, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Value::list(l.kind, items)
        }
        Value::Map(m) => {
            let m = m.borrow();
            let entries = m
                .entries
                .iter()
                .map(|(k, i)| Ok((k.clone(), deep_copy(i, depth + 1)?)))
                .collect::<Result<BTreeMap<_, _>, String>>()?;
            Value::map(m.kind, entries)
        }
        other => other.clone(),
    })
}

fn json_fn(name: &'static str, html: bool, indent: bool, must: bool) -> (&'static str, Func) {
    (
        name,
        Func::new(&[Ty::Any], move |a| {
            match json::encode(&arg(&a, 0), html, indent) {
                Ok(s) => Ok(Value::str(s)),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::str("")),
            }
        }),
    )
}

/// Registers default empty coalesce all any ternary fail fromJson toJson toPrettyJson
/// toRawJson mustFromJson mustToJson mustToPrettyJson mustToRawJson deepCopy mustDeepCopy.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::Any;
    out.push((
        "default",
        Func::variadic(&[Any], Any, |a| {
            Ok(match a.get(1) {
                Some(given) if !is_empty(given) => given.clone(),
                _ => arg(&a, 0),
            })
        }),
    ));
    out.push((
        "empty",
        Func::new(&[Any], |a| Ok(Value::Bool(is_empty(&arg(&a, 0))))),
    ));
    out.push((
        "coalesce",
        Func::variadic(&[], Any, |a| {
            Ok(a.iter()
                .find(|v| !is_empty(v))
                .cloned()
                .unwrap_or(Value::Nil))
        }),
    ));
    out.push((
        "all",
        Func::variadic(&[], Any, |a| {
            Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
        }),
    ));
    out.push((
        "any",
        Func::variadic(&[], Any, |a| {
            Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
        }),
    ));
    out.push((
        "ternary",
        Func::new(&[Any, Any, Ty::Bool], |a| {
            let cond = matches!(a.get(2), Some(Value::Bool(true)));
            Ok(arg(&a, if cond { 0 } else { 1 }))
        }),
    ));
    out.push((
        "fail",
        Func::new(&[Ty::String], |a| Err(arg_str(&a, 0)?.to_string())),
    ));
    out.push((
        "fromJson",
        Func::new(&[Ty::String], |a| {
            Ok(json::decode(arg_str(&a, 0)?).unwrap_or(Value::Nil))
        }),
    ));
    out.push((
        "mustFromJson",
        Func::new(&[Ty::String], |a| json::decode(arg_str(&a, 0)?)),
    ));
    out.push(json_fn("toJson", true, false, false));
    out.push(json_fn("mustToJson", true, false, true));
    out.push(json_fn("toPrettyJson", true, true, false));
    out.push(json_fn("mustToPrettyJson", true, true, true));
    // toRawJson panics with the encoder's error in Go, so it fails like the must form.
    out.push(json_fn("toRawJson", false, false, true));
    out.push(json_fn("mustToRawJson", false, false, true));
    out.push(("deepCopy", Func::new(&[Any], |a| deep_copy(&arg(&a, 0), 0))));
    out.push((
        "mustDeepCopy",
        Func::new(&[Any], |a| deep_copy(&arg(&a, 0), 0)),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"default "x" """#, r#"x"#),
            (r#"default "x" "y""#, r#"y"#),
            (r#"default "x""#, r#"x"#),
            (r#"default "x" 0"#, r#"x"#),
            (r#"default "x" (list)"#, r#"x"#),
            (r#"default "x" false"#, r#"x"#),
            (r#"default "x" nil"#, r#"x"#),
            (r#"default "x" (dict)"#, r#"x"#),
            (r#"empty """#, r#"true"#),
            (r#"empty 0"#, r#"true"#),
            (r#"empty 0.0"#, r#"true"#),
            (r#"empty (list)"#, r#"true"#),
            (r#"empty (dict "a" 1)"#, r#"false"#),
            (r#"empty nil"#, r#"true"#),
            (r#"coalesce "" 0 "x" "y""#, r#"x"#),
            (r#"coalesce "" 0"#, r#"<no value>"#),
            (r#"all 1 "a" (list 1)"#, r#"true"#),
            (r#"all 1 """#, r#"false"#),
            (r#"all"#, r#"true"#),
            (r#"any "" 0 nil"#, r#"false"#),
            (r#"any "" 1"#, r#"true"#),
            (r#"any"#, r#"false"#),
            (r#"ternary "a" "b" true"#, r#"a"#),
            (r#"ternary "a" "b" false"#, r#"b"#),
            (
                r#"deepCopy (dict "a" (list 1 (dict "b" 2)))"#,
                r#"map[a:[1 map[b:2]]]"#,
            ),
            (
                r#"deepCopy nil"#,
                r#"ERR error calling deepCopy: reflect: call of reflect.Value.Type on zero Value"#,
            ),
            (r#"mustDeepCopy 5"#, r#"5"#),
            (r#"fail "boom""#, r#"ERR error calling fail: boom"#),
            (
                r#"mustDeepCopy nil"#,
                r#"ERR error calling mustDeepCopy: reflect: call of reflect.Value.Type on zero Value"#,
            ),
        ]);
    }

    /// A map holding itself (built with `set`). The first two rows are the oracle's output;
    /// on `mustDeepCopy` Go never returns (it recurses until killed), so the error is ours.
    #[test]
    fn self_containing_maps_fail_cleanly() {
        check(&[
            ("$m := dict", ""),
            ("$_ := set $m \"self\" $m", ""),
            (
                "mustToJson $m",
                "ERR error calling mustToJson: json: unsupported value: encountered a cycle via map[string]interface {}",
            ),
            ("deepEqual $m $m", "true"),
            (
                "mustDeepCopy $m",
                "ERR error calling mustDeepCopy: value nested deeper than 200 levels (a map containing itself?)",
            ),
        ]);
    }
}
