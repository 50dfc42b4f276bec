//! `validate`: each rule's fixture is reported with its code at its position; valid courses
//! (the sample, the base, generated ones) validate clean; the real binary's output and exit codes.

use std::path::Path;

use coursesync::catalog::{Severity, rules};
use proptest::prelude::*;

use crate::support::{Project, fixtures, stderr, stdout};

/// (code, line, col) from a fixture's `# expect: CODE LINE:COL` header.
fn expectation(text: &str) -> (String, usize, usize) {
    let header = text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("# expect: ")
        .unwrap();
    let (code, pos) = header.split_once(' ').unwrap();
    let (line, col) = pos.split_once(':').unwrap();
    (
        code.to_string(),
        line.parse().unwrap(),
        col.parse().unwrap(),
    )
}

fn fixture_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn base_fixture_is_valid() {
    let p = Project::new();
    p.course(
        "base.toml",
        &std::fs::read_to_string(fixtures().join("base.toml")).unwrap(),
    );
    let loaded = p.load();
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.catalog.courses.len(), 1);
}

#[test]
fn each_fixture_reports_its_rule_at_its_position() {
    for path in fixture_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (code, line, col) = expectation(&text);
        let p = Project::new();
        p.course("course.toml", &text);
        let loaded = p.load();
        let found: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| format!("{} {}:{}", d.code, d.location.line, d.location.col))
            .collect();
        assert!(
            found.contains(&format!("{code} {line}:{col}")),
            "{}: expected {code} at {line}:{col}, found {found:?}",
            path.display()
        );
        let rule = rules::ALL.iter().find(|r| r.code == code).unwrap();
        if rule.severity == Severity::Error {
            assert!(
                loaded.catalog.courses.is_empty(),
                "{}: an invalid course reached the catalog",
                path.display()
            );
        }
    }
}

/// Rules whose fixtures cannot be a single file; each has its own test below.
const SPECIAL: &[&str] = &["CS005", "CS102"];

#[test]
fn every_rule_has_a_fixture() {
    let names: Vec<String> = fixture_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for rule in rules::ALL {
        let covered = SPECIAL.contains(&rule.code)
            || names
                .iter()
                .any(|n| n.starts_with(&format!("{}-", rule.code)));
        assert!(covered, "rule {} ({}) has no fixture", rule.code, rule.name);
    }
}

fn base() -> String {
    std::fs::read_to_string(fixtures().join("base.toml")).unwrap()
}

#[test]
fn duplicate_course_id_points_at_both_places() {
    let p = Project::new();
    p.course("a/one.toml", &base())
        .course("b/two.toml", &format!("# a copy\n{}", base()));
    let loaded = p.load();
    let dup: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == rules::COURSE_ID_DUPLICATE.code)
        .collect();
    assert_eq!(dup.len(), 1, "{:#?}", loaded.diagnostics);
    assert_eq!(dup[0].location.file, Path::new("catalog/b/two.toml"));
    assert_eq!((dup[0].location.line, dup[0].location.col), (2, 13));
    assert_eq!(
        dup[0].related[0].location.file,
        Path::new("catalog/a/one.toml")
    );
    assert_eq!(
        (
            dup[0].related[0].location.line,
            dup[0].related[0].location.col
        ),
        (1, 13)
    );
    assert!(loaded.catalog.courses.is_empty());
}

#[test]
fn unreadable_course_file_is_a_finding_not_a_crash() {
    let p = Project::new();
    std::fs::write(p.catalog().join("bad.toml"), b"title = \"\xff\xfe\"\n").unwrap();
    let loaded = p.load();
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].code, rules::FILE_READ.code);
    assert_eq!(
        (
            loaded.diagnostics[0].location.line,
            loaded.diagnostics[0].location.col
        ),
        (1, 1)
    );
}

#[test]
fn symlink_leading_out_of_the_catalog_is_refused() {
    let p = Project::new();
    let outside = p.root().join("outside.jpg");
    std::fs::copy(fixtures().join("assets/cover.jpg"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, p.catalog().join("assets/linked.jpg")).unwrap();
    std::os::unix::fs::symlink(p.root(), p.catalog().join("up")).unwrap();
    p.course(
        "a.toml",
        &base().replace("assets/cover.jpg", "assets/linked.jpg"),
    );
    p.course(
        "b.toml",
        &base()
            .replace("base-course", "other")
            .replace("assets/cover.jpg", "up/outside.jpg"),
    );
    let loaded = p.load();
    let outside: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == rules::FILE_OUTSIDE.code)
        .map(|d| (d.location.file.clone(), d.location.line, d.location.col))
        .collect();
    assert_eq!(
        outside,
        vec![
            (Path::new("catalog/a.toml").to_path_buf(), 6, 9),
            (Path::new("catalog/b.toml").to_path_buf(), 6, 9)
        ]
    );
}

