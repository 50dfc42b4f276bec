//! Platform fidelity (issue 9) through the real binary, against the emulator over real HTTP,
//! under its readings of the open facts, with `platform-facts.toml` absent (every fact
//! unsettled) unless a test says otherwise:
//! - no blind re-add: an add whose answer was lost (performed then answered 504; a plain 504;
//!   a kill -9 between sending and recording) is held as `unknown_outcome`, never re-sent, and
//!   never leaves a second product, whether the platform deduplicates adds or not; `import
//!   --product-id` and `apply --resend` resolve it;
//! - fail-safe readings: no false drift when `product_status.status` is an audit status or when
//!   `query` echoes only some fields, and every format says what the platform does not report;
//!   `import` records an approved product as listed;
//! - `[app] sandbox_audit` reaches the emulator as `Aweme-Check-Type`;
//! - a malformed `platform-facts.toml` is a clear error.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::Duration;

use coursesync::emulator::testing::TestEmulator;
use coursesync::emulator::{FaultKind, FaultSpec, Readings};
use coursesync::state::Audit;
use serde_json::Value;

use crate::support::{Remote, base_course, stderr, stdout};

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

fn code(out: &Output, expected: i32) {
    assert_eq!(out.status.code(), Some(expected), "{}", show(out));
}

/// A project on an emulator answering the open facts as `readings` say (e.g. `add-dedupe=no`).
fn remote(readings: &[&str]) -> Remote {
    let mut config = TestEmulator::config();
    config.readings = Readings::parse(readings).unwrap();
    Remote::with(config, "")
}

/// The two readings of `add-dedupe`, the second with the other non-default readings too.
const READINGS: [&[&str]; 2] = [
    &["add-dedupe=yes"],
    &["add-dedupe=no", "status-field=audit", "query-echo=sparse"],
];

/// The emulator's products (dead first adds included) per course_id.
fn products_by_course(r: &Remote) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for p in r.emulator.products().into_iter().filter(|p| !p.dead) {
        out.entry(p.course_id).or_default().push(p.product_id);
    }
    out
}

/// Exactly one product per course_id of `ids`, and state names it.
fn assert_one_product_each(r: &Remote, ids: &[&str], context: &str) {
    let by_course = products_by_course(r);
    let state = r.state();
    for id in ids {
        let products = by_course.get(*id).cloned().unwrap_or_default();
        assert_eq!(
            products.len(),
            1,
            "{context}: {id} has products {products:?}"
        );
        let rec = state.course(id).unwrap().unwrap();
        assert_eq!(
            rec.product_id,
            Some(products[0] as i64),
            "{context}: state's product of {id}"
        );
    }
}

