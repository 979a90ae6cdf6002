//! Fuzzes the whole front end: render → load (YAML, model, validation) → plan. Any text as
//! werf.yaml must plan or fail with an error; never panic, hang or overflow.
//!
//! Run: `cd coordinator/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O plan corpus/plan seeds/plan --
//! -max_total_time=300` (`corpus/` is the fuzzer's working set, not committed)
#![no_main]

use std::collections::BTreeMap;

use conveyor_coordinator::config::render::{render, FileSource, RenderInput};
use conveyor_coordinator::{config, plan};
use libfuzzer_sys::fuzz_target;

struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn list(&self) -> Vec<String> {
        vec![]
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |_: &str| None;
    let input = RenderInput {
        config_name: "werf.yaml",
        config: text,
        files: &NoFiles,
        env: &env,
    };
    let Ok(rendered) = render(&input) else { return };
    let Ok(cfg) = config::load("werf.yaml", &rendered.text) else {
        return;
    };
    // fromLatest digests: a fixed fake one for every reference, so those images plan too.
    let digests: BTreeMap<String, String> = plan::latest_references(&cfg)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.reference, format!("sha256:{}", "0".repeat(64))))
        .collect();
    let _ = plan::plan(&cfg, &digests);
});
