//! Relational storage: one SQLite file per component in the data dir (embedded default), or one
//! PostgreSQL schema per component (production), behind the same sea-orm connection.

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::MigratorTrait;

use crate::config::DatabaseConfig;

/// A database that could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Could not connect.
    #[error("cannot open the {component} database: {reason}")]
    Connect {
        /// Component name.
        component: String,
        /// Driver message.
        reason: String,
    },
    /// A migration failed.
    #[error("cannot migrate the {component} database: {reason}")]
    Migrate {
        /// Component name.
        component: String,
        /// Driver message.
        reason: String,
    },
}

/// Returns whether `config` points at PostgreSQL.
pub fn is_postgres(config: &DatabaseConfig) -> bool {
    !config.url.is_empty()
}

/// Opens the database of `component`, creating its SQLite file or PostgreSQL schema if needed.
pub async fn connect(
    component: &str,
    config: &DatabaseConfig,
    data_dir: &Path,
) -> Result<DatabaseConnection, DbError> {
    let fail = |reason: String| DbError::Connect {
        component: component.to_owned(),
        reason,
    };
    let mut options = if is_postgres(config) {
        // Create the schema on a plain connection first; the pool then pins its search_path.
        let bootstrap = Database::connect(quick(&config.url))
            .await
            .map_err(|err| fail(explain(&config.url, err)))?;
        // CREATE SCHEMA IF NOT EXISTS races between sessions; serialise it with a transaction-
        // scoped advisory lock (the bootstrap pool has one connection).
        let txn = bootstrap
            .begin()
            .await
            .map_err(|err| fail(err.to_string()))?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('jifen:create_schema'))")
            .await
            .map_err(|err| fail(err.to_string()))?;
        txn.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{component}\""))
            .await
            .map_err(|err| fail(err.to_string()))?;
        txn.commit().await.map_err(|err| fail(err.to_string()))?;
        let _ = bootstrap.close().await;
        let mut options = ConnectOptions::new(config.url.clone());
        options.set_schema_search_path(component.to_owned());
        // A ping on every checkout costs a network round trip per query; only connections idle
        // long enough to have been dropped by the server or a proxy are tested.
        options.test_before_acquire_if_idle_for(Duration::from_secs(30));
        options
    } else {
        std::fs::create_dir_all(data_dir)
            .map_err(|err| fail(format!("{}: {err}", data_dir.display())))?;
        let file = data_dir.join(format!("{component}.db"));
        let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", file.display()));
        options.map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
        // A file on the local disk cannot hang up: the ping sqlx sends on every checkout would
        // only add a hop to the connection's worker thread per query.
        options.test_before_acquire(false);
        options
    };
    options
        .max_connections(config.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .map_err(|err| fail(err.to_string()))
}

/// Turns sqlx's "pool timed out" (what a refused connection looks like) into a message naming
/// the server, without the password.
fn explain(url: &str, err: sea_orm::DbErr) -> String {
    let text = err.to_string();
    if text.contains("pool timed out") {
        let host = url
            .split_once('@')
            .map_or(url, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or_default();
        format!("no answer from the PostgreSQL server at {host} (is it running and reachable?)")
    } else {
        text
    }
}

fn quick(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    options
}

/// Applies every pending migration of `M`.
///
/// On PostgreSQL the migrations run in one transaction holding an advisory lock, so pods that
/// start together (or a hook job and a pod) migrate one after the other, never half-way.
pub async fn migrate<M: MigratorTrait>(
    component: &str,
    db: &DatabaseConnection,
) -> Result<(), DbError> {
    let fail = |err: sea_orm::DbErr| DbError::Migrate {
        component: component.to_owned(),
        reason: err.to_string(),
    };
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return M::up(db, None).await.map_err(fail);
    }
    let txn = db.begin().await.map_err(fail)?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
        .await
        .map_err(fail)?;
    M::up(&txn, None).await.map_err(fail)?;
    txn.commit().await.map_err(fail)
}
