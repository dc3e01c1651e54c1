//! Publicity lists: an immutable, masked snapshot of a completed run with its CSV and content
//! hash, the cut-off history it records, and the public reads.
//!
//! Publishing writes, in one transaction: the list, the run's PUBLISHED mark, one cut-off
//! history row per scope, and outbox events (`ranking.publicity_list_published` for notices and
//! review, one `ranking.application_outcome_decided` per row for review), so a published list
//! is always announced.

use chrono::{Duration, FixedOffset, Utc};
use jifen_kit::auth::Caller;
use jifen_proto::common::v1 as common;
use jifen_proto::ranking::v1 as pb;
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};

use crate::access;
use crate::board::BoardScope;
use crate::domain::{PublicityList, PublicityRow, RunResult, mask_name};
use crate::error::RankingError;
use crate::queries::{scope_from_proto, scope_to_proto};
use crate::runs::{
    StoredParams, actor, actor_from_json, actor_to_json, outcome_to_proto, prefixed, scope_cutoffs,
};
use crate::state::{Core, next_token, page, timestamp};
use crate::store::cutoff_history::{self, CutoffRow};
use crate::store::publicity_list::{self, ListFilter, PublicityListRow};
use crate::store::ranking_run;

/// Topic of the event announcing a published list.
pub const TOPIC_PUBLISHED: &str = "ranking.publicity_list_published";
/// Topic of the event giving one application's outcome.
pub const TOPIC_OUTCOME: &str = "ranking.application_outcome_decided";
/// Default publicity window when the request names none, in calendar days.
pub const DEFAULT_PUBLICITY_DAYS: i64 = 10;

/// One official cut-off of a list, as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCutoff {
    /// Board scope key.
    pub scope: String,
    /// Cut-off total.
    pub cutoff: i64,
    /// Seats.
    pub seats: u64,
    /// Admitted.
    pub admitted: u64,
    /// Entries.
    pub entries: u64,
}

fn shanghai() -> FixedOffset {
    // UTC+8 all year (no daylight saving in China).
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Offset::fix(&Utc))
}

fn valid_date(text: &str, field: &str) -> Result<(), RankingError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| RankingError::Invalid(format!("{field} 必须是 YYYY-MM-DD 日期")))
}

/// Returns the wire form of a stored list.
pub fn list_to_proto(row: &PublicityListRow) -> Result<pb::PublicityList, RankingError> {
    let cutoffs: Vec<StoredCutoff> = serde_json::from_value(row.cutoffs.clone())?;
    Ok(pb::PublicityList {
        list_id: row.id.clone(),
        run_id: row.run_id.clone(),
        cycle_id: row.cycle_id.clone(),
        tenant: row.tenant.clone(),
        benefit: row.benefit.clone(),
        year: row.year,
        title_zh: row.title_zh.clone(),
        publicity: Some(common::DateRange {
            start_date: row.publicity_start.clone(),
            end_date: row.publicity_end.clone(),
        }),
        content_hash: prefixed(&row.content_hash),
        entry_count: row.entry_count as u64,
        cutoffs: cutoffs
            .iter()
            .map(|c| pb::ScopeCutoff {
                scope: BoardScope::parse(&c.scope).map(|s| scope_to_proto(&s)),
                cutoff: c.cutoff,
                seats: c.seats,
                admitted: c.admitted,
                entries: c.entries,
            })
            .collect(),
        published_at: Some(timestamp(row.published_at)),
        published_by: Some(actor_from_json(&row.published_by)),
        supersedes_list_id: row.supersedes.clone().unwrap_or_default(),
        superseded_by_list_id: row.superseded_by.clone().unwrap_or_default(),
    })
}

fn entry_to_proto(r: &PublicityRow) -> pb::PublicityEntry {
    pb::PublicityEntry {
        rank: r.rank.unwrap_or(0),
        application_number: r.application_number.clone(),
        name_masked: r.masked_name.clone(),
        id_number_masked: r.masked_id_number.clone(),
        total: r.total,
        outcome: outcome_to_proto(r.outcome) as i32,
        allocated_school: r.school.clone().unwrap_or_default(),
    }
}

