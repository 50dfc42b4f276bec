use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Kills the child on drop so a failing assertion leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn coursesync_emulator_prints_its_url_and_serves_with_the_given_options() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(assert_cmd::cargo::cargo_bin!("coursesync"))
            .args([
                "emulator",
                "--listen",
                "127.0.0.1:0",
                "--appid",
                "tt_cli",
                "--secret",
                "s3cret",
            ])
            .args([
                "--audit-delay",
                "45m",
                "--ban",
                "违禁",
                "--fault",
                "query:next=504",
            ])
            .arg("--data")
            .arg(dir.path().join("p.db"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("coursesync emulator listening on http://127.0.0.1:"),
        "{line}"
    );
    let url = line.split_whitespace().last().unwrap().to_owned();

    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{url}/api/apps/v2/token"))
        .json(&json!({"appid": "tt_cli", "secret": "wrong", "grant_type": "client_credential"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["err_no"], 40017);
    let token: Value = http
        .post(format!("{url}/api/apps/v2/token"))
        .json(&json!({"appid": "tt_cli", "secret": "s3cret", "grant_type": "client_credential"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["data"]["access_token"].as_str().unwrap();
    let resp = http
        .post(format!("{url}/product/api/query"))
        .json(&json!({"access_token": access, "appid": "tt_cli", "product_ids": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 504, "the --fault applies");
    assert!(dir.path().join("p.db").exists());

    // --audit-delay and --ban: two courses submitted, one with the banned word in its title.
    let api = super::Api {
        http: reqwest::Client::new(),
        url: url.clone(),
        token: access.to_owned(),
        appid: "tt_cli".into(),
    };
    let (files, _served) =
        super::file_server(&[("cover.jpg", b"jpeg bytes"), ("01.mp4", b"mp4 bytes")]).await;
    let (cover, _) = api.upload(31, &format!("{files}/cover.jpg")).await;
    let (video, _) = api.upload(2, &format!("{files}/01.mp4")).await;
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let mut ids = Vec::new();
    for (course_id, title) in [("fine", "Python 入门"), ("banned", "含违禁词的课")] {
        let product = super::product_of("tt_cli", &cover, &video, course_id, title);
        let before = now_ms();
        let data = api.ok("add", super::add_body(product)).await;
        let after = now_ms();
        let id = data["product_id"].as_u64().unwrap();
        ids.push(id);
        // Due 45 minutes (the flag's value, not the 2 s default) after it was submitted.
        let products: Value = http
            .get(format!("{url}/__emulator/products"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored = products
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["product_id"] == id)
            .unwrap();
        let due = stored["reviewing"]["due_ms"].as_i64().unwrap();
        let delay = 45 * 60 * 1000;
        assert!(
            (before + delay..=after + delay).contains(&due),
            "due {due}, submitted between {before} and {after}"
        );
        assert_eq!(api.review(id).await["status"], 1);
    }
    let finished: Value = http
        .post(format!("{url}/__emulator/audits/finish"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(finished["decided"], 2);
    let decided = futures::future::join_all(ids.iter().map(|id| api.review(*id))).await;
    assert_eq!(decided[0]["status"], 2, "{decided:?}");
    assert_eq!(decided[1]["status"], 3, "--ban rejects: {decided:?}");
    assert!(
        decided[1]["reject_reason"]
            .as_str()
            .is_some_and(|r| r.contains("违禁")),
        "{decided:?}"
    );
}

#[test]
fn bad_fault_and_duration_arguments_are_refused() {
    for args in [["--fault", "add:bogus=1"], ["--audit-delay", "soon"]] {
        let out = Command::new(assert_cmd::cargo::cargo_bin!("coursesync"))
            .arg("emulator")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(args[1]),
            "{out:?}"
        );
    }
}
