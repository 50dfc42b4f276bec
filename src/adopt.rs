//! Adopting products that already exist on the platform: `import` records them in state as if
//! coursesync had applied them, and `dump` writes them out as course files.
//!
//! Both read the platform's view through [`crate::mapping::canonical_from_platform`] with no uri
//! lookup, so every file value is the platform's URL: the course files `dump` writes name those
//! URLs, and the payload `import` records is exactly the payload such a file plans to, so
//! "import, then dump, then plan" shows no changes. Invariants:
//! - Everything here is pure: the commands (`cli::import`, `cli::dump`) talk to the platform and
//!   the state.
//! - The course file written is built from the canonical payload alone (plus `course_id` and
//!   `listed`), and uses only keys the validator knows (`catalog::raw`).

use std::fmt::Write as _;

use serde_json::Value;

use crate::catalog::codes;
use crate::mapping::{self, MappingError};
use crate::plan::canonical;
use crate::platform::facts::listing_status;
use crate::platform::wire;
use crate::state::{Audit, CourseRecord};

/// The comment after every file reference `dump` writes as a platform URL.
pub const HOSTED_COMMENT: &str =
    "# hosted by the platform; replace with a catalog path to manage the file here";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdoptError {
    #[error("product {0}: the platform knows no such product")]
    Unknown(i64),
    #[error("product {0}: the platform returned neither a live nor a reviewing version")]
    NoVersion(i64),
    #[error(
        "product {0}: its page query has no course_id, so it was not made from a course file \
         (path_info_lst[].query.course_id)"
    )]
    NoCourseId(i64),
    #[error(transparent)]
    Canonical(#[from] MappingError),
    #[error("product {product_id}: `{field}` = {value:?} cannot be written as a course file")]
    Unwritable {
        product_id: i64,
        field: &'static str,
        value: String,
    },
}

/// One product as the platform shows it, in catalog terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Adopted {
    pub course_id: String,
    pub product_id: i64,
    /// A live (approved) version was taken; otherwise the one in review.
    pub approved: bool,
    /// Listed on the platform (only a live version can be).
    pub listed: bool,
    /// The canonical payload, file values being the platform's URLs.
    pub payload: Value,
}

/// The version to adopt: the live one, or the reviewing one when none is live; and whether it
/// is the live one.
pub fn version(product: &wire::QueriedProduct) -> Option<(&wire::QueriedVersion, bool)> {
    product
        .product_on_shelf
        .as_ref()
        .map(|v| (v, true))
        .or_else(|| product.product_reviewing.as_ref().map(|v| (v, false)))
}

