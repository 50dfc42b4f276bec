//! The plan: what apply would do, as a value. [`diff`] is pure — catalog, file digests and a
//! snapshot of state in, [`Plan`] out — with actions in a stable order (uploads by file, then
//! courses by course_id). Rendering lives in [`render`]; the I/O that gathers the inputs lives
//! in [`prepare`].
//!
//! The decision table is PRODUCT.md "How the plan decides"; every row is a branch of
//! [`decide`], and a test in `tests/it/plan.rs` builds each row from a catalog and a seeded state.

pub mod canonical;
pub mod prepare;
pub mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::catalog::model::{Catalog, Course, FileRef};
use crate::state::{Audit, CourseRecord, ResourceRecord};

/// Version of the plan's JSON form (`plan --format json`, saved plans).
pub const FORMAT_VERSION: u32 = 1;

/// Upload status meaning "done" (one table: `platform::facts`).
pub const UPLOAD_DONE: i64 = crate::platform::facts::resource_status::DONE;

/// What state looks like to the planner.
#[derive(Debug, Default, Clone)]
pub struct StateView {
    /// `None` when there is no state file yet.
    pub lineage: Option<String>,
    pub serial: u64,
    pub courses: BTreeMap<String, CourseRecord>,
    pub resources: HashMap<(String, i64), ResourceRecord>,
}

/// Planner options from settings and flags.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub prune: bool,
    /// Only these course_ids (and their uploads); empty = all.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// The state the plan was made against; a saved plan is refused when it changed.
    pub state_lineage: Option<String>,
    pub state_serial: u64,
    /// Digest of the catalog (every course's payload hash and listing); a saved plan is refused
    /// when it changed.
    pub catalog_digest: String,
    pub targets: Vec<String>,
    pub summary: Summary,
    pub uploads: Vec<Upload>,
    pub courses: Vec<CourseChange>,
    pub notes: Vec<Note>,
    /// Courses the roles preflight took out of the plan, with the reason (`crate::roles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Blocked>,
    /// Why the roles preflight did not run, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_skipped: Option<String>,
}

/// A course the roles preflight withheld: its teacher or institution may not publish it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub course_id: String,
    pub title: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub modify: usize,
    pub path_only: usize,
    pub listing: usize,
    pub delist: usize,
    pub uploads: usize,
    /// Known courses unchanged and still in review (reported, not actions).
    pub in_review: usize,
    /// Known courses unchanged and still rejected (reported, not actions).
    pub rejected: usize,
}

impl Summary {
    /// The one line scripts parse (PRODUCT.md "How the plan decides"); the words never change
    /// with the counts.
    pub fn line(&self) -> String {
        format!(
            "Plan: {} to add, {} to modify (re-audit), {} path-only change, {} listing change, {} to delist, {} uploads.",
            self.add, self.modify, self.path_only, self.listing, self.delist, self.uploads
        )
    }
}

/// One file to upload once for one resource type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The resource key: the file's sha256, or `url:<sha256 of the URL>` for a hosted file.
    pub key: String,
    pub resource_type: i64,
    /// The catalog path (relative to the catalog directory) or the URL.
    pub source: String,
    pub is_url: bool,
    /// The courses that wait for it, sorted.
    pub needed_by: Vec<String>,
}

/// The platform write that sends a course's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Send {
    /// A course the platform does not know: `add`.
    Add,
    /// The first add was rejected (its product id is dead) and the course changed: `add` again.
    AddAgain,
    /// Content changed: `modify` (re-audit; the approved version stays live meanwhile).
    Modify,
    /// Only the page changed: `modify_no_audit`.
    ModifyNoAudit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseChange {
    pub course_id: String,
    pub title: String,
    pub product_id: Option<i64>,
    pub send: Option<Send>,
    /// `modify_status`: Some(true) list, Some(false) delist.
    pub listing: Option<bool>,
    /// The course is no longer in the catalog (a delist under `prune = true`).
    pub removed: bool,
    /// The payload to send (with `send`), and its hash.
    pub payload: Option<Value>,
    pub payload_hash: Option<String>,
    /// The desired listing; recorded so that apply can delist a new course once approved.
    pub listed: bool,
    pub changes: Vec<FieldChange>,
    /// Keys of the uploads this course waits for.
    pub uploads: Vec<String>,
    /// Things the reviewer should know (pending listing, still rejected...).
    pub notes: Vec<String>,
    /// For display: each `sha256:<hex>` value of the payload → the catalog file it came from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

/// One field that differs: `path` as in `price.real_price`, `lessons[1].file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub course_id: String,
    pub kind: NoteKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Rejected and unchanged since: nothing is sent.
    StillRejected,
    /// Removed from the catalog without `prune = true`: it stays as it is.
    RemovedKept,
    /// A listing change that waits for the first approval.
    PendingListing,
}

