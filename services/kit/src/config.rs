//! Layered configuration: embedded defaults, then an optional TOML file, then environment
//! variables `JIFEN__SECTION__KEY`. The merged result is validated before anything binds.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

/// The embedded defaults, also the documentation of every setting.
pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

/// Every setting of a jifen process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, limits and timeouts.
    pub server: ServerConfig,
    /// Relational storage.
    pub database: DatabaseConfig,
    /// Shared cache, rank boards and rate limits.
    pub redis: RedisConfig,
    /// Object storage for evidence files.
    pub s3: S3Config,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// Where the other components are.
    pub peers: PeersConfig,
    /// Tokens, password hashing and login limits (identity).
    pub auth: AuthConfig,
    /// Encryption of personal data at rest (identity).
    pub pii: PiiConfig,
    /// The HTTP edge: admission control at season open.
    pub gateway: GatewayConfig,
}

/// Admission limits of the HTTP edge; beyond them callers get 429 with `Retry-After`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Requests in flight across the edge.
    pub max_in_flight: usize,
    /// Requests per second across the edge.
    pub rate_per_sec: f64,
    /// Requests in flight for one tenant.
    pub tenant_max_in_flight: usize,
    /// Requests per second for one tenant.
    pub tenant_rate_per_sec: f64,
    /// Take the client address (for per-address limits: registration, login, simulator) from the
    /// last `X-Forwarded-For` hop instead of the connection. Set it only when an ingress or load
    /// balancer that appends that header is the only way to reach the edge.
    pub trust_forwarded_for: bool,
}

/// Tokens, password hashing and login limits.
///
/// Keys are `<kid>:<base64 key>` strings. When `signing_keys` is empty, identity generates a key
/// once and keeps it in `<data dir>/identity-secrets.json` (mode 0600), so restarts keep tokens
/// valid; production passes keys as secrets (`JIFEN__AUTH__SIGNING_KEYS='["k2:…","k3:…"]'`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Ed25519 signing keys as `<kid>:<base64 PKCS#8 DER>`. Every key is published in the JWKS;
    /// the last one signs. Rotate by adding the new key first, then moving it last once every
    /// component has refetched the JWKS, then removing the old one after `access_ttl_secs`.
    pub signing_keys: Vec<String>,
    /// Lifetime of an access token in seconds.
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token (a session) in days.
    pub refresh_ttl_days: u64,
    /// Argon2id memory cost in KiB.
    pub password_memory_kib: u32,
    /// Argon2id passes.
    pub password_iterations: u32,
    /// Argon2id lanes.
    pub password_parallelism: u32,
    /// Failed logins an account or a client address may have before back-off starts.
    pub login_free_attempts: u32,
    /// Longest back-off in seconds (it doubles from 1 s with every further failure).
    pub login_max_backoff_secs: u64,
    /// Failures are forgotten this long after the last one, in seconds.
    pub login_window_secs: u64,
    /// Registrations (valid input) one client address may make per registration window.
    pub registrations_per_address: u64,
    /// The registration window in seconds (fixed, from the address's first registration).
    pub registration_window_secs: u64,
    /// Password of the city admin `admin` that `jifen seed` creates; empty = generated and
    /// printed once (or env JIFEN_SEED_ADMIN_PASSWORD).
    pub seed_admin_password: String,
    /// Shared secret (at least 32 characters) signing the service tokens components present to
    /// each other. Empty is allowed only when one process runs every component (it then uses a
    /// random per-process secret).
    pub service_secret: String,
}

/// Encryption of ID and mobile numbers at rest (AES-256-GCM) with a keyed blind index (HMAC).
///
/// When `keys` and `blind_index_key` are empty, identity generates them once and keeps them in
/// `<data dir>/identity-secrets.json` (mode 0600); production passes them as secrets
/// (`JIFEN__PII__KEYS`, `JIFEN__PII__BLIND_INDEX_KEY`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiConfig {
    /// AES-256 keys as `<kid>:<base64 32 bytes>`; the last one encrypts, all decrypt.
    pub keys: Vec<String>,
    /// HMAC-SHA-256 key of the blind index, base64 of 32 bytes. Never rotate it casually: the
    /// index of every stored row depends on it.
    pub blind_index_key: String,
}

