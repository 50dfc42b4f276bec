//! `cargo bench --bench plan`: how long a plan takes. Prints figures; asserts only that each
//! plan is what the setup makes it (no-op plans are empty, a warm stat cache hashes nothing).
//!
//! (a) A no-op plan — every course applied and approved, every file uploaded, stat cache warm —
//!     timed as `plan::prepare::prepare(&settings, true)` + `plan::diff`, median of several
//!     runs, at 10,000 courses x 5 files (50,000 distinct files) and 100,000 courses x 2 files
//!     (200,000 files; 5 per course would be 500,000 inodes for little more information).
//! (b) The first plan over 64 x 32 MiB of asset files with an empty stat cache, against
//!     `openssl dgst -sha256` over the same files. Both read from the page cache (every file is
//!     read once before either is timed): the figures compare hashing, not the disk.
//! (c) The plan right after (b): the stat cache answers for every file, nothing is hashed.
//!
//! Data lives under `target/bench-data/plan-*`, made once and reused (a `.complete` marker).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use coursesync::plan::{self, Options, Plan};
use coursesync::settings::Settings;
use coursesync::state::{Audit, CourseRecord, State};

const BIG_FILES: usize = 64;
const BIG_FILE_SIZE: usize = 32 << 20;
const BIG_COURSES: usize = 8;

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    println!(
        "== plan benchmark ({} threads available)",
        coursesync::hashing::default_threads()
    );
    bench_noop(&data.join("plan-10k"), 10_000, 5, 5);
    bench_noop(&data.join("plan-100k"), 100_000, 2, 3);
    bench_big(&data.join("plan-2g"));
}

/// User + system CPU seconds of this process so far (Linux `/proc`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// A course file: a cover and `lessons` video/pdf/audio lessons (in that rotation), plus a
/// detail image when `detail` is set. `files` are paths relative to the catalog directory.
fn course_text(id: &str, cover: &str, lessons: &[String], detail: Option<&str>) -> String {
    use std::fmt::Write as _;
    let mut t = format!(
        "course_id = \"{id}\"\ntitle = \"课程 {id}\"\nfirst_class = 10000\nsecond_class = 10300\n\
         purchase_precaution = \"购买后可反复学习\"\ncover = \"{cover}\"\nlisted = true\n\n\
         [price]\nunit = \"节\"\nprice = 5000\nreal_price = 4900\n\n\
         [page]\npath = \"pages/course/detail\"\nquery = {{ channel = \"catalog\" }}\n\n"
    );
    for (i, file) in lessons.iter().enumerate() {
        let kind = match file.rsplit_once('.').map(|(_, e)| e) {
            Some("pdf") => "pdf",
            Some("mp3") => "audio",
            _ => "video",
        };
        let _ = write!(
            t,
            "[[lessons]]\nname = \"第 {} 节\"\ntype = \"{kind}\"\nfile = \"{file}\"\n\n",
            i + 1
        );
    }
    t.push_str("[[details]]\ntext = \"课程介绍\"\n\n");
    if let Some(d) = detail {
        let _ = write!(t, "[[details]]\nimage = \"{d}\"\n\n");
    }
    let _ = write!(
        t,
        "[course]\nteacher_id = \"E_1\"\ncourse_num = {}\n",
        lessons.len().max(1)
    );
    t
}

fn write_settings(dir: &Path) -> PathBuf {
    let path = dir.join("coursesync.toml");
    std::fs::write(
        &path,
        "[app]\nappid = \"tt_bench_app\"\nenvironment = \"local\"\n",
    )
    .unwrap();
    path
}

/// Makes `courses` courses with `per_course` distinct tiny files each (once).
fn ensure_catalog(dir: &Path, courses: usize, per_course: usize) -> PathBuf {
    let settings = dir.join("coursesync.toml");
    if dir.join(".complete").exists() {
        return settings;
    }
    let start = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    write_settings(dir);
    let catalog = dir.join("catalog");
    for i in 0..courses {
        let id = format!("course-{i:06}");
        let shard = format!("{:03}", i / 1000);
        let rel_dir = format!("assets/{shard}/{id}");
        std::fs::create_dir_all(catalog.join(&rel_dir)).unwrap();
        let put = |name: &str| {
            let rel = format!("{rel_dir}/{name}");
            std::fs::write(catalog.join(&rel), format!("{id}/{name}")).unwrap();
            rel
        };
        let cover = put("cover.jpg");
        let lesson_names = ["l1.mp4", "l2.pdf", "l3.mp3"];
        let lessons: Vec<String> = lesson_names
            .iter()
            .take(per_course.saturating_sub(1).min(3))
            .map(|n| put(n))
            .collect();
        let detail = (per_course >= 5).then(|| put("detail.png"));
        let course_dir = catalog.join("courses").join(&shard);
        std::fs::create_dir_all(&course_dir).unwrap();
        std::fs::write(
            course_dir.join(format!("{id}.toml")),
            course_text(&id, &cover, &lessons, detail.as_deref()),
        )
        .unwrap();
    }
    // Files modified within the last 2 s are not cached ("racily clean"); let them age.
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::write(dir.join(".complete"), b"").unwrap();
    println!(
        "  made {courses} courses x {per_course} files under {} in {:.1?}",
        dir.display(),
        start.elapsed()
    );
    settings
}

