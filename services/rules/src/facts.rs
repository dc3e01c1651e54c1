//! Facts documents (the input of scoring): parsing, validation against the contract vocabulary
//! plus a rule set's declared extra keys, and the compact typed form evaluation reads.
//!
//! A missing key (or `null`) means none / zero / false. Bad values are refused with a
//! [`FactError`] naming the key, so the caller can print one line.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::document::{ExtraFact, ExtraFactType};
use crate::error::FactError;
use crate::vocabulary::{
    AGE_KEY, BOOL_WORDS, BUILTIN_COUNT, BUILTIN_FACTS, FactType, MAX_FACT_VALUE, builtin_slot,
    word_index,
};

/// A built-in fact value. `Copy` and 16 bytes, so the hot path reads facts without allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FactValue {
    /// Not given.
    #[default]
    Missing,
    /// Boolean.
    Bool(bool),
    /// Whole number (numbers are floored to full units when parsed).
    Int(i64),
    /// Date.
    Date(NaiveDate),
    /// Index into the key's enum word list (see [`crate::vocabulary`]).
    Word(u8),
}

/// A value of a rule set's declared extra fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtraValue {
    /// Boolean.
    Bool(bool),
    /// Whole number (numbers floored).
    Int(i64),
    /// Date.
    Date(NaiveDate),
    /// Enum word.
    Word(Box<str>),
}

/// Length of the dense per-slot arrays the fused plan reads: a power of two at least
/// [`BUILTIN_COUNT`], so a slot masked with `DENSE - 1` needs no bounds check.
pub(crate) const DENSE: usize = 32;
const _: () = assert!(BUILTIN_COUNT <= DENSE && DENSE.is_power_of_two());

/// Largest word index kept in the dense word array; enum tables of the fused plan have
/// `WORD_LIMIT + 1` entries, the ones past the word list being 0.
pub(crate) const WORD_LIMIT: u8 = 15;

/// One person's facts, typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonFacts {
    values: [FactValue; BUILTIN_COUNT],
    /// Per slot: the whole number (`Int`), else 0. Kept in step with `values` by [`Self::set`].
    ints: [i64; DENSE],
    /// Per slot: the word index (`Word`, capped at [`WORD_LIMIT`]) or 0/1 (`Bool`), else 0.
    words: [u8; DENSE],
    /// `birth_date` as YYYYMMDD (0 = none): age in full years is then one subtraction and one
    /// division, which keeps the hot path free of calendar arithmetic.
    birth_key: i64,
    /// True when some whole-number slot lies outside `±MAX_FACT_VALUE` (only possible through
    /// [`Self::set`]; parsed facts never are): evaluation then takes the saturating path.
    wide: bool,
    /// Declared extra keys, sorted by key.
    extras: Vec<(Box<str>, ExtraValue)>,
}

impl PersonFacts {
    /// Returns the value of a built-in slot (see [`crate::vocabulary::slot`]).
    #[inline]
    pub fn get(&self, slot: usize) -> FactValue {
        self.values.get(slot).copied().unwrap_or_default()
    }

    /// Sets a built-in slot (for tests, benches and callers building facts in code).
    pub fn set(&mut self, slot: usize, value: FactValue) -> &mut Self {
        if let Some(v) = self.values.get_mut(slot) {
            *v = value;
            if let (Some(i), Some(w)) = (self.ints.get_mut(slot), self.words.get_mut(slot)) {
                (*i, *w) = match value {
                    FactValue::Int(n) => (n, 0),
                    FactValue::Word(x) => (0, x.min(WORD_LIMIT)),
                    FactValue::Bool(b) => (0, u8::from(b)),
                    FactValue::Date(_) | FactValue::Missing => (0, 0),
                };
            }
        }
        if slot == crate::vocabulary::slot::BIRTH_DATE {
            self.birth_key = match value {
                FactValue::Date(d) => date_key(d),
                _ => 0,
            };
        }
        self.wide = self.values.iter().any(
            |v| matches!(v, FactValue::Int(n) if n.unsigned_abs() > MAX_FACT_VALUE.unsigned_abs()),
        );
        self
    }

    /// Whole number of a slot (masked into range), 0 when not a whole number.
    #[inline(always)]
    pub(crate) fn dense_int(&self, slot: u8) -> i64 {
        self.ints[usize::from(slot) & (DENSE - 1)]
    }

    /// Word index (capped at [`WORD_LIMIT`]) or boolean of a slot (masked into range), else 0.
    #[inline(always)]
    pub(crate) fn dense_word(&self, slot: u8) -> usize {
        usize::from(self.words[usize::from(slot) & (DENSE - 1)])
    }

    /// True when every whole-number slot lies within `±MAX_FACT_VALUE`, so the fused plan's
    /// products cannot overflow.
    #[inline]
    pub(crate) fn in_range(&self) -> bool {
        !self.wide
    }

