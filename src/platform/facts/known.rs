//! The open platform facts (PRODUCT.md "Platform facts the documents leave open") and what is
//! known of them: `platform-facts.toml` beside the settings file, written by `coursesync probe
//! --write` or by hand, read at start by [`crate::settings::Settings::load`].
//!
//! Invariants:
//! - A fact absent from the file is unsettled ([`KnownFacts`] holds `None`), and every use takes
//!   the safe reading for it (see the registry, `docs/platform-facts.md`).
//! - A malformed file (bad TOML, an unknown fact name, a value of the wrong type or out of range)
//!   is an error with `file:line:col`, never silently ignored: a wrong fact must not go unseen.
//! - [`render_file`] writes what [`parse`] reads back unchanged (tested).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The file's name; it lies beside the settings file.
pub const FILE_NAME: &str = "platform-facts.toml";

/// A fact the documents leave open, settable in `platform-facts.toml`. Names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpenFact {
    /// A repeated `add` of a live or in-review course_id is answered 10140/10141 with the product
    /// id (platform-api.md §13 [I]).
    AddRepeatAnswers10140,
    /// `query`'s `product_status.status` is the listing state (1 listed, 2 delisted), not an
    /// audit status (platform-api.md §5.5 [?]).
    QueryStatusMeansListing,
    /// `query` echoes every field that was sent in `common_product_info` / `course_info`
    /// (platform-api.md §5.5: the documented sample carries only `teacher_introduction`).
    QueryEchoesCourse,
    /// The `modify_status` status codes (platform-api.md §5.4 [?], guess 1 list, 2 delist).
    ModifyStatusCodes,
    /// The `upload_resource` types of audio, pdf and office files (platform-api.md §6.1 [I]).
    UploadResourceTypes,
    /// Fetching a new access token invalidates the older ones at once (platform-api.md §2.2).
    TokenNewRevokesOld,
}

impl OpenFact {
    /// Every open fact, in the order of the documents.
    pub const ALL: [OpenFact; 6] = [
        OpenFact::AddRepeatAnswers10140,
        OpenFact::QueryStatusMeansListing,
        OpenFact::QueryEchoesCourse,
        OpenFact::ModifyStatusCodes,
        OpenFact::UploadResourceTypes,
        OpenFact::TokenNewRevokesOld,
    ];

    /// The stable name, as written in `platform-facts.toml` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            OpenFact::AddRepeatAnswers10140 => "add.repeat_answers_10140",
            OpenFact::QueryStatusMeansListing => "query.status_means_listing",
            OpenFact::QueryEchoesCourse => "query.echoes_course",
            OpenFact::ModifyStatusCodes => "modify_status.codes",
            OpenFact::UploadResourceTypes => "upload.resource_types",
            OpenFact::TokenNewRevokesOld => "token.new_revokes_old",
        }
    }

    pub fn from_name(name: &str) -> Option<OpenFact> {
        OpenFact::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What the documents suggest (the hypothesis a probe confirms or contradicts). The tool does
    /// not act on it while the fact is unsettled: see [`KnownFacts`] for the readings it takes.
    #[allow(
        clippy::match_same_arms,
        reason = "one arm per fact, each with its reason"
    )]
    pub fn assumed(self) -> FactValue {
        match self {
            // §13: JAVA-V extracts the product id from 10140/10141 [I].
            OpenFact::AddRepeatAnswers10140 => FactValue::Bool(true),
            // §5.5: the documented live sample shows status 2 beside reject_reason and
            // latest_audit_id: it reads as an audit status (1/2/3 as in query_review) at least
            // as well as a listing code.
            OpenFact::QueryStatusMeansListing => FactValue::Bool(false),
            // §5.5: the documented sample's course_info carries only teacher_introduction.
            OpenFact::QueryEchoesCourse => FactValue::Bool(false),
            OpenFact::ModifyStatusCodes => FactValue::ListingCodes(ListingCodes::ASSUMED),
            OpenFact::UploadResourceTypes => FactValue::ResourceTypes(ResourceTypes::ASSUMED),
            // §2.2: the old doc says a new token shortens the previous one to ~5 minutes.
            OpenFact::TokenNewRevokesOld => FactValue::Bool(false),
        }
    }

    /// The kind of value the fact takes.
    pub fn kind(self) -> ValueKind {
        match self {
            OpenFact::ModifyStatusCodes => ValueKind::ListingCodes,
            OpenFact::UploadResourceTypes => ValueKind::ResourceTypes,
            _ => ValueKind::Bool,
        }
    }
}

