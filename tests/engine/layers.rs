//! No import circles between modules, in the engine or in the app.
//!
//! A small check of our own rather than a tool: `cargo-modules` would do it but takes minutes
//! to install on two cores and pins a rust-analyzer; what we need is a graph of `crate::`
//! and `super::` paths between files, which a few lines read off the sources. Test code (a
//! trailing `#[cfg(test)] mod tests`) does not count. A parent and its own submodules may
//! name each other (a `mod.rs` re-exports what its files define); any ring that leaves such a
//! family fails, even one that passes a parent-child edge (`server::session` → `server`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`provision::resources::env_vars`) of each `.rs` file under `root`, with its
/// production source.
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    parts.pop();
                }
                let source = std::fs::read_to_string(&path).unwrap();
                let production = match source.find("#[cfg(test)]\nmod tests") {
                    Some(at) => source[..at].to_string(),
                    None => source,
                };
                found.insert(parts.join("::"), production);
            }
        }
    }
    found
}

/// The paths a source names from its own crate, as module paths relative to the crate root.
fn references(module: &str, source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let own: Vec<&str> = if module.is_empty() { vec![] } else { module.split("::").collect() };
    for line in source.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::").or_else(|| rest.find("super::")) {
            let is_super = rest[at..].starts_with("super::");
            // `slipway_engine::…` and the like are other crates.
            let preceded = rest[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
            let mut tail = &rest[at..];
            let mut base: Vec<&str> = Vec::new();
            if !preceded {
                if is_super {
                    base = own.clone();
                    while let Some(after) = tail.strip_prefix("super::") {
                        base.pop();
                        tail = after;
                    }
                } else {
                    tail = &tail["crate::".len()..];
                }
                let groups: Vec<String> = match tail.strip_prefix('{') {
                    // `crate::{a::{B, C}, d}`: each top-level item of the group.
                    Some(group) => top_level_items(group),
                    None => vec![tail.to_string()],
                };
                for item in groups {
                    let segments: Vec<&str> = item
                        .trim()
                        .split("::")
                        .map(|s| s.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_')))
                        .take_while(|s| !s.is_empty() && s.chars().next().is_some_and(|c| c.is_lowercase()))
                        .collect();
                    let path: Vec<&str> = base.iter().copied().chain(segments).collect();
                    paths.push(path.join("::"));
                }
            }
            // Past the whole `super::super::` chain, so its tail is not read again as a path.
            let mut skip = "crate::".len();
            while rest[at + skip..].starts_with("super::") {
                skip += "super::".len();
            }
            rest = &rest[at + skip..];
        }
    }
    paths
}

/// `a::{B, C}, d} …` → `["a::{B, C", " d"]`: the items of a group up to its closing brace.
fn top_level_items(group: &str) -> Vec<String> {
    let (mut items, mut current, mut depth) = (Vec::new(), String::new(), 0);
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
}

/// The module a path lands in: its longest prefix that is a module.
fn resolve<'a>(path: &str, known: &'a BTreeSet<String>) -> Option<&'a String> {
    let parts: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (1..=parts.len()).rev().find_map(|n| known.get(&parts[..n].join("::")))
}

fn related(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| inner.starts_with(&format!("{outer}::"));
    within(a, b) || within(b, a)
}

/// Every circle among the modules under `root`, each as the modules on it.
fn circles(root: &Path) -> Vec<Vec<String>> {
    let modules = modules(root);
    let known: BTreeSet<String> = modules.keys().filter(|m| !m.is_empty()).cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, source) in &modules {
        for path in references(module, source) {
            if let Some(target) = resolve(&path, &known)
                && target != module
            {
                edges.entry(module.clone()).or_default().insert(target.clone());
            }
        }
    }
    // Tarjan's strongly connected components: a component of two or more is a circle.
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        found: Vec<Vec<String>>,
    }
    fn visit(w: &mut Walk<'_>, v: &str) {
        let n = w.index.len();
        w.index.insert(v.to_string(), n);
        w.low.insert(v.to_string(), n);
        w.stack.push(v.to_string());
        w.on_stack.insert(v.to_string());
        for next in w.edges.get(v).cloned().unwrap_or_default() {
            if !w.index.contains_key(&next) {
                visit(w, &next);
                let low = w.low[v].min(w.low[&next]);
                w.low.insert(v.to_string(), low);
            } else if w.on_stack.contains(&next) {
                let low = w.low[v].min(w.index[&next]);
                w.low.insert(v.to_string(), low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                w.on_stack.remove(&top);
                let done = top == v;
                component.push(top);
                if done {
                    break;
                }
            }
            // A module family (a parent and its own submodules) may name itself around; a ring
            // that leaves the family is a circle, even when it passes a parent-child edge.
            let family = component.iter().any(|root| component.iter().all(|m| m == root || related(m, root)));
            if component.len() > 1 && !family {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for module in &known {
        if !walk.index.contains_key(module) {
            visit(&mut walk, module);
        }
    }
    walk.found
}

fn crate_dir(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn the_engine_has_no_import_circle() {
    assert_eq!(circles(&crate_dir("src")), Vec::<Vec<String>>::new());
}

#[test]
fn the_app_has_no_import_circle() {
    assert_eq!(circles(&crate_dir("app/src")), Vec::<Vec<String>>::new());
}

#[test]
fn the_simulators_have_no_import_circle() {
    assert_eq!(circles(&crate_dir("sim/src")), Vec::<Vec<String>>::new());
}

#[test]
fn a_circle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("lib.rs", "mod pages;\nmod components;\nmod views;\n");
    write("pages.rs", "use crate::components::Layout;\nuse crate::views::{self, Row};\n");
    write("components.rs", "use crate::{pages::Home, views::Row};\n");
    write("views.rs", "// use crate::pages; (a comment)\npub struct Row;\n");
    assert_eq!(circles(dir.path()), vec![vec!["components".to_string(), "pages".to_string()]]);
    write("components.rs", "pub struct Layout;\n#[cfg(test)]\nmod tests {\n    use crate::pages::Home;\n}\n");
    assert_eq!(circles(dir.path()), Vec::<Vec<String>>::new(), "test code does not count");

    // A family naming itself around is fine; a ring that leaves it through a parent-child edge
    // is a circle.
    std::fs::create_dir(dir.path().join("server")).unwrap();
    write(
        "server/mod.rs",
        "mod session;
pub use session::user;
pub struct State;
",
    );
    write(
        "server/session.rs",
        "use super::State;
pub fn user() {}
",
    );
    assert_eq!(circles(dir.path()), Vec::<Vec<String>>::new(), "a family");
    write(
        "server/mod.rs",
        "mod session;
pub use crate::views::Row;
pub struct State;
",
    );
    write(
        "views.rs",
        "use crate::server::session::user;
pub struct Row;
",
    );
    let ring = ["server", "server::session", "views"].map(String::from).to_vec();
    assert_eq!(circles(dir.path()), vec![ring]);
}
