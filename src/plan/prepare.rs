//! Gathers what a plan is made from, in one pass over the catalog that keeps only what the plan
//! needs. Refuses a catalog with errors: bad input never reaches the platform.
//!
//! State is read first (the light course records and the file stat cache). Then every course
//! file is read, checked, given its canonical payload and that payload's hash, and decided,
//! on every core ([`crate::catalog::scan`]): a course whose payload hash is the one state holds
//! is decided on the spot and its course and payload are dropped, so a plan that changes nothing
//! holds no payload at all (about 200 bytes a course). Only a changed course keeps its payload
//! and is decided afterwards against its full record (the old payload, for the field diff);
//! only a course with a file the stat cache does not know waits for that file to be hashed.

use std::collections::HashMap;

use anyhow::Context as _;
use serde_json::Value;

use super::{Desired, Entry, Options, Plan, StateView, canonical, decide_one};
use crate::catalog::{self, Checked, Course, FileRef};
use crate::error::state_error;
use crate::hashing::{self, HashStats, Meta};
use crate::settings::Settings;
use crate::state::{CourseRecord, FileStat, JournalEntry, State};

/// The catalog has errors: nothing is planned or sent. Carries the findings, for the caller to
/// show (the command line renders them before the error).
#[derive(Debug, thiserror::Error)]
#[error("the catalog has {errors} error{}: nothing was planned or sent", if *errors == 1 { "" } else { "s" })]
pub struct InvalidCatalog {
    pub errors: usize,
    pub diagnostics: Vec<crate::catalog::Diagnostic>,
    /// The directory the findings' paths are relative to.
    pub display_root: std::path::PathBuf,
}

/// What state holds that a plan needs, read before the catalog (so that `plan --refresh` can
/// fold drift into [`StateInputs::view`] before any course is decided).
pub struct StateInputs {
    state: Option<State>,
    write_cache: bool,
    /// The planner's view: light course records (no payload bodies); resources are read later,
    /// and only when some course is sent.
    pub view: StateView,
    cache: HashMap<String, FileStat>,
    /// Pending `add` intents whose outcome no record shows (a killed run), with the course's
    /// record: see [`StateInputs::hold_lost_adds`].
    pub lost_adds: Vec<(JournalEntry, Option<CourseRecord>)>,
}

impl StateInputs {
    /// Shows every lost add's course as held (`unknown_outcome`), as apply records it on a
    /// platform not known to deduplicate adds (PRODUCT.md "No blind re-add"); the caller knows
    /// the facts.
    pub fn hold_lost_adds(&mut self) {
        for (entry, existing) in &self.lost_adds {
            let held = entry.held_record(existing.as_ref());
            self.view.courses.insert(held.course_id.clone(), held);
        }
    }
}

/// Reads the state file when there is one (never creating it). With `write_cache`, it is opened
/// for writing so that the file stat cache can be updated afterwards (that does not change the
/// state's serial).
pub fn read_state(settings: &Settings, write_cache: bool) -> anyhow::Result<StateInputs> {
    let state = if settings.state_path.exists() {
        Some(if write_cache {
            State::open(&settings.state_path).map_err(state_error)?
        } else {
            State::open_readonly(&settings.state_path)
                .map_err(state_error)?
                .context("the state file disappeared")?
        })
    } else {
        None
    };
    let lost_adds = match &state {
        Some(s) => s.lost_adds()?,
        None => Vec::new(),
    };
    let (view, cache) = match &state {
        Some(s) => (
            StateView {
                lineage: Some(s.lineage()),
                serial: s.serial(),
                courses: s.courses_without_payloads()?,
                resources: HashMap::new(),
            },
            s.file_stats()?,
        ),
        None => (StateView::default(), HashMap::new()),
    };
    Ok(StateInputs {
        state,
        write_cache,
        view,
        cache,
        lost_adds,
    })
}

/// Everything a plan is made from.
pub struct Prepared {
    /// State as the plan sees it (with the resources when some course is sent).
    pub state: StateView,
    pub hash_stats: HashStats,
    entries: Vec<Entry<'static>>,
    /// sha256 of every local file of the courses that are sent.
    digests: HashMap<String, String>,
    options: Options,
}

impl Prepared {
    /// The catalog digest, as a saved plan records it.
    pub fn catalog_digest(&self) -> String {
        super::catalog_digest(
            self.entries
                .iter()
                .map(|e| (e.course_id.as_str(), e.hash.as_str(), e.listed)),
        )
    }

