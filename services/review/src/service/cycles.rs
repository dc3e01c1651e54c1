//! Cycles, SLA policies and working calendars.

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_proto::review::v1 as pb;
use prost::Message;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Review, new_id, next_token, page, target_tenant};
use crate::convert::{Actor, cycle_to_proto};
use crate::domain::calendar::parse_date;
use crate::domain::scope::{self, may_manage_tenant};
use crate::domain::sla::SlaPolicy;
use crate::error::ReviewError;
use crate::score_source::ScoreError;
use crate::store::entities::{calendar, cycle, sla_policy};
use crate::store::repo;

fn check_date(field: &'static str, text: &str) -> Result<(), ReviewError> {
    if text.is_empty() || parse_date(text).is_some() {
        Ok(())
    } else {
        Err(ReviewError::invalid(
            field,
            format!("{field} 日期格式应为 YYYY-MM-DD"),
        ))
    }
}

fn window(range: &Option<jifen_proto::common::v1::DateRange>) -> (String, String) {
    range
        .as_ref()
        .map(|r| (r.start_date.clone(), r.end_date.clone()))
        .unwrap_or_default()
}

/// Copies the editable fields of `c` onto `am`; `frozen` keeps the rule set and as-of date.
fn apply_fields(
    am: &mut cycle::ActiveModel,
    c: &pb::Cycle,
    frozen: bool,
) -> Result<(), ReviewError> {
    let windows = [
        ("application_window", &c.application_window),
        ("confirmation_window", &c.confirmation_window),
        ("publicity_window", &c.publicity_window),
        ("objection_window", &c.objection_window),
    ];
    for (field, w) in windows {
        let (s, e) = window(w);
        check_date(field, &s)?;
        check_date(field, &e)?;
    }
    check_date("score_as_of_date", &c.score_as_of_date)?;
    let (a0, a1) = window(&c.application_window);
    let (c0, c1) = window(&c.confirmation_window);
    let (p0, p1) = window(&c.publicity_window);
    let (o0, o1) = window(&c.objection_window);
    am.name_zh = Set(c.name_zh.clone());
    am.application_start = Set(a0);
    am.application_end = Set(a1);
    am.confirmation_start = Set(c0);
    am.confirmation_end = Set(c1);
    am.publicity_start = Set(p0);
    am.publicity_end = Set(p1);
    am.objection_start = Set(o0);
    am.objection_end = Set(o1);
    am.seat_plan = Set(c.seat_plan.clone().unwrap_or_default().encode_to_vec());
    am.pass_mark = Set(c.pass_mark);
    am.threshold_area = Set(c.threshold_area.clone());
    am.auto_confirm = Set(c.auto_confirm_at_window_close);
    if !frozen {
        let rs = c.rule_set.clone().unwrap_or_default();
        am.score_as_of = Set(c.score_as_of_date.clone());
        am.rule_set_id = Set(rs.rule_set_id);
        am.rule_set_version = Set(i32::try_from(rs.version).unwrap_or(0));
    }
    Ok(())
}

impl Review {
    /// CreateCycle.
    pub async fn create_cycle(
        &self,
        caller: &Caller,
        req: pb::CreateCycleRequest,
    ) -> Result<pb::Cycle, ReviewError> {
        let tenant = target_tenant(caller, &req.target_tenant);
        let role = may_manage_tenant(caller, &tenant)?;
        let c = req
            .cycle
            .ok_or_else(|| ReviewError::invalid("cycle", "缺少批次信息"))?;
        if c.benefit.trim().is_empty() {
            return Err(ReviewError::invalid("cycle.benefit", "请填写积分类别"));
        }
        if !(2000..=2100).contains(&c.year) {
            return Err(ReviewError::invalid("cycle.year", "年度不正确"));
        }
        let now = Utc::now();
        let mut am = cycle::ActiveModel {
            id: Set(new_id()),
            tenant: Set(tenant),
            benefit: Set(c.benefit.trim().to_owned()),
            year: Set(c.year),
            status: Set("draft".to_owned()),
            rule_set_frozen: Set(false),
            next_number: Set(0),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            updated_by: Set(Actor::new(caller, role).to_json()),
            ..Default::default()
        };
        apply_fields(&mut am, &c, false)?;
        let model = am.insert(&self.db).await?;
        Ok(cycle_to_proto(&model))
    }

