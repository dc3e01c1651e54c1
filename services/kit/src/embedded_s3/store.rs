//! The embedded store: s3s-fs, with plain HEADs and small ranged GETs answered in one step, and
//! nothing left of a PUT refused for its checksum.
//!
//! s3s-fs answers a read with several `tokio::fs` calls (stat, open, seek, read the object's
//! attribute and checksum files, read), each a hop to tokio's blocking pool and back: three for a
//! HEAD, six for a 16-byte ranged GET. ConfirmUpload sends one of each per file, and on two cores
//! those thread wake-ups were the larger part of what a confirmation cost. Here the same files are
//! read in one blocking task and answered with what s3s-fs would answer.
//!
//! s3s-fs moves a PUT's bytes into place before it compares them with the request's checksum, and
//! leaves them there when it refuses them (`BadDigest`): the refused bytes would then block the
//! upload's retry through the same `If-None-Match: *` URL and could be taken for an accepted
//! upload. Here a refused PUT's object and its attribute files are removed before the answer
//! goes out, as S3 keeps nothing of a PUT it refuses.
//!
//! Everything else goes to s3s-fs unchanged: every other write, whole-object GETs (streamed), and any
//! read this does not answer exactly as s3s-fs would: conditional or versioned requests, parts,
//! response overrides, SSE-C, a key that is not a plain relative path, an object without its
//! checksum file (written without a checksum, or by plain s3s-fs), or an unreadable attribute
//! file. The files are s3s-fs 0.14's layout (`fs.rs`): should a later version change it, reads
//! simply fall back to s3s-fs (the tests notice: they ask for the fast path by its counter).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::{
    ETag, GetObjectInput, GetObjectOutput, HeadObjectInput, HeadObjectOutput, PutObjectInput,
    PutObjectOutput, Range, StreamingBlob, Timestamp,
};
use s3s::{S3, S3ErrorCode, S3Request, S3Response, S3Result};
use s3s_fs::FileSystem;

/// Largest ranged GET answered from one read (bigger ones are streamed by s3s-fs).
const SMALL_RANGE: u64 = 64 * 1024;

/// s3s-fs plus the one-step reads and the removal of refused PUTs.
pub(super) struct Store {
    fs: FileSystem,
    root: PathBuf,
    /// Reads answered here (the tests check that the one-step path is taken).
    answered: AtomicU64,
}

/// What a read found, all from one blocking step.
struct Found {
    len: u64,
    modified: SystemTime,
    attributes: Attributes,
    info: serde_json::Map<String, serde_json::Value>,
    e_tag: String,
    /// The requested bytes, for a ranged GET.
    bytes: Option<(std::ops::Range<u64>, Vec<u8>)>,
}

/// s3s-fs's `ObjectAttributes` file (`.metadata.json`), the fields it answers reads with.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Attributes {
    user_metadata: Option<std::collections::HashMap<String, String>>,
    content_encoding: Option<String>,
    content_type: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    website_redirect_location: Option<String>,
}

/// Whether a HEAD or GET input asks for nothing but the object (and its checksum, and for a GET a
/// range): the two inputs have the same fields.
macro_rules! plain_read {
    ($input:expr) => {{
        let i = $input;
        i.expected_bucket_owner.is_none()
            && i.if_match.is_none()
            && i.if_modified_since.is_none()
            && i.if_none_match.is_none()
            && i.if_unmodified_since.is_none()
            && i.part_number.is_none()
            && i.request_payer.is_none()
            && i.response_cache_control.is_none()
            && i.response_content_disposition.is_none()
            && i.response_content_encoding.is_none()
            && i.response_content_language.is_none()
            && i.response_content_type.is_none()
            && i.response_expires.is_none()
            && i.sse_customer_algorithm.is_none()
            && i.sse_customer_key.is_none()
            && i.sse_customer_key_md5.is_none()
            && i.version_id.is_none()
    }};
}

