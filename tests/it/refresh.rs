//! `coursesync refresh` and `coursesync status` through the real binary, against the emulator
//! over real HTTP: approvals, rejections (a first add and a modify), a no-op refresh that writes
//! nothing, pending uploads, the local platform, and no secret in any output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use coursesync::emulator::Readings;
use coursesync::emulator::testing::{TEST_APPID, TEST_SECRET, TestEmulator};
use coursesync::platform::facts::{resource_status, resource_type};
use coursesync::platform::{Client, ClientConfig, RetryPolicy, wire};
use coursesync::settings::Secret;
use coursesync::state::{Audit, CourseRecord, ResourceRecord, State};

use crate::support::readings::Setup;
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

/// The emulator, a file server it pulls uploads from, and a client, on one runtime of their
/// own so that the test thread can block on the binary while they serve.
struct Platform {
    emu: TestEmulator,
    rt: tokio::runtime::Runtime,
    files: String,
}

impl Platform {
    /// Audits wait for `finish_audits`.
    fn new(readings: &Readings, banned_words: &[&str]) -> Platform {
        Self::with_data(readings, banned_words, Duration::from_hours(1), None)
    }

    /// `data` persists the platform to a file.
    fn with_data(
        readings: &Readings,
        banned_words: &[&str],
        audit_delay: Duration,
        data: Option<PathBuf>,
    ) -> Platform {
        let mut cfg = TestEmulator::config();
        cfg.readings = readings.clone();
        cfg.audit_delay = audit_delay;
        cfg.banned_words = banned_words.iter().map(ToString::to_string).collect();
        cfg.data = data;
        let emu = TestEmulator::start(cfg);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let files = rt.block_on(file_server());
        Platform { emu, rt, files }
    }

    fn client(&self, check_type: Option<&str>) -> Client {
        Client::new(ClientConfig {
            product_base: self.emu.url(),
            token_base: self.emu.url(),
            role_base: self.emu.url(),
            appid: TEST_APPID.into(),
            access_token: None,
            app_secret: Some(Secret::new(TEST_SECRET)),
            concurrency: 4,
            max_qps: 1000.0,
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            check_type: check_type.map(String::from),
            facts: coursesync::platform::facts::KnownFacts::UNSETTLED,
        })
        .unwrap()
    }

    /// Uploads `path` of the file server; returns the uri without waiting.
    fn upload(&self, kind: i64, path: &str) -> String {
        let client = self.client(None);
        let url = format!("{}/{path}", self.files);
        self.rt
            .block_on(client.upload_resource(kind, &url, None))
            .unwrap()
            .uri
    }

