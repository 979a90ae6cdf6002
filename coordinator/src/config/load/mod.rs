//! Rendered werf.yaml text → validated [`Config`].
//!
//! Steps: YAML documents with positions (`tree`), empty documents dropped, each document
//! classified as the meta document (`project`) or an `image`/`artifact` document and read
//! (`image`), then checks across documents: one meta document with `project` and
//! `configVersion: 1`, unique names, references to images and artifacts that exist and are of
//! the right kind, no self reference. Every error names the file and line (`ConfigError`).

mod fields;
mod image;

use crate::config::error::ConfigError;
use crate::config::model::{Base, Config, Image, ImageKind, ImportSource};
use crate::config::render::{render_streaming, RenderError, RenderInput, Rendered};
use crate::config::tree::{self, NodeKind};

use fields::{Ctx, MapView};

const META_KEYS: &[&str] = &[
    "project",
    "configVersion",
    "deploy",
    "cleanup",
    "gitWorktree",
    "build",
];

/// Reads the rendered config `text` of the file called `file` into a validated model.
pub fn load(file: &str, text: &str) -> Result<Config, ConfigError> {
    // Documents are read where they are parsed (on two threads for a large config).
    let parts =
        tree::parse_map(text, &|doc| read_document(file, &doc)).map_err(|e| syntax(file, e))?;
    assemble(file, parts)
}

fn syntax(file: &str, e: tree::SyntaxError) -> ConfigError {
    ConfigError::new(
        file,
        e.line,
        format!("Invalid YAML at column {}: {}", e.col, e.message),
    )
}

/// Why [`render_and_load`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderLoadError {
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// Renders a config and loads it, parsing the rendered documents on other threads while the
/// rest of the template renders (a large monorepo's config is mostly a `range` writing one
/// document after another). Gives what `render` then [`load`] would, errors included: a
/// render error first, then the first YAML error, then the first document at fault.
pub fn render_and_load(input: &RenderInput<'_>) -> Result<(Rendered, Config), RenderLoadError> {
    let file = input.config_name;
    let read = |doc: tree::Document| read_document(file, &doc);
    /// (number, lines before it, text, followed by a `---` line).
    type Piece = (usize, usize, String, bool);
    let (tx, rx) = std::sync::mpsc::channel::<Piece>();
    let rx = std::sync::Mutex::new(rx);
    // Takes pieces until the channel closes; returns each piece's documents by piece number.
    let take_pieces = || {
        let mut done = vec![];
        loop {
            let piece = match rx.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => break,
            };
            let Ok((n, lines_before, text, followed)) = piece else {
                break;
            };
            done.push((n, tree::parse_part(&text, lines_before, followed, &read)));
        }
        done
    };
    let (rendered, mut pieces) = std::thread::scope(|s| {
        let helper = s.spawn(take_pieces);
        let (mut n, mut lines) = (0, 0);
        let mut send = |piece: &str, followed: bool| {
            let _ = tx.send((n, lines, piece.to_string(), followed));
            n += 1;
            lines += piece.matches('\n').count();
        };
        // `render_streaming` wants the sink to live as long as the input's borrows.
        let input = RenderInput { ..*input };
        let rendered = render_streaming(&input, &mut send);
        drop(tx);
        // Rendering is over: this thread parses what is left, beside the helper.
        let mut pieces = take_pieces();
        pieces.extend(helper.join().unwrap_or_default());
        (rendered, pieces)
    });
    let rendered = rendered?;
    pieces.sort_by_key(|(n, _)| *n);
    let mut parts = Vec::with_capacity(pieces.len());
    let mut before = 0;
    for (_, reads) in pieces {
        let Ok(reads) = reads else {
            // A YAML error in a piece: the whole text is read again, so that the result is
            // the whole stream's (a cut that was not safe, e.g. inside a flow collection
            // left open, reads differently in two pieces; see `tree::parse`).
            let config = load(file, &rendered.text)?;
            return Ok((rendered, config));
        };
        let count = reads.len();
        parts.push((before, reads));
        before += count;
    }
    let config = assemble(file, parts)?;
    Ok((rendered, config))
}

