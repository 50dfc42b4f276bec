//! `coursesync report`: one self-contained HTML page with where every course stands (audit
//! counts with a chart, a sortable and filterable table, reject reasons grouped), from the state
//! and, with `--drift`, the platform's `query` answers. Never writes state or calls a write
//! endpoint.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::exit;
use crate::ops::report::{self, Options};
use crate::settings::Settings;

/// Options of `coursesync report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the HTML page (`-`: stdout). Written atomically.
    #[arg(long, value_name = "FILE", default_value = "coursesync-report.html")]
    pub out: PathBuf,

    /// Also compare every course with the platform, as `coursesync drift` does (read calls only).
    #[arg(long)]
    pub drift: bool,
}

pub fn run(settings: &Settings, args: &Args) -> anyhow::Result<u8> {
    let report = report::report(
        settings,
        &Options {
            drift: args.drift,
            // The roles preflight (issue 11) passes its blocked courses here.
            ..Options::default()
        },
    )?;
    let html = crate::report::html::render(&report).context("rendering the report")?;
    if args.out.as_os_str() == "-" {
        anstream::stdout().write_all(html.as_bytes())?;
    } else {
        write_atomically(&args.out, &html)?;
        println!(
            "Wrote {}: {} course(s), {} KB.",
            args.out.display(),
            report.courses.len(),
            html.len().div_ceil(1024)
        );
    }
    if !report.meta.state_exists {
        eprintln!(
            "note: no state file at {} yet (apply creates it); the report is empty.",
            settings.state_path.display()
        );
    }
    let unreadable = report
        .courses
        .iter()
        .filter(|c| matches!(c.drift, Some(crate::report::DriftCell::Error(_))));
    for c in unreadable {
        eprintln!(
            "warning: {}: the platform's view could not be read; the report says so",
            c.course_id
        );
    }
    Ok(exit::OK)
}

/// A temporary file in the same directory, then a rename: a reader never sees half a page.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A page to share: readable by others as a plain new file would be (the umask applies).
    let mut tmp = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
