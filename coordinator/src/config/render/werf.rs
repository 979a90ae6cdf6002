//! werf's additions to the template language: `.Files` (`Get`, `Glob`, `Exists`),
//! `required`, `fromYaml`/`toYaml` wrappers, the `tpl` naming rule, and partials.
//!
//! `include`, `tpl` and `env` need the running engine and live in `exec::call`; this module
//! holds what they and the function table build on. Paths are slash paths relative to the
//! project directory; `.Files` never reads outside it (Go's `filepath.Join` would follow
//! `../`; we treat such paths as missing).

use std::collections::BTreeMap;

use regex::Regex;

use super::value::{Func, MapKind, Object, Ty, Value};
use super::FileSource;

/// The Go type of the `.Files` value, as the reference renderer declares it.
pub const FILES_TYPE: &str = "main.files";

/// werf's `.Files`. Its methods are dispatched by the engine, which owns the file source.
pub struct FilesObject;

impl Object for FilesObject {
    fn go_type(&self) -> String {
        FILES_TYPE.into()
    }

    fn method(&self, _name: &str) -> Option<Func> {
        None
    }
}

/// `hash/adler32.Checksum`, which names `tpl` templates (`tpl-<sum>`).
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Go's `filepath.Clean` of a path joined under the project directory; `None` if it leaves
/// the directory. The project directory itself is `""`.
pub fn clean_path(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// `.Files.Get`: the file's text, or `None` if it does not exist.
pub fn files_get(files: &dyn FileSource, p: &str) -> Option<String> {
    let path = clean_path(p)?;
    let data = files.read(&path)?;
    Some(String::from_utf8_lossy(&data).into_owned())
}

/// `.Files.Exists`: a file or a directory at that path.
pub fn files_exists(files: &dyn FileSource, p: &str) -> bool {
    let Some(path) = clean_path(p) else {
        return false;
    };
    if path.is_empty() || files.read(&path).is_some() {
        return true;
    }
    let prefix = format!("{path}/");
    files.list().iter().any(|f| f.starts_with(&prefix))
}

/// The reference renderer's `globRe`: a doublestar glob (`**`, `*`, `?`, `{a,b}`) as a regex
/// over slash paths.
pub fn glob_regex(g: &str) -> Option<Regex> {
    let mut re = String::from("^");
    let b = g.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let rest = &g[i..];
        if c == b'*' && rest.starts_with("**/") {
            re.push_str("(?:.*/)?");
            i += 3;
            continue;
        }
        if c == b'*' && rest.starts_with("**") {
            re.push_str(".*");
            i += 2;
            continue;
        }
        match c {
            b'*' => re.push_str("[^/]*"),
            b'?' => re.push_str("[^/]"),
            b'{' => re.push_str("(?:"),
            b'}' => re.push(')'),
            b',' => re.push('|'),
            _ => {
                let ch = rest.chars().next().unwrap_or('\u{FFFD}');
                re.push_str(&regex::escape(&ch.to_string()));
                i += ch.len_utf8();
                continue;
            }
        }
        i += 1;
    }
    re.push('$');
    Regex::new(&re).ok()
}

/// `.Files.Glob`: matching files and their contents, as a `map[string]interface {}`.
/// A pattern that is not a valid regex once translated matches nothing (Go would panic).
pub fn files_glob(files: &dyn FileSource, pattern: &str) -> Value {
    let mut out = BTreeMap::new();
    if let Some(re) = glob_regex(pattern) {
        for path in files.list() {
            if re.is_match(&path) {
                let data = files.read(&path).unwrap_or_default();
                out.insert(path, Value::str(String::from_utf8_lossy(&data).as_ref()));
            }
        }
    }
    Value::map(MapKind::StringAny, out)
}

/// werf's `required MSG VALUE`: fails with MSG when VALUE is nil or an empty string.
pub fn required() -> Func {
    Func::new(&[Ty::String, Ty::Any], |args| {
        let msg = args
            .first()
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let val = args.get(1).cloned().unwrap_or(Value::Nil);
        match &val {
            Value::Nil => Err(msg),
            Value::Str(s) if s.is_empty() => Err(msg),
            _ => Ok(val),
        }
    })
}

/// werf's `fromYaml STRING`, parsing through `parse` (render::yaml once wired).
pub fn from_yaml(parse: fn(&str) -> Value) -> Func {
    Func::new(&[Ty::String], move |args| {
        Ok(parse(args.first().and_then(Value::as_str).unwrap_or("")))
    })
}

/// werf's `toYaml VALUE`: the YAML without its final newline, or "" if it cannot be encoded.
pub fn to_yaml(encode: fn(&Value) -> Result<String, String>) -> Func {
    Func::new(&[Ty::Any], move |args| {
        let v = args.first().cloned().unwrap_or(Value::Nil);
        // `encode` already trimmed the one final newline werf trims; werf prints "" on errors.
        Ok(Value::str(encode(&v).unwrap_or_default()))
    })
}

/// The partials of a project: `.werf/**/*.tmpl`, sorted, as (name under `.werf/`, path).
pub fn partials(files: &dyn FileSource) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = files
        .list()
        .into_iter()
        .filter(|p| p.ends_with(".tmpl"))
        .filter_map(|p| p.strip_prefix(".werf/").map(|n| (n.to_string(), p.clone())))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_go() {
        // hash/adler32.Checksum([]byte("{{ .x }}")) in Go 1.19.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn globs_like_gorender() {
        let re = glob_regex("**/*.{yaml,yml}").map(|r| r.as_str().to_string());
        assert_eq!(re.as_deref(), Some("^(?:.*/)?[^/]*\\.(?:yaml|yml)$"));
        let re = glob_regex("a/*.txt");
        assert!(re
            .as_ref()
            .is_some_and(|r| r.is_match("a/b.txt") && !r.is_match("a/c/b.txt")));
    }

    #[test]
    fn cleans_paths() {
        assert_eq!(clean_path("./a//b/../c").as_deref(), Some("a/c"));
        assert_eq!(clean_path("../x"), None);
    }
}
