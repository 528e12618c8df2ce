//! Whether a name's CAA records let a certificate authority issue for it, per RFC 8659: the
//! relevant record set is the first non-empty one found at the name, then at each parent up to
//! (not including) the root (the resolver has already followed CNAMEs); there is no merging
//! with parents. `issuewild` replaces `issue` for wildcard names; a malformed `issue` value
//! authorizes nobody; an unknown tag flagged critical forbids issuance. An `accounturi`
//! parameter (RFC 8657) names an ACME account, which Vercel's issuance cannot be.

/// One CAA record as DNS carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaRecord {
    pub flags: u8,
    pub tag: String,
    pub value: String,
}

impl CaaRecord {
    pub fn new(flags: u8, tag: &str, value: &str) -> CaaRecord {
        CaaRecord { flags, tag: tag.into(), value: value.into() }
    }

    fn critical(&self) -> bool {
        self.flags & 0x80 != 0
    }
}

/// What the relevant record set says for one authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No record restricts issuance (none found, or only `iodef` and non-critical unknown tags).
    Unrestricted,
    /// A record authorizes the authority.
    Allowed,
    /// The records authorize others (named), or nobody (`;`), but not this authority.
    NotListed { authorized: Vec<String> },
    /// A critical record with a tag no authority knows: nobody may issue.
    CriticalUnknown { tag: String },
    /// The authority is listed, but only for a given ACME account or validation methods.
    Restricted { parameters: String },
}

/// The names whose CAA record sets count for `name`, nearest first: the name and each parent,
/// the top-level domain last.
pub fn climb(name: &str) -> Vec<String> {
    let name = name.trim_end_matches('.');
    let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
    (0..labels.len()).map(|start| labels[start..].join(".")).collect()
}

/// The relevant record set among `found` (each name of [`climb`] with its records, in order):
/// the first non-empty one, and where it is.
pub fn relevant(found: &[(String, Vec<CaaRecord>)]) -> Option<(&str, &[CaaRecord])> {
    found.iter().find(|(_, records)| !records.is_empty()).map(|(name, records)| (name.as_str(), records.as_slice()))
}

/// The authority's domain in an `issue` value (`letsencrypt.org; accounturi=…`), and its
/// parameters; `None` for `;` or an empty value (nobody), `Err` for a malformed value.
fn issuer(value: &str) -> Result<Option<(String, String)>, ()> {
    let (domain, parameters) = match value.split_once(';') {
        Some((domain, parameters)) => (domain.trim(), parameters.trim()),
        None => (value.trim(), ""),
    };
    if domain.is_empty() {
        return Ok(None);
    }
    let valid = domain.split('.').all(|label| {
        !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !label.starts_with('-')
    });
    if !valid {
        return Err(());
    }
    Ok(Some((domain.to_ascii_lowercase(), parameters.to_string())))
}

/// What `records` (the relevant set) say about `authority` (`letsencrypt.org`) issuing for a
/// name, a wildcard one when `wildcard`.
pub fn verdict(records: &[CaaRecord], authority: &str, wildcard: bool) -> Verdict {
    if let Some(record) = records
        .iter()
        .find(|r| r.critical() && !matches!(r.tag.to_ascii_lowercase().as_str(), "issue" | "issuewild" | "iodef"))
    {
        return Verdict::CriticalUnknown { tag: record.tag.clone() };
    }
    let tagged = |tag: &str| records.iter().filter(move |r| r.tag.eq_ignore_ascii_case(tag)).collect::<Vec<_>>();
    let wild = tagged("issuewild");
    let rules = if wildcard && !wild.is_empty() { wild } else { tagged("issue") };
    if rules.is_empty() {
        return Verdict::Unrestricted;
    }
    let mut authorized = Vec::new();
    for rule in rules {
        // A malformed value authorizes nobody (RFC 8659 §4.2).
        let Ok(Some((domain, parameters))) = issuer(&rule.value) else { continue };
        if domain.eq_ignore_ascii_case(authority) {
            let restricting = parameters
                .split(';')
                .map(str::trim)
                .any(|p| p.starts_with("accounturi=") || p.starts_with("validationmethods="));
            return if restricting { Verdict::Restricted { parameters } } else { Verdict::Allowed };
        }
        authorized.push(domain);
    }
    Verdict::NotListed { authorized }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LE: &str = "letsencrypt.org";

    #[test]
    fn the_nearest_non_empty_set_counts_and_parents_are_not_merged() {
        assert_eq!(climb("www.shop.example.com."), ["www.shop.example.com", "shop.example.com", "example.com", "com"]);
        let found = vec![
            ("www.example.com".to_string(), vec![]),
            ("example.com".to_string(), vec![CaaRecord::new(0, "issue", "sectigo.com")]),
            ("com".to_string(), vec![CaaRecord::new(0, "issue", LE)]),
        ];
        let (at, records) = relevant(&found).unwrap();
        assert_eq!(at, "example.com");
        assert_eq!(verdict(records, LE, false), Verdict::NotListed { authorized: vec!["sectigo.com".into()] });
        assert_eq!(relevant(&[("a.com".to_string(), vec![])]), None);
    }

    #[test]
    fn each_rule_of_rfc_8659_and_8657() {
        let set =
            |records: &[(u8, &str, &str)]| records.iter().map(|(f, t, v)| CaaRecord::new(*f, t, v)).collect::<Vec<_>>();
        assert_eq!(verdict(&[], LE, false), Verdict::Unrestricted);
        assert_eq!(verdict(&set(&[(0, "iodef", "mailto:sec@acme.com")]), LE, false), Verdict::Unrestricted);
        assert_eq!(verdict(&set(&[(0, "future", "x")]), LE, false), Verdict::Unrestricted, "non-critical unknown");
        assert_eq!(
            verdict(&set(&[(128, "future", "x")]), LE, false),
            Verdict::CriticalUnknown { tag: "future".into() }
        );
        assert_eq!(verdict(&set(&[(0, "issue", "LetsEncrypt.org")]), LE, false), Verdict::Allowed);
        assert_eq!(
            verdict(&set(&[(0, "issue", "pki.goog"), (0, "issue", LE)]), LE, false),
            Verdict::Allowed,
            "they add up"
        );
        assert_eq!(verdict(&set(&[(0, "issue", ";")]), LE, false), Verdict::NotListed { authorized: vec![] });
        assert_eq!(
            verdict(&set(&[(0, "issue", "lets encrypt")]), LE, false),
            Verdict::NotListed { authorized: vec![] }
        );
        // issuewild replaces issue for wildcard names only.
        let wild = set(&[(0, "issue", LE), (0, "issuewild", "digicert.com")]);
        assert_eq!(verdict(&wild, LE, false), Verdict::Allowed);
        assert_eq!(verdict(&wild, LE, true), Verdict::NotListed { authorized: vec!["digicert.com".into()] });
        assert_eq!(verdict(&set(&[(0, "issue", LE)]), LE, true), Verdict::Allowed, "no issuewild: issue applies");
        let account = set(&[(0, "issue", "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acct/1")]);
        assert!(
            matches!(verdict(&account, LE, false), Verdict::Restricted { parameters } if parameters.starts_with("accounturi="))
        );
    }
}
