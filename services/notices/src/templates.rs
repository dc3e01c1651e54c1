//! Message templates per tenant: admins' rpcs and the lookup used at delivery. A tenant's own
//! template wins over the city's, which wins over the built-in default; across keys the most
//! specific (`<from>-><to>` before `*-><to>`) wins first. SMS and email fall back to the in-app
//! template of the same key when they have none of their own.

use std::collections::BTreeMap;

use jifen_kit::auth::{CITY_TENANT, Caller};
use jifen_proto::notices::v1::{self as pb, Channel};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::convert::{actor_json, actor_pb, channel_code, channel_of, channel_pb, ts};
use crate::domain::template::{self as tpl, DEFAULTS};
use crate::error::NoticesError;
use crate::service::{Notices, managed_tenant};
use crate::store::template::{self as row, Column, Entity};

/// A template chosen for one delivery.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) key: String,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) enabled: bool,
}

impl Resolved {
    /// Renders title and body, or lists the variables that are missing.
    pub(crate) fn render(
        &self,
        vars: &BTreeMap<String, String>,
    ) -> Result<(String, String), Vec<String>> {
        let title = tpl::render(&self.title, vars);
        let body = tpl::render(&self.body, vars);
        match (title, body) {
            (Ok(t), Ok(b)) => Ok((t, b)),
            (t, b) => {
                let mut missing = t.err().unwrap_or_default();
                for name in b.err().unwrap_or_default() {
                    if !missing.contains(&name) {
                        missing.push(name);
                    }
                }
                Err(missing)
            }
        }
    }
}

fn variables_of(json: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(json.clone()).unwrap_or_default()
}

fn to_pb(r: &row::Model, inherited: bool) -> pb::Template {
    pb::Template {
        key: r.key.clone(),
        channel: channel_pb(&r.channel) as i32,
        title_zh: r.title.clone(),
        body_zh: r.body.clone(),
        variables: variables_of(&r.variables),
        enabled: r.enabled,
        inherited,
        tenant: r.tenant.clone(),
        updated_at: Some(ts(r.updated_at)),
        updated_by: actor_pb(&r.updated_by),
        version: r.version,
    }
}

fn default_pb(key: &str, title: &str, body: &str) -> pb::Template {
    pb::Template {
        key: key.to_owned(),
        channel: Channel::InApp as i32,
        title_zh: title.to_owned(),
        body_zh: body.to_owned(),
        variables: tpl::placeholders(&format!("{title}{body}")),
        enabled: true,
        inherited: true,
        tenant: String::new(),
        updated_at: None,
        updated_by: None,
        version: 0,
    }
}

