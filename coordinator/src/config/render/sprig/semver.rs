//! sprig's `semver` and `semverCompare`, on Masterminds/semver v3 rules.
//!
//! Versions parse with semver's loose regular expression (`v` prefix allowed, minor and patch
//! optional) plus its prerelease/metadata checks, and compare as semver does (prerelease parts
//! numerically or lexically, metadata ignored). Constraints follow `constraints.go`: `||`
//! alternatives of comma/space separated `OP VERSION` terms, `x`/`*` wildcards ("dirty"
//! constraints), hyphen ranges, and the rule that a prerelease version only satisfies terms
//! that themselves name a prerelease. The `semver` result is an object with semver's methods
//! (`Major`, `Minor`, `Patch`, `Prerelease`, `Metadata`, `Original`, `String`, `Compare`,
//! `LessThan`, `GreaterThan`, `Equal`); `Major`/`Minor`/`Patch` are Go `uint64`, which the
//! value model lacks, so they are `int64` here (same printing; `typeOf` differs).

use std::cmp::Ordering;
use std::rc::Rc;

use regex::Regex;

use super::super::value::{Func, Object, Ty, Value};
use super::conv::arg_str;

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
/// Go's `\s` (ASCII only).
const WS: &str = r"[\t\n\x0C\r ]";

/// A parsed version, as Masterminds' `Version`.
#[derive(Clone, Debug)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

fn re(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("internal: semver pattern: {e}"))
}

fn segment(s: &str) -> Result<u64, String> {
    let digits = s.trim_start_matches('.');
    digits.parse::<u64>().map_err(|_| {
        format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            super::conv::go_quote(digits)
        )
    })
}

