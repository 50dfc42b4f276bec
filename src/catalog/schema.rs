//! The JSON Schema of a course file (draft-07, what editors' TOML plugins read), generated from
//! the raw serde types in [`super::raw`] — the same types that parse the files — so the schema
//! cannot drift from the parser.
//!
//! The raw types keep every value `Spanned` and some loosely typed (a price may be a float so
//! that `validate` can report it), so each field names, with `#[schemars(with = ...)]`, one of
//! the value schemas below: what a *valid* value looks like. Limits are keywords where JSON
//! Schema states them exactly — integer ranges, enum names, item counts, and character counts
//! (`maxLength` counts Unicode code points, which is what `validate` counts for `text` and
//! `rich_text`) — and words in the description where it cannot: UTF-8 byte lengths, the anchor
//! title's display width, relations between fields (real_price <= price). Every keyword is a
//! rule `validate` applies, so a course the schema rejects is one `validate` rejects.
//!
//! TOML dates become strings in JSON (as taplo, the editors' engine, converts them):
//! `2027-12-31`, `2026-12-01T00:00:00+08:00`, `2027-06-30T23:59:59` — see
//! [`crate::schema::toml_to_json`].

use schemars::{Schema, json_schema};
use serde_json::{Value, json};

use super::codes::{self, Delivery, LessonKind};
use super::rules::limits;
pub use crate::schema::{NonBlank, NonEmpty};
use crate::schema::{finish, generator, non_blank_pattern, value_schema};

/// The draft-07 schema of a course file.
pub fn course() -> Value {
    finish(generator().into_root_schema_for::<super::raw::RawCourse>())
}

value_schema!(
    /// Text content: not blank, at most 10000 characters.
    Text,
    json_schema!({
        "type": "string",
        "pattern": non_blank_pattern(),
        "maxLength": limits::TEXT_CHARS,
    })
);

value_schema!(
    /// Rich text content: not blank, at most 100000 characters.
    RichText,
    json_schema!({
        "type": "string",
        "pattern": non_blank_pattern(),
        "maxLength": limits::RICH_TEXT_CHARS,
    })
);

value_schema!(
    /// An amount in fen: a whole number from 1 to 1000000.
    Fen,
    json_schema!({ "type": "integer", "minimum": 1, "maximum": limits::PRICE_MAX })
);

value_schema!(
    /// A lesson type by name (codes::LESSONS).
    LessonType,
    json_schema!({ "type": "string", "enum": LessonKind::names() })
);

value_schema!(
    /// A gift type by name (codes::GIFT_KINDS).
    GiftType,
    json_schema!({
        "type": "string",
        "enum": codes::GIFT_KINDS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
    })
);

value_schema!(
    /// A file reference: a path inside the catalog directory, or a hosted URL.
    FileRef,
    json_schema!({ "type": "string", "minLength": 1 })
);

value_schema!(
    /// A TOML date (`2027-12-31`), a string in JSON.
    TomlDate,
    json_schema!({ "type": "string", "format": "date" })
);

value_schema!(
    /// A TOML date, local datetime or offset datetime (not a bare time of day).
    TomlDateOrDateTime,
    json_schema!({
        "type": "string",
        "anyOf": [
            { "format": "date" },
            { "format": "date-time" },
            { "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?$" }
        ]
    })
);

value_schema!(
    /// `page.query`: string values, no `course_id` key.
    Query,
    json_schema!({
        "type": "object",
        "propertyNames": { "minLength": 1, "not": { "const": "course_id" } },
        "additionalProperties": { "type": "string", "minLength": 1 }
    })
);

/// `[price]`: exactly one price form (CS202).
pub fn price_form(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        json!([
            {
                "required": ["real_price"],
                "not": { "anyOf": [
                    { "required": ["range_min_price"] },
                    { "required": ["range_max_price"] }
                ] }
            },
            {
                "required": ["range_min_price", "range_max_price"],
                "not": { "required": ["real_price"] }
            }
        ]),
    );
}

/// `[[lessons]]`: the content each type takes (CS403) and its length (CS405, CS406), one branch
/// per row of the lesson table.
pub fn lesson_content(schema: &mut Schema) {
    let branches: Vec<Value> = codes::LESSONS
        .iter()
        .map(|row| {
            let limit = if row.kind == LessonKind::RichText {
                limits::RICH_TEXT_CHARS
            } else {
                limits::TEXT_CHARS
            };
            let mut properties = json!({ "type": { "const": row.name } });
            let (required, forbidden) = match row.delivery {
                Delivery::Upload => (
                    "file",
                    (row.kind != LessonKind::ImageText).then_some("text"),
                ),
                Delivery::Inline => ("text", Some("file")),
            };
            if forbidden != Some("text") {
                properties["text"] = json!({ "maxLength": limit });
            }
            let mut branch = json!({ "properties": properties, "required": [required] });
            if let Some(f) = forbidden {
                branch["not"] = json!({ "required": [f] });
            }
            branch
        })
        .collect();
    schema.insert("anyOf".into(), Value::Array(branches));
}

/// `[[details]]`: text, image, text with image, or rich_text alone (CS451).
pub fn detail_block(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        json!([
            { "anyOf": [{ "required": ["text"] }, { "required": ["image"] }] },
            { "required": ["rich_text"] }
        ]),
    );
}

/// `[course]`: teacher_id or institution_id (CS702).
pub fn teacher_or_institution(schema: &mut Schema) {
    schema.insert(
        "anyOf".into(),
        json!([{ "required": ["teacher_id"] }, { "required": ["institution_id"] }]),
    );
}

/// `refund`: exactly one form (CS703).
pub fn one_refund_form(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        json!([
            { "required": ["days_unused"] },
            { "required": ["progress_below_percent"] },
            { "required": ["fixed"] }
        ]),
    );
}
