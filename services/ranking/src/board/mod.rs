//! Live provisional boards behind one interface, [`RankBoards`], with two implementations:
//!
//! * [`RedisBoards`]: Redis sorted sets (microservices mode), keys hash-tagged by tenant so a
//!   tenant's boards live in one Redis Cluster slot;
//! * [`InProcessBoards`]: the domain [`crate::domain::Board`] behind a lock (embedded mode).
//!
//! Both order entries exactly as [`crate::domain::rank_key`] documents and answer every query
//! identically; one shared suite (`tests/boards.rs`) runs against both.
//!
//! # Readiness
//!
//! A board is *ready* once [`RankBoards::replace`] has filled it from the database. Upserts and
//! removals always apply, but every query on a board that is not ready (never built, or lost to
//! a Redis flush or restart) answers [`BoardError::Missing`]; the caller then answers from the
//! database and rebuilds the board (see `crate::live`).

mod answers;
mod in_process;
mod redis_boards;

use std::fmt;

use crate::domain::{Histogram, RankKey, RankPosition, RankSpec, RankingError as DomainError};

pub use answers::Ticket as ChangeMark;
pub use in_process::InProcessBoards;
pub use redis_boards::RedisBoards;

/// What a board ranks over: within one cycle of one tenant, or (threshold areas) across the
/// tenants of an area.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoardScope {
    /// Every application of the cycle in the tenant.
    Tenant,
    /// Applications listing one school among their preferences (school code).
    School(String),
    /// Applications of one service area (片区 code).
    Area(String),
    /// Settlement applications of every tenant of one threshold area (area code), in one
    /// period; see [`BoardId::threshold_area`].
    ThresholdArea(String),
}

impl BoardScope {
    /// Returns the scope's stable text form, used in keys and stored rows: `tenant`,
    /// `school:<code>`, `area:<code>`, `threshold_area:<code>`.
    pub fn as_key(&self) -> String {
        match self {
            BoardScope::Tenant => "tenant".to_owned(),
            BoardScope::School(code) => format!("school:{code}"),
            BoardScope::Area(code) => format!("area:{code}"),
            BoardScope::ThresholdArea(code) => format!("threshold_area:{code}"),
        }
    }

    /// Parses the text form of [`BoardScope::as_key`].
    pub fn parse(text: &str) -> Option<Self> {
        if text == "tenant" {
            return Some(BoardScope::Tenant);
        }
        let (kind, code) = text.split_once(':')?;
        if code.is_empty() {
            return None;
        }
        Some(match kind {
            "school" => BoardScope::School(code.to_owned()),
            "area" => BoardScope::Area(code.to_owned()),
            "threshold_area" => BoardScope::ThresholdArea(code.to_owned()),
            _ => return None,
        })
    }
}

impl fmt::Display for BoardScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_key())
    }
}

/// One board: a tenant's cycle and a scope, or a threshold area's period.
///
/// Several tenants share one threshold area (contract: 市区 = the six districts), and settlement
/// ranks within the area, so a threshold-area board belongs to no tenant: its `tenant` is empty
/// and its `cycle_id` is the area *period* (`<benefit>-<year>`, see
/// [`crate::entry::area_period`]), because every tenant has its own cycle ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoardId {
    /// Tenant code (empty for a threshold-area board).
    pub tenant: String,
    /// Cycle id (the period for a threshold-area board).
    pub cycle_id: String,
    /// Scope within the cycle.
    pub scope: BoardScope,
}

impl BoardId {
    /// Returns the board of `scope` in a tenant's cycle. For a threshold area use
    /// [`BoardId::threshold_area`].
    pub fn new(tenant: &str, cycle_id: &str, scope: BoardScope) -> Self {
        Self {
            tenant: tenant.to_owned(),
            cycle_id: cycle_id.to_owned(),
            scope,
        }
    }

    /// Returns the board shared by every tenant of threshold area `area` in `period`.
    pub fn threshold_area(area: &str, period: &str) -> Self {
        Self {
            tenant: String::new(),
            cycle_id: period.to_owned(),
            scope: BoardScope::ThresholdArea(area.to_owned()),
        }
    }

    /// Returns the area code of a threshold-area board (shared across tenants).
    pub fn area(&self) -> Option<&str> {
        match &self.scope {
            BoardScope::ThresholdArea(code) if self.tenant.is_empty() => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for BoardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.area() {
            Some(area) => write!(f, "area:{area}/{}", self.cycle_id),
            None => write!(f, "{}/{}/{}", self.tenant, self.cycle_id, self.scope),
        }
    }
}

/// The entry at one position of a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardSeat {
    /// 0-based position in rank order.
    pub index: u64,
    /// Its total.
    pub total: i64,
    /// Its application.
    pub application_id: String,
}

/// One question to a board.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// Where an application stands.
    RankOf(String),
    /// How many entries.
    Entries,
    /// The entry at a 0-based position.
    Nth(u64),
    /// `(total, count)` ascending.
    TotalCounts,
}

