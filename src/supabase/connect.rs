//! Reaching the database: a URL as given, or a Supabase project's direct
//! host and, when that host cannot be reached, its session pooler.
//!
//! GitHub's runners have no IPv6, and a project's direct host
//! (`db.<ref>.supabase.co`) has only IPv6 addresses unless the IPv4 add-on is
//! bought. The Supabase CLI then uses the session pooler (user
//! `postgres.<ref>`, port 5432: the transaction pooler on 6543 cannot keep a
//! session's advisory lock). gantry resolves and connects itself, so it can
//! tell "unreachable" (fall back) from "refused the password" (stop), and say
//! which host it used.

use super::database::{Database, HostPort};
use super::sslmode::TlsSpec;
use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls};

/// Connecting gives up on an address after this long (the Supabase CLI's value).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parameters of libpq URLs that tokio-postgres understands; `sslmode` and
/// `sslrootcert` are read by gantry itself.
const KNOWN_PARAMS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslnegotiation",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
];

/// One way to the database.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `SUPABASE_DB_URL`, `direct host`, `session pooler`.
    pub label: String,
    pub config: Config,
    pub tls: TlsSpec,
}

impl Endpoint {
    /// `user@host:port/db`, never the password.
    pub fn describe(&self) -> String {
        let c = &self.config;
        let host = match c.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{host}:{port}/{}",
            c.get_user().unwrap_or("?"),
            c.get_dbname()
                .unwrap_or_else(|| c.get_user().unwrap_or("?"))
        )
    }
}

/// The ways to try, in order, and warnings about the configuration.
pub fn endpoints(
    db: &Database,
    ca: Option<&Path>,
    application_name: &str,
) -> Result<(Vec<Endpoint>, Vec<String>)> {
    match db {
        Database::Url { url, source } => {
            let (mut config, params, warnings) = parse_url(url, source)?;
            config.application_name(application_name);
            if config.get_connect_timeout().is_none() {
                config.connect_timeout(CONNECT_TIMEOUT);
            }
            let local = config.get_hosts().iter().all(is_local);
            let tls = TlsSpec::from_params(
                params.sslmode.as_deref(),
                params.sslrootcert.as_deref(),
                ca,
                local,
            )?;
            let mut warnings = warnings;
            if config.get_ports().contains(&6543)
                && config
                    .get_hosts()
                    .iter()
                    .any(|h| matches!(h, Host::Tcp(n) if n.ends_with(".pooler.supabase.com")))
            {
                warnings.push("port 6543 is Supabase's transaction pooler, which cannot hold a session's advisory lock: use the session pooler, port 5432".into());
            }
            let label = source.clone();
            Ok((vec![Endpoint { label, config, tls }], warnings))
        }
        Database::Project {
            project_ref,
            password,
            direct,
            pooler,
        } => {
            let make = |label: &str, hp: &HostPort, user: String| -> Result<Endpoint> {
                let mut config = Config::new();
                config
                    .host(&hp.host)
                    .port(hp.port)
                    .user(&user)
                    .password(password)
                    .dbname("postgres")
                    .application_name(application_name)
                    .connect_timeout(CONNECT_TIMEOUT);
                let local = is_local(&Host::Tcp(hp.host.clone()));
                let tls = TlsSpec::from_params(None, None, ca, local)?;
                Ok(Endpoint {
                    label: label.into(),
                    config,
                    tls,
                })
            };
            let mut out = vec![make("direct host", direct, "postgres".into())?];
            if let Some(p) = pooler {
                out.push(make(
                    "session pooler",
                    p,
                    format!("postgres.{project_ref}"),
                )?);
            }
            Ok((out, Vec::new()))
        }
    }
}

/// `sslmode` and `sslrootcert` from a connection string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TlsParams {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
}

