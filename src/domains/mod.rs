//! A venture's custom domain: the spec's `domain` section, checked. The apex and its `www` name
//! (one primary, the other redirecting to it with 308), where the zone's DNS lives, an optional
//! staging name inside the same zone, and the existing records Slipway may replace.

pub mod caa;
pub mod diagnosis;
pub mod doctor;
pub mod https;
pub mod records;
pub mod resolve;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::platform::domain::{Registrable, registrable, to_ascii_domain, to_ascii_hostname};
use crate::platform::rfc2136::RecordKind;

/// Which of the two names visitors stay on; the other answers 308 to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Primary {
    Apex,
    Www,
}

/// Where the zone's DNS records live, so Slipway knows whom to ask to write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DnsProvider {
    /// Vercel DNS (the zone's nameservers are Vercel's).
    Vercel,
    /// A Cloudflare zone.
    Cloudflare,
    /// Any server taking RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS).
    Rfc2136,
    /// Nobody Slipway can write to: it shows the exact records to add, then checks for them.
    Manual,
}

impl DnsProvider {
    pub const ALL: [DnsProvider; 4] =
        [DnsProvider::Vercel, DnsProvider::Cloudflare, DnsProvider::Rfc2136, DnsProvider::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            DnsProvider::Vercel => "vercel",
            DnsProvider::Cloudflare => "cloudflare",
            DnsProvider::Rfc2136 => "rfc2136",
            DnsProvider::Manual => "manual",
        }
    }
}

/// The section as written (JSON or TOML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainInput {
    /// `acme.com`, or `www.acme.com` to make www the primary; a trailing dot and an
    /// internationalised name are accepted. Must be a registrable domain or its www name
    /// (by the public suffix list; `*.vercel.app` needs no custom domain).
    #[schema(example = "acme.com")]
    pub name: String,
    /// `apex` or `www`: the name visitors stay on (the other answers 308 to it). Unset: the
    /// name given decides (`www.` makes www primary, otherwise the apex is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Primary>)]
    pub primary: Option<String>,
    /// Where the zone's DNS lives: `vercel`, `cloudflare`, `rfc2136` or `manual`.
    #[schema(value_type = DnsProvider)]
    pub dns: String,
    /// A name inside the zone for the staging environment (`staging.acme.com`); needs
    /// `environments.staging.enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "staging.acme.com")]
    pub staging: Option<String>,
    /// Existing records (not Slipway's) that it may replace where they conflict, as
    /// `"TYPE name"`: `"A acme.com"`, `"AAAA acme.com"`, `"CAA acme.com"`. Without this, a
    /// conflicting record blocks the plan with the fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["A acme.com"]))]
    pub allow_replace: Vec<String>,
}

/// The checked section: every name in IDNA ASCII, lowercase, without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    /// The registrable domain (`example.co.uk`), by the public suffix list.
    pub apex: String,
    pub primary: Primary,
    pub dns: DnsProvider,
    pub staging: Option<String>,
    /// Records of others Slipway may replace: (type, name).
    pub allow_replace: Vec<(RecordKind, String)>,
}

impl DomainSpec {
    pub fn www(&self) -> String {
        format!("www.{}", self.apex)
    }

    /// Whether Slipway may replace someone else's `kind` record at `name`.
    pub fn may_replace(&self, kind: RecordKind, name: &str) -> bool {
        self.allow_replace.iter().any(|(k, n)| *k == kind && n == name)
    }

    /// Each name with what it must answer over HTTPS: the primary the site, the other a
    /// redirect to the primary, the staging name its environment.
    pub fn expectations(&self) -> Vec<(String, https::Expect)> {
        let (primary, alias) = self.names();
        let mut expected = vec![(primary.clone(), https::Expect::Site), (alias, https::Expect::RedirectTo(primary))];
        expected.extend(self.staging.clone().map(|name| (name, https::Expect::Environment)));
        expected
    }

    /// (primary name, the name that redirects to it).
    pub fn names(&self) -> (String, String) {
        match self.primary {
            Primary::Apex => (self.apex.clone(), self.www()),
            Primary::Www => (self.www(), self.apex.clone()),
        }
    }
}