impl std::fmt::Display for OpenFact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Bool,
    ListingCodes,
    ResourceTypes,
}

/// `modify_status.codes`: the status sent to list and to delist (platform-api.md §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingCodes {
    pub list: i64,
    pub delist: i64,
}

impl ListingCodes {
    /// The guess of platform-api.md §5.4 [I]: 1 list (上架), 2 delist (下架).
    pub const ASSUMED: ListingCodes = ListingCodes { list: 1, delist: 2 };

    /// The status code for a desired listing state.
    pub fn code(self, listed: bool) -> i64 {
        if listed { self.list } else { self.delist }
    }

    /// The listing a status code stands for, `None` for any other code.
    pub fn listed(self, code: i64) -> Option<bool> {
        if code == self.list {
            Some(true)
        } else if code == self.delist {
            Some(false)
        } else {
            None
        }
    }
}

/// `upload.resource_types`: the `upload_resource.resource_type` of the kinds the documents do not
/// confirm (image 1, video 2 and cover 31 are [C], platform-api.md §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceTypes {
    pub audio: i64,
    pub pdf: i64,
    pub office: i64,
}

impl ResourceTypes {
    /// platform-api.md §6.1: audio 3 is the working hypothesis [I], pdf 4 and office 5 guesses.
    pub const ASSUMED: ResourceTypes = ResourceTypes {
        audio: crate::catalog::codes::resource_type::AUDIO,
        pdf: crate::catalog::codes::resource_type::PDF,
        office: crate::catalog::codes::resource_type::OFFICE,
    };
}

/// A fact's value: of the same type as in `platform-facts.toml` (and in `probe --format json`,
/// where it serializes as a JSON bool or object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FactValue {
    Bool(bool),
    ListingCodes(ListingCodes),
    ResourceTypes(ResourceTypes),
}

impl FactValue {
    pub fn kind(self) -> ValueKind {
        match self {
            FactValue::Bool(_) => ValueKind::Bool,
            FactValue::ListingCodes(_) => ValueKind::ListingCodes,
            FactValue::ResourceTypes(_) => ValueKind::ResourceTypes,
        }
    }

    /// The value as TOML, as written in `platform-facts.toml`.
    pub fn to_toml(self) -> String {
        match self {
            FactValue::Bool(b) => b.to_string(),
            FactValue::ListingCodes(c) => format!("{{ list = {}, delist = {} }}", c.list, c.delist),
            FactValue::ResourceTypes(t) => format!(
                "{{ audio = {}, pdf = {}, office = {} }}",
                t.audio, t.pdf, t.office
            ),
        }
    }
}

impl std::fmt::Display for FactValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_toml())
    }
}

/// What is known of the open facts: `None` is unsettled. Every command reaches it through
/// `Settings::facts` (the file) or `Client::facts` (the file, or the local emulator's readings
/// on `environment = "local"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnownFacts {
    pub add_repeat_answers_10140: Option<bool>,
    pub query_status_means_listing: Option<bool>,
    pub query_echoes_course: Option<bool>,
    pub modify_status_codes: Option<ListingCodes>,
    pub upload_resource_types: Option<ResourceTypes>,
    pub token_new_revokes_old: Option<bool>,
}

impl KnownFacts {
    /// Nothing known: every fact takes its safe reading.
    pub const UNSETTLED: KnownFacts = KnownFacts {
        add_repeat_answers_10140: None,
        query_status_means_listing: None,
        query_echoes_course: None,
        modify_status_codes: None,
        upload_resource_types: None,
        token_new_revokes_old: None,
    };

