//! Executes a [`Plan`] against the platform, recording every result in state the moment it
//! arrives.
//!
//! Order: each upload is a shared future; a course awaits exactly the uploads it needs, so uploads
//! always land (status 2) before the courses that use them, and a failed upload fails only its
//! courses (PRODUCT.md "One broken course never blocks the others"). Concurrency and the request
//! rate are bounded by the client, shared by all calls.
//!
//! Crash safety: an intent is journaled (committed; it survives a killed process) before each write and closed in the same
//! transaction that records the result. An `add` that the platform answers with "already in
//! review" (10140/10141, the product id in the message) is adopted, never duplicated: if a pending
//! intent of an earlier, interrupted run sent the same payload, the product is recorded as is;
//! otherwise the adopted product is brought to the payload with a `modify`.
//!
//! No blind re-add (PRODUCT.md): unless the platform is known to answer a repeated add with
//! 10140 (`add.repeat_answers_10140`), an add whose answer was lost — in this run (timeout, 5xx,
//! broken connection: the client does not retry it) or in a killed earlier run (its intent is
//! still pending) — is never sent again: the course is recorded as `unknown_outcome` and held
//! until `import --product-id N` or `apply --resend`.

pub mod request;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Shared};
use futures::{FutureExt as _, StreamExt as _};
use serde_json::Value;

use crate::events::{Event, Events};
use crate::plan::{CourseChange, Plan, Send, Upload, canonical};
use crate::platform::{Client, PlatformError, facts};
use crate::state::{AddDetail, Audit, CourseRecord, ResourceRecord, State, StateError, now_ms};

/// Everything a run needs.
pub struct Context {
    pub client: Client,
    pub state: Mutex<State>,
    pub appid: String,
    /// Ends with `/`; a catalog file `assets/a.mp4` is offered as `<base>assets/a.mp4?sha256=<hex>`.
    pub assets_base_url: Option<String>,
    pub upload_timeout: Duration,
    /// Told of each upload and course as it finishes.
    pub events: Arc<dyn Events>,
}

/// What one course's run came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseResult {
    pub course_id: String,
    /// What was done, in words ("added as 7301...", "modified", "delisted").
    pub done: Vec<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Its add's answer was lost: recorded as `unknown_outcome` and held (see the module doc).
    pub held: bool,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub courses: Vec<CourseResult>,
    pub uploads_done: usize,
    pub uploads_failed: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn failed(&self) -> usize {
        self.courses.iter().filter(|c| c.error.is_some()).count() + self.uploads_failed.len()
    }
}

type UploadFuture = Shared<BoxFuture<'static, Result<String, String>>>;

/// Course tasks in flight per permit of the client (see [`execute`]), and at least this many.
const COURSE_WINDOW_PER_PERMIT: usize = 8;
const MIN_COURSE_WINDOW: usize = 64;

