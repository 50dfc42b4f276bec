//! `state list|show|rm|unlock`: inspect and repair the state file. Only `rm` and `unlock`
//! write; the command line asks for confirmation between [`begin_rm`] and [`Removal::remove`]
//! (the lock is held meanwhile: `rm` must not race an apply) and between [`lock_holder`] and
//! [`force_unlock`].

use std::collections::BTreeMap;

use crate::error::{Hint, state_error};
use crate::settings::Settings;
use crate::state::{CourseRecord, LockGuard, LockHolder, State};

/// The state for a use case that needs an existing one: missing is an error, never created.
fn existing(settings: &Settings, readonly: bool) -> anyhow::Result<State> {
    let path = &settings.state_path;
    let missing = || {
        anyhow::anyhow!("no state yet: {} does not exist", path.display()).context(Hint(
            "the state file is created by the first `coursesync apply`".into(),
        ))
    };
    if readonly {
        State::open_readonly(path)
            .map_err(state_error)?
            .ok_or_else(missing)
    } else if path.exists() {
        State::open(path).map_err(state_error)
    } else {
        Err(missing())
    }
}

fn not_in_state(settings: &Settings, course_id: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "course {course_id:?} is not in the state ({})",
        settings.state_path.display()
    )
    .context(Hint(
        "`coursesync state list` shows the known courses".into(),
    ))
}

/// Every course with its payloads; `None` when there is no state file yet.
pub fn list(settings: &Settings) -> anyhow::Result<Option<BTreeMap<String, CourseRecord>>> {
    match State::open_readonly(&settings.state_path).map_err(state_error)? {
        Some(state) => Ok(Some(state.courses().map_err(state_error)?)),
        None => Ok(None),
    }
}

/// One course's whole record.
pub fn show(settings: &Settings, course_id: &str) -> anyhow::Result<CourseRecord> {
    existing(settings, true)?
        .course(course_id)
        .map_err(state_error)?
        .ok_or_else(|| not_in_state(settings, course_id))
}

/// A course about to be forgotten; the state stays locked until it is removed or dropped.
pub struct Removal {
    state: State,
    guard: LockGuard,
    /// The record that [`Removal::remove`] deletes.
    pub course: CourseRecord,
}

impl Removal {
    /// A stale lock that was taken over to begin the removal.
    pub fn took_over(&self) -> Option<&LockHolder> {
        self.guard.took_over.as_ref()
    }

    /// Deletes the record and releases the lock. The platform is not touched.
    pub fn remove(self) -> anyhow::Result<()> {
        self.state
            .remove_course(&self.course.course_id)
            .map_err(state_error)?;
        self.guard.release().map_err(state_error)
    }
}

/// Locks the state and finds the course to forget.
pub fn begin_rm(settings: &Settings, course_id: &str) -> anyhow::Result<Removal> {
    let state = existing(settings, false)?;
    let guard = state.lock("state rm").map_err(state_error)?;
    let course = state
        .course(course_id)
        .map_err(state_error)?
        .ok_or_else(|| not_in_state(settings, course_id))?;
    Ok(Removal {
        state,
        guard,
        course,
    })
}

/// Who holds the apply lock, if anyone.
pub fn lock_holder(settings: &Settings) -> anyhow::Result<Option<LockHolder>> {
    existing(settings, false)?
        .lock_holder()
        .map_err(state_error)
}

/// Removes the lock whoever holds it; returns who held it.
pub fn force_unlock(settings: &Settings) -> anyhow::Result<Option<LockHolder>> {
    existing(settings, false)?
        .force_unlock()
        .map_err(state_error)
}
