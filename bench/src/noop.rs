//! The `noop` benchmark: a fully cached monorepo built through the coordinator, as a CI run
//! that changed nothing would: `conveyor build --coordinator` (render, plan, submit, watch,
//! report) against a `conveyor coordinator` process whose store already holds every stage.
//! The baseline in the same run is `conveyor plan` on the same project: the front end alone.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Result};

use crate::dispatch::{no_op_worker, Clock};
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

    // Two no-op workers prime the store: every stage is "built" once.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let clock = Arc::new(Mutex::new(Clock::default()));
    let workers: Vec<_> = (0..2)
        .map(|w| rt.spawn(no_op_worker(addr, format!("noop{w}"), clock.clone())))
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
