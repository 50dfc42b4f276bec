//! `coursesync state list|show|rm|unlock`: inspect and repair the state file.
//!
//! Only `rm` and `unlock` write, and only after a typed `yes` on a terminal or `--yes`; without a
//! terminal they refuse rather than guess. `rm` takes the lock (it must not race an apply);
//! `unlock` exists precisely to break one.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Subcommand, ValueEnum};
use unicode_width::UnicodeWidthStr;

use crate::cli::Hint;
use crate::exit;
use crate::ops::state as ops;
use crate::settings::Settings;
use crate::state::{CourseRecord, format_ms};

/// Options of `coursesync state`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the courses in the state: product id, audit, listing, last apply.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Show every field of one course's record, payloads as pretty JSON.
    Show { course_id: String },
    /// Forget a course in the state only; the platform is not touched.
    Rm {
        course_id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Remove the apply lock, after showing who holds it.
    Unlock {
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    match &args.command {
        StateCommand::List { format } => list(settings, *format),
        StateCommand::Show { course_id } => show(settings, course_id),
        StateCommand::Rm { course_id, yes } => rm(settings, course_id, *yes),
        StateCommand::Unlock { yes } => unlock(settings, *yes),
    }
}

fn list(settings: &Settings, format: ListFormat) -> anyhow::Result<u8> {
    let courses = match ops::list(settings)? {
        Some(courses) => courses,
        None if format == ListFormat::Human => {
            println!(
                "no state yet: {} does not exist (apply creates it)",
                settings.state_path.display()
            );
            return Ok(exit::OK);
        }
        None => std::collections::BTreeMap::default(),
    };
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Json => {
            let courses: Vec<_> = courses
                .values()
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
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        ListFormat::Human => {
            if courses.is_empty() {
                writeln!(out, "the state holds no course")?;
                return Ok(exit::OK);
            }
            let rows: Vec<[String; 5]> = courses.values().map(list_row).collect();
            let header = ["COURSE_ID", "PRODUCT_ID", "AUDIT", "LISTED", "LAST APPLIED"];
            let mut widths = header.map(UnicodeWidthStr::width);
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.width());
                }
            }
            let header = header.map(String::from);
            for row in std::iter::once(&header).chain(&rows) {
                let mut line = String::new();
                for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                    line.push_str(cell);
                    if i + 1 < row.len() {
                        line.push_str(&" ".repeat(w - cell.width() + 2));
                    }
                }
                writeln!(out, "{}", line.trim_end())?;
            }
            writeln!(out, "{} course(s)", rows.len())?;
        }
    }
    Ok(exit::OK)
}

fn list_row(c: &CourseRecord) -> [String; 5] {
    [
        c.course_id.clone(),
        c.product_id.map_or_else(|| "-".into(), |p| p.to_string()),
        c.audit.as_str().to_string(),
        if c.listed { "yes" } else { "no" }.to_string(),
        c.last_applied_at.map_or_else(|| "never".into(), format_ms),
    ]
}

fn show(settings: &Settings, course_id: &str) -> anyhow::Result<u8> {
    let c = ops::show(settings, course_id)?;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let time = |v: Option<i64>| v.map_or_else(|| "-".into(), format_ms);
    let mut out = std::io::stdout().lock();
    writeln!(out, "course_id:        {}", c.course_id)?;
    writeln!(out, "title:            {}", c.title)?;
    writeln!(
        out,
        "product_id:       {}",
        opt(c.product_id.map(|p| p.to_string()))
    )?;
    writeln!(out, "audit:            {}", c.audit)?;
    writeln!(out, "reject_reason:    {}", opt(c.reject_reason))?;
    writeln!(out, "listed:           {}", c.listed)?;
    writeln!(out, "payload_hash:     {}", opt(c.payload_hash))?;
    writeln!(out, "approved_hash:    {}", opt(c.approved_hash))?;
    writeln!(out, "first_applied_at: {}", time(c.first_applied_at))?;
    writeln!(out, "last_applied_at:  {}", time(c.last_applied_at))?;
    writeln!(out, "updated_at:       {}", format_ms(c.updated_at))?;
    for (name, json) in [
        ("payload", c.payload),
        ("approved_payload", c.approved_payload),
        ("lesson_audits", c.lesson_audits),
    ] {
        writeln!(out, "{name}:{}", pretty_json(json.as_deref()))?;
    }
    Ok(exit::OK)
}

/// JSON pretty-printed on its own lines; text that is not JSON as it is.
fn pretty_json(json: Option<&str>) -> String {
    match json {
        None => " -".into(),
        Some(text) => {
            let pretty = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| text.to_string());
            format!("\n{pretty}")
        }
    }
}

/// Asks for a typed `yes` on a terminal; refuses without one.
fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            anyhow::anyhow!("refusing to ask for confirmation: stdin is not a terminal")
                .context(Hint("pass --yes to confirm non-interactively".into())),
        );
    }
    eprint!("{question}\nType yes to confirm: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn rm(settings: &Settings, course_id: &str, yes: bool) -> anyhow::Result<u8> {
    let removal = ops::begin_rm(settings, course_id)?;
    if let Some(h) = removal.took_over() {
        super::events::warn_takeover(h);
    }
    let on_platform = removal.course.product_id.map_or_else(
        || "it has no product id".into(),
        |p| format!("product {p} stays there as it is"),
    );
    if !confirm(
        &format!(
            "Remove course {course_id:?} from the state? The platform is untouched ({on_platform})."
        ),
        yes,
    )? {
        eprintln!("not removed");
        return Ok(exit::ERROR);
    }
    removal.remove()?;
    println!(
        "removed {course_id} from the state; the platform is untouched ({on_platform}). \
         If the catalog still has it, the next plan adds it again."
    );
    Ok(exit::OK)
}

fn unlock(settings: &Settings, yes: bool) -> anyhow::Result<u8> {
    let Some(holder) = ops::lock_holder(settings)? else {
        println!("the state is not locked");
        return Ok(exit::OK);
    };
    let liveness = if holder.is_alive() {
        "that process may still be running: unlock only if you know it is gone"
    } else {
        "that process is gone"
    };
    if !confirm(
        &format!("The state is locked by {holder}; {liveness}. Remove the lock?"),
        yes,
    )? {
        eprintln!("lock kept");
        return Ok(exit::ERROR);
    }
    match ops::force_unlock(settings)? {
        Some(was) => println!("unlocked (the lock was held by {was})"),
        None => println!("the state is not locked"),
    }
    Ok(exit::OK)
}
