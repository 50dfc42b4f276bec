use coursesync::emulator::testing::TestEmulator;
use serde_json::{Value, json};

use super::{add, add_body, callback_sink, eventually, product, ready, slow_audits};

#[tokio::test]
async fn approved_add_is_listed_and_the_callback_echoes_flag_and_data() {
    let r = ready(slow_audits()).await;
    let (cb, got) = callback_sink().await;
    r.api
        .ok(
            "sync_callback_url",
            json!({"appid": r.api.appid, "callback_url": cb, "developer_flag": "flag-1"}),
        )
        .await;
    let id = add(&r, "ok-1", "好课").await;
    assert_eq!(r.emu.finish_audits(), 1);

    let review = r.api.review(id).await;
    assert_eq!(review["status"], 2);
    assert_eq!(review["reject_reason"], "");
    let item = r.api.query(id).await;
    assert_eq!(item["product_on_shelf"]["product_status"]["status"], 1);
    assert!(item.get("product_reviewing").is_none(), "{item}");

    eventually(|| !got.lock().unwrap().is_empty()).await;
    let notice = got.lock().unwrap()[0].clone();
    assert_eq!(notice["notice_type"], 1);
    assert_eq!(notice["produce_id"].as_u64(), Some(id));
    assert_eq!(notice["produce_examine_res"], true);
    assert_eq!(notice["developer_flag"], "flag-1");
    assert_eq!(notice["callback_data"], "cb-ok-1");
}

fn reason(review: &Value) -> Value {
    serde_json::from_str(review["reject_reason"].as_str().unwrap())
        .expect("reject_reason is a JSON string")
}

#[tokio::test]
async fn reject_header_kills_the_first_add_and_the_course_id_may_be_added_again() {
    let r = ready(slow_audits()).await;
    let body = add_body(product(&r, "rej", "t"));
    let (_, resp) = r
        .api
        .post_with(
            "add",
            &{
                let mut b = body.clone();
                b["access_token"] = json!(r.api.token);
                b
            },
            &[("Aweme-Check-Type", "REJECT")],
        )
        .await;
    let id = resp["data"]["product_id"].as_u64().unwrap();
    r.emu.finish_audits();
    let review = r.api.review(id).await;
    assert_eq!(review["status"], 3);
    let why = reason(&review);
    assert!(
        why["fail_reason"].is_string() && why["position"].is_string(),
        "{why}"
    );
    assert_eq!(
        r.api.query(id).await["product_reviewing"]["product_status"]["status"],
        3
    );

    // The id is dead: modify names it.
    let (_, resp) = r
        .api
        .post(
            "modify",
            json!({"product_type": 1, "product_id": id, "product": product(&r, "rej", "t")}),
        )
        .await;
    assert_eq!(resp["err_no"], 10002);
    assert!(
        resp["err_msg"]
            .as_str()
            .unwrap()
            .contains(&format!("product_id {id}")),
        "{resp}"
    );
    // A new add of the same course_id gets a new id.
    let again = add(&r, "rej", "t").await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn banned_title_is_rejected_and_a_callback_reports_it() {
    let mut config = TestEmulator::config();
    config.banned_words = vec!["赌博".into()];
    config.audit_delay = std::time::Duration::from_hours(1);
    let r = ready(TestEmulator::start(config)).await;
    let (cb, got) = callback_sink().await;
    r.api
        .ok(
            "sync_callback_url",
            json!({"appid": r.api.appid, "callback_url": cb, "developer_flag": "f"}),
        )
        .await;
    let id = add(&r, "ban", "赌博入门").await;
    r.emu.finish_audits();
    let review = r.api.review(id).await;
    assert_eq!(review["status"], 3);
    assert!(
        reason(&review)["fail_reason"]
            .as_str()
            .unwrap()
            .contains("赌博")
    );
    eventually(|| !got.lock().unwrap().is_empty()).await;
    let notice = got.lock().unwrap()[0].clone();
    assert_eq!(
        (
            notice["produce_examine_res"].clone(),
            notice["produce_status"].clone()
        ),
        (json!(false), json!(-1))
    );
}

#[tokio::test]
async fn a_modify_keeps_the_live_version_until_it_passes() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "mod", "v1").await;
    r.emu.finish_audits();
    let data = r
        .api
        .ok(
            "modify",
            json!({"product_type": 1, "product_id": id, "product": product(&r, "mod", "v2")}),
        )
        .await;
    assert!(data["audit_id"].as_str().unwrap().starts_with("KNC"));
    let item = r.api.query(id).await;
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v1"
    );
    assert_eq!(
        item["product_reviewing"]["common_product_info"]["title"],
        "v2"
    );
    assert_eq!(item["product_reviewing"]["product_status"]["status"], 1);
    assert_eq!(r.api.review(id).await["status"], 1);
    r.emu.finish_audits();
    let item = r.api.query(id).await;
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v2"
    );
    assert_eq!(r.api.review(id).await["status"], 2);
}

