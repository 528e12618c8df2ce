//! Ventures and the rules their inputs must follow.
//!
//! The name rules are Vercel's project-name rules, checked before any job starts so that a
//! name the platform would refuse never gets as far as a half-provisioned venture.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use crate::error::FieldError;

pub const MAX_NAME_LEN: usize = 100;

/// A venture name, which is also its Vercel project name.
///
/// The schema states [`VentureName::parse`]'s rules for /api/v1's OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(
    description = "Also the Vercel project name: a-z, 0-9, '.', '_', '-'; starts and ends with a letter or digit; no '---'.",
    min_length = 1,
    max_length = 100,
    pattern = r#"^[a-z0-9](?:(?:-{0,2}[._])*-{0,2}[a-z0-9])*$"#,
    example = "acme-shop"
)]
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

/// What a creator submits to start a venture: its desired state, as the dashboard form, the
/// REST API (JSON) and the CLI (TOML) give it. Everything but the name and repository has a
/// default; unknown fields are refused, so a typo never silently means "default". Later
/// features (user variables, domains, auth providers) add their own sections here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    description = "A venture spec. Rules no schema can say are answered 422: a name already used (on create) and a staging branch equal to the production branch.",
    example = json!({"name": "acme-shop", "repository": "acme/shop"})
)]
pub struct NewVenture {
    #[schema(value_type = VentureName)]
    pub name: String,
    /// GitHub `owner/name`.
    #[schema(value_type = wire::Repository)]
    pub repository: String,
    /// Pushes here deploy to production; other branches and pull requests get previews.
    #[serde(default = "default_production_branch")]
    #[schema(value_type = wire::Branch, default = "main")]
    pub production_branch: String,
    #[serde(default)]
    pub framework: FrameworkInput,
    #[serde(default)]
    pub supabase: SupabaseInput,
    #[serde(default)]
    pub environments: EnvironmentsInput,
    /// The venture's own variables by key, declared without secret values (those are set
    /// through `PUT /api/v1/ventures/{id}/env/{key}`, the dashboard or `slipway env set`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "crate::env::unique_keys")]
    #[schema(example = json!({"STRIPE_SECRET_KEY": {"description": "Stripe API key", "secret": true}}))]
    pub env: BTreeMap<String, crate::env::EnvDeclaration>,
    /// Sign-in providers and redirect URLs, on every Supabase project the venture has. Client
    /// secrets are never here (`PUT /api/v1/ventures/{id}/auth/{provider}/secret`).
    #[serde(
        default,
        skip_serializing_if = "crate::signin::AuthInput::is_unset",
        deserialize_with = "crate::signin::deserialize_section"
    )]
    pub auth: crate::signin::AuthInput,
    /// Tables and the row-level security template each gets, on every Supabase project.
    #[serde(
        default,
        skip_serializing_if = "crate::rls::DatabaseInput::is_unset",
        deserialize_with = "crate::rls::deserialize_section"
    )]
    pub database: crate::rls::DatabaseInput,
    /// The custom domain: apex and www (one redirecting to the other), where its DNS lives,
    /// and an optional staging name. Without it the venture lives on its `.vercel.app` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<crate::domains::DomainInput>,
    /// How often each class of secret rotates, and the health path a new deployment must
    /// answer before an old secret is retired.
    #[serde(
        default,
        skip_serializing_if = "crate::rotation::RotationInput::is_unset",
        deserialize_with = "crate::rotation::deserialize_section"
    )]
    pub rotation: crate::rotation::RotationInput,
}

fn default_production_branch() -> String {
    "main".into()
}

