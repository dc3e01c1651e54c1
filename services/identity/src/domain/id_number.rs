//! 居民身份证号 (GB 11643-1999): six-digit region code, eight-digit birth date, three-digit
//! sequence, and an ISO 7064 MOD 11-2 check character.

use chrono::NaiveDate;

use super::field::FieldProblem;

const FIELD: &str = "id_number";
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Province-level codes (the first two digits) in use.
const PROVINCES: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// A checked ID number, normalised (upper-case `X`).
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

// Never print the number itself, even in debug output.
impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", super::masking::id_number(&self.value))
    }
}

impl IdNumber {
    /// Checks `input` as of `today` and returns the normalised number.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, FieldProblem> {
        let value = input.trim().to_ascii_uppercase();
        let problem = |code, msg: &str| FieldProblem::new(FIELD, code, format!("身份证号{msg}"));
        if value.is_empty() {
            return Err(problem("required", "不能为空"));
        }
        let chars: Vec<char> = value.chars().collect();
        let body_ok = chars.iter().take(17).all(char::is_ascii_digit);
        let last_ok = chars
            .get(17)
            .is_none_or(|c| c.is_ascii_digit() || *c == 'X');
        if !body_ok || !last_ok {
            return Err(problem(
                "bad_characters",
                "只能由数字组成，最后一位可以是数字或字母 X",
            ));
        }
        if chars.len() != 18 {
            return Err(problem(
                "bad_length",
                &format!("应为 18 位，您输入了 {} 位", chars.len()),
            ));
        }
        let digit = |i: usize| chars[i].to_digit(10).unwrap_or(0);
        let province = digit(0) * 10 + digit(1);
        if !PROVINCES.contains(&province) || chars[2..6].iter().all(|c| *c == '0') {
            return Err(problem("bad_region", "前 6 位地区代码不正确"));
        }
        let birth: String = chars[6..14].iter().collect();
        let birth_date = NaiveDate::parse_from_str(&birth, "%Y%m%d")
            .map_err(|_| problem("bad_date", "中的出生日期（第 7–14 位）不是有效日期"))?;
        if birth_date > today {
            return Err(problem("bad_date", "中的出生日期（第 7–14 位）晚于今天"));
        }
        if birth_date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(birth_date) {
            return Err(problem(
                "bad_date",
                "中的出生日期（第 7–14 位）早于 1900 年",
            ));
        }
        let sum: u32 = (0..17).map(|i| digit(i) * WEIGHTS[i]).sum();
        if CHECK[(sum % 11) as usize] != chars[17] {
            return Err(problem(
                "bad_checksum",
                "校验位（最后一位）不正确，请核对后重新输入",
            ));
        }
        Ok(Self { value, birth_date })
    }

    /// Returns the normalised number (to encrypt or index, never to log).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Returns the birth date encoded in the number.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }
}

/// Returns the check character for the first 17 digits (tests and fixtures).
pub fn check_char(first17: &str) -> char {
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).expect("date")
    }

    #[test]
    fn accepts_a_valid_number_and_normalises_x() {
        // The GB 11643 example number.
        let id = IdNumber::parse("11010519491231002x", today()).expect("valid");
        assert_eq!(id.expose(), "11010519491231002X");
        assert_eq!(id.birth_date().to_string(), "1949-12-31");
        assert!(!format!("{id:?}").contains("19491231"));
    }

    #[test]
    fn refuses_each_kind_of_mistake_naming_the_field() {
        let cases = [
            ("110105194912310021", "bad_checksum"),
            ("11010519491231002", "bad_length"),
            ("11010519491231002XX", "bad_length"),
            ("1101051949123100AX", "bad_characters"),
            ("990105194912310021", "bad_region"),
            ("110105194913310021", "bad_date"),
            ("", "required"),
        ];
        for (input, code) in cases {
            let err = IdNumber::parse(input, today()).expect_err(input);
            assert_eq!(err.code, code, "{input}");
            assert_eq!(err.field, "id_number");
            assert!(err.message.starts_with("身份证号"), "{}", err.message);
        }
    }

    #[test]
    fn refuses_a_future_birth_date() {
        let first = "32050520300101001";
        let id = format!("{first}{}", check_char(first));
        let err = IdNumber::parse(&id, today()).expect_err("future");
        assert_eq!(err.code, "bad_date");
        assert!(err.message.contains("晚于今天"));
    }

    #[test]
    fn check_char_matches_the_standard_example() {
        assert_eq!(check_char("11010519491231002"), 'X');
    }
}
