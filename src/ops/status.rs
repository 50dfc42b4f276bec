//! `status`: per course, where it stands on the platform as the state last heard it. No network;
//! the state is opened read-only and a missing state file is an empty list.

use crate::error::state_error;
use crate::settings::Settings;
use crate::state::{CourseRecord, State};

/// Every course in state, by course_id, without payload bodies.
pub fn status(settings: &Settings) -> anyhow::Result<Vec<CourseRecord>> {
    Ok(
        match State::open_readonly(&settings.state_path).map_err(state_error)? {
            Some(state) => state
                .courses_without_payloads()
                .map_err(state_error)?
                .into_values()
                .collect(),
            None => Vec::new(),
        },
    )
}
