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

/// Renders a project's config (on the blocking pool: the engine is CPU-bound and `!Send`).
pub async fn render_project(project: Project) -> Result<String, FrontError> {
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
        render(&input).map(|r| r.text).map_err(|e| FrontError {
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

/// Renders, loads and plans a project; `fromLatest` digests come from their registries.
pub async fn plan_project(project: Project) -> Result<(Config, Plan), FrontError> {
    let name = config_name(&project);
    let text = render_project(project).await?;
    let user = |message: String| FrontError {
        tier: Tier::User,
        message,
    };
    let config = config::load(&name, &text).map_err(|e| user(e.to_string()))?;
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
