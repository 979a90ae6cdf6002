//! Conveyor's worker: runs fully resolved stage tasks on a Docker engine through bollard and
//! shares finished stages through an OCI registry, tagged by signature.
//!
//! It never parses werf.yaml and never touches RocksDB: it receives stage tasks from the
//! coordinator. Today it holds `engine` (connecting to a Docker engine); the executor, the
//! registry cache and the gRPC agent come with the build pipeline.

pub mod engine;