    /// The known value of `fact`, `None` when unsettled.
    pub fn get(&self, fact: OpenFact) -> Option<FactValue> {
        match fact {
            OpenFact::AddRepeatAnswers10140 => self.add_repeat_answers_10140.map(FactValue::Bool),
            OpenFact::QueryStatusMeansListing => {
                self.query_status_means_listing.map(FactValue::Bool)
            }
            OpenFact::QueryEchoesCourse => self.query_echoes_course.map(FactValue::Bool),
            OpenFact::ModifyStatusCodes => self.modify_status_codes.map(FactValue::ListingCodes),
            OpenFact::UploadResourceTypes => {
                self.upload_resource_types.map(FactValue::ResourceTypes)
            }
            OpenFact::TokenNewRevokesOld => self.token_new_revokes_old.map(FactValue::Bool),
        }
    }

    /// Sets `fact` to `value` (`None`: unsettled). Fails when the value has the wrong type.
    pub fn set(&mut self, fact: OpenFact, value: Option<FactValue>) -> Result<(), String> {
        if let Some(v) = value
            && v.kind() != fact.kind()
        {
            return Err(format!("{fact} cannot take the value {v}"));
        }
        let bool_of = |v: Option<FactValue>| match v {
            Some(FactValue::Bool(b)) => Some(b),
            _ => None,
        };
        match fact {
            OpenFact::AddRepeatAnswers10140 => self.add_repeat_answers_10140 = bool_of(value),
            OpenFact::QueryStatusMeansListing => self.query_status_means_listing = bool_of(value),
            OpenFact::QueryEchoesCourse => self.query_echoes_course = bool_of(value),
            OpenFact::TokenNewRevokesOld => self.token_new_revokes_old = bool_of(value),
            OpenFact::ModifyStatusCodes => {
                self.modify_status_codes = match value {
                    Some(FactValue::ListingCodes(c)) => Some(c),
                    _ => None,
                }
            }
            OpenFact::UploadResourceTypes => {
                self.upload_resource_types = match value {
                    Some(FactValue::ResourceTypes(t)) => Some(t),
                    _ => None,
                }
            }
        }
        Ok(())
    }

    /// Every settled fact with its value, in [`OpenFact::ALL`] order.
    pub fn settled(&self) -> Vec<(OpenFact, FactValue)> {
        OpenFact::ALL
            .into_iter()
            .filter_map(|f| self.get(f).map(|v| (f, v)))
            .collect()
    }

    // The readings the tool acts on. Each is the safe one unless the fact is known.

    /// A lost `add` answer may be re-sent: only when a repeat is known to be answered 10140.
    pub fn add_is_deduplicated(&self) -> bool {
        self.add_repeat_answers_10140 == Some(true)
    }

    /// Listing may be read from `query`'s `product_status.status`: only when known to mean it.
    pub fn query_reports_listing(&self) -> bool {
        self.query_status_means_listing == Some(true)
    }

    /// A field absent from a `query` answer means the platform dropped it: only when `query` is
    /// known to echo every field. Otherwise it is "not reported".
    pub fn query_echoes_everything(&self) -> bool {
        self.query_echoes_course == Some(true)
    }

    /// The `modify_status` codes to send: known, or the documents' guess (there is no safer
    /// choice; `probe` settles it in the sandbox).
    pub fn listing_codes(&self) -> ListingCodes {
        self.modify_status_codes.unwrap_or(ListingCodes::ASSUMED)
    }

    /// The resource types of audio, pdf and office: known, or the documents' guess.
    pub fn resource_types(&self) -> ResourceTypes {
        self.upload_resource_types.unwrap_or(ResourceTypes::ASSUMED)
    }

    /// The `upload_resource.resource_type` to send for the catalog's resource type `code`
    /// (`catalog::codes::resource_type`): audio, pdf and office follow `upload.resource_types`;
    /// image, video and cover are [C] and sent as they are.
    pub fn wire_resource_type(&self, code: i64) -> i64 {
        use crate::catalog::codes::resource_type as rt;
        let types = self.resource_types();
        match code {
            rt::AUDIO => types.audio,
            rt::PDF => types.pdf,
            rt::OFFICE => types.office,
            other => other,
        }
    }
}

