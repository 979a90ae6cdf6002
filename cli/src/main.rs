//! The `conveyor` command.
//!
//! Each subcommand lives in `cmd/`; this file parses arguments, sets up logging and turns a
//! subcommand's outcome into an exit code: 0 success, 1 a stage failed, 2 user error (bad
//! werf.yaml, bad flag), 3 environment error (Docker, registry or coordinator unreachable).

mod cmd;
mod exit;
mod signal;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Conveyor: build the images of a werf.yaml on a cluster, every stage once.
#[derive(Parser, Debug)]
#[command(name = "conveyor", version, about, long_about = None)]
struct Cli {
    /// Log filter for diagnostics on stderr (e.g. `info`, `conveyor=debug`); also `CONVEYOR_LOG`.
    #[arg(long, global = true, env = "CONVEYOR_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Render(cmd::render::RenderArgs),
    Plan(cmd::plan::PlanArgs),
    Build(cmd::build::BuildArgs),
    Explain(cmd::explain::ExplainArgs),
    Coordinator(cmd::coordinator::CoordinatorArgs),
    Worker(cmd::worker::WorkerArgs),
}

fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    // Long-running commands start many threads, each with heaps of its own: see the function.
    if matches!(
        cli.command,
        Command::Build(_) | Command::Coordinator(_) | Command::Worker(_)
    ) {
        conveyor_coordinator::os::without_huge_pages();
    }
    let outcome = match cli.command {
        Command::Render(args) => cmd::render::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Build(args) => cmd::build::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Coordinator(args) => cmd::coordinator::run(args),
        Command::Worker(args) => cmd::worker::run(args),
    };
    if let Err(err) = outcome {
        eprintln!("Error: {}", err.message);
        std::process::exit(err.kind.code());
    }
}