    /// Polls until the upload of `uri` left status 1; returns where it ended.
    fn settled(&self, uri: &str) -> i64 {
        let client = self.client(None);
        self.rt.block_on(async {
            for _ in 0..1000 {
                let status = client.query_resource_status(uri).await.unwrap();
                if status != resource_status::UPLOADING {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("upload {uri} never settled");
        })
    }

    /// Adds a course titled `title` (its uploads finished first); returns the product id.
    fn add(&self, course_id: &str, title: &str) -> i64 {
        let cover = self.upload(resource_type::COVER, &format!("{course_id}/cover.jpg"));
        let lesson = self.upload(resource_type::VIDEO, &format!("{course_id}/01.mp4"));
        assert_eq!(self.settled(&cover), resource_status::DONE);
        assert_eq!(self.settled(&lesson), resource_status::DONE);
        let product = product(course_id, title, &cover, &lesson);
        let client = self.client(None);
        self.rt.block_on(client.add(&product)).unwrap().product_id
    }

    /// Sends a modify with a new title through a client that sends `check_type`.
    fn modify(&self, course_id: &str, product_id: i64, title: &str, check_type: Option<&str>) {
        let live = self
            .emu
            .product(product_id as u64)
            .unwrap()
            .on_shelf
            .unwrap();
        let mut product: wire::Product = serde_json::from_value(live.product.value()).unwrap();
        product.common_product_params.title = title.into();
        assert!(product.common_product_params.path_info_lst[0].query["course_id"] == course_id);
        let client = self.client(check_type);
        self.rt
            .block_on(client.modify(product_id, &product))
            .unwrap();
    }
}

/// Answers every path with a few bytes, `missing/...` with 404, `slow/...` never.
async fn file_server() -> String {
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::get(
            |axum::extract::Path(path): axum::extract::Path<String>| async move {
                if path.starts_with("missing/") {
                    return (
                        axum::http::StatusCode::NOT_FOUND,
                        "no such file".to_string(),
                    );
                }
                if path.starts_with("slow/") {
                    tokio::time::sleep(Duration::from_hours(1)).await;
                }
                (axum::http::StatusCode::OK, format!("bytes of {path}"))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn product(course_id: &str, title: &str, cover: &str, lesson: &str) -> wire::Product {
    wire::Product {
        common_product_params: wire::CommonProductParams {
            appid: TEST_APPID.into(),
            first_class: 10000,
            second_class: 10300,
            title: title.into(),
            purchase_precaution: "购买后可在「我的课程」中反复学习".into(),
            product_fulfillment_lst: vec![wire::Fulfillment {
                fulfillment_content: wire::FulfillmentContent {
                    fulfillment_uri: Some(lesson.into()),
                    name: "第一节".into(),
                    text: None,
                },
                fulfillment_type: 1,
            }],
            industry_type: 1,
            price_info: wire::PriceInfo {
                unit: "节".into(),
                price: 5000,
                real_price: Some(4900),
                ..wire::PriceInfo::default()
            },
            path_info_lst: vec![wire::PathInfo {
                path: "pages/course/detail".into(),
                query: BTreeMap::from([("course_id".into(), course_id.into())]),
            }],
            product_detail_lst: vec![wire::ProductDetail {
                text: Some("零基础".into()),
                ..wire::ProductDetail::default()
            }],
            product_img_uri: cover.into(),
            ..wire::CommonProductParams::default()
        },
        course_params: wire::CourseParams {
            teacher_id: Some("E_7283947392973".into()),
            course_num: 12,
            refund_label: Some(wire::RefundLabel {
                label_type: 1,
                day_before_use_info: Some(wire::DayBeforeUseInfo { day: 7 }),
                ..wire::RefundLabel::default()
            }),
            ..wire::CourseParams::default()
        },
    }
}

/// A project directory with `coursesync.toml` for `environment`.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(environment: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("coursesync.toml"),
            format!("[app]\nappid = \"{TEST_APPID}\"\nenvironment = \"{environment}\"\n"),
        )
        .unwrap();
        Repo { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn state_path(&self) -> PathBuf {
        self.root().join("state/coursesync.db")
    }

    fn state(&self) -> State {
        State::open(&self.state_path()).unwrap()
    }

    fn serial(&self) -> u64 {
        State::open_readonly(&self.state_path())
            .unwrap()
            .unwrap()
            .serial()
    }

    fn course(&self, course_id: &str) -> CourseRecord {
        self.state().course(course_id).unwrap().unwrap()
    }

    /// Runs the binary; with `base_url`, pointed at it with the test secret.
    fn run(&self, base_url: Option<&str>, args: &[&str]) -> Output {
        match base_url {
            Some(url) => self.run_with(url, TEST_SECRET, args),
            None => self.run_env(&[], args),
        }
    }

    fn run_with(&self, base_url: &str, secret: &str, args: &[&str]) -> Output {
        self.run_env(
            &[
                ("COURSESYNC_BASE_URL", base_url),
                ("COURSESYNC_APP_SECRET", secret),
            ],
            args,
        )
    }

    /// Runs the binary with only the given COURSESYNC_* variables; checks that no secret shows.
    fn run_env(&self, vars: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
        cmd.current_dir(self.root()).args(args).env("NO_COLOR", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("COURSESYNC_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(vars.iter().copied());
        let out = cmd.output().unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        for (key, value) in vars {
            if *key == "COURSESYNC_APP_SECRET" {
                assert!(!all.contains(value), "the secret leaked: {all}");
            }
        }
        // Emulator tokens start with this (platform-api.md §2.2 sample shape).
        assert!(!all.contains("0801121846"), "a token leaked: {all}");
        out
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, base_url: Option<&str>, args: &[&str]) -> String {
        let out = self.run(base_url, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn status_json(&self) -> Value {
        serde_json::from_str(&self.ok(None, &["status", "--format", "json"])).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The promises, for what this suite puts on the platform: per course_id at most one live or
/// in-review product (0 duplicates), and state records that product (0 lost ids). (False drift
/// is checked by the suites whose state comes from a real apply; the records here are made by
/// hand.)
fn assert_promises(platform: &Platform, repo: &Repo) {
    let mut live: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for p in platform.emu.products().into_iter().filter(|p| !p.dead) {
        live.entry(p.course_id).or_default().push(p.product_id);
    }
    let state = repo.state();
    for (course_id, ids) in live {
        assert_eq!(ids.len(), 1, "duplicate products for {course_id}: {ids:?}");
        assert_eq!(
            state.course(&course_id).unwrap().and_then(|c| c.product_id),
            Some(ids[0] as i64),
            "product of {course_id} lost"
        );
    }
}

/// The record apply writes after a successful add (in review, not yet listed).
fn added(course_id: &str, title: &str, product_id: i64) -> CourseRecord {
    CourseRecord {
        course_id: course_id.into(),
        title: title.into(),
        product_id: Some(product_id),
        audit: Audit::InReview,
        reject_reason: None,
        listed: false,
        payload: Some(format!(r#"{{"title":"{title}"}}"#)),
        payload_hash: Some(format!("hash-{title}")),
        approved_payload: None,
        approved_hash: None,
        first_applied_at: Some(1_700_000_000_000),
        last_applied_at: Some(1_700_000_000_000),
        updated_at: 1_700_000_000_000,
        lesson_audits: None,
    }
}

fn approval_is_recorded_listed_and_shown_by_status(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let url = platform.emu.url();
    let repo = Repo::new("sandbox");
    let product_id = platform.add("py-101", "Python 入门教程");
    repo.state()
        .put_course(&added("py-101", "Python 入门教程", product_id))
        .unwrap();
    let serial = repo.serial();

    // Still in review: nothing is written.
    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(out, "Nothing changed.\n1 course(s) still in review.\n");
    assert_eq!(repo.serial(), serial);
    assert_eq!(repo.course("py-101").audit, Audit::InReview);

    assert_eq!(platform.emu.finish_audits(), 1);
    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(out, "py-101: in review → approved (now listed)\n");
    assert_eq!(repo.serial(), serial + 1);
    let record = repo.course("py-101");
    assert_eq!(record.audit, Audit::Approved);
    assert!(record.listed);
    assert_eq!(record.approved_hash, record.payload_hash);
    assert_eq!(record.approved_payload, record.payload);
    assert_eq!(record.reject_reason, None);
    let lessons: Value = serde_json::from_str(record.lesson_audits.as_deref().unwrap()).unwrap();
    assert_eq!(lessons[0]["status"], "approved");
    assert!(lessons[0]["uri"].is_string(), "{lessons}");

    let status = repo.status_json();
    assert_eq!(
        status,
        serde_json::json!({"format_version": 1, "courses": [{
            "course_id": "py-101",
            "title": "Python 入门教程",
            "product_id": product_id,
            "audit": "approved",
            "reject_reason": null,
            "listed": true,
            "last_applied": "2023-11-14T22:13:20Z",
        }]})
    );

    // Nothing new: no write (a saved plan stays fresh). The approved course is still asked
    // about, so an out-of-band re-audit would be seen.
    let reviews = platform.emu.count("query_review");
    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(out, "Nothing changed.\n");
    assert_eq!(repo.serial(), serial + 1);
    assert_eq!(platform.emu.count("query_review"), reviews + 1);

    // Neither the secret nor a token reached the state files (database, WAL).
    for entry in std::fs::read_dir(repo.root().join("state")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let bytes = String::from_utf8_lossy(&bytes);
        assert!(!bytes.contains(TEST_SECRET) && !bytes.contains("0801121846"));
    }
    assert_promises(&platform, &repo);
}

fn rejections_of_an_add_and_of_a_modify_carry_readable_reasons(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &["违禁"]);
    let url = platform.emu.url();
    let repo = Repo::new("production");

    // go-basics: the first add is rejected for a banned word in the title.
    let go = platform.add("go-basics", "Go 违禁 基础");
    // py-101: approved and live, then a modify rejected by the sandbox header.
    let py = platform.add("py-101", "Python 入门教程");
    platform.emu.finish_audits();
    platform.modify("py-101", py, "Python 入门教程 第二版", Some("REJECT"));
    let mut py_record = added("py-101", "Python 入门教程 第二版", py);
    py_record.listed = true;
    py_record.approved_payload = Some(r#"{"title":"Python 入门教程"}"#.into());
    py_record.approved_hash = Some("hash-v1".into());
    repo.state()
        .put_courses(&[added("go-basics", "Go 违禁 基础", go), py_record])
        .unwrap();
    platform.emu.finish_audits();
    let serial = repo.serial();

    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(
        out,
        "go-basics: in review → rejected: 禁入课程:标题含违禁词「违禁」 (position: 标题)\n\
         py-101: in review → rejected: 审核拒绝: Aweme-Check-Type: REJECT (position: 标题)\n"
    );
    assert_eq!(repo.serial(), serial + 1, "both updates in one transaction");

    let go_record = repo.course("go-basics");
    assert_eq!(go_record.audit, Audit::Rejected);
    assert!(!go_record.listed);
    assert_eq!(go_record.approved_hash, None);
    // The approved version stays live and listed while the modify is rejected.
    let py_record = repo.course("py-101");
    assert_eq!(py_record.audit, Audit::Rejected);
    assert!(py_record.listed);
    assert_eq!(py_record.approved_hash.as_deref(), Some("hash-v1"));

    let status = repo.status_json();
    let courses = status["courses"].as_array().unwrap();
    let ids: Vec<&str> = courses
        .iter()
        .map(|c| c["course_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["go-basics", "py-101"]);
    assert_eq!(courses[0]["audit"], "rejected");
    assert_eq!(
        courses[0]["reject_reason"],
        "禁入课程:标题含违禁词「违禁」 (position: 标题)"
    );
    assert_eq!(courses[1]["listed"], true);

    let human = repo.ok(None, &["status"]);
    let lines: Vec<&str> = human.lines().collect();
    assert!(lines[0].starts_with("COURSE_ID  TITLE"), "{human}");
    assert!(lines[1].starts_with("go-basics  Go 违禁 基础"), "{human}");
    assert!(lines[1].contains("rejected"), "{human}");
    assert_eq!(
        lines[2],
        "  ↳ rejected: 禁入课程:标题含违禁词「违禁」 (position: 标题)"
    );
    assert!(lines[3].starts_with("py-101 "), "{human}");
    // The columns line up (display width, a CJK character counts 2): AUDIT starts at the same
    // column in every row.
    let column = |l: &str, marker: &str| UnicodeWidthStr::width(&l[..l.find(marker).unwrap()]);
    assert_eq!(column(lines[0], "AUDIT"), column(lines[1], "rejected"));
    assert_eq!(column(lines[0], "AUDIT"), column(lines[3], "rejected"));
    assert_eq!(
        lines.last().unwrap(),
        &"2 course(s): 0 approved, 0 in review, 2 rejected, 0 not submitted"
    );

    // A rejected course is not asked about again; nothing is written.
    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(out, "Nothing changed.\n");
    assert_eq!(repo.serial(), serial + 1);
    assert_promises(&platform, &repo);
}

fn pending_uploads_become_done_or_failed_or_stay(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let url = platform.emu.url();
    let repo = Repo::new("sandbox");
    let done = platform.upload(resource_type::VIDEO, "py-101/01.mp4");
    let failed = platform.upload(resource_type::IMAGE, "missing/d.png");
    let slow = platform.upload(resource_type::COVER, "slow/cover.jpg");
    assert_eq!(platform.settled(&done), resource_status::DONE);
    assert_eq!(platform.settled(&failed), resource_status::FAILED);
    // As apply leaves them: recorded right after upload_resource, status 1.
    let state = repo.state();
    for (sha, kind, uri, path) in [
        ("aa", resource_type::VIDEO, &done, "py-101/01.mp4"),
        ("bb", resource_type::IMAGE, &failed, "missing/d.png"),
        ("cc", resource_type::COVER, &slow, "slow/cover.jpg"),
    ] {
        state
            .put_resource(&ResourceRecord {
                sha256: sha.into(),
                resource_type: kind,
                uri: uri.clone(),
                status: resource_status::UPLOADING,
                url: format!("{}/{path}", platform.files),
                updated_at: 1,
            })
            .unwrap();
    }
    drop(state);

    let out = repo.ok(Some(&url), &["refresh"]);
    let files = &platform.files;
    assert_eq!(
        out,
        format!(
            "upload {done} ({files}/py-101/01.mp4): uploading → done\n\
             upload {failed} ({files}/missing/d.png): uploading → failed\n\
             1 upload(s) still in progress.\n"
        )
    );
    let resources = repo.state().resources().unwrap();
    assert_eq!(resources[&("aa".into(), resource_type::VIDEO)].status, 2);
    assert_eq!(resources[&("bb".into(), resource_type::IMAGE)].status, 3);
    assert_eq!(resources[&("cc".into(), resource_type::COVER)].status, 1);

    let serial = repo.serial();
    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(out, "Nothing changed.\n1 upload(s) still in progress.\n");
    assert_eq!(repo.serial(), serial);
    assert_promises(&platform, &repo);
}

fn without_a_state_file_status_is_empty_and_refresh_only_authenticates(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let url = platform.emu.url();
    let repo = Repo::new("sandbox");
    assert_eq!(
        repo.status_json(),
        serde_json::json!({"format_version": 1, "courses": []})
    );
    assert_eq!(repo.ok(None, &["status"]), "No courses in the state yet.\n");
    // Nothing to ask about, but the credentials are checked: one token exchange, nothing else.
    let out = repo.ok(Some(&url), &["refresh"]);
    assert!(out.ends_with("Nothing changed.\n"), "{out}");
    assert_eq!(platform.emu.count("token"), 1);
    assert_eq!(platform.emu.calls().len(), 1, "{:?}", platform.emu.calls());
    assert!(!repo.state_path().exists());
    assert!(!repo.root().join("state").exists());

    // A wrong secret fails the scheduled refresh even so, and says what to check.
    let out = repo.run_with(&url, "wrong-secret-81aa", &["refresh"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("40017") && err.contains("hint: check COURSESYNC_APP_SECRET"),
        "{err}"
    );
    // No credentials at all: the same, naming the variables.
    let out = repo.run(None, &["refresh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("COURSESYNC_APP_SECRET"));
    assert!(!repo.root().join("state").exists());
}

fn refresh_with_nothing_pending_still_fails_on_a_wrong_secret(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &["违禁"]);
    let repo = Repo::new("sandbox");
    // Only a dead product (a rejected first add): nothing to ask about.
    let go = platform.add("go-basics", "Go 违禁 基础");
    platform.emu.finish_audits();
    let mut record = added("go-basics", "Go 违禁 基础", go);
    record.audit = Audit::Rejected;
    repo.state().put_course(&record).unwrap();
    let serial = repo.serial();
    let out = repo.run_with(&platform.emu.url(), "wrong-secret-93bd", &["refresh"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("40017"), "{}", text(&out.stderr));
    assert_eq!(repo.serial(), serial);
    // With the right secret: authenticated, and the dead id is not asked about.
    let out = repo.ok(Some(&platform.emu.url()), &["refresh"]);
    assert_eq!(out, "Nothing changed.\n");
    assert_eq!(platform.emu.count("query_review"), 0);
}

fn an_out_of_band_re_audit_of_an_approved_course_is_recorded(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let url = platform.emu.url();
    let repo = Repo::new("sandbox");
    let py = platform.add("py-101", "Python 入门教程");
    repo.state()
        .put_course(&added("py-101", "Python 入门教程", py))
        .unwrap();
    platform.emu.finish_audits();
    assert_eq!(
        repo.ok(Some(&url), &["refresh"]),
        "py-101: in review → approved (now listed)\n"
    );
    let approved = repo.course("py-101");

    // Someone edits the course in the console; the platform re-audits and rejects it.
    platform.modify("py-101", py, "Python 入门教程（控制台改）", Some("REJECT"));
    platform.emu.finish_audits();
    let out = repo.ok(Some(&url), &["refresh"]);
    assert_eq!(
        out,
        "py-101: approved → rejected: 审核拒绝: Aweme-Check-Type: REJECT (position: 标题)\n"
    );
    let record = repo.course("py-101");
    assert_eq!(record.audit, Audit::Rejected);
    // The approved version stays live and listed; what coursesync sent is unchanged.
    assert!(record.listed);
    assert_eq!(record.approved_hash, approved.approved_hash);
    assert_eq!(record.payload_hash, approved.payload_hash);
    // Asked again, the same answer changes nothing.
    let serial = repo.serial();
    assert_eq!(repo.ok(Some(&url), &["refresh"]), "Nothing changed.\n");
    assert_eq!(repo.serial(), serial);
}

fn refresh_asks_about_every_live_product_in_batches_of_500(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let repo = Repo::new("sandbox");
    // 1,001 live products (approved, in review, a rejected modify) and one dead id.
    let mut records: Vec<CourseRecord> = (0..1001)
        .map(|i| {
            let mut r = added(&format!("c{i:04}"), "课程", 10_000 + i);
            match i % 3 {
                0 => r.audit = Audit::Approved,
                1 => {}
                _ => {
                    r.audit = Audit::Rejected;
                    r.approved_hash = Some("h".into());
                }
            }
            r
        })
        .collect();
    let mut dead = added("dead", "课程", 99);
    dead.audit = Audit::Rejected;
    records.push(dead);
    repo.state().put_courses(&records).unwrap();
    let out = repo.ok(Some(&platform.emu.url()), &["refresh"]);
    assert!(out.contains("no audit for product 11000"), "{out}");
    assert!(!out.contains("product 99\n"), "{out}");
    assert_eq!(platform.emu.count("query_review"), 3);
    assert_eq!(platform.emu.count("token"), 1);
}

#[test]
fn local_environment_refreshes_against_the_in_process_platform() {
    let repo = Repo::new("local");
    let data = repo.root().join("state/local-platform.db");
    std::fs::create_dir_all(data.parent().unwrap()).unwrap();
    // A course added to the local platform by an earlier run that ended before (or just as) its
    // audit fell due; the platform's data outlives that run.
    let product_id = {
        let platform = Platform::with_data(
            &Readings::default(),
            &[],
            Duration::from_millis(1),
            Some(data.clone()),
        );
        platform.add("py-101", "Python 入门教程")
    };
    repo.state()
        .put_course(&added("py-101", "Python 入门教程", product_id))
        .unwrap();
    // No base URL, no secret: refresh starts the local platform on that data itself.
    let out = repo.ok(None, &["refresh"]);
    assert_eq!(out, "py-101: in review → approved (now listed)\n");
    assert_eq!(repo.course("py-101").audit, Audit::Approved);
}

fn refresh_with_a_refused_secret_fails_and_keeps_the_state(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let repo = Repo::new("sandbox");
    let product_id = platform.add("py-101", "Python 入门教程");
    repo.state()
        .put_course(&added("py-101", "Python 入门教程", product_id))
        .unwrap();
    platform.emu.finish_audits();
    let serial = repo.serial();
    let out = repo.run_with(&platform.emu.url(), "wrong-secret-5f2c", &["refresh"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(text(&out.stdout), "");
    assert_eq!(repo.serial(), serial);
    assert_eq!(repo.course("py-101").audit, Audit::InReview);
    assert!(
        repo.state().lock_holder().unwrap().is_none(),
        "the lock was released"
    );
    assert_promises(&platform, &repo);
}

fn a_product_the_platform_does_not_know_is_a_warning_not_a_change(setup: &Setup) {
    let platform = Platform::new(&setup.readings, &[]);
    let repo = Repo::new("sandbox");
    repo.state()
        .put_course(&added("py-101", "Python 入门教程", 42))
        .unwrap();
    let serial = repo.serial();
    let out = repo.ok(Some(&platform.emu.url()), &["refresh"]);
    assert_eq!(
        out,
        "warning: py-101: the platform returned no audit for product 42\nNothing changed.\n"
    );
    assert_eq!(repo.serial(), serial);
    assert_promises(&platform, &repo);
}

#[test]
fn refresh_waits_for_no_one_while_another_command_holds_the_lock() {
    let platform = Platform::new(&Readings::default(), &[]);
    let repo = Repo::new("sandbox");
    let state = repo.state();
    state
        .put_course(&added("py-101", "Python 入门教程", 42))
        .unwrap();
    // This test process is alive, so its lock is not stale.
    let guard = state.lock("apply").unwrap();
    let out = repo.run(Some(&platform.emu.url()), &["refresh"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "the state is locked by pid {}",
            std::process::id()
        )) && err.contains("running `apply`"),
        "{err}"
    );
    assert_eq!(platform.emu.count("query_review"), 0);
    drop(guard);
}

// Refresh reads `query_review` (its status is confirmed, platform-api.md §5.6); what the readings
// change under it is the token (`token=revoked`: every client here fetches its own) and the
// platform around it. The documents' readings and all four hostile ones at once.
crate::support::matrix! {
    approval_is_recorded_listed_and_shown_by_status: [default, hostile];
    rejections_of_an_add_and_of_a_modify_carry_readable_reasons: [default, hostile];
    pending_uploads_become_done_or_failed_or_stay: [default, hostile];
    refresh_with_a_refused_secret_fails_and_keeps_the_state: [default, hostile];
    a_product_the_platform_does_not_know_is_a_warning_not_a_change: [default, hostile];
    without_a_state_file_status_is_empty_and_refresh_only_authenticates: [default, hostile];
    refresh_with_nothing_pending_still_fails_on_a_wrong_secret: [default, hostile];
    an_out_of_band_re_audit_of_an_approved_course_is_recorded: [default, hostile];
    refresh_asks_about_every_live_product_in_batches_of_500: [default, hostile];
}
