//! The [`TokenVerifier`] every component uses: it checks EdDSA access tokens against identity's
//! published keys (gRPC `GetJwks` over the peers channel), caches the key set, refetches it when a
//! token names an unknown key id (at most once per [`MIN_REFETCH`]) and when it gets old, and keeps
//! a small cache of tokens already verified so hot tokens skip the signature check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Role, TokenError, TokenVerifier};
use crate::component::Peers;

/// Shortest time between two key-set fetches triggered by unknown key ids.
pub const MIN_REFETCH: Duration = Duration::from_secs(5);

/// How long a fetched key set is trusted before it is fetched again.
pub const KEYS_TTL: Duration = Duration::from_secs(300);

/// Largest number of verified tokens remembered.
const TOKEN_CACHE_CAPACITY: usize = 50_000;

/// The claims of a jifen access token; identity signs exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Account id.
    pub sub: String,
    /// Tenant the token was issued in (`suzhou` for applicants, whose accounts are city-wide).
    pub tenant: String,
    /// Role names (`street_reviewer`, …).
    pub roles: Vec<String>,
    /// 街道/镇 code of a street reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Department code of a department verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Session family id.
    pub sid: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

impl AccessClaims {
    /// Returns the caller these claims prove, refusing unknown role names.
    pub fn into_caller(self) -> Result<Caller, TokenError> {
        let roles = self
            .roles
            .iter()
            .map(|r| Role::parse(r).ok_or_else(|| TokenError::Invalid(format!("unknown role {r}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Caller {
            tenant: self.tenant,
            subject: self.sub,
            roles,
            street: self.street,
            department: self.department,
            session: Some(self.sid),
            home_tenant: None,
        })
    }
}

/// One public key of a JWKS, as identity publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Key id.
    pub kid: String,
    /// base64url Ed25519 public key.
    pub x: String,
}

struct KeySet {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// Where the key set comes from.
#[derive(Clone)]
enum Source {
    /// identity's `GetJwks`.
    Identity(Peers),
    /// Fixed keys (tests and benchmarks).
    Fixed,
}

/// Verifies access tokens against identity's JWKS; see the module docs.
#[derive(Clone)]
pub struct JwksVerifier {
    source: Source,
    keys: Arc<RwLock<KeySet>>,
    tokens: Arc<Mutex<HashMap<String, (AccessClaims, i64)>>>,
    fetch: Arc<tokio::sync::Mutex<Option<Instant>>>,
    validation: Arc<Validation>,
    cache_tokens: bool,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier").finish_non_exhaustive()
    }
}

impl JwksVerifier {
    /// Returns a verifier fetching keys from identity through `peers`.
    pub fn new(peers: Peers) -> Self {
        Self::build(Source::Identity(peers), HashMap::new(), None)
    }

    /// Returns a verifier over fixed keys (tests, benchmarks); it never fetches.
    pub fn with_keys(keys: &[PublicJwk]) -> Result<Self, TokenError> {
        let mut map = HashMap::new();
        for key in keys {
            map.insert(key.kid.clone(), decoding_key(&key.x)?);
        }
        Ok(Self::build(Source::Fixed, map, Some(Instant::now())))
    }

    fn build(
        source: Source,
        keys: HashMap<String, DecodingKey>,
        fetched_at: Option<Instant>,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            source,
            keys: Arc::new(RwLock::new(KeySet { keys, fetched_at })),
            tokens: Arc::new(Mutex::new(HashMap::new())),
            fetch: Arc::new(tokio::sync::Mutex::new(None)),
            validation: Arc::new(validation),
            cache_tokens: true,
        }
    }

    /// Turns the verified-token cache off (to measure the signature check alone).
    pub fn without_token_cache(mut self) -> Self {
        self.cache_tokens = false;
        self
    }

