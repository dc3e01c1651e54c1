//! Ranking end to end on real PostgreSQL and Redis: review's events in, live ranks out; a
//! duplicated event counts once; a withdrawal leaves; official runs reproduce their hashes;
//! publicity lists are masked with a checkable content hash and CSV; flushing Redis mid-season
//! keeps every answer right while the boards rebuild.
//!
//! Public rpcs go over gRPC to a started jifen. Rpcs that need a verified caller (event intake,
//! GetRank, runs, publishing) are called on a second service instance over the same database
//! and Redis prefix, with the `Caller` placed in the request extensions as the auth layer would.

use std::time::{Duration, Instant};

use jifen::target::Target;
use jifen::testkit::{Backend, TestJifen};
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::ranking::v1 as pb;
use jifen_proto::ranking::v1::ranking_service_client::RankingServiceClient;
use jifen_proto::ranking::v1::ranking_service_server::RankingService;
use jifen_ranking::Ranking;
use sha2::Digest;

const CYCLE: &str = "2024-school";

struct Env {
    jifen: TestJifen,
    svc: Ranking,
    tenant: String,
    redis: Option<redis::aio::ConnectionManager>,
}

impl Env {
    async fn start(backend: Backend) -> Self {
        let jifen = TestJifen::start(&[Target::Ranking], backend).await;
        let db = jifen_kit::db::connect("ranking", &jifen.config.database, jifen.data_dir.path())
            .await
            .expect("ranking database");
        let redis = if backend == Backend::Real {
            Some(
                jifen_kit::cache::connect(&jifen.config.redis.url)
                    .await
                    .expect("redis"),
            )
        } else {
            None
        };
        let svc = Ranking::new(db, redis.clone(), &jifen.config.redis);
        let tenant = format!("t{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        Self {
            jifen,
            svc,
            tenant,
            redis,
        }
    }

    fn caller(&self, subject: &str, role: Role) -> Caller {
        Caller {
            tenant: self.tenant.clone(),
            subject: subject.to_owned(),
            roles: vec![role],
            street: None,
            department: None,
            session: None,
            home_tenant: None,
        }
    }

    fn request<T>(&self, subject: &str, role: Role, body: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(body);
        req.extensions_mut().insert(self.caller(subject, role));
        req
    }

    fn client(&self) -> RankingServiceClient<jifen_kit::grpc_client::PeerChannel> {
        RankingServiceClient::new(self.jifen.channel())
    }

    async fn deliver(&self, event: common::Event) -> bool {
        self.svc
            .deliver_event(self.request(
                "review",
                Role::System,
                pb::DeliverEventRequest { event: Some(event) },
            ))
            .await
            .expect("event delivered")
            .into_inner()
            .duplicate
    }

