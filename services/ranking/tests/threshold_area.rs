//! Settlement ranks within the threshold area (contract: several tenants share one area): two
//! tenants of 市区 share one board, a tenant of 昆山 does not; the shared board survives a
//! rebuild from the database (start-up) and a tenant's own rebuild leaves the other tenants on
//! it. Runs against the in-process boards and, when Redis answers at `JIFEN_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`), the Redis boards, over SQLite in a temp dir.

use std::sync::Arc;

use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::ranking::v1 as pb;
use jifen_ranking::Ranking;
use jifen_ranking::board::{InProcessBoards, RankBoards, RedisBoards};

const CYCLE_GUSU: &str = "c-gusu-2024-settlement";
const CYCLE_WUZHONG: &str = "c-wuzhong-2024-settlement";
const CYCLE_KUNSHAN: &str = "c-kunshan-2024-settlement";

fn caller(tenant: &str, subject: &str, role: Role) -> Caller {
    Caller {
        tenant: tenant.to_owned(),
        subject: subject.to_owned(),
        roles: vec![role],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

fn confirmed(
    tenant: &str,
    cycle: &str,
    area: &str,
    id: &str,
    total: i64,
    base: i64,
) -> common::Event {
    common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: "review.score_confirmed".to_owned(),
        tenant: tenant.to_owned(),
        aggregate_id: id.to_owned(),
        aggregate_version: 7,
        payload: Some(common::event::Payload::ScoreConfirmed(
            common::ScoreConfirmed {
                application_id: id.to_owned(),
                application_number: format!("SET-2024-{}", id.to_uppercase()),
                cycle_id: cycle.to_owned(),
                benefit: "settlement".to_owned(),
                applicant_subject: format!("u-{id}"),
                total,
                base,
                tie_keys: vec![common::TieKey {
                    code: "base".to_owned(),
                    value: base,
                    direction: common::SortDirection::Descending as i32,
                    present: true,
                }],
                threshold_area: area.to_owned(),
                confirmed_at: Some(prost_types::Timestamp {
                    // 2024-06-30T12:00:00Z
                    seconds: 1_719_748_800,
                    nanos: 0,
                }),
                eligible: true,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// `(scope kind, rank, entries)` of each board an application is on.
async fn positions(svc: &Ranking, tenant: &str, id: &str) -> Vec<(i32, u64, u64)> {
    let me = caller(tenant, &format!("u-{id}"), Role::Applicant);
    let answer = svc
        .core()
        .get_rank(
            &me,
            pb::GetRankRequest {
                application_id: id.to_owned(),
                scope: None,
            },
        )
        .await
        .expect("rank");
    assert!(!answer.degraded, "answered from the live boards");
    answer
        .positions
        .iter()
        .map(|p| (p.scope.as_ref().map_or(0, |s| s.kind), p.rank, p.entries))
        .collect()
}

const TENANT: i32 = pb::BoardScopeKind::Tenant as i32;
const AREA: i32 = pb::BoardScopeKind::ThresholdArea as i32;

async fn suite(boards: Arc<dyn RankBoards>, tag: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = jifen_kit::config::DatabaseConfig {
        url: String::new(),
        max_connections: 4,
    };
    let db = jifen_kit::db::connect("ranking", &config, dir.path())
        .await
        .expect("database");
    jifen_kit::db::migrate::<jifen_ranking::Migrator>("ranking", &db)
        .await
        .expect("migrate");
    let urban = format!("市区-{tag}");
    let kunshan = format!("昆山-{tag}");
    let svc = Ranking::with_boards(db.clone(), boards.clone());
    svc.warm_up().await.expect("warm up");
    for (tenant, cycle, area, id, total, base) in [
        ("gusu", CYCLE_GUSU, urban.as_str(), "g1", 700, 300),
        ("gusu", CYCLE_GUSU, urban.as_str(), "g2", 560, 300),
        ("wuzhong", CYCLE_WUZHONG, urban.as_str(), "w1", 640, 300),
        ("kunshan", CYCLE_KUNSHAN, kunshan.as_str(), "k1", 650, 300),
    ] {
        let duplicate = svc
            .core()
            .deliver_event(tenant, confirmed(tenant, cycle, area, id, total, base))
            .await
            .expect("deliver");
        assert!(!duplicate);
    }
    // New cycles' boards are not ready until built; build them (as the first query would).
    svc.warm_up().await.expect("warm up");

    // 市区: g1 700 > w1 640 > g2 560 across gusu and wuzhong; each tenant board is its own.
    assert_eq!(
        positions(&svc, "wuzhong", "w1").await,
        [(TENANT, 1, 1), (AREA, 2, 3)]
    );
    assert_eq!(
        positions(&svc, "gusu", "g2").await,
        [(TENANT, 2, 2), (AREA, 3, 3)]
    );
    // 昆山 is another area: kunshan's applicant is alone, and not on 市区's board.
    assert_eq!(
        positions(&svc, "kunshan", "k1").await,
        [(TENANT, 1, 1), (AREA, 1, 1)]
    );

    // The public cut-off of the area board, asked from one tenant's cycle, counts every tenant.
    let cutoff = svc
        .core()
        .get_cutoff(pb::GetCutoffRequest {
            tenant: "wuzhong".to_owned(),
            cycle_id: CYCLE_WUZHONG.to_owned(),
            scope: Some(pb::BoardScope {
                kind: AREA,
                code: urban.clone(),
            }),
            seats: 2,
        })
        .await
        .expect("cutoff");
    assert_eq!((cutoff.entries, cutoff.cutoff), (3, 640));

    // A tenant's rebuild keeps the other tenants on the shared board.
    let admin = caller("gusu", "admin", Role::DistrictAdmin);
    svc.core()
        .rebuild_boards(&admin, pb::RebuildBoardsRequest::default())
        .await
        .expect("rebuild");
    assert_eq!(
        positions(&svc, "wuzhong", "w1").await,
        [(TENANT, 1, 1), (AREA, 2, 3)]
    );

    // A flush (or a new process with empty boards): the start-up rebuild brings the shared
    // board back from every tenant's entries.
    for tenant in ["gusu", "wuzhong", "kunshan"] {
        boards.drop_tenant(tenant).await.expect("drop");
    }
    boards.drop_area(&urban).await.expect("drop");
    let restarted = Ranking::with_boards(db.clone(), boards.clone());
    restarted.warm_up().await.expect("warm up");
    assert_eq!(
        positions(&restarted, "gusu", "g1").await,
        [(TENANT, 1, 2), (AREA, 1, 3)]
    );

    // A withdrawal leaves the shared board too.
    let withdrawn = common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        tenant: "gusu".to_owned(),
        aggregate_id: "g1".to_owned(),
        aggregate_version: 8,
        payload: Some(common::event::Payload::ApplicationStatusChanged(
            common::ApplicationStatusChanged {
                application_id: "g1".to_owned(),
                cycle_id: CYCLE_GUSU.to_owned(),
                to_status: common::ApplicationStatus::Withdrawn as i32,
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    restarted
        .core()
        .deliver_event("gusu", withdrawn)
        .await
        .expect("withdraw");
    assert_eq!(
        positions(&restarted, "wuzhong", "w1").await,
        [(TENANT, 1, 1), (AREA, 1, 2)]
    );

    for tenant in ["gusu", "wuzhong", "kunshan"] {
        boards.drop_tenant(tenant).await.expect("drop");
    }
    boards.drop_area(&urban).await.expect("drop");
    boards.drop_area(&kunshan).await.expect("drop");
}

#[tokio::test]
async fn in_process_boards_rank_settlement_within_the_threshold_area() {
    suite(Arc::new(InProcessBoards::new()), "mem").await;
}

#[tokio::test]
async fn redis_boards_rank_settlement_within_the_threshold_area() {
    let url = std::env::var("JIFEN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let conn = jifen_kit::cache::connect(&url)
        .await
        .expect("redis answers");
    let prefix = format!("jifen-test-{}:", uuid::Uuid::now_v7().simple());
    let boards: Arc<dyn RankBoards> = Arc::new(RedisBoards::new(conn, &url, &prefix));
    suite(boards, "redis").await;
}
