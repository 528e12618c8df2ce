//! Domains on Vercel: a project's domains (apex + a `www` redirect) and their ownership
//! challenge, the account's domains and their Vercel DNS records, the DNS configuration Vercel
//! expects (`misconfigured` until the records point where it recommends), and certificates.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{Paged, Pagination, VercelClient, VercelError};
use crate::platform::api::{ApiError, ErrorKind, Vendor};
use crate::platform::domain::to_ascii_domain;

/// Redirect codes Vercel accepts for a domain that redirects to another.
pub const REDIRECT_STATUS_CODES: [u16; 4] = [301, 302, 307, 308];

/// Body of `POST /v10/projects/{idOrName}/domains`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddProjectDomain {
    pub name: String,
    /// Another domain of the project this one redirects to (`www` → apex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_environment_id: Option<String>,
}

/// Body of `PATCH /v9/projects/{idOrName}/domains/{domain}`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProjectDomain {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
}

/// What must be published for Vercel to accept that the domain is the project's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainChallenge {
    /// `TXT` in practice.
    #[serde(rename = "type")]
    pub record_type: String,
    /// Where the record goes, e.g. `_vercel.example.com`.
    pub domain: String,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDomain {
    pub name: String,
    pub apex_name: String,
    pub project_id: String,
    pub verified: bool,
    /// Present while `verified` is false.
    #[serde(default)]
    pub verification: Vec<DomainChallenge>,
    #[serde(default)]
    pub redirect: Option<String>,
    #[serde(default)]
    pub redirect_status_code: Option<u16>,
    #[serde(default)]
    pub git_branch: Option<String>,
    #[serde(default)]
    pub custom_environment_id: Option<String>,
}

/// A domain of the account (`/v5/domains`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub verified: bool,
    /// `zeit.world` = Vercel DNS serves the zone; `external` = another DNS provider; `na`.
    pub service_type: String,
    pub nameservers: Vec<String>,
    pub intended_nameservers: Vec<String>,
}

