//! `coursesync apply`: uploads, then add / modify / modify_no_audit / modify_status, each result
//! recorded in state at once. Without a plan file it plans, shows the plan and asks for `yes`
//! (on a terminal) unless `--auto-approve`; with one it refuses a stale plan.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::apply::Outcome;
use crate::cli::Hint;
use crate::ops::apply::{self as op, WaitReport};
use crate::plan::{Plan, render};
use crate::settings::Settings;

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
    /// How long `--wait` waits at most: `90s`, `10m`, `1h` (at most 366 days).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = crate::duration::parse, requires = "wait")]
    pub timeout: Duration,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let events = Arc::new(super::events::Terminal::default());
    let request = op::Request {
        plan_file: args.plan_file.clone(),
        targets: args.targets.clone(),
        allow_mass_delist: args.allow_mass_delist,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let mut session = op::begin(settings, &request)?;
    if let Some(h) = session.took_over() {
        super::events::warn_takeover(h);
    }
    if !session.from_file {
        anstream::stdout().write_all(render::human(&session.plan).as_bytes())?;
    }
    if !session.plan.has_changes() {
        println!("Nothing to do.");
        let blocked = session.plan.blocked_line();
        session.finish()?;
        // Blocked courses (shown with their reasons in the plan above) are an error to fix.
        return Ok(match blocked {
            Some(line) => {
                println!("{line}");
                crate::exit::ERROR
            }
            None => crate::exit::OK,
        });
    }
    session.check_prune_guard()?;
    if !session.from_file && !args.auto_approve && !confirm()? {
        println!("Apply cancelled; nothing was sent.");
        return Ok(crate::exit::ERROR);
    }
    let outcome = session.apply(events.clone());
    let waited = match &outcome {
        Ok(outcome) => {
            report(&session.plan, outcome);
            args.wait.then(|| {
                let submitted: Vec<String> = outcome
                    .courses
                    .iter()
                    .map(|c| c.course_id.clone())
                    .collect();
                session.wait(&submitted, args.timeout, events.as_ref())
            })
        }
        Err(_) => None,
    };
    let nothing_blocked = session.plan.blocked.is_empty();
    session.finish()?;
    let outcome = outcome?;
    let waited_ok = match waited {
        Some(waited) => show_wait(&waited?),
        None => true,
    };
    Ok(if outcome.failed() > 0 || !waited_ok || !nothing_blocked {
        crate::exit::ERROR
    } else {
        crate::exit::OK
    })
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

/// The rejections with their reasons, or on timeout the courses still in review; whether every
/// course waited for was approved.
fn show_wait(w: &WaitReport) -> bool {
    if w.waited_for.is_empty() {
        println!("Nothing to wait for: no course of this run is in review.");
        return true;
    }
    if !w.rejected.is_empty() {
        println!("{} course(s) rejected:", w.rejected.len());
        for (course_id, reason) in &w.rejected {
            println!(
                "  {course_id}: {}",
                reason.as_deref().unwrap_or("no reason given")
            );
        }
    }
    if !w.still_in_review.is_empty() {
        println!(
            "Timed out after {}; still in review: {}.",
            crate::duration::show(w.timeout),
            w.still_in_review
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if w.all_approved() {
        println!("All {} course(s) approved.", w.waited_for.len());
    }
    w.all_approved()
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
    for b in &plan.blocked {
        let _ = writeln!(out, "  {red}!{red:#} {} blocked: {}", b.course_id, b.reason);
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
    if let Some(line) = plan.blocked_line() {
        let _ = writeln!(out, "{red}{line}{red:#}");
    }
    if outcome.failed() > 0 {
        let _ = writeln!(
            out,
            "Every result so far is recorded in state; fix the failures and run apply again to finish."
        );
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(
            out,
            "The blocked courses were not sent: see `coursesync roles`, then run apply again once their teacher or institution may publish them."
        );
    }
}
