//! `coursesync.toml` and the `COURSESYNC_*` environment variables, all named in this one place.
//!
//! Relative paths in the file are relative to the file's own directory (PRODUCT.md "Settings").
//! Secrets are read only from the environment and wrapped in [`Secret`], whose `Debug` and
//! `Display` never show the value, so no log line or error message can carry one by accident.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::platform::facts::{FactsError, KnownFacts, known};
use crate::schema as js;

/// Path of the settings file (overrides the default `./coursesync.toml`).
pub const ENV_CONFIG: &str = "COURSESYNC_CONFIG";
/// The app secret, exchanged for an access token (platform-api.md §2).
pub const ENV_APP_SECRET: &str = "COURSESYNC_APP_SECRET";
/// A ready access token; wins over the secret.
pub const ENV_ACCESS_TOKEN: &str = "COURSESYNC_ACCESS_TOKEN";
/// One root for every API family; overrides `app.base_url` and `app.environment`.
pub const ENV_BASE_URL: &str = "COURSESYNC_BASE_URL";

/// The settings file's default name, looked up in the current directory.
pub const DEFAULT_FILE: &str = "coursesync.toml";

/// Production hosts per API family (platform-api.md §1).
pub const PRODUCTION_PRODUCT_BASE: &str = "https://developer-product.zijieapi.com";
pub const PRODUCTION_TOKEN_BASE: &str = "https://developer.toutiao.com";
/// The sandbox serves every family from one host (platform-api.md §1, §12).
pub const SANDBOX_BASE: &str = "https://open-sandbox.douyin.com";

/// The bounds of every number in `[apply]`, checked when the settings are read (documented in
/// docs/catalog-format.md, "Settings"). They keep every deadline and rate computable: no
/// overflow, no endless wait, no request interval longer than anyone would wait for.
pub mod bounds {
    use std::ops::RangeInclusive;

    /// Requests in flight.
    pub const CONCURRENCY: RangeInclusive<u64> = 1..=256;
    /// Requests per second: one every 10 s at least, 10,000 a second at most.
    pub const MAX_QPS: RangeInclusive<f64> = 0.1..=10_000.0;
    /// Seconds one upload may take to finish: up to 7 days.
    pub const UPLOAD_TIMEOUT_SECS: RangeInclusive<u64> = 1..=7 * 24 * 3600;
    /// Seconds one HTTP request may take: up to an hour.
    pub const REQUEST_TIMEOUT_SECS: RangeInclusive<u64> = 1..=3600;
    // Durations on the command line (`apply --timeout`, the emulator's) are bounded by
    // `crate::duration::MAX`.
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings file {path} not found")]
    Missing { path: PathBuf, explicit: bool },
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// `platform-facts.toml` beside the settings file cannot be read or is malformed.
    #[error(transparent)]
    Facts(#[from] FactsError),
}

impl SettingsError {
    /// A hint that says what to do about the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            SettingsError::Missing {
                explicit: false, ..
            } => Some(format!(
                "run coursesync from the repository root, or point {ENV_CONFIG} or --config at the settings file"
            )),
            SettingsError::Missing { explicit: true, .. } => {
                Some("check the path given with --config or COURSESYNC_CONFIG".into())
            }
            SettingsError::Malformed { .. } | SettingsError::Invalid { .. } => {
                Some("see the \"Settings\" section of docs/catalog-format.md for every key".into())
            }
            SettingsError::Facts(e) => e.hint(),
            SettingsError::Read { .. } => None,
        }
    }
}

/// A secret value from the environment. Never printed: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it (the HTTP body).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which platform the commands talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The platform itself: developer-product.zijieapi.com (course API) and
    /// developer.toutiao.com (token).
    Production,
    /// The platform's sandbox, open-sandbox.douyin.com, for rehearsals.
    Sandbox,
    /// The embedded emulator, in-process, data under `state/local-platform.db`: no network, no
    /// credentials.
    Local,
}

