//! Roles: who may publish (PRODUCT.md "Roles: who may publish", platform-api.md §9).
//!
//! A course names its teacher (`teacher_id`, industry role 1) and/or its institution
//! (`institution_id`, role 2). The platform accepts it only from an entity that authorised this
//! app to create courses and holds an approved qualification for the course's category; the
//! **preflight** asks the role system about every entity the courses name before anything is
//! sent, and withholds (blocks) a course whose entity may not publish it, so that it does not fail
//! days later at the platform's audit. [`usable`] is the one rule.
//!
//! [`preflight`] asks each entity once (`get_appid_auth`) and each (entity, category) pair once
//! (`get_class_auth`), all at once within the client's concurrency and rate limit. Read calls
//! only; the answers are kept in the returned [`Preflight`] for the rest of the run.
//!
//! Decisions where the documents are silent:
//! - A course that names both a teacher and an institution is checked for both, and blocked
//!   when either may not publish it: which of the two the platform checks is not documented [?],
//!   and a course sent on the wrong guess fails days later.
//! - Only courses whose payload is sent for audit are checked (`add`, `add` again, `modify`). A
//!   path-only change (`modify_no_audit`) and a listing change are not: they submit no content,
//!   and a delist must stay possible whatever the entity's state.
//! - An operating partner (`[app] partner_entity_id`) is sent as `partner_entity_id` in both
//!   calls; the entity asked about is still the course's teacher or institution.
//! - An entity whose answer could not be had (network, 5xx after the retries) blocks its courses
//!   ("could not be checked"): nothing unchecked is sent. A refused token or a client that
//!   cannot be built is an error of the whole run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::catalog::Course;
use crate::plan::{Blocked, Plan, Send};
use crate::platform::facts::roles::{self as facts, industry_role, scope, status};
use crate::platform::roles::{EntityQuery, wire};
use crate::platform::{Client, PlatformError};
use crate::settings::{ENV_ACCESS_TOKEN, ENV_APP_SECRET, Environment, Settings};

/// The role a course names an entity in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `teacher_id`: 老师, industry role 1.
    Teacher,
    /// `institution_id`: 机构, industry role 2.
    Institution,
}

impl Role {
    /// `industry_role` / `merchant_industry_role` (platform-api.md §9.1).
    pub fn code(self) -> i64 {
        match self {
            Role::Teacher => industry_role::TEACHER,
            Role::Institution => industry_role::INSTITUTION,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Teacher => "teacher",
            Role::Institution => "institution",
        }
    }
}

/// A teacher or institution as a course names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entity {
    pub role: Role,
    pub id: String,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role.name(), self.id)
    }
}

/// A course's category: `(first_class, second_class)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Category {
    pub first_class: i64,
    pub second_class: i64,
}

impl Category {
    /// The names known offline (platform-api.md §10), e.g. "少儿成长 / 少儿编程"; `None` for a
    /// pair the table does not hold or names no name for.
    pub fn name(self) -> Option<String> {
        crate::catalog::categories::KNOWN
            .iter()
            .find(|row| row.0 == self.first_class && row.1 == self.second_class)
            .and_then(|row| Some(format!("{} / {}", row.2?, row.3?)))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first_class, self.second_class)?;
        match self.name() {
            Some(name) => write!(f, " ({name})"),
            None => Ok(()),
        }
    }
}

/// One course as the preflight sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub course_id: String,
    pub title: String,
    /// The teacher and/or institution it names.
    pub entities: Vec<Entity>,
    pub category: Category,
}

impl Subject {
    pub fn of_course(course: &Course) -> Subject {
        Subject {
            course_id: course.course_id.clone(),
            title: course.title.trim().to_string(),
            entities: entities(
                course.params.teacher_id.as_deref(),
                course.params.institution_id.as_deref(),
            ),
            category: Category {
                first_class: course.first_class,
                second_class: course.second_class,
            },
        }
    }

    /// From a plan's canonical payload (`first_class`, `second_class`, `course.teacher_id`,
    /// `course.institution_id`; see `plan::canonical`).
    pub fn of_payload(course_id: &str, title: &str, payload: &Value) -> Subject {
        let params = &payload["course"];
        Subject {
            course_id: course_id.to_string(),
            title: title.to_string(),
            entities: entities(
                params["teacher_id"].as_str(),
                params["institution_id"].as_str(),
            ),
            category: Category {
                first_class: payload["first_class"].as_i64().unwrap_or_default(),
                second_class: payload["second_class"].as_i64().unwrap_or_default(),
            },
        }
    }
}