    /// Returns a whole-number slot, 0 when missing.
    #[inline]
    pub fn int(&self, slot: usize) -> i64 {
        match self.get(slot) {
            FactValue::Int(n) => n,
            _ => 0,
        }
    }

    /// Returns a boolean slot, false when missing.
    #[inline]
    pub fn flag(&self, slot: usize) -> bool {
        matches!(self.get(slot), FactValue::Bool(true))
    }

    /// Returns an enum slot's word index, 0 (`none`) when missing.
    #[inline]
    pub fn word(&self, slot: usize) -> u8 {
        match self.get(slot) {
            FactValue::Word(w) => w,
            _ => 0,
        }
    }

    /// Returns a declared extra fact.
    pub fn extra(&self, key: &str) -> Option<&ExtraValue> {
        self.extras
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .and_then(|i| self.extras.get(i))
            .map(|(_, v)| v)
    }

    /// Returns all declared extra facts, sorted by key.
    pub fn extras(&self) -> &[(Box<str>, ExtraValue)] {
        &self.extras
    }

    /// Returns the age in full years at `as_of`, or `None` without a birth date. A birth date
    /// after `as_of` gives 0.
    #[inline]
    pub fn age_at(&self, as_of: NaiveDate) -> Option<i64> {
        self.age_at_key(date_key(as_of))
    }

    /// Like [`Self::age_at`] with `as_of` given as [`date_key`].
    #[inline]
    pub fn age_at_key(&self, as_of_key: i64) -> Option<i64> {
        if self.birth_key == 0 {
            None
        } else {
            Some(((as_of_key - self.birth_key) / 10_000).max(0))
        }
    }
}

/// Returns a date as the integer YYYYMMDD. For two keys, `(later − earlier) / 10000` is the
/// number of full years between the dates.
#[inline]
pub fn date_key(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
}

/// A parsed facts document: one person, or a family of one or two parents.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one person inline: the common case, no extra pointer chase
pub enum Facts {
    /// One applicant.
    Person(PersonFacts),
    /// `{"parents": [a, b]}`.
    Family(Vec<PersonFacts>),
}

impl Facts {
    /// Parses and validates a facts JSON text against the contract vocabulary plus `extras`.
    pub fn from_json_str(json: &str, extras: &[ExtraFact]) -> Result<Self, FactError> {
        let value: Value = serde_json::from_str(json).map_err(|e| {
            FactError::new(
                "",
                "malformed_json",
                format!("事实文档不是有效的 JSON：{e}"),
            )
        })?;
        Self::from_json(&value, extras)
    }

    /// Parses and validates a facts JSON value against the contract vocabulary plus `extras`.
    pub fn from_json(value: &Value, extras: &[ExtraFact]) -> Result<Self, FactError> {
        let Value::Object(map) = value else {
            return Err(FactError::new("", "not_object", "事实文档必须是 JSON 对象"));
        };
        match map.get("parents") {
            None => parse_person(map, extras, "").map(Facts::Person),
            Some(parents) => {
                if map.len() > 1 {
                    let other = map
                        .keys()
                        .find(|k| *k != "parents")
                        .cloned()
                        .unwrap_or_default();
                    return Err(FactError::new(
                        other,
                        "family_mixed",
                        "家庭事实文档只能包含 parents",
                    ));
                }
                let list = match parents {
                    Value::Array(list) if (1..=2).contains(&list.len()) => list,
                    _ => {
                        return Err(FactError::new(
                            "parents",
                            "bad_parents",
                            "parents 必须是包含一至两位家长的数组",
                        ));
                    }
                };
                let mut out = Vec::with_capacity(list.len());
                for (i, p) in list.iter().enumerate() {
                    let prefix = format!("parents[{i}].");
                    let Value::Object(pm) = p else {
                        return Err(FactError::new(
                            format!("parents[{i}]"),
                            "not_object",
                            "每位家长的事实必须是 JSON 对象",
                        ));
                    };
                    out.push(parse_person(pm, extras, &prefix)?);
                }
                Ok(Facts::Family(out))
            }
        }
    }

    /// Returns the persons in document order (one for a single applicant).
    pub fn persons(&self) -> &[PersonFacts] {
        match self {
            Facts::Person(p) => std::slice::from_ref(p),
            Facts::Family(ps) => ps,
        }
    }
}

