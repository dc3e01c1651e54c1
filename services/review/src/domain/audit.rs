//! The append-only audit trail of an application, hash-chained: each record's hash covers the
//! previous record's hash and the record's canonical content, so editing, deleting or reordering
//! any stored row breaks the chain at that row.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record, as hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// 1, 2, … per application.
    pub sequence: i64,
    /// Tenant.
    pub tenant: String,
    /// Application.
    pub application_id: String,
    /// Account id of the actor.
    pub actor_subject: String,
    /// Role the actor acted in (`street_reviewer` …).
    pub actor_role: String,
    /// Tenant of the actor's account.
    pub actor_tenant: String,
    /// Street or department code of a scoped role.
    pub actor_scope: String,
    /// e.g. `submit`, `approve`, `verify`.
    pub action: String,
    /// Status before (wire number).
    pub from_status: i32,
    /// Status after (wire number).
    pub to_status: i32,
    /// Reason given.
    pub reason: String,
    /// Details as JSON text, exactly as stored.
    pub details: String,
    /// When, truncated to microseconds (what PostgreSQL keeps).
    #[serde(serialize_with = "micros")]
    pub at: DateTime<Utc>,
}

fn micros<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(at.timestamp_micros())
}

/// Truncates an instant to microseconds, so it survives a database round trip unchanged.
pub fn truncate_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

impl AuditEntry {
    /// Returns the canonical bytes hashed for this record (JSON, fields in declaration order).
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Returns `sha256:<hex>` over `prev_hash`, a newline and the canonical content.
    pub fn hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.canonical());
        format!("sha256:{}", hex::encode(h.finalize()))
    }
}

/// A stored record: the entry with the hashes written next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEntry {
    /// The content.
    pub entry: AuditEntry,
    /// Stored previous hash.
    pub prev_hash: String,
    /// Stored hash.
    pub hash: String,
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records looked at.
    pub records_checked: u64,
    /// Sequence of the first record that does not match; `None` when intact.
    pub first_bad_sequence: Option<i64>,
    /// Hash of the last record (recomputed).
    pub head_hash: String,
}

/// Recomputes the chain of `entries` (in sequence order) and reports the first broken record.
pub fn verify(entries: &[ChainedEntry]) -> Verification {
    let mut prev = GENESIS_HASH.to_owned();
    let mut first_bad = None;
    for (i, stored) in entries.iter().enumerate() {
        let expected_sequence = i as i64 + 1;
        let recomputed = stored.entry.hash(&prev);
        if first_bad.is_none()
            && (stored.entry.sequence != expected_sequence
                || stored.prev_hash != prev
                || stored.hash != recomputed)
        {
            first_bad = Some(stored.entry.sequence.max(expected_sequence));
        }
        prev = recomputed;
    }
    Verification {
        records_checked: entries.len() as u64,
        first_bad_sequence: first_bad,
        head_hash: prev,
    }
}

/// Chains `entry` after `prev_hash`.
pub fn chain(entry: AuditEntry, prev_hash: &str) -> ChainedEntry {
    let hash = entry.hash(prev_hash);
    ChainedEntry {
        entry,
        prev_hash: prev_hash.to_owned(),
        hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, action: &str) -> AuditEntry {
        AuditEntry {
            sequence: seq,
            tenant: "wuzhong".into(),
            application_id: "a1".into(),
            actor_subject: "u1".into(),
            actor_role: "street_reviewer".into(),
            actor_tenant: "wuzhong".into(),
            actor_scope: "s1".into(),
            action: action.into(),
            from_status: 1,
            to_status: 2,
            reason: String::new(),
            details: "{}".into(),
            at: truncate_micros(Utc::now()),
        }
    }

    fn build(n: i64) -> Vec<ChainedEntry> {
        let mut out: Vec<ChainedEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
            out.push(chain(entry(seq, "approve"), &prev));
        }
        out
    }

    #[test]
    fn an_untouched_chain_is_intact() {
        let chain = build(4);
        let v = verify(&chain);
        assert_eq!(v.first_bad_sequence, None);
        assert_eq!(v.records_checked, 4);
        assert_eq!(v.head_hash, chain[3].hash);
        assert!(chain[0].hash.starts_with("sha256:"));
    }

    #[test]
    fn an_edited_record_is_found() {
        let mut chain = build(4);
        chain[2].entry.reason = "改过".into();
        assert_eq!(verify(&chain).first_bad_sequence, Some(3));
    }

    #[test]
    fn a_deleted_record_is_found() {
        let mut chain = build(4);
        chain.remove(1);
        assert_eq!(verify(&chain).first_bad_sequence, Some(3));
    }

    #[test]
    fn a_rehashed_record_still_breaks_its_successor() {
        let mut chain = build(3);
        chain[1].entry.action = "reject".into();
        let prev = chain[0].hash.clone();
        chain[1].hash = chain[1].entry.hash(&prev);
        assert_eq!(verify(&chain).first_bad_sequence, Some(3));
    }
}