    /// The plan.
    pub fn plan(self) -> Plan {
        let Prepared {
            state,
            entries,
            digests,
            options,
            ..
        } = self;
        super::assemble(entries, &digests, &state, &options)
    }
}

/// [`read_state`], then [`prepare_with`].
pub fn prepare(
    settings: &Settings,
    write_cache: bool,
    options: &Options,
) -> anyhow::Result<Prepared> {
    prepare_with(settings, read_state(settings, write_cache)?, options)
}

/// What one course came to on its worker.
/// A course whose payload differs from state's: (course, payload, hash, file digests).
type ChangedCourse = (Course, Value, String, Vec<(String, String)>);

/// Small on purpose (the big variants boxed): one is kept per course until all are scanned.
enum Worked {
    /// Decided: unchanged, new, or not targeted.
    Done(Entry<'static>, Vec<(String, String)>),
    /// Its payload differs from the one state holds: decided once its full record is read.
    Changed(Box<ChangedCourse>),
    /// A file of it is not in the stat cache: waits for hashing.
    Unhashed(Box<Checked>),
}

/// The digests of `course`'s local files from the stat cache; `None` when one is not there.
fn cached_digests(
    files: &[(String, Meta)],
    cache: &HashMap<String, FileStat>,
) -> Option<Vec<(String, String)>> {
    files
        .iter()
        .map(|(rel, m)| {
            let c = cache.get(rel)?;
            ((c.size, c.mtime_ns, c.inode) == (m.size, m.mtime_ns, m.inode))
                .then(|| (rel.clone(), c.sha256.clone()))
        })
        .collect()
}

/// Payload, hash and, when it can be done without the full record, the decision.
fn work(
    course: Course,
    digests: Vec<(String, String)>,
    view: &StateView,
    options: &Options,
) -> Worked {
    let map: HashMap<String, String> = digests.iter().cloned().collect();
    let payload = canonical::payload(&course, &map);
    let hash = canonical::hash(&payload);
    if !options.targeted(&course.course_id) {
        let entry = Entry::new(
            course.course_id,
            hash,
            course.listed,
            super::Decided::default(),
            None,
        );
        return Worked::Done(entry, Vec::new());
    }
    let record = view.courses.get(&course.course_id);
    if record.is_some_and(|r| r.payload_hash.as_deref() != Some(hash.as_str())) {
        return Worked::Changed(Box::new((course, payload, hash, digests)));
    }
    Worked::Done(decided(course, payload, hash, record, options), digests)
}

/// Decides a course against `record` and keeps the course only when its change sends it.
fn decided(
    course: Course,
    payload: Value,
    hash: String,
    record: Option<&CourseRecord>,
    options: &Options,
) -> Entry<'static> {
    let desired = Desired {
        course: &course,
        payload,
        hash,
    };
    let decided = decide_one(&desired, record, options);
    let Desired { hash, .. } = desired;
    let (course_id, listed) = (course.course_id.clone(), course.listed);
    let course = decided.sends().then_some(std::borrow::Cow::Owned(course));
    Entry::new(course_id, hash, listed, decided, course)
}

