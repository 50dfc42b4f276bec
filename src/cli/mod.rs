//! The command line: one file per command, each a documented clap `Args` struct and a `run`.

pub mod apply;
pub mod drift;
pub mod dump;
pub mod emulator;
pub mod events;
pub mod import;
pub mod plan;
pub mod refresh;
pub mod roles;
pub mod state;
pub mod status;
pub mod validate;

use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "coursesync", version, about, long_about = None)]
pub struct Cli {
    /// The settings file [default: ./coursesync.toml]
    #[arg(long, global = true, env = crate::settings::ENV_CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the catalog against every documented platform rule, offline.
    Validate(validate::Args),
    /// Show what apply would do, field by field.
    Plan(plan::Args),
    /// Upload files and send the planned changes to the platform.
    Apply(apply::Args),
    /// Run the platform emulator as a server.
    Emulator(emulator::Args),
    /// Inspect and repair the state file: list, show, rm, unlock.
    State(state::Args),
    /// Pull audit results and upload statuses from the platform into state.
    Refresh(refresh::Args),
    /// Per course: product id, audit state, reject reason, listing, last applied. No network.
    Status(status::Args),
    /// Compare the platform with what was last approved; exit 2 when something drifted.
    Drift(drift::Args),
    /// Record products that already exist on the platform in state, without re-adding them.
    Import(import::Args),
    /// Write products as the platform shows them as course files.
    Dump(dump::Args),
    /// Who may publish: each teacher and institution the catalog names, its authorisation of
    /// the app and its category qualifications; exit 2 when some course is blocked.
    Roles(roles::Args),
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(args) => validate::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Plan(args) => plan::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Apply(args) => apply::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Emulator(args) => emulator::run(&args),
        Command::State(args) => state::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Refresh(args) => refresh::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Status(args) => status::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Drift(args) => drift::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Import(args) => import::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Dump(args) => dump::run(&load_settings(cli.config.as_deref())?, &args),
        Command::Roles(args) => roles::run(&load_settings(cli.config.as_deref())?, &args),
    }
}

pub use crate::error::{Hint, load_settings};

/// Prints `error: ...`, each `caused by: ...`, and a `hint: ...` when one was attached.
pub fn report_error(err: &anyhow::Error) {
    let mut stderr = anstream::stderr();
    if let Some(invalid) = err.downcast_ref::<crate::plan::prepare::InvalidCatalog>() {
        let color = std::io::stderr().is_terminal();
        let _ = crate::catalog::render::human(
            &mut std::io::stderr().lock(),
            &invalid.diagnostics,
            &invalid.display_root,
            color,
        );
    }
    let hint = err.downcast_ref::<Hint>().map(|h| h.0.clone());
    let mut chain = err
        .chain()
        .map(ToString::to_string)
        .filter(|message| hint.as_deref() != Some(message.as_str()));
    let red = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    let cyan = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Cyan.into()));
    if let Some(first) = chain.next() {
        let _ = writeln!(stderr, "{red}error{red:#}: {first}");
    }
    for cause in chain {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    if let Some(h) = hint {
        let _ = writeln!(stderr, "{cyan}hint{cyan:#}: {h}");
    }
}
