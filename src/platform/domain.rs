//! Domain names as the platforms take them: IDNA (Punycode) ASCII, lowercase, no trailing dot.

/// `input` in the form the APIs expect (`Bücher.Example.` → `xn--bcher-kva.example`), or the
/// rule it breaks. Domain names (what is added to a project or an account) are strict
/// letters-digits-hyphens; see [`to_ascii_hostname`] for DNS record names.
pub fn to_ascii_domain(input: &str) -> Result<String, String> {
    let ascii = convert(input)?;
    check_labels(&ascii, false)?;
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

/// Second-level suffixes under which registrations sit one level deeper (`shop.co.uk`). A short
/// list rather than the whole public suffix list: the platforms report the apex themselves,
/// this is only for where they do not (the simulators).
const TWO_LEVEL_SUFFIXES: &[&str] =
    &["co.uk", "org.uk", "ac.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "com.br", "co.za", "com.mx"];

/// The registrable domain (`www.shop.example.com` → `example.com`) of an ASCII domain name.
pub fn apex_of(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    let take = if labels.len() >= 3 && TWO_LEVEL_SUFFIXES.contains(&labels[labels.len() - 2..].join(".").as_str()) {
        3
    } else {
        2
    };
    labels[labels.len().saturating_sub(take)..].join(".")
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
    fn apex_handles_two_level_suffixes() {
        assert_eq!(apex_of("www.example.com"), "example.com");
        assert_eq!(apex_of("example.com"), "example.com");
        assert_eq!(apex_of("a.b.shop.co.uk"), "shop.co.uk");
    }
}
