//! Secret rotation's schedule (issue 14's first part): the classes of secret a venture holds,
//! the policy of each (every N days, or never), when a secret falls due, and when a scheduled
//! rotation runs. Due rotations are spread over a window after they fall due, so that ventures
//! created together do not all rotate, and spend the platforms' rate limits, in one minute.

use std::time::Duration;

use crate::error::FieldError;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What kind of secret, which decides how it rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretClass {
    /// A Supabase `sb_secret_…` API key: a new key is made while the old one stays valid.
    SupabaseSecretKey,
    /// The Supabase database password, inside every `POSTGRES_*` variable: a reset cuts live
    /// connections until the redeploy is ready.
    DatabasePassword,
    /// A Supabase JWT signing key: standby, in use, and the previous one revoked only after the
    /// access tokens it signed have expired.
    JwtSigningKey,
    /// A variable Slipway generates (`random-N`).
    Generated,
    /// A secret a person entered: Slipway cannot mint it, only say it is due and ask for one.
    UserEntered,
    /// A sign-in provider's OAuth client secret, made at the provider by a person.
    OAuthClientSecret,
}

impl SecretClass {
    pub const ALL: [SecretClass; 6] = [
        SecretClass::SupabaseSecretKey,
        SecretClass::DatabasePassword,
        SecretClass::JwtSigningKey,
        SecretClass::Generated,
        SecretClass::UserEntered,
        SecretClass::OAuthClientSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretClass::SupabaseSecretKey => "supabase-secret-key",
            SecretClass::DatabasePassword => "database-password",
            SecretClass::JwtSigningKey => "jwt-signing-key",
            SecretClass::Generated => "generated",
            SecretClass::UserEntered => "user-entered",
            SecretClass::OAuthClientSecret => "oauth-client-secret",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<SecretClass, FieldError> {
        SecretClass::ALL.into_iter().find(|c| c.as_str() == raw).ok_or_else(|| {
            let known: Vec<&str> = SecretClass::ALL.iter().map(|c| c.as_str()).collect();
            FieldError::new(field, format!("must be one of {} (got {raw:?})", known.join(", ")))
        })
    }

    /// Whether Slipway makes the new value itself. The others fall due for a person, who gives
    /// the new value; the same sync, redeploy and check follow.
    pub fn minted_by_slipway(self) -> bool {
        !matches!(self, SecretClass::UserEntered | SecretClass::OAuthClientSecret)
    }

    /// The policy a venture starts with. Keys Slipway rotates without downtime go every 90
    /// days. A database password reset cuts connections until the redeploy, and a signing key's
    /// rotation waits out its tokens, so those go less often. What a person must mint goes yearly.
    pub fn default_policy(self) -> Policy {
        match self {
            SecretClass::SupabaseSecretKey | SecretClass::Generated => Policy::EveryDays(90),
            SecretClass::DatabasePassword | SecretClass::JwtSigningKey | SecretClass::UserEntered => {
                Policy::EveryDays(180)
            }
            SecretClass::OAuthClientSecret => Policy::EveryDays(365),
        }
    }
}

/// How often a secret rotates: written `never` or `<days>d` (`90d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Never,
    EveryDays(u32),
}

impl Policy {
    /// The longest interval a policy may name: ten years.
    pub const MAX_DAYS: u32 = 3650;

    pub fn parse(field: &str, raw: &str) -> Result<Policy, FieldError> {
        let rule = || {
            FieldError::new(
                field,
                format!("must be never or a number of days from 1 to {}, like 90d (got {raw:?})", Policy::MAX_DAYS),
            )
        };
        match raw.trim() {
            "never" => Ok(Policy::Never),
            other => {
                let days: u32 = other.strip_suffix('d').and_then(|n| n.parse().ok()).ok_or_else(rule)?;
                if (1..=Policy::MAX_DAYS).contains(&days) { Ok(Policy::EveryDays(days)) } else { Err(rule()) }
            }
        }
    }

    pub fn as_string(self) -> String {
        match self {
            Policy::Never => "never".into(),
            Policy::EveryDays(days) => format!("{days}d"),
        }
    }

