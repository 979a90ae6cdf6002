//! The state task: the scheduler, the active builds with their event logs and watchers, and
//! the connected workers. Everything that changes coordinator state happens here, one message
//! at a time.

use std::collections::{BTreeMap, VecDeque};

// See `sched`'s note on foldhash.
use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use conveyor_proto::v1::{
    BuildFinished, BuildInfo, BuildStatus as ProtoStatus, StageState, SubmitRequest,
};
use prost::Message as _;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use super::events::{EventReceiver, Log, StageNote, What};
use super::tasks::{build_work, stage_repo, StageInfo, StageInfos};
use super::worker::Worker;
use super::{Msg, ServerConfig};
use crate::plan::Plan;
use crate::sched::{BuildStatus as SchedStatus, DoneSource, Event, Scheduler, StageSpec};
use crate::store::{BuildRecord, BuildStatus, ImageRecord, Store};

/// Messages handled per turn of the state loop, at most.
const MAX_BATCH: usize = 1024;

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One build the server knows in this run.
pub(super) struct Build {
    pub record: BuildRecord,
    /// Its events and their watchers.
    pub log: Log,
    /// This build's stages by signature (their events carry the info); shared with the state
    /// task's table.
    pub stages: StageInfos,
    /// Per image built: its (stage, signature) list in order, recorded on success for
    /// `conveyor explain`.
    pub images: Vec<(String, Vec<(String, String)>)>,
    pub finished: bool,
}

/// What the state task knows of one signature of the builds in memory. One entry, so that a
/// stage's result and events look it up once.
pub(super) struct Known {
    pub info: Arc<StageInfo>,
    /// The run that produced it, for its `StageDone` events.
    pub last_run: Option<LastRun>,
    /// Its last attempt failed for want of Docker or the registry.
    pub environment_failed: bool,
    /// How many builds in memory have it.
    uses: u32,
}

/// A stage's run, as its result told it.
#[derive(Clone)]
pub(super) struct LastRun {
    pub worker: Arc<str>,
    pub duration_ms: u64,
    /// The worker found the image already built.
    pub reused: bool,
}

pub(super) struct State {
    /// The state task's own inbox, for work finished on the blocking pool.
    pub me: mpsc::WeakSender<Msg>,
    /// A group commit of stage records is in flight (see `worker::flush_results`).
    pub writing: bool,
    pub store: Arc<dyn Store>,
    pub sched: Scheduler,
    pub builds: BTreeMap<String, Build>,
    /// Every stage of every build in memory, by signature.
    pub known: HashMap<String, Known>,
    pub workers: BTreeMap<u64, Worker>,
    /// Lease → (connection, signature, dispatch time).
    pub leases: HashMap<u64, (u64, Arc<str>, u64)>,
    /// Results received this turn, recorded together by `flush_results`.
    pub pending: Vec<super::worker::Finished>,
    /// Builds that ended, to record in the next group commit (their watchers hear of the end
    /// once it is written).
    pub ending: Vec<(BuildRecord, Vec<ImageRecord>)>,
    pub next_conn: u64,
    /// Callers of `Handle::drain` waiting for the writes in flight and pending to end, each
    /// with the count of failed commits when it asked.
    drained: Vec<(oneshot::Sender<Result<(), Status>>, u64)>,
    /// Group commits that failed since the start.
    pub failed_commits: u64,
    /// Finished builds still in memory, oldest first (see `ServerConfig::keep_finished`).
    finished: VecDeque<String>,
    keep_finished: usize,
}

impl Build {
    /// A stage event of this build, with the stage's info.
    fn stage_event(&mut self, mut note: StageNote, now: u64) {
        note.info = self.stages.get(&*note.signature).cloned();
        self.log.push(What::Stage(note), now);
    }
}

