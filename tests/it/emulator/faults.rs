use coursesync::emulator::FaultSpec;
use coursesync::emulator::testing::TestEmulator;
use serde_json::json;

use super::{add_body, product, ready};

fn next(arg: &str) -> FaultSpec {
    FaultSpec::parse_arg(&format!("add:next={arg}")).unwrap().1
}

#[tokio::test]
async fn error_fault_answers_err_no_minus_1_and_does_not_perform() {
    let r = ready(TestEmulator::new()).await;
    r.emu.set_fault("add", next("error"));
    let (status, resp) = r.api.post("add", add_body(product(&r, "f1", "t"))).await;
    assert_eq!((status, resp["err_no"].as_i64()), (200, Some(-1)));
    assert!(r.emu.products().is_empty());
    // Only the next call was faulted.
    r.api.ok("add", add_body(product(&r, "f1", "t"))).await;
    assert_eq!(r.emu.products().len(), 1);
}

#[tokio::test]
async fn too_many_requests_fault_carries_retry_after() {
    let r = ready(TestEmulator::new()).await;
    r.emu.set_fault(
        "add",
        FaultSpec::parse_arg("add:next=429,retry_after=7")
            .unwrap()
            .1,
    );
    let resp = r
        .api
        .http
        .post(format!("{}/product/api/add", r.api.url))
        .json(&json!({"access_token": r.api.token}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(r.emu.calls().last().unwrap().fault.as_deref(), Some("429"));
}

#[tokio::test]
async fn gateway_timeout_fault_does_not_perform() {
    let r = ready(TestEmulator::new()).await;
    r.emu.set_fault("add", next("504x2"));
    for _ in 0..2 {
        let (status, _) = r.api.post("add", add_body(product(&r, "f5", "t"))).await;
        assert_eq!(status, 504);
    }
    assert!(r.emu.products().is_empty());
    r.api.ok("add", add_body(product(&r, "f5", "t"))).await;
}

#[tokio::test]
async fn performed_then_504_writes_but_loses_the_answer() {
    let r = ready(TestEmulator::new()).await;
    r.emu.set_fault("add", next("performed_504"));
    let (status, _) = r.api.post("add", add_body(product(&r, "lost", "t"))).await;
    assert_eq!(status, 504);
    let stored = r.emu.product_by_course("lost").expect("the add happened");
    // The retry meets the platform's duplicate check.
    let (_, resp) = r.api.post("add", add_body(product(&r, "lost", "t"))).await;
    assert_eq!(resp["err_no"], 10140);
    assert_eq!(resp["err_msg"], format!("已进审课程{}", stored.product_id));
}

#[tokio::test]
async fn dropped_connection_gives_no_answer_and_does_not_perform() {
    let r = ready(TestEmulator::new()).await;
    r.emu.set_fault("add", next("drop"));
    let mut body = add_body(product(&r, "drop", "t"));
    body["access_token"] = json!(r.api.token);
    let err = r
        .api
        .http
        .post(format!("{}/product/api/add", r.api.url))
        .json(&body)
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(!err.is_status(), "{err}");
    assert!(r.emu.products().is_empty());
    assert_eq!(r.emu.calls().last().unwrap().fault.as_deref(), Some("drop"));
    // The server is still up.
    r.api.ok("add", add_body(product(&r, "drop", "t"))).await;
}

#[tokio::test]
async fn error_rate_one_fails_every_call_of_that_endpoint_only() {
    let r = ready(TestEmulator::new()).await;
    r.emu.set_fault(
        "query",
        FaultSpec {
            error_rate: 1.0,
            ..FaultSpec::default()
        },
    );
    for _ in 0..3 {
        let (_, resp) = r
            .api
            .post("query", json!({"appid": r.api.appid, "product_ids": []}))
            .await;
        assert_eq!(resp["err_no"], -1);
    }
    r.api
        .ok("query_class_info", json!({"appid": r.api.appid}))
        .await;
    r.emu.set_fault("query", FaultSpec::default());
    r.api
        .ok("query", json!({"appid": r.api.appid, "product_ids": []}))
        .await;
}

#[tokio::test]
async fn faults_given_at_start_apply_and_a_seed_makes_rates_repeatable() {
    let outcomes = |seed| async move {
        let mut config = TestEmulator::config();
        config.faults = vec![FaultSpec::parse_arg("query_class_info:error_rate=0.5").unwrap()];
        config.fault_seed = Some(seed);
        let emu = TestEmulator::start(config);
        let api = super::Api::new(&emu);
        let mut seen = Vec::new();
        for _ in 0..16 {
            let (_, resp) = api
                .post("query_class_info", json!({"appid": api.appid}))
                .await;
            seen.push(resp["err_no"].as_i64().unwrap());
        }
        seen
    };
    let first = outcomes(11).await;
    assert!(first.contains(&-1) && first.contains(&0), "{first:?}");
    assert_eq!(first, outcomes(11).await);
}

#[tokio::test]
async fn token_endpoint_faults_too() {
    let emu = TestEmulator::new();
    emu.set_fault("token", FaultSpec::parse_arg("token:next=504").unwrap().1);
    let resp = reqwest::Client::new()
        .post(format!("{}/api/apps/v2/token", emu.url()))
        .json(&json!({"appid": "tt_test_app", "secret": "test-secret", "grant_type": "client_credential"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 504);
}
