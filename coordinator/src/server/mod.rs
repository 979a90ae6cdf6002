//! The coordinator server: one task owns all state (the scheduler, active builds, connected
//! workers); gRPC handlers and worker streams talk to it through [`Handle`] over a channel.
//! The state task never blocks on disk or network.
//!
//! Planning (render, load, plan, `fromLatest` lookups) and preparing a build (store lookups,
//! writing its record, checking in the registry the recorded stages it needs: `verify`)
//! happen in the caller's task before a submission reaches the state task, so the state task
//! never waits on templates, the network or an fsync. Watchers get shared (`Arc`) events,
//! copied into messages by their gRPC streams. Time is the
//! wall clock in milliseconds, read by the state task only.
//!
//! On start, builds the store says were running are planned again from their stored
//! submission and go on: stages recorded in the store (and, where needed, still in the
//! registry) are cache hits, the rest are queued.
//! Workers reconnect by name; a result for a lease from before the restart is accepted by
//! signature (stages are content-addressed).
//!
//! Stage records and ended builds are written in batches (group commit, one fsync per batch,
//! off the state task, in steps that leave the cores to dispatch); a build's watchers hear of
//! its end once it is written. A result releases its dependents at once: the image is already in the registry, so
//! losing an unwritten record in a crash costs a rebuild, never a wrong cache hit.

mod events;
mod priority;
mod state;
mod tasks;
mod verify;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use conveyor_proto::v1::{
    coordinator_message, Assign, BuildInfo, CoordinatorMessage, Hello, SubmitRequest, WorkerMessage,
};
use prost::Message as _;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::front;
use crate::registry::{RegistryImages, StageImages};
use crate::sched;
use crate::store::{BuildStatus, Store};

pub use events::{Batches, EventReceiver, Logged};
pub use tasks::{stage_reference, stage_repo};

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub sched: sched::Config,
    /// Network for build containers ("" = the engine's default).
    pub network: String,
    /// How often leases are checked for expiry.
    pub tick: Duration,
    /// Where recorded stages a build needs are checked before they are trusted.
    pub images: Arc<dyn StageImages>,
    /// Finished builds kept in memory with their events (for watchers that come late and
    /// `Get` with stage details); older ones are dropped with what only they used, and
    /// answer `Get` from the store.
    pub keep_finished: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            sched: sched::Config {
                lease_ttl_ms: 10_000,
                ..sched::Config::default()
            },
            network: String::new(),
            tick: Duration::from_millis(200),
            images: Arc::new(RegistryImages),
            keep_finished: 32,
        }
    }
}

/// A stream of messages to one worker.
pub type WorkerSender = mpsc::Sender<ToWorker>;

/// A message on its way to a worker. An assignment travels as the stage's shared info and is
/// made into its protobuf message (a copy of the whole task) by the worker's stream, on its
/// own task: the state task, which every result and dispatch goes through, only decides.
#[derive(Debug)]
pub struct ToWorker(Outgoing);

#[derive(Debug)]
enum Outgoing {
    Assign {
        lease: u64,
        deadline_ms: u64,
        info: Arc<tasks::StageInfo>,
    },
    /// Boxed: rare (cancels), and an assignment stays small.
    Message(Box<CoordinatorMessage>),
}

impl ToWorker {
    fn assign(lease: u64, deadline_ms: u64, info: Arc<tasks::StageInfo>) -> ToWorker {
        ToWorker(Outgoing::Assign {
            lease,
            deadline_ms,
            info,
        })
    }

    fn message(msg: CoordinatorMessage) -> ToWorker {
        ToWorker(Outgoing::Message(Box::new(msg)))
    }

    /// The message to send.
    pub fn into_message(self) -> CoordinatorMessage {
        match self.0 {
            Outgoing::Assign {
                lease,
                deadline_ms,
                info,
            } => CoordinatorMessage {
                msg: Some(coordinator_message::Msg::Assign(Assign {
                    lease,
                    deadline_ms,
                    task: Some(info.task.clone()),
                })),
            },
            Outgoing::Message(msg) => *msg,
        }
    }
}

/// What handlers ask of the state task.
enum Msg {
    Submit {
        prepared: Box<state::Prepared>,
        reply: oneshot::Sender<Result<String, Status>>,
    },
    Watch {
        build: String,
        after: u64,
        reply: oneshot::Sender<Result<EventReceiver, Status>>,
    },
    Get {
        build: String,
        reply: oneshot::Sender<Result<BuildInfo, Status>>,
    },
    Cancel {
        build: String,
        reply: oneshot::Sender<Result<(), Status>>,
    },
    Hello {
        hello: Hello,
        out: WorkerSender,
        reply: oneshot::Sender<u64>,
    },
    FromWorker {
        conn: u64,
        msg: WorkerMessage,
    },
    Gone {
        conn: u64,
    },
    /// Answer once every result and ended build received so far is written.
    Drain {
        reply: oneshot::Sender<Result<(), Status>>,
    },
    /// A group commit ended; `builds` are the finished builds it recorded.
    Recorded {
        result: Result<(), String>,
        builds: Vec<String>,
    },
    Tick,
}