fn make_plan(settings: &Settings) -> (Plan, coursesync::hashing::HashStats) {
    let prepared = plan::prepare::prepare(settings, true).unwrap();
    let plan = plan::diff(
        &prepared.loaded.catalog,
        &prepared.digests,
        &prepared.state,
        &Options {
            prune: settings.prune,
            targets: Vec::new(),
            resend: Vec::new(),
        },
    );
    (plan, prepared.hash_stats)
}

/// A fresh state file in which every course of the catalog is applied and approved and every
/// file uploaded. Courses go through the library (`put_courses`, one transaction); the uploads
/// are inserted in one transaction with SQL (the library writes one upload per transaction,
/// which is right for apply and slow for 250,000 seeded rows).
fn seed_all_applied(settings: &Settings) {
    let _ = std::fs::remove_dir_all(settings.state_path.parent().unwrap());
    let state = State::open(&settings.state_path).unwrap();
    let prepared = plan::prepare::prepare(settings, true).unwrap();
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
                listed: true,
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
}

fn bench_noop(dir: &Path, courses: usize, per_course: usize, runs: usize) {
    println!(
        "\n== (a) no-op plan: {courses} courses x {per_course} files ({} distinct files), all applied, stat cache warm",
        courses * per_course
    );
    let settings_path = ensure_catalog(dir, courses, per_course);
    let settings = Settings::load(Some(&settings_path)).unwrap();
    let start = Instant::now();
    seed_all_applied(&settings);
    println!("  seeded state in {:.1?}", start.elapsed());
    let mut times = Vec::new();
    for run in 0..runs {
        let start = Instant::now();
        let (plan, stats) = make_plan(&settings);
        let took = start.elapsed();
        assert!(!plan.has_changes(), "the no-op plan has changes");
        assert_eq!(plan.summary, plan::Summary::default());
        assert_eq!(stats.files, courses * per_course);
        assert_eq!(stats.hashed, 0, "the stat cache is warm");
        println!("  run {}: {took:.3?}", run + 1);
        times.push(took);
    }
    breakdown(&settings);
    times.sort();
    println!(
        "  no-op plan at {courses} courses: median {:.3?} (min {:.3?}, max {:.3?}, {runs} runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}

/// Where a no-op plan's time goes, each part timed on its own once.
fn breakdown(settings: &Settings) {
    let t = Instant::now();
    let loaded = coursesync::catalog::load(&settings.catalog_dir, &settings.root).unwrap();
    let t_load = t.elapsed();
    let state = State::open_readonly(&settings.state_path).unwrap().unwrap();
    let t = Instant::now();
    let cache = state.file_stats().unwrap();
    let t_cache = t.elapsed();
    let mut rels: Vec<String> = loaded
        .catalog
        .courses
        .iter()
        .flat_map(coursesync::catalog::Course::file_uses)
        .filter_map(|u| match u.file {
            coursesync::catalog::FileRef::Local(rel) => Some(rel),
            coursesync::catalog::FileRef::Url(_) => None,
        })
        .collect();
    rels.sort_unstable();
    let t = Instant::now();
    let (digests, _, _) =
        coursesync::hashing::hash_with_cache(&loaded.catalog.dir, &rels, &cache, 2).unwrap();
    let t_stat = t.elapsed();
    let t = Instant::now();
    let courses = state.courses_without_payloads().unwrap();
    let resources = state.resources().unwrap();
    let t_state = t.elapsed();
    let t = Instant::now();
    let desired = std::hint::black_box(plan::desired(&loaded.catalog, &digests));
    let t_desired = t.elapsed();
    assert_eq!(desired.len(), courses.len());
    println!(
        "  breakdown: catalog::load {t_load:.3?}, stat cache read {t_cache:.3?}, stat {} files {t_stat:.3?}, state courses+resources ({}+{}) {t_state:.3?}, payloads+hashes {t_desired:.3?} (diff computes them again)",
        rels.len(),
        courses.len(),
        resources.len()
    );
}

fn ensure_big(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let catalog = dir.join("catalog");
    let videos = catalog.join("assets/videos");
    let paths: Vec<PathBuf> = (0..BIG_FILES)
        .map(|i| videos.join(format!("v{i:02}.mp4")))
        .collect();
    if dir.join(".complete").exists() {
        return (dir.join("coursesync.toml"), paths);
    }
    let start = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(&videos).unwrap();
    let settings = write_settings(dir);
    let mut chunk = vec![0u8; 1 << 20];
    for (i, path) in paths.iter().enumerate() {
        let mut rng = fastrand::Rng::with_seed(1000 + i as u64);
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        for _ in 0..BIG_FILE_SIZE / chunk.len() {
            rng.fill(&mut chunk);
            out.write_all(&chunk).unwrap();
        }
        out.into_inner()
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_hours(1))
            .unwrap();
    }
    let per = BIG_FILES / BIG_COURSES;
    for c in 0..BIG_COURSES {
        let id = format!("big-{c}");
        let cover = format!("assets/{id}-cover.jpg");
        std::fs::write(catalog.join(&cover), format!("cover of {id}")).unwrap();
        std::fs::File::options()
            .write(true)
            .open(catalog.join(&cover))
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_hours(1))
            .unwrap();
        let lessons: Vec<String> = (c * per..(c + 1) * per)
            .map(|i| format!("assets/videos/v{i:02}.mp4"))
            .collect();
        std::fs::write(
            catalog.join(format!("{id}.toml")),
            course_text(&id, &cover, &lessons, None),
        )
        .unwrap();
    }
    std::fs::write(dir.join(".complete"), b"").unwrap();
    println!(
        "  made {BIG_FILES} x {} MiB under {} in {:.1?}",
        BIG_FILE_SIZE >> 20,
        dir.display(),
        start.elapsed()
    );
    (settings, paths)
}

