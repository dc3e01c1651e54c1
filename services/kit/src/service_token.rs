//! Calls between components carry a short-lived service token: an HS256 JWT with the single role
//! `system`, minted by the calling component with the shared `auth.service_secret` and accepted
//! by every component's auth layer beside identity's EdDSA user tokens. No round trip to identity
//! is needed, so events flow even while identity restarts.

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::auth::{Caller, Role, TENANT_HEADER, TokenError, TokenVerifier};
use crate::jwks::{AccessClaims, JwksVerifier};

/// Lifetime of a service token in seconds; a fresh one is minted a minute before expiry.
const TTL_SECS: i64 = 300;

/// Mints and checks service tokens for one component.
pub struct ServiceTokens {
    component: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    cached: Mutex<Option<(String, i64)>>,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens")
            .field("component", &self.component)
            .finish_non_exhaustive()
    }
}

impl ServiceTokens {
    /// Returns tokens for `component` signed with `secret`.
    pub fn new(component: &str, secret: &[u8]) -> Self {
        Self {
            component: component.to_owned(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            cached: Mutex::new(None),
        }
    }

    /// Returns the same signer acting as another component.
    pub fn for_component(&self, component: &str) -> Self {
        Self {
            component: component.to_owned(),
            encoding: self.encoding.clone(),
            decoding: self.decoding.clone(),
            cached: Mutex::new(None),
        }
    }

    /// Returns a valid token, minting a new one when the cached one is about to expire.
    pub fn token(&self) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, exp)) = cached.as_ref()
            && *exp - 60 > now
        {
            return token.clone();
        }
        let claims = AccessClaims {
            sub: format!("service:{}", self.component),
            tenant: crate::auth::CITY_TENANT.to_owned(),
            roles: vec![Role::System.as_str().to_owned()],
            street: None,
            department: None,
            sid: "service".to_owned(),
            iat: now,
            exp: now + TTL_SECS,
        };
        // HS256 signing over in-memory claims cannot fail.
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default();
        *cached = Some((token.clone(), now + TTL_SECS));
        token
    }

    /// Wraps `message` in a request acting as this component in `tenant`.
    pub fn request<T>(&self, message: T, tenant: &str) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        if let Ok(value) = format!("Bearer {}", self.token()).parse() {
            req.metadata_mut().insert("authorization", value);
        }
        if let Ok(value) = tenant.parse() {
            req.metadata_mut().insert(TENANT_HEADER, value);
        }
        req
    }

    /// Checks a service token: signature, expiry, and exactly the `system` role.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.roles != [Role::System.as_str()] {
            return Err(TokenError::Invalid(
                "service tokens carry only the system role".into(),
            ));
        }
        data.claims.into_caller()
    }
}

/// The verifier every component installs: service tokens (HS256) by the shared secret, user
/// tokens (EdDSA) by identity's JWKS.
#[derive(Debug)]
pub struct ComponentVerifier {
    service: Arc<ServiceTokens>,
    users: JwksVerifier,
}

impl ComponentVerifier {
    /// Returns a verifier over both token kinds.
    pub fn new(service: Arc<ServiceTokens>, users: JwksVerifier) -> Self {
        Self { service, users }
    }
}

#[tonic::async_trait]
impl TokenVerifier for ComponentVerifier {
    async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        match header.alg {
            Algorithm::HS256 => self.service.verify(token),
            _ => self.users.verify(token).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_as_system() {
        let tokens = ServiceTokens::new("review", b"0123456789abcdef0123456789abcdef");
        let caller = tokens.verify(&tokens.token()).expect("valid");
        assert_eq!(caller.roles, vec![Role::System]);
        assert_eq!(caller.subject, "service:review");
    }

    #[test]
    fn another_secret_is_refused() {
        let ours = ServiceTokens::new("review", b"0123456789abcdef0123456789abcdef");
        let theirs = ServiceTokens::new("review", b"ffffffffffffffffffffffffffffffff");
        assert!(ours.verify(&theirs.token()).is_err());
    }
}
