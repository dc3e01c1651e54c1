//! Answers of the Redis boards kept in this process until Redis reports a change.
//!
//! Residents poll their rank far more often than the boards change, and each answer from Redis
//! costs a network round trip. So [`super::RedisBoards`] keeps its answers here, and a
//! connection with Redis key tracking ([`jifen_kit::cache::track_prefix`], `BCAST` over the
//! board keys' prefix) reports every change to any board key made by any client: this process,
//! another replica, an operator's `DEL` or `FLUSHALL`, an expiry. A report drops every answer
//! of the hash tag (`t:<tenant>` or `a:<area>`) the key belongs to.
//!
//! Correctness rests on three rules:
//!
//! * Answers are kept only while the report feed is *live* (tracking switched on, connection
//!   up). When the feed is lost, everything is dropped and nothing is kept until it is back:
//!   reports missed meanwhile cannot leave a stale answer behind.
//! * An answer is stored only if no report for its tag arrived since *before* Redis was asked
//!   ([`Ticket`]): a write that raced the read invalidates either the stored answer or the
//!   storing itself.
//! * This process's own writes drop their tag as soon as they return, so it reads its own
//!   writes. Another replica's write shows here once its report arrives (one push on the
//!   network). Answers are also never older than [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Value;

use super::{BoardId, Query, Reply};

/// The longest an answer is kept, even without a report.
pub(super) const TTL: Duration = Duration::from_secs(5);

/// Past this many answers the cache starts over.
const CAPACITY: usize = 200_000;

/// The state of a tag when Redis was asked (see [`Answers::put`]); it differs from an earlier
/// one once a change to the tag's keys was reported (or reports were lost) since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    generation: u64,
}

/// Answers by board, then query: looked up by reference, without building a key.
type Stored = HashMap<BoardId, HashMap<Query, (Instant, Reply)>>;

#[derive(Debug, Default)]
struct Tag {
    /// Bumped by every report for the tag.
    generation: u64,
    answers: Stored,
}

#[derive(Debug, Default)]
struct Inner {
    live: bool,
    /// Bumped whenever everything is dropped (feed lost or back, flush, capacity).
    epoch: u64,
    tags: HashMap<String, Tag>,
    len: usize,
}

impl Inner {
    fn drop_all(&mut self) {
        self.epoch += 1;
        for tag in self.tags.values_mut() {
            tag.answers.clear();
        }
        self.len = 0;
    }
}

/// Board answers by tag (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Answers {
    inner: Mutex<Inner>,
    /// How many asks were answered from here, and how many were not.
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Returns the hash tag of a tenant's board keys (`t:<tenant>`, as in `{t:<tenant>}`).
pub(super) fn tenant_tag(tenant: &str) -> String {
    format!("t:{tenant}")
}

/// Returns the hash tag of a threshold area's board keys (`a:<area>`).
pub(super) fn area_tag(area: &str) -> String {
    format!("a:{area}")
}

/// Returns the hash tag of a board's keys.
pub(super) fn tag_of(board: &BoardId) -> String {
    match board.area() {
        Some(area) => area_tag(area),
        None => tenant_tag(&board.tenant),
    }
}

/// Returns the hash tag of a key (the text between its first `{` and the next `}`).
fn tag_of_key(key: &[u8]) -> Option<&str> {
    let key = std::str::from_utf8(key).ok()?;
    let (_, rest) = key.split_once('{')?;
    let (tag, _) = rest.split_once('}')?;
    Some(tag)
}

