//! The stage executor: turns one [`StageTask`] into an image on the worker's Docker engine and
//! pushes it to the registry.
//!
//! - `TASK_KIND_FROM`: the external base is made present (pulled with retries), a container of
//!   it is created (never started) and committed with the conveyor labels as `task.target`.
//! - `TASK_KIND_BUILD`: a build container of `task.base` (local, else pulled) receives the
//!   imports, runs the commands joined into one `/bin/sh -ec` script (output streamed line by
//!   line), and is committed with the docker instructions and the conveyor labels as
//!   `task.target`. The container is always removed, also when the stage future is dropped.
//!
//! Either way `task.target` is then pushed and the registry's manifest digest reported.
//! Commands run as root (`0:0` when the base image names another user), like werf's.
//! Pulls and pushes carry the registry's [`Credentials`] (see `credentials`): the command
//! line's stage-registry credentials apply to the host of `task.target`.

mod config;
mod container;
mod images;
mod imports;

use std::time::Instant;

use bollard::query_parameters::CommitContainerOptionsBuilder;
use bollard::Docker;
use conveyor_proto::v1::{FailureClass, StageTask, TaskKind};

pub use config::ConfigError;
pub use container::{remove_stale_containers, set_owner, LOG_TAIL, OWNER_LABEL, SIGNATURE_LABEL};
pub use imports::ImportError;

use crate::cache::Reference;
use crate::credentials::Credentials;
use crate::retry::{with_backoff, Backoff};
use container::{BuildContainer, Spec};

/// One line of a stage's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub line: String,
    pub stderr: bool,
}

