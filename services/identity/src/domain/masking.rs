//! How personal data is shown: `3205**********1234`, `138****5678`, `张*三`.

/// Masks an ID number: the first four and last four characters stay.
pub fn id_number(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 9 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// Masks a mobile number: the first three and last four digits stay.
pub fn mobile(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// Masks a name: `张*三`; a two-character name becomes `张*`.
pub fn name(value: &str) -> String {
    let chars: Vec<char> = value.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Masks a document number such as a 居住证号: the last four characters stay.
pub fn document(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{tail}", "*".repeat(chars.len() - 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_displayed() {
        assert_eq!(id_number("320505199001011234"), "3205**********1234");
        assert_eq!(mobile("13812345678"), "138****5678");
        assert_eq!(name("张小三"), "张*三");
        assert_eq!(name("张三"), "张*");
        assert_eq!(name("欧阳娜娜"), "欧**娜");
        assert_eq!(document("JZ12345678"), "******5678");
    }
}
