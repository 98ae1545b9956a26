//! Where the database is: a URL, or a Supabase project's hosts.

/// Where the database is.
#[derive(Debug, Clone)]
pub enum Database {
    /// A PostgreSQL URL (or `key=value` connection string).
    Url {
        url: String,
        /// Where it came from: `--db-url` or the variable's name.
        source: String,
    },
    /// A Supabase project: its direct host first, its session pooler when
    /// the direct host cannot be reached.
    Project {
        project_ref: String,
        password: String,
        direct: HostPort,
        pooler: Option<HostPort>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl HostPort {
    /// `host`, `host:port`, `[v6]:port`.
    pub fn parse(text: &str, default_port: u16) -> Option<HostPort> {
        let text = text.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            match after.strip_prefix(':') {
                Some(p) => (host, p.parse().ok()?),
                None if after.is_empty() => (host, default_port),
                None => return None,
            }
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, p.parse().ok()?),
                _ => (text, default_port),
            }
        };
        (!host.is_empty()).then(|| HostPort {
            host: host.to_string(),
            port,
        })
    }
}
