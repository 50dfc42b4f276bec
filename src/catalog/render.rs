//! Rendering findings: rustc-style snippets for people (`file:line:col`, the source line with
//! carets, the hint) and a documented JSON form for machines (docs/catalog-format.md).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use serde::Serialize;

use super::diagnostics::{Diagnostic, Severity};
use super::rules;

/// The JSON form's version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Writes every finding as a snippet. Source text is read from `display_root` + the shown path.
pub fn human(
    out: &mut dyn Write,
    diagnostics: &[Diagnostic],
    display_root: &Path,
    color: bool,
) -> std::io::Result<()> {
    let mut files = SimpleFiles::new();
    let mut ids: HashMap<PathBuf, usize> = HashMap::new();
    let mut file_id = |path: &Path| {
        *ids.entry(path.to_path_buf()).or_insert_with(|| {
            let text = std::fs::read_to_string(display_root.join(path)).unwrap_or_default();
            files.add(path.display().to_string(), text)
        })
    };
    let rendered: Vec<CsDiagnostic<usize>> = diagnostics
        .iter()
        .map(|d| {
            let primary = file_id(&d.location.file);
            let mut labels = vec![Label::primary(primary, d.location.span.clone())];
            for r in &d.related {
                labels.push(
                    Label::secondary(file_id(&r.location.file), r.location.span.clone())
                        .with_message(&r.message),
                );
            }
            let mut notes = Vec::new();
            if let Some(h) = &d.hint {
                notes.push(format!("hint: {h}"));
            }
            CsDiagnostic::new(match d.severity {
                Severity::Error => CsSeverity::Error,
                Severity::Warning => CsSeverity::Warning,
            })
            .with_code(d.code)
            .with_message(&d.message)
            .with_labels(labels)
            .with_notes(notes)
        })
        .collect();
    let config = Config::default();
    for d in &rendered {
        if color {
            let styles = term::Styles::default();
            let stream =
                term::termcolor::StandardStream::stdout(term::termcolor::ColorChoice::Always);
            let mut lock = stream.lock();
            let mut writer = term::StylesWriter::new(&mut lock, &styles);
            term::emit_to_write_style(&mut writer, &config, &files, d)
                .map_err(std::io::Error::other)?;
        } else {
            term::emit_to_io_write(out, &config, &files, d).map_err(std::io::Error::other)?;
        }
    }
    Ok(())
}

/// One line that sums up a validation run.
pub fn summary(files: usize, courses: usize, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {} valid: {}, {}",
        plural(files, "course file"),
        courses,
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    files: usize,
    courses: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    rule: &'a str,
    severity: Severity,
    message: &'a str,
    file: String,
    line: usize,
    col: usize,
    hint: Option<&'a str>,
    related: Vec<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    file: String,
    line: usize,
    col: usize,
    message: &'a str,
}

/// The JSON report (documented in docs/catalog-format.md).
pub fn json(diagnostics: &[Diagnostic], files: usize, courses: usize) -> String {
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let report = JsonReport {
        format_version: FORMAT_VERSION,
        files,
        courses,
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code,
                rule: rules::ALL
                    .iter()
                    .find(|r| r.code == d.code)
                    .map_or("", |r| r.name),
                severity: d.severity,
                message: &d.message,
                file: d.location.file.display().to_string(),
                line: d.location.line,
                col: d.location.col,
                hint: d.hint.as_deref(),
                related: d
                    .related
                    .iter()
                    .map(|r| JsonRelated {
                        file: r.location.file.display().to_string(),
                        line: r.location.line,
                        col: r.location.col,
                        message: &r.message,
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).expect("report serializes")
}
