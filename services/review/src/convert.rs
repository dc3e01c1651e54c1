//! Rows and domain values to wire messages and back.

use chrono::{DateTime, Utc};
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::review::v1 as pb;
use jifen_proto::scoring::v1 as sc;
use prost::Message;
use serde_json::{Value, json};

use crate::domain::claims::{Claim, ClaimState};
use crate::store::entities::{application, audit, cycle, objection, task};

/// Who acts, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    /// Account id.
    pub(crate) subject: String,
    /// The role the action was allowed under.
    pub(crate) role: Role,
    /// Tenant of the account.
    pub(crate) tenant: String,
    /// Street or department code.
    pub(crate) scope: String,
}

impl Actor {
    /// Returns the actor of `caller` acting as `role`.
    pub(crate) fn new(caller: &Caller, role: Role) -> Self {
        let scope = match role {
            Role::StreetReviewer => caller.street.clone().unwrap_or_default(),
            Role::DepartmentVerifier => caller.department.clone().unwrap_or_default(),
            _ => String::new(),
        };
        Self {
            subject: caller.subject.clone(),
            role,
            tenant: caller
                .home_tenant
                .clone()
                .unwrap_or_else(|| caller.tenant.clone()),
            scope,
        }
    }

    /// Returns the JSON stored in rows.
    pub(crate) fn to_json(&self) -> Value {
        json!({"subject": self.subject, "role": self.role.as_str(), "tenant": self.tenant, "scope": self.scope})
    }

    /// Returns the wire form.
    pub(crate) fn to_proto(&self) -> common::AuditActor {
        common::AuditActor {
            subject: self.subject.clone(),
            role: role_to_proto(self.role) as i32,
            tenant: self.tenant.clone(),
            display_name_masked: String::new(),
            scope_code: self.scope.clone(),
        }
    }
}

/// Returns the wire form of a stored actor JSON.
pub(crate) fn actor_from_json(value: &Value) -> common::AuditActor {
    let s = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    common::AuditActor {
        subject: s("subject"),
        role: Role::parse(&s("role")).map_or(0, |r| role_to_proto(r) as i32),
        tenant: s("tenant"),
        display_name_masked: String::new(),
        scope_code: s("scope"),
    }
}

/// Maps a kit role to the wire enum.
pub(crate) fn role_to_proto(role: Role) -> common::Role {
    match role {
        Role::Applicant => common::Role::Applicant,
        Role::StreetReviewer => common::Role::StreetReviewer,
        Role::DepartmentVerifier => common::Role::DepartmentVerifier,
        Role::DistrictReviewer => common::Role::DistrictReviewer,
        Role::CityReviewer => common::Role::CityReviewer,
        Role::DistrictAdmin => common::Role::DistrictAdmin,
        Role::CityAdmin => common::Role::CityAdmin,
        Role::System => common::Role::System,
    }
}

/// Returns a protobuf timestamp.
pub(crate) fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn opt_ts(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    at.map(ts)
}

/// Masks a name: `张三丰` → `张*丰`, `张三` → `张*`.
pub(crate) fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => format!("{}*", chars[0]),
        2 => format!("{}*", chars[0]),
        n => format!("{}*{}", chars[0], chars[n - 1]),
    }
}

/// Masks an ID number: `3205**********1234`.
pub(crate) fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// Returns the wire form of a cycle status word.
pub(crate) fn cycle_status(word: &str) -> pb::CycleStatus {
    match word {
        "draft" => pb::CycleStatus::Draft,
        "open" => pb::CycleStatus::Open,
        "closed" => pb::CycleStatus::Closed,
        "archived" => pb::CycleStatus::Archived,
        _ => pb::CycleStatus::Unspecified,
    }
}

fn range(start: &str, end: &str) -> Option<common::DateRange> {
    Some(common::DateRange {
        start_date: start.to_owned(),
        end_date: end.to_owned(),
    })
}

/// Returns the wire form of a cycle.
pub(crate) fn cycle_to_proto(m: &cycle::Model) -> pb::Cycle {
    pb::Cycle {
        cycle_id: m.id.clone(),
        tenant: m.tenant.clone(),
        benefit: m.benefit.clone(),
        year: m.year,
        name_zh: m.name_zh.clone(),
        status: cycle_status(&m.status) as i32,
        application_window: range(&m.application_start, &m.application_end),
        confirmation_window: range(&m.confirmation_start, &m.confirmation_end),
        publicity_window: range(&m.publicity_start, &m.publicity_end),
        objection_window: range(&m.objection_start, &m.objection_end),
        score_as_of_date: m.score_as_of.clone(),
        rule_set: Some(sc::RuleSetRef {
            rule_set_id: m.rule_set_id.clone(),
            version: u32::try_from(m.rule_set_version).unwrap_or(0),
        }),
        seat_plan: pb::SeatPlan::decode(m.seat_plan.as_slice()).ok(),
        pass_mark: m.pass_mark,
        threshold_area: m.threshold_area.clone(),
        auto_confirm_at_window_close: m.auto_confirm,
        version: m.version,
        created_at: Some(ts(m.created_at)),
        updated_at: Some(ts(m.updated_at)),
        updated_by: Some(actor_from_json(&m.updated_by)),
    }
}