/// A built and pushed stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageOutput {
    /// `task.target` (REPO:SIGNATURE).
    pub reference: String,
    /// The manifest digest in the registry, `sha256:...`.
    pub digest: String,
    /// The image size on the engine, in bytes.
    pub size: u64,
    pub duration_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The stage's own commands or definition failed: retrying elsewhere will not help.
    #[error("{}", stage_message(.message, *.exit_code, .log_tail))]
    Stage {
        message: String,
        exit_code: Option<i64>,
        log_tail: Vec<String>,
    },
    /// Docker engine or registry trouble (after retries).
    #[error("{0}")]
    Environment(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn stage_message(message: &str, exit_code: Option<i64>, tail: &[String]) -> String {
    let mut out = message.to_string();
    if let Some(code) = exit_code {
        out.push_str(&format!(" (exit code {code})"));
    }
    if !tail.is_empty() {
        out.push_str("; last lines:\n");
        out.push_str(&tail.join("\n"));
    }
    out
}

impl StageError {
    /// The class reported to the coordinator.
    pub fn class(&self) -> FailureClass {
        match self {
            StageError::Stage { .. } => FailureClass::Stage,
            StageError::Environment(_) => FailureClass::Environment,
            StageError::Internal(_) => FailureClass::Internal,
        }
    }

    pub(crate) fn stage(message: String) -> StageError {
        StageError::Stage {
            message,
            exit_code: None,
            log_tail: Vec::new(),
        }
    }

    pub(crate) fn environment(what: String, e: bollard::errors::Error) -> StageError {
        StageError::Environment(format!("{what}: {e}"))
    }
}

/// Makes a stage image that exists on this engine (built before a crash, say) available as
/// a finished stage without running anything: local-only stages report their image id,
/// others are pushed (cheap when the registry already has the layers) and report the digest.
pub async fn publish_existing(
    docker: &Docker,
    credentials: &Credentials,
    target: &str,
) -> Result<String, StageError> {
    if crate::cache::is_local_only(target) {
        return Ok(images::inspect(docker, target)
            .await?
            .and_then(|i| i.id)
            .unwrap_or_default());
    }
    let host = crate::cache::Reference::parse(target)
        .map(|r| r.host)
        .map_err(|e| StageError::Internal(e.to_string()))?;
    let credentials = credentials.for_stage_registry(&host);
    images::push(docker, &credentials, target, Backoff::default()).await
}

/// Makes the stage image `reference` present on this engine, pulling it from its registry
/// when absent (with retries; the stage registry's credentials apply). For a stage found in
/// the registry and needed here as an image, such as a final image to tag.
pub async fn pull_stage(
    docker: &Docker,
    credentials: &Credentials,
    reference: &str,
) -> Result<(), StageError> {
    let host = crate::cache::Reference::parse(reference)
        .map(|r| r.host)
        .map_err(|e| StageError::Internal(e.to_string()))?;
    let credentials = credentials.for_stage_registry(&host);
    images::ensure(docker, &credentials, reference, Backoff::default())
        .await
        .map(|_| ())
}

/// Runs `task` on `docker`, streaming the commands' output to `log`, and pushes the result,
/// using `credentials` for the registries (anonymous where they have none).
///
/// Cancel-safe: dropping the future removes (killing if needed) the build container in the
/// background; an image half-way through a pull or push is left to the engine.
pub async fn run_stage(
    docker: &Docker,
    credentials: &Credentials,
    task: &StageTask,
    log: &mut (dyn FnMut(LogLine) + Send),
) -> Result<StageOutput, StageError> {
    let started = Instant::now();
    let backoff = Backoff::default();
    let target = Reference::parse(&task.target)
        .map_err(|e| StageError::Internal(format!("task target: {e}")))?;
    if target.tag_or_digest.starts_with("sha256:") {
        return Err(StageError::Internal(format!(
            "task target `{}` must be REPO:TAG",
            task.target
        )));
    }
    let credentials = &credentials.for_stage_registry(&target.host);
    match TaskKind::try_from(task.kind) {
        Ok(TaskKind::From) => build(docker, credentials, task, &target, backoff, None).await?,
        Ok(TaskKind::Build) => {
            build(docker, credentials, task, &target, backoff, Some(log)).await?
        }
        _ => {
            return Err(StageError::Internal(format!(
                "stage {}: unknown task kind {}",
                task.signature, task.kind
            )))
        }
    }
    let local = images::inspect(docker, &task.target).await?;
    let digest = if crate::cache::is_local_only(&task.target) {
        // Kept in this engine only: the image id stands for the registry digest.
        local
            .as_ref()
            .and_then(|i| i.id.clone())
            .unwrap_or_default()
    } else {
        images::push(docker, credentials, &task.target, backoff).await?
    };
    let size = local.and_then(|i| i.size).unwrap_or(0);
    Ok(StageOutput {
        reference: task.target.clone(),
        digest,
        size: u64::try_from(size).unwrap_or(0),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Creates the stage image `task.target` on the engine. `log` is None for a from stage (no
/// commands, imports or instructions are applied then).
async fn build(
    docker: &Docker,
    credentials: &Credentials,
    task: &StageTask,
    target: &Reference,
    backoff: Backoff,
    log: Option<&mut (dyn FnMut(LogLine) + Send)>,
) -> Result<(), StageError> {
    let base = images::ensure(docker, credentials, &task.base, backoff).await?;
    let base_config = base.config.unwrap_or_default();
    let labels = config::conveyor_labels(task);
    let instructions = if log.is_some() {
        task.docker.as_ref()
    } else {
        None
    };
    let changes = config::changes(instructions, &labels)
        .map_err(|e| StageError::stage(format!("stage {}: {e}", task.stage)))?;
    let commands = if log.is_some() {
        &task.commands[..]
    } else {
        &[]
    };
    let script = commands.join("\n");
    let runs_as_other = base_config
        .user
        .as_deref()
        .is_some_and(|u| !u.is_empty() && u != "0" && u != "root" && u != "0:0");
    let container = BuildContainer::create(
        docker,
        Spec {
            signature: &task.signature,
            image: &task.base,
            entrypoint: vec!["/bin/sh".into(), "-ec".into(), script],
            user: runs_as_other.then(|| "0:0".to_string()),
            network: &task.network,
        },
    )
    .await?;
    let result = async {
        if let Some(log) = log {
            for spec in &task.imports {
                imports::import(
                    docker,
                    &task.signature,
                    spec,
                    &container,
                    credentials,
                    backoff,
                )
                .await?;
            }
            if !commands.is_empty() {
                let (code, log_tail) = container.run(log).await?;
                if code != 0 {
                    return Err(StageError::Stage {
                        message: format!(
                            "stage {} of image {} ({}): the commands failed",
                            task.stage, task.image, task.signature
                        ),
                        exit_code: Some(code),
                        log_tail,
                    });
                }
            }
        }
        let opts = CommitContainerOptionsBuilder::default()
            .container(container.name())
            .repo(&target.repository())
            .tag(&target.tag_or_digest)
            .pause(false)
            .changes(&changes.join("\n"))
            .build();
        let body = config::commit_body(&base_config, &labels);
        let bad_request = |e: &bollard::errors::Error| {
            matches!(
                e,
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 400,
                    ..
                }
            )
        };
        // Committing again after a lost answer only re-tags a twin image: safe to retry.
        with_backoff(backoff, bad_request, || {
            docker.commit_container(opts.clone(), body.clone())
        })
        .await
        .map_err(|(e, attempts)| {
            if bad_request(&e) {
                StageError::stage(format!(
                    "stage {}: the engine refused the docker instructions: {e}",
                    task.stage
                ))
            } else {
                StageError::environment(
                    format!("committing {} ({attempts} attempts)", task.target),
                    e,
                )
            }
        })?;
        Ok(())
    }
    .await;
    let removed = container.remove().await;
    result?;
    removed
}