impl Domain {
    pub fn at_vercel_dns(&self) -> bool {
        self.service_type == "zeit.world"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendedIpv4 {
    pub rank: u32,
    pub value: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendedCname {
    pub rank: u32,
    pub value: String,
}

/// `GET /v6/domains/{domain}/config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainConfig {
    /// `A`, `CNAME`, `http`, `dns-01`, or none while nothing points at Vercel.
    pub configured_by: Option<String>,
    pub accepted_challenges: Vec<String>,
    #[serde(rename = "recommendedIPv4")]
    pub recommended_ipv4: Vec<RecommendedIpv4>,
    #[serde(rename = "recommendedCNAME")]
    pub recommended_cname: Vec<RecommendedCname>,
    /// True until the domain resolves to Vercel and a certificate can be issued.
    pub misconfigured: bool,
}

impl DomainConfig {
    /// The address an apex `A` record should hold (rank 1; one address is enough).
    pub fn preferred_ipv4(&self) -> Option<&str> {
        self.recommended_ipv4.iter().min_by_key(|r| r.rank)?.value.first().map(String::as_str)
    }

    /// The target a subdomain `CNAME` should hold (rank 1), without the trailing dot.
    pub fn preferred_cname(&self) -> Option<&str> {
        self.recommended_cname.iter().min_by_key(|r| r.rank).map(|r| r.value.trim_end_matches('.'))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsRecordType {
    A,
    Aaaa,
    Alias,
    Caa,
    Cname,
    Mx,
    Txt,
    Ns,
}

/// A Vercel DNS record to create. `name` is relative to the domain: `""` is the apex, `www`
/// a subdomain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecordInput {
    /// Sent for every type, TXT included: the spec's TXT variant requires `name` without
    /// declaring it (a known defect), and the API needs it.
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: DnsRecordType,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mx_priority: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Body of `PATCH /v1/domains/records/{recordId}`: only what changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecordPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: DnsRecordType,
    pub value: String,
    #[serde(default)]
    pub ttl: Option<u64>,
    #[serde(default)]
    pub mx_priority: Option<u64>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub auto_renew: bool,
    pub cns: Vec<String>,
}

fn domain_field(field: &str, value: &str) -> Result<String, ApiError> {
    to_ascii_domain(value).map_err(|rule| ApiError::invalid_input(Vendor::Vercel, field, rule))
}

fn check_redirect(
    name: &str,
    redirect: &Option<String>,
    status: Option<u16>,
    branch: &Option<String>,
) -> Result<Option<String>, ApiError> {
    if let Some(code) = status
        && !REDIRECT_STATUS_CODES.contains(&code)
    {
        return Err(ApiError::invalid_input(Vendor::Vercel, "redirectStatusCode", "must be 301, 302, 307 or 308"));
    }
    if redirect.is_some() && branch.is_some() {
        return Err(ApiError::invalid_input(Vendor::Vercel, "gitBranch", "cannot be set together with a redirect"));
    }
    match redirect {
        Some(target) => {
            let target = domain_field("redirect", target)?;
            if target == name {
                return Err(ApiError::invalid_input(Vendor::Vercel, "redirect", "must not be the domain itself"));
            }
            Ok(Some(target))
        }
        None => Ok(None),
    }
}

fn check_record(record: &DnsRecordInput) -> Result<(), ApiError> {
    let invalid = |field, rule: &str| Err(ApiError::invalid_input(Vendor::Vercel, field, rule));
    let name_ok = record.name.is_empty()
        || record.name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*')
        });
    if !name_ok {
        return invalid("name", "must be empty (the apex) or a subdomain relative to the domain, like www");
    }
    if record.ttl.is_some_and(|ttl| ttl < 60) {
        return invalid("ttl", "must be at least 60 seconds");
    }
    if record.comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
        return invalid("comment", "must be at most 500 characters");
    }
    let value_ok = match record.record_type {
        DnsRecordType::A => record.value.parse::<std::net::Ipv4Addr>().is_ok(),
        DnsRecordType::Aaaa => record.value.parse::<std::net::Ipv6Addr>().is_ok(),
        _ => !record.value.is_empty(),
    };
    if !value_ok {
        return invalid(
            "value",
            "must suit the record type (an IPv4 address for A, IPv6 for AAAA, non-empty otherwise)",
        );
    }
    match (record.record_type, record.mx_priority) {
        (DnsRecordType::Mx, None) => invalid("mxPriority", "is required for MX records"),
        (DnsRecordType::Mx, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => invalid("mxPriority", "is only for MX records"),
    }
}

#[derive(Deserialize)]
struct ProjectDomainPage {
    domains: Vec<ProjectDomain>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct DomainPage {
    domains: Vec<Domain>,
    pagination: Pagination,
}

#[derive(Deserialize)]
struct RecordPage {
    records: Vec<DnsRecord>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

impl Paged for ProjectDomainPage {
    type Item = ProjectDomain;
    fn split(self) -> (Vec<ProjectDomain>, Option<i64>) {
        (self.domains, self.pagination.next)
    }
}

impl Paged for DomainPage {
    type Item = Domain;
    fn split(self) -> (Vec<Domain>, Option<i64>) {
        (self.domains, self.pagination.next)
    }
}

impl Paged for RecordPage {
    type Item = DnsRecord;
    fn split(self) -> (Vec<DnsRecord>, Option<i64>) {
        (self.records, self.pagination.and_then(|p| p.next))
    }
}

#[derive(Deserialize)]
struct DomainEnvelope {
    domain: Domain,
}

#[derive(Deserialize)]
struct CreatedRecord {
    uid: String,
}

impl VercelClient {
    /// `POST /v10/projects/{idOrName}/domains`. The domain stays unverified, with a TXT
    /// challenge in `verification`, until the challenge is published and
    /// [`verify_project_domain`](Self::verify_project_domain) succeeds.
    pub async fn add_project_domain(
        &self,
        project: &str,
        request: &AddProjectDomain,
    ) -> Result<ProjectDomain, VercelError> {
        let name = domain_field("name", &request.name)?;
        let redirect = check_redirect(&name, &request.redirect, request.redirect_status_code, &request.git_branch)?;
        let body = AddProjectDomain { name, redirect, ..request.clone() };
        let call = self.call("addProjectDomain", Method::POST, &["v10", "projects", project, "domains"]).json(&body);
        self.core.send(call).await
    }

