//! Errors as the library hands them to its callers: typed errors from each stage, wrapped in
//! `anyhow` with a [`Hint`] attached where there is something the user can do. The command line
//! prints `error: ...`, each `caused by: ...`, then the hint.

use crate::platform::PlatformError;
use crate::settings::{Settings, SettingsError};
use crate::state::StateError;

/// A hint attached to an error as context; printed last as `hint: ...`.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::error::Error for Hint {}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `err` with `hint` attached, when there is one.
pub fn with_hint(err: anyhow::Error, hint: Option<String>) -> anyhow::Error {
    match hint {
        Some(h) => err.context(Hint(h)),
        None => err,
    }
}

/// A state error with its hint attached.
pub fn state_error(e: StateError) -> anyhow::Error {
    let hint = e.hint();
    with_hint(anyhow::Error::new(e), hint)
}

/// A platform error with its hint attached.
pub fn platform_error(e: PlatformError) -> anyhow::Error {
    let hint = e.hint().map(str::to_string);
    with_hint(anyhow::Error::new(e), hint)
}

/// Loads settings, turning a settings error into one that carries its hint.
pub fn load_settings(explicit: Option<&std::path::Path>) -> anyhow::Result<Settings> {
    Settings::load(explicit).map_err(|e: SettingsError| {
        let hint = e.hint();
        with_hint(anyhow::Error::new(e), hint)
    })
}
