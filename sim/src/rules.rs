//! The vendors' rules the simulators enforce, written here and not borrowed from the clients:
//! a contract test proves something only when client and simulator were written apart.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Vercel's project name rule: at most 100 characters, lowercase letters, digits, `.`, `_`
/// and `-`, starting and ending with a letter or digit, and no `---`.
pub(crate) fn vercel_project_name(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.chars().count() > 100 {
        return Err("must be at most 100 characters".into());
    }
    if raw.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("must be lowercase".into());
    }
    if let Some(bad) =
        raw.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("may only contain a-z, 0-9, '.', '_' and '-' (found {bad:?})"));
    }
    let is_punct = |c: char| matches!(c, '.' | '_' | '-');
    if raw.starts_with(is_punct) || raw.ends_with(is_punct) {
        return Err("must start and end with a letter or digit".into());
    }
    if raw.contains("---") {
        return Err("must not contain '---'".into());
    }
    Ok(())
}

/// A domain name as Vercel takes it: IDNA ASCII, lowercase, no trailing dot, at least two
/// letters-digits-hyphens labels, not ending in a numeric label.
pub(crate) fn to_ascii_domain(input: &str) -> Result<String, String> {
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| "is not a valid internationalized domain name".to_string())?
    };
    if ascii.len() > 253 {
        return Err("must be at most 253 characters".into());
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if let Some(bad) = labels.iter().find(|l| !label_ok(l)) {
        return Err(format!("label {bad:?} must be 1 to 63 letters, digits or inner hyphens"));
    }
    if labels.len() < 2 {
        return Err("must have at least two labels, like example.com".into());
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must not end in a numeric label".into());
    }
    Ok(ascii)
}

/// Second-level suffixes under which registrations sit one level deeper (`shop.co.uk`): a short
/// list standing in for the public suffix list Vercel uses.
const TWO_LEVEL_SUFFIXES: &[&str] =
    &["co.uk", "org.uk", "ac.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "com.br", "co.za", "com.mx"];

/// The registrable domain of an ASCII name (`www.shop.example.com` → `example.com`).
pub(crate) fn apex_of(name: &str) -> String {
    let labels: Vec<&str> = name.split('.').collect();
    let two_level = labels.len() >= 3 && TWO_LEVEL_SUFFIXES.contains(&labels[labels.len() - 2..].join(".").as_str());
    let take = if two_level { 3 } else { 2 };
    labels[labels.len().saturating_sub(take)..].join(".")
}

/// The Supabase regions `POST /v1/projects` accepts (`region` or `region_selection.specific`).
pub const SUPABASE_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ap-east-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-central-1",
    "eu-central-2",
    "ca-central-1",
    "ap-south-1",
    "sa-east-1",
];

/// Supabase's smart region groups (`region_selection.smartGroup`).
pub const SUPABASE_SMART_GROUPS: &[&str] = &["americas", "emea", "apac"];

/// The services `GET /v1/projects/{ref}/health` reports on.
pub const SUPABASE_HEALTH_SERVICES: &[&str] =
    &["auth", "db", "db_postgres_user", "pooler", "realtime", "rest", "storage", "pg_bouncer"];

/// Supabase slugs (organizations): `^[\w-]+$`.
pub(crate) fn valid_slug(slug: &str) -> bool {
    !slug.is_empty() && slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Hex SHA-256 of a value, so provider secrets are compared without being kept.
pub(crate) fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