impl Store {
    pub(super) fn new(root: &Path) -> Result<Self, String> {
        let fs = FileSystem::new(root).map_err(|e| format!("{e:?}"))?;
        // As s3s-fs resolves it.
        let root = std::env::current_dir()
            .and_then(|dir| dir.join(root).canonicalize())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            fs,
            root,
            answered: AtomicU64::new(0),
        })
    }

    /// Returns the object's file and its attribute and checksum files (s3s-fs's layout), or
    /// `None` for a bucket or key that is not a plain relative path.
    fn files(&self, bucket: &str, key: &str) -> Option<[PathBuf; 3]> {
        let plain = |s: &str| {
            !s.is_empty()
                && !s.contains(['\\', '\0'])
                && s.split('/').all(|part| !matches!(part, "" | "." | ".."))
        };
        if !plain(bucket) || bucket.contains('/') || !plain(key) {
            return None;
        }
        let encode = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let files = format!(".bucket-{}.object-{}", encode(bucket), encode(key));
        Some([
            self.root.join(bucket).join(key),
            self.root.join(format!("{files}.metadata.json")),
            self.root.join(format!("{files}.internal.json")),
        ])
    }

    /// Reads the object's files in one blocking step; `None` when s3s-fs should answer.
    async fn find(&self, bucket: &str, key: &str, range: Option<&Range>) -> Option<Found> {
        let [object, attributes, info] = self.files(bucket, key)?;
        let wanted = match range {
            None => None,
            Some(Range::Int {
                first,
                last: Some(last),
            }) if last >= first && last - first < SMALL_RANGE => Some((*first, *last)),
            Some(_) => return None,
        };
        tokio::task::spawn_blocking(move || read(&object, &attributes, &info, wanted))
            .await
            .ok()
            .flatten()
    }
}

/// The blocking step: the object's size and time, its attribute and checksum files, and the
/// requested bytes. `None` for anything s3s-fs should answer (missing files included).
fn read(
    object: &Path,
    attributes: &Path,
    info: &Path,
    wanted: Option<(u64, u64)>,
) -> Option<Found> {
    use std::io::{Read, Seek, SeekFrom};
    let info: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(info).ok()?).ok()?;
    let e_tag = info.get("e_tag")?.as_str()?.to_owned();
    let attributes = match std::fs::read(attributes) {
        Ok(text) => serde_json::from_slice(&text).ok()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Attributes::default(),
        Err(_) => return None,
    };
    let mut file = std::fs::File::open(object).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let len = meta.len();
    let bytes = match wanted {
        None => None,
        // Past the end: s3s-fs answers 416.
        Some((first, _)) if first >= len => return None,
        Some((first, last)) => {
            let end = last.saturating_add(1).min(len);
            let mut buf = vec![0; usize::try_from(end - first).ok()?];
            file.seek(SeekFrom::Start(first)).ok()?;
            file.read_exact(&mut buf).ok()?;
            Some((first..end, buf))
        }
    };
    Some(Found {
        len,
        modified: meta.modified().ok()?,
        attributes,
        info,
        e_tag,
        bytes,
    })
}

/// The stored checksum named `name` (`checksum_sha256`, …), as s3s-fs answers it.
fn checksum(info: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    info.get(name).and_then(|v| v.as_str()).map(str::to_owned)
}

/// Implements S3 operations by handing them to s3s-fs.
macro_rules! to_s3s_fs {
    ($($op:ident: $input:ident => $output:ident,)*) => {$(
        // Spelled as `async_trait` expands an `async fn` (it does not see into macros).
        fn $op<'life0, 'async_trait>(
            &'life0 self,
            req: S3Request<s3s::dto::$input>,
        ) -> std::pin::Pin<Box<
            dyn std::future::Future<Output = S3Result<S3Response<s3s::dto::$output>>>
                + Send
                + 'async_trait,
        >>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            self.fs.$op(req)
        }
    )*};
}

