//! The comparison of one course's state record with what `query` answered. Pure.

use serde_json::Value;

use super::report::{Change, CourseDrift, Kind, LISTED_PATH};
use crate::mapping::{MappingError, canonical_from_platform};
use crate::plan;
use crate::platform::facts::listing_status;
use crate::platform::wire;
use crate::state::{Audit, CourseRecord};

/// Whether the platform may know `record`'s product: it has an id that is not a dead first add
/// (a rejected first add's id is void, platform-api.md §5.1).
pub fn is_checked(record: &CourseRecord) -> bool {
    record.product_id.is_some()
        && !(record.audit == Audit::Rejected && record.approved_hash.is_none())
}

/// The platform's listing from the live version's `product_status.status` (1 listed,
/// 2 delisted, platform-api.md §5.4 [I]); `None` when it says neither.
pub fn listed_of(version: &wire::QueriedVersion) -> Option<bool> {
    match version.product_status.as_ref()?.status? {
        listing_status::LIST => Some(true),
        listing_status::DELIST => Some(false),
        _ => None,
    }
}

fn parse(payload: Option<&str>) -> Option<Value> {
    payload.and_then(|p| serde_json::from_str(p).ok())
}

fn changes(applied: Option<&Value>, platform: &Value) -> Vec<Change> {
    plan::field_changes(applied, platform)
        .into_iter()
        .map(|f| Change {
            path: f.path,
            platform: f.new,
            applied: f.old,
        })
        .collect()
}

/// One course: its record against what `query` answered for its product (`None`: nothing).
/// `Ok(None)` when there is nothing to report.
pub fn compare(
    record: &CourseRecord,
    queried: Option<&wire::QueriedProduct>,
    uri_to_file: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<CourseDrift>, MappingError> {
    let Some(product_id) = record.product_id.filter(|_| is_checked(record)) else {
        return Ok(None);
    };
    let approved = parse(record.approved_payload.as_deref());
    let pending = record.audit == Audit::InReview && approved.is_some();
    let mut drift = CourseDrift {
        course_id: record.course_id.clone(),
        product_id,
        kind: Kind::Missing,
        changes: Vec::new(),
        pending,
        platform_payload: None,
        platform_listed: None,
    };
    let live = queried.and_then(|q| q.product_on_shelf.as_ref());
    let Some(approved) = approved else {
        // In its first review: nothing live to compare, but the platform must know the id.
        return Ok(queried.is_none().then_some(drift));
    };
    let Some(live) = live else {
        return Ok(Some(drift));
    };
    let platform = canonical_from_platform(live, uri_to_file)?;
    drift.changes = changes(Some(&approved), &platform);
    drift.platform_listed = listed_of(live);
    let content = !drift.changes.is_empty();
    let listing = drift.platform_listed.is_some_and(|l| l != record.listed);
    if listing {
        drift.changes.push(Change {
            path: LISTED_PATH.into(),
            platform: drift.platform_listed.map(Value::Bool),
            applied: Some(Value::Bool(record.listed)),
        });
    }
    drift.kind = if content {
        Kind::Changed
    } else if listing {
        Kind::Listing
    } else if pending {
        drift.changes = changes(parse(record.payload.as_deref()).as_ref(), &platform);
        Kind::Pending
    } else {
        return Ok(None);
    };
    drift.platform_payload = Some(platform);
    Ok(Some(drift))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{ANSWER, lookup};
    use crate::plan::canonical;
    use crate::platform::wire::{Envelope, QueryData};

    fn record(audit: Audit, approved: Option<&Value>) -> CourseRecord {
        CourseRecord {
            course_id: "py-101".into(),
            title: "t".into(),
            product_id: Some(77),
            audit,
            reject_reason: None,
            listed: true,
            payload: approved.map(Value::to_string),
            payload_hash: approved.map(canonical::hash),
            approved_payload: approved.map(Value::to_string),
            approved_hash: approved.map(canonical::hash),
            first_applied_at: None,
            last_applied_at: None,
            updated_at: 0,
            lesson_audits: None,
        }
    }

    #[test]
    fn compare_skips_dead_ids_and_first_reviews_and_reports_missing_products() {
        let e: Envelope<QueryData> = serde_json::from_str(ANSWER).unwrap();
        let queried = &e.data.unwrap().products[0];
        let live =
            canonical_from_platform(queried.product_on_shelf.as_ref().unwrap(), &lookup).unwrap();
        // A rejected first add: its id is dead, never asked about.
        let dead = record(Audit::Rejected, None);
        assert!(!is_checked(&dead));
        assert_eq!(compare(&dead, None, &lookup), Ok(None));
        // In its first review: nothing to compare, unless the platform lost the product.
        let first = record(Audit::InReview, None);
        assert_eq!(compare(&first, Some(queried), &lookup), Ok(None));
        let missing = compare(&first, None, &lookup).unwrap().unwrap();
        assert_eq!(missing.kind, Kind::Missing);
        // Approved and unchanged: nothing; unknown to the platform: missing.
        let approved = record(Audit::Approved, Some(&live));
        assert_eq!(compare(&approved, Some(queried), &lookup), Ok(None));
        assert_eq!(
            compare(&approved, None, &lookup).unwrap().unwrap().kind,
            Kind::Missing
        );
        // Delisted in state, listed on the platform: listing drift.
        let delisted = CourseRecord {
            listed: false,
            ..approved.clone()
        };
        let d = compare(&delisted, Some(queried), &lookup).unwrap().unwrap();
        assert_eq!(d.kind, Kind::Listing);
        assert_eq!(d.platform_listed, Some(true));
    }
}
