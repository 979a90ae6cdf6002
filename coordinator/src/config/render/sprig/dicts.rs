//! sprig's dictionary functions: `dict`, `get`, `set`, `unset`, `hasKey`, `pluck`, `keys`,
//! `pick`, `omit`, `values`, `dig` and the mergo-based `merge`/`mergeOverwrite` family.
//!
//! Maps are shared like Go maps: `set`, `unset` and the merges change the map they are given
//! and return that same map. `keys` and `values` come out in key order (Go's order is random,
//! so any order is faithful). The merges follow imdario/mergo 0.3.x as sprig calls it, which
//! is subtler than "deep merge": nested maps merge recursively in place and are otherwise
//! shared, not copied; a non-empty destination value is kept by `merge`; `mergeOverwrite`
//! lets every source value win (empty ones too) except that a source map never replaces a
//! non-empty destination value that is not a map. Recursion is capped at [`MAX_DEPTH`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::value::{Func, Map, MapKind, Ty, Value};
use super::conv::{arg, arg_str, str_list, strval};
use super::defaults::is_empty;

/// Nesting depth at which `merge` and `dig` give up (Go overflows its stack on a map that
/// contains itself; we report an error instead).
const MAX_DEPTH: usize = 200;

type MapRef = Rc<RefCell<Map>>;

fn arg_map(args: &[Value], i: usize) -> Result<MapRef, String> {
    match args.get(i) {
        Some(Value::Map(m)) => Ok(m.clone()),
        other => Err(format!("internal: argument {i} is not a map: {other:?}")),
    }
}

/// Stores `v` under `key`, refusing what Go's `SetMapIndex` refuses for `map[string]string`.
fn store(dst: &MapRef, key: &str, v: Value) -> Result<(), String> {
    let mut d = dst.borrow_mut();
    if d.kind == MapKind::StringString && !matches!(v, Value::Str(_)) {
        return Err(format!(
            "reflect.Value.SetMapIndex: value of type {} is not assignable to type string",
            v.go_type()
        ));
    }
    d.entries.insert(key.to_string(), v);
    Ok(())
}

/// mergo's `deepMerge` of one map into another (see the module docs for the rules).
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("maps nested deeper than {MAX_DEPTH} levels"));
    }
    // A snapshot, so that merging a map into itself never holds two borrows.
    let entries: Vec<(String, Value)> = src
        .borrow()
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, sv) in entries {
        let dv = dst.borrow().entries.get(&key).cloned();
        let dst_empty = dv.as_ref().is_none_or(is_empty);
        match &sv {
            Value::Nil => {
                if overwrite {
                    store(dst, &key, sv)?;
                }
            }
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    merge_into(dm, sm, overwrite, depth + 1)?;
                }
                // Re-checked after the recursion, which may have filled an empty map.
                let still_empty = dv.as_ref().is_none_or(is_empty);
                if still_empty {
                    store(dst, &key, sv)?;
                }
            }
            _ => {
                if overwrite || dst_empty {
                    store(dst, &key, sv)?;
                }
            }
        }
    }
    Ok(())
}

fn merge_fn(name: &'static str, overwrite: bool) -> (&'static str, Func) {
    (
        name,
        Func::variadic(&[Ty::Map], Ty::Map, move |a| {
            let dst = arg_map(&a, 0)?;
            for i in 1..a.len() {
                merge_into(&dst, &arg_map(&a, i)?, overwrite, 0)?;
            }
            Ok(Value::Map(dst))
        }),
    )
}

/// Go's panic text for a failed `x.(T)` type assertion on an `interface{}`.
fn assertion(v: &Value, want: &str) -> String {
    format!(
        "interface conversion: interface {{}} is {}, not {want}",
        v.go_type()
    )
}

