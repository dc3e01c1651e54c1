//! Group commit of guarded application writes on PostgreSQL.
//!
//! At season opening thousands of residents submit at once; written one statement (and one
//! commit) each, most of the database's time goes to per-statement and per-round-trip work, not
//! to the rows. [`GroupCommit::write`] queues the caller's [`Guarded`] change; a writer task takes
//! everything queued (up to [`MAX_BATCH`] changes of distinct applications) and writes it with
//! [`repo::write_guarded_many`]: one statement, one round trip, one commit. While a batch is in
//! flight the next one gathers, so a lone caller waits for nobody and a crowd shares commits.
//!
//! Each caller still gets its own answer: its row as written, StaleVersion when its guard did not
//! match (the others in the batch are written), or, if the batch statement fails (a unique
//! violation of one change rolls back all of them), the answer of its change written alone.
//! Writer tasks are spawned, so a caller that goes away (a dropped request) never cuts a batch
//! short: the batch commits or not as a whole and the caller's retry finds its idempotency key.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;

use super::entities::application;
use super::repo::{self, Guarded};
use crate::error::ReviewError;

/// Most changes written by one statement.
pub const MAX_BATCH: usize = 64;
/// Most batch statements in flight at once (each holds one pooled connection).
pub const MAX_WRITERS: usize = 2;

type Answer = Result<application::Model, ReviewError>;

/// The queue of changes waiting for a writer, shared by clones.
#[derive(Clone, Default)]
pub struct GroupCommit {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    queue: Vec<(Guarded, oneshot::Sender<Answer>)>,
    writers: usize,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Writes `change` in `db` (PostgreSQL) together with whatever else is queued; returns what
    /// [`repo::write_guarded`] would have returned for it alone.
    pub async fn write(&self, db: &DatabaseConnection, change: Guarded) -> Answer {
        let (tx, rx) = oneshot::channel();
        let start_writer = {
            let mut state = self.lock();
            state.queue.push((change, tx));
            let start = state.writers < MAX_WRITERS;
            if start {
                state.writers += 1;
            }
            start
        };
        if start_writer {
            tokio::spawn(self.clone().drain(db.clone()));
        }
        rx.await.map_err(|_| {
            ReviewError::Internal("group commit: the writer stopped before answering".into())
        })?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent queue (push / drain only).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes batches until the queue is empty. The writer count goes down under the same lock
    /// that saw the queue empty, so a change queued meanwhile always has a writer. Each batch is
    /// written by a task of its own: should it panic, its callers get an error (their senders
    /// drop) and this writer goes on with the queue.
    async fn drain(self, db: DatabaseConnection) {
        loop {
            let batch = {
                let mut state = self.lock();
                if state.queue.is_empty() {
                    state.writers -= 1;
                    return;
                }
                take_batch(&mut state.queue)
            };
            let _ = tokio::spawn(write_batch(db.clone(), batch)).await;
        }
    }
}

/// Removes up to [`MAX_BATCH`] changes from the front of `queue` that one statement can write:
/// of the first change's [`Guarded::shape`], each application once (a second change of the same
/// application waits for the next batch: one row cannot be updated twice in one statement).
fn take_batch<T>(queue: &mut Vec<(Guarded, T)>) -> Vec<(Guarded, T)> {
    let mut ids = HashSet::new();
    let mut shape = None;
    let mut batch = Vec::new();
    let mut rest = Vec::new();
    for item in queue.drain(..) {
        let fits = batch.len() < MAX_BATCH
            && *shape.get_or_insert_with(|| item.0.shape()) == item.0.shape()
            && ids.insert(item.0.id.clone());
        if fits {
            batch.push(item);
        } else {
            rest.push(item);
        }
    }
    *queue = rest;
    batch
}

async fn write_batch(db: DatabaseConnection, batch: Vec<(Guarded, oneshot::Sender<Answer>)>) {
    let changes: Vec<&Guarded> = batch.iter().map(|(change, _)| change).collect();
    match repo::write_guarded_many(&db, &changes).await {
        Ok(mut moved) => {
            for (change, tx) in batch {
                let answer = moved
                    .iter()
                    .position(|row| row.id == change.id)
                    .map(|i| moved.swap_remove(i))
                    .ok_or(ReviewError::StaleVersion);
                let _ = tx.send(answer);
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some((_, tx)) = batch.into_iter().next() {
                let _ = tx.send(Err(err));
            }
        }
        Err(err) => {
            // Nothing was written: each change alone, so one conflict fails only its own caller.
            tracing::debug!(error = %err, size = batch.len(), "group commit: batch refused, writing one by one");
            for (change, tx) in batch {
                let _ = tx.send(repo::write_guarded(&db, &change).await);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entities::application;

    fn change(id: &str) -> Guarded {
        Guarded {
            tenant: "t".into(),
            id: id.into(),
            sets: vec![(application::Column::Status, 2.into())],
            version: Some(1),
            audit_sequence: 1,
            rows: Vec::new(),
            drop_claims: false,
        }
    }

    #[test]
    fn a_batch_holds_each_application_once_and_keeps_the_order() {
        let mut queue: Vec<(Guarded, usize)> = ["a", "b", "a", "c", "b"]
            .iter()
            .enumerate()
            .map(|(n, id)| (change(id), n))
            .collect();
        let batch = take_batch(&mut queue);
        assert_eq!(
            batch.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
        assert_eq!(
            queue.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            vec![2, 4]
        );
    }

    #[test]
    fn a_batch_holds_one_shape() {
        let mut other = change("b");
        other.drop_claims = true;
        let mut queue = vec![(change("a"), 0), (other, 1), (change("c"), 2)];
        let batch = take_batch(&mut queue);
        assert_eq!(
            batch.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(queue.iter().map(|(_, n)| *n).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn a_batch_is_bounded() {
        let mut queue: Vec<(Guarded, usize)> = (0..MAX_BATCH + 5)
            .map(|n| (change(&n.to_string()), n))
            .collect();
        assert_eq!(take_batch(&mut queue).len(), MAX_BATCH);
        assert_eq!(queue.len(), 5);
    }
}
