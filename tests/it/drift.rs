//! `coursesync drift` and `plan --refresh` through the real binary, against the emulator over
//! real HTTP: no drift right after apply + refresh (the platform's view maps back to every field
//! of the base course), out-of-band edits reported field by field, a delisting, a modify pending
//! review, an unknown product id, and `plan --refresh` + apply putting the platform back. Each
//! under the readings of `query` that drift depends on (the test matrix): where the live
//! version's `product_status.status` is an audit status, a delisting cannot be seen and must not
//! be guessed; where `query` echoes only some fields, the others are "not reported", never drift.

use std::process::Output;
use std::time::Duration;

use coursesync::emulator::testing::{TEST_APPID, TEST_SECRET, TestEmulator};
use coursesync::platform::{Client, ClientConfig, RetryPolicy};
use coursesync::settings::Secret;
use coursesync::state::Audit;
use serde_json::{Value, json};

use crate::support::readings::Setup;
use crate::support::{Remote, base_course, stderr, stdout};

fn code(out: &Output, expected: i32) {
    assert_eq!(
        out.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Two courses applied, approved on the platform, and refreshed into state.
fn applied(r: &Remote) {
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &base_course("b"));
    code(&r.run(&["apply", "--auto-approve"]), 0);
    r.emulator.finish_audits();
    code(&r.run(&["refresh"]), 0);
    for c in r.state().courses().unwrap().values() {
        assert_eq!(c.audit, Audit::Approved, "{}", c.course_id);
        assert!(c.listed, "{}", c.course_id);
    }
}

fn product_id(r: &Remote, course_id: &str) -> u64 {
    r.emulator.product_by_course(course_id).unwrap().product_id
}

/// Delists a product through the platform's own API, as someone in the console would.
fn delist_out_of_band(r: &Remote, product_id: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(ClientConfig {
        product_base: r.emulator.url(),
        token_base: r.emulator.url(),
        role_base: r.emulator.url(),
        appid: TEST_APPID.into(),
        access_token: None,
        app_secret: Some(Secret::new(TEST_SECRET)),
        concurrency: 1,
        max_qps: 1000.0,
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
        check_type: None,
        facts: coursesync::platform::facts::KnownFacts::UNSETTLED,
    })
    .unwrap();
    rt.block_on(client.modify_status(i64::try_from(product_id).unwrap(), false))
        .unwrap();
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

const WRITES: [&str; 5] = [
    "add",
    "modify",
    "modify_no_audit",
    "modify_status",
    "upload_resource",
];

fn writes(r: &Remote) -> u64 {
    WRITES.iter().map(|e| r.emulator.count(e)).sum()
}

/// What drift says it could not compare, on every format: the listing unless it is known to be
/// reported, and the fields `query` did not carry unless it is known to echo everything.
fn assert_says_what_is_not_reported(setup: &Setup, doc: &Value, text: &str) {
    assert_eq!(doc["listing_reported"], setup.listing_reported(), "{doc}");
    assert_eq!(
        text.contains("Listing: not reported by the platform"),
        !setup.listing_reported(),
        "{text}"
    );
    let sparse = setup.readings.query_echo == coursesync::emulator::readings::QueryEcho::Sparse;
    let not_reported = doc["not_reported"].as_array().cloned().unwrap_or_default();
    if sparse {
        assert!(
            not_reported.contains(&json!("purchase_precaution"))
                && not_reported.contains(&json!("course.course_num")),
            "{doc}"
        );
    } else {
        assert_eq!(not_reported, Vec::<Value>::new(), "{doc}");
    }
}

fn no_drift_right_after_apply_and_refresh(setup: &Setup) {
    let r = Remote::on(setup, "");
    applied(&r);
    let before = writes(&r);
    let state_file = r.project.root().join("state/coursesync.db");
    let modified = std::fs::metadata(&state_file).unwrap().modified().unwrap();
    let out = r.run(&["drift"]);
    code(&out, 0);
    assert!(
        stdout(&out)
            .contains("Drift: 0 courses differ, 0 pending review, 0 unknown to the platform."),
        "{}",
        stdout(&out)
    );
    let text = stdout(&out);
    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 0);
    let doc = json_of(&out);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["courses"], json!([]), "{doc}");
    assert_says_what_is_not_reported(setup, &doc, &text);
    assert_eq!(r.emulator.count("query"), 2);
    assert_eq!(writes(&r), before, "drift called a write endpoint");
    assert_eq!(
        std::fs::metadata(&state_file).unwrap().modified().unwrap(),
        modified,
        "drift wrote the state file"
    );
    // And plan --refresh agrees: nothing to do.
    code(&r.run(&["plan", "--refresh", "--detailed-exitcode"]), 0);
}

