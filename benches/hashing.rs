//! `cargo bench --bench hashing`: file hashing against OpenSSL, the stat cache, and the state
//! store at 100,000 courses. Prints figures; asserts nothing about time.
//!
//! Hashing data: 64 files x 32 MiB of pseudo-random bytes under `target/bench-data/hashing/`,
//! made once. Nothing is dropped from the page cache: every method reads the files once before
//! measuring, so all figures are for cached files (CPU-bound), the same for each method.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use coursesync::hashing::{hash_all, hash_with_cache};
use coursesync::state::{Audit, CourseRecord, State};

const FILES: usize = 64;
const FILE_SIZE: usize = 32 << 20;

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    bench_hashing(&data.join("hashing"));
    bench_state(&data);
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// User + system CPU time of this process so far (Linux `/proc`), to see whether threads got
/// their cores on a shared machine.
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

fn ensure_files(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let names: Vec<String> = (0..FILES).map(|i| format!("f{i:02}.bin")).collect();
    let mut made = false;
    for (i, name) in names.iter().enumerate() {
        let path = dir.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == FILE_SIZE as u64) {
            continue;
        }
        let mut rng = fastrand::Rng::with_seed(i as u64);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..FILE_SIZE / chunk.len() {
            rng.fill(&mut chunk);
            out.write_all(&chunk).unwrap();
        }
        out.into_inner()
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_hours(1))
            .unwrap();
        made = true;
    }
    if made {
        println!(
            "made {FILES} x {} MiB under {}",
            FILE_SIZE >> 20,
            dir.display()
        );
    }
    names
}

fn openssl(paths: &[PathBuf]) -> (Duration, HashMap<PathBuf, String>) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/openssl")
        .args(["dgst", "-sha256", "-r"])
        .args(paths)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(out.status.success(), "openssl failed");
    // `-r` prints "<hex> *<path>".
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

fn bench_hashing(dir: &Path) {
    let names = ensure_files(dir);
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    let total = (FILES * FILE_SIZE) as u64;
    println!(
        "== hashing: {FILES} files, {:.0} MB in all, page cache warm (nothing dropped)",
        total as f64 / 1e6
    );
    // Warm the page cache so every method below reads from memory alike.
    let _ = hash_all(&paths, 2);

    let (t_openssl, by_openssl) = openssl(&paths);
    let openssl_mbs = mb_per_s(total, t_openssl);
    println!("(a) openssl dgst -sha256, one process: {openssl_mbs:7.0} MB/s ({t_openssl:.2?})");

    for threads in [1, 2] {
        let cpu_before = cpu_seconds();
        let start = Instant::now();
        let ours = hash_all(&paths, threads);
        let took = start.elapsed();
        let cpu = cpu_seconds() - cpu_before;
        for (p, r) in paths.iter().zip(&ours) {
            assert_eq!(
                r.as_ref().unwrap(),
                &by_openssl[p],
                "digest differs for {}",
                p.display()
            );
        }
        let mbs = mb_per_s(total, took);
        let per_core = mbs / threads as f64;
        println!(
            "(b) hash_all, {threads} thread(s):           {mbs:7.0} MB/s ({took:.2?}, {cpu:.2} s CPU); per core {per_core:.0} MB/s = {:.0} % of openssl single-core",
            per_core / openssl_mbs * 100.0
        );
    }

    let start = Instant::now();
    let (_, changed, first) = hash_with_cache(dir, &names, &HashMap::new(), 2).unwrap();
    let t_first = start.elapsed();
    let cache = changed.into_iter().map(|s| (s.path.clone(), s)).collect();
    let start = Instant::now();
    let (_, changed, second) = hash_with_cache(dir, &names, &cache, 2).unwrap();
    let t_second = start.elapsed();
    println!(
        "(c) hash_with_cache: first run hashed {} of {} files in {t_first:.2?}; second run with its cache hashed {} files ({} bytes, {} entries to write back) in {t_second:.2?}",
        first.hashed,
        first.files,
        second.hashed,
        second.bytes_hashed,
        changed.len()
    );
}

/// A course payload of about 2 KB, shaped like the platform's add body.
fn payload(i: usize) -> String {
    let lessons: Vec<_> = (0..8)
        .map(|l| {
            serde_json::json!({
                "name": format!("第{l}节: 课程内容 {i}"),
                "fulfillment_type": 2,
                "fulfillment_content": {"fulfillment_uri": format!("product/resource/{:032x}", i * 8 + l)},
            })
        })
        .collect();
    serde_json::json!({
        "course_id": format!("course-{i:06}"),
        "title": format!("Python 入门教程 第 {i} 期"),
        "first_class": 10000, "second_class": 10300,
        "purchase_precaution": "购买后可在「我的课程」中反复学习",
        "product_img_uri": format!("tos-cn-i-b2i6zad4el/{i:040x}"),
        "price": {"unit": "节", "price": 5000, "real_price": 4900},
        "path_info": {"path": "pages/course/detail", "query": {"course_id": format!("course-{i:06}")}},
        "product_fulfillment_lst": lessons,
        "product_detail_lst": [{"text": "零基础学 Python，从安装到第一个程序。".repeat(4)}],
        "course_params": {"teacher_id": "E_7283947392973", "course_num": 12},
    })
    .to_string()
}

fn bench_state(data: &Path) {
    bench_state_variant(data, false);
    bench_state_variant(data, true);
}

fn bench_state_variant(data: &Path, approved: bool) {
    const N: usize = 100_000;
    let path = data.join("state-bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let records: Vec<CourseRecord> = (0..N)
        .map(|i| {
            let p = payload(i);
            CourseRecord {
                course_id: format!("course-{i:06}"),
                title: format!("Python 入门教程 第 {i} 期"),
                product_id: Some(7_301_000_000_000_000_000 + i as i64),
                audit: Audit::Approved,
                reject_reason: None,
                listed: true,
                payload_hash: Some(format!("{i:064x}")),
                approved_hash: Some(format!("{i:064x}")),
                approved_payload: approved.then(|| p.clone()),
                payload: Some(p),
                first_applied_at: Some(1_700_000_000_000),
                last_applied_at: Some(1_700_000_000_000),
                updated_at: 1_700_000_000_000,
                lesson_audits: Some(r#"[{"status":2},{"status":2}]"#.into()),
            }
        })
        .collect();
    let avg = records
        .iter()
        .map(|r| r.payload.as_ref().unwrap().len())
        .sum::<usize>()
        / N;
    println!(
        "== state: {N} courses, payload {avg} B average, {}",
        if approved {
            "approved_payload the same (both set, as after an approval)"
        } else {
            "no approved_payload (as while in first review)"
        }
    );
    let state = State::open(&path).unwrap();
    let start = Instant::now();
    state.put_courses(&records).unwrap();
    println!("put_courses (one transaction): {:.2?}", start.elapsed());
    drop(records);
    drop(state);
    let size = std::fs::metadata(&path).unwrap().len();
    let state = State::open(&path).unwrap();
    println!("file: {:.0} MB", size as f64 / 1e6);
    for run in 1..=3 {
        let start = Instant::now();
        let light = state.courses_without_payloads().unwrap();
        let took_light = start.elapsed();
        assert_eq!(light.len(), N);
        drop(light);
        let start = Instant::now();
        let all = state.courses().unwrap();
        let took = start.elapsed();
        assert_eq!(all.len(), N);
        println!("run {run}: courses() {took:.0?}; courses_without_payloads() {took_light:.1?}");
    }
}
