//! Cloudflare DNS simulator (API v4 under `/client/v4`): zones and DNS records with
//! Cloudflare's envelope, its record rules, both auth schemes and the per-token rate limit.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dns::{DnsProvider, DnsRecord, SimDns};
use super::faults::{Fault, FaultPlan};
use super::{RateWindows, SimCommon, SimHandle, SimQuery};

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

impl super::VendorErrors for SimState {
    fn invalid_query(message: &str) -> Response {
        failure(StatusCode::BAD_REQUEST, 1001, message)
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
            .route(
                "/zones/{zone_id}/dns_records/{record_id}",
                get(get_record).put(put_record).patch(patch_record).delete(delete_record),
            )
            .fallback(unknown_endpoint)
            .method_not_allowed_fallback(unknown_endpoint)
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
    SimQuery(query): SimQuery<ZoneQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, None, |s| {
        let page = query.page.unwrap_or(1.0);
        let per_page = query.per_page.unwrap_or(20.0);
        if page < 1.0 || !(5.0..=50.0).contains(&per_page) {
            return failure(StatusCode::BAD_REQUEST, 1001, "page must be >= 1 and per_page between 5 and 50");
        }
        let zones: Vec<&SimZone> =
            s.zones.iter().filter(|z| query.name.as_ref().is_none_or(|n| *n == z.name)).collect();
        // One page of them, and `[]` past the last: the official SDK pages on until an empty
        // page (it never reads `result_info`), so answering every zone on every page would
        // never end its listing.
        let (page, per_page) = (page as usize, per_page as usize);
        let slice: Vec<Value> = zones.iter().skip((page - 1) * per_page).take(per_page).map(|z| zone_json(z)).collect();
        Json(json!({ "success": true, "errors": [], "messages": [], "result": slice,
            "result_info": { "page": page, "per_page": per_page, "count": slice.len(), "total_count": zones.len(),
                             "total_pages": zones.len().div_ceil(per_page) } }))
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

/// Addresses of Cloudflare's proxy, which a proxied record resolves to instead of its content.
pub const PROXY_IPV4: &str = "104.21.48.1";
pub const PROXY_IPV6: &str = "2606:4700:3030::6815:3001";

/// Makes a record resolvable in the simulated public DNS. A proxied A, AAAA or CNAME answers
/// with Cloudflare's own addresses, as the real proxy does.
fn publish(dns: &SimDns, record: &Value) {
    let text = |key: &str| record[key].as_str().unwrap_or_default().to_string();
    let (record_type, value) = match (text("type").as_str(), record["proxied"] == true) {
        ("A" | "CNAME", true) => ("A".to_string(), PROXY_IPV4.to_string()),
        ("AAAA", true) => ("AAAA".to_string(), PROXY_IPV6.to_string()),
        _ => (text("type"), text("content")),
    };
    dns.publish(DnsRecord {
        provider: DnsProvider::Cloudflare,
        id: text("id"),
        name: text("name"),
        record_type,
        value,
        // 1 is Cloudflare's "automatic", which it serves as 300 s.
        ttl: match record["ttl"].as_u64() {
            Some(1) | None => 300,
            Some(ttl) => u32::try_from(ttl).unwrap_or(u32::MAX),
        },
        system: false,
    });
}

fn zone_mut<'a>(state: &'a mut SimState, zone_id: &str) -> Result<&'a mut SimZone, Response> {
    state.zones.iter_mut().find(|z| z.id == zone_id).ok_or_else(|| {
        failure(StatusCode::NOT_FOUND, 7003, "Could not route to /zones, perhaps your object identifier is invalid?")
    })
}

/// The query keys `GET …/dns_records` takes. The saved spec lists `name`, `content`, `type`,
/// `proxied`, the `comment.*` and `tag.*` filters, `search`, `match`, `tag_match`, `order`,
/// `direction` and paging; the API today also takes `name.*` and `content.*` operators
/// (`name.exact`, …), which the official SDK sends, so they are served too. Any other key is
/// refused: answering every record to a filter the simulator does not know would look like a
/// match.
const RECORD_QUERY_KEYS: &[&str] = &[
    "name",
    "name.exact",
    "name.contains",
    "name.startswith",
    "name.endswith",
    "content",
    "content.exact",
    "content.contains",
    "content.startswith",
    "content.endswith",
    "type",
    "proxied",
    "comment",
    "comment.present",
    "comment.absent",
    "comment.exact",
    "comment.contains",
    "comment.startswith",
    "comment.endswith",
    "tag",
    "tag.present",
    "tag.absent",
    "tag.exact",
    "tag.contains",
    "tag.startswith",
    "tag.endswith",
    "search",
    "match",
    "tag_match",
    "order",
    "direction",
    "page",
    "per_page",
];

/// `op` applied as Cloudflare's filter operators do (case-insensitive).
fn text_matches(op: &str, actual: &str, wanted: &str) -> bool {
    let (actual, wanted) = (actual.to_lowercase(), wanted.to_lowercase());
    match op {
        "contains" => actual.contains(&wanted),
        "startswith" => actual.starts_with(&wanted),
        "endswith" => actual.ends_with(&wanted),
        _ => actual == wanted,
    }
}

/// One record filter of a list query, as a predicate.
type RecordPredicate = Box<dyn Fn(&Value) -> bool>;

/// The record filters of a list query, split into ordinary ones (combined by `match`) and tag
/// ones (combined by `tag_match`); `Err` is the refusal.
fn record_filters(
    pairs: &[(String, String)],
    zone: &str,
) -> Result<(Vec<RecordPredicate>, Vec<RecordPredicate>), String> {
    let mut filters: Vec<RecordPredicate> = Vec::new();
    let mut tag_filters: Vec<RecordPredicate> = Vec::new();
    for (key, value) in pairs {
        if !RECORD_QUERY_KEYS.contains(&key.as_str()) {
            return Err(format!("unknown filter `{key}`"));
        }
        let (field, op) = key.split_once('.').unwrap_or((key.as_str(), "exact"));
        let value = value.clone();
        let op = op.to_string();
        match field {
            "name" => {
                // Names are matched fully qualified; `@` is the apex.
                let value = if value == "@" { zone.to_string() } else { value.trim_end_matches('.').to_string() };
                filters.push(Box::new(move |r| text_matches(&op, r["name"].as_str().unwrap_or_default(), &value)));
            }
            "content" => {
                filters.push(Box::new(move |r| text_matches(&op, r["content"].as_str().unwrap_or_default(), &value)))
            }
            "type" => filters.push(Box::new(move |r| r["type"] == value.as_str())),
            "proxied" => {
                let proxied = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err("`proxied` must be true or false".into()),
                };
                filters.push(Box::new(move |r| r["proxied"] == proxied));
            }
            "comment" => filters.push(Box::new(move |r| {
                let comment = r["comment"].as_str();
                match op.as_str() {
                    "present" => comment.is_some_and(|c| !c.is_empty()),
                    "absent" => comment.is_none_or(str::is_empty),
                    _ => comment.is_some_and(|c| text_matches(&op, c, &value)),
                }
            })),
            "tag" => tag_filters.push(Box::new(move |r| {
                let tags: Vec<(String, String)> = r["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|t| {
                        t.split_once(':')
                            .map(|(n, v)| (n.to_lowercase(), v.to_string()))
                            .unwrap_or((t.to_lowercase(), String::new()))
                    })
                    .collect();
                let (name, wanted) = value.split_once(':').unwrap_or((value.as_str(), ""));
                let name = name.to_lowercase();
                match op.as_str() {
                    "present" => tags.iter().any(|(n, _)| *n == name),
                    "absent" => !tags.iter().any(|(n, _)| *n == name),
                    // `tag=name` alone means present; `tag=name:value` an exact value.
                    "exact" if !value.contains(':') => tags.iter().any(|(n, _)| *n == name),
                    _ => tags.iter().any(|(n, v)| *n == name && text_matches(&op, v, wanted)),
                }
            })),
            "search" => filters.push(Box::new(move |r| {
                ["name", "content", "comment"]
                    .iter()
                    .any(|f| text_matches("contains", r[*f].as_str().unwrap_or_default(), &value))
            })),
            "match" | "tag_match" if !matches!(value.as_str(), "any" | "all") => {
                return Err(format!("`{key}` must be any or all"));
            }
            "order" if !["type", "name", "content", "ttl", "proxied"].contains(&value.as_str()) => {
                return Err("`order` must be one of type, name, content, ttl, proxied".into());
            }
            "direction" if !matches!(value.as_str(), "asc" | "desc") => {
                return Err("`direction` must be asc or desc".into());
            }
            _ => {}
        }
    }
    Ok((filters, tag_filters))
}

