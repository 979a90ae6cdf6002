//! The coordinator over loopback gRPC with a real RocksDB in a temp dir and fake workers
//! (gRPC clients that answer assignments without Docker): shared stages run once, a task of a
//! worker that disconnects moves to another, a restarted coordinator finishes its builds.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conveyor_coordinator::registry::MemoryImages;
use conveyor_coordinator::rpc::{BuildsService, WorkersService};
use conveyor_coordinator::server::{self, ServerConfig};
use conveyor_coordinator::store::{
    BuildRecord, Commit, ImageRecord, MemoryStore, RocksStore, StageRecord, Store, StoreError,
    TaskRecord,
};
use conveyor_proto::v1::builds_client::BuildsClient;
use conveyor_proto::v1::builds_server::BuildsServer;
use conveyor_proto::v1::workers_client::WorkersClient;
use conveyor_proto::v1::workers_server::WorkersServer;
use conveyor_proto::v1::{
    build_event, coordinator_message, worker_message, BuildEvent, BuildEvents, BuildStatus,
    FailureClass, GetRequest, Hello, Project, StageEvent, StageState, SubmitRequest, TaskFailure,
    TaskResult, WatchRequest, WorkerMessage,
};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

const CONFIG: &str = "project: demo\nconfigVersion: 1\n---\n\
image: base\nfrom: alpine\nshell:\n  install: [\"echo base\"]\n---\n\
image: api\nfromImage: base\nshell:\n  setup: [\"echo api\"]\n---\n\
image: web\nfromImage: base\nshell:\n  setup: [\"echo web\"]\n";

struct Coordinator {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    /// The registry as the coordinator sees it when it checks recorded stages.
    images: Arc<MemoryImages>,
}

async fn start(db: &Path) -> Coordinator {
    start_keeping(db, ServerConfig::default().keep_finished).await
}

/// A coordinator that keeps `keep_finished` finished builds in memory.
async fn start_keeping(db: &Path, keep_finished: usize) -> Coordinator {
    // A previous coordinator on this DB may still be letting go of its lock.
    let mut store = None;
    for _ in 0..100 {
        match RocksStore::open(db) {
            Ok(s) => {
                store = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let store: Arc<dyn Store> = Arc::new(store.expect("the DB opens"));
    serve(store, keep_finished).await.0
}

/// A coordinator over `store`: it and the server's handle.
async fn serve(store: Arc<dyn Store>, keep_finished: usize) -> (Coordinator, server::Handle) {
    // The fake workers push nothing: the stages they report are in this registry unless a
    // test says otherwise.
    let images = Arc::new(MemoryImages::default());
    let config = ServerConfig {
        tick: Duration::from_millis(50),
        images: images.clone(),
        keep_finished,
        ..ServerConfig::default()
    };
    let handle = server::start(store, config).await.expect("server starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = handle.clone();
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(BuildsServer::new(BuildsService::new(served.clone())))
            .add_service(WorkersServer::new(WorkersService::new(served)))
            .serve_with_incoming(conveyor_coordinator::rpc::incoming(listener))
            .await;
    });
    (Coordinator { addr, task, images }, handle)
}

/// A store whose group commits wait until the test opens its gate: a commit stays in flight
/// for as long as the test needs to look.
struct GatedCommits {
    inner: Arc<dyn Store>,
    open: Mutex<bool>,
    opened: std::sync::Condvar,
    /// Commits fail (once through the gate) instead of writing.
    fail: bool,
}

impl GatedCommits {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Opens the gate when dropped, so that a failing test's commit does not hold the runtime's
/// shutdown forever.
struct OpenOnDrop(Arc<GatedCommits>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

impl Store for GatedCommits {
    fn stage(&self, signature: &str) -> Result<Option<StageRecord>, StoreError> {
        self.inner.stage(signature)
    }
    fn put_stage(&self, record: &StageRecord) -> Result<(), StoreError> {
        self.inner.put_stage(record)
    }
    fn delete_stage(&self, signature: &str) -> Result<(), StoreError> {
        self.inner.delete_stage(signature)
    }
    fn build(&self, id: &str) -> Result<Option<BuildRecord>, StoreError> {
        self.inner.build(id)
    }
    fn put_build(&self, record: &BuildRecord) -> Result<(), StoreError> {
        self.inner.put_build(record)
    }
    fn builds(&self) -> Result<Vec<BuildRecord>, StoreError> {
        self.inner.builds()
    }
    fn put_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        self.inner.put_task(record)
    }
    fn delete_task(&self, signature: &str) -> Result<(), StoreError> {
        self.inner.delete_task(signature)
    }
    fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.inner.tasks()
    }
    fn image(&self, key: &str) -> Result<Option<ImageRecord>, StoreError> {
        self.inner.image(key)
    }
    fn put_image(&self, record: &ImageRecord) -> Result<(), StoreError> {
        self.inner.put_image(record)
    }
    fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        drop(open);
        if self.fail {
            return Err(StoreError::Db("the disk is full".into()));
        }
        self.inner.commit(commit)
    }
    fn cost(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.inner.cost(key)
    }
    fn put_costs(&self, costs: &[(String, u64)]) -> Result<(), StoreError> {
        self.inner.put_costs(costs)
    }
}

/// What fake workers were asked to run: (worker, signature).
type Log = Arc<Mutex<Vec<(String, String)>>>;

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// Answers every assignment with a result.
    Works,
    /// Drops its stream when it gets its first assignment.
    DiesOnFirstTask,
    /// Answers its first N assignments, then takes more and never answers.
    StallsAfter(usize),
    /// Reports its first assignment as failed for want of Docker, then answers every one.
    FailsFirstForDocker,
}

