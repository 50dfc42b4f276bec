//! The status report: a [`Report`] value built from the state (and from a drift check when one
//! was asked for), rendered by [`html::render`] to one self-contained HTML page.
//!
//! The model is plain data, sorted by course_id, with nothing of HTML in it; everything a page
//! shows beyond it (counts, reject reasons grouped, highlights) is derived here by pure
//! functions, so it is tested without a browser. Invariants:
//! - One [`CourseRow`] per course in state, in course_id order.
//! - `held` comes from the audit state alone ([`AuditStyle::held`]); `blocked` from the reasons
//!   the caller passes in (the roles preflight), by course_id. A blocked course_id that is not
//!   in state is still listed by [`Report::blocked`], with no row.

pub mod html;

use std::collections::BTreeMap;

use crate::drift::{self, Kind};
use crate::state::{Audit, CourseRecord};

/// Every audit state in the order the page counts them. Keep in step with [`audit_style`]:
/// its match is exhaustive, so a new [`Audit`] variant fails to compile there first.
pub const AUDIT_ORDER: [Audit; 5] = [
    Audit::Approved,
    Audit::InReview,
    Audit::Rejected,
    Audit::UnknownOutcome,
    Audit::NotSubmitted,
];

/// How the page names and marks an audit state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditStyle {
    /// The state's stable name (`Audit::as_str`), used in `data-audit` and the filter.
    pub key: &'static str,
    /// In words, for people.
    pub words: &'static str,
    /// A course in this state is "held": an add whose answer was lost, held until resolved.
    pub held: bool,
}

/// The one place that maps audit states to what the page shows (exhaustive on purpose).
pub fn audit_style(audit: Audit) -> AuditStyle {
    match audit {
        Audit::NotSubmitted => AuditStyle {
            key: "not_submitted",
            words: "not submitted",
            held: false,
        },
        Audit::InReview => AuditStyle {
            key: "in_review",
            words: "in review",
            held: false,
        },
        Audit::Approved => AuditStyle {
            key: "approved",
            words: "approved",
            held: false,
        },
        Audit::Rejected => AuditStyle {
            key: "rejected",
            words: "rejected",
            held: false,
        },
        Audit::UnknownOutcome => AuditStyle {
            key: "unknown_outcome",
            words: "outcome unknown (held)",
            held: true,
        },
    }
}

/// Where the page's facts come from, besides the courses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub appid: String,
    /// `local`, `sandbox` or `production`.
    pub environment: String,
    /// The state file, relative to the settings file's directory when it is below it.
    pub state_path: String,
    /// False when there is no state file yet (the report is then empty).
    pub state_exists: bool,
    /// When the report was made, Unix ms.
    pub generated_at: i64,
}

/// The report: what one page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub meta: Meta,
    /// The latest change recorded in state for any course (by apply or refresh), Unix ms. The
    /// state keeps no time of the last refresh itself, and a refresh that finds nothing new
    /// writes nothing, so this is "state last changed", not "last refreshed".
    pub state_changed_at: Option<i64>,
    /// `None` when no drift check was asked for (the page then has no drift column).
    pub drift: Option<DriftSummary>,
    /// By course_id.
    pub courses: Vec<CourseRow>,
    /// Courses the roles preflight blocked that are not in state: (course_id, reason).
    pub blocked_not_in_state: Vec<(String, String)>,
}

/// The drift check's outcome as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftSummary {
    /// `Drift: N courses differ, M pending review, K unknown to the platform.`
    pub summary_line: String,
    /// Courses whose platform view could not be read.
    pub errors: usize,
    /// What the platform's answers did not tell (listing, fields), one line each.
    pub not_reported: Vec<String>,
}

/// One course's line in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRow {
    pub course_id: String,
    pub title: String,
    pub product_id: Option<i64>,
    pub audit: Audit,
    pub reject_reason: Option<String>,
    pub listed: bool,
    /// Unix ms.
    pub last_applied_at: Option<i64>,
    /// `None` when no drift check was made.
    pub drift: Option<DriftCell>,
    /// Held: an add whose answer was lost (see [`AuditStyle::held`]).
    pub held: bool,
    /// Why the roles preflight blocked this course, when it did.
    pub blocked: Option<String>,
}

