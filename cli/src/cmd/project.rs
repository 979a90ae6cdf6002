//! What `render`, `plan` (and later `build`) share: finding the project's config file and
//! rendering it with `--env` variables over the process environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use conveyor_coordinator::config::render::{self, DirFiles, RenderInput};

use crate::exit::Failure;

/// Where the project is.
#[derive(Args, Debug, Clone)]
pub struct ProjectArgs {
    /// The project directory.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The config file, relative to --dir (default: werf.yaml, or werf.yml if that is absent).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A variable for the templates' `env` function, over the process environment
    /// (repeatable: --env VERSION=1.2 --env TARGET=prod).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
}

/// `K=V` → (K, V); K must be a non-empty name without `=`.
fn parse_env(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{arg}` is not K=V (a variable name, `=`, its value)"
        )),
    }
}

impl ProjectArgs {
    /// The `--env` variables (a later one wins over an earlier one of the same name).
    pub fn env_map(&self) -> BTreeMap<String, String> {
        self.env.iter().cloned().collect()
    }

    /// The config file's name (relative to the project dir, for messages) and its text.
    pub fn read(&self) -> Result<(String, String), Failure> {
        let path = config_path(&self.dir, self.config.as_deref())?;
        let source = std::fs::read_to_string(&path)
            .map_err(|e| Failure::user(format!("Cannot read `{}`: {e}", path.display())))?;
        let name = path
            .strip_prefix(&self.dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        Ok((name, source))
    }

    /// Renders the config; warnings (such as a missing `.Files.Get` file) go to stderr.
    pub fn render(&self) -> Result<render::Rendered, Failure> {
        self.with_input(|input| render::render(input).map(|r| (r, ())))
            .map(|(rendered, ())| rendered)
    }

    /// Renders and loads the config (documents are read while the rest renders).
    pub fn load(&self) -> Result<conveyor_coordinator::config::Config, Failure> {
        self.with_input(conveyor_coordinator::config::render_and_load)
            .map(|(_, config)| config)
    }

    /// Calls `f` with the config's render input; the render's warnings go to stderr.
    fn with_input<T, E: std::fmt::Display>(
        &self,
        f: impl FnOnce(&RenderInput) -> Result<(render::Rendered, T), E>,
    ) -> Result<(render::Rendered, T), Failure> {
        let (name, source) = self.read()?;
        let files = DirFiles::new(&self.dir);
        let overrides = self.env_map();
        let recording = conveyor_coordinator::front::RecordingEnv::with_overrides(&overrides);
        let env = |name: &str| recording.get(name);
        let input = RenderInput {
            config_name: &name,
            config: &source,
            files: &files,
            env: &env,
        };
        let (rendered, out) = f(&input).map_err(Failure::user)?;
        for warning in &rendered.warnings {
            eprintln!("Warning: {warning}");
        }
        Ok((rendered, out))
    }
}

impl ProjectArgs {
    /// Renders, loads and plans the config; `fromLatest` digests are asked of their registries.
    pub fn plan(&self) -> Result<conveyor_coordinator::plan::Plan, Failure> {
        use conveyor_coordinator::{plan, registry};
        let cfg = self.load()?;
        let latest = plan::latest_references(&cfg).map_err(Failure::user)?;
        let digests = if latest.is_empty() {
            Default::default()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Failure::environment)?
                .block_on(registry::resolve_all(&latest))
                .map_err(Failure::environment)?
        };
        plan::plan(&cfg, &digests).map_err(Failure::user)
    }
}

/// The config file: `--config` under `dir`, else `werf.yaml`, else `werf.yml`.
fn config_path(dir: &Path, config: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(config) = config {
        let path = dir.join(config);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Failure::user(format!(
                "No config file `{}`",
                path.display()
            )))
        };
    }
    ["werf.yaml", "werf.yml"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Failure::user(format!(
                "No `werf.yaml` or `werf.yml` in `{}` (use --dir or --config)",
                dir.display()
            ))
        })
}
