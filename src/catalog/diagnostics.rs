//! Findings are data: every check produces [`Diagnostic`]s (rule code, severity, message,
//! position, hint); only the CLI decides what they mean for the exit code.

use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

/// 1-based line and column (in characters) of byte offset `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Where a finding points: a file (shown relative to the catalog's parent when possible), the
/// byte span in it, and the 1-based line and column of the span's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// One finding of validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable rule code, e.g. `CS101`; see docs/rules.md.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// What to do about it.
    pub hint: Option<String>,
    /// Other places the finding concerns (the first definition of a duplicate id, say).
    pub related: Vec<Related>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

impl Diagnostic {
    /// Sort key: file, position, code — so output is the same on every run.
    pub fn sort_key(&self) -> (&PathBuf, usize, usize, &'static str) {
        (
            &self.location.file,
            self.location.line,
            self.location.col,
            self.code,
        )
    }
}
