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
        // Each new pooled connection: the component's schema first on its search_path, and
        // Nagle's algorithm off (see `no_delay_to`). One hook: sqlx keeps only the last one set.
        let search_path = format!("SET search_path = \"{component}\"");
        let port = postgres_port(&config.url);
        options.map_sqlx_postgres_pool_opts(move |pool| {
            let search_path = search_path.clone();
            pool.after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(port) = port {
                        no_delay_to(port);
                    }
                    sea_orm::sqlx::Executor::execute(
                        conn,
                        sea_orm::sqlx::AssertSqlSafe(search_path),
                    )
                    .await
                    .map(|_| ())
                })
            })
        });
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

/// The TCP port of a PostgreSQL URL (none for a Unix socket).
fn postgres_port(url: &str) -> Option<u16> {
    use std::str::FromStr;
    let options = sea_orm::sqlx::postgres::PgConnectOptions::from_str(url).ok()?;
    options.get_socket().is_none().then(|| options.get_port())
}

/// sqlx 0.9.0 leaves Nagle's algorithm on for its TCP sockets (sqlx issue #4335; the fix, pull
/// #4336, came after 0.9.0): a message the client writes in more than one piece, as a statement
/// larger than one TLS record is, then waits for the server's delayed ACK, 40 ms on Linux. This
/// was measured: group-committed submissions fell from 3,200/s to 500/s over TLS. Called after
/// every new pooled connection, it sets TCP_NODELAY (what libpq always sets) on this process's
/// TCP sockets connected to `port`. Remove it once sqlx sets TCP_NODELAY itself.
#[cfg(target_os = "linux")]
fn no_delay_to(port: u16) {
    use std::os::fd::BorrowedFd;
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: the descriptor is only queried and given a socket option, never closed. If
        // another thread closed it meanwhile the calls fail with EBADF, or, if the number was
        // reused, they touch another descriptor the same harmless way (a non-socket fails with
        // ENOTSOCK; a socket not connected to `port` is left alone).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let to_port = socket
            .peer_addr()
            .ok()
            .and_then(|addr| addr.as_socket())
            .is_some_and(|addr| addr.port() == port);
        if to_port && socket.r#type().is_ok_and(|t| t == socket2::Type::STREAM) {
            let _ = socket.set_tcp_nodelay(true);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn no_delay_to(_port: u16) {}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_port_of_a_postgres_url() {
        assert_eq!(postgres_port("postgres://u@db.example:6543/x"), Some(6543));
        assert_eq!(
            postgres_port("postgres://u@127.0.0.1/x?sslmode=disable"),
            Some(5432)
        );
        assert_eq!(
            postgres_port("postgres://u@%2Fvar%2Frun%2Fpostgresql/x"),
            None,
            "a Unix socket has no Nagle"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sockets_to_the_port_get_no_delay_and_others_are_left_alone() {
        let db = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to_db = std::net::TcpStream::connect(db.local_addr().unwrap()).unwrap();
        let to_other = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!to_db.nodelay().unwrap(), "Nagle is on by default");
        no_delay_to(db.local_addr().unwrap().port());
        assert!(to_db.nodelay().unwrap());
        assert!(!to_other.nodelay().unwrap());
    }
}
