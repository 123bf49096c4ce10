//! The query suite on a real PostgreSQL server: runs when `CONSENTRY_PG_URL` is set (see
//! `scripts/pg.sh`), and fails instead of skipping when `CONSENTRY_REQUIRE_PG=1`. Each run
//! creates its own database, so the server may be shared.

use crate::common;

use consentry_indexer::Store;

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{db}{query}")
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://u@127.0.0.1:5/postgres?sslmode=disable", "t1"),
        "postgres://u@127.0.0.1:5/t1?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://u@h:5", "t1"),
        "postgres://u@h:5/t1"
    );
}

#[tokio::test]
async fn queries_on_postgres() {
    let Ok(url) = std::env::var("CONSENTRY_PG_URL") else {
        assert!(
            std::env::var("CONSENTRY_REQUIRE_PG").as_deref() != Ok("1"),
            "CONSENTRY_REQUIRE_PG=1 but CONSENTRY_PG_URL is not set (start one with api/indexer/scripts/pg.sh)"
        );
        eprintln!("skipped: CONSENTRY_PG_URL is not set");
        return;
    };
    sqlx::any::install_default_drivers();
    let db = format!(
        "consentry_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let admin = sqlx::AnyPool::connect(&url)
        .await
        .expect("connect to CONSENTRY_PG_URL");
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    let test_url = with_database(&url, &db);
    let store = Store::open(&test_url).await.unwrap();
    common::query_suite(&store).await;
    // Opening an existing database again is a no-op.
    store.close().await;
    let store = Store::open(&test_url).await.unwrap();
    assert_eq!(store.counts().await.unwrap().total, 27);
    store.close().await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();

    // The migration of stored names, on a database of its own.
    let db = format!("{db}_m");
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await
        .unwrap();
    common::migration_suite(&with_database(&url, &db)).await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}
