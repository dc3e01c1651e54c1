//! The tonic service of review: thin, takes the verified caller from the request, calls the
//! workflow in `service/`, and maps [`ReviewError`] to a status once.

use jifen_kit::auth;
use jifen_proto::review::v1 as pb;
use tonic::{Request, Response, Status};

use crate::error::ReviewError;
use crate::service::Review;

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, ReviewError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl pb::review_service_server::ReviewService for Review {
    async fn create_cycle(&self, req: Request<pb::CreateCycleRequest>) -> Reply<pb::Cycle> {
        let caller = auth::caller(&req)?.clone();
        reply(self.create_cycle(&caller, req.into_inner()).await)
    }

    async fn update_cycle(&self, req: Request<pb::UpdateCycleRequest>) -> Reply<pb::Cycle> {
        let caller = auth::caller(&req)?.clone();
        reply(self.update_cycle(&caller, req.into_inner()).await)
    }

    async fn get_cycle(&self, req: Request<pb::GetCycleRequest>) -> Reply<pb::Cycle> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_cycle(&caller, req.into_inner()).await)
    }

    async fn list_cycles(
        &self,
        req: Request<pb::ListCyclesRequest>,
    ) -> Reply<pb::ListCyclesResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.list_cycles(&caller, req.into_inner()).await)
    }

    async fn open_cycle(&self, req: Request<pb::OpenCycleRequest>) -> Reply<pb::Cycle> {
        let caller = auth::caller(&req)?.clone();
        reply(self.open_cycle(&caller, req.into_inner()).await)
    }

    async fn close_cycle(&self, req: Request<pb::CloseCycleRequest>) -> Reply<pb::Cycle> {
        let caller = auth::caller(&req)?.clone();
        reply(self.close_cycle(&caller, req.into_inner()).await)
    }

    async fn get_sla_policy(&self, req: Request<pb::GetSlaPolicyRequest>) -> Reply<pb::SlaPolicy> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_sla_policy(&caller, req.into_inner()).await)
    }

    async fn update_sla_policy(
        &self,
        req: Request<pb::UpdateSlaPolicyRequest>,
    ) -> Reply<pb::SlaPolicy> {
        let caller = auth::caller(&req)?.clone();
        reply(self.update_sla_policy(&caller, req.into_inner()).await)
    }

    async fn get_working_calendar(
        &self,
        req: Request<pb::GetWorkingCalendarRequest>,
    ) -> Reply<pb::WorkingCalendar> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_working_calendar(&caller, req.into_inner()).await)
    }

    async fn update_working_calendar(
        &self,
        req: Request<pb::UpdateWorkingCalendarRequest>,
    ) -> Reply<pb::WorkingCalendar> {
        let caller = auth::caller(&req)?.clone();
        reply(
            self.update_working_calendar(&caller, req.into_inner())
                .await,
        )
    }

    async fn create_draft(&self, req: Request<pb::CreateDraftRequest>) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        let bearer = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        reply(
            self.create_draft(&caller, req.into_inner(), bearer.as_deref())
                .await,
        )
    }

    async fn update_draft(&self, req: Request<pb::UpdateDraftRequest>) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.update_draft(&caller, req.into_inner()).await)
    }

    async fn save_claims(&self, req: Request<pb::SaveClaimsRequest>) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.save_claims(&caller, req.into_inner()).await)
    }

    async fn submit(&self, req: Request<pb::SubmitRequest>) -> Reply<pb::SubmitResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.submit(&caller, req.into_inner()).await)
    }

    async fn withdraw(&self, req: Request<pb::WithdrawRequest>) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.withdraw(&caller, req.into_inner()).await)
    }

    async fn get_application(
        &self,
        req: Request<pb::GetApplicationRequest>,
    ) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_application(&caller, req.into_inner()).await)
    }

    async fn list_my_applications(
        &self,
        req: Request<pb::ListMyApplicationsRequest>,
    ) -> Reply<pb::ListApplicationsResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.list_my_applications(&caller, req.into_inner()).await)
    }

    async fn get_timeline(
        &self,
        req: Request<pb::GetTimelineRequest>,
    ) -> Reply<pb::GetTimelineResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_timeline(&caller, req.into_inner()).await)
    }

    async fn confirm_score(&self, req: Request<pb::ConfirmScoreRequest>) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.confirm_score(&caller, req.into_inner()).await)
    }

    async fn file_objection(&self, req: Request<pb::FileObjectionRequest>) -> Reply<pb::Objection> {
        let caller = auth::caller(&req)?.clone();
        reply(self.file_objection(&caller, req.into_inner()).await)
    }

    async fn list_queue(&self, req: Request<pb::ListQueueRequest>) -> Reply<pb::ListQueueResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.list_queue(&caller, req.into_inner()).await)
    }

    async fn list_applications(
        &self,
        req: Request<pb::ListApplicationsRequest>,
    ) -> Reply<pb::ListApplicationsResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.list_applications(&caller, req.into_inner()).await)
    }

    async fn claim_application(
        &self,
        req: Request<pb::ClaimApplicationRequest>,
    ) -> Reply<pb::QueueItem> {
        let caller = auth::caller(&req)?.clone();
        reply(self.claim_application(&caller, req.into_inner()).await)
    }

    async fn release_application(
        &self,
        req: Request<pb::ReleaseApplicationRequest>,
    ) -> Reply<pb::QueueItem> {
        let caller = auth::caller(&req)?.clone();
        reply(self.release_application(&caller, req.into_inner()).await)
    }

    async fn approve_application(
        &self,
        req: Request<pb::ApproveApplicationRequest>,
    ) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.approve_application(&caller, req.into_inner()).await)
    }

    async fn return_application(
        &self,
        req: Request<pb::ReturnApplicationRequest>,
    ) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.return_application(&caller, req.into_inner()).await)
    }

    async fn reject_application(
        &self,
        req: Request<pb::RejectApplicationRequest>,
    ) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.reject_application(&caller, req.into_inner()).await)
    }

    async fn decide_gate(&self, req: Request<pb::DecideGateRequest>) -> Reply<pb::Application> {
        let caller = auth::caller(&req)?.clone();
        reply(self.decide_gate(&caller, req.into_inner()).await)
    }

    async fn list_verification_tasks(
        &self,
        req: Request<pb::ListVerificationTasksRequest>,
    ) -> Reply<pb::ListVerificationTasksResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(
            self.list_verification_tasks(&caller, req.into_inner())
                .await,
        )
    }

    async fn get_verification_task(
        &self,
        req: Request<pb::GetVerificationTaskRequest>,
    ) -> Reply<pb::VerificationTask> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_verification_task(&caller, req.into_inner()).await)
    }

    async fn claim_verification_task(
        &self,
        req: Request<pb::ClaimVerificationTaskRequest>,
    ) -> Reply<pb::VerificationTask> {
        let caller = auth::caller(&req)?.clone();
        reply(
            self.claim_verification_task(&caller, req.into_inner())
                .await,
        )
    }

    async fn release_verification_task(
        &self,
        req: Request<pb::ReleaseVerificationTaskRequest>,
    ) -> Reply<pb::VerificationTask> {
        let caller = auth::caller(&req)?.clone();
        reply(
            self.release_verification_task(&caller, req.into_inner())
                .await,
        )
    }

    async fn complete_verification(
        &self,
        req: Request<pb::CompleteVerificationRequest>,
    ) -> Reply<pb::VerificationTask> {
        let caller = auth::caller(&req)?.clone();
        reply(self.complete_verification(&caller, req.into_inner()).await)
    }

    async fn get_objection(&self, req: Request<pb::GetObjectionRequest>) -> Reply<pb::Objection> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_objection(&caller, req.into_inner()).await)
    }

    async fn list_objections(
        &self,
        req: Request<pb::ListObjectionsRequest>,
    ) -> Reply<pb::ListObjectionsResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.list_objections(&caller, req.into_inner()).await)
    }

    async fn decide_objection(
        &self,
        req: Request<pb::DecideObjectionRequest>,
    ) -> Reply<pb::Objection> {
        let caller = auth::caller(&req)?.clone();
        reply(self.decide_objection(&caller, req.into_inner()).await)
    }

    async fn get_audit_trail(
        &self,
        req: Request<pb::GetAuditTrailRequest>,
    ) -> Reply<pb::GetAuditTrailResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.get_audit_trail(&caller, req.into_inner()).await)
    }

    async fn verify_audit_trail(
        &self,
        req: Request<pb::VerifyAuditTrailRequest>,
    ) -> Reply<pb::VerifyAuditTrailResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.verify_audit_trail(&caller, req.into_inner()).await)
    }

    async fn deliver_event(
        &self,
        req: Request<pb::DeliverEventRequest>,
    ) -> Reply<pb::DeliverEventResponse> {
        let caller = auth::caller(&req)?.clone();
        reply(self.deliver_event(&caller, req.into_inner()).await)
    }

    async fn list_public_cycles(
        &self,
        req: Request<pb::ListPublicCyclesRequest>,
    ) -> Reply<pb::ListCyclesResponse> {
        reply(self.list_public_cycles(req.into_inner()).await)
    }
}