#[tokio::test]
async fn a_rejected_modify_leaves_the_live_version_and_records_the_reason() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "modrej", "v1").await;
    r.emu.finish_audits();
    let mut body =
        json!({"product_type": 1, "product_id": id, "product": product(&r, "modrej", "v2")});
    body["access_token"] = json!(r.api.token);
    let (_, resp) = r
        .api
        .post_with("modify", &body, &[("Aweme-Check-Type", "REJECT")])
        .await;
    assert_eq!(resp["err_no"], 0);
    r.emu.finish_audits();
    let item = r.api.query(id).await;
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v1"
    );
    assert_eq!(item["product_on_shelf"]["product_status"]["status"], 1);
    let review = r.api.review(id).await;
    assert_eq!(review["status"], 3);
    reason(&review);
    // The product is alive: modify again works and passes.
    r.api
        .ok(
            "modify",
            json!({"product_type": 1, "product_id": id, "product": product(&r, "modrej", "v3")}),
        )
        .await;
    r.emu.finish_audits();
    assert_eq!(
        r.api.query(id).await["product_on_shelf"]["common_product_info"]["title"],
        "v3"
    );
}

#[tokio::test]
async fn a_modify_during_the_first_review_replaces_the_reviewing_version() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "early", "v1").await;
    r.api
        .ok(
            "modify",
            json!({"product_type": 1, "product_id": id, "product": product(&r, "early", "v2")}),
        )
        .await;
    assert_eq!(r.emu.finish_audits(), 1);
    let item = r.api.query(id).await;
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v2"
    );
}

#[tokio::test]
async fn audits_are_decided_by_themselves_after_the_delay() {
    let mut config = TestEmulator::config();
    config.audit_delay = std::time::Duration::from_millis(50);
    let r = ready(TestEmulator::start(config)).await;
    let id = add(&r, "auto", "t").await;
    eventually(|| r.emu.product(id).is_some_and(|p| p.on_shelf.is_some())).await;
    assert_eq!(r.api.review(id).await["status"], 2);
}

#[tokio::test]
async fn upload_callback_has_notice_type_4() {
    let emu = TestEmulator::new();
    let api = super::Api::new(&emu);
    let (cb, got) = callback_sink().await;
    api.ok(
        "sync_callback_url",
        json!({"appid": api.appid, "callback_url": cb, "developer_flag": "f4"}),
    )
    .await;
    let (base, _dir) = super::file_server(&[("a.png", b"png")]).await;
    let data = api
        .ok("upload_resource", json!({"appid": api.appid, "resource_type": 1, "resource_url": format!("{base}/a.png"), "callback_data": "mine"}))
        .await;
    eventually(|| !got.lock().unwrap().is_empty()).await;
    let notice = got.lock().unwrap()[0].clone();
    assert_eq!(notice["notice_type"], 4);
    assert_eq!(notice["resource_tos_uri"], data["resource_uri"]);
    assert_eq!(notice["produce_source_examine_res"], true);
    assert_eq!(
        (
            notice["developer_flag"].clone(),
            notice["callback_data"].clone()
        ),
        (json!("f4"), json!("mine"))
    );
}
