//! The emulated platform's data and the semantics of every endpoint, as plain synchronous
//! functions over one mutex-guarded [`Inner`]; `server.rs` only moves bytes and injects faults. The endpoints live in the submodules:
//! [`tokens`], [`resources`], [`products`], [`audits`], and the admin side in [`admin`].
//!
//! Invariants: a product id is never reused; a product is `dead` only when its first version was
//! rejected (platform-api.md §5.1); `on_shelf` only ever holds an approved version and a pending
//! or rejected modify never touches it (§5.2); every write call persists what it changed before
//! it answers.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::faults::{FaultKind, Faults};
use super::rules::{self, Invalid, param};
use super::store::{Row, Store};
use super::{Config, facts};

mod admin;
mod audits;
mod products;
mod resources;
mod tokens;

/// Calls kept in the call log (counts are kept for every call regardless).
const CALL_LOG_CAP: usize = 100_000;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An issued access token (stored under the sha256 of the token, never the token itself).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Token {
    appid: String,
    expires_ms: i64,
}

/// One uploaded (or uploading) resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub uri: String,
    pub appid: String,
    pub resource_type: i64,
    /// The URL the platform pulled (or pulls) the file from.
    pub url: String,
    /// 1 fetching, 2 done, 3 failed.
    pub status: i64,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub callback_data: Option<String>,
}

pub use crate::packed::Packed;

/// One version of a course: the `product` object as sent on `add`/`modify`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// `{common_product_params, course_params}` as sent (path info updated by modify_no_audit,
    /// on-shelf fields by out-of-band edits).
    pub product: Packed,
    pub audit_id: String,
    /// 1 reviewing, 2 passed, 3 rejected.
    pub audit_status: i64,
    /// `""`, or the JSON string `{"fail_reason": …, "position": …}` once rejected.
    pub reject_reason: String,
    /// When the audit is decided (unix ms).
    pub due_ms: i64,
    /// Decided when the version was submitted (sandbox header or banned word): the reason it
    /// will be rejected with, `None` to approve.
    pub planned_rejection: Option<String>,
    pub title: String,
    pub callback_data: Option<String>,
}

/// A stored course with both of its versions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredProduct {
    pub product_id: u64,
    pub appid: String,
    pub course_id: String,
    /// Listing state of the on-shelf version (上架).
    pub listed: bool,
    /// First version rejected: the id is void (platform-api.md §5.1).
    pub dead: bool,
    pub on_shelf: Option<Version>,
    /// The version under review, or the last rejected one.
    pub reviewing: Option<Version>,
}

/// One entry of the call log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub seq: u64,
    pub endpoint: String,
    pub course_id: Option<String>,
    pub product_id: Option<u64>,
    /// `None` when no envelope was sent (504, dropped connection).
    pub err_no: Option<i64>,
    pub http_status: Option<u16>,
    /// The injected fault, if any.
    pub fault: Option<String>,
    pub at_ms: i64,
}

/// Calls per endpoint, and per course_id then endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub per_endpoint: BTreeMap<String, u64>,
    pub per_course_id: BTreeMap<String, BTreeMap<String, u64>>,
}

/// One callback POSTed to a registered URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackRecord {
    pub url: String,
    pub payload: Value,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CallbackReg {
    appid: String,
    callback_url: String,
    developer_flag: String,
}

/// What one API call answers, plus what the call log wants to know about it.
#[derive(Debug)]
pub struct Reply {
    pub http: u16,
    pub body: Value,
    pub err_no: i64,
    pub course_id: Option<String>,
    pub product_id: Option<u64>,
}

/// An API error: `err_no` and `err_msg`.
#[derive(Debug)]
pub struct ApiError(pub i64, pub String);

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError(e.err_no(), e.message().to_owned())
    }
}

type ApiResult = Result<Value, ApiError>;

pub struct Inner {
    tokens: HashMap<String, Token>,
    resources: HashMap<String, Resource>,
    by_url: HashMap<(String, i64, String), String>,
    products: BTreeMap<u64, StoredProduct>,
    /// (appid, course_id) → product ids that ever carried it (checked against the product).
    by_course: HashMap<(String, String), Vec<u64>>,
    /// (due ms, product id) of versions under review; stale entries are skipped.
    pending: BTreeSet<(i64, u64)>,
    callbacks: HashMap<String, CallbackReg>,
    calls: VecDeque<CallRecord>,
    seq: u64,
    counts: Counts,
    sent: Vec<CallbackRecord>,
    pub faults: Faults,
    store: Option<Store>,
    rng: fastrand::Rng,
}

pub struct Shared {
    pub cfg: Config,
    pub base_url: String,
    pub rt: tokio::runtime::Handle,
    http: reqwest::Client,
    inner: Mutex<Inner>,
    pub audit_wake: tokio::sync::Notify,
    /// The role system (`roles.rs`).
    pub roles: super::roles::Roles,
}

fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("emulator records serialize")
}

