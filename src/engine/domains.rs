//! Custom domains: the DNS doctor on any domain (the venture's settings when one has it), and a
//! venture's domain as it stands: each name on the project, verified and configured at Vercel,
//! the certificate, and the doctor's findings. Every role may read them.

use serde::{Deserialize, Serialize};

use super::*;
use crate::domains::diagnosis::Report;
use crate::domains::https::{Expect, HttpsAnswer, probe};
use crate::domains::{DnsProvider, DomainSpec, Primary};
use crate::platform::domain::{Registrable, registrable, to_ascii_domain};
use crate::platform::ratelimit::with_patience;
use crate::provision::DomainAtVercel;
use crate::provision::kind;

/// The doctor's report on one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DomainCheck {
    /// The zone checked (the registrable domain).
    pub domain: String,
    /// The venture whose spec has this domain, if one does: its provider and names are used.
    #[schema(required = true)]
    pub venture: Option<String>,
    pub provider: DnsProvider,
    pub report: Report,
    /// How each name answers over HTTPS (the primary, the name redirecting to it, staging).
    pub https: Vec<HttpsAnswer>,
}

/// One of a venture's names and where it stands at Vercel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DomainName {
    pub name: String,
    /// `primary`, `redirect` (answers 308 to the primary) or `staging`.
    #[schema(example = "primary")]
    pub role: String,
    /// On the Vercel project.
    pub attached: bool,
    /// Vercel accepts it as the project's.
    pub verified: bool,
    /// Its DNS points at Vercel and a certificate can be issued (`misconfigured: false`).
    pub configured: bool,
    /// How it answers over HTTPS, once Slipway had a certificate issued.
    #[schema(required = true)]
    pub https: Option<crate::domains::https::HttpsAnswer>,
}

/// A venture's custom domain now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DomainStatus {
    pub apex: String,
    pub provider: DnsProvider,
    pub names: Vec<DomainName>,
    /// The certificate Slipway had issued for every name, once it has.
    #[schema(required = true)]
    pub certificate: Option<String>,
    pub report: Report,
}

/// A platform failure as an engine error, a full rate limiter as `Busy`.
fn platform(err: crate::platform::api::ApiError) -> EngineError {
    match StepError::from(err) {
        StepError::OverBudget { retry_after } => EngineError::Busy { retry_after },
        other => EngineError::Platform(other.to_string()),
    }
}

impl Engine {
    /// Runs the DNS doctor on `domain` (a name in any form: `Acme.com.`, `www.acme.com`,
    /// an internationalised one): with the venture's provider and names when a venture's spec
    /// has this domain, else as a domain pointed at Vercel by hand.
    /// Any signed-in user may check a domain (it only reads).
    pub async fn check_domain(&self, _actor: &User, domain: &str) -> Result<DomainCheck, EngineError> {
        let name = to_ascii_domain(domain).map_err(|rule| EngineError::invalid("domain", rule))?;
        let apex = match registrable(&name) {
            Registrable::Domain(apex) => apex,
            Registrable::Shared(suffix) => {
                return Err(EngineError::invalid(
                    "domain",
                    format!("is under {suffix}, which is not a domain of yours"),
                ));
            }
            Registrable::NotRegistrable => {
                return Err(EngineError::invalid("domain", "is not a domain anyone registers"));
            }
        };
        let mut found = None;
        if let Some(venture) = self.inner.store.venture_with_domain(&apex, None).await?
            && let Some(domain) = self.stored_spec(&venture).await?.domain
        {
            found = Some((venture, domain));
        }
        let (venture, spec) = match found {
            Some((venture, spec)) => (Some(venture), spec),
            None => (
                None,
                DomainSpec {
                    apex: apex.clone(),
                    primary: Primary::Apex,
                    dns: DnsProvider::Manual,
                    staging: None,
                    allow_replace: Vec::new(),
                },
            ),
        };
        let project = venture.as_ref().and_then(|v| v.vercel_project_id.clone());
        // An interactive request: a full rate limiter answers Busy rather than keeping it waiting.
        let (report, https) = tokio::join!(
            with_patience(PLAN_PATIENCE, self.examine(&spec, project.as_deref())),
            self.answers_over_https(&spec)
        );
        let report = report.map_err(platform)?;
        Ok(DomainCheck { domain: apex, venture: venture.map(|v| v.name), provider: spec.dns, report, https })
    }

    /// The DNS doctor on `spec`, with what Vercel recommends for `project`'s names.
    async fn examine(
        &self,
        spec: &DomainSpec,
        project: Option<&str>,
    ) -> Result<Report, crate::platform::api::ApiError> {
        let at_vercel = DomainAtVercel::read(&self.inner.platforms, spec, project).await?;
        crate::provision::examine_domain(&self.inner.platforms, spec, &at_vercel).await
    }

    /// Indexes ventures stored before their domain had a column (run when the engine opens).
    pub(super) async fn index_domains(&self) -> Result<(), EngineError> {
        for (id, json) in self.inner.store.ventures_to_index_by_domain().await? {
            let apex = serde_json::from_str::<crate::venture::NewVenture>(&json)
                .ok()
                .and_then(|input| input.validate().ok())
                .and_then(|spec| spec.domain.map(|d| d.apex));
            if let Some(apex) = apex {
                self.inner.store.set_venture_domain_column(&id, &apex).await?;
            }
        }
        Ok(())
    }

