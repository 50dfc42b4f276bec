//! The canonical payload: one course in catalog terms, normalized, with every referenced file
//! replaced by its content hash (`sha256:<hex>`) or its URL. It is computable offline before any
//! upload; its hash decides what changed; the wire body is built from it; `import` maps the
//! platform's view into the same form. Objects are sorted maps, so the JSON is canonical.
//!
//! Normalization (PRODUCT.md "No phantom diffs"): texts are trimmed (a TOML multi-line string's
//! closing newline is not content), defaults are explicit, `listed` is kept out (it is not
//! content: listing changes go through `modify_status`), and `page.query` never holds
//! `course_id` (added on the wire).

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::catalog::model::{Course, Detail, FileRef, PriceForm, Refund};

/// The top-level key whose change alone is a path-only change (`modify_no_audit`).
pub const PAGE_KEY: &str = "page";

/// The canonical payload of `course`. `digests` maps a local file (relative path) to its sha256;
/// every local file the course references must be in it.
pub fn payload(course: &Course, digests: &HashMap<String, String>) -> Value {
    let file = |f: &FileRef| Value::String(file_value(f, digests));
    let mut price = Map::new();
    price.insert("unit".into(), text(&course.price.unit));
    price.insert("price".into(), json!(course.price.price));
    match course.price.form {
        PriceForm::Fixed { real_price } => {
            price.insert("real_price".into(), json!(real_price));
        }
        PriceForm::Range { min, max } => {
            price.insert("range_min_price".into(), json!(min));
            price.insert("range_max_price".into(), json!(max));
        }
    }
    let lessons: Vec<Value> = course
        .lessons
        .iter()
        .map(|l| {
            let mut m = Map::new();
            m.insert("name".into(), text(&l.name));
            m.insert("type".into(), json!(l.kind.name()));
            if let Some(f) = &l.file {
                m.insert("file".into(), file(f));
            }
            if let Some(t) = &l.text {
                m.insert("text".into(), text(t));
            }
            Value::Object(m)
        })
        .collect();
    let details: Vec<Value> = course
        .details
        .iter()
        .map(|d| match d {
            Detail::Text(t) => json!({ "text": text(t) }),
            Detail::Image(i) => json!({ "image": file(i) }),
            Detail::ImageText { text: t, image } => {
                json!({ "text": text(t), "image": file(image) })
            }
            Detail::RichText(t) => json!({ "rich_text": text(t) }),
        })
        .collect();
    let p = &course.params;
    let mut params = Map::new();
    params.insert("course_num".into(), json!(p.course_num));
    insert_opt(&mut params, "teacher_id", p.teacher_id.as_deref().map(text));
    insert_opt(
        &mut params,
        "institution_id",
        p.institution_id.as_deref().map(text),
    );
    insert_opt(
        &mut params,
        "refund",
        p.refund.map(|r| match r {
            Refund::DaysUnused(d) => json!({ "days_unused": d }),
            Refund::ProgressBelowPercent(v) => json!({ "progress_below_percent": v }),
            Refund::Fixed(id) => json!({ "fixed": id }),
        }),
    );
    insert_opt(
        &mut params,
        "valid_until",
        p.valid_until.clone().map(Value::String),
    );
    insert_opt(&mut params, "start", p.start_ms.map(|v| json!(v)));
    insert_opt(&mut params, "end", p.end_ms.map(|v| json!(v)));
    let query: Map<String, Value> = course
        .page
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut out = Map::new();
    out.insert("title".into(), text(&course.title));
    out.insert("first_class".into(), json!(course.first_class));
    out.insert("second_class".into(), json!(course.second_class));
    out.insert(
        "purchase_precaution".into(),
        text(&course.purchase_precaution),
    );
    out.insert("cover".into(), file(&course.cover));
    out.insert("price".into(), Value::Object(price));
    out.insert(
        PAGE_KEY.into(),
        json!({ "path": course.page.path, "query": query }),
    );
    out.insert("lessons".into(), Value::Array(lessons));
    out.insert("details".into(), Value::Array(details));
    insert_opt(
        &mut out,
        "anchor",
        course
            .anchor_title
            .as_deref()
            .map(|t| json!({ "title": text(t) })),
    );
    insert_opt(
        &mut out,
        "gift",
        course.gift.as_ref().map(|g| {
            json!({
                "type": g.kind,
                "name": text(&g.name),
                "num": g.num,
                "pics": g.pics,
                "send_back_on_refund": g.send_back_on_refund,
                "policy_desc": text(&g.policy_desc),
            })
        }),
    );
    out.insert("course".into(), Value::Object(params));
    Value::Object(out)
}

/// How a file appears in the canonical payload: its content hash, or the URL as written.
pub fn file_value(f: &FileRef, digests: &HashMap<String, String>) -> String {
    match f {
        FileRef::Local(rel) => format!(
            "sha256:{}",
            digests
                .get(rel)
                .unwrap_or_else(|| panic!("no digest for {rel}: hash every referenced file first"))
        ),
        FileRef::Url(url) => url.clone(),
    }
}

/// The resource key of a file value (`sha256:<hex>` or a URL): the file's sha256, or
/// `url:<sha256 of the URL>` for a hosted file. Plan (which uploads) and apply (which looks the
/// uris up) both key uploads by it.
pub fn resource_key(value: &str) -> String {
    match value.strip_prefix("sha256:") {
        Some(hex) => hex.to_string(),
        None => format!("url:{}", hex::encode(Sha256::digest(value.as_bytes()))),
    }
}

fn text(s: &str) -> Value {
    Value::String(s.trim().to_string())
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

/// The payload's hash: sha256 of its canonical JSON (sorted keys, no whitespace).
pub fn hash(payload: &Value) -> String {
    let bytes = serde_json::to_vec(payload).expect("a JSON value serializes");
    hex::encode(Sha256::digest(&bytes))
}

/// The payload without the page: what a re-audit is about.
pub fn content(payload: &Value) -> Value {
    let mut v = payload.clone();
    if let Value::Object(m) = &mut v {
        m.remove(PAGE_KEY);
    }
    v
}

/// The page part of a payload.
pub fn page(payload: &Value) -> Option<&Value> {
    payload.get(PAGE_KEY)
}

/// Flattens a payload into `(path, leaf)` pairs: `price.real_price`, `lessons[1].name`.
pub fn flatten(value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    flatten_into(String::new(), value, &mut out);
    out
}

fn flatten_into(prefix: String, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(key, v, out);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in a.iter().enumerate() {
                flatten_into(format!("{prefix}[{i}]"), v, out);
            }
        }
        leaf => out.push((prefix, leaf.clone())),
    }
}
