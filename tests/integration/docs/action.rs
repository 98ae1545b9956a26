//! The action's page lists exactly the inputs and outputs `action.yml`
//! declares, in its order.

use super::read_page;
use crate::support::repo_root;

/// The names `action.yml` declares under `section` (`inputs`, `outputs`).
fn declared(section: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let action: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    action[section]
        .as_mapping()
        .unwrap_or_else(|| panic!("action.yml has no {section}"))
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// The first cells of the table after the line `**<title>**` on the page.
fn documented(page: &str, title: &str) -> Vec<String> {
    let start = page
        .find(&format!("**{title}**\n"))
        .unwrap_or_else(|| panic!("docs/src/action.md has no **{title}** table"));
    page[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            row[1..]
                .split('|')
                .next()
                .unwrap()
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .collect()
}

#[test]
fn the_action_page_lists_every_input_and_output() {
    let page = read_page("action.md");
    assert_eq!(documented(&page, "Inputs"), declared("inputs"));
    assert_eq!(documented(&page, "Outputs"), declared("outputs"));
}