impl Plan {
    /// Whether apply would do anything.
    pub fn has_changes(&self) -> bool {
        !self.courses.is_empty() || !self.uploads.is_empty()
    }

    /// `Blocked: N courses by the roles preflight.` (PRODUCT.md "Roles"), the line that follows
    /// the summary line; `None` when nothing is blocked.
    pub fn blocked_line(&self) -> Option<String> {
        let n = self.blocked.len();
        (n > 0).then(|| {
            format!(
                "Blocked: {n} course{} by the roles preflight.",
                if n == 1 { "" } else { "s" }
            )
        })
    }

    /// The line that says the roles preflight did not run, and why; `None` when it ran.
    pub fn preflight_skipped_line(&self) -> Option<String> {
        self.preflight_skipped.as_ref().map(|why| {
            format!(
                "Roles preflight skipped ({why}): a course whose teacher or institution may not publish it is not detected; `coursesync roles` checks."
            )
        })
    }
}

/// The resource key of a file reference (see [`Upload::key`]).
pub fn resource_key(file: &FileRef, digests: &HashMap<String, String>) -> String {
    canonical::resource_key(&canonical::file_value(file, digests))
}

/// Every course's payload, computed once.
pub struct Desired<'a> {
    pub course: &'a Course,
    pub payload: Value,
    pub hash: String,
}

pub fn desired<'a>(catalog: &'a Catalog, digests: &HashMap<String, String>) -> Vec<Desired<'a>> {
    catalog
        .courses
        .iter()
        .map(|course| {
            let payload = canonical::payload(course, digests);
            let hash = canonical::hash(&payload);
            Desired {
                course,
                payload,
                hash,
            }
        })
        .collect()
}

/// The catalog's digest: what a saved plan was made from.
pub fn catalog_digest<'a>(courses: impl IntoIterator<Item = (&'a Course, &'a str)>) -> String {
    let mut h = Sha256::new();
    for (course, hash) in courses {
        h.update(course.course_id.as_bytes());
        h.update([0]);
        h.update(hash.as_bytes());
        h.update(if course.listed { b"\x01" } else { b"\x00" });
    }
    hex::encode(h.finalize())
}

/// The plan: what apply would do to bring the platform to the catalog.
pub fn diff(
    catalog: &Catalog,
    digests: &HashMap<String, String>,
    state: &StateView,
    options: &Options,
) -> Plan {
    diff_desired(&desired(catalog, digests), digests, state, options)
}

