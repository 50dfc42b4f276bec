//! `apply --wait`, `import` and `dump` through the real binary, against the emulator over real
//! HTTP: waiting for an approval and for a rejection; importing products made by another project
//! into a fresh one without re-adding them; dumping them into course files that validate clean
//! and plan to no changes; an unknown product id.

use coursesync::emulator::testing::TestEmulator;
use coursesync::state::Audit;

use crate::support::{Remote, base_course, stderr, stdout};

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn show(out: &std::process::Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out))
}

#[test]
fn apply_wait_approved() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    let out = r.run(&["apply", "--auto-approve", "--wait", "--timeout", "60s"]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("a: in review → approved"), "{text}");
    assert!(text.contains("All 1 course(s) approved."), "{text}");
    let rec = &r.state().courses().unwrap()["a"];
    assert_eq!(rec.audit, Audit::Approved);
    assert!(rec.listed);
    assert_eq!(rec.approved_hash, rec.payload_hash);
    // The lock was released after the wait.
    assert!(r.state().lock_holder().unwrap().is_none());
}

#[test]
fn apply_wait_rejected() {
    let mut cfg = TestEmulator::config();
    cfg.banned_words = vec!["违禁".into()];
    let r = Remote::with(cfg, "");
    r.course("ok.toml", &base_course("ok"));
    r.course(
        "bad.toml",
        &base_course("bad").replace("title = \"基础课程\"", "title = \"违禁课程\""),
    );
    let out = r.run(&["apply", "--auto-approve", "--wait"]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("1 course(s) rejected:"), "{text}");
    let reason_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("bad: ") && !l.contains('→'))
        .unwrap_or_else(|| panic!("a line with the reason: {text}"));
    let courses = r.state().courses().unwrap();
    assert_eq!(courses["bad"].audit, Audit::Rejected);
    let reason = courses["bad"].reject_reason.clone().expect("a reason");
    assert!(reason_line.contains(&reason), "{text}");
    assert_eq!(courses["ok"].audit, Audit::Approved);
}

#[test]
fn apply_wait_times_out() {
    let mut cfg = TestEmulator::config();
    cfg.audit_delay = std::time::Duration::from_hours(1);
    let r = Remote::with(cfg, "");
    r.course("slow.toml", &base_course("slow"));
    let out = r.run(&["apply", "--auto-approve", "--wait", "--timeout", "1s"]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("Timed out after 1s; still in review: slow."),
        "{}",
        show(&out)
    );
    assert_eq!(r.state().courses().unwrap()["slow"].audit, Audit::InReview);
}

#[test]
fn wait_needs_a_valid_timeout() {
    let r = Remote::new();
    let out = r.run(&["apply", "--auto-approve", "--wait", "--timeout", "soon"]);
    assert_eq!(code(&out), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("not a duration"), "{}", show(&out));
}
