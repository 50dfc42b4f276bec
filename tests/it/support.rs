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
