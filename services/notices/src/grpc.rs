//! The tonic service of notices: thin, takes the verified caller and maps errors; the logic lives
//! in `announcements`, `templates`, `inbox` and `delivery`.

use jifen_kit::auth::caller;
use jifen_proto::notices::v1 as pb;
use tonic::{Request, Response, Status};

use crate::service::Notices;

#[tonic::async_trait]
impl pb::notices_service_server::NoticesService for Notices {
    async fn list_announcements(
        &self,
        request: Request<pb::ListAnnouncementsRequest>,
    ) -> Result<Response<pb::ListAnnouncementsResponse>, Status> {
        Ok(Response::new(
            self.handle_list_announcements(request.into_inner()).await?,
        ))
    }

    async fn get_announcement(
        &self,
        request: Request<pb::GetAnnouncementRequest>,
    ) -> Result<Response<pb::Announcement>, Status> {
        Ok(Response::new(
            self.handle_get_announcement(request.into_inner()).await?,
        ))
    }

    async fn get_feed(
        &self,
        request: Request<pb::GetFeedRequest>,
    ) -> Result<Response<pb::GetFeedResponse>, Status> {
        Ok(Response::new(
            self.handle_get_feed(request.into_inner()).await?,
        ))
    }

    async fn create_announcement(
        &self,
        request: Request<pb::CreateAnnouncementRequest>,
    ) -> Result<Response<pb::Announcement>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_create_announcement(&who, request.into_inner())
                .await?,
        ))
    }

    async fn update_announcement(
        &self,
        request: Request<pb::UpdateAnnouncementRequest>,
    ) -> Result<Response<pb::Announcement>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_update_announcement(&who, request.into_inner())
                .await?,
        ))
    }

    async fn publish_announcement(
        &self,
        request: Request<pb::PublishAnnouncementRequest>,
    ) -> Result<Response<pb::Announcement>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_publish_announcement(&who, request.into_inner())
                .await?,
        ))
    }

    async fn unpublish_announcement(
        &self,
        request: Request<pb::UnpublishAnnouncementRequest>,
    ) -> Result<Response<pb::Announcement>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_unpublish_announcement(&who, request.into_inner())
                .await?,
        ))
    }

    async fn delete_announcement(
        &self,
        request: Request<pb::DeleteAnnouncementRequest>,
    ) -> Result<Response<()>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_delete_announcement(&who, request.into_inner())
                .await?,
        ))
    }

    async fn get_managed_announcement(
        &self,
        request: Request<pb::GetManagedAnnouncementRequest>,
    ) -> Result<Response<pb::Announcement>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_get_managed_announcement(&who, request.into_inner())
                .await?,
        ))
    }

    async fn list_managed_announcements(
        &self,
        request: Request<pb::ListManagedAnnouncementsRequest>,
    ) -> Result<Response<pb::ListAnnouncementsResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_list_managed_announcements(&who, request.into_inner())
                .await?,
        ))
    }

    async fn list_inbox(
        &self,
        request: Request<pb::ListInboxRequest>,
    ) -> Result<Response<pb::ListInboxResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_list_inbox(&who, request.into_inner()).await?,
        ))
    }

    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Result<Response<pb::MarkReadResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_mark_read(&who, request.into_inner()).await?,
        ))
    }

    async fn get_preferences(
        &self,
        request: Request<pb::GetPreferencesRequest>,
    ) -> Result<Response<pb::Preferences>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(self.handle_get_preferences(&who).await?))
    }

    async fn update_preferences(
        &self,
        request: Request<pb::UpdatePreferencesRequest>,
    ) -> Result<Response<pb::Preferences>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_update_preferences(&who, request.into_inner())
                .await?,
        ))
    }

    async fn upsert_template(
        &self,
        request: Request<pb::UpsertTemplateRequest>,
    ) -> Result<Response<pb::Template>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_upsert_template(&who, request.into_inner())
                .await?,
        ))
    }

    async fn list_templates(
        &self,
        request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_list_templates(&who, request.into_inner())
                .await?,
        ))
    }

    async fn delete_template(
        &self,
        request: Request<pb::DeleteTemplateRequest>,
    ) -> Result<Response<()>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_delete_template(&who, request.into_inner())
                .await?,
        ))
    }

    async fn preview_template(
        &self,
        request: Request<pb::PreviewTemplateRequest>,
    ) -> Result<Response<pb::PreviewTemplateResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_preview_template(&who, request.into_inner())
                .await?,
        ))
    }

    async fn deliver_event(
        &self,
        request: Request<pb::DeliverEventRequest>,
    ) -> Result<Response<pb::DeliverEventResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_deliver_event(&who, request.into_inner())
                .await?,
        ))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.handle_list_deliveries(&who, request.into_inner())
                .await?,
        ))
    }
}
