//! No panic reaches a user: every configuration key gets extreme values and
//! every command garbage arguments, and gantry always answers with one of its
//! own exit codes (0–3), never Rust's 101 or a panic message.

use crate::support::{Gantry, Project};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// Values no key expects: huge, zero, negative, empty, the wrong type.
const EXTREMES: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "0",
    "-1",
    "1e308",
    "\"\"",
    "\"2562047788015215 hours\"",
    "\"18446744073709551615\"",
    "\"../../../../../../etc/passwd\"",
    "\"::set-output name=x::y\"",
    "[]",
    "[\"\", \"\"]",
    "{}",
    "true",
];

/// Each section with a minimal valid body, the keys it documents, and the
/// command that reads it.
const SECTIONS: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "[gates.g]",
        "run = \"true\"\n",
        &[
            "run",
            "dir",
            "env",
            "secrets",
            "timeout",
            "paths",
            "junit",
            "matcher",
            "required",
            "fail-on-no-tests",
        ],
        &["gate"],
    ),
    (
        "[migrate]",
        "",
        &[
            "dir",
            "db-url-env",
            "project-ref",
            "direct-host",
            "pooler-host",
            "seeds",
            "lock-timeout",
            "strict",
            "ssl-root-cert",
        ],
        &["migrate", "--dry-run"],
    ),
    (
        "[publish.p]",
        "pypi = { path = \"sdk\" }\n",
        &["build", "dist", "existing"],
        &["publish", "--dry-run"],
    ),
    (
        "[publish.p.pypi]",
        "path = \"sdk\"\n",
        &["path", "repository-url", "index-url", "token-env"],
        &["publish", "--dry-run"],
    ),
    (
        "[images.i]",
        "context = \".\"\nrepository = \"r/x\"\n",
        &[
            "context",
            "dockerfile",
            "repository",
            "registry",
            "build-args",
            "target",
            "platform",
            "labels",
            "tags",
            "cache-from",
            "no-cache",
            "pull",
            "create-repository",
            "tag-mutability",
        ],
        &["build", "--dry-run"],
    ),
    (
        "[scan]",
        "trivy = \"/nonexistent/trivy\"\n",
        &[
            "fail-at",
            "show-at",
            "ignore-unfixed",
            "ignore-file",
            "vulnerabilities",
            "secrets",
            "misconfigurations",
            "licenses",
            "images",
            "fs",
            "config",
            "timeout",
            "cache-dir",
            "db-repository",
            "offline",
            "sarif",
        ],
        &["scan", "--fs", ".", "--dry-run"],
    ),
    (
        "[deploy.d.ecs]",
        "cluster = \"c\"\nservice = \"s\"\n",
        &[
            "cluster",
            "service",
            "task-definition",
            "region",
            "environment",
            "secrets",
            "desired-count",
            "run-task",
            "timeout",
            "poll-interval",
            "rollback",
            "deregister-failed",
            "keep-revisions",
            "force",
        ],
        &["deploy", "ecs", "--dry-run"],
    ),
    (
        "[deploy.r]",
        "railway = { project = \"p\", environment = \"e\", service = \"s\" }\nmode = \"redeploy\"\n",
        &["timeout", "mode", "image", "containers"],
        &["deploy", "railway", "--dry-run"],
    ),
    ("[pipeline]", "", &["steps"], &["run", "--dry-run"]),
];

fn project() -> Project {
    let p = Project::new();
    p.write("Dockerfile", "FROM scratch\n");
    p.write("supabase/migrations/.keep", "");
    p.write(
        "sdk/pyproject.toml",
        "[project]\nname = \"x\"\nversion = \"1.0.0\"\n",
    );
    p.commit("init");
    p
}

/// gantry, cut off from every outside system it could reach.
fn isolated(p: &Project) -> Gantry {
    p.gantry()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-example")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SUPABASE_DB_URL", "postgresql://u:pw@127.0.0.1:9/db")
}

/// What went wrong, or `None` when gantry answered as designed.
fn panicked(what: &str, code: i32, stderr: &str, stdout: &str) -> Option<String> {
    let text = format!("{stdout}{stderr}");
    if (0..=3).contains(&code) && !text.contains("panicked") && !text.contains("RUST_BACKTRACE") {
        return None;
    }
    Some(format!("{what}: exit {code}\n{text}"))
}