fn out_of_band_edits_are_reported_field_by_field(setup: &Setup) {
    let r = Remote::on(setup, "");
    applied(&r);
    let a = product_id(&r, "a");
    let b = product_id(&r, "b");
    r.emulator
        .edit_on_shelf(
            a,
            &json!({"common_product_params": {"title": "改过的标题", "price_info": {"real_price": 3900}}}),
        )
        .unwrap();
    delist_out_of_band(&r, b);
    let before = writes(&r);
    // The delisting of b shows only where the platform is known to report listing.
    let listing = setup.listing_reported();

    let out = r.run(&["drift"]);
    code(&out, 2);
    let text = stdout(&out);
    assert!(text.contains("~ a\n"), "{text}");
    assert!(
        text.contains("~ price.real_price: 4900 (applied) -> 3900 (platform)"),
        "{text}"
    );
    assert!(
        text.contains("~ title: \"基础课程\" (applied) -> \"改过的标题\" (platform)"),
        "{text}"
    );
    assert_eq!(
        text.contains("~ listed: true (applied) -> false (platform)"),
        listing,
        "{text}"
    );
    let summary = if listing {
        "Drift: 2 courses differ, 0 pending review, 0 unknown to the platform."
    } else {
        "Drift: 1 course differs, 0 pending review, 0 unknown to the platform."
    };
    assert!(text.contains(summary), "{text}");

    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 2);
    let mut courses = vec![
        json!({"course_id": "a", "product_id": a, "kind": "changed", "pending": false, "changes": [
            {"path": "price.real_price", "platform": 3900, "applied": 4900},
            {"path": "title", "platform": "改过的标题", "applied": "基础课程"},
        ]}),
    ];
    if listing {
        courses.push(
            json!({"course_id": "b", "product_id": b, "kind": "listing", "pending": false, "changes": [
                {"path": "listed", "platform": false, "applied": true},
            ]}),
        );
    }
    let doc = json_of(&out);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["courses"], json!(courses), "{doc}");
    assert_says_what_is_not_reported(setup, &doc, &text);
    let out = r.run(&["drift", "--format", "markdown"]);
    code(&out, 2);
    assert!(
        stdout(&out).contains("<details><summary><code>~ a</code>"),
        "{}",
        stdout(&out)
    );
    assert_eq!(writes(&r), before, "drift called a write endpoint");
    r.assert_no_duplicate_no_lost(&["a".to_owned(), "b".to_owned()].into());
}

fn plan_refresh_then_apply_puts_the_platform_back(setup: &Setup) {
    // Audits wait for finish_audits, so the version sent back can be seen in review.
    let mut config = TestEmulator::config();
    config.audit_delay = Duration::from_hours(1);
    let r = Remote::with_setup(config, setup, "");
    applied(&r);
    let a = product_id(&r, "a");
    let b = product_id(&r, "b");
    r.emulator
        .edit_on_shelf(
            a,
            &json!({"common_product_params": {"title": "改过的标题", "price_info": {"real_price": 3900}}}),
        )
        .unwrap();
    delist_out_of_band(&r, b);
    let serial = r.state().serial();

    // Without --refresh the plan knows nothing of it.
    code(&r.run(&["plan", "--detailed-exitcode"]), 0);
    let plan_file = r.project.root().join("repair.json");
    let out = r.run(&[
        "plan",
        "--refresh",
        "--detailed-exitcode",
        "--out",
        plan_file.to_str().unwrap(),
    ]);
    code(&out, 2);
    let text = stdout(&out);
    // The delisting of b is put back only where the platform is known to report listing;
    // elsewhere it cannot be seen, and nothing is guessed.
    let listing = setup.listing_reported();
    assert!(
        text.contains(&format!(
            "Plan: 0 to add, 1 to modify (re-audit), 0 path-only change, {} listing change, 0 to delist, 0 uploads.",
            u8::from(listing)
        )),
        "{text}"
    );
    assert!(
        text.contains("~ price.real_price: ¥39.00 (3900 fen) -> ¥49.00 (4900 fen)"),
        "{text}"
    );
    assert_eq!(r.state().serial(), serial, "plan --refresh wrote state");

    let modifies = r.emulator.count("modify");
    let out = r.run(&["apply", plan_file.to_str().unwrap(), "--auto-approve"]);
    code(&out, 0);
    assert_eq!(r.emulator.count("modify"), modifies + 1);
    let reviewing = r.emulator.product(a).unwrap().reviewing.unwrap();
    let product = reviewing.product.value();
    let common = &product["common_product_params"];
    assert_eq!(common["title"], "基础课程");
    assert_eq!(common["price_info"]["real_price"], 4900);
    assert_eq!(r.emulator.product(b).unwrap().listed, listing);

    r.assert_no_duplicate_no_lost(&["a".to_owned(), "b".to_owned()].into());
    r.assert_no_false_drift();
    code(&r.run(&["plan", "--refresh", "--detailed-exitcode"]), 0);
}

