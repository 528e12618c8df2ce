//! The DNS doctor at work: it asks every configured resolver and the zone's own nameservers
//! what they hold for a venture's names, in parallel, and judges the answers with the rules of
//! [`super::doctor`] and [`super::caa`]: delegation, addresses, the `_vercel` challenge, CAA,
//! resolvers that disagree (propagation), DNSSEC that fails validation, slow TTLs. Each finding
//! names the fix and where to make it.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use futures_util::future::join_all;
use hickory_net::proto::rr::RecordType;
use serde::{Deserialize, Serialize};

use super::caa::{self, CaaRecord, Verdict};
use super::doctor::{Answers, Finding, Level, Recommended, check_name};
use super::records::caa_record;
use super::resolve::{DnsSettings, Outcome, Server, addresses};

/// The certificate authority Vercel's certificates come from.
const VERCEL_AUTHORITY: &str = "letsencrypt.org";

/// TTLs above this make a change take long to reach every visitor.
const SLOW_TTL: u32 = 3600;

/// What the domain should look like, from Vercel's domain config and the venture's spec.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The zone's apex (`acme.com`).
    pub apex: String,
    /// Each name to check with what Vercel recommends for it.
    pub names: Vec<(String, Recommended)>,
    /// Where the zone should be delegated: the provider's name and its nameservers.
    pub nameservers: Option<(String, Vec<String>)>,
    /// The `_vercel` TXT value Vercel asked for, while it asks for one.
    pub verification: Option<String>,
    /// Where the user changes records, as the fixes name it (`Cloudflare`, `your registrar`).
    pub provider: String,
}

/// What one asked server contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServerAsked {
    /// `resolver 1.1.1.1` or `nameserver 192.0.2.53`.
    pub server: String,
    pub answered: bool,
}

/// The doctor's report on one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub domain: String,
    pub findings: Vec<Finding>,
    pub servers: Vec<ServerAsked>,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: u64,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Error).count()
    }
}

/// One server's answers for one name. The CNAME is asked for first: a name that has one is
/// judged by it, and its addresses are not asked (a nameserver cannot chase a CNAME out of
/// its zones, and a failed chase is not the name's fault).
struct NameView {
    cname: Outcome,
    a: Outcome,
    aaaa: Outcome,
}

impl NameView {
    fn answers(&self, name: &str) -> Answers {
        let addresses = |outcome: &Outcome, record_type| -> Vec<String> { outcome.values_at(name, record_type) };
        Answers {
            a: addresses(&self.a, RecordType::A).iter().filter_map(|v| v.parse().ok()).collect(),
            aaaa: addresses(&self.aaaa, RecordType::AAAA).iter().filter_map(|v| v.parse().ok()).collect(),
            cname: self.cname.values_at(name, RecordType::CNAME).into_iter().next(),
        }
    }

    fn failure(&self) -> Option<&str> {
        self.cname.failed().or(self.a.failed()).or(self.aaaa.failed())
    }

    /// What a visitor would be sent to, for comparing servers: the CNAME and the addresses.
    fn summary(&self, name: &str) -> String {
        let answers = self.answers(name);
        let mut parts: Vec<String> = answers.cname.iter().map(|c| format!("CNAME {c}")).collect();
        let mut addresses: Vec<String> = answers.a.iter().map(ToString::to_string).collect();
        addresses.extend(answers.aaaa.iter().map(ToString::to_string));
        addresses.sort();
        parts.extend(addresses);
        if parts.is_empty() { "nothing".into() } else { parts.join(", ") }
    }

    fn ttl(&self) -> Option<u32> {
        self.cname.records().first().or(self.a.records().first()).map(|record| record.ttl)
    }
}

async fn view(server: &Server, names: &[String]) -> Vec<NameView> {
    join_all(names.iter().map(|name| async move {
        let cname = server.ask(name, RecordType::CNAME).await;
        if !cname.values_at(name, RecordType::CNAME).is_empty() {
            return NameView { cname, a: Outcome::NoData, aaaa: Outcome::NoData };
        }
        let (a, aaaa) = tokio::join!(server.ask(name, RecordType::A), server.ask(name, RecordType::AAAA));
        NameView { cname, a, aaaa }
    }))
    .await
}

