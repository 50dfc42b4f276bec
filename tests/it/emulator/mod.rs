//! The platform emulator over real HTTP on 127.0.0.1: endpoints, uploads, audits, faults,
//! persistence, admin API and the `coursesync emulator` command.

mod admin;
mod audit;
mod cli;
mod course;
mod faults;
mod persistence;
mod readings;
mod roles;
mod token;
mod upload;

use std::sync::Arc;
use std::time::Duration;

use coursesync::emulator::testing::TestEmulator;
use serde_json::{Value, json};

/// A course-library client for tests: adds `access_token` to every body.
pub struct Api {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
    pub appid: String,
}

impl Api {
    pub fn new(emu: &TestEmulator) -> Self {
        Api {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            url: emu.url(),
            token: emu.token(),
            appid: emu.appid().to_owned(),
        }
    }

    /// POSTs `body` (plus the token) to `/product/api/<endpoint>`; (HTTP status, JSON body).
    pub async fn post(&self, endpoint: &str, mut body: Value) -> (u16, Value) {
        body["access_token"] = json!(self.token);
        self.post_with(endpoint, &body, &[]).await
    }

    pub async fn post_with(
        &self,
        endpoint: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/product/api/{endpoint}", self.url))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("emulator answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `post` that must succeed; returns `data`.
    pub async fn ok(&self, endpoint: &str, body: Value) -> Value {
        let (status, resp) = self.post(endpoint, body).await;
        assert_eq!(
            (status, &resp["err_no"]),
            (200, &json!(0)),
            "{endpoint}: {resp}"
        );
        resp["data"].clone()
    }

    /// Uploads `url` as `resource_type` and waits until the pull is over; (uri, final status).
    pub async fn upload(&self, resource_type: i64, url: &str) -> (String, i64) {
        let data = self
            .ok(
                "upload_resource",
                json!({"appid": self.appid, "resource_type": resource_type, "resource_url": url}),
            )
            .await;
        let uri = data["resource_uri"].as_str().unwrap().to_owned();
        let status = self.wait_resource(&uri).await;
        (uri, status)
    }

    pub async fn wait_resource(&self, uri: &str) -> i64 {
        for _ in 0..500 {
            let data = self
                .ok(
                    "query_resource_status",
                    json!({"appid": self.appid, "resource_uri": uri}),
                )
                .await;
            let status = data["status"].as_i64().unwrap();
            if status != 1 {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("resource {uri} still fetching");
    }

    pub async fn query(&self, product_id: u64) -> Value {
        let data = self
            .ok(
                "query",
                json!({"appid": self.appid, "product_ids": [product_id]}),
            )
            .await;
        data["products"][0].clone()
    }

    pub async fn review(&self, product_id: u64) -> Value {
        let data = self
            .ok(
                "query_review",
                json!({"appid": self.appid, "product_ids": [product_id], "query_type": 1}),
            )
            .await;
        data["products_review"][product_id.to_string()]["course"].clone()
    }
}

/// Serves `files` (name → bytes) over HTTP on the current runtime; returns the base URL.
pub async fn file_server(files: &[(&str, &[u8])]) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir.path()));
    (serve(app).await, dir)
}

pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A running emulator with a client, an uploaded cover and lesson video, ready for `add`.
pub struct Ready {
    pub emu: TestEmulator,
    pub api: Api,
    pub cover: String,
    pub video: String,
    pub _files: tempfile::TempDir,
}

pub async fn ready(emu: TestEmulator) -> Ready {
    let api = Api::new(&emu);
    let (base, files) =
        file_server(&[("cover.jpg", b"jpeg bytes"), ("01.mp4", b"mp4 bytes")]).await;
    let (cover, s1) = api.upload(31, &format!("{base}/cover.jpg")).await;
    let (video, s2) = api.upload(2, &format!("{base}/01.mp4")).await;
    assert_eq!((s1, s2), (2, 2));
    Ready {
        emu,
        api,
        cover,
        video,
        _files: files,
    }
}

/// An emulator whose audits wait for `finish_audits`.
pub fn slow_audits() -> TestEmulator {
    let mut config = TestEmulator::config();
    config.audit_delay = Duration::from_hours(1);
    TestEmulator::start(config)
}

/// A valid `product` object (platform-api.md §5.1 sample shape).
pub fn product(r: &Ready, course_id: &str, title: &str) -> Value {
    product_of(&r.api.appid, &r.cover, &r.video, course_id, title)
}

/// [`product`] with the app and the uploaded uris given.
pub fn product_of(appid: &str, cover: &str, video: &str, course_id: &str, title: &str) -> Value {
    json!({
        "common_product_params": {
            "appid": appid,
            "first_class": 10000,
            "second_class": 10300,
            "title": title,
            "purchase_precaution": "购买后可反复学习",
            "product_fulfillment_lst": [
                {"fulfillment_content": {"fulfillment_uri": video, "name": "第一节"}, "fulfillment_type": 1},
                {"fulfillment_content": {"name": "讲义", "text": "正文"}, "fulfillment_type": 4}
            ],
            "industry_type": 1,
            "price_info": {"unit": "节", "price": 5000, "real_price": 4900},
            "path_info_lst": [{"path": "pages/course/detail", "query": {"course_id": course_id}}],
            "product_detail_lst": [{"text": "零基础"}, {"rich_text": {"text": "<b>安装</b>"}}],
            "anchor_info": {"video_anchor_info": {"anchor_title": "Python 入门"}},
            "callback_data": format!("cb-{course_id}"),
            "product_img_uri": cover
        },
        "course_params": {
            "teacher_id": "E_7283947392973",
            "course_num": 12,
            "refund_label": {"type": 1, "day_before_use_info": {"day": 7}},
            "use_label": {"valid_date": "2027-12-31"},
            "start_timestamp": 1_764_518_400_000_i64,
            "end_timestamp": 1_796_054_400_000_i64
        }
    })
}

pub fn add_body(product: Value) -> Value {
    let mut body = json!({"product_type": 1});
    body["product"] = product;
    body
}

/// Adds a valid course; returns its product id.
pub async fn add(r: &Ready, course_id: &str, title: &str) -> u64 {
    let data = r
        .api
        .ok("add", add_body(product(r, course_id, title)))
        .await;
    data["product_id"]
        .as_u64()
        .expect("product_id is an integer")
}

/// A callback receiver: returns its URL and the bodies it got.
pub async fn callback_sink() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let store = Arc::clone(&store);
            async move {
                store.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    (format!("{}/cb", serve(app).await), got)
}

/// Waits (bounded) until `cond` holds.
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}
