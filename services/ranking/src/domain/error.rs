//! Errors of the ranking domain.

use thiserror::Error;

/// Returns why a ranking operation refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RankingError {
    /// A rule set's tie-breaker list is unusable (empty key, duplicate, reserved name, too many).
    #[error("invalid tie-breakers: {0}")]
    InvalidTieBreakers(String),
    /// An entry carries a different number of tie values than the rule set declares.
    #[error("application {application_number}: expected {expected} tie values, got {got}")]
    TieValueCount {
        /// The application whose tie values are wrong.
        application_number: String,
        /// How many tie-breakers the rule set declares.
        expected: usize,
        /// How many values the entry carries.
        got: usize,
    },
    /// A key was built for another rule set (different number of components).
    #[error("rank key has {got} components, board expects {expected}")]
    KeyWidth {
        /// Components the board was created for.
        expected: usize,
        /// Components of the offered key.
        got: usize,
    },
    /// Two applications in one snapshot share an application id.
    #[error("duplicate application id {0}")]
    DuplicateApplicationId(String),
    /// Two applications in one snapshot share an application number.
    #[error("duplicate application number {0}")]
    DuplicateApplicationNumber(String),
    /// The seat plan lists a school twice.
    #[error("duplicate school {0} in seat plan")]
    DuplicateSchool(String),
    /// A histogram bucket width must be positive.
    #[error("histogram bucket width must be positive, got {0}")]
    InvalidBucketWidth(i64),
    /// The requested histogram would have too many buckets to draw.
    #[error("histogram would have {buckets} buckets, limit is {limit}")]
    TooManyBuckets {
        /// Buckets the width and range would need.
        buckets: u64,
        /// The largest bucket count allowed.
        limit: u64,
    },
    /// A Redis member string does not decode to a rank key.
    #[error("malformed redis member: {0}")]
    MalformedRedisMember(String),
    /// Writing the publicity CSV failed.
    #[error("csv export failed: {0}")]
    Csv(String),
}
