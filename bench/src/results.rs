//! Where benchmark reports go: `NAME.md` and `NAME.json` (and any plots) in one directory,
//! `bench/results/` of this crate unless a `--results DIR` says otherwise.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The results directory: `dir` if given, else this crate's `results/`.
pub fn dir(dir: Option<&Path>) -> PathBuf {
    dir.map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("results"))
}

/// Writes `DIR/NAME.md` and `DIR/NAME.json` (pretty-printed), creating `DIR`. Returns the
/// two paths.
pub fn write(
    dir: &Path,
    name: &str,
    markdown: &str,
    json: &serde_json::Value,
) -> Result<[PathBuf; 2]> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let md = dir.join(format!("{name}.md"));
    let js = dir.join(format!("{name}.json"));
    std::fs::write(&md, markdown).with_context(|| format!("writing `{}`", md.display()))?;
    let mut text = serde_json::to_string_pretty(json)?;
    text.push('\n');
    std::fs::write(&js, text).with_context(|| format!("writing `{}`", js.display()))?;
    Ok([md, js])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_both_files_creating_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let [md, js] = write(&dir, "x", "| a |\n", &serde_json::json!({"k": 1})).unwrap();
        assert_eq!(md, dir.join("x.md"));
        assert_eq!(std::fs::read_to_string(md).unwrap(), "| a |\n");
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(js).unwrap()).unwrap();
        assert_eq!(back, serde_json::json!({"k": 1}));
    }

    #[test]
    fn defaults_to_the_crate_results_dir() {
        assert!(dir(None).ends_with("bench/results"));
        assert_eq!(dir(Some(Path::new("/x"))), PathBuf::from("/x"));
    }
}
