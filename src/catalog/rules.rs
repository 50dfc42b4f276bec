//! The rule registry: every check `validate` makes, with a stable code. docs/rules.md is
//! generated from this table (a test fails when it is stale), so a rule is documented the moment
//! it exists. Codes never change meaning; retired codes are not reused.

use super::diagnostics::Severity;

/// One documented rule.
#[derive(Debug)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// What the rule checks, in one sentence.
    pub summary: &'static str,
    /// Where the rule comes from.
    pub source: &'static str,
    /// The default hint.
    pub hint: &'static str,
}

macro_rules! rules {
    ($($ident:ident = $code:literal $name:literal $sev:ident, $summary:literal, $source:literal, $hint:literal;)*) => {
        $(pub const $ident: &Rule = &Rule {
            code: $code, name: $name, severity: Severity::$sev,
            summary: $summary, source: $source, hint: $hint,
        };)*
        /// Every rule, in code order.
        pub const ALL: &[&Rule] = &[$($ident),*];
    };
}

rules! {
    TOML_SYNTAX = "CS001" "toml-syntax" Error,
        "The course file is valid TOML.", "TOML 1.0",
        "fix the TOML syntax at the position shown";
    UNKNOWN_KEY = "CS002" "unknown-key" Error,
        "Every key is one the course format knows (a typo must not silently drop a field).",
        "PRODUCT.md \"Course file\"", "check the spelling against docs/catalog-format.md";
    WRONG_TYPE = "CS003" "wrong-type" Error,
        "Every value has the type the format expects (string, integer, boolean, date, table).",
        "PRODUCT.md \"Course file\"", "see docs/catalog-format.md for the type of each key";
    MISSING_FIELD = "CS004" "missing-field" Error,
        "Every required field is present (the list is in docs/catalog-format.md).",
        "seed 003, PRODUCT.md \"Settled details\"", "add the field";
    FILE_READ = "CS005" "unreadable-file" Error,
        "The course file can be read as UTF-8 text.", "",
        "check the file's permissions and encoding (UTF-8)";
    COURSE_ID_LENGTH = "CS101" "course-id-length" Error,
        "course_id is 1 to 128 bytes.", "seed 003 path_info: course_id 1~128 字节",
        "shorten the course_id";
    COURSE_ID_DUPLICATE = "CS102" "course-id-duplicate" Error,
        "course_id is unique across the catalog.", "seed 003 path_info: course_id 不可与其他课程重复",
        "give one of the courses another course_id";
    EMPTY_TEXT = "CS103" "empty-text" Error,
        "Required texts (title, purchase_precaution, unit, lesson and gift names...) are not empty.",
        "platform-api.md §5.1", "write the text, or remove the optional block";
    PRICE_INTEGER = "CS201" "price-integer" Error,
        "Prices are whole numbers of fen (分).", "seed 003 price_info: 必须为整形,不能带小数",
        "write the price in fen as an integer: 49.9 yuan is 4990";
    PRICE_FORM = "CS202" "price-form" Error,
        "Exactly one price form: real_price, or range_min_price with range_max_price.",
        "seed 003 price_info: real_price 与 range_min_price,range_max_price 互斥",
        "keep either real_price or the two range prices";
    PRICE_BOUNDS = "CS203" "price-bounds" Error,
        "0 < real_price <= price <= 1000000.", "seed 003 price_info",
        "real_price is what the buyer pays and may not exceed price";
    PRICE_RANGE_BOUNDS = "CS204" "price-range-bounds" Error,
        "0 < range_min_price <= price <= range_max_price <= 1000000.", "seed 003 price_info",
        "price must lie within the range";
    PATH_LEADING_SLASH = "CS301" "path-leading-slash" Error,
        "page.path has no leading '/'.", "seed 003 path_info: 没有前导的'/'",
        "remove the leading '/'";
    PATH_LENGTH = "CS302" "path-length" Error,
        "page.path is 1 to 255 bytes.", "seed 003 path_info: 0< path字符长度 <= 255字节",
        "shorten the path";
    QUERY_KEY_LENGTH = "CS303" "query-key-length" Error,
        "Each page.query key is 1 to 64 bytes.", "seed 003 path_info: 0< key字符长度 <= 64字节",
        "shorten the key";
    QUERY_VALUE_LENGTH = "CS304" "query-value-length" Error,
        "Each page.query value is 1 to 128 bytes.", "seed 003 path_info: 0< value字符长度 <= 128字节",
        "shorten the value";
    QUERY_COURSE_ID = "CS305" "query-course-id" Error,
        "page.query does not set course_id: coursesync adds it from the course's course_id.",
        "PRODUCT.md \"Course file\"", "remove course_id from page.query";
    LESSONS_EMPTY = "CS401" "lessons-required" Error,
        "A course has at least one lesson.", "platform-api.md §5.1 product_fulfillment_lst",
        "add a [[lessons]] block";
    LESSON_TYPE = "CS402" "lesson-type" Error,
        "A lesson's type is one of video, audio, image, text, image_text, rich_text, pdf, office.",
        "seed 003 fulfillment_type", "use one of the eight lesson types";
    LESSON_CONTENT = "CS403" "lesson-content" Error,
        "Uploaded lesson types have a `file`; text and rich_text have an inline `text` and no file.",
        "seed 003 fulfillment_type 上传方式",
        "video, audio, image, image_text, pdf and office take `file`; text and rich_text take `text`";
    FILE_EXTENSION = "CS404" "file-extension" Error,
        "A referenced file's extension fits its use (lesson type, cover or detail image).",
        "seed 003 fulfillment_type", "convert the file, or pick the lesson type that fits it";
    TEXT_LENGTH = "CS405" "text-length" Error,
        "Text is at most 10000 characters (a CJK character counts 1).",
        "seed 003 product_detail.text: 0< text字符长度 <= 10000, 汉字占1个字符",
        "shorten the text, or split it into several blocks";
    RICH_TEXT_LENGTH = "CS406" "rich-text-length" Error,
        "Rich text is at most 100000 characters (a CJK character counts 1).",
        "seed 003 rich_text.text: 0< 字符长度 <= 100000", "shorten the rich text";
    DETAIL_BLOCK = "CS451" "detail-block" Error,
        "A [[details]] block is text, image, text with image, or rich_text.",
        "seed 003 product_detail: 文字,图片,图文或者富文本",
        "rich_text cannot be combined with text or image in one block";
    FILE_MISSING = "CS501" "file-missing" Error,
        "Every referenced local file exists and is a regular file.", "PRODUCT.md \"Course file\"",
        "paths are relative to the catalog directory";
    FILE_OUTSIDE = "CS502" "file-outside-catalog" Error,
        "Referenced files lie inside the catalog directory: no absolute path, no `..`, no symlink leading out.",
        "PRODUCT.md \"Promises\"", "move the file into the catalog directory";
    FILE_URL = "CS503" "file-url" Error,
        "A file given as a URL is an https:// URL, or an http:// URL whose host is loopback (127.0.0.0/8, ::1, localhost), where the local emulator serves files.",
        "PRODUCT.md \"Course file\"",
        "use an https:// URL, or a path inside the catalog";
    ANCHOR_TITLE = "CS601" "anchor-title-width" Error,
        "anchor.title is 1 to 24 wide; a CJK character counts 2.",
        "seed 003 anchor_info: 0< anchor_title字符长度 <= 24字节, 汉字占2个字符",
        "shorten the anchor title: at most 12 Chinese characters";
    GIFT_TYPE = "CS611" "gift-type" Error,
        "gift.type is \"physical\" (1) or \"virtual\" (2).", "seed 003 gift_info.type",
        "physical gifts are shipped, virtual ones are given online";
    GIFT_PICS = "CS612" "gift-pics" Error,
        "gift.pics has at most 8 entries of at most 256 bytes each.", "seed 003 gift_info.pics",
        "remove pictures or shorten their URLs";
    GIFT_POLICY = "CS613" "gift-policy-desc" Error,
        "gift.policy_desc is 1 to 128 bytes.", "seed 003 send_back_policy.policy_desc",
        "shorten the policy description";
    GIFT_NUM = "CS614" "gift-num" Error,
        "gift.num is a positive number.", "seed 003 gift_info.num", "give at least one gift";
    COURSE_NUM = "CS701" "course-num" Error,
        "course.course_num is 1 to 10000.", "platform-api.md §5.1 course_params",
        "course_num is the number of lessons the course sells";
    TEACHER_OR_INSTITUTION = "CS702" "teacher-or-institution" Error,
        "course.teacher_id or course.institution_id is set (an id approved in the role system).",
        "platform-api.md §5.1 course_params, §9", "set teacher_id (E_...) or institution_id";
    REFUND_FORM = "CS703" "refund-form" Error,
        "course.refund has exactly one of days_unused, progress_below_percent, fixed.",
        "seed 003 refund_label", "keep one refund form";
    REFUND_DAYS = "CS704" "refund-days" Error,
        "refund.days_unused is 1 to 100.", "platform-api.md §5.1 refund_label (0 < day <= 100)",
        "use a number of days from 1 to 100";
    REFUND_PERCENT = "CS705" "refund-percent" Error,
        "refund.progress_below_percent is 0 to 100 (0 = no refund, 100 = any time).",
        "platform-api.md §5.1 refund_label", "use a percentage from 0 to 100";
    REFUND_FIXED = "CS706" "refund-fixed" Error,
        "refund.fixed is a positive refund-rule id.", "platform-api.md §5.9",
        "take the id from the platform's refund rule list (query_refund_rule_meta)";
    DATE_FORM = "CS707" "date-form" Error,
        "valid_until is a date; start and end are dates or datetimes.",
        "platform-api.md §5.1 use_label, start_timestamp", "write a TOML date like 2027-12-31";
    START_BEFORE_END = "CS708" "start-before-end" Error,
        "course.start is before course.end, both after 1970.", "platform-api.md §5.1 (0 < start < end)",
        "swap or fix the dates";
    CATEGORY_UNKNOWN = "CS801" "category-unknown" Warning,
        "first_class and second_class are codes known offline (the platform's query_class_info is authoritative).",
        "platform-api.md §10", "check the code against the platform's category list";
    CATEGORY_MISMATCH = "CS802" "category-mismatch" Error,
        "A known second_class belongs to the first_class given.", "platform-api.md §10",
        "use the first_class the second_class belongs to";
}

