//! Cloudflare DNS simulator (API v4 under `/client/v4`): zones and DNS records with
//! Cloudflare's envelope, its record rules, both auth schemes and the per-token rate limit.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dns::{DnsProvider, DnsRecord, SimDns};
use super::faults::{Fault, FaultPlan};
use super::{RateWindows, SimCommon, SimHandle};

#[derive(Debug, Clone)]
pub struct CloudflareSimConfig {
    /// Accepted as `Authorization: Bearer …`.
    pub token: String,
    /// Accepted as `X-Auth-Email` + `X-Auth-Key` (the legacy global key).
    pub email_and_key: Option<(String, String)>,
    pub faults: FaultPlan,
    /// Zones in the account, by name.
    pub zones: Vec<String>,
    /// Requests per 5 minutes per token (Cloudflare documents 1,200).
    pub rate_limit_per_5min: u32,
    /// The public DNS its zones are served in (share it with the Vercel simulator).
    pub dns: SimDns,
}

impl CloudflareSimConfig {
    pub fn new(token: &str) -> Self {
        CloudflareSimConfig {
            token: token.to_string(),
            email_and_key: None,
            faults: FaultPlan::default(),
            zones: vec!["example.com".into()],
            rate_limit_per_5min: 1200,
            dns: SimDns::default(),
        }
    }
}

struct SimZone {
    id: String,
    name: String,
    records: Vec<Value>,
}

impl super::HasCommon for SimState {
    fn common(&mut self) -> &mut SimCommon {
        &mut self.common
    }
}

struct SimState {
    common: SimCommon,
    config: CloudflareSimConfig,
    zones: Vec<SimZone>,
    /// One window per token (the documented budget is cumulative per user).
    windows: RateWindows,
}

#[derive(Clone)]
pub struct CloudflareSim {
    state: Arc<Mutex<SimState>>,
    handle: SimHandle,
}

impl std::ops::Deref for CloudflareSim {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

type Shared = Arc<Mutex<SimState>>;

fn new_id() -> String {
    let mut rng = rand::thread_rng();
    (0..32).map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap()).collect()
}

impl CloudflareSim {
    pub async fn start(config: CloudflareSimConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: CloudflareSimConfig) -> std::io::Result<Self> {
        for zone in &config.zones {
            config.dns.claim_zone(zone, DnsProvider::Cloudflare);
        }
        let zones =
            config.zones.iter().map(|name| SimZone { id: new_id(), name: name.clone(), records: Vec::new() }).collect();
        let state = Arc::new(Mutex::new(SimState {
            common: SimCommon::new(&config.token, config.faults.clone()),
            config,
            zones,
            windows: RateWindows::default(),
        }));
        let api = Router::new()
            .route("/zones", get(list_zones))
            .route("/zones/{zone_id}", get(get_zone))
            .route("/zones/{zone_id}/dns_records", get(list_records).post(create_record))
            .route("/zones/{zone_id}/dns_records/{record_id}", get(get_record).put(put_record).delete(delete_record))
            .fallback(unknown_endpoint)
            .with_state(state.clone());
        let router = Router::new().nest("/client/v4", api);
        let handle = state.lock().unwrap().common.serve(router, addr);
        let handle = handle.await?;
        Ok(CloudflareSim { state, handle })
    }

    /// The API base, including `/client/v4`.
    pub fn base_url(&self) -> String {
        format!("{}/client/v4", self.handle.base_url())
    }

    pub fn zone_id(&self, name: &str) -> Option<String> {
        self.state.lock().unwrap().zones.iter().find(|z| z.name == name).map(|z| z.id.clone())
    }

    /// The records of a zone, as the API returns them.
    pub fn records(&self, zone: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.zones.iter().find(|z| z.name == zone).map(|z| z.records.clone()).unwrap_or_default()
    }
}

fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    let body =
        json!({ "success": false, "errors": [{ "code": code, "message": message }], "messages": [], "result": null });
    (status, Json(body)).into_response()
}

