//! SMS and email: the pluggable [`Sender`], its file and HTTP-gateway implementations, and the
//! [`DeliveryWorker`] that sends pending delivery rows with retries and exponential back-off.
//!
//! Guarantees: a sender that is down only delays a delivery (it stays `pending`, its
//! `next_attempt_at` moves out by 1 s doubling to 5 min), it is never dropped; after
//! [`DeliveryPolicy::max_attempts`] it becomes `failed` and stays listed for operators. A row is
//! claimed by moving `next_attempt_at` out by a lease in a conditional update, so two workers
//! never send the same row at once, and a row marked `sent` is never sent again. A worker that
//! dies between a gateway's acceptance and the `sent` mark would resend after the lease: the
//! delivery id travels as the idempotency key so a gateway can drop that copy.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jifen_kit::auth::Caller;
use jifen_proto::notices::v1::{self as pb, Channel};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::convert::{channel_code, channel_of, channel_pb, next_token, page, ts, ts_opt};
use crate::domain::mask;
use crate::error::NoticesError;
use crate::service::{Notices, managed_tenant};
use crate::store::delivery::{self, Column, Entity};

/// One message leaving jifen on one channel.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// Delivery id: the idempotency key for the gateway.
    pub delivery_id: Uuid,
    /// `sms` or `email`.
    pub channel: &'static str,
    /// Tenant of the event.
    pub tenant: String,
    /// The resident's account id.
    pub recipient_subject: String,
    /// Mobile number or email address.
    pub destination: String,
    /// Title (email subject; SMS ignores it).
    pub title: String,
    /// Text.
    pub body: String,
}

/// Why a send failed; the delivery is retried later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// Sends SMS or email. Implementations must be safe to call again for the same delivery id.
#[async_trait::async_trait]
pub trait Sender: Send + Sync + fmt::Debug + 'static {
    /// Sends `message`; an error means "not sent, try again later".
    async fn send(&self, message: &Outgoing) -> Result<(), SendError>;
}

/// The senders of each channel.
#[derive(Debug, Clone)]
pub struct Senders {
    /// SMS.
    pub sms: Arc<dyn Sender>,
    /// Email.
    pub email: Arc<dyn Sender>,
}

impl Senders {
    /// Returns file senders writing `sms.jsonl` and `email.jsonl` under `dir`.
    pub fn files(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            sms: Arc::new(FileSender::new(dir.join("sms.jsonl"))),
            email: Arc::new(FileSender::new(dir.join("email.jsonl"))),
        }
    }

    /// Returns the senders a process uses: the HTTP SMS gateway when
    /// `JIFEN_NOTICES_SMS_GATEWAY_URL` is set (with `JIFEN_NOTICES_SMS_GATEWAY_USERNAME` and
    /// `JIFEN_NOTICES_SMS_GATEWAY_PASSWORD`), otherwise JSON-lines files in
    /// `<data dir>/notices/`; email always goes to `<data dir>/notices/email.jsonl`.
    pub fn from_env(data_dir: &std::path::Path) -> Self {
        let mut senders = Self::files(data_dir.join("notices"));
        if let Ok(url) = std::env::var("JIFEN_NOTICES_SMS_GATEWAY_URL")
            && !url.trim().is_empty()
        {
            senders.sms = Arc::new(HttpSmsSender::new(
                url.trim(),
                &std::env::var("JIFEN_NOTICES_SMS_GATEWAY_USERNAME").unwrap_or_default(),
                &std::env::var("JIFEN_NOTICES_SMS_GATEWAY_PASSWORD").unwrap_or_default(),
            ));
        }
        senders
    }

    fn of(&self, channel: Channel) -> Option<&Arc<dyn Sender>> {
        match channel {
            Channel::Sms => Some(&self.sms),
            Channel::Email => Some(&self.email),
            Channel::InApp | Channel::Unspecified => None,
        }
    }
}

/// Appends one JSON line per message to a file: the embedded default and the tests' sender.
#[derive(Debug)]
pub struct FileSender {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileSender {
    /// Writes to `path` (its folder is created on first send).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

#[async_trait::async_trait]
impl Sender for FileSender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let fail = |e: std::io::Error| SendError(format!("{}: {e}", self.path.display()));
        let mut line =
            serde_json::to_string(message).map_err(|e| SendError(format!("encode: {e}")))?;
        line.push('\n');
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(fail)?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(fail)?;
        file.write_all(line.as_bytes()).await.map_err(fail)?;
        file.flush().await.map_err(fail)
    }
}

