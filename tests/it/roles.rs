//! Roles: who may publish (PRODUCT.md "Roles"). The real binary against the emulator over HTTP:
//! `coursesync roles` (human and JSON) for a usable entity, one authorised without the
//! course-creation scope, one whose authorisation is in review, one without a qualification for
//! the course's category, a partner acting for a teacher; the preflight in `plan` (human,
//! markdown, JSON, `--offline`, no credentials) and in `apply` (a blocked course is not sent, the
//! others are, exit 1); each entity asked once; the local environment.

use coursesync::emulator::testing::TestEmulator;
use coursesync::emulator::{ClassQualification, EntitySeed, UnknownEntities};
use serde_json::Value;

use crate::support::{Project, Remote, base_course, stderr, stdout};

/// The base course (category 10000/10300) with another teacher.
fn course_by(id: &str, teacher: &str) -> String {
    let text = base_course(id);
    assert!(text.contains("teacher_id = \"E_1\""));
    text.replace(
        "teacher_id = \"E_1\"",
        &format!("teacher_id = \"{teacher}\""),
    )
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

fn seed(r: &Remote, seeds: &[EntitySeed]) {
    r.emulator.seed_entities(seeds);
}

fn with(id: &str, f: impl FnOnce(&mut EntitySeed)) -> EntitySeed {
    let mut s = EntitySeed::usable(id);
    f(&mut s);
    s
}

/// `[app] partner_entity_id` in the project's settings.
fn set_partner(r: &Remote, partner: &str) {
    let path = r.project.root().join("coursesync.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("partner_entity_id"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.replace(
        "environment = \"sandbox\"",
        &format!("environment = \"sandbox\"\npartner_entity_id = \"{partner}\""),
    );
    std::fs::write(path, text).unwrap();
}

/// One course per case, each with its own teacher, in category 10000/10300.
fn four_cases() -> Remote {
    let r = Remote::new();
    r.course("ok.toml", &course_by("ok", "E_OK"))
        .course("noscope.toml", &course_by("noscope", "E_PAY"))
        .course("review.toml", &course_by("review", "E_REVIEW"))
        .course("unqualified.toml", &course_by("unqualified", "E_UNQ"));
    seed(
        &r,
        &[
            EntitySeed::usable("E_OK"),
            EntitySeed::parse_arg("E_PAY=pay-only").unwrap(),
            EntitySeed::parse_arg("E_REVIEW=auth-in-review").unwrap(),
            with("E_UNQ", |s| {
                // Qualified for English only, not for the course's 10000/10300.
                s.qualifications = Some(vec![ClassQualification {
                    first_class: 30000,
                    second_class: 30100,
                    audit_status: 2,
                    audit_reason: String::new(),
                    expire_time: None,
                }]);
            }),
        ],
    );
    r
}

fn entity<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity_id"] == id)
        .unwrap_or_else(|| panic!("no entity {id} in {report}"))
}

