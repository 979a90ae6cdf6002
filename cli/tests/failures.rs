//! A real cluster of processes: `conveyor coordinator`, two `conveyor worker`s on the two
//! engines, and `conveyor build --coordinator`. The worker running a stage is killed with
//! SIGKILL mid-stage: the build still completes, on the other worker. A coordinator with a
//! token turns away a worker without it and builds with one that has it. (CI always runs this
//! against the services of `scripts/services.sh up --engines 2`.)

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    project, serial, stage, worker, worker_command, ClusterBuild, Coordinator, Finished, Killed,
};

/// `conveyor build --coordinator URL` of a one-image project whose install stage takes 4 s;
/// the project directory lives as long as the returned guard.
fn slow_build(url: &str, name: &str) -> (tempfile::TempDir, ClusterBuild) {
    slow_build_with(url, name, &[])
}

/// [`slow_build`] with `extra` flags for `conveyor build`.
fn slow_build_with(url: &str, name: &str, extra: &[&str]) -> (tempfile::TempDir, ClusterBuild) {
    let registry = common::registry();
    let dir = project(&format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: slow\nfrom: {registry}/library/busybox\n\
         shell:\n  install: [\"sleep 4\", \"echo done > /done\"]\n"
    ));
    let build = ClusterBuild::start_with(
        url,
        dir.path(),
        &format!("{registry}/conveyor-tests/{name}"),
        extra,
    );
    (dir, build)
}

#[test]
fn a_build_survives_a_worker_killed_mid_stage() {
    let _serial = serial();
    let coordinator = Coordinator::start(&["--lease-ttl", "3s"]);
    let url = &coordinator.url;
    let mut workers = vec![];
    for (name, docker) in [("w1", common::engine1()), ("w2", common::engine2())] {
        workers.push((name, worker(url, name, &docker)));
    }
    std::thread::sleep(Duration::from_millis(500));

    let (_dir, build) = slow_build(url, &format!("kill{}", std::process::id()));
    let mut killed = None;
    let done = build.finish(|event| {
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
    assert!(
        done.status.success(),
        "the build succeeded after {killed} was killed: {}",
        done.stderr
    );
    let install = stage(&done.report, "install");
    assert_eq!(install.source, "built", "{}", done.report);
    assert_ne!(
        install.worker, killed,
        "the other worker finished it: {}",
        done.report
    );
}

/// A one-worker cluster runs [`slow_build`] named `name`; once its install stage starts (the
/// from stage done), `interrupt` does what it will to the coordinator, once. Returns the build.
fn interrupted_mid_build(name: &str, mut interrupt: impl FnMut(&mut Coordinator)) -> Finished {
    let _serial = serial();
    let mut coordinator = Coordinator::start(&[]);
    let url = coordinator.url.clone();
    let _worker = worker(&url, "survivor", &common::engine1());
    std::thread::sleep(Duration::from_millis(500));

    let (_dir, build) = slow_build(&url, &format!("{name}{}", std::process::id()));
    let mut interrupted = false;
    let done = build.finish(|event| {
        if event["stage"] == "install" && event["state"] == "STAGE_STATE_STARTED" && !interrupted {
            interrupt(&mut coordinator);
            interrupted = true;
        }
    });
    assert!(interrupted, "the coordinator was interrupted mid-build");
    done
}

#[test]
fn a_build_survives_its_coordinator_killed_and_restarted() {
    let done = interrupted_mid_build("restart", |coordinator| {
        // kill -9 the coordinator, start it again.
        coordinator.kill();
        std::thread::sleep(Duration::from_millis(300));
        coordinator.restart();
    });
    assert!(
        done.status.success(),
        "the build succeeded across the restart: {}",
        done.stderr
    );
    assert_eq!(
        stage(&done.report, "from").source,
        "cached",
        "the stage finished before the restart is not built again: {}",
        done.report
    );
    assert_eq!(
        stage(&done.report, "install").source,
        "built",
        "{}",
        done.report
    );
}

#[test]
fn a_coordinator_stops_on_sigterm_with_streams_open_and_its_build_resumes() {
    let mut stopped = None;
    let done = interrupted_mid_build("sigterm", |coordinator| {
        // A worker stream and this build's watch are open: they must not keep it alive.
        stopped = Some(coordinator.terminate());
        coordinator.restart();
    });
    let (status, took) = stopped.expect("the coordinator was stopped");
    assert!(status.success(), "a stopped coordinator exits 0: {status}");
    assert!(
        took < Duration::from_secs(10),
        "it stops within its grace, not when streams end: took {took:?}"
    );
    assert!(
        done.status.success(),
        "the build succeeded on the restarted coordinator: {}",
        done.stderr
    );
}

#[test]
fn a_cluster_with_a_token_builds_and_refuses_a_worker_without_it() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let token = format!("cluster-token-{}", std::process::id());
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let wrong_file = dir.path().join("wrong");
    std::fs::write(&wrong_file, "not-the-token\n").unwrap();
    let with_token = ["--token-file", token_file.to_str().unwrap()];
    let coordinator = Coordinator::start(&with_token);
    let url = &coordinator.url;

    // Without the token, or with the wrong one, a worker stops at once: exit 2, told why.
    for extra in [vec![], vec!["--token-file", wrong_file.to_str().unwrap()]] {
        let mut child = Killed(
            worker_command(url, "refused", &common::engine1(), &extra)
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
    let _worker = Killed(
        worker_command(url, "trusted", &common::engine1(), &with_token)
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let (_dir, build) = slow_build_with(url, &format!("token{}", std::process::id()), &with_token);
    let done = build.finish(|_| {});
    assert!(done.status.success(), "{}", done.stderr);
    assert_eq!(
        stage(&done.report, "install").worker,
        "trusted",
        "{}",
        done.report
    );
}
