//! `dump --product-id N... --out DIR`: writes each product as the platform shows it to
//! `DIR/<course_id>.toml`, a course file in the catalog format whose file references are the
//! platform's URLs. Calls only `query`; reads and writes no state.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::adopt::{self, Adopted};
use crate::platform::wire;
use crate::settings::Settings;

use super::import::{query, unique};

/// What happened to one product id: the file written and what it holds, or why not.
pub type Dumped = anyhow::Result<(PathBuf, Adopted)>;

/// Per product id, in the order given (each id once).
pub fn dump(
    settings: &Settings,
    product_ids: &[i64],
    out: &Path,
    force: bool,
) -> anyhow::Result<Vec<(i64, Dumped)>> {
    let ids = unique(product_ids);
    let answers = query(settings, &ids)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    Ok(ids
        .iter()
        .map(|id| (*id, dump_one(*id, answers.get(id), out, force)))
        .collect())
}

fn dump_one(id: i64, answer: Option<&wire::QueriedProduct>, out: &Path, force: bool) -> Dumped {
    let adopted = adopt::adopt(id, answer)?;
    let text = adopt::course_file(&adopted)?;
    let path = out.join(format!("{}.toml", file_name(&adopted.course_id)));
    if path.exists() && !force {
        anyhow::bail!(
            "product {id}: {} already exists (--force overwrites it)",
            path.display()
        );
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok((path, adopted))
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
