//! One module per `conveyor` subcommand: its arguments (clap) and its `run`.

pub mod build;
pub mod coordinator;
pub mod explain;
pub mod plan;
pub mod project;
pub mod render;
pub mod security;
pub mod worker;
