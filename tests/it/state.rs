//! `coursesync state ...` and the state lock, through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use coursesync::state::{Audit, CourseRecord, State};

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("coursesync.toml"),
            "[app]\nappid = \"tt11fd1220e13bba1234\"\n",
        )
        .unwrap();
        Repo { dir }
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("state").join("coursesync.db")
    }

    fn state(&self) -> State {
        State::open(&self.state_path()).unwrap()
    }

    /// Runs the binary with stdin from /dev/null (not a terminal).
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_coursesync"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("COURSESYNC_CONFIG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn course(id: &str, product_id: Option<i64>) -> CourseRecord {
    CourseRecord {
        course_id: id.into(),
        title: format!("课程 {id}"),
        product_id,
        audit: if product_id.is_some() {
            Audit::Rejected
        } else {
            Audit::NotSubmitted
        },
        reject_reason: product_id.map(|_| "课程价格不合理".into()),
        listed: product_id.is_some(),
        payload: Some(r#"{"title":"Python 入门","price":{"price":5000}}"#.into()),
        payload_hash: Some("ab".repeat(32)),
        approved_payload: None,
        approved_hash: None,
        first_applied_at: Some(1_700_000_000_000),
        last_applied_at: product_id.map(|_| 1_700_000_123_000),
        updated_at: 1_700_000_123_000,
        lesson_audits: None,
    }
}

fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn plant_lock(path: &Path, pid: u32, host: &str, command: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "INSERT OR REPLACE INTO lock (id, pid, host, started_at, command, token) \
             VALUES (1, ?1, ?2, ?3, ?4, 'planted')",
            rusqlite::params![pid, host, 1_700_000_000_000_i64, command],
        )
        .unwrap();
}

fn host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

#[test]
fn list_without_state_says_so_and_creates_nothing() {
    let repo = Repo::new();
    let out = repo.run(&["state", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("no state yet"),
        "{}",
        text(&out.stdout)
    );
    assert!(!repo.state_path().exists());
    assert!(!repo.dir.path().join("state").exists());
}

#[test]
fn list_shows_a_table_and_json() {
    let repo = Repo::new();
    repo.state()
        .put_courses(&[course("py-101", Some(7_301)), course("go-201", None)])
        .unwrap();
    let out = repo.run(&["state", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("COURSE_ID"), "{stdout}");
    assert!(
        lines[1].starts_with("go-201 ") && lines[1].contains("not_submitted"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("py-101 ")
            && lines[2].contains("7301")
            && lines[2].contains("rejected")
            && lines[2].contains("2023-11-14T22:15:23Z"),
        "{stdout}"
    );

    let out = repo.run(&["state", "list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    let py = &doc["courses"][1];
    assert_eq!(py["course_id"], "py-101");
    assert_eq!(py["product_id"], 7301);
    assert_eq!(py["audit"], "rejected");
    assert_eq!(py["reject_reason"], "课程价格不合理");
    assert_eq!(py["listed"], true);
    assert_eq!(py["last_applied"], "2023-11-14T22:15:23Z");
    assert_eq!(doc["courses"][0]["product_id"], serde_json::Value::Null);
}

#[test]
fn show_prints_every_field_with_pretty_payload() {
    let repo = Repo::new();
    repo.state()
        .put_course(&course("py-101", Some(7_301)))
        .unwrap();
    let out = repo.run(&["state", "show", "py-101"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "course_id:        py-101",
        "product_id:       7301",
        "audit:            rejected",
        "reject_reason:    课程价格不合理",
        "first_applied_at: 2023-11-14T22:13:20Z",
        "payload:\n{\n  \"price\": {\n    \"price\": 5000\n  },\n  \"title\": \"Python 入门\"\n}",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
}

#[test]
fn show_and_rm_of_unknown_course_or_missing_state_exit_1() {
    let repo = Repo::new();
    for args in [
        &["state", "show", "py-101"][..],
        &["state", "rm", "py-101", "--yes"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("no state yet"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(!repo.state_path().exists());
    repo.state().put_course(&course("go-201", None)).unwrap();
    let out = repo.run(&["state", "show", "py-101"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("course \"py-101\" is not in the state"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rm_refuses_without_yes_off_a_terminal_and_removes_with_it() {
    let repo = Repo::new();
    let state = repo.state();
    state.put_course(&course("py-101", Some(7_301))).unwrap();
    let out = repo.run(&["state", "rm", "py-101"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stdin is not a terminal"),
        "{}",
        text(&out.stderr)
    );
    assert!(state.course("py-101").unwrap().is_some());

    let out = repo.run(&["state", "rm", "py-101", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("platform is untouched") && stdout.contains("product 7301"),
        "{stdout}"
    );
    assert!(state.course("py-101").unwrap().is_none());
    assert_eq!(state.lock_holder().unwrap(), None, "rm released its lock");
}

#[test]
fn a_second_process_fails_fast_naming_the_lock_holder() {
    let repo = Repo::new();
    let state = repo.state();
    state.put_course(&course("py-101", Some(7_301))).unwrap();
    let guard = state.lock("apply --auto-approve").unwrap();
    let out = repo.run(&["state", "rm", "py-101", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for expected in [
        format!("pid {}", std::process::id()),
        format!("on {}", host()),
        coursesync::state::format_ms(guard.holder().started_at),
        "`apply --auto-approve`".to_string(),
        "coursesync state unlock".to_string(),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
    assert!(state.course("py-101").unwrap().is_some());
    drop(guard);
    let out = repo.run(&["state", "rm", "py-101", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_lock_left_by_a_dead_process_is_taken_over_with_a_warning() {
    let repo = Repo::new();
    let state = repo.state();
    state.put_course(&course("py-101", Some(7_301))).unwrap();
    let pid = dead_pid();
    plant_lock(&repo.state_path(), pid, &host(), "apply");
    let out = repo.run(&["state", "rm", "py-101", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("took over a stale lock") && stderr.contains(&format!("pid {pid}")),
        "{stderr}"
    );
    assert_eq!(state.lock_holder().unwrap(), None);
}

#[test]
fn unlock_shows_the_holder_and_needs_yes() {
    let repo = Repo::new();
    let state = repo.state();
    let out = repo.run(&["state", "unlock", "--yes"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("not locked"));

    plant_lock(&repo.state_path(), 4242, "ci-runner-7", "apply");
    let out = repo.run(&["state", "unlock"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(state.lock_holder().unwrap().is_some());

    let out = repo.run(&["state", "unlock", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("pid 4242 on ci-runner-7") && stdout.contains("2023-11-14T22:13:20Z"),
        "{stdout}"
    );
    assert_eq!(state.lock_holder().unwrap(), None);
}

#[test]
fn a_foreign_file_is_refused_by_every_state_command() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.state_path().parent().unwrap()).unwrap();
    std::fs::write(
        repo.state_path(),
        "not a database at all, just some text\n".repeat(20),
    )
    .unwrap();
    for args in [
        &["state", "list"][..],
        &["state", "show", "x"],
        &["state", "unlock", "--yes"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains("is not a coursesync state file (not an SQLite database)"),
            "{}",
            text(&out.stderr)
        );
    }
}
