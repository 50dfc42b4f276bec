//! No panic on any input (issue 10, part 3): property tests that feed course files, settings
//! files, saved plans, state payloads and platform answers that are broken in every way we could
//! think of to the code that reads them. A panic anywhere fails the test; so does a finding that
//! does not name its file.
//!
//! Inputs start from the real sample (`catalog/**/*.toml`, `coursesync.toml`, the documented
//! platform answers) and are mutated: truncated, bytes inserted or deleted, values swapped,
//! numbers made huge, strings made of odd Unicode; and, beside those, arbitrary bytes. Case
//! counts are modest so that the suite stays fast (see each `ProptestConfig`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};

use coursesync::platform::facts::{KnownFacts, ListingCodes, ResourceTypes};
use coursesync::platform::{Client, ClientConfig, RetryPolicy, wire};
use coursesync::settings::{Secret, Settings};
use coursesync::state::{Audit, CourseRecord, State};

/// Both readings of every open fact the readers depend on: nothing known (the safe readings),
/// and everything known the other way (listing and the full course read from `query`).
const FACTS: [KnownFacts; 2] = [
    KnownFacts::UNSETTLED,
    KnownFacts {
        add_repeat_answers_10140: Some(false),
        query_status_means_listing: Some(true),
        query_echoes_course: Some(true),
        modify_status_codes: Some(ListingCodes::ASSUMED),
        upload_resource_types: Some(ResourceTypes::ASSUMED),
        token_new_revokes_old: Some(true),
    },
];

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")
}

/// The sample course files, in a fixed order.
fn sample_courses() -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = walk(&sample_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the sample catalog: {files:?}");
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

// ---- mutations -----------------------------------------------------------------------------

/// Values that break things: huge and negative numbers, odd floats, odd Unicode.
const HOSTILE_NUMBERS: &[&str] = &[
    "99999999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "-1",
    "0",
    "1e309",
    "-0.0",
    "nan",
    "inf",
    "0x7fffffff",
    "1_000_000_000_000",
];

/// Integers at the edges: of i64, u64, f64's exact range, and of the datetimes the `time` crate
/// handles (the last second of year 9999 UTC in ms, and the first ms with no +08:00 form).
const EDGE_INTS: &[i128] = &[
    0,
    -1,
    1,
    i64::MAX as i128,
    i64::MIN as i128,
    u64::MAX as i128,
    u64::MAX as i128 + 1,
    (1 << 53) + 1,
    253_402_300_799_000,
    253_402_272_000_001,
    -377_705_116_800_000,
    1_796_054_400_123,
];

const HOSTILE_STRINGS: &[&str] = &[
    "",
    "\\u0000",
    "\u{202e}\u{0301}\u{0301}e\u{0301}",
    "😀👨‍👩‍👧‍👦🏳️‍🌈",
    "a\u{0300}\u{0301}\u{0302}\u{0303}\u{0304}",
    "sha256:ééééééééééééééééééééé",
    "sha256:课课课课课课课课课课课课课课课课",
    "\u{feff}\u{200b}\u{2028}",
    "../../../../etc/passwd",
    "assets/../../x",
    "https://",
    "课",
];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(f64),
    Insert(f64, Vec<u8>),
    Delete(f64, usize),
    /// The n-th run of digits becomes a hostile number.
    Number(usize, usize),
    /// The n-th string's content becomes a hostile string (or random Unicode).
    Text(usize, String),
    /// A hostile string (or random Unicode) goes into the n-th string's content, at a point.
    TextInsert(usize, f64, String),
    /// The values of two `key = value` lines are swapped.
    Swap(usize, usize),
    /// A line is repeated.
    Duplicate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let hostile_or_random = prop_oneof![
        prop::sample::select(HOSTILE_STRINGS).prop_map(str::to_string),
        "\\PC{0,40}",
        prop::collection::vec(any::<char>(), 0..20).prop_map(|c| c.into_iter().collect()),
    ];
    prop_oneof![
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        (0.0..1.0f64, prop::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        (0.0..1.0f64, 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (0usize..40, 0..HOSTILE_NUMBERS.len()).prop_map(|(k, n)| Mutation::Number(k, n)),
        (0usize..10_000, hostile_or_random.clone()).prop_map(|(k, s)| Mutation::Text(k, s)),
        (0usize..10_000, 0.0..1.0f64, hostile_or_random)
            .prop_map(|(k, f, s)| Mutation::TextInsert(k, f, s)),
        (0usize..60, 0usize..60).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (0usize..60).prop_map(Mutation::Duplicate),
    ]
}

fn at(len: usize, f: f64) -> usize {
    ((len as f64) * f).floor().clamp(0.0, len as f64) as usize
}

/// Byte ranges of the runs of ASCII digits in `text`.
fn digit_runs(text: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() {
            let start = i;
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    runs
}

/// Byte ranges of the contents of `"..."` strings (no escapes considered) in `text`.
fn string_contents(text: &[u8]) -> Vec<(usize, usize)> {
    let quotes: Vec<usize> = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'"')
        .map(|(i, _)| i)
        .collect();
    quotes
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0] + 1, c[1]))
        .collect()
}

