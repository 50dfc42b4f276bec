//! `apply` against the emulator over real HTTP, with the real binary: a fresh apply and a no-op
//! second plan, each action kind through the right endpoint, uploads before the courses that need
//! them, saved plans (stale refused, applied once), the lock, and bad input sending nothing.

use coursesync::state::Audit;

use crate::support::{Remote, base_course, stderr, stdout};

fn ok(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Marks every course in review as approved and listed, as `refresh` would after the platform
/// approved them (the emulator approves at once with its default audit delay of 0).
fn approve_all(r: &Remote) {
    let state = r.state();
    let mut courses: Vec<_> = state.courses().unwrap().into_values().collect();
    for c in &mut courses {
        if c.audit == Audit::InReview {
            c.audit = Audit::Approved;
            if c.approved_hash.is_none() {
                c.listed = true;
            }
            c.approved_payload.clone_from(&c.payload);
            c.approved_hash.clone_from(&c.payload_hash);
        }
    }
    state.put_courses(&courses).unwrap();
}

#[test]
fn fresh_apply_then_nothing_to_do() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &base_course("b"))
        .course("c/c.toml", &base_course("c"));
    let out = r.run(&["apply", "--auto-approve"]);
    ok(&out);
    assert!(
        stdout(&out).contains("Apply complete: 3 of 3 courses done, 0 failed"),
        "{}",
        stdout(&out)
    );
    let state = r.state().courses().unwrap();
    for id in ["a", "b", "c"] {
        let rec = &state[id];
        let product = r
            .emulator
            .product_by_course(id)
            .expect("the platform has the course");
        assert_eq!(rec.product_id, Some(product.product_id as i64));
        assert_eq!(rec.audit, Audit::InReview);
    }
    assert_eq!(r.emulator.count("add"), 3);
    // No phantom diffs: the plan right after is empty, and a second apply sends nothing.
    ok(&r.run(&["plan", "--detailed-exitcode"]));
    let calls = r.emulator.calls().len();
    let again = r.run(&["apply", "--auto-approve"]);
    ok(&again);
    assert!(
        stdout(&again).contains("Nothing to do."),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        r.emulator.calls().len(),
        calls,
        "a no-op apply called the platform"
    );
}

#[test]
fn uploads_finish_before_the_course_that_needs_them_is_sent() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    ok(&r.run(&["apply", "--auto-approve"]));
    let calls = r.emulator.calls();
    let add = calls.iter().find(|c| c.endpoint == "add").unwrap().seq;
    let uploads: Vec<_> = calls
        .iter()
        .filter(|c| c.endpoint == "upload_resource")
        .collect();
    // cover (31), video (2), office (5), detail image (1): four files, four types.
    assert_eq!(uploads.len(), 4);
    assert!(
        calls
            .iter()
            .filter(|c| c.endpoint.contains("resource"))
            .all(|c| c.seq < add)
    );
    let resources = r.state().resources().unwrap();
    assert_eq!(resources.len(), 4);
    assert!(
        resources
            .values()
            .all(|res| res.status == 2 && res.url.contains("?sha256="))
    );
}

#[test]
fn a_file_shared_by_two_courses_is_uploaded_once() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &base_course("b"));
    ok(&r.run(&["apply", "--auto-approve"]));
    assert_eq!(r.emulator.count("upload_resource"), 4);
    assert_eq!(r.emulator.count("add"), 2);
}

#[test]
fn each_action_kind_goes_through_its_endpoint() {
    let r = Remote::with(
        coursesync::emulator::testing::TestEmulator::config(),
        "prune = true",
    );
    for id in ["price", "page", "hide", "gone", "keep"] {
        r.course(&format!("{id}.toml"), &base_course(id));
    }
    ok(&r.run(&["apply", "--auto-approve"]));
    approve_all(&r);

    r.course(
        "price.toml",
        &base_course("price").replace("real_price = 4900", "real_price = 3900"),
    );
    r.course(
        "page.toml",
        &base_course("page").replace("channel = \"catalog\"", "channel = \"ads\""),
    );
    r.course(
        "hide.toml",
        &base_course("hide").replace("listed = true", "listed = false"),
    );
    std::fs::remove_file(r.project.catalog().join("gone.toml")).unwrap();

    let plan = r.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2));
    assert!(
        stdout(&plan).contains("Plan: 0 to add, 1 to modify (re-audit), 1 path-only change, 1 listing change, 1 to delist, 0 uploads."),
        "{}",
        stdout(&plan)
    );
    assert!(
        stdout(&plan).contains("~ price.real_price: 4900 -> 3900"),
        "{}",
        stdout(&plan)
    );
    let before = r.emulator.counts();
    ok(&r.run(&["apply", "--auto-approve"]));
    let after = r.emulator.counts();
    let delta = |e: &str| {
        after.per_endpoint.get(e).copied().unwrap_or(0)
            - before.per_endpoint.get(e).copied().unwrap_or(0)
    };
    assert_eq!(
        (
            delta("add"),
            delta("modify"),
            delta("modify_no_audit"),
            delta("modify_status")
        ),
        (0, 1, 1, 2)
    );
    assert_eq!(r.emulator.count_for("price", "modify"), 1);
    assert_eq!(r.emulator.count_for("page", "modify_no_audit"), 1);
    assert!(!r.emulator.product_by_course("hide").unwrap().listed);
    assert!(!r.emulator.product_by_course("gone").unwrap().listed);
    assert!(r.emulator.product_by_course("keep").unwrap().listed);
    let state = r.state().courses().unwrap();
    assert!(!state["hide"].listed && !state["gone"].listed);
    assert_eq!(state["price"].audit, Audit::InReview);
    // The path-only change kept the approved version in step.
    assert_eq!(state["page"].approved_hash, state["page"].payload_hash);
}

