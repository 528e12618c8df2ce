//! RFC 2136 dynamic updates signed with TSIG (RFC 8945), so any standard authoritative server
//! (BIND, Knot, PowerDNS) holds a venture's records. Every write carries a prerequisite: a
//! record set is created only where none exists, and replaced or deleted only while it still
//! holds exactly what Slipway wrote, so a record someone else changed is never overwritten.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt;
use hickory_net::client::Client;
use hickory_net::proto::op::{DnsRequest, Message, MessageType, OpCode, Query, ResponseCode, update_message};
use hickory_net::proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_net::proto::rr::rdata::{CNAME, TXT};
use hickory_net::proto::rr::{DNSClass, Name, RData, Record, RecordSet, RecordType, TSigner};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::xfer::DnsHandle;
use hickory_net::{DnsError, DnsMultiplexer, NetError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::api::{ApiError, ErrorKind, Vendor};
use super::domain::name_to_ascii as ascii;

/// The record types Slipway writes for a venture's domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
    Txt,
    Caa,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
            RecordKind::Txt => "TXT",
            RecordKind::Caa => "CAA",
        }
    }

    fn wire(self) -> RecordType {
        match self {
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
            RecordKind::Cname => RecordType::CNAME,
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Caa => RecordType::CAA,
        }
    }
}

impl FromStr for RecordKind {
    type Err = String;

    /// A type as written (`A`, `aaaa`, `CNAME`, …), of those Slipway writes.
    fn from_str(raw: &str) -> Result<Self, String> {
        Ok(match raw.trim().to_ascii_uppercase().as_str() {
            "A" => RecordKind::A,
            "AAAA" => RecordKind::Aaaa,
            "CNAME" => RecordKind::Cname,
            "TXT" => RecordKind::Txt,
            "CAA" => RecordKind::Caa,
            _ => return Err("must be one of A, AAAA, CNAME, TXT, CAA".into()),
        })
    }
}

/// One record set: every value of one type at one name. Values are in presentation form,
/// except TXT, whose value is the text itself (no quotes, strings joined).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrSet {
    /// Fully qualified, lowercase ASCII, without the trailing dot.
    pub name: String,
    pub kind: RecordKind,
    pub ttl: u32,
    pub values: Vec<String>,
}

/// The TSIG algorithms a server is likely to accept; the MD5 and SHA-1 ones are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TsigAlgorithmName {
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    #[serde(rename = "hmac-sha384")]
    HmacSha384,
    #[serde(rename = "hmac-sha512")]
    HmacSha512,
}

impl TsigAlgorithmName {
    pub fn as_str(self) -> &'static str {
        match self {
            TsigAlgorithmName::HmacSha256 => "hmac-sha256",
            TsigAlgorithmName::HmacSha384 => "hmac-sha384",
            TsigAlgorithmName::HmacSha512 => "hmac-sha512",
        }
    }
}

impl FromStr for TsigAlgorithmName {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "hmac-sha256" => Ok(TsigAlgorithmName::HmacSha256),
            "hmac-sha384" => Ok(TsigAlgorithmName::HmacSha384),
            "hmac-sha512" => Ok(TsigAlgorithmName::HmacSha512),
            _ => Err("must be one of hmac-sha256, hmac-sha384, hmac-sha512".into()),
        }
    }
}

/// Where and how to send updates for one zone.
#[derive(Debug, Clone)]
pub struct Rfc2136Config {
    /// The primary server's address (updates go to TCP there).
    pub server: SocketAddr,
    /// The zone's apex, e.g. `acme.com`.
    pub zone: String,
    pub key_name: String,
    pub algorithm: TsigAlgorithmName,
    /// The key's secret, base64 as `tsig-keygen` and `keymgr` print it.
    pub secret: SecretString,
    pub timeout: Duration,
}

/// A client for one zone on one server.
#[derive(Clone)]
pub struct Rfc2136Client {
    server: SocketAddr,
    zone: Name,
    zone_ascii: String,
    signer: TSigner,
    timeout: Duration,
}

impl std::fmt::Debug for Rfc2136Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rfc2136Client").field("server", &self.server).field("zone", &self.zone_ascii).finish()
    }
}

fn invalid(field: &str, rule: impl Into<String>) -> ApiError {
    ApiError::invalid_input(Vendor::DnsServer, field, rule)
}

