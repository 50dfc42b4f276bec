//! The documented `add`/`modify` rules, checked on the wire JSON (platform-api.md §5.1, seed 003).
//! Written independently of the catalog validator so a misreading cannot hide on both sides.
//! Like the platform, it stops at the first broken rule and names the field path.

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr;

use super::facts;

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// 10002, message `invalid param: <path> ...`.
    Param(String),
    /// The invalid-uri error ("无效的 uri").
    Uri(String),
}

impl Invalid {
    pub fn err_no(&self) -> i64 {
        match self {
            Invalid::Param(_) => facts::ERR_PARAM,
            Invalid::Uri(_) => facts::ERR_INVALID_URI,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Invalid::Param(m) | Invalid::Uri(m) => m,
        }
    }
}

pub fn param(msg: impl std::fmt::Display) -> Invalid {
    Invalid::Param(format!("invalid param: {msg}"))
}

/// What the rules need to know about the platform: the caller's appid and uploaded resources.
pub trait Uploads {
    /// (resource type, status) of `uri` when it belongs to the caller's app.
    fn resource(&self, uri: &str) -> Option<(i64, i64)>;
}

/// What a valid product body yields.
#[derive(Debug, Clone)]
pub struct Checked {
    pub course_id: String,
    pub title: String,
    pub callback_data: Option<String>,
}

pub fn object<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, Invalid> {
    v.as_object()
        .ok_or_else(|| param(format!("{path} must be an object")))
}

pub fn required<'v>(
    m: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'v Value, Invalid> {
    match m.get(key) {
        None | Some(Value::Null) => Err(param(format!("{path}.{key} is required"))),
        Some(v) => Ok(v),
    }
}

/// A JSON integer (prices are whole fen, seed 003: "必须为整形,不能带小数").
pub fn int(v: &Value, path: &str) -> Result<i64, Invalid> {
    v.as_i64()
        .ok_or_else(|| param(format!("{path} must be an integer")))
}

pub fn string<'v>(v: &'v Value, path: &str) -> Result<&'v str, Invalid> {
    v.as_str()
        .ok_or_else(|| param(format!("{path} must be a string")))
}

fn non_empty<'v>(m: &'v Map<String, Value>, key: &str, path: &str) -> Result<&'v str, Invalid> {
    let s = string(required(m, key, path)?, &format!("{path}.{key}"))?;
    if s.is_empty() {
        return Err(param(format!("{path}.{key} must not be empty")));
    }
    Ok(s)
}

fn optional<'v>(m: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// An uploaded resource in status 2, of `want_type` when given ("无效的 uri", seed 003).
fn uploaded(
    uploads: &dyn Uploads,
    uri: &str,
    path: &str,
    want_type: Option<i64>,
) -> Result<(), Invalid> {
    match uploads.resource(uri) {
        Some((ty, status)) if status == facts::RESOURCE_DONE => match want_type {
            Some(want) if want != ty => Err(Invalid::Uri(format!(
                "无效的 uri: {path} `{uri}` was uploaded with resource_type {ty}, expected {want}"
            ))),
            _ => Ok(()),
        },
        Some((_, status)) => Err(Invalid::Uri(format!(
            "无效的 uri: {path} `{uri}` is not uploaded successfully (status {status})"
        ))),
        None => Err(Invalid::Uri(format!(
            "无效的 uri: {path} `{uri}` is unknown"
        ))),
    }
}

/// Checks `path_info_lst` (seed 003 "path_info") and returns the course_id of its first entry.
pub fn path_info_lst(v: &Value, path: &str) -> Result<String, Invalid> {
    let list = v
        .as_array()
        .ok_or_else(|| param(format!("{path} must be an array")))?;
    if list.is_empty() {
        return Err(param(format!("{path} must not be empty")));
    }
    let mut course_id = None;
    for (i, item) in list.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let item = object(item, &here)?;
        let p = string(required(item, "path", &here)?, &format!("{here}.path"))?;
        if p.is_empty() || p.len() > 255 {
            return Err(param(format!("{here}.path must be 1..=255 bytes")));
        }
        if p.starts_with('/') {
            return Err(param(format!("{here}.path must not start with '/'")));
        }
        let query = match optional(item, "query") {
            Some(q) => object(q, &format!("{here}.query"))?,
            None => return Err(param(format!("{here}.query.course_id is required"))),
        };
        for (key, value) in query {
            if key.is_empty() || key.len() > 64 {
                return Err(param(format!(
                    "{here}.query key `{key}` must be 1..=64 bytes"
                )));
            }
            let value = value
                .as_str()
                .ok_or_else(|| param(format!("{here}.query.{key} must be a string")))?;
            if value.is_empty() || value.len() > 128 {
                return Err(param(format!("{here}.query.{key} must be 1..=128 bytes")));
            }
        }
        let id = query
            .get("course_id")
            .and_then(Value::as_str)
            .ok_or_else(|| param(format!("{here}.query.course_id is required")))?;
        course_id.get_or_insert_with(|| id.to_owned());
    }
    Ok(course_id.unwrap_or_default())
}

