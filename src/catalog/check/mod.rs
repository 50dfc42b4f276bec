//! Reads course files and turns each into a validated [`Course`], collecting every finding.
//! One function per concern; the rules themselves are named in `rules.rs`.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::value::Datetime;

use super::categories;
use super::codes::{self, Delivery, LessonKind};
use super::diagnostics::{Diagnostic, Location, Related, Severity, line_col};
use super::model::{
    Course, CourseParams, Detail, FileRef, Gift, Lesson, Page, Price, PriceForm, Refund,
};
use super::raw::{
    Num, RawCourse, RawCourseParams, RawDetail, RawGift, RawLesson, RawPage, RawPrice, S,
};
use super::rules::{self, Rule, limits};

mod dates;
mod fields;
mod files;
mod hosted;

pub use dates::datetime_to_ms;
pub use files::FsContext;
pub use hosted::hosted_url;

/// What checking one course file produced.
pub struct FileOutcome {
    /// The course, when the file has no error.
    pub course: Option<Course>,
    /// The course_id and where it is written, when one was read (for the duplicate check).
    pub id: Option<(String, Location)>,
    pub diagnostics: Vec<Diagnostic>,
    /// The `stat` of every local file the course references, by path relative to the catalog
    /// directory (handed to the hasher, which need not look again).
    pub files: Vec<(String, crate::hashing::Meta)>,
}

/// Checks one course file. `display` is the path shown in findings.
pub fn check_file(display: &Path, text: &str, fs: &mut FsContext) -> FileOutcome {
    let mut ck = Checker {
        file: display,
        text,
        fs,
        diagnostics: Vec::new(),
        errors: 0,
        files: Vec::new(),
    };
    let raw = match toml::de::Deserializer::parse(text) {
        Err(e) => {
            ck.push_at(
                rules::TOML_SYNTAX,
                e.span().unwrap_or(0..0),
                e.message().trim(),
                None,
            );
            None
        }
        Ok(de) => match RawCourse::deserialize(de) {
            Ok(raw) => Some(raw),
            Err(e) => {
                ck.schema_error(&e);
                None
            }
        },
    };
    let (course, id) = match raw {
        Some(raw) => {
            let id = raw
                .course_id
                .as_ref()
                .map(|s| (s.get_ref().clone(), ck.loc(s.span())));
            (ck.course(&raw), id)
        }
        None => (None, None),
    };
    FileOutcome {
        course,
        id,
        diagnostics: ck.diagnostics,
        files: ck.files,
    }
}

/// The duplicate-id check across files: every later definition points at the first.
pub fn duplicate_ids(ids: &[(String, Location)]) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, &Location> = HashMap::new();
    let mut out = Vec::new();
    for (id, loc) in ids {
        match first.get(id.as_str()) {
            None => {
                first.insert(id, loc);
            }
            Some(prev) => out.push(Diagnostic {
                code: rules::COURSE_ID_DUPLICATE.code,
                severity: Severity::Error,
                message: format!(
                    "course_id {id:?} is already used by {}:{}:{}",
                    prev.file.display(),
                    prev.line,
                    prev.col
                ),
                location: loc.clone(),
                hint: Some(rules::COURSE_ID_DUPLICATE.hint.into()),
                related: vec![Related {
                    location: (*prev).clone(),
                    message: "first defined here".into(),
                }],
            }),
        }
    }
    out
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    fs: &'a mut FsContext,
    diagnostics: Vec<Diagnostic>,
    errors: usize,
    files: Vec<(String, crate::hashing::Meta)>,
}

