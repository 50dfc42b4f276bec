//! `plan`: what apply would do, field by field. Never calls a write endpoint and never changes
//! state (it may refresh the file stat cache of an existing state file, which no plan depends
//! on). Saved plans are written and read back here too.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::error::Hint;
use crate::plan::{self, Plan, prepare, render};
use crate::settings::Settings;

/// What to plan.
#[derive(Debug, Default, Clone)]
pub struct Request {
    /// Only these course_ids (and their uploads); empty = all.
    pub targets: Vec<String>,
    /// Ask the platform first (`query`, read-only) and plan to undo any drift.
    pub refresh: bool,
    /// Skip the roles preflight (`plan --offline`); the plan records that it was skipped.
    pub offline: bool,
}

/// Makes the plan. With `refresh`, drift (see [`crate::drift`]) is folded into the planner's
/// view of state first, so that `plan::diff` stays pure and unaware of it. Each course's payload
/// is computed once. Then the roles preflight withholds the courses whose teacher or institution
/// may not publish them, whenever the platform can be reached ([`super::roles::check_plan`]).
pub fn plan(settings: &Settings, request: &Request) -> anyhow::Result<Plan> {
    let mut prepared = prepare::prepare(settings, true)?;
    if request.refresh
        && let Some((report, full)) = super::drift::check(settings)?
    {
        if let Some(e) = report.errors.first() {
            anyhow::bail!(
                "{}: the platform's view could not be read: {}",
                e.course_id,
                e.message
            );
        }
        crate::drift::fold_into(&mut prepared.state, &report, &full);
    }
    let options = plan::Options {
        prune: settings.prune,
        targets: request.targets.clone(),
    };
    let mut plan = prepared.diff(&options);
    super::roles::check_plan(settings, &mut plan, request.offline)?;
    Ok(plan)
}

/// Writes a saved plan atomically (temporary file, then rename).
pub fn save(path: &Path, plan: &Plan) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(render::json(plan).as_bytes())?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads a saved plan and checks that it is still fresh: neither state nor catalog changed since
/// it was made (PRODUCT.md "The reviewed plan is the applied plan").
pub fn load_saved(settings: &Settings, path: &Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the plan {}", path.display()))?;
    let saved: Plan = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a coursesync plan", path.display()))?;
    let prepared = prepare::prepare(settings, true)?;
    let digest = prepared.catalog_digest();
    plan::check_fresh(&saved, &prepared.state, &digest).map_err(|stale| {
        anyhow::anyhow!("refusing a stale plan: {stale}").context(Hint(
            "run `coursesync plan --out FILE` again, review it, and apply that".into(),
        ))
    })?;
    Ok(saved)
}
