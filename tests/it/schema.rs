//! `coursesync schema`: the committed copies in `schema/` are what the code generates; every
//! sample, fixture and generated valid course passes the course schema under a real JSON Schema
//! validator (draft 7, formats checked), and the rules the schema states are enforced by it.

use std::path::{Path, PathBuf};

use coursesync::ops::schema::{Kind, generate};
use coursesync::schema::toml_to_json;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{coursesync as run, fixtures, stdout};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn validator(kind: Kind) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&generate(kind)).unwrap();
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{kind:?} schema is not a valid draft-07 schema: {e}"))
}

/// A TOML text as the JSON an editor's validator sees.
fn as_json(text: &str) -> Value {
    let value: toml::Value = toml::from_str(text).unwrap();
    toml_to_json(&value)
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The staleness check the team uses: `None` when the file holds `expected`. Otherwise a
/// message; with COURSESYNC_UPDATE_DOCS set the file is rewritten first, and the message still
/// fails the test, so a run that rewrites can never pass.
pub fn stale(path: &Path, expected: &str) -> Option<String> {
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    if actual == expected {
        return None;
    }
    if std::env::var_os("COURSESYNC_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, expected).unwrap();
        return Some(format!(
            "{} updated, re-run without COURSESYNC_UPDATE_DOCS",
            path.display()
        ));
    }
    Some(format!(
        "{} is stale: run COURSESYNC_UPDATE_DOCS=1 cargo test, review the diff, and commit it",
        path.display()
    ))
}

#[test]
fn committed_schemas_are_up_to_date() {
    let problems: Vec<String> = Kind::ALL
        .iter()
        .filter_map(|kind| stale(&root().join(kind.path()), &generate(*kind)))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn cli_prints_each_schema_without_a_settings_file() {
    let dir = tempfile::tempdir().unwrap();
    for (arg, kind) in [("course", Kind::Course), ("settings", Kind::Settings)] {
        let out = run(dir.path(), &["schema", arg]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(stdout(&out), generate(kind));
    }
    let out = run(dir.path(), &["schema", "plan"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unknown schema is a usage error"
    );
}

#[test]
fn schemas_are_draft_07_and_closed() {
    for kind in Kind::ALL {
        let schema: Value = serde_json::from_str(&generate(kind)).unwrap();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["additionalProperties"], false, "{kind:?}");
        // Every object schema that lists properties is closed (deny_unknown_fields).
        let mut open = Vec::new();
        walk(&schema, "", &mut |path, node| {
            if node.get("properties").is_some() && node.get("additionalProperties").is_none() {
                let lists_only_branch = node.get("type").is_none();
                if !lists_only_branch {
                    open.push(path.to_string());
                }
            }
        });
        assert!(open.is_empty(), "{kind:?}: open objects at {open:?}");
    }
}

fn walk(v: &Value, path: &str, f: &mut impl FnMut(&str, &Value)) {
    f(path, v);
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                walk(c, &format!("{path}/{k}"), f);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                walk(c, &format!("{path}/{i}"), f);
            }
        }
        _ => {}
    }
}

fn sample_courses() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root().join("catalog"))
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    files
}

#[test]
fn every_sample_and_valid_fixture_course_passes_the_schema() {
    let v = validator(Kind::Course);
    let mut files = sample_courses();
    assert!(files.len() >= 7, "sample courses: {files:?}");
    files.push(fixtures().join("base.toml"));
    for file in &files {
        let instance = as_json(&std::fs::read_to_string(file).unwrap());
        let found = errors(&v, &instance);
        assert!(found.is_empty(), "{}: {found:#?}", file.display());
    }
}

#[test]
fn dates_reach_the_schema_as_their_toml_text() {
    let json = as_json(&std::fs::read_to_string(fixtures().join("base.toml")).unwrap());
    assert_eq!(json["course"]["valid_until"], "2027-12-31");
    assert_eq!(json["course"]["start"], "2026-12-01");
    let json = as_json(
        "[course]\nstart = 2026-12-01T00:00:00+08:00\nend = 2027-06-30T23:59:59\nat = 07:30:00\n",
    );
    assert_eq!(json["course"]["start"], "2026-12-01T00:00:00+08:00");
    assert_eq!(json["course"]["end"], "2027-06-30T23:59:59");
    assert_eq!(json["course"]["at"], "07:30:00");
}

fn base() -> String {
    std::fs::read_to_string(fixtures().join("base.toml")).unwrap()
}

#[test]
fn unknown_keys_fail_at_every_level() {
    let v = validator(Kind::Course);
    for (label, text) in [
        ("top level", base().replace("title = ", "titel = ")),
        ("top level, added", format!("colour = \"red\"\n{}", base())),
        ("[price]", base().replace("unit = \"节\"", "unti = \"节\"")),
        (
            "[[lessons]]",
            base().replace("name = \"讲义\"", "name = \"讲义\"\nduration = 3"),
        ),
        (
            "[course]",
            base().replace("course_num = 3", "course_num = 3\nlevel = 1"),
        ),
        (
            "refund",
            base().replace("{ days_unused = 7 }", "{ days_unused = 7, days = 1 }"),
        ),
    ] {
        let instance = as_json(&text);
        assert!(
            !v.is_valid(&instance),
            "{label}: a course with an unknown key passed the schema"
        );
    }
}

