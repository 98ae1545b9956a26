//! `gantry deploy railway`: roll out Railway services and wait for the truth.
//!
//! Plan first, with read-only queries: resolve project, environment and
//! service (names or ids), read the service's current image and latest
//! deployment, and refuse a redeploy Railway says cannot happen. `--dry-run`
//! prints that plan. A real run points each service at the digest `gantry
//! push` pushed (or redeploys), then watches every new deployment to its
//! verdict; a failed one shows its last build and runtime log lines.

use super::Session;
use crate::cli::{Commands, DeployArgs, DeployTarget};
use crate::driver::{Invocation, Ran, StepCommand};
use crate::error::{Error, Result};
use crate::output::github::{Annotation, Level};
use crate::railway::client::MAX_ATTEMPTS;
use crate::railway::resolve::{self, ResolveError, Resolved};
use crate::railway::watch::{self, DeployVerdict, Watched};
use crate::railway::{Client, RailwayError, ops};
use crate::report::{StepReport, Verdict};
use crate::runtime;
use crate::settings::config::{Config, Step};
use crate::settings::deploy_railway::{RailwayDeploy, RailwayMode, RailwaySettings, Source, Token};
use indexmap::IndexMap;
use serde_json::json;
use std::time::Instant;

/// Log lines shown per log (build, runtime) of a failed deployment.
const LOG_LINES: usize = 30;
/// Log lines repeated in a failed deployment's annotation.
const ANNOTATION_LINES: usize = 5;

mod render;

use render::{markdown, to_plan};

/// `gantry deploy railway`, for the driver.
pub struct DeployRailwayStep;

impl StepCommand for DeployRailwayStep {
    fn step(&self) -> Step {
        Step::DeployRailway
    }

    fn configured(&self, config: &Config) -> bool {
        config.deploy.values().any(|d| d.railway.is_some())
    }

    fn execute(&self, session: &Session, invocation: Invocation) -> Result<Ran> {
        let names: &[String] = match invocation {
            Invocation::Alone(Commands::Deploy(DeployArgs {
                target: DeployTarget::Railway(args),
            })) => args.names.as_slice(),
            _ => &[],
        };
        execute(session, names).map(Ran::Step)
    }
}

/// One deployment, planned.
struct Planned<'a> {
    deploy: &'a RailwayDeploy,
    /// `None` in a local dry run that could not reach Railway.
    resolved: Option<Resolved>,
    /// The image reference to deploy (image mode; `None` before `push` ran).
    image: Option<String>,
    /// Why Railway cannot do it (a redeploy without a redeployable deployment).
    refusal: Option<String>,
}

pub fn execute(session: &Session, names: &[String]) -> Result<StepReport> {
    let printer = session.printer;
    let settings = RailwaySettings::resolve(&session.project, session.env, names)?;
    if let Some(token) = &settings.token {
        printer.mask(token.value());
    }
    for d in &settings.deploys {
        if let Some((_, password)) = d.pull.as_ref().and_then(|p| p.values.as_ref()) {
            printer.mask(password);
        }
        check_pull(session, d)?;
    }
    let state = session.state()?;
    let mut images = Vec::new();
    for d in &settings.deploys {
        let image = match &d.source {
            Source::Image(name) => {
                let digest = state.pushed(name);
                if digest.is_none() && !session.dry_run {
                    return Err(Error::usage(
                        format!(
                            "deploy.{}: image `{name}` was not pushed in this pipeline (no digest in {})",
                            d.name,
                            session.state_path.display()
                        ),
                        Some("run `gantry push` first, or `gantry run` with push before deploy-railway".into()),
                    ));
                }
                digest.map(str::to_string)
            }
            Source::Mode(_) => None,
        };
        images.push(image);
    }
    // A laptop (or a pull request) has no Railway token: a dry run that
    // may go on without the remote still shows the plan.
    let Some(token) = settings.token.clone() else {
        if let Some(because) = session.without_remote() {
            printer.warn(&format!("Railway not checked (neither RAILWAY_TOKEN nor RAILWAY_API_TOKEN is set); {because}"));
            let planned = unchecked(&settings, images);
            return Ok(finish(
                session,
                &planned,
                Verdict::Passed,
                &[],
                IndexMap::new(),
            ));
        }
        return Err(Error::usage(
            "no Railway token: neither RAILWAY_TOKEN nor RAILWAY_API_TOKEN is set",
            Some("set RAILWAY_TOKEN to a project token (Railway → project settings → Tokens) from a secret, or RAILWAY_API_TOKEN to an account or team token".into()),
        ));
    };
    runtime::block_on(run(session, &settings, token, images))?
}

