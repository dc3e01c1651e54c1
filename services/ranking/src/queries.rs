//! Live provisional queries: my rank, the provisional cut-off, the score distribution, and
//! board rebuilds.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use jifen_kit::auth::Caller;
use jifen_proto::common::v1 as common;
use jifen_proto::ranking::v1 as pb;

use crate::access;
use crate::board::{BoardId, BoardScope};
use crate::domain::Histogram;
use crate::entry;
use crate::error::RankingError;
use crate::live::{HotEntry, Query, Reply};
use crate::runs::{Line, StoredParams};
use crate::state::{Core, timestamp};
use crate::store::{board_entry, ranking_run};

/// Histogram buckets holding fewer entries than this are published as 0 (privacy).
pub const MIN_PUBLIC_BUCKET: u64 = 3;

/// Returns the board scope a request names (unset = the tenant board).
pub fn scope_from_proto(scope: Option<&pb::BoardScope>) -> Result<BoardScope, RankingError> {
    let Some(scope) = scope else {
        return Ok(BoardScope::Tenant);
    };
    let code = scope.code.trim().to_owned();
    let need_code = |s: BoardScope| {
        if code.is_empty() {
            Err(RankingError::Invalid("scope.code 不能为空".to_owned()))
        } else {
            Ok(s)
        }
    };
    match pb::BoardScopeKind::try_from(scope.kind) {
        Ok(pb::BoardScopeKind::Unspecified | pb::BoardScopeKind::Tenant) => Ok(BoardScope::Tenant),
        Ok(pb::BoardScopeKind::School) => need_code(BoardScope::School(code.clone())),
        Ok(pb::BoardScopeKind::Area) => need_code(BoardScope::Area(code.clone())),
        Ok(pb::BoardScopeKind::ThresholdArea) => need_code(BoardScope::ThresholdArea(code.clone())),
        Err(_) => Err(RankingError::Invalid("scope.kind 无效".to_owned())),
    }
}

/// Returns the proto form of a board scope.
pub fn scope_to_proto(scope: &BoardScope) -> pb::BoardScope {
    let (kind, code) = match scope {
        BoardScope::Tenant => (pb::BoardScopeKind::Tenant, String::new()),
        BoardScope::School(c) => (pb::BoardScopeKind::School, c.clone()),
        BoardScope::Area(c) => (pb::BoardScopeKind::Area, c.clone()),
        BoardScope::ThresholdArea(c) => (pb::BoardScopeKind::ThresholdArea, c.clone()),
    };
    pb::BoardScope {
        kind: kind as i32,
        code,
    }
}

/// Returns the proto histogram, withholding small buckets.
pub fn histogram_to_proto(histogram: &Histogram, counts: &[(i64, u64)]) -> common::Histogram {
    let count: u64 = counts.iter().map(|(_, c)| c).sum();
    // The lower median: the ((n-1)/2)-th smallest total.
    let mut median = 0;
    let mut seen = 0;
    let target = count.saturating_sub(1) / 2;
    for &(total, c) in counts {
        if seen + c > target {
            median = total;
            break;
        }
        seen += c;
    }
    common::Histogram {
        buckets: histogram
            .buckets
            .iter()
            .map(|b| common::HistogramBucket {
                lower_inclusive: b.lower,
                upper_exclusive: b.upper,
                count: if b.count < MIN_PUBLIC_BUCKET {
                    0
                } else {
                    b.count
                },
            })
            .collect(),
        count,
        min: counts.first().map_or(0, |c| c.0),
        max: counts.last().map_or(0, |c| c.0),
        median,
    }
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, RankingError> {
    let value = value.trim();
    if value.is_empty() {
        Err(RankingError::Invalid(format!("{field} 不能为空")))
    } else {
        Ok(value)
    }
}

/// A provisional cut-off of one board.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CutoffLine {
    cutoff: i64,
    seats: u64,
    undersubscribed: bool,
    entries: u64,
    at_or_above: u64,
}

