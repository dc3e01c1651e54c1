//! Shared plumbing of every jifen component: configuration, telemetry, trace propagation,
//! authentication, the error convention, gRPC server and client builders, database, Redis and
//! S3 clients, the embedded S3 endpoint, and the transactional outbox.

pub mod auth;
pub mod blob;
pub mod cache;
pub mod component;
pub mod config;
pub mod db;
pub mod embedded_s3;
pub mod error;
pub mod event_delivery;
pub mod expiring;
pub mod grpc_client;
pub mod grpc_server;
pub mod jwks;
pub mod metrics;
pub mod outbox;
pub mod service_token;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use config::Config;
pub use error::{ErrorCode, ServiceError};
