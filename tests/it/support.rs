//! Shared test helpers: temporary project directories and running the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A temporary project: `coursesync.toml` plus `catalog/` with the fixture assets copied in.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("coursesync.toml"),
            "[app]\nappid = \"tt_test_app\"\nenvironment = \"local\"\n",
        )
        .unwrap();
        let assets = dir.path().join("catalog/assets");
        std::fs::create_dir_all(&assets).unwrap();
        for entry in std::fs::read_dir(fixtures().join("assets")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), assets.join(entry.file_name())).unwrap();
        }
        Project { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn catalog(&self) -> PathBuf {
        self.root().join("catalog")
    }

    /// Writes a course file at `rel` below the catalog directory.
    pub fn course(&self, rel: &str, text: &str) -> &Project {
        let path = self.catalog().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn load(&self) -> coursesync::catalog::Loaded {
        coursesync::catalog::load(&self.catalog(), self.root()).unwrap()
    }

    /// Runs the real binary in the project directory.
    pub fn run(&self, args: &[&str]) -> Output {
        coursesync(self.root(), args)
    }
}

/// Runs the real `coursesync` binary in `dir` with no COURSESYNC_* variables from outside.
pub fn coursesync(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars() {
        if key.starts_with("COURSESYNC_") {
            cmd.env_remove(key);
        }
    }
    cmd.output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Serves a directory over HTTP on 127.0.0.1 from its own thread (the files the platform pulls).
pub struct FileServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    pub fn start(dir: &Path) -> FileServer {
        let dir = dir.to_path_buf();
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                url_tx
                    .send(format!("http://{}/", listener.local_addr().unwrap()))
                    .unwrap();
                let app =
                    axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FileServer {
            url: url_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Ends with `/`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A project applied against a real emulator over HTTP: the emulator in this process, the
/// catalog served by a [`FileServer`], the real binary pointed at both by environment variables.
pub struct Remote {
    pub project: Project,
    pub emulator: coursesync::emulator::testing::TestEmulator,
    #[allow(dead_code, reason = "held so the server lives as long as the project")]
    pub files: FileServer,
}

impl Remote {
    pub fn new() -> Remote {
        Remote::with(coursesync::emulator::testing::TestEmulator::config(), "")
    }

    /// `extra` is appended to coursesync.toml's `[apply]` table.
    pub fn with(config: coursesync::emulator::Config, extra: &str) -> Remote {
        let project = Project::new();
        let emulator = coursesync::emulator::testing::TestEmulator::start(config);
        let files = FileServer::start(&project.catalog());
        std::fs::write(
            project.root().join("coursesync.toml"),
            format!(
                "[app]\nappid = \"{}\"\nenvironment = \"sandbox\"\n\n[catalog]\nassets_base_url = \"{}\"\n\n[apply]\nconcurrency = 8\nmax_qps = 1000\nupload_timeout = 60\n{extra}\n",
                coursesync::emulator::testing::TEST_APPID,
                files.url()
            ),
        )
        .unwrap();
        Remote {
            project,
            emulator,
            files,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coursesync"));
        cmd.current_dir(self.project.root())
            .args(args)
            .env("NO_COLOR", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("COURSESYNC_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("COURSESYNC_BASE_URL", self.emulator.url()).env(
            "COURSESYNC_APP_SECRET",
            coursesync::emulator::testing::TEST_SECRET,
        );
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn course(&self, rel: &str, text: &str) -> &Remote {
        self.project.course(rel, text);
        self
    }

    pub fn state(&self) -> coursesync::state::State {
        coursesync::state::State::open(&self.project.root().join("state/coursesync.db")).unwrap()
    }

    /// Writes `platform-facts.toml` beside the settings file with `facts` settled.
    pub fn set_facts(&self, facts: &coursesync::platform::facts::KnownFacts) -> &Remote {
        use coursesync::platform::facts::known;
        let recorded: Vec<known::Recorded> = facts
            .settled()
            .into_iter()
            .map(|(fact, value)| known::Recorded {
                fact,
                value,
                note: "set by the test".into(),
            })
            .collect();
        known::write_file(&self.project.root().join(known::FILE_NAME), &recorded).unwrap();
        self
    }

    /// Writes `platform-facts.toml` settling every open fact as this emulator reads it.
    pub fn facts_as_emulator(&self) -> &Remote {
        self.set_facts(&coursesync::local::facts_of(self.emulator.readings()))
    }
}

/// The valid base course with another course_id.
pub fn base_course(id: &str) -> String {
    std::fs::read_to_string(fixtures().join("base.toml"))
        .unwrap()
        .replace("base-course", id)
}

/// The cells of the test matrix ([`matrix!`]): how the emulator answers the platform facts the
/// documents leave open (`coursesync::emulator::readings`), and whether the client knows it.
pub mod readings {
    use coursesync::emulator::Readings;
    use coursesync::emulator::readings::StatusField;

    /// One cell: the emulator's readings, and whether `platform-facts.toml` settles every open
    /// fact as the emulator reads it (`probed`, as `probe --write` leaves it) or is absent (every
    /// fact unsettled: the client takes the safe readings).
    #[derive(Clone, Debug)]
    pub struct Setup {
        pub readings: Readings,
        pub probed: bool,
    }

    impl Setup {
        /// The client may read listing from `query` (known to mean it).
        pub fn listing_reported(&self) -> bool {
            self.probed && self.readings.status_field == StatusField::Listing
        }

        /// The client may send an add again after a lost answer (known to be deduplicated).
        pub fn dedupe_known(&self) -> bool {
            self.probed && self.readings.add_dedupe
        }
    }

    impl std::fmt::Display for Setup {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let facts = if self.probed { "probed" } else { "unsettled" };
            write!(f, "{}; facts {facts}", self.readings)
        }
    }

    fn of(args: &[&str]) -> Setup {
        Setup {
            readings: Readings::parse(args).expect("valid readings"),
            probed: false,
        }
    }

    fn probed(mut setup: Setup) -> Setup {
        setup.probed = true;
        setup
    }

    /// The documents' reading (the emulator's defaults); no facts file.
    pub fn default() -> Setup {
        of(&[])
    }

    /// Every open fact the matrix covers read the other way, at once; no facts file.
    pub fn hostile() -> Setup {
        of(&[
            "add-dedupe=no",
            "status-field=audit",
            "query-echo=sparse",
            "token=revoked",
        ])
    }

    /// The defaults, with platform-facts.toml saying so (as `probe --write` would).
    pub fn default_probed() -> Setup {
        probed(default())
    }

    /// The hostile readings, with platform-facts.toml saying so.
    pub fn hostile_probed() -> Setup {
        probed(hostile())
    }

    /// A repeated add makes a second product.
    pub fn no_dedupe() -> Setup {
        of(&["add-dedupe=no"])
    }

    /// `product_status.status` of the live version is its audit status.
    pub fn audit_status() -> Setup {
        of(&["status-field=audit"])
    }

    /// `query` echoes only some of what was sent.
    pub fn sparse_echo() -> Setup {
        of(&["query-echo=sparse"])
    }

    /// A new token ends the older ones at once.
    pub fn revoked_token() -> Setup {
        of(&["token=revoked"])
    }

    /// `modify_status` lists with 2 and delists with 1; audio, pdf and office are 6, 7, 8.
    pub fn swapped_codes() -> Setup {
        of(&["modify-status=2/1", "resource-types=6/7/8"])
    }

    /// `modify_status` delists with 0: the documents' 2 is refused.
    pub fn refused_delist() -> Setup {
        of(&["modify-status=1/0"])
    }
}

/// One test body, many readings: `matrix! { body: [default, hostile]; }` makes a module `body`
/// with one `#[test]` per cell (`body::default`, `body::hostile`), each calling `body(&setup)`
/// with the [`readings::Setup`] of that name.
macro_rules! matrix {
    ($($body:ident: [$($set:ident),+ $(,)?];)+) => {
        $(
            mod $body {
                $(
                    #[test]
                    fn $set() {
                        super::$body(&crate::support::readings::$set());
                    }
                )+
            }
        )+
    };
}
pub(crate) use matrix;

impl Remote {
    /// A project on an emulator answering with `setup`'s readings (the default test
    /// configuration otherwise), with `platform-facts.toml` when the setup is probed; `extra` is
    /// appended to `[apply]`.
    pub fn on(setup: &readings::Setup, extra: &str) -> Remote {
        let mut config = coursesync::emulator::testing::TestEmulator::config();
        config.readings = setup.readings.clone();
        Remote::with_setup(config, setup, extra)
    }

    /// [`Remote::with`] `config` under `setup`: its readings replace the config's, and a probed
    /// setup writes `platform-facts.toml`.
    pub fn with_setup(
        mut config: coursesync::emulator::Config,
        setup: &readings::Setup,
        extra: &str,
    ) -> Remote {
        config.readings = setup.readings.clone();
        let r = Remote::with(config, extra);
        if setup.probed {
            r.facts_as_emulator();
        }
        r
    }

    /// `status --format json`'s courses.
    pub fn status_json(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["status", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        doc["courses"].as_array().cloned().unwrap_or_default()
    }

    /// The course_ids state holds as `unknown_outcome` (an add whose answer was lost).
    pub fn unknown_outcomes(&self) -> Vec<String> {
        self.status_json()
            .iter()
            .filter(|c| c["audit"] == "unknown_outcome")
            .filter_map(|c| c["course_id"].as_str().map(str::to_owned))
            .collect()
    }

    /// The products on the platform for `course_id` that are alive (in review or approved).
    pub fn live_products(&self, course_id: &str) -> Vec<u64> {
        self.emulator
            .products()
            .into_iter()
            .filter(|p| p.course_id == course_id && !p.dead)
            .map(|p| p.product_id)
            .collect()
    }

    /// Broken promises for the course_ids of `ids`: (duplicates, lost). A duplicate is a second
    /// live or in-review product for one course_id; a lost id is a live or in-review product
    /// that state does not record, while the course is not held as `unknown_outcome`.
    pub fn broken_promises(
        &self,
        ids: &std::collections::BTreeSet<String>,
    ) -> (Vec<String>, Vec<String>) {
        let held = self.unknown_outcomes();
        let state = self.state();
        let (mut duplicates, mut lost) = (Vec::new(), Vec::new());
        for id in ids {
            let live = self.live_products(id);
            if live.len() > 1 {
                duplicates.push(format!("{id}: products {live:?}"));
            }
            let recorded = state.course(id).unwrap().and_then(|c| c.product_id);
            for product in &live {
                if recorded != Some(*product as i64) && !held.contains(id) {
                    lost.push(format!("{id}: product {product}, state has {recorded:?}"));
                }
            }
        }
        (duplicates, lost)
    }

    /// The promises every matrix run checks, for each course_id of `ids`: at most one live or
    /// in-review product on the platform (0 duplicates), and that product is the one state
    /// records, or the course is held as `unknown_outcome` awaiting import (0 lost ids).
    pub fn assert_no_duplicate_no_lost(&self, ids: &std::collections::BTreeSet<String>) {
        let (duplicates, lost) = self.broken_promises(ids);
        assert!(duplicates.is_empty(), "duplicate products: {duplicates:?}");
        assert!(lost.is_empty(), "lost product ids: {lost:?}");
    }

    /// Runs `apply --auto-approve` until it exits 0 (at most `max` runs), resolving every course
    /// held as `unknown_outcome` the way a user would: `import --product-id N` of the product the
    /// platform has for its course_id (found in the console), or `apply --resend COURSE_ID` when
    /// it has none. Checks the promises of `ids` after every run.
    pub fn converge(&self, ids: &std::collections::BTreeSet<String>, max: usize) -> Converged {
        let mut done = Converged::default();
        let mut outs = Vec::new();
        for _ in 0..max {
            let out = self.run(&["apply", "--auto-approve"]);
            done.runs += 1;
            done.stderr.push_str(&stderr(&out));
            self.assert_no_duplicate_no_lost(ids);
            let ok = out.status.code() == Some(0);
            outs.push(show(&out));
            if ok {
                return done;
            }
            for course_id in self.unknown_outcomes() {
                let live = self.live_products(&course_id);
                let resolved = match live.as_slice() {
                    [product] => {
                        done.imports += 1;
                        self.run(&["import", "--product-id", &product.to_string()])
                    }
                    [] => {
                        done.resends += 1;
                        self.run(&["apply", "--auto-approve", "--resend", &course_id])
                    }
                    many => panic!("duplicate products for {course_id}: {many:?}"),
                };
                outs.push(show(&resolved));
                self.assert_no_duplicate_no_lost(ids);
            }
        }
        panic!(
            "apply did not converge in {max} runs:\n{}",
            outs.join("\n=====\n")
        );
    }

    /// 0 false drift: with every audit decided and refreshed, `drift` reports nothing and the
    /// plan is empty. Returns drift's output.
    pub fn assert_no_false_drift(&self) -> String {
        self.emulator.finish_audits();
        let refresh = self.run(&["refresh"]);
        assert_eq!(refresh.status.code(), Some(0), "{}", show(&refresh));
        let drift = self.run(&["drift"]);
        assert_eq!(
            drift.status.code(),
            Some(0),
            "false drift:\n{}",
            show(&drift)
        );
        let plan = self.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.status.code(),
            Some(0),
            "plan after convergence:\n{}",
            show(&plan)
        );
        stdout(&drift)
    }
}

/// What [`Remote::converge`] had to do.
#[derive(Debug, Default, Clone)]
pub struct Converged {
    pub runs: usize,
    pub imports: usize,
    pub resends: usize,
    /// The stderr of every apply run, one after the other.
    pub stderr: String,
}

/// Exit code, stdout and stderr of a run, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}
