//! `gantry init`: proposes workflows from the templates and a `gantry.toml`
//! for the repository, and writes them; never overwrites a file silently.
//! `--check` writes nothing and fails when committed workflows drifted.
//!
//! Not a pipeline step: it needs no `gantry.toml`, so it runs before a
//! session is opened.

use crate::cli::InitArgs;
use crate::docker::{self, ignore::DockerIgnore};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::git;
use crate::init::detect::Facts;
use crate::init::{self, Template, WorkflowVars};
use crate::output::Printer;
use crate::report::{Outcome, Verdict};
use serde_json::json;
use std::path::{Path, PathBuf};

/// One file init would write, with what is there now.
struct Proposal {
    rel: String,
    text: String,
    current: Option<String>,
}

impl Proposal {
    fn diff(&self) -> String {
        let current = self.current.as_deref().unwrap_or("");
        similar::TextDiff::from_lines(current, &self.text)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", self.rel), &format!("b/{}", self.rel))
            .to_string()
    }
}

pub fn cmd_init(
    args: &InitArgs,
    env: &Environment,
    printer: &Printer,
    cwd: &Path,
) -> Result<Outcome> {
    if args.list {
        let rows: Vec<String> = Template::ALL
            .iter()
            .map(|t| format!("{:<20} {}", t.name(), t.describe()))
            .collect();
        printer.result(&rows.join("\n"));
        return Ok(Outcome::Init {
            verdict: Verdict::Passed,
            detail: json!({
                "templates": Template::ALL.iter().map(|t| json!({"name": t.name(), "file": t.file(), "description": t.describe()})).collect::<Vec<_>>(),
            }),
        });
    }
    let root = repository_root(args.dir.as_deref().map(|d| cwd.join(d)).as_deref(), cwd);
    let facts = Facts::scan(&root);
    let templates = choose(args, &facts)?;
    let remote = env
        .get(crate::environment::GANTRY_ACTION_REMOTE)
        .unwrap_or(init::action::REMOTE);
    let action = action_ref(args, &facts, &root, remote)?;
    if let Some(note) = init::action::note(&action) {
        printer.warn(&note);
    }
    let proposals = propose(args, &facts, &templates, &root, &action.uses)?;

    if args.check {
        return Ok(check(printer, &proposals));
    }
    let differing: Vec<&Proposal> = proposals
        .iter()
        .filter(|p| p.current.as_ref().is_some_and(|c| *c != p.text))
        .collect();
    for p in &differing {
        printer.diff(&p.diff());
    }
    if !differing.is_empty() && !args.force {
        let names: Vec<&str> = differing.iter().map(|p| p.rel.as_str()).collect();
        return Err(Error::usage(
            format!(
                "{} would change ({}); nothing was written",
                names.join(", "),
                if names.len() == 1 {
                    "diff above"
                } else {
                    "diffs above"
                }
            ),
            Some("review the diff, then run `gantry init --force` to overwrite".into()),
        ));
    }
    let mut written = Vec::new();
    for p in &proposals {
        let status = match &p.current {
            Some(c) if *c == p.text => "unchanged",
            Some(_) => "overwritten",
            None => "created",
        };
        if status != "unchanged" {
            write(&root.join(&p.rel), &p.text)?;
        }
        printer.outcome(Some(true), &format!("{status} {}", p.rel));
        written.push(json!({"path": p.rel, "status": status}));
    }
    Ok(Outcome::Init {
        verdict: Verdict::Passed,
        detail: json!({
            "templates": templates.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "action": action.uses,
            "files": written,
        }),
    })
}

/// The named templates, or those the repository calls for.
fn choose(args: &InitArgs, facts: &Facts) -> Result<Vec<Template>> {
    // A named template is written whatever the repository holds: what init
    // cannot find stands as a placeholder.
    if !args.templates.is_empty() {
        let mut t = args.templates.clone();
        t.sort();
        t.dedup();
        return Ok(t);
    }
    let nothing = facts.proposals().is_empty();
    if nothing {
        return Err(Error::usage(
            "nothing deployable here: no Dockerfile with a deploy target, ECS task definition, Supabase migrations or SDK package",
            Some(format!(
                "gantry init writes one of these templates: {}",
                Template::choices()
            )),
        ));
    }
    if args.check {
        // What was committed: the templates whose workflow files exist.
        let present: Vec<Template> = Template::ALL
            .into_iter()
            .filter(|t| facts.workflows.contains(&t.file()))
            .collect();
        if !present.is_empty() {
            return Ok(present);
        }
    }
    Ok(facts.proposals())
}

