//! `domains.ready`: waits until Vercel has verified each name (asking it to check, since it
//! does not re-check by itself), sees the DNS configured (`misconfigured: false`), a
//! certificate covers every name, and each name answers over HTTPS as it should (the site on
//! the primary, after the production deployment; the redirect on the other). While it waits it
//! says which check is still red and, when the wait runs out, what the DNS doctor finds, with
//! the fixes. A wait: not in the plan.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DnsRecords, ProductionDeployment, VercelDomains, kind};
use crate::domains::DnsProvider;
use crate::domains::https::{HttpsAnswer, probe};
use crate::events::Level;
use crate::platform::api::ErrorKind;
use crate::provision::graph::{Action, Applied, Change, Resource, Upstream};
use crate::provision::{Context, StepError, poll};

/// The domain's state once everything is green.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainLive {
    pub names: Vec<String>,
    pub certificate: String,
    /// How each name answered over HTTPS.
    pub https: Vec<HttpsAnswer>,
}

pub struct DomainReady;

/// Which of the checks hold now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Checks {
    unverified: Vec<String>,
    misconfigured: Vec<String>,
}

impl Resource for DomainReady {
    const NAME: &'static str = "domains.ready";
    const TITLE: &'static str = "Domain verified and certified";
    const IN_PLAN: bool = false;
    type Output = Option<DomainLive>;
    type Observed = ();

    async fn observe(_ctx: &Context, _upstream: &Upstream) -> Result<(), StepError> {
        Ok(())
    }

    fn diff(_ctx: &Context, _upstream: &Upstream, _observed: &()) -> Change {
        Change::new(Action::NoChange, "waits until Vercel verifies the domain and issues its certificate")
    }

    fn current(_observed: &()) -> Option<Option<DomainLive>> {
        None
    }

