//! Domain names as the platforms take them: IDNA (Punycode) ASCII, lowercase, no trailing dot.

/// `input` in the form the APIs expect (`Bücher.Example.` → `xn--bcher-kva.example`), or the
/// rule it breaks. Domain names (what is added to a project or an account) are strict
/// letters-digits-hyphens; see [`to_ascii_hostname`] for DNS record names.
pub fn to_ascii_domain(input: &str) -> Result<String, String> {
    let ascii = convert(input)?;
    check_labels(&ascii, false)?;
    // An ASCII `xn--` label passes the label rules as it is; only decoding proves it Punycode.
    if ascii.split('.').any(|label| label.starts_with("xn--")) && idna::domain_to_ascii_strict(&ascii).is_err() {
        return Err("holds an xn-- label that is not valid Punycode".into());
    }
    if ascii.split('.').count() < 2 {
        return Err("must have at least two labels, like example.com".into());
    }
    if ascii.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must not end in a numeric label".into());
    }
    Ok(ascii)
}

/// A DNS record name in ASCII form: like a domain name, but labels may hold underscores
/// (service labels such as `_vercel`) and the first may be the wildcard `*`.
pub fn to_ascii_hostname(input: &str) -> Result<String, String> {
    let ascii = convert(input)?;
    check_labels(&ascii, true)?;
    Ok(ascii)
}

/// A name from a DNS message in Slipway's form: ASCII, lowercase, without the trailing dot.
pub fn name_to_ascii(name: &hickory_net::proto::rr::Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn convert(input: &str) -> Result<String, String> {
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| "is not a valid internationalized domain name".to_string())?
    };
    if ascii.len() > 253 {
        return Err("must be at most 253 characters".into());
    }
    Ok(ascii)
}

fn check_labels(ascii: &str, record_name: bool) -> Result<(), String> {
    for (index, label) in ascii.split('.').enumerate() {
        if record_name && index == 0 && label == "*" {
            continue;
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (record_name && b == b'_');
        if label.is_empty()
            || label.len() > 63
            || !label.bytes().all(allowed)
            || label.starts_with('-')
            || label.ends_with('-')
        {
            let characters = if record_name { "letters, digits, underscores" } else { "letters, digits" };
            return Err(format!(
                "label {label:?} must be 1 to 63 {characters} or inner hyphens (after IDNA conversion)"
            ));
        }
    }
    Ok(())
}

/// Where a name sits in the public suffix list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registrable {
    /// A domain someone registers (`example.co.uk`), or a name under one: its registrable domain.
    Domain(String),
    /// Under a suffix a company hands out (`vercel.app`, `github.io`): the suffix.
    Shared(String),
    /// A public suffix itself (`co.uk`), or under a top-level domain the list does not know.
    NotRegistrable,
}

/// The registrable domain of an ASCII domain name, by the public suffix list.
pub fn registrable(domain: &str) -> Registrable {
    let Some(found) = psl::domain(domain.as_bytes()) else { return Registrable::NotRegistrable };
    let suffix = found.suffix();
    if !suffix.is_known() {
        return Registrable::NotRegistrable;
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match suffix.typ() {
        Some(psl::Type::Private) => Registrable::Shared(text(suffix.as_bytes())),
        _ => Registrable::Domain(text(found.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_converted_to_idna_ascii() {
        assert_eq!(to_ascii_domain("Bücher.Example.").unwrap(), "xn--bcher-kva.example");
        assert_eq!(to_ascii_domain(" WWW.Example.com ").unwrap(), "www.example.com");
    }

    #[test]
    fn bad_names_say_which_rule_they_break() {
        assert!(to_ascii_domain("").unwrap_err().contains("empty"));
        assert!(to_ascii_domain("localhost").unwrap_err().contains("two labels"));
        assert!(to_ascii_domain("-bad.example.com").unwrap_err().contains("\"-bad\""));
        assert!(to_ascii_domain("under_score.com").is_err());
        assert!(to_ascii_domain(&format!("{}.com", "a".repeat(64))).unwrap_err().contains("1 to 63"));
        assert!(to_ascii_domain("10.0.0.1").unwrap_err().contains("numeric"));
    }

    #[test]
    fn record_names_allow_service_labels_and_wildcards() {
        assert_eq!(to_ascii_hostname("_vercel.Example.com.").unwrap(), "_vercel.example.com");
        assert_eq!(to_ascii_hostname("*.bücher.example").unwrap(), "*.xn--bcher-kva.example");
        assert!(to_ascii_hostname("a.*.example.com").is_err(), "only the first label may be a wildcard");
        assert!(to_ascii_domain("_vercel.example.com").is_err(), "domains take no underscores");
    }

    #[test]
    fn the_registrable_domain_comes_from_the_public_suffix_list() {
        let domain = |d: &str| Registrable::Domain(d.into());
        assert_eq!(registrable("www.example.com"), domain("example.com"));
        assert_eq!(registrable("example.com"), domain("example.com"));
        assert_eq!(registrable("a.b.shop.co.uk"), domain("shop.co.uk"));
        assert_eq!(registrable("www.example.com.au"), domain("example.com.au"));
        assert_eq!(registrable("my-app.vercel.app"), Registrable::Shared("vercel.app".into()));
        assert_eq!(registrable("co.uk"), Registrable::NotRegistrable);
        assert_eq!(registrable("example.notatld"), Registrable::NotRegistrable);
    }

    #[test]
    fn an_xn_label_must_be_punycode() {
        assert_eq!(to_ascii_domain("xn--bcher-kva.example").unwrap(), "xn--bcher-kva.example");
        for bad in ["xn--a.com", "xn--9999999999.com"] {
            assert!(to_ascii_domain(bad).unwrap_err().contains("Punycode"), "{bad}");
        }
    }
}
