//! The scheduling core's public data: its input ([`StageSpec`]), its configuration
//! ([`Config`]), what it tells the caller ([`Event`], [`Assignment`]) and what it lets the
//! caller inspect ([`SignatureState`], [`LeaseInfo`]).
//!
//! Everything here is plain data: shared strings and integers, no references into the
//! scheduler, so the server can move events and assignments across tasks freely. Signatures,
//! build ids and worker names are `Arc<str>`s shared with the scheduler's tables: a stage's
//! events and its assignment count references instead of copying its 64-digit signature
//! each time.

use std::fmt;
use std::sync::Arc;

/// A lease on one dispatch of one task to one worker. Ids are never reused by a scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseId(pub u64);

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lease-{}", self.0)
    }
}

/// What a task does on a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskKind {
    /// A `from` stage that pulls an external base image: no dependencies, dispatched first.
    Pull,
    /// Every other stage.
    Build,
}

/// One stage of a build, as the caller (the planner's adapter) hands it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSpec {
    /// The stage's content signature (sha256 hex): its identity cluster-wide.
    pub signature: String,
    /// Signatures that must be done before this one runs: its parent and the stages of other
    /// images it needs. Each must be a stage of the same build or already done.
    pub deps: Vec<String>,
    /// Already recorded in the registry: never dispatched.
    pub cached: bool,
    /// Estimated duration in milliseconds from history; 0 is read as 1.
    pub cost: u64,
    pub kind: TaskKind,
    /// Opaque text for messages (e.g. `backend/install`).
    pub label: String,
}

impl StageSpec {
    /// A `Build` stage of cost 1, not cached, labelled with its signature.
    pub fn new(signature: impl Into<String>, deps: Vec<String>) -> Self {
        let signature = signature.into();
        StageSpec {
            label: signature.clone(),
            signature,
            deps,
            cached: false,
            cost: 1,
            kind: TaskKind::Build,
        }
    }
}

/// Tunables. Times are milliseconds of the caller's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// A lease not heartbeaten for this long expires and its task is requeued.
    pub lease_ttl_ms: u64,
    /// Dispatches of one task before it fails (expiry, disconnect and retryable failures all
    /// count). 0 is read as 1.
    pub max_attempts: u32,
    /// How long a ready task is kept for a connected worker that holds its parent.
    pub locality_wait_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lease_ttl_ms: 60_000,
            max_attempts: 3,
            locality_wait_ms: 5_000,
        }
    }
}

/// Whether a build's stage was run for it or for another build it shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DoneSource {
    /// This build queued the task (or inherited it when the build that did was cancelled).
    Built,
    /// Another build's task produced it while this build waited.
    Shared,
}

/// How a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuildStatus {
    Succeeded,
    Failed,
    Cancelled,
}

/// What happened, in the order it happened. Every method returns its events in a
/// deterministic order: the same calls give the same events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The build waits for this signature (queued by it or by another build).
    StageQueued {
        build: Arc<str>,
        signature: Arc<str>,
    },
    /// One dispatch of a task. Not returned by any method: see [`Assignment::started_event`].
    StageStarted {
        signature: Arc<str>,
        worker: Arc<str>,
        lease: LeaseId,
        attempt: u32,
    },
    /// The signature was already done when the build was added.
    StageCached {
        build: Arc<str>,
        signature: Arc<str>,
    },
    StageDone {
        build: Arc<str>,
        signature: Arc<str>,
        source: DoneSource,
    },
    StageFailed {
        build: Arc<str>,
        signature: Arc<str>,
        reason: String,
    },
    /// A dispatch ended without a result; the task is ready again for dispatch `attempt`.
    TaskRequeued {
        signature: Arc<str>,
        reason: String,
        attempt: u32,
    },
    /// The worker should stop this lease: no active build needs its result any more.
    CancelTask { worker: Arc<str>, lease: LeaseId },
    BuildFinished {
        build: Arc<str>,
        status: BuildStatus,
    },
}

/// One dispatch handed to a worker by [`super::Scheduler::next_ready`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub lease: LeaseId,
    pub signature: Arc<str>,
    pub kind: TaskKind,
    /// 1 for the first dispatch of the task, then one more per requeue.
    pub attempt: u32,
    /// The lease expires at this time unless heartbeaten.
    pub deadline: u64,
    pub worker: Arc<str>,
    pub label: Arc<str>,
}

impl Assignment {
    /// The [`Event::StageStarted`] of this dispatch, for the caller's event stream.
    pub fn started_event(&self) -> Event {
        Event::StageStarted {
            signature: self.signature.clone(),
            worker: self.worker.clone(),
            lease: self.lease,
            attempt: self.attempt,
        }
    }
}

/// Where a known signature stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureState {
    /// Queued, waiting for dependencies.
    Waiting,
    /// Queued, all dependencies done.
    Ready,
    Running {
        lease: LeaseId,
        worker: String,
        attempt: u32,
    },
    Done,
    /// Failed for the builds that needed it; a later build needing it queues it afresh.
    Failed {
        reason: String,
    },
    /// Known, but no active build needs it (its builds were cancelled or failed first).
    Dropped,
}

/// A running lease, for introspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    pub lease: LeaseId,
    pub signature: String,
    pub worker: String,
    pub attempt: u32,
    pub deadline: u64,
}

/// Why [`super::Scheduler::add_build`] refused a build. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedError {
    #[error("build `{0}` is already active")]
    DuplicateBuild(String),
    #[error("stage `{stage}` depends on `{dep}`, which is neither in the build nor done")]
    UnknownDependency { stage: String, dep: String },
    #[error("stage `{signature}` is part of a dependency cycle")]
    DependencyCycle { signature: String },
}
