//! The course file as written: serde types that mirror the TOML one to one, every value with its
//! span, unknown keys rejected. Everything is optional here so that one missing field does not
//! hide the others: the rules report each missing required field (see `rules::REQUIRED`).
//!
//! The same types describe the file to editors: `coursesync schema course` derives its JSON
//! Schema from them ([`super::schema`]). Doc comments on the types and fields are the schema's
//! descriptions, so they speak to course authors; `#[schemars(with = ...)]` names the schema of a
//! valid value where the raw type is wider (spans, a float price kept to be reported) and
//! `#[schemars(required)]` marks the fields `rules::REQUIRED` requires.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

use super::schema as js;

pub type S<T> = Spanned<T>;

/// A coursesync course file: one course per file anywhere under the catalog directory
/// (catalog/**/*.toml). Reference: docs/catalog-format.md. `coursesync validate` checks every
/// rule, including those this schema can only describe in words.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "coursesync course file")]
pub struct RawCourse {
    /// Your key for the course: 1 to 128 bytes of UTF-8 (a Chinese character is 3 bytes), unique
    /// in the catalog. Sent as the course page's query parameter course_id.
    #[schemars(required, with = "js::NonEmpty")]
    pub course_id: Option<S<String>>,
    /// The course title (common_product_params.title). Not blank.
    #[schemars(required, with = "js::NonBlank")]
    pub title: Option<S<String>>,
    /// Category code, first level (platform-api.md §10), for example 10000 少儿成长. A code
    /// coursesync does not know offline is a warning; the platform's list is authoritative.
    #[schemars(required, with = "i64")]
    pub first_class: Option<S<i64>>,
    /// Category code, second level, belonging to first_class: for example 10300 少儿编程 under
    /// 10000.
    #[schemars(required, with = "i64")]
    pub second_class: Option<S<i64>>,
    /// Purchase notes shown to the buyer (购买须知). Not blank.
    #[schemars(required, with = "js::NonBlank")]
    pub purchase_precaution: Option<S<String>>,
    /// The cover image (product_img_uri): a path relative to the catalog directory
    /// (assets/py-101/cover.jpg) or an https:// URL; jpg, jpeg, png, gif, webp or bmp. Uploaded
    /// as a cover resource.
    #[schemars(required, with = "js::FileRef")]
    pub cover: Option<S<String>>,
    /// Whether the course is listed (上架); false delists it (下架). Default true.
    #[schemars(with = "Option<bool>")]
    pub listed: Option<S<bool>>,
    /// The price (price_info), in whole fen (分): 4900 is 49.00 yuan. Exactly one form:
    /// real_price, or range_min_price with range_max_price. Checked by validate, not by this
    /// schema: 0 < real_price <= price <= 1000000, 0 < range_min_price <= price <=
    /// range_max_price <= 1000000.
    #[schemars(required, with = "RawPrice")]
    pub price: Option<S<RawPrice>>,
    /// The mini-program page that opens the course (path_info).
    #[schemars(required, with = "RawPage")]
    pub page: Option<S<RawPage>>,
    /// The lessons (product_fulfillment_lst), in order; at least one.
    #[schemars(required, with = "Vec<RawLesson>", length(min = 1))]
    pub lessons: Option<S<Vec<S<RawLesson>>>>,
    /// Blocks of the course detail page (product_detail_lst), in order.
    #[schemars(with = "Option<Vec<RawDetail>>")]
    pub details: Option<S<Vec<S<RawDetail>>>>,
    /// The short-video anchor (挂载).
    #[schemars(with = "Option<RawAnchor>")]
    pub anchor: Option<S<RawAnchor>>,
    /// A gift that comes with the course (gift_info).
    #[schemars(with = "Option<RawGift>")]
    pub gift: Option<S<RawGift>>,
    /// Course parameters (course_params): teacher_id or institution_id (or both), course_num,
    /// and optionally the refund rule and the dates (TOML dates or datetimes, not strings;
    /// without an offset they are China time, +08:00).
    #[schemars(required, with = "RawCourseParams")]
    pub course: Option<S<RawCourseParams>>,
}

