//! The records a venture's domain needs at its DNS provider, and the changes that get there
//! from what the zone holds, record by record (the way dnscontrol and octoDNS preview). Slipway
//! changes only records it created; a record of someone else's that conflicts (an apex A
//! pointing elsewhere, an AAAA that bypasses Vercel, a CNAME at the apex, a CAA that forbids
//! Let's Encrypt) blocks the plan with the fix, unless the spec allows it to be replaced.

use serde::{Deserialize, Serialize};

use super::DomainSpec;
use super::caa::{self, CaaRecord, Verdict};
use crate::platform::rfc2136::RecordKind;

/// The authority Vercel's certificates come from, and the CAA record that lets it issue.
pub const VERCEL_CAA: &str = "0 issue \"letsencrypt.org\"";

/// TTL of the records Slipway writes: short, so a correction reaches everyone quickly.
pub const RECORD_TTL: u32 = 300;

/// A record the domain needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    pub name: String,
    pub kind: RecordKind,
    pub value: String,
}

/// A record the zone holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Existing {
    /// The provider's id for it, where it has one (Cloudflare, Vercel DNS).
    pub id: Option<String>,
    pub name: String,
    pub kind: RecordKind,
    pub value: String,
    pub ttl: u32,
    /// Whether Slipway created it (a comment at the provider, or its own record of writes).
    pub ours: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Change,
    Delete,
}

/// One line of the record plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordChange {
    pub op: Op,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "A")]
    pub kind: RecordKind,
    pub name: String,
    /// The value now (for a change or a delete).
    #[schema(required = true)]
    pub old: Option<String>,
    /// The value after (for a create or a change).
    #[schema(required = true)]
    pub new: Option<String>,
    /// The provider's id of the record changed or deleted.
    #[serde(skip)]
    pub id: Option<String>,
}

impl RecordChange {
    /// `+ A acme.com 76.76.21.21`, `± CNAME www.acme.com a → b`, `- AAAA acme.com 2001:db8::1`.
    pub fn line(&self) -> String {
        let kind = self.kind.as_str();
        let (old, new) = (self.old.as_deref().unwrap_or_default(), self.new.as_deref().unwrap_or_default());
        match self.op {
            Op::Create => format!("+ {kind} {} {new}", self.name),
            Op::Change => format!("± {kind} {} {old} → {new}", self.name),
            Op::Delete => format!("- {kind} {} {old}", self.name),
        }
    }
}

/// A record of someone else's in the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub kind: RecordKind,
    pub name: String,
    pub problem: String,
    pub fix: String,
}

/// The records a domain's names need: an A at the `apex`, a CNAME at a subdomain (the values
/// Vercel recommends for each, in `recommended`: name, ipv4, cname), and each TXT challenge
/// Vercel asks for. A name Vercel recommends nothing for gets nothing.
pub fn wanted(
    apex: &str,
    recommended: &[(String, Option<String>, Option<String>)],
    challenges: &[(String, String)],
) -> Vec<Wanted> {
    let mut records = Vec::new();
    for (name, ipv4, cname) in recommended {
        match (cname, ipv4) {
            (Some(target), _) if name != apex => {
                records.push(Wanted { name: name.clone(), kind: RecordKind::Cname, value: target.clone() })
            }
            (_, Some(address)) => {
                records.push(Wanted { name: name.clone(), kind: RecordKind::A, value: address.clone() })
            }
            _ => {}
        }
    }
    for (label, value) in challenges {
        let record = Wanted { name: label.clone(), kind: RecordKind::Txt, value: value.clone() };
        if !records.contains(&record) {
            records.push(record);
        }
    }
    records
}

