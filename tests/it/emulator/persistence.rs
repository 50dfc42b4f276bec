use std::time::Duration;

use coursesync::emulator::testing::TestEmulator;

use super::{Api, add, eventually, ready};

#[tokio::test]
async fn a_data_file_keeps_products_resources_tokens_and_pending_audits_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestEmulator::config();
    config.data = Some(dir.path().join("platform.db"));
    config.audit_delay = Duration::from_hours(1);

    let r = ready(TestEmulator::start(config.clone())).await;
    let live = add(&r, "live", "v1").await;
    r.emu.finish_audits();
    let pending = add(&r, "pending", "p1").await;
    let token = r.api.token.clone();
    let (cover, video) = (r.cover.clone(), r.video.clone());
    drop(r.emu);

    // Short delay now: the restarted emulator resumes the pending audit's timer.
    config.audit_delay = Duration::from_millis(10);
    let emu = TestEmulator::start(config);
    let api = Api {
        token,
        ..Api::new(&emu)
    };
    let item = api.query(live).await;
    assert_eq!(
        item["product_on_shelf"]["common_product_info"]["title"],
        "v1"
    );
    let uris: Vec<String> = emu
        .resources()
        .into_iter()
        .filter(|r| r.status == 2)
        .map(|r| r.uri)
        .collect();
    assert!(uris.contains(&cover) && uris.contains(&video));
    // The pending audit was due in an hour when it was stored; it is still pending.
    assert_eq!(api.review(pending).await["status"], 1);
    emu.finish_audits();
    assert_eq!(api.review(pending).await["status"], 2);
}

#[tokio::test]
async fn an_overdue_audit_is_decided_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestEmulator::config();
    config.data = Some(dir.path().join("platform.db"));
    config.audit_delay = Duration::from_millis(300);
    let r = ready(TestEmulator::start(config.clone())).await;
    let id = add(&r, "due", "t").await;
    let token = r.api.token.clone();
    drop(r.emu);
    let emu = TestEmulator::start(config);
    eventually(|| emu.product(id).is_some_and(|p| p.on_shelf.is_some())).await;
    let api = Api {
        token,
        ..Api::new(&emu)
    };
    assert_eq!(api.review(id).await["status"], 2);
}

/// `coursesync emulator` (the real binary) started in `dir`; killed on drop.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("coursesync"))
            .current_dir(dir)
            .env("HOME", dir)
            .args(["emulator", "--listen", "127.0.0.1:0", "--audit-delay", "0s"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Server { child, url }
    }

    /// An API client with a token from the endpoint (the default emulator takes any secret).
    async fn api(&self) -> Api {
        let http = reqwest::Client::new();
        let answer: serde_json::Value = http
            .post(format!("{}/api/apps/v2/token", self.url))
            .json(&serde_json::json!({"appid": "tt_local_app", "secret": "s", "grant_type": "client_credential"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            http,
            url: self.url.clone(),
            token: answer["data"]["access_token"].as_str().unwrap().to_owned(),
            appid: "tt_local_app".into(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn without_a_data_file_a_restart_forgets_everything() {
    // The real command, restarted in the same directory (and HOME): without --data nothing it
    // learned may survive, and it writes no file anywhere a restart could read one from.
    let dir = tempfile::tempdir().unwrap();
    let (files, _served) =
        super::file_server(&[("cover.jpg", b"jpeg bytes"), ("01.mp4", b"mp4 bytes")]).await;
    let first = Server::start(dir.path());
    let api = first.api().await;
    let (cover, s1) = api.upload(31, &format!("{files}/cover.jpg")).await;
    let (video, s2) = api.upload(2, &format!("{files}/01.mp4")).await;
    assert_eq!((s1, s2), (2, 2));
    let product = super::product_of("tt_local_app", &cover, &video, "gone", "t");
    let id = api.ok("add", super::add_body(product)).await["product_id"]
        .as_u64()
        .unwrap();
    // Known before the restart: the product (and the upload and token it was made with).
    assert!(api.query(id).await.is_object());
    drop(first);

    let second = Server::start(dir.path());
    let (status, answer) = Api {
        url: second.url.clone(),
        ..api
    }
    .post(
        "query_class_info",
        serde_json::json!({"appid": "tt_local_app"}),
    )
    .await;
    assert_eq!(
        (status, &answer["err_no"]),
        (200, &serde_json::json!(10001)),
        "the old token is unknown: {answer}"
    );
    let api = second.api().await;
    assert_eq!(
        api.query(id).await,
        serde_json::Value::Null,
        "the product is gone"
    );
    let (_, answer) = api
        .post(
            "query_resource_status",
            serde_json::json!({"appid": "tt_local_app", "resource_uri": cover}),
        )
        .await;
    assert_ne!(answer["err_no"], 0, "the upload is gone: {answer}");
    drop(second);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files written without --data: {left:?}");
}
