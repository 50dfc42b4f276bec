//! `coursesync schema course|settings`: prints the JSON Schema (draft-07) of a course file or of
//! the settings file, for editors' TOML plugins.

use std::io::Write as _;

use crate::ops::schema::{self, Kind};

/// Options of `coursesync schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which file the schema describes.
    #[arg(value_enum)]
    pub file: Which,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// A course file (catalog/**/*.toml).
    Course,
    /// The settings file (coursesync.toml).
    Settings,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let kind = match args.file {
        Which::Course => Kind::Course,
        Which::Settings => Kind::Settings,
    };
    std::io::stdout().write_all(schema::generate(kind).as_bytes())?;
    Ok(crate::exit::OK)
}