/// [`diff`] over payloads computed already (by [`prepare::prepare`], say).
pub fn diff_desired(
    desired: &[Desired<'_>],
    digests: &HashMap<String, String>,
    state: &StateView,
    options: &Options,
) -> Plan {
    let catalog_digest = catalog_digest(desired.iter().map(|d| (d.course, d.hash.as_str())));
    let targeted = |id: &str| options.targets.is_empty() || options.targets.iter().any(|t| t == id);
    let mut summary = Summary::default();
    let mut courses = Vec::new();
    let mut notes = Vec::new();
    let mut uploads: BTreeMap<(String, i64), Upload> = BTreeMap::new();

    for d in desired.iter().filter(|d| targeted(&d.course.course_id)) {
        let record = state.courses.get(&d.course.course_id);
        let Some(mut change) = decide(d, record, &mut notes, &mut summary) else {
            continue;
        };
        if matches!(change.send, Some(Send::Add | Send::AddAgain | Send::Modify)) {
            for u in d.course.file_uses() {
                let key = resource_key(&u.file, digests);
                let done = state
                    .resources
                    .get(&(key.clone(), u.resource_type))
                    .is_some_and(|r| r.status == UPLOAD_DONE);
                if done {
                    continue;
                }
                change.uploads.push(key.clone());
                let entry = uploads
                    .entry((key.clone(), u.resource_type))
                    .or_insert_with(|| Upload {
                        key,
                        resource_type: u.resource_type,
                        source: u.file.as_str().to_string(),
                        is_url: matches!(u.file, FileRef::Url(_)),
                        needed_by: Vec::new(),
                    });
                entry.needed_by.push(d.course.course_id.clone());
            }
            change.uploads.sort();
            change.uploads.dedup();
        }
        if change.send.is_some() {
            for u in d.course.file_uses() {
                if let FileRef::Local(rel) = &u.file {
                    change
                        .files
                        .insert(format!("sha256:{}", digests[rel]), rel.clone());
                }
            }
        }
        courses.push(change);
    }

    let present: BTreeSet<&str> = desired
        .iter()
        .map(|d| d.course.course_id.as_str())
        .collect();
    for (id, record) in &state.courses {
        if present.contains(id.as_str()) || !targeted(id) {
            continue;
        }
        removed(
            record,
            options.prune,
            &mut courses,
            &mut notes,
            &mut summary,
        );
    }

    courses.sort_by(|a, b| a.course_id.cmp(&b.course_id));
    let mut uploads: Vec<Upload> = uploads.into_values().collect();
    uploads.sort_by(|a, b| (&a.source, a.resource_type).cmp(&(&b.source, b.resource_type)));
    summary.uploads = uploads.len();
    notes.sort_by(|a, b| a.course_id.cmp(&b.course_id));
    Plan {
        format_version: FORMAT_VERSION,
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        catalog_digest,
        targets: options.targets.clone(),
        summary,
        uploads,
        courses,
        notes,
        blocked: Vec::new(),
        preflight_skipped: None,
    }
}

fn is_live(r: &CourseRecord) -> bool {
    r.approved_hash.is_some() || r.audit == Audit::Approved
}

/// One present course against its record: the rows of "How the plan decides".
fn decide(
    d: &Desired<'_>,
    record: Option<&CourseRecord>,
    notes: &mut Vec<Note>,
    summary: &mut Summary,
) -> Option<CourseChange> {
    let course = d.course;
    let mut change = CourseChange {
        course_id: course.course_id.clone(),
        title: course.title.trim().to_string(),
        product_id: record.and_then(|r| r.product_id),
        send: None,
        listing: None,
        removed: false,
        payload: None,
        payload_hash: None,
        listed: course.listed,
        changes: Vec::new(),
        uploads: Vec::new(),
        notes: Vec::new(),
        files: BTreeMap::new(),
    };
    let pending_delist = "listed = false: it will be delisted once the platform approves it";
    // Unknown, or known but never accepted by the platform: add.
    let record = match record {
        Some(r) if !(r.audit == Audit::NotSubmitted && r.product_id.is_none()) => r,
        _ => {
            change.send = Some(Send::Add);
            change.changes = field_changes(None, &d.payload);
            if !course.listed {
                change.notes.push(pending_delist.into());
            }
            summary.add += 1;
            return Some(change.with_payload(d));
        }
    };
    let old: Option<Value> = record
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    let unchanged = record.payload_hash.as_deref() == Some(d.hash.as_str());
    let content_changed =
        !unchanged && old.as_ref().map(canonical::content) != Some(canonical::content(&d.payload));
    let live = is_live(record);

    if record.audit == Audit::Rejected {
        let reason = record.reject_reason.as_deref().unwrap_or("no reason given");
        if unchanged {
            summary.rejected += 1;
            notes.push(Note {
                course_id: course.course_id.clone(),
                kind: NoteKind::StillRejected,
                message: format!("still rejected: {reason}; change the course to send it again"),
            });
        } else if !live {
            // The first add was rejected: that product id is dead (platform-api.md §5.1).
            change.send = Some(Send::AddAgain);
            change.product_id = None;
            summary.add += 1;
        } else if content_changed {
            change.send = Some(Send::Modify);
            summary.modify += 1;
        } else {
            change.send = Some(Send::ModifyNoAudit);
            change
                .notes
                .push(format!("the rejected modify stays rejected: {reason}"));
            summary.path_only += 1;
        }
    } else if !unchanged {
        if content_changed {
            change.send = Some(Send::Modify);
            summary.modify += 1;
        } else {
            change.send = Some(Send::ModifyNoAudit);
            summary.path_only += 1;
        }
    } else if record.audit == Audit::InReview {
        summary.in_review += 1;
    }
    if change.send.is_some() {
        change.changes = field_changes(old.as_ref(), &d.payload);
        change = change.with_payload(d);
    }

    if live && record.listed != course.listed {
        change.listing = Some(course.listed);
        summary.listing += 1;
    } else if !live && !course.listed && record.audit == Audit::InReview {
        notes.push(Note {
            course_id: course.course_id.clone(),
            kind: NoteKind::PendingListing,
            message: pending_delist.into(),
        });
    }
    (change.send.is_some() || change.listing.is_some()).then_some(change)
}

impl CourseChange {
    fn with_payload(mut self, d: &Desired<'_>) -> Self {
        self.payload = Some(d.payload.clone());
        self.payload_hash = Some(d.hash.clone());
        self
    }
}

/// A course in state that the catalog no longer has.
fn removed(
    record: &CourseRecord,
    prune: bool,
    courses: &mut Vec<CourseChange>,
    notes: &mut Vec<Note>,
    summary: &mut Summary,
) {
    let live = is_live(record);
    let id = record.course_id.clone();
    if live && record.listed {
        if prune {
            summary.delist += 1;
            courses.push(CourseChange {
                course_id: id,
                title: record.title.clone(),
                product_id: record.product_id,
                send: None,
                listing: Some(false),
                removed: true,
                payload: None,
                payload_hash: None,
                listed: false,
                changes: Vec::new(),
                uploads: Vec::new(),
                notes: Vec::new(),
                files: BTreeMap::new(),
            });
        } else {
            notes.push(Note {
                course_id: id,
                kind: NoteKind::RemovedKept,
                message: "removed from the catalog but still listed; set prune = true to delist it"
                    .into(),
            });
        }
    } else if !live && record.audit == Audit::InReview {
        let message = if prune {
            "removed from the catalog while in its first review: it will be delisted once approved"
        } else {
            "removed from the catalog while in its first review; set prune = true to delist it once approved"
        };
        notes.push(Note {
            course_id: id,
            kind: if prune {
                NoteKind::PendingListing
            } else {
                NoteKind::RemovedKept
            },
            message: message.into(),
        });
    }
}

/// Field-by-field differences between two payloads (`old = None`: everything is new).
pub fn field_changes(old: Option<&Value>, new: &Value) -> Vec<FieldChange> {
    let old: BTreeMap<String, Value> = old
        .map(canonical::flatten)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let new: BTreeMap<String, Value> = canonical::flatten(new).into_iter().collect();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out: Vec<FieldChange> = keys
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| FieldChange {
            path: k.clone(),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect();
    out.sort_by_key(|a| natural_key(&a.path));
    out
}

/// Orders `lessons[1].name` after `lessons[0].type` and `lessons[10]` after `lessons[9]`.
fn natural_key(path: &str) -> Vec<PathToken> {
    let mut out = Vec::new();
    for (i, part) in path.split('[').enumerate() {
        let rest = if i == 0 {
            part
        } else {
            let (num, rest) = part.split_once(']').unwrap_or((part, ""));
            out.push(PathToken::Index(num.parse().unwrap_or(0)));
            rest
        };
        if !rest.is_empty() {
            out.push(PathToken::Name(rest.to_string()));
        }
    }
    out
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PathToken {
    Index(u64),
    Name(String),
}

/// Why a saved plan may no longer be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("the saved plan was made for another state file (lineage {saved}, now {current})")]
    OtherState { saved: String, current: String },
    #[error("state changed since the plan was made (serial {saved} then, {current} now)")]
    StateChanged { saved: u64, current: u64 },
    #[error("the catalog changed since the plan was made")]
    CatalogChanged,
    #[error(
        "the saved plan has format version {0}; this coursesync reads version {FORMAT_VERSION}"
    )]
    Format(u32),
}

