//! The course file as written: serde types that mirror the TOML one to one, every value with its
//! span, unknown keys rejected. Everything is optional here so that one missing field does not
//! hide the others: the rules report each missing required field (see `rules::REQUIRED`).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCourse {
    pub course_id: Option<S<String>>,
    pub title: Option<S<String>>,
    pub first_class: Option<S<i64>>,
    pub second_class: Option<S<i64>>,
    pub purchase_precaution: Option<S<String>>,
    pub cover: Option<S<String>>,
    pub listed: Option<S<bool>>,
    pub price: Option<S<RawPrice>>,
    pub page: Option<S<RawPage>>,
    pub lessons: Option<S<Vec<S<RawLesson>>>>,
    pub details: Option<S<Vec<S<RawDetail>>>>,
    pub anchor: Option<S<RawAnchor>>,
    pub gift: Option<S<RawGift>>,
    pub course: Option<S<RawCourseParams>>,
}

/// A number as written: prices must be integers (fen), so a float is kept to be reported.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Num {
    Int(i64),
    Float(f64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    pub unit: Option<S<String>>,
    pub price: Option<S<Num>>,
    pub real_price: Option<S<Num>>,
    pub range_min_price: Option<S<Num>>,
    pub range_max_price: Option<S<Num>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPage {
    pub path: Option<S<String>>,
    pub query: Option<S<BTreeMap<S<String>, S<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLesson {
    pub name: Option<S<String>>,
    #[serde(rename = "type")]
    pub kind: Option<S<String>>,
    pub file: Option<S<String>>,
    pub text: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetail {
    pub text: Option<S<String>>,
    pub image: Option<S<String>>,
    pub rich_text: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnchor {
    pub title: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGift {
    #[serde(rename = "type")]
    pub kind: Option<S<String>>,
    pub name: Option<S<String>>,
    pub num: Option<S<i64>>,
    pub pics: Option<S<Vec<S<String>>>>,
    pub send_back_on_refund: Option<S<bool>>,
    pub policy_desc: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCourseParams {
    pub teacher_id: Option<S<String>>,
    pub institution_id: Option<S<String>>,
    pub course_num: Option<S<i64>>,
    pub refund: Option<S<RawRefund>>,
    pub valid_until: Option<S<Datetime>>,
    pub start: Option<S<Datetime>>,
    pub end: Option<S<Datetime>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRefund {
    pub days_unused: Option<S<i64>>,
    pub progress_below_percent: Option<S<i64>>,
    pub fixed: Option<S<i64>>,
}
