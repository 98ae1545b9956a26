//! A throwaway PostgreSQL cluster for the tests: Debian's server binaries,
//! `initdb` + `pg_ctl` on a free port on 127.0.0.1, password authentication
//! over TCP, one cluster per test binary and one database per test.
//!
//! PostgreSQL refuses to run as root, so as root the cluster runs as
//! `nobody` in a temporary directory it owns. A watchdog process stops the
//! cluster and removes the directory when the test binary exits, however it
//! exits.
//!
//! [`postgres_tls`] starts a second cluster, only for the tests that ask for
//! it, that speaks nothing but TLS (`ssl=on`, `hostssl` lines only) with a
//! server certificate signed by a CA made for the test with the openssl CLI,
//! as Supabase signs its hosts' certificates with its own CA. The shared
//! cluster stays plain, so no other test changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The superuser's password (scram-sha-256 over TCP).
pub const PASSWORD: &str = "gantry-test-pw-7x";

pub struct Postgres {
    pub port: u16,
    pub bin: PathBuf,
    pub dir: PathBuf,
    /// The TLS cluster's CA and a second, unrelated CA.
    pub tls: Option<TlsFiles>,
}

/// The certificates of [`postgres_tls`].
pub struct TlsFiles {
    /// The CA that signed the server's certificate (PEM).
    pub ca: PathBuf,
    /// A CA that signed nothing the server holds (PEM).
    pub other_ca: PathBuf,
}

static CLUSTER: OnceLock<Option<Postgres>> = OnceLock::new();
static TLS_CLUSTER: OnceLock<Option<Postgres>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The shared cluster, started on first use. `None` (the test skips) when
/// PostgreSQL is not installed, except in CI where that fails the test.
pub fn postgres() -> Option<&'static Postgres> {
    let cluster = CLUSTER.get_or_init(|| start(false)).as_ref();
    if cluster.is_none() {
        // Every test that finds no cluster is skipped, not only the first.
        super::skip("PostgreSQL (initdb) is not installed; run scripts/setup");
    }
    cluster
}

/// A cluster that accepts only TLS connections, with a server certificate
/// (for `127.0.0.1` and `localhost`) from its own CA; started on first use.
pub fn postgres_tls() -> Option<&'static Postgres> {
    super::require_tool("openssl")?;
    let cluster = TLS_CLUSTER.get_or_init(|| start(true)).as_ref();
    if cluster.is_none() {
        super::skip("PostgreSQL (initdb) is not installed; run scripts/setup");
    }
    cluster
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate it signs, and a second CA, in `dir`.
fn make_certificates(dir: &Path) -> TlsFiles {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=gantry test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.crt"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    );
    TlsFiles {
        ca: dir.join("ca.crt"),
        other_ca: dir.join("other-ca.crt"),
    }
}

