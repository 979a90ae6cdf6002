//! Build containers: named `conveyor-<signature[:12]>-<random>`, labelled
//! `conveyor.signature=<signature>` and `conveyor.owner=<worker name>`, and always removed.
//!
//! A [`BuildContainer`] removes its container when [`BuildContainer::remove`] is awaited, and,
//! should the stage future be dropped first (a cancelled task), its `Drop` spawns a forced
//! removal (which also kills a running container) on the current Tokio runtime. Containers
//! left by a worker that died are found by name and labels by [`remove_stale_containers`] when
//! it starts again under the same name; other workers' containers on a shared engine are left
//! alone.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};

use bollard::container::{AttachContainerResults, LogOutput};
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use tokio_stream::StreamExt;

use super::{LogLine, StageError};

/// The label every build container carries.
pub const SIGNATURE_LABEL: &str = "conveyor.signature";

/// The label naming the worker that made a build container (see [`set_owner`]).
pub const OWNER_LABEL: &str = "conveyor.owner";

static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names the owner of this process's build containers: the worker's name, set once at start
/// (later calls are ignored). Unset, containers carry an empty owner.
pub fn set_owner(name: &str) {
    let _ = OWNER.set(name.to_string());
}

fn owner() -> &'static str {
    OWNER.get().map_or("", String::as_str)
}

/// How many of the last log lines a failed stage reports.
pub const LOG_TAIL: usize = 20;

/// The last lines of a container's output. stdout and stderr travel apart, so a burst of
/// stdout can arrive after the error message printed last: the last stderr lines (up to half
/// the tail) are kept even when later stdout lines would push them out.
#[derive(Default)]
struct Tail {
    seq: u64,
    all: VecDeque<(u64, String)>,
    stderr: VecDeque<(u64, String)>,
}

impl Tail {
    fn push(&mut self, line: &str, stderr: bool) {
        self.seq += 1;
        let keep = |q: &mut VecDeque<(u64, String)>, max: usize, seq: u64| {
            if q.len() == max {
                q.pop_front();
            }
            q.push_back((seq, line.to_string()));
        };
        keep(&mut self.all, LOG_TAIL, self.seq);
        if stderr {
            keep(&mut self.stderr, LOG_TAIL / 2, self.seq);
        }
    }

    fn lines(self) -> Vec<String> {
        let oldest = self.all.front().map_or(0, |(seq, _)| *seq);
        let pushed_out: Vec<_> = self
            .stderr
            .into_iter()
            .filter(|(seq, _)| *seq < oldest)
            .collect();
        // Make room for them by dropping as many of the oldest recent lines.
        let skip = pushed_out.len().min(self.all.len());
        let mut lines: Vec<_> = pushed_out
            .into_iter()
            .chain(self.all.into_iter().skip(skip))
            .collect();
        lines.sort_by_key(|(seq, _)| *seq);
        lines.into_iter().map(|(_, line)| line).collect()
    }
}

/// A container created for one stage; see the module docs for its removal.
pub struct BuildContainer {
    docker: Docker,
    name: String,
    removed: bool,
}

/// How to create a build container.
pub struct Spec<'a> {
    pub signature: &'a str,
    pub image: &'a str,
    /// Replaces the image's entrypoint (the cmd is left empty).
    pub entrypoint: Vec<String>,
    /// `Some("0:0")` to run as root when the image sets another user.
    pub user: Option<String>,
    /// Network mode; "" = the engine's default.
    pub network: &'a str,
}