    async fn apply(
        ctx: &Context,
        upstream: &Upstream,
        _observed: (),
        _change: &Change,
    ) -> Result<Applied<Option<DomainLive>>, StepError> {
        let Some(spec) = ctx.spec.domain.clone() else { return Ok(Applied { changed: false, output: None }) };
        let domains = upstream
            .require::<VercelDomains>()?
            .ok_or_else(|| StepError::Permanent("the project domains are missing".into()))?;
        upstream.require::<DnsRecords>()?;
        upstream.require::<ProductionDeployment>()?;
        let vercel = &ctx.platforms.vercel;
        let names: Vec<String> = domains.names.iter().map(|d| d.name.clone()).collect();
        let last = &std::sync::Mutex::new(None::<Checks>);
        let (project, names_ref) = (domains.project.as_str(), &names);
        let green = poll(ctx.polling.every, ctx.polling.deployment_ready_within, || async move {
            let mut checks = Checks::default();
            for name in names_ref {
                let domain = vercel.get_project_domain(project, name).await?;
                let verified = domain.verified
                    || match vercel.verify_project_domain(project, name).await {
                        Ok(domain) => domain.verified,
                        // The challenge is not visible to Vercel yet.
                        Err(err) if err.is(ErrorKind::BadRequest) => false,
                        Err(err) => return Err(err.into()),
                    };
                if !verified {
                    checks.unverified.push(name.clone());
                }
                if vercel.domain_config(name, Some(project)).await?.misconfigured {
                    checks.misconfigured.push(name.clone());
                }
            }
            if last.lock().unwrap().as_ref() != Some(&checks) {
                let message = match (&checks.unverified[..], &checks.misconfigured[..]) {
                    ([], []) => "Vercel verified every name and sees the DNS pointing at it".to_string(),
                    (unverified, misconfigured) => format!(
                        "Waiting for Vercel: {}{}",
                        if unverified.is_empty() {
                            String::new()
                        } else {
                            format!("not verified yet: {}. ", unverified.join(", "))
                        },
                        if misconfigured.is_empty() {
                            String::new()
                        } else {
                            format!("DNS not pointing at Vercel yet: {}.", misconfigured.join(", "))
                        }
                    ),
                };
                ctx.emit(Self::NAME, Level::Info, message.trim_end()).await;
                *last.lock().unwrap() = Some(checks.clone());
            }
            Ok((checks.unverified.is_empty() && checks.misconfigured.is_empty()).then_some(()))
        })
        .await?;
        if green.is_none() {
            // Best effort: the doctor explains the wait; its own failure is not the step's.
            let examined = async {
                let at_vercel = DomainAtVercel::read(&ctx.platforms, &spec, Some(&domains.project)).await?;
                examine(&ctx.platforms, &spec, &at_vercel).await
            };
            let findings = examined.await.map(|report| report.findings).unwrap_or_default();
            for finding in &findings {
                ctx.emit(Self::NAME, Level::Warn, format!("{} Fix: {}.", finding.problem, finding.fix)).await;
            }
            let hint = match spec.dns {
                DnsProvider::Manual => "the records may not have reached every resolver yet",
                _ => "DNS changes can take up to their TTL to reach Vercel",
            };
            return Err(StepError::Transient(format!(
                "{} is not verified and configured at Vercel yet ({hint}; {} finding(s) from the DNS doctor above); will look again",
                spec.apex,
                findings.len()
            )));
        }

        // A certificate for every name, issued once and recorded.
        let recorded = ctx.store.resource(&ctx.venture.id, kind::DOMAIN_CERTIFICATE).await?;
        let covered = |cns: &[String]| names.iter().all(|n| cns.contains(n));
        let existing = match recorded.and_then(|r| r.external_id) {
            Some(id) => match vercel.get_certificate(&id).await {
                Ok(certificate) if covered(&certificate.cns) => Some(certificate.id),
                Ok(_) => None,
                Err(err) if err.is(ErrorKind::NotFound) => None,
                Err(err) => return Err(err.into()),
            },
            None => None,
        };
        let (certificate, changed) = match existing {
            Some(id) => (id, false),
            None => {
                let cns: Vec<&str> = names.iter().map(String::as_str).collect();
                let certificate = vercel.issue_certificate(&cns).await?;
                ctx.emit(Self::NAME, Level::Info, format!("Certificate issued for {}", names.join(", "))).await;
                let data = json!({ "names": names, "expires_at": certificate.expires_at });
                ctx.store.set_resource(&ctx.venture.id, kind::DOMAIN_CERTIFICATE, Some(&certificate.id), &data).await?;
                (certificate.id, true)
            }
        };
        let https = answers_over_https(ctx, &spec).await?;
        Ok(Applied { changed, output: Some(DomainLive { names, certificate, https }) })
    }

    /// The certificate goes with the domains at Vercel; only the record is Slipway's.
    async fn destroy(ctx: &Context) -> Result<(), StepError> {
        Ok(ctx.store.delete_resource(&ctx.venture.id, kind::DOMAIN_CERTIFICATE).await?)
    }
}

/// Waits until every name answers over HTTPS as it should; the certificate can take a while to
/// reach every edge after it is issued.
async fn answers_over_https(ctx: &Context, spec: &crate::domains::DomainSpec) -> Result<Vec<HttpsAnswer>, StepError> {
    let expected = spec.expectations();
    let (platforms, expected) = (&ctx.platforms, &expected);
    let last = &std::sync::Mutex::new(Vec::<HttpsAnswer>::new());
    let served = poll(ctx.polling.every, ctx.polling.deployment_ready_within, || async move {
        let mut answers = Vec::new();
        for (name, expect) in expected {
            answers.push(probe(&platforms.https, &platforms.dns, name, expect).await);
        }
        if *last.lock().unwrap() != answers {
            for answer in &answers {
                let level = if answer.ok() { Level::Info } else { Level::Warn };
                ctx.emit(DomainReady::NAME, level, format!("HTTPS: {}", answer.line())).await;
            }
            *last.lock().unwrap() = answers.clone();
        }
        Ok(answers.iter().all(HttpsAnswer::ok).then_some(answers))
    })
    .await?;
    served.ok_or_else(|| {
        let problems: Vec<String> = last.lock().unwrap().iter().filter(|a| !a.ok()).map(HttpsAnswer::line).collect();
        StepError::Transient(format!("the domain does not answer over HTTPS as it should yet: {}", problems.join("; ")))
    })
}

