//! The drift report: what `drift` prints and `plan --refresh` folds in.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

/// Version of `drift --format json`.
pub const FORMAT_VERSION: u32 = 1;

/// The pseudo-path of a listing difference among a course's changes.
pub const LISTED_PATH: &str = "listed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Changed,
    Listing,
    Missing,
    Pending,
}

/// One field where the platform and the last approved payload differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    pub platform: Option<Value>,
    pub applied: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CourseDrift {
    pub course_id: String,
    pub product_id: i64,
    pub kind: Kind,
    pub changes: Vec<Change>,
    /// A modify of this course is in review.
    pub pending: bool,
    /// The live version in canonical form (for `plan --refresh`), when there is one.
    #[serde(skip)]
    pub platform_payload: Option<Value>,
    /// The platform's listing, when it said.
    #[serde(skip)]
    pub platform_listed: Option<bool>,
}

impl CourseDrift {
    /// Whether this entry is drift (anything but a modify pending review).
    pub fn is_drift(&self) -> bool {
        self.kind != Kind::Pending
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub format_version: u32,
    /// Whether the platform's answers tell the listing (`query.status_means_listing` known
    /// true). When false, listing drift is not checked: the platform does not report listing.
    pub listing_reported: bool,
    /// Fields (paths, array indexes dropped) that what was applied has and the platform's
    /// answers did not carry: "not reported", not compared (`query.echoes_course` unsettled).
    pub not_reported: Vec<String>,
    /// By course_id.
    pub courses: Vec<CourseDrift>,
    /// Courses whose platform view could not be read (an unknown code); not compared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<CourseError>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CourseError {
    pub course_id: String,
    pub message: String,
}

impl Report {
    pub fn count(&self, pred: impl Fn(&CourseDrift) -> bool) -> usize {
        self.courses.iter().filter(|c| pred(c)).count()
    }

    /// `Drift: N courses differ, M pending review, K unknown to the platform.`
    pub fn summary_line(&self) -> String {
        let differ = self.count(|c| matches!(c.kind, Kind::Changed | Kind::Listing));
        let pending = self.count(|c| c.pending);
        let missing = self.count(|c| c.kind == Kind::Missing);
        format!(
            "Drift: {differ} course{} differ{}, {pending} pending review, {missing} unknown to the platform.",
            if differ == 1 { "" } else { "s" },
            if differ == 1 { "s" } else { "" },
        )
    }

    /// What the platform's answers did not tell, in words, one line each (empty when they told
    /// everything): shown by every format.
    pub fn not_reported_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.listing_reported {
            out.push(
                "Listing: not reported by the platform (query.status_means_listing is not \
                 known true), so listing drift is not checked; see docs/platform-facts.md."
                    .to_string(),
            );
        }
        if !self.not_reported.is_empty() {
            const SHOWN: usize = 12;
            let mut fields = self
                .not_reported
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if self.not_reported.len() > SHOWN {
                let _ = write!(fields, " and {} more", self.not_reported.len() - SHOWN);
            }
            out.push(format!(
                "Not reported by the platform, so not compared: {fields} \
                 (query.echoes_course is not known true)."
            ));
        }
        out
    }

    pub fn has_drift(&self) -> bool {
        self.courses.iter().any(CourseDrift::is_drift)
    }
}