impl Inner {
    pub(in crate::emulator) fn persist(&mut self, rows: &[Row]) -> Result<(), ApiError> {
        if let Some(store) = &mut self.store {
            store
                .write(rows)
                .map_err(|e| ApiError(facts::ERR_SYSTEM, format!("system error: {e:#}")))?;
        }
        Ok(())
    }

    fn product_row(&self, id: u64) -> Row {
        (
            "product",
            id.to_string(),
            self.products.get(&id).map(to_json),
        )
    }

    fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.u64(..), self.rng.u64(..))
    }

    fn audit_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}{:010}", now_ms(), self.rng.u64(..10_000_000_000))
    }

    /// A product that is in review or live and carries `course_id` (other than `except`).
    fn owner_of(&self, appid: &str, course_id: &str, except: Option<u64>) -> Option<u64> {
        let ids = self
            .by_course
            .get(&(appid.to_owned(), course_id.to_owned()))?;
        ids.iter().copied().find(|id| {
            Some(*id) != except
                && self
                    .products
                    .get(id)
                    .is_some_and(|p| !p.dead && p.course_id == course_id && p.appid == appid)
        })
    }

    fn index_course(&mut self, appid: &str, course_id: &str, id: u64) {
        let ids = self
            .by_course
            .entry((appid.to_owned(), course_id.to_owned()))
            .or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    fn product_of_app(&self, appid: &str, id: u64, path: &str) -> Result<&StoredProduct, ApiError> {
        match self.products.get(&id) {
            Some(p) if p.appid == appid => Ok(p),
            _ => Err(param(format!("{path} {id} does not exist")).into()),
        }
    }
}

struct AppUploads<'a> {
    inner: &'a Inner,
    appid: &'a str,
}

impl rules::Uploads for AppUploads<'_> {
    fn resource(&self, uri: &str) -> Option<(i64, i64)> {
        self.inner
            .resources
            .get(uri)
            .filter(|r| r.appid == self.appid)
            .map(|r| (r.resource_type, r.status))
    }
}

/// A product id: random, positive, above 2^53 so that a client parsing it as f64 breaks visibly.
fn new_product_id(rng: &mut fastrand::Rng) -> u64 {
    rng.u64(7_100_000_000_000_000_000..7_400_000_000_000_000_000)
}

fn id_value(v: &Value, path: &str) -> Result<u64, ApiError> {
    // Ids are JSON numbers [C]; a numeric string is accepted too (platform-api.md §3).
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| param(format!("{path} must be an int64 product id")).into())
}

fn json_merge(target: &mut Value, patch: &Value) {
    if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else if v.is_object() && t.get(k).is_some_and(Value::is_object) {
                json_merge(t.get_mut(k).expect("checked"), v);
            } else {
                t.insert(k.clone(), v.clone());
            }
        }
    } else {
        *target = patch.clone();
    }
}

