//! Sign-in for a venture's users: which identity providers Supabase Auth offers on each of the
//! venture's Supabase projects, and the redirect URLs it accepts.
//!
//! The spec names each provider's OAuth app by its client id; the client secrets live in the
//! vault only (set through the dashboard, REST or the CLI, never in a spec). The redirect
//! allow-list is one comma-joined string at Supabase, replaced whole on every write, so Slipway
//! reads it, keeps the entries it did not write, and writes the merge back ([`merge_allow_list`]).

use serde::{Deserialize, Serialize};

use crate::env::Tier;
use crate::error::FieldError;

/// An identity provider a venture may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Github,
    /// Microsoft Entra ID: Supabase's `azure` provider.
    Microsoft,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Google, Provider::Github, Provider::Microsoft];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Github => "github",
            Provider::Microsoft => "microsoft",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Github => "GitHub",
            Provider::Microsoft => "Microsoft",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Provider, FieldError> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "must be one of google, github, microsoft"))
    }

    /// The vault name of the client secret of the OAuth app `app` signs in with. A staging
    /// project without an app of its own uses production's, so it has no name of its own.
    pub fn secret_name(self, app: Tier) -> String {
        app.sealed(&format!("AUTH_{}_CLIENT_SECRET", self.as_str().to_ascii_uppercase()))
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

/// The `auth` section of a venture spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::GoogleApp>)]
    pub google: Option<ProviderInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::GithubApp>)]
    pub github: Option<ProviderInput>,
    /// Microsoft sign-in (Entra ID); `tenant` says whose accounts may sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<wire::MicrosoftApp>)]
    pub microsoft: Option<ProviderInput>,
    /// Redirect URLs beyond the ones Slipway derives from the venture's deployments.
    #[serde(default, skip_serializing_if = "RedirectUrlsInput::is_empty")]
    pub redirect_urls: RedirectUrlsInput,
}

/// One provider's OAuth app. Its client secret is set apart (`slipway auth secret`). The
/// document states each provider's rules ([`wire`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The OAuth app's client id, as the provider's console shows it.
    pub client_id: String,
    /// The app the staging project signs in with, when it is another one (GitHub's OAuth apps
    /// take one callback URL each); unset, staging uses the same app and needs both callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_client_id: Option<String>,
    /// Microsoft only: `common` (any account, the default), `organizations` (work and school
    /// accounts), `consumers` (personal accounts), or one tenant's id (a GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

fn yes() -> bool {
    true
}

/// Extra redirect URLs per Supabase project: absolute URLs or Supabase Auth globs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectUrlsInput {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<wire::RedirectUrl>)]
    pub production: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<wire::RedirectUrl>)]
    pub staging: Vec<String>,
}

impl RedirectUrlsInput {
    fn is_empty(&self) -> bool {
        self.production.is_empty() && self.staging.is_empty()
    }
}

/// Whose Microsoft accounts may sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    Common,
    Organizations,
    Consumers,
    /// One organization's tenant id.
    Id(String),
}

/// The tenant personal Microsoft accounts' tokens carry (supabase/auth#2795).
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

const TENANT_HOST: &str = "https://login.microsoftonline.com/";

impl Tenant {
    /// A tenant as the spec names it, bare or as its login URL.
    pub fn parse(field: &str, raw: &str) -> Result<Tenant, FieldError> {
        let bare = raw.strip_prefix(TENANT_HOST).unwrap_or(raw).trim_end_matches('/');
        match bare {
            "common" => Ok(Tenant::Common),
            "organizations" => Ok(Tenant::Organizations),
            "consumers" => Ok(Tenant::Consumers),
            id if is_guid(id) => Ok(Tenant::Id(id.to_ascii_lowercase())),
            _ => Err(FieldError::new(
                field,
                "must be common, organizations, consumers or a tenant id (a GUID such as \
                 6f1a2b3c-0000-4000-8000-000000000000), bare or after https://login.microsoftonline.com/",
            )),
        }
    }

    /// `external_azure_url`.
    pub fn url(&self) -> String {
        let path = match self {
            Tenant::Common => "common",
            Tenant::Organizations => "organizations",
            Tenant::Consumers => "consumers",
            Tenant::Id(id) => id,
        };
        format!("{TENANT_HOST}{path}")
    }

    /// A known defect of this choice at Supabase, for the plan to name.
    pub fn warning(&self) -> Option<String> {
        (*self == Tenant::Consumers).then(|| {
            format!(
                "Microsoft's consumers tenant: Supabase Auth pins the issuer of .../consumers, but personal \
                 accounts' tokens carry the tenant {CONSUMERS_TENANT_ID}, so every personal-account sign-in \
                 fails until supabase/auth PR #2796 lands (supabase/auth#2795); use common meanwhile"
            )
        })
    }
}

