//! What the process-level cluster tests share: the services' addresses, `conveyor
//! coordinator` and `conveyor worker` processes that die with their guard, and `conveyor
//! build --coordinator` runs whose JSON events and report are read back.
//!
//! Each test binary that says `mod common;` gets its own copy, and with it its own [`serial`]
//! lock: cargo runs test binaries one after another, tests inside one binary on threads.

// Every test binary uses a part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The tests that start `conveyor worker`s: a worker removes every build container left on
/// its engine at start-up, so these run one at a time and never remove each other's.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the lock of the tests that start workers (see [`SERIAL`]); a failed test's poisoned
/// lock still serializes the rest.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shared registry (`scripts/services.sh`), e.g. `localhost:5000`.
pub fn registry() -> String {
    std::env::var("CONVEYOR_TEST_REGISTRY").unwrap_or_else(|_| "localhost:5000".into())
}

/// The first Docker engine.
pub fn engine1() -> String {
    std::env::var("CONVEYOR_TEST_DOCKER").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// The second Docker engine; the tests fail (never skip) without it.
pub fn engine2() -> String {
    std::env::var("CONVEYOR_TEST_DOCKER2")
        .expect("CONVEYOR_TEST_DOCKER2 names the second engine (run through `make test`)")
}

pub fn conveyor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conveyor"))
}

/// Runs `command` to its end; asserts that it succeeded (showing its stderr if not).
pub fn succeeds(command: &mut Command) -> std::process::Output {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `docker -H ENGINE ARGS...`, its output.
pub fn docker(engine: &str, args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(["-H", engine])
        .args(args)
        .output()
        .expect("the docker client runs")
}

/// Removes every tag of `repo` on `engine` (a test's own repository: unique to its run).
pub fn remove_repo_images(engine: &str, repo: &str) {
    let out = docker(
        engine,
        &["images", repo, "--format", "{{.Repository}}:{{.Tag}}"],
    );
    let tags = String::from_utf8_lossy(&out.stdout).to_string();
    let tags: Vec<&str> = tags.lines().filter(|t| !t.is_empty()).collect();
    if !tags.is_empty() {
        let mut args = vec!["rmi", "--force"];
        args.extend(tags);
        let _ = docker(engine, &args);
    }
}

/// The tags of `repo` on `engine`.
pub fn repo_tags(engine: &str, repo: &str) -> Vec<String> {
    let out = docker(engine, &["images", repo, "--format", "{{.Tag}}"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on 127.0.0.1:`port` (at most 20 s).
pub fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `conveyor coordinator` on a free loopback port over a database of its own.
pub struct Coordinator {
    pub db: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, for workers and builds.
    pub url: String,
    port: u16,
    args: Vec<String>,
    process: Option<Killed>,
}

impl Coordinator {
    /// Starts it with `args` (such as `--lease-ttl 3s`); returns once it listens.
    pub fn start(args: &[&str]) -> Coordinator {
        let port = free_port();
        let mut coordinator = Coordinator {
            db: tempfile::tempdir().unwrap(),
            url: format!("http://127.0.0.1:{port}"),
            port,
            args: args.iter().map(|a| a.to_string()).collect(),
            process: None,
        };
        coordinator.restart();
        coordinator
    }

    /// SIGKILL, like a crash (its database lock goes with the process).
    pub fn kill(&mut self) {
        self.process = None;
    }

    /// SIGTERM, as `docker stop` or Kubernetes would send; returns how it exited and how long
    /// it took (it is killed after 30 s).
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut process = self.process.take().expect("the coordinator runs");
        let pid = process.0.id().to_string();
        let sent = Instant::now();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success(), "kill -TERM {pid}");
        while sent.elapsed() < Duration::from_secs(30) {
            if let Some(status) = process.0.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the coordinator did not exit within 30 s of SIGTERM");
    }

    /// Starts it (again) on the same port, database and arguments.
    pub fn restart(&mut self) {
        self.process = None;
        self.process = Some(Killed(
            conveyor()
                .args([
                    "coordinator",
                    "--listen",
                    &format!("127.0.0.1:{}", self.port),
                ])
                .args(&self.args)
                .args(["--network", "none", "--db"])
                .arg(self.db.path())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ));
        wait_listening(self.port);
    }
}

/// `conveyor worker` named `name` on the engine `docker`, one slot.
pub fn worker(url: &str, name: &str, docker: &str) -> Killed {
    Killed(worker_command(url, name, docker, &[]).spawn().unwrap())
}

/// The command of a `conveyor worker` named `name` on `docker`, one slot, with `extra` flags
/// (such as `--token-file F`); its stderr is dropped unless the caller pipes it.
pub fn worker_command(url: &str, name: &str, docker: &str, extra: &[&str]) -> Command {
    let mut command = conveyor();
    command
        .args(["worker", "--coordinator", url, "--name", name])
        .args(["--slots", "1", "--docker", docker])
        .args(extra)
        .stderr(Stdio::null());
    command
}

/// A project directory holding `config` as its werf.yaml.
pub fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("werf.yaml"), config).unwrap();
    dir
}

/// `conveyor build --coordinator URL --repo REPO --dir DIR --output json --report FILE`, with
/// its JSON events and its stderr read on threads (a stuck build fails the test at its
/// deadline instead of hanging it).
pub struct ClusterBuild {
    _reports: tempfile::TempDir,
    report: PathBuf,
    child: Killed,
    events: Receiver<serde_json::Value>,
    stderr: std::thread::JoinHandle<String>,
    deadline: Instant,
}

/// How a [`ClusterBuild`] ended.
pub struct Finished {
    pub status: ExitStatus,
    /// The `--report` JSON (`Null` when none was written).
    pub report: serde_json::Value,
    pub stderr: String,
}

impl ClusterBuild {
    pub fn start(url: &str, dir: &Path, repo: &str) -> ClusterBuild {
        ClusterBuild::start_with(url, dir, repo, &[])
    }

    /// [`ClusterBuild::start`] with `extra` flags (such as `--token-file F`).
    pub fn start_with(url: &str, dir: &Path, repo: &str, extra: &[&str]) -> ClusterBuild {
        let reports = tempfile::tempdir().unwrap();
        let report = reports.path().join("report.json");
        let mut child = Killed(
            conveyor()
                .args([
                    "build",
                    "--coordinator",
                    url,
                    "--output",
                    "json",
                    "--repo",
                    repo,
                ])
                .arg("--dir")
                .arg(dir)
                .arg("--report")
                .arg(&report)
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let events = events(child.0.stdout.take().unwrap());
        let mut err = child.0.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        ClusterBuild {
            _reports: reports,
            report,
            child,
            events,
            stderr,
            deadline: Instant::now() + Duration::from_secs(120),
        }
    }

    /// Hands every event to `on_event` until the build finishes, then waits for the process.
    pub fn finish(mut self, mut on_event: impl FnMut(&serde_json::Value)) -> Finished {
        let remaining = |deadline: Instant| deadline.saturating_duration_since(Instant::now());
        while let Ok(event) = self.events.recv_timeout(remaining(self.deadline)) {
            on_event(&event);
            if event["type"] == "finished" {
                break;
            }
        }
        let status = loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < self.deadline, "the build finishes in time");
            std::thread::sleep(Duration::from_millis(100));
        };
        let report = std::fs::read(&self.report)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let stderr = self.stderr.join().unwrap_or_default();
        Finished {
            status,
            report,
            stderr,
        }
    }

    /// [`ClusterBuild::finish`], asserting that the build succeeded; returns its report.
    pub fn succeeds(self) -> serde_json::Value {
        let done = self.finish(|_| {});
        assert!(
            done.status.success(),
            "the build succeeds: {}\n{}",
            done.status,
            done.stderr
        );
        done.report
    }
}

