//! Docker: build contexts, builds and pushes through the Docker Engine API
//! (bollard), and the pure rules gantry shares with the Docker tools.
//!
//! `ignore` decides which files of a build context the Docker CLI would send
//! (its `.dockerignore` rules, corner cases included), `context` walks and
//! streams them, `metadata` derives tags and OCI labels from the commit as
//! docker/metadata-action does, `dockerfile` maps build steps to lines,
//! `engine` connects, `build` builds one image (with `buildkit`, or the
//! classic builder) and `push` pushes one.

pub mod build;
pub mod buildkit;
pub mod context;
pub mod dockerfile;
pub mod engine;
pub mod ignore;
pub mod metadata;
pub mod push;
pub mod request;
