//! Reading one `image:`/`artifact:` document into an [`Image`].
//!
//! Checks that need only this document happen here (known keys, exactly one base, import and
//! mount specs); checks across documents (names exist, kinds match) are in `super`.

use crate::config::error::ConfigError;
use crate::config::model::{
    Base, Builder, Command, DockerInstructions, Git, Image, ImageKind, Import, ImportSource,
    ImportStage, Mount, Pos, Shell,
};
use crate::config::tree::{Node, NodeKind};

use super::fields::{string, string_map, strings, Ctx, MapView};

const STAPEL_KEYS: &[&str] = &[
    "image",
    "artifact",
    "from",
    "fromLatest",
    "fromCacheVersion",
    "fromImage",
    "fromImageArtifact",
    "herebyIAdmitThatFromLatestMightBreakReproducibility",
    "git",
    "shell",
    "ansible",
    "docker",
    "import",
    "mount",
    "final",
];
const DOCKERFILE_KEYS: &[&str] = &[
    "image",
    "dockerfile",
    "context",
    "contextAddFiles",
    "contextAddFile",
    "target",
    "args",
    "addHost",
    "network",
    "ssh",
    "staged",
    "final",
];
/// Keys of newer werf versions that Conveyor recognizes but does not implement yet.
const NOT_YET: &[&str] = &[
    "platform",
    "imageSpec",
    "secrets",
    "dependencies",
    "cacheVersion",
    "disableGitAfterPatch",
    "fromArtifact",
    "asLayers",
];
const SHELL_KEYS: &[&str] = &[
    "beforeInstall",
    "install",
    "beforeSetup",
    "setup",
    "cacheVersion",
    "beforeInstallCacheVersion",
    "installCacheVersion",
    "beforeSetupCacheVersion",
    "setupCacheVersion",
];
const DOCKER_KEYS: &[&str] = &[
    "VOLUME",
    "EXPOSE",
    "ENV",
    "LABEL",
    "ENTRYPOINT",
    "CMD",
    "WORKDIR",
    "USER",
    "HEALTHCHECK",
];
const IMPORT_KEYS: &[&str] = &[
    "image",
    "artifact",
    "add",
    "to",
    "includePaths",
    "excludePaths",
    "owner",
    "group",
    "before",
    "after",
    "stage",
];
const GIT_KEYS: &[&str] = &[
    "url",
    "branch",
    "tag",
    "commit",
    "add",
    "to",
    "owner",
    "group",
    "includePaths",
    "excludePaths",
    "stageDependencies",
    "herebyIAdmitThatBranchMightBreakReproducibility",
];
const MOUNT_KEYS: &[&str] = &["from", "fromPath", "to"];

/// Reads an image or artifact document.
pub(crate) fn image(
    doc: &MapView,
    kind: ImageKind,
    name: String,
    ctx: &Ctx,
) -> Result<Image, ConfigError> {
    let dockerfile = doc.has("dockerfile");
    let what = format!("an {}", kind.as_str());
    if dockerfile && kind == ImageKind::Image {
        doc.check_keys(&what, DOCKERFILE_KEYS, NOT_YET, ctx)?;
    } else {
        doc.check_keys(&what, STAPEL_KEYS, NOT_YET, ctx)?;
    }
    if kind == ImageKind::Artifact {
        for key in ["docker", "final"] {
            if doc.has(key) {
                return Err(ctx.err(
                    doc.key_line(key),
                    format!("`{key}` is not allowed in an artifact (only images have it)"),
                ));
            }
        }
    }
    let builder = if dockerfile {
        Builder::Dockerfile {
            line: doc.key_line("dockerfile"),
        }
    } else if doc.has("ansible") {
        if doc.has("shell") {
            return Err(ctx.err(
                doc.key_line("ansible"),
                "Use either `shell` or `ansible`, not both",
            ));
        }
        Builder::Ansible {
            line: doc.key_line("ansible"),
        }
    } else {
        Builder::Shell
    };
    let base = if dockerfile {
        Base::None
    } else {
        base(doc, ctx)?
    };
    let from_latest = doc.bool("fromLatest", ctx)?;
    let from_cache_version = doc.string("fromCacheVersion", ctx)?;
    // `fromLatest` asks the registry for the base's digest, which only an external base has.
    // `fromCacheVersion` goes into the `from` stage's signature whatever the base (as in werf):
    // bumping it on a `fromImage` image rebuilds that image without touching its base.
    if !matches!(base, Base::External { .. }) && doc.get("fromLatest").is_some() && !dockerfile {
        return Err(ctx.err(
            doc.key_line("fromLatest"),
            "`fromLatest` applies to `from` only, and this image has no `from`",
        ));
    }
    Ok(Image {
        name,
        kind,
        pos: Pos {
            document: ctx.document,
            line: doc.line,
        },
        base,
        from_latest,
        from_cache_version,
        builder,
        shell: doc
            .get("shell")
            .map_or(Ok(Shell::default()), |n| shell(n, ctx))?,
        docker: doc
            .get("docker")
            .map_or(Ok(DockerInstructions::default()), |n| docker(n, ctx))?,
        imports: list(doc.get("import"), "import", ctx, import)?,
        git: list(doc.get("git"), "git", ctx, git)?,
        mounts: list(doc.get("mount"), "mount", ctx, mount)?,
    })
}

