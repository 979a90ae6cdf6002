//! Fuzzes the Go-template renderer: any text as werf.yaml, with a few project files and
//! partials around it, must render or fail with an error; never panic, hang or overflow.
//!
//! Run: `cd coordinator/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O render corpus/render seeds/render --
//! -max_total_time=300` (`corpus/` is the fuzzer's working set, not committed)
//! (RUSTC_BOOTSTRAP lets cargo fuzz's sanitizer flags through a stable toolchain).
#![no_main]

use conveyor_coordinator::config::render::{render, FileSource, RenderInput};
use libfuzzer_sys::fuzz_target;

/// A fixed little project: a data file, a YAML file and one partial.
struct Files;

impl FileSource for Files {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        match path {
            "VERSION" => Some(b"1.2.3\n".to_vec()),
            "values.yaml" => Some(b"a: 1\nb: [x, y]\nc: {d: e}\n".to_vec()),
            ".werf/common.tmpl" => Some(b"{{ define \"common\" }}x: {{ . }}{{ end }}".to_vec()),
            _ => None,
        }
    }
    fn list(&self) -> Vec<String> {
        vec!["VERSION".into(), "values.yaml".into(), ".werf/common.tmpl".into()]
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| (name == "FUZZ").then(|| "1".to_string());
    let input = RenderInput {
        config_name: "werf.yaml",
        config: text,
        files: &Files,
        env: &env,
    };
    let _ = render(&input);
});