/// Loads the catalog, hashes what the stat cache does not know, and decides every course (see
/// the module documentation). A catalog with errors is an [`InvalidCatalog`] error.
pub fn prepare_with(
    settings: &Settings,
    inputs: StateInputs,
    options: &Options,
) -> anyhow::Result<Prepared> {
    let StateInputs {
        state,
        write_cache,
        mut view,
        cache,
        ..
    } = inputs;
    let references = std::sync::atomic::AtomicUsize::new(0);
    let scanned = catalog::scan(&settings.catalog_dir, &settings.root, |checked| {
        references.fetch_add(checked.files.len(), std::sync::atomic::Ordering::Relaxed);
        match cached_digests(&checked.files, &cache) {
            Some(digests) => work(checked.course, digests, &view, options),
            None => Worked::Unhashed(Box::new(checked)),
        }
    })?;
    if scanned.errors() > 0 {
        return Err(anyhow::Error::new(InvalidCatalog {
            errors: scanned.errors(),
            diagnostics: scanned.diagnostics,
            display_root: settings.root.clone(),
        })
        .context(crate::error::Hint(
            "run `coursesync validate` and fix the findings".into(),
        )));
    }

    let mut entries = Vec::with_capacity(scanned.courses.len());
    let mut changed = Vec::new();
    let mut unhashed = Vec::new();
    let mut digests: HashMap<String, String> = HashMap::new();
    for (_, worked) in scanned.courses {
        match worked {
            Worked::Done(entry, files) => {
                if entry.sends() {
                    digests.extend(files);
                }
                entries.push(entry);
            }
            Worked::Changed(changed_course) => changed.push(*changed_course),
            Worked::Unhashed(checked) => unhashed.push(*checked),
        }
    }

    // Files the stat cache does not know: hashed once each, in parallel.
    let mut hash_stats = HashStats {
        files: references.into_inner(),
        ..HashStats::default()
    };
    if !unhashed.is_empty() {
        let mut rels: Vec<String> = Vec::new();
        let mut known: HashMap<String, Meta> = HashMap::new();
        for c in &unhashed {
            for (rel, meta) in &c.files {
                if known.insert(rel.clone(), *meta).is_none() {
                    rels.push(rel.clone());
                }
            }
        }
        let (fresh_digests, fresh, stats) = hashing::hash_with_known_stats(
            &scanned.dir,
            &rels,
            &cache,
            hashing::default_threads(),
            &known,
        )
        .context("hashing the catalog's files")?;
        hash_stats.hashed = stats.hashed;
        hash_stats.bytes_hashed = stats.bytes_hashed;
        if write_cache
            && !fresh.is_empty()
            && let Some(s) = &state
        {
            s.put_file_stats(&fresh)?;
        }
        for c in unhashed {
            let files: Vec<(String, String)> = c
                .files
                .iter()
                .filter_map(|(rel, _)| Some((rel.clone(), fresh_digests.get(rel)?.clone())))
                .collect();
            match work(c.course, files, &view, options) {
                Worked::Done(entry, files) => {
                    if entry.sends() {
                        digests.extend(files);
                    }
                    entries.push(entry);
                }
                Worked::Changed(changed_course) => changed.push(*changed_course),
                Worked::Unhashed(_) => {}
            }
        }
    }

    // Changed courses: decided against the full record (the old payload, for the field diff).
    // A record that already carries its payload (folded in from drift by `plan --refresh`)
    // is the one to plan against.
    for (course, payload, hash, files) in changed {
        let in_view = view.courses.get(&course.course_id);
        let full = match &state {
            Some(s) if in_view.is_none_or(|r| r.payload.is_none()) => {
                s.course(&course.course_id)?
            }
            _ => None,
        };
        let record = full.as_ref().or(in_view);
        let entry = decided(course, payload, hash, record, options);
        if entry.sends() {
            digests.extend(files);
        }
        entries.push(entry);
    }
    entries.sort_by(|a, b| a.course_id.cmp(&b.course_id));

    // Resources matter only to courses that are sent (which files are uploaded already).
    if entries.iter().any(Entry::sends)
        && let Some(s) = &state
    {
        view.resources = s.resources()?;
    }
    drop(cache);
    Ok(Prepared {
        state: view,
        hash_stats,
        entries,
        digests,
        options: options.clone(),
    })
}

/// The whole catalog with the digest of every local file, hashed afresh (no state): for tests
/// and tools that want the model itself. A catalog with errors is an [`InvalidCatalog`] error.
pub fn load_with_digests(
    settings: &Settings,
) -> anyhow::Result<(catalog::Loaded, HashMap<String, String>)> {
    let loaded = catalog::load(&settings.catalog_dir, &settings.root)?;
    if loaded.errors() > 0 {
        return Err(anyhow::Error::new(InvalidCatalog {
            errors: loaded.errors(),
            diagnostics: loaded.diagnostics,
            display_root: settings.root.clone(),
        }));
    }
    let mut rels: Vec<String> = loaded
        .catalog
        .courses
        .iter()
        .flat_map(Course::file_uses)
        .filter_map(|u| match u.file {
            FileRef::Local(rel) => Some(rel),
            FileRef::Url(_) => None,
        })
        .collect();
    rels.sort_unstable();
    rels.dedup();
    let (digests, _, _) = hashing::hash_with_known_stats(
        &loaded.catalog.dir,
        &rels,
        &HashMap::new(),
        hashing::default_threads(),
        &loaded.file_meta,
    )
    .context("hashing the catalog's files")?;
    Ok((loaded, digests))
}
