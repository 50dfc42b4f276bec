//! The network half of drift: one `query` for every course that may be live.

use std::collections::{BTreeMap, HashMap};

use super::compare::{compare, is_checked};
use super::report::{CourseError, FORMAT_VERSION, Report};
use crate::mapping::file_values;
use crate::platform::{Client, PlatformError, wire};
use crate::state::{CourseRecord, ResourceRecord};

/// Queries every checked course of `courses` (full records: the approved payloads are needed)
/// and compares each. Calls only the read endpoint `query`, in batches of at most 500.
pub async fn check(
    client: &Client,
    courses: &BTreeMap<String, CourseRecord>,
    resources: &HashMap<(String, i64), ResourceRecord>,
) -> Result<Report, PlatformError> {
    let mut ids: Vec<i64> = courses
        .values()
        .filter(|r| is_checked(r))
        .filter_map(|r| r.product_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let answered: HashMap<i64, wire::QueriedProduct> = if ids.is_empty() {
        HashMap::new()
    } else {
        client
            .query(&ids)
            .await?
            .into_iter()
            .filter_map(|p| Some((p.product_id()?, p)))
            .collect()
    };
    let files = file_values(resources);
    let lookup = |uri: &str| files.get(uri).cloned();
    let mut report = Report {
        format_version: FORMAT_VERSION,
        ..Report::default()
    };
    for record in courses.values() {
        let queried = record.product_id.and_then(|id| answered.get(&id));
        match compare(record, queried, &lookup) {
            Ok(Some(d)) => report.courses.push(d),
            Ok(None) => {}
            Err(e) => report.errors.push(CourseError {
                course_id: record.course_id.clone(),
                message: e.to_string(),
            }),
        }
    }
    Ok(report)
}
