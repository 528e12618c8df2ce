//! Secrets at rest: XChaCha20-Poly1305 under a master key. Each sealed value carries the id of
//! the key that sealed it (so the master key can be rotated: old keys stay readable until
//! every value is re-sealed) and is bound to its venture and name as associated data (so a
//! value copied to another row does not open).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the master key must be 32 bytes, base64-encoded ({0})")]
    BadKey(String),
    #[error(
        "no master key with id {0} is configured: add it to SLIPWAY_PREVIOUS_MASTER_KEYS to read values sealed with it"
    )]
    UnknownKey(String),
    /// Wrong key, tampered value, or a value moved to another venture or name.
    #[error("a sealed value did not open (tampered, moved, or sealed under another key)")]
    Corrupt,
    #[error("master key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
}

/// A secret as stored: which key sealed it, the nonce, and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
    /// Keys the fingerprints of values ([`Vault::fingerprint`]), derived from the master key.
    fingerprint_key: [u8; 32],
}

impl MasterKey {
    fn parse(encoded: &SecretString) -> Result<Self, VaultError> {
        crate::redact::redactor().learn(encoded.expose_secret().trim());
        let bytes =
            BASE64.decode(encoded.expose_secret().trim()).map_err(|_| VaultError::BadKey("not valid base64".into()))?;
        if bytes.len() != 32 {
            return Err(VaultError::BadKey(format!("got {} bytes", bytes.len())));
        }
        // The id names the key without revealing it: a truncated SHA-256 of a distinct label.
        let digest = Sha256::new().chain_update(b"slipway master key id\0").chain_update(&bytes).finalize();
        let id = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| VaultError::BadKey("bad length".into()))?;
        let fingerprint_key =
            Sha256::new().chain_update(b"slipway fingerprint key\0").chain_update(&bytes).finalize().into();
        Ok(MasterKey { id, cipher, fingerprint_key })
    }
}

/// Seals and opens secrets. Cheap to share behind an `Arc`.
pub struct Vault {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

fn associated_data(venture_id: &str, name: &str) -> Vec<u8> {
    format!("slipway/v1/{venture_id}/{name}").into_bytes()
}

/// Teaches the process's redactor a sealed value, unless it is public by design.
fn learn(name: &str, value: &str) {
    if !crate::env::public_by_design(name) {
        crate::redact::redactor().learn(value);
    }
}

/// A fresh random master key, base64-encoded.
pub fn generate_key() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(BASE64.encode(bytes))
}

impl Vault {
    /// `current` seals; `previous` keys only open what they sealed before a rotation.
    pub fn new(current: &SecretString, previous: &[SecretString]) -> Result<Vault, VaultError> {
        Ok(Vault {
            current: MasterKey::parse(current)?,
            previous: previous.iter().map(MasterKey::parse).collect::<Result<_, _>>()?,
        })
    }