/// Required fields, in one place (PRODUCT.md "Settled details"; inferred from the documents).
/// `a|b` means one of them. Nested entries apply when their block is present.
pub const REQUIRED: &[&str] = &[
    "course_id",
    "title",
    "first_class",
    "second_class",
    "purchase_precaution",
    "cover",
    "price",
    "price.unit",
    "price.price",
    "page",
    "page.path",
    "lessons",
    "lessons[].name",
    "lessons[].type",
    "course",
    "course.course_num",
    "course.teacher_id|course.institution_id",
    "anchor.title",
    "gift.type",
    "gift.name",
    "gift.num",
    "gift.send_back_on_refund",
    "gift.policy_desc",
];

/// Platform limits (seed 003, platform-api.md §5), named once.
pub mod limits {
    pub const PRICE_MAX: i64 = 1_000_000;
    pub const COURSE_ID_BYTES: usize = 128;
    pub const PATH_BYTES: usize = 255;
    pub const QUERY_KEY_BYTES: usize = 64;
    pub const QUERY_VALUE_BYTES: usize = 128;
    pub const TEXT_CHARS: usize = 10_000;
    pub const RICH_TEXT_CHARS: usize = 100_000;
    pub const ANCHOR_WIDTH: usize = 24;
    pub const GIFT_PICS: usize = 8;
    pub const GIFT_PIC_BYTES: usize = 256;
    pub const POLICY_DESC_BYTES: usize = 128;
    pub const COURSE_NUM_MAX: i64 = 10_000;
    pub const REFUND_DAYS_MAX: i64 = 100;
    pub const REFUND_PERCENT_MAX: i64 = 100;
}

/// docs/rules.md, generated from [`ALL`].
pub fn reference_markdown() -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# Validation rules\n\n<!-- Generated from src/catalog/rules.rs by \
         `COURSESYNC_UPDATE_DOCS=1 cargo test docs`, then again without it; do not edit by hand. -->\n\n\
         `coursesync validate` checks every rule below offline and reports each finding as \
         `file:line:col`, the rule code, a message and a hint. Errors make `validate` exit 1; \
         warnings do not, unless `--strict`.\n\n\
         | code | name | severity | rule | source |\n|---|---|---|---|---|\n",
    );
    for rule in ALL {
        let severity = match rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            rule.code,
            rule.name,
            severity,
            rule.summary.replace('|', "\\|"),
            rule.source.replace('|', "\\|")
        );
    }
    out.push_str("\n## Required fields\n\n`a|b` means at least one of them; nested keys apply when their block is present.\n\n");
    for field in REQUIRED {
        let _ = writeln!(out, "- `{field}`");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted() {
        let codes: Vec<&str> = ALL.iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
    }

    #[test]
    fn docs_rules_reference_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
        if let Err(e) = crate::generated::check(&path, &reference_markdown()) {
            panic!("{e}");
        }
    }
}
