//! Key material: from configuration (production secrets) or, in the embedded default, generated
//! once and kept in `<data dir>/identity-secrets.json` with mode 0600 so restarts keep tokens
//! valid and stored personal data readable.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::IdentityError;

/// File name of generated secrets in the data dir.
pub const SECRETS_FILE: &str = "identity-secrets.json";

/// One signing key with its publication window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSigningKey {
    /// Key id.
    pub kid: String,
    /// base64 PKCS#8 DER.
    pub pkcs8: String,
    /// Signs only from this time (unix seconds); published before.
    #[serde(default)]
    pub not_before: i64,
    /// Neither signs nor is published after this time (unix seconds); 0 = open.
    #[serde(default)]
    pub not_after: i64,
}

/// All secrets identity needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// Ed25519 signing keys, oldest first.
    pub signing_keys: Vec<StoredSigningKey>,
    /// AES-256 keys `(kid, base64)`, the last encrypts.
    pub pii_keys: Vec<(String, String)>,
    /// HMAC key of the blind index, base64.
    pub blind_index_key: String,
    /// Where they came from: `None` = configuration (read-only).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl Secrets {
    /// Loads secrets from `config`, filling what is empty from (or into) the data-dir file.
    pub fn load(config: &jifen_kit::Config, data_dir: &Path) -> Result<Self, IdentityError> {
        let bad = |e: jifen_kit::config::ConfigError| IdentityError::Config(e.to_string());
        let configured_signing = config
            .auth
            .signing_keys
            .iter()
            .map(|k| {
                let (kid, der) =
                    jifen_kit::config::split_key("auth.signing_keys", k).map_err(bad)?;
                Ok(StoredSigningKey {
                    kid,
                    pkcs8: STANDARD.encode(der),
                    not_before: 0,
                    not_after: 0,
                })
            })
            .collect::<Result<Vec<_>, IdentityError>>()?;
        let configured_pii = config
            .pii
            .keys
            .iter()
            .map(|k| {
                let (kid, key) = jifen_kit::config::split_key("pii.keys", k).map_err(bad)?;
                Ok((kid, STANDARD.encode(key)))
            })
            .collect::<Result<Vec<_>, IdentityError>>()?;
        if !configured_signing.is_empty() && !configured_pii.is_empty() {
            return Ok(Self {
                signing_keys: configured_signing,
                pii_keys: configured_pii,
                blind_index_key: config.pii.blind_index_key.clone(),
                file: None,
            });
        }
        let path = data_dir.join(SECRETS_FILE);
        let mut stored = if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| IdentityError::Config(format!("{}: {e}", path.display())))?;
            serde_json::from_str::<Secrets>(&text)
                .map_err(|e| IdentityError::Config(format!("{}: {e}", path.display())))?
        } else {
            if jifen_kit::db::is_postgres(&config.database) {
                tracing::warn!(
                    "auth.signing_keys / pii.keys are empty: generating keys in the data dir; \
                     several identity processes need the same keys from secrets"
                );
            }
            let secrets = Self {
                signing_keys: vec![generate_signing_key(0)?],
                pii_keys: vec![(new_kid("p"), STANDARD.encode(random_32()))],
                blind_index_key: STANDARD.encode(random_32()),
                file: None,
            };
            write_private(&path, &secrets)?;
            secrets
        };
        stored.file = Some(path);
        if !configured_signing.is_empty() {
            stored.signing_keys = configured_signing;
            stored.file = None;
        }
        if !configured_pii.is_empty() {
            stored.pii_keys = configured_pii;
            stored.blind_index_key = config.pii.blind_index_key.clone();
        }
        Ok(stored)
    }

    /// Writes the secrets back to their data-dir file (after a key rotation).
    pub fn persist(&self) -> Result<(), IdentityError> {
        match &self.file {
            Some(path) => write_private(path, self),
            None => Err(IdentityError::KeysFromConfig),
        }
    }
}

/// Returns a fresh Ed25519 key that signs from `not_before`.
pub fn generate_signing_key(not_before: i64) -> Result<StoredSigningKey, IdentityError> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| IdentityError::Crypto("ed25519 key generation failed".to_owned()))?;
    Ok(StoredSigningKey {
        kid: new_kid("k"),
        pkcs8: STANDARD.encode(doc.as_ref()),
        not_before,
        not_after: 0,
    })
}

/// A key id: readable creation time plus a random suffix, so two keys made in the same
/// millisecond (a rotation right after first start) never share an id.
fn new_kid(prefix: &str) -> String {
    let suffix: u32 = rand::random();
    format!(
        "{prefix}{}-{suffix:08x}",
        chrono::Utc::now().format("%Y%m%d%H%M%S%3f")
    )
}

fn random_32() -> [u8; 32] {
    rand::random()
}

fn write_private(path: &Path, secrets: &Secrets) -> Result<(), IdentityError> {
    let fail = |e: std::io::Error| IdentityError::Config(format!("{}: {e}", path.display()));
    let text =
        serde_json::to_string_pretty(secrets).map_err(|e| IdentityError::Config(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = jifen_kit::Config::defaults();
        let first = Secrets::load(&config, dir.path()).expect("generate");
        let second = Secrets::load(&config, dir.path()).expect("reload");
        assert_eq!(first.signing_keys[0].kid, second.signing_keys[0].kid);
        assert_eq!(first.blind_index_key, second.blind_index_key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(SECRETS_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