fn is_guid(raw: &str) -> bool {
    let parts: Vec<&str> = raw.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A provider as the venture wants it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSpec {
    pub provider: Provider,
    pub enabled: bool,
    pub client_id: String,
    pub staging_client_id: Option<String>,
    /// Microsoft only.
    pub tenant: Option<Tenant>,
}

impl ProviderSpec {
    /// The app the project `tier` signs in with: its client id and whose secret it takes.
    pub fn app(&self, tier: Tier) -> (&str, Tier) {
        match (tier, &self.staging_client_id) {
            (Tier::Staging, Some(id)) => (id, Tier::Staging),
            _ => (&self.client_id, Tier::Production),
        }
    }
}

/// The `auth` section, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInSpec {
    /// In [`Provider::ALL`]'s order.
    pub providers: Vec<ProviderSpec>,
    pub production_redirects: Vec<String>,
    pub staging_redirects: Vec<String>,
}

impl SignInSpec {
    pub fn provider(&self, provider: Provider) -> Option<&ProviderSpec> {
        self.providers.iter().find(|p| p.provider == provider)
    }
}

/// The `auth` section from JSON or TOML, refusing an array where a section belongs (serde
/// would read a struct from a sequence, and every field here has a default).
pub fn deserialize_section<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<AuthInput, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(deserializer)?;
    let table = |value: &serde_json::Value, field: &str| {
        if value.is_object() { Ok(()) } else { Err(D::Error::custom(format!("{field} must be a table (an object)"))) }
    };
    table(&value, "auth")?;
    for field in ["google", "github", "microsoft", "redirect_urls"] {
        if let Some(inner) = value.get(field).filter(|v| !v.is_null()) {
            table(inner, &format!("auth.{field}"))?;
        }
    }
    serde_json::from_value(value).map_err(D::Error::custom)
}

impl AuthInput {
    pub fn is_unset(&self) -> bool {
        *self == AuthInput::default()
    }

    /// Every broken rule, each naming its field (`auth.github.client_id`).
    pub fn check(&self) -> Result<SignInSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut providers = Vec::new();
        for (provider, input) in
            [(Provider::Google, &self.google), (Provider::Github, &self.github), (Provider::Microsoft, &self.microsoft)]
        {
            let Some(input) = input else { continue };
            let field = |name: &str| format!("auth.{}.{name}", provider.as_str());
            for (name, id) in
                [("client_id", Some(&input.client_id)), ("staging_client_id", input.staging_client_id.as_ref())]
            {
                if let Some(id) = id
                    && let Err(rule) = check_client_id(provider, id)
                {
                    errors.push(FieldError::new(&field(name), rule));
                }
            }
            let tenant = match (&input.tenant, provider) {
                (Some(raw), Provider::Microsoft) => {
                    Tenant::parse(&field("tenant"), raw).map_err(|e| errors.push(e)).ok()
                }
                (None, Provider::Microsoft) => Some(Tenant::Common),
                (Some(_), _) => {
                    errors.push(FieldError::new(&field("tenant"), "only Microsoft sign-in has a tenant"));
                    None
                }
                (None, _) => None,
            };
            providers.push(ProviderSpec {
                provider,
                enabled: input.enabled,
                client_id: input.client_id.trim().to_string(),
                staging_client_id: input.staging_client_id.as_ref().map(|id| id.trim().to_string()),
                tenant,
            });
        }
        for (name, urls) in [("production", &self.redirect_urls.production), ("staging", &self.redirect_urls.staging)] {
            for (i, url) in urls.iter().enumerate() {
                if let Err(rule) = check_redirect_url(url) {
                    errors.push(FieldError::new(&format!("auth.redirect_urls.{name}[{i}]"), rule));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SignInSpec {
            providers,
            production_redirects: self.redirect_urls.production.clone(),
            staging_redirects: self.redirect_urls.staging.clone(),
        })
    }
}

fn check_client_id(provider: Provider, raw: &str) -> Result<(), String> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 256 {
        return Err("is required: 1 to 256 characters".into());
    }
    if id.chars().any(|c| c.is_whitespace() || c == ',') {
        return Err("must not contain spaces or commas".into());
    }
    match provider {
        Provider::Google if !id.ends_with(".apps.googleusercontent.com") => {
            Err("must be a Google OAuth client id (…apps.googleusercontent.com)".into())
        }
        Provider::Microsoft if !is_guid(id) => {
            Err("must be the app's Application (client) ID, a GUID as Entra ID shows it".into())
        }
        _ => Ok(()),
    }
}

