//! `apply`: uploads, then add / modify / modify_no_audit / modify_status, each result recorded
//! in state at once.
//!
//! A [`Session`] holds the state lock from [`begin`] to [`Session::finish`] (or drop): the plan
//! it applies is made (or a saved one checked for freshness) under the lock, the caller shows
//! it and asks for confirmation, then [`Session::apply`] executes it and, optionally,
//! [`Session::wait`] polls the audits of what it submitted.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::apply::{self, Context, Outcome};
use crate::audit::{self, RefreshReport};
use crate::error::{Hint, platform_error, state_error};
use crate::local::LocalPlatform;
use crate::plan::Plan;
use crate::platform::{Client, ClientConfig};
use crate::settings::Settings;
use crate::state::{Audit, LockGuard, LockHolder, State};

use super::{Event, Events};

/// What to apply.
#[derive(Debug, Default, Clone)]
pub struct Request {
    /// A plan saved by `plan --out`; applied as reviewed. Without one, a plan is made.
    pub plan_file: Option<PathBuf>,
    /// Only these course_ids (not with a plan file: its own targets apply).
    pub targets: Vec<String>,
    /// Allow delisting more than half of the known courses.
    pub allow_mass_delist: bool,
    /// Held courses (`unknown_outcome`) to add again, knowingly (PRODUCT.md "No blind re-add").
    pub resend: Vec<String>,
    /// The command line, recorded in the lock for whoever finds it held.
    pub command: String,
}

/// An apply in progress; holds the state lock until [`Session::finish`] or drop.
pub struct Session {
    settings: Settings,
    guard: LockGuard,
    /// Until [`Session::apply`] moves it into the run's context.
    state: Option<State>,
    known_courses: usize,
    allow_mass_delist: bool,
    /// The plan being applied.
    pub plan: Plan,
    /// Whether the plan came from a file (it was reviewed; no need to show it or ask again).
    pub from_file: bool,
    /// The roles preflight already ran on `plan` in this run (while planning).
    preflight_done: bool,
    platform: Option<Platform>,
}

/// The platform connection of a session: a runtime, the local platform when
/// `environment = "local"`, and the client.
struct Platform {
    runtime: tokio::runtime::Runtime,
    local: Option<LocalPlatform>,
    ctx: Arc<Context>,
}

/// Locks the state and makes the plan (or reads the saved one and checks it is fresh).
pub fn begin(settings: &Settings, request: &Request) -> anyhow::Result<Session> {
    let state = State::open(&settings.state_path).map_err(state_error)?;
    let guard = state.lock(&request.command).map_err(state_error)?;
    let (plan, from_file) = match &request.plan_file {
        Some(path) => {
            if !request.targets.is_empty() {
                anyhow::bail!(
                    "--target cannot be combined with a plan file: the saved plan's own targets apply"
                );
            }
            if !request.resend.is_empty() {
                anyhow::bail!(
                    "--resend cannot be combined with a plan file: run `coursesync apply --resend \
                     COURSE_ID` without one"
                );
            }
            (super::plan::load_saved(settings, path)?, true)
        }
        None => {
            let plan_request = super::plan::Request {
                targets: request.targets.clone(),
                refresh: false,
                resend: request.resend.clone(),
                offline: false,
            };
            let plan = super::plan::plan(settings, &plan_request)?;
            check_resend(&plan, &request.resend)?;
            (plan, false)
        }
    };
    // A killed run's add whose outcome no record shows: the plan holds it; state records it now
    // (unless the platform is known to deduplicate adds: then the executor adopts it).
    if !crate::local::effective_facts(settings).add_is_deduplicated() {
        apply::hold_lost_adds(&state, &plan).map_err(state_error)?;
    }
    let known_courses = state.courses_without_payloads().map_err(state_error)?.len();
    let preflight_done = !from_file && plan.preflight_skipped.is_none();
    Ok(Session {
        settings: settings.clone(),
        guard,
        state: Some(state),
        known_courses,
        allow_mass_delist: request.allow_mass_delist,
        plan,
        from_file,
        preflight_done,
        platform: None,
    })
}

