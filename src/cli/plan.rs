//! `coursesync plan`: what apply would do, field by field. Never calls the platform's write
//! endpoints, never changes state (it may refresh the file stat cache of an existing state file,
//! which no plan depends on).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::plan::{self, Options, render};
use crate::settings::Settings;

/// Options of `coursesync plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the plan to FILE, to be applied later with `coursesync apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only this course (repeatable).
    #[arg(long = "target", value_name = "COURSE_ID")]
    pub targets: Vec<String>,
    /// Ask the platform first (`query`, read-only) and plan to undo any drift: a course changed
    /// on the platform is modified back to the catalog, a listing changed there is set back, a
    /// product the platform no longer knows is added again. State is not written.
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

/// Makes the plan (shared with `apply`).
pub fn make(settings: &Settings, targets: &[String]) -> anyhow::Result<plan::Plan> {
    make_with(settings, targets, false)
}

/// Makes the plan; with `refresh`, drift (see [`crate::drift`]) is folded into the planner's
/// view of state first, so that `plan::diff` stays pure and unaware of it.
pub fn make_with(
    settings: &Settings,
    targets: &[String],
    refresh: bool,
) -> anyhow::Result<plan::Plan> {
    let mut prepared = plan::prepare::prepare(settings, true)?;
    if refresh && let Some((report, full)) = super::drift::check(settings)? {
        if let Some(e) = report.errors.first() {
            anyhow::bail!(
                "{}: the platform's view could not be read: {}",
                e.course_id,
                e.message
            );
        }
        crate::drift::fold_into(&mut prepared.state, &report, &full);
    }
    let options = Options {
        prune: settings.prune,
        targets: targets.to_vec(),
    };
    Ok(plan::diff(
        &prepared.loaded.catalog,
        &prepared.digests,
        &prepared.state,
        &options,
    ))
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let plan = make_with(settings, &args.targets, args.refresh)?;
    let text = match args.format {
        Format::Human => render::human(&plan),
        Format::Json => render::json(&plan) + "\n",
        Format::Markdown => render::markdown(&plan),
    };
    let mut stdout = anstream::stdout();
    stdout.write_all(text.as_bytes())?;
    if let Some(path) = &args.out {
        write_plan(path, &plan)?;
        // On stderr, so that stdout stays a pure document for `--format json`.
        eprintln!(
            "Saved the plan to {}; apply it with `coursesync apply {}`.",
            path.display(),
            path.display()
        );
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        crate::exit::CHANGES
    } else {
        crate::exit::OK
    })
}

/// Writes a saved plan atomically (temporary file, then rename).
pub fn write_plan(path: &std::path::Path, plan: &plan::Plan) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(render::json(plan).as_bytes())?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
