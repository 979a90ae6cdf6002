//! The `dispatch` benchmark: the real coordinator (server state task, gRPC services, RocksDB
//! in a temp dir) over loopback, with no-op workers that answer every assignment at once.
//!
//! The harness (no-op workers, the client that submits and watches) runs in this process, on
//! the same cores as the coordinator it measures; its watcher decodes only the build's end
//! ([`Skimmed`]), as a real client's decoding happens on its own machine.
//!
//! Throughput is stages dispatched and completed per second from submit to the build's end.
//! Dispatch latency of a stage is the time from its becoming ready (the last result it
//! depended on was sent, or the submission's acceptance for a stage with no dependencies) to
//! its assignment arriving at a worker.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use conveyor_coordinator::front;
use conveyor_coordinator::rpc::{BuildsService, WorkersService};
use conveyor_coordinator::server::{self, ServerConfig};
use conveyor_coordinator::store::{RocksStore, Store};
use conveyor_proto::v1::builds_client::BuildsClient;
use conveyor_proto::v1::builds_server::BuildsServer;
use conveyor_proto::v1::workers_client::WorkersClient;
use conveyor_proto::v1::workers_server::WorkersServer;
use conveyor_proto::v1::{
    coordinator_message, worker_message, BuildStatus, Hello, Project, SubmitRequest, TaskResult,
    WatchRequest, WorkerMessage,
};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use crate::gen::{monorepo, Shape};

/// One measured run.
pub struct Run {
    pub stages: usize,
    pub seconds: f64,
    /// Dispatch latencies in milliseconds, sorted.
    pub latencies_ms: Vec<f64>,
    /// CPU time of the whole process (coordinator, workers and client, user + system) from
    /// submit to the build's end, per stage, in microseconds: steadier than latency on a busy
    /// 2-core machine, and what latency under load is made of.
    pub cpu_us_per_stage: f64,
}

/// When each stage's result was sent and its assignment arrived, as no-op workers see them.
#[derive(Default)]
pub struct Clock {
    /// Signature → when its result was sent.
    done: HashMap<String, Instant>,
    /// Signature → when its assignment arrived.
    assigned: HashMap<String, Instant>,
}

