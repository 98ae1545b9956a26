//! The book's pages (and the README) point only at pages and headings that
//! exist, and every page is in the book's table of contents.

use super::book_src;
use crate::support::repo_root;
use std::path::{Path, PathBuf};

/// Every Markdown file under `dir`.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(pages(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The page's text outside fenced code blocks.
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The targets of the page's inline links `[text](target)`.
fn links(text: &str) -> Vec<String> {
    let prose = prose(text);
    prose
        .match_indices("](")
        .filter_map(|(i, _)| prose[i + 2..].split(')').next().map(str::to_string))
        .collect()
}

/// A heading's anchor as mdBook (and GitHub) make it: lower case, spaces to
/// `-`, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// What is wrong with the links of one page.
fn broken(page: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap();
    let name = page
        .strip_prefix(repo_root())
        .unwrap()
        .display()
        .to_string();
    let mut out = Vec::new();
    for link in links(&text) {
        if link.contains("://") || link.starts_with("mailto:") {
            continue;
        }
        let (file, fragment) = match link.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (link.as_str(), None),
        };
        let target = if file.is_empty() {
            page.to_path_buf()
        } else {
            page.parent().unwrap().join(file)
        };
        let Ok(target_text) = std::fs::read_to_string(&target).or_else(|e| {
            if target.is_dir() {
                Ok(String::new())
            } else {
                Err(e)
            }
        }) else {
            out.push(format!("{name}: ({link}) points at no file"));
            continue;
        };
        if let Some(fragment) = fragment
            && !anchors(&target_text).iter().any(|a| a == fragment)
        {
            out.push(format!("{name}: ({link}) points at no heading"));
        }
    }
    out
}

#[test]
fn every_link_between_pages_points_somewhere() {
    let mut all = pages(&book_src());
    all.push(repo_root().join("README.md"));
    let problems: Vec<String> = all.iter().flat_map(|p| broken(p)).collect();
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// mdBook renders only the pages its SUMMARY.md lists: a page left out is
/// a link to nowhere in the built book.
#[test]
fn every_page_is_in_the_table_of_contents() {
    let src = book_src();
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let listed = links(&summary);
    let missing: Vec<String> = pages(&src)
        .iter()
        .map(|p| p.strip_prefix(&src).unwrap().display().to_string())
        .filter(|p| p != "SUMMARY.md" && !listed.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "pages missing from docs/src/SUMMARY.md: {missing:?}"
    );
}
