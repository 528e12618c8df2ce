//! `vercel.domains`: the spec's custom domain on the Vercel project: the primary name, the
//! other one redirecting to it with 308, and the staging name on the staging environment. With
//! DNS at Vercel, the apex also goes into the account so Vercel DNS serves the zone.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{StagingEnvironment, VercelProject, kind};
use crate::domains::{DnsProvider, DomainSpec};
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::platform::vercel::{AddProjectDomain, ProjectDomain, UpdateProjectDomain};
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError};

/// The redirect from the non-primary name: permanent, and keeps the method.
pub const REDIRECT_STATUS: u16 = 308;

/// One name as Vercel holds it on the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedDomain {
    pub name: String,
    pub verified: bool,
    /// The TXT challenge while unverified: (record name, value).
    pub challenge: Option<(String, String)>,
}

/// What the resources after it read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectDomains {
    pub project: String,
    pub apex: String,
    pub names: Vec<AttachedDomain>,
}

/// One name the spec wants on the project.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WantedName {
    name: String,
    redirect: Option<String>,
    environment: Option<String>,
}

pub enum Observed {
    /// No domain in the spec.
    None,
    /// The project (or the staging environment it needs) does not exist yet.
    Pending { spec: DomainSpec },
    Found {
        spec: DomainSpec,
        project: String,
        staging: Option<String>,
        attached: Vec<ProjectDomain>,
        /// Whether the apex is in the account (only asked with DNS at Vercel).
        in_account: bool,
        /// Names Slipway added before that the spec no longer has.
        stale: Vec<String>,
    },
}

pub struct VercelDomains;

fn wanted_names(spec: &DomainSpec, staging: &Option<String>) -> Vec<WantedName> {
    let (primary, alias) = spec.names();
    let mut names = vec![
        WantedName { name: primary.clone(), redirect: None, environment: None },
        WantedName { name: alias, redirect: Some(primary), environment: None },
    ];
    if let Some(name) = &spec.staging {
        names.push(WantedName { name: name.clone(), redirect: None, environment: staging.clone() });
    }
    names
}

fn attached(domain: &ProjectDomain) -> AttachedDomain {
    AttachedDomain {
        name: domain.name.clone(),
        verified: domain.verified,
        challenge: domain.verification.first().map(|c| (c.domain.trim_end_matches('.').to_string(), c.value.clone())),
    }
}

/// What differs between one wanted name and what the project has.
fn drift(want: &WantedName, have: Option<&ProjectDomain>) -> Option<String> {
    let Some(have) = have else {
        return Some(match &want.redirect {
            Some(target) => format!("add {} (308 to {target})", want.name),
            None => format!("add {}", want.name),
        });
    };
    let redirect_differs = have.redirect != want.redirect
        || (want.redirect.is_some() && have.redirect_status_code != Some(REDIRECT_STATUS));
    if redirect_differs {
        return Some(match &want.redirect {
            Some(target) => format!("redirect {} to {target} with 308", want.name),
            None => format!("stop redirecting {}", want.name),
        });
    }
    (want.environment.is_some() && have.custom_environment_id != want.environment)
        .then(|| format!("attach {} to the staging environment", want.name))
}

impl Resource for VercelDomains {
    const NAME: &'static str = "vercel.domains";
    const TITLE: &'static str = "Custom domains";
    type Output = Option<ProjectDomains>;
    type Observed = Observed;

