//! Request and response bodies of the course-library and token endpoints, exactly as the
//! platform spells them (platform-api.md §2, §5, §6, §7).
//!
//! Requests are strict: every documented field, optional ones omitted when `None`. Responses are
//! lenient, because the platform is inconsistent (§3): ids arrive as numbers or numeric strings,
//! `log_id` as a string or a bare number longer than any integer type, `err_msg` may be missing,
//! and the `query` response shape is only partly known, so unknown fields are ignored and most
//! fields are optional. Ids are `i64` end to end and never pass through `f64`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// The course payload sent by `add` and `modify` (§5.1, seed 003).

/// `product`: what `add` and `modify` send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub common_product_params: CommonProductParams,
    pub course_params: CourseParams,
}

/// `product.common_product_params` (§5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommonProductParams {
    pub appid: String,
    pub first_class: i64,
    pub second_class: i64,
    pub title: String,
    /// Legacy course qualifications, replaced by the role system (§5.1, §9.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification_uris: Option<Vec<String>>,
    pub purchase_precaution: String,
    pub product_fulfillment_lst: Vec<Fulfillment>,
    pub industry_type: i64,
    pub price_info: PriceInfo,
    pub path_info_lst: Vec<PathInfo>,
    pub product_detail_lst: Vec<ProductDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor_info: Option<AnchorInfo>,
    /// Placed here, beside the other product-level blocks [I] (PRODUCT.md "Settled details").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gift_info: Option<GiftInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    pub product_img_uri: String,
}

/// One lesson: `product_fulfillment_lst[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fulfillment {
    pub fulfillment_content: FulfillmentContent,
    /// 1 video, 2 audio, 3 image, 4 text, 5 image-text, 6 rich text, 7 pdf, 8 office (seed 003).
    pub fulfillment_type: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FulfillmentContent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_uri: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `price_info`, integer fen; `real_price` xor the range pair (§5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceInfo {
    pub unit: String,
    pub price: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_min_price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_max_price: Option<i64>,
}

/// `path_info_lst[]`: the mini-program page of the course; `query` carries `course_id` (§5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathInfo {
    pub path: String,
    pub query: BTreeMap<String, String>,
}

/// `product_detail_lst[]`: text, image, or rich text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub img_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rich_text: Option<RichText>,
}

/// A single object, not a list (SKIT fixed this in 2024-03, §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RichText {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnchorInfo {
    pub video_anchor_info: VideoAnchorInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VideoAnchorInfo {
    pub anchor_title: String,
}

/// `gift_info` (seed 003): type 1 physical, 2 virtual.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GiftInfo {
    #[serde(rename = "type")]
    pub gift_type: i64,
    pub name: String,
    pub num: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pics: Option<Vec<String>>,
    pub send_back_policy: SendBackPolicy,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendBackPolicy {
    /// 0 keep the gift on refund, 1 send it back.
    pub send_back_on_refund: i64,
    pub policy_desc: String,
}

/// `product.course_params` (§5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CourseParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_id: Option<String>,
    pub course_num: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_label: Option<RefundLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_label: Option<UseLabel>,
    /// Milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_timestamp: Option<i64>,
}

/// `refund_label`: type 1 days unused, 2 progress below a percentage, 3 fixed label (seed 003).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundLabel {
    #[serde(rename = "type")]
    pub label_type: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_before_use_info: Option<DayBeforeUseInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest_not_learn_info: Option<RestNotLearnInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayBeforeUseInfo {
    pub day: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestNotLearnInfo {
    pub rest_percent: i64,
}

/// `use_label.valid_date` is `yyyy-MM-dd`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UseLabel {
    pub valid_date: String,
}

// ---------------------------------------------------------------------------------------------
// Request bodies. `access_token` (and usually `appid`) travel in the body, never in a header
// (§2.1); these borrow so the client can rebuild a body cheaply with a renewed token.

#[derive(Debug, Serialize)]
pub struct TokenRequest<'a> {
    pub appid: &'a str,
    pub secret: &'a str,
    pub grant_type: &'a str,
}

