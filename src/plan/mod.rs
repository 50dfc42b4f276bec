//! The plan: what apply would do, as a value. [`diff`] is pure — catalog, file digests and a
//! snapshot of state in, [`Plan`] out — with actions in a stable order (uploads by file, then
//! courses by course_id). Rendering lives in [`render`]; the I/O that gathers the inputs lives
//! in [`prepare`].
//!
//! The decision table is PRODUCT.md "How the plan decides"; every row is a branch of
//! [`decide`], and a test in `tests/it/plan.rs` builds each row from a catalog and a seeded state.

pub mod canonical;
pub mod display;
pub mod prepare;
pub mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::catalog::model::{Catalog, Course, FileRef};
use crate::packed::Packed;
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
    /// Held courses (`unknown_outcome`) to add again, knowingly (`apply --resend`).
    pub resend: Vec<String>,
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
    /// Courses held because their add's outcome is unknown (reported, not actions). Written
    /// only when there are some.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held: usize,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if signature"
)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    /// Adds `other`'s counts to these (every field: a new count must be added here too).
    pub fn absorb(&mut self, other: &Summary) {
        let Summary {
            add,
            modify,
            path_only,
            listing,
            delist,
            uploads,
            in_review,
            rejected,
            held,
        } = *other;
        self.add += add;
        self.modify += modify;
        self.path_only += path_only;
        self.listing += listing;
        self.delist += delist;
        self.uploads += uploads;
        self.in_review += in_review;
        self.rejected += rejected;
        self.held += held;
    }

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

/// One course the plan changes. Serialized (the JSON plan, a saved plan) with every field
/// change, an add's included; in memory an add keeps only its payload, compactly (see
/// [`CourseChange::field_changes`]), so that a plan of 100,000 new courses stays small.
#[derive(Debug, Clone, Deserialize)]
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
    pub payload: Option<Packed>,
    pub payload_hash: Option<String>,
    /// The desired listing; recorded so that apply can delist a new course once approved.
    pub listed: bool,
    /// The fields that differ. Empty for an add made by the planner (every field of its payload
    /// is new): read them with [`CourseChange::field_changes`].
    pub changes: Vec<FieldChange>,
    /// Keys of the uploads this course waits for.
    pub uploads: Vec<String>,
    /// Things the reviewer should know (pending listing, still rejected...).
    pub notes: Vec<String>,
    /// For display: each `sha256:<hex>` value of the payload → the catalog file it came from.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

impl CourseChange {
    /// The fields that differ: `changes`, or for an add every field of its payload.
    pub fn field_changes(&self) -> std::borrow::Cow<'_, [FieldChange]> {
        match (&self.send, &self.payload) {
            (Some(Send::Add), Some(payload)) if self.changes.is_empty() => {
                std::borrow::Cow::Owned(field_changes(None, &payload.value()))
            }
            _ => std::borrow::Cow::Borrowed(&self.changes),
        }
    }
}

/// Equal as they read: an add's changes compare as [`CourseChange::field_changes`] (a plan read
/// back from its JSON carries them, the planner's does not).
impl PartialEq for CourseChange {
    fn eq(&self, other: &CourseChange) -> bool {
        // Destructured in full: a new field fails to compile here until it is compared.
        let CourseChange {
            course_id,
            title,
            product_id,
            send,
            listing,
            removed,
            payload,
            payload_hash,
            listed,
            changes: _,
            uploads,
            notes,
            files,
        } = self;
        *course_id == other.course_id
            && *title == other.title
            && *product_id == other.product_id
            && *send == other.send
            && *listing == other.listing
            && *removed == other.removed
            && *payload == other.payload
            && *payload_hash == other.payload_hash
            && *listed == other.listed
            && *uploads == other.uploads
            && *notes == other.notes
            && *files == other.files
            && self.field_changes() == other.field_changes()
    }
}