fn apply(mut text: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        match m {
            Mutation::Truncate(f) => text.truncate(at(text.len(), *f)),
            Mutation::Insert(f, bytes) => {
                let i = at(text.len(), *f);
                text.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete(f, n) => {
                let i = at(text.len(), *f);
                let end = (i + n).min(text.len());
                text.drain(i..end);
            }
            Mutation::Number(k, n) => {
                let runs = digit_runs(&text);
                if let Some((s, e)) = runs.get(k % runs.len().max(1)).copied() {
                    text.splice(s..e, HOSTILE_NUMBERS[*n].bytes());
                }
            }
            Mutation::Text(k, new) => {
                let strings = string_contents(&text);
                if let Some((s, e)) = strings.get(k % strings.len().max(1)).copied() {
                    let escaped = new.replace('\\', "\\\\").replace('"', "\\\"");
                    text.splice(s..e, escaped.bytes());
                }
            }
            Mutation::TextInsert(k, f, new) => {
                let strings = string_contents(&text);
                if let Some((s, e)) = strings.get(k % strings.len().max(1)).copied() {
                    let i = s + at(e - s, *f);
                    let escaped = new.replace('\\', "\\\\").replace('"', "\\\"");
                    text.splice(i..i, escaped.bytes());
                }
            }
            Mutation::Swap(a, b) => {
                let mut lines: Vec<Vec<u8>> =
                    text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let values: Vec<usize> = (0..lines.len())
                    .filter(|i| lines[*i].contains(&b'='))
                    .collect();
                if values.len() >= 2 {
                    let (i, j) = (values[a % values.len()], values[b % values.len()]);
                    let split = |l: &[u8]| {
                        let eq = l.iter().position(|b| *b == b'=').unwrap();
                        (l[..eq].to_vec(), l[eq..].to_vec())
                    };
                    let ((ki, vi), (kj, vj)) = (split(&lines[i]), split(&lines[j]));
                    lines[i] = [ki, vj].concat();
                    lines[j] = [kj, vi].concat();
                }
                text = lines.join(&b'\n');
            }
            Mutation::Duplicate(n) => {
                let mut lines: Vec<Vec<u8>> =
                    text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                if !lines.is_empty() {
                    let i = n % lines.len();
                    let line = lines[i].clone();
                    lines.insert(i, line);
                }
                text = lines.join(&b'\n');
            }
        }
    }
    text
}

// ---- course files: validate and plan ---------------------------------------------------------

/// A project with the sample's assets, local settings and one course file that each case
/// rewrites.
struct Fuzzed {
    dir: tempfile::TempDir,
}

const COURSE_REL: &str = "catalog/fuzz/case.toml";

impl Fuzzed {
    fn new() -> Fuzzed {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("coursesync.toml"),
            "[app]\nappid = \"tt_local_app\"\nenvironment = \"local\"\n",
        )
        .unwrap();
        copy_dir(
            &sample_dir().join("assets"),
            &dir.path().join("catalog/assets"),
        );
        std::fs::create_dir_all(dir.path().join("catalog/fuzz")).unwrap();
        Fuzzed { dir }
    }

    fn settings(&self) -> Settings {
        let file = self.dir.path().join("coursesync.toml");
        Settings::parse(&file, &std::fs::read_to_string(&file).unwrap()).unwrap()
    }

    /// Validates and plans `bytes` as the one course file; checks that every finding names it.
    fn check(&self, bytes: &[u8]) -> Result<(), TestCaseError> {
        std::fs::write(self.dir.path().join(COURSE_REL), bytes).unwrap();
        let settings = self.settings();
        let loaded = coursesync::ops::validate::validate(&settings)
            .map_err(|e| TestCaseError::fail(format!("validate failed outright: {e}")))?;
        for d in &loaded.diagnostics {
            prop_assert_eq!(d.location.file.as_path(), Path::new(COURSE_REL), "{:?}", d);
            for r in &d.related {
                prop_assert_eq!(r.location.file.as_path(), Path::new(COURSE_REL));
            }
        }
        // Rendering the findings must not panic either.
        let _ = coursesync::catalog::render::json(&loaded.diagnostics, loaded.files, 1);
        let mut shown = Vec::new();
        coursesync::catalog::render::human(&mut shown, &loaded.diagnostics, self.dir.path(), false)
            .unwrap();
        match coursesync::ops::plan::plan(&settings, &coursesync::ops::plan::Request::default()) {
            Ok(plan) => {
                prop_assert_eq!(loaded.errors(), 0);
                let _ = coursesync::plan::render::human(&plan);
                let _ = coursesync::plan::render::markdown(&plan);
                let _ = coursesync::plan::render::json(&plan);
            }
            Err(e) => {
                prop_assert!(loaded.errors() > 0, "plan failed on a clean catalog: {e:#}");
                let text = format!("{e:#}");
                prop_assert!(text.contains("error"), "{}", text);
            }
        }
        Ok(())
    }
}

