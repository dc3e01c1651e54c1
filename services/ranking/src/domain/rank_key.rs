//! Exact rank keys: total, the rule set's tie-breakers, then the application number.
//!
//! # Order
//!
//! An entry ranks by, in this order:
//!
//! 1. `total` descending (higher points rank first);
//! 2. each of the rule set's [`TieBreaker`]s, in the rule set's order and direction (e.g. base
//!    desc, other parent's total desc, residence registration date asc, submitted-at asc);
//! 3. the application number ascending (byte order of its UTF-8), the final deterministic key.
//!
//! No floating point is involved anywhere: every component is an `i64` (dates and timestamps are
//! converted with [`tie_value_from_date`] and [`tie_value_from_timestamp`]).
//!
//! # Encoding
//!
//! Each integer component `v` becomes one `u64` *word* so that ascending word order equals rank
//! order:
//!
//! * sign flip: `w = (v as u64) ^ 0x8000_0000_0000_0000`, which maps `i64::MIN..=i64::MAX`
//!   monotonically onto `0..=u64::MAX`;
//! * for a descending component, the word is inverted: `w = !w`.
//!
//! A [`RankKey`] is the word sequence followed by the application number. Its byte form
//! ([`RankKey::to_bytes`]) is the words in big-endian order followed by the application number's
//! UTF-8 bytes; within one rule set every key has the same number of words, so plain
//! lexicographic (memcmp) order of the byte form is exactly rank order, rank 1 first.
//!
//! # Redis sorted-set encoding
//!
//! Redis scores are `f64` (exact only up to 2^53), so the score cannot carry the key. Instead
//! **every member has score 0** and the member is
//!
//! ```text
//! lowercase-hex(key bytes) "." application_id
//! ```
//!
//! Redis orders equal-score members by memcmp of the member, and lowercase hex preserves byte
//! order (`0-9` < `a-f` in ASCII). The fixed-width word part compares first; when one
//! application number is a prefix of another, the `.` (0x2E, below every hex digit) makes the
//! shorter one sort first, exactly as byte order does; equal keys fall back to the application
//! id. So `ZRANK` (O(log n)) returns the 0-based rank, `ZRANGE board n-1 n-1` the n-th entry
//! (the cut-off for n seats), and the in-process [`crate::domain::board::Board`], which orders
//! by `(key, application_id)`, produces the identical order. [`RankSpec::parse_redis_member`]
//! decodes a member back.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::error::RankingError;

/// The most tie-breakers a rule set may declare.
pub const MAX_TIE_BREAKERS: usize = 16;

const SIGN_BIT: u64 = 1 << 63;

/// Returns the direction in which a tie-breaker ranks values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Smaller values rank first (e.g. an earlier registration date).
    Asc,
    /// Larger values rank first (e.g. a higher base score).
    Desc,
}

impl Direction {
    /// Returns the value that ranks last in this direction; use it for a missing value.
    pub fn worst_value(self) -> i64 {
        match self {
            Direction::Asc => i64::MAX,
            Direction::Desc => i64::MIN,
        }
    }
}

/// One tie-breaker of a rule set: a named integer value and its direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TieBreaker {
    /// The value's name as the rule set spells it (e.g. `base`, `other_parent_total`).
    pub key: String,
    /// Whether larger or smaller values rank first.
    pub direction: Direction,
}

impl TieBreaker {
    /// Returns a tie-breaker named `key` ranking in `direction`.
    pub fn new(key: impl Into<String>, direction: Direction) -> Self {
        Self {
            key: key.into(),
            direction,
        }
    }
}

/// Anything that can be ranked: a total, tie values in the rule set's order, an application
/// number.
pub trait RankEntry {
    /// Returns the total points.
    fn total(&self) -> i64;
    /// Returns the tie values, one per tie-breaker of the rule set, in its order.
    fn tie_values(&self) -> &[i64];
    /// Returns the application number, the final deterministic key.
    fn application_number(&self) -> &str;
}

/// The ranking order of one rule set: `total desc`, then its tie-breakers, then the application
/// number ascending.
///
/// `total` and `application_number` are implicit and may not be listed as tie-breakers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<TieBreaker>", into = "Vec<TieBreaker>")]
pub struct RankSpec {
    tie_breakers: Vec<TieBreaker>,
}

impl TryFrom<Vec<TieBreaker>> for RankSpec {
    type Error = RankingError;

    fn try_from(tie_breakers: Vec<TieBreaker>) -> Result<Self, Self::Error> {
        Self::new(tie_breakers)
    }
}

