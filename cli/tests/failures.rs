//! A real cluster of processes: `conveyor coordinator`, two `conveyor worker`s on the two
//! engines, and `conveyor build --coordinator`. The worker running a stage is killed with
//! SIGKILL mid-stage: the build still completes, on the other worker. (CI always runs this
//! against the services of `scripts/services.sh up --engines 2`.)

mod common;

use std::time::Duration;

use common::{project, serial, stage, worker, ClusterBuild, Coordinator};

/// `conveyor build --coordinator URL` of a one-image project whose install stage takes 4 s;
/// the project directory lives as long as the returned guard.
fn slow_build(url: &str, name: &str) -> (tempfile::TempDir, ClusterBuild) {
    let registry = common::registry();
    let dir = project(&format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: slow\nfrom: {registry}/library/busybox\n\
         shell:\n  install: [\"sleep 4\", \"echo done > /done\"]\n"
    ));
    let build = ClusterBuild::start(
        url,
        dir.path(),
        &format!("{registry}/conveyor-tests/{name}"),
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

#[test]
fn a_build_survives_its_coordinator_killed_and_restarted() {
    let _serial = serial();
    let mut coordinator = Coordinator::start(&[]);
    let url = coordinator.url.clone();
    let _worker = worker(&url, "survivor", &common::engine1());
    std::thread::sleep(Duration::from_millis(500));

    let (_dir, build) = slow_build(&url, &format!("restart{}", std::process::id()));
    let mut restarted = false;
    let done = build.finish(|event| {
        if event["stage"] == "install" && event["state"] == "STAGE_STATE_STARTED" && !restarted {
            // The from stage is done; install runs: kill -9 the coordinator, start it again.
            coordinator.kill();
            std::thread::sleep(Duration::from_millis(300));
            coordinator.restart();
            restarted = true;
        }
    });
    assert!(restarted, "the coordinator was restarted mid-build");
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