/// Checks a saved plan against the state and catalog of now (PRODUCT.md "The reviewed plan is
/// the applied plan"). Applying changes the serial, so a plan can be applied only once.
pub fn check_fresh(
    saved: &Plan,
    state: &StateView,
    current_catalog_digest: &str,
) -> Result<(), Stale> {
    if saved.format_version != FORMAT_VERSION {
        return Err(Stale::Format(saved.format_version));
    }
    // A plan made before any state file existed (lineage None, serial 0) is checked by serial
    // alone against the file apply created since.
    if let (Some(saved_lineage), Some(current)) = (&saved.state_lineage, &state.lineage)
        && saved_lineage != current
    {
        return Err(Stale::OtherState {
            saved: saved_lineage.clone(),
            current: current.clone(),
        });
    }
    if saved.state_lineage.is_none() && state.lineage.is_some() && state.serial != 0 {
        return Err(Stale::StateChanged {
            saved: 0,
            current: state.serial,
        });
    }
    if saved.state_lineage.is_some() && state.lineage.is_none() {
        return Err(Stale::OtherState {
            saved: saved.state_lineage.clone().unwrap_or_default(),
            current: "none: no state file".into(),
        });
    }
    if saved.state_serial != state.serial {
        return Err(Stale::StateChanged {
            saved: saved.state_serial,
            current: state.serial,
        });
    }
    if saved.catalog_digest != current_catalog_digest {
        return Err(Stale::CatalogChanged);
    }
    Ok(())
}