    /// `GET /v9/projects/{idOrName}/domains/{domain}`.
    pub async fn get_project_domain(&self, project: &str, domain: &str) -> Result<ProjectDomain, VercelError> {
        let domain = domain_field("domain", domain)?;
        let path = ["v9", "projects", project, "domains", &domain];
        self.core.send(self.call("getProjectDomain", Method::GET, &path)).await
    }

    /// `GET /v9/projects/{idOrName}/domains`, every page.
    pub async fn list_project_domains(&self, project: &str) -> Result<Vec<ProjectDomain>, VercelError> {
        let call = || self.call("getProjectDomains", Method::GET, &["v9", "projects", project, "domains"]);
        self.every_page::<ProjectDomainPage>("until", call).await
    }

    /// `PATCH /v9/projects/{idOrName}/domains/{domain}`.
    pub async fn update_project_domain(
        &self,
        project: &str,
        domain: &str,
        patch: &UpdateProjectDomain,
    ) -> Result<ProjectDomain, VercelError> {
        let domain = domain_field("domain", domain)?;
        let redirect = check_redirect(&domain, &patch.redirect, patch.redirect_status_code, &patch.git_branch)?;
        let body = UpdateProjectDomain { redirect, ..patch.clone() };
        let path = ["v9", "projects", project, "domains", &domain];
        self.core.send(self.call("updateProjectDomain", Method::PATCH, &path).json(&body)).await
    }

    /// `DELETE /v9/projects/{idOrName}/domains/{domain}`; with `remove_redirects`, the domains
    /// redirecting to it go too.
    pub async fn remove_project_domain(
        &self,
        project: &str,
        domain: &str,
        remove_redirects: bool,
    ) -> Result<(), VercelError> {
        let domain = domain_field("domain", domain)?;
        let path = ["v9", "projects", project, "domains", &domain];
        let call = self
            .call("removeProjectDomain", Method::DELETE, &path)
            .json(&serde_json::json!({ "removeRedirects": remove_redirects }));
        let _: serde_json::Value = self.core.send(call).await?;
        Ok(())
    }

    /// `POST /v9/projects/{idOrName}/domains/{domain}/verify`. A missing or wrong TXT record
    /// is a `BadRequest` carrying Vercel's code (`missing_txt_record`, …); publishing the
    /// challenge and calling again is the way on.
    pub async fn verify_project_domain(&self, project: &str, domain: &str) -> Result<ProjectDomain, VercelError> {
        let domain = domain_field("domain", domain)?;
        let path = ["v9", "projects", project, "domains", &domain, "verify"];
        self.core.send(self.call("verifyProjectDomain", Method::POST, &path).idempotent()).await
    }

    /// `POST /v7/domains` (method `add`): puts an apex domain in the account, so Vercel DNS
    /// can serve it once its nameservers point at Vercel.
    pub async fn add_domain(&self, name: &str) -> Result<Domain, VercelError> {
        let name = domain_field("name", name)?;
        let body = serde_json::json!({ "name": name, "method": "add" });
        let answer: DomainEnvelope =
            self.core.send(self.call("createOrTransferDomain", Method::POST, &["v7", "domains"]).json(&body)).await?;
        Ok(answer.domain)
    }

