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

use serde_json::Value;

use crate::catalog::codes;
use crate::mapping::{self, MappingError};
use crate::plan::canonical;
use crate::platform::facts::KnownFacts;
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

/// Whether a live version is listed. An approved course is listed automatically
/// (platform-api.md §5.1), so it counts as listed unless its `product_status.status` is known
/// to be the listing code (`query.status_means_listing`) and says "delisted": a field of unknown
/// meaning never decides (PRODUCT.md "Platform facts the documents leave open").
fn is_listed(version: &wire::QueriedVersion, facts: &KnownFacts) -> bool {
    mapping::listed_of(version, facts).unwrap_or(true)
}

/// `product_id` as the platform answered about it (`None`: not in its answer); `facts` says
/// whether its listing can be read.
pub fn adopt(
    product_id: i64,
    answer: Option<&wire::QueriedProduct>,
    facts: &KnownFacts,
) -> Result<Adopted, AdoptError> {
    adopt_with(product_id, answer, facts, &|_| None)
}

/// [`adopt`], mapping file URLs back to file values through `uri_to_file` (the uploads this
/// project recorded), for a product this project itself sent.
pub fn adopt_with(
    product_id: i64,
    answer: Option<&wire::QueriedProduct>,
    facts: &KnownFacts,
    uri_to_file: &dyn Fn(&str) -> Option<String>,
) -> Result<Adopted, AdoptError> {
    let product = answer.ok_or(AdoptError::Unknown(product_id))?;
    let (version, live) = version(product).ok_or(AdoptError::NoVersion(product_id))?;
    let course_id = course_id(version).ok_or(AdoptError::NoCourseId(product_id))?;
    let payload = mapping::canonical_from_platform(version, uri_to_file)?;
    Ok(Adopted {
        course_id,
        product_id,
        approved: live,
        listed: live && is_listed(version, facts),
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
// The course file writer (toml_edit: escaping, quoting of keys and the layout are its job).

/// A scalar JSON value as a TOML value (strings, integers, booleans); `None` for anything else.
fn scalar(v: &Value) -> Option<toml_edit::Value> {
    match v {
        Value::String(s) => Some(s.as_str().into()),
        Value::Bool(b) => Some((*b).into()),
        Value::Number(n) => n.as_i64().map(Into::into),
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

/// Puts a table's keys, in `order`, each present scalar as a key of `out`. `files` are the keys
/// that hold file references: they get [`HOSTED_COMMENT`] when their value is a URL.
fn keys(out: &mut toml_edit::Table, table: &Value, order: &[&str], files: &[&str]) {
    for k in order {
        let Some(v) = table.get(*k) else { continue };
        let Some(mut value) = scalar(v) else { continue };
        if files.contains(k) && v.as_str().is_some_and(|s| s.contains("://")) {
            value.decor_mut().set_suffix(format!("  {HOSTED_COMMENT}"));
        }
        out.insert(k, toml_edit::Item::Value(value));
    }
}

/// A `[name]` table, set apart from what precedes it by a blank line.
fn table() -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    t.decor_mut().set_prefix("\n");
    t
}

/// A TOML date or datetime value written as `text` (parsed as a value, so it keeps its form,
/// such as milliseconds written as `.500`).
fn datetime(text: &str) -> Option<toml_edit::Value> {
    text.parse::<toml_edit::Value>()
        .ok()
        .filter(toml_edit::Value::is_datetime)
        .map(|v| v.decorated(" ", ""))
}

/// The course file for `adopted`, in the format of docs/catalog-format.md.
pub fn course_file(adopted: &Adopted) -> Result<String, AdoptError> {
    use toml_edit::{ArrayOfTables, InlineTable, Item};
    let p = &adopted.payload;
    let unwritable = |field: &'static str, value: &Value| AdoptError::Unwritable {
        product_id: adopted.product_id,
        field,
        value: value.to_string(),
    };
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert("course_id", toml_edit::value(adopted.course_id.as_str()));
    doc.key_mut("course_id")
        .expect("just inserted")
        .leaf_decor_mut()
        .set_prefix(format!(
            "# Dumped by `coursesync dump` from product {} ({}).\n",
            adopted.product_id,
            if adopted.approved {
                "its live version"
            } else {
                "the version in review: nothing is live yet"
            }
        ));
    let top = doc.as_table_mut();
    keys(
        top,
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
    top.insert("listed", toml_edit::value(adopted.listed));

    if let Some(price) = p.get("price") {
        let mut t = table();
        keys(
            &mut t,
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
        top.insert("price", Item::Table(t));
    }
    if let Some(page) = p.get(canonical::PAGE_KEY) {
        let mut t = table();
        keys(&mut t, page, &["path"], &[]);
        if let Some(query) = page.get("query").and_then(Value::as_object)
            && !query.is_empty()
        {
            let mut inline = InlineTable::new();
            for (k, v) in query {
                inline.insert(k, scalar(v).ok_or_else(|| unwritable("page.query", v))?);
            }
            t.insert("query", toml_edit::value(inline));
        }
        top.insert("page", Item::Table(t));
    }
    for (name, order, files) in [
        (
            "lessons",
            &["name", "type", "file", "text"][..],
            &["file"][..],
        ),
        (
            "details",
            &["text", "image", "rich_text"][..],
            &["image"][..],
        ),
    ] {
        let mut array = ArrayOfTables::new();
        for item in p.get(name).and_then(Value::as_array).into_iter().flatten() {
            let mut t = table();
            keys(&mut t, item, order, files);
            array.push(t);
        }
        if !array.is_empty() {
            top.insert(name, Item::ArrayOfTables(array));
        }
    }
    if let Some(anchor) = p.get("anchor") {
        let mut t = table();
        keys(&mut t, anchor, &["title"], &[]);
        top.insert("anchor", Item::Table(t));
    }
    if let Some(gift) = p.get("gift") {
        let mut t = table();
        let code = gift.get("type").cloned().unwrap_or(Value::Null);
        let kind = codes::GIFT_KINDS
            .iter()
            .find(|(_, c)| code.as_i64() == Some(*c))
            .map(|(name, _)| *name)
            .ok_or_else(|| unwritable("gift.type", &code))?;
        t.insert("type", toml_edit::value(kind));
        keys(&mut t, gift, &["name", "num"], &[]);
        if let Some(pics) = gift.get("pics").and_then(Value::as_array)
            && !pics.is_empty()
        {
            let pics: toml_edit::Array = pics
                .iter()
                .map(|v| scalar(v).ok_or_else(|| unwritable("gift.pics", v)))
                .collect::<Result<_, _>>()?;
            t.insert("pics", toml_edit::value(pics));
        }
        keys(&mut t, gift, &["send_back_on_refund", "policy_desc"], &[]);
        top.insert("gift", Item::Table(t));
    }
    if let Some(course) = p.get("course") {
        let mut t = table();
        keys(
            &mut t,
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
            let mut inline = InlineTable::new();
            inline.insert(form, value.into());
            t.insert("refund", toml_edit::value(inline));
        }
        if let Some(v) = course.get("valid_until") {
            // A bare TOML date: it must be exactly one.
            let date = v
                .as_str()
                .filter(|s| {
                    s.parse::<toml::value::Datetime>()
                        .is_ok_and(|d| d.date.is_some() && d.time.is_none() && s.len() == 10)
                })
                .and_then(datetime)
                .ok_or_else(|| unwritable("course.valid_until", v))?;
            t.insert("valid_until", Item::Value(date));
        }
        for (field, name) in [("course.start", "start"), ("course.end", "end")] {
            if let Some(v) = course.get(name) {
                let at = v
                    .as_i64()
                    .and_then(china_datetime)
                    .as_deref()
                    .and_then(datetime)
                    .ok_or_else(|| unwritable(field, v))?;
                t.insert(name, Item::Value(at));
            }
        }
        top.insert("course", Item::Table(t));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings_are_escaped_and_chinese_kept() {
        let mut a = adopted();
        a.payload["title"] = json!("引号\"\\\n\t<b>x</b>\u{1}");
        a.payload["page"]["query"] = json!({"a.b": "x", "channel": "课程"});
        let text = course_file(&a).unwrap();
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["title"].as_str(), Some("引号\"\\\n\t<b>x</b>\u{1}"));
        assert_eq!(parsed["page"]["query"]["a.b"].as_str(), Some("x"));
        assert!(text.contains("\"课程\""), "Chinese is kept as is: {text}");
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
