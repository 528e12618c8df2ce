//! `supabase.keys` (and staging's): reads the API keys (revealed) and the pooler settings,
//! builds the connection strings with the real password, and seals every value under its
//! project's names (`Tier::sealed`). Only values that changed are re-sealed. Local writes only,
//! so the plan does not list it.

use std::marker::PhantomData;

use secrecy::{ExposeSecret, SecretString};

use super::SupabaseReady;
use super::supabase_project::{DB_PASSWORD, ForTier, ProjectRef, wanted};
use crate::events::Level;
use crate::platform::supabase::{ApiKey, ApiKeyType};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};

pub struct SupabaseKeys<T>(PhantomData<T>);

impl<T: ForTier> Resource for SupabaseKeys<T> {
    const NAME: &'static str = T::KEYS.0;
    const TITLE: &'static str = T::KEYS.1;
    const IN_PLAN: bool = false;
    /// `None`: the spec wants no such project.
    type Output = Option<ProjectRef>;
    /// The healthy project to read the keys of, once it exists.
    type Observed = Option<ProjectRef>;

    async fn observe(_ctx: &Context, upstream: &Upstream) -> Result<Option<ProjectRef>, StepError> {
        Ok(upstream.get::<SupabaseReady<T>>().flatten())
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, _observed: &Option<ProjectRef>) -> Change {
        Change::new(Action::NoChange, "reads the keys and seals the values that changed")
    }

    fn current(observed: &Option<ProjectRef>) -> Option<Option<ProjectRef>> {
        observed.clone().map(Some)
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Option<ProjectRef>,
        _change: &Change,
    ) -> Result<Applied<Option<ProjectRef>>, StepError> {
        if !wanted::<T>(ctx) {
            return Ok(Applied { changed: false, output: None });
        }
        let project =
            observed.ok_or_else(|| StepError::Permanent("the Supabase project reference is missing".into()))?;
        let reference = project.reference.as_str();
        let supabase = &ctx.platforms.supabase;
        let keys = supabase.api_keys(reference).await?;
        let find = |wanted: &dyn Fn(&ApiKey) -> bool, what: &str| {
            keys.iter()
                .find(|k| wanted(k))
                .and_then(|k| k.api_key.clone())
                .ok_or_else(|| StepError::Permanent(format!("Supabase project {reference} has no {what} API key")))
        };
        let anon = find(&|k| k.name == "anon", "anon")?;
        let service_role = find(&|k| k.name == "service_role", "service_role")?;
        let publishable = find(&|k| k.key_type == Some(ApiKeyType::Publishable), "publishable")?;
        // The secret key in use while Supabase still has it; otherwise (it was deleted at
        // Supabase) the newest. A project holds two while a rotation runs, and the rotation
        // moves the sealed value from the old to the new.
        let sealed = ctx.secret(&T::TIER.sealed("SUPABASE_SECRET_KEY")).await?;
        let in_use = |k: &ApiKey| {
            let value = k.api_key.as_ref().map(ExposeSecret::expose_secret);
            sealed.as_ref().is_some_and(|s| value == Some(s.expose_secret()))
        };
        let secrets = || keys.iter().filter(|k| k.key_type == Some(ApiKeyType::Secret));
        let secret = secrets()
            .find(|k| in_use(k))
            .or_else(|| secrets().next_back())
            .and_then(|k| k.api_key.clone())
            .ok_or_else(|| StepError::Permanent(format!("Supabase project {reference} has no secret API key")))?;
        let pooler = supabase.pooler_config(reference).await?;
        let primary = pooler
            .iter()
            .find(|p| p.database_type == "PRIMARY")
            .ok_or_else(|| StepError::Permanent(format!("Supabase project {reference} has no primary pooler")))?;
        let password = ctx
            .secret(&T::TIER.sealed(DB_PASSWORD))
            .await?
            .ok_or_else(|| StepError::Permanent("the database password is missing from the vault".into()))?;
        let pw = password.expose_secret();
        let (user, host, db) = (&primary.db_user, &primary.db_host, &primary.db_name);
        // Transaction mode (6543) for serverless functions; session mode (5432) where a client
        // needs a session. Both through the pooler: the direct host is IPv6-only, Vercel is not.
        let transaction = format!("postgres://{user}:{pw}@{host}:{}/{db}?sslmode=require", primary.db_port);
        let session = format!("postgres://{user}:{pw}@{host}:5432/{db}?sslmode=require");
        let url = format!("https://{reference}.supabase.co");
        let values: Vec<(&str, SecretString)> = vec![
            ("SUPABASE_URL", SecretString::from(url)),
            ("SUPABASE_ANON_KEY", anon),
            ("SUPABASE_SERVICE_ROLE_KEY", service_role),
            ("SUPABASE_PUBLISHABLE_KEY", publishable),
            ("SUPABASE_SECRET_KEY", secret),
            ("POSTGRES_PRISMA_URL", SecretString::from(format!("{transaction}&pgbouncer=true&connect_timeout=15"))),
            ("POSTGRES_URL", SecretString::from(transaction)),
            ("POSTGRES_URL_NON_POOLING", SecretString::from(session)),
            ("POSTGRES_USER", SecretString::from(user.clone())),
            ("POSTGRES_HOST", SecretString::from(host.clone())),
            ("POSTGRES_PASSWORD", password.clone()),
            ("POSTGRES_DATABASE", SecretString::from(db.clone())),
        ];
        let mut changed = 0;
        for (name, value) in &values {
            let name = T::TIER.sealed(name);
            let same = ctx.secret(&name).await?.is_some_and(|stored| stored.expose_secret() == value.expose_secret());
            if !same {
                ctx.put_secret(&name, value).await?;
                changed += 1;
            }
        }
        if changed > 0 {
            let note = format!("Stored {changed} Supabase value(s) of the {} project, sealed", T::TIER);
            ctx.emit(Self::NAME, Level::Info, note).await;
        }
        // Local writes only: nothing changed at a platform.
        Ok(Applied { changed: false, output: Some(project) })
    }

    /// The sealed values go with the venture's others once every resource is destroyed.
    async fn destroy(_ctx: &Context) -> Result<(), StepError> {
        Ok(())
    }
}
