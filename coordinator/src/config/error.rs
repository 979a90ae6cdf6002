//! Errors in a werf.yaml: always a user error, always pointing at the file and line.

use std::fmt;

/// A problem with the user's werf.yaml, where it is, and in which image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file (`werf.yaml`).
    pub file: String,
    /// 1-based line in the rendered config (the same as the source where no template changed
    /// the line structure; `conveyor render` shows the rendered text).
    pub line: usize,
    /// 1-based document index in the rendered config, when the error is inside a document.
    pub document: Option<usize>,
    /// The image or artifact at fault, when there is one: (`image`|`artifact`, name).
    pub image: Option<(&'static str, String)>,
    /// What is wrong, starting with a capital, names in backticks, no trailing period.
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            line,
            document: None,
            image: None,
            message: message.into(),
        }
    }

    pub fn in_document(mut self, document: usize) -> ConfigError {
        self.document = Some(document);
        self
    }

    pub fn in_image(mut self, kind: &'static str, name: &str) -> ConfigError {
        self.image = Some((kind, name.to_string()));
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        match (&self.image, self.document) {
            (Some((kind, name)), Some(doc)) => write!(f, "{kind} `{name}` (document {doc}): ")?,
            (Some((kind, name)), None) => write!(f, "{kind} `{name}`: ")?,
            (None, Some(doc)) => write!(f, "document {doc}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
