//! sprig's path functions: Go's `path` (`base`, `dir`, `clean`, `ext`, `isAbs`) and
//! `path/filepath` (`osBase`, `osDir`, `osClean`, `osExt`, `osIsAbs`).
//!
//! Both are purely lexical. werf runs on Unix, where `path/filepath` uses `/` and behaves
//! exactly like `path`, so both families share one implementation of Go's algorithms
//! (`Clean` per Rob Pike's "Lexical File Names in Plan 9").

use super::super::value::{Func, Ty, Value};
use super::conv::arg_str;

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// Go's `path.Ext`.
fn ext(p: &str) -> String {
    for (i, b) in p.bytes().enumerate().rev() {
        match b {
            b'/' => break,
            b'.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Registers base dir clean ext isAbs osBase osClean osDir osExt osIsAbs.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    type PathFn = fn(&str) -> String;
    let table: [(&'static str, PathFn); 8] = [
        ("base", base),
        ("dir", dir),
        ("clean", clean),
        ("ext", ext),
        ("osBase", base),
        ("osDir", dir),
        ("osClean", clean),
        ("osExt", ext),
    ];
    for (name, f) in table {
        out.push((
            name,
            Func::new(&[Ty::String], move |a| Ok(Value::str(f(arg_str(&a, 0)?)))),
        ));
    }
    for name in ["isAbs", "osIsAbs"] {
        out.push((
            name,
            Func::new(&[Ty::String], |a| {
                Ok(Value::Bool(arg_str(&a, 0)?.starts_with('/')))
            }),
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
            (r#"base "/a/b/c.txt""#, r#"c.txt"#),
            (r#"base "/a/b/""#, r#"b"#),
            (r#"base """#, r#"."#),
            (r#"base "/""#, r#"/"#),
            (r#"dir "/a/b/c""#, r#"/a/b"#),
            (r#"dir "a""#, r#"."#),
            (r#"dir "/a""#, r#"/"#),
            (r#"dir """#, r#"."#),
            (r#"clean "a//b/./../c/""#, r#"a/c"#),
            (r#"clean "/../x""#, r#"/x"#),
            (r#"clean "../../a/..""#, r#"../.."#),
            (r#"clean """#, r#"."#),
            (r#"ext "a/b.tar.gz""#, r#".gz"#),
            (r#"ext "a.b/c""#, r#""#),
            (r#"isAbs "/x""#, r#"true"#),
            (r#"isAbs "x""#, r#"false"#),
            (r#"osBase "/a/b""#, r#"b"#),
            (r#"osDir "a/b/c""#, r#"a/b"#),
            (r#"osClean "a/../..""#, r#".."#),
            (r#"osExt "x.yaml""#, r#".yaml"#),
            (r#"osIsAbs "/""#, r#"true"#),
        ]);
    }
}
