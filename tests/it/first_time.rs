//! Issue 9's "done when": a new user following the README's "On a real platform for the first
//! time" against `coursesync emulator --reading add-dedupe=no --reading status-field=audit
//! --reading query-echo=sparse` (a platform that reads the open facts the other way from the
//! documents' guesses) gets no duplicate and no false drift. Everything is the real binary: the
//! sandbox and production are two `coursesync emulator` processes with those readings; the
//! user's repository is the project's sample catalog, its assets published to a file server (as
//! CI publishes them), with the README's `coursesync.sandbox.toml` and a production
//! `coursesync.toml`, each with a `base_url`. The steps are the README's: probe, probe --write
//! (and commit `platform-facts.toml`), rehearse in the sandbox (apply --wait, refresh, drift),
//! then production, where three add answers are lost (the platform performs the add, then
//! answers 504: what made duplicates before); the courses apply holds as `unknown_outcome` are
//! resolved as the README says; then refresh and drift on schedule.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::support::{FileServer, show, stdout};

const APPID: &str = "tt_first_time";
const SECRET: &str = "first-time-secret";

/// The emulator process; killed on drop so a failing assertion leaves nothing behind.
struct Emulator {
    child: std::process::Child,
    url: String,
}

impl Emulator {
    fn start(readings: &[&str]) -> Emulator {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
        cmd.args(["emulator", "--listen", "127.0.0.1:0", "--appid", APPID])
            .args(["--secret", SECRET, "--audit-delay", "300ms"]);
        for r in readings {
            cmd.args(["--reading", r]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.split_whitespace().last().unwrap().to_owned();
        Emulator { child, url }
    }

    fn admin(&self, path: &str) -> Value {
        http::get(&format!("{}/__emulator/{path}", self.url))
    }

    fn admin_post(&self, path: &str, body: &Value) -> Value {
        http::post(&format!("{}/__emulator/{path}", self.url), body)
    }

    /// Live or in-review products per course_id, as the platform's console lists them.
    fn live_products(&self) -> BTreeMap<String, Vec<u64>> {
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for p in self.admin("products").as_array().unwrap() {
            if p["dead"] == false {
                out.entry(p["course_id"].as_str().unwrap().to_owned())
                    .or_default()
                    .push(p["product_id"].as_u64().unwrap());
            }
        }
        out
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal blocking HTTP for the admin API, on a runtime of its own.
mod http {
    use serde_json::Value;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    pub fn get(url: &str) -> Value {
        rt().block_on(async { ::reqwest::get(url).await.unwrap().json().await.unwrap() })
    }

    pub fn post(url: &str, body: &Value) -> Value {
        rt().block_on(async {
            ::reqwest::Client::new()
                .post(url)
                .json(body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .env("NO_COLOR", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("COURSESYNC_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("COURSESYNC_APP_SECRET", SECRET);
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{}", show(&out));
        out
    }

    fn status(&self, config: &str) -> Vec<Value> {
        let out = self.ok(&["--config", config, "status", "--format", "json"]);
        let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
        doc["courses"].as_array().cloned().unwrap_or_default()
    }
}

/// One live product per course of the state `config` names, the one state records; returns
/// how many courses.
fn assert_one_product_each(
    repo: &Repo,
    config: &str,
    platform: &Emulator,
    runs: &[String],
) -> usize {
    let courses = repo.status(config);
    let live = platform.live_products();
    for c in &courses {
        let id = c["course_id"].as_str().unwrap();
        assert_eq!(
            live.get(id).cloned().unwrap_or_default(),
            vec![c["product_id"].as_u64().unwrap()],
            "{config}: {id}\n{}",
            runs.join("\n=====\n")
        );
    }
    courses.len()
}

/// Refresh then drift on `config`: nothing drifted, and drift says it cannot see listing.
fn assert_no_false_drift(repo: &Repo, config: &str, platform: &Emulator) {
    platform.admin_post("audits/finish", &json!({}));
    repo.ok(&["--config", config, "refresh"]);
    let drift = repo.run(&["--config", config, "drift"]);
    assert_eq!(
        drift.status.code(),
        Some(0),
        "false drift:\n{}",
        show(&drift)
    );
    assert!(
        stdout(&drift).contains("Listing: not reported by the platform"),
        "{}",
        show(&drift)
    );
    let plan = repo.run(&["--config", config, "plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", show(&plan));
}

const READINGS: [&str; 3] = ["add-dedupe=no", "status-field=audit", "query-echo=sparse"];

#[test]
fn first_time_on_a_platform_that_reads_the_open_facts_the_other_way() {
    let sandbox = Emulator::start(&READINGS);
    let production = Emulator::start(&READINGS);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog"),
        &dir.path().join("catalog"),
    );
    let files = FileServer::start(&dir.path().join("catalog"));
    let assets = files.url();
    // 1. The README's sandbox settings, and the production ones (each with the base_url that
    //    stands for the platform's host).
    std::fs::write(
        dir.path().join("coursesync.sandbox.toml"),
        format!(
            "[app]\nappid = \"{APPID}\"\nenvironment = \"sandbox\"\nsandbox_audit = \"approve\"\n\
             base_url = \"{}\"\n\n[catalog]\nassets_base_url = \"{assets}\"\n\n\
             [state]\npath = \"state/sandbox.db\"\n",
            sandbox.url
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("coursesync.toml"),
        format!(
            "[app]\nappid = \"{APPID}\"\nenvironment = \"production\"\nbase_url = \"{}\"\n\n\
             [catalog]\nassets_base_url = \"{assets}\"\n",
            production.url
        ),
    )
    .unwrap();
    let repo = Repo { dir };
    let sb = "coursesync.sandbox.toml";
    repo.ok(&["validate"]);

    // 2. Probe (it refuses production), then 3. record and commit what it saw.
    let refused = repo.run(&["probe"]);
    assert_eq!(refused.status.code(), Some(1), "{}", show(&refused));
    repo.ok(&["--config", sb, "probe"]);
    let out = repo.ok(&["--config", sb, "probe", "--write", "--format", "json"]);
    let probed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let observed = |name: &str| {
        probed["facts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()["observed"]
            .clone()
    };
    assert_eq!(observed("add.repeat_answers_10140"), json!(false));
    assert_eq!(observed("query.status_means_listing"), json!(false));
    assert_eq!(observed("query.echoes_course"), json!(false));
    let facts = std::fs::read_to_string(repo.dir.path().join("platform-facts.toml")).unwrap();
    assert!(
        facts.contains("\"add.repeat_answers_10140\" = false"),
        "{facts}"
    );

    // 4. Rehearse in the sandbox: apply --wait, refresh, drift.
    let mut runs = vec![show(&repo.ok(&[
        "--config",
        sb,
        "apply",
        "--auto-approve",
        "--wait",
    ]))];
    assert_eq!(assert_one_product_each(&repo, sb, &sandbox, &runs), 7);
    assert_no_false_drift(&repo, sb, &sandbox);
    // The probe's throwaway courses are not listed.
    for p in sandbox.admin("products").as_array().unwrap() {
        if p["course_id"].as_str().unwrap().starts_with("probe-") {
            assert_eq!(p["listed"], false, "{p}");
        }
    }

    // 5. Production, on a day the platform loses three add answers after performing them.
    production.admin_post(
        "faults",
        &json!({"add": {"next": ["performed_504", "performed_504", "performed_504"]}}),
    );
    let first = repo.run(&["apply", "--auto-approve"]);
    runs.push(show(&first));
    // What apply holds as unknown_outcome is resolved as the README says: import the product the
    // console shows for the course_id, or send it again knowingly when there is none.
    let mut imports = 0;
    let mut resends = 0;
    for _ in 0..8 {
        let held: Vec<String> = repo
            .status("coursesync.toml")
            .iter()
            .filter(|c| c["audit"] == "unknown_outcome")
            .map(|c| c["course_id"].as_str().unwrap().to_owned())
            .collect();
        let live = production.live_products();
        for course_id in &held {
            match live.get(course_id).map(Vec::as_slice) {
                Some([product]) => {
                    imports += 1;
                    runs.push(show(&repo.ok(&[
                        "import",
                        "--product-id",
                        &product.to_string(),
                    ])));
                }
                None | Some([]) => {
                    resends += 1;
                    runs.push(show(&repo.run(&[
                        "apply",
                        "--auto-approve",
                        "--resend",
                        course_id,
                    ])));
                }
                Some(many) => panic!("duplicate products for {course_id}: {many:?}"),
            }
        }
        let out = repo.run(&["apply", "--auto-approve"]);
        let done = out.status.code() == Some(0);
        runs.push(show(&out));
        if done && held.is_empty() {
            break;
        }
    }
    assert_eq!(
        (imports, resends),
        (3, 0),
        "the three lost add answers were held, and the products found imported\n{}",
        runs.join("\n=====\n")
    );
    assert_eq!(
        assert_one_product_each(&repo, "coursesync.toml", &production, &runs),
        7
    );
    // On schedule: refresh, then drift.
    assert_no_false_drift(&repo, "coursesync.toml", &production);
    println!(
        "first time: {imports} held course(s) imported, {resends} resent, {} runs",
        runs.len()
    );
}
