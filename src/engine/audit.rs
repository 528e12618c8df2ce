//! The audit log: what destroyed, disclosed or changed a secret or someone's access, by whom.
//! Entries are written by the engine as the actions happen; admins read them.

use super::*;
pub use crate::store::AuditEntry;

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A venture's destroy was queued.
    VentureDestroy,
    /// An admin revealed a secret value.
    SecretReveal,
    /// Secret values were handed out by `env pull`.
    SecretPull,
    /// A secret variable's value was set (a new one, or a rotation by hand).
    SecretSet,
    /// A variable went back to an earlier version.
    EnvRollback,
    /// A sign-in provider's client secret was sealed.
    SignInSecretSet,
    /// A user was created.
    UserCreate,
    /// A user's role was changed.
    UserRole,
    /// A user was disabled (their sessions ended, their tokens stopped).
    UserDisable,
    /// A disabled user was enabled again.
    UserEnable,
    /// A user's password was reset (their sessions ended).
    UserPassword,
    /// An API token was created.
    TokenCreate,
    /// An API token was revoked.
    TokenRevoke,
    /// A sign-in failed (the password is never recorded).
    LoginFailed,
    /// A secret's rotation was asked for.
    SecretRotate,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::VentureDestroy => "venture.destroy",
            AuditAction::SecretReveal => "secret.reveal",
            AuditAction::SecretPull => "secret.pull",
            AuditAction::SecretSet => "secret.set",
            AuditAction::EnvRollback => "env.rollback",
            AuditAction::SignInSecretSet => "signin.secret_set",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserRole => "user.role",
            AuditAction::UserDisable => "user.disable",
            AuditAction::UserEnable => "user.enable",
            AuditAction::UserPassword => "user.password",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::LoginFailed => "login.failed",
            AuditAction::SecretRotate => "secret.rotate",
        }
    }
}

/// The most entries one read returns.
pub const AUDIT_PAGE_MAX: i64 = 500;

impl Engine {
    /// Records an action. The entry is written after the action succeeded; should the database
    /// refuse it, the action stands and the failure goes to the server log (the caller is not
    /// told that what they did failed when it did not). Secret values are scrubbed from it.
    pub(super) async fn audit(&self, actor: &str, action: AuditAction, target: &str, detail: &str) {
        let detail = crate::redact::scrub(detail);
        if let Err(err) = self.inner.store.insert_audit(actor, action.as_str(), target, &detail).await {
            tracing::error!(action = action.as_str(), target, error = %err, "the audit entry could not be written");
        }
    }

    /// The audit log, newest first: up to `limit` entries (at most [`AUDIT_PAGE_MAX`]) older
    /// than the entry `before`. Admins only.
    pub async fn audit_log(
        &self,
        actor: &User,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        if actor.role != Role::Admin {
            return Err(EngineError::Forbidden { role: actor.role.as_str(), action: "read the audit log" });
        }
        if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
            return Err(EngineError::invalid("limit", format!("must be between 1 and {AUDIT_PAGE_MAX}")));
        }
        let records = self.inner.store.audit_entries(before, limit).await?;
        Ok(records
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: r.detail,
            })
            .collect())
    }
}
