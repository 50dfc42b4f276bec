//! `refresh`: pulls the platform's audit verdicts and upload statuses into state.
//!
//! The platform audits every `add`/`modify` asynchronously (platform-api.md §8); this module asks
//! `query_review` about every course with a live product id ([`live_product_id`]), not only those
//! in review, so that an out-of-band re-audit (a console edit, then rejected) is seen (PRODUCT.md
//! "Platform facts the documents leave open", refresh), and `query_resource_status` about each
//! upload still pending, and records what changed. It always authenticates, even with nothing to
//! ask, so a wrong secret fails a scheduled refresh. Invariants:
//! - The interpretation of a verdict ([`verdict`], [`apply_review`]) and of a reject reason
//!   ([`readable_reason`]) is pure; only [`refresh`] talks to the platform and the state.
//! - All course updates go into one `put_courses` (one transaction, one serial step), and nothing
//!   is written when nothing changed, so a no-op refresh leaves saved plans fresh.
//! - Only read endpoints are called.

use serde::Serialize;

use crate::platform::facts::{resource_status, review_status};
use crate::platform::{Client, PlatformError, wire};
use crate::state::{Audit, CourseRecord, State, StateError, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// What one `query_review` status means (platform-api.md §5.6 [C]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 1, or no status at all: no decision yet.
    Reviewing,
    /// 2.
    Passed,
    /// 3.
    Rejected,
    /// A value the documents do not name; treated like "no decision yet".
    Unknown(i64),
}

/// The verdict a `query_review` status stands for.
pub fn verdict(status: Option<i64>) -> Verdict {
    match status {
        None | Some(review_status::REVIEWING) => Verdict::Reviewing,
        Some(review_status::PASSED) => Verdict::Passed,
        Some(review_status::REJECTED) => Verdict::Rejected,
        Some(other) => Verdict::Unknown(other),
    }
}

impl Verdict {
    /// The name stored in `lesson_audits`, matching [`Audit::as_str`] where one exists.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reviewing => "in_review",
            Verdict::Passed => "approved",
            Verdict::Rejected => "rejected",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

/// The platform's reject reason made readable, or `None` when it is empty.
///
/// `query_review` sends a JSON string such as
/// `{"fail_reason":"禁入课程:非课程教学,…;课程质量:货不对板,…","position":"标题,封面"}`
/// (platform-api.md §5.6 [C]); that becomes
/// `禁入课程:非课程教学,…; 课程质量:货不对板,… (position: 标题, 封面)`. Anything that does not
/// parse that way is kept as it is (trimmed).
pub fn readable_reason(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return Some(raw.to_string());
    };
    let fail = map
        .get("fail_reason")
        .and_then(|v| join_parts(v, &[';', '；'], "; "));
    let position = map
        .get("position")
        .and_then(|v| join_parts(v, &[',', '，', '、'], ", "));
    match (fail, position) {
        (Some(fail), Some(position)) => Some(format!("{fail} (position: {position})")),
        (Some(fail), None) => Some(fail),
        (None, Some(position)) => Some(format!("(position: {position})")),
        (None, None) => Some(raw.to_string()),
    }
}

/// A string split on `separators` (or an array of strings), trimmed, empty parts dropped, joined
/// with `joiner`; `None` when nothing is left or the value is neither.
fn join_parts(value: &serde_json::Value, separators: &[char], joiner: &str) -> Option<String> {
    let parts: Vec<&str> = match value {
        serde_json::Value::String(s) => s.split(separators).collect(),
        serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str()).collect(),
        _ => return None,
    };
    let parts: Vec<&str> = parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(joiner))
}

/// One lesson's audit, as stored in `CourseRecord::lesson_audits` (a JSON array, in the order
/// the platform lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LessonAudit {
    pub uri: Option<String>,
    /// `in_review`, `approved`, `rejected` or `unknown`.
    pub status: String,
    /// The raw status when it is not one the documents name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_code: Option<i64>,
    pub reject_reason: Option<String>,
}

