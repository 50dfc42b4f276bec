//! `coursesync apply` (the real binary) against the emulator over real HTTP with faults injected:
//! 5xx, 429 with `Retry-After`, request timeouts, dropped connections, "performed, then answered
//! 504", and `kill -9` at random moments. After each, re-running apply converges: exactly one live
//! product per course_id, state names that product, and the next plan is empty. Last, a full flow
//! with a distinctive secret checks that neither it nor any access token lands in output or files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use coursesync::emulator::testing::TestEmulator;
use coursesync::emulator::{FaultKind, FaultSpec};

use crate::support::{Remote, base_course, stderr, stdout};

/// Emulator tokens start with this (platform-api.md §2.2 sample shape).
const TOKEN_PREFIX: &str = "0801121846";

fn course_id(i: usize) -> String {
    format!("fault-c{i:02}")
}

/// A valid course with its own cover file (one more upload per course), written to the catalog.
fn write_course(r: &Remote, i: usize, title: &str) {
    let id = course_id(i);
    let cover = format!("assets/cover-{i:02}.jpg");
    let path = r.project.catalog().join(&cover);
    if !path.exists() {
        let mut bytes = std::fs::read(r.project.catalog().join("assets/cover.jpg")).unwrap();
        // Bytes after the JPEG end marker: a different file (hash) that is still a valid image.
        bytes.extend_from_slice(id.as_bytes());
        std::fs::write(path, bytes).unwrap();
    }
    let text = base_course(&id)
        .replace(
            "cover = \"assets/cover.jpg\"",
            &format!("cover = \"{cover}\""),
        )
        .replacen("title = \"基础课程\"", &format!("title = \"{title}\""), 1);
    r.course(&format!("courses/{id}.toml"), &text);
}

/// A project on an emulator with `faults` (seeded) and `n` courses; `extra` goes into `[apply]`.
fn remote(faults: &[(&str, FaultSpec)], extra: &str, n: usize) -> Remote {
    let mut config = TestEmulator::config();
    config.faults = faults
        .iter()
        .map(|(e, s)| ((*e).to_string(), s.clone()))
        .collect();
    config.fault_seed = Some(20_260_601);
    let r = Remote::with(config, extra);
    for i in 0..n {
        write_course(&r, i, &format!("容错课程 {i}"));
    }
    r
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// Runs `apply --auto-approve` until it exits 0 (at most `max` runs); returns every run's output.
fn apply_until_ok(r: &Remote, max: usize) -> Vec<Output> {
    let mut outs = Vec::new();
    for _ in 0..max {
        let out = r.run(&["apply", "--auto-approve"]);
        let ok = out.status.code() == Some(0);
        outs.push(out);
        if ok {
            return outs;
        }
    }
    let all: Vec<String> = outs.iter().map(show).collect();
    panic!(
        "apply did not converge in {max} runs:\n{}",
        all.join("\n=====\n")
    );
}

/// Exactly one live product per course_id of `ids` (and none for others), state's product_id of
/// each course is that product, and a plan right after is empty.
fn assert_converged(r: &Remote, ids: &BTreeSet<String>) {
    let mut live: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for p in r.emulator.products().into_iter().filter(|p| !p.dead) {
        live.entry(p.course_id.clone())
            .or_default()
            .push(p.product_id);
    }
    let on_platform: BTreeSet<String> = live.keys().cloned().collect();
    assert_eq!(&on_platform, ids, "course_ids with a live product");
    let state = r.state();
    for (course_id, products) in &live {
        assert_eq!(
            products.len(),
            1,
            "{course_id} has several live products: {products:?}"
        );
        let rec = state
            .course(course_id)
            .unwrap()
            .unwrap_or_else(|| panic!("{course_id} is on the platform but not in state"));
        assert_eq!(
            rec.product_id,
            Some(products[0] as i64),
            "state's product_id of {course_id}"
        );
    }
    drop(state);
    let plan = r.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "plan after convergence:\n{}",
        show(&plan)
    );
}

