//! Adds whose outcome is unknown (PRODUCT.md "No blind re-add").
//!
//! An `add` intent is journaled with an [`AddDetail`] (the course's title, the payload sent, and
//! the dead product id it replaces after a rejected first add). When no record shows its outcome
//! — the process was killed between sending and recording — the add may have been performed.
//! Unless the platform is known to answer a repeated add with 10140, such a course is held as
//! [`Audit::UnknownOutcome`]: [`State::lost_adds`] finds them, [`JournalEntry::held_record`]
//! makes the record that `plan` and `status` show and that `apply` writes.

use serde::{Deserialize, Serialize};

use super::journal::JournalEntry;
use super::records::{Audit, CourseRecord};
use super::{State, StateError};

/// What an `add` intent remembers of its course, as JSON in the journal's `detail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddDetail {
    pub title: String,
    /// The canonical payload sent (JSON text).
    pub payload: Option<String>,
    /// The product id this add replaces (a rejected first add's dead id), if any.
    pub replaces: Option<i64>,
}

impl AddDetail {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an add detail serializes")
    }
}

impl JournalEntry {
    /// The [`AddDetail`] of an `add` intent (empty when it has none, as intents written before
    /// it existed).
    pub fn add_detail(&self) -> AddDetail {
        self.detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default()
    }

    /// Whether `record` shows the outcome of this `add`: a product other than the one it
    /// replaces, in review, approved or rejected.
    pub fn add_settled_by(&self, record: Option<&CourseRecord>) -> bool {
        let replaces = self.add_detail().replaces;
        record.is_some_and(|r| {
            r.product_id.is_some()
                && r.product_id != replaces
                && !matches!(r.audit, Audit::NotSubmitted | Audit::UnknownOutcome)
        })
    }

    /// The record of a course whose add (this intent) was lost: held, no product id known, the
    /// payload that was sent (so that an import can be checked against it).
    pub fn held_record(&self, existing: Option<&CourseRecord>) -> CourseRecord {
        let detail = self.add_detail();
        let title = if detail.title.is_empty() {
            existing.map(|r| r.title.clone()).unwrap_or_default()
        } else {
            detail.title
        };
        CourseRecord {
            course_id: self.course_id.clone(),
            title,
            product_id: None,
            audit: Audit::UnknownOutcome,
            reject_reason: None,
            listed: false,
            payload: detail.payload,
            payload_hash: self.payload_hash.clone(),
            approved_payload: None,
            approved_hash: None,
            first_applied_at: existing
                .and_then(|r| r.first_applied_at)
                .or(Some(self.started_at)),
            last_applied_at: Some(self.started_at),
            updated_at: self.started_at,
            lesson_audits: None,
        }
    }
}

impl State {
    /// The pending `add` intents whose outcome no record shows, oldest first, each with the
    /// course's current record: after a kill, these adds may or may not have been performed.
    pub fn lost_adds(&self) -> Result<Vec<(JournalEntry, Option<CourseRecord>)>, StateError> {
        let mut out = Vec::new();
        for entry in self.journal_pending()? {
            if entry.action != "add" {
                continue;
            }
            let record = self.course(&entry.course_id)?;
            if !entry.add_settled_by(record.as_ref()) {
                out.push((entry, record));
            }
        }
        Ok(out)
    }

    /// Writes the held record of a lost add and closes its intent, in one transaction.
    pub fn hold_lost_add(
        &self,
        entry: &JournalEntry,
        existing: Option<&CourseRecord>,
    ) -> Result<CourseRecord, StateError> {
        let held = entry.held_record(existing);
        self.record_result(entry.id, &held)?;
        Ok(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::records::tests::course;

    #[test]
    fn a_lost_add_is_held_until_a_record_shows_its_product() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(&dir.path().join("s.db")).unwrap();
        let detail = AddDetail {
            title: "课程".into(),
            payload: Some(r#"{"title":"课程"}"#.into()),
            replaces: None,
        };
        state
            .journal_begin("py-101", "add", Some("h1"), Some(&detail.to_json()))
            .unwrap();
        // Legacy intent without detail, for a course whose product is now recorded.
        state.journal_begin("py-102", "add", None, None).unwrap();
        state.put_course(&course("py-102")).unwrap();
        // Not an add.
        state.journal_begin("py-103", "modify", None, None).unwrap();

        let lost = state.lost_adds().unwrap();
        assert_eq!(lost.len(), 1);
        let (entry, existing) = &lost[0];
        assert_eq!(entry.course_id, "py-101");
        let held = state.hold_lost_add(entry, existing.as_ref()).unwrap();
        assert_eq!(held.audit, Audit::UnknownOutcome);
        assert_eq!(held.title, "课程");
        assert_eq!(held.payload_hash.as_deref(), Some("h1"));
        assert_eq!(held.payload.as_deref(), Some(r#"{"title":"课程"}"#));
        assert_eq!(state.course("py-101").unwrap().unwrap(), held);
        assert!(state.lost_adds().unwrap().is_empty());
    }

    #[test]
    fn a_re_add_after_a_rejection_is_not_settled_by_the_dead_id() {
        let dead = CourseRecord {
            audit: Audit::Rejected,
            product_id: Some(11),
            ..course("py-101")
        };
        let entry = JournalEntry {
            id: 1,
            course_id: "py-101".into(),
            action: "add".into(),
            payload_hash: None,
            detail: Some(
                AddDetail {
                    replaces: Some(11),
                    ..AddDetail::default()
                }
                .to_json(),
            ),
            started_at: 5,
        };
        assert!(!entry.add_settled_by(Some(&dead)));
        assert!(!entry.add_settled_by(None));
        let new = CourseRecord {
            audit: Audit::InReview,
            product_id: Some(12),
            ..dead.clone()
        };
        assert!(entry.add_settled_by(Some(&new)));
        let held = entry.held_record(Some(&dead));
        assert_eq!(held.title, dead.title);
        assert_eq!(held.product_id, None);
    }
}
