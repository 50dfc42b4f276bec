//! `cargo bench --bench plan`: the first plan over large files, against OpenSSL. Prints figures;
//! asserts only that each plan is what the setup makes it.
//!
//! (b) The first plan over 64 x 32 MiB of asset files with an empty stat cache, against
//!     `openssl dgst -sha256` over the same files. Both read from the page cache (every file is
//!     read once before either is timed): the figures compare hashing, not the disk.
//! (c) The plan right after (b): the stat cache answers for every file, nothing is hashed.
//!
//! The no-op plan over 10,000 and 100,000 realistic courses is `cargo bench --bench scale`.
//! Data lives under `target/bench-data/plan-*`, made once and reused (a `.complete` marker).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use coursesync::plan::{self, Options};
use coursesync::settings::Settings;
use coursesync::state::State;

const BIG_FILES: usize = 64;
const BIG_FILE_SIZE: usize = 32 << 20;
const BIG_COURSES: usize = 8;

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    println!(
        "== plan benchmark ({} threads available)",
        coursesync::hashing::default_threads()
    );
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
    let prepared = plan::prepare::prepare(&settings, true, &Options::default()).unwrap();
    let stats = prepared.hash_stats;
    let plan = prepared.plan();
    let took = start.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    assert_eq!(plan.summary.add, BIG_COURSES);
    assert_eq!(stats.hashed, BIG_FILES + BIG_COURSES);
    let (_, digests) = plan::prepare::load_with_digests(&settings).unwrap();
    let catalog_dir = settings.catalog_dir.canonicalize().unwrap();
    for (path, hex) in &by_openssl {
        let rel = path
            .canonicalize()
            .unwrap()
            .strip_prefix(&catalog_dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(&digests[&rel], hex, "digest differs for {rel}");
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
    let prepared = plan::prepare::prepare(&settings, true, &Options::default()).unwrap();
    let stats = prepared.hash_stats;
    let plan2 = prepared.plan();
    let took = start.elapsed();
    assert_eq!(plan2.summary, plan.summary, "same inputs, same plan");
    println!(
        "  files hashed: {} of {} references ({} bytes), in {took:.3?}",
        stats.hashed, stats.files, stats.bytes_hashed
    );
    assert_eq!(stats.hashed, 0, "the stat cache is warm");
}
