//! Golden tests of the renderer against Go's text/template + sprig (the reference renderer).
//!
//! Every directory under `tests/render/cases` holds a werf.yaml (and the files and partials it
//! reads) and what the reference renderer gave for it: `expected.out` (its output, exact bytes)
//! or `expected.err` (Go's full error message). An optional `env` file lists KEY=VALUE pairs,
//! the only environment the case sees. `scripts/golden.sh` regenerates the expectations with
//! the reference renderer; this test needs neither Go nor `../shared`.
//!
//! `CASE=substring cargo test --test render_golden` runs only the matching cases.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use conveyor_coordinator::config::render::{render, DirFiles, RenderInput};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render/cases")
}

fn run_case(dir: &Path) -> Result<(), String> {
    let config = std::fs::read_to_string(dir.join("werf.yaml")).map_err(|e| e.to_string())?;
    let env: HashMap<String, String> = std::fs::read_to_string(dir.join("env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let files = DirFiles::new(dir);
    let lookup = |k: &str| env.get(k).cloned();
    let input = RenderInput {
        config_name: "werf.yaml",
        config: &config,
        files: &files,
        env: &lookup,
    };
    let got = render(&input);
    let want_out = std::fs::read_to_string(dir.join("expected.out")).ok();
    let want_err = std::fs::read_to_string(dir.join("expected.err")).ok();
    match (got, want_out, want_err) {
        (Ok(r), Some(w), _) if r.text == w => Ok(()),
        (Ok(r), Some(w), _) => Err(format!(
            "output differs:\n--- want\n{w}\n--- got\n{}\n",
            r.text
        )),
        (Err(e), _, Some(w)) if e.go_message() == w.trim_end_matches('\n') => Ok(()),
        (Err(e), _, Some(w)) => Err(format!(
            "error differs:\n--- want\n{}\n--- got\n{}\n(ours: {e})",
            w.trim_end(),
            e.go_message()
        )),
        (Ok(r), None, Some(w)) => Err(format!("expected error {w}\ngot output:\n{}", r.text)),
        (Err(e), Some(w), _) => Err(format!(
            "expected output:\n{w}\ngot error: {}",
            e.go_message()
        )),
        _ => Err("case has neither expected.out nor expected.err".into()),
    }
}

#[test]
fn golden_cases_match_the_reference_renderer() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/render/cases exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let only = std::env::var("CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        ran += 1;
        if let Err(e) = run_case(dir) {
            failures.push(format!("== {name}: {e}"));
        }
    }
    eprintln!("golden: {ran} cases run");
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(ran > 0, "no golden case ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ from the reference renderer",
        failures.len()
    );
}
