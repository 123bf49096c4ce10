//! The query suite on real SQLite databases: in memory and in a file, and reopening a file.

use crate::common;

use consentry_indexer::Store;

#[tokio::test]
async fn queries_on_in_memory_sqlite() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    common::query_suite(&store).await;
}

#[tokio::test]
async fn queries_on_a_sqlite_file_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("idx.db").display());
    let store = Store::open(&url).await.unwrap();
    common::query_suite(&store).await;
    store.close().await;
    drop(store);
    // Opening again runs the (idempotent) schema and finds everything.
    let store = Store::open(&url).await.unwrap();
    assert_eq!(
        store.indexed_head().await.unwrap(),
        Some((5, common::hash(5)))
    );
    assert_eq!(store.counts().await.unwrap().total, 27);
    assert_eq!(store.event_count().await.unwrap(), 4);
}

#[tokio::test]
async fn old_names_in_a_sqlite_file_are_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    common::migration_suite(&url).await;
}
