//! The HTTP side of Railway's GraphQL API: authentication headers, rate
//! limits (`429` with `Retry-After`), retries with back-off, and GraphQL
//! errors turned into typed errors.

use super::ops::Operation;
use crate::environment as env;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How gantry authenticates; both kinds are secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// `RAILWAY_TOKEN`: a project token, sent as `Project-Access-Token`; it
    /// implies the project and the environment.
    Project(String),
    /// `RAILWAY_API_TOKEN`: an account or team token, sent as a bearer token.
    Account(String),
}

impl Token {
    pub fn value(&self) -> &str {
        match self {
            Token::Project(t) | Token::Account(t) => t,
        }
    }

    /// The variable it came from, for messages.
    pub fn variable(&self) -> &'static str {
        match self {
            Token::Project(_) => env::RAILWAY_TOKEN,
            Token::Account(_) => env::RAILWAY_API_TOKEN,
        }
    }
}

/// Attempts per request before giving up (the first one included).
pub const MAX_ATTEMPTS: u32 = 6;
/// The longest wait between two attempts gantry chooses itself.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest `Retry-After` gantry honours; longer means "not today".
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RailwayError {
    /// Railway refused the token.
    #[error("{0}")]
    Unauthorized(String),
    /// Railway answered with GraphQL errors (not found, invalid input, ...).
    #[error("{0}")]
    Api(String),
    /// Railway could not be reached or kept failing.
    #[error("{0}")]
    Unreachable(String),
}

/// A client bound to one API URL and token.
pub struct Client<'a> {
    http: reqwest::Client,
    url: String,
    token: Token,
    /// The first retry's wait; doubled after each failure.
    backoff: Duration,
    /// Told about every wait, so the user sees why nothing happens.
    on_retry: &'a (dyn Fn(&str) + Sync),
    /// Attempts per request, the first one included.
    attempts: u32,
}

impl<'a> Client<'a> {
    pub fn new(
        url: &str,
        token: Token,
        backoff: Duration,
        on_retry: &'a (dyn Fn(&str) + Sync),
    ) -> Result<Self, RailwayError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| RailwayError::Unreachable(format!("cannot start an HTTP client: {e}")))?;
        Ok(Client {
            http,
            url: url.to_string(),
            token,
            backoff,
            on_retry,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Gives up sooner: a local dry run should not wait minutes for a
    /// Railway it cannot reach.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Sends one operation and decodes its `data`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        op: &Operation,
        variables: serde_json::Value,
    ) -> Result<T, RailwayError> {
        let body = serde_json::json!({
            "query": op.document,
            "operationName": op.name,
            "variables": variables,
        });
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            let retry = match self.attempt(&body).await {
                Attempt::Done(value) => return decode(op, value),
                Attempt::Fail(e) => return Err(e),
                Attempt::RateLimited(after) => {
                    let after = after.unwrap_or(wait);
                    if after > MAX_RETRY_AFTER {
                        return Err(RailwayError::Unreachable(format!(
                            "rate limited by Railway for {}s",
                            after.as_secs()
                        )));
                    }
                    Some((after, "rate limited (429)".to_string()))
                }
                // A mutation that may have reached Railway is never resent:
                // a second deploy is worse than a clear error.
                Attempt::Transient(message, maybe_applied) if op.mutation && maybe_applied => {
                    return Err(RailwayError::Unreachable(message));
                }
                Attempt::Transient(message, _) => Some((wait, message)),
            };
            let Some((delay, why)) = retry else { continue };
            if attempt >= self.attempts {
                return Err(RailwayError::Unreachable(format!(
                    "{why}; gave up after {} attempts",
                    self.attempts
                )));
            }
            (self.on_retry)(&format!(
                "Railway {}: {why}; retrying in {}",
                op.name,
                humantime::format_duration(round_ms(delay))
            ));
            tokio::time::sleep(delay).await;
            attempt += 1;
            wait = (wait * 2).min(MAX_BACKOFF);
        }
    }

    async fn attempt(&self, body: &serde_json::Value) -> Attempt {
        let request = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .body(body.to_string());
        let request = match &self.token {
            Token::Project(t) => request.header("Project-Access-Token", t.as_str()),
            Token::Account(t) => request.bearer_auth(t),
        };
        let response = match request.send().await {
            Ok(r) => r,
            // Not connected: nothing reached Railway.
            Err(e) if e.is_connect() => {
                return Attempt::Transient(
                    format!("cannot connect to {}: {}", self.url, root(&e)),
                    false,
                );
            }
            Err(e) => {
                return Attempt::Transient(
                    format!("no answer from {}: {}", self.url, root(&e)),
                    true,
                );
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => return Attempt::Transient(format!("answer cut short: {}", root(&e)), true),
        };
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let messages = json.as_ref().map(error_messages).unwrap_or_default();
        match status.as_u16() {
            429 => Attempt::RateLimited(retry_after),
            401 | 403 => Attempt::Fail(RailwayError::Unauthorized(if messages.is_empty() {
                format!("HTTP {status}")
            } else {
                messages.join("; ")
            })),
            500..=599 => Attempt::Transient(format!("HTTP {status}"), status.as_u16() != 503),
            _ => match json {
                Some(value) if !messages.is_empty() => {
                    let joined = messages.join("; ");
                    if unauthorized(&value, &messages) {
                        Attempt::Fail(RailwayError::Unauthorized(joined))
                    } else {
                        Attempt::Fail(RailwayError::Api(joined))
                    }
                }
                Some(value) if status.is_success() => Attempt::Done(value),
                _ => Attempt::Fail(RailwayError::Api(format!(
                    "HTTP {status}: not a GraphQL answer: {}",
                    text.chars().take(200).collect::<String>()
                ))),
            },
        }
    }
}

