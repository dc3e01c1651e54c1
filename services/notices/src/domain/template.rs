//! Message templates: `{{variable}}` placeholders, the keys that select them (`<from>-><to>`,
//! `*-><to>`, an event topic, or a NotificationRequested key), the variables each kind of event
//! provides, and the default zh-CN templates every tenant starts with.
//!
//! Missing variables are handled twice: an admin saving or previewing a template that uses a
//! variable its event never provides gets INVALID_ARGUMENT listing it; at delivery, a variable
//! the event left empty (a return without a deadline) holds the message with an error for
//! operators instead of sending it half-rendered.

use std::collections::BTreeMap;

use crate::error::NoticesError;

/// Variables every `ApplicationStatusChanged` provides (some may be empty for a transition).
pub const STATUS_VARIABLES: [&str; 8] = [
    "application_number",
    "application_id",
    "benefit",
    "status",
    "from_status",
    "reason",
    "deadline",
    "cycle_id",
];

/// Variables of `review.score_confirmed`.
pub const SCORE_CONFIRMED_VARIABLES: [&str; 5] = [
    "application_number",
    "application_id",
    "benefit",
    "total",
    "cycle_id",
];

/// Variables of `review.objection_decided`.
pub const OBJECTION_VARIABLES: [&str; 4] =
    ["application_number", "application_id", "result", "reply"];

/// Topic of the score-confirmed event.
pub const SCORE_CONFIRMED: &str = "review.score_confirmed";
/// Topic of the objection-decided event.
pub const OBJECTION_DECIDED: &str = "review.objection_decided";

/// Lowercase ApplicationStatus names (without the prefix), indexed by enum value, with Chinese.
pub const STATUSES: [(&str, &str); 15] = [
    ("unspecified", "未知"),
    ("draft", "草稿"),
    ("submitted", "已提交"),
    ("returned", "退回补正"),
    ("district_review", "区级复核中"),
    ("department_verification", "部门核查中"),
    ("city_review", "市级终审中"),
    ("scored", "待确认积分"),
    ("confirmed", "积分已确认"),
    ("ranked", "已排名"),
    ("publicised", "公示中"),
    ("admitted", "已录取"),
    ("not_admitted", "未录取"),
    ("rejected", "审核未通过"),
    ("withdrawn", "已撤回"),
];

/// Default templates (in-app; SMS and email fall back to them): key, title, body.
pub const DEFAULTS: [(&str, &str, &str); 9] = [
    (
        "*->submitted",
        "申请已提交",
        "您的{{benefit}}申请（编号 {{application_number}}）已提交，等待街道初审。",
    ),
    (
        "*->returned",
        "申请已退回补正",
        "您的{{benefit}}申请（编号 {{application_number}}）已退回，原因：{{reason}}。请于 {{deadline}} 前补正后重新提交。",
    ),
    (
        "*->district_review",
        "初审已通过",
        "您的{{benefit}}申请（编号 {{application_number}}）已通过街道初审，进入区级复核。",
    ),
    (
        "*->scored",
        "请确认积分",
        "您的{{benefit}}申请（编号 {{application_number}}）已完成终审，请于 {{deadline}} 前登录确认积分。",
    ),
    (
        "*->publicised",
        "已进入公示",
        "您的{{benefit}}申请（编号 {{application_number}}）已列入公示名单，请留意公示公告，如有异议请在公示期内提出。",
    ),
    (
        "*->admitted",
        "结果通知",
        "您的{{benefit}}申请（编号 {{application_number}}）结果：{{status}}。",
    ),
    (
        "*->not_admitted",
        "结果通知",
        "您的{{benefit}}申请（编号 {{application_number}}）结果：{{status}}。",
    ),
    (
        "*->rejected",
        "申请未通过审核",
        "您的{{benefit}}申请（编号 {{application_number}}）未通过审核，原因：{{reason}}。",
    ),
    (
        OBJECTION_DECIDED,
        "复核申请已答复",
        "您就申请 {{application_number}} 提出的复核申请已答复：{{result}}。{{reply}}",
    ),
];

/// Returns the lowercase name of an ApplicationStatus value.
pub fn status_name(value: i32) -> Option<&'static str> {
    usize::try_from(value)
        .ok()
        .and_then(|i| STATUSES.get(i))
        .map(|(name, _)| *name)
}

/// Returns the Chinese name of an ApplicationStatus value.
pub fn status_zh(value: i32) -> &'static str {
    usize::try_from(value)
        .ok()
        .and_then(|i| STATUSES.get(i))
        .map_or("未知", |(_, zh)| *zh)
}

/// Returns the template keys of a transition, most specific first.
pub fn transition_keys(from: i32, to: i32) -> Vec<String> {
    let to = status_name(to).unwrap_or("unspecified");
    let mut keys = Vec::with_capacity(2);
    if let Some(from) = status_name(from) {
        keys.push(format!("{from}->{to}"));
    }
    keys.push(format!("*->{to}"));
    keys
}

/// Returns the variables the event behind `key` provides, or `None` for a NotificationRequested
/// key (whose sender chooses the variables).
pub fn available_variables(key: &str) -> Option<&'static [&'static str]> {
    if key.contains("->") {
        Some(&STATUS_VARIABLES)
    } else if key == SCORE_CONFIRMED {
        Some(&SCORE_CONFIRMED_VARIABLES)
    } else if key == OBJECTION_DECIDED {
        Some(&OBJECTION_VARIABLES)
    } else {
        None
    }
}

