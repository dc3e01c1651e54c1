//! sea-orm entities of the review database. Every table carries `tenant`; repositories in
//! [`super::repo`] always filter by it.

#![allow(missing_docs)]

/// `review_cycles`: annual cycles per tenant and benefit.
pub mod cycle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "review_cycles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant: String,
        pub benefit: String,
        pub year: i32,
        pub name_zh: String,
        /// `draft`, `open`, `closed`, `archived`.
        pub status: String,
        pub application_start: String,
        pub application_end: String,
        pub confirmation_start: String,
        pub confirmation_end: String,
        pub publicity_start: String,
        pub publicity_end: String,
        pub objection_start: String,
        pub objection_end: String,
        pub score_as_of: String,
        pub rule_set_id: String,
        pub rule_set_version: i32,
        /// Whether scoring confirmed the freeze (false when it could not be asked yet).
        pub rule_set_frozen: bool,
        /// Encoded `SeatPlan`.
        pub seat_plan: Vec<u8>,
        pub pass_mark: i64,
        pub threshold_area: String,
        pub auto_confirm: bool,
        /// Last application number handed out.
        pub next_number: i64,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub updated_by: Json,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `applications`.
pub mod application {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "applications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant: String,
        pub cycle_id: String,
        pub benefit: String,
        pub number: String,
        pub applicant_subject: String,
        pub street_code: String,
        /// `ApplicationStatus` wire number.
        pub status: i32,
        /// Optimistic-concurrency version.
        pub version: i64,
        /// `<cycle>/<applicant>` while active, NULL once rejected or withdrawn (unique).
        pub active_key: Option<String>,
        /// `[Claim]` (domain::claims).
        pub claims: Json,
        /// Child, other parent (masked) and school preferences.
        pub household: Json,
        /// Encoded claimed-facts `ScoreSheet`.
        pub claimed_score: Option<Vec<u8>>,
        /// Encoded verified-facts `ScoreSheet`.
        pub verified_score: Option<Vec<u8>>,
        pub total: Option<i64>,
        /// `[{gate_code, outcome, reason_zh, actor, at}]`.
        pub gate_decisions: Json,
        pub due_at: Option<DateTimeUtc>,
        pub reason: String,
        pub returned_fact_keys: Json,
        pub outcome: i32,
        pub allocated_school: String,
        pub resubmitted: bool,
        pub created_at: DateTimeUtc,
        pub submitted_at: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
        pub confirmed_at: Option<DateTimeUtc>,
        /// Sequence of the last audit record (0 before the first); moves with every append, in
        /// the transaction that holds this row.
        pub audit_sequence: i64,
        /// Hash of the last audit record (`GENESIS_HASH` before the first).
        pub audit_head: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `verification_tasks`: one per (application, person, fact, department).
pub mod task {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "verification_tasks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant: String,
        pub application_id: String,
        pub cycle_id: String,
        pub indicator: String,
        pub fact_key: String,
        pub person_index: i32,
        pub department: String,
        /// `open`, `done`, `cancelled`.
        pub status: String,
        pub claimed_value: String,
        pub material_ids: Json,
        pub verified_value: Option<String>,
        pub evidence_checked: bool,
        pub note: String,
        pub claimed_by: Option<Json>,
        pub claimed_by_subject: Option<String>,
        pub claimed_at: Option<DateTimeUtc>,
        pub verified_by: Option<Json>,
        pub verified_at: Option<DateTimeUtc>,
        pub due_at: DateTimeUtc,
        pub reopened: bool,
        pub version: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `queue_claims`: who took an application at its current level.
pub mod queue_claim {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "queue_claims")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub application_id: String,
        pub tenant: String,
        /// `ReviewLevel` wire number.
        pub level: i32,
        pub subject: String,
        pub actor: Json,
        pub claimed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `objections` (复核申请).
pub mod objection {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "objections")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub tenant: String,
        pub application_id: String,
        pub cycle_id: String,
        pub applicant_subject: String,
        pub indicator: String,
        pub text: String,
        pub material_ids: Json,
        /// `ObjectionStatus` wire number.
        pub status: i32,
        pub filed_at: DateTimeUtc,
        pub due_at: DateTimeUtc,
        pub reply: String,
        pub decided_by: Option<Json>,
        pub decided_at: Option<DateTimeUtc>,
        pub reopened_fact_keys: Json,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_entries`: the hash-chained trail, append only.
pub mod audit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub application_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sequence: i64,
        pub tenant: String,
        pub actor_subject: String,
        pub actor_role: String,
        pub actor_tenant: String,
        pub actor_scope: String,
        pub action: String,
        pub from_status: i32,
        pub to_status: i32,
        pub reason: String,
        pub details: String,
        pub at: DateTimeUtc,
        pub due_at: Option<DateTimeUtc>,
        pub prev_hash: String,
        pub hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `sla_policies`: working days per step, per tenant.
pub mod sla_policy {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sla_policies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant: String,
        pub street_review_days: i32,
        pub district_review_days: i32,
        pub department_verification_days: i32,
        pub city_review_days: i32,
        pub resubmission_days: i32,
        pub objection_reply_days: i32,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `working_calendars`: holidays and 调休 days per tenant and year.
pub mod calendar {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "working_calendars")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub holidays: Json,
        pub extra_working_days: Json,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `idempotency_keys`: client keys of drafts, submissions and objections.
pub mod idempotency {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub applicant_subject: String,
        /// `draft`, `submit`, `objection`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub target_id: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