fn worker(
    addr: SocketAddr,
    name: &str,
    behaviour: Behaviour,
    log: Log,
) -> tokio::task::JoinHandle<()> {
    worker_with_slots(addr, name, behaviour, log, 2)
}

/// [`worker`] with `slots` build slots.
fn worker_with_slots(
    addr: SocketAddr,
    name: &str,
    behaviour: Behaviour,
    log: Log,
    slots: u32,
) -> tokio::task::JoinHandle<()> {
    let name = name.to_string();
    tokio::spawn(async move {
        let mut answered = 0;
        let mut client = WorkersClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let (tx, rx) = mpsc::channel(64);
        tx.send(WorkerMessage {
            msg: Some(worker_message::Msg::Hello(Hello {
                name: name.clone(),
                slots,
                ..Default::default()
            })),
        })
        .await
        .unwrap();
        let mut inbound = client
            .attach(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        while let Some(Ok(msg)) = inbound.next().await {
            let Some(coordinator_message::Msg::Assign(a)) = msg.msg else {
                continue;
            };
            let task = a.task.unwrap();
            log.lock()
                .unwrap()
                .push((name.clone(), task.signature.clone()));
            match behaviour {
                Behaviour::DiesOnFirstTask => return,
                Behaviour::StallsAfter(n) if answered >= n => continue,
                Behaviour::FailsFirstForDocker if answered == 0 => {
                    answered += 1;
                    let failure = TaskFailure {
                        lease: a.lease,
                        signature: task.signature.clone(),
                        class: FailureClass::Environment as i32,
                        message: "docker went away".into(),
                    };
                    let _ = tx
                        .send(WorkerMessage {
                            msg: Some(worker_message::Msg::Failure(failure)),
                        })
                        .await;
                    continue;
                }
                Behaviour::StallsAfter(_) | Behaviour::Works | Behaviour::FailsFirstForDocker => {
                    answered += 1
                }
            }
            let result = TaskResult {
                lease: a.lease,
                signature: task.signature.clone(),
                reference: task.target.clone(),
                digest: format!("sha256:{}", task.signature),
                size: 1,
                duration_ms: 5,
                reused: false,
            };
            let _ = tx
                .send(WorkerMessage {
                    msg: Some(worker_message::Msg::Result(result)),
                })
                .await;
        }
    })
}

fn project(config: &str) -> Project {
    Project {
        config_name: "werf.yaml".into(),
        config: config.into(),
        ..Default::default()
    }
}

async fn submit(addr: SocketAddr, images: &[&str]) -> String {
    submit_to(addr, images, "localhost:5000/demo-stages").await
}

/// Submits a build whose stages go to `repo`.
async fn submit_to(addr: SocketAddr, images: &[&str], repo: &str) -> String {
    let mut client = BuildsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    client
        .submit(SubmitRequest {
            project: Some(project(CONFIG)),
            images: images.iter().map(|s| s.to_string()).collect(),
            repo: repo.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .build_id
}

/// A coordinator on a fresh DB with one working fake worker, after one successful build of
/// `images`: (the DB, the coordinator, the worker's log, the worker).
async fn built_once(
    images: &[&str],
) -> (
    tempfile::TempDir,
    Coordinator,
    Log,
    tokio::task::JoinHandle<()>,
) {
    let db = tempfile::tempdir().unwrap();
    let c = start(db.path()).await;
    let log: Log = Default::default();
    let w = worker(c.addr, "w1", Behaviour::Works, log.clone());
    let first = submit(c.addr, images).await;
    assert_eq!(
        finish(c.addr, &first).await.0,
        BuildStatus::Succeeded as i32
    );
    (db, c, log, w)
}

/// A build's events from its first (a message of the stream carries several).
async fn watch(addr: SocketAddr, build: &str) -> tonic::Streaming<BuildEvents> {
    let mut client = BuildsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    client
        .watch(WatchRequest {
            build_id: build.into(),
            after: 0,
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next event of a watch, waiting for the next message when `received` is empty; `None`
/// when the watch ends.
async fn next_event(
    watch: &mut tonic::Streaming<BuildEvents>,
    received: &mut std::collections::VecDeque<BuildEvent>,
) -> Option<BuildEvent> {
    while received.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(20), watch.next())
            .await
            .expect("an event in time")?;
        received.extend(message.expect("the watch goes on").events);
    }
    received.pop_front()
}

/// Watches a build to its end: (final status, per signature the last stage state).
async fn finish(addr: SocketAddr, build: &str) -> (i32, BTreeMap<String, i32>) {
    let mut events = watch(addr, build).await;
    let mut received = Default::default();
    let mut states = BTreeMap::new();
    loop {
        let Some(e) = next_event(&mut events, &mut received).await else {
            panic!("the watch ended before the build finished")
        };
        match e.event {
            Some(build_event::Event::Stage(s)) => {
                states.insert(s.signature, s.state);
            }
            Some(build_event::Event::Finished(f)) => return (f.status, states),
            _ => {}
        }
    }
}

/// Every stage event of a build that has finished, in order.
async fn stage_events(addr: SocketAddr, build: &str) -> Vec<StageEvent> {
    let messages: Vec<_> = watch(addr, build).await.collect().await;
    messages
        .into_iter()
        .flat_map(|m| m.unwrap().events)
        .filter_map(|e| match e.event {
            Some(build_event::Event::Stage(s)) => Some(s),
            _ => None,
        })
        .collect()
}

fn runs_per_signature(log: &Log) -> BTreeMap<String, usize> {
    let mut runs = BTreeMap::new();
    for (_, sig) in log.lock().unwrap().iter() {
        *runs.entry(sig.clone()).or_insert(0) += 1;
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_builds_sharing_stages_run_each_stage_once() {
    let db = tempfile::tempdir().unwrap();
    let c = start(db.path()).await;
    let log: Log = Default::default();
    let w1 = worker(c.addr, "w1", Behaviour::Works, log.clone());
    let w2 = worker(c.addr, "w2", Behaviour::Works, log.clone());
    let (a, b) = tokio::join!(submit(c.addr, &["api"]), submit(c.addr, &["web"]));
    let ((sa, states_a), (sb, states_b)) = tokio::join!(finish(c.addr, &a), finish(c.addr, &b));
    assert_eq!(sa, BuildStatus::Succeeded as i32);
    assert_eq!(sb, BuildStatus::Succeeded as i32);
    let runs = runs_per_signature(&log);
    assert!(
        runs.values().all(|n| *n == 1),
        "every stage ran once: {runs:?}"
    );
    // base: from + install; api and web: one `from` stage on base (the same instructions, so
    // the same signature: image names are not inputs) and their own setup.
    assert_eq!(runs.len(), 5, "{runs:?}");
    // The common stages are shared: built for one build, shared with (or cached for) the other.
    let shared: Vec<&String> = states_a
        .keys()
        .filter(|s| states_b.contains_key(*s))
        .collect();
    assert_eq!(shared.len(), 3);
    for sig in shared {
        let pair = [states_a[sig], states_b[sig]];
        assert!(pair.contains(&(StageState::Built as i32)), "{pair:?}");
    }
    // A third build of everything is all cache hits: nothing runs.
    let before = log.lock().unwrap().len();
    let all = submit(c.addr, &[]).await;
    let (s, states) = finish(c.addr, &all).await;
    assert_eq!(s, BuildStatus::Succeeded as i32);
    assert!(
        states.values().all(|s| *s == StageState::Cached as i32),
        "{states:?}"
    );
    assert_eq!(log.lock().unwrap().len(), before);
    w1.abort();
    w2.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_build_waiting_for_a_stage_hears_of_its_runs() {
    // Two builds queue the same base stages before any worker is there; the first dispatch
    // fails for want of Docker and is retried. Both builds hear of each start, the requeue
    // and the end, with the stage's names, the worker and the run's duration.
    let db = tempfile::tempdir().unwrap();
    let c = start(db.path()).await;
    let (a, b) = tokio::join!(submit(c.addr, &["api"]), submit(c.addr, &["web"]));
    let log: Log = Default::default();
    let w = worker(c.addr, "w1", Behaviour::FailsFirstForDocker, log.clone());
    assert_eq!(finish(c.addr, &a).await.0, BuildStatus::Succeeded as i32);
    assert_eq!(finish(c.addr, &b).await.0, BuildStatus::Succeeded as i32);
    let failed = log.lock().unwrap()[0].1.clone();
    let mut done_states = vec![];
    for build in [&a, &b] {
        let events = stage_events(c.addr, build).await;
        assert!(
            events
                .iter()
                .all(|e| !e.image.is_empty() && !e.stage.is_empty()),
            "{events:?}"
        );
        let of_failed: Vec<(i32, &str, &str)> = events
            .iter()
            .filter(|e| e.signature == failed)
            .map(|e| (e.state, e.worker.as_str(), e.message.as_str()))
            .collect();
        let (queued, started, requeued) = (
            StageState::Queued as i32,
            StageState::Started as i32,
            StageState::Requeued as i32,
        );
        assert_eq!(
            of_failed[..4],
            [
                (queued, "", ""),
                (started, "w1", ""),
                (requeued, "", "docker went away"),
                (started, "w1", "attempt 2"),
            ],
            "{of_failed:?}"
        );
        let done = events.iter().rfind(|e| e.signature == failed).unwrap();
        assert_eq!((done.worker.as_str(), done.duration_ms), ("w1", 5));
        done_states.push(done.state);
    }
    done_states.sort();
    let mut built_and_shared = [StageState::Built as i32, StageState::Shared as i32];
    built_and_shared.sort();
    assert_eq!(
        done_states, built_and_shared,
        "built for the build that queued it first, shared with the other"
    );
    w.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_of_a_worker_that_disconnects_moves_to_another() {
    let db = tempfile::tempdir().unwrap();
    let c = start(db.path()).await;
    let log: Log = Default::default();
    let dying = worker(c.addr, "dying", Behaviour::DiesOnFirstTask, log.clone());
    // Let the dying worker connect first so it gets work.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let build = submit(c.addr, &["api"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let healthy = worker(c.addr, "healthy", Behaviour::Works, log.clone());
    let (status, _) = finish(c.addr, &build).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    let entries = log.lock().unwrap().clone();
    let (_, lost) = entries
        .iter()
        .find(|(w, _)| w == "dying")
        .expect("the dying worker got a task")
        .clone();
    assert!(
        entries.iter().any(|(w, s)| w == "healthy" && *s == lost),
        "the lost task ran on the healthy worker: {entries:?}"
    );
    dying.abort();
    healthy.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_finishes_its_builds() {
    let db = tempfile::tempdir().unwrap();
    let c = start(db.path()).await;
    let log: Log = Default::default();
    // One stage gets done, then the worker stalls on the next: the build is mid-way.
    let staller = worker(c.addr, "staller", Behaviour::StallsAfter(1), log.clone());
    let build = submit(c.addr, &["api"]).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = log.lock().unwrap().clone();
    assert_eq!(
        before.len(),
        2,
        "one stage done, one taken and stalled: {before:?}"
    );
    staller.abort();
    c.task.abort();
    drop(c);

    let c = start(db.path()).await;
    let log2: Log = Default::default();
    let w = worker(c.addr, "fresh", Behaviour::Works, log2.clone());
    let (status, _) = finish(c.addr, &build).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    let after = log2.lock().unwrap().clone();
    assert!(!after.is_empty(), "the resumed build ran its stages");
    assert!(
        after.iter().all(|(_, sig)| *sig != before[0].1),
        "the stage finished before the restart is not built again: {after:?}"
    );
    assert!(
        after.iter().any(|(_, sig)| *sig == before[1].1),
        "the stalled stage ran again: {after:?}"
    );
    w.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_stage_gone_from_the_registry_runs_again() {
    let (_db, c, log, w) = built_once(&["api"]).await;
    let ran = log.lock().unwrap().clone();
    assert_eq!(
        ran.len(),
        4,
        "base from and install, api from and setup: {ran:?}"
    );

    // api's last stage vanishes from the registry: the next build checks it, finds out, and
    // runs it again (and only it: its parent's image is there).
    let (_, last) = ran.last().unwrap().clone();
    c.images
        .missing(&format!("localhost:5000/demo-stages:{last}"));
    let again = submit(c.addr, &["api"]).await;
    let (status, states) = finish(c.addr, &again).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    for (sig, state) in &states {
        let want = if *sig == last {
            StageState::Built
        } else {
            StageState::Cached
        };
        assert_eq!(*state, want as i32, "{sig}: {states:?}");
    }
    assert_eq!(log.lock().unwrap().len(), 5);
    assert_eq!(log.lock().unwrap()[4].1, last);
    w.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_stages_are_checked_with_one_tag_listing_per_repository() {
    let (_db, c, log, w) = built_once(&["api", "web"]).await;
    let ran: Vec<String> = log.lock().unwrap().iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(
        ran.len(),
        5,
        "base from and install, api and web setup: {ran:?}"
    );

    // The registry lists its tags now; the last stage built (api's or web's setup, a stage
    // nothing depends on) is not among them.
    let gone = ran[4].clone();
    c.images.listing(
        ran.iter()
            .filter(|s| **s != gone)
            .map(|s| format!("localhost:5000/demo-stages:{s}")),
    );
    let again = submit(c.addr, &["api", "web"]).await;
    let (status, states) = finish(c.addr, &again).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    for (sig, state) in &states {
        let want = if *sig == gone {
            StageState::Built
        } else {
            StageState::Cached
        };
        assert_eq!(*state, want as i32, "{sig}: {states:?}");
    }
    assert_eq!(log.lock().unwrap().len(), 6);
    // Round one: both images' last stages, from one listing; round two: the rebuilt stage's
    // parent, from the same listing.
    assert_eq!(c.images.asked(), (0, 1), "one listing, no HEAD");
    w.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_recorded_in_another_repository_is_not_a_cache_hit() {
    let (_db, c, log, w) = built_once(&["api"]).await;
    assert_eq!(log.lock().unwrap().len(), 4);

    // The same stages asked for in another repository: none of them is there yet.
    let moved = submit_to(c.addr, &["api"], "localhost:5000/elsewhere").await;
    let (status, states) = finish(c.addr, &moved).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    assert!(
        states.values().all(|s| *s == StageState::Built as i32),
        "every stage built for the new repository: {states:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 8);

    // And there now: the next build there is all cached.
    let again = submit_to(c.addr, &["api"], "localhost:5000/elsewhere").await;
    let (_, states) = finish(c.addr, &again).await;
    assert!(
        states.values().all(|s| *s == StageState::Cached as i32),
        "{states:?}"
    );
    w.abort();
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_finished_builds_leave_memory_and_answer_from_the_store() {
    let db = tempfile::tempdir().unwrap();
    let c = start_keeping(db.path(), 1).await;
    let log: Log = Default::default();
    let w = worker(c.addr, "w1", Behaviour::Works, log.clone());
    let first = submit(c.addr, &["api"]).await;
    assert_eq!(
        finish(c.addr, &first).await.0,
        BuildStatus::Succeeded as i32
    );
    let second = submit(c.addr, &["web"]).await;
    assert_eq!(
        finish(c.addr, &second).await.0,
        BuildStatus::Succeeded as i32
    );

    let mut client = BuildsClient::connect(format!("http://{}", c.addr))
        .await
        .unwrap();
    let get = |id: &str| {
        let request = GetRequest {
            build_id: id.to_string(),
        };
        let mut client = client.clone();
        async move { client.get(request).await.unwrap().into_inner() }
    };
    // The first build left memory when the second finished: the store still knows how it
    // ended, without stage details; the second is still there in full.
    let old = get(&first).await;
    assert_eq!(old.status, BuildStatus::Succeeded as i32);
    assert!(old.stages.is_empty(), "{old:?}");
    assert_eq!(get(&second).await.stages.len(), 4);
    let watched = client
        .watch(WatchRequest {
            build_id: first.clone(),
            after: 0,
        })
        .await;
    assert_eq!(watched.unwrap_err().code(), tonic::Code::NotFound);

    // What the forgotten build used is asked for again: all cached, nothing runs.
    let ran = log.lock().unwrap().len();
    let third = submit(c.addr, &["api"]).await;
    let (status, states) = finish(c.addr, &third).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    assert!(
        states.values().all(|s| *s == StageState::Cached as i32),
        "{states:?}"
    );
    assert_eq!(log.lock().unwrap().len(), ran);
    w.abort();
    c.task.abort();
}

/// A coordinator over a [`GatedCommits`] store (failing its commits if `fail`) with one
/// working fake worker, once a stage is reported built and its commit is held at the gate,
/// with `Handle::drain` asked then: the store, a guard opening its gate when dropped, the
/// coordinator, the drain's task, the stage's signature, the store written to.
async fn first_stage_held_at_the_gate(
    fail: bool,
) -> (
    Arc<GatedCommits>,
    OpenOnDrop,
    Coordinator,
    tokio::task::JoinHandle<Result<(), tonic::Status>>,
    String,
    Arc<dyn Store>,
) {
    let written: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let store = Arc::new(GatedCommits {
        inner: written.clone(),
        open: Mutex::new(false),
        opened: std::sync::Condvar::new(),
        fail,
    });
    let guard = OpenOnDrop(store.clone());
    let (c, handle) = serve(store.clone(), ServerConfig::default().keep_finished).await;
    let _w = worker(c.addr, "w1", Behaviour::Works, Default::default());
    let build = submit(c.addr, &[]).await;
    let mut events = watch(c.addr, &build).await;
    let mut received = Default::default();
    let built = loop {
        let e = next_event(&mut events, &mut received)
            .await
            .expect("the watch goes on");
        if let Some(build_event::Event::Stage(s)) = e.event {
            if s.state == StageState::Built as i32 {
                break s.signature;
            }
        }
    };
    assert_eq!(
        written.stage(&built).unwrap(),
        None,
        "the commit is held at the gate"
    );
    let draining = tokio::spawn(async move { handle.drain().await });
    (store, guard, c, draining, built, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_returns_once_the_results_received_are_written() {
    let (store, _open_at_the_end, c, draining, built, written) =
        first_stage_held_at_the_gate(false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !draining.is_finished(),
        "drain waits while a commit is in flight"
    );
    store.open();
    tokio::time::timeout(Duration::from_secs(20), draining)
        .await
        .expect("drain returns once the commits are written")
        .unwrap()
        .unwrap();
    let record = written.stage(&built).unwrap();
    assert!(
        record.is_some(),
        "after drain the stage {built} is recorded"
    );
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_says_so_when_a_write_failed() {
    let (store, _open_at_the_end, c, draining, built, written) =
        first_stage_held_at_the_gate(true).await;
    store.open();
    let answer = tokio::time::timeout(Duration::from_secs(20), draining)
        .await
        .expect("drain returns")
        .unwrap();
    let err = answer.expect_err("a failed write is not reported as recorded");
    assert!(err.message().contains("failed"), "{}", err.message());
    assert_eq!(written.stage(&built).unwrap(), None);
    c.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_many_slots_takes_a_burst_larger_than_the_default_outbox() {
    // 600 images from 600 different bases: 600 pulls ready at once, all for the one worker.
    let mut config = String::from("project: burst\nconfigVersion: 1\n");
    for i in 0..600 {
        config.push_str(&format!("---\nimage: i{i}\nfrom: base{i}:1\n"));
    }
    let db = tempfile::tempdir().unwrap();
    let c = start(db.path()).await;
    let log: Log = Default::default();
    let _w = worker_with_slots(c.addr, "wide", Behaviour::Works, log.clone(), 1000);
    let mut client = BuildsClient::connect(format!("http://{}", c.addr))
        .await
        .unwrap();
    let build = client
        .submit(SubmitRequest {
            project: Some(project(&config)),
            images: vec![],
            repo: "localhost:5000/burst-stages".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .build_id;
    let (status, _) = finish(c.addr, &build).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    assert_eq!(
        log.lock().unwrap().len(),
        600,
        "each pull ran once, on the worker that was never dropped"
    );
    c.task.abort();
}