proptest! {
    // 96 mutated files and 48 of arbitrary bytes: about 4 s in a debug build on 2 cores.
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_sample_courses_never_panic_validate_or_plan(
        pick in 0usize..64,
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        thread_local!(static FUZZED: Fuzzed = Fuzzed::new());
        let samples = sample_courses();
        let text = apply(samples[pick % samples.len()].clone(), &mutations);
        FUZZED.with(|f| f.check(&text))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_a_course_file_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..600),
            "\\PC{0,300}".prop_map(String::into_bytes),
        ],
    ) {
        thread_local!(static FUZZED: Fuzzed = Fuzzed::new());
        FUZZED.with(|f| f.check(&bytes))?;
    }
}

#[test]
fn the_sample_courses_plan_cleanly_in_the_fuzz_project() {
    // The fixture the properties start from works: no mutation, no finding.
    let f = Fuzzed::new();
    for text in sample_courses() {
        f.check(&text).unwrap();
        let loaded = coursesync::ops::validate::validate(&f.settings()).unwrap();
        assert_eq!(loaded.errors(), 0, "{:#?}", loaded.diagnostics);
    }
}

// ---- settings files --------------------------------------------------------------------------

fn sample_settings() -> Vec<u8> {
    let mut text =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("coursesync.toml")).unwrap();
    text.extend_from_slice(b"upload_timeout = 1800\nrequest_timeout = 30\n");
    text
}

proptest! {
    // 256 cases: parsing only, well under a second.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn settings_files_never_panic_and_errors_name_the_file(
        bytes in prop_oneof![
            prop::collection::vec(mutation(), 1..5).prop_map(|m| apply(sample_settings(), &m)),
            prop::collection::vec(any::<u8>(), 0..300),
        ],
    ) {
        let path = Path::new("/fuzz/dir/coursesync.toml");
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = Settings::parse(path, &text) {
            prop_assert!(e.to_string().starts_with("/fuzz/dir/coursesync.toml"), "{}", e);
            let _ = e.hint();
        }
    }
}

// ---- saved plans -----------------------------------------------------------------------------

proptest! {
    // 400 cases: a saved plan of the whole sample, its JSON broken part by part (1 to 4 parts),
    // read back and rendered; 64 more with byte-level mutations. About 2 s in a debug build.
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn broken_saved_plans_never_panic(
        parts in prop::collection::vec((0usize..100_000, part()), 1..5),
        mutations in prop::option::weighted(0.15, prop::collection::vec(mutation(), 1..4)),
    ) {
        let text = SAVED_PLAN.with(|p| match mutations {
            Some(m) => apply(p.to_string().into_bytes(), &m),
            None => with_hostile_parts(p, &parts).into_bytes(),
        });
        if let Ok(plan) = serde_json::from_slice::<coursesync::plan::Plan>(&text) {
            let _ = coursesync::plan::render::human(&plan);
            let _ = coursesync::plan::render::markdown(&plan);
            let _ = coursesync::plan::render::json(&plan);
        }
    }
}

thread_local! {
    /// The plan of the whole sample catalog against no state, as `plan --out` saves it.
    static SAVED_PLAN: Value = {
        let f = Fuzzed::new();
        copy_dir(&sample_dir(), &f.dir.path().join("catalog"));
        std::fs::remove_dir_all(f.dir.path().join("catalog/fuzz")).unwrap();
        let plan = coursesync::ops::plan::plan(&f.settings(), &coursesync::ops::plan::Request::default()).unwrap();
        serde_json::from_str(&coursesync::plan::render::json(&plan)).unwrap()
    };
}

// ---- state payloads --------------------------------------------------------------------------

