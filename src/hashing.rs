//! Content hashes (sha256, lowercase hex) of the files a catalog references.
//!
//! Streaming with constant memory (one 1 MiB buffer per thread, whatever the file size), in
//! parallel over a work queue, biggest files first so no core idles at the end. The buffer is
//! page-aligned: reads into an unaligned buffer ran several times slower (TOOLCHAIN.md).
//! [`hash_with_cache`] skips files whose size, mtime and inode match the state's stat cache, so
//! a second plan over an unchanged catalog re-hashes nothing.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::state::FileStat;

const BUF_SIZE: usize = 1 << 20;
const PAGE: usize = 4096;

/// A 1 MiB read buffer starting on a page boundary, without `unsafe`: over-allocate by a page
/// and slice from the first aligned offset.
struct AlignedBuf {
    raw: Vec<u8>,
    offset: usize,
}

impl AlignedBuf {
    fn new() -> AlignedBuf {
        let raw = vec![0u8; BUF_SIZE + PAGE];
        // align_offset may in principle refuse (usize::MAX); an unaligned buffer is only slower.
        let offset = Some(raw.as_ptr().align_offset(PAGE))
            .filter(|&o| o < PAGE)
            .unwrap_or(0);
        AlignedBuf { raw, offset }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.offset..self.offset + BUF_SIZE]
    }
}

/// The sha256 of a file's content, lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    sha256_with(path, &mut AlignedBuf::new()).map(|(hex, _)| hex)
}

/// Hashes with a caller's buffer; returns the digest and the bytes read.
fn sha256_with(path: &Path, buf: &mut AlignedBuf) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let buf = buf.as_mut_slice();
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// The number of threads to hash with when the caller has no preference: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Hashes every file on `threads` threads (0 = [`default_threads`]); results in input order.
pub fn hash_all(files: &[PathBuf], threads: usize) -> Vec<io::Result<String>> {
    hash_all_counted(files, threads)
        .into_iter()
        .map(|r| r.map(|(hex, _)| hex))
        .collect()
}

/// A digest and the bytes read to make it.
type Counted = io::Result<(String, u64)>;

fn hash_all_counted(files: &[PathBuf], threads: usize) -> Vec<Counted> {
    let threads = if threads == 0 {
        default_threads()
    } else {
        threads
    }
    .min(files.len())
    .max(1);
    // Biggest first: the last file to start is then a small one, and both cores finish together.
    let mut order: Vec<(u64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, p)| (std::fs::metadata(p).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Counted>>> = Mutex::new(files.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = AlignedBuf::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(_, i)) = order.get(k) else { break };
                    let r = sha256_with(&files[i], &mut buf);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every index is taken from the queue exactly once"))
        .collect()
}

/// What [`hash_with_cache`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashStats {
    /// Distinct files looked at.
    pub files: usize,
    /// Files actually read and hashed (not answered from the cache).
    pub hashed: usize,
    pub bytes_hashed: u64,
}

/// A file modified this recently may change again within the same mtime tick without its stat
/// changing ("racily clean", as git calls it); such files are hashed but not cached.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// Hashes the files at `rel_paths` (relative to `dir`), reusing the cached digest of every file
/// whose size, mtime and inode are unchanged. Returns the digest of every path, the stat-cache
/// entries to write back (new or changed files), and counts. The first unreadable file fails
/// the whole call, with its path in the error.
#[allow(
    clippy::implicit_hasher,
    reason = "the cache is State::file_stats(), a std HashMap"
)]
pub fn hash_with_cache(
    dir: &Path,
    rel_paths: &[String],
    cache: &HashMap<String, FileStat>,
    threads: usize,
) -> io::Result<(HashMap<String, String>, Vec<FileStat>, HashStats)> {
    hash_with_known_stats(dir, rel_paths, cache, threads, &HashMap::new())
}

/// What a `stat` of a file says, for the stat cache: equal size, mtime and inode mean the same
/// content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl Meta {
    pub fn of(meta: &std::fs::Metadata) -> Meta {
        Meta {
            size: meta.size(),
            mtime_ns: meta
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.mtime_nsec()),
            inode: meta.ino(),
        }
    }
}