    /// The key in `path`, created (owner-only) with a fresh key if the file does not exist.
    pub fn key_from_file(path: &Path) -> Result<SecretString, VaultError> {
        let failed = |source| VaultError::KeyFile { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(SecretString::from(text.trim().to_string())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = generate_key();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(failed)?;
                std::io::Write::write_all(&mut file, format!("{}\n", key.expose_secret()).as_bytes())
                    .map_err(failed)?;
                Ok(key)
            }
            Err(err) => Err(failed(err)),
        }
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `value`; from then on the process's redactor scrubs it from every text.
    pub fn seal(&self, venture_id: &str, name: &str, value: &SecretString) -> Sealed {
        learn(name, value.expose_secret());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(venture_id, name);
        let ciphertext = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: value.expose_secret().as_bytes(), aad: &aad })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory values");
        Sealed { key_id: self.current.id.clone(), nonce: BASE64.encode(nonce), ciphertext: BASE64.encode(ciphertext) }
    }

    pub fn open(&self, venture_id: &str, name: &str, sealed: &Sealed) -> Result<SecretString, VaultError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = BASE64.decode(&sealed.nonce).map_err(|_| VaultError::Corrupt)?;
        let ciphertext = BASE64.decode(&sealed.ciphertext).map_err(|_| VaultError::Corrupt)?;
        if nonce.len() != 24 {
            return Err(VaultError::Corrupt);
        }
        let aad = associated_data(venture_id, name);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: &aad })
            .map_err(|_| VaultError::Corrupt)?;
        let value = String::from_utf8(plain).map_err(|_| VaultError::Corrupt)?;
        learn(name, &value);
        Ok(SecretString::from(value))
    }

    /// A keyed fingerprint (HMAC-SHA256 under a key derived from the current master key) of
    /// `parts`, each length-prefixed: what Slipway remembers of a value it wrote to a platform.
    /// Unlike a plain digest it cannot be brute-forced from a copy of the database, and it
    /// changes with the master key (so the first sync after a rotation writes once more).
    pub fn fingerprint(&self, parts: &[&str]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.current.fingerprint_key).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `sealed` should be re-sealed under the current key.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_where_it_was_sealed() {
        let vault = Vault::new(&generate_key(), &[]).unwrap();
        let secret = SecretString::from("postgres-password-123");
        let sealed = vault.seal("v1", "SUPABASE_DB_PASSWORD", &secret);
        assert!(!sealed.ciphertext.contains("postgres-password"));
        assert_eq!(vault.open("v1", "SUPABASE_DB_PASSWORD", &sealed).unwrap().expose_secret(), "postgres-password-123");
        assert!(matches!(vault.open("v2", "SUPABASE_DB_PASSWORD", &sealed), Err(VaultError::Corrupt)), "other venture");
        assert!(matches!(vault.open("v1", "POSTGRES_URL", &sealed), Err(VaultError::Corrupt)), "other name");
        let mut tampered = sealed.clone();
        tampered.ciphertext = BASE64.encode(b"not the ciphertext at all, but long enough");
        assert!(matches!(vault.open("v1", "SUPABASE_DB_PASSWORD", &tampered), Err(VaultError::Corrupt)));
        let again = vault.seal("v1", "SUPABASE_DB_PASSWORD", &secret);
        assert_ne!(again.nonce, sealed.nonce, "a fresh nonce every time");
    }

    #[test]
    fn fingerprints_are_keyed_and_not_the_plain_digest() {
        let (one, two) = (Vault::new(&generate_key(), &[]).unwrap(), Vault::new(&generate_key(), &[]).unwrap());
        let parts = ["STRIPE_SECRET_KEY", "sk_live_123"];
        assert_eq!(one.fingerprint(&parts), one.fingerprint(&parts));
        assert_ne!(one.fingerprint(&parts), two.fingerprint(&parts), "another master key, another fingerprint");
        assert_ne!(one.fingerprint(&parts), crate::digest::digest(&parts));
        assert_ne!(one.fingerprint(&["ab", "c"]), one.fingerprint(&["a", "bc"]));
    }

    #[test]
    fn after_a_rotation_old_values_open_with_the_previous_key() {
        let (old, new) = (generate_key(), generate_key());
        let before = Vault::new(&old, &[]).unwrap();
        let sealed = before.seal("v", "K", &SecretString::from("value"));
        let after = Vault::new(&new, std::slice::from_ref(&old)).unwrap();
        assert!(after.needs_reseal(&sealed));
        assert_eq!(after.open("v", "K", &sealed).unwrap().expose_secret(), "value");
        let resealed = after.seal("v", "K", &after.open("v", "K", &sealed).unwrap());
        assert!(!after.needs_reseal(&resealed));
        let forgotten = Vault::new(&new, &[]).unwrap();
        let err = forgotten.open("v", "K", &sealed).unwrap_err();
        assert!(matches!(err, VaultError::UnknownKey(_)) && err.to_string().contains(&sealed.key_id), "{err}");
    }

    #[test]
    fn keys_are_checked_and_a_key_file_is_created_owner_only() {
        assert!(matches!(Vault::new(&SecretString::from("short"), &[]), Err(VaultError::BadKey(_))));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = Vault::key_from_file(&path).unwrap();
        assert_eq!(
            Vault::key_from_file(&path).unwrap().expose_secret(),
            key.expose_secret(),
            "read back, not replaced"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        Vault::new(&key, &[]).unwrap();
    }
}