/// JSON of any shape, nested up to `depth`.
fn any_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(HOSTILE_STRINGS).prop_map(|s| json!(s)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(KEYS).prop_map(str::to_string),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys the code looks for, so that random objects hit real paths.
const KEYS: &[&str] = &[
    "err_no",
    "err_msg",
    "err_tips",
    "log_id",
    "data",
    "access_token",
    "expires_in",
    "resource_uri",
    "status",
    "product_id",
    "audit_id",
    "products",
    "product_on_shelf",
    "product_reviewing",
    "common_product_info",
    "course_info",
    "product_status",
    "reject_reason",
    "products_review",
    "course",
    "fulfillment",
    "fulfillment_uri",
    "latest_audit_id",
    "product_class_info_list",
    "title",
    "price",
    "price_info",
    "path_info_lst",
    "path",
    "query",
    "course_id",
    "lessons",
    "details",
    "page",
    "listed",
    "anchor",
    "gift",
    "refund",
    "start",
    "end",
    "valid_until",
    "first_class",
    "second_class",
    "product_fulfillment_lst",
    "product_detail_lst",
    "img_url",
    "fulfillment_url",
    "real_price",
    "range_min_price",
    "start_timestamp",
    "end_timestamp",
    "refund_label",
    "use_label",
    "valid_date",
    "type",
];

proptest! {
    // 48 cases: the sample catalog planned against a state whose payloads are any JSON (or
    // not JSON at all), and the drift comparison of those records.
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_state_payload_never_panics_plan_or_drift(
        payloads in prop::collection::vec(
            prop_oneof![
                any_json(4).prop_map(|v| v.to_string()),
                "\\PC{0,40}",
            ],
            14,
        ),
        audits in prop::collection::vec(0usize..4, 7),
    ) {
        thread_local!(static PROJECT: Fuzzed = {
            let f = Fuzzed::new();
            copy_dir(&sample_dir(), &f.dir.path().join("catalog"));
            std::fs::remove_dir_all(f.dir.path().join("catalog/fuzz")).unwrap();
            f
        });
        PROJECT.with(|f| -> Result<(), TestCaseError> {
            let settings = f.settings();
            let ids = ["go-basics", "hsk-1", "ielts-speaking", "kids-art", "parent-reading", "py-101", "scratch-kids"];
            let records: Vec<CourseRecord> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| CourseRecord {
                    course_id: (*id).to_string(),
                    title: String::new(),
                    product_id: Some(1000 + i as i64),
                    audit: [Audit::InReview, Audit::Approved, Audit::Rejected, Audit::NotSubmitted][audits[i]],
                    reject_reason: None,
                    listed: i % 2 == 0,
                    payload: Some(payloads[2 * i].clone()),
                    payload_hash: Some(format!("h{i}")),
                    approved_payload: Some(payloads[2 * i + 1].clone()),
                    approved_hash: Some(format!("a{i}")),
                    first_applied_at: Some(1),
                    last_applied_at: Some(2),
                    updated_at: 2,
                    lesson_audits: None,
                })
                .collect();
            {
                let state = State::open(&settings.state_path).unwrap();
                state.put_courses(&records).unwrap();
            }
            let plan = coursesync::ops::plan::plan(&settings, &coursesync::ops::plan::Request::default())
                .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
            let _ = coursesync::plan::render::human(&plan);
            let _ = coursesync::plan::render::markdown(&plan);
            for r in &records {
                for facts in &FACTS {
                    let _ = coursesync::drift::compare(r, None, &|_| None, facts);
                }
            }
            Ok(())
        })?;
    }
}

// ---- platform answers ------------------------------------------------------------------------

/// A server that answers every request with the bytes the test put in `body`, HTTP 200.
struct Answering {
    rt: tokio::runtime::Runtime,
    url: String,
    body: Arc<Mutex<Vec<u8>>>,
}

impl Answering {
    fn new() -> Answering {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let body = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&body);
        let url = rt.block_on(async move {
            let app = axum::Router::new().fallback(move || {
                let bytes = shared.lock().unwrap().clone();
                async move { bytes }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            url
        });
        Answering { rt, url, body }
    }

    fn client(&self) -> Client {
        Client::new(ClientConfig {
            product_base: self.url.clone(),
            token_base: self.url.clone(),
            role_base: self.url.clone(),
            appid: "tt_fuzz".into(),
            // A ready token, so that a refusal also makes the client read a token answer.
            access_token: Some(Secret::new("ready")),
            app_secret: Some(Secret::new("secret")),
            concurrency: 2,
            max_qps: 10_000.0,
            request_timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
            },
            check_type: None,
            // Known codes and resource types: the client sends what they say.
            facts: FACTS[1],
        })
        .unwrap()
    }

