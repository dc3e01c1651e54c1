//! Personal data at rest: AES-256-GCM with the key id stored in every value
//! (`<kid>:<base64 nonce‖ciphertext>`), and a keyed HMAC-SHA-256 blind index for uniqueness and
//! lookup without decrypting.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::IdentityError;
use crate::secrets::Secrets;

/// Encrypts, decrypts and indexes personal data.
#[derive(Clone)]
pub struct Pii {
    keys: Vec<(String, Aes256Gcm)>,
    blind: Vec<u8>,
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pii").finish_non_exhaustive()
    }
}

impl Pii {
    /// Returns the cipher set of `secrets`.
    pub fn new(secrets: &Secrets) -> Result<Self, IdentityError> {
        let mut keys = Vec::new();
        for (kid, b64) in &secrets.pii_keys {
            let bytes = STANDARD
                .decode(b64)
                .map_err(|e| IdentityError::Config(format!("pii key {kid}: {e}")))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| IdentityError::Config(format!("pii key {kid} is not 32 bytes")))?;
            keys.push((kid.clone(), cipher));
        }
        if keys.is_empty() {
            return Err(IdentityError::Config("no pii key".to_owned()));
        }
        let blind = STANDARD
            .decode(&secrets.blind_index_key)
            .map_err(|e| IdentityError::Config(format!("pii blind index key: {e}")))?;
        Ok(Self { keys, blind })
    }

    /// Encrypts `plain` with the newest key.
    pub fn encrypt(&self, plain: &str) -> Result<String, IdentityError> {
        let Some((kid, cipher)) = self.keys.last() else {
            return Err(IdentityError::Crypto("no pii key".to_owned()));
        };
        let nonce: [u8; 12] = rand::random();
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| IdentityError::Crypto("encryption failed".to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{kid}:{}", STANDARD.encode(out)))
    }

    /// Decrypts a value written by [`Pii::encrypt`] with any known key.
    pub fn decrypt(&self, stored: &str) -> Result<String, IdentityError> {
        let fail = || IdentityError::Crypto("stored value cannot be decrypted".to_owned());
        let (kid, b64) = stored.split_once(':').ok_or_else(fail)?;
        let (_, cipher) = self.keys.iter().find(|(k, _)| k == kid).ok_or_else(fail)?;
        let bytes = STANDARD.decode(b64).map_err(|_| fail())?;
        if bytes.len() < 12 {
            return Err(fail());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| fail())?;
        String::from_utf8(plain).map_err(|_| fail())
    }

    /// Returns the blind index of `value` in `domain` (`id`, `mobile`, `login`), hex.
    pub fn blind_index(&self, domain: &str, value: &str) -> String {
        // HMAC accepts keys of any length; an empty key is refused at load time.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.blind) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pii() -> Pii {
        Pii::new(&Secrets {
            signing_keys: vec![],
            pii_keys: vec![
                ("p1".into(), STANDARD.encode([1u8; 32])),
                ("p2".into(), STANDARD.encode([2u8; 32])),
            ],
            blind_index_key: STANDARD.encode([3u8; 32]),
            file: None,
        })
        .expect("pii")
    }

    #[test]
    fn round_trips_with_the_key_id_and_hides_the_value() {
        let pii = pii();
        let sealed = pii.encrypt("320505199001011234").expect("encrypt");
        assert!(sealed.starts_with("p2:"));
        assert!(!sealed.contains("1234"));
        assert_ne!(sealed, pii.encrypt("320505199001011234").expect("again"));
        assert_eq!(pii.decrypt(&sealed).expect("decrypt"), "320505199001011234");
    }

    #[test]
    fn blind_index_is_stable_and_domain_separated() {
        let pii = pii();
        assert_eq!(pii.blind_index("id", "x"), pii.blind_index("id", "x"));
        assert_ne!(pii.blind_index("id", "x"), pii.blind_index("mobile", "x"));
        assert_eq!(pii.blind_index("id", "x").len(), 64);
    }
}
