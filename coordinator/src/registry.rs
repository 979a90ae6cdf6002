//! Talking to image registries from the coordinator: resolving the current digest of a
//! `fromLatest` base image (distribution API: HEAD on the manifest, `Docker-Content-Digest`),
//! and asking whether a recorded stage image is still there ([`StageImages`]).
//!
//! Registries on loopback (`localhost`, `127.0.0.1`, `[::1]`, any port) are spoken to over
//! plain HTTP, as Docker does; every other registry over HTTPS. Access is anonymous for now;
//! credentials come with the worker's registry support.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::Client;

use crate::plan::{reference, LatestRef};

/// A registry could not answer for a reference: an environment error.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "Cannot resolve the digest of `{reference}` (for `fromLatest` in image `{image}`): {message}"
)]
pub struct RegistryError {
    pub reference: String,
    pub image: String,
    pub message: String,
}

/// True for registries on loopback, which Docker and Conveyor reach over plain HTTP.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
}

/// The client for `registry`: one per protocol for the whole process, shared (a clone shares
/// its connection pool). Making a client loads the system's CA certificates, some 100 ms of
/// CPU: a client per request made a no-op build of 1,000 images spend minutes on it.
fn client_for(registry: &str) -> Client {
    static HTTP: OnceLock<Client> = OnceLock::new();
    static HTTPS: OnceLock<Client> = OnceLock::new();
    let (cell, protocol) = if is_loopback(registry) {
        (&HTTP, ClientProtocol::Http)
    } else {
        (&HTTPS, ClientProtocol::Https)
    };
    cell.get_or_init(|| {
        Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        })
    })
    .clone()
}

/// Makes the shared clients for `registries` now, on a thread of their own, so that the first
/// build that checks a registry does not wait for the CA certificates to load (about 0.1 s of
/// CPU per client, most of a fully cached build's time). A coordinator warms both (loopback
/// and TLS) at start; an embedded build the one its `--repo` needs, while it plans.
pub fn warm_up(registries: Vec<String>) {
    let spawned = std::thread::Builder::new()
        .name("registry-clients".into())
        .spawn(move || {
            for registry in registries {
                client_for(&registry);
            }
        });
    if let Err(e) = spawned {
        tracing::debug!("registry clients are made on first use: {e}");
    }
}

/// The digest the registry reports now for `r.reference`.
pub async fn resolve(r: &LatestRef) -> Result<String, RegistryError> {
    let fail = |message: String| RegistryError {
        reference: r.reference.clone(),
        image: r.image.clone(),
        message,
    };
    let parsed = reference::parse(&r.reference).map_err(fail)?;
    let client = client_for(parsed.resolve_registry());
    client
        .fetch_manifest_digest(&parsed, &RegistryAuth::Anonymous)
        .await
        .map_err(|e| fail(e.to_string()))
}

/// Resolves every reference (each distinct one once).
pub async fn resolve_all(refs: &[LatestRef]) -> Result<BTreeMap<String, String>, RegistryError> {
    let mut out = BTreeMap::new();
    for r in refs {
        if !out.contains_key(&r.reference) {
            out.insert(r.reference.clone(), resolve(r).await?);
        }
    }
    Ok(out)
}

/// A boxed future, as a trait object's async method returns it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whether stage images are in their registry: asked before a build trusts a recorded stage
/// it needs. [`RegistryImages`] asks the registry; [`MemoryImages`] is its in-memory twin.
pub trait StageImages: Send + Sync + std::fmt::Debug {
    /// Whether the registry holds `reference` (`HOST/PATH:TAG`). `Ok(false)` only when it
    /// answers that it does not; an error when it does not answer (or refuses access).
    fn exists<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<bool, String>>;

    /// Every tag of the repository `reference` is in (its tag ignored): one listing instead of
    /// a HEAD per reference. An error when the registry will not list them; the default, for
    /// stores that cannot list, always errs (callers then ask [`StageImages::exists`]).
    fn tags<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<HashSet<String>, String>> {
        let _ = reference;
        Box::pin(async { Err("listing tags is not supported".to_string()) })
    }
}

/// [`StageImages`] over the distribution API: one manifest HEAD, anonymous.
#[derive(Debug, Default)]
pub struct RegistryImages;