/// Every course named by `--resend` is added again by `plan`: it must be a held course of the
/// catalog (and of the targets, when there are some).
fn check_resend(plan: &Plan, resend: &[String]) -> anyhow::Result<()> {
    for id in resend {
        let resent = plan
            .courses
            .iter()
            .any(|c| &c.course_id == id && matches!(c.send, Some(crate::plan::Send::Add)));
        if !resent {
            return Err(anyhow::anyhow!(
                "--resend {id}: {id} is not a held course (unknown_outcome) of the catalog{}",
                if plan.targets.is_empty() {
                    ""
                } else {
                    " among the targets"
                }
            )
            .context(Hint(
                "`coursesync status` names the held courses; --resend sends only those again"
                    .into(),
            )));
        }
    }
    Ok(())
}

impl Session {
    /// A stale lock that was taken over to begin this session.
    pub fn took_over(&self) -> Option<&LockHolder> {
        self.guard.took_over.as_ref()
    }

    /// PRODUCT.md "Prune guard": delisting more than half of the known courses needs
    /// `allow_mass_delist`. [`Session::apply`] checks it too; call it before asking anyone to
    /// confirm.
    pub fn check_prune_guard(&self) -> anyhow::Result<()> {
        let delist = self.plan.summary.delist;
        if delist > 0 && delist * 2 > self.known_courses && !self.allow_mass_delist {
            return Err(anyhow::anyhow!(
                "the plan delists {delist} of {} known courses, more than half",
                self.known_courses
            )
            .context(Hint(
                "check the catalog; if this is intended, run again with --allow-mass-delist".into(),
            )));
        }
        Ok(())
    }

    /// Executes the plan: every result is recorded in state as it arrives, and every failure is
    /// in the outcome (one broken course never blocks the others). Before anything is sent, the
    /// roles preflight withholds the courses whose entity may not publish them (a saved plan is
    /// checked again here; a plan made in this run was checked while planning), and the local
    /// platform learns the entities of the courses it will receive.
    pub fn apply(&mut self, events: Arc<dyn Events>) -> anyhow::Result<Outcome> {
        self.check_prune_guard()?;
        let state = self
            .state
            .take()
            .context("this apply session has already applied its plan")?;
        let runtime = super::runtime().context("starting the async runtime")?;
        let settings = &self.settings;
        let (local, ctx) = runtime.block_on(async {
            let local = LocalPlatform::start_if_local(settings).await?;
            let effective = local
                .as_ref()
                .map_or_else(|| settings.clone(), |l| l.settings(settings));
            let client = ClientConfig::from_settings(&effective)
                .and_then(Client::new)
                .map_err(platform_error)?;
            let ctx = Arc::new(Context {
                client,
                state: Mutex::new(state),
                appid: effective.appid.clone(),
                assets_base_url: effective.assets_base_url.as_deref().map(|u| {
                    if u.ends_with('/') {
                        u.to_string()
                    } else {
                        format!("{u}/")
                    }
                }),
                upload_timeout: effective.upload_timeout,
                events,
            });
            anyhow::Ok((local, ctx))
        })?;
        let ready = self.before_sending(&runtime, &ctx.client, local.as_ref());
        let outcome = match ready {
            Ok(()) => runtime
                .block_on(apply::execute(ctx.clone(), &self.plan))
                .map_err(state_error),
            Err(e) => Err(e),
        };
        self.platform = Some(Platform {
            runtime,
            local,
            ctx,
        });
        outcome
    }

    /// The roles preflight, unless it ran while planning, then the local platform's entities.
    fn before_sending(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        client: &Client,
        local: Option<&LocalPlatform>,
    ) -> anyhow::Result<()> {
        if !self.preflight_done {
            let partner = self.settings.partner_entity_id.clone();
            runtime
                .block_on(crate::roles::check_plan_with(
                    client,
                    partner.as_deref(),
                    &mut self.plan,
                ))
                .map_err(platform_error)?;
            self.preflight_done = true;
        }
        if let Some(local) = local {
            let subjects = crate::roles::subjects_of_plan(&self.plan);
            local.seed_usable(&crate::roles::entity_ids(&subjects))?;
        }
        Ok(())
    }

