//! The live provisional boards as the service uses them: writes after each committed event,
//! queries with a database fallback, and rebuilds.
//!
//! # Degradation
//!
//! A query first asks the live boards. When a board is not ready (never built, lost to a Redis
//! flush or restart) or Redis fails, the answer is computed from the database instead (the
//! cycle's entries are loaded and ranked by the same domain board) and flagged `degraded`, and
//! a rebuild of the cycle's boards starts in the background (at most one per cycle at a time).
//! A board whose write failed is *suspect* in this process and is answered from the database
//! until its rebuild succeeds.
//!
//! # Threshold-area boards
//!
//! A settlement entry naming a threshold area is also on the area's board, shared by every
//! tenant of the area ([`BoardId::threshold_area`]). Rebuilding a tenant's cycle never touches
//! it (that would drop the other tenants); it is rebuilt on its own from every tenant's entries
//! of the area and period ([`LiveBoards::rebuild_area`]). An entry whose tie-breakers differ
//! from the area's first entry cannot be ordered with the others and stays off the area board
//! (logged).
//!
//! # Known race
//!
//! A rebuild reads the database, then swaps the boards. An event committed between the two is
//! written to the board before the swap and overwritten by it; the entry reappears at the next
//! rebuild. Rebuilds are rare (start, flush, admin request), and official runs never read the
//! boards, so this only affects a provisional rank for a short time.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use jifen_proto::common::v1 as common;

use crate::board::{BoardError, BoardId, ChangeMark, InProcessBoards, RankBoards};
pub use crate::board::{Query, Reply};
use crate::domain::RankSpec;
use crate::entry;
use crate::error::RankingError;
use crate::hot::Hot;
use crate::runs::StoredParams;
use crate::store::board_entry::{self, BoardEntryRow};

/// Answers from a board, and whether they came from the database.
#[derive(Debug, Clone)]
pub struct Answers {
    /// One reply per query, in order.
    pub replies: Vec<Reply>,
    /// True when the live board could not answer and the database did.
    pub degraded: bool,
}

/// Totals of a rebuild.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Boards written.
    pub boards: u64,
    /// Entries written (an entry on several boards counts on each).
    pub entries: u64,
}

/// Returns the cycle's order (the spec every live entry shares), or an empty spec.
fn cycle_spec(rows: &[BoardEntryRow]) -> Result<RankSpec, RankingError> {
    match rows.first() {
        Some(row) => entry::spec_of(row),
        None => Ok(RankSpec::new(Vec::new())?),
    }
}

/// What GetRank needs of an entry row, parsed once and cached (see [`crate::hot`]).
#[derive(Debug)]
pub struct HotEntry {
    /// The stored row.
    pub row: BoardEntryRow,
    /// The boards it is on.
    pub boards: Vec<BoardId>,
    /// Its tie keys, as answered.
    pub tie_keys: Vec<common::TieKey>,
    /// The boards' change mark taken before it was read (see [`LiveBoards::is_fresh`]).
    mark: Option<ChangeMark>,
}

impl HotEntry {
    /// Parses a stored row, read after the boards' change mark was `mark`.
    pub fn new(row: BoardEntryRow, mark: Option<ChangeMark>) -> Result<Self, RankingError> {
        let spec = entry::spec_of(&row)?;
        let tie_keys = entry::ties_to_proto(&spec, &entry::tie_values_of(&row)?);
        Ok(Self {
            boards: entry::boards_of(&row)?,
            tie_keys,
            row,
            mark,
        })
    }
}

/// The live boards, the database behind them, and the rebuild bookkeeping.
pub struct LiveBoards {
    db: DatabaseConnection,
    boards: Arc<dyn RankBoards>,
    suspect: Mutex<HashSet<BoardId>>,
    rebuilding: Mutex<HashSet<(String, String)>>,
    /// Entry rows by tenant and application id (GetRank).
    pub(crate) entries: Hot<Arc<HotEntry>>,
    /// The newest run's parameters by tenant and cycle (`None`: no run yet).
    pub(crate) lines: Hot<Arc<Option<StoredParams>>>,
}

impl std::fmt::Debug for LiveBoards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveBoards").finish_non_exhaustive()
    }
}

