//! Masking of SMS and email destinations for operators' views.

/// Returns `138****5678` for a mobile number.
pub fn mobile(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Returns `z***@example.cn` for an email address.
pub fn email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn destinations_are_masked() {
        assert_eq!(super::mobile("13812345678"), "138****5678");
        assert_eq!(super::email("zhang@example.cn"), "z***@example.cn");
    }
}