impl BuildContainer {
    pub async fn create(docker: &Docker, spec: Spec<'_>) -> Result<BuildContainer, StageError> {
        let name = container_name(spec.signature);
        let body = ContainerCreateBody {
            image: Some(spec.image.to_string()),
            entrypoint: Some(spec.entrypoint),
            user: spec.user,
            labels: Some(HashMap::from([
                (SIGNATURE_LABEL.to_string(), spec.signature.to_string()),
                (OWNER_LABEL.to_string(), owner().to_string()),
            ])),
            host_config: Some(HostConfig {
                network_mode: (!spec.network.is_empty()).then(|| spec.network.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        docker
            .create_container(Some(opts), body)
            .await
            .map_err(|e| StageError::environment(format!("creating container {name}"), e))?;
        Ok(BuildContainer {
            docker: docker.clone(),
            name,
            removed: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts the container, streams its output line by line to `log` and waits for it.
    /// Returns the exit code and the last [`LOG_TAIL`] lines.
    pub async fn run(
        &self,
        log: &mut (dyn FnMut(LogLine) + Send),
    ) -> Result<(i64, Vec<String>), StageError> {
        let env = |what: &str, e| StageError::environment(format!("{what} {}", self.name), e);
        // Attached before the start, the output comes straight from the container's stdio
        // (following the log driver can miss the last lines of a container that just exited).
        let opts = AttachContainerOptionsBuilder::default()
            .stream(true)
            .stdout(true)
            .stderr(true)
            .build();
        let AttachContainerResults {
            output: mut logs, ..
        } = self
            .docker
            .attach_container(&self.name, Some(opts))
            .await
            .map_err(|e| env("attaching to", e))?;
        self.docker
            .start_container(&self.name, None)
            .await
            .map_err(|e| env("starting", e))?;
        let mut tail = Tail::default();
        let mut emit = |line: String, stderr: bool| {
            tail.push(&line, stderr);
            log(LogLine { line, stderr });
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = logs.next().await {
            let (buf, message, stderr) = match chunk.map_err(|e| env("reading the logs of", e))? {
                LogOutput::StdErr { message } => (&mut err, message, true),
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    (&mut out, message, false)
                }
                LogOutput::StdIn { .. } => continue,
            };
            buf.extend_from_slice(&message);
            while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line[..pos]);
                emit(text.trim_end_matches('\r').to_string(), stderr);
            }
        }
        for (rest, stderr) in [(out, false), (err, true)] {
            if !rest.is_empty() {
                emit(String::from_utf8_lossy(&rest).into_owned(), stderr);
            }
        }
        let mut wait = self.docker.wait_container(&self.name, None);
        let mut code = 0;
        while let Some(status) = wait.next().await {
            match status {
                Ok(s) => code = s.status_code,
                // bollard reports a non-zero exit as an error carrying the code.
                Err(DockerError::DockerContainerWaitError { code: c, .. }) => code = c,
                Err(e) => return Err(env("waiting for", e)),
            }
        }
        Ok((code, tail.lines()))
    }

    /// Removes the container (forcibly: it may still run). Should this future be dropped
    /// half-way, `Drop` tries again in the background.
    pub async fn remove(mut self) -> Result<(), StageError> {
        let result = force_remove(&self.docker, &self.name).await;
        self.removed = true;
        result.map_err(|e| StageError::environment(format!("removing container {}", self.name), e))
    }
}

impl Drop for BuildContainer {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let (docker, name) = (self.docker.clone(), self.name.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = force_remove(&docker, &name).await {
                        tracing::warn!(container = %name, "removing a cancelled stage's container: {e}");
                    }
                });
            }
            Err(_) => tracing::warn!(container = %name, "left behind: no runtime to remove it"),
        }
    }
}

async fn force_remove(docker: &Docker, name: &str) -> Result<(), DockerError> {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(name, Some(opts)).await {
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

/// `conveyor-<signature[:12]>-<random hex>`.
pub fn container_name(signature: &str) -> String {
    let short: String = signature
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("conveyor-{short}-{random:016x}")
}

/// Whether `name` (as the engine lists it, maybe with a leading `/`) is a build container of
/// the stage `signature`.
fn is_build_container(name: &str, signature: &str) -> bool {
    let name = name.trim_start_matches('/');
    let short: String = signature
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    name.strip_prefix(&format!("conveyor-{short}-"))
        .is_some_and(|rest| rest.len() == 16 && rest.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Removes the build containers a previous run of this worker (the same owner, see
/// [`set_owner`]) left on this engine; call it at start-up, before taking tasks (it would also
/// remove a running stage's container). Other owners' containers are left alone.
/// Containers merely run from stage images (which carry the label too) are left alone: only
/// those named like build containers are removed. Returns how many were removed.
pub async fn remove_stale_containers(docker: &Docker) -> Result<usize, StageError> {
    let mine = format!("{OWNER_LABEL}={}", owner());
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([(
            "label",
            vec![SIGNATURE_LABEL, mine.as_str()],
        )]))
        .build();
    let containers = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| StageError::environment("listing containers".into(), e))?;
    let mut removed = 0;
    for c in containers {
        let signature = c
            .labels
            .as_ref()
            .and_then(|l| l.get(SIGNATURE_LABEL))
            .cloned()
            .unwrap_or_default();
        let Some(name) = c
            .names
            .unwrap_or_default()
            .into_iter()
            .find(|n| is_build_container(n, &signature))
        else {
            continue;
        };
        let name = name.trim_start_matches('/').to_string();
        force_remove(docker, &name)
            .await
            .map_err(|e| StageError::environment(format!("removing stale container {name}"), e))?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_stderr_lines() {
        let mut tail = Tail::default();
        tail.push("error: boom", true);
        for i in 0..30 {
            tail.push(&format!("out {i}"), false);
        }
        let lines = tail.lines();
        assert_eq!(lines.len(), LOG_TAIL);
        assert_eq!(lines[0], "error: boom");
        assert_eq!(lines[1], "out 11");
        assert_eq!(lines[LOG_TAIL - 1], "out 29");

        let mut tail = Tail::default();
        for i in 0..5 {
            tail.push(&format!("out {i}"), i == 3);
        }
        assert_eq!(tail.lines(), ["out 0", "out 1", "out 2", "out 3", "out 4"]);
    }

    #[test]
    fn names_carry_the_signature_and_differ() {
        let a = container_name("0123456789abcdef0123");
        let b = container_name("0123456789abcdef0123");
        assert!(a.starts_with("conveyor-0123456789ab-"), "{a}");
        assert_ne!(a, b);
        assert!(is_build_container(&format!("/{a}"), "0123456789abcdef0123"));
        assert!(!is_build_container(&a, "fedcba9876543210"));
        assert!(!is_build_container(
            "/conveyor-test-123-456",
            "0123456789abcdef"
        ));
    }
}