/// Railway pulls the image itself, on every deploy and restart: a private
/// image needs credentials that outlive the job. A package pushed to GHCR
/// from a private repository is private, so without `pull-credentials`
/// such a deploy is refused before anything changes; a real run whose
/// credential variables are not set is refused too.
fn check_pull(session: &Session, d: &RailwayDeploy) -> Result<()> {
    let Source::Image(image) = &d.source else {
        return Ok(());
    };
    match &d.pull {
        Some(pull) if pull.values.is_none() => {
            let message = format!(
                "deploy.{}: pull-credentials: {} or {} is not set",
                d.name, pull.username_env, pull.password_env
            );
            if session.dry_run {
                session
                    .printer
                    .warn(&format!("{message}; a real deploy needs both"));
                Ok(())
            } else {
                Err(Error::usage(
                    message,
                    Some(format!(
                        "map both from secrets in the job's env: (`{}: ${{{{ secrets.{} }}}}`)",
                        pull.password_env, pull.password_env
                    )),
                ))
            }
        }
        Some(_) => Ok(()),
        None if d.registry.as_deref() == Some("ghcr.io")
            && session.context.repository_private == Some(true) =>
        {
            Err(Error::usage(
                format!(
                    "deploy.{}: image `{image}` goes to ghcr.io from the private repository {}: GHCR makes its package private, and Railway cannot pull a private image without credentials",
                    d.name,
                    session
                        .context
                        .repository
                        .as_deref()
                        .unwrap_or("(this repository)")
                ),
                Some(format!(
                    "add `pull-credentials = {{ username-env = \"GHCR_USER\", password-env = \"GHCR_PULL_TOKEN\" }}` under [deploy.{}] (a token with read:packages that does not expire with the job), or make the package public on GitHub",
                    d.name
                )),
            ))
        }
        None if d.registry.as_deref() == Some("ghcr.io") => {
            session.printer.info(&format!(
                "deploy.{}: Railway pulls `{image}` from ghcr.io without credentials: the package must be public (or set pull-credentials)",
                d.name
            ));
            Ok(())
        }
        None => Ok(()),
    }
}

