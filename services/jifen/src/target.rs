//! `--target`: which components one process runs.

use std::fmt;

/// One runnable component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Tenants, accounts, staff, tokens.
    Identity,
    /// Rule sets and score sheets.
    Scoring,
    /// Evidence files.
    Materials,
    /// Cycles, applications, the review workflow.
    Review,
    /// Rank boards, ranking runs, publicity lists.
    Ranking,
    /// Announcements and notifications.
    Notices,
    /// The HTTP edge and web portal.
    Gateway,
}

/// Every target, in start order (identity first: the others verify tokens against it).
pub const ALL: [Target; 7] = [
    Target::Identity,
    Target::Scoring,
    Target::Materials,
    Target::Review,
    Target::Ranking,
    Target::Notices,
    Target::Gateway,
];

impl Target {
    /// Returns the name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Identity => "identity",
            Target::Scoring => "scoring",
            Target::Materials => "materials",
            Target::Review => "review",
            Target::Ranking => "ranking",
            Target::Notices => "notices",
            Target::Gateway => "gateway",
        }
    }

    /// Returns the full gRPC service name, or `None` for the HTTP-only gateway.
    pub fn grpc_service(self) -> Option<&'static str> {
        use jifen_proto::service_names as s;
        match self {
            Target::Identity => Some(s::IDENTITY),
            Target::Scoring => Some(s::SCORING),
            Target::Materials => Some(s::MATERIALS),
            Target::Review => Some(s::REVIEW),
            Target::Ranking => Some(s::RANKING),
            Target::Notices => Some(s::NOTICES),
            Target::Gateway => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--target` value: distinct targets in start order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(pub Vec<Target>);

impl Targets {
    /// Parses `all` or a comma list (clap value parser).
    pub fn parse(value: &str) -> Result<Self, String> {
        parse_targets(value).map(Targets)
    }
}

/// Parses `all` or a comma list like `scoring,review` into sorted, distinct targets.
pub fn parse_targets(value: &str) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for part in value.split(',').map(str::trim) {
        if part == "all" {
            targets.extend(ALL);
            continue;
        }
        match ALL.iter().find(|t| t.name() == part) {
            Some(t) => targets.push(*t),
            None => {
                let names: Vec<_> = ALL.iter().map(|t| t.name()).collect();
                return Err(format!(
                    "unknown target {part:?} (expected all or a comma list of: {})",
                    names.join(", ")
                ));
            }
        }
    }
    targets.sort();
    targets.dedup();
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_all() {
        assert_eq!(parse_targets("all").expect("all"), ALL.to_vec());
        assert_eq!(
            parse_targets("review,scoring,review").expect("list"),
            vec![Target::Scoring, Target::Review]
        );
    }

    #[test]
    fn unknown_target_is_named() {
        let err = parse_targets("scoring,billing").expect_err("refused");
        assert!(err.contains("\"billing\""), "{err}");
    }
}