impl LiveBoards {
    /// Returns live boards over `boards`, rebuilt from `db`.
    pub fn new(db: DatabaseConnection, boards: Arc<dyn RankBoards>) -> Self {
        // Other writers may change entries behind this process's back only on shared boards.
        let ttl = if boards.shared() {
            crate::hot::SHARED_TTL
        } else {
            crate::hot::LOCAL_TTL
        };
        Self {
            db,
            boards,
            suspect: Mutex::new(HashSet::new()),
            rebuilding: Mutex::new(HashSet::new()),
            // How long an entry is trusted is decided per entry (`is_fresh`).
            entries: Hot::new(crate::hot::LOCAL_TTL),
            lines: Hot::new(ttl),
        }
    }

    /// Returns whether a cached entry of `tenant`, read `age` ago, may still be used. On shared boards another
    /// process may have changed it. While the boards' change reports flow, it may as long as no
    /// change to the tenant's boards was reported since it was read (every change GetRank shows
    /// of an entry, its total, tie-breakers, boards or removal, also writes the boards); an entry
    /// read before they flowed is read again. Otherwise it may for [`crate::hot::SHARED_TTL`].
    pub fn is_fresh(&self, entry: &HotEntry, age: Duration, tenant: &str) -> bool {
        if !self.boards.shared() {
            return true;
        }
        match (entry.mark, self.boards.change_mark(tenant)) {
            (Some(then), Some(now)) => then == now,
            (None, Some(_)) => false,
            (_, None) => age < crate::hot::SHARED_TTL,
        }
    }

    /// Returns the boards themselves.
    pub fn boards(&self) -> &Arc<dyn RankBoards> {
        &self.boards
    }

    fn is_suspect(&self, board: &BoardId) -> bool {
        self.suspect
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(board)
    }

    /// Moves an entry on the boards after its row changed from `old` to `new` (committed).
    /// Failures are logged and heal by rebuild; the database already holds the truth.
    pub async fn apply(self: &Arc<Self>, old: Option<&BoardEntryRow>, new: &BoardEntryRow) {
        self.entries.remove(&new.tenant, &new.application_id);
        let result = self.try_apply(old, new).await;
        // Again: a GetRank may have cached the old row while the boards moved.
        self.entries.remove(&new.tenant, &new.application_id);
        if let Err(err) = result {
            tracing::warn!(error = %err, tenant = %new.tenant, cycle = %new.cycle_id, "board write failed; rebuilding");
            let mut marked = Vec::new();
            for row in old.into_iter().chain(std::iter::once(new)) {
                marked.extend(entry::boards_of(row).unwrap_or_default());
            }
            self.suspect
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(marked.iter().cloned());
            self.trigger_rebuild(&new.tenant, &new.cycle_id, marked);
        }
    }

    async fn try_apply(
        &self,
        old: Option<&BoardEntryRow>,
        new: &BoardEntryRow,
    ) -> Result<(), RankingError> {
        let before = match old {
            Some(row) => entry::boards_of(row)?,
            None => Vec::new(),
        };
        let after = entry::boards_of(new)?;
        for board in before.iter().filter(|b| !after.contains(b)) {
            self.boards.remove(board, &new.application_id).await?;
        }
        if !after.is_empty() {
            let spec = entry::spec_of(new)?;
            let key = entry::key_of(&spec, new)?;
            for board in &after {
                self.boards
                    .upsert(board, &spec, &new.application_id, &key)
                    .await?;
            }
        }
        Ok(())
    }

    /// Answers `queries` on one board: live when possible, otherwise from the database (and a
    /// rebuild starts).
    pub async fn query(
        self: &Arc<Self>,
        board: &BoardId,
        queries: &[Query],
    ) -> Result<Answers, RankingError> {
        let mut answers = self.query_many(&[(board, queries)]).await?;
        answers
            .pop()
            .ok_or_else(|| BoardError::Missing(board.to_string()).into())
    }

