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
//! `2027-12-31`, `2026-12-01T00:00:00+08:00`, `2027-06-30T23:59:59` — see [`toml_to_json`].

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use super::codes::{self, Delivery, LessonKind};
use super::rules::limits;

/// The draft-07 schema of a course file.
pub fn course() -> Value {
    finish(generator().into_root_schema_for::<super::raw::RawCourse>())
}

/// The generator every coursesync schema is made with: draft-07.
pub fn generator() -> SchemaGenerator {
    schemars::generate::SchemaSettings::draft07().into_generator()
}

/// Final touches shared by every schema: TOML has no null, so the `null` that schemars allows
/// for an optional field is dropped; `const` becomes a one-value `enum`, which older validators
/// (taplo documents draft 4) also read.
pub fn finish(schema: Schema) -> Value {
    let mut value = schema.to_value();
    tidy(&mut value);
    value
}

const RUST_NUMBER_FORMATS: &[&str] = &[
    "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
    "float", "double",
];

/// Applies [`finish`]'s changes to one schema object and every subschema below it.
fn tidy(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get_mut(key) {
            options.retain(|o| o != &json!({ "type": "null" }));
            if options.len() == 1 {
                let only = options.remove(0);
                map.remove(key);
                if let Value::Object(inner) = only {
                    for (k, v) in inner {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), Value::Array(vec![value]));
    }
    // schemars names Rust number types as formats (`int64`, `uint`, `double`); JSON Schema
    // defines no such formats, and the range keywords already say what is allowed.
    if map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| RUST_NUMBER_FORMATS.contains(&f))
    {
        map.remove("format");
    }
    // Doc comments wrap at 100 columns; a description is one paragraph per blank line.
    if let Some(Value::String(text)) = map.get_mut("description") {
        *text = text
            .split("\n\n")
            .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    for (key, sub) in map.iter_mut() {
        match key.as_str() {
            "properties" | "definitions" | "patternProperties" => {
                if let Value::Object(children) = sub {
                    children.values_mut().for_each(tidy);
                }
            }
            "anyOf" | "oneOf" | "allOf" => {
                if let Value::Array(children) = sub {
                    children.iter_mut().for_each(tidy);
                }
            }
            "items" | "not" | "additionalProperties" | "propertyNames" => tidy(sub),
            _ => {}
        }
    }
}

/// A course file's TOML as the JSON a schema validator sees: tables become objects, and dates
/// and datetimes become their TOML text (`2027-12-31`, `2026-12-01T00:00:00+08:00`), as taplo
/// converts them.
pub fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Characters Rust's `char::is_whitespace` (and so `validate`'s "not empty" check, which trims)
/// counts as white space, as a regular-expression class body.
const WHITESPACE_CLASS: &str =
    "\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// Defines a value schema used through `#[schemars(with = ...)]`: inlined where it is used.
macro_rules! value_schema {
    ($(#[$meta:meta])* $name:ident, $schema:expr) => {
        $(#[$meta])*
        pub struct $name;
        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

/// A text that is not empty and not only white space (`validate` CS103).
pub fn non_blank_pattern() -> String {
    format!("[^{WHITESPACE_CLASS}]")
}

value_schema!(
    /// A text with at least one character that is not white space.
    NonBlank,
    json_schema!({ "type": "string", "pattern": non_blank_pattern() })
);

value_schema!(
    /// A text of at least one character.
    NonEmpty,
    json_schema!({ "type": "string", "minLength": 1 })
);

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
