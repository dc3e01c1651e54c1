//! Announcements, templates, inbox messages, channel deliveries and preferences.

use sea_orm_migration::prelude::*;

/// Creates every notices table.
#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261215_000001_create_notices"
    }
}

fn ts(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn ts_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}

fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

fn string(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).string().not_null().to_owned()
}

#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("announcements")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(string("tenant"))
                    .col(ColumnDef::new("city_wide").boolean().not_null())
                    .col(string("category"))
                    .col(text("title"))
                    .col(text("summary"))
                    .col(text("body_markdown"))
                    .col(text("body_html"))
                    .col(ColumnDef::new("attachments").json().not_null())
                    .col(ColumnDef::new("pinned").boolean().not_null())
                    .col(string("related_cycle_id"))
                    .col(string("related_list_id"))
                    .col(string("state"))
                    .col(ts_null("opens_at"))
                    .col(ts_null("closes_at"))
                    .col(ts_null("published_at"))
                    .col(ts("created_at"))
                    .col(ts("updated_at"))
                    .col(ColumnDef::new("updated_by").json().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("announcements_tenant_state")
                    .table("announcements")
                    .if_not_exists()
                    .col("tenant")
                    .col("state")
                    .col("opens_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("notice_templates")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(string("tenant"))
                    .col(string("key"))
                    .col(string("channel"))
                    .col(text("title"))
                    .col(text("body"))
                    .col(ColumnDef::new("variables").json().not_null())
                    .col(ColumnDef::new("enabled").boolean().not_null())
                    .col(ts("updated_at"))
                    .col(ColumnDef::new("updated_by").json().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notice_templates_key")
                    .table("notice_templates")
                    .if_not_exists()
                    .unique()
                    .col("tenant")
                    .col("key")
                    .col("channel")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("inbox_messages")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(string("tenant"))
                    .col(string("recipient_subject"))
                    .col(ColumnDef::new("event_id").uuid().not_null())
                    .col(string("template_key"))
                    .col(text("title"))
                    .col(text("body"))
                    .col(string("application_id"))
                    .col(ts("created_at"))
                    .col(ts_null("read_at"))
                    .to_owned(),
            )
            .await?;
        // The second wall behind receive_once: one message per event and resident.
        manager
            .create_index(
                Index::create()
                    .name("inbox_messages_event")
                    .table("inbox_messages")
                    .if_not_exists()
                    .unique()
                    .col("event_id")
                    .col("recipient_subject")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("inbox_messages_recipient")
                    .table("inbox_messages")
                    .if_not_exists()
                    .col("recipient_subject")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("deliveries")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(string("tenant"))
                    .col(ColumnDef::new("event_id").uuid().not_null())
                    .col(ColumnDef::new("message_id").uuid())
                    .col(string("recipient_subject"))
                    .col(string("template_key"))
                    .col(string("channel"))
                    .col(string("destination"))
                    .col(text("title"))
                    .col(text("body"))
                    .col(string("status"))
                    .col(ColumnDef::new("attempts").integer().not_null())
                    .col(ColumnDef::new("last_error").text())
                    .col(ts("next_attempt_at"))
                    .col(ts_null("sent_at"))
                    .col(ts("created_at"))
                    .to_owned(),
            )
            .await?;
        // Each (event, resident, channel) is delivered once.
        manager
            .create_index(
                Index::create()
                    .name("deliveries_event_channel")
                    .table("deliveries")
                    .if_not_exists()
                    .unique()
                    .col("event_id")
                    .col("recipient_subject")
                    .col("channel")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deliveries_due")
                    .table("deliveries")
                    .if_not_exists()
                    .col("status")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("notice_preferences")
                    .if_not_exists()
                    .col(ColumnDef::new("subject").string().not_null().primary_key())
                    .col(ColumnDef::new("sms_enabled").boolean().not_null())
                    .col(ColumnDef::new("email_enabled").boolean().not_null())
                    .col(string("email"))
                    .col(string("mobile"))
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .col(ts("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "notice_preferences",
            "deliveries",
            "inbox_messages",
            "notice_templates",
            "announcements",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
