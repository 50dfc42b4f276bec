//! File references: hosted URLs, and paths that must exist inside the catalog directory (no
//! `..`, no symlink out), with the `stat` each check takes kept for the hasher.

use rustix::fs::{AtFlags, FileType};

use super::{Checker, FileRef, HashMap, Path, PathBuf, Range, S, hosted_url, rules};

/// Resolves and caches where directories really lie, to keep files inside the catalog.
pub struct FsContext {
    root: PathBuf,
    root_canonical: PathBuf,
    /// The root, opened once: files and directories are looked up relative to it, so that the
    /// kernel walks only the path inside the catalog, not the whole absolute path, each time.
    root_fd: rustix::fd::OwnedFd,
    /// Directory (relative to the root, `/`-separated) → whether it lies inside the catalog.
    dirs: HashMap<String, bool>,
}

impl FsContext {
    pub fn new(root: &Path) -> std::io::Result<FsContext> {
        use rustix::fs::{Mode, OFlags};
        let root_fd = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(FsContext {
            root: root.to_path_buf(),
            root_canonical: root.canonicalize()?,
            root_fd,
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
        let inside = self.dir_inside(parent)
            && match self
                .lstat(rel)
                .map(|st| FileType::from_raw_mode(st.st_mode))
            {
                Some(FileType::Symlink) => self
                    .root
                    .join(rel)
                    .canonicalize()
                    .is_ok_and(|c| c.starts_with(&self.root_canonical) && c.is_dir()),
                Some(FileType::Directory) => true,
                _ => false,
            };
        self.dirs.insert(rel.to_string(), inside);
        inside
    }

    /// `rel` as findings show it: under the catalog directory's name.
    fn shown(&self, rel: &str) -> String {
        let name = self
            .root
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        format!("{name}/{rel}")
    }

    /// `lstat` of `rel` (relative to the root); `None` when it does not exist or cannot be read.
    fn lstat(&self, rel: &str) -> Option<rustix::fs::Stat> {
        rustix::fs::statat(&self.root_fd, rel, AtFlags::SYMLINK_NOFOLLOW).ok()
    }
}

/// What the hasher needs to know of a file from its `stat`.
fn meta_of(st: &rustix::fs::Stat) -> crate::hashing::Meta {
    crate::hashing::Meta {
        size: st.st_size.try_into().unwrap_or(0),
        mtime_ns: st
            .st_mtime
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::try_from(st.st_mtime_nsec).unwrap_or(0)),
        inode: st.st_ino,
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
        let Some(st) = self.fs.lstat(&norm) else {
            let message = format!("file {} does not exist", self.fs.shown(&norm));
            self.push(rules::FILE_MISSING, span, message);
            return None;
        };
        let is_symlink = FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
        let parent = norm.rsplit_once('/').map_or("", |(p, _)| p);
        let inside = self.fs.dir_inside(parent)
            && (!is_symlink
                || self
                    .fs
                    .root
                    .join(&norm)
                    .canonicalize()
                    .is_ok_and(|c| c.starts_with(&self.fs.root_canonical)));
        if !inside {
            let message = format!(
                "{} leads outside the catalog directory through a symlink",
                self.fs.shown(&norm)
            );
            self.push(rules::FILE_OUTSIDE, span, message);
            return None;
        }
        let target = if is_symlink {
            rustix::fs::statat(&self.fs.root_fd, norm.as_str(), AtFlags::empty()).ok()
        } else {
            Some(st)
        };
        let Some(target) =
            target.filter(|t| FileType::from_raw_mode(t.st_mode) == FileType::RegularFile)
        else {
            let message = format!("{} is not a regular file", self.fs.shown(&norm));
            self.push(rules::FILE_MISSING, span, message);
            return None;
        };
        self.files.push((norm.clone(), meta_of(&target)));
        Some(norm)
    }
}