/// One try: a `gantry.toml` (bytes) and the arguments.
struct Case {
    config: Vec<u8>,
    args: Vec<OsString>,
}

/// Runs every case (a few at once, each worker in its own project) and
/// returns how many ran and what panicked.
fn run_all(cases: Vec<Case>) -> (usize, Vec<String>) {
    let tried = cases.len();
    let queue = std::sync::Mutex::new(cases);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let p = project();
                loop {
                    let Some(case) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    std::fs::write(p.path().join("gantry.toml"), &case.config).unwrap();
                    let r = isolated(&p).args(&case.args).run();
                    let what = format!(
                        "{} with gantry.toml:\n{}",
                        format!("{:?}", case.args)
                            .chars()
                            .take(300)
                            .collect::<String>(),
                        String::from_utf8_lossy(&case.config)
                    );
                    if let Some(f) = panicked(&what, r.code, &r.stderr, &r.stdout) {
                        failures.lock().unwrap().push(f);
                    }
                }
            });
        }
    });
    (tried, failures.into_inner().unwrap())
}

#[test]
fn extreme_values_in_every_configuration_key_never_panic() {
    let mut cases = Vec::new();
    for (header, body, keys, command) in SECTIONS {
        for key in *keys {
            for value in EXTREMES {
                cases.push(Case {
                    config: format!("{header}\n{body}{key} = {value}\n").into_bytes(),
                    args: command.iter().map(OsString::from).collect(),
                });
            }
        }
    }
    // A file that is not UTF-8, and one that is not TOML at all.
    for bytes in [
        b"[gates.g]\nrun = \"\xff\xfe\"\n".to_vec(),
        vec![0u8, 159, 146, 150],
    ] {
        cases.push(Case {
            config: bytes,
            args: vec!["gate".into()],
        });
    }
    let (tried, failures) = run_all(cases);
    eprintln!(
        "bad configuration values tried: {tried}, panics: {}",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{tried} tried:\n{}",
        failures.join("\n\n")
    );
}

