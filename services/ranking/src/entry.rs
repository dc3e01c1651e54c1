//! From events to board entries and back: pure conversions between review's `ScoreConfirmed`,
//! the stored `board_entries` row, rank keys, board scopes and run snapshots.

use chrono::{DateTime, Utc};
use jifen_proto::common::v1 as common;

use crate::board::{BoardId, BoardScope};
use crate::domain::{
    Direction, RankKey, RankSpec, RunApplication, TieBreaker, mask_id_number, mask_name,
};
use crate::error::RankingError;
use crate::store::board_entry::BoardEntryRow;

/// Returns the rank spec and tie values of an event's tie keys; a key the facts lack ranks last.
pub fn ties_from_proto(keys: &[common::TieKey]) -> Result<(RankSpec, Vec<i64>), RankingError> {
    let mut breakers = Vec::with_capacity(keys.len());
    let mut values = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let direction = match common::SortDirection::try_from(k.direction) {
            Ok(common::SortDirection::Ascending) => Direction::Asc,
            Ok(common::SortDirection::Descending) => Direction::Desc,
            _ => {
                return Err(RankingError::Invalid(format!(
                    "tie_keys[{i}].direction 必须为升序或降序"
                )));
            }
        };
        breakers.push(TieBreaker::new(k.code.clone(), direction));
        values.push(if k.present {
            k.value
        } else {
            direction.worst_value()
        });
    }
    Ok((RankSpec::new(breakers)?, values))
}

/// Returns the proto tie keys of a stored entry.
pub fn ties_to_proto(spec: &RankSpec, values: &[i64]) -> Vec<common::TieKey> {
    spec.tie_breakers()
        .iter()
        .zip(values)
        .map(|(tb, &value)| common::TieKey {
            code: tb.key.clone(),
            value,
            direction: match tb.direction {
                Direction::Asc => common::SortDirection::Ascending,
                Direction::Desc => common::SortDirection::Descending,
            } as i32,
            present: value != tb.direction.worst_value(),
        })
        .collect()
}

/// Returns the board entry a confirmed score makes.
pub fn from_score_confirmed(
    tenant: &str,
    aggregate_version: i64,
    score: &common::ScoreConfirmed,
    now: DateTime<Utc>,
) -> Result<BoardEntryRow, RankingError> {
    let required = |value: &str, field: &str| {
        if value.trim().is_empty() {
            Err(RankingError::Invalid(format!("{field} 不能为空")))
        } else {
            Ok(())
        }
    };
    required(&score.application_id, "application_id")?;
    required(&score.application_number, "application_number")?;
    required(&score.cycle_id, "cycle_id")?;
    let (spec, values) = ties_from_proto(&score.tie_keys)?;
    let person = score.applicant.clone().unwrap_or_default();
    let confirmed_at = score
        .confirmed_at
        .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .unwrap_or(now);
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(BoardEntryRow {
        tenant: tenant.to_owned(),
        application_id: score.application_id.clone(),
        cycle_id: score.cycle_id.clone(),
        benefit: score.benefit.clone(),
        application_number: score.application_number.clone(),
        applicant_subject: score.applicant_subject.clone(),
        total: score.total,
        tie_spec: serde_json::to_value(&spec)?,
        tie_values: serde_json::to_value(&values)?,
        masked_name: mask_name(&person.name_masked),
        masked_id_number: mask_id_number(&person.id_number_masked),
        gates_ok: score.eligible,
        school_preferences: serde_json::to_value(&score.school_preferences)?,
        service_area: non_empty(&score.street_code),
        threshold_area: non_empty(&score.threshold_area),
        district: tenant.to_owned(),
        confirmed_at,
        aggregate_version,
        removed: false,
        updated_at: now,
    })
}

/// Returns a tombstone: an application that left before (or without) a confirmed score.
pub fn tombstone(
    tenant: &str,
    application_id: &str,
    cycle_id: &str,
    aggregate_version: i64,
    now: DateTime<Utc>,
) -> BoardEntryRow {
    BoardEntryRow {
        tenant: tenant.to_owned(),
        application_id: application_id.to_owned(),
        cycle_id: cycle_id.to_owned(),
        benefit: String::new(),
        application_number: String::new(),
        applicant_subject: String::new(),
        total: 0,
        tie_spec: serde_json::Value::Array(Vec::new()),
        tie_values: serde_json::Value::Array(Vec::new()),
        masked_name: String::new(),
        masked_id_number: String::new(),
        gates_ok: false,
        school_preferences: serde_json::Value::Array(Vec::new()),
        service_area: None,
        threshold_area: None,
        district: tenant.to_owned(),
        confirmed_at: now,
        aggregate_version,
        removed: true,
        updated_at: now,
    }
}

/// Returns the rank spec of a stored entry.
pub fn spec_of(row: &BoardEntryRow) -> Result<RankSpec, RankingError> {
    Ok(serde_json::from_value(row.tie_spec.clone())?)
}

/// Returns the tie values of a stored entry.
pub fn tie_values_of(row: &BoardEntryRow) -> Result<Vec<i64>, RankingError> {
    Ok(serde_json::from_value(row.tie_values.clone())?)
}

/// Returns the school preferences of a stored entry.
pub fn preferences_of(row: &BoardEntryRow) -> Result<Vec<String>, RankingError> {
    Ok(serde_json::from_value(row.school_preferences.clone())?)
}