#[test]
fn symlink_inside_the_catalog_is_fine() {
    let p = Project::new();
    std::os::unix::fs::symlink("cover.jpg", p.catalog().join("assets/alias.jpg")).unwrap();
    p.course(
        "a.toml",
        &base().replace("assets/cover.jpg", "assets/alias.jpg"),
    );
    assert!(p.load().diagnostics.is_empty());
}

#[test]
fn findings_of_all_files_come_at_once_sorted() {
    let p = Project::new();
    p.course(
        "b.toml",
        &base()
            .replace("base-course", "b")
            .replace("real_price = 4900", "real_price = 5100"),
    );
    p.course(
        "a.toml",
        &base()
            .replace("base-course", "a")
            .replace("course_num = 3", "course_num = 0")
            .replace("type = \"video\"", "type = \"vid\""),
    );
    let loaded = p.load();
    let got: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{} {}",
                d.location.file.display(),
                d.location.line,
                d.location.col,
                d.code
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "catalog/a.toml:20:8 CS402",
            "catalog/a.toml:55:14 CS701",
            "catalog/b.toml:12:14 CS203"
        ]
    );
}

#[test]
fn dates_are_read_in_china_time_and_become_milliseconds() {
    let p = Project::new();
    p.course(
        "a.toml",
        &base()
            .replace("start = 2026-12-01", "start = 2026-12-01T08:00:00")
            .replace("end = 2027-12-01", "end = 2026-12-01T00:30:00Z"),
    );
    let loaded = p.load();
    let course = &loaded.catalog.courses[0];
    // 2026-12-01T08:00:00+08:00 == 2026-12-01T00:00:00Z
    assert_eq!(course.params.start_ms, Some(1_796_083_200_000));
    assert_eq!(
        course.params.end_ms,
        Some(1_796_083_200_000 + 30 * 60 * 1000)
    );
    assert_eq!(course.params.valid_until.as_deref(), Some("2027-12-31"));
}

#[test]
fn sample_catalog_validates_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = coursesync::catalog::load(&root.join("catalog"), root).unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert!(loaded.catalog.courses.len() >= 6);
}

// ---- generated valid courses -------------------------------------------------------------

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

prop_compose! {
    fn lesson()(kind in prop::sample::select(vec!["video", "audio", "image", "text", "image_text", "rich_text", "pdf", "office"]),
                name in "[a-z第一二三节课 ]{1,20}",
                text in "[\\u4e00-\\u9fa5a-z ]{1,200}") -> String {
        let file = match kind {
            "video" => Some("assets/intro.mp4"),
            "audio" => Some("assets/talk.mp3"),
            "image" | "image_text" => Some("assets/detail.png"),
            "pdf" => Some("assets/sheet.pdf"),
            "office" => Some("assets/slides.pptx"),
            _ => None,
        };
        let head = format!("[[lessons]]\nname = {}\ntype = \"{kind}\"\n", toml_str(&format!("L{name}")));
        match file {
            Some(f) => format!("{head}file = \"{f}\"\n"),
            None => format!("{head}text = {}\n", toml_str(&format!("T{text}"))),
        }
    }
}

