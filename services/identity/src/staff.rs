//! Staff management beyond creation: changing a staff member's name, contact, role or scope, and
//! issuing a new one-time password. Callers and scope as CreateStaff: a district admin for the
//! reviewers and verifiers of their tenant, the city admin for anyone.

use jifen_kit::auth::{Caller, Role};

use crate::core::{Core, conflict, one_time_password};
use crate::domain::field::{FieldProblem, text};
use crate::domain::{masking, phone, staff_scope};
use crate::error::IdentityError;
use crate::store::{account, session};

/// A change to a staff account; empty fields and `None` are unchanged.
#[derive(Debug, Clone, Default)]
pub struct StaffChange {
    /// The staff account.
    pub subject: String,
    /// The version the admin saw; 0 = do not check.
    pub expected_version: i64,
    /// New real name.
    pub name: String,
    /// New mobile.
    pub mobile: String,
    /// New role.
    pub role: Option<Role>,
    /// New street scope.
    pub street: String,
    /// New department scope.
    pub department: String,
}

const STAFF: &str = "工作人员账号";

impl Core {
    /// Applies a change to a staff account the caller manages. A changed role or scope revokes
    /// the staff member's sessions (their tokens carry the old grant).
    pub async fn update_staff(
        &self,
        caller: &Caller,
        change: StaffChange,
    ) -> Result<account::Account, IdentityError> {
        let mut staff = self.managed_staff(caller, &change.subject).await?;
        if change.expected_version != 0 && change.expected_version != staff.version {
            return Err(IdentityError::Conflict(STAFF));
        }
        let mobile = if change.mobile.trim().is_empty() {
            Ok(String::new())
        } else {
            phone::parse_mobile("mobile", &change.mobile)
        };
        let problems: Vec<FieldProblem> = [
            text("name", "姓名（name）", &change.name, false, 50),
            mobile.as_ref().map(|_| ()).map_err(Clone::clone),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        if !problems.is_empty() {
            return Err(IdentityError::Invalid(problems));
        }
        let old_role = Role::parse(&staff.role).ok_or(IdentityError::NotFound(STAFF))?;
        let role = change.role.unwrap_or(old_role);
        let street = match change.street.trim() {
            "" => staff.street_code.clone().unwrap_or_default(),
            s => s.to_owned(),
        };
        let department = match change.department.trim() {
            "" => staff.department_code.clone().unwrap_or_default(),
            d => d.to_owned(),
        };
        let street = (role == Role::StreetReviewer).then_some(street);
        let department = (role == Role::DepartmentVerifier).then_some(department);
        let scope_changed =
            role != old_role || street != staff.street_code || department != staff.department_code;
        if scope_changed {
            if staff.id == caller.subject {
                // Nobody widens or narrows their own grant.
                return Err(IdentityError::PermissionDenied);
            }
            let home = caller.home_tenant.as_deref().unwrap_or(&caller.tenant);
            match staff_scope::check_grant(
                &caller.roles,
                home,
                &staff.tenant,
                role,
                street.as_deref().unwrap_or_default(),
                department.as_deref().unwrap_or_default(),
            ) {
                Ok(()) => {}
                Err(staff_scope::ScopeRefusal::NotAllowed) => {
                    return Err(IdentityError::PermissionDenied);
                }
                Err(staff_scope::ScopeRefusal::Invalid(p)) => return Err(p.into()),
            }
            if let Some(code) = &street
                && staff.street_code.as_ref() != Some(code)
            {
                self.check_street_scope(&staff.tenant, code).await?;
            }
        }
        let name = change.name.trim();
        if !name.is_empty() {
            staff.name_enc = self.pii.encrypt(name)?;
            staff.name_masked = masking::name(name);
        }
        let mobile = mobile?;
        if !mobile.is_empty() {
            staff.mobile_enc = Some(self.pii.encrypt(&mobile)?);
            staff.mobile_masked = Some(masking::mobile(&mobile));
        }
        staff.role = role.as_str().to_owned();
        staff.street_code = street;
        staff.department_code = department;
        let staff = account::update(&self.db, staff)
            .await
            .map_err(conflict(STAFF))?;
        if scope_changed {
            session::revoke_account(&self.db, &staff.id, None).await?;
        }
        Ok(staff)
    }

    /// Issues a new one-time password for a staff account the caller manages (never their own:
    /// that is ChangePassword), revokes its sessions and clears its login back-off.
    pub async fn reset_staff_password(
        &self,
        caller: &Caller,
        subject: &str,
    ) -> Result<String, IdentityError> {
        let mut staff = self.managed_staff(caller, subject).await?;
        if staff.id == caller.subject {
            return Err(IdentityError::PermissionDenied);
        }
        let otp = one_time_password();
        staff.password_hash = self.hash_password(&otp).await?;
        staff.must_change_password = true;
        let staff = account::update(&self.db, staff)
            .await
            .map_err(conflict(STAFF))?;
        session::revoke_account(&self.db, &staff.id, None).await?;
        if let Some(login) = &staff.login_name {
            let bidx = self.pii.blind_index("login", login);
            self.limiter.reset(&format!("acct:{bidx}")).await?;
        }
        Ok(otp)
    }
}
