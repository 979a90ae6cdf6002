//! What the coordinator must not forget: finished stages (signature → where the image is and
//! what it was built from), builds, running tasks and stage cost history.
//!
//! [`Store`] is the interface; [`RocksStore`] keeps it in RocksDB (one column family per kind
//! of record, writes that must survive a crash synced), [`MemoryStore`] is the in-memory twin
//! for unit tests. Records are JSON: small, readable with `ldb`, and tolerant of added fields.
//!
//! Invariant: a stage record is written only after its image is in the registry (the worker
//! reports a digest), so a recorded signature is a cache hit that can be pulled, unless the
//! image was deleted behind Conveyor's back: the server checks the recorded stages a build
//! needs in the registry first and deletes the records of those gone (`server::verify`).

mod memory;
mod rocks;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use memory::MemoryStore;
pub use rocks::RocksStore;

/// The store's on-disk schema; a DB written with another version is refused, not misread.
pub const SCHEMA_VERSION: u32 = 1;

/// A finished stage: where its image is and what it was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    pub signature: String,
    /// werf's stage name (`install`, ...).
    pub stage: String,
    /// Where the image is: `REPO:SIGNATURE` in the registry, or a local tag.
    pub reference: String,
    /// The image digest (`sha256:...`).
    pub digest: String,
    pub size: u64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The worker that built it.
    pub built_by: String,
    pub duration_ms: u64,
    /// The stage's recorded inputs (they explain a rebuild).
    pub inputs: Vec<(String, String)>,
}

/// The stages of an image as its last successful build made them, for `conveyor explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRecord {
    /// `PROJECT/IMAGE`.
    pub key: String,
    pub build: String,
    pub finished_ms: u64,
    /// (stage name, signature) in stage order.
    pub stages: Vec<(String, String)>,
}

/// Where a build is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BuildStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// A build: what was asked and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildRecord {
    pub id: String,
    pub project: String,
    pub status: BuildStatus,
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    /// Per stage signature: `queued`, `running`, `cached`, `built`, `shared`, `failed`.
    pub stages: BTreeMap<String, String>,
    /// The submission (protobuf `SubmitRequest`, base64), so a restarted coordinator can plan
    /// the build again and go on.
    #[serde(default)]
    pub request: String,
}

/// A task handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    pub signature: String,
    pub lease: u64,
    pub worker: String,
    pub attempt: u32,
    pub deadline_ms: u64,
}

/// Why the store failed. Opening errors are environment errors (the path, another coordinator
/// holding the DB); the rest mean the DB is damaged or the disk failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Cannot open the database at `{path}`: {message}")]
    Open { path: String, message: String },
    #[error("The database at `{path}` is used by another coordinator (its lock is held)")]
    Locked { path: String },
    #[error("The database at `{path}` has schema {found}; this coordinator reads schema {SCHEMA_VERSION}")]
    Schema { path: String, found: String },
    #[error("Database error: {0}")]
    Db(String),
    #[error("Corrupt record `{key}` in `{family}`: {message}")]
    Corrupt {
        family: &'static str,
        key: String,
        message: String,
    },
}

/// The coordinator's memory. Implementations are safe to share between threads.
pub trait Store: Send + Sync {
    fn stage(&self, signature: &str) -> Result<Option<StageRecord>, StoreError>;
    /// Records a finished stage (synced before returning).
    fn put_stage(&self, record: &StageRecord) -> Result<(), StoreError>;
    /// Records several finished stages with one synced write (group commit).
    fn put_stages(&self, records: &[StageRecord]) -> Result<(), StoreError> {
        records.iter().try_for_each(|r| self.put_stage(r))
    }
    /// Forgets a stage whose image turned out to be gone from the registry.
    fn delete_stage(&self, signature: &str) -> Result<(), StoreError>;

    fn build(&self, id: &str) -> Result<Option<BuildRecord>, StoreError>;
    /// Writes a build (synced).
    fn put_build(&self, record: &BuildRecord) -> Result<(), StoreError>;
    /// Every build, in id order.
    fn builds(&self) -> Result<Vec<BuildRecord>, StoreError>;

    /// Writes a running task. Not synced: tasks are advisory (after a crash the coordinator
    /// plans its builds again and accepts results by signature), so they cost no fsync.
    fn put_task(&self, record: &TaskRecord) -> Result<(), StoreError>;
    fn delete_task(&self, signature: &str) -> Result<(), StoreError>;
    /// Every running task.
    fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError>;

    /// The last successful build of an image (`PROJECT/IMAGE`).
    fn image(&self, key: &str) -> Result<Option<ImageRecord>, StoreError>;
    /// Records an image's stages after a successful build (synced).
    fn put_image(&self, record: &ImageRecord) -> Result<(), StoreError>;
    /// Writes stage records, finished builds and their images with one synced write (the
    /// coordinator's group commit).
    fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        self.put_stages(&commit.stages)?;
        commit.builds.iter().try_for_each(|b| self.put_build(b))?;
        commit.images.iter().try_for_each(|i| self.put_image(i))?;
        self.put_costs(&commit.costs)
    }
    /// Writes like [`Store::commit`] without waiting for the disk. The write becomes durable
    /// with the next synced one (the log keeps writes in order): a crash before that loses
    /// it, and never a later write without it.
    fn commit_unsynced(&self, commit: &Commit) -> Result<(), StoreError> {
        self.commit(commit)
    }

    /// The cost estimate (ms) for a kind of stage, e.g. `IMAGE/STAGE`, from past durations.
    fn cost(&self, key: &str) -> Result<Option<u64>, StoreError>;
    /// Sets cost estimates (the caller folds samples in with [`next_cost`]). Not synced on
    /// their own: estimates are advisory.
    fn put_costs(&self, costs: &[(String, u64)]) -> Result<(), StoreError>;
}

/// What one group commit writes.
#[derive(Debug, Default)]
pub struct Commit {
    pub stages: Vec<StageRecord>,
    pub builds: Vec<BuildRecord>,
    pub images: Vec<ImageRecord>,
    /// New cost estimates: `IMAGE/STAGE` → milliseconds.
    pub costs: Vec<(String, u64)>,
}

/// The moving average of stage durations that cost estimates keep: new = (3 * old + sample) / 4.
pub fn next_cost(old: Option<u64>, sample: u64) -> u64 {
    match old {
        None => sample,
        Some(old) => (old.saturating_mul(3).saturating_add(sample)) / 4,
    }
}

#[cfg(test)]
mod tests;