    async fn rank(
        &self,
        subject: &str,
        application_id: &str,
    ) -> Result<pb::GetRankResponse, tonic::Status> {
        self.svc
            .get_rank(self.request(
                subject,
                Role::Applicant,
                pb::GetRankRequest {
                    application_id: application_id.to_owned(),
                    scope: None,
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Asks the public cut-off over gRPC; in the embedded mode, whose in-process boards live in
    /// one process, the same instance that took the events answers.
    async fn cutoff(&self, seats: u64) -> pb::GetCutoffResponse {
        let req = pb::GetCutoffRequest {
            tenant: self.tenant.clone(),
            cycle_id: CYCLE.to_owned(),
            scope: None,
            seats,
        };
        let answer = if self.redis.is_some() {
            self.client().get_cutoff(req).await
        } else {
            self.svc.get_cutoff(tonic::Request::new(req)).await
        };
        answer.expect("public cut-off").into_inner()
    }

    fn ready_key(&self) -> String {
        format!(
            "{}board:{{t:{}}}:{CYCLE}:tenant:ready",
            self.jifen.config.redis.key_prefix, self.tenant
        )
    }

    async fn board_ready(&self) -> bool {
        let mut conn = self.redis.clone().expect("redis");
        redis::cmd("EXISTS")
            .arg(self.ready_key())
            .query_async::<bool>(&mut conn)
            .await
            .expect("exists")
    }

    /// Deletes this test's board keys (SCAN + DEL on its own prefix; the shared Redis is not
    /// flushed).
    async fn flush_boards(&self) -> u64 {
        let mut conn = self.redis.clone().expect("redis");
        let pattern = format!(
            "{}board:{{t:{}}}:*",
            self.jifen.config.redis.key_prefix, self.tenant
        );
        let mut cursor = 0u64;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .expect("scan");
            if !keys.is_empty() {
                deleted += redis::cmd("DEL")
                    .arg(&keys)
                    .query_async::<u64>(&mut conn)
                    .await
                    .expect("del");
            }
            if next == 0 {
                return deleted;
            }
            cursor = next;
        }
    }
}

fn tie(code: &str, value: i64, direction: common::SortDirection) -> common::TieKey {
    common::TieKey {
        code: code.to_owned(),
        value,
        direction: direction as i32,
        present: true,
    }
}

struct Family<'a> {
    id: &'a str,
    name: &'a str,
    total: i64,
    base: i64,
    other_parent: i64,
    prefs: &'a [&'a str],
}

fn confirmed(tenant: &str, f: &Family<'_>, version: i64) -> common::Event {
    use common::SortDirection::{Ascending, Descending};
    common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: "review.score_confirmed".to_owned(),
        tenant: tenant.to_owned(),
        occurred_at: None,
        aggregate_id: f.id.to_owned(),
        aggregate_version: version,
        traceparent: String::new(),
        payload: Some(common::event::Payload::ScoreConfirmed(
            common::ScoreConfirmed {
                application_id: f.id.to_owned(),
                application_number: format!("WZ-2024-SCH-{}", f.id.to_uppercase()),
                cycle_id: CYCLE.to_owned(),
                benefit: "school".to_owned(),
                applicant_subject: format!("u-{}", f.id),
                applicant: Some(common::MaskedPerson {
                    name_masked: f.name.to_owned(),
                    id_number_masked: "320502199001011234".to_owned(),
                    mobile_masked: String::new(),
                }),
                total: f.total,
                base: f.base,
                tie_keys: vec![
                    tie("base", f.base, Descending),
                    tie("other_parent_total", f.other_parent, Descending),
                    tie("residence_registered_on", 738_000, Ascending),
                ],
                school_preferences: f.prefs.iter().map(|s| (*s).to_owned()).collect(),
                street_code: "a1".to_owned(),
                eligible: true,
                ..Default::default()
            },
        )),
    }
}

