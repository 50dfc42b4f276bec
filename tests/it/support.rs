//! Shared test helpers: temporary project directories and running the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A temporary project: `coursesync.toml` plus `catalog/` with the fixture assets copied in.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("coursesync.toml"),
            "[app]\nappid = \"tt_test_app\"\nenvironment = \"local\"\n",
        )
        .unwrap();
        let assets = dir.path().join("catalog/assets");
        std::fs::create_dir_all(&assets).unwrap();
        for entry in std::fs::read_dir(fixtures().join("assets")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), assets.join(entry.file_name())).unwrap();
        }
        Project { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn catalog(&self) -> PathBuf {
        self.root().join("catalog")
    }

    /// Writes a course file at `rel` below the catalog directory.
    pub fn course(&self, rel: &str, text: &str) -> &Project {
        let path = self.catalog().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn load(&self) -> coursesync::catalog::Loaded {
        coursesync::catalog::load(&self.catalog(), self.root()).unwrap()
    }

    /// Runs the real binary in the project directory.
    pub fn run(&self, args: &[&str]) -> Output {
        coursesync(self.root(), args)
    }
}

/// Runs the real `coursesync` binary in `dir` with no COURSESYNC_* variables from outside.
pub fn coursesync(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("COURSESYNC_") {
            cmd.env_remove(key);
        }
    }
    cmd.output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
