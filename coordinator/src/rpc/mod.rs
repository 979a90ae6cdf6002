//! The coordinator's gRPC services (`conveyor.v1`): `Builds` for clients, `Workers` for the
//! worker streams. Both are thin: they translate messages and hand them to the server's state
//! task (`crate::server`). `auth` guards both with the shared token; [`routes`] puts them
//! together behind it.

mod auth;
mod builds;
mod workers;

pub use auth::RequireToken;
pub use builds::BuildsService;
pub use workers::WorkersService;

use conveyor_proto::v1::builds_server::BuildsServer;
use conveyor_proto::v1::workers_server::WorkersServer;

use crate::server::Handle;

/// `Builds` and `Workers` over `server`, each call checked by `auth`.
pub fn routes(server: Handle, auth: RequireToken) -> tonic::service::Routes {
    tonic::service::Routes::new(BuildsServer::with_interceptor(
        BuildsService::new(server.clone()),
        auth.clone(),
    ))
    .add_service(WorkersServer::with_interceptor(
        WorkersService::new(server),
        auth,
    ))
}
