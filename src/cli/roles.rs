//! `coursesync roles`: who may publish. The roles bound to the app, then every teacher and
//! institution the catalog names: its authorisation of the app, its qualification for each
//! category its courses use, the courses that use it, and why it may not publish them.
//!
//! Exit 0 when every course may be sent, 2 when some course is blocked, 1 on error (including an
//! entity the platform could not be asked about).

use std::fmt::Write as _;
use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use serde_json::{Value, json};

use crate::ops::roles::{self, RolesReport};
use crate::platform::facts::roles::{industry_role, status};
use crate::roles::{Audited, EntityReport, LookupError};
use crate::settings::Settings;

/// Version of `roles --format json`.
pub const FORMAT_VERSION: u32 = 1;

/// Options of `coursesync roles`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let report = roles::run(settings)?;
    let text = match args.format {
        Format::Human => human(&report),
        Format::Json => serde_json::to_string_pretty(&json_of(&report))? + "\n",
    };
    anstream::stdout().write_all(text.as_bytes())?;
    Ok(if report.is_incomplete() {
        crate::exit::ERROR
    } else if report.preflight.blocked.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::CHANGES
    })
}

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();

fn role_name(code: Option<i64>) -> &'static str {
    match code {
        Some(industry_role::TEACHER) => "teacher",
        Some(industry_role::INSTITUTION) => "institution",
        Some(industry_role::PARTNER) => "partner",
        _ => "role ?",
    }
}

fn status_word(code: Option<i64>) -> &'static str {
    match code {
        Some(status::REVIEWING) => "in review",
        Some(status::PASSED) => "passed",
        Some(status::FAILED) => "rejected",
        _ => "unknown",
    }
}

fn scope_words(scope: Option<i64>) -> String {
    let Some(s) = scope else {
        return "no scope in the answer".into();
    };
    let mut words = Vec::new();
    if s & crate::platform::facts::roles::scope::PAY != 0 {
        words.push("take payments");
    }
    if s & crate::platform::facts::roles::scope::CREATE_COURSES != 0 {
        words.push("create courses");
    }
    if words.is_empty() {
        format!("scope {s}")
    } else {
        format!("scope {s}: {}", words.join(", "))
    }
}

fn audited_words(a: &Audited) -> String {
    let mut text = format!(
        "{} (audit_status {})",
        status_word(a.audit_status),
        a.audit_status
            .map_or_else(|| "?".to_string(), |s| s.to_string())
    );
    if let Some(t) = &a.expire_time {
        let _ = write!(text, ", expires {t}");
    }
    if !a.audit_reason.is_empty() {
        let _ = write!(text, ", reason: {}", a.audit_reason);
    }
    text
}

fn lookup_words(e: &LookupError) -> String {
    if e.refused {
        format!("refused: {}", e.message)
    } else {
        format!("could not be asked: {}", e.message)
    }
}