/// The flags of a command, read from its own `--help`.
fn flags(command: &[&str]) -> Vec<String> {
    let p = Project::new();
    let help = p.gantry().args(command).args(["--help"]).run().stdout;
    let mut out: Vec<String> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches([',', '.', ')', ':'])
                .split('=')
                .next()
                .unwrap()
                .to_string()
        })
        .filter(|w| w != "--help" && w != "--version")
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn garbage_arguments_to_every_command_never_panic() {
    let config = b"[gates.g]\nrun = \"true\"\n\n[scan]\ntrivy = \"/nonexistent/trivy\"\n";
    let commands: &[&[&str]] = &[
        &["gate"],
        &["build"],
        &["scan"],
        &["push"],
        &["migrate"],
        &["deploy", "ecs"],
        &["deploy", "railway"],
        &["publish"],
        &["run"],
    ];
    let values: Vec<OsString> = [
        "",
        "0",
        "-1",
        "18446744073709551616",
        "2562047788015215 hours",
        "9223372036854775807",
        "::error::x",
        "/",
        "../../..",
        "postgresql://a:b#c@d@/x",
        "mysql://root@localhost/db",
    ]
    .iter()
    .map(OsString::from)
    .chain([
        OsString::from_vec(vec![0xff, 0xfe, b'x']),
        OsString::from("x".repeat(100_000)),
    ])
    .collect();
    let mut cases = Vec::new();
    for command in commands {
        let mut argvs: Vec<Vec<OsString>> = values.iter().map(|v| vec![v.clone()]).collect();
        for flag in flags(command) {
            for v in &values {
                argvs.push(vec![OsString::from(&flag), v.clone()]);
            }
        }
        argvs.push(vec![OsString::from(
            "-vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv",
        )]);
        for argv in argvs {
            let mut args: Vec<OsString> = command.iter().map(OsString::from).collect();
            args.push("--dry-run".into());
            args.extend(argv.iter().cloned());
            cases.push(Case {
                config: config.to_vec(),
                args,
            });
        }
    }
    let (tried, failures) = run_all(cases);
    eprintln!(
        "garbage argument lists tried: {tried}, panics: {}",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{tried} tried:\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn a_panic_is_one_line_and_exit_3_with_the_backtrace_only_on_request() {
    let p = Project::new();
    let r = p
        .gantry()
        .env("GANTRY_PANIC_FOR_TESTS", "1")
        .args(["gate"])
        .run()
        .code(3);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("internal error: a panic on purpose")
            && r.stderr.trim_end().ends_with("please report it"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let r = p
        .gantry()
        .env("GANTRY_PANIC_FOR_TESTS", "1")
        .env("RUST_BACKTRACE", "1")
        .args(["gate"])
        .run()
        .code(3);
    assert!(r.stderr.lines().count() > 3, "a backtrace: {}", r.stderr);
}

#[test]
fn durations_past_a_week_are_refused_at_load_with_the_line() {
    let p = project();
    for (toml, command, line) in [
        (
            "[gates.g]\nrun = \"true\"\ntimeout = 9223372036854775807\n",
            "gate",
            3,
        ),
        (
            "[gates.g]\nrun = \"true\"\ntimeout = \"2562047788015215 hours\"\n",
            "gate",
            3,
        ),
        ("[scan]\ntimeout = \"2562047788015215 hours\"\n", "scan", 2),
        ("[migrate]\nlock-timeout = \"8 days\"\n", "migrate", 2),
    ] {
        p.write("gantry.toml", toml);
        let r = isolated(&p).args([command, "--dry-run"]).run().code(2);
        assert!(
            r.stderr.contains(&format!("gantry.toml:{line}:"))
                && r.stderr.contains("longer than the most gantry accepts"),
            "{toml}: {}",
            r.stderr
        );
    }
    let r = isolated(&p)
        .args([
            "migrate",
            "--dry-run",
            "--lock-timeout",
            "2562047788015215hours",
        ])
        .run()
        .code(2);
    assert!(r.stderr.contains("longer than the most"), "{}", r.stderr);
}

/// A password with an unencoded `@` or `#` is masked whole in every format,
/// and the URL is refused as malformed instead of reading part of the
/// password as the host.
#[test]
fn a_malformed_database_url_is_refused_without_showing_any_part_of_the_password() {
    let p = project();
    p.write("gantry.toml", "[migrate]\n");
    let url = "postgresql://postgres:Hold#Pw@rd9@127.0.0.1:9/postgres";
    for format in ["human", "json", "github"] {
        for via_flag in [true, false] {
            let mut g = isolated(&p).args(["--format", format, "migrate"]);
            g = if via_flag {
                g.args(["--db-url", url])
            } else {
                g.env("SUPABASE_DB_URL", url)
            };
            let r = g.run().code(2);
            // `::add-mask::` lines carry the secret to the runner, which hides them.
            let all: String = r
                .all()
                .lines()
                .filter(|l| !l.starts_with("::add-mask::"))
                .map(|l| format!("{l}\n"))
                .collect();
            // (`%` itself is escaped as `%25` in a GitHub annotation.)
            assert!(
                all.contains("malformed") && (all.contains("%40") || all.contains("%2540")),
                "{all}"
            );
            for part in ["Hold", "Pw@", "rd9"] {
                assert!(
                    !all.contains(part),
                    "{format}, flag {via_flag}: {part} in\n{all}"
                );
            }
        }
    }
}

/// A gate gets the secrets it declares and the rest of the environment, but
/// not the other secrets in gantry's environment.
#[test]
fn a_gate_gets_only_the_secrets_it_declares() {
    let p = project();
    p.write(
        "gantry.toml",
        "[gates.g]\nrun = 'echo \"rt=${RAILWAY_TOKEN:-unset} db=${SUPABASE_DB_URL:-unset} gh=${GITHUB_TOKEN:-unset} key=${MY_API_KEY:+set} plain=$PLAIN_VAR\"; exit 1'\nsecrets = [\"MY_API_KEY\"]\n",
    );
    let r = p
        .gantry()
        .env("RAILWAY_TOKEN", "railway-token-value")
        .env("SUPABASE_DB_URL", "postgresql://u:db-password@h/db")
        .env("GITHUB_TOKEN", "ghs_token_value")
        .env("MY_API_KEY", "declared-key-value")
        .env("PLAIN_VAR", "kept")
        .args(["gate"])
        .run()
        .code(1);
    assert!(
        r.all()
            .contains("rt=unset db=unset gh=unset key=set plain=kept"),
        "{}",
        r.all()
    );
}

#[test]
fn a_gantry_toml_that_is_a_directory_is_called_one() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("gantry.toml")).unwrap();
    let r = p.gantry().args(["gate"]).run().code(2);
    assert!(
        r.stderr
            .contains("gantry.toml is a directory, not a configuration file"),
        "{}",
        r.stderr
    );
}

/// An empty `gantry.toml` used to pass `gate`, `build` and `push` silently,
/// as if every check had run; each says there is nothing to do.
#[test]
fn an_empty_configuration_says_there_is_nothing_to_do() {
    let p = Project::new();
    p.write("gantry.toml", "");
    let r = p.gantry().args(["gate"]).run().code(0);
    assert!(
        r.stderr.contains("nothing to do:") && r.stderr.contains("has no [gates.<name>] section"),
        "{}",
        r.stderr
    );
}

/// A `supabase/` without `migrations/` has nothing to apply, so nothing to
/// ask the database: an unreachable one does not fail the step.
#[test]
fn migrate_without_a_migrations_folder_says_nothing_to_do_without_connecting() {
    let p = Project::new();
    p.write("supabase/config.toml", "");
    p.commit("init");
    let r = p
        .gantry()
        .args([
            "migrate",
            "--db-url",
            "postgresql://postgres:pw@127.0.0.1:9/postgres",
            "--format",
            "json",
        ])
        .run()
        .code(0);
    assert!(
        r.stderr
            .contains("nothing to do: supabase/migrations does not exist"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("cannot be reached"), "{}", r.stderr);
    assert_eq!(r.json()["detail"]["database"]["configured"], true);
}

/// A gate's log is written under `.gantry/logs/` before any state is saved;
/// a run killed mid-gate must still leave nothing for `git status` to show,
/// and a finished run names the log in the JSON document.
#[test]
fn gate_logs_stay_out_of_git_even_when_the_run_dies_and_the_document_names_them() {
    let p = Project::new();
    let secs = format!("{}", 700_000 + std::process::id() % 99_999);
    p.write(
        "gantry.toml",
        &format!("[gates.slow]\nrun = \"echo started; touch started; sleep {secs}\"\n\n[gates.quick]\nrun = \"echo quick\"\n"),
    );
    p.write(".gitignore", "started\n");
    p.commit("init");
    let mut child = p.gantry().args(["gate", "slow"]).spawn();
    for _ in 0..1200 {
        if p.path().join("started").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(p.path().join(".gantry/logs/gate-slow.log").exists());
    child.kill().unwrap(); // SIGKILL: no state is saved
    child.wait().unwrap();
    // The gate's own group outlives a SIGKILLed gantry: end it by its pid.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&ps.stdout).lines() {
        if line.contains(&format!("sleep {secs}"))
            && let Some(pid) = line.split_whitespace().next().and_then(|p| p.parse().ok())
        {
            // SAFETY: kill(2) on a process this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    assert!(!p.path().join(".gantry/state.json").exists());
    let status = p.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(status, "", "the log is ignored");

    let r = p
        .gantry()
        .args(["gate", "quick", "--format", "json"])
        .run()
        .code(0);
    let log = r.json()["detail"]["gates"][0]["log"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(log.ends_with(".gantry/logs/gate-quick.log"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "quick\n");
}

/// In a GitHub runner (`GITHUB_ACTIONS=true`) the runner reads workflow
/// commands from stdout and stderr whatever `--format` says: a gate's
/// output is as inert in human and json formats as in github format.
#[test]
fn in_a_runner_every_format_keeps_third_party_workflow_commands_inert() {
    use crate::support::workflow_commands::processed;
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.evil]\nrun = '''printf '%s\\n' '::set-output name=image::evil' 'x ##[add-mask]gantry' '::error file=forged.py::forged' '::stop-commands::pwned'\nexit 1'''\n",
    );
    p.commit("init");
    for format in ["human", "json"] {
        let r = p
            .gantry()
            .env("GITHUB_ACTIONS", "true")
            .args(["gate", "--format", format])
            .run()
            .code(1);
        assert!(
            r.all().contains("::set-output name=image::evil"),
            "{format}: the text is still shown:\n{}",
            r.all()
        );
        for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            let cmds = processed(text);
            let tokens: Vec<String> = cmds
                .iter()
                .filter(|c| c.name == "stop-commands")
                .map(|c| c.data.to_lowercase())
                .collect();
            let effective: Vec<_> = cmds
                .iter()
                .filter(|c| c.name != "stop-commands" && !tokens.contains(&c.name))
                .collect();
            assert!(
                effective.is_empty(),
                "{format} {stream}: {effective:#?}\n{text}"
            );
        }
    }
}

/// `gantry gate -- CMD` runs one command as a gate, without gantry.toml:
/// its exit code is the gate's verdict, as for any gate.
#[test]
fn a_one_off_gate_runs_without_a_configuration_and_fails_as_a_gate() {
    let p = Project::new();
    let r = p
        .gantry()
        .args([
            "gate",
            "--format",
            "json",
            "--",
            "sh",
            "-c",
            "echo from-the-gate; exit 3",
        ])
        .run()
        .code(1);
    assert!(
        r.stderr.contains("no gantry.toml found: using defaults"),
        "{}",
        r.stderr
    );
    let doc = r.json();
    let gate = &doc["detail"]["gates"][0];
    assert_eq!(gate["name"], "sh", "{doc}");
    assert_eq!(gate["status"], "failed", "{doc}");
    assert_eq!(gate["exit_code"], 3, "{doc}");
    assert_eq!(doc["outputs"]["gates-failed"], "sh", "{doc}");
    assert!(r.stderr.contains("from-the-gate"), "{}", r.stderr);

    let r = p.gantry().args(["gate", "--", "true"]).run().code(0);
    assert!(r.stdout.contains("true"), "{}", r.stdout);
    // Not a one-off and no gantry.toml: still the usage error it was.
    p.gantry().args(["gate"]).run().code(2);
}

/// Beside a gantry.toml, the one-off runs alone (a configured gate only when
/// named); JUnit reports are read only when asked for; `--timeout` applies.
#[test]
fn a_one_off_gate_beside_a_configuration_reads_junit_only_when_asked() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.broken]\nrun = \"exit 1\"\n");
    p.commit("init");
    let write_report = "mkdir -p reports; printf '%s' '<testsuite><testcase classname=\"c\" name=\"t\"><failure message=\"boom\"/></testcase></testsuite>' > reports/junit.xml";
    p.gantry()
        .args(["gate", "--", "sh", "-c", write_report])
        .run()
        .code(0);
    let r = p
        .gantry()
        .args([
            "gate",
            "--format",
            "json",
            "--junit",
            "reports/junit.xml",
            "--",
            "sh",
            "-c",
            write_report,
        ])
        .run()
        .code(1);
    let doc = r.json();
    assert_eq!(doc["detail"]["gates"].as_array().unwrap().len(), 1, "{doc}");
    assert_eq!(doc["detail"]["gates"][0]["tests"]["failed"], 1, "{doc}");
    // A named configured gate runs beside it.
    let r = p
        .gantry()
        .args(["gate", "broken", "--format", "json", "--", "true"])
        .run()
        .code(1);
    let names: Vec<String> = r.json()["detail"]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["broken", "true"]);
    let r = p
        .gantry()
        .args([
            "gate",
            "--format",
            "json",
            "--timeout",
            "1s",
            "--",
            "sleep",
            "600",
        ])
        .run()
        .code(1);
    assert_eq!(
        r.json()["detail"]["gates"][0]["status"],
        "timed-out",
        "{}",
        r.stdout
    );
    // The flags of a one-off need the one-off.
    p.gantry().args(["gate", "--junit", "x.xml"]).run().code(2);
}
