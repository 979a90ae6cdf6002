//! Finding a stage image that already exists: on the local engine first, then in the registry.
//!
//! A stage is identified by its reference `REPO:SIGNATURE`. [`lookup`] inspects the engine's
//! image store, then asks the registry with a single manifest `HEAD` (a point lookup: tags are
//! never listed). The registry is talked to anonymously over plain HTTP, which is only allowed
//! for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`); other registries (TLS, tokens,
//! credentials) are not supported yet and give [`CacheError::UnsupportedRegistry`].

use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The manifest types a stage image may be stored as (Docker v2 and OCI, single or index).
const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

const REGISTRY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("`{0}` is not an image reference")]
    BadReference(String),
    #[error(
        "registry `{0}` is not supported yet: only anonymous plain-HTTP registries on loopback \
         hosts are"
    )]
    UnsupportedRegistry(String),
    #[error("registry lookup of `{reference}` failed: {message}")]
    Registry { reference: String, message: String },
    #[error("engine lookup of `{reference}` failed: {source}")]
    Engine {
        reference: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// Where a stage image was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In the engine's own image store.
    Local,
    /// In the registry only: pull it before use.
    Registry,
}

/// A stage image that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub reference: String,
    pub location: Location,
    /// The manifest digest (`sha256:...`) when known: always from the registry; locally only
    /// when the image was pushed or pulled by this reference's repository.
    pub digest: Option<String>,
}

/// A parsed `[HOST/]PATH[:TAG|@DIGEST]` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host with port (`docker.io` when the reference names none).
    pub host: String,
    /// Repository path inside the registry (`library/busybox`).
    pub path: String,
    /// A tag or a `sha256:...` digest.
    pub tag_or_digest: String,
}

impl Reference {
    pub fn parse(reference: &str) -> Result<Reference, CacheError> {
        let bad = || CacheError::BadReference(reference.to_string());
        let (name, tag_or_digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, digest.to_string()),
            None => match reference.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
                _ => (reference, "latest".to_string()),
            },
        };
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        if path.is_empty() || tag_or_digest.is_empty() || host.is_empty() {
            return Err(bad());
        }
        Ok(Reference {
            host,
            path,
            tag_or_digest,
        })
    }

    /// The repository as the engine names it: `HOST/PATH` (without tag).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.host, self.path)
    }
}

/// Whether the registry at `host` (with port) may be talked to over plain HTTP.
pub fn plain_http_allowed(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Looks `reference` up on the engine, then in the registry. `Ok(None)`: nowhere.
pub async fn lookup(docker: &Docker, reference: &str) -> Result<Option<Found>, CacheError> {
    let parsed = Reference::parse(reference)?;
    match docker.inspect_image(reference).await {
        Ok(image) => {
            let prefix = format!("{}@", parsed.repository());
            let digest = image
                .repo_digests
                .unwrap_or_default()
                .iter()
                .find_map(|d| d.strip_prefix(&prefix).map(str::to_string));
            return Ok(Some(Found {
                reference: reference.to_string(),
                location: Location::Local,
                digest,
            }));
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(source) => {
            return Err(CacheError::Engine {
                reference: reference.to_string(),
                source,
            })
        }
    }
    Ok(registry_digest(&parsed, reference)
        .await?
        .map(|digest| Found {
            reference: reference.to_string(),
            location: Location::Registry,
            digest: Some(digest),
        }))
}

/// `HEAD /v2/PATH/manifests/TAG`: the manifest digest if the registry holds the reference.
pub async fn registry_digest(
    parsed: &Reference,
    reference: &str,
) -> Result<Option<String>, CacheError> {
    if !plain_http_allowed(&parsed.host) {
        return Err(CacheError::UnsupportedRegistry(parsed.host.clone()));
    }
    let failed = |message: String| CacheError::Registry {
        reference: reference.to_string(),
        message,
    };
    let url = format!(
        "http://{}/v2/{}/manifests/{}",
        parsed.host, parsed.path, parsed.tag_or_digest
    );
    let request = hyper::Request::head(&url)
        .header(hyper::header::ACCEPT, MANIFEST_ACCEPT)
        .body(Empty::<Bytes>::new())
        .map_err(|e| failed(format!("bad request {url}: {e}")))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = tokio::time::timeout(REGISTRY_TIMEOUT, client.request(request))
        .await
        .map_err(|_| failed(format!("HEAD {url} timed out")))?
        .map_err(|e| failed(format!("HEAD {url}: {e}")))?;
    match response.status().as_u16() {
        200 => {
            let digest = response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.starts_with("sha256:"))
                .ok_or_else(|| failed(format!("HEAD {url}: no Docker-Content-Digest")))?;
            Ok(Some(digest.to_string()))
        }
        404 => Ok(None),
        status => Err(failed(format!("HEAD {url}: HTTP {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_host_path_and_tag() {
        let r = Reference::parse("localhost:5000/conveyor/app:abc123").unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str(), r.tag_or_digest.as_str()),
            ("localhost:5000", "conveyor/app", "abc123")
        );
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.repository(), "docker.io/library/busybox");
        assert_eq!(r.tag_or_digest, "latest");
        let r = Reference::parse("localhost:5000/x@sha256:00").unwrap();
        assert_eq!(
            (r.path.as_str(), r.tag_or_digest.as_str()),
            ("x", "sha256:00")
        );
        let r = Reference::parse("localhost:5000/x").unwrap();
        assert_eq!(
            (r.host.as_str(), r.tag_or_digest.as_str()),
            ("localhost:5000", "latest")
        );
        assert!(Reference::parse("localhost:5000/").is_err());
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "localhost:5000",
            "localhost",
            "127.0.0.1:5000",
            "[::1]:5000",
        ] {
            assert!(plain_http_allowed(ok), "{ok}");
        }
        for no in [
            "registry.example.com",
            "10.0.0.1:5000",
            "docker.io",
            "localhost.evil:1",
        ] {
            assert!(!plain_http_allowed(no), "{no}");
        }
    }
}
