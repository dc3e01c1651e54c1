//! Creates `accounts` (personal data only encrypted and masked) and `login_identifiers` (blind
//! indexes: unique ID numbers, mobiles and staff login names, and the lookup at login).

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000002_create_accounts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("accounts")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("kind").string().not_null())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("login_name").string())
                    .col(ColumnDef::new("name_enc").text().not_null())
                    .col(ColumnDef::new("name_masked").string().not_null())
                    .col(ColumnDef::new("id_number_enc").text())
                    .col(ColumnDef::new("id_number_masked").string())
                    .col(ColumnDef::new("mobile_enc").text())
                    .col(ColumnDef::new("mobile_masked").string())
                    .col(ColumnDef::new("residence_permit_enc").text())
                    .col(ColumnDef::new("residence_permit_masked").string())
                    .col(ColumnDef::new("email").string())
                    .col(ColumnDef::new("birth_date").string())
                    .col(ColumnDef::new("password_hash").text().not_null())
                    .col(ColumnDef::new("must_change_password").boolean().not_null())
                    .col(ColumnDef::new("role").string().not_null())
                    .col(ColumnDef::new("street_code").string())
                    .col(ColumnDef::new("department_code").string())
                    .col(ColumnDef::new("disabled").boolean().not_null())
                    .col(ColumnDef::new("disabled_reason").string())
                    .col(ColumnDef::new("created_by").string())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("last_login_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("accounts_tenant_role")
                    .table("accounts")
                    .if_not_exists()
                    .col("tenant")
                    .col("role")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("login_identifiers")
                    .if_not_exists()
                    .col(ColumnDef::new("bidx").string().not_null().primary_key())
                    .col(ColumnDef::new("account_id").string().not_null())
                    .col(ColumnDef::new("kind").string().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("login_identifiers").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("accounts").to_owned())
            .await
    }
}