impl Shared {
    pub fn new(cfg: Config, base_url: String, rt: tokio::runtime::Handle) -> anyhow::Result<Self> {
        let store = cfg.data.as_deref().map(Store::open).transpose()?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_mins(10))
            .build()?;
        let faults = Faults::new(&cfg.faults, cfg.fault_seed);
        let mut inner = Inner {
            tokens: HashMap::new(),
            resources: HashMap::new(),
            by_url: HashMap::new(),
            products: BTreeMap::new(),
            by_course: HashMap::new(),
            pending: BTreeSet::new(),
            callbacks: HashMap::new(),
            calls: VecDeque::new(),
            seq: 0,
            counts: Counts::default(),
            sent: Vec::new(),
            faults,
            store: None,
            rng: cfg
                .fault_seed
                .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        };
        if let Some(store) = &store {
            for json in store.load("token")? {
                let (hash, token): (String, Token) = serde_json::from_str(&json)?;
                inner.tokens.insert(hash, token);
            }
            for json in store.load("resource")? {
                let r: Resource = serde_json::from_str(&json)?;
                inner.by_url.insert(
                    (r.appid.clone(), r.resource_type, r.url.clone()),
                    r.uri.clone(),
                );
                inner.resources.insert(r.uri.clone(), r);
            }
            for json in store.load("callback")? {
                let reg: CallbackReg = serde_json::from_str(&json)?;
                inner.callbacks.insert(reg.appid.clone(), reg);
            }
            for json in store.load("product")? {
                let p: StoredProduct = serde_json::from_str(&json)?;
                inner.index_course(&p.appid, &p.course_id, p.product_id);
                if let Some(v) = p
                    .reviewing
                    .as_ref()
                    .filter(|v| v.audit_status == facts::AUDIT_REVIEWING)
                {
                    inner.pending.insert((v.due_ms, p.product_id));
                }
                inner.products.insert(p.product_id, p);
            }
        }
        let roles = super::roles::Roles::new(cfg.unknown_entities, &cfg.entities, store.as_ref())?;
        inner.store = store;
        Ok(Shared {
            roles,
            cfg,
            base_url,
            rt,
            http,
            inner: Mutex::new(inner),
            audit_wake: tokio::sync::Notify::new(),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn envelope(err_no: i64, msg: &str, data: Option<Value>, numeric_log_id: bool) -> Value {
        let mut rng = fastrand::Rng::new();
        // log_id is a string in most samples, an unquoted number in the query/upload samples
        // (platform-api.md §3).
        let log_id = if numeric_log_id {
            json!(rng.u64(1_000_000_000_000_000_000..u64::MAX))
        } else {
            json!(format!("{}{:012X}", now_ms(), rng.u64(..1 << 48)))
        };
        let mut body = json!({"err_no": err_no, "err_msg": msg, "log_id": log_id});
        if let Some(data) = data {
            body["data"] = data;
        }
        body
    }

    pub fn error_reply(http: u16, err_no: i64, msg: &str) -> Reply {
        Reply {
            http,
            body: Self::envelope(err_no, msg, None, false),
            err_no,
            course_id: None,
            product_id: None,
        }
    }

    /// Any `POST /product/api/<endpoint>`.
    pub fn call(self: &Arc<Self>, endpoint: &str, headers: &HeaderMap, body: &[u8]) -> Reply {
        let known = [
            "upload_resource",
            "query_resource_status",
            "add",
            "modify",
            "modify_no_audit",
            "modify_status",
            "query",
            "query_review",
            "query_class_info",
            "sync_callback_url",
        ];
        if !known.contains(&endpoint) {
            return Self::error_reply(
                404,
                facts::ERR_NO_SUCH_API,
                &format!("no such api: {endpoint}"),
            );
        }
        let numeric_log_id = matches!(
            endpoint,
            "query" | "upload_resource" | "query_resource_status"
        );
        let mut course_id = None;
        let mut product_id = None;
        let result = self.call_inner(endpoint, headers, body, &mut course_id, &mut product_id);
        let (err_no, body) = match result {
            Ok(Value::Null) => (
                facts::OK,
                Self::envelope(facts::OK, "success", None, numeric_log_id),
            ),
            Ok(data) => (
                facts::OK,
                Self::envelope(facts::OK, "success", Some(data), numeric_log_id),
            ),
            Err(ApiError(no, msg)) => (no, Self::envelope(no, &msg, None, numeric_log_id)),
        };
        Reply {
            http: 200,
            body,
            err_no,
            course_id,
            product_id,
        }
    }

    fn call_inner(
        self: &Arc<Self>,
        endpoint: &str,
        headers: &HeaderMap,
        body: &[u8],
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        check_content_type(headers).map_err(|m| ApiError(facts::ERR_PARAM, m))?;
        let body: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError(
                facts::ERR_PARAM,
                format!("invalid param: body is not JSON: {e}"),
            )
        })?;
        let body = body.as_object().ok_or_else(|| {
            ApiError(
                facts::ERR_PARAM,
                "invalid param: body must be a JSON object".into(),
            )
        })?;
        let appid = self.authenticate(body)?;
        let reject_header = headers
            .get("aweme-check-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("REJECT"));
        match endpoint {
            "upload_resource" => self.upload_resource(&appid, body),
            "query_resource_status" => self.query_resource_status(&appid, body),
            "add" => self.add(&appid, body, reject_header, course_id, product_id),
            "modify" => self.modify(&appid, body, reject_header, course_id, product_id),
            "modify_no_audit" => self.modify_no_audit(&appid, body, course_id, product_id),
            "modify_status" => self.modify_status(&appid, body, course_id, product_id),
            "query" => self.query(&appid, body),
            "query_review" => self.query_review(&appid, body),
            "query_class_info" => Self::query_class_info(&appid, body),
            "sync_callback_url" => self.sync_callback_url(&appid, body),
            _ => unreachable!("checked by call"),
        }
    }

    /// The appid of the body's `access_token`; 10001 when unknown or expired (§2.2).
    pub(in crate::emulator) fn authenticate(
        &self,
        body: &Map<String, Value>,
    ) -> Result<String, ApiError> {
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or("");
        let inner = self.lock();
        match inner.tokens.get(&sha_hex(token)) {
            Some(t) if t.expires_ms > now_ms() => Ok(t.appid.clone()),
            Some(_) => Err(ApiError(facts::ERR_TOKEN, "access_token expired".into())),
            None => Err(ApiError(facts::ERR_TOKEN, "access_token invalid".into())),
        }
    }
}

/// The platform wants `application/json` (platform-api.md §1); parameters such as `charset`
/// are accepted because real HTTP clients add them.
pub(in crate::emulator) fn check_content_type(headers: &HeaderMap) -> Result<(), String> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(format!(
            "invalid param: Content-Type must be application/json, got `{ct}`"
        ))
    }
}

fn check_appid(m: &Map<String, Value>, key: &str, appid: &str) -> Result<(), ApiError> {
    match m.get(key).and_then(Value::as_str) {
        Some(a) if a == appid => Ok(()),
        Some(_) => Err(param(format!("{key} does not match the access_token's app")).into()),
        None => Err(param(format!("{key} is required")).into()),
    }
}

fn product_type(body: &Map<String, Value>) -> Result<(), ApiError> {
    let t = rules::int(
        rules::required(body, "product_type", "body")?,
        "product_type",
    )?;
    if t == 1 {
        Ok(())
    } else {
        Err(param("product_type must be 1 (course)").into())
    }
}
