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
        count(&self.diagnostics, severity)
    }
}

/// Every `*.toml` file below `dir` (hidden files and directories skipped), sorted, as (absolute
/// path, path shown in findings). Shown paths are relative to `display_root` (the settings
/// file's directory) when possible. The directories are read in parallel (a catalog of 10,000
/// courses has as many asset directories to look through).
pub fn course_files(
    dir: &Path,
    display_root: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>, CatalogError> {
    if !dir.is_dir() {
        return Err(CatalogError::Missing(dir.to_path_buf()));
    }
    // A pool of its own: jwalk gives up ("thread-pool too busy") when the global pool is busy,
    // as it is when a library user or a test runs several scans at once.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let walker = jwalk::WalkDir::new(dir)
        .parallelism(jwalk::Parallelism::RayonNewPool(threads))
        .sort(true)
        .skip_hidden(true)
        .follow_links(false);
    let mut files = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|e| CatalogError::Walk {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() && entry.file_name().as_encoded_bytes().ends_with(b".toml") {
            let abs = entry.path();
            let shown = abs
                .strip_prefix(display_root)
                .map_or_else(|_| abs.clone(), Path::to_path_buf);
            files.push((abs, shown));
        }
    }
    files.sort();
    Ok(files)
}

/// A course file that checked clean: the course and the `stat` of each local file it uses.
pub struct Checked {
    pub course: Course,
    pub files: Vec<(String, crate::hashing::Meta)>,
}

/// What [`scan`] found: `f`'s value for each course that checked clean, by course_id (courses
/// whose id is used twice are left out: both places get a finding), and every finding.
pub struct Scanned<T> {
    /// The catalog directory, absolute.
    pub dir: PathBuf,
    /// (course_id, value), sorted by course_id.
    pub courses: Vec<(String, T)>,
    /// Every finding, sorted by file, line, column and code.
    pub diagnostics: Vec<Diagnostic>,
    /// How many course files were read.
    pub files: usize,
}

impl<T> Scanned<T> {
    pub fn errors(&self) -> usize {
        count(&self.diagnostics, Severity::Error)
    }
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

/// One file's result in [`scan`]: `f`'s value by course_id, the id where it is written, the
/// findings.
type Slim<T> = (
    Option<(String, T)>,
    Option<(String, diagnostics::Location)>,
    Vec<Diagnostic>,
);

/// Reads and checks every course file on every core, handing each course that checks clean to
/// `f` on the worker that checked it (so that whatever `f` makes of it, a payload and its hash
/// say, is made in parallel too, and the course itself need not be kept).
pub fn scan<T: Send>(
    dir: &Path,
    display_root: &Path,
    f: impl Fn(Checked) -> T + Sync,
) -> Result<Scanned<T>, CatalogError> {
    use rayon::prelude::*;
    let files = course_files(dir, display_root)?;
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    // Fails here, once, when the directory cannot be resolved; each worker makes its own.
    check::FsContext::new(&dir).map_err(|source| CatalogError::Walk {
        path: dir.clone(),
        source,
    })?;
    // Each file's result is kept slim (`f`'s value, the id, the findings), not its whole
    // outcome: at 100,000 courses a vector of full outcomes alone was over 100 MB.
    let outcomes: Vec<Slim<T>> = files
        .par_iter()
        .map_init(
            || check::FsContext::new(&dir).ok(),
            |fs, (abs, shown)| {
                let Some(fs) = fs else {
                    let outcome = unreadable(shown, "the catalog directory cannot be resolved");
                    return (None, outcome.id, outcome.diagnostics);
                };
                let outcome = read_and_check(abs, shown, fs);
                let value = outcome.course.map(|course| {
                    let id = course.course_id.clone();
                    (
                        id,
                        f(Checked {
                            course,
                            files: outcome.files,
                        }),
                    )
                });
                (value, outcome.id, outcome.diagnostics)
            },
        )
        .collect();
    let mut courses = Vec::with_capacity(outcomes.len());
    let mut diagnostics = Vec::new();
    let mut ids = Vec::new();
    for (value, id, found) in outcomes {
        courses.extend(value);
        diagnostics.extend(found);
        ids.extend(id);
    }
    let duplicates = check::duplicate_ids(&ids);
    if !duplicates.is_empty() {
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (id, _) in &ids {
            *counts.entry(id.as_str()).or_default() += 1;
        }
        courses.retain(|(id, _)| counts.get(id.as_str()).copied().unwrap_or(0) < 2);
    }
    diagnostics.extend(duplicates);
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    courses.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Scanned {
        dir,
        courses,
        diagnostics,
        files: files.len(),
    })
}

/// Loads and checks the whole catalog, keeping every course ([`scan`] keeps what it is told).
pub fn load(dir: &Path, display_root: &Path) -> Result<Loaded, CatalogError> {
    let scanned = scan(dir, display_root, |c| c)?;
    let mut file_meta = std::collections::HashMap::new();
    let mut courses = Vec::with_capacity(scanned.courses.len());
    for (_, checked) in scanned.courses {
        file_meta.extend(checked.files);
        courses.push(checked.course);
    }
    Ok(Loaded {
        catalog: Catalog {
            dir: scanned.dir,
            courses,
        },
        diagnostics: scanned.diagnostics,
        files: scanned.files,
        file_meta,
    })
}

fn unreadable(shown: &Path, message: &str) -> check::FileOutcome {
    check::FileOutcome {
        course: None,
        id: None,
        diagnostics: vec![Diagnostic {
            code: rules::FILE_READ.code,
            severity: Severity::Error,
            message: message.to_string(),
            location: diagnostics::Location {
                file: shown.to_path_buf(),
                line: 1,
                col: 1,
                span: 0..0,
            },
            hint: Some(rules::FILE_READ.hint.into()),
            related: Vec::new(),
        }],
        files: Vec::new(),
    }
}

fn read_and_check(abs: &Path, shown: &Path, fs: &mut check::FsContext) -> check::FileOutcome {
    match std::fs::read_to_string(abs) {
        Ok(text) => check::check_file(shown, &text, fs),
        Err(e) => unreadable(shown, &format!("cannot read the course file: {e}")),
    }
}