fn success(result: Value) -> Response {
    Json(json!({ "success": true, "errors": [], "messages": [], "result": result })).into_response()
}

fn admit(state: &mut SimState, headers: &HeaderMap) -> Result<(), Response> {
    let by_key = state.config.email_and_key.as_ref().is_some_and(|(email, key)| {
        headers.get("x-auth-email").and_then(|v| v.to_str().ok()) == Some(email.as_str())
            && headers.get("x-auth-key").and_then(|v| v.to_str().ok()) == Some(key.as_str())
    });
    if !by_key && !state.common.authorized(headers) {
        return Err(failure(StatusCode::FORBIDDEN, 10000, "Authentication error"));
    }
    let counted = state.windows.count("token", Duration::from_secs(300));
    let fault = if counted.count > state.config.rate_limit_per_5min {
        Some(Fault::RateLimited { retry_after_secs: counted.resets_in_secs })
    } else {
        state.common.draw_fault()
    };
    match fault {
        // Connection faults never reach the handler (see `fault_layer`).
        None | Some(Fault::Dropped { .. } | Fault::TimedOut) => Ok(()),
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut response = failure(
                StatusCode::TOO_MANY_REQUESTS,
                10429,
                "Rate limited. Please wait and consider throttling your request speed",
            );
            response.headers_mut().insert("retry-after", HeaderValue::from(retry_after_secs));
            Err(response)
        }
        Some(Fault::ServerError(status)) => Err(failure(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            10001,
            "Internal server error",
        )),
    }
}

async fn respond(
    state: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&str>,
    handle: impl FnOnce(&mut SimState) -> Response,
) -> Response {
    let response = {
        let mut guard = state.lock().unwrap();
        match admit(&mut guard, headers) {
            Err(refusal) => refusal,
            Ok(()) => handle(&mut guard),
        }
    };
    super::deliver(state, method, uri, body, response).await
}

fn timestamp() -> String {
    format!("{}.000000Z", super::supabase::rfc3339_now().trim_end_matches('Z'))
}

fn zone_json(zone: &SimZone) -> Value {
    let now = timestamp();
    json!({
        "id": zone.id, "name": zone.name, "status": "active", "paused": false, "type": "full",
        "development_mode": 0, "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": [], "original_registrar": null, "original_dnshost": null,
        "owner": { "id": "fedcba9876543210fedcba9876543210", "type": "user", "email": "owner@example.com" },
        "account": { "id": "0123456789abcdef0123456789abcdef", "name": "Simulated account" },
        "meta": { "step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false },
        "created_on": now, "modified_on": now, "activated_on": now,
    })
}

#[derive(Deserialize)]
struct ZoneQuery {
    name: Option<String>,
    page: Option<f64>,
    per_page: Option<f64>,
}

async fn list_zones(
    State(state): State<Shared>,
    Query(query): Query<ZoneQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, None, |s| {
        let page = query.page.unwrap_or(1.0);
        let per_page = query.per_page.unwrap_or(20.0);
        if page < 1.0 || !(5.0..=50.0).contains(&per_page) {
            return failure(StatusCode::BAD_REQUEST, 1001, "page must be >= 1 and per_page between 5 and 50");
        }
        let zones: Vec<Value> =
            s.zones.iter().filter(|z| query.name.as_ref().is_none_or(|n| *n == z.name)).map(zone_json).collect();
        let count = zones.len();
        Json(json!({ "success": true, "errors": [], "messages": [], "result": zones,
            "result_info": { "page": page as u64, "per_page": per_page as u64, "count": count, "total_count": count, "total_pages": 1 } }))
        .into_response()
    })
    .await
}

async fn get_zone(State(state): State<Shared>, Path(zone_id): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, "GET", &uri, &headers, None, |s| match zone_mut(s, &zone_id) {
        Ok(zone) => success(zone_json(zone)),
        Err(refusal) => refusal,
    })
    .await
}

