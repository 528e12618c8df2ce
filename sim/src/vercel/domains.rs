//! Domains in the Vercel simulator: project domains (apex + www redirect) that stay
//! `verified:false` with a TXT challenge at `_vercel.<apex>` until that record resolves in the
//! simulated DNS; team domains and Vercel DNS records (served when the zone is at Vercel DNS);
//! domain configuration (`misconfigured` until the apex A / subdomain CNAME point where the
//! recommendations say); certificates, issued only for configured names.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Scope, Shared, SimState, bad_request, error, guarded, in_project, parse_body};
use crate::SimQuery;
use crate::dns::{DnsProvider, DnsRecord, normalize};
use crate::rules::{apex_of, now_ms, to_ascii_domain};

/// Where Vercel asks apex domains (A) and subdomains (CNAME) to point.
pub const RECOMMENDED_IPV4: &str = "76.76.21.21";
pub const RECOMMENDED_CNAME: &str = "cname.vercel-dns.com.";
/// Vercel's own zone, where its nameservers and the CNAME target live.
pub(super) const VERCEL_DNS_ZONE: &str = "vercel-dns.com";
/// Where every deployment gets a name of its own (`<project>-<hash>.vercel.app`), and each
/// project's production one (`<project>.vercel.app`).
pub(super) const DEPLOYMENT_ZONE: &str = "vercel.app";

/// The name that serves a project's production deployment.
pub(super) fn production_alias(project_name: &str) -> String {
    format!("{project_name}.{DEPLOYMENT_ZONE}")
}

pub(super) fn routes(router: Router<Shared>) -> Router<Shared> {
    use axum::routing::{delete, get, patch, post};
    router
        .route("/v10/projects/{id_or_name}/domains", post(add_project_domain))
        .route("/v9/projects/{id_or_name}/domains", get(list_project_domains))
        .route(
            "/v9/projects/{id_or_name}/domains/{domain}",
            get(get_project_domain).patch(update_project_domain).delete(remove_project_domain),
        )
        .route("/v9/projects/{id_or_name}/domains/{domain}/verify", post(verify_project_domain))
        .route("/v7/domains", post(add_domain))
        .route("/v5/domains", get(list_domains))
        .route("/v5/domains/{domain}", get(get_domain))
        .route("/v6/domains/{domain}", delete(delete_domain))
        .route("/v6/domains/{domain}/config", get(domain_config))
        // The saved spec lists records at v4; the newest SDK and the official CLI use v5.
        .route("/v4/domains/{domain}/records", get(list_records))
        .route("/v5/domains/{domain}/records", get(list_records))
        .route("/v2/domains/{domain}/records", post(create_record))
        .route("/v2/domains/{domain}/records/{record_id}", delete(delete_record))
        // Not in the saved spec; the official CLI calls them (`dns add`, `dns rm`,
        // `domains rm`, `domains inspect`).
        .route("/v3/domains/{domain}/records", post(create_record))
        .route("/v3/domains/{domain}/records/{record_id}", delete(delete_record))
        .route("/v5/domains/records/{record_id}", get(get_record))
        .route("/v3/domains/{domain}", delete(delete_domain))
        .route("/v1/domains/{domain}/project-domains", get(domain_project_domains))
        .route("/projects/{id_or_name}/alias", post(add_project_alias))
        .route("/v1/domains/records/{record_id}", patch(update_record))
        .route("/v8/certs", post(issue_cert))
        .route("/v8/certs/{id}", get(get_cert))
}

/// A domain on a project, with the challenge it must meet.
pub(super) struct ProjectDomain {
    project_id: String,
    name: String,
    apex: String,
    redirect: Option<String>,
    redirect_status: Option<u16>,
    git_branch: Option<String>,
    custom_environment_id: Option<String>,
    verified: bool,
    challenge: String,
    created_at: i64,
    updated_at: i64,
}

impl ProjectDomain {
    pub(super) fn project_id(&self) -> &str {
        &self.project_id
    }

    fn json(&self) -> Value {
        let mut body = json!({
            "name": self.name, "apexName": self.apex, "projectId": self.project_id, "verified": self.verified,
            "createdAt": self.created_at, "updatedAt": self.updated_at,
        });
        if let Some(redirect) = &self.redirect {
            body["redirect"] = json!(redirect);
            body["redirectStatusCode"] = json!(self.redirect_status.unwrap_or(307));
        }
        if let Some(branch) = &self.git_branch {
            body["gitBranch"] = json!(branch);
        }
        if let Some(environment) = &self.custom_environment_id {
            body["customEnvironmentId"] = json!(environment);
        }
        if !self.verified {
            body["verification"] = json!([{
                "type": "TXT", "domain": format!("_vercel.{}", self.apex), "value": self.challenge,
                "reason": "pending_domain_verification",
            }]);
        }
        body
    }
}

/// A domain added to the account (`POST /v7/domains`).
pub(super) struct TeamDomain {
    team: Option<String>,
    id: String,
    name: String,
    created_at: i64,
}

