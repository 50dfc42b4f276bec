//! `drift`: compares what the platform shows (`query`) with what was last approved. Read-only:
//! the state file is opened read-only and only the read endpoint `query` is called.

use std::collections::BTreeMap;

use crate::drift::{self, Report};
use crate::error::{platform_error, state_error};
use crate::settings::Settings;
use crate::state::{CourseRecord, State};

/// The drift report; an empty one when there is no state file yet.
pub fn drift(settings: &Settings) -> anyhow::Result<Report> {
    Ok(match check(settings)? {
        Some((report, _)) => report,
        None => Report {
            format_version: drift::FORMAT_VERSION,
            ..Report::default()
        },
    })
}

/// Reads state (read-only) and compares every course with the platform; `None` when there is
/// no state file yet. Also returns the full course records (`plan --refresh` folds them in).
pub fn check(
    settings: &Settings,
) -> anyhow::Result<Option<(Report, BTreeMap<String, CourseRecord>)>> {
    let Some(state) = State::open_readonly(&settings.state_path).map_err(state_error)? else {
        return Ok(None);
    };
    let courses = state.courses().map_err(state_error)?;
    let resources = state.resources().map_err(state_error)?;
    drop(state);
    let report = super::with_platform(settings, async |client| {
        drift::check(client, &courses, &resources)
            .await
            .map_err(platform_error)
    })?;
    Ok(Some((report, courses)))
}
