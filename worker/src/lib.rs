//! Conveyor's worker: runs fully resolved stage tasks on a Docker engine through bollard and
//! shares finished stages through an OCI registry, tagged by signature.
//!
//! It never parses werf.yaml and never touches RocksDB: it receives stage tasks from the
//! coordinator. Modules: `engine` (connecting to a Docker engine), `executor` (running a
//! stage task and pushing its image), `cache` (finding a stage locally or in the registry),
//! `credentials` (registry credentials from the command line and Docker's config.json, which
//! stay on the worker), `retry` (backoff for engine and registry calls), `remote` (reaching the
//! coordinator: URL, bearer token, TLS), and `agent` (the stream to the coordinator: hello,
//! assignments, logs, heartbeats, results).

pub mod agent;
pub mod cache;
pub mod credentials;
pub mod engine;
pub mod executor;
pub mod remote;
pub mod retry;