fn ids(n: usize) -> BTreeSet<String> {
    (0..n).map(course_id).collect()
}

/// Calls of `endpoint` that were answered with the injected fault `kind`.
fn faulted(r: &Remote, endpoint: &str, kind: FaultKind) -> usize {
    r.emulator
        .calls()
        .iter()
        .filter(|c| c.endpoint == endpoint && c.fault.as_deref() == Some(kind.name()))
        .count()
}

const N: usize = 10;

#[test]
fn gateway_timeouts_on_add_and_upload_converge() {
    let spec = FaultSpec {
        rate_504: 0.4,
        ..FaultSpec::default()
    };
    let r = remote(&[("add", spec.clone()), ("upload_resource", spec)], "", N);
    apply_until_ok(&r, 5);
    assert!(faulted(&r, "add", FaultKind::GatewayTimeout) > 0);
    assert!(faulted(&r, "upload_resource", FaultKind::GatewayTimeout) > 0);
    assert_converged(&r, &ids(N));
}

#[test]
fn too_many_requests_with_retry_after_converge() {
    let spec = FaultSpec {
        rate_429: 0.3,
        retry_after: 1,
        ..FaultSpec::default()
    };
    let r = remote(&[("add", spec.clone()), ("upload_resource", spec)], "", N);
    apply_until_ok(&r, 5);
    assert!(faulted(&r, "add", FaultKind::TooManyRequests) > 0);
    assert_converged(&r, &ids(N));
}

#[test]
fn dropped_connections_converge() {
    let spec = FaultSpec {
        drop_rate: 0.3,
        ..FaultSpec::default()
    };
    let r = remote(
        &[
            ("add", spec.clone()),
            ("upload_resource", spec.clone()),
            ("query_resource_status", spec),
        ],
        "",
        N,
    );
    apply_until_ok(&r, 5);
    assert!(faulted(&r, "add", FaultKind::Drop) > 0);
    assert_converged(&r, &ids(N));
}

#[test]
fn performed_then_answered_504_on_add_is_adopted_not_duplicated() {
    let r = remote(
        &[(
            "add",
            FaultSpec {
                performed_504_rate: 0.5,
                ..FaultSpec::default()
            },
        )],
        "",
        N,
    );
    apply_until_ok(&r, 5);
    assert!(faulted(&r, "add", FaultKind::Performed504) > 0);
    assert_converged(&r, &ids(N));
}

/// One add performed and answered 504, deterministically: the retry is told 10140 with the
/// product id and adopts it in the same run; the files were pulled from the catalog's server.
#[test]
fn one_lost_add_answer_is_adopted_in_the_same_run() {
    let r = Remote::new();
    write_course(&r, 0, "容错课程 0");
    r.emulator.set_fault(
        "add",
        FaultSpec {
            next: [FaultKind::Performed504].into(),
            ..FaultSpec::default()
        },
    );
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(r.emulator.count("add"), 2, "the add and its retry");
    assert_eq!(faulted(&r, "add", FaultKind::Performed504), 1);
    assert_eq!(r.emulator.products().len(), 1);
    assert!(
        r.emulator
            .resources()
            .iter()
            .all(|res| res.url.starts_with(r.files.url())),
        "{:?}",
        r.emulator.resources()
    );
    // The adopted product is this run's own lost add: no re-audit by an extra modify.
    assert_eq!(r.emulator.count("modify"), 0);
    assert_converged(&r, &ids(1));
}

/// Every attempt of `add` outlives the client's request timeout: the run fails on timeouts and
/// keeps the intents; with the platform fast again the next run settles them without duplicates.
#[test]
fn request_timeouts_fail_the_run_then_converge() {
    let r = remote(
        &[(
            "add",
            FaultSpec {
                latency_ms: 1_500,
                ..FaultSpec::default()
            },
        )],
        "request_timeout = 1",
        N,
    );
    let first = r.run(&["apply", "--auto-approve"]);
    assert_eq!(first.status.code(), Some(1), "{}", show(&first));
    let text = stdout(&first).to_lowercase();
    assert!(
        text.contains("timed out") || text.contains("timeout"),
        "{}",
        show(&first)
    );
    r.emulator.set_fault("add", FaultSpec::default());
    apply_until_ok(&r, 5);
    assert_converged(&r, &ids(N));
}