/// Listeners, limits and timeouts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// gRPC listen address.
    pub grpc_addr: String,
    /// HTTP listen address.
    pub http_addr: String,
    /// Per-request timeout in milliseconds.
    pub request_timeout_ms: u64,
    /// Largest gRPC message in bytes.
    pub max_message_bytes: usize,
    /// Maximum gRPC connection age in seconds.
    pub max_connection_age_secs: u64,
    /// Drain time on shutdown in seconds.
    pub shutdown_grace_secs: u64,
}

/// Relational storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty for SQLite files in the data dir, or a `postgres://` URL.
    pub url: String,
    /// Pool size per component.
    pub max_connections: u32,
}

/// Redis.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// Empty for in-process structures, or a `redis://` URL.
    pub url: String,
    /// Prefix of every key.
    pub key_prefix: String,
}

/// S3-compatible object storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// Empty for the embedded endpoint, or an `http(s)://` endpoint.
    pub endpoint: String,
    /// Listen address of the embedded endpoint.
    pub embedded_addr: String,
    /// Signing region.
    pub region: String,
    /// Bucket holding every tenant's objects (keys start with `tenants/<tenant>/`).
    pub bucket: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

/// Logs and traces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// OTLP/gRPC collector endpoint; empty disables export.
    pub otlp_endpoint: String,
    /// `auto`, `text` or `json`.
    pub log_format: String,
    /// Default tracing filter.
    pub log_level: String,
}

/// gRPC addresses of the components; empty means this process.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersConfig {
    /// Identity component.
    pub identity: String,
    /// Materials component.
    pub materials: String,
    /// Scoring component.
    pub scoring: String,
    /// Review component.
    pub review: String,
    /// Notices component.
    pub notices: String,
    /// Ranking component.
    pub ranking: String,
}

impl PeersConfig {
    /// Returns the configured address of `component`, or `None` when it is this process.
    pub fn get(&self, component: &str) -> Option<&str> {
        let value = match component {
            "identity" => &self.identity,
            "materials" => &self.materials,
            "scoring" => &self.scoring,
            "review" => &self.review,
            "notices" => &self.notices,
            "ranking" => &self.ranking,
            _ => return None,
        };
        (!value.is_empty()).then_some(value.as_str())
    }
}