/// The JSON stored for a review's `fulfillment[]`; `None` when the platform listed no lesson.
pub fn lesson_audits_json(fulfillment: &[wire::FulfillmentReview]) -> Option<String> {
    if fulfillment.is_empty() {
        return None;
    }
    let lessons: Vec<LessonAudit> = fulfillment
        .iter()
        .map(|f| {
            let v = verdict(f.status);
            LessonAudit {
                uri: f.fulfillment_uri.clone().filter(|u| !u.is_empty()),
                status: v.as_str().to_string(),
                status_code: match v {
                    Verdict::Unknown(code) => Some(code),
                    _ => None,
                },
                reject_reason: f.reject_reason.as_deref().and_then(readable_reason),
            }
        })
        .collect();
    Some(serde_json::to_string(&lessons).expect("lesson audits serialize"))
}

/// The product id `refresh` asks about for `record`: its product unless that is dead. A first
/// add that was rejected leaves a dead id (platform-api.md §5.1: a new add gets a new id); every
/// other product id is alive, delisted or not.
pub fn live_product_id(record: &CourseRecord) -> Option<i64> {
    let id = record.product_id?;
    let dead = record.audit == Audit::Rejected && record.approved_hash.is_none();
    (!dead).then_some(id)
}

/// `record` after the platform's `review`, or `None` when nothing changes. Pure.
///
/// Passed: approved, the submitted payload becomes the approved (live) one, and a first approval
/// lists the course, because the platform lists an approved add by itself (platform-api.md §5.1,
/// §8). Rejected: the reason made readable; the approved version, if any, stays live and the
/// listing is left as it is; for an approved course that is an out-of-band re-audit that failed.
/// Still reviewing: only the lessons' audits may change.
///
/// A pass reported for a course recorded as rejected changes nothing: only an out-of-band version
/// can have passed, whose content coursesync does not know, and a platform whose `query_review`
/// reported the live version's status after a rejected modify would otherwise erase the
/// rejection (PRODUCT.md "Fail safe"); `drift` shows what is live.
pub fn apply_review(
    record: &CourseRecord,
    review: &wire::Review,
    now: i64,
) -> Option<CourseRecord> {
    let mut next = record.clone();
    let course = review.course.clone().unwrap_or_default();
    match verdict(course.status) {
        Verdict::Passed if record.audit == Audit::Rejected => return None,
        Verdict::Passed => {
            if record.approved_hash.is_none() {
                next.listed = true;
            }
            next.audit = Audit::Approved;
            next.approved_payload.clone_from(&record.payload);
            next.approved_hash.clone_from(&record.payload_hash);
            next.reject_reason = None;
        }
        Verdict::Rejected => {
            next.audit = Audit::Rejected;
            next.reject_reason = course.reject_reason.as_deref().and_then(readable_reason);
        }
        Verdict::Reviewing | Verdict::Unknown(_) => return None,
    }
    if let Some(lessons) = lesson_audits_json(&review.fulfillment) {
        next.lesson_audits = Some(lessons);
    }
    if next == *record {
        return None;
    }
    next.updated_at = now;
    Some(next)
}

/// A course whose record changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseChange {
    pub course_id: String,
    pub product_id: i64,
    pub from: Audit,
    pub to: Audit,
    /// The readable reason when `to` is rejected.
    pub reject_reason: Option<String>,
    /// The course became listed (a first approval).
    pub listed: bool,
}

/// An upload whose status changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub sha256: String,
    pub resource_type: i64,
    pub uri: String,
    pub url: String,
    pub from: i64,
    pub to: i64,
}

/// A pending upload the platform would not answer about (an API error such as an unknown uri).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFailure {
    pub uri: String,
    pub url: String,
    pub message: String,
}

/// What a refresh found and recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// Changed courses, by course_id.
    pub courses: Vec<CourseChange>,
    /// Changed uploads, by (sha256, resource_type).
    pub resources: Vec<ResourceChange>,
    /// Courses asked about and still in review.
    pub still_in_review: usize,
    /// Courses asked about (those with a live product id).
    pub asked: usize,
    /// Courses whose product the platform did not answer about, by course_id.
    pub unknown_products: Vec<(String, i64)>,
    /// Uploads asked about and still uploading.
    pub still_uploading: usize,
    pub resource_failures: Vec<ResourceFailure>,
}

