//! The `docker` benchmark: real builds on this machine, Conveyor against BuildKit, side by side
//! in one run.
//!
//! The project: `images` images of busybox shell stages, in `fromImage` chains of `chain`
//! images, each image `stages` shell stages that sleep `sleep` seconds and write a file. A run
//! id goes into every command, so each run's cold builds are really cold.
//!
//! - Conveyor: a `conveyor coordinator` and one `conveyor worker` per engine, stages shared
//!   through the registry; `conveyor build --coordinator` times the cold and the warm build.
//! - BuildKit: the same images as Dockerfiles (one `RUN` per shell stage, `FROM` the parent's
//!   tag), built one after another on engine 1 by the engine's BuildKit builder. Debian 12's
//!   `docker` has no buildx, so `DOCKER_BUILDKIT=1 docker build` cannot run here; the bench
//!   calls the same builder through the Engine API (`POST /build?version=2`, what the CLI
//!   sends) with curl. The cold BuildKit builds are timed without pushing (pushing is
//!   Conveyor's cost only); the images are pushed afterwards, untimed, with inline cache.
//! - Fresh engine: engine 2 without this run's images. Conveyor: the embedded default with a
//!   new database (a fresh CI machine) and `--repo`: everything comes from the registry.
//!   BuildKit: the Dockerfiles again with `cache-from` the pushed images.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::procs::{self, spread};

/// The benchmark's knobs.
#[derive(Debug, Clone)]
pub struct Params {
    pub images: usize,
    pub stages: usize,
    pub chain: usize,
    pub sleep: f64,
    /// The two engines: Conveyor's workers (one each) and BuildKit (the first; the second is
    /// the fresh engine).
    pub engines: [String; 2],
    pub slots: u32,
    pub registry: String,
    pub base: String,
}

/// Seconds of each measured build of one run.
#[derive(Debug, Clone, Default)]
pub struct Times {
    pub conveyor_cold: f64,
    pub conveyor_warm: f64,
    pub conveyor_fresh: f64,
    pub buildkit_cold: f64,
    pub buildkit_warm: f64,
    pub buildkit_fresh: f64,
}

impl Times {
    pub fn cold_ratio(&self) -> f64 {
        self.conveyor_cold / self.buildkit_cold
    }
    pub fn warm_ratio(&self) -> f64 {
        self.conveyor_warm / self.buildkit_warm
    }
    pub fn fresh_engine_ratio(&self) -> f64 {
        self.conveyor_fresh / self.conveyor_cold
    }
}

/// The images of one run: (name, parent image or None for the base, shell commands).
fn images(p: &Params, run: &str) -> Vec<(String, Option<String>, Vec<String>)> {
    (0..p.images)
        .map(|i| {
            let parent = (i % p.chain.max(1) != 0).then(|| format!("img-{}", i - 1));
            let commands = (0..p.stages)
                .map(|k| format!("sleep {} && echo {run}-{i}-{k} > /stage-{i}-{k}", p.sleep))
                .collect();
            (format!("img-{i}"), parent, commands)
        })
        .collect()
}

const SHELL_STAGES: [&str; 4] = ["beforeInstall", "install", "beforeSetup", "setup"];

/// The werf.yaml of a run.
fn werf_yaml(p: &Params, run: &str) -> String {
    let mut y = format!("project: bench{run}\nconfigVersion: 1\n");
    for (name, parent, commands) in images(p, run) {
        let _ = write!(y, "---\nimage: {name}\n");
        match parent {
            Some(parent) => {
                let _ = writeln!(y, "fromImage: {parent}");
            }
            None => {
                let _ = writeln!(y, "from: {}", p.base);
            }
        }
        y.push_str("shell:\n");
        // Up to four shell stages; more commands go into the last one.
        for (k, command) in commands.iter().enumerate() {
            let stage = SHELL_STAGES[k.min(SHELL_STAGES.len() - 1)];
            if k < SHELL_STAGES.len() {
                let _ = writeln!(y, "  {stage}:");
            }
            let _ = writeln!(y, "  - {command}");
        }
    }
    y
}

