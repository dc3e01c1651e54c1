//! Registry use cases: tenants and threshold areas (city admin), 镇/街道 (the tenant's admin or
//! the city admin). Rules in [`crate::domain::registry`]; nothing is written unless every field
//! passes.

use jifen_kit::auth::{CITY_TENANT, Caller, Role};
use sea_orm::TransactionTrait;

use crate::core::Core;
use crate::domain::field::FieldProblem;
use crate::domain::registry::{self as rules, TenantDraft};
use crate::error::IdentityError;
use crate::store::street::{self, Street};
use crate::store::tenant::{self, tenant_row};

/// A threshold area with its member tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// Code.
    pub code: String,
    /// Display name.
    pub name_zh: String,
    /// Member tenant codes in display order.
    pub tenant_codes: Vec<String>,
}

fn city_admin(caller: &Caller) -> Result<(), IdentityError> {
    if caller.has(Role::CityAdmin) {
        Ok(())
    } else {
        Err(IdentityError::PermissionDenied)
    }
}

impl Core {
    /// Creates or updates a tenant (city admin only) and returns it.
    pub async fn upsert_tenant(
        &self,
        caller: &Caller,
        draft: Option<TenantDraft>,
    ) -> Result<tenant_row::Model, IdentityError> {
        city_admin(caller)?;
        let Some(draft) = draft else {
            return Err(FieldProblem::new("tenant", "required", "请填写地区信息（tenant）").into());
        };
        let areas: Vec<String> = tenant::areas(&self.db)
            .await?
            .into_iter()
            .map(|a| a.code)
            .collect();
        let ok = rules::check_tenant(&draft, &areas).map_err(IdentityError::Invalid)?;
        Ok(tenant::upsert(
            &self.db,
            tenant_row::Model {
                code: ok.code,
                name_zh: ok.name_zh,
                kind: ok.kind,
                parent_code: ok.parent_code,
                threshold_area: ok.threshold_area,
                enabled: ok.enabled,
                sort_order: ok.sort_order,
                updated_at: chrono::Utc::now(),
            },
        )
        .await?)
    }

    /// Returns every threshold area with its members.
    pub async fn threshold_areas(&self) -> Result<Vec<Area>, IdentityError> {
        let tenants = tenant::list(&self.db).await?;
        Ok(tenant::areas(&self.db)
            .await?
            .into_iter()
            .map(|a| Area {
                tenant_codes: tenants
                    .iter()
                    .filter(|t| t.threshold_area == a.code)
                    .map(|t| t.code.clone())
                    .collect(),
                code: a.code,
                name_zh: a.name_zh,
            })
            .collect())
    }

    /// Creates or updates a threshold area (city admin only). Non-empty `members` are moved into
    /// it and must include every current member (a tenant always belongs to one area: it leaves
    /// by joining another); empty `members` leaves membership unchanged.
    pub async fn upsert_threshold_area(
        &self,
        caller: &Caller,
        code: &str,
        name_zh: &str,
        members: &[String],
    ) -> Result<Area, IdentityError> {
        city_admin(caller)?;
        let code = code.trim();
        let tenants = tenant::list(&self.db).await?;
        let districts: Vec<String> = tenants
            .iter()
            .filter(|t| t.code != CITY_TENANT)
            .map(|t| t.code.clone())
            .collect();
        let members = rules::check_area(code, name_zh, members, &districts)
            .map_err(IdentityError::Invalid)?;
        if !members.is_empty() {
            let dropped: Vec<&str> = tenants
                .iter()
                .filter(|t| t.threshold_area == code && !members.contains(&t.code))
                .map(|t| t.name_zh.as_str())
                .collect();
            if !dropped.is_empty() {
                return Err(FieldProblem::new(
                    "area.tenant_codes",
                    "member_dropped",
                    format!(
                        "门槛地区成员（area.tenant_codes）缺少{}：地区不能没有门槛地区，请把它加入另一个门槛地区来移出",
                        dropped.join("、")
                    ),
                )
                .into());
            }
        }
        let txn = self.db.begin().await?;
        tenant::upsert_area(&txn, code, name_zh.trim(), &members).await?;
        txn.commit().await?;
        self.threshold_areas()
            .await?
            .into_iter()
            .find(|a| a.code == code)
            .ok_or(IdentityError::NotFound("门槛地区"))
    }

    /// Lists the streets of a tenant (public). Disabled streets only for the tenant's admin or
    /// the city admin; an unknown or disabled tenant is not found.
    pub async fn list_streets(
        &self,
        caller: Option<&Caller>,
        tenant_code: &str,
        include_disabled: bool,
    ) -> Result<Vec<Street>, IdentityError> {
        let tenant_code = tenant_code.trim();
        if tenant_code.is_empty() {
            return Err(FieldProblem::new("tenant", "required", "请填写地区代码（tenant）").into());
        }
        let admin = caller.is_some_and(|c| {
            c.has(Role::CityAdmin)
                || (c.has(Role::DistrictAdmin)
                    && c.home_tenant.as_deref().unwrap_or(&c.tenant) == tenant_code)
        });
        match tenant::get(&self.db, tenant_code).await? {
            Some(t) if t.enabled || admin => {}
            _ => return Err(IdentityError::NotFound("地区")),
        }
        Ok(street::list(&self.db, tenant_code, include_disabled && admin).await?)
    }

    /// Creates or updates a street of the addressed tenant (its district admin, or the city
    /// admin with `target`).
    pub async fn upsert_street(
        &self,
        caller: &Caller,
        target: &str,
        street: Option<(String, String, bool)>,
    ) -> Result<Street, IdentityError> {
        let tenant = self.addressed_tenant(caller, target).await?;
        if tenant == CITY_TENANT {
            return Err(FieldProblem::new(
                "target_tenant",
                "not_allowed",
                "苏州市（市积分办）没有街道/镇，请在所属地区（target_tenant）中选择区或县级市",
            )
            .into());
        }
        let Some((code, name_zh, enabled)) = street else {
            return Err(
                FieldProblem::new("street", "required", "请填写街道/镇信息（street）").into(),
            );
        };
        let code = code.trim();
        rules::check_street(code, &name_zh).map_err(IdentityError::Invalid)?;
        Ok(street::upsert(&self.db, &tenant, code, name_zh.trim(), enabled).await?)
    }

    /// Checks a street reviewer's scope: once a tenant has streets, the code must be one of its
    /// enabled streets; a tenant without streets takes any well-formed code.
    pub async fn check_street_scope(&self, tenant: &str, code: &str) -> Result<(), IdentityError> {
        if !street::any(&self.db, tenant).await? {
            return Ok(());
        }
        if street::get(&self.db, tenant, code)
            .await?
            .is_some_and(|s| s.enabled)
        {
            return Ok(());
        }
        let known: Vec<String> = street::list(&self.db, tenant, false)
            .await?
            .into_iter()
            .take(30)
            .map(|s| format!("{}（{}）", s.code, s.name_zh))
            .collect();
        Err(FieldProblem::new(
            "street_code",
            "unknown_value",
            format!(
                "街道/镇代码（street_code）“{}”不是本地区在用的街道/镇，可选：{}",
                code.chars().take(32).collect::<String>(),
                known.join("、")
            ),
        )
        .into())
    }
}
