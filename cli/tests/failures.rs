//! A real cluster of processes: `conveyor coordinator`, two `conveyor worker`s on the two
//! engines, and `conveyor build --coordinator`. The worker running a stage is killed with
//! SIGKILL mid-stage: the build still completes, on the other worker. (CI always runs this
//! against the services of `scripts/services.sh up --engines 2`.)

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn a_build_survives_a_worker_killed_mid_stage() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registry =
        std::env::var("CONVEYOR_TEST_REGISTRY").unwrap_or_else(|_| "localhost:5000".into());
    let engine2 = std::env::var("CONVEYOR_TEST_DOCKER2")
        .expect("CONVEYOR_TEST_DOCKER2 names the second engine (run through `make test`)");
    let db = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _coordinator = Killed(
        conveyor()
            .args([
                "coordinator",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--lease-ttl",
                "3s",
                "--network",
                "none",
            ])
            .arg("--db")
            .arg(db.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut workers = vec![];
    for (name, docker) in [
        ("w1", "unix:///var/run/docker.sock".to_string()),
        ("w2", engine2),
    ] {
        let child = conveyor()
            .args([
                "worker",
                "--coordinator",
                &url,
                "--name",
                name,
                "--slots",
                "1",
                "--docker",
                &docker,
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        workers.push((name, Killed(child)));
    }
    std::thread::sleep(Duration::from_millis(500));

    let dir = tempfile::tempdir().unwrap();
    let project = format!("kill{}", std::process::id());
    std::fs::write(
        dir.path().join("werf.yaml"),
        format!(
            "project: {project}\nconfigVersion: 1\n---\nimage: slow\nfrom: {registry}/library/busybox\n\
             shell:\n  install: [\"sleep 4\", \"echo done > /done\"]\n"
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let mut build = Killed(
        conveyor()
            .args(["build", "--coordinator", &url, "--output", "json"])
            .arg("--repo")
            .arg(format!("{registry}/conveyor-tests/{project}"))
            .arg("--dir")
            .arg(dir.path())
            .arg("--report")
            .arg(&report)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = build.0.stdout.take().unwrap();
    let mut killed = None;
    let rx = events(stdout);
    let deadline = Instant::now() + Duration::from_secs(90);
    while let Ok(event) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if event["stage"] == "install"
            && event["state"] == "STAGE_STATE_STARTED"
            && killed.is_none()
        {
            let worker = event["worker"].as_str().unwrap().to_string();
            std::thread::sleep(Duration::from_millis(1000));
            let (_, child) = workers
                .iter_mut()
                .find(|(n, _)| *n == worker)
                .expect("a known worker");
            child.0.kill().unwrap(); // SIGKILL
            killed = Some(worker);
        }
        if event["type"] == "finished" {
            break;
        }
    }
    let status = loop {
        if let Some(status) = build.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the build finishes");
        std::thread::sleep(Duration::from_millis(100));
    };
    let killed = killed.expect("a worker started the install stage and was killed");
    assert!(
        status.success(),
        "the build succeeded after {killed} was killed"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let install = r["images"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "install")
        .unwrap()
        .clone();
    assert_eq!(install["source"], "built", "{r}");
    assert_ne!(
        install["worker"],
        killed.as_str(),
        "the other worker finished it: {r}"
    );
}

#[test]
fn a_build_survives_its_coordinator_killed_and_restarted() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let registry =
        std::env::var("CONVEYOR_TEST_REGISTRY").unwrap_or_else(|_| "localhost:5000".into());
    let db = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let start_coordinator = || {
        Killed(
            conveyor()
                .args([
                    "coordinator",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--lease-ttl",
                    "10s",
                    "--network",
                    "none",
                ])
                .arg("--db")
                .arg(db.path())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let mut coordinator = start_coordinator();
    std::thread::sleep(Duration::from_millis(500));
    let _worker = Killed(
        conveyor()
            .args([
                "worker",
                "--coordinator",
                &url,
                "--name",
                "survivor",
                "--slots",
                "1",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));

    let dir = tempfile::tempdir().unwrap();
    let project = format!("restart{}", std::process::id());
    std::fs::write(
        dir.path().join("werf.yaml"),
        format!(
            "project: {project}\nconfigVersion: 1\n---\nimage: slow\nfrom: {registry}/library/busybox\n\
             shell:\n  install: [\"sleep 4\", \"echo done > /done\"]\n"
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let mut build = Killed(
        conveyor()
            .args(["build", "--coordinator", &url, "--output", "json"])
            .arg("--repo")
            .arg(format!("{registry}/conveyor-tests/{project}"))
            .arg("--dir")
            .arg(dir.path())
            .arg("--report")
            .arg(&report)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = build.0.stdout.take().unwrap();
    let mut restarted = false;
    let rx = events(stdout);
    let deadline = Instant::now() + Duration::from_secs(90);
    while let Ok(event) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if event["stage"] == "install" && event["state"] == "STAGE_STATE_STARTED" && !restarted {
            // The from stage is done and recorded; install runs: kill -9 the coordinator.
            coordinator.0.kill().unwrap();
            let _ = coordinator.0.wait();
            std::thread::sleep(Duration::from_millis(300));
            coordinator = start_coordinator();
            restarted = true;
        }
        if event["type"] == "finished" {
            break;
        }
    }
    let status = loop {
        if let Some(status) = build.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the build finishes");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(restarted, "the coordinator was restarted mid-build");
    assert!(status.success(), "the build succeeded across the restart");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let stages = r["images"][0]["stages"].as_array().unwrap();
    let source = |name: &str| stages.iter().find(|s| s["name"] == name).unwrap()["source"].clone();
    assert_eq!(
        source("from"),
        "cached",
        "the stage finished before the restart is not built again: {r}"
    );
    assert_eq!(source("install"), "built", "{r}");
    drop(coordinator);
}
