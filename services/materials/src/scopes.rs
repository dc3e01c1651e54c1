//! Where materials learns which staff an application's evidence belongs to: its street of
//! residence and which department verifies each indicator. Review owns both (the applicant may
//! change the street while the application is a draft or returned, and the district approval
//! routes indicators to departments), so materials asks review when a street reviewer or a
//! department verifier wants a file, and keeps no copy that could go stale.
//!
//! Production uses [`ReviewScopes`] (review's `GetApplication` with materials' service token).
//! [`StaticScopes`] answers from memory, for tests and benchmarks that run materials alone;
//! [`NoScopes`] knows no application, so street reviewers and verifiers get nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use jifen_kit::component::Peers;
use jifen_kit::service_token::ServiceTokens;
use jifen_proto::review::v1 as review;
use jifen_proto::review::v1::review_service_client::ReviewServiceClient;

use crate::domain::access::{ApplicationScope, Verification};
use crate::error::MaterialsError;

/// A source of application scopes; see the module docs for the implementations.
#[tonic::async_trait]
pub trait ScopeSource: Send + Sync + fmt::Debug + 'static {
    /// Returns the scope of `application_id` in `tenant`, or `None` when review does not know
    /// the application. Errors mean review could not answer (the caller then gets no URL).
    async fn scope(
        &self,
        tenant: &str,
        application_id: &str,
    ) -> Result<Option<ApplicationScope>, MaterialsError>;
}

/// Review over gRPC, called with materials' service token in the material's tenant.
#[derive(Debug, Clone)]
pub struct ReviewScopes {
    peers: Peers,
    tokens: Arc<ServiceTokens>,
}

impl ReviewScopes {
    /// Returns a source calling the review peer as the materials component.
    pub fn new(peers: Peers, tokens: Arc<ServiceTokens>) -> Self {
        Self { peers, tokens }
    }
}

#[tonic::async_trait]
impl ScopeSource for ReviewScopes {
    async fn scope(
        &self,
        tenant: &str,
        application_id: &str,
    ) -> Result<Option<ApplicationScope>, MaterialsError> {
        let channel = self
            .peers
            .channel("review")
            .map_err(|e| MaterialsError::Unavailable(e.to_string()))?;
        let mut request = self.tokens.request(
            review::GetApplicationRequest {
                application_id: application_id.to_owned(),
            },
            tenant,
        );
        request.set_timeout(std::time::Duration::from_secs(5));
        match ReviewServiceClient::new(channel)
            .get_application(request)
            .await
        {
            Ok(reply) => Ok(Some(from_application(&reply.into_inner()))),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => {
                tracing::warn!(tenant, application_id, code = ?status.code(), message = status.message(), "review did not answer an access scope");
                Err(MaterialsError::Unavailable(format!(
                    "review get_application: {}: {}",
                    status.code(),
                    status.message()
                )))
            }
        }
    }
}

/// Returns the scope part of review's application.
pub fn from_application(app: &review::Application) -> ApplicationScope {
    ApplicationScope {
        street_code: app.street_code.clone(),
        verifications: app
            .claims
            .iter()
            .map(|c| Verification {
                indicator: c.indicator.clone(),
                department: c.department_code.clone(),
                material_ids: c.material_ids.clone(),
            })
            .collect(),
    }
}

/// Scopes held in memory (tests, benchmarks, materials run without review).
#[derive(Debug, Clone, Default)]
pub struct StaticScopes {
    known: Arc<Mutex<HashMap<(String, String), ApplicationScope>>>,
}

impl StaticScopes {
    /// Returns an empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or replaces) the scope of an application.
    pub fn set(&self, tenant: &str, application_id: &str, scope: ApplicationScope) {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((tenant.to_owned(), application_id.to_owned()), scope);
    }
}

#[tonic::async_trait]
impl ScopeSource for StaticScopes {
    async fn scope(
        &self,
        tenant: &str,
        application_id: &str,
    ) -> Result<Option<ApplicationScope>, MaterialsError> {
        Ok(self
            .known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(tenant.to_owned(), application_id.to_owned()))
            .cloned())
    }
}

/// Knows no application: street reviewers and department verifiers are refused everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoScopes;

#[tonic::async_trait]
impl ScopeSource for NoScopes {
    async fn scope(
        &self,
        _tenant: &str,
        _application_id: &str,
    ) -> Result<Option<ApplicationScope>, MaterialsError> {
        Ok(None)
    }
}