    /// Every client call, and what the commands do with the answers, on `body`.
    fn exercise(&self, body: Vec<u8>) {
        *self.body.lock().unwrap() = body;
        let client = self.client();
        self.rt.block_on(async {
            let _ = client.authenticate().await;
            let _ = client
                .upload_resource(31, "https://cdn/x.jpg", Some("k"))
                .await;
            let _ = client.query_resource_status("product/resource/x").await;
            let product = sample_product();
            let _ = client.add(&product).await;
            let _ = client.modify(7, &product).await;
            let _ = client
                .modify_no_audit(7, &product.common_product_params.path_info_lst)
                .await;
            let _ = client.modify_status(7, true).await;
            let _ = client.query_class_info().await;
            let _ = client.sync_callback_url("https://cb", "flag").await;
            if let Ok(products) = client.query(&[7, 8]).await {
                for (p, facts) in products
                    .iter()
                    .flat_map(|p| FACTS.iter().map(move |f| (p, f)))
                {
                    let id = p.product_id().unwrap_or(7);
                    if let Ok(adopted) = coursesync::adopt::adopt(id, Some(p), facts) {
                        let _ = coursesync::adopt::course_file(&adopted);
                        let _ = coursesync::adopt::record(&adopted, 0);
                    }
                    let mut record = review_record();
                    record.approved_payload = Some(r#"{"title":"t"}"#.into());
                    let _ = coursesync::drift::compare(&record, Some(p), &|_| None, facts);
                }
            }
            if let Ok(reviews) = client.query_review(&[7, 8]).await {
                for review in reviews.values() {
                    let _ = coursesync::audit::apply_review(&review_record(), review, 0);
                    let _ = coursesync::audit::lesson_audits_json(&review.fulfillment);
                }
            }
        });
    }
}

fn review_record() -> CourseRecord {
    CourseRecord {
        course_id: "py-101".into(),
        title: "t".into(),
        product_id: Some(7),
        audit: Audit::InReview,
        reject_reason: None,
        listed: false,
        payload: Some("{}".into()),
        payload_hash: Some("h".into()),
        approved_payload: None,
        approved_hash: None,
        first_applied_at: None,
        last_applied_at: None,
        updated_at: 0,
        lesson_audits: None,
    }
}

fn sample_product() -> wire::Product {
    serde_json::from_value(json!({
        "common_product_params": {
            "appid": "tt_fuzz", "first_class": 10000, "second_class": 10300, "title": "t",
            "purchase_precaution": "p", "industry_type": 1, "product_img_uri": "u",
            "price_info": {"unit": "节", "price": 2, "real_price": 1},
            "path_info_lst": [{"path": "p", "query": {"course_id": "py-101"}}],
            "product_fulfillment_lst": [], "product_detail_lst": []
        },
        "course_params": {"teacher_id": "E_1", "course_num": 1}
    }))
    .unwrap()
}

/// The documented answers (platform-api.md §2.2, §5, §6), each endpoint's shape.
fn sample_answers() -> Vec<Value> {
    vec![
        json!({"err_no": 0, "err_tips": "success", "data": {"access_token": "0801121846abc", "expires_in": 7200}}),
        json!({"err_no": 0, "err_msg": "", "log_id": 1_234_567_890_123_456_789_u64, "data": {"resource_uri": "product/resource/abc"}}),
        json!({"err_no": 10003, "err_msg": "资源已存在:product/resource/abc", "log_id": "L"}),
        json!({"err_no": 0, "err_msg": "", "log_id": "L", "data": {"status": 2}}),
        json!({"err_no": 0, "err_msg": "success", "log_id": "L", "data": {"product_id": 6_543_216_888_019_123_456_u64, "audit_id": "KNC202202090019433632123456"}}),
        json!({"err_no": 10140, "err_msg": "已进审课程7266291344409690173", "log_id": "L"}),
        json!({"err_no": 10001, "err_msg": "access_token expired", "log_id": "L"}),
        json!({"err_no": 0, "err_msg": "", "log_id": "L", "data": {"audit_id": "KNC1"}}),
        json!({"err_no": 0, "err_msg": "", "log_id": 9, "data": {"products": [{
            "product_on_shelf": {
                "product_id": 7, "product_type": 1,
                "common_product_info": {
                    "title": "Python", "first_class": 10000, "second_class": 10300,
                    "purchase_precaution": "p", "img_url": "http://e/obj/u",
                    "price_info": {"unit": "节", "price": 5000, "real_price": 4900},
                    "path_info_lst": [{"path": "pages/course/index", "query": {"course_id": "py-101"}}],
                    "product_detail_lst": [{"text": "介绍"}, {"img_url": "http://e/obj/i"}, {"rich_text": {"text": "<b>x</b>"}}],
                    "product_fulfillment_lst": [{"fulfillment_content": {"fulfillment_url": "http://e/obj/f", "name": "一"}, "fulfillment_type": 1}],
                    "anchor_info": {"video_anchor_info": {"anchor_title": "a"}}
                },
                "course_info": {"teacher_id": "E_1", "course_num": 3, "teacher_introduction": "x",
                    "refund_label": {"type": 1, "day_before_use_info": {"day": 7}},
                    "use_label": {"valid_date": "2030-01-01"}, "start_timestamp": 1000, "end_timestamp": 2000},
                "product_status": {"status": 2, "reject_reason": "", "latest_audit_id": "KNC1"}
            },
            "product_reviewing": null
        }]}}),
        json!({"err_no": 0, "err_msg": "", "log_id": "L", "data": {"products_review": {"7": {
            "course": {"status": 3, "reject_reason": "{\"fail_reason\":\"禁入课程:非课程教学;课程质量:货不对板\",\"position\":\"标题,封面\"}", "latest_audit_id": "KNC1"},
            "fulfillment": [{"status": 2, "reject_reason": "", "latest_audit_id": "KNV1", "fulfillment_uri": "product/resource/f"}]
        }}}}),
        json!({"err_no": 0, "err_msg": "", "log_id": "L", "data": {"product_class_info_list": [
            {"first_class": 10000, "first_class_name": "少儿", "second_class_list": [{"second_class": 10300, "second_class_name": "编程"}]}
        ]}}),
        json!({"err_no": -1, "err_msg": "system busy"}),
    ]
}

/// The documented answers, the rich ones (`query`, `query_review`) four times over: most of what
/// the commands read is in them.
fn weighted_answers() -> Vec<Value> {
    let samples = sample_answers();
    let mut out = samples.clone();
    for v in samples {
        if v["data"].get("products").is_some() || v["data"].get("products_review").is_some() {
            out.extend(std::iter::repeat_n(v, 3));
        }
    }
    out
}

/// What to do to one part of a JSON document.
#[derive(Debug, Clone)]
enum Part {
    /// Replace it with this raw JSON text (so that numbers no Rust integer holds can be sent).
    Raw(String),
    /// A string: insert this text at a point (as a fraction of its length); other values are
    /// replaced by the text as a JSON string.
    Insert(f64, String),
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        3 => hostile_json().prop_map(Part::Raw),
        1 => (
            0.0..1.0f64,
            prop_oneof![
                prop::sample::select(HOSTILE_STRINGS).prop_map(str::to_string),
                "\\PC{1,8}",
            ]
        )
            .prop_map(|(f, t)| Part::Insert(f, t)),
    ]
}

