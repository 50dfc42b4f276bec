//! `coursesync dump --product-id N... --out DIR`: writes each product as the platform shows it
//! to `DIR/<course_id>.toml`, a course file in the catalog format whose file references are the
//! platform's URLs. Calls only `query`; reads and writes no state.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::adopt;
use crate::cli::import::{describe, query, unique};
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
    let ids = unique(&args.product_ids);
    let answers = query(settings, &ids)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut written = 0;
    let mut failed = 0;
    for id in &ids {
        match dump_one(*id, answers.get(id), args) {
            Ok(line) => {
                written += 1;
                println!("{line}");
            }
            Err(e) => {
                failed += 1;
                println!("failed: {e:#}");
            }
        }
    }
    println!(
        "Wrote {written} of {} course files to {}, {failed} failed.",
        ids.len(),
        args.out.display()
    );
    Ok(if failed > 0 { exit::ERROR } else { exit::OK })
}

fn dump_one(
    id: i64,
    answer: Option<&crate::platform::wire::QueriedProduct>,
    args: &Args,
) -> anyhow::Result<String> {
    let adopted = adopt::adopt(id, answer)?;
    let text = adopt::course_file(&adopted)?;
    let path = args
        .out
        .join(format!("{}.toml", file_name(&adopted.course_id)));
    if path.exists() && !args.force {
        anyhow::bail!(
            "product {id}: {} already exists (--force overwrites it)",
            path.display()
        );
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(format!(
        "wrote {} for {}",
        path.display(),
        describe(&adopted)
    ))
}

/// A course_id as a file name: path separators and other awkward characters become `_`.
fn file_name(course_id: &str) -> String {
    let name: String = course_id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with('.') {
        format!("_{name}")
    } else {
        name
    }
}
