//! `supabase.auth` and `supabase.staging_auth`: each Supabase project's sign-in settings. The
//! site URL is the venture's deployed URL there; the redirect allow-list is merged (entries
//! someone added at Supabase stay; Slipway replaces only what it wrote before, which its record
//! keeps); each provider of the spec is on with its app's client id and secret. Supabase reports
//! provider secrets as digests, so a secret changed at Supabase shows as drift without anyone
//! seeing either value.

use std::marker::PhantomData;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::supabase_project::{ForTier, ProjectRef, wanted};
use super::{SupabaseReady, VercelProject};
use crate::env::Tier;
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::platform::supabase::{AuthConfig, AuthConfigUpdate};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};
use crate::signin::{self, Provider, ProviderSpec, Tenant};
use crate::venture::NonProductionDatabase;

/// What Slipway wrote at Supabase last: the allow-list entries that are its own and the
/// providers it manages (a provider dropped from the spec is switched off, once).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Written {
    #[serde(default)]
    pub site_url: Option<String>,
    #[serde(default)]
    pub redirects: Vec<String>,
    #[serde(default)]
    pub providers: Vec<Provider>,
}

/// The sign-in settings the spec asks of this project.
pub struct Wanted {
    pub site_url: String,
    /// Slipway's entries of the allow-list.
    pub redirects: Vec<String>,
    pub providers: Vec<WantedProvider>,
}

pub struct WantedProvider {
    pub spec: ProviderSpec,
    pub client_id: String,
    /// Whose app it is: staging's own, or production's shared.
    pub app: Tier,
    /// `None`: not set yet; the provider stays off until it is.
    pub secret: Option<SecretString>,
}

impl WantedProvider {
    fn on(&self) -> bool {
        self.spec.enabled && self.secret.is_some()
    }
}

pub enum Observed {
    /// The spec wants no such project.
    NotWanted,
    /// The project does not exist yet (a plan before the first apply).
    Pending(Wanted),
    Live {
        reference: String,
        config: Box<AuthConfig>,
        wanted: Wanted,
        written: Written,
    },
}

pub struct SupabaseAuth<T>(PhantomData<T>);

/// The venture's URLs at Vercel: its production hosts, its staging URL and the preview pattern.
struct Urls {
    production: Vec<String>,
    staging: Option<String>,
    preview: String,
}

async fn urls(ctx: &Context, upstream: &Upstream) -> Result<Urls, StepError> {
    let project = upstream.get::<VercelProject>();
    let name = project.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| ctx.spec.name.to_string());
    let mut custom = Vec::new();
    let mut generated = Vec::new();
    if let Some(project) = &project {
        match ctx.platforms.vercel.list_project_domains(&project.id).await {
            Ok(domains) => {
                for domain in domains {
                    // Production's own hosts: not a branch's, not a custom environment's, not
                    // one that only redirects.
                    if domain.redirect.is_some()
                        || domain.git_branch.is_some()
                        || domain.custom_environment_id.is_some()
                    {
                        continue;
                    }
                    if domain.name.ends_with(".vercel.app") {
                        generated.push(domain.name);
                    } else if domain.verified {
                        custom.push(domain.name);
                    }
                }
            }
            Err(err) if err.is(ErrorKind::NotFound) => {}
            Err(err) => return Err(err.into()),
        }
    }
    if generated.is_empty() {
        // The name Vercel gives a new project's production (listed among its domains once made).
        generated.push(format!("{name}.vercel.app"));
    }
    let scope = ctx.platforms.vercel_scope_slug().await?;
    let staging = ctx.spec.staging_branch.as_ref().map(|branch| {
        let branch: String =
            branch.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        format!("https://{name}-git-{branch}-{scope}.vercel.app")
    });
    custom.extend(generated);
    Ok(Urls {
        production: custom.into_iter().map(|host| format!("https://{host}")).collect(),
        staging,
        preview: signin::preview_pattern(&name, &scope),
    })
}

