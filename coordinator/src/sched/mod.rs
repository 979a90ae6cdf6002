//! The scheduling core: which stage runs next, on which worker, and what each build learns.
//!
//! Pure and synchronous: no I/O, no clock (every call takes `now` in milliseconds), no
//! threads. The gRPC layer owns one [`Scheduler`] behind a lock, feeds it builds, worker
//! connections and results, and forwards the [`Event`]s it returns. Independent of the planner:
//! the server turns a plan into [`StageSpec`]s.
//!
//! Model (after cargo's `DependencyQueue` and NativeLink's scheduler):
//! - A *task* is one signature. Tasks are shared by every build that needs them
//!   (single-flight): at most one lease per signature at a time, and a signature that is done
//!   (cached or completed) is never dispatched again by this scheduler, unless the caller
//!   [`Scheduler::forget`]s it (its image turned out to be gone) or [`Scheduler::prune`]s it
//!   (no build it keeps uses it; a later build finds it recorded, so cached).
//! - A task's *waiters* are the active builds still waiting for it. Its *owner* is the waiter
//!   that queued it (it gets [`DoneSource::Built`], the others `Shared`); if the owner is
//!   cancelled, ownership passes to the next waiter.
//! - Ready tasks are ordered by longest remaining path (the task's cost plus the longest
//!   chain of not-done dependents), then `Pull` before `Build`, then by signature.
//! - Locality: a worker takes its best ready task whose dependency it holds before any
//!   non-local `Build` task (a `Pull` of at least the same priority still goes first). A
//!   ready task whose dependency another connected worker with a free slot holds is kept for
//!   that worker for `locality_wait_ms` after it became ready.
//!
//! Invariants (checked by the property tests in `proptests`):
//! - a build's stages are closed under dependencies: every dependency of a stage is a stage
//!   of the same build or already done; so a task with waiters has waiters on all its
//!   not-done dependencies, and cancelling one build never strands another;
//! - `pending` of a waiting task = its dependencies not done; a task is in the ready set
//!   (and in the `local` set of every holder of one of its dependencies) iff it is `Ready`;
//! - every lease in `leases` is the `Running` state of its task and in its worker's `running`;
//! - a build's `remaining` = its stages whose task still lists it as a waiter.
//!
//! Unknown ids (builds, workers, leases, signatures) are no-ops that return no events; only
//! [`Scheduler::add_build`] reports errors, and it changes nothing when it does.
//!
//! Memory: a task is about 200 bytes plus its signature and label. Tasks stay after their
//! builds end (a done task is what makes a later build's same stage a cache hit here) until
//! the caller [`Scheduler::prune`]s the signatures it no longer keeps builds for; their slots
//! are then reused by new tasks.

mod admit;
mod dispatch;
mod inspect;
mod outcome;
mod prune;
mod types;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_outcome;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

// The scheduler's maps are keyed by signatures (64 hex digits) and looked up for every event:
// foldhash hashes them several times faster than the standard SipHash. Its seed is random per
// process, like SipHash's; it makes no cryptographic promise, but signatures are our own
// content hashes, and the keys clients choose (build ids, worker names) are few.
use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::Arc;

pub use types::{
    Assignment, BuildStatus, Config, DoneSource, Event, LeaseId, LeaseInfo, SchedError,
    SignatureState, StageSpec, TaskKind,
};

/// The scheduler. See the module docs.
#[derive(Debug)]
pub struct Scheduler {
    config: Config,
    /// Indexed by task id; a pruned task's slot holds [`Task::vacant`] until reused.
    tasks: Vec<Task>,
    /// Slots of pruned tasks, for new tasks.
    free: Vec<usize>,
    by_sig: HashMap<Arc<str>, usize>,
    ready: BTreeSet<ReadyKey>,
    /// Tasks in the `Waiting` state.
    waiting: usize,
    builds: Slab<Build>,
    build_ids: HashMap<String, usize>,
    workers: Slab<Worker>,
    worker_ids: HashMap<String, usize>,
    leases: BTreeMap<LeaseId, Lease>,
    next_lease: u64,
}