/// `platform-facts.toml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FactsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            FactsError::Malformed { .. } => Some(format!(
                "{FILE_NAME} holds one table [facts] with the names {names}, each quoted \
                 (\"add.repeat_answers_10140\" = true); see docs/platform-facts.md, or delete \
                 the file and run `coursesync probe --write` in the sandbox",
                names = OpenFact::ALL.map(OpenFact::name).join(", ")
            )),
            FactsError::Read { .. } | FactsError::Write { .. } => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    facts: RawFacts,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFacts {
    #[serde(rename = "add.repeat_answers_10140")]
    add_repeat_answers_10140: Option<bool>,
    #[serde(rename = "query.status_means_listing")]
    query_status_means_listing: Option<bool>,
    #[serde(rename = "query.echoes_course")]
    query_echoes_course: Option<bool>,
    #[serde(rename = "modify_status.codes")]
    modify_status_codes: Option<Spanned<ListingCodes>>,
    #[serde(rename = "upload.resource_types")]
    upload_resource_types: Option<Spanned<ResourceTypes>>,
    #[serde(rename = "token.new_revokes_old")]
    token_new_revokes_old: Option<bool>,
}

/// Parses the text of a `platform-facts.toml` at `path` (named in errors).
pub fn parse(path: &Path, text: &str) -> Result<KnownFacts, FactsError> {
    let malformed = |offset: usize, message: String| {
        let (line, col) = crate::catalog::diagnostics::line_col(text, offset);
        FactsError::Malformed {
            path: path.to_path_buf(),
            line,
            col,
            message,
        }
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let mut message = e.message().trim_end().to_string();
        // `add.repeat_answers_10140 = true` unquoted is a table `add`: say how to write it.
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name);
        if let Some(name) = unknown
            && OpenFact::ALL
                .iter()
                .any(|f| f.name().split('.').next() == Some(name))
        {
            message =
                format!("{message} (a fact name holds a dot: write it quoted, \"{name}.…\" = …)");
        }
        malformed(offset, message)
    })?;
    let f = raw.facts;
    if let Some(codes) = &f.modify_status_codes {
        let c = codes.get_ref();
        if c.list == c.delist {
            return Err(malformed(
                codes.span().start,
                format!(
                    "modify_status.codes: list and delist must differ (both are {})",
                    c.list
                ),
            ));
        }
    }
    if let Some(types) = &f.upload_resource_types {
        use crate::catalog::codes::resource_type as rt;
        let t = types.get_ref();
        let confirmed = [rt::IMAGE, rt::VIDEO, rt::COVER];
        let all = [("audio", t.audio), ("pdf", t.pdf), ("office", t.office)];
        for (i, (name, code)) in all.iter().enumerate() {
            let clash = confirmed.contains(code) || all[..i].iter().any(|(_, c)| c == code);
            if *code <= 0 || clash {
                return Err(malformed(
                    types.span().start,
                    format!(
                        "upload.resource_types: {name} = {code} must be a positive code distinct \
                         from the others and from image 1, video 2, cover 31"
                    ),
                ));
            }
        }
    }
    Ok(KnownFacts {
        add_repeat_answers_10140: f.add_repeat_answers_10140,
        query_status_means_listing: f.query_status_means_listing,
        query_echoes_course: f.query_echoes_course,
        modify_status_codes: f.modify_status_codes.map(Spanned::into_inner),
        upload_resource_types: f.upload_resource_types.map(Spanned::into_inner),
        token_new_revokes_old: f.token_new_revokes_old,
    })
}

/// Where the facts file of a settings file lies: beside it.
pub fn path_beside(settings_file: &Path) -> PathBuf {
    settings_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(FILE_NAME), |dir| dir.join(FILE_NAME))
}

/// Reads `path`; a missing file is "nothing known".
pub fn load(path: &Path) -> Result<KnownFacts, FactsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KnownFacts::UNSETTLED),
        Err(source) => Err(FactsError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// One fact to record: its value and a comment saying when and how it was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub fact: OpenFact,
    pub value: FactValue,
    /// One or more lines, written as `#` comments above the fact.
    pub note: String,
}