async fn wanted_settings<T: ForTier>(ctx: &Context, upstream: &Upstream) -> Result<Wanted, StepError> {
    let urls = urls(ctx, upstream).await?;
    let spec = &ctx.spec.sign_in;
    // Previews and development sign in at this project: staging's, or production's when the
    // spec opted production in for them.
    let serves_previews = match T::TIER {
        Tier::Staging => true,
        Tier::Production => ctx.spec.non_production == NonProductionDatabase::Production,
    };
    let mut redirects = Vec::new();
    let site_url = match T::TIER {
        Tier::Production => {
            redirects.extend(urls.production.iter().map(|url| format!("{url}/**")));
            redirects.extend(spec.production_redirects.iter().cloned());
            urls.production[0].clone()
        }
        Tier::Staging => urls.staging.clone().unwrap_or_else(|| "http://localhost:3000".into()),
    };
    if serves_previews {
        redirects.extend(urls.staging.iter().map(|url| format!("{url}/**")));
        redirects.push(urls.preview.clone());
        redirects.push(signin::LOCALHOST.into());
        redirects.extend(spec.staging_redirects.iter().cloned());
    }
    let mut unique = Vec::new();
    for entry in redirects {
        if !unique.contains(&entry) {
            unique.push(entry);
        }
    }
    let mut providers = Vec::new();
    for provider in &spec.providers {
        let (client_id, app) = provider.app(T::TIER);
        providers.push(WantedProvider {
            spec: provider.clone(),
            client_id: client_id.to_string(),
            app,
            secret: ctx.secret(&provider.provider.secret_name(app)).await?,
        });
    }
    Ok(Wanted { site_url, redirects: unique, providers })
}

/// The provider's fields of the auth config: (enabled, client id, secret digest).
fn reported(config: &AuthConfig, provider: Provider) -> (bool, Option<&str>, &Option<SecretString>) {
    match provider {
        Provider::Google => (
            config.external_google_enabled == Some(true),
            config.external_google_client_id.as_deref(),
            &config.external_google_secret,
        ),
        Provider::Github => (
            config.external_github_enabled == Some(true),
            config.external_github_client_id.as_deref(),
            &config.external_github_secret,
        ),
        Provider::Microsoft => (
            config.external_azure_enabled == Some(true),
            config.external_azure_client_id.as_deref(),
            &config.external_azure_secret,
        ),
    }
}

fn set_provider(
    update: &mut AuthConfigUpdate,
    provider: Provider,
    enabled: Option<bool>,
    client_id: Option<String>,
    secret: Option<SecretString>,
) {
    let (e, c, s) = match provider {
        Provider::Google => (
            &mut update.external_google_enabled,
            &mut update.external_google_client_id,
            &mut update.external_google_secret,
        ),
        Provider::Github => (
            &mut update.external_github_enabled,
            &mut update.external_github_client_id,
            &mut update.external_github_secret,
        ),
        Provider::Microsoft => (
            &mut update.external_azure_enabled,
            &mut update.external_azure_client_id,
            &mut update.external_azure_secret,
        ),
    };
    *e = enabled.or(e.take());
    *c = client_id.or(c.take());
    *s = secret.or(s.take());
}

/// The update converging the project, what it changes (for a person), and the risks to name.
pub struct Convergence {
    pub update: Option<AuthConfigUpdate>,
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
}

/// The risks of the providers as the spec wants them: a secret not set yet (with the command
/// that sets it), a tenant with a known defect. The same whether the project exists or not.
fn provider_warnings(wanted: &Wanted, venture: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for want in wanted.providers.iter().filter(|p| p.spec.enabled) {
        if want.secret.is_none() {
            let app = match want.app {
                Tier::Production => "",
                Tier::Staging => " --staging",
            };
            warnings.push(format!(
                "{} sign-in stays off until its client secret is set: slipway auth secret {venture} {}{app}",
                want.spec.provider,
                want.spec.provider.as_str()
            ));
        }
        warnings.extend(want.spec.tenant.as_ref().and_then(Tenant::warning));
    }
    warnings
}

