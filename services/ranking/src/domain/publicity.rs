//! Masked publicity lists (公示名单) of a ranking run, their CSV export and content hash.
//!
//! # Masking
//!
//! * [`mask_name`] keeps the first and last character (Unicode scalar values, not bytes) and
//!   replaces each character between with `*`: `张三丰` → `张*丰`, `欧阳娜娜` → `欧**娜`;
//!   a two-character name keeps the first: `张三` → `张*`; one character is left as is.
//! * [`mask_id_number`] keeps the first 4 and last 4 characters of a 15- or 18-character
//!   resident ID (`320502199001011234` → `3205**********1234`); shorter numbers (passports,
//!   permits) keep only their first and last character.
//!
//! Both are idempotent, so a list built from already-masked rows masks them again safely.
//!
//! # CSV and content hash
//!
//! [`PublicityList::to_csv`] writes UTF-8 without a byte-order mark, `,` separators, `\n` line
//! ends, quotes only where a field needs them (RFC 4180), a header row
//! `排名,申请编号,姓名,身份证号,总积分,结果,学校`, then one row per application in published
//! order (rank empty for ineligible rows). The content hash is the lowercase hex SHA-256 of
//! exactly those bytes, so anyone can recompute it from the downloaded file with
//! `sha256sum list.csv`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::RankingError;
use super::run::{Outcome, RunResult};
use super::seat_allocation::AllocationRound;

/// The CSV header row.
pub const CSV_HEADER: [&str; 7] = [
    "排名",
    "申请编号",
    "姓名",
    "身份证号",
    "总积分",
    "结果",
    "学校",
];

/// Returns a name masked for publicity (see the module docs).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.as_slice() {
        [] => String::new(),
        [only] => only.to_string(),
        [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            let mut out = String::with_capacity(name.len());
            out.push(*first);
            out.extend(std::iter::repeat_n('*', middle.len()));
            out.push(*last);
            out
        }
    }
}

/// Returns an ID number masked for publicity (see the module docs).
pub fn mask_id_number(id_number: &str) -> String {
    let chars: Vec<char> = id_number
        .trim()
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let n = chars.len();
    let keep = match n {
        15.. => 4,
        3..=14 => 1,
        _ => 0,
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < keep || i >= n - keep { c } else { '*' })
        .collect()
}

/// Returns the Chinese label of an outcome as printed in the 结果 column.
pub fn outcome_label(outcome: Outcome, round: Option<AllocationRound>) -> &'static str {
    match (outcome, round) {
        (Outcome::Admitted, Some(AllocationRound::WithinDistrict)) => "录取（区内调剂）",
        (Outcome::Admitted, Some(AllocationRound::CrossDistrict)) => "录取（跨区调剂）",
        (Outcome::Admitted, _) => "录取",
        (Outcome::NotAdmitted, _) => "未录取",
        (Outcome::Ineligible, _) => "不符合条件",
    }
}

/// One row of a publicity list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicityRow {
    /// 1-based rank; `None` for ineligible applications.
    pub rank: Option<u64>,
    /// Public application number.
    pub application_number: String,
    /// Masked name.
    pub masked_name: String,
    /// Masked ID number.
    pub masked_id_number: String,
    /// Total points.
    pub total: i64,
    /// The decision.
    pub outcome: Outcome,
    /// The allocation round, for seats.
    pub round: Option<AllocationRound>,
    /// The school's display name (or id), for seats.
    pub school: Option<String>,
}

/// A masked publicity list, in published order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicityList {
    rows: Vec<PublicityRow>,
}

impl PublicityList {
    /// Returns the list of a run; `school_names` maps school ids to display names (ids without
    /// a name are shown as is). Names and ID numbers are masked again defensively.
    pub fn from_run(result: &RunResult, school_names: &BTreeMap<String, String>) -> Self {
        let rows = result
            .rows
            .iter()
            .map(|r| PublicityRow {
                rank: r.rank,
                application_number: r.application_number.clone(),
                masked_name: mask_name(&r.masked_name),
                masked_id_number: mask_id_number(&r.masked_id_number),
                total: r.total,
                outcome: r.outcome,
                round: r.round,
                school: r
                    .school_id
                    .as_ref()
                    .map(|id| school_names.get(id).unwrap_or(id).clone()),
            })
            .collect();
        Self { rows }
    }

    /// Returns a list of these rows, as stored in a snapshot.
    pub fn from_rows(rows: Vec<PublicityRow>) -> Self {
        Self { rows }
    }

    /// Returns the rows in published order.
    pub fn rows(&self) -> &[PublicityRow] {
        &self.rows
    }

    /// Returns the CSV bytes described in the module docs.
    pub fn to_csv(&self) -> Result<Vec<u8>, RankingError> {
        let csv_err = |e: csv::Error| RankingError::Csv(e.to_string());
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        writer.write_record(CSV_HEADER).map_err(csv_err)?;
        for r in &self.rows {
            writer
                .write_record([
                    r.rank.map(|x| x.to_string()).unwrap_or_default(),
                    r.application_number.clone(),
                    r.masked_name.clone(),
                    r.masked_id_number.clone(),
                    r.total.to_string(),
                    outcome_label(r.outcome, r.round).to_owned(),
                    r.school.clone().unwrap_or_default(),
                ])
                .map_err(csv_err)?;
        }
        writer
            .into_inner()
            .map_err(|e| RankingError::Csv(e.to_string()))
    }