/// A configuration that could not be loaded or is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file, the environment or the merge is malformed.
    #[error("invalid configuration: {0}")]
    Parse(String),
    /// A value parsed but is not usable.
    #[error("invalid configuration: {key}: {problem}")]
    Invalid {
        /// Dotted key, e.g. `server.grpc_addr`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Config {
    /// Loads defaults, then `file` if given, then `JIFEN__*` environment variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::Parse(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("JIFEN__").split("__"));
        let config: Config = figment
            .extract()
            .map_err(|err| ConfigError::Parse(one_line(&err)))?;
        config.validate()?;
        Ok(config)
    }

    /// Loads only the embedded defaults (tests and tools).
    pub fn defaults() -> Self {
        #[allow(clippy::expect_used)]
        Figment::from(Toml::string(DEFAULT_CONFIG))
            .extract()
            .expect("embedded default config parses")
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_addr("server.grpc_addr", &self.server.grpc_addr)?;
        parse_addr("server.http_addr", &self.server.http_addr)?;
        parse_addr("s3.embedded_addr", &self.s3.embedded_addr)?;
        let gateway = &self.gateway;
        if gateway.max_in_flight == 0 || gateway.tenant_max_in_flight == 0 {
            return Err(invalid(
                "gateway.max_in_flight",
                "limits must be greater than 0",
            ));
        }
        if !(gateway.rate_per_sec >= 1.0 && gateway.tenant_rate_per_sec >= 1.0) {
            return Err(invalid(
                "gateway.rate_per_sec",
                "rates must be at least 1 per second",
            ));
        }
        if self.server.request_timeout_ms == 0 {
            return Err(invalid(
                "server.request_timeout_ms",
                "must be greater than 0",
            ));
        }
        if self.server.max_message_bytes < 1024 {
            return Err(invalid("server.max_message_bytes", "must be at least 1024"));
        }
        if self.database.max_connections == 0 {
            return Err(invalid(
                "database.max_connections",
                "must be greater than 0",
            ));
        }
        let db = &self.database.url;
        if !(db.is_empty() || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(invalid(
                "database.url",
                "must be empty (SQLite in the data dir) or a postgres:// URL",
            ));
        }
        let redis = &self.redis.url;
        if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(invalid(
                "redis.url",
                "must be empty (in-process) or a redis:// URL",
            ));
        }
        let s3 = &self.s3.endpoint;
        if !(s3.is_empty() || s3.starts_with("http://") || s3.starts_with("https://")) {
            return Err(invalid(
                "s3.endpoint",
                "must be empty (embedded endpoint) or an http(s):// URL",
            ));
        }
        if self.s3.bucket.is_empty() {
            return Err(invalid("s3.bucket", "must not be empty"));
        }
        if !matches!(self.telemetry.log_format.as_str(), "auto" | "text" | "json") {
            return Err(invalid(
                "telemetry.log_format",
                "must be auto, text or json",
            ));
        }
        for (key, value) in [
            ("peers.identity", &self.peers.identity),
            ("peers.materials", &self.peers.materials),
            ("peers.scoring", &self.peers.scoring),
            ("peers.review", &self.peers.review),
            ("peers.notices", &self.peers.notices),
            ("peers.ranking", &self.peers.ranking),
        ] {
            if !(value.is_empty() || value.starts_with("http://") || value.starts_with("https://"))
            {
                return Err(invalid(
                    key,
                    "must be empty (this process) or an http(s):// URL",
                ));
            }
        }
        self.validate_auth()?;
        self.validate_pii()
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        if !auth.service_secret.is_empty() && auth.service_secret.len() < 32 {
            return Err(invalid(
                "auth.service_secret",
                "must be at least 32 characters (or empty when one process runs everything)",
            ));
        }
        for key in &auth.signing_keys {
            let (_, der) = split_key("auth.signing_keys", key)?;
            if der.len() < 48 {
                return Err(invalid(
                    "auth.signing_keys",
                    "each key must be <kid>:<base64 PKCS#8 Ed25519 private key>",
                ));
            }
        }
        if !(60..=86_400).contains(&auth.access_ttl_secs) {
            return Err(invalid(
                "auth.access_ttl_secs",
                "must be between 60 and 86400",
            ));
        }
        if !(1..=365).contains(&auth.refresh_ttl_days) {
            return Err(invalid(
                "auth.refresh_ttl_days",
                "must be between 1 and 365",
            ));
        }
        if auth.password_memory_kib < 8 * auth.password_parallelism.max(1)
            || auth.password_iterations == 0
            || auth.password_parallelism == 0
        {
            return Err(invalid(
                "auth.password_memory_kib",
                "argon2 needs memory >= 8 KiB per lane and at least one pass and one lane",
            ));
        }
        if auth.login_free_attempts == 0 {
            return Err(invalid(
                "auth.login_free_attempts",
                "must be greater than 0",
            ));
        }
        if auth.registrations_per_address == 0 || auth.registration_window_secs == 0 {
            return Err(invalid(
                "auth.registrations_per_address",
                "registrations per address and the registration window must be greater than 0",
            ));
        }
        if auth.login_max_backoff_secs == 0 || auth.login_window_secs == 0 {
            return Err(invalid(
                "auth.login_max_backoff_secs",
                "back-off and window must be greater than 0",
            ));
        }
        Ok(())
    }

    fn validate_pii(&self) -> Result<(), ConfigError> {
        for key in &self.pii.keys {
            let (_, bytes) = split_key("pii.keys", key)?;
            if bytes.len() != 32 {
                return Err(invalid(
                    "pii.keys",
                    "each key must be <kid>:<base64 of 32 bytes>",
                ));
            }
        }
        if !self.pii.blind_index_key.is_empty() {
            let bytes = decode_b64(&self.pii.blind_index_key)
                .ok_or_else(|| invalid("pii.blind_index_key", "must be base64 of 32 bytes"))?;
            if bytes.len() != 32 {
                return Err(invalid("pii.blind_index_key", "must be base64 of 32 bytes"));
            }
        }
        if self.pii.keys.is_empty() != self.pii.blind_index_key.is_empty() {
            return Err(invalid(
                "pii.keys",
                "pii.keys and pii.blind_index_key are set together (or both left empty)",
            ));
        }
        Ok(())
    }

    /// Returns the parsed gRPC listen address.
    pub fn grpc_addr(&self) -> Result<SocketAddr, ConfigError> {
        parse_addr("server.grpc_addr", &self.server.grpc_addr)
    }

    /// Returns the parsed HTTP listen address.
    pub fn http_addr(&self) -> Result<SocketAddr, ConfigError> {
        parse_addr("server.http_addr", &self.server.http_addr)
    }
}

