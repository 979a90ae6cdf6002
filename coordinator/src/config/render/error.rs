//! Render errors: Go's template error texts, kept structured so they can be printed two ways.
//!
//! Go names the main template `werfConfig` and partials by their path under `.werf/`; our
//! callers want the file they know (`werf.yaml`, `.werf/x.tmpl`). A [`TmplError`] keeps both
//! spellings of every name, including inside errors nested through `include` and `tpl`, so
//! [`RenderError`] can show ours while [`RenderError::go_message`] reproduces Go's exact text
//! (used for golden comparison against the reference renderer).

use super::gofmt::quote::quote;

/// A template name as Go spells it and as we show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub go: String,
    pub ours: String,
}

/// The message part of an execution error; `nested` is an error from `include` or `tpl`
/// that Go prints after `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub text: String,
    pub nested: Option<Box<TmplError>>,
}

impl Msg {
    pub fn plain(text: impl Into<String>) -> Msg {
        Msg {
            text: text.into(),
            nested: None,
        }
    }

    fn render(&self, go: bool) -> String {
        match &self.nested {
            Some(n) => format!("{}{}", self.text, n.render(go)),
            None => self.text.clone(),
        }
    }
}

/// An error as Go's `text/template` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TmplError {
    /// `template: NAME:LINE: MSG`
    Parse {
        file: Name,
        line: usize,
        msg: String,
    },
    /// `template: FILE:LINE:COL: executing "NAME" at <CONTEXT>: MSG`
    Exec {
        file: Name,
        line: usize,
        col: usize,
        name: Name,
        context: String,
        msg: Msg,
    },
    /// `template: no template "NAME" associated with template "ROOT"`
    NoTemplate { name: String, root: Name },
}

impl TmplError {
    /// The full text, with Go's names (`go`) or ours.
    pub fn render(&self, go: bool) -> String {
        let pick = |n: &Name| if go { n.go.clone() } else { n.ours.clone() };
        match self {
            TmplError::Parse { file, line, msg } => {
                format!("template: {}:{}: {}", pick(file), line, msg)
            }
            TmplError::Exec {
                file,
                line,
                col,
                name,
                context,
                msg,
            } => format!(
                "template: {}:{}:{}: executing {} at <{}>: {}",
                pick(file),
                line,
                col,
                quote(&pick(name)),
                context,
                msg.render(go)
            ),
            TmplError::NoTemplate { name, root } => format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(&pick(root))
            ),
        }
    }
}

/// Why rendering a config failed: `FILE:LINE:COL: REASON` (or `FILE:LINE: REASON` for parse
/// errors, where Go gives no column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.display())]
pub struct RenderError {
    /// The file the error is in, as the caller named it (`werf.yaml`, `.werf/x.tmpl`,
    /// `tpl-123`).
    pub file: String,
    pub line: usize,
    pub column: Option<usize>,
    /// Go's text after its `template: NAME:LINE:COL: ` prefix, with our file names.
    pub reason: String,
    go: String,
}

impl RenderError {
    fn display(&self) -> String {
        match self.column {
            Some(c) => format!("{}:{}:{}: {}", self.file, self.line, c, self.reason),
            None => format!("{}:{}: {}", self.file, self.line, self.reason),
        }
    }

    /// Go's exact message, as the reference renderer prints it (names as Go has them).
    pub fn go_message(&self) -> &str {
        &self.go
    }

    pub(crate) fn from_tmpl(e: &TmplError) -> RenderError {
        let go = e.render(true);
        match e {
            TmplError::Parse { file, line, msg } => RenderError {
                file: file.ours.clone(),
                line: *line,
                column: None,
                reason: msg.clone(),
                go,
            },
            TmplError::Exec {
                file,
                line,
                col,
                name,
                context,
                msg,
            } => RenderError {
                file: file.ours.clone(),
                line: *line,
                column: Some(*col),
                reason: format!(
                    "executing {} at <{}>: {}",
                    quote(&name.ours),
                    context,
                    msg.render(false)
                ),
                go,
            },
            TmplError::NoTemplate { root, .. } => RenderError {
                file: root.ours.clone(),
                line: 0,
                column: None,
                reason: e.render(false),
                go,
            },
        }
    }
}
