//! Checking recorded stages before a build trusts them: a stage image can vanish from the
//! registry behind Conveyor's back (a clean-up, a registry reset), and a record of it must
//! not stand for an image that is gone.
//!
//! Only the recorded stages the build needs are checked: the last stage of each image (the
//! stages nothing in the build depends on) and the dependencies (parent, import sources) of
//! every stage it will run. A repository with several of them to check is listed once
//! (`tags/list`, as werf reads its stages storage); a lone reference, or a registry that
//! will not list, gets a manifest HEAD. A no-op build of 1,000 images in one stages
//! repository costs one listing instead of 1,000 HEADs. A stage found missing is forgotten (its
//! record deleted, the scheduler told) and built again; that makes its own dependencies
//! needed, so they are checked in the next round. A recorded stage nothing needs (its
//! dependents' images exist) is left unchecked.
//!
//! A check the registry does not answer (down, asks for credentials) keeps the record: the
//! workers meet the registry themselves and report what goes wrong. Stages kept in one
//! worker's engine (no `--repo`) cannot be checked from here and are trusted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::state::Prepared;
use super::tasks::LOCAL_STAGES;
use crate::registry::StageImages;
use crate::store::Store;

/// References checked at once, at most.
const PARALLEL: usize = 16;

/// Checks the recorded stages `prepared` needs; the missing ones become uncached and stale.
pub(super) async fn check(
    prepared: &mut Prepared,
    store: &Arc<dyn Store>,
    images: &Arc<dyn StageImages>,
) {
    // A signature may stand for several specs (one per image listing it).
    let mut at: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, spec) in prepared.specs.iter().enumerate() {
        at.entry(spec.signature.clone()).or_default().push(i);
    }
    let depended: HashSet<&str> = prepared
        .specs
        .iter()
        .flat_map(|s| s.deps.iter().map(String::as_str))
        .collect();
    let mut todo: Vec<String> = prepared
        .specs
        .iter()
        .filter(|s| !depended.contains(s.signature.as_str()))
        .map(|s| s.signature.clone())
        .chain(
            prepared
                .specs
                .iter()
                .filter(|s| !s.cached)
                .flat_map(|s| s.deps.iter().cloned()),
        )
        .collect();
    drop(depended);
    let mut seen: HashSet<String> = HashSet::new();
    let mut missing: Vec<String> = Vec::new();
    // Each repository's tags, listed once per check; None where the listing failed.
    let mut listed: HashMap<String, Option<HashSet<String>>> = HashMap::new();
    while !todo.is_empty() {
        // This round: the needed recorded stages not checked yet, with their references.
        let round: Vec<(String, String)> = std::mem::take(&mut todo)
            .into_iter()
            .filter(|sig| seen.insert(sig.clone()))
            .filter(|sig| {
                at.get(sig)
                    .is_some_and(|i| i.iter().any(|&i| prepared.specs[i].cached))
            })
            .filter_map(|sig| {
                let target = prepared.infos.get(&sig)?.task.target.clone();
                (!target.starts_with(LOCAL_STAGES)).then_some((sig, target))
            })
            .collect();
        for (sig, reference, exists) in look_up(round, images, &mut listed).await {
            match exists {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("stage `{reference}` is recorded but gone: building it again");
                    for &i in at.get(&sig).into_iter().flatten() {
                        let spec = &mut prepared.specs[i];
                        spec.cached = false;
                        todo.extend(spec.deps.iter().cloned());
                    }
                    missing.push(sig);
                }
                Err(e) => tracing::warn!(
                    "cannot check recorded stage `{reference}` in its registry ({e}); \
                     trusting its record"
                ),
            }
        }
    }
    if missing.is_empty() {
        return;
    }
    let store = store.clone();
    let forgotten = missing.clone();
    let deleted = tokio::task::spawn_blocking(move || {
        forgotten.iter().try_for_each(|sig| store.delete_stage(sig))
    })
    .await;
    if let Ok(Err(e)) = deleted {
        tracing::warn!("forgetting stages gone from the registry: {e}");
    }
    prepared.stale.extend(missing);
}

/// Whether each `(signature, reference)` is in its registry: from the repository's tag list
/// where it has two references or more to check (listed once, kept in `listed`), else by a
/// manifest HEAD, `PARALLEL` at a time.
async fn look_up(
    round: Vec<(String, String)>,
    images: &Arc<dyn StageImages>,
    listed: &mut HashMap<String, Option<HashSet<String>>>,
) -> Vec<(String, String, Result<bool, String>)> {
    let mut by_repository: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    let mut heads = Vec::new();
    for (sig, reference) in round {
        match reference.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') && !repo.contains('@') => by_repository
                .entry(repo.to_string())
                .or_default()
                .push((sig, tag.to_string(), reference)),
            // By digest, or no tag: only a HEAD can tell.
            _ => heads.push((sig, reference)),
        }
    }
    let mut out = Vec::new();
    for (repository, refs) in by_repository {
        if !listed.contains_key(&repository) && refs.len() >= 2 {
            let tags = images.tags(&refs[0].2).await;
            if let Err(e) = &tags {
                tracing::debug!("cannot list the tags of `{repository}` ({e}); asking per stage");
            }
            listed.insert(repository.clone(), tags.ok());
        }
        match listed.get(&repository) {
            Some(Some(tags)) => out.extend(
                refs.into_iter()
                    .map(|(sig, tag, reference)| (sig, reference, Ok(tags.contains(&tag)))),
            ),
            _ => heads.extend(refs.into_iter().map(|(sig, _, reference)| (sig, reference))),
        }
    }
    for chunk in heads.chunks(PARALLEL) {
        let mut checks = tokio::task::JoinSet::new();
        for (sig, reference) in chunk.iter().cloned() {
            let images = images.clone();
            checks.spawn(async move {
                let exists = images.exists(&reference).await;
                (sig, reference, exists)
            });
        }
        while let Some(Ok(checked)) = checks.join_next().await {
            out.push(checked);
        }
    }
    out
}