/// Posts SMS to an HTTP gateway: `POST <url>` with basic auth and the JSON body
/// `{"id", "to", "content"}`; any 2xx is success. Not exercised against a real gateway.
pub struct HttpSmsSender {
    client: reqwest::Client,
    url: String,
    username: String,
    password: String,
}

impl fmt::Debug for HttpSmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSmsSender")
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl HttpSmsSender {
    /// Returns a sender posting to `url` with basic-auth credentials.
    pub fn new(url: &str, username: &str, password: &str) -> Self {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            client,
            url: url.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl Sender for HttpSmsSender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.username, Some(&self.password))
            .header("Idempotency-Key", message.delivery_id.to_string())
            .json(&serde_json::json!({
                "id": message.delivery_id,
                "to": message.destination,
                "content": message.body,
            }))
            .send()
            .await
            .map_err(|e| SendError(format!("sms gateway unreachable: {e}")))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SendError(format!(
                "sms gateway answered {}",
                response.status()
            )))
        }
    }
}

/// How hard the worker tries.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Attempts before a delivery is marked failed (with the back-off capped at 5 minutes,
    /// 40 attempts keep trying for about 3 hours).
    pub max_attempts: i32,
    /// SMS per resident per rolling hour; more wait, they are never dropped.
    pub sms_per_hour: u64,
    /// How long a claimed row is reserved for the worker that claimed it.
    pub lease: Duration,
    /// Rows per batch.
    pub batch: u64,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 40,
            sms_per_hour: 5,
            lease: Duration::minutes(2),
            batch: 50,
        }
    }
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkReport {
    /// Sent.
    pub sent: usize,
    /// Failed attempts (retried later).
    pub retried: usize,
    /// Given up after the maximum attempts.
    pub failed: usize,
    /// Delayed by the per-resident rate limit.
    pub rate_limited: usize,
}

/// Sends due deliveries; see the module docs.
#[derive(Debug, Clone)]
pub struct DeliveryWorker {
    notices: Notices,
}

impl DeliveryWorker {
    pub(crate) fn new(notices: Notices) -> Self {
        Self { notices }
    }

    /// Runs one pass over the deliveries due now.
    pub async fn run_once(&self) -> Result<WorkReport, NoticesError> {
        let n = &self.notices;
        let now = n.clock.now();
        let due = Entity::find()
            .filter(Column::Status.eq(delivery::PENDING))
            .filter(Column::NextAttemptAt.lte(now))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
            .limit(n.policy.batch)
            .all(&n.db)
            .await?;
        let mut report = WorkReport::default();
        for row in due {
            // Claim: only one worker moves the row out of "due".
            let claimed = Entity::update_many()
                .col_expr(
                    Column::NextAttemptAt,
                    sea_orm::sea_query::Expr::value(now + n.policy.lease),
                )
                .filter(Column::Id.eq(row.id))
                .filter(Column::Status.eq(delivery::PENDING))
                .filter(Column::NextAttemptAt.lte(now))
                .exec(&n.db)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            let channel = channel_pb(&row.channel);
            if channel == Channel::Sms
                && let Some(until) = self.sms_limited_until(&row.recipient_subject, now).await?
            {
                let mut active: delivery::ActiveModel = row.into();
                active.next_attempt_at = Set(until);
                active.last_error = Set(Some(format!(
                    "已达每小时 {} 条短信上限，延后发送",
                    n.policy.sms_per_hour
                )));
                active.update(&n.db).await?;
                report.rate_limited += 1;
                continue;
            }
            let Some(sender) = n.senders.of(channel) else {
                continue;
            };
            let outgoing = Outgoing {
                delivery_id: row.id,
                channel: channel_code(channel),
                tenant: row.tenant.clone(),
                recipient_subject: row.recipient_subject.clone(),
                destination: row.destination.clone(),
                title: row.title.clone(),
                body: row.body.clone(),
            };
            let result = sender.send(&outgoing).await;
            let attempts = row.attempts.saturating_add(1);
            let mut active: delivery::ActiveModel = row.into();
            active.attempts = Set(attempts);
            match result {
                Ok(()) => {
                    active.status = Set(delivery::SENT.to_owned());
                    active.sent_at = Set(Some(now));
                    active.last_error = Set(None);
                    report.sent += 1;
                }
                Err(err) if attempts >= n.policy.max_attempts => {
                    tracing::error!(delivery_id = %outgoing.delivery_id, attempts, error = %err, "delivery failed for good");
                    active.status = Set(delivery::FAILED.to_owned());
                    active.last_error = Set(Some(err.to_string()));
                    report.failed += 1;
                }
                Err(err) => {
                    tracing::warn!(delivery_id = %outgoing.delivery_id, attempts, error = %err, "delivery failed, will retry");
                    active.next_attempt_at = Set(now + jifen_kit::outbox::backoff(attempts));
                    active.last_error = Set(Some(err.to_string()));
                    report.retried += 1;
                }
            }
            active.update(&n.db).await?;
        }
        Ok(report)
    }

