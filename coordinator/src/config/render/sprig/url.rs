//! sprig's `urlParse` and `urlJoin`, on Go's `net/url` (`url.Parse` and `URL.String`).
//!
//! Only what the two functions expose is modelled: scheme, opaque, userinfo, host, path,
//! raw query, fragment. Parsing and escaping follow Go 1.19's `net/url` rules byte for byte
//! (per-component escape sets, `%XX` validation, port validation, the `./` prefix for a colon
//! in a first relative segment). `urlParse` panics in Go on a bad URL, so its error here is the
//! panic text `unable to parse url: parse "...": ...`; `urlJoin` panics on non-string fields.

use std::collections::BTreeMap;

use super::super::value::{Func, MapKind, Ty, Value};
use super::conv::{arg_str, go_quote};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Mode::Path => c == b'?',
                Mode::Fragment => false,
                Mode::Host => true,
            }
        }
        _ => {}
    }
    !(mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

fn unescape(s: &str, mode: Mode) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |k: usize| b.get(k).and_then(|c| char::from(*c).to_digit(16));
                let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) else {
                    let end = (i + 3).min(b.len());
                    let bad = String::from_utf8_lossy(&b[i..end]).into_owned();
                    return Err(format!("invalid URL escape {}", go_quote(&bad)));
                };
                if mode == Mode::Host && h < 8 && &b[i..i + 3] != b"%25" {
                    let bad = String::from_utf8_lossy(&b[i..i + 3]).into_owned();
                    return Err(format!("invalid URL escape {}", go_quote(&bad)));
                }
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            c => {
                if mode == Mode::Host && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        go_quote(&char::from(c).to_string())
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// The parts of a `url.URL` sprig reads or writes.
#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    /// (username, password if set)
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    force_query: bool,
    fragment: String,
    omit_host: bool,
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[i + 1..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    } else if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    }
    unescape(host, Mode::Host)
}

type User = Option<(String, Option<String>)>;

fn parse_authority(auth: &str) -> Result<(User, String), String> {
    let at = auth.rfind('@');
    let host = parse_host(at.map_or(auth, |i| &auth[i + 1..]))?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let info = &auth[..i];
    let valid = info
        .chars()
        .all(|r| r.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(r));
    if !valid {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match info.split_once(':') {
        None => (unescape(info, Mode::UserPassword)?, None),
        Some((u, p)) => (
            unescape(u, Mode::UserPassword)?,
            Some(unescape(p, Mode::UserPassword)?),
        ),
    };
    Ok((Some(user), host))
}

/// Go's `url.Parse` (without the `*url.Error` wrapping).
fn parse(raw: &str) -> Result<Url, (String, String)> {
    let (u, frag) = raw.split_once('#').unwrap_or((raw, ""));
    let wrap = |e: String| (u.to_string(), e);
    if u.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(wrap("net/url: invalid control character in URL".into()));
    }
    let mut url = Url::default();
    if u == "*" {
        url.path = "*".into();
    } else {
        let mut rest = u;
        for (i, c) in u.bytes().enumerate() {
            match c {
                b'a'..=b'z' | b'A'..=b'Z' => continue,
                b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => continue,
                b':' if i == 0 => return Err(wrap("missing protocol scheme".into())),
                b':' => {
                    url.scheme = u[..i].to_ascii_lowercase();
                    rest = &u[i + 1..];
                }
                _ => {}
            }
            break;
        }
        if rest.ends_with('?') && rest.matches('?').count() == 1 {
            url.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else if let Some((r, q)) = rest.split_once('?') {
            url.raw_query = q.to_string();
            rest = r;
        }
        if !rest.starts_with('/') {
            if !url.scheme.is_empty() {
                url.opaque = rest.to_string();
                rest = "";
            } else if rest.split('/').next().is_some_and(|s| s.contains(':')) {
                return Err(wrap(
                    "first path segment in URL cannot contain colon".into(),
                ));
            }
        }
        if url.opaque.is_empty() {
            if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
                let after = &rest[2..];
                let (auth, path) = match after.find('/') {
                    Some(i) => (&after[..i], &after[i..]),
                    None => (after, ""),
                };
                let (user, host) = parse_authority(auth).map_err(wrap)?;
                url.user = user;
                url.host = host;
                rest = path;
            } else if !url.scheme.is_empty() && rest.starts_with('/') {
                url.omit_host = true;
            }
            url.path = unescape(rest, Mode::Path).map_err(wrap)?;
        }
    }
    if !frag.is_empty() {
        url.fragment = unescape(frag, Mode::Fragment).map_err(|e| (raw.to_string(), e))?;
    }
    Ok(url)
}

