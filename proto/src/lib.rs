//! The `conveyor.v1` protocol: generated message types and tonic clients and servers.
//! Nothing but generated code lives here; every other crate depends on this one.

/// Generated from `proto/conveyor/v1/*.proto`.
pub mod v1 {
    tonic::include_proto!("conveyor.v1");

    /// The encoded descriptors of every conveyor.v1 file, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("conveyor_descriptor");
}
