//! The object store as materials uses it: presigned PUT/GET, a ranged read for size and magic
//! bytes, the stored checksum, a streaming SHA-256, delete, and whether the store refuses bytes
//! that do not match their checksum. One code path (aws-sdk-s3) for the embedded endpoint and any
//! S3.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::ChecksumMode;
use base64::Engine as _;
use chrono::Utc;
use jifen_kit::blob::BlobStore;
use jifen_proto::materials::v1::PresignedRequest;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::error::MaterialsError;

/// What a ranged read of an object's first bytes tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prefix {
    /// The whole object's size in bytes.
    pub(crate) size: u64,
    /// Its first bytes (all of them when it is shorter than asked).
    pub(crate) bytes: Vec<u8>,
}

/// Presigns and inspects objects in one bucket.
#[derive(Debug, Clone)]
pub(crate) struct Objects {
    blob: BlobStore,
    /// Whether the store refuses bytes that do not match their checksum and keeps nothing of
    /// them, once known (see [`Objects::refuses_bad_checksums`]).
    refuses_bad_checksums: Arc<OnceCell<bool>>,
}

/// Where the checksum probe writes (never under `tenants/`, and nothing stays).
const PROBE_PREFIX: &str = "jifen/probes/checksum-";

/// Returns the base64 form of a hex SHA-256, as `x-amz-checksum-sha256` carries it.
pub(crate) fn sha256_base64(hex_digest: &str) -> Result<String, MaterialsError> {
    let raw = hex::decode(hex_digest).map_err(MaterialsError::storage)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(raw))
}

fn ttl(seconds: u32) -> Result<PresigningConfig, MaterialsError> {
    PresigningConfig::expires_in(Duration::from_secs(u64::from(seconds.max(1))))
        .map_err(MaterialsError::storage)
}

