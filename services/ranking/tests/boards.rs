//! One suite, two boards: the Redis sorted-set boards and the in-process boards must answer
//! every query identically (upsert, move, remove, rank, cut-off, histogram, readiness).
//!
//! Redis comes from `JIFEN_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); each run uses its
//! own key prefix and deletes its keys afterwards.

use jifen_ranking::board::{
    BoardError, BoardId, BoardScope, InProcessBoards, Query, RankBoards, RedisBoards, Reply,
};
use jifen_ranking::domain::{Direction, RankKey, RankPosition, RankSpec, TieBreaker};

fn spec() -> RankSpec {
    RankSpec::new(vec![
        TieBreaker::new("base", Direction::Desc),
        TieBreaker::new("other_parent_total", Direction::Desc),
        TieBreaker::new("residence_registered_on", Direction::Asc),
    ])
    .expect("spec")
}

fn key(number: &str, total: i64, ties: [i64; 3]) -> RankKey {
    spec().key(total, &ties, number).expect("key")
}

/// Everything a board must do; returns a transcript of the answers so two boards can also be
/// compared with each other.
async fn board_suite(boards: &dyn RankBoards, tenant: &str) -> Vec<String> {
    let spec = spec();
    let board = BoardId::new(tenant, "c2024", BoardScope::Tenant);
    let other = BoardId::new(tenant, "c2024", BoardScope::School("s1".into()));
    let mut transcript = Vec::new();

    // Not ready until rebuilt: queries answer Missing, writes still apply.
    assert!(!boards.is_ready(&board).await.expect("ready"));
    assert!(boards.rank_of(&board, "f1").await.is_err());
    boards
        .upsert(&board, &spec, "stale", &key("S", 1, [0, 0, 0]))
        .await
        .expect("upsert before ready");
    boards
        .replace(&board, &spec, Vec::new())
        .await
        .expect("empty rebuild");
    assert!(boards.is_ready(&board).await.expect("ready"));
    assert_eq!(boards.entries(&board).await.expect("entries"), 0);
    assert_eq!(boards.cutoff(&board, 1).await.expect("cutoff"), None);
    assert!(
        boards
            .histogram(&board, 10)
            .await
            .expect("hist")
            .buckets
            .is_empty()
    );

    // Example B: three families on 684 ordered by the tie-breakers F2, F1, F3; F4 above.
    for (id, k) in [
        ("f1", key("F1", 684, [540, 522, 0])),
        ("f2", key("F2", 684, [560, 410, 0])),
        ("f3", key("F3", 684, [540, 480, 0])),
        ("f4", key("F4", 700, [500, 0, 0])),
        ("f5", key("F5", 650, [500, 0, 0])),
    ] {
        boards.upsert(&board, &spec, id, &k).await.expect("upsert");
        // Idempotent.
        boards
            .upsert(&board, &spec, id, &k)
            .await
            .expect("upsert again");
    }
    let mut order = Vec::new();
    for i in 0..5 {
        let seat = boards.nth(&board, i).await.expect("nth").expect("seat");
        assert_eq!(seat.index, i);
        order.push(seat.application_id);
    }
    assert_eq!(order, ["f4", "f2", "f1", "f3", "f5"]);
    assert_eq!(boards.nth(&board, 5).await.expect("nth"), None);
    assert_eq!(
        boards.rank_of(&board, "f1").await.expect("rank"),
        Some(RankPosition {
            rank: 3,
            total: 684,
            above: 2,
            below: 2,
            same_total: 2
        })
    );
    assert_eq!(boards.rank_of(&board, "nobody").await.expect("rank"), None);
    let cut = boards
        .cutoff(&board, 3)
        .await
        .expect("cutoff")
        .expect("seat 3");
    assert_eq!((cut.total, cut.application_id.as_str()), (684, "f1"));
    assert_eq!(boards.cutoff(&board, 0).await.expect("cutoff"), None);
    assert_eq!(boards.cutoff(&board, 6).await.expect("cutoff"), None);
    transcript.push(format!("{order:?}"));

    // Move: F5 confirms a higher score and overtakes everyone; the histogram follows.
    boards
        .upsert(&board, &spec, "f5", &key("F5", 710, [500, 0, 0]))
        .await
        .expect("move");
    let f5 = boards
        .rank_of(&board, "f5")
        .await
        .expect("rank")
        .expect("on board");
    assert_eq!((f5.rank, f5.total, f5.above, f5.below), (1, 710, 0, 4));
    let hist = boards.histogram(&board, 10).await.expect("histogram");
    let counted: Vec<(i64, u64)> = hist.buckets.iter().map(|b| (b.lower, b.count)).collect();
    assert_eq!(counted, [(680, 3), (690, 0), (700, 1), (710, 1)]);
    assert_eq!(
        boards.total_counts(&board).await.expect("counts"),
        [(684, 3), (700, 1), (710, 1)]
    );
    transcript.push(format!("{counted:?}"));

    // Remove: a withdrawal leaves; removing twice is harmless.
    assert!(boards.remove(&board, "f2").await.expect("remove"));
    assert!(!boards.remove(&board, "f2").await.expect("remove again"));
    assert_eq!(boards.entries(&board).await.expect("entries"), 4);
    let f1 = boards
        .rank_of(&board, "f1")
        .await
        .expect("rank")
        .expect("on board");
    assert_eq!((f1.rank, f1.above, f1.below, f1.same_total), (3, 2, 1, 1));
    assert_eq!(
        boards.total_counts(&board).await.expect("counts"),
        [(684, 2), (700, 1), (710, 1)]
    );

    // Another board of the cycle is independent and not ready.
    boards
        .upsert(&other, &spec, "f1", &key("F1", 684, [540, 522, 0]))
        .await
        .expect("upsert");
    assert!(boards.entries(&other).await.is_err());

    // Many ties and moves agree with a reference sort.
    let mut live = std::collections::BTreeMap::new();
    let mut seed: u64 = 42;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let mut rebuilt = Vec::new();
    for i in 0..400u64 {
        let id = format!("r{}", next(150));
        let k = key(
            &format!("N{i:04}"),
            600 + next(3) as i64,
            [next(2) as i64, next(2) as i64, 0],
        );
        if next(6) == 0 {
            boards.remove(&board, &id).await.expect("remove");
            live.remove(&id);
        } else {
            boards.upsert(&board, &spec, &id, &k).await.expect("upsert");
            live.insert(id, k);
        }
    }
    let mut reference: Vec<(RankKey, String)> =
        live.iter().map(|(id, k)| (k.clone(), id.clone())).collect();
    reference.sort();
    for (i, (_, id)) in reference.iter().enumerate().step_by(7) {
        let pos = boards
            .rank_of(&board, id)
            .await
            .expect("rank")
            .expect("on board");
        // Four example-B entries (f1, f3, f4, f5) rank above the 6xx entries.
        assert_eq!(pos.rank, i as u64 + 5, "{id}");
        rebuilt.push((id.clone(), pos.rank));
    }
    transcript.push(format!("{rebuilt:?}"));

    // Several boards in one question: each answers as it does alone, and a board that is not
    // ready fails alone.
    let cold = BoardId::new(tenant, "c2025", BoardScope::Tenant);
    let id = &reference[0].1;
    let queries = [
        Query::RankOf(id.clone()),
        Query::Entries,
        Query::Nth(0),
        Query::TotalCounts,
    ];
    let answers = boards
        .ask(&[(&board, &queries[..]), (&cold, &queries[..1])])
        .await;
    assert_eq!(answers.len(), 2);
    let replies = answers[0].as_ref().expect("a ready board answers");
    assert_eq!(
        replies,
        &vec![
            Reply::Rank(boards.rank_of(&board, id).await.expect("rank")),
            Reply::Entries(boards.entries(&board).await.expect("entries")),
            Reply::Nth(boards.nth(&board, 0).await.expect("nth")),
            Reply::Counts(boards.total_counts(&board).await.expect("counts")),
        ]
    );
    assert!(matches!(answers[1], Err(BoardError::Missing(_))));
    transcript.push(format!("{replies:?}"));

    // Replace rebuilds from scratch and drops anything not listed.
    boards
        .replace(&board, &spec, vec![("only".into(), key("O", 1, [0, 0, 0]))])
        .await
        .expect("replace");
    assert_eq!(boards.entries(&board).await.expect("entries"), 1);
    assert_eq!(boards.rank_of(&board, "f1").await.expect("rank"), None);

    // Forgetting the tenant loses readiness: queries answer Missing again.
    assert!(boards.drop_tenant(tenant).await.expect("drop") > 0);
    assert!(!boards.is_ready(&board).await.expect("ready"));
    assert!(boards.rank_of(&board, "only").await.is_err());
    transcript
}

