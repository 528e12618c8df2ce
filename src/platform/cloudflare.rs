//! Cloudflare DNS client (API v4): find a zone by name and manage its DNS records, for
//! ventures whose DNS is hosted at Cloudflare rather than at Vercel.

use std::net::{Ipv4Addr, Ipv6Addr};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::api::{ApiCore, ApiError, ApiSettings, Auth, Call, Vendor};
use super::ratelimit::Budget;

pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// "1,200 requests / 5 minutes per user or account token", cumulative across endpoints.
pub const DEFAULT_BUDGET: Budget = Budget { requests: 1200, per: std::time::Duration::from_secs(300) };

/// Records per page when listing (the API's default is 100).
const PAGE_SIZE: u32 = 100;

#[derive(Clone)]
pub struct CloudflareConfig {
    pub api: ApiSettings,
}

impl CloudflareConfig {
    /// With an API token (recommended).
    pub fn with_token(base_url: impl Into<String>, token: SecretString) -> Self {
        CloudflareConfig { api: ApiSettings::new(base_url, Auth::Bearer(token), DEFAULT_BUDGET) }
    }

    /// With the legacy global API key.
    pub fn with_key(base_url: impl Into<String>, email: String, key: SecretString) -> Self {
        CloudflareConfig { api: ApiSettings::new(base_url, Auth::EmailAndKey { email, key }, DEFAULT_BUDGET) }
    }
}

/// Every Cloudflare answer: `{success, errors, messages, result, result_info?}`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<Message>,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Clone, Deserialize)]
struct Message {
    code: i64,
    message: String,
}

/// Pagination state. The spec types these as `number`, so fractions are tolerated.
#[derive(Debug, Clone, Deserialize)]
struct ResultInfo {
    page: f64,
    per_page: f64,
    #[serde(default)]
    total_count: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub name_servers: Vec<String>,
}

/// The record types Slipway manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
    #[serde(rename = "TXT")]
    Txt,
    #[serde(rename = "CAA")]
    Caa,
    #[serde(rename = "MX")]
    Mx,
    #[serde(rename = "NS")]
    Ns,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Caa => "CAA",
            RecordType::Mx => "MX",
            RecordType::Ns => "NS",
        }
    }
}

/// A record to create or replace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordInput {
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// Fully qualified, in Punycode (`www.example.com`), or `@` for the apex.
    pub name: String,
    pub content: String,
    /// 1 = automatic, else 60..=86400 seconds.
    pub ttl: u32,
    /// Only for A, AAAA and CNAME. Keep false for Vercel, which must see its own address.
    pub proxied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DnsRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub name: String,
    pub content: String,
    #[serde(default)]
    pub proxied: bool,
    #[serde(default)]
    pub ttl: u32,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Filters for listing records (all optional).
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub name: Option<String>,
    pub record_type: Option<RecordType>,
}

pub struct CloudflareClient {
    core: ApiCore,
}

impl CloudflareClient {
    pub fn new(config: CloudflareConfig) -> Result<Self, ApiError> {
        Ok(CloudflareClient { core: ApiCore::new(Vendor::Cloudflare, config.api, parse_error)? })
    }

    /// Every call counts against the one per-token budget.
    fn call(operation: &'static str, method: Method, path: &[&str]) -> Call {
        Call::new(operation, method, path).scope("token")
    }

    async fn send<T: DeserializeOwned>(&self, call: Call) -> Result<(T, Option<ResultInfo>), ApiError> {
        let envelope: Envelope<T> = self.core.send(call).await?;
        match (envelope.success, envelope.result) {
            (true, Some(result)) => Ok((result, envelope.result_info)),
            _ => {
                let first = envelope.errors.first().cloned();
                Err(ApiError::new(
                    Vendor::Cloudflare,
                    super::api::ErrorKind::Decode,
                    None,
                    first.as_ref().map(|m| m.code.to_string()).unwrap_or_default(),
                    first.map(|m| m.message).unwrap_or_else(|| "success without a result".into()),
                ))
            }
        }
    }

