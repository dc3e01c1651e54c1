//! Redis: one shared connection manager per process, and the key layout every component uses.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Redis could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to redis at {url}: {reason}")]
pub struct CacheError {
    url: String,
    reason: String,
}

impl CacheError {
    fn new(url: &str, err: redis::RedisError) -> Self {
        Self {
            url: redact(url),
            reason: err.to_string(),
        }
    }
}

/// Connects to `url`; the manager reconnects by itself after failures. Clone it freely.
pub async fn connect(url: &str) -> Result<ConnectionManager, CacheError> {
    let client = redis::Client::open(url).map_err(|err| CacheError::new(url, err))?;
    ConnectionManager::new_with_config(client, manager_config())
        .await
        .map_err(|err| CacheError::new(url, err))
}

/// How long connecting and each answer may take, on every connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
}

/// The client name of [`track_prefix`] connections (`CLIENT LIST`).
pub const TRACKING_CLIENT_NAME: &str = "jifen-key-reports";

/// Opens a connection on which Redis reports every change to a key starting with `prefix`
/// (RESP3 `CLIENT TRACKING ON BCAST PREFIX`): each write, deletion, rename or expiry of such a key
/// by any client, and `FLUSHALL`/`FLUSHDB`, arrives at `reports` as an `Invalidate` push (keys, or
/// nil for a flush), as soon as the connection reads it; a lost connection arrives as a
/// `Disconnection` push, after which nothing more is reported on this connection. Needs Redis 6
/// or later. Keep the connection: dropping it ends the reports.
pub async fn track_prefix(
    url: &str,
    prefix: &str,
    reports: impl redis::aio::AsyncPushSender,
) -> Result<redis::aio::MultiplexedConnection, CacheError> {
    use redis::IntoConnectionInfo as _;
    let info = url
        .into_connection_info()
        .map_err(|err| CacheError::new(url, err))?;
    let resp3 = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    let client = redis::Client::open(info.set_redis_settings(resp3))
        .map_err(|err| CacheError::new(url, err))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_push_sender(reports);
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|err| CacheError::new(url, err))?;
    // Named, so an operator can tell it apart in `CLIENT LIST`.
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(TRACKING_CLIENT_NAME)
        .query_async::<()>(&mut conn)
        .await
        .map_err(|err| CacheError::new(url, err))?;
    let mut tracking = redis::cmd("CLIENT");
    tracking.arg("TRACKING").arg("ON").arg("BCAST");
    if !prefix.is_empty() {
        tracking.arg("PREFIX").arg(prefix);
    }
    tracking
        .query_async::<()>(&mut conn)
        .await
        .map_err(|err| CacheError::new(url, err))?;
    Ok(conn)
}

/// Returns the key `<prefix>{t:<tenant>}:<rest>`; the hash tag keeps one tenant's keys in one
/// Redis Cluster slot so multi-key commands and Lua scripts work.
pub fn tenant_key(prefix: &str, tenant: &str, rest: &str) -> String {
    format!("{prefix}{{t:{tenant}}}:{rest}")
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((_, host)) => format!("redis://***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hash_tagged_by_tenant() {
        assert_eq!(
            tenant_key("test1:", "wuzhong", "board:c1"),
            "test1:{t:wuzhong}:board:c1"
        );
    }

    #[test]
    fn passwords_are_not_echoed() {
        assert_eq!(redact("redis://:pw@host:6379"), "redis://***@host:6379");
    }
}