/// The answer to a [`Query`], in the same position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer to [`Query::RankOf`].
    Rank(Option<RankPosition>),
    /// Answer to [`Query::Entries`].
    Entries(u64),
    /// Answer to [`Query::Nth`].
    Nth(Option<BoardSeat>),
    /// Answer to [`Query::TotalCounts`].
    Counts(Vec<(i64, u64)>),
}

/// Why a board could not answer.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The board is not ready (never built, or lost); answer from the database and rebuild.
    #[error("board {0} is not ready")]
    Missing(String),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(String),
    /// A key or stored member was refused by the domain.
    #[error("board: {0}")]
    Domain(#[from] DomainError),
}

impl From<redis::RedisError> for BoardError {
    fn from(err: redis::RedisError) -> Self {
        BoardError::Redis(err.to_string())
    }
}

/// Live provisional boards. Every method is exact and both implementations answer alike.
#[async_trait::async_trait]
pub trait RankBoards: Send + Sync + 'static {
    /// Inserts an application or moves it to its new key (idempotent).
    async fn upsert(
        &self,
        board: &BoardId,
        spec: &RankSpec,
        application_id: &str,
        key: &RankKey,
    ) -> Result<(), BoardError>;

    /// Removes an application; returns whether it was on the board.
    async fn remove(&self, board: &BoardId, application_id: &str) -> Result<bool, BoardError>;

    /// Returns where an application stands (`None` when it is not on the board).
    async fn rank_of(
        &self,
        board: &BoardId,
        application_id: &str,
    ) -> Result<Option<RankPosition>, BoardError>;

    /// Returns the number of entries.
    async fn entries(&self, board: &BoardId) -> Result<u64, BoardError>;

    /// Returns the entry at 0-based position `index` in rank order.
    async fn nth(&self, board: &BoardId, index: u64) -> Result<Option<BoardSeat>, BoardError>;

    /// Returns `(total, count)` for every total on the board, ascending by total.
    async fn total_counts(&self, board: &BoardId) -> Result<Vec<(i64, u64)>, BoardError>;

    /// Returns whether the board is ready (see the module docs). Never answers `Missing`.
    async fn is_ready(&self, board: &BoardId) -> Result<bool, BoardError>;

    /// Replaces the board's content with `entries` and marks it ready.
    async fn replace(
        &self,
        board: &BoardId,
        spec: &RankSpec,
        entries: Vec<(String, RankKey)>,
    ) -> Result<(), BoardError>;

    /// Forgets every board of a tenant (keys included); returns how many keys or boards went.
    /// Threshold-area boards are shared and stay.
    async fn drop_tenant(&self, tenant: &str) -> Result<u64, BoardError>;

    /// Forgets every board of a threshold area (every period); returns how many keys or boards
    /// went.
    async fn drop_area(&self, area: &str) -> Result<u64, BoardError>;

    /// Returns whether other processes write these boards too (Redis), so this process does
    /// not see every change to the entries on them. In-process boards answer false.
    fn shared(&self) -> bool {
        false
    }

    /// Returns a mark of what this process knows of other processes' changes to a tenant's
    /// boards: a later mark differs once such a change may have happened. `None` when it cannot
    /// tell (shared boards whose change reports do not flow): then anything cached beside the
    /// boards must expire by time.
    fn change_mark(&self, _tenant: &str) -> Option<ChangeMark> {
        None
    }

    /// Answers the queries of several boards: one result per board, in order, each with one
    /// reply per query. A board that cannot answer fails alone. The default asks one query at
    /// a time; Redis sends every query in one pipeline (one round trip).
    async fn ask(&self, asks: &[(&BoardId, &[Query])]) -> Vec<Result<Vec<Reply>, BoardError>> {
        let mut results = Vec::with_capacity(asks.len());
        for (board, queries) in asks {
            results.push(ask_one(self, board, queries).await);
        }
        results
    }

    /// Returns the provisional cut-off for `seats` seats: the entry in the last seat, or `None`
    /// when `seats` is 0 or fewer entries than seats are on the board.
    async fn cutoff(&self, board: &BoardId, seats: u64) -> Result<Option<BoardSeat>, BoardError> {
        match seats.checked_sub(1) {
            Some(index) => self.nth(board, index).await,
            None => {
                // Still answer Missing for a board that is not ready.
                self.entries(board).await?;
                Ok(None)
            }
        }
    }

    /// Returns the distribution of totals.
    async fn histogram(&self, board: &BoardId, bucket_width: i64) -> Result<Histogram, BoardError> {
        let counts = self.total_counts(board).await?;
        Ok(Histogram::from_counts(bucket_width, counts)?)
    }
}

/// Answers one board's queries one at a time.
async fn ask_one<B: RankBoards + ?Sized>(
    boards: &B,
    board: &BoardId,
    queries: &[Query],
) -> Result<Vec<Reply>, BoardError> {
    let mut replies = Vec::with_capacity(queries.len());
    for q in queries {
        replies.push(match q {
            Query::RankOf(id) => Reply::Rank(boards.rank_of(board, id).await?),
            Query::Entries => Reply::Entries(boards.entries(board).await?),
            Query::Nth(i) => Reply::Nth(boards.nth(board, *i).await?),
            Query::TotalCounts => Reply::Counts(boards.total_counts(board).await?),
        });
    }
    Ok(replies)
}
