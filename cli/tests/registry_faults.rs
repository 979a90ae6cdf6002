//! The registry misbehaving under a cluster of processes (`conveyor coordinator`, a `conveyor
//! worker` on engine 1, `conveyor build --coordinator`):
//!
//! - stopped (SIGKILL) mid-build and started again: the build ends in success after retries,
//!   or in a clear environment error naming the registry;
//! - a stage image deleted from the registry behind Conveyor's back: the next build that
//!   needs it finds out and builds it again.
//!
//! Either way no stage is recorded that is not in the registry. Each test runs its own
//! registry (Debian's `docker-registry`, as `scripts/services.sh` does) on a free loopback
//! port, with its data in a temp dir, so the shared one on :5000 is never disturbed.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    docker, engine1, free_port, project, remove_repo_images, report_stages, serial, succeeds,
    worker, ClusterBuild, Coordinator, Killed,
};
use conveyor_coordinator::store::{RocksStore, Store};

/// The manifest types a stage may be stored as.
const MANIFESTS: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// A registry of the test's own: `docker-registry serve` on 127.0.0.1:`port`, deletes
/// enabled, data in a temp dir that outlives restarts. Its base image is the shared one's
/// busybox, pushed there from engine 1.
struct OwnRegistry {
    dir: tempfile::TempDir,
    port: u16,
    process: Option<Killed>,
}

impl OwnRegistry {
    fn start() -> OwnRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        std::fs::write(
            dir.path().join("config.yml"),
            format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut registry = OwnRegistry {
            dir,
            port,
            process: None,
        };
        registry.restart();
        let base = format!("{}/library/busybox:latest", registry.host());
        let shared = format!("{}/library/busybox:latest", common::registry());
        let engine = engine1();
        for args in [
            vec!["pull", "-q", &shared],
            vec!["tag", &shared, &base],
            vec!["push", "-q", &base],
        ] {
            succeeds(
                std::process::Command::new("docker")
                    .args(["-H", &engine])
                    .args(args),
            );
        }
        registry
    }

    /// `localhost:PORT`, as image references name it.
    fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// SIGKILL, like a crash.
    fn kill(&mut self) {
        self.process = None;
    }

    /// Starts the registry (again) on the same port and data; returns once it answers.
    fn restart(&mut self) {
        self.process = Some(Killed(
            std::process::Command::new("docker-registry")
                .arg("serve")
                .arg(self.dir.path().join("config.yml"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("docker-registry runs (scripts/services.sh installs it)"),
        ));
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.http("GET", "/v2/").0 != 200 {
            assert!(Instant::now() < deadline, "the registry answers");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One HTTP/1.1 request: its status (0 when nothing answers) and its header lines.
    fn http(&self, method: &str, path: &str) -> (u16, String) {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: {MANIFESTS}\r\n\
             Connection: close\r\n\r\n",
            self.host()
        );
        let mut answer = Vec::new();
        if stream.write_all(request.as_bytes()).is_err() || stream.read_to_end(&mut answer).is_err()
        {
            return (0, String::new());
        }
        let answer = String::from_utf8_lossy(&answer);
        let head = answer
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, head)
    }

    /// The manifest digest of `reference` (`localhost:PORT/PATH:TAG`), if the registry has it.
    fn digest(&self, reference: &str) -> Option<String> {
        let (path, tag) = self.path_and_tag(reference);
        let (status, head) = self.http("HEAD", &format!("/v2/{path}/manifests/{tag}"));
        (status == 200).then(|| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("docker-content-digest")
                        .then(|| v.trim().to_string())
                })
                .expect("a Docker-Content-Digest header")
        })
    }

    /// Deletes `reference`'s manifest, as someone cleaning the registry by hand would.
    fn delete(&self, reference: &str) {
        let (path, _) = self.path_and_tag(reference);
        let digest = self
            .digest(reference)
            .expect("the manifest to delete exists");
        let (status, head) = self.http("DELETE", &format!("/v2/{path}/manifests/{digest}"));
        assert_eq!(status, 202, "{head}");
        assert_eq!(self.digest(reference), None);
    }

    fn path_and_tag(&self, reference: &str) -> (String, String) {
        let rest = reference
            .strip_prefix(&format!("{}/", self.host()))
            .expect("a reference into this registry");
        let (path, tag) = rest.rsplit_once(':').expect("REPO:TAG");
        (path.to_string(), tag.to_string())
    }
}