/// Build settings of the Vercel project. Unset commands keep the framework's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameworkInput {
    #[serde(default = "default_framework")]
    #[schema(schema_with = wire::frameworks)]
    pub framework: String,
    #[serde(default)]
    #[schema(value_type = wire::Command)]
    pub build_command: Option<String>,
    #[serde(default)]
    #[schema(value_type = wire::Command)]
    pub install_command: Option<String>,
    #[serde(default)]
    #[schema(value_type = wire::Command)]
    pub dev_command: Option<String>,
    #[serde(default)]
    #[schema(value_type = wire::Command)]
    pub output_directory: Option<String>,
    /// A relative path inside the repository: no leading '/', no '..' segment.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = r#"^(?:\.|[^/.][^/]*|\.[^/.][^/]*|\.\.[^/]+)(?:/(?:|(?:\.|[^/.][^/]*|\.[^/.][^/]*|\.\.[^/]+)))*$"#
    )]
    pub root_directory: Option<String>,
    #[serde(default = "default_node_version")]
    #[schema(schema_with = wire::node_versions)]
    pub node_version: String,
}

fn default_framework() -> String {
    "nextjs".into()
}

fn default_node_version() -> String {
    "22.x".into()
}

impl Default for FrameworkInput {
    fn default() -> Self {
        FrameworkInput {
            framework: default_framework(),
            build_command: None,
            install_command: None,
            dev_command: None,
            output_directory: None,
            root_directory: None,
            node_version: default_node_version(),
        }
    }
}

/// Where the Supabase project goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupabaseInput {
    /// Organization slug; unset = the one Slipway is configured with.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    pub organization: Option<String>,
    /// A region code (`eu-west-1`) or a smart group (`americas`, `emea`, `apac`).
    #[serde(default = "default_region")]
    #[schema(schema_with = wire::regions)]
    pub region: String,
    /// What staging, previews and development get for a database. Unset: `staging-project`
    /// when staging is enabled, else `none`.
    #[serde(default)]
    pub non_production: Option<NonProductionDatabase>,
}

/// What the environments other than production get for a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NonProductionDatabase {
    /// A second Supabase project, `<name>-staging`, in the same organization and region (a
    /// second project costs money at Supabase).
    StagingProject,
    /// No database variables outside production.
    None,
    /// The production project's values, secrets included, everywhere: an explicit opt-in that
    /// lets any preview deployment read and write production data.
    Production,
}

impl NonProductionDatabase {
    pub fn as_str(self) -> &'static str {
        match self {
            NonProductionDatabase::StagingProject => "staging-project",
            NonProductionDatabase::None => "none",
            NonProductionDatabase::Production => "production",
        }
    }

    /// The Supabase project whose values `environment` gets, if any.
    pub fn project_for(self, environment: crate::env::Environment) -> Option<crate::env::Tier> {
        match (environment, self) {
            (crate::env::Environment::Production, _) | (_, NonProductionDatabase::Production) => {
                Some(crate::env::Tier::Production)
            }
            (_, NonProductionDatabase::StagingProject) => Some(crate::env::Tier::Staging),
            (_, NonProductionDatabase::None) => None,
        }
    }
}

fn default_region() -> String {
    "us-east-1".into()
}

impl Default for SupabaseInput {
    fn default() -> Self {
        SupabaseInput { organization: None, region: default_region(), non_production: None }
    }
}

/// Development and production always exist; staging is a Vercel custom environment fed by
/// one branch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentsInput {
    #[serde(default)]
    pub staging: StagingInput,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagingInput {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_staging_branch")]
    pub branch: String,
}

fn yes() -> bool {
    true
}

fn default_staging_branch() -> String {
    "staging".into()
}

impl Default for StagingInput {
    fn default() -> Self {
        StagingInput { enabled: true, branch: default_staging_branch() }
    }
}

/// The framework Slipway wires (its env var names, `NEXT_PUBLIC_*`, are Next.js's).
pub const FRAMEWORKS: &[&str] = &["nextjs"];
/// The Node.js versions Slipway offers a new venture: those Vercel builds with and still in
/// support (a subset of `platform::vercel::ACCEPTED_NODE_VERSIONS`).
pub const NODE_VERSIONS: &[&str] = &["22.x", "20.x", "18.x"];

