//! `--env K=V`: variables for the templates' `env` function, over the process environment, in
//! `render`, `plan` and (through the submitted project) `build`. Needs no engine.

use std::process::Command;

const CONFIG: &str = "project: envs\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\nshell:\n  \
install: [\"echo {{ env \"GREETING\" }}\"]\n";

fn conveyor(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_conveyor"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("GREETING", "from the process")
        .output()
        .expect("conveyor runs")
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("werf.yaml"), CONFIG).unwrap();
    dir
}

#[test]
fn env_flags_win_over_the_process_environment() {
    let dir = project();
    let out = conveyor(dir.path(), &["render"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("echo from the process"));

    let out = conveyor(dir.path(), &["render", "--env", "GREETING=hi=there"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("echo hi=there"), "{text}");

    // The value is an input of the install stage: another value, another signature.
    let signature = |value: &str| {
        let out = conveyor(
            dir.path(),
            &[
                "plan",
                "--format",
                "json",
                "--env",
                &format!("GREETING={value}"),
            ],
        );
        assert!(out.status.success(), "{out:?}");
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["images"][0]["signature"].as_str().unwrap().to_string()
    };
    assert_eq!(signature("a"), signature("a"));
    assert_ne!(signature("a"), signature("b"));
}

#[test]
fn an_env_flag_without_a_value_is_a_user_error_naming_it() {
    let dir = project();
    for bad in ["GREETING", "=x"] {
        let out = conveyor(dir.path(), &["plan", "--env", bad]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--env") && err.contains(bad), "{err}");
    }
}