pub(super) struct VercelRecord {
    team: Option<String>,
    id: String,
    domain: String,
    /// Relative to `domain`; empty for the apex.
    name: String,
    record_type: String,
    value: String,
    ttl: u64,
    mx_priority: Option<u64>,
    comment: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl VercelRecord {
    fn fqdn(&self) -> String {
        if self.name.is_empty() { self.domain.clone() } else { format!("{}.{}", self.name, self.domain) }
    }

    fn json(&self) -> Value {
        let mut body = json!({
            "id": self.id, "slug": format!("{}-{}", self.domain, self.id), "name": self.name, "type": self.record_type,
            "value": self.value, "creator": super::USER_ID, "created": self.created_at, "updated": self.updated_at,
            "createdAt": self.created_at, "updatedAt": self.updated_at, "ttl": self.ttl,
        });
        if let Some(priority) = self.mx_priority {
            body["mxPriority"] = json!(priority);
        }
        if let Some(comment) = &self.comment {
            body["comment"] = json!(comment);
        }
        body
    }

    fn publish(&self, state: &SimState) {
        state.dns.publish(DnsRecord {
            provider: DnsProvider::Vercel,
            id: self.id.clone(),
            name: self.fqdn(),
            record_type: self.record_type.clone(),
            value: self.value.clone(),
            ttl: u32::try_from(self.ttl).unwrap_or(u32::MAX),
            system: false,
        });
    }
}

/// The verification value for a domain on a project: stable, so re-adding the same domain to
/// the same project can be verified by the record already in place.
fn challenge(project_id: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{project_id}/{name}").as_bytes());
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("vc-domain-verify={name},{hex}")
}

fn invalid_domain(name: &str) -> Result<String, Response> {
    to_ascii_domain(name)
        .map_err(|rule| error(StatusCode::BAD_REQUEST, "invalid_domain", &format!("The domain is not valid: {rule}")))
}

/// `redirectStatusCode`: absent, null, or one of the redirect codes.
fn redirect_status(code: &Option<Option<u16>>) -> Result<Option<u16>, Response> {
    match code {
        Some(Some(code)) if ![301, 302, 307, 308].contains(code) => {
            Err(bad_request("Invalid request: `redirectStatusCode` must be one of 301, 302, 307, 308"))
        }
        Some(code) => Ok(*code),
        None => Ok(None),
    }
}

fn nullable_u16<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u16>>, D::Error> {
    Option::<u16>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddProjectDomainBody {
    name: String,
    git_branch: Option<String>,
    custom_environment_id: Option<String>,
    redirect: Option<String>,
    #[serde(default, deserialize_with = "nullable_u16")]
    redirect_status_code: Option<Option<u16>>,
}

/// The id prefix of the answers Vercel DNS gives by itself for project domains.
const EDGE_ANSWER: &str = "system-edge-";

impl SimState {
    /// Republishes Vercel DNS's own answers for project domains (an A to the edge), which
    /// resolve wherever Vercel DNS serves the zone, and the edge's address for the CNAME target
    /// (`vercel-dns.com` is Vercel's zone); called after project domains or the edge change.
    pub(super) fn refresh_edge_answers(&self) {
        self.dns.withdraw_prefixed(DnsProvider::Vercel, EDGE_ANSWER);
        // The CNAME target Vercel recommends leads to the edge too.
        self.dns.publish(DnsRecord {
            provider: DnsProvider::Vercel,
            id: format!("{EDGE_ANSWER}{RECOMMENDED_CNAME}"),
            name: RECOMMENDED_CNAME.into(),
            record_type: "A".into(),
            value: self.edge_ipv4.clone(),
            ttl: 60,
            system: true,
        });
        let deployments = self.deployments.iter().map(|d| d.url());
        let aliases = self.projects.iter().filter_map(|(_, p)| p["name"].as_str().map(production_alias));
        let names = self.project_domains.iter().map(|d| d.name.clone()).chain(deployments).chain(aliases);
        for name in names {
            self.answer_at_edge(name);
        }
    }

    /// Vercel DNS answers for `name` with the edge's address.
    pub(super) fn answer_at_edge(&self, name: String) {
        self.dns.publish(DnsRecord {
            provider: DnsProvider::Vercel,
            id: format!("{EDGE_ANSWER}{name}"),
            name,
            record_type: "A".into(),
            value: self.edge_ipv4.clone(),
            ttl: 60,
            system: true,
        });
    }

    /// Whether the DNS (or Vercel's own knowledge of the apex) proves ownership now.
    fn ownership_proven(&self, team: &Option<String>, apex: &str, challenge: &str) -> bool {
        let at_vercel_dns = self.team_domains.iter().any(|d| d.team == *team && d.name == apex)
            && self.dns.authority(apex).map(|(_, p)| p) == Some(DnsProvider::Vercel);
        at_vercel_dns || self.dns.lookup(&format!("_vercel.{apex}"), "TXT").iter().any(|v| v == challenge)
    }

    fn project_domain(&self, project_id: &str, name: &str) -> Option<usize> {
        let name = normalize(name);
        self.project_domains.iter().position(|d| d.project_id == project_id && d.name == name)
    }
}

async fn add_project_domain(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = scope.key();
    in_project(&state, "POST", &uri, &headers, Some(&body), (team.clone(), &id_or_name), |s, project| {
        let body: AddProjectDomainBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        match add_to_project(s, &team, project, body) {
            Ok(answer) => Json(answer).into_response(),
            Err(refusal) => refusal,
        }
    })
    .await
}

/// Adds a domain to a project (the rules of `POST /v10/projects/{idOrName}/domains`): the
/// project domain's JSON, or the refusal.
fn add_to_project(
    s: &mut SimState,
    team: &Option<String>,
    project: String,
    body: AddProjectDomainBody,
) -> Result<Value, Response> {
    let name = invalid_domain(&body.name)?;
    let redirect_status = redirect_status(&body.redirect_status_code)?;
    if body.git_branch.is_some() && body.redirect.is_some() {
        return Err(bad_request("You can't set both a git branch and a redirect for the domain"));
    }
    let redirect = match &body.redirect {
        Some(target) => match to_ascii_domain(target) {
            Ok(target) if target == name => return Err(bad_request("A domain cannot redirect to itself")),
            Ok(target) if s.project_domain(&project, &target).is_none() => {
                return Err(bad_request("The domain redirect is not valid: it must be a domain of this project"));
            }
            Ok(target) => Some(target),
            Err(rule) => return Err(bad_request(&format!("The domain redirect is not valid: {rule}"))),
        },
        None => None,
    };
    if s.project_domain(&project, &name).is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "domain_already_exists",
            &format!("The domain {name} is already assigned to this project"),
        ));
    }
    if s.project_domains.iter().any(|d| d.name == name) {
        return Err(error(
            StatusCode::CONFLICT,
            "domain_already_in_use",
            "The domain is already assigned to another Vercel project",
        ));
    }
    if let Some(environment) = &body.custom_environment_id
        && super::custom_environment_index(s, &project, environment).is_none()
    {
        return Err(bad_request("The custom environment does not exist"));
    }
    let apex = apex_of(&name);
    let challenge = challenge(&project, &name);
    let now = now_ms();
    let domain = ProjectDomain {
        verified: s.ownership_proven(team, &apex, &challenge),
        project_id: project,
        name,
        apex,
        redirect,
        redirect_status: redirect_status.or(body.redirect.as_ref().map(|_| 307)),
        git_branch: body.git_branch,
        custom_environment_id: body.custom_environment_id,
        challenge,
        created_at: now,
        updated_at: now,
    };
    let answer = domain.json();
    s.project_domains.push(domain);
    s.refresh_edge_answers();
    Ok(answer)
}

