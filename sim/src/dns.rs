//! The simulated public DNS that the simulators share: each zone is served by one provider
//! (Vercel DNS or Cloudflare), and only the records that provider publishes for it resolve.
//! The Vercel simulator reads it to decide domain verification (the `_vercel` TXT challenge)
//! and configuration (apex A / www CNAME), like the real platform reads the public DNS, and
//! the DNS server module serves it as real DNS on a local port.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use std::sync::{Arc, Mutex};

/// Who answers for a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsProvider {
    Vercel,
    Cloudflare,
}

impl DnsProvider {
    /// The nameservers a zone at this provider is delegated to.
    pub fn nameservers(self) -> [&'static str; 2] {
        match self {
            DnsProvider::Vercel => ["ns1.vercel-dns.com", "ns2.vercel-dns.com"],
            DnsProvider::Cloudflare => ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    pub provider: DnsProvider,
    /// The provider's record id, so updates and deletes find it.
    pub id: String,
    /// Fully qualified, lowercase, without the trailing dot.
    pub name: String,
    pub record_type: String,
    pub value: String,
    pub ttl: u32,
    /// A record the provider adds by itself (Vercel DNS's CAA and its answers for project
    /// domains): a user's record of the same name and type takes precedence.
    pub system: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// Zone apex → the provider its nameservers point at.
    zones: BTreeMap<String, DnsProvider>,
    records: Vec<DnsRecord>,
    /// Zones whose DNSSEC signatures fail validation (a fault): validating resolvers answer
    /// SERVFAIL for them unless asked with checking disabled.
    bogus: BTreeSet<String>,
    /// Zones the simulated Internet delegates to a real DNS server (a test's Knot): names in
    /// them resolve by asking it.
    delegations: BTreeMap<String, SocketAddr>,
}

/// Cheap to clone; clones share one DNS.
#[derive(Debug, Clone, Default)]
pub struct SimDns {
    inner: Arc<Mutex<Inner>>,
}

pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl SimDns {
    /// Makes `provider` answer for `zone`, unless another provider already does. Returns the
    /// provider that answers afterwards.
    pub fn claim_zone(&self, zone: &str, provider: DnsProvider) -> DnsProvider {
        *self.inner.lock().unwrap().zones.entry(normalize(zone)).or_insert(provider)
    }

    pub fn release_zone(&self, zone: &str, provider: DnsProvider) {
        let mut inner = self.inner.lock().unwrap();
        let zone = normalize(zone);
        if inner.zones.get(&zone) == Some(&provider) {
            inner.zones.remove(&zone);
        }
    }

    /// The zone that `name` falls in and its provider (the longest matching apex).
    pub fn authority(&self, name: &str) -> Option<(String, DnsProvider)> {
        let name = normalize(name);
        let inner = self.inner.lock().unwrap();
        inner
            .zones
            .iter()
            .filter(|(zone, _)| name == **zone || name.ends_with(&format!(".{zone}")))
            .max_by_key(|(zone, _)| zone.len())
            .map(|(zone, provider)| (zone.clone(), *provider))
    }

    /// Adds or replaces the record with this provider and id.
    pub fn publish(&self, record: DnsRecord) {
        let record = DnsRecord { name: normalize(&record.name), ..record };
        let mut inner = self.inner.lock().unwrap();
        inner.records.retain(|r| !(r.provider == record.provider && r.id == record.id));
        inner.records.push(record);
    }

    /// Withdraws every record of `provider` whose id starts with `prefix`.
    pub fn withdraw_prefixed(&self, provider: DnsProvider, prefix: &str) {
        self.inner.lock().unwrap().records.retain(|r| !(r.provider == provider && r.id.starts_with(prefix)));
    }

    pub fn withdraw(&self, provider: DnsProvider, id: &str) {
        self.inner.lock().unwrap().records.retain(|r| !(r.provider == provider && r.id == id));
    }

    /// What a resolver gets for `name` and `record_type`: the authoritative provider's records,
    /// or the delegated server's answer.
    pub fn lookup(&self, name: &str, record_type: &str) -> Vec<String> {
        if let Some(server) = self.delegated(name) {
            return ask_server(server, name, record_type);
        }
        self.records(name, record_type).into_iter().map(|r| r.value).collect()
    }

    /// Delegates `zone` to a real DNS server at `server`.
    pub fn delegate(&self, zone: &str, server: SocketAddr) {
        self.inner.lock().unwrap().delegations.insert(normalize(zone), server);
    }

    /// The server a delegated zone holding `name` is served by.
    pub fn delegated(&self, name: &str) -> Option<SocketAddr> {
        let name = normalize(name);
        let inner = self.inner.lock().unwrap();
        inner
            .delegations
            .iter()
            .filter(|(zone, _)| name == **zone || name.ends_with(&format!(".{zone}")))
            .max_by_key(|(zone, _)| zone.len())
            .map(|(_, server)| *server)
    }

    /// The records behind [`SimDns::lookup`], with their TTLs. A provider's own records give
    /// way to a user's of the same name and type.
    pub fn records(&self, name: &str, record_type: &str) -> Vec<DnsRecord> {
        let Some((_, provider)) = self.authority(name) else { return Vec::new() };
        let name = normalize(name);
        let inner = self.inner.lock().unwrap();
        let matching: Vec<&DnsRecord> = inner
            .records
            .iter()
            .filter(|r| r.provider == provider && r.name == name && r.record_type.eq_ignore_ascii_case(record_type))
            .collect();
        let users = matching.iter().any(|r| !r.system);
        matching.into_iter().filter(|r| !(users && r.system)).cloned().collect()
    }

    /// Whether any record of any type exists at `name` (else the name does not exist).
    pub fn name_exists(&self, name: &str) -> bool {
        let Some((zone, provider)) = self.authority(name) else { return false };
        let name = normalize(name);
        let suffix = format!(".{name}");
        // A name with records below it exists too (an empty non-terminal).
        name == zone
            || self
                .inner
                .lock()
                .unwrap()
                .records
                .iter()
                .any(|r| r.provider == provider && (r.name == name || r.name.ends_with(&suffix)))
    }

    /// Breaks (or repairs) DNSSEC validation for `zone`.
    pub fn set_dnssec_bogus(&self, zone: &str, bogus: bool) {
        let mut inner = self.inner.lock().unwrap();
        if bogus {
            inner.bogus.insert(normalize(zone));
        } else {
            inner.bogus.remove(&normalize(zone));
        }
    }

    /// Whether validation fails for `name` (it is in a zone set bogus).
    pub fn dnssec_bogus(&self, name: &str) -> bool {
        self.authority(name).is_some_and(|(zone, _)| self.inner.lock().unwrap().bogus.contains(&zone))
    }
}

/// Asks `server` (without recursion) for `name`'s `record_type` records, as the simulators
/// read a delegated zone; no answer reads as no records.
fn ask_server(server: SocketAddr, name: &str, record_type: &str) -> Vec<String> {
    let (Ok(owner), Ok(kind)) = (Name::from_ascii(format!("{}.", normalize(name))), record_type.parse::<RecordType>())
    else {
        return Vec::new();
    };
    let mut query = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    query.add_query(Query::query(owner.clone(), kind));
    let Some(answer) = forward(server, &query.to_vec().unwrap_or_default()) else { return Vec::new() };
    let Ok(answer) = Message::from_vec(&answer) else { return Vec::new() };
    answer
        .answers
        .iter()
        .filter(|r| r.record_type() == kind && r.name == owner)
        .map(|r| match &r.data {
            RData::TXT(txt) => txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect(),
            RData::CNAME(target) => target.0.to_ascii().trim_end_matches('.').to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// Sends one DNS message to `server` over UDP and returns its answer.
pub(crate) fn forward(server: SocketAddr, message: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    socket.send_to(message, server).ok()?;
    let mut buffer = vec![0u8; 4096];
    let length = socket.recv(&mut buffer).ok()?;
    buffer.truncate(length);
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(provider: DnsProvider, id: &str, name: &str, value: &str) -> DnsRecord {
        DnsRecord {
            provider,
            id: id.into(),
            name: name.into(),
            record_type: "TXT".into(),
            value: value.into(),
            ttl: 60,
            system: false,
        }
    }

    #[test]
    fn only_the_zone_authority_answers() {
        let dns = SimDns::default();
        assert_eq!(dns.claim_zone("Example.com.", DnsProvider::Cloudflare), DnsProvider::Cloudflare);
        assert_eq!(dns.claim_zone("example.com", DnsProvider::Vercel), DnsProvider::Cloudflare, "first claim wins");
        dns.publish(record(DnsProvider::Cloudflare, "1", "_vercel.example.com", "cf"));
        dns.publish(record(DnsProvider::Vercel, "2", "_vercel.example.com", "vercel"));
        assert_eq!(dns.lookup("_vercel.EXAMPLE.com.", "txt"), ["cf"]);
        assert!(dns.lookup("_vercel.example.org", "TXT").is_empty(), "no zone, no answer");

        dns.publish(record(DnsProvider::Cloudflare, "1", "_vercel.example.com", "cf-2"));
        assert_eq!(dns.lookup("_vercel.example.com", "TXT"), ["cf-2"], "same id replaces");
        dns.withdraw(DnsProvider::Cloudflare, "1");
        assert!(dns.lookup("_vercel.example.com", "TXT").is_empty());

        dns.release_zone("example.com", DnsProvider::Cloudflare);
        dns.claim_zone("example.com", DnsProvider::Vercel);
        assert_eq!(dns.lookup("_vercel.example.com", "TXT"), ["vercel"]);
        assert_eq!(dns.authority("a.b.example.com"), Some(("example.com".into(), DnsProvider::Vercel)));
    }

    #[test]
    fn a_users_record_shadows_the_providers_own() {
        let dns = SimDns::default();
        dns.claim_zone("example.com", DnsProvider::Vercel);
        dns.publish(DnsRecord { system: true, ..record(DnsProvider::Vercel, "s", "example.com", "system") });
        assert_eq!(dns.lookup("example.com", "TXT"), ["system"]);
        dns.publish(record(DnsProvider::Vercel, "u", "example.com", "user"));
        assert_eq!(dns.lookup("example.com", "TXT"), ["user"]);
        assert!(dns.name_exists("example.com") && !dns.name_exists("www.example.com"));
        dns.publish(record(DnsProvider::Vercel, "d", "_x.deep.example.com", "v"));
        assert!(dns.name_exists("deep.example.com"), "an empty non-terminal exists");
        assert!(!dns.dnssec_bogus("www.example.com"));
        dns.set_dnssec_bogus("example.com", true);
        assert!(dns.dnssec_bogus("www.example.com"));
    }
}