    /// UpdateCycle.
    pub async fn update_cycle(
        &self,
        caller: &Caller,
        req: pb::UpdateCycleRequest,
    ) -> Result<pb::Cycle, ReviewError> {
        let c = req
            .cycle
            .ok_or_else(|| ReviewError::invalid("cycle", "缺少批次信息"))?;
        let current = repo::cycle(&self.db, &caller.tenant, &c.cycle_id).await?;
        let role = may_manage_tenant(caller, &current.tenant)?;
        if current.status == "archived" {
            return Err(ReviewError::Precondition("已归档的批次不能修改".into()));
        }
        let mut am = <cycle::ActiveModel as Default>::default();
        apply_fields(&mut am, &c, current.status != "draft")?;
        am.version = Set(req.expected_version + 1);
        am.updated_at = Set(Utc::now());
        am.updated_by = Set(Actor::new(caller, role).to_json());
        let done = cycle::Entity::update_many()
            .set(am)
            .filter(cycle::Column::Id.eq(current.id.clone()))
            .filter(cycle::Column::Tenant.eq(current.tenant.clone()))
            .filter(cycle::Column::Version.eq(req.expected_version))
            .exec(&self.db)
            .await?;
        if done.rows_affected != 1 {
            return Err(ReviewError::StaleVersion);
        }
        Ok(cycle_to_proto(
            &repo::cycle(&self.db, &current.tenant, &current.id).await?,
        ))
    }

    /// GetCycle.
    pub async fn get_cycle(
        &self,
        caller: &Caller,
        req: pb::GetCycleRequest,
    ) -> Result<pb::Cycle, ReviewError> {
        let c = repo::cycle(&self.db, &caller.tenant, &req.cycle_id).await?;
        if c.status == "draft" && !scope::is_staff(caller) {
            return Err(ReviewError::NotFound("申请批次"));
        }
        Ok(cycle_to_proto(&c))
    }