fn user_string(user: &(String, Option<String>)) -> String {
    let mut s = escape(&user.0, Mode::UserPassword);
    if let Some(p) = &user.1 {
        s.push(':');
        s.push_str(&escape(p, Mode::UserPassword));
    }
    s
}

/// Go's `URL.String`.
fn to_string(u: &Url) -> String {
    let mut buf = String::new();
    if !u.scheme.is_empty() {
        buf.push_str(&u.scheme);
        buf.push(':');
    }
    if !u.opaque.is_empty() {
        buf.push_str(&u.opaque);
    } else {
        let has_authority = !u.scheme.is_empty() || !u.host.is_empty() || u.user.is_some();
        if has_authority && !(u.omit_host && u.host.is_empty() && u.user.is_none()) {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                buf.push_str("//");
            }
            if let Some(user) = &u.user {
                buf.push_str(&user_string(user));
                buf.push('@');
            }
            buf.push_str(&escape(&u.host, Mode::Host));
        }
        let path = if u.path == "*" {
            "*".to_string()
        } else {
            escape(&u.path, Mode::Path)
        };
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            buf.push('/');
        }
        if buf.is_empty() && path.split('/').next().is_some_and(|s| s.contains(':')) {
            buf.push_str("./");
        }
        buf.push_str(&path);
    }
    if u.force_query || !u.raw_query.is_empty() {
        buf.push('?');
        buf.push_str(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        buf.push('#');
        buf.push_str(&escape(&u.fragment, Mode::Fragment));
    }
    buf
}

fn url_parse(raw: &str) -> Result<Value, String> {
    let u = parse(raw)
        .map_err(|(url, e)| format!("unable to parse url: parse {}: {e}", go_quote(&url)))?;
    let hostname = {
        let mut h = u.host.as_str();
        if let Some(c) = h.rfind(':') {
            if valid_optional_port(&h[c..]) {
                h = &h[..c];
            }
        }
        if h.starts_with('[') && h.ends_with(']') && h.len() >= 2 {
            h = &h[1..h.len() - 1];
        }
        h.to_string()
    };
    let userinfo = u.user.as_ref().map(user_string).unwrap_or_default();
    let entries: BTreeMap<String, Value> = [
        ("scheme", u.scheme.clone()),
        ("host", u.host.clone()),
        ("hostname", hostname),
        ("path", u.path.clone()),
        ("query", u.raw_query.clone()),
        ("opaque", u.opaque.clone()),
        ("fragment", u.fragment.clone()),
        ("userinfo", userinfo),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::str(v)))
    .collect();
    Ok(Value::map(MapKind::StringAny, entries))
}

fn url_join(d: &Value) -> Result<Value, String> {
    let Value::Map(m) = d else {
        return Err("internal: urlJoin needs a map".into());
    };
    let m = m.borrow();
    let field = |key: &str| -> Result<String, String> {
        match m.entries.get(key) {
            None => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(Value::Nil) => {
                Err("runtime error: invalid memory address or nil pointer dereference".into())
            }
            Some(other) => Err(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                other.go_kind()
            )),
        }
    };
    let mut u = Url {
        scheme: field("scheme")?,
        host: field("host")?,
        path: field("path")?,
        raw_query: field("query")?,
        opaque: field("opaque")?,
        fragment: field("fragment")?,
        ..Url::default()
    };
    let userinfo = field("userinfo")?;
    if !userinfo.is_empty() {
        let temp = parse(&format!("proto://{userinfo}@host")).map_err(|(url, e)| {
            format!(
                "unable to parse userinfo in dict: parse {}: {e}",
                go_quote(&url)
            )
        })?;
        u.user = temp.user;
    }
    Ok(Value::str(to_string(&u)))
}