    /// `GET /zones?name=…`: the zone for a registrable domain, if the account has it.
    pub async fn find_zone(&self, name: &str) -> Result<Option<Zone>, ApiError> {
        let name = validate_hostname("name", name)?;
        let call = Self::call("zones-get", Method::GET, &["zones"]).query("name", &name);
        let (zones, _): (Vec<Zone>, _) = self.send(call).await?;
        Ok(zones.into_iter().find(|z| z.name == name))
    }

    /// `GET /zones/{zone_id}`: a zone's details (its status and the nameservers to delegate to).
    pub async fn get_zone(&self, zone_id: &str) -> Result<Zone, ApiError> {
        validate_id("zone_id", zone_id)?;
        let (zone, _) = self.send(Self::call("zones-0-get", Method::GET, &["zones", zone_id])).await?;
        Ok(zone)
    }

    /// `GET /zones/{zone_id}/dns_records`, every page.
    pub async fn list_records(&self, zone_id: &str, filter: &RecordFilter) -> Result<Vec<DnsRecord>, ApiError> {
        validate_id("zone_id", zone_id)?;
        let mut records = Vec::new();
        let mut page = 1u32;
        loop {
            let mut call =
                Self::call("dns-records-for-a-zone-list-dns-records", Method::GET, &["zones", zone_id, "dns_records"])
                    .query("page", page)
                    .query("per_page", PAGE_SIZE);
            if let Some(name) = &filter.name {
                call = call.query("name", validate_hostname("name", name)?);
            }
            if let Some(record_type) = filter.record_type {
                call = call.query("type", record_type.as_str());
            }
            let (batch, info): (Vec<DnsRecord>, _) = self.send(call).await?;
            let fetched = batch.len() as u32;
            records.extend(batch);
            let more = match info {
                Some(ResultInfo { page: p, per_page, total_count: Some(total) }) => p * per_page < total,
                _ => fetched == PAGE_SIZE,
            };
            if !more || fetched == 0 {
                return Ok(records);
            }
            page += 1;
        }
    }

    /// `POST /zones/{zone_id}/dns_records`.
    pub async fn create_record(&self, zone_id: &str, record: &RecordInput) -> Result<DnsRecord, ApiError> {
        validate_id("zone_id", zone_id)?;
        let record = validate_record(record)?;
        let call =
            Self::call("dns-records-for-a-zone-create-dns-record", Method::POST, &["zones", zone_id, "dns_records"])
                .json(&record);
        Ok(self.send(call).await?.0)
    }

    /// `PUT /zones/{zone_id}/dns_records/{id}`: replaces the record.
    pub async fn update_record(
        &self,
        zone_id: &str,
        record_id: &str,
        record: &RecordInput,
    ) -> Result<DnsRecord, ApiError> {
        validate_id("zone_id", zone_id)?;
        validate_id("dns_record_id", record_id)?;
        let record = validate_record(record)?;
        let call = Self::call(
            "dns-records-for-a-zone-update-dns-record",
            Method::PUT,
            &["zones", zone_id, "dns_records", record_id],
        )
        .json(&record);
        Ok(self.send(call).await?.0)
    }

    /// `DELETE /zones/{zone_id}/dns_records/{id}`.
    pub async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<(), ApiError> {
        validate_id("zone_id", zone_id)?;
        validate_id("dns_record_id", record_id)?;
        let call = Self::call(
            "dns-records-for-a-zone-delete-dns-record",
            Method::DELETE,
            &["zones", zone_id, "dns_records", record_id],
        );
        let _: (serde_json::Value, _) = self.send(call).await?;
        Ok(())
    }
}

fn invalid(field: &str, rule: impl Into<String>) -> ApiError {
    ApiError::invalid_input(Vendor::Cloudflare, field, rule)
}

fn validate_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(field, "must be a Cloudflare identifier (1-32 letters and digits)"));
    }
    Ok(())
}

/// A record name in its ASCII (Punycode) form, or `@` for the apex.
pub fn validate_hostname(field: &str, raw: &str) -> Result<String, ApiError> {
    if raw.trim() == "@" {
        return Ok("@".into());
    }
    crate::platform::domain::to_ascii_hostname(raw).map_err(|rule| invalid(field, rule))
}

