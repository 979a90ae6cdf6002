//! Imports: copying a path out of another stage's image into the build container.
//!
//! The source image's `add` path is read as a tar archive from a (never started) container of
//! it, filtered with werf's semantics (globs relative to `add`; `include_paths` keeps only the
//! matching paths, with everything under a matching directory and the directories leading to
//! them; `exclude_paths` then drops matching paths with everything under them), re-rooted at
//! `to`, re-owned in the archive headers (`owner`/`group`: numbers, or names resolved through
//! the build container's `/etc/passwd` and `/etc/group`; an empty one keeps the source's id) and
//! uploaded into the build container. Archives are held in memory: fine for the files stages
//! usually import, not for gigabytes.

use std::collections::HashSet;
use std::io::Read;

use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use bytes::Bytes;
use conveyor_proto::v1::ImportSpec;
use glob::{MatchOptions, Pattern};
use tokio_stream::StreamExt;

use super::container::{BuildContainer, Spec};
use super::{images, StageError};
use crate::credentials::Credentials;
use crate::retry::Backoff;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("bad glob `{0}`: {1}")]
    BadGlob(String, glob::PatternError),
    #[error("reading the archive: {0}")]
    Archive(#[from] std::io::Error),
    #[error("import path `{0}` must be absolute")]
    Relative(String),
    #[error("no user `{0}` in the image's /etc/passwd")]
    UnknownUser(String),
    #[error("no group `{0}` in the image's /etc/group")]
    UnknownGroup(String),
}

/// werf's include/exclude filter on paths relative to `add`.
pub struct Filter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

const GLOB: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Filter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filter, ImportError> {
        let compile = |globs: &[String]| -> Result<Vec<Pattern>, ImportError> {
            globs
                .iter()
                .map(|g| {
                    let g = g.trim_matches('/');
                    Pattern::new(g).map_err(|e| ImportError::BadGlob(g.to_string(), e))
                })
                .collect()
        };
        Ok(Filter {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }

    /// Whether `rel` (relative to `add`, no leading `/`; "" is `add` itself) is kept on its own
    /// merits (directories leading to kept paths are added by [`rewrite`]).
    pub fn keeps(&self, rel: &str) -> bool {
        if rel.is_empty() {
            return true;
        }
        let hit = |patterns: &[Pattern]| {
            ancestors_and_self(rel).any(|p| patterns.iter().any(|g| g.matches_with(p, GLOB)))
        };
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }
}

/// `a/b/c` → `a`, `a/b`, `a/b/c`.
fn ancestors_and_self(rel: &str) -> impl Iterator<Item = &str> {
    rel.match_indices('/')
        .map(move |(i, _)| &rel[..i])
        .chain(std::iter::once(rel))
}

/// Numeric owner and group for the imported files (None: keep the source's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ownership {
    pub uid: Option<u64>,
    pub gid: Option<u64>,
}

/// Resolves `owner`/`group` (numbers or names) with the target's passwd and group files.
pub fn resolve_ownership(
    owner: &str,
    group: &str,
    passwd: &str,
    groups: &str,
) -> Result<Ownership, ImportError> {
    let find = |name: &str, table: &str| -> Option<u64> {
        if let Ok(id) = name.parse() {
            return Some(id);
        }
        table.lines().find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == name).then_some(())?;
            fields.nth(1)?.parse().ok()
        })
    };
    let uid = match owner {
        "" => None,
        o => Some(find(o, passwd).ok_or_else(|| ImportError::UnknownUser(o.to_string()))?),
    };
    let gid = match group {
        "" => None,
        g => Some(find(g, groups).ok_or_else(|| ImportError::UnknownGroup(g.to_string()))?),
    };
    Ok(Ownership { uid, gid })
}

