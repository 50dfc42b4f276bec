//! `coursesync apply`: uploads, then add / modify / modify_no_audit / modify_status, each result
//! recorded in state at once. Without a plan file it plans, shows the plan and asks for `yes`
//! (on a terminal) unless `--auto-approve`; with one it refuses a stale plan.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use crate::apply::{self, Context, Outcome, Progress};
use crate::cli::Hint;
use crate::cli::state::{state_error, warn_takeover};
use crate::local::LocalPlatform;
use crate::plan::{self, Plan, render};
use crate::platform::{Client, ClientConfig};
use crate::settings::Settings;
use crate::state::State;

/// Options of `coursesync apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved by `coursesync plan --out FILE`; applied as reviewed, without asking again.
    pub plan_file: Option<PathBuf>,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply only this course (repeatable).
    #[arg(long = "target", value_name = "COURSE_ID")]
    pub targets: Vec<String>,
    /// Allow delisting more than half of the known courses (with `prune = true`).
    #[arg(long)]
    pub allow_mass_delist: bool,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let state = State::open(&settings.state_path).map_err(state_error)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let guard = state.lock(&command).map_err(state_error)?;
    warn_takeover(guard.took_over.as_ref());

    let plan = match &args.plan_file {
        Some(path) => saved_plan(settings, path, args)?,
        None => {
            let plan = super::plan::make(settings, &args.targets)?;
            anstream::stdout().write_all(render::human(&plan).as_bytes())?;
            if !plan.has_changes() {
                println!("Nothing to do.");
                return Ok(crate::exit::OK);
            }
            if !args.auto_approve && !confirm()? {
                println!("Apply cancelled; nothing was sent.");
                return Ok(crate::exit::ERROR);
            }
            plan
        }
    };
    let known = state.courses_without_payloads().map_err(state_error)?.len();
    if plan.summary.delist > 0 && plan.summary.delist * 2 > known && !args.allow_mass_delist {
        return Err(anyhow::anyhow!(
            "the plan delists {} of {known} known courses, more than half",
            plan.summary.delist
        )
        .context(Hint(
            "check the catalog; if this is intended, run again with --allow-mass-delist".into(),
        )));
    }
    if !plan.has_changes() {
        println!("Nothing to do.");
        return Ok(crate::exit::OK);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(execute(settings, state, &plan))?;
    guard.release().map_err(state_error)?;
    report(&plan, &outcome);
    Ok(if outcome.failed() > 0 {
        crate::exit::ERROR
    } else {
        crate::exit::OK
    })
}

fn saved_plan(settings: &Settings, path: &std::path::Path, args: &Args) -> anyhow::Result<Plan> {
    if !args.targets.is_empty() {
        anyhow::bail!(
            "--target cannot be combined with a plan file: the saved plan's own targets apply"
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the plan {}", path.display()))?;
    let saved: Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a coursesync plan", path.display()))?;
    let prepared = plan::prepare::prepare(settings, true)?;
    let digest = prepared.catalog_digest();
    plan::check_fresh(&saved, &prepared.state, &digest).map_err(|stale| {
        anyhow::anyhow!("refusing a stale plan: {stale}").context(Hint(
            "run `coursesync plan --out FILE` again, review it, and apply that".into(),
        ))
    })?;
    Ok(saved)
}

/// Asks for `yes` on a terminal; refuses when stdin is not one.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(anyhow::anyhow!(
            "refusing to apply without confirmation: stdin is not a terminal"
        )
        .context(Hint(
            "review the plan and run `coursesync apply --auto-approve`, or apply a saved plan file"
                .into(),
        )));
    }
    print!("\nApply these changes? Only 'yes' is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

async fn execute(settings: &Settings, state: State, plan: &Plan) -> anyhow::Result<Outcome> {
    let local = LocalPlatform::start_if_local(settings).await?;
    let effective = local
        .as_ref()
        .map_or_else(|| settings.clone(), |l| l.settings(settings));
    let client = Client::new(ClientConfig::from_settings(&effective)?)?;
    let ctx = Arc::new(Context {
        client,
        state: Mutex::new(state),
        appid: effective.appid.clone(),
        assets_base_url: effective.assets_base_url.as_deref().map(|u| {
            if u.ends_with('/') {
                u.to_string()
            } else {
                format!("{u}/")
            }
        }),
        upload_timeout: effective.upload_timeout,
        progress: Progress::new(plan.uploads.len(), plan.courses.len()),
    });
    let outcome = apply::execute(ctx, plan).await;
    if let Some(l) = local {
        l.shutdown().await;
    }
    Ok(outcome?)
}

/// Successful courses listed one by one, at most.
const SHOWN: usize = 50;

fn report(plan: &Plan, outcome: &Outcome) {
    let mut out = anstream::stdout();
    let ok: Vec<_> = outcome
        .courses
        .iter()
        .filter(|c| c.error.is_none())
        .collect();
    let failed: Vec<_> = outcome
        .courses
        .iter()
        .filter(|c| c.error.is_some())
        .collect();
    let green = anstyle::AnsiColor::Green.on_default();
    let red = anstyle::AnsiColor::Red.on_default().bold();
    for c in ok.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {green}✓{green:#} {}: {}",
            c.course_id,
            c.done.join(", ")
        );
    }
    if ok.len() > SHOWN {
        let _ = writeln!(out, "  … and {} more courses done", ok.len() - SHOWN);
    }
    for (source, reason) in &outcome.uploads_failed {
        let _ = writeln!(out, "  {red}✗{red:#} upload {source}: {reason}");
    }
    for c in &failed {
        let done = if c.done.is_empty() {
            String::new()
        } else {
            format!(" (done before that: {})", c.done.join(", "))
        };
        let _ = writeln!(
            out,
            "  {red}✗{red:#} {}: {}{done}",
            c.course_id,
            c.error.as_deref().unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "Apply {}: {} of {} courses done, {} failed; {} of {} uploads done, {} failed; {:.1}s.",
        if outcome.failed() == 0 {
            "complete"
        } else {
            "finished with failures"
        },
        ok.len(),
        plan.courses.len(),
        failed.len(),
        outcome.uploads_done,
        plan.uploads.len(),
        outcome.uploads_failed.len(),
        outcome.elapsed.as_secs_f64()
    );
    if outcome.failed() > 0 {
        let _ = writeln!(
            out,
            "Every result so far is recorded in state; fix the failures and run apply again to finish."
        );
    }
}
