//! The rule-set lifecycle: draft → validated → published → frozen. Published and frozen
//! versions are immutable.

use crate::error::ScoringError;

/// Where a rule-set version is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Editable; not validated (or edited since).
    Draft,
    /// Editable; passed validation as it stands.
    Validated,
    /// Immutable; usable by cycles, the simulator and public pages.
    Published,
    /// Immutable and in use by at least one cycle.
    Frozen,
}

impl Status {
    /// Returns the stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Validated => "validated",
            Status::Published => "published",
            Status::Frozen => "frozen",
        }
    }

    /// Parses the stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "draft" => Status::Draft,
            "validated" => Status::Validated,
            "published" => Status::Published,
            "frozen" => Status::Frozen,
            _ => return None,
        })
    }

    /// Returns whether the version can no longer change (and may be used for scoring).
    pub fn is_released(self) -> bool {
        matches!(self, Status::Published | Status::Frozen)
    }

    /// Refuses unless the document may be edited or deleted.
    pub fn check_editable(self) -> Result<(), ScoringError> {
        match self {
            Status::Draft | Status::Validated => Ok(()),
            Status::Published => Err(ScoringError::FailedPrecondition(
                "规则集已发布，不能修改；请新建草稿版本".to_owned(),
            )),
            Status::Frozen => Err(ScoringError::FailedPrecondition(
                "规则集已冻结（积分周期已使用），不能修改".to_owned(),
            )),
        }
    }

    /// Refuses unless the version can be published.
    pub fn check_publishable(self) -> Result<(), ScoringError> {
        match self {
            Status::Draft | Status::Validated => Ok(()),
            _ => Err(ScoringError::FailedPrecondition(
                "该版本已发布，不能重复发布".to_owned(),
            )),
        }
    }

    /// Refuses unless the version can be frozen (published, or already frozen: idempotent).
    pub fn check_freezable(self) -> Result<(), ScoringError> {
        if self.is_released() {
            Ok(())
        } else {
            Err(ScoringError::FailedPrecondition(
                "只能冻结已发布的规则集".to_owned(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_versions_cannot_be_edited() {
        assert!(Status::Draft.check_editable().is_ok());
        assert!(Status::Validated.check_editable().is_ok());
        assert!(Status::Published.check_editable().is_err());
        let err = Status::Frozen.check_editable().unwrap_err();
        assert!(err.to_string().contains("冻结"), "{err}");
    }

    #[test]
    fn only_published_can_be_frozen_and_words_round_trip() {
        assert!(Status::Draft.check_freezable().is_err());
        assert!(Status::Published.check_freezable().is_ok());
        assert!(Status::Frozen.check_freezable().is_ok());
        assert!(Status::Published.check_publishable().is_err());
        for s in [
            Status::Draft,
            Status::Validated,
            Status::Published,
            Status::Frozen,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
