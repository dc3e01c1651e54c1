//! The embedded S3 endpoint speaks real S3 through aws-sdk-s3 and checks signatures: a
//! presigned URL works as issued and is refused when tampered with.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use jifen_kit::blob::{BlobStore, tenant_key};
use jifen_kit::config::Config;
use jifen_kit::embedded_s3::EmbeddedS3;

#[tokio::test]
async fn presigned_urls_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::defaults().s3;
    let s3 = EmbeddedS3::start(
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
        &config.bucket,
        &config.access_key_id,
        &config.secret_access_key,
    )
    .await
    .expect("embedded s3 starts");
    let blob = BlobStore::new(&config, &s3.endpoint());
    blob.ensure_bucket().await.expect("bucket");

    let key = tenant_key("wuzhong", "applications/a1/m1");
    blob.client
        .put_object()
        .bucket(&blob.bucket)
        .key(&key)
        .body(ByteStream::from_static(b"%PDF-1.4 test"))
        .send()
        .await
        .expect("signed put");

    let presigned = blob
        .client
        .get_object()
        .bucket(&blob.bucket)
        .key(&key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).expect("config"))
        .await
        .expect("presign");
    let url = presigned.uri().to_owned();
    let ok = reqwest::get(&url).await.expect("get");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.bytes().await.expect("body").as_ref(), b"%PDF-1.4 test");

    let tampered = url.replace("applications/a1", "applications/a2");
    let refused = reqwest::get(&tampered).await.expect("get");
    assert_eq!(refused.status(), 403, "tampered URL must be refused");

    let wrong_secret = BlobStore::new(
        &jifen_kit::config::S3Config {
            secret_access_key: "not-the-secret".to_owned(),
            ..config.clone()
        },
        &s3.endpoint(),
    );
    let err = wrong_secret
        .client
        .get_object()
        .bucket(&blob.bucket)
        .key(&key)
        .send()
        .await;
    assert!(
        err.is_err(),
        "a request signed with the wrong secret is refused"
    );
}
