//! Secret rotation's schedule (issue 14's first part): the classes of secret a venture holds,
//! the policy of each (every N days, or never), when a secret falls due, and when a scheduled
//! rotation runs. Due rotations are spread over a window after they fall due, so that ventures
//! created together do not all rotate, and spend the platforms' rate limits, in one minute.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    /// days; a signing key's rotation waits out its tokens, so it goes less often; what a
    /// person must mint goes yearly. A database password reset cuts live connections until
    /// the redeploy is ready, so it is never scheduled unless the venture's owner asks for it.
    pub fn default_policy(self) -> Policy {
        match self {
            SecretClass::SupabaseSecretKey | SecretClass::Generated => Policy::EveryDays(90),
            SecretClass::JwtSigningKey | SecretClass::UserEntered => Policy::EveryDays(180),
            SecretClass::OAuthClientSecret => Policy::EveryDays(365),
            SecretClass::DatabasePassword => Policy::Never,
        }
    }

    /// Whether its rotation cuts live connections for a while, which an admin accepts before
    /// rotating it by hand.
    pub fn cuts_connections(self) -> bool {
        self == SecretClass::DatabasePassword
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

/// When a secret's next scheduled rotation runs, or `None` when its policy is `never`. It falls
/// due its policy's interval after `since` (when it was last rotated, or first set) and runs at
/// its spread moment after that ([`scheduled_at`]). After a rotation that failed since then, it
/// is tried again `retry_after` after the failure at the earliest, not at every look.
pub fn next_rotation(
    policy: Policy,
    since: i64,
    last_failure: Option<i64>,
    venture_id: &str,
    secret: &str,
    spread: Duration,
    retry_after: Duration,
) -> Option<i64> {
    let due = policy.due_at(since)?;
    let at = scheduled_at(due, venture_id, secret, spread);
    match last_failure {
        Some(failed) if failed > since => Some(at.max(failed + retry_after.as_millis() as i64)),
        _ => Some(at),
    }
}

/// How far a rotation got, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The new secret is made and sealed; nothing uses it yet.
    Pending,
    /// It is the current value in the vault and at Vercel.
    Set,
    /// The deployments that use it are built with it and live.
    Deployed,
    /// They answer their health check.
    Tested,
    /// The old secret is retired: done.
    Finished,
    /// A step failed or the check did: the previous value goes back everywhere.
    RollingBack,
    /// The previous value is back everywhere and the new one retired: the rotation failed.
    RolledBack,
    /// Given up on (the platforms kept failing); the error says what stands where.
    Failed,
}

impl Phase {
    pub const ALL: [Phase; 8] = [
        Phase::Pending,
        Phase::Set,
        Phase::Deployed,
        Phase::Tested,
        Phase::Finished,
        Phase::RollingBack,
        Phase::RolledBack,
        Phase::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Set => "set",
            Phase::Deployed => "deployed",
            Phase::Tested => "tested",
            Phase::Finished => "finished",
            Phase::RollingBack => "rolling_back",
            Phase::RolledBack => "rolled_back",
            Phase::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// Whether the rotation is over, however it ended.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Finished | Phase::RolledBack | Phase::Failed)
    }
}

/// What `rotation.health_path` defaults to: the site's root answers on any deployment.
pub const DEFAULT_HEALTH_PATH: &str = "/";

/// The `rotation` section of a venture spec: how often each class of secret rotates, and the
/// path every new deployment must answer with a 2xx before the old secret is retired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationInput {
    /// A path on a new deployment's URL that must answer 2xx (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/health")]
    pub health_path: Option<String>,
    /// Policies by class of secret (`supabase-secret-key`, `database-password`,
    /// `jwt-signing-key`, `generated`, `user-entered`, `oauth-client-secret`): `never` or a
    /// number of days like `90d`. A class left out keeps its default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(example = json!({"supabase-secret-key": "30d", "database-password": "never"}))]
    pub policies: BTreeMap<String, String>,
}

/// The `rotation` section checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationSpec {
    pub health_path: String,
    policies: BTreeMap<SecretClass, Policy>,
}

impl Default for RotationSpec {
    fn default() -> Self {
        RotationSpec { health_path: DEFAULT_HEALTH_PATH.into(), policies: BTreeMap::new() }
    }
}

impl RotationSpec {
    /// The policy of `class`: the spec's, or the class's default.
    pub fn policy(&self, class: SecretClass) -> Policy {
        self.policies.get(&class).copied().unwrap_or_else(|| class.default_policy())
    }
}

/// The longest health path accepted.
const MAX_HEALTH_PATH: usize = 256;

impl RotationInput {
    pub fn is_unset(&self) -> bool {
        *self == RotationInput::default()
    }