/// `app.sandbox_audit`: how the sandbox decides the audits of this project's writes
/// (platform-api.md §12, the `Aweme-Check-Type` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SandboxAudit {
    /// Every audit of this project's writes is approved.
    Approve,
    /// Every audit of this project's writes is rejected.
    Reject,
}

impl SandboxAudit {
    /// The `Aweme-Check-Type` value: `REJECT` rejects; any other value approves, and `OK` is
    /// what GO-R sends (platform-api.md §12).
    pub fn check_type(self) -> &'static str {
        match self {
            SandboxAudit::Approve => crate::platform::facts::CHECK_TYPE_APPROVE,
            SandboxAudit::Reject => crate::platform::facts::CHECK_TYPE_REJECT,
        }
    }
}

// The settings file as written (raw layer: unknown keys are errors). Its JSON Schema
// ([`json_schema`]) is derived from these types; their doc comments are its descriptions.

/// coursesync settings (coursesync.toml). Reference: docs/catalog-format.md, "Settings".
/// Credentials never go here: they come from COURSESYNC_APP_SECRET or COURSESYNC_ACCESS_TOKEN.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "coursesync settings")]
struct RawSettings {
    /// The mini-program and the platform it talks to.
    app: RawApp,
    /// Where the course files are, and where the platform fetches their files.
    #[serde(default)]
    catalog: RawCatalog,
    /// The state file.
    #[serde(default)]
    state: RawState,
    /// How the commands call the platform.
    #[serde(default)]
    apply: RawApply,
}

/// The mini-program and the platform it talks to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "App")]
struct RawApp {
    /// The mini-program's appid (tt...). Not blank.
    #[schemars(with = "js::NonBlank")]
    appid: String,
    /// Which platform: production, sandbox, or local (the embedded emulator).
    #[serde(default = "default_environment")]
    environment: Environment,
    /// One root URL for every API family, replacing the scheme and host (the paths stay as in
    /// production); overrides environment. COURSESYNC_BASE_URL overrides it.
    base_url: Option<String>,
    /// With environment = "sandbox" only: the sandbox approves ("approve") or rejects
    /// ("reject") the audit of every write, through the Aweme-Check-Type header.
    sandbox_audit: Option<SandboxAudit>,
    /// The entity id (E_...) of an operating partner (代运营服务商) acting for its teachers and
    /// institutions; sent with the role-system calls that take partner_entity_id.
    partner_entity_id: Option<String>,
}

fn default_environment() -> Environment {
    Environment::Local
}

/// The catalog.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Catalog")]
struct RawCatalog {
    /// The catalog directory, relative to the settings file's directory.
    #[serde(default = "default_catalog_dir")]
    dir: PathBuf,
    /// Where CI publishes the catalog directory: the platform fetches a file catalog/a/b.mp4 as
    /// assets_base_url + "a/b.mp4" + "?sha256=<hex>". An http:// or https:// URL. Not used with
    /// environment = "local" (coursesync serves the files itself).
    #[schemars(regex(pattern = "^https?://"))]
    assets_base_url: Option<String>,
}

impl Default for RawCatalog {
    fn default() -> Self {
        RawCatalog {
            dir: default_catalog_dir(),
            assets_base_url: None,
        }
    }
}

fn default_catalog_dir() -> PathBuf {
    PathBuf::from("catalog")
}

/// The state file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "State")]
struct RawState {
    /// The SQLite state file, relative to the settings file's directory; written only by
    /// coursesync. Commit it.
    #[serde(default = "default_state_path")]
    path: PathBuf,
}

impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: default_state_path(),
        }
    }
}

fn default_state_path() -> PathBuf {
    PathBuf::from("state/coursesync.db")
}