    /// When a secret last rotated (or first set) at `since` (ms since the Unix epoch) falls due;
    /// `None` when it never does.
    pub fn due_at(self, since: i64) -> Option<i64> {
        match self {
            Policy::Never => None,
            Policy::EveryDays(days) => Some(since + i64::from(days) * DAY_MS),
        }
    }
}

/// When the scheduled rotation of `secret` in `venture_id`, due at `due_at`, runs: at a fixed
/// offset within `spread` after it. The offset comes from the venture and the secret, so a
/// secret always lands at the same moment, whichever instance looks, and a fleet that fell due
/// together is spread evenly over the window.
pub fn scheduled_at(due_at: i64, venture_id: &str, secret: &str, spread: Duration) -> i64 {
    let window = spread.as_millis() as u64;
    if window == 0 {
        return due_at;
    }
    let digest = crate::digest::digest(&["rotation", venture_id, secret]);
    let position = u64::from_str_radix(&digest[..16], 16).expect("a digest is hex");
    due_at + (position % window) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_never_or_days_and_name_the_rule() {
        assert_eq!(Policy::parse("policy", "never"), Ok(Policy::Never));
        assert_eq!(Policy::parse("policy", "90d"), Ok(Policy::EveryDays(90)));
        assert_eq!(Policy::parse("policy", " 1d "), Ok(Policy::EveryDays(1)));
        assert_eq!(Policy::parse("policy", "3650d"), Ok(Policy::EveryDays(3650)));
        for wrong in ["0d", "3651d", "90", "ninety", "-5d", "d", ""] {
            let error = Policy::parse("rotation.generated", wrong).unwrap_err();
            assert_eq!(error.field, "rotation.generated");
            assert!(error.message.contains("never or a number of days from 1 to 3650"), "{wrong}: {error}");
        }
        for policy in [Policy::Never, Policy::EveryDays(30)] {
            assert_eq!(Policy::parse("policy", &policy.as_string()), Ok(policy), "written as it is read");
        }
    }

    #[test]
    fn a_secret_falls_due_its_interval_after_it_was_set() {
        let set = 1_700_000_000_000;
        assert_eq!(Policy::EveryDays(90).due_at(set), Some(set + 90 * DAY_MS));
        assert_eq!(Policy::Never.due_at(set), None);
    }

    #[test]
    fn classes_read_back_and_say_who_mints_them() {
        for class in SecretClass::ALL {
            assert_eq!(SecretClass::parse("class", class.as_str()), Ok(class));
            assert!(matches!(class.default_policy(), Policy::EveryDays(_)), "{class:?} rotates by default");
        }
        let minted: Vec<_> = SecretClass::ALL.into_iter().filter(|c| c.minted_by_slipway()).collect();
        assert_eq!(minted.len(), 4);
        assert!(!SecretClass::UserEntered.minted_by_slipway() && !SecretClass::OAuthClientSecret.minted_by_slipway());
        let error = SecretClass::parse("class", "api-key").unwrap_err();
        assert!(error.message.contains("supabase-secret-key") && error.message.contains("\"api-key\""), "{error}");
    }

    #[test]
    fn a_fleet_due_together_is_spread_over_the_window_and_each_secret_keeps_its_moment() {
        let due = 1_800_000_000_000;
        let day = Duration::from_secs(24 * 3600);
        let mut per_hour = [0usize; 24];
        for i in 0..1000 {
            let venture = format!("venture-{i}");
            let at = scheduled_at(due, &venture, "SUPABASE_SECRET_KEY", day);
            assert!((due..due + DAY_MS).contains(&at), "never before it is due, and within the window");
            assert_eq!(at, scheduled_at(due, &venture, "SUPABASE_SECRET_KEY", day), "the same moment every time");
            per_hour[((at - due) / 3_600_000) as usize] += 1;
        }
        // 1,000 over 24 hours is about 42 an hour: no hour is empty or holds twice that.
        assert!(per_hour.iter().all(|&n| n > 0 && n < 84), "{per_hour:?}");
        let a = scheduled_at(due, "venture-1", "SUPABASE_SECRET_KEY", day);
        let b = scheduled_at(due, "venture-1", "POSTGRES_PASSWORD", day);
        assert_ne!(a, b, "a venture's secrets do not all go at once either");
        assert_eq!(scheduled_at(due, "venture-1", "X", Duration::ZERO), due);
    }
}