/// Parses a `postgres://` URL or a `key=value` string. Parameters that
/// tokio-postgres does not know (`pgbouncer=true` from Prisma) are dropped
/// with a warning instead of failing.
pub fn parse_url(url: &str, source: &str) -> Result<(Config, TlsParams, Vec<String>)> {
    if let Some((scheme, _)) = url.split_once("://")
        && !["postgres", "postgresql"].contains(&scheme)
    {
        // The scheme is echoed only when it looks like one (never a password).
        let named = scheme.len() <= 20
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
        return Err(Error::usage(
            if named { format!("{source} is not a PostgreSQL URL: it starts with `{scheme}://`") } else { format!("{source} is not a PostgreSQL URL") },
            Some("gantry migrate applies migrations to PostgreSQL (Supabase): write it as postgresql://user:password@host:5432/postgres".into()),
        ));
    }
    if let Some(why) = malformed_userinfo(url) {
        return Err(Error::usage(
            // Never the URL itself: which part is the password is unknown.
            format!("{source} is a malformed URL: {why}"),
            Some("percent-encode special characters in the user name and password: `@` as %40, `#` as %23, `/` as %2F, `?` as %3F, `:` in the user as %3A".into()),
        ));
    }
    let mut tls = TlsParams::default();
    let mut warnings = Vec::new();
    let mut keep = |key: &str, value: String| -> bool {
        match key {
            "sslmode" => tls.sslmode = Some(value),
            "sslrootcert" => tls.sslrootcert = Some(value),
            k if KNOWN_PARAMS.contains(&k) => return true,
            k => warnings.push(format!(
                "{source}: ignored the parameter `{k}` (gantry does not use it)"
            )),
        }
        false
    };
    let cleaned = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|p| !p.is_empty())
                    .filter(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        keep(&percent_decode(k), percent_decode(v))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        url.split_whitespace()
            .filter(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                keep(k, v.trim_matches('\'').to_string())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let config: Config = cleaned.parse().map_err(|e| {
        Error::usage(
            // tokio-postgres never echoes the URL, so the message is safe.
            format!("{source} is not a valid PostgreSQL connection URL: {e}"),
            Some("write it as postgresql://user:password@host:5432/postgres (percent-encode special characters in the password)".into()),
        )
    })?;
    if config.get_hosts().is_empty() {
        return Err(Error::usage(
            format!("{source} names no host"),
            Some("write it as postgresql://user:password@host:5432/postgres".into()),
        ));
    }
    Ok((config, tls, warnings))
}

/// Why a `postgres://` URL's user or password cannot be told apart from its
/// host: an unencoded `@`, `#`, `?` or `/` in them makes URL parsers (and
/// tokio-postgres) read part of the password as the host, and print it.
fn malformed_userinfo(url: &str) -> Option<&'static str> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let path_start = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..path_start];
    if authority.matches('@').count() > 1 {
        return Some("more than one `@` before the host");
    }
    if let Some(at) = authority.rfind('@')
        && authority[..at].contains(['#', '?'])
    {
        return Some("a `#` or `?` before the host");
    }
    let path = &rest[path_start..];
    let path = &path[..path.find('?').unwrap_or(path.len())];
    if path.contains('@') {
        return Some("an `@` after a `/`");
    }
    None
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_local(host: &Host) -> bool {
    match host {
        Host::Unix(_) => true,
        Host::Tcp(h) => {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
    }
}

/// An open connection.
pub struct Connected {
    pub client: Client,
    /// Which endpoint (index into the list given to [`connect`]).
    pub endpoint: usize,
    /// Server notices (`NOTICE: relation exists, skipping`), as they come.
    pub notices: mpsc::UnboundedReceiver<(String, String)>,
    /// Why earlier endpoints were passed over.
    pub passed_over: Vec<String>,
    /// Where the server listens, for a cancel request.
    peer: Peer,
}

/// The socket a connection was made over.
#[derive(Debug, Clone)]
enum Peer {
    Tcp(SocketAddr),
    Unix(std::path::PathBuf),
}

impl Connected {
    /// Asks the server to cancel the statement running on this connection
    /// (what Ctrl-C does in psql): it ends with "canceling statement due to
    /// user request", and the caller rolls its transaction back. The cancel
    /// request goes over a new, plain connection, as the protocol allows
    /// even where the session itself needs TLS; if it cannot be sent, the
    /// server rolls back when gantry exits and the connection closes.
    pub async fn cancel_statement(&self) -> std::result::Result<(), String> {
        let token = self.client.cancel_token();
        let sent = match &self.peer {
            Peer::Tcp(addr) => match TcpStream::connect(addr).await {
                Ok(stream) => token.cancel_query_raw(stream, NoTls).await,
                Err(e) => return Err(e.to_string()),
            },
            Peer::Unix(path) => match tokio::net::UnixStream::connect(path).await {
                Ok(stream) => token.cancel_query_raw(stream, NoTls).await,
                Err(e) => return Err(e.to_string()),
            },
        };
        sent.map_err(|e| error_text(&e))
    }
}

/// Why an attempt did not connect.
enum Failure {
    /// Nothing answered: the next endpoint may be tried.
    Unreachable(String),
    /// Something answered and said no (password, TLS, database missing).
    Refused(String),
}

/// Connects to the first endpoint that answers. An endpoint that answers
/// and refuses (wrong password, TLS failure) stops the search: falling back
/// would only hide the real problem.
pub async fn connect(endpoints: &[Endpoint]) -> Result<Connected> {
    let mut passed_over = Vec::new();
    for (i, ep) in endpoints.iter().enumerate() {
        match connect_one(ep).await {
            Ok((client, notices, peer)) => {
                return Ok(Connected {
                    client,
                    endpoint: i,
                    notices,
                    passed_over,
                    peer,
                });
            }
            Err(Failure::Unreachable(why)) => {
                passed_over.push(format!("{} {}: {why}", ep.label, ep.describe()));
            }
            Err(Failure::Refused(why)) => {
                return Err(Error::external(
                    "postgres",
                    format!("{} {}: {why}", ep.label, ep.describe()),
                )
                .with_hint(refusal_hint(&why, &ep.tls)));
            }
        }
    }
    let mut hint = "check the host and port, and that this machine may reach them (Supabase: Database Settings → Network restrictions)".to_string();
    let direct = match endpoints {
        [only] => match only.config.get_hosts() {
            [Host::Tcp(h)] => super::direct::project_ref(h).map(|r| (r, only)),
            _ => None,
        },
        _ => None,
    };
    if let Some((project, ep)) = direct {
        hint = format!(
            "the direct host is IPv6-only unless the project has the IPv4 add-on: {}",
            super::direct::pooler_hint(project, ep.label != "direct host")
        );
    }
    Err(Error::external(
        "postgres",
        format!("the database cannot be reached: {}", passed_over.join("; ")),
    )
    .with_hint(hint))
}

fn refusal_hint(why: &str, tls: &TlsSpec) -> String {
    if why.contains("password") {
        "check the password (SUPABASE_DB_PASSWORD, or the one in the URL; percent-encode special characters in URLs)".into()
    } else if why.contains("certificate") || why.contains("TLS") || why.contains("tls") {
        // Name what it was checked against: a wrong CA file is the usual cause.
        let against = match (&tls.root_cert, tls.system_roots_only) {
            (_, true) | (None, _) => "the system's trusted roots".to_string(),
            (Some(ca), false) => format!("{} (and the system's roots)", ca.display()),
        };
        format!(
            "the server's certificate did not verify against {against}: Supabase signs it with its own CA (Database Settings → SSL → Download certificate); give that CA with sslrootcert= or [migrate] ssl-root-cert, or use sslmode=require to encrypt without verifying"
        )
    } else if why.contains("does not exist") {
        "check the database and user names".into()
    } else {
        "see the server's message above".into()
    }
}

type Notices = mpsc::UnboundedReceiver<(String, String)>;

async fn connect_one(ep: &Endpoint) -> std::result::Result<(Client, Notices, Peer), Failure> {
    let c = &ep.config;
    let timeout = c.get_connect_timeout().copied().unwrap_or(CONNECT_TIMEOUT);
    let mut reasons = Vec::new();
    for (i, host) in c.get_hosts().iter().enumerate() {
        let port = c
            .get_ports()
            .get(i)
            .or(c.get_ports().first())
            .copied()
            .unwrap_or(5432);
        match host {
            Host::Unix(dir) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                match tokio::net::UnixStream::connect(&path).await {
                    Ok(stream) => {
                        let (client, notices) = handshake(c, stream, NoTls, timeout).await?;
                        return Ok((client, notices, Peer::Unix(path)));
                    }
                    Err(e) => reasons.push(format!("{}: {e}", path.display())),
                }
            }
            Host::Tcp(name) => {
                let addrs: Vec<SocketAddr> =
                    match tokio::net::lookup_host((name.as_str(), port)).await {
                        Ok(a) => a.collect(),
                        Err(e) => {
                            reasons.push(format!("{name} cannot be resolved ({e})"));
                            continue;
                        }
                    };
                if addrs.is_empty() {
                    reasons.push(format!("{name} has no address"));
                    continue;
                }
                let mut errors = Vec::new();
                for addr in &addrs {
                    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                        Ok(Ok(stream)) => {
                            let _ = stream.set_nodelay(true);
                            let peer = Peer::Tcp(*addr);
                            let connected = match ep.tls.required {
                                None => handshake(c, stream, NoTls, timeout).await,
                                Some(required) => {
                                    let mut c = c.clone();
                                    c.ssl_mode(if required {
                                        tokio_postgres::config::SslMode::Require
                                    } else {
                                        tokio_postgres::config::SslMode::Prefer
                                    });
                                    let config = ep
                                        .tls
                                        .client_config()
                                        .map_err(|e| Failure::Refused(e.to_string()))?;
                                    let mut maker =
                                        tokio_postgres_rustls::MakeRustlsConnect::new(config);
                                    let tls = <tokio_postgres_rustls::MakeRustlsConnect as MakeTlsConnect<TcpStream>>::make_tls_connect(&mut maker, name)
                                        .map_err(|e| Failure::Refused(format!("TLS: {e}")))?;
                                    handshake(&c, stream, tls, timeout).await
                                }
                            };
                            let (client, notices) = connected?;
                            return Ok((client, notices, peer));
                        }
                        Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
                        Err(_) => {
                            errors.push(format!("{addr}: no answer within {}s", timeout.as_secs()));
                        }
                    }
                }
                let v6_only = addrs.iter().all(SocketAddr::is_ipv6);
                reasons.push(if v6_only {
                    format!(
                        "{name} has only IPv6 addresses and none answered ({})",
                        errors.join(", ")
                    )
                } else {
                    errors.join(", ")
                });
            }
        }
    }
    Err(Failure::Unreachable(reasons.join("; ")))
}

