//! "Why would this stage be rebuilt?": each stage of an image's current plan compared with the
//! same image's last successful build, by recorded inputs.
//!
//! A stage whose signature is recorded is a cache hit. Otherwise, the stage of the same name
//! in the last build is looked up: if its own inputs differ, those differences are the reason
//! (`fromCacheVersion: "1" → "2"`); if they are equal, something below it changed (its parent
//! stage, or for a `from` stage the base image).

use crate::plan::ImagePlan;
use crate::store::{ImageRecord, Store, StoreError};

/// One input that differs from the last build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What will happen to a stage, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded: it will be reused.
    Cached { built_by: String, created_ms: u64 },
    /// No build of this image was recorded: there is nothing to compare with.
    NoHistory,
    /// The last build had no stage of this name (a stage appeared).
    Added,
    /// Its own inputs changed.
    InputsChanged(Vec<Change>),
    /// Its inputs are the same; the stage below it changed (named).
    Below(String),
    /// The last build's record of this stage is gone (e.g. cleaned up): it is rebuilt.
    RecordGone,
}

/// One stage's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub stage: String,
    pub signature: String,
    pub verdict: Verdict,
}

/// Explains every stage of `image` against `previous` (its last successful build).
pub fn explain(
    image: &ImagePlan,
    previous: Option<&ImageRecord>,
    store: &dyn Store,
) -> Result<Vec<Explained>, StoreError> {
    let mut out = vec![];
    for (i, stage) in image.stages.iter().enumerate() {
        let verdict = if let Some(record) = store.stage(&stage.signature)? {
            Verdict::Cached {
                built_by: record.built_by,
                created_ms: record.created_ms,
            }
        } else if let Some(previous) = previous {
            match previous.stages.iter().find(|(name, _)| name == stage.name) {
                None => Verdict::Added,
                Some((_, old_sig)) => match store.stage(old_sig)? {
                    None => Verdict::RecordGone,
                    Some(old) => {
                        let changes = diff(&old.inputs, &stage.inputs);
                        if !changes.is_empty() {
                            Verdict::InputsChanged(changes)
                        } else if i == 0 {
                            Verdict::Below(format!("base `{}`", image.from.reference))
                        } else {
                            Verdict::Below(format!("stage `{}`", image.stages[i - 1].name))
                        }
                    }
                },
            }
        } else {
            Verdict::NoHistory
        };
        out.push(Explained {
            stage: stage.name.to_string(),
            signature: stage.signature.clone(),
            verdict,
        });
    }
    Ok(out)
}

/// The inputs that differ, in key order.
fn diff(before: &[(String, String)], after: &[(String, String)]) -> Vec<Change> {
    let find = |list: &[(String, String)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let mut keys: Vec<&String> = before.iter().chain(after).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (b, a) = (find(before, key), find(after, key));
            (b != a).then(|| Change {
                key: key.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn differences_name_the_key_and_both_values() {
        let before = kv(&[("from", "a"), ("fromCacheVersion", "1")]);
        let after = kv(&[("from", "a"), ("fromCacheVersion", "2"), ("x", "new")]);
        assert_eq!(
            diff(&before, &after),
            vec![
                Change {
                    key: "fromCacheVersion".into(),
                    before: Some("1".into()),
                    after: Some("2".into())
                },
                Change {
                    key: "x".into(),
                    before: None,
                    after: Some("new".into())
                },
            ]
        );
        assert!(diff(&before, &before).is_empty());
    }
}
