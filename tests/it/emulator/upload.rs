use std::sync::Arc;

use coursesync::emulator::testing::TestEmulator;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Api, file_server, serve};

#[tokio::test]
async fn upload_pulls_the_url_and_records_size_and_sha256() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let body = vec![7u8; 300_000];
    let (base, _dir) = file_server(&[("lesson.mp4", &body), ("cover.jpg", b"jpg")]).await;

    let (uri, status) = api.upload(2, &format!("{base}/lesson.mp4")).await;
    assert_eq!(status, 2);
    assert!(uri.starts_with("product/resource/"), "{uri}");
    let stored = emu.resources().into_iter().find(|r| r.uri == uri).unwrap();
    assert_eq!(stored.size, Some(300_000));
    assert_eq!(
        stored.sha256.as_deref(),
        Some(hex::encode(Sha256::digest(&body)).as_str())
    );

    let (cover, status) = api.upload(31, &format!("{base}/cover.jpg")).await;
    assert_eq!(status, 2);
    assert!(cover.starts_with("tos-cn-i-b2i6zad4el/"), "{cover}");
}

#[tokio::test]
async fn upload_is_status_1_while_the_pull_runs() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let gate = Arc::new(tokio::sync::Notify::new());
    let open = Arc::clone(&gate);
    let app = axum::Router::new().route(
        "/slow.mp4",
        axum::routing::get(move || {
            let open = Arc::clone(&open);
            async move {
                open.notified().await;
                "video"
            }
        }),
    );
    let base = serve(app).await;
    let data = api
        .ok("upload_resource", json!({"appid": api.appid, "resource_type": 2, "resource_url": format!("{base}/slow.mp4")}))
        .await;
    let uri = data["resource_uri"].as_str().unwrap();
    let status = api
        .ok(
            "query_resource_status",
            json!({"appid": api.appid, "resource_uri": uri}),
        )
        .await;
    assert_eq!(status["status"], 1);
    assert_eq!(status["resource_uri"], uri);
    gate.notify_one();
    assert_eq!(api.wait_resource(uri).await, 2);
}

#[tokio::test]
async fn upload_fails_with_status_3_on_http_error_or_refused_connection() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let (base, _dir) = file_server(&[]).await;
    let (_, status) = api.upload(1, &format!("{base}/missing.png")).await;
    assert_eq!(status, 3);
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, status) = api
        .upload(1, &format!("http://127.0.0.1:{port}/x.png"))
        .await;
    assert_eq!(status, 3);
}

#[tokio::test]
async fn second_upload_of_the_same_url_and_type_answers_10003_with_the_uri() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let (base, _dir) = file_server(&[("a.png", b"png")]).await;
    let url = format!("{base}/a.png");
    let (uri, _) = api.upload(1, &url).await;
    let (_, resp) = api
        .post(
            "upload_resource",
            json!({"appid": api.appid, "resource_type": 1, "resource_url": url}),
        )
        .await;
    assert_eq!(resp["err_no"], 10003);
    assert_eq!(
        resp["err_msg"].as_str().unwrap().split(':').nth(1),
        Some(uri.as_str())
    );
    // The same URL as another type is another resource.
    let (other, status) = api.upload(31, &url).await;
    assert_ne!(other, uri);
    assert_eq!(status, 2);
}

#[tokio::test]
async fn a_failed_url_may_be_uploaded_again() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let (base, dir) = file_server(&[]).await;
    let url = format!("{base}/late.png");
    let (first, status) = api.upload(1, &url).await;
    assert_eq!(status, 3);
    std::fs::write(dir.path().join("late.png"), b"now here").unwrap();
    let (second, status) = api.upload(1, &url).await;
    assert_ne!(first, second);
    assert_eq!(status, 2);
}

#[tokio::test]
async fn upload_parameter_errors_name_the_field() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let (_, resp) = api
        .post(
            "upload_resource",
            json!({"appid": api.appid, "resource_type": 9, "resource_url": "http://x/y"}),
        )
        .await;
    assert_eq!(resp["err_no"], 10002);
    assert!(
        resp["err_msg"].as_str().unwrap().contains("resource_type"),
        "{resp}"
    );
    let (_, resp) = api
        .post(
            "upload_resource",
            json!({"appid": api.appid, "resource_type": 1, "resource_url": "ftp://x/y"}),
        )
        .await;
    assert!(
        resp["err_msg"].as_str().unwrap().contains("resource_url"),
        "{resp}"
    );
    let (_, resp) = api
        .post(
            "query_resource_status",
            json!({"appid": api.appid, "resource_uri": "product/resource/nope"}),
        )
        .await;
    assert_eq!(resp["err_no"], 10002);
    assert!(
        resp["err_msg"].as_str().unwrap().contains("resource_uri"),
        "{resp}"
    );
}

#[tokio::test]
async fn log_id_is_a_bare_number_on_upload_and_status_and_a_string_elsewhere() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let (base, _dir) = file_server(&[("a.png", b"png")]).await;
    let (_, resp) = api
        .post("upload_resource", json!({"appid": api.appid, "resource_type": 1, "resource_url": format!("{base}/a.png")}))
        .await;
    assert!(resp["log_id"].is_u64(), "{resp}");
    let uri = resp["data"]["resource_uri"].as_str().unwrap();
    let (_, resp) = api
        .post(
            "query_resource_status",
            json!({"appid": api.appid, "resource_uri": uri}),
        )
        .await;
    assert!(resp["log_id"].is_u64(), "{resp}");
    let (_, resp) = api
        .post("query", json!({"appid": api.appid, "product_ids": []}))
        .await;
    assert!(resp["log_id"].is_u64(), "{resp}");
    let (_, resp) = api
        .post("query_class_info", json!({"appid": api.appid}))
        .await;
    assert!(resp["log_id"].is_string(), "{resp}");
}

#[tokio::test]
async fn obj_urls_redirect_to_the_pulled_url() {
    let emu = TestEmulator::new();
    let api = Api::new(&emu);
    let (base, _dir) = file_server(&[("a.png", b"png")]).await;
    let (uri, _) = api.upload(1, &format!("{base}/a.png")).await;
    let resp = api
        .http
        .get(format!("{}/obj/{uri}", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    assert_eq!(resp.headers()["location"], format!("{base}/a.png").as_str());
}
