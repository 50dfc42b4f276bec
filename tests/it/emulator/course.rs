use coursesync::emulator::testing::TestEmulator;
use serde_json::{Value, json};

use super::{Ready, add, add_body, product, ready, slow_audits};

#[tokio::test]
async fn add_answers_a_big_product_id_and_the_course_is_in_review() {
    let r = ready(slow_audits()).await;
    let (_, resp) = r
        .api
        .post("add", add_body(product(&r, "py-101", "Python 入门")))
        .await;
    assert_eq!(resp["err_no"], 0, "{resp}");
    assert_eq!(resp["err_msg"], "success");
    assert!(resp["log_id"].is_string());
    let id = resp["data"]["product_id"].as_u64().unwrap();
    assert!(id > 1 << 53, "{id}");
    assert!(
        resp["data"]["audit_id"]
            .as_str()
            .unwrap()
            .starts_with("KNC")
    );

    let item = r.api.query(id).await;
    assert!(item.get("product_on_shelf").is_none(), "{item}");
    let reviewing = &item["product_reviewing"];
    assert_eq!(reviewing["product_id"].as_u64(), Some(id));
    assert_eq!(reviewing["product_status"]["status"], 1);
    let info = &reviewing["common_product_info"];
    assert_eq!(info["title"], "Python 入门");
    // Response-side names: full URLs instead of uris (platform-api.md §5.5).
    assert_eq!(
        info["product_img_url"],
        format!("{}/obj/{}", r.emu.url(), r.cover)
    );
    assert!(info.get("product_img_uri").is_none());
    assert_eq!(
        info["product_fulfillment_lst"][0]["fulfillment_content"]["fulfillment_url"],
        format!("{}/obj/{}", r.emu.url(), r.video)
    );
    assert_eq!(reviewing["course_info"]["course_num"], 12);
    assert_eq!(r.api.review(id).await["status"], 1);
    assert_eq!(r.emu.count_for("py-101", "add"), 1);
}