fn query<'a>(partner: Option<&'a str>, e: &'a Entity) -> EntityQuery<'a> {
    EntityQuery {
        partner_entity_id: partner,
        entity_id: &e.id,
        industry_role: e.role.code(),
    }
}

fn entities(teacher: Option<&str>, institution: Option<&str>) -> Vec<Entity> {
    [(Role::Teacher, teacher), (Role::Institution, institution)]
        .into_iter()
        .filter_map(|(role, id)| {
            let id = id?.trim();
            (!id.is_empty()).then(|| Entity {
                role,
                id: id.to_string(),
            })
        })
        .collect()
}

/// The courses of a plan the preflight is about: those whose payload goes to audit.
pub fn subjects_of_plan(plan: &Plan) -> Vec<Subject> {
    plan.courses
        .iter()
        .filter(|c| matches!(c.send, Some(Send::Add | Send::AddAgain | Send::Modify)))
        .filter_map(|c| {
            c.payload
                .as_ref()
                .map(|p| Subject::of_payload(&c.course_id, &c.title, &p.value()))
        })
        .collect()
}

/// Why there is no answer about an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupError {
    /// The platform answered, with an error (`err.err_code`, `err_no`): it refused to tell.
    /// Otherwise the call failed (network, HTTP, unreadable answer) after its retries.
    pub refused: bool,
    pub message: String,
}

impl LookupError {
    pub fn of(e: &PlatformError) -> LookupError {
        LookupError {
            refused: matches!(e, PlatformError::Api { .. }),
            message: e.to_string(),
        }
    }
}

/// A qualification or authorisation letter and its audit, as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audited {
    /// 1 in review, 2 passed, 3 failed.
    pub audit_status: Option<i64>,
    pub audit_reason: String,
    pub expire_time: Option<String>,
}

impl Audited {
    fn of(q: Option<&wire::Qualification>) -> Option<Audited> {
        let q = q.filter(|q| !q.is_empty())?;
        Some(Audited {
            audit_status: q.audit_status,
            audit_reason: q.audit_reason.trim().to_string(),
            expire_time: q
                .expire_time
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }
}

/// An entity's authorisation of the app (`get_appid_auth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorisation {
    /// 1 in review, 2 passed, 3 failed.
    pub auth_status: Option<i64>,
    /// Bits: 1 take payments, 2 create courses.
    pub scope: Option<i64>,
    pub auth_reason: String,
    /// The authorisation letter in force.
    pub letter: Option<Audited>,
    /// The latest letter submitted for review.
    pub letter_in_review: Option<Audited>,
}

impl Authorisation {
    fn of(data: Option<wire::AppidAuth>) -> Authorisation {
        let data = data.unwrap_or_default();
        Authorisation {
            auth_status: data.auth_status,
            scope: data.scope,
            auth_reason: data.auth_reason.trim().to_string(),
            letter: Audited::of(data.online_auth_letter.as_ref()),
            letter_in_review: Audited::of(data.audit_auth_letter.as_ref()),
        }
    }

    pub fn can_create_courses(&self) -> bool {
        self.scope.is_some_and(|s| s & scope::CREATE_COURSES != 0)
    }

    pub fn can_take_payments(&self) -> bool {
        self.scope.is_some_and(|s| s & scope::PAY != 0)
    }
}

/// An entity's qualification for one category (`get_class_auth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Qualification {
    /// The qualification in force (线上生效), when there is one.
    pub online: Option<Audited>,
    /// The latest one submitted (最近审核中), when there is one.
    pub in_review: Option<Audited>,
}

impl Qualification {
    /// The entries of a `get_class_auth` answer that are about `category` and `role` (an entry
    /// that does not say which category or role is taken as the one asked about), merged: the
    /// first approved online qualification wins, else the first one at all.
    fn of(auths: &[wire::ClassAuth], role: Role, category: Category) -> Option<Qualification> {
        let matching: Vec<&wire::ClassAuth> = auths
            .iter()
            .filter(|a| {
                a.industry_class.is_none_or(|c| {
                    c.first_class == Some(category.first_class)
                        && c.second_class == Some(category.second_class)
                })
            })
            .filter(|a| a.industry_role.is_none_or(|r| r == role.code()))
            .collect();
        let views: Vec<Qualification> = matching
            .into_iter()
            .map(|a| Qualification {
                online: Audited::of(a.online_qualification.as_ref()),
                in_review: Audited::of(a.audit_qualification.as_ref()),
            })
            .collect();
        let approved = views.iter().find(|q| {
            q.online
                .as_ref()
                .is_some_and(|o| o.audit_status == Some(status::PASSED))
        });
        approved.or(views.first()).cloned()
    }
}