#[derive(Debug, Serialize)]
pub struct UploadResourceRequest<'a> {
    pub access_token: &'a str,
    pub appid: &'a str,
    pub resource_type: i64,
    pub resource_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct QueryResourceStatusRequest<'a> {
    pub access_token: &'a str,
    pub appid: &'a str,
    pub resource_uri: &'a str,
}

#[derive(Debug, Serialize)]
pub struct AddRequest<'a> {
    pub access_token: &'a str,
    pub product_type: i64,
    pub product: &'a Product,
}

/// The `add` body plus the top-level `product_id` (§5.2).
#[derive(Debug, Serialize)]
pub struct ModifyRequest<'a> {
    pub access_token: &'a str,
    pub product_type: i64,
    pub product_id: i64,
    pub product: &'a Product,
}

#[derive(Debug, Serialize)]
pub struct ModifyNoAuditRequest<'a> {
    pub access_token: &'a str,
    pub product_id: i64,
    pub product_type: i64,
    pub product: NoAuditProduct<'a>,
}

/// `modify_no_audit`'s `product`: only the page paths (§5.3).
#[derive(Debug, Serialize)]
pub struct NoAuditProduct<'a> {
    pub appid: &'a str,
    pub path_info_lst: &'a [PathInfo],
}

#[derive(Debug, Serialize)]
pub struct ModifyStatusRequest<'a> {
    pub access_token: &'a str,
    pub product_status_info: ProductStatusInfo<'a>,
}

#[derive(Debug, Serialize)]
pub struct ProductStatusInfo<'a> {
    pub appid: &'a str,
    pub product_id: i64,
    pub status: i64,
}

#[derive(Debug, Serialize)]
pub struct QueryRequest<'a> {
    pub access_token: &'a str,
    pub appid: &'a str,
    pub product_ids: &'a [i64],
}

#[derive(Debug, Serialize)]
pub struct QueryReviewRequest<'a> {
    pub access_token: &'a str,
    pub appid: &'a str,
    pub product_ids: &'a [i64],
    pub query_type: i64,
}

/// Bodies that carry nothing but the credentials (`query_class_info`, §5.8).
#[derive(Debug, Serialize)]
pub struct AppRequest<'a> {
    pub access_token: &'a str,
    pub appid: &'a str,
}

#[derive(Debug, Serialize)]
pub struct SyncCallbackUrlRequest<'a> {
    pub access_token: &'a str,
    pub appid: &'a str,
    pub callback_url: &'a str,
    pub developer_flag: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Responses.

/// The course-library envelope (§3): success is HTTP 200 and `err_no == 0`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(deserialize_with = "de::int")]
    pub err_no: i64,
    #[serde(default, deserialize_with = "de::null_default")]
    pub err_msg: String,
    #[serde(default, deserialize_with = "de::log_id")]
    pub log_id: Option<String>,
    #[serde(default = "Option::default")]
    pub data: Option<T>,
}

/// The token endpoint's envelope, which says `err_tips` where the product API says `err_msg`
/// (§2.2).
#[derive(Debug, Deserialize)]
pub struct TokenEnvelope {
    #[serde(deserialize_with = "de::int")]
    pub err_no: i64,
    #[serde(default, deserialize_with = "de::null_default")]
    pub err_tips: String,
    #[serde(default)]
    pub data: Option<TokenData>,
}

