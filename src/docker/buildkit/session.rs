//! The client side of a BuildKit session: the gRPC services the builder
//! calls back into while it builds: health (it checks the session is alive),
//! registry credentials for `FROM` and cache images, and build secrets for
//! `RUN --mount=type=secret`, and (for a solve over `/grpc`) the build
//! context through filesync (see `filesync`). Written against BuildKit's
//! published protocol (`session/auth/auth.proto`,
//! `session/secrets/secrets.proto`, `session/filesync/filesync.proto`, the
//! `X-Docker-Expose-Session-*` headers) with the `bollard-buildkit-proto` types.

use super::filesync::{FileSyncServer, Files};
use super::http::{self, Endpoint};
pub use crate::docker::request::Login;
use bollard_buildkit_proto::health::health_check_response::ServingStatus;
use bollard_buildkit_proto::health::health_server::{Health, HealthServer};
use bollard_buildkit_proto::health::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use bollard_buildkit_proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use bollard_buildkit_proto::moby::filesync::v1::auth_server::{Auth, AuthServer};
use bollard_buildkit_proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};
use std::collections::HashMap;
use std::pin::Pin;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

/// What the session serves for one build.
#[derive(Default, Clone)]
pub struct Provided {
    /// Build secrets by id.
    pub secrets: HashMap<String, Vec<u8>>,
    /// Registry logins by host (`ghcr.io`, `127.0.0.1:5000`, `docker.io`).
    pub logins: HashMap<String, Login>,
    /// The build context and the Dockerfile, when BuildKit pulls them
    /// (a solve over `/grpc`); a tar on `/build` needs none.
    pub files: Option<Files>,
}

/// A running session; dropping it ends the services.
pub struct Session {
    pub id: String,
    task: JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The methods the engine may call: it only calls what is exposed.
/// The token-authority methods are not served: BuildKit then fetches
/// registry tokens itself with the credentials.
fn methods(files: bool) -> Vec<String> {
    let mut out = vec![
        "/grpc.health.v1.Health/Check".into(),
        "/moby.filesync.v1.Auth/Credentials".into(),
        "/moby.buildkit.secrets.v1.Secrets/GetSecret".into(),
    ];
    if files {
        out.push("/moby.filesync.v1.FileSync/DiffCopy".into());
    }
    out
}

/// Opens `/session` on the engine and serves `provided` until dropped.
/// `shared_key` names the client's files across builds: BuildKit keeps its
/// copy of a context under it and asks only for what changed since.
pub async fn start(
    endpoint: &Endpoint,
    api_version: &str,
    name: &str,
    shared_key: &str,
    provided: Provided,
) -> Result<Session, String> {
    let id = random_id();
    let mut headers = vec![
        ("X-Docker-Expose-Session-Uuid", id.clone()),
        ("X-Docker-Expose-Session-Name", name.to_string()),
        ("X-Docker-Expose-Session-Sharedkey", shared_key.to_string()),
    ];
    for method in methods(provided.files.is_some()) {
        headers.push(("X-Docker-Expose-Session-Grpc-Method", method));
    }
    let conn = http::open_session(endpoint, api_version, &headers).await?;
    let secrets = SecretsServer::new(SecretStore(provided.secrets));
    let auth = AuthServer::new(Logins(provided.logins));
    // Packets of at most 32 KiB data travel; stat packets are small.
    let files = provided.files.map(FileSyncServer::new);
    let task = tokio::spawn(async move {
        // The session ends when the engine hangs up or the build is over
        // (the task is aborted); neither is an error of the build.
        let _ = tonic::transport::Server::builder()
            .add_service(HealthServer::new(Alive))
            .add_service(auth)
            .add_service(secrets)
            .add_optional_service(files)
            .serve_with_incoming(futures_util::stream::iter([Ok::<_, std::io::Error>(conn)]))
            .await;
    });
    Ok(Session { id, task })
}

pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // A session id only needs to be unique on the engine; a clock-based id
    // is enough should the system's randomness be unavailable.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Alive;

#[tonic::async_trait]
impl Health for Alive {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    async fn list(
        &self,
        _: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("list"))
    }

    type WatchStream = Pin<
        Box<dyn futures_util::Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static>,
    >;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
}

struct SecretStore(HashMap<String, Vec<u8>>);

#[tonic::async_trait]
impl Secrets for SecretStore {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = &request.get_ref().id;
        match self.0.get(id) {
            Some(data) => Ok(Response::new(GetSecretResponse { data: data.clone() })),
            // NotFound is what BuildKit expects for an unknown id: an
            // optional mount is then skipped, a required one fails.
            None => Err(Status::not_found(format!("secret {id} not found"))),
        }
    }
}

struct Logins(HashMap<String, Login>);

impl Logins {
    fn find(&self, host: &str) -> Option<&Login> {
        self.0.get(host).or_else(|| {
            // BuildKit asks for Docker Hub under the name of its API host.
            matches!(host, "registry-1.docker.io" | "index.docker.io")
                .then(|| self.0.get("docker.io"))
                .flatten()
        })
    }
}

#[tonic::async_trait]
impl Auth for Logins {
    async fn credentials(
        &self,
        request: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        // No login for a host is an anonymous pull, not an error.
        let (username, secret) = match self.find(&request.get_ref().host) {
            Some(l) => (l.username.clone(), l.password.clone()),
            None => (String::new(), String::new()),
        };
        Ok(Response::new(CredentialsResponse { username, secret }))
    }

    async fn fetch_token(
        &self,
        _: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("fetch_token"))
    }

    async fn get_token_authority(
        &self,
        _: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("get_token_authority"))
    }

    async fn verify_token_authority(
        &self,
        _: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("verify_token_authority"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn secrets_are_served_by_id_and_unknown_ids_are_not_found() {
        let store = SecretStore([("npm".to_string(), b"tok".to_vec())].into_iter().collect());
        let got = store
            .get_secret(Request::new(GetSecretRequest {
                id: "npm".into(),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(got.get_ref().data, b"tok");
        let missing = store
            .get_secret(Request::new(GetSecretRequest {
                id: "pip".into(),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), tonic::Code::NotFound);
    }

    #[tokio::test]
    async fn docker_hub_logins_answer_for_its_api_host_and_others_are_anonymous() {
        let logins = Logins(
            [(
                "docker.io".to_string(),
                Login {
                    username: "me".into(),
                    password: "pw".into(),
                },
            )]
            .into_iter()
            .collect(),
        );
        let ask =
            |host: &str| logins.credentials(Request::new(CredentialsRequest { host: host.into() }));
        assert_eq!(
            ask("registry-1.docker.io")
                .await
                .unwrap()
                .get_ref()
                .username,
            "me"
        );
        assert_eq!(ask("ghcr.io").await.unwrap().get_ref().secret, "");
        assert_eq!(format!("{:?}", logins.0["docker.io"]), "Login(me, ***)");
    }
}
