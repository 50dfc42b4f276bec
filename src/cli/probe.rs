//! `coursesync probe`: settles the open platform facts on throwaway courses in the sandbox (or
//! the local platform), prints fact / assumed / observed / verdict, and with `--write` records
//! the observations in `platform-facts.toml` (see [`crate::ops::probe`]). Progress goes to
//! stderr; the table or the JSON to stdout.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use unicode_width::UnicodeWidthStr;

use crate::duration::parse as parse_duration;
use crate::exit;
use crate::ops::probe::{self as op, End, Finding, Report, Step};
use crate::platform::facts::FactValue;
use crate::settings::Settings;

/// Options of `coursesync probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Record the observations in platform-facts.toml beside the settings file.
    #[arg(long)]
    pub write: bool,
    /// How long to wait for each audit and each upload of the throwaway courses: 90s, 10m, 1h.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let options = op::Options {
        timeout: args.timeout,
        write: args.write,
    };
    let report = op::probe(settings, &options, &|step| progress(&step))?;
    let text = match args.format {
        Format::Json => json(&report),
        Format::Human => human(&report),
    };
    anstream::stdout().write_all(text.as_bytes())?;
    if args.format == Format::Json {
        for t in report.left() {
            eprintln!("{}", left_line(t));
        }
    }
    Ok(exit::OK)
}

fn progress(step: &Step<'_>) {
    match step {
        Step::Uploading { files } => {
            eprintln!("probe: uploading {files} file(s) of the throwaway course")
        }
        Step::Created {
            course_id,
            product_id,
        } => eprintln!("probe: added {course_id} as product {product_id}"),
        Step::Waiting { product_id } => {
            eprintln!("probe: waiting for the audit of product {product_id}");
        }
        Step::Settled(f) => eprintln!("probe: {} {}: {}", f.fact, f.verdict.as_str(), f.how),
        Step::Ended(t) => match &t.end {
            End::Delisted(code) => eprintln!(
                "probe: delisted {} (product {}, modify_status {code})",
                t.course_id, t.product_id
            ),
            End::Rejected => eprintln!(
                "probe: {} (product {}) was rejected at audit; nothing to delist",
                t.course_id, t.product_id
            ),
            End::Left(_) => eprintln!("probe: {}", left_line(t)),
        },
    }
}

fn left_line(t: &op::Throwaway) -> String {
    let why = match &t.end {
        End::Left(why) => why.as_str(),
        _ => "",
    };
    format!(
        "left on the platform: {} (product {}): {why}; delist it in the console once approved",
        t.course_id, t.product_id
    )
}

fn shown(v: Option<&FactValue>) -> String {
    v.map_or_else(|| "(could not tell)".to_owned(), ToString::to_string)
}

/// The table, one note per fact (how it was seen), and the throwaway courses.
pub fn human(report: &Report) -> String {
    let header = ["FACT", "ASSUMED", "OBSERVED", "VERDICT"];
    let rows: Vec<[String; 4]> = report
        .findings
        .iter()
        .map(|f: &Finding| {
            [
                f.fact.name().to_owned(),
                f.assumed.to_string(),
                shown(f.observed.as_ref()),
                f.verdict.as_str().to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(UnicodeWidthStr::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(w - cell.width() + 2));
            }
        }
        out.push('\n');
        out
    };
    let mut out = format!("Probed {} at {}.\n\n", report.platform, report.started);
    out.push_str(&line(header));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    out.push('\n');
    for f in &report.findings {
        let _ = writeln!(out, "{}: {}", f.fact, f.how);
    }
    out.push('\n');
    for t in &report.throwaways {
        let _ = match &t.end {
            End::Delisted(code) => writeln!(
                out,
                "Delisted {} (product {}, modify_status {code}).",
                t.course_id, t.product_id
            ),
            End::Rejected => writeln!(
                out,
                "{} (product {}) was rejected at audit: nothing to delist.",
                t.course_id, t.product_id
            ),
            End::Left(_) => writeln!(out, "{}", left_line(t)),
        };
    }
    let count = |v: op::Verdict| report.findings.iter().filter(|f| f.verdict == v).count();
    let _ = writeln!(
        out,
        "{} confirmed, {} contradicted, {} unsettled.",
        count(op::Verdict::Confirmed),
        count(op::Verdict::Contradicted),
        count(op::Verdict::Unsettled)
    );
    let _ = match &report.written {
        Some(path) => writeln!(
            out,
            "Wrote {}: commit it; every later command reads it.",
            path.display()
        ),
        None => writeln!(
            out,
            "Nothing written (--write records the observations in platform-facts.toml)."
        ),
    };
    out
}

/// `{"format_version": 1, "facts": [{"name", "assumed", "observed", "verdict"}]}`, keys in that
/// order; `assumed` and `observed` as in `platform-facts.toml` (`observed` null when the probe
/// could not tell).
pub fn json(report: &Report) -> String {
    #[derive(serde::Serialize)]
    struct Fact<'a> {
        name: &'a str,
        assumed: &'a FactValue,
        observed: Option<&'a FactValue>,
        verdict: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        format_version: u32,
        facts: Vec<Fact<'a>>,
    }
    let doc = Doc {
        format_version: 1,
        facts: report
            .findings
            .iter()
            .map(|f| Fact {
                name: f.fact.name(),
                assumed: &f.assumed,
                observed: f.observed.as_ref(),
                verdict: f.verdict.as_str(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).expect("probe JSON serializes") + "\n"
}