/// What the drift check found for one course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftCell {
    /// Compared: the platform shows what was last approved.
    None,
    /// Not compared: the platform cannot know it (no product id, or a rejected first add).
    NotChecked,
    /// The live content differs; the changed paths (`listed` among them when the listing does).
    Changed(Vec<String>),
    /// Only the listing differs; what the platform shows.
    Listing { platform_listed: Option<bool> },
    /// The platform no longer knows the product.
    Missing,
    /// No drift, but a modify is in review; the paths it changes.
    Pending(Vec<String>),
    /// The platform's view could not be read.
    Error(String),
}

impl DriftCell {
    /// Whether this is drift (what `drift` exits 2 for).
    pub fn is_drift(&self) -> bool {
        matches!(
            self,
            DriftCell::Changed(_) | DriftCell::Listing { .. } | DriftCell::Missing
        )
    }

    /// In words, for the table.
    pub fn words(&self) -> String {
        match self {
            DriftCell::None => "none".into(),
            DriftCell::NotChecked => "not checked (no live product)".into(),
            DriftCell::Changed(paths) => format!("changed: {}", paths.join(", ")),
            DriftCell::Listing { platform_listed } => match platform_listed {
                Some(true) => "listing: listed on the platform".into(),
                Some(false) => "listing: delisted on the platform".into(),
                None => "listing differs".into(),
            },
            DriftCell::Missing => "unknown to the platform".into(),
            DriftCell::Pending(paths) if paths.is_empty() => "pending review".into(),
            DriftCell::Pending(paths) => format!("pending review: {}", paths.join(", ")),
            DriftCell::Error(message) => format!("not readable: {message}"),
        }
    }
}

/// One reject reason and the courses rejected for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectGroup<'a> {
    pub reason: &'a str,
    pub courses: Vec<&'a CourseRow>,
}