/// The record as sent: checked, its name in ASCII form.
fn validate_record(record: &RecordInput) -> Result<RecordInput, ApiError> {
    let name = validate_hostname("name", &record.name)?;
    if record.ttl != 1 && !(60..=86_400).contains(&record.ttl) {
        return Err(invalid("ttl", "must be 1 (automatic) or between 60 and 86400"));
    }
    if record.proxied && !matches!(record.record_type, RecordType::A | RecordType::Aaaa | RecordType::Cname) {
        return Err(invalid("proxied", "is only allowed for A, AAAA and CNAME records"));
    }
    let content = record.content.as_str();
    let ok = match record.record_type {
        RecordType::A => content.parse::<Ipv4Addr>().is_ok(),
        RecordType::Aaaa => content.parse::<Ipv6Addr>().is_ok(),
        RecordType::Cname | RecordType::Ns => {
            validate_hostname("content", content).is_ok() && !content.eq_ignore_ascii_case(&record.name)
        }
        RecordType::Txt => !content.is_empty() && content.len() <= 2048,
        RecordType::Caa | RecordType::Mx => !content.is_empty(),
    };
    if !ok {
        let rule = match record.record_type {
            RecordType::A => "must be an IPv4 address for an A record",
            RecordType::Aaaa => "must be an IPv6 address for an AAAA record",
            RecordType::Cname | RecordType::Ns => "must be a hostname other than the record's own name",
            _ => "must not be empty (TXT: at most 2048 characters)",
        };
        return Err(invalid("content", rule));
    }
    Ok(RecordInput { name, ..record.clone() })
}

