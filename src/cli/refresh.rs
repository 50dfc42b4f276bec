//! `coursesync refresh`: pulls audit verdicts (`query_review`) and upload statuses into state.
//! Calls only read endpoints (see [`crate::ops::refresh`]).

use crate::audit::RefreshReport;
use crate::exit;
use crate::settings::Settings;
use crate::state::Audit;

/// Options of `coursesync refresh`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(settings: &Settings, _args: &Args) -> anyhow::Result<u8> {
    match crate::ops::refresh::refresh(settings, &super::events::Terminal::default())? {
        Some(report) => print_report(&mut anstream::stdout(), &report)?,
        None => println!(
            "no state yet: {} does not exist (apply creates it). Nothing changed.",
            settings.state_path.display()
        ),
    }
    Ok(exit::OK)
}

fn audit_words(audit: Audit) -> &'static str {
    match audit {
        Audit::NotSubmitted => "not submitted",
        Audit::InReview => "in review",
        Audit::Approved => "approved",
        Audit::Rejected => "rejected",
    }
}

fn upload_words(status: i64) -> String {
    match status {
        1 => "uploading".into(),
        2 => "done".into(),
        3 => "failed".into(),
        other => format!("status {other}"),
    }
}

/// One line per change (`py-101: in review → approved`), then what is still pending.
pub fn print_report(out: &mut impl std::io::Write, report: &RefreshReport) -> std::io::Result<()> {
    for c in &report.courses {
        let mut line = format!(
            "{}: {} → {}",
            c.course_id,
            audit_words(c.from),
            audit_words(c.to)
        );
        if c.to == Audit::Rejected {
            line.push_str(": ");
            line.push_str(c.reject_reason.as_deref().unwrap_or("no reason given"));
        }
        if c.listed {
            line.push_str(" (now listed)");
        }
        writeln!(out, "{line}")?;
    }
    for r in &report.resources {
        writeln!(
            out,
            "upload {} ({}): {} → {}",
            r.uri,
            r.url,
            upload_words(r.from),
            upload_words(r.to)
        )?;
    }
    for (course_id, product_id) in &report.unknown_products {
        writeln!(
            out,
            "warning: {course_id}: the platform returned no audit for product {product_id}"
        )?;
    }
    for f in &report.resource_failures {
        writeln!(out, "warning: upload {} ({}): {}", f.uri, f.url, f.message)?;
    }
    if report.is_unchanged() {
        writeln!(out, "Nothing changed.")?;
    }
    let mut pending = Vec::new();
    if report.still_in_review > 0 {
        pending.push(format!(
            "{} course(s) still in review",
            report.still_in_review
        ));
    }
    if report.still_uploading > 0 {
        pending.push(format!(
            "{} upload(s) still in progress",
            report.still_uploading
        ));
    }
    if !pending.is_empty() {
        writeln!(out, "{}.", pending.join(", "))?;
    }
    Ok(())
}
