//! werf.yaml front end: rendering (`render`), YAML with positions (`tree`), the typed model
//! (`model`) and the step that reads and validates it (`load`).
//!
//! `render` turns the Go template into YAML text; `load` turns that text into a [`Config`]
//! whose errors all point at `werf.yaml:LINE`. Nothing here touches the network or Docker.

pub mod error;
mod load;
pub mod model;
pub mod render;
pub mod tree;

pub use error::ConfigError;
pub use load::{load, render_and_load, RenderLoadError};
pub use model::Config;
