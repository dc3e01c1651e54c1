//! The tonic service of ranking: thin. Each rpc takes the verified caller where it needs one,
//! calls [`Core`], and maps [`crate::error::RankingError`] to a status once.

use std::sync::Arc;

use jifen_proto::ranking::v1 as pb;
use jifen_proto::ranking::v1::ranking_service_server::RankingService;
use tonic::{Request, Response, Status};

use crate::access;
use crate::board::{InProcessBoards, RankBoards, RedisBoards};
use crate::live::{LiveBoards, Rebuilt};
use crate::state::Core;

/// The `jifen.ranking.v1.RankingService` implementation.
#[derive(Debug, Clone)]
pub struct Ranking {
    core: Core,
}

impl Ranking {
    /// Returns the service over its database and Redis (or in-process boards when `redis` is
    /// `None`), with Redis as `config` names it.
    pub fn new(
        db: sea_orm::DatabaseConnection,
        redis: Option<redis::aio::ConnectionManager>,
        config: &jifen_kit::config::RedisConfig,
    ) -> Self {
        let boards: Arc<dyn RankBoards> = match redis {
            Some(conn) => Arc::new(RedisBoards::new(conn, &config.url, &config.key_prefix)),
            None => Arc::new(InProcessBoards::new()),
        };
        Self::with_boards(db, boards)
    }

    /// Returns the service over explicit boards.
    pub fn with_boards(db: sea_orm::DatabaseConnection, boards: Arc<dyn RankBoards>) -> Self {
        Self {
            core: Core {
                live: Arc::new(LiveBoards::new(db.clone(), boards)),
                db,
            },
        }
    }

    /// Returns the handlers behind the rpcs.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Rebuilds every board that is not ready from the database (see [`crate::warm_up`]).
    pub async fn warm_up(&self) -> Result<Rebuilt, crate::error::RankingError> {
        self.core.live.warm_up().await
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn done<T>(result: Result<T, crate::error::RankingError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl RankingService for Ranking {
    async fn deliver_event(
        &self,
        req: Request<pb::DeliverEventRequest>,
    ) -> Reply<pb::DeliverEventResponse> {
        let caller = access::caller(&req)?.clone();
        access::may_deliver_events(&caller)?;
        let event = req
            .into_inner()
            .event
            .ok_or_else(|| Status::invalid_argument("event 不能为空"))?;
        done(
            self.core
                .deliver_event(&caller.tenant, event)
                .await
                .map(|duplicate| pb::DeliverEventResponse { duplicate }),
        )
    }

    async fn get_rank(&self, req: Request<pb::GetRankRequest>) -> Reply<pb::GetRankResponse> {
        let caller = access::caller(&req)?.clone();
        done(self.core.get_rank(&caller, req.into_inner()).await)
    }

    async fn get_cutoff(&self, req: Request<pb::GetCutoffRequest>) -> Reply<pb::GetCutoffResponse> {
        done(self.core.get_cutoff(req.into_inner()).await)
    }

    async fn get_distribution(
        &self,
        req: Request<pb::GetDistributionRequest>,
    ) -> Reply<pb::GetDistributionResponse> {
        done(self.core.get_distribution(req.into_inner()).await)
    }

    async fn rebuild_boards(
        &self,
        req: Request<pb::RebuildBoardsRequest>,
    ) -> Reply<pb::RebuildBoardsResponse> {
        let caller = access::caller(&req)?.clone();
        done(self.core.rebuild_boards(&caller, req.into_inner()).await)
    }

    async fn start_ranking_run(
        &self,
        req: Request<pb::StartRankingRunRequest>,
    ) -> Reply<pb::RankingRun> {
        let caller = access::caller(&req)?.clone();
        done(self.core.start_ranking_run(&caller, req.into_inner()).await)
    }

    async fn get_ranking_run(
        &self,
        req: Request<pb::GetRankingRunRequest>,
    ) -> Reply<pb::RankingRun> {
        let caller = access::caller(&req)?.clone();
        done(self.core.get_ranking_run(&caller, req.into_inner()).await)
    }

    async fn list_ranking_runs(
        &self,
        req: Request<pb::ListRankingRunsRequest>,
    ) -> Reply<pb::ListRankingRunsResponse> {
        let caller = access::caller(&req)?.clone();
        done(self.core.list_ranking_runs(&caller, req.into_inner()).await)
    }

    async fn list_run_results(
        &self,
        req: Request<pb::ListRunResultsRequest>,
    ) -> Reply<pb::ListRunResultsResponse> {
        let caller = access::caller(&req)?.clone();
        done(self.core.list_run_results(&caller, req.into_inner()).await)
    }

    async fn publish_publicity_list(
        &self,
        req: Request<pb::PublishPublicityListRequest>,
    ) -> Reply<pb::PublicityList> {
        let caller = access::caller(&req)?.clone();
        done(
            self.core
                .publish_publicity_list(&caller, req.into_inner())
                .await,
        )
    }

    async fn list_publicity_lists(
        &self,
        req: Request<pb::ListPublicityListsRequest>,
    ) -> Reply<pb::ListPublicityListsResponse> {
        done(self.core.list_publicity_lists(req.into_inner()).await)
    }

    async fn get_publicity_list(
        &self,
        req: Request<pb::GetPublicityListRequest>,
    ) -> Reply<pb::GetPublicityListResponse> {
        done(self.core.get_publicity_list(req.into_inner()).await)
    }

    async fn export_publicity_list_csv(
        &self,
        req: Request<pb::ExportPublicityListCsvRequest>,
    ) -> Reply<pb::ExportPublicityListCsvResponse> {
        done(self.core.export_publicity_list_csv(req.into_inner()).await)
    }

    async fn get_cutoff_history(
        &self,
        req: Request<pb::GetCutoffHistoryRequest>,
    ) -> Reply<pb::GetCutoffHistoryResponse> {
        done(self.core.get_cutoff_history(req.into_inner()).await)
    }
}