/// Runs one build of a synthetic monorepo of `images` on `workers` no-op workers.
pub async fn run(images: usize, workers: usize) -> Result<Run> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path())?);
    let handle = server::start(store, ServerConfig::default())
        .await
        .map_err(|s| anyhow!("{}", s.message()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(BuildsServer::new(BuildsService::new(handle.clone())))
            .add_service(WorkersServer::new(WorkersService::new(handle)))
            .serve_with_incoming(conveyor_coordinator::rpc::incoming(listener))
            .await;
    });

    let generated = monorepo(Shape {
        images,
        artifacts: 4,
    });
    let project = Project {
        config_name: "werf.yaml".into(),
        config: generated.werf_yaml.clone(),
        files: generated
            .files
            .iter()
            .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
            .collect(),
        env: Default::default(),
    };
    let (_, plan) = front::plan_project(project.clone())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for image in &plan.images {
        for stage in &image.stages {
            let mut d: Vec<String> = stage.parent.iter().cloned().collect();
            d.extend(stage.needs.iter().cloned());
            deps.insert(stage.signature.clone(), d);
        }
    }

    // Sized up front: a map rehashing under the workers' lock would add to the latencies
    // measured.
    let clock = Arc::new(Mutex::new(Clock {
        done: HashMap::with_capacity(deps.len()),
        assigned: HashMap::with_capacity(deps.len()),
    }));
    let mut worker_tasks = vec![];
    for w in 0..workers {
        worker_tasks.push(tokio::spawn(no_op_worker(
            addr,
            format!("w{w}"),
            clock.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut client = BuildsClient::new(channel.clone());
    let cpu_before = cpu_seconds();
    let submitted = Instant::now();
    let build = client
        .submit(SubmitRequest {
            project: Some(project),
            images: vec![],
            repo: "localhost:5000/bench-stages".into(),
        })
        .await?
        .into_inner()
        .build_id;
    // Planning happens before the build reaches the scheduler: stages with no dependencies are
    // ready from the moment the submission is accepted.
    let accepted = Instant::now();
    let status = watch_until_finished(channel, build).await?;
    let seconds = submitted.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    if status != Some(BuildStatus::Succeeded as i32) {
        return Err(anyhow!("the build ended with status {status:?}"));
    }
    let clock = clock.lock().map_err(|_| anyhow!("clock poisoned"))?;
    let mut latencies_ms: Vec<f64> = deps
        .iter()
        .filter_map(|(sig, d)| {
            let at = clock.assigned.get(sig)?;
            let ready = d
                .iter()
                .filter_map(|x| clock.done.get(x))
                .max()
                .copied()
                .unwrap_or(accepted);
            Some(at.saturating_duration_since(ready).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    for t in worker_tasks {
        t.abort();
    }
    server.abort();
    Ok(Run {
        stages: deps.len(),
        seconds,
        latencies_ms,
        cpu_us_per_stage: cpu * 1e6 / deps.len().max(1) as f64,
    })
}

/// What the benchmark reads of a `Watch` message: the status of a `finished` event. The
/// stage events in between are skipped undecoded (prost skips fields a message does not
/// declare): the harness shares this machine's cores with the coordinator it measures, while
/// a real client decodes its events on its own machine.
#[derive(Clone, PartialEq, prost::Message)]
struct Skimmed {
    #[prost(message, repeated, tag = "2")]
    events: Vec<SkimmedEvent>,
}

/// See [`Skimmed`]: `BuildEvent` with only its `finished` field (tag 6).
#[derive(Clone, PartialEq, prost::Message)]
struct SkimmedEvent {
    #[prost(message, optional, tag = "6")]
    finished: Option<conveyor_proto::v1::BuildFinished>,
}

/// Watches `build` until it finishes; returns its status (`None` if the stream ended first).
async fn watch_until_finished(
    channel: tonic::transport::Channel,
    build: String,
) -> Result<Option<i32>> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.context("the coordinator is not ready")?;
    let mut events = grpc
        .server_streaming(
            tonic::Request::new(WatchRequest {
                build_id: build,
                after: 0,
            }),
            tonic::codegen::http::uri::PathAndQuery::from_static("/conveyor.v1.Builds/Watch"),
            tonic_prost::ProstCodec::<WatchRequest, Skimmed>::default(),
        )
        .await?
        .into_inner();
    while let Some(batch) = events.next().await {
        if let Some(f) = batch?.events.into_iter().find_map(|e| e.finished) {
            return Ok(Some(f.status));
        }
    }
    Ok(None)
}

/// A worker that answers every assignment at once with a made-up result.
pub async fn no_op_worker(addr: SocketAddr, name: String, clock: Arc<Mutex<Clock>>) -> Result<()> {
    // No-op work needs no slot limit: latency then measures the coordinator, not a queue
    // waiting for free slots.
    let (tx, mut inbound) = attach(addr, name, 4096).await?;
    while let Some(msg) = inbound.next().await {
        let Some(coordinator_message::Msg::Assign(a)) = msg?.msg else {
            continue;
        };
        let Some(task) = a.task else { continue };
        let now = Instant::now();
        if let Ok(mut c) = clock.lock() {
            c.assigned.insert(task.signature.clone(), now);
            c.done.insert(task.signature.clone(), Instant::now());
        }
        tx.send(WorkerMessage {
            msg: Some(worker_message::Msg::Result(TaskResult {
                lease: a.lease,
                signature: task.signature.clone(),
                reference: task.target,
                digest: format!("sha256:{}", task.signature),
                size: 0,
                duration_ms: 0,
                reused: false,
            })),
        })
        .await?;
    }
    Ok(())
}

/// A fake worker's connection: says hello (`name`, `slots`) and returns the stream to send
/// results on and the assignments coming in.
pub async fn attach(
    addr: SocketAddr,
    name: String,
    slots: u32,
) -> Result<(
    mpsc::Sender<WorkerMessage>,
    tonic::Streaming<conveyor_proto::v1::CoordinatorMessage>,
)> {
    let mut client = WorkersClient::connect(format!("http://{addr}"))
        .await
        .context("worker connects")?;
    let (tx, rx) = mpsc::channel(1024);
    tx.send(WorkerMessage {
        msg: Some(worker_message::Msg::Hello(Hello {
            name,
            slots,
            ..Default::default()
        })),
    })
    .await?;
    let inbound = client
        .attach(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok((tx, inbound))
}

/// The `p`-th percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Submits a synthetic monorepo of `images` to an in-process coordinator with no workers, so
/// every stage stays queued; returns (stages queued, RSS MB now, peak RSS MB).
pub async fn queued_rss(images: usize) -> Result<(usize, f64, f64)> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(dir.path())?);
    let handle = server::start(store, ServerConfig::default())
        .await
        .map_err(|s| anyhow!("{}", s.message()))?;
    let generated = monorepo(Shape {
        images,
        artifacts: 4,
    });
    let project = Project {
        config_name: "werf.yaml".into(),
        config: generated.werf_yaml,
        files: generated
            .files
            .into_iter()
            .map(|(p, c)| (p, c.into_bytes()))
            .collect(),
        env: Default::default(),
    };
    let build = handle
        .submit(SubmitRequest {
            project: Some(project),
            images: vec![],
            repo: "localhost:5000/bench-stages".into(),
        })
        .await
        .map_err(|s| anyhow!("{}", s.message()))?;
    let info = handle
        .get(build)
        .await
        .map_err(|s| anyhow!("{}", s.message()))?;
    let (rss, peak) = rss_mb();
    Ok((info.stages.len(), rss, peak))
}

/// User + system CPU time of this process so far, in seconds (0 if it cannot be read).
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// (VmRSS, VmHWM) of this process in MB.
pub fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