impl Core {
    /// Returns the newest run's parameters of a tenant's cycle, from the database.
    async fn latest_params(
        &self,
        tenant: &str,
        cycle_id: &str,
    ) -> Result<Option<StoredParams>, RankingError> {
        Ok(
            match ranking_run::latest_params(&self.db, tenant, cycle_id).await? {
                Some(params) => Some(serde_json::from_value::<StoredParams>(params)?),
                None => None,
            },
        )
    }

    async fn line(
        &self,
        tenant: &str,
        cycle_id: &str,
        scope: &BoardScope,
    ) -> Result<Line, RankingError> {
        Ok(match self.latest_params(tenant, cycle_id).await? {
            Some(params) => params.line(tenant, scope),
            None => Line::Unknown,
        })
    }

    /// As [`Core::latest_params`], through the short-lived cache ([`crate::hot`]).
    async fn hot_params(
        &self,
        tenant: &str,
        cycle_id: &str,
    ) -> Result<Arc<Option<StoredParams>>, RankingError> {
        if let Some(params) = self.live.lines.get(tenant, cycle_id) {
            return Ok(params);
        }
        let seen = self.live.lines.generation();
        let params = Arc::new(self.latest_params(tenant, cycle_id).await?);
        self.live.lines.put(tenant, cycle_id, params.clone(), seen);
        Ok(params)
    }

    /// Returns an entry of a tenant through the short-lived cache ([`crate::hot`]).
    async fn hot_entry(
        &self,
        tenant: &str,
        application_id: &str,
    ) -> Result<Option<Arc<HotEntry>>, RankingError> {
        if let Some((entry, age)) = self.live.entries.get_aged(tenant, application_id)
            && self.live.is_fresh(&entry, age, tenant)
        {
            return Ok(Some(entry));
        }
        let seen = self.live.entries.generation();
        let mark = self.live.boards().change_mark(tenant);
        let Some(row) = board_entry::find(&self.db, tenant, application_id).await? else {
            return Ok(None);
        };
        let entry = Arc::new(HotEntry::new(row, mark)?);
        self.live
            .entries
            .put(tenant, application_id, entry.clone(), seen);
        Ok(Some(entry))
    }

    /// Returns the board of `scope` in a tenant's cycle; a threshold area's board is the one
    /// the cycle's entries are on (by the period of its latest confirmed entry there).
    async fn board_of(
        &self,
        tenant: &str,
        cycle_id: &str,
        scope: &BoardScope,
    ) -> Result<BoardId, RankingError> {
        match scope {
            BoardScope::ThresholdArea(area) => {
                let period = board_entry::latest_in_cycle_area(&self.db, tenant, cycle_id, area)
                    .await?
                    .map(|row| entry::area_period(&row))
                    .unwrap_or_default();
                Ok(BoardId::threshold_area(area, &period))
            }
            _ => Ok(BoardId::new(tenant, cycle_id, scope.clone())),
        }
    }

    /// Returns the cut-off line of a board and whether it came from the database.
    async fn cutoff_line(
        &self,
        board: &BoardId,
        line: Line,
    ) -> Result<(CutoffLine, Vec<(i64, u64)>, bool), RankingError> {
        let mut queries = vec![Query::Entries, Query::TotalCounts];
        if let Line::Seats(n) = line
            && n > 0
        {
            queries.push(Query::Nth(n - 1));
        }
        let answers = self.live.query(board, &queries).await?;
        let mut out = CutoffLine::default();
        let mut counts = Vec::new();
        let mut last_seat = None;
        for reply in answers.replies {
            match reply {
                Reply::Entries(n) => out.entries = n,
                Reply::Counts(c) => counts = c,
                Reply::Nth(seat) => last_seat = seat,
                Reply::Rank(_) => {}
            }
        }
        let at_or_above = |line: i64| {
            counts
                .iter()
                .filter(|(t, _)| *t >= line)
                .map(|(_, c)| c)
                .sum()
        };
        match line {
            Line::Seats(n) => {
                out.seats = n;
                match last_seat {
                    Some(seat) => {
                        out.cutoff = seat.total;
                        out.at_or_above = at_or_above(seat.total);
                    }
                    None => {
                        out.undersubscribed = n > 0;
                        out.at_or_above = out.entries;
                    }
                }
            }
            Line::PassMark(mark) => {
                out.cutoff = mark;
                out.at_or_above = at_or_above(mark);
            }
            Line::Unknown => out.at_or_above = out.entries,
        }
        Ok((out, counts, answers.degraded))
    }

