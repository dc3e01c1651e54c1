//! Redis boards: one sorted set per board, plus two hashes and a readiness marker.
//!
//! For the board of tenant `T`, cycle `C`, scope `S` (see [`super::BoardScope::as_key`]) and
//! the configured key prefix `P`:
//!
//! | key | type | content |
//! |---|---|---|
//! | `Pboard:{t:T}:C:S` | sorted set | every member has score 0; the member is the rank key's Redis encoding `hex(key bytes) "." application_id` ([`crate::domain::rank_key`]), so `ZRANK` is the exact 0-based rank |
//! | `Pboard:{t:T}:C:S:ids` | hash | application id → `"<total> <member>"` (for rank queries and removal) |
//! | `Pboard:{t:T}:C:S:totals` | hash | total → entry count (`HINCRBY`), for histograms and ties |
//! | `Pboard:{t:T}:C:S:ready` | string | present once the board was rebuilt from the database |
//!
//! A threshold-area board (shared by the area's tenants, see [`super::BoardId::threshold_area`])
//! lives under `Pboard:{a:A}:<period>:threshold_area:A` instead, with the same three companions.
//!
//! The `{t:T}` hash tag keeps a tenant's keys in one Redis Cluster slot, so each upsert, removal
//! and query is one atomic Lua script, and a rebuild fills temporary keys and swaps them in with
//! one script. A flush or restart loses the readiness marker with everything else, so queries
//! answer [`BoardError::Missing`] until the board is rebuilt.
//!
//! Every board key starts with `Pboard:` and nothing else does, so one Redis key-tracking
//! subscription covers exactly the boards: answers are kept in the process until Redis reports a
//! change to their tenant's (or area's) keys, see [`super::answers`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, PushInfo, PushKind, Script};
use tokio::sync::Notify;

use super::answers::{Answers, area_tag, tag_of, tenant_tag};

use super::{BoardError, BoardId, BoardSeat, Query, RankBoards, Reply};
use crate::domain::rank_key::{Direction, decode_component};
use crate::domain::{RankKey, RankPosition, RankSpec};

/// How many members one rebuild command carries.
const REBUILD_CHUNK: usize = 1_000;

const UPSERT: &str = r"
local old = redis.call('HGET', KEYS[2], ARGV[1])
local new = ARGV[3] .. ' ' .. ARGV[2]
if old == new then return 0 end
if old then
  local sp = string.find(old, ' ', 1, true)
  redis.call('ZREM', KEYS[1], string.sub(old, sp + 1))
  if redis.call('HINCRBY', KEYS[3], string.sub(old, 1, sp - 1), -1) <= 0 then
    redis.call('HDEL', KEYS[3], string.sub(old, 1, sp - 1))
  end
end
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], new)
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 1
";

const REMOVE: &str = r"
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
local sp = string.find(old, ' ', 1, true)
redis.call('ZREM', KEYS[1], string.sub(old, sp + 1))
if redis.call('HINCRBY', KEYS[3], string.sub(old, 1, sp - 1), -1) <= 0 then
  redis.call('HDEL', KEYS[3], string.sub(old, 1, sp - 1))
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
";

const RANK_OF: &str = r"
if redis.call('EXISTS', KEYS[4]) == 0 then return {'missing'} end
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return {'absent'} end
local sp = string.find(v, ' ', 1, true)
local total = string.sub(v, 1, sp - 1)
local r = redis.call('ZRANK', KEYS[1], string.sub(v, sp + 1))
if not r then return {'absent'} end
local n = redis.call('ZCARD', KEYS[1])
local same = redis.call('HGET', KEYS[3], total) or '1'
return {'ok', tostring(r), tostring(n), total, same}
";

const NTH: &str = r"
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
local m = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[1])
if #m == 0 then return {'absent'} end
return {'ok', m[1]}
";

const ENTRIES: &str = r"
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
return {'ok', tostring(redis.call('ZCARD', KEYS[1]))}
";

const TOTALS: &str = r"
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing'} end
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, 'ok')
return all
";

/// Swaps the filled temporary keys (KEYS[4..6]) in for the board (KEYS[1..3]) and marks it
/// ready (KEYS[7]).
const SWAP: &str = r"
for i = 1, 3 do
  redis.call('DEL', KEYS[i])
  if redis.call('EXISTS', KEYS[i + 3]) == 1 then redis.call('RENAME', KEYS[i + 3], KEYS[i]) end
