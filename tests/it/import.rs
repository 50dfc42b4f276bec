//! `apply --wait`, `import` and `dump` through the real binary, against the emulator over real
//! HTTP: waiting for an approval and for a rejection; importing products made by another project
//! into a fresh one without re-adding them; dumping them into course files that validate clean
//! and plan to no changes; an unknown product id. Each under the readings it depends on (the
//! test matrix): import reads `query`, so its listing and its fields follow the readings of
//! `product_status.status` and of the echo.

use coursesync::emulator::readings::QueryEcho;
use coursesync::emulator::testing::TestEmulator;
use coursesync::state::Audit;

use crate::support::readings::Setup;

use crate::support::{Remote, base_course, stderr, stdout};

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn show(out: &std::process::Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out))
}

fn apply_wait_approved(setup: &Setup) {
    let r = Remote::on(setup, "");
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
    r.assert_no_duplicate_no_lost(&["a".to_owned()].into());
    r.assert_no_false_drift();
}

fn apply_wait_rejected(setup: &Setup) {
    let mut cfg = TestEmulator::config();
    cfg.banned_words = vec!["违禁".into()];
    let r = Remote::with_setup(cfg, setup, "");
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
    r.assert_no_duplicate_no_lost(&["ok".to_owned(), "bad".to_owned()].into());
}

fn apply_wait_times_out(setup: &Setup) {
    let mut cfg = TestEmulator::config();
    cfg.audit_delay = std::time::Duration::from_hours(1);
    let r = Remote::with_setup(cfg, setup, "");
    r.course("slow.toml", &base_course("slow"));
    let out = r.run(&["apply", "--auto-approve", "--wait", "--timeout", "1s"]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("Timed out after 1s; still in review: slow."),
        "{}",
        show(&out)
    );
    assert_eq!(r.state().courses().unwrap()["slow"].audit, Audit::InReview);
    r.assert_no_duplicate_no_lost(&["slow".to_owned()].into());
    r.assert_no_false_drift();
}

#[test]
fn wait_needs_a_valid_timeout() {
    let r = Remote::new();
    let out = r.run(&["apply", "--auto-approve", "--wait", "--timeout", "soon"]);
    // A usage error exits 1 (2 means changes or drift).
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("not a duration"), "{}", show(&out));
}

/// A second project on the same platform: the settings of `r`, an empty catalog, no state.
struct Fresh<'a> {
    remote: &'a Remote,
    dir: tempfile::TempDir,
}

impl Fresh<'_> {
    fn new(remote: &Remote) -> Fresh<'_> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            remote.project.root().join("coursesync.toml"),
            dir.path().join("coursesync.toml"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("catalog")).unwrap();
        Fresh { remote, dir }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.remote
            .command(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn state(&self) -> coursesync::state::State {
        coursesync::state::State::open(&self.dir.path().join("state/coursesync.db")).unwrap()
    }
}