/// `POST /projects/{idOrName}/alias` `{"domain", "target": "PRODUCTION"}`: how the official
/// CLI's `domains add <domain> <project>` adds a project domain (not in the saved spec). The
/// answer is the project's production aliases; a domain already on a project is refused with
/// `ALIAS_DOMAIN_EXIST` naming that project, which the CLI reads.
async fn add_project_alias(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = scope.key();
    in_project(&state, "POST", &uri, &headers, Some(&body), (team.clone(), &id_or_name), |s, project| {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct AliasBody {
            domain: String,
            target: Option<String>,
        }
        let body: AliasBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if body.target.as_deref().is_some_and(|t| t != "PRODUCTION" && t != "PREVIEW") {
            return bad_request("Invalid request: `target` must be PRODUCTION or PREVIEW");
        }
        let name = normalize(&body.domain);
        if let Some(holder) = s.project_domains.iter().find(|d| d.name == name).map(|d| d.project_id.clone()) {
            let holder = s.projects.iter().find(|(_, p)| p["id"] == holder.as_str()).map(|(_, p)| p.clone());
            let (id, project_name) = holder.map(|p| (p["id"].clone(), p["name"].clone())).unwrap_or_default();
            let body = json!({ "error": {
                "code": "ALIAS_DOMAIN_EXIST", "message": format!("The domain {name} is already assigned to a project"),
                "project": { "id": id, "name": project_name },
            }});
            return (StatusCode::CONFLICT, Json(body)).into_response();
        }
        let add = AddProjectDomainBody {
            name: body.domain,
            git_branch: None,
            custom_environment_id: None,
            redirect: None,
            redirect_status_code: None,
        };
        if let Err(refusal) = add_to_project(s, &team, project.clone(), add) {
            return refusal;
        }
        let aliases: Vec<Value> = s
            .project_domains
            .iter()
            .filter(|d| d.project_id == project && d.git_branch.is_none() && d.custom_environment_id.is_none())
            .map(|d| json!({ "domain": d.name, "target": "PRODUCTION", "redirect": d.redirect, "createdAt": d.created_at }))
            .collect();
        Json(aliases).into_response()
    })
    .await
}

