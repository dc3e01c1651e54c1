//! Object storage through aws-sdk-s3, the one code path for the embedded endpoint, AWS, MinIO,
//! Ceph and OSS. Every key of a tenant starts with `tenants/<tenant>/`.

use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};

use crate::config::S3Config;

/// A bucket and a client that can reach it.
#[derive(Debug, Clone)]
pub struct BlobStore {
    /// The S3 client.
    pub client: aws_sdk_s3::Client,
    /// The bucket holding every tenant's objects.
    pub bucket: String,
}

impl BlobStore {
    /// Builds a client for `config`, talking to `endpoint` (the configured or embedded one).
    pub fn new(config: &S3Config, endpoint: &str) -> Self {
        let credentials = Credentials::new(
            config.access_key_id.clone(),
            config.secret_access_key.clone(),
            None,
            None,
            "jifen-config",
        );
        let s3_config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .endpoint_url(endpoint)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3_config),
            bucket: config.bucket.clone(),
        }
    }

    /// Creates the bucket if it does not exist yet.
    pub async fn ensure_bucket(&self) -> Result<(), aws_sdk_s3::Error> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(aws_sdk_s3::Error::from)?;
        Ok(())
    }
}

/// Returns `tenants/<tenant>/<rest>`.
pub fn tenant_key(tenant: &str, rest: &str) -> String {
    format!("tenants/{tenant}/{rest}")
}
