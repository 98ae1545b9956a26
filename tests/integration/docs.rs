//! The book in `docs/`: its reference pages are written from the code, and
//! its pages point only at pages and headings that exist.
//!
//! The reference pages (`docs/src/reference/*.md`) are generated here, on
//! the test side, from the library's own definitions: clap's command tree
//! (`gantry::cli`), the table of steps (`gantry::step::Step::ALL`), the
//! settings types as serde reads `gantry.toml` with them (the same field
//! lists `deny_unknown_fields` checks), and `src/environment.rs`, the one
//! module that names environment variables. The release binary carries no
//! documentation code. A committed page that differs from what the code
//! gives fails its test, which names the command that rewrites them:
//! `GANTRY_UPDATE_DOCS=1 cargo test --test integration docs::`.
//!
//! The hand-written pages are held to the same facts: every flag is on its
//! command's page, every key in its configuration section, every variable
//! on the environment page, and nothing is documented that the code does
//! not accept.

mod action;
mod cli;
mod config;
mod environment;
mod links;
mod steps;

use crate::support::repo_root;
use std::path::PathBuf;

/// The command that rewrites the generated pages.
const UPDATE: &str = "GANTRY_UPDATE_DOCS=1 cargo test --test integration docs::";

/// The first line of every generated page.
fn header(source: &str) -> String {
    format!(
        "<!-- Generated from {source} by tests/integration/docs.rs: do not edit.\n     \
         After changing the code, run `{UPDATE}`. -->\n\n"
    )
}

fn book_src() -> PathBuf {
    repo_root().join("docs/src")
}

fn read_page(relative: &str) -> String {
    let path = book_src().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Compares a generated page with the committed one (or writes it, with
/// `GANTRY_UPDATE_DOCS` set).
fn check_generated(name: &str, generated: &str) {
    let path = book_src().join("reference").join(name);
    if std::env::var_os("GANTRY_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/src/reference/{name} is stale: it differs from what the code says; run `{UPDATE}`\n{}",
        similar::TextDiff::from_lines(committed.as_str(), generated)
            .unified_diff()
            .header("committed", "generated")
    );
}

/// Markdown text from help or doc text: `<` and `*` outside code spans
/// would be read as HTML and emphasis.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push_str(&part.replace('<', "&lt;").replace('*', "\\*"));
        }
    }
    out
}

/// Text for a table cell: escaped, and `|` (which ends a cell even inside
/// a code span) escaped too.
fn cell(text: &str) -> String {
    escape(text).replace('|', "\\|")
}

/// The part of a page from the heading that starts with `heading` to the
/// next heading of the same or a higher level.
fn section<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
    let start = page.find(heading)?;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let rest = &page[start + heading.len()..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let hashes = rest[i..].chars().take_while(|c| *c == '#').count();
            hashes > 0 && hashes <= level && rest[i..].chars().nth(hashes) == Some(' ')
        })
        .unwrap_or(rest.len());
    Some(&page[start..start + heading.len() + end])
}

/// Whether `word` appears in `text` as code: between backticks, or as a
/// part of a dotted key or a `{ a, b }` list inside them.
fn names_in_code(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        matches!(before, Some('`' | '.' | ' ' | '{'))
            && matches!(after, Some('`' | ',' | ' ' | '}' | '='))
            && (before != Some(' ') || text[..i].ends_with("{ ") || text[..i].ends_with(", "))
    })
}

/// The README is the front door (issue #24: under 300 lines) and still
/// gives the two commands a fresh clone starts with.
#[test]
fn the_readme_is_a_front_door() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines < 300,
        "README.md has {lines} lines: move the detail into docs/src/"
    );
    for command in ["scripts/demo", "scripts/test"] {
        assert!(
            readme.contains(command),
            "README.md does not give `{command}`"
        );
    }
}