impl From<RankSpec> for Vec<TieBreaker> {
    fn from(spec: RankSpec) -> Self {
        spec.tie_breakers
    }
}

impl RankSpec {
    /// Returns a spec with these tie-breakers, refusing empty, duplicate or reserved keys.
    pub fn new(tie_breakers: Vec<TieBreaker>) -> Result<Self, RankingError> {
        if tie_breakers.len() > MAX_TIE_BREAKERS {
            return Err(RankingError::InvalidTieBreakers(format!(
                "{} tie-breakers, at most {MAX_TIE_BREAKERS} allowed",
                tie_breakers.len()
            )));
        }
        for (i, tb) in tie_breakers.iter().enumerate() {
            if tb.key.trim().is_empty() {
                return Err(RankingError::InvalidTieBreakers(format!(
                    "tie-breaker {} has an empty key",
                    i + 1
                )));
            }
            if tb.key == "total" || tb.key == "application_number" {
                return Err(RankingError::InvalidTieBreakers(format!(
                    "{} is implicit and must not be listed",
                    tb.key
                )));
            }
            if tie_breakers[..i].iter().any(|other| other.key == tb.key) {
                return Err(RankingError::InvalidTieBreakers(format!(
                    "{} is listed twice",
                    tb.key
                )));
            }
        }
        Ok(Self { tie_breakers })
    }

    /// Returns the `SZ-CITY-SCHOOL-2023` order: base desc, other parent's total desc, residence
    /// registration date asc, submitted-at asc.
    pub fn suzhou_school() -> Self {
        Self {
            tie_breakers: vec![
                TieBreaker::new("base", Direction::Desc),
                TieBreaker::new("other_parent_total", Direction::Desc),
                TieBreaker::new("residence_registered_on", Direction::Asc),
                TieBreaker::new("submitted_at", Direction::Asc),
            ],
        }
    }

    /// Returns the tie-breakers in rank order.
    pub fn tie_breakers(&self) -> &[TieBreaker] {
        &self.tie_breakers
    }

    /// Returns how many `u64` words a key of this spec has (the total plus one per tie-breaker).
    pub fn word_count(&self) -> usize {
        1 + self.tie_breakers.len()
    }

    /// Returns the encoded word `index` of an entry (0 is the total).
    ///
    /// The caller has checked that the entry has the right number of tie values.
    pub(crate) fn word<E: RankEntry + ?Sized>(&self, entry: &E, index: usize) -> u64 {
        if index == 0 {
            encode_component(entry.total(), Direction::Desc)
        } else {
            encode_component(
                entry.tie_values()[index - 1],
                self.tie_breakers[index - 1].direction,
            )
        }
    }

    /// Returns an error unless the entry has one tie value per tie-breaker.
    pub fn check_entry<E: RankEntry + ?Sized>(&self, entry: &E) -> Result<(), RankingError> {
        let got = entry.tie_values().len();
        if got != self.tie_breakers.len() {
            return Err(RankingError::TieValueCount {
                application_number: entry.application_number().to_owned(),
                expected: self.tie_breakers.len(),
                got,
            });
        }
        Ok(())
    }

    /// Returns the rank key of an entry.
    pub fn key(
        &self,
        total: i64,
        tie_values: &[i64],
        application_number: &str,
    ) -> Result<RankKey, RankingError> {
        let entry = BorrowedEntry {
            total,
            tie_values,
            application_number,
        };
        self.key_of(&entry)
    }

    /// Returns the rank key of anything rankable.
    pub fn key_of<E: RankEntry + ?Sized>(&self, entry: &E) -> Result<RankKey, RankingError> {
        self.check_entry(entry)?;
        let words = (0..self.word_count())
            .map(|i| self.word(entry, i))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Ok(RankKey {
            words,
            application_number: entry.application_number().into(),
        })
    }