    /// `GET /v5/domains/{domain}`, with "not found" as `None`.
    pub async fn find_domain(&self, name: &str) -> Result<Option<Domain>, VercelError> {
        let name = domain_field("domain", name)?;
        match self.core.send::<DomainEnvelope>(self.call("getDomain", Method::GET, &["v5", "domains", &name])).await {
            Ok(answer) => Ok(Some(answer.domain)),
            Err(err) if err.is(ErrorKind::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `GET /v5/domains`, every page.
    pub async fn list_domains(&self) -> Result<Vec<Domain>, VercelError> {
        self.every_page::<DomainPage>("until", || self.call("getDomains", Method::GET, &["v5", "domains"])).await
    }

    /// `DELETE /v6/domains/{domain}`.
    pub async fn delete_domain(&self, name: &str) -> Result<(), VercelError> {
        let name = domain_field("domain", name)?;
        let _: serde_json::Value =
            self.core.send(self.call("deleteDomain", Method::DELETE, &["v6", "domains", &name])).await?;
        Ok(())
    }

    /// `GET /v6/domains/{domain}/config`: whether DNS points at Vercel, and where it should.
    pub async fn domain_config(&self, domain: &str, project: Option<&str>) -> Result<DomainConfig, VercelError> {
        let domain = domain_field("domain", domain)?;
        let mut call = self.call("getDomainConfig", Method::GET, &["v6", "domains", &domain, "config"]);
        if let Some(project) = project {
            call = call.query("projectIdOrName", project);
        }
        self.core.send(call).await
    }

    /// `GET /v4/domains/{domain}/records`, every page.
    pub async fn list_dns_records(&self, domain: &str) -> Result<Vec<DnsRecord>, VercelError> {
        let domain = domain_field("domain", domain)?;
        let call = || self.call("getRecords", Method::GET, &["v4", "domains", &domain, "records"]);
        self.every_page::<RecordPage>("until", call).await
    }

    /// `POST /v2/domains/{domain}/records`; returns the new record's id.
    pub async fn create_dns_record(&self, domain: &str, record: &DnsRecordInput) -> Result<String, VercelError> {
        let domain = domain_field("domain", domain)?;
        check_record(record)?;
        let call = self.call("createRecord", Method::POST, &["v2", "domains", &domain, "records"]).json(record);
        let created: CreatedRecord = self.core.send(call).await?;
        Ok(created.uid)
    }

    /// `PATCH /v1/domains/records/{recordId}`.
    pub async fn update_dns_record(&self, record_id: &str, patch: &DnsRecordPatch) -> Result<(), VercelError> {
        if patch.ttl.is_some_and(|ttl| ttl < 60) {
            return Err(ApiError::invalid_input(Vendor::Vercel, "ttl", "must be at least 60 seconds"));
        }
        let call = self.call("updateRecord", Method::PATCH, &["v1", "domains", "records", record_id]).json(patch);
        let _: serde_json::Value = self.core.send(call).await?;
        Ok(())
    }

    /// `DELETE /v2/domains/{domain}/records/{recordId}`.
    pub async fn delete_dns_record(&self, domain: &str, record_id: &str) -> Result<(), VercelError> {
        let domain = domain_field("domain", domain)?;
        let path = ["v2", "domains", &domain, "records", record_id];
        let _: serde_json::Value = self.core.send(self.call("removeRecord", Method::DELETE, &path)).await?;
        Ok(())
    }

    /// `POST /v8/certs`: a certificate for names that already point at Vercel.
    pub async fn issue_certificate(&self, names: &[&str]) -> Result<Certificate, VercelError> {
        if names.is_empty() {
            return Err(ApiError::invalid_input(Vendor::Vercel, "cns", "must name at least one domain"));
        }
        let cns = names.iter().map(|n| domain_field("cns", n)).collect::<Result<Vec<_>, _>>()?;
        let call = self.call("issueCert", Method::POST, &["v8", "certs"]).json(&serde_json::json!({ "cns": cns }));
        self.core.send(call).await
    }

    /// `GET /v8/certs/{id}`.
    pub async fn get_certificate(&self, id: &str) -> Result<Certificate, VercelError> {
        self.core.send(self.call("getCertById", Method::GET, &["v8", "certs", id])).await
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use secrecy::SecretString;

    use super::*;
    use crate::platform::cloudflare::{CloudflareClient, CloudflareConfig, RecordInput, RecordType};
    use crate::platform::vercel::{CreateProjectRequest, VercelConfig};
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    use slipway_sim::dns::SimDns;
    use slipway_sim::faults::FaultPlan;
    use slipway_sim::vercel::VercelSim;

    const TOKEN: &str = "domains-token";

    /// A Vercel and a Cloudflare simulator answering from one public DNS, with clients.
    async fn world() -> (VercelSim, VercelClient, CloudflareSim, CloudflareClient) {
        let dns = SimDns::default();
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let vercel_sim = VercelSim::start_with_dns(local, TOKEN, FaultPlan::default(), dns.clone()).await.unwrap();
        let cloudflare_sim =
            CloudflareSim::start(CloudflareSimConfig { dns, ..CloudflareSimConfig::new(TOKEN) }).await.unwrap();
        let vercel = VercelClient::new(VercelConfig::new(vercel_sim.base_url(), SecretString::from(TOKEN))).unwrap();
        let cloudflare =
            CloudflareClient::new(CloudflareConfig::with_token(cloudflare_sim.base_url(), SecretString::from(TOKEN)))
                .unwrap();
        (vercel_sim, vercel, cloudflare_sim, cloudflare)
    }

    fn cf_record(record_type: RecordType, name: &str, content: &str) -> RecordInput {
        RecordInput { record_type, name: name.into(), content: content.into(), ttl: 1, proxied: false, comment: None }
    }

    #[tokio::test]
    async fn apex_and_www_verify_through_txt_records_at_an_external_dns_provider() {
        let (_vercel_sim, vercel, _cf_sim, cloudflare) = world().await;
        let project = vercel.create_project(&CreateProjectRequest { name: "shop".into(), ..Default::default() }).await;
        let project = project.unwrap();
        let zone = cloudflare.find_zone("example.com").await.unwrap().unwrap();

        let apex = vercel
            .add_project_domain(&project.id, &AddProjectDomain { name: "Example.com".into(), ..Default::default() })
            .await
            .unwrap();
        assert_eq!((apex.name.as_str(), apex.apex_name.as_str(), apex.verified), ("example.com", "example.com", false));
        let challenge = apex.verification[0].clone();
        assert_eq!((challenge.record_type.as_str(), challenge.domain.as_str()), ("TXT", "_vercel.example.com"));
        assert!(challenge.value.starts_with("vc-domain-verify=example.com,"), "{}", challenge.value);

        let www = vercel
            .add_project_domain(
                &project.id,
                &AddProjectDomain {
                    name: "www.example.com".into(),
                    redirect: Some("example.com".into()),
                    redirect_status_code: Some(308),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((www.redirect.as_deref(), www.redirect_status_code), (Some("example.com"), Some(308)));

        // Nothing published yet: Vercel says the record is missing.
        let err = vercel.verify_project_domain(&project.id, "example.com").await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.code == "missing_txt_record", "{err}");
        // A challenge for the right domain with the wrong value is told apart.
        let wrong = cf_record(RecordType::Txt, "_vercel.example.com", "vc-domain-verify=example.com,0000");
        let wrong = cloudflare.create_record(&zone.id, &wrong).await.unwrap();
        let err = vercel.verify_project_domain(&project.id, "example.com").await.unwrap_err();
        assert_eq!(err.code, "incorrect_txt_record", "{err}");
        cloudflare.delete_record(&zone.id, &wrong.id).await.unwrap();

        for challenge in [&apex.verification[0], &www.verification[0]] {
            let record = cf_record(RecordType::Txt, &challenge.domain, &challenge.value);
            cloudflare.create_record(&zone.id, &record).await.unwrap();
        }
        assert!(vercel.verify_project_domain(&project.id, "example.com").await.unwrap().verified);
        assert!(vercel.verify_project_domain(&project.id, "www.example.com").await.unwrap().verified);
        let listed = vercel.list_project_domains(&project.id).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|d| d.verified && d.verification.is_empty()));

        // Verified is not configured: DNS must point at Vercel before a certificate can exist.
        let config = vercel.domain_config("example.com", Some(&project.id)).await.unwrap();
        assert!(config.misconfigured && config.configured_by.is_none());
        assert!(vercel.issue_certificate(&["example.com"]).await.unwrap_err().is(ErrorKind::BadRequest));
        let ip = config.preferred_ipv4().unwrap().to_string();
        let cname = config.preferred_cname().unwrap().to_string();
        assert_eq!((ip.as_str(), cname.as_str()), ("76.76.21.21", "cname.vercel-dns.com"));
        cloudflare.create_record(&zone.id, &cf_record(RecordType::A, "example.com", &ip)).await.unwrap();
        cloudflare.create_record(&zone.id, &cf_record(RecordType::Cname, "www.example.com", &cname)).await.unwrap();
        let apex_config = vercel.domain_config("example.com", None).await.unwrap();
        assert_eq!((apex_config.misconfigured, apex_config.configured_by.as_deref()), (false, Some("A")));
        let www_config = vercel.domain_config("www.example.com", None).await.unwrap();
        assert_eq!((www_config.misconfigured, www_config.configured_by.as_deref()), (false, Some("CNAME")));

        let cert = vercel.issue_certificate(&["example.com", "www.example.com"]).await.unwrap();
        assert!(cert.auto_renew && cert.expires_at > cert.created_at);
        assert_eq!(vercel.get_certificate(&cert.id).await.unwrap(), cert);

        // The apex cannot go while www redirects to it, unless the redirects go too.
        assert!(vercel.remove_project_domain(&project.id, "example.com", false).await.is_err());
        vercel.remove_project_domain(&project.id, "example.com", true).await.unwrap();
        assert!(vercel.list_project_domains(&project.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_zone_at_vercel_dns_verifies_and_configures_itself_and_serves_records() {
        let (_vercel_sim, vercel, _cf_sim, _cloudflare) = world().await;
        let project = vercel.create_project(&CreateProjectRequest { name: "app".into(), ..Default::default() }).await;
        let project = project.unwrap();
        let domain = vercel.add_domain("venture.dev").await.unwrap();
        assert!(domain.at_vercel_dns() && domain.verified, "{domain:?}");
        assert_eq!(vercel.find_domain("venture.dev").await.unwrap().unwrap().id, domain.id);
        assert!(vercel.find_domain("other.dev").await.unwrap().is_none());
        assert_eq!(vercel.list_domains().await.unwrap().len(), 1);

        let added = vercel
            .add_project_domain(&project.id, &AddProjectDomain { name: "venture.dev".into(), ..Default::default() })
            .await
            .unwrap();
        assert!(added.verified, "the zone is the account's at Vercel DNS");
        assert!(!vercel.domain_config("venture.dev", None).await.unwrap().misconfigured);

        let txt = DnsRecordInput {
            name: "_dmarc".into(),
            record_type: DnsRecordType::Txt,
            value: "v=DMARC1; p=none".into(),
            ttl: Some(300),
            mx_priority: None,
            comment: Some("managed by Slipway".into()),
        };
        let id = vercel.create_dns_record("venture.dev", &txt).await.unwrap();
        let mx = DnsRecordInput {
            name: String::new(),
            record_type: DnsRecordType::Mx,
            value: "mx.venture.dev".into(),
            mx_priority: Some(10),
            ttl: None,
            comment: None,
        };
        vercel.create_dns_record("venture.dev", &mx).await.unwrap();
        let records = vercel.list_dns_records("venture.dev").await.unwrap();
        assert_eq!(records.len(), 2);
        let stored = records.iter().find(|r| r.id == id).unwrap();
        assert_eq!((stored.name.as_str(), stored.ttl, stored.record_type), ("_dmarc", Some(300), DnsRecordType::Txt));
        let patch = DnsRecordPatch { value: Some("v=DMARC1; p=reject".into()), ..Default::default() };
        vercel.update_dns_record(&id, &patch).await.unwrap();
        let records = vercel.list_dns_records("venture.dev").await.unwrap();
        assert_eq!(records.iter().find(|r| r.id == id).unwrap().value, "v=DMARC1; p=reject");
        vercel.delete_dns_record("venture.dev", &id).await.unwrap();
        assert_eq!(vercel.list_dns_records("venture.dev").await.unwrap().len(), 1);
        vercel.delete_domain("venture.dev").await.unwrap();
        assert!(vercel.list_domains().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn invalid_domains_and_records_never_leave_the_client() {
        let (vercel_sim, vercel, _cf_sim, _cloudflare) = world().await;
        let domain = |name: &str| AddProjectDomain { name: name.into(), ..Default::default() };
        for (request, field) in [
            (domain("not a domain"), "name"),
            (domain("localhost"), "name"),
            (AddProjectDomain { redirect: Some("example.com".into()), ..domain("example.com") }, "redirect"),
            (AddProjectDomain { redirect_status_code: Some(303), ..domain("www.example.com") }, "redirectStatusCode"),
            (
                AddProjectDomain {
                    redirect: Some("example.com".into()),
                    git_branch: Some("main".into()),
                    ..domain("www.example.com")
                },
                "gitBranch",
            ),
        ] {
            let err = vercel.add_project_domain("prj", &request).await.unwrap_err();
            assert!(err.is(ErrorKind::InvalidInput) && err.code == field, "{request:?}: {err}");
        }
        let record = |record_type, name: &str, value: &str| DnsRecordInput {
            name: name.into(),
            record_type,
            value: value.into(),
            ttl: None,
            mx_priority: None,
            comment: None,
        };
        for (input, field) in [
            (record(DnsRecordType::A, "", "not-an-ip"), "value"),
            (record(DnsRecordType::Txt, "bad name", "x"), "name"),
            (record(DnsRecordType::Mx, "", "mx.example.com"), "mxPriority"),
            (DnsRecordInput { ttl: Some(30), ..record(DnsRecordType::Txt, "a", "x") }, "ttl"),
        ] {
            let err = vercel.create_dns_record("example.com", &input).await.unwrap_err();
            assert!(err.is(ErrorKind::InvalidInput) && err.code == field, "{input:?}: {err}");
        }
        let err = vercel.issue_certificate(&[]).await.unwrap_err();
        assert_eq!(err.code, "cns");
        assert!(vercel_sim.requests().is_empty(), "nothing was sent");
    }

    #[tokio::test]
    async fn one_domain_belongs_to_one_project() {
        let (_vercel_sim, vercel, _cf_sim, _cloudflare) = world().await;
        let first = vercel.create_project(&CreateProjectRequest { name: "one".into(), ..Default::default() }).await;
        let second = vercel.create_project(&CreateProjectRequest { name: "two".into(), ..Default::default() }).await;
        let (first, second) = (first.unwrap(), second.unwrap());
        let apex = AddProjectDomain { name: "example.com".into(), ..Default::default() };
        vercel.add_project_domain(&first.id, &apex).await.unwrap();
        let again = vercel.add_project_domain(&first.id, &apex).await.unwrap_err();
        assert!(again.is(ErrorKind::BadRequest) && again.code == "domain_already_exists", "{again}");
        let elsewhere = vercel.add_project_domain(&second.id, &apex).await.unwrap_err();
        assert!(elsewhere.is(ErrorKind::Conflict) && elsewhere.code == "domain_already_in_use", "{elsewhere}");
        let to_nowhere = AddProjectDomain {
            name: "www.example.com".into(),
            redirect: Some("elsewhere.com".into()),
            ..Default::default()
        };
        let err = vercel.add_project_domain(&first.id, &to_nowhere).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest), "a redirect must target a domain of the project: {err}");
        let patch = UpdateProjectDomain { redirect_status_code: Some(301), ..Default::default() };
        let err = vercel.update_project_domain(&first.id, "www.example.com", &patch).await.unwrap_err();
        assert!(err.is(ErrorKind::NotFound), "{err}");
        let found = vercel.get_project_domain(&first.id, "example.com").await.unwrap();
        assert_eq!(found.project_id, first.id);
    }
}
