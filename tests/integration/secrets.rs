//! Secrets never reach any output: logs, errors, annotations, JSON, outputs,
//! step summary, state.

use crate::support::{Project, Runner};
use serde_json::json;

const SECRET: &str = "sk_live_51HxQ-very-secret";

fn leaky_project() -> Project {
    let p = Project::new();
    // The gate prints its secret, fails with it in a located message, and
    // writes it into a JUnit failure.
    p.write(
        "gantry.toml",
        r#"[gates.leaky]
run = "echo token=$STRIPE_KEY; echo \"app.py:1:1: bad key $STRIPE_KEY\"; mkdir -p r; printf '<testsuite><testcase name=\"t\"><failure message=\"got %s\"/></testcase></testsuite>' \"$STRIPE_KEY\" > r/j.xml; exit 1"
secrets = ["STRIPE_KEY"]
junit = "r/j.xml"
matcher = "generic"
"#,
    );
    p.write("app.py", "key = 1\n");
    p.commit("init");
    p
}

#[test]
fn a_gate_secret_is_masked_in_github_and_absent_from_every_file() {
    let p = leaky_project();
    let runner = Runner::new();
    let sha = p.git(&["rev-parse", "HEAD"]);
    let r = p
        .gantry()
        .args(["gate"])
        .env("STRIPE_KEY", SECRET)
        .envs(runner.env("workflow_dispatch", json!({}), &sha))
        .run()
        .code(1);
    let masks = r.commands("::add-mask::");
    assert!(
        masks.contains(&format!("::add-mask::{SECRET}")),
        "{masks:?}"
    );
    let before_mask = r.stdout.split("::add-mask::").next().unwrap();
    assert!(!before_mask.contains(SECRET));
    let after_masks: String = r
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!after_masks.contains(SECRET), "{after_masks}");
    assert!(after_masks.contains("token=***"), "{after_masks}");
    assert!(
        r.commands("::error")
            .iter()
            .any(|e| e.contains("bad key ***")),
        "{}",
        r.stdout
    );
    assert!(
        r.commands("::error").iter().any(|e| e.contains("got ***")),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains(SECRET));
    for (what, text) in [
        ("outputs", runner.outputs_text()),
        ("summary", runner.summary()),
        ("state", runner.state()),
    ] {
        assert!(!text.is_empty(), "{what} was written");
        assert!(!text.contains(SECRET), "{what} leaks the secret:\n{text}");
    }
}

#[test]
fn secrets_are_redacted_in_human_and_json_formats() {
    let p = leaky_project();
    let r = p
        .gantry()
        .args(["gate", "-v"])
        .env("STRIPE_KEY", SECRET)
        .run()
        .code(1);
    assert!(!r.all().contains(SECRET), "{}", r.all());
    assert!(r.stderr.contains("token=***"), "{}", r.stderr);

    let r = p
        .gantry()
        .args(["gate", "--format", "json"])
        .env("STRIPE_KEY", SECRET)
        .run()
        .code(1);
    assert!(!r.all().contains(SECRET));
    let doc = r.json();
    assert_eq!(
        doc["detail"]["gates"][0]["failures"][0]["message"],
        "got ***"
    );
}

#[test]
fn secret_looking_environment_variables_are_redacted_without_being_declared() {
    let p = Project::new();
    p.write(
        "gantry.toml",
        "[gates.env]\nrun = \"echo $GITHUB_TOKEN $DATABASE_URL; exit 1\"\n",
    );
    p.commit("init");
    let token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
    let r = p
        .gantry()
        .args(["gate"])
        .env("GITHUB_TOKEN", token)
        .env(
            "DATABASE_URL",
            "postgres://app:Sup3r-S3cret@db.internal:5432/app",
        )
        .run()
        .code(1);
    assert!(!r.all().contains(token), "{}", r.all());
    assert!(!r.all().contains("Sup3r-S3cret"), "{}", r.all());
}

#[test]
fn a_declared_secret_that_is_not_set_is_a_usage_error_naming_it() {
    let p = leaky_project();
    let r = p.gantry().args(["gate"]).run().code(2);
    assert!(
        r.stderr
            .contains("gate `leaky` needs the secret STRIPE_KEY, which is not set"),
        "{}",
        r.stderr
    );
}
