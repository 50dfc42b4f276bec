//! Builds the platform's request bodies from a canonical payload (see `plan::canonical`): what
//! was hashed and reviewed is exactly what is sent. File values (`sha256:<hex>` or a URL) become
//! the uris of their uploads; `course_id` joins the page query (platform-api.md §5.1).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalog::codes::{self, LessonKind, resource_type};
use crate::plan::canonical;
use crate::platform::wire;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the payload has no valid `{0}`")]
    Field(String),
    #[error("no uploaded uri for {value} (resource type {resource_type})")]
    NoUri { value: String, resource_type: i64 },
}

/// Every file value of a payload with the resource type it is uploaded as.
pub fn file_uses(payload: &Value) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    if let Some(cover) = payload["cover"].as_str() {
        out.push((cover.to_string(), resource_type::COVER));
    }
    for lesson in payload["lessons"].as_array().into_iter().flatten() {
        let kind = lesson["type"].as_str().and_then(LessonKind::from_name);
        if let (Some(file), Some(rt)) = (
            lesson["file"].as_str(),
            kind.and_then(|k| k.row().resource_type),
        ) {
            out.push((file.to_string(), rt));
        }
    }
    for detail in payload["details"].as_array().into_iter().flatten() {
        if let Some(image) = detail["image"].as_str() {
            out.push((image.to_string(), resource_type::IMAGE));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn str_of(v: &Value, key: &str) -> Result<String, RequestError> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| RequestError::Field(key.into()))
}

fn int_of(v: &Value, key: &str) -> Result<i64, RequestError> {
    v[key]
        .as_i64()
        .ok_or_else(|| RequestError::Field(key.into()))
}

/// `path_info_lst` for a payload: the page with `course_id` in its query.
pub fn path_info(payload: &Value, course_id: &str) -> Result<Vec<wire::PathInfo>, RequestError> {
    let page = &payload["page"];
    let mut query: BTreeMap<String, String> = page["query"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    query.insert("course_id".into(), course_id.to_string());
    Ok(vec![wire::PathInfo {
        path: str_of(page, "path").map_err(|_| RequestError::Field("page.path".into()))?,
        query,
    }])
}

/// The `product` of `add` / `modify`. `uri` answers the uploaded uri of (resource key, type).
pub fn product(
    payload: &Value,
    course_id: &str,
    appid: &str,
    uri: &dyn Fn(&str, i64) -> Option<String>,
) -> Result<wire::Product, RequestError> {
    let lookup = |value: &str, rt: i64| {
        uri(&canonical::resource_key(value), rt).ok_or_else(|| RequestError::NoUri {
            value: value.to_string(),
            resource_type: rt,
        })
    };
    let price = &payload["price"];
    let lessons = payload["lessons"]
        .as_array()
        .ok_or_else(|| RequestError::Field("lessons".into()))?;
    let mut fulfillments = Vec::with_capacity(lessons.len());
    for lesson in lessons {
        let kind = lesson["type"]
            .as_str()
            .and_then(LessonKind::from_name)
            .ok_or_else(|| RequestError::Field("lessons[].type".into()))?;
        let row = kind.row();
        let fulfillment_uri = match (lesson["file"].as_str(), row.resource_type) {
            (Some(file), Some(rt)) => Some(lookup(file, rt)?),
            _ => None,
        };
        fulfillments.push(wire::Fulfillment {
            fulfillment_content: wire::FulfillmentContent {
                fulfillment_uri,
                name: str_of(lesson, "name")?,
                text: lesson["text"].as_str().map(str::to_string),
            },
            fulfillment_type: row.fulfillment_type,
        });
    }
    let mut details = Vec::new();
    for d in payload["details"].as_array().into_iter().flatten() {
        details.push(wire::ProductDetail {
            text: d["text"].as_str().map(str::to_string),
            img_uri: match d["image"].as_str() {
                Some(image) => Some(lookup(image, resource_type::IMAGE)?),
                None => None,
            },
            rich_text: d["rich_text"].as_str().map(|t| wire::RichText {
                text: t.to_string(),
                uri: None,
            }),
        });
    }
    let gift = &payload["gift"];
    let gift_info = if gift.is_object() {
        Some(wire::GiftInfo {
            gift_type: int_of(gift, "type")?,
            name: str_of(gift, "name")?,
            num: int_of(gift, "num")?,
            pics: gift["pics"].as_array().filter(|a| !a.is_empty()).map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            }),
            send_back_policy: wire::SendBackPolicy {
                send_back_on_refund: i64::from(
                    gift["send_back_on_refund"].as_bool().unwrap_or(false),
                ),
                policy_desc: str_of(gift, "policy_desc")?,
            },
        })
    } else {
        None
    };
    let course = &payload["course"];
    let refund = &course["refund"];
    let refund_label = if let Some(day) = refund["days_unused"].as_i64() {
        Some(wire::RefundLabel {
            label_type: codes::REFUND_DAYS_UNUSED.1,
            day_before_use_info: Some(wire::DayBeforeUseInfo { day }),
            ..wire::RefundLabel::default()
        })
    } else if let Some(rest_percent) = refund["progress_below_percent"].as_i64() {
        Some(wire::RefundLabel {
            label_type: codes::REFUND_PROGRESS_BELOW_PERCENT.1,
            rest_not_learn_info: Some(wire::RestNotLearnInfo { rest_percent }),
            ..wire::RefundLabel::default()
        })
    } else {
        refund["fixed"].as_i64().map(|fixed| wire::RefundLabel {
            label_type: codes::REFUND_FIXED.1,
            fixed: Some(fixed),
            ..wire::RefundLabel::default()
        })
    };
    Ok(wire::Product {
        common_product_params: wire::CommonProductParams {
            appid: appid.to_string(),
            first_class: int_of(payload, "first_class")?,
            second_class: int_of(payload, "second_class")?,
            title: str_of(payload, "title")?,
            qualification_uris: None,
            purchase_precaution: str_of(payload, "purchase_precaution")?,
            product_fulfillment_lst: fulfillments,
            industry_type: codes::INDUSTRY_TYPE,
            price_info: wire::PriceInfo {
                unit: str_of(price, "unit")?,
                price: int_of(price, "price")?,
                real_price: price["real_price"].as_i64(),
                range_min_price: price["range_min_price"].as_i64(),
                range_max_price: price["range_max_price"].as_i64(),
            },
            path_info_lst: path_info(payload, course_id)?,
            product_detail_lst: details,
            anchor_info: payload["anchor"]["title"]
                .as_str()
                .map(|t| wire::AnchorInfo {
                    video_anchor_info: wire::VideoAnchorInfo {
                        anchor_title: t.to_string(),
                    },
                }),
            gift_info,
            callback_data: Some(course_id.to_string()),
            product_img_uri: lookup(&str_of(payload, "cover")?, resource_type::COVER)?,
        },
        course_params: wire::CourseParams {
            teacher_id: course["teacher_id"].as_str().map(str::to_string),
            institution_id: course["institution_id"].as_str().map(str::to_string),
            course_num: int_of(course, "course_num")?,
            refund_label,
            use_label: course["valid_until"].as_str().map(|d| wire::UseLabel {
                valid_date: d.to_string(),
            }),
            start_timestamp: course["start"].as_i64(),
            end_timestamp: course["end"].as_i64(),
        },
    })
}
