//! Rule-set lifecycle operations: draft → validated → published → frozen, each recorded in the
//! change log. Every lookup is scoped to the caller's tenant (plus released city templates).

use chrono::Utc;
use jifen_kit::auth::{CITY_TENANT, Caller};
use jifen_rules::{RuleSetDocument, Violation};

use crate::domain::access;
use crate::domain::lifecycle::Status;
use crate::error::ScoringError;
use crate::rule_book::{RuleBook, content_hash, parse_document, status_of};
use crate::store::change::{self, Change, ChangeRow};
use crate::store::rule_set::{self, RuleSetRow};

/// Longest accepted rule-set id.
const MAX_ID_LEN: usize = 64;

fn version_u32(row: &RuleSetRow) -> u32 {
    u32::try_from(row.version).unwrap_or_default()
}

/// Fixes the identifying fields of a document to the row it is stored in.
fn normalise(doc: &mut RuleSetDocument, owner: &str, id: &str, version: u32) {
    id.clone_into(&mut doc.id);
    doc.version = version;
    doc.tenant = (owner != CITY_TENANT).then(|| owner.to_owned());
}

fn check_id(id: &str) -> Result<(), ScoringError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ScoringError::invalid(
            "rule_set_id",
            "规则集编号须为 1–64 位字母、数字、“-”或“_”",
        ))
    }
}

async fn record(
    book: &RuleBook,
    caller: &Caller,
    row: &RuleSetRow,
    action: &str,
    cycle_id: &str,
) -> Result<(), ScoringError> {
    change::record(
        book.db(),
        Change {
            tenant: &row.tenant,
            rule_set_id: &row.rule_set_id,
            version: version_u32(row),
            action,
            actor_subject: &caller.subject,
            actor_tenant: &caller.tenant,
            content_hash: &row.content_hash,
            cycle_id,
            at: Utc::now(),
        },
    )
    .await?;
    Ok(())
}

/// Returns one version visible to the caller (`version` 0 = newest visible): their tenant's
/// versions, or released city templates. Anything else, including another district's drafts,
/// is NotFound.
pub(crate) async fn get(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
) -> Result<RuleSetRow, ScoringError> {
    access::may_read_rules(caller)?;
    let db = book.db();
    let own = if version == 0 {
        rule_set::latest(db, &caller.tenant, id, false).await?
    } else {
        rule_set::find(db, &caller.tenant, id, version).await?
    };
    let row = match own {
        Some(row) => Some(row),
        None if version == 0 => rule_set::latest(db, CITY_TENANT, id, true).await?,
        None => rule_set::find(db, CITY_TENANT, id, version).await?,
    };
    row.filter(|r| access::row_visible(caller, &r.tenant, status_of(r).is_released()))
        .ok_or_else(|| ScoringError::NotFound(format!("规则集 {id}")))
}

/// Returns one version the caller's tenant owns and may edit.
async fn own_for_edit(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
) -> Result<RuleSetRow, ScoringError> {
    let row = rule_set::find(book.db(), &caller.tenant, id, version)
        .await?
        .ok_or_else(|| ScoringError::NotFound(format!("规则集 {id} 第 {version} 版")))?;
    access::may_edit(caller, &row.tenant)?;
    Ok(row)
}

