//! The transactional outbox: an event is written in the same database transaction as the state
//! change it announces, then delivered at least once by a [`Dispatcher`]; receivers record every
//! event id they handled ([`receive_once`]) so redelivery is harmless. Nothing is lost if the
//! process dies between commit and send: undelivered rows are simply sent after restart.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// One event as it travels between components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id; receivers dedupe on it.
    pub id: Uuid,
    /// What happened, e.g. `application.status_changed`.
    pub topic: String,
    /// Tenant the event belongs to.
    pub tenant: String,
    /// Event body.
    pub payload: serde_json::Value,
    /// When the state change was committed.
    pub occurred_at: DateTime<Utc>,
}

impl Event {
    /// Returns a new event with a fresh time-ordered id.
    pub fn new(topic: &str, tenant: &str, payload: serde_json::Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            topic: topic.to_owned(),
            tenant: tenant.to_owned(),
            payload,
            occurred_at: Utc::now(),
        }
    }
}

/// sea-orm entity of the `outbox_events` table.
pub mod outbox_event {
    use sea_orm::entity::prelude::*;

    /// A row of `outbox_events`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_events")]
    pub struct Model {
        /// Event id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Topic.
        pub topic: String,
        /// Tenant.
        pub tenant: String,
        /// JSON payload.
        pub payload: Json,
        /// Commit time.
        pub occurred_at: DateTimeUtc,
        /// Failed delivery attempts so far.
        pub attempts: i32,
        /// Not before this time.
        pub next_attempt_at: DateTimeUtc,
        /// Set once delivered.
        pub delivered_at: Option<DateTimeUtc>,
        /// Last delivery error, for operators.
        pub last_error: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// sea-orm entity of the `inbox_events` table (event ids already handled).
pub mod inbox_event {
    use sea_orm::entity::prelude::*;