    /// GetRank: the caller's own application (or, for staff, any of the tenant's).
    pub async fn get_rank(
        &self,
        caller: &Caller,
        req: pb::GetRankRequest,
    ) -> Result<pb::GetRankResponse, RankingError> {
        let application_id = required(&req.application_id, "application_id")?;
        let hot = self
            .hot_entry(&caller.tenant, application_id)
            .await?
            .filter(|e| !e.row.removed)
            .ok_or(RankingError::NotFound("排名记录"))?;
        let row = &hot.row;
        access::may_view_rank(caller, &row.applicant_subject)?;
        let wanted = req
            .scope
            .as_ref()
            .map(|s| scope_from_proto(Some(s)))
            .transpose()?;
        let params = self.hot_params(&row.tenant, &row.cycle_id).await?;
        // What each wanted board is asked; all boards are asked at once (one Redis round trip).
        let mut asked = Vec::with_capacity(hot.boards.len());
        for board in &hot.boards {
            if wanted.as_ref().is_some_and(|w| w != &board.scope) {
                continue;
            }
            let line = match params.as_ref() {
                Some(p) => p.line(&row.tenant, &board.scope),
                None => Line::Unknown,
            };
            let mut queries = vec![Query::RankOf(row.application_id.clone())];
            if let Line::Seats(n) = line
                && n > 0
            {
                queries.push(Query::Nth(n - 1));
            }
            asked.push((board, line, queries));
        }
        let asks: Vec<(&BoardId, &[Query])> = asked
            .iter()
            .map(|(board, _, queries)| (*board, queries.as_slice()))
            .collect();
        let answers = self.live.query_many(&asks).await?;
        let mut positions = Vec::with_capacity(asked.len());
        let mut degraded = false;
        for ((board, line, _), answers) in asked.iter().zip(answers) {
            degraded |= answers.degraded;
            let mut position = None;
            let mut last_seat = None;
            for reply in answers.replies {
                match reply {
                    Reply::Rank(p) => position = p,
                    Reply::Nth(s) => last_seat = s,
                    _ => {}
                }
            }
            let Some(p) = position else { continue };
            let (seats, cutoff, above_cutoff) = match *line {
                Line::Seats(n) => match last_seat {
                    Some(seat) => (n, seat.total, p.rank <= n),
                    None => (n, 0, true),
                },
                Line::PassMark(mark) => (0, mark, p.total >= mark),
                Line::Unknown => (0, 0, false),
            };
            positions.push(pb::BoardPosition {
                scope: Some(scope_to_proto(&board.scope)),
                rank: p.rank,
                entries: p.above + p.below + 1,
                above: p.above,
                below: p.below,
                total: p.total,
                tie_keys: hot.tie_keys.clone(),
                tied_on_total: p.same_total,
                seats,
                cutoff,
                above_cutoff,
            });
        }
        if positions.is_empty() {
            return Err(RankingError::NotFound("排名记录"));
        }
        Ok(pb::GetRankResponse {
            application_id: row.application_id.clone(),
            cycle_id: row.cycle_id.clone(),
            positions,
            provisional: true,
            degraded,
            as_of: Some(timestamp(Utc::now())),
        })
    }

