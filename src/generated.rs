//! Files the repository keeps although code generates them (docs/rules.md, and any other
//! generated reference): the one check their tests run, so that a stale file always fails.
//!
//! The test compares the committed file with what the code generates now. With
//! `COURSESYNC_UPDATE_DOCS=1` it rewrites the file and still fails, so that a run that updates a
//! file can never pass by comparing the file with itself: run again without the variable.

use std::path::Path;

/// Set to rewrite stale generated files (the test still fails once).
pub const ENV_UPDATE: &str = "COURSESYNC_UPDATE_DOCS";

/// `Ok` when the file at `path` holds exactly `expected`; otherwise an error saying what to run,
/// after rewriting the file when [`ENV_UPDATE`] is set.
pub fn check(path: &Path, expected: &str) -> Result<(), String> {
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    if actual == expected {
        return Ok(());
    }
    if std::env::var_os(ENV_UPDATE).is_some() {
        std::fs::write(path, expected).map_err(|e| {
            format!(
                "{} is stale and could not be rewritten: {e}",
                path.display()
            )
        })?;
        return Err(format!(
            "{} was stale and has been updated; re-run without {ENV_UPDATE}",
            path.display()
        ));
    }
    Err(format!(
        "{} is stale: run `{ENV_UPDATE}=1 cargo test`, then again without {ENV_UPDATE}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ENV_UPDATE` is read from the process environment, which tests share; these tests only
    // exercise the paths where it is unset unless the whole run sets it.
    #[test]
    fn a_fresh_file_passes_and_a_stale_one_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ref.md");
        std::fs::write(&path, "a\n").unwrap();
        assert_eq!(check(&path, "a\n"), Ok(()));
        let e = check(&path, "b\n").unwrap_err();
        assert!(e.contains("stale"), "{e}");
        if std::env::var_os(ENV_UPDATE).is_some() {
            // Rewritten, and it failed all the same.
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "b\n");
        } else {
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n");
        }
        assert!(check(&dir.path().join("missing.md"), "x").is_err());
    }
}
