//! `coursesync probe` through the real binary against the emulator over real HTTP: under every
//! reading set it reports exactly the reading the emulator was started with, for every fact (or
//! says it could not tell, where that reading gives it nothing to see); it delists what it
//! created; `--write` writes `platform-facts.toml` that the client then acts on; it refuses
//! production; the JSON and the table have the documented shape.

use coursesync::emulator::Readings;
use coursesync::emulator::readings::{QueryEcho, StatusField, TokenReading};
use serde_json::{Value, json};

use crate::support::readings::Setup;
use crate::support::{Remote, base_course, show, stderr, stdout};

/// A project on an emulator with `readings`: the base course (the template the probe copies)
/// and a course with audio and pdf lessons (the base course has an office one).
fn project(readings: &Readings) -> Remote {
    let r = Remote::on(
        &Setup {
            readings: readings.clone(),
            probed: false,
        },
        "",
    );
    r.course("a-base.toml", &base_course("a-base"));
    r.course(
        "b-media.toml",
        &base_course("b-media").replace(
            "[[lessons]]\nname = \"讲义\"",
            "[[lessons]]\nname = \"音频\"\ntype = \"audio\"\nfile = \"assets/talk.mp3\"\n\n\
             [[lessons]]\nname = \"文档\"\ntype = \"pdf\"\nfile = \"assets/sheet.pdf\"\n\n\
             [[lessons]]\nname = \"讲义\"",
        ),
    );
    let out = r.run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    r
}

fn probe_json(r: &Remote, extra: &[&str]) -> (Value, std::process::Output) {
    let mut args = vec!["probe", "--format", "json"];
    args.extend_from_slice(extra);
    let out = r.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", show(&out)));
    (doc, out)
}

/// What the probe must report under `r`: (name, assumed, observed, verdict) per fact, with the
/// documents' hypotheses as the assumptions (no platform-facts.toml).
fn expected(r: &Readings) -> Value {
    let fact = |name: &str, assumed: Value, observed: Value| {
        let verdict = if observed.is_null() {
            "unsettled"
        } else if observed == assumed {
            "confirmed"
        } else {
            "contradicted"
        };
        json!({"name": name, "assumed": assumed, "observed": observed, "verdict": verdict})
    };
    let (list, delist) = r.modify_status;
    let codes_accepted = [list, delist].contains(&1) && [list, delist].contains(&2);
    let listing = r.status_field == StatusField::Listing;
    let (status, codes) = if !codes_accepted {
        // The assumed delist code 2 is refused: the listing cannot be toggled.
        (
            fact("query.status_means_listing", json!(false), Value::Null),
            json!({"name": "modify_status.codes", "assumed": {"list": 1, "delist": 2},
                   "observed": null, "verdict": "contradicted"}),
        )
    } else if listing {
        (
            fact("query.status_means_listing", json!(false), json!(true)),
            fact(
                "modify_status.codes",
                json!({"list": 1, "delist": 2}),
                json!({"list": list, "delist": delist}),
            ),
        )
    } else {
        // Both codes accepted, but the platform reports no listing to see them by.
        (
            fact("query.status_means_listing", json!(false), json!(false)),
            fact(
                "modify_status.codes",
                json!({"list": 1, "delist": 2}),
                Value::Null,
            ),
        )
    };
    let types = if r.resource_types == (3, 4, 5) {
        fact(
            "upload.resource_types",
            json!({"audio": 3, "pdf": 4, "office": 5}),
            json!({"audio": 3, "pdf": 4, "office": 5}),
        )
    } else {
        json!({"name": "upload.resource_types", "assumed": {"audio": 3, "pdf": 4, "office": 5},
               "observed": null, "verdict": "contradicted"})
    };
    json!({"format_version": 1, "facts": [
        fact("add.repeat_answers_10140", json!(true), json!(r.add_dedupe)),
        status,
        fact("query.echoes_course", json!(false), json!(r.query_echo == QueryEcho::Full)),
        codes,
        types,
        fact("token.new_revokes_old", json!(false), json!(r.token == TokenReading::Revoked)),
    ]})
}

fn reports_the_reading(setup: &Setup) {
    let readings = &setup.readings;
    let r = project(readings);
    let (doc, out) = probe_json(&r, &[]);
    assert_eq!(doc, expected(readings), "{readings}: {}", show(&out));

    // Every product the probe made is a probe-<timestamp>- course, delisted or named as left.
    let products = r.emulator.products();
    assert_eq!(
        products.len(),
        if readings.add_dedupe { 1 } else { 2 },
        "{products:?}"
    );
    let refused = readings.modify_status == (1, 0);
    for p in &products {
        assert!(p.course_id.starts_with("probe-20"), "{}", p.course_id);
        if refused {
            // Its delist code is unknown: the course stays listed, and probe names it.
            assert!(p.listed);
            assert!(
                stderr(&out).contains(&format!(
                    "left on the platform: {} (product {})",
                    p.course_id, p.product_id
                )),
                "{}",
                show(&out)
            );
        } else {
            assert!(
                !p.listed,
                "{readings}: product {} still listed",
                p.product_id
            );
        }
    }
    // Nothing was written without --write, and no state was made.
    assert!(!r.project.root().join("platform-facts.toml").exists());
    assert!(!r.project.root().join("state/coursesync.db").exists());
}

