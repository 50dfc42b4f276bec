//! `coursesync apply` (the real binary) against the emulator over real HTTP with faults injected:
//! 5xx, 429 with `Retry-After`, request timeouts, dropped connections, "performed, then answered
//! 504", and `kill -9` at random moments, each under several readings of the open platform facts
//! (the test matrix, `support::matrix!`). After each, re-running apply converges, a course held as
//! `unknown_outcome` being resolved as a user would (import the product found by course_id, or
//! `apply --resend`): exactly one live product per course_id, state names that product, no false
//! drift, and the next plan is empty. Last, a full flow with a distinctive secret checks that
//! neither it nor any access token lands in output or files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use coursesync::emulator::testing::TestEmulator;
use coursesync::emulator::{FaultKind, FaultSpec};

use crate::support::readings::Setup;
use crate::support::{Remote, base_course, show, stdout};

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

/// A project on an emulator under `setup` with `faults` (seeded) and `n` courses; `extra` goes
/// into `[apply]`.
fn remote(setup: &Setup, faults: &[(&str, FaultSpec)], extra: &str, n: usize) -> Remote {
    let mut config = TestEmulator::config();
    config.faults = faults
        .iter()
        .map(|(e, s)| ((*e).to_string(), s.clone()))
        .collect();
    config.fault_seed = Some(20_260_601);
    let r = Remote::with_setup(config, setup, extra);
    for i in 0..n {
        write_course(&r, i, &format!("容错课程 {i}"));
    }
    r
}

/// Exactly one live product per course_id of `ids` (and none for others), state's product_id of
/// each course is that product, no false drift, and a plan right after is empty.
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
    r.assert_no_false_drift();
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

fn gateway_timeouts_on_add_and_upload_converge(setup: &Setup) {
    let spec = FaultSpec {
        rate_504: 0.4,
        ..FaultSpec::default()
    };
    let r = remote(
        setup,
        &[("add", spec.clone()), ("upload_resource", spec)],
        "",
        N,
    );
    r.converge(&ids(N), 8);
    assert!(faulted(&r, "add", FaultKind::GatewayTimeout) > 0);
    assert!(faulted(&r, "upload_resource", FaultKind::GatewayTimeout) > 0);
    assert_converged(&r, &ids(N));
}

fn too_many_requests_with_retry_after_converge(setup: &Setup) {
    let spec = FaultSpec {
        rate_429: 0.3,
        retry_after: 1,
        ..FaultSpec::default()
    };
    let r = remote(
        setup,
        &[("add", spec.clone()), ("upload_resource", spec)],
        "",
        N,
    );
    // A 429 surely was not performed: retried, never held.
    let done = r.converge(&ids(N), 8);
    assert_eq!((done.imports, done.resends), (0, 0), "{done:?}");
    assert!(faulted(&r, "add", FaultKind::TooManyRequests) > 0);
    assert_converged(&r, &ids(N));
}

fn dropped_connections_converge(setup: &Setup) {
    let spec = FaultSpec {
        drop_rate: 0.3,
        ..FaultSpec::default()
    };
    let r = remote(
        setup,
        &[
            ("add", spec.clone()),
            ("upload_resource", spec.clone()),
            ("query_resource_status", spec),
        ],
        "",
        N,
    );
    r.converge(&ids(N), 8);
    assert!(faulted(&r, "add", FaultKind::Drop) > 0);
    assert_converged(&r, &ids(N));
}

