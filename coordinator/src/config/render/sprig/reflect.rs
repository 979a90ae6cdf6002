//! sprig's reflection functions (`typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`) and
//! Go's `reflect.DeepEqual` (`deepEqual`, also used by `uniq`, `has`, `without`).
//!
//! Type and kind names come from [`Value::go_type`]/[`Value::go_kind`], which already print
//! them as Go does (`[]interface {}`, `map[string]interface {}`). `deep_equal` requires equal
//! Go types all the way down (an `int` 1 is not an `int64` 1), compares floats with `==`
//! (NaN is unequal to itself) and treats a map or list as equal to itself without looking
//! inside, which is also what stops it on self-containing maps; other nesting is capped at
//! [`MAX_DEPTH`] levels, beyond which values are reported unequal.

use super::super::value::{Func, Ty, Value};
use super::conv::{arg, arg_str};
use std::rc::Rc;

/// Nesting depth beyond which `deep_equal` gives up (and answers false).
const MAX_DEPTH: usize = 200;

/// Go's `reflect.DeepEqual` on template values.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    eq_at(a, b, 0)
}

fn eq_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            Rc::ptr_eq(x, y)
                || (x.kind == y.kind
                    && x.items.len() == y.items.len()
                    && x.items
                        .iter()
                        .zip(&y.items)
                        .all(|(p, q)| eq_at(p, q, depth + 1)))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.kind == y.kind
                && x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.entries.get(k).is_some_and(|w| eq_at(v, w, depth + 1)))
        }
        (Value::Object(x), Value::Object(y)) => {
            Rc::ptr_eq(x, y) || (x.go_type() == y.go_type() && a.to_go_string() == b.to_go_string())
        }
        _ => false,
    }
}

/// Registers typeOf typeIs typeIsLike kindOf kindIs deepEqual.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    use Ty::{Any, String as S};
    out.push((
        "typeOf",
        Func::new(&[Any], |a| Ok(Value::str(arg(&a, 0).go_type()))),
    ));
    out.push((
        "typeIs",
        Func::new(&[S, Any], |a| {
            Ok(Value::Bool(arg_str(&a, 0)? == arg(&a, 1).go_type()))
        }),
    ));
    out.push((
        "typeIsLike",
        Func::new(&[S, Any], |a| {
            let (target, t) = (arg_str(&a, 0)?, arg(&a, 1).go_type());
            Ok(Value::Bool(target == t || format!("*{target}") == t))
        }),
    ));
    out.push((
        "kindOf",
        Func::new(&[Any], |a| Ok(Value::str(arg(&a, 0).go_kind()))),
    ));
    out.push((
        "kindIs",
        Func::new(&[S, Any], |a| {
            Ok(Value::Bool(arg_str(&a, 0)? == arg(&a, 1).go_kind()))
        }),
    ));
    out.push((
        "deepEqual",
        Func::new(&[Any, Any], |a| {
            Ok(Value::Bool(deep_equal(&arg(&a, 0), &arg(&a, 1))))
        }),
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
            (r#"typeOf (int64 "42")"#, r#"int64"#),
            (r#"typeOf (int "42")"#, r#"int"#),
            (r#"typeOf (float64 3)"#, r#"float64"#),
            (r#"typeOf (until 3)"#, r#"[]int"#),
            (r#"typeOf (add 1 2)"#, r#"int64"#),
            (r#"typeOf (addf 1 2)"#, r#"float64"#),
            (r#"typeOf (fromJson "1")"#, r#"float64"#),
            (
                r#"typeOf (deepCopy (split "," "a"))"#,
                r#"map[string]string"#,
            ),
            (r#"typeOf (slice (splitList "," "a,b,c") 1)"#, r#"[]string"#),
            (r#"typeOf (list)"#, r#"[]interface {}"#),
            (r#"$d := dict "a" 1 "b" (dict "c" 2) "e" """#, r#""#),
            (r#"typeOf $d"#, r#"map[string]interface {}"#),
            (r#"typeOf nil"#, r#"<nil>"#),
            (r#"typeOf 1.5"#, r#"float64"#),
            (r#"typeIs "int" 1"#, r#"true"#),
            (r#"typeIsLike "int" 1"#, r#"true"#),
            (r#"kindOf (list)"#, r#"slice"#),
            (r#"kindOf $d"#, r#"map"#),
            (r#"kindOf nil"#, r#"invalid"#),
            (r#"kindIs "map" $d"#, r#"true"#),
            (r#"deepEqual (list 1 2) (list 1 2)"#, r#"true"#),
            (r#"deepEqual (list 1 2) (list 1 (int64 2))"#, r#"false"#),
            (
                r#"deepEqual (dict "a" (list 1)) (dict "a" (list 1))"#,
                r#"true"#,
            ),
            (r#"deepEqual (splitList "," "a") (list "a")"#, r#"false"#),
            (r#"deepEqual nil nil"#, r#"true"#),
            (r#"deepEqual 1.5 1.5"#, r#"true"#),
        ]);
    }
}