/// Each case: (JSON pointer into the product, new value or null to remove, expected message part).
fn broken_cases() -> Vec<(&'static str, Value, &'static str)> {
    let long_rich = "字".repeat(100_001);
    vec![
        (
            "/common_product_params/price_info/real_price",
            json!(5001),
            "product.common_product_params.price_info.real_price must be <= price",
        ),
        (
            "/common_product_params/price_info/price",
            json!(50.5),
            "price_info.price must be an integer",
        ),
        (
            "/common_product_params/price_info/range_min_price",
            json!(100),
            "exclusive",
        ),
        (
            "/common_product_params/path_info_lst/0/path",
            json!("/pages/x"),
            "path_info_lst[0].path must not start with '/'",
        ),
        (
            "/common_product_params/path_info_lst/0/path",
            json!("p".repeat(256)),
            "path_info_lst[0].path must be 1..=255 bytes",
        ),
        (
            "/common_product_params/path_info_lst/0/query/course_id",
            Value::Null,
            "query.course_id is required",
        ),
        (
            "/common_product_params/path_info_lst/0/query/course_id",
            json!("c".repeat(129)),
            "query.course_id must be 1..=128 bytes",
        ),
        (
            "/common_product_params/path_info_lst/0/query/channel",
            json!(7),
            "query.channel must be a string",
        ),
        (
            "/common_product_params/title",
            json!(""),
            "common_product_params.title must not be empty",
        ),
        (
            "/common_product_params/purchase_precaution",
            Value::Null,
            "purchase_precaution is required",
        ),
        (
            "/common_product_params/second_class",
            json!(30100),
            "second_class 30100 is not a category under first_class 10000",
        ),
        (
            "/common_product_params/appid",
            json!("tt_other"),
            "common_product_params.appid",
        ),
        (
            "/common_product_params/anchor_info/video_anchor_info/anchor_title",
            json!("一二三四五六七八九十一二三"),
            "anchor_title must be 1..=24 wide",
        ),
        (
            "/common_product_params/callback_data",
            json!("x".repeat(1025)),
            "callback_data must be <= 1024 bytes",
        ),
        (
            "/common_product_params/product_detail_lst/1/rich_text/text",
            json!(long_rich),
            "product_detail_lst[1].rich_text.text must be 1..=100000 characters",
        ),
        (
            "/common_product_params/product_detail_lst/0/text",
            json!("字".repeat(10_001)),
            "product_detail_lst[0].text must be 1..=10000 characters",
        ),
        (
            "/common_product_params/product_fulfillment_lst/0/fulfillment_type",
            json!(9),
            "product_fulfillment_lst[0].fulfillment_type must be 1..=8",
        ),
        (
            "/common_product_params/product_fulfillment_lst/1/fulfillment_content/text",
            Value::Null,
            "product_fulfillment_lst[1].fulfillment_content.text is required",
        ),
        (
            "/common_product_params/product_fulfillment_lst",
            json!([]),
            "product_fulfillment_lst must not be empty",
        ),
        (
            "/common_product_params/gift_info",
            json!({"type": 3, "name": "g", "num": 1, "send_back_policy": {"send_back_on_refund": 0, "policy_desc": ""}}),
            "gift_info.type must be 1 or 2",
        ),
        (
            "/common_product_params/gift_info",
            json!({"type": 1, "name": "g", "num": 1, "pics": vec!["p"; 9], "send_back_policy": {"send_back_on_refund": 0, "policy_desc": ""}}),
            "gift_info.pics must have at most 8",
        ),
        (
            "/common_product_params/gift_info",
            json!({"type": 1, "name": "g", "num": 1, "send_back_policy": {"send_back_on_refund": 2, "policy_desc": ""}}),
            "send_back_policy.send_back_on_refund must be 0 or 1",
        ),
        (
            "/common_product_params/gift_info",
            json!({"type": 1, "name": "g", "num": 1, "send_back_policy": {"send_back_on_refund": 1, "policy_desc": "d".repeat(129)}}),
            "send_back_policy.policy_desc must be <= 128 bytes",
        ),
        (
            "/course_params/course_num",
            json!(0),
            "product.course_params.course_num must be 1..=10000",
        ),
        (
            "/course_params/course_num",
            json!(10_001),
            "course_num must be 1..=10000",
        ),
        (
            "/course_params/teacher_id",
            Value::Null,
            "teacher_id or product.course_params.institution_id is required",
        ),
        (
            "/course_params/refund_label/day_before_use_info/day",
            json!(101),
            "day_before_use_info.day must be 1..=100",
        ),
        (
            "/course_params/refund_label",
            json!({"type": 2, "rest_not_learn_info": {"rest_percent": 101}}),
            "rest_percent must be 0..=100",
        ),
        (
            "/course_params/use_label/valid_date",
            json!("2027/12/31"),
            "use_label.valid_date must be yyyy-MM-dd",
        ),
        (
            "/course_params/start_timestamp",
            json!(1_900_000_000_000_i64),
            "start_timestamp must be < end_timestamp",
        ),
        (
            "/course_params/end_timestamp",
            json!(0),
            "end_timestamp must be > 0",
        ),
    ]
}

