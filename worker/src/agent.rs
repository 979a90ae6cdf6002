//! The worker's side of `conveyor.v1.Workers/Attach`: it says hello (name, slots, engine,
//! the stage images it holds), runs the stages it is assigned, streams their logs, heartbeats
//! their leases, and reports results or failures. It reconnects when the stream ends (a
//! restarted coordinator), and keeps running its tasks meanwhile: results wait in an outbox
//! and go out on the next stream, where the coordinator accepts them by signature.
//!
//! Only a refusal ends it: a coordinator that answers `Unauthenticated` (no token, or the
//! wrong one) will not change its mind, so the agent stops with [`AgentError::Refused`]
//! instead of retrying forever.
//!
//! A cancel from the coordinator drops the stage's future, which removes its container.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::query_parameters::ListImagesOptionsBuilder;
use bollard::Docker;
use conveyor_proto::v1::{
    coordinator_message, worker_message, Assign, Heartbeat, Hello, RunningTask, TaskFailure,
    TaskLog, TaskResult, WorkerMessage,
};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use crate::cache::{self, Location};
use crate::credentials::Credentials;
use crate::executor::{self, SIGNATURE_LABEL};
use crate::remote::{Remote, RemoteError};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The coordinator (URL, token, TLS CA).
    pub coordinator: Remote,
    /// Unique per worker; a reconnecting worker keeps it.
    pub name: String,
    /// Stages run at once.
    pub slots: u32,
    /// How often running leases are heartbeaten.
    pub heartbeat: Duration,
    /// Shown to the coordinator (`docker version`).
    pub engine_version: String,
    pub platform: String,
    /// Registry credentials for pulls, pushes and cache lookups. They stay on this worker:
    /// nothing of them goes to the coordinator (its `Debug` redacts the passwords).
    pub credentials: Arc<Credentials>,
}

/// Running tasks by lease: their signature and a handle to stop them.
type Running = Arc<Mutex<HashMap<u64, (String, tokio::task::AbortHandle)>>>;

/// Why the agent stopped before its shutdown: never for a reason another try could fix.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The coordinator refused this worker (`Unauthenticated`: no token or the wrong one);
    /// its message, which never holds the token.
    #[error("{0}")]
    Refused(String),
    /// The coordinator's address or TLS settings cannot be used.
    #[error(transparent)]
    Remote(RemoteError),
}

/// How a session ended badly: worth another try, or not.
enum SessionError {
    Retry(String),
    Stop(AgentError),
}

