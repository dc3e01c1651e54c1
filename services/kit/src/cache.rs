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

/// Connects to `url`; the manager reconnects by itself after failures. Clone it freely.
pub async fn connect(url: &str) -> Result<ConnectionManager, CacheError> {
    let fail = |reason: String| CacheError {
        url: redact(url),
        reason,
    };
    let client = redis::Client::open(url).map_err(|err| fail(err.to_string()))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|err| fail(err.to_string()))
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