    /// A row of `inbox_events`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "inbox_events")]
    pub struct Model {
        /// Event id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// When it was first handled.
        pub received_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Writes `event` in the caller's transaction (or connection).
pub async fn enqueue<C: ConnectionTrait>(conn: &C, event: &Event) -> Result<(), DbErr> {
    outbox_event::ActiveModel {
        id: Set(event.id),
        topic: Set(event.topic.clone()),
        tenant: Set(event.tenant.clone()),
        payload: Set(event.payload.clone()),
        occurred_at: Set(event.occurred_at),
        attempts: Set(0),
        next_attempt_at: Set(event.occurred_at),
        delivered_at: Set(None),
        last_error: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Records that `event_id` is being handled, in the caller's transaction. Returns `false` when it
/// was handled before: the receiver must then skip it.
pub async fn receive_once<C: ConnectionTrait>(conn: &C, event_id: Uuid) -> Result<bool, DbErr> {
    let inserted = inbox_event::Entity::insert(inbox_event::ActiveModel {
        id: Set(event_id),
        received_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(inbox_event::Column::Id)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(inserted == 1)
}

/// Delivers outbox rows at least once, in commit order per batch, retrying with back-off.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    component: &'static str,
    db: DatabaseConnection,
    wake: Arc<Notify>,
    poll: Duration,
}

impl Dispatcher {
    /// Returns a dispatcher over the outbox of `component`'s database.
    pub fn new(component: &'static str, db: DatabaseConnection) -> Self {
        Self {
            component,
            db,
            wake: Arc::new(Notify::new()),
            poll: Duration::from_millis(500),
        }
    }

    /// Wakes the dispatcher after a commit so delivery does not wait for the next poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Delivers one batch; returns how many events were delivered.
    pub async fn deliver_batch<F, Fut, E>(&self, deliver: &F) -> Result<usize, DbErr>
    where
        F: Fn(Event) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let now = Utc::now();
        let due = outbox_event::Entity::find()
            .filter(outbox_event::Column::DeliveredAt.is_null())
            .filter(outbox_event::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbox_event::Column::OccurredAt)
            .order_by_asc(outbox_event::Column::Id)
            .limit(100)
            .all(&self.db)
            .await?;
        let mut delivered = 0;
        for row in due {
            let event = Event {
                id: row.id,
                topic: row.topic.clone(),
                tenant: row.tenant.clone(),
                payload: row.payload.clone(),
                occurred_at: row.occurred_at,
            };
            let mut update: outbox_event::ActiveModel = row.clone().into();
            match deliver(event).await {
                Ok(()) => {
                    update.delivered_at = Set(Some(Utc::now()));
                    update.last_error = Set(None);
                    delivered += 1;
                }
                Err(err) => {
                    let attempts = row.attempts.saturating_add(1);
                    tracing::warn!(event_id = %row.id, topic = %row.topic, attempts, error = %err, "event delivery failed");
                    update.attempts = Set(attempts);
                    update.next_attempt_at = Set(Utc::now() + backoff(attempts));
                    update.last_error = Set(Some(err.to_string()));
                }
            }
            update.update(&self.db).await?;
        }
        Ok(delivered)
    }

    /// Runs until `shutdown`, delivering due events as they appear.
    pub async fn run<F, Fut, E>(self, deliver: F, shutdown: CancellationToken)
    where
        F: Fn(Event) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut last_gauge = std::time::Instant::now() - Duration::from_secs(60);
        loop {
            match self.deliver_batch(&deliver).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "outbox poll failed"),
            }
            if last_gauge.elapsed() >= Duration::from_secs(5) {
                last_gauge = std::time::Instant::now();
                if let Ok(pending) = self.backlog().await {
                    crate::metrics::OUTBOX_PENDING
                        .with_label_values(&[self.component])
                        .set(i64::try_from(pending).unwrap_or(i64::MAX));
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Returns how many events wait for delivery (a metric and an alert).
    pub async fn backlog(&self) -> Result<u64, DbErr> {
        outbox_event::Entity::find()
            .filter(outbox_event::Column::DeliveredAt.is_null())
            .count(&self.db)
            .await
    }
}

/// Delay before retry `attempts`: 1 s doubling to at most 5 minutes.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 10) as u32 - 1;
    chrono::Duration::seconds((1_i64 << exp).min(300))
}

/// The migration creating the outbox and inbox tables; every component includes it.
#[allow(elided_lifetimes_in_paths)]
pub mod migration {
    use sea_orm_migration::prelude::*;

    /// Creates `outbox_events` and `inbox_events`.
    #[derive(Debug)]
    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261126_000001_create_outbox"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table("outbox_events")
                        .if_not_exists()
                        .col(ColumnDef::new("id").uuid().not_null().primary_key())
                        .col(ColumnDef::new("topic").string().not_null())
                        .col(ColumnDef::new("tenant").string().not_null())
                        .col(ColumnDef::new("payload").json().not_null())
                        .col(
                            ColumnDef::new("occurred_at")
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .col(ColumnDef::new("attempts").integer().not_null().default(0))
                        .col(
                            ColumnDef::new("next_attempt_at")
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .col(ColumnDef::new("delivered_at").timestamp_with_time_zone())
                        .col(ColumnDef::new("last_error").text())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("outbox_events_due")
                        .table("outbox_events")
                        .if_not_exists()
                        .col("delivered_at")
                        .col("next_attempt_at")
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table("inbox_events")
                        .if_not_exists()
                        .col(ColumnDef::new("id").uuid().not_null().primary_key())
                        .col(
                            ColumnDef::new("received_at")
                                .timestamp_with_time_zone()
                                .not_null(),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table("inbox_events").to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table("outbox_events").to_owned())
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert_eq!(backoff(1).num_seconds(), 1);
        assert_eq!(backoff(2).num_seconds(), 2);
        assert_eq!(backoff(5).num_seconds(), 16);
        assert_eq!(backoff(50).num_seconds(), 300);
    }
}