impl RefreshReport {
    /// Nothing was written.
    pub fn is_unchanged(&self) -> bool {
        self.courses.is_empty() && self.resources.is_empty()
    }
}

/// The upload status to record for what `query_resource_status` answered, or `None` to leave
/// the record alone (a value the documents do not name, platform-api.md §6.2 [I]).
pub fn resource_outcome(status: i64) -> Option<i64> {
    matches!(
        status,
        resource_status::UPLOADING | resource_status::DONE | resource_status::FAILED
    )
    .then_some(status)
}

/// Asks the platform about every course with a live product id (batches of at most 500 ids)
/// and every pending upload, and records what changed. Course updates are written in one
/// transaction before uploads are asked about, so an upload query that fails loses no verdict.
/// With nothing to ask it still authenticates ([`Client::authenticate`]). The caller holds the
/// state lock.
pub async fn refresh(client: &Client, state: &State) -> Result<RefreshReport, RefreshError> {
    let mut report = RefreshReport::default();
    // The small columns are enough to decide; payload bodies are read only for a change.
    let live: Vec<(i64, CourseRecord)> = state
        .courses_without_payloads()?
        .into_values()
        .filter_map(|c| Some((live_product_id(&c)?, c)))
        .collect();
    let mut pending: Vec<_> = state
        .resources()?
        .into_values()
        .filter(|r| r.status == resource_status::UPLOADING)
        .collect();
    if live.is_empty() && pending.is_empty() {
        client.authenticate().await?;
    }
    report.asked = live.len();
    if !live.is_empty() {
        let ids: Vec<i64> = live.iter().map(|(id, _)| *id).collect();
        let reviews = client.query_review(&ids).await?;
        let now = now_ms();
        let mut updates = Vec::new();
        for (product_id, light) in live {
            let Some(review) = reviews.get(&product_id) else {
                report.unknown_products.push((light.course_id, product_id));
                continue;
            };
            if apply_review(&light, review, now).is_none() {
                if light.audit == Audit::InReview {
                    report.still_in_review += 1;
                }
                continue;
            }
            let Some(record) = state.course(&light.course_id)? else {
                continue;
            };
            let Some(next) = apply_review(&record, review, now) else {
                continue;
            };
            report.courses.push(CourseChange {
                course_id: record.course_id.clone(),
                product_id,
                from: record.audit,
                to: next.audit,
                reject_reason: next
                    .reject_reason
                    .clone()
                    .filter(|_| next.audit == Audit::Rejected),
                listed: next.listed && !record.listed,
            });
            updates.push(next);
        }
        if !updates.is_empty() {
            state.put_courses(&updates)?;
        }
    }

    pending.sort_by(|a, b| (&a.sha256, a.resource_type).cmp(&(&b.sha256, b.resource_type)));
    let answers =
        futures::future::join_all(pending.iter().map(|r| client.query_resource_status(&r.uri)))
            .await;
    let now = now_ms();
    for (record, answer) in pending.into_iter().zip(answers) {
        let status = match answer {
            Ok(status) => status,
            // An API error is about this upload (an unknown uri, say); anything else (transport,
            // token) would fail every other query too.
            Err(e @ PlatformError::Api { .. }) => {
                report.resource_failures.push(ResourceFailure {
                    uri: record.uri.clone(),
                    url: record.url.clone(),
                    message: e.to_string(),
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match resource_outcome(status) {
            Some(to) if to != record.status => {
                let mut next = record.clone();
                next.status = to;
                next.updated_at = now;
                state.put_resource(&next)?;
                report.resources.push(ResourceChange {
                    sha256: record.sha256,
                    resource_type: record.resource_type,
                    uri: record.uri,
                    url: record.url,
                    from: record.status,
                    to,
                });
            }
            _ => report.still_uploading += 1,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(audit: Audit) -> CourseRecord {
        CourseRecord {
            course_id: "py-101".into(),
            title: "Python 入门教程".into(),
            product_id: Some(7),
            audit,
            reject_reason: None,
            listed: false,
            payload: Some(r#"{"title":"v2"}"#.into()),
            payload_hash: Some("h2".into()),
            approved_payload: None,
            approved_hash: None,
            first_applied_at: Some(1),
            last_applied_at: Some(2),
            updated_at: 2,
            lesson_audits: None,
        }
    }

    fn review(status: i64, reason: &str) -> wire::Review {
        wire::Review {
            course: Some(wire::ReviewItem {
                status: Some(status),
                reject_reason: Some(reason.into()),
                latest_audit_id: Some("KNC1".into()),
            }),
            fulfillment: Vec::new(),
        }
    }

    #[test]
    fn statuses_map_to_verdicts() {
        assert_eq!(verdict(Some(1)), Verdict::Reviewing);
        assert_eq!(verdict(None), Verdict::Reviewing);
        assert_eq!(verdict(Some(2)), Verdict::Passed);
        assert_eq!(verdict(Some(3)), Verdict::Rejected);
        assert_eq!(verdict(Some(9)), Verdict::Unknown(9));
    }

    #[test]
    fn reason_from_the_documented_sample() {
        let raw = r#"{"fail_reason":"禁入课程:非课程教学,…;课程质量:货不对板,…","position":"标题,封面,画面,音频"}"#;
        assert_eq!(
            readable_reason(raw).as_deref(),
            Some("禁入课程:非课程教学,…; 课程质量:货不对板,… (position: 标题, 封面, 画面, 音频)")
        );
    }

    #[test]
    fn reason_edge_cases() {
        assert_eq!(
            readable_reason(r#"{"fail_reason":"通过;","position":""}"#).as_deref(),
            Some("通过")
        );
        assert_eq!(
            readable_reason(r#"{"fail_reason":"课程价格不合理","position":"标题"}"#).as_deref(),
            Some("课程价格不合理 (position: 标题)")
        );
        assert_eq!(
            readable_reason(r#"{"fail_reason":["a","b"]}"#).as_deref(),
            Some("a; b")
        );
        assert_eq!(readable_reason("  ").as_deref(), None);
        assert_eq!(readable_reason("").as_deref(), None);
        // Not the documented shape: kept as it is.
        assert_eq!(
            readable_reason("课程存在违法信息").as_deref(),
            Some("课程存在违法信息")
        );
        assert_eq!(readable_reason("{broken").as_deref(), Some("{broken"));
        assert_eq!(
            readable_reason(r#"{"other":1}"#).as_deref(),
            Some(r#"{"other":1}"#)
        );
        assert_eq!(readable_reason("[1,2]").as_deref(), Some("[1,2]"));
    }

    #[test]
    fn first_approval_lists_and_records_the_live_version() {
        let next = apply_review(&record(Audit::InReview), &review(2, ""), 99).unwrap();
        assert_eq!(next.audit, Audit::Approved);
        assert!(next.listed);
        assert_eq!(next.approved_hash.as_deref(), Some("h2"));
        assert_eq!(next.approved_payload, next.payload);
        assert_eq!(next.reject_reason, None);
        assert_eq!(next.updated_at, 99);
    }

    #[test]
    fn approved_modify_keeps_the_listing() {
        let mut before = record(Audit::InReview);
        before.approved_hash = Some("h1".into());
        before.approved_payload = Some(r#"{"title":"v1"}"#.into());
        let next = apply_review(&before, &review(2, ""), 99).unwrap();
        assert_eq!(next.audit, Audit::Approved);
        assert!(
            !next.listed,
            "a delisted course stays delisted after a modify passes"
        );
        assert_eq!(next.approved_hash.as_deref(), Some("h2"));
    }

    #[test]
    fn rejected_modify_keeps_the_live_version() {
        let mut before = record(Audit::InReview);
        before.listed = true;
        before.approved_hash = Some("h1".into());
        let next = apply_review(
            &before,
            &review(3, r#"{"fail_reason":"课程价格不合理","position":"标题"}"#),
            99,
        )
        .unwrap();
        assert_eq!(next.audit, Audit::Rejected);
        assert_eq!(
            next.reject_reason.as_deref(),
            Some("课程价格不合理 (position: 标题)")
        );
        assert_eq!(next.approved_hash.as_deref(), Some("h1"));
        assert!(next.listed);
    }

    #[test]
    fn live_products_are_all_but_a_rejected_first_add() {
        assert_eq!(live_product_id(&record(Audit::InReview)), Some(7));
        assert_eq!(live_product_id(&record(Audit::Approved)), Some(7));
        let mut first_add_rejected = record(Audit::Rejected);
        assert_eq!(live_product_id(&first_add_rejected), None);
        first_add_rejected.approved_hash = Some("h1".into());
        assert_eq!(
            live_product_id(&first_add_rejected),
            Some(7),
            "a rejected modify"
        );
        let mut none = record(Audit::NotSubmitted);
        none.product_id = None;
        assert_eq!(live_product_id(&none), None);
    }

    #[test]
    fn an_approved_course_rejected_at_a_re_audit_keeps_its_live_version() {
        let mut before = record(Audit::Approved);
        before.listed = true;
        before.approved_hash = Some("h2".into());
        before.approved_payload = before.payload.clone();
        let next = apply_review(&before, &review(3, "控制台修改被拒"), 99).unwrap();
        assert_eq!(next.audit, Audit::Rejected);
        assert_eq!(next.reject_reason.as_deref(), Some("控制台修改被拒"));
        assert_eq!(next.approved_hash.as_deref(), Some("h2"));
        assert!(next.listed);
        assert_eq!(apply_review(&before, &review(2, ""), 99), None);
    }

    #[test]
    fn a_pass_reported_for_a_rejected_course_changes_nothing() {
        let mut before = record(Audit::Rejected);
        before.approved_hash = Some("h1".into());
        before.reject_reason = Some("r".into());
        assert_eq!(apply_review(&before, &review(2, ""), 99), None);
    }

    #[test]
    fn still_reviewing_changes_nothing() {
        assert_eq!(
            apply_review(&record(Audit::InReview), &review(1, ""), 99),
            None
        );
        assert_eq!(
            apply_review(&record(Audit::InReview), &review(7, ""), 99),
            None
        );
        assert_eq!(
            apply_review(&record(Audit::InReview), &wire::Review::default(), 99),
            None
        );
    }

    #[test]
    fn lesson_audits_are_recorded_with_the_verdict() {
        let mut r = review(1, "");
        r.fulfillment = vec![
            wire::FulfillmentReview {
                status: Some(2),
                reject_reason: Some(String::new()),
                latest_audit_id: None,
                fulfillment_uri: Some("product/resource/1".into()),
            },
            wire::FulfillmentReview {
                status: Some(3),
                reject_reason: Some(r#"{"fail_reason":"禁入课程","position":"音频"}"#.into()),
                latest_audit_id: None,
                fulfillment_uri: Some("product/resource/2".into()),
            },
        ];
        assert_eq!(
            apply_review(&record(Audit::InReview), &r, 99),
            None,
            "no verdict yet: the lessons wait for it"
        );
        r.course.as_mut().unwrap().status = Some(3);
        let next = apply_review(&record(Audit::InReview), &r, 99).unwrap();
        assert_eq!(next.audit, Audit::Rejected);
        let lessons: Vec<LessonAudit> =
            serde_json::from_str(next.lesson_audits.as_deref().unwrap()).unwrap();
        assert_eq!(lessons[0].status, "approved");
        assert_eq!(lessons[0].reject_reason, None);
        assert_eq!(lessons[1].status, "rejected");
        assert_eq!(
            lessons[1].reject_reason.as_deref(),
            Some("禁入课程 (position: 音频)")
        );
        assert_eq!(
            apply_review(&next, &r, 100),
            None,
            "the same answer again is no change"
        );
    }

    #[test]
    fn only_named_upload_statuses_are_recorded() {
        assert_eq!(resource_outcome(1), Some(1));
        assert_eq!(resource_outcome(2), Some(2));
        assert_eq!(resource_outcome(3), Some(3));
        assert_eq!(resource_outcome(0), None);
        assert_eq!(resource_outcome(4), None);
    }
}
