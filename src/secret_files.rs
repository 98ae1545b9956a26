//! Files that usually hold credentials, recognised by name: the one rule
//! that `build` (a file about to enter an image) and `scan --fs` (a file in
//! the repository) both apply. Trivy's secret rules match contents, so a
//! committed `api/.env` or `key.pem` in a format it does not know passes it.

use std::fs;
use std::path::Path;

/// Which by-name rule a file matched: its id (what `.trivyignore` names)
/// and a title for tables, SARIF and annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
}

pub const ENV_FILE: Rule = Rule {
    id: "gantry-env-file",
    title: "environment file (.env*): usually holds credentials",
};
pub const KEY_FILE: Rule = Rule {
    id: "gantry-private-key-file",
    title: "key or certificate file (*.pem, *.key, id_rsa*): usually a private key",
};
pub const CREDENTIALS_FILE: Rule = Rule {
    id: "gantry-credentials-file",
    title: "credentials file: usually holds cloud access keys",
};
pub const NPMRC_TOKEN: Rule = Rule {
    id: "gantry-npmrc-token",
    title: ".npmrc with a registry token",
};

/// The rule `rel` (a `/`-separated relative path) matches, if any; `path`
/// is read only for `.npmrc`, which is a secret only when it holds a token.
/// `.env.example`-style templates are not secrets.
pub fn rule(rel: &str, path: &Path) -> Option<Rule> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let template = [".example", ".sample", ".template", ".dist"]
        .iter()
        .any(|s| name.ends_with(s));
    if template {
        return None;
    }
    if name.starts_with(".env") {
        return Some(ENV_FILE);
    }
    // `KEY.PEM` is as secret as `key.pem`.
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".pem") || lower.ends_with(".key") || name.starts_with("id_rsa") {
        return Some(KEY_FILE);
    }
    if name == "credentials" {
        return Some(CREDENTIALS_FILE);
    }
    if name == ".npmrc"
        && fs::read_to_string(path).is_ok_and(|t| t.contains("_authToken") || t.contains("_auth="))
    {
        return Some(NPMRC_TOKEN);
    }
    None
}

/// Every file under `root` that a rule matches, as (`/`-separated path
/// relative to `root`, rule), in name order. `.git` is not walked, symbolic
/// links are not followed, unreadable folders are passed over (Trivy reports
/// on what it can read too).
pub fn find(root: &Path) -> Vec<(String, Rule)> {
    let mut out = Vec::new();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if let Some(r) = rule(&name, root) {
            out.push((name, r));
        }
        return out;
    }
    walk(root, "", &mut out);
    out
}

fn walk(dir: &Path, rel_dir: &str, out: &mut Vec<(String, Rule)>) {
    let Ok(reader) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = reader.filter_map(std::result::Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        let rel = if rel_dir.is_empty() {
            name.clone()
        } else {
            format!("{rel_dir}/{name}")
        };
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if name != ".git" {
                walk(&entry.path(), &rel, out);
            }
        } else if ft.is_file()
            && let Some(r) = rule(&rel, &entry.path())
        {
            out.push((rel, r));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hold_secrets_are_recognised_with_their_rule() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        write("api/.env", "A=1");
        write("api/.env.example", "A=");
        write("secrets/key.pem", "x");
        write(".npmrc", "//registry.npmjs.org/:_authToken=abc");
        write("web/.npmrc", "save-exact=true");
        write(".aws/credentials", "x");
        write("README.md", "x");
        write(".git/id_rsa", "x");
        let got: Vec<(String, &str)> = find(dir.path())
            .into_iter()
            .map(|(p, r)| (p, r.id))
            .collect();
        assert_eq!(
            got,
            [
                (".aws/credentials".to_string(), "gantry-credentials-file"),
                (".npmrc".to_string(), "gantry-npmrc-token"),
                ("api/.env".to_string(), "gantry-env-file"),
                ("secrets/key.pem".to_string(), "gantry-private-key-file"),
            ]
        );
        assert_eq!(rule("id_rsa.pub", Path::new("/x")), Some(KEY_FILE));
        assert_eq!(rule("keys/app.key", Path::new("/x")), Some(KEY_FILE));
        assert_eq!(rule("environment.py", Path::new("/x")), None);
    }
}
