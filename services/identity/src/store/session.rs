//! Refresh-token sessions: one row per token (its SHA-256, never the token), grouped in
//! families; presenting a spent token revokes its family.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

/// `sessions` rows.
pub mod session_row {
    use sea_orm::entity::prelude::*;

    /// One refresh token.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Session family (the access token's `sid`).
        pub family_id: String,
        /// Account.
        pub account_id: String,
        /// SHA-256 hex of the refresh token.
        pub refresh_hash: String,
        /// Issued.
        pub created_at: DateTimeUtc,
        /// Expires.
        pub expires_at: DateTimeUtc,
        /// Spent by a refresh.
        pub rotated_at: Option<DateTimeUtc>,
        /// Revoked (logout, reuse, password change, disabled account).
        pub revoked_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use session_row::{Column, Entity};

/// Stores a new refresh token of `family_id`.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    family_id: &str,
    account_id: &str,
    refresh_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    session_row::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        family_id: Set(family_id.to_owned()),
        account_id: Set(account_id.to_owned()),
        refresh_hash: Set(refresh_hash.to_owned()),
        created_at: Set(Utc::now()),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Returns the row of a refresh token hash.
pub async fn find_by_hash<C: ConnectionTrait>(
    db: &C,
    refresh_hash: &str,
) -> Result<Option<session_row::Model>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::RefreshHash.eq(refresh_hash))
        .one(db)
        .await
}

/// Spends a token; returns false when it was already spent or revoked (a reuse).
pub async fn spend<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, sea_orm::DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RotatedAt, Utc::now().into())
        .filter(Column::Id.eq(id))
        .filter(Column::RotatedAt.is_null())
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every token of a family.
pub async fn revoke_family<C: ConnectionTrait>(
    db: &C,
    family_id: &str,
) -> Result<(), sea_orm::DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Utc::now().into())
        .filter(Column::FamilyId.eq(family_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every session of an account, except `keep_family` if given.
pub async fn revoke_account<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    keep_family: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::RevokedAt, Utc::now().into())
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::RevokedAt.is_null());
    if let Some(keep) = keep_family {
        update = update.filter(Column::FamilyId.ne(keep));
    }
    update.exec(db).await?;
    Ok(())
}

/// Returns whether a family still has an unrevoked, unexpired token.
pub async fn family_is_live<C: ConnectionTrait>(
    db: &C,
    family_id: &str,
) -> Result<bool, sea_orm::DbErr> {
    let live = Entity::find()
        .filter(Column::FamilyId.eq(family_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?;
    Ok(live.is_some())
}