    /// Every broken rule, each naming its field (`rotation.policies.generated`).
    pub fn check(&self) -> Result<RotationSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let health_path = self.health_path.clone().unwrap_or_else(|| DEFAULT_HEALTH_PATH.into());
        let printable = health_path.chars().all(|c| c.is_ascii_graphic() && c != '#');
        if !health_path.starts_with('/') || health_path.starts_with("//") || !printable {
            errors.push(FieldError::new(
                "rotation.health_path",
                "must be a path starting with one / (no spaces, no #), like /api/health",
            ));
        } else if health_path.len() > MAX_HEALTH_PATH {
            errors
                .push(FieldError::new("rotation.health_path", format!("must be at most {MAX_HEALTH_PATH} characters")));
        }
        let mut policies = BTreeMap::new();
        for (class, policy) in &self.policies {
            let field = format!("rotation.policies.{class}");
            match (SecretClass::parse(&field, class), Policy::parse(&field, policy)) {
                (Ok(class), Ok(policy)) => {
                    policies.insert(class, policy);
                }
                (class, policy) => errors.extend(class.err().into_iter().chain(policy.err())),
            }
        }
        if errors.is_empty() { Ok(RotationSpec { health_path, policies }) } else { Err(errors) }
    }
}

/// The `rotation` section from JSON or TOML, refusing an array where a section belongs (serde
/// would read a struct from a sequence, and every field here has a default).
pub fn deserialize_section<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<RotationInput, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(deserializer)?;
    if !value.is_object() {
        return Err(D::Error::custom("rotation must be a table (an object)"));
    }
    serde_json::from_value(value).map_err(D::Error::custom)
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
            // An unattended password reset would cut connections: the owner opts in to that.
            let scheduled = matches!(class.default_policy(), Policy::EveryDays(_));
            assert_eq!(scheduled, class != SecretClass::DatabasePassword, "{class:?}");
        }
        let minted: Vec<_> = SecretClass::ALL.into_iter().filter(|c| c.minted_by_slipway()).collect();
        assert_eq!(minted.len(), 4);
        assert!(!SecretClass::UserEntered.minted_by_slipway() && !SecretClass::OAuthClientSecret.minted_by_slipway());
        let error = SecretClass::parse("class", "api-key").unwrap_err();
        assert!(error.message.contains("supabase-secret-key") && error.message.contains("\"api-key\""), "{error}");
    }

    #[test]
    fn the_rotation_section_names_each_broken_rule() {
        let spec = RotationInput::default().check().unwrap();
        assert_eq!(spec.health_path, "/");
        assert_eq!(spec.policy(SecretClass::Generated), Policy::EveryDays(90));
        let input = RotationInput {
            health_path: Some("/api/health?deep=1".into()),
            policies: BTreeMap::from([
                ("database-password".into(), "never".into()),
                ("generated".into(), "30d".into()),
            ]),
        };
        let spec = input.check().unwrap();
        assert_eq!(spec.health_path, "/api/health?deep=1");
        assert_eq!(spec.policy(SecretClass::DatabasePassword), Policy::Never);
        assert_eq!(spec.policy(SecretClass::Generated), Policy::EveryDays(30));
        assert_eq!(spec.policy(SecretClass::SupabaseSecretKey), Policy::EveryDays(90), "unset keeps the default");
        let broken = RotationInput {
            health_path: Some("api/health".into()),
            policies: BTreeMap::from([("api-key".into(), "30d".into()), ("generated".into(), "soon".into())]),
        };
        let errors = broken.check().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rotation.health_path", "rotation.policies.api-key", "rotation.policies.generated"]);
        for bad in ["//evil.example/", "/a b", "/#top", ""] {
            let input = RotationInput { health_path: Some(bad.into()), ..RotationInput::default() };
            assert!(input.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_next_rotation_follows_the_policy_and_a_failure_waits_its_retry() {
        let since = 1_800_000_000_000;
        let (day, hour) = (Duration::from_secs(24 * 3600), Duration::from_secs(3600));
        let due = since + 30 * DAY_MS;
        let at = next_rotation(Policy::EveryDays(30), since, None, "v", "S", day, hour).unwrap();
        assert_eq!(at, scheduled_at(due, "v", "S", day));
        assert_eq!(next_rotation(Policy::Never, since, None, "v", "S", day, hour), None);
        // A failure before the last rotation (an earlier cycle's) changes nothing, nor does one
        // long before the moment.
        assert_eq!(next_rotation(Policy::EveryDays(30), since, Some(since - 1), "v", "S", day, hour), Some(at));
        assert_eq!(next_rotation(Policy::EveryDays(30), since, Some(since + DAY_MS), "v", "S", day, hour), Some(at));
        // One after: tried again an hour after the failure, or at its moment if that is later.
        let failed = due + 2 * DAY_MS;
        let retry = next_rotation(Policy::EveryDays(30), since, Some(failed), "v", "S", day, hour);
        assert_eq!(retry, Some(failed + 3_600_000));
    }

    #[test]
    fn phases_read_back_and_say_when_they_are_over() {
        for phase in Phase::ALL {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
        }
        let over: Vec<Phase> = Phase::ALL.into_iter().filter(|p| p.is_final()).collect();
        assert_eq!(over, [Phase::Finished, Phase::RolledBack, Phase::Failed]);
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