#[test]
fn roles_json_tells_each_case_apart_and_exits_2() {
    let r = four_cases();
    let out = r.run(&["roles", "--format", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["summary"]["entities"], 4);
    assert_eq!(report["summary"]["usable"], 1);
    assert_eq!(report["summary"]["courses"], 4);
    assert_eq!(report["summary"]["blocked"], 3);

    let ok = entity(&report, "E_OK");
    assert_eq!(ok["usable"], true);
    assert_eq!(ok["role"], "teacher");
    assert_eq!(ok["authorisation"]["auth_status"], 2);
    assert_eq!(ok["authorisation"]["can_create_courses"], true);
    assert_eq!(ok["courses"], serde_json::json!(["ok"]));
    let category = &ok["categories"][0];
    assert_eq!(
        (&category["first_class"], &category["second_class"]),
        (&serde_json::json!(10000), &serde_json::json!(10300))
    );
    assert_eq!(category["name"], "少儿成长 / 少儿编程");
    assert_eq!(category["qualification"]["online"]["audit_status"], 2);
    assert_eq!(category["usable"], true);

    let pay = entity(&report, "E_PAY");
    assert_eq!(pay["usable"], false);
    assert_eq!(pay["authorisation"]["scope"], 1);
    assert_eq!(pay["authorisation"]["can_create_courses"], false);
    assert_eq!(pay["authorisation"]["can_take_payments"], true);
    assert_eq!(
        pay["problems"],
        serde_json::json!([
            "teacher E_PAY authorised this app without the course-creation scope (scope 1)"
        ])
    );

    let review = entity(&report, "E_REVIEW");
    assert_eq!(review["authorisation"]["auth_status"], 1);
    assert_eq!(
        review["problems"][0],
        "teacher E_REVIEW has not authorised this app to create courses (auth_status 1, in review)"
    );

    let unq = entity(&report, "E_UNQ");
    assert_eq!(unq["authorisation"]["auth_status"], 2);
    assert_eq!(unq["categories"][0]["qualification"], Value::Null);
    assert_eq!(
        unq["problems"][0],
        "teacher E_UNQ holds no qualification for category 10000/10300 (少儿成长 / 少儿编程)"
    );

    let blocked: Vec<&str> = report["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["course_id"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, ["noscope", "review", "unqualified"]);
}

#[test]
fn roles_human_names_each_entity_its_verdict_and_the_blocked_courses() {
    let r = four_cases();
    let out = r.run(&["roles"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "no colour with NO_COLOR");
    assert!(
        text.contains("Roles bound to app tt_test_app: none."),
        "{text}"
    );
    assert!(text.contains("✓ teacher E_OK: usable"), "{text}");
    assert!(
        text.contains(
            "    authorisation: passed (auth_status 2), scope 3: take payments, create courses"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "    category 10000/10300 (少儿成长 / 少儿编程): in force: passed (audit_status 2)"
        ),
        "{text}"
    );
    assert!(text.contains("✗ teacher E_PAY: not usable"), "{text}");
    assert!(
        text.contains("    authorisation: passed (auth_status 2), scope 1: take payments, letter"),
        "{text}"
    );
    assert!(
        text.contains("    authorisation: in review (auth_status 1)"),
        "{text}"
    );
    assert!(
        text.contains("    category 10000/10300 (少儿成长 / 少儿编程): no qualification"),
        "{text}"
    );
    assert!(text.contains("    courses: review"), "{text}");
    assert!(
        text.contains("  ! noscope blocked: teacher E_PAY authorised this app without the course-creation scope (scope 1)"),
        "{text}"
    );
    assert_eq!(
        text.lines().last().unwrap(),
        "Roles: 4 entities, 1 usable; 4 courses, 3 blocked."
    );
}

#[test]
fn roles_all_usable_exits_0_and_lists_bound_roles() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"));
    seed(
        &r,
        &[
            EntitySeed::usable("E_1"),
            EntitySeed::parse_arg("E_INST=usable,role=institution,bound").unwrap(),
        ],
    );
    let out = r.run(&["roles"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Roles bound to app tt_test_app:\n  institution E_INST (industry 10000)"),
        "{text}"
    );
    let report = json_of(&r.run(&["roles", "--format", "json"]));
    assert_eq!(report["bound_roles"][0]["merchant_entity_id"], "E_INST");
    assert_eq!(report["bound_roles"][0]["role"], "institution");
    assert_eq!(report["blocked"], serde_json::json!([]));
    // Read calls only, each entity once.
    let calls = r.emulator.role_calls();
    let endpoints: Vec<&str> = calls.iter().map(|c| c.endpoint.as_str()).collect();
    assert_eq!(
        endpoints.iter().filter(|e| **e == "get_bind_list").count(),
        2
    );
    assert!(r.emulator.count("add") == 0 && r.emulator.count("upload_resource") == 0);
}

#[test]
fn a_partner_acting_for_a_teacher_is_sent_with_every_entity_query() {
    let r = Remote::new();
    r.course("a.toml", &course_by("a", "E_T"));
    seed(
        &r,
        &[with("E_T", |s| s.partner_entity_id = Some("E_P".into()))],
    );
    // Without the setting, the platform refuses to speak about the partner's teacher.
    let out = r.run(&["roles", "--format", "json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let report = json_of(&out);
    let problem = entity(&report, "E_T")["problems"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        problem.contains("is managed by partner E_P: send partner_entity_id"),
        "{problem}"
    );
    assert!(
        r.emulator
            .role_calls()
            .iter()
            .all(|c| c.partner_entity_id.is_none())
    );

    set_partner(&r, "E_P");
    let before = r.emulator.role_calls().len();
    let out = r.run(&["roles", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let report = json_of(&out);
    assert_eq!(report["partner_entity_id"], "E_P");
    assert_eq!(entity(&report, "E_T")["usable"], true);
    let calls = r.emulator.role_calls();
    let asked: Vec<_> = calls[before..]
        .iter()
        .filter(|c| c.endpoint != "get_bind_list")
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    for c in asked {
        assert_eq!(c.partner_entity_id.as_deref(), Some("E_P"), "{c:?}");
        assert_eq!(c.entity_id.as_deref(), Some("E_T"));
        assert_eq!(c.industry_role, Some(1));
    }

    // And the preflight of apply sends it too: the course goes through.
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(r.emulator.count_for("a", "add"), 1);

    // A partner that does not act for the teacher is refused.
    set_partner(&r, "E_OTHER");
    let report = json_of(&r.run(&["roles", "--format", "json"]));
    assert!(
        entity(&report, "E_T")["problems"][0]
            .as_str()
            .unwrap()
            .contains("partner_entity_id E_OTHER does not act for E_T"),
        "{report}"
    );
}

#[test]
fn each_entity_is_asked_once_and_each_category_once() {
    let r = Remote::new();
    let in_category = |id: &str, second: i64| {
        course_by(id, "E_T").replace("second_class = 10300", &format!("second_class = {second}"))
    };
    r.course("a.toml", &in_category("a", 10300))
        .course("b.toml", &in_category("b", 10300))
        .course("c.toml", &in_category("c", 10100))
        .course("d.toml", &course_by("d", "E_U"));
    let out = r.run(&["plan"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let calls = r.emulator.role_calls();
    let count = |endpoint: &str, entity: &str| {
        calls
            .iter()
            .filter(|c| c.endpoint == endpoint && c.entity_id.as_deref() == Some(entity))
            .count()
    };
    assert_eq!(count("get_appid_auth", "E_T"), 1);
    assert_eq!(count("get_appid_auth", "E_U"), 1);
    assert_eq!(count("get_class_auth", "E_T"), 2, "{calls:?}");
    assert_eq!(count("get_class_auth", "E_U"), 1);
    assert_eq!(calls.len(), 5);
}

/// `a` usable, `b` from a teacher whose authorisation is in review.
fn one_blocked() -> Remote {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &course_by("b", "E_B"));
    seed(
        &r,
        &[
            EntitySeed::usable("E_1"),
            EntitySeed::parse_arg("E_B=auth-in-review").unwrap(),
        ],
    );
    r
}

const B_REASON: &str =
    "teacher E_B has not authorised this app to create courses (auth_status 1, in review)";

#[test]
fn plan_shows_the_blocked_course_with_its_reason_and_exits_1() {
    let r = one_blocked();
    let out = r.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("  ! b blocked: {B_REASON}")),
        "{text}"
    );
    assert!(
        !text.contains("+ b "),
        "the blocked course is not planned: {text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[lines.len() - 2..],
        [
            "Plan: 1 to add, 0 to modify (re-audit), 0 path-only change, 0 listing change, 0 to delist, 4 uploads.",
            "Blocked: 1 course by the roles preflight."
        ]
    );

    let out = r.run(&["plan", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let plan = json_of(&out);
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["summary"]["add"], 1);
    assert_eq!(
        plan["blocked"],
        serde_json::json!([{"course_id": "b", "title": "基础课程", "reason": B_REASON}])
    );
    assert!(
        plan["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["needed_by"] == serde_json::json!(["a"]))
    );
    assert!(plan.get("preflight_skipped").is_none());

    let out = r.run(&["plan", "--format", "markdown"]);
    assert_eq!(code(&out), 1);
    let md = stdout(&out);
    assert!(
        md.contains("**Blocked: 1 course by the roles preflight.**"),
        "{md}"
    );
    assert!(md.contains(&format!("- `b` blocked: {B_REASON}")), "{md}");
    // Nothing was written to the platform.
    assert_eq!(r.emulator.count("add"), 0);
    assert_eq!(r.emulator.count("upload_resource"), 0);
}

#[test]
fn plan_offline_and_plan_without_credentials_skip_the_preflight_and_say_so() {
    let r = one_blocked();
    let out = r.run(&["plan", "--offline"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("+ b "), "{text}");
    assert_eq!(
        text.lines().last().unwrap(),
        "Roles preflight skipped (--offline): a course whose teacher or institution may not publish it is not detected; `coursesync roles` checks."
    );
    let plan = json_of(&r.run(&["plan", "--offline", "--format", "json"]));
    assert_eq!(plan["preflight_skipped"], "--offline");
    let md = stdout(&r.run(&["plan", "--offline", "--format", "markdown"]));
    assert!(md.contains("_Roles preflight skipped (--offline)"), "{md}");
    assert!(
        r.emulator.calls().is_empty(),
        "--offline asked the platform"
    );

    // No credentials (a PR job without secrets): skipped, said so, nothing asked.
    let out = r
        .command(&["plan"])
        .env_remove("COURSESYNC_APP_SECRET")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Roles preflight skipped (no credentials (COURSESYNC_APP_SECRET or COURSESYNC_ACCESS_TOKEN)"),
        "{}",
        stdout(&out)
    );
    assert!(r.emulator.calls().is_empty());
}

#[test]
fn apply_sends_the_others_not_the_blocked_course_and_exits_1() {
    let r = one_blocked();
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Apply complete: 1 of 1 courses done, 0 failed"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  ! b blocked: {B_REASON}")),
        "{text}"
    );
    let after: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Apply complete"))
        .collect();
    assert_eq!(
        after[1], "Blocked: 1 course by the roles preflight.",
        "{text}"
    );
    // The call log: `a` was added, nothing was sent for `b`.
    assert_eq!(r.emulator.count_for("a", "add"), 1);
    assert!(
        r.emulator
            .calls()
            .iter()
            .all(|c| c.course_id.as_deref() != Some("b")),
        "{:?}",
        r.emulator.calls()
    );
    assert!(r.emulator.product_by_course("b").is_none());
    let state = r.state().courses().unwrap();
    assert!(state.contains_key("a") && !state.contains_key("b"));

    // Once the teacher may publish, the next apply sends it.
    seed(&r, &[EntitySeed::usable("E_B")]);
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(r.emulator.count_for("b", "add"), 1);
}

#[test]
fn apply_of_a_saved_plan_checks_again_before_sending() {
    let r = Remote::new();
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &course_by("b", "E_B"));
    assert_eq!(code(&r.run(&["plan", "--out", "p.json"])), 0);
    // The authorisation is withdrawn between review and merge.
    seed(&r, &[EntitySeed::parse_arg("E_B=auth-rejected").unwrap()]);
    let out = r.run(&["apply", "p.json"]);
    assert_eq!(code(&out), 1, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  ! b blocked: teacher E_B has not authorised this app to create courses (auth_status 3, rejected: 授权函不符合要求 (emulator))"),
        "{text}"
    );
    assert!(
        text.contains("Blocked: 1 course by the roles preflight."),
        "{text}"
    );
    assert_eq!(r.emulator.count_for("a", "add"), 1);
    assert_eq!(r.emulator.count_for("b", "add"), 0);
}

#[test]
fn apply_with_every_change_blocked_sends_nothing_and_exits_1() {
    let r = Remote::new();
    r.course("b.toml", &course_by("b", "E_B"));
    seed(&r, &[EntitySeed::parse_arg("E_B=unqualified").unwrap()]);
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "Nothing can be sent: every course with changes is blocked by the roles preflight."
        ),
        "{text}"
    );
    assert_eq!(
        text.lines().rev().take(2).collect::<Vec<_>>(),
        [
            "Blocked: 1 course by the roles preflight.",
            "Nothing to do."
        ]
    );
    assert_eq!(r.emulator.count("add"), 0);
    assert_eq!(r.emulator.count("upload_resource"), 0);
}

#[test]
fn a_course_naming_a_teacher_and_an_institution_needs_both() {
    let r = Remote::new();
    let both = base_course("a").replace(
        "teacher_id = \"E_1\"",
        "teacher_id = \"E_1\"\ninstitution_id = \"E_INST\"",
    );
    r.course("a.toml", &both);
    seed(
        &r,
        &[
            EntitySeed::usable("E_1"),
            EntitySeed::parse_arg("E_INST=pay-only").unwrap(),
        ],
    );
    let plan = json_of(&r.run(&["plan", "--format", "json"]));
    assert_eq!(
        plan["blocked"][0]["reason"],
        "institution E_INST authorised this app without the course-creation scope (scope 1)"
    );
    let calls = r.emulator.role_calls();
    assert!(
        calls
            .iter()
            .any(|c| c.entity_id.as_deref() == Some("E_INST") && c.industry_role == Some(2))
    );
    assert!(
        calls
            .iter()
            .any(|c| c.entity_id.as_deref() == Some("E_1") && c.industry_role == Some(1))
    );
}

#[test]
fn a_strict_platform_does_not_know_an_unseeded_entity() {
    let mut config = TestEmulator::config();
    config.unknown_entities = UnknownEntities::Strict;
    let r = Remote::with(config, "");
    r.course("a.toml", &course_by("a", "E_NOBODY"));
    let report = json_of(&r.run(&["roles", "--format", "json"]));
    let e = entity(&report, "E_NOBODY");
    assert_eq!(e["authorisation"], Value::Null);
    assert_eq!(e["authorisation_error"]["refused"], true);
    assert!(
        e["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("teacher E_NOBODY has not authorised this app to create courses (the platform reports no authorisation: get_appid_auth: platform error 20001"),
        "{e}"
    );
}

#[test]
fn an_entity_that_cannot_be_asked_blocks_its_courses_and_roles_exits_1() {
    use coursesync::emulator::FaultSpec;
    let r = Remote::new();
    r.course("a.toml", &base_course("a"))
        .course("b.toml", &course_by("b", "E_B"));
    // Every get_class_auth answers 504: retried, then given up.
    r.emulator.set_fault(
        "get_class_auth",
        FaultSpec {
            rate_504: 1.0,
            ..FaultSpec::default()
        },
    );
    let out = r.run(&["roles", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json_of(&out);
    let e = entity(&report, "E_B");
    assert_eq!(e["categories"][0]["error"]["refused"], false);
    assert!(
        e["problems"][0]
            .as_str()
            .unwrap()
            .contains("could not be checked"),
        "{e}"
    );
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("Blocked: 2 courses by the roles preflight."),
        "{}",
        stdout(&out)
    );
    assert_eq!(r.emulator.count("add"), 0);
}

#[test]
fn local_roles_lists_the_catalogs_entities_as_usable_and_writes_nothing() {
    let p = Project::new();
    p.course("a.toml", &base_course("a"))
        .course("b.toml", &course_by("b", "E_2"));
    let out = p.run(&["roles"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("✓ teacher E_1: usable"), "{text}");
    assert!(text.contains("✓ teacher E_2: usable"), "{text}");
    assert!(!p.root().join("state").exists(), "roles wrote state/");
    let out = p.run(&["plan"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!p.root().join("state").exists(), "plan wrote state/");
}

// ---------------------------------------------------------------------------------------------
// The client's role calls, through the one call loop (permits, rate limit, token, retry).

fn client(emu: &TestEmulator) -> coursesync::platform::Client {
    use coursesync::platform::{ClientConfig, RetryPolicy};
    coursesync::platform::Client::new(ClientConfig {
        product_base: emu.url(),
        token_base: emu.url(),
        role_base: emu.url(),
        appid: emu.appid().to_string(),
        access_token: None,
        app_secret: Some(coursesync::settings::Secret::new(
            coursesync::emulator::testing::TEST_SECRET,
        )),
        concurrency: 4,
        max_qps: 1000.0,
        request_timeout: std::time::Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 5,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(50),
        },
        check_type: None,
    })
    .unwrap()
}

#[tokio::test]
async fn the_client_reads_the_role_calls_and_retries_them_like_the_others() {
    use coursesync::emulator::{FaultKind, FaultSpec};
    use coursesync::platform::PlatformError;
    use coursesync::platform::roles::EntityQuery;

    let emu = TestEmulator::new();
    emu.seed_entities(&[EntitySeed::parse_arg("E_I=usable,role=institution,bound").unwrap()]);
    let c = client(&emu);
    let bound = c.get_bind_list().await.unwrap();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0].merchant_entity_id, "E_I");
    assert_eq!(
        (bound[0].industry_code, bound[0].industry_role),
        (Some(10000), Some(2))
    );
    let query = EntityQuery {
        partner_entity_id: None,
        entity_id: "E_I",
        industry_role: 2,
    };
    let auth = c.get_appid_auth(query).await.unwrap().unwrap();
    assert_eq!((auth.auth_status, auth.scope), (Some(2), Some(3)));
    let classes = c.get_class_auth(query, 10000, 10400).await.unwrap();
    assert_eq!(classes.len(), 1);
    assert_eq!(
        classes[0]
            .online_qualification
            .as_ref()
            .unwrap()
            .audit_status,
        Some(2)
    );

    // A busy answer (-1) twice, then success: retried like the course library's calls.
    emu.set_fault(
        "get_appid_auth",
        FaultSpec {
            next: [FaultKind::Error, FaultKind::TooManyRequests].into(),
            ..FaultSpec::default()
        },
    );
    let retries = c.stats().retries;
    assert!(c.get_appid_auth(query).await.unwrap().is_some());
    assert_eq!(c.stats().retries, retries + 2);
    // A revoked token is renewed.
    emu.expire_tokens();
    let fetches = c.stats().token_fetches;
    assert!(c.get_appid_auth(query).await.is_ok());
    assert_eq!(c.stats().token_fetches, fetches + 1);
    // A refusal in `err` is an API error naming the endpoint, never retried.
    let before = emu.count("get_appid_auth");
    let refused = c
        .get_appid_auth(EntityQuery {
            industry_role: 1,
            ..query
        })
        .await
        .unwrap_err();
    assert_eq!(emu.count("get_appid_auth"), before + 1);
    match &refused {
        PlatformError::Api {
            endpoint, err_no, ..
        } => assert_eq!((*endpoint, *err_no), ("get_appid_auth", 20002)),
        other => panic!("{other:?}"),
    }
    let text = refused.to_string();
    assert!(
        !text.contains(coursesync::emulator::testing::TEST_SECRET),
        "{text}"
    );
}