impl Serialize for CourseChange {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The serialized form, field for field (an add's changes filled in).
        #[derive(Serialize)]
        struct Out<'a> {
            course_id: &'a str,
            title: &'a str,
            product_id: Option<i64>,
            send: Option<Send>,
            listing: Option<bool>,
            removed: bool,
            payload: Option<&'a Packed>,
            payload_hash: Option<&'a str>,
            listed: bool,
            changes: std::borrow::Cow<'a, [FieldChange]>,
            uploads: &'a [String],
            notes: &'a [String],
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            files: &'a BTreeMap<String, String>,
        }
        // Destructured in full: a new field fails to compile here until it is serialized.
        let CourseChange {
            course_id,
            title,
            product_id,
            send,
            listing,
            removed,
            payload,
            payload_hash,
            listed,
            changes: _,
            uploads,
            notes,
            files,
        } = self;
        Out {
            course_id,
            title,
            product_id: *product_id,
            send: *send,
            listing: *listing,
            removed: *removed,
            payload: payload.as_ref(),
            payload_hash: payload_hash.as_deref(),
            listed: *listed,
            changes: self.field_changes(),
            uploads,
            notes,
            files,
        }
        .serialize(serializer)
    }
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
    /// Its add's answer was lost (`unknown_outcome`): nothing is sent until it is resolved.
    Held,
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

/// The catalog's digest: what a saved plan was made from. `courses`: (course_id, payload hash,
/// listed) of every course, in course_id order.
pub fn catalog_digest<'a>(courses: impl IntoIterator<Item = (&'a str, &'a str, bool)>) -> String {
    let mut h = Sha256::new();
    for (course_id, hash, listed) in courses {
        h.update(course_id.as_bytes());
        h.update([0]);
        h.update(hash.as_bytes());
        h.update(if listed { b"\x01" } else { b"\x00" });
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

/// [`diff`] over payloads computed already.
pub fn diff_desired(
    desired: &[Desired<'_>],
    digests: &HashMap<String, String>,
    state: &StateView,
    options: &Options,
) -> Plan {
    let entries = desired
        .iter()
        .map(|d| {
            let decided = if options.targeted(&d.course.course_id) {
                decide_one(d, state.courses.get(&d.course.course_id), options)
            } else {
                Decided::default()
            };
            let course = decided
                .sends()
                .then_some(std::borrow::Cow::Borrowed(d.course));
            Entry::new(
                d.course.course_id.clone(),
                d.hash.clone(),
                d.course.listed,
                decided,
                course,
            )
        })
        .collect();
    assemble(entries, digests, state, options)
}

impl Options {
    /// Whether `course_id` is planned (no targets: every course).
    pub fn targeted(&self, course_id: &str) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t == course_id)
    }
}

/// What the planner decided for one catalog course on its own: its change (if any), the notes
/// about it, and its counts.
#[derive(Debug, Default)]
pub struct Decided {
    pub change: Option<CourseChange>,
    pub notes: Vec<Note>,
    pub summary: Summary,
}

impl Decided {
    /// Whether the change sends the course's payload (its files then become uploads).
    pub fn sends(&self) -> bool {
        self.change.as_ref().is_some_and(|c| c.send.is_some())
    }
}

/// One catalog course as [`assemble`] takes it: small when nothing was decided for it (about
/// 170 bytes with its strings), which is most courses of a plan over a large catalog.
#[derive(Debug)]
pub struct Entry<'a> {
    pub course_id: String,
    /// The payload hash (for the catalog digest).
    pub hash: String,
    pub listed: bool,
    /// The decision, unless it was empty (no change, no note, no count).
    pub detail: Option<Box<Detail<'a>>>,
}

/// What was decided for a course, and the course itself when its change sends it (its files).
#[derive(Debug)]
pub struct Detail<'a> {
    pub decided: Decided,
    pub course: Option<std::borrow::Cow<'a, Course>>,
}

impl<'a> Entry<'a> {
    pub fn new(
        course_id: String,
        hash: String,
        listed: bool,
        decided: Decided,
        course: Option<std::borrow::Cow<'a, Course>>,
    ) -> Entry<'a> {
        let empty = decided.change.is_none()
            && decided.notes.is_empty()
            && decided.summary == Summary::default();
        Entry {
            course_id,
            hash,
            listed,
            detail: (!empty).then(|| Box::new(Detail { decided, course })),
        }
    }

    /// Whether the course is sent (its course is kept for its files).
    pub fn sends(&self) -> bool {
        self.detail.as_ref().is_some_and(|d| d.course.is_some())
    }
}

/// Decides one course against its record (pure): the rows of "How the plan decides".
pub fn decide_one(d: &Desired<'_>, record: Option<&CourseRecord>, options: &Options) -> Decided {
    let mut decided = Decided::default();
    let resend = options.resend.contains(&d.course.course_id);
    decided.change = decide(d, record, resend, &mut decided.notes, &mut decided.summary);
    decided
}

