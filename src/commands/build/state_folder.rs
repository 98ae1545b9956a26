//! gantry's state folder (`.gantry/`, next to gantry.toml) changes on every
//! run. Inside a build context it changes the context, so no build is ever
//! cached. gantry keeps Docker's `.dockerignore` rules exactly and never
//! leaves the folder out on its own: it says, once per ignore file, which
//! line to add (`gantry init` adds it).

use crate::docker::context::{self, Context};
use crate::output::Printer;
use crate::output::github::{Annotation, Level};
use crate::paths::{lexical, slashed};
use crate::settings::images::Image;
use std::path::{Path, PathBuf};

/// Warns when the state file would travel in an image's build context.
pub(super) fn warn_if_in_context(
    printer: &Printer,
    state_path: &Path,
    images: &[Image],
    repo_root: &Path,
) {
    let state_path = lexical(state_path);
    // The ignore file, the line to add, and the images it concerns.
    let mut found: Vec<(PathBuf, String, Vec<&str>)> = Vec::new();
    for image in images {
        let context_dir = lexical(&image.context);
        let Ok(rel) = state_path.strip_prefix(&context_dir) else {
            continue;
        };
        // An unreadable or invalid ignore file fails the build itself.
        let Ok(ctx) = Context::filtered(&context_dir, &image.dockerfile) else {
            continue;
        };
        if ctx.ignore.is_excluded(&slashed(rel)) {
            continue;
        }
        let file = context::ignore_file(&context_dir, &image.dockerfile)
            .unwrap_or_else(|| context_dir.join(".dockerignore"));
        let line = rel.parent().map(slashed).unwrap_or_default();
        match found.iter_mut().find(|(f, ..)| *f == file) {
            Some((.., names)) => names.push(&image.name),
            None => found.push((file, line, vec![&image.name])),
        }
    }
    for (file, line, names) in found {
        let shown = file
            .strip_prefix(repo_root)
            .unwrap_or(&file)
            .display()
            .to_string();
        printer.annotate(
            Annotation::new(
                Level::Warning,
                format!(
                    "gantry's state folder `{line}/` is in the build context and changes on every run, so no build is ever cached: add the line `{line}` to {shown} (`gantry init` does)"
                ),
            )
            .at(shown.clone(), None, None)
            .titled(format!("{}: build cache", names.join(", "))),
        );
    }
}