/// Returns whether a row matches a public search: an application number (exact or prefix), a
/// masked name, or a full name (masked before comparing).
pub fn matches_query(row: &PublicityRow, query: &str) -> bool {
    let query = query.trim();
    query.is_empty()
        || row.application_number.starts_with(query)
        || row.masked_name == query
        || row.masked_name == mask_name(query)
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, RankingError> {
    let value = value.trim();
    if value.is_empty() {
        Err(RankingError::Invalid(format!("{field} 不能为空")))
    } else {
        Ok(value)
    }
}

impl Core {
    /// PublishPublicityList.
    pub async fn publish_publicity_list(
        &self,
        caller: &Caller,
        req: pb::PublishPublicityListRequest,
    ) -> Result<pb::PublicityList, RankingError> {
        access::may_publish(caller)?;
        let tenant = caller.tenant.as_str();
        let run = ranking_run::find(&self.db, tenant, required(&req.run_id, "run_id")?)
            .await?
            .ok_or(RankingError::NotFound("排名批次"))?;
        if run.status != "completed" {
            return Err(RankingError::FailedPrecondition(
                "该排名批次已发布公示名单；更正请发布新名单并填写 supersedes_list_id".to_owned(),
            ));
        }
        let params: StoredParams = serde_json::from_value(run.params.clone())?;
        let result: RunResult = serde_json::from_value(run.result.clone())?;
        let list = PublicityList::from_run(&result, &params.school_names);
        let csv = String::from_utf8(list.to_csv()?)
            .map_err(|e| RankingError::Domain(crate::domain::RankingError::Csv(e.to_string())))?;
        let content_hash = list.content_hash()?;
        let now = Utc::now();
        let local_today = now.with_timezone(&shanghai()).date_naive();
        let (start, end) = match &req.publicity {
            Some(range) if !range.start_date.is_empty() => {
                valid_date(&range.start_date, "publicity.start_date")?;
                if !range.end_date.is_empty() {
                    valid_date(&range.end_date, "publicity.end_date")?;
                }
                (range.start_date.clone(), range.end_date.clone())
            }
            _ => (
                local_today.to_string(),
                (local_today + Duration::days(DEFAULT_PUBLICITY_DAYS)).to_string(),
            ),
        };
        let year = chrono::Datelike::year(&local_today);
        let title = if req.title_zh.trim().is_empty() {
            format!("{year} 年{}公示名单", run.benefit)
        } else {
            req.title_zh.trim().to_owned()
        };
        let cutoffs: Vec<StoredCutoff> = scope_cutoffs(&result, &params)
            .into_iter()
            .map(|c| StoredCutoff {
                scope: scope_from_proto(c.scope.as_ref())
                    .map(|s| s.as_key())
                    .unwrap_or_else(|_| "tenant".to_owned()),
                cutoff: c.cutoff,
                seats: c.seats,
                admitted: c.admitted,
                entries: c.entries,
            })
            .collect();
        let list_id = uuid::Uuid::now_v7().to_string();
        let supersedes = (!req.supersedes_list_id.trim().is_empty())
            .then(|| req.supersedes_list_id.trim().to_owned());
        let row = PublicityListRow {
            id: list_id.clone(),
            tenant: tenant.to_owned(),
            run_id: run.id.clone(),
            cycle_id: run.cycle_id.clone(),
            benefit: run.benefit.clone(),
            year,
            title_zh: title.clone(),
            rows: serde_json::to_value(list.rows())?,
            content_hash: content_hash.clone(),
            csv,
            publicity_start: start.clone(),
            publicity_end: end.clone(),
            cutoffs: serde_json::to_value(&cutoffs)?,
            entry_count: list.rows().len() as i64,
            published_at: now,
            published_by: actor_to_json(&actor(caller)),
            supersedes: supersedes.clone(),
            superseded_by: None,
        };

        let txn = self.db.begin().await?;
        if !ranking_run::mark_published(&txn, tenant, &run.id, &list_id).await? {
            return Err(RankingError::FailedPrecondition(
                "该排名批次已发布公示名单".to_owned(),
            ));
        }
        if let Some(old) = &supersedes {
            if publicity_list::find(&txn, tenant, old).await?.is_none() {
                return Err(RankingError::NotFound("被更正的公示名单"));
            }
            if !publicity_list::mark_superseded(&txn, tenant, old, &list_id).await? {
                return Err(RankingError::FailedPrecondition(
                    "该公示名单已被更正".to_owned(),
                ));
            }
        }
        publicity_list::insert(&txn, row.clone()).await?;
        for c in &cutoffs {
            cutoff_history::insert(
                &txn,
                CutoffRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant: tenant.to_owned(),
                    benefit: run.benefit.clone(),
                    year,
                    scope: c.scope.clone(),
                    cycle_id: run.cycle_id.clone(),
                    list_id: list_id.clone(),
                    cutoff: c.cutoff,
                    seats: c.seats as i64,
                    admitted: c.admitted as i64,
                    applicants: c.entries as i64,
                    published_at: now,
                },
            )
            .await?;
        }
        let tenant_cutoff = cutoffs.first().map_or(0, |c| c.cutoff);
        let published = jifen_kit::outbox::Event::new(
            TOPIC_PUBLISHED,
            tenant,
            serde_json::json!({
                "list_id": list_id,
                "run_id": run.id,
                "cycle_id": run.cycle_id,
                "benefit": run.benefit,
                "title_zh": title,
                "content_hash": prefixed(&content_hash),
                "entry_count": list.rows().len(),
                "publicity": {"start_date": start, "end_date": end},
                "cutoff": tenant_cutoff,
            }),
        );
        jifen_kit::outbox::enqueue(&txn, &published).await?;
        for r in &result.rows {
            let decided = jifen_kit::outbox::Event::new(
                TOPIC_OUTCOME,
                tenant,
                serde_json::json!({
                    "application_id": r.application_id,
                    "cycle_id": run.cycle_id,
                    "run_id": run.id,
                    "list_id": list_id,
                    "outcome": outcome_to_proto(r.outcome).as_str_name(),
                    "rank": r.rank.unwrap_or(0),
                    "total": r.total,
                    "allocated_school": r.school_id.clone().unwrap_or_default(),
                    "is_final": false,
                }),
            );
            jifen_kit::outbox::enqueue(&txn, &decided).await?;
        }
        txn.commit().await?;
        tracing::info!(tenant, list_id = %list_id, run_id = %run.id, content_hash = %content_hash, "publicity list published");
        list_to_proto(&row)
    }

    /// ListPublicityLists (public).
    pub async fn list_publicity_lists(
        &self,
        req: pb::ListPublicityListsRequest,
    ) -> Result<pb::ListPublicityListsResponse, RankingError> {
        let tenant = required(&req.tenant, "tenant")?;
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let filter = ListFilter {
            benefit: req.benefit.trim().to_owned(),
            year: req.year,
            cycle_id: req.cycle_id.trim().to_owned(),
        };
        let (rows, more) = publicity_list::list(&self.db, tenant, &filter, offset, limit).await?;
        Ok(pb::ListPublicityListsResponse {
            lists: rows.iter().map(list_to_proto).collect::<Result<_, _>>()?,
            next_page_token: next_token(offset, limit, more),
        })
    }

    /// GetPublicityList (public): header and masked rows, searchable.
    pub async fn get_publicity_list(
        &self,
        req: pb::GetPublicityListRequest,
    ) -> Result<pb::GetPublicityListResponse, RankingError> {
        let tenant = required(&req.tenant, "tenant")?;
        let row = publicity_list::find(&self.db, tenant, required(&req.list_id, "list_id")?)
            .await?
            .ok_or(RankingError::NotFound("公示名单"))?;
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let rows: Vec<PublicityRow> = serde_json::from_value(row.rows.clone())?;
        let mut matching = rows.iter().filter(|r| {
            matches_query(r, &req.query)
                && (req.outcome == 0 || outcome_to_proto(r.outcome) as i32 == req.outcome)
        });
        let entries: Vec<_> = matching
            .by_ref()
            .skip(offset as usize)
            .take(limit as usize)
            .map(entry_to_proto)
            .collect();
        let more = matching.next().is_some();
        Ok(pb::GetPublicityListResponse {
            list: Some(list_to_proto(&row)?),
            entries,
            next_page_token: next_token(offset, limit, more),
        })
    }

    /// ExportPublicityListCsv (public): exactly the bytes the content hash covers.
    pub async fn export_publicity_list_csv(
        &self,
        req: pb::ExportPublicityListCsvRequest,
    ) -> Result<pb::ExportPublicityListCsvResponse, RankingError> {
        let tenant = required(&req.tenant, "tenant")?;
        let row = publicity_list::find(&self.db, tenant, required(&req.list_id, "list_id")?)
            .await?
            .ok_or(RankingError::NotFound("公示名单"))?;
        Ok(pb::ExportPublicityListCsvResponse {
            file_name: format!("{}-{}-{}-{}.csv", row.tenant, row.benefit, row.year, row.id),
            csv: row.csv.clone(),
            content_hash: prefixed(&row.content_hash),
        })
    }

    /// GetCutoffHistory (public).
    pub async fn get_cutoff_history(
        &self,
        req: pb::GetCutoffHistoryRequest,
    ) -> Result<pb::GetCutoffHistoryResponse, RankingError> {
        let tenant = required(&req.tenant, "tenant")?;
        let scope = scope_from_proto(req.scope.as_ref())?;
        let rows = cutoff_history::history(
            &self.db,
            tenant,
            req.benefit.trim(),
            &scope.as_key(),
            req.from_year,
            req.to_year,
        )
        .await?;
        Ok(pb::GetCutoffHistoryResponse {
            records: rows
                .into_iter()
                .map(|r| pb::CutoffRecord {
                    year: r.year,
                    cycle_id: r.cycle_id,
                    list_id: r.list_id,
                    scope: Some(scope_to_proto(&scope)),
                    cutoff: r.cutoff,
                    seats: r.seats as u64,
                    admitted: r.admitted as u64,
                    applicants: r.applicants as u64,
                    published_at: Some(timestamp(r.published_at)),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Outcome;

    #[test]
    fn search_finds_numbers_by_prefix_and_names_masked_or_full() {
        let row = PublicityRow {
            rank: Some(1),
            application_number: "WZ-2024-SCH-000123".into(),
            masked_name: "张*丰".into(),
            masked_id_number: "3205**********1234".into(),
            total: 684,
            outcome: Outcome::Admitted,
            round: None,
            school: None,
        };
        assert!(matches_query(&row, "WZ-2024-SCH"));
        assert!(matches_query(&row, "张*丰"));
        assert!(matches_query(&row, "张三丰"));
        assert!(!matches_query(&row, "李四"));
        assert!(matches_query(&row, ""));
    }
}
