//! End-to-end apply benchmarks with the real release binary against the in-process emulator on
//! loopback. Run: `cargo bench --bench apply` (the bench profile builds the binary too).
//!
//! (a) Throughput: 10,000 new courses sharing four asset files, `concurrency = 16`,
//!     `max_qps = 500`, 20 ms latency on every endpoint: the bound is min(500, 16 / 0.020) = 500
//!     courses/s; the target is 90 % of it.
//! (b) Peak memory (max RSS from `/usr/bin/time -v`): `plan` hashing 64 × 32 MiB of files, and
//!     the `apply` that uploads them (the emulator pulls them over loopback); target < 64 MB each.
//!
//! `BENCH_APPLY_COURSES` and `BENCH_APPLY_BIG_FILES` shrink the runs for a quick try.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use coursesync::emulator::testing::TestEmulator;
use coursesync::emulator::{Config, FaultSpec};

const APPID: &str = "tt_bench_apply";
const SECRET: &str = "bench-secret";
const CONCURRENCY: usize = 16;
const MAX_QPS: f64 = 500.0;
const LATENCY_MS: u64 = 20;
const MIB: usize = 1024 * 1024;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A project directory with the fixture assets in `catalog/assets` and a settings file.
fn project(dir: &Path, files_url: &str, extra: &str) {
    let assets = dir.join("catalog/assets");
    std::fs::create_dir_all(&assets).unwrap();
    for entry in std::fs::read_dir(fixtures().join("assets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), assets.join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.join("coursesync.toml"),
        format!(
            "[app]\nappid = \"{APPID}\"\nenvironment = \"sandbox\"\n\n[catalog]\nassets_base_url = \"{files_url}\"\n\n[apply]\nconcurrency = {CONCURRENCY}\nmax_qps = {MAX_QPS}\nupload_timeout = 600\n{extra}\n"
        ),
    )
    .unwrap();
}

fn course(id: &str) -> String {
    std::fs::read_to_string(fixtures().join("base.toml"))
        .unwrap()
        .replace("base-course", id)
}

/// Serves `dir` over HTTP on 127.0.0.1 (the files the emulator pulls); returns its URL.
async fn file_server(dir: PathBuf) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn coursesync(dir: &Path, emulator: &str, args: &[&str], time_v: bool) -> Output {
    let bin = env!("CARGO_BIN_EXE_coursesync");
    let mut cmd = if time_v {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("COURSESYNC_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("COURSESYNC_BASE_URL", emulator)
        .env("COURSESYNC_APP_SECRET", SECRET);
    cmd.output().unwrap()
}

fn check(out: &Output, what: &str) {
    if out.status.code() != Some(0) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let tail: String = stdout.lines().rev().take(30).collect::<Vec<_>>().join("\n");
        panic!(
            "{what} failed: {:?}\n--- stdout (last lines, reversed)\n{tail}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The apply phase's own seconds, from "Apply complete: …; 12.3s."
fn apply_seconds(out: &Output) -> Option<f64> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rfind(|l| l.starts_with("Apply "))?;
    line.rsplit("; ")
        .next()?
        .trim_end_matches('.')
        .trim_end_matches('s')
        .parse()
        .ok()
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

/// `Emulator::start` on 127.0.0.1:0 on its own thread and runtime (the test handle).
fn emulator(latency_ms: u64) -> TestEmulator {
    let mut faults = Vec::new();
    if latency_ms > 0 {
        faults.push((
            "*".to_string(),
            FaultSpec {
                latency_ms,
                ..FaultSpec::default()
            },
        ));
    }
    TestEmulator::start(Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        appid: APPID.into(),
        secret: Some(SECRET.into()),
        // Nothing is audited during the run.
        audit_delay: Duration::from_hours(24),
        faults,
        ..Config::default()
    })
}

fn throughput(rt: &tokio::runtime::Runtime) {
    let n = env_usize("BENCH_APPLY_COURSES", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let files = rt.block_on(file_server(dir.path().join("catalog")));
    let emu = emulator(LATENCY_MS);
    // BENCH_APPLY_STATE_DIR (say /dev/shm) puts the state file elsewhere, to see what fsync costs.
    let state_dir = std::env::var("BENCH_APPLY_STATE_DIR")
        .ok()
        .map(|d| tempfile::tempdir_in(d).unwrap());
    let extra = state_dir.as_ref().map_or_else(String::new, |d| {
        format!("\n[state]\npath = \"{}/coursesync.db\"", d.path().display())
    });
    project(dir.path(), &files, &extra);
    for i in 0..n {
        let id = format!("bench-{i:05}");
        let path = dir
            .path()
            .join(format!("catalog/courses/{}/{id}.toml", i / 1000));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, course(&id)).unwrap();
    }
    let url = emu.url();
    let started = Instant::now();
    let out = coursesync(dir.path(), &url, &["apply", "--auto-approve"], false);
    let wall = started.elapsed().as_secs_f64();
    check(&out, "apply");
    let apply = apply_seconds(&out).expect("the apply summary line");
    let bound = MAX_QPS.min(CONCURRENCY as f64 * 1000.0 / LATENCY_MS as f64);
    let rate = n as f64 / apply;
    println!(
        "(a) apply of {n} adds, concurrency {CONCURRENCY}, max_qps {MAX_QPS}, latency {LATENCY_MS} ms:"
    );
    println!(
        "    apply phase {apply:.2} s = {rate:.0} courses/s = {:.1} % of the bound {bound:.0}/s (target >= 90 %); whole command {wall:.2} s (plan + render + apply)",
        100.0 * rate / bound
    );
    let counts = emu.counts();
    println!(
        "    emulator calls: {:?}",
        counts
            .per_endpoint
            .iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    );
    let again = coursesync(dir.path(), &url, &["plan", "--detailed-exitcode"], false);
    println!(
        "    plan right after: exit {:?} (0 = no changes)",
        again.status.code()
    );
    drop(emu);
}

fn memory(rt: &tokio::runtime::Runtime) {
    let n = env_usize("BENCH_APPLY_BIG_FILES", 64);
    let size = 32 * MIB;
    let dir = tempfile::tempdir().unwrap();
    let files = rt.block_on(file_server(dir.path().join("catalog")));
    let emu = emulator(0);
    project(dir.path(), &files, "");
    let video = std::fs::read(fixtures().join("assets/intro.mp4")).unwrap();
    let mut bytes = vec![0u8; size];
    bytes[..video.len()].copy_from_slice(&video);
    for i in 0..n {
        // Distinct files: a different last 8 bytes each.
        bytes[size - 8..].copy_from_slice(&(i as u64).to_le_bytes());
        std::fs::write(
            dir.path().join(format!("catalog/assets/big-{i:02}.mp4")),
            &bytes,
        )
        .unwrap();
        let id = format!("big-{i:02}");
        let text = course(&id).replace(
            "file = \"assets/intro.mp4\"",
            &format!("file = \"assets/big-{i:02}.mp4\""),
        );
        std::fs::write(dir.path().join(format!("catalog/{id}.toml")), text).unwrap();
    }
    drop(bytes);
    let total_mib = n * size / MIB;
    let url = emu.url();
    let started = Instant::now();
    let plan = coursesync(dir.path(), &url, &["plan"], true);
    let plan_s = started.elapsed().as_secs_f64();
    check(&plan, "plan");
    let started = Instant::now();
    let apply = coursesync(dir.path(), &url, &["apply", "--auto-approve"], true);
    let apply_s = started.elapsed().as_secs_f64();
    check(&apply, "apply");
    let mb = |out: &Output| max_rss_kb(out).map_or(f64::NAN, |kb| kb as f64 / 1024.0);
    println!("(b) {n} files x 32 MiB = {total_mib} MiB:");
    println!(
        "    plan:  max RSS {:.1} MiB (target < 64 MB), {plan_s:.1} s",
        mb(&plan)
    );
    println!(
        "    apply: max RSS {:.1} MiB (target < 64 MB), {apply_s:.1} s, {} uploads pulled by the emulator",
        mb(&apply),
        emu.count("upload_resource")
    );
    drop(emu);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only a smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    if !benching {
        println!("apply bench: run with `cargo bench --bench apply`");
        return;
    }
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is missing (apt-get install -y time)"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("BENCH_APPLY_ONLY").unwrap_or_default();
    if only.is_empty() || only == "a" {
        throughput(&rt);
    }
    if only.is_empty() || only == "b" {
        memory(&rt);
    }
}