fn expires_at(seconds: u32) -> prost_types::Timestamp {
    let at = Utc::now() + chrono::Duration::seconds(i64::from(seconds.max(1)));
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// Returns `inline; filename*=UTF-8''…` (RFC 6266 / 5987) for a file name.
pub(crate) fn content_disposition(attachment: bool, file_name: &str) -> String {
    let mut encoded = String::new();
    for byte in file_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let kind = if attachment { "attachment" } else { "inline" };
    format!("{kind}; filename*=UTF-8''{encoded}")
}

impl Objects {
    /// Returns the store over `blob`.
    pub(crate) fn new(blob: BlobStore) -> Self {
        Self {
            blob,
            refuses_bad_checksums: Arc::new(OnceCell::new()),
        }
    }

    /// Returns the same store, known not to be relied on to refuse mismatched bytes.
    pub(crate) fn checking_checksums_itself(self) -> Self {
        Self {
            refuses_bad_checksums: Arc::new(OnceCell::new_with(Some(false))),
            ..self
        }
    }

    /// Returns whether the store refuses a PUT whose bytes do not match its
    /// `x-amz-checksum-sha256` and keeps nothing of it, as S3, MinIO and the embedded store do;
    /// a store that ignores the header (some S3-compatible stores) or keeps the bytes does not.
    /// Found out once per process by trying: a PUT of bytes with another checksum under
    /// [`PROBE_PREFIX`], then a look for what it left (removed if anything). One probe at a time:
    /// confirmations arriving meanwhile wait for its answer. False when the store answers with
    /// anything but a refusal, and when the probe fails (the confirmation that probed checks the
    /// checksum itself; the next one waiting probes again).
    pub(crate) async fn refuses_bad_checksums(&self) -> bool {
        let answer = self
            .refuses_bad_checksums
            .get_or_try_init(|| async {
                let answer = self.probe_checksums().await?;
                tracing::info!(
                    refuses_bad_checksums = answer,
                    "object store checksum probe answered"
                );
                Ok::<_, MaterialsError>(answer)
            })
            .await;
        match answer {
            Ok(answer) => *answer,
            Err(err) => {
                tracing::warn!(error = %err, "object store checksum probe failed: checking checksums here until it answers");
                false
            }
        }
    }

    async fn probe_checksums(&self) -> Result<bool, MaterialsError> {
        let key = format!("{PROBE_PREFIX}{}", uuid::Uuid::now_v7());
        let other = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"other"));
        let put = self
            .blob
            .client
            .put_object()
            .bucket(&self.blob.bucket)
            .key(&key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"jifen"))
            .checksum_sha256(other)
            .send()
            .await;
        let refused = match put {
            Ok(_) => false,
            Err(err) => match err.raw_response().map(|r| r.status().as_u16()) {
                Some(400) => true,
                // Not allowed there, say: the store answered, and not with a refusal.
                Some(status) if status < 500 => return Ok(false),
                _ => return Err(MaterialsError::storage(aws_sdk_s3::Error::from(err))),
            },
        };
        let kept = self.read_prefix(&key, 1).await?.is_some();
        if kept {
            self.delete(&key).await?;
        }
        Ok(refused && !kept)
    }

    /// Returns a presigned PUT that only accepts exactly `size` bytes of `content_type` whose
    /// SHA-256 is `sha256_hex`, and only while no object exists at `key`: all four travel in
    /// signed headers (`If-None-Match: *` included), so the store refuses any other length, type
    /// or content, and a second write through the same URL cannot replace what was confirmed.
    pub(crate) async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        sha256_hex: &str,
        ttl_seconds: u32,
    ) -> Result<PresignedRequest, MaterialsError> {
        let presigned = self
            .blob
            .client
            .put_object()
            .bucket(&self.blob.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).map_err(MaterialsError::storage)?)
            .checksum_sha256(sha256_base64(sha256_hex)?)
            .if_none_match("*")
            .presigned(ttl(ttl_seconds)?)
            .await
            .map_err(MaterialsError::storage)?;
        let mut headers: HashMap<String, String> = presigned
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        // Browsers set Content-Length themselves; say it anyway so clients know it is bound.
        headers
            .entry("content-length".to_owned())
            .or_insert_with(|| size.to_string());
        Ok(PresignedRequest {
            method: "PUT".to_owned(),
            url: presigned.uri().to_owned(),
            headers,
            expires_at: Some(expires_at(ttl_seconds)),
        })
    }

    /// Returns a presigned GET answering with `content_type` and a disposition naming the file.
    pub(crate) async fn presign_get(
        &self,
        key: &str,
        content_type: &str,
        disposition: String,
        ttl_seconds: u32,
    ) -> Result<PresignedRequest, MaterialsError> {
        let presigned = self
            .blob
            .client
            .get_object()
            .bucket(&self.blob.bucket)
            .key(key)
            .response_content_type(content_type)
            .response_content_disposition(disposition)
            .presigned(ttl(ttl_seconds)?)
            .await
            .map_err(MaterialsError::storage)?;
        Ok(PresignedRequest {
            method: "GET".to_owned(),
            url: presigned.uri().to_owned(),
            headers: HashMap::new(),
            expires_at: Some(expires_at(ttl_seconds)),
        })
    }

    /// Returns the base64 SHA-256 the store computed and verified at upload, or `None` when it
    /// keeps none (or there is no object).
    pub(crate) async fn stored_sha256(&self, key: &str) -> Result<Option<String>, MaterialsError> {
        let answer = self
            .blob
            .client
            .head_object()
            .bucket(&self.blob.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        match answer {
            Ok(head) => Ok(head.checksum_sha256().map(str::to_owned)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(err) => Err(MaterialsError::storage(aws_sdk_s3::Error::from(err))),
        }
    }

    /// Returns the object's size and first `n` bytes (`n` ≥ 1), or `None` when there is no
    /// object.
    pub(crate) async fn read_prefix(
        &self,
        key: &str,
        n: u64,
    ) -> Result<Option<Prefix>, MaterialsError> {
        let answer = self
            .blob
            .client
            .get_object()
            .bucket(&self.blob.bucket)
            .key(key)
            .range(format!("bytes=0-{}", n.saturating_sub(1)))
            .send()
            .await;
        let object = match answer {
            Ok(object) => object,
            Err(err) => {
                return match err.raw_response().map(|r| r.status().as_u16()) {
                    Some(404) => Ok(None),
                    // Nothing in range: the object is empty.
                    Some(416) => Ok(Some(Prefix {
                        size: 0,
                        bytes: Vec::new(),
                    })),
                    _ => Err(MaterialsError::storage(aws_sdk_s3::Error::from(err))),
                };
            }
        };
        // `bytes 0-15/1048576`; a store that ignored the range sent the whole object.
        let size = object
            .content_range()
            .and_then(|range| range.rsplit_once('/'))
            .and_then(|(_, total)| total.parse().ok())
            .or_else(|| u64::try_from(object.content_length().unwrap_or_default()).ok())
            .unwrap_or_default();
        let bytes = object
            .body
            .collect()
            .await
            .map_err(MaterialsError::storage)?
            .into_bytes();
        let keep = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
        Ok(Some(Prefix {
            size,
            bytes: bytes[..keep].to_vec(),
        }))
    }

    /// Reads the whole object and returns its lowercase hex SHA-256 (stores that keep no checksum).
    pub(crate) async fn sha256_hex(&self, key: &str) -> Result<String, MaterialsError> {
        let object = self
            .blob
            .client
            .get_object()
            .bucket(&self.blob.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| MaterialsError::storage(aws_sdk_s3::Error::from(e)))?;
        let mut body = object.body;
        let mut hasher = Sha256::new();
        while let Some(chunk) = body.try_next().await.map_err(MaterialsError::storage)? {
            hasher.update(&chunk);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Deletes the object (deleting a missing object succeeds).
    pub(crate) async fn delete(&self, key: &str) -> Result<(), MaterialsError> {
        self.blob
            .client
            .delete_object()
            .bucket(&self.blob.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| MaterialsError::storage(aws_sdk_s3::Error::from(e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_encode_chinese_names() {
        assert_eq!(
            content_disposition(false, "证明 1.pdf"),
            "inline; filename*=UTF-8''%E8%AF%81%E6%98%8E%201.pdf"
        );
        assert!(content_disposition(true, "a.pdf").starts_with("attachment;"));
    }

    /// The presigned PUT against the embedded endpoint (s3s-fs, signatures checked): what the
    /// store enforces is what ConfirmUpload may rely on instead of reading objects back.
    mod embedded_store {
        use super::*;
        use jifen_kit::config::Config;
        use jifen_kit::embedded_s3::EmbeddedS3;

        async fn put(upload: &PresignedRequest, body: Vec<u8>, skip: &str) -> u16 {
            let mut request = reqwest::Client::new().put(&upload.url).body(body);
            for (name, value) in &upload.headers {
                if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case(skip)
                {
                    request = request.header(name, value);
                }
            }
            request.send().await.expect("put").status().as_u16()
        }

        fn pdf(fill: u8) -> Vec<u8> {
            let mut bytes = b"%PDF-1.4\n".to_vec();
            bytes.extend(std::iter::repeat_n(fill, 4096));
            bytes
        }

        #[tokio::test]
        async fn the_store_enforces_the_signed_checksum_length_and_a_single_write() {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = Config::defaults();
            let s3 = EmbeddedS3::start(
                &dir.path().join("objects"),
                "127.0.0.1:0".parse().expect("addr"),
                &config.s3.bucket,
                &config.s3.access_key_id,
                &config.s3.secret_access_key,
            )
            .await
            .expect("embedded s3");
            let objects = Objects::new(BlobStore::new(&config.s3, &s3.endpoint()));
            let good = pdf(b'a');
            let bad = pdf(b'b');
            let digest = hex::encode(Sha256::digest(&good));
            let len = u64::try_from(good.len()).expect("len");
            let presign = |key: &'static str| {
                let objects = objects.clone();
                let digest = digest.clone();
                async move {
                    objects
                        .presign_put(key, "application/pdf", len, &digest, 60)
                        .await
                        .expect("presign")
                }
            };

            // Other bytes of the same length: refused by the checksum, and nothing kept, so the
            // same URL takes the declared bytes after.
            let upload = presign("t/refused").await;
            assert_eq!(put(&upload, bad.clone(), "").await, 400);
            assert_eq!(
                objects.read_prefix("t/refused", 8).await.expect("read"),
                None
            );
            assert_eq!(put(&upload, good.clone(), "").await, 200);
            assert!(objects.refuses_bad_checksums().await);

            // The declared bytes: stored, and HEAD echoes the checksum the store verified.
            let upload = presign("t/good").await;
            let names: Vec<String> = upload.headers.keys().map(|k| k.to_lowercase()).collect();
            for signed in ["x-amz-checksum-sha256", "if-none-match", "content-type"] {
                assert!(names.iter().any(|n| n == signed), "{names:?}");
            }
            assert_eq!(put(&upload, good[..100].to_vec(), "").await, 403, "length");
            assert_eq!(
                put(&upload, good.clone(), "x-amz-checksum-sha256").await,
                403,
                "checksum header dropped"
            );
            assert_eq!(
                put(&upload, good.clone(), "if-none-match").await,
                403,
                "single-write header dropped"
            );
            assert_eq!(put(&upload, good.clone(), "").await, 200);
            assert_eq!(
                objects.stored_sha256("t/good").await.expect("head"),
                Some(sha256_base64(&digest).expect("b64"))
            );

            // The same URL cannot write again: neither the same bytes nor others, so the stored
            // checksum keeps describing the stored bytes.
            assert_eq!(put(&upload, bad, "").await, 412);
            assert_eq!(put(&upload, good.clone(), "").await, 412);
            assert_eq!(objects.sha256_hex("t/good").await.expect("hash"), digest);
            let prefix = objects
                .read_prefix("t/good", 8)
                .await
                .expect("prefix")
                .expect("object");
            assert_eq!(
                prefix,
                Prefix {
                    size: len,
                    bytes: good[..8].to_vec()
                }
            );
            assert_eq!(
                objects.read_prefix("t/missing", 8).await.expect("missing"),
                None
            );
            // The probe leaves nothing behind.
            let listed = objects
                .blob
                .client
                .list_objects_v2()
                .bucket(&objects.blob.bucket)
                .prefix("jifen/")
                .send()
                .await
                .expect("list");
            assert_eq!(listed.key_count(), Some(0), "{listed:?}");
        }
    }
}
