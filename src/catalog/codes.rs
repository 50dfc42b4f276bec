//! Every catalog enum name and the platform code it becomes, in one table each. Facts are tagged
//! as platform-api.md tags them: [C] confirmed, [I] inferred. Change an inferred code here and
//! nowhere else.

/// A lesson's type (`fulfillment_type`, seed 003 "fulfillment_type--履约类型", all [C]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LessonKind {
    Video,
    Audio,
    Image,
    Text,
    ImageText,
    RichText,
    Pdf,
    Office,
}

/// How a lesson's content reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Uploaded through `upload_resource`, referenced by `fulfillment_uri` ("课程资源上传接口上传").
    Upload,
    /// Sent inline in `fulfillment_content.text` ("功能接口字段中直接携带上传").
    Inline,
}

/// One row of the lesson table: name in course files, `fulfillment_type`, delivery, the upload
/// resource type, and the file extensions that fit.
pub struct LessonRow {
    pub kind: LessonKind,
    pub name: &'static str,
    pub fulfillment_type: i64,
    pub delivery: Delivery,
    /// `upload_resource.resource_type` for the lesson's file (None when inline).
    pub resource_type: Option<i64>,
    pub extensions: &'static [&'static str],
}

pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "gif", "webp", "bmp"];
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "m4v", "flv", "avi", "mkv", "webm"];
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "m4a", "aac", "wav", "flac", "ogg", "amr"];
pub const PDF_EXTENSIONS: &[&str] = &["pdf"];
pub const OFFICE_EXTENSIONS: &[&str] = &["doc", "docx", "ppt", "pptx", "xls", "xlsx"];

/// `upload_resource.resource_type` codes (platform-api.md §6.1): image 1, video 2 and cover 31
/// are [C]; audio 3 is the working hypothesis [I]; pdf 4 and office 5 are [I] guesses.
pub mod resource_type {
    pub const IMAGE: i64 = 1;
    pub const VIDEO: i64 = 2;
    pub const AUDIO: i64 = 3;
    pub const PDF: i64 = 4;
    pub const OFFICE: i64 = 5;
    pub const COVER: i64 = 31;
}

pub const LESSONS: &[LessonRow] = &[
    LessonRow {
        kind: LessonKind::Video,
        name: "video",
        fulfillment_type: 1,
        delivery: Delivery::Upload,
        resource_type: Some(resource_type::VIDEO),
        extensions: VIDEO_EXTENSIONS,
    },
    LessonRow {
        kind: LessonKind::Audio,
        name: "audio",
        fulfillment_type: 2,
        delivery: Delivery::Upload,
        resource_type: Some(resource_type::AUDIO),
        extensions: AUDIO_EXTENSIONS,
    },
    LessonRow {
        kind: LessonKind::Image,
        name: "image",
        fulfillment_type: 3,
        delivery: Delivery::Upload,
        resource_type: Some(resource_type::IMAGE),
        extensions: IMAGE_EXTENSIONS,
    },
    LessonRow {
        kind: LessonKind::Text,
        name: "text",
        fulfillment_type: 4,
        delivery: Delivery::Inline,
        resource_type: None,
        extensions: &[],
    },
    LessonRow {
        kind: LessonKind::ImageText,
        name: "image_text",
        fulfillment_type: 5,
        delivery: Delivery::Upload,
        resource_type: Some(resource_type::IMAGE),
        extensions: IMAGE_EXTENSIONS,
    },
    LessonRow {
        kind: LessonKind::RichText,
        name: "rich_text",
        fulfillment_type: 6,
        delivery: Delivery::Inline,
        resource_type: None,
        extensions: &[],
    },
    LessonRow {
        kind: LessonKind::Pdf,
        name: "pdf",
        fulfillment_type: 7,
        delivery: Delivery::Upload,
        resource_type: Some(resource_type::PDF),
        extensions: PDF_EXTENSIONS,
    },
    LessonRow {
        kind: LessonKind::Office,
        name: "office",
        fulfillment_type: 8,
        delivery: Delivery::Upload,
        resource_type: Some(resource_type::OFFICE),
        extensions: OFFICE_EXTENSIONS,
    },
];

impl LessonKind {
    pub fn row(self) -> &'static LessonRow {
        LESSONS
            .iter()
            .find(|r| r.kind == self)
            .expect("every lesson kind has a row")
    }
    pub fn from_name(name: &str) -> Option<LessonKind> {
        LESSONS.iter().find(|r| r.name == name).map(|r| r.kind)
    }
    pub fn from_fulfillment_type(code: i64) -> Option<LessonKind> {
        LESSONS
            .iter()
            .find(|r| r.fulfillment_type == code)
            .map(|r| r.kind)
    }
    pub fn name(self) -> &'static str {
        self.row().name
    }
    pub fn names() -> Vec<&'static str> {
        LESSONS.iter().map(|r| r.name).collect()
    }
}

/// Gift type (seed 003 "gift_info", [C]): 1 physical (needs delivery), 2 virtual.
pub const GIFT_KINDS: &[(&str, i64)] = &[("physical", 1), ("virtual", 2)];

/// Refund label forms (seed 003 "refund_label->type", [C]) and their keys in course files.
pub const REFUND_DAYS_UNUSED: (&str, i64) = ("days_unused", 1);
pub const REFUND_PROGRESS_BELOW_PERCENT: (&str, i64) = ("progress_below_percent", 2);
pub const REFUND_FIXED: (&str, i64) = ("fixed", 3);

/// `product_type` 1 = course, the only documented value (platform-api.md §15, [C]).
pub const PRODUCT_TYPE_COURSE: i64 = 1;
/// `industry_type` 1, sent by every sample (platform-api.md §15, value [C], meaning [I]).
pub const INDUSTRY_TYPE: i64 = 1;

/// Display width of the anchor title: East Asian wide characters count 2 (seed 003 anchor_info).
pub fn display_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// The closest of `candidates` to `word` by edit distance, for "did you mean" hints.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= c.len().max(2) / 2 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_kind_round_trips_through_its_codes() {
        for row in LESSONS {
            assert_eq!(LessonKind::from_name(row.name), Some(row.kind));
            assert_eq!(
                LessonKind::from_fulfillment_type(row.fulfillment_type),
                Some(row.kind)
            );
            assert_eq!(
                row.delivery == Delivery::Upload,
                row.resource_type.is_some()
            );
        }
        let codes: Vec<i64> = LESSONS.iter().map(|r| r.fulfillment_type).collect();
        assert_eq!(codes, (1..=8).collect::<Vec<_>>());
    }

    #[test]
    fn anchor_width_counts_cjk_as_two() {
        assert_eq!(display_width("Python 入门"), 11);
    }

    #[test]
    fn nearest_suggests_close_names_only() {
        assert_eq!(nearest("vidoe", &LessonKind::names()), Some("video"));
        assert_eq!(nearest("spreadsheet", &LessonKind::names()), None);
    }
}
