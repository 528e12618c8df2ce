//! Ventures and the rules their inputs must follow.
//!
//! The name rules are Vercel's project-name rules, checked before any job starts so that a
//! name the platform would refuse never gets as far as a half-provisioned venture.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A rule broken by one input field, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError { field: field.to_string(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub const MAX_NAME_LEN: usize = 100;

/// A venture name, which is also its Vercel project name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VentureName(String);

impl VentureName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let field = "name";
        if raw.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if raw.chars().count() > MAX_NAME_LEN {
            return Err(FieldError::new(
                field,
                format!("must be at most {MAX_NAME_LEN} characters (got {})", raw.chars().count()),
            ));
        }
        if raw.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(FieldError::new(field, "must be lowercase"));
        }
        if let Some(bad) =
            raw.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
        {
            return Err(FieldError::new(field, format!("may only contain a-z, 0-9, '.', '_' and '-' (found {bad:?})")));
        }
        let is_punct = |c: char| matches!(c, '.' | '_' | '-');
        if raw.starts_with(is_punct) || raw.ends_with(is_punct) {
            return Err(FieldError::new(field, "must start and end with a letter or digit"));
        }
        if raw.contains("---") {
            return Err(FieldError::new(field, "must not contain '---'"));
        }
        Ok(VentureName(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VentureName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GitHub repository as `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl Repository {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let field = "repository";
        let rule = "must be a GitHub repository written owner/name";
        let (owner, name) = raw.split_once('/').ok_or_else(|| FieldError::new(field, rule))?;
        // GitHub owners: alphanumerics and single hyphens, at most 39, no leading/trailing hyphen.
        let owner_ok = !owner.is_empty()
            && owner.len() <= 39
            && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !owner.starts_with('-')
            && !owner.ends_with('-');
        // GitHub repository names: alphanumerics, '.', '_' and '-', at most 100, not "." or "..".
        let name_ok = !name.is_empty()
            && name.len() <= 100
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && name != "."
            && name != "..";
        if !owner_ok || !name_ok {
            return Err(FieldError::new(field, rule));
        }
        Ok(Repository { owner: owner.to_string(), name: name.to_string() })
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What a creator submits to start a venture.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewVenture {
    pub name: String,
    pub repository: String,
}

/// The validated form of [`NewVenture`].
#[derive(Debug, Clone)]
pub struct VentureSpec {
    pub name: VentureName,
    pub repository: Repository,
}

impl NewVenture {
    /// Checks every field and reports every broken rule at once.
    pub fn validate(&self) -> Result<VentureSpec, Vec<FieldError>> {
        let name = VentureName::parse(&self.name);
        let repository = Repository::parse(self.repository.trim());
        match (name, repository) {
            (Ok(name), Ok(repository)) => Ok(VentureSpec { name, repository }),
            (name, repository) => Err([name.err(), repository.err()].into_iter().flatten().collect()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VentureStatus {
    Provisioning,
    Ready,
    Failed,
}

impl VentureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VentureStatus::Provisioning => "provisioning",
            VentureStatus::Ready => "ready",
            VentureStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "ready" => VentureStatus::Ready,
            "failed" => VentureStatus::Failed,
            _ => VentureStatus::Provisioning,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Venture {
    pub id: String,
    pub name: String,
    pub repository: String,
    pub status: VentureStatus,
    pub vercel_project_id: Option<String>,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_vercel_would_refuse_are_rejected_with_the_rule() {
        let long = "a".repeat(101);
        for (raw, rule) in [
            ("", "is required"),
            (long.as_str(), "at most 100"),
            ("MyApp", "lowercase"),
            ("my app", "may only contain"),
            ("café", "may only contain"),
            ("-app", "start and end"),
            ("app.", "start and end"),
            ("a---b", "'---'"),
        ] {
            let err = VentureName::parse(raw).unwrap_err();
            assert_eq!(err.field, "name");
            assert!(err.message.contains(rule), "{raw:?}: {}", err.message);
        }
        assert!(VentureName::parse(&"a".repeat(100)).is_ok());
        assert!(VentureName::parse("acme-shop.v2_beta").is_ok());
    }

    #[test]
    fn repositories_must_be_owner_slash_name() {
        for raw in ["", "acme", "acme/", "/shop", "acme/shop/x", "-acme/shop", "acme/..", "ac me/shop"] {
            assert_eq!(Repository::parse(raw).unwrap_err().field, "repository", "{raw:?}");
        }
        let repo = Repository::parse("acme-labs/shop.web").unwrap();
        assert_eq!(repo.to_string(), "acme-labs/shop.web");
    }

    #[test]
    fn validation_reports_every_field() {
        let errors = NewVenture { name: "Bad Name".into(), repository: "nope".into() }.validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "repository"]);
    }
}
