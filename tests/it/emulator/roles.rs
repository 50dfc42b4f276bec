//! The role system over raw HTTP: the three endpoints in the role envelope (platform-api.md §3),
//! entities seeded through the admin API, `strict` and `open` unknown entities, partners, the
//! audit rejecting a course from an entity that may not publish it, persistence, and the
//! `emulator --entity` flag.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use coursesync::emulator::testing::TestEmulator;
use coursesync::emulator::{EntitySeed, UnknownEntities};
use serde_json::{Value, json};

use super::{Api, add, product, ready, slow_audits};

/// POSTs `body` (plus appid and token) to `/auth/entity/<endpoint>`; (HTTP status, JSON body).
async fn role(api: &Api, endpoint: &str, mut body: Value) -> (u16, Value) {
    body["appid"] = json!(api.appid);
    body["access_token"] = json!(api.token);
    raw(api, endpoint, &body).await
}

async fn raw(api: &Api, endpoint: &str, body: &Value) -> (u16, Value) {
    let resp = api
        .http
        .post(format!("{}/auth/entity/{endpoint}", api.url))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn err(body: &Value) -> (i64, String) {
    (
        body["err"]["err_code"].as_i64().unwrap(),
        body["err"]["err_msg"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn the_three_endpoints_answer_in_the_role_envelope() {
    let emu = TestEmulator::new();
    emu.seed_entities(&[EntitySeed::parse_arg("E_I=usable,role=institution,bound").unwrap()]);
    let api = Api::new(&emu);

    let (status, body) = role(&api, "get_bind_list", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(err(&body), (0, String::new()));
    assert_eq!(
        body["bind_info_list"],
        json!([{"appid": "tt_test_app", "merchant_entity_id": "E_I", "industry_code": 10000, "industry_role": 2}])
    );
    assert!(body.get("data").is_none(), "no data wrapper: {body}");

    let (_, body) = role(
        &api,
        "get_appid_auth",
        json!({"merchant_entity_id": "E_I", "merchant_industry_role": 2}),
    )
    .await;
    assert_eq!(err(&body).0, 0);
    let data = &body["data"];
    assert_eq!(data["appid"], "tt_test_app");
    assert_eq!(
        (&data["auth_status"], &data["scope"]),
        (&json!(2), &json!(3))
    );
    assert_eq!(data["online_auth_letter"]["audit_status"], 2);
    assert_eq!(data["audit_auth_letter"], json!({}));

    let (_, body) = role(
        &api,
        "get_class_auth",
        json!({"partner_entity_id": "", "merchant_entity_id": "E_I", "industry_code": 10000,
               "industry_class": {"first_class": 70000, "second_class": 70500, "third_class": 0},
               "industry_role": 2}),
    )
    .await;
    assert_eq!(err(&body).0, 0, "{body}");
    let auth = &body["class_auths"][0];
    assert_eq!(
        auth["industry_class"],
        json!({"first_class": 70000, "second_class": 70500, "third_class": 0})
    );
    assert_eq!(auth["online_qualification"]["audit_status"], 2);
    assert_eq!(auth["audit_qualification"], json!({}));

    // The role the entity does not hold, a missing field, a bad token, an unknown endpoint.
    let (_, body) = role(
        &api,
        "get_appid_auth",
        json!({"merchant_entity_id": "E_I", "merchant_industry_role": 1}),
    )
    .await;
    assert_eq!(
        err(&body),
        (
            20002,
            "E_I holds the institution role, not the teacher role".into()
        )
    );
    let (_, body) = role(&api, "get_appid_auth", json!({"merchant_industry_role": 1})).await;
    assert_eq!(
        err(&body),
        (
            10002,
            "invalid param: merchant_entity_id is required".into()
        )
    );
    let (_, body) = raw(
        &api,
        "get_bind_list",
        &json!({"appid": api.appid, "access_token": "nope"}),
    )
    .await;
    assert_eq!(err(&body).0, 10001);
    let (status, body) = role(&api, "bind_role", json!({})).await;
    assert_eq!((status, err(&body).0), (404, 10404));
    // Every role call is in the call log and in the role call log.
    assert_eq!(emu.count("get_appid_auth"), 2 + 1);
    assert_eq!(emu.role_calls().len(), 7);
}

#[tokio::test]
async fn entities_are_seeded_through_the_admin_api() {
    let emu = TestEmulator::new();
    let http = reqwest::Client::new();
    let url = format!("{}/__emulator/entities", emu.url());
    let one: Value = http
        .post(&url)
        .json(&json!({"entity_id": "E_1", "auth_status": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one[0]["entity_id"], "E_1");
    assert_eq!(one[0]["scope"], 3, "fields default to the usable value");
    let resp = http
        .post(&url)
        .json(&json!([{"entity_id": "E_2", "scope": 1},
                      {"entity_id": "E_3", "qualifications": [{"first_class": 10000, "second_class": 10100, "audit_status": 1}]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let all: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3);
    let bad = http
        .post(&url)
        .json(&json!({"entity_id": "E_4", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    let api = Api::new(&emu);
    let (_, body) = role(
        &api,
        "get_class_auth",
        json!({"merchant_entity_id": "E_3", "industry_code": 10000,
               "industry_class": {"first_class": 10000, "second_class": 10100, "third_class": 0}, "industry_role": 1}),
    )
    .await;
    let auth = &body["class_auths"][0];
    assert_eq!(auth["online_qualification"], json!({}));
    assert_eq!(auth["audit_qualification"]["audit_status"], 1);
    let calls: Value = http
        .get(format!("{url}/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls[0]["entity_id"], "E_3");
    assert_eq!(calls[0]["first_class"], 10000);
    // A reset goes back to the configured entities (none).
    http.post(format!("{}/__emulator/reset", emu.url()))
        .send()
        .await
        .unwrap();
    assert!(emu.entities().is_empty());
}

#[tokio::test]
async fn unknown_entities_are_usable_when_open_and_unauthorised_when_strict() {
    let open = TestEmulator::new();
    let api = Api::new(&open);
    let (_, body) = role(
        &api,
        "get_appid_auth",
        json!({"merchant_entity_id": "E_X", "merchant_industry_role": 1}),
    )
    .await;
    assert_eq!(body["data"]["auth_status"], 2);

    let mut config = TestEmulator::config();
    config.unknown_entities = UnknownEntities::Strict;
    let strict = TestEmulator::start(config);
    let api = Api::new(&strict);
    let (_, body) = role(
        &api,
        "get_appid_auth",
        json!({"merchant_entity_id": "E_X", "merchant_industry_role": 1}),
    )
    .await;
    assert_eq!(
        err(&body),
        (
            20001,
            "merchant_entity_id E_X has not authorised app tt_test_app".into()
        )
    );
    let (_, body) = role(
        &api,
        "get_class_auth",
        json!({"merchant_entity_id": "E_X", "industry_code": 10000,
               "industry_class": {"first_class": 10000, "second_class": 10300, "third_class": 0}, "industry_role": 1}),
    )
    .await;
    assert_eq!(body["class_auths"], json!([]));
}

#[tokio::test]
async fn a_partners_entity_is_answered_only_to_that_partner() {
    let emu = TestEmulator::new();
    let mut seed = EntitySeed::usable("E_T");
    seed.partner_entity_id = Some("E_P".into());
    emu.seed_entities(&[seed]);
    let api = Api::new(&emu);
    let ask = |partner: Option<&str>| {
        let mut body = json!({"merchant_entity_id": "E_T", "merchant_industry_role": 1});
        if let Some(p) = partner {
            body["partner_entity_id"] = json!(p);
        }
        body
    };
    let (_, body) = role(&api, "get_appid_auth", ask(Some("E_P"))).await;
    assert_eq!(body["data"]["auth_status"], 2);
    let (_, body) = role(&api, "get_appid_auth", ask(None)).await;
    assert_eq!(err(&body).0, 20003);
    let (_, body) = role(&api, "get_appid_auth", ask(Some("E_Q"))).await;
    assert_eq!(
        err(&body),
        (20003, "partner_entity_id E_Q does not act for E_T".into())
    );
}

#[tokio::test]
async fn a_course_from_an_entity_that_may_not_publish_it_is_rejected_at_audit() {
    let r = ready(slow_audits()).await;
    // product() names teacher E_7283947392973 in 10000/10300.
    r.emu
        .seed_entities(&[EntitySeed::parse_arg("E_7283947392973=auth-in-review").unwrap()]);
    let id = add(&r, "sent-anyway", "好课").await;
    assert_eq!(
        r.api.review(id).await["status"],
        1,
        "accepted, then audited"
    );
    r.emu.finish_audits();
    let review = r.api.review(id).await;
    assert_eq!(review["status"], 3);
    let reason: Value = serde_json::from_str(review["reject_reason"].as_str().unwrap()).unwrap();
    assert_eq!(
        reason["fail_reason"],
        "角色资质不符 (role check failed): teacher E_7283947392973 has not authorised this app (auth_status 1)"
    );
    assert_eq!(reason["position"], "course_params");

    // An institution without a qualification for the category, named beside a usable teacher.
    r.emu.seed_entities(&[
        EntitySeed::usable("E_7283947392973"),
        EntitySeed::parse_arg("E_INST=unqualified").unwrap(),
    ]);
    let mut p = product(&r, "both", "好课");
    p["course_params"]["institution_id"] = json!("E_INST");
    let data = r.api.ok("add", super::add_body(p)).await;
    r.emu.finish_audits();
    let review = r.api.review(data["product_id"].as_u64().unwrap()).await;
    assert!(
        review["reject_reason"]
            .as_str()
            .unwrap()
            .contains("institution E_INST has no qualification for category 10000/10300"),
        "{review}"
    );
    // A usable teacher alone passes.
    let id = add(&r, "fine", "好课").await;
    r.emu.finish_audits();
    assert_eq!(r.api.review(id).await["status"], 2);
}

#[tokio::test]
async fn seeded_entities_survive_a_restart_with_a_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestEmulator::config();
    config.data = Some(dir.path().join("platform.db"));
    let emu = TestEmulator::start(config.clone());
    emu.seed_entities(&[EntitySeed::parse_arg("E_1=pay-only").unwrap()]);
    drop(emu);
    let emu = TestEmulator::start(config);
    assert_eq!(
        emu.entities(),
        [EntitySeed::parse_arg("E_1=pay-only").unwrap()]
    );
}

/// Kills the child on drop so a failing assertion leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn coursesync_emulator_takes_entities_and_the_unknown_entity_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("entities.json");
    std::fs::write(
        &file,
        r#"[{"entity_id": "E_F", "industry_role": 2, "bound": true}]"#,
    )
    .unwrap();
    let mut child = Child(
        Command::new(assert_cmd::cargo::cargo_bin!("coursesync"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--appid", "tt_cli"])
            .args(["--entity", "E_1=pay-only,role=teacher"])
            .arg("--entities")
            .arg(&file)
            .args(["--unknown-entities", "strict"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.split_whitespace().last().unwrap().to_owned();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{url}/api/apps/v2/token"))
        .json(&json!({"appid": "tt_cli", "secret": "any", "grant_type": "client_credential"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = Api {
        http,
        url,
        token: token["data"]["access_token"].as_str().unwrap().to_owned(),
        appid: "tt_cli".into(),
    };
    let (_, body) = role(
        &api,
        "get_appid_auth",
        json!({"merchant_entity_id": "E_1", "merchant_industry_role": 1}),
    )
    .await;
    assert_eq!(body["data"]["scope"], 1);
    let (_, body) = role(&api, "get_bind_list", json!({})).await;
    assert_eq!(body["bind_info_list"][0]["merchant_entity_id"], "E_F");
    let (_, body) = role(
        &api,
        "get_appid_auth",
        json!({"merchant_entity_id": "E_NOBODY", "merchant_industry_role": 1}),
    )
    .await;
    assert_eq!(err(&body).0, 20001);

    let bad = Command::new(assert_cmd::cargo::cargo_bin!("coursesync"))
        .args(["emulator", "--entity", "E_1=famous"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("`famous` is not a preset"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
