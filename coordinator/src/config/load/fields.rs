//! Reading typed fields out of YAML nodes, with errors that name the line and the key.
//!
//! werf decodes its config with yaml.v2 into Go structs, so a scalar is read as the field's
//! type: `1` is the string "1" for a string field, `yes` is true for a bool field. The helpers
//! here do the same on [`Node`]s, and refuse keys a section does not know, suggesting the
//! closest known one.

use crate::config::error::ConfigError;
use crate::config::tree::{Node, NodeKind};

/// Where errors are reported: the file, the document, the image being read.
#[derive(Debug, Clone)]
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub document: usize,
    pub image: Option<(&'static str, String)>,
}

impl Ctx<'_> {
    /// An error at `line` in the current document and image.
    pub fn err(&self, line: usize, message: impl Into<String>) -> ConfigError {
        let mut e = ConfigError::new(self.file, line, message).in_document(self.document);
        if let Some((kind, name)) = &self.image {
            e = e.in_image(kind, name);
        }
        e
    }
}

/// A mapping's pairs by key text, in document order.
pub(crate) struct MapView<'a> {
    pub line: usize,
    pub pairs: Vec<(&'a str, &'a Node, &'a Node)>,
}

impl<'a> MapView<'a> {
    /// Views `node` as a mapping with scalar keys, refusing duplicate keys (yaml.v2 does too).
    pub fn new(node: &'a Node, what: &str, ctx: &Ctx) -> Result<MapView<'a>, ConfigError> {
        let NodeKind::Map(pairs) = &node.kind else {
            return Err(ctx.err(
                node.line,
                format!(
                    "{} must be a mapping, not {}",
                    capitalize(what),
                    node.describe()
                ),
            ));
        };
        let mut view = MapView {
            line: node.line,
            pairs: Vec::with_capacity(pairs.len()),
        };
        for (k, v) in pairs {
            let Some(key) = k.as_scalar() else {
                return Err(ctx.err(
                    k.line,
                    format!("{} has a key that is not a string", capitalize(what)),
                ));
            };
            if view.pairs.iter().any(|(seen, _, _)| *seen == key) {
                return Err(ctx.err(k.line, format!("Key `{key}` appears twice in {what}")));
            }
            view.pairs.push((key, k, v));
        }
        Ok(view)
    }

    /// The value of `key`, unless absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.pairs
            .iter()
            .find(|(k, _, v)| *k == key && !v.is_null())
            .map(|(_, _, v)| *v)
    }

    /// The line of `key` itself, or the mapping's line.
    pub fn key_line(&self, key: &str) -> usize {
        self.pairs
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(self.line, |(_, k, _)| k.line)
    }

    /// True when `key` is written, even with a null value.
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _, _)| *k == key)
    }

    /// Refuses any key not in `known`; `unsupported` keys get a "not supported yet" message.
    pub fn check_keys(
        &self,
        what: &str,
        known: &[&str],
        unsupported: &[&str],
        ctx: &Ctx,
    ) -> Result<(), ConfigError> {
        for (key, k, _) in &self.pairs {
            if known.contains(key) {
                continue;
            }
            if unsupported.contains(key) {
                return Err(ctx.err(
                    k.line,
                    format!("`{key}` in {what} is not supported by Conveyor yet"),
                ));
            }
            let hint = closest(key, known)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(ctx.err(k.line, format!("Unknown key `{key}` in {what}{hint}")));
        }
        Ok(())
    }

    /// A string field, if present.
    pub fn string(&self, key: &str, ctx: &Ctx) -> Result<Option<String>, ConfigError> {
        self.get(key).map(|n| string(n, key, ctx)).transpose()
    }

    /// A bool field (`true`/`false`, and YAML 1.1's `yes`/`no`/`on`/`off`), default false.
    pub fn bool(&self, key: &str, ctx: &Ctx) -> Result<bool, ConfigError> {
        let Some(node) = self.get(key) else {
            return Ok(false);
        };
        match &node.kind {
            NodeKind::Scalar { value, plain: true } => match value.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y"
                | "Y" => Ok(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
                | "N" => Ok(false),
                _ => Err(ctx.err(
                    node.line,
                    format!("`{key}` must be true or false, not `{value}`"),
                )),
            },
            _ => Err(ctx.err(
                node.line,
                format!("`{key}` must be true or false, not {}", node.describe()),
            )),
        }
    }

    /// A field that is one string or a list of strings (shell commands, paths).
    pub fn strings(&self, key: &str, ctx: &Ctx) -> Result<Vec<String>, ConfigError> {
        match self.get(key) {
            None => Ok(vec![]),
            Some(node) => strings(node, key, ctx),
        }
    }
}

/// A scalar read as a string.
pub(crate) fn string(node: &Node, key: &str, ctx: &Ctx) -> Result<String, ConfigError> {
    match &node.kind {
        NodeKind::Scalar { value, .. } if !node.is_null() => Ok(value.clone()),
        _ => Err(ctx.err(
            node.line,
            format!("`{key}` must be a string, not {}", node.describe()),
        )),
    }
}

/// One string or a list of strings.
pub(crate) fn strings(node: &Node, key: &str, ctx: &Ctx) -> Result<Vec<String>, ConfigError> {
    match &node.kind {
        NodeKind::Seq(items) => items
            .iter()
            .map(|item| {
                string(item, key, ctx).map_err(|_| {
                    ctx.err(
                        item.line,
                        format!("`{key}` must list strings, not {}", item.describe()),
                    )
                })
            })
            .collect(),
        _ => Ok(vec![string(node, key, ctx)?]),
    }
}

/// A mapping of strings to strings (`ENV`, `LABEL`).
pub(crate) fn string_map(
    node: &Node,
    key: &str,
    ctx: &Ctx,
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let view = MapView::new(node, &format!("`{key}`"), ctx)?;
    let mut out = std::collections::BTreeMap::new();
    for (k, _, v) in view.pairs {
        let value = if v.is_null() {
            String::new()
        } else {
            string(v, k, ctx)?
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

/// `what` with its first letter in upper case, to start a message with.
fn capitalize(what: &str) -> String {
    let mut chars = what.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The known key closest to `key` (same letters ignoring case, or within two edits).
pub(crate) fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = key.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_near_misses_only() {
        let known = ["from", "fromImage", "shell", "docker"];
        assert_eq!(closest("fromm", &known), Some("from"));
        assert_eq!(closest("fromimage", &known), Some("fromImage"));
        assert_eq!(closest("Shell", &known), Some("shell"));
        assert_eq!(closest("ansible", &known), None);
    }
}
