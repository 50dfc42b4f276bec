//! Realistic catalogs for benchmarks: course files made from the sample catalog's own files
//! (texts, lessons of every kind, details, anchors, course params), each course with its own
//! copies of its assets (hard links to the sample's, so a 100,000-course catalog stays small on
//! disk while every path is distinct).
//!
//! A catalog is made once under `target/bench-data/<name>` and reused (a `.complete` marker).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The sample catalog: (course file text, course_id) of each of its courses.
fn templates() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut out = Vec::new();
    for entry in walk(&root) {
        if entry.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&entry).unwrap();
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("course_id = \""))
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_string();
            out.push((text, id));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The settings file of a bench project (`environment = "local"`, state under `state/`).
pub fn write_settings(dir: &Path) -> PathBuf {
    let path = dir.join("coursesync.toml");
    std::fs::write(
        &path,
        "[app]\nappid = \"tt_bench_app\"\nenvironment = \"local\"\n\n[catalog]\ndir = \"catalog\"\n\n\
         [state]\npath = \"state/coursesync.db\"\n\n[apply]\nconcurrency = 16\nmax_qps = 10000\n",
    )
    .unwrap();
    path
}

/// A project of `courses` realistic courses under `dir` (made once); returns its settings path.
/// Course `i` is sample course `i % 7` with course_id `<id>-<i>`, a title with `i`, and its own
/// asset paths `assets/<shard>/<id>-<i>/...`.
pub fn ensure(dir: &Path, courses: usize) -> PathBuf {
    if dir.join(".complete").exists() {
        // Rewritten each time: a project made by an older bench keeps today's settings.
        return write_settings(dir);
    }
    let start = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    let settings = write_settings(dir);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let templates = templates();
    let mut bytes = 0usize;
    for i in 0..courses {
        let (text, id) = &templates[i % templates.len()];
        let new_id = format!("{id}-{i:06}");
        let shard = format!("{:03}", i / 1000);
        let mut t = text
            .replace(
                &format!("course_id = \"{id}\""),
                &format!("course_id = \"{new_id}\""),
            )
            .replace(
                &format!("assets/{id}/"),
                &format!("assets/{shard}/{new_id}/"),
            );
        // A distinct title: the first `title = "..."` line gets the number.
        if let Some(pos) = t.find("\ntitle = \"") {
            let at = pos + "\ntitle = \"".len();
            t.insert_str(at, &format!("{i} "));
        }
        for line in text.lines() {
            for part in line.split('"') {
                if let Some(rest) = part.strip_prefix(&format!("assets/{id}/")) {
                    let to = catalog.join(format!("assets/{shard}/{new_id}/{rest}"));
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    if !to.exists() {
                        std::fs::hard_link(sample.join(part), &to).unwrap();
                    }
                }
            }
        }
        let course_dir = catalog.join("courses").join(&shard);
        std::fs::create_dir_all(&course_dir).unwrap();
        bytes += t.len();
        std::fs::write(course_dir.join(format!("{new_id}.toml")), t).unwrap();
    }
    // Shared files (e.g. assets/shared/...) referenced as they are.
    copy_dir(
        &sample.join("assets/shared"),
        &catalog.join("assets/shared"),
    );
    // Files modified within the last 2 s are not cached ("racily clean"); let them age.
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::write(dir.join(".complete"), b"").unwrap();
    println!(
        "  made {courses} realistic courses ({:.1} MB of course files, {:.0} B each) under {} in {:.1?}",
        bytes as f64 / 1e6,
        bytes as f64 / courses as f64,
        dir.display(),
        start.elapsed()
    );
    settings
}

fn copy_dir(from: &Path, to: &Path) {
    if !from.is_dir() {
        return;
    }
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else if !dest.exists() {
            std::fs::hard_link(&p, &dest).unwrap();
        }
    }
}
