//! The stage cache across a cluster of processes (`conveyor coordinator`, `conveyor worker`s
//! on the two engines, `conveyor build --coordinator`) and the shared registry of
//! `scripts/services.sh up --engines 2`:
//!
//! - a cold build of the example, then a worker on an engine with none of its images builds
//!   nothing: the coordinator's records, then (with a new coordinator) the registry, answer;
//! - four builds of overlapping configs at once build every stage signature exactly once.
//!
//! Each test has its own stage repository (with the process id), so the registry and the
//! engines hold none of its stages at the start; its tags are removed from the engines at the
//! end.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{
    docker, engine1, engine2, project, registry, remove_repo_images, repo_tags, report_stages,
    serial, worker, ClusterBuild, Coordinator,
};

/// Removes a test's stage images from both engines when the test ends, passed or not.
struct RepoImages(String);

impl Drop for RepoImages {
    fn drop(&mut self) {
        remove_repo_images(&engine1(), &self.0);
        if let Ok(engine2) = std::env::var("CONVEYOR_TEST_DOCKER2") {
            remove_repo_images(&engine2, &self.0);
        }
    }
}

/// Every stage of `report` came from `source`; returns their signatures.
fn all_from(report: &serde_json::Value, source: &str) -> Vec<String> {
    let stages = report_stages(report);
    assert!(!stages.is_empty(), "{report}");
    for s in &stages {
        assert_eq!(
            s.source, source,
            "{}/{} is {source}: {report}",
            s.image, s.stage
        );
    }
    let mut signatures: Vec<String> = stages.into_iter().map(|s| s.signature).collect();
    signatures.sort();
    signatures.dedup();
    signatures
}

