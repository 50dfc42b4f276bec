//! `coursesync drift`: compares what the platform shows (`query`) with what was last approved,
//! field by field, plus the listing, and reports products the platform no longer knows. Exit 0
//! when nothing drifted, 2 when something did, 1 on error. Read-only: the state file is opened
//! read-only and only the read endpoint `query` is called. The JSON form is described in
//! [`crate::drift`].

use std::fmt::Write as _;
use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::drift::{Change, CourseDrift, Kind, Report};
use crate::exit;
use crate::plan::render::MARKDOWN_BUDGET;
use crate::settings::Settings;

/// Options of `coursesync drift`.
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
    Markdown,
}

const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let report = crate::ops::drift::drift(settings)?;
    let text = match args.format {
        Format::Human => human(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Markdown => markdown(&report),
    };
    anstream::stdout().write_all(text.as_bytes())?;
    if !report.errors.is_empty() {
        let mut stderr = anstream::stderr();
        for e in &report.errors {
            writeln!(
                stderr,
                "{RED}error{RED:#}: {}: the platform's view could not be read: {}",
                e.course_id, e.message
            )?;
        }
        return Ok(exit::ERROR);
    }
    Ok(if report.has_drift() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// A value for display: a string quoted, a file hash shortened, absence as `(none)`.
fn show(v: Option<&Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) if s.starts_with("sha256:") && s.chars().count() > 19 => {
            format!("{}…", s.chars().take(19).collect::<String>())
        }
        Some(v) => v.to_string(),
    }
}

/// `price.real_price: 4900 (applied) -> 3900 (platform)`.
pub fn change_line(c: &Change) -> String {
    format!(
        "{}: {} (applied) -> {} (platform)",
        c.path,
        show(c.applied.as_ref()),
        show(c.platform.as_ref())
    )
}

/// What an entry is, in words.
fn describe(d: &CourseDrift) -> String {
    let what = match d.kind {
        Kind::Changed => "changed on the platform",
        Kind::Listing => "listing changed on the platform",
        Kind::Missing => "unknown to the platform",
        Kind::Pending => "a modify is pending review (not drift); it changes",
    };
    let mut out = format!("product {}: {what}", d.product_id);
    if d.pending && d.kind != Kind::Pending {
        out.push_str("; a modify is also pending review");
    }
    out
}

/// The human form: per course `~ course_id`, its changes, then the summary line.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    if report.courses.is_empty() {
        let _ = writeln!(out, "No drift: the platform shows what was last approved.");
    }
    for d in &report.courses {
        let (sigil, style) = match d.kind {
            Kind::Missing => ('-', RED),
            Kind::Pending => ('…', DIM),
            _ => ('~', YELLOW),
        };
        let _ = writeln!(out, "{style}{sigil}{style:#} {BOLD}{}{BOLD:#}", d.course_id);
        let _ = writeln!(out, "    {DIM}{}{DIM:#}", describe(d));
        for c in &d.changes {
            let _ = writeln!(out, "    {style}{sigil} {}{style:#}", change_line(c));
        }
    }
    if !report.courses.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{BOLD}{}{BOLD:#}", report.summary_line());
    for line in report.not_reported_lines() {
        let _ = writeln!(out, "{DIM}{line}{DIM:#}");
    }
    out
}

fn escape_md(s: &str) -> String {
    s.replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

/// The markdown form: the summary first, each course collapsed, under [`MARKDOWN_BUDGET`].
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### coursesync drift\n");
    let _ = writeln!(out, "**{}**\n", report.summary_line());
    for line in report.not_reported_lines() {
        let _ = writeln!(out, "> {}\n", escape_md(&line));
    }
    let limit = MARKDOWN_BUDGET - 600;
    let mut shown = 0;
    for d in &report.courses {
        let sigil = match d.kind {
            Kind::Missing => '-',
            Kind::Pending => '…',
            _ => '~',
        };
        let mut block = format!(
            "<details><summary><code>{sigil} {}</code> — {}</summary>\n\n```diff\n",
            escape_md(&d.course_id),
            escape_md(&describe(d))
        );
        for c in &d.changes {
            let _ = writeln!(block, "! {}", change_line(c).replace("```", "` ` `"));
        }
        block.push_str("```\n</details>\n\n");
        if out.len() + block.len() > limit {
            break;
        }
        out.push_str(&block);
        shown += 1;
    }
    let hidden = report.courses.len() - shown;
    if hidden > 0 {
        let _ = writeln!(
            out,
            "…and {hidden} more course{} not shown here (the comment has a size limit); run `coursesync drift` for all of them.",
            if hidden == 1 { "" } else { "s" }
        );
    }
    out
}
