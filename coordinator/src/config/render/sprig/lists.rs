//! sprig's list functions (`list`, `append`, `first`, `uniq`, `slice`, `chunk`, `compact`,
//! ...). Every list function accepts any Go slice (`[]interface {}`, `[]string`, `[]int`) and
//! returns a new `[]interface {}` (except `slice`, which keeps the element type, as Go's
//! `reflect.Value.Slice` does); the input is never changed.
//!
//! Error texts are Go's: a non-slice argument gives `Cannot <op> on type <kind>` from both the
//! plain form (which panics in Go) and the `must` form (which returns it); a nil argument is a
//! nil-pointer dereference in Go (`reflect.TypeOf(nil).Kind()`), reported with Go's text.
//! `chunk` returns `[][]interface {}` in Go; here it is a `[]interface {}` of
//! `[]interface {}` (same printing and iteration, but `typeOf` differs).

use std::rc::Rc;

use super::super::value::{ElemKind, Func, List, Ty, Value};
use super::conv::{arg, arg_int, to_int};
use super::defaults::is_empty;
use super::reflect::deep_equal;

const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// The list inside `v`, or Go's error for `op` on a non-slice.
fn need_list(v: &Value, op: &str) -> Result<Rc<List>, String> {
    match v {
        Value::List(l) => Ok(l.clone()),
        Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot {op} type {}", other.go_kind())),
    }
}

fn any_list(items: Vec<Value>) -> Value {
    Value::list(ElemKind::Any, items)
}

