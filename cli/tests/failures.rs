//! A real cluster of processes: `conveyor coordinator`, two `conveyor worker`s on the two
//! engines, and `conveyor build --coordinator`. The worker running a stage is killed with
//! SIGKILL mid-stage: the build still completes, on the other worker. A coordinator with a
//! token turns away a worker without it and builds with one that has it. (CI always runs this
//! against the services of `scripts/services.sh up --engines 2`.)

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::free_port;

/// The tests here start `conveyor worker`s, which remove every build container left on their
/// engine at start-up: run them one at a time so one test's workers don't remove another's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// JSON events from a build's stdout, read on a thread so a stuck build fails the test at its
/// deadline instead of hanging it.
fn events(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<serde_json::Value> {
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

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn conveyor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conveyor"))
}

/// `conveyor build --coordinator URL --output json` of a one-image project whose install
/// stage takes 4 s, with its JSON events read on a thread and a 90 s deadline.
struct SlowBuild {
    _dir: tempfile::TempDir,
    report: std::path::PathBuf,
    child: Killed,
    events: std::sync::mpsc::Receiver<serde_json::Value>,
    deadline: Instant,
}

impl SlowBuild {
    fn start(url: &str, project: &str, extra: &[&str]) -> SlowBuild {
        let registry =
            std::env::var("CONVEYOR_TEST_REGISTRY").unwrap_or_else(|_| "localhost:5000".into());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("werf.yaml"),
            format!(
                "project: {project}\nconfigVersion: 1\n---\nimage: slow\nfrom: {registry}/library/busybox\n\
                 shell:\n  install: [\"sleep 4\", \"echo done > /done\"]\n"
            ),
        )
        .unwrap();
        let report = dir.path().join("report.json");
        let mut child = Killed(
            conveyor()
                .args(["build", "--coordinator", url, "--output", "json"])
                .arg("--repo")
                .arg(format!("{registry}/conveyor-tests/{project}"))
                .arg("--dir")
                .arg(dir.path())
                .arg("--report")
                .arg(&report)
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let events = events(child.0.stdout.take().unwrap());
        SlowBuild {
            _dir: dir,
            report,
            child,
            events,
            deadline: Instant::now() + Duration::from_secs(90),
        }
    }

    /// Hands every event to `on_event` until the build finishes; returns whether the
    /// process succeeded and its report.
    fn finish(mut self, mut on_event: impl FnMut(&serde_json::Value)) -> (bool, serde_json::Value) {
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
            assert!(Instant::now() < self.deadline, "the build finishes");
            std::thread::sleep(Duration::from_millis(100));
        };
        let report = serde_json::from_slice(&std::fs::read(&self.report).unwrap()).unwrap();
        (status.success(), report)
    }
}