/// Returns the claims stored in an application row.
pub(crate) fn claims_of(m: &application::Model) -> Vec<Claim> {
    serde_json::from_value(m.claims.clone()).unwrap_or_default()
}

/// Returns the string list stored as JSON.
pub(crate) fn strings_of(value: &Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn claim_to_proto(c: &Claim) -> pb::Claim {
    let state = match c.state {
        ClaimState::Claimed => pb::VerificationStatus::Claimed,
        ClaimState::Pending => pb::VerificationStatus::Pending,
        ClaimState::Verified => pb::VerificationStatus::Verified,
        ClaimState::Reopened => pb::VerificationStatus::Reopened,
        ClaimState::NotRequired => pb::VerificationStatus::NotRequired,
    };
    pb::Claim {
        fact_key: c.fact_key.clone(),
        person_index: c.person_index,
        indicator: c.indicator.clone(),
        value_json: c.value.to_string(),
        material_ids: c.material_ids.clone(),
        verification_status: state as i32,
        verified_value_json: c
            .verified
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default(),
        department_code: c.department.clone(),
        verification_note: c.note.clone(),
    }
}

fn sheet(bytes: &Option<Vec<u8>>) -> Option<sc::ScoreSheet> {
    bytes
        .as_ref()
        .and_then(|b| sc::ScoreSheet::decode(b.as_slice()).ok())
}

fn overdue(due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    due.is_some_and(|d| d < now)
}

/// The applicant's masked name and ID number, kept in `household.applicant` when the draft was
/// opened (from identity, with the resident's own token).
pub(crate) fn applicant_of(m: &application::Model) -> Option<common::MaskedPerson> {
    let person = m.household.get("applicant").filter(|v| v.is_object())?;
    let s = |k: &str| {
        person
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some(common::MaskedPerson {
        name_masked: s("name_masked"),
        id_number_masked: s("id_number_masked"),
        mobile_masked: String::new(),
    })
}

/// Returns the wire form of an application.
pub(crate) fn application_to_proto(m: &application::Model, now: DateTime<Utc>) -> pb::Application {
    let household = &m.household;
    let child = household.get("child").filter(|v| !v.is_null()).map(|c| {
        let s = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        pb::Child {
            person: Some(common::MaskedPerson {
                name_masked: s("name_masked"),
                id_number_masked: s("id_number_masked"),
                mobile_masked: String::new(),
            }),
            birth_date: s("birth_date"),
            grade: s("grade"),
        }
    });
    let other_parent = household
        .get("other_parent")
        .filter(|v| !v.is_null())
        .map(|p| {
            let s = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            common::MaskedPerson {
                name_masked: s("name_masked"),
                id_number_masked: s("id_number_masked"),
                mobile_masked: String::new(),
            }
        });
    let gate_decisions = m
        .gate_decisions
        .as_array()
        .map(|list| {
            list.iter()
                .map(|g| pb::GateDecision {
                    gate_code: g["gate_code"].as_str().unwrap_or_default().to_owned(),
                    outcome: g["outcome"].as_i64().unwrap_or(0) as i32,
                    reason_zh: g["reason_zh"].as_str().unwrap_or_default().to_owned(),
                    decided_by: Some(actor_from_json(&g["actor"])),
                    decided_at: g["at"]
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| ts(t.with_timezone(&Utc))),
                })
                .collect()
        })
        .unwrap_or_default();
    pb::Application {
        application_id: m.id.clone(),
        application_number: m.number.clone(),
        cycle_id: m.cycle_id.clone(),
        tenant: m.tenant.clone(),
        benefit: m.benefit.clone(),
        applicant_subject: m.applicant_subject.clone(),
        applicant: applicant_of(m),
        status: m.status,
        version: m.version,
        street_code: m.street_code.clone(),
        child,
        other_parent,
        school_preferences: strings_of(&household["school_preferences"]),
        claims: claims_of(m).iter().map(claim_to_proto).collect(),
        claimed_score: sheet(&m.claimed_score),
        verified_score: sheet(&m.verified_score),
        gate_decisions,
        due_at: opt_ts(m.due_at),
        overdue: overdue(m.due_at, now),
        reason_zh: m.reason.clone(),
        returned_fact_keys: strings_of(&m.returned_fact_keys),
        outcome: m.outcome,
        allocated_school: m.allocated_school.clone(),
        created_at: Some(ts(m.created_at)),
        submitted_at: opt_ts(m.submitted_at),
        updated_at: Some(ts(m.updated_at)),
        confirmed_at: opt_ts(m.confirmed_at),
    }
}

/// Returns the list form of an application.
pub(crate) fn summary(m: &application::Model, now: DateTime<Utc>) -> pb::ApplicationSummary {
    pb::ApplicationSummary {
        application_id: m.id.clone(),
        application_number: m.number.clone(),
        cycle_id: m.cycle_id.clone(),
        tenant: m.tenant.clone(),
        benefit: m.benefit.clone(),
        applicant: applicant_of(m),
        status: m.status,
        version: m.version,
        street_code: m.street_code.clone(),
        total: m.total.unwrap_or(0),
        due_at: opt_ts(m.due_at),
        overdue: overdue(m.due_at, now),
        submitted_at: opt_ts(m.submitted_at),
        updated_at: Some(ts(m.updated_at)),
    }
}

/// Returns the wire form of a task.
pub(crate) fn task_to_proto(
    m: &task::Model,
    number: &str,
    now: DateTime<Utc>,
) -> pb::VerificationTask {
    let status = match m.status.as_str() {
        "open" => pb::TaskStatus::Open,
        "done" => pb::TaskStatus::Done,
        "cancelled" => pb::TaskStatus::Cancelled,
        _ => pb::TaskStatus::Unspecified,
    };
    pb::VerificationTask {
        task_id: m.id.clone(),
        application_id: m.application_id.clone(),
        application_number: number.to_owned(),
        cycle_id: m.cycle_id.clone(),
        applicant: None,
        indicator: m.indicator.clone(),
        fact_key: m.fact_key.clone(),
        person_index: u32::try_from(m.person_index).unwrap_or(0),
        department_code: m.department.clone(),
        status: status as i32,
        claimed_value_json: m.claimed_value.clone(),
        material_ids: strings_of(&m.material_ids),
        verified_value_json: m.verified_value.clone().unwrap_or_default(),
        evidence_checked: m.evidence_checked,
        note_zh: m.note.clone(),
        claimed_by: m.claimed_by.as_ref().map(actor_from_json),
        verified_by: m.verified_by.as_ref().map(actor_from_json),
        verified_at: opt_ts(m.verified_at),
        due_at: Some(ts(m.due_at)),
        overdue: m.status == "open" && m.due_at < now,
        reopened: m.reopened,
        version: m.version,
    }
}

/// Returns the wire form of an objection.
pub(crate) fn objection_to_proto(
    m: &objection::Model,
    number: &str,
    now: DateTime<Utc>,
) -> pb::Objection {
    pb::Objection {
        objection_id: m.id.clone(),
        application_id: m.application_id.clone(),
        application_number: number.to_owned(),
        indicator: m.indicator.clone(),
        text_zh: m.text.clone(),
        material_ids: strings_of(&m.material_ids),
        status: m.status,
        filed_at: Some(ts(m.filed_at)),
        due_at: Some(ts(m.due_at)),
        overdue: m.status == pb::ObjectionStatus::Pending as i32 && m.due_at < now,
        reply_zh: m.reply.clone(),
        decided_by: m.decided_by.as_ref().map(actor_from_json),
        decided_at: opt_ts(m.decided_at),
        reopened_fact_keys: strings_of(&m.reopened_fact_keys),
        version: m.version,
    }
}

/// Returns the wire form of an audit record; `hide_staff` blanks staff identities (the owner's
/// view).
pub(crate) fn audit_to_proto(m: &audit::Model, hide_staff: bool) -> pb::AuditRecord {
    let role = Role::parse(&m.actor_role);
    let hide = hide_staff && role != Some(Role::Applicant);
    pb::AuditRecord {
        sequence: u64::try_from(m.sequence).unwrap_or(0),
        application_id: m.application_id.clone(),
        actor: Some(common::AuditActor {
            subject: if hide {
                String::new()
            } else {
                m.actor_subject.clone()
            },
            role: role.map_or(0, |r| role_to_proto(r) as i32),
            tenant: m.actor_tenant.clone(),
            display_name_masked: String::new(),
            scope_code: if hide {
                String::new()
            } else {
                m.actor_scope.clone()
            },
        }),
        action: m.action.clone(),
        from_status: m.from_status,
        to_status: m.to_status,
        reason_zh: m.reason.clone(),
        details_json: m.details.clone(),
        at: Some(ts(m.at)),
        prev_hash: m.prev_hash.clone(),
        hash: m.hash.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_masked() {
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_id("320506199001011234"), "3205**********1234");
    }
}
