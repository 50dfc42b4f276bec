//! `import --product-id N...`: records products that already exist on the platform in state, as
//! if this project had applied them, so that a catalog can take them over without re-adding
//! anything. Calls only `query`. Holds the state lock; writes all records in one transaction.

use std::collections::{BTreeMap, HashMap};

use crate::adopt::{self, Adopted};
use crate::error::{platform_error, state_error};
use crate::platform::wire;
use crate::settings::Settings;
use crate::state::{CourseRecord, State, now_ms};

use super::{Event, Events};

/// What happened to one product id.
#[derive(Debug)]
pub enum Imported {
    /// Recorded in state.
    Recorded(Adopted),
    /// Already in state as this very product; nothing written (`force` imports it again).
    Unchanged { course_id: String, product_id: i64 },
    /// Not recorded, and why.
    Failed(anyhow::Error),
}

/// Per product id, in the order given (each id once).
#[derive(Debug, Default)]
pub struct Report {
    pub products: Vec<(i64, Imported)>,
}

impl Report {
    pub fn recorded(&self) -> usize {
        self.count(|i| matches!(i, Imported::Recorded(_)))
    }
    pub fn failed(&self) -> usize {
        self.count(|i| matches!(i, Imported::Failed(_)))
    }
    fn count(&self, pred: impl Fn(&Imported) -> bool) -> usize {
        self.products.iter().filter(|(_, i)| pred(i)).count()
    }
}

pub fn import(
    settings: &Settings,
    product_ids: &[i64],
    force: bool,
    events: &dyn Events,
) -> anyhow::Result<Report> {
    let ids = unique(product_ids);
    let state = State::open(&settings.state_path).map_err(state_error)?;
    let guard = state.lock("import").map_err(state_error)?;
    if let Some(h) = &guard.took_over {
        events.on(Event::TookOverLock(h));
    }
    let answers = query(settings, &ids)?;
    let known = state.courses_without_payloads().map_err(state_error)?;
    let now = now_ms();
    let mut records = Vec::new();
    let mut report = Report::default();
    // Course ids taken in this run, so two products cannot both become one course.
    let mut taken: HashMap<String, i64> = HashMap::new();
    for id in &ids {
        let result = adopt::adopt(*id, answers.get(id)).map_err(anyhow::Error::new);
        let adopted = match result.and_then(|a| admit(&a, &known, &taken, force).map(|()| a)) {
            Ok(a) => a,
            Err(e) => {
                report.products.push((*id, Imported::Failed(e)));
                continue;
            }
        };
        if !force && known.get(&adopted.course_id).and_then(|c| c.product_id) == Some(*id) {
            report.products.push((
                *id,
                Imported::Unchanged {
                    course_id: adopted.course_id,
                    product_id: *id,
                },
            ));
            continue;
        }
        taken.insert(adopted.course_id.clone(), *id);
        records.push(adopt::record(&adopted, now));
        report.products.push((*id, Imported::Recorded(adopted)));
    }
    if !records.is_empty() {
        state.put_courses(&records).map_err(state_error)?;
    }
    guard.release().map_err(state_error)?;
    Ok(report)
}

/// Whether `a` may be recorded: its course_id is not another product's (in state or earlier in
/// this run) unless `force`, and its product is not already recorded under another course_id.
fn admit(
    a: &Adopted,
    known: &BTreeMap<String, CourseRecord>,
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
        client.query(ids).await.map_err(platform_error)
    })?;
    Ok(products
        .into_iter()
        .filter_map(|p| p.product_id().map(|id| (id, p)))
        .collect())
}