enum Attempt {
    Done(serde_json::Value),
    Fail(RailwayError),
    RateLimited(Option<Duration>),
    /// A failure worth retrying; `true` when the request may have been applied.
    Transient(String, bool),
}

fn decode<T: DeserializeOwned>(
    op: &Operation,
    value: serde_json::Value,
) -> Result<T, RailwayError> {
    let data = value
        .get("data")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    serde_json::from_value(data)
        .map_err(|e| RailwayError::Api(format!("unexpected answer to {}: {e}", op.name)))
}

fn error_messages(value: &serde_json::Value) -> Vec<String> {
    value
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("unknown error")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Railway answers a bad token with `200` and "Not Authorized".
fn unauthorized(value: &serde_json::Value, messages: &[String]) -> bool {
    let code = value
        .pointer("/errors/0/extensions/code")
        .and_then(|c| c.as_str())
        .unwrap_or("");
    code == "UNAUTHENTICATED"
        || messages.iter().any(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("not authorized")
                || m.contains("unauthorized")
                || m.contains("invalid token")
        })
}

/// The innermost cause: reqwest's own text is "error sending request".
fn root(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// The shared TLS settings, with failures in this client's terms.
fn tls_config() -> Result<rustls::ClientConfig, RailwayError> {
    crate::https::client_config().map_err(RailwayError::Unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn not_authorized_is_recognised_in_a_graphql_answer() {
        let v = json!({"errors": [{"message": "Not Authorized"}], "data": null});
        assert!(unauthorized(&v, &error_messages(&v)));
        let v = json!({"errors": [{"message": "Service not found"}]});
        assert!(!unauthorized(&v, &error_messages(&v)));
        let v = json!({"errors": [{"message": "x", "extensions": {"code": "UNAUTHENTICATED"}}]});
        assert!(unauthorized(&v, &error_messages(&v)));
    }

    #[test]
    fn data_is_decoded_into_the_operation_shape() {
        let v =
            json!({"data": {"deployment": {"id": "d1", "status": "SUCCESS", "staticUrl": null}}});
        let d: super::super::ops::DeploymentData =
            decode(&super::super::ops::DEPLOYMENT, v).unwrap();
        assert_eq!(d.deployment.status, "SUCCESS");
        let e = decode::<super::super::ops::DeploymentData>(
            &super::super::ops::DEPLOYMENT,
            json!({"data": {}}),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("unexpected answer to Deployment"),
            "{e}"
        );
    }
}
