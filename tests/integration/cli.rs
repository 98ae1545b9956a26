//! The command line, configuration errors and exit codes.

use crate::support::{Gantry, Project};

#[test]
fn help_lists_only_commands_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let r = Gantry::new(dir.path()).args(["--help"]).run().code(0);
    let commands: Vec<&str> = r
        .stdout
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "gate", "build", "scan", "push", "migrate", "deploy", "publish", "run", "init", "help"
        ]
    );
}

#[test]
fn version_prints_the_crate_version() {
    let dir = tempfile::tempdir().unwrap();
    let r = Gantry::new(dir.path()).args(["--version"]).run().code(0);
    assert_eq!(
        r.stdout.trim(),
        format!("gantry {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    Gantry::new(dir.path())
        .args(["gate", "--nope"])
        .run()
        .code(2);
}

#[test]
fn a_typo_in_gantry_toml_names_file_line_column_and_the_fix() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.api]\nrun = \"true\"\n\n[gates.web]\nrun = \"true\"\ntimout = \"5s\"\n",
    );
    let r = p.gantry().args(["gate"]).run().code(2);
    assert!(
        r.stderr
            .contains("gantry.toml:6:1: unknown key `timout` in [gates.web]"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("6 | timout = \"5s\""), "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: did you mean `timeout`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_directory_is_a_located_error() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.api]\nrun = \"true\"\ndir = \"nowhere\"\n",
    );
    let r = p.gantry().args(["gate"]).run().code(2);
    assert!(
        r.stderr
            .contains("gantry.toml:3:7: gates.api.dir: `nowhere` is not a directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_config_is_found_from_a_subdirectory_and_by_flag() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.ok]\nrun = \"pwd\"\n");
    p.write("deep/er/file", "");
    let r = crate::support::Gantry::new(&p.path().join("deep/er"))
        .args(["gate", "-v"])
        .run()
        .code(0);
    // Gates run in the project root, not in the current directory.
    assert!(
        r.stderr.contains(&format!("| {}", p.path().display())),
        "{}",
        r.stderr
    );

    let elsewhere = tempfile::tempdir().unwrap();
    crate::support::Gantry::new(elsewhere.path())
        .args(["gate"])
        .run()
        .code(2);
    let cfg = p.path().join("gantry.toml");
    crate::support::Gantry::new(elsewhere.path())
        .args(["--config", cfg.to_str().unwrap(), "gate"])
        .run()
        .code(0);
}

#[test]
fn an_unknown_gate_name_suggests_the_closest() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.api-tests]\nrun = \"true\"\n");
    let r = p.gantry().args(["gate", "api-test"]).run().code(2);
    assert!(
        r.stderr.contains("no gate named `api-test`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did you mean `api-tests`?"),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_codes_distinguish_pass_fail_usage_and_outside_failures() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.ok]\nrun = \"true\"\n[gates.bad]\nrun = \"exit 4\"\n",
    );
    p.gantry().args(["gate", "ok"]).run().code(0);
    p.gantry().args(["gate"]).run().code(1);
    p.gantry().args(["gate", "--jobs", "0"]).run().code(2);
    // $GITHUB_OUTPUT that cannot be written: the outside world failed, exit 3.
    let r = p
        .gantry()
        .args(["gate", "ok"])
        .env("GITHUB_OUTPUT", "/proc/gantry-cannot-write-here")
        .run()
        .code(3);
    assert!(
        r.stderr
            .contains("cannot write /proc/gantry-cannot-write-here"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_corrupt_state_file_is_an_outside_failure_with_a_hint() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.ok]\nrun = \"true\"\n");
    p.write(".gantry/state.json", "{broken");
    let r = p.gantry().args(["gate"]).run().code(3);
    assert!(
        r.stderr
            .contains(".gantry/state.json is not a gantry state file"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: delete it"), "{}", r.stderr);
}

#[test]
fn colour_follows_flags_and_no_color() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.bad]\nrun = \"exit 1\"\n");
    let r = p.gantry().args(["gate", "--color", "always"]).run();
    assert!(r.stderr.contains("\u{1b}["), "{}", r.stderr);
    let r = p.gantry().args(["gate"]).env("FORCE_COLOR", "1").run();
    assert!(r.stderr.contains("\u{1b}["), "{}", r.stderr);
    let r = p
        .gantry()
        .args(["gate"])
        .env("FORCE_COLOR", "1")
        .env("NO_COLOR", "1")
        .run();
    assert!(!r.stderr.contains("\u{1b}["), "{}", r.stderr);
}

#[test]
fn json_format_reports_errors_as_one_document_too() {
    let p = Project::new();
    p.write("gantry.toml", "[gates.api]\nrun = 1\n");
    let r = p.gantry().args(["gate", "--format", "json"]).run().code(2);
    let doc = r.json();
    assert_eq!(doc["exit_code"], 2);
    assert!(
        doc["error"].as_str().unwrap().contains("gantry.toml:2:7"),
        "{doc}"
    );
}

#[test]
fn a_deploy_section_names_exactly_one_platform_with_its_own_keys() {
    let p = Project::new();
    let cases = [
        (
            "[deploy.api]\necs = { cluster = \"c\", service = \"s\" }\nrailway = { service = \"w\" }\n",
            "deploy.api names two platforms",
        ),
        (
            "[deploy.api]\ncontainers = { api = \"api\" }\n",
            "deploy.api names no platform",
        ),
        (
            "[deploy.api]\necs = { cluster = \"c\", service = \"s\" }\nimage = \"api\"\n",
            "`image` and `timeout` are Railway keys",
        ),
        (
            "[deploy.w]\nrailway = { service = \"w\" }\nimage = \"api\"\ncontainers = { w = \"api\" }\n",
            "`containers` is an ECS key",
        ),
    ];
    for (config, message) in cases {
        p.write("gantry.toml", config);
        let r = p.gantry().args(["run"]).run().code(2);
        assert!(r.stderr.contains(message), "{config}\n{}", r.stderr);
        assert!(r.stderr.contains("gantry.toml:1:1:"), "{}", r.stderr);
    }
}