#[test]
fn a_rejected_first_add_is_added_again_with_a_new_product() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    ok(&r.run(&["apply", "--auto-approve"]));
    let first = r.state().course("a").unwrap().unwrap();
    let mut rec = first.clone();
    rec.audit = Audit::Rejected;
    rec.reject_reason = Some("课程质量:货不对板".into());
    r.state().put_course(&rec).unwrap();

    // Unchanged: reported, nothing sent.
    let plan = r.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0));
    assert!(
        stdout(&plan).contains("still rejected: 课程质量:货不对板"),
        "{}",
        stdout(&plan)
    );

    r.course(
        "a.toml",
        &base_course("a").replace("基础课程\"\nfirst", "基础课程（修订）\"\nfirst"),
    );
    let plan = r.run(&["plan"]);
    assert!(stdout(&plan).contains("add again"), "{}", stdout(&plan));
    // The emulator still has the first product alive; mark it rejected there too.
    let product = r.emulator.product_by_course("a").unwrap();
    assert_eq!(product.product_id as i64, first.product_id.unwrap());
}

#[test]
fn a_saved_plan_is_applied_once_and_refused_when_stale() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    ok(&r.run(&["plan", "--out", "plan.json"]));
    // The plan's roles preflight asked the platform (read calls only).
    let planned = r.emulator.calls().len();
    // The catalog changed since: refused, nothing sent.
    r.course("b.toml", &base_course("b"));
    let stale = r.run(&["apply", "plan.json"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        stderr(&stale).contains("refusing a stale plan: the catalog changed"),
        "{}",
        stderr(&stale)
    );
    assert_eq!(r.emulator.calls().len(), planned);

    std::fs::remove_file(r.project.catalog().join("b.toml")).unwrap();
    ok(&r.run(&["apply", "plan.json"]));
    assert_eq!(r.emulator.count("add"), 1);
    // Applying wrote state: the same plan again is stale.
    let twice = r.run(&["apply", "plan.json"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        stderr(&twice).contains("state changed since the plan was made"),
        "{}",
        stderr(&twice)
    );
    assert_eq!(r.emulator.count("add"), 1);
}

#[test]
fn a_second_apply_fails_fast_naming_the_lock_holder() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    let state = r.state();
    let guard = state.lock("coursesync apply (test)").unwrap();
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("pid {}", std::process::id()))
            || err.contains(&std::process::id().to_string()),
        "{err}"
    );
    assert!(err.contains("coursesync apply (test)"), "{err}");
    assert_eq!(r.emulator.calls().len(), 0);
    drop(guard);
    ok(&r.run(&["apply", "--auto-approve"]));
}

#[test]
fn a_bad_catalog_sends_nothing() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a")).course(
        "b.toml",
        &base_course("b").replace("real_price = 4900", "real_price = 5100"),
    );
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CS203"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was planned or sent"),
        "{}",
        stderr(&out)
    );
    assert_eq!(r.emulator.calls().len(), 0);
}

#[test]
fn without_auto_approve_and_no_terminal_it_refuses() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    let out = r
        .command(&["apply"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("stdin is not a terminal"),
        "{}",
        stderr(&out)
    );
    // Only the plan's roles preflight (read calls) reached the platform before the question.
    let calls = r.emulator.calls();
    assert!(
        calls.iter().all(|c| matches!(
            c.endpoint.as_str(),
            "token" | "get_appid_auth" | "get_class_auth"
        )),
        "{calls:?}"
    );
}

#[test]
fn one_broken_course_does_not_block_the_others() {
    // A hosted file the platform cannot pull (nothing listens there) fails only its course.
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    r.course(
        "b.toml",
        &base_course("b").replace(
            "\"assets/cover.jpg\"",
            "\"https://127.0.0.1:9/missing-cover.jpg\"",
        ),
    );
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("✓ a: added as product"), "{text}");
    assert!(
        text.contains("✗ b: not sent: an upload it needs failed"),
        "{text}"
    );
    assert!(text.contains("1 of 2 courses done, 1 failed"), "{text}");
    assert!(r.emulator.product_by_course("a").is_some());
    assert!(r.emulator.product_by_course("b").is_none());
    // The failure is kept: a re-run tries b again (and only b).
    let plan = r.run(&["plan"]);
    assert!(
        stdout(&plan).contains("Plan: 1 to add"),
        "{}",
        stdout(&plan)
    );
}

#[test]
fn delisting_more_than_half_needs_allow_mass_delist() {
    let r = Remote::with(
        coursesync::emulator::testing::TestEmulator::config(),
        "prune = true",
    );
    for id in ["a", "b", "c"] {
        r.course(&format!("{id}.toml"), &base_course(id));
    }
    ok(&r.run(&["apply", "--auto-approve"]));
    approve_all(&r);
    std::fs::remove_file(r.project.catalog().join("a.toml")).unwrap();
    std::fs::remove_file(r.project.catalog().join("b.toml")).unwrap();
    let refused = r.run(&["apply", "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("the plan delists 2 of 3 known courses, more than half"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("--allow-mass-delist"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(r.emulator.count("modify_status"), 0);
    ok(&r.run(&["apply", "--auto-approve", "--allow-mass-delist"]));
    assert_eq!(r.emulator.count("modify_status"), 2);
    assert!(r.emulator.product_by_course("c").unwrap().listed);
}