#[test]
fn a_new_engine_with_no_images_builds_nothing() {
    let _serial = serial();
    let engine2 = engine2();
    let repo = format!("{}/conveyor-tests/fresh{}", registry(), std::process::id());
    let _cleanup = RepoImages(repo.clone());
    remove_repo_images(&engine2, &repo);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/monorepo");

    // Cold: a worker on engine 1 builds every stage.
    let coordinator = Coordinator::start(&[]);
    let w1 = worker(&coordinator.url, "w1", &engine1());
    let cold = ClusterBuild::start(&coordinator.url, &example, &repo).succeeds();
    let signatures = all_from(&cold, "built");
    drop(w1);

    // The same coordinator and a worker on engine 2 only: the records answer, nothing runs.
    let w2 = worker(&coordinator.url, "w2", &engine2);
    let again = ClusterBuild::start(&coordinator.url, &example, &repo).succeeds();
    assert_eq!(all_from(&again, "cached"), signatures);
    drop((w2, coordinator));

    // A new coordinator (empty database): every stage goes to the worker on engine 2, which
    // finds it in the registry with one manifest HEAD and pulls nothing.
    let coordinator = Coordinator::start(&[]);
    let _w2 = worker(&coordinator.url, "w2", &engine2);
    let fresh = ClusterBuild::start(&coordinator.url, &example, &repo).succeeds();
    assert_eq!(all_from(&fresh, "cached"), signatures);
    assert!(
        report_stages(&fresh).iter().all(|s| s.worker == "w2"),
        "the worker on engine 2 looked every stage up: {fresh}"
    );
    assert_eq!(
        repo_tags(&engine2, &repo),
        Vec::<String>::new(),
        "a cached stage is not pulled"
    );

    // `conveyor build` on engine 2 (embedded coordinator and worker, new database): nothing
    // is built, and the final images are pulled and tagged there.
    let db = tempfile::tempdir().unwrap();
    let report = db.path().join("report.json");
    let tag = format!("conveyor-tests/fresh{}-{{image}}:final", std::process::id());
    common::succeeds(
        common::conveyor()
            .args([
                "build",
                "--network",
                "none",
                "--repo",
                &repo,
                "--docker",
                &engine2,
            ])
            .args(["--tag", &tag, "--dir"])
            .arg(&example)
            .arg("--db")
            .arg(db.path().join("db"))
            .arg("--report")
            .arg(&report),
    );
    let embedded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(all_from(&embedded, "cached"), signatures);
    // Per final image: its name, its last stage, and the tag the report gives it.
    let finals: Vec<[String; 3]> = embedded["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "image")
        .map(|i| ["name", "signature", "tag"].map(|k| i[k].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(finals.len(), 12, "{embedded}");
    let id = |reference: &str| {
        let out = docker(
            &engine2,
            &["image", "inspect", "--format", "{{.Id}}", reference],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    for [image, signature, latest] in &finals {
        let stage = id(&format!("{repo}:{signature}"));
        assert!(
            !stage.is_empty(),
            "the last stage of `{image}` is on engine 2"
        );
        let tagged = tag.replace("{image}", image);
        for reference in [latest, &tagged] {
            assert_eq!(id(reference), stage, "`{reference}` is tagged on engine 2");
        }
        let _ = docker(&engine2, &["rmi", latest, &tagged]);
    }
    let mut pulled = repo_tags(&engine2, &repo);
    pulled.sort();
    let mut wanted: Vec<String> = finals.into_iter().map(|[_, s, _]| s).collect();
    wanted.sort();
    wanted.dedup();
    assert_eq!(pulled, wanted, "only the final images are pulled");
}

/// Four configs over one base chain: `base` (from + beforeInstall) in all, an install stage
/// shared by pairs, a setup stage of their own. Image names differ: they are no input of a
/// signature, so the stages are shared all the same.
fn overlapping_config(k: usize) -> String {
    let registry = registry();
    let pair = k % 2;
    format!(
        "project: overlap{k}\nconfigVersion: 1\n---\n\
         image: base\nfrom: {registry}/library/busybox\n\
         shell:\n  beforeInstall: [\"sleep 2\", \"echo base > /base\"]\n---\n\
         image: app{k}\nfromImage: base\n\
         shell:\n  install: [\"sleep 1\", \"echo pair {pair} > /pair\"]\n  setup: [\"echo {k} > /me\"]\n"
    )
}

#[test]
fn four_overlapping_builds_build_every_stage_once() {
    let _serial = serial();
    let repo = format!(
        "{}/conveyor-tests/overlap{}",
        registry(),
        std::process::id()
    );
    let _cleanup = RepoImages(repo.clone());
    let coordinator = Coordinator::start(&[]);
    let url = &coordinator.url;
    let _w1 = worker(url, "w1", &engine1());
    let _w2 = worker(url, "w2", &engine2());
    std::thread::sleep(Duration::from_millis(500));

    let dirs: Vec<tempfile::TempDir> = (0..4).map(|k| project(&overlapping_config(k))).collect();
    let builds: Vec<ClusterBuild> = dirs
        .iter()
        .map(|d| ClusterBuild::start(url, d.path(), &repo))
        .collect();
    let reports: Vec<serde_json::Value> = builds.into_iter().map(ClusterBuild::succeeds).collect();

    // Per signature, where each build got it from.
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for report in &reports {
        let mut seen = BTreeMap::new();
        for s in report_stages(report) {
            seen.insert(s.signature, s.source);
        }
        for (signature, source) in seen {
            sources.entry(signature).or_default().push(source);
        }
    }
    let all = serde_json::Value::Array(reports);
    // base: from, beforeInstall; app: from (on base), install (2 pairs), setup (4).
    assert_eq!(sources.len(), 9, "{sources:?}");
    for (signature, from) in &sources {
        let built = from.iter().filter(|s| *s == "built").count();
        assert_eq!(built, 1, "{signature} is built once: {from:?}\n{all}");
        assert!(
            from.iter()
                .all(|s| ["built", "shared", "cached"].contains(&s.as_str())),
            "{signature}: {from:?}"
        );
    }
    let counts: Vec<usize> = sources.values().map(Vec::len).collect();
    assert_eq!(
        counts.iter().filter(|n| **n == 4).count(),
        3,
        "base and the apps' from stage are in all four builds: {sources:?}"
    );
}
