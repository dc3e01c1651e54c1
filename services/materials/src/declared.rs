//! Uploads this process declared and has not seen confirmed, so that a confirmation reaching the
//! replica that declared it (every one, in the monolithic default) inspects the object without
//! reading the row first. What a confirmation takes from a remembered row never changes after
//! the declaration (key, size, type, checksum, uploader, what it replaces); the row's status
//! may, so every write of a confirmation is guarded on the row still being pending, and one whose
//! guard fails reads the row and answers from it. Another replica's confirmation reads the row.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::Utc;

use crate::store::material;

/// Most rows remembered. When that many are unexpired, new declarations are not remembered and
/// their confirmations read the row (a few hundred bytes each: tens of MB at most).
const MOST: usize = 50_000;

/// Declared rows by material id.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    rows: Mutex<HashMap<String, material::Model>>,
}

impl Declared {
    /// Remembers a row just declared, until its upload URL expires (`upload_expires_at`).
    pub(crate) fn remember(&self, row: &material::Model) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if rows.len() >= MOST {
            let now = Utc::now();
            rows.retain(|_, kept| kept.upload_expires_at > now);
            if rows.len() >= MOST {
                return;
            }
        }
        rows.insert(row.id.clone(), row.clone());
    }

    /// Takes the row `id` of `tenant` if this process declared it and its URL has not expired
    /// (another tenant's caller takes nothing, and leaves it).
    pub(crate) fn take(&self, tenant: &str, id: &str) -> Option<material::Model> {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if rows.get(id)?.tenant != tenant {
            return None;
        }
        rows.remove(id)
            .filter(|row| row.upload_expires_at > Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, tenant: &str, expires_in: chrono::Duration) -> material::Model {
        material::Model {
            id: id.to_owned(),
            tenant: tenant.to_owned(),
            application_id: "a".to_owned(),
            indicator: "i".to_owned(),
            verifier_department: None,
            file_name: "f.pdf".to_owned(),
            content_type: "application/pdf".to_owned(),
            size_bytes: 1,
            sha256: String::new(),
            status: "pending".to_owned(),
            rejection_reason: None,
            replaces_material_id: None,
            replaced_by_material_id: None,
            uploaded_by: "u".to_owned(),
            uploaded_by_role: "applicant".to_owned(),
            uploaded_by_tenant: None,
            uploaded_by_scope: None,
            object_key: "k".to_owned(),
            created_at: Utc::now(),
            upload_expires_at: Utc::now() + expires_in,
            confirmed_at: None,
            removed_at: None,
        }
    }

    #[test]
    fn a_row_is_taken_once_by_its_tenant_before_it_expires() {
        let declared = Declared::default();
        declared.remember(&row("m1", "t1", chrono::Duration::seconds(60)));
        declared.remember(&row("m2", "t1", chrono::Duration::zero()));
        assert_eq!(declared.take("t2", "m1"), None, "another tenant");
        assert_eq!(
            declared.take("t1", "m1").map(|r| r.id),
            Some("m1".to_owned())
        );
        assert_eq!(declared.take("t1", "m1"), None, "taken once");
        assert_eq!(declared.take("t1", "m2"), None, "expired");
        assert_eq!(declared.take("t1", "m3"), None, "never declared here");
    }
}
