//! Image transfers with the registry: making an image present (pull when absent) and pushing
//! a stage, each retried with backoff; failures after the retries are environment errors.
//! The engine gets the registry's credentials, if any, with each pull and push; a registry
//! refusing access is not retried.

use bollard::errors::Error as DockerError;
use bollard::models::ImageInspect;
use bollard::query_parameters::{CreateImageOptionsBuilder, PushImageOptionsBuilder};
use bollard::Docker;
use tokio_stream::StreamExt;

use super::StageError;
use crate::cache::Reference;
use crate::credentials::Credentials;
use crate::retry::{with_backoff, Backoff};

/// Inspects `reference`; `Ok(None)` when the engine does not hold it.
pub async fn inspect(docker: &Docker, reference: &str) -> Result<Option<ImageInspect>, StageError> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(Some(image)),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(StageError::environment(
            format!("inspecting image {reference}"),
            e,
        )),
    }
}

/// Makes `reference` present on the engine (pulling it if absent) and returns its inspection.
pub async fn ensure(
    docker: &Docker,
    credentials: &Credentials,
    reference: &str,
    backoff: Backoff,
) -> Result<ImageInspect, StageError> {
    if let Some(image) = inspect(docker, reference).await? {
        return Ok(image);
    }
    if crate::cache::is_local_only(reference) {
        return Err(StageError::Environment(format!(
            "stage image `{reference}` is not on this engine (local-only stages live in one \
             engine; share them between workers with a registry `--repo`)"
        )));
    }
    let parsed = Reference::parse(reference).map_err(|e| StageError::Internal(e.to_string()))?;
    let (from_image, tag) = if parsed.tag_or_digest.starts_with("sha256:") {
        (reference.to_string(), String::new())
    } else {
        (parsed.repository(), parsed.tag_or_digest.clone())
    };
    let auth = credentials.get(&parsed.host);
    tracing::debug!(%reference, authenticated = auth.is_some(), "pulling");
    with_backoff(backoff, is_permanent, || async {
        let mut opts = CreateImageOptionsBuilder::default().from_image(&from_image);
        if !tag.is_empty() {
            opts = opts.tag(&tag);
        }
        let mut progress = docker.create_image(
            Some(opts.build()),
            None,
            auth.map(|a| a.docker(&parsed.host)),
        );
        while let Some(step) = progress.next().await {
            step?;
        }
        Ok(())
    })
    .await
    .map_err(|(e, attempts)| {
        let hint = auth_hint(&e, &parsed.host, auth.is_some());
        StageError::environment(
            format!("pulling {reference} ({attempts} attempts){hint}"),
            e,
        )
    })?;
    inspect(docker, reference).await?.ok_or_else(|| {
        StageError::Environment(format!("{reference} is still missing after pulling it"))
    })
}

/// Pushes `reference` (`REPO:TAG`) and returns the manifest digest the registry gave it.
pub async fn push(
    docker: &Docker,
    credentials: &Credentials,
    reference: &str,
    backoff: Backoff,
) -> Result<String, StageError> {
    let parsed = Reference::parse(reference).map_err(|e| StageError::Internal(e.to_string()))?;
    let repository = parsed.repository();
    let tag = parsed.tag_or_digest.clone();
    let auth = credentials.get(&parsed.host);
    let digest = with_backoff(backoff, is_permanent, || async {
        let opts = PushImageOptionsBuilder::default().tag(&tag).build();
        let mut progress = docker.push_image(
            &repository,
            Some(opts),
            auth.map(|a| a.docker(&parsed.host)),
        );
        let mut digest = None;
        while let Some(step) = progress.next().await {
            // The last status reads `TAG: digest: sha256:... size: N`.
            if let Some(status) = step?.status {
                if let Some(rest) = status.split("digest: ").nth(1) {
                    digest = rest.split_whitespace().next().map(str::to_string);
                }
            }
        }
        Ok(digest)
    })
    .await
    .map_err(|(e, attempts)| {
        let hint = auth_hint(&e, &parsed.host, auth.is_some());
        StageError::environment(
            format!("pushing {reference} ({attempts} attempts){hint}"),
            e,
        )
    })?;
    if let Some(digest) = digest.filter(|d| d.starts_with("sha256:")) {
        return Ok(digest);
    }
    // Older engines: the digest is in the image's RepoDigests once pushed.
    let prefix = format!("{repository}@");
    inspect(docker, reference)
        .await?
        .and_then(|image| image.repo_digests)
        .unwrap_or_default()
        .iter()
        .find_map(|d| d.strip_prefix(&prefix).map(str::to_string))
        .ok_or_else(|| StageError::Environment(format!("pushed {reference} but got no digest")))
}

/// Errors that asking again will not fix: the reference does not exist or is malformed, or
/// the registry refuses access.
fn is_permanent(e: &DockerError) -> bool {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => {
            matches!(status_code, 400 | 401 | 403 | 404)
        }
        DockerError::DockerStreamError { error } => {
            error.contains("not found") || error.contains("manifest unknown") || is_denied(error)
        }
        _ => false,
    }
}

/// Whether an engine's message says the registry refused access.
fn is_denied(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// A note for an error that looks like refused access: whether credentials were sent.
fn auth_hint(e: &DockerError, host: &str, authenticated: bool) -> String {
    let denied = match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => matches!(status_code, 401 | 403) || is_denied(message),
        DockerError::DockerStreamError { error } => is_denied(error),
        _ => false,
    };
    match (denied, authenticated) {
        (false, _) => String::new(),
        (true, false) => format!("; no credentials are configured for registry `{host}`"),
        (true, true) => format!("; registry `{host}` refused the configured credentials"),
    }
}