impl DomainInput {
    /// Every broken rule, each naming its field (`domain.name`, `domain.staging`, …).
    pub fn check(&self) -> Result<DomainSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let named = name_and_apex(&self.name).map_err(|rule| errors.push(FieldError::new("domain.name", rule))).ok();
        let dns = DnsProvider::ALL.into_iter().find(|p| p.as_str() == self.dns);
        if dns.is_none() {
            errors.push(FieldError::new("domain.dns", "must be one of vercel, cloudflare, rfc2136, manual"));
        }
        let primary = match self.primary.as_deref() {
            None => named.as_ref().map(|(name, apex)| if name == apex { Primary::Apex } else { Primary::Www }),
            Some("apex") => Some(Primary::Apex),
            Some("www") => Some(Primary::Www),
            Some(_) => {
                errors.push(FieldError::new("domain.primary", "must be apex or www"));
                None
            }
        };
        let mut staging = None;
        if let (Some(raw), Some((_, apex))) = (&self.staging, &named) {
            match to_ascii_domain(raw) {
                Err(rule) => errors.push(FieldError::new("domain.staging", rule)),
                Ok(name) if name == *apex || name == format!("www.{apex}") => errors.push(FieldError::new(
                    "domain.staging",
                    "must differ from the production names (the apex and its www)",
                )),
                Ok(name) if !name.ends_with(&format!(".{apex}")) => errors.push(FieldError::new(
                    "domain.staging",
                    format!("must be inside the production domain's zone, like staging.{apex}"),
                )),
                Ok(name) => staging = Some(name),
            }
        }
        let mut allow_replace = Vec::new();
        for (index, entry) in self.allow_replace.iter().enumerate() {
            let field = format!("domain.allow_replace[{index}]");
            let parsed = entry.trim().split_once(' ').and_then(|(kind, name)| {
                Some((kind.parse::<RecordKind>().ok()?, to_ascii_hostname(name.trim()).ok()?))
            });
            match (parsed, &named) {
                (None, _) => errors.push(FieldError::new(
                    &field,
                    "must be \"TYPE name\" with TYPE one of A, AAAA, CNAME, TXT, CAA, like \"A acme.com\"",
                )),
                (Some((_, name)), Some((_, apex))) if name != *apex && !name.ends_with(&format!(".{apex}")) => {
                    errors.push(FieldError::new(&field, format!("must name a record inside {apex}")))
                }
                (Some(parsed), _) => allow_replace.push(parsed),
            }
        }
        if self.allow_replace.len() > 20 {
            errors.push(FieldError::new("domain.allow_replace", "must list at most 20 records"));
        }
        match (named, primary, dns) {
            (Some((_, apex)), Some(primary), Some(dns)) if errors.is_empty() => {
                Ok(DomainSpec { apex, primary, dns, staging, allow_replace })
            }
            _ => Err(errors),
        }
    }
}

