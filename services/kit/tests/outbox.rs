//! The outbox delivers what was committed, at least once, never what was rolled back; receivers
//! see each event once. Runs on SQLite and on real PostgreSQL.

use std::sync::{Arc, Mutex};

use jifen_kit::config::DatabaseConfig;
use jifen_kit::outbox::{Dispatcher, Event, enqueue, receive_once};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::prelude::*;

struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(jifen_kit::outbox::migration::Migration)]
    }
}

async fn sqlite() -> (DatabaseConnection, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DatabaseConfig {
        url: String::new(),
        max_connections: 4,
    };
    let db = jifen_kit::db::connect("outbox_test", &config, dir.path())
        .await
        .expect("sqlite");
    jifen_kit::db::migrate::<Migrator>("outbox_test", &db)
        .await
        .expect("migrate");
    (db, dir)
}

async fn postgres() -> DatabaseConnection {
    let admin = std::env::var("JIFEN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!(
        "jifen_kit_{}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..12)
            .unwrap_or("x")
    );
    let server = Database::connect(admin.as_str())
        .await
        .expect("postgres answers");
    server
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create db");
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => admin.clone(),
    };
    let config = DatabaseConfig {
        url,
        max_connections: 4,
    };
    let db = jifen_kit::db::connect("outbox_test", &config, std::path::Path::new("/tmp"))
        .await
        .expect("postgres schema");
    jifen_kit::db::migrate::<Migrator>("outbox_test", &db)
        .await
        .expect("migrate");
    db
}

async fn committed_events_are_delivered_once(db: DatabaseConnection) {
    let committed = Event::new("test.committed", "wuzhong", serde_json::json!({"n": 1}));
    let rolled_back = Event::new("test.rolled_back", "wuzhong", serde_json::json!({"n": 2}));

    let txn = db.begin().await.expect("begin");
    enqueue(&txn, &committed).await.expect("enqueue");
    txn.commit().await.expect("commit");
    let txn = db.begin().await.expect("begin");
    enqueue(&txn, &rolled_back).await.expect("enqueue");
    txn.rollback().await.expect("rollback");

    // The receiver fails twice (as if down), then accepts; it dedupes by event id.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let failures_left = Arc::new(Mutex::new(2));
    let dispatcher = Dispatcher::new("outbox_test", db.clone());
    let deliver = |event: Event| {
        let seen = seen.clone();
        let failures_left = failures_left.clone();
        async move {
            let mut left = failures_left.lock().expect("lock");
            if *left > 0 {
                *left -= 1;
                return Err("receiver down".to_owned());
            }
            seen.lock().expect("lock").push(event.topic);
            Ok(())
        }
    };
    assert_eq!(dispatcher.deliver_batch(&deliver).await.expect("batch"), 0);
    assert_eq!(dispatcher.backlog().await.expect("backlog"), 1);
    // Back-off: the failed row is not retried before its next attempt time.
    assert_eq!(dispatcher.deliver_batch(&deliver).await.expect("batch"), 0);
    assert_eq!(*failures_left.lock().expect("lock"), 1);
    db.execute_unprepared("UPDATE outbox_events SET next_attempt_at = '2000-01-01T00:00:00Z'")
        .await
        .expect("make due");
    assert_eq!(dispatcher.deliver_batch(&deliver).await.expect("batch"), 0);
    db.execute_unprepared("UPDATE outbox_events SET next_attempt_at = '2000-01-01T00:00:00Z'")
        .await
        .expect("make due");
    assert_eq!(dispatcher.deliver_batch(&deliver).await.expect("batch"), 1);
    assert_eq!(dispatcher.backlog().await.expect("backlog"), 0);
    assert_eq!(
        *seen.lock().expect("lock"),
        vec!["test.committed".to_owned()]
    );

    // Idempotent receive: the second time an id is seen it is skipped.
    let txn = db.begin().await.expect("begin");
    assert!(receive_once(&txn, committed.id).await.expect("first"));
    assert!(!receive_once(&txn, committed.id).await.expect("second"));
    txn.commit().await.expect("commit");
    assert!(!receive_once(&db, committed.id).await.expect("after commit"));
}

#[tokio::test]
async fn outbox_on_sqlite() {
    let (db, _dir) = sqlite().await;
    committed_events_are_delivered_once(db).await;
}

#[tokio::test]
async fn outbox_on_postgres() {
    committed_events_are_delivered_once(postgres().await).await;
}