    /// Compares two checked entries in rank order (`Less` ranks first), word by word.
    pub(crate) fn compare_from<E: RankEntry + ?Sized>(
        &self,
        a: &E,
        b: &E,
        first_word: usize,
    ) -> Ordering {
        for i in first_word..self.word_count() {
            let ord = self.word(a, i).cmp(&self.word(b, i));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a.application_number()
            .as_bytes()
            .cmp(b.application_number().as_bytes())
    }

    /// Decodes a Redis member (`hex(key bytes) "." application_id`) into its key and id.
    pub fn parse_redis_member(&self, member: &str) -> Result<(RankKey, String), RankingError> {
        let malformed = || RankingError::MalformedRedisMember(member.to_owned());
        let (hex_part, id) = member.split_once('.').ok_or_else(malformed)?;
        let bytes = hex::decode(hex_part).map_err(|_| malformed())?;
        let fixed = self.word_count() * 8;
        if bytes.len() < fixed {
            return Err(malformed());
        }
        let (word_bytes, number_bytes) = bytes.split_at(fixed);
        let words = word_bytes
            .chunks_exact(8)
            .map(|c| {
                let mut buf = [0u8; 8];
                buf.copy_from_slice(c);
                u64::from_be_bytes(buf)
            })
            .collect::<Vec<_>>()
            .into_boxed_slice();
        let number = std::str::from_utf8(number_bytes).map_err(|_| malformed())?;
        Ok((
            RankKey {
                words,
                application_number: number.into(),
            },
            id.to_owned(),
        ))
    }
}

/// A borrowed entry, for building a key from loose values.
#[derive(Debug, Clone, Copy)]
struct BorrowedEntry<'a> {
    total: i64,
    tie_values: &'a [i64],
    application_number: &'a str,
}

impl RankEntry for BorrowedEntry<'_> {
    fn total(&self) -> i64 {
        self.total
    }
    fn tie_values(&self) -> &[i64] {
        self.tie_values
    }
    fn application_number(&self) -> &str {
        self.application_number
    }
}

/// An encoded, exactly ordered rank key: smaller keys rank first.
///
/// The derived order compares the words, then the application number's bytes, which is the
/// memcmp order of [`RankKey::to_bytes`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RankKey {
    words: Box<[u64]>,
    application_number: Box<str>,
}

impl RankKey {
    /// Returns the total points the key encodes.
    pub fn total(&self) -> i64 {
        // Keys are only built by `RankSpec`, which always writes the total first.
        decode_component(self.words.first().copied().unwrap_or(0), Direction::Desc)
    }

    /// Returns the encoded words (total first).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Returns the number of encoded words.
    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// Returns the application number, the final key component.
    pub fn application_number(&self) -> &str {
        &self.application_number
    }

    /// Returns the byte form: big-endian words, then the application number's UTF-8.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.words.len() * 8 + self.application_number.len());
        for w in self.words.iter() {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(self.application_number.as_bytes());
        out
    }

    /// Returns the Redis sorted-set member for this key (score 0 for every member).
    pub fn redis_member(&self, application_id: &str) -> String {
        let mut member = hex::encode(self.to_bytes());
        member.push('.');
        member.push_str(application_id);
        member
    }
}

/// Returns the order-preserving word of one component (see the module docs).
pub fn encode_component(value: i64, direction: Direction) -> u64 {
    let flipped = (value as u64) ^ SIGN_BIT;
    match direction {
        Direction::Asc => flipped,
        Direction::Desc => !flipped,
    }
}

/// Returns the component value a word encodes.
pub fn decode_component(word: u64, direction: Direction) -> i64 {
    let flipped = match direction {
        Direction::Asc => word,
        Direction::Desc => !word,
    };
    (flipped ^ SIGN_BIT) as i64
}

