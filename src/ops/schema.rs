//! `coursesync schema`: the JSON Schema of a course file or of the settings file, generated from
//! the types that parse them (see [`crate::catalog::schema`]).

use std::path::Path;

/// Which file the schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A course file (`catalog/**/*.toml`).
    Course,
    /// The settings file (`coursesync.toml`).
    Settings,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Course, Kind::Settings];

    /// Where the repository keeps the generated copy, relative to its root.
    pub fn path(self) -> &'static Path {
        Path::new(match self {
            Kind::Course => "schema/course.schema.json",
            Kind::Settings => "schema/settings.schema.json",
        })
    }
}

/// The schema as pretty-printed JSON ending in a newline: what `coursesync schema` prints and what
/// `schema/*.schema.json` hold.
pub fn generate(kind: Kind) -> String {
    let value = match kind {
        Kind::Course => crate::catalog::schema::course(),
        Kind::Settings => crate::settings::json_schema(),
    };
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serializes");
    text.push('\n');
    text
}