/// The plan from every course's decision: the uploads the sending courses need (each file once
/// per resource type, unless state has it uploaded already), the courses state knows and the
/// catalog no longer has, and everything in a stable order.
pub fn assemble(
    entries: Vec<Entry<'_>>,
    digests: &HashMap<String, String>,
    state: &StateView,
    options: &Options,
) -> Plan {
    let catalog_digest = catalog_digest(
        entries
            .iter()
            .map(|e| (e.course_id.as_str(), e.hash.as_str(), e.listed)),
    );
    let mut summary = Summary::default();
    let mut courses = Vec::new();
    let mut notes = Vec::new();
    let mut uploads: BTreeMap<(String, i64), Upload> = BTreeMap::new();
    let mut present: BTreeSet<String> = BTreeSet::new();

    for entry in entries {
        present.insert(entry.course_id);
        let Some(detail) = entry.detail else {
            continue;
        };
        let Detail {
            decided:
                Decided {
                    change,
                    notes: course_notes,
                    summary: counts,
                },
            course,
        } = *detail;
        summary.absorb(&counts);
        notes.extend(course_notes);
        let Some(mut change) = change else {
            continue;
        };
        if let Some(course) = course.as_deref() {
            if matches!(change.send, Some(Send::Add | Send::AddAgain | Send::Modify)) {
                for u in course.file_uses() {
                    let key = resource_key(&u.file, digests);
                    let done = state
                        .resources
                        .get(&(key.clone(), u.resource_type))
                        .is_some_and(|r| r.status == UPLOAD_DONE);
                    if done {
                        continue;
                    }
                    change.uploads.push(key.clone());
                    let upload = uploads
                        .entry((key.clone(), u.resource_type))
                        .or_insert_with(|| Upload {
                            key,
                            resource_type: u.resource_type,
                            source: u.file.as_str().to_string(),
                            is_url: matches!(u.file, FileRef::Url(_)),
                            needed_by: Vec::new(),
                        });
                    upload.needed_by.push(course.course_id.clone());
                }
                change.uploads.sort();
                change.uploads.dedup();
            }
            if change.send.is_some() {
                for u in course.file_uses() {
                    if let FileRef::Local(rel) = &u.file
                        && let Some(digest) = digests.get(rel)
                    {
                        change.files.insert(format!("sha256:{digest}"), rel.clone());
                    }
                }
            }
        }
        courses.push(change);
    }

    for (id, record) in &state.courses {
        if present.contains(id) || !options.targeted(id) {
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
    for u in &mut uploads {
        u.needed_by.sort();
    }
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
    resend: bool,
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
    // Its add's answer was lost: never re-added blindly (PRODUCT.md "No blind re-add").
    if let Some(r) = record.filter(|r| r.audit == Audit::UnknownOutcome) {
        if !resend {
            summary.held += 1;
            notes.push(Note {
                course_id: course.course_id.clone(),
                kind: NoteKind::Held,
                message: held_message(&r.course_id),
            });
            return None;
        }
        change
            .notes
            .push("sent again (--resend): its earlier add's outcome is unknown".into());
    }
    // Unknown, or known but never accepted by the platform (or resent knowingly): add.
    let record = match record {
        Some(r)
            if !(r.audit == Audit::NotSubmitted && r.product_id.is_none())
                && r.audit != Audit::UnknownOutcome =>
        {
            r
        }
        _ => {
            change.send = Some(Send::Add);
            // Every field is new: `field_changes()` derives them from the payload when shown.
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
        self.payload = Some(Packed::new(&d.payload));
        self.payload_hash = Some(d.hash.clone());
        self
    }
}

/// The note on a held course: what happened and what to do.
pub fn held_message(course_id: &str) -> String {
    format!(
        "held, not sent: the answer to its add was lost, so the platform may have it \
         (unknown_outcome); find the product (console, or the audit callback whose callback_data \
         is {course_id}) and run `coursesync import --product-id N`, or send it again knowingly \
         with `coursesync apply --resend {course_id}`"
    )
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
    } else if record.audit == Audit::UnknownOutcome {
        summary.held += 1;
        notes.push(Note {
            course_id: id.clone(),
            kind: NoteKind::Held,
            message: "removed from the catalog while held (unknown_outcome: the answer to its \
                      add was lost); if the platform has it, find the product and run \
                      `coursesync import --product-id N`, then prune can delist it"
                .into(),
        });
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
