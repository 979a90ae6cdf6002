//! `conveyor worker`: attach a Docker engine to a coordinator and build the stages it assigns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use conveyor_worker::agent::{self, AgentConfig};
use conveyor_worker::credentials::{self, Auth, Credentials};
use conveyor_worker::{engine, executor};

use super::security::{self, ClientArgs};
use crate::exit::Failure;

/// Build stages for a coordinator on a Docker engine, sharing them through the registry.
///
/// Says hello with the stage images the engine already holds, builds what it is assigned
/// (pull, run commands, import files, commit, push REPO:SIGNATURE), streams logs and reports
/// results. Reconnects when the coordinator restarts. Build containers left by a crashed
/// worker on this engine are removed at start. Ctrl-C or SIGTERM stops running stages and removes
/// their containers.
///
/// Registry credentials come from `--registry-user`/`--registry-password-file` and from
/// Docker's config.json (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `auths`
/// entries; credential helpers are not supported). The command line wins. Credentials stay on
/// this worker: they are never logged and never sent to the coordinator.
///
/// A coordinator started with --token-file needs the same token here (--token-file or
/// CONVEYOR_TOKEN_FILE); a refused worker exits with code 2. An `https://` coordinator is
/// checked against --tls-ca (default: the system's CAs).
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The coordinator's address, e.g. `http://127.0.0.1:7070` (`https://` for TLS).
    #[arg(long)]
    coordinator: String,
    #[command(flatten)]
    client: ClientArgs,
    /// The Docker engine.
    #[arg(long, default_value = engine::DEFAULT_ENDPOINT)]
    docker: String,
    /// This worker's name (unique per worker; default: the host name and engine socket).
    #[arg(long)]
    name: Option<String>,
    /// Stages run at once.
    #[arg(long, default_value_t = 2)]
    slots: u32,
    /// Username for the registry (with `--registry-password-file`). Without `--registry-host`
    /// it is used for the stage registry only: the registry of the stage repository the
    /// coordinator assigns (base images from elsewhere use config.json or no credentials).
    #[arg(long, requires = "registry_password_file", value_name = "USER")]
    registry_user: Option<String>,
    /// File holding the registry password (trailing line breaks are ignored); read once at
    /// start.
    #[arg(long, requires = "registry_user", value_name = "FILE")]
    registry_password_file: Option<PathBuf>,
    /// Registry (`HOST[:PORT]`) the `--registry-user` credentials are for; repeatable. Without
    /// it they are for the stage registry.
    #[arg(long, requires = "registry_user", value_name = "HOST")]
    registry_host: Vec<String>,
}

pub fn run(args: WorkerArgs) -> Result<(), Failure> {
    super::block_on(serve(args))
}

/// Docker's config.json, then the command line's credentials (its password file read here,
/// once). A bad password file is a user error (exit 2) naming the file, never its content.
fn load_credentials(args: &WorkerArgs) -> Result<Credentials, Failure> {
    let (mut creds, warnings) = Credentials::from_docker_config().map_err(Failure::user)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    if let (Some(user), Some(file)) = (&args.registry_user, &args.registry_password_file) {
        let password = credentials::read_password_file(file)
            .map_err(|e| Failure::user(format!("--registry-password-file: {e}")))?;
        let auth = Auth {
            username: user.clone(),
            password,
        };
        creds = creds.with_user(auth, &args.registry_host);
    }
    Ok(creds)
}

async fn serve(args: WorkerArgs) -> Result<(), Failure> {
    let coordinator = args.client.remote(&args.coordinator)?;
    let credentials = load_credentials(&args)?;
    let (docker, info) = engine::connect_with_info(&args.docker)
        .await
        .map_err(Failure::environment)?;
    let name = args.name.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}:{}", host.trim(), args.docker)
    });
    // Build containers carry the worker's name: a restart under the same name removes what
    // the previous run left, and never another worker's on a shared engine.
    executor::set_owner(&name);
    let removed = executor::remove_stale_containers(&docker)
        .await
        .map_err(Failure::environment)?;
    if removed > 0 {
        eprintln!("removed {removed} build containers left by a previous run of {name}");
    }
    eprintln!(
        "conveyor worker {name}: engine {} ({}), coordinator {}",
        info.version, info.platform, args.coordinator
    );
    // Hosts and usernames only: no secret is ever printed.
    for line in credentials.summary() {
        eprintln!("registry credentials: {line}");
    }
    let config = AgentConfig {
        coordinator,
        name,
        slots: args.slots.max(1),
        heartbeat: Duration::from_secs(2),
        engine_version: info.version,
        platform: info.platform,
        credentials: Arc::new(credentials),
    };
    agent::run(docker, config, crate::signal::stopped())
        .await
        .map_err(|e| match e {
            agent::AgentError::Refused(message) => security::refused(&message),
            agent::AgentError::Remote(e) => security::connect_failure(e),
        })
}
