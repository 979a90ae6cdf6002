//! Conveyor's coordinator.
//!
//! It owns the front end that turns a werf.yaml into work: `config` renders the Go template
//! and parses and validates the YAML; `plan` splits images into a stage DAG with chained
//! signatures; `sched` decides what runs where; `store` keeps signatures in RocksDB; `server`
//! runs builds (one state task, group commits); `registry` checks stages in the registry;
//! `rpc` serves the `conveyor.v1` gRPC services; `os` holds process-wide settings the
//! binaries make at start. See `docs/architecture.md`.
//!
//! This crate never talks to Docker (no bollard): workers do.

pub mod config;
pub mod error;
pub mod explain;
pub mod front;
pub mod os;
pub mod plan;
pub mod registry;
pub mod rpc;
pub mod sched;
pub mod server;
pub mod store;
