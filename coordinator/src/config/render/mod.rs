//! Rendering `werf.yaml` as werf does before parsing it: Go 1.19 `text/template` with sprig
//! 3.2.3 and werf's functions, byte for byte.
//!
//! Owns the public entry point [`render`], the file access trait [`FileSource`] (the
//! coordinator renders both from disk and from files sent over gRPC), and the function table
//! ([`function_table`]) that merges Go's built-ins, sprig and werf's functions.
//!
//! Layout: `lex` and `parse` turn text into trees; `exec` walks them; `builtins` are Go's
//! built-in functions; `gofmt` is Go's `fmt` (and `strconv` quoting); `werf` holds werf's
//! functions and `.Files`; `error` keeps Go's error texts. `value` is the shared value model.
//!
//! `sprig` is the sprig library and `yaml` yaml.v2's encoder and decoder; werf's
//! `fromYaml`/`toYaml` reach `yaml` through [`YamlHooks`] so tests can swap them.

pub mod builtins;
pub mod error;
pub mod exec;
pub mod gofmt;
pub mod lex;
pub mod parse;
pub mod sprig;
pub mod value;
pub mod werf;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

// The function table is looked up by name at every call (see `sched`'s note on foldhash).
use foldhash::{HashMap, HashMapExt};

pub use error::RenderError;
use error::{Name, TmplError};
use exec::{Callable, Engine, RV};
use value::{Func, MapKind, Object, Value};

/// Files of a project: slash paths relative to the project directory.
pub trait FileSource {
    /// The file's bytes, or `None` if there is no such file.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// Every file (not directory) path, in any order.
    fn list(&self) -> Vec<String>;
}

/// A [`FileSource`] over a directory on disk.
pub struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    pub fn new(root: impl Into<PathBuf>) -> DirFiles {
        DirFiles { root: root.into() }
    }
}

fn walk_dir(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk_dir(&entry.path(), &rel, out),
            Ok(_) => out.push(rel),
            Err(_) => {}
        }
    }
}

impl FileSource for DirFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let full = self.root.join(path);
        if full.is_dir() {
            return None;
        }
        std::fs::read(full).ok()
    }

    fn list(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk_dir(&self.root, "", &mut out);
        out.sort();
        out
    }
}

/// What to render.
pub struct RenderInput<'a> {
    /// The config's file name as errors should show it (`werf.yaml`).
    pub config_name: &'a str,
    /// The config's text.
    pub config: &'a str,
    /// The project's files (for `.Files` and `.werf/**/*.tmpl` partials).
    pub files: &'a dyn FileSource,
    /// The environment `env` reads.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// A rendered config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// Non-fatal problems (e.g. `.Files.Get` of a missing file), one line each.
    pub warnings: Vec<String>,
}

/// The YAML functions werf's `fromYaml`/`toYaml` call.
#[derive(Clone, Copy)]
pub struct YamlHooks {
    /// `fromYaml`: a `map[string]interface {}`; on a decoding error, a map with the message
    /// under `Error`.
    pub from_yaml: fn(&str) -> Value,
    /// `toYaml`: the YAML text, its final newline already trimmed as werf does.
    pub to_yaml: fn(&Value) -> Result<String, String>,
}

/// The YAML hooks in use: yaml.v2-compatible decoding and encoding from `render::yaml`.
pub fn yaml_hooks() -> YamlHooks {
    YamlHooks {
        from_yaml: yaml::from_yaml,
        to_yaml: yaml::to_yaml,
    }
}

/// The function table: Go's built-ins, then sprig, then werf's functions (later entries
/// replace earlier ones, as a Go `FuncMap` replaces built-ins and werf replaces sprig's `env`).
pub fn function_table(yaml: YamlHooks) -> HashMap<String, Callable> {
    let mut t: HashMap<String, Callable> = HashMap::new();
    for (name, b) in builtins::BUILTINS {
        t.insert(name.to_string(), Callable::Builtin(b));
    }
    for (name, f) in sprig::functions() {
        t.insert(name.to_string(), Callable::Func(f));
    }
    // werf removes sprig's `expandenv`.
    t.remove("expandenv");
    t.insert("include".into(), Callable::Include);
    t.insert("tpl".into(), Callable::Tpl);
    t.insert("env".into(), Callable::Env);
    t.insert("required".into(), Callable::Func(werf::required()));
    t.insert(
        "fromYaml".into(),
        Callable::Func(werf::from_yaml(yaml.from_yaml)),
    );
    t.insert("toYaml".into(), Callable::Func(werf::to_yaml(yaml.to_yaml)));
    t
}

/// Go's name for the main template.
pub const ROOT_TEMPLATE: &str = "werfConfig";

/// Renders a config: partials first (sorted by path), then the config, executed with
/// `{"Files": .Files}` as data.
pub fn render(input: &RenderInput) -> Result<Rendered, RenderError> {
    render_with(input, Vec::new(), None)
}

/// [`render`], handing the output to `sink` in pieces while it is written: each piece is whole
/// YAML documents (cut before a `---` line: the sink's flag says whether the piece is followed
/// by one, true for all but the last), and the pieces in order make the whole text. A config
/// that renders to less than a few hundred KB arrives as one piece. On error, the pieces
/// handed on so far are to be thrown away.
pub fn render_streaming<'a>(
    input: &RenderInput<'a>,
    sink: &'a mut exec::Sink<'a>,
) -> Result<Rendered, RenderError> {
    render_with(input, Vec::new(), Some(exec::Stream::new(sink)))
}

/// [`render`] with `extra` functions merged last (tests use it to stand in for sprig's
/// `list`/`dict` while sprig is not wired in).
pub fn render_with<'e>(
    input: &RenderInput<'e>,
    extra: Vec<(&'static str, Func)>,
    stream: Option<exec::Stream<'e>>,
) -> Result<Rendered, RenderError> {
    let mut funcs = function_table(yaml_hooks());
    for (name, f) in extra {
        funcs.insert(name.to_string(), Callable::Func(f));
    }
    let files_obj: Rc<dyn Object> = Rc::new(werf::FilesObject);
    let root = Name {
        go: ROOT_TEMPLATE.into(),
        ours: input.config_name.into(),
    };
    let eng = Engine {
        templates: Default::default(),
        funcs,
        files: input.files,
        files_obj: files_obj.clone(),
        env: input.env,
        warnings: Default::default(),
        nesting: Default::default(),
        root: root.clone(),
        stream,
    };
    let fail = |e: Box<TmplError>| RenderError::from_tmpl(&e);
    for (name, path) in werf::partials(input.files) {
        let data = input.files.read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&data).into_owned();
        let pname = Name {
            go: name,
            ours: path,
        };
        eng.parse_template(&pname, &text).map_err(fail)?;
    }
    eng.parse_template(&root, input.config).map_err(fail)?;
    let Some(main) = eng.lookup(ROOT_TEMPLATE) else {
        return Ok(Rendered {
            text: String::new(),
            warnings: Vec::new(),
        });
    };
    let mut data = BTreeMap::new();
    data.insert("Files".to_string(), Value::Object(files_obj));
    let data = RV::concrete(Value::map(MapKind::StringAny, data));
    let mut out = String::new();
    if let Some(stream) = &eng.stream {
        stream.watch(&out);
    }
    eng.execute(&main, data, &mut out).map_err(fail)?;
    if let Some(stream) = &eng.stream {
        stream.finish(&out);
    }
    let warnings = eng.warnings.borrow().clone();
    Ok(Rendered {
        text: out,
        warnings,
    })
}

#[cfg(test)]
mod tests;