/// Serves the coordinator until `shutdown` resolves. Connection failures are retried forever
/// (with a growing pause, at most 5 s), so a worker outlives coordinator restarts; a refusal
/// ends it with an error.
pub async fn run(
    docker: Docker,
    config: AgentConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    let running: Running = Arc::default();
    // Messages that must reach the coordinator even across reconnects (results, failures).
    let (outbox_tx, outbox_rx) = mpsc::unbounded_channel::<WorkerMessage>();
    let outbox_rx = Arc::new(tokio::sync::Mutex::new(outbox_rx));
    let agent = async {
        let mut pause = Duration::from_millis(200);
        loop {
            match session(&docker, &config, &running, &outbox_tx, &outbox_rx).await {
                Ok(()) => tracing::info!("coordinator stream ended; reconnecting"),
                Err(SessionError::Retry(e)) => {
                    tracing::warn!("coordinator session: {e}; retrying in {pause:?}")
                }
                Err(SessionError::Stop(e)) => return Err(e),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    };
    let outcome = tokio::select! {
        refused = agent => refused,
        () = shutdown => Ok(()),
    };
    // Drain: stop what runs (its containers are removed) so nothing is left behind.
    let tasks: Vec<tokio::task::AbortHandle> = match running.lock() {
        Ok(mut r) => r.drain().map(|(_, (_, task))| task).collect(),
        Err(_) => vec![],
    };
    for task in tasks {
        task.abort();
    }
    outcome
}

/// Signatures of the stage images this engine holds (images labelled with a signature).
async fn holds(docker: &Docker) -> Vec<String> {
    let opts = ListImagesOptionsBuilder::default()
        .filters(&HashMap::from([("label", vec![SIGNATURE_LABEL])]))
        .build();
    match docker.list_images(Some(opts)).await {
        Ok(images) => images
            .into_iter()
            .filter_map(|i| i.labels.get(SIGNATURE_LABEL).cloned())
            .collect(),
        Err(e) => {
            tracing::warn!("listing local stage images: {e}");
            vec![]
        }
    }
}

/// One stream to the coordinator, until it ends.
async fn session(
    docker: &Docker,
    config: &AgentConfig,
    running: &Running,
    outbox: &mpsc::UnboundedSender<WorkerMessage>,
    pending: &Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<WorkerMessage>>>,
) -> Result<(), SessionError> {
    // An unreachable coordinator may come back; a bad URL or CA never gets better.
    let mut client = config.coordinator.workers().await.map_err(|e| match e {
        RemoteError::Connect { .. } => SessionError::Retry(e.to_string()),
        _ => SessionError::Stop(AgentError::Remote(e)),
    })?;
    let (tx, rx) = mpsc::channel::<WorkerMessage>(1024);
    let running_now: Vec<RunningTask> = running
        .lock()
        .map(|r| {
            r.iter()
                .map(|(lease, (signature, _))| RunningTask {
                    lease: *lease,
                    signature: signature.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let hello = Hello {
        name: config.name.clone(),
        slots: config.slots,
        engine_version: config.engine_version.clone(),
        platform: config.platform.clone(),
        holds: holds(docker).await,
        running: running_now,
    };
    tx.send(WorkerMessage {
        msg: Some(worker_message::Msg::Hello(hello)),
    })
    .await
    .map_err(|_| SessionError::Retry("stream closed".to_string()))?;
    let mut inbound = client
        .attach(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(|e| match e.code() {
            tonic::Code::Unauthenticated => {
                SessionError::Stop(AgentError::Refused(e.message().to_string()))
            }
            _ => SessionError::Retry(format!("attach refused: {}", e.message())),
        })?
        .into_inner();

    // Forward the outbox (results, failures) and heartbeats onto this stream.
    let forward = {
        let tx = tx.clone();
        let pending = pending.clone();
        let running = running.clone();
        let every = config.heartbeat;
        tokio::spawn(async move {
            let mut pending = pending.lock().await;
            let mut beat = tokio::time::interval(every);
            loop {
                tokio::select! {
                    msg = pending.recv() => {
                        let Some(msg) = msg else { break };
                        if tx.send(msg).await.is_err() { break }
                    }
                    _ = beat.tick() => {
                        let leases = running.lock().map(|r| r.keys().copied().collect()).unwrap_or_default();
                        let msg = WorkerMessage { msg: Some(worker_message::Msg::Heartbeat(Heartbeat { leases })) };
                        if tx.send(msg).await.is_err() { break }
                    }
                }
            }
        })
    };

    while let Some(msg) = inbound.next().await {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                forward.abort();
                return Err(SessionError::Retry(e.message().to_string()));
            }
        };
        match msg.msg {
            Some(coordinator_message::Msg::Assign(assign)) => {
                start(docker, &config.credentials, assign, running, outbox, &tx);
            }
            Some(coordinator_message::Msg::Cancel(cancel)) => {
                if let Ok(mut r) = running.lock() {
                    if let Some((sig, task)) = r.remove(&cancel.lease) {
                        tracing::info!("cancelling {sig}: {}", cancel.reason);
                        task.abort();
                    }
                }
            }
            None => {}
        }
    }
    forward.abort();
    Ok(())
}

/// Runs one assigned stage in its own task.
fn start(
    docker: &Docker,
    credentials: &Arc<Credentials>,
    assign: Assign,
    running: &Running,
    outbox: &mpsc::UnboundedSender<WorkerMessage>,
    logs: &mpsc::Sender<WorkerMessage>,
) {
    let Some(task) = assign.task else { return };
    let lease = assign.lease;
    let signature = task.signature.clone();
    let docker = docker.clone();
    let credentials = credentials.clone();
    let outbox = outbox.clone();
    let logs = logs.clone();
    let done = running.clone();
    let handle = tokio::spawn(async move {
        let found = cached(&docker, &credentials, &task.target).await;
        let reused = found.is_some();
        let msg = match found {
            Some(digest) => Ok(executor::StageOutput {
                reference: task.target.clone(),
                digest,
                size: 0,
                duration_ms: 0,
            }),
            None => {
                let sig = task.signature.clone();
                let mut log = |line: executor::LogLine| {
                    // Logs are best effort: dropped when the stream is slow or gone.
                    let _ = logs.try_send(WorkerMessage {
                        msg: Some(worker_message::Msg::Log(TaskLog {
                            lease,
                            signature: sig.clone(),
                            line: line.line,
                            stderr: line.stderr,
                        })),
                    });
                };
                executor::run_stage(&docker, &credentials, &task, &mut log).await
            }
        };
        let report = match msg {
            Ok(out) => worker_message::Msg::Result(TaskResult {
                lease,
                signature: task.signature.clone(),
                reference: out.reference,
                digest: out.digest,
                size: out.size,
                duration_ms: out.duration_ms,
                reused,
            }),
            Err(e) => worker_message::Msg::Failure(TaskFailure {
                lease,
                signature: task.signature.clone(),
                class: e.class() as i32,
                message: e.to_string(),
            }),
        };
        if let Ok(mut r) = done.lock() {
            r.remove(&lease);
        }
        let _ = outbox.send(WorkerMessage { msg: Some(report) });
    });
    if let Ok(mut r) = running.lock() {
        r.insert(lease, (signature, handle.abort_handle()));
    }
}

/// The digest of the stage image when it already exists (built by another worker, or by
/// this one before a crash or a coordinator restart): nothing to build. An image only on
/// this engine is pushed first, so a reported stage is always in the registry.
async fn cached(docker: &Docker, credentials: &Credentials, target: &str) -> Option<String> {
    match cache::lookup(docker, credentials, target).await {
        Ok(Some(found)) if found.location == Location::Registry => found.digest,
        Ok(Some(_)) => executor::publish_existing(docker, credentials, target)
            .await
            .ok()
            .filter(|d| !d.is_empty()),
        _ => None,
    }
}
