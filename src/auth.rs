//! Users, roles, password hashing and session tokens.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::venture::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates ventures and watches them provision.
    Creator,
    /// Watches status and logs; changes nothing.
    Operator,
    /// Everything, including user management.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Creator => "creator",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "creator" => Ok(Role::Creator),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(FieldError::new("role", "must be one of creator, operator, admin")),
        }
    }

    /// Operator < creator < admin, for "no more than" checks.
    pub fn rank(self) -> u8 {
        match self {
            Role::Operator => 0,
            Role::Creator => 1,
            Role::Admin => 2,
        }
    }

    pub fn can_create_ventures(self) -> bool {
        matches!(self, Role::Creator | Role::Admin)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
}

impl User {
    /// Whoever runs `slipway user …` and `slipway token …` on the server's machine, with the
    /// database's own access: an admin, named so in the audit log.
    pub fn command_line() -> User {
        User { id: String::new(), username: "(command line)".into(), role: Role::Admin }
    }

    /// Whether this user may apply, change or destroy `venture`: an admin any, a creator the
    /// ventures they created, an operator none.
    pub fn may_change(&self, venture: &crate::venture::Venture) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Creator => venture.created_by == self.username,
            Role::Operator => false,
        }
    }
}

pub const MIN_PASSWORD_LEN: usize = 12;

pub fn validate_username(raw: &str) -> Result<(), FieldError> {
    let ok = (1..=64).contains(&raw.len())
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("username", "must be 1-64 characters of a-z, A-Z, 0-9, '.', '_', '-', '@'"))
    }
}

pub fn validate_password(password: &SecretString) -> Result<(), FieldError> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_LEN {
        return Err(FieldError::new("password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    Ok(())
}

/// Argon2id with the crate's default (OWASP-recommended) parameters, in PHC string form.
pub fn hash_password(password: &SecretString) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// A hash no password matches, checked against when a sign-in names no user, so that an
/// unknown username costs the same work (and time) as a wrong password.
pub fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash_password(&new_token()));
    &HASH
}

pub fn verify_password(password: &SecretString, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| Argon2::default().verify_password(password.expose_secret().as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A fresh random token (256 bits, URL-safe base64) for cookies and API tokens.
pub fn new_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps instead of a token.
pub fn token_digest(token: &SecretString) -> String {
    crate::digest::sha256_hex(token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_is_argon2id_and_verifies() {
        let pw = SecretString::from("correct horse battery");
        let phc = hash_password(&pw);
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password(&pw, &phc));
        assert!(!verify_password(&SecretString::from("wrong horse battery"), &phc));
        assert!(!verify_password(&pw, "not a hash"));
    }

    #[test]
    fn tokens_are_unique_and_digests_stable() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_eq!(token_digest(&a).len(), 64);
    }

    #[test]
    fn short_passwords_are_refused() {
        let err = validate_password(&SecretString::from("short")).unwrap_err();
        assert_eq!(err.field, "password");
    }
}