    /// Every name of `spec` asked over HTTPS at once.
    async fn answers_over_https(&self, spec: &DomainSpec) -> Vec<HttpsAnswer> {
        let platforms = &self.inner.platforms;
        let expected = spec.expectations();
        let probes = expected.iter().map(|(name, expect)| probe(&platforms.https, &platforms.dns, name, expect));
        futures_util::future::join_all(probes).await
    }

    /// The venture's custom domain as it stands, checked live; `None` without one in the spec.
    pub async fn venture_domain(&self, actor: &User, venture_id: &str) -> Result<Option<DomainStatus>, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let Some(spec) = self.stored_spec(&venture).await?.domain else { return Ok(None) };
        let project = venture.vercel_project_id.clone();
        let certificate =
            self.inner.store.resource(venture_id, kind::DOMAIN_CERTIFICATE).await?.and_then(|r| r.external_id);
        // An interactive request: a full rate limiter answers Busy rather than keeping it waiting.
        let live = async {
            let platforms = &self.inner.platforms;
            let at_vercel = DomainAtVercel::read(platforms, &spec, project.as_deref()).await?;
            let report = crate::provision::examine_domain(platforms, &spec, &at_vercel).await?;
            Ok::<_, crate::platform::api::ApiError>((at_vercel, report))
        };
        let (at_vercel, report) = with_patience(PLAN_PATIENCE, live).await.map_err(platform)?;
        let mut names: Vec<DomainName> = spec
            .expectations()
            .into_iter()
            .zip(&at_vercel.configs)
            .map(|((name, expect), (_, config))| {
                let on_project = at_vercel.attached.iter().find(|d| d.name == name);
                DomainName {
                    role: match expect {
                        Expect::Site => "primary",
                        Expect::RedirectTo(_) => "redirect",
                        Expect::Environment => "staging",
                    }
                    .into(),
                    attached: on_project.is_some(),
                    verified: on_project.is_some_and(|d| d.verified),
                    // Vercel's configuration of a name counts once the name is the project's.
                    configured: on_project.is_some() && !config.misconfigured,
                    https: None,
                    name,
                }
            })
            .collect();
        // Asked once there is a certificate: before, every name would only fail its handshake.
        if certificate.is_some() {
            for (name, answer) in names.iter_mut().zip(self.answers_over_https(&spec).await) {
                name.https = Some(answer);
            }
        }
        Ok(Some(DomainStatus { apex: spec.apex, provider: spec.dns, names, certificate, report }))
    }
}

impl Engine {
    /// Sets (or, with `None`, removes) the venture's custom domain in its stored spec and
    /// queues an apply; the whole spec is checked first, so nothing is stored half-valid.
    /// Creators and admins. Returns the apply's job id.
    pub async fn set_venture_domain(
        &self,
        actor: &User,
        venture_id: &str,
        domain: Option<crate::domains::DomainInput>,
    ) -> Result<String, EngineError> {
        let venture = self.venture_to_change(actor, venture_id, "change this venture's domain").await?;
        let mut input = self.stored_input(&venture).await?;
        input.domain = domain;
        let spec = input.validate().map_err(EngineError::Invalid)?;
        let apex = spec.domain.map(|d| d.apex);
        self.refuse_taken_domain(apex.as_deref(), Some(&venture.id)).await?;
        let stored = serde_json::to_string(&input).expect("specs serialize");
        self.inner.store.set_venture_spec(&venture.id, &stored, apex.as_deref()).await?;
        self.apply_venture(actor, venture_id).await
    }

    /// What applying the venture with `domain` as its custom domain would do, and what the
    /// doctor finds there now (reads only): the wizard's preview, before anything is stored.
    pub async fn preview_venture_domain(
        &self,
        actor: &User,
        venture_id: &str,
        domain: crate::domains::DomainInput,
    ) -> Result<DomainPreview, EngineError> {
        let venture = self.venture(actor, venture_id).await?;
        let mut input = self.stored_input(&venture).await?;
        input.domain = Some(domain);
        let spec = input.validate().map_err(EngineError::Invalid)?;
        let checked = spec.domain.clone().expect("the domain was just set");
        let project = venture.vercel_project_id.clone();
        let plan = self.plan_for(venture, spec).await?;
        let report =
            with_patience(PLAN_PATIENCE, self.examine(&checked, project.as_deref())).await.map_err(platform)?;
        let (primary, redirect) = checked.names();
        Ok(DomainPreview { primary, redirect, staging: checked.staging, plan, report })
    }

    /// The DNS providers Slipway can write to here, and `manual`.
    pub fn dns_providers(&self) -> Vec<DnsProvider> {
        self.inner.platforms.dns_providers()
    }
}

/// The wizard's preview of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainPreview {
    /// The name visitors stay on, and the one redirecting to it (as understood: IDNA, the
    /// public suffix list).
    pub primary: String,
    pub redirect: String,
    pub staging: Option<String>,
    pub plan: Vec<PlannedAction>,
    pub report: Report,
}
