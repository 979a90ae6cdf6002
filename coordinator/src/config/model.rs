//! The typed werf.yaml model: what the planner reads.
//!
//! Everything here has been validated by `load`: names are unique, each image has exactly one
//! base, import specs are complete. References between images (`fromImage`, imports) are kept
//! as names and checked to exist; cycles are the planner's business, since it walks the graph.
//! Every item keeps the line it came from so that later errors (plan time) can point at it.

use std::collections::BTreeMap;

/// A whole werf.yaml: the meta document and its images and artifacts, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The config file's name, for messages (`werf.yaml`).
    pub file: String,
    pub project: String,
    pub images: Vec<Image>,
}

impl Config {
    /// The image or artifact called `name`.
    pub fn get(&self, name: &str) -> Option<&Image> {
        self.images.iter().find(|i| i.name == name)
    }
}

/// Where a document or a directive is: 1-based document index and line of the rendered config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub document: usize,
    pub line: usize,
}

/// An `image:` or an `artifact:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImageKind {
    Image,
    Artifact,
}

impl ImageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Image => "image",
            ImageKind::Artifact => "artifact",
        }
    }
}

/// One image or artifact document.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The name (`""` for werf's single nameless image).
    pub name: String,
    pub kind: ImageKind,
    pub pos: Pos,
    pub base: Base,
    /// `fromLatest: true`: the from stage depends on the base image's current digest.
    pub from_latest: bool,
    pub from_cache_version: Option<String>,
    /// How the image's user stages are described.
    pub builder: Builder,
    pub shell: Shell,
    pub docker: DockerInstructions,
    pub imports: Vec<Import>,
    pub git: Vec<Git>,
    pub mounts: Vec<Mount>,
}

/// What an image is built on.
#[derive(Debug, Clone, PartialEq)]
pub enum Base {
    /// `from: REF`, as written (normalized by the planner).
    External { reference: String, line: usize },
    /// `fromImage: NAME`
    Image { name: String, line: usize },
    /// `fromImageArtifact: NAME`
    Artifact { name: String, line: usize },
    /// A dockerfile image has no stapel base.
    None,
}

/// Which instructions build the user stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// `shell:` (or no instructions at all).
    Shell,
    /// `ansible:` (parsed, not supported by the planner yet).
    Ansible { line: usize },
    /// `dockerfile:` (parsed, not supported by the planner yet).
    Dockerfile { line: usize },
}

/// The four user stages of `shell:` and their cache versions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shell {
    pub before_install: Vec<String>,
    pub install: Vec<String>,
    pub before_setup: Vec<String>,
    pub setup: Vec<String>,
    pub cache_version: Option<String>,
    pub before_install_cache_version: Option<String>,
    pub install_cache_version: Option<String>,
    pub before_setup_cache_version: Option<String>,
    pub setup_cache_version: Option<String>,
}

/// `docker:` instructions applied in the last stage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DockerInstructions {
    pub volume: Vec<String>,
    pub expose: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub label: BTreeMap<String, String>,
    pub entrypoint: Option<Command>,
    pub cmd: Option<Command>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub healthcheck: Option<String>,
}

impl DockerInstructions {
    pub fn is_empty(&self) -> bool {
        *self == DockerInstructions::default()
    }
}

/// `ENTRYPOINT`/`CMD`: shell form (a string) or exec form (a list).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Shell(String),
    Exec(Vec<String>),
}

/// Where an import's files come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportSource {
    Image(String),
    Artifact(String),
}

/// The user stage an import is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImportStage {
    BeforeInstall,
    AfterInstall,
    BeforeSetup,
    AfterSetup,
}

/// One `import:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub source: ImportSource,
    /// Absolute path in the source image.
    pub add: String,
    /// Absolute path in this image (defaults to `add`).
    pub to: String,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub stage: ImportStage,
    /// `stage:` of the source to import from (werf ≥ 1.1.8); `None` means its last stage.
    pub source_stage: Option<String>,
    pub line: usize,
}

/// One `git:` entry (parsed and validated; its stages are not planned yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Git {
    pub url: Option<String>,
    pub add: String,
    pub to: String,
    pub line: usize,
}

/// One `mount:` entry (parsed and validated; used by workers later).
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    /// `tmp_dir`, `build_dir`, or a host path (`fromPath`).
    pub from: String,
    pub to: String,
    pub line: usize,
}