/// The changes from `existing` to `wanted` in `spec`'s zone, or what blocks them.
pub fn plan(spec: &DomainSpec, wanted: &[Wanted], existing: &[Existing]) -> Result<Vec<RecordChange>, Vec<Conflict>> {
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();
    let create = |w: &Wanted| RecordChange {
        op: Op::Create,
        kind: w.kind,
        name: w.name.clone(),
        old: None,
        new: Some(w.value.clone()),
        id: None,
    };
    let delete = |e: &Existing| RecordChange {
        op: Op::Delete,
        kind: e.kind,
        name: e.name.clone(),
        old: Some(e.value.clone()),
        new: None,
        id: e.id.clone(),
    };
    fn at<'a>(existing: &'a [Existing], name: &'a str, kind: RecordKind) -> impl Iterator<Item = &'a Existing> {
        existing.iter().filter(move |e| e.name == name && e.kind == kind)
    }

    for w in wanted {
        let present = at(existing, &w.name, w.kind).any(|e| e.value.eq_ignore_ascii_case(&w.value));
        let ours_other: Vec<&Existing> =
            at(existing, &w.name, w.kind).filter(|e| e.ours && !e.value.eq_ignore_ascii_case(&w.value)).collect();
        let theirs_other: Vec<&Existing> =
            at(existing, &w.name, w.kind).filter(|e| !e.ours && !e.value.eq_ignore_ascii_case(&w.value)).collect();
        // Records that cannot stand beside the wanted one (TXT values coexist).
        let mut blocking: Vec<&Existing> = Vec::new();
        match w.kind {
            RecordKind::A => {
                blocking.extend(theirs_other.iter().copied());
                blocking.extend(at(existing, &w.name, RecordKind::Aaaa).filter(|e| !e.ours));
                blocking.extend(at(existing, &w.name, RecordKind::Cname).filter(|e| !e.ours));
            }
            RecordKind::Cname => {
                blocking.extend(theirs_other.iter().copied());
                blocking.extend(at(existing, &w.name, RecordKind::A).filter(|e| !e.ours));
                blocking.extend(at(existing, &w.name, RecordKind::Aaaa).filter(|e| !e.ours));
            }
            _ => {}
        }
        for record in blocking {
            if spec.may_replace(record.kind, &record.name) {
                changes.push(delete(record));
            } else {
                conflicts.push(conflict(record, w));
            }
        }
        if present {
            changes.extend(ours_other.iter().copied().filter(|_| w.kind != RecordKind::Txt).map(&delete));
            continue;
        }
        // One of ours holding an old value is changed in place; otherwise a new record.
        match ours_other.first().filter(|_| w.kind != RecordKind::Txt) {
            Some(old) => {
                changes.push(RecordChange {
                    op: Op::Change,
                    kind: w.kind,
                    name: w.name.clone(),
                    old: Some(old.value.clone()),
                    new: Some(w.value.clone()),
                    id: old.id.clone(),
                });
                changes.extend(ours_other.iter().skip(1).map(|e| delete(e)));
            }
            None => changes.push(create(w)),
        }
    }

    // CAA at the apex that forbids Let's Encrypt.
    let caa: Vec<&Existing> = at(existing, &spec.apex, RecordKind::Caa).collect();
    let records: Vec<CaaRecord> = caa.iter().filter_map(|e| caa_record(&e.value)).collect();
    match caa::verdict(&records, "letsencrypt.org", false) {
        Verdict::Unrestricted | Verdict::Allowed => {}
        Verdict::NotListed { .. } if spec.may_replace(RecordKind::Caa, &spec.apex) => {
            changes.push(create(&Wanted { name: spec.apex.clone(), kind: RecordKind::Caa, value: VERCEL_CAA.into() }));
        }
        Verdict::NotListed { authorized } => conflicts.push(Conflict {
            kind: RecordKind::Caa,
            name: spec.apex.clone(),
            problem: format!(
                "the CAA records at {} let only {} issue certificates, and Vercel's come from Let's Encrypt",
                spec.apex,
                if authorized.is_empty() { "nobody".into() } else { authorized.join(", ") }
            ),
            fix: format!(
                "add CAA {} {VERCEL_CAA}, or allow Slipway to add it with \"CAA {}\" in domain.allow_replace",
                spec.apex, spec.apex
            ),
        }),
        Verdict::CriticalUnknown { tag } | Verdict::Restricted { parameters: tag } => {
            if spec.may_replace(RecordKind::Caa, &spec.apex) {
                changes.extend(caa.iter().filter(|e| !e.ours).map(|e| delete(e)));
                changes.push(create(&Wanted {
                    name: spec.apex.clone(),
                    kind: RecordKind::Caa,
                    value: VERCEL_CAA.into(),
                }));
            } else {
                conflicts.push(Conflict {
                    kind: RecordKind::Caa,
                    name: spec.apex.clone(),
                    problem: format!("a CAA record at {} ({tag}) forbids the certificate Vercel issues", spec.apex),
                    fix: format!(
                        "replace the CAA records of {} with {VERCEL_CAA}, or allow Slipway to with \"CAA {}\" in domain.allow_replace",
                        spec.apex, spec.apex
                    ),
                });
            }
        }
    }

    // Ours that nothing wants any more (a name or value the spec no longer has). Slipway's
    // CAA stays while the domain does: it is what lets Let's Encrypt issue beside others'. So
    // do its challenges once Vercel has verified them: they prove the names again if re-added.
    let challenge_label = format!("_vercel.{}", spec.apex);
    for record in existing.iter().filter(|e| e.ours) {
        let still_wanted = record.kind == RecordKind::Caa && record.value == VERCEL_CAA
            || record.kind == RecordKind::Txt && record.name == challenge_label
            || wanted
                .iter()
                .any(|w| w.name == record.name && w.kind == record.kind && w.value.eq_ignore_ascii_case(&record.value));
        let handled = changes
            .iter()
            .any(|c| c.name == record.name && c.kind == record.kind && c.old.as_deref() == Some(&record.value));
        if !still_wanted && !handled {
            changes.push(delete(record));
        }
    }
    if conflicts.is_empty() { Ok(changes) } else { Err(conflicts) }
}