impl Report {
    /// Builds the report from the state's course records, the drift check's report when one was
    /// made, and the roles preflight's reasons by course_id (empty when there are none).
    pub fn build(
        meta: Meta,
        records: &BTreeMap<String, CourseRecord>,
        drift: Option<&drift::Report>,
        blocked: &BTreeMap<String, String>,
    ) -> Report {
        let drift_by_course: BTreeMap<&str, &drift::CourseDrift> = drift
            .map(|d| {
                d.courses
                    .iter()
                    .map(|c| (c.course_id.as_str(), c))
                    .collect()
            })
            .unwrap_or_default();
        let errors_by_course: BTreeMap<&str, &str> = drift
            .map(|d| {
                d.errors
                    .iter()
                    .map(|e| (e.course_id.as_str(), e.message.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let courses = records
            .values()
            .map(|r| CourseRow {
                course_id: r.course_id.clone(),
                title: r.title.clone(),
                product_id: r.product_id,
                audit: r.audit,
                reject_reason: r.reject_reason.clone(),
                listed: r.listed,
                last_applied_at: r.last_applied_at,
                drift: drift.map(|_| {
                    drift_cell(
                        r,
                        drift_by_course.get(r.course_id.as_str()).copied(),
                        errors_by_course.get(r.course_id.as_str()).copied(),
                    )
                }),
                held: audit_style(r.audit).held,
                blocked: blocked.get(&r.course_id).cloned(),
            })
            .collect();
        let blocked_not_in_state = blocked
            .iter()
            .filter(|(id, _)| !records.contains_key(*id))
            .map(|(id, reason)| (id.clone(), reason.clone()))
            .collect();
        Report {
            meta,
            state_changed_at: records.values().map(|r| r.updated_at).max(),
            drift: drift.map(|d| DriftSummary {
                summary_line: d.summary_line(),
                not_reported: d.not_reported_lines(),
                errors: d.errors.len(),
            }),
            courses,
            blocked_not_in_state,
        }
    }

    /// How many courses are in each audit state, in [`AUDIT_ORDER`], zeros included.
    pub fn counts(&self) -> Vec<(Audit, usize)> {
        AUDIT_ORDER
            .iter()
            .map(|&a| (a, self.courses.iter().filter(|c| c.audit == a).count()))
            .collect()
    }

    /// Rejected courses grouped by reason: the most common reason first, then by reason; the
    /// courses of a group by course_id. A rejected course without a reason is grouped under
    /// `no reason given`.
    pub fn reject_groups(&self) -> Vec<RejectGroup<'_>> {
        let mut groups: BTreeMap<&str, Vec<&CourseRow>> = BTreeMap::new();
        for c in self.courses.iter().filter(|c| c.audit == Audit::Rejected) {
            let reason = c.reject_reason.as_deref().unwrap_or(NO_REASON);
            groups.entry(reason).or_default().push(c);
        }
        let mut groups: Vec<RejectGroup<'_>> = groups
            .into_iter()
            .map(|(reason, courses)| RejectGroup { reason, courses })
            .collect();
        // Stable: equal counts keep the reasons' order.
        groups.sort_by_key(|g| std::cmp::Reverse(g.courses.len()));
        groups
    }

    /// Courses held (an add whose answer was lost), by course_id.
    pub fn held(&self) -> Vec<&CourseRow> {
        self.courses.iter().filter(|c| c.held).collect()
    }

    /// Courses the roles preflight blocked: (course_id, its row when it is in state, reason),
    /// by course_id.
    pub fn blocked(&self) -> Vec<(&str, Option<&CourseRow>, &str)> {
        let mut out: Vec<(&str, Option<&CourseRow>, &str)> = self
            .courses
            .iter()
            .filter_map(|c| Some((c.course_id.as_str(), Some(c), c.blocked.as_deref()?)))
            .chain(
                self.blocked_not_in_state
                    .iter()
                    .map(|(id, reason)| (id.as_str(), None, reason.as_str())),
            )
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Courses whose drift cell is drift.
    pub fn drifted(&self) -> usize {
        self.courses
            .iter()
            .filter(|c| c.drift.as_ref().is_some_and(DriftCell::is_drift))
            .count()
    }
}

/// How a rejected course without a reason is grouped.
pub const NO_REASON: &str = "no reason given";

fn drift_cell(
    record: &CourseRecord,
    found: Option<&drift::CourseDrift>,
    error: Option<&str>,
) -> DriftCell {
    if let Some(message) = error {
        return DriftCell::Error(message.to_string());
    }
    let paths = |d: &drift::CourseDrift| d.changes.iter().map(|c| c.path.clone()).collect();
    match found {
        Some(d) => match d.kind {
            Kind::Changed => DriftCell::Changed(paths(d)),
            Kind::Listing => DriftCell::Listing {
                platform_listed: d.platform_listed,
            },
            Kind::Missing => DriftCell::Missing,
            Kind::Pending => DriftCell::Pending(paths(d)),
        },
        None if drift::is_checked(record) => DriftCell::None,
        None => DriftCell::NotChecked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{Change, CourseDrift, CourseError};

    fn record(id: &str, audit: Audit, product_id: Option<i64>) -> CourseRecord {
        CourseRecord {
            course_id: id.into(),
            title: format!("课程 {id}"),
            product_id,
            audit,
            reject_reason: None,
            listed: audit == Audit::Approved,
            payload: None,
            payload_hash: Some("h".into()),
            approved_payload: None,
            approved_hash: (audit == Audit::Approved).then(|| "h".into()),
            first_applied_at: Some(1_000),
            last_applied_at: Some(2_000),
            updated_at: 3_000,
            lesson_audits: None,
        }
    }

    fn meta() -> Meta {
        Meta {
            appid: "tt_app".into(),
            environment: "local".into(),
            state_path: "state/coursesync.db".into(),
            state_exists: true,
            generated_at: 9_000,
        }
    }

    fn records(list: Vec<CourseRecord>) -> BTreeMap<String, CourseRecord> {
        list.into_iter().map(|r| (r.course_id.clone(), r)).collect()
    }

    fn rejected(id: &str, reason: Option<&str>) -> CourseRecord {
        CourseRecord {
            reject_reason: reason.map(str::to_string),
            ..record(id, Audit::Rejected, Some(7))
        }
    }

    #[test]
    fn rows_follow_state_in_course_id_order_with_counts_zeros_included() {
        let mut late = record("b", Audit::InReview, Some(2));
        late.updated_at = 5_000;
        let state = records(vec![
            late,
            record("a", Audit::Approved, Some(1)),
            record("c", Audit::NotSubmitted, None),
        ]);
        let report = Report::build(meta(), &state, None, &BTreeMap::new());
        let ids: Vec<&str> = report
            .courses
            .iter()
            .map(|c| c.course_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(report.courses[0].title, "课程 a");
        assert_eq!(report.courses[0].product_id, Some(1));
        assert!(report.courses[0].listed);
        assert_eq!(report.courses[0].last_applied_at, Some(2_000));
        assert_eq!(report.state_changed_at, Some(5_000));
        assert_eq!(report.drift, None);
        assert!(report.courses.iter().all(|c| c.drift.is_none()));
        assert_eq!(
            report.counts(),
            [
                (Audit::Approved, 1),
                (Audit::InReview, 1),
                (Audit::Rejected, 0),
                (Audit::UnknownOutcome, 0),
                (Audit::NotSubmitted, 1),
            ]
        );
    }

    #[test]
    fn an_empty_state_is_an_empty_report() {
        let report = Report::build(meta(), &BTreeMap::new(), None, &BTreeMap::new());
        assert!(report.courses.is_empty());
        assert_eq!(report.state_changed_at, None);
        assert!(report.counts().iter().all(|(_, n)| *n == 0));
        assert!(report.reject_groups().is_empty());
    }

    #[test]
    fn reject_reasons_group_most_common_first() {
        let state = records(vec![
            rejected("r1", Some("课程质量:货不对板 (position: 封面)")),
            rejected("r2", Some("禁入课程:非课程教学 (position: 标题)")),
            rejected("r3", Some("禁入课程:非课程教学 (position: 标题)")),
            rejected("r4", None),
            record("ok", Audit::Approved, Some(1)),
        ]);
        let report = Report::build(meta(), &state, None, &BTreeMap::new());
        let groups: Vec<(&str, Vec<&str>)> = report
            .reject_groups()
            .iter()
            .map(|g| {
                (
                    g.reason,
                    g.courses.iter().map(|c| c.course_id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            groups,
            [
                ("禁入课程:非课程教学 (position: 标题)", vec!["r2", "r3"]),
                ("no reason given", vec!["r4"]),
                ("课程质量:货不对板 (position: 封面)", vec!["r1"]),
            ]
        );
    }

    #[test]
    fn blocked_reasons_mark_rows_and_list_courses_not_in_state() {
        let state = records(vec![
            record("a", Audit::Approved, Some(1)),
            record("b", Audit::NotSubmitted, None),
        ]);
        let blocked: BTreeMap<String, String> = [
            ("b".to_string(), "role teacher E_1 not bound".to_string()),
            ("new".to_string(), "no institution role".to_string()),
        ]
        .into();
        let report = Report::build(meta(), &state, None, &blocked);
        assert_eq!(report.courses[0].blocked, None);
        assert_eq!(
            report.courses[1].blocked.as_deref(),
            Some("role teacher E_1 not bound")
        );
        let listed: Vec<(&str, bool, &str)> = report
            .blocked()
            .into_iter()
            .map(|(id, row, reason)| (id, row.is_some(), reason))
            .collect();
        assert_eq!(
            listed,
            [
                ("b", true, "role teacher E_1 not bound"),
                ("new", false, "no institution role"),
            ]
        );
        // No state course is held by any state this build knows of.
        assert!(report.held().is_empty());
    }

    #[test]
    fn held_rows_are_listed() {
        let mut report = Report::build(
            meta(),
            &records(vec![
                record("a", Audit::InReview, Some(1)),
                record("b", Audit::InReview, Some(2)),
            ]),
            None,
            &BTreeMap::new(),
        );
        report.courses[1].held = true;
        let held: Vec<&str> = report.held().iter().map(|c| c.course_id.as_str()).collect();
        assert_eq!(held, ["b"]);
    }

    #[test]
    fn drift_cells_per_course() {
        let change = |path: &str| Change {
            path: path.into(),
            platform: None,
            applied: None,
        };
        let entry = |id: &str, kind: Kind, changes: Vec<Change>| CourseDrift {
            course_id: id.into(),
            product_id: 1,
            kind,
            changes,
            pending: kind == Kind::Pending,
            platform_payload: None,
            platform_listed: (kind == Kind::Listing).then_some(false),
        };
        let check = drift::Report {
            format_version: drift::FORMAT_VERSION,
            courses: vec![
                entry(
                    "changed",
                    Kind::Changed,
                    vec![change("title"), change("listed")],
                ),
                entry("delisted", Kind::Listing, vec![change("listed")]),
                entry("gone", Kind::Missing, vec![]),
                entry("pending", Kind::Pending, vec![change("price.real_price")]),
            ],
            errors: vec![CourseError {
                course_id: "odd".into(),
                message: "unknown fulfillment_type 9".into(),
            }],
            listing_reported: false,
            not_reported: vec!["course_info.teacher_introduction".into()],
        };
        let state = records(vec![
            record("changed", Audit::Approved, Some(1)),
            record("delisted", Audit::Approved, Some(2)),
            record("gone", Audit::Approved, Some(3)),
            record("pending", Audit::InReview, Some(4)),
            record("odd", Audit::Approved, Some(5)),
            record("same", Audit::Approved, Some(6)),
            record("new", Audit::NotSubmitted, None),
            rejected("void", Some("x")),
        ]);
        let report = Report::build(meta(), &state, Some(&check), &BTreeMap::new());
        let cell = |id: &str| {
            report
                .courses
                .iter()
                .find(|c| c.course_id == id)
                .and_then(|c| c.drift.clone())
                .unwrap()
        };
        assert_eq!(
            cell("changed"),
            DriftCell::Changed(vec!["title".into(), "listed".into()])
        );
        assert_eq!(cell("changed").words(), "changed: title, listed");
        assert_eq!(
            cell("delisted").words(),
            "listing: delisted on the platform"
        );
        assert_eq!(cell("gone"), DriftCell::Missing);
        assert_eq!(cell("pending").words(), "pending review: price.real_price");
        assert!(!cell("pending").is_drift());
        assert_eq!(
            cell("odd"),
            DriftCell::Error("unknown fulfillment_type 9".into())
        );
        assert_eq!(cell("same"), DriftCell::None);
        assert_eq!(cell("new"), DriftCell::NotChecked);
        // A rejected first add has a void id: not checked.
        assert_eq!(cell("void"), DriftCell::NotChecked);
        assert_eq!(report.drifted(), 3);
        let summary = report.drift.as_ref().unwrap();
        assert_eq!(summary.errors, 1);
        assert_eq!(
            summary.summary_line,
            "Drift: 2 courses differ, 1 pending review, 1 unknown to the platform."
        );
        // What the answers did not tell reaches the page, one line each.
        assert_eq!(summary.not_reported.len(), 2);
        assert!(summary.not_reported[0].starts_with("Listing: not reported"));
        assert!(summary.not_reported[1].contains("course_info.teacher_introduction"));
    }

    #[test]
    fn a_held_course_is_marked_held() {
        assert!(audit_style(Audit::UnknownOutcome).held);
        assert!(AUDIT_ORDER.contains(&Audit::UnknownOutcome));
        let held = AUDIT_ORDER.iter().filter(|&&a| audit_style(a).held).count();
        assert_eq!(held, 1, "only unknown_outcome is held");
    }

    #[test]
    fn every_audit_state_has_a_distinct_key_and_is_counted() {
        let keys: std::collections::BTreeSet<&str> =
            AUDIT_ORDER.iter().map(|&a| audit_style(a).key).collect();
        assert_eq!(keys.len(), AUDIT_ORDER.len());
        for a in AUDIT_ORDER {
            assert_eq!(audit_style(a).key, a.as_str());
        }
    }
}
