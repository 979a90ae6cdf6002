//! The in-memory twin of [`RocksStore`](super::RocksStore), for unit tests of code that needs
//! a [`Store`]. Same behaviour, nothing persisted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{BuildRecord, ImageRecord, StageRecord, Store, StoreError, TaskRecord};

#[derive(Default)]
struct Inner {
    stages: BTreeMap<String, StageRecord>,
    builds: BTreeMap<String, BuildRecord>,
    tasks: BTreeMap<String, TaskRecord>,
    costs: BTreeMap<String, u64>,
    images: BTreeMap<String, ImageRecord>,
}

/// A [`Store`] in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> Result<T, StoreError> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| StoreError::Db("memory store poisoned by a panic".into()))?;
        Ok(f(&mut guard))
    }
}

impl Store for MemoryStore {
    fn stage(&self, signature: &str) -> Result<Option<StageRecord>, StoreError> {
        self.with(|i| i.stages.get(signature).cloned())
    }
    fn put_stage(&self, record: &StageRecord) -> Result<(), StoreError> {
        self.with(|i| {
            i.stages.insert(record.signature.clone(), record.clone());
        })
    }
    fn delete_stage(&self, signature: &str) -> Result<(), StoreError> {
        self.with(|i| {
            i.stages.remove(signature);
        })
    }
    fn build(&self, id: &str) -> Result<Option<BuildRecord>, StoreError> {
        self.with(|i| i.builds.get(id).cloned())
    }
    fn put_build(&self, record: &BuildRecord) -> Result<(), StoreError> {
        self.with(|i| {
            i.builds.insert(record.id.clone(), record.clone());
        })
    }
    fn builds(&self) -> Result<Vec<BuildRecord>, StoreError> {
        self.with(|i| i.builds.values().cloned().collect())
    }
    fn put_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        self.with(|i| {
            i.tasks.insert(record.signature.clone(), record.clone());
        })
    }
    fn delete_task(&self, signature: &str) -> Result<(), StoreError> {
        self.with(|i| {
            i.tasks.remove(signature);
        })
    }
    fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.with(|i| i.tasks.values().cloned().collect())
    }
    fn image(&self, key: &str) -> Result<Option<ImageRecord>, StoreError> {
        self.with(|i| i.images.get(key).cloned())
    }
    fn put_image(&self, record: &ImageRecord) -> Result<(), StoreError> {
        self.with(|i| {
            i.images.insert(record.key.clone(), record.clone());
        })
    }
    fn cost(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.with(|i| i.costs.get(key).copied())
    }
    fn put_costs(&self, costs: &[(String, u64)]) -> Result<(), StoreError> {
        self.with(|i| {
            for (key, ms) in costs {
                i.costs.insert(key.clone(), *ms);
            }
        })
    }
}
