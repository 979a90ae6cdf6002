//! One module per `conveyor` subcommand: its arguments (clap) and its `run`.

pub mod build;
pub mod coordinator;
pub mod explain;
pub mod plan;
pub mod project;
pub mod render;
pub mod security;
pub mod worker;

use crate::exit::Failure;

/// Runs a command's main future on a multi-threaded runtime (the long-running commands and
/// `build`, which serve gRPC and drive Docker).
pub(crate) fn block_on<T>(
    main: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::environment)?
        .block_on(main)
}
