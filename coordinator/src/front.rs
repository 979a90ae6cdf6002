//! The front end as a service: a project sent by a client (config text, files, env) →
//! rendered → loaded → planned, with `fromLatest` digests asked of their registries.

use std::collections::BTreeMap;

use conveyor_proto::v1::Project;

use crate::config::render::{render, FileSource, RenderInput};
use crate::config::{self, Config};
use crate::error::Tier;
use crate::plan::{self, Plan};
use crate::registry;

/// A project's files as a client sent them (slash paths relative to the project dir).
pub struct SentFiles(pub BTreeMap<String, Vec<u8>>);

impl FileSource for SentFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.get(path).cloned()
    }
    fn list(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

/// Why a project could not be planned, with its tier.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FrontError {
    pub tier: Tier,
    pub message: String,
}

impl FrontError {
    pub fn status(&self) -> tonic::Status {
        self.tier.status(self.message.clone())
    }
}

fn config_name(project: &Project) -> String {
    if project.config_name.is_empty() {
        "werf.yaml".to_string()
    } else {
        project.config_name.clone()
    }
}

/// Runs `f` on a project's render input on the blocking pool (the template engine is
/// CPU-bound and `!Send`); an error of `f` is the user's.
async fn with_input<T: Send + 'static, E: std::fmt::Display>(
    project: Project,
    f: impl FnOnce(&RenderInput) -> Result<T, E> + Send + 'static,
) -> Result<T, FrontError> {
    tokio::task::spawn_blocking(move || {
        let name = config_name(&project);
        let files = SentFiles(project.files.into_iter().collect());
        let env = |k: &str| project.env.get(k).cloned();
        let input = RenderInput {
            config_name: &name,
            config: &project.config,
            files: &files,
            env: &env,
        };
        f(&input).map_err(|e| FrontError {
            tier: Tier::User,
            message: e.to_string(),
        })
    })
    .await
    .map_err(|e| FrontError {
        tier: Tier::Internal,
        message: format!("Rendering stopped: {e}"),
    })?
}

/// Renders a project's config.
pub async fn render_project(project: Project) -> Result<String, FrontError> {
    with_input(project, |input| render(input).map(|r| r.text)).await
}

/// Renders, loads and plans a project; `fromLatest` digests come from their registries.
pub async fn plan_project(project: Project) -> Result<(Config, Plan), FrontError> {
    let user = |message: String| FrontError {
        tier: Tier::User,
        message,
    };
    // Rendering and loading overlap (see `config::render_and_load`).
    let config = with_input(project, |input| {
        config::render_and_load(input).map(|(_, config)| config)
    })
    .await?;
    let latest = plan::latest_references(&config).map_err(|e| user(e.to_string()))?;
    let digests = registry::resolve_all(&latest)
        .await
        .map_err(|e| FrontError {
            tier: Tier::Environment,
            message: e.to_string(),
        })?;
    let plan = plan::plan(&config, &digests).map_err(|e| user(e.to_string()))?;
    Ok((config, plan))
}

/// A [`FileSource`] that remembers what the templates read, so that a client sends the
/// coordinator exactly the files (and, with [`RecordingEnv`], the variables) its config uses.
pub struct RecordingFiles<'a> {
    inner: &'a dyn FileSource,
    read: std::cell::RefCell<BTreeMap<String, Vec<u8>>>,
}

impl<'a> RecordingFiles<'a> {
    pub fn new(inner: &'a dyn FileSource) -> RecordingFiles<'a> {
        RecordingFiles {
            inner,
            read: Default::default(),
        }
    }

    /// The files read so far: path → content.
    pub fn into_read(self) -> BTreeMap<String, Vec<u8>> {
        self.read.into_inner()
    }
}

impl FileSource for RecordingFiles<'_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let data = self.inner.read(path)?;
        self.read
            .borrow_mut()
            .insert(path.to_string(), data.clone());
        Some(data)
    }
    fn list(&self) -> Vec<String> {
        self.inner.list()
    }
}

/// The environment as `env` reads it (`overrides` first, then the process environment),
/// remembering which variables were set.
pub struct RecordingEnv<'a> {
    overrides: &'a BTreeMap<String, String>,
    read: std::cell::RefCell<BTreeMap<String, String>>,
}

impl<'a> RecordingEnv<'a> {
    /// An environment where `overrides` (from `--env K=V`) hide the process's variables.
    pub fn with_overrides(overrides: &'a BTreeMap<String, String>) -> Self {
        RecordingEnv {
            overrides,
            read: Default::default(),
        }
    }

    /// Looks `name` up and remembers it when set.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match self.overrides.get(name) {
            Some(value) => value.clone(),
            None => std::env::var(name).ok()?,
        };
        self.read
            .borrow_mut()
            .insert(name.to_string(), value.clone());
        Some(value)
    }

    pub fn into_read(self) -> BTreeMap<String, String> {
        self.read.into_inner()
    }
}

/// Renders a project from disk locally, recording what it reads, and returns the [`Project`]
/// to send: the config, the files its templates read and the variables they used (`env`
/// first, then the process environment). Rendering it again on the coordinator gives the
/// same text.
pub fn project_from_dir(
    dir: &std::path::Path,
    config_name: &str,
    config: &str,
    env: &BTreeMap<String, String>,
) -> Result<Project, FrontError> {
    let disk = crate::config::render::DirFiles::new(dir);
    let files = RecordingFiles::new(&disk);
    let env = RecordingEnv::with_overrides(env);
    let lookup = |k: &str| env.get(k);
    let input = RenderInput {
        config_name,
        config,
        files: &files,
        env: &lookup,
    };
    render(&input).map_err(|e| FrontError {
        tier: Tier::User,
        message: e.to_string(),
    })?;
    Ok(Project {
        config_name: config_name.to_string(),
        config: config.to_string(),
        files: files.into_read().into_iter().collect(),
        env: env.into_read().into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submitted_project_carries_the_env_overrides_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let config = "project: p\nconfigVersion: 1\n---\nimage: a\nfrom: alpine\nshell:\n  \
                      install: [\"echo {{ env \"CONVEYOR_TEST_OVERRIDDEN\" }}\"]\n";
        let overrides = BTreeMap::from([
            ("CONVEYOR_TEST_OVERRIDDEN".to_string(), "given".to_string()),
            ("UNUSED".to_string(), "x".to_string()),
        ]);
        let project = project_from_dir(dir.path(), "werf.yaml", config, &overrides).unwrap();
        // Only what the templates read travels, with the value they saw.
        assert_eq!(
            project.env.into_iter().collect::<Vec<_>>(),
            [("CONVEYOR_TEST_OVERRIDDEN".to_string(), "given".to_string())]
        );
    }
}