fn finding(check: &str, level: Level, name: &str, problem: String, fix: String) -> Finding {
    Finding { check: check.into(), level, name: name.into(), problem, fix }
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

/// Cloudflare's proxy ranges (its published IPv4 list), where a proxied record resolves.
fn cloudflare_proxy(address: &Ipv4Addr) -> bool {
    let ranges: [(Ipv4Addr, u32); 7] = [
        (Ipv4Addr::new(104, 16, 0, 0), 13),
        (Ipv4Addr::new(104, 24, 0, 0), 14),
        (Ipv4Addr::new(172, 64, 0, 0), 13),
        (Ipv4Addr::new(162, 158, 0, 0), 15),
        (Ipv4Addr::new(188, 114, 96, 0), 20),
        (Ipv4Addr::new(190, 93, 240, 0), 20),
        (Ipv4Addr::new(141, 101, 64, 0), 18),
    ];
    let bits = u32::from(*address);
    ranges.iter().any(|(base, prefix)| bits >> (32 - prefix) == u32::from(*base) >> (32 - prefix))
}

/// Runs every check on `expected`'s domain.
pub async fn diagnose(settings: &DnsSettings, expected: &Expected) -> Report {
    let started = Instant::now();
    let apex = expected.apex.clone();
    let at = |fix: String| format!("{fix} (at {})", expected.provider);
    let mut findings = Vec::new();
    let mut asked = Vec::new();

    let resolvers: Vec<Server> = settings.resolvers.iter().map(|a| Server::new(*a, true, settings.timeout)).collect();
    let names: Vec<String> = expected.names.iter().map(|(name, _)| name.clone()).collect();

    // Every resolver at once: the zone's NS and each name's addresses.
    let resolver_views = join_all(resolvers.iter().map(|resolver| {
        let names = &names;
        let apex = &apex;
        async move { tokio::join!(resolver.ask(apex, RecordType::NS), view(resolver, names)) }
    }))
    .await;

    // DNSSEC: a resolver that fails the apex only while validating has found it bogus.
    let mut bogus = Vec::new();
    for (resolver, (ns, _)) in resolvers.iter().zip(&resolver_views) {
        if ns.is_server_failure() && resolver.answers_without_validation(&apex, RecordType::NS).await {
            bogus.push(resolver.label());
        }
    }
    if !bogus.is_empty() {
        findings.push(finding(
            "dnssec_bogus",
            Level::Error,
            &apex,
            format!(
                "DNSSEC validation fails for {apex}: validating resolvers ({}) refuse to answer for it, so visitors behind them cannot reach the site and certificates cannot be issued",
                list(&bogus)
            ),
            format!(
                "at your registrar, remove the DS record of {apex} or re-sign the zone with the key the DS record names"
            ),
        ));
    }
    for (resolver, (ns, views)) in resolvers.iter().zip(&resolver_views) {
        let failure = ns.failed().or(views.iter().find_map(NameView::failure));
        asked.push(ServerAsked { server: resolver.label(), answered: failure.is_none() });
        if let Some(reason) = failure
            && !bogus.contains(&resolver.label())
        {
            findings.push(finding(
                "resolver_failed",
                Level::Warn,
                &apex,
                format!(
                    "the {} gave no usable answer for {apex} ({reason}); what it would tell visitors is unknown, so it is not counted",
                    resolver.label()
                ),
                "check again in a minute; if it persists, the zone's nameservers may be unreachable from there".into(),
            ));
        }
    }

    // The first resolver with an answer for the NS stands for "the Internet" below.
    let Some(reference) = resolver_views.iter().position(|(ns, _)| ns.failed().is_none()) else {
        if !bogus.is_empty() {
            // DNSSEC explains the silence; nothing else can be checked until it is fixed.
            return Report { domain: apex, findings, servers: asked, elapsed_ms: elapsed(started) };
        }
        findings.push(finding(
            "no_answer",
            Level::Error,
            &apex,
            format!("none of the resolvers answered for {apex}, so nothing could be checked"),
            "check the resolvers Slipway is configured with (SLIPWAY_DNS_RESOLVERS) and that this host may reach them"
                .into(),
        ));
        return Report { domain: apex, findings, servers: asked, elapsed_ms: elapsed(started) };
    };
    let (ns, resolver_names) = &resolver_views[reference];
    let reference_resolver = &resolvers[reference];
    if *ns == Outcome::NxDomain {
        findings.push(finding(
            "not_registered",
            Level::Error,
            &apex,
            format!(
                "{apex} does not exist in DNS (the resolvers answer NXDOMAIN): it is not registered, or it expired"
            ),
            format!("register {apex}, or renew it at its registrar"),
        ));
        return Report { domain: apex, findings, servers: asked, elapsed_ms: elapsed(started) };
    }

    // Delegation.
    let mut delegated: Vec<String> = ns.values_at(&apex, RecordType::NS);
    delegated.sort();
    if let Some((provider, wanted)) = &expected.nameservers {
        let mut wanted: Vec<String> = wanted.iter().map(|n| n.trim_end_matches('.').to_ascii_lowercase()).collect();
        wanted.sort();
        if delegated != wanted {
            findings.push(finding(
                "ns_delegation",
                Level::Error,
                &apex,
                format!(
                    "{apex} is delegated to {}, not to {provider}'s nameservers, so the records {provider} holds are not the ones visitors see",
                    if delegated.is_empty() { "no nameservers".to_string() } else { list(&delegated) }
                ),
                format!("at your registrar, set the nameservers of {apex} to {}", list(&wanted)),
            ));
        }
    }

    // The zone's own nameservers, asked without recursion: what the zone says now.
    let mut nameservers = Vec::new();
    for host in &delegated {
        for ip in addresses(reference_resolver, host).await {
            let address = SocketAddr::new(ip, settings.nameserver_port);
            if !nameservers.iter().any(|s: &Server| s.address == address) {
                nameservers.push(Server::new(address, false, settings.timeout));
            }
        }
    }
    let nameserver_views = join_all(nameservers.iter().map(|server| view(server, &names))).await;
    for (server, views) in nameservers.iter().zip(&nameserver_views) {
        let failure = views.iter().find_map(NameView::failure);
        asked.push(ServerAsked { server: server.label(), answered: failure.is_none() });
        if let Some(reason) = failure {
            findings.push(finding(
                "nameserver_failed",
                Level::Warn,
                &apex,
                format!("the {} (a nameserver of {apex}) gave no usable answer ({reason})", server.label()),
                "check that every nameserver listed for the zone serves it".into(),
            ));
        }
    }
    let authority = nameserver_views.iter().position(|views| views.iter().all(|v| v.failure().is_none()));

    // Each name against what Vercel recommends, as the zone holds it (else as resolvers see it).
    let truth: &[NameView] = authority.map_or(resolver_names.as_slice(), |index| nameserver_views[index].as_slice());
    for (index, (name, wanted)) in expected.names.iter().enumerate() {
        if truth[index].failure().is_some() {
            // No answer is not "no records": the server's failure is reported above.
            continue;
        }
        let answers = truth[index].answers(name);
        let proxied: Vec<&Ipv4Addr> = answers.a.iter().filter(|a| cloudflare_proxy(a)).collect();
        if !proxied.is_empty() && proxied.len() == answers.a.len() && answers.cname.is_none() {
            findings.push(finding(
                "cloudflare_proxied",
                Level::Error,
                name,
                format!(
                    "{name} is proxied by Cloudflare (it resolves to Cloudflare's {}): visitors reach Cloudflare instead of Vercel, and Vercel cannot issue its certificate behind the proxy",
                    proxied.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
                format!("at Cloudflare, set the record of {name} to DNS only (grey cloud)"),
            ));
        } else {
            findings.extend(check_name(name, &answers, wanted).into_iter().map(|f| Finding { fix: at(f.fix), ..f }));
        }
        if let Some(ttl) = truth[index].ttl().filter(|ttl| *ttl > SLOW_TTL) {
            findings.push(finding(
                "slow_ttl",
                Level::Warn,
                name,
                format!(
                    "{name} has a TTL of {ttl} s: resolvers keep the old answer for up to {} after a change",
                    human(ttl)
                ),
                at(format!("lower the TTL of {name} to 300, a TTL's time before changing it")),
            ));
        }
        // Propagation: every resolver should say what the zone says.
        if authority.is_some() {
            let zone_says = truth[index].summary(name);
            let behind: Vec<String> = resolvers
                .iter()
                .zip(&resolver_views)
                .filter(|(_, (_, views))| views[index].failure().is_none())
                .filter(|(_, (_, views))| views[index].summary(name) != zone_says)
                .map(|(resolver, (_, views))| format!("{} answers {}", resolver.label(), views[index].summary(name)))
                .collect();
            if !behind.is_empty() {
                let ttl = truth[index].ttl().unwrap_or(300);
                findings.push(finding(
                    "propagation",
                    Level::Warn,
                name,
                    format!(
                        "resolvers disagree on {name}: its nameservers answer {zone_says}, but {}; they catch up within the TTL ({})",
                        behind.join("; "),
                        human(ttl)
                    ),
                    "nothing to change: check again after the TTL has passed".into(),
                ));
            }
        }
    }

    // Vercel's ownership challenge.
    if let Some(value) = &expected.verification {
        let label = format!("_vercel.{apex}");
        let asker = authority.map_or(reference_resolver, |index| &nameservers[index]);
        let present = asker.ask(&label, RecordType::TXT).await.values_at(&label, RecordType::TXT);
        if !present.contains(value) {
            let doubled = format!("{label}.{apex}");
            let misplaced = !asker.ask(&doubled, RecordType::TXT).await.values_at(&doubled, RecordType::TXT).is_empty();
            let (check, problem) = if misplaced {
                (
                    "verification_doubled_label",
                    format!(
                        "Vercel's TXT challenge sits at {doubled}: the DNS panel appended the domain to a name that already held it"
                    ),
                )
            } else if present.is_empty() {
                (
                    "verification_missing",
                    format!(
                        "Vercel asks to prove that {apex} is yours with a TXT record at {label}, and there is none"
                    ),
                )
            } else {
                (
                    "verification_wrong",
                    format!("the TXT records at {label} hold {}, not the value Vercel asks for", list(&present)),
                )
            };
            findings.push(finding(check, Level::Error, &label, problem, at(format!("add TXT {label} \"{value}\""))));
        }
    }

    // CAA, per RFC 8659: the nearest non-empty set above each name (CNAMEs followed), up to
    // the registrable domain, as Let's Debug climbs (a public suffix holds no CAA of yours).
    let mut seen = BTreeSet::new();
    for (name, _) in &expected.names {
        let climbed: Vec<String> =
            caa::climb(name).into_iter().filter(|at| *at == apex || at.ends_with(&format!(".{apex}"))).collect();
        let lookups = join_all(climbed.iter().map(|at| reference_resolver.ask(at, RecordType::CAA))).await;
        if let Some(reason) = lookups.iter().find_map(Outcome::failed) {
            findings.push(finding(
                "caa_lookup_failed",
                Level::Warn,
                name,
                format!(
                    "the CAA lookup for {name} failed ({reason}); Let's Encrypt refuses to issue while it cannot read CAA"
                ),
                "check again; if it persists, the zone's nameservers fail CAA queries".into(),
            ));
            continue;
        }
        let found: Vec<(String, Vec<CaaRecord>)> = climbed
            .iter()
            .zip(&lookups)
            .map(|(at, outcome)| {
                (at.clone(), outcome.values(RecordType::CAA).iter().filter_map(|v| caa_record(v)).collect())
            })
            .collect();
        let Some((owner, records)) = caa::relevant(&found) else { continue };
        if !seen.insert((owner.to_string(), name.starts_with("*."))) {
            continue;
        }
        let record = format!("CAA {owner} 0 issue \"{VERCEL_AUTHORITY}\"");
        match caa::verdict(records, VERCEL_AUTHORITY, name.starts_with("*.")) {
            Verdict::Unrestricted | Verdict::Allowed => {}
            Verdict::NotListed { authorized } => findings.push(finding(
                "caa_forbids",
                Level::Error,
                name,
                format!(
                    "the CAA records at {owner} let {} issue certificates for {name}, and Vercel's come from Let's Encrypt, so none can be issued",
                    if authorized.is_empty() { "no authority".to_string() } else { list(&authorized) }
                ),
                at(format!("add {record}")),
            )),
            Verdict::CriticalUnknown { tag } => findings.push(finding(
                "caa_critical_unknown",
                Level::Error,
                name,
                format!(
                    "a CAA record at {owner} has the critical flag with the unknown tag {tag}, which forbids every authority to issue"
                ),
                at(format!("remove the CAA record with tag {tag} at {owner}, or clear its critical flag")),
            )),
            Verdict::Restricted { parameters } => findings.push(finding(
                "caa_restricted",
                Level::Error,
                name,
                format!(
                    "the CAA records at {owner} allow Let's Encrypt only with {parameters} (RFC 8657), which Vercel's ACME account cannot meet"
                ),
                at(format!("replace that CAA record with {record}")),
            )),
        }
    }

    findings.sort_by_key(|f| f.level);
    Report { domain: apex, findings, servers: asked, elapsed_ms: elapsed(started) }
}

fn elapsed(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn human(seconds: u32) -> String {
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudflare_proxy_ranges() {
        assert!(cloudflare_proxy(&"104.21.48.1".parse().unwrap()));
        assert!(cloudflare_proxy(&"172.67.1.1".parse().unwrap()));
        assert!(!cloudflare_proxy(&"76.76.21.21".parse().unwrap()));
    }
}
