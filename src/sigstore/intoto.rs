//! in-toto Statement v1 and a SLSA Provenance v1 predicate for a build run
//! by GitHub Actions, shaped as GitHub's own artifact attestations
//! (build type `https://actions.github.io/buildtypes/workflow/v1`). Data
//! only: signing is [`super::sign::sign_dsse`]'s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const GITHUB_WORKFLOW_BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    pub predicate_type: String,
    /// Optional in in-toto v1: PyPI's publish attestation has none.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub predicate: Value,
}

/// What the statement is about: a name and its digests (`sha256` → hex).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    pub fn sha256(name: &str, hex: &str) -> Subject {
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_ascii_lowercase())]),
        }
    }
}

impl Statement {
    pub fn new(subject: Vec<Subject>, predicate_type: &str, predicate: Value) -> Statement {
        Statement {
            type_: STATEMENT_TYPE.into(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// The payload of the DSSE envelope.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The GitHub Actions run that built the subjects.
#[derive(Debug, Clone, Default)]
pub struct GithubBuild {
    /// `https://github.com` or a GitHub Enterprise server.
    pub server_url: String,
    /// `owner/name`.
    pub repository: String,
    pub repository_id: String,
    pub repository_owner_id: String,
    /// The commit built (`GITHUB_SHA`).
    pub commit: String,
    /// The ref built (`GITHUB_REF`).
    pub git_ref: String,
    /// `owner/name/.github/workflows/file.yml@ref` (the token's `job_workflow_ref`).
    pub workflow_ref: String,
    pub event_name: String,
    pub run_id: String,
    pub run_attempt: String,
    /// `github-hosted` or `self-hosted`.
    pub runner_environment: String,
    /// The build's own parameters (image, context, target, platform, args).
    pub parameters: Map<String, Value>,
}

/// The SLSA Provenance v1 predicate of `build`.
pub fn slsa_provenance(build: &GithubBuild) -> Value {
    let server = build.server_url.trim_end_matches('/');
    // `owner/name/.github/workflows/x.yml@ref` → path `.github/workflows/x.yml`.
    let (workflow_path, workflow_ref) = build
        .workflow_ref
        .strip_prefix(&format!("{}/", build.repository))
        .and_then(|rest| rest.split_once('@'))
        .unwrap_or(("", ""));
    json!({
        "buildDefinition": {
            "buildType": GITHUB_WORKFLOW_BUILD_TYPE,
            "externalParameters": {
                "workflow": {
                    "ref": workflow_ref,
                    "repository": format!("{server}/{}", build.repository),
                    "path": workflow_path,
                },
                "build": Value::Object(build.parameters.clone()),
            },
            "internalParameters": {
                "github": {
                    "event_name": build.event_name,
                    "repository_id": build.repository_id,
                    "repository_owner_id": build.repository_owner_id,
                    "runner_environment": build.runner_environment,
                },
            },
            "resolvedDependencies": [{
                "uri": format!("git+{server}/{}@{}", build.repository, build.git_ref),
                "digest": {"gitCommit": build.commit},
            }],
        },
        "runDetails": {
            "builder": {"id": format!("{server}/{}", build.workflow_ref)},
            "metadata": {
                "invocationId": format!(
                    "{server}/{}/actions/runs/{}/attempts/{}",
                    build.repository, build.run_id, build.run_attempt
                ),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_names_the_workflow_source_and_parameters() {
        let mut parameters = Map::new();
        parameters.insert("target".into(), json!("runtime"));
        let build = GithubBuild {
            server_url: "https://github.com".into(),
            repository: "acme/api".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            git_ref: "refs/heads/main".into(),
            workflow_ref: "acme/api/.github/workflows/deploy.yml@refs/heads/main".into(),
            run_id: "42".into(),
            run_attempt: "1".into(),
            parameters,
            ..GithubBuild::default()
        };
        let p = slsa_provenance(&build);
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            "https://github.com/acme/api/.github/workflows/deploy.yml@refs/heads/main"
        );
        let workflow = &p["buildDefinition"]["externalParameters"]["workflow"];
        assert_eq!(workflow["path"], ".github/workflows/deploy.yml");
        assert_eq!(workflow["ref"], "refs/heads/main");
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
            build.commit
        );
        assert_eq!(
            p["buildDefinition"]["externalParameters"]["build"]["target"],
            "runtime"
        );
        let s = Statement::new(vec![Subject::sha256("api", "AB")], SLSA_PROVENANCE_V1, p);
        let v: Value = serde_json::from_slice(&s.to_json()).unwrap();
        assert_eq!(v["_type"], STATEMENT_TYPE);
        assert_eq!(v["predicateType"], SLSA_PROVENANCE_V1);
        assert_eq!(v["subject"][0]["digest"]["sha256"], "ab");
    }
}
