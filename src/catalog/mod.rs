//! The catalog: TOML course files → raw serde types ([`raw`]) → validated model ([`model`]).
//! Synchronous; the only I/O is reading the catalog's files. [`load`] never stops at the first
//! finding: it returns every finding of every file, sorted, and the courses that passed.

pub mod categories;
pub mod check;
pub mod codes;
pub mod diagnostics;
pub mod fields;
pub mod model;
pub mod raw;
pub mod render;
pub mod rules;
pub mod schema;

use std::path::{Path, PathBuf};

pub use diagnostics::{Diagnostic, Severity};
pub use model::{Catalog, Course, FileRef, FileUse};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog directory {0} does not exist")]
    Missing(PathBuf),
    #[error("cannot read the catalog directory {path}: {source}")]
    Walk {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What loading the catalog found.
#[derive(Debug)]
pub struct Loaded {
    /// The courses whose files have no error, sorted by course_id.
    pub catalog: Catalog,
    /// Every finding, sorted by file, line, column and code.
    pub diagnostics: Vec<Diagnostic>,
    /// How many course files were read.
    pub files: usize,
    /// The `stat` of every referenced local file, taken while checking it exists.
    pub file_meta: std::collections::HashMap<String, crate::hashing::Meta>,
}

impl Loaded {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Every `*.toml` file below `dir`, sorted, as (absolute path, path shown in findings).
/// Shown paths are relative to `display_root` (the settings file's directory) when possible.
pub fn course_files(
    dir: &Path,
    display_root: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>, CatalogError> {
    if !dir.is_dir() {
        return Err(CatalogError::Missing(dir.to_path_buf()));
    }
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| CatalogError::Walk {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "toml") {
            let abs = entry.into_path();
            let shown = abs
                .strip_prefix(display_root)
                .map_or_else(|_| abs.clone(), Path::to_path_buf);
            files.push((abs, shown));
        }
    }
    Ok(files)
}

/// Loads and checks the whole catalog, using every core for parsing.
pub fn load(dir: &Path, display_root: &Path) -> Result<Loaded, CatalogError> {
    let files = course_files(dir, display_root)?;
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let outcomes: Vec<(Vec<check::FileOutcome>, check::FsContext)> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let dir = &dir;
                scope.spawn(move || {
                    let mut fs =
                        check::FsContext::new(dir).map_err(|source| CatalogError::Walk {
                            path: dir.clone(),
                            source,
                        })?;
                    let outcomes = part
                        .iter()
                        .map(|(abs, shown)| read_and_check(abs, shown, &mut fs))
                        .collect();
                    Ok((outcomes, fs))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("catalog worker panicked"))
            .collect::<Result<_, CatalogError>>()
    })?;
    let mut courses = Vec::new();
    let mut diagnostics = Vec::new();
    let mut ids = Vec::new();
    let mut file_meta = std::collections::HashMap::new();
    let mut all = Vec::new();
    for (part, fs) in outcomes {
        file_meta.extend(fs.stats);
        all.extend(part);
    }
    for outcome in all {
        courses.extend(outcome.course);
        diagnostics.extend(outcome.diagnostics);
        ids.extend(outcome.id);
    }
    let duplicates = check::duplicate_ids(&ids);
    if !duplicates.is_empty() {
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (id, _) in &ids {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        courses.retain(|c: &Course| counts.get(c.course_id.as_str()).copied().unwrap_or(0) < 2);
    }
    diagnostics.extend(duplicates);
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    courses.sort_by(|a, b| a.course_id.cmp(&b.course_id));
    Ok(Loaded {
        catalog: Catalog { dir, courses },
        diagnostics,
        files: files.len(),
        file_meta,
    })
}

fn read_and_check(abs: &Path, shown: &Path, fs: &mut check::FsContext) -> check::FileOutcome {
    match std::fs::read_to_string(abs) {
        Ok(text) => check::check_file(shown, &text, fs),
        Err(e) => check::FileOutcome {
            course: None,
            id: None,
            diagnostics: vec![Diagnostic {
                code: rules::FILE_READ.code,
                severity: Severity::Error,
                message: format!("cannot read the course file: {e}"),
                location: diagnostics::Location {
                    file: shown.to_path_buf(),
                    line: 1,
                    col: 1,
                    span: 0..0,
                },
                hint: Some(rules::FILE_READ.hint.into()),
                related: Vec::new(),
            }],
        },
    }
}
