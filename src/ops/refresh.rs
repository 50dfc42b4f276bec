//! `refresh`: pulls audit verdicts (`query_review`) and upload statuses into state. Calls only
//! read endpoints; holds the state lock for the whole run, since it writes state.

use crate::audit::{self, RefreshReport};
use crate::error::{platform_error, state_error};
use crate::settings::Settings;
use crate::state::State;

use super::{Event, Events};

/// What refresh found; `None` when there is no state file yet (nothing was ever applied, and no
/// reason to create one). The credentials are checked even then (PRODUCT.md: a scheduled refresh
/// with a wrong secret fails), except on the local platform, whose credentials are made for each
/// run.
pub fn refresh(settings: &Settings, events: &dyn Events) -> anyhow::Result<Option<RefreshReport>> {
    if !settings.state_path.exists() {
        if !crate::local::is_in_process(settings) {
            super::with_platform(settings, async |client| {
                client.authenticate().await.map_err(platform_error)
            })?;
        }
        return Ok(None);
    }
    let state = State::open(&settings.state_path).map_err(state_error)?;
    let guard = state.lock("refresh").map_err(state_error)?;
    if let Some(h) = &guard.took_over {
        events.on(Event::TookOverLock(h));
    }
    let report = super::with_platform(settings, async |client| {
        audit::refresh(client, &state).await.map_err(refresh_error)
    })?;
    guard.release().map_err(state_error)?;
    Ok(Some(report))
}

/// A refresh error with its hint.
pub fn refresh_error(e: audit::RefreshError) -> anyhow::Error {
    match e {
        audit::RefreshError::Platform(e) => platform_error(e),
        audit::RefreshError::State(e) => state_error(e),
    }
}