    async fn observe(ctx: &Context, upstream: &Upstream) -> Result<Observed, StepError> {
        let Some(spec) = ctx.spec.domain.clone() else { return Ok(Observed::None) };
        let Some(project) = upstream.get::<VercelProject>() else { return Ok(Observed::Pending { spec }) };
        let staging = match (&spec.staging, upstream.get::<StagingEnvironment>()) {
            (None, _) => None,
            (Some(_), Some(environment)) if environment.id.is_some() => environment.id,
            (Some(_), _) => return Ok(Observed::Pending { spec }),
        };
        let vercel = &ctx.platforms.vercel;
        let attached = vercel.list_project_domains(&project.id).await?;
        let in_account = spec.dns != DnsProvider::Vercel || vercel.find_domain(&spec.apex).await?.is_some();
        let recorded: Vec<String> = ctx
            .store
            .resource(&ctx.venture.id, kind::VERCEL_DOMAINS)
            .await?
            .and_then(|record| serde_json::from_value(record.data["names"].clone()).ok())
            .unwrap_or_default();
        let wanted: Vec<String> = wanted_names(&spec, &staging).into_iter().map(|w| w.name).collect();
        let stale = recorded
            .into_iter()
            .filter(|name| !wanted.contains(name) && attached.iter().any(|d| d.name == *name))
            .collect();
        Ok(Observed::Found { spec, project: project.id, staging, attached, in_account, stale })
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, observed: &Observed) -> Change {
        match observed {
            Observed::None => Change::new(Action::NoChange, "no custom domain in the spec"),
            Observed::Pending { spec } => {
                let (primary, alias) = spec.names();
                Change::new(Action::Create, format!("add {primary} and {alias} (308 to {primary})"))
            }
            Observed::Found { spec, staging, attached, in_account, stale, .. } => {
                let mut steps: Vec<String> = Vec::new();
                if !in_account {
                    steps.push(format!("add {} to the Vercel account (Vercel DNS)", spec.apex));
                }
                for want in wanted_names(spec, staging) {
                    steps.extend(drift(&want, attached.iter().find(|d| d.name == want.name)));
                }
                steps.extend(stale.iter().map(|name| format!("remove {name}")));
                if steps.is_empty() {
                    let (primary, alias) = spec.names();
                    return Change::new(Action::NoChange, format!("{primary}, with {alias} redirecting to it"));
                }
                let creating = attached.is_empty();
                Change::new(if creating { Action::Create } else { Action::Update }, steps.join("; "))
            }
        }
    }

    fn current(observed: &Observed) -> Option<Option<ProjectDomains>> {
        match observed {
            Observed::None => Some(None),
            Observed::Pending { .. } => None,
            Observed::Found { spec, project, attached, .. } => Some(Some(ProjectDomains {
                project: project.clone(),
                apex: spec.apex.clone(),
                names: attached.iter().map(self::attached).collect(),
            })),
        }
    }

