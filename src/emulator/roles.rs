//! The role system (角色系统, platform-api.md §4.2, §9): `POST /auth/entity/{get_bind_list,
//! get_appid_auth, get_class_auth}` over seeded entities, in the role envelope (§3: the result
//! fields at the top level, `get_appid_auth`'s under `data`, beside `err: {err_code, err_msg}`),
//! and the audit rule that goes with it: a course whose teacher or institution may not publish it
//! is rejected at audit with a readable reason.
//!
//! Entities are seeded with [`EntitySeed`]s: at start (`Config::entities`, the `emulator
//! --entity`/`--entities` flags), through the admin API (`GET|POST /__emulator/entities`), or by
//! the local environment. Every seed field defaults to the usable value (authorised, scope 3,
//! approved in every category). An entity nobody seeded is answered by the
//! [`UnknownEntities`] setting: `open` (the default of tests and `coursesync emulator`) treats it
//! as usable, `strict` as never having authorised the app.
//!
//! Partners (§9.2): an entity seeded with `partner_entity_id` is managed by that partner; a query
//! about it must name that partner, and a query naming a partner must name the entity's own.
//! What the real platform answers there is not documented [?]; the emulator refuses, so that a
//! client sending the wrong partner (or none) is seen in the tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::facts::{self, roles as role};
use super::model::{Reply, Shared};
use super::store::Store;

/// How the emulator answers about an entity nobody seeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownEntities {
    /// Usable: authorised with every scope and approved in every category. Keeps suites that
    /// never think about roles meaningful.
    #[default]
    Open,
    /// Never authorised the app: `get_appid_auth` refuses, `get_class_auth` lists nothing, and
    /// a course naming it is rejected at audit.
    Strict,
}

impl std::str::FromStr for UnknownEntities {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(UnknownEntities::Open),
            "strict" => Ok(UnknownEntities::Strict),
            _ => Err(format!("`{s}` is not open or strict")),
        }
    }
}

/// One entity (teacher, institution or partner) as the emulated platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySeed {
    pub entity_id: String,
    /// 1 teacher, 2 institution, 3 partner; `None`: answers for whichever role is asked.
    #[serde(default)]
    pub industry_role: Option<i64>,
    /// The authorisation of the app: 1 in review, 2 passed, 3 failed.
    #[serde(default = "passed")]
    pub auth_status: i64,
    /// Bits: 1 take payments, 2 create courses.
    #[serde(default = "full_scope")]
    pub scope: i64,
    /// Why the authorisation failed (with `auth_status` 3).
    #[serde(default)]
    pub auth_reason: String,
    /// The operating partner that manages this entity.
    #[serde(default)]
    pub partner_entity_id: Option<String>,
    /// Listed by `get_bind_list` (the role claimed the app).
    #[serde(default)]
    pub bound: bool,
    /// Category qualifications; absent: approved in every category.
    #[serde(default)]
    pub qualifications: Option<Vec<ClassQualification>>,
}

/// An entity's qualification for one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassQualification {
    pub first_class: i64,
    pub second_class: i64,
    /// 1 in review, 2 passed (the online qualification), 3 failed.
    #[serde(default = "passed")]
    pub audit_status: i64,
    #[serde(default)]
    pub audit_reason: String,
    /// `yyyy-MM-dd`; a far date when absent.
    #[serde(default)]
    pub expire_time: Option<String>,
}

fn passed() -> i64 {
    role::PASSED
}

fn full_scope() -> i64 {
    role::SCOPE_PAY | role::SCOPE_CREATE_COURSES
}

impl EntitySeed {
    /// A usable entity: authorised with every scope, approved in every category.
    pub fn usable(entity_id: impl Into<String>) -> EntitySeed {
        EntitySeed {
            entity_id: entity_id.into(),
            industry_role: None,
            auth_status: role::PASSED,
            scope: full_scope(),
            auth_reason: String::new(),
            partner_entity_id: None,
            bound: false,
            qualifications: None,
        }
    }

