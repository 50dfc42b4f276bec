//! `plan --refresh`: drift folded into the planner's view of state.

use std::collections::BTreeMap;

use super::report::{Kind, LISTED_PATH, Report};
use crate::plan::{self, canonical};
use crate::state::CourseRecord;

/// Folds drift into a planner's view of state (`plan --refresh`), so that the plan puts the
/// platform back to the catalog: a drifted course's payload becomes the platform's (content
/// drift plans a modify, page drift a path-only change), its listing the platform's, and a
/// product the platform no longer knows is forgotten (planned as an add). `full` supplies the
/// complete record of a course the view holds without payloads.
pub fn fold_into(
    view: &mut plan::StateView,
    report: &Report,
    full: &BTreeMap<String, CourseRecord>,
) {
    for d in report.courses.iter().filter(|d| d.is_drift()) {
        if d.kind == Kind::Missing {
            view.courses.remove(&d.course_id);
            continue;
        }
        let Some(record) = full.get(&d.course_id) else {
            continue;
        };
        let r = view
            .courses
            .entry(d.course_id.clone())
            .or_insert_with(|| record.clone());
        if d.kind == Kind::Changed
            && let Some(platform) = &d.platform_payload
            && d.changes.iter().any(|c| c.path != LISTED_PATH)
        {
            r.payload = Some(platform.to_string());
            r.payload_hash = Some(canonical::hash(platform));
        }
        if let Some(listed) = d.platform_listed {
            r.listed = listed;
        }
    }
}