/// How the commands call the platform (every command that calls it, not only apply).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Apply")]
struct RawApply {
    /// Platform requests in flight, 1 to 256.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 256))]
    concurrency: usize,
    /// Client-side rate limit, requests per second for all endpoints together; more than 0.
    #[serde(default = "default_max_qps")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    max_qps: f64,
    /// Delist courses whose files were removed from the catalog (only when true).
    #[serde(default)]
    prune: bool,
    /// Seconds apply waits for one upload to finish; default 30 minutes (PRODUCT.md "Waits are
    /// bounded").
    #[serde(default = "default_upload_timeout")]
    upload_timeout: u64,
    /// Seconds one HTTP request may take before it counts as a (retried) timeout; at least 1.
    #[serde(default = "default_request_timeout")]
    #[schemars(range(min = 1))]
    request_timeout: u64,
}

impl Default for RawApply {
    fn default() -> Self {
        RawApply {
            concurrency: default_concurrency(),
            max_qps: default_max_qps(),
            prune: false,
            upload_timeout: default_upload_timeout(),
            request_timeout: default_request_timeout(),
        }
    }
}

fn default_concurrency() -> usize {
    8
}
fn default_max_qps() -> f64 {
    20.0
}
fn default_upload_timeout() -> u64 {
    30 * 60
}
fn default_request_timeout() -> u64 {
    30
}

/// The draft-07 JSON Schema of the settings file, derived from the types that parse it.
pub fn json_schema() -> serde_json::Value {
    js::finish(js::generator().into_root_schema_for::<RawSettings>())
}

/// Resolved settings: absolute paths, environment applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The settings file itself.
    pub file: PathBuf,
    /// Its directory: the root relative paths are resolved against.
    pub root: PathBuf,
    pub appid: String,
    pub environment: Environment,
    /// `COURSESYNC_BASE_URL` or `app.base_url`: replaces scheme and host of every API family.
    pub base_url: Option<String>,
    /// `app.sandbox_audit` (only with `environment = "sandbox"`): sent as `Aweme-Check-Type` on
    /// write calls.
    pub sandbox_audit: Option<SandboxAudit>,
    /// `app.partner_entity_id`: sent where the role calls take it (platform-api.md §9.2).
    pub partner_entity_id: Option<String>,
    pub catalog_dir: PathBuf,
    pub assets_base_url: Option<String>,
    pub state_path: PathBuf,
    pub concurrency: usize,
    pub max_qps: f64,
    pub prune: bool,
    pub upload_timeout: Duration,
    /// `apply.request_timeout`: the limit of one HTTP request.
    pub request_timeout: Duration,
    pub app_secret: Option<Secret>,
    pub access_token: Option<Secret>,
    /// What `platform-facts.toml` beside the settings file settles of the open platform facts
    /// (PRODUCT.md "Platform facts the documents leave open"); all unsettled when there is no
    /// such file. With `environment = "local"` the local platform's own readings replace it
    /// (`local::known_facts`).
    pub facts: KnownFacts,
}