/// Supabase Auth's rules for an allow-list entry, as far as a spec can break them.
pub fn check_redirect_url(url: &str) -> Result<(), &'static str> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        None => Err("must be an absolute URL starting with https:// (or http:// for localhost)"),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => Err("must name a host after the scheme"),
        Some(_) if url.contains(',') => Err("must not contain a comma (Supabase joins the list with commas)"),
        Some(_) if url.contains('#') => {
            Err("must not contain '#': Supabase strips the fragment before matching, so it never matches")
        }
        Some(_) if url.chars().any(char::is_whitespace) => Err("must not contain spaces"),
        Some(_) if url.len() > 2048 => Err("must be at most 2048 characters"),
        Some(_) => Ok(()),
    }
}

/// The callback URL every provider's app must register for the project `reference`.
pub fn callback_url(reference: &str) -> String {
    format!("https://{reference}.supabase.co/auth/v1/callback")
}

/// The allow-list pattern for a Vercel project's preview URLs: `<project>-<hash>-<scope>` and
/// `<project>-git-<branch>-<scope>` under vercel.app. `*` matches no dot, so this is as narrow
/// as Vercel's scheme allows; `**vercel.app` would match anyone's deployments.
pub fn preview_pattern(project: &str, scope: &str) -> String {
    format!("https://{project}-*-{scope}.vercel.app/**")
}

/// Where local development runs (`next dev`'s default port).
pub const LOCALHOST: &str = "http://localhost:3000/**";

/// An entry that lets any Vercel deployment, anyone's, redirect: the doctor's warning for it.
pub fn over_broad(entry: &str) -> bool {
    let host = entry.split("://").nth(1).unwrap_or(entry).split('/').next().unwrap_or_default();
    host.contains("**") || host == "*.vercel.app" || host.starts_with("*vercel.app") || host == "*"
}

/// The allow-list to write: what Supabase holds, without what Slipway wrote before and wants
/// no more, with what it wants now (appended in order). Entries Slipway never wrote stay.
pub fn merge_allow_list(current: &[String], written_before: &[String], wanted: &[String]) -> Vec<String> {
    let mut merged: Vec<String> =
        current.iter().filter(|e| wanted.contains(e) || !written_before.contains(e)).cloned().collect();
    for entry in wanted {
        if !merged.contains(entry) {
            merged.push(entry.clone());
        }
    }
    merged
}

/// The rules of the `auth` section as /api/v1's document states them (the checks above are
/// the authority; these say no more than they enforce, in printable ASCII).
pub mod wire {
    use serde::Deserialize;