fn parse_person(
    map: &Map<String, Value>,
    extras: &[ExtraFact],
    prefix: &str,
) -> Result<PersonFacts, FactError> {
    let mut person = PersonFacts::default();
    for (key, value) in map {
        let full_key = || format!("{prefix}{key}");
        if value.is_null() {
            continue;
        }
        if let Some(slot) = builtin_slot(key) {
            let fact = &BUILTIN_FACTS[slot];
            let parsed = parse_value(value, fact.ty, fact.name_zh, &full_key)?;
            person.set(slot, parsed);
        } else if let Some(extra) = extras.iter().find(|e| e.key == *key) {
            let v = parse_extra(value, extra, &full_key)?;
            person.extras.push((key.as_str().into(), v));
        } else if key == AGE_KEY {
            return Err(FactError::new(
                full_key(),
                "derived_key",
                "年龄由出生日期计算，不能直接填写",
            ));
        } else {
            return Err(FactError::new(
                full_key(),
                "unknown_key",
                format!("未知的事实项“{key}”，规则集未声明"),
            ));
        }
    }
    person.extras.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(person)
}

fn parse_value(
    value: &Value,
    ty: FactType,
    name_zh: &str,
    key: &dyn Fn() -> String,
) -> Result<FactValue, FactError> {
    match ty {
        FactType::Bool => match value {
            Value::Bool(b) => Ok(FactValue::Bool(*b)),
            _ => Err(wrong_type(key(), name_zh, "true 或 false")),
        },
        FactType::Integer => parse_count(value, name_zh, key, true).map(FactValue::Int),
        FactType::Number => parse_count(value, name_zh, key, false).map(FactValue::Int),
        FactType::Date => parse_date(value, name_zh, key).map(FactValue::Date),
        FactType::Enum(words) => {
            let Value::String(s) = value else {
                return Err(wrong_type(key(), name_zh, "文字"));
            };
            match word_index(words, s) {
                Some(i) => Ok(FactValue::Word(u8::try_from(i).unwrap_or(0))),
                None => {
                    let allowed: Vec<&str> = words.iter().map(|w| w.word).collect();
                    Err(FactError::new(
                        key(),
                        "unknown_word",
                        format!("{name_zh}的取值“{s}”无效，可选：{}", allowed.join("、")),
                    ))
                }
            }
        }
    }
}

fn parse_extra(
    value: &Value,
    extra: &ExtraFact,
    key: &dyn Fn() -> String,
) -> Result<ExtraValue, FactError> {
    let name = extra.name_zh.as_str();
    match extra.ty {
        ExtraFactType::Bool => match value {
            Value::Bool(b) => Ok(ExtraValue::Bool(*b)),
            _ => Err(wrong_type(key(), name, "true 或 false")),
        },
        ExtraFactType::Integer => parse_count(value, name, key, true).map(ExtraValue::Int),
        ExtraFactType::Number => parse_count(value, name, key, false).map(ExtraValue::Int),
        ExtraFactType::Date => parse_date(value, name, key).map(ExtraValue::Date),
        ExtraFactType::Enum => {
            let Value::String(s) = value else {
                return Err(wrong_type(key(), name, "文字"));
            };
            if extra.values.iter().any(|v| v == s) {
                Ok(ExtraValue::Word(s.as_str().into()))
            } else {
                Err(FactError::new(
                    key(),
                    "unknown_word",
                    format!("{name}的取值“{s}”无效，可选：{}", extra.values.join("、")),
                ))
            }
        }
    }
}

/// Parses a count (integer) or an amount (number, floored to full units).
fn parse_count(
    value: &Value,
    name_zh: &str,
    key: &dyn Fn() -> String,
    integer: bool,
) -> Result<i64, FactError> {
    let Value::Number(n) = value else {
        return Err(wrong_type(key(), name_zh, "数字"));
    };
    let as_float = n.as_f64().unwrap_or(f64::NAN);
    if as_float.is_nan() {
        return Err(wrong_type(key(), name_zh, "数字"));
    }
    if as_float < 0.0 {
        return Err(FactError::new(
            key(),
            "negative",
            format!("{name_zh}不能为负数"),
        ));
    }
    if as_float > MAX_FACT_VALUE as f64 {
        return Err(FactError::new(
            key(),
            "too_large",
            format!("{name_zh}数值过大"),
        ));
    }
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if integer && as_float.fract() != 0.0 {
        return Err(FactError::new(
            key(),
            "not_integer",
            format!("{name_zh}必须是整数"),
        ));
    }
    // Bounded above, so the cast cannot overflow; floors to full units by design.
    Ok(as_float.floor() as i64)
}

fn parse_date(
    value: &Value,
    name_zh: &str,
    key: &dyn Fn() -> String,
) -> Result<NaiveDate, FactError> {
    let Value::String(s) = value else {
        return Err(wrong_type(key(), name_zh, "日期 YYYY-MM-DD"));
    };
    // Strict shape: exactly YYYY-MM-DD (chrono alone would accept "2023-6-3").
    let shape_ok = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if shape_ok => Ok(d),
        _ => Err(FactError::new(
            key(),
            "bad_date",
            format!("{name_zh}日期“{s}”格式错误，应为 YYYY-MM-DD"),
        )),
    }
}