/// The gantry action the workflows use (see [`init::action`]).
fn action_ref(
    args: &InitArgs,
    facts: &Facts,
    root: &Path,
    remote: &str,
) -> Result<init::action::ActionRef> {
    if let Some(value) = &args.action_ref {
        init::action::check_flag(value).map_err(|why| {
            Error::usage(
                format!("--action-ref: {why}"),
                Some(format!(
                    "give OWNER/REPO@REF, the ref a full commit SHA: `--action-ref {}@<commit>`",
                    init::action::REPOSITORY
                )),
            )
        })?;
    }
    let mut committed = Vec::new();
    for file in &facts.workflows {
        if let Some(text) = read(&root.join(".github/workflows").join(file))? {
            committed.push((file.clone(), text));
        }
    }
    Ok(init::action::resolve(
        args.action_ref.as_deref(),
        &committed,
        remote,
    ))
}

fn propose(
    args: &InitArgs,
    facts: &Facts,
    templates: &[Template],
    root: &Path,
    action: &str,
) -> Result<Vec<Proposal>> {
    let render_err = |e: init::RenderError| Error::external("template", e.to_string());
    let mut out = Vec::new();
    for &t in templates {
        let vars = WorkflowVars {
            branch: args.branch.clone(),
            action: action.to_string(),
            setup: match t {
                Template::SdkRelease if facts.python.iter().any(|p| p.sdk) => {
                    vec!["python -m pip install build".into()]
                }
                Template::SdkRelease => Vec::new(),
                _ => facts.setup(),
            },
            images: facts.dockerfiles.iter().map(|d| d.image.clone()).collect(),
        };
        let rel = format!(".github/workflows/{}", t.file());
        out.push(Proposal {
            text: init::render(t, &vars).map_err(render_err)?,
            current: read(&root.join(&rel))?,
            rel,
        });
    }
    out.extend(dockerignores(facts, root)?);
    // gantry.toml is the user's to edit: `--check` does not look at it.
    if !args.check {
        let rel = "gantry.toml".to_string();
        out.push(Proposal {
            text: init::config::render(facts, templates, &given(args)).map_err(render_err)?,
            current: read(&root.join(&rel))?,
            rel,
        });
    }
    Ok(out)
}

fn given(args: &InitArgs) -> init::config::Given {
    init::config::Given {
        cluster: args.cluster.clone(),
        service: args.service.clone(),
        container: args.container.clone(),
        railway_project: args.railway_project.clone(),
    }
}

/// The line a .dockerignore needs for gantry's state folder, with why.
const STATE_LINES: &str = "# gantry's pipeline state: it changes on every run, so in the build\n# context it would defeat the build cache (written by `gantry init`)\n.gantry\n";

/// The ignore file of each build context that holds gantry's state folder
/// (`.gantry/`, next to gantry.toml; see `state::path`), with `.gantry`
/// added unless the file already leaves the folder out. `gantry build`
/// warns about the same thing (`commands/build/state_folder.rs`).
fn dockerignores(facts: &Facts, root: &Path) -> Result<Vec<Proposal>> {
    let mut out: Vec<Proposal> = Vec::new();
    for d in &facts.dockerfiles {
        // Contexts found in the repository are "." or folders below it, and
        // only the root holds `.gantry/`.
        if d.context != "." {
            continue;
        }
        let dockerfile = root.join(d.dockerfile.as_deref().unwrap_or("Dockerfile"));
        let file = docker::context::ignore_file(root, &dockerfile)
            .unwrap_or_else(|| root.join(".dockerignore"));
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if out.iter().any(|p| p.rel == rel) {
            continue;
        }
        let current = read(&file)?;
        let text = match current.as_deref().map(DockerIgnore::parse) {
            // `gantry build` reports a pattern Docker would refuse.
            Some(Err(_)) => continue,
            Some(Ok(ignore)) if ignore.is_excluded(".gantry/state.json") => {
                current.clone().unwrap_or_default()
            }
            _ => {
                let mut text = current.clone().unwrap_or_default();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(STATE_LINES);
                text
            }
        };
        out.push(Proposal { rel, text, current });
    }
    Ok(out)
}

fn check(printer: &Printer, proposals: &[Proposal]) -> Outcome {
    let mut drifted = Vec::new();
    for p in proposals {
        match &p.current {
            Some(c) if *c == p.text => printer.outcome(Some(true), &format!("unchanged {}", p.rel)),
            _ => {
                printer.diff(&p.diff());
                printer.outcome(Some(false), &format!("drifted {}", p.rel));
                drifted.push(p.rel.clone());
            }
        }
    }
    if !drifted.is_empty() {
        printer.problem(&format!(
            "{} differ from what `gantry init` writes today; run `gantry init --force` to rewrite them, or keep your edits",
            drifted.join(", ")
        ));
    }
    Outcome::Init {
        verdict: if drifted.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        detail: json!({ "drifted": drifted }),
    }
}

fn repository_root(dir: Option<&Path>, cwd: &Path) -> PathBuf {
    let start = dir.unwrap_or(cwd);
    match dir {
        Some(d) => d.to_path_buf(),
        None => git::toplevel(start).unwrap_or_else(|| start.to_path_buf()),
    }
}

fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::external(
            "filesystem",
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::external(
            "filesystem",
            format!("cannot write {}: {e}", path.display()),
        )
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    std::fs::write(path, text).map_err(fail)
}
