//! Who is calling: a tower layer verifies the bearer token of every gRPC request (health and
//! reflection exempt), checks the tenant in metadata against it, and hands a [`Caller`] to the
//! handlers through request extensions. Handlers then say what they need in one line:
//! `caller(&req)?.require(Role::DistrictAdmin)?`.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::{Deserialize, Serialize};
use tonic::Status;
use tower::{Layer, Service};

/// Metadata key carrying the tenant code the call acts in.
pub const TENANT_HEADER: &str = "x-jifen-tenant";

/// The tenant code of the city office, which owns the city templates and city-wide lists.
pub const CITY_TENANT: &str = "suzhou";

/// Roles of jifen's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A resident applying for benefits.
    Applicant,
    /// 街道/镇 window, 初审, scoped to one street.
    StreetReviewer,
    /// Functional department scoring its own indicators.
    DepartmentVerifier,
    /// 区(市) centre, 复核.
    DistrictReviewer,
    /// 市 office, 终审.
    CityReviewer,
    /// Manages one tenant's rules, cycles, notices and staff.
    DistrictAdmin,
    /// Manages the city and every tenant.
    CityAdmin,
    /// A jifen component calling another; never a person. Valid for every tenant.
    System,
}

impl Role {
    /// Returns the snake_case name used in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::StreetReviewer => "street_reviewer",
            Role::DepartmentVerifier => "department_verifier",
            Role::DistrictReviewer => "district_reviewer",
            Role::CityReviewer => "city_reviewer",
            Role::DistrictAdmin => "district_admin",
            Role::CityAdmin => "city_admin",
            Role::System => "system",
        }
    }

    /// Parses the snake_case name used in tokens.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "applicant" => Role::Applicant,
            "street_reviewer" => Role::StreetReviewer,
            "department_verifier" => Role::DepartmentVerifier,
            "district_reviewer" => Role::DistrictReviewer,
            "city_reviewer" => Role::CityReviewer,
            "district_admin" => Role::DistrictAdmin,
            "city_admin" => Role::CityAdmin,
            "system" => Role::System,
            _ => return None,
        })
    }

    /// Returns whether a token holding this role may address any tenant of the city in
    /// `x-jifen-tenant`: city staff, the system, and applicants (whose accounts are city-wide;
    /// everything they reach is filtered by their own subject).
    pub fn spans_tenants(self) -> bool {
        matches!(
            self,
            Role::CityReviewer | Role::CityAdmin | Role::System | Role::Applicant
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verified identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Tenant the call acts in: the token's tenant, or for city staff the tenant they address
    /// with `x-jifen-tenant`. Every tenant-owned query filters by it.
    pub tenant: String,
    /// Account id.
    pub subject: String,
    /// Roles held in that tenant.
    pub roles: Vec<Role>,
    /// 街道/镇 code for street reviewers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Department code for department verifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Session family the token belongs to (the token's `sid`), so logout can revoke it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The tenant the token was issued in, before `x-jifen-tenant` addressed another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_tenant: Option<String>,
}

impl Caller {
    /// Returns whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Refuses unless the caller holds `role`.
    pub fn require(&self, role: Role) -> Result<&Self, Status> {
        self.require_any(&[role])
    }

    /// Refuses unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<&Self, Status> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(self)
        } else {
            Err(Status::permission_denied("无权执行此操作"))
        }
    }

    /// Refuses unless the caller holds `role` and acts in `tenant` (city roles may act anywhere).
    pub fn require_in(&self, role: Role, tenant: &str) -> Result<&Self, Status> {
        self.require(role)?;
        if self.tenant == tenant || role.spans_tenants() {
            Ok(self)
        } else {
            Err(Status::permission_denied("无权访问该地区的数据"))
        }
    }
}

/// Returns the verified caller of a request, or Unauthenticated.
pub fn caller<T>(req: &tonic::Request<T>) -> Result<&Caller, Status> {
    req.extensions()
        .get::<Caller>()
        .ok_or_else(|| Status::unauthenticated("请先登录"))
}