    #[allow(clippy::too_many_arguments)]
    async fn list_cycles_of(
        &self,
        tenant: &str,
        benefit: &str,
        year: i32,
        status: Option<&'static str>,
        hide_drafts: bool,
        page_size: i32,
        token: &str,
    ) -> Result<pb::ListCyclesResponse, ReviewError> {
        let (offset, limit) = page(page_size, token)?;
        let mut q = cycle::Entity::find().filter(cycle::Column::Tenant.eq(tenant));
        if !benefit.is_empty() {
            q = q.filter(cycle::Column::Benefit.eq(benefit));
        }
        if year != 0 {
            q = q.filter(cycle::Column::Year.eq(year));
        }
        if let Some(s) = status {
            q = q.filter(cycle::Column::Status.eq(s));
        }
        if hide_drafts {
            q = q.filter(cycle::Column::Status.ne("draft"));
        }
        let rows = q
            .order_by_desc(cycle::Column::Year)
            .order_by_asc(cycle::Column::Benefit)
            .order_by_asc(cycle::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(pb::ListCyclesResponse {
            next_page_token: next_token(offset, limit, rows.len()),
            cycles: rows.iter().map(cycle_to_proto).collect(),
        })
    }

    /// ListCycles.
    pub async fn list_cycles(
        &self,
        caller: &Caller,
        req: pb::ListCyclesRequest,
    ) -> Result<pb::ListCyclesResponse, ReviewError> {
        let status = match pb::CycleStatus::try_from(req.status).unwrap_or_default() {
            pb::CycleStatus::Draft => Some("draft"),
            pb::CycleStatus::Open => Some("open"),
            pb::CycleStatus::Closed => Some("closed"),
            pb::CycleStatus::Archived => Some("archived"),
            pb::CycleStatus::Unspecified => None,
        };
        let staff = scope::is_staff(caller);
        self.list_cycles_of(
            &caller.tenant,
            &req.benefit,
            req.year,
            status,
            !staff,
            req.page_size,
            &req.page_token,
        )
        .await
    }

    /// ListPublicCycles (no caller; the tenant is a field).
    pub async fn list_public_cycles(
        &self,
        req: pb::ListPublicCyclesRequest,
    ) -> Result<pb::ListCyclesResponse, ReviewError> {
        if req.tenant.is_empty() {
            return Err(ReviewError::invalid("tenant", "请指定地区"));
        }
        self.list_cycles_of(
            &req.tenant,
            &req.benefit,
            req.year,
            None,
            true,
            req.page_size,
            &req.page_token,
        )
        .await
    }

    /// OpenCycle: asks scoring to freeze the rule set. When scoring does not implement
    /// FreezeRuleSet yet, the requested version is recorded unfrozen (`rule_set_frozen = false`)
    /// and the cycle opens anyway; an unreachable scoring refuses with UNAVAILABLE.
    pub async fn open_cycle(
        &self,
        caller: &Caller,
        req: pb::OpenCycleRequest,
    ) -> Result<pb::Cycle, ReviewError> {
        let current = repo::cycle(&self.db, &caller.tenant, &req.cycle_id).await?;
        let role = may_manage_tenant(caller, &current.tenant)?;
        if current.version != req.expected_version {
            return Err(ReviewError::StaleVersion);
        }
        if current.status != "draft" {
            return Err(ReviewError::Precondition(
                "只有草稿状态的批次可以开放".into(),
            ));
        }
        if current.rule_set_id.is_empty() || parse_date(&current.score_as_of).is_none() {
            return Err(ReviewError::invalid(
                "rule_set",
                "开放前请设置积分规则和计分基准日",
            ));
        }
        let rs = jifen_proto::scoring::v1::RuleSetRef {
            rule_set_id: current.rule_set_id.clone(),
            version: u32::try_from(current.rule_set_version).unwrap_or(0),
        };
        let (version, frozen) = match self.scores.freeze(&current.tenant, &rs, &current.id).await {
            Ok(v) => (v, true),
            Err(ScoreError::Unimplemented) => {
                tracing::warn!(cycle = %current.id, "scoring FreezeRuleSet not implemented; rule set recorded unfrozen");
                (rs.version, false)
            }
            Err(ScoreError::Refused(msg)) => return Err(ReviewError::Precondition(msg)),
            Err(ScoreError::Unavailable(e)) => return Err(ReviewError::ScoringUnavailable(e)),
        };
        let am = cycle::ActiveModel {
            status: Set("open".to_owned()),
            rule_set_version: Set(i32::try_from(version).unwrap_or(0)),
            rule_set_frozen: Set(frozen),
            version: Set(current.version + 1),
            updated_at: Set(Utc::now()),
            updated_by: Set(Actor::new(caller, role).to_json()),
            ..Default::default()
        };
        let done = cycle::Entity::update_many()
            .set(am)
            .filter(cycle::Column::Id.eq(current.id.clone()))
            .filter(cycle::Column::Tenant.eq(current.tenant.clone()))
            .filter(cycle::Column::Version.eq(current.version))
            .exec(&self.db)
            .await?;
        if done.rows_affected != 1 {
            return Err(ReviewError::StaleVersion);
        }
        Ok(cycle_to_proto(
            &repo::cycle(&self.db, &current.tenant, &current.id).await?,
        ))
    }

    /// CloseCycle (or archive a closed one).
    pub async fn close_cycle(
        &self,
        caller: &Caller,
        req: pb::CloseCycleRequest,
    ) -> Result<pb::Cycle, ReviewError> {
        let current = repo::cycle(&self.db, &caller.tenant, &req.cycle_id).await?;
        let role = may_manage_tenant(caller, &current.tenant)?;
        let next = match (current.status.as_str(), req.archive) {
            ("open", false) => "closed",
            ("closed", true) => "archived",
            _ => {
                return Err(ReviewError::Precondition(
                    "批次当前状态不能执行此操作".into(),
                ));
            }
        };
        let am = cycle::ActiveModel {
            status: Set(next.to_owned()),
            version: Set(req.expected_version + 1),
            updated_at: Set(Utc::now()),
            updated_by: Set(Actor::new(caller, role).to_json()),
            ..Default::default()
        };
        let done = cycle::Entity::update_many()
            .set(am)
            .filter(cycle::Column::Id.eq(current.id.clone()))
            .filter(cycle::Column::Tenant.eq(current.tenant.clone()))
            .filter(cycle::Column::Version.eq(req.expected_version))
            .exec(&self.db)
            .await?;
        if done.rows_affected != 1 {
            return Err(ReviewError::StaleVersion);
        }
        Ok(cycle_to_proto(
            &repo::cycle(&self.db, &current.tenant, &current.id).await?,
        ))
    }

    /// GetSlaPolicy.
    pub async fn get_sla_policy(
        &self,
        caller: &Caller,
        req: pb::GetSlaPolicyRequest,
    ) -> Result<pb::SlaPolicy, ReviewError> {
        let tenant = target_tenant(caller, &req.target_tenant);
        if tenant != caller.tenant {
            may_manage_tenant(caller, &tenant)?;
        } else if !scope::is_staff(caller) {
            return Err(scope::Denied("无权执行此操作").into());
        }
        let (p, version) = repo::sla(&self.db, &tenant).await?;
        Ok(sla_to_proto(&p, version))
    }

    /// UpdateSlaPolicy.
    pub async fn update_sla_policy(
        &self,
        caller: &Caller,
        req: pb::UpdateSlaPolicyRequest,
    ) -> Result<pb::SlaPolicy, ReviewError> {
        let tenant = target_tenant(caller, &req.target_tenant);
        may_manage_tenant(caller, &tenant)?;
        let p = req
            .policy
            .ok_or_else(|| ReviewError::invalid("policy", "缺少时限设置"))?;
        let policy = SlaPolicy {
            street_review_days: p.street_review_days,
            district_review_days: p.district_review_days,
            department_verification_days: p.department_verification_days,
            city_review_days: p.city_review_days,
            resubmission_days: p.resubmission_days,
            objection_reply_days: p.objection_reply_days,
        };
        policy.validate().map_err(|field| {
            ReviewError::invalid("policy", format!("{field} 应为 1–365 个工作日"))
        })?;
        let (_, current) = repo::sla(&self.db, &tenant).await?;
        if current != req.expected_version {
            return Err(ReviewError::StaleVersion);
        }
        let days = |d: u32| i32::try_from(d).unwrap_or(1);
        let am = sla_policy::ActiveModel {
            tenant: Set(tenant.clone()),
            street_review_days: Set(days(policy.street_review_days)),
            district_review_days: Set(days(policy.district_review_days)),
            department_verification_days: Set(days(policy.department_verification_days)),
            city_review_days: Set(days(policy.city_review_days)),
            resubmission_days: Set(days(policy.resubmission_days)),
            objection_reply_days: Set(days(policy.objection_reply_days)),
            version: Set(current + 1),
        };
        if current == 0 {
            am.insert(&self.db).await.map_err(|e| {
                if super::is_unique_violation(&e) {
                    ReviewError::StaleVersion
                } else {
                    e.into()
                }
            })?;
        } else {
            let done = sla_policy::Entity::update_many()
                .set(am)
                .filter(sla_policy::Column::Tenant.eq(tenant.clone()))
                .filter(sla_policy::Column::Version.eq(current))
                .exec(&self.db)
                .await?;
            if done.rows_affected != 1 {
                return Err(ReviewError::StaleVersion);
            }
        }
        self.config.clear();
        Ok(sla_to_proto(&policy, current + 1))
    }

    /// GetWorkingCalendar.
    pub async fn get_working_calendar(
        &self,
        caller: &Caller,
        req: pb::GetWorkingCalendarRequest,
    ) -> Result<pb::WorkingCalendar, ReviewError> {
        if !scope::is_staff(caller) {
            return Err(scope::Denied("无权执行此操作").into());
        }
        let (row, inherited) = repo::calendar_row(&self.db, &caller.tenant, req.year).await?;
        Ok(match row {
            Some(r) => pb::WorkingCalendar {
                year: r.year,
                holidays: crate::convert::strings_of(&r.holidays),
                extra_working_days: crate::convert::strings_of(&r.extra_working_days),
                inherited,
                version: if inherited { 0 } else { r.version },
            },
            None => pb::WorkingCalendar {
                year: req.year,
                inherited: !scope::is_city_tenant(&caller.tenant),
                ..Default::default()
            },
        })
    }

    /// UpdateWorkingCalendar (a city admin in the city tenant sets the default).
    pub async fn update_working_calendar(
        &self,
        caller: &Caller,
        req: pb::UpdateWorkingCalendarRequest,
    ) -> Result<pb::WorkingCalendar, ReviewError> {
        may_manage_tenant(caller, &caller.tenant)?;
        if scope::is_city_tenant(&caller.tenant) && !caller.has(Role::CityAdmin) {
            return Err(scope::Denied("只有市级管理员可以设置全市默认日历").into());
        }
        let cal = req
            .calendar
            .ok_or_else(|| ReviewError::invalid("calendar", "缺少日历"))?;
        for d in cal.holidays.iter().chain(&cal.extra_working_days) {
            match parse_date(d) {
                Some(date) if chrono::Datelike::year(&date) == cal.year => {}
                _ => {
                    return Err(ReviewError::invalid(
                        "calendar",
                        format!("日期 {d} 无效或不属于 {} 年", cal.year),
                    ));
                }
            }
        }
        let existing = calendar::Entity::find_by_id((caller.tenant.clone(), cal.year))
            .one(&self.db)
            .await?;
        let current = existing.as_ref().map_or(0, |r| r.version);
        if current != req.expected_version {
            return Err(ReviewError::StaleVersion);
        }
        let am = calendar::ActiveModel {
            tenant: Set(caller.tenant.clone()),
            year: Set(cal.year),
            holidays: Set(serde_json::json!(cal.holidays)),
            extra_working_days: Set(serde_json::json!(cal.extra_working_days)),
            version: Set(current + 1),
        };
        if existing.is_none() {
            am.insert(&self.db).await.map_err(|e| {
                if super::is_unique_violation(&e) {
                    ReviewError::StaleVersion
                } else {
                    e.into()
                }
            })?;
        } else {
            let done = calendar::Entity::update_many()
                .set(am)
                .filter(calendar::Column::Tenant.eq(caller.tenant.clone()))
                .filter(calendar::Column::Year.eq(cal.year))
                .filter(calendar::Column::Version.eq(current))
                .exec(&self.db)
                .await?;
            if done.rows_affected != 1 {
                return Err(ReviewError::StaleVersion);
            }
        }
        self.config.clear();
        Ok(pb::WorkingCalendar {
            year: cal.year,
            holidays: cal.holidays,
            extra_working_days: cal.extra_working_days,
            inherited: false,
            version: current + 1,
        })
    }
}

fn sla_to_proto(p: &SlaPolicy, version: i64) -> pb::SlaPolicy {
    pb::SlaPolicy {
        street_review_days: p.street_review_days,
        district_review_days: p.district_review_days,
        department_verification_days: p.department_verification_days,
        city_review_days: p.city_review_days,
        resubmission_days: p.resubmission_days,
        objection_reply_days: p.objection_reply_days,
        version,
    }
}
