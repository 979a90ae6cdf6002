//! The same behaviour checks run against both stores; RocksDB ones also reopen the directory.

use std::collections::BTreeMap;

use super::*;

fn stage(sig: &str) -> StageRecord {
    StageRecord {
        signature: sig.into(),
        stage: "install".into(),
        reference: format!("localhost:5000/p-stages:{sig}"),
        digest: "sha256:00".into(),
        size: 42,
        created_ms: 1,
        built_by: "w1".into(),
        duration_ms: 1500,
        inputs: vec![("commands".into(), "[\"make\"]".into())],
    }
}

fn build(id: &str) -> BuildRecord {
    BuildRecord {
        id: id.into(),
        project: "p".into(),
        status: BuildStatus::Running,
        created_ms: 5,
        finished_ms: None,
        stages: BTreeMap::from([("s1".to_string(), "queued".to_string())]),
        request: String::new(),
    }
}

fn behaves(store: &dyn Store) {
    assert_eq!(store.stage("s1").unwrap(), None);
    store.put_stage(&stage("s1")).unwrap();
    assert_eq!(store.stage("s1").unwrap(), Some(stage("s1")));
    store.delete_stage("s1").unwrap();
    assert_eq!(store.stage("s1").unwrap(), None);
    store.put_stages(&[stage("a"), stage("b")]).unwrap();
    assert_eq!(store.stage("b").unwrap(), Some(stage("b")));
    store.delete_stage("a").unwrap();
    store.delete_stage("b").unwrap();

    store.put_build(&build("b2")).unwrap();
    store.put_build(&build("b1")).unwrap();
    let ids: Vec<String> = store.builds().unwrap().into_iter().map(|b| b.id).collect();
    assert_eq!(ids, ["b1", "b2"]);

    let task = TaskRecord {
        signature: "s2".into(),
        lease: 7,
        worker: "w".into(),
        attempt: 1,
        deadline_ms: 99,
    };
    store.put_task(&task).unwrap();
    assert_eq!(store.tasks().unwrap(), vec![task]);
    store.delete_task("s2").unwrap();
    assert!(store.tasks().unwrap().is_empty());

    let image = ImageRecord {
        key: "p/app".into(),
        build: "b1".into(),
        finished_ms: 9,
        stages: vec![
            ("from".into(), "s1".into()),
            ("install".into(), "s2".into()),
        ],
    };
    assert_eq!(store.image("p/app").unwrap(), None);
    store.put_image(&image).unwrap();
    assert_eq!(store.image("p/app").unwrap(), Some(image));

    assert_eq!(store.cost("app/install").unwrap(), None);
    store
        .put_costs(&[("app/install".into(), 1250), ("app/setup".into(), 10)])
        .unwrap();
    assert_eq!(store.cost("app/install").unwrap(), Some(1250));
    assert_eq!(store.cost("app/setup").unwrap(), Some(10));
    assert_eq!(next_cost(None, 1000), 1000);
    assert_eq!(next_cost(Some(1000), 2000), 1250);

    // A group commit: stage records, an ended build and its images, all or nothing.
    let mut ended = build("b3");
    ended.status = BuildStatus::Succeeded;
    let image = ImageRecord {
        key: "p/web".into(),
        build: "b3".into(),
        finished_ms: 10,
        stages: vec![("from".into(), "c1".into())],
    };
    store
        .commit(&Commit {
            stages: vec![stage("c1"), stage("c2")],
            builds: vec![ended.clone()],
            images: vec![image.clone()],
            costs: vec![("web/from".into(), 42)],
        })
        .unwrap();
    assert_eq!(store.stage("c2").unwrap(), Some(stage("c2")));
    assert_eq!(store.cost("web/from").unwrap(), Some(42));
    assert_eq!(store.build("b3").unwrap(), Some(ended));
    assert_eq!(store.image("p/web").unwrap(), Some(image));

    // A step of a group commit written without waiting for the disk reads back the same.
    store
        .commit_unsynced(&Commit {
            stages: vec![stage("u1")],
            ..Commit::default()
        })
        .unwrap();
    assert_eq!(store.stage("u1").unwrap(), Some(stage("u1")));
}

#[test]
fn memory_store_behaves() {
    behaves(&MemoryStore::new());
}

#[test]
fn rocks_store_behaves_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RocksStore::open(dir.path()).unwrap();
        behaves(&store);
        store.put_stage(&stage("kept")).unwrap();
    }
    let store = RocksStore::open(dir.path()).unwrap();
    assert_eq!(store.stage("kept").unwrap(), Some(stage("kept")));
    assert_eq!(store.builds().unwrap().len(), 3);
    assert_eq!(store.stage("c1").unwrap(), Some(stage("c1")));
    assert_eq!(
        store.stage("u1").unwrap(),
        Some(stage("u1")),
        "an unsynced step persists"
    );
}

#[test]
fn a_held_db_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let _first = RocksStore::open(dir.path()).unwrap();
    let err = RocksStore::open(dir.path())
        .err()
        .expect("second open fails");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another coordinator"), "{err}");
}

#[test]
fn another_schema_is_refused_and_corrupt_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RocksStore::open(dir.path()).unwrap();
        store.raw_put("meta", "schema", b"99").unwrap();
    }
    let err = RocksStore::open(dir.path())
        .err()
        .expect("schema 99 refused");
    assert!(err.to_string().contains("schema 99"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(dir.path()).unwrap();
    store.raw_put("stages", "bad", b"{not json").unwrap();
    let err = store.stage("bad").unwrap_err();
    assert!(err.to_string().contains("`bad`"), "{err}");
}

#[test]
fn an_unusable_path_is_an_open_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = RocksStore::open(&file.join("db"))
        .err()
        .expect("not a directory");
    assert!(err.to_string().contains("file/db"), "{err}");
}
