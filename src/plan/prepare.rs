//! Gathers what [`super::diff`] needs: the validated catalog, the digest of every local file
//! (stat cache first, then parallel hashing), and a snapshot of state. Refuses a catalog with
//! errors: bad input never reaches the platform.

use std::collections::HashMap;

use anyhow::Context as _;

use super::StateView;
use crate::catalog::{self, FileRef, Loaded};
use crate::hashing::{self, HashStats};
use crate::settings::Settings;
use crate::state::State;

/// Everything a plan is made from.
pub struct Prepared {
    pub loaded: Loaded,
    /// Local file (relative to the catalog directory) → sha256.
    pub digests: HashMap<String, String>,
    pub state: StateView,
    pub hash_stats: HashStats,
    /// Each course's canonical payload and hash, in catalog order (computed once).
    pub payloads: Vec<(serde_json::Value, String)>,
}

impl Prepared {
    /// The catalog digest, as a saved plan records it.
    pub fn catalog_digest(&self) -> String {
        super::catalog_digest(
            self.loaded
                .catalog
                .courses
                .iter()
                .zip(&self.payloads)
                .map(|(course, (_, hash))| (course, hash.as_str())),
        )
    }

    /// The plan, without computing any payload again.
    pub fn diff(self, options: &super::Options) -> super::Plan {
        let Prepared {
            loaded,
            digests,
            state,
            payloads,
            ..
        } = self;
        let desired: Vec<super::Desired<'_>> = loaded
            .catalog
            .courses
            .iter()
            .zip(payloads)
            .map(|(course, (payload, hash))| super::Desired {
                course,
                payload,
                hash,
            })
            .collect();
        let plan = super::diff_desired(&desired, &digests, &state, options);
        // Freeing a large catalog's payloads and state is a noticeable part of a no-op plan
        // (about a sixth at 10,000 courses, under `perf`); it is done off the caller's thread.
        let payloads: Vec<_> = desired.into_iter().map(|d| (d.payload, d.hash)).collect();
        std::thread::spawn(move || drop((loaded, digests, state, payloads)));
        plan
    }
}

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

/// Loads the catalog, hashes its files and reads state. A catalog with errors is an
/// [`InvalidCatalog`] error. With `write_cache`, the stat cache of an existing state file is
/// updated (this does not change the state's serial); no state file is ever created here.
pub fn prepare(settings: &Settings, write_cache: bool) -> anyhow::Result<Prepared> {
    let loaded = catalog::load(&settings.catalog_dir, &settings.root)?;
    if loaded.errors() > 0 {
        return Err(anyhow::Error::new(InvalidCatalog {
            errors: loaded.errors(),
            diagnostics: loaded.diagnostics,
            display_root: settings.root.clone(),
        })
        .context(crate::error::Hint(
            "run `coursesync validate` and fix the findings".into(),
        )));
    }
    let state = if settings.state_path.exists() {
        Some(if write_cache {
            State::open(&settings.state_path).map_err(crate::error::state_error)?
        } else {
            State::open_readonly(&settings.state_path)
                .map_err(crate::error::state_error)?
                .context("the state file disappeared")?
        })
    } else {
        None
    };
    let mut rels: Vec<String> = loaded
        .catalog
        .courses
        .iter()
        .flat_map(crate::catalog::Course::file_uses)
        .filter_map(|u| match u.file {
            FileRef::Local(rel) => Some(rel),
            FileRef::Url(_) => None,
        })
        .collect();
    rels.sort_unstable();
    rels.dedup();
    let cache = match &state {
        Some(s) => s.file_stats()?,
        None => HashMap::new(),
    };
    let (digests, fresh, hash_stats) = hashing::hash_with_known_stats(
        &loaded.catalog.dir,
        &rels,
        &cache,
        hashing::default_threads(),
        &loaded.file_meta,
    )
    .context("hashing the catalog's files")?;
    if write_cache
        && !fresh.is_empty()
        && let Some(s) = &state
    {
        s.put_file_stats(&fresh)?;
    }
    let desired = super::desired(&loaded.catalog, &digests);
    let view = match &state {
        Some(s) => {
            // Payloads are loaded only for courses whose hash differs (the light map keeps a
            // plan over 100,000 known courses fast).
            let mut courses = s.courses_without_payloads()?;
            for d in &desired {
                if let Some(r) = courses.get_mut(&d.course.course_id)
                    && r.payload_hash.as_deref() != Some(d.hash.as_str())
                    && let Some(full) = s.course(&d.course.course_id)?
                {
                    *r = full;
                }
            }
            StateView {
                lineage: Some(s.lineage()),
                serial: s.serial(),
                courses,
                resources: s.resources()?,
            }
        }
        None => StateView::default(),
    };
    let payloads = desired.into_iter().map(|d| (d.payload, d.hash)).collect();
    Ok(Prepared {
        loaded,
        digests,
        state: view,
        hash_stats,
        payloads,
    })
}