    /// Answers the queries of several boards, one [`Answers`] per board in order. The live
    /// boards are asked all at once (one Redis round trip); a board that cannot answer is
    /// answered from the database (and a rebuild starts), the others stay live.
    pub async fn query_many(
        self: &Arc<Self>,
        asks: &[(&BoardId, &[Query])],
    ) -> Result<Vec<Answers>, RankingError> {
        let suspect: Vec<bool> = asks.iter().map(|(b, _)| self.is_suspect(b)).collect();
        let live: Vec<(&BoardId, &[Query])> = asks
            .iter()
            .zip(&suspect)
            .filter(|(_, suspect)| !**suspect)
            .map(|(ask, _)| *ask)
            .collect();
        let mut replies = if live.is_empty() {
            Vec::new()
        } else {
            self.boards.ask(&live).await
        }
        .into_iter();
        let mut out = Vec::with_capacity(asks.len());
        for (&(board, queries), suspect) in asks.iter().zip(suspect) {
            if !suspect {
                let reply = replies
                    .next()
                    .unwrap_or_else(|| Err(BoardError::Missing(board.to_string())));
                match reply {
                    Ok(replies) => {
                        out.push(Answers {
                            replies,
                            degraded: false,
                        });
                        continue;
                    }
                    Err(BoardError::Missing(_)) => {
                        tracing::info!(%board, "board not ready; answering from the database");
                    }
                    Err(BoardError::Redis(err)) => {
                        tracing::warn!(%board, error = %err, "board unavailable; answering from the database");
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            out.push(self.from_database(board, queries).await?);
        }
        Ok(out)
    }

    /// Answers `queries` on one board from the database, and starts its rebuild.
    async fn from_database(
        self: &Arc<Self>,
        board: &BoardId,
        queries: &[Query],
    ) -> Result<Answers, RankingError> {
        self.trigger_rebuild(&board.tenant, &board.cycle_id, vec![board.clone()]);
        let (spec, entries) = match board.area() {
            Some(area) => self.area_entries(area, &board.cycle_id).await?,
            None => {
                let rows =
                    board_entry::live_in_cycle(&self.db, &board.tenant, &board.cycle_id).await?;
                let spec = cycle_spec(&rows)?;
                let mut entries = Vec::new();
                for row in &rows {
                    if entry::is_on(row, &board.scope)? {
                        entries.push((row.application_id.clone(), entry::key_of(&spec, row)?));
                    }
                }
                (spec, entries)
            }
        };
        let scratch = InProcessBoards::new();
        scratch.replace(board, &spec, entries).await?;
        let replies = scratch
            .ask(&[(board, queries)])
            .await
            .pop()
            .unwrap_or_else(|| Err(BoardError::Missing(board.to_string())))?;
        Ok(Answers {
            replies,
            degraded: true,
        })
    }

    /// Returns the order and the entries of a threshold area's board in `period`, from every
    /// tenant's live entries (an entry ranked by other tie-breakers than the first stays off).
    async fn area_entries(
        &self,
        area: &str,
        period: &str,
    ) -> Result<(RankSpec, Vec<(String, crate::domain::RankKey)>), RankingError> {
        let mut rows = board_entry::live_in_area(&self.db, area).await?;
        rows.retain(|row| entry::area_period(row) == period);
        let spec = cycle_spec(&rows)?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in &rows {
            match entry::spec_of(row)
                .ok()
                .filter(|s| s == &spec)
                .map(|_| entry::key_of(&spec, row))
            {
                Some(Ok(key)) => entries.push((row.application_id.clone(), key)),
                _ => tracing::warn!(
                    area, period, tenant = %row.tenant, application = %row.application_id,
                    "entry ranks by other tie-breakers than its threshold area; left off the area board"
                ),
            }
        }
        Ok((spec, entries))
    }

    /// Rebuilds the board of threshold area `area` in `period` from every tenant's entries.
    pub async fn rebuild_area(&self, area: &str, period: &str) -> Result<Rebuilt, RankingError> {
        let (spec, entries) = self.area_entries(area, period).await?;
        let board = BoardId::threshold_area(area, period);
        let done = Rebuilt {
            boards: 1,
            entries: entries.len() as u64,
        };
        self.boards.replace(&board, &spec, entries).await?;
        self.suspect
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&board);
        Ok(done)
    }

    /// Rebuilds every period's board of threshold area `area` (all, or only those not ready).
    async fn rebuild_area_periods(
        &self,
        area: &str,
        only_missing: bool,
    ) -> Result<Rebuilt, RankingError> {
        let rows = board_entry::live_in_area(&self.db, area).await?;
        let periods: std::collections::BTreeSet<String> =
            rows.iter().map(entry::area_period).collect();
        let mut total = Rebuilt::default();
        for period in periods {
            let board = BoardId::threshold_area(area, &period);
            if only_missing && self.boards.is_ready(&board).await? {
                continue;
            }
            let done = self.rebuild_area(area, &period).await?;
            total.boards += done.boards;
            total.entries += done.entries;
        }
        Ok(total)
    }

    /// Rebuilds every board of a tenant's cycle from the database, plus `extra` boards of that
    /// cycle (emptied when no entry is on them any more). Threshold-area boards are shared:
    /// only those named in `extra` are rebuilt, from every tenant of the area.
    pub async fn rebuild_cycle(
        &self,
        tenant: &str,
        cycle_id: &str,
        extra: &[BoardId],
    ) -> Result<Rebuilt, RankingError> {
        let rows = board_entry::live_in_cycle(&self.db, tenant, cycle_id).await?;
        let spec = cycle_spec(&rows)?;
        let mut per_board: BTreeMap<BoardId, Vec<_>> = BTreeMap::new();
        let mut done = Rebuilt::default();
        for board in extra {
            match board.area() {
                Some(area) => {
                    let area_done = self.rebuild_area(area, &board.cycle_id).await?;
                    done.boards += area_done.boards;
                    done.entries += area_done.entries;
                }
                None => {
                    per_board.entry(board.clone()).or_default();
                }
            }
        }
        per_board
            .entry(BoardId::new(
                tenant,
                cycle_id,
                crate::board::BoardScope::Tenant,
            ))
            .or_default();
        for row in &rows {
            let key = entry::key_of(&spec, row)?;
            for board in entry::boards_of(row)? {
                if board.area().is_some() {
                    continue;
                }
                per_board
                    .entry(board)
                    .or_default()
                    .push((row.application_id.clone(), key.clone()));
            }
        }
        for (board, entries) in per_board {
            done.boards += 1;
            done.entries += entries.len() as u64;
            self.boards.replace(&board, &spec, entries).await?;
            self.suspect
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&board);
        }
        Ok(done)
    }

    /// Rebuilds every board of a tenant (every cycle with live entries, or just `cycle_id`).
    pub async fn rebuild_tenant(
        &self,
        tenant: &str,
        cycle_id: Option<&str>,
    ) -> Result<Rebuilt, RankingError> {
        let cycles = match cycle_id {
            Some(c) => vec![c.to_owned()],
            None => board_entry::live_cycles_of(&self.db, tenant).await?,
        };
        let mut total = Rebuilt::default();
        let mut areas = std::collections::BTreeSet::new();
        for cycle in cycles {
            let done = self.rebuild_cycle(tenant, &cycle, &[]).await?;
            total.boards += done.boards;
            total.entries += done.entries;
            for row in board_entry::live_in_cycle(&self.db, tenant, &cycle).await? {
                for board in entry::boards_of(&row)? {
                    if board.area().is_some() {
                        areas.insert(board);
                    }
                }
            }
        }
        // The shared boards this tenant's entries are on, from every tenant of their area.
        for board in areas {
            if let Some(area) = board.area() {
                let done = self.rebuild_area(area, &board.cycle_id).await?;
                total.boards += done.boards;
                total.entries += done.entries;
            }
        }
        Ok(total)
    }

    /// Starts a background rebuild of a cycle unless one is running.
    /// A threshold-area board (`tenant` empty) rebuilds just that board.
    pub fn trigger_rebuild(self: &Arc<Self>, tenant: &str, cycle_id: &str, extra: Vec<BoardId>) {
        let key = match extra.first().and_then(BoardId::area) {
            Some(area) if tenant.is_empty() => (format!("area:{area}"), cycle_id.to_owned()),
            _ => (tenant.to_owned(), cycle_id.to_owned()),
        };
        if !self
            .rebuilding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone())
        {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = match extra.first().and_then(BoardId::area) {
                Some(area) if key.0.starts_with("area:") => this.rebuild_area(area, &key.1).await,
                _ => this.rebuild_cycle(&key.0, &key.1, &extra).await,
            };
            match result {
                Ok(done) => tracing::info!(
                    tenant = %key.0, cycle = %key.1, boards = done.boards, entries = done.entries,
                    ms = started.elapsed().as_millis() as u64, "boards rebuilt"
                ),
                Err(err) => {
                    tracing::warn!(tenant = %key.0, cycle = %key.1, error = %err, "board rebuild failed")
                }
            }
            this.rebuilding
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        });
    }

    /// Rebuilds every board that is not ready, across all tenants (process start).
    pub async fn warm_up(&self) -> Result<Rebuilt, RankingError> {
        let mut total = Rebuilt::default();
        for (tenant, cycle) in board_entry::live_cycles(&self.db).await? {
            let tenant_board = BoardId::new(&tenant, &cycle, crate::board::BoardScope::Tenant);
            if self.boards.is_ready(&tenant_board).await? {
                continue;
            }
            let done = self.rebuild_cycle(&tenant, &cycle, &[]).await?;
            total.boards += done.boards;
            total.entries += done.entries;
        }
        for area in board_entry::live_areas(&self.db).await? {
            let done = self.rebuild_area_periods(&area, true).await?;
            total.boards += done.boards;
            total.entries += done.entries;
        }
        Ok(total)
    }
}