    /// Parses `ID=PRESET[,role=teacher|institution|partner][,partner=E_…][,bound]`, the
    /// `emulator --entity` flag. Presets: `usable`, `auth-in-review`, `auth-rejected`,
    /// `pay-only` (authorised without the course-creation scope), `unqualified` (authorised, no
    /// category qualification).
    pub fn parse_arg(arg: &str) -> Result<EntitySeed, String> {
        let (id, rest) = arg
            .split_once('=')
            .ok_or_else(|| format!("`{arg}` is not ID=PRESET"))?;
        let id = id.trim();
        if id.is_empty() {
            return Err(format!("`{arg}` has no entity id"));
        }
        let mut parts = rest.split(',').map(str::trim);
        let mut seed = EntitySeed::usable(id);
        match parts.next().unwrap_or("") {
            "usable" => {}
            "auth-in-review" => seed.auth_status = role::REVIEWING,
            "auth-rejected" => {
                seed.auth_status = role::FAILED;
                seed.auth_reason = "授权函不符合要求 (emulator)".into();
            }
            "pay-only" => seed.scope = role::SCOPE_PAY,
            "unqualified" => seed.qualifications = Some(Vec::new()),
            other => {
                return Err(format!(
                    "`{other}` is not a preset: usable, auth-in-review, auth-rejected, pay-only, unqualified"
                ));
            }
        }
        for part in parts {
            match part.split_once('=') {
                Some(("role", r)) => {
                    seed.industry_role = Some(match r {
                        "teacher" => role::TEACHER,
                        "institution" => role::INSTITUTION,
                        "partner" => role::PARTNER,
                        _ => return Err(format!("`{r}` is not teacher, institution or partner")),
                    });
                }
                Some(("partner", p)) if !p.is_empty() => {
                    seed.partner_entity_id = Some(p.to_string());
                }
                None if part == "bound" => seed.bound = true,
                _ => return Err(format!("`{part}` is not role=…, partner=… or bound")),
            }
        }
        Ok(seed)
    }

    /// Why this entity may not publish a course of `(first, second)` as `industry_role`, or
    /// `None` when it may: the app authorised (`auth_status` 2) with scope bit 2, and an
    /// approved qualification for the category (platform-api.md §9.1, PRODUCT.md "Roles").
    fn problem(&self, industry_role: i64, first: i64, second: i64) -> Option<String> {
        let who = format!("{} {}", role_name(industry_role), self.entity_id);
        if self.industry_role.is_some_and(|r| r != industry_role) {
            return Some(format!(
                "{who} does not hold the {} role",
                role_name(industry_role)
            ));
        }
        if self.auth_status != role::PASSED {
            return Some(format!(
                "{who} has not authorised this app (auth_status {})",
                self.auth_status
            ));
        }
        if self.scope & role::SCOPE_CREATE_COURSES == 0 {
            return Some(format!(
                "{who} has not given this app the course-creation scope (scope {})",
                self.scope
            ));
        }
        match self.qualification(first, second) {
            Some(q) if q.audit_status == role::PASSED => None,
            Some(q) => Some(format!(
                "{who} has no approved qualification for category {first}/{second} (audit_status {})",
                q.audit_status
            )),
            None => Some(format!(
                "{who} has no qualification for category {first}/{second}"
            )),
        }
    }

    fn qualification(&self, first: i64, second: i64) -> Option<ClassQualification> {
        match &self.qualifications {
            None => Some(ClassQualification {
                first_class: first,
                second_class: second,
                audit_status: role::PASSED,
                audit_reason: String::new(),
                expire_time: None,
            }),
            Some(list) => list
                .iter()
                .find(|q| q.first_class == first && q.second_class == second)
                .cloned(),
        }
    }
}

fn role_name(industry_role: i64) -> &'static str {
    match industry_role {
        role::TEACHER => "teacher",
        role::INSTITUTION => "institution",
        role::PARTNER => "partner",
        _ => "entity",
    }
}

/// One role call, for tests: what it asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCall {
    pub endpoint: String,
    pub entity_id: Option<String>,
    pub partner_entity_id: Option<String>,
    pub industry_role: Option<i64>,
    pub first_class: Option<i64>,
    pub second_class: Option<i64>,
    /// `err.err_code` of the answer.
    pub err_code: i64,
}

/// The role system's data: seeded entities and the log of role calls.
pub struct Roles {
    unknown: UnknownEntities,
    /// The seeds of the configuration, restored by a reset.
    configured: Vec<EntitySeed>,
    entities: Mutex<BTreeMap<String, EntitySeed>>,
    calls: Mutex<Vec<RoleCall>>,
}

/// Store rows of this kind hold one [`EntitySeed`] each, keyed by entity id.
const ROW_KIND: &str = "entity";