/// A value to put in place of one part of an answer, as raw JSON text.
fn hostile_json() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(EDGE_INTS).prop_map(|n| n.to_string()),
        1 => prop::sample::select(EDGE_INTS).prop_map(|n| format!("\"{n}\"")),
        1 => prop::sample::select(HOSTILE_NUMBERS)
            .prop_filter("JSON numbers only", |n| !n.contains(['n', 'i', 'x', '_']))
            .prop_map(str::to_string),
        1 => prop::sample::select(HOSTILE_STRINGS).prop_map(|s| Value::from(s).to_string()),
        1 => any::<f64>().prop_map(|f| json!(f).to_string()),
        1 => Just("null".to_string()),
        1 => Just("true".to_string()),
        1 => Just("[]".to_string()),
        1 => Just("{}".to_string()),
        1 => (1usize..300).prop_map(deep),
        1 => any_json(3).prop_map(|v| v.to_string()),
    ]
}

/// Every position in `v` (objects' values and arrays' items, at any depth), as paths, each
/// with whether it is a leaf.
fn positions(v: &Value, path: &mut Vec<Value>, out: &mut Vec<(Vec<Value>, bool)>) {
    out.push((path.clone(), !(v.is_object() || v.is_array())));
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(json!(k));
                positions(child, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                path.push(json!(i));
                positions(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'v>(v: &'v mut Value, path: &[Value]) -> &'v mut Value {
    path.iter().fold(v, |cur, seg| match seg {
        Value::String(k) => &mut cur[k.as_str()],
        _ => &mut cur[seg.as_u64().unwrap() as usize],
    })
}

/// `answer` with the parts at `picks` (indexes into its positions, leaves and containers
/// alike) changed.
fn with_hostile_parts(answer: &Value, picks: &[(usize, Part)]) -> String {
    let mut v = answer.clone();
    let mut raw = Vec::new();
    for (n, (pick, text)) in picks.iter().enumerate() {
        let mut all = Vec::new();
        positions(&v, &mut Vec::new(), &mut all);
        // Four times in five a leaf (where the numbers and strings are), else any part.
        let leaves: Vec<&Vec<Value>> = all.iter().filter(|p| p.1).map(|p| &p.0).collect();
        let any: Vec<&Vec<Value>> = all.iter().map(|p| &p.0).collect();
        let from = if pick % 5 == 0 || leaves.is_empty() {
            &any
        } else {
            &leaves
        };
        let path = from[pick / 5 % from.len()];
        let target = at_path(&mut v, path);
        let text = match (text, &*target) {
            (Part::Raw(raw), _) => raw.clone(),
            (Part::Insert(f, t), Value::String(old)) => {
                let chars: Vec<char> = old.chars().collect();
                let i = at(chars.len(), *f);
                let mut new: String = chars[..i].iter().collect();
                new.push_str(t);
                new.extend(&chars[i..]);
                json!(new).to_string()
            }
            (Part::Insert(_, t), _) => json!(t).to_string(),
        };
        let marker = format!("__hostile_{n}__");
        *target = json!(marker);
        raw.push((format!("\"{marker}\""), text));
    }
    let mut out = v.to_string();
    for (marker, text) in raw {
        out = out.replace(&marker, &text);
    }
    out
}

/// JSON `depth` arrays deep around a number.
fn deep(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// What the commands do with a decoded answer, for every answer type: `bytes` is decoded as each
/// of them, the way the client decodes (platform-api.md §3), and whatever decodes goes on to the
/// code that reads it (adopt, dump, drift, refresh).
fn decode_everything(bytes: &[u8]) {
    use coursesync::platform::wire::Envelope;
    let _ = serde_json::from_slice::<wire::TokenEnvelope>(bytes);
    let _ = serde_json::from_slice::<Envelope<wire::UploadResourceData>>(bytes);
    let _ = serde_json::from_slice::<Envelope<wire::ResourceStatusData>>(bytes);
    let _ = serde_json::from_slice::<Envelope<wire::AddData>>(bytes);
    let _ = serde_json::from_slice::<Envelope<wire::AuditData>>(bytes);
    let _ = serde_json::from_slice::<Envelope<wire::ClassInfoData>>(bytes);
    let _ = serde_json::from_slice::<Envelope<serde::de::IgnoredAny>>(bytes);
    if let Ok(Envelope { data: Some(q), .. }) =
        serde_json::from_slice::<Envelope<wire::QueryData>>(bytes)
    {
        for (p, facts) in q
            .products
            .iter()
            .flat_map(|p| FACTS.iter().map(move |f| (p, f)))
        {
            let id = p.product_id().unwrap_or(7);
            if let Ok(adopted) = coursesync::adopt::adopt(id, Some(p), facts) {
                let _ = coursesync::adopt::course_file(&adopted);
                let _ = coursesync::adopt::record(&adopted, 0);
            }
            let mut record = review_record();
            record.audit = Audit::Approved;
            record.approved_payload = Some(r#"{"title":"t"}"#.into());
            let _ = coursesync::drift::compare(&record, Some(p), &|_| None, facts);
            let _ = coursesync::drift::compare(&review_record(), Some(p), &|_| None, facts);
        }
    }
    if let Ok(Envelope { data: Some(r), .. }) =
        serde_json::from_slice::<Envelope<wire::QueryReviewData>>(bytes)
    {
        for review in r.products_review.values() {
            let _ = coursesync::audit::apply_review(&review_record(), review, 0);
            let _ = coursesync::audit::lesson_audits_json(&review.fulfillment);
            if let Some(reason) = review
                .course
                .as_ref()
                .and_then(|c| c.reject_reason.as_deref())
            {
                let _ = coursesync::audit::readable_reason(reason);
            }
        }
    }
}

proptest! {
    // 2,000 cases, decoding only (no network): about 1 s in a debug build.
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn answers_of_the_right_shape_with_wrong_parts_never_panic_decoding(
        pick in 0usize..64,
        parts in prop::collection::vec((0usize..100_000, part()), 1..4),
    ) {
        let samples = weighted_answers();
        let text = with_hostile_parts(&samples[pick % samples.len()], &parts);
        decode_everything(text.as_bytes());
    }
}

proptest! {
    // 500 cases of any JSON, any bytes, and deep nesting; decoding only.
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_never_panics_decoding(
        body in prop_oneof![
            any_json(5).prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..200),
            (1usize..5000).prop_map(|d| format!("{{\"err_no\":0,\"data\":{}}}", deep(d)).into_bytes()),
        ],
    ) {
        decode_everything(&body);
    }
}

proptest! {
    // 48 cases end to end: every client call against the same broken answer over HTTP, so the
    // client's own reading (retries, token refusals, 10003/10140 messages, review keys) runs
    // too. About 3 s in a debug build.
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn broken_answers_never_panic_the_client_end_to_end(
        pick in 0usize..64,
        parts in prop::collection::vec((0usize..100_000, part()), 0..3),
        bytes in prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 0..100)),
    ) {
        thread_local!(static SERVER: Answering = Answering::new());
        let samples = sample_answers();
        let body = bytes.unwrap_or_else(|| {
            with_hostile_parts(&samples[pick % samples.len()], &parts).into_bytes()
        });
        SERVER.with(|s| s.exercise(body));
    }
}

