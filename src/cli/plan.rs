//! `coursesync plan`: what apply would do, field by field. Never calls the platform's write
//! endpoints, never changes state (it may refresh the file stat cache of an existing state file,
//! which no plan depends on).

use std::io::Write as _;
use std::path::PathBuf;

use crate::ops::plan as op;
use crate::plan::render;
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
    /// Skip the roles preflight (which asks the platform, read-only, whether each course's
    /// teacher or institution may publish it); the plan says it was skipped.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let plan = op::plan(
        settings,
        &op::Request {
            targets: args.targets.clone(),
            refresh: args.refresh,
            offline: args.offline,
        },
    )?;
    let text = match args.format {
        Format::Human => render::human(&plan),
        Format::Json => render::json(&plan) + "\n",
        Format::Markdown => render::markdown(&plan),
    };
    let mut stdout = anstream::stdout();
    stdout.write_all(text.as_bytes())?;
    if let Some(path) = &args.out {
        op::save(path, &plan)?;
        // On stderr, so that stdout stays a pure document for `--format json`.
        eprintln!(
            "Saved the plan to {}; apply it with `coursesync apply {}`.",
            path.display(),
            path.display()
        );
    }
    // A course blocked by the roles preflight is an error to fix (PRODUCT.md "Roles").
    Ok(if !plan.blocked.is_empty() {
        crate::exit::ERROR
    } else if args.detailed_exitcode && plan.has_changes() {
        crate::exit::CHANGES
    } else {
        crate::exit::OK
    })
}