/// Checks a whole `product` object of `add`/`modify` for the app `appid`.
pub fn product(v: &Value, appid: &str, uploads: &dyn Uploads) -> Result<Checked, Invalid> {
    let product = object(v, "product")?;
    let cpp_path = "product.common_product_params";
    let cpp = object(
        required(product, "common_product_params", "product")?,
        cpp_path,
    )?;

    let sent_appid = non_empty(cpp, "appid", cpp_path)?;
    if sent_appid != appid {
        return Err(param(format!(
            "{cpp_path}.appid does not match the access_token's app"
        )));
    }
    let first = int(
        required(cpp, "first_class", cpp_path)?,
        &format!("{cpp_path}.first_class"),
    )?;
    let second = int(
        required(cpp, "second_class", cpp_path)?,
        &format!("{cpp_path}.second_class"),
    )?;
    if !facts::category_known(first, second) {
        return Err(param(format!(
            "{cpp_path}.second_class {second} is not a category under first_class {first}"
        )));
    }
    let title = non_empty(cpp, "title", cpp_path)?.to_owned();
    non_empty(cpp, "purchase_precaution", cpp_path)?;
    if let Some(t) = optional(cpp, "industry_type") {
        int(t, &format!("{cpp_path}.industry_type"))?;
    }

    fulfillments(
        required(cpp, "product_fulfillment_lst", cpp_path)?,
        cpp_path,
        uploads,
    )?;
    price_info(
        required(cpp, "price_info", cpp_path)?,
        &format!("{cpp_path}.price_info"),
    )?;
    let course_id = path_info_lst(
        required(cpp, "path_info_lst", cpp_path)?,
        &format!("{cpp_path}.path_info_lst"),
    )?;
    if let Some(details) = optional(cpp, "product_detail_lst") {
        product_details(details, &format!("{cpp_path}.product_detail_lst"), uploads)?;
    }
    if let Some(anchor) = optional(cpp, "anchor_info") {
        anchor_info(anchor, &format!("{cpp_path}.anchor_info"))?;
    }
    if let Some(gift) = optional(cpp, "gift_info") {
        gift_info(gift, &format!("{cpp_path}.gift_info"))?;
    }
    let callback_data = match optional(cpp, "callback_data") {
        Some(c) => {
            let c = string(c, &format!("{cpp_path}.callback_data"))?;
            if c.len() > 1024 {
                return Err(param(format!(
                    "{cpp_path}.callback_data must be <= 1024 bytes"
                )));
            }
            Some(c.to_owned())
        }
        None => None,
    };
    let cover = non_empty(cpp, "product_img_uri", cpp_path)?;
    uploaded(
        uploads,
        cover,
        &format!("{cpp_path}.product_img_uri"),
        Some(facts::COVER_RESOURCE_TYPE),
    )?;

    course_params(
        required(product, "course_params", "product")?,
        "product.course_params",
    )?;
    Ok(Checked {
        course_id,
        title,
        callback_data,
    })
}

fn fulfillments(v: &Value, cpp_path: &str, uploads: &dyn Uploads) -> Result<(), Invalid> {
    let path = format!("{cpp_path}.product_fulfillment_lst");
    let list = v
        .as_array()
        .ok_or_else(|| param(format!("{path} must be an array")))?;
    if list.is_empty() {
        return Err(param(format!("{path} must not be empty")));
    }
    for (i, item) in list.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let item = object(item, &here)?;
        let ty = int(
            required(item, "fulfillment_type", &here)?,
            &format!("{here}.fulfillment_type"),
        )?;
        if !(1..=8).contains(&ty) {
            return Err(param(format!("{here}.fulfillment_type must be 1..=8")));
        }
        let content_path = format!("{here}.fulfillment_content");
        let content = object(required(item, "fulfillment_content", &here)?, &content_path)?;
        non_empty(content, "name", &content_path)?;
        if facts::UPLOADED_FULFILLMENT_TYPES.contains(&ty) {
            let uri = non_empty(content, "fulfillment_uri", &content_path)?;
            uploaded(
                uploads,
                uri,
                &format!("{content_path}.fulfillment_uri"),
                None,
            )?;
        }
        if facts::TEXT_FULFILLMENT_TYPES.contains(&ty) {
            non_empty(content, "text", &content_path)?;
        }
    }
    Ok(())
}