impl Checker<'_> {
    fn loc(&self, span: Range<usize>) -> Location {
        let (line, col) = line_col(self.text, span.start);
        Location {
            file: self.file.to_path_buf(),
            line,
            col,
            span,
        }
    }

    fn push_at(
        &mut self,
        rule: &'static Rule,
        span: Range<usize>,
        message: &str,
        hint: Option<String>,
    ) {
        if rule.severity == Severity::Error {
            self.errors += 1;
        }
        self.diagnostics.push(Diagnostic {
            code: rule.code,
            severity: rule.severity,
            message: message.to_string(),
            location: self.loc(span),
            hint: Some(hint.unwrap_or_else(|| rule.hint.to_string())),
            related: Vec::new(),
        });
    }

    fn push(&mut self, rule: &'static Rule, span: Range<usize>, message: impl AsRef<str>) {
        self.push_at(rule, span, message.as_ref(), None);
    }

    fn push_hint(
        &mut self,
        rule: &'static Rule,
        span: Range<usize>,
        message: impl AsRef<str>,
        hint: String,
    ) {
        self.push_at(rule, span, message.as_ref(), Some(hint));
    }

    fn schema_error(&mut self, e: &toml::de::Error) {
        let message = e.message().trim();
        let span = e.span().unwrap_or(0..0);
        let rule = if message.starts_with("unknown field") {
            rules::UNKNOWN_KEY
        } else if message.starts_with("missing field") {
            rules::MISSING_FIELD
        } else {
            rules::WRONG_TYPE
        };
        let hint = (rule.code == rules::UNKNOWN_KEY.code).then(|| {
            let word = message.split('`').nth(1).unwrap_or("");
            let expected: Vec<&str> = message
                .split("expected")
                .nth(1)
                .unwrap_or("")
                .split('`')
                .skip(1)
                .step_by(2)
                .collect();
            match codes::nearest(word, &expected) {
                Some(near) => format!("did you mean `{near}`?"),
                None => rules::UNKNOWN_KEY.hint.to_string(),
            }
        });
        self.push_at(rule, span, message, hint);
    }

    /// Reports a missing required field at `parent` (the enclosing table, or the file start).
    fn missing(&mut self, field: &str, parent: Range<usize>) {
        debug_assert!(
            rules::REQUIRED
                .iter()
                .any(|r| r.split('|').any(|f| f == field))
        );
        let start = parent.start;
        self.push(
            rules::MISSING_FIELD,
            start..start,
            format!("missing required field `{field}`"),
        );
    }

    fn required<'v, T>(
        &mut self,
        value: Option<&'v S<T>>,
        field: &str,
        parent: &Range<usize>,
    ) -> Option<&'v S<T>> {
        if value.is_none() {
            self.missing(field, parent.clone());
        }
        value
    }

    /// A required, non-empty text.
    fn text(
        &mut self,
        value: Option<&S<String>>,
        field: &str,
        parent: &Range<usize>,
    ) -> Option<String> {
        let v = self.required(value, field, parent)?;
        if v.get_ref().trim().is_empty() {
            self.push(
                rules::EMPTY_TEXT,
                v.span(),
                format!("`{field}` must not be empty"),
            );
            return None;
        }
        Some(v.get_ref().clone())
    }

    fn course(&mut self, raw: &RawCourse) -> Option<Course> {
        let top = 0..0;
        let course_id = self.course_id(raw.course_id.as_ref());
        let title = self.text(raw.title.as_ref(), "title", &top);
        let first_class = self
            .required(raw.first_class.as_ref(), "first_class", &top)
            .map(|s| *s.get_ref());
        let second_class = self
            .required(raw.second_class.as_ref(), "second_class", &top)
            .map(|s| *s.get_ref());
        if let (Some(f), Some(s)) = (&raw.first_class, &raw.second_class) {
            self.category(f, s);
        }
        let purchase_precaution = self.text(
            raw.purchase_precaution.as_ref(),
            "purchase_precaution",
            &top,
        );
        let cover = self
            .required(raw.cover.as_ref(), "cover", &top)
            .and_then(|c| self.file_ref(c, codes::IMAGE_EXTENSIONS, "the cover"));
        let listed = raw.listed.as_ref().is_none_or(|l| *l.get_ref());
        let price = self
            .required(raw.price.as_ref(), "price", &top)
            .and_then(|p| self.price(p));
        let page = self
            .required(raw.page.as_ref(), "page", &top)
            .and_then(|p| self.page(p));
        let lessons = self.lessons(raw.lessons.as_ref());
        let details = self.details(raw.details.as_ref());
        let anchor_title = match &raw.anchor {
            None => Some(None),
            Some(a) => self.anchor_title(a).map(Some),
        };
        let gift = match &raw.gift {
            None => Some(None),
            Some(g) => self.gift(g).map(Some),
        };
        let params = self
            .required(raw.course.as_ref(), "course", &top)
            .and_then(|c| self.params(c));
        if self.errors > 0 {
            return None;
        }
        Some(Course {
            course_id: course_id?,
            source: self.file.to_path_buf(),
            title: title?,
            first_class: first_class?,
            second_class: second_class?,
            purchase_precaution: purchase_precaution?,
            cover: cover?,
            listed,
            price: price?,
            page: page?,
            lessons: lessons?,
            details: details?,
            anchor_title: anchor_title?,
            gift: gift?,
            params: params?,
        })
    }
}
