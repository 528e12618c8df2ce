//! Dotenv files as Next.js reads them: `.env.example` and `slipway env pull`'s merge into a
//! developer's `.env.local`.
//!
//! Next.js loads `.env*` files with `@next/env`, which is npm's `dotenv` followed by
//! `dotenv-expand`. Their reading, which every value written here must survive exactly:
//! - single quotes and backticks hold their text literally, line breaks included;
//! - double quotes turn `\n` and `\r` into line breaks and keep every other backslash;
//! - then `$NAME` and `${NAME}` are replaced by other variables wherever they stand, quoted or
//!   not, and `\$` becomes `$`.
//!
//! python-dotenv reads the same files alike for every value without `$`, `\`, `'` or a line
//! break (the tests check both parsers).

use std::collections::BTreeSet;

/// `value` written so that `@next/env` reads back exactly `value`; `None` when no dotenv
/// quoting can (a value holding all three quote characters, a `'` beside a carriage return,
/// and a few rarer mixes). Empty stays empty.
pub fn quote(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some(String::new());
    }
    // dotenv-expand reads `\$` as `$`, in any quotes, and nothing else as an escape.
    let escaped = value.replace('$', "\\$");
    // A backslash before a closing quote makes dotenv look for a later one, over the next
    // lines; such a value can only stand unquoted, if it can at all.
    if escaped.ends_with('\\') {
        let bare = !escaped.contains(['#', '\n', '\r', '\'', '"', '`']) && escaped.trim() == escaped;
        return bare.then_some(escaped);
    }
    // dotenv turns every CR LF and lone CR of the file into LF before it parses, so a carriage
    // return survives only as the `\r` escape of double quotes.
    let has_cr = value.contains('\r');
    if !escaped.contains('\'') && !has_cr {
        return Some(format!("'{escaped}'"));
    }
    // Double quotes expand `\n` and `\r`, so a value that holds those two characters as text
    // cannot use them.
    if !escaped.contains('"') && !escaped.contains("\\n") && !escaped.contains("\\r") {
        let body = escaped.replace('\r', "\\r").replace('\n', "\\n");
        return Some(format!("\"{body}\""));
    }
    if !escaped.contains('`') && !has_cr {
        return Some(format!("`{escaped}`"));
    }
    None
}

/// The value `raw` (what follows `KEY=` up to the end of the entry) stands for, read as
/// `@next/env` reads it when no other variable is referenced.
pub fn unquote(raw: &str) -> String {
    let raw = raw.trim_start();
    let value = match raw.chars().next() {
        Some(q @ ('\'' | '"' | '`')) => match closing_quote(raw, q) {
            Some(end) => {
                // dotenv reads the file with every CR LF made LF.
                let inner = raw[1..end].replace("\r\n", "\n");
                let inner = inner.as_str();
                if q == '"' { inner.replace("\\n", "\n").replace("\\r", "\r") } else { inner.to_string() }
            }
            None => unquoted(raw),
        },
        _ => unquoted(raw),
    };
    value.replace("\\$", "$")
}

/// An unquoted value: up to a `#`, trimmed (a CR LF file's CR included).
fn unquoted(raw: &str) -> String {
    let line = raw.lines().next().unwrap_or_default();
    line.split('#').next().unwrap_or_default().trim().to_string()
}

/// Where the quote opening `raw` closes, as dotenv's pattern decides: its body runs up to the
/// first `q` not escaped by a backslash, and the closing quote is the last candidate (that one,
/// or an escaped `q` before it) followed only by blanks and a `#` comment on its line. `None`
/// when there is none: dotenv then reads the line as an unquoted value.
fn closing_quote(raw: &str, q: char) -> Option<usize> {
    let mut candidates = Vec::new();
    let mut escaped = false;
    for (i, c) in raw.char_indices().skip(1) {
        if escaped {
            escaped = false;
            if c == q {
                candidates.push(i);
            }
        } else if c == '\\' {
            escaped = true;
        } else if c == q {
            candidates.push(i);
            break;
        }
    }
    candidates.into_iter().rev().find(|&i| ends_line(&raw[i + q.len_utf8()..]))
}

/// Whether `rest` holds only blanks and maybe a `#` comment before its line ends.
fn ends_line(rest: &str) -> bool {
    let line = rest.split('\n').next().unwrap_or_default().trim_end_matches('\r');
    let line = line.trim_start_matches([' ', '\t']);
    line.is_empty() || line.starts_with('#')
}

/// One variable a pull writes: its value and the line of description that heads it when it
/// is new to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub key: String,
    pub value: String,
    pub description: String,
}

/// What a merge does to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not in the file before.
    Added {
        key: String,
    },
    /// In the file with another value (`old` as the file's parser reads it).
    Changed {
        key: String,
        old: String,
    },
    Unchanged {
        key: String,
    },
    /// No dotenv quoting holds its value; the file keeps what it had.
    Unwritable {
        key: String,
    },
}

