//! One problem with one request field, in Chinese, naming the field.

/// A refused field: where, a stable code, and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Request field, e.g. `id_number`.
    pub field: &'static str,
    /// Stable snake_case code, e.g. `bad_checksum`.
    pub code: &'static str,
    /// Simplified Chinese, naming the field.
    pub message: String,
}

impl FieldProblem {
    /// Returns a problem with `field`.
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// Checks a free-text field: required or not, at most `max` characters, no control characters.
pub fn text(
    field: &'static str,
    label: &str,
    value: &str,
    required: bool,
    max: usize,
) -> Result<(), FieldProblem> {
    let value = value.trim();
    if value.is_empty() {
        if required {
            return Err(FieldProblem::new(
                field,
                "required",
                format!("请填写{label}"),
            ));
        }
        return Ok(());
    }
    if value.chars().count() > max {
        return Err(FieldProblem::new(
            field,
            "too_long",
            format!("{label}不能超过 {max} 个字符"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldProblem::new(
            field,
            "bad_characters",
            format!("{label}含有不允许的字符"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_the_field() {
        let err = text("name", "姓名", "", true, 5).expect_err("required");
        assert_eq!(err.message, "请填写姓名");
        let err = text("name", "姓名", "一二三四五六", true, 5).expect_err("long");
        assert!(err.message.contains("姓名"));
        assert!(text("email", "邮箱", "", false, 5).is_ok());
    }
}
