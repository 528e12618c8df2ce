//! RFC 2136 updates with TSIG against a real Knot server: records written once, re-writes with
//! a stale view refused, other writers' records untouched, a wrong key named in the refusal.

use base64::Engine as _;
use secrecy::SecretString;
use slipway_engine::platform::api::ErrorKind;
use slipway_engine::platform::rfc2136::{RecordKind, RrSet};

use crate::knot::{Knot, zone_file};

fn set(name: &str, kind: RecordKind, values: &[&str]) -> RrSet {
    RrSet { name: name.into(), kind, ttl: 60, values: values.iter().map(|v| v.to_string()).collect() }
}

#[tokio::test]
async fn updates_are_signed_conditional_and_leave_other_records_alone() {
    let knot = Knot::start(&[(
        "acme.test",
        zone_file("acme.test", "mail A 192.0.2.5\n_vercel TXT \"someone-elses\"\nwww CNAME elsewhere.example."),
    )]);
    let dns = knot.client("acme.test");

    // Nothing at the apex's A yet: created once.
    let apex = set("acme.test", RecordKind::A, &["76.76.21.21"]);
    assert_eq!(dns.read("acme.test", RecordKind::A).await.unwrap(), None);
    dns.replace(None, &apex).await.unwrap();
    assert_eq!(dns.read("acme.test", RecordKind::A).await.unwrap(), Some(apex.clone()));

    // Creating again where a set exists is refused, not merged.
    let again = dns.replace(None, &set("acme.test", RecordKind::A, &["192.0.2.9"])).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::Conflict, "{again}");
    assert!(again.message.contains("changed since Slipway read them"), "{again}");
    assert_eq!(dns.read("acme.test", RecordKind::A).await.unwrap(), Some(apex.clone()), "nothing half-applied");

    // A replace with the current view swaps the values.
    let moved = set("acme.test", RecordKind::A, &["76.76.21.22"]);
    dns.replace(Some(&apex), &moved).await.unwrap();
    assert_eq!(dns.read("acme.test", RecordKind::A).await.unwrap(), Some(moved.clone()));

    // Someone else changes the set; Slipway's stale replace is refused and theirs stays.
    let theirs = set("acme.test", RecordKind::A, &["203.0.113.7"]);
    dns.replace(Some(&moved), &theirs).await.unwrap();
    let stale = dns.replace(Some(&moved), &apex).await.unwrap_err();
    assert_eq!(stale.kind, ErrorKind::Conflict, "{stale}");
    assert_eq!(dns.read("acme.test", RecordKind::A).await.unwrap(), Some(theirs));

    // A TXT added beside someone else's at the same name; deleting ours leaves theirs.
    let existing = dns.read("_vercel.acme.test", RecordKind::Txt).await.unwrap().unwrap();
    assert_eq!(existing.values, ["someone-elses"]);
    let ours = set("_vercel.acme.test", RecordKind::Txt, &["vercel=abc123"]);
    let both = set("_vercel.acme.test", RecordKind::Txt, &["someone-elses", "vercel=abc123"]);
    dns.replace(Some(&existing), &RrSet { ttl: existing.ttl, ..both.clone() }).await.unwrap();
    assert_eq!(dns.read("_vercel.acme.test", RecordKind::Txt).await.unwrap().unwrap().values, both.values);
    dns.delete(&RrSet { ttl: existing.ttl, ..ours }).await.unwrap();
    assert_eq!(dns.read("_vercel.acme.test", RecordKind::Txt).await.unwrap().unwrap().values, ["someone-elses"]);

    // Names Slipway never touched are as the zone file had them.
    assert_eq!(dns.read("mail.acme.test", RecordKind::A).await.unwrap().unwrap().values, ["192.0.2.5"]);
    assert_eq!(dns.read("www.acme.test", RecordKind::Cname).await.unwrap().unwrap().values, ["elsewhere.example"]);
    // A long TXT survives the server's 255-byte strings.
    let long = "v".repeat(400);
    dns.replace(None, &set("_long.acme.test", RecordKind::Txt, &[&long])).await.unwrap();
    assert_eq!(dns.read("_long.acme.test", RecordKind::Txt).await.unwrap().unwrap().values, [long]);
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_named() {
    let knot = Knot::start(&[("acme.test", zone_file("acme.test", ""))]);
    let wrong = SecretString::from(base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>()));
    let dns = knot.client_with("acme.test", wrong);
    let error = dns.replace(None, &set("acme.test", RecordKind::Txt, &["x"])).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unauthorized, "{error}");
    assert!(error.message.contains("TSIG key slipway-test"), "{error}");
    assert_eq!(knot.client("acme.test").read("acme.test", RecordKind::Txt).await.unwrap(), None, "nothing written");
}
