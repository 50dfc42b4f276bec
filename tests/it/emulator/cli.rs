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
                "500ms",
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
