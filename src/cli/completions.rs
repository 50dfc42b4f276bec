//! `coursesync completions SHELL`: a completion script for bash, zsh, fish, PowerShell or elvish,
//! generated from the command-line definition itself (clap_complete), so it names every command
//! and flag there is.

use clap::CommandFactory as _;

/// Options of `coursesync completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The completion script for `shell`.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "coursesync", &mut out);
    out
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    use std::io::Write as _;
    std::io::stdout().write_all(&script(args.shell))?;
    Ok(crate::exit::OK)
}
