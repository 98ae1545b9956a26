//! What `gantry publish` shows and hands on: the plan's changes, the JSON
//! details, the step outputs and the step summary's table.

use super::{Item, Status};
use crate::plan::{Action, Change, Plan};
use crate::report::Verdict;
use indexmap::IndexMap;

/// Step outputs: the tag, and per package its version and one
/// status (the most telling of its files': failed, published, would publish,
/// not checked, skipped).
pub(super) fn outputs(tag: &str, detail: &[serde_json::Value]) -> IndexMap<String, String> {
    let mut outputs = IndexMap::new();
    outputs.insert("publish-tag".to_string(), tag.to_string());
    let mut per_package: IndexMap<String, (String, Vec<String>)> = IndexMap::new();
    for d in detail {
        let name = d["package"].as_str().unwrap_or("").to_string();
        let entry = per_package
            .entry(name)
            .or_insert_with(|| (d["version"].as_str().unwrap_or("").to_string(), Vec::new()));
        entry.1.push(d["status"].as_str().unwrap_or("").to_string());
    }
    for (name, (version, statuses)) in per_package {
        let status = [
            "failed",
            "published",
            "would publish",
            "not checked",
            "skipped",
        ]
        .into_iter()
        .find(|s| statuses.iter().any(|x| x == s))
        .unwrap_or("skipped");
        outputs.insert(format!("publish-{name}-version"), version);
        outputs.insert(format!("publish-{name}-status"), status.replace(' ', "-"));
    }
    outputs
}

pub(super) fn detail(items: &[Item]) -> Vec<serde_json::Value> {
    items
        .iter()
        .map(|i| {
            serde_json::json!({
                "package": i.package.name,
                "registry": i.package.registry.url(),
                "name": i.artifact.name,
                "version": i.artifact.version,
                "file": i.artifact.file_name,
                "status": i.status.word(),
                "reason": match &i.status {
                    Status::Skipped(r) | Status::Failed(r) | Status::NotChecked(r) => Some(r.clone()),
                    _ => None,
                },
                "url": i.url,
                "sha256": i.artifact.sha256,
                "blake2_256": i.artifact.blake2_256,
            })
        })
        .collect()
}

pub(super) fn to_plan(items: &[Item]) -> Plan {
    let changes = items
        .iter()
        .filter_map(|i| {
            let summary = match &i.status {
                Status::Published => "published".to_string(),
                Status::WouldPublish => "upload (new)".to_string(),
                Status::NotChecked(_) => "upload (registry not checked)".to_string(),
                Status::Failed(why) => format!("refused: {why}"),
                Status::Skipped(_) => return None,
            };
            Some(Change {
                action: Action::Upload,
                target: format!(
                    "{} {} {}",
                    i.package.registry.kind(),
                    i.artifact.name,
                    i.artifact.file_name
                ),
                summary,
                diff: None,
            })
        })
        .collect();
    Plan { changes }
}

pub(super) fn markdown(items: &[Item], verdict: Verdict, dry_run: bool) -> String {
    let mut md = format!(
        "### gantry publish: {}{}\n\n| Package | Version | Registry | File | Status | URL | SHA-256 |\n|---|---|---|---|---|---|---|\n",
        verdict.as_str(),
        if dry_run {
            " (dry run: nothing uploaded)"
        } else {
            ""
        }
    );
    for i in items {
        md.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | `{}` |\n",
            i.package.name,
            i.artifact.version,
            i.package.registry.url(),
            i.artifact.file_name,
            i.status.word(),
            i.url.as_deref().unwrap_or("-"),
            i.artifact.sha256
        ));
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::artifacts::Artifact;
    use crate::publish::artifacts::{Kind, Metadata};
    use crate::settings::config::{Existing, RunCommand};
    use crate::settings::publish::{Package, PackageRegistry};

    fn package() -> Package {
        Package {
            name: "python-sdk".into(),
            dir: "/repo/sdk/python".into(),
            dir_label: "sdk/python".into(),
            registry: PackageRegistry::Pypi {
                upload_url: "https://upload.pypi.org/legacy/".into(),
                index_url: "https://pypi.org/simple/".into(),
                token: None,
                token_env: "PYPI_TOKEN".into(),
            },
            build: RunCommand::Shell("python -m build".into()),
            default_build: true,
            dist: "/repo/sdk/python/dist".into(),
            existing: Existing::Fail,
        }
    }

    fn artifact(file: &str, kind: Kind, sha: char) -> Artifact {
        Artifact {
            path: file.into(),
            file_name: file.into(),
            kind,
            bytes: Vec::new(),
            sha256: sha.to_string().repeat(64),
            blake2_256: "b".repeat(64),
            metadata: Metadata::default(),
            manifest: None,
            name: "codewarden-sdk".into(),
            version: "1.2.3".into(),
        }
    }

    #[test]
    fn summary_and_plan_snapshot() {
        let p = package();
        let items = vec![
            Item {
                package: &p,
                artifact: artifact(
                    "codewarden_sdk-1.2.3-py3-none-any.whl",
                    Kind::Wheel {
                        pyversion: "py3".into(),
                    },
                    'a',
                ),
                status: Status::Published,
                url: Some(published_url_for(&p)),
            },
            Item {
                package: &p,
                artifact: artifact("codewarden_sdk-1.2.3.tar.gz", Kind::Sdist, 'c'),
                status: Status::Skipped("already published, identical".into()),
                url: Some(
                    "https://files.pythonhosted.org/packages/codewarden_sdk-1.2.3.tar.gz".into(),
                ),
            },
        ];
        insta::assert_snapshot!(format!(
            "{}\n--- plan\n{}",
            markdown(&items, Verdict::Passed, false),
            to_plan(&items).render()
        ));
        let r = report_outputs(&items);
        assert_eq!(r["publish-python-sdk-status"], "published");
        assert_eq!(r["publish-python-sdk-version"], "1.2.3");
    }

    fn published_url_for(p: &Package) -> String {
        let item = Item {
            package: p,
            artifact: artifact("x.whl", Kind::Sdist, 'a'),
            status: Status::Published,
            url: None,
        };
        p.registry.target().published_url(&item.artifact)
    }

    fn report_outputs(items: &[Item]) -> IndexMap<String, String> {
        outputs("v1.2.3", &detail(items))
    }
}
