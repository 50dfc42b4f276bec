//! JSON Schema plumbing shared by the course and settings schemas: the draft-07 generator
//! (schemars), the finishing touches every schema gets, value schemas used through
//! `#[schemars(with = ...)]`, and TOML as the JSON a schema validator sees.

use serde_json::{Value, json};

/// The generator every coursesync schema is made with: draft-07.
pub fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft07().into_generator()
}

/// Final touches shared by every schema: TOML has no null, so the `null` that schemars allows
/// for an optional field is dropped; `const` becomes a one-value `enum`, which older validators
/// (taplo documents draft 4) also read.
pub fn finish(schema: schemars::Schema) -> Value {
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
        impl ::schemars::JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                $schema
            }
        }
    };
}
pub(crate) use value_schema;

/// A text that is not empty and not only white space (`validate` CS103).
pub fn non_blank_pattern() -> String {
    format!("[^{WHITESPACE_CLASS}]")
}

value_schema!(
    /// A text with at least one character that is not white space.
    NonBlank,
    ::schemars::json_schema!({ "type": "string", "pattern": non_blank_pattern() })
);

value_schema!(
    /// A text of at least one character.
    NonEmpty,
    ::schemars::json_schema!({ "type": "string", "minLength": 1 })
);