/// seed 003 price_info: real_price xor the range; 0 < real <= price <= 1000000;
/// 0 < min <= price <= max <= 1000000.
fn price_info(v: &Value, path: &str) -> Result<(), Invalid> {
    let m = object(v, path)?;
    string(required(m, "unit", path)?, &format!("{path}.unit"))?;
    let price = int(required(m, "price", path)?, &format!("{path}.price"))?;
    let get = |k: &str| -> Result<Option<i64>, Invalid> {
        optional(m, k)
            .map(|x| int(x, &format!("{path}.{k}")))
            .transpose()
    };
    let (real, min, max) = (
        get("real_price")?,
        get("range_min_price")?,
        get("range_max_price")?,
    );
    if price <= 0 || price > 1_000_000 {
        return Err(param(format!("{path}.price must be in 1..=1000000")));
    }
    match (real, min, max) {
        (Some(real), None, None) => {
            if real <= 0 {
                return Err(param(format!("{path}.real_price must be > 0")));
            }
            if real > price {
                return Err(param(format!("{path}.real_price must be <= price")));
            }
        }
        (None, Some(min), Some(max)) => {
            if min <= 0 {
                return Err(param(format!("{path}.range_min_price must be > 0")));
            }
            if min > price {
                return Err(param(format!("{path}.range_min_price must be <= price")));
            }
            if price > max {
                return Err(param(format!("{path}.range_max_price must be >= price")));
            }
            if max > 1_000_000 {
                return Err(param(format!("{path}.range_max_price must be <= 1000000")));
            }
        }
        (None, None, None) => {
            return Err(param(format!(
                "{path} needs real_price or range_min_price + range_max_price"
            )));
        }
        _ => {
            return Err(param(format!(
                "{path}.real_price and range_min_price/range_max_price are exclusive; send one form whole"
            )));
        }
    }
    Ok(())
}

fn product_details(v: &Value, path: &str, uploads: &dyn Uploads) -> Result<(), Invalid> {
    let list = v
        .as_array()
        .ok_or_else(|| param(format!("{path} must be an array")))?;
    for (i, item) in list.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let item = object(item, &here)?;
        let mut any = false;
        if let Some(text) = optional(item, "text") {
            let text = string(text, &format!("{here}.text"))?;
            let n = text.chars().count();
            if n == 0 || n > 10_000 {
                return Err(param(format!("{here}.text must be 1..=10000 characters")));
            }
            any = true;
        }
        if let Some(uri) = optional(item, "img_uri") {
            let uri = string(uri, &format!("{here}.img_uri"))?;
            uploaded(uploads, uri, &format!("{here}.img_uri"), None)?;
            any = true;
        }
        if let Some(rich) = optional(item, "rich_text") {
            let rich_path = format!("{here}.rich_text");
            let rich = object(rich, &rich_path)?;
            let text = string(
                required(rich, "text", &rich_path)?,
                &format!("{rich_path}.text"),
            )?;
            let n = text.chars().count();
            if n == 0 || n > 100_000 {
                return Err(param(format!(
                    "{rich_path}.text must be 1..=100000 characters"
                )));
            }
            any = true;
        }
        if !any {
            return Err(param(format!("{here} needs text, img_uri or rich_text")));
        }
    }
    Ok(())
}

/// seed 003 anchor_info: anchor_title display width 1..=24, a CJK character counts 2.
fn anchor_info(v: &Value, path: &str) -> Result<(), Invalid> {
    let m = object(v, path)?;
    let vpath = format!("{path}.video_anchor_info");
    let video = object(required(m, "video_anchor_info", path)?, &vpath)?;
    let title = string(
        required(video, "anchor_title", &vpath)?,
        &format!("{vpath}.anchor_title"),
    )?;
    let width = UnicodeWidthStr::width(title);
    if width == 0 || width > 24 {
        return Err(param(format!(
            "{vpath}.anchor_title must be 1..=24 wide (a CJK character counts 2), is {width}"
        )));
    }
    Ok(())
}