/// Exactly one of `from`, `fromImage`, `fromImageArtifact`.
fn base(doc: &MapView, ctx: &Ctx) -> Result<Base, ConfigError> {
    let mut found = vec![];
    for key in ["from", "fromImage", "fromImageArtifact"] {
        if let Some(value) = doc.string(key, ctx)? {
            found.push((key, value, doc.key_line(key)));
        }
    }
    match found.len() {
        0 => Err(ctx.err(
            doc.line,
            "No base image: set one of `from`, `fromImage` or `fromImageArtifact`",
        )),
        1 => {
            let (key, value, line) = found.remove(0);
            Ok(match key {
                "from" => Base::External {
                    reference: value,
                    line,
                },
                "fromImage" => Base::Image { name: value, line },
                _ => Base::Artifact { name: value, line },
            })
        }
        _ => {
            let names: Vec<String> = found
                .iter()
                .map(|(k, _, line)| format!("`{k}` (line {line})"))
                .collect();
            Err(ctx.err(
                found[1].2,
                format!(
                    "More than one base image: {}; use exactly one",
                    names.join(" and ")
                ),
            ))
        }
    }
}

/// Reads an optional list of mappings with `item`.
fn list<T>(
    node: Option<&Node>,
    key: &str,
    ctx: &Ctx,
    item: fn(&MapView, &Ctx) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    let Some(node) = node else {
        return Ok(vec![]);
    };
    let NodeKind::Seq(items) = &node.kind else {
        return Err(ctx.err(
            node.line,
            format!("`{key}` must be a list, not {}", node.describe()),
        ));
    };
    items
        .iter()
        .map(|n| item(&MapView::new(n, &format!("a `{key}` entry"), ctx)?, ctx))
        .collect()
}

fn shell(node: &Node, ctx: &Ctx) -> Result<Shell, ConfigError> {
    let m = MapView::new(node, "`shell`", ctx)?;
    m.check_keys("`shell`", SHELL_KEYS, &[], ctx)?;
    Ok(Shell {
        before_install: m.strings("beforeInstall", ctx)?,
        install: m.strings("install", ctx)?,
        before_setup: m.strings("beforeSetup", ctx)?,
        setup: m.strings("setup", ctx)?,
        cache_version: m.string("cacheVersion", ctx)?,
        before_install_cache_version: m.string("beforeInstallCacheVersion", ctx)?,
        install_cache_version: m.string("installCacheVersion", ctx)?,
        before_setup_cache_version: m.string("beforeSetupCacheVersion", ctx)?,
        setup_cache_version: m.string("setupCacheVersion", ctx)?,
    })
}

fn docker(node: &Node, ctx: &Ctx) -> Result<DockerInstructions, ConfigError> {
    let m = MapView::new(node, "`docker`", ctx)?;
    m.check_keys("`docker`", DOCKER_KEYS, &["STOPSIGNAL", "ONBUILD"], ctx)?;
    let command = |key: &str| -> Result<Option<Command>, ConfigError> {
        match m.get(key) {
            None => Ok(None),
            Some(
                n @ Node {
                    kind: NodeKind::Seq(_),
                    ..
                },
            ) => Ok(Some(Command::Exec(strings(n, key, ctx)?))),
            Some(n) => Ok(Some(Command::Shell(string(n, key, ctx)?))),
        }
    };
    Ok(DockerInstructions {
        volume: m.strings("VOLUME", ctx)?,
        expose: m.strings("EXPOSE", ctx)?,
        env: m
            .get("ENV")
            .map_or(Ok(Default::default()), |n| string_map(n, "ENV", ctx))?,
        label: m
            .get("LABEL")
            .map_or(Ok(Default::default()), |n| string_map(n, "LABEL", ctx))?,
        entrypoint: command("ENTRYPOINT")?,
        cmd: command("CMD")?,
        workdir: m.string("WORKDIR", ctx)?,
        user: m.string("USER", ctx)?,
        healthcheck: m.string("HEALTHCHECK", ctx)?,
    })
}