/// Returns the rank key of a stored entry under `spec` (the cycle's order).
pub fn key_of(spec: &RankSpec, row: &BoardEntryRow) -> Result<RankKey, RankingError> {
    Ok(spec.key(row.total, &tie_values_of(row)?, &row.application_number)?)
}

/// Returns the period of an entry on its threshold-area board: `<benefit>-<year>`, the year of
/// its confirmation in China time (UTC+8).
///
/// Every tenant has its own cycle ids, so the cycles of one area and year share a board by this
/// period. The `ScoreConfirmed` event does not carry the cycle's year; an application confirmed
/// in the first hours of a new year of a cycle that straddles it lands on the next year's board.
pub fn area_period(row: &BoardEntryRow) -> String {
    use chrono::Datelike as _;
    let china = row
        .confirmed_at
        .checked_add_signed(chrono::TimeDelta::hours(8))
        .unwrap_or(row.confirmed_at);
    format!("{}-{}", row.benefit, china.year())
}

/// Returns the boards a live entry is on: its tenant's board; for school benefits the board of
/// every school it prefers (seat allocation ranks per school); and, when the entry names a
/// threshold area (settlement), the board shared by every tenant of that area in its period.
/// A removed entry is on none.
pub fn boards_of(row: &BoardEntryRow) -> Result<Vec<BoardId>, RankingError> {
    if row.removed {
        return Ok(Vec::new());
    }
    let mut scopes = vec![BoardScope::Tenant];
    for school in preferences_of(row)? {
        let scope = BoardScope::School(school);
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let mut boards: Vec<BoardId> = scopes
        .into_iter()
        .map(|s| BoardId::new(&row.tenant, &row.cycle_id, s))
        .collect();
    if let Some(area) = row.threshold_area.as_deref().filter(|a| !a.is_empty()) {
        boards.push(BoardId::threshold_area(area, &area_period(row)));
    }
    Ok(boards)
}

/// Returns whether a live entry is on the board of `scope`.
pub fn is_on(row: &BoardEntryRow, scope: &BoardScope) -> Result<bool, RankingError> {
    Ok(boards_of(row)?.iter().any(|b| &b.scope == scope))
}

/// Returns the snapshot form of a stored entry for an official run.
pub fn run_application(row: &BoardEntryRow) -> Result<RunApplication, RankingError> {
    Ok(RunApplication {
        application_id: row.application_id.clone(),
        application_number: row.application_number.clone(),
        masked_name: row.masked_name.clone(),
        masked_id_number: row.masked_id_number.clone(),
        total: row.total,
        tie_values: tie_values_of(row)?,
        gates_ok: row.gates_ok,
        school_preferences: preferences_of(row)?,
        service_area: row.service_area.clone(),
        district: Some(row.district.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tie(code: &str, value: i64, dir: common::SortDirection, present: bool) -> common::TieKey {
        common::TieKey {
            code: code.into(),
            value,
            direction: dir as i32,
            present,
        }
    }

    fn score() -> common::ScoreConfirmed {
        common::ScoreConfirmed {
            application_id: "a1".into(),
            application_number: "WZ-1".into(),
            cycle_id: "c2024".into(),
            benefit: "school".into(),
            applicant_subject: "u1".into(),
            applicant: Some(common::MaskedPerson {
                name_masked: "张三丰".into(),
                id_number_masked: "320502199001011234".into(),
                mobile_masked: String::new(),
            }),
            total: 684,
            tie_keys: vec![
                tie("base", 540, common::SortDirection::Descending, true),
                tie("registered_on", 0, common::SortDirection::Ascending, false),
            ],
            school_preferences: vec!["s1".into(), "s2".into(), "s1".into()],
            eligible: true,
            ..Default::default()
        }
    }

    #[test]
    fn confirmed_scores_become_masked_entries_on_their_boards() {
        let row = from_score_confirmed("wuzhong", 3, &score(), Utc::now()).expect("entry");
        assert_eq!(row.masked_name, "张*丰");
        assert_eq!(row.masked_id_number, "3205**********1234");
        assert_eq!(tie_values_of(&row).expect("ties"), vec![540, i64::MAX]);
        let scopes: Vec<String> = boards_of(&row)
            .expect("boards")
            .iter()
            .map(|b| b.scope.as_key())
            .collect();
        assert_eq!(scopes, ["tenant", "school:s1", "school:s2"]);
        let spec = spec_of(&row).expect("spec");
        let proto = ties_to_proto(&spec, &tie_values_of(&row).expect("ties"));
        assert!(proto[0].present && !proto[1].present);
        assert_eq!(key_of(&spec, &row).expect("key").total(), 684);
        let gone = tombstone("wuzhong", "a1", "c2024", 4, Utc::now());
        assert!(boards_of(&gone).expect("boards").is_empty());
    }

    #[test]
    fn refuses_unspecified_directions_and_missing_ids() {
        let mut bad = score();
        bad.tie_keys[0].direction = 0;
        assert!(matches!(
            from_score_confirmed("wuzhong", 1, &bad, Utc::now()),
            Err(RankingError::Invalid(_))
        ));
        let mut bad = score();
        bad.application_number.clear();
        assert!(from_score_confirmed("wuzhong", 1, &bad, Utc::now()).is_err());
    }
}
