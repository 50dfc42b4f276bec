//! The validated catalog: what later stages (plan, apply) take. Every value here has passed the
//! rules, so no later stage re-checks it.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use super::codes::LessonKind;

/// All courses of the catalog, sorted by `course_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// The catalog directory (absolute).
    pub dir: PathBuf,
    pub courses: Vec<Course>,
}

impl Catalog {
    pub fn get(&self, course_id: &str) -> Option<&Course> {
        self.courses
            .binary_search_by(|c| c.course_id.as_str().cmp(course_id))
            .ok()
            .map(|i| &self.courses[i])
    }
}

/// A file a course references: a path inside the catalog directory, or a hosted `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileRef {
    /// Relative to the catalog directory, `/`-separated, normalized (no `.`/`..`).
    Local(String),
    Url(String),
}

impl FileRef {
    /// The text a course file would hold for this reference.
    pub fn as_str(&self) -> &str {
        match self {
            FileRef::Local(p) | FileRef::Url(p) => p,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    pub course_id: String,
    /// The course file, relative to the settings root (for messages).
    pub source: PathBuf,
    pub title: String,
    pub first_class: i64,
    pub second_class: i64,
    pub purchase_precaution: String,
    pub cover: FileRef,
    pub listed: bool,
    pub price: Price,
    pub page: Page,
    pub lessons: Vec<Lesson>,
    pub details: Vec<Detail>,
    pub anchor_title: Option<String>,
    pub gift: Option<Gift>,
    pub params: CourseParams,
}

/// Prices in fen (分).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub unit: String,
    pub price: i64,
    pub form: PriceForm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceForm {
    Fixed { real_price: i64 },
    Range { min: i64, max: i64 },
}

/// `path_info`: the page that opens the course. `query` never holds `course_id`; it is added
/// when the request is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub path: String,
    pub query: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    pub name: String,
    pub kind: LessonKind,
    /// Set for uploaded kinds.
    pub file: Option<FileRef>,
    /// Set for inline kinds; optional text for image_text.
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Text(String),
    Image(FileRef),
    /// 图文: text with an image.
    ImageText {
        text: String,
        image: FileRef,
    },
    RichText(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gift {
    /// Platform code: 1 physical, 2 virtual.
    pub kind: i64,
    pub name: String,
    pub num: i64,
    pub pics: Vec<String>,
    pub send_back_on_refund: bool,
    pub policy_desc: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseParams {
    pub teacher_id: Option<String>,
    pub institution_id: Option<String>,
    pub course_num: i64,
    pub refund: Option<Refund>,
    /// `use_label.valid_date`, `yyyy-MM-dd`.
    pub valid_until: Option<String>,
    /// Unix milliseconds.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refund {
    DaysUnused(i64),
    ProgressBelowPercent(i64),
    Fixed(i64),
}

/// One file use: which file, for which upload resource type (a file used in two roles with
/// different types is uploaded once per type; PRODUCT.md "Settled details").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileUse {
    pub file: FileRef,
    pub resource_type: i64,
}

impl Course {
    /// Every file the course references with its resource type, in document order, deduplicated.
    pub fn file_uses(&self) -> Vec<FileUse> {
        use super::codes::resource_type;
        let mut uses = vec![FileUse {
            file: self.cover.clone(),
            resource_type: resource_type::COVER,
        }];
        for lesson in &self.lessons {
            if let (Some(file), Some(rt)) = (&lesson.file, lesson.kind.row().resource_type) {
                uses.push(FileUse {
                    file: file.clone(),
                    resource_type: rt,
                });
            }
        }
        for detail in &self.details {
            if let Detail::Image(image) | Detail::ImageText { image, .. } = detail {
                uses.push(FileUse {
                    file: image.clone(),
                    resource_type: resource_type::IMAGE,
                });
            }
        }
        let mut seen = std::collections::HashSet::new();
        uses.retain(|u| seen.insert(u.clone()));
        uses
    }
}