/// The source and worker of a stage in a build report.
fn stage(report: &serde_json::Value, name: &str) -> serde_json::Value {
    report["images"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_build_survives_a_worker_killed_mid_stage() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let engine2 = std::env::var("CONVEYOR_TEST_DOCKER2")
        .expect("CONVEYOR_TEST_DOCKER2 names the second engine (run through `make test`)");
    let db = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _coordinator = coordinator(port, db.path(), "3s", &[]);
    let mut workers = vec![];
    for (name, docker) in [
        ("w1", "unix:///var/run/docker.sock".to_string()),
        ("w2", engine2),
    ] {
        workers.push((name, worker(&url, name, &docker, &[])));
    }
    std::thread::sleep(Duration::from_millis(500));

    let build = SlowBuild::start(&url, &format!("kill{}", std::process::id()), &[]);
    let mut killed = None;
    let (succeeded, report) = build.finish(|event| {
        if event["stage"] == "install"
            && event["state"] == "STAGE_STATE_STARTED"
            && killed.is_none()
        {
            let name = event["worker"].as_str().unwrap().to_string();
            std::thread::sleep(Duration::from_millis(1000));
            let (_, child) = workers
                .iter_mut()
                .find(|(n, _)| *n == name)
                .expect("a known worker");
            child.0.kill().unwrap(); // SIGKILL
            killed = Some(name);
        }
    });
    let killed = killed.expect("a worker started the install stage and was killed");
    assert!(succeeded, "the build succeeded after {killed} was killed");
    let install = stage(&report, "install");
    assert_eq!(install["source"], "built", "{report}");
    assert_ne!(
        install["worker"],
        killed.as_str(),
        "the other worker finished it: {report}"
    );
}

#[test]
fn a_build_survives_its_coordinator_killed_and_restarted() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let db = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut coordinator_process = coordinator(port, db.path(), "10s", &[]);
    std::thread::sleep(Duration::from_millis(500));
    let _worker = worker(&url, "survivor", "unix:///var/run/docker.sock", &[]);
    std::thread::sleep(Duration::from_millis(500));

    let build = SlowBuild::start(&url, &format!("restart{}", std::process::id()), &[]);
    let mut restarted = false;
    let (succeeded, report) = build.finish(|event| {
        if event["stage"] == "install" && event["state"] == "STAGE_STATE_STARTED" && !restarted {
            // The from stage is done; install runs: kill -9 the coordinator, start it again.
            coordinator_process.0.kill().unwrap();
            let _ = coordinator_process.0.wait();
            std::thread::sleep(Duration::from_millis(300));
            coordinator_process = coordinator(port, db.path(), "10s", &[]);
            restarted = true;
        }
    });
    assert!(restarted, "the coordinator was restarted mid-build");
    assert!(succeeded, "the build succeeded across the restart");
    assert_eq!(
        stage(&report, "from")["source"],
        "cached",
        "the stage finished before the restart is not built again: {report}"
    );
    assert_eq!(stage(&report, "install")["source"], "built", "{report}");
}

#[test]
fn a_cluster_with_a_token_builds_and_refuses_a_worker_without_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let token = format!("cluster-token-{}", std::process::id());
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let wrong_file = dir.path().join("wrong");
    std::fs::write(&wrong_file, "not-the-token\n").unwrap();
    let with_token = ["--token-file", token_file.to_str().unwrap()];
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _coordinator = coordinator(port, &dir.path().join("db"), "10s", &with_token);
    std::thread::sleep(Duration::from_millis(500));

    // Without the token, or with the wrong one, a worker stops at once: exit 2, told why.
    for extra in [vec![], vec!["--token-file", wrong_file.to_str().unwrap()]] {
        let mut child = Killed(
            worker_command(&url, "refused", "unix:///var/run/docker.sock", &extra)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "a refused worker exits");
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("refused") && stderr.contains("--token-file"),
            "{stderr}"
        );
        assert!(!stderr.contains("not-the-token"), "{stderr}");
    }

    // With it, the worker builds what a client with it submits.
    let _worker = worker(&url, "trusted", "unix:///var/run/docker.sock", &with_token);
    std::thread::sleep(Duration::from_millis(500));
    let build = SlowBuild::start(&url, &format!("token{}", std::process::id()), &with_token);
    let (succeeded, report) = build.finish(|_| {});
    assert!(succeeded, "{report}");
    assert_eq!(stage(&report, "install")["worker"], "trusted", "{report}");
}

/// `conveyor coordinator` on 127.0.0.1:`port` over the database `db`, with `extra` flags.
fn coordinator(port: u16, db: &std::path::Path, lease_ttl: &str, extra: &[&str]) -> Killed {
    Killed(
        conveyor()
            .args(["coordinator", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--lease-ttl", lease_ttl, "--network", "none", "--db"])
            .arg(db)
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// `conveyor worker` named `name` on the engine `docker`, one slot, with `extra` flags.
fn worker(url: &str, name: &str, docker: &str, extra: &[&str]) -> Killed {
    Killed(worker_command(url, name, docker, extra).spawn().unwrap())
}

fn worker_command(url: &str, name: &str, docker: &str, extra: &[&str]) -> Command {
    let mut command = conveyor();
    command
        .args([
            "worker",
            "--coordinator",
            url,
            "--name",
            name,
            "--slots",
            "1",
            "--docker",
            docker,
        ])
        .args(extra)
        .stderr(Stdio::null());
    command
}