impl Settings {
    /// Loads the settings: `explicit` (from `--config`) or `COURSESYNC_CONFIG` or
    /// `./coursesync.toml`, then the environment variables.
    pub fn load(explicit: Option<&Path>) -> Result<Settings, SettingsError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (path, is_explicit) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match env(ENV_CONFIG) {
                Some(p) => (PathBuf::from(p), true),
                None => (PathBuf::from(DEFAULT_FILE), false),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SettingsError::Missing {
                    path,
                    explicit: is_explicit,
                });
            }
            Err(source) => return Err(SettingsError::Read { path, source }),
        };
        let mut settings = Self::parse(&path, &text)?;
        settings.facts = known::load(&settings.facts_path())?;
        settings.app_secret = env(ENV_APP_SECRET).map(Secret::new);
        settings.access_token = env(ENV_ACCESS_TOKEN).map(Secret::new);
        if let Some(url) = env(ENV_BASE_URL) {
            settings.base_url = Some(url);
        }
        Ok(settings)
    }

    /// Parses settings text; paths are resolved against `path`'s directory. No environment.
    pub fn parse(path: &Path, text: &str) -> Result<Settings, SettingsError> {
        let raw: RawSettings = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| {
                crate::catalog::diagnostics::line_col(text, s.start)
            });
            SettingsError::Malformed {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().to_string(),
            }
        })?;
        let invalid = |message: String| SettingsError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if raw.app.appid.trim().is_empty() {
            return Err(invalid("app.appid must not be empty".into()));
        }
        // The header decides audits: it must never be dropped silently, nor reach production.
        if raw.app.sandbox_audit.is_some() && raw.app.environment != Environment::Sandbox {
            return Err(invalid(
                "app.sandbox_audit applies only with environment = \"sandbox\" (it sets the \
                 sandbox's Aweme-Check-Type header); remove it for this environment"
                    .into(),
            ));
        }
        let a = &raw.apply;
        for (key, value, range) in [
            ("concurrency", a.concurrency as u64, bounds::CONCURRENCY),
            (
                "upload_timeout",
                a.upload_timeout,
                bounds::UPLOAD_TIMEOUT_SECS,
            ),
            (
                "request_timeout",
                a.request_timeout,
                bounds::REQUEST_TIMEOUT_SECS,
            ),
        ] {
            if !range.contains(&value) {
                let unit = if key == "concurrency" { "" } else { " seconds" };
                return Err(invalid(format!(
                    "apply.{key} must be between {} and {}{unit}, not {value}",
                    range.start(),
                    range.end()
                )));
            }
        }
        if !bounds::MAX_QPS.contains(&a.max_qps) {
            return Err(invalid(format!(
                "apply.max_qps must be between {} and {} requests per second, not {}",
                bounds::MAX_QPS.start(),
                bounds::MAX_QPS.end(),
                a.max_qps
            )));
        }
        if let Some(url) = &raw.catalog.assets_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            {
                return Err(invalid(format!(
                    "catalog.assets_base_url must be an http(s) URL, not {url:?}"
                )));
            }
        }
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let root = std::path::absolute(&root).unwrap_or(root);
        Ok(Settings {
            file: path.to_path_buf(),
            catalog_dir: root.join(&raw.catalog.dir),
            state_path: root.join(&raw.state.path),
            root,
            appid: raw.app.appid,
            environment: raw.app.environment,
            base_url: raw.app.base_url,
            sandbox_audit: raw.app.sandbox_audit,
            partner_entity_id: raw
                .app
                .partner_entity_id
                .map(|id| id.trim().to_string())
                .filter(|id| !id.is_empty()),
            assets_base_url: raw.catalog.assets_base_url,
            concurrency: raw.apply.concurrency,
            max_qps: raw.apply.max_qps,
            prune: raw.apply.prune,
            upload_timeout: Duration::from_secs(raw.apply.upload_timeout),
            request_timeout: Duration::from_secs(raw.apply.request_timeout),
            app_secret: None,
            access_token: None,
            facts: KnownFacts::UNSETTLED,
        })
    }

    /// Where `platform-facts.toml` lies: beside the settings file.
    pub fn facts_path(&self) -> PathBuf {
        self.root.join(known::FILE_NAME)
    }

    /// Where the local (in-process emulator) platform keeps its data: beside the state file.
    pub fn local_platform_path(&self) -> PathBuf {
        self.state_path.parent().map_or_else(
            || PathBuf::from("local-platform.db"),
            |p| p.join("local-platform.db"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_file_takes_defaults_relative_to_its_directory() {
        let s = Settings::parse(
            Path::new("/repo/coursesync.toml"),
            "[app]\nappid = \"tt1\"\n",
        )
        .unwrap();
        assert_eq!(s.environment, Environment::Local);
        assert_eq!(s.catalog_dir, Path::new("/repo/catalog"));
        assert_eq!(s.state_path, Path::new("/repo/state/coursesync.db"));
        assert_eq!(
            s.local_platform_path(),
            Path::new("/repo/state/local-platform.db")
        );
        assert_eq!(s.concurrency, 8);
        assert!(!s.prune);
    }

    #[test]
    fn unknown_key_is_reported_with_its_position() {
        let err = Settings::parse(
            Path::new("c.toml"),
            "[app]\nappid = \"tt1\"\n\n[apply]\nprnue = true\n",
        )
        .unwrap_err();
        match err {
            SettingsError::Malformed {
                line, col, message, ..
            } => {
                assert_eq!((line, col), (5, 1));
                assert!(message.contains("prnue"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn platform_facts_beside_the_settings_file_are_loaded_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("coursesync.toml");
        std::fs::write(&file, "[app]\nappid = \"tt1\"\n").unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.facts, KnownFacts::UNSETTLED);
        assert_eq!(s.facts_path(), dir.path().join("platform-facts.toml"));
        std::fs::write(
            dir.path().join("platform-facts.toml"),
            "[facts]\n\"add.repeat_answers_10140\" = true\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.facts.add_repeat_answers_10140, Some(true));
        std::fs::write(
            dir.path().join("platform-facts.toml"),
            "[facts]\n\"add.repeat_answers_10140\" = 1\n",
        )
        .unwrap();
        let err = Settings::load(Some(&file)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("platform-facts.toml:2:30:"), "{text}");
        assert!(
            err.hint()
                .is_some_and(|h| h.contains("docs/platform-facts.md"))
        );
    }

    #[test]
    fn sandbox_audit_is_read_and_only_for_the_sandbox() {
        let s = Settings::parse(
            Path::new("/r/c.toml"),
            "[app]\nappid = \"tt1\"\nenvironment = \"sandbox\"\nsandbox_audit = \"reject\"\n",
        )
        .unwrap();
        assert_eq!(s.sandbox_audit, Some(SandboxAudit::Reject));
        assert_eq!(SandboxAudit::Reject.check_type(), "REJECT");
        assert_eq!(SandboxAudit::Approve.check_type(), "OK");
        for env in ["production", "local"] {
            let err = Settings::parse(
                Path::new("/r/c.toml"),
                &format!(
                    "[app]\nappid = \"tt1\"\nenvironment = \"{env}\"\nsandbox_audit = \"approve\"\n"
                ),
            )
            .unwrap_err();
            assert!(
                err.to_string().contains("sandbox_audit applies only"),
                "{err}"
            );
        }
        let err = Settings::parse(
            Path::new("/r/c.toml"),
            "[app]\nappid = \"tt1\"\nenvironment = \"sandbox\"\nsandbox_audit = \"maybe\"\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, SettingsError::Malformed { line: 4, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn every_apply_number_is_bounded_with_a_clear_error() {
        let parse = |apply: &str| {
            Settings::parse(
                Path::new("c.toml"),
                &format!("[app]\nappid = \"tt1\"\n[apply]\n{apply}\n"),
            )
        };
        for (apply, says) in [
            (
                "max_qps = 1e-300",
                "apply.max_qps must be between 0.1 and 10000",
            ),
            ("max_qps = 0.05", "not 0.05"),
            ("max_qps = 10001", "apply.max_qps"),
            ("max_qps = nan", "apply.max_qps"),
            ("max_qps = inf", "apply.max_qps"),
            ("max_qps = -1", "apply.max_qps"),
            (
                "upload_timeout = 0",
                "apply.upload_timeout must be between 1 and 604800 seconds",
            ),
            (
                "upload_timeout = 9223372036854775807",
                "not 9223372036854775807",
            ),
            (
                "request_timeout = 0",
                "apply.request_timeout must be between 1 and 3600",
            ),
            ("request_timeout = 3601", "apply.request_timeout"),
            (
                "concurrency = 0",
                "apply.concurrency must be between 1 and 256, not 0",
            ),
            ("concurrency = 257", "apply.concurrency"),
        ] {
            let e = parse(apply).unwrap_err().to_string();
            assert!(e.contains(says), "{apply}: {e}");
        }
        for negative in ["upload_timeout = -1", "concurrency = -1"] {
            assert!(parse(negative).is_err(), "{negative}");
        }
        let s = parse("max_qps = 0.1\nupload_timeout = 604800\nrequest_timeout = 3600").unwrap();
        assert_eq!(s.upload_timeout, Duration::from_hours(168));
    }

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }
}