/// The way into the state task. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Msg>,
    store: Arc<dyn Store>,
    /// Network for build containers, put into each stage task.
    network: String,
    images: Arc<dyn StageImages>,
}

fn stopped() -> Status {
    Status::unavailable("The coordinator is shutting down")
}

impl Handle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Status>>) -> Msg,
    ) -> Result<T, Status> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// The store the server records into.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Plans a submission and starts its build; returns the build id.
    pub async fn submit(&self, request: SubmitRequest) -> Result<String, Status> {
        let project = request
            .project
            .clone()
            .ok_or_else(|| Status::invalid_argument("The submission has no project"))?;
        let (_, plan) = front::plan_project(project).await.map_err(|e| e.status())?;
        let store = self.store.clone();
        let network = self.network.clone();
        let mut prepared = tokio::task::spawn_blocking(move || {
            state::prepare(store.as_ref(), &network, None, &plan, request)
        })
        .await
        .map_err(|e| Status::internal(format!("Preparing the build stopped: {e}")))??;
        verify::check(&mut prepared, &self.store, &self.images).await;
        self.ask(|reply| Msg::Submit {
            prepared: Box::new(prepared),
            reply,
        })
        .await
    }

    /// A stream of a build's events after sequence number `after` (see
    /// [`Logged::to_message`]).
    pub async fn watch(&self, build: String, after: u64) -> Result<EventReceiver, Status> {
        self.ask(|reply| Msg::Watch {
            build,
            after,
            reply,
        })
        .await
    }

    pub async fn get(&self, build: String) -> Result<BuildInfo, Status> {
        self.ask(|reply| Msg::Get { build, reply }).await
    }

    pub async fn cancel(&self, build: String) -> Result<(), Status> {
        self.ask(|reply| Msg::Cancel { build, reply }).await
    }

    /// Registers a worker stream; returns its connection id.
    pub async fn worker_hello(&self, hello: Hello, out: WorkerSender) -> Result<u64, Status> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Hello { hello, out, reply })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    pub async fn worker_message(&self, conn: u64, msg: WorkerMessage) {
        let _ = self.tx.send(Msg::FromWorker { conn, msg }).await;
    }

    /// Waits until every stage result and ended build the server has received is written to
    /// the store (a stopping coordinator calls it, so that what workers reported is kept).
    /// An error when a write failed meanwhile.
    pub async fn drain(&self) -> Result<(), Status> {
        self.ask(|reply| Msg::Drain { reply }).await
    }

    pub async fn worker_gone(&self, conn: u64) {
        let _ = self.tx.send(Msg::Gone { conn }).await;
    }
}

/// Starts the server over `store`: reloads unfinished builds, then serves until every
/// [`Handle`] is dropped.
pub async fn start(store: Arc<dyn Store>, config: ServerConfig) -> Result<Handle, Status> {
    let (tx, rx) = mpsc::channel(1024);
    let handle = Handle {
        tx: tx.clone(),
        store: store.clone(),
        network: config.network.clone(),
        images: config.images.clone(),
    };
    let tick = config.tick;
    let network = config.network.clone();
    let mut state = state::State::new(store.clone(), config, tx.downgrade());
    // Builds that were running when the coordinator stopped: plan them again.
    let records = store
        .builds()
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut resumed = vec![];
    for record in records
        .into_iter()
        .filter(|r| r.status == BuildStatus::Running)
    {
        let request = base64::engine::general_purpose::STANDARD
            .decode(&record.request)
            .ok()
            .and_then(|b| SubmitRequest::decode(b.as_slice()).ok());
        let planned: Result<_, String> = match request.as_ref().and_then(|r| r.project.clone()) {
            Some(project) => front::plan_project(project).await.map_err(|e| e.message),
            None => Err("its stored submission is unreadable".to_string()),
        };
        match (planned, request) {
            (Ok((_, plan)), Some(request)) => resumed.push((record.id, plan, request)),
            (Err(reason), _) => state.fail_stored(record, &reason),
            (Ok(_), None) => state.fail_stored(record, "its stored submission is unreadable"),
        }
    }
    for (id, plan, request) in resumed {
        let admitted =
            match state::prepare(store.as_ref(), &network, Some(id.clone()), &plan, request) {
                Ok(mut prepared) => {
                    verify::check(&mut prepared, &store, &handle.images).await;
                    state.admit(prepared)
                }
                Err(status) => Err(status),
            };
        if let Err(status) = admitted {
            tracing::warn!("build {id} could not resume: {}", status.message());
        }
    }
    // A task, not a thread of its own: the runtime's shutdown drops it, and with it the
    // store, before the process exits (a thread still holding RocksDB at exit crashes).
    tokio::spawn(state.run(rx));
    let ticker = tx.downgrade();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        loop {
            interval.tick().await;
            let Some(tx) = ticker.upgrade() else { break };
            if tx.send(Msg::Tick).await.is_err() {
                break;
            }
        }
    });
    Ok(handle)
}