    /// Returns the content hash: lowercase hex SHA-256 of [`PublicityList::to_csv`].
    pub fn content_hash(&self) -> Result<String, RankingError> {
        Ok(hex::encode(Sha256::digest(self.to_csv()?)))
    }

    /// Returns the rows whose application number equals `query`, or whose masked name equals
    /// `query` or the masked form of `query` (so a full name finds its masked row).
    pub fn search(&self, query: &str) -> Vec<&PublicityRow> {
        let query = query.trim();
        if query.is_empty() {
            return Vec::new();
        }
        let masked = mask_name(query);
        self.rows
            .iter()
            .filter(|r| {
                r.application_number == query || r.masked_name == query || r.masked_name == masked
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rank_key::RankSpec;
    use crate::domain::run::{Decision, RunApplication, RunParams, run_ranking};
    use crate::domain::seat_allocation::{School, SeatPlan};

    #[test]
    fn masks_names_by_character() {
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张"), "张");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("  欧阳娜娜 "), "欧**娜");
        assert_eq!(mask_name("买买提·艾力"), "买****力");
        assert_eq!(mask_name("Li"), "L*");
        // Characters outside the BMP are one char each, never split.
        assert_eq!(mask_name("𠀀𠀁𠀂"), "𠀀*𠀂");
        assert_eq!(mask_name(&mask_name("张三丰")), "张*丰");
    }

    #[test]
    fn masks_id_numbers() {
        assert_eq!(mask_id_number("320502199001011234"), "3205**********1234");
        assert_eq!(mask_id_number("32050219900101123x"), "3205**********123X");
        assert_eq!(mask_id_number("320502900101123"), "3205*******1123");
        assert_eq!(mask_id_number("E12345678"), "E*******8");
        assert_eq!(mask_id_number("ab"), "**");
        assert_eq!(mask_id_number(""), "");
        let once = mask_id_number("320502199001011234");
        assert_eq!(mask_id_number(&once), once);
    }

    fn sample_list() -> PublicityList {
        let apps: Vec<RunApplication> = [
            ("A-2", "张三丰", "320502199001011234", 684, true),
            ("A-1", "李四", "320502199202021111", 700, true),
            ("A-3", "王五, 小", "E12345678", 800, false),
            ("A-4", "赵六", "320502199303031234", 600, true),
        ]
        .into_iter()
        .map(|(n, name, id, total, ok)| RunApplication {
            application_id: format!("id-{n}"),
            application_number: n.to_owned(),
            masked_name: mask_name(name),
            masked_id_number: mask_id_number(id),
            total,
            tie_values: vec![0, 0, 0, 0],
            gates_ok: ok,
            school_preferences: vec!["s1".to_owned()],
            service_area: Some("a".to_owned()),
            district: Some("gusu".to_owned()),
        })
        .collect();
        let params = RunParams {
            spec: RankSpec::suzhou_school(),
            decision: Decision::Seats(SeatPlan {
                schools: vec![School {
                    school_id: "s1".to_owned(),
                    district: "gusu".to_owned(),
                    service_areas: vec!["a".to_owned()],
                    seats: 2,
                }],
                district_min_totals: BTreeMap::new(),
            }),
        };
        let result = run_ranking(&apps, &params).expect("run");
        let names = BTreeMap::from([("s1".to_owned(), "苏州市实验小学".to_owned())]);
        PublicityList::from_run(&result, &names)
    }

    #[test]
    fn csv_has_chinese_header_and_hash_of_its_bytes() {
        let list = sample_list();
        let csv = list.to_csv().expect("csv");
        let text = String::from_utf8(csv.clone()).expect("utf8");
        let expected = "排名,申请编号,姓名,身份证号,总积分,结果,学校\n\
            1,A-1,李*,3205**********1111,700,录取,苏州市实验小学\n\
            2,A-2,张*丰,3205**********1234,684,录取,苏州市实验小学\n\
            3,A-4,赵*,3205**********1234,600,未录取,\n\
            ,A-3,王***小,E*******8,800,不符合条件,\n";
        assert_eq!(text, expected);
        assert_eq!(
            list.content_hash().expect("hash"),
            hex::encode(Sha256::digest(&csv))
        );
        let quoted = PublicityList::from_rows(vec![PublicityRow {
            school: Some("一小,东校区".to_owned()),
            ..list.rows()[0].clone()
        }]);
        let quoted = String::from_utf8(quoted.to_csv().expect("csv")).expect("utf8");
        assert!(quoted.ends_with(",\"一小,东校区\"\n"));
    }

    #[test]
    fn hash_changes_when_any_cell_changes() {
        let list = sample_list();
        let mut rows = list.rows().to_vec();
        rows[1].total += 1;
        assert_ne!(
            PublicityList::from_rows(rows).content_hash().expect("hash"),
            list.content_hash().expect("hash")
        );
    }

    #[test]
    fn search_by_number_masked_or_full_name() {
        let list = sample_list();
        assert_eq!(list.search("A-4").len(), 1);
        assert_eq!(list.search("张*丰")[0].application_number, "A-2");
        assert_eq!(list.search("张三丰")[0].application_number, "A-2");
        assert_eq!(list.search(" 李四 ")[0].application_number, "A-1");
        assert!(list.search("").is_empty());
        assert!(list.search("A-9").is_empty());
    }
}
