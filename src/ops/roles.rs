//! `coursesync roles`: the roles bound to the app and, for every teacher and institution the
//! catalog names, its authorisation of the app and its qualification for the categories its
//! courses use, with the courses that use it (PRODUCT.md "Roles: who may publish"). Read calls
//! only; no state is read or written.

use anyhow::Context as _;

use crate::catalog;
use crate::error::{Hint, platform_error};
use crate::local::LocalRoles;
use crate::plan::Plan;
use crate::platform::roles::wire::BindInfo;
use crate::platform::{Client, ClientConfig, PlatformError};
use crate::roles::{self, LookupError, Preflight, Subject};
use crate::settings::Settings;

/// What `roles` found.
#[derive(Debug, Clone)]
pub struct RolesReport {
    pub appid: String,
    /// `[app] partner_entity_id`, sent with every entity query.
    pub partner_entity_id: Option<String>,
    /// `get_bind_list`, or why it could not be had.
    pub bound: Result<Vec<BindInfo>, LookupError>,
    /// Every entity the catalog names and the courses it blocks.
    pub preflight: Preflight,
    /// Courses in the catalog.
    pub courses: usize,
}

impl RolesReport {
    /// Some answer could not be had: the report is incomplete (exit 1).
    pub fn is_incomplete(&self) -> bool {
        self.bound.as_ref().is_err_and(|e| !e.refused)
            || self
                .preflight
                .entities
                .iter()
                .any(crate::roles::EntityReport::is_unchecked)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the catalog has {errors} error{}: roles were not checked", if *errors == 1 { "" } else { "s" })]
pub struct InvalidCatalog {
    pub errors: usize,
}

/// Loads the catalog and asks the role system about every entity it names.
pub fn run(settings: &Settings) -> anyhow::Result<RolesReport> {
    let loaded = catalog::load(&settings.catalog_dir, &settings.root)?;
    if loaded.errors() > 0 {
        return Err(anyhow::Error::new(InvalidCatalog {
            errors: loaded.errors(),
        })
        .context(Hint(
            "run `coursesync validate` and fix the findings".into(),
        )));
    }
    let subjects: Vec<Subject> = loaded
        .catalog
        .courses
        .iter()
        .map(Subject::of_course)
        .collect();
    if let Some(why) = roles::unreachable(settings) {
        return Err(
            anyhow::anyhow!("cannot ask the platform: {why}").context(Hint(
                "set COURSESYNC_APP_SECRET (or COURSESYNC_ACCESS_TOKEN) to the app's credentials"
                    .into(),
            )),
        );
    }
    let partner = settings.partner_entity_id.clone();
    let runtime = super::runtime().context("starting the async runtime")?;
    let (bound, preflight) = runtime.block_on(with_role_client(
        settings,
        &roles::entity_ids(&subjects),
        async |client| {
            let (bound, preflight) = futures::future::join(
                client.get_bind_list(),
                roles::preflight(client, partner.as_deref(), &subjects, roles::today()),
            )
            .await;
            let bound = match bound {
                Ok(list) => Ok(list),
                Err(e @ (PlatformError::Token { .. } | PlatformError::Config { .. })) => {
                    return Err(platform_error(e));
                }
                Err(e) => Err(LookupError::of(&e)),
            };
            Ok((bound, preflight.map_err(platform_error)?))
        },
    ))?;
    Ok(RolesReport {
        appid: settings.appid.clone(),
        partner_entity_id: settings.partner_entity_id.clone(),
        bound,
        preflight,
        courses: subjects.len(),
    })
}

/// Runs `f` with a client for the role calls the settings point at. With `environment =
/// "local"`, an in-memory local platform answers, with `usable` (the catalog's entities) usable
/// ([`LocalRoles`]); nothing is written.
pub async fn with_role_client<T>(
    settings: &Settings,
    usable: &[String],
    f: impl AsyncFnOnce(&Client) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let local = LocalRoles::start_if_local(settings, usable).await?;
    let effective = local
        .as_ref()
        .map_or_else(|| settings.clone(), |l| l.settings(settings));
    let result = async {
        let config = ClientConfig::from_settings(&effective).map_err(platform_error)?;
        let client = Client::new(config).map_err(platform_error)?;
        f(&client).await
    }
    .await;
    if let Some(local) = local {
        local.shutdown().await;
    }
    result
}

/// `plan`'s preflight: with the platform reachable (see [`roles::unreachable`]) and not `offline`,
/// asks about the entities of the courses the plan sends and withholds the blocked ones;
/// otherwise records in the plan why it did not run. Read calls only.
pub fn check_plan(settings: &Settings, plan: &mut Plan, offline: bool) -> anyhow::Result<()> {
    let subjects = roles::subjects_of_plan(plan);
    if subjects.is_empty() {
        return Ok(());
    }
    let skipped = if offline {
        Some("--offline".to_string())
    } else {
        roles::unreachable(settings)
    };
    if let Some(why) = skipped {
        plan.preflight_skipped = Some(why);
        return Ok(());
    }
    let runtime = super::runtime()?;
    let partner = settings.partner_entity_id.as_deref();
    let found = runtime.block_on(with_role_client(
        settings,
        &roles::entity_ids(&subjects),
        async |client| {
            roles::preflight(client, partner, &subjects, roles::today())
                .await
                .map_err(platform_error)
        },
    ))?;
    roles::withhold(plan, &found.blocked);
    Ok(())
}
