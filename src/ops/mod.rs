//! The use cases, one module per command's workflow. Each takes settings and options and returns
//! a value; long work reports progress through [`Events`]. Nothing here prints: `cli/` parses
//! arguments, calls one function here and renders what it returns.
//!
//! Who may import whom (docs/architecture.md): `ops` may use every module below it (`catalog`,
//! `state`, `plan`, `platform`, `apply`, `audit`, `drift`, `adopt`, `local`, `roles`); nothing
//! below `cli` imports `cli` or `ops`, except `ops` itself.

pub mod apply;
pub mod drift;
pub mod dump;
pub mod import;
pub mod plan;
pub mod refresh;
pub mod roles;
pub mod state;
pub mod status;
pub mod validate;

use crate::error::platform_error;
use crate::settings::Settings;

pub use crate::events::{Event, Events, Quiet};

/// A runtime for the use cases that talk to the platform (most commands are synchronous).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Runs `f` with a client for the platform the settings name, on a fresh runtime. With
/// `environment = "local"` the local platform is started for the call and stopped after it.
pub fn with_platform<T>(
    settings: &Settings,
    f: impl AsyncFnOnce(&crate::platform::Client) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    runtime()?.block_on(async {
        let local = crate::local::LocalPlatform::start_if_local(settings).await?;
        let effective = local
            .as_ref()
            .map_or_else(|| settings.clone(), |l| l.settings(settings));
        let result = async {
            let config =
                crate::platform::ClientConfig::from_settings(&effective).map_err(platform_error)?;
            let client = crate::platform::Client::new(config).map_err(platform_error)?;
            f(&client).await
        }
        .await;
        if let Some(local) = local {
            local.shutdown().await;
        }
        result
    })
}