/// The one rule of who may publish: why `entity` may not publish a course of `category`, or
/// an empty list when it may (PRODUCT.md "Roles: who may publish").
///
/// The facts it rests on (platform-api.md §9.1, §9.2, tags as there):
/// - authorisation: `get_appid_auth.data.auth_status` 2 = passed [C], and `scope` bit 2 =
///   "may create courses (upload to the course library)" [C];
/// - qualification: `get_class_auth.class_auths[].online_qualification` is the qualification
///   in force ("线上生效", SKIT) and `audit_qualification` the latest submitted [C]; *approved*
///   means an online qualification with `audit_status` 2 [C] whose `expire_time` (`yyyy-MM-dd`)
///   is not before `today` (China time) — that an expired one no longer counts is [I]; a value
///   that is not a date ("长期有效", empty) never expires;
/// - the authorisation letter in force (`online_auth_letter`) is held to the same expiry [I].
pub fn usable(
    entity: &Entity,
    authorisation: &Result<Authorisation, LookupError>,
    qualification: &Result<Option<Qualification>, LookupError>,
    category: Category,
    today: Date,
) -> Vec<String> {
    let mut problems = Vec::new();
    match authorisation {
        Err(e) if e.refused => problems.push(format!(
            "{entity} has not authorised this app to create courses (the platform reports no authorisation: {})",
            e.message
        )),
        Err(e) => problems.push(format!(
            "{entity}'s authorisation of this app could not be checked ({})",
            e.message
        )),
        Ok(a) => match a.auth_status {
            Some(status::PASSED) if !a.can_create_courses() => problems.push(format!(
                "{entity} authorised this app without the course-creation scope (scope {})",
                a.scope.map_or_else(|| "missing".to_string(), |s| s.to_string())
            )),
            Some(status::PASSED) => {
                if let Some(day) = expired(a.letter.as_ref(), today) {
                    problems.push(format!(
                        "{entity}'s authorisation letter for this app expired on {day}"
                    ));
                }
            }
            Some(status::REVIEWING) => problems.push(format!(
                "{entity} has not authorised this app to create courses (auth_status 1, in review)"
            )),
            Some(status::FAILED) => problems.push(format!(
                "{entity} has not authorised this app to create courses (auth_status 3, rejected{})",
                reason_suffix(&a.auth_reason)
            )),
            Some(other) => problems.push(format!(
                "{entity} has not authorised this app to create courses (auth_status {other})"
            )),
            None => problems.push(format!(
                "{entity} has not authorised this app to create courses (the answer has no auth_status)"
            )),
        },
    }
    match qualification {
        Err(e) => problems.push(format!(
            "{entity}'s qualification for category {category} could not be checked ({})",
            e.message
        )),
        Ok(None) => problems.push(format!(
            "{entity} holds no qualification for category {category}"
        )),
        Ok(Some(q)) => {
            let online = q
                .online
                .as_ref()
                .filter(|o| o.audit_status == Some(status::PASSED));
            match (online, q.in_review.as_ref()) {
                (Some(o), _) => {
                    if let Some(day) = expired(Some(o), today) {
                        problems.push(format!(
                            "{entity}'s qualification for category {category} expired on {day}"
                        ));
                    }
                }
                (None, Some(r)) if r.audit_status == Some(status::REVIEWING) => {
                    problems.push(format!(
                        "{entity}'s qualification for category {category} is in review (audit_status 1)"
                    ));
                }
                (None, Some(r)) if r.audit_status == Some(status::FAILED) => {
                    problems.push(format!(
                        "{entity}'s qualification for category {category} was rejected (audit_status 3{})",
                        reason_suffix(&r.audit_reason)
                    ));
                }
                _ => problems.push(format!(
                    "{entity} holds no approved qualification for category {category}"
                )),
            }
        }
    }
    problems
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

/// The day `audited` expired, when its `expire_time` is a date before `today`.
fn expired(audited: Option<&Audited>, today: Date) -> Option<Date> {
    let text = audited?.expire_time.as_deref()?;
    if text == facts::NEVER_EXPIRES {
        return None;
    }
    let format = time::format_description::parse_borrowed::<2>(facts::EXPIRE_TIME_FORMAT)
        .expect("a valid format description");
    let day = Date::parse(text, &format).ok()?;
    (day < today).then_some(day)
}

/// Today in China time (+08:00), the platform's calendar.
pub fn today() -> Date {
    let china = UtcOffset::from_hms(8, 0, 0).expect("a valid offset");
    OffsetDateTime::now_utc().to_offset(china).date()
}

/// What the preflight learned about one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityReport {
    pub entity: Entity,
    pub authorisation: Result<Authorisation, LookupError>,
    /// Per category its courses use: the qualification (`None`: none for that category).
    pub qualifications: BTreeMap<Category, Result<Option<Qualification>, LookupError>>,
    /// Per category: why the entity may not publish a course of it ([`usable`]); empty when it
    /// may.
    pub problems: BTreeMap<Category, Vec<String>>,
    /// The courses that name it, sorted.
    pub courses: Vec<String>,
}