/// The catalog's assets of `r`, copied into `fresh`'s catalog.
fn copy_assets(r: &Remote, fresh: &Fresh<'_>) {
    let to = fresh.dir.path().join("catalog/assets");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(r.project.catalog().join("assets")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A course with the other forms: a price range, an image_text lesson, an image-text detail,
/// an institution, a progress refund, a physical gift without pics, a datetime with an offset.
fn other_course(id: &str) -> String {
    base_course(id)
        .replace(
            "real_price = 4900",
            "range_min_price = 100\nrange_max_price = 6000",
        )
        .replace(
            "[[details]]\ntext = \"课程介绍\"",
            "[[details]]\ntext = \"课程介绍 \\\"引号\\\"\\nSecond line\"\nimage = \"assets/detail.png\"",
        )
        .replace(
            "[[lessons]]\nname = \"讲义\"",
            "[[lessons]]\nname = \"图文\"\ntype = \"image_text\"\nfile = \"assets/detail.png\"\ntext = \"看图\"\n\n[[lessons]]\nname = \"讲义\"",
        )
        .replace("teacher_id = \"E_1\"", "institution_id = \"I_9\"")
        .replace("days_unused = 7", "progress_below_percent = 30")
        .replace(
            "type = \"virtual\"\nname = \"电子书\"\nnum = 1\npics = [\"https://cdn.example.com/a.jpg\"]\nsend_back_on_refund = false",
            "type = \"physical\"\nname = \"纸质书\"\nnum = 2\nsend_back_on_refund = true",
        )
        .replace("start = 2026-12-01", "start = 2026-12-01T09:30:00.250+08:00")
}

/// Two courses on the platform, approved and listed, made by a first project.
fn published(setup: &Setup) -> (Remote, i64, i64) {
    let r = Remote::on(setup, "");
    r.course("py-101.toml", &base_course("py-101"))
        .course("kids/go-201.toml", &other_course("go-201"));
    let out = r.run(&["apply", "--auto-approve", "--wait"]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    let id = |c: &str| r.emulator.product_by_course(c).unwrap().product_id as i64;
    let (a, b) = (id("py-101"), id("go-201"));
    (r, a, b)
}

fn import_dump_then_plan_shows_no_changes(setup: &Setup) {
    let (r, a, b) = published(setup);
    let adds = r.emulator.count("add");
    let fresh = Fresh::new(&r);
    let (a_s, b_s) = (a.to_string(), b.to_string());

    let out = fresh.run(&["import", "--product-id", &a_s, &b_s]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("imported py-101 (product {a}, approved, listed)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("imported go-201 (product {b}, approved, listed)")),
        "{text}"
    );
    let courses = fresh.state().courses().unwrap();
    assert_eq!(courses.len(), 2);
    for (course, id) in [("py-101", a), ("go-201", b)] {
        let rec = &courses[course];
        assert_eq!(rec.product_id, Some(id));
        assert_eq!(rec.audit, Audit::Approved);
        assert!(rec.listed);
        assert_eq!(rec.approved_hash, rec.payload_hash);
        assert!(
            rec.payload.as_deref().unwrap().contains("/obj/"),
            "URLs kept"
        );
    }
    assert_eq!(r.emulator.count("add"), adds, "import adds nothing");
    r.assert_no_duplicate_no_lost(&["py-101".to_owned(), "go-201".to_owned()].into());
    if setup.readings.query_echo == QueryEcho::Sparse {
        // The platform does not report every field: a course file written from it lacks them,
        // and validate says so instead of a plan silently sending less.
        let out = fresh.run(&["dump", "--product-id", &a_s, "--out", "catalog/imported"]);
        assert_eq!(code(&out), Some(0), "{}", show(&out));
        let out = fresh.run(&["validate"]);
        assert_eq!(code(&out), Some(1), "{}", show(&out));
        assert!(
            stderr(&out).contains("purchase_precaution")
                || stdout(&out).contains("purchase_precaution"),
            "{}",
            show(&out)
        );
        std::fs::remove_dir_all(fresh.dir.path().join("catalog/imported")).unwrap();
        // With the course files the user has, the imported products are modified, never added
        // again.
        for f in ["py-101.toml", "kids/go-201.toml"] {
            let to = fresh.dir.path().join("catalog").join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(r.project.catalog().join(f), to).unwrap();
        }
        copy_assets(&r, &fresh);
        let out = fresh.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(code(&out), Some(2), "{}", show(&out));
        assert!(
            stdout(&out).contains("Plan: 0 to add, 2 to modify (re-audit)"),
            "{}",
            show(&out)
        );
        return;
    }

    let out = fresh.run(&[
        "dump",
        "--product-id",
        &a_s,
        &b_s,
        "--out",
        "catalog/imported",
    ]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    let dumped =
        std::fs::read_to_string(fresh.dir.path().join("catalog/imported/go-201.toml")).unwrap();
    assert!(
        dumped.contains(coursesync::adopt::HOSTED_COMMENT),
        "{dumped}"
    );
    assert!(
        dumped.contains("title = \"基础课程\""),
        "Chinese kept: {dumped}"
    );
    assert!(
        dumped.contains("start = 2026-12-01T09:30:00.250+08:00"),
        "{dumped}"
    );
    assert!(dumped.contains("type = \"physical\""), "{dumped}");

    let out = fresh.run(&["validate"]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("2 valid: 0 errors, 0 warnings"),
        "{}",
        show(&out)
    );

    let out = fresh.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), Some(0), "no changes:\n{}", show(&out));

    // Dumping again refuses to overwrite; importing again changes nothing.
    let out = fresh.run(&["dump", "--product-id", &a_s, "--out", "catalog/imported"]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    assert!(stdout(&out).contains("already exists"), "{}", show(&out));
    let serial = fresh.state().serial();
    let out = fresh.run(&["import", "--product-id", &a_s]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    assert!(stdout(&out).contains("unchanged: py-101"), "{}", show(&out));
    assert_eq!(fresh.state().serial(), serial, "nothing written");
    assert_eq!(r.emulator.count("add"), adds);
}

fn import_unknown_and_conflicting_ids(setup: &Setup) {
    let (r, a, b) = published(setup);
    let fresh = Fresh::new(&r);
    let out = fresh.run(&[
        "import",
        "--product-id",
        &a.to_string(),
        "--product-id",
        "999",
    ]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("failed: product 999"), "{text}");
    assert!(text.contains("imported py-101"), "{text}");
    assert_eq!(fresh.state().courses().unwrap().len(), 1);

    // go-201 recorded with another product id in this state: refused unless --force.
    let state = fresh.state();
    let mut rec = state.course("py-101").unwrap().unwrap();
    rec.course_id = "go-201".into();
    rec.product_id = Some(42);
    state.put_course(&rec).unwrap();
    let out = fresh.run(&["import", "--product-id", &b.to_string()]);
    assert_eq!(code(&out), Some(1), "{}", show(&out));
    assert!(
        stdout(&out).contains("course go-201 is already in state as product 42"),
        "{}",
        show(&out)
    );
    assert_eq!(
        fresh.state().course("go-201").unwrap().unwrap().product_id,
        Some(42)
    );
    let out = fresh.run(&["import", "--force", "--product-id", &b.to_string()]);
    assert_eq!(code(&out), Some(0), "{}", show(&out));
    assert_eq!(
        fresh.state().course("go-201").unwrap().unwrap().product_id,
        Some(b)
    );
}

// `apply --wait` reads `query_review` only: the documents' readings and all four hostile ones.
// Import reads `query`: also both with the facts probed, and each reading of `query` alone.
crate::support::matrix! {
    apply_wait_approved: [default, hostile];
    apply_wait_rejected: [default, hostile];
    apply_wait_times_out: [default, hostile];
    import_dump_then_plan_shows_no_changes:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
    import_unknown_and_conflicting_ids:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
}
