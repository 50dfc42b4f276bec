//! Drift: the platform's view of each course, mapped back to the canonical payload (see
//! `plan::canonical`), compared with what was last approved.
//!
//! [`canonical_from_platform`] is the one place that maps a `query` version (response-side names:
//! `product_img_url`, `fulfillment_url`, `img_url`, codes) to catalog terms; `import` and `dump`
//! reuse it. File URLs are mapped back to file values through the uploads recorded in state
//! ([`file_values`]); the platform's URL format is unknown [I], so a URL matches a known uri when
//! it ends with it (the emulator serves `<base>/obj/<uri>`); an unknown URL stays a URL.
//!
//! [`check`] queries every course in state that has a live product id and [`compare`]s, per
//! course, the on-shelf version with the last *approved* payload (PRODUCT.md "Settled details":
//! a modify still in review is pending, not drift), plus the listing. It reads only.
//!
//! `drift --format json` prints a [`Report`]:
//!
//! ```text
//! {"format_version": 1,
//!  "courses": [{"course_id": "py-101", "product_id": 7001,
//!               "kind": "changed" | "listing" | "missing" | "pending",
//!               "changes": [{"path": "price.real_price", "platform": 3900, "applied": 4900}],
//!               "pending": false}]}
//! ```
//!
//! `kind`: `changed` the live content differs from the approved payload (a listing difference,
//! if any, is one more change with path `listed`); `listing` only the listing differs; `missing`
//! the platform no longer knows the product (or has no live version of an approved course);
//! `pending` no drift, but a modify is in review (`changes` then shows what it will change:
//! `platform` the live value, `applied` the value sent). A missing side of a change is `null`.
//! `pending` is true whenever a modify of the course is in review. Only `pending` entries are not
//! drift: `drift` exits 2 when any other entry exists.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::catalog::codes::{self, LessonKind};
use crate::plan::{self, canonical};
use crate::platform::facts::listing_status;
use crate::platform::{Client, PlatformError, wire};
use crate::state::{Audit, CourseRecord, ResourceRecord};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DriftError {
    #[error("product {product_id}: the platform's answer has no `{field}`")]
    Missing {
        product_id: i64,
        field: &'static str,
    },
    #[error("product {product_id}: lesson {index} has unknown fulfillment_type {code:?}")]
    UnknownLessonType {
        product_id: i64,
        index: usize,
        code: Option<i64>,
    },
    #[error("product {product_id}: unknown refund_label type {code}")]
    UnknownRefund { product_id: i64, code: i64 },
}

/// The file value of every upload recorded in state, by uri: `sha256:<hex>` for a catalog file,
/// the URL that was offered for a hosted file (its resource key is `url:<sha256 of the URL>`).
pub fn file_values(resources: &HashMap<(String, i64), ResourceRecord>) -> HashMap<String, String> {
    resources
        .values()
        .filter(|r| !r.uri.is_empty())
        .map(|r| {
            let value = if r.sha256.starts_with("url:") {
                r.url.clone()
            } else {
                format!("sha256:{}", r.sha256)
            };
            (r.uri.clone(), value)
        })
        .collect()
}

/// The file value a platform URL stands for: the first known uri the URL ends with (longest
/// first, at `/` boundaries, with and without the query string), else the URL itself.
pub fn file_from_url(url: &str, uri_to_file: &dyn Fn(&str) -> Option<String>) -> String {
    let bare = url.split(['?', '#']).next().unwrap_or(url);
    for candidate in [url, bare] {
        if let Some(v) = uri_to_file(candidate) {
            return v;
        }
        let path = candidate
            .split_once("://")
            .map_or(candidate, |(_, rest)| rest);
        let mut rest = path;
        while let Some((_, tail)) = rest.split_once('/') {
            if !tail.is_empty()
                && let Some(v) = uri_to_file(tail)
            {
                return v;
            }
            rest = tail;
        }
    }
    url.to_string()
}