impl EntityReport {
    /// Every problem, once each, in category order.
    pub fn all_problems(&self) -> Vec<&str> {
        let mut seen = BTreeSet::new();
        self.problems
            .values()
            .flatten()
            .map(String::as_str)
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// Usable for every category its courses use.
    pub fn is_usable(&self) -> bool {
        self.problems.values().all(Vec::is_empty)
    }

    /// Some answer could not be had (not a refusal: a failure).
    pub fn is_unchecked(&self) -> bool {
        let failed = |e: &LookupError| !e.refused;
        self.authorisation.as_ref().err().is_some_and(failed)
            || self
                .qualifications
                .values()
                .any(|q| q.as_ref().err().is_some_and(failed))
    }
}

/// The preflight's answers, kept for the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    /// Every entity asked about, sorted.
    pub entities: Vec<EntityReport>,
    /// course_id → why it may not be sent.
    pub blocked: BTreeMap<String, String>,
}

/// Asks the role system about every entity `subjects` name and decides which courses are
/// blocked. `partner` is `[app] partner_entity_id`. Errors only when no call can work (the
/// token refused, the client misconfigured); an entity that could not be asked blocks its
/// courses instead.
pub async fn preflight(
    client: &Client,
    partner: Option<&str>,
    subjects: &[Subject],
    today: Date,
) -> Result<Preflight, PlatformError> {
    let mut uses: BTreeMap<&Entity, (BTreeSet<Category>, BTreeSet<&str>)> = BTreeMap::new();
    for s in subjects {
        for e in &s.entities {
            let (categories, courses) = uses.entry(e).or_default();
            categories.insert(s.category);
            courses.insert(&s.course_id);
        }
    }
    let auths = futures::future::join_all(
        uses.keys()
            .map(|e| async move { client.get_appid_auth(query(partner, e)).await }),
    );
    let pairs: Vec<(&Entity, Category)> = uses
        .iter()
        .flat_map(|(e, (categories, _))| categories.iter().map(move |c| (*e, *c)))
        .collect();
    let classes = futures::future::join_all(pairs.iter().map(|(e, c)| async move {
        client
            .get_class_auth(query(partner, e), c.first_class, c.second_class)
            .await
    }));
    let (auths, classes) = futures::future::join(auths, classes).await;
    for e in auths
        .iter()
        .filter_map(|r| r.as_ref().err())
        .chain(classes.iter().filter_map(|r| r.as_ref().err()))
    {
        if matches!(
            e,
            PlatformError::Token { .. } | PlatformError::Config { .. }
        ) {
            return Err(e.clone());
        }
    }
    let mut qualifications: BTreeMap<&Entity, BTreeMap<Category, _>> = BTreeMap::new();
    for ((entity, category), answer) in pairs.iter().zip(classes) {
        let q = answer
            .map(|auths| Qualification::of(&auths, entity.role, *category))
            .map_err(|e| LookupError::of(&e));
        qualifications
            .entry(*entity)
            .or_default()
            .insert(*category, q);
    }
    let mut report = Preflight::default();
    for ((entity, (_, courses)), auth) in uses.iter().zip(auths) {
        let authorisation = auth.map(Authorisation::of).map_err(|e| LookupError::of(&e));
        let quals = qualifications.remove(entity).unwrap_or_default();
        let problems = quals
            .iter()
            .map(|(category, q)| {
                (
                    *category,
                    usable(entity, &authorisation, q, *category, today),
                )
            })
            .collect();
        report.entities.push(EntityReport {
            entity: (*entity).clone(),
            authorisation,
            qualifications: quals,
            problems,
            courses: courses.iter().map(|c| (*c).to_string()).collect(),
        });
    }
    for s in subjects {
        let reasons: Vec<&str> = s
            .entities
            .iter()
            .filter_map(|e| report.entities.iter().find(|r| &r.entity == e))
            .filter_map(|r| r.problems.get(&s.category))
            .flatten()
            .map(String::as_str)
            .collect();
        if !reasons.is_empty() {
            report
                .blocked
                .insert(s.course_id.clone(), reasons.join("; "));
        }
    }
    Ok(report)
}

