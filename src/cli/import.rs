//! `coursesync import --product-id N...`: records products that already exist on the platform in
//! state, as if this project had applied them, so that a catalog can take them over without
//! re-adding anything. Calls only `query`. Holds the state lock; writes all records in one
//! transaction.

use std::collections::{BTreeMap, HashMap};

use crate::adopt::{self, Adopted};
use crate::cli::state::{state_error, warn_takeover};
use crate::exit;
use crate::platform::wire;
use crate::settings::Settings;
use crate::state::{State, now_ms};

/// Options of `coursesync import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A product id on the platform (repeatable; several may follow one flag).
    #[arg(long = "product-id", value_name = "ID", required = true, num_args = 1..)]
    pub product_ids: Vec<i64>,
    /// Replace a course already in state, even one recorded with another product id.
    #[arg(long)]
    pub force: bool,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let ids = unique(&args.product_ids);
    let state = State::open(&settings.state_path).map_err(state_error)?;
    let guard = state.lock("import").map_err(state_error)?;
    warn_takeover(guard.took_over.as_ref());
    let answers = query(settings, &ids)?;
    let known = state.courses_without_payloads().map_err(state_error)?;
    let now = now_ms();
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut failed = 0;
    // Course ids taken in this run, so two products cannot both become one course.
    let mut taken: HashMap<String, i64> = HashMap::new();
    for id in &ids {
        let result = adopt::adopt(*id, answers.get(id)).map_err(anyhow::Error::new);
        let adopted = match result.and_then(|a| admit(&a, &known, &taken, args.force).map(|()| a)) {
            Ok(a) => a,
            Err(e) => {
                failed += 1;
                lines.push(format!("failed: {e:#}"));
                continue;
            }
        };
        if !args.force && known.get(&adopted.course_id).and_then(|c| c.product_id) == Some(*id) {
            lines.push(format!(
                "unchanged: {} is already in state as product {id} (--force imports it again)",
                adopted.course_id
            ));
            continue;
        }
        taken.insert(adopted.course_id.clone(), *id);
        lines.push(format!("imported {}", describe(&adopted)));
        records.push(adopt::record(&adopted, now));
    }
    if !records.is_empty() {
        state.put_courses(&records).map_err(state_error)?;
    }
    guard.release().map_err(state_error)?;
    for line in &lines {
        println!("{line}");
    }
    println!(
        "Imported {} of {} products, {failed} failed.",
        records.len(),
        ids.len()
    );
    Ok(if failed > 0 { exit::ERROR } else { exit::OK })
}

/// `py-101 (product 7301, approved, listed)`.
pub fn describe(a: &Adopted) -> String {
    format!(
        "{} (product {}, {}, {})",
        a.course_id,
        a.product_id,
        if a.approved { "approved" } else { "in review" },
        if a.listed { "listed" } else { "not listed" }
    )
}

/// Whether `a` may be recorded: its course_id is not another product's (in state or earlier in
/// this run) unless `force`, and its product is not already recorded under another course_id.
fn admit(
    a: &Adopted,
    known: &BTreeMap<String, crate::state::CourseRecord>,
    taken: &HashMap<String, i64>,
    force: bool,
) -> anyhow::Result<()> {
    if let Some(other) = taken.get(&a.course_id) {
        anyhow::bail!(
            "product {}: course_id {} is also product {other}, imported just before",
            a.product_id,
            a.course_id
        );
    }
    if let Some(other) = known
        .values()
        .find(|c| c.product_id == Some(a.product_id) && c.course_id != a.course_id)
    {
        anyhow::bail!(
            "product {}: already in state as course {}, but its page now says {} \
             (remove the old record with `coursesync state rm {}` first)",
            a.product_id,
            other.course_id,
            a.course_id,
            other.course_id
        );
    }
    if let Some(other) = known
        .get(&a.course_id)
        .and_then(|c| c.product_id)
        .filter(|other| *other != a.product_id)
        && !force
    {
        anyhow::bail!(
            "product {}: course {} is already in state as product {other} (--force replaces it)",
            a.product_id,
            a.course_id
        );
    }
    Ok(())
}

/// The ids in order, each once.
pub fn unique(ids: &[i64]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// Asks the platform about `ids` (`query`, batched by the client); the answers by product id.
pub fn query(
    settings: &Settings,
    ids: &[i64],
) -> anyhow::Result<HashMap<i64, wire::QueriedProduct>> {
    let products = super::with_platform(settings, async |client| {
        client.query(ids).await.map_err(super::platform_error)
    })?;
    Ok(products
        .into_iter()
        .filter_map(|p| p.product_id().map(|id| (id, p)))
        .collect())
}
