//! `status`: per course, where it stands on the platform as the state last heard it. No network;
//! the state is opened read-only and a missing state file is an empty list.

use crate::error::state_error;
use crate::settings::Settings;
use crate::state::{CourseRecord, State};

/// Every course in state, by course_id, without payload bodies. A course whose add's answer a
/// killed apply never recorded shows as `unknown_outcome`, as the next apply will record it
/// (unless the platform is known to deduplicate adds: then that apply adopts its product).
pub fn status(settings: &Settings) -> anyhow::Result<Vec<CourseRecord>> {
    let Some(state) = State::open_readonly(&settings.state_path).map_err(state_error)? else {
        return Ok(Vec::new());
    };
    let mut courses = state.courses_without_payloads().map_err(state_error)?;
    if !crate::local::effective_facts(settings).add_is_deduplicated() {
        for (entry, existing) in state.lost_adds().map_err(state_error)? {
            let mut held = entry.held_record(existing.as_ref());
            held.payload = None;
            courses.insert(held.course_id.clone(), held);
        }
    }
    Ok(courses.into_values().collect())
}
