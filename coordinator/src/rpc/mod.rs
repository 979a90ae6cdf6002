//! The coordinator's gRPC services (`conveyor.v1`): `Builds` for clients, `Workers` for the
//! worker streams. Both are thin: they translate messages and hand them to the server's state
//! task (`crate::server`).

mod builds;
mod workers;

pub use builds::BuildsService;
pub use workers::WorkersService;
