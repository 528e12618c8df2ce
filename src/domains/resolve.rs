//! The DNS doctor's lookups through real DNS (hickory-resolver): each configured recursive
//! resolver and each authoritative server is asked on its own, without a cache, so the doctor
//! sees where they disagree. A failed lookup is kept as what it is (a timeout, a SERVFAIL),
//! never taken for "no records": a false negative is the complaint users have of other tools.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use hickory_net::client::Client;
use hickory_net::proto::op::{DnsRequest, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_net::proto::rr::{Name, RData, RecordType};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::DnsHandle;
use hickory_net::{DnsError, NetError};
use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};

use crate::platform::domain::name_to_ascii as ascii;

/// Where the doctor asks: recursive resolvers (as visitors' browsers do) and, at the port
/// given, the zone's own nameservers found through them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSettings {
    pub resolvers: Vec<SocketAddr>,
    /// The port authoritative servers answer on (53 on the Internet).
    pub nameserver_port: u16,
    /// How long one server gets for one answer.
    pub timeout: Duration,
}

impl Default for DnsSettings {
    /// Three public resolvers of different operators (Cloudflare, Google, Quad9).
    fn default() -> Self {
        DnsSettings {
            resolvers: ["1.1.1.1:53", "8.8.8.8:53", "9.9.9.9:53"].iter().map(|a| a.parse().unwrap()).collect(),
            nameserver_port: 53,
            timeout: Duration::from_secs(2),
        }
    }
}

/// One record in an answer, in the doctor's form (names lowercase without the trailing dot;
/// TXT as its joined text; CAA as `flags tag "value"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub name: String,
    pub record_type: RecordType,
    pub value: String,
    pub ttl: u32,
}

/// What one server said to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The records, CNAMEs followed on the way first.
    Records(Vec<Answer>),
    /// The name exists but has no record of that type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// No usable answer: the reason (`timed out`, `SERVFAIL`, `REFUSED`, …).
    Failed(String),
}

impl Outcome {
    pub fn records(&self) -> &[Answer] {
        match self {
            Outcome::Records(records) => records,
            _ => &[],
        }
    }

    /// A SERVFAIL: what validating resolvers answer for a zone whose DNSSEC is bogus.
    pub fn is_server_failure(&self) -> bool {
        self.failed() == Some(ResponseCode::ServFail.to_str())
    }

    pub fn failed(&self) -> Option<&str> {
        match self {
            Outcome::Failed(reason) => Some(reason),
            _ => None,
        }
    }

    /// The values of `record_type` records owned by `name` (not those met on a CNAME chase).
    pub fn values_at(&self, name: &str, record_type: RecordType) -> Vec<String> {
        self.records()
            .iter()
            .filter(|a| a.record_type == record_type && a.name == name)
            .map(|a| a.value.clone())
            .collect()
    }

    /// The values of every `record_type` record in the answer (after CNAMEs).
    pub fn values(&self, record_type: RecordType) -> Vec<String> {
        self.records().iter().filter(|a| a.record_type == record_type).map(|a| a.value.clone()).collect()
    }
}

/// One DNS server the doctor asks.
pub struct Server {
    pub address: SocketAddr,
    /// Whether it is asked to recurse (a resolver) or to answer from its zones (a nameserver).
    pub recursive: bool,
    resolver: Resolver<TokioRuntimeProvider>,
    timeout: Duration,
}

impl Server {
    pub fn new(address: SocketAddr, recursive: bool, timeout: Duration) -> Server {
        let connection = |mut config: ConnectionConfig| {
            config.port = address.port();
            config
        };
        let server = NameServerConfig::new(
            address.ip(),
            true,
            vec![connection(ConnectionConfig::udp()), connection(ConnectionConfig::tcp())],
        );
        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.attempts = 2;
        options.recursion_desired = recursive;
        options.use_hosts_file = ResolveHosts::Never;
        options.try_tcp_on_error = true;
        options.preserve_intermediates = true;
        let resolver = Resolver::builder_with_config(
            ResolverConfig::from_parts(None, Vec::new(), vec![server]),
            TokioRuntimeProvider::default(),
        )
        .with_options(options)
        .build()
        .expect("a resolver with one name server and no system configuration builds");
        Server { address, recursive, resolver, timeout }
    }

    /// How this server is named in findings.
    pub fn label(&self) -> String {
        let role = if self.recursive { "resolver" } else { "nameserver" };
        if self.address.port() == 53 {
            format!("{role} {}", self.address.ip())
        } else {
            format!("{role} {}", self.address)
        }
    }

    pub async fn ask(&self, name: &str, record_type: RecordType) -> Outcome {
        let Ok(mut query) = Name::from_ascii(name) else { return Outcome::Failed(format!("{name} is not a DNS name")) };
        query.set_fqdn(true);
        match self.resolver.lookup(query, record_type).await {
            Ok(lookup) => {
                let records: Vec<Answer> = lookup
                    .answers()
                    .iter()
                    .map(|record| Answer {
                        name: ascii(&record.name),
                        record_type: record.record_type(),
                        value: value(&record.data),
                        ttl: record.ttl,
                    })
                    .collect();
                if records.is_empty() { Outcome::NoData } else { Outcome::Records(records) }
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(none))) => match none.response_code {
                ResponseCode::NXDomain => Outcome::NxDomain,
                ResponseCode::NoError => Outcome::NoData,
                code => Outcome::Failed(code.to_str().to_string()),
            },
            Err(NetError::Dns(DnsError::ResponseCode(code))) => Outcome::Failed(code.to_str().to_string()),
            Err(NetError::Timeout) => Outcome::Failed("timed out".into()),
            Err(error) => Outcome::Failed(error.to_string()),
        }
    }

    /// Whether the server answers `name` when asked with checking disabled (`CD`): a
    /// validating resolver that fails a name only while it validates has found its DNSSEC
    /// bogus. A plain query, since the resolver library has no `CD` switch.
    pub async fn answers_without_validation(&self, name: &str, record_type: RecordType) -> bool {
        let Ok(mut owner) = Name::from_ascii(name) else { return false };
        owner.set_fqdn(true);
        let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = true;
        message.metadata.checking_disabled = true;
        message.add_query(Query::query(owner, record_type));
        let stream = UdpClientStream::builder(self.address, TokioRuntimeProvider::default())
            .with_timeout(Some(self.timeout))
            .build();
        let (client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
        let background = tokio::spawn(background);
        let answer = client.send(DnsRequest::from(message)).next().await;
        background.abort();
        matches!(answer, Some(Ok(response)) if response.response_code == ResponseCode::NoError || response.response_code == ResponseCode::NXDomain)
    }
}

fn value(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect(),
        RData::CNAME(target) => ascii(&target.0),
        RData::NS(target) => ascii(&target.0),
        other => other.to_string(),
    }
}

/// The addresses of a nameserver's name, through `resolver`.
pub async fn addresses(resolver: &Server, host: &str) -> Vec<IpAddr> {
    resolver.ask(host, RecordType::A).await.values(RecordType::A).iter().filter_map(|a| a.parse().ok()).collect()
}