/// Makes the config of the documents read, in order: `parts` are runs of documents, each
/// with the number of documents before it.
fn assemble<'a>(
    file: &'a str,
    parts: Vec<(usize, Vec<Result<Read<'a>, ConfigError>>)>,
) -> Result<Config, ConfigError> {
    let mut project: Option<(String, usize)> = None;
    // Most documents are one image each: room for that many up front, rather than doubling
    // (and copying) a list of 10,000 images a dozen times.
    let documents: usize = parts.iter().map(|(_, reads)| reads.len()).sum();
    let mut images: Vec<Image> = Vec::with_capacity(documents);
    let reads = parts
        .into_iter()
        .flat_map(|(before, reads)| reads.into_iter().map(move |read| renumber(read, before)));
    for read in reads {
        match read? {
            Read::Empty => {}
            Read::Meta { ctx, line, result } => {
                if let Some((_, first)) = &project {
                    return Err(ctx.err(
                        line,
                        format!("A second meta document (`project`); the first is at line {first}"),
                    ));
                }
                project = Some((result?, line));
            }
            Read::Images(list) => images.extend(list),
        }
    }
    let Some((project, _)) = project else {
        return Err(ConfigError::new(
            file,
            1,
            "No meta document: the config must have a document with `project: NAME` and \
             `configVersion: 1`",
        ));
    };
    let config = Config {
        file: file.to_string(),
        project,
        images,
    };
    check_names(&config)?;
    check_references(&config)?;
    Ok(config)
}

/// What one document holds.
enum Read<'a> {
    Empty,
    /// The meta document: its position and `project`, or what is wrong with it.
    Meta {
        ctx: Ctx<'a>,
        line: usize,
        result: Result<String, ConfigError>,
    },
    Images(Vec<Image>),
}

/// Adds `before` (the documents of earlier parts of the stream) to a document's index.
fn renumber(read: Result<Read<'_>, ConfigError>, before: usize) -> Result<Read<'_>, ConfigError> {
    if before == 0 {
        return read;
    }
    match read {
        Err(mut e) => {
            e.document = e.document.map(|d| d + before);
            Err(e)
        }
        Ok(Read::Meta {
            mut ctx,
            line,
            result,
        }) => {
            ctx.document += before;
            let result = result.map_err(|mut e| {
                e.document = e.document.map(|d| d + before);
                e
            });
            Ok(Read::Meta { ctx, line, result })
        }
        Ok(Read::Images(mut images)) => {
            for image in &mut images {
                image.pos.document += before;
            }
            Ok(Read::Images(images))
        }
        Ok(Read::Empty) => Ok(Read::Empty),
    }
}

/// Reads one document: the meta document, one or more images, or nothing.
fn read_document<'a>(file: &'a str, doc: &tree::Document) -> Result<Read<'a>, ConfigError> {
    let Some(root) = &doc.root else {
        return Ok(Read::Empty);
    };
    let ctx = Ctx {
        file,
        document: doc.index,
        image: None,
    };
    let map = MapView::new(root, "the document", &ctx)?;
    if map.has("project") {
        let result = meta(&map, &ctx);
        return Ok(Read::Meta {
            line: map.key_line("project"),
            ctx,
            result,
        });
    }
    let (kind, key) = match (map.has("image"), map.has("artifact")) {
        (true, false) => (ImageKind::Image, "image"),
        (false, true) => (ImageKind::Artifact, "artifact"),
        (true, true) => {
            return Err(ctx.err(
                map.key_line("artifact"),
                "A document is either an `image` or an `artifact`, not both",
            ))
        }
        (false, false) => {
            return Err(ctx.err(
                map.line,
                "A document must be the meta document (`project: NAME`), an `image: NAME` or \
                 an `artifact: NAME`",
            ))
        }
    };
    let mut images = vec![];
    for name in names(&map, key, &ctx)? {
        let ctx = Ctx {
            image: Some((kind.as_str(), name.clone())),
            ..ctx.clone()
        };
        images.push(image::image(&map, kind, name, &ctx)?);
    }
    Ok(Read::Images(images))
}