fn status_json(r: &Remote) -> Value {
    let out = r.run(&["status", "--format", "json"]);
    code(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn audit_of(status: &Value, course_id: &str) -> Value {
    status["courses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["course_id"] == course_id)
        .map_or(Value::Null, |c| c["audit"].clone())
}

fn held_courses(r: &Remote) -> Vec<String> {
    r.state()
        .courses()
        .unwrap()
        .into_values()
        .filter(|c| c.audit == Audit::UnknownOutcome)
        .map(|c| c.course_id)
        .collect()
}

#[test]
fn a_lost_add_answer_is_held_then_import_resolves_it_with_no_second_product() {
    for readings in READINGS {
        let ctx = readings.join(" ");
        let r = remote(readings);
        r.course("a.toml", &base_course("a"))
            .course("b.toml", &base_course("b"));
        // The first add is performed, and its answer lost (504).
        r.emulator.set_fault(
            "add",
            FaultSpec {
                next: [FaultKind::Performed504].into(),
                ..FaultSpec::default()
            },
        );
        let out = r.run(&["apply", "--auto-approve"]);
        code(&out, 1);
        let text = stdout(&out);
        let held = held_courses(&r);
        assert_eq!(held.len(), 1, "{ctx}: {}", show(&out));
        let held = held[0].clone();
        assert!(
            text.contains("Held: 1 course(s) with an unknown outcome"),
            "{ctx}: {text}"
        );
        assert!(
            text.contains(&format!("? {held}: the answer to its add was lost"))
                && text.contains("coursesync import --product-id N")
                && text.contains(&format!("coursesync apply --resend {held}")),
            "{ctx}: {text}"
        );
        assert_eq!(r.emulator.count("add"), 2, "{ctx}: each add sent once");
        assert_eq!(
            products_by_course(&r).get(&held).map(Vec::len),
            Some(1),
            "{ctx}: the lost add was performed once"
        );

        // status, in both formats, names it with the remedy.
        let status = status_json(&r);
        assert_eq!(audit_of(&status, &held), "unknown_outcome", "{ctx}");
        let out = r.run(&["status"]);
        code(&out, 0);
        assert!(
            stdout(&out).contains("↳ unknown outcome: the answer to its add was lost"),
            "{ctx}: {}",
            show(&out)
        );

        // plan holds it: a note, not a change; --detailed-exitcode counts only changes.
        let out = r.run(&["plan", "--detailed-exitcode"]);
        code(&out, 0);
        assert!(
            stdout(&out).contains("Held: 1 course with an unknown outcome"),
            "{ctx}: {}",
            show(&out)
        );
        // apply again: not re-sent, still exit 1.
        let out = r.run(&["apply", "--auto-approve"]);
        code(&out, 1);
        assert!(
            stdout(&out).contains("Nothing to do."),
            "{ctx}: {}",
            show(&out)
        );
        assert_eq!(
            r.emulator.count("add"),
            2,
            "{ctx}: a held course is not re-sent"
        );

        // Found in the console: import resolves it, without --force.
        let found = products_by_course(&r)[&held][0];
        let out = r.run(&["import", "--product-id", &found.to_string()]);
        code(&out, 0);
        let rec = r.state().course(&held).unwrap().unwrap();
        assert_eq!(rec.product_id, Some(found as i64), "{ctx}");
        assert!(
            matches!(rec.audit, Audit::InReview | Audit::Approved),
            "{ctx}: {:?}",
            rec.audit
        );
        let out = r.run(&["plan", "--detailed-exitcode"]);
        code(&out, 0);
        assert!(
            stdout(&out).contains(
                "Plan: 0 to add, 0 to modify (re-audit), 0 path-only change, 0 listing change, 0 to delist, 0 uploads."
            ) && !stdout(&out).contains("Held"),
            "{ctx}: {}",
            show(&out)
        );
        code(&r.run(&["apply", "--auto-approve"]), 0);

        // Approved: no false drift, whatever the platform's readings.
        r.emulator.finish_audits();
        code(&r.run(&["refresh"]), 0);
        let out = r.run(&["drift"]);
        code(&out, 0);
        assert_one_product_each(&r, &["a", "b"], &ctx);
        assert_eq!(r.emulator.count("add"), 2, "{ctx}");
    }
}

#[test]
fn resend_sends_a_held_course_again_knowingly() {
    for readings in READINGS {
        let ctx = readings.join(" ");
        let r = remote(readings);
        r.course("a.toml", &base_course("a"));
        // A 504 that was not performed; the client cannot tell it from a performed one.
        r.emulator.set_fault(
            "add",
            FaultSpec {
                next: [FaultKind::GatewayTimeout].into(),
                ..FaultSpec::default()
            },
        );
        code(&r.run(&["apply", "--auto-approve"]), 1);
        assert_eq!(held_courses(&r), ["a"], "{ctx}");
        assert!(products_by_course(&r).is_empty(), "{ctx}");

        let out = r.run(&["apply", "--auto-approve", "--resend", "nope"]);
        code(&out, 1);
        assert!(
            stderr(&out).contains("--resend nope: nope is not a held course"),
            "{ctx}: {}",
            show(&out)
        );
        let out = r.run(&["plan", "--out", "p.json"]);
        code(&out, 0);
        let out = r.run(&["apply", "p.json", "--resend", "a"]);
        code(&out, 1);
        assert!(stderr(&out).contains("--resend cannot be combined with a plan file"));

        let out = r.run(&["apply", "--auto-approve", "--resend", "a"]);
        code(&out, 0);
        assert!(
            stdout(&out).contains("sent again (--resend)"),
            "{ctx}: {}",
            show(&out)
        );
        assert_eq!(r.emulator.count("add"), 2, "{ctx}");
        assert_one_product_each(&r, &["a"], &ctx);
        code(&r.run(&["plan", "--detailed-exitcode"]), 0);
        code(&r.run(&["apply", "--auto-approve"]), 0);
    }
}

#[test]
fn with_dedupe_known_a_lost_add_answer_converges_as_before() {
    let r = remote(&["add-dedupe=yes"]);
    std::fs::write(
        r.project.root().join("platform-facts.toml"),
        "[facts]\n\"add.repeat_answers_10140\" = true\n",
    )
    .unwrap();
    r.course("a.toml", &base_course("a"));
    r.emulator.set_fault(
        "add",
        FaultSpec {
            next: [FaultKind::Performed504].into(),
            ..FaultSpec::default()
        },
    );
    code(&r.run(&["apply", "--auto-approve"]), 0);
    assert_eq!(
        r.emulator.count("add"),
        2,
        "the add and its retry (answered 10140)"
    );
    assert!(held_courses(&r).is_empty());
    assert_one_product_each(&r, &["a"], "dedupe known");
}

/// Polls the state until an `add` intent is pending (the add is on its way), at most `limit`.
fn wait_for_pending_add(r: &Remote, limit: Duration) -> bool {
    let path = r.project.root().join("state/coursesync.db");
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(state)) = coursesync::state::State::open_readonly(&path)
            && state
                .journal_pending()
                .is_ok_and(|p| p.iter().any(|e| e.action == "add"))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Resolves every held course as a user would: the product found on the platform (the console)
/// is imported; with none, the course is sent again. Then apply runs clean. Returns what was
/// done: (imported, resent).
fn resolve_held(r: &Remote) -> (usize, usize) {
    let (mut imported, mut resent) = (0, 0);
    let held = held_courses(r);
    let by_course = products_by_course(r);
    let mut resend = Vec::new();
    for id in &held {
        match by_course.get(id).map(Vec::as_slice) {
            Some([one]) => {
                code(&r.run(&["import", "--product-id", &one.to_string()]), 0);
                imported += 1;
            }
            Some(several) => panic!("{id}: several products {several:?}"),
            None => resend.push(id.clone()),
        }
    }
    let mut args = vec!["apply", "--auto-approve"];
    for id in &resend {
        args.extend(["--resend", id.as_str()]);
    }
    resent += resend.len();
    let out = r.run(&args);
    code(&out, 0);
    (imported, resent)
}

#[cfg(unix)]
#[test]
fn a_kill_between_sending_an_add_and_recording_it_holds_the_course() {
    for readings in READINGS {
        let ctx = readings.join(" ");
        let r = remote(readings);
        r.course("a.toml", &base_course("a"));
        // The add takes a while: the run is killed while it is on its way.
        r.emulator.set_fault(
            "add",
            FaultSpec {
                latency_ms: 400,
                ..FaultSpec::default()
            },
        );
        let mut child = r
            .command(&["apply", "--auto-approve"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            wait_for_pending_add(&r, Duration::from_secs(30)),
            "{ctx}: no add intent"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        r.emulator.set_fault("add", FaultSpec::default());
        // Whether the emulator performed it is not known to the client.
        std::thread::sleep(Duration::from_millis(600));

        let status = status_json(&r);
        assert_eq!(audit_of(&status, "a"), "unknown_outcome", "{ctx}");
        let out = r.run(&["plan", "--detailed-exitcode"]);
        code(&out, 0);
        assert!(
            stdout(&out).contains("Held: 1 course"),
            "{ctx}: {}",
            show(&out)
        );
        let adds = r.emulator.count("add");
        let out = r.run(&["apply", "--auto-approve"]);
        code(&out, 1);
        assert!(
            stdout(&out).contains("? a: the answer to its add was lost"),
            "{ctx}"
        );
        assert_eq!(r.emulator.count("add"), adds, "{ctx}: not re-sent");
        assert_eq!(held_courses(&r), ["a"], "{ctx}: recorded as held");
        resolve_held(&r);
        assert_one_product_each(&r, &["a"], &ctx);
        code(&r.run(&["plan", "--detailed-exitcode"]), 0);
    }
}

/// kill -9 at random moments among the adds with every fact unsettled, on a platform that deduplicates adds
/// and on one that does not: after each kill, apply holds what it cannot know, the held courses
/// are resolved as a user would (import the product found, else --resend), and the platform
/// ends with exactly one product per course and state names each.
#[cfg(unix)]
#[test]
fn kill_9_trials_with_unknown_facts_leave_no_duplicate_and_lose_no_id() {
    let seed: u64 = std::env::var("FIDELITY_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0f1d_e117);
    let trials: usize = std::env::var("FIDELITY_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let mut rng = fastrand::Rng::with_seed(seed);
    for dedupe in ["yes", "no"] {
        let mut config = TestEmulator::config();
        config.readings = Readings::parse(&[format!("add-dedupe={dedupe}")]).unwrap();
        // Adds take a while, so a kill lands among them.
        config.faults = vec![
            (
                "*".into(),
                FaultSpec {
                    latency_ms: 20,
                    ..FaultSpec::default()
                },
            ),
            (
                "add".into(),
                FaultSpec {
                    latency_ms: 150,
                    ..FaultSpec::default()
                },
            ),
        ];
        let r = Remote::with(config, "");
        let mut ids: Vec<String> = Vec::new();
        let (mut held_total, mut imported, mut resent) = (0, 0, 0);
        for trial in 0..trials {
            for i in 0..6 {
                let id = format!("k{trial}-{i}");
                r.course(&format!("{id}.toml"), &base_course(&id));
                ids.push(id);
            }
            // Killed at a random moment after the first add was journaled (about to be sent).
            let delay = rng.u64(0..300);
            let mut child = r
                .command(&["apply", "--auto-approve"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            assert!(wait_for_pending_add(&r, Duration::from_secs(30)));
            std::thread::sleep(Duration::from_millis(delay));
            let _ = child.kill();
            child.wait().unwrap();
            // Let requests already sent finish on the platform.
            std::thread::sleep(Duration::from_millis(200));
            let out = r.run(&["apply", "--auto-approve"]);
            assert!(matches!(out.status.code(), Some(0 | 1)), "{}", show(&out));
            let held = held_courses(&r);
            held_total += held.len();
            let (i, s) = resolve_held(&r);
            imported += i;
            resent += s;
            println!(
                "add-dedupe={dedupe} trial {trial}: killed {delay} ms after the first add intent; held {} ({held:?})",
                held.len()
            );
        }
        let by_course = products_by_course(&r);
        let duplicates: Vec<_> = by_course.iter().filter(|(_, p)| p.len() > 1).collect();
        let state = r.state().courses().unwrap();
        let lost: Vec<u64> = by_course
            .iter()
            .flat_map(|(id, products)| {
                let recorded = state.get(id).and_then(|c| c.product_id);
                products
                    .iter()
                    .copied()
                    .filter(move |p| recorded != Some(*p as i64))
            })
            .collect();
        let known: BTreeSet<&String> = by_course.keys().collect();
        println!(
            "add-dedupe={dedupe}: {trials} kill -9 trials (seed {seed}), {} courses, {held_total} held, {imported} resolved by import, {resent} by --resend; duplicates {}, lost product ids {}",
            ids.len(),
            duplicates.len(),
            lost.len()
        );
        assert!(duplicates.is_empty(), "duplicates: {duplicates:?}");
        assert!(lost.is_empty(), "products not in state: {lost:?}");
        assert_eq!(known.len(), ids.len(), "every course has its product");
        code(&r.run(&["plan", "--detailed-exitcode"]), 0);
    }
}

#[test]
fn no_false_drift_when_status_is_an_audit_status_and_query_is_sparse() {
    let r = remote(&["status-field=audit", "query-echo=sparse"]);
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &base_course("b"));
    code(&r.run(&["apply", "--auto-approve"]), 0);
    r.emulator.finish_audits();
    code(&r.run(&["refresh"]), 0);

    let out = r.run(&["drift"]);
    code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("Drift: 0 courses differ, 0 pending review, 0 unknown to the platform."),
        "{text}"
    );
    assert!(
        text.contains("Listing: not reported by the platform"),
        "{text}"
    );
    assert!(
        text.contains("Not reported by the platform, so not compared:"),
        "{text}"
    );
    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 0);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["listing_reported"], false);
    assert_eq!(json["courses"], serde_json::json!([]));
    let not_reported: Vec<&str> = json["not_reported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        not_reported.contains(&"course.course_num"),
        "{not_reported:?}"
    );
    assert!(
        not_reported.contains(&"purchase_precaution"),
        "{not_reported:?}"
    );
    let out = r.run(&["drift", "--format", "markdown"]);
    code(&out, 0);
    assert!(
        stdout(&out).contains("> Listing: not reported"),
        "{}",
        show(&out)
    );
    code(&r.run(&["plan", "--refresh", "--detailed-exitcode"]), 0);

    // What the answer carries is still compared: an out-of-band title change is drift.
    let a = r.emulator.product_by_course("a").unwrap().product_id;
    r.emulator
        .edit_on_shelf(
            a,
            &serde_json::json!({"common_product_params": {"title": "改过的标题"}}),
        )
        .unwrap();
    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 2);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["courses"][0]["changes"],
        serde_json::json!([{"path": "title", "platform": "改过的标题", "applied": "基础课程"}])
    );
}

#[test]
fn import_records_an_approved_product_as_listed_when_listing_is_unknown() {
    let r = remote(&["status-field=audit"]);
    r.course("a.toml", &base_course("a"));
    code(&r.run(&["apply", "--auto-approve"]), 0);
    r.emulator.finish_audits();
    let a = r.emulator.product_by_course("a").unwrap().product_id;
    // A fresh state: the product is adopted from the platform.
    std::fs::remove_dir_all(r.project.root().join("state")).unwrap();
    code(&r.run(&["import", "--product-id", &a.to_string()]), 0);
    let rec = r.state().course("a").unwrap().unwrap();
    assert_eq!(rec.audit, Audit::Approved);
    assert!(
        rec.listed,
        "the status field (2 here) is not read as a listing code"
    );
    // The catalog's listed = true agrees: no listing change is planned (the product's file URLs
    // are not this state's uploads, so its files plan a modify, as any import's do).
    let out = r.run(&["plan"]);
    code(&out, 0);
    assert!(
        stdout(&out).contains(", 0 listing change,"),
        "{}",
        show(&out)
    );
}

fn with_sandbox_audit(r: &Remote, value: &str) {
    let path = r.project.root().join("coursesync.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "environment = \"sandbox\"\n",
        &format!("environment = \"sandbox\"\nsandbox_audit = \"{value}\"\n"),
    );
    std::fs::write(path, text).unwrap();
}

#[test]
fn sandbox_audit_decides_the_emulators_audit() {
    for (value, expected) in [("reject", Audit::Rejected), ("approve", Audit::Approved)] {
        let r = Remote::new();
        with_sandbox_audit(&r, value);
        r.course("a.toml", &base_course("a"));
        code(&r.run(&["apply", "--auto-approve"]), 0);
        r.emulator.finish_audits();
        code(&r.run(&["refresh"]), 0);
        assert_eq!(
            r.state().course("a").unwrap().unwrap().audit,
            expected,
            "sandbox_audit = {value}"
        );
    }
    // Anywhere but the sandbox it is an error, before anything is sent.
    let r = Remote::new();
    with_sandbox_audit(&r, "approve");
    let path = r.project.root().join("coursesync.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("environment = \"sandbox\"", "environment = \"production\"");
    std::fs::write(path, text).unwrap();
    r.course("a.toml", &base_course("a"));
    let out = r.run(&["apply", "--auto-approve"]);
    code(&out, 1);
    assert!(
        stderr(&out).contains("app.sandbox_audit applies only"),
        "{}",
        show(&out)
    );
    assert_eq!(r.emulator.count("add"), 0);
}

#[test]
fn a_malformed_platform_facts_file_is_an_error_with_its_position() {
    let r = Remote::new();
    std::fs::write(
        r.project.root().join("platform-facts.toml"),
        "[facts]\n\"add.repeat_answers_10140\" = \"yes\"\n",
    )
    .unwrap();
    r.course("a.toml", &base_course("a"));
    for args in [&["status"][..], &["apply", "--auto-approve"]] {
        let out = r.run(args);
        code(&out, 1);
        let err = stderr(&out);
        assert!(err.contains("platform-facts.toml:2:30:"), "{}", show(&out));
        assert!(
            err.contains("hint:") && err.contains("docs/platform-facts.md"),
            "{err}"
        );
    }
    assert_eq!(r.emulator.count("add"), 0);
    std::fs::write(
        r.project.root().join("platform-facts.toml"),
        "[facts]\nadd.repeat_answers_10140 = true\n",
    )
    .unwrap();
    let out = r.run(&["status"]);
    code(&out, 1);
    assert!(stderr(&out).contains("write it quoted"), "{}", show(&out));
}