impl Drop for OwnRegistry {
    fn drop(&mut self) {
        let base = format!("{}/library/busybox", self.host());
        remove_repo_images(&engine1(), &base);
    }
}

/// A one-image project built from the registry's busybox: from, install (taking
/// `install_seconds`), setup, and docker instructions.
fn app_config(name: &str, registry: &OwnRegistry, install_seconds: u32) -> String {
    format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: app\nfrom: {}/library/busybox\n\
         shell:\n  install: [\"sleep {install_seconds}\", \"echo install > /install\"]\n\
         \x20 setup: [\"echo setup > /setup\"]\ndocker:\n  CMD: [\"cat\", \"/setup\"]\n",
        registry.host()
    )
}

/// Checks the invariant on the database of a stopped coordinator: every stage of `dir`'s
/// plan that it records is in the registry. Returns the recorded signatures.
fn recorded_stages_are_in_the_registry(
    db: &Path,
    dir: &Path,
    registry: &OwnRegistry,
    repo: &str,
) -> Vec<String> {
    let plan = succeeds(
        common::conveyor()
            .args(["plan", "--format", "json", "--dir"])
            .arg(dir),
    );
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    // The killed coordinator's lock goes with its process.
    let deadline = Instant::now() + Duration::from_secs(10);
    let store = loop {
        match RocksStore::open(db) {
            Ok(store) => break store,
            Err(e) => assert!(Instant::now() < deadline, "{e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut recorded = vec![];
    for stage in plan["images"][0]["stages"].as_array().unwrap() {
        let signature = stage["signature"].as_str().unwrap();
        if store.stage(signature).unwrap().is_some() {
            let reference = format!("{repo}:{signature}");
            assert!(
                registry.digest(&reference).is_some(),
                "stage {} is recorded but `{reference}` is not in the registry",
                stage["name"]
            );
            recorded.push(signature.to_string());
        }
    }
    recorded
}

/// A coordinator and one worker on engine 1, a project of [`app_config`], and its stage
/// repository in `registry`.
struct Setup {
    coordinator: Coordinator,
    _worker: Killed,
    dir: tempfile::TempDir,
    repo: String,
}

impl Setup {
    fn start(name: &str, registry: &OwnRegistry, install_seconds: u32, args: &[&str]) -> Setup {
        let coordinator = Coordinator::start(args);
        let worker = worker(&coordinator.url, "w1", &engine1());
        let name = format!("{name}{}", std::process::id());
        Setup {
            _worker: worker,
            dir: project(&app_config(&name, registry, install_seconds)),
            repo: format!("{}/stages/{name}", registry.host()),
            coordinator,
        }
    }

    fn build(&self) -> ClusterBuild {
        ClusterBuild::start(&self.coordinator.url, self.dir.path(), &self.repo)
    }

    /// Stops the coordinator and checks its records against `registry` (see
    /// [`recorded_stages_are_in_the_registry`]).
    fn check_records(&mut self, registry: &OwnRegistry) -> Vec<String> {
        self.coordinator.kill();
        recorded_stages_are_in_the_registry(
            self.coordinator.db.path(),
            self.dir.path(),
            registry,
            &self.repo,
        )
    }
}

impl Drop for Setup {
    /// The stage images leave engine 1 with the test, passed or not.
    fn drop(&mut self) {
        remove_repo_images(&engine1(), &self.repo);
    }
}

#[test]
fn a_registry_killed_and_restarted_mid_build_costs_retries_not_the_build() {
    let _serial = serial();
    let mut registry = OwnRegistry::start();
    let mut setup = Setup::start("regdown", &registry, 3, &[]);

    // The install stage sleeps 3 s, then is committed and pushed: the registry is down from
    // its start until 4.5 s later, so the first push attempts fail and a later one (the
    // worker backs off 0.5 s, 1 s, 2 s) finds it back.
    let mut outage = None;
    let done = setup.build().finish(|event| {
        if event["stage"] == "install"
            && event["state"] == "STAGE_STATE_STARTED"
            && outage.is_none()
        {
            registry.kill();
            let down = Instant::now();
            std::thread::sleep(Duration::from_millis(4500));
            registry.restart();
            outage = Some(down.elapsed());
        }
    });
    assert!(outage.is_some(), "the registry was killed mid-build");
    assert!(
        done.status.success(),
        "the build outlived the outage: {}\n{}",
        done.status,
        done.stderr
    );
    let stages = report_stages(&done.report);
    let sources: Vec<&str> = stages.iter().map(|s| s.source.as_str()).collect();
    // install: built, its push retried until the registry was back; or, if the worker's
    // retries ran out first, found built on the engine by the coordinator's next attempt,
    // pushed then and reported as cached.
    assert!(
        sources == ["built", "built", "built", "built"]
            || sources == ["built", "cached", "built", "built"],
        "{}",
        done.report
    );
    if stages[1].source == "built" {
        // 3 s of commands, then pushes until the registry answered again.
        assert!(stages[1].duration_ms >= 4000, "{}", done.report);
    }
    assert_eq!(
        setup.check_records(&registry).len(),
        4,
        "every stage is recorded"
    );
}

#[test]
fn a_registry_that_stays_down_fails_the_build_naming_it() {
    let _serial = serial();
    let mut registry = OwnRegistry::start();
    // One attempt per stage: the worker's own retries are what this is about.
    let mut setup = Setup::start("reggone", &registry, 1, &["--max-attempts", "1"]);
    let mut killed = false;
    let done = setup.build().finish(|event| {
        if event["stage"] == "install" && event["state"] == "STAGE_STATE_STARTED" && !killed {
            registry.kill();
            killed = true;
        }
    });
    assert!(killed, "the registry was killed mid-build");
    // Exit 3: the stage failed for want of its registry (an environment error), not because
    // of its own commands.
    assert_eq!(done.status.code(), Some(3), "{}", done.stderr);
    assert!(
        done.stderr.contains("Stage `install` of `app` failed")
            && done
                .stderr
                .contains(&format!("pushing {}", registry.host()))
            && done.stderr.contains("4 attempts"),
        "the error names the stage, the registry and the retries: {}",
        done.stderr
    );
    let sources: Vec<String> = report_stages(&done.report)
        .into_iter()
        .map(|s| s.source)
        .collect();
    assert_eq!(sources[..2], ["built", "failed"], "{}", done.report);
    registry.restart();
    let recorded = setup.check_records(&registry);
    assert_eq!(
        recorded.len(),
        1,
        "only the from stage was pushed: {recorded:?}"
    );
}

#[test]
fn a_stage_deleted_from_the_registry_is_built_again() {
    let _serial = serial();
    let registry = OwnRegistry::start();
    let mut setup = Setup::start("regdel", &registry, 0, &[]);
    let engine = engine1();
    let sources = |report: &serde_json::Value| -> Vec<(String, String)> {
        report_stages(report)
            .into_iter()
            .map(|s| (s.stage, s.source))
            .collect()
    };
    let first = setup.build().succeeds();
    let stages = report_stages(&first);
    let reference = |stage: &str| {
        let s = stages.iter().find(|s| s.stage == stage).unwrap();
        format!("{}:{}", setup.repo, s.signature)
    };
    // Gone from the registry and from the worker's engine (where a lookup would find it).
    let forget = |stage: &str| {
        registry.delete(&reference(stage));
        let _ = docker(&engine, &["rmi", &reference(stage)]);
    };
    let expect = |wanted: [&str; 4], report: &serde_json::Value| {
        let wanted: Vec<(String, String)> = ["from", "install", "setup", "dockerInstructions"]
            .iter()
            .zip(wanted)
            .map(|(stage, source)| (stage.to_string(), source.to_string()))
            .collect();
        assert_eq!(sources(report), wanted, "{report}");
    };
    expect(["built", "built", "built", "built"], &first);

    // The final stage deleted: the next build finds out and builds it again, and only it.
    forget("dockerInstructions");
    expect(
        ["cached", "cached", "cached", "built"],
        &setup.build().succeeds(),
    );
    assert!(registry.digest(&reference("dockerInstructions")).is_some());

    // An intermediate stage deleted: no build needs it while the stages after it exist.
    forget("install");
    expect(
        ["cached", "cached", "cached", "cached"],
        &setup.build().succeeds(),
    );

    // The stages after it deleted too: each is built again from its parent, so the missing
    // intermediate stage is needed, found out and built again first.
    forget("setup");
    forget("dockerInstructions");
    expect(
        ["cached", "built", "built", "built"],
        &setup.build().succeeds(),
    );
    assert_eq!(setup.check_records(&registry).len(), 4);
}