fn wrong_type(key: String, name_zh: &str, expected_zh: &str) -> FactError {
    FactError::new(
        key,
        "wrong_type",
        format!("{name_zh}类型错误，应为{expected_zh}"),
    )
}

/// Returns the Chinese label of a built-in enum fact value, for explanations.
pub(crate) fn word_label(ty: FactType, word: u8) -> &'static str {
    match ty {
        FactType::Enum(words) => words.get(usize::from(word)).map_or("?", |w| w.label_zh),
        FactType::Bool => BOOL_WORDS
            .get(usize::from(word))
            .map_or("?", |w| w.label_zh),
        _ => "?",
    }
}

/// Returns the SHA-256 (lowercase hex) of the canonical form of a facts JSON value: object
/// keys sorted, no whitespace. Stored score sheets carry it to prove which facts were scored.
pub fn facts_hash(facts: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(facts, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Writes `value` as canonical JSON (sorted keys, compact), independent of serde_json's
/// map-ordering feature flags.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(list) => {
            out.push('[');
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::slot;
    use serde_json::json;

    fn parse(v: Value) -> Result<Facts, FactError> {
        Facts::from_json(&v, &[])
    }

    #[test]
    fn parses_person_and_defaults_missing() {
        let f = parse(
            json!({"education":"bachelor","insurance_months":72,"veteran":true,
            "property_area_m2": 92.7, "birth_date":"1985-01-15"}),
        )
        .unwrap();
        let p = &f.persons()[0];
        assert_eq!(p.word(slot::EDUCATION), 3);
        assert_eq!(p.int(slot::INSURANCE_MONTHS), 72);
        assert_eq!(p.int(slot::PROPERTY_AREA_M2), 92);
        assert!(p.flag(slot::VETERAN));
        assert!(!p.flag(slot::INSURANCE_ACTIVE));
        assert_eq!(
            p.age_at(NaiveDate::from_ymd_opt(2023, 6, 30).unwrap()),
            Some(38)
        );
        assert_eq!(
            p.age_at(NaiveDate::from_ymd_opt(2023, 1, 14).unwrap()),
            Some(37)
        );
    }

    #[test]
    fn refuses_bad_values_naming_the_key() {
        let cases = [
            (
                json!({"insurance_months": -1}),
                "insurance_months",
                "negative",
            ),
            (
                json!({"insurance_months": 1.5}),
                "insurance_months",
                "not_integer",
            ),
            (
                json!({"insurance_months": "12"}),
                "insurance_months",
                "wrong_type",
            ),
            (json!({"education": "phd"}), "education", "unknown_word"),
            (
                json!({"birth_date": "1985-13-01"}),
                "birth_date",
                "bad_date",
            ),
            (json!({"birth_date": "1985-1-01"}), "birth_date", "bad_date"),
            (json!({"shoe_size": 42}), "shoe_size", "unknown_key"),
            (json!({"age": 42}), "age", "derived_key"),
            (
                json!({"parents": [{}, {"veteran": 1}]}),
                "parents[1].veteran",
                "wrong_type",
            ),
            (json!({"parents": []}), "parents", "bad_parents"),
            (
                json!({"insurance_months": 1e12}),
                "insurance_months",
                "too_large",
            ),
        ];
        for (doc, key, code) in cases {
            let err = parse(doc.clone()).unwrap_err();
            assert_eq!((err.key.as_str(), err.code), (key, code), "{doc}");
        }
        let err = parse(json!({"insurance_months": -3})).unwrap_err();
        assert_eq!(err.message_zh, "参保月数不能为负数");
        assert_eq!(
            err.to_string(),
            "invalid fact `insurance_months`: negative: 参保月数不能为负数"
        );
    }

    #[test]
    fn declared_extras_are_accepted() {
        let extras = vec![ExtraFact {
            key: "talent_list".into(),
            name_zh: "紧缺人才".into(),
            ty: ExtraFactType::Enum,
            values: vec!["a".into(), "b".into()],
        }];
        let f = Facts::from_json(&json!({"talent_list": "b"}), &extras).unwrap();
        assert_eq!(
            f.persons()[0].extra("talent_list"),
            Some(&ExtraValue::Word("b".into()))
        );
        let err = Facts::from_json(&json!({"talent_list": "c"}), &extras).unwrap_err();
        assert_eq!(err.code, "unknown_word");
    }

    #[test]
    fn hash_is_canonical() {
        let a = facts_hash(&json!({"b": 1, "a": [true, {"y": 2, "x": 1}]}));
        let b = facts_hash(&json!({"a": [true, {"x": 1, "y": 2}], "b": 1}));
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }
}
