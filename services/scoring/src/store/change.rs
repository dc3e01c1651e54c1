//! The append-only change log of rule sets: who did what to which version, when.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

/// `rule_set_changes` rows.
pub mod change_row {
    use sea_orm::entity::prelude::*;

    /// One recorded change.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "rule_set_changes")]
    pub struct Model {
        /// Change id (UUIDv7, so ids sort by time).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Owning tenant of the rule set.
        pub tenant: String,
        /// Rule-set id.
        pub rule_set_id: String,
        /// Version changed.
        pub version: i32,
        /// `created`, `updated`, `validated`, `published`, `frozen`, `deleted`.
        pub action: String,
        /// Who.
        pub actor_subject: String,
        /// The tenant the actor acted in.
        pub actor_tenant: String,
        /// When.
        pub at: DateTimeUtc,
        /// Content hash after the change.
        pub content_hash: String,
        /// For freezes: the cycle.
        pub cycle_id: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use change_row::Model as ChangeRow;
use change_row::{Column, Entity};

/// What a change records.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// Owning tenant.
    pub tenant: &'a str,
    /// Rule-set id.
    pub rule_set_id: &'a str,
    /// Version.
    pub version: u32,
    /// Action word.
    pub action: &'a str,
    /// Actor subject.
    pub actor_subject: &'a str,
    /// Actor tenant.
    pub actor_tenant: &'a str,
    /// Content hash after the change.
    pub content_hash: &'a str,
    /// Cycle for freezes, else empty.
    pub cycle_id: &'a str,
    /// When.
    pub at: DateTime<Utc>,
}

/// Appends a change.
pub async fn record<C: ConnectionTrait>(db: &C, change: Change<'_>) -> Result<(), sea_orm::DbErr> {
    let row = ChangeRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant: change.tenant.to_owned(),
        rule_set_id: change.rule_set_id.to_owned(),
        version: i32::try_from(change.version).unwrap_or(i32::MAX),
        action: change.action.to_owned(),
        actor_subject: change.actor_subject.to_owned(),
        actor_tenant: change.actor_tenant.to_owned(),
        at: change.at,
        content_hash: change.content_hash.to_owned(),
        cycle_id: change.cycle_id.to_owned(),
    };
    Entity::insert(sea_orm::IntoActiveModel::into_active_model(row))
        .exec(db)
        .await?;
    Ok(())
}

/// Lists the changes of `rule_set_id` owned by `tenant`, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    rule_set_id: &str,
) -> Result<Vec<ChangeRow>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::RuleSetId.eq(rule_set_id))
        .order_by_asc(Column::At)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}
