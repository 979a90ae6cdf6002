//! `conveyor worker`: attach a Docker engine to a coordinator and build the stages it assigns.

use std::time::Duration;

use clap::Args;
use conveyor_worker::agent::{self, AgentConfig};
use conveyor_worker::{engine, executor};

use crate::exit::Failure;

/// Build stages for a coordinator on a Docker engine, sharing them through the registry.
///
/// Says hello with the stage images the engine already holds, builds what it is assigned
/// (pull, run commands, import files, commit, push REPO:SIGNATURE), streams logs and reports
/// results. Reconnects when the coordinator restarts. Build containers left by a crashed
/// worker on this engine are removed at start. Ctrl-C or SIGTERM stops running stages and removes
/// their containers.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The coordinator's address, e.g. `http://127.0.0.1:7070`.
    #[arg(long)]
    coordinator: String,
    /// The Docker engine.
    #[arg(long, default_value = engine::DEFAULT_ENDPOINT)]
    docker: String,
    /// This worker's name (unique per worker; default: the host name and engine socket).
    #[arg(long)]
    name: Option<String>,
    /// Stages run at once.
    #[arg(long, default_value_t = 2)]
    slots: u32,
}

pub fn run(args: WorkerArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::environment)?;
    runtime.block_on(serve(args))
}

async fn serve(args: WorkerArgs) -> Result<(), Failure> {
    let docker = engine::connect(&args.docker)
        .await
        .map_err(Failure::environment)?;
    let info = engine::info(&docker, &args.docker)
        .await
        .map_err(Failure::environment)?;
    let removed = executor::remove_stale_containers(&docker)
        .await
        .map_err(Failure::environment)?;
    if removed > 0 {
        eprintln!("removed {removed} build containers left by a previous worker");
    }
    let name = args.name.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}:{}", host.trim(), args.docker)
    });
    eprintln!(
        "conveyor worker {name}: engine {} ({}), coordinator {}",
        info.version, info.platform, args.coordinator
    );
    let config = AgentConfig {
        coordinator: args.coordinator,
        name,
        slots: args.slots.max(1),
        heartbeat: Duration::from_secs(2),
        engine_version: info.version,
        platform: info.platform,
    };
    agent::run(docker, config, crate::signal::stopped()).await;
    Ok(())
}
