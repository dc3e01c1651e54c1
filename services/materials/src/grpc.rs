//! The tonic service of materials: thin, takes the verified caller and maps errors.

use jifen_kit::auth::caller;
use jifen_proto::materials::v1 as pb;
use tonic::{Request, Response, Status};

use crate::service::Materials;

#[tonic::async_trait]
impl pb::materials_service_server::MaterialsService for Materials {
    async fn create_upload(
        &self,
        request: Request<pb::CreateUploadRequest>,
    ) -> Result<Response<pb::CreateUploadResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.create_upload(&who, request.into_inner()).await?,
        ))
    }

    async fn confirm_upload(
        &self,
        request: Request<pb::ConfirmUploadRequest>,
    ) -> Result<Response<pb::Material>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.confirm_upload(&who, request.into_inner()).await?,
        ))
    }

    async fn get_download_url(
        &self,
        request: Request<pb::GetDownloadUrlRequest>,
    ) -> Result<Response<pb::GetDownloadUrlResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.get_download_url(&who, request.into_inner()).await?,
        ))
    }

    async fn get_material(
        &self,
        request: Request<pb::GetMaterialRequest>,
    ) -> Result<Response<pb::Material>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.get_material(&who, request.into_inner()).await?,
        ))
    }

    async fn list_materials(
        &self,
        request: Request<pb::ListMaterialsRequest>,
    ) -> Result<Response<pb::ListMaterialsResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.list_materials(&who, request.into_inner()).await?,
        ))
    }

    async fn replace_material(
        &self,
        request: Request<pb::ReplaceMaterialRequest>,
    ) -> Result<Response<pb::CreateUploadResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.replace_material(&who, request.into_inner()).await?,
        ))
    }

    async fn delete_material(
        &self,
        request: Request<pb::DeleteMaterialRequest>,
    ) -> Result<Response<()>, Status> {
        let who = caller(&request)?.clone();
        self.delete_material(&who, request.into_inner()).await?;
        Ok(Response::new(()))
    }

    async fn list_access_log(
        &self,
        request: Request<pb::ListAccessLogRequest>,
    ) -> Result<Response<pb::ListAccessLogResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.list_access_log(&who, request.into_inner()).await?,
        ))
    }

    async fn get_upload_policy(
        &self,
        request: Request<pb::GetUploadPolicyRequest>,
    ) -> Result<Response<pb::UploadPolicy>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.get_upload_policy(&who, request.into_inner()).await?,
        ))
    }

    async fn update_upload_policy(
        &self,
        request: Request<pb::UpdateUploadPolicyRequest>,
    ) -> Result<Response<pb::UploadPolicy>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.update_upload_policy(&who, request.into_inner())
                .await?,
        ))
    }

    async fn run_purge(
        &self,
        request: Request<pb::RunPurgeRequest>,
    ) -> Result<Response<pb::RunPurgeResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.run_purge(&who, request.into_inner()).await?,
        ))
    }

    async fn create_attachment_upload(
        &self,
        request: Request<pb::CreateAttachmentUploadRequest>,
    ) -> Result<Response<pb::CreateUploadResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.create_attachment_upload(&who, request.into_inner())
                .await?,
        ))
    }

    async fn confirm_attachment_upload(
        &self,
        request: Request<pb::ConfirmAttachmentUploadRequest>,
    ) -> Result<Response<pb::Attachment>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.confirm_attachment_upload(&who, request.into_inner())
                .await?,
        ))
    }

    async fn get_public_attachment_url(
        &self,
        request: Request<pb::GetPublicAttachmentUrlRequest>,
    ) -> Result<Response<pb::GetDownloadUrlResponse>, Status> {
        Ok(Response::new(
            self.get_public_attachment_url(request.into_inner()).await?,
        ))
    }

    async fn delete_attachment(
        &self,
        request: Request<pb::DeleteAttachmentRequest>,
    ) -> Result<Response<()>, Status> {
        let who = caller(&request)?.clone();
        self.delete_attachment(&who, request.into_inner()).await?;
        Ok(Response::new(()))
    }

    async fn deliver_event(
        &self,
        request: Request<pb::DeliverEventRequest>,
    ) -> Result<Response<pb::DeliverEventResponse>, Status> {
        let who = caller(&request)?.clone();
        Ok(Response::new(
            self.deliver_event(&who, request.into_inner()).await?,
        ))
    }
}