/// seed 003 gift_info.
fn gift_info(v: &Value, path: &str) -> Result<(), Invalid> {
    let m = object(v, path)?;
    let ty = int(required(m, "type", path)?, &format!("{path}.type"))?;
    if ty != 1 && ty != 2 {
        return Err(param(format!("{path}.type must be 1 or 2")));
    }
    non_empty(m, "name", path)?;
    int(required(m, "num", path)?, &format!("{path}.num"))?;
    if let Some(pics) = optional(m, "pics") {
        let pics = pics
            .as_array()
            .ok_or_else(|| param(format!("{path}.pics must be an array")))?;
        if pics.len() > 8 {
            return Err(param(format!("{path}.pics must have at most 8 entries")));
        }
        for (i, pic) in pics.iter().enumerate() {
            if string(pic, &format!("{path}.pics[{i}]"))?.len() > 256 {
                return Err(param(format!("{path}.pics[{i}] must be <= 256 bytes")));
            }
        }
    }
    let spath = format!("{path}.send_back_policy");
    let policy = object(required(m, "send_back_policy", path)?, &spath)?;
    let back = int(
        required(policy, "send_back_on_refund", &spath)?,
        &format!("{spath}.send_back_on_refund"),
    )?;
    if back != 0 && back != 1 {
        return Err(param(format!("{spath}.send_back_on_refund must be 0 or 1")));
    }
    let desc = string(
        required(policy, "policy_desc", &spath)?,
        &format!("{spath}.policy_desc"),
    )?;
    if desc.len() > 128 {
        return Err(param(format!("{spath}.policy_desc must be <= 128 bytes")));
    }
    Ok(())
}

fn course_params(v: &Value, path: &str) -> Result<(), Invalid> {
    let m = object(v, path)?;
    let has = |k: &str| {
        optional(m, k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !has("teacher_id") && !has("institution_id") {
        return Err(param(format!(
            "{path}.teacher_id or {path}.institution_id is required"
        )));
    }
    let num = int(
        required(m, "course_num", path)?,
        &format!("{path}.course_num"),
    )?;
    if !(1..=10_000).contains(&num) {
        return Err(param(format!("{path}.course_num must be 1..=10000")));
    }
    if let Some(label) = optional(m, "refund_label") {
        refund_label(label, &format!("{path}.refund_label"))?;
    }
    if let Some(label) = optional(m, "use_label") {
        let lpath = format!("{path}.use_label");
        let label = object(label, &lpath)?;
        if let Some(date) = optional(label, "valid_date") {
            let date = string(date, &format!("{lpath}.valid_date"))?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            if date.len() != 10 || time::Date::parse(date, &format).is_err() {
                return Err(param(format!("{lpath}.valid_date must be yyyy-MM-dd")));
            }
        }
    }
    let ts = |k: &str| -> Result<Option<i64>, Invalid> {
        optional(m, k)
            .map(|x| int(x, &format!("{path}.{k}")))
            .transpose()
    };
    let (start, end) = (ts("start_timestamp")?, ts("end_timestamp")?);
    if let Some(s) = start
        && s <= 0
    {
        return Err(param(format!("{path}.start_timestamp must be > 0")));
    }
    if let Some(e) = end
        && e <= 0
    {
        return Err(param(format!("{path}.end_timestamp must be > 0")));
    }
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        return Err(param(format!(
            "{path}.start_timestamp must be < end_timestamp"
        )));
    }
    Ok(())
}

/// seed 003 refund_label: type 1 days unused (1..=100), 2 progress percent (0..=100), 3 fixed id.
fn refund_label(v: &Value, path: &str) -> Result<(), Invalid> {
    let m = object(v, path)?;
    let ty = int(required(m, "type", path)?, &format!("{path}.type"))?;
    if !(1..=3).contains(&ty) {
        return Err(param(format!("{path}.type must be 1, 2 or 3")));
    }
    let day_info = optional(m, "day_before_use_info");
    let rest_info = optional(m, "rest_not_learn_info");
    if let Some(info) = day_info {
        let ipath = format!("{path}.day_before_use_info");
        let day = int(
            required(object(info, &ipath)?, "day", &ipath)?,
            &format!("{ipath}.day"),
        )?;
        if !(1..=100).contains(&day) {
            return Err(param(format!("{ipath}.day must be 1..=100")));
        }
    }
    if let Some(info) = rest_info {
        let ipath = format!("{path}.rest_not_learn_info");
        let pct = int(
            required(object(info, &ipath)?, "rest_percent", &ipath)?,
            &format!("{ipath}.rest_percent"),
        )?;
        if !(0..=100).contains(&pct) {
            return Err(param(format!("{ipath}.rest_percent must be 0..=100")));
        }
    }
    match ty {
        1 if day_info.is_none() => Err(param(format!("{path}.day_before_use_info is required"))),
        2 if rest_info.is_none() => Err(param(format!("{path}.rest_not_learn_info is required"))),
        3 => int(required(m, "fixed", path)?, &format!("{path}.fixed")).map(|_| ()),
        _ => Ok(()),
    }
}
