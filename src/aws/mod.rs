//! AWS APIs through the official SDK, with the default credential chain
//! (environment, shared config, SSO, web identity: GitHub OIDC through
//! aws-actions/configure-aws-credentials just works).

pub mod ecr;
pub mod ecs;
pub mod logs;

use crate::error::Error;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// The SDK's configuration from the default chain, for `region` or the
/// chain's own. Its HTTPS client uses rustls on ring, like every other TLS
/// client in gantry, instead of the SDK's default (aws-lc-rs): one crypto
/// stack in the binary, and no C library to build.
pub(crate) async fn config(region: Option<String>) -> aws_config::SdkConfig {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https);
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r));
    }
    loader.load().await
}

/// An SDK error as one readable line, with the hint every AWS failure needs.
pub(crate) fn error(service: &'static str, what: &str, e: impl std::error::Error) -> Error {
    let detail = readable(&aws_sdk_ecr::error::DisplayErrorContext(e).to_string());
    let hint = if detail.contains("credentials") || detail.contains("Credentials") {
        "no usable AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or use aws-actions/configure-aws-credentials in GitHub Actions"
    } else if detail.contains("region") || detail.contains("Region") {
        "set AWS_REGION (or name the ECR registry host, which includes the region)"
    } else {
        "check the AWS credentials' permissions and that the AWS endpoint is reachable"
    };
    Error::external(service, format!("{what}: {detail}")).with_hint(hint)
}

/// The SDK's error chain ends with a debug dump of the whole error; people
/// need the chain of messages, one attempt per line at most.
fn readable(detail: &str) -> String {
    let cut = detail
        .find(" (DispatchFailure(")
        .or_else(|| detail.find(" (ServiceError("))
        .or_else(|| detail.find(" (ConstructionFailure("))
        .or_else(|| detail.find(" (TimeoutError("))
        .or_else(|| detail.find(" (ResponseError("));
    let text = cut.map_or(detail, |i| &detail[..i]);
    if text.contains("no credentials found in chain") {
        return "no AWS credentials found (tried the environment, profiles, web identity, ECS and instance metadata)".into();
    }
    text.lines().map(str::trim).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_debug_dumps_are_cut() {
        assert_eq!(
            readable(
                "dispatch failure: io error: connection refused (DispatchFailure(DispatchFailure { source: x }))"
            ),
            "dispatch failure: io error: connection refused"
        );
        assert!(readable("other: the credential provider was not enabled: no credentials found in chain. Attempted:\n  Environment: x (DispatchFailure(..))").starts_with("no AWS credentials found"));
    }
}