/// Cloudflare's failure envelope: `{success: false, errors: [{code, message}], result: null}`.
fn parse_error(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> ApiError {
    let first =
        serde_json::from_slice::<Envelope<serde_json::Value>>(body).ok().and_then(|e| e.errors.into_iter().next());
    let (code, message) = match first {
        Some(m) => (m.code.to_string(), m.message),
        None => (String::new(), status.canonical_reason().unwrap_or("").to_string()),
    };
    ApiError::new(Vendor::Cloudflare, ApiError::kind_for_status(status), Some(status.as_u16()), code, message)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::platform::api::ErrorKind;
    use crate::platform::retry::RetryPolicy;
    use slipway_sim::cloudflare::{CloudflareSim, CloudflareSimConfig};
    use slipway_sim::faults::Fault;

    fn quick(mut config: CloudflareConfig) -> CloudflareClient {
        config.api.retry = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_total: Duration::from_secs(5),
        };
        CloudflareClient::new(config).unwrap()
    }

    fn a(name: &str, ip: &str) -> RecordInput {
        RecordInput {
            record_type: RecordType::A,
            name: name.into(),
            content: ip.into(),
            ttl: 1,
            proxied: false,
            comment: None,
        }
    }

    #[tokio::test]
    async fn manages_records_with_token_or_legacy_key() {
        let sim = CloudflareSim::start(CloudflareSimConfig {
            email_and_key: Some(("ops@example.com".into(), "global-key".into())),
            ..CloudflareSimConfig::new("cf-token")
        })
        .await
        .unwrap();
        let by_token = quick(CloudflareConfig::with_token(sim.base_url(), SecretString::from("cf-token")));
        let by_key = quick(CloudflareConfig::with_key(
            sim.base_url(),
            "ops@example.com".into(),
            SecretString::from("global-key"),
        ));
        let zone = by_token.find_zone("Example.COM.").await.unwrap().unwrap();
        assert_eq!(zone.name, "example.com");
        assert_eq!(by_key.find_zone("example.com").await.unwrap().unwrap().id, zone.id);
        assert!(by_token.find_zone("other.org").await.unwrap().is_none());

        let created = by_key.create_record(&zone.id, &a("example.com", "76.76.21.21")).await.unwrap();
        assert_eq!((created.record_type.as_str(), created.content.as_str()), ("A", "76.76.21.21"));
        let replaced = by_token.update_record(&zone.id, &created.id, &a("example.com", "76.76.21.22")).await.unwrap();
        assert_eq!(replaced.id, created.id);
        assert_eq!(sim.records("example.com")[0]["content"], "76.76.21.22");
        by_token.delete_record(&zone.id, &created.id).await.unwrap();
        assert!(sim.records("example.com").is_empty());
        let gone = by_token.delete_record(&zone.id, &created.id).await.unwrap_err();
        assert!(gone.is(ErrorKind::NotFound) && gone.code == "81044", "{gone}");
    }

    #[tokio::test]
    async fn lists_every_page_and_filters() {
        let sim = CloudflareSim::start(CloudflareSimConfig::new("t")).await.unwrap();
        let client = quick(CloudflareConfig::with_token(sim.base_url(), SecretString::from("t")));
        let zone = client.find_zone("example.com").await.unwrap().unwrap();
        for i in 0..(PAGE_SIZE + 5) {
            let record = RecordInput {
                record_type: RecordType::Txt,
                name: format!("t{i}.example.com"),
                content: format!("value-{i}"),
                ttl: 120,
                proxied: false,
                comment: None,
            };
            client.create_record(&zone.id, &record).await.unwrap();
        }
        client.create_record(&zone.id, &a("www.example.com", "76.76.21.21")).await.unwrap();
        let all = client.list_records(&zone.id, &RecordFilter::default()).await.unwrap();
        assert_eq!(all.len(), PAGE_SIZE as usize + 6);
        let pages = sim.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with("/dns_records")).count();
        assert_eq!(pages, 2);
        let only_a = client
            .list_records(&zone.id, &RecordFilter { record_type: Some(RecordType::A), ..RecordFilter::default() })
            .await
            .unwrap();
        assert_eq!(only_a.len(), 1);
        let by_name = client
            .list_records(&zone.id, &RecordFilter { name: Some("t7.example.com".into()), ..RecordFilter::default() })
            .await
            .unwrap();
        assert_eq!(by_name[0].content, "value-7");
    }

    #[tokio::test]
    async fn cloudflare_rules_and_errors_surface_with_code_and_message() {
        let sim = CloudflareSim::start(CloudflareSimConfig::new("t")).await.unwrap();
        let client = quick(CloudflareConfig::with_token(sim.base_url(), SecretString::from("t")));
        let zone = client.find_zone("example.com").await.unwrap().unwrap();
        client.create_record(&zone.id, &a("www.example.com", "76.76.21.21")).await.unwrap();
        let cname = RecordInput {
            record_type: RecordType::Cname,
            content: "cname.vercel-dns.com".into(),
            ..a("www.example.com", "")
        };
        let err = client.create_record(&zone.id, &cname).await.unwrap_err();
        assert!(err.is(ErrorKind::BadRequest) && err.code == "81053", "{err}");
        let err = client.create_record(&zone.id, &a("www.example.com", "76.76.21.21")).await.unwrap_err();
        assert_eq!(err.code, "81058", "{err}");

        let wrong = quick(CloudflareConfig::with_token(sim.base_url(), SecretString::from("nope")));
        let err = wrong.find_zone("example.com").await.unwrap_err();
        assert!(err.is(ErrorKind::Unauthorized) && err.code == "10000", "{err}");

        sim.queue_faults([Fault::RateLimited { retry_after_secs: 1 }, Fault::ServerError(503)]);
        let started = std::time::Instant::now();
        client.find_zone("example.com").await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured");
    }

    #[tokio::test]
    async fn invalid_records_never_leave_the_client() {
        let sim = CloudflareSim::start(CloudflareSimConfig::new("t")).await.unwrap();
        let client = quick(CloudflareConfig::with_token(sim.base_url(), SecretString::from("t")));
        let zone = "0123456789abcdef0123456789abcdef";
        for (record, field) in [
            (a("example.com", "not-an-ip"), "content"),
            (a("exa mple.com", "76.76.21.21"), "name"),
            (a("-bad.example.com", "76.76.21.21"), "name"),
            (RecordInput { ttl: 30, ..a("example.com", "76.76.21.21") }, "ttl"),
            (RecordInput { record_type: RecordType::Txt, proxied: true, ..a("example.com", "x") }, "proxied"),
            (RecordInput { record_type: RecordType::Cname, ..a("www.example.com", "www.example.com") }, "content"),
        ] {
            let err = client.create_record(zone, &record).await.unwrap_err();
            assert!(err.is(ErrorKind::InvalidInput) && err.code == field, "{record:?}: {err}");
        }
        assert!(
            client.create_record("../zones", &a("example.com", "76.76.21.21")).await.unwrap_err().code == "zone_id"
        );
        assert!(sim.requests().is_empty());
    }
}