#[derive(Deserialize)]
struct ProjectDomainsQuery {
    verified: Option<bool>,
    redirects: Option<bool>,
    limit: Option<u32>,
}

async fn list_project_domains(
    State(state): State<Shared>,
    Path(id_or_name): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    SimQuery(filter): SimQuery<ProjectDomainsQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        if filter.limit.is_some_and(|l| !(1..=100).contains(&l)) {
            return bad_request("Invalid request: `limit` must be between 1 and 100");
        }
        let domains: Vec<Value> = s
            .project_domains
            .iter()
            .filter(|d| d.project_id == project)
            .filter(|d| filter.verified.is_none_or(|v| d.verified == v))
            .filter(|d| filter.redirects.is_none_or(|r| r || d.redirect.is_none()))
            .take(filter.limit.unwrap_or(20) as usize)
            .map(ProjectDomain::json)
            .collect();
        let count = domains.len();
        Json(json!({ "domains": domains, "pagination": { "count": count, "next": null, "prev": null } }))
            .into_response()
    })
    .await
}

fn domain_not_found(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", &format!("The domain {name} was not found on this project"))
}

async fn get_project_domain(
    State(state): State<Shared>,
    Path((id_or_name, domain)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    in_project(&state, "GET", &uri, &headers, None, (scope.key(), &id_or_name), |s, project| {
        match s.project_domain(&project, &domain) {
            Some(index) => Json(s.project_domains[index].json()).into_response(),
            None => domain_not_found(&domain),
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateProjectDomainBody {
    git_branch: Option<String>,
    redirect: Option<String>,
    #[serde(default, deserialize_with = "nullable_u16")]
    redirect_status_code: Option<Option<u16>>,
}

async fn update_project_domain(
    State(state): State<Shared>,
    Path((id_or_name, domain)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    in_project(&state, "PATCH", &uri, &headers, Some(&body), (scope.key(), &id_or_name), |s, project| {
        let body: UpdateProjectDomainBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let status = match redirect_status(&body.redirect_status_code) {
            Ok(code) => code,
            Err(refusal) => return refusal,
        };
        let Some(index) = s.project_domain(&project, &domain) else { return domain_not_found(&domain) };
        if let Some(target) = &body.redirect {
            match to_ascii_domain(target) {
                Ok(target) if target == s.project_domains[index].name => {
                    return bad_request("A domain cannot redirect to itself");
                }
                Ok(target) if s.project_domain(&project, &target).is_none() => {
                    return bad_request("The domain redirect is not valid: it must be a domain of this project");
                }
                Ok(_) => {}
                Err(rule) => return bad_request(&format!("The domain redirect is not valid: {rule}")),
            }
        }
        let entry = &mut s.project_domains[index];
        if body.git_branch.is_some() && (body.redirect.is_some() || entry.redirect.is_some()) {
            return bad_request("You can't set both a git branch and a redirect for the domain");
        }
        if let Some(target) = body.redirect {
            entry.redirect = Some(normalize(&target));
            entry.redirect_status = status.or(Some(307));
        } else if body.redirect_status_code.is_some() {
            entry.redirect_status = status;
        }
        if body.git_branch.is_some() {
            entry.git_branch = body.git_branch;
        }
        entry.updated_at = now_ms();
        Json(entry.json()).into_response()
    })
    .await
}

async fn remove_project_domain(
    State(state): State<Shared>,
    Path((id_or_name, domain)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body = Some(body).filter(|b| !b.trim().is_empty());
    in_project(&state, "DELETE", &uri, &headers, body.as_deref(), (scope.key(), &id_or_name), |s, project| {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct RemoveBody {
            remove_redirects: Option<bool>,
        }
        let remove_redirects = match body.as_deref().map(parse_body::<RemoveBody>) {
            Some(Ok(body)) => body.remove_redirects.unwrap_or(false),
            Some(Err(refusal)) => return refusal,
            None => false,
        };
        let Some(index) = s.project_domain(&project, &domain) else { return domain_not_found(&domain) };
        let removed = s.project_domains.remove(index);
        let redirecting = |d: &ProjectDomain| d.project_id == project && d.redirect.as_deref() == Some(&removed.name);
        if remove_redirects {
            s.project_domains.retain(|d| !redirecting(d));
        } else if s.project_domains.iter().any(redirecting) {
            let name = removed.name.clone();
            s.project_domains.insert(index, removed);
            return bad_request(&format!("Other domains redirect to {name}; remove them first or set removeRedirects"));
        }
        s.refresh_edge_answers();
        Json(json!({})).into_response()
    })
    .await
}

async fn verify_project_domain(
    State(state): State<Shared>,
    Path((id_or_name, domain)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    in_project(&state, "POST", &uri, &headers, None, (team.clone(), &id_or_name), |s, project| {
        let Some(index) = s.project_domain(&project, &domain) else {
            return bad_request("Project domain is not assigned to project");
        };
        let entry = &s.project_domains[index];
        if !entry.verified {
            if !s.ownership_proven(&team, &entry.apex, &entry.challenge) {
                let published = s.dns.lookup(&format!("_vercel.{}", entry.apex), "TXT");
                let attempts = published.iter().any(|v| v.starts_with(&format!("vc-domain-verify={},", entry.name)));
                let (code, message) = if attempts {
                    (
                        "incorrect_txt_record",
                        "The TXT record on the domain does not match the expected challenge for the project domain",
                    )
                } else {
                    (
                        "missing_txt_record",
                        "The domain does not have a TXT record that attempts to verify the project domain",
                    )
                };
                return error(StatusCode::BAD_REQUEST, code, message);
            }
            let entry = &mut s.project_domains[index];
            entry.verified = true;
            entry.updated_at = now_ms();
        }
        let mut answer = s.project_domains[index].json();
        answer.as_object_mut().unwrap().remove("verification");
        Json(answer).into_response()
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // fields exist to be validated
struct AddDomainBody {
    name: String,
    method: Option<String>,
    zone: Option<bool>,
    #[serde(rename = "cdnEnabled")]
    cdn_enabled: Option<bool>,
    token: Option<String>,
    #[serde(rename = "authCode")]
    auth_code: Option<String>,
    #[serde(rename = "expectedPrice")]
    expected_price: Option<f64>,
}

fn domain_json(state: &SimState, domain: &TeamDomain) -> Value {
    let at_vercel = state.dns.authority(&domain.name).map(|(_, p)| p) == Some(DnsProvider::Vercel);
    let nameservers = if at_vercel { DnsProvider::Vercel.nameservers() } else { DnsProvider::Cloudflare.nameservers() };
    json!({
        "id": domain.id, "name": domain.name, "verified": at_vercel, "suffix": false,
        "serviceType": if at_vercel { "zeit.world" } else { "external" },
        "nameservers": nameservers, "intendedNameservers": DnsProvider::Vercel.nameservers(), "customNameservers": [],
        "creator": { "id": super::USER_ID, "username": "slipway-sandbox", "email": "sandbox@slipway.test" },
        "userId": super::USER_ID, "teamId": domain.team, "boughtAt": null, "createdAt": domain.created_at,
        "expiresAt": null, "renew": false, "transferredAt": null,
        // Not in the saved spec; the API sends it today and the current SDK refuses a domain
        // without it. `auto` leaves Encrypted Client Hello to Vercel, the default.
        "echMode": "auto",
    })
}

fn team_domain(state: &SimState, team: &Option<String>, name: &str) -> Option<usize> {
    let name = normalize(name);
    state.team_domains.iter().position(|d| d.team == *team && d.name == name)
}

async fn add_domain(
    State(state): State<Shared>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = scope.key();
    guarded(&state, "POST", &uri, &headers, Some(&body), |s| {
        let body: AddDomainBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        match body.method.as_deref() {
            None | Some("add") if body.token.is_none() && body.auth_code.is_none() => {}
            Some("move-in") | Some("transfer-in") => {
                return bad_request("Moving or transferring domains in is not simulated; use method \"add\"");
            }
            _ => return bad_request("Invalid request: `method` must be add, move-in or transfer-in with its fields"),
        }
        let name = match invalid_domain(&body.name) {
            Ok(name) => name,
            Err(refusal) => return refusal,
        };
        if name != apex_of(&name) {
            return bad_request("Invalid request: only apex domains can be added; subdomains belong on projects");
        }
        if team_domain(s, &team, &name).is_some() {
            return error(StatusCode::CONFLICT, "domain_already_exists", "The domain already exists in this account");
        }
        // Without another DNS provider answering for it, the sandbox assumes the nameservers
        // were pointed at Vercel, so Vercel DNS serves the zone.
        s.dns.claim_zone(&name, DnsProvider::Vercel);
        // Vercel DNS's own CAA, so Let's Encrypt may issue for the zone (a user's CAA wins).
        s.dns.publish(DnsRecord {
            provider: DnsProvider::Vercel,
            id: format!("system-caa-{name}"),
            name: name.clone(),
            record_type: "CAA".into(),
            value: "0 issue \"letsencrypt.org\"".into(),
            ttl: 60,
            system: true,
        });
        let domain =
            TeamDomain { team: team.clone(), id: format!("dom_sim{:016}", s.next()), name, created_at: now_ms() };
        let answer = domain_json(s, &domain);
        s.team_domains.push(domain);
        Json(json!({ "domain": answer })).into_response()
    })
    .await
}

async fn list_domains(
    State(state): State<Shared>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let domains: Vec<Value> = s.team_domains.iter().filter(|d| d.team == team).map(|d| domain_json(s, d)).collect();
        let count = domains.len();
        Json(json!({ "domains": domains, "pagination": { "count": count, "next": null, "prev": null } }))
            .into_response()
    })
    .await
}

fn no_such_domain(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", &format!("Domain {name} not found"))
}

async fn get_domain(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "GET", &uri, &headers, None, |s| match team_domain(s, &team, &domain) {
        Some(index) => Json(json!({ "domain": domain_json(s, &s.team_domains[index]) })).into_response(),
        None => no_such_domain(&domain),
    })
    .await
}

async fn delete_domain(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "DELETE", &uri, &headers, None, |s| {
        let Some(index) = team_domain(s, &team, &domain) else { return no_such_domain(&domain) };
        let removed = s.team_domains.remove(index);
        for record in s.records.iter().filter(|r| r.domain == removed.name) {
            s.dns.withdraw(DnsProvider::Vercel, &record.id);
        }
        s.records.retain(|r| r.domain != removed.name);
        s.dns.withdraw(DnsProvider::Vercel, &format!("system-caa-{}", removed.name));
        s.dns.release_zone(&removed.name, DnsProvider::Vercel);
        Json(json!({ "uid": removed.id })).into_response()
    })
    .await
}

/// Whether `name` resolves where Vercel wants it, and through which record type.
fn configured_by(state: &SimState, name: &str) -> Option<&'static str> {
    if state.dns.authority(name).map(|(_, p)| p) == Some(DnsProvider::Vercel) {
        // Vercel DNS answers for its own zones with the right records.
        return Some(if apex_of(name) == name { "A" } else { "CNAME" });
    }
    let cname_ok = state.dns.lookup(name, "CNAME").iter().any(|v| normalize(v) == normalize(RECOMMENDED_CNAME));
    if cname_ok && apex_of(name) != name {
        return Some("CNAME");
    }
    state.dns.lookup(name, "A").contains(&state.edge_ipv4).then_some("A")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // accepted as the spec allows; the simulated check is the same either way
struct ConfigQuery {
    project_id_or_name: Option<String>,
    strict: Option<String>,
}

async fn domain_config(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    SimQuery(_query): SimQuery<ConfigQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let name = match invalid_domain(&domain) {
            Ok(name) => name,
            Err(refusal) => return refusal,
        };
        let configured = configured_by(s, &name);
        Json(json!({
            "configuredBy": configured, "acceptedChallenges": ["dns-01", "http-01"],
            "recommendedIPv4": [{ "rank": 1, "value": [s.edge_ipv4] }],
            "recommendedCNAME": [{ "rank": 1, "value": RECOMMENDED_CNAME }],
            "misconfigured": configured.is_none(),
        }))
        .into_response()
    })
    .await
}

const RECORD_TYPES: &[&str] = &["A", "AAAA", "ALIAS", "CAA", "CNAME", "HTTPS", "MX", "SRV", "TXT", "NS"];

/// A record body, every type's fields together; `check` applies the per-type schema.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordBody {
    #[serde(rename = "type")]
    record_type: Option<String>,
    name: Option<String>,
    value: Option<String>,
    ttl: Option<f64>,
    mx_priority: Option<f64>,
    comment: Option<String>,
    srv: Option<Value>,
    https: Option<Value>,
}

impl RecordBody {
    /// The rule the body breaks for its type, if any. `creating` requires what a create does.
    fn check(&self, creating: bool) -> Result<(), String> {
        let record_type = match (&self.record_type, creating) {
            (Some(t), _) if RECORD_TYPES.contains(&t.as_str()) => t.as_str(),
            (Some(_), _) => return Err(format!("`type` must be one of {}", RECORD_TYPES.join(", "))),
            (None, true) => return Err("missing required `type`".into()),
            (None, false) => "",
        };
        if creating && self.name.is_none() {
            return Err("missing required `name`".into());
        }
        let needs_value = !matches!(record_type, "CNAME" | "NS" | "SRV" | "HTTPS" | "");
        if creating && needs_value && self.value.as_deref().is_none_or(str::is_empty) {
            return Err(format!("missing required `value` for a {record_type} record"));
        }
        if self.ttl.is_some_and(|ttl| !(60.0..=2_147_483_647.0).contains(&ttl)) {
            return Err("`ttl` must be between 60 and 2147483647".into());
        }
        if self.comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
            return Err("`comment` must be at most 500 characters".into());
        }
        let wrong_extra = (self.mx_priority.is_some() && !matches!(record_type, "MX" | ""))
            || (self.srv.is_some() && !matches!(record_type, "SRV" | ""))
            || (self.https.is_some() && !matches!(record_type, "HTTPS" | ""));
        if wrong_extra {
            return Err(format!("a {record_type} record takes no `mxPriority`, `srv` or `https`"));
        }
        if creating && record_type == "MX" && self.mx_priority.is_none() {
            return Err("missing required `mxPriority` for an MX record".into());
        }
        if self.mx_priority.is_some_and(|p| !(0.0..=65_535.0).contains(&p)) {
            return Err("`mxPriority` must be between 0 and 65535".into());
        }
        if creating && record_type == "SRV" && self.srv.is_none() {
            return Err("missing required `srv` for an SRV record".into());
        }
        if creating && record_type == "HTTPS" && self.https.is_none() {
            return Err("missing required `https` for an HTTPS record".into());
        }
        let value = self.value.as_deref().unwrap_or_default();
        match record_type {
            "A" if self.value.is_some() && value.parse::<std::net::Ipv4Addr>().is_err() => {
                Err("`value` of an A record must be an IPv4 address".into())
            }
            "AAAA" if self.value.is_some() && value.parse::<std::net::Ipv6Addr>().is_err() => {
                Err("`value` of an AAAA record must be an IPv6 address".into())
            }
            _ => Ok(()),
        }
    }
}

async fn list_records(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "GET", &uri, &headers, None, |s| {
        if team_domain(s, &team, &domain).is_none() {
            return no_such_domain(&domain);
        }
        let domain = normalize(&domain);
        let records: Vec<Value> =
            s.records.iter().filter(|r| r.team == team && r.domain == domain).map(VercelRecord::json).collect();
        let count = records.len();
        Json(json!({ "records": records, "pagination": { "count": count, "next": null, "prev": null } }))
            .into_response()
    })
    .await
}

async fn create_record(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = scope.key();
    guarded(&state, "POST", &uri, &headers, Some(&body), |s| {
        let body: RecordBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if let Err(rule) = body.check(true) {
            return bad_request(&format!("Invalid request: {rule}"));
        }
        let Some(index) = team_domain(s, &team, &domain) else { return no_such_domain(&domain) };
        let domain = s.team_domains[index].name.clone();
        let name = normalize(body.name.as_deref().unwrap_or_default());
        let name = name.strip_suffix(&format!(".{domain}")).map(str::to_string).unwrap_or(name);
        let name = if name == domain || name == "@" { String::new() } else { name };
        let record_type = body.record_type.unwrap_or_default();
        let value = body.value.unwrap_or_default();
        if s.records
            .iter()
            .any(|r| r.domain == domain && r.name == name && r.record_type == record_type && r.value == value)
        {
            return error(StatusCode::CONFLICT, "record_already_exists", "An identical record already exists");
        }
        let now = now_ms();
        let record = VercelRecord {
            team,
            id: format!("rec_sim{:016}", s.next()),
            domain,
            name,
            record_type,
            value,
            ttl: body.ttl.map(|t| t as u64).unwrap_or(60),
            mx_priority: body.mx_priority.map(|p| p as u64),
            comment: body.comment,
            created_at: now,
            updated_at: now,
        };
        record.publish(s);
        let uid = record.id.clone();
        s.records.push(record);
        Json(json!({ "uid": uid })).into_response()
    })
    .await
}

async fn update_record(
    State(state): State<Shared>,
    Path(record_id): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let team = scope.key();
    guarded(&state, "PATCH", &uri, &headers, Some(&body), |s| {
        let body: RecordBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        if let Err(rule) = body.check(false) {
            return bad_request(&format!("Invalid request: {rule}"));
        }
        let Some(index) = s.records.iter().position(|r| r.team == team && r.id == record_id) else {
            return error(StatusCode::NOT_FOUND, "not_found", "DNS record not found");
        };
        let record = &mut s.records[index];
        if let Some(name) = body.name {
            record.name = normalize(&name);
        }
        if let Some(record_type) = body.record_type {
            record.record_type = record_type;
        }
        if let Some(value) = body.value {
            record.value = value;
        }
        if let Some(ttl) = body.ttl {
            record.ttl = ttl as u64;
        }
        if let Some(priority) = body.mx_priority {
            record.mx_priority = Some(priority as u64);
        }
        if let Some(comment) = body.comment {
            record.comment = Some(comment);
        }
        record.updated_at = now_ms();
        let answer = json!({
            "id": record.id, "domain": record.domain, "name": record.name, "recordType": record.record_type,
            "type": "record", "value": record.value, "ttl": record.ttl, "creator": super::USER_ID,
            "createdAt": record.created_at, "comment": record.comment,
        });
        s.records[index].publish(s);
        Json(answer).into_response()
    })
    .await
}

/// `GET /v5/domains/records/{id}`: one record of the scope's domains.
async fn get_record(
    State(state): State<Shared>,
    Path(record_id): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "GET", &uri, &headers, None, |s| {
        match s.records.iter().find(|r| r.team == team && r.id == record_id) {
            Some(record) => {
                let mut answer = record.json();
                answer["domain"] = json!(record.domain);
                Json(answer).into_response()
            }
            None => error(StatusCode::NOT_FOUND, "not_found", "DNS record not found"),
        }
    })
    .await
}

/// `GET /v1/domains/{domain}/project-domains`: where the domain and its subdomains are used,
/// across the scope's projects.
async fn domain_project_domains(
    State(state): State<Shared>,
    Path(domain): Path<String>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "GET", &uri, &headers, None, |s| {
        let apex = normalize(&domain);
        let in_scope =
            |d: &&ProjectDomain| s.projects.iter().any(|(t, p)| *t == team && p["id"] == d.project_id.as_str());
        let used: Vec<Value> =
            s.project_domains.iter().filter(|d| d.apex == apex).filter(in_scope).map(ProjectDomain::json).collect();
        let count = used.len();
        Json(json!({ "projectDomains": used, "pagination": { "count": count, "next": null, "prev": null } }))
            .into_response()
    })
    .await
}