/// The pid the state's lock row names, if the state file and the row exist and can be read.
fn lock_pid(r: &Remote) -> Option<u32> {
    let path = r.project.root().join("state/coursesync.db");
    coursesync::state::State::open_readonly(&path)
        .ok()
        .flatten()?
        .lock_holder()
        .ok()
        .flatten()
        .map(|h| h.pid)
}

#[cfg(unix)]
#[test]
fn kill_9_at_random_moments_then_rerun_converges() {
    let seed: u64 = std::env::var("APPLY_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c0_55e5_1ac7);
    println!("kill -9 trials: seed {seed} (set APPLY_FAULTS_SEED to repeat another)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let latency = FaultSpec {
        latency_ms: 50,
        ..FaultSpec::default()
    };
    let r = remote(&[("*", latency)], "", 30);
    let mut known = 30;
    let mut held_at_kill = 0;
    for trial in 0..8 {
        if trial > 0 {
            // New courses (adds) and changed titles (modifies) for this trial to interrupt.
            for i in known..known + 5 {
                write_course(&r, i, &format!("容错课程 {i}"));
            }
            known += 5;
            for i in (trial % 3..known).step_by(3) {
                write_course(&r, i, &format!("容错课程 {i} 第{trial}版"));
            }
        }
        let writes = |r: &Remote| r.emulator.count("add") + r.emulator.count("modify");
        let before = writes(&r);
        let mut child = r
            .command(&["apply", "--auto-approve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let delay = if trial == 0 {
            // The first trial is killed at a point where the lock is surely held: once the lock
            // row names this process and 5 of its 30 adds were sent (25 more at 50 ms a call
            // take longer than the check: the run cannot have ended and released the lock).
            let started = std::time::Instant::now();
            while lock_pid(&r) != Some(pid) || writes(&r) - before < 5 {
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "the first apply ended before it was seen holding the lock"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "no lock within 30 s"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            started.elapsed().as_millis() as u64
        } else {
            // Later runs send about 15 changes: kill at a random moment within their span.
            let delay = rng.u64(150..600);
            std::thread::sleep(Duration::from_millis(delay));
            delay
        };
        let finished = child.try_wait().unwrap().is_some();
        // SIGKILL on Unix; then reap it, so its pid is really gone for the lock check.
        let _ = child.kill();
        child.wait().unwrap();
        // A killed process releases nothing: its lock row, if it had one, is still there.
        let held = lock_pid(&r) == Some(pid);
        println!(
            "trial {trial}: killed after {delay} ms, {} writes sent (finished first: {finished}, lock held: {held})",
            writes(&r) - before
        );
        let outs = apply_until_ok(&r, 5);
        let took_over = stderr(&outs[0]).contains("took over a stale lock");
        // Deterministic: a lock left by the killed run is taken over by the next run, and
        // there is nothing to take over otherwise.
        assert_eq!(took_over, held, "trial {trial}:\n{}", show(&outs[0]));
        held_at_kill += usize::from(held);
        assert_converged(&r, &ids(known));
    }
    println!("stale locks taken over: {held_at_kill} of 8 trials");
    assert!(held_at_kill >= 1, "trial 0 is killed holding the lock");
}

/// Every file below `dir`, recursively, as (path, bytes).
fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secret_and_tokens_never_reach_output_state_or_plan_files() {
    const SECRET: &str = "Zq7-very-distinctive-app-secret-4f1c9e";
    let mut config = TestEmulator::config();
    config.secret = Some(SECRET.into());
    let r = Remote::with(config, "");
    for i in 0..3 {
        write_course(&r, i, &format!("保密课程 {i}"));
    }
    // The first apply fetches its token with the secret; the later runs get a ready token in
    // COURSESYNC_ACCESS_TOKEN (it wins over the secret), so the tokens they use are known here.
    let mut outputs = vec![
        r.command(&["apply", "--auto-approve"])
            .env("COURSESYNC_APP_SECRET", SECRET)
            .output()
            .unwrap(),
    ];
    assert_eq!(outputs[0].status.code(), Some(0), "{}", show(&outputs[0]));
    // (One exchange per platform client the run made: the roles preflight and the apply.)
    let fetched = r.emulator.count("token");
    assert!(
        fetched >= 1,
        "the first run fetched its token with the secret"
    );
    let ready = r.emulator.token();
    assert!(ready.starts_with(TOKEN_PREFIX));
    let run = |args: &[&str]| -> Output {
        r.command(args)
            .env("COURSESYNC_APP_SECRET", SECRET)
            .env("COURSESYNC_ACCESS_TOKEN", &ready)
            .output()
            .unwrap()
    };

    // A change, reviewed as a saved plan in every format, then applied from the file.
    write_course(&r, 0, "保密课程 0 改");
    write_course(&r, 3, "保密课程 3");
    outputs.push(run(&["plan", "--out", "reviewed.plan"]));
    outputs.push(run(&["plan", "--format", "json"]));
    outputs.push(run(&["plan", "--format", "markdown"]));
    outputs.push(run(&["apply", "reviewed.plan"]));
    assert_eq!(
        outputs.last().unwrap().status.code(),
        Some(0),
        "{}",
        show(outputs.last().unwrap())
    );
    // A failing run: error paths print platform answers.
    write_course(&r, 4, "保密课程 4");
    r.emulator.set_fault(
        "add",
        FaultSpec {
            next: std::iter::repeat_n(FaultKind::Error, 5).collect(),
            ..FaultSpec::default()
        },
    );
    outputs.push(run(&["apply", "--auto-approve"]));
    r.emulator.set_fault("add", FaultSpec::default());
    outputs.push(run(&["apply", "--auto-approve"]));
    outputs.push(run(&["state", "list"]));
    outputs.push(run(&["state", "show", &course_id(0)]));
    outputs.push(run(&["plan", "--detailed-exitcode"]));
    assert_eq!(
        outputs.last().unwrap().status.code(),
        Some(0),
        "{}",
        show(outputs.last().unwrap())
    );
    // Every run so far but the first used the ready token: no other token was fetched.
    assert_eq!(
        r.emulator.count("token"),
        fetched,
        "a run fetched a token of its own"
    );
    // With the wrong secret (and something to send), the token error is printed too.
    write_course(&r, 5, "保密课程 5");
    outputs.push(
        r.command(&["apply", "--auto-approve"])
            .env("COURSESYNC_APP_SECRET", format!("{SECRET}-wrong"))
            .output()
            .unwrap(),
    );

    // Every token the emulator issues, those the first run fetched with the secret included,
    // starts with TOKEN_PREFIX, which is searched for too.
    let needles: [&[u8]; 3] = [SECRET.as_bytes(), ready.as_bytes(), TOKEN_PREFIX.as_bytes()];
    for (i, out) in outputs.iter().enumerate() {
        for needle in needles {
            let shown = String::from_utf8_lossy(needle);
            assert!(
                !contains(&out.stdout, needle) && !contains(&out.stderr, needle),
                "run {i} printed {shown}:\n{}",
                show(out)
            );
        }
    }
    let files = files_below(r.project.root());
    assert!(files.iter().any(|(p, _)| p.ends_with("coursesync.db")));
    assert!(files.iter().any(|(p, _)| p.ends_with("reviewed.plan")));
    for (path, bytes) in &files {
        for needle in needles {
            assert!(
                !contains(bytes, needle),
                "{path} contains {}",
                String::from_utf8_lossy(needle)
            );
        }
    }
}
