//! Announcement categories: the proto enum, the stored code and the Chinese name.

use jifen_proto::notices::v1::AnnouncementCategory as Pb;

use crate::error::NoticesError;

/// Every category with its stored code and its Chinese name.
pub const CATEGORIES: [(Pb, &str, &str); 5] = [
    (Pb::Policy, "policy", "政策法规"),
    (Pb::Schedule, "schedule", "工作安排"),
    (Pb::Publicity, "publicity", "公示"),
    (Pb::Result, "result", "结果"),
    (Pb::Download, "download", "下载中心"),
];

/// Returns the stored code of a category sent on the wire; unknown values are refused by name.
pub fn code_of(raw: i32) -> Result<&'static str, NoticesError> {
    CATEGORIES
        .iter()
        .find(|(pb, _, _)| *pb as i32 == raw)
        .map(|(_, code, _)| *code)
        .ok_or_else(|| {
            NoticesError::invalid(
                "category",
                "unknown_value",
                format!(
                    "公告栏目（category）取值 {raw} 不存在，可选：政策法规、工作安排、公示、结果、下载中心"
                ),
            )
        })
}

/// Returns the category filter of a list request: `None` for unspecified.
pub fn filter_of(raw: i32) -> Result<Option<&'static str>, NoticesError> {
    if raw == Pb::Unspecified as i32 {
        Ok(None)
    } else {
        code_of(raw).map(Some)
    }
}

/// Returns the proto value of a stored code.
pub fn to_pb(code: &str) -> Pb {
    CATEGORIES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map_or(Pb::Unspecified, |(pb, _, _)| *pb)
}

/// Returns the Chinese name of a stored code.
pub fn name_zh(code: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map_or("公告", |(_, _, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_category_is_refused_by_value() {
        let err = code_of(42).expect_err("refused");
        assert!(err.to_string().contains("42"), "{err}");
        assert!(code_of(0).is_err());
        assert_eq!(code_of(Pb::Download as i32).expect("known"), "download");
        assert_eq!(name_zh("publicity"), "公示");
        assert_eq!(filter_of(0).expect("any"), None);
    }
}