/// Creates a draft in the caller's tenant: a new id, or the next version of an existing one.
pub(crate) async fn create_draft(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    document_json: &str,
    copy_from_version: u32,
) -> Result<RuleSetRow, ScoringError> {
    let owner = caller.tenant.clone();
    access::may_edit(caller, &owner)?;
    check_id(id)?;
    let db = book.db();
    if rule_set::owners(db, id).await?.iter().any(|t| *t != owner) {
        return Err(ScoringError::AlreadyExists(format!(
            "规则集编号“{id}”已被使用，请换一个编号"
        )));
    }
    let latest = rule_set::latest(db, &owner, id, false).await?;
    let version = latest
        .as_ref()
        .map_or(1, |r| version_u32(r).saturating_add(1));
    let mut doc = if document_json.trim().is_empty() {
        let source = if copy_from_version == 0 {
            rule_set::latest(db, &owner, id, true).await?
        } else {
            rule_set::find(db, &owner, id, copy_from_version).await?
        };
        match source {
            Some(row) => parse_document(&row.document)?,
            None => parse_document(
                &serde_json::json!({"id": id, "version": version, "name_zh": id}).to_string(),
            )?,
        }
    } else {
        parse_document(document_json)?
    };
    normalise(&mut doc, &owner, id, version);
    let now = Utc::now();
    let row = RuleSetRow {
        id: rule_set::row_key(&owner, id, version),
        tenant: owner,
        rule_set_id: id.to_owned(),
        version: i32::try_from(version).unwrap_or(i32::MAX),
        status: Status::Draft.as_str().to_owned(),
        extends_id: doc.extends.clone().unwrap_or_default(),
        benefits: doc.benefits.join(","),
        title_zh: doc.name_zh.clone(),
        content_hash: content_hash(&doc),
        document: doc.to_json_pretty(),
        edit_version: 1,
        frozen_for_cycles: "[]".to_owned(),
        created_by: caller.subject.clone(),
        created_at: now,
        updated_by: caller.subject.clone(),
        updated_at: now,
        published_by: None,
        published_at: None,
        frozen_at: None,
    };
    rule_set::insert(db, row.clone()).await?;
    record(book, caller, &row, "created", "").await?;
    Ok(row)
}

/// Replaces a draft's document; a validated draft goes back to draft.
pub(crate) async fn update_draft(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
    expected_edit: i64,
    document_json: &str,
) -> Result<RuleSetRow, ScoringError> {
    let mut row = own_for_edit(book, caller, id, version).await?;
    status_of(&row).check_editable()?;
    if expected_edit != 0 && expected_edit != row.edit_version {
        return Err(ScoringError::Stale);
    }
    let mut doc = parse_document(document_json)?;
    normalise(&mut doc, &row.tenant.clone(), id, version);
    row.status = Status::Draft.as_str().to_owned();
    row.extends_id = doc.extends.clone().unwrap_or_default();
    row.benefits = doc.benefits.join(",");
    row.title_zh = doc.name_zh.clone();
    row.content_hash = content_hash(&doc);
    row.document = doc.to_json_pretty();
    row.edit_version += 1;
    row.updated_by = caller.subject.clone();
    row.updated_at = Utc::now();
    rule_set::save(book.db(), row.clone()).await?;
    record(book, caller, &row, "updated", "").await?;
    Ok(row)
}

/// Deletes a draft that was never published.
pub(crate) async fn delete_draft(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
) -> Result<(), ScoringError> {
    let row = own_for_edit(book, caller, id, version).await?;
    status_of(&row).check_editable()?;
    rule_set::delete(book.db(), &row.id).await?;
    record(book, caller, &row, "deleted", "").await
}

/// Validates a stored draft, marking it validated when clean; returns the problems and the row.
pub(crate) async fn validate_stored(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
) -> Result<(Vec<Violation>, RuleSetRow), ScoringError> {
    let mut row = own_for_edit(book, caller, id, version).await?;
    let doc = parse_document(&row.document)?;
    let problems = book.problems(&row.tenant, &doc).await?;
    if problems.is_empty() && status_of(&row) == Status::Draft {
        row.status = Status::Validated.as_str().to_owned();
        row.updated_by = caller.subject.clone();
        row.updated_at = Utc::now();
        rule_set::save(book.db(), row.clone()).await?;
        record(book, caller, &row, "validated", "").await?;
    }
    Ok((problems, row))
}

/// Validates an unsaved document as if the caller's tenant owned it; stores nothing.
pub(crate) async fn validate_unsaved(
    book: &RuleBook,
    caller: &Caller,
    document_json: &str,
) -> Result<Vec<Violation>, ScoringError> {
    access::may_edit(caller, &caller.tenant)?;
    match parse_document(document_json) {
        Ok(doc) => book.problems(&caller.tenant, &doc).await,
        Err(ScoringError::InvalidRuleSet(v)) => Ok(v),
        Err(err) => Err(err),
    }
}

