//! `coursesync validate`: every documented platform rule, offline.

use crate::settings::Settings;

/// Options of `coursesync validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_settings: &Settings, _args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("validate is being built")
}