/// Registers urlParse urlJoin.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push((
        "urlParse",
        Func::new(&[Ty::String], |a| url_parse(arg_str(&a, 0)?)),
    ));
    out.push((
        "urlJoin",
        Func::new(&[Ty::Map], |a| url_join(a.first().unwrap_or(&Value::Nil))),
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
            (
                r#"urlParse "https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=2#frag""#,
                r#"map[fragment:frag host:example.com:8443 hostname:example.com opaque: path:/a b/c query:x=1&y=2 scheme:https userinfo:user:p%40ss]"#,
            ),
            (
                r#"urlParse "mailto:joe@example.com""#,
                r#"map[fragment: host: hostname: opaque:joe@example.com path: query: scheme:mailto userinfo:]"#,
            ),
            (
                r#"urlParse "/relative/path?q""#,
                r#"map[fragment: host: hostname: opaque: path:/relative/path query:q scheme: userinfo:]"#,
            ),
            (
                r#"urlParse "http://[::1]:80/x""#,
                r#"map[fragment: host:[::1]:80 hostname:::1 opaque: path:/x query: scheme:http userinfo:]"#,
            ),
            (
                r#"urlParse "http://exa mple.com""#,
                r#"ERR error calling urlParse: unable to parse url: parse "http://exa mple.com": invalid character " " in host name"#,
            ),
            (
                r#"urlParse ":foo""#,
                r#"ERR error calling urlParse: unable to parse url: parse ":foo": missing protocol scheme"#,
            ),
            (
                r#"urlParse "a:b/c""#,
                r#"map[fragment: host: hostname: opaque:b/c path: query: scheme:a userinfo:]"#,
            ),
            (
                r#"urlParse "1a:b""#,
                r#"ERR error calling urlParse: unable to parse url: parse "1a:b": first path segment in URL cannot contain colon"#,
            ),
            (
                r#"urlParse "http://h/%zz""#,
                r#"ERR error calling urlParse: unable to parse url: parse "http://h/%zz": invalid URL escape "%zz""#,
            ),
            (
                r#"urlParse "http://host:port/""#,
                r#"ERR error calling urlParse: unable to parse url: parse "http://host:port/": invalid port ":port" after host"#,
            ),
            (
                r#"urlParse "file:///etc/hosts""#,
                r#"map[fragment: host: hostname: opaque: path:/etc/hosts query: scheme:file userinfo:]"#,
            ),
            (
                r#"urlParse "//host/path""#,
                r#"map[fragment: host:host hostname:host opaque: path:/path query: scheme: userinfo:]"#,
            ),
            (
                r#"urlJoin (dict "scheme" "https" "host" "example.com" "path" "/a b" "query" "x=1" "fragment" "f g")"#,
                r#"https://example.com/a%20b?x=1#f%20g"#,
            ),
            (
                r#"urlJoin (dict "host" "example.com" "path" "rel")"#,
                r#"//example.com/rel"#,
            ),
            (r#"urlJoin (dict "path" "a:b/c")"#, r#"./a:b/c"#),
            (
                r#"urlJoin (dict "scheme" "mailto" "opaque" "joe@example.com")"#,
                r#"mailto:joe@example.com"#,
            ),
            (
                r#"urlJoin (dict "scheme" "https" "host" "h" "userinfo" "user:p@ss")"#,
                r#"https://user:p%40ss@h"#,
            ),
            (
                r#"urlJoin (dict "scheme" "https" "host" "h" "userinfo" "us er")"#,
                r#"ERR error calling urlJoin: unable to parse userinfo in dict: parse "proto://us er@host": net/url: invalid userinfo"#,
            ),
            (
                r#"urlJoin (dict "scheme" "https" "host" 5)"#,
                r#"ERR error calling urlJoin: unable to parse host key, must be of type string, but int found"#,
            ),
            (
                r#"urlJoin (dict "scheme" "file" "path" "/etc/hosts")"#,
                r#"file:///etc/hosts"#,
            ),
            (
                r#"urlJoin (urlParse "https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=2#frag")"#,
                r#"https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=2#frag"#,
            ),
        ]);
    }
}
