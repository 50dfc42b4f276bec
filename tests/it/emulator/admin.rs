use coursesync::emulator::testing::TestEmulator;
use serde_json::{Value, json};

use super::{add, add_body, product, ready, slow_audits};

async fn get(r: &super::Ready, path: &str) -> Value {
    r.api
        .http
        .get(format!("{}/__emulator/{path}", r.api.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn post(r: &super::Ready, path: &str, body: Value) -> (u16, Value) {
    let resp = r
        .api
        .http
        .post(format!("{}/__emulator/{path}", r.api.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn admin_api_serves_calls_counts_products_and_finishes_audits() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "adm", "t").await;
    let (_, resp) = r.api.post("add", add_body(product(&r, "adm", "t"))).await;
    assert_eq!(resp["err_no"], 10140);

    let calls = get(&r, "calls").await;
    let adds: Vec<&Value> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["endpoint"] == "add")
        .collect();
    assert_eq!(adds.len(), 2);
    assert_eq!(adds[0]["course_id"], "adm");
    assert_eq!(adds[0]["product_id"].as_u64(), Some(id));
    assert_eq!(
        (adds[0]["err_no"].clone(), adds[1]["err_no"].clone()),
        (json!(0), json!(10140))
    );

    let counts = get(&r, "counts").await;
    assert_eq!(counts["per_endpoint"]["add"], 2);
    assert_eq!(counts["per_endpoint"]["upload_resource"], 2);
    assert_eq!(counts["per_course_id"]["adm"]["add"], 2);

    let (_, decided) = post(&r, "audits/finish", json!({})).await;
    assert_eq!(decided["decided"], 1);
    let products = get(&r, "products").await;
    assert_eq!(products[0]["product_id"].as_u64(), Some(id));
    assert_eq!(products[0]["listed"], true);
    assert_eq!(
        products[0]["on_shelf"]["product"]["common_product_params"]["title"],
        "t"
    );
}

#[tokio::test]
async fn out_of_band_edit_changes_only_the_on_shelf_version() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "drift", "t").await;
    let (status, _) = post(
        &r,
        &format!("products/{id}/edit"),
        json!({"common_product_params": {"title": "x"}}),
    )
    .await;
    assert_eq!(status, 400, "nothing on shelf yet");
    r.emu.finish_audits();
    let patch = json!({"common_product_params": {"title": "改过", "price_info": {"real_price": 100}}, "course_params": {"course_num": 3}});
    let (status, _) = post(&r, &format!("products/{id}/edit"), patch).await;
    assert_eq!(status, 200);
    let info = &r.api.query(id).await["product_on_shelf"];
    assert_eq!(info["common_product_info"]["title"], "改过");
    assert_eq!(
        info["common_product_info"]["price_info"],
        json!({"unit": "节", "price": 5000, "real_price": 100})
    );
    assert_eq!(info["course_info"]["course_num"], 3);
    let (status, _) = post(&r, &format!("products/{id}/edit"), json!({"bogus": {}})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn faults_tokens_and_reset_over_http() {
    let r = ready(TestEmulator::new()).await;
    let (status, _) = post(&r, "faults", json!({"query_class_info": {"next": ["504"]}})).await;
    assert_eq!(status, 200);
    let (code, _) = r
        .api
        .post("query_class_info", json!({"appid": r.api.appid}))
        .await;
    assert_eq!(code, 504);

    let (_, expired) = post(&r, "tokens/expire", json!({})).await;
    assert!(expired["expired"].as_u64().unwrap() >= 1);
    let (_, resp) = r
        .api
        .post("query_class_info", json!({"appid": r.api.appid}))
        .await;
    assert_eq!(resp["err_no"], 10001);

    let fresh = super::Api::new(&r.emu);
    fresh.ok("add", add_body(product(&r, "gone", "t"))).await;
    let (status, _) = post(&r, "reset", json!({})).await;
    assert_eq!(status, 200);
    assert!(get(&r, "products").await.as_array().unwrap().is_empty());
    assert!(get(&r, "resources").await.as_array().unwrap().is_empty());
    assert_eq!(get(&r, "calls").await, json!([]));
}