fn set_pointer(v: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap_or_else(|| panic!("{parent}"));
    match parent {
        Value::Object(m) if new.is_null() => {
            m.remove(key);
        }
        Value::Object(m) => {
            m.insert(key.to_owned(), new);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = new,
        _ => panic!("{pointer}"),
    }
}

#[tokio::test]
async fn add_refuses_each_broken_rule_with_10002_naming_the_field() {
    let r = ready(TestEmulator::new()).await;
    for (pointer, value, want) in broken_cases() {
        let mut p = product(&r, "broken", "t");
        set_pointer(&mut p, pointer, value);
        let (status, resp) = r.api.post("add", add_body(p)).await;
        assert_eq!(
            (status, &resp["err_no"]),
            (200, &json!(10002)),
            "{pointer}: {resp}"
        );
        let msg = resp["err_msg"].as_str().unwrap();
        assert!(
            msg.starts_with("invalid param: ") && msg.contains(want),
            "{pointer}: {msg}"
        );
    }
    assert!(r.emu.products().is_empty());
}

#[tokio::test]
async fn add_accepts_the_range_price_form_and_an_institution_only_course() {
    let r = ready(TestEmulator::new()).await;
    let mut p = product(&r, "range", "t");
    p["common_product_params"]["price_info"] =
        json!({"unit": "天", "price": 5000, "range_min_price": 4000, "range_max_price": 6000});
    p["course_params"] = json!({"institution_id": "E_1", "course_num": 1});
    r.api.ok("add", add_body(p)).await;
}

#[tokio::test]
async fn add_with_a_uri_not_uploaded_or_of_the_wrong_kind_is_an_invalid_uri() {
    let r = ready(TestEmulator::new()).await;
    let mut p = product(&r, "c1", "t");
    p["common_product_params"]["product_img_uri"] = json!("tos-cn-i-b2i6zad4el/never");
    let (_, resp) = r.api.post("add", add_body(p)).await;
    assert_eq!(resp["err_no"], 10004);
    let msg = resp["err_msg"].as_str().unwrap();
    assert!(
        msg.contains("无效的 uri") && msg.contains("product_img_uri"),
        "{msg}"
    );

    // The cover must have been uploaded as type 31.
    let mut p = product(&r, "c1", "t");
    p["common_product_params"]["product_img_uri"] = json!(r.video);
    let (_, resp) = r.api.post("add", add_body(p)).await;
    assert_eq!(resp["err_no"], 10004, "{resp}");

    let mut p = product(&r, "c1", "t");
    p["common_product_params"]["product_detail_lst"] =
        json!([{"img_uri": "product/resource/nope"}]);
    let (_, resp) = r.api.post("add", add_body(p)).await;
    assert!(
        resp["err_msg"]
            .as_str()
            .unwrap()
            .contains("product_detail_lst[0].img_uri"),
        "{resp}"
    );
}

#[tokio::test]
async fn add_of_a_course_id_in_review_answers_10140_with_the_existing_id() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "dup", "t").await;
    let (_, resp) = r.api.post("add", add_body(product(&r, "dup", "t2"))).await;
    assert_eq!(resp["err_no"], 10140);
    assert_eq!(resp["err_msg"], format!("已进审课程{id}"));
    // Still refused once it is live.
    r.emu.finish_audits();
    let (_, resp) = r.api.post("add", add_body(product(&r, "dup", "t2"))).await;
    assert_eq!(resp["err_no"], 10140);
}

#[tokio::test]
async fn content_type_must_be_json_but_may_carry_a_charset() {
    let r = ready(TestEmulator::new()).await;
    let body = json!({"appid": r.api.appid, "access_token": r.api.token});
    let send = |ct: &'static str| {
        r.api
            .http
            .post(format!("{}/product/api/query_class_info", r.api.url))
            .header("Content-Type", ct)
            .body(body.to_string())
            .send()
    };
    let resp: Value = send("text/plain").await.unwrap().json().await.unwrap();
    assert_eq!(resp["err_no"], 10002);
    assert!(resp["err_msg"].as_str().unwrap().contains("Content-Type"));
    let resp: Value = send("application/json; charset=utf-8")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["err_no"], 0);
}

