//! Redaction by value: every value the vault seals or opens, every platform token and the
//! master key are scrubbed from text before it is stored or shown (events, job errors, sync
//! failures, refusals, the process's log), in their plain, URL-encoded and base64 forms.
//!
//! By value, not by a per-variable flag: a secret that a platform echoes in an error message,
//! or that someone forgot to mark, is scrubbed all the same. The redactor is one per process,
//! as the log is, and it only learns: a value rotated away stays scrubbed.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{OnceLock, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// What a scrubbed value becomes.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not scrubbed: `on`, `true` or a region code would blank out
/// ordinary words. Secrets Slipway makes or is given are far longer.
pub const MIN_LEN: usize = 8;

#[derive(Default)]
pub struct Redactor {
    /// Every form of every value learnt, longest first when scrubbing.
    needles: RwLock<BTreeSet<String>>,
}

/// The process's redactor.
pub fn redactor() -> &'static Redactor {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();
    REDACTOR.get_or_init(Redactor::default)
}

/// `value` with every byte outside the unreserved set percent-encoded, as a URL carries it.
fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The forms `value` travels in (plain, URL-encoded, base64), those long enough to scrub.
fn forms(value: &str) -> Vec<String> {
    if value.len() < MIN_LEN {
        return Vec::new();
    }
    let bytes = value.as_bytes();
    [
        value.to_string(),
        percent_encoded(value),
        percent_encoded(value).to_lowercase(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ]
    .into_iter()
    .filter(|f| f.len() >= MIN_LEN)
    .collect()
}

impl Redactor {
    /// From now on, `value` (and its encoded forms) is scrubbed.
    pub fn learn(&self, value: &str) {
        let forms = forms(value);
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        needles.extend(forms);
    }

    /// A copy that knows everything this one does except `values` (in all their forms): the
    /// leak scan's, which must not count a variable's plain value, shown on purpose, as a leak.
    pub fn without<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut needles = self.needles.read().unwrap_or_else(|e| e.into_inner()).clone();
        for value in values {
            for form in forms(value) {
                needles.remove(&form);
            }
        }
        Redactor { needles: RwLock::new(needles) }
    }

    /// Whether `text` holds a learnt value, in any of its forms.
    pub fn finds(&self, text: &str) -> bool {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        needles.iter().any(|n| text.contains(n.as_str()))
    }

    /// `text` with every learnt value replaced by [`REDACTED`].
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        if !needles.iter().any(|n| text.contains(n.as_str())) {
            return Cow::Borrowed(text);
        }
        // Longest first, so a value inside a longer one (a password inside its URL) cannot
        // leave the rest of the longer one behind.
        let mut ordered: Vec<&String> = needles.iter().filter(|n| text.contains(n.as_str())).collect();
        ordered.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut scrubbed = text.to_string();
        for needle in ordered {
            scrubbed = scrubbed.replace(needle.as_str(), REDACTED);
        }
        Cow::Owned(scrubbed)
    }
}

/// `text` scrubbed by the process's redactor.
pub fn scrub(text: &str) -> String {
    redactor().scrub(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_scrubbed_in_every_form_it_travels_in() {
        let redactor = Redactor::default();
        let secret = "p@ss/w0rd+long&more";
        redactor.learn(secret);
        for form in
            [secret.to_string(), percent_encoded(secret), STANDARD.encode(secret), URL_SAFE_NO_PAD.encode(secret)]
        {
            let text = format!("Vercel said: value `{form}` refused");
            assert_eq!(redactor.scrub(&text), "Vercel said: value `[redacted]` refused", "{form}");
        }
        assert!(matches!(redactor.scrub("nothing secret here"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_not_learnt_and_longer_ones_go_whole() {
        let redactor = Redactor::default();
        redactor.learn("on");
        redactor.learn("hunter2-password");
        redactor.learn("postgres://user:hunter2-password@db.example:5432/postgres");
        assert_eq!(redactor.scrub("flag is on"), "flag is on");
        assert_eq!(
            redactor.scrub("cannot reach postgres://user:hunter2-password@db.example:5432/postgres"),
            "cannot reach [redacted]"
        );
    }
}