fn converge(config: &AuthConfig, wanted: &Wanted, written: &Written, venture: &str) -> Convergence {
    let mut update = AuthConfigUpdate::default();
    let mut changes = Vec::new();
    let mut warnings = provider_warnings(wanted, venture);
    if config.site_url.as_deref() != Some(wanted.site_url.as_str()) {
        let was = config.site_url.as_deref().map(|url| format!(" (was {url})")).unwrap_or_default();
        changes.push(format!("site URL {}{was}", wanted.site_url));
        update.site_url = Some(wanted.site_url.clone());
    }
    let current = config.redirect_urls();
    let allow_list = signin::merge_allow_list(&current, &written.redirects, &wanted.redirects);
    if allow_list != current {
        let added: Vec<&str> = allow_list.iter().filter(|e| !current.contains(e)).map(String::as_str).collect();
        let removed: Vec<&str> = current.iter().filter(|e| !allow_list.contains(e)).map(String::as_str).collect();
        let mut said = Vec::new();
        if !added.is_empty() {
            said.push(format!("+{}", added.join(", +")));
        }
        if !removed.is_empty() {
            said.push(format!("-{}", removed.join(", -")));
        }
        changes.push(format!("redirect URLs {}", said.join("; ")));
        update.uri_allow_list = Some(allow_list.clone());
    }
    let loose: Vec<&str> = allow_list.iter().filter(|e| signin::over_broad(e)).map(String::as_str).collect();
    if !loose.is_empty() {
        warnings.push(format!(
            "the redirect allow-list holds {} (added at Supabase), which lets any Vercel deployment, anyone's, \
             receive sign-in redirects: remove it there",
            loose.join(", ")
        ));
    }
    for want in &wanted.providers {
        let provider = want.spec.provider;
        let (enabled, client_id, digest) = reported(config, provider);
        let on = want.on();
        let mut fields = Vec::new();
        let mut set_enabled = None;
        let mut set_client = None;
        let mut set_secret = None;
        if enabled != on {
            fields.push(if on { "on" } else { "off" }.to_string());
            set_enabled = Some(on);
        }
        if on && client_id != Some(want.client_id.as_str()) {
            fields.push("client id".into());
            set_client = Some(want.client_id.clone());
        }
        if on
            && let Some(secret) = &want.secret
            && !AuthConfig::secret_matches(digest, secret)
        {
            // A digest that is there but not ours: someone set another secret at Supabase.
            fields.push(if digest.is_some() { "client secret (changed at Supabase)" } else { "client secret" }.into());
            set_secret = Some(secret.clone());
        }
        // The tenant is Microsoft's only; `tenant` is unset for the others.
        if on
            && let Some(tenant) = &want.spec.tenant
            && config.external_azure_url.as_deref() != Some(tenant.url().as_str())
        {
            fields.push(format!("tenant {}", tenant.url()));
            update.external_azure_url = Some(tenant.url());
        }
        if !fields.is_empty() {
            changes.push(format!("{provider} {}", fields.join(", ")));
            set_provider(&mut update, provider, set_enabled, set_client, set_secret);
        }
    }
    // Providers Slipway managed and the spec dropped: switched off.
    for provider in &written.providers {
        if !wanted.providers.iter().any(|w| w.spec.provider == *provider) && reported(config, *provider).0 {
            changes.push(format!("{provider} off (no longer in the spec)"));
            set_provider(&mut update, *provider, Some(false), None, None);
        }
    }
    Convergence { update: (!changes.is_empty()).then_some(update), changes, warnings }
}

fn summary(wanted: &Wanted) -> String {
    let on: Vec<&str> = wanted.providers.iter().filter(|p| p.on()).map(|p| p.spec.provider.title()).collect();
    format!(
        "site URL {}, {} redirect URL(s) of Slipway's, sign-in with {}",
        wanted.site_url,
        wanted.redirects.len(),
        if on.is_empty() { "email only".to_string() } else { format!("email, {}", on.join(", ")) }
    )
}

