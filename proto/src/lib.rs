//! The gRPC contracts of every jifen component (`jifen.<component>.v1`), generated from the
//! `.proto` files in `proto/jifen` and nothing else.

#![allow(unreachable_pub, clippy::all, missing_docs)]

/// Encoded `FileDescriptorSet` of every jifen proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("jifen_descriptor");

/// Generated code, one module per proto package.
pub mod jifen {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("jifen.common.v1");
        }
    }
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("jifen.identity.v1");
        }
    }
    pub mod materials {
        pub mod v1 {
            tonic::include_proto!("jifen.materials.v1");
        }
    }
    pub mod scoring {
        pub mod v1 {
            tonic::include_proto!("jifen.scoring.v1");
        }
    }
    pub mod review {
        pub mod v1 {
            tonic::include_proto!("jifen.review.v1");
        }
    }
    pub mod notices {
        pub mod v1 {
            tonic::include_proto!("jifen.notices.v1");
        }
    }
    pub mod ranking {
        pub mod v1 {
            tonic::include_proto!("jifen.ranking.v1");
        }
    }
}

pub use jifen::{common, identity, materials, notices, ranking, review, scoring};

/// Full gRPC service names, as health checks and reflection report them.
pub mod service_names {
    /// `jifen.identity.v1.IdentityService`
    pub const IDENTITY: &str = "jifen.identity.v1.IdentityService";
    /// `jifen.materials.v1.MaterialsService`
    pub const MATERIALS: &str = "jifen.materials.v1.MaterialsService";
    /// `jifen.scoring.v1.ScoringService`
    pub const SCORING: &str = "jifen.scoring.v1.ScoringService";
    /// `jifen.review.v1.ReviewService`
    pub const REVIEW: &str = "jifen.review.v1.ReviewService";
    /// `jifen.notices.v1.NoticesService`
    pub const NOTICES: &str = "jifen.notices.v1.NoticesService";
    /// `jifen.ranking.v1.RankingService`
    pub const RANKING: &str = "jifen.ranking.v1.RankingService";
}
