//! The platform's view of a course in catalog terms: a `query` version (response-side names:
//! `product_img_url`, `fulfillment_url`, `img_url`, codes) mapped back to the canonical payload
//! of `plan::canonical`. The one place that does it; `drift`, `import` and `dump` use it.
//!
//! File URLs are mapped back to file values through the uploads recorded in state
//! ([`file_values`]); the platform's URL format is unknown [I], so a URL matches a known uri when
//! it ends with it (the emulator serves `<base>/obj/<uri>`); an unknown URL stays a URL. Fields
//! the platform left out are left out, so that they show as differences (or, for drift, as "not
//! reported") rather than as invented defaults.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::catalog::codes::{self, LessonKind};
use crate::plan::canonical;
use crate::platform::wire;
use crate::state::ResourceRecord;

/// Why a platform answer cannot be read in catalog terms.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
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
) -> Result<Value, MappingError> {
    let product_id = version.product_id.unwrap_or_default();
    let info = version
        .common_product_info
        .as_ref()
        .ok_or(MappingError::Missing {
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
            .ok_or(MappingError::UnknownLessonType {
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
fn course(c: &wire::CourseInfo, product_id: i64) -> Result<Value, MappingError> {
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
            code => return Err(MappingError::UnknownRefund { product_id, code }),
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

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::platform::wire::{Envelope, QueryData};

    pub(crate) fn lookup(uri: &str) -> Option<String> {
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
    pub(crate) const ANSWER: &str = r#"{"err_no":0,"data":{"products":[{"product_on_shelf":{
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
            Err(MappingError::UnknownLessonType {
                product_id: 77,
                index: 1,
                code: Some(9)
            })
        );
        let v = version(&ANSWER.replace(r#"{"type":2,"rest_not_learn_info""#, r#"{"type":9,"x""#));
        assert_eq!(
            canonical_from_platform(&v, &lookup),
            Err(MappingError::UnknownRefund {
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
            Err(MappingError::Missing { product_id: 5, .. })
        ));
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