fn with_warnings(change: Change, warnings: &[String]) -> Change {
    if warnings.is_empty() { change } else { change.warning(warnings.join("; ")) }
}

impl<T: ForTier> Resource for SupabaseAuth<T> {
    const NAME: &'static str = T::AUTH.0;
    const TITLE: &'static str = T::AUTH.1;
    /// `None`: the spec wants no such project.
    type Output = Option<ProjectRef>;
    type Observed = Observed;

    async fn observe(ctx: &Context, upstream: &Upstream) -> Result<Observed, StepError> {
        if !wanted::<T>(ctx) {
            return Ok(Observed::NotWanted);
        }
        let wanted = wanted_settings::<T>(ctx, upstream).await?;
        let Some(project) = upstream.get::<SupabaseReady<T>>().flatten() else { return Ok(Observed::Pending(wanted)) };
        let config = ctx.platforms.supabase.auth_config(&project.reference).await?;
        let written = match ctx.store.resource(&ctx.venture.id, T::AUTH_KIND).await? {
            Some(record) => serde_json::from_value(record.data).unwrap_or_default(),
            None => Written::default(),
        };
        Ok(Observed::Live { reference: project.reference, config: Box::new(config), wanted, written })
    }

    fn diff(ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        match observed {
            Observed::NotWanted => Change::new(Action::NoChange, "none: there is no staging project"),
            Observed::Pending(wanted) => with_warnings(
                Change::new(Action::Create, summary(wanted)),
                &provider_warnings(wanted, ctx.spec.name.as_str()),
            ),
            Observed::Live { config, wanted, written, .. } => {
                let convergence = converge(config, wanted, written, ctx.spec.name.as_str());
                let change = match convergence.update {
                    Some(_) => Change::new(Action::Update, convergence.changes.join("; ")),
                    None => Change::new(Action::NoChange, summary(wanted)),
                };
                with_warnings(change, &convergence.warnings)
            }
        }
    }

    fn current(observed: &Observed) -> Option<Option<ProjectRef>> {
        match observed {
            Observed::NotWanted => Some(None),
            Observed::Live { reference, .. } => Some(Some(ProjectRef { reference: reference.clone() })),
            Observed::Pending(_) => None,
        }
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<Option<ProjectRef>>, StepError> {
        let (reference, config, wanted, written) = match observed {
            Observed::NotWanted => return Ok(Applied { changed: false, output: None }),
            Observed::Live { reference, config, wanted, written } => (reference, config, wanted, written),
            Observed::Pending(_) => {
                return Err(StepError::Permanent("the Supabase project reference is missing".into()));
            }
        };
        let convergence = converge(&config, &wanted, &written, ctx.spec.name.as_str());
        for warning in &convergence.warnings {
            ctx.emit(Self::NAME, Level::Warn, warning).await;
        }
        let record = Written {
            site_url: Some(wanted.site_url.clone()),
            redirects: wanted.redirects.clone(),
            providers: wanted.providers.iter().map(|p| p.spec.provider).collect(),
        };
        let changed = match &convergence.update {
            Some(update) => {
                // Recorded before the write: if the answer is lost, the next apply still knows
                // which entries are Slipway's (writing the same merge again is harmless).
                let mut before = written.clone();
                let new: Vec<String> =
                    record.redirects.iter().filter(|r| !written.redirects.contains(r)).cloned().collect();
                before.redirects.extend(new);
                ctx.store.set_resource(&ctx.venture.id, T::AUTH_KIND, Some(&reference), &json!(before)).await?;
                ctx.platforms.supabase.update_auth_config(&reference, update).await?;
                let note = format!("{} of {reference}: {}", T::AUTH.1, convergence.changes.join("; "));
                ctx.emit(Self::NAME, Level::Info, note).await;
                true
            }
            None => false,
        };
        ctx.store.set_resource(&ctx.venture.id, T::AUTH_KIND, Some(&reference), &json!(record)).await?;
        Ok(Applied { changed, output: Some(ProjectRef { reference }) })
    }

    /// The settings go with the project; only the record is Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, T::AUTH_KIND).await?)
    }
}
