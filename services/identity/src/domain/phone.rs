//! Mainland China mobile numbers: 11 digits starting with 13–19.

use super::field::FieldProblem;

/// Checks `input` and returns the normalised number.
pub fn parse_mobile(field: &'static str, input: &str) -> Result<String, FieldProblem> {
    let value = input.trim();
    if value.is_empty() {
        return Err(FieldProblem::new(field, "required", "手机号不能为空"));
    }
    if !value.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldProblem::new(
            field,
            "bad_characters",
            "手机号只能由数字组成",
        ));
    }
    if value.len() != 11 {
        return Err(FieldProblem::new(
            field,
            "bad_length",
            format!("手机号应为 11 位，您输入了 {} 位", value.len()),
        ));
    }
    let b = value.as_bytes();
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Err(FieldProblem::new(
            field,
            "bad_prefix",
            "手机号应以 13–19 开头",
        ));
    }
    Ok(value.to_owned())
}

/// Returns whether `login` looks like a mobile number (so login looks it up as one).
pub fn looks_like_mobile(login: &str) -> bool {
    login.len() == 11 && login.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mainland_numbers() {
        assert_eq!(
            parse_mobile("mobile", " 13812345678 ").expect("ok"),
            "13812345678"
        );
    }

    #[test]
    fn refuses_bad_numbers() {
        for (input, code) in [
            ("1381234567", "bad_length"),
            ("138123456789", "bad_length"),
            ("1381234567a", "bad_characters"),
            ("12812345678", "bad_prefix"),
            ("", "required"),
        ] {
            let err = parse_mobile("mobile", input).expect_err(input);
            assert_eq!(err.code, code, "{input}");
            assert!(err.message.contains("手机号"));
        }
    }
}
