//! `conveyor coordinator`: the gRPC coordinator that workers attach to and clients submit
//! builds to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use conveyor_coordinator::rpc::{BuildsService, WorkersService};
use conveyor_coordinator::server::{self, ServerConfig};
use conveyor_coordinator::store::{RocksStore, Store, StoreError};
use conveyor_proto::v1::builds_server::BuildsServer;
use conveyor_proto::v1::workers_server::WorkersServer;

use crate::exit::Failure;

/// Run the coordinator: plans builds, schedules their stages on attached workers, records
/// finished stages in RocksDB.
///
/// Builds that were running when the coordinator stopped are planned again and finish on
/// restart; stages already recorded are not built again. Serves gRPC health
/// (`grpc.health.v1`) and reflection.
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
}

pub fn run(args: CoordinatorArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::environment)?;
    runtime.block_on(serve(args))
}

async fn serve(args: CoordinatorArgs) -> Result<(), Failure> {
    let store = RocksStore::open(&args.db).map_err(|e| match e {
        StoreError::Schema { .. } => Failure::user(e),
        _ => Failure::environment(e),
    })?;
    let store: Arc<dyn Store> = Arc::new(store);
    let mut config = ServerConfig {
        network: args.network,
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
        "conveyor coordinator listening on {} (db {})",
        listener.local_addr().map_err(Failure::environment)?,
        args.db.display()
    );
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(BuildsServer::new(BuildsService::new(handle.clone())))
        .add_service(WorkersServer::new(WorkersService::new(handle)))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            crate::signal::stopped(),
        )
        .await
        .map_err(Failure::environment)
}
