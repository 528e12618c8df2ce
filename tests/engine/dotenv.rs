//! The dotenv files Slipway writes (`.env.example`, `env pull`'s merge), read back by the
//! parsers developers use: `@next/env` from npm (dotenv and dotenv-expand, as Next.js loads
//! `.env*` files) for every value, and python-dotenv from PyPI for the values it reads alike.
//! Both are installed, pinned, by `scripts/setup.sh --browser`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_engine::env::dotenv::{self, Update};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What Next.js reads from `dir/.env.local`.
fn next_reads(dir: &Path) -> BTreeMap<String, String> {
    let end2end = repo().join("end2end");
    assert!(end2end.join("node_modules/@next/env").is_dir(), "@next/env is missing: run ./scripts/setup.sh --browser");
    let script = "const {loadEnvConfig} = require('@next/env');\
                  const quiet = {info() {}, error(e) { console.error(e) }};\
                  const loaded = loadEnvConfig(process.argv[1], true, quiet, true);\
                  process.stdout.write(JSON.stringify(loaded.parsedEnv));";
    let out = Command::new("node").current_dir(&end2end).args(["-e", script]).arg(dir).output().expect("node runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What python-dotenv reads from `file` (a key without a value reads as `None`).
fn python_reads(file: &Path) -> BTreeMap<String, Option<String>> {
    let python = repo().join(".tools/python-dotenv/bin/python");
    assert!(python.exists(), "python-dotenv is missing: run ./scripts/setup.sh");
    let script = "import json, sys\nfrom dotenv import dotenv_values\n\
                  print(json.dumps(dotenv_values(sys.argv[1], interpolate=True)))";
    let out = Command::new(python).args(["-c", script]).arg(file).output().expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Values a venture really holds, and the awkward ones.
const VALUES: &[(&str, &str)] = &[
    ("PLAIN", "on"),
    ("URL", "postgresql://postgres.abc:p%40ss@aws-0-eu-west-1.pooler.supabase.com:6543/postgres?pgbouncer=true"),
    ("BASE64URL", "q3Kf-8_xZ0aBcD1eFgHiJkLmNoPqRsTuVwXyZ012345"),
    ("BASE64", "aGVsbG8gd29ybGQ+Pz8/Lw=="),
    ("HASH", "value # with a hash"),
    ("SPACES", "  padded  "),
    ("DOUBLE_QUOTES", "say \"hi\""),
    ("DOLLAR", "pa$word and ${HOME} and $PATH"),
    ("SINGLE_QUOTE", "it's"),
    ("BACKSLASH", r"C:\path\to\n-not-a-line-break"),
    ("ESCAPED_DOLLAR", r"a\$b"),
    ("PEM", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"),
    ("QUOTES_AND_LINES", "it's\n\"quoted\"\n"),
    ("CRLF", "one\r\ntwo"),
    ("JSON", r#"{"a":[1,2],"b":"c"}"#),
    ("UNICODE", "café ☕ 東京"),
    ("EQUALS", "a=b=c"),
    ("TRAILING_BACKSLASH", r"C:\dir\"),
];

/// Whether python-dotenv reads `value` as Next.js does (no `$`, `\`, `'` or line break).
fn portable(value: &str) -> bool {
    !value.contains(['$', '\\', '\'', '\n', '\r'])
}

fn updates() -> Vec<Update> {
    VALUES
        .iter()
        .map(|(key, value)| Update {
            key: format!("SLIPWAY_T_{key}"),
            value: value.to_string(),
            description: format!("{key}: a value that must read back exactly"),
        })
        .collect()
}

#[test]
fn next_js_reads_back_every_value_slipway_writes_and_python_dotenv_the_portable_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env.local");
    let merged = dotenv::merge("", &updates(), "written by the test");
    std::fs::write(&file, &merged.text).unwrap();

    let next = next_reads(dir.path());
    let python = python_reads(&file);
    for update in updates() {
        assert_eq!(next.get(&update.key), Some(&update.value), "Next.js reads {} back:\n{}", update.key, merged.text);
        if portable(&update.value) {
            assert_eq!(
                python.get(&update.key),
                Some(&Some(update.value.clone())),
                "python-dotenv reads {}",
                update.key
            );
        }
    }
    assert_eq!(VALUES.iter().filter(|(_, v)| portable(v)).count(), 10, "python-dotenv is checked on most values");
}

#[test]
fn a_merge_into_a_developer_s_file_keeps_their_keys_and_comments_for_both_parsers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env.local");
    let own = "# my local settings\nLOCAL_DEBUG=true # keep\nexport SLIPWAY_T_PLAIN=off\n\
               SLIPWAY_T_PEM=\"old\nkey\"\nLOCAL_PORT=3001\n";
    let merged = dotenv::merge(own, &updates(), "written by the test");
    std::fs::write(&file, &merged.text).unwrap();
    assert!(merged.text.starts_with("# my local settings\nLOCAL_DEBUG=true # keep\nexport SLIPWAY_T_PLAIN='on'\n"));

    let next = next_reads(dir.path());
    let python: BTreeMap<String, String> = python_reads(&file).into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
    for parsed in [&next, &python] {
        assert_eq!(parsed.get("LOCAL_DEBUG").map(String::as_str), Some("true"));
        assert_eq!(parsed.get("LOCAL_PORT").map(String::as_str), Some("3001"));
        assert_eq!(parsed.get("SLIPWAY_T_PLAIN").map(String::as_str), Some("on"));
    }
    for update in updates() {
        assert_eq!(next.get(&update.key), Some(&update.value), "{}", update.key);
    }
    // Pulled again, nothing changes.
    let again = dotenv::merge(&merged.text, &updates(), "written by the test");
    assert!(!again.changes_anything(), "{:?}", again.changes);
    assert_eq!(again.text, merged.text);
}
