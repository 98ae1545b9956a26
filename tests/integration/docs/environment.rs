//! `reference/environment.md`: every environment variable gantry reads,
//! from `src/environment.rs`, the one module that names them (each a
//! documented `pub const`).

use super::{cell, check_generated, header, read_page};
use crate::support::repo_root;
use gantry::environment::{AWS_PREFIX, KNOWN_SECRETS, TRIVY_PASSES, TRIVY_PREFIX, looks_secret};
use gantry::step::Step;

/// A variable (or prefix, ending in `_`) and its doc comment.
struct Variable {
    name: String,
    doc: String,
}

/// The module's `pub const NAME: &str = "VALUE";` items with their doc
/// comments. Its lists (`&[&str]`) are read through the library instead.
/// Anything else declared `pub const` stops the test: teach it here.
fn variables() -> Vec<Variable> {
    let path = repo_root().join("src/environment.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim());
            continue;
        }
        if let Some(item) = line.strip_prefix("pub const ") {
            let (_, rest) = item.split_once(':').expect("pub const NAME: TYPE");
            let rest = rest.trim();
            if let Some(value) = rest.strip_prefix("&str = \"") {
                let name = value.split('"').next().unwrap().to_string();
                assert!(
                    !doc.is_empty(),
                    "src/environment.rs: `{name}` has no doc comment; the reference needs one"
                );
                out.push(Variable {
                    name,
                    doc: doc.join(" "),
                });
            } else {
                assert!(
                    rest.starts_with("&[&str]"),
                    "src/environment.rs: `pub const {item}` is neither a name nor a list of names: \
                     teach tests/integration/docs/environment.rs to read it"
                );
            }
        }
        doc.clear();
    }
    assert!(!out.is_empty(), "no variables read from src/environment.rs");
    out
}

fn shown(name: &str) -> String {
    if name.ends_with('_') {
        format!("`{name}*`")
    } else {
        format!("`{name}`")
    }
}

fn page() -> String {
    let mut out = header("src/environment.rs");
    out.push_str("# Environment variables reference\n\n");
    out.push_str(
        "Every environment variable gantry reads, as `src/environment.rs` names and \
         documents it. The [Environment variables](../environment.md) page says more \
         about each, and about the variables that `gantry.toml` names.\n\n",
    );
    out.push_str("| variable | secret | what |\n| --- | --- | --- |\n");
    for v in variables() {
        let secret = if looks_secret(&v.name) { "yes" } else { "" };
        out.push_str(&format!(
            "| {} | {secret} | {} |\n",
            shown(&v.name),
            cell(&v.doc)
        ));
    }
    out.push_str(
        "\n\"secret\": the value is redacted (`***`) from every output and withheld from \
         the commands gantry runs unless they declare it.\n\n",
    );
    out.push_str("## Always treated as secrets\n\nBesides any name containing `TOKEN`, `PASSWORD`, `SECRET` and the like:\n\n");
    out.push_str(&format!("- the job's own: {}", list(KNOWN_SECRETS)));
    // Each step's, from its row in the table of steps.
    for step in Step::ALL {
        let secrets = step.spec().secrets;
        if !secrets.is_empty() {
            out.push_str(&format!("- `{}`'s: {}", step.as_str(), list(secrets)));
        }
    }
    out.push_str(&format!(
        "\n## What Trivy gets\n\nTrivy's own {} variables, and only these of gantry's \
         environment (plus {} for an image in ECR):\n\n",
        shown(TRIVY_PREFIX),
        shown(AWS_PREFIX)
    ));
    out.push_str(&list(TRIVY_PASSES));
    out
}

fn list(names: &[&str]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("{}\n", items.join(", "))
}

#[test]
fn the_environment_reference_is_the_environment_module() {
    check_generated("environment.md", &page());
}

/// The hand-written page names every variable of the module, and every
/// `GANTRY_*` variable it names is read by gantry (the module) or by the
/// action's install script.
#[test]
fn the_environment_page_names_every_variable() {
    let page = read_page("environment.md");
    let names: Vec<String> = variables().into_iter().map(|v| v.name).collect();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !page.contains(&shown(n)))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "docs/src/environment.md does not name: {missing:?}"
    );
    let install = std::fs::read_to_string(repo_root().join("dist/install")).unwrap();
    let unknown: Vec<&str> = page
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            w.starts_with("GANTRY_") && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        .filter(|w| !names.iter().any(|n| n == w) && !install.contains(*w))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/src/environment.md names variables nothing reads: {unknown:?}"
    );
}