#[derive(Debug)]
struct Task {
    sig: Arc<str>,
    label: Arc<str>,
    kind: TaskKind,
    cost: u64,
    /// Longest remaining path, including `cost`.
    prio: u64,
    deps: Box<[usize]>,
    dependents: Vec<usize>,
    /// Active builds waiting for this task, in the order they started waiting.
    waiters: Vec<usize>,
    /// The waiter that gets `Built`; always one of `waiters`, or `None` when there are none.
    owner: Option<usize>,
    /// Connected workers that hold this signature locally.
    holders: Vec<usize>,
    state: State,
    /// Dependencies not done yet (meaningful while `Waiting`).
    pending: usize,
    /// Dispatches since the task was last queued afresh.
    attempts: u32,
    /// Active builds that list it among their stages (what `prune` must not remove).
    listed: u32,
    ready_since: u64,
    /// Why earlier dispatches ended without a result.
    reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// No active build needs it.
    Idle,
    Waiting,
    Ready,
    Running(LeaseId),
    Done,
    Failed(Box<str>),
}

/// The ready-set order: highest priority first, then pulls, then by signature.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ReadyKey {
    prio: Reverse<u64>,
    kind: TaskKind,
    sig: Arc<str>,
    task: usize,
}

#[derive(Debug)]
struct Build {
    id: Arc<str>,
    /// Every stage once, dependencies first.
    stages: Vec<usize>,
    remaining: usize,
    failed: bool,
}

#[derive(Debug)]
struct Worker {
    id: Arc<str>,
    slots: u32,
    running: BTreeSet<LeaseId>,
    /// Signatures it said it holds when it connected: the holders of tasks made later. (Tasks
    /// it holds that exist are in `held`.)
    holds: HashSet<String>,
    /// Tasks whose `holders` list it.
    held: Vec<usize>,
    /// Ready tasks one of whose dependencies it holds.
    local: BTreeSet<ReadyKey>,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    task: usize,
    worker: usize,
    deadline: u64,
    attempt: u32,
}

/// A vector of slots with a free list: stable indices, reused after removal.
#[derive(Debug)]
struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }

    fn insert(&mut self, item: T) -> usize {
        if let Some(i) = self.free.pop() {
            self.items[i] = Some(item);
            i
        } else {
            self.items.push(Some(item));
            self.items.len() - 1
        }
    }

    fn remove(&mut self, i: usize) -> Option<T> {
        let item = self.items.get_mut(i)?.take();
        if item.is_some() {
            self.free.push(i);
        }
        item
    }

    fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i).and_then(Option::as_ref)
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.items.get_mut(i).and_then(Option::as_mut)
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new(Config::default())
    }
}

impl Scheduler {
    pub fn new(config: Config) -> Self {
        Scheduler {
            config,
            tasks: Vec::new(),
            free: Vec::new(),
            by_sig: HashMap::new(),
            ready: BTreeSet::new(),
            waiting: 0,
            builds: Slab::new(),
            build_ids: HashMap::new(),
            workers: Slab::new(),
            worker_ids: HashMap::new(),
            leases: BTreeMap::new(),
            next_lease: 1,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn max_attempts(&self) -> u32 {
        self.config.max_attempts.max(1)
    }

    fn key(&self, t: usize) -> ReadyKey {
        let task = &self.tasks[t];
        ReadyKey {
            prio: Reverse(task.prio),
            kind: task.kind,
            sig: task.sig.clone(),
            task: t,
        }
    }

    fn build_name(&self, b: usize) -> Arc<str> {
        self.builds.get(b).map(|b| b.id.clone()).unwrap_or_default()
    }

    fn worker_name(&self, w: usize) -> Arc<str> {
        self.workers
            .get(w)
            .map(|w| w.id.clone())
            .unwrap_or_default()
    }
}