impl Answers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns the stored replies to every query of `board`, or `None` if one is missing.
    pub(super) fn get(&self, tag: &str, board: &BoardId, queries: &[Query]) -> Option<Vec<Reply>> {
        let replies = self.lookup(tag, board, queries);
        let counter = if replies.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        replies
    }

    fn lookup(&self, tag: &str, board: &BoardId, queries: &[Query]) -> Option<Vec<Reply>> {
        let inner = self.lock();
        if !inner.live {
            return None;
        }
        let stored = inner.tags.get(tag)?.answers.get(board)?;
        queries
            .iter()
            .map(|query| {
                let (at, reply) = stored.get(query)?;
                (at.elapsed() < TTL).then(|| reply.clone())
            })
            .collect()
    }

    /// Returns how many asks were answered from here so far, and how many were not.
    pub(super) fn use_counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Returns the ticket to store answers of `tag` with, taken before Redis is asked; `None`
    /// while the report feed is not live (nothing may be stored then).
    pub(super) fn ticket(&self, tag: &str) -> Option<Ticket> {
        let inner = self.lock();
        inner.live.then(|| Ticket {
            epoch: inner.epoch,
            generation: inner.tags.get(tag).map_or(0, |t| t.generation),
        })
    }

    /// Stores the replies to `queries` of `board` unless anything was reported for `tag` since
    /// `ticket` was taken.
    pub(super) fn put(
        &self,
        tag: &str,
        ticket: Ticket,
        board: &BoardId,
        queries: &[Query],
        replies: &[Reply],
    ) {
        let mut inner = self.lock();
        if !inner.live || inner.epoch != ticket.epoch {
            return;
        }
        if inner.len + queries.len() > CAPACITY {
            inner.drop_all();
            return;
        }
        let entry = inner.tags.entry(tag.to_owned()).or_default();
        if entry.generation != ticket.generation {
            return;
        }
        let stored = entry.answers.entry(board.clone()).or_default();
        let now = Instant::now();
        let mut added = 0;
        for (query, reply) in queries.iter().zip(replies) {
            if stored.insert(query.clone(), (now, reply.clone())).is_none() {
                added += 1;
            }
        }
        inner.len += added;
    }

    /// Drops every answer of `tag` and refuses answers asked before now.
    pub(super) fn invalidate(&self, tag: &str) {
        let mut inner = self.lock();
        let entry = inner.tags.entry(tag.to_owned()).or_default();
        entry.generation += 1;
        let dropped: usize = entry.answers.values().map(HashMap::len).sum();
        entry.answers.clear();
        inner.len -= dropped.min(inner.len);
    }

    /// Applies one `Invalidate` report: its keys, or nil after a flush (everything).
    pub(super) fn invalidate_report(&self, data: &[Value]) {
        match data.first() {
            Some(Value::Array(keys)) => {
                for key in keys {
                    if let Value::BulkString(key) = key
                        && let Some(tag) = tag_of_key(key)
                    {
                        self.invalidate(tag);
                    }
                }
            }
            _ => self.lock().drop_all(),
        }
    }

    /// Switches storing on (the feed is live) or off (lost); either way drops everything.
    pub(super) fn set_live(&self, live: bool) {
        let mut inner = self.lock();
        inner.drop_all();
        inner.live = live;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::BoardScope;
    use crate::domain::RankPosition;

    fn board() -> BoardId {
        BoardId::new("wuzhong", "c1", BoardScope::Tenant)
    }

    fn rank(n: u64) -> Reply {
        Reply::Rank(Some(RankPosition {
            rank: n,
            total: 600,
            above: n - 1,
            below: 0,
            same_total: 0,
        }))
    }

    fn live() -> Answers {
        let answers = Answers::default();
        answers.set_live(true);
        answers
    }

    #[test]
    fn tags_come_from_boards_and_keys() {
        assert_eq!(tag_of(&board()), "t:wuzhong");
        assert_eq!(
            tag_of(&BoardId::threshold_area("市区", "settlement-2024")),
            "a:市区"
        );
        assert_eq!(
            tag_of_key("jifen:board:{t:wuzhong}:c1:tenant:ids".as_bytes()),
            Some("t:wuzhong")
        );
        assert_eq!(tag_of_key(b"jifen:board:no-tag"), None);
    }

    #[test]
    fn answers_are_kept_until_their_tag_is_reported() {
        let answers = live();
        let q = [Query::RankOf("a1".into())];
        let ticket = answers.ticket("t:wuzhong").expect("live");
        answers.put("t:wuzhong", ticket, &board(), &q, &[rank(3)]);
        assert_eq!(answers.get("t:wuzhong", &board(), &q), Some(vec![rank(3)]));
        // Another query of the same board is not stored.
        assert_eq!(
            answers.get("t:wuzhong", &board(), &[q[0].clone(), Query::Entries]),
            None
        );
        // A report for another tenant leaves it; one for this tenant drops it.
        answers.invalidate_report(&[Value::Array(vec![Value::BulkString(
            b"p:board:{t:gusu}:c1:tenant".to_vec(),
        )])]);
        assert!(answers.get("t:wuzhong", &board(), &q).is_some());
        answers.invalidate_report(&[Value::Array(vec![Value::BulkString(
            b"p:board:{t:wuzhong}:c1:tenant:ids".to_vec(),
        )])]);
        assert_eq!(answers.get("t:wuzhong", &board(), &q), None);
    }

    #[test]
    fn an_answer_asked_before_a_report_is_not_stored() {
        let answers = live();
        let q = [Query::Entries];
        let ticket = answers.ticket("t:wuzhong").expect("live");
        // A write lands (its report arrives) while Redis is being asked.
        answers.invalidate("t:wuzhong");
        answers.put("t:wuzhong", ticket, &board(), &q, &[Reply::Entries(5)]);
        assert_eq!(answers.get("t:wuzhong", &board(), &q), None);
        // Likewise across a flush or a lost feed.
        let ticket = answers.ticket("t:wuzhong").expect("live");
        answers.invalidate_report(&[Value::Nil]);
        answers.put("t:wuzhong", ticket, &board(), &q, &[Reply::Entries(5)]);
        assert_eq!(answers.get("t:wuzhong", &board(), &q), None);
    }

    #[test]
    fn nothing_is_kept_while_the_feed_is_not_live() {
        let answers = Answers::default();
        assert_eq!(answers.ticket("t:wuzhong"), None);
        let answers = live();
        let q = [Query::Entries];
        let ticket = answers.ticket("t:wuzhong").expect("live");
        answers.put("t:wuzhong", ticket, &board(), &q, &[Reply::Entries(5)]);
        answers.set_live(false);
        assert_eq!(answers.get("t:wuzhong", &board(), &q), None);
        assert_eq!(answers.ticket("t:wuzhong"), None);
        // Back again: the old answers are gone.
        answers.set_live(true);
        assert_eq!(answers.get("t:wuzhong", &board(), &q), None);
    }
}