/// A number as written: prices must be integers (fen), so a float is kept to be reported.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Num {
    Int(i64),
    Float(f64),
}

/// The price, in whole fen (分). Exactly one form: real_price, or range_min_price with
/// range_max_price. Also checked by validate, not by this schema: 0 < real_price <= price <=
/// 1000000, and 0 < range_min_price <= price <= range_max_price <= 1000000.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Price", transform = js::price_form)]
pub struct RawPrice {
    /// The unit sold, for example "节" or "天". Not blank.
    #[schemars(required, with = "js::NonBlank")]
    pub unit: Option<S<String>>,
    /// The list price in fen.
    #[schemars(required, with = "js::Fen")]
    pub price: Option<S<Num>>,
    /// What the buyer pays, in fen: at most price.
    #[schemars(with = "Option<js::Fen>")]
    pub real_price: Option<S<Num>>,
    /// The lowest price of a range, in fen: at most price.
    #[schemars(with = "Option<js::Fen>")]
    pub range_min_price: Option<S<Num>>,
    /// The highest price of a range, in fen: at least price.
    #[schemars(with = "Option<js::Fen>")]
    pub range_max_price: Option<S<Num>>,
}

/// The page that opens the course (path_info).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Page")]
pub struct RawPage {
    /// The page path, without a leading '/': 1 to 255 bytes of UTF-8.
    #[schemars(required, with = "String", regex(pattern = "^[^/]"))]
    pub path: Option<S<String>>,
    /// Query parameters of the page, as strings: keys 1 to 64 bytes, values 1 to 128 bytes of
    /// UTF-8. Do not set course_id: coursesync adds it from the course's course_id.
    #[schemars(with = "Option<js::Query>")]
    pub query: Option<S<BTreeMap<S<String>, S<String>>>>,
}

/// One lesson. Its type decides its content: video, audio, image, pdf and office take an
/// uploaded `file` and no `text`; image_text takes a `file` and an optional `text`; text and
/// rich_text take an inline `text` (at most 10000 and 100000 characters) and no `file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Lesson", transform = js::lesson_content)]
pub struct RawLesson {
    /// The lesson's name. Not blank.
    #[schemars(required, with = "js::NonBlank")]
    pub name: Option<S<String>>,
    /// The lesson type (fulfillment_type 1 to 8).
    #[serde(rename = "type")]
    #[schemars(required, with = "js::LessonType")]
    pub kind: Option<S<String>>,
    /// The lesson's file: a path relative to the catalog directory or an https:// URL, with an
    /// extension that fits the type (video: mp4, mov, m4v, flv, avi, mkv, webm; audio: mp3, m4a,
    /// aac, wav, flac, ogg, amr; image and image_text: jpg, jpeg, png, gif, webp, bmp; pdf: pdf;
    /// office: doc, docx, ppt, pptx, xls, xlsx).
    #[schemars(with = "Option<js::FileRef>")]
    pub file: Option<S<String>>,
    /// Inline content (text, rich_text: HTML) or an image_text caption. Not blank.
    #[schemars(with = "Option<js::RichText>")]
    pub text: Option<S<String>>,
}

/// One block of the detail page: text, image, text with image (图文), or rich_text alone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Detail", transform = js::detail_block)]
pub struct RawDetail {
    /// Text: not blank, at most 10000 characters.
    #[schemars(with = "Option<js::Text>")]
    pub text: Option<S<String>>,
    /// An image: a path relative to the catalog directory or an https:// URL; jpg, jpeg, png,
    /// gif, webp or bmp.
    #[schemars(with = "Option<js::FileRef>")]
    pub image: Option<S<String>>,
    /// Rich text (HTML): not blank, at most 100000 characters. Alone in its block.
    #[schemars(with = "Option<js::RichText>")]
    pub rich_text: Option<S<String>>,
}

