//! The `conveyor.v1` protocol: generated message types and tonic clients and servers.
//! Nothing but generated code lives here; every other crate depends on this one.

/// Generated from `proto/conveyor/v1/*.proto`.
pub mod v1 {
    tonic::include_proto!("conveyor.v1");
}