/// The validated form of [`NewVenture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VentureSpec {
    pub name: VentureName,
    pub repository: Repository,
    pub production_branch: String,
    pub framework: FrameworkInput,
    pub supabase_organization: Option<String>,
    pub supabase_region: SupabaseRegion,
    /// The staging branch, when staging is enabled.
    pub staging_branch: Option<String>,
    /// What staging, previews and development get for a database (the default resolved).
    pub non_production: NonProductionDatabase,
    /// The variables the spec declares, checked.
    pub env: Vec<crate::env::Declared>,
    pub sign_in: crate::signin::SignInSpec,
    /// The tables whose row-level security Slipway writes, in name order.
    pub tables: Vec<crate::rls::TableRule>,
    pub domain: Option<crate::domains::DomainSpec>,
    pub rotation: crate::rotation::RotationSpec,
}

/// A Supabase region choice: one region, or a group Supabase picks within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupabaseRegion {
    Specific(String),
    SmartGroup(String),
}

impl fmt::Display for SupabaseRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupabaseRegion::Specific(code) => f.write_str(code),
            SupabaseRegion::SmartGroup(group) => write!(f, "{group} (nearest available)"),
        }
    }
}

impl NewVenture {
    /// The defaults for everything but the name and repository.
    pub fn new(name: &str, repository: &str) -> Self {
        NewVenture {
            name: name.into(),
            repository: repository.into(),
            production_branch: default_production_branch(),
            framework: FrameworkInput::default(),
            supabase: SupabaseInput::default(),
            environments: EnvironmentsInput::default(),
            env: BTreeMap::new(),
            auth: crate::signin::AuthInput::default(),
            database: crate::rls::DatabaseInput::default(),
            domain: None,
            rotation: crate::rotation::RotationInput::default(),
        }
    }

