//! The signing key ring: every unexpired key is published in the JWKS; the newest key whose
//! `not_before` has passed signs. Rotation publishes a new key at once, lets it sign after the
//! overlap, and retires the old one after the overlap plus one access-token lifetime, so during
//! the overlap two keys are valid.

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jifen_kit::jwks::{AccessClaims, PublicJwk};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::error::IdentityError;
use crate::secrets::{Secrets, StoredSigningKey, generate_signing_key};

/// A key ready to sign and to publish.
#[derive(Clone)]
pub struct LoadedKey {
    /// The stored form.
    pub stored: StoredSigningKey,
    /// base64url public key.
    pub x: String,
    encoding: EncodingKey,
}

/// The identity's signing keys.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<RwLock<Secrets>>,
    keys: Arc<RwLock<Vec<LoadedKey>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

fn load(stored: &StoredSigningKey) -> Result<LoadedKey, IdentityError> {
    use aws_lc_rs::signature::KeyPair as _;
    let der = STANDARD
        .decode(&stored.pkcs8)
        .map_err(|e| IdentityError::Config(format!("signing key {}: {e}", stored.kid)))?;
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&der)
        .map_err(|e| IdentityError::Config(format!("signing key {}: {e}", stored.kid)))?;
    Ok(LoadedKey {
        stored: stored.clone(),
        x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        encoding: EncodingKey::from_ed_der(&der),
    })
}

impl KeyRing {
    /// Loads the keys of `secrets`.
    pub fn new(secrets: Secrets) -> Result<Self, IdentityError> {
        let keys = secrets
            .signing_keys
            .iter()
            .map(load)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(IdentityError::Config("no signing key".to_owned()));
        }
        Ok(Self {
            inner: Arc::new(RwLock::new(secrets)),
            keys: Arc::new(RwLock::new(keys)),
        })
    }

    /// Returns the keys published at `now` (unix seconds).
    pub fn published(&self, now: i64) -> Vec<LoadedKey> {
        self.keys
            .read()
            .map(|keys| {
                keys.iter()
                    .filter(|k| k.stored.not_after == 0 || k.stored.not_after > now)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Returns the published keys in the form verifiers take.
    pub fn public_jwks(&self, now: i64) -> Vec<PublicJwk> {
        self.published(now)
            .into_iter()
            .map(|k| PublicJwk {
                kid: k.stored.kid,
                x: k.x,
            })
            .collect()
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, IdentityError> {
        let now = claims.iat;
        let key = self
            .published(now)
            .into_iter()
            .rev()
            .find(|k| k.stored.not_before <= now)
            .ok_or_else(|| IdentityError::Crypto("no signing key is valid now".to_owned()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.stored.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| IdentityError::Crypto(e.to_string()))
    }

    /// Publishes a new key now that signs after `overlap_secs`; the keys signing today retire
    /// after the overlap plus `access_ttl_secs`. Persists the ring to the data dir.
    pub fn rotate(
        &self,
        now: i64,
        overlap_secs: i64,
        access_ttl_secs: i64,
    ) -> Result<(), IdentityError> {
        let mut secrets = self
            .inner
            .write()
            .map_err(|_| IdentityError::Crypto("key ring poisoned".to_owned()))?;
        if secrets.file.is_none() {
            return Err(IdentityError::KeysFromConfig);
        }
        let new = generate_signing_key(now + overlap_secs)?;
        let retire = now + overlap_secs + access_ttl_secs;
        for key in &mut secrets.signing_keys {
            if key.not_after == 0 || key.not_after > retire {
                key.not_after = retire;
            }
        }
        secrets
            .signing_keys
            .retain(|k| k.not_after == 0 || k.not_after > now);
        secrets.signing_keys.push(new);
        secrets.persist()?;
        let loaded = secrets
            .signing_keys
            .iter()
            .map(load)
            .collect::<Result<Vec<_>, _>>()?;
        if let Ok(mut keys) = self.keys.write() {
            *keys = loaded;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jifen_kit::jwks::JwksVerifier;

    fn claims(now: i64) -> AccessClaims {
        AccessClaims {
            sub: "a1".into(),
            tenant: "suzhou".into(),
            roles: vec!["applicant".into()],
            street: None,
            department: None,
            sid: "s1".into(),
            iat: now,
            exp: now + 600,
        }
    }

    #[test]
    fn rotation_keeps_two_keys_valid_during_the_overlap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets = Secrets::load(&jifen_kit::Config::defaults(), dir.path()).expect("secrets");
        let ring = KeyRing::new(secrets).expect("ring");
        let now = chrono::Utc::now().timestamp();
        let old_token = ring.sign(&claims(now)).expect("sign");
        ring.rotate(now, 60, 900).expect("rotate");
        assert_eq!(ring.public_jwks(now).len(), 2);
        // Before the overlap ends the old key still signs; after it the new one does.
        let during = ring.sign(&claims(now)).expect("sign");
        let after = ring.sign(&claims(now + 61)).expect("sign");
        let kid = |t: &str| jsonwebtoken::decode_header(t).expect("header").kid;
        assert_eq!(kid(&during), kid(&old_token));
        assert_ne!(kid(&after), kid(&old_token));
        let verifier = JwksVerifier::with_keys(&ring.public_jwks(now)).expect("verifier");
        assert!(verifier.verify_cached(&old_token).expect("ok").is_some());
        // After overlap + access ttl the old key is gone.
        assert_eq!(ring.public_jwks(now + 60 + 901).len(), 1);
    }
}
