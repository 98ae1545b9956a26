//! The two Engine API calls of a BuildKit build that bollard cannot make for
//! us: `POST /build` with our own session id (bollard opens its own session
//! whenever it sends one, and that session serves no secrets), and
//! `POST /session`, upgraded to HTTP/2 for the session's gRPC services.
//! Plain HTTP/1.1 over the engine's socket, with hyper.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

/// Where the engine listens, from `DOCKER_HOST` (the same forms as
/// [`crate::docker::engine::connect`] accepts).
#[derive(Debug, Clone)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl Endpoint {
    pub fn parse(docker_host: Option<&str>) -> Self {
        let host = docker_host.unwrap_or("/var/run/docker.sock");
        match host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            Some(addr) => Endpoint::Tcp(addr.trim_end_matches('/').to_string()),
            None => Endpoint::Unix(PathBuf::from(host.strip_prefix("unix://").unwrap_or(host))),
        }
    }

    async fn connect(&self) -> io::Result<Box<dyn Io>> {
        Ok(match self {
            Endpoint::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
            Endpoint::Tcp(addr) => Box::new(tokio::net::TcpStream::connect(addr).await?),
        })
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// An error of the HTTP exchange itself (the engine's own errors come back
/// as a status and a message).
pub type HttpError = Box<dyn std::error::Error + Send + Sync>;

/// `POST /build` with the context streamed from `body` as the request body;
/// the engine's JSON messages come back one line at a time on the returned
/// channel. A status other than 200 is the engine's error message.
pub async fn post_build(
    endpoint: &Endpoint,
    path_and_query: String,
    body: mpsc::Receiver<io::Result<Bytes>>,
) -> Result<mpsc::Receiver<Result<Bytes, String>>, String> {
    let io = endpoint.connect().await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut body = body;
    let frames = futures_util::stream::poll_fn(move |cx| {
        body.poll_recv(cx)
            .map(|item| item.map(|chunk| chunk.map(Frame::data)))
    });
    let request = http::Request::post(path_and_query)
        .header(http::header::HOST, "docker")
        .header(http::header::CONTENT_TYPE, "application/x-tar")
        .body(StreamBody::new(frames))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("the engine closed the connection: {e}"))?;
    let status = response.status();
    let mut incoming = response.into_body();
    if !status.is_success() {
        let text = collect(&mut incoming).await;
        return Err(engine_message(&text).unwrap_or(text));
    }
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut pending: Vec<u8> = Vec::new();
        loop {
            match incoming.frame().await {
                None => break,
                Some(Err(e)) => {
                    let _ = tx.send(Err(e.to_string())).await;
                    return;
                }
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    pending.extend_from_slice(&data);
                    while let Some(at) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=at).collect();
                        if tx.send(Ok(Bytes::from(line))).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
        if !pending.is_empty() {
            let _ = tx.send(Ok(Bytes::from(pending))).await;
        }
    });
    Ok(rx)
}

/// `POST /session`, upgraded to h2c: the engine (BuildKit) becomes the
/// gRPC client and we serve the exposed `methods` over the returned stream.
pub async fn open_session(
    endpoint: &Endpoint,
    api_version: &str,
    headers: &[(&str, String)],
) -> Result<Upgraded, String> {
    let upgraded = upgrade(endpoint, &format!("/v{api_version}/session"), headers)
        .await
        .map_err(|e| format!("the engine refused a build session: {e}"))?;
    Ok(Upgraded(TokioIo::new(upgraded)))
}

/// `POST <path>` upgraded to h2c, as the Docker CLI's hijacked dials do:
/// `/session` (we serve gRPC) and `/grpc` (BuildKit's own API, we call it).
pub async fn upgrade(
    endpoint: &Endpoint,
    path: &str,
    headers: &[(&str, String)],
) -> Result<hyper::upgrade::Upgraded, String> {
    let io = endpoint.connect().await.map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn.with_upgrades());
    let mut request = http::Request::post(path)
        .header(http::header::HOST, "docker")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "h2c");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let mut response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        let status = response.status();
        let text = collect(response.body_mut()).await;
        return Err(format!(
            "{status}: {}",
            engine_message(&text).unwrap_or(text)
        ));
    }
    hyper::upgrade::on(response)
        .await
        .map_err(|e| e.to_string())
}

/// A gRPC channel to BuildKit's API on the engine (`POST /grpc`, h2c).
pub async fn grpc_channel(
    endpoint: &Endpoint,
    api_version: &str,
) -> Result<tonic::transport::Channel, String> {
    // The URI only names the channel; the connector below decides where
    // the connection goes.
    tonic::transport::Endpoint::from_static("http://docker")
        .connect_with_connector(GrpcDial {
            endpoint: endpoint.clone(),
            path: format!("/v{api_version}/grpc"),
        })
        .await
        .map_err(|e| {
            // tonic wraps the connector's error: the innermost says why.
            let mut inner: &dyn std::error::Error = &e;
            while let Some(source) = inner.source() {
                inner = source;
            }
            inner.to_string()
        })
}

/// Opens one upgraded `/grpc` connection per channel connection.
#[derive(Clone)]
struct GrpcDial {
    endpoint: Endpoint,
    path: String,
}

impl tower_service::Service<http::Uri> for GrpcDial {
    type Response = hyper::upgrade::Upgraded;
    type Error = HttpError;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, HttpError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), HttpError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let dial = self.clone();
        Box::pin(async move {
            upgrade(&dial.endpoint, &dial.path, &[])
                .await
                .map_err(HttpError::from)
        })
    }
}

async fn collect(body: &mut Incoming) -> String {
    let mut out = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    String::from_utf8_lossy(&out).trim().to_string()
}

/// `{"message": "..."}`, the engine's error body.
fn engine_message(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("message")?.as_str().map(str::to_string)
}

/// The upgraded session connection, as tonic's server wants its streams.
pub struct Upgraded(TokioIo<hyper::upgrade::Upgraded>);

impl tonic::transport::server::Connected for Upgraded {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_forms() {
        assert!(
            matches!(Endpoint::parse(None), Endpoint::Unix(p) if p == std::path::Path::new("/var/run/docker.sock"))
        );
        assert!(
            matches!(Endpoint::parse(Some("unix:///tmp/d.sock")), Endpoint::Unix(p) if p == std::path::Path::new("/tmp/d.sock"))
        );
        assert!(
            matches!(Endpoint::parse(Some("tcp://127.0.0.1:2375")), Endpoint::Tcp(a) if a == "127.0.0.1:2375")
        );
    }

    #[test]
    fn engine_errors_are_unwrapped() {
        assert_eq!(
            engine_message(r#"{"message":"no such thing"}"#).as_deref(),
            Some("no such thing")
        );
        assert_eq!(engine_message("plain"), None);
    }
}