/// Publishes a draft after validating it again; the version is immutable from now on.
pub(crate) async fn publish(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
    expected_edit: i64,
) -> Result<RuleSetRow, ScoringError> {
    let mut row = own_for_edit(book, caller, id, version).await?;
    status_of(&row).check_publishable()?;
    if expected_edit != 0 && expected_edit != row.edit_version {
        return Err(ScoringError::Stale);
    }
    let doc = parse_document(&row.document)?;
    let problems = book.problems(&row.tenant, &doc).await?;
    if !problems.is_empty() {
        return Err(ScoringError::NotPublishable(problems));
    }
    let now = Utc::now();
    row.status = Status::Published.as_str().to_owned();
    row.edit_version += 1;
    row.updated_by = caller.subject.clone();
    row.updated_at = now;
    row.published_by = Some(caller.subject.clone());
    row.published_at = Some(now);
    rule_set::save(book.db(), row.clone()).await?;
    record(book, caller, &row, "published", "").await?;
    Ok(row)
}

/// Freezes a released version for a cycle (idempotent per cycle).
pub(crate) async fn freeze(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
    version: u32,
    cycle_id: &str,
) -> Result<RuleSetRow, ScoringError> {
    if cycle_id.trim().is_empty() {
        return Err(ScoringError::invalid("cycle_id", "请指定积分周期"));
    }
    let db = book.db();
    // Version 0 names the latest released version (the proto's RuleSetRef convention).
    let own = if version == 0 {
        rule_set::latest(db, &caller.tenant, id, true).await?
    } else {
        rule_set::find(db, &caller.tenant, id, version).await?
    };
    let row = match own {
        Some(row) => Some(row),
        None if version == 0 => rule_set::latest(db, CITY_TENANT, id, true).await?,
        None => rule_set::find(db, CITY_TENANT, id, version)
            .await?
            .filter(|r| status_of(r).is_released()),
    };
    let mut row =
        row.ok_or_else(|| ScoringError::NotFound(format!("规则集 {id} 第 {version} 版")))?;
    access::may_freeze(caller, &row.tenant)?;
    status_of(&row).check_freezable()?;
    let mut cycles: Vec<String> = serde_json::from_str(&row.frozen_for_cycles).unwrap_or_default();
    if cycles.iter().any(|c| c == cycle_id) {
        return Ok(row);
    }
    cycles.push(cycle_id.to_owned());
    let now = Utc::now();
    row.frozen_for_cycles = serde_json::to_string(&cycles).unwrap_or_else(|_| "[]".to_owned());
    row.status = Status::Frozen.as_str().to_owned();
    row.frozen_at = row.frozen_at.or(Some(now));
    row.updated_at = now;
    row.updated_by = caller.subject.clone();
    rule_set::save(db, row.clone()).await?;
    record(book, caller, &row, "frozen", cycle_id).await?;
    Ok(row)
}

/// Lists what the caller sees: their tenant's versions, plus released city templates when
/// `include_templates` (always for the city tenant itself).
pub(crate) async fn list(
    book: &RuleBook,
    caller: &Caller,
    include_templates: bool,
) -> Result<Vec<RuleSetRow>, ScoringError> {
    access::may_read_rules(caller)?;
    let city = include_templates.then_some(CITY_TENANT);
    Ok(rule_set::list_visible(book.db(), &caller.tenant, city).await?)
}

/// Returns the change history of an id the caller can see (released versions only for city
/// templates seen from a district).
pub(crate) async fn changes(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
) -> Result<Vec<ChangeRow>, ScoringError> {
    let row = get(book, caller, id, 0).await?;
    let mut rows = change::list(book.db(), &row.tenant, id).await?;
    if row.tenant != caller.tenant {
        let mut released = Vec::new();
        for r in rule_set::list_visible(book.db(), "", Some(CITY_TENANT)).await? {
            if r.rule_set_id == id {
                released.push(r.version);
            }
        }
        rows.retain(|c| released.contains(&c.version));
    }
    Ok(rows)
}