// The defaults; the four hostile readings at once; swapped listing codes with other resource
// types (the codes can be seen: status follows the listing); a delist code the platform refuses.
crate::support::matrix! {
    reports_the_reading: [default, hostile, swapped_codes, refused_delist];
}

#[test]
fn the_table_names_every_fact_and_the_throwaway_course() {
    let r = project(&Readings::default());
    let out = r.run(&["probe"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("FACT"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        lines[header]
            .split_whitespace()
            .eq(["FACT", "ASSUMED", "OBSERVED", "VERDICT"]),
        "{text}"
    );
    let rows: Vec<&str> = lines[header + 1..header + 7].to_vec();
    assert!(
        rows[0].starts_with("add.repeat_answers_10140") && rows[0].ends_with("confirmed"),
        "{text}"
    );
    assert!(
        rows[2].starts_with("query.echoes_course") && rows[2].ends_with("contradicted"),
        "{text}"
    );
    assert!(rows[3].contains("{ list = 1, delist = 2 }"), "{text}");
    assert!(rows[5].starts_with("token.new_revokes_old"), "{text}");
    let product = r.emulator.products()[0].product_id;
    assert!(
        text.contains(&format!("(product {product}, modify_status 2)")),
        "{text}"
    );
    assert!(
        text.contains("4 confirmed, 2 contradicted, 0 unsettled."),
        "{text}"
    );
    assert!(text.contains("Nothing written"), "{text}");
}

#[test]
fn write_records_the_observations_and_the_client_acts_on_them() {
    // Listing codes swapped: sending the documents' delist code (2) would list the course.
    let readings = Readings::parse(&["modify-status=2/1"]).unwrap();
    let r = project(&readings);
    let (doc, _) = probe_json(&r, &["--write"]);
    assert_eq!(doc["facts"][3]["observed"], json!({"list": 2, "delist": 1}));
    let written = std::fs::read_to_string(r.project.root().join("platform-facts.toml")).unwrap();
    assert!(
        written.contains("\"modify_status.codes\" = { list = 2, delist = 1 }"),
        "{written}"
    );
    assert!(
        written.contains("\"add.repeat_answers_10140\" = true"),
        "{written}"
    );
    assert!(
        written.contains("# Observed by `coursesync probe` on sandbox"),
        "{written}"
    );
    assert!(
        written.contains("after modify_status 2: 2; after modify_status 1: 1"),
        "{written}"
    );

    // The client now delists with 1.
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    r.emulator.finish_audits();
    assert_eq!(r.run(&["refresh"]).status.code(), Some(0));
    r.course(
        "b-media.toml",
        &std::fs::read_to_string(r.project.catalog().join("b-media.toml"))
            .unwrap()
            .replace("listed = true", "listed = false"),
    );
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let b = r
        .emulator
        .products()
        .into_iter()
        .find(|p| p.course_id == "b-media")
        .unwrap();
    assert!(!b.listed, "the course was not delisted");
    let a = r
        .emulator
        .products()
        .into_iter()
        .find(|p| p.course_id == "a-base")
        .unwrap();
    assert!(a.listed);

    // A second probe takes the file as its assumptions: everything it saw is now confirmed.
    let (doc, out) = probe_json(&r, &[]);
    for fact in doc["facts"].as_array().unwrap() {
        assert_ne!(fact["verdict"], "contradicted", "{fact}");
    }
    assert_eq!(doc["facts"][3]["verdict"], "confirmed", "{}", show(&out));
}

#[test]
fn production_is_refused_even_with_a_base_url() {
    let r = project(&Readings::default());
    let settings = r.project.root().join("coursesync.toml");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("environment = \"sandbox\"", "environment = \"production\"");
    std::fs::write(&settings, text).unwrap();
    for format in ["human", "json"] {
        let out = r.run(&["probe", "--format", format, "--write"]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert!(
            stderr(&out).contains("probe refuses environment = \"production\""),
            "{}",
            show(&out)
        );
        assert!(stderr(&out).contains("hint: "), "{}", show(&out));
        assert_eq!(stdout(&out), "");
    }
    assert_eq!(r.emulator.calls().len(), 0, "production was called");
    assert!(!r.project.root().join("platform-facts.toml").exists());
}

#[test]
fn the_local_platform_is_probed_in_process_but_not_written() {
    let p = crate::support::Project::new();
    p.course("a.toml", &base_course("a"));
    let out = p.run(&["probe", "--write"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("probe --write refuses the in-process local platform"),
        "{}",
        show(&out)
    );
    let out = p.run(&["probe", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let observed: Vec<&Value> = doc["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["observed"])
        .collect();
    // The local platform runs the default readings.
    assert_eq!(
        observed,
        [
            &json!(true),
            &json!(true),
            &json!(true),
            &json!({"list": 1, "delist": 2}),
            &Value::Null, // the catalog has no audio or pdf lesson to try
            &json!(false)
        ]
    );
}

#[test]
fn a_lost_add_answer_leaves_its_facts_unsettled_and_names_the_course() {
    let r = project(&Readings::default());
    r.emulator.set_fault(
        "add",
        coursesync::emulator::FaultSpec {
            next: [coursesync::emulator::FaultKind::Performed504].into(),
            ..coursesync::emulator::FaultSpec::default()
        },
    );
    let (doc, out) = probe_json(&r, &[]);
    let verdicts: Vec<(&str, &str)> = doc["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("add.repeat_answers_10140", "unsettled"),
            ("query.status_means_listing", "unsettled"),
            ("query.echoes_course", "unsettled"),
            ("modify_status.codes", "unsettled"),
            ("upload.resource_types", "confirmed"),
            ("token.new_revokes_old", "confirmed"),
        ],
        "{}",
        show(&out)
    );
    // The add was performed: the probe cannot know its product, and says where to look.
    let product = r.emulator.products();
    assert_eq!(product.len(), 1);
    assert!(
        stderr(&out).contains(&format!("{} may exist", product[0].course_id)),
        "{}",
        show(&out)
    );
    assert_eq!(r.emulator.count("add"), 1, "not sent again");
}

#[test]
fn written_dedupe_lets_apply_send_a_lost_add_again() {
    // Without platform-facts.toml a lost add answer is held; after probe --write on a platform
    // that deduplicates, it is sent again and adopted in the same run.
    let r = project(&Readings::default());
    let lose_one = || {
        r.emulator.set_fault(
            "add",
            coursesync::emulator::FaultSpec {
                next: [coursesync::emulator::FaultKind::Performed504].into(),
                ..coursesync::emulator::FaultSpec::default()
            },
        );
    };
    std::fs::remove_file(r.project.catalog().join("b-media.toml")).unwrap();
    lose_one();
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(r.unknown_outcomes(), ["a-base"]);
    assert_eq!(r.emulator.count_for("a-base", "add"), 1);

    let (doc, _) = probe_json(&r, &["--write"]);
    assert_eq!(doc["facts"][0]["observed"], true);
    // The held course is sent again knowingly: 10140 names its product, which is adopted.
    let out = r.run(&["apply", "--auto-approve", "--resend", "a-base"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // A new course whose add answer is lost is sent again on its own and adopted.
    r.course("c-next.toml", &base_course("c-next"));
    lose_one();
    let out = r.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(r.unknown_outcomes().is_empty());
    assert_eq!(r.live_products("a-base").len(), 1);
    assert_eq!(r.live_products("c-next").len(), 1);
    assert_eq!(r.emulator.count_for("c-next", "add"), 2);
    r.assert_no_duplicate_no_lost(&["a-base".to_owned(), "c-next".to_owned()].into());
}

#[test]
fn without_working_credentials_or_a_files_url_the_probe_fails_and_creates_nothing() {
    let r = project(&Readings::default());
    // No secret at all, then a wrong one: exit 1 naming the variable, nothing added.
    let out = r
        .command(&["probe"])
        .env_remove("COURSESYNC_APP_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("COURSESYNC_APP_SECRET"),
        "{}",
        show(&out)
    );
    assert_eq!(stdout(&out), "");
    let out = r
        .command(&["probe", "--format", "json"])
        .env("COURSESYNC_APP_SECRET", "wrong-secret-5c1e")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("40017"), "{}", show(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(r.emulator.count("add"), 0);
    assert_eq!(r.emulator.count("upload_resource"), 0);

    // No assets_base_url with local files to upload: refused before any call.
    let settings = r.project.root().join("coursesync.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let without = text
        .lines()
        .filter(|l| !l.starts_with("assets_base_url"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(without, text);
    std::fs::write(&settings, without).unwrap();
    let calls = r.emulator.calls().len();
    let out = r.run(&["probe"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("catalog.assets_base_url is not set"),
        "{}",
        show(&out)
    );
    assert!(stderr(&out).contains("hint: "), "{}", show(&out));
    assert_eq!(r.emulator.calls().len(), calls, "the platform was called");
    assert!(!r.project.root().join("platform-facts.toml").exists());
}
