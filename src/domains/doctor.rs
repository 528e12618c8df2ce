//! The DNS doctor's verdicts on what a name resolves to, against what Vercel recommends for it
//! (`GET /v6/domains/{domain}/config`, never hard-coded addresses): each finding says what is
//! wrong in plain words and the exact record to add, change or remove. Pure: the resolving is
//! done before, so the same rules judge a real zone and a fixture.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

pub use crate::finding::Level;

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    /// A stable name for the check (`apex_cname`, `aaaa_bypasses_vercel`, …).
    pub check: String,
    pub level: Level,
    /// The DNS name it is about.
    pub name: String,
    pub problem: String,
    pub fix: String,
}

impl Finding {
    fn new(check: &str, level: Level, name: &str, problem: String, fix: String) -> Finding {
        Finding { check: check.into(), level, name: name.into(), problem, fix }
    }
}

/// What public DNS answers for one name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub a: Vec<Ipv4Addr>,
    pub aaaa: Vec<Ipv6Addr>,
    /// The CNAME at the name itself, without the trailing dot.
    pub cname: Option<String>,
}

/// What Vercel recommends for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommended {
    /// Whether the name is the zone's apex (which cannot hold a CNAME).
    pub apex: bool,
    /// Every address Vercel recommends (any of them is right).
    pub ipv4: Vec<Ipv4Addr>,
    /// The CNAME target Vercel recommends for a subdomain.
    pub cname: Option<String>,
}

