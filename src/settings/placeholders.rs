//! Placeholders: values `gantry init` could not learn (an ECS cluster, a
//! Railway service) stand in `gantry.toml` as `"<cluster>"`. A file that
//! still holds one is refused at load, every placeholder named with its
//! line and what to write, so nothing runs against a made-up name.
//!
//! Any string in angle brackets is one, as a key or a value: no cluster,
//! service or container name can hold `<` or `>`, and a `<owner>` copied
//! from the README is caught the same way.

use crate::error::ConfigError;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One placeholder: the dotted key path, its text and where it stands.
#[derive(Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The key holding it; for a placeholder key, the table holding that key.
    pub key: String,
    pub text: String,
    /// A key (`containers = { "<container>" = "api" }`), not a value.
    pub is_key: bool,
    pub span: Range<usize>,
}

/// Whether `s` is a placeholder: `<` something without brackets `>`.
pub fn is_placeholder(s: &str) -> bool {
    s.len() > 2 && s.starts_with('<') && s.ends_with('>') && !s[1..s.len() - 1].contains(['<', '>'])
}

/// The placeholders of a document that parses, in file order.
pub fn find(text: &str) -> Vec<Placeholder> {
    let Ok(doc) = DeTable::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk_table(doc.get_ref(), "", &mut out);
    out.sort_by_key(|p| p.span.start);
    out
}

fn walk_table(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Placeholder>) {
    for (key, value) in table {
        let name = key.get_ref().as_ref();
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        if is_placeholder(name) {
            out.push(Placeholder {
                key: prefix.to_string(),
                text: name.to_string(),
                is_key: true,
                span: key.span(),
            });
        }
        walk_value(value, &path, out);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, path: &str, out: &mut Vec<Placeholder>) {
    match value.get_ref() {
        DeValue::String(s) if is_placeholder(s) => out.push(Placeholder {
            key: path.to_string(),
            text: s.to_string(),
            is_key: false,
            span: value.span(),
        }),
        DeValue::Array(items) => {
            for item in items {
                walk_value(item, path, out);
            }
        }
        DeValue::Table(t) => walk_table(t, path, out),
        _ => {}
    }
}

/// What a placeholder `gantry init` writes stands for, and the flag that
/// fills it when init runs again.
fn meaning(p: &Placeholder) -> &'static str {
    let key = p.key.as_str();
    let last = |suffix: &str| key.ends_with(suffix);
    if key.starts_with("deploy.") && last(".ecs.cluster") {
        "the ECS cluster's name or ARN (`gantry init --cluster NAME`)"
    } else if key.starts_with("deploy.") && last(".ecs.service") {
        "the ECS service's name or ARN (`gantry init --service NAME`)"
    } else if key.starts_with("deploy.") && last(".containers") && p.is_key {
        "the container of the service's task definition that runs this image (`gantry init --container NAME`)"
    } else if key.starts_with("deploy.") && last(".railway.service") {
        "the Railway service's name or id (`gantry init --service NAME`)"
    } else if key.starts_with("deploy.") && last(".railway.project") {
        "the Railway project's name or id (`gantry init --railway-project NAME`)"
    } else {
        "a value to write in its place"
    }
}

/// Every placeholder of the file, one line each, or `None` when there is none.
pub fn check(path: &Path, text: &str) -> Option<ConfigError> {
    let found = find(text);
    if found.is_empty() {
        return None;
    }
    let file = path.display();
    let mut message = format!(
        "{} placeholder{} to fill in:",
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    );
    for p in &found {
        let before = &text[..p.span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let what = if p.is_key {
            format!("{}: key \"{}\"", p.key, p.text)
        } else {
            format!("{} = \"{}\"", p.key, p.text)
        };
        message.push_str(&format!(
            "\n  {file}:{line}:{column}: {what}: {}",
            meaning(p)
        ));
    }
    Some(ConfigError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message,
        snippet: None,
        hint: Some(
            "write each value in gantry.toml, or run `gantry init --force` again with the flags named above"
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_brackets_make_a_placeholder() {
        assert!(is_placeholder("<cluster>"));
        assert!(is_placeholder("<your ECS cluster>"));
        for no in ["", "<>", "cluster", "<a>b>", "a<b>", "prod"] {
            assert!(!is_placeholder(no), "{no}");
        }
    }

    #[test]
    fn each_placeholder_is_named_with_its_line_and_what_sets_it() {
        let text = "[images.api]\ncontext = \".\"\nrepository = \"api\"\n\n[deploy.api]\ncontainers = { \"<container>\" = \"api\" }\n\n[deploy.api.ecs]\ncluster = \"<cluster>\"\nservice = \"<service>\"\n\n[deploy.web]\nrailway = { service = \"<railway-service>\" }\nimage = \"api\"\n";
        let e = check(Path::new("gantry.toml"), text).unwrap();
        insta::assert_snapshot!(crate::error::Error::from(e).to_string(), @r#"
        gantry.toml: 4 placeholders to fill in:
          gantry.toml:6:16: deploy.api.containers: key "<container>": the container of the service's task definition that runs this image (`gantry init --container NAME`)
          gantry.toml:9:11: deploy.api.ecs.cluster = "<cluster>": the ECS cluster's name or ARN (`gantry init --cluster NAME`)
          gantry.toml:10:11: deploy.api.ecs.service = "<service>": the ECS service's name or ARN (`gantry init --service NAME`)
          gantry.toml:13:23: deploy.web.railway.service = "<railway-service>": the Railway service's name or id (`gantry init --service NAME`)
        "#);
        assert!(check(Path::new("gantry.toml"), "[images.api]\ncontext = \".\"\n").is_none());
    }
}