/// sprig's `dig KEY... DEFAULT DICT`.
fn dig(ps: &[Value]) -> Result<Value, String> {
    if ps.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let (keys, tail) = ps.split_at(ps.len() - 2);
    let (def, dict) = (&tail[0], &tail[1]);
    let mut cur = match dict {
        Value::Map(m) if m.borrow().kind == MapKind::StringAny => m.clone(),
        other => return Err(assertion(other, "map[string]interface {}")),
    };
    let keys = keys
        .iter()
        .map(|k| k.as_str().ok_or_else(|| assertion(k, "string")))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, k) in keys.iter().enumerate() {
        let step = cur.borrow().entries.get(*k).cloned();
        let Some(step) = step else {
            return Ok(def.clone());
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        cur = match step {
            Value::Map(m) if m.borrow().kind == MapKind::StringAny => m,
            other => return Err(assertion(&other, "map[string]interface {}")),
        };
    }
    Ok(def.clone())
}

/// Registers dict get set unset hasKey pluck keys pick omit merge mergeOverwrite mustMerge
/// mustMergeOverwrite values dig.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::{Any, Map as M, String as S};
    out.push((
        "dict",
        Func::variadic(&[], Any, |a| {
            let mut entries = BTreeMap::new();
            for pair in a.chunks(2) {
                let key = strval(&pair[0]);
                entries.insert(key, pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
            }
            Ok(Value::map(MapKind::StringAny, entries))
        }),
    ));
    out.push((
        "get",
        Func::new(&[M, S], |a| {
            let (m, k) = (arg_map(&a, 0)?, arg_str(&a, 1)?);
            let v = m.borrow().entries.get(k).cloned();
            Ok(v.unwrap_or_else(|| Value::str("")))
        }),
    ));
    out.push((
        "set",
        Func::new(&[M, S, Any], |a| {
            let m = arg_map(&a, 0)?;
            store(&m, arg_str(&a, 1)?, arg(&a, 2))?;
            Ok(Value::Map(m))
        }),
    ));
    out.push((
        "unset",
        Func::new(&[M, S], |a| {
            let m = arg_map(&a, 0)?;
            m.borrow_mut().entries.remove(arg_str(&a, 1)?);
            Ok(Value::Map(m))
        }),
    ));
    out.push((
        "hasKey",
        Func::new(&[M, S], |a| {
            let (m, k) = (arg_map(&a, 0)?, arg_str(&a, 1)?);
            let has = m.borrow().entries.contains_key(k);
            Ok(Value::Bool(has))
        }),
    ));
    out.push((
        "pluck",
        Func::variadic(&[S], M, |a| {
            let key = arg_str(&a, 0)?;
            let mut found = Vec::new();
            for i in 1..a.len() {
                if let Some(v) = arg_map(&a, i)?.borrow().entries.get(key) {
                    found.push(v.clone());
                }
            }
            Ok(Value::list(super::super::value::ElemKind::Any, found))
        }),
    ));
    out.push((
        "keys",
        Func::variadic(&[], M, |a| {
            let mut all = Vec::new();
            for i in 0..a.len() {
                all.extend(arg_map(&a, i)?.borrow().entries.keys().cloned());
            }
            Ok(str_list(all))
        }),
    ));
    for (name, keep) in [("pick", true), ("omit", false)] {
        out.push((
            name,
            Func::variadic(&[M], S, move |a| {
                let m = arg_map(&a, 0)?;
                let names = (1..a.len())
                    .map(|i| arg_str(&a, i))
                    .collect::<Result<Vec<_>, _>>()?;
                let entries = m
                    .borrow()
                    .entries
                    .iter()
                    .filter(|(k, _)| names.contains(&k.as_str()) == keep)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Ok(Value::map(MapKind::StringAny, entries))
            }),
        ));
    }
    out.push(merge_fn("merge", false));
    out.push(merge_fn("mustMerge", false));
    out.push(merge_fn("mergeOverwrite", true));
    out.push(merge_fn("mustMergeOverwrite", true));
    out.push((
        "values",
        Func::new(&[M], |a| {
            let vals = arg_map(&a, 0)?.borrow().entries.values().cloned().collect();
            Ok(Value::list(super::super::value::ElemKind::Any, vals))
        }),
    ));
    out.push(("dig", Func::variadic(&[], Any, |a| dig(&a))));
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"dict "x" 1 "y""#, r#"map[x:1 y:]"#),
            (r#"dict 1 2 nil 3"#, r#"map[1:2 <nil>:3]"#),
            (r#"$d := dict "a" 1 "b" (dict "c" 2) "e" """#, r#""#),
            (r#"get $d "a""#, r#"1"#),
            (r#"get $d "zz""#, r#""#),
            (r#"set $d "z" 9"#, r#"map[a:1 b:map[c:2] e: z:9]"#),
            (r#"unset $d "z""#, r#"map[a:1 b:map[c:2] e:]"#),
            (r#"hasKey $d "a""#, r#"true"#),
            (r#"hasKey $d "q""#, r#"false"#),
            (r#"pluck "a" $d (dict "a" 5) (dict "b" 1)"#, r#"[1 5]"#),
            (r#"keys $d (dict "q" 1) | sortAlpha"#, r#"[a b e q]"#),
            (r#"pick $d "a" "zz""#, r#"map[a:1]"#),
            (r#"omit $d "a""#, r#"map[b:map[c:2] e:]"#),
            (r#"values (dict "a" 1 "b" 2) | sortAlpha"#, r#"[1 2]"#),
            (r#"dig "b" "c" "def" $d"#, r#"2"#),
            (r#"dig "b" "x" "def" $d"#, r#"def"#),
            (
                r#"dig "a" "c" "def" $d"#,
                r#"ERR error calling dig: interface conversion: interface {} is int, not map[string]interface {}"#,
            ),
            (r#"dig "q" "def" $d"#, r#"def"#),
            (
                r#"dig "a" $d"#,
                r#"ERR error calling dig: dig needs at least three arguments"#,
            ),
            (
                r#"dig 1 "def" $d"#,
                r#"ERR error calling dig: interface conversion: interface {} is int, not string"#,
            ),
            (
                r#"dig "a" "def" (split "," "a")"#,
                r#"ERR error calling dig: interface conversion: interface {} is map[string]string, not map[string]interface {}"#,
            ),
            (
                r#"merge (dict "a" 1 "b" "" "n" (dict "x" 1 "y" "")) (dict "a" 2 "b" "B" "c" 3 "n" (dict "y" "Y" "z" 0))"#,
                r#"map[a:1 b:B c:3 n:map[x:1 y:Y z:0]]"#,
            ),
            (
                r#"mergeOverwrite (dict "a" 1 "b" "keep" "n" (dict "x" 1)) (dict "a" 0 "b" "" "n" (dict "x" nil "z" 1) "c" nil)"#,
                r#"map[a:0 b: c:<nil> n:map[x:<nil> z:1]]"#,
            ),
            (
                r#"mergeOverwrite (dict "s" "str" "m" (dict "k" 1)) (dict "s" (dict "x" 1) "m" "flat")"#,
                r#"map[m:flat s:str]"#,
            ),
            (
                r#"merge (dict "s" "str" "l" (list 1) "e" (list)) (dict "s" (dict "x" 1) "l" (list 2) "e" (list 3) "new" (list 4))"#,
                r#"map[e:[3] l:[1] new:[4] s:str]"#,
            ),
            (
                r#"mergeOverwrite (dict "l" (list 1 2)) (dict "l" (list))"#,
                r#"map[l:[]]"#,
            ),
            (
                r#"mustMerge (dict "a" (dict)) (dict "a" (dict "b" 1))"#,
                r#"map[a:map[b:1]]"#,
            ),
            (
                r#"merge (dict "a" 0 "b" false) (dict "a" 5 "b" true)"#,
                r#"map[a:5 b:true]"#,
            ),
        ]);
    }
}
