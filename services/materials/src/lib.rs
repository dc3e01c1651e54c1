//! The materials component of jifen: evidence files of applications and public attachments of
//! notices, in S3, checked by content and reachable only by those who may see them.
//!
//! # Upload path
//!
//! Bytes never pass through jifen. A client (the web portal in the browser, or any API client)
//! calls `CreateUpload` with the file's name, type, size and SHA-256; the service validates the
//! declaration against the tenant's [`domain::policy::Policy`] and answers a presigned `PUT` whose
//! signature covers `Content-Type`, `Content-Length`, `x-amz-checksum-sha256` and
//! `If-None-Match: *`, valid for the policy's upload TTL (10 minutes by default). The store
//! itself therefore refuses another length, type or content, and any second write to the key.
//! The browser `PUT`s the file straight to that URL with exactly the returned headers, then
//! calls `ConfirmUpload`, which checks the object without reading it back: a ranged GET of the
//! first bytes tells its existence, size and magic bytes, and it is made usable or deleted with
//! the reason. The SHA-256 is the store's to check: a store found (once per process, by a probe
//! PUT of mismatched bytes) to refuse such bytes and keep nothing of them holds the declared
//! bytes if it holds any, since only the presigned PUT writes the key. With any other store the
//! confirmation also reads the checksum the store kept (HEAD), or reads and hashes the object.
//! A confirmation on the replica that declared the upload starts from the row it remembers; its
//! writes are guarded on the row still being pending.
//! Downloads are presigned `GET`s with a short TTL, issued only to readers (see
//! [`domain::access`]) and logged.
//!
//! The store must therefore be reachable by the browser at the URL the service signs:
//!
//! * **Monolithic / embedded mode**: the embedded s3s-fs endpoint listens on `127.0.0.1`, which
//!   the browser of a local run reaches directly. It answers no CORS preflight: serve the portal
//!   from the same origin or run the browser on the same machine without cross-origin checks; for
//!   anything but a local run use a real S3.
//! * **Production** (AWS S3, MinIO, Ceph, OSS): `s3.endpoint` must be the public (or ingress)
//!   name browsers resolve, and the bucket needs a **CORS rule** allowing `PUT` and `GET` from
//!   the portal's origin with the headers `content-type`, `content-length`,
//!   `x-amz-checksum-sha256` and `if-none-match` and exposing `ETag`. No bucket policy grants public access: every
//!   request is presigned, and public notice attachments get presigned GETs too.
//!
//! # Trust decisions
//!
//! * The verifier department a material declares is a hint for the portal only. Which department
//!   verifies an indicator, and which street an application belongs to, come from review when a
//!   department verifier or street reviewer asks for a file ([`scopes`]): a street reviewer reads
//!   only applications of their street, a verifier only materials of indicators review routed to
//!   their department. When review cannot answer, they get no URL (UNAVAILABLE).
//! * The application's applicant is the first applicant who uploads to it, until review's
//!   `ApplicationStatusChanged` events name it.
//! * District and city reviewers read every application of the tenant they act in (materials
//!   does not know the current review level).
//!
//! # Retention
//!
//! The purge (RunPurge, or [`Materials::spawn_periodic_purge`]) removes materials of rejected and
//! withdrawn applications after the objection window plus the retention period, replaced versions
//! once the application is decided, and uploads never confirmed after the orphan period. Time
//! comes from an injectable [`Clock`].

mod attachments;
pub mod clock;
mod convert;
mod declared;
pub mod domain;
mod downloads;
mod error;
mod events;
mod grpc;
pub mod migration;
mod objects;
mod policies;
mod purge;
pub mod scopes;
mod service;
pub mod store;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::MaterialsError;
pub use migration::Migrator;
pub use service::Materials;
pub use uploads::OBJECTION_INDICATOR;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "materials";

/// Environment variable setting the period of the scheduled purge in seconds (default one hour;
/// `0` disables it, e.g. when a CronJob calls RunPurge instead).
pub const PURGE_INTERVAL_ENV: &str = "JIFEN_MATERIALS_PURGE_INTERVAL_SECS";

/// Returns the gRPC service of this component, ready to be hosted, and starts the scheduled purge.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::materials::v1::materials_service_server::MaterialsServiceServer<Materials> {
    let limit = ctx.config.server.max_message_bytes;
    let materials = Materials::new(ctx.db.clone(), ctx.blob.clone()).with_scopes(Arc::new(
        scopes::ReviewScopes::new(ctx.peers.clone(), ctx.service_tokens.clone()),
    ));
    let every = std::env::var(PURGE_INTERVAL_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(3600);
    if every > 0 {
        materials.spawn_periodic_purge(Duration::from_secs(every), ctx.shutdown.clone());
    }
    jifen_proto::materials::v1::materials_service_server::MaterialsServiceServer::new(materials)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
}