/// Takes the blocked courses out of `plan` (their changes, their share of the summary, the
/// uploads only they needed) and records them in `plan.blocked` with their reasons.
pub fn withhold(plan: &mut Plan, blocked: &BTreeMap<String, String>) {
    let (kept, out): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.courses)
        .into_iter()
        .partition(|c| !blocked.contains_key(&c.course_id) || c.removed);
    plan.courses = kept;
    for c in out {
        let s = &mut plan.summary;
        match c.send {
            Some(Send::Add | Send::AddAgain) => s.add = s.add.saturating_sub(1),
            Some(Send::Modify) => s.modify = s.modify.saturating_sub(1),
            Some(Send::ModifyNoAudit) => s.path_only = s.path_only.saturating_sub(1),
            None => {}
        }
        if c.listing.is_some() {
            s.listing = s.listing.saturating_sub(1);
        }
        for u in &mut plan.uploads {
            u.needed_by.retain(|id| *id != c.course_id);
        }
        plan.blocked.push(Blocked {
            reason: blocked.get(&c.course_id).cloned().unwrap_or_default(),
            course_id: c.course_id,
            title: c.title,
        });
    }
    plan.uploads.retain(|u| !u.needed_by.is_empty());
    plan.summary.uploads = plan.uploads.len();
    plan.blocked.sort_by(|a, b| a.course_id.cmp(&b.course_id));
}

/// Why the preflight cannot reach the platform with these settings, or `None` when it can: the
/// local platform (`environment = "local"` without a `base_url`), or credentials set.
pub fn unreachable(settings: &Settings) -> Option<String> {
    let local = settings.environment == Environment::Local && settings.base_url.is_none();
    let credentials = settings.app_secret.is_some() || settings.access_token.is_some();
    (!local && !credentials).then(|| {
        format!(
            "no credentials ({ENV_APP_SECRET} or {ENV_ACCESS_TOKEN}) to ask the platform about roles"
        )
    })
}

/// The entity ids `subjects` name, sorted, once each.
pub fn entity_ids(subjects: &[Subject]) -> Vec<String> {
    let ids: BTreeSet<&str> = subjects
        .iter()
        .flat_map(|s| s.entities.iter().map(|e| e.id.as_str()))
        .collect();
    ids.into_iter().map(str::to_string).collect()
}

/// The preflight over a plan's courses with `client`: the blocked ones are withheld from it
/// ([`withhold`]). Nothing is asked when no course of the plan sends content.
pub async fn check_plan_with(
    client: &Client,
    partner: Option<&str>,
    plan: &mut Plan,
) -> Result<(), PlatformError> {
    let subjects = subjects_of_plan(plan);
    if subjects.is_empty() {
        return Ok(());
    }
    let found = preflight(client, partner, &subjects, today()).await?;
    withhold(plan, &found.blocked);
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unnecessary_wraps,
    reason = "helpers shaped like the values they stand for"
)]
mod tests {
    use super::*;

    fn teacher(id: &str) -> Entity {
        Entity {
            role: Role::Teacher,
            id: id.into(),
        }
    }

    const CAT: Category = Category {
        first_class: 10000,
        second_class: 10300,
    };

    fn day(text: &str) -> Date {
        let format =
            time::format_description::parse_borrowed::<2>(facts::EXPIRE_TIME_FORMAT).unwrap();
        Date::parse(text, &format).unwrap()
    }