/// One Dockerfile per image, in build order: (tag, Dockerfile).
fn dockerfiles(p: &Params, run: &str) -> Vec<(String, String)> {
    let tag = |name: &str| format!("{}/bench-bk-{run}/{name}:latest", p.registry);
    images(p, run)
        .into_iter()
        .map(|(name, parent, commands)| {
            let from = parent.map_or_else(|| p.base.clone(), |parent| tag(&parent));
            let mut d = format!("FROM {from}\n");
            // The same layers as Conveyor's stages: a RUN per shell stage (extra commands
            // joined into the last, as the werf.yaml has them).
            let mut runs: Vec<Vec<&String>> = vec![];
            for (k, command) in commands.iter().enumerate() {
                if k < SHELL_STAGES.len() {
                    runs.push(vec![command]);
                } else if let Some(last) = runs.last_mut() {
                    last.push(command);
                }
            }
            for run in runs {
                let joined: Vec<&str> = run.iter().map(|c| c.as_str()).collect();
                let _ = writeln!(d, "RUN {}", joined.join(" && "));
            }
            (tag(&name), d)
        })
        .collect()
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Builds `dockerfile` as `tag` with the engine's BuildKit builder (see the module docs).
fn buildkit(
    engine: &str,
    work: &Path,
    tag: &str,
    dockerfile: &str,
    cache_from: Option<&str>,
) -> Result<()> {
    let socket = engine
        .strip_prefix("unix://")
        .with_context(|| format!("BuildKit needs a unix:// engine, not {engine}"))?;
    std::fs::write(work.join("Dockerfile"), dockerfile)?;
    let tar = work.join("context.tar");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(work)
        .arg("Dockerfile")
        .status()
        .context("running tar")?;
    if !status.success() {
        bail!("tar failed for {tag}");
    }
    let mut url = format!(
        "http://localhost/v1.41/build?version=2&t={}&buildargs={}",
        encode(tag),
        encode(r#"{"BUILDKIT_INLINE_CACHE":"1"}"#)
    );
    if let Some(from) = cache_from {
        let _ = write!(url, "&cachefrom={}", encode(&format!(r#"["{from}"]"#)));
    }
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--unix-socket", socket, "-X", "POST"])
        .args(["-H", "Content-Type: application/x-tar", "--data-binary"])
        .arg(format!("@{}", tar.display()))
        .arg(&url)
        .output()
        .context("running curl (apt-get install curl)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("\"errorDetail\"") || text.contains("\"error\"") {
        bail!(
            "BuildKit build of {tag} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            text.lines()
                .filter(|l| l.contains("error"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

fn docker(engine: &str, args: &[&str]) -> Result<String> {
    let out = Command::new("docker")
        .args(["-H", engine])
        .args(args)
        .output()
        .context("running docker")?;
    if !out.status.success() {
        bail!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes from `engine` every image whose reference contains `needle`.
fn remove_images(engine: &str, needle: &str) -> Result<()> {
    let list = docker(engine, &["images", "--format", "{{.Repository}}:{{.Tag}}"])?;
    let refs: Vec<&str> = list.lines().filter(|l| l.contains(needle)).collect();
    for chunk in refs.chunks(50) {
        let mut args = vec!["rmi", "-f"];
        args.extend(chunk);
        docker(engine, &args)?;
    }
    Ok(())
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

/// One run: every measured build once, with a new run id.
pub fn run(bin: &Path, p: &Params) -> Result<Times> {
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let tmp = tempfile::tempdir()?;
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project)?;
    std::fs::write(project.join("werf.yaml"), werf_yaml(p, &run))?;
    let repo = format!("{}/bench-cv-{run}", p.registry);
    let mut t = Times::default();

    // Conveyor: a coordinator and a worker per engine.
    {
        let (_coordinator, url) = procs::coordinator(bin, &tmp.path().join("db"))?;
        let _workers = p
            .engines
            .iter()
            .enumerate()
            .map(|(i, e)| procs::worker(bin, &url, &format!("bench{i}"), e, p.slots))
            .collect::<Result<Vec<_>>>()?;
        let args = ["--coordinator", url.as_str(), "--repo", repo.as_str()];
        let (cold, report) = procs::build(bin, &project, &args)?;
        let counts = procs::sources(&report);
        if counts.get("built").copied().unwrap_or(0) == 0 {
            bail!("the cold Conveyor build built nothing: {counts:?}");
        }
        t.conveyor_cold = cold;
        let (warm, report) = procs::build(bin, &project, &args)?;
        let counts = procs::sources(&report);
        if counts.keys().any(|k| k != "cached") {
            bail!("the warm Conveyor build was not all cached: {counts:?}");
        }
        t.conveyor_warm = warm;
    }

    // BuildKit: one image after another on engine 1, cold then warm.
    let work = tmp.path().join("buildkit");
    std::fs::create_dir_all(&work)?;
    let files = dockerfiles(p, &run);
    let [engine1, engine2] = &p.engines;
    t.buildkit_cold = timed(|| {
        files
            .iter()
            .try_for_each(|(tag, d)| buildkit(engine1, &work, tag, d, None))
    })?;
    t.buildkit_warm = timed(|| {
        files
            .iter()
            .try_for_each(|(tag, d)| buildkit(engine1, &work, tag, d, None))
    })?;
    for (tag, _) in &files {
        docker(engine1, &["push", tag])?;
    }

    // A fresh engine: engine 2 without any of this run's images.
    remove_images(engine2, &run)?;
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir_all(&fresh)?;
    std::fs::write(fresh.join("werf.yaml"), werf_yaml(p, &run))?;
    let (seconds, report) = procs::build(
        bin,
        &fresh,
        &["--repo", repo.as_str(), "--docker", engine2.as_str()],
    )?;
    let counts = procs::sources(&report);
    if counts.keys().any(|k| k != "cached") {
        bail!("the fresh-engine Conveyor build was not all cached: {counts:?}");
    }
    t.conveyor_fresh = seconds;
    t.buildkit_fresh = timed(|| {
        files
            .iter()
            .try_for_each(|(tag, d)| buildkit(engine2, &work, tag, d, Some(tag)))
    })?;

    // Leave the engines as they were: this run's images go (the registry keeps its copies).
    for engine in &p.engines {
        remove_images(engine, &run)?;
    }
    Ok(t)
}

/// One figure of a run, by name.
type Figure = fn(&Times) -> f64;

/// The figures of several runs: medians with min and max, and the ratios of the median run.
pub fn summary(p: &Params, runs: &[Times]) -> serde_json::Value {
    let mut out = BTreeMap::new();
    let fields: [(&str, Figure); 9] = [
        ("conveyorColdSeconds", |t| t.conveyor_cold),
        ("conveyorWarmSeconds", |t| t.conveyor_warm),
        ("conveyorFreshEngineSeconds", |t| t.conveyor_fresh),
        ("buildkitColdSeconds", |t| t.buildkit_cold),
        ("buildkitWarmSeconds", |t| t.buildkit_warm),
        ("buildkitFreshEngineSeconds", |t| t.buildkit_fresh),
        ("coldRatio", Times::cold_ratio),
        ("warmRatio", Times::warm_ratio),
        ("freshEngineRatio", Times::fresh_engine_ratio),
    ];
    for (name, f) in fields {
        let values: Vec<f64> = runs.iter().map(f).collect();
        let (median, min, max) = spread(&values);
        out.insert(name.to_string(), serde_json::json!(median));
        out.insert(
            format!("{name}Range"),
            serde_json::json!({"min": min, "max": max}),
        );
    }
    out.insert("runs".into(), serde_json::json!(runs.len()));
    out.insert(
        "params".into(),
        serde_json::json!({"images": p.images, "stages": p.stages, "chain": p.chain,
            "sleepSeconds": p.sleep, "slotsPerWorker": p.slots, "engines": p.engines}),
    );
    serde_json::Value::Object(out.into_iter().collect())
}