/// The meta document: `project` and `configVersion: 1`; other known sections are accepted.
fn meta(map: &MapView, ctx: &Ctx) -> Result<String, ConfigError> {
    map.check_keys("the meta document", META_KEYS, &[], ctx)?;
    let project = map.string("project", ctx)?.unwrap_or_default();
    if project.trim().is_empty() {
        return Err(ctx.err(map.key_line("project"), "`project` must not be empty"));
    }
    match map.string("configVersion", ctx)? {
        Some(v) if v == "1" => Ok(project),
        Some(v) => Err(ctx.err(
            map.key_line("configVersion"),
            format!("`configVersion: {v}` is not supported: Conveyor reads `configVersion: 1`"),
        )),
        None => Err(ctx.err(map.line, "The meta document needs `configVersion: 1`")),
    }
}

/// `image: a`, `image: [a, b]` (one image per name) or `image: ~` (werf's nameless image).
fn names(map: &MapView, key: &str, ctx: &Ctx) -> Result<Vec<String>, ConfigError> {
    let Some(node) = map.get(key) else {
        return Ok(vec![String::new()]);
    };
    match &node.kind {
        NodeKind::Seq(_) => {
            let names = fields::strings(node, key, ctx)?;
            if names.is_empty() {
                return Err(ctx.err(node.line, format!("`{key}` lists no names")));
            }
            Ok(names)
        }
        _ => Ok(vec![fields::string(node, key, ctx)?]),
    }
}

fn err_at(config: &Config, image: &Image, line: usize, message: String) -> ConfigError {
    ConfigError::new(&config.file, line, message)
        .in_document(image.pos.document)
        .in_image(image.kind.as_str(), &image.name)
}

fn check_names(config: &Config) -> Result<(), ConfigError> {
    let mut seen: std::collections::HashMap<&str, &Image> = std::collections::HashMap::new();
    for image in &config.images {
        if let Some(first) = seen.insert(&image.name, image) {
            let message = if image.name.is_empty() {
                format!(
                    "A second nameless image (the first is at line {}); name them with `image: NAME`",
                    first.pos.line
                )
            } else {
                format!(
                    "The name `{}` is already used by the {} at line {}",
                    image.name,
                    first.kind.as_str(),
                    first.pos.line
                )
            };
            return Err(err_at(config, image, image.pos.line, message));
        }
    }
    Ok(())
}

/// `fromImage`, `fromImageArtifact` and imports name existing images of the right kind.
fn check_references(config: &Config) -> Result<(), ConfigError> {
    let by_name: std::collections::HashMap<&str, &Image> =
        config.images.iter().map(|i| (i.name.as_str(), i)).collect();
    for image in &config.images {
        let mut refs: Vec<(&str, ImageKind, usize, &str)> = vec![];
        match &image.base {
            Base::Image { name, line } => refs.push((name, ImageKind::Image, *line, "fromImage")),
            Base::Artifact { name, line } => {
                refs.push((name, ImageKind::Artifact, *line, "fromImageArtifact"))
            }
            Base::External { .. } | Base::None => {}
        }
        for import in &image.imports {
            match &import.source {
                ImportSource::Image(n) => refs.push((n, ImageKind::Image, import.line, "image")),
                ImportSource::Artifact(n) => {
                    refs.push((n, ImageKind::Artifact, import.line, "artifact"))
                }
            }
        }
        for (name, want, line, key) in refs {
            if name == image.name {
                return Err(err_at(
                    config,
                    image,
                    line,
                    format!(
                        "`{key}: {name}` refers to the {} itself",
                        image.kind.as_str()
                    ),
                ));
            }
            let Some(target) = by_name.get(name) else {
                let known: Vec<&str> = config
                    .images
                    .iter()
                    .filter(|i| i.kind == want)
                    .map(|i| i.name.as_str())
                    .collect();
                let hint = fields::closest(name, &known)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(err_at(
                    config,
                    image,
                    line,
                    format!(
                        "`{key}: {name}`: no {} is called `{name}`{hint}",
                        want.as_str()
                    ),
                ));
            };
            if target.kind != want {
                let fix = match (key, target.kind) {
                    ("fromImage", ImageKind::Artifact) => "; use `fromImageArtifact`",
                    ("fromImageArtifact", ImageKind::Image) => "; use `fromImage`",
                    (_, ImageKind::Artifact) => "; use `artifact:` in the import",
                    (_, ImageKind::Image) => "; use `image:` in the import",
                };
                return Err(err_at(
                    config,
                    image,
                    line,
                    format!(
                        "`{key}: {name}` names an {}, not an {}{fix}",
                        target.kind.as_str(),
                        want.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