/// The rules the schema states as keywords; each fixture breaking one of them fails the schema.
/// The others (byte lengths, file existence, extensions, display width, category table, relations
/// between fields, TOML syntax) are described in words and left to `validate`.
const SCHEMA_RULES: &[&str] = &[
    "CS002", "CS003", "CS004", "CS103", "CS201", "CS202", "CS301", "CS305", "CS401", "CS402",
    "CS403", "CS405", "CS406", "CS451", "CS611", "CS612", "CS614", "CS701", "CS702", "CS703",
    "CS704", "CS705", "CS706", "CS707",
];

#[test]
fn invalid_fixtures_of_the_rules_the_schema_states_fail_it() {
    let v = validator(Kind::Course);
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(fixtures().join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let code = &name[..5];
        if !SCHEMA_RULES.contains(&code) {
            continue;
        }
        let instance = as_json(&std::fs::read_to_string(&path).unwrap());
        assert!(!v.is_valid(&instance), "{name} passed the schema");
        checked.push(code.to_string());
    }
    checked.sort();
    assert_eq!(checked, SCHEMA_RULES, "a fixture is missing for a rule");
}

#[test]
fn not_blank_means_what_validate_means() {
    let v = validator(Kind::Course);
    let with_title = |title: &str| {
        let mut json = as_json(&base());
        json["title"] = json!(title);
        json
    };
    // Every character Rust trims (validate's "not empty") is white space to the schema too.
    let spaces: Vec<char> = (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
        .collect();
    assert_eq!(spaces.len(), 25);
    for c in &spaces {
        assert!(
            !v.is_valid(&with_title(&format!("{c} {c}"))),
            "U+{:04X} alone passed as a title",
            u32::from(*c)
        );
    }
    // And a character Rust does not trim is content, even one JavaScript counts as a space.
    for title in ["课", "x", "\u{feff}", "\u{200b}", "\u{180e}", " a "] {
        assert!(v.is_valid(&with_title(title)), "{title:?} failed");
    }
}

#[test]
fn text_limits_count_characters_as_validate_does() {
    let v = validator(Kind::Course);
    for (limit, detail_key) in [(10_000, "text"), (100_000, "rich_text")] {
        let with_detail = |n: usize| {
            let mut json = as_json(&base());
            json["details"] = json!([{ detail_key: "字".repeat(n) }]);
            json
        };
        assert!(v.is_valid(&with_detail(limit)), "{detail_key} at {limit}");
        assert!(
            !v.is_valid(&with_detail(limit + 1)),
            "{detail_key} over {limit}"
        );
    }
    // A lesson's text: 10000 for text and image_text, 100000 for rich_text.
    let with_lesson = |kind: &str, n: usize| {
        let mut json = as_json(&base());
        json["lessons"] = json!([{ "name": "l", "type": kind, "text": "字".repeat(n) }]);
        json
    };
    assert!(v.is_valid(&with_lesson("text", 10_000)));
    assert!(!v.is_valid(&with_lesson("text", 10_001)));
    assert!(v.is_valid(&with_lesson("rich_text", 100_000)));
    assert!(!v.is_valid(&with_lesson("rich_text", 100_001)));
}

#[test]
fn settings_files_pass_the_settings_schema_and_unknown_keys_fail_it() {
    let v = validator(Kind::Settings);
    let sample = std::fs::read_to_string(root().join("coursesync.toml")).unwrap();
    let found = errors(&v, &as_json(&sample));
    assert!(found.is_empty(), "{found:#?}");
    assert!(v.is_valid(&as_json("[app]\nappid = \"tt1\"\n")));
    for bad in [
        "[app]\nappid = \"tt1\"\n\n[apply]\nprnue = true\n",
        "[app]\nappid = \"tt1\"\nenvironment = \"staging\"\n",
        "[app]\nappid = \"tt1\"\n\n[apply]\nconcurrency = 0\n",
        "[app]\nappid = \"tt1\"\n\n[apply]\nmax_qps = 0\n",
        "[app]\nappid = \"tt1\"\n\n[catalog]\nassets_base_url = \"ftp://x/\"\n",
        "[app]\nappid = \" \"\n",
        "[catalog]\ndir = \"c\"\n",
    ] {
        assert!(!v.is_valid(&as_json(bad)), "{bad}");
        // ... and the parser agrees.
        assert!(
            coursesync::settings::Settings::parse(Path::new("c.toml"), bad).is_err(),
            "{bad}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// The schema never rejects a course that validate accepts.
    #[test]
    fn generated_valid_courses_pass_the_schema((text, _, _) in crate::validate::course()) {
        let v = validator(Kind::Course);
        let p = crate::support::Project::new();
        p.course("gen.toml", &text);
        prop_assert!(p.load().diagnostics.is_empty());
        let found = errors(&v, &as_json(&text));
        prop_assert!(found.is_empty(), "{}\n{:#?}", text, found);
    }
}
