//! `coursesync dump --product-id N... --out DIR`: writes each product as the platform shows it
//! as a course file (see [`crate::ops::dump`]).

use std::path::PathBuf;

use crate::exit;
use crate::settings::Settings;

/// Options of `coursesync dump`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A product id on the platform (repeatable; several may follow one flag).
    #[arg(long = "product-id", value_name = "ID", required = true, num_args = 1..)]
    pub product_ids: Vec<i64>,
    /// The directory to write the course files to (created when missing), e.g. catalog/imported.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite course files that already exist.
    #[arg(long)]
    pub force: bool,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let results = crate::ops::dump::dump(settings, &args.product_ids, &args.out, args.force)?;
    let mut failed = 0;
    for (_, result) in &results {
        match result {
            Ok((path, adopted)) => println!(
                "wrote {} for {}",
                path.display(),
                super::import::describe(adopted)
            ),
            Err(e) => {
                failed += 1;
                println!("failed: {e:#}");
            }
        }
    }
    println!(
        "Wrote {} of {} course files to {}, {failed} failed.",
        results.len() - failed,
        results.len(),
        args.out.display()
    );
    Ok(if failed > 0 { exit::ERROR } else { exit::OK })
}