impl Roles {
    /// The entities stored by an earlier run, then the configured ones over them.
    pub fn new(
        unknown: UnknownEntities,
        configured: &[EntitySeed],
        store: Option<&Store>,
    ) -> anyhow::Result<Roles> {
        let mut entities = BTreeMap::new();
        if let Some(store) = store {
            for json in store.load(ROW_KIND)? {
                let seed: EntitySeed = serde_json::from_str(&json)?;
                entities.insert(seed.entity_id.clone(), seed);
            }
        }
        for seed in configured {
            entities.insert(seed.entity_id.clone(), seed.clone());
        }
        Ok(Roles {
            unknown,
            configured: configured.to_vec(),
            entities: Mutex::new(entities),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn entities(&self) -> MutexGuard<'_, BTreeMap<String, EntitySeed>> {
        self.entities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn calls(&self) -> MutexGuard<'_, Vec<RoleCall>> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Back to the configured entities, with an empty call log.
    pub fn reset(&self) {
        let mut entities = self.entities();
        entities.clear();
        for seed in &self.configured {
            entities.insert(seed.entity_id.clone(), seed.clone());
        }
        self.calls().clear();
    }

    /// The entity as a query about it sees it: `Ok(None)` for an unknown entity under
    /// `strict`; an error when the partner does not match.
    fn resolve(
        &self,
        entity_id: &str,
        partner: Option<&str>,
    ) -> Result<Option<EntitySeed>, (i64, String)> {
        let seed = match self.entities().get(entity_id) {
            Some(seed) => seed.clone(),
            None => {
                return Ok(match self.unknown {
                    UnknownEntities::Open => {
                        let mut seed = EntitySeed::usable(entity_id);
                        seed.partner_entity_id = partner.map(str::to_string);
                        Some(seed)
                    }
                    UnknownEntities::Strict => None,
                });
            }
        };
        match (seed.partner_entity_id.as_deref(), partner) {
            (Some(own), Some(asked)) if own == asked => {}
            (None, None) => {}
            (Some(own), None) => {
                return Err((
                    role::ERR_PARTNER_MISMATCH,
                    format!(
                        "merchant_entity_id {entity_id} is managed by partner {own}: send partner_entity_id"
                    ),
                ));
            }
            (_, Some(asked)) => {
                return Err((
                    role::ERR_PARTNER_MISMATCH,
                    format!("partner_entity_id {asked} does not act for {entity_id}"),
                ));
            }
        }
        Ok(Some(seed))
    }

    /// The audit's verdict on a submitted product (`{common_product_params, course_params}`):
    /// the rejection reason (the `{fail_reason, position}` JSON text) when a teacher or
    /// institution it names may not publish it.
    pub fn rejection(&self, product: &Value) -> Option<String> {
        let common = &product["common_product_params"];
        let params = &product["course_params"];
        let first = common["first_class"].as_i64().unwrap_or_default();
        let second = common["second_class"].as_i64().unwrap_or_default();
        let mut problems = Vec::new();
        for (key, industry_role) in [
            ("teacher_id", role::TEACHER),
            ("institution_id", role::INSTITUTION),
        ] {
            let Some(id) = params[key].as_str().filter(|id| !id.is_empty()) else {
                continue;
            };
            let seed = self.entities().get(id).cloned().or(match self.unknown {
                UnknownEntities::Open => Some(EntitySeed::usable(id)),
                UnknownEntities::Strict => None,
            });
            let problem = match seed {
                Some(seed) => seed.problem(industry_role, first, second),
                None => Some(format!(
                    "{} {id} has not authorised this app (no authorisation)",
                    role_name(industry_role)
                )),
            };
            problems.extend(problem);
        }
        if problems.is_empty() {
            return None;
        }
        Some(
            json!({
                "fail_reason": format!("角色资质不符 (role check failed): {}", problems.join("; ")),
                "position": "course_params",
            })
            .to_string(),
        )
    }
}

/// The answer to a role call: its result fields, or `(err_code, err_msg)`.
type RoleResult = Result<Map<String, Value>, (i64, String)>;

/// What a role call names, for the role call log.
#[derive(Default)]
struct Asked {
    entity_id: Option<String>,
    partner_entity_id: Option<String>,
    industry_role: Option<i64>,
    first_class: Option<i64>,
    second_class: Option<i64>,
}

fn param(msg: impl std::fmt::Display) -> (i64, String) {
    (facts::ERR_PARAM, format!("invalid param: {msg}"))
}

fn required_str<'v>(body: &'v Map<String, Value>, key: &str) -> Result<&'v str, (i64, String)> {
    match body.get(key).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(param(format!("{key} is required"))),
    }
}