async fn delete_record(
    State(state): State<Shared>,
    Path((domain, record_id)): Path<(String, String)>,
    SimQuery(scope): SimQuery<Scope>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let team = scope.key();
    guarded(&state, "DELETE", &uri, &headers, None, |s| {
        let domain = normalize(&domain);
        let Some(index) = s.records.iter().position(|r| r.team == team && r.domain == domain && r.id == record_id)
        else {
            return error(StatusCode::NOT_FOUND, "not_found", "DNS record not found");
        };
        let removed = s.records.remove(index);
        s.dns.withdraw(DnsProvider::Vercel, &removed.id);
        Json(json!({})).into_response()
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueCertBody {
    cns: Option<Vec<String>>,
}

async fn issue_cert(State(state): State<Shared>, uri: Uri, headers: HeaderMap, body: String) -> Response {
    guarded(&state, "POST", &uri, &headers, Some(&body), |s| {
        let body: IssueCertBody = match parse_body(&body) {
            Ok(body) => body,
            Err(refusal) => return refusal,
        };
        let cns = body.cns.unwrap_or_default();
        if cns.is_empty() {
            return bad_request("Invalid request: `cns` must name at least one domain");
        }
        let mut names = Vec::new();
        for cn in &cns {
            match invalid_domain(cn) {
                Ok(name) if configured_by(s, &name).is_none() => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "misconfigured_domain",
                        &format!("The domain {name} does not point to Vercel yet, so no certificate can be issued"),
                    );
                }
                Ok(name) => names.push(name),
                Err(refusal) => return refusal,
            }
        }
        let now = now_ms();
        let cert = json!({
            "id": format!("cert_sim{:016}", s.next()), "createdAt": now,
            "expiresAt": now + 90 * 24 * 3600 * 1000, "autoRenew": true, "cns": names,
        });
        s.certs.push(cert.clone());
        Json(cert).into_response()
    })
    .await
}

async fn get_cert(State(state): State<Shared>, Path(id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    guarded(&state, "GET", &uri, &headers, None, |s| match s.certs.iter().find(|c| c["id"] == id.as_str()) {
        Some(cert) => Json(cert.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "Certificate not found"),
    })
    .await
}

/// What Vercel's edge does with a request for `host`.
pub(super) enum EdgeRoute {
    /// The domain redirects to another of its project's domains.
    Redirect { to: String, status: u16 },
    /// The domain serves its project: production, or the custom environment it is attached to.
    Serve { project_id: String, custom_environment_id: Option<String> },
    /// A deployment's own URL: that deployment, whatever serves the project's domains.
    Deployment { id: String },
    /// No project has this domain.
    Unknown,
}

pub(super) fn edge_route(state: &SimState, host: &str) -> EdgeRoute {
    let host = normalize(host);
    match state.project_domains.iter().find(|d| d.name == host) {
        Some(ProjectDomain { redirect: Some(to), redirect_status, .. }) => {
            EdgeRoute::Redirect { to: to.clone(), status: redirect_status.unwrap_or(307) }
        }
        Some(domain) => EdgeRoute::Serve {
            project_id: domain.project_id.clone(),
            custom_environment_id: domain.custom_environment_id.clone(),
        },
        None => {
            let project =
                state.projects.iter().find(|(_, p)| p["name"].as_str().map(production_alias) == Some(host.clone()));
            match (project, state.deployments.iter().find(|d| d.url() == host)) {
                (Some((_, project)), _) => EdgeRoute::Serve {
                    project_id: project["id"].as_str().unwrap_or_default().to_string(),
                    custom_environment_id: None,
                },
                (None, Some(deployment)) => EdgeRoute::Deployment { id: deployment.id.clone() },
                (None, None) => EdgeRoute::Unknown,
            }
        }
    }
}

/// The newest certificate Vercel issued that covers `host`: its id and names.
pub(super) fn certificate_for(state: &SimState, host: &str) -> Option<(String, Vec<String>)> {
    let host = normalize(host);
    // Vercel's wildcard covers every deployment's own name.
    if host.strip_suffix(&format!(".{DEPLOYMENT_ZONE}")).is_some_and(|label| !label.contains('.')) {
        return Some(("wildcard-deployments".into(), vec![format!("*.{DEPLOYMENT_ZONE}")]));
    }
    state.certs.iter().rev().find_map(|cert| {
        let names: Vec<String> = cert["cns"].as_array()?.iter().filter_map(|n| n.as_str().map(String::from)).collect();
        names.contains(&host).then(|| (cert["id"].as_str().unwrap_or_default().to_string(), names))
    })
}
