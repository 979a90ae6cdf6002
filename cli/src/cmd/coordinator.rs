//! `conveyor coordinator`: the gRPC coordinator that workers attach to and clients submit
//! builds to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use conveyor_coordinator::registry;
use conveyor_coordinator::rpc::{self, BuildsService, RequireToken, WorkersService};
use conveyor_coordinator::server::{self, ServerConfig};
use conveyor_coordinator::store::{RocksStore, Store, StoreError};
use conveyor_proto::v1::builds_server::BuildsServer;
use conveyor_proto::v1::workers_server::WorkersServer;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, ServerTlsConfig};

use super::security;
use crate::exit::Failure;

/// Run the coordinator: plans builds, schedules their stages on attached workers, records
/// finished stages in RocksDB.
///
/// Builds that were running when the coordinator stopped are planned again and finish on
/// restart; stages already recorded are not built again. Serves gRPC health
/// (`grpc.health.v1`) and reflection.
///
/// With --token-file, every call to the Builds and Workers services and to reflection must
/// carry that token (`authorization: Bearer TOKEN`; `conveyor` clients send it with their own
/// --token-file); others are refused as Unauthenticated. Health stays open for probes. With
/// --tls-cert and --tls-key it serves TLS only.
#[derive(Args, Debug)]
pub struct CoordinatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// The RocksDB directory (created if missing; one coordinator at a time).
    #[arg(long)]
    db: PathBuf,
    /// How long a task's lease lasts without a heartbeat before it is handed to another worker.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    lease_ttl: Duration,
    /// Attempts per stage (worker deaths and environment failures count) before it fails.
    #[arg(long, default_value_t = 3)]
    max_attempts: u32,
    /// Network for build containers (default: the engine's default network).
    #[arg(long, default_value = "")]
    network: String,
    /// Finished builds kept in memory with their events, for late watchers; older ones are
    /// dropped with what only they used (`Get` still answers their status from the DB).
    #[arg(long, default_value_t = 32, value_name = "N")]
    keep_finished: usize,
    /// File holding the token clients and workers must send (one line; the trailing line
    /// break is ignored). Without it, anyone who reaches the port may submit builds.
    #[arg(long, env = "CONVEYOR_TOKEN_FILE", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// PEM certificate chain to serve TLS with (with --tls-key).
    #[arg(
        long,
        env = "CONVEYOR_TLS_CERT",
        requires = "tls_key",
        value_name = "PEM"
    )]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "CONVEYOR_TLS_KEY",
        requires = "tls_cert",
        value_name = "PEM"
    )]
    tls_key: Option<PathBuf>,
}

pub fn run(args: CoordinatorArgs) -> Result<(), Failure> {
    super::block_on(serve(args))
}

/// The TLS settings of --tls-cert and --tls-key, files read and checked now.
fn tls(args: &CoordinatorArgs) -> Result<Option<ServerTlsConfig>, Failure> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let identity = Identity::from_pem(
        security::read_certificates(cert, "--tls-cert")?,
        security::read_private_key(key, "--tls-key")?,
    );
    Ok(Some(ServerTlsConfig::new().identity(identity)))
}

async fn serve(args: CoordinatorArgs) -> Result<(), Failure> {
    // Secrets first: a bad file is reported before anything opens.
    let auth = match &args.token_file {
        Some(path) => RequireToken::new(security::read_token(path)?.expose()),
        None => RequireToken::open(),
    };
    let tls = tls(&args)?;
    // Builds check their recorded stages in a registry: a loopback one or one over TLS.
    registry::warm_up(vec!["localhost".into(), "registry.invalid".into()]);
    let store = RocksStore::open(&args.db).map_err(|e| match e {
        StoreError::Schema { .. } => Failure::user(e),
        _ => Failure::environment(e),
    })?;
    let store: Arc<dyn Store> = Arc::new(store);
    let mut config = ServerConfig {
        network: args.network,
        keep_finished: args.keep_finished,
        ..ServerConfig::default()
    };
    config.sched.lease_ttl_ms = args.lease_ttl.as_millis() as u64;
    config.sched.max_attempts = args.max_attempts;
    let handle = server::start(store, config)
        .await
        .map_err(|s| Failure::environment(s.message()))?;
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<BuildsServer<BuildsService>>()
        .await;
    health_reporter
        .set_serving::<WorkersServer<WorkersService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(conveyor_proto::v1::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(Failure::environment)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::environment(format!("Cannot listen on {}: {e}", args.listen)))?;
    eprintln!(
        "conveyor coordinator listening on {} (db {}, {}, {})",
        listener.local_addr().map_err(Failure::environment)?,
        args.db.display(),
        if tls.is_some() { "TLS" } else { "no TLS" },
        if auth.is_required() {
            "token required"
        } else {
            "no token"
        },
    );
    if !auth.is_required() && !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: no --token-file: anyone who reaches {} can submit builds and attach workers",
            args.listen
        );
    }
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).map_err(|e| {
            Failure::user(format!(
                "`--tls-cert` and `--tls-key` do not make a TLS identity: {e}"
            ))
        })?;
    }
    // Health stays open: probes (kubelet's `grpc:` probe) cannot send a token.
    let server = handle.clone();
    let routes = rpc::routes(handle, auth.clone())
        .add_service(health)
        .add_service(InterceptedService::new(reflection, auth));
    // On SIGTERM or Ctrl-C it stops taking connections and lets requests in progress end. Worker
    // streams and watches never end by themselves, so after SHUTDOWN_GRACE it stops anyway,
    // once the results received are written (waiting at most another SHUTDOWN_GRACE for that;
    // a write already in progress is always let finish, by the runtime's shutdown: RocksDB is
    // not closed under it). Its state is in the store, workers reconnect to its successor,
    // and builds in flight resume there.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::signal::stopped().await;
        let _ = stop_tx.send(true);
    });
    let stopping = |grace: Duration| {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        }
    };
    let serve = builder.add_routes(routes).serve_with_incoming_shutdown(
        conveyor_coordinator::rpc::incoming(listener),
        stopping(Duration::ZERO),
    );
    let outcome = tokio::select! {
        served = serve => served.map_err(Failure::environment),
        () = stopping(SHUTDOWN_GRACE) => Ok(()),
    };
    // What workers reported before the stop is written before the process ends.
    match tokio::time::timeout(SHUTDOWN_GRACE, server.drain()).await {
        Ok(Ok(())) => eprintln!("conveyor coordinator stopped; every result received is recorded"),
        Ok(Err(status)) => eprintln!("conveyor coordinator stopped: {}", status.message()),
        Err(_) => eprintln!(
            "conveyor coordinator stopped with results still unrecorded after {} s (their \
             stages will be built again)",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
    outcome
}

/// How long a stopping coordinator waits for open streams to close before it exits.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
