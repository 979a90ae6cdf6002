//! Workers as the state task sees them: a name, a sender for its stream, and what happens
//! when it says hello, reports, or goes away; and dispatching ready stages to them.

use conveyor_proto::v1::{
    coordinator_message, worker_message, CancelTask, CoordinatorMessage, FailureClass, Hello,
    LogLine, WorkerMessage,
};

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use super::events::What;
use super::priority::Below;
use super::state::{LastRun, State};
use super::tasks::StageInfo;
use super::{ToWorker, WorkerSender};
use crate::sched::LeaseId;
use crate::store::{next_cost, BuildRecord, Commit, ImageRecord, StageRecord, Store, StoreError};

/// A stage result waiting for the next group commit. Its record (which copies the stage's
/// inputs) is made on the commit's thread, not on the state task that dispatches.
pub struct Finished {
    info: Arc<StageInfo>,
    signature: String,
    reference: String,
    digest: String,
    size: u64,
    created_ms: u64,
    built_by: String,
    duration_ms: u64,
}

impl Finished {
    fn record(&self) -> StageRecord {
        StageRecord {
            signature: self.signature.clone(),
            stage: self.info.stage.clone(),
            reference: self.reference.clone(),
            digest: self.digest.clone(),
            size: self.size,
            created_ms: self.created_ms,
            built_by: self.built_by.clone(),
            duration_ms: self.duration_ms,
            inputs: self.info.inputs.clone(),
        }
    }
}