fn absolute(m: &MapView, key: &str, ctx: &Ctx) -> Result<Option<String>, ConfigError> {
    match m.string(key, ctx)? {
        Some(p) if !p.starts_with('/') => Err(ctx.err(
            m.key_line(key),
            format!("`{key}: {p}` must be an absolute path"),
        )),
        other => Ok(other),
    }
}

fn import(m: &MapView, ctx: &Ctx) -> Result<Import, ConfigError> {
    m.check_keys("an `import` entry", IMPORT_KEYS, &["from"], ctx)?;
    let source = match (m.string("image", ctx)?, m.string("artifact", ctx)?) {
        (Some(i), None) => ImportSource::Image(i),
        (None, Some(a)) => ImportSource::Artifact(a),
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                m.key_line("artifact"),
                "An import names both `image` and `artifact`; use one",
            ))
        }
        (None, None) => {
            return Err(ctx.err(m.line, "An import needs `artifact: NAME` or `image: NAME`"))
        }
    };
    let Some(add) = absolute(m, "add", ctx)? else {
        return Err(ctx.err(m.line, "An import needs `add: /path` (the path to copy)"));
    };
    let to = absolute(m, "to", ctx)?.unwrap_or_else(|| add.clone());
    let stage = match (m.string("before", ctx)?, m.string("after", ctx)?) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                m.key_line("after"),
                "An import has both `before` and `after`; use one",
            ))
        }
        (None, None) => {
            return Err(ctx.err(
                m.line,
                "An import needs `before: install|setup` or `after: install|setup`",
            ))
        }
        (Some(s), None) => match s.as_str() {
            "install" => ImportStage::BeforeInstall,
            "setup" => ImportStage::BeforeSetup,
            _ => return Err(bad_relation(m, "before", &s, ctx)),
        },
        (None, Some(s)) => match s.as_str() {
            "install" => ImportStage::AfterInstall,
            "setup" => ImportStage::AfterSetup,
            _ => return Err(bad_relation(m, "after", &s, ctx)),
        },
    };
    Ok(Import {
        source,
        add,
        to,
        include_paths: m.strings("includePaths", ctx)?,
        exclude_paths: m.strings("excludePaths", ctx)?,
        owner: m.string("owner", ctx)?,
        group: m.string("group", ctx)?,
        stage,
        source_stage: m.string("stage", ctx)?,
        line: m.line,
    })
}

fn bad_relation(m: &MapView, key: &str, value: &str, ctx: &Ctx) -> ConfigError {
    ctx.err(
        m.key_line(key),
        format!("`{key}: {value}` is not a stage: use `install` or `setup`"),
    )
}

fn git(m: &MapView, ctx: &Ctx) -> Result<Git, ConfigError> {
    m.check_keys("a `git` entry", GIT_KEYS, &[], ctx)?;
    let add = absolute(m, "add", ctx)?.unwrap_or_else(|| "/".to_string());
    let Some(to) = absolute(m, "to", ctx)? else {
        return Err(ctx.err(m.line, "A `git` entry needs `to: /path`"));
    };
    Ok(Git {
        url: m.string("url", ctx)?,
        add,
        to,
        line: m.line,
    })
}

fn mount(m: &MapView, ctx: &Ctx) -> Result<Mount, ConfigError> {
    m.check_keys("a `mount` entry", MOUNT_KEYS, &[], ctx)?;
    let from = match (m.string("from", ctx)?, m.string("fromPath", ctx)?) {
        (Some(f), None) if f == "tmp_dir" || f == "build_dir" => f,
        (Some(f), None) => {
            return Err(ctx.err(
                m.key_line("from"),
                format!("`from: {f}` must be `tmp_dir` or `build_dir` (or use `fromPath`)"),
            ))
        }
        (None, Some(p)) => p,
        _ => {
            return Err(ctx.err(
                m.line,
                "A `mount` entry needs exactly one of `from` and `fromPath`",
            ))
        }
    };
    let Some(to) = absolute(m, "to", ctx)? else {
        return Err(ctx.err(m.line, "A `mount` entry needs `to: /path`"));
    };
    Ok(Mount {
        from,
        to,
        line: m.line,
    })
}
