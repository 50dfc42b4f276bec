//! Readings: every open fact answered both ways over real HTTP (`add-dedupe`, `status-field`,
//! `query-echo`, `token`, `modify-status`, `resource-types`), and `--reading` on the command.

use std::time::Duration;

use coursesync::emulator::Readings;
use coursesync::emulator::testing::TestEmulator;
use serde_json::json;

use super::{Api, Ready, add, add_body, file_server, product, ready};

fn emulator(readings: &[&str]) -> TestEmulator {
    let mut config = TestEmulator::config();
    config.readings = Readings::parse(readings).unwrap();
    config.audit_delay = Duration::from_hours(1);
    TestEmulator::start(config)
}

async fn approved(readings: &[&str]) -> (Ready, u64) {
    let r = ready(emulator(readings)).await;
    let id = add(&r, "py-101", "Python 入门").await;
    r.emu.finish_audits();
    (r, id)
}

async fn modify_status(r: &Ready, id: u64, status: i64) -> serde_json::Value {
    r.api
        .post(
            "modify_status",
            json!({"product_status_info": {"appid": r.api.appid, "product_id": id, "status": status}}),
        )
        .await
        .1
}

#[tokio::test]
async fn add_dedupe_yes_answers_10140_and_no_makes_a_second_product() {
    let r = ready(emulator(&[])).await;
    let first = add(&r, "py-101", "Python 入门").await;
    let (_, again) = r
        .api
        .post("add", add_body(product(&r, "py-101", "Python 入门")))
        .await;
    assert_eq!(again["err_no"], 10140, "{again}");
    assert!(
        again["err_msg"]
            .as_str()
            .unwrap()
            .contains(&first.to_string())
    );
    assert_eq!(r.emu.products().len(), 1);

    let r = ready(emulator(&["add-dedupe=no"])).await;
    let first = add(&r, "py-101", "Python 入门").await;
    let second = add(&r, "py-101", "Python 入门").await;
    assert_ne!(first, second);
    let products = r.emu.products();
    assert_eq!(products.len(), 2);
    assert!(products.iter().all(|p| p.course_id == "py-101" && !p.dead));
    // Such a platform checks course_id nowhere: a modify of either keeps working.
    r.emu.finish_audits();
    r.api
        .ok(
            "modify",
            json!({"product_type": 1, "product_id": second, "product": product(&r, "py-101", "第二版")}),
        )
        .await;
}

#[tokio::test]
async fn status_field_listing_follows_modify_status_and_audit_does_not() {
    let (r, id) = approved(&[]).await;
    let status =
        |item: &serde_json::Value| item["product_on_shelf"]["product_status"]["status"].clone();
    assert_eq!(status(&r.api.query(id).await), 1, "listed");
    assert_eq!(modify_status(&r, id, 2).await["err_no"], 0);
    assert_eq!(status(&r.api.query(id).await), 2, "delisted");

    let (r, id) = approved(&["status-field=audit"]).await;
    assert_eq!(status(&r.api.query(id).await), 2, "passed");
    assert_eq!(modify_status(&r, id, 2).await["err_no"], 0);
    assert!(!r.emu.product(id).unwrap().listed);
    assert_eq!(status(&r.api.query(id).await), 2, "still passed");
    assert_eq!(modify_status(&r, id, 1).await["err_no"], 0);
    assert_eq!(status(&r.api.query(id).await), 2);
    // The version under review shows its audit status under both readings.
    r.api
        .ok(
            "modify",
            json!({"product_type": 1, "product_id": id, "product": product(&r, "py-101", "第二版")}),
        )
        .await;
    let item = r.api.query(id).await;
    assert_eq!(item["product_reviewing"]["product_status"]["status"], 1);
}

#[tokio::test]
async fn query_echo_sparse_carries_only_some_of_what_was_sent() {
    let r = ready(emulator(&[])).await;
    let id = add(&r, "py-101", "Python 入门").await;
    let full = r.api.query(id).await["product_reviewing"].clone();
    assert_eq!(full["course_info"]["course_num"], 12);
    assert_eq!(
        full["common_product_info"]["purchase_precaution"],
        "购买后可反复学习"
    );

    let r = ready(emulator(&["query-echo=sparse"])).await;
    let id = add(&r, "py-101", "Python 入门").await;
    let sparse = r.api.query(id).await["product_reviewing"].clone();
    assert_eq!(sparse["course_info"], json!({"teacher_introduction": ""}));
    let info = sparse["common_product_info"].as_object().unwrap();
    let mut keys: Vec<&str> = info.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "first_class",
            "path_info_lst",
            "price_info",
            "product_fulfillment_lst",
            "product_img_url",
            "second_class",
            "title"
        ]
    );
    assert_eq!(info["title"], "Python 入门");
    assert_eq!(
        info["path_info_lst"][0]["query"]["course_id"], "py-101",
        "the course_id stays findable"
    );
}

