//! In-process boards: the domain [`Board`] per board id behind a read-write lock.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{BoardError, BoardId, BoardSeat, RankBoards};
use crate::domain::{Board, RankKey, RankPosition, RankSpec};

#[derive(Debug)]
struct Slot {
    board: Board,
    ready: bool,
}

/// Boards held in this process (the embedded default); lost on restart, rebuilt at start.
#[derive(Debug, Default)]
pub struct InProcessBoards {
    slots: RwLock<HashMap<BoardId, Slot>>,
}

impl InProcessBoards {
    /// Returns an empty set of boards.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<BoardId, Slot>> {
        // A panic while holding the lock leaves a consistent board (every mutation is one call
        // of the domain board), so a poisoned lock is still usable.
        self.slots.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<BoardId, Slot>> {
        self.slots.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on a ready board, or answers Missing.
    fn with_ready<T>(&self, id: &BoardId, f: impl FnOnce(&Board) -> T) -> Result<T, BoardError> {
        let slots = self.read();
        match slots.get(id) {
            Some(slot) if slot.ready => Ok(f(&slot.board)),
            _ => Err(BoardError::Missing(id.to_string())),
        }
    }
}

#[async_trait::async_trait]
impl RankBoards for InProcessBoards {
    async fn upsert(
        &self,
        board: &BoardId,
        spec: &RankSpec,
        application_id: &str,
        key: &RankKey,
    ) -> Result<(), BoardError> {
        let mut slots = self.write();
        let slot = slots.entry(board.clone()).or_insert_with(|| Slot {
            board: Board::new(spec),
            ready: false,
        });
        slot.board.upsert(application_id, key.clone())?;
        Ok(())
    }

    async fn remove(&self, board: &BoardId, application_id: &str) -> Result<bool, BoardError> {
        let mut slots = self.write();
        Ok(slots
            .get_mut(board)
            .is_some_and(|slot| slot.board.remove(application_id).is_some()))
    }

    async fn rank_of(
        &self,
        board: &BoardId,
        application_id: &str,
    ) -> Result<Option<RankPosition>, BoardError> {
        self.with_ready(board, |b| b.rank_of(application_id))
    }

    async fn entries(&self, board: &BoardId) -> Result<u64, BoardError> {
        self.with_ready(board, |b| b.len() as u64)
    }

    async fn nth(&self, board: &BoardId, index: u64) -> Result<Option<BoardSeat>, BoardError> {
        self.with_ready(board, |b| {
            let i = usize::try_from(index).ok()?;
            b.nth(i).map(|e| BoardSeat {
                index,
                total: e.key.total(),
                application_id: e.application_id.clone(),
            })
        })
    }

    async fn total_counts(&self, board: &BoardId) -> Result<Vec<(i64, u64)>, BoardError> {
        self.with_ready(board, |b| b.total_counts())
    }

    async fn is_ready(&self, board: &BoardId) -> Result<bool, BoardError> {
        Ok(self.read().get(board).is_some_and(|s| s.ready))
    }

    async fn replace(
        &self,
        board: &BoardId,
        spec: &RankSpec,
        entries: Vec<(String, RankKey)>,
    ) -> Result<(), BoardError> {
        // Build outside the lock so queries keep flowing during a large rebuild.
        let mut fresh = Board::new(spec);
        for (id, key) in entries {
            fresh.upsert(&id, key)?;
        }
        self.write().insert(
            board.clone(),
            Slot {
                board: fresh,
                ready: true,
            },
        );
        Ok(())
    }

    async fn drop_tenant(&self, tenant: &str) -> Result<u64, BoardError> {
        let mut slots = self.write();
        let before = slots.len();
        slots.retain(|id, _| id.tenant != tenant);
        Ok((before - slots.len()) as u64)
    }

    async fn drop_area(&self, area: &str) -> Result<u64, BoardError> {
        let mut slots = self.write();
        let before = slots.len();
        slots.retain(|id, _| id.area() != Some(area));
        Ok((before - slots.len()) as u64)
    }
}