end
redis.call('SET', KEYS[7], '1')
return 1
";

/// Boards in Redis sorted sets (microservices mode); see the module docs for the layout.
#[derive(Clone)]
pub struct RedisBoards {
    conn: ConnectionManager,
    url: String,
    /// `<configured prefix>board:`, the start of every board key.
    root: String,
    answers: Arc<Answers>,
    /// Whether the task following Redis's change reports was started (on the first query).
    tracking: Arc<AtomicBool>,
    upsert: Script,
    remove: Script,
    rank_of: Script,
    nth: Script,
    entries: Script,
    totals: Script,
    swap: Script,
}

impl std::fmt::Debug for RedisBoards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBoards")
            .field("root", &self.root)
            .finish()
    }
}

struct Keys {
    set: String,
    ids: String,
    totals: String,
    ready: String,
}

impl RedisBoards {
    /// Returns boards stored through `conn` under the key prefix `prefix`; `url` is the same
    /// Redis, for the connection that reports changes to the boards (see [`super::answers`]).
    pub fn new(conn: ConnectionManager, url: &str, prefix: &str) -> Self {
        Self {
            conn,
            url: url.to_owned(),
            root: format!("{prefix}board:"),
            answers: Arc::new(Answers::default()),
            tracking: Arc::new(AtomicBool::new(false)),
            upsert: Script::new(UPSERT),
            remove: Script::new(REMOVE),
            rank_of: Script::new(RANK_OF),
            nth: Script::new(NTH),
            entries: Script::new(ENTRIES),
            totals: Script::new(TOTALS),
            swap: Script::new(SWAP),
        }
    }

    /// Returns the sorted-set key of a board.
    pub fn board_key(&self, board: &BoardId) -> String {
        let rest = format!("{}:{}", board.cycle_id, board.scope.as_key());
        match board.area() {
            Some(area) => area_key(&self.root, area, &rest),
            None => jifen_kit::cache::tenant_key(&self.root, &board.tenant, &rest),
        }
    }

    /// Returns how many board asks were answered from the answers this process keeps (see
    /// [`super::answers`]), and how many from Redis.
    pub fn answers_from_memory_and_redis(&self) -> (u64, u64) {
        self.answers.use_counts()
    }

    /// Starts following Redis's reports of changes to the boards, once (see
    /// [`super::answers`]); answers are kept only while the reports flow.
    fn follow_changes(&self) {
        // Called on every GetRank: a read first, so the flag's cache line is not written each time.
        if self.tracking.load(Ordering::Acquire) || self.tracking.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(follow(
            Arc::downgrade(&self.answers),
            self.url.clone(),
            self.root.clone(),
        ));
    }