    /// Verifies `token` with the keys at hand, without fetching. `Ok(None)` means the token names
    /// a key id this verifier does not know.
    pub fn verify_cached(&self, token: &str) -> Result<Option<Caller>, TokenError> {
        let now = chrono::Utc::now().timestamp();
        if self.cache_tokens
            && let Ok(cache) = self.tokens.lock()
            && let Some((claims, exp)) = cache.get(token)
            && *exp > now
        {
            return claims.clone().into_caller().map(Some);
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid("algorithm is not EdDSA".to_owned()));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Invalid("no key id".to_owned()))?;
        let keys = self
            .keys
            .read()
            .map_err(|_| TokenError::KeysUnavailable("key cache poisoned".to_owned()))?;
        let Some(key) = keys.keys.get(&kid) else {
            return Ok(None);
        };
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        drop(keys);
        let claims = data.claims;
        if self.cache_tokens
            && let Ok(mut cache) = self.tokens.lock()
        {
            if cache.len() >= TOKEN_CACHE_CAPACITY {
                cache.retain(|_, (_, exp)| *exp > now);
                if cache.len() >= TOKEN_CACHE_CAPACITY {
                    cache.clear();
                }
            }
            cache.insert(token.to_owned(), (claims.clone(), claims.exp));
        }
        claims.into_caller().map(Some)
    }

    fn is_stale(&self) -> bool {
        match self.keys.read() {
            Ok(keys) => keys.fetched_at.is_none_or(|t| t.elapsed() > KEYS_TTL),
            Err(_) => true,
        }
    }

    /// Fetches the key set from identity unless another task just did.
    async fn refresh(&self, force: bool) -> Result<(), TokenError> {
        let Source::Identity(peers) = &self.source else {
            return Ok(());
        };
        let mut last = self.fetch.lock().await;
        if let Some(at) = *last
            && at.elapsed() < MIN_REFETCH
            && (force || !self.is_stale())
        {
            return Ok(());
        }
        let channel = peers
            .channel("identity")
            .map_err(|e| TokenError::KeysUnavailable(e.to_string()))?;
        let mut client =
            jifen_proto::identity::v1::identity_service_client::IdentityServiceClient::new(channel);
        let mut request = tonic::Request::new(jifen_proto::identity::v1::GetJwksRequest {});
        request.set_timeout(Duration::from_secs(3));
        let response = client
            .get_jwks(request)
            .await
            .map_err(|e| TokenError::KeysUnavailable(e.message().to_owned()))?
            .into_inner();
        let mut map = HashMap::new();
        for key in response.keys {
            if key.kty == "OKP" && key.crv == "Ed25519" {
                map.insert(key.kid, decoding_key(&key.x)?);
            }
        }
        *last = Some(Instant::now());
        let mut keys = self
            .keys
            .write()
            .map_err(|_| TokenError::KeysUnavailable("key cache poisoned".to_owned()))?;
        let changed =
            keys.keys.len() != map.len() || map.keys().any(|k| !keys.keys.contains_key(k));
        keys.keys = map;
        keys.fetched_at = Some(Instant::now());
        drop(keys);
        if changed && let Ok(mut cache) = self.tokens.lock() {
            // A withdrawn key must not keep its tokens alive through the cache.
            cache.clear();
        }
        Ok(())
    }
}

fn decoding_key(x: &str) -> Result<DecodingKey, TokenError> {
    DecodingKey::from_ed_components(x).map_err(|e| TokenError::KeysUnavailable(e.to_string()))
}

#[tonic::async_trait]
impl TokenVerifier for JwksVerifier {
    async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        if self.is_stale() {
            // A failed periodic refresh keeps the old keys; only an unknown kid needs the fetch.
            if let Err(err) = self.refresh(false).await {
                tracing::warn!(error = %err, "jwks refresh failed");
            }
        }
        if let Some(caller) = self.verify_cached(token)? {
            return Ok(caller);
        }
        self.refresh(true).await?;
        self.verify_cached(token)?
            .ok_or_else(|| TokenError::Invalid("unknown key id".to_owned()))
    }
}
