use coursesync::emulator::testing::{TEST_APPID, TEST_SECRET, TestEmulator};
use serde_json::{Value, json};

use super::Api;

async fn token_call(url: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{url}/api/apps/v2/token"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn token_endpoint_issues_a_token_and_names_each_credential_error() {
    let emu = TestEmulator::new();
    let url = emu.url();
    let good =
        json!({"appid": TEST_APPID, "secret": TEST_SECRET, "grant_type": "client_credential"});
    let resp = token_call(&url, good.clone()).await;
    assert_eq!(resp["err_no"], 0);
    assert_eq!(resp["err_tips"], "success");
    assert_eq!(resp["data"]["expires_in"], 7200);
    let token = resp["data"]["access_token"].as_str().unwrap().to_owned();

    let mut bad = good.clone();
    bad["appid"] = json!("tt_other");
    assert_eq!(token_call(&url, bad).await["err_no"], 40015);
    let mut bad = good.clone();
    bad["secret"] = json!("wrong");
    assert_eq!(token_call(&url, bad).await["err_no"], 40017);
    let mut bad = good;
    bad["grant_type"] = json!("password");
    assert_eq!(token_call(&url, bad).await["err_no"], 40020);

    // The issued token works on the course library.
    let api = Api {
        token,
        ..Api::new(&emu)
    };
    api.ok("query_class_info", json!({"appid": TEST_APPID}))
        .await;
}

#[tokio::test]
async fn without_a_configured_secret_any_pair_gets_a_token_for_its_appid() {
    let mut config = TestEmulator::config();
    config.secret = None;
    let emu = TestEmulator::start(config);
    let resp = token_call(
        &emu.url(),
        json!({"appid": "tt_any", "secret": "whatever", "grant_type": "client_credential"}),
    )
    .await;
    assert_eq!(resp["err_no"], 0);
    let api = Api {
        token: resp["data"]["access_token"].as_str().unwrap().to_owned(),
        appid: "tt_any".into(),
        ..Api::new(&emu)
    };
    api.ok("query_class_info", json!({"appid": "tt_any"})).await;
}

#[tokio::test]
async fn unknown_and_expired_tokens_answer_10001() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let unknown = Api {
        token: "0801deadbeef".into(),
        ..Api::new(&emu)
    };
    let (status, resp) = unknown
        .post("query_class_info", json!({"appid": TEST_APPID}))
        .await;
    assert_eq!((status, resp["err_no"].as_i64()), (200, Some(10001)));

    api.ok("query_class_info", json!({"appid": TEST_APPID}))
        .await;
    assert!(emu.expire_tokens() >= 1);
    let (_, resp) = api
        .post("query_class_info", json!({"appid": TEST_APPID}))
        .await;
    assert_eq!(resp["err_no"], 10001);
    // A renewed token works again.
    let renewed = Api::new(&emu);
    renewed
        .ok("query_class_info", json!({"appid": TEST_APPID}))
        .await;
}

#[tokio::test]
async fn token_lifetime_is_configurable() {
    let mut config = TestEmulator::config();
    config.token_ttl = std::time::Duration::from_mins(1);
    let emu = TestEmulator::start(config);
    let resp = token_call(
        &emu.url(),
        json!({"appid": TEST_APPID, "secret": TEST_SECRET, "grant_type": "client_credential"}),
    )
    .await;
    assert_eq!(resp["data"]["expires_in"], 60);
}
