//! `report`: the status report's model, from the state (opened read-only, never created) and,
//! when asked, a drift check against the platform (read calls only: a token and `query`).
//! Rendering it is [`crate::report::html::render`].

use std::collections::BTreeMap;

use crate::drift;
use crate::error::state_error;
use crate::report::{Meta, Report};
use crate::settings::{Environment, Settings};
use crate::state::{State, now_ms};

/// What to put in the report besides the state.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Compare every course with the platform (`query`), as `coursesync drift` does.
    pub drift: bool,
    /// Courses the roles preflight blocked, by course_id, with the reason.
    pub blocked: BTreeMap<String, String>,
}

/// Builds the report. A missing state file is an empty report (and no drift check: there is
/// nothing to compare).
pub fn report(settings: &Settings, options: &Options) -> anyhow::Result<Report> {
    let state = State::open_readonly(&settings.state_path).map_err(state_error)?;
    let meta = Meta {
        appid: settings.appid.clone(),
        environment: environment_name(settings.environment).into(),
        // As the project names it (`state/coursesync.db`), not where the project happens to be.
        state_path: settings
            .state_path
            .strip_prefix(&settings.root)
            .unwrap_or(&settings.state_path)
            .display()
            .to_string(),
        state_exists: state.is_some(),
        generated_at: now_ms(),
    };
    let records = match &state {
        // The small columns are all the page shows; the payload bodies stay on disk.
        Some(state) => state.courses_without_payloads().map_err(state_error)?,
        None => BTreeMap::new(),
    };
    drop(state);
    let drift = if options.drift && meta.state_exists {
        check_drift(settings)?
    } else {
        None
    };
    Ok(Report::build(
        meta,
        &records,
        drift.as_ref(),
        &options.blocked,
    ))
}

fn environment_name(environment: Environment) -> &'static str {
    match environment {
        Environment::Production => "production",
        Environment::Sandbox => "sandbox",
        Environment::Local => "local",
    }
}

/// The drift check `coursesync drift` makes (state read-only, then `query` for every course
/// with a live product); `None` when there is no state file.
fn check_drift(settings: &Settings) -> anyhow::Result<Option<drift::Report>> {
    Ok(super::drift::check(settings)?.map(|(report, _)| report))
}
