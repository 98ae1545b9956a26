//! A Supabase project's direct host, from machines without IPv6.
//!
//! `db.<ref>.supabase.co` has only IPv6 addresses unless the project has
//! the IPv4 add-on, and GitHub-hosted runners have no IPv6. What works from
//! there is the session pooler (Supavisor, IPv4 on every plan; session mode
//! on port 5432 keeps the advisory lock a migration run holds), with the
//! user `postgres.<ref>`. Its host name cannot be derived from the ref: it
//! carries the project's region and pooler cluster
//! (`aws-0-eu-central-1.pooler.supabase.com`, `aws-1-us-east-1…`), which the
//! Supabase CLI reads from the Management API with an access token. So
//! rather than guess (and send the password to every region), gantry stops
//! before connecting and names the URL that works.

use super::connect::Endpoint;
use crate::error::{Error, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tokio_postgres::config::Host;

/// Resolving the direct host gives up after this long.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// `<ref>` of a project's direct host `db.<ref>.supabase.co`.
pub fn project_ref(host: &str) -> Option<&str> {
    let r = host.strip_prefix("db.")?.strip_suffix(".supabase.co")?;
    (!r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric())).then_some(r)
}

/// Why the direct host cannot be reached from here, when that is sure:
/// it has no IPv4 address and this machine has no IPv6. `None`: it can,
/// or it is unknown (connecting says the rest).
fn unreachable_here(
    resolved: std::result::Result<Vec<SocketAddr>, String>,
    ipv6: Ipv6,
    routable: impl Fn(&SocketAddr) -> bool,
) -> Option<String> {
    match (resolved, ipv6) {
        (Ok(addrs), _) if addrs.iter().any(SocketAddr::is_ipv4) => None,
        (Ok(addrs), Ipv6::GithubHosted) if !addrs.is_empty() => {
            Some("has only IPv6 addresses, and GitHub-hosted runners have no IPv6".into())
        }
        (Ok(addrs), Ipv6::Probe) if !addrs.is_empty() && !addrs.iter().any(routable) => {
            Some("has only IPv6 addresses, and this machine has no route to IPv6".into())
        }
        (Err(e), Ipv6::GithubHosted) => Some(format!(
            "has no IPv4 address here ({e}), and GitHub-hosted runners have no IPv6"
        )),
        _ => None,
    }
}

/// The session pooler's URL for a project, as the dashboard shows it
/// (Connect → Session pooler), with placeholders for what only it knows.
pub fn session_pooler_url(project_ref: &str) -> String {
    format!(
        "postgresql://postgres.{project_ref}:<password>@aws-0-<region>.pooler.supabase.com:5432/postgres"
    )
}

/// What to do when the direct host cannot be reached from here.
pub fn pooler_hint(project_ref: &str, via_url: bool) -> String {
    let what = if via_url {
        format!(
            "use the project's session pooler URL instead: {}",
            session_pooler_url(project_ref)
        )
    } else {
        "set [migrate] pooler-host to the project's session pooler host (aws-0-<region>.pooler.supabase.com)".into()
    };
    format!(
        "{what} (copy it from the dashboard: Connect → Session pooler; the host carries the project's region, which the ref does not tell; the user is postgres.{project_ref}, port 5432; port 6543 is the transaction pooler, which cannot hold the migration lock), or give the project the IPv4 add-on"
    )
}

/// How this machine reaches IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6 {
    /// A GitHub-hosted runner: never (actions/runner-images has no IPv6).
    GithubHosted,
    /// Ask the routing table.
    Probe,
}

/// Stops (exit 2) before connecting when the only way to the database is a
/// project's direct host that has no IPv4 address and this machine cannot
/// reach IPv6. A later endpoint (a configured pooler) is a way out, so
/// nothing is stopped then.
pub async fn check(endpoints: &[Endpoint], ipv6: Ipv6) -> Result<()> {
    let [only] = endpoints else { return Ok(()) };
    let Some((host, port)) = tcp_host(only) else {
        return Ok(());
    };
    let Some(project) = project_ref(&host) else {
        return Ok(());
    };
    let resolved = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("no answer within {}s", RESOLVE_TIMEOUT.as_secs()))
    .and_then(|r| {
        r.map(Iterator::collect::<Vec<_>>)
            .map_err(|e| e.to_string())
    });
    let Some(why) = unreachable_here(resolved, ipv6, routable) else {
        return Ok(());
    };
    let via_url = only.label != "direct host";
    Err(Error::usage(
        format!(
            "{} connects to {}: the direct host {host} {why}, so it cannot be reached",
            only.label,
            only.describe()
        ),
        Some(pooler_hint(project, via_url)),
    ))
}