impl Change {
    pub fn key(&self) -> &str {
        match self {
            Change::Added { key }
            | Change::Changed { key, .. }
            | Change::Unchanged { key }
            | Change::Unwritable { key } => key,
        }
    }
}

/// The file after a merge, and what changed, in the order of `updates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub changes: Vec<Change>,
}

impl Merged {
    /// Whether writing it would change the file.
    pub fn changes_anything(&self) -> bool {
        self.changes.iter().any(|c| matches!(c, Change::Added { .. } | Change::Changed { .. }))
    }
}

/// One assignment found in a file: the lines it spans and where its value starts.
struct Entry {
    key: String,
    /// Byte range of the whole entry, its line break excluded.
    span: std::ops::Range<usize>,
    /// Byte offset of the value's first character (after `=`).
    value_at: usize,
    /// The text after the value on its last line (a ` # comment`), kept when it is rewritten.
    trailer: String,
}

/// The assignments of `text` (`KEY=…` and `export KEY=…`, values over several lines when
/// quoted); comments, blank lines and anything else are not entries.
fn entries(text: &str) -> Vec<Entry> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line = &text[at..line_end];
        let Some((key, value_offset)) = assignment(line) else {
            at = line_end + 1;
            continue;
        };
        let value_at = at + value_offset;
        let rest = &text[value_at..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        let lead = rest.len() - trimmed.len();
        let (end, trailer) = match trimmed.chars().next() {
            Some(q @ ('\'' | '"' | '`')) => match closing_quote(trimmed, q) {
                Some(close) => {
                    let close = value_at + lead + close;
                    let end = text[close..].find('\n').map_or(text.len(), |i| close + i);
                    (end, text[close + 1..end].to_string())
                }
                None => (line_end, String::new()),
            },
            _ => {
                // An unquoted value ends at `#`: the comment (and the blanks before it) stays.
                let value = &line[value_offset..];
                let trailer = value.find('#').map(|i| value[value[..i].trim_end().len()..].to_string());
                (line_end, trailer.unwrap_or_else(|| if line.ends_with('\r') { "\r".into() } else { String::new() }))
            }
        };
        found.push(Entry { key, span: at..end, value_at, trailer });
        at = end + 1;
    }
    found
}

/// `KEY=`, optionally after `export `: the key, and where its value starts in `line`.
fn assignment(line: &str) -> Option<(String, usize)> {
    let body = line.trim_start();
    let body = match body.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => body,
    };
    let key_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))?;
    if key_len == 0 {
        return None;
    }
    let after_eq = body[key_len..].trim_start_matches([' ', '\t']).strip_prefix('=')?;
    Some((body[..key_len].to_string(), line.len() - after_eq.len()))
}

/// `existing` with every key of `updates` set: a key already in the file is rewritten where
/// it stands (every occurrence, keeping `export` and a trailing comment); a new key is added
/// at the end under its description, after a `header` comment. Every other line (comments,
/// blank lines, keys Slipway does not manage, keys `updates` leaves out) is kept as it was.
pub fn merge(existing: &str, updates: &[Update], header: &str) -> Merged {
    let found = entries(existing);
    let mut changes = Vec::new();
    let mut rewrites: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut appended = String::new();
    for update in updates {
        let occurrences: Vec<&Entry> = found.iter().filter(|e| e.key == update.key).collect();
        let Some(quoted) = quote(&update.value) else {
            changes.push(Change::Unwritable { key: update.key.clone() });
            continue;
        };
        match occurrences.last() {
            None => {
                changes.push(Change::Added { key: update.key.clone() });
                appended.push_str(&format!("# {}\n{}={quoted}\n", update.description, update.key));
            }
            // The last occurrence is the one dotenv keeps.
            Some(last) => {
                let old = unquote(&existing[last.value_at..last.span.end]);
                if old == update.value {
                    changes.push(Change::Unchanged { key: update.key.clone() });
                    continue;
                }
                changes.push(Change::Changed { key: update.key.clone(), old });
                for entry in occurrences {
                    // Indentation, `export` and `KEY=` stay as the file has them.
                    let head = &existing[entry.span.start..entry.value_at];
                    rewrites.push((entry.span.clone(), format!("{head}{quoted}{}", entry.trailer)));
                }
            }
        }
    }
    rewrites.sort_by_key(|(span, _)| span.start);
    let mut text = String::with_capacity(existing.len() + appended.len());
    let mut at = 0;
    for (span, line) in rewrites {
        text.push_str(&existing[at..span.start]);
        text.push_str(&line);
        at = span.end;
    }
    text.push_str(&existing[at..]);
    if !appended.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("# {header}\n"));
        text.push_str(&appended);
    }
    Merged { text, changes }
}