impl Notices {
    /// Returns the template of `channel` for the first of `keys` that has one in `tenant`, the
    /// city or the defaults.
    pub(crate) async fn resolve_template(
        &self,
        tenant: &str,
        keys: &[String],
        channel: Channel,
    ) -> Result<Option<Resolved>, NoticesError> {
        let code = channel_code(channel);
        let channels: Vec<&str> = if code == "in_app" {
            vec!["in_app"]
        } else {
            vec![code, "in_app"]
        };
        let rows = Entity::find()
            .filter(Column::Tenant.is_in([tenant, CITY_TENANT]))
            .filter(Column::Key.is_in(keys.iter().map(String::as_str)))
            .filter(Column::Channel.is_in(channels.clone()))
            .all(&self.db)
            .await?;
        for channel in channels {
            for key in keys {
                for owner in [tenant, CITY_TENANT] {
                    if let Some(r) = rows
                        .iter()
                        .find(|r| r.tenant == owner && &r.key == key && r.channel == channel)
                    {
                        return Ok(Some(Resolved {
                            key: r.key.clone(),
                            title: r.title.clone(),
                            body: r.body.clone(),
                            enabled: r.enabled,
                        }));
                    }
                }
                if channel == "in_app"
                    && let Some((k, title, body)) = DEFAULTS.iter().find(|(k, _, _)| k == key)
                {
                    return Ok(Some(Resolved {
                        key: (*k).to_owned(),
                        title: (*title).to_owned(),
                        body: (*body).to_owned(),
                        enabled: true,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Creates or replaces a template of the caller's tenant.
    pub(crate) async fn handle_upsert_template(
        &self,
        caller: &Caller,
        req: pb::UpsertTemplateRequest,
    ) -> Result<pb::Template, NoticesError> {
        let tenant = managed_tenant(caller)?.to_owned();
        let t = req.template.ok_or_else(|| {
            NoticesError::invalid("template", "required", "缺少模板内容（template）")
        })?;
        let channel = channel_of(t.channel)?;
        let key = t.key.trim().to_owned();
        let variables = tpl::validate(&key, &t.title_zh, &t.body_zh, &t.variables)?;
        let now = self.clock.now();
        let code = channel_code(channel);
        let existing = Entity::find()
            .filter(Column::Tenant.eq(tenant.as_str()))
            .filter(Column::Key.eq(key.as_str()))
            .filter(Column::Channel.eq(code))
            .one(&self.db)
            .await?;
        let vars_json =
            serde_json::to_value(&variables).map_err(|e| NoticesError::Internal(e.to_string()))?;
        let saved = match existing {
            Some(current) => {
                if req.expected_version != 0 && req.expected_version != current.version {
                    return Err(NoticesError::StaleVersion);
                }
                let version = current.version;
                let mut active: row::ActiveModel = current.into();
                active.title = Set(t.title_zh.trim().to_owned());
                active.body = Set(t.body_zh.trim().to_owned());
                active.variables = Set(vars_json);
                active.enabled = Set(t.enabled);
                active.updated_at = Set(now);
                active.updated_by = Set(actor_json(caller));
                active.version = Set(version + 1);
                active.update(&self.db).await?
            }
            None => {
                if req.expected_version != 0 {
                    return Err(NoticesError::StaleVersion);
                }
                row::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant: Set(tenant),
                    key: Set(key),
                    channel: Set(code.to_owned()),
                    title: Set(t.title_zh.trim().to_owned()),
                    body: Set(t.body_zh.trim().to_owned()),
                    variables: Set(vars_json),
                    enabled: Set(t.enabled),
                    updated_at: Set(now),
                    updated_by: Set(actor_json(caller)),
                    version: Set(1),
                }
                .insert(&self.db)
                .await?
            }
        };
        Ok(to_pb(&saved, false))
    }

    /// Lists the tenant's templates with the inherited city ones and built-in defaults.
    pub(crate) async fn handle_list_templates(
        &self,
        caller: &Caller,
        req: pb::ListTemplatesRequest,
    ) -> Result<pb::ListTemplatesResponse, NoticesError> {
        let tenant = managed_tenant(caller)?;
        let channel = channel_of(req.channel)?;
        let mut query = Entity::find().filter(
            Condition::any()
                .add(Column::Tenant.eq(tenant))
                .add(Column::Tenant.eq(CITY_TENANT)),
        );
        if channel != Channel::Unspecified {
            query = query.filter(Column::Channel.eq(channel_code(channel)));
        }
        let rows = query
            .order_by_asc(Column::Key)
            .order_by_asc(Column::Channel)
            .all(&self.db)
            .await?;
        let mut out: Vec<pb::Template> = rows
            .iter()
            .filter(|r| r.tenant == tenant)
            .map(|r| to_pb(r, false))
            .collect();
        if tenant != CITY_TENANT {
            for r in rows.iter().filter(|r| r.tenant == CITY_TENANT) {
                if !out
                    .iter()
                    .any(|t| t.key == r.key && t.channel == channel_pb(&r.channel) as i32)
                {
                    out.push(to_pb(r, true));
                }
            }
        }
        if matches!(channel, Channel::Unspecified | Channel::InApp) {
            for (key, title, body) in DEFAULTS {
                if !out
                    .iter()
                    .any(|t| t.key == key && t.channel == Channel::InApp as i32)
                {
                    out.push(default_pb(key, title, body));
                }
            }
        }
        out.sort_by(|a, b| (&a.key, a.channel).cmp(&(&b.key, b.channel)));
        Ok(pb::ListTemplatesResponse {
            templates: out,
            next_page_token: String::new(),
        })
    }

    /// Removes a tenant template.
    pub(crate) async fn handle_delete_template(
        &self,
        caller: &Caller,
        req: pb::DeleteTemplateRequest,
    ) -> Result<(), NoticesError> {
        let tenant = managed_tenant(caller)?;
        let channel = channel_of(req.channel)?;
        let deleted = Entity::delete_many()
            .filter(Column::Tenant.eq(tenant))
            .filter(Column::Key.eq(req.key.trim()))
            .filter(Column::Channel.eq(channel_code(channel)))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(NoticesError::NotFound("模板"));
        }
        Ok(())
    }

    /// Renders a stored or unsaved template with sample variables, writing nothing. Unknown
    /// variables answer INVALID_ARGUMENT listing them; variables not supplied are listed in
    /// `missing_variables` and shown with sample values.
    pub(crate) async fn handle_preview_template(
        &self,
        caller: &Caller,
        req: pb::PreviewTemplateRequest,
    ) -> Result<pb::PreviewTemplateResponse, NoticesError> {
        let tenant = managed_tenant(caller)?;
        let (key, title, body, declared) = match req.template {
            Some(t) => (t.key.trim().to_owned(), t.title_zh, t.body_zh, t.variables),
            None => {
                let channel = channel_of(req.channel)?;
                let key = req.key.trim().to_owned();
                let found = self
                    .resolve_template(tenant, std::slice::from_ref(&key), channel)
                    .await?
                    .ok_or(NoticesError::NotFound("模板"))?;
                (key, found.title, found.body, Vec::new())
            }
        };
        let declared = tpl::validate(&key, &title, &body, &declared)?;
        let mut vars: BTreeMap<String, String> = req
            .variables
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        let mut missing = Vec::new();
        for name in &declared {
            if !vars.contains_key(name) {
                missing.push(name.clone());
                vars.insert(
                    name.clone(),
                    tpl::sample_value(name).map_or_else(|| format!("〔{name}〕"), str::to_owned),
                );
            }
        }
        let resolved = Resolved {
            key,
            title,
            body,
            enabled: true,
        };
        let (title, body) = resolved
            .render(&vars)
            .map_err(NoticesError::UnknownVariables)?;
        Ok(pb::PreviewTemplateResponse {
            title,
            body,
            missing_variables: missing,
        })
    }
}