    fn auth(status: i64, scope: i64) -> Result<Authorisation, LookupError> {
        Ok(Authorisation {
            auth_status: Some(status),
            scope: Some(scope),
            auth_reason: String::new(),
            letter: None,
            letter_in_review: None,
        })
    }

    fn audited(status: i64, expire: Option<&str>) -> Option<Audited> {
        Some(Audited {
            audit_status: Some(status),
            audit_reason: String::new(),
            expire_time: expire.map(str::to_string),
        })
    }

    fn qualified(expire: Option<&str>) -> Result<Option<Qualification>, LookupError> {
        Ok(Some(Qualification {
            online: audited(2, expire),
            in_review: None,
        }))
    }

    #[test]
    fn usable_needs_passed_authorisation_scope_2_and_an_approved_online_qualification() {
        let e = teacher("E_1");
        let today = day("2026-12-01");
        assert!(usable(&e, &auth(2, 3), &qualified(Some("2033-01-01")), CAT, today).is_empty());
        assert!(usable(&e, &auth(2, 2), &qualified(Some("长期有效")), CAT, today).is_empty());
        assert_eq!(
            usable(&e, &auth(1, 3), &qualified(None), CAT, today),
            [
                "teacher E_1 has not authorised this app to create courses (auth_status 1, in review)"
            ]
        );
        assert_eq!(
            usable(&e, &auth(2, 1), &qualified(None), CAT, today),
            ["teacher E_1 authorised this app without the course-creation scope (scope 1)"]
        );
        assert_eq!(
            usable(&e, &auth(2, 3), &Ok(None), CAT, today),
            ["teacher E_1 holds no qualification for category 10000/10300 (少儿成长 / 少儿编程)"]
        );
        assert_eq!(
            usable(&e, &auth(2, 3), &qualified(Some("2026-11-30")), CAT, today),
            [
                "teacher E_1's qualification for category 10000/10300 (少儿成长 / 少儿编程) expired on 2026-11-30"
            ]
        );
        let in_review = Ok(Some(Qualification {
            online: None,
            in_review: audited(1, None),
        }));
        assert!(usable(&e, &auth(2, 3), &in_review, CAT, today)[0].contains("is in review"));
        let refused = Err(LookupError {
            refused: true,
            message: "get_appid_auth: platform error 20001: no".into(),
        });
        let problems = usable(&e, &refused, &qualified(None), CAT, today);
        assert!(problems[0].contains("has not authorised"), "{problems:?}");
        let failed = Err(LookupError {
            refused: false,
            message: "get_class_auth: HTTP 503".into(),
        });
        let problems = usable(&e, &auth(2, 3), &failed, CAT, today);
        assert!(problems[0].contains("could not be checked"), "{problems:?}");
    }

    #[test]
    fn qualification_picks_the_entry_for_the_category_and_role() {
        let entry = |first, second, role, status| wire::ClassAuth {
            industry_code: Some(10000),
            industry_class: Some(wire::ClassCodes {
                first_class: Some(first),
                second_class: Some(second),
            }),
            industry_role: Some(role),
            online_qualification: Some(wire::Qualification {
                audit_status: Some(status),
                ..wire::Qualification::default()
            }),
            audit_qualification: Some(wire::Qualification::default()),
        };
        let auths = [
            entry(30000, 30100, 1, 2),
            entry(10000, 10300, 2, 2),
            entry(10000, 10300, 1, 3),
        ];
        let q = Qualification::of(&auths, Role::Teacher, CAT).unwrap();
        assert_eq!(q.online.unwrap().audit_status, Some(3));
        assert!(q.in_review.is_none(), "{{}} is no qualification in review");
        let q = Qualification::of(&auths, Role::Institution, CAT).unwrap();
        assert_eq!(q.online.unwrap().audit_status, Some(2));
        assert!(
            Qualification::of(&auths[..1], Role::Teacher, CAT).is_none(),
            "another category's entry does not count"
        );
    }

    #[test]
    fn subjects_from_payloads() {
        let payload = serde_json::json!({"first_class": 10000, "second_class": 10300,
            "course": {"teacher_id": " E_1 ", "institution_id": "E_2"}});
        let s = Subject::of_payload("py", "Py", &payload);
        assert_eq!(
            s.entities,
            [
                teacher("E_1"),
                Entity {
                    role: Role::Institution,
                    id: "E_2".into()
                }
            ]
        );
        assert_eq!(s.category, CAT);
    }
}