/// A one-list function registered under its plain and `must` names (which behave alike).
fn list_fn(
    names: &[&'static str],
    op: &'static str,
    f: fn(&[Value]) -> Value,
    out: &mut Vec<(&'static str, Func)>,
) {
    for name in names {
        out.push((
            name,
            Func::new(&[Ty::Any], move |a| {
                Ok(f(&need_list(&arg(&a, 0), op)?.items))
            }),
        ));
    }
}

/// sprig's `mustSlice`: `list[start:end]` keeping the slice type; nil for an empty list.
fn slice(a: &[Value]) -> Result<Value, String> {
    let l = match arg(a, 0) {
        Value::List(l) => l,
        Value::Nil => return Err(NIL_DEREF.into()),
        other => {
            return Err(format!(
                "list should be type of slice or array but {}",
                other.go_kind()
            ))
        }
    };
    let len = l.items.len() as i64;
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, to_int);
    let end = if a.len() < 3 { len } else { to_int(&a[2]) };
    if start < 0 || end < start || end > len {
        return Err("reflect.Value.Slice: slice index out of bounds".into());
    }
    let items = l.items[start as usize..end as usize].to_vec();
    Ok(Value::list(l.kind, items))
}

/// sprig's `mustChunk`.
fn chunk(size: i64, v: &Value) -> Result<Value, String> {
    let l = need_list(v, "chunk")?;
    if size <= 0 {
        return Err("runtime error: makeslice: len out of range".into());
    }
    let chunks = l
        .items
        .chunks(size as usize)
        .map(|c| any_list(c.to_vec()))
        .collect();
    Ok(any_list(chunks))
}

fn has(needle: &Value, haystack: &Value) -> Result<bool, String> {
    match haystack {
        Value::Nil => Ok(false),
        Value::List(l) => Ok(l.items.iter().any(|i| deep_equal(needle, i))),
        other => Err(format!("Cannot find has on type {}", other.go_kind())),
    }
}

/// Registers the list functions named in sprig 3.2.3's function map.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::Any;
    for name in ["list", "tuple"] {
        out.push((name, Func::variadic(&[], Any, |a| Ok(any_list(a)))));
    }
    for (name, op, front) in [
        ("append", "push on", false),
        ("push", "push on", false),
        ("mustAppend", "push on", false),
        ("mustPush", "push on", false),
        ("prepend", "prepend on", true),
        ("mustPrepend", "prepend on", true),
    ] {
        out.push((
            name,
            Func::new(&[Any, Any], move |a| {
                let l = need_list(&arg(&a, 0), op)?;
                let mut items = Vec::with_capacity(l.items.len() + 1);
                if front {
                    items.push(arg(&a, 1));
                }
                items.extend(l.items.iter().cloned());
                if !front {
                    items.push(arg(&a, 1));
                }
                Ok(any_list(items))
            }),
        ));
    }
    list_fn(
        &["first", "mustFirst"],
        "find first on",
        |l| l.first().cloned().unwrap_or(Value::Nil),
        out,
    );
    list_fn(
        &["last", "mustLast"],
        "find last on",
        |l| l.last().cloned().unwrap_or(Value::Nil),
        out,
    );
    list_fn(
        &["rest", "mustRest"],
        "find rest on",
        |l| any_list(l.get(1..).unwrap_or(&[]).to_vec()),
        out,
    );
    list_fn(
        &["initial", "mustInitial"],
        "find initial on",
        |l| any_list(l.get(..l.len().saturating_sub(1)).unwrap_or(&[]).to_vec()),
        out,
    );
    list_fn(
        &["reverse", "mustReverse"],
        "find reverse on",
        |l| any_list(l.iter().rev().cloned().collect()),
        out,
    );
    list_fn(
        &["uniq", "mustUniq"],
        "find uniq on",
        |l| {
            let mut dest: Vec<Value> = Vec::new();
            for item in l {
                if !dest.iter().any(|d| deep_equal(item, d)) {
                    dest.push(item.clone());
                }
            }
            any_list(dest)
        },
        out,
    );
    list_fn(
        &["compact", "mustCompact"],
        "compact on",
        |l| any_list(l.iter().filter(|v| !is_empty(v)).cloned().collect()),
        out,
    );
    for name in ["without", "mustWithout"] {
        out.push((
            name,
            Func::variadic(&[Any], Any, |a| {
                let l = need_list(&arg(&a, 0), "find without on")?;
                let omit = a.get(1..).unwrap_or(&[]);
                Ok(any_list(
                    l.items
                        .iter()
                        .filter(|i| !omit.iter().any(|o| deep_equal(i, o)))
                        .cloned()
                        .collect(),
                ))
            }),
        ));
    }
    for name in ["has", "mustHas"] {
        out.push((
            name,
            Func::new(&[Any, Any], |a| {
                Ok(Value::Bool(has(&arg(&a, 0), &arg(&a, 1))?))
            }),
        ));
    }
    for name in ["slice", "mustSlice"] {
        out.push((name, Func::variadic(&[Any], Any, |a| slice(&a))));
    }
    out.push((
        "concat",
        Func::variadic(&[], Any, |a| {
            let mut res = Vec::new();
            for v in &a {
                match v {
                    Value::List(l) => res.extend(l.items.iter().cloned()),
                    Value::Nil => return Err(NIL_DEREF.into()),
                    other => return Err(format!("Cannot concat type {} as list", other.go_kind())),
                }
            }
            Ok(any_list(res))
        }),
    ));
    for name in ["chunk", "mustChunk"] {
        out.push((
            name,
            Func::new(&[Ty::Int, Any], |a| chunk(arg_int(&a, 0)?, &arg(&a, 1))),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::check;

    /// Each expected string is what the Go oracle (`gorender`, Go 1.19 + sprig 3.2.3)
    /// printed for `{{ EXPR }}`; `ERR` rows are the tail of its error message.
    #[test]
    fn matches_go_oracle() {
        check(&[
            (r#"list 1 "a" nil"#, r#"[1 a <nil>]"#),
            (r#"tuple 1 2"#, r#"[1 2]"#),
            (r#"append (list 1 2) 3"#, r#"[1 2 3]"#),
            (r#"push (splitList "," "a,b") "c""#, r#"[a b c]"#),
            (
                r#"mustAppend "x" 1"#,
                r#"ERR error calling mustAppend: Cannot push on type string"#,
            ),
            (
                r#"append nil 1"#,
                r#"ERR error calling append: runtime error: invalid memory address or nil pointer dereference"#,
            ),
            (r#"prepend (list 1 2) 0"#, r#"[0 1 2]"#),
            (r#"first (list 1 2)"#, r#"1"#),
            (r#"first (list)"#, r#"<no value>"#),
            (
                r#"mustFirst 5"#,
                r#"ERR error calling mustFirst: Cannot find first on type int"#,
            ),
            (r#"last (list 1 2)"#, r#"2"#),
            (r#"rest (list 1 2 3)"#, r#"[2 3]"#),
            (r#"rest (list)"#, r#"[]"#),
            (r#"initial (list 1 2 3)"#, r#"[1 2]"#),
            (r#"reverse (list 1 2 3)"#, r#"[3 2 1]"#),
            (r#"reverse (until 3)"#, r#"[2 1 0]"#),
            (r#"uniq (list 1 1 "a" "a" (int64 1) 1.0)"#, r#"[1 a 1 1]"#),
            (r#"without (list 1 2 3 2) 2 3"#, r#"[1]"#),
            (r#"has 2 (list 1 2)"#, r#"true"#),
            (r#"has 2 nil"#, r#"false"#),
            (r#"has (int64 2) (list 1 2)"#, r#"false"#),
            (
                r#"mustHas 1 "abc""#,
                r#"ERR error calling mustHas: Cannot find has on type string"#,
            ),
            (r#"slice (list 1 2 3 4) 1 3"#, r#"[2 3]"#),
            (r#"slice (list 1 2 3 4) 2"#, r#"[3 4]"#),
            (r#"slice (list 1 2 3 4)"#, r#"[1 2 3 4]"#),
            (r#"slice (list) 1"#, r#"<no value>"#),
            (
                r#"slice (list 1 2) 1 5"#,
                r#"ERR error calling slice: reflect.Value.Slice: slice index out of bounds"#,
            ),
            (
                r#"slice "abc" 1"#,
                r#"ERR error calling slice: list should be type of slice or array but string"#,
            ),
            (
                r#"concat (list 1 2) (splitList "," "a,b") (until 2)"#,
                r#"[1 2 a b 0 1]"#,
            ),
            (r#"concat"#, r#"[]"#),
            (
                r#"concat (list 1) 5"#,
                r#"ERR error calling concat: Cannot concat type int as list"#,
            ),
            (r#"chunk 2 (list 1 2 3 4 5)"#, r#"[[1 2] [3 4] [5]]"#),
            (r#"chunk 2 (list)"#, r#"[]"#),
            (
                r#"chunk 0 (list 1)"#,
                r#"ERR error calling chunk: runtime error: makeslice: len out of range"#,
            ),
            (r#"compact (list 1 "" nil 0 "a" (list))"#, r#"[1 a]"#),
            (
                r#"mustCompact "x""#,
                r#"ERR error calling mustCompact: Cannot compact on type string"#,
            ),
        ]);
    }
}
