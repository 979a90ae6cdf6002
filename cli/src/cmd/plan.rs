//! `conveyor plan`: every image's stages and signatures, as text, JSON or Graphviz dot.

use std::io::Write;

use clap::{Args, ValueEnum};
use conveyor_coordinator::plan::output;

use super::project::ProjectArgs;
use crate::exit::Failure;

/// Show the stage graph of werf.yaml: each image's stages and their signatures.
///
/// Renders the config, checks it (errors name `werf.yaml:LINE` and the image), splits every
/// image and artifact into werf's stages and computes their chained signatures. Nothing is
/// built. `fromLatest` images ask their registry for the base image's current digest.
#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// Output format: `text` for people, `json` for tools, `dot` for Graphviz.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Dot,
}

pub fn run(args: PlanArgs) -> Result<(), Failure> {
    let plan = args.project.plan()?;
    let text = match args.format {
        Format::Text => output::text(&plan),
        Format::Json => output::json(&plan),
        Format::Dot => output::dot(&plan),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::user(format!("Cannot write the plan: {e}")))
}