fn redis_url() -> String {
    std::env::var("JIFEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The boards of `N` replicas on the test Redis under one fresh key prefix, each with its own
/// connections as separate processes would have.
async fn redis_boards<const N: usize>(name: &str) -> [RedisBoards; N] {
    let url = redis_url();
    let prefix = format!("test:{name}:{}:", uuid::Uuid::now_v7().simple());
    let mut boards = Vec::with_capacity(N);
    for _ in 0..N {
        let conn = jifen_kit::cache::connect(&url)
            .await
            .expect("test Redis answers (JIFEN_TEST_REDIS_URL)");
        boards.push(RedisBoards::new(conn, &url, &prefix));
    }
    boards.try_into().expect("N boards")
}

#[tokio::test]
async fn in_process_and_redis_boards_answer_alike() {
    let in_process = InProcessBoards::new();
    let local = board_suite(&in_process, "wuzhong").await;

    let [redis] = redis_boards("boards").await;
    let remote = board_suite(&redis, "wuzhong").await;
    assert_eq!(local, remote);
    redis.drop_tenant("wuzhong").await.expect("cleanup");
}

/// How soon another replica's change must show (a report is one push on loopback).
const SOON: std::time::Duration = std::time::Duration::from_secs(2);

/// Well under the report connection's heartbeat (1 s).
const AT_ONCE: std::time::Duration = std::time::Duration::from_millis(500);

/// Asks one board where `id` stands, as GetRank does (through `ask`).
async fn rank_via_ask(boards: &RedisBoards, board: &BoardId, id: &str) -> Result<u64, String> {
    let queries = [Query::RankOf(id.to_owned())];
    let mut answers = boards.ask(&[(board, &queries[..])]).await;
    match answers.pop().expect("one answer") {
        Ok(replies) => match replies.as_slice() {
            [Reply::Rank(Some(p))] => Ok(p.rank),
            other => Err(format!("{other:?}")),
        },
        Err(err) => Err(err.to_string()),
    }
}

/// Asks until `want` holds for the answer, for at most `within`; returns the asks it took.
async fn until(
    boards: &RedisBoards,
    board: &BoardId,
    id: &str,
    within: std::time::Duration,
    want: impl Fn(&Result<u64, String>) -> bool,
) -> usize {
    let deadline = std::time::Instant::now() + within;
    let mut asks = 1;
    loop {
        let answer = rank_via_ask(boards, board, id).await;
        if want(&answer) {
            return asks;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {answer:?} after {asks} asks"
        );
        asks += 1;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// Two replicas on one Redis: each keeps its answers in memory, and each sees the other's writes
/// (and deletions) as soon as Redis reports them.
#[tokio::test]
async fn redis_answers_are_kept_until_another_replica_changes_the_board() {
    let [a, b] = redis_boards("replicas").await;
    let spec = spec();
    let board = BoardId::new("wuzhong", "c2024", BoardScope::Tenant);
    b.replace(
        &board,
        &spec,
        vec![
            ("f1".into(), key("F1", 684, [540, 522, 0])),
            ("f2".into(), key("F2", 700, [500, 0, 0])),
        ],
    )
    .await
    .expect("rebuild");

    // Once A follows Redis's reports, it answers from memory.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while a.answers_from_memory_and_redis().0 < 3 {
        assert_eq!(rank_via_ask(&a, &board, "f1").await, Ok(2));
        assert!(
            std::time::Instant::now() < deadline,
            "A never kept an answer"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // B's writes reach A's answers without A writing anything, and change A's mark of the
    // tenant's boards (what A keeps beside them, such as entry rows, is read again).
    let mark = a.change_mark("wuzhong");
    assert!(mark.is_some(), "reports flow");
    assert_eq!(a.change_mark("wuzhong"), mark);
    b.upsert(&board, &spec, "f3", &key("F3", 800, [1, 0, 0]))
        .await
        .expect("upsert");
    until(&a, &board, "f1", SOON, |r| *r == Ok(3)).await;
    assert_ne!(a.change_mark("wuzhong"), mark);
    b.remove(&board, "f3").await.expect("remove");
    until(&a, &board, "f1", SOON, |r| *r == Ok(2)).await;
    // Deleting the keys (as a flush would) makes A's board missing, not stale.
    assert!(b.drop_tenant("wuzhong").await.expect("drop") > 0);
    until(&a, &board, "f1", SOON, |r| {
        r.as_ref().is_err_and(|e| e.contains("not ready"))
    })
    .await;
    // And A's own write is read back at once.
    a.replace(
        &board,
        &spec,
        vec![("f1".into(), key("F1", 684, [540, 522, 0]))],
    )
    .await
    .expect("rebuild");
    assert_eq!(rank_via_ask(&a, &board, "f1").await, Ok(1));
    a.drop_tenant("wuzhong").await.expect("cleanup");
}

/// Kills every connection that reports key changes (this test binary's boards reconnect).
async fn kill_report_connections() -> usize {
    let mut conn = jifen_kit::cache::connect(&redis_url())
        .await
        .expect("redis answers");
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .expect("client list");
    let name = format!("name={}", jifen_kit::cache::TRACKING_CLIENT_NAME);
    let mut killed = 0;
    for line in clients.lines().filter(|l| l.split(' ').any(|f| f == name)) {
        let id = line
            .split(' ')
            .find_map(|f| f.strip_prefix("id="))
            .expect("client id");
        let _: redis::RedisResult<()> = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query_async(&mut conn)
            .await;
        killed += 1;
    }
    killed
}

/// When the connection that reports changes is lost, kept answers are dropped at once (a change
/// made meanwhile could not be reported), and keeping resumes once it is back.
#[tokio::test]
async fn redis_answers_are_dropped_when_the_reports_are_lost() {
    let [a, b] = redis_boards("lost").await;
    let spec = spec();
    let board = BoardId::new("gusu", "c2024", BoardScope::Tenant);
    b.replace(
        &board,
        &spec,
        vec![("f1".into(), key("F1", 684, [540, 522, 0]))],
    )
    .await
    .expect("rebuild");
    let kept = |n: u64| {
        let a = &a;
        let board = &board;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while a.answers_from_memory_and_redis().0 < n {
                assert_eq!(rank_via_ask(a, board, "f1").await, Ok(1));
                assert!(std::time::Instant::now() < deadline, "no answer kept");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };
    kept(3).await;
    let mark = a.change_mark("gusu");
    assert!(mark.is_some(), "reports flow");

    assert!(kill_report_connections().await >= 1);
    // Written right after the loss: A cannot be told, so it must not answer from memory, and
    // it knows at once (well before its heartbeat would notice).
    b.upsert(&board, &spec, "f0", &key("F0", 900, [1, 0, 0]))
        .await
        .expect("upsert");
    until(&a, &board, "f1", AT_ONCE, |r| *r == Ok(2)).await;
    assert_ne!(
        a.change_mark("gusu"),
        mark,
        "a lost report connection changes the mark"
    );
    b.remove(&board, "f0").await.expect("remove");
    until(&a, &board, "f1", SOON, |r| *r == Ok(1)).await;

    // Back again (reconnected by itself): answers are kept once more.
    let before = a.answers_from_memory_and_redis().0;
    kept(before + 3).await;
    a.drop_tenant("gusu").await.expect("cleanup");
}
