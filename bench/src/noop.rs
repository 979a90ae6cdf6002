//! The `noop` benchmark: a fully cached monorepo built through the coordinator, as a CI run
//! that changed nothing would: `conveyor build --coordinator` (render, plan, submit, watch,
//! report) against a `conveyor coordinator` process whose store already holds every stage.
//! The baseline in the same run is `conveyor plan` on the same project: the front end alone.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use conveyor_proto::v1::{coordinator_message, worker_message, TaskResult, WorkerMessage};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OciManifest};
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};
use tokio_stream::StreamExt;

use crate::dispatch::attach;
use crate::gen::{monorepo, Shape};
use crate::procs::{self, spread};

/// What one `noop` run measured: seconds per repeat.
pub struct Noop {
    pub images: usize,
    pub stages: usize,
    /// The priming build (every stage dispatched to no-op workers).
    pub cold_seconds: f64,
    pub noop_seconds: Vec<f64>,
    pub plan_seconds: Vec<f64>,
}

impl Noop {
    pub fn json(&self) -> serde_json::Value {
        let (wall, min, max) = spread(&self.noop_seconds);
        let (plan, plan_min, plan_max) = spread(&self.plan_seconds);
        serde_json::json!({
            "images": self.images, "stages": self.stages, "runs": self.noop_seconds.len(),
            "wallSeconds": wall, "minSeconds": min, "maxSeconds": max,
            "planSeconds": plan, "planMinSeconds": plan_min, "planMaxSeconds": plan_max,
            "ratioToPlan": wall / plan, "primingSeconds": self.cold_seconds,
        })
    }
}

/// Writes a synthetic monorepo of `images` into `dir`.
pub fn write_monorepo(dir: &Path, images: usize) -> Result<()> {
    let project = monorepo(Shape {
        images,
        artifacts: 4,
    });
    std::fs::create_dir_all(dir.join(".werf"))?;
    std::fs::write(dir.join("werf.yaml"), &project.werf_yaml)?;
    for (path, content) in &project.files {
        std::fs::write(dir.join(path), content)?;
    }
    Ok(())
}

pub fn run(bin: &Path, images: usize, runs: usize) -> Result<Noop> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("project");
    write_monorepo(&dir, images)?;
    let (_coordinator, url) = procs::coordinator(bin, &tmp.path().join("db"))?;
    let addr: SocketAddr = url.trim_start_matches("http://").parse()?;

    // Two stub workers prime the store: every stage is "built" once, as an empty image in the
    // registry (the coordinator checks there that the recorded stages a build needs exist).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let pushed = Arc::new(Mutex::new(HashSet::new()));
    let workers: Vec<_> = (0..2)
        .map(|w| rt.spawn(stub_worker(addr, format!("stub{w}"), pushed.clone())))
        .collect();
    let args = ["--coordinator", &url, "--repo", "localhost:5000/noop-bench"];
    let (cold_seconds, report) = procs::build(bin, &dir, &args)?;
    let stages: usize = procs::sources(&report).values().sum();
    for w in workers {
        w.abort();
    }

    let mut noop_seconds = vec![];
    let mut plan_seconds = vec![];
    for _ in 0..runs.max(1) {
        let (seconds, report) = procs::build(bin, &dir, &args)?;
        let counts = procs::sources(&report);
        if counts.get("cached") != Some(&stages) {
            bail!("the no-op build was not fully cached: {counts:?}");
        }
        noop_seconds.push(seconds);
        let start = Instant::now();
        let out = Command::new(bin)
            .args(["plan", "--dir"])
            .arg(&dir)
            .output()?;
        if !out.status.success() {
            bail!(
                "conveyor plan failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        plan_seconds.push(start.elapsed().as_secs_f64());
    }
    Ok(Noop {
        images,
        stages,
        cold_seconds,
        noop_seconds,
        plan_seconds,
    })
}

/// The config blob every stub stage image shares: an image with no layers.
const STUB_CONFIG: &[u8] =
    br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// A worker that builds nothing: for each assignment it pushes an empty image (one shared
/// config blob, no layers) to the stage's target in the local registry and reports success.
/// `pushed` holds the repositories that have the config blob already.
async fn stub_worker(
    addr: SocketAddr,
    name: String,
    pushed: Arc<Mutex<HashSet<String>>>,
) -> Result<()> {
    let registry = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    });
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(STUB_CONFIG)));
    let manifest = OciManifest::Image(OciImageManifest {
        config: OciDescriptor {
            media_type: CONFIG_TYPE.into(),
            digest: config_digest.clone(),
            size: STUB_CONFIG.len() as i64,
            ..Default::default()
        },
        layers: vec![],
        ..Default::default()
    });
    let (tx, mut inbound) = attach(addr, name, 16).await?;
    while let Some(msg) = inbound.next().await {
        let Some(coordinator_message::Msg::Assign(a)) = msg?.msg else {
            continue;
        };
        let Some(task) = a.task else { continue };
        let (registry, manifest, config_digest, pushed, tx) = (
            registry.clone(),
            manifest.clone(),
            config_digest.clone(),
            pushed.clone(),
            tx.clone(),
        );
        // A stage that cannot be pushed would leave the build waiting for ever: stop instead.
        tokio::spawn(async move {
            let work = async move {
                let reference: Reference = task.target.parse()?;
                let repository = format!("{}/{}", reference.registry(), reference.repository());
                let fresh = pushed
                    .lock()
                    .map(|p| !p.contains(&repository))
                    .unwrap_or(true);
                if fresh {
                    registry
                        .push_blob(&reference, STUB_CONFIG.to_vec(), &config_digest)
                        .await
                        .with_context(|| format!("pushing the stub config to {repository}"))?;
                    if let Ok(mut p) = pushed.lock() {
                        p.insert(repository);
                    }
                }
                let digest = registry
                    .push_manifest(&reference, &manifest)
                    .await
                    .with_context(|| format!("pushing {}", task.target))?;
                tx.send(WorkerMessage {
                    msg: Some(worker_message::Msg::Result(TaskResult {
                        lease: a.lease,
                        signature: task.signature.clone(),
                        reference: task.target,
                        digest,
                        size: 0,
                        duration_ms: 0,
                        reused: false,
                    })),
                })
                .await?;
                anyhow::Ok(())
            };
            if let Err(e) = work.await {
                eprintln!("conveyor-bench noop: stub worker: {e:#}");
                std::process::exit(1);
            }
        });
    }
    Ok(())
}