/// New cost estimates from finished stages. A label's estimate folds in its samples in
/// order, starting from what the store had when the stage was first prepared (see
/// `StageInfo::cost`: estimates are advisory).
fn costs(finished: &[Finished]) -> Vec<(String, u64)> {
    let mut costs: HashMap<&str, u64> = HashMap::new();
    for f in finished {
        let old = costs.get(f.info.label.as_str()).copied().or(f.info.cost);
        costs.insert(&f.info.label, next_cost(old, f.duration_ms));
    }
    costs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// How many stage records a group commit writes in one step (a few hundred microseconds of
/// encoding and RocksDB inserts; see [`write_commit`]).
const COMMIT_STEP: usize = 64;

/// Writes a group commit in steps of [`COMMIT_STEP`] stage records with
/// [`priority::pause`](super::priority::pause) between them: every step but the last is
/// unsynced, the last (with the cost estimates, the ended builds and their images) is synced,
/// which makes the steps before it durable too (RocksDB's log keeps writes in order). A crash
/// midway loses a tail of stage records (built again later), never an ended build without its
/// stages.
fn write_commit(
    store: &dyn Store,
    finished: &[Finished],
    ending: Vec<(BuildRecord, Vec<ImageRecord>)>,
) -> Result<(), StoreError> {
    let mut steps: Vec<&[Finished]> = finished.chunks(COMMIT_STEP).collect();
    let last = steps.pop().unwrap_or_default();
    for step in steps {
        let commit = Commit {
            stages: step.iter().map(Finished::record).collect(),
            ..Commit::default()
        };
        store.commit_unsynced(&commit)?;
        super::priority::pause();
    }
    let mut commit = Commit {
        stages: last.iter().map(Finished::record).collect(),
        costs: costs(finished),
        ..Commit::default()
    };
    for (build, images) in ending {
        commit.builds.push(build);
        commit.images.extend(images);
    }
    store.commit(&commit)
}

/// A connected worker stream.
pub(super) struct Worker {
    /// Shared with the events of the stages it runs.
    pub name: Arc<str>,
    pub out: WorkerSender,
}

impl State {
    /// A worker said hello: it replaces any older stream under the same name.
    pub fn hello(&mut self, hello: Hello, out: WorkerSender, now: u64) -> u64 {
        let old: Vec<u64> = self
            .workers
            .iter()
            .filter(|(_, w)| *w.name == hello.name)
            .map(|(c, _)| *c)
            .collect();
        for conn in old {
            self.gone(conn, now);
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.sched.worker_connected(
            &hello.name,
            hello.slots.max(1),
            hello.holds.iter().cloned(),
            now,
        );
        tracing::info!("worker {} connected ({} slots)", hello.name, hello.slots);
        self.workers.insert(
            conn,
            Worker {
                name: hello.name.into(),
                out,
            },
        );
        conn
    }

    /// A worker's stream ended: its running tasks go back to the queue.
    pub fn gone(&mut self, conn: u64, now: u64) {
        let Some(worker) = self.workers.remove(&conn) else {
            return;
        };
        tracing::info!("worker {} disconnected", worker.name);
        self.leases.retain(|_, (c, _, _)| *c != conn);
        let events = self.sched.worker_disconnected(&worker.name, now);
        self.apply(events, now);
    }

    pub fn on_worker_message(&mut self, conn: u64, msg: WorkerMessage, now: u64) {
        let Some(name) = self.workers.get(&conn).map(|w| w.name.clone()) else {
            return;
        };
        match msg.msg {
            Some(worker_message::Msg::Heartbeat(h)) => {
                for lease in h.leases {
                    self.sched.heartbeat(LeaseId(lease), now);
                }
            }
            Some(worker_message::Msg::Log(log)) => {
                let line = |_: &_| {
                    What::Log(LogLine {
                        signature: log.signature.clone(),
                        worker: name.to_string(),
                        line: log.line.clone(),
                        stderr: log.stderr,
                    })
                };
                self.tell_builds_with(&log.signature, line, now);
            }
            Some(worker_message::Msg::Result(r)) => {
                let Some(known) = self.known.get_mut(&r.signature) else {
                    tracing::warn!("worker {name} reported unknown stage {}", r.signature);
                    return;
                };
                known.last_run = Some(LastRun {
                    worker: name.clone(),
                    duration_ms: r.duration_ms,
                    reused: r.reused,
                });
                let info = known.info.clone();
                // Dependents are released now; the record is written by the next group commit.
                // Nothing waits for it: the image is already in the registry, so a crash before
                // the write only costs rebuilding this stage later, never a wrong cache hit.
                self.pending.push(Finished {
                    info,
                    signature: r.signature.clone(),
                    reference: r.reference,
                    digest: r.digest,
                    size: r.size,
                    created_ms: now,
                    built_by: name.to_string(),
                    duration_ms: r.duration_ms,
                });
                let events = if self.leases.remove(&r.lease).is_some() {
                    self.sched.complete(LeaseId(r.lease), now)
                } else {
                    self.sched.complete_signature(&r.signature, &name, now)
                };
                self.apply(events, now);
            }
            Some(worker_message::Msg::Failure(f)) => {
                let Some((_, signature, _)) = self.leases.remove(&f.lease) else {
                    return;
                };
                if let Some(known) = self.known.get_mut(&*signature) {
                    known.environment_failed = f.class == FailureClass::Environment as i32;
                }
                let retryable = f.class != FailureClass::Stage as i32;
                let events = self
                    .sched
                    .fail(LeaseId(f.lease), now, &f.message, retryable);
                self.apply(events, now);
            }
            Some(worker_message::Msg::Hello(_)) | None => {}
        }
    }

    /// Group commit: writes the stage records and ended builds gathered so far on the blocking
    /// pool, in steps ending with one synced write ([`write_commit`]), one commit at a time
    /// (what arrives meanwhile waits for the next), so the state task never waits on an fsync.
    pub fn flush_results(&mut self, _now: u64) {
        if self.writing || (self.pending.is_empty() && self.ending.is_empty()) {
            return;
        }
        let Some(me) = self.me.upgrade() else { return };
        self.writing = true;
        let finished = std::mem::take(&mut self.pending);
        let ending = std::mem::take(&mut self.ending);
        let store = self.store.clone();
        // Below dispatch's priority (see `priority`): results already released their
        // dependents; recording them may wait for an idle core. A commit that ends builds has
        // watchers waiting for it: it only runs niced.
        let below = if ending.is_empty() {
            Below::Idle
        } else {
            Below::Nice
        };
        tokio::task::spawn_blocking(move || {
            let (result, builds) = super::priority::lowered(below, || {
                let builds: Vec<String> = ending.iter().map(|(b, _)| b.id.clone()).collect();
                let result = write_commit(&*store, &finished, ending).map_err(|e| {
                    format!(
                        "recording {} stage results and {} ended builds (those after the \
                         failing write, at least, are not recorded): {e}",
                        finished.len(),
                        builds.len()
                    )
                });
                (result, builds)
            });
            let _ = me.blocking_send(super::Msg::Recorded { result, builds });
        });
    }

    /// A group commit ended. If it failed, its stages from the failing step on stay
    /// unrecorded (and, without a later synced write, those before it may too): a later build
    /// builds them again. The builds it recorded end for their watchers now.
    pub fn recorded(&mut self, result: Result<(), String>, builds: Vec<String>) {
        self.writing = false;
        if let Err(e) = result {
            self.failed_commits += 1;
            tracing::error!("{e}");
        }
        for build in builds {
            self.announce_finished(&build);
        }
    }

    /// Asks a worker to stop a lease no build needs any more.
    pub fn cancel_task(&mut self, worker: &str, lease: u64) {
        self.leases.remove(&lease);
        if let Some(w) = self.workers.values().find(|w| &*w.name == worker) {
            let _ = w.out.try_send(ToWorker::message(CoordinatorMessage {
                msg: Some(coordinator_message::Msg::Cancel(CancelTask {
                    lease,
                    reason: "no build needs this stage any more".into(),
                })),
            }));
        }
    }

    /// Hands ready stages to workers with free slots.
    pub fn dispatch(&mut self, now: u64) {
        let conns: Vec<u64> = self.workers.keys().copied().collect();
        let mut dead = vec![];
        // Builds hear of the starts once every assignment is on its way: workers first.
        let mut started = vec![];
        for conn in conns {
            let Some(name) = self.workers.get(&conn).map(|w| w.name.clone()) else {
                continue;
            };
            while let Some(a) = self.sched.next_ready(&name, now) {
                let Some(info) = self.known.get(&*a.signature).map(|k| k.info.clone()) else {
                    continue;
                };
                let msg = ToWorker::assign(a.lease.0, a.deadline, info);
                let sent = self
                    .workers
                    .get(&conn)
                    .is_some_and(|w| w.out.try_send(msg).is_ok());
                // Leases live in memory only: after a restart, builds are planned again and a
                // result for an old lease is accepted by its signature.
                self.leases
                    .insert(a.lease.0, (conn, a.signature.clone(), now));
                started.push(a.started_event());
                if !sent {
                    dead.push(conn);
                    break;
                }
            }
        }
        self.apply(started, now);
        for conn in dead {
            self.gone(conn, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(info: &Arc<StageInfo>, signature: &str, duration_ms: u64) -> Finished {
        Finished {
            info: info.clone(),
            signature: signature.into(),
            reference: format!("repo:{signature}"),
            digest: "sha256:0".into(),
            size: 1,
            created_ms: 2,
            built_by: "w1".into(),
            duration_ms,
        }
    }

    fn info(label: &str, cost: Option<u64>) -> Arc<StageInfo> {
        Arc::new(StageInfo {
            image: "app".into(),
            stage: "install".into(),
            task: Default::default(),
            inputs: vec![("commands".into(), "make".into())],
            label: label.into(),
            cost,
        })
    }

    #[test]
    fn cost_samples_fold_into_the_recorded_estimate_in_order() {
        let install = info("app/install", Some(1000));
        let setup = info("app/setup", None);
        let mut costs = costs(&[
            finished(&install, "s1", 2000),
            finished(&setup, "s2", 10),
            finished(&install, "s3", 2250),
        ]);
        costs.sort();
        // 1000 → (3·1000 + 2000)/4 = 1250 → (3·1250 + 2250)/4 = 1500; a first sample is taken as is.
        assert_eq!(
            costs,
            vec![("app/install".into(), 1500), ("app/setup".into(), 10)]
        );
        let record = finished(&install, "s3", 2250).record();
        assert_eq!(record.signature, "s3");
        assert_eq!(record.reference, "repo:s3");
        assert_eq!(record.inputs, install.inputs);
        assert_eq!(record.duration_ms, 2250);
    }

    /// A commit as [`Noting`] saw it: (synced, stages, builds, images, costs).
    type Noted = (bool, usize, usize, usize, usize);

    /// A memory store that notes each commit.
    #[derive(Default)]
    struct Noting {
        inner: crate::store::MemoryStore,
        commits: std::sync::Mutex<Vec<Noted>>,
    }

    impl Noting {
        fn note(&self, synced: bool, c: &Commit) {
            self.commits.lock().unwrap().push((
                synced,
                c.stages.len(),
                c.builds.len(),
                c.images.len(),
                c.costs.len(),
            ));
        }
    }

    impl Store for Noting {
        fn stage(&self, s: &str) -> Result<Option<StageRecord>, StoreError> {
            self.inner.stage(s)
        }
        fn put_stage(&self, r: &StageRecord) -> Result<(), StoreError> {
            self.inner.put_stage(r)
        }
        fn delete_stage(&self, s: &str) -> Result<(), StoreError> {
            self.inner.delete_stage(s)
        }
        fn build(&self, id: &str) -> Result<Option<BuildRecord>, StoreError> {
            self.inner.build(id)
        }
        fn put_build(&self, r: &BuildRecord) -> Result<(), StoreError> {
            self.inner.put_build(r)
        }
        fn builds(&self) -> Result<Vec<BuildRecord>, StoreError> {
            self.inner.builds()
        }
        fn put_task(&self, r: &crate::store::TaskRecord) -> Result<(), StoreError> {
            self.inner.put_task(r)
        }
        fn delete_task(&self, s: &str) -> Result<(), StoreError> {
            self.inner.delete_task(s)
        }
        fn tasks(&self) -> Result<Vec<crate::store::TaskRecord>, StoreError> {
            self.inner.tasks()
        }
        fn image(&self, key: &str) -> Result<Option<ImageRecord>, StoreError> {
            self.inner.image(key)
        }
        fn put_image(&self, r: &ImageRecord) -> Result<(), StoreError> {
            self.inner.put_image(r)
        }
        fn commit(&self, c: &Commit) -> Result<(), StoreError> {
            self.note(true, c);
            self.inner.commit(c)
        }
        fn commit_unsynced(&self, c: &Commit) -> Result<(), StoreError> {
            self.note(false, c);
            self.inner.commit(c)
        }
        fn cost(&self, key: &str) -> Result<Option<u64>, StoreError> {
            self.inner.cost(key)
        }
        fn put_costs(&self, costs: &[(String, u64)]) -> Result<(), StoreError> {
            self.inner.put_costs(costs)
        }
    }

    #[test]
    fn a_group_commit_goes_in_steps_and_ends_with_one_synced_write_of_the_rest() {
        let install = info("app/install", None);
        let n = COMMIT_STEP * 2 + 3;
        let done: Vec<Finished> = (0..n)
            .map(|i| finished(&install, &format!("s{i}"), 10))
            .collect();
        let build = BuildRecord {
            id: "b1".into(),
            project: "demo".into(),
            status: crate::store::BuildStatus::Succeeded,
            created_ms: 1,
            finished_ms: Some(2),
            stages: Default::default(),
            request: String::new(),
        };
        let image = ImageRecord {
            key: "demo/app".into(),
            build: "b1".into(),
            finished_ms: 2,
            stages: vec![],
        };
        let store = Noting::default();
        write_commit(&store, &done, vec![(build, vec![image])]).unwrap();
        assert_eq!(
            *store.commits.lock().unwrap(),
            vec![
                (false, COMMIT_STEP, 0, 0, 0),
                (false, COMMIT_STEP, 0, 0, 0),
                (true, 3, 1, 1, 1),
            ],
            "full steps unsynced; the rest, the build, its image and the estimates synced last"
        );
        for i in 0..n {
            assert!(store.stage(&format!("s{i}")).unwrap().is_some(), "s{i}");
        }
        assert!(store.build("b1").unwrap().is_some());

        // Nothing to step through: one synced write.
        let store = Noting::default();
        write_commit(&store, &[], vec![]).unwrap();
        assert_eq!(*store.commits.lock().unwrap(), vec![(true, 0, 0, 0, 0)]);
    }
}
