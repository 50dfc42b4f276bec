//! `coursesync apply`: uploads, then add / modify / modify_no_audit / modify_status, each result
//! recorded in state at once. Without a plan file it plans, shows the plan and asks for `yes`
//! (on a terminal) unless `--auto-approve`; with one it refuses a stale plan.

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::apply::{self, Context, Outcome, Progress};
use crate::audit::{self, RefreshReport};
use crate::cli::Hint;
use crate::cli::refresh::print_report;
use crate::cli::state::{state_error, warn_takeover};
use crate::local::LocalPlatform;
use crate::plan::{self, Plan, render};
use crate::platform::{Client, ClientConfig};
use crate::settings::Settings;
use crate::state::{Audit, State};

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
    /// After applying, wait until the platform has audited every course this run submitted;
    /// exit 1 if any is rejected or the wait times out.
    #[arg(long)]
    pub wait: bool,
    /// How long `--wait` waits at most: `90s`, `10m`, `1h`.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
}

/// `90s`, `10m`, `1h`, or bare seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 10m or 1h"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{text}` is not a duration like 90s, 10m or 1h")),
    };
    Ok(Duration::from_secs(seconds))
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
            prune_guard(&state, &plan, args)?;
            if !args.auto_approve && !confirm()? {
                println!("Apply cancelled; nothing was sent.");
                return Ok(crate::exit::ERROR);
            }
            plan
        }
    };
    prune_guard(&state, &plan, args)?;
    if !plan.has_changes() {
        println!("Nothing to do.");
        return Ok(crate::exit::OK);
    }

    let runtime = super::runtime().context("starting the async runtime")?;
    let wait = args.wait.then_some(args.timeout);
    let (outcome, waited_ok) = runtime.block_on(execute(settings, state, &plan, wait))?;
    guard.release().map_err(state_error)?;
    Ok(if outcome.failed() > 0 || !waited_ok {
        crate::exit::ERROR
    } else {
        crate::exit::OK
    })
}

/// PRODUCT.md "Prune guard": delisting more than half of the known courses needs
/// `--allow-mass-delist`; checked before anyone is asked to confirm.
fn prune_guard(state: &State, plan: &Plan, args: &Args) -> anyhow::Result<()> {
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
    Ok(())
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

/// Applies `plan` and reports it; with `wait`, then waits for the audits (see [`wait_for_audits`]),
/// returning whether they all passed in time.
async fn execute(
    settings: &Settings,
    state: State,
    plan: &Plan,
    wait: Option<Duration>,
) -> anyhow::Result<(Outcome, bool)> {
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
    let outcome = apply::execute(ctx.clone(), plan).await;
    let waited = match (outcome, wait) {
        (Ok(outcome), Some(timeout)) => {
            report(plan, &outcome);
            let submitted: Vec<String> = outcome
                .courses
                .iter()
                .map(|c| c.course_id.clone())
                .collect();
            wait_for_audits(&ctx.client, &settings.state_path, &submitted, timeout)
                .await
                .map(|ok| (outcome, ok))
        }
        (Ok(outcome), None) => {
            report(plan, &outcome);
            Ok((outcome, true))
        }
        (Err(e), _) => Err(e.into()),
    };
    if let Some(l) = local {
        l.shutdown().await;
    }
    waited
}

/// The first pause between two polls of `--wait`; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(30);

/// Polls `refresh` (with backoff) until every course of `course_ids` that is in review has been
/// decided, or `timeout` passes. Prints each decision as `refresh` does, then the rejections
/// with their reasons, or on timeout the courses still in review. `Ok(true)` when every one
/// was approved. The caller holds the state lock.
async fn wait_for_audits(
    client: &Client,
    state_path: &std::path::Path,
    course_ids: &[String],
    timeout: Duration,
) -> anyhow::Result<bool> {
    // A second connection to the state file; apply's own is inside its context.
    let state = State::open(state_path).map_err(state_error)?;
    let in_review = |state: &State| -> anyhow::Result<BTreeSet<String>> {
        let courses = state.courses_without_payloads().map_err(state_error)?;
        Ok(course_ids
            .iter()
            .filter(|id| courses.get(*id).is_some_and(|c| c.audit == Audit::InReview))
            .cloned()
            .collect())
    };
    let waiting = in_review(&state)?;
    if waiting.is_empty() {
        println!("Nothing to wait for: no course of this run is in review.");
        return Ok(true);
    }
    println!(
        "Waiting up to {} for the audit of {} course(s)…",
        show_duration(timeout),
        waiting.len()
    );
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_POLL;
    let pending = loop {
        let found = audit::refresh(client, &state).await.map_err(|e| {
            match e {
                audit::RefreshError::Platform(e) => anyhow::Error::new(e),
                audit::RefreshError::State(e) => state_error(e),
            }
            .context("waiting for audits (the apply itself is recorded in state)")
        })?;
        let changes = RefreshReport {
            courses: found.courses,
            resources: found.resources,
            ..RefreshReport::default()
        };
        if !changes.is_unchanged() {
            print_report(&mut anstream::stdout(), &changes)?;
        }
        let pending = in_review(&state)?;
        let now = Instant::now();
        if pending.is_empty() || now >= deadline {
            break pending;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_POLL);
    };
    let courses = state.courses_without_payloads().map_err(state_error)?;
    let rejected: Vec<_> = waiting
        .iter()
        .filter_map(|id| courses.get(id))
        .filter(|c| c.audit == Audit::Rejected)
        .collect();
    let mut ok = true;
    if !rejected.is_empty() {
        ok = false;
        println!("{} course(s) rejected:", rejected.len());
        for c in &rejected {
            println!(
                "  {}: {}",
                c.course_id,
                c.reject_reason.as_deref().unwrap_or("no reason given")
            );
        }
    }
    if !pending.is_empty() {
        ok = false;
        println!(
            "Timed out after {}; still in review: {}.",
            show_duration(timeout),
            pending.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    if ok {
        println!("All {} course(s) approved.", waiting.len());
    }
    Ok(ok)
}

/// `1h`, `10m`, `90s`: the largest unit that divides it.
fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_mins(10)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "1d", "1.5h", "-1s", "10 m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(show_duration(Duration::from_mins(30)), "30m");
        assert_eq!(show_duration(Duration::from_secs(90)), "90s");
        assert_eq!(show_duration(Duration::from_hours(2)), "2h");
    }
}
