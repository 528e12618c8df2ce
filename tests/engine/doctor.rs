//! The DNS doctor against real DNS servers: Knot serving fixture zones (each check has a zone
//! that triggers it and one that does not), and the sandbox's simulated public DNS served on a
//! local port (DNSSEC failing validation, a name that does not exist).

use std::net::SocketAddr;
use std::time::Duration;

use slipway_engine::domains::diagnosis::{Expected, Report, diagnose};
use slipway_engine::domains::doctor::{Level, Recommended};
use slipway_engine::domains::resolve::DnsSettings;
use slipway_sim::dns::{DnsProvider, DnsRecord, SimDns};
use slipway_sim::dns_server::DnsServer;

use crate::knot::{Knot, zone_file};

const EDGE: &str = "76.76.21.21";

fn expected(apex: &str, verification: Option<&str>) -> Expected {
    let ipv4 = vec![EDGE.parse().unwrap()];
    Expected {
        apex: apex.into(),
        names: vec![
            (apex.into(), Recommended { apex: true, ipv4: ipv4.clone(), cname: None }),
            (format!("www.{apex}"), Recommended { apex: false, ipv4, cname: Some("cname.vercel-dns.com".into()) }),
        ],
        nameservers: None,
        verification: verification.map(Into::into),
        provider: "your DNS server".into(),
    }
}

fn settings(resolvers: &[SocketAddr], nameserver_port: u16) -> DnsSettings {
    DnsSettings { resolvers: resolvers.to_vec(), nameserver_port, timeout: Duration::from_millis(800) }
}

fn checks(report: &Report) -> Vec<(String, Level, String)> {
    let mut found: Vec<_> = report.findings.iter().map(|f| (f.check.clone(), f.level, f.name.clone())).collect();
    found.sort();
    found
}

/// Vercel's own zone, as the Internet has it: CNAMEs to Vercel lead here, and so does the
/// CAA lookup that follows them (RFC 8659 §3).
fn vercel_zone() -> (&'static str, String) {
    ("vercel-dns.com", zone_file("vercel-dns.com", "cname A 76.76.21.21\n@ CAA 0 issue \"letsencrypt.org\""))
}

const HEALTHY: &str = "@ A 76.76.21.21\nwww CNAME cname.vercel-dns.com.\n_vercel TXT \"vc-domain-verify=acme.test,1\"\n@ CAA 0 issue \"letsencrypt.org\"";

#[tokio::test]
async fn a_healthy_zone_has_no_finding_and_a_broken_one_has_each_with_its_fix() {
    let knot = Knot::start(&[
        vercel_zone(),
        ("acme.test", zone_file("acme.test", HEALTHY)),
        (
            "broken.test",
            zone_file(
                "broken.test",
                "@ A 192.0.2.1\n@ AAAA 2001:db8::1\nwww 86400 CNAME elsewhere.broken.test.\nelsewhere A 192.0.2.3\n\
                 _vercel.broken.test TXT \"vc-domain-verify=broken.test,1\"\n@ CAA 0 issue \"digicert.com\"",
            ),
        ),
    ]);
    let dns = settings(&[knot.address], knot.address.port());

    let healthy = diagnose(&dns, &expected("acme.test", Some("vc-domain-verify=acme.test,1"))).await;
    assert_eq!(checks(&healthy), [], "{healthy:#?}");
    assert!(healthy.servers.iter().all(|s| s.answered), "{:?}", healthy.servers);
    assert_eq!(healthy.servers.len(), 2, "the resolver and the nameserver found through NS");

    let mut broken_expected = expected("broken.test", Some("vc-domain-verify=broken.test,1"));
    broken_expected.nameservers =
        Some(("Vercel DNS".into(), vec!["ns1.vercel-dns.com".into(), "ns2.vercel-dns.com".into()]));
    let broken = diagnose(&dns, &broken_expected).await;
    let www = "www.broken.test".to_string();
    let apex = "broken.test".to_string();
    assert_eq!(
        checks(&broken),
        [
            ("aaaa_bypasses_vercel".into(), Level::Error, apex.clone()),
            ("caa_forbids".into(), Level::Error, apex.clone()),
            ("cname_elsewhere".into(), Level::Error, www.clone()),
            ("ns_delegation".into(), Level::Error, apex.clone()),
            ("points_elsewhere".into(), Level::Error, apex.clone()),
            ("slow_ttl".into(), Level::Warn, www.clone()),
            ("verification_doubled_label".into(), Level::Error, "_vercel.broken.test".into()),
        ],
        "{broken:#?}"
    );
    let fix = |check: &str| broken.findings.iter().find(|f| f.check == check).unwrap().fix.clone();
    assert_eq!(fix("caa_forbids"), "add CAA broken.test 0 issue \"letsencrypt.org\" (at your DNS server)");
    assert_eq!(
        fix("ns_delegation"),
        "at your registrar, set the nameservers of broken.test to ns1.vercel-dns.com, ns2.vercel-dns.com"
    );
    assert_eq!(
        fix("verification_doubled_label"),
        "add TXT _vercel.broken.test \"vc-domain-verify=broken.test,1\" (at your DNS server)"
    );
    assert!(fix("slow_ttl").contains("lower the TTL of www.broken.test to 300"));
    assert!(broken.findings.iter().find(|f| f.check == "slow_ttl").unwrap().problem.contains("24 h"));
    assert_eq!(broken.errors(), 6);
}