    async fn apply(
        ctx: &Context,
        _upstream: &Upstream,
        observed: Observed,
        _change: &Change,
    ) -> Result<Applied<Option<ProjectDomains>>, StepError> {
        let (spec, project, staging, mut attached, in_account, stale) = match observed {
            Observed::None => return Ok(Applied { changed: false, output: None }),
            Observed::Pending { .. } => {
                return Err(StepError::Permanent("the Vercel project or its staging environment is missing".into()));
            }
            Observed::Found { spec, project, staging, attached, in_account, stale } => {
                (spec, project, staging, attached, in_account, stale)
            }
        };
        let vercel = &ctx.platforms.vercel;
        let mut changed = false;
        if !in_account {
            ctx.emit(Self::NAME, Level::Info, format!("Adding {} to the Vercel account for Vercel DNS", spec.apex))
                .await;
            match vercel.add_domain(&spec.apex).await {
                Ok(_) => {}
                // Added meanwhile (a retried or concurrent apply).
                Err(err) if err.is(ErrorKind::Conflict) => {}
                Err(err) => return Err(err.into()),
            }
            changed = true;
        }
        let wanted = wanted_names(&spec, &staging);
        // Record what this resource is about to own before it exists, so a crash in between
        // leaves a record to clean up by.
        let record = json!({ "names": wanted.iter().map(|w| &w.name).collect::<Vec<_>>(), "apex": spec.apex });
        ctx.store.set_resource(&ctx.venture.id, kind::VERCEL_DOMAINS, None, &record).await?;
        for name in &stale {
            ctx.emit(Self::NAME, Level::Info, format!("Removing {name}, which the spec no longer has")).await;
            match vercel.remove_project_domain(&project, name, true).await {
                Ok(()) => {}
                Err(err) if err.is(ErrorKind::NotFound) => {}
                Err(err) => return Err(err.into()),
            }
            attached.retain(|d| d.name != *name);
            changed = true;
        }
        // The primary first: the redirect must point at a domain the project has.
        for want in &wanted {
            let have = attached.iter().position(|d| d.name == want.name);
            let Some(step) = drift(want, have.map(|i| &attached[i])) else { continue };
            ctx.emit(Self::NAME, Level::Info, format!("Vercel: {step}")).await;
            let updated = match have {
                None => {
                    let request = AddProjectDomain {
                        name: want.name.clone(),
                        redirect: want.redirect.clone(),
                        redirect_status_code: want.redirect.as_ref().map(|_| REDIRECT_STATUS),
                        custom_environment_id: want.environment.clone(),
                        ..AddProjectDomain::default()
                    };
                    match vercel.add_project_domain(&project, &request).await {
                        Ok(domain) => domain,
                        Err(err) if err.is(ErrorKind::Conflict) => {
                            // Ours from an unconfirmed earlier attempt, or another project's.
                            match vercel.get_project_domain(&project, &want.name).await {
                                Ok(domain) => domain,
                                Err(_) => {
                                    return Err(StepError::Permanent(format!(
                                        "{} is on another Vercel project or team: remove it there, then apply again ({err})",
                                        want.name
                                    )));
                                }
                            }
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
                Some(_) => {
                    let patch = UpdateProjectDomain {
                        redirect: want.redirect.clone(),
                        redirect_status_code: want.redirect.as_ref().map(|_| REDIRECT_STATUS),
                        ..UpdateProjectDomain::default()
                    };
                    vercel.update_project_domain(&project, &want.name, &patch).await?
                }
            };
            attached.retain(|d| d.name != want.name);
            attached.push(updated);
            changed = true;
        }
        let names =
            wanted.iter().filter_map(|w| attached.iter().find(|d| d.name == w.name)).map(self::attached).collect();
        Ok(Applied { changed, output: Some(ProjectDomains { project, apex: spec.apex, names }) })
    }

    /// The names go with the Vercel project; the account's apex (Vercel DNS) is left, as it
    /// may hold records of the user's. Only the record is Slipway's to remove.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::VERCEL_DOMAINS).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::Primary;

    fn spec(primary: Primary) -> DomainSpec {
        DomainSpec {
            apex: "acme.com".into(),
            primary,
            dns: DnsProvider::Cloudflare,
            staging: Some("staging.acme.com".into()),
            allow_replace: Vec::new(),
        }
    }

    fn domain(name: &str, redirect: Option<&str>, status: Option<u16>) -> ProjectDomain {
        ProjectDomain {
            name: name.into(),
            apex_name: "acme.com".into(),
            project_id: "prj".into(),
            verified: true,
            verification: Vec::new(),
            redirect: redirect.map(Into::into),
            redirect_status_code: status,
            git_branch: None,
            custom_environment_id: None,
        }
    }

    #[test]
    fn the_other_name_redirects_with_308_and_staging_joins_its_environment() {
        let wanted = wanted_names(&spec(Primary::Www), &Some("env_1".into()));
        assert_eq!(wanted[0], WantedName { name: "www.acme.com".into(), redirect: None, environment: None });
        assert_eq!(wanted[1].redirect.as_deref(), Some("www.acme.com"));
        assert_eq!(wanted[2].environment.as_deref(), Some("env_1"));

        assert_eq!(drift(&wanted[1], None).unwrap(), "add acme.com (308 to www.acme.com)");
        let temporary = domain("acme.com", Some("www.acme.com"), Some(307));
        assert_eq!(drift(&wanted[1], Some(&temporary)).unwrap(), "redirect acme.com to www.acme.com with 308");
        assert_eq!(drift(&wanted[1], Some(&domain("acme.com", Some("www.acme.com"), Some(308)))), None);
        assert_eq!(
            drift(&wanted[0], Some(&domain("www.acme.com", Some("acme.com"), Some(308)))).unwrap(),
            "stop redirecting www.acme.com"
        );
        assert_eq!(
            drift(&wanted[2], Some(&domain("staging.acme.com", None, None))).unwrap(),
            "attach staging.acme.com to the staging environment"
        );
    }
}