impl State {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig, me: mpsc::WeakSender<Msg>) -> State {
        State {
            me,
            writing: false,
            sched: Scheduler::new(config.sched),
            store,
            builds: BTreeMap::new(),
            known: HashMap::new(),
            workers: BTreeMap::new(),
            leases: HashMap::new(),
            pending: vec![],
            ending: vec![],
            next_conn: 1,
            drained: Vec::new(),
            failed_commits: 0,
            finished: VecDeque::new(),
            keep_finished: config.keep_finished,
        }
    }

    /// Serves messages until every sender is gone.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        while let Some(first) = rx.recv().await {
            // Take what has queued up too: the stage results among them are recorded with one
            // synced write (group commit) instead of one fsync each.
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(msg) => batch.push(msg),
                    Err(_) => break,
                }
            }
            let now = now_ms();
            for msg in batch {
                self.handle(msg, now);
            }
            self.flush_results(now_ms());
            self.dispatch(now_ms());
            if !self.writing && self.pending.is_empty() && self.ending.is_empty() {
                for (reply, failed_before) in self.drained.drain(..) {
                    let answer = if self.failed_commits > failed_before {
                        Err(Status::unavailable(
                            "A write of stage results failed (see the log): those stages \
                             will be built again",
                        ))
                    } else {
                        Ok(())
                    };
                    let _ = reply.send(answer);
                }
            }
        }
    }

    fn handle(&mut self, msg: Msg, now: u64) {
        {
            match msg {
                Msg::Submit { prepared, reply } => {
                    let _ = reply.send(self.admit(*prepared));
                }
                Msg::Watch {
                    build,
                    after,
                    reply,
                } => {
                    let _ = reply.send(self.watch(&build, after));
                }
                Msg::Get { build, reply } => {
                    let _ = reply.send(self.info(&build));
                }
                Msg::Cancel { build, reply } => {
                    let result = if self.builds.get(&build).is_some_and(|b| !b.finished) {
                        let events = self.sched.cancel(&build, now);
                        self.apply(events, now);
                        Ok(())
                    } else if self.builds.contains_key(&build) {
                        Ok(())
                    } else {
                        Err(Status::not_found(format!("No build `{build}`")))
                    };
                    let _ = reply.send(result);
                }
                Msg::Hello { hello, out, reply } => {
                    let conn = self.hello(hello, out, now);
                    let _ = reply.send(conn);
                }
                Msg::FromWorker { conn, msg } => self.on_worker_message(conn, msg, now),
                Msg::Gone { conn } => self.gone(conn, now),
                Msg::Recorded { result, builds } => self.recorded(result, builds),
                // Answered at the end of a turn once nothing is left to write.
                Msg::Drain { reply } => self.drained.push((reply, self.failed_commits)),
                Msg::Tick => {
                    let events = self.sched.expire(now);
                    self.apply(events, now);
                }
            }
        }
    }

    /// Starts a prepared build (see [`prepare`]).
    pub fn admit(&mut self, p: Prepared) -> Result<String, Status> {
        let now = now_ms();
        // Stages gone from the registry or recorded elsewhere: forgotten as done unless a
        // build in flight counts on them; those forgotten run again, for this build's target.
        let forgotten: HashSet<&String> = p.stale.iter().filter(|s| self.sched.forget(s)).collect();
        // About four events per stage (queued, started, done, plus logs): reserve them once
        // instead of regrowing a large log.
        let expected_events = p.specs.len() * 4;
        let events = self
            .sched
            .add_build(&p.id, p.specs, now)
            .map_err(|e| Status::internal(e.to_string()))?;
        // Grown once for the build's new signatures, not step by step while workers wait.
        let new = p
            .infos
            .keys()
            .filter(|s| !self.known.contains_key(*s))
            .count();
        self.known.reserve(new);
        for (sig, info) in &p.infos {
            let known = self.known.entry(sig.clone()).or_insert_with(|| Known {
                info: info.clone(),
                last_run: None,
                environment_failed: false,
                uses: 0,
            });
            known.uses += 1;
            if forgotten.contains(sig) {
                known.info = info.clone();
            }
        }
        self.builds.insert(
            p.id.clone(),
            Build {
                record: p.record,
                log: Log::with_capacity(expected_events),
                stages: p.infos,
                images: p.images,
                finished: false,
            },
        );
        self.apply(events, now);
        Ok(p.id)
    }

    /// A build that cannot resume after a restart ends as failed, with the reason.
    pub fn fail_stored(&mut self, mut record: BuildRecord, reason: &str) {
        tracing::warn!("build {} cannot resume: {reason}", record.id);
        record.status = BuildStatus::Failed;
        record.finished_ms = Some(now_ms());
        let _ = self.store.put_build(&record);
    }

    /// A new watcher of `build`: its events after `after` so far, then the events to come
    /// unless it has ended. The events are shared; the watcher's stream copies them into
    /// messages, off this task.
    fn watch(&mut self, build: &str, after: u64) -> Result<EventReceiver, Status> {
        let b = self.builds.get_mut(build).ok_or_else(|| {
            Status::not_found(format!(
                "No build `{build}` in this coordinator's memory (a build that finished long \
                 ago can still be asked for with Get)"
            ))
        })?;
        Ok(b.log.watch(after, !b.finished))
    }

    fn info(&self, build: &str) -> Result<BuildInfo, Status> {
        if let Some(b) = self.builds.get(build) {
            return Ok(BuildInfo {
                build_id: build.to_string(),
                project: b.record.project.clone(),
                status: proto_status(b.record.status) as i32,
                stages: b.log.last_stage_events(),
            });
        }
        match self.store.build(build) {
            Ok(Some(r)) => Ok(BuildInfo {
                build_id: r.id,
                project: r.project,
                status: proto_status(r.status) as i32,
                stages: vec![],
            }),
            Ok(None) => Err(Status::not_found(format!("No build `{build}`"))),
            Err(e) => Err(Status::unavailable(e.to_string())),
        }
    }

    /// A stage event for one build.
    fn stage_event(&mut self, build: &str, note: StageNote, now: u64) {
        if let Some(b) = self.builds.get_mut(build) {
            b.stage_event(note, now);
        }
    }

    /// A stage event for every active build that has the stage.
    fn stage_event_for_all(&mut self, note: StageNote, now: u64) {
        let sig = note.signature.clone();
        self.tell_builds_with(
            &sig,
            |info| {
                What::Stage(StageNote {
                    info: Some(info.clone()),
                    ..note.clone()
                })
            },
            now,
        );
    }

    /// An event, made from the stage's info, for every active build that has `sig`.
    pub fn tell_builds_with(
        &mut self,
        sig: &str,
        mut what: impl FnMut(&Arc<StageInfo>) -> What,
        now: u64,
    ) {
        for b in self.builds.values_mut().filter(|b| !b.finished) {
            if let Some(info) = b.stages.get(sig) {
                let what = what(info);
                b.log.push(what, now);
            }
        }
    }

    /// Turns scheduler events into build events, worker cancels and build records.
    pub fn apply(&mut self, events: Vec<Event>, now: u64) {
        for event in events {
            match event {
                Event::StageQueued { build, signature } => self.stage_event(
                    &build,
                    StageNote::new(signature, None, StageState::Queued),
                    now,
                ),
                Event::StageCached { build, signature } => self.stage_event(
                    &build,
                    StageNote::new(signature, None, StageState::Cached),
                    now,
                ),
                Event::StageStarted {
                    signature,
                    worker,
                    attempt,
                    ..
                } => {
                    let mut note = StageNote::new(signature, None, StageState::Started);
                    note.worker = Some(worker);
                    if attempt > 1 {
                        note.message = format!("attempt {attempt}");
                    }
                    self.stage_event_for_all(note, now);
                }
                Event::StageDone {
                    build,
                    signature,
                    source,
                } => {
                    let run = self.known.get(&*signature).and_then(|k| k.last_run.clone());
                    let state = match source {
                        _ if run.as_ref().is_some_and(|r| r.reused) => StageState::Cached,
                        DoneSource::Built => StageState::Built,
                        DoneSource::Shared => StageState::Shared,
                    };
                    let mut note = StageNote::new(signature, None, state);
                    if let Some(run) = run {
                        note.worker = Some(run.worker);
                        note.duration_ms = run.duration_ms;
                    }
                    self.stage_event(&build, note, now);
                }
                Event::StageFailed {
                    build,
                    signature,
                    reason,
                } => {
                    let environment = self
                        .known
                        .get(&*signature)
                        .is_some_and(|k| k.environment_failed);
                    let mut note = StageNote::new(signature, None, StageState::Failed);
                    note.message = reason;
                    note.environment = environment;
                    self.stage_event(&build, note, now);
                }
                Event::TaskRequeued {
                    signature, reason, ..
                } => {
                    let mut note = StageNote::new(signature, None, StageState::Requeued);
                    note.message = reason;
                    self.stage_event_for_all(note, now);
                }
                Event::CancelTask { worker, lease } => self.cancel_task(&worker, lease.0),
                Event::BuildFinished { build, status } => self.finish(&build, status, now),
            }
        }
    }

    /// A build ended: its record and, after a success, its images' records go into the next
    /// group commit, with the stage records before them, and only once that is written are
    /// its watchers told: whoever sees the end (`conveyor build`, then `conveyor explain`)
    /// finds it all recorded, and a build of thousands of images costs one synced write on
    /// the blocking pool, not one each on the state task.
    fn finish(&mut self, build: &str, status: SchedStatus, now: u64) {
        let status = match status {
            SchedStatus::Succeeded => BuildStatus::Succeeded,
            SchedStatus::Failed => BuildStatus::Failed,
            SchedStatus::Cancelled => BuildStatus::Cancelled,
        };
        let Some(b) = self.builds.get_mut(build) else {
            return;
        };
        b.record.status = status;
        b.record.finished_ms = Some(now);
        let images: Vec<ImageRecord> = if status == BuildStatus::Succeeded {
            b.images
                .iter()
                .map(|(image, stages)| ImageRecord {
                    key: format!("{}/{image}", b.record.project),
                    build: build.to_string(),
                    finished_ms: now,
                    stages: stages.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        self.ending.push((b.record.clone(), images));
    }

    /// Sends a recorded build's last event and closes its watchers.
    pub fn announce_finished(&mut self, build: &str) {
        let Some(b) = self.builds.get_mut(build) else {
            return;
        };
        let status = b.record.status;
        let message = match status {
            BuildStatus::Failed => "a stage failed".to_string(),
            _ => String::new(),
        };
        b.log.push(
            What::Finished(BuildFinished {
                status: proto_status(status) as i32,
                message,
            }),
            now_ms(),
        );
        b.finished = true;
        b.log.close();
        self.finished.push_back(build.to_string());
        while self.finished.len() > self.keep_finished {
            if let Some(oldest) = self.finished.pop_front() {
                self.forget_build(&oldest);
            }
        }
    }

    /// Drops a finished build from memory, with the stage tasks and run details that no
    /// other build in memory uses and the scheduler does not have in flight. A coordinator
    /// that runs for months keeps what its recent builds need, not every stage it ever saw.
    fn forget_build(&mut self, build: &str) {
        let Some(b) = self.builds.remove(build) else {
            return;
        };
        let mut unused = vec![];
        for sig in b.stages.keys() {
            let Some(known) = self.known.get_mut(sig) else {
                continue;
            };
            known.uses = known.uses.saturating_sub(1);
            if known.uses == 0 && !self.sched.is_pending_signature(sig) {
                self.known.remove(sig);
                unused.push(sig.as_str());
            }
        }
        // Their results are in the store: a later build finds them there as cached.
        self.sched.prune(unused);
    }
}

/// A submission made ready for the state task: its stages with their costs and cache status
/// read from the store, and its build record written.
pub(super) struct Prepared {
    id: String,
    record: BuildRecord,
    pub specs: Vec<StageSpec>,
    pub infos: StageInfos,
    images: Vec<(String, Vec<(String, String)>)>,
    /// Recorded stages found gone from the registry (see `verify`): the scheduler forgets
    /// that they are done.
    pub stale: Vec<String>,
}

/// Build ids of this process: `b<ms since the epoch, hex>-<n>`.
static NEXT_BUILD: AtomicU64 = AtomicU64::new(1);

/// Prepares (or, after a restart, resumes under `id`) a build of `plan`: reads what the store
/// knows of its stages and writes its record (synced). Blocking, and done off the state task
/// so that a large submission does not hold up the dispatch of running builds.
pub(super) fn prepare(
    store: &dyn Store,
    network: &str,
    id: Option<String>,
    plan: &Plan,
    request: SubmitRequest,
) -> Result<Prepared, Status> {
    let now = now_ms();
    let repo = stage_repo(&request.repo, &plan.project);
    let cost = |label: &str| store.cost(label).ok().flatten();
    let (mut specs, infos) = build_work(plan, &request.images, &repo, network, &cost)
        .map_err(Status::invalid_argument)?;
    // A stage is cached when it is recorded where this build wants it. A record of the same
    // signature in another repository (an earlier `--repo`, or the local engine) is not a hit:
    // the stage is stale (the scheduler forgets it was done) and is built again here, and its
    // new record replaces the old one.
    let mut stale = vec![];
    for spec in &mut specs {
        let target = infos.get(&spec.signature).map(|i| i.task.target.as_str());
        let record = store
            .stage(&spec.signature)
            .map_err(|e| Status::unavailable(e.to_string()))?;
        spec.cached = record
            .as_ref()
            .is_some_and(|r| Some(r.reference.as_str()) == target);
        if record.is_some() && !spec.cached {
            stale.push(spec.signature.clone());
        }
    }
    let id = id.unwrap_or_else(|| {
        let n = NEXT_BUILD.fetch_add(1, Ordering::Relaxed);
        format!("b{now:x}-{n}")
    });
    let images = plan
        .images
        .iter()
        .filter(|i| i.stages.iter().any(|s| infos.contains_key(&s.signature)))
        .map(|i| {
            let list = i
                .stages
                .iter()
                .map(|s| (s.name.to_string(), s.signature.clone()))
                .collect();
            (i.name.clone(), list)
        })
        .collect();
    let record = BuildRecord {
        id: id.clone(),
        project: plan.project.clone(),
        status: BuildStatus::Running,
        created_ms: now,
        finished_ms: None,
        stages: BTreeMap::new(),
        request: base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec()),
    };
    store
        .put_build(&record)
        .map_err(|e| Status::unavailable(e.to_string()))?;
    Ok(Prepared {
        id,
        record,
        specs,
        infos,
        images,
        stale,
    })
}

pub(super) fn proto_status(s: BuildStatus) -> ProtoStatus {
    match s {
        BuildStatus::Running => ProtoStatus::Running,
        BuildStatus::Succeeded => ProtoStatus::Succeeded,
        BuildStatus::Failed => ProtoStatus::Failed,
        BuildStatus::Cancelled => ProtoStatus::Cancelled,
    }
}