/// Returns a date as a tie value: days since 0001-01-01 (proleptic Gregorian), so earlier dates
/// are smaller.
pub fn tie_value_from_date(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// Returns a timestamp as a tie value: microseconds since the Unix epoch.
pub fn tie_value_from_timestamp(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encoding_preserves_order_in_both_directions() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in values.windows(2) {
            assert!(
                encode_component(pair[0], Direction::Asc)
                    < encode_component(pair[1], Direction::Asc)
            );
            assert!(
                encode_component(pair[0], Direction::Desc)
                    > encode_component(pair[1], Direction::Desc)
            );
        }
        for v in values {
            for d in [Direction::Asc, Direction::Desc] {
                assert_eq!(decode_component(encode_component(v, d), d), v);
            }
        }
    }

    #[test]
    fn spec_refuses_bad_tie_breakers() {
        let dup = RankSpec::new(vec![
            TieBreaker::new("base", Direction::Desc),
            TieBreaker::new("base", Direction::Asc),
        ]);
        assert!(matches!(dup, Err(RankingError::InvalidTieBreakers(_))));
        let reserved = RankSpec::new(vec![TieBreaker::new("total", Direction::Desc)]);
        assert!(matches!(reserved, Err(RankingError::InvalidTieBreakers(_))));
        let empty = RankSpec::new(vec![TieBreaker::new(" ", Direction::Desc)]);
        assert!(matches!(empty, Err(RankingError::InvalidTieBreakers(_))));
    }

    #[test]
    fn spec_round_trips_through_json_as_a_list() {
        let spec = RankSpec::suzhou_school();
        let json = serde_json::to_string(&spec).expect("serialise");
        assert!(json.starts_with(r#"[{"key":"base","direction":"desc"}"#));
        let back: RankSpec = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, spec);
        let bad: Result<RankSpec, _> =
            serde_json::from_str(r#"[{"key":"total","direction":"desc"}]"#);
        assert!(bad.is_err());
    }

    #[test]
    fn key_refuses_wrong_tie_value_count() {
        let err = RankSpec::suzhou_school().key(684, &[540], "A1");
        assert!(matches!(
            err,
            Err(RankingError::TieValueCount {
                expected: 4,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn example_b_tie_order() {
        // suzhou-points §6.3 B: all on 684; F2 wins on base, F1 beats F3 on the other parent.
        let spec = RankSpec::suzhou_school();
        let date = tie_value_from_date(NaiveDate::from_ymd_opt(2017, 3, 1).expect("date"));
        let f1 = spec.key(684, &[540, 522, date, 10], "F1").expect("key");
        let f2 = spec.key(684, &[560, 410, date, 30], "F2").expect("key");
        let f3 = spec.key(684, &[540, 480, date, 20], "F3").expect("key");
        let mut keys = vec![f3.clone(), f1.clone(), f2.clone()];
        keys.sort();
        assert_eq!(keys, vec![f2, f1, f3]);
        assert_eq!(keys[0].total(), 684);
    }

    #[test]
    fn earlier_registration_wins_when_parents_tie() {
        let spec = RankSpec::suzhou_school();
        let early = tie_value_from_date(NaiveDate::from_ymd_opt(2015, 1, 1).expect("date"));
        let late = tie_value_from_date(NaiveDate::from_ymd_opt(2016, 1, 1).expect("date"));
        let a = spec.key(684, &[540, 522, late, 0], "A").expect("key");
        let b = spec.key(684, &[540, 522, early, 0], "B").expect("key");
        assert!(b < a);
    }

    #[test]
    fn redis_member_round_trips() {
        let spec = RankSpec::suzhou_school();
        let key = spec.key(-3, &[1, 2, 3, 4], "苏-2023.001").expect("key");
        let member = key.redis_member("app.id-1");
        let (back, id) = spec.parse_redis_member(&member).expect("parse");
        assert_eq!(back, key);
        assert_eq!(id, "app.id-1");
        assert!(spec.parse_redis_member("zz.x").is_err());
        assert!(spec.parse_redis_member("00.x").is_err());
        assert!(spec.parse_redis_member("nodot").is_err());
    }

    fn arb_key() -> impl Strategy<Value = (i64, Vec<i64>, String, String)> {
        (
            prop_oneof![Just(i64::MIN), Just(i64::MAX), -3i64..3],
            proptest::collection::vec(prop_oneof![Just(i64::MIN), Just(i64::MAX), -2i64..2], 2),
            "[ab.]{0,3}",
            "[xy.]{0,2}",
        )
    }

    proptest! {
        #[test]
        fn byte_and_member_order_equal_key_order(a in arb_key(), b in arb_key()) {
            let spec = RankSpec::new(vec![
                TieBreaker::new("base", Direction::Desc),
                TieBreaker::new("date", Direction::Asc),
            ]).expect("spec");
            let ka = spec.key(a.0, &a.1, &a.2).expect("key");
            let kb = spec.key(b.0, &b.1, &b.2).expect("key");
            prop_assert_eq!(ka.cmp(&kb), ka.to_bytes().cmp(&kb.to_bytes()));
            let order = (&ka, a.3.as_bytes()).cmp(&(&kb, b.3.as_bytes()));
            prop_assert_eq!(order, ka.redis_member(&a.3).as_bytes().cmp(kb.redis_member(&b.3).as_bytes()));
            // The explicit comparator chain agrees with the encoding.
            let reference = b.0.cmp(&a.0)
                .then(b.1[0].cmp(&a.1[0]))
                .then(a.1[1].cmp(&b.1[1]))
                .then(a.2.as_bytes().cmp(b.2.as_bytes()));
            prop_assert_eq!(ka.cmp(&kb), reference);
        }
    }
}
