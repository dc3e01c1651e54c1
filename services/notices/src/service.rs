//! The notices service state shared by the gRPC handlers and the delivery worker.

use std::sync::Arc;

use jifen_kit::auth::{CITY_TENANT, Caller, Role};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock};
use crate::delivery::{DeliveryPolicy, DeliveryWorker, Senders};
use crate::error::NoticesError;

/// The `jifen.notices.v1.NoticesService` implementation and its delivery worker's state.
#[derive(Debug, Clone)]
pub struct Notices {
    pub(crate) db: DatabaseConnection,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) senders: Senders,
    pub(crate) policy: DeliveryPolicy,
    pub(crate) wake: Arc<Notify>,
}

impl Notices {
    /// Returns the service over `db` with the system clock and `senders`.
    pub fn new(db: DatabaseConnection, senders: Senders) -> Self {
        Self::with_clock(db, Arc::new(SystemClock), senders)
    }

    /// Returns the service with an explicit clock (tests move time by hand).
    pub fn with_clock(db: DatabaseConnection, clock: Arc<dyn Clock>, senders: Senders) -> Self {
        Self {
            db,
            clock,
            senders,
            policy: DeliveryPolicy::default(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Replaces the delivery policy (attempts, SMS rate limit).
    pub fn with_policy(mut self, policy: DeliveryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Returns the delivery worker over this service's storage, clock and senders.
    pub fn worker(&self) -> DeliveryWorker {
        DeliveryWorker::new(self.clone())
    }
}

/// Returns the tenant an admin manages: district_admin their own, city_admin the one addressed
/// (the city tenant for city-wide objects).
pub(crate) fn managed_tenant(caller: &Caller) -> Result<&str, NoticesError> {
    if caller.has(Role::CityAdmin) || caller.has(Role::DistrictAdmin) {
        Ok(caller.tenant.as_str())
    } else {
        Err(NoticesError::PermissionDenied)
    }
}

/// Returns the tenant a new announcement belongs to and whether it is city-wide.
pub(crate) fn announcement_owner(
    caller: &Caller,
    city_wide: bool,
) -> Result<(String, bool), NoticesError> {
    let tenant = managed_tenant(caller)?;
    if city_wide && !caller.has(Role::CityAdmin) {
        return Err(NoticesError::PermissionDenied);
    }
    if city_wide || tenant == CITY_TENANT {
        Ok((CITY_TENANT.to_owned(), true))
    } else {
        Ok((tenant.to_owned(), false))
    }
}

/// Checks a public tenant code (lowercase letters, digits, `-` and `_`).
pub(crate) fn public_tenant(tenant: &str) -> Result<&str, NoticesError> {
    let tenant = tenant.trim();
    if tenant.is_empty()
        || tenant.len() > 64
        || !tenant
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(NoticesError::invalid(
            "tenant",
            "bad_format",
            "地区代码（tenant）无效",
        ));
    }
    Ok(tenant)
}