#[tokio::test]
async fn token_stable_keeps_the_old_token_and_revoked_ends_it() {
    for (reading, old_works) in [("token=stable", true), ("token=revoked", false)] {
        let emu = emulator(&[reading]);
        let old = Api::new(&emu);
        old.ok("query_class_info", json!({"appid": old.appid}))
            .await;
        let new = Api::new(&emu);
        let (_, resp) = old
            .post("query_class_info", json!({"appid": old.appid}))
            .await;
        assert_eq!(resp["err_no"] == 0, old_works, "{reading}: {resp}");
        if !old_works {
            assert_eq!(resp["err_no"], 10001, "{resp}");
        }
        new.ok("query_class_info", json!({"appid": new.appid}))
            .await;
    }
}

#[tokio::test]
async fn modify_status_codes_are_a_reading() {
    let (r, id) = approved(&["modify-status=2/1"]).await;
    assert_eq!(modify_status(&r, id, 1).await["err_no"], 0);
    assert!(!r.emu.product(id).unwrap().listed, "1 delists here");
    let item = r.api.query(id).await;
    assert_eq!(item["product_on_shelf"]["product_status"]["status"], 1);
    assert_eq!(modify_status(&r, id, 2).await["err_no"], 0);
    assert!(r.emu.product(id).unwrap().listed);
    let resp = modify_status(&r, id, 3).await;
    assert_eq!(resp["err_no"], 10002, "{resp}");
    assert!(
        resp["err_msg"].as_str().unwrap().contains("2 (list)"),
        "{resp}"
    );
}

#[tokio::test]
async fn resource_types_of_audio_pdf_office_are_a_reading() {
    let (base, _files) = file_server(&[("talk.mp3", b"mp3"), ("sheet.pdf", b"pdf")]).await;
    let emu = emulator(&[]);
    let api = Api::new(&emu);
    assert_eq!(api.upload(3, &format!("{base}/talk.mp3")).await.1, 2);
    assert_eq!(api.upload(4, &format!("{base}/sheet.pdf")).await.1, 2);

    let emu = emulator(&["resource-types=6/7/8"]);
    let api = Api::new(&emu);
    let body =
        json!({"appid": api.appid, "resource_type": 3, "resource_url": format!("{base}/talk.mp3")});
    let (_, resp) = api.post("upload_resource", body).await;
    assert_eq!(resp["err_no"], 10002, "{resp}");
    assert_eq!(api.upload(6, &format!("{base}/talk.mp3")).await.1, 2);
    let (uri, status) = api.upload(7, &format!("{base}/sheet.pdf")).await;
    assert_eq!(status, 2);
    assert!(uri.starts_with("product/resource/"), "{uri}");
    // Cover, image and video are not readings.
    let (uri, _) = api.upload(31, &format!("{base}/sheet.pdf")).await;
    assert!(uri.starts_with("tos-cn-i-b2i6zad4el/"), "{uri}");
}

#[tokio::test]
async fn the_admin_api_names_the_readings() {
    let emu = emulator(&["add-dedupe=no", "token=revoked"]);
    let got: serde_json::Value = reqwest::get(format!("{}/__emulator/readings", emu.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        json!({"add-dedupe": "no", "status-field": "listing", "query-echo": "full",
               "token": "revoked", "modify-status": "1/2", "resource-types": "3/4/5"})
    );
    assert_eq!(
        emu.readings().non_default(),
        ["add-dedupe=no", "token=revoked"]
    );
}

#[tokio::test]
async fn the_command_takes_readings_and_refuses_unknown_ones() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let bin = assert_cmd::cargo::cargo_bin!("coursesync");
    let bad = Command::new(bin)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--reading",
            "add-dedupe=perhaps",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("yes|no"), "{err}");

    let mut child = Command::new(bin)
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args([
            "--reading",
            "add-dedupe=no",
            "--reading",
            "query-echo=sparse",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.split_whitespace().last().unwrap().to_owned();
    let got: serde_json::Value = reqwest::get(format!("{url}/__emulator/readings"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert_eq!(got["add-dedupe"], "no");
    assert_eq!(got["query-echo"], "sparse");
    assert_eq!(got["token"], "stable");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("readings: add-dedupe=no query-echo=sparse"),
        "{err}"
    );
}
