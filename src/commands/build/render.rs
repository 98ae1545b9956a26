//! What `gantry build` shows: a failed build's reason, log tail and
//! annotation, the image table and the step summary.

use super::{BuiltImage, Session};
use crate::docker::request::Failure;
use crate::error::{ConfigError, Error};
use crate::gate::location;
use crate::output::github::{Annotation, Level};
use crate::report::Verdict;
use crate::settings::images::Image;
use std::time::Duration;

/// Prints and annotates a failed build; returns a one-line reason. Bad input
/// (a Dockerfile that does not parse, an unsendable file) and engine failures
/// become the step's error instead of a "no".
pub(super) fn report_failure(
    session: &Session,
    image: &Image,
    failure: &Failure,
    fatal: &mut Option<Error>,
) -> String {
    let printer = session.printer;
    let dockerfile = location::repo_relative(
        &image.dockerfile.to_string_lossy(),
        &session.project.root,
        &session.repo_root,
    );
    match failure {
        Failure::Step {
            step,
            instruction,
            line,
            message,
            tail,
        } => {
            printer.outcome(
                Some(false),
                &format!("✗ {} failed at step {step}: {instruction}", image.name),
            );
            printer.group(
                &format!("{}: last lines of step {step}", image.name),
                &tail.join("\n"),
            );
            // The reason first: a one-line rendering shows only the first line.
            let mut a = Annotation::new(Level::Error, format!("{message}\nin: {instruction}"))
                .titled(format!("{}: build step {step} failed", image.name));
            a = a.at(dockerfile, line.map(|l| l as u32), None);
            printer.annotate(a);
            message.clone()
        }
        Failure::Syntax { line, message } => {
            let snippet = line.and_then(|l| {
                std::fs::read_to_string(&image.dockerfile)
                    .ok()?
                    .lines()
                    .nth(l.checked_sub(1)?)
                    .map(str::to_string)
            });
            printer.annotate(
                Annotation::new(Level::Error, message.clone())
                    .at(dockerfile, line.map(|l| l as u32), None)
                    .titled(format!("{}: Dockerfile", image.name)),
            );
            fatal.get_or_insert(Error::from(ConfigError {
                path: image.dockerfile.clone(),
                line: *line,
                column: None,
                message: message.clone(),
                snippet,
                hint: Some("fix the Dockerfile".into()),
            }));
            message.clone()
        }
        Failure::Context(e) => {
            let text = format!("{}: {}", e.path.display(), e.message);
            fatal.get_or_insert(Error::usage(text.clone(), Some(e.hint.clone())));
            text
        }
        Failure::Engine(message) => {
            let mut e = Error::external("Docker", format!("building {}: {message}", image.name));
            let lower = message.to_lowercase();
            if lower.contains("401 unauthorized") || lower.contains("403 forbidden") {
                e = e.with_hint("a base or cache image needs a login: set the variables of [registries.\"<host>\"] in gantry.toml (GITHUB_TOKEN for ghcr.io)");
            }
            fatal.get_or_insert(e);
            message.clone()
        }
    }
}

pub(super) fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

pub(super) fn seconds(d: Duration) -> String {
    crate::gate::format_duration(d)
}

pub(super) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub(super) fn table(outcomes: &[BuiltImage]) -> String {
    let rows: Vec<[String; 4]> = outcomes
        .iter()
        .map(|o| {
            [
                o.image.clone(),
                match (o.built, &o.error) {
                    (true, _) => "built",
                    (false, Some(e)) if e.starts_with("cancelled") => "cancelled",
                    (false, _) => "failed",
                }
                .to_string(),
                o.image_id.as_deref().map_or("-", short_id).to_string(),
                o.tags.join(", "),
            ]
        })
        .collect();
    crate::output::table::aligned(["image", "result", "id", "tags"], &rows)
}

pub(super) fn markdown(outcomes: &[BuiltImage], verdict: Verdict) -> String {
    let mut md = format!(
        "### gantry build: {}\n\n| Image | Result | Image id | Tags | Context |\n|---|---|---|---|---|\n",
        verdict.as_str()
    );
    for o in outcomes {
        let result = match (&o.error, o.built) {
            (_, true) => "✅ built".to_string(),
            (Some(e), false) => {
                format!("❌ {}", e.lines().next().unwrap_or("").replace('|', "\\|"))
            }
            (None, false) => "❌ failed".to_string(),
        };
        md.push_str(&format!(
            "| {} | {result} | `{}` | {} | {} files, {} |\n",
            o.image,
            o.image_id.as_deref().map_or("-", short_id),
            o.tags
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(" "),
            o.files,
            human_bytes(o.bytes)
        ));
    }
    md.push('\n');
    md
}
