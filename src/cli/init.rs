//! `coursesync init [DIR]`: scaffolds a new catalog repository and refuses to overwrite
//! anything (see [`crate::ops::init`]).

use std::path::PathBuf;

use crate::error::with_hint;
use crate::ops::init;

/// Options of `coursesync init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The new repository's directory; created when missing.
    #[arg(default_value = ".", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let created = init::init(&args.dir).map_err(|e| {
        let hint = e.hint();
        with_hint(anyhow::Error::new(e), hint)
    })?;
    let shown = created.dir.display();
    println!("Created a coursesync repository in {shown}:");
    for file in &created.files {
        println!("  {file}");
    }
    let cd = if created.dir == std::path::Path::new(".") {
        String::new()
    } else {
        format!("cd {shown} && ")
    };
    println!();
    println!("Next, on the built-in local platform (no network, no credentials):");
    println!("  {cd}coursesync validate && coursesync plan && coursesync apply --auto-approve");
    println!(
        "Then read the settings and the CI workflow ({}) before the first push.",
        init::GITHUB_WORKFLOW
    );
    Ok(crate::exit::OK)
}