#[async_trait::async_trait]
impl S3 for Store {
    to_s3s_fs! {
    abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput,
    complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput,
    copy_object: CopyObjectInput => CopyObjectOutput,
    create_bucket: CreateBucketInput => CreateBucketOutput,
    create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
    delete_bucket: DeleteBucketInput => DeleteBucketOutput,
    delete_object: DeleteObjectInput => DeleteObjectOutput,
    delete_objects: DeleteObjectsInput => DeleteObjectsOutput,
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
    head_bucket: HeadBucketInput => HeadBucketOutput,
    list_buckets: ListBucketsInput => ListBucketsOutput,
    list_objects: ListObjectsInput => ListObjectsOutput,
    list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,
    list_parts: ListPartsInput => ListPartsOutput,
    upload_part: UploadPartInput => UploadPartOutput,
    upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let files = self.files(&req.input.bucket, &req.input.key);
        let answer = self.fs.put_object(req).await;
        if let (Err(err), Some(files)) = (&answer, files)
            && *err.code() == S3ErrorCode::BadDigest
        {
            for file in files {
                if let Err(e) = tokio::fs::remove_file(&file).await
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(file = %file.display(), error = %e, "cannot remove a refused upload");
                }
            }
        }
        answer
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = &req.input;
        let found = if plain_read!(input) && input.range.is_none() {
            self.find(&input.bucket, &input.key, None).await
        } else {
            None
        };
        let Some(f) = found else {
            return self.fs.head_object(req).await;
        };
        self.answered.fetch_add(1, Ordering::Relaxed);
        let a = f.attributes;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: i64::try_from(f.len).ok(),
            content_type: a.content_type,
            content_encoding: a.content_encoding,
            content_disposition: a.content_disposition,
            content_language: a.content_language,
            cache_control: a.cache_control,
            website_redirect_location: a.website_redirect_location,
            last_modified: Some(Timestamp::from(f.modified)),
            metadata: a.user_metadata,
            e_tag: Some(ETag::Strong(f.e_tag)),
            checksum_crc32: checksum(&f.info, "checksum_crc32"),
            checksum_crc32c: checksum(&f.info, "checksum_crc32c"),
            checksum_sha1: checksum(&f.info, "checksum_sha1"),
            checksum_sha256: checksum(&f.info, "checksum_sha256"),
            checksum_crc64nvme: checksum(&f.info, "checksum_crc64nvme"),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = &req.input;
        let found = match &input.range {
            Some(range) if plain_read!(input) => {
                self.find(&input.bucket, &input.key, Some(range)).await
            }
            _ => None,
        };
        let Some(Found {
            len,
            modified,
            attributes: a,
            info,
            e_tag,
            bytes: Some((range, bytes)),
        }) = found
        else {
            return self.fs.get_object(req).await;
        };
        self.answered.fetch_add(1, Ordering::Relaxed);
        // s3s-fs (like S3) leaves the whole object's checksum out of a partial read.
        let whole = range.end - range.start == len;
        let sum = |name| whole.then(|| checksum(&info, name)).flatten();
        Ok(S3Response::new(GetObjectOutput {
            content_length: i64::try_from(bytes.len()).ok(),
            content_range: Some(format!("bytes {}-{}/{len}", range.start, range.end - 1)),
            body: Some(StreamingBlob::from(s3s::Body::from(bytes))),
            last_modified: Some(Timestamp::from(modified)),
            metadata: a.user_metadata,
            content_encoding: a.content_encoding,
            content_type: a.content_type,
            content_disposition: a.content_disposition,
            content_language: a.content_language,
            cache_control: a.cache_control,
            website_redirect_location: a.website_redirect_location,
            e_tag: Some(ETag::Strong(e_tag)),
            checksum_crc32: sum("checksum_crc32"),
            checksum_crc32c: sum("checksum_crc32c"),
            checksum_sha1: sum("checksum_sha1"),
            checksum_sha256: sum("checksum_sha256"),
            checksum_crc64nvme: sum("checksum_crc64nvme"),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use futures::TryStreamExt as _;
    use s3s::dto::ChecksumMode;
    use sha2::{Digest, Sha256};

    fn request<T>(input: T) -> S3Request<T> {
        S3Request {
            input,
            method: http::Method::GET,
            uri: http::Uri::from_static("/"),
            headers: http::HeaderMap::new(),
            extensions: http::Extensions::new(),
            credentials: None,
            region: None,
            service: None,
            trailing_headers: None,
        }
    }

    async fn put(store: &impl S3, key: &str, body: &[u8], sha256_of: &[u8]) -> bool {
        let input = PutObjectInput {
            bucket: "b".to_owned(),
            key: key.to_owned(),
            body: Some(StreamingBlob::from(s3s::Body::from(body.to_vec()))),
            content_type: Some("application/pdf".to_owned()),
            content_length: i64::try_from(body.len()).ok(),
            checksum_sha256: Some(STANDARD.encode(Sha256::digest(sha256_of))),
            ..Default::default()
        };
        store.put_object(request(input)).await.is_ok()
    }

    fn head(key: &str) -> HeadObjectInput {
        HeadObjectInput {
            bucket: "b".to_owned(),
            key: key.to_owned(),
            checksum_mode: Some(ChecksumMode::from_static(ChecksumMode::ENABLED)),
            ..Default::default()
        }
    }

    fn get(key: &str, first: u64, last: u64) -> GetObjectInput {
        GetObjectInput {
            bucket: "b".to_owned(),
            key: key.to_owned(),
            checksum_mode: Some(ChecksumMode::from_static(ChecksumMode::ENABLED)),
            range: Some(Range::Int {
                first,
                last: Some(last),
            }),
            ..Default::default()
        }
    }

    /// An answer reduced to what can be compared: the output without its body, the body's
    /// bytes, or the error code.
    async fn got(
        answer: S3Result<S3Response<GetObjectOutput>>,
    ) -> Result<(String, Vec<u8>), String> {
        let mut output = answer.map_err(|e| e.code().as_str().to_owned())?.output;
        let body = output.body.take().expect("body");
        let bytes: Vec<u8> = body
            .map_ok(|b| b.to_vec())
            .try_concat()
            .await
            .expect("body bytes");
        Ok((format!("{output:?}"), bytes))
    }

    /// What the one-step reads answer is what s3s-fs answers from the same files, for the
    /// objects and requests ConfirmUpload sends and for those it hands back to s3s-fs.
    #[tokio::test]
    async fn one_step_reads_answer_as_s3s_fs_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("b")).expect("bucket");
        let store = Store::new(dir.path()).expect("store");
        let plain = FileSystem::new(dir.path()).expect("s3s-fs");
        let pdf = b"%PDF-1.4\nsome evidence".repeat(100);
        assert!(put(&store, "t/a/good", &pdf, &pdf).await);
        // Refused for its checksum by plain s3s-fs, which keeps the bytes without a checksum file.
        assert!(!put(&plain, "t/a/refused", &pdf, b"other").await);

        let before = store.answered.load(Ordering::Relaxed);
        for key in ["t/a/good", "t/a/refused", "t/a/missing", "t/../b/t/a/good"] {
            let ours = store.head_object(request(head(key))).await;
            let theirs = plain.head_object(request(head(key))).await;
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => assert!(ours.output == theirs.output, "{key}"),
                (Err(ours), Err(theirs)) => assert_eq!(ours.code(), theirs.code(), "{key}"),
                (ours, theirs) => panic!("{key}: {:?} vs {:?}", ours.is_ok(), theirs.is_ok()),
            }
            let len = u64::try_from(pdf.len()).expect("len");
            for (first, last) in [
                (0, 15),
                (5, 9),
                (0, len - 1),
                (0, len + 100),
                (len, len + 5),
            ] {
                let ours = got(store.get_object(request(get(key, first, last))).await).await;
                let theirs = got(plain.get_object(request(get(key, first, last))).await).await;
                assert_eq!(ours, theirs, "{key} {first}-{last}");
            }
        }
        // Answered in one step: the good object's HEAD and its four readable ranges.
        assert_eq!(store.answered.load(Ordering::Relaxed) - before, 5);
        let whole = got(store.get_object(request(get("t/a/good", 0, 9999))).await).await;
        let (output, bytes) = whole.expect("whole");
        assert_eq!(bytes, pdf);
        assert!(output.contains("checksum_sha256: \""), "{output}");
    }