#[test]
fn a_huge_expires_in_from_the_token_endpoint_is_used_safely() {
    let server = Answering::new();
    for expires_in in ["9223372036854775807", "-9223372036854775808", "0", "1e300"] {
        *server.body.lock().unwrap() = format!(
            r#"{{"err_no":0,"err_tips":"success","data":{{"access_token":"tok","expires_in":{expires_in}}}}}"#
        )
        .into_bytes();
        let mut config = server.client_config_without_ready_token();
        config.access_token = None;
        let client = Client::new(config).unwrap();
        // The token answer is also what every product call gets back; only the exchange matters.
        let _ = server.rt.block_on(client.authenticate());
        let _ = server.rt.block_on(client.query_class_info());
    }
}

impl Answering {
    fn client_config_without_ready_token(&self) -> ClientConfig {
        ClientConfig {
            product_base: self.url.clone(),
            token_base: self.url.clone(),
            role_base: self.url.clone(),
            appid: "tt_fuzz".into(),
            access_token: None,
            app_secret: Some(Secret::new("secret")),
            concurrency: 2,
            max_qps: 10_000.0,
            request_timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
            },
            check_type: None,
            facts: coursesync::platform::facts::KnownFacts::UNSETTLED,
        }
    }
}

#[test]
fn the_known_spots_slice_no_string_inside_a_character() {
    // A saved plan whose file hash and upload key are not ASCII (a hand-edited plan file).
    let mut plan = SAVED_PLAN.with(Clone::clone);
    // An odd number of ASCII bytes first, so that byte 19 falls inside a character.
    let odd = format!("sha256:a{}", "é".repeat(40));
    let shown = format!("{}…", odd.chars().take(19).collect::<String>());
    let change = plan["courses"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["path"] == "cover")
        .unwrap();
    change["new"] = json!(odd);
    change["old"] = json!(odd);
    plan["uploads"][0]["key"] = json!("课".repeat(20));
    let plan: coursesync::plan::Plan = serde_json::from_value(plan).unwrap();
    assert!(coursesync::plan::render::human(&plan).contains(&shown));
    assert!(coursesync::plan::render::human(&plan).contains("sha256 课课课课课课课课课课课课…"));
    let _ = coursesync::plan::render::markdown(&plan);
    // A drift line about such a value.
    let line = coursesync::cli::drift::change_line(&coursesync::drift::Change {
        path: "cover".into(),
        platform: Some(json!(odd)),
        applied: Some(json!("sha256:abc")),
    });
    assert!(line.contains(&shown), "{line}");
}