fn required_int(body: &Map<String, Value>, key: &str) -> Result<i64, (i64, String)> {
    body.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| param(format!("{key} must be an integer")))
}

/// `partner_entity_id`, where `""` (as the samples send it) means none.
fn partner(body: &Map<String, Value>) -> Result<Option<&str>, (i64, String)> {
    match body.get("partner_entity_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(param("partner_entity_id must be a string")),
    }
}

fn qualification_json(q: Option<&ClassQualification>, online: bool) -> Value {
    match q {
        Some(q) if (q.audit_status == role::PASSED) == online => json!({
            "audit_taskid": format!("Role_{}{}", q.first_class, q.second_class),
            "audit_status": q.audit_status,
            "audit_reason": q.audit_reason,
            "expire_time": q.expire_time.as_deref().unwrap_or(role::FAR_EXPIRY),
            "qualifications": [],
        }),
        _ => json!({}),
    }
}

impl Shared {
    /// Any `POST /auth/entity/<endpoint>`.
    pub fn role_call(&self, endpoint: &str, headers: &HeaderMap, body: &[u8]) -> Reply {
        let mut asked = Asked::default();
        let (http, err_code, err_msg, mut out) =
            match self.role_call_inner(endpoint, headers, body, &mut asked) {
                Ok(fields) => (200, facts::OK, String::new(), fields),
                Err((code, msg)) if code == facts::ERR_NO_SUCH_API => (404, code, msg, Map::new()),
                Err((code, msg)) => (200, code, msg, Map::new()),
            };
        out.insert(
            "err".into(),
            json!({"err_code": err_code, "err_msg": err_msg}),
        );
        self.roles.calls().push(RoleCall {
            endpoint: endpoint.to_string(),
            entity_id: asked.entity_id,
            partner_entity_id: asked.partner_entity_id,
            industry_role: asked.industry_role,
            first_class: asked.first_class,
            second_class: asked.second_class,
            err_code,
        });
        Reply {
            http,
            body: Value::Object(out),
            err_no: err_code,
            course_id: None,
            product_id: None,
        }
    }

    fn role_call_inner(
        &self,
        endpoint: &str,
        headers: &HeaderMap,
        body: &[u8],
        asked: &mut Asked,
    ) -> RoleResult {
        if !matches!(
            endpoint,
            "get_bind_list" | "get_appid_auth" | "get_class_auth"
        ) {
            return Err((
                facts::ERR_NO_SUCH_API,
                format!("no such api: /auth/entity/{endpoint}"),
            ));
        }
        super::model::check_content_type(headers).map_err(|m| (facts::ERR_PARAM, m))?;
        let body: Value =
            serde_json::from_slice(body).map_err(|e| param(format!("body is not JSON: {e}")))?;
        let body = body
            .as_object()
            .ok_or_else(|| param("body must be a JSON object"))?;
        let appid = self.authenticate(body).map_err(|e| (e.0, e.1))?;
        match body.get("appid").and_then(Value::as_str) {
            Some(a) if a == appid => {}
            Some(_) => return Err(param("appid does not match the access_token's app")),
            None => return Err(param("appid is required")),
        }
        match endpoint {
            "get_bind_list" => Ok(self.bind_list(&appid)),
            "get_appid_auth" => self.appid_auth(&appid, body, asked),
            _ => self.class_auth(body, asked),
        }
    }

    /// `get_bind_list`: the bound entities (§9.2).
    fn bind_list(&self, appid: &str) -> Map<String, Value> {
        let list: Vec<Value> = self
            .roles
            .entities()
            .values()
            .filter(|e| e.bound)
            .map(|e| {
                json!({
                    "appid": appid,
                    "merchant_entity_id": e.entity_id,
                    "industry_code": role::INDUSTRY_CODE,
                    "industry_role": e.industry_role.unwrap_or(role::INSTITUTION),
                })
            })
            .collect();
        let mut out = Map::new();
        out.insert("bind_info_list".into(), Value::Array(list));
        out
    }

