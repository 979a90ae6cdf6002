//! One image's stages in werf 1.1 order, each with its recorded inputs and signature.
//!
//! Order: from, beforeInstall, importsBeforeInstall, gitArchive, install, importsAfterInstall,
//! beforeSetup, importsBeforeSetup, setup, importsAfterSetup, gitCache, gitLatestPatch,
//! dockerInstructions. A stage with nothing to do is skipped: it has no signature and the next
//! stage chains on the previous non-empty one. Git stages are not planned yet (see `notes`).
//!
//! Inputs are the stage's own directives, never the image's name, so two images with the same
//! instructions share their stages. Values are JSON-encoded so lists and maps hash unambiguously.

use std::collections::BTreeMap;

use crate::config::error::ConfigError;
use crate::config::model::{Base, Command, Config, Image, Import, ImportSource, ImportStage};

use super::reference::normalize;
use super::signature::signature;
use super::{ImagePlan, Stage};

/// Everything the stages of `image` are computed from.
pub(super) struct Ctx<'a> {
    pub config: &'a Config,
    /// Plans of the images this one needs, by name (they come first in the graph order).
    pub planned: &'a BTreeMap<String, ImagePlan>,
    /// `fromLatest` digests by normalized reference.
    pub digests: &'a BTreeMap<String, String>,
}

fn err(ctx: &Ctx, image: &Image, line: usize, message: String) -> ConfigError {
    ConfigError::new(&ctx.config.file, line, message)
        .in_document(image.pos.document)
        .in_image(image.kind.as_str(), &image.name)
}

/// Appends stages to a chain, computing signatures on the way.
struct Chain {
    stages: Vec<Stage>,
}

impl Chain {
    fn push(&mut self, name: &'static str, inputs: Vec<(String, String)>, needs: Vec<String>) {
        let parent = self.stages.last().map(|s| s.signature.clone());
        let signature = signature(name, &inputs, parent.as_deref());
        self.stages.push(Stage {
            name,
            signature,
            parent,
            inputs,
            needs,
        });
    }
}

/// An import as it is hashed (field order is part of the signature format).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportInput<'a> {
    source: String,
    add: &'a str,
    to: &'a str,
    include_paths: &'a [String],
    exclude_paths: &'a [String],
    owner: &'a Option<String>,
    group: &'a Option<String>,
}

/// The docker instructions as they are hashed.
#[derive(serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
struct DockerInput<'a> {
    volume: &'a [String],
    expose: &'a [String],
    env: &'a BTreeMap<String, String>,
    label: &'a BTreeMap<String, String>,
    entrypoint: Option<CommandInput<'a>>,
    cmd: Option<CommandInput<'a>>,
    workdir: &'a Option<String>,
    user: &'a Option<String>,
    healthcheck: &'a Option<String>,
}

/// `ENTRYPOINT`/`CMD` as hashed: `{"shell": "..."}` or `{"exec": [...]}`.
#[derive(serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum CommandInput<'a> {
    Shell(&'a str),
    Exec(&'a [String]),
}

impl<'a> From<&'a Command> for CommandInput<'a> {
    fn from(c: &'a Command) -> Self {
        match c {
            Command::Shell(s) => CommandInput::Shell(s),
            Command::Exec(v) => CommandInput::Exec(v),
        }
    }
}