/// The text of a `platform-facts.toml` holding `recorded` (in [`OpenFact::ALL`] order, each with
/// its note as comments). Facts not given are left out: unsettled.
pub fn render_file(recorded: &[Recorded]) -> Result<String, String> {
    let mut out = String::from(
        "# Platform facts the documents leave open, as observed (docs/platform-facts.md).\n\
         # Read by every coursesync command; commit this file. A fact left out is unsettled and\n\
         # coursesync takes the safe reading for it.\n\n[facts]\n",
    );
    for fact in OpenFact::ALL {
        let mut of_fact = recorded.iter().filter(|r| r.fact == fact);
        let Some(r) = of_fact.next() else { continue };
        if of_fact.next().is_some() {
            return Err(format!("{fact} is given twice"));
        }
        if r.value.kind() != fact.kind() {
            return Err(format!("{fact} cannot take the value {}", r.value));
        }
        for line in r.note.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                out.push_str("#\n");
            } else {
                let _ = writeln!(out, "# {line}");
            }
        }
        let _ = writeln!(out, "\"{}\" = {}", fact.name(), r.value.to_toml());
    }
    Ok(out)
}

/// Writes `recorded` to `path` (see [`render_file`]), replacing the file atomically.
pub fn write_file(path: &Path, recorded: &[Recorded]) -> Result<(), FactsError> {
    let text = render_file(recorded).map_err(|message| FactsError::Malformed {
        path: path.to_path_buf(),
        line: 1,
        col: 1,
        message,
    })?;
    // What is written must read back: a prober must never leave a file every command refuses.
    parse(path, &text)?;
    let write_err = |source| FactsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<KnownFacts, FactsError> {
        parse(Path::new("repo/platform-facts.toml"), text)
    }

    fn position(err: FactsError) -> (usize, usize, String) {
        match err {
            FactsError::Malformed {
                line, col, message, ..
            } => (line, col, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_fact_reads_from_the_documented_format() {
        let facts = p(r#"
[facts]
"add.repeat_answers_10140" = true
"query.status_means_listing" = false
"query.echoes_course" = true
"modify_status.codes" = { list = 1, delist = 2 }
"upload.resource_types" = { audio = 3, pdf = 4, office = 5 }
"token.new_revokes_old" = true
"#)
        .unwrap();
        assert_eq!(
            facts,
            KnownFacts {
                add_repeat_answers_10140: Some(true),
                query_status_means_listing: Some(false),
                query_echoes_course: Some(true),
                modify_status_codes: Some(ListingCodes { list: 1, delist: 2 }),
                upload_resource_types: Some(ResourceTypes {
                    audio: 3,
                    pdf: 4,
                    office: 5
                }),
                token_new_revokes_old: Some(true),
            }
        );
        assert!(facts.add_is_deduplicated());
        assert!(!facts.query_reports_listing());
        assert!(facts.query_echoes_everything());
    }

    #[test]
    fn absent_facts_are_unsettled_and_take_the_safe_readings() {
        for text in ["", "[facts]\n"] {
            let facts = p(text).unwrap();
            assert_eq!(facts, KnownFacts::UNSETTLED);
            assert!(!facts.add_is_deduplicated());
            assert!(!facts.query_reports_listing());
            assert!(!facts.query_echoes_everything());
            assert_eq!(facts.listing_codes(), ListingCodes::ASSUMED);
            assert_eq!(facts.wire_resource_type(3), 3);
        }
        assert_eq!(
            load(Path::new("/nonexistent/dir/platform-facts.toml")).unwrap(),
            KnownFacts::UNSETTLED
        );
    }

    #[test]
    fn malformed_files_are_errors_at_their_position() {
        // Unknown fact name.
        let (line, col, msg) =
            position(p("[facts]\n\"add.repeat_answers_10141\" = true\n").unwrap_err());
        assert_eq!((line, col), (2, 1));
        assert!(msg.contains("add.repeat_answers_10141"), "{msg}");
        // Unquoted (dotted) name: a table `add`, with the hint to quote.
        let (line, _, msg) = position(p("[facts]\nadd.repeat_answers_10140 = true\n").unwrap_err());
        assert_eq!(line, 2);
        assert!(msg.contains("quoted"), "{msg}");
        // Wrong type.
        let (line, col, msg) =
            position(p("[facts]\n\"query.echoes_course\" = \"yes\"\n").unwrap_err());
        assert_eq!((line, col), (2, 25));
        assert!(msg.contains("bool"), "{msg}");
        // Bad TOML.
        let (line, _, _) = position(p("[facts\n").unwrap_err());
        assert_eq!(line, 1);
        // Codes that cannot work.
        let (line, col, msg) = position(
            p("[facts]\n\"modify_status.codes\" = { list = 1, delist = 1 }\n").unwrap_err(),
        );
        assert_eq!((line, col), (2, 25));
        assert!(msg.contains("differ"), "{msg}");
        let (_, _, msg) = position(
            p("[facts]\n\"upload.resource_types\" = { audio = 2, pdf = 4, office = 5 }\n")
                .unwrap_err(),
        );
        assert!(msg.contains("audio = 2"), "{msg}");
        let (_, _, msg) = position(
            p("[facts]\n\"modify_status.codes\" = { list = 1, delist = 2, relist = 3 }\n")
                .unwrap_err(),
        );
        assert!(msg.contains("relist"), "{msg}");
        // Another top-level key.
        assert!(p("[fact]\n").is_err());
        let err = p("[facts]\nx = 1\n").unwrap_err();
        assert!(
            err.hint()
                .is_some_and(|h| h.contains("docs/platform-facts.md"))
        );
        assert!(
            err.to_string()
                .starts_with("repo/platform-facts.toml:2:1: ")
        );
    }

    #[test]
    fn written_files_read_back_with_a_comment_per_fact() {
        let recorded = vec![
            Recorded {
                fact: OpenFact::TokenNewRevokesOld,
                value: FactValue::Bool(false),
                note: "observed 2026-12-01 by coursesync probe:\nthe old token still worked".into(),
            },
            Recorded {
                fact: OpenFact::ModifyStatusCodes,
                value: FactValue::ListingCodes(ListingCodes { list: 3, delist: 4 }),
                note: "set by hand".into(),
            },
        ];
        let text = render_file(&recorded).unwrap();
        assert!(text.contains("# observed 2026-12-01 by coursesync probe:\n# the old token still worked\n\"token.new_revokes_old\" = false\n"), "{text}");
        let facts = p(&text).unwrap();
        assert_eq!(facts.token_new_revokes_old, Some(false));
        assert_eq!(facts.listing_codes(), ListingCodes { list: 3, delist: 4 });
        assert_eq!(facts.settled().len(), 2);
        // Written in the documents' order, whatever the order given.
        assert!(text.find("modify_status.codes") < text.find("token.new_revokes_old"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        write_file(&path, &recorded).unwrap();
        assert_eq!(load(&path).unwrap(), facts);
        // A value of the wrong type is refused before anything is written.
        let bad = [Recorded {
            fact: OpenFact::QueryEchoesCourse,
            value: FactValue::ListingCodes(ListingCodes::ASSUMED),
            note: String::new(),
        }];
        assert!(write_file(&path, &bad).is_err());
        assert_eq!(load(&path).unwrap(), facts);
    }

    #[test]
    fn set_and_get_round_trip_and_refuse_wrong_types() {
        let mut facts = KnownFacts::default();
        for fact in OpenFact::ALL {
            assert_eq!(OpenFact::from_name(fact.name()), Some(fact));
            facts.set(fact, Some(fact.assumed())).unwrap();
            assert_eq!(facts.get(fact), Some(fact.assumed()));
        }
        assert!(
            facts
                .set(
                    OpenFact::AddRepeatAnswers10140,
                    Some(FactValue::ListingCodes(ListingCodes::ASSUMED))
                )
                .is_err()
        );
        facts.set(OpenFact::AddRepeatAnswers10140, None).unwrap();
        assert_eq!(facts.add_repeat_answers_10140, None);
        assert_eq!(
            serde_json::to_string(&OpenFact::ModifyStatusCodes.assumed()).unwrap(),
            r#"{"list":1,"delist":2}"#
        );
        assert_eq!(
            serde_json::to_string(&FactValue::Bool(true)).unwrap(),
            "true"
        );
    }

    #[test]
    fn resource_types_translate_only_the_inferred_kinds() {
        let facts = KnownFacts {
            upload_resource_types: Some(ResourceTypes {
                audio: 7,
                pdf: 8,
                office: 9,
            }),
            ..KnownFacts::default()
        };
        assert_eq!(
            [1, 2, 3, 4, 5, 31].map(|c| facts.wire_resource_type(c)),
            [1, 2, 7, 8, 9, 31]
        );
    }
}
