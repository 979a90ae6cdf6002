//! `conveyor build` as a user runs it: the embedded default (coordinator + one worker on the
//! local engine, stages kept in the engine without `--repo`), its report, its exit codes.
//! Needs the local engine and registry from `scripts/services.sh` (CI always runs it).

use std::path::Path;
use std::process::Command;

fn registry() -> String {
    std::env::var("CONVEYOR_TEST_REGISTRY").unwrap_or_else(|_| "localhost:5000".into())
}

fn conveyor(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .arg("build")
        .arg("--dir")
        .arg(dir)
        .args(["--network", "none"])
        .args(args)
        .env("REGISTRY", registry())
        .output()
        .expect("conveyor runs")
}

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("werf.yaml"), config).unwrap();
    std::fs::write(dir.path().join("MESSAGE"), "hello from a file\n").unwrap();
    dir
}

#[test]
fn the_embedded_default_builds_reports_and_caches() {
    // A project name unique to this run, so stage images from other runs don't interfere.
    let name = format!("cli{}", std::process::id());
    let config = format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: app\nfrom: {{{{ env \"REGISTRY\" }}}}/library/busybox\n\
         shell:\n  install:\n  - echo {{{{ .Files.Get \"MESSAGE\" | trim | quote }}}} > /msg\n\
         docker:\n  CMD: [\"cat\", \"/msg\"]\n"
    );
    let dir = project(&config);
    let report = dir.path().join("report.json");
    let out = conveyor(dir.path(), &["--report", report.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["status"], "succeeded");
    let app = &r["images"][0];
    assert_eq!(app["name"], "app");
    assert_eq!(app["tag"], format!("{name}/app:latest"));
    let sources: Vec<&str> = app["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["built", "built", "built"], "{r}");
    let run = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            &format!("{name}/app:latest"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello from a file\n");

    // Again: every stage cached, nothing built.
    let out = conveyor(dir.path(), &["--report", report.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(
        r["images"][0]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["source"] == "cached"),
        "{r}"
    );
}

#[test]
fn exit_codes_tell_a_failed_stage_from_a_bad_config() {
    let name = format!("clifail{}", std::process::id());
    let failing = project(&format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: app\nfrom: {{{{ env \"REGISTRY\" }}}}/library/busybox\n\
         shell:\n  install:\n  - echo about to fail\n  - exit 3\n"
    ));
    let out = conveyor(failing.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("about to fail"),
        "the log tail is shown: {err}"
    );

    let bad = project("project: p\nconfigVersion: 1\n---\nimage: app\nfromm: alpine\n");
    let out = conveyor(bad.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("werf.yaml:5"), "{err}");
}

#[test]
fn explain_names_the_input_that_changed_since_the_last_build() {
    let name = format!("cliexplain{}", std::process::id());
    let config = |version: &str| {
        format!(
            "project: {name}\nconfigVersion: 1\n---\nimage: app\nfrom: {{{{ env \"REGISTRY\" }}}}/library/busybox\n\
             fromCacheVersion: \"{version}\"\nshell:\n  install: [\"echo hi > /hi\"]\n"
        )
    };
    let dir = project(&config("1"));
    let out = conveyor(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.path().join("werf.yaml"), config("2")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(["explain", "--dir"])
        .arg(dir.path())
        .arg("app")
        .env("REGISTRY", registry())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fromCacheVersion: \"1\" → \"2\""), "{text}");
    assert!(
        text.contains("install") && text.contains("stage `from` changed"),
        "{text}"
    );
}

#[test]
fn a_failure_stops_the_build_unless_keep_going() {
    let name = format!("clikg{}", std::process::id());
    let dir = project(&format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: bad\nfrom: {{{{ env \"REGISTRY\" }}}}/library/busybox\n\
         shell:\n  install: [\"exit 1\"]\n---\nimage: good\nfrom: {{{{ env \"REGISTRY\" }}}}/library/busybox\n\
         shell:\n  install: [\"sleep 3\", \"echo ok > /ok\"]\n"
    ));
    let report = dir.path().join("report.json");
    let sources = |r: &serde_json::Value, image: &str| -> Vec<String> {
        r["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == image)
            .map(|i| {
                i["stages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["source"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let out = conveyor(dir.path(), &["--report", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_ne!(
        sources(&r, "good").last().map(String::as_str),
        Some("built"),
        "{r}"
    );

    let out = conveyor(
        dir.path(),
        &["--keep-going", "--report", report.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failed stage still fails the build"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        sources(&r, "good").last().map(String::as_str),
        Some("built"),
        "{r}"
    );
}

/// A fresh machine: another engine and no database, stages in the registry from an earlier
/// build. Nothing is built, and the final image is pulled so that `docker run` works there.
#[test]
fn a_fresh_engine_gets_its_images_from_the_registry() {
    let name = format!("clifresh{}", std::process::id());
    let config = format!(
        "project: {name}\nconfigVersion: 1\n---\nimage: app\nfrom: {{{{ env \"REGISTRY\" }}}}/library/busybox\n\
         shell:\n  install:\n  - echo {{{{ .Files.Get \"MESSAGE\" | trim | quote }}}} > /msg\n\
         docker:\n  CMD: [\"cat\", \"/msg\"]\n"
    );
    let repo = format!("{}/{name}-stages", registry());
    let first = project(&config);
    let out = conveyor(first.path(), &["--repo", &repo]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let engine2 = std::env::var("CONVEYOR_TEST_DOCKER2")
        .unwrap_or_else(|_| "unix:///var/run/conveyor-docker2.sock".into());
    let fresh = project(&config);
    let report = fresh.path().join("report.json");
    let out = conveyor(
        fresh.path(),
        &[
            "--repo",
            &repo,
            "--docker",
            &engine2,
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let stages = r["images"][0]["stages"].as_array().unwrap();
    assert!(stages.iter().all(|s| s["source"] == "cached"), "{r}");
    let run = Command::new("docker")
        .args(["-H", &engine2, "run", "--rm", "--network", "none"])
        .arg(format!("{name}/app:latest"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hello from a file\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
