//! `coursesync init [DIR]`: scaffolds a new catalog repository — settings on the local emulator,
//! one example course with tiny valid assets (embedded in the binary), `.gitignore`, the editor
//! schema mapping (`.taplo.toml` and the schemas themselves in `schema/`, so editors need no
//! network), a GitHub Actions workflow and its GitLab CI equivalent under `docs/ci/`.
//!
//! It never overwrites anything: every target path is checked first, and if any exists (or a
//! parent of one is not a directory) nothing is written. Files are created with `create_new`,
//! and should one fail anyway (a race, a full disk), what this run created is removed again.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::schema::{self, Kind};

/// One file of the scaffold: its path relative to the new repository, and its bytes.
#[derive(Debug, Clone)]
pub struct File {
    pub path: &'static str,
    pub contents: Cow<'static, [u8]>,
}

/// Where the GitHub Actions workflow goes.
pub const GITHUB_WORKFLOW: &str = ".github/workflows/coursesync.yml";
/// Where the GitLab CI equivalent goes (to be copied to `.gitlab-ci.yml`).
pub const GITLAB_CI: &str = "docs/ci/gitlab-ci.yml";

/// Every file `init` writes, in the order it writes them.
pub fn files() -> Vec<File> {
    let text = |path, contents: &'static str| File {
        path,
        contents: Cow::Borrowed(contents.as_bytes()),
    };
    let bytes = |path, contents: &'static [u8]| File {
        path,
        contents: Cow::Borrowed(contents),
    };
    let schema = |kind: Kind, path| File {
        path,
        contents: Cow::Owned(schema::generate(kind).into_bytes()),
    };
    vec![
        text("coursesync.toml", include_str!("init/coursesync.toml")),
        text(
            "catalog/example-101.toml",
            include_str!("init/example.toml"),
        ),
        bytes(
            "catalog/assets/example-101/cover.jpg",
            include_bytes!("init/assets/cover.jpg"),
        ),
        bytes(
            "catalog/assets/example-101/01-welcome.mp4",
            include_bytes!("init/assets/01-welcome.mp4"),
        ),
        bytes(
            "catalog/assets/example-101/detail.png",
            include_bytes!("init/assets/detail.png"),
        ),
        text(".gitignore", include_str!("init/gitignore")),
        text(".taplo.toml", include_str!("init/taplo.toml")),
        schema(Kind::Course, "schema/course.schema.json"),
        schema(Kind::Settings, "schema/settings.schema.json"),
        text(GITHUB_WORKFLOW, include_str!("init/github-workflow.yml")),
        text(GITLAB_CI, include_str!("init/gitlab-ci.yml")),
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{dir} is not a directory")]
    NotADirectory { dir: PathBuf },
    #[error("refusing to overwrite: {} already exist{}", list(.paths), if .paths.len() == 1 { "s" } else { "" })]
    Exists { paths: Vec<PathBuf> },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl InitError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            InitError::Exists { .. } => Some(
                "nothing was written; init a new directory (coursesync init DIR), or move those paths aside"
                    .into(),
            ),
            InitError::NotADirectory { .. } => Some("give a directory, or a path that does not exist yet".into()),
            InitError::Write { .. } => None,
        }
    }
}

/// What `init` wrote.
#[derive(Debug)]
pub struct Created {
    /// The repository's directory.
    pub dir: PathBuf,
    /// The files written, relative to it.
    pub files: Vec<&'static str>,
}

/// Writes the scaffold into `dir` (created when missing), or nothing at all.
pub fn init(dir: &Path) -> Result<Created, InitError> {
    let files = files();
    if dir.exists() && !dir.is_dir() {
        return Err(InitError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let taken = taken(dir, &files);
    if !taken.is_empty() {
        return Err(InitError::Exists { paths: taken });
    }
    let mut made_dirs: Vec<PathBuf> = Vec::new();
    let mut made_files: Vec<PathBuf> = Vec::new();
    let result = files.iter().try_for_each(|file| {
        let path = dir.join(file.path);
        create_parents(&path, &mut made_dirs)?;
        write_new(&path, &file.contents).map_err(|source| InitError::Write {
            path: path.clone(),
            source,
        })?;
        made_files.push(path);
        Ok(())
    });
    if let Err(e) = result {
        // Leave the directory as it was: remove what this run created, newest first.
        for path in made_files.iter().rev() {
            let _ = std::fs::remove_file(path);
        }
        for path in made_dirs.iter().rev() {
            let _ = std::fs::remove_dir(path);
        }
        return Err(e);
    }
    Ok(Created {
        dir: dir.to_path_buf(),
        files: files.iter().map(|f| f.path).collect(),
    })
}

/// The target paths that exist already, and the parents of targets that exist but are not
/// directories: each one would make init overwrite something or fail halfway.
fn taken(dir: &Path, files: &[File]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for file in files {
        let target = Path::new(file.path);
        if dir.join(target).symlink_metadata().is_ok() {
            found.push(target.to_path_buf());
            continue;
        }
        for parent in target.ancestors().skip(1) {
            if parent.as_os_str().is_empty() {
                break;
            }
            if let Ok(meta) = dir.join(parent).metadata()
                && !meta.is_dir()
            {
                found.push(parent.to_path_buf());
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Creates the missing directories above `path`, recording each one created.
fn create_parents(path: &Path, made: &mut Vec<PathBuf>) -> Result<(), InitError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .collect();
    for dir in missing.into_iter().rev() {
        std::fs::create_dir(dir).map_err(|source| InitError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        made.push(dir.to_path_buf());
    }
    Ok(())
}

fn write_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_have_distinct_relative_paths() {
        let files = files();
        let mut paths: Vec<&str> = files.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), files.len());
        assert!(
            paths
                .iter()
                .all(|p| !p.starts_with('/') && !p.contains(".."))
        );
    }

    #[test]
    fn a_file_where_a_directory_must_go_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("catalog"), "not a directory").unwrap();
        let err = init(dir.path()).unwrap_err();
        match err {
            InitError::Exists { paths } => assert_eq!(paths, [PathBuf::from("catalog")]),
            other => panic!("unexpected {other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "init wrote something: {left:?}");
    }
}