prop_compose! {
    pub(crate) fn course()(id in "[a-zA-Z0-9_-]{1,128}",
                title in "[\\u4e00-\\u9fa5A-Za-z0-9 ]{1,60}",
                class in prop::sample::select(coursesync::catalog::categories::KNOWN.to_vec()),
                price in 1i64..=1_000_000,
                real_frac in 0.0f64..=1.0,
                range in any::<bool>(),
                max_extra in 0i64..=1_000_000,
                path in "[a-z]{1,10}(/[a-z]{1,10}){0,5}",
                query in prop::collection::btree_map("[a-z]{1,64}", "[a-zA-Z0-9]{1,128}", 0..4),
                lessons in prop::collection::vec(lesson(), 1..6),
                anchor in "[\\u4e00-\\u9fa5]{1,12}",
                num in 1i64..=10_000,
                refund in 0usize..4) -> (String, i64, i64) {
        let real = ((price as f64) * real_frac).ceil().clamp(1.0, price as f64) as i64;
        let price_block = if range {
            let max = (price + max_extra).min(1_000_000);
            format!("price = {price}\nrange_min_price = {real}\nrange_max_price = {max}\n")
        } else {
            format!("price = {price}\nreal_price = {real}\n")
        };
        let query: Vec<String> = query.iter().filter(|(k, _)| k.as_str() != "course_id").map(|(k, v)| format!("{k} = {}", toml_str(v))).collect();
        let refund = match refund {
            0 => String::new(),
            1 => format!("refund = {{ days_unused = {} }}\n", 1 + num % 100),
            2 => format!("refund = {{ progress_below_percent = {} }}\n", num % 101),
            _ => "refund = { fixed = 2 }\n".to_string(),
        };
        let text = format!(
            "course_id = {}\ntitle = {}\nfirst_class = {}\nsecond_class = {}\npurchase_precaution = \"须知\"\ncover = \"assets/cover.jpg\"\n\n[price]\nunit = \"节\"\n{price_block}\n[page]\npath = {}\nquery = {{ {} }}\n\n{}\n[anchor]\ntitle = {}\n\n[course]\nteacher_id = \"E_1\"\ncourse_num = {num}\n{refund}",
            toml_str(&id), toml_str(&format!("课{title}")), class.0, class.1, toml_str(&path), query.join(", "), lessons.join("\n"), toml_str(&anchor)
        );
        (text, price, real)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn generated_valid_courses_validate_clean((text, price, real) in course()) {
        let p = Project::new();
        p.course("gen.toml", &text);
        let loaded = p.load();
        prop_assert!(loaded.diagnostics.is_empty(), "{}\n{:#?}", text, loaded.diagnostics);
        prop_assert_eq!(loaded.catalog.courses.len(), 1);
        let c = &loaded.catalog.courses[0];
        prop_assert_eq!(c.price.price, price);
        let low = match c.price.form {
            coursesync::catalog::model::PriceForm::Fixed { real_price } => real_price,
            coursesync::catalog::model::PriceForm::Range { min, .. } => min,
        };
        prop_assert_eq!(low, real);
    }
}

// ---- the real binary ---------------------------------------------------------------------

#[test]
fn cli_sample_catalog_is_clean_and_nothing_is_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::new();
    // A copy of the sample project, so that the check "nothing written" is about this run only.
    let status = std::process::Command::new("cp")
        .args([
            "-r",
            &root.join("catalog").to_string_lossy(),
            &p.root().to_string_lossy(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let out = p.run(&["validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("0 errors"), "{}", stdout(&out));
    assert!(!p.root().join("state").exists(), "validate created state/");
}

#[test]
fn cli_reports_file_line_col_code_and_hint_and_exits_1() {
    let p = Project::new();
    p.course(
        "x.toml",
        &base().replace("real_price = 4900", "real_price = 5100"),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("error[CS203]"), "{text}");
    assert!(text.contains("catalog/x.toml:12:14"), "{text}");
    assert!(
        text.contains("hint: real_price is what the buyer pays"),
        "{text}"
    );
    assert!(
        text.contains("1 course file, 0 valid: 1 error, 0 warnings"),
        "{text}"
    );
}

#[test]
fn cli_json_format_is_documented_shape() {
    let p = Project::new();
    p.course(
        "x.toml",
        &base().replace("second_class = 10300", "second_class = 10350"),
    );
    let out = p.run(&["validate", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "warnings alone do not fail");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["warnings"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "CS801");
    assert_eq!(d["rule"], "category-unknown");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["file"], "catalog/x.toml");
    assert_eq!((d["line"].as_u64(), d["col"].as_u64()), (Some(4), Some(16)));
    assert!(d["hint"].as_str().unwrap().contains("10300"));
}

#[test]
fn cli_strict_fails_on_warnings() {
    let p = Project::new();
    p.course(
        "x.toml",
        &base().replace("second_class = 10300", "second_class = 10350"),
    );
    assert_eq!(p.run(&["validate", "--strict"]).status.code(), Some(1));
}

#[test]
fn cli_missing_settings_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::coursesync(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("error: settings file coursesync.toml not found"),
        "{err}"
    );
    assert!(
        err.contains("hint: run coursesync from the repository root"),
        "{err}"
    );
}

#[test]
fn cli_malformed_settings_file_names_the_place() {
    let p = Project::new();
    std::fs::write(
        p.root().join("coursesync.toml"),
        "[app]\nappid = \"tt\"\n[catalog]\ndri = \"x\"\n",
    )
    .unwrap();
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("coursesync.toml:4:1: unknown field `dri`"),
        "{err}"
    );
}

#[test]
fn cli_missing_catalog_directory_is_a_clear_error() {
    let p = Project::new();
    std::fs::remove_dir_all(p.catalog()).unwrap();
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("catalog directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cli_usage_error_exits_1_not_2() {
    // 2 means "changes" for plan --detailed-exitcode and "drift" for drift.
    let p = Project::new();
    let out = p.run(&["plan", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unexpected argument"),
        "{}",
        stderr(&out)
    );
    assert_eq!(p.run(&["--help"]).status.code(), Some(0));
}

#[test]
fn an_image_text_lesson_with_empty_text_is_refused() {
    let p = Project::new();
    p.course(
        "a.toml",
        &base().replace(
            "name = \"幻灯片\"\ntype = \"office\"\nfile = \"assets/slides.pptx\"",
            "name = \"图文\"\ntype = \"image_text\"\nfile = \"assets/detail.png\"\ntext = \"  \"",
        ),
    );
    let loaded = p.load();
    let found: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, d.location.line, d.location.col))
        .collect();
    assert_eq!(found, vec![(rules::EMPTY_TEXT.code, 32, 8)]);
}