/// JSON events from a build's stdout, one per line, sent on as they come.
fn events(stdout: std::process::ChildStdout) -> Receiver<serde_json::Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(event) = serde_json::from_str(&line) else {
                continue;
            };
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    rx
}

/// One stage of a build report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportStage {
    pub image: String,
    pub stage: String,
    pub signature: String,
    /// `built`, `shared`, `cached`, `failed` or `pending`.
    pub source: String,
    pub worker: String,
    /// How long its worker took to make it (built) or to find it (cached).
    pub duration_ms: u64,
}

/// Every stage of every image of a report, in report order.
pub fn report_stages(report: &serde_json::Value) -> Vec<ReportStage> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let mut out = vec![];
    for image in report["images"].as_array().into_iter().flatten() {
        for stage in image["stages"].as_array().into_iter().flatten() {
            out.push(ReportStage {
                image: text(&image["name"]),
                stage: text(&stage["name"]),
                signature: text(&stage["signature"]),
                source: text(&stage["source"]),
                worker: text(&stage["worker"]),
                duration_ms: stage["durationMs"].as_u64().unwrap_or_default(),
            });
        }
    }
    out
}

/// The stage called `name` of the report's first image.
pub fn stage(report: &serde_json::Value, name: &str) -> ReportStage {
    let first = report["images"][0]["name"].as_str().unwrap_or_default();
    report_stages(report)
        .into_iter()
        .find(|s| s.image == first && s.stage == name)
        .unwrap_or_else(|| panic!("no stage `{name}` in {report}"))
}