    /// Checks every field and reports every broken rule at once.
    pub fn validate(&self) -> Result<VentureSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = VentureName::parse(&self.name).map_err(|e| errors.push(e)).ok();
        let repository = Repository::parse(self.repository.trim()).map_err(|e| errors.push(e)).ok();
        if let Err(rule) = check_branch(&self.production_branch) {
            errors.push(FieldError::new("production_branch", rule));
        }
        let framework = &self.framework;
        if !FRAMEWORKS.contains(&framework.framework.as_str()) {
            errors.push(FieldError::new("framework.framework", "must be nextjs (the framework Slipway wires)"));
        }
        for (field, value) in [
            ("framework.build_command", &framework.build_command),
            ("framework.install_command", &framework.install_command),
            ("framework.dev_command", &framework.dev_command),
            ("framework.output_directory", &framework.output_directory),
        ] {
            if value.as_ref().is_some_and(|v| v.trim().is_empty() || v.chars().count() > 256) {
                errors.push(FieldError::new(field, "must be 1 to 256 characters when set"));
            }
        }
        if let Some(root) = &framework.root_directory
            && (root.is_empty()
                || root.chars().count() > 256
                || root.starts_with('/')
                || root.split('/').any(|part| part == ".."))
        {
            errors.push(FieldError::new(
                "framework.root_directory",
                "must be a relative path inside the repository (no leading '/', no '..'), at most 256 characters",
            ));
        }
        if !NODE_VERSIONS.contains(&framework.node_version.as_str()) {
            errors.push(FieldError::new(
                "framework.node_version",
                format!("must be one of {}", NODE_VERSIONS.join(", ")),
            ));
        }
        if let Some(org) = &self.supabase.organization
            && !crate::platform::supabase::valid_slug(org)
        {
            errors.push(FieldError::new(
                "supabase.organization",
                "must be an organization slug (letters, digits, '_', '-')",
            ));
        }
        let region = &self.supabase.region;
        let supabase_region = if crate::platform::supabase::REGIONS.contains(&region.as_str()) {
            Some(SupabaseRegion::Specific(region.clone()))
        } else if crate::platform::supabase::SMART_GROUPS.contains(&region.as_str()) {
            Some(SupabaseRegion::SmartGroup(region.clone()))
        } else {
            errors.push(FieldError::new(
                "supabase.region",
                "must be a Supabase region code such as us-east-1 or eu-west-1, or one of americas, emea, apac",
            ));
            None
        };
        let staging = &self.environments.staging;
        if staging.enabled {
            if let Err(rule) = check_branch(&staging.branch) {
                errors.push(FieldError::new("environments.staging.branch", rule));
            } else if staging.branch == self.production_branch {
                errors.push(FieldError::new("environments.staging.branch", "must differ from the production branch"));
            }
        }
        let mut env = Vec::new();
        for (key, declaration) in &self.env {
            match declaration.check("env", key) {
                Ok(declared) => env.push(declared),
                Err(broken) => errors.extend(broken),
            }
        }
        let sign_in = self.auth.check().map_err(|broken| errors.extend(broken)).ok();
        let tables = self.database.check().map_err(|broken| errors.extend(broken)).ok();
        let rotation = self.rotation.check().map_err(|broken| errors.extend(broken)).ok();
        let domain = match &self.domain {
            None => Some(None),
            Some(input) => input.check().map(Some).map_err(|broken| errors.extend(broken)).ok(),
        };
        if self.domain.as_ref().is_some_and(|d| d.staging.is_some()) && !staging.enabled {
            errors.push(FieldError::new(
                "domain.staging",
                "needs the staging environment: set environments.staging.enabled to true",
            ));
        }
        match (name, repository, supabase_region, sign_in, tables, domain, rotation) {
            (
                Some(name),
                Some(repository),
                Some(supabase_region),
                Some(sign_in),
                Some(tables),
                Some(domain),
                Some(rotation),
            ) if errors.is_empty() => Ok(VentureSpec {
                name,
                repository,
                production_branch: self.production_branch.clone(),
                framework: self.framework.clone(),
                supabase_organization: self.supabase.organization.clone(),
                supabase_region,
                staging_branch: staging.enabled.then(|| staging.branch.clone()),
                non_production: self.supabase.non_production.unwrap_or(if staging.enabled {
                    NonProductionDatabase::StagingProject
                } else {
                    NonProductionDatabase::None
                }),
                env,
                sign_in,
                tables,
                domain,
                rotation,
            }),
            _ => Err(errors),
        }
    }
}

