//! Accounts and their blind-indexed login identifiers. Staff are read only within a tenant.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

/// `accounts` rows.
pub mod account_row {
    use sea_orm::entity::prelude::*;

    /// An applicant or staff account; personal data only encrypted (`*_enc`) or masked.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        /// Account id (the token's `sub`).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `applicant` or `staff`.
        pub kind: String,
        /// Home tenant (the city for applicants).
        pub tenant: String,
        /// Staff login name.
        pub login_name: Option<String>,
        /// Encrypted real name.
        pub name_enc: String,
        /// Masked name.
        pub name_masked: String,
        /// Encrypted ID number.
        pub id_number_enc: Option<String>,
        /// Masked ID number.
        pub id_number_masked: Option<String>,
        /// Encrypted mobile number.
        pub mobile_enc: Option<String>,
        /// Masked mobile number.
        pub mobile_masked: Option<String>,
        /// Encrypted 居住证号.
        pub residence_permit_enc: Option<String>,
        /// Masked 居住证号.
        pub residence_permit_masked: Option<String>,
        /// Email for notifications.
        pub email: Option<String>,
        /// Birth date from the ID number.
        pub birth_date: Option<String>,
        /// argon2id PHC string.
        pub password_hash: String,
        /// One-time password still in use.
        pub must_change_password: bool,
        /// Role name.
        pub role: String,
        /// Street scope.
        pub street_code: Option<String>,
        /// Department scope.
        pub department_code: Option<String>,
        /// Disabled accounts cannot log in.
        pub disabled: bool,
        /// Why.
        pub disabled_reason: Option<String>,
        /// Creating admin.
        pub created_by: Option<String>,
        /// Created.
        pub created_at: DateTimeUtc,
        /// Last successful login.
        pub last_login_at: Option<DateTimeUtc>,
        /// Optimistic concurrency version.
        pub version: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `login_identifiers` rows: blind index → account.
pub mod identifier_row {
    use sea_orm::entity::prelude::*;

    /// A unique identifier of an account, as a blind index.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_identifiers")]
    pub struct Model {
        /// HMAC of the identifier.
        #[sea_orm(primary_key, auto_increment = false)]
        pub bidx: String,
        /// Account.
        pub account_id: String,
        /// `id`, `mobile` or `login`.
        pub kind: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use account_row::Model as Account;

/// Returns whether any of `bidxs` is taken.
pub async fn any_identifier_taken<C: ConnectionTrait>(
    db: &C,
    bidxs: &[String],
) -> Result<bool, sea_orm::DbErr> {
    let found = identifier_row::Entity::find()
        .filter(identifier_row::Column::Bidx.is_in(bidxs.iter().cloned()))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Inserts an account and its identifiers (call inside a transaction).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    account: Account,
    identifiers: &[(String, &str)],
) -> Result<(), sea_orm::DbErr> {
    let id = account.id.clone();
    account_row::ActiveModel::from(account).insert(db).await?;
    for (bidx, kind) in identifiers {
        identifier_row::ActiveModel {
            bidx: Set(bidx.clone()),
            account_id: Set(id.clone()),
            kind: Set((*kind).to_owned()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Returns the account a login blind index points at.
pub async fn find_by_identifier<C: ConnectionTrait>(
    db: &C,
    bidx: &str,
) -> Result<Option<Account>, sea_orm::DbErr> {
    let Some(identifier) = identifier_row::Entity::find_by_id(bidx.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    account_row::Entity::find_by_id(identifier.account_id)
        .one(db)
        .await
}

/// Returns the caller's own account by subject.
pub async fn find_own<C: ConnectionTrait>(
    db: &C,
    subject: &str,
) -> Result<Option<Account>, sea_orm::DbErr> {
    account_row::Entity::find_by_id(subject.to_owned())
        .one(db)
        .await
}

/// Returns a staff account of `tenant`; another tenant's account is not found.
pub async fn find_staff<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    subject: &str,
) -> Result<Option<Account>, sea_orm::DbErr> {
    account_row::Entity::find_by_id(subject.to_owned())
        .filter(account_row::Column::Tenant.eq(tenant))
        .filter(account_row::Column::Kind.eq("staff"))
        .one(db)
        .await
}

/// Filters of a staff listing; empty = any.
#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    /// Role name.
    pub role: Option<String>,
    /// Street scope.
    pub street: String,
    /// Department scope.
    pub department: String,
    /// Substring of the login name (lower-case).
    pub query: String,
    /// Include disabled accounts.
    pub include_disabled: bool,
}

/// Lists staff of `tenant` matching `filter`, by login name.
pub async fn list_staff<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    filter: &StaffFilter,
) -> Result<Vec<Account>, sea_orm::DbErr> {
    let mut query = account_row::Entity::find()
        .filter(account_row::Column::Tenant.eq(tenant))
        .filter(account_row::Column::Kind.eq("staff"));
    if !filter.include_disabled {
        query = query.filter(account_row::Column::Disabled.eq(false));
    }
    if let Some(role) = &filter.role {
        query = query.filter(account_row::Column::Role.eq(role.as_str()));
    }
    if !filter.street.is_empty() {
        query = query.filter(account_row::Column::StreetCode.eq(filter.street.as_str()));
    }
    if !filter.department.is_empty() {
        query = query.filter(account_row::Column::DepartmentCode.eq(filter.department.as_str()));
    }
    if !filter.query.is_empty() {
        query = query.filter(account_row::Column::LoginName.contains(filter.query.as_str()));
    }
    query
        .order_by_asc(account_row::Column::LoginName)
        .all(db)
        .await
}

/// Writes every column of a changed account if its version is still `account.version`, bumping
/// it; a concurrent change answers `DbErr::RecordNotUpdated`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    account: Account,
) -> Result<Account, sea_orm::DbErr> {
    let version = account.version;
    let mut active = account_row::ActiveModel::from(account).reset_all();
    active.version = Set(version + 1);
    account_row::Entity::update(active)
        .validate()?
        .filter(account_row::Column::Version.eq(version))
        .exec(db)
        .await
}

/// Records a successful login (no version bump: it changes nothing an admin edits).
pub async fn touch_login<C: ConnectionTrait>(
    db: &C,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sea_orm::DbErr> {
    account_row::Entity::update_many()
        .col_expr(account_row::Column::LastLoginAt, at.into())
        .filter(account_row::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Replaces the identifier of `kind` (e.g. `mobile`) of an account with `bidx` (call inside a
/// transaction; a taken `bidx` fails on the primary key).
pub async fn replace_identifier<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    kind: &str,
    bidx: &str,
) -> Result<(), sea_orm::DbErr> {
    identifier_row::Entity::delete_many()
        .filter(identifier_row::Column::AccountId.eq(account_id))
        .filter(identifier_row::Column::Kind.eq(kind))
        .exec(db)
        .await?;
    identifier_row::ActiveModel {
        bidx: Set(bidx.to_owned()),
        account_id: Set(account_id.to_owned()),
        kind: Set(kind.to_owned()),
    }
    .insert(db)
    .await?;
    Ok(())
}
