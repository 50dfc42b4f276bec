//! `add` throughput of the emulator on loopback: 16 concurrent clients post valid, distinct
//! courses for about 3 s. Run: `cargo bench --bench emulator_add`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use coursesync::emulator::{Config, Emulator};
use serde_json::{Value, json};

const CLIENTS: usize = 16;
const RUN: Duration = Duration::from_secs(3);
const APPID: &str = "tt_bench";

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    http.post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn upload(http: &reqwest::Client, base: &str, token: &str, ty: i64, file: &str) -> String {
    let body =
        json!({"access_token": token, "appid": APPID, "resource_type": ty, "resource_url": file});
    let resp = post(http, &format!("{base}/product/api/upload_resource"), &body).await;
    let uri = resp["data"]["resource_uri"].as_str().unwrap().to_owned();
    loop {
        let body = json!({"access_token": token, "appid": APPID, "resource_uri": uri});
        let resp = post(
            http,
            &format!("{base}/product/api/query_resource_status"),
            &body,
        )
        .await;
        match resp["data"]["status"].as_i64() {
            Some(2) => return uri,
            Some(1) => tokio::time::sleep(Duration::from_millis(5)).await,
            other => panic!("upload failed: {other:?}"),
        }
    }
}

fn add_body(token: &str, cover: &str, video: &str, course_id: &str) -> Value {
    json!({
        "access_token": token,
        "product_type": 1,
        "product": {
            "common_product_params": {
                "appid": APPID, "first_class": 10000, "second_class": 10300,
                "title": format!("课程 {course_id}"), "purchase_precaution": "购买须知",
                "product_fulfillment_lst": [{"fulfillment_content": {"fulfillment_uri": video, "name": "第一节"}, "fulfillment_type": 1}],
                "industry_type": 1,
                "price_info": {"unit": "节", "price": 5000, "real_price": 4900},
                "path_info_lst": [{"path": "pages/course/detail", "query": {"course_id": course_id}}],
                "product_detail_lst": [{"text": "介绍"}],
                "product_img_uri": cover
            },
            "course_params": {"teacher_id": "E_1", "course_num": 10}
        }
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = std::env::temp_dir().join(format!("emulator-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cover.jpg"), vec![1u8; 10_000]).unwrap();
    std::fs::write(dir.join("01.mp4"), vec![2u8; 100_000]).unwrap();
    let files = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let files_url = format!("http://{}", files.local_addr().unwrap());
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(&dir));
    tokio::spawn(async move { axum::serve(files, app).await.unwrap() });

    let running = Emulator::start(Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        appid: APPID.into(),
        audit_delay: Duration::ZERO,
        ..Config::default()
    })
    .await
    .unwrap();
    let base = running.url();
    let http = reqwest::Client::new();
    let token = post(
        &http,
        &format!("{base}/api/apps/v2/token"),
        &json!({"appid": APPID, "secret": "x", "grant_type": "client_credential"}),
    )
    .await["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cover = upload(&http, &base, &token, 31, &format!("{files_url}/cover.jpg")).await;
    let video = upload(&http, &base, &token, 2, &format!("{files_url}/01.mp4")).await;

    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (base, token, cover, video, done) = (
            base.clone(),
            token.clone(),
            cover.clone(),
            video.clone(),
            Arc::clone(&done),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let url = format!("{base}/product/api/add");
            let mut n = 0u64;
            while start.elapsed() < RUN {
                let body = add_body(&token, &cover, &video, &format!("bench-{client}-{n}"));
                let resp = post(&http, &url, &body).await;
                assert_eq!(resp["err_no"], 0, "{resp}");
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let adds = done.load(Ordering::Relaxed);
    println!(
        "emulator add: {adds} adds in {elapsed:.2} s with {CLIENTS} clients = {:.0} adds/s",
        adds as f64 / elapsed
    );
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
