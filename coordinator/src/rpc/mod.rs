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

/// The connections `listener` accepts, for `serve_with_incoming`, with `TCP_NODELAY` set.
///
/// tonic sets it only on sockets it binds itself (`serve`), not on an incoming stream it is
/// given. Without it, Nagle's algorithm holds a small message (an assignment, a result, a build
/// event) back until the peer acknowledges the previous one, and the peer delays its
/// acknowledgements: a message could wait 40 ms on loopback.
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

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

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn accepted_connections_have_nodelay_set() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = super::incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap(), "TCP_NODELAY is off");
    }
}