    /// `get_appid_auth`: the entity's authorisation of the app, under `data` (§9.2).
    fn appid_auth(&self, appid: &str, body: &Map<String, Value>, asked: &mut Asked) -> RoleResult {
        let partner = partner(body)?;
        asked.partner_entity_id = partner.map(str::to_string);
        let entity_id = required_str(body, "merchant_entity_id")?;
        asked.entity_id = Some(entity_id.to_string());
        let industry_role = required_int(body, "merchant_industry_role")?;
        asked.industry_role = Some(industry_role);
        if industry_role != role::TEACHER && industry_role != role::INSTITUTION {
            return Err(param(
                "merchant_industry_role must be 1 (teacher) or 2 (institution)",
            ));
        }
        let Some(seed) = self.roles.resolve(entity_id, partner)? else {
            return Err((
                role::ERR_NOT_AUTHORISED,
                format!("merchant_entity_id {entity_id} has not authorised app {appid}"),
            ));
        };
        check_role(&seed, industry_role)?;
        let letter = |online: bool| {
            let show = (seed.auth_status == role::PASSED) == online;
            if show {
                json!({
                    "audit_taskid": format!("AppidBind_{}", seed.entity_id),
                    "audit_status": seed.auth_status,
                    "audit_reason": seed.auth_reason,
                    "expire_time": role::FAR_EXPIRY,
                    "qualifications": [],
                })
            } else {
                json!({})
            }
        };
        let mut out = Map::new();
        out.insert(
            "data".into(),
            json!({
                "appid": appid,
                "auth_status": seed.auth_status,
                "auth_reason": seed.auth_reason,
                "online_auth_letter": letter(true),
                "audit_auth_letter": letter(false),
                "scope": seed.scope,
                "nick": seed.entity_id,
                "icon": "",
                "desc": "",
            }),
        );
        Ok(out)
    }

    /// `get_class_auth`: the entity's qualification for the category asked (§9.2).
    fn class_auth(&self, body: &Map<String, Value>, asked: &mut Asked) -> RoleResult {
        let partner = partner(body)?;
        asked.partner_entity_id = partner.map(str::to_string);
        let entity_id = required_str(body, "merchant_entity_id")?;
        asked.entity_id = Some(entity_id.to_string());
        let industry_role = required_int(body, "industry_role")?;
        asked.industry_role = Some(industry_role);
        if required_int(body, "industry_code")? != role::INDUSTRY_CODE {
            return Err(param(format!(
                "industry_code must be {} (泛知识)",
                role::INDUSTRY_CODE
            )));
        }
        let class = body
            .get("industry_class")
            .and_then(Value::as_object)
            .ok_or_else(|| param("industry_class is required"))?;
        let first = required_int(class, "first_class")
            .map_err(|_| param("industry_class.first_class must be an integer"))?;
        let second = required_int(class, "second_class")
            .map_err(|_| param("industry_class.second_class must be an integer"))?;
        asked.first_class = Some(first);
        asked.second_class = Some(second);
        let mut list = Vec::new();
        if let Some(seed) = self.roles.resolve(entity_id, partner)? {
            check_role(&seed, industry_role)?;
            if let Some(q) = seed.qualification(first, second) {
                list.push(json!({
                    "industry_code": role::INDUSTRY_CODE,
                    "industry_class": {"first_class": first, "second_class": second, "third_class": 0},
                    "industry_role": industry_role,
                    "qualifications": [],
                    "institution": {},
                    "partner": {},
                    "online_qualification": qualification_json(Some(&q), true),
                    "audit_qualification": qualification_json(Some(&q), false),
                }));
            }
        }
        let mut out = Map::new();
        out.insert("class_auths".into(), Value::Array(list));
        Ok(out)
    }

    /// Adds or replaces entities, persisted with the rest of the platform's data.
    pub fn seed_entities(&self, seeds: &[EntitySeed]) -> Result<(), String> {
        for seed in seeds {
            if seed.entity_id.trim().is_empty() {
                return Err("entity_id must not be empty".into());
            }
        }
        let rows: Vec<_> = seeds
            .iter()
            .map(|seed| {
                let json = serde_json::to_string(seed).expect("seeds serialize");
                (ROW_KIND, seed.entity_id.clone(), Some(json))
            })
            .collect();
        self.lock().persist(&rows).map_err(|e| e.1)?;
        let mut entities = self.roles.entities();
        for seed in seeds {
            entities.insert(seed.entity_id.clone(), seed.clone());
        }
        Ok(())
    }

    /// Every seeded entity.
    pub fn entities(&self) -> Vec<EntitySeed> {
        self.roles.entities().values().cloned().collect()
    }