fn conflict(record: &Existing, wanted: &Wanted) -> Conflict {
    let (name, kind, value) = (&record.name, record.kind.as_str(), &record.value);
    let problem = match (record.kind, wanted.kind) {
        (RecordKind::Aaaa, _) => {
            format!("{name} has an AAAA record ({value}) of someone else's: IPv6 visitors would bypass Vercel")
        }
        (RecordKind::Cname, RecordKind::A) => {
            format!(
                "{name} is the apex and has a CNAME ({value}) of someone else's, which cannot stand beside Vercel's A"
            )
        }
        _ => format!(
            "{name} has {} {kind} record ({value}) that Slipway did not create, where Vercel needs {} {}",
            if matches!(record.kind, RecordKind::A | RecordKind::Aaaa) { "an" } else { "a" },
            wanted.kind.as_str(),
            wanted.value
        ),
    };
    Conflict {
        kind: record.kind,
        name: name.clone(),
        problem,
        fix: format!(
            "remove the {kind} record of {name}, or allow Slipway to replace it with \"{kind} {name}\" in domain.allow_replace"
        ),
    }
}

/// A CAA value (`0 issue "letsencrypt.org"`) as a record.
pub fn caa_record(value: &str) -> Option<CaaRecord> {
    let mut parts = value.trim().splitn(3, ' ');
    let flags = parts.next()?.parse().ok()?;
    let tag = parts.next()?;
    let value = parts.next().unwrap_or_default().trim().trim_matches('"');
    Some(CaaRecord::new(flags, tag, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::{DnsProvider, Primary};

    fn spec(allow: &[(RecordKind, &str)]) -> DomainSpec {
        DomainSpec {
            apex: "acme.com".into(),
            primary: Primary::Apex,
            dns: DnsProvider::Cloudflare,
            staging: None,
            allow_replace: allow.iter().map(|(k, n)| (*k, n.to_string())).collect(),
        }
    }

    fn wanted_records() -> Vec<Wanted> {
        wanted(
            "acme.com",
            &[
                ("acme.com".into(), Some("76.76.21.21".into()), Some("cname.vercel-dns.com".into())),
                ("www.acme.com".into(), Some("76.76.21.21".into()), Some("cname.vercel-dns.com".into())),
            ],
            &[("_vercel.acme.com".into(), "vc-domain-verify=www.acme.com,1".into())],
        )
    }

    fn existing(name: &str, kind: RecordKind, value: &str, ours: bool) -> Existing {
        Existing { id: Some(format!("{name}/{value}")), name: name.into(), kind, value: value.into(), ttl: 300, ours }
    }

    fn lines(changes: &[RecordChange]) -> Vec<String> {
        changes.iter().map(RecordChange::line).collect()
    }

    #[test]
    fn caa_values_parse_as_answers_print_them() {
        assert_eq!(caa_record("0 issue \"letsencrypt.org\""), Some(CaaRecord::new(0, "issue", "letsencrypt.org")));
        assert_eq!(caa_record("128 tbs \"x y\""), Some(CaaRecord::new(128, "tbs", "x y")), "values may hold spaces");
        assert_eq!(caa_record("nonsense"), None);
    }

    #[test]
    fn an_empty_zone_gets_each_record_once_and_a_converged_one_nothing() {
        let changes = plan(&spec(&[]), &wanted_records(), &[]).unwrap();
        assert_eq!(
            lines(&changes),
            [
                "+ A acme.com 76.76.21.21",
                "+ CNAME www.acme.com cname.vercel-dns.com",
                "+ TXT _vercel.acme.com vc-domain-verify=www.acme.com,1"
            ]
        );
        let converged: Vec<Existing> =
            wanted_records().iter().map(|w| existing(&w.name, w.kind, &w.value, true)).collect();
        assert_eq!(plan(&spec(&[]), &wanted_records(), &converged).unwrap(), []);
        // Someone else already wrote what Vercel wants: nothing to do, and it stays theirs.
        let theirs: Vec<Existing> =
            wanted_records().iter().map(|w| existing(&w.name, w.kind, &w.value, false)).collect();
        assert_eq!(plan(&spec(&[]), &wanted_records(), &theirs).unwrap(), []);
    }

    #[test]
    fn ours_are_changed_in_place_and_dropped_when_unwanted_others_untouched() {
        let zone = [
            existing("acme.com", RecordKind::A, "76.76.21.1", true),
            existing("old.acme.com", RecordKind::Cname, "cname.vercel-dns.com", true),
            existing("mail.acme.com", RecordKind::A, "192.0.2.5", false),
            existing("_vercel.acme.com", RecordKind::Txt, "google-site-verification=x", false),
        ];
        let changes = plan(&spec(&[]), &wanted_records(), &zone).unwrap();
        assert_eq!(
            lines(&changes),
            [
                "± A acme.com 76.76.21.1 → 76.76.21.21",
                "+ CNAME www.acme.com cname.vercel-dns.com",
                "+ TXT _vercel.acme.com vc-domain-verify=www.acme.com,1",
                "- CNAME old.acme.com cname.vercel-dns.com"
            ]
        );
        assert_eq!(changes[0].id.as_deref(), Some("acme.com/76.76.21.1"));
    }

    #[test]
    fn conflicts_block_with_the_fix_unless_allowed() {
        let zone = [
            existing("acme.com", RecordKind::A, "192.0.2.1", false),
            existing("acme.com", RecordKind::Aaaa, "2001:db8::1", false),
            existing("www.acme.com", RecordKind::A, "192.0.2.1", false),
            existing("acme.com", RecordKind::Caa, "0 issue \"digicert.com\"", false),
        ];
        let conflicts = plan(&spec(&[]), &wanted_records(), &zone).unwrap_err();
        let named: Vec<(RecordKind, &str)> = conflicts.iter().map(|c| (c.kind, c.name.as_str())).collect();
        assert_eq!(
            named,
            [
                (RecordKind::A, "acme.com"),
                (RecordKind::Aaaa, "acme.com"),
                (RecordKind::A, "www.acme.com"),
                (RecordKind::Caa, "acme.com")
            ]
        );
        assert!(conflicts[1].problem.contains("IPv6 visitors would bypass Vercel"));
        assert_eq!(
            conflicts[0].fix,
            "remove the A record of acme.com, or allow Slipway to replace it with \"A acme.com\" in domain.allow_replace"
        );
        assert!(conflicts[3].problem.contains("let only digicert.com issue"));

        let allowed = spec(&[
            (RecordKind::A, "acme.com"),
            (RecordKind::Aaaa, "acme.com"),
            (RecordKind::A, "www.acme.com"),
            (RecordKind::Caa, "acme.com"),
        ]);
        assert_eq!(
            lines(&plan(&allowed, &wanted_records(), &zone).unwrap()),
            [
                "- A acme.com 192.0.2.1",
                "- AAAA acme.com 2001:db8::1",
                "+ A acme.com 76.76.21.21",
                "- A www.acme.com 192.0.2.1",
                "+ CNAME www.acme.com cname.vercel-dns.com",
                "+ TXT _vercel.acme.com vc-domain-verify=www.acme.com,1",
                "+ CAA acme.com 0 issue \"letsencrypt.org\""
            ]
        );
    }
}