/// Makes a record resolvable in the simulated public DNS.
fn publish(dns: &SimDns, record: &Value) {
    let text = |key: &str| record[key].as_str().unwrap_or_default().to_string();
    dns.publish(DnsRecord {
        provider: DnsProvider::Cloudflare,
        id: text("id"),
        name: text("name"),
        record_type: text("type"),
        value: text("content"),
    });
}

#[derive(Deserialize)]
struct RecordQuery {
    name: Option<String>,
    #[serde(rename = "type")]
    record_type: Option<String>,
    page: Option<f64>,
    per_page: Option<f64>,
}

fn zone_mut<'a>(state: &'a mut SimState, zone_id: &str) -> Result<&'a mut SimZone, Response> {
    state.zones.iter_mut().find(|z| z.id == zone_id).ok_or_else(|| {
        failure(StatusCode::NOT_FOUND, 7003, "Could not route to /zones, perhaps your object identifier is invalid?")
    })
}

async fn list_records(
    State(state): State<Shared>,
    Path(zone_id): Path<String>,
    Query(query): Query<RecordQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, None, |s| {
        let page = query.page.unwrap_or(1.0);
        let per_page = query.per_page.unwrap_or(100.0);
        if page < 1.0 || !(1.0..=5_000_000.0).contains(&per_page) {
            return failure(StatusCode::BAD_REQUEST, 1004, "page must be >= 1 and per_page between 1 and 5000000");
        }
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        let matching: Vec<&Value> = zone
            .records
            .iter()
            .filter(|r| query.name.as_ref().is_none_or(|n| r["name"] == n.as_str()))
            .filter(|r| query.record_type.as_ref().is_none_or(|t| r["type"] == t.as_str()))
            .collect();
        let (page_n, per) = (page as usize, per_page as usize);
        let slice: Vec<Value> = matching.iter().skip((page_n - 1) * per).take(per).map(|r| (*r).clone()).collect();
        let body = json!({ "success": true, "errors": [], "messages": [], "result": slice,
            "result_info": { "page": page_n, "per_page": per, "count": slice.len(), "total_count": matching.len(),
                             "total_pages": matching.len().div_ceil(per.max(1)) } });
        Json(body).into_response()
    })
    .await
}

/// A create/replace body: the fields every record type shares, checked per type.
#[derive(Debug, Deserialize)]
struct RecordBody {
    #[serde(rename = "type")]
    record_type: String,
    name: String,
    content: String,
    #[serde(default)]
    ttl: Option<f64>,
    #[serde(default)]
    proxied: Option<bool>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    priority: Option<f64>,
}

const RECORD_TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS", "PTR", "SMIMEA", "SRV",
    "SSHFP", "SVCB", "TLSA", "TXT", "URI",
];

