//! `coursesync status`: per course, where it stands on the platform as the state last heard it
//! (product id, audit, reject reason, listing, last apply). No network; the state is opened
//! read-only and a missing state file is an empty list. `refresh` updates what this shows.

use std::fmt::Write as _;
use std::io::Write as _;

use unicode_width::UnicodeWidthStr;

use crate::exit;
use crate::settings::Settings;
use crate::state::{Audit, CourseRecord, format_ms};

/// Options of `coursesync status`.
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
    let courses = crate::ops::status::status(settings)?;
    let text = match args.format {
        Format::Json => json(&courses),
        Format::Human => human(&courses),
    };
    anstream::stdout().write_all(text.as_bytes())?;
    Ok(exit::OK)
}

/// `{"format_version": 1, "courses": [...]}` as PRODUCT.md "status --format json" fixes it, in
/// the order given (by course_id from the state).
pub fn json(courses: &[CourseRecord]) -> String {
    let courses: Vec<_> = courses
        .iter()
        .map(|c| {
            serde_json::json!({
                "course_id": c.course_id,
                "title": c.title,
                "product_id": c.product_id,
                "audit": c.audit.as_str(),
                "reject_reason": c.reject_reason,
                "listed": c.listed,
                "last_applied": c.last_applied_at.map(format_ms),
            })
        })
        .collect();
    let doc = serde_json::json!({"format_version": 1, "courses": courses});
    serde_json::to_string_pretty(&doc).expect("status JSON serializes") + "\n"
}

fn audit_words(audit: Audit) -> &'static str {
    match audit {
        Audit::NotSubmitted => "not submitted",
        Audit::InReview => "in review",
        Audit::Approved => "approved",
        Audit::Rejected => "rejected",
    }
}

/// An aligned table; a rejected course's reason on the line below it.
pub fn human(courses: &[CourseRecord]) -> String {
    if courses.is_empty() {
        return "No courses in the state yet.\n".into();
    }
    let header = [
        "COURSE_ID",
        "TITLE",
        "PRODUCT_ID",
        "AUDIT",
        "LISTED",
        "LAST APPLIED",
    ]
    .map(String::from);
    let rows: Vec<[String; 6]> = courses
        .iter()
        .map(|c| {
            [
                c.course_id.clone(),
                c.title.clone(),
                c.product_id.map_or_else(|| "-".into(), |p| p.to_string()),
                audit_words(c.audit).into(),
                if c.listed { "yes" } else { "no" }.into(),
                c.last_applied_at.map_or_else(|| "never".into(), format_ms),
            ]
        })
        .collect();
    let mut widths = header.each_ref().map(|h| h.width());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |row: &[String; 6]| {
        let mut text = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            text.push_str(cell);
            if i + 1 < row.len() {
                text.push_str(&" ".repeat(w - cell.width() + 2));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for (row, c) in rows.iter().zip(courses) {
        out.push_str(&line(row));
        if c.audit == Audit::Rejected {
            let reason = c.reject_reason.as_deref().unwrap_or("no reason given");
            let _ = writeln!(out, "  ↳ rejected: {reason}");
        }
    }
    let count = |a: Audit| courses.iter().filter(|c| c.audit == a).count();
    let _ = writeln!(
        out,
        "{} course(s): {} approved, {} in review, {} rejected, {} not submitted",
        courses.len(),
        count(Audit::Approved),
        count(Audit::InReview),
        count(Audit::Rejected),
        count(Audit::NotSubmitted)
    );
    out
}