fn status_changed(
    tenant: &str,
    id: &str,
    to: common::ApplicationStatus,
    version: i64,
) -> common::Event {
    common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: "review.application_status_changed".to_owned(),
        tenant: tenant.to_owned(),
        aggregate_id: id.to_owned(),
        aggregate_version: version,
        payload: Some(common::event::Payload::ApplicationStatusChanged(
            common::ApplicationStatusChanged {
                application_id: id.to_owned(),
                cycle_id: CYCLE.to_owned(),
                to_status: to as i32,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// Worked example B's three families on 684, ordered by base, then the other parent's total:
/// F2 (base 560), F1 (540, other parent 522), F3 (540, 480); F4 with 700 ranks first.
const EXAMPLE_B: [Family<'static>; 4] = [
    Family {
        id: "f1",
        name: "张三丰",
        total: 684,
        base: 540,
        other_parent: 522,
        prefs: &["s1"],
    },
    Family {
        id: "f2",
        name: "李四",
        total: 684,
        base: 560,
        other_parent: 410,
        prefs: &["s1"],
    },
    Family {
        id: "f3",
        name: "王小五",
        total: 684,
        base: 540,
        other_parent: 480,
        prefs: &["s2"],
    },
    Family {
        id: "f4",
        name: "欧阳娜娜",
        total: 700,
        base: 500,
        other_parent: 0,
        prefs: &["s2"],
    },
];

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn events_in_ranks_out(backend: Backend) {
    let env = Env::start(backend).await;
    for f in &EXAMPLE_B {
        assert!(!env.deliver(confirmed(&env.tenant, f, 1)).await);
    }
    let mut order = Vec::new();
    for f in &EXAMPLE_B {
        let rank = env
            .rank(&format!("u-{}", f.id), f.id)
            .await
            .expect("own rank");
        assert!(rank.provisional);
        let tenant_board = &rank.positions[0];
        order.push((tenant_board.rank, f.id));
    }
    order.sort();
    let order: Vec<&str> = order.into_iter().map(|(_, id)| id).collect();
    assert_eq!(order, ["f4", "f2", "f1", "f3"]);

    let f1 = env.rank("u-f1", "f1").await.expect("own rank");
    let board = &f1.positions[0];
    assert_eq!(
        (
            board.rank,
            board.entries,
            board.above,
            board.below,
            board.tied_on_total
        ),
        (3, 4, 2, 1, 2)
    );
    assert_eq!(board.total, 684);
    // f1 is also on the board of its preferred school s1, behind f2.
    let s1 = f1
        .positions
        .iter()
        .find(|p| p.scope.as_ref().is_some_and(|s| s.code == "s1"))
        .expect("school board");
    assert_eq!((s1.rank, s1.entries), (2, 2));

    // Applicants see only their own application.
    let other = env.rank("u-f1", "f2").await.expect_err("not mine");
    assert_eq!(other.code(), tonic::Code::NotFound);

    // A duplicated event counts once; an older version is ignored.
    let again = confirmed(&env.tenant, &EXAMPLE_B[0], 2);
    assert!(!env.deliver(again.clone()).await);
    assert!(env.deliver(again).await, "redelivery is a duplicate");
    let stale = Family {
        total: 999,
        ..EXAMPLE_B[0]
    };
    assert!(
        env.deliver(confirmed(&env.tenant, &stale, 1)).await,
        "stale version"
    );
    let cut = env.cutoff(3).await;
    assert_eq!((cut.entries, cut.cutoff, cut.at_or_above), (4, 684, 4));

    // A withdrawal leaves the boards.
    assert!(
        !env.deliver(status_changed(
            &env.tenant,
            "f2",
            common::ApplicationStatus::Withdrawn,
            3
        ))
        .await
    );
    let gone = env.rank("u-f2", "f2").await.expect_err("withdrawn");
    assert_eq!(gone.code(), tonic::Code::NotFound);
    let f1 = env.rank("u-f1", "f1").await.expect("own rank");
    assert_eq!((f1.positions[0].rank, f1.positions[0].entries), (2, 3));
    assert_eq!(env.cutoff(0).await.entries, 3);
    env.jifen.stop().await;
}

#[tokio::test]
async fn events_in_ranks_out_on_postgres_and_redis() {
    events_in_ranks_out(Backend::Real).await;
}

#[tokio::test]
async fn events_in_ranks_out_embedded() {
    events_in_ranks_out(Backend::Embedded).await;
}

fn seat_plan() -> pb::SeatPlan {
    let school = |code: &str, seats: u32, name: &str| pb::SchoolSeats {
        school_code: code.to_owned(),
        district: String::new(),
        service_areas: vec!["a1".to_owned()],
        seats,
        name_zh: name.to_owned(),
    };
    pb::SeatPlan {
        schools: vec![school("s1", 1, "吴中实验小学"), school("s2", 1, "东吴小学")],
        district_min_totals: Default::default(),
    }
}

#[tokio::test]
async fn official_runs_reproduce_and_publish_masked_lists() {
    let env = Env::start(Backend::Real).await;
    for f in &EXAMPLE_B {
        env.deliver(confirmed(&env.tenant, f, 1)).await;
    }
    let mut plan = seat_plan();
    for s in &mut plan.schools {
        s.district = env.tenant.clone();
    }
    let start = |key: &str| pb::StartRankingRunRequest {
        cycle_id: CYCLE.to_owned(),
        parameters: Some(pb::RunParameters {
            mode: pb::RunMode::Seats as i32,
            seat_plan: Some(plan.clone()),
            ..Default::default()
        }),
        idempotency_key: key.to_owned(),
    };
    let refused = env
        .svc
        .start_ranking_run(env.request("u-f1", Role::Applicant, start("")))
        .await
        .expect_err("applicants cannot run");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let run = |key: &'static str| {
        let req = env.request("admin", Role::DistrictAdmin, start(key));
        async {
            env.svc
                .start_ranking_run(req)
                .await
                .expect("run")
                .into_inner()
        }
    };
    let first = run("run-1").await;
    let second = run("run-2").await;
    let replay = run("run-1").await;
    assert_ne!(first.run_id, second.run_id);
    assert_eq!(replay.run_id, first.run_id, "idempotency key");
    assert_eq!(first.inputs_hash, second.inputs_hash);
    assert_eq!(first.results_hash, second.results_hash);
    assert!(first.inputs_hash.starts_with("sha256:"));
    assert_eq!((first.entries, first.admitted), (4, 2));
    assert_eq!(first.status, pb::RunStatus::Completed as i32);

    let results = env
        .svc
        .list_run_results(env.request(
            "rev",
            Role::DistrictReviewer,
            pb::ListRunResultsRequest {
                run_id: first.run_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("results")
        .into_inner()
        .results;
    let ranked: Vec<&str> = results.iter().map(|r| r.application_id.as_str()).collect();
    assert_eq!(ranked, ["f4", "f2", "f1", "f3"]);
    assert_eq!(results[0].allocated_school, "s2");
    assert_eq!(results[1].allocated_school, "s1");

    // The provisional cut-off now follows the run's seats (2 in the district).
    let cut = env.cutoff(0).await;
    assert_eq!((cut.seats, cut.cutoff), (2, 684));

    let list = env
        .svc
        .publish_publicity_list(env.request(
            "admin",
            Role::DistrictAdmin,
            pb::PublishPublicityListRequest {
                run_id: first.run_id.clone(),
                title_zh: "2024 年积分入学第一批录取名单公示".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(list.entry_count, 4);
    let again = env
        .svc
        .publish_publicity_list(env.request(
            "admin",
            Role::DistrictAdmin,
            pb::PublishPublicityListRequest {
                run_id: first.run_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("a run is published once");
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);

    // Public reads over gRPC: masked rows, search, CSV whose SHA-256 is the content hash.
    let mut client = env.client();
    let found = client
        .get_publicity_list(pb::GetPublicityListRequest {
            tenant: env.tenant.clone(),
            list_id: list.list_id.clone(),
            query: "张三丰".to_owned(),
            ..Default::default()
        })
        .await
        .expect("public list")
        .into_inner();
    assert_eq!(
        found.list.as_ref().map(|l| l.content_hash.as_str()),
        Some(list.content_hash.as_str())
    );
    assert_eq!(found.entries.len(), 1);
    let row = &found.entries[0];
    assert_eq!((row.name_masked.as_str(), row.rank), ("张*丰", 3));
    assert_eq!(row.id_number_masked, "3205**********1234");
    assert_eq!(row.outcome, common::ListOutcome::NotAdmitted as i32);
    let csv = client
        .export_publicity_list_csv(pb::ExportPublicityListCsvRequest {
            tenant: env.tenant.clone(),
            list_id: list.list_id.clone(),
        })
        .await
        .expect("csv")
        .into_inner();
    assert!(
        csv.csv
            .starts_with("排名,申请编号,姓名,身份证号,总积分,结果,学校\n")
    );
    assert!(csv.csv.contains("欧**娜") && !csv.csv.contains("欧阳娜娜"));
    assert!(csv.csv.contains("东吴小学"));
    let digest = hex::encode(sha2::Sha256::digest(csv.csv.as_bytes()));
    assert_eq!(csv.content_hash, format!("sha256:{digest}"));
    assert_eq!(list.content_hash, csv.content_hash);

    let lists = client
        .list_publicity_lists(pb::ListPublicityListsRequest {
            tenant: env.tenant.clone(),
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner()
        .lists;
    assert_eq!(lists.len(), 1);
    let history = client
        .get_cutoff_history(pb::GetCutoffHistoryRequest {
            tenant: env.tenant.clone(),
            benefit: "school".to_owned(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .records;
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].cutoff, history[0].seats, history[0].admitted),
        (684, 2, 2)
    );
    let run = env
        .svc
        .get_ranking_run(env.request(
            "admin",
            Role::DistrictAdmin,
            pb::GetRankingRunRequest {
                run_id: first.run_id.clone(),
            },
        ))
        .await
        .expect("run")
        .into_inner();
    assert_eq!(run.status, pb::RunStatus::Published as i32);
    assert_eq!(run.publicity_list_id, list.list_id);
    env.jifen.stop().await;
}

#[tokio::test]
async fn flushing_redis_mid_season_keeps_answers_right_and_rebuilds() {
    let env = Env::start(Backend::Real).await;
    let families: Vec<Family<'_>> = (0..60)
        .map(|i| Family {
            id: Box::leak(format!("a{i:03}").into_boxed_str()),
            name: "赵钱孙",
            total: 600 + (i % 7) * 10,
            base: 500 + (i % 3),
            other_parent: i % 2,
            prefs: &["s1"],
        })
        .collect();
    for f in &families {
        env.deliver(confirmed(&env.tenant, f, 1)).await;
    }
    let rebuilt = env
        .svc
        .rebuild_boards(env.request(
            "admin",
            Role::DistrictAdmin,
            pb::RebuildBoardsRequest::default(),
        ))
        .await
        .expect("rebuild")
        .into_inner();
    assert_eq!((rebuilt.boards, rebuilt.entries), (2, 120));
    let live = env.cutoff(25).await;
    assert!(!live.degraded);
    let rank = env.rank("u-a017", "a017").await.expect("rank");
    assert!(!rank.degraded);

    // FLUSHDB, as far as this test's keys go.
    assert!(env.flush_boards().await > 0);
    assert!(!env.board_ready().await);

    // Right answers throughout: the ones this process kept until Redis's report of the deletion
    // arrives (a fraction of a millisecond), then the database's while the board is rebuilt.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut during = env.cutoff(25).await;
    while !during.degraded {
        assert_eq!(
            (during.cutoff, during.entries, during.at_or_above),
            (live.cutoff, live.entries, live.at_or_above)
        );
        assert!(
            Instant::now() < deadline,
            "never answered from the database"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
        during = env.cutoff(25).await;
    }
    assert_eq!(
        (during.cutoff, during.entries, during.at_or_above),
        (live.cutoff, live.entries, live.at_or_above)
    );
    let rank_during = env
        .rank("u-a017", "a017")
        .await
        .expect("rank during rebuild");
    assert_eq!(rank_during.positions, rank.positions);

    wait_until("board rebuilt", || env.board_ready()).await;
    let after = env.cutoff(25).await;
    assert!(!after.degraded);
    assert_eq!((after.cutoff, after.entries), (live.cutoff, live.entries));
    // Events keep flowing onto the rebuilt board.
    let newcomer = Family {
        id: "z999",
        name: "周吴",
        total: 990,
        base: 1,
        other_parent: 0,
        prefs: &[],
    };
    env.deliver(confirmed(&env.tenant, &newcomer, 1)).await;
    wait_until("second instance's board rebuilt", || async {
        !env.rank("u-z999", "z999").await.expect("rank").degraded
    })
    .await;
    let top = env.rank("u-z999", "z999").await.expect("rank");
    assert_eq!((top.positions[0].rank, top.positions[0].entries), (1, 61));
    let dist = env
        .client()
        .get_distribution(pb::GetDistributionRequest {
            tenant: env.tenant.clone(),
            cycle_id: CYCLE.to_owned(),
            scope: None,
            bucket_width: 10,
        })
        .await
        .expect("distribution")
        .into_inner();
    let histogram = dist.histogram.expect("histogram");
    assert_eq!((histogram.count, histogram.max), (61, 990));
    env.jifen.stop().await;
}

/// Two ranking replicas on one database and one Redis: what one keeps of an entry (here the
/// tie-breakers its GetRank shows) follows the other replica's change as soon as Redis reports
/// the board write, well before the entry's two-second expiry.
#[tokio::test]
async fn another_replicas_change_shows_at_once() {
    let env = Env::start(Backend::Real).await;
    let mut family = Family {
        id: "r001",
        name: "赵钱孙",
        total: 650,
        base: 500,
        other_parent: 0,
        prefs: &["s1"],
    };
    env.deliver(confirmed(&env.tenant, &family, 1)).await;
    env.svc
        .rebuild_boards(env.request(
            "admin",
            Role::DistrictAdmin,
            pb::RebuildBoardsRequest::default(),
        ))
        .await
        .expect("rebuild");
    let db = jifen_kit::db::connect(
        "ranking",
        &env.jifen.config.database,
        env.jifen.data_dir.path(),
    )
    .await
    .expect("second replica's database");
    let other = Ranking::new(db, env.redis.clone(), &env.jifen.config.redis);

    let other_parent = |r: &pb::GetRankResponse| {
        r.positions[0]
            .tie_keys
            .iter()
            .find(|k| k.code == "other_parent_total")
            .map(|k| k.value)
    };
    let boards = env.svc.core().live.boards().clone();
    let this = &env;
    wait_until("this replica follows Redis's reports", || {
        let boards = boards.clone();
        async move {
            this.rank("u-r001", "r001").await.expect("rank");
            boards.change_mark(&this.tenant).is_some()
        }
    })
    .await;
    for _ in 0..3 {
        let kept = env.rank("u-r001", "r001").await.expect("rank");
        assert_eq!(other_parent(&kept), Some(0));
    }

    family.other_parent = 7;
    other
        .deliver_event(env.request(
            "review",
            Role::System,
            pb::DeliverEventRequest {
                event: Some(confirmed(&env.tenant, &family, 2)),
            },
        ))
        .await
        .expect("the other replica takes the change");
    let started = Instant::now();
    loop {
        let now = env.rank("u-r001", "r001").await.expect("rank");
        if other_parent(&now) == Some(7) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "still the old entry after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    env.jifen.stop().await;
}