/// The name in ASCII and its registrable domain, which it must be or be the www of.
fn name_and_apex(raw: &str) -> Result<(String, String), String> {
    let name = to_ascii_domain(raw)?;
    match registrable(&name) {
        Registrable::Shared(suffix) if suffix == "vercel.app" => {
            Err("is a name Vercel gives every deployment (under vercel.app): it needs no custom domain".into())
        }
        Registrable::Shared(suffix) => Err(format!(
            "is under {suffix}, a suffix its company hands out: a custom domain must be one you register"
        )),
        Registrable::NotRegistrable => Err(
            "is not a domain anyone registers (a public suffix, or a top-level domain the public suffix list does not know)"
                .into(),
        ),
        Registrable::Domain(apex) if name == apex || name == format!("www.{apex}") => Ok((name, apex)),
        Registrable::Domain(apex) => Err(format!(
            "must be the registered domain ({apex}) or its www name; other names in the zone are for staging"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, dns: &str) -> DomainInput {
        DomainInput { name: name.into(), primary: None, dns: dns.into(), staging: None, allow_replace: Vec::new() }
    }

    fn rule(input: &DomainInput, field: &str) -> String {
        let errors = input.check().unwrap_err();
        let found = errors.iter().find(|e| e.field == field);
        found.unwrap_or_else(|| panic!("no {field} in {errors:?}")).message.clone()
    }

    #[test]
    fn names_are_normalised_and_the_primary_follows_the_name_given() {
        let spec = input("Acme.COM.", "vercel").check().unwrap();
        assert_eq!((spec.apex.as_str(), spec.primary), ("acme.com", Primary::Apex));
        assert_eq!(spec.names(), ("acme.com".into(), "www.acme.com".into()));
        let spec = input("www.example.co.uk", "cloudflare").check().unwrap();
        assert_eq!((spec.apex.as_str(), spec.primary), ("example.co.uk", Primary::Www));
        assert_eq!(spec.names(), ("www.example.co.uk".into(), "example.co.uk".into()));
        let spec = DomainInput { staging: Some("Staging.Bücher.example.".into()), ..input("bücher.de", "manual") };
        assert!(spec.check().is_err(), "staging outside bücher.de's zone");
        let spec = DomainInput { staging: Some("staging.bücher.de".into()), ..input("bücher.de", "rfc2136") };
        let spec = spec.check().unwrap();
        assert_eq!(
            (spec.apex.as_str(), spec.staging.as_deref()),
            ("xn--bcher-kva.de", Some("staging.xn--bcher-kva.de"))
        );
        let spec = DomainInput { primary: Some("www".into()), ..input("acme.com", "vercel") }.check().unwrap();
        assert_eq!(spec.primary, Primary::Www);
    }

    #[test]
    fn bad_names_and_choices_say_which_rule_they_break() {
        assert!(rule(&input("exa mple.com", "vercel"), "domain.name").contains("label"));
        assert!(rule(&input("a..b", "vercel"), "domain.name").contains("label \"\""));
        let long = format!("{}.com", "a".repeat(64));
        assert!(rule(&input(&long, "vercel"), "domain.name").contains("1 to 63"));
        assert!(rule(&input("xn--a.com", "vercel"), "domain.name").contains("Punycode"));
        assert!(rule(&input("my-app.vercel.app", "vercel"), "domain.name").contains("needs no custom domain"));
        assert!(rule(&input("me.github.io", "vercel"), "domain.name").contains("github.io"));
        assert!(rule(&input("co.uk", "vercel"), "domain.name").contains("not a domain anyone registers"));
        assert!(rule(&input("shop.acme.com", "vercel"), "domain.name").contains("(acme.com) or its www name"));
        assert_eq!(
            rule(&input("acme.com", "route53"), "domain.dns"),
            "must be one of vercel, cloudflare, rfc2136, manual"
        );
        let primary = DomainInput { primary: Some("both".into()), ..input("acme.com", "vercel") };
        assert_eq!(rule(&primary, "domain.primary"), "must be apex or www");
        let outside = DomainInput { staging: Some("staging.other.com".into()), ..input("acme.com", "vercel") };
        assert!(rule(&outside, "domain.staging").contains("inside the production domain's zone"));
        let same = DomainInput { staging: Some("www.acme.com".into()), ..input("acme.com", "vercel") };
        assert!(rule(&same, "domain.staging").contains("must differ"));
        let replace = DomainInput {
            allow_replace: vec!["A Acme.com.".into(), "MX acme.com".into(), "A other.com".into()],
            ..input("acme.com", "vercel")
        };
        let errors = replace.check().unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].field == "domain.allow_replace[1]" && errors[0].message.contains("TYPE one of"));
        assert!(errors[1].field == "domain.allow_replace[2]" && errors[1].message.contains("inside acme.com"));
        let spec = DomainInput { allow_replace: vec!["aaaa ACME.com".into()], ..input("acme.com", "vercel") };
        assert!(spec.check().unwrap().may_replace(RecordKind::Aaaa, "acme.com"));
        // Every broken field at once.
        let all = DomainInput { staging: Some("x..y".into()), ..input("exa mple.com", "nope") };
        assert_eq!(all.check().unwrap_err().len(), 2, "the staging name is checked only against a valid zone");
    }
}
