//! The emulated platform's data and the semantics of every endpoint, as plain synchronous
//! functions over one mutex-guarded [`Inner`]; `http.rs` only moves bytes and injects faults.
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

/// One version of a course: the `product` object as sent on `add`/`modify`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// `{common_product_params, course_params}` as sent (path info updated by modify_no_audit,
    /// on-shelf fields by out-of-band edits).
    pub product: Value,
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
    pub(super) fn persist(&mut self, rows: &[Row]) -> Result<(), ApiError> {
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

    /// `POST /api/apps/v2/token` (platform-api.md §2.2).
    pub fn token(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        let answer = |err_no: i64, tips: &str, data: Value| Reply {
            http: 200,
            body: json!({"err_no": err_no, "err_tips": tips, "data": data}),
            err_no,
            course_id: None,
            product_id: None,
        };
        if let Err(msg) = check_content_type(headers) {
            return answer(facts::TOKEN_ERR_EMPTY, &msg, json!({}));
        }
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let (appid, secret, grant) = (field("appid"), field("secret"), field("grant_type"));
        if appid.is_empty() || secret.is_empty() || grant.is_empty() {
            return answer(
                facts::TOKEN_ERR_EMPTY,
                "appid, secret and grant_type are required",
                json!({}),
            );
        }
        if let Some(want) = &self.cfg.secret {
            if appid != self.cfg.appid {
                return answer(facts::TOKEN_ERR_APPID, "bad appid", json!({}));
            }
            if secret != want {
                return answer(facts::TOKEN_ERR_SECRET, "bad secret", json!({}));
            }
        }
        if grant != "client_credential" {
            return answer(
                facts::TOKEN_ERR_GRANT,
                "grant_type must be client_credential",
                json!({}),
            );
        }
        match self.mint(appid) {
            Ok((token, ttl)) => answer(
                facts::OK,
                "success",
                json!({"access_token": token, "expires_in": ttl}),
            ),
            Err(ApiError(no, msg)) => answer(no, &msg, json!({})),
        }
    }

    /// Issues and persists a token for `appid`; (token, lifetime in seconds).
    fn mint(&self, appid: &str) -> Result<(String, i64), ApiError> {
        let mut inner = self.lock();
        let token = format!("0801121846{}{}", inner.hex32(), inner.hex32());
        let now = now_ms();
        let ttl = self.cfg.token_ttl.as_secs() as i64;
        let mut rows = Vec::new();
        // Re-issuing shortens the previous tokens to 5 minutes (platform-api.md §2.2).
        for (hash, old) in &mut inner.tokens {
            if old.appid == appid && old.expires_ms > now + facts::OLD_TOKEN_GRACE_SECS * 1000 {
                old.expires_ms = now + facts::OLD_TOKEN_GRACE_SECS * 1000;
                rows.push(("token", hash.clone(), Some(to_json(&(hash, &*old)))));
            }
        }
        let hash = sha_hex(&token);
        let record = Token {
            appid: appid.to_owned(),
            expires_ms: now + ttl * 1000,
        };
        rows.push(("token", hash.clone(), Some(to_json(&(&hash, &record)))));
        inner.tokens.insert(hash, record);
        inner.persist(&rows)?;
        Ok((token, ttl))
    }

    /// Issues a token without HTTP (for tests), as the endpoint would.
    pub fn issue_token(&self, appid: &str) -> String {
        self.mint(appid).expect("issue a token").0
    }

    pub fn expire_tokens(&self) -> usize {
        let mut inner = self.lock();
        let now = now_ms();
        let mut rows = Vec::new();
        for (hash, t) in &mut inner.tokens {
            t.expires_ms = now - 1;
            rows.push(("token", hash.clone(), Some(to_json(&(hash, &*t)))));
        }
        let n = rows.len();
        let _ = inner.persist(&rows);
        n
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
    pub(super) fn authenticate(&self, body: &Map<String, Value>) -> Result<String, ApiError> {
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

    fn upload_resource(self: &Arc<Self>, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let ty = rules::int(
            rules::required(body, "resource_type", "body")?,
            "resource_type",
        )?;
        let prefix = facts::resource_prefix(ty)
            .ok_or_else(|| param(format!("resource_type {ty} is not supported")))?;
        let url = rules::string(
            rules::required(body, "resource_url", "body")?,
            "resource_url",
        )?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(param("resource_url must be an http(s) URL").into());
        }
        let callback_data = match body.get("callback_data").filter(|v| !v.is_null()) {
            Some(v) => Some(rules::string(v, "callback_data")?.to_owned()),
            None => None,
        };
        let mut inner = self.lock();
        let key = (appid.to_owned(), ty, url.to_owned());
        if facts::DUPLICATE_UPLOAD_IS_ERROR
            && let Some(uri) = inner.by_url.get(&key)
            // A failed pull may be retried with the same URL.
            && inner.resources.get(uri).is_some_and(|r| r.status != facts::RESOURCE_FAILED)
        {
            return Err(ApiError(
                facts::ERR_RESOURCE_EXISTS,
                format!("resource already uploaded:{uri}"),
            ));
        }
        let uri = format!("{prefix}{}", inner.hex32());
        let resource = Resource {
            uri: uri.clone(),
            appid: appid.to_owned(),
            resource_type: ty,
            url: url.to_owned(),
            status: facts::RESOURCE_FETCHING,
            size: None,
            sha256: None,
            error: None,
            callback_data,
        };
        inner.persist(&[("resource", uri.clone(), Some(to_json(&resource)))])?;
        inner.by_url.insert(key, uri.clone());
        inner.resources.insert(uri.clone(), resource);
        drop(inner);
        self.rt
            .spawn(pull(Arc::clone(self), uri.clone(), url.to_owned()));
        Ok(json!({"resource_uri": uri}))
    }

    fn query_resource_status(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let uri = rules::string(
            rules::required(body, "resource_uri", "body")?,
            "resource_uri",
        )?;
        let inner = self.lock();
        let r = inner
            .resources
            .get(uri)
            .filter(|r| r.appid == appid)
            .ok_or_else(|| param(format!("resource_uri `{uri}` does not exist")))?;
        Ok(json!({"resource_uri": r.uri, "status": r.status}))
    }

    fn finish_pull(self: &Arc<Self>, uri: &str, outcome: Result<(u64, String), String>) {
        let mut inner = self.lock();
        let Some(r) = inner.resources.get_mut(uri) else {
            return;
        };
        match outcome {
            Ok((size, sha)) => {
                r.status = facts::RESOURCE_DONE;
                r.size = Some(size);
                r.sha256 = Some(sha);
            }
            Err(e) => {
                r.status = facts::RESOURCE_FAILED;
                r.error = Some(e);
            }
        }
        let r = r.clone();
        let _ = inner.persist(&[("resource", r.uri.clone(), Some(to_json(&r)))]);
        let ok = r.status == facts::RESOURCE_DONE;
        let mut reason = Map::new();
        if let Some(e) = &r.error {
            reason.insert("资源拉取失败".into(), json!([e]));
        }
        let payload = json!({
            "notice_type": 4,
            "resource_tos_uri": r.uri,
            "produce_source_status": if ok { facts::CALLBACK_STATUS_OK } else { facts::CALLBACK_STATUS_FAIL },
            "produce_source_examine_res": ok,
            "reason": reason,
            "callback_data": r.callback_data,
        });
        let target = callback_target(&inner, &r.appid, payload);
        drop(inner);
        self.send_callbacks(target.into_iter().collect());
    }

    /// Restarts the pull of resources left in status 1 by a previous run.
    pub fn resume_pulls(self: &Arc<Self>) {
        let inner = self.lock();
        let fetching: Vec<_> = inner
            .resources
            .values()
            .filter(|r| r.status == facts::RESOURCE_FETCHING)
            .map(|r| (r.uri.clone(), r.url.clone()))
            .collect();
        drop(inner);
        for (uri, url) in fetching {
            self.rt.spawn(pull(Arc::clone(self), uri, url));
        }
    }

    /// The rejection a newly submitted version will get: the sandbox header (platform-api.md §12)
    /// or a banned word in the title.
    fn plan_rejection(&self, title: &str, reject_header: bool) -> Option<String> {
        let fail = if reject_header {
            Some("审核拒绝: Aweme-Check-Type: REJECT".to_owned())
        } else {
            self.cfg
                .banned_words
                .iter()
                .find(|w| !w.is_empty() && title.contains(w.as_str()))
                .map(|w| format!("禁入课程:标题含违禁词「{w}」"))
        };
        fail.map(|f| json!({"fail_reason": f, "position": "标题"}).to_string())
    }

    fn new_version(
        &self,
        inner: &mut Inner,
        product: &Value,
        checked: &rules::Checked,
        reject: bool,
    ) -> Version {
        Version {
            product: product.clone(),
            audit_id: inner.audit_id("KNC"),
            audit_status: facts::AUDIT_REVIEWING,
            reject_reason: String::new(),
            due_ms: now_ms() + self.cfg.audit_delay.as_millis() as i64,
            planned_rejection: self
                .plan_rejection(&checked.title, reject)
                .or_else(|| self.roles.rejection(product)),
            title: checked.title.clone(),
            callback_data: checked.callback_data.clone(),
        }
    }

    fn add(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        reject_header: bool,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        product_type(body)?;
        let product = rules::required(body, "product", "body")?;
        let mut inner = self.lock();
        let checked = rules::product(
            product,
            appid,
            &AppUploads {
                inner: &inner,
                appid,
            },
        )?;
        *course_id = Some(checked.course_id.clone());
        if let Some(existing) = inner.owner_of(appid, &checked.course_id, None) {
            *product_id = Some(existing);
            return Err(ApiError(
                facts::ERR_IN_REVIEW,
                format!("已进审课程{existing}"),
            ));
        }
        let id = loop {
            let id = new_product_id(&mut inner.rng);
            if !inner.products.contains_key(&id) {
                break id;
            }
        };
        let version = self.new_version(&mut inner, product, &checked, reject_header);
        let audit_id = version.audit_id.clone();
        inner.pending.insert((version.due_ms, id));
        inner.products.insert(
            id,
            StoredProduct {
                product_id: id,
                appid: appid.to_owned(),
                course_id: checked.course_id.clone(),
                listed: false,
                dead: false,
                on_shelf: None,
                reviewing: Some(version),
            },
        );
        inner.index_course(appid, &checked.course_id, id);
        let row = inner.product_row(id);
        if let Err(e) = inner.persist(&[row]) {
            inner.products.remove(&id);
            return Err(e);
        }
        drop(inner);
        *product_id = Some(id);
        self.audit_wake.notify_one();
        Ok(json!({"product_id": id, "audit_id": audit_id}))
    }

    fn modify(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        reject_header: bool,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        product_type(body)?;
        let id = id_value(rules::required(body, "product_id", "body")?, "product_id")?;
        *product_id = Some(id);
        let product = rules::required(body, "product", "body")?;
        let mut inner = self.lock();
        let p = inner.product_of_app(appid, id, "product_id")?;
        *course_id = Some(p.course_id.clone());
        if p.dead {
            return Err(param(format!(
                "product_id {id} was rejected and is void; add the course again"
            ))
            .into());
        }
        let checked = rules::product(
            product,
            appid,
            &AppUploads {
                inner: &inner,
                appid,
            },
        )?;
        *course_id = Some(checked.course_id.clone());
        if let Some(other) = inner.owner_of(appid, &checked.course_id, Some(id)) {
            return Err(ApiError(
                facts::ERR_COURSE_ID_TAKEN,
                format!("已进审课程{other}"),
            ));
        }
        let version = self.new_version(&mut inner, product, &checked, reject_header);
        let audit_id = version.audit_id.clone();
        inner.pending.insert((version.due_ms, id));
        inner.index_course(appid, &checked.course_id, id);
        let p = inner.products.get_mut(&id).expect("checked above");
        p.course_id = checked.course_id;
        // A modify of a product in its first review replaces the reviewing version; of a live
        // product, it queues a new version while the on-shelf one stays (§5.2).
        p.reviewing = Some(version);
        let row = inner.product_row(id);
        inner.persist(&[row])?;
        drop(inner);
        self.audit_wake.notify_one();
        Ok(json!({"audit_id": audit_id}))
    }

    fn modify_no_audit(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        product_type(body)?;
        let id = id_value(rules::required(body, "product_id", "body")?, "product_id")?;
        *product_id = Some(id);
        let product = rules::object(rules::required(body, "product", "body")?, "product")?;
        check_appid(product, "appid", appid)
            .map_err(|_| param("product.appid does not match the access_token's app"))?;
        let paths = rules::required(product, "path_info_lst", "product")?;
        let new_course = rules::path_info_lst(paths, "product.path_info_lst")?;
        *course_id = Some(new_course.clone());
        let mut inner = self.lock();
        let p = inner.product_of_app(appid, id, "product_id")?;
        if p.dead {
            return Err(param(format!("product_id {id} was rejected and is void")).into());
        }
        if let Some(other) = inner.owner_of(appid, &new_course, Some(id)) {
            return Err(ApiError(
                facts::ERR_COURSE_ID_TAKEN,
                format!("已进审课程{other}"),
            ));
        }
        inner.index_course(appid, &new_course, id);
        let audit_id = inner.audit_id("KNC");
        let p = inner.products.get_mut(&id).expect("checked above");
        p.course_id = new_course;
        // Path info changes on both versions at once, without audit (§5.3).
        for v in [p.on_shelf.as_mut(), p.reviewing.as_mut()]
            .into_iter()
            .flatten()
        {
            v.product["common_product_params"]["path_info_lst"] = paths.clone();
        }
        let row = inner.product_row(id);
        inner.persist(&[row])?;
        Ok(json!({"audit_id": audit_id}))
    }

    fn modify_status(
        &self,
        appid: &str,
        body: &Map<String, Value>,
        course_id: &mut Option<String>,
        product_id: &mut Option<u64>,
    ) -> ApiResult {
        let path = "product_status_info";
        let info = rules::object(rules::required(body, path, "body")?, path)?;
        check_appid(info, "appid", appid).map_err(|_| {
            param("product_status_info.appid does not match the access_token's app")
        })?;
        let id = id_value(
            rules::required(info, "product_id", path)?,
            "product_status_info.product_id",
        )?;
        *product_id = Some(id);
        let status = rules::int(
            rules::required(info, "status", path)?,
            "product_status_info.status",
        )?;
        if status != facts::STATUS_LISTED && status != facts::STATUS_DELISTED {
            return Err(param("product_status_info.status must be 1 (list) or 2 (delist)").into());
        }
        let mut inner = self.lock();
        let p = inner.product_of_app(appid, id, "product_status_info.product_id")?;
        *course_id = Some(p.course_id.clone());
        if p.on_shelf.is_none() {
            return Err(param(format!(
                "product_status_info.product_id {id} has no approved version to list or delist"
            ))
            .into());
        }
        inner.products.get_mut(&id).expect("checked").listed = status == facts::STATUS_LISTED;
        let row = inner.product_row(id);
        inner.persist(&[row])?;
        Ok(Value::Null)
    }

    fn product_ids(body: &Map<String, Value>) -> Result<Vec<u64>, ApiError> {
        let ids = rules::required(body, "product_ids", "body")?
            .as_array()
            .ok_or_else(|| param("product_ids must be an array"))?;
        if ids.len() > facts::MAX_QUERY_IDS {
            return Err(param(format!(
                "product_ids must have at most {} ids",
                facts::MAX_QUERY_IDS
            ))
            .into());
        }
        ids.iter()
            .enumerate()
            .map(|(i, v)| id_value(v, &format!("product_ids[{i}]")))
            .collect()
    }

    fn query(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let ids = Self::product_ids(body)?;
        let inner = self.lock();
        let mut products = Vec::new();
        for id in ids {
            let Some(p) = inner.products.get(&id).filter(|p| p.appid == appid) else {
                continue;
            };
            let mut item = Map::new();
            if let Some(v) = &p.on_shelf {
                let status = if p.listed {
                    facts::STATUS_LISTED
                } else {
                    facts::STATUS_DELISTED
                };
                item.insert("product_on_shelf".into(), self.version_view(id, v, status));
            }
            if let Some(v) = &p.reviewing {
                item.insert(
                    "product_reviewing".into(),
                    self.version_view(id, v, v.audit_status),
                );
            }
            products.push(Value::Object(item));
        }
        Ok(json!({"products": products}))
    }

    /// A version as `query` returns it: response-side names, `*_uri` → full `*_url` (§5.5).
    fn version_view(&self, id: u64, v: &Version, status: i64) -> Value {
        let url = |uri: &Value| {
            json!(format!(
                "{}/obj/{}",
                self.base_url,
                uri.as_str().unwrap_or("")
            ))
        };
        let mut info = v
            .product
            .get("common_product_params")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(m) = info.as_object_mut() {
            if let Some(uri) = m.remove("product_img_uri") {
                m.insert("product_img_url".into(), url(&uri));
            }
            if let Some(uris) = m.remove("qualification_uris") {
                let urls: Vec<Value> = uris.as_array().into_iter().flatten().map(url).collect();
                m.insert("qualification_urls".into(), json!(urls));
            }
            for f in m
                .get_mut("product_fulfillment_lst")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = f
                    .get_mut("fulfillment_content")
                    .and_then(Value::as_object_mut)
                    && let Some(uri) = c.remove("fulfillment_uri")
                {
                    c.insert("fulfillment_url".into(), url(&uri));
                }
            }
            for d in m
                .get_mut("product_detail_lst")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(d) = d.as_object_mut() {
                    if let Some(uri) = d.remove("img_uri") {
                        d.insert("img_url".into(), url(&uri));
                    }
                    if let Some(r) = d.get_mut("rich_text").and_then(Value::as_object_mut)
                        && let Some(uri) = r.remove("uri")
                    {
                        r.insert("url".into(), url(&uri));
                    }
                }
            }
        }
        json!({
            "product_id": id,
            "product_type": 1,
            "common_product_info": info,
            "course_info": v.product.get("course_params").cloned().unwrap_or_else(|| json!({})),
            "product_status": {
                "status": status,
                "reject_reason": v.reject_reason,
                "latest_audit_id": v.audit_id,
            },
        })
    }

    fn query_review(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let ids = Self::product_ids(body)?;
        let inner = self.lock();
        let mut out = Map::new();
        for id in ids {
            let Some(p) = inner.products.get(&id).filter(|p| p.appid == appid) else {
                continue;
            };
            let Some(v) = p.reviewing.as_ref().or(p.on_shelf.as_ref()) else {
                continue;
            };
            let fulfillment: Vec<Value> =
                v.product["common_product_params"]["product_fulfillment_lst"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, f)| {
                        json!({
                            "status": v.audit_status,
                            "reject_reason": v.reject_reason,
                            "latest_audit_id": format!("KNV{}{i:03}", &v.audit_id[3..]),
                            "fulfillment_uri": f["fulfillment_content"]["fulfillment_uri"],
                        })
                    })
                    .collect();
            out.insert(
                id.to_string(),
                json!({
                    "course": {
                        "status": v.audit_status,
                        "reject_reason": v.reject_reason,
                        "latest_audit_id": v.audit_id,
                    },
                    "fulfillment": fulfillment,
                }),
            );
        }
        Ok(json!({"products_review": out}))
    }

    fn query_class_info(appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let list: Vec<Value> = facts::CATEGORIES
            .iter()
            .map(|(first, name, seconds)| {
                let details: Vec<Value> = seconds
                    .iter()
                    .map(|(id, name)| {
                        json!({
                            "second_class_id": id, "second_class_name": name,
                            "class_definition": "", "qualification_tip": "", "special_tip": "",
                            "professional_certification": "", "professional_education": "",
                            "teacher_qualification_certificate": "", "document_link": "",
                        })
                    })
                    .collect();
                json!({"first_class_id": first, "first_class_name": name, "class_info_detail_list": details})
            })
            .collect();
        Ok(json!({"product_class_info_list": list}))
    }

    fn sync_callback_url(&self, appid: &str, body: &Map<String, Value>) -> ApiResult {
        check_appid(body, "appid", appid)?;
        let url = rules::string(
            rules::required(body, "callback_url", "body")?,
            "callback_url",
        )?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(param("callback_url must be an http(s) URL").into());
        }
        let flag = match body.get("developer_flag").filter(|v| !v.is_null()) {
            Some(v) => rules::string(v, "developer_flag")?,
            None => "",
        };
        let reg = CallbackReg {
            appid: appid.to_owned(),
            callback_url: url.to_owned(),
            developer_flag: flag.to_owned(),
        };
        let mut inner = self.lock();
        inner.persist(&[("callback", appid.to_owned(), Some(to_json(&reg)))])?;
        inner.callbacks.insert(appid.to_owned(), reg);
        Ok(Value::Null)
    }

    /// Earliest due time of a pending audit.
    pub fn next_audit_due(&self) -> Option<i64> {
        self.lock().pending.first().map(|(due, _)| *due)
    }

    /// Decides every pending audit that is due (all of them with `all`); returns how many.
    pub fn decide_audits(self: &Arc<Self>, all: bool) -> usize {
        let now = now_ms();
        let mut inner = self.lock();
        let mut rows = Vec::new();
        let mut callbacks = Vec::new();
        let mut decided = 0;
        while let Some(&(due, id)) = inner.pending.first() {
            if !all && due > now {
                break;
            }
            inner.pending.pop_first();
            let Some(p) = inner.products.get_mut(&id) else {
                continue;
            };
            let Some(v) = p
                .reviewing
                .as_mut()
                .filter(|v| v.audit_status == facts::AUDIT_REVIEWING && v.due_ms == due)
            else {
                continue;
            };
            decided += 1;
            let approved = v.planned_rejection.is_none();
            let mut reason = Map::new();
            if let Some(rejection) = v.planned_rejection.clone() {
                v.audit_status = facts::AUDIT_REJECTED;
                reason.insert("审核不通过".into(), json!([rejection]));
                v.reject_reason = rejection;
                if p.on_shelf.is_none() {
                    p.dead = true;
                }
            } else {
                v.audit_status = facts::AUDIT_PASSED;
                let first_approval = p.on_shelf.is_none();
                p.on_shelf = p.reviewing.take();
                // Approved courses are listed automatically; a modify keeps the listing (§5.1/§5.2).
                if first_approval {
                    p.listed = true;
                }
            }
            let v = p
                .on_shelf
                .as_ref()
                .filter(|_| approved)
                .or(p.reviewing.as_ref())
                .expect("decided version");
            let payload = json!({
                "notice_type": 1,
                "produce_id": id,
                "produce_name": v.title,
                "produce_status": if approved { facts::CALLBACK_STATUS_OK } else { facts::CALLBACK_STATUS_FAIL },
                "produce_examine_res": approved,
                "reason": reason,
                "callback_data": v.callback_data,
            });
            let appid = p.appid.clone();
            rows.push(inner.product_row(id));
            callbacks.extend(callback_target(&inner, &appid, payload));
        }
        let _ = inner.persist(&rows);
        drop(inner);
        self.send_callbacks(callbacks);
        decided
    }

    fn send_callbacks(self: &Arc<Self>, targets: Vec<(String, Value)>) {
        for (url, payload) in targets {
            let shared = Arc::clone(self);
            self.rt.spawn(async move {
                let result = shared
                    .http
                    .post(&url)
                    .timeout(std::time::Duration::from_secs(10))
                    .json(&payload)
                    .send()
                    .await;
                let (http_status, error) = match result {
                    Ok(r) => (Some(r.status().as_u16()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                shared.lock().sent.push(CallbackRecord {
                    url,
                    payload,
                    http_status,
                    error,
                });
            });
        }
    }

    pub fn decide_fault(&self, endpoint: &str) -> (u64, Option<FaultKind>, u64) {
        let mut inner = self.lock();
        let (latency, kind) = inner.faults.decide(endpoint);
        (latency, kind, inner.faults.retry_after(endpoint))
    }

    pub fn log_call(
        &self,
        endpoint: &str,
        reply: Option<&Reply>,
        http_status: Option<u16>,
        fault: Option<FaultKind>,
    ) {
        let mut inner = self.lock();
        inner.seq += 1;
        let record = CallRecord {
            seq: inner.seq,
            endpoint: endpoint.to_owned(),
            course_id: reply.and_then(|r| r.course_id.clone()),
            product_id: reply.and_then(|r| r.product_id),
            err_no: reply
                .filter(|_| http_status == Some(200) || http_status == Some(404))
                .map(|r| r.err_no),
            http_status,
            fault: fault.map(|f| f.name().to_owned()),
            at_ms: now_ms(),
        };
        if self.cfg.log_calls {
            eprintln!(
                "{} {} course_id={} product_id={} err_no={} http={}{}",
                record.at_ms,
                record.endpoint,
                record.course_id.as_deref().unwrap_or("-"),
                record.product_id.map_or("-".into(), |p| p.to_string()),
                record.err_no.map_or("-".into(), |e| e.to_string()),
                record.http_status.map_or("-".into(), |s| s.to_string()),
                record
                    .fault
                    .as_deref()
                    .map_or(String::new(), |f| format!(" fault={f}")),
            );
        }
        *inner
            .counts
            .per_endpoint
            .entry(endpoint.to_owned())
            .or_default() += 1;
        if let Some(c) = &record.course_id {
            *inner
                .counts
                .per_course_id
                .entry(c.clone())
                .or_default()
                .entry(endpoint.to_owned())
                .or_default() += 1;
        }
        if inner.calls.len() == CALL_LOG_CAP {
            inner.calls.pop_front();
        }
        inner.calls.push_back(record);
    }

    // ---- admin ----

    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.iter().cloned().collect()
    }

    pub fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    pub fn products(&self) -> Vec<StoredProduct> {
        self.lock().products.values().cloned().collect()
    }

    pub fn resources(&self) -> Vec<Resource> {
        let mut all: Vec<_> = self.lock().resources.values().cloned().collect();
        all.sort_by(|a, b| a.uri.cmp(&b.uri));
        all
    }

    pub fn resource_url(&self, uri: &str) -> Option<String> {
        self.lock().resources.get(uri).map(|r| r.url.clone())
    }

    pub fn callbacks_sent(&self) -> Vec<CallbackRecord> {
        self.lock().sent.clone()
    }

    /// Out-of-band change of the on-shelf version (drift): a JSON merge patch of
    /// `{common_product_params?, course_params?}`.
    pub fn edit_on_shelf(&self, id: u64, patch: &Value) -> Result<StoredProduct, String> {
        let patch = patch.as_object().ok_or("the edit must be a JSON object")?;
        if let Some(key) = patch
            .keys()
            .find(|k| *k != "common_product_params" && *k != "course_params")
        {
            return Err(format!(
                "unknown key `{key}`: edit common_product_params or course_params"
            ));
        }
        let mut inner = self.lock();
        let p = inner
            .products
            .get_mut(&id)
            .ok_or_else(|| format!("no product {id}"))?;
        let v = p
            .on_shelf
            .as_mut()
            .ok_or_else(|| format!("product {id} has no on-shelf version"))?;
        json_merge(&mut v.product, &Value::Object(patch.clone()));
        let p = p.clone();
        let row = inner.product_row(id);
        inner.persist(&[row]).map_err(|e| e.1)?;
        Ok(p)
    }

    pub fn set_fault(&self, endpoint: &str, spec: super::FaultSpec) {
        self.lock().faults.set(endpoint, spec);
    }

    pub fn faults(&self) -> HashMap<String, super::FaultSpec> {
        self.lock().faults.specs().clone()
    }

    /// Forgets everything: data (also in the data file), tokens, call log, callbacks, and faults
    /// back to the start configuration.
    pub fn reset(&self) -> anyhow::Result<()> {
        let mut inner = self.lock();
        inner.tokens.clear();
        inner.resources.clear();
        inner.by_url.clear();
        inner.products.clear();
        inner.by_course.clear();
        inner.pending.clear();
        inner.callbacks.clear();
        inner.calls.clear();
        inner.counts = Counts::default();
        inner.sent.clear();
        inner.faults = Faults::new(&self.cfg.faults, self.cfg.fault_seed);
        if let Some(store) = &mut inner.store {
            store.clear()?;
        }
        self.roles.reset();
        Ok(())
    }
}

fn callback_target(inner: &Inner, appid: &str, mut payload: Value) -> Option<(String, Value)> {
    let reg = inner.callbacks.get(appid)?;
    payload["developer_flag"] = json!(reg.developer_flag);
    Some((reg.callback_url.clone(), payload))
}

/// The platform wants `application/json` (platform-api.md §1); parameters such as `charset`
/// are accepted because real HTTP clients add them.
pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), String> {
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

/// Pulls `url` with a streaming GET, hashing as it goes (the body is never held whole).
async fn pull(shared: Arc<Shared>, uri: String, url: String) {
    use futures::StreamExt as _;
    let outcome = async {
        let resp = shared
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("fetch failed: HTTP {}", resp.status().as_u16()));
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| format!("fetch failed: {e}"))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((size, hex::encode(hasher.finalize())))
    }
    .await;
    shared.finish_pull(&uri, outcome);
}