impl Version {
    /// Masterminds' `NewVersion`.
    pub(crate) fn parse(v: &str) -> Result<Version, String> {
        let pat = r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$";
        let caps = re(pat)?
            .captures(v)
            .ok_or_else(|| "Invalid Semantic Version".to_string())?;
        let get = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let opt = |i: usize| {
            let s = get(i);
            if s.is_empty() {
                Ok(0)
            } else {
                segment(s)
            }
        };
        let version = Version {
            major: segment(get(1))?,
            minor: opt(2)?,
            patch: opt(3)?,
            pre: get(5).to_string(),
            metadata: get(8).to_string(),
            original: v.to_string(),
        };
        for part in version.pre.split('.').filter(|_| !version.pre.is_empty()) {
            if part.bytes().all(|b| b.is_ascii_digit()) {
                if part.len() > 1 && part.starts_with('0') {
                    return Err("Version segment starts with 0".into());
                }
            } else if !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err("Invalid Prerelease string".into());
            }
        }
        Ok(version)
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    fn compare(&self, o: &Version) -> Ordering {
        let by_numbers = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if by_numbers != Ordering::Equal {
            return by_numbers;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_prerelease(&self.pre, &o.pre),
        }
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (s, o) = (
            pa.get(i).copied().unwrap_or(""),
            pb.get(i).copied().unwrap_or(""),
        );
        let d = compare_pre_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => s.cmp(o),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// One `OP VERSION` term.
struct Term {
    con: Version,
    op: String,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_term(c: &str) -> Result<Term, String> {
    let caps = re(&format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$"))?
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let get = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (m3, m4, m5, m6) = (get(3), get(4), get(5), get(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(m3) || m3.is_empty() {
        dirty = true;
        format!("0.0.0{m6}")
    } else if is_x(m4.trim_start_matches('.')) || m4.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{m3}.0.0{m6}")
    } else if is_x(m5.trim_start_matches('.')) || m5.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{m3}{m4}.0{m6}")
    } else {
        get(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint Parser Error".to_string())?;
    Ok(Term {
        con,
        op: get(1).to_string(),
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Term {
    /// Whether `v` satisfies the term (Masterminds' `constraint.check`, errors dropped).
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() && self.op != "!=" {
            return false;
        }
        let tilde = || {
            if v.compare(c) == Ordering::Less {
                return false;
            }
            if c.major == 0
                && c.minor == 0
                && c.patch == 0
                && !self.minor_dirty
                && !self.patch_dirty
            {
                return true;
            }
            v.major == c.major && (v.minor == c.minor || self.minor_dirty)
        };
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    tilde()
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            "!=" => {
                if self.dirty {
                    if !v.pre.is_empty() && c.pre.is_empty() {
                        return false;
                    }
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            "<" => v.compare(c) == Ordering::Less,
            ">=" | "=>" => v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => tilde(),
            "^" => caret(v, c, self),
            _ => false,
        }
    }
}

fn caret(v: &Version, c: &Version, t: &Term) -> bool {
    if v.compare(c) == Ordering::Less {
        return false;
    }
    if c.major > 0 || t.minor_dirty {
        return v.major == c.major;
    }
    if v.major > 0 {
        return false;
    }
    if c.minor > 0 || t.patch_dirty {
        return v.minor == c.minor;
    }
    if v.minor > 0 {
        return false;
    }
    c.patch == v.patch
}

/// Masterminds' `NewConstraint`: `||` alternatives of terms that must all hold.
fn parse_constraint(constraint: &str) -> Result<Vec<Vec<Term>>, String> {
    let range = re(&format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*"))?;
    let mut rewritten = constraint.to_string();
    for caps in range.captures_iter(constraint) {
        let (all, lo, hi) = (&caps[0], &caps[1], &caps[11]);
        rewritten = rewritten.replacen(all, &format!(">= {lo}, <= {hi}"), 1);
    }
    let valid = re(&format!(
        r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
    ))?;
    let find = re(&format!(r"({OPS}){WS}*({CV})"))?;
    let mut alternatives = Vec::new();
    for alt in rewritten.split("||") {
        if !valid.is_match(alt) {
            return Err(format!("improper constraint: {alt}"));
        }
        let mut terms = find
            .find_iter(alt)
            .map(|m| parse_term(m.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        if terms.is_empty() {
            terms.push(parse_term(alt)?);
        }
        alternatives.push(terms);
    }
    Ok(alternatives)
}

/// The `*semver.Version` object `semver` returns.
struct SemverObject(Version);

fn other_version(v: &Value) -> Result<Version, String> {
    match v {
        Value::Object(o) => o
            .as_any()
            .and_then(|a| a.downcast_ref::<SemverObject>())
            .map(|s| s.0.clone())
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    o.go_type()
                )
            }),
        other => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            other.go_type()
        )),
    }
}

impl Object for SemverObject {
    fn go_type(&self) -> String {
        "*semver.Version".into()
    }

    fn method(&self, name: &str) -> Option<Func> {
        let v = self.0.clone();
        let getter = |value: Value| Some(Func::new(&[], move |_| Ok(value.clone())));
        let cmp = |f: fn(Ordering) -> Value| {
            let v = v.clone();
            Some(Func::new(&[Ty::Any], move |a| {
                let o = other_version(a.first().unwrap_or(&Value::Nil))?;
                Ok(f(v.compare(&o)))
            }))
        };
        match name {
            "Major" => getter(Value::Int64(v.major as i64)),
            "Minor" => getter(Value::Int64(v.minor as i64)),
            "Patch" => getter(Value::Int64(v.patch as i64)),
            "Prerelease" => getter(Value::str(v.pre.clone())),
            "Metadata" => getter(Value::str(v.metadata.clone())),
            "Original" => getter(Value::str(v.original.clone())),
            "String" => getter(Value::str(v.string())),
            "Compare" => cmp(|o| Value::Int(o as i64)),
            "LessThan" => cmp(|o| Value::Bool(o == Ordering::Less)),
            "GreaterThan" => cmp(|o| Value::Bool(o == Ordering::Greater)),
            "Equal" => cmp(|o| Value::Bool(o == Ordering::Equal)),
            _ => None,
        }
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Registers semver semverCompare.
pub(crate) fn register(out: &mut Vec<(&'static str, Func)>) {
    out.push((
        "semver",
        Func::new(&[Ty::String], |a| {
            let v = Version::parse(arg_str(&a, 0)?)?;
            Ok(Value::Object(Rc::new(SemverObject(v))))
        }),
    ));
    out.push((
        "semverCompare",
        Func::new(&[Ty::String, Ty::String], |a| {
            let (c, v) = (arg_str(&a, 0)?, arg_str(&a, 1)?);
            // Go parses the constraint first, then the version; errors in that order.
            let alternatives = parse_constraint(c)?;
            let v = Version::parse(v)?;
            Ok(Value::Bool(
                alternatives
                    .iter()
                    .any(|terms| terms.iter().all(|t| t.check(&v))),
            ))
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
            (r#"semver "1.2.3""#, r#"1.2.3"#),
            (r#"semver "v1.2""#, r#"1.2.0"#),
            (
                r#"semver "1.2.3-beta.1+build.5""#,
                r#"1.2.3-beta.1+build.5"#,
            ),
            (
                r#"semver "1.2.3-01""#,
                r#"ERR error calling semver: Version segment starts with 0"#,
            ),
            (
                r#"semver "nope""#,
                r#"ERR error calling semver: Invalid Semantic Version"#,
            ),
            (
                r#"semver "99999999999999999999.1.1""#,
                r#"ERR error calling semver: Error parsing version segment: strconv.ParseUint: parsing "99999999999999999999": value out of range"#,
            ),
            (r#"semverCompare ">=1.2.0" "1.2.3""#, r#"true"#),
            (r#"semverCompare "^1.2" "1.9.0""#, r#"true"#),
            (r#"semverCompare "^1.2" "2.0.0""#, r#"false"#),
            (r#"semverCompare "~1.2.3" "1.2.9""#, r#"true"#),
            (r#"semverCompare "~1.2.3" "1.3.0""#, r#"false"#),
            (r#"semverCompare "~1" "1.9.0""#, r#"true"#),
            (r#"semverCompare ">=1.0.0 <2.0.0" "1.5.0""#, r#"true"#),
            (r#"semverCompare ">=1.0.0, <2.0.0" "2.5.0""#, r#"false"#),
            (r#"semverCompare "<1.0.0 || >=3" "3.1.0""#, r#"true"#),
            (r#"semverCompare "1.2.x" "1.2.7""#, r#"true"#),
            (r#"semverCompare "1.x" "1.3.0""#, r#"true"#),
            (r#"semverCompare "*" "4.0.0""#, r#"true"#),
            (r#"semverCompare "1.2.0 - 1.4.0" "1.3.5""#, r#"true"#),
            (r#"semverCompare "1.2.0 - 1.4.0" "1.4.1""#, r#"false"#),
            (r#"semverCompare ">=1.2.0" "1.3.0-beta""#, r#"false"#),
            (r#"semverCompare ">=1.2.0-0" "1.3.0-beta""#, r#"true"#),
            (r#"semverCompare "!=1.2.3" "1.2.3""#, r#"false"#),
            (r#"semverCompare "!=1.2.x" "1.2.4""#, r#"false"#),
            (r#"semverCompare ">1.2" "1.2.5""#, r#"false"#),
            (r#"semverCompare ">1.2" "1.3.0""#, r#"true"#),
            (r#"semverCompare "<=1.2" "1.2.9""#, r#"true"#),
            (r#"semverCompare "^0.2.3" "0.2.9""#, r#"true"#),
            (r#"semverCompare "^0.2.3" "0.3.0""#, r#"false"#),
            (r#"semverCompare "^0.0.3" "0.0.4""#, r#"false"#),
            (r#"semverCompare "=1.2.3" "v1.2.3""#, r#"true"#),
            (
                r#"semverCompare "foo" "1.2.3""#,
                r#"ERR error calling semverCompare: improper constraint: foo"#,
            ),
            (
                r#"semverCompare ">=1.2.0" "bar""#,
                r#"ERR error calling semverCompare: Invalid Semantic Version"#,
            ),
            (
                r#"semverCompare "" "1.2.3""#,
                r#"ERR error calling semverCompare: improper constraint: "#,
            ),
            (r#"semverCompare ">= 1.2" "1.2.0""#, r#"true"#),
            (
                r#"semverCompare "1.2.3-alpha.1 - 1.2.3" "1.2.3-alpha.2""#,
                r#"false"#,
            ),
            (
                r#"semverCompare "^1.2.3-alpha" "1.2.3-alpha.10""#,
                r#"true"#,
            ),
        ]);
    }

    /// Methods of the `semver` object; expected values printed by the oracle for
    /// `{{ $v.Major }}` etc. with `$v := semver "v1.22.3-rc.1+build.5"`.
    #[test]
    fn version_methods_match_go() {
        use super::super::super::value::Value;
        let mut fns = Vec::new();
        super::register(&mut fns);
        let semver = |s: &str| {
            let f = &fns.iter().find(|(n, _)| *n == "semver").unwrap().1;
            (f.call)(vec![Value::str(s)]).unwrap()
        };
        let v = semver("v1.22.3-rc.1+build.5");
        let Value::Object(o) = &v else {
            panic!("not an object")
        };
        let call = |name: &str, args: Vec<Value>| (o.method(name).unwrap().call)(args).unwrap();
        let show = |name: &str| call(name, vec![]).to_go_string();
        assert_eq!(v.to_go_string(), "1.22.3-rc.1+build.5");
        assert_eq!(show("Major"), "1");
        assert_eq!(show("Minor"), "22");
        assert_eq!(show("Patch"), "3");
        assert_eq!(show("Prerelease"), "rc.1");
        assert_eq!(show("Metadata"), "build.5");
        assert_eq!(show("Original"), "v1.22.3-rc.1+build.5");
        assert_eq!(call("Compare", vec![semver("1.22.3")]).to_go_string(), "-1");
        assert_eq!(
            call("LessThan", vec![semver("1.22.3")]).to_go_string(),
            "true"
        );
        assert_eq!(v.go_type(), "*semver.Version");
    }
}