/// The short-video anchor (video_anchor_info).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Anchor")]
pub struct RawAnchor {
    /// The anchor title: not blank, display width at most 24, where a Chinese (East Asian wide)
    /// character counts 2: at most 12 Chinese characters.
    #[schemars(required, with = "js::NonBlank")]
    pub title: Option<S<String>>,
}

/// A gift that comes with the course (gift_info).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Gift")]
pub struct RawGift {
    /// physical (实物赠品, shipped) or virtual (虚拟赠品, given online).
    #[serde(rename = "type")]
    #[schemars(required, with = "js::GiftType")]
    pub kind: Option<S<String>>,
    /// The gift's name. Not blank.
    #[schemars(required, with = "js::NonBlank")]
    pub name: Option<S<String>>,
    /// How many are given; at least 1.
    #[schemars(required, with = "i64", range(min = 1))]
    pub num: Option<S<i64>>,
    /// Picture URLs, sent as written: at most 8, each 1 to 256 bytes of UTF-8.
    #[schemars(with = "Option<Vec<js::NonEmpty>>", length(max = 8))]
    pub pics: Option<S<Vec<S<String>>>>,
    /// Whether the gift must be sent back on a refund.
    #[schemars(required, with = "bool")]
    pub send_back_on_refund: Option<S<bool>>,
    /// The send-back policy shown to the buyer: not blank, at most 128 bytes of UTF-8.
    #[schemars(required, with = "js::NonBlank")]
    pub policy_desc: Option<S<String>>,
}

/// Course parameters (course_params): teacher_id or institution_id (or both), course_num, and
/// optionally the refund rule and dates. Dates are TOML dates or datetimes, not strings; without
/// an offset they are China time (+08:00).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CourseParams", transform = js::teacher_or_institution)]
pub struct RawCourseParams {
    /// The teacher's entity id in the role system (E_...). Not blank.
    #[schemars(with = "Option<js::NonBlank>")]
    pub teacher_id: Option<S<String>>,
    /// The institution's entity id in the role system. Not blank.
    #[schemars(with = "Option<js::NonBlank>")]
    pub institution_id: Option<S<String>>,
    /// The number of lessons the course sells, 1 to 10000.
    #[schemars(required, with = "i64", range(min = 1, max = 10_000))]
    pub course_num: Option<S<i64>>,
    /// The refund rule (refund_label): exactly one form.
    #[schemars(with = "Option<RawRefund>")]
    pub refund: Option<S<RawRefund>>,
    /// Valid until this day (use_label.valid_date): a TOML date like 2027-12-31, without a time.
    /// Without it the course stays valid after purchase.
    #[schemars(with = "Option<js::TomlDate>")]
    pub valid_until: Option<S<Datetime>>,
    /// Sales start (start_timestamp): a TOML date or datetime after 1970, before end.
    #[schemars(with = "Option<js::TomlDateOrDateTime>")]
    pub start: Option<S<Datetime>>,
    /// Sales end (end_timestamp): a TOML date or datetime after 1970, after start.
    #[schemars(with = "Option<js::TomlDateOrDateTime>")]
    pub end: Option<S<Datetime>>,
}

/// The refund rule: exactly one of days_unused, progress_below_percent, fixed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Refund", transform = js::one_refund_form)]
pub struct RawRefund {
    /// Refundable while unused for this many days (N 天未学可退), 1 to 100.
    #[schemars(with = "Option<i64>", range(min = 1, max = 100))]
    pub days_unused: Option<S<i64>>,
    /// Refundable while the study progress is below this percentage, 0 to 100 (0: no refund,
    /// 100: refundable any time).
    #[schemars(with = "Option<i64>", range(min = 0, max = 100))]
    pub progress_below_percent: Option<S<i64>>,
    /// A fixed refund rule: the id of a rule from the platform's refund rule list, at least 1.
    #[schemars(with = "Option<i64>", range(min = 1))]
    pub fixed: Option<S<i64>>,
}