fn text(s: &str) -> Value {
    Value::String(s.trim().to_string())
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

/// The platform's view of one version in canonical form (the inverse of
/// `apply::request::product`). Fields the platform left out are left out, so that they show as
/// differences rather than as invented defaults.
pub fn canonical_from_platform(
    version: &wire::QueriedVersion,
    uri_to_file: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, DriftError> {
    let product_id = version.product_id.unwrap_or_default();
    let info = version
        .common_product_info
        .as_ref()
        .ok_or(DriftError::Missing {
            product_id,
            field: "common_product_info",
        })?;
    let file = |url: &str| Value::String(file_from_url(url, uri_to_file));
    let mut out = Map::new();
    insert_opt(&mut out, "title", info.title.as_deref().map(text));
    insert_opt(&mut out, "first_class", info.first_class.map(|v| json!(v)));
    insert_opt(
        &mut out,
        "second_class",
        info.second_class.map(|v| json!(v)),
    );
    insert_opt(
        &mut out,
        "purchase_precaution",
        info.purchase_precaution.as_deref().map(text),
    );
    insert_opt(&mut out, "cover", info.product_img_url.as_deref().map(file));
    if let Some(p) = &info.price_info {
        let mut price = Map::new();
        price.insert("unit".into(), text(&p.unit));
        price.insert("price".into(), json!(p.price));
        insert_opt(&mut price, "real_price", p.real_price.map(|v| json!(v)));
        insert_opt(
            &mut price,
            "range_min_price",
            p.range_min_price.map(|v| json!(v)),
        );
        insert_opt(
            &mut price,
            "range_max_price",
            p.range_max_price.map(|v| json!(v)),
        );
        out.insert("price".into(), Value::Object(price));
    }
    if let Some(page) = info.path_info_lst.first() {
        let query: Map<String, Value> = page
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "course_id")
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        out.insert(
            canonical::PAGE_KEY.into(),
            json!({ "path": page.path, "query": query }),
        );
    }
    let mut lessons = Vec::with_capacity(info.product_fulfillment_lst.len());
    for (index, f) in info.product_fulfillment_lst.iter().enumerate() {
        let kind = f
            .fulfillment_type
            .and_then(LessonKind::from_fulfillment_type)
            .ok_or(DriftError::UnknownLessonType {
                product_id,
                index,
                code: f.fulfillment_type,
            })?;
        let c = &f.fulfillment_content;
        let mut m = Map::new();
        m.insert("name".into(), text(c.name.as_deref().unwrap_or_default()));
        m.insert("type".into(), json!(kind.name()));
        insert_opt(
            &mut m,
            "file",
            c.fulfillment_url
                .as_deref()
                .filter(|u| !u.is_empty())
                .map(file),
        );
        insert_opt(&mut m, "text", c.text.as_deref().map(text));
        lessons.push(Value::Object(m));
    }
    out.insert("lessons".into(), Value::Array(lessons));
    let details: Vec<Value> = info
        .product_detail_lst
        .iter()
        .map(|d| {
            let mut m = Map::new();
            insert_opt(&mut m, "text", d.text.as_deref().map(text));
            insert_opt(
                &mut m,
                "image",
                d.img_url.as_deref().filter(|u| !u.is_empty()).map(file),
            );
            insert_opt(
                &mut m,
                "rich_text",
                d.rich_text.as_ref().map(|r| text(&r.text)),
            );
            Value::Object(m)
        })
        .collect();
    out.insert("details".into(), Value::Array(details));
    insert_opt(
        &mut out,
        "anchor",
        info.anchor_info
            .as_ref()
            .map(|a| json!({ "title": text(&a.video_anchor_info.anchor_title) })),
    );
    insert_opt(
        &mut out,
        "gift",
        info.gift_info.as_ref().map(|g| {
            json!({
                "type": g.gift_type,
                "name": text(&g.name),
                "num": g.num,
                "pics": g.pics.clone().unwrap_or_default(),
                "send_back_on_refund": g.send_back_policy.send_back_on_refund != 0,
                "policy_desc": text(&g.send_back_policy.policy_desc),
            })
        }),
    );
    if let Some(c) = &version.course_info {
        out.insert("course".into(), course(c, product_id)?);
    }
    Ok(Value::Object(out))
}

/// `course_info` → the payload's `course`.
fn course(c: &wire::CourseInfo, product_id: i64) -> Result<Value, DriftError> {
    let mut m = Map::new();
    insert_opt(&mut m, "course_num", c.course_num.map(|v| json!(v)));
    insert_opt(&mut m, "teacher_id", c.teacher_id.as_deref().map(text));
    insert_opt(
        &mut m,
        "institution_id",
        c.institution_id.as_deref().map(text),
    );
    if let Some(r) = &c.refund_label {
        let refund = match r.label_type {
            t if t == codes::REFUND_DAYS_UNUSED.1 => {
                json!({ codes::REFUND_DAYS_UNUSED.0: r.day_before_use_info.as_ref().map(|d| d.day) })
            }
            t if t == codes::REFUND_PROGRESS_BELOW_PERCENT.1 => {
                json!({ codes::REFUND_PROGRESS_BELOW_PERCENT.0:
                    r.rest_not_learn_info.as_ref().map(|i| i.rest_percent) })
            }
            t if t == codes::REFUND_FIXED.1 => json!({ codes::REFUND_FIXED.0: r.fixed }),
            code => return Err(DriftError::UnknownRefund { product_id, code }),
        };
        m.insert("refund".into(), refund);
    }
    insert_opt(
        &mut m,
        "valid_until",
        c.use_label.as_ref().map(|u| text(&u.valid_date)),
    );
    insert_opt(&mut m, "start", c.start_timestamp.map(|v| json!(v)));
    insert_opt(&mut m, "end", c.end_timestamp.map(|v| json!(v)));
    Ok(Value::Object(m))
}

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

/// Whether the platform may know `record`'s product: it has an id that is not a dead first add
/// (a rejected first add's id is void, platform-api.md §5.1).
pub fn is_checked(record: &CourseRecord) -> bool {
    record.product_id.is_some()
        && !(record.audit == Audit::Rejected && record.approved_hash.is_none())
}

/// The platform's listing from the live version's `product_status.status` (1 listed,
/// 2 delisted, platform-api.md §5.4 [I]); `None` when it says neither.
pub fn listed_of(version: &wire::QueriedVersion) -> Option<bool> {
    match version.product_status.as_ref()?.status? {
        listing_status::LIST => Some(true),
        listing_status::DELIST => Some(false),
        _ => None,
    }
}

fn parse(payload: Option<&str>) -> Option<Value> {
    payload.and_then(|p| serde_json::from_str(p).ok())
}

fn changes(applied: Option<&Value>, platform: &Value) -> Vec<Change> {
    plan::field_changes(applied, platform)
        .into_iter()
        .map(|f| Change {
            path: f.path,
            platform: f.new,
            applied: f.old,
        })
        .collect()
}

/// One course: its record against what `query` answered for its product (`None`: nothing).
/// `Ok(None)` when there is nothing to report.
pub fn compare(
    record: &CourseRecord,
    queried: Option<&wire::QueriedProduct>,
    uri_to_file: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<CourseDrift>, DriftError> {
    let Some(product_id) = record.product_id.filter(|_| is_checked(record)) else {
        return Ok(None);
    };
    let approved = parse(record.approved_payload.as_deref());
    let pending = record.audit == Audit::InReview && approved.is_some();
    let mut drift = CourseDrift {
        course_id: record.course_id.clone(),
        product_id,
        kind: Kind::Missing,
        changes: Vec::new(),
        pending,
        platform_payload: None,
        platform_listed: None,
    };
    let live = queried.and_then(|q| q.product_on_shelf.as_ref());
    let Some(approved) = approved else {
        // In its first review: nothing live to compare, but the platform must know the id.
        return Ok(queried.is_none().then_some(drift));
    };
    let Some(live) = live else {
        return Ok(Some(drift));
    };
    let platform = canonical_from_platform(live, uri_to_file)?;
    drift.changes = changes(Some(&approved), &platform);
    drift.platform_listed = listed_of(live);
    let content = !drift.changes.is_empty();
    let listing = drift.platform_listed.is_some_and(|l| l != record.listed);
    if listing {
        drift.changes.push(Change {
            path: LISTED_PATH.into(),
            platform: drift.platform_listed.map(Value::Bool),
            applied: Some(Value::Bool(record.listed)),
        });
    }
    drift.kind = if content {
        Kind::Changed
    } else if listing {
        Kind::Listing
    } else if pending {
        drift.changes = changes(parse(record.payload.as_deref()).as_ref(), &platform);
        Kind::Pending
    } else {
        return Ok(None);
    };
    drift.platform_payload = Some(platform);
    Ok(Some(drift))
}

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

/// Folds drift into a planner's view of state (`plan --refresh`), so that the plan puts the
/// platform back to the catalog: a drifted course's payload becomes the platform's (content
/// drift plans a modify, page drift a path-only change), its listing the platform's, and a
/// product the platform no longer knows is forgotten (planned as an add). `full` supplies the
/// complete record of a course the view holds without payloads.
pub fn fold_into(
    view: &mut plan::StateView,
    report: &Report,
    full: &BTreeMap<String, CourseRecord>,
) {
    for d in report.courses.iter().filter(|d| d.is_drift()) {
        if d.kind == Kind::Missing {
            view.courses.remove(&d.course_id);
            continue;
        }
        let Some(record) = full.get(&d.course_id) else {
            continue;
        };
        let r = view
            .courses
            .entry(d.course_id.clone())
            .or_insert_with(|| record.clone());
        if d.kind == Kind::Changed
            && let Some(platform) = &d.platform_payload
            && d.changes.iter().any(|c| c.path != LISTED_PATH)
        {
            r.payload = Some(platform.to_string());
            r.payload_hash = Some(canonical::hash(platform));
        }
        if let Some(listed) = d.platform_listed {
            r.listed = listed;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::platform::wire::{Envelope, QueryData};

    fn lookup(uri: &str) -> Option<String> {
        match uri {
            "product/resource/v1" => Some("sha256:aaaa".into()),
            "tos-cn-i-b2i6zad4el/cover1" => Some("sha256:cccc".into()),
            "product/resource/img1" => Some("https://cdn.example.com/hosted.png".into()),
            _ => None,
        }
    }

    #[test]
    fn urls_map_back_to_file_values_by_their_uri_suffix() {
        assert_eq!(
            file_from_url("http://127.0.0.1:4000/obj/product/resource/v1", &lookup),
            "sha256:aaaa"
        );
        assert_eq!(
            file_from_url(
                "https://p3.cdn.example/tos-cn-i-b2i6zad4el/cover1?x-expires=1&sig=2",
                &lookup
            ),
            "sha256:cccc"
        );
        // A hosted file: the URL that was offered.
        assert_eq!(
            file_from_url("http://e/obj/product/resource/img1", &lookup),
            "https://cdn.example.com/hosted.png"
        );
        // Unknown: stays a URL; a partial segment is no match.
        assert_eq!(
            file_from_url("http://e/obj/product/resource/v12", &lookup),
            "http://e/obj/product/resource/v12"
        );
    }

    #[test]
    fn file_values_come_from_state_resources() {
        let rec = |key: &str, uri: &str, url: &str| ResourceRecord {
            sha256: key.into(),
            resource_type: 1,
            uri: uri.into(),
            status: 2,
            url: url.into(),
            updated_at: 0,
        };
        let resources: HashMap<(String, i64), ResourceRecord> = [
            rec("abcd", "u/1", "http://files/abcd"),
            rec("url:ffff", "u/2", "https://cdn/x.png"),
        ]
        .into_iter()
        .map(|r| ((r.sha256.clone(), r.resource_type), r))
        .collect();
        let map = file_values(&resources);
        assert_eq!(map["u/1"], "sha256:abcd");
        assert_eq!(map["u/2"], "https://cdn/x.png");
    }

    /// A `query` answer shaped like the emulator's, with every field of the canonical form.
    const ANSWER: &str = r#"{"err_no":0,"data":{"products":[{"product_on_shelf":{
        "product_id":"77","product_type":1,
        "common_product_info":{"appid":"tt","first_class":10000,"second_class":10100,
          "title":" Python 入门 ","purchase_precaution":"须知\n","industry_type":1,
          "price_info":{"unit":"节","price":5000,"real_price":4900},
          "path_info_lst":[{"path":"pages/course/index","query":{"course_id":"py-101","from":"lib"}}],
          "product_detail_lst":[{"text":"介绍"},{"img_url":"http://e/obj/product/resource/img1"},
            {"text":"图文","img_url":"http://e/obj/product/resource/other"},
            {"rich_text":{"text":"<b>x</b>","url":"http://e/obj/r"}}],
          "product_fulfillment_lst":[
            {"fulfillment_type":1,"fulfillment_content":{"name":"第一节","fulfillment_url":"http://e/obj/product/resource/v1"}},
            {"fulfillment_type":"4","fulfillment_content":{"name":"第二节","text":" 正文 "}}],
          "anchor_info":{"video_anchor_info":{"anchor_title":"Python"}},
          "gift_info":{"type":2,"name":"资料","num":1,"send_back_policy":{"send_back_on_refund":1,"policy_desc":"退回"}},
          "callback_data":"py-101",
          "product_img_url":"http://e/obj/tos-cn-i-b2i6zad4el/cover1"},
        "course_info":{"teacher_id":"T1","institution_id":"I1","course_num":2,
          "refund_label":{"type":2,"rest_not_learn_info":{"rest_percent":30}},
          "use_label":{"valid_date":"2030-01-01"},"start_timestamp":1000,"end_timestamp":2000},
        "product_status":{"status":1}}}]}}"#;

    fn version(json: &str) -> wire::QueriedVersion {
        let e: Envelope<QueryData> = serde_json::from_str(json).unwrap();
        e.data.unwrap().products[0]
            .product_on_shelf
            .clone()
            .unwrap()
    }

    #[test]
    fn every_field_maps_to_catalog_terms() {
        let got = canonical_from_platform(&version(ANSWER), &lookup).unwrap();
        let expected = json!({
            "title": "Python 入门",
            "first_class": 10000,
            "second_class": 10100,
            "purchase_precaution": "须知",
            "cover": "sha256:cccc",
            "price": {"unit": "节", "price": 5000, "real_price": 4900},
            "page": {"path": "pages/course/index", "query": {"from": "lib"}},
            "lessons": [
                {"name": "第一节", "type": "video", "file": "sha256:aaaa"},
                {"name": "第二节", "type": "text", "text": "正文"},
            ],
            "details": [
                {"text": "介绍"},
                {"image": "https://cdn.example.com/hosted.png"},
                {"text": "图文", "image": "http://e/obj/product/resource/other"},
                {"rich_text": "<b>x</b>"},
            ],
            "anchor": {"title": "Python"},
            "gift": {"type": 2, "name": "资料", "num": 1, "pics": [],
                     "send_back_on_refund": true, "policy_desc": "退回"},
            "course": {"course_num": 2, "teacher_id": "T1", "institution_id": "I1",
                       "refund": {"progress_below_percent": 30}, "valid_until": "2030-01-01",
                       "start": 1000, "end": 2000},
        });
        assert_eq!(got, expected);
    }

    #[test]
    fn refund_forms_and_range_prices() {
        let v = version(
            &ANSWER
                .replace(
                    r#""refund_label":{"type":2,"rest_not_learn_info":{"rest_percent":30}}"#,
                    r#""refund_label":{"type":3,"fixed":2}"#,
                )
                .replace(
                    r#""real_price":4900"#,
                    r#""range_min_price":4000,"range_max_price":6000"#,
                ),
        );
        let got = canonical_from_platform(&v, &lookup).unwrap();
        assert_eq!(got["course"]["refund"], json!({"fixed": 2}));
        assert_eq!(
            got["price"],
            json!({"unit": "节", "price": 5000, "range_min_price": 4000, "range_max_price": 6000})
        );
        let v = version(&ANSWER.replace(
            r#""refund_label":{"type":2,"rest_not_learn_info":{"rest_percent":30}}"#,
            r#""refund_label":{"type":1,"day_before_use_info":{"day":7}}"#,
        ));
        let got = canonical_from_platform(&v, &lookup).unwrap();
        assert_eq!(got["course"]["refund"], json!({"days_unused": 7}));
    }

    #[test]
    fn unknown_codes_are_errors() {
        let v = version(&ANSWER.replace(r#""fulfillment_type":"4""#, r#""fulfillment_type":9"#));
        assert_eq!(
            canonical_from_platform(&v, &lookup),
            Err(DriftError::UnknownLessonType {
                product_id: 77,
                index: 1,
                code: Some(9)
            })
        );
        let v = version(&ANSWER.replace(r#"{"type":2,"rest_not_learn_info""#, r#"{"type":9,"x""#));
        assert_eq!(
            canonical_from_platform(&v, &lookup),
            Err(DriftError::UnknownRefund {
                product_id: 77,
                code: 9
            })
        );
        let v = wire::QueriedVersion {
            product_id: Some(5),
            ..wire::QueriedVersion::default()
        };
        assert!(matches!(
            canonical_from_platform(&v, &lookup),
            Err(DriftError::Missing { product_id: 5, .. })
        ));
    }

    fn record(audit: Audit, approved: Option<&Value>) -> CourseRecord {
        CourseRecord {
            course_id: "py-101".into(),
            title: "t".into(),
            product_id: Some(77),
            audit,
            reject_reason: None,
            listed: true,
            payload: approved.map(Value::to_string),
            payload_hash: approved.map(canonical::hash),
            approved_payload: approved.map(Value::to_string),
            approved_hash: approved.map(canonical::hash),
            first_applied_at: None,
            last_applied_at: None,
            updated_at: 0,
            lesson_audits: None,
        }
    }

    #[test]
    fn compare_skips_dead_ids_and_first_reviews_and_reports_missing_products() {
        let e: Envelope<QueryData> = serde_json::from_str(ANSWER).unwrap();
        let queried = &e.data.unwrap().products[0];
        let live =
            canonical_from_platform(queried.product_on_shelf.as_ref().unwrap(), &lookup).unwrap();
        // A rejected first add: its id is dead, never asked about.
        let dead = record(Audit::Rejected, None);
        assert!(!is_checked(&dead));
        assert_eq!(compare(&dead, None, &lookup), Ok(None));
        // In its first review: nothing to compare, unless the platform lost the product.
        let first = record(Audit::InReview, None);
        assert_eq!(compare(&first, Some(queried), &lookup), Ok(None));
        let missing = compare(&first, None, &lookup).unwrap().unwrap();
        assert_eq!(missing.kind, Kind::Missing);
        // Approved and unchanged: nothing; unknown to the platform: missing.
        let approved = record(Audit::Approved, Some(&live));
        assert_eq!(compare(&approved, Some(queried), &lookup), Ok(None));
        assert_eq!(
            compare(&approved, None, &lookup).unwrap().unwrap().kind,
            Kind::Missing
        );
        // Delisted in state, listed on the platform: listing drift.
        let delisted = CourseRecord {
            listed: false,
            ..approved.clone()
        };
        let d = compare(&delisted, Some(queried), &lookup).unwrap().unwrap();
        assert_eq!(d.kind, Kind::Listing);
        assert_eq!(d.platform_listed, Some(true));
    }

    #[test]
    fn round_trips_through_the_request_builder() {
        // canonical → request (apply) → what the emulator's query shows → canonical again.
        let payload = canonical_from_platform(&version(ANSWER), &lookup).unwrap();
        let uris: BTreeMap<&str, &str> = [
            ("aaaa", "product/resource/v1"),
            ("cccc", "tos-cn-i-b2i6zad4el/cover1"),
        ]
        .into_iter()
        .collect();
        let uri = |key: &str, _rt: i64| -> Option<String> {
            uris.get(key).map(|u| (*u).to_string()).or_else(|| {
                key.starts_with("url:").then(|| {
                    if key
                        == crate::plan::canonical::resource_key(
                            "https://cdn.example.com/hosted.png",
                        )
                    {
                        "product/resource/img1".into()
                    } else {
                        "product/resource/other".into()
                    }
                })
            })
        };
        let product = crate::apply::request::product(&payload, "py-101", "tt", &uri).unwrap();
        let mut common = serde_json::to_value(&product.common_product_params).unwrap();
        let url = |uri: &Value| json!(format!("http://e/obj/{}", uri.as_str().unwrap()));
        let m = common.as_object_mut().unwrap();
        let img = m.remove("product_img_uri").unwrap();
        m.insert("product_img_url".into(), url(&img));
        for f in m["product_fulfillment_lst"].as_array_mut().unwrap() {
            let c = f["fulfillment_content"].as_object_mut().unwrap();
            if let Some(u) = c.remove("fulfillment_uri") {
                c.insert("fulfillment_url".into(), url(&u));
            }
        }
        for d in m["product_detail_lst"].as_array_mut().unwrap() {
            let d = d.as_object_mut().unwrap();
            if let Some(u) = d.remove("img_uri") {
                d.insert("img_url".into(), url(&u));
            }
        }
        let answer = json!({"err_no": 0, "data": {"products": [{"product_on_shelf": {
            "product_id": 77,
            "common_product_info": common,
            "course_info": serde_json::to_value(&product.course_params).unwrap(),
        }}]}});
        let back = canonical_from_platform(&version(&answer.to_string()), &|u| {
            lookup(u).or_else(|| {
                (u == "product/resource/other")
                    .then(|| "http://e/obj/product/resource/other".into())
            })
        })
        .unwrap();
        assert_eq!(back, payload);
    }
}