    /// The role calls so far.
    pub fn role_calls(&self) -> Vec<RoleCall> {
        self.roles.calls().clone()
    }
}

fn check_role(seed: &EntitySeed, industry_role: i64) -> Result<(), (i64, String)> {
    match seed.industry_role {
        Some(r) if r != industry_role => Err((
            role::ERR_NO_SUCH_ROLE,
            format!(
                "{} holds the {} role, not the {} role",
                seed.entity_id,
                role_name(r),
                role_name(industry_role)
            ),
        )),
        _ => Ok(()),
    }
}

/// `POST /auth/entity/{name}`, with faults and the call log like the course library.
pub fn api_routes() -> Router<Arc<Shared>> {
    Router::new().route("/auth/entity/{name}", post(role_api))
}

async fn role_api(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = name.clone();
    super::server::with_faults(s, endpoint, move |s| s.role_call(&name, &headers, &body)).await
}

/// `GET /__emulator/entities` (every seeded entity), `POST /__emulator/entities` (one seed or
/// an array of them; answers the full list), `GET /__emulator/entities/calls` (the role calls).
pub fn admin_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/entities",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.entities()) }).post(seed),
        )
        .route(
            "/entities/calls",
            get(|State(s): State<Arc<Shared>>| async move { Json(s.role_calls()) }),
        )
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(EntitySeed),
    Many(Vec<EntitySeed>),
}

async fn seed(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let seeds = match serde_json::from_slice::<OneOrMany>(&body) {
        Ok(OneOrMany::One(seed)) => vec![seed],
        Ok(OneOrMany::Many(seeds)) => seeds,
        Err(e) => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("not an entity seed or a list of them: {e}")})),
            )
                .into_response();
        }
    };
    match s.seed_entities(&seeds) {
        Ok(()) => Json(s.entities()).into_response(),
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": e})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_options() {
        let s = EntitySeed::parse_arg("E_1=usable").unwrap();
        assert_eq!(s, EntitySeed::usable("E_1"));
        let s = EntitySeed::parse_arg("E_2=pay-only,role=teacher,partner=E_P,bound").unwrap();
        assert_eq!(s.scope, role::SCOPE_PAY);
        assert_eq!(s.industry_role, Some(role::TEACHER));
        assert_eq!(s.partner_entity_id.as_deref(), Some("E_P"));
        assert!(s.bound);
        assert_eq!(
            EntitySeed::parse_arg("E_3=auth-in-review")
                .unwrap()
                .auth_status,
            role::REVIEWING
        );
        assert_eq!(
            EntitySeed::parse_arg("E_4=unqualified")
                .unwrap()
                .qualifications,
            Some(vec![])
        );
        for bad in [
            "E_1",
            "=usable",
            "E_1=great",
            "E_1=usable,role=king",
            "E_1=usable,x",
        ] {
            assert!(EntitySeed::parse_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_seed_defaults_to_usable() {
        let s: EntitySeed = serde_json::from_str(r#"{"entity_id":"E_1"}"#).unwrap();
        assert_eq!(s, EntitySeed::usable("E_1"));
        assert_eq!(s.problem(role::TEACHER, 10000, 10300), None);
    }

    #[test]
    fn problems_name_what_is_missing() {
        let mut s = EntitySeed::usable("E_1");
        s.auth_status = role::REVIEWING;
        assert_eq!(
            s.problem(role::TEACHER, 10000, 10300).unwrap(),
            "teacher E_1 has not authorised this app (auth_status 1)"
        );
        s.auth_status = role::PASSED;
        s.scope = role::SCOPE_PAY;
        assert!(
            s.problem(role::TEACHER, 10000, 10300)
                .unwrap()
                .contains("course-creation scope")
        );
        s.scope = 3;
        s.qualifications = Some(vec![ClassQualification {
            first_class: 10000,
            second_class: 10100,
            audit_status: role::PASSED,
            audit_reason: String::new(),
            expire_time: None,
        }]);
        assert_eq!(s.problem(role::INSTITUTION, 10000, 10100), None);
        assert_eq!(
            s.problem(role::INSTITUTION, 10000, 10300).unwrap(),
            "institution E_1 has no qualification for category 10000/10300"
        );
        s.industry_role = Some(role::TEACHER);
        assert!(
            s.problem(role::INSTITUTION, 10000, 10100)
                .unwrap()
                .contains("does not hold the institution role")
        );
    }
}
