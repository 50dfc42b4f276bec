//! `coursesync validate`: every documented platform rule, offline — no state, no network, and
//! nothing written.

use std::io::{IsTerminal, Write};

use crate::catalog::render;
use crate::settings::Settings;

/// Options of `coursesync validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let loaded = crate::ops::validate::validate(settings)?;
    let (errors, warnings) = (loaded.errors(), loaded.warnings());
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            writeln!(
                stdout,
                "{}",
                render::json(
                    &loaded.diagnostics,
                    loaded.files,
                    loaded.catalog.courses.len()
                )
            )?;
        }
        Format::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            render::human(&mut stdout, &loaded.diagnostics, &settings.root, color)?;
            writeln!(
                stdout,
                "{}",
                render::summary(loaded.files, loaded.catalog.courses.len(), errors, warnings)
            )?;
        }
    }
    let failed = errors > 0 || (args.strict && warnings > 0);
    Ok(if failed {
        crate::exit::ERROR
    } else {
        crate::exit::OK
    })
}
