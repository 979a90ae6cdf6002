//! `conveyor render`: print werf.yaml as werf renders it before parsing (Go text/template,
//! sprig, werf's `include`, `tpl`, `env`, `required`, `.Files`, `.werf/**/*.tmpl` partials).

use std::io::Write;

use clap::Args;

use super::project::ProjectArgs;
use crate::exit::Failure;

/// Render werf.yaml's Go templates and print the result, as `werf config render` does.
///
/// Templates see the process environment through `env`, the project's files through
/// `.Files.Get`/`.Files.Glob`, and every `.werf/**/*.tmpl` as a partial named by its path under
/// `.werf/`. A template error names the file, line and column, and exits with code 2.
#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    project: ProjectArgs,
}

pub fn run(args: RenderArgs) -> Result<(), Failure> {
    let rendered = args.project.render()?;
    let mut out = std::io::stdout().lock();
    out.write_all(rendered.text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::user(format!("Cannot write the rendered config: {e}")))
}