/// Git's branch-name rules, as far as a venture spec needs them.
fn check_branch(branch: &str) -> Result<(), &'static str> {
    let bad_char =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\');
    if branch.is_empty() || branch.chars().count() > 250 {
        Err("must be 1 to 250 characters")
    } else if branch.starts_with('-') || branch.starts_with('/') || branch.ends_with('/') || branch.ends_with('.') {
        Err("must not start with '-' or '/' or end with '/' or '.'")
    } else if branch.contains("..") || branch.contains("//") || branch.contains("@{") || branch.chars().any(bad_char) {
        Err("must be a valid git branch name (no spaces, '..', '~', '^', ':', '?', '*', '[' or '\\')")
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VentureStatus {
    Provisioning,
    Ready,
    /// Applied, but the database linter found an error (a table exposed without protection).
    NeedsAttention,
    Failed,
    Destroying,
    /// Its resources are gone; its record and log stay.
    Destroyed,
}

impl VentureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VentureStatus::Provisioning => "provisioning",
            VentureStatus::Ready => "ready",
            VentureStatus::NeedsAttention => "needs_attention",
            VentureStatus::Failed => "failed",
            VentureStatus::Destroying => "destroying",
            VentureStatus::Destroyed => "destroyed",
        }
    }

    pub fn parse(raw: &str) -> Self {
        match raw {
            "ready" => VentureStatus::Ready,
            "needs_attention" => VentureStatus::NeedsAttention,
            "failed" => VentureStatus::Failed,
            "destroying" => VentureStatus::Destroying,
            "destroyed" => VentureStatus::Destroyed,
            _ => VentureStatus::Provisioning,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Venture {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    pub repository: String,
    pub status: VentureStatus,
    #[schema(required = true)]
    pub vercel_project_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The username of who created it: a creator applies, changes and destroys only their own.
    pub created_by: String,
}

/// The shapes /api/v1's OpenAPI document gives the spec's string fields, next to the rules
/// [`NewVenture::validate`] checks, so a rule and its pattern change together. Schema only:
/// nothing here is parsed or checked at run time.
pub mod wire {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{
        AdditionalProperties, AnyOfBuilder, Object, ObjectBuilder, RefBuilder, Schema, Type,
    };

    /// GitHub `owner/name`, as [`super::Repository::parse`] takes it after `trim()`.
    #[derive(utoipa::ToSchema)]
    #[schema(
        description = "GitHub `owner/name` (surrounding whitespace is ignored).",
        pattern = r#"^[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?/(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,98}|\.\.[A-Za-z0-9._-]{1,98})[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"#,
        example = "acme/shop"
    )]
    pub struct Repository(pub String);

    /// A git branch name, as `check_branch` takes it.
    #[derive(utoipa::ToSchema)]
    #[schema(
        description = "A git branch name: no whitespace, control characters, '..', '//', '@{', '~', '^', ':', '?', '*', '[' or '\\'; does not start with '-' or '/' nor end with '/' or '.'.",
        min_length = 1,
        max_length = 250,
        pattern = r#"^(?![-/])(?!.*(?:\.\.|//|@\{))[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000~^:?*\[\\]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000~^:?*\[\\/.]$"#,
        example = "main"
    )]
    pub struct Branch(pub String);

    /// A build, install or dev command, or an output directory.
    #[derive(utoipa::ToSchema)]
    #[schema(
        description = "Unset (null) keeps the framework's default; else 1 to 256 characters, not only whitespace.",
        max_length = 256,
        pattern = r#"[^\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"#
    )]
    pub struct Command(pub Option<String>);

    /// A string that is one of `values`.
    pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values))
    }

    pub fn frameworks() -> Object {
        one_of(super::FRAMEWORKS.iter().copied()).default(Some(super::default_framework().into())).build()
    }

    pub fn node_versions() -> Object {
        one_of(super::NODE_VERSIONS.iter().copied()).default(Some(super::default_node_version().into())).build()
    }

    pub fn regions() -> Object {
        use crate::platform::supabase::{REGIONS, SMART_GROUPS};
        one_of(REGIONS.iter().chain(SMART_GROUPS).copied())
            .default(Some(super::default_region().into()))
            .description(Some("A region code, or a smart group Supabase picks within."))
            .build()
    }

    /// Staging's branch is checked only while staging is enabled, so the schema is two closed
    /// objects: disabled (any branch string) or enabled (a valid branch).
    impl utoipa::PartialSchema for super::StagingInput {
        fn schema() -> RefOr<Schema> {
            let closed = || {
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            };
            let flag = |on: bool| ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([on]));
            let disabled = closed()
                .required("enabled")
                .property("enabled", flag(false))
                .property("branch", ObjectBuilder::new().schema_type(Type::String));
            let branch = RefBuilder::new()
                .ref_location_from_schema_name("Branch")
                .default(Some(super::default_staging_branch().into()));
            let enabled =
                closed().property("enabled", flag(true).default(Some(super::yes().into()))).property("branch", branch);
            AnyOfBuilder::new()
                .description(Some(
                    "A branch is checked only while staging is enabled; it must differ from `production_branch` (422).",
                ))
                .item(disabled)
                .item(enabled)
                .into()
        }
    }

    impl utoipa::ToSchema for super::StagingInput {
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push(("Branch".into(), <Branch as utoipa::PartialSchema>::schema()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_version_offered_is_one_vercel_accepts() {
        for version in NODE_VERSIONS {
            assert!(crate::platform::vercel::ACCEPTED_NODE_VERSIONS.contains(version), "{version}");
        }
    }

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
        let errors = NewVenture::new("Bad Name", "nope").validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "repository"]);
    }

    #[test]
    fn a_spec_defaults_everything_but_name_and_repository() {
        let spec: NewVenture = serde_json::from_str(r#"{"name": "shop", "repository": "acme/shop"}"#).unwrap();
        assert_eq!(spec, NewVenture::new("shop", "acme/shop"));
        let valid = spec.validate().unwrap();
        assert_eq!(valid.production_branch, "main");
        assert_eq!(valid.framework.framework, "nextjs");
        assert_eq!(valid.framework.node_version, "22.x");
        assert_eq!(valid.supabase_region, SupabaseRegion::Specific("us-east-1".into()));
        assert_eq!(valid.staging_branch.as_deref(), Some("staging"));
        assert_eq!(valid.non_production, NonProductionDatabase::StagingProject, "a database of its own");
        let mut no_staging = NewVenture::new("shop", "acme/shop");
        no_staging.environments.staging.enabled = false;
        assert_eq!(no_staging.validate().unwrap().non_production, NonProductionDatabase::None);
    }

    #[test]
    fn each_environment_gets_the_project_the_choice_names() {
        use crate::env::Environment::*;
        use crate::env::Tier;
        let projects =
            |choice: NonProductionDatabase| [Development, Preview, Staging, Production].map(|e| choice.project_for(e));
        let (p, s) = (Some(Tier::Production), Some(Tier::Staging));
        assert_eq!(projects(NonProductionDatabase::StagingProject), [s, s, s, p]);
        assert_eq!(projects(NonProductionDatabase::None), [None, None, None, p]);
        assert_eq!(projects(NonProductionDatabase::Production), [p, p, p, p]);
        let spec: NewVenture = serde_json::from_str(
            r#"{"name": "a", "repository": "b/c", "supabase": {"non_production": "staging-project"}}"#,
        )
        .unwrap();
        assert_eq!(spec.supabase.non_production, Some(NonProductionDatabase::StagingProject));
        assert_eq!(Tier::of_sealed(&Tier::Staging.sealed("POSTGRES_URL")), (Tier::Staging, "POSTGRES_URL"));
        assert_eq!(Tier::of_sealed("POSTGRES_URL"), (Tier::Production, "POSTGRES_URL"));
        assert_eq!(Tier::Staging.project_name("shop"), "shop-staging");
    }

    #[test]
    fn every_broken_rule_of_a_spec_is_named() {
        let mut spec = NewVenture::new("shop", "acme/shop");
        spec.production_branch = "bad branch".into();
        spec.framework.framework = "rails".into();
        spec.framework.node_version = "8.x".into();
        spec.framework.root_directory = Some("../outside".into());
        spec.framework.build_command = Some(" ".into());
        spec.supabase.region = "mars-1".into();
        spec.supabase.organization = Some("no spaces allowed".into());
        spec.environments.staging.branch = "a..b".into();
        let fields: Vec<String> = spec.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "production_branch",
                "framework.framework",
                "framework.build_command",
                "framework.root_directory",
                "framework.node_version",
                "supabase.organization",
                "supabase.region",
                "environments.staging.branch",
            ]
        );
        let mut same = NewVenture::new("shop", "acme/shop");
        same.environments.staging.branch = "main".into();
        assert!(same.validate().unwrap_err()[0].message.contains("differ"));
        same.environments.staging.enabled = false;
        assert_eq!(same.validate().unwrap().staging_branch, None, "a disabled staging is not checked");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let err =
            serde_json::from_str::<NewVenture>(r#"{"name": "a", "repository": "b/c", "regoin": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `regoin`"), "{err}");
        let err =
            serde_json::from_str::<NewVenture>(r#"{"name": "a", "repository": "b/c", "supabase": {"regoin": "x"}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("regoin"), "{err}");
    }
}