    /// Deletes every key matching `pattern` (SCAN + DEL); returns how many went.
    async fn delete_matching(&self, pattern: &str) -> Result<u64, BoardError> {
        let mut conn = self.conn.clone();
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                let n: u64 = conn.del(&keys).await?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    fn keys(&self, board: &BoardId) -> Keys {
        let set = self.board_key(board);
        Keys {
            ids: format!("{set}:ids"),
            totals: format!("{set}:totals"),
            ready: format!("{set}:ready"),
            set,
        }
    }
}

/// Splits a script reply into its status word and the rest; `missing` becomes an error.
fn reply(board: &BoardId, mut parts: Vec<String>) -> Result<Option<Vec<String>>, BoardError> {
    if parts.is_empty() {
        return Err(BoardError::Redis("empty script reply".to_owned()));
    }
    match parts.remove(0).as_str() {
        "ok" => Ok(Some(parts)),
        "absent" => Ok(None),
        "missing" => Err(BoardError::Missing(board.to_string())),
        other => Err(BoardError::Redis(format!(
            "unexpected script reply {other}"
        ))),
    }
}

fn number<T: std::str::FromStr>(text: Option<&String>) -> Result<T, BoardError> {
    text.and_then(|t| t.parse().ok())
        .ok_or_else(|| BoardError::Redis("malformed number in script reply".to_owned()))
}

/// Returns the total and the application id a member encodes (see the module docs).
fn decode_member(member: &str) -> Result<(i64, String), BoardError> {
    let malformed = || BoardError::Redis(format!("malformed board member {member}"));
    let (hex_part, id) = member.split_once('.').ok_or_else(malformed)?;
    let first = hex_part.get(..16).ok_or_else(malformed)?;
    let word = u64::from_str_radix(first, 16).map_err(|_| malformed())?;
    Ok((decode_component(word, Direction::Desc), id.to_owned()))
}

/// Reads a [`RANK_OF`] reply.
fn rank_reply(board: &BoardId, parts: Vec<String>) -> Result<Option<RankPosition>, BoardError> {
    let Some(parts) = reply(board, parts)? else {
        return Ok(None);
    };
    let above: u64 = number(parts.first())?;
    let entries: u64 = number(parts.get(1))?;
    let total: i64 = number(parts.get(2))?;
    let same: u64 = number(parts.get(3))?;
    Ok(Some(RankPosition {
        rank: above + 1,
        total,
        above,
        below: entries.saturating_sub(above + 1),
        same_total: same.saturating_sub(1),
    }))
}

/// Reads an [`ENTRIES`] reply.
fn entries_reply(board: &BoardId, parts: Vec<String>) -> Result<u64, BoardError> {
    let parts = reply(board, parts)?.unwrap_or_default();
    number(parts.first())
}

/// Reads an [`NTH`] reply for position `index`.
fn nth_reply(
    board: &BoardId,
    index: u64,
    parts: Vec<String>,
) -> Result<Option<BoardSeat>, BoardError> {
    let Some(parts) = reply(board, parts)? else {
        return Ok(None);
    };
    let member = parts
        .first()
        .ok_or_else(|| BoardError::Redis("empty member".to_owned()))?;
    let (total, application_id) = decode_member(member)?;
    Ok(Some(BoardSeat {
        index,
        total,
        application_id,
    }))
}

/// Reads a [`TOTALS`] reply, ascending by total.
fn totals_reply(board: &BoardId, parts: Vec<String>) -> Result<Vec<(i64, u64)>, BoardError> {
    let parts = reply(board, parts)?.unwrap_or_default();
    let mut counts = Vec::with_capacity(parts.len() / 2);
    for pair in parts.chunks_exact(2) {
        let count: u64 = number(pair.get(1))?;
        if count > 0 {
            counts.push((number(pair.first())?, count));
        }
    }
    counts.sort_unstable();
    Ok(counts)
}

impl RedisBoards {
    /// Returns the script invocation answering `query` on the board under `k`.
    fn invocation<'a>(&'a self, k: &Keys, query: &Query) -> redis::ScriptInvocation<'a> {
        match query {
            Query::RankOf(id) => {
                let mut inv = self.rank_of.prepare_invoke();
                inv.key(&k.set)
                    .key(&k.ids)
                    .key(&k.totals)
                    .key(&k.ready)
                    .arg(id);
                inv
            }
            Query::Entries => {
                let mut inv = self.entries.prepare_invoke();
                inv.key(&k.set).key(&k.ready);
                inv
            }
            Query::Nth(index) => {
                let mut inv = self.nth.prepare_invoke();
                inv.key(&k.set).key(&k.ready).arg(*index);
                inv
            }
            Query::TotalCounts => {
                let mut inv = self.totals.prepare_invoke();
                inv.key(&k.totals).key(&k.ready);
                inv
            }
        }
    }

    /// Answers every query of every board from Redis.
    async fn ask_redis(
        &self,
        asks: &[(&BoardId, &[Query])],
    ) -> Vec<Result<Vec<Reply>, BoardError>> {
        // Every query of every board in one pipeline: one round trip. The boards may live in
        // different hash slots (a tenant's and its threshold area's), so each query stays its
        // own script call.
        let keys: Vec<Keys> = asks.iter().map(|(board, _)| self.keys(board)).collect();
        let invocations: Vec<redis::ScriptInvocation<'_>> = asks
            .iter()
            .zip(&keys)
            .flat_map(|((_, queries), k)| queries.iter().map(|q| self.invocation(k, q)))
            .collect();
        let mut pipe = redis::pipe();
        for invocation in &invocations {
            pipe.invoke_script(invocation);
        }
        let parts = match self.query_pipeline(&pipe).await {
            Ok(parts) if parts.len() == invocations.len() => parts,
            Ok(_) => {
                let err = "pipeline answered a different number of queries";
                return asks
                    .iter()
                    .map(|_| Err(BoardError::Redis(err.to_owned())))
                    .collect();
            }
            Err(err) => {
                let err = err.to_string();
                return asks
                    .iter()
                    .map(|_| Err(BoardError::Redis(err.clone())))
                    .collect();
            }
        };
        let mut parts = parts.into_iter();
        asks.iter()
            .map(|(board, queries)| {
                // Take all of this board's replies even when one fails, to stay aligned.
                let mine: Vec<Vec<String>> = parts.by_ref().take(queries.len()).collect();
                queries
                    .iter()
                    .zip(mine)
                    .map(|(query, part)| {
                        Ok(match query {
                            Query::RankOf(_) => Reply::Rank(rank_reply(board, part)?),
                            Query::Entries => Reply::Entries(entries_reply(board, part)?),
                            Query::Nth(index) => Reply::Nth(nth_reply(board, *index, part)?),
                            Query::TotalCounts => Reply::Counts(totals_reply(board, part)?),
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// Fills temporary keys with `entries` and swaps them in for the board (see [`SWAP`]).
    async fn fill(
        &self,
        board: &BoardId,
        entries: Vec<(String, RankKey)>,
    ) -> Result<(), BoardError> {
        let k = self.keys(board);
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let tmp_set = format!("{}:rebuild:{tag}", k.set);
        let tmp_ids = format!("{tmp_set}:ids");
        let tmp_totals = format!("{tmp_set}:totals");
        let mut conn = self.conn.clone();
        let mut counts = std::collections::BTreeMap::<i64, u64>::new();
        for chunk in entries.chunks(REBUILD_CHUNK) {
            let mut pipe = redis::pipe();
            let mut zadd = redis::cmd("ZADD");
            zadd.arg(&tmp_set);
            let mut hset = redis::cmd("HSET");
            hset.arg(&tmp_ids);
            for (id, key) in chunk {
                let member = key.redis_member(id);
                zadd.arg(0).arg(&member);
                hset.arg(id).arg(format!("{} {member}", key.total()));
                *counts.entry(key.total()).or_default() += 1;
            }
            pipe.add_command(zadd).ignore();
            pipe.add_command(hset).ignore();
            // Temporary keys expire by themselves should this rebuild die half-way.
            pipe.expire(&tmp_set, 600).ignore();
            pipe.expire(&tmp_ids, 600).ignore();
            pipe.query_async::<()>(&mut conn).await?;
        }
        if !counts.is_empty() {
            let mut hset = redis::cmd("HSET");
            hset.arg(&tmp_totals);
            for (total, count) in &counts {
                hset.arg(total).arg(count);
            }
            hset.query_async::<()>(&mut conn).await?;
        }
        let _: i64 = self
            .swap
            .key(&k.set)
            .key(&k.ids)
            .key(&k.totals)
            .key(&tmp_set)
            .key(&tmp_ids)
            .key(&tmp_totals)
            .key(&k.ready)
            .invoke_async(&mut conn)
            .await?;
        // RENAME keeps the temporary TTL; the live board must not expire.
        let mut pipe = redis::pipe();
        pipe.persist(&k.set).ignore().persist(&k.ids).ignore();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Sends `pipe` (query script calls only); loads the query scripts and sends it again when
    /// Redis lost them (restart, `SCRIPT FLUSH`).
    async fn query_pipeline(&self, pipe: &redis::Pipeline) -> redis::RedisResult<Vec<Vec<String>>> {
        let mut conn = self.conn.clone();
        match pipe.query_async(&mut conn).await {
            Err(err)
                if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
            {
                let mut load = redis::pipe();
                for script in [&self.rank_of, &self.entries, &self.nth, &self.totals] {
                    load.load_script(script).ignore();
                }
                load.query_async::<()>(&mut conn).await?;
                pipe.query_async(&mut conn).await
            }
            result => result,
        }
    }
}

#[async_trait::async_trait]
impl RankBoards for RedisBoards {
    async fn upsert(
        &self,
        board: &BoardId,
        _spec: &RankSpec,
        application_id: &str,
        key: &RankKey,
    ) -> Result<(), BoardError> {
        let k = self.keys(board);
        let mut conn = self.conn.clone();
        let result = self
            .upsert
            .key(&k.set)
            .key(&k.ids)
            .key(&k.totals)
            .arg(application_id)
            .arg(key.redis_member(application_id))
            .arg(key.total())
            .invoke_async::<i64>(&mut conn)
            .await;
        self.answers.invalidate(&tag_of(board));
        result?;
        Ok(())
    }

    async fn remove(&self, board: &BoardId, application_id: &str) -> Result<bool, BoardError> {
        let k = self.keys(board);
        let mut conn = self.conn.clone();
        let removed = self
            .remove
            .key(&k.set)
            .key(&k.ids)
            .key(&k.totals)
            .arg(application_id)
            .invoke_async::<i64>(&mut conn)
            .await;
        self.answers.invalidate(&tag_of(board));
        Ok(removed? == 1)
    }

    async fn rank_of(
        &self,
        board: &BoardId,
        application_id: &str,
    ) -> Result<Option<RankPosition>, BoardError> {
        let k = self.keys(board);
        let mut conn = self.conn.clone();
        let parts: Vec<String> = self
            .rank_of
            .key(&k.set)
            .key(&k.ids)
            .key(&k.totals)
            .key(&k.ready)
            .arg(application_id)
            .invoke_async(&mut conn)
            .await?;
        rank_reply(board, parts)
    }

    async fn entries(&self, board: &BoardId) -> Result<u64, BoardError> {
        let k = self.keys(board);
        let mut conn = self.conn.clone();
        let parts: Vec<String> = self
            .entries
            .key(&k.set)
            .key(&k.ready)
            .invoke_async(&mut conn)
            .await?;
        entries_reply(board, parts)
    }

    async fn nth(&self, board: &BoardId, index: u64) -> Result<Option<BoardSeat>, BoardError> {
        let k = self.keys(board);
        let mut conn = self.conn.clone();
        let parts: Vec<String> = self
            .nth
            .key(&k.set)
            .key(&k.ready)
            .arg(index)
            .invoke_async(&mut conn)
            .await?;
        nth_reply(board, index, parts)
    }

    async fn total_counts(&self, board: &BoardId) -> Result<Vec<(i64, u64)>, BoardError> {
        let k = self.keys(board);
        let mut conn = self.conn.clone();
        let parts: Vec<String> = self
            .totals
            .key(&k.totals)
            .key(&k.ready)
            .invoke_async(&mut conn)
            .await?;
        totals_reply(board, parts)
    }

    fn shared(&self) -> bool {
        true
    }

    fn change_mark(&self, tenant: &str) -> Option<super::ChangeMark> {
        self.follow_changes();
        self.answers.ticket(&tenant_tag(tenant))
    }

    async fn ask(&self, asks: &[(&BoardId, &[Query])]) -> Vec<Result<Vec<Reply>, BoardError>> {
        self.follow_changes();
        // Answers kept since Redis last reported a change to their boards; the rest from Redis
        // (one round trip), kept for next time unless a change was reported meanwhile.
        let mut results: Vec<Option<Result<Vec<Reply>, BoardError>>> = Vec::new();
        let mut missing = Vec::new();
        for &(board, queries) in asks {
            let tag = tag_of(board);
            match self.answers.get(&tag, board, queries) {
                Some(replies) => results.push(Some(Ok(replies))),
                None => {
                    let ticket = self.answers.ticket(&tag);
                    missing.push((results.len(), tag, ticket));
                    results.push(None);
                }
            }
        }
        if !missing.is_empty() {
            let asked: Vec<(&BoardId, &[Query])> = missing.iter().map(|m| asks[m.0]).collect();
            let answered = self.ask_redis(&asked).await;
            for ((i, tag, ticket), answer) in missing.into_iter().zip(answered) {
                if let (Some(ticket), Ok(replies)) = (ticket, &answer) {
                    let (board, queries) = asks[i];
                    self.answers.put(&tag, ticket, board, queries, replies);
                }
                results[i] = Some(answer);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(BoardError::Redis("query left unanswered".to_owned())))
            })
            .collect()
    }

    async fn is_ready(&self, board: &BoardId) -> Result<bool, BoardError> {
        let mut conn = self.conn.clone();
        let exists: bool = conn.exists(self.keys(board).ready).await?;
        Ok(exists)
    }

    async fn replace(
        &self,
        board: &BoardId,
        _spec: &RankSpec,
        entries: Vec<(String, RankKey)>,
    ) -> Result<(), BoardError> {
        let result = self.fill(board, entries).await;
        self.answers.invalidate(&tag_of(board));
        result
    }

    async fn drop_tenant(&self, tenant: &str) -> Result<u64, BoardError> {
        let pattern = jifen_kit::cache::tenant_key(&self.root, tenant, "");
        let dropped = self
            .delete_matching(&format!("{}*", glob_escape(&pattern)))
            .await;
        self.answers.invalidate(&tenant_tag(tenant));
        dropped
    }

    async fn drop_area(&self, area: &str) -> Result<u64, BoardError> {
        let pattern = area_key(&self.root, area, "");
        let dropped = self
            .delete_matching(&format!("{}*", glob_escape(&pattern)))
            .await;
        self.answers.invalidate(&area_tag(area));
        dropped
    }
}

/// How long to wait before connecting the change reports again, at most.
const FOLLOW_RETRY_MAX: Duration = Duration::from_secs(5);

/// How often the change-report connection is checked while no report arrives.
const FOLLOW_HEARTBEAT: Duration = Duration::from_secs(1);

/// Follows Redis's reports of changes to keys under `root` into `answers` until they are
/// dropped: answers are kept only while the reports flow (see [`super::answers`]). Reports are
/// applied by the connection itself as it reads them; this task connects, checks the connection
/// while nothing happens, and connects again when it is lost.
async fn follow(answers: Weak<Answers>, url: String, root: String) {
    let mut retry = Duration::from_millis(100);
    let mut warned = false;
    loop {
        let lost = Arc::new(Notify::new());
        let reports = {
            let (answers, lost) = (answers.clone(), lost.clone());
            move |report: PushInfo| -> Result<(), ()> {
                let live = answers.upgrade().ok_or(())?;
                match report.kind {
                    PushKind::Invalidate => live.invalidate_report(&report.data),
                    PushKind::Disconnection => {
                        live.set_live(false);
                        lost.notify_one();
                    }
                    _ => {}
                }
                Ok(())
            }
        };
        match jifen_kit::cache::track_prefix(&url, &root, reports).await {
            Ok(mut conn) => {
                retry = Duration::from_millis(100);
                warned = false;
                match answers.upgrade() {
                    Some(live) => live.set_live(true),
                    None => return,
                }
                loop {
                    tokio::select! {
                        () = lost.notified() => break,
                        () = tokio::time::sleep(FOLLOW_HEARTBEAT) => {
                            if answers.strong_count() == 0 {
                                return;
                            }
                            if redis::cmd("PING").query_async::<()>(&mut conn).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                match answers.upgrade() {
                    Some(live) => live.set_live(false),
                    None => return,
                }
                tracing::warn!(
                    "lost Redis's reports of board changes; answering from Redis until they are back"
                );
            }
            Err(err) => {
                if answers.strong_count() == 0 {
                    return;
                }
                if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(error = %err, "cannot follow Redis's reports of board changes; answering from Redis");
                }
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(FOLLOW_RETRY_MAX);
            }
        }
    }
}

/// Returns the key `<prefix>{a:<area>}:<rest>`: a threshold area's boards are shared by its
/// tenants, so they carry the area's hash tag (one Redis Cluster slot per area).
fn area_key(prefix: &str, area: &str, rest: &str) -> String {
    format!("{prefix}{{a:{area}}}:{rest}")
}

/// Escapes the glob characters of a literal key part for `SCAN MATCH`.
fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RankSpec;

    #[test]
    fn members_decode_to_total_and_id() {
        let key = RankSpec::suzhou_school()
            .key(-684, &[540, 522, 1, 2], "WZ.1")
            .expect("key");
        let member = key.redis_member("app.7");
        assert_eq!(
            decode_member(&member).expect("decodes"),
            (-684, "app.7".to_owned())
        );
        assert!(decode_member("zz").is_err());
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("p[1]:{t:x}*"), "p\\[1\\]:{t:x}\\*");
    }
}