/// The human form.
pub fn human(r: &RolesReport) -> String {
    let mut out = String::new();
    match &r.bound {
        Ok(list) if list.is_empty() => {
            let _ = writeln!(out, "Roles bound to app {}: none.", r.appid);
        }
        Ok(list) => {
            let _ = writeln!(out, "Roles bound to app {}:", r.appid);
            for b in list {
                let _ = writeln!(
                    out,
                    "  {} {} (industry {})",
                    role_name(b.industry_role),
                    b.merchant_entity_id,
                    b.industry_code
                        .map_or_else(|| "?".to_string(), |c| c.to_string())
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "Roles bound to app {}: {}", r.appid, lookup_words(e));
        }
    }
    if let Some(p) = &r.partner_entity_id {
        let _ = writeln!(out, "Asking as operating partner {p} (partner_entity_id).");
    }
    out.push('\n');
    if r.preflight.entities.is_empty() {
        let _ = writeln!(out, "The catalog names no teacher or institution.\n");
    }
    for e in &r.preflight.entities {
        entity_block(&mut out, e);
    }
    if !r.preflight.blocked.is_empty() {
        let _ = writeln!(
            out,
            "{BOLD}Blocked courses{BOLD:#} (apply will not send them):"
        );
        for (course, reason) in &r.preflight.blocked {
            let _ = writeln!(out, "  {RED}!{RED:#} {course} blocked: {reason}");
        }
        out.push('\n');
    }
    let usable = r
        .preflight
        .entities
        .iter()
        .filter(|e| e.is_usable())
        .count();
    let _ = writeln!(
        out,
        "{BOLD}Roles: {} entities, {usable} usable; {} courses, {} blocked.{BOLD:#}",
        r.preflight.entities.len(),
        r.courses,
        r.preflight.blocked.len()
    );
    out
}

fn entity_block(out: &mut String, e: &EntityReport) {
    let (mark, style, verdict) = if e.is_usable() {
        ('✓', GREEN, "usable")
    } else if e.is_unchecked() {
        ('?', YELLOW, "could not be checked")
    } else {
        ('✗', RED, "not usable")
    };
    let _ = writeln!(
        out,
        "{style}{mark}{style:#} {BOLD}{}{BOLD:#}: {verdict}",
        e.entity
    );
    match &e.authorisation {
        Ok(a) => {
            let mut line = format!(
                "authorisation: {} (auth_status {}), {}",
                status_word(a.auth_status),
                a.auth_status
                    .map_or_else(|| "?".to_string(), |s| s.to_string()),
                scope_words(a.scope)
            );
            if !a.auth_reason.is_empty() {
                let _ = write!(line, ", reason: {}", a.auth_reason);
            }
            if let Some(t) = a.letter.as_ref().and_then(|l| l.expire_time.as_deref()) {
                let _ = write!(line, ", letter expires {t}");
            }
            let _ = writeln!(out, "    {line}");
        }
        Err(err) => {
            let _ = writeln!(out, "    authorisation: {}", lookup_words(err));
        }
    }
    for (category, q) in &e.qualifications {
        let text = match q {
            Ok(None) => "no qualification".to_string(),
            Ok(Some(q)) => {
                let mut parts = Vec::new();
                if let Some(o) = &q.online {
                    parts.push(format!("in force: {}", audited_words(o)));
                }
                if let Some(r) = &q.in_review {
                    parts.push(format!("latest submitted: {}", audited_words(r)));
                }
                if parts.is_empty() {
                    "no qualification".to_string()
                } else {
                    parts.join("; ")
                }
            }
            Err(err) => lookup_words(err),
        };
        let _ = writeln!(out, "    category {category}: {text}");
    }
    for p in e.all_problems() {
        let _ = writeln!(out, "    {RED}!{RED:#} {p}");
    }
    let _ = writeln!(out, "    courses: {}", e.courses.join(", "));
    out.push('\n');
}

fn audited_json(a: Option<&Audited>) -> Value {
    a.map_or(Value::Null, |a| {
        json!({
            "audit_status": a.audit_status,
            "audit_reason": a.audit_reason,
            "expire_time": a.expire_time,
        })
    })
}

fn error_json(e: &LookupError) -> Value {
    json!({"refused": e.refused, "message": e.message})
}

/// The JSON form (`format_version` 1), documented in docs/commands.md.
pub fn json_of(r: &RolesReport) -> Value {
    let bound: Vec<Value> = r
        .bound
        .as_ref()
        .map(|list| {
            list.iter()
                .map(|b| {
                    json!({
                        "merchant_entity_id": b.merchant_entity_id,
                        "industry_code": b.industry_code,
                        "industry_role": b.industry_role,
                        "role": b.industry_role.map(|c| role_name(Some(c))),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let entities: Vec<Value> = r
        .preflight
        .entities
        .iter()
        .map(|e| {
            let categories: Vec<Value> = e
                .qualifications
                .iter()
                .map(|(c, q)| {
                    let problems = e.problems.get(c).cloned().unwrap_or_default();
                    let (qualification, error) = match q {
                        Ok(None) => (Value::Null, Value::Null),
                        Ok(Some(q)) => (
                            json!({
                                "online": audited_json(q.online.as_ref()),
                                "in_review": audited_json(q.in_review.as_ref()),
                            }),
                            Value::Null,
                        ),
                        Err(err) => (Value::Null, error_json(err)),
                    };
                    json!({
                        "first_class": c.first_class,
                        "second_class": c.second_class,
                        "name": c.name(),
                        "qualification": qualification,
                        "error": error,
                        "usable": problems.is_empty(),
                        "problems": problems,
                    })
                })
                .collect();
            let (authorisation, authorisation_error) = match &e.authorisation {
                Ok(a) => (
                    json!({
                        "auth_status": a.auth_status,
                        "scope": a.scope,
                        "can_create_courses": a.can_create_courses(),
                        "can_take_payments": a.can_take_payments(),
                        "auth_reason": a.auth_reason,
                        "letter": audited_json(a.letter.as_ref()),
                        "letter_in_review": audited_json(a.letter_in_review.as_ref()),
                    }),
                    Value::Null,
                ),
                Err(err) => (Value::Null, error_json(err)),
            };
            json!({
                "entity_id": e.entity.id,
                "role": e.entity.role,
                "industry_role": e.entity.role.code(),
                "usable": e.is_usable(),
                "authorisation": authorisation,
                "authorisation_error": authorisation_error,
                "categories": categories,
                "problems": e.all_problems(),
                "courses": e.courses,
            })
        })
        .collect();
    let blocked: Vec<Value> = r
        .preflight
        .blocked
        .iter()
        .map(|(course_id, reason)| json!({"course_id": course_id, "reason": reason}))
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "appid": r.appid,
        "partner_entity_id": r.partner_entity_id,
        "bound_roles": bound,
        "bound_roles_error": r.bound.as_ref().err().map(error_json),
        "entities": entities,
        "blocked": blocked,
        "summary": {
            "entities": r.preflight.entities.len(),
            "usable": r.preflight.entities.iter().filter(|e| e.is_usable()).count(),
            "courses": r.courses,
            "blocked": r.preflight.blocked.len(),
        },
    })
}