/// Runs the plan. Never panics on platform errors: every failure is in the outcome.
pub async fn execute(ctx: Arc<Context>, plan: &Plan) -> Result<Outcome, StateError> {
    let started = Instant::now();
    ctx.events.on(Event::ApplyStarted {
        uploads: plan.uploads.len(),
        courses: plan.courses.len(),
    });
    if !ctx.client.facts().add_is_deduplicated() {
        hold_lost_adds(&lock(&ctx.state), plan)?;
    }
    let pending_adds = pending_adds(&ctx)?;
    let uris: Arc<Mutex<HashMap<(String, i64), String>>> = Arc::new(Mutex::new(
        lock(&ctx.state)
            .resources()?
            .into_values()
            .filter(|r| r.status == facts::resource_status::DONE)
            .map(|r| ((r.sha256, r.resource_type), r.uri))
            .collect(),
    ));

    let mut upload_futures: HashMap<String, Vec<(i64, UploadFuture)>> = HashMap::new();
    for up in &plan.uploads {
        let fut = upload(ctx.clone(), up.clone(), uris.clone())
            .boxed()
            .shared();
        upload_futures
            .entry(up.key.clone())
            .or_default()
            .push((up.resource_type, fut.clone()));
        // Drive every upload even if no course awaits it first.
        tokio::spawn(fut);
    }
    let upload_futures = Arc::new(upload_futures);

    // A bounded window of course tasks, not one task per course: each task owns a copy of its
    // change, so only the courses in flight are copied (a plan of 100,000 new courses is not held
    // twice). The window is wide enough that courses waiting for an upload do not starve the
    // others of the client's permits.
    let window = COURSE_WINDOW_PER_PERMIT
        .saturating_mul(ctx.client.concurrency())
        .max(MIN_COURSE_WINDOW);
    let mut finished: Vec<(usize, CourseResult)> =
        futures::stream::iter(plan.courses.iter().enumerate())
            .map(|(i, change)| {
                let (ctx, change, uploads, uris, pending) = (
                    ctx.clone(),
                    change.clone(),
                    upload_futures.clone(),
                    uris.clone(),
                    pending_adds.get(&change.course_id).cloned(),
                );
                let course_id = change.course_id.clone();
                let task = tokio::spawn(async move {
                    let result = course(&ctx, &change, &uploads, &uris, pending.as_deref()).await;
                    ctx.events.on(Event::CourseFinished);
                    result
                });
                async move {
                    let result = task.await.unwrap_or_else(|e| CourseResult {
                        course_id,
                        done: Vec::new(),
                        // A bug, reported as this course's failure rather than taking the run down.
                        error: Some(format!("internal error: the course task failed: {e}")),
                        held: false,
                    });
                    (i, result)
                }
            })
            .buffer_unordered(window)
            .collect()
            .await;
    finished.sort_unstable_by_key(|(i, _)| *i);
    let mut outcome = Outcome {
        courses: finished.into_iter().map(|(_, r)| r).collect(),
        ..Outcome::default()
    };
    for up in &plan.uploads {
        for (rt, fut) in &upload_futures[&up.key] {
            if *rt == up.resource_type {
                match fut.clone().await {
                    Ok(_) => outcome.uploads_done += 1,
                    Err(e) => outcome.uploads_failed.push((up.source.clone(), e)),
                }
            }
        }
    }
    // Intents of an interrupted earlier run that this run re-planned and settled.
    close_superseded(&ctx, plan)?;
    outcome.elapsed = started.elapsed();
    ctx.events.on(Event::ApplyFinished);
    Ok(outcome)
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// course_id → payload hash of `add` intents left pending by an interrupted run.
fn pending_adds(ctx: &Context) -> Result<HashMap<String, String>, StateError> {
    Ok(lock(&ctx.state)
        .journal_pending()?
        .into_iter()
        .filter(|e| e.action == "add")
        .filter_map(|e| Some((e.course_id, e.payload_hash?)))
        .collect())
}

/// The add intents of an interrupted earlier run that no record settles, on a platform not known
/// to deduplicate adds: each course is recorded as `unknown_outcome` (held), unless this plan
/// sends its add again, which only `--resend` makes it do (the plan held it otherwise), and then
/// the old intent is simply closed. The plan was made with these courses held already
/// (`plan::prepare`), so recording them changes nothing it decided. Called before the plan is
/// executed (also when there is nothing to execute) and again by [`execute`].
pub fn hold_lost_adds(state: &State, plan: &Plan) -> Result<(), StateError> {
    for (entry, existing) in state.lost_adds()? {
        let resent = plan.courses.iter().any(|c| {
            c.course_id == entry.course_id && matches!(c.send, Some(Send::Add | Send::AddAgain))
        });
        if resent {
            state.journal_finish(entry.id)?;
        } else {
            state.hold_lost_add(&entry, existing.as_ref())?;
        }
    }
    Ok(())
}

/// Closes pending intents of earlier runs for courses this run has settled: their outcome is now
/// known (a result was recorded, or the plan no longer needs the write).
fn close_superseded(ctx: &Context, plan: &Plan) -> Result<(), StateError> {
    let state = lock(&ctx.state);
    for entry in state.journal_pending()? {
        let settled = match entry.action.as_str() {
            // An add stays pending until a product is known for the course.
            "add" => entry.add_settled_by(state.course(&entry.course_id)?.as_ref()),
            _ => {
                !plan.courses.iter().any(|c| c.course_id == entry.course_id)
                    || state.course(&entry.course_id)?.is_some()
            }
        };
        if settled {
            state.journal_finish(entry.id)?;
        }
    }
    Ok(())
}

/// The URL the platform pulls a file from (PRODUCT.md "Settled details": the content hash in the
/// query, so no CDN cache can serve an old version).
pub fn offered_url(base: Option<&str>, up: &Upload) -> Result<String, String> {
    if up.is_url {
        return Ok(up.source.clone());
    }
    let base = base
        .ok_or("catalog.assets_base_url is not set: the platform needs a URL to pull files from")?;
    let path: String = up
        .source
        .split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/");
    Ok(format!("{base}{path}?sha256={}", up.key))
}

/// Uploads one file for one resource type and waits until the platform has it (status 2).
/// A pull that fails (status 3) is retried once afresh (PRODUCT.md "Waits are bounded").
async fn upload(
    ctx: Arc<Context>,
    up: Upload,
    uris: Arc<Mutex<HashMap<(String, i64), String>>>,
) -> Result<String, String> {
    let result = upload_inner(&ctx, &up).await;
    ctx.events.on(Event::UploadFinished);
    if let Ok(uri) = &result {
        uris.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((up.key.clone(), up.resource_type), uri.clone());
    }
    result
}

/// The longest upload wait, whatever the context says (the settings bound it the same way).
const MAX_UPLOAD_WAIT: Duration =
    Duration::from_secs(*crate::settings::bounds::UPLOAD_TIMEOUT_SECS.end());

async fn upload_inner(ctx: &Context, up: &Upload) -> Result<String, String> {
    let url = offered_url(ctx.assets_base_url.as_deref(), up)?;
    let owner = up.needed_by.first().cloned().unwrap_or_default();
    let deadline = Instant::now() + ctx.upload_timeout.min(MAX_UPLOAD_WAIT);
    for attempt in 0..2 {
        let journal = lock(&ctx.state)
            .journal_begin(&owner, "upload", Some(&up.key), Some(&url))
            .map_err(|e| e.to_string())?;
        // Audio, pdf and office go as `upload.resource_types` says; state keeps the catalog's
        // code, so a settled fact does not invalidate the uploads already recorded.
        let wire_type = ctx.client.facts().wire_resource_type(up.resource_type);
        let uploaded = ctx
            .client
            .upload_resource(wire_type, &url, Some(&up.key))
            .await
            .map_err(|e| format!("upload_resource: {e}"));
        let uploaded = match uploaded {
            Ok(u) => u,
            Err(e) => {
                let _ = lock(&ctx.state).journal_finish(journal);
                return Err(e);
            }
        };
        let record = |status: i64| ResourceRecord {
            sha256: up.key.clone(),
            resource_type: up.resource_type,
            uri: uploaded.uri.clone(),
            status,
            url: url.clone(),
            updated_at: now_ms(),
        };
        {
            let state = lock(&ctx.state);
            state
                .put_resource(&record(facts::resource_status::UPLOADING))
                .map_err(|e| e.to_string())?;
            state.journal_finish(journal).map_err(|e| e.to_string())?;
        }
        let mut delay = Duration::from_millis(50);
        loop {
            let status = ctx
                .client
                .query_resource_status(&uploaded.uri)
                .await
                .map_err(|e| format!("query_resource_status: {e}"))?;
            if status == facts::resource_status::DONE {
                lock(&ctx.state)
                    .put_resource(&record(status))
                    .map_err(|e| e.to_string())?;
                return Ok(uploaded.uri);
            }
            if status == facts::resource_status::FAILED {
                lock(&ctx.state)
                    .put_resource(&record(status))
                    .map_err(|e| e.to_string())?;
                if attempt == 0 {
                    break;
                }
                return Err(format!(
                    "the platform could not pull {url} (status 3, twice)"
                ));
            }
            if Instant::now() + delay > deadline {
                return Err(format!(
                    "the upload of {} did not finish within {}s (apply.upload_timeout)",
                    up.source,
                    ctx.upload_timeout.as_secs()
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
    Err(format!("the platform could not pull {url}"))
}

/// One course: wait for its uploads, send its payload, change its listing.
async fn course(
    ctx: &Context,
    change: &CourseChange,
    uploads: &HashMap<String, Vec<(i64, UploadFuture)>>,
    uris: &Mutex<HashMap<(String, i64), String>>,
    pending_add: Option<&str>,
) -> CourseResult {
    let mut result = CourseResult {
        course_id: change.course_id.clone(),
        done: Vec::new(),
        error: None,
        held: false,
    };
    let mut held = false;
    if let Err(e) = course_inner(
        ctx,
        change,
        uploads,
        uris,
        pending_add,
        &mut result.done,
        &mut held,
    )
    .await
    {
        result.error = Some(e);
        result.held = held;
    }
    result
}

async fn course_inner(
    ctx: &Context,
    change: &CourseChange,
    uploads: &HashMap<String, Vec<(i64, UploadFuture)>>,
    uris: &Mutex<HashMap<(String, i64), String>>,
    pending_add: Option<&str>,
    done: &mut Vec<String>,
    held: &mut bool,
) -> Result<(), String> {
    for key in &change.uploads {
        for (_, fut) in uploads.get(key).into_iter().flatten() {
            fut.clone()
                .await
                .map_err(|e| format!("not sent: an upload it needs failed: {e}"))?;
        }
    }
    let mut product_id = change.product_id;
    if let Some(send) = change.send {
        // Parsed for this course only: the plan keeps payloads packed.
        let payload = &change
            .payload
            .as_ref()
            .ok_or("the plan has no payload")?
            .value();
        let hash = change.payload_hash.as_deref().unwrap_or_default();
        let product = || {
            let uris = uris
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            request::product(payload, &change.course_id, &ctx.appid, &|key, rt| {
                uris.get(&(key.to_string(), rt)).cloned()
            })
            .map_err(|e| e.to_string())
        };
        match send {
            Send::Add | Send::AddAgain => {
                let body = product()?;
                let id = add(ctx, change, &body, payload, hash, pending_add, held).await?;
                done.push(format!("added as product {id}"));
                product_id = Some(id);
            }
            Send::Modify => {
                let id = product_id.ok_or("no product id to modify")?;
                let body = product()?;
                modify(ctx, change, id, &body, payload, hash).await?;
                done.push("modified (in review)".into());
            }
            Send::ModifyNoAudit => {
                let id = product_id.ok_or("no product id to modify")?;
                let paths =
                    request::path_info(payload, &change.course_id).map_err(|e| e.to_string())?;
                let journal = journal(ctx, &change.course_id, "modify_no_audit", Some(hash))?;
                let r = ctx.client.modify_no_audit(id, &paths).await;
                settle(ctx, journal, &r)?;
                r.map_err(|e| format!("modify_no_audit: {e}"))?;
                record(ctx, Some(journal), &change.course_id, |rec| {
                    // The page changes on both versions at once, without audit (§5.3).
                    if let (Some(approved), Some(page)) =
                        (rec.approved_payload.as_deref(), canonical::page(payload))
                        && let Ok(mut v) = serde_json::from_str::<Value>(approved)
                        && let Some(fields) = v.as_object_mut()
                    {
                        fields.insert(canonical::PAGE_KEY.to_string(), page.clone());
                        rec.approved_hash = Some(canonical::hash(&v));
                        rec.approved_payload = Some(v.to_string());
                    }
                    rec.payload = Some(payload.to_string());
                    rec.payload_hash = Some(hash.to_string());
                    rec.title.clone_from(&change.title);
                })?;
                done.push("page changed (no re-audit)".into());
            }
        }
    }
    if let Some(listed) = change.listing {
        let id = product_id.ok_or("no product id to list or delist")?;
        let journal = journal(ctx, &change.course_id, "modify_status", None)?;
        let r = ctx.client.modify_status(id, listed).await;
        settle(ctx, journal, &r)?;
        r.map_err(|e| format!("modify_status: {e}"))?;
        record(ctx, Some(journal), &change.course_id, |rec| {
            rec.listed = listed;
        })?;
        done.push(if listed {
            "listed".into()
        } else {
            "delisted".into()
        });
    }
    Ok(())
}

fn journal(
    ctx: &Context,
    course_id: &str,
    action: &str,
    hash: Option<&str>,
) -> Result<i64, String> {
    lock(&ctx.state)
        .journal_begin(course_id, action, hash, None)
        .map_err(|e| e.to_string())
}

/// Closes an intent whose write certainly did not happen (a refused request). An intent whose
/// answer was lost (timeout, 5xx after retries) stays pending for the next run to resolve.
fn settle<T>(ctx: &Context, journal: i64, result: &Result<T, PlatformError>) -> Result<(), String> {
    if let Err(e) = result
        && !e.is_transient()
    {
        lock(&ctx.state)
            .journal_finish(journal)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Updates a course's record (creating it when new) and closes its intent, in one transaction.
fn record(
    ctx: &Context,
    journal: Option<i64>,
    course_id: &str,
    update: impl FnOnce(&mut CourseRecord),
) -> Result<(), String> {
    let state = lock(&ctx.state);
    let now = now_ms();
    let mut rec = state
        .course(course_id)
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| CourseRecord {
            course_id: course_id.to_string(),
            title: String::new(),
            product_id: None,
            audit: Audit::NotSubmitted,
            reject_reason: None,
            listed: false,
            payload: None,
            payload_hash: None,
            approved_payload: None,
            approved_hash: None,
            first_applied_at: None,
            last_applied_at: None,
            updated_at: now,
            lesson_audits: None,
        });
    update(&mut rec);
    rec.first_applied_at.get_or_insert(now);
    rec.last_applied_at = Some(now);
    rec.updated_at = now;
    match journal {
        Some(j) => state.record_result(j, &rec),
        None => state.put_course(&rec),
    }
    .map_err(|e| e.to_string())
}

/// A new submission of `payload` is in review as `product_id`.
fn submitted(
    rec: &mut CourseRecord,
    change: &CourseChange,
    product_id: i64,
    payload: &Value,
    hash: &str,
) {
    rec.title.clone_from(&change.title);
    rec.product_id = Some(product_id);
    rec.audit = Audit::InReview;
    rec.reject_reason = None;
    rec.payload = Some(payload.to_string());
    rec.payload_hash = Some(hash.to_string());
}

async fn add(
    ctx: &Context,
    change: &CourseChange,
    body: &crate::platform::wire::Product,
    payload: &Value,
    hash: &str,
    pending_add: Option<&str>,
    held: &mut bool,
) -> Result<i64, String> {
    // The intent remembers what is needed to hold the course if this process dies before the
    // answer is recorded (see `state::AddDetail`).
    let detail = AddDetail {
        title: change.title.clone(),
        payload: Some(payload.to_string()),
        replaces: change.product_id,
    };
    let journal = lock(&ctx.state)
        .journal_begin(
            &change.course_id,
            "add",
            Some(hash),
            Some(&detail.to_json()),
        )
        .map_err(|e| e.to_string())?;
    let fresh = |rec: &mut CourseRecord, id: i64| {
        submitted(rec, change, id, payload, hash);
        // A new product: nothing of it is live yet (a re-add follows a dead, rejected id).
        rec.approved_payload = None;
        rec.approved_hash = None;
        rec.listed = false;
    };
    match ctx.client.add(body).await {
        Ok(added) => {
            record(ctx, Some(journal), &change.course_id, |rec| {
                fresh(rec, added.product_id)
            })?;
            Ok(added.product_id)
        }
        Err(PlatformError::AlreadyInReview {
            product_id,
            after_retry,
        }) => {
            // The platform already has this course_id alive: adopt its product (PRODUCT.md
            // "Crash-safe"). When it is this call's own earlier attempt, or an interrupted run's
            // add of the same payload, nothing more is needed; otherwise its content is unknown
            // and a modify brings it to the payload.
            let same = after_retry || pending_add == Some(hash);
            if same {
                record(ctx, Some(journal), &change.course_id, |rec| {
                    fresh(rec, product_id)
                })?;
            } else {
                record(ctx, Some(journal), &change.course_id, |rec| {
                    fresh(rec, product_id);
                    rec.payload = None;
                    rec.payload_hash = None;
                })?;
                modify(ctx, change, product_id, body, payload, hash).await?;
            }
            Ok(product_id)
        }
        Err(e) if e.maybe_performed() && !ctx.client.facts().add_is_deduplicated() => {
            // The platform may have the product, and a second add may create a second one:
            // hold the course, with what was sent, until someone finds out.
            record(ctx, Some(journal), &change.course_id, |rec| {
                submitted(rec, change, 0, payload, hash);
                rec.product_id = None;
                rec.audit = Audit::UnknownOutcome;
                rec.approved_payload = None;
                rec.approved_hash = None;
                rec.listed = false;
            })?;
            *held = true;
            // `e` names the endpoint already ("add: HTTP 504: …").
            Err(format!(
                "{e}; the platform may have performed it, so it is not sent again: held as \
                 unknown_outcome"
            ))
        }
        Err(e) => {
            settle(ctx, journal, &Err::<(), _>(e.clone()))?;
            Err(format!("add: {e}"))
        }
    }
}

async fn modify(
    ctx: &Context,
    change: &CourseChange,
    product_id: i64,
    body: &crate::platform::wire::Product,
    payload: &Value,
    hash: &str,
) -> Result<(), String> {
    let journal = journal(ctx, &change.course_id, "modify", Some(hash))?;
    let r = ctx.client.modify(product_id, body).await;
    settle(ctx, journal, &r)?;
    r.map_err(|e| format!("modify: {e}"))?;
    record(ctx, Some(journal), &change.course_id, |rec| {
        submitted(rec, change, product_id, payload, hash)
    })
}
