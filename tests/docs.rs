//! The docs stay true to the repository: README's first lines are the two commands and CI runs
//! its test command; charmkit's crate docs are its README, whose links work on crates.io (to
//! docs.rs) and in rustdoc (to the items) alike; README's examples are doctests; and every
//! relative link in the READMEs reaches a file and a heading that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::util::repo_root;

fn read(path: &str) -> String {
    fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of `text` outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The link reference definitions (`[label]: destination`) of `lines`.
fn definitions<'a>(lines: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    lines
        .into_iter()
        .filter_map(|l| {
            let rest = l.strip_prefix('[')?;
            let (label, dest) = rest.split_once("]: ")?;
            Some((label.to_string(), dest.trim().to_string()))
        })
        .collect()
}

#[test]
fn readme_starts_with_the_two_commands_and_ci_runs_its_test_command() {
    let readme = read("README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| l.starts_with('#') || l.is_empty());
    assert_eq!(lines.next(), Some("```sh"), "README's first block");
    let commands: Vec<&str> = lines
        .by_ref()
        .take_while(|l| *l != "```")
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo build --release && ./dispatch simulate",
            "cargo test --workspace --locked"
        ],
        "README's first lines are the two commands a new user runs"
    );
    let ci = read(".ci/run");
    let last = ci
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap();
    assert_eq!(last, commands[1], ".ci/run ends with README's test command");
}

#[test]
fn readme_examples_are_doctests() {
    let lib = read("src/lib.rs");
    assert!(
        lib.contains("#[cfg(doctest)]\n#[doc = include_str!(\"../README.md\")]"),
        "src/lib.rs no longer compiles README's examples"
    );
}

#[test]
fn charmkits_crate_docs_are_its_readme_and_its_links_work_in_both() {
    let lib = read("crates/charmkit/src/lib.rs");
    let readme = read("crates/charmkit/README.md");
    // The crate docs: link definitions for rustdoc, then README.md, and no other doc text.
    let (before, _) = lib
        .split_once("#![doc = include_str!(\"../README.md\")]\n")
        .expect("lib.rs's crate docs are README.md: #![doc = include_str!(\"../README.md\")]");
    let inner: Vec<&str> = before
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let rustdoc = definitions(inner.iter().copied());
    assert_eq!(
        rustdoc.len(),
        inner.len(),
        "lib.rs's crate docs hold text README.md does not: {inner:?}"
    );
    assert!(
        !lib[before.len()..].lines().any(|l| l.starts_with("//!")),
        "lib.rs has crate docs after README.md's"
    );

    let prose = prose(&readme);
    let crates_io = definitions(prose.iter().copied());
    assert_eq!(
        crates_io.keys().collect::<Vec<_>>(),
        rustdoc.keys().collect::<Vec<_>>(),
        "README.md's links (to docs.rs) and lib.rs's (to the items) differ"
    );
    for (label, url) in &crates_io {
        let item = docs_rs_item(url).unwrap_or_else(|| panic!("{label}: {url} is not docs.rs"));
        assert_eq!(
            item,
            rustdoc_item(&rustdoc[label]),
            "{label}: README.md links to {url}, lib.rs to {}",
            rustdoc[label]
        );
    }

    // A reference README.md does not define would resolve in rustdoc and show as `[x]` on
    // crates.io.
    let mut used = BTreeSet::new();
    for line in &prose {
        let mut rest = *line;
        while let Some(i) = rest.find("[`") {
            rest = &rest[i + 1..];
            let Some(end) = rest.find(']') else { break };
            let label = &rest[..end];
            let after = &rest[end + 1..];
            if !after.starts_with('(') && !after.starts_with(':') {
                used.insert(format!("[{label}]"));
            }
        }
    }
    let defined: BTreeSet<String> = crates_io.keys().map(|l| format!("[{l}]")).collect();
    let undefined: Vec<&String> = used.difference(&defined).collect();
    assert!(
        undefined.is_empty(),
        "README.md uses links it does not define (crates.io would show them as text): {undefined:?}"
    );
}

/// `https://docs.rs/charmkit/latest/charmkit/tracing/struct.Tracing.html#method.setup` →
/// `tracing::Tracing::setup`.
fn docs_rs_item(url: &str) -> Option<String> {
    let path = url.strip_prefix("https://docs.rs/charmkit/latest/charmkit/")?;
    let (page, anchor) = path.split_once('#').unwrap_or((path, ""));
    let mut parts: Vec<&str> = page.split('/').collect();
    let file = parts.pop()?;
    if file != "index.html" {
        let (_kind, name) = file.strip_suffix(".html")?.split_once('.')?;
        parts.push(name);
    }
    if let Some((_kind, member)) = anchor.split_once('.') {
        parts.push(member);
    }
    Some(parts.join("::"))
}

/// `mod@tracing` → `tracing`, `main()` → `main`, `handler!` → `handler`.
fn rustdoc_item(path: &str) -> String {
    let path = path.split_once('@').map_or(path, |(_, p)| p);
    let path = path.strip_prefix("crate::").unwrap_or(path);
    path.trim_end_matches("()")
        .trim_end_matches('!')
        .to_string()
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .iter()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#')))
        .collect()
}

#[test]
fn relative_links_in_the_readmes_reach_a_file_and_heading() {
    let root = repo_root();
    let mut broken = Vec::new();
    for doc in [
        "README.md",
        "bench/README.md",
        "crates/charmkit/README.md",
        "examples/k8s-starter/README.md",
    ] {
        let text = read(doc);
        let dir = Path::new(doc).parent().unwrap();
        for line in prose(&text) {
            let mut rest = line;
            while let Some(i) = rest.find("](") {
                rest = &rest[i + 2..];
                let Some(end) = rest.find(')') else { break };
                let target = &rest[..end];
                if target.contains("://") {
                    continue;
                }
                let (file, heading) = target.split_once('#').unwrap_or((target, ""));
                let path = if file.is_empty() {
                    root.join(doc)
                } else {
                    root.join(dir).join(file)
                };
                if !path.exists() {
                    broken.push(format!("{doc}: {target} (no such file)"));
                } else if !heading.is_empty()
                    && !anchors(&fs::read_to_string(&path).unwrap()).contains(heading)
                {
                    broken.push(format!("{doc}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links: {broken:#?}");
}

#[test]
fn the_link_checks_see_what_they_check() {
    assert_eq!(
        docs_rs_item(
            "https://docs.rs/charmkit/latest/charmkit/tracing/struct.Tracing.html#method.setup"
        ),
        Some("tracing::Tracing::setup".into())
    );
    assert_eq!(
        docs_rs_item("https://docs.rs/charmkit/latest/charmkit/prelude/index.html"),
        Some("prelude".into())
    );
    assert_eq!(rustdoc_item("mod@error"), "error");
    assert_eq!(rustdoc_item("handler!"), "handler");
    assert_eq!(
        anchor("How we differ from ops, on purpose"),
        "how-we-differ-from-ops-on-purpose"
    );
    assert_eq!(
        anchor("Export: `charm-tracing` and `receive-ca-cert`"),
        "export-charm-tracing-and-receive-ca-cert"
    );
    let readme = read("README.md");
    assert!(anchors(&readme).contains("toolchain"));
}