impl StageImages for RegistryImages {
    fn exists<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let parsed = reference::parse(reference)?;
            let client = client_for(parsed.resolve_registry());
            match client
                .fetch_manifest_digest(&parsed, &RegistryAuth::Anonymous)
                .await
            {
                Ok(_) => Ok(true),
                Err(OciDistributionError::RegistryError { envelope, .. })
                    if envelope.errors.iter().any(|e| {
                        matches!(
                            e.code,
                            OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
                        )
                    }) =>
                {
                    Ok(false)
                }
                Err(OciDistributionError::ServerError { code: 404, .. })
                | Err(OciDistributionError::ImageManifestNotFoundError(_)) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    /// `GET /v2/NAME/tags/list`, page after page (each asking for the tags after the last one
    /// seen) until a page brings nothing new: registries cap pages differently, and the client
    /// does not show the `Link` header. A repository the registry does not know has no tags.
    fn tags<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<HashSet<String>, String>> {
        Box::pin(async move {
            let parsed = reference::parse(reference)?;
            let client = client_for(parsed.resolve_registry());
            let mut tags = HashSet::new();
            let mut last: Option<String> = None;
            loop {
                let page = match client
                    .list_tags(&parsed, &RegistryAuth::Anonymous, None, last.as_deref())
                    .await
                {
                    Ok(page) => page.tags,
                    Err(OciDistributionError::RegistryError { envelope, .. })
                        if envelope
                            .errors
                            .iter()
                            .any(|e| matches!(e.code, OciErrorCode::NameUnknown)) =>
                    {
                        vec![]
                    }
                    Err(OciDistributionError::ServerError { code: 404, .. }) => vec![],
                    Err(e) => return Err(e.to_string()),
                };
                let before = tags.len();
                last = page.iter().max().cloned();
                tags.extend(page);
                if tags.len() == before {
                    return Ok(tags);
                }
            }
        })
    }
}

/// [`StageImages`] in memory: every reference exists but those made [`MemoryImages::missing`]
/// (so fake workers that push nothing have their stages trusted). It lists tags only once
/// told which references are there ([`MemoryImages::listing`]); it counts the questions.
#[derive(Debug, Default)]
pub struct MemoryImages {
    missing: Mutex<HashSet<String>>,
    /// The references a tag listing shows (less the missing ones); None: cannot list.
    listed: Mutex<Option<HashSet<String>>>,
    /// (HEADs, listings) asked so far.
    asked: Mutex<(usize, usize)>,
}

impl MemoryImages {
    /// From now on, `reference` is not in the registry.
    pub fn missing(&self, reference: &str) {
        if let Ok(mut missing) = self.missing.lock() {
            missing.insert(reference.to_string());
        }
    }

    /// From now on tags can be listed, and these references are there.
    pub fn listing(&self, references: impl IntoIterator<Item = String>) {
        if let Ok(mut listed) = self.listed.lock() {
            *listed = Some(references.into_iter().collect());
        }
    }

    /// How many (HEADs, listings) were asked for.
    pub fn asked(&self) -> (usize, usize) {
        self.asked.lock().map(|a| *a).unwrap_or_default()
    }
}

impl StageImages for MemoryImages {
    fn exists<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.0 += 1;
        }
        let missing = self
            .missing
            .lock()
            .map(|m| m.contains(reference))
            .unwrap_or(false);
        Box::pin(async move { Ok(!missing) })
    }

    fn tags<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<HashSet<String>, String>> {
        let listed = self.listed.lock().ok().and_then(|l| l.clone());
        let missing = self.missing.lock().map(|m| m.clone()).unwrap_or_default();
        if let Ok(mut asked) = self.asked.lock() {
            asked.1 += 1;
        }
        let repository = reference.rsplit_once(':').map_or(reference, |(r, _)| r);
        let tags = listed.map(|listed| {
            listed
                .iter()
                .filter(|r| !missing.contains(*r))
                .filter_map(|r| r.rsplit_once(':'))
                .filter(|(repo, _)| *repo == repository)
                .map(|(_, tag)| tag.to_string())
                .collect()
        });
        Box::pin(async move { tags.ok_or_else(|| "listing tags is not supported".to_string()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognized() {
        for r in [
            "localhost:5000",
            "127.0.0.1:5000",
            "localhost",
            "[::1]:5000",
        ] {
            assert!(is_loopback(r), "{r}");
        }
        for r in ["docker.io", "registry.example.com:5000", "10.0.0.1:5000"] {
            assert!(!is_loopback(r), "{r}");
        }
    }
}