/// Compact JSON of plain data (serializing strings, lists and maps cannot fail).
fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn kv(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// The stages of `image`.
pub(super) fn stages(ctx: &Ctx, image: &Image) -> Result<Vec<Stage>, ConfigError> {
    let mut chain = Chain { stages: vec![] };
    from_stage(ctx, image, &mut chain)?;
    let shell = &image.shell;
    let user = [
        (
            "beforeInstall",
            &shell.before_install,
            &shell.before_install_cache_version,
            Some(("importsBeforeInstall", ImportStage::BeforeInstall)),
        ),
        (
            "install",
            &shell.install,
            &shell.install_cache_version,
            Some(("importsAfterInstall", ImportStage::AfterInstall)),
        ),
        (
            "beforeSetup",
            &shell.before_setup,
            &shell.before_setup_cache_version,
            Some(("importsBeforeSetup", ImportStage::BeforeSetup)),
        ),
        (
            "setup",
            &shell.setup,
            &shell.setup_cache_version,
            Some(("importsAfterSetup", ImportStage::AfterSetup)),
        ),
    ];
    for (name, commands, own_version, imports) in user {
        // beforeInstall's imports come after it; install's imports after install; and so on
        // (werf: importsBeforeInstall sits between beforeInstall and install).
        if !commands.is_empty() {
            let mut inputs = vec![kv("commands", to_json(commands))];
            if let Some(v) = &shell.cache_version {
                inputs.push(kv("cacheVersion", v.clone()));
            }
            if let Some(v) = own_version {
                inputs.push(kv(&format!("{name}CacheVersion"), v.clone()));
            }
            chain.push(name, inputs, vec![]);
        }
        if let Some((stage_name, slot)) = imports {
            import_stage(ctx, image, stage_name, slot, &mut chain)?;
        }
    }
    if !image.docker.is_empty() {
        let d = &image.docker;
        let input = DockerInput {
            volume: &d.volume,
            expose: &d.expose,
            env: &d.env,
            label: &d.label,
            entrypoint: d.entrypoint.as_ref().map(CommandInput::from),
            cmd: d.cmd.as_ref().map(CommandInput::from),
            workdir: &d.workdir,
            user: &d.user,
            healthcheck: &d.healthcheck,
        };
        chain.push(
            "dockerInstructions",
            vec![kv("instructions", to_json(&input))],
            vec![],
        );
    }
    Ok(chain.stages)
}

fn from_stage(ctx: &Ctx, image: &Image, chain: &mut Chain) -> Result<(), ConfigError> {
    let mut inputs = vec![];
    let mut needs = vec![];
    let mut parent = None;
    match &image.base {
        Base::External { reference, line } => {
            let normalized =
                normalize(reference).map_err(|m| err(ctx, image, *line, format!("`from`: {m}")))?;
            if image.from_latest {
                let digest = ctx.digests.get(&normalized).ok_or_else(|| {
                    err(
                        ctx,
                        image,
                        *line,
                        format!("No digest was resolved for `fromLatest` image `{normalized}`"),
                    )
                })?;
                inputs.push(kv("from", normalized));
                inputs.push(kv("fromLatestDigest", digest.clone()));
            } else {
                inputs.push(kv("from", normalized));
            }
        }
        Base::Image { name, line } | Base::Artifact { name, line } => {
            let key = if matches!(image.base, Base::Image { .. }) {
                "fromImage"
            } else {
                "fromImageArtifact"
            };
            let base = ctx.planned.get(name).ok_or_else(|| {
                err(
                    ctx,
                    image,
                    *line,
                    format!("`{key}: {name}` was not planned"),
                )
            })?;
            inputs.push(kv(key, base.signature.clone()));
            needs.push(base.signature.clone());
            parent = Some(base.signature.clone());
        }
        Base::None => {}
    }
    if let Some(v) = &image.from_cache_version {
        inputs.push(kv("fromCacheVersion", v.clone()));
    }
    let sig = signature("from", &inputs, parent.as_deref());
    chain.stages.push(Stage {
        name: "from",
        signature: sig,
        parent,
        inputs,
        needs,
    });
    Ok(())
}

fn import_stage(
    ctx: &Ctx,
    image: &Image,
    name: &'static str,
    slot: ImportStage,
    chain: &mut Chain,
) -> Result<(), ConfigError> {
    let imports: Vec<&Import> = image.imports.iter().filter(|i| i.stage == slot).collect();
    if imports.is_empty() {
        return Ok(());
    }
    let mut specs = vec![];
    let mut needs = vec![];
    for import in imports {
        let (ImportSource::Image(source) | ImportSource::Artifact(source)) = &import.source;
        let plan = ctx.planned.get(source).ok_or_else(|| {
            err(
                ctx,
                image,
                import.line,
                format!("Import source `{source}` was not planned"),
            )
        })?;
        let source_signature = match &import.source_stage {
            None => plan.signature.clone(),
            Some(stage) => plan
                .stages
                .iter()
                .find(|s| s.name == stage)
                .map(|s| s.signature.clone())
                .ok_or_else(|| {
                    let have: Vec<&str> = plan.stages.iter().map(|s| s.name).collect();
                    err(
                        ctx,
                        image,
                        import.line,
                        format!(
                            "`stage: {stage}`: `{source}` has no such stage (it has {})",
                            have.join(", ")
                        ),
                    )
                })?,
        };
        needs.push(source_signature.clone());
        specs.push(ImportInput {
            source: source_signature,
            add: &import.add,
            to: &import.to,
            include_paths: &import.include_paths,
            exclude_paths: &import.exclude_paths,
            owner: &import.owner,
            group: &import.group,
        });
    }
    chain.push(name, vec![kv("imports", to_json(&specs))], needs);
    Ok(())
}