fn tcp_host(ep: &Endpoint) -> Option<(String, u16)> {
    let c = &ep.config;
    match c.get_hosts() {
        [Host::Tcp(h)] => Some((h.clone(), c.get_ports().first().copied().unwrap_or(5432))),
        _ => None,
    }
}

/// Whether the kernel has a route to `addr` (connecting a UDP socket sends
/// nothing; it fails with "network unreachable" without a route).
fn routable(addr: &SocketAddr) -> bool {
    let any: SocketAddr = if addr.is_ipv6() {
        "[::]:0".parse().expect("a socket address")
    } else {
        "0.0.0.0:0".parse().expect("a socket address")
    };
    std::net::UdpSocket::bind(any).is_ok_and(|s| s.connect(addr).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supabase::database::Database;

    #[test]
    fn only_a_project_s_direct_host_has_a_ref() {
        assert_eq!(
            project_ref("db.abcdefghijklmnopqrst.supabase.co"),
            Some("abcdefghijklmnopqrst")
        );
        for host in [
            "aws-0-eu-west-1.pooler.supabase.com",
            "db.supabase.co",
            "db.a.b.supabase.co",
            "127.0.0.1",
            "db.abc.supabase.com",
        ] {
            assert_eq!(project_ref(host), None, "{host}");
        }
    }

    fn url(u: &str) -> Vec<Endpoint> {
        let db = Database::Url {
            url: u.into(),
            source: "SUPABASE_DB_URL".into(),
        };
        super::super::connect::endpoints(&db, None, "gantry")
            .unwrap()
            .0
    }

    #[test]
    fn without_ipv4_or_a_route_to_ipv6_the_direct_host_is_unreachable_here() {
        let v6: SocketAddr = "[2a05:d014::1]:5432".parse().unwrap();
        let v4: SocketAddr = "3.64.0.1:5432".parse().unwrap();
        let never = |_: &SocketAddr| false;
        let always = |_: &SocketAddr| true;
        // The IPv4 add-on: fine everywhere.
        assert_eq!(
            unreachable_here(Ok(vec![v6, v4]), Ipv6::GithubHosted, never),
            None
        );
        // IPv6 only: never from a GitHub-hosted runner, elsewhere with a route.
        assert!(unreachable_here(Ok(vec![v6]), Ipv6::GithubHosted, always).is_some());
        assert_eq!(unreachable_here(Ok(vec![v6]), Ipv6::Probe, always), None);
        assert!(unreachable_here(Ok(vec![v6]), Ipv6::Probe, never).is_some());
        // Not resolved: sure on a hosted runner; elsewhere connecting says why.
        assert!(unreachable_here(Err("NXDOMAIN".into()), Ipv6::GithubHosted, never).is_some());
        assert_eq!(
            unreachable_here(Err("NXDOMAIN".into()), Ipv6::Probe, never),
            None
        );
    }

    /// The way out names the pooler's URL form with the project's user;
    /// hosts other than a direct host are never looked up or stopped.
    #[test]
    fn the_hint_names_the_session_pooler_and_other_hosts_pass() {
        let hint = pooler_hint("zzzzgantrytestzzzzzz", true);
        assert!(
            hint.contains("postgresql://postgres.zzzzgantrytestzzzzzz:<password>@aws-0-<region>.pooler.supabase.com:5432/postgres"),
            "{hint}"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for ok in [
            "postgresql://postgres.zzzz:pw@aws-0-eu-west-1.pooler.supabase.com:5432/postgres",
            "postgresql://postgres:pw@127.0.0.1:5432/postgres",
        ] {
            assert!(
                rt.block_on(check(&url(ok), Ipv6::GithubHosted)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn loopback_is_routable() {
        assert!(routable(&"127.0.0.1:5432".parse().unwrap()));
    }
}
