//! `coursesync.toml` and the `COURSESYNC_*` environment variables, all named in this one place.
//!
//! Relative paths in the file are relative to the file's own directory (PRODUCT.md "Settings").
//! Secrets are read only from the environment and wrapped in [`Secret`], whose `Debug` and
//! `Display` never show the value, so no log line or error message can carry one by accident.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Sandbox,
    /// The embedded emulator, in-process, data under `state/local-platform.db`.
    Local,
}

/// The settings file as written (raw layer: unknown keys are errors).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    app: RawApp,
    #[serde(default)]
    catalog: RawCatalog,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    apply: RawApply,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    appid: String,
    #[serde(default = "default_environment")]
    environment: Environment,
    base_url: Option<String>,
    /// An operating partner acting for its teachers and institutions (PRODUCT.md "Settings").
    partner_entity_id: Option<String>,
}

fn default_environment() -> Environment {
    Environment::Local
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default = "default_catalog_dir")]
    dir: PathBuf,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApply {
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    #[serde(default = "default_max_qps")]
    max_qps: f64,
    #[serde(default)]
    prune: bool,
    /// Seconds; default 30 minutes (PRODUCT.md "Waits are bounded").
    #[serde(default = "default_upload_timeout")]
    upload_timeout: u64,
    /// Seconds one HTTP request may take before it counts as a (retried) timeout; default 30.
    #[serde(default = "default_request_timeout")]
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
        })
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