#[tokio::test]
async fn caa_climbs_to_the_parent_and_a_critical_unknown_tag_forbids() {
    let knot = Knot::start(&[
        vercel_zone(),
        (
            "crit.test",
            zone_file(
                "crit.test",
                "@ A 76.76.21.21\nwww A 76.76.21.21\n@ CAA 128 tbs \"unknown\"\n@ CAA 0 issue \"letsencrypt.org\"",
            ),
        ),
    ]);
    let report = diagnose(&settings(&[knot.address], knot.address.port()), &expected("crit.test", None)).await;
    assert_eq!(
        checks(&report),
        [
            ("a_instead_of_cname".into(), Level::Info, "www.crit.test".into()),
            // www has no CAA of its own: the apex's set counts for it, and is reported once.
            ("caa_critical_unknown".into(), Level::Error, "crit.test".into()),
        ],
        "{report:#?}"
    );
    assert!(report.findings.iter().any(|f| f.problem.contains("unknown tag tbs")));
}

#[tokio::test]
async fn resolvers_that_disagree_are_propagation_and_an_unreachable_one_is_not_a_false_negative() {
    let zone = |address: &str| zone_file("acme.test", &HEALTHY.replace("@ A 76.76.21.21", &format!("@ A {address}")));
    let current = Knot::start(&[vercel_zone(), ("acme.test", zone(EDGE))]);
    let stale = Knot::start(&[vercel_zone(), ("acme.test", zone("192.0.2.77"))]);
    // Nothing listens here: its lookups time out.
    let silent: SocketAddr = {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let report = diagnose(
        &settings(&[current.address, stale.address, silent], current.address.port()),
        &expected("acme.test", None),
    )
    .await;
    assert_eq!(
        checks(&report),
        [
            ("propagation".into(), Level::Warn, "acme.test".into()),
            ("resolver_failed".into(), Level::Warn, "acme.test".into()),
        ],
        "{report:#?}"
    );
    let propagation = report.findings.iter().find(|f| f.check == "propagation").unwrap();
    assert!(
        propagation.problem.contains(&format!("resolver {} answers 192.0.2.77", stale.address)),
        "{}",
        propagation.problem
    );
    assert!(propagation.problem.contains("nameservers answer 76.76.21.21"));
    assert_eq!(report.errors(), 0, "a silent resolver is not taken for missing records");
}

fn publish(dns: &SimDns, name: &str, record_type: &str, value: &str) {
    dns.publish(DnsRecord {
        provider: DnsProvider::Cloudflare,
        id: format!("{name}/{record_type}"),
        name: name.into(),
        record_type: record_type.into(),
        value: value.into(),
        ttl: 300,
        system: false,
    });
}

#[tokio::test]
async fn the_sandbox_dns_serves_the_doctor_dnssec_failures_and_unregistered_domains_included() {
    let dns = SimDns::default();
    dns.claim_zone("acme.test", DnsProvider::Cloudflare);
    publish(&dns, "acme.test", "A", "104.21.48.1");
    publish(&dns, "www.acme.test", "CNAME", "cname.vercel-dns.com");
    let server = DnsServer::start("127.0.0.1:0".parse().unwrap(), dns.clone()).await.unwrap();
    let sandbox = settings(&[server.address()], server.address().port());
    let mut wanted = expected("acme.test", None);
    wanted.nameservers = Some(("Cloudflare".into(), DnsProvider::Cloudflare.nameservers().map(String::from).to_vec()));

    let proxied = diagnose(&sandbox, &wanted).await;
    assert_eq!(checks(&proxied), [("cloudflare_proxied".into(), Level::Error, "acme.test".into())], "{proxied:#?}");
    assert_eq!(proxied.findings[0].fix, "at Cloudflare, set the record of acme.test to DNS only (grey cloud)");

    dns.set_dnssec_bogus("acme.test", true);
    let bogus = diagnose(&sandbox, &wanted).await;
    assert_eq!(checks(&bogus)[0], ("dnssec_bogus".into(), Level::Error, "acme.test".into()), "{bogus:#?}");
    assert!(bogus.findings.iter().all(|f| f.check != "resolver_failed"), "named as DNSSEC, not as a failing resolver");

    let unregistered = diagnose(&sandbox, &expected("nobody.test", None)).await;
    assert_eq!(checks(&unregistered), [("not_registered".into(), Level::Error, "nobody.test".into())]);
}
