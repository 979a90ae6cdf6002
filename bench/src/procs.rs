//! The real `conveyor` binary as the benchmarks run it: a coordinator and workers as
//! processes, and timed `conveyor build`s with their JSON reports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A child process, killed when dropped (a failed benchmark leaves nothing running).
pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `conveyor` binary: the one given, else the one beside this benchmark's binary (cargo
/// builds both into the same directory).
pub fn conveyor_bin(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = match given {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark binary has no directory")?
            .join("conveyor"),
    };
    if !path.is_file() {
        bail!(
            "no conveyor binary at {} (build it: cargo build --release -p conveyor, or pass \
             --conveyor PATH)",
            path.display()
        );
    }
    Ok(path)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `conveyor coordinator` on a free port with its database at `db`; returns it and its
/// URL once it accepts connections.
pub fn coordinator(bin: &Path, db: &Path) -> Result<(Proc, String)> {
    let port = free_port()?;
    let child = Command::new(bin)
        .args([
            "coordinator",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
        ])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting conveyor coordinator")?;
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("the coordinator did not listen on port {port} within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((proc, format!("http://127.0.0.1:{port}")))
}

/// Starts `conveyor worker` on engine `docker`.
pub fn worker(bin: &Path, url: &str, name: &str, docker: &str, slots: u32) -> Result<Proc> {
    let child = Command::new(bin)
        .args([
            "worker",
            "--coordinator",
            url,
            "--name",
            name,
            "--docker",
            docker,
        ])
        .args(["--slots", &slots.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting conveyor worker")?;
    Ok(Proc(child))
}

/// Runs `conveyor build --dir DIR ARGS... --report FILE` and returns its wall time in seconds
/// and its report. A build that does not succeed fails the benchmark, with its error output.
pub fn build(bin: &Path, dir: &Path, args: &[&str]) -> Result<(f64, serde_json::Value)> {
    let report = dir.join(".bench-report.json");
    let start = Instant::now();
    let out = Command::new(bin)
        .arg("build")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .args(["--output", "json", "--report"])
        .arg(&report)
        .stdout(Stdio::null())
        .output()
        .context("running conveyor build")?;
    let seconds = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "conveyor build failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report =
        serde_json::from_slice(&std::fs::read(&report)?).context("reading the build's report")?;
    Ok((seconds, report))
}

/// How many stages of a report came from each source (`built`, `shared`, `cached`).
pub fn sources(report: &serde_json::Value) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for image in report["images"].as_array().into_iter().flatten() {
        for stage in image["stages"].as_array().into_iter().flatten() {
            let source = stage["source"].as_str().unwrap_or("?").to_string();
            *counts.entry(source).or_default() += 1;
        }
    }
    counts
}

/// Median, min and max of `values` (which must not be empty).
pub fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}