fn name(field: &str, ascii: &str) -> Result<Name, ApiError> {
    let mut parsed = Name::from_ascii(ascii).map_err(|_| invalid(field, "is not a DNS name"))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

impl Rfc2136Client {
    /// Checks the configuration (names, key) before anything is sent.
    pub fn new(config: Rfc2136Config) -> Result<Rfc2136Client, ApiError> {
        let zone_ascii = super::domain::to_ascii_domain(&config.zone).map_err(|rule| invalid("zone", rule))?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(config.secret.expose_secret().trim())
            .map_err(|_| invalid("secret", "must be the key's base64 secret"))?;
        if secret.len() < 16 {
            return Err(invalid("secret", "must be at least 16 bytes (128 bits) once decoded"));
        }
        let algorithm = match config.algorithm {
            TsigAlgorithmName::HmacSha256 => TsigAlgorithm::HmacSha256,
            TsigAlgorithmName::HmacSha384 => TsigAlgorithm::HmacSha384,
            TsigAlgorithmName::HmacSha512 => TsigAlgorithm::HmacSha512,
        };
        let key_name = name("key_name", config.key_name.trim())?;
        // 300 s of clock skew, the fudge RFC 8945 recommends.
        let signer = TSigner::new(secret, algorithm, key_name, 300)
            .map_err(|error| invalid("algorithm", format!("is not usable: {error}")))?;
        Ok(Rfc2136Client {
            server: config.server,
            zone: name("zone", &zone_ascii)?,
            zone_ascii,
            signer,
            timeout: config.timeout,
        })
    }

    pub fn zone(&self) -> &str {
        &self.zone_ascii
    }

    /// The record set the server holds for `name` and `kind`, if any (an authoritative
    /// query over TCP; a CNAME at the name is not followed).
    pub async fn read(&self, name: &str, kind: RecordKind) -> Result<Option<RrSet>, ApiError> {
        let owner = self.owner(name)?;
        let mut query = Query::new();
        query.set_name(owner.clone()).set_query_type(kind.wire()).set_query_class(DNSClass::IN);
        let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = false;
        message.add_query(query);
        let response = self.exchange(message, "read").await?;
        let records: Vec<&Record> =
            response.answers.iter().filter(|r| r.record_type() == kind.wire() && r.name == owner).collect();
        let Some(first) = records.first() else { return Ok(None) };
        let mut values: Vec<String> = records.iter().map(|r| presentation(&r.data)).collect();
        values.sort();
        Ok(Some(RrSet { name: ascii(&owner), kind, ttl: first.ttl, values }))
    }

    /// Makes the record set at `wanted`'s name and type hold exactly `wanted`, provided it
    /// still holds `previous` (what Slipway last wrote; `None`: nothing may be there).
    pub async fn replace(&self, previous: Option<&RrSet>, wanted: &RrSet) -> Result<(), ApiError> {
        let new = self.record_set(wanted)?;
        let message = match previous {
            None => update_message::create(new, self.zone.clone(), true),
            Some(previous) => {
                update_message::compare_and_swap(self.record_set(previous)?, new, self.zone.clone(), true)
            }
        };
        self.exchange(message, "update").await.map(drop)
    }

    /// Deletes exactly the values of `previous` (another writer's values at the same name stay).
    pub async fn delete(&self, previous: &RrSet) -> Result<(), ApiError> {
        let message = update_message::delete_by_rdata(self.record_set(previous)?, self.zone.clone(), true);
        self.exchange(message, "delete").await.map(drop)
    }

    fn owner(&self, ascii_name: &str) -> Result<Name, ApiError> {
        let owner = name("name", ascii_name)?;
        if !self.zone.zone_of(&owner) {
            return Err(invalid("name", format!("must be inside the zone {}", self.zone_ascii)));
        }
        Ok(owner)
    }

    fn record_set(&self, set: &RrSet) -> Result<RecordSet, ApiError> {
        let owner = self.owner(&set.name)?;
        if set.values.is_empty() {
            return Err(invalid("values", "must hold at least one value"));
        }
        let mut records = RecordSet::with_ttl(owner.clone(), set.kind.wire(), set.ttl);
        for value in &set.values {
            records.insert(Record::from_rdata(owner.clone(), set.ttl, rdata(set.kind, value)?), 0);
        }
        Ok(records)
    }

    /// Signs `message`, sends it over TCP and returns the verified answer. A TSIG refusal
    /// (NOTAUTH, or a TSIG error) comes back unsigned by design (RFC 8945 §5.3), so it is read
    /// as a refusal before verification; every other answer must carry a valid signature.
    async fn exchange(&self, mut message: Message, operation: &'static str) -> Result<Message, ApiError> {
        let failed = |what: String| {
            ApiError::new(
                Vendor::DnsServer,
                ErrorKind::Transport,
                None,
                "transport",
                format!("no usable answer from {} for the {operation}: {what}", self.server),
            )
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        let mut verifier = message
            .finalize(&self.signer, now)
            .map_err(|error| failed(format!("could not sign: {error}")))?
            .ok_or_else(|| failed("the request was not signed".into()))?;
        let (stream, sender) = TcpClientStream::new(self.server, None, Some(self.timeout), TokioRuntimeProvider::new());
        let stream = stream.await.map_err(|error| failed(error.to_string()))?;
        let (client, background) =
            Client::<TokioRuntimeProvider>::from_sender(DnsMultiplexer::new(stream, sender).with_timeout(self.timeout));
        let background = tokio::spawn(background);
        let answer = client.send(DnsRequest::from(message)).next().await;
        background.abort();
        let response = match answer {
            Some(Ok(response)) => response,
            Some(Err(NetError::Dns(DnsError::ResponseCode(code)))) => return Err(self.refusal(code, operation)),
            Some(Err(error)) => return Err(failed(error.to_string())),
            None => return Err(failed("the connection closed without an answer".into())),
        };
        let tsig_error = response.signature().and_then(|signature| signature.data.error);
        if response.response_code == ResponseCode::NotAuth || tsig_error.is_some() {
            return Err(self.refusal(ResponseCode::NotAuth, operation));
        }
        let verified = verifier
            .verify(response.as_buffer())
            .map_err(|error| failed(format!("the answer's TSIG does not verify: {error}")))?;
        match verified.response_code {
            // A name that does not exist holds no records: an answer, not a failure.
            ResponseCode::NoError | ResponseCode::NXDomain => Ok(verified.into_message()),
            code => Err(self.refusal(code, operation)),
        }
    }

    /// The server's refusal in words that say what to do.
    fn refusal(&self, code: ResponseCode, operation: &str) -> ApiError {
        let (kind, message) = match code {
            ResponseCode::NotAuth | ResponseCode::Refused => (
                ErrorKind::Unauthorized,
                format!(
                    "{} refused the {operation} for {} ({code}): check that the server knows the TSIG key {} with this secret and algorithm, and that its ACL allows updates to the zone with it",
                    self.server,
                    self.zone_ascii,
                    ascii(self.signer.signer_name())
                ),
            ),
            ResponseCode::NXRRSet | ResponseCode::YXRRSet | ResponseCode::YXDomain => (
                ErrorKind::Conflict,
                format!(
                    "the records at {} changed since Slipway read them ({code}): someone else wrote there; observe again before applying",
                    self.zone_ascii
                ),
            ),
            ResponseCode::NotZone => {
                (ErrorKind::BadRequest, format!("{} is not a zone {} serves ({code})", self.zone_ascii, self.server))
            }
            ResponseCode::ServFail => (ErrorKind::Server, format!("{} failed the {operation} ({code})", self.server)),
            _ => (ErrorKind::Other, format!("{} answered the {operation} with {code}", self.server)),
        };
        ApiError::new(Vendor::DnsServer, kind, None, code.to_str().to_ascii_lowercase(), message)
    }
}

/// A value in Slipway's form (see [`RrSet`]) as record data.
fn rdata(kind: RecordKind, value: &str) -> Result<RData, ApiError> {
    let bad = |rule: &str| invalid("values", format!("{value:?} is not a valid {} value: {rule}", kind.as_str()));
    match kind {
        RecordKind::Txt => {
            // Character strings hold at most 255 bytes; longer text is split, as servers do.
            let chunks = value.as_bytes().chunks(255).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            Ok(RData::TXT(TXT::new(chunks)))
        }
        RecordKind::Cname => {
            let mut target = Name::from_ascii(value).map_err(|_| bad("a host name"))?;
            target.set_fqdn(true);
            Ok(RData::CNAME(CNAME(target)))
        }
        _ => RData::try_from_str(kind.wire(), value).map_err(|error| bad(&error.to_string())),
    }
}

/// Record data in Slipway's form (see [`RrSet`]).
fn presentation(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect(),
        RData::CNAME(target) => ascii(&target.0),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_record_data() {
        for (kind, value) in [
            (RecordKind::A, "76.76.21.21"),
            (RecordKind::Aaaa, "2001:db8::1"),
            (RecordKind::Cname, "cname.vercel-dns.com"),
            (RecordKind::Txt, "vercel=abc def"),
            (RecordKind::Caa, "0 issue \"letsencrypt.org\""),
        ] {
            assert_eq!(presentation(&rdata(kind, value).unwrap()), value, "{kind:?}");
        }
        let long = "x".repeat(600);
        assert_eq!(presentation(&rdata(RecordKind::Txt, &long).unwrap()), long, "split and joined again");
        assert!(rdata(RecordKind::A, "76.76.21").unwrap_err().message.contains("not a valid A value"));
    }

    #[test]
    fn configuration_is_checked_before_sending() {
        let config = |zone: &str, secret: &str| Rfc2136Config {
            server: "127.0.0.1:53".parse().unwrap(),
            zone: zone.into(),
            key_name: "slipway".into(),
            algorithm: TsigAlgorithmName::HmacSha256,
            secret: SecretString::from(secret.to_string()),
            timeout: Duration::from_secs(1),
        };
        let secret = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(Rfc2136Client::new(config("a..b", &secret)).unwrap_err().code, "zone");
        assert_eq!(Rfc2136Client::new(config("acme.test", "not base64!")).unwrap_err().code, "secret");
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 8]);
        assert!(Rfc2136Client::new(config("acme.test", &short)).unwrap_err().message.contains("16 bytes"));
        let client = Rfc2136Client::new(config("Acme.TEST.", &secret)).unwrap();
        assert_eq!(client.zone(), "acme.test");
        assert!(client.owner("www.other.test").unwrap_err().message.contains("inside the zone acme.test"));
        assert!("hmac-md5".parse::<TsigAlgorithmName>().unwrap_err().contains("hmac-sha256"));
    }
}