async fn run(
    session: &Session<'_>,
    settings: &RailwaySettings,
    token: Token,
    images: Vec<Option<String>>,
) -> Result<StepReport> {
    let printer = session.printer;
    let warn = |m: &str| printer.warn(m);
    let local_dry_run = session.without_remote().is_some();
    let client = Client::new(
        &settings.api_url,
        token.clone(),
        settings.poll_interval,
        &warn,
    )
    .map_err(|e| railway_error(&token, e))?
    .with_attempts(if local_dry_run { 2 } else { MAX_ATTEMPTS });
    // Once Railway could not be reached, a local dry run asks no more.
    let mut unreached = false;
    let mut planned = Vec::new();
    for (d, image) in settings.deploys.iter().zip(images) {
        let resolved = if unreached {
            None
        } else {
            match resolve::resolve(&client, &token, &d.target).await {
                Ok(r) => Some(r),
                Err(ResolveError::NotFound(message, hint)) => {
                    return Err(Error::usage(
                        format!("deploy.{}: {message}", d.name),
                        Some(hint),
                    ));
                }
                Err(ResolveError::Railway(e)) => {
                    let e = railway_error(&token, e);
                    if !session.go_on_without_remote(&e) {
                        return Err(e);
                    }
                    printer.warn(&format!(
                        "Railway not checked ({e}); {}",
                        session.without_remote().unwrap_or_default()
                    ));
                    unreached = true;
                    None
                }
            }
        };
        let refusal = match (&d.source, &resolved) {
            (Source::Mode(RailwayMode::Redeploy), Some(r)) => match &r.instance.latest_deployment {
                None => Some(format!(
                    "service `{}` has no deployment to redeploy",
                    r.service
                )),
                Some(l) if !l.can_redeploy => Some(format!(
                    "Railway says deployment {} of `{}` ({}) cannot be redeployed",
                    l.id, r.service, l.status
                )),
                Some(_) => None,
            },
            _ => None,
        };
        planned.push(Planned {
            deploy: d,
            resolved,
            image,
            refusal,
        });
    }
    if planned.iter().any(|p| p.refusal.is_some()) {
        for p in &planned {
            if let Some(why) = &p.refusal {
                printer.annotate(
                    Annotation::new(Level::Error, format!("{why}: nothing was deployed. Deploy an image (`image = \"<name>\"`) or redeploy from Railway once a deployment exists."))
                        .titled(format!("{}: cannot redeploy", p.deploy.name)),
                );
            }
        }
        return Ok(finish(
            session,
            &planned,
            Verdict::Failed,
            &[],
            IndexMap::new(),
        ));
    }
    if session.dry_run {
        return Ok(finish(
            session,
            &planned,
            Verdict::Passed,
            &[],
            IndexMap::new(),
        ));
    }

    let mut watched = Vec::new();
    for p in &planned {
        // Cancelled: start no more deployments (the rest are "not started").
        if crate::cancel::requested().is_some() {
            break;
        }
        // A real run resolves every service before this point (a local dry
        // run that could not is over already); an error, never a panic.
        let Some(r) = p.resolved.as_ref() else {
            return Err(Error::external(
                "Railway",
                format!("{}: the service was not resolved", p.deploy.name),
            ));
        };
        let id = start(&client, settings, p, r)
            .await
            .map_err(|e| railway_error(&token, e))?;
        printer.info(&format!(
            "{}: deployment {id} of {}/{}/{} started",
            p.deploy.name, r.project, r.environment, r.service
        ));
        watched.push(Watched::new(&p.deploy.name, &id, p.deploy.timeout));
    }
    let on_status = |w: &Watched| {
        let status = w.status.as_deref().unwrap_or("?");
        match watch::classify(status) {
            Some(o) => printer.outcome(
                Some(o.passed()),
                &format!("{} {}: {status}", render::mark(o.passed()), w.name),
            ),
            None => printer.info(&format!("{}: {status}", w.name)),
        }
    };
    watch::watch_all(&client, &mut watched, settings.poll_interval, &on_status)
        .await
        .map_err(|e| railway_error(&token, e))?;

    let mut verdict = Verdict::Passed;
    let mut outputs = IndexMap::new();
    for (p, w) in planned.iter().zip(&watched) {
        // A real run resolves every service before this point (a local dry
        // run that could not is over already); an error, never a panic.
        let Some(r) = p.resolved.as_ref() else {
            return Err(Error::external(
                "Railway",
                format!("{}: the service was not resolved", p.deploy.name),
            ));
        };
        let outcome = w
            .outcome
            .clone()
            .unwrap_or(DeployVerdict::TimedOut("?".into()));
        outputs.insert(
            format!("deploy-{}-deployment-id", w.name),
            w.deployment_id.clone(),
        );
        outputs.insert(
            format!("deploy-{}-deployment-url", w.name),
            render::dashboard_url(r, &w.deployment_id),
        );
        if let Some(url) = &w.static_url {
            outputs.insert(format!("deploy-{}-url", w.name), render::public_url(url));
        }
        if outcome.passed() {
            continue;
        }
        verdict = Verdict::Failed;
        if let DeployVerdict::Cancelled(_) = outcome {
            printer.outcome(
                Some(false),
                &format!("✗ {}: {}", w.name, render::cancelled_state(p, r, w)),
            );
            continue;
        }
        render::report_failure(session, &client, &token, w, &outcome, r).await;
    }
    if let Some(sig) = crate::cancel::requested() {
        verdict = Verdict::Failed;
        for p in planned.iter().skip(watched.len()) {
            printer.outcome(
                Some(false),
                &format!(
                    "✗ {}: not started (cancelled by {}): the service was not touched",
                    p.deploy.name,
                    crate::cancel::signal_name(sig)
                ),
            );
        }
    }
    Ok(finish(session, &planned, verdict, &watched, outputs))
}