    /// Polls `refresh` (with backoff) until every course of `course_ids` that is in review has
    /// been decided, or `timeout` passes (PRODUCT.md "Waits are bounded").
    pub fn wait(
        &mut self,
        course_ids: &[String],
        timeout: Duration,
        events: &dyn Events,
    ) -> anyhow::Result<WaitReport> {
        let platform = self
            .platform
            .as_ref()
            .context("wait comes after apply in a session")?;
        let state_path = self.settings.state_path.clone();
        platform.runtime.block_on(wait_for_audits(
            &platform.ctx.client,
            &state_path,
            course_ids,
            timeout,
            events,
        ))
    }

    /// Stops the local platform (when one runs) and releases the lock.
    pub fn finish(mut self) -> anyhow::Result<()> {
        if let Some(platform) = self.platform.take() {
            if let Some(local) = platform.local {
                platform.runtime.block_on(local.shutdown());
            }
            drop(platform.ctx);
        }
        self.guard.release().map_err(state_error)
    }
}

/// What `--wait` saw.
#[derive(Debug, Default)]
pub struct WaitReport {
    /// The courses of this run that were in review when the wait began.
    pub waited_for: BTreeSet<String>,
    /// Those rejected since, with the reason.
    pub rejected: Vec<(String, Option<String>)>,
    /// Those still in review when the time ran out.
    pub still_in_review: BTreeSet<String>,
    pub timeout: Duration,
}

impl WaitReport {
    /// Every course waited for was approved in time.
    pub fn all_approved(&self) -> bool {
        self.rejected.is_empty() && self.still_in_review.is_empty()
    }
}

/// The first pause between two polls of `--wait`; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(30);

async fn wait_for_audits(
    client: &Client,
    state_path: &std::path::Path,
    course_ids: &[String],
    timeout: Duration,
    events: &dyn Events,
) -> anyhow::Result<WaitReport> {
    // A second connection to the state file; apply's own is inside its context.
    let state = State::open(state_path).map_err(state_error)?;
    let in_review = |state: &State| -> anyhow::Result<BTreeSet<String>> {
        let courses = state.courses_without_payloads().map_err(state_error)?;
        Ok(course_ids
            .iter()
            .filter(|id| courses.get(*id).is_some_and(|c| c.audit == Audit::InReview))
            .cloned()
            .collect())
    };
    let waited_for = in_review(&state)?;
    let mut report = WaitReport {
        timeout,
        ..WaitReport::default()
    };
    if waited_for.is_empty() {
        return Ok(report);
    }
    events.on(Event::WaitStarted {
        courses: waited_for.len(),
        timeout,
    });
    let deadline = Instant::now() + timeout.min(crate::duration::MAX);
    let mut pause = FIRST_POLL;
    report.still_in_review = loop {
        let found = audit::refresh(client, &state).await.map_err(|e| {
            super::refresh::refresh_error(e)
                .context("waiting for audits (the apply itself is recorded in state)")
        })?;
        let changes = RefreshReport {
            courses: found.courses,
            resources: found.resources,
            ..RefreshReport::default()
        };
        if !changes.is_unchanged() {
            events.on(Event::Refreshed(&changes));
        }
        let pending = in_review(&state)?;
        let now = Instant::now();
        if pending.is_empty() || now >= deadline {
            break pending;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_POLL);
    };
    let courses = state.courses_without_payloads().map_err(state_error)?;
    report.rejected = waited_for
        .iter()
        .filter_map(|id| courses.get(id))
        .filter(|c| c.audit == Audit::Rejected)
        .map(|c| (c.course_id.clone(), c.reject_reason.clone()))
        .collect();
    report.waited_for = waited_for;
    Ok(report)
}
