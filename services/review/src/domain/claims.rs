//! Claims: the facts an applicant declares per person and indicator, with evidence, and what the
//! departments verified. The facts document scoring receives is assembled from them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Verification state of one claim (mirrors `VerificationStatus` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Declared; no task yet.
    Claimed,
    /// A task is open.
    Pending,
    /// Verified.
    Verified,
    /// Re-opened by an upheld objection.
    Reopened,
    /// No department verifies this fact; the claimed value counts.
    NotRequired,
}

/// One declared fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Facts key, e.g. `insurance_months`.
    pub fact_key: String,
    /// 0 = the applicant, 1 = the other parent.
    pub person_index: u32,
    /// Indicator the fact supports.
    pub indicator: String,
    /// Claimed value (JSON).
    pub value: Value,
    /// Evidence material ids.
    pub material_ids: Vec<String>,
    /// Verification state.
    pub state: ClaimState,
    /// Verified value, once verified.
    pub verified: Option<Value>,
    /// Department that verifies it.
    pub department: String,
    /// Verifier's note.
    pub note: String,
}

impl Claim {
    /// Returns the `<person_index>:<fact_key>` reference of this claim.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.person_index, self.fact_key)
    }
}

/// Parses a `<person_index>:<fact_key>` reference (a bare key means person 0).
pub fn parse_reference(text: &str) -> Option<(u32, String)> {
    let (person, key) = match text.split_once(':') {
        Some((p, k)) => (p.trim().parse().ok()?, k.trim()),
        None => (0, text.trim()),
    };
    (!key.is_empty()).then(|| (person, key.to_owned()))
}

/// Which values the facts document is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactsKind {
    /// What the applicant declared.
    Claimed,
    /// What the departments verified (claims needing no department count as declared).
    Verified,
}

/// Builds the facts document: one object per person; a family (`family = true`) becomes
/// `{"parents": [...]}`. A claim without a verified value is left out of the verified document
/// (counts as none/zero), so an unverified claim never scores.
pub fn facts_document(claims: &[Claim], kind: FactsKind, family: bool) -> Value {
    let persons = claims
        .iter()
        .map(|c| c.person_index)
        .max()
        .map_or(1, |m| m as usize + 1);
    let mut people = vec![Map::new(); if family { persons.max(1) } else { 1 }];
    for claim in claims {
        let value = match kind {
            FactsKind::Claimed => Some(&claim.value),
            FactsKind::Verified => match claim.state {
                ClaimState::NotRequired => Some(&claim.value),
                _ => claim.verified.as_ref(),
            },
        };
        let Some(value) = value else { continue };
        let slot = if family {
            claim.person_index as usize
        } else {
            0
        };
        if !family && claim.person_index != 0 {
            continue;
        }
        if let Some(person) = people.get_mut(slot) {
            person.insert(claim.fact_key.clone(), value.clone());
        }
    }
    if family {
        Value::Object(Map::from_iter([(
            "parents".to_owned(),
            Value::Array(people.into_iter().map(Value::Object).collect()),
        )]))
    } else {
        Value::Object(people.into_iter().next().unwrap_or_default())
    }
}

/// Upserts `incoming` claims by (person_index, fact_key) and removes `remove` references. When
/// `allowed` is set (a returned application), only those references may change.
pub fn merge_claims(
    current: &mut Vec<Claim>,
    incoming: Vec<Claim>,
    remove: &[(u32, String)],
    allowed: Option<&[(u32, String)]>,
) -> Result<(), String> {
    let permitted = |p: u32, k: &str| {
        allowed.is_none_or(|a| a.is_empty() || a.iter().any(|(ap, ak)| *ap == p && ak == k))
    };
    for (p, k) in remove {
        if !permitted(*p, k) {
            return Err(format!("{p}:{k}"));
        }
        current.retain(|c| !(c.person_index == *p && &c.fact_key == k));
    }
    for claim in incoming {
        if !permitted(claim.person_index, &claim.fact_key) {
            return Err(claim.reference());
        }
        match current
            .iter_mut()
            .find(|c| c.person_index == claim.person_index && c.fact_key == claim.fact_key)
        {
            Some(existing) => *existing = claim,
            None => current.push(claim),
        }
    }
    current.sort_by(|a, b| (a.person_index, &a.fact_key).cmp(&(b.person_index, &b.fact_key)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(person: u32, key: &str, value: Value) -> Claim {
        Claim {
            fact_key: key.into(),
            person_index: person,
            indicator: key.into(),
            value,
            material_ids: vec![],
            state: ClaimState::Claimed,
            verified: None,
            department: String::new(),
            note: String::new(),
        }
    }

    #[test]
    fn references_parse() {
        assert_eq!(
            parse_reference("1:education"),
            Some((1, "education".into()))
        );
        assert_eq!(parse_reference("education"), Some((0, "education".into())));
        assert_eq!(parse_reference("x:education"), None);
        assert_eq!(parse_reference("0:"), None);
    }

    #[test]
    fn claimed_and_verified_documents_differ() {
        let mut claims = vec![
            claim(0, "insurance_months", json!(88)),
            claim(0, "education", json!("bachelor")),
        ];
        claims[0].state = ClaimState::Verified;
        claims[0].verified = Some(json!(80));
        let claimed = facts_document(&claims, FactsKind::Claimed, false);
        assert_eq!(
            claimed,
            json!({"insurance_months": 88, "education": "bachelor"})
        );
        let verified = facts_document(&claims, FactsKind::Verified, false);
        assert_eq!(verified, json!({"insurance_months": 80}));
    }

    #[test]
    fn a_family_becomes_parents() {
        let claims = vec![
            claim(0, "education", json!("bachelor")),
            claim(1, "veteran", json!(true)),
        ];
        assert_eq!(
            facts_document(&claims, FactsKind::Claimed, true),
            json!({"parents": [{"education": "bachelor"}, {"veteran": true}]})
        );
    }

    #[test]
    fn a_return_limits_what_may_change() {
        let mut current = vec![claim(0, "education", json!("bachelor"))];
        let allowed = [(0, "insurance_months".to_owned())];
        assert!(
            merge_claims(
                &mut current,
                vec![claim(0, "education", json!("master"))],
                &[],
                Some(&allowed)
            )
            .is_err()
        );
        merge_claims(
            &mut current,
            vec![claim(0, "insurance_months", json!(90))],
            &[],
            Some(&allowed),
        )
        .expect("allowed");
        assert_eq!(current.len(), 2);
        merge_claims(&mut current, vec![], &[(0, "education".into())], None).expect("remove");
        assert_eq!(current.len(), 1);
    }
}