/// Returns the placeholders of `text`, in order of first use, without duplicates.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim().to_owned();
        if !name.is_empty() && !found.contains(&name) {
            found.push(name);
        }
        rest = &after[end + 2..];
    }
    found
}

/// Renders `text`; returns the placeholders with no (or an empty) value instead of a
/// half-rendered text.
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> Result<String, Vec<String>> {
    let missing: Vec<String> = placeholders(text)
        .into_iter()
        .filter(|name| vars.get(name).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        out.push_str(vars.get(name).map_or("", String::as_str));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks a template before it is saved or previewed and returns its declared variables: the key
/// is well-formed, every placeholder is declared (an empty declaration declares what is used),
/// and every variable is one the key's event provides.
pub fn validate(
    key: &str,
    title: &str,
    body: &str,
    declared: &[String],
) -> Result<Vec<String>, NoticesError> {
    validate_key(key)?;
    if title.trim().is_empty() {
        return Err(NoticesError::invalid(
            "template.title_zh",
            "required",
            "模板标题（title_zh）不能为空",
        ));
    }
    if body.trim().is_empty() {
        return Err(NoticesError::invalid(
            "template.body_zh",
            "required",
            "模板正文（body_zh）不能为空",
        ));
    }
    if title.chars().count() > 100 || body.chars().count() > 2000 {
        return Err(NoticesError::invalid(
            "template.body_zh",
            "too_long",
            "模板过长：标题最多 100 字，正文最多 2000 字",
        ));
    }
    let mut used = placeholders(title);
    for name in placeholders(body) {
        if !used.contains(&name) {
            used.push(name);
        }
    }
    let declared: Vec<String> = if declared.is_empty() {
        used.clone()
    } else {
        declared.to_vec()
    };
    let mut bad: Vec<String> = used
        .iter()
        .filter(|name| !declared.contains(name))
        .cloned()
        .collect();
    if let Some(available) = available_variables(key) {
        for name in &declared {
            if !available.contains(&name.as_str()) && !bad.contains(name) {
                bad.push(name.clone());
            }
        }
    }
    if bad.is_empty() {
        Ok(declared)
    } else {
        Err(NoticesError::UnknownVariables(bad))
    }
}

fn validate_key(key: &str) -> Result<(), NoticesError> {
    let bad = |why: &str| {
        NoticesError::invalid(
            "template.key",
            "unknown_value",
            format!("模板键（key）“{key}”无效：{why}"),
        )
    };
    if key.is_empty() || key.len() > 100 {
        return Err(bad("不能为空且最多 100 个字符"));
    }
    if let Some((from, to)) = key.split_once("->") {
        let known = |name: &str| STATUSES.iter().skip(1).any(|(n, _)| *n == name);
        if !(from == "*" || known(from)) || !known(to) {
            return Err(bad("状态名应为 submitted、returned 等小写名称，来源可用 *"));
        }
        return Ok(());
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
    {
        return Err(bad("只能包含小写字母、数字、下划线和点"));
    }
    Ok(())
}

/// Returns sample values for previews.
pub fn sample_value(name: &str) -> Option<&'static str> {
    Some(match name {
        "name" => "张*三",
        "application_number" => "WZ-2025-SCH-000123",
        "application_id" => "0190f0e2-0000-7000-8000-000000000000",
        "benefit" => "积分入学",
        "status" => "退回补正",
        "from_status" => "已提交",
        "reason" => "居住证明材料不清晰",
        "deadline" => "2025-05-20",
        "cycle_id" => "2025-school",
        "total" => "112",
        "result" => "已受理并重新核查",
        "reply" => "请留意后续通知。",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn variables_render_and_missing_ones_are_listed() {
        let text = "{{ benefit }}申请 {{application_number}} 请于 {{deadline}} 前补正";
        assert_eq!(
            render(
                text,
                &vars(&[
                    ("benefit", "积分入学"),
                    ("application_number", "A-1"),
                    ("deadline", "2025-05-20")
                ])
            )
            .expect("renders"),
            "积分入学申请 A-1 请于 2025-05-20 前补正"
        );
        assert_eq!(
            render(text, &vars(&[("benefit", "x"), ("deadline", " ")])).expect_err("missing"),
            vec!["application_number".to_owned(), "deadline".to_owned()]
        );
    }

    #[test]
    fn unknown_variables_are_refused_at_save_time() {
        let err = validate(
            "*->returned",
            "退回",
            "{{name}} 请于 {{deadline}} 补正",
            &[],
        )
        .expect_err("name is not provided by status events");
        assert!(err.to_string().contains("name"), "{err}");
        assert!(!err.to_string().contains("deadline"), "{err}");
        let err = validate(
            "*->returned",
            "退回",
            "{{deadline}}",
            &["reason".to_owned()],
        )
        .expect_err("undeclared");
        assert!(err.to_string().contains("deadline"), "{err}");
        assert!(validate("custom.reminder", "提醒", "{{name}}您好", &[]).is_ok());
        assert!(validate("foo->returned", "x", "y", &[]).is_err());
    }

    #[test]
    fn defaults_are_valid_and_keys_go_from_specific_to_general() {
        for (key, title, body) in DEFAULTS {
            validate(key, title, body, &[]).expect(key);
        }
        assert_eq!(
            transition_keys(2, 3),
            vec!["submitted->returned", "*->returned"]
        );
    }
}
