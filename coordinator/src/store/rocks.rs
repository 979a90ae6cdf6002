//! The [`Store`] in RocksDB: one column family per kind of record, a schema version under
//! `meta`, synced writes for everything a crash must not lose.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    BuildRecord, Commit, ImageRecord, StageRecord, Store, StoreError, TaskRecord, SCHEMA_VERSION,
};

const STAGES: &str = "stages";
const BUILDS: &str = "builds";
const TASKS: &str = "tasks";
const COSTS: &str = "costs";
const META: &str = "meta";
const IMAGES: &str = "images";
const FAMILIES: [&str; 6] = [STAGES, BUILDS, TASKS, COSTS, META, IMAGES];

/// A [`Store`] in a RocksDB directory.
pub struct RocksStore {
    db: DB,
    path: String,
}

impl RocksStore {
    /// Opens (or creates) the DB at `path`. Fails clearly when another process holds it or
    /// when it was written with another schema.
    pub fn open(path: &Path) -> Result<RocksStore, StoreError> {
        let shown = path.display().to_string();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let families = FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, families).map_err(|e| {
            let message = e.to_string();
            if message.contains("lock") || message.contains("LOCK") {
                StoreError::Locked {
                    path: shown.clone(),
                }
            } else {
                StoreError::Open {
                    path: shown.clone(),
                    message,
                }
            }
        })?;
        let store = RocksStore { db, path: shown };
        store.check_schema()?;
        Ok(store)
    }

    /// Writes the schema version into a new DB; refuses a DB with another one.
    fn check_schema(&self) -> Result<(), StoreError> {
        let want = SCHEMA_VERSION.to_string();
        match self.raw_get(META, "schema")? {
            None => self.raw_put(META, "schema", want.as_bytes()),
            Some(found) if found == want.as_bytes() => Ok(()),
            Some(found) => Err(StoreError::Schema {
                path: self.path.clone(),
                found: String::from_utf8_lossy(&found).into_owned(),
            }),
        }
    }

    fn family(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Db(format!("column family `{name}` is missing")))
    }

    fn raw_get(&self, family: &'static str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.family(family)?, key)
            .map_err(|e| StoreError::Db(e.to_string()))
    }

    /// A synced put: on return the record survives a crash of the process or the machine.
    pub(super) fn raw_put(
        &self,
        family: &'static str,
        key: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .put_cf_opt(self.family(family)?, key, value, &wo)
            .map_err(|e| StoreError::Db(e.to_string()))
    }

    /// An unsynced put, for advisory records (tasks, costs): survives a process crash (the WAL
    /// is written), maybe not a machine crash.
    fn raw_put_unsynced(
        &self,
        family: &'static str,
        key: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        self.db
            .put_cf(self.family(family)?, key, value)
            .map_err(|e| StoreError::Db(e.to_string()))
    }

    fn raw_delete(&self, family: &'static str, key: &str, sync: bool) -> Result<(), StoreError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db
            .delete_cf_opt(self.family(family)?, key, &wo)
            .map_err(|e| StoreError::Db(e.to_string()))
    }

    fn get<T: DeserializeOwned>(
        &self,
        family: &'static str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.raw_get(family, key)?
            .map(|bytes| decode(family, key, &bytes))
            .transpose()
    }

    fn put<T: Serialize>(&self, family: &'static str, key: &str, v: &T) -> Result<(), StoreError> {
        self.raw_put(family, key, &encode(v)?)
    }

    /// Writes a batch, synced or not.
    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), StoreError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        self.db
            .write_opt(batch, &wo)
            .map_err(|e| StoreError::Db(e.to_string()))
    }

    /// One write batch of a group commit's records.
    fn commit_batch(&self, commit: &Commit) -> Result<WriteBatch, StoreError> {
        let mut batch = WriteBatch::default();
        let family = self.family(STAGES)?;
        for r in &commit.stages {
            batch.put_cf(family, &r.signature, encode(r)?);
        }
        let family = self.family(BUILDS)?;
        for b in &commit.builds {
            batch.put_cf(family, &b.id, encode(b)?);
        }
        let family = self.family(IMAGES)?;
        for i in &commit.images {
            batch.put_cf(family, &i.key, encode(i)?);
        }
        let family = self.family(COSTS)?;
        for (key, cost) in &commit.costs {
            batch.put_cf(family, key, encode(cost)?);
        }
        Ok(batch)
    }

    fn all<T: DeserializeOwned>(&self, family: &'static str) -> Result<Vec<T>, StoreError> {
        let mut out = vec![];
        for item in self
            .db
            .iterator_cf(self.family(family)?, IteratorMode::Start)
        {
            let (key, value) = item.map_err(|e| StoreError::Db(e.to_string()))?;
            out.push(decode(family, &String::from_utf8_lossy(&key), &value)?);
        }
        Ok(out)
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Db(e.to_string()))
}

fn decode<T: DeserializeOwned>(
    family: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        family,
        key: key.to_string(),
        message: e.to_string(),
    })
}

impl Store for RocksStore {
    fn stage(&self, signature: &str) -> Result<Option<StageRecord>, StoreError> {
        self.get(STAGES, signature)
    }
    fn put_stage(&self, record: &StageRecord) -> Result<(), StoreError> {
        self.put(STAGES, &record.signature, record)
    }
    fn put_stages(&self, records: &[StageRecord]) -> Result<(), StoreError> {
        let family = self.family(STAGES)?;
        let mut batch = WriteBatch::default();
        for r in records {
            batch.put_cf(family, &r.signature, encode(r)?);
        }
        self.write(batch, true)
    }
    fn delete_stage(&self, signature: &str) -> Result<(), StoreError> {
        self.raw_delete(STAGES, signature, true)
    }
    fn build(&self, id: &str) -> Result<Option<BuildRecord>, StoreError> {
        self.get(BUILDS, id)
    }
    fn put_build(&self, record: &BuildRecord) -> Result<(), StoreError> {
        self.put(BUILDS, &record.id, record)
    }
    fn builds(&self) -> Result<Vec<BuildRecord>, StoreError> {
        self.all(BUILDS)
    }
    fn put_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        self.raw_put_unsynced(TASKS, &record.signature, &encode(record)?)
    }
    fn delete_task(&self, signature: &str) -> Result<(), StoreError> {
        self.raw_delete(TASKS, signature, false)
    }
    fn tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        self.all(TASKS)
    }
    fn image(&self, key: &str) -> Result<Option<ImageRecord>, StoreError> {
        self.get(IMAGES, key)
    }
    fn put_image(&self, record: &ImageRecord) -> Result<(), StoreError> {
        self.put(IMAGES, &record.key, record)
    }
    fn cost(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.get(COSTS, key)
    }
    fn put_costs(&self, costs: &[(String, u64)]) -> Result<(), StoreError> {
        let family = self.family(COSTS)?;
        let mut batch = WriteBatch::default();
        for (key, cost) in costs {
            batch.put_cf(family, key, encode(cost)?);
        }
        self.write(batch, false)
    }
    fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        self.write(self.commit_batch(commit)?, true)
    }
    fn commit_unsynced(&self, commit: &Commit) -> Result<(), StoreError> {
        self.write(self.commit_batch(commit)?, false)
    }
}