/// [`hash_with_cache`], taking the `stat` of files already looked at (the catalog check stats
/// every referenced file; a second `stat` of each was a noticeable part of a no-op plan).
pub fn hash_with_known_stats(
    dir: &Path,
    rel_paths: &[String],
    cache: &HashMap<String, FileStat>,
    threads: usize,
    known: &HashMap<String, Meta>,
) -> io::Result<(HashMap<String, String>, Vec<FileStat>, HashStats)> {
    let mut digests = HashMap::with_capacity(rel_paths.len());
    let mut to_hash: Vec<FileStat> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for rel in rel_paths {
        if !seen.insert(rel.as_str()) {
            continue;
        }
        let stat = match known.get(rel) {
            Some(m) => FileStat {
                path: rel.clone(),
                size: m.size,
                mtime_ns: m.mtime_ns,
                inode: m.inode,
                sha256: String::new(),
            },
            None => stat(dir, rel)?,
        };
        match cache.get(rel) {
            Some(c) if (c.size, c.mtime_ns, c.inode) == (stat.size, stat.mtime_ns, stat.inode) => {
                digests.insert(rel.clone(), c.sha256.clone());
            }
            _ => to_hash.push(stat),
        }
    }
    let stats_files = seen.len();
    let racy_after = SystemTime::now()
        .checked_sub(RACY_WINDOW)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(i64::MAX, |d| d.as_nanos() as i64);
    let paths: Vec<PathBuf> = to_hash.iter().map(|s| dir.join(&s.path)).collect();
    let results = hash_all_counted(&paths, threads);
    let mut stats = HashStats {
        files: stats_files,
        ..HashStats::default()
    };
    let mut changed = Vec::with_capacity(to_hash.len());
    for (mut entry, result) in to_hash.into_iter().zip(results) {
        let (hex, bytes) = result.map_err(|e| with_path(dir, &entry.path, &e))?;
        stats.hashed += 1;
        stats.bytes_hashed += bytes;
        digests.insert(entry.path.clone(), hex.clone());
        // Cache only what was stable: unchanged while it was read, and not modified just now.
        let after = stat(dir, &entry.path)?;
        if (after.size, after.mtime_ns, after.inode) == (entry.size, entry.mtime_ns, entry.inode)
            && entry.mtime_ns < racy_after
        {
            entry.sha256 = hex;
            changed.push(entry);
        }
    }
    Ok((digests, changed, stats))
}

/// A stat-cache entry for `dir/rel`, digest not yet known.
fn stat(dir: &Path, rel: &str) -> io::Result<FileStat> {
    let meta = Meta::of(&std::fs::metadata(dir.join(rel)).map_err(|e| with_path(dir, rel, &e))?);
    Ok(FileStat {
        path: rel.to_string(),
        size: meta.size,
        mtime_ns: meta.mtime_ns,
        inode: meta.inode,
        sha256: String::new(),
    })
}