/// `GET …/dns_records`: filtered (see [`RECORD_QUERY_KEYS`]), ordered (`order`, default
/// `type`, and `direction`), one page at a time.
async fn list_records(
    State(state): State<Shared>,
    Path(zone_id): Path<String>,
    SimQuery(pairs): SimQuery<Vec<(String, String)>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    respond(&state, "GET", &uri, &headers, None, |s| {
        let single = |key: &str| super::single_value(&pairs, key);
        let number = |key: &str, default: f64| match single(key) {
            Ok(None) => Ok(default),
            Ok(Some(v)) => v.parse::<f64>().map_err(|_| format!("`{key}` must be a number")),
            Err(rule) => Err(rule),
        };
        let (page, per_page) = match (number("page", 1.0), number("per_page", 100.0)) {
            (Ok(page), Ok(per_page)) => (page, per_page),
            (Err(rule), _) | (_, Err(rule)) => return failure(StatusCode::BAD_REQUEST, 1004, &rule),
        };
        if page < 1.0 || !(1.0..=5_000_000.0).contains(&per_page) {
            return failure(StatusCode::BAD_REQUEST, 1004, "page must be >= 1 and per_page between 1 and 5000000");
        }
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        let (filters, tag_filters) = match record_filters(&pairs, &zone.name) {
            Ok(filters) => filters,
            Err(rule) => return failure(StatusCode::BAD_REQUEST, 1004, &format!("DNS Validation Error: {rule}")),
        };
        let any = |key| single(key).ok().flatten() == Some("any");
        let combine = |predicates: &[RecordPredicate], any: bool, r: &Value| {
            predicates.is_empty() || if any { predicates.iter().any(|p| p(r)) } else { predicates.iter().all(|p| p(r)) }
        };
        let (match_any, tags_any) = (any("match"), any("tag_match"));
        let mut matching: Vec<&Value> = zone
            .records
            .iter()
            .filter(|r| combine(&filters, match_any, r) && combine(&tag_filters, tags_any, r))
            .collect();
        let order = single("order").ok().flatten().unwrap_or("type").to_string();
        let key = |r: &Value| match &r[order.as_str()] {
            Value::String(text) => text.to_lowercase(),
            // TTLs sort as numbers.
            Value::Number(n) => format!("{:020}", n.as_u64().unwrap_or_default()),
            other => other.to_string(),
        };
        matching.sort_by_key(|r| key(r));
        if single("direction").ok().flatten() == Some("desc") {
            matching.reverse();
        }
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
    /// Required, except for types given by `data` (CAA), where it is derived.
    #[serde(default)]
    content: Option<String>,
    /// The structured form of a CAA record (`{flags, tag, value}`), from which its content comes.
    #[serde(default)]
    data: Option<Value>,
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
    let (content, data) = match (body.record_type.as_str(), &body.data, &body.content) {
        ("CAA", Some(data), _) => {
            let flags = data["flags"].as_f64().filter(|f| (0.0..=255.0).contains(f) && f.fract() == 0.0);
            let (Some(flags), Some(tag), Some(value)) = (flags, data["tag"].as_str(), data["value"].as_str()) else {
                return Err((
                    9005,
                    "Content for CAA record is invalid: data needs flags (0-255), tag and value.".into(),
                ));
            };
            if !["issue", "issuewild", "iodef"].contains(&tag) {
                return Err((9005, "Content for CAA record is invalid: tag must be issue, issuewild or iodef.".into()));
            }
            let data = json!({ "flags": flags as u8, "tag": tag, "value": value });
            (format!("{} {tag} \"{value}\"", flags as u8), Some(data))
        }
        // A CAA record given as text (`0 issue "letsencrypt.org"`) gets its `data` too.
        ("CAA", None, Some(content)) => {
            let mut parts = content.splitn(3, ' ');
            let (flags, tag, value) = (parts.next(), parts.next(), parts.next());
            match (flags.and_then(|f| f.parse::<u8>().ok()), tag, value) {
                (Some(flags), Some(tag), Some(value)) => {
                    let value = value.trim_matches('"');
                    (content.clone(), Some(json!({ "flags": flags, "tag": tag, "value": value })))
                }
                _ => return Err((9005, "Content for CAA record is invalid.".into())),
            }
        }
        (_, _, Some(content)) => (content.clone(), None),
        (record_type, _, None) => return Err((9005, format!("Content for {record_type} record is invalid."))),
    };
    if proxied && !matches!(body.record_type.as_str(), "A" | "AAAA" | "CNAME") {
        return Err((9004, "This record type cannot be proxied.".into()));
    }
    let content_ok = match body.record_type.as_str() {
        "A" => content.parse::<Ipv4Addr>().is_ok(),
        "AAAA" => content.parse::<Ipv6Addr>().is_ok(),
        "CNAME" => !content.is_empty() && !content.eq_ignore_ascii_case(&name),
        _ => !content.is_empty(),
    };
    if !content_ok {
        return Err((9005, format!("Content for {} record is invalid.", body.record_type)));
    }
    let others = zone.records.iter().filter(|r| Some(r["id"].as_str().unwrap_or_default()) != replacing);
    for other in others {
        let same_name = other["name"] == name.as_str();
        let address_like = |t: &str| matches!(t, "A" | "AAAA" | "CNAME");
        let other_type = other["type"].as_str().unwrap_or_default();
        if same_name && other_type == body.record_type && other["content"] == content.as_str() {
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
        "name": name, "type": body.record_type, "content": content, "proxiable": matches!(body.record_type.as_str(), "A" | "AAAA" | "CNAME"),
        "proxied": proxied, "ttl": ttl as u32, "locked": false, "meta": { "auto_added": false, "source": "primary" },
        "settings": {}, "tags": body.tags.clone().unwrap_or_default(), "created_on": now, "modified_on": now,
    });
    // `comment` is a string in the spec (`dns-records_comment`): absent when unset, never null.
    if let Some(comment) = body.comment.filter(|c| !c.is_empty()) {
        record["comment"] = json!(comment);
        record["comment_modified_on"] = json!(now);
    }
    if body.tags.is_some_and(|t| !t.is_empty()) {
        record["tags_modified_on"] = json!(now);
    }
    if let Some(data) = data {
        record["data"] = data;
    }
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

/// `PATCH …/dns_records/{id}`: the fields given replace the stored ones, the rest stay, and the
/// result must pass the same rules as a create.
async fn patch_record(
    State(state): State<Shared>,
    Path((zone_id, record_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    respond(&state, "PATCH", &uri, &headers, Some(&body), |s| {
        let zone = match zone_mut(s, &zone_id) {
            Ok(zone) => zone,
            Err(refusal) => return refusal,
        };
        let Some(index) = zone.records.iter().position(|r| r["id"] == record_id.as_str()) else {
            return failure(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
        };
        let patch = match serde_json::from_str::<Value>(&body) {
            Ok(Value::Object(patch)) => patch,
            Ok(_) => return failure(StatusCode::BAD_REQUEST, 9207, "Request body is invalid: expected an object"),
            Err(e) => return failure(StatusCode::BAD_REQUEST, 9207, &format!("Request body is invalid: {e}")),
        };
        let stored = &zone.records[index];
        let mut merged = serde_json::Map::new();
        for key in ["type", "name", "content", "data", "ttl", "proxied", "comment", "tags", "priority"] {
            if let Some(value) = stored.get(key).filter(|v| !v.is_null()) {
                merged.insert(key.into(), value.clone());
            }
        }
        // New `data` derives new content, and new content new `data`.
        if patch.contains_key("data") {
            merged.remove("content");
        } else if patch.contains_key("content") {
            merged.remove("data");
        }
        merged.extend(patch);
        let created_on = stored["created_on"].clone();
        match checked_record(zone, &Value::Object(merged).to_string(), Some(&record_id)) {
            Ok(mut record) => {
                record["created_on"] = created_on;
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