fn find_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = glob::glob("/usr/lib/postgresql/*/bin")
        .map(|g| g.flatten().collect())
        .unwrap_or_default();
    // The newest version first.
    candidates.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.reverse();
    for dir in std::env::split_paths(&std::env::var("PATH").unwrap_or_default()) {
        candidates.push(dir);
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        .map(|d| d.canonicalize().unwrap_or(d))
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server binary, as `nobody` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start(tls: bool) -> Option<Postgres> {
    let bin = find_bin()?;
    let dir = tempfile::Builder::new()
        .prefix("gantry-pg-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let pwfile = dir.join("pwfile");
    std::fs::write(&pwfile, PASSWORD).unwrap();
    let tls = tls.then(|| make_certificates(&dir));
    if is_root() {
        let out = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chown: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let data = dir.join("data");
    let out = as_owner(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .expect("initdb runs");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ssl = String::new();
    if tls.is_some() {
        // TLS or nothing over TCP: a connection that skipped TLS would be
        // refused, so a test that connects proves TLS was used.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust
hostssl all all 127.0.0.1/32 scram-sha-256
",
        )
        .unwrap();
        // The server reads its key only when the owner alone may.
        std::fs::set_permissions(
            dir.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        if is_root() {
            for f in ["server.key", "server.crt"] {
                let _ = Command::new("chown")
                    .arg("nobody:nogroup")
                    .arg(dir.join(f))
                    .status();
            }
        }
        ssl = format!(
            " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
            dir.display()
        );
    }
    let mut port = 0;
    for _ in 0..5 {
        port = free_port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300{ssl}",
            dir.display()
        );
        let out = as_owner(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .output()
            .expect("pg_ctl runs");
        if out.status.success() {
            break;
        }
        port = 0;
    }
    assert!(
        port != 0,
        "the test cluster did not start: see {}/server.log",
        dir.display()
    );
    watchdog(&data, &dir);
    let pg = Postgres {
        port,
        bin,
        dir,
        tls,
    };
    // Supabase's roles exist in every project; roles are cluster-wide.
    pg.psql("postgres", "DO $$ BEGIN CREATE ROLE anon NOLOGIN; CREATE ROLE authenticated NOLOGIN; CREATE ROLE service_role NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;");
    Some(pg)
}

/// Stops the cluster (immediate shutdown) and removes its directory once
/// this test process is gone.
fn watchdog(data: &Path, dir: &Path) {
    // Started in the background of a shell that exits at once, so the
    // watchdog outlives this process and leaves no zombie behind.
    let script = format!(
        "(while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
         kill -QUIT \"$(head -1 '{data}/postmaster.pid' 2>/dev/null)\" 2>/dev/null; sleep 1; rm -rf '{dir}') &",
        pid = std::process::id(),
        data = data.display(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the watchdog starts");
}

impl Postgres {
    /// A new, empty database for one test.
    pub fn database(&'static self, hint: &str) -> Db {
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let clean: String = hint
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        let name = format!("t{n}_{}_{clean}", std::process::id()).to_lowercase();
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        Db { pg: self, name }
    }

    /// Runs SQL as the superuser; panics on failure; returns psql's output
    /// (`-At`: unaligned, tuples only).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        match self.try_psql(db, sql) {
            Ok(out) => out,
            Err(e) => panic!("psql failed on {db}: {e}\n--- sql\n{sql}"),
        }
    }

    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = self
            .psql_command(db)
            .args(["-c", sql])
            .output()
            .expect("psql runs");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// psql connected as the superuser over TCP, stopping at the first error.
    pub fn psql_command(&self, db: &str) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db])
        .env("PGPASSWORD", PASSWORD)
        .env("PGCONNECT_TIMEOUT", "10");
        c
    }
}

/// One test's database.
pub struct Db {
    pub pg: &'static Postgres,
    pub name: String,
}

impl Db {
    /// `postgresql://postgres:…@127.0.0.1:<port>/<db>`.
    pub fn url(&self) -> String {
        format!(
            "postgresql://postgres:{PASSWORD}@127.0.0.1:{}/{}",
            self.pg.port, self.name
        )
    }

    pub fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.name, sql)
    }

    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        self.pg.try_psql(&self.name, sql)
    }

    /// The history table: `version|name|statements` per row, in order.
    pub fn history(&self) -> Vec<(String, String, Vec<String>)> {
        let exists =
            self.sql("SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL");
        if exists != "t" {
            return Vec::new();
        }
        // JSON keeps statements with newlines and quotes intact.
        let json = self.sql(
            "SELECT coalesce(json_agg(json_build_array(version, name, statements) ORDER BY version), '[]') FROM supabase_migrations.schema_migrations",
        );
        let rows: Vec<(String, Option<String>, Option<Vec<String>>)> =
            serde_json::from_str(&json).unwrap();
        rows.into_iter()
            .map(|(v, n, s)| (v, n.unwrap_or_default(), s.unwrap_or_default()))
            .collect()
    }

    pub fn versions(&self) -> Vec<String> {
        self.history().into_iter().map(|(v, _, _)| v).collect()
    }

    /// What a Supabase project has that migrations commonly reference:
    /// `auth.users`, `auth.uid()`, the `extensions` schema with uuid-ossp
    /// and pgcrypto on the search path (the roles are cluster-wide).
    pub fn supabase_bootstrap(&self) {
        self.sql(&format!(
            "CREATE SCHEMA auth;
             CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, raw_user_meta_data jsonb);
             CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
             CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
             CREATE SCHEMA extensions;
             CREATE EXTENSION \"uuid-ossp\" WITH SCHEMA extensions;
             CREATE EXTENSION pgcrypto WITH SCHEMA extensions;
             ALTER DATABASE \"{}\" SET search_path = \"$user\", public, extensions;",
            self.name
        ));
    }
}
