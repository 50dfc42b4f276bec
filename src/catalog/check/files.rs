//! File references: hosted URLs, and paths that must exist inside the catalog directory (no
//! `..`, no symlink out), with the `stat` each check takes kept for the hasher.

use super::{Checker, FileRef, HashMap, Path, PathBuf, Range, S, hosted_url, rules};

/// Resolves and caches where directories really lie, to keep files inside the catalog.
pub struct FsContext {
    root: PathBuf,
    root_canonical: PathBuf,
    /// Directory (relative to the root, `/`-separated) → whether it lies inside the catalog.
    dirs: HashMap<String, bool>,
}

impl FsContext {
    pub fn new(root: &Path) -> std::io::Result<FsContext> {
        Ok(FsContext {
            root: root.to_path_buf(),
            root_canonical: root.canonicalize()?,
            dirs: HashMap::new(),
        })
    }

    /// Whether the directory `rel` (relative to the root, normalized, `""` the root itself)
    /// exists and lies inside the catalog. Walks down from the root one component at a time,
    /// each directory looked at once (one `lstat`); only a symlink is resolved, to see where it
    /// leads. A file in a directory of 10,000 course directories costs one `lstat`, not a
    /// `realpath` of every component.
    pub(super) fn dir_inside(&mut self, rel: &str) -> bool {
        if rel.is_empty() {
            return true;
        }
        if let Some(&inside) = self.dirs.get(rel) {
            return inside;
        }
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let inside = self.dir_inside(parent) && {
            let abs = self.root.join(rel);
            match std::fs::symlink_metadata(&abs) {
                Ok(m) if m.file_type().is_symlink() => abs
                    .canonicalize()
                    .is_ok_and(|c| c.starts_with(&self.root_canonical) && c.is_dir()),
                Ok(m) => m.is_dir(),
                Err(_) => false,
            }
        };
        self.dirs.insert(rel.to_string(), inside);
        inside
    }
}

impl Checker<'_> {
    /// A file reference: an https:// URL (or an http:// one on a loopback host, see
    /// [`hosted_url`]), or a path inside the catalog whose file exists and whose extension
    /// fits `exts`.
    pub(super) fn file_ref(&mut self, v: &S<String>, exts: &[&str], role: &str) -> Option<FileRef> {
        let s = v.get_ref();
        let span = v.span();
        if let Some(url) = hosted_url(s) {
            let last = url.path().rsplit('/').next().unwrap_or("");
            if let Some((_, ext)) = last.rsplit_once('.') {
                self.extension(ext, exts, role, span.clone())?;
            }
            return Some(FileRef::Url(s.clone()));
        }
        if s.contains("://") {
            self.push(
                rules::FILE_URL,
                span,
                format!("{s:?} is not an https:// URL"),
            );
            return None;
        }
        let norm = self.local_path(s, span.clone())?;
        let ext = norm.rsplit_once('.').map_or("", |(_, e)| e).to_string();
        if ext.contains('/') || ext.is_empty() {
            self.extension("", exts, role, span)?;
        } else {
            self.extension(&ext, exts, role, span)?;
        }
        Some(FileRef::Local(norm))
    }

    pub(super) fn extension(
        &mut self,
        ext: &str,
        exts: &[&str],
        role: &str,
        span: Range<usize>,
    ) -> Option<()> {
        let lower = ext.to_ascii_lowercase();
        if exts.contains(&lower.as_str()) {
            return Some(());
        }
        let shown = if ext.is_empty() {
            "no extension".to_string()
        } else {
            format!(".{ext}")
        };
        self.push_hint(
            rules::FILE_EXTENSION,
            span,
            format!("{shown} does not fit {role}"),
            format!(
                "{role} take {}",
                exts.iter()
                    .map(|e| format!(".{e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        None
    }

    /// Normalizes a relative path and checks the file exists inside the catalog.
    pub(super) fn local_path(&mut self, s: &str, span: Range<usize>) -> Option<String> {
        if s.is_empty() {
            self.push(rules::FILE_MISSING, span, "empty file path");
            return None;
        }
        if s.starts_with('/') || s.contains('\\') || Path::new(s).is_absolute() {
            self.push(
                rules::FILE_OUTSIDE,
                span,
                format!("{s:?} is not a path relative to the catalog directory"),
            );
            return None;
        }
        let mut parts = Vec::new();
        for part in s.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    self.push(rules::FILE_OUTSIDE, span, format!("{s:?} uses `..`"));
                    return None;
                }
                p => parts.push(p),
            }
        }
        let norm = parts.join("/");
        let abs = self.fs.root.join(&norm);
        let shown = format!(
            "{}/{norm}",
            self.fs
                .root
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        );
        let meta = match std::fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(_) => {
                self.push(
                    rules::FILE_MISSING,
                    span,
                    format!("file {shown} does not exist"),
                );
                return None;
            }
        };
        let parent = norm.rsplit_once('/').map_or("", |(p, _)| p);
        let inside = self.fs.dir_inside(parent)
            && (!meta.file_type().is_symlink()
                || abs
                    .canonicalize()
                    .is_ok_and(|c| c.starts_with(&self.fs.root_canonical)));
        if !inside {
            self.push(
                rules::FILE_OUTSIDE,
                span,
                format!("{shown} leads outside the catalog directory through a symlink"),
            );
            return None;
        }
        let target = if meta.file_type().is_symlink() {
            std::fs::metadata(&abs).ok()
        } else {
            Some(meta)
        };
        let Some(target) = target.filter(std::fs::Metadata::is_file) else {
            self.push(
                rules::FILE_MISSING,
                span,
                format!("{shown} is not a regular file"),
            );
            return None;
        };
        self.files
            .push((norm.clone(), crate::hashing::Meta::of(&target)));
        Some(norm)
    }
}