fn list<T: ToString>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The findings for `name` given its `answers`; none when it points at Vercel as recommended.
pub fn check_name(name: &str, answers: &Answers, wanted: &Recommended) -> Vec<Finding> {
    let mut findings = Vec::new();
    let address = wanted.ipv4.first().map(ToString::to_string).unwrap_or_else(|| "Vercel's address".into());
    if !answers.aaaa.is_empty() {
        findings.push(Finding::new(
            "aaaa_bypasses_vercel",
            Level::Error,
            name,
            format!(
                "{name} has AAAA records ({}): visitors on IPv6 reach that server instead of Vercel, and the certificate check can fail there",
                list(&answers.aaaa)
            ),
            format!("remove the AAAA records of {name}"),
        ));
    }
    if let Some(target) = &answers.cname {
        let target = target.trim_end_matches('.');
        if wanted.apex {
            findings.push(Finding::new(
                "apex_cname",
                Level::Error,
                name,
                format!(
                    "{name} is the zone's apex and has a CNAME (to {target}): a CNAME cannot sit beside the zone's SOA and NS records, so resolvers answer unpredictably"
                ),
                format!("remove the CNAME at {name} and add A {name} {address}"),
            ));
        } else if wanted.cname.as_deref().is_some_and(|want| !want.eq_ignore_ascii_case(target)) {
            let want = wanted.cname.as_deref().unwrap_or_default();
            findings.push(Finding::new(
                "cname_elsewhere",
                Level::Error,
                name,
                format!("{name} is a CNAME to {target}, not to Vercel"),
                format!("change the CNAME of {name} to {want}"),
            ));
        }
        return findings;
    }
    let ours: Vec<&Ipv4Addr> = answers.a.iter().filter(|a| wanted.ipv4.contains(a)).collect();
    let others: Vec<&Ipv4Addr> = answers.a.iter().filter(|a| !wanted.ipv4.contains(a)).collect();
    // The record Vercel wants there: a CNAME for a subdomain it names one for, else an A.
    let record = match (&wanted.cname, wanted.apex) {
        (Some(cname), false) => format!("CNAME {name} {cname}"),
        _ => format!("A {name} {address}"),
    };
    if answers.a.is_empty() {
        findings.push(Finding::new(
            "missing",
            Level::Error,
            name,
            format!(
                "{name} does not resolve to anything, so nobody reaches the site there and no certificate can be issued"
            ),
            format!("add {record}"),
        ));
    } else if ours.is_empty() {
        findings.push(Finding::new(
            "points_elsewhere",
            Level::Error,
            name,
            format!("{name} points at {}, which is not Vercel", list(&others)),
            format!("replace the A records of {name} with {record}"),
        ));
    } else if !others.is_empty() {
        findings.push(Finding::new(
            "extra_addresses",
            Level::Error,
            name,
            format!(
                "{name} has Vercel's address and also {}: resolvers rotate between them, so some visitors reach the other server",
                list(&others)
            ),
            format!("remove the A records of {name} holding {}", list(&others)),
        ));
    } else if !wanted.apex && wanted.cname.is_some() {
        let cname = wanted.cname.as_deref().unwrap_or_default();
        findings.push(Finding::new(
            "a_instead_of_cname",
            Level::Info,
            name,
            format!("{name} reaches Vercel through an A record; a CNAME follows Vercel if its addresses change"),
            format!("replace the A record of {name} with CNAME {name} {cname}"),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apex() -> Recommended {
        Recommended { apex: true, ipv4: vec![Ipv4Addr::new(76, 76, 21, 21)], cname: None }
    }

    fn www() -> Recommended {
        Recommended {
            apex: false,
            ipv4: vec![Ipv4Addr::new(76, 76, 21, 21)],
            cname: Some("cname.vercel-dns-0.com".into()),
        }
    }

    fn checks(name: &str, answers: Answers, wanted: Recommended) -> Vec<(String, Level, String)> {
        check_name(name, &answers, &wanted).into_iter().map(|f| (f.check, f.level, f.fix)).collect()
    }

    const VERCEL: Ipv4Addr = Ipv4Addr::new(76, 76, 21, 21);
    const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

    #[test]
    fn names_pointing_at_vercel_as_recommended_have_no_finding() {
        assert!(checks("acme.com", Answers { a: vec![VERCEL], ..Answers::default() }, apex()).is_empty());
        let cname = Answers { cname: Some("cname.vercel-dns-0.com.".into()), ..Answers::default() };
        assert!(checks("www.acme.com", cname, www()).is_empty());
    }

    #[test]
    fn each_check_fires_on_its_fixture_with_the_exact_fix() {
        let a = |addresses: Vec<Ipv4Addr>| Answers { a: addresses, ..Answers::default() };
        assert_eq!(
            checks("acme.com", a(vec![]), apex()),
            [("missing".into(), Level::Error, "add A acme.com 76.76.21.21".into())]
        );
        assert_eq!(
            checks("acme.com", a(vec![OTHER]), apex()),
            [(
                "points_elsewhere".into(),
                Level::Error,
                "replace the A records of acme.com with A acme.com 76.76.21.21".into()
            )]
        );
        assert_eq!(
            checks("acme.com", a(vec![VERCEL, OTHER]), apex()),
            [("extra_addresses".into(), Level::Error, "remove the A records of acme.com holding 192.0.2.10".into())]
        );
        let v6 = Answers { a: vec![VERCEL], aaaa: vec!["2001:db8::1".parse().unwrap()], cname: None };
        assert_eq!(
            checks("acme.com", v6, apex()),
            [("aaaa_bypasses_vercel".into(), Level::Error, "remove the AAAA records of acme.com".into())]
        );
        let apex_cname = Answers { cname: Some("acme.herokudns.com".into()), ..Answers::default() };
        assert_eq!(
            checks("acme.com", apex_cname, apex()),
            [("apex_cname".into(), Level::Error, "remove the CNAME at acme.com and add A acme.com 76.76.21.21".into())]
        );
        let elsewhere = Answers { cname: Some("acme.netlify.app".into()), ..Answers::default() };
        assert_eq!(
            checks("www.acme.com", elsewhere, www()),
            [(
                "cname_elsewhere".into(),
                Level::Error,
                "change the CNAME of www.acme.com to cname.vercel-dns-0.com".into()
            )]
        );
        assert_eq!(
            checks("www.acme.com", a(vec![]), www()),
            [("missing".into(), Level::Error, "add CNAME www.acme.com cname.vercel-dns-0.com".into())]
        );
        assert_eq!(
            checks("www.acme.com", a(vec![VERCEL]), www()),
            [(
                "a_instead_of_cname".into(),
                Level::Info,
                "replace the A record of www.acme.com with CNAME www.acme.com cname.vercel-dns-0.com".into()
            )]
        );
    }
}
