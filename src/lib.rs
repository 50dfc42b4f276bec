//! coursesync keeps a Douyin pan-knowledge mini-program's course library in step with a git
//! repository: `validate` the catalog offline, `plan` what would change, `apply` it, and audit the
//! platform with `refresh` and `drift`.
//!
//! The modules follow the data's journey: [`settings`] → [`catalog`] (TOML → validated model) →
//! [`state`] (SQLite) → [`plan`] (pure diff) → [`platform`] (HTTP client) → [`apply`].
//! [`emulator`] is an independent implementation of the platform for tests and local runs.
//!
//! Each command is a function in [`ops`] that returns a value; the command line ([`cli`]) only
//! parses arguments and renders. Validating and planning the sample catalog from Rust code:
//!
//! ```
//! use std::path::Path;
//! use coursesync::{ops, settings::Settings};
//!
//! # fn main() -> anyhow::Result<()> {
//! let state = tempfile::tempdir()?;
//! let text = format!(
//!     "[app]\nappid = \"tt_local_app\"\nenvironment = \"local\"\n\
//!      [catalog]\ndir = \"catalog\"\n[state]\npath = {:?}\n",
//!     state.path().join("coursesync.db")
//! );
//! // Relative paths are relative to the settings file's directory: here the repository root.
//! let settings = Settings::parse(Path::new(env!("CARGO_MANIFEST_DIR")).join("coursesync.toml").as_path(), &text)?;
//!
//! let loaded = ops::validate::validate(&settings)?;
//! assert_eq!(loaded.errors(), 0);
//! assert_eq!(loaded.catalog.courses.len(), 7);
//!
//! let plan = ops::plan::plan(&settings, &ops::plan::Request::default())?;
//! assert_eq!(plan.summary.add, 7); // a fresh state: every course is new
//! println!("{}", plan.summary.line());
//! # Ok(())
//! # }
//! ```

pub mod adopt;
pub mod apply;
pub mod audit;
pub mod catalog;
pub mod cli;
pub mod drift;
pub mod duration;
pub mod emulator;
pub mod error;
pub mod events;
pub mod generated;
pub mod hashing;
pub mod local;
pub mod mapping;
pub mod ops;
pub mod packed;
pub mod plan;
pub mod platform;
pub mod report;
pub mod roles;
pub mod schema;
pub mod settings;
pub mod state;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

/// Exit codes shared by every command (PRODUCT.md "Commands").
pub mod exit {
    /// Success; for `plan --detailed-exitcode` and `drift`: nothing to do / nothing drifted.
    pub const OK: u8 = 0;
    /// An error, or findings of severity error.
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: changes; `drift`: drift found.
    pub const CHANGES: u8 = 2;
}

/// Parses the command line, runs the command and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    // clap exits 2 on a usage error, which scripts would read as "changes" (plan
    // --detailed-exitcode) or "drift"; a usage error is an error: 1.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let early_color = cli::color::from_args(&args).unwrap_or_default();
    early_color.apply();
    let parsed = cli::Cli::command()
        .color(early_color.for_clap())
        .try_get_matches_from(args)
        .and_then(|mut matches| cli::Cli::from_arg_matches_mut(&mut matches));
    let cli = match parsed {
        Ok(cli) => {
            cli.color.apply();
            cli
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            cli::report_error(&err);
            ExitCode::from(exit::ERROR)
        }
    }
}