fn openssl(paths: &[PathBuf]) -> (Duration, Vec<(PathBuf, String)>) {
    let start = Instant::now();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .args(paths)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(out.status.success(), "openssl failed");
    let digests = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (hex, path) = l.split_once(' ').unwrap();
            (PathBuf::from(path.trim_start_matches('*')), hex.to_string())
        })
        .collect();
    (took, digests)
}

fn bench_big(dir: &Path) {
    println!(
        "\n== (b) first plan over {BIG_FILES} x {} MiB = {:.0} MB of assets, empty stat cache, page cache warm",
        BIG_FILE_SIZE >> 20,
        (BIG_FILES * BIG_FILE_SIZE) as f64 / 1e6
    );
    let (settings_path, paths) = ensure_big(dir);
    let settings = Settings::load(Some(&settings_path)).unwrap();
    // Read every file once so both methods below read from memory alike.
    for p in &paths {
        std::hint::black_box(std::fs::read(p).unwrap().len());
    }
    let total = (BIG_FILES * BIG_FILE_SIZE) as u64;

    let (t_openssl, by_openssl) = openssl(&paths);
    let openssl_mbs = mb_per_s(total, t_openssl);
    println!(
        "  openssl dgst -sha256 (one process, one core): {openssl_mbs:6.0} MB/s ({t_openssl:.2?})"
    );

    // A fresh state file: no stat cache.
    let _ = std::fs::remove_dir_all(settings.state_path.parent().unwrap());
    drop(State::open(&settings.state_path).unwrap());
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let prepared = plan::prepare::prepare(&settings, true).unwrap();
    let plan = plan::diff(
        &prepared.loaded.catalog,
        &prepared.digests,
        &prepared.state,
        &Options::default(),
    );
    let took = start.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let stats = prepared.hash_stats;
    assert_eq!(plan.summary.add, BIG_COURSES);
    assert_eq!(stats.hashed, BIG_FILES + BIG_COURSES);
    let catalog_dir = settings.catalog_dir.canonicalize().unwrap();
    for (path, hex) in &by_openssl {
        let rel = path
            .canonicalize()
            .unwrap()
            .strip_prefix(&catalog_dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(&prepared.digests[&rel], hex, "digest differs for {rel}");
    }
    let ours_mbs = mb_per_s(stats.bytes_hashed, took);
    println!(
        "  coursesync first plan (prepare + diff):      {ours_mbs:6.0} MB/s ({took:.2?} wall, {cpu:.2} s CPU = {:.2} cores busy; {} files, {:.0} MB hashed) = {:.2}x openssl",
        cpu / took.as_secs_f64(),
        stats.hashed,
        stats.bytes_hashed as f64 / 1e6,
        ours_mbs / openssl_mbs
    );

    println!("\n== (c) second plan right after (b)");
    let start = Instant::now();
    let prepared = plan::prepare::prepare(&settings, true).unwrap();
    let plan2 = plan::diff(
        &prepared.loaded.catalog,
        &prepared.digests,
        &prepared.state,
        &Options::default(),
    );
    let took = start.elapsed();
    assert_eq!(plan2, plan, "same inputs, same plan");
    println!(
        "  files hashed: {} of {} ({} bytes), in {took:.3?}",
        prepared.hash_stats.hashed, prepared.hash_stats.files, prepared.hash_stats.bytes_hashed
    );
    assert_eq!(prepared.hash_stats.hashed, 0, "the stat cache is warm");
}