/// What Vercel says of a venture's names: which are on the project (and their challenges),
/// and each name's configuration with the values it recommends. Read once per check and
/// shared by the doctor and the Domains tab.
#[derive(Debug, Clone)]
pub struct DomainAtVercel {
    pub attached: Vec<crate::platform::vercel::ProjectDomain>,
    /// Every name of the spec (primary, redirect, staging), with its configuration.
    pub configs: Vec<(String, crate::platform::vercel::DomainConfig)>,
}

impl DomainAtVercel {
    /// Asks Vercel about every name of `spec`, for `project`'s domains when there is a project.
    pub async fn read(
        platforms: &crate::platforms::Platforms,
        spec: &crate::domains::DomainSpec,
        project: Option<&str>,
    ) -> Result<DomainAtVercel, crate::platform::api::ApiError> {
        let vercel = &platforms.vercel;
        let attached = match project {
            Some(project) => vercel.list_project_domains(project).await?,
            None => Vec::new(),
        };
        let mut configs = Vec::new();
        for (name, _) in spec.expectations() {
            let config = vercel.domain_config(&name, project).await?;
            configs.push((name, config));
        }
        Ok(DomainAtVercel { attached, configs })
    }
}

/// Runs the DNS doctor on a venture's domain: what Vercel recommends for each name, the
/// challenges it still asks for, and the nameservers the provider expects.
pub async fn examine(
    platforms: &crate::platforms::Platforms,
    spec: &crate::domains::DomainSpec,
    at_vercel: &DomainAtVercel,
) -> Result<crate::domains::diagnosis::Report, crate::platform::api::ApiError> {
    let vercel = &platforms.vercel;
    let names: Vec<&String> = at_vercel.configs.iter().map(|(name, _)| name).collect();
    let attached = &at_vercel.attached;
    let expected_names = at_vercel
        .configs
        .iter()
        .map(|(name, config)| {
            let recommended = crate::domains::doctor::Recommended {
                apex: *name == spec.apex,
                ipv4: config
                    .recommended_ipv4
                    .iter()
                    .flat_map(|r| r.value.iter())
                    .filter_map(|v| v.parse().ok())
                    .collect(),
                cname: config.preferred_cname().map(String::from),
            };
            (name.clone(), recommended)
        })
        .collect();
    let verification = match spec.dns {
        // Vercel DNS proves ownership by the nameservers.
        DnsProvider::Vercel => None,
        _ => attached
            .iter()
            .filter(|d| names.contains(&&d.name) && !d.verified)
            .find_map(|d| d.verification.first().map(|c| c.value.clone())),
    };
    let nameservers = match spec.dns {
        DnsProvider::Vercel => {
            let intended = vercel.find_domain(&spec.apex).await?.map(|d| d.intended_nameservers).unwrap_or_default();
            (!intended.is_empty()).then(|| ("Vercel DNS".to_string(), intended))
        }
        DnsProvider::Cloudflare => match &platforms.cloudflare {
            Some(client) => client.find_zone(&spec.apex).await?.map(|z| ("Cloudflare".to_string(), z.name_servers)),
            None => None,
        },
        DnsProvider::Rfc2136 | DnsProvider::Manual => None,
    };
    let provider = match spec.dns {
        DnsProvider::Vercel => "Vercel DNS",
        DnsProvider::Cloudflare => "Cloudflare",
        DnsProvider::Rfc2136 => "your DNS server",
        DnsProvider::Manual => "your DNS provider",
    };
    let expected = crate::domains::diagnosis::Expected {
        apex: spec.apex.clone(),
        names: expected_names,
        nameservers,
        verification,
        provider: provider.into(),
    };
    Ok(crate::domains::diagnosis::diagnose(&platforms.dns, &expected).await)
}
