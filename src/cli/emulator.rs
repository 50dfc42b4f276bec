//! `coursesync emulator`: runs the platform emulator as a server.

/// Options of `coursesync emulator` (filled in with the emulator itself).
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("the emulator is not part of this build yet")
}
