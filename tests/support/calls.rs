//! One log of the calls gantry makes to remote systems, whatever the system.
//!
//! The stand-ins (ECS, Railway, npm, the trusted-publishing OIDC parties,
//! GitHub's API) append a [`Call`] to a shared [`CallLog`] as each request
//! arrives. The real systems (the registry, pypiserver, PostgreSQL) keep no
//! such log, so an [`Observer`] reads what they hold before and after a run
//! through their own interfaces and turns each difference into a call. The
//! dry-run fidelity test (`tests/integration/fidelity.rs`) reads both the
//! same way.

use super::postgres::Db;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// One request to a remote system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `ecs`, `railway`, `npm`, `oidc`, `github`, `registry`, `pypi`, `postgres`.
    pub system: &'static str,
    /// The system's own name for it: `UpdateService`, `PUT`, `push`.
    pub operation: String,
    /// What it is about, in the system's terms: `prod/api`, `@scope/pkg`.
    pub target: String,
    /// Whether it changes what the system holds (a read is not).
    pub mutating: bool,
}

impl Call {
    pub fn new(system: &'static str, operation: &str, target: &str, mutating: bool) -> Call {
        Call {
            system,
            operation: operation.to_string(),
            target: target.to_string(),
            mutating,
        }
    }

    /// `system operation target`, for assertions that read well.
    pub fn key(&self) -> String {
        format!("{} {} {}", self.system, self.operation, self.target)
    }
}

/// A log shared by any number of stand-ins (clones append to the same list).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    pub fn new() -> CallLog {
        CallLog::default()
    }

    pub fn push(&self, call: Call) {
        self.0.lock().unwrap().push(call);
    }

    /// Every call, in the order they arrived.
    pub fn all(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }

    /// The calls that change something, in order.
    pub fn mutating(&self) -> Vec<Call> {
        self.all().into_iter().filter(|c| c.mutating).collect()
    }

    /// The calls to `system`, in order.
    pub fn of(&self, system: &str) -> Vec<Call> {
        self.all()
            .into_iter()
            .filter(|c| c.system == system)
            .collect()
    }

    /// How many calls arrived so far (to read the calls of one run: `since`).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mutating calls after the first `start`.
    pub fn mutating_since(&self, start: usize) -> Vec<Call> {
        self.all()
            .into_iter()
            .skip(start)
            .filter(|c| c.mutating)
            .collect()
    }
}

/// What a real system holds at one moment: the things a step changes
/// (`repo:tag` → digest, file name, migration version → name), and, apart,
/// everything else that must not change in a dry run (the database schema).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holdings {
    pub items: BTreeMap<String, String>,
    pub rest: String,
}

/// Reads a real system that keeps no call log.
pub trait Observer {
    fn system(&self) -> &'static str;
    /// The name of the change one new or changed item stands for.
    fn operation(&self) -> &'static str;
    fn holdings(&self) -> Holdings;

    /// One mutating call per item that appeared, changed or went away since
    /// `before`, in the items' order (a snapshot cannot see the order in
    /// which they were made).
    fn calls_since(&self, before: &Holdings) -> Vec<Call> {
        let after = self.holdings();
        let mut keys: Vec<&String> = after.items.keys().chain(before.items.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| after.items.get(*k) != before.items.get(*k))
            .map(|k| {
                let op = if after.items.contains_key(k) {
                    self.operation()
                } else {
                    "delete"
                };
                Call::new(self.system(), op, k, true)
            })
            .collect()
    }
}

/// A distribution registry, read through its HTTP API (`/v2/_catalog`,
/// `/v2/<repo>/tags/list`, the manifest's `Docker-Content-Digest`): a push
/// is one mutation per tag that appeared or moved.
pub struct RegistryObserver {
    pub host: String,
    pub user: Option<(String, String)>,
}

impl RegistryObserver {
    pub fn new(host: &str, user: Option<(&str, &str)>) -> RegistryObserver {
        RegistryObserver {
            host: host.to_string(),
            user: user.map(|(u, p)| (u.to_string(), p.to_string())),
        }
    }

