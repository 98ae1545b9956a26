//! The composite action (`action.yml`) in a real Actions runner: act, offline,
//! in self-hosted mode. gantry is installed the way a workflow installs it:
//! from a release folder served on 127.0.0.1, checked against the action's
//! checksum table.

use crate::support::act::{ActRepo, ReleaseServer, VERSION, gantry_bin, sha256_file};
use crate::support::require_tool;
use crate::support::services::{busybox_image, docker_available};

#[test]
fn installs_a_verified_release_runs_the_example_and_hands_on_its_outputs() {
    let Some(repo) = ActRepo::new() else { return };
    if require_tool("pytest").is_none() || require_tool("node").is_none() || !docker_available() {
        return;
    }
    assert_eq!(
        busybox_image(),
        "gantry-test/busybox:1",
        "the workflow names it"
    );
    let releases = ReleaseServer::start();
    let asset = releases.publish(VERSION, &gantry_bin());
    repo.copy_from_repo("examples/monorepo")
        .checksums(VERSION, &sha256_file(&asset))
        .workflow("dry-run.yml");
    let env = [("GANTRY_RELEASES_URL", releases.url.as_str())];

    let cold = repo.run("dry-run.yml", &env, None).code(0);
    cold.shows("downloading")
        .shows("verified")
        .shows("api-tests passed in")
        .shows("Plan (dry run: nothing remote was changed)")
        .shows("read verdict=passed exit-code=0 gates-passed=api-tests,dashboard-lint,dashboard-tests,sdk-tests first-migration=");
    assert_eq!(releases.fetched().len(), 1);
    let cached_binary = repo
        .tool_cache()
        .join(format!("gantry/{VERSION}/x64/gantry"));
    assert!(cached_binary.is_file(), "{}", cold.output);

    // The second run finds the tool cache and downloads nothing.
    let cached = repo.run("dry-run.yml", &env, None).code(0);
    cached.shows("from the tool cache");
    assert_eq!(releases.fetched().len(), 1);
    eprintln!(
        "install step: cold {:?}, cached {:?}",
        cold.step_time("\"$GITHUB_ACTION_PATH/dist/install\""),
        cached.step_time("\"$GITHUB_ACTION_PATH/dist/install\"")
    );
}

#[test]
fn a_tampered_asset_stops_the_job_before_gantry_runs() {
    let Some(repo) = ActRepo::new() else { return };
    let releases = ReleaseServer::start();
    // The table holds the real binary's sha256; the folder serves another
    // file, one that would leave a mark if it ever ran.
    let good = sha256_file(&gantry_bin());
    let asset = releases.folder.path().join(format!("v{VERSION}"));
    std::fs::create_dir_all(&asset).unwrap();
    let asset = asset.join(crate::support::act::asset(VERSION));
    let marker = repo.path().join("tampered-ran");
    std::fs::write(&asset, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    let bad = sha256_file(&asset);
    repo.copy_from_repo("examples/monorepo")
        .checksums(VERSION, &good)
        .workflow("dry-run.yml");
    let run = repo
        .run(
            "dry-run.yml",
            &[("GANTRY_RELEASES_URL", releases.url.as_str())],
            None,
        )
        .code(1);
    run.shows(&format!("expected sha256 {good}, got {bad}"))
        .shows("Nothing was run");
    assert!(!marker.exists(), "the tampered asset ran");
    assert!(!run.output.contains("gate passed"), "{}", run.output);
    assert!(
        !repo.tool_cache().join("gantry").exists(),
        "a tampered asset is not cached"
    );
}

/// A workspace with one gate, and gantry already on PATH (the first place
/// the action looks).
fn with_gate(repo: &ActRepo, run: &str) -> std::path::PathBuf {
    repo.write("gantry.toml", &format!("[gates.unit]\nrun = {run:?}\n"));
    repo.checksums(VERSION, &sha256_file(&gantry_bin()));
    gantry_bin().parent().unwrap().to_path_buf()
}

#[test]
fn hostile_inputs_are_data_and_a_usage_error() {
    let Some(repo) = ActRepo::new() else { return };
    let on_path = with_gate(&repo, "true");
    repo.workflow("injection.yml");
    let run = repo.run("injection.yml", &[], Some(&on_path)).code(0);
    run.shows("already on PATH")
        .shows("exit codes=2,2,2,2,2")
        .shows("working-directory is not a directory")
        .shows("unknown command input");
    assert!(
        !repo.anywhere("pwned"),
        "an input was evaluated:\n{}",
        run.output
    );
}

#[test]
fn a_failing_gate_fails_the_job_with_annotations_a_summary_and_exit_code_1() {
    let Some(repo) = ActRepo::new() else { return };
    let on_path = with_gate(&repo, "echo 'unit: assertion failed' >&2; exit 1");
    repo.workflow("gate-failure.yml");
    let run = repo.run("gate-failure.yml", &[], Some(&on_path)).code(1);
    run.shows("::error")
        .shows("Summary - ")
        .shows("after exit-code=1 verdict=failed gates-failed=unit")
        .shows("Job failed");
}