fn page_drift_is_planned_as_a_path_only_change(setup: &Setup) {
    let r = Remote::on(setup, "");
    applied(&r);
    let a = product_id(&r, "a");
    r.emulator
        .edit_on_shelf(
            a,
            &json!({"common_product_params": {"path_info_lst": [
                {"path": "pages/other", "query": {"course_id": "a", "channel": "catalog"}}]}}),
        )
        .unwrap();
    let out = r.run(&["drift"]);
    code(&out, 2);
    assert!(
        stdout(&out).contains(
            "~ page.path: \"pages/course/detail\" (applied) -> \"pages/other\" (platform)"
        ),
        "{}",
        stdout(&out)
    );
    let out = r.run(&["plan", "--refresh"]);
    code(&out, 0);
    assert!(
        stdout(&out).contains("Plan: 0 to add, 0 to modify (re-audit), 1 path-only change,"),
        "{}",
        stdout(&out)
    );
    let before = r.emulator.count("modify_no_audit");
    let plan_file = r.project.root().join("page.json");
    code(
        &r.run(&["plan", "--refresh", "--out", plan_file.to_str().unwrap()]),
        0,
    );
    code(&r.run(&["apply", plan_file.to_str().unwrap()]), 0);
    assert_eq!(r.emulator.count("modify_no_audit"), before + 1);
    r.assert_no_duplicate_no_lost(&["a".to_owned(), "b".to_owned()].into());
    r.assert_no_false_drift();
}

fn a_modify_pending_review_is_not_drift(setup: &Setup) {
    let mut config = TestEmulator::config();
    config.audit_delay = Duration::from_hours(1);
    let r = Remote::with_setup(config, setup, "");
    applied(&r);
    let a = product_id(&r, "a");
    r.course(
        "a.toml",
        &base_course("a").replace("real_price = 4900", "real_price = 4500"),
    );
    code(&r.run(&["apply", "--auto-approve"]), 0);
    code(&r.run(&["refresh"]), 0);
    assert_eq!(
        r.state().course("a").unwrap().unwrap().audit,
        Audit::InReview
    );

    let out = r.run(&["drift"]);
    code(&out, 0);
    assert!(
        stdout(&out)
            .contains("Drift: 0 courses differ, 1 pending review, 0 unknown to the platform."),
        "{}",
        stdout(&out)
    );
    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 0);
    assert_eq!(
        json_of(&out)["courses"],
        json!([{"course_id": "a", "product_id": a, "kind": "pending", "pending": true, "changes": [
            {"path": "price.real_price", "platform": 4900, "applied": 4500},
        ]}])
    );

    // Drift on top of the pending modify is still drift, and says it is pending.
    r.emulator
        .edit_on_shelf(a, &json!({"common_product_params": {"title": "改过"}}))
        .unwrap();
    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 2);
    let course = &json_of(&out)["courses"][0];
    assert_eq!(course["kind"], "changed");
    assert_eq!(course["pending"], true);
    assert_eq!(
        course["changes"],
        json!([{"path": "title", "platform": "改过", "applied": "基础课程"}])
    );
}

fn a_product_the_platform_does_not_know_is_missing(setup: &Setup) {
    let r = Remote::on(setup, "");
    applied(&r);
    let state = r.state();
    let mut rec = state.course("b").unwrap().unwrap();
    rec.product_id = Some(4_242_424_242);
    state.put_course(&rec).unwrap();
    drop(state);

    let out = r.run(&["drift"]);
    code(&out, 2);
    assert!(
        stdout(&out)
            .contains("Drift: 0 courses differ, 0 pending review, 1 unknown to the platform."),
        "{}",
        stdout(&out)
    );
    let out = r.run(&["drift", "--format", "json"]);
    code(&out, 2);
    assert_eq!(
        json_of(&out)["courses"],
        json!([{"course_id": "b", "product_id": 4_242_424_242_i64, "kind": "missing",
                "pending": false, "changes": []}])
    );
    let out = r.run(&["plan", "--refresh", "--detailed-exitcode"]);
    code(&out, 2);
    assert!(
        stdout(&out).contains("Plan: 1 to add, 0 to modify (re-audit)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn no_state_means_no_drift() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    let out = r.run(&["drift"]);
    code(&out, 0);
    assert_eq!(r.emulator.calls().len(), 0);
    assert!(!r.project.root().join("state/coursesync.db").exists());
}

// Drift reads `query`. Cells: the documents' readings and the four hostile ones, each with the
// facts unsettled (listing never read, absent fields "not reported") and probed (known: listing
// read where it is reported; a field absent from a full echo would be drift); and each reading of
// `query` alone, unsettled.
crate::support::matrix! {
    no_drift_right_after_apply_and_refresh:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
    out_of_band_edits_are_reported_field_by_field:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
    plan_refresh_then_apply_puts_the_platform_back:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
    page_drift_is_planned_as_a_path_only_change:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
    a_modify_pending_review_is_not_drift:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
    a_product_the_platform_does_not_know_is_missing:
        [default, default_probed, hostile, hostile_probed, audit_status, sparse_echo];
}
