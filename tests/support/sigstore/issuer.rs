//! The OIDC issuer: GitHub Actions ID tokens, and the checks Fulcio makes of them.

use super::*;

/// The claims of a GitHub Actions job's ID token (GitHub's documented set).
#[derive(Clone, Debug)]
pub struct Job {
    pub repository: String,
    pub workflow_file: String,
    pub git_ref: String,
    pub sha: String,
    pub event_name: String,
}

impl Default for Job {
    fn default() -> Job {
        Job {
            repository: "acme/shop".into(),
            workflow_file: "release.yml".into(),
            git_ref: "refs/heads/main".into(),
            sha: "4f3c1d2e5b6a79808f1e2d3c4b5a69788f7e6d5c".into(),
            event_name: "push".into(),
        }
    }
}

impl Job {
    /// `owner/repo/.github/workflows/file@ref`.
    pub fn workflow_ref(&self) -> String {
        format!(
            "{}/.github/workflows/{}@{}",
            self.repository, self.workflow_file, self.git_ref
        )
    }

    /// The certificate identity Fulcio derives: the workflow's URL.
    pub fn identity(&self) -> String {
        format!("https://github.com/{}", self.workflow_ref())
    }
}

pub struct Issuer {
    pub(super) key: Key,
    pub url: String,
}

impl Issuer {
    /// A token for `job`, valid for five minutes, with `audience`.
    pub fn token_for(&self, job: &Job, audience: &str) -> String {
        let t = now();
        let owner = job.repository.split('/').next().unwrap_or_default();
        let claims = json!({
            "jti": format!("{t}-{}", job.sha),
            "sub": format!("repo:{}:ref:{}", job.repository, job.git_ref),
            "aud": audience,
            "ref": job.git_ref,
            "sha": job.sha,
            "repository": job.repository,
            "repository_owner": owner,
            "repository_owner_id": "1001",
            "repository_id": "2002",
            "repository_visibility": "public",
            "run_id": "77",
            "run_number": "5",
            "run_attempt": "1",
            "actor": "octocat",
            "actor_id": "3003",
            "workflow": "Release",
            "event_name": job.event_name,
            "ref_type": "branch",
            "job_workflow_ref": job.workflow_ref(),
            "job_workflow_sha": job.sha,
            "workflow_ref": job.workflow_ref(),
            "workflow_sha": job.sha,
            "runner_environment": "github-hosted",
            "iss": self.url,
            "iat": t,
            "nbf": t - 5,
            "exp": t + 300,
        });
        self.sign_claims(&claims)
    }

    pub fn token(&self, job: &Job) -> String {
        self.token_for(job, AUDIENCE)
    }

    pub fn sign_claims(&self, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"test"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{body}");
        let signature = URL_SAFE_NO_PAD.encode(self.key.sign_fixed(input.as_bytes()));
        format!("{input}.{signature}")
    }

    /// What Fulcio checks: the signature by this issuer's key, `iss`,
    /// `aud` and the validity window. Returns the claims.
    pub(super) fn check(&self, token: &str) -> Result<Value, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, body, signature] = parts.as_slice() else {
            return Err("not a JWT".into());
        };
        let sig = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "bad signature encoding")?;
        UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, self.key.point())
            .verify(format!("{header}.{body}").as_bytes(), &sig)
            .map_err(|_| "the token's signature does not verify")?;
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(body)
                .map_err(|_| "bad payload encoding")?,
        )
        .map_err(|_| "payload is not JSON")?;
        if claims["iss"] != self.url.as_str() {
            return Err(format!("unknown issuer {}", claims["iss"]));
        }
        let aud_ok = match &claims["aud"] {
            Value::String(a) => a == AUDIENCE,
            Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
            _ => false,
        };
        if !aud_ok {
            return Err(format!("audience {} is not {AUDIENCE}", claims["aud"]));
        }
        let t = now();
        if claims["exp"].as_i64().unwrap_or(0) <= t {
            return Err("the token has expired".into());
        }
        if claims["nbf"].as_i64().is_some_and(|n| n > t + 5) {
            return Err("the token is not valid yet".into());
        }
        Ok(claims)
    }
}