/// Lenient like the rest: an error answer may carry `"data":{}` (seen from the emulator).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenData {
    #[serde(deserialize_with = "de::null_default")]
    pub access_token: String,
    /// Seconds; 7200 in practice (§2.2).
    #[serde(deserialize_with = "de::int")]
    pub expires_in: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UploadResourceData {
    pub resource_uri: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResourceStatusData {
    #[serde(deserialize_with = "de::null_default")]
    pub resource_uri: String,
    #[serde(deserialize_with = "de::opt_int")]
    pub status: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddData {
    #[serde(deserialize_with = "de::opt_int")]
    pub product_id: Option<i64>,
    pub audit_id: Option<String>,
}

/// `modify` and `modify_no_audit` answer `data:{audit_id}` (§5.2, §5.3).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditData {
    pub audit_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueryData {
    #[serde(deserialize_with = "de::null_default")]
    pub products: Vec<QueriedProduct>,
}

/// One `query` result: the live version and the version under review (§5.5), either may be
/// missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QueriedProduct {
    pub product_on_shelf: Option<QueriedVersion>,
    pub product_reviewing: Option<QueriedVersion>,
}

impl QueriedProduct {
    /// The product id of whichever version carries one.
    pub fn product_id(&self) -> Option<i64> {
        [&self.product_on_shelf, &self.product_reviewing]
            .into_iter()
            .flatten()
            .find_map(|v| v.product_id)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QueriedVersion {
    #[serde(deserialize_with = "de::opt_int")]
    pub product_id: Option<i64>,
    #[serde(deserialize_with = "de::opt_int")]
    pub product_type: Option<i64>,
    pub common_product_info: Option<CommonProductInfo>,
    pub course_info: Option<CourseInfo>,
    pub product_status: Option<ProductStatus>,
}

/// The response-side twin of [`CommonProductParams`]: resources come back as full URLs
/// (`img_url`, `fulfillment_url`, `qualification_urls`), not uris (§5.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CommonProductInfo {
    pub appid: Option<String>,
    #[serde(deserialize_with = "de::opt_int")]
    pub first_class: Option<i64>,
    #[serde(deserialize_with = "de::opt_int")]
    pub second_class: Option<i64>,
    pub title: Option<String>,
    pub purchase_precaution: Option<String>,
    #[serde(deserialize_with = "de::opt_int")]
    pub industry_type: Option<i64>,
    pub price_info: Option<PriceInfo>,
    #[serde(deserialize_with = "de::null_default")]
    pub path_info_lst: Vec<PathInfo>,
    #[serde(deserialize_with = "de::null_default")]
    pub product_detail_lst: Vec<QueriedDetail>,
    #[serde(deserialize_with = "de::null_default")]
    pub product_fulfillment_lst: Vec<QueriedFulfillment>,
    #[serde(deserialize_with = "de::null_default")]
    pub qualification_urls: Vec<String>,
    pub anchor_info: Option<AnchorInfo>,
    pub gift_info: Option<GiftInfo>,
    pub callback_data: Option<String>,
    /// Not in any sample; named by analogy with `img_url` [I].
    pub product_img_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QueriedDetail {
    pub text: Option<String>,
    pub img_url: Option<String>,
    pub rich_text: Option<RichText>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QueriedFulfillment {
    pub fulfillment_content: QueriedFulfillmentContent,
    #[serde(deserialize_with = "de::opt_int")]
    pub fulfillment_type: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QueriedFulfillmentContent {
    pub fulfillment_url: Option<String>,
    pub name: Option<String>,
    pub text: Option<String>,
}

/// `course_info`: the samples show only `teacher_introduction`; the request-side names are
/// accepted too in case the platform echoes them [I].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CourseInfo {
    pub teacher_introduction: Option<String>,
    pub teacher_id: Option<String>,
    pub institution_id: Option<String>,
    #[serde(deserialize_with = "de::opt_int")]
    pub course_num: Option<i64>,
    pub refund_label: Option<RefundLabel>,
    pub use_label: Option<UseLabel>,
    #[serde(deserialize_with = "de::opt_int")]
    pub start_timestamp: Option<i64>,
    #[serde(deserialize_with = "de::opt_int")]
    pub end_timestamp: Option<i64>,
}

/// `product_status`; the meaning of `status` is unknown (sample value 2, §5.5) [?].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProductStatus {
    #[serde(deserialize_with = "de::opt_int")]
    pub status: Option<i64>,
    pub reject_reason: Option<String>,
    pub latest_audit_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueryReviewData {
    #[serde(deserialize_with = "de::null_default")]
    pub products_review: BTreeMap<String, Review>,
}

/// One product's audit state from `query_review` (§5.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Review {
    pub course: Option<ReviewItem>,
    #[serde(deserialize_with = "de::null_default")]
    pub fulfillment: Vec<FulfillmentReview>,
}

/// `status`: 1 under review, 2 passed, 3 rejected ([`super::facts::review_status`]);
/// `reject_reason` is itself a JSON string (§5.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ReviewItem {
    #[serde(deserialize_with = "de::opt_int")]
    pub status: Option<i64>,
    pub reject_reason: Option<String>,
    pub latest_audit_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FulfillmentReview {
    #[serde(deserialize_with = "de::opt_int")]
    pub status: Option<i64>,
    pub reject_reason: Option<String>,
    pub latest_audit_id: Option<String>,
    pub fulfillment_uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClassInfoData {
    #[serde(deserialize_with = "de::null_default")]
    pub product_class_info_list: Vec<FirstClass>,
}

/// A level-1 category and its level-2 children (§5.8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FirstClass {
    #[serde(deserialize_with = "de::int")]
    pub first_class_id: i64,
    pub first_class_name: String,
    #[serde(deserialize_with = "de::null_default")]
    pub class_info_detail_list: Vec<SecondClass>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SecondClass {
    #[serde(deserialize_with = "de::int")]
    pub second_class_id: i64,
    pub second_class_name: String,
    pub class_definition: Option<String>,
    pub qualification_tip: Option<String>,
    pub special_tip: Option<String>,
    pub professional_certification: Option<String>,
    pub professional_education: Option<String>,
    pub teacher_qualification_certificate: Option<String>,
    pub document_link: Option<String>,
}

/// Lenient deserializers for the platform's loose typing (§3); the role family's wire types
/// ([`super::roles::wire`]) use them too.
pub(crate) mod de {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, Visitor};

    struct IntVisitor;

    impl Visitor<'_> for IntVisitor {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer or a string of digits")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("integer {v} is out of range")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::custom(format!("{v:?} is not an integer")))
        }
    }

    /// An `i64` sent as a JSON number or as a numeric string.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(IntVisitor)
    }

    /// Like [`int`], and `null` or `""` is `None`.
    pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(#[serde(deserialize_with = "int")] i64),
            Text(String),
        }
        // Untagged buffering keeps integers as u64/i64, so big ids stay exact.
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Int(v)) => Ok(Some(v)),
            Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
            Some(Raw::Text(t)) => Err(de::Error::custom(format!("{t:?} is not an integer"))),
        }
    }

    /// `null` becomes the type's default.
    pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    /// `log_id` as a string, or its exact digits when it is a bare number too long for any
    /// integer type (`2021122820424401022524311803123456`, §3).
    pub fn log_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let raw = Option::<Box<serde_json::value::RawValue>>::deserialize(d)?;
        Ok(raw.map(|raw| {
            let text = raw.get();
            serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope<T: serde::de::DeserializeOwned>(json: &str) -> Envelope<T> {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn add_response_with_a_big_numeric_id() {
        // platform-api.md §5.1 response sample.
        let e: Envelope<AddData> = envelope(
            r#"{"err_no":0,"err_msg":"success","log_id":"x","data":{"product_id":6543216888019123456,"audit_id":"KNC202202090019433632123456"}}"#,
        );
        let data = e.data.unwrap();
        assert_eq!(data.product_id, Some(6_543_216_888_019_123_456));
        assert_eq!(
            data.audit_id.as_deref(),
            Some("KNC202202090019433632123456")
        );
    }

    #[test]
    fn product_id_as_a_string_is_read_exactly() {
        // Above 2^53, where a pass through f64 would change the last digits.
        let e: Envelope<AddData> =
            envelope(r#"{"err_no":0,"data":{"product_id":"7266291344409690173"}}"#);
        assert_eq!(e.data.unwrap().product_id, Some(7_266_291_344_409_690_173));
        assert_eq!(e.err_msg, "", "a missing err_msg is empty");
        assert_eq!(e.log_id, None);
    }

    #[test]
    fn max_i64_round_trips_and_overflow_is_an_error() {
        let e: Envelope<AddData> =
            envelope(r#"{"err_no":0,"data":{"product_id":9223372036854775807}}"#);
        assert_eq!(e.data.unwrap().product_id, Some(i64::MAX));
        let err = serde_json::from_str::<Envelope<AddData>>(
            r#"{"err_no":0,"data":{"product_id":9223372036854775808}}"#,
        );
        assert!(err.is_err());
    }

    #[test]
    fn log_id_as_a_bare_number_longer_than_u64_keeps_its_digits() {
        // platform-api.md §3: `query` / `upload_resource` samples.
        let e: Envelope<UploadResourceData> = envelope(
            r#"{"err_msg":"success","err_no":0,"log_id":2021122911185801022524315301123456,"data":{"resource_uri":"product/resource/dasdkfji1343t879l23"}}"#,
        );
        assert_eq!(
            e.log_id.as_deref(),
            Some("2021122911185801022524315301123456")
        );
        assert_eq!(
            e.data.unwrap().resource_uri,
            "product/resource/dasdkfji1343t879l23"
        );
        let e: Envelope<UploadResourceData> =
            envelope(r#"{"err_no":0,"log_id":"202204271324260102252431250D04BCE0"}"#);
        assert_eq!(
            e.log_id.as_deref(),
            Some("202204271324260102252431250D04BCE0")
        );
    }

    #[test]
    fn error_envelope_without_data_and_with_unknown_fields() {
        let e: Envelope<AddData> = envelope(
            r#"{"err_no":10140,"err_msg":"已进审课程7266291344409690173","log_id":"1","data":null,"extra":{"x":1}}"#,
        );
        assert_eq!(e.err_no, 10140);
        assert!(e.data.is_none());
        let e: Envelope<AddData> = envelope(r#"{"err_no":"10002","err_msg":null}"#);
        assert_eq!((e.err_no, e.err_msg.as_str()), (10002, ""));
    }

    #[test]
    fn query_response_sample_from_skit() {
        // SKIT-T ProductQueryResponse.json, trimmed (platform-api.md §5.5).
        let json = r#"{"err_msg":"success","err_no":0,"log_id":2021122820424401022524311803123456,
          "data":{"products":[{"product_on_shelf":{
            "common_product_info":{"appid":"tt77fd0140e89bba1234","first_class":10000,"second_class":10100,
              "industry_type":1,"path_info_lst":[{"path":"page/index/index","query":{"a":"b","c":"d"}}],
              "price_info":{"price":10000,"real_price":9999,"unit":"天"},
              "product_detail_lst":[{"img_url":"http://abc.def.com/product/resource/abc.png","text":"abckdef"}],
              "product_fulfillment_lst":[{"fulfillment_content":{"fulfillment_url":"http://abc.def.com/product/resource/Lesson01.mp3","name":"sample","text":"sample"},"fulfillment_type":2}],
              "purchase_precaution":"购物须知","qualification_urls":["http://abc.def.com/q1.png"],"title":"商品标题"},
            "course_info":{"teacher_introduction":"老师介绍"},
            "product_id":7046681212227681234,
            "product_status":{"reject_reason":"","status":2},"product_type":1}}]}}"#;
        let e: Envelope<QueryData> = envelope(json);
        let products = e.data.unwrap().products;
        assert_eq!(products.len(), 1);
        assert!(products[0].product_reviewing.is_none());
        assert_eq!(products[0].product_id(), Some(7_046_681_212_227_681_234));
        let live = products[0].product_on_shelf.as_ref().unwrap();
        let info = live.common_product_info.as_ref().unwrap();
        assert_eq!(info.title.as_deref(), Some("商品标题"));
        assert_eq!(info.price_info.as_ref().unwrap().real_price, Some(9999));
        assert_eq!(info.path_info_lst[0].query["a"], "b");
        assert_eq!(
            info.product_fulfillment_lst[0]
                .fulfillment_content
                .fulfillment_url
                .as_deref(),
            Some("http://abc.def.com/product/resource/Lesson01.mp3")
        );
        assert_eq!(
            info.product_detail_lst[0].img_url.as_deref(),
            Some("http://abc.def.com/product/resource/abc.png")
        );
        assert_eq!(live.product_status.as_ref().unwrap().status, Some(2));
        assert_eq!(
            live.course_info
                .as_ref()
                .unwrap()
                .teacher_introduction
                .as_deref(),
            Some("老师介绍")
        );
    }

    #[test]
    fn query_tolerates_nulls_and_missing_blocks() {
        let e: Envelope<QueryData> = envelope(
            r#"{"err_no":0,"data":{"products":[{"product_reviewing":{"product_id":"42","common_product_info":{"path_info_lst":null},"product_status":null}}]}}"#,
        );
        let p = &e.data.unwrap().products[0];
        assert_eq!(p.product_id(), Some(42));
        let v = p.product_reviewing.as_ref().unwrap();
        assert!(
            v.common_product_info
                .as_ref()
                .unwrap()
                .path_info_lst
                .is_empty()
        );
        assert!(v.product_status.is_none());
        let e: Envelope<QueryData> = envelope(r#"{"err_no":0,"data":{"products":null}}"#);
        assert!(e.data.unwrap().products.is_empty());
    }

    #[test]
    fn query_review_sample_keyed_by_string_ids() {
        // SKIT-T ProductApiQueryReviewResponse.json (platform-api.md §5.6).
        let json = r#"{"err_msg":"success","err_no":0,"log_id":"202204271324260102252431250D04BCE0","data":{"products_review":{"7147951881074049062":{"course":{"latest_audit_id":"KNC111100000000001505787915","reject_reason":"{\"fail_reason\":\"通过;\",\"position\":\"画面\"}","status":2},"fulfillment":[{"latest_audit_id":"KNV1","reject_reason":"","fulfillment_uri":"product/resource/111","status":1},{"latest_audit_id":"KNV2","reject_reason":"{\"fail_reason\":\"禁入课程\"}","fulfillment_uri":"product/resource/222","status":3}]}}}}"#;
        let e: Envelope<QueryReviewData> = envelope(json);
        let map = e.data.unwrap().products_review;
        let review = &map["7147951881074049062"];
        assert_eq!(review.course.as_ref().unwrap().status, Some(2));
        assert_eq!(review.fulfillment.len(), 2);
        assert_eq!(review.fulfillment[1].status, Some(3));
        assert_eq!(
            review.fulfillment[1].fulfillment_uri.as_deref(),
            Some("product/resource/222")
        );
    }

    #[test]
    fn class_info_and_resource_status_samples() {
        let e: Envelope<ClassInfoData> = envelope(
            r#"{"err_no":0,"data":{"product_class_info_list":[{"class_info_detail_list":[{"second_class_id":10100,"second_class_name":"家长教育","special_tip":""}],"first_class_id":10000,"first_class_name":"少儿成长"}]}}"#,
        );
        let list = e.data.unwrap().product_class_info_list;
        assert_eq!(list[0].first_class_id, 10000);
        assert_eq!(
            list[0].class_info_detail_list[0].second_class_name,
            "家长教育"
        );
        let e: Envelope<ResourceStatusData> = envelope(
            r#"{"err_no":0,"log_id":2021122911185801022524315301123456,"data":{"resource_uri":"product/resource/x","status":2}}"#,
        );
        assert_eq!(e.data.unwrap().status, Some(2));
    }

    #[test]
    fn token_envelope_sample() {
        // platform-api.md §2.2.
        let e: TokenEnvelope = serde_json::from_str(
            r#"{"err_no":0,"err_tips":"success","data":{"access_token":"0801121***","expires_in":7200}}"#,
        )
        .unwrap();
        assert_eq!(e.data.unwrap().expires_in, 7200);
        for json in [
            r#"{"err_no":40017,"err_tips":"bad secret","data":null}"#,
            r#"{"err_no":40017,"err_tips":"bad secret","data":{}}"#,
        ] {
            let e: TokenEnvelope = serde_json::from_str(json).unwrap();
            assert_eq!(e.err_no, 40017);
        }
    }

    fn seed_product() -> Product {
        Product {
            common_product_params: CommonProductParams {
                appid: "tt11fd1220e13bba1234".into(),
                first_class: 10000,
                second_class: 10100,
                title: "python入门教程".into(),
                purchase_precaution: "须知".into(),
                product_fulfillment_lst: vec![Fulfillment {
                    fulfillment_content: FulfillmentContent {
                        fulfillment_uri: Some(
                            "product/resource/1001d044d41140d53ce9e57d793a4321".into(),
                        ),
                        name: "第一节: python介绍".into(),
                        text: None,
                    },
                    fulfillment_type: 3,
                }],
                industry_type: 1,
                price_info: PriceInfo {
                    unit: "节".into(),
                    price: 5000,
                    real_price: Some(4900),
                    ..PriceInfo::default()
                },
                path_info_lst: vec![PathInfo {
                    path: "page/index/index".into(),
                    query: BTreeMap::from([("course_id".into(), "29384759".into())]),
                }],
                product_detail_lst: vec![ProductDetail {
                    rich_text: Some(RichText {
                        text: "<b><i>1. python安装步骤</i></b>".into(),
                        uri: None,
                    }),
                    ..ProductDetail::default()
                }],
                anchor_info: Some(AnchorInfo {
                    video_anchor_info: VideoAnchorInfo {
                        anchor_title: "python入门教程".into(),
                    },
                }),
                product_img_uri: "tos-cn-i-b2i6zad4el/b0e72a2e9c5ee919c65a9b0276315cf9".into(),
                ..CommonProductParams::default()
            },
            course_params: CourseParams {
                teacher_id: Some("T7283947392973".into()),
                institution_id: Some("I1039473947393".into()),
                course_num: 637,
                refund_label: Some(RefundLabel {
                    label_type: 1,
                    day_before_use_info: Some(DayBeforeUseInfo { day: 7 }),
                    ..RefundLabel::default()
                }),
                use_label: Some(UseLabel {
                    valid_date: "2022-12-01".into(),
                }),
                start_timestamp: Some(1_649_662_751_000),
                end_timestamp: Some(1_681_198_751_000),
            },
        }
    }

    #[test]
    fn add_request_matches_the_seed_sample() {
        let product = seed_product();
        let body = serde_json::to_value(AddRequest {
            access_token: "tok",
            product_type: 1,
            product: &product,
        })
        .unwrap();
        // The seed's curl body (seed 003), with its token replaced.
        let expected = serde_json::json!({
          "access_token": "tok",
          "product_type": 1,
          "product": {
            "common_product_params": {
              "appid": "tt11fd1220e13bba1234", "first_class": 10000, "second_class": 10100,
              "title": "python入门教程", "purchase_precaution": "须知",
              "product_fulfillment_lst": [{"fulfillment_content": {
                  "fulfillment_uri": "product/resource/1001d044d41140d53ce9e57d793a4321",
                  "name": "第一节: python介绍"}, "fulfillment_type": 3}],
              "industry_type": 1,
              "price_info": {"unit": "节", "price": 5000, "real_price": 4900},
              "path_info_lst": [{"path": "page/index/index", "query": {"course_id": "29384759"}}],
              "product_detail_lst": [{"rich_text": {"text": "<b><i>1. python安装步骤</i></b>"}}],
              "anchor_info": {"video_anchor_info": {"anchor_title": "python入门教程"}},
              "product_img_uri": "tos-cn-i-b2i6zad4el/b0e72a2e9c5ee919c65a9b0276315cf9"
            },
            "course_params": {
              "teacher_id": "T7283947392973", "institution_id": "I1039473947393", "course_num": 637,
              "refund_label": {"type": 1, "day_before_use_info": {"day": 7}},
              "use_label": {"valid_date": "2022-12-01"},
              "start_timestamp": 1_649_662_751_000_i64, "end_timestamp": 1_681_198_751_000_i64
            }
          }
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn gift_info_and_range_price_serialize_with_platform_names() {
        let mut product = seed_product();
        let common = &mut product.common_product_params;
        common.gift_info = Some(GiftInfo {
            gift_type: 1,
            name: "课后辅导材料".into(),
            num: 10,
            pics: Some(vec!["http://x".into()]),
            send_back_policy: SendBackPolicy {
                send_back_on_refund: 0,
                policy_desc: "退款可不退赠品".into(),
            },
        });
        common.price_info = PriceInfo {
            unit: "节".into(),
            price: 5000,
            real_price: None,
            range_min_price: Some(5000),
            range_max_price: Some(6000),
        };
        let v = serde_json::to_value(&product).unwrap();
        let common = &v["common_product_params"];
        assert_eq!(
            common["gift_info"],
            serde_json::json!({"type": 1, "name": "课后辅导材料", "num": 10, "pics": ["http://x"],
                "send_back_policy": {"send_back_on_refund": 0, "policy_desc": "退款可不退赠品"}})
        );
        assert_eq!(
            common["price_info"],
            serde_json::json!({"unit": "节", "price": 5000, "range_min_price": 5000, "range_max_price": 6000})
        );
        // And it reads back as it was written, so state can keep payloads as JSON.
        let back: Product = serde_json::from_value(v).unwrap();
        assert_eq!(back, product);
    }
}
