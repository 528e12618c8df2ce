//! The simulated public DNS ([`SimDns`]) served as real DNS over UDP and TCP on a local port,
//! so the DNS doctor resolves in sandbox mode with the same code as against the Internet.
//!
//! One server plays both parts a resolver meets: asked without recursion it answers as the
//! zone's authoritative server (`AA` set); asked with recursion it answers as a validating
//! recursive resolver, which fails a zone with broken DNSSEC (SERVFAIL) unless checking is
//! disabled (`CD`), as Unbound or 1.1.1.1 do. The provider nameservers
//! (`ns1.vercel-dns.com`, …) resolve to the server's own address.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use crate::dns::{DnsProvider, SimDns};

/// A running server; it stops when dropped.
pub struct DnsServer {
    address: SocketAddr,
    dns: SimDns,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl DnsServer {
    /// Serves `dns` on `address` (port 0 picks one free for both UDP and TCP).
    pub async fn start(address: SocketAddr, dns: SimDns) -> std::io::Result<DnsServer> {
        let served = dns.clone();
        let (udp, tcp) = bind_both(address).await?;
        let address = udp.local_addr()?;
        let udp_task = {
            let dns = dns.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                loop {
                    let Ok((length, peer)) = udp.recv_from(&mut buffer).await else { continue };
                    if let Some(mut answer) = respond(&dns, address.ip(), &buffer[..length]) {
                        // Classic DNS over UDP: what does not fit in 512 bytes is truncated.
                        if answer.len() > 512 {
                            answer = truncated(&buffer[..length]).unwrap_or_default();
                        }
                        let _ = udp.send_to(&answer, peer).await;
                    }
                }
            })
        };
        let tcp_task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = tcp.accept().await else { continue };
                let dns = dns.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok(length) = stream.read_u16().await else { return };
                        let mut query = vec![0u8; usize::from(length)];
                        if stream.read_exact(&mut query).await.is_err() {
                            return;
                        }
                        let Some(answer) = respond(&dns, address.ip(), &query) else { return };
                        let Ok(length) = u16::try_from(answer.len()) else { return };
                        if stream.write_u16(length).await.is_err() || stream.write_all(&answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(DnsServer { address, dns: served, tasks: vec![udp_task, tcp_task] })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The DNS it serves (shared with the simulators).
    pub fn served(&self) -> &SimDns {
        &self.dns
    }
}

async fn bind_both(address: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    if address.port() != 0 {
        return Ok((UdpSocket::bind(address).await?, TcpListener::bind(address).await?));
    }
    // Port 0: take UDP's free port for TCP too, trying again if TCP has it taken.
    let mut last_error = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind(address).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no free port")))
}

fn truncated(query: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let mut answer = Message::response(query.metadata.id, OpCode::Query);
    answer.metadata.truncation = true;
    answer.add_queries(query.queries.clone());
    answer.to_vec().ok()
}

fn name(ascii: &str) -> Option<Name> {
    let mut name = Name::from_ascii(ascii).ok()?;
    name.set_fqdn(true);
    Some(name)
}

fn ascii(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// A stored value as record data, or `None` when it is not valid for its type.
fn rdata(record_type: RecordType, value: &str) -> Option<RData> {
    match record_type {
        // Character strings hold at most 255 bytes; longer text is split, as servers do.
        RecordType::TXT => Some(RData::TXT(TXT::new(
            value.as_bytes().chunks(255).map(|c| String::from_utf8_lossy(c).into_owned()).collect(),
        ))),
        RecordType::CNAME => Some(RData::CNAME(CNAME(name(value)?))),
        _ => RData::try_from_str(record_type, value).ok(),
    }
}

fn soa(zone: &str, provider: DnsProvider) -> Option<Record> {
    let [primary, _] = provider.nameservers();
    let data = SOA::new(name(primary)?, name(&format!("hostmaster.{zone}"))?, 1, 10_000, 2_400, 604_800, 300);
    Some(Record::from_rdata(name(zone)?, 300, RData::SOA(data)))
}

/// The answer to one query message, encoded; `None` for what is not a query.
fn respond(dns: &SimDns, own_address: IpAddr, query: &[u8]) -> Option<Vec<u8>> {
    let raw = query;
    let query = Message::from_vec(query).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    // A zone delegated to a real server: its answer, as a resolver would relay it.
    if let Some(server) = query.queries.first().and_then(|q| dns.delegated(&ascii(q.name()))) {
        return crate::dns::forward(server, raw);
    }
    let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
    answer.metadata.recursion_desired = query.metadata.recursion_desired;
    answer.metadata.recursion_available = true;
    answer.metadata.checking_disabled = query.metadata.checking_disabled;
    answer.add_queries(query.queries.clone());
    let Some(question) = query.queries.first().filter(|_| query.metadata.op_code == OpCode::Query) else {
        answer.metadata.response_code = ResponseCode::NotImp;
        return answer.to_vec().ok();
    };
    let asked = ascii(question.name());
    let record_type = question.query_type();

    // The provider nameservers themselves: this server.
    let nameserver =
        [DnsProvider::Vercel, DnsProvider::Cloudflare].iter().any(|p| p.nameservers().contains(&asked.as_str()));
    if nameserver {
        answer.metadata.authoritative = true;
        if let (RecordType::A, IpAddr::V4(ip)) = (record_type, own_address) {
            answer.add_answer(Record::from_rdata(question.name().clone(), 3600, RData::A(ip.into())));
        }
        return answer.to_vec().ok();
    }

    let Some((zone, provider)) = dns.authority(&asked) else {
        // Not a zone of the simulated Internet: the name does not exist.
        answer.metadata.response_code = ResponseCode::NXDomain;
        return answer.to_vec().ok();
    };
    let recursive = query.metadata.recursion_desired;
    if recursive && !query.metadata.checking_disabled && dns.dnssec_bogus(&asked) {
        answer.metadata.response_code = ResponseCode::ServFail;
        return answer.to_vec().ok();
    }
    answer.metadata.authoritative = !recursive;

    let mut current = asked.clone();
    // Follow CNAMEs inside the simulated DNS (a resolver would, and an authority does for
    // names in its own data), at most 8 deep.
    for _ in 0..8 {
        let owner = name(&current)?;
        let records = match record_type {
            RecordType::SOA if current == zone => soa(&zone, provider).into_iter().collect(),
            RecordType::NS if current == zone => provider
                .nameservers()
                .iter()
                .filter_map(|ns| Some(Record::from_rdata(owner.clone(), 3600, RData::NS(NS(name(ns)?)))))
                .collect(),
            _ => stored(dns, &owner, &current, record_type),
        };
        if !records.is_empty() {
            answer.add_answers(records);
            return answer.to_vec().ok();
        }
        let cname = (record_type != RecordType::CNAME).then(|| stored(dns, &owner, &current, RecordType::CNAME));
        match cname.and_then(|records| records.into_iter().next()) {
            Some(record) => {
                let target = match &record.data {
                    RData::CNAME(target) => ascii(&target.0),
                    _ => break,
                };
                answer.add_answer(record);
                if dns.authority(&target).is_none() {
                    // Outside the simulated zones: the resolver's chase ends with the CNAME.
                    return answer.to_vec().ok();
                }
                current = target;
            }
            None => break,
        }
    }
    if !dns.name_exists(&current) {
        answer.metadata.response_code = ResponseCode::NXDomain;
    }
    if let Some(soa) = soa(&zone, provider) {
        answer.add_authority(soa);
    }
    answer.to_vec().ok()
}

fn stored(dns: &SimDns, owner: &Name, ascii_name: &str, record_type: RecordType) -> Vec<Record> {
    dns.records(ascii_name, &record_type.to_string())
        .into_iter()
        .filter_map(|r| {
            Some(Record::from_rdata(owner.clone(), r.ttl, rdata(RecordType::from_str(&r.record_type).ok()?, &r.value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::DnsRecord;
    use hickory_proto::op::Query;

    fn ask(dns: &SimDns, asked: &str, record_type: RecordType, recursive: bool, checking_disabled: bool) -> Message {
        let mut query = Message::new(7, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = recursive;
        query.metadata.checking_disabled = checking_disabled;
        query.add_query(Query::query(name(asked).unwrap(), record_type));
        Message::from_vec(&respond(dns, "127.0.0.1".parse().unwrap(), &query.to_vec().unwrap()).unwrap()).unwrap()
    }

    fn publish(dns: &SimDns, id: &str, record_name: &str, record_type: &str, value: &str) {
        dns.publish(DnsRecord {
            provider: DnsProvider::Cloudflare,
            id: id.into(),
            name: record_name.into(),
            record_type: record_type.into(),
            value: value.into(),
            ttl: 120,
            system: false,
        });
    }

    #[test]
    fn answers_as_authority_and_as_validating_resolver() {
        let dns = SimDns::default();
        dns.claim_zone("acme.test", DnsProvider::Cloudflare);
        publish(&dns, "1", "acme.test", "A", "192.0.2.1");
        publish(&dns, "2", "www.acme.test", "CNAME", "acme.test");
        publish(&dns, "3", "acme.test", "CAA", "0 issue \"letsencrypt.org\"");

        let apex = ask(&dns, "acme.test", RecordType::A, false, false);
        assert!(apex.metadata.authoritative);
        assert_eq!(apex.answers[0].data.to_string(), "192.0.2.1");
        assert_eq!(apex.answers[0].ttl, 120);

        let www = ask(&dns, "www.acme.test", RecordType::A, true, false);
        assert_eq!(www.answers.len(), 2, "the CNAME and the address it leads to");
        assert!(!www.metadata.authoritative);

        let ns = ask(&dns, "acme.test", RecordType::NS, false, false);
        assert_eq!(ns.answers.len(), 2);
        assert!(ns.answers[0].data.to_string().contains("ns.cloudflare.com"));
        let glue = ask(&dns, "ada.ns.cloudflare.com", RecordType::A, false, false);
        assert_eq!(glue.answers[0].data.to_string(), "127.0.0.1");

        let caa = ask(&dns, "acme.test", RecordType::CAA, false, false);
        assert!(caa.answers[0].data.to_string().contains("letsencrypt.org"));

        let missing = ask(&dns, "nope.acme.test", RecordType::A, false, false);
        assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(missing.authorities.len(), 1, "the SOA for negative caching");
        let empty = ask(&dns, "acme.test", RecordType::AAAA, false, false);
        assert_eq!(empty.metadata.response_code, ResponseCode::NoError);
        assert!(empty.answers.is_empty());
        assert_eq!(ask(&dns, "other.test", RecordType::A, true, false).metadata.response_code, ResponseCode::NXDomain);

        dns.set_dnssec_bogus("acme.test", true);
        assert_eq!(ask(&dns, "acme.test", RecordType::A, true, false).metadata.response_code, ResponseCode::ServFail);
        assert_eq!(ask(&dns, "acme.test", RecordType::A, true, true).answers.len(), 1, "checking disabled");
        assert_eq!(ask(&dns, "acme.test", RecordType::A, false, false).answers.len(), 1, "the authority serves it");
    }

    #[tokio::test]
    async fn serves_udp_and_tcp_on_one_port() {
        let dns = SimDns::default();
        dns.claim_zone("acme.test", DnsProvider::Cloudflare);
        publish(&dns, "1", "acme.test", "TXT", &"t".repeat(300));
        let server = DnsServer::start("127.0.0.1:0".parse().unwrap(), dns).await.unwrap();
        let mut query = Message::new(9, MessageType::Query, OpCode::Query);
        query.add_query(Query::query(name("acme.test").unwrap(), RecordType::TXT));
        let bytes = query.to_vec().unwrap();

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp.send_to(&bytes, server.address()).await.unwrap();
        let mut buffer = [0u8; 1024];
        let length = udp.recv(&mut buffer).await.unwrap();
        let answer = Message::from_vec(&buffer[..length]).unwrap();
        assert_eq!(answer.answers.len(), 1);

        let mut tcp = tokio::net::TcpStream::connect(server.address()).await.unwrap();
        tcp.write_u16(bytes.len() as u16).await.unwrap();
        tcp.write_all(&bytes).await.unwrap();
        let length = tcp.read_u16().await.unwrap();
        let mut buffer = vec![0u8; usize::from(length)];
        tcp.read_exact(&mut buffer).await.unwrap();
        assert_eq!(Message::from_vec(&buffer).unwrap().answers.len(), 1);
    }
}