    /// GetCutoff (public).
    pub async fn get_cutoff(
        &self,
        req: pb::GetCutoffRequest,
    ) -> Result<pb::GetCutoffResponse, RankingError> {
        let tenant = required(&req.tenant, "tenant")?;
        let cycle_id = required(&req.cycle_id, "cycle_id")?;
        let scope = scope_from_proto(req.scope.as_ref())?;
        let line = if req.seats > 0 {
            Line::Seats(req.seats)
        } else {
            self.line(tenant, cycle_id, &scope).await?
        };
        let board = self.board_of(tenant, cycle_id, &scope).await?;
        let (out, _, degraded) = self.cutoff_line(&board, line).await?;
        Ok(pb::GetCutoffResponse {
            scope: Some(scope_to_proto(&scope)),
            cutoff: out.cutoff,
            undersubscribed: out.undersubscribed,
            seats: out.seats,
            entries: out.entries,
            at_or_above: out.at_or_above,
            provisional: true,
            degraded,
            as_of: Some(timestamp(Utc::now())),
        })
    }

    /// GetDistribution (public).
    pub async fn get_distribution(
        &self,
        req: pb::GetDistributionRequest,
    ) -> Result<pb::GetDistributionResponse, RankingError> {
        let tenant = required(&req.tenant, "tenant")?;
        let cycle_id = required(&req.cycle_id, "cycle_id")?;
        let scope = scope_from_proto(req.scope.as_ref())?;
        let width = if req.bucket_width == 0 {
            10
        } else {
            i64::from(req.bucket_width)
        };
        let line = self.line(tenant, cycle_id, &scope).await?;
        let board = self.board_of(tenant, cycle_id, &scope).await?;
        let (out, counts, degraded) = self.cutoff_line(&board, line).await?;
        let histogram = Histogram::from_counts(width, counts.iter().copied())?;
        Ok(pb::GetDistributionResponse {
            scope: Some(scope_to_proto(&scope)),
            histogram: Some(histogram_to_proto(&histogram, &counts)),
            cutoff: out.cutoff,
            provisional: true,
            degraded,
            as_of: Some(timestamp(Utc::now())),
        })
    }

    /// RebuildBoards: the caller's tenant, one cycle or all.
    pub async fn rebuild_boards(
        &self,
        caller: &Caller,
        req: pb::RebuildBoardsRequest,
    ) -> Result<pb::RebuildBoardsResponse, RankingError> {
        access::may_rebuild(caller)?;
        let started = Instant::now();
        let cycle = (!req.cycle_id.trim().is_empty()).then(|| req.cycle_id.trim());
        let done = self.live.rebuild_tenant(&caller.tenant, cycle).await?;
        Ok(pb::RebuildBoardsResponse {
            boards: done.boards,
            entries: done.entries,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_default_to_the_tenant() {
        assert_eq!(scope_from_proto(None).expect("scope"), BoardScope::Tenant);
        let school = BoardScope::School("s1".into());
        assert_eq!(
            scope_from_proto(Some(&scope_to_proto(&school))).expect("scope"),
            school
        );
        let bad = pb::BoardScope {
            kind: pb::BoardScopeKind::School as i32,
            code: String::new(),
        };
        assert!(scope_from_proto(Some(&bad)).is_err());
    }

    #[test]
    fn small_buckets_are_withheld_and_the_median_is_exact() {
        let counts = vec![(500, 1), (684, 3), (700, 1)];
        let h = Histogram::from_counts(100, counts.iter().copied()).expect("histogram");
        let p = histogram_to_proto(&h, &counts);
        assert_eq!(p.count, 5);
        assert_eq!((p.min, p.max, p.median), (500, 700, 684));
        let counted: Vec<u64> = p.buckets.iter().map(|b| b.count).collect();
        assert_eq!(counted, [0, 3, 0]);
    }
}