    /// Google's OAuth client.
    #[derive(Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct GoogleApp {
        #[serde(default)]
        #[schema(default = true)]
        pub enabled: bool,
        #[schema(max_length = 256, pattern = r#"^[!-+\--~]*\.apps\.googleusercontent\.com$"#)]
        pub client_id: String,
        #[schema(max_length = 256, pattern = r#"^[!-+\--~]*\.apps\.googleusercontent\.com$"#)]
        pub staging_client_id: Option<String>,
    }

    /// A GitHub OAuth app (one callback URL each: staging's own app has `staging_client_id`).
    #[derive(Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct GithubApp {
        #[serde(default)]
        #[schema(default = true)]
        pub enabled: bool,
        #[schema(pattern = r#"^[!-+\--~]{1,256}$"#)]
        pub client_id: String,
        #[schema(pattern = r#"^[!-+\--~]{1,256}$"#)]
        pub staging_client_id: Option<String>,
    }

    /// A Microsoft Entra ID app registration.
    #[derive(Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct MicrosoftApp {
        #[serde(default)]
        #[schema(default = true)]
        pub enabled: bool,
        /// The Application (client) ID.
        #[schema(pattern = r#"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"#)]
        pub client_id: String,
        #[schema(pattern = r#"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"#)]
        pub staging_client_id: Option<String>,
        /// `common` (the default), `organizations`, `consumers` (see supabase/auth#2795) or a
        /// tenant id, bare or after `https://login.microsoftonline.com/`.
        #[schema(
            pattern = r#"^(?:https://login\.microsoftonline\.com/)?(?:common|organizations|consumers|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})/?$"#
        )]
        pub tenant: Option<String>,
    }

    /// An absolute URL or a Supabase Auth glob (`*` one label, `**` anything); no comma, no '#'.
    #[derive(Deserialize, utoipa::ToSchema)]
    #[schema(
        max_length = 2048,
        pattern = r#"^https?://[!"$-+\-.0-~][!"$-+\--~]*$"#,
        example = "https://acme.example/auth/callback"
    )]
    pub struct RedirectUrl(pub String);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(client_id: &str) -> ProviderInput {
        ProviderInput { enabled: true, client_id: client_id.into(), staging_client_id: None, tenant: None }
    }

    #[test]
    fn the_merge_keeps_foreign_entries_drops_only_its_own_stale_ones_and_adds_the_wanted() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let current =
            strings(&["https://old.example.com/**", "https://hand-added.example/cb", "http://localhost:3000/**"]);
        let before = strings(&["https://old.example.com/**", "http://localhost:3000/**"]);
        let wanted = strings(&["http://localhost:3000/**", "https://new.example.com/**"]);
        assert_eq!(
            merge_allow_list(&current, &before, &wanted),
            strings(&["https://hand-added.example/cb", "http://localhost:3000/**", "https://new.example.com/**"])
        );
        // Merging again changes nothing.
        let merged = merge_allow_list(&current, &before, &wanted);
        assert_eq!(merge_allow_list(&merged, &wanted, &wanted), merged);
    }

    #[test]
    fn bad_input_names_the_field_and_the_rule() {
        let input = AuthInput {
            google: Some(provider("12345")),
            github: Some(ProviderInput { tenant: Some("common".into()), ..provider("Iv1.abc") }),
            microsoft: Some(ProviderInput {
                tenant: Some("https://login.microsoftonline.com/contoso".into()),
                ..provider("6f1a2b3c-0000-4000-8000-000000000000")
            }),
            redirect_urls: RedirectUrlsInput {
                production: vec!["/auth/callback".into(), "https://a.example/#done".into()],
                staging: vec!["https://a.example,https://b.example".into()],
            },
        };
        let errors = input.check().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "auth.google.client_id",
                "auth.github.tenant",
                "auth.microsoft.tenant",
                "auth.redirect_urls.production[0]",
                "auth.redirect_urls.production[1]",
                "auth.redirect_urls.staging[0]"
            ]
        );
        assert!(errors[0].message.contains("googleusercontent"));
        assert!(errors[4].message.contains("fragment"));
        let empty = AuthInput { github: Some(provider(" ")), ..AuthInput::default() }.check().unwrap_err();
        assert_eq!(empty[0].field, "auth.github.client_id");
        assert!(empty[0].message.contains("is required"));
    }

    #[test]
    fn a_section_is_a_table_never_an_array() {
        let read = |auth: &str| {
            let json = format!(r#"{{"name": "a", "repository": "a/b", "auth": {auth}}}"#);
            serde_json::from_str::<crate::venture::NewVenture>(&json).map(|v| v.auth).map_err(|e| e.to_string())
        };
        assert!(read("[null]").unwrap_err().contains("auth must be a table"));
        assert!(read(r#"{"github": ["Iv1.x"]}"#).unwrap_err().contains("auth.github must be a table"));
        assert!(read(r#"{"gitlab": {}}"#).unwrap_err().contains("unknown field"));
        let github = read(r#"{"github": {"client_id": "Iv1.x"}}"#).unwrap().github.unwrap();
        assert!(github.enabled && github.client_id == "Iv1.x");
    }

    #[test]
    fn tenants_are_a_closed_choice_and_consumers_carries_its_known_defect() {
        for (raw, url) in [
            ("common", "https://login.microsoftonline.com/common"),
            ("https://login.microsoftonline.com/organizations", "https://login.microsoftonline.com/organizations"),
            (
                "6F1A2B3C-0000-4000-8000-000000000000",
                "https://login.microsoftonline.com/6f1a2b3c-0000-4000-8000-000000000000",
            ),
        ] {
            assert_eq!(Tenant::parse("t", raw).unwrap().url(), url);
        }
        assert!(Tenant::parse("t", "https://login.microsoftonline.com/common/v2.0").is_err());
        assert!(Tenant::Consumers.warning().unwrap().contains("2795"));
        assert!(Tenant::Common.warning().is_none());
    }

    #[test]
    fn the_preview_pattern_is_scoped_and_the_doctor_flags_the_loose_forms() {
        assert_eq!(preview_pattern("acme-shop", "acme"), "https://acme-shop-*-acme.vercel.app/**");
        assert!(!over_broad(&preview_pattern("acme-shop", "acme")));
        assert!(over_broad("https://**vercel.app/**"));
        assert!(over_broad("https://*.vercel.app/**"));
        assert!(!over_broad(LOCALHOST));
    }
}
