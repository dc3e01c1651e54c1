//! Password rules a resident understands: 8–64 characters, at least two of letters, digits and
//! symbols, not a well-known password, not a run of one character or a keyboard sequence, and
//! not built from the person's own ID or mobile number.

use super::field::FieldProblem;

/// Shortest accepted password.
pub const MIN_CHARS: usize = 8;
/// Longest accepted password (argon2 takes any length; this bounds the work per login).
pub const MAX_CHARS: usize = 64;

/// Passwords found at the top of every breach list (lower-case comparison).
const COMMON: [&str; 24] = [
    "password",
    "password1",
    "password123",
    "passw0rd",
    "qwerty123",
    "qwertyuiop",
    "abc12345",
    "abcd1234",
    "a1234567",
    "aa123456",
    "a123456789",
    "woaini1314",
    "iloveyou",
    "1qaz2wsx",
    "1q2w3e4r",
    "zxcvbnm123",
    "admin123",
    "admin888",
    "qq123456",
    "asd12345",
    "asdf1234",
    "1234qwer",
    "test1234",
    "abc123456",
];

const SEQUENCES: [&str; 4] = [
    "0123456789",
    "9876543210",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
];

/// Checks `password` for `field`; `personal` holds the person's own numbers it must not contain.
pub fn check(field: &'static str, password: &str, personal: &[&str]) -> Result<(), FieldProblem> {
    let problem = |code, msg: &str| FieldProblem::new(field, code, format!("密码{msg}"));
    let count = password.chars().count();
    if count == 0 {
        return Err(problem("required", "不能为空"));
    }
    if count < MIN_CHARS {
        return Err(problem("too_short", &format!("至少需要 {MIN_CHARS} 位")));
    }
    if count > MAX_CHARS {
        return Err(problem("too_long", &format!("不能超过 {MAX_CHARS} 位")));
    }
    if password
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(problem("bad_characters", "不能包含空格或控制字符"));
    }
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    let symbols = password.chars().any(|c| !c.is_alphanumeric());
    if [letters, digits, symbols].iter().filter(|b| **b).count() < 2 {
        return Err(problem(
            "too_simple",
            "需要包含字母、数字、符号中的至少两种",
        ));
    }
    let lower = password.to_lowercase();
    let first = lower.chars().next().unwrap_or_default();
    if COMMON.contains(&lower.as_str()) || lower.chars().all(|c| c == first) {
        return Err(problem("common", "过于常见，很容易被猜到，请换一个"));
    }
    if SEQUENCES.iter().any(|s| s.contains(&lower)) {
        return Err(problem(
            "common",
            "是连续的数字或字母，很容易被猜到，请换一个",
        ));
    }
    for value in personal {
        let value = value.to_lowercase();
        let tail = value.get(value.len().saturating_sub(6)..).unwrap_or("");
        if !value.is_empty()
            && (lower.contains(&value) || (tail.len() == 6 && lower.contains(tail)))
        {
            return Err(problem("personal", "不能包含您的身份证号或手机号"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_reasonable_password() {
        assert!(check("password", "Sz-jifen#2025", &["13812345678"]).is_ok());
    }

    #[test]
    fn refuses_weak_passwords_in_plain_chinese() {
        for (pw, code) in [
            ("", "required"),
            ("a1b2c3", "too_short"),
            ("abcdefghij", "too_simple"),
            ("password123", "common"),
            ("12345678", "too_simple"),
            ("abc 12345", "bad_characters"),
            ("x13812345678", "personal"),
            ("ab345678ab", "personal"),
        ] {
            let err = check("password", pw, &["13812345678"]).expect_err(pw);
            assert_eq!(err.code, code, "{pw}");
            assert!(err.message.starts_with("密码"));
        }
        assert_eq!(
            check("password", &"a1".repeat(40), &[])
                .expect_err("long")
                .code,
            "too_long"
        );
    }
}
