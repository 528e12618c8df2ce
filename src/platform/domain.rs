//! Domain names as the platforms take them: IDNA (Punycode) ASCII, lowercase, no trailing dot.

/// `input` in the form the APIs expect (`Bücher.Example.` → `xn--bcher-kva.example`), or the
/// rule it breaks.
pub fn to_ascii_domain(input: &str) -> Result<String, String> {
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    let ascii = idna::domain_to_ascii(trimmed).map_err(|_| "is not a valid internationalized domain name".to_string())?;
    if ascii.len() > 253 {
        return Err("must be at most 253 characters".into());
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err("must have at least two labels, like example.com".into());
    }
    for label in &labels {
        let valid_chars = label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty() || label.len() > 63 || !valid_chars || label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "label {label:?} must be 1 to 63 letters, digits or inner hyphens (after IDNA conversion)"
            ));
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("must not end in a numeric label".into());
    }
    Ok(ascii)
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
    fn apex_handles_two_level_suffixes() {
        assert_eq!(apex_of("www.example.com"), "example.com");
        assert_eq!(apex_of("example.com"), "example.com");
        assert_eq!(apex_of("a.b.shop.co.uk"), "shop.co.uk");
    }
}
