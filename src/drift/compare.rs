//! The comparison of one course's state record with what `query` answered. Pure.
//!
//! Fail safe (PRODUCT.md "Platform facts the documents leave open"): the listing is read from
//! `product_status.status` only when `query.status_means_listing` is known true, and a field the
//! answer does not carry is "not reported", never drift, unless `query.echoes_course` is known
//! true.

use serde_json::Value;

use super::report::{Change, CourseDrift, Kind, LISTED_PATH};
pub use crate::mapping::listed_of;
use crate::mapping::{MappingError, canonical_from_platform};
use crate::plan::{self, canonical};
use crate::platform::facts::KnownFacts;
use crate::platform::wire;
use crate::state::{Audit, CourseRecord};

/// Whether the platform may know `record`'s product: it has an id that is not a dead first add
/// (a rejected first add's id is void, platform-api.md §5.1).
pub fn is_checked(record: &CourseRecord) -> bool {
    record.product_id.is_some()
        && !(record.audit == Audit::Rejected && record.approved_hash.is_none())
}

/// `reported` (the platform's view) with every field it does not carry taken from `base` (what
/// was sent): objects key by key, arrays index by index; a value the platform gives wins.
pub fn fill_unreported(base: &Value, reported: &Value) -> Value {
    match (base, reported) {
        (Value::Object(b), Value::Object(r)) => {
            let mut out = b.clone();
            for (k, v) in r {
                let merged = match b.get(k) {
                    Some(bv) => fill_unreported(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(b), Value::Array(r)) => {
            let merged = (0..b.len().max(r.len()))
                .filter_map(|i| match (b.get(i), r.get(i)) {
                    (Some(bv), Some(rv)) => Some(fill_unreported(bv, rv)),
                    (bv, rv) => bv.or(rv).cloned(),
                })
                .collect();
            Value::Array(merged)
        }
        (_, r) => r.clone(),
    }
}

/// The leaf paths of `sent` that `reported` does not carry, with array indexes dropped
/// (`lessons[].file`).
pub fn unreported_paths(sent: &Value, reported: &Value) -> Vec<String> {
    let carried: std::collections::HashSet<String> = canonical::flatten(reported)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut out: Vec<String> = canonical::flatten(sent)
        .into_iter()
        .filter(|(k, _)| !carried.contains(k))
        .map(|(k, _)| without_indexes(&k))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn without_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    out
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
/// `Ok(None)` when there is nothing to report. `facts` says how far the answer can be read
/// (see the module doc).
pub fn compare(
    record: &CourseRecord,
    queried: Option<&wire::QueriedProduct>,
    uri_to_file: &dyn Fn(&str) -> Option<String>,
    facts: &KnownFacts,
) -> Result<Option<CourseDrift>, MappingError> {
    Ok(compare_reporting(record, queried, uri_to_file, facts)?.0)
}

/// [`compare`], also returning the paths of the approved payload that the answer did not carry
/// (empty when `query.echoes_course` is known true: then an absent field is drift).
pub fn compare_reporting(
    record: &CourseRecord,
    queried: Option<&wire::QueriedProduct>,
    uri_to_file: &dyn Fn(&str) -> Option<String>,
    facts: &KnownFacts,
) -> Result<(Option<CourseDrift>, Vec<String>), MappingError> {
    let Some(product_id) = record.product_id.filter(|_| is_checked(record)) else {
        return Ok((None, Vec::new()));
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
        return Ok((queried.is_none().then_some(drift), Vec::new()));
    };
    let Some(live) = live else {
        return Ok((Some(drift), Vec::new()));
    };
    let reported = canonical_from_platform(live, uri_to_file)?;
    let (platform, unreported) = if facts.query_echoes_everything() {
        (reported, Vec::new())
    } else {
        (
            fill_unreported(&approved, &reported),
            unreported_paths(&approved, &reported),
        )
    };
    drift.changes = changes(Some(&approved), &platform);
    drift.platform_listed = listed_of(live, facts);
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
        return Ok((None, unreported));
    };
    drift.platform_payload = Some(platform);
    Ok((Some(drift), unreported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{ANSWER, lookup};
    use crate::plan::canonical;
    use crate::platform::wire::{Envelope, QueryData};

    /// Every fact known as the emulator reads it by default.
    const LOCAL: KnownFacts = KnownFacts {
        add_repeat_answers_10140: Some(true),
        query_status_means_listing: Some(true),
        query_echoes_course: Some(true),
        modify_status_codes: None,
        upload_resource_types: None,
        token_new_revokes_old: None,
    };

    fn queried(answer: &str) -> wire::QueriedProduct {
        let e: Envelope<QueryData> = serde_json::from_str(answer).unwrap();
        e.data.unwrap().products[0].clone()
    }

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
        assert_eq!(compare(&dead, None, &lookup, &LOCAL), Ok(None));
        // In its first review: nothing to compare, unless the platform lost the product.
        let first = record(Audit::InReview, None);
        assert_eq!(compare(&first, Some(queried), &lookup, &LOCAL), Ok(None));
        let missing = compare(&first, None, &lookup, &LOCAL).unwrap().unwrap();
        assert_eq!(missing.kind, Kind::Missing);
        // Approved and unchanged: nothing; unknown to the platform: missing.
        let approved = record(Audit::Approved, Some(&live));
        assert_eq!(compare(&approved, Some(queried), &lookup, &LOCAL), Ok(None));
        assert_eq!(
            compare(&approved, None, &lookup, &LOCAL)
                .unwrap()
                .unwrap()
                .kind,
            Kind::Missing
        );
        // Delisted in state, listed on the platform: listing drift.
        let delisted = CourseRecord {
            listed: false,
            ..approved.clone()
        };
        let d = compare(&delisted, Some(queried), &lookup, &LOCAL)
            .unwrap()
            .unwrap();
        assert_eq!(d.kind, Kind::Listing);
        assert_eq!(d.platform_listed, Some(true));
    }

    #[test]
    fn listing_is_read_only_when_the_status_is_known_to_mean_it() {
        let full = queried(ANSWER);
        let live =
            canonical_from_platform(full.product_on_shelf.as_ref().unwrap(), &lookup).unwrap();
        let delisted = CourseRecord {
            listed: false,
            ..record(Audit::Approved, Some(&live))
        };
        // Unsettled: the status (1 here) is not read at all.
        assert_eq!(
            compare(&delisted, Some(&full), &lookup, &KnownFacts::UNSETTLED),
            Ok(None)
        );
        // Known to be an audit status: not read either.
        let audit = KnownFacts {
            query_status_means_listing: Some(false),
            ..LOCAL
        };
        assert_eq!(compare(&delisted, Some(&full), &lookup, &audit), Ok(None));
        // Known listing with other codes: 1 is neither, so nothing is concluded.
        let other_codes = KnownFacts {
            modify_status_codes: Some(crate::platform::facts::ListingCodes { list: 5, delist: 6 }),
            ..LOCAL
        };
        assert_eq!(
            compare(&delisted, Some(&full), &lookup, &other_codes),
            Ok(None)
        );
        assert!(listed_of(full.product_on_shelf.as_ref().unwrap(), &LOCAL) == Some(true));
    }

    #[test]
    fn fields_the_answer_does_not_carry_are_not_reported_unless_echo_is_known() {
        let full = queried(ANSWER);
        let live =
            canonical_from_platform(full.product_on_shelf.as_ref().unwrap(), &lookup).unwrap();
        let approved = record(Audit::Approved, Some(&live));
        // The documented sample's shape: course_info with teacher_introduction only, no
        // purchase_precaution, no details.
        let sparse = queried(
            &ANSWER
                .replace(
                    r#""course_info":{"teacher_id":"T1","institution_id":"I1","course_num":2,
          "refund_label":{"type":2,"rest_not_learn_info":{"rest_percent":30}},
          "use_label":{"valid_date":"2030-01-01"},"start_timestamp":1000,"end_timestamp":2000}"#,
                    r#""course_info":{"teacher_introduction":""}"#,
                )
                .replace(r#""purchase_precaution":"须知\n","#, ""),
        );
        assert!(
            sparse
                .product_on_shelf
                .as_ref()
                .unwrap()
                .course_info
                .as_ref()
                .unwrap()
                .teacher_id
                .is_none()
        );
        let (d, unreported) =
            compare_reporting(&approved, Some(&sparse), &lookup, &KnownFacts::UNSETTLED).unwrap();
        assert_eq!(d, None);
        assert!(
            unreported.contains(&"course.teacher_id".to_string()),
            "{unreported:?}"
        );
        assert!(
            unreported.contains(&"purchase_precaution".to_string()),
            "{unreported:?}"
        );
        // A field the answer carries still counts: a changed title is drift.
        let retitled = queried(&ANSWER.replace(" Python 入门 ", "Python 进阶"));
        let d = compare(&approved, Some(&retitled), &lookup, &KnownFacts::UNSETTLED)
            .unwrap()
            .unwrap();
        assert_eq!(d.kind, Kind::Changed);
        assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
        // Known to echo everything: an absent field is a change.
        let d = compare(&approved, Some(&sparse), &lookup, &LOCAL)
            .unwrap()
            .unwrap();
        assert!(
            d.changes
                .iter()
                .any(|c| c.path == "course.teacher_id" && c.platform.is_none())
        );
    }

    #[test]
    fn fill_unreported_keeps_what_the_platform_gives() {
        let base =
            serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [{"x": 1, "y": 2}, {"x": 3}]});
        let reported = serde_json::json!({"b": {"c": 9}, "l": [{"x": 5}], "e": 4});
        assert_eq!(
            fill_unreported(&base, &reported),
            serde_json::json!({"a": 1, "b": {"c": 9, "d": 3}, "l": [{"x": 5, "y": 2}, {"x": 3}], "e": 4})
        );
        assert_eq!(
            unreported_paths(&base, &reported),
            vec!["a", "b.d", "l[].x", "l[].y"]
        );
    }
}