/// Rewrites the archive Docker gave for `add` (rooted at its base name) into one rooted at `/`
/// that puts the kept entries under `to`, with `owner` applied.
pub fn rewrite(
    archive: &[u8],
    to: &str,
    filter: &Filter,
    owner: Ownership,
) -> Result<Vec<u8>, ImportError> {
    if !to.starts_with('/') {
        return Err(ImportError::Relative(to.to_string()));
    }
    let to = to.trim_matches('/');
    struct Item {
        header: tar::Header,
        rel: String,
        link: Option<String>,
        data: Vec<u8>,
    }
    let mut items = Vec::new();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let rel = strip_root(&path).to_string();
        let link = match entry.header().entry_type() {
            tar::EntryType::Link => entry
                .link_name()?
                .map(|l| strip_root(&l.to_string_lossy()).to_string()),
            _ => entry.link_name()?.map(|l| l.to_string_lossy().into_owned()),
        };
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        items.push(Item {
            header: entry.header().clone(),
            rel,
            link,
            data,
        });
    }
    let mut kept: HashSet<String> = items
        .iter()
        .filter(|i| filter.keeps(&i.rel))
        .map(|i| i.rel.clone())
        .collect();
    // Hard links to dropped files cannot be made.
    items.retain(|i| {
        i.header.entry_type() != tar::EntryType::Link
            || i.link.as_ref().is_some_and(|l| kept.contains(l))
            || !kept.contains(&i.rel)
    });
    let leading: Vec<String> = kept
        .iter()
        .flat_map(|k| {
            ancestors_and_self(k)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    kept.extend(leading);
    kept.insert(String::new());

    let dest = |rel: &str| match (to.is_empty(), rel.is_empty()) {
        (_, true) => to.to_string(),
        (true, false) => rel.to_string(),
        (false, false) => format!("{to}/{rel}"),
    };
    let mut out = tar::Builder::new(Vec::new());
    for mut item in items.into_iter().filter(|i| kept.contains(&i.rel)) {
        let path = dest(&item.rel);
        if path.is_empty() {
            continue; // `/` itself
        }
        if let Some(uid) = owner.uid {
            item.header.set_uid(uid);
        }
        if let Some(gid) = owner.gid {
            item.header.set_gid(gid);
        }
        match item.header.entry_type() {
            tar::EntryType::Link => {
                let target = dest(item.link.as_deref().unwrap_or_default());
                out.append_link(&mut item.header, &path, &target)?;
            }
            tar::EntryType::Symlink => {
                let target = item.link.unwrap_or_default();
                out.append_link(&mut item.header, &path, &target)?;
            }
            _ => out.append_data(&mut item.header, &path, item.data.as_slice())?,
        }
    }
    Ok(out.into_inner()?)
}

/// `base/x/y` → `x/y`; `base/` or `base` → "".
fn strip_root(path: &str) -> &str {
    let path = path.trim_start_matches("./").trim_end_matches('/');
    path.split_once('/').map(|(_, rest)| rest).unwrap_or("")
}

/// Runs one import into the (created, not started) build container.
pub async fn import(
    docker: &Docker,
    signature: &str,
    spec: &ImportSpec,
    target: &BuildContainer,
    credentials: &Credentials,
    backoff: Backoff,
) -> Result<(), StageError> {
    let stage = |e: ImportError| StageError::stage(format!("import from {}: {e}", spec.source));
    if !spec.add.starts_with('/') {
        return Err(stage(ImportError::Relative(spec.add.clone())));
    }
    let filter = Filter::new(&spec.include_paths, &spec.exclude_paths).map_err(stage)?;
    images::ensure(docker, credentials, &spec.source, backoff).await?;
    let source = BuildContainer::create(
        docker,
        Spec {
            signature,
            image: &spec.source,
            entrypoint: vec!["/conveyor-import".into()],
            user: None,
            network: "none",
        },
    )
    .await?;
    let archive = download(docker, source.name(), &spec.add).await;
    source.remove().await?;
    let archive = archive?.ok_or_else(|| {
        StageError::stage(format!("import: no `{}` in {}", spec.add, spec.source))
    })?;

    let owner = if spec.owner.is_empty() && spec.group.is_empty() {
        Ownership::default()
    } else {
        let passwd = read_file(docker, target.name(), "/etc/passwd").await?;
        let groups = read_file(docker, target.name(), "/etc/group").await?;
        resolve_ownership(&spec.owner, &spec.group, &passwd, &groups).map_err(stage)?
    };
    let to = if spec.to.is_empty() {
        &spec.add
    } else {
        &spec.to
    };
    let to_owned = to.clone();
    let rewritten =
        tokio::task::spawn_blocking(move || rewrite(&archive, &to_owned, &filter, owner))
            .await
            .map_err(|e| StageError::Internal(format!("import task: {e}")))?
            .map_err(stage)?;
    let opts = UploadToContainerOptionsBuilder::default().path("/").build();
    docker
        .upload_to_container(
            target.name(),
            Some(opts),
            bollard::body_full(Bytes::from(rewritten)),
        )
        .await
        .map_err(|e| StageError::environment(format!("copying the import into {to}"), e))
}

/// The archive of `path` in a container; `Ok(None)` when the path does not exist.
async fn download(
    docker: &Docker,
    container: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, StageError> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let mut stream = docker.download_from_container(container, Some(opts));
    let mut archive = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => archive.extend_from_slice(&bytes),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(e) => {
                return Err(StageError::environment(
                    format!("reading {path} from a container"),
                    e,
                ))
            }
        }
    }
    Ok(Some(archive))
}

/// A small text file of a container ("" when absent).
async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<String, StageError> {
    let Some(archive) = download(docker, container, path).await? else {
        return Ok(String::new());
    };
    let mut reader = tar::Archive::new(archive.as_slice());
    let mut text = String::new();
    let read = |reader: &mut tar::Archive<&[u8]>, text: &mut String| -> std::io::Result<()> {
        if let Some(entry) = reader.entries()?.next() {
            entry?.read_to_string(text)?;
        }
        Ok(())
    };
    read(&mut reader, &mut text)
        .map_err(|e| StageError::Internal(format!("reading {path} of the build container: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests;