    /// A PUT refused for its checksum leaves nothing (s3s-fs alone leaves the bytes), so the
    /// upload can be retried through the same single-write URL; other refusals touch nothing.
    #[tokio::test]
    async fn a_refused_put_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("b")).expect("bucket");
        let store = Store::new(dir.path()).expect("store");
        let pdf = b"%PDF-1.4\nsome evidence".repeat(100);
        let listing = || {
            let mut names: Vec<String> = walk(dir.path());
            names.sort();
            names
        };
        let empty = listing();

        assert!(!put(&store, "t/a/one", &pdf, b"other").await);
        assert_eq!(listing(), empty, "nothing of the refused bytes remains");
        assert!(store.head_object(request(head("t/a/one"))).await.is_err());

        // The retry, single-write as the presigned URL asks: accepted, with its checksum.
        let once = |body: &[u8]| PutObjectInput {
            bucket: "b".to_owned(),
            key: "t/a/one".to_owned(),
            body: Some(StreamingBlob::from(s3s::Body::from(body.to_vec()))),
            content_length: i64::try_from(body.len()).ok(),
            checksum_sha256: Some(STANDARD.encode(Sha256::digest(&pdf))),
            if_none_match: Some(s3s::dto::ETagCondition::Any),
            ..Default::default()
        };
        store.put_object(request(once(&pdf))).await.expect("retry");
        let stored = store
            .head_object(request(head("t/a/one")))
            .await
            .expect("head")
            .output;
        assert_eq!(
            stored.checksum_sha256,
            Some(STANDARD.encode(Sha256::digest(&pdf)))
        );

        // Refused because the object exists (412): the accepted object is not touched.
        let err = store
            .put_object(request(once(&pdf)))
            .await
            .expect_err("exists");
        assert_eq!(*err.code(), S3ErrorCode::PreconditionFailed);
        assert!(store.head_object(request(head("t/a/one"))).await.is_ok());
    }

    fn walk(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .flat_map(|entry| {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    vec![path.display().to_string()]
                }
            })
            .collect()
    }
}