/// Returns the verified caller when the request carried a token (public rpcs).
pub fn optional_caller<T>(req: &tonic::Request<T>) -> Option<&Caller> {
    req.extensions().get::<Caller>()
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Malformed, badly signed, or expired.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The keys to check it against could not be fetched.
    #[error("token keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Checks a bearer token and returns the caller it proves. Identity's JWKS verifier implements it.
#[tonic::async_trait]
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`.
    async fn verify(&self, token: &str) -> Result<Caller, TokenError>;
}

/// Tower layer that authenticates gRPC requests; see the module docs.
#[derive(Clone, Default)]
pub struct AuthLayer {
    verifier: Option<Arc<dyn TokenVerifier>>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.verifier.is_some())
            .finish()
    }
}

impl AuthLayer {
    /// Verifies tokens with `verifier`.
    pub fn new(verifier: Arc<dyn TokenVerifier>) -> Self {
        Self {
            verifier: Some(verifier),
        }
    }

    /// Refuses every token (a process that cannot verify yet); anonymous calls pass.
    pub fn anonymous_only() -> Self {
        Self { verifier: None }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service produced by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Option<Arc<dyn TokenVerifier>>,
}

/// Returns whether `caller` may act in `tenant`: their own, or any when a role spans tenants.
pub fn may_address(caller: &Caller, tenant: &str) -> bool {
    tenant == caller.tenant || caller.roles.iter().any(|r| r.spans_tenants())
}

fn is_exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The clone is the one that was polled ready; keep it and leave a fresh one behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            req.extensions_mut().remove::<Caller>();
            if is_exempt(req.uri().path()) {
                return inner.call(req).await;
            }
            let token = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned());
            let Some(token) = token.filter(|t| !t.is_empty()) else {
                return inner.call(req).await;
            };
            let Some(verifier) = verifier else {
                return Ok(Status::unauthenticated("登录凭证无效，请重新登录").into_http());
            };
            let mut caller = match verifier.verify(&token).await {
                Ok(caller) => caller,
                Err(TokenError::Invalid(reason)) => {
                    tracing::debug!(%reason, "token refused");
                    return Ok(Status::unauthenticated("登录凭证无效，请重新登录").into_http());
                }
                Err(TokenError::KeysUnavailable(reason)) => {
                    tracing::warn!(%reason, "token keys unavailable");
                    return Ok(Status::unavailable("认证服务暂不可用，请稍后重试").into_http());
                }
            };
            let tenant = req
                .headers()
                .get(TENANT_HEADER)
                .and_then(|v| v.to_str().ok());
            if let Some(tenant) = tenant
                && !may_address(&caller, tenant)
            {
                return Ok(Status::permission_denied("无权访问该地区的数据").into_http());
            }
            // City staff, the system and applicants act in the tenant they address; everyone
            // else only in their own.
            caller.home_tenant = Some(caller.tenant.clone());
            if let Some(tenant) = tenant {
                caller.tenant = tenant.to_owned();
            }
            req.extensions_mut().insert(caller);
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &[Role]) -> Caller {
        Caller {
            tenant: "wuzhong".into(),
            subject: "u1".into(),
            roles: roles.to_vec(),
            street: None,
            department: None,
            session: None,
            home_tenant: None,
        }
    }

    #[test]
    fn staff_address_only_their_tenant_but_city_roles_and_applicants_any() {
        assert!(may_address(&caller(&[Role::DistrictAdmin]), "wuzhong"));
        assert!(!may_address(&caller(&[Role::DistrictAdmin]), "gusu"));
        assert!(!may_address(&caller(&[Role::StreetReviewer]), "gusu"));
        assert!(may_address(&caller(&[Role::CityReviewer]), "gusu"));
        assert!(may_address(&caller(&[Role::Applicant]), "gusu"));
        assert!(
            caller(&[Role::DistrictAdmin])
                .require_in(Role::DistrictAdmin, "wuzhong")
                .is_ok()
        );
        assert!(
            caller(&[Role::DistrictAdmin])
                .require_in(Role::DistrictAdmin, "gusu")
                .is_err()
        );
    }

    #[test]
    fn role_names_round_trip() {
        for role in [
            Role::Applicant,
            Role::StreetReviewer,
            Role::DepartmentVerifier,
            Role::DistrictReviewer,
            Role::CityReviewer,
            Role::DistrictAdmin,
            Role::CityAdmin,
            Role::System,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn require_refuses_missing_role() {
        let c = caller(&[Role::Applicant]);
        assert!(c.require(Role::Applicant).is_ok());
        let err = c.require(Role::DistrictAdmin).expect_err("refused");
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn health_and_reflection_are_exempt() {
        assert!(is_exempt("/grpc.health.v1.Health/Check"));
        assert!(is_exempt(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_exempt("/jifen.scoring.v1.ScoringService/Simulate"));
    }
}