fn invalid(key: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.to_owned(),
    }
}

/// Splits a `<kid>:<base64>` key into its id and bytes.
pub fn split_key(key: &'static str, value: &str) -> Result<(String, Vec<u8>), ConfigError> {
    let (kid, b64) = value
        .split_once(':')
        .filter(|(kid, _)| {
            !kid.is_empty()
                && kid.len() <= 64
                && kid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
        .ok_or_else(|| invalid(key, "each key must look like <kid>:<base64>"))?;
    let bytes =
        decode_b64(b64).ok_or_else(|| invalid(key, "the key after <kid>: is not base64"))?;
    Ok((kid.to_owned(), bytes))
}

fn decode_b64(value: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
}

fn parse_addr(key: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::Invalid {
        key,
        problem: format!("{value:?} is not an address like 127.0.0.1:8080"),
    })
}

fn one_line(err: &figment::Error) -> String {
    err.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::defaults().validate().expect("defaults validate");
    }

    #[test]
    fn corrupt_file_names_the_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[server\ngrpc_addr = 1").expect("write");
        let err = Config::load(Some(&path)).expect_err("corrupt file refused");
        assert!(
            err.to_string().starts_with("invalid configuration"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("typo.toml");
        std::fs::write(&path, "[server]\ngrpc_adr = \"127.0.0.1:1\"\n").expect("write");
        let err = Config::load(Some(&path)).expect_err("typo refused");
        assert!(err.to_string().contains("grpc_adr"), "{err}");
    }

    #[test]
    fn bad_keys_are_refused() {
        let mut config = Config::defaults();
        config.pii.keys = vec!["k1:c2hvcnQ=".to_owned()];
        config.pii.blind_index_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned();
        let err = config.validate().expect_err("short key refused");
        assert!(err.to_string().contains("pii.keys"), "{err}");
        let mut config = Config::defaults();
        config.auth.access_ttl_secs = 1;
        let err = config.validate().expect_err("tiny ttl refused");
        assert!(err.to_string().contains("auth.access_ttl_secs"), "{err}");
    }

    #[test]
    fn bad_address_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("addr.toml");
        std::fs::write(&path, "[server]\nhttp_addr = \"nowhere\"\n").expect("write");
        let err = Config::load(Some(&path)).expect_err("bad address refused");
        assert!(err.to_string().contains("server.http_addr"), "{err}");
    }
}