fn performed_then_answered_504_on_add_is_adopted_not_duplicated(setup: &Setup) {
    let r = remote(
        setup,
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
    r.converge(&ids(N), 8);
    assert!(faulted(&r, "add", FaultKind::Performed504) > 0);
    assert_converged(&r, &ids(N));
}

/// One add performed and answered 504, deterministically. Known (platform-facts.toml) to answer
/// a repeat with 10140: the retry is told the product id and adopts it in the same run.
/// Otherwise (known not to, or unsettled): the add is not sent again; the course is held as
/// unknown_outcome and `import` of the product found by course_id resolves it. Either way the
/// files were pulled from the catalog's server.
fn one_lost_add_answer_is_adopted_or_held(setup: &Setup) {
    let r = Remote::on(setup, "");
    write_course(&r, 0, "容错课程 0");
    r.emulator.set_fault(
        "add",
        FaultSpec {
            next: [FaultKind::Performed504].into(),
            ..FaultSpec::default()
        },
    );
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(faulted(&r, "add", FaultKind::Performed504), 1);
    assert_eq!(r.emulator.products().len(), 1);
    if setup.dedupe_known() {
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert_eq!(r.emulator.count("add"), 2, "the add and its retry");
        // The adopted product is this run's own lost add: no re-audit by an extra modify.
        assert_eq!(r.emulator.count("modify"), 0);
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert_eq!(r.emulator.count("add"), 1, "not sent again blindly");
        assert_eq!(r.unknown_outcomes(), [course_id(0)]);
        assert!(stdout(&out).contains(&course_id(0)), "{}", show(&out));
        let done = r.converge(&ids(1), 4);
        assert_eq!((done.imports, done.resends), (1, 0), "{done:?}");
        assert_eq!(r.emulator.count("add"), 1);
    }
    assert!(
        r.emulator
            .resources()
            .iter()
            .all(|res| res.url.starts_with(r.files.url())),
        "{:?}",
        r.emulator.resources()
    );
    assert_converged(&r, &ids(1));
}

/// Every attempt of `add` outlives the client's request timeout: the run fails on timeouts and
/// keeps the intents; with the platform fast again the next run settles them without duplicates.
fn request_timeouts_fail_the_run_then_converge(setup: &Setup) {
    let r = remote(
        setup,
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
    r.converge(&ids(N), 8);
    assert_converged(&r, &ids(N));
}

/// kill -9 trials per cell (the matrix runs three: both `add-dedupe` readings, and the first
/// with the facts unsettled and probed).
const KILL_TRIALS: usize = 10;

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
fn kill_9_at_random_moments_then_rerun_converges(setup: &Setup) {
    let seed: u64 = std::env::var("APPLY_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c0_55e5_1ac7);
    println!(
        "kill -9 trials under [{setup}]: seed {seed} (set APPLY_FAULTS_SEED to repeat another)"
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let latency = FaultSpec {
        latency_ms: 50,
        ..FaultSpec::default()
    };
    let r = remote(setup, &[("*", latency)], "", 20);
    let mut known = 20;
    let (mut takeovers, mut duplicates, mut lost, mut imports, mut resends) = (0, 0, 0, 0, 0);
    let mut killed = 0;
    let mut held_at_kill = 0;
    for trial in 0..KILL_TRIALS {
        if trial > 0 {
            // New courses (adds) and changed titles (modifies) for this trial to interrupt.
            for i in known..known + 4 {
                write_course(&r, i, &format!("容错课程 {i}"));
            }
            known += 4;
            for i in (trial % 3..known).step_by(3) {
                write_course(&r, i, &format!("容错课程 {i} 第{trial}版"));
            }
        }
        // Kill right after the k-th write reached the platform: the first run sends 20 adds,
        // later ones 4 adds and 8 or more modifies.
        let k = rng.u64(if trial == 0 { 1..=19 } else { 1..=10 });
        let writes = |r: &Remote| r.emulator.count("add") + r.emulator.count("modify");
        let before = writes(&r);
        let mut child = r
            .command(&["apply", "--auto-approve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let started = std::time::Instant::now();
        let mut finished = false;
        while writes(&r) - before < k {
            if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_mins(1) {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // SIGKILL on Unix; then reap it, so its pid is really gone for the lock check.
        let _ = child.kill();
        child.wait().unwrap();
        if !finished {
            killed += 1;
        }
        // A killed process releases nothing: its lock row, if it had one, is still there.
        let held = lock_pid(&r) == Some(pid);
        held_at_kill += usize::from(held);
        let sent = writes(&r) - before;
        let done = r.converge(&ids(known), 8);
        let took_over = done.stderr.matches("took over a stale lock").count();
        // Deterministic: a lock left by the killed run is taken over by the next run (once),
        // and there is nothing to take over otherwise.
        assert_eq!(
            took_over,
            usize::from(held),
            "trial {trial}: lock held {held}"
        );
        takeovers += took_over;
        imports += done.imports;
        resends += done.resends;
        let (d, l) = r.broken_promises(&ids(known));
        duplicates += d.len();
        lost += l.len();
        println!(
            "trial {trial}: killed after write {k}, {sent} writes reached the platform \
             (finished first: {finished}); held unknown_outcome and resolved: {} import(s), {} \
             resend(s)",
            done.imports, done.resends
        );
        assert_converged(&r, &ids(known));
    }
    println!(
        "kill -9 under [{setup}]: {KILL_TRIALS} trials ({killed} killed mid-run), \
         {duplicates} duplicate products, {lost} lost product ids, {imports} import(s) and \
         {resends} resend(s) of held courses, {takeovers} stale lock(s) taken over"
    );
    assert_eq!((duplicates, lost), (0, 0));
    assert_eq!(killed, KILL_TRIALS, "every trial killed an apply mid-run");
    assert!(
        held_at_kill > 0 && takeovers == held_at_kill,
        "{held_at_kill} killed runs held the lock, {takeovers} takeovers"
    );
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

fn secret_and_tokens_never_reach_output_state_or_plan_files(setup: &Setup) {
    const SECRET: &str = "Zq7-very-distinctive-app-secret-4f1c9e";
    let mut config = TestEmulator::config();
    config.secret = Some(SECRET.into());
    let r = Remote::with_setup(config, setup, "");
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

// Cells: the documents' readings with the facts unsettled (every lost add answer is held) and
// probed (known to be deduplicated: sent again and adopted); the four hostile readings at once;
// and, since a lost answer and a refused token are what these faults provoke, `add-dedupe=no`
// and `token=revoked` each alone.
crate::support::matrix! {
    gateway_timeouts_on_add_and_upload_converge:
        [default, default_probed, hostile, no_dedupe, revoked_token];
    too_many_requests_with_retry_after_converge:
        [default, default_probed, hostile, no_dedupe, revoked_token];
    dropped_connections_converge: [default, default_probed, hostile, no_dedupe, revoked_token];
    performed_then_answered_504_on_add_is_adopted_not_duplicated:
        [default, default_probed, hostile, no_dedupe, revoked_token];
    one_lost_add_answer_is_adopted_or_held: [default, default_probed, hostile, hostile_probed];
    request_timeouts_fail_the_run_then_converge:
        [default, default_probed, hostile, no_dedupe, revoked_token];
    kill_9_at_random_moments_then_rerun_converges: [default, default_probed, hostile];
    secret_and_tokens_never_reach_output_state_or_plan_files: [default, hostile];
}