#[test]
fn out_of_range_flags_and_settings_are_clear_errors_not_panics() {
    let p = crate::support::Project::new();
    let out = p.run(&["apply", "--wait", "--timeout", "9000h"]);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(err.contains("longer than the limit of 366d"), "{err}");
    for huge in ["18446744073709551615h", "99999999999999999999999"] {
        let out = p.run(&["apply", "--wait", "--timeout", huge]);
        assert_eq!(out.status.code(), Some(1));
        let err = crate::support::stderr(&out);
        assert!(
            err.contains("--timeout") && !err.contains("panicked"),
            "{err}"
        );
    }

    let out = p.run(&["emulator", "--audit-delay", "9000h"]);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(err.contains("longer than the limit of 366d"), "{err}");

    std::fs::write(
        p.root().join("coursesync.toml"),
        "[app]\nappid = \"tt\"\n[apply]\nmax_qps = 1e-300\n",
    )
    .unwrap();
    let out = p.run(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("coursesync.toml: apply.max_qps must be between 0.1 and 10000"),
        "{err}"
    );
}

// ---- the emulator ----------------------------------------------------------------------------

proptest! {
    // 200 requests of the right shape with broken parts (and some of any bytes) to every
    // emulator endpoint: each gets an HTTP answer. Without faults the emulator never drops a
    // connection, so a missing answer is a panic in a handler. About 2 s in a debug build.
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_emulator_answers_any_request(
        endpoint in prop::sample::select(&[
            "token", "upload_resource", "query_resource_status", "add", "modify",
            "modify_no_audit", "modify_status", "query", "query_review", "query_class_info",
            "sync_callback_url",
        ][..]),
        parts in prop::collection::vec((0usize..100_000, part()), 0..4),
        bytes in prop::option::weighted(0.1, prop::collection::vec(any::<u8>(), 0..100)),
    ) {
        thread_local!(static EMU: (coursesync::emulator::testing::TestEmulator, tokio::runtime::Runtime, reqwest::Client) = (
            coursesync::emulator::testing::TestEmulator::new(),
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            reqwest::Client::new(),
        ));
        EMU.with(|(emu, rt, http)| -> Result<(), TestCaseError> {
            let token = emu.token();
            let appid = emu.appid().to_string();
            let product = serde_json::to_value(sample_product()).unwrap();
            let mut product = product;
            product["common_product_params"]["appid"] = json!(appid);
            let body = match endpoint {
                "token" => json!({"appid": appid, "secret": "test-secret", "grant_type": "client_credential"}),
                "upload_resource" => json!({"access_token": token, "appid": appid, "resource_type": 31, "resource_url": "http://127.0.0.1:9/x.jpg"}),
                "query_resource_status" => json!({"access_token": token, "appid": appid, "resource_uri": "product/resource/x"}),
                "add" => json!({"access_token": token, "product_type": 1, "product": product}),
                "modify" => json!({"access_token": token, "product_type": 1, "product_id": 7, "product": product}),
                "modify_no_audit" => json!({"access_token": token, "product_type": 1, "product_id": 7, "product": {"appid": appid, "path_info_lst": [{"path": "p", "query": {"course_id": "c"}}]}}),
                "modify_status" => json!({"access_token": token, "product_status_info": {"appid": appid, "product_id": 7, "status": 1}}),
                "query" | "query_review" => json!({"access_token": token, "appid": appid, "product_ids": [7, 8], "query_type": 1}),
                "sync_callback_url" => json!({"access_token": token, "appid": appid, "callback_url": "http://127.0.0.1:9/cb", "developer_flag": "f"}),
                _ => json!({"access_token": token, "appid": appid}),
            };
            let body = bytes.clone().unwrap_or_else(|| with_hostile_parts(&body, &parts).into_bytes());
            let path = if endpoint == "token" {
                "/api/apps/v2/token".to_string()
            } else {
                format!("/product/api/{endpoint}")
            };
            let answer = rt.block_on(
                http
                    .post(format!("{}{path}", emu.url()))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send(),
            );
            prop_assert!(
                answer.is_ok(),
                "no answer to {} {}: {:?}",
                endpoint,
                String::from_utf8_lossy(&body),
                answer.err()
            );
            Ok(())
        })?;
    }
}