async fn handshake<S, T>(
    config: &Config,
    stream: S,
    tls: T,
    timeout: Duration,
) -> std::result::Result<(Client, Notices), Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: tokio_postgres::tls::TlsConnect<S>,
    T::Stream: Send + 'static,
{
    let (client, connection) =
        match tokio::time::timeout(timeout, config.connect_raw(stream, tls)).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(Failure::Refused(error_text(&e))),
            Err(_) => {
                return Err(Failure::Unreachable(format!(
                    "no answer to the startup within {}s",
                    timeout.as_secs()
                )));
            }
        };
    Ok((client, drive(connection)))
}

/// Runs the connection in the background, forwarding the server's notices.
fn drive<S, T>(mut connection: Connection<S, T>) -> Notices
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notice(n)) => {
                    let _ = tx.send((n.severity().to_string(), n.message().to_string()));
                }
                Ok(_) => {}
                // The client's next call reports the broken connection.
                Err(_) => break,
            }
        }
    });
    rx
}

/// The whole message of a tokio-postgres error: its own text hides the
/// server's words behind "db error".
pub fn error_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_tls_and_unknown_parameters_but_keep_the_rest() {
        let (c, tls, warnings) = parse_url(
            "postgresql://postgres.ref:p%40ss@aws-0-eu-west-1.pooler.supabase.com:5432/postgres?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&pgbouncer=true&application_name=x",
            "SUPABASE_DB_URL",
        )
        .unwrap();
        assert_eq!(tls.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(tls.sslrootcert.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(c.get_user(), Some("postgres.ref"));
        assert_eq!(c.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(c.get_application_name(), Some("x"));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("pgbouncer"), "{warnings:?}");
    }

    #[test]
    fn key_value_strings_work_too() {
        let (c, tls, _) = parse_url(
            "host=127.0.0.1 port=6000 user=u dbname=d sslmode=disable",
            "--db-url",
        )
        .unwrap();
        assert_eq!(c.get_ports(), [6000]);
        assert_eq!(tls.sslmode.as_deref(), Some("disable"));
    }

    #[test]
    fn another_database_s_url_is_named_as_such() {
        let err = parse_url("mysql://root:pw@localhost/db", "--db-url").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "--db-url is not a PostgreSQL URL: it starts with `mysql://`"
        );
    }

    #[test]
    fn unencoded_at_hash_or_slash_in_the_password_is_malformed_and_not_echoed() {
        for url in [
            "postgresql://postgres:Hold#Pw@rd9@127.0.0.1/db",
            "postgresql://postgres:Hold@Pw@127.0.0.1:5432/db",
            "postgres://postgres:Ho?ld@127.0.0.1/db",
            "postgresql://postgres:Hold/Pw@127.0.0.1/db",
        ] {
            let err = parse_url(url, "--db-url").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{url}");
            let text = format!("{err} {}", err.hint().unwrap_or_default());
            assert!(text.contains("malformed") && text.contains("%40"), "{text}");
            for part in ["Hold", "Pw", "rd9", "127.0.0.1"] {
                assert!(!text.contains(part), "{url}: {text}");
            }
        }
        for url in [
            "postgresql://postgres:Hold%23Pw%40rd9@127.0.0.1/db",
            "postgresql://postgres@127.0.0.1/db?application_name=a@b",
            "postgresql://127.0.0.1/db",
        ] {
            assert!(parse_url(url, "--db-url").is_ok(), "{url}");
        }
    }

    #[test]
    fn bad_urls_are_usage_errors_that_do_not_echo_the_url() {
        let e =
            parse_url("postgresql://u:hunter2-secret@host:notaport/db", "--db-url").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn a_project_tries_its_direct_host_then_its_pooler() {
        let db = Database::Project {
            project_ref: "abc".into(),
            password: "pw".into(),
            direct: HostPort {
                host: "db.abc.supabase.co".into(),
                port: 5432,
            },
            pooler: Some(HostPort {
                host: "aws-0-x.pooler.supabase.com".into(),
                port: 5432,
            }),
        };
        let (eps, _) = endpoints(&db, None, "gantry").unwrap();
        assert_eq!(
            eps[0].describe(),
            "postgres@db.abc.supabase.co:5432/postgres"
        );
        assert_eq!(
            eps[1].describe(),
            "postgres.abc@aws-0-x.pooler.supabase.com:5432/postgres"
        );
        assert_eq!(eps[1].tls.required, Some(true));
    }

    #[test]
    fn loopback_hosts_are_local() {
        assert!(is_local(&Host::Tcp("127.0.0.1".into())));
        assert!(is_local(&Host::Tcp("::1".into())));
        assert!(is_local(&Host::Tcp("localhost".into())));
        assert!(!is_local(&Host::Tcp("db.x.supabase.co".into())));
    }
}
