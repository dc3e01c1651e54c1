//! The tonic service of identity: thin, maps types and errors. IssueServiceToken is not served
//! here (components mint their service tokens with the shared secret) and answers UNIMPLEMENTED
//! through the generated default stub.

use jifen_kit::auth::{Role, caller};
use jifen_proto::common::v1 as common;
use jifen_proto::identity::v1 as pb;
use jifen_proto::identity::v1::identity_service_server::IdentityService;
use tonic::{Request, Response, Status};

use crate::core::{Core, NewStaff, ProfileChange, Registration, Tokens};
use crate::domain::registry::TenantDraft;
use crate::domain::staff_scope::DEPARTMENTS;
use crate::staff::StaffChange;
use crate::store::{account::Account, street, tenant};

/// The `jifen.identity.v1.IdentityService` implementation.
#[derive(Debug, Clone)]
pub struct Identity {
    core: Core,
}

impl Identity {
    /// Returns the service over `core`.
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

fn ts(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

fn tokens(t: Tokens) -> pb::TokenPair {
    pb::TokenPair {
        access_token: t.access,
        access_expires_at: Some(ts(t.access_expires_at)),
        refresh_token: t.refresh,
        refresh_expires_at: Some(ts(t.refresh_expires_at)),
        token_type: "Bearer".to_owned(),
    }
}

fn role_pb(role: &str) -> common::Role {
    match Role::parse(role) {
        Some(Role::Applicant) => common::Role::Applicant,
        Some(Role::StreetReviewer) => common::Role::StreetReviewer,
        Some(Role::DepartmentVerifier) => common::Role::DepartmentVerifier,
        Some(Role::DistrictReviewer) => common::Role::DistrictReviewer,
        Some(Role::CityReviewer) => common::Role::CityReviewer,
        Some(Role::DistrictAdmin) => common::Role::DistrictAdmin,
        Some(Role::CityAdmin) => common::Role::CityAdmin,
        Some(Role::System) => common::Role::System,
        None => common::Role::Unspecified,
    }
}

fn role_from_pb(value: i32) -> Option<Role> {
    Some(match common::Role::try_from(value).ok()? {
        common::Role::Applicant => Role::Applicant,
        common::Role::StreetReviewer => Role::StreetReviewer,
        common::Role::DepartmentVerifier => Role::DepartmentVerifier,
        common::Role::DistrictReviewer => Role::DistrictReviewer,
        common::Role::CityReviewer => Role::CityReviewer,
        common::Role::DistrictAdmin => Role::DistrictAdmin,
        common::Role::CityAdmin => Role::CityAdmin,
        common::Role::System => Role::System,
        common::Role::Unspecified => return None,
    })
}

fn grant(a: &Account) -> pb::RoleGrant {
    pb::RoleGrant {
        role: role_pb(&a.role) as i32,
        tenant: a.tenant.clone(),
        street_code: a.street_code.clone().unwrap_or_default(),
        department_code: a.department_code.clone().unwrap_or_default(),
    }
}

fn person(a: &Account) -> common::MaskedPerson {
    common::MaskedPerson {
        name_masked: a.name_masked.clone(),
        id_number_masked: a.id_number_masked.clone().unwrap_or_default(),
        mobile_masked: a.mobile_masked.clone().unwrap_or_default(),
    }
}

impl Identity {
    fn account(&self, a: &Account) -> Result<pb::Account, Status> {
        Ok(pb::Account {
            subject: a.id.clone(),
            kind: if a.kind == "staff" {
                pb::AccountKind::Staff
            } else {
                pb::AccountKind::Applicant
            } as i32,
            tenant: a.tenant.clone(),
            person: Some(person(a)),
            // Only the owner sees this message (GetMe, Login, Register).
            name: self
                .core
                .pii
                .decrypt(&a.name_enc)
                .map_err(|e| e.to_status())?,
            email: a.email.clone().unwrap_or_default(),
            residence_permit_masked: a.residence_permit_masked.clone().unwrap_or_default(),
            roles: vec![grant(a)],
            created_at: Some(ts(a.created_at)),
            birth_date: a.birth_date.clone().unwrap_or_default(),
        })
    }
}

fn staff(a: &Account) -> pb::Staff {
    pb::Staff {
        subject: a.id.clone(),
        tenant: a.tenant.clone(),
        login_name: a.login_name.clone().unwrap_or_default(),
        person: Some(person(a)),
        role: Some(grant(a)),
        disabled: a.disabled,
        disabled_reason: a.disabled_reason.clone().unwrap_or_default(),
        created_at: Some(ts(a.created_at)),
        created_by: a.created_by.as_ref().map(|s| common::AuditActor {
            subject: s.clone(),
            ..Default::default()
        }),
        last_login_at: a.last_login_at.map(ts),
        version: a.version,
    }
}

fn tenant_pb(t: tenant::tenant_row::Model) -> pb::Tenant {
    let kind = match t.kind.as_str() {
        "city" => pb::TenantKind::City,
        "district" => pb::TenantKind::District,
        "county_city" => pb::TenantKind::CountyCity,
        _ => pb::TenantKind::Unspecified,
    };
    pb::Tenant {
        code: t.code,
        name_zh: t.name_zh,
        kind: kind as i32,
        parent_code: t.parent_code,
        threshold_area: t.threshold_area,
        enabled: t.enabled,
        sort_order: t.sort_order,
        updated_at: Some(ts(t.updated_at)),
    }
}

fn tenant_draft(t: pb::Tenant) -> TenantDraft {
    let kind = match pb::TenantKind::try_from(t.kind).unwrap_or(pb::TenantKind::Unspecified) {
        pb::TenantKind::City => "city",
        pb::TenantKind::District => "district",
        pb::TenantKind::CountyCity => "county_city",
        pb::TenantKind::Unspecified => "",
    };
    TenantDraft {
        code: t.code,
        name_zh: t.name_zh,
        kind: kind.to_owned(),
        parent_code: t.parent_code,
        threshold_area: t.threshold_area,
        enabled: t.enabled,
        sort_order: t.sort_order,
    }
}

fn area_pb(a: crate::registry::Area) -> pb::ThresholdArea {
    pb::ThresholdArea {
        code: a.code,
        name_zh: a.name_zh,
        tenant_codes: a.tenant_codes,
    }
}

fn street_pb(s: street::Street) -> pb::Street {
    pb::Street {
        code: s.code,
        name_zh: s.name_zh,
        enabled: s.enabled,
    }
}

/// Returns the client address for rate limits: the first `x-forwarded-for` hop (set by the
/// gateway; identity is not reachable from outside the cluster), else the peer address.
fn client_address<T>(req: &Request<T>) -> String {
    req.metadata()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .or_else(|| req.remote_addr().map(|a| a.ip().to_string()))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn db(err: sea_orm::DbErr) -> Status {
    crate::error::IdentityError::from(err).to_status()
}

#[tonic::async_trait]
impl IdentityService for Identity {
    async fn list_tenants(
        &self,
        req: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        let all = req.get_ref().include_disabled
            && jifen_kit::auth::optional_caller(&req).is_some_and(|c| c.has(Role::CityAdmin));
        let tenants = tenant::list(&self.core.db)
            .await
            .map_err(db)?
            .into_iter()
            .filter(|t| all || t.enabled)
            .map(tenant_pb)
            .collect();
        Ok(Response::new(pb::ListTenantsResponse {
            tenants,
            next_page_token: String::new(),
        }))
    }

    async fn get_tenant(
        &self,
        req: Request<pb::GetTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let code = &req.get_ref().tenant;
        match tenant::get(&self.core.db, code).await.map_err(db)? {
            Some(t) if t.enabled => Ok(Response::new(tenant_pb(t))),
            _ => Err(crate::error::IdentityError::NotFound("地区").to_status()),
        }
    }

    async fn list_threshold_areas(
        &self,
        _req: Request<pb::ListThresholdAreasRequest>,
    ) -> Result<Response<pb::ListThresholdAreasResponse>, Status> {
        let areas = self
            .core
            .threshold_areas()
            .await
            .map_err(|e| e.to_status())?
            .into_iter()
            .map(area_pb)
            .collect();
        Ok(Response::new(pb::ListThresholdAreasResponse { areas }))
    }

    async fn upsert_tenant(
        &self,
        req: Request<pb::UpsertTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let c = caller(&req)?;
        let draft = req.get_ref().tenant.clone().map(tenant_draft);
        let t = self
            .core
            .upsert_tenant(c, draft)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(tenant_pb(t)))
    }

    async fn upsert_threshold_area(
        &self,
        req: Request<pb::UpsertThresholdAreaRequest>,
    ) -> Result<Response<pb::ThresholdArea>, Status> {
        let c = caller(&req)?;
        let area = req.get_ref().area.clone().unwrap_or_default();
        let area = self
            .core
            .upsert_threshold_area(c, &area.code, &area.name_zh, &area.tenant_codes)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(area_pb(area)))
    }

    async fn list_streets(
        &self,
        req: Request<pb::ListStreetsRequest>,
    ) -> Result<Response<pb::ListStreetsResponse>, Status> {
        let c = jifen_kit::auth::optional_caller(&req);
        let r = req.get_ref();
        let streets = self
            .core
            .list_streets(c, &r.tenant, r.include_disabled)
            .await
            .map_err(|e| e.to_status())?
            .into_iter()
            .map(street_pb)
            .collect();
        Ok(Response::new(pb::ListStreetsResponse { streets }))
    }

    async fn upsert_street(
        &self,
        req: Request<pb::UpsertStreetRequest>,
    ) -> Result<Response<pb::Street>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let street = r
            .street
            .as_ref()
            .map(|s| (s.code.clone(), s.name_zh.clone(), s.enabled));
        let s = self
            .core
            .upsert_street(c, &r.target_tenant, street)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(street_pb(s)))
    }

    async fn list_departments(
        &self,
        _req: Request<pb::ListDepartmentsRequest>,
    ) -> Result<Response<pb::ListDepartmentsResponse>, Status> {
        Ok(Response::new(pb::ListDepartmentsResponse {
            departments: DEPARTMENTS
                .iter()
                .map(|(code, name)| pb::Department {
                    code: (*code).to_owned(),
                    name_zh: (*name).to_owned(),
                })
                .collect(),
        }))
    }

    async fn register(
        &self,
        req: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let client = client_address(&req);
        let r = req.into_inner();
        let (acct, t) = self
            .core
            .register(
                Registration {
                    name: r.name,
                    id_number: r.id_number,
                    mobile: r.mobile,
                    password: r.password,
                    residence_permit: r.residence_permit_number,
                    email: r.email,
                },
                &client,
            )
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(pb::RegisterResponse {
            account: Some(self.account(&acct)?),
            tokens: Some(tokens(t)),
        }))
    }

    async fn login(
        &self,
        req: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let client = client_address(&req);
        let r = req.into_inner();
        let (acct, t) = self
            .core
            .login(&r.login, &r.password, &client)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(pb::LoginResponse {
            tokens: Some(tokens(t)),
            must_change_password: acct.must_change_password,
            account: Some(self.account(&acct)?),
        }))
    }

    async fn refresh(
        &self,
        req: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::TokenPair>, Status> {
        let t = self
            .core
            .refresh(&req.get_ref().refresh_token)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(tokens(t)))
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Result<Response<()>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        self.core
            .logout(c, &r.refresh_token, r.all_sessions)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(()))
    }

    async fn change_password(
        &self,
        req: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<()>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        self.core
            .change_password(c, &r.current_password, &r.new_password)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(()))
    }

    async fn get_me(
        &self,
        req: Request<pb::GetMeRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let c = caller(&req)?;
        let acct = self.core.me(c).await.map_err(|e| e.to_status())?;
        Ok(Response::new(self.account(&acct)?))
    }

    async fn update_my_profile(
        &self,
        req: Request<pb::UpdateMyProfileRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let acct = self
            .core
            .update_my_profile(
                c,
                ProfileChange {
                    mobile: r.mobile.clone(),
                    email: r.email.clone(),
                    residence_permit: r.residence_permit_number.clone(),
                },
            )
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(self.account(&acct)?))
    }

    async fn get_jwks(
        &self,
        _req: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        Ok(Response::new(self.jwks()))
    }

    async fn rotate_signing_key(
        &self,
        req: Request<pb::RotateSigningKeyRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        caller(&req)?.require(Role::CityAdmin)?;
        let ttl = self.core.config.auth.access_ttl_secs as i64;
        let overlap = match req.get_ref().overlap_seconds {
            0 => jifen_kit::jwks::KEYS_TTL.as_secs() as i64,
            n => i64::from(n),
        };
        self.core
            .keys
            .rotate(chrono::Utc::now().timestamp(), overlap, ttl)
            .map_err(|e| e.to_status())?;
        Ok(Response::new(self.jwks()))
    }

    async fn create_staff(
        &self,
        req: Request<pb::CreateStaffRequest>,
    ) -> Result<Response<pb::CreateStaffResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let (acct, otp) = self
            .core
            .create_staff(
                c,
                NewStaff {
                    target_tenant: r.target_tenant.clone(),
                    login_name: r.login_name.clone(),
                    name: r.name.clone(),
                    mobile: r.mobile.clone(),
                    role: role_from_pb(r.role),
                    street: r.street_code.clone(),
                    department: r.department_code.clone(),
                },
            )
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(pb::CreateStaffResponse {
            staff: Some(staff(&acct)),
            one_time_password: otp,
        }))
    }

    async fn update_staff(
        &self,
        req: Request<pb::UpdateStaffRequest>,
    ) -> Result<Response<pb::Staff>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        if r.role != 0 && role_from_pb(r.role).is_none() {
            return Err(crate::error::IdentityError::field(
                crate::domain::field::FieldProblem::new(
                    "role",
                    "unknown_value",
                    "角色（role）无效，请重新选择",
                ),
            )
            .to_status());
        }
        let acct = self
            .core
            .update_staff(
                c,
                StaffChange {
                    subject: r.subject.clone(),
                    expected_version: r.expected_version,
                    name: r.name.clone(),
                    mobile: r.mobile.clone(),
                    role: role_from_pb(r.role),
                    street: r.street_code.clone(),
                    department: r.department_code.clone(),
                },
            )
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(staff(&acct)))
    }

    async fn reset_staff_password(
        &self,
        req: Request<pb::ResetStaffPasswordRequest>,
    ) -> Result<Response<pb::ResetStaffPasswordResponse>, Status> {
        let c = caller(&req)?;
        let one_time_password = self
            .core
            .reset_staff_password(c, &req.get_ref().subject)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(pb::ResetStaffPasswordResponse {
            one_time_password,
        }))
    }

    async fn disable_staff(
        &self,
        req: Request<pb::DisableStaffRequest>,
    ) -> Result<Response<pb::Staff>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let acct = self
            .core
            .set_staff_disabled(c, &r.subject, true, &r.reason)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(staff(&acct)))
    }

    async fn enable_staff(
        &self,
        req: Request<pb::EnableStaffRequest>,
    ) -> Result<Response<pb::Staff>, Status> {
        let c = caller(&req)?;
        let acct = self
            .core
            .set_staff_disabled(c, &req.get_ref().subject, false, "")
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(staff(&acct)))
    }

    async fn get_staff(
        &self,
        req: Request<pb::GetStaffRequest>,
    ) -> Result<Response<pb::Staff>, Status> {
        let c = caller(&req)?;
        let acct = self
            .core
            .managed_staff(c, &req.get_ref().subject)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(staff(&acct)))
    }

    async fn list_staff(
        &self,
        req: Request<pb::ListStaffRequest>,
    ) -> Result<Response<pb::ListStaffResponse>, Status> {
        let c = caller(&req)?;
        let r = req.get_ref();
        let list = self
            .core
            .list_staff(
                c,
                &r.target_tenant,
                &crate::store::account::StaffFilter {
                    role: role_from_pb(r.role).map(|role| role.as_str().to_owned()),
                    street: r.street_code.trim().to_owned(),
                    department: r.department_code.trim().to_owned(),
                    query: r.query.trim().to_lowercase().chars().take(64).collect(),
                    include_disabled: r.include_disabled,
                },
            )
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(pb::ListStaffResponse {
            staff: list.iter().map(staff).collect(),
            next_page_token: String::new(),
        }))
    }
}

impl Identity {
    fn jwks(&self) -> pb::GetJwksResponse {
        let now = chrono::Utc::now().timestamp();
        let published = self.core.keys.published(now);
        let keys: Vec<pb::Jwk> = published
            .iter()
            .map(|k| pb::Jwk {
                kid: k.stored.kid.clone(),
                kty: "OKP".to_owned(),
                crv: "Ed25519".to_owned(),
                x: k.x.clone(),
                alg: "EdDSA".to_owned(),
                key_use: "sig".to_owned(),
                not_before: (k.stored.not_before > 0).then_some(prost_types::Timestamp {
                    seconds: k.stored.not_before,
                    nanos: 0,
                }),
                not_after: (k.stored.not_after > 0).then_some(prost_types::Timestamp {
                    seconds: k.stored.not_after,
                    nanos: 0,
                }),
            })
            .collect();
        let json = serde_json::json!({
            "keys": keys.iter().map(|k| serde_json::json!({
                "kid": k.kid, "kty": k.kty, "crv": k.crv, "x": k.x, "alg": k.alg, "use": k.key_use,
            })).collect::<Vec<_>>()
        });
        pb::GetJwksResponse {
            keys,
            jwks_json: json.to_string(),
        }
    }
}