#[tokio::test]
async fn unknown_api_is_a_404_with_the_envelope() {
    let r = ready(TestEmulator::new()).await;
    let (status, resp) = r.api.post("edit", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(resp["err_no"], 10404);
    assert!(resp["log_id"].is_string());
}

#[tokio::test]
async fn query_takes_at_most_500_ids_and_skips_unknown_ones() {
    let r = ready(TestEmulator::new()).await;
    let ids: Vec<u64> = (1..=501).collect();
    let (_, resp) = r
        .api
        .post("query", json!({"appid": r.api.appid, "product_ids": ids}))
        .await;
    assert_eq!(resp["err_no"], 10002);
    assert!(resp["err_msg"].as_str().unwrap().contains("product_ids"));
    let data = r
        .api
        .ok(
            "query",
            json!({"appid": r.api.appid, "product_ids": [1, 2]}),
        )
        .await;
    assert_eq!(data["products"], json!([]));
}

#[tokio::test]
async fn query_class_info_lists_the_known_categories() {
    let r = ready(TestEmulator::new()).await;
    let data = r
        .api
        .ok("query_class_info", json!({"appid": r.api.appid}))
        .await;
    let list = data["product_class_info_list"].as_array().unwrap();
    let first = list.iter().find(|c| c["first_class_id"] == 10000).unwrap();
    assert_eq!(first["first_class_name"], "少儿成长");
    assert!(
        first["class_info_detail_list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["second_class_id"] == 10300)
    );
}

async fn status_call(r: &Ready, id: u64, status: i64) -> Value {
    r.api
        .post("modify_status", json!({"product_status_info": {"appid": r.api.appid, "product_id": id, "status": status}}))
        .await
        .1
}

#[tokio::test]
async fn modify_status_delists_and_lists_an_approved_course() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "ls", "t").await;
    let resp = status_call(&r, id, 2).await;
    assert_eq!(resp["err_no"], 10002, "not yet approved: {resp}");
    assert!(resp["err_msg"].as_str().unwrap().contains("product_id"));
    r.emu.finish_audits();
    assert_eq!(
        r.api.query(id).await["product_on_shelf"]["product_status"]["status"],
        1
    );
    let resp = status_call(&r, id, 2).await;
    assert_eq!(resp["err_no"], 0);
    assert!(resp.get("data").is_none(), "bare envelope: {resp}");
    assert_eq!(
        r.api.query(id).await["product_on_shelf"]["product_status"]["status"],
        2
    );
    status_call(&r, id, 1).await;
    assert_eq!(
        r.api.query(id).await["product_on_shelf"]["product_status"]["status"],
        1
    );
    assert_eq!(status_call(&r, id, 5).await["err_no"], 10002);
}

#[tokio::test]
async fn modify_no_audit_changes_path_info_of_both_versions_without_audit() {
    let r = ready(slow_audits()).await;
    let id = add(&r, "path", "v1").await;
    r.emu.finish_audits();
    r.api
        .ok(
            "modify",
            json!({"product_type": 1, "product_id": id, "product": product(&r, "path", "v2")}),
        )
        .await;
    let paths = json!([{"path": "pages/new", "query": {"course_id": "path"}}]);
    let data = r
        .api
        .ok("modify_no_audit", json!({"product_type": 1, "product_id": id, "product": {"appid": r.api.appid, "path_info_lst": paths}}))
        .await;
    assert!(data["audit_id"].is_string());
    let item = r.api.query(id).await;
    for version in ["product_on_shelf", "product_reviewing"] {
        assert_eq!(
            item[version]["common_product_info"]["path_info_lst"], paths,
            "{version}"
        );
    }
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v1"
    );
    assert_eq!(item["product_reviewing"]["product_status"]["status"], 1);

    let bad = json!([{"path": "/lead", "query": {"course_id": "path"}}]);
    let (_, resp) = r
        .api
        .post("modify_no_audit", json!({"product_type": 1, "product_id": id, "product": {"appid": r.api.appid, "path_info_lst": bad}}))
        .await;
    assert!(
        resp["err_msg"]
            .as_str()
            .unwrap()
            .contains("product.path_info_lst[0].path"),
        "{resp}"
    );
}

#[tokio::test]
async fn modify_of_an_unknown_product_names_product_id() {
    let r = ready(TestEmulator::new()).await;
    let (_, resp) = r
        .api
        .post(
            "modify",
            json!({"product_type": 1, "product_id": 42, "product": product(&r, "x", "t")}),
        )
        .await;
    assert_eq!(resp["err_no"], 10002);
    assert!(
        resp["err_msg"].as_str().unwrap().contains("product_id 42"),
        "{resp}"
    );
}