/// The record as stored, or (code, message) as Cloudflare would refuse it.
fn checked_record(zone: &SimZone, body: &str, replacing: Option<&str>) -> Result<Value, (i64, String)> {
    let body: RecordBody = serde_json::from_str(body).map_err(|e| (9207, format!("Request body is invalid: {e}")))?;
    if !RECORD_TYPES.contains(&body.record_type.as_str()) {
        return Err((9000, format!("DNS record type \"{}\" is invalid", body.record_type)));
    }
    let name = if body.name == "@" { zone.name.clone() } else { body.name.trim_end_matches('.').to_ascii_lowercase() };
    if !(name == zone.name || name.ends_with(&format!(".{}", zone.name))) || name.len() > 255 {
        return Err((9007, format!("Record name must be within the zone {}", zone.name)));
    }
    let ttl = body.ttl.unwrap_or(1.0);
    if ttl != 1.0 && !(30.0..=86_400.0).contains(&ttl) {
        return Err((9021, "Invalid TTL. Must be between 60 and 86,400 seconds, or 1 for Automatic.".into()));
    }
    let proxied = body.proxied.unwrap_or(false);
    if proxied && !matches!(body.record_type.as_str(), "A" | "AAAA" | "CNAME") {
        return Err((9004, "This record type cannot be proxied.".into()));
    }
    let content_ok = match body.record_type.as_str() {
        "A" => body.content.parse::<Ipv4Addr>().is_ok(),
        "AAAA" => body.content.parse::<Ipv6Addr>().is_ok(),
        "CNAME" => !body.content.is_empty() && !body.content.eq_ignore_ascii_case(&name),
        _ => !body.content.is_empty(),
    };
    if !content_ok {
        return Err((9005, format!("Content for {} record is invalid.", body.record_type)));
    }
    let others = zone.records.iter().filter(|r| Some(r["id"].as_str().unwrap_or_default()) != replacing);
    for other in others {
        let same_name = other["name"] == name.as_str();
        let address_like = |t: &str| matches!(t, "A" | "AAAA" | "CNAME");
        let other_type = other["type"].as_str().unwrap_or_default();
        if same_name && other_type == body.record_type && other["content"] == body.content.as_str() {
            return Err((81058, "An identical record already exists.".into()));
        }
        if same_name
            && address_like(other_type)
            && address_like(&body.record_type)
            && (other_type == "CNAME" || body.record_type == "CNAME")
        {
            return Err((81053, "An A, AAAA, or CNAME record with that host already exists.".into()));
        }
    }
    let now = timestamp();
    let mut record = json!({
        "id": replacing.map(str::to_string).unwrap_or_else(new_id), "zone_id": zone.id, "zone_name": zone.name,
        "name": name, "type": body.record_type, "content": body.content, "proxiable": matches!(body.record_type.as_str(), "A" | "AAAA" | "CNAME"),
        "proxied": proxied, "ttl": ttl as u32, "locked": false, "meta": { "auto_added": false, "source": "primary" },
        "comment": body.comment, "tags": body.tags.unwrap_or_default(), "created_on": now, "modified_on": now,
    });
    if let Some(priority) = body.priority {
        record["priority"] = json!(priority);
    }
    Ok(record)
}

async fn create_record(
    State(state): State<Shared>,
    Path(zone_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "POST", &uri, &headers, Some(&body), |s| {
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        match checked_record(zone, &body, None) {
            Ok(record) => {
                zone.records.push(record.clone());
                publish(&s.config.dns, &record);
                success(record)
            }
            Err((code, message)) => failure(StatusCode::BAD_REQUEST, code, &message),
        }
    })
    .await
}

async fn get_record(
    State(state): State<Shared>,
    Path((zone_id, record_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, None, |s| {
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        match zone.records.iter().find(|r| r["id"] == record_id.as_str()) {
            Some(record) => success(record.clone()),
            None => failure(StatusCode::NOT_FOUND, 81044, "Record does not exist."),
        }
    })
    .await
}

async fn put_record(
    State(state): State<Shared>,
    Path((zone_id, record_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "PUT", &uri, &headers, Some(&body), |s| {
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        let Some(index) = zone.records.iter().position(|r| r["id"] == record_id.as_str()) else {
            return failure(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
        };
        match checked_record(zone, &body, Some(&record_id)) {
            Ok(mut record) => {
                record["created_on"] = zone.records[index]["created_on"].clone();
                zone.records[index] = record.clone();
                publish(&s.config.dns, &record);
                success(record)
            }
            Err((code, message)) => failure(StatusCode::BAD_REQUEST, code, &message),
        }
    })
    .await
}

async fn delete_record(
    State(state): State<Shared>,
    Path((zone_id, record_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "DELETE", &uri, &headers, None, |s| {
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        let before = zone.records.len();
        zone.records.retain(|r| r["id"] != record_id.as_str());
        if zone.records.len() == before {
            return failure(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
        }
        s.config.dns.withdraw(DnsProvider::Cloudflare, &record_id);
        success(json!({ "id": record_id }))
    })
    .await
}

async fn unknown_endpoint(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    respond(&state, method.as_str(), &uri, &headers, None, |_| {
        failure(StatusCode::NOT_FOUND, 7000, "No route for that URI")
    })
    .await
}