fn with_path(dir: &Path, rel: &str, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", dir.join(rel).display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn known_digests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e"), b"").unwrap();
        std::fs::write(dir.path().join("abc"), b"abc").unwrap();
        assert_eq!(sha256_file(&dir.path().join("e")).unwrap(), EMPTY);
        assert_eq!(sha256_file(&dir.path().join("abc")).unwrap(), ABC);
    }

    #[test]
    fn buffer_is_page_aligned() {
        let mut b = AlignedBuf::new();
        let s = b.as_mut_slice();
        assert_eq!(s.len(), BUF_SIZE);
        assert_eq!(s.as_ptr().align_offset(PAGE), 0);
    }

    #[test]
    fn multi_buffer_file_matches_in_memory_digest() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        // Crosses several buffer boundaries and ends mid-buffer.
        let data: Vec<u8> = (0..3 * BUF_SIZE + 12_345).map(|_| rng.u8(..)).collect();
        let path = dir.path().join("big");
        std::fs::write(&path, &data).unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            hex::encode(Sha256::digest(&data))
        );
    }

    #[test]
    fn hash_all_keeps_input_order_and_reports_errors_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (i, len) in [10usize, 5000, 0, 300_000, 7].into_iter().enumerate() {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, vec![i as u8; len]).unwrap();
            files.push(p);
        }
        files.insert(2, dir.path().join("missing"));
        for threads in [1, 2, 3, 0] {
            let got = hash_all(&files, threads);
            assert_eq!(got.len(), files.len());
            for (p, r) in files.iter().zip(&got) {
                match std::fs::read(p) {
                    Ok(data) => assert_eq!(r.as_ref().unwrap(), &hex::encode(Sha256::digest(data))),
                    Err(_) => assert_eq!(r.as_ref().unwrap_err().kind(), io::ErrorKind::NotFound),
                }
            }
        }
        assert!(hash_all(&[], 2).is_empty());
    }

    fn set_old_mtime(path: &Path) {
        let old = SystemTime::now() - Duration::from_hours(1);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn second_run_with_the_cache_hashes_nothing_and_changes_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets/a")).unwrap();
        let rels: Vec<String> = ["assets/a/1.mp4", "assets/a/2.jpg", "c.pdf"]
            .iter()
            .map(ToString::to_string)
            .collect();
        for (i, rel) in rels.iter().enumerate() {
            let p = dir.path().join(rel);
            std::fs::write(&p, vec![b'x'; 1000 * (i + 1)]).unwrap();
            set_old_mtime(&p);
        }
        let mut with_dup = rels.clone();
        with_dup.push(rels[0].clone());
        let (digests, changed, stats) =
            hash_with_cache(dir.path(), &with_dup, &HashMap::new(), 2).unwrap();
        assert_eq!(
            stats,
            HashStats {
                files: 3,
                hashed: 3,
                bytes_hashed: 6000
            }
        );
        assert_eq!(digests.len(), 3);
        assert_eq!(changed.len(), 3);
        assert_eq!(
            digests["c.pdf"],
            sha256_file(&dir.path().join("c.pdf")).unwrap()
        );

        let cache: HashMap<String, FileStat> =
            changed.into_iter().map(|s| (s.path.clone(), s)).collect();
        let (again, changed, stats) = hash_with_cache(dir.path(), &rels, &cache, 2).unwrap();
        assert_eq!((stats.files, stats.hashed, stats.bytes_hashed), (3, 0, 0));
        assert!(changed.is_empty());
        assert_eq!(again, digests);

        // Same size, new content and mtime: re-hashed.
        let p = dir.path().join("c.pdf");
        std::fs::write(&p, vec![b'y'; 3000]).unwrap();
        File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_mins(1))
            .unwrap();
        let (third, changed, stats) = hash_with_cache(dir.path(), &rels, &cache, 1).unwrap();
        assert_eq!(stats.hashed, 1);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].path, "c.pdf");
        assert_ne!(third["c.pdf"], digests["c.pdf"]);
    }

    #[test]
    fn a_file_modified_just_now_is_hashed_but_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fresh.jpg"), b"new").unwrap();
        let rels = vec!["fresh.jpg".to_string()];
        let (digests, changed, stats) =
            hash_with_cache(dir.path(), &rels, &HashMap::new(), 1).unwrap();
        assert_eq!(stats.hashed, 1);
        assert_eq!(
            digests["fresh.jpg"],
            sha256_file(&dir.path().join("fresh.jpg")).unwrap()
        );
        assert!(changed.is_empty());
    }

    #[test]
    fn a_missing_file_fails_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = hash_with_cache(dir.path(), &["assets/gone.mp4".into()], &HashMap::new(), 1)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("assets/gone.mp4"), "{err}");
    }

    #[test]
    fn known_stats_stand_in_for_a_stat_and_still_decide_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"abc").unwrap();
        let rels = vec!["a".to_string()];
        let meta = Meta::of(&std::fs::metadata(dir.path().join("a")).unwrap());
        let cached = FileStat {
            path: "a".into(),
            size: meta.size,
            mtime_ns: meta.mtime_ns,
            inode: meta.inode,
            sha256: "cached-digest".into(),
        };
        let cache = HashMap::from([("a".to_string(), cached)]);
        // The known stat matches the cache: the cached digest is used, nothing is read.
        let known = HashMap::from([("a".to_string(), meta)]);
        let (digests, _, stats) =
            hash_with_known_stats(dir.path(), &rels, &cache, 1, &known).unwrap();
        assert_eq!((digests["a"].as_str(), stats.hashed), ("cached-digest", 0));
        // A known stat that differs from the cache: the file is read and hashed.
        let moved = HashMap::from([("a".to_string(), Meta { size: 4, ..meta })]);
        let (digests, _, stats) =
            hash_with_known_stats(dir.path(), &rels, &cache, 1, &moved).unwrap();
        assert_eq!((digests["a"].as_str(), stats.hashed), (ABC, 1));
    }
}