    /// Returns when the resident may receive another SMS, if the hourly limit is reached.
    async fn sms_limited_until(
        &self,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, NoticesError> {
        let n = &self.notices;
        let recent = Entity::find()
            .filter(Column::RecipientSubject.eq(subject))
            .filter(Column::Channel.eq("sms"))
            .filter(Column::Status.eq(delivery::SENT))
            .filter(Column::SentAt.gt(now - Duration::hours(1)))
            .order_by_asc(Column::SentAt)
            .all(&n.db)
            .await?;
        if (recent.len() as u64) < n.policy.sms_per_hour {
            return Ok(None);
        }
        Ok(recent
            .first()
            .and_then(|r| r.sent_at)
            .map(|first| (first + Duration::hours(1)).max(now + Duration::seconds(1))))
    }

    /// Runs until `shutdown`, waking on new deliveries or every second.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.run_once().await {
                Ok(report) if report.sent + report.retried + report.failed > 0 => {
                    if shutdown.is_cancelled() {
                        return;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "delivery pass failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.notices.wake.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    }
}

fn status_pb(status: &str) -> pb::DeliveryStatus {
    match status {
        delivery::PENDING => pb::DeliveryStatus::Pending,
        delivery::SENT => pb::DeliveryStatus::Sent,
        _ => pb::DeliveryStatus::Failed,
    }
}

impl Notices {
    /// Lists the deliveries of the caller's tenant.
    pub(crate) async fn handle_list_deliveries(
        &self,
        caller: &Caller,
        req: pb::ListDeliveriesRequest,
    ) -> Result<pb::ListDeliveriesResponse, NoticesError> {
        let tenant = managed_tenant(caller)?;
        let (size, offset) = page(req.page_size, &req.page_token)?;
        let mut query = Entity::find().filter(Column::Tenant.eq(tenant));
        let status = pb::DeliveryStatus::try_from(req.status).map_err(|_| {
            NoticesError::invalid("status", "unknown_value", "发送状态（status）取值不存在")
        })?;
        query = match status {
            pb::DeliveryStatus::Unspecified => query,
            pb::DeliveryStatus::Pending => query.filter(Column::Status.eq(delivery::PENDING)),
            pb::DeliveryStatus::Sent => query.filter(Column::Status.eq(delivery::SENT)),
            pb::DeliveryStatus::Failed => {
                query.filter(Column::Status.is_in([delivery::FAILED, delivery::HELD]))
            }
            pb::DeliveryStatus::Skipped => query.filter(Column::Status.eq("skipped")),
        };
        let channel = channel_of(req.channel)?;
        if channel != Channel::Unspecified {
            query = query.filter(Column::Channel.eq(channel_code(channel)));
        }
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .offset(offset)
            .limit(size)
            .all(&self.db)
            .await?;
        Ok(pb::ListDeliveriesResponse {
            next_page_token: next_token(offset, rows.len(), total),
            deliveries: rows
                .into_iter()
                .map(|r| pb::Delivery {
                    delivery_id: r.id.to_string(),
                    message_id: r.message_id.map(|m| m.to_string()).unwrap_or_default(),
                    channel: channel_pb(&r.channel) as i32,
                    destination_masked: match r.channel.as_str() {
                        "sms" => mask::mobile(&r.destination),
                        "email" => mask::email(&r.destination),
                        _ => String::new(),
                    },
                    status: status_pb(&r.status) as i32,
                    attempts: u32::try_from(r.attempts).unwrap_or(0),
                    last_error: r.last_error.unwrap_or_default(),
                    next_attempt_at: (r.status == delivery::PENDING).then(|| ts(r.next_attempt_at)),
                    sent_at: ts_opt(r.sent_at),
                    created_at: Some(ts(r.created_at)),
                })
                .collect(),
        })
    }
}