/// Starts one deployment; returns its id.
async fn start(
    client: &Client<'_>,
    settings: &RailwaySettings,
    p: &Planned<'_>,
    r: &Resolved,
) -> Result<String, RailwayError> {
    let ids = json!({ "environmentId": r.environment_id, "serviceId": r.service_id });
    match &p.deploy.source {
        Source::Image(_) => {
            let image = p.image.as_deref().unwrap_or_default();
            let mut vars = json!({ "environmentId": r.environment_id, "serviceId": r.service_id, "image": image });
            let op = match p.deploy.pull.as_ref().and_then(|pull| pull.values.as_ref()) {
                Some((username, password)) => {
                    vars["credentials"] = json!({ "username": username, "password": password });
                    &ops::SET_SOURCE_IMAGE_WITH_CREDENTIALS
                }
                None => &ops::SET_SOURCE_IMAGE,
            };
            let _: serde_json::Value = client.send(op, vars).await?;
            let d: ops::DeployData = client.send(&ops::DEPLOY, ids).await?;
            Ok(d.service_instance_deploy_v2)
        }
        Source::Mode(RailwayMode::Redeploy) => {
            let latest = r
                .instance
                .latest_deployment
                .as_ref()
                .map(|l| l.id.clone())
                .unwrap_or_default();
            let d: ops::RedeployData = client.send(&ops::REDEPLOY, json!({ "id": latest })).await?;
            Ok(d.deployment_redeploy.id)
        }
        Source::Mode(RailwayMode::LatestCommit) => {
            let before = r.instance.latest_deployment.as_ref().map(|l| l.id.clone());
            let _: serde_json::Value = client.send(&ops::DEPLOY_LATEST_COMMIT, ids.clone()).await?;
            // This mutation answers only `true`: the new deployment is the
            // service's latest once Railway has created it.
            let started = Instant::now();
            loop {
                let i: ops::ServiceInstanceData =
                    client.send(&ops::SERVICE_INSTANCE, ids.clone()).await?;
                if let Some(l) = i.service_instance.latest_deployment
                    && Some(&l.id) != before.as_ref()
                {
                    return Ok(l.id);
                }
                if started.elapsed() >= p.deploy.timeout {
                    return Err(RailwayError::Api(format!(
                        "Railway accepted the deploy of `{}` but no new deployment appeared",
                        r.service
                    )));
                }
                tokio::time::sleep(settings.poll_interval).await;
            }
        }
    }
}

/// The plan, summary and report of a finished (or planned) run.
fn finish(
    session: &Session,
    planned: &[Planned],
    verdict: Verdict,
    watched: &[Watched],
    outputs: IndexMap<String, String>,
) -> StepReport {
    let plan = to_plan(planned);
    session
        .printer
        .summary(&markdown(planned, watched, verdict, session.dry_run));
    let detail: Vec<serde_json::Value> = planned
        .iter()
        .map(|p| {
            let w = watched.iter().find(|w| w.name == p.deploy.name);
            json!({
                "name": p.deploy.name,
                "project": p.resolved.as_ref().map(|r| &r.project),
                "environment": p.resolved.as_ref().map(|r| &r.environment),
                "service": p.resolved.as_ref().map(|r| &r.service),
                "image": p.image,
                "current_image": p.resolved.as_ref().and_then(|r| r.instance.source.as_ref()).and_then(|s| s.image.clone()),
                "refusal": p.refusal,
                "deployment_id": w.map(|w| &w.deployment_id),
                "status": w.and_then(|w| w.status.clone()),
                "passed": w.and_then(|w| w.outcome.as_ref()).map(DeployVerdict::passed),
                "cancelled": crate::cancel::requested().map(|_| match (w, &p.resolved) {
                    (Some(w), Some(r)) if matches!(w.outcome, Some(DeployVerdict::Cancelled(_))) => json!({
                        "state": "deployment-sent",
                        "text": render::cancelled_state(p, r, w),
                        "rollback_to": r.instance.latest_deployment.as_ref().map(|l| &l.id),
                    }),
                    (Some(_), _) => json!({ "state": "finished" }),
                    (None, _) => json!({ "state": "not-started" }),
                }),
            })
        })
        .collect();
    let unchecked = planned
        .iter()
        .filter(|p| p.resolved.is_none())
        .map(|p| format!("{}: Railway was not reached", p.deploy.name))
        .collect();
    StepReport::new(Step::DeployRailway, verdict, session.dry_run)
        .plan(plan)
        .outputs(outputs)
        .detail(json!({ "deployments": detail }))
        .unchecked(unchecked)
}

/// Plans built from gantry.toml alone (Railway not reachable).
fn unchecked(settings: &RailwaySettings, images: Vec<Option<String>>) -> Vec<Planned<'_>> {
    settings
        .deploys
        .iter()
        .zip(images)
        .map(|(deploy, image)| Planned {
            deploy,
            resolved: None,
            image,
            refusal: None,
        })
        .collect()
}

fn railway_error(token: &Token, e: RailwayError) -> Error {
    match e {
        RailwayError::Unauthorized(m) => Error::refused(
            "Railway",
            format!("refused the token in {}: {m}", token.variable()),
        )
        .with_hint(match token {
            Token::Project(_) => "RAILWAY_TOKEN must be a valid project token of this project and environment (Railway → project settings → Tokens)",
            Token::Account(_) => "RAILWAY_API_TOKEN must be a valid account or team token (Railway → account settings → Tokens)",
        }),
        RailwayError::Api(m) => Error::refused("Railway", m),
        RailwayError::Unreachable(m) => Error::external("Railway API", m)
            .with_hint("check the network and https://status.railway.com, then run again"),
    }
}
