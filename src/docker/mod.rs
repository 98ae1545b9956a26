//! Docker: the pure rules gantry shares with the Docker tools, so `gantry
//! build` and `gantry push` give the same answers without a daemon. `ignore`
//! decides which files of a build context the Docker CLI would send (its
//! `.dockerignore` rules, corner cases included), and `metadata` derives
//! image tags and OCI labels from the commit being built, as
//! docker/metadata-action does.

pub mod ignore;
pub mod metadata;
