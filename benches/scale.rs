//! `cargo bench --bench scale`: how validate, a no-op plan and a first apply grow with the
//! catalog, on realistic course files (the sample catalog's own files, multiplied: see
//! `support/realistic.rs`). Each command runs as the real binary under `/usr/bin/time`, so the
//! figures are what a user sees: wall time and peak RSS. Each is also shown as a ratio to a
//! parse-only pass over the same files (read + `toml` parse into a table, on every core), the
//! floor any validation must pay.
//!
//! Cases, at 10,000 and 100,000 courses:
//! - parse-only pass (in this process, median of runs);
//! - `coursesync validate`;
//! - `coursesync plan` with every course applied and approved, every file uploaded, the stat
//!   cache warm (the no-op plan a CI job runs on every pull request);
//! - `coursesync apply --auto-approve` of every course, new, on `environment = "local"` (the
//!   client and the in-process emulator together), peak RSS. Only with `--apply` (minutes).
//!
//! Targets (issue 14): no-op plan ≤ 0.4 s and ≤ 100 MiB at 10,000, ≤ 4 s and ≤ 600 MiB at
//! 100,000; validate ≤ 0.3 s at 10,000; apply of 100,000 ≤ 1 GiB peak.

#[path = "support/realistic.rs"]
mod realistic;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use coursesync::plan;
use coursesync::settings::Settings;
use coursesync::state::{Audit, CourseRecord, State};

const BIN: &str = env!("CARGO_BIN_EXE_coursesync");

fn main() {
    let with_apply = std::env::args().any(|a| a == "--apply");
    let only: Option<usize> = std::env::args()
        .find_map(|a| a.strip_prefix("--courses=").map(str::to_string))
        .and_then(|n| n.parse().ok());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    println!(
        "== scale benchmark ({} threads available); realistic course files",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    for (courses, runs) in [(10_000, 5), (100_000, 3)] {
        if only.is_some_and(|n| n != courses) {
            continue;
        }
        let dir = data.join(format!("real-{}k", courses / 1000));
        let settings_path = realistic::ensure(&dir, courses);
        let parse = parse_only(&dir.join("catalog"), runs);
        println!("\n== {courses} courses");
        println!("  parse-only pass:   median {:>8.3}s", parse.as_secs_f64());
        let v = timed(&settings_path, &["validate"], runs, 0);
        v.print("validate", parse);
        seed_all_applied(&settings_path);
        // One plan to warm the stat cache; then the timed ones.
        let _ = run(&settings_path, &["plan"]);
        let p = timed(&settings_path, &["plan", "--detailed-exitcode"], runs, 0);
        p.print("no-op plan", parse);
        if with_apply {
            let _ = std::fs::remove_dir_all(dir.join("state"));
            let a = timed(&settings_path, &["apply", "--auto-approve"], 1, 0);
            a.print("apply (local)", parse);
            let _ = std::fs::remove_dir_all(dir.join("state"));
        }
    }
}

/// Wall times and peak RSS of runs of one command.
struct Timed {
    walls: Vec<Duration>,
    rss_kb: Vec<u64>,
}

impl Timed {
    fn print(&self, what: &str, parse: Duration) {
        let median = self.walls[self.walls.len() / 2];
        let rss = self.rss_kb.iter().max().copied().unwrap_or(0);
        println!(
            "  {what:<18} median {:>8.3}s (min {:.3}s, max {:.3}s, {} runs), peak RSS {:>7.1} MiB, {:.2}x the parse-only pass",
            median.as_secs_f64(),
            self.walls[0].as_secs_f64(),
            self.walls[self.walls.len() - 1].as_secs_f64(),
            self.walls.len(),
            rss as f64 / 1024.0,
            median.as_secs_f64() / parse.as_secs_f64()
        );
    }
}

fn run(settings: &Path, args: &[&str]) -> Output {
    Command::new("/usr/bin/time")
        .arg("-v")
        .arg(BIN)
        .arg("--config")
        .arg(settings)
        .args(args)
        .output()
        .expect("/usr/bin/time runs (Debian package `time`)")
}

fn timed(settings: &Path, args: &[&str], runs: usize, expect_code: i32) -> Timed {
    let mut walls = Vec::new();
    let mut rss_kb = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let out = run(settings, args);
        walls.push(start.elapsed());
        assert_eq!(
            out.status.code(),
            Some(expect_code),
            "coursesync {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n"),
            String::from_utf8_lossy(&out.stderr)
        );
        rss_kb.push(max_rss_kb(&out).unwrap_or(0));
    }
    walls.sort();
    Timed { walls, rss_kb }
}

/// "Maximum resident set size (kbytes): N" from `/usr/bin/time -v`.
fn max_rss_kb(out: &Output) -> Option<u64> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })?
        .parse()
        .ok()
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Reads and parses every course file into a `toml::Table`, on every core; median wall time.
fn parse_only(catalog: &Path, runs: usize) -> Duration {
    let mut files = Vec::new();
    toml_files(catalog, &mut files);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let chunk = files.len().div_ceil(threads);
        let keys: usize = std::thread::scope(|s| {
            files
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|p| {
                                let text = std::fs::read_to_string(p).unwrap();
                                text.parse::<toml::Table>().unwrap().len()
                            })
                            .sum::<usize>()
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum()
        });
        std::hint::black_box(keys);
        times.push(start.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// A fresh state file in which every course of the catalog is applied and approved and every
/// file uploaded. Courses go through the library (`put_courses`, one transaction); the uploads
/// are inserted in one transaction with SQL.
fn seed_all_applied(settings_path: &Path) {
    let start = Instant::now();
    let settings = Settings::load(Some(settings_path)).unwrap();
    let _ = std::fs::remove_dir_all(settings.state_path.parent().unwrap());
    let state = State::open(&settings.state_path).unwrap();
    let prepared = plan::prepare::prepare(&settings, true).unwrap();
    let desired = plan::desired(&prepared.loaded.catalog, &prepared.digests);
    let records: Vec<CourseRecord> = desired
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let payload = serde_json::to_string(&d.payload).unwrap();
            CourseRecord {
                course_id: d.course.course_id.clone(),
                title: d.course.title.clone(),
                product_id: Some(7_000_000_000 + i as i64),
                audit: Audit::Approved,
                reject_reason: None,
                listed: d.course.listed,
                payload: Some(payload.clone()),
                payload_hash: Some(d.hash.clone()),
                approved_payload: Some(payload),
                approved_hash: Some(d.hash.clone()),
                first_applied_at: Some(1_700_000_000_000),
                last_applied_at: Some(1_700_000_000_000),
                updated_at: 1_700_000_000_000,
                lesson_audits: None,
            }
        })
        .collect();
    state.put_courses(&records).unwrap();
    drop(state);
    let mut conn = rusqlite::Connection::open(&settings.state_path).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT OR REPLACE INTO resources (sha256, resource_type, uri, status, url, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .unwrap();
        for course in &prepared.loaded.catalog.courses {
            for u in course.file_uses() {
                let key = plan::resource_key(&u.file, &prepared.digests);
                stmt.execute(rusqlite::params![
                    key,
                    u.resource_type,
                    format!("tos-cn-i/{key}"),
                    plan::UPLOAD_DONE,
                    format!("https://cdn.example.com/x?sha256={key}"),
                    1_700_000_000_000_i64,
                ])
                .unwrap();
            }
        }
    }
    tx.commit().unwrap();
    println!("  seeded state in {:.1?}", start.elapsed());
}
