//! The state every handler shares: the database and the live boards.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::live::LiveBoards;

/// What the handlers work on.
#[derive(Debug, Clone)]
pub struct Core {
    /// The ranking database.
    pub db: DatabaseConnection,
    /// The live provisional boards.
    pub live: Arc<LiveBoards>,
}

/// Returns `(offset, limit)` of a page request: default 50, at most 500 per page.
pub(crate) fn page(
    page_size: i32,
    page_token: &str,
) -> Result<(u64, u64), crate::error::RankingError> {
    let limit = match page_size {
        s if s <= 0 => 50,
        s => (s as u64).min(500),
    };
    let offset = if page_token.is_empty() {
        0
    } else {
        page_token
            .parse()
            .map_err(|_| crate::error::RankingError::Invalid("page_token 无效".to_owned()))?
    };
    Ok((offset, limit))
}

/// Returns the token of the next page, or empty when this was the last.
pub(crate) fn next_token(offset: u64, limit: u64, more: bool) -> String {
    if more {
        (offset + limit).to_string()
    } else {
        String::new()
    }
}

/// Returns a proto timestamp.
pub(crate) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}