    fn curl(&self, args: &[&str], path: &str) -> String {
        let mut cmd = Command::new("curl");
        cmd.args(["-sf"]).args(args);
        if let Some((u, p)) = &self.user {
            cmd.args(["-u", &format!("{u}:{p}")]);
        }
        let out = cmd
            .arg(format!("http://{}{path}", self.host))
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, path: &str) -> serde_json::Value {
        serde_json::from_str(&self.curl(&[], path)).unwrap_or_default()
    }
}

impl Observer for RegistryObserver {
    fn system(&self) -> &'static str {
        "registry"
    }

    fn operation(&self) -> &'static str {
        "push"
    }

    fn holdings(&self) -> Holdings {
        let mut items = BTreeMap::new();
        let catalog = self.json("/v2/_catalog");
        for repo in catalog["repositories"].as_array().into_iter().flatten() {
            let repo = repo.as_str().unwrap_or_default();
            let tags = self.json(&format!("/v2/{repo}/tags/list"));
            for tag in tags["tags"].as_array().into_iter().flatten() {
                let tag = tag.as_str().unwrap_or_default();
                let head = self.curl(
                    &[
                        "-I",
                        "-H",
                        "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
                    ],
                    &format!("/v2/{repo}/manifests/{tag}"),
                );
                let digest = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("docker-content-digest")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                items.insert(format!("{}/{repo}:{tag}", self.host), digest);
            }
        }
        Holdings {
            items,
            rest: String::new(),
        }
    }
}

/// A package index read through its simple index (PEP 503): one mutation
/// per file that appeared.
pub struct PypiObserver {
    /// `http://127.0.0.1:<port>/simple/`.
    pub simple: String,
}

fn links(html: &str) -> Vec<String> {
    // Each `<a href="…">name</a>`: the link text is the project or file name.
    html.split("<a ")
        .skip(1)
        .filter_map(|a| {
            let text = a.split_once('>')?.1;
            Some(text.split_once("</a>")?.0.trim().to_string())
        })
        .collect()
}

impl Observer for PypiObserver {
    fn system(&self) -> &'static str {
        "pypi"
    }

    fn operation(&self) -> &'static str {
        "upload"
    }

    fn holdings(&self) -> Holdings {
        let get = |url: &str| {
            let out = Command::new("curl")
                .args(["-sfL", url])
                .output()
                .expect("curl runs");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let mut items = BTreeMap::new();
        for project in links(&get(&self.simple)) {
            for file in links(&get(&format!("{}{project}/", self.simple))) {
                items.insert(file, String::new());
            }
        }
        Holdings {
            items,
            rest: String::new(),
        }
    }
}

/// A PostgreSQL database: the rows of Supabase's migration history and of
/// its seed files (one mutation per version or seed recorded, or seed hash
/// changed) and, apart, every user table with its columns (which a dry run
/// must leave as it found them).
pub struct DbObserver(Db);

impl DbObserver {
    pub fn new(db: &Db) -> DbObserver {
        DbObserver(Db {
            pg: db.pg,
            name: db.name.clone(),
        })
    }
}

impl Observer for DbObserver {
    fn system(&self) -> &'static str {
        "postgres"
    }

    fn operation(&self) -> &'static str {
        "record"
    }

    fn holdings(&self) -> Holdings {
        let mut items: BTreeMap<String, String> = self
            .0
            .history()
            .into_iter()
            .map(|(version, name, _)| (format!("migration {version}"), name))
            .collect();
        let has_seeds = self
            .0
            .sql("SELECT to_regclass('supabase_migrations.seed_files') IS NOT NULL");
        let seeds = if has_seeds == "t" {
            self.0.sql(
                "SELECT coalesce(string_agg(path || ' ' || hash, E'\\n'), '') FROM supabase_migrations.seed_files",
            )
        } else {
            String::new()
        };
        for line in seeds.lines() {
            if let Some((path, hash)) = line.split_once(' ') {
                items.insert(format!("seed {path}"), hash.to_string());
            }
        }
        let rest = self.0.sql(
            "SELECT coalesce(string_agg(table_schema || '.' || table_name || '.' || column_name || ' ' || data_type, ',' ORDER BY table_schema, table_name, ordinal_position), '') FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
        );
        Holdings { items, rest }
    }
}