/// The `course_id` in the version's page query (the first page that carries one).
pub fn course_id(version: &wire::QueriedVersion) -> Option<String> {
    version
        .common_product_info
        .as_ref()?
        .path_info_lst
        .iter()
        .find_map(|p| p.query.get("course_id"))
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// Whether a live version is listed: its `product_status.status` is the listing code.
fn is_listed(version: &wire::QueriedVersion) -> bool {
    version.product_status.as_ref().and_then(|s| s.status) == Some(listing_status::LIST)
}

/// `product_id` as the platform answered about it (`None`: not in its answer).
pub fn adopt(
    product_id: i64,
    answer: Option<&wire::QueriedProduct>,
) -> Result<Adopted, AdoptError> {
    let product = answer.ok_or(AdoptError::Unknown(product_id))?;
    let (version, live) = version(product).ok_or(AdoptError::NoVersion(product_id))?;
    let course_id = course_id(version).ok_or(AdoptError::NoCourseId(product_id))?;
    let payload = mapping::canonical_from_platform(version, &|_| None)?;
    Ok(Adopted {
        course_id,
        product_id,
        approved: live,
        listed: live && is_listed(version),
        payload,
    })
}

/// The state record `import` writes for `adopted`, at `now` (unix ms). The payload is both the
/// submitted and, for a live version, the approved one.
pub fn record(adopted: &Adopted, now: i64) -> CourseRecord {
    let json = serde_json::to_string(&adopted.payload).expect("a JSON value serializes");
    let hash = canonical::hash(&adopted.payload);
    let title = adopted
        .payload
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    CourseRecord {
        course_id: adopted.course_id.clone(),
        title,
        product_id: Some(adopted.product_id),
        audit: if adopted.approved {
            Audit::Approved
        } else {
            Audit::InReview
        },
        reject_reason: None,
        listed: adopted.listed,
        payload: Some(json.clone()),
        payload_hash: Some(hash.clone()),
        approved_payload: adopted.approved.then_some(json),
        approved_hash: adopted.approved.then_some(hash),
        first_applied_at: None,
        last_applied_at: None,
        updated_at: now,
        lesson_audits: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The course file writer.

/// A TOML string literal for `s`: escaped as TOML requires, anything else (Chinese) kept as is.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        string(k)
    }
}

/// A scalar JSON value as TOML (strings, integers, booleans); `None` for anything else.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(string(s)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// Unix ms as an RFC 3339 datetime in China time (`2026-12-01T00:00:00+08:00`), with
/// milliseconds only when there are some.
pub fn china_datetime(ms: i64) -> Option<String> {
    // `checked_to_offset`: a time near the end of year 9999 UTC has no +08:00 form.
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .checked_to_offset(time::macros::offset!(+8))?;
    let base = at
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .ok()?;
    let millis = at.millisecond();
    Some(if millis == 0 {
        format!("{base}+08:00")
    } else {
        format!("{base}.{millis:03}+08:00")
    })
}

/// Writes a table's keys, in `order`, each present scalar on its own line. `files` are the keys
/// that hold file references: they get [`HOSTED_COMMENT`] when their value is a URL.
fn keys(out: &mut String, table: &Value, order: &[&str], files: &[&str]) {
    for k in order {
        let Some(v) = table.get(*k) else { continue };
        let Some(text) = scalar(v) else { continue };
        let _ = write!(out, "{} = {text}", key(k));
        if files.contains(k) && v.as_str().is_some_and(|s| s.contains("://")) {
            let _ = write!(out, "  {HOSTED_COMMENT}");
        }
        out.push('\n');
    }
}

/// The course file for `adopted`, in the format of docs/catalog-format.md.
pub fn course_file(adopted: &Adopted) -> Result<String, AdoptError> {
    let p = &adopted.payload;
    let unwritable = |field: &'static str, value: &Value| AdoptError::Unwritable {
        product_id: adopted.product_id,
        field,
        value: value.to_string(),
    };
    let mut out = format!(
        "# Dumped by `coursesync dump` from product {} ({}).\n",
        adopted.product_id,
        if adopted.approved {
            "its live version"
        } else {
            "the version in review: nothing is live yet"
        }
    );
    let _ = writeln!(out, "course_id = {}", string(&adopted.course_id));
    keys(
        &mut out,
        p,
        &[
            "title",
            "first_class",
            "second_class",
            "purchase_precaution",
            "cover",
        ],
        &["cover"],
    );
    let _ = writeln!(out, "listed = {}", adopted.listed);

    if let Some(price) = p.get("price") {
        out.push_str("\n[price]\n");
        keys(
            &mut out,
            price,
            &[
                "unit",
                "price",
                "real_price",
                "range_min_price",
                "range_max_price",
            ],
            &[],
        );
    }
    if let Some(page) = p.get(canonical::PAGE_KEY) {
        out.push_str("\n[page]\n");
        keys(&mut out, page, &["path"], &[]);
        if let Some(query) = page.get("query").and_then(Value::as_object)
            && !query.is_empty()
        {
            let mut pairs = Vec::new();
            for (k, v) in query {
                pairs.push(format!(
                    "{} = {}",
                    key(k),
                    scalar(v).ok_or_else(|| unwritable("page.query", v))?
                ));
            }
            let _ = writeln!(out, "query = {{ {} }}", pairs.join(", "));
        }
    }
    for lesson in p
        .get("lessons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str("\n[[lessons]]\n");
        keys(
            &mut out,
            lesson,
            &["name", "type", "file", "text"],
            &["file"],
        );
    }
    for detail in p
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str("\n[[details]]\n");
        keys(
            &mut out,
            detail,
            &["text", "image", "rich_text"],
            &["image"],
        );
    }
    if let Some(anchor) = p.get("anchor") {
        out.push_str("\n[anchor]\n");
        keys(&mut out, anchor, &["title"], &[]);
    }
    if let Some(gift) = p.get("gift") {
        out.push_str("\n[gift]\n");
        let code = gift.get("type").cloned().unwrap_or(Value::Null);
        let kind = codes::GIFT_KINDS
            .iter()
            .find(|(_, c)| code.as_i64() == Some(*c))
            .map(|(name, _)| *name)
            .ok_or_else(|| unwritable("gift.type", &code))?;
        let _ = writeln!(out, "type = {}", string(kind));
        keys(&mut out, gift, &["name", "num"], &[]);
        if let Some(pics) = gift.get("pics").and_then(Value::as_array)
            && !pics.is_empty()
        {
            let pics: Vec<String> = pics
                .iter()
                .map(|v| scalar(v).ok_or_else(|| unwritable("gift.pics", v)))
                .collect::<Result<_, _>>()?;
            let _ = writeln!(out, "pics = [{}]", pics.join(", "));
        }
        keys(&mut out, gift, &["send_back_on_refund", "policy_desc"], &[]);
    }
    if let Some(course) = p.get("course") {
        out.push_str("\n[course]\n");
        keys(
            &mut out,
            course,
            &["teacher_id", "institution_id", "course_num"],
            &[],
        );
        if let Some(refund) = course.get("refund").and_then(Value::as_object) {
            let (form, value) = refund
                .iter()
                .next()
                .ok_or_else(|| unwritable("course.refund", &Value::Object(refund.clone())))?;
            let value = value
                .as_i64()
                .ok_or_else(|| unwritable("course.refund", value))?;
            let _ = writeln!(out, "refund = {{ {} = {value} }}", key(form));
        }
        if let Some(v) = course.get("valid_until") {
            // A bare TOML date, written unquoted: it must be exactly one.
            let date = v
                .as_str()
                .filter(|s| {
                    s.parse::<toml::value::Datetime>()
                        .is_ok_and(|d| d.date.is_some() && d.time.is_none() && s.len() == 10)
                })
                .ok_or_else(|| unwritable("course.valid_until", v))?;
            let _ = writeln!(out, "valid_until = {date}");
        }
        for (field, name) in [("course.start", "start"), ("course.end", "end")] {
            if let Some(v) = course.get(name) {
                let at = v
                    .as_i64()
                    .and_then(china_datetime)
                    .ok_or_else(|| unwritable(field, v))?;
                let _ = writeln!(out, "{name} = {at}");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings_are_escaped_and_chinese_kept() {
        assert_eq!(string("Python 入门"), "\"Python 入门\"");
        assert_eq!(string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        let parsed: toml::Table = format!("k = {}", string("引号\"\\\n\t<b>x</b>"))
            .parse()
            .unwrap();
        assert_eq!(parsed["k"].as_str(), Some("引号\"\\\n\t<b>x</b>"));
        assert_eq!(key("channel"), "channel");
        assert_eq!(key("a.b"), "\"a.b\"");
    }

    #[test]
    fn datetimes_in_china_time() {
        // 2026-12-01T00:00:00+08:00
        assert_eq!(
            china_datetime(1_796_054_400_000).as_deref(),
            Some("2026-12-01T00:00:00+08:00")
        );
        assert_eq!(
            china_datetime(1_796_054_400_123).as_deref(),
            Some("2026-12-01T00:00:00.123+08:00")
        );
        for ms in [0, 1_796_054_400_123, 1_234_567_890_001] {
            let d: toml::value::Datetime = china_datetime(ms).unwrap().parse().unwrap();
            assert_eq!(crate::catalog::check::datetime_to_ms(&d), Some(ms));
        }
        // The last hours of year 9999 UTC have no +08:00 form; nothing panics on any value.
        assert_eq!(china_datetime(253_402_297_199_000), None);
        for ms in [i64::MIN, -1, i64::MAX, 253_402_271_999_999] {
            let _ = china_datetime(ms);
        }
    }

    fn adopted() -> Adopted {
        Adopted {
            course_id: "py-101".into(),
            product_id: 7301,
            approved: true,
            listed: false,
            payload: json!({
                "title": "Python 入门",
                "first_class": 10000,
                "second_class": 10300,
                "purchase_precaution": "购买后可反复学习",
                "cover": "http://127.0.0.1:1/obj/product/resource/c1",
                "price": {"unit": "节", "price": 5000, "range_min_price": 100, "range_max_price": 6000},
                "page": {"path": "pages/course/detail", "query": {"channel": "catalog", "a b": "x"}},
                "lessons": [
                    {"name": "视频课", "type": "video", "file": "http://127.0.0.1:1/obj/v1"},
                    {"name": "讲义", "type": "text", "text": "第一行\n第二行 \"引号\""}
                ],
                "details": [{"text": "介绍", "image": "https://cdn.example.com/d.png"}, {"rich_text": "<b>x</b>"}],
                "anchor": {"title": "Python"},
                "gift": {"type": 1, "name": "书", "num": 2, "pics": [], "send_back_on_refund": true, "policy_desc": "退回"},
                "course": {"course_num": 3, "institution_id": "I_1", "refund": {"progress_below_percent": 30},
                           "valid_until": "2027-12-31", "start": 1_796_054_400_000_i64, "end": 1_796_054_400_500_i64}
            }),
        }
    }

    #[test]
    fn course_file_round_trips_through_the_raw_format() {
        let text = course_file(&adopted()).unwrap();
        let raw: crate::catalog::raw::RawCourse = toml::from_str(&text).unwrap();
        assert_eq!(raw.course_id.unwrap().into_inner(), "py-101");
        assert!(!raw.listed.unwrap().into_inner());
        assert_eq!(
            raw.lessons.unwrap().into_inner()[1]
                .get_ref()
                .text
                .as_ref()
                .unwrap()
                .get_ref(),
            "第一行\n第二行 \"引号\""
        );
        assert_eq!(
            text.matches(HOSTED_COMMENT).count(),
            3,
            "cover, the video and the detail image: {text}"
        );
        assert!(text.contains("type = \"physical\""), "{text}");
        assert!(!text.contains("pics"), "{text}");
        assert!(
            text.contains("refund = { progress_below_percent = 30 }"),
            "{text}"
        );
        assert!(text.contains("valid_until = 2027-12-31\n"), "{text}");
        assert!(
            text.contains("end = 2026-12-01T00:00:00.500+08:00\n"),
            "{text}"
        );
        assert!(
            text.contains("query = { \"a b\" = \"x\", channel = \"catalog\" }"),
            "{text}"
        );
    }

    #[test]
    fn unwritable_values_are_errors() {
        let mut a = adopted();
        a.payload["course"]["valid_until"] = json!("2027-12-31T00:00:00");
        assert!(matches!(
            course_file(&a),
            Err(AdoptError::Unwritable {
                field: "course.valid_until",
                ..
            })
        ));
        let mut a = adopted();
        a.payload["gift"]["type"] = json!(9);
        assert!(matches!(
            course_file(&a),
            Err(AdoptError::Unwritable {
                field: "gift.type",
                ..
            })
        ));
    }

    #[test]
    fn records_for_live_and_reviewing_versions() {
        let a = adopted();
        let r = record(&a, 5);
        assert_eq!(r.audit, Audit::Approved);
        assert_eq!(r.product_id, Some(7301));
        assert_eq!(r.title, "Python 入门");
        assert_eq!(
            r.payload_hash.as_deref(),
            Some(canonical::hash(&a.payload).as_str())
        );
        assert_eq!(r.approved_hash, r.payload_hash);
        assert!(!r.listed);
        let r = record(
            &Adopted {
                approved: false,
                ..a
            },
            5,
        );
        assert_eq!(r.audit, Audit::InReview);
        assert_eq!(r.approved_payload, None);
    }
}
