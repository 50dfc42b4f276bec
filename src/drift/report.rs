//! The drift report: what `drift` prints and `plan --refresh` folds in.

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

    pub fn has_drift(&self) -> bool {
        self.courses.iter().any(CourseDrift::is_drift)
    }
}