/// The keys a file assigns.
pub fn keys(text: &str) -> BTreeSet<String> {
    entries(text).into_iter().map(|e| e.key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(key: &str, value: &str) -> Update {
        Update { key: key.into(), value: value.into(), description: format!("{key}'s purpose") }
    }

    #[test]
    fn values_are_quoted_the_way_next_reads_them_back() {
        assert_eq!(quote("").as_deref(), Some(""));
        assert_eq!(quote("on").as_deref(), Some("'on'"));
        assert_eq!(quote("a # b").as_deref(), Some("'a # b'"));
        assert_eq!(quote("pa$word").as_deref(), Some(r"'pa\$word'"));
        assert_eq!(quote("it's").as_deref(), Some(r#""it's""#));
        assert_eq!(quote("it's\n\"x\"").as_deref(), Some("`it's\n\"x\"`"));
        assert_eq!(quote("a\r\nb").as_deref(), Some(r#""a\r\nb""#));
        assert_eq!(quote("'\"`"), None);
        assert_eq!(quote(r"C:\dir\").as_deref(), Some(r"C:\dir\"), "a trailing backslash stands unquoted");
        assert_eq!(quote("a b\\").as_deref(), Some("a b\\"));
        assert_eq!(quote("a#b\\"), None, "…when nothing there needs quotes");
        for value in
            ["on", "a # b", "pa$word", "it's", "it's\n\"x\"", "a\r\nb", "multi\nline", r"back\slash", r"C:\dir\"]
        {
            assert_eq!(unquote(&quote(value).unwrap()), value, "{value:?}");
        }
    }

    #[test]
    fn a_merge_keeps_comments_local_keys_and_layout_and_reports_each_change() {
        let existing = "# my notes\nLOCAL_ONLY=keep me\nexport FLAG=off # why\n\nMULTI=\"one\ntwo\"\nSAME='x'\n";
        let merged = merge(
            existing,
            &[update("FLAG", "on"), update("MULTI", "three"), update("SAME", "x"), update("NEW_KEY", "v")],
            "added by slipway env pull shop (development)",
        );
        assert_eq!(
            merged.text,
            "# my notes\nLOCAL_ONLY=keep me\nexport FLAG='on' # why\n\nMULTI='three'\nSAME='x'\n\n\
             # added by slipway env pull shop (development)\n# NEW_KEY's purpose\nNEW_KEY='v'\n"
        );
        assert_eq!(
            merged.changes,
            vec![
                Change::Changed { key: "FLAG".into(), old: "off".into() },
                Change::Changed { key: "MULTI".into(), old: "one\ntwo".into() },
                Change::Unchanged { key: "SAME".into() },
                Change::Added { key: "NEW_KEY".into() },
            ]
        );
        assert!(merged.changes_anything());
        let again = merge(&merged.text, &[update("FLAG", "on"), update("NEW_KEY", "v")], "h");
        assert_eq!(again.text, merged.text);
        assert!(!again.changes_anything());
    }

    #[test]
    fn every_occurrence_of_a_key_is_rewritten_and_an_unwritable_value_leaves_the_file_alone() {
        let merged = merge("A=1\nA=2\n", &[update("A", "3"), update("B", "'\"`")], "h");
        assert_eq!(merged.text, "A='3'\nA='3'\n");
        assert_eq!(
            merged.changes,
            vec![Change::Changed { key: "A".into(), old: "2".into() }, Change::Unwritable { key: "B".into() }]
        );
        assert_eq!(merge("", &[update("A", "1")], "h").text, "# h\n# A's purpose\nA='1'\n");
        assert_eq!(keys("# c\nA=1\nexport B='x\ny'\nnot an entry\n"), ["A", "B"].map(String::from).into());
    }

    #[test]
    fn a_value_ending_in_a_backslash_does_not_swallow_the_next_lines() {
        let merged = merge("", &[update("A", r"C:\dir\"), update("B", "sk_test_1")], "h");
        let again = merge(&merged.text, &[update("A", r"C:\dir\"), update("B", "sk_test_1")], "h");
        assert!(!again.changes_anything(), "{:?}\n{}", again.changes, merged.text);
        // A file's own `'…\'` line closes where dotenv closes it: at the quote ending the line.
        let own = "A='x\\'\nB='y'\n";
        assert_eq!(keys(own), ["A", "B"].map(String::from).into());
        assert!(!merge(own, &[update("B", "y")], "h").changes_anything());
    }

    #[test]
    fn crlf_files_indentation_and_comments_without_a_space_are_kept() {
        let own = "  FLAG=off#why\r\nMULTI=\"one\r\ntwo\"\r\nLOCAL=1\r\n";
        let merged = merge(own, &[update("FLAG", "on"), update("MULTI", "one\ntwo")], "h");
        assert_eq!(merged.text, "  FLAG='on'#why\r\nMULTI=\"one\r\ntwo\"\r\nLOCAL=1\r\n");
        assert_eq!(
            merged.changes,
            vec![Change::Changed { key: "FLAG".into(), old: "off".into() }, Change::Unchanged { key: "MULTI".into() }]
        );
    }
}
