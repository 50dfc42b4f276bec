//! `coursesync plan`: every row of PRODUCT.md "How the plan decides", built from a catalog and a
//! state seeded through the library, checked on the `Plan` value and, for a few rows, on the real
//! binary's output; stable ordering; rendering snapshots; saved plans; state errors; and the
//! normalization that keeps a plan right after an apply empty.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use coursesync::catalog::FileRef;
use coursesync::plan::{self, FieldChange, NoteKind, Options, Plan, Send, Stale};
use coursesync::settings::Settings;
use coursesync::state::{Audit, CourseRecord, ResourceRecord, State};
use serde_json::{Value, json};

use crate::support::{Project, stderr, stdout};

const BASE: &str = include_str!("../fixtures/base.toml");

/// The base fixture course under another course_id.
fn base(id: &str) -> String {
    BASE.replace(
        "course_id = \"base-course\"",
        &format!("course_id = \"{id}\""),
    )
}

/// `base(id)` with one piece of text replaced (the piece must be there).
fn edited(id: &str, from: &str, to: &str) -> String {
    let text = base(id);
    assert!(text.contains(from), "{from:?} is not in the base course");
    text.replacen(from, to, 1)
}

fn settings(p: &Project) -> Settings {
    Settings::load(Some(&p.root().join("coursesync.toml"))).unwrap()
}

fn state_path(p: &Project) -> PathBuf {
    p.root().join("state/coursesync.db")
}

fn state(p: &Project) -> State {
    State::open(&state_path(p)).unwrap()
}

fn set_prune(p: &Project) {
    let path = p.root().join("coursesync.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[apply]\nprune = true\n");
    std::fs::write(path, text).unwrap();
}

/// The plan the library makes for the project as it is now.
/// Made the way `coursesync plan` makes it (one streaming pass that keeps only changed payloads),
/// and checked against the reference: `plan::diff` over the whole catalog and state.
fn plan_for(p: &Project, targets: &[&str]) -> Plan {
    let s = settings(p);
    let options = Options {
        prune: s.prune,
        targets: targets.iter().map(ToString::to_string).collect(),
        resend: Vec::new(),
    };
    let streamed = plan::prepare::prepare(&s, false, &options).unwrap().plan();
    let (loaded, digests) = plan::prepare::load_with_digests(&s).unwrap();
    let mut state_view = plan::StateView::default();
    if let Some(st) = State::open_readonly(&s.state_path).unwrap() {
        state_view = plan::StateView {
            lineage: Some(st.lineage()),
            serial: st.serial(),
            courses: st.courses().unwrap(),
            resources: st.resources().unwrap(),
        };
    }
    let reference = plan::diff(&loaded.catalog, &digests, &state_view, &options);
    assert_eq!(
        streamed, reference,
        "the streamed plan differs from plan::diff"
    );
    streamed
}

fn make_plan(p: &Project) -> Plan {
    plan_for(p, &[])
}

/// Every course's canonical payload and hash as the catalog is now.
fn payloads(p: &Project) -> HashMap<String, (Value, String)> {
    let (loaded, digests) = plan::prepare::load_with_digests(&settings(p)).unwrap();
    plan::desired(&loaded.catalog, &digests)
        .into_iter()
        .map(|d| (d.course.course_id.clone(), (d.payload, d.hash)))
        .collect()
}

/// `sha256:<hex>` of a catalog file, computed here (sha2), not through coursesync.
fn file_value(p: &Project, rel: &str) -> String {
    use sha2::Digest as _;
    let bytes = std::fs::read(p.catalog().join(rel)).unwrap();
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The hash of a canonical payload as docs/commands.md defines it: the sha256 of its compact JSON
/// with sorted keys (serde_json's map is sorted).
fn independent_hash(payload: &Value) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(payload.to_string()))
}

/// The canonical payload of the base fixture course (tests/fixtures/base.toml), written by hand
/// from docs/commands.md "The canonical payload" (texts trimmed, `listed` and `course_id` out,
/// the gift type as its code, dates in China time as Unix ms), not computed by coursesync.
fn expected_base_payload(p: &Project) -> Value {
    json!({
        "title": "基础课程",
        "first_class": 10000,
        "second_class": 10300,
        "purchase_precaution": "购买后可反复学习",
        "cover": file_value(p, "assets/cover.jpg"),
        "price": {"unit": "节", "price": 5000, "real_price": 4900},
        "page": {"path": "pages/course/detail", "query": {"channel": "catalog"}},
        "lessons": [
            {"name": "视频课", "type": "video", "file": file_value(p, "assets/intro.mp4")},
            {"name": "讲义", "type": "text", "text": "讲义内容"},
            {"name": "幻灯片", "type": "office", "file": file_value(p, "assets/slides.pptx")},
        ],
        "details": [
            {"text": "课程介绍"},
            {"image": file_value(p, "assets/detail.png")},
            {"rich_text": "<b>富文本</b>"},
        ],
        "anchor": {"title": "基础课程"},
        "gift": {
            "type": 2,
            "name": "电子书",
            "num": 1,
            "pics": ["https://cdn.example.com/a.jpg"],
            "send_back_on_refund": false,
            "policy_desc": "退款可不退赠品",
        },
        "course": {
            "course_num": 3,
            "teacher_id": "E_1",
            "refund": {"days_unused": 7},
            "valid_until": "2027-12-31",
            // 2026-12-01 and 2027-12-01, bare dates read at 00:00 +08:00.
            "start": 1_796_054_400_000_i64,
            "end": 1_827_590_400_000_i64,
        },
    })
}

/// The record an apply of the catalog as it is now would leave for `course_id`, in `audit`.
/// An approved course's approved version is this payload; a rejected one has a reason.
///
/// For a course that is the base fixture as it is, the payload and hash are the hand-written
/// [`expected_base_payload`], so that "unchanged → no action" also checks coursesync's
/// canonicalisation against an independent expectation (a field it dropped, renamed or
/// normalised differently would show as a change). Other courses (edited on purpose by their
/// tests) take coursesync's own payload.
fn applied(p: &Project, course_id: &str, audit: Audit) -> CourseRecord {
    let course = p.load().catalog.get(course_id).unwrap().clone();
    let text = std::fs::read_to_string(p.root().join(&course.source)).unwrap();
    let (payload, hash) = if text == base(course_id) {
        let expected = expected_base_payload(p);
        let hash = independent_hash(&expected);
        (expected, hash)
    } else {
        payloads(p).remove(course_id).unwrap()
    };
    let payload = serde_json::to_string(&payload).unwrap();
    let listed = course.listed;
    let approved = audit == Audit::Approved;
    CourseRecord {
        course_id: course_id.into(),
        title: format!("title of {course_id}"),
        product_id: Some(7_000_000 + course_id.len() as i64),
        audit,
        reject_reason: (audit == Audit::Rejected).then(|| "封面不清晰".into()),
        listed,
        payload: Some(payload.clone()),
        payload_hash: Some(hash.clone()),
        approved_payload: approved.then_some(payload),
        approved_hash: approved.then_some(hash),
        first_applied_at: Some(1_700_000_000_000),
        last_applied_at: Some(1_700_000_000_000),
        updated_at: 1_700_000_000_000,
        lesson_audits: None,
    }
}

fn seed(p: &Project, records: &[CourseRecord]) {
    let st = state(p);
    for r in records {
        st.put_course(r).unwrap();
    }
}

/// Records a finished upload (status 2) for every file every course of the catalog uses now.
fn seed_uploads(p: &Project) {
    let (loaded, digests) = plan::prepare::load_with_digests(&settings(p)).unwrap();
    let st = state(p);
    for course in &loaded.catalog.courses {
        for u in course.file_uses() {
            st.put_resource(&done_upload(
                &plan::resource_key(&u.file, &digests),
                u.resource_type,
            ))
            .unwrap();
        }
    }
}

fn done_upload(key: &str, resource_type: i64) -> ResourceRecord {
    ResourceRecord {
        sha256: key.into(),
        resource_type,
        uri: format!("tos-cn-i/{key}"),
        status: plan::UPLOAD_DONE,
        url: format!("https://cdn.example.com/x?sha256={key}"),
        updated_at: 1_700_000_000_000,
    }
}

fn sha256_of(p: &Project, rel: &str) -> String {
    coursesync::hashing::sha256_file(&p.catalog().join(rel)).unwrap()
}

/// One course `id`, applied and approved, its uploads done: the "nothing changed" start.
fn approved_project(ids: &[&str]) -> Project {
    let p = Project::new();
    for id in ids {
        p.course(&format!("{id}.toml"), &base(id));
    }
    seed_uploads(&p);
    let records: Vec<CourseRecord> = ids
        .iter()
        .map(|id| applied(&p, id, Audit::Approved))
        .collect();
    seed(&p, &records);
    p
}

fn the_course<'a>(plan: &'a Plan, id: &str) -> &'a plan::CourseChange {
    plan.courses
        .iter()
        .find(|c| c.course_id == id)
        .unwrap_or_else(|| panic!("{id} is not in the plan: {plan:#?}"))
}

fn paths(changes: &[FieldChange]) -> Vec<&str> {
    changes.iter().map(|c| c.path.as_str()).collect()
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap()
}

fn json_plan(p: &Project, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let out = p.run(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Canonical payloads and wire bodies against hand-written expectations.

/// A project holding the named sample courses (from `catalog/`) with their assets.
fn sample_project(files: &[&str]) -> Project {
    let p = Project::new();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    for rel in files {
        p.course(rel, &std::fs::read_to_string(sample.join(rel)).unwrap());
    }
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(sample.join("assets"))
        .arg(p.catalog())
        .status()
        .unwrap();
    assert!(status.success());
    p
}

/// Sample courses' canonical payloads, written by hand from their files and docs/commands.md
/// "The canonical payload": every kind of lesson, detail, refund, price and date form the
/// sample uses.
fn expected_sample_payloads(p: &Project) -> Vec<(&'static str, Value)> {
    let f = |rel: &str| file_value(p, rel);
    vec![
        (
            "py-101",
            json!({
                "title": "Python 入门教程",
                "first_class": 10000,
                "second_class": 10300,
                "purchase_precaution": "购买后可在「我的课程」中反复学习；课程为虚拟商品，开课后不支持转让。",
                "cover": f("assets/py-101/cover.jpg"),
                "price": {"unit": "节", "price": 5000, "real_price": 4900},
                "page": {"path": "pages/course/detail", "query": {"channel": "catalog"}},
                "lessons": [
                    {"name": "第一节: Python 介绍", "type": "video", "file": f("assets/py-101/01-intro.mp4")},
                    {"name": "第二节: 安装 Python", "type": "video", "file": f("assets/py-101/02-install.mp4")},
                    // The multi-line string without its first and last newline.
                    {"name": "课程讲义", "type": "text", "text": "1. Python 是一门解释型语言。\n2. 安装时勾选 \"Add Python to PATH\"。\n3. 用 print(\"你好\") 写出第一行代码。"},
                ],
                "details": [
                    {"text": "零基础学 Python：从安装到写出第一个小游戏。"},
                    {"image": f("assets/py-101/detail-1.png")},
                    {"rich_text": "<b>1. 安装步骤</b><p>下载安装包，按提示完成安装。</p>"},
                ],
                "anchor": {"title": "Python 入门"},
                "course": {
                    "course_num": 12,
                    "teacher_id": "E_7283947392973",
                    "refund": {"days_unused": 7},
                    "valid_until": "2027-12-31",
                    "start": 1_796_054_400_000_i64,
                    "end": 1_827_590_400_000_i64,
                },
            }),
        ),
        (
            "kids-art",
            json!({
                "title": "儿童创意美术：颜色与形状",
                "first_class": 10000,
                "second_class": 10400,
                "purchase_precaution": "请准备 A4 纸和彩笔。",
                "cover": f("assets/kids-art/cover.jpg"),
                "price": {"unit": "节", "price": 2990, "real_price": 2990},
                "page": {"path": "pages/art/detail", "query": {"from": "catalog"}},
                "lessons": [
                    {"name": "认识颜色", "type": "image_text", "file": f("assets/kids-art/01-colors.png"), "text": "红黄蓝是三原色，混在一起会变出新颜色。"},
                    {"name": "认识形状", "type": "image_text", "file": f("assets/kids-art/02-shapes.png")},
                ],
                "details": [{"text": "跟着老师一起画，每节 15 分钟。"}],
                "course": {"course_num": 8, "institution_id": "E_1039473947393", "refund": {"days_unused": 3}},
            }),
        ),
        (
            "hsk-1",
            json!({
                "title": "HSK 一级汉语入门",
                "first_class": 30000,
                "second_class": 30200,
                "purchase_precaution": "Course in Chinese with English notes. 购买后一年内有效。",
                "cover": f("assets/hsk-1/cover.jpg"),
                "price": {"unit": "节", "price": 1990, "real_price": 990},
                "page": {"path": "pages/course/detail", "query": {}},
                "lessons": [
                    {"name": "拼音表", "type": "image", "file": f("assets/hsk-1/01-pinyin.png")},
                    {"name": "四个声调", "type": "rich_text", "text": "<p>mā má mǎ mà：一声平、二声扬、三声拐弯、四声降。</p>"},
                ],
                "details": [{"image": f("assets/hsk-1/detail-tones.png")}],
                "gift": {
                    "type": 2,
                    "name": "HSK 一级词汇电子书",
                    "num": 1,
                    "pics": [],
                    "send_back_on_refund": true,
                    "policy_desc": "退款需退回电子书兑换码",
                },
                "course": {"course_num": 15, "teacher_id": "E_3332221110009", "valid_until": "2027-11-30"},
            }),
        ),
        (
            "ielts-speaking",
            json!({
                "title": "雅思口语 7 分冲刺",
                "first_class": 30000,
                "second_class": 30100,
                "purchase_precaution": "课程含 PDF 讲义，可下载打印。",
                "cover": f("assets/ielts-speaking/cover.jpg"),
                "price": {"unit": "期", "price": 29900, "real_price": 19900},
                "page": {"path": "pages/course/detail", "query": {"campaign": "spring", "channel": "ads"}},
                "lessons": [
                    {"name": "Part 1 高分回答结构", "type": "video", "file": f("assets/ielts-speaking/01-part1.mp4")},
                    {"name": "Part 2 话题卡", "type": "pdf", "file": f("assets/ielts-speaking/topics.pdf")},
                ],
                "details": [{"rich_text": "<h3>适合人群</h3><ul><li>目标 7 分的考生</li><li>口语卡在 6 分的同学</li></ul>"}],
                "anchor": {"title": "雅思口语冲刺"},
                "course": {
                    "course_num": 24,
                    "teacher_id": "E_8881234567890",
                    "refund": {"progress_below_percent": 20},
                    // 2026-12-15 and 2027-06-30T23:59:59, read in China time.
                    "start": 1_797_264_000_000_i64,
                    "end": 1_814_371_199_000_i64,
                },
            }),
        ),
    ]
}

#[test]
fn canonical_payloads_equal_hand_written_ones() {
    let p = sample_project(&[
        "programming/py-101.toml",
        "kids/kids-art.toml",
        "language/hsk-1.toml",
        "language/ielts-speaking.toml",
    ]);
    p.course("base.toml", &base("base-course"));
    let mut computed = payloads(&p);
    let mut expected = expected_sample_payloads(&p);
    expected.push(("base-course", expected_base_payload(&p)));
    for (id, want) in expected {
        let (payload, hash) = computed.remove(id).unwrap();
        assert_eq!(payload, want, "{id}");
        assert_eq!(
            hash,
            independent_hash(&want),
            "{id}: the hash of the compact JSON"
        );
    }
}

#[test]
fn the_add_body_follows_platform_api_5_1() {
    // py-101's `product` as platform-api.md §5.1 lays it out, by hand: uris from upload_resource,
    // course_id joining the page query, fulfillment_type by lesson (video 1, text 4), the
    // refund label `{type 1, day_before_use_info}`, use_label, timestamps in ms, the course_id
    // as callback_data (PRODUCT.md "Platform facts the documents leave open").
    let p = sample_project(&["programming/py-101.toml"]);
    let (payload, _) = payloads(&p).remove("py-101").unwrap();
    let uri = |rel: &str, rt: i64| {
        let value = file_value(&p, rel);
        format!("tos/{rt}/{}", value.trim_start_matches("sha256:"))
    };
    let want = json!({
        "common_product_params": {
            "appid": "tt_test_app",
            "first_class": 10000,
            "second_class": 10300,
            "title": "Python 入门教程",
            "purchase_precaution": "购买后可在「我的课程」中反复学习；课程为虚拟商品，开课后不支持转让。",
            "product_fulfillment_lst": [
                {"fulfillment_content": {"fulfillment_uri": uri("assets/py-101/01-intro.mp4", 2), "name": "第一节: Python 介绍"}, "fulfillment_type": 1},
                {"fulfillment_content": {"fulfillment_uri": uri("assets/py-101/02-install.mp4", 2), "name": "第二节: 安装 Python"}, "fulfillment_type": 1},
                {"fulfillment_content": {"name": "课程讲义", "text": "1. Python 是一门解释型语言。\n2. 安装时勾选 \"Add Python to PATH\"。\n3. 用 print(\"你好\") 写出第一行代码。"}, "fulfillment_type": 4},
            ],
            "industry_type": 1,
            "price_info": {"unit": "节", "price": 5000, "real_price": 4900},
            "path_info_lst": [{"path": "pages/course/detail", "query": {"channel": "catalog", "course_id": "py-101"}}],
            "product_detail_lst": [
                {"text": "零基础学 Python：从安装到写出第一个小游戏。"},
                {"img_uri": uri("assets/py-101/detail-1.png", 1)},
                {"rich_text": {"text": "<b>1. 安装步骤</b><p>下载安装包，按提示完成安装。</p>"}},
            ],
            "anchor_info": {"video_anchor_info": {"anchor_title": "Python 入门"}},
            "callback_data": "py-101",
            "product_img_uri": uri("assets/py-101/cover.jpg", 31),
        },
        "course_params": {
            "teacher_id": "E_7283947392973",
            "course_num": 12,
            "refund_label": {"type": 1, "day_before_use_info": {"day": 7}},
            "use_label": {"valid_date": "2027-12-31"},
            "start_timestamp": 1_796_054_400_000_i64,
            "end_timestamp": 1_827_590_400_000_i64,
        },
    });
    let product =
        coursesync::apply::request::product(&payload, "py-101", "tt_test_app", &|key, rt| {
            Some(format!("tos/{rt}/{key}"))
        })
        .unwrap();
    assert_eq!(serde_json::to_value(&product).unwrap(), want);
}

// ---------------------------------------------------------------------------------------------
// The decision table, row by row.

#[test]
fn unknown_course_is_added_after_its_uploads() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    let plan = make_plan(&p);
    assert_eq!(plan.courses.len(), 1);
    let c = &plan.courses[0];
    assert_eq!(c.send, Some(Send::Add));
    assert_eq!(c.product_id, None);
    assert_eq!(c.listing, None);
    assert!(c.payload.is_some() && c.payload_hash.is_some());
    // Everything is new: the title is one of the added fields, with no old value.
    let changes = c.field_changes();
    let title = changes.iter().find(|f| f.path == "title").unwrap();
    // Kept packed in memory (only the payload), shown and serialized in full.
    assert!(c.changes.is_empty());
    let json: serde_json::Value = serde_json::to_value(c).unwrap();
    assert_eq!(
        json["changes"].as_array().unwrap().len(),
        changes.len(),
        "{json}"
    );
    assert_eq!(json["payload"]["title"], "基础课程");
    assert_eq!(
        (title.old.clone(), title.new.clone()),
        (None, Some(json!("基础课程")))
    );
    // cover (31), the video lesson (2), the office lesson (5), the detail image (1).
    let mut sources: Vec<(&str, i64)> = plan
        .uploads
        .iter()
        .map(|u| (u.source.as_str(), u.resource_type))
        .collect();
    sources.sort_unstable();
    assert_eq!(
        sources,
        [
            ("assets/cover.jpg", 31),
            ("assets/detail.png", 1),
            ("assets/intro.mp4", 2),
            ("assets/slides.pptx", 5),
        ]
    );
    assert!(
        plan.uploads
            .iter()
            .all(|u| u.needed_by == ["a"] && !u.is_url)
    );
    assert_eq!(c.uploads.len(), 4);
    assert_eq!(
        (plan.summary.add, plan.summary.uploads, plan.summary.modify),
        (1, 4, 0)
    );
    assert!(plan.has_changes());
}

#[test]
fn a_done_upload_in_state_is_reused_and_an_unfinished_one_is_not() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    let st = state(&p);
    // The cover is uploaded as a cover (done); the video upload is still running (status 1);
    // the slides' upload failed (status 3); the detail image was uploaded as a cover, which
    // does not count for its image use.
    st.put_resource(&done_upload(&sha256_of(&p, "assets/cover.jpg"), 31))
        .unwrap();
    st.put_resource(&ResourceRecord {
        status: 1,
        ..done_upload(&sha256_of(&p, "assets/intro.mp4"), 2)
    })
    .unwrap();
    st.put_resource(&ResourceRecord {
        status: 3,
        ..done_upload(&sha256_of(&p, "assets/slides.pptx"), 5)
    })
    .unwrap();
    st.put_resource(&done_upload(&sha256_of(&p, "assets/detail.png"), 31))
        .unwrap();
    drop(st);
    let plan = make_plan(&p);
    let sources: Vec<&str> = plan.uploads.iter().map(|u| u.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "assets/detail.png",
            "assets/intro.mp4",
            "assets/slides.pptx"
        ]
    );
    assert_eq!(plan.courses[0].send, Some(Send::Add));
    assert!(
        !plan.courses[0]
            .uploads
            .contains(&sha256_of(&p, "assets/cover.jpg"))
    );
    assert_eq!(plan.summary.uploads, 3);
}

#[test]
fn known_and_unchanged_is_no_action() {
    let p = approved_project(&["a"]);
    let plan = make_plan(&p);
    assert!(!plan.has_changes(), "{plan:#?}");
    assert!(plan.courses.is_empty() && plan.uploads.is_empty() && plan.notes.is_empty());
    assert_eq!(plan.summary, plan::Summary::default());
}

#[test]
fn unchanged_in_review_is_no_action_but_counted() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    p.course("b.toml", &base("b"));
    seed_uploads(&p);
    seed(
        &p,
        &[
            applied(&p, "a", Audit::InReview),
            applied(&p, "b", Audit::InReview),
        ],
    );
    let plan = make_plan(&p);
    assert!(!plan.has_changes(), "{plan:#?}");
    assert_eq!(plan.summary.in_review, 2);
    assert_eq!(
        plan.summary.line(),
        "Plan: 0 to add, 0 to modify (re-audit), 0 path-only change, 0 listing change, 0 to delist, 0 uploads."
    );
}

#[test]
fn only_page_changed_is_modify_no_audit_without_uploads() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    // No upload is recorded at all: a path-only change sends no content, so needs none.
    seed(&p, &[applied(&p, "a", Audit::Approved)]);
    p.course(
        "a.toml",
        &edited(
            "a",
            "query = { channel = \"catalog\" }",
            "query = { channel = \"ads\" }",
        ),
    );
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::ModifyNoAudit));
    assert_eq!(c.listing, None);
    assert_eq!(paths(&c.changes), ["page.query.channel"]);
    assert_eq!(c.changes[0].old, Some(json!("catalog")));
    assert_eq!(c.changes[0].new, Some(json!("ads")));
    assert_eq!(c.product_id, Some(7_000_001));
    assert!(plan.uploads.is_empty() && c.uploads.is_empty());
    assert_eq!(
        (
            plan.summary.path_only,
            plan.summary.modify,
            plan.summary.uploads
        ),
        (1, 0, 0)
    );
}

#[test]
fn only_listed_changed_on_a_live_course_is_a_listing_change() {
    let p = approved_project(&["a"]);
    p.course("a.toml", &edited("a", "listed = true", "listed = false"));
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, None, "listing is not content");
    assert_eq!(c.listing, Some(false));
    assert!(!c.removed);
    assert!(c.changes.is_empty() && plan.uploads.is_empty());
    assert_eq!((plan.summary.listing, plan.summary.modify), (1, 0));
}

#[test]
fn delisted_in_first_review_waits_for_approval() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    seed_uploads(&p);
    seed(&p, &[applied(&p, "a", Audit::InReview)]);
    p.course("a.toml", &edited("a", "listed = true", "listed = false"));
    let plan = make_plan(&p);
    assert!(plan.courses.is_empty(), "not live yet: nothing to send");
    assert_eq!(plan.notes.len(), 1);
    assert_eq!(plan.notes[0].kind, NoteKind::PendingListing);
}

#[test]
fn content_changed_in_review_or_approved_is_modify() {
    for audit in [Audit::InReview, Audit::Approved] {
        let p = Project::new();
        p.course("a.toml", &base("a"));
        seed_uploads(&p);
        seed(&p, &[applied(&p, "a", audit)]);
        p.course(
            "a.toml",
            &edited("a", "real_price = 4900", "real_price = 3900"),
        );
        let plan = make_plan(&p);
        let c = the_course(&plan, "a");
        assert_eq!(c.send, Some(Send::Modify), "{audit}");
        assert_eq!(c.product_id, Some(7_000_001));
        assert_eq!(
            c.changes,
            [FieldChange {
                path: "price.real_price".into(),
                old: Some(json!(4900)),
                new: Some(json!(3900)),
            }]
        );
        assert!(plan.uploads.is_empty(), "every file is uploaded already");
        assert_eq!((plan.summary.modify, plan.summary.add), (1, 0));
    }
}

#[test]
fn content_and_page_changed_together_is_modify() {
    let p = approved_project(&["a"]);
    let text = edited("a", "real_price = 4900", "real_price = 3900")
        .replace("pages/course/detail", "pages/course/v2");
    p.course("a.toml", &text);
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::Modify));
    assert_eq!(paths(&c.changes), ["page.path", "price.real_price"]);
}

#[test]
fn a_changed_file_is_uploaded_before_the_modify() {
    let p = approved_project(&["a"]);
    std::fs::write(
        p.catalog().join("assets/intro.mp4"),
        b"a new cut of the video",
    )
    .unwrap();
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::Modify));
    assert_eq!(paths(&c.changes), ["lessons[0].file"]);
    assert_eq!(plan.uploads.len(), 1);
    assert_eq!(plan.uploads[0].source, "assets/intro.mp4");
    assert_eq!(plan.uploads[0].resource_type, 2);
    assert_eq!(c.uploads, [sha256_of(&p, "assets/intro.mp4")]);
}

#[test]
fn rejected_first_add_changed_is_added_again_without_its_dead_product_id() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    seed_uploads(&p);
    let record = applied(&p, "a", Audit::Rejected);
    assert!(record.approved_hash.is_none() && record.product_id.is_some());
    seed(&p, &[record]);
    p.course(
        "a.toml",
        &edited("a", "real_price = 4900", "real_price = 3900"),
    );
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::AddAgain));
    assert_eq!(
        c.product_id, None,
        "a rejected first add's product id is dead"
    );
    assert_eq!(paths(&c.changes), ["price.real_price"]);
    assert_eq!((plan.summary.add, plan.summary.modify), (1, 0));
}

#[test]
fn rejected_modify_changed_is_modified_again_never_added() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    seed_uploads(&p);
    let live = applied(&p, "a", Audit::Approved);
    // A modify (price 3900) was sent and rejected; the approved version stays live.
    p.course(
        "a.toml",
        &edited("a", "real_price = 4900", "real_price = 3900"),
    );
    let rejected = CourseRecord {
        approved_payload: live.approved_payload.clone(),
        approved_hash: live.approved_hash.clone(),
        ..applied(&p, "a", Audit::Rejected)
    };
    seed(&p, &[rejected]);
    p.course(
        "a.toml",
        &edited("a", "real_price = 4900", "real_price = 3800"),
    );
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::Modify));
    assert_eq!(c.product_id, Some(7_000_001), "the product is alive");
    assert_eq!(
        c.changes[0].old,
        Some(json!(3900)),
        "against what was sent last"
    );
    assert_eq!((plan.summary.add, plan.summary.modify), (0, 1));
}

#[test]
fn rejected_unchanged_is_still_rejected_with_its_reason() {
    // Both kinds: a rejected first add, and a rejected modify of a live course.
    let p = Project::new();
    p.course("first.toml", &base("first"));
    p.course("second.toml", &base("second"));
    seed_uploads(&p);
    seed(
        &p,
        &[
            applied(&p, "first", Audit::Rejected),
            CourseRecord {
                approved_hash: Some("0".repeat(64)),
                ..applied(&p, "second", Audit::Rejected)
            },
        ],
    );
    let plan = make_plan(&p);
    assert!(plan.courses.is_empty(), "{plan:#?}");
    assert!(!plan.has_changes());
    assert_eq!(plan.summary.rejected, 2);
    let kinds: Vec<(&str, NoteKind)> = plan
        .notes
        .iter()
        .map(|n| (n.course_id.as_str(), n.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("first", NoteKind::StillRejected),
            ("second", NoteKind::StillRejected)
        ]
    );
    assert!(plan.notes.iter().all(|n| n.message.contains("封面不清晰")));
}

#[test]
fn removed_live_listed_course_is_kept_with_a_warning_without_prune() {
    let p = approved_project(&["a", "gone"]);
    std::fs::remove_file(p.catalog().join("gone.toml")).unwrap();
    let plan = make_plan(&p);
    assert!(plan.courses.is_empty(), "{plan:#?}");
    assert_eq!(plan.notes.len(), 1);
    assert_eq!(plan.notes[0].course_id, "gone");
    assert_eq!(plan.notes[0].kind, NoteKind::RemovedKept);
    assert!(plan.notes[0].message.contains("prune = true"));
    assert_eq!(plan.summary.delist, 0);
}

#[test]
fn removed_live_listed_course_is_delisted_with_prune() {
    let p = approved_project(&["a", "gone"]);
    set_prune(&p);
    std::fs::remove_file(p.catalog().join("gone.toml")).unwrap();
    let plan = make_plan(&p);
    assert_eq!(plan.courses.len(), 1);
    let c = &plan.courses[0];
    assert_eq!(c.course_id, "gone");
    assert!(c.removed);
    assert_eq!(c.listing, Some(false));
    assert_eq!(c.send, None);
    assert_eq!(c.product_id, Some(7_000_004));
    assert!(plan.notes.is_empty());
    assert_eq!(plan.summary.delist, 1);
}

#[test]
fn removed_course_already_delisted_needs_nothing() {
    let p = Project::new();
    p.course(
        "gone.toml",
        &edited("gone", "listed = true", "listed = false"),
    );
    seed_uploads(&p);
    seed(&p, &[applied(&p, "gone", Audit::Approved)]);
    set_prune(&p);
    std::fs::remove_file(p.catalog().join("gone.toml")).unwrap();
    let plan = make_plan(&p);
    assert!(!plan.has_changes() && plan.notes.is_empty(), "{plan:#?}");
}

#[test]
fn new_course_with_listed_false_is_added_with_a_note() {
    let p = Project::new();
    p.course("a.toml", &edited("a", "listed = true", "listed = false"));
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::Add));
    assert!(!c.listed);
    assert_eq!(
        c.listing, None,
        "a new course cannot be delisted before approval"
    );
    assert_eq!(c.notes.len(), 1);
    assert!(c.notes[0].contains("delisted once the platform approves it"));
}

#[test]
fn a_file_shared_by_two_courses_is_one_upload_needed_by_both() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    p.course("b.toml", &base("b"));
    let plan = make_plan(&p);
    assert_eq!(plan.uploads.len(), 4, "{:#?}", plan.uploads);
    assert!(plan.uploads.iter().all(|u| u.needed_by == ["a", "b"]));
    assert_eq!(
        the_course(&plan, "a").uploads,
        the_course(&plan, "b").uploads
    );
}

#[test]
fn a_file_used_with_two_resource_types_is_two_uploads() {
    let p = Project::new();
    // detail.png is the cover (31) and a detail image (1).
    p.course(
        "a.toml",
        &edited(
            "a",
            "cover = \"assets/cover.jpg\"",
            "cover = \"assets/detail.png\"",
        ),
    );
    let plan = make_plan(&p);
    let detail: Vec<i64> = plan
        .uploads
        .iter()
        .filter(|u| u.source == "assets/detail.png")
        .map(|u| u.resource_type)
        .collect();
    assert_eq!(detail, [1, 31]);
    assert_eq!(plan.summary.uploads, 4);
    // One key, two uploads: the course lists the key once.
    let key = sha256_of(&p, "assets/detail.png");
    assert_eq!(
        the_course(&plan, "a")
            .uploads
            .iter()
            .filter(|k| **k == key)
            .count(),
        1
    );
}

#[test]
fn uploads_come_only_for_courses_that_send_content() {
    // Nothing is uploaded; one course changes its page only, one its listing only, one is
    // unchanged: none of them sends content, so no upload is planned.
    let p = Project::new();
    for id in ["page", "listing", "same"] {
        p.course(&format!("{id}.toml"), &base(id));
    }
    let records: Vec<CourseRecord> = ["page", "listing", "same"]
        .iter()
        .map(|id| applied(&p, id, Audit::Approved))
        .collect();
    seed(&p, &records);
    p.course(
        "page.toml",
        &edited("page", "pages/course/detail", "pages/course/v2"),
    );
    p.course(
        "listing.toml",
        &edited("listing", "listed = true", "listed = false"),
    );
    let plan = make_plan(&p);
    assert_eq!(plan.courses.len(), 2);
    assert!(plan.uploads.is_empty(), "{:#?}", plan.uploads);
    assert!(plan.courses.iter().all(|c| c.uploads.is_empty()));
}

#[test]
fn hosted_urls_are_uploaded_by_url() {
    let p = Project::new();
    p.course(
        "a.toml",
        &edited(
            "a",
            "file = \"assets/intro.mp4\"",
            "file = \"https://video.example.com/intro.mp4\"",
        ),
    );
    let plan = make_plan(&p);
    let u = plan.uploads.iter().find(|u| u.is_url).unwrap();
    assert_eq!(u.source, "https://video.example.com/intro.mp4");
    assert!(u.key.starts_with("url:"));
    assert_eq!(u.resource_type, 2);
}

// ---------------------------------------------------------------------------------------------
// The same rows through the real binary.

#[test]
fn binary_json_shows_the_plan_and_detailed_exitcode_says_whether_it_changes_anything() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    let plan = json_plan(&p, &[]);
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["courses"][0]["course_id"], "a");
    assert_eq!(plan["courses"][0]["send"], "add");
    assert_eq!(plan["summary"]["add"], 1);
    assert_eq!(plan["summary"]["uploads"], 4);
    assert_eq!(plan["uploads"].as_array().unwrap().len(), 4);
    assert_eq!(plan["state_lineage"], Value::Null);

    let out = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).contains(
        "Plan: 1 to add, 0 to modify (re-audit), 0 path-only change, 0 listing change, 0 to delist, 4 uploads."
    ));
    // Without the flag, changes still exit 0.
    assert_eq!(code(&p.run(&["plan"])), 0);

    seed_uploads(&p);
    seed(&p, &[applied(&p, "a", Audit::Approved)]);
    let out = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("No changes"));

    p.course(
        "a.toml",
        &edited("a", "real_price = 4900", "real_price = 3900"),
    );
    let plan = json_plan(&p, &[]);
    assert_eq!(plan["courses"][0]["send"], "modify");
    assert_eq!(plan["courses"][0]["changes"][0]["path"], "price.real_price");
    assert_eq!(plan["courses"][0]["changes"][0]["old"], 4900);
    assert_eq!(plan["courses"][0]["changes"][0]["new"], 3900);
    assert_eq!(code(&p.run(&["plan", "--detailed-exitcode"])), 2);
}

#[test]
fn binary_warnings_alone_exit_zero_with_detailed_exitcode() {
    // A still-rejected course and a removed course without prune: warnings, not changes.
    let p = Project::new();
    p.course("rej.toml", &base("rej"));
    p.course("gone.toml", &base("gone"));
    seed_uploads(&p);
    seed(
        &p,
        &[
            applied(&p, "rej", Audit::Rejected),
            applied(&p, "gone", Audit::Approved),
        ],
    );
    std::fs::remove_file(p.catalog().join("gone.toml")).unwrap();
    let out = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("rej: still rejected: 封面不清晰"), "{text}");
    assert!(text.contains("gone: removed from the catalog"), "{text}");
    let plan = json_plan(&p, &[]);
    assert_eq!(plan["notes"][0]["kind"], "removed_kept");
    assert_eq!(plan["notes"][1]["kind"], "still_rejected");

    // With prune, the removed course is a delist: a change.
    set_prune(&p);
    let out = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("1 to delist"));
}

#[test]
fn binary_target_limits_the_plan() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    p.course("b.toml", &base("b"));
    p.course("c.toml", &base("c"));
    let plan = json_plan(&p, &["--target", "b", "--target", "c"]);
    let ids: Vec<&str> = plan["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["course_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b", "c"]);
    assert_eq!(plan["targets"], json!(["b", "c"]));
    assert!(
        plan["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["needed_by"] == json!(["b", "c"]))
    );
    assert_eq!(plan["summary"]["add"], 2);

    // A targeted run leaves a removed course that is not targeted alone.
    seed_uploads(&p);
    seed(&p, &[applied(&p, "a", Audit::Approved)]);
    set_prune(&p);
    std::fs::remove_file(p.catalog().join("a.toml")).unwrap();
    let plan = json_plan(&p, &["--target", "b"]);
    assert_eq!(plan["summary"]["delist"], 0);
    let plan = json_plan(&p, &["--target", "a"]);
    assert_eq!(plan["summary"]["delist"], 1);
    assert_eq!(plan["summary"]["add"], 0);
}

// ---------------------------------------------------------------------------------------------
// Stable ordering.

#[test]
fn two_runs_give_byte_identical_json_in_sorted_order() {
    let p = Project::new();
    // File names in the reverse of the course_id order, and nested.
    p.course("z.toml", &base("alpha"));
    p.course("y/x.toml", &base("beta"));
    p.course("a.toml", &base("gamma"));
    p.course(
        "m.toml",
        &edited(
            "delta",
            "cover = \"assets/cover.jpg\"",
            "cover = \"assets/detail.png\"",
        ),
    );
    let first = p.run(&["plan", "--format", "json"]);
    let second = p.run(&["plan", "--format", "json"]);
    assert_eq!(code(&first), 0);
    assert_eq!(first.stdout, second.stdout);
    let plan: Value = serde_json::from_slice(&first.stdout).unwrap();
    let ids: Vec<&str> = plan["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["course_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alpha", "beta", "delta", "gamma"]);
    let uploads: Vec<(String, i64)> = plan["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["source"].as_str().unwrap().to_string(),
                u["resource_type"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut sorted = uploads.clone();
    sorted.sort();
    assert_eq!(uploads, sorted);
    assert_eq!(uploads.len(), 5);
    assert_eq!(
        plan["uploads"][0]["needed_by"],
        json!(["alpha", "beta", "gamma"])
    );
}

/// A course with `n` text lessons named `lesson 0`, `lesson 1`, ...
fn many_lessons(id: &str, n: usize, renamed: &[usize]) -> String {
    let mut text = base(id);
    let cut = text.find("[[lessons]]").unwrap();
    let rest = text.split_off(cut);
    let after = &rest[rest.find("[[details]]").unwrap()..];
    for i in 0..n {
        let name = if renamed.contains(&i) {
            format!("lesson {i} (revised)")
        } else {
            format!("lesson {i}")
        };
        let _ = write!(
            text,
            "[[lessons]]\nname = \"{name}\"\ntype = \"text\"\ntext = \"text {i}\"\n\n"
        );
    }
    text.push_str(after);
    text
}

#[test]
fn field_changes_are_in_natural_order() {
    let p = Project::new();
    p.course("a.toml", &many_lessons("a", 12, &[]));
    seed_uploads(&p);
    seed(&p, &[applied(&p, "a", Audit::Approved)]);
    p.course("a.toml", &many_lessons("a", 12, &[10, 2]));
    let plan = make_plan(&p);
    let c = the_course(&plan, "a");
    assert_eq!(c.send, Some(Send::Modify));
    assert_eq!(paths(&c.changes), ["lessons[2].name", "lessons[10].name"]);

    // And within a whole new payload: lessons[9] < lessons[10] < lessons[11], price before
    // title, each lesson's fields together.
    let all = plan::field_changes(None, &c.payload.as_ref().unwrap().value());
    let all: Vec<&str> = all.iter().map(|f| f.path.as_str()).collect();
    let pos = |k: &str| all.iter().position(|p| *p == k).unwrap();
    assert!(pos("lessons[2].name") < pos("lessons[2].text"));
    assert!(pos("lessons[2].type") < pos("lessons[10].name"));
    assert!(pos("lessons[9].type") < pos("lessons[10].name"));
    assert!(pos("lessons[10].type") < pos("lessons[11].name"));
    assert!(pos("lessons[11].type") < pos("page.path"));
}

// ---------------------------------------------------------------------------------------------
// Rendering.

const LONG_TEXT_OLD: &str = "第一章 课程介绍\n第二章 安装 Python\n第三章 变量与类型\n第四章 控制流\n第五章 函数\n第六章 模块\n第七章 文件读写";
const LONG_TEXT_NEW: &str = "第一章 课程介绍\n第二章 安装 Python\n第三章 变量、类型与运算\n第四章 控制流\n第五章 函数\n第六章 模块\n第七章 文件读写\n第八章 综合练习";

fn with_long_text(id: &str, text: &str) -> String {
    edited(
        id,
        "text = \"讲义内容\"",
        &format!("text = \"\"\"\n{text}\n\"\"\""),
    )
}

/// A catalog and state whose plan has one of each: an add, a modify with a multi-line text
/// change, a path-only change, a listing change, a delist and a still-rejected course.
fn one_of_each() -> Project {
    let p = Project::new();
    set_prune(&p);
    p.course("modify.toml", &with_long_text("modify", LONG_TEXT_OLD));
    p.course("path.toml", &base("path"));
    p.course("listing.toml", &base("listing"));
    p.course("gone.toml", &base("gone"));
    p.course("rejected.toml", &base("rejected"));
    seed_uploads(&p);
    seed(
        &p,
        &[
            applied(&p, "modify", Audit::Approved),
            applied(&p, "path", Audit::Approved),
            applied(&p, "listing", Audit::Approved),
            applied(&p, "gone", Audit::Approved),
            applied(&p, "rejected", Audit::Rejected),
        ],
    );
    std::fs::write(
        p.catalog().join("assets/new-cover.jpg"),
        b"a new cover image",
    )
    .unwrap();
    p.course(
        "add.toml",
        &edited(
            "add",
            "cover = \"assets/cover.jpg\"",
            "cover = \"assets/new-cover.jpg\"",
        ),
    );
    p.course("modify.toml", &with_long_text("modify", LONG_TEXT_NEW));
    p.course(
        "path.toml",
        &edited("path", "pages/course/detail", "pages/course/v2"),
    );
    p.course(
        "listing.toml",
        &edited("listing", "listed = true", "listed = false"),
    );
    std::fs::remove_file(p.catalog().join("gone.toml")).unwrap();
    p
}

/// Replaces what varies between runs: 64-hex digests (files, payloads, catalog), the 32-hex state
/// lineage, and the 12-hex digest prefixes the human form shows before `…`.
fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !word(chars[i - 1]);
        if starts_word && hex(chars[i]) {
            let end = (i..chars.len())
                .find(|&j| !hex(chars[j]))
                .unwrap_or(chars.len());
            let next = chars.get(end).copied();
            let ends_word = next.is_none_or(|c| !word(c));
            let placeholder = match end - i {
                64 if ends_word => Some("[SHA256]"),
                32 if ends_word => Some("[LINEAGE]"),
                12 if next == Some('…') => Some("[HEX12]"),
                _ => None,
            };
            if let Some(p) = placeholder {
                out.push_str(p);
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[test]
fn rendering_snapshots() {
    let p = one_of_each();
    let plan = make_plan(&p);
    assert_eq!(
        plan.summary.line(),
        "Plan: 1 to add, 1 to modify (re-audit), 1 path-only change, 1 listing change, 1 to delist, 1 uploads."
    );
    assert_eq!(plan.summary.rejected, 1);

    let human = p.run(&["plan"]);
    assert_eq!(code(&human), 0, "{}", stderr(&human));
    let human = stdout(&human);
    assert!(!human.contains('\u{1b}'), "no colour with NO_COLOR");
    // Exactly one summary line, the last one.
    assert_eq!(human.matches("Plan: ").count(), 1);
    assert_eq!(human.lines().last().unwrap(), plan.summary.line());
    // The long text is a line diff.
    assert!(human.contains("-     第三章 变量与类型"), "{human}");
    assert!(human.contains("+     第三章 变量、类型与运算"), "{human}");
    assert!(human.contains("+     第八章 综合练习"), "{human}");
    // An unchanged last line followed by a new one is context, not removed and added again;
    // lines left out between hunks are marked.
    assert!(human.contains("\n          第七章 文件读写\n"), "{human}");
    assert!(!human.contains("-     第七章"), "{human}");
    assert!(human.contains("\n          …\n"), "{human}");

    let markdown = p.run(&["plan", "--format", "markdown"]);
    assert_eq!(code(&markdown), 0);
    let markdown = stdout(&markdown);
    assert!(markdown.contains(&format!("**{}**", plan.summary.line())));

    let json = p.run(&["plan", "--format", "json"]);
    assert_eq!(code(&json), 0);
    let json = stdout(&json);
    let parsed: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, plan);

    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("plan_human", redact(&human));
        insta::assert_snapshot!("plan_markdown", redact(&markdown));
        insta::assert_snapshot!("plan_json", redact(&json));
    });
}

#[test]
fn markdown_of_3000_new_courses_fits_a_pr_comment() {
    let p = Project::new();
    for i in 0..3000 {
        p.course(&format!("c/{i:04}.toml"), &base(&format!("course-{i:04}")));
    }
    let plan = make_plan(&p);
    assert_eq!(plan.summary.add, 3000);
    let md = plan::render::markdown(&plan);
    assert!(md.len() < 60_000, "{} bytes", md.len());
    assert!(md.chars().count() < 60_000);
    assert!(md.contains(
        "**Plan: 3000 to add, 0 to modify (re-audit), 0 path-only change, 0 listing change, 0 to delist, 4 uploads.**"
    ));
    let more = md
        .lines()
        .find(|l| l.contains("more courses not shown"))
        .unwrap_or_else(|| panic!("no 'more courses not shown' line"));
    // The hidden count plus the shown blocks make all 3000.
    let hidden: usize = more
        .trim_start_matches("…and ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let shown = md.matches("<details><summary><code>+ ").count();
    assert!(shown > 0);
    assert_eq!(hidden + shown, 3000);
}

// ---------------------------------------------------------------------------------------------
// Saved plans.

fn current(p: &Project) -> (plan::StateView, String) {
    let prepared = plan::prepare::prepare(&settings(p), false, &Options::default()).unwrap();
    let digest = prepared.catalog_digest();
    (prepared.state, digest)
}

fn saved_plan(p: &Project) -> Plan {
    let out = p.run(&["plan", "--out", "saved.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The note goes to stderr: stdout stays a pure document (`--format json --out` included).
    assert!(stderr(&out).contains("Saved the plan to saved.json"));
    let text = std::fs::read_to_string(p.root().join("saved.json")).unwrap();
    let raw: Value = serde_json::from_str(&text).unwrap();
    for key in ["state_lineage", "state_serial", "catalog_digest"] {
        assert!(raw.get(key).is_some(), "{key} missing from the saved plan");
    }
    assert_eq!(raw["state_lineage"].as_str().unwrap().len(), 32);
    assert_eq!(raw["catalog_digest"].as_str().unwrap().len(), 64);
    serde_json::from_str(&text).unwrap()
}

#[test]
fn saved_plan_is_fresh_right_after_and_stale_after_a_catalog_edit() {
    let p = approved_project(&["a", "b"]);
    p.course(
        "b.toml",
        &edited("b", "real_price = 4900", "real_price = 3900"),
    );
    let saved = saved_plan(&p);
    let st = state(&p);
    assert_eq!(saved.state_lineage, Some(st.lineage()));
    assert_eq!(saved.state_serial, st.serial());
    drop(st);
    let (view, digest) = current(&p);
    assert_eq!(plan::check_fresh(&saved, &view, &digest), Ok(()));

    p.course(
        "a.toml",
        &edited("a", "title = \"基础课程\"", "title = \"新标题\""),
    );
    let (view, digest) = current(&p);
    assert_eq!(
        plan::check_fresh(&saved, &view, &digest),
        Err(Stale::CatalogChanged)
    );
}

#[test]
fn saved_plan_is_stale_after_a_listing_edit() {
    let p = approved_project(&["a"]);
    let saved = saved_plan(&p);
    p.course("a.toml", &edited("a", "listed = true", "listed = false"));
    let (view, digest) = current(&p);
    assert_eq!(
        plan::check_fresh(&saved, &view, &digest),
        Err(Stale::CatalogChanged)
    );
}

#[test]
fn saved_plan_is_stale_after_a_state_write() {
    let p = approved_project(&["a"]);
    p.course(
        "a.toml",
        &edited("a", "real_price = 4900", "real_price = 3900"),
    );
    let saved = saved_plan(&p);
    let st = state(&p);
    let before = st.serial();
    let mut record = st.course("a").unwrap().unwrap();
    record.reject_reason = Some("x".into());
    st.put_course(&record).unwrap();
    assert!(st.serial() > before);
    drop(st);
    let (view, digest) = current(&p);
    assert_eq!(
        plan::check_fresh(&saved, &view, &digest),
        Err(Stale::StateChanged {
            saved: before,
            current: before + 1
        })
    );
}

#[test]
fn saved_plan_is_refused_for_another_state_file() {
    let p = approved_project(&["a"]);
    let saved = saved_plan(&p);
    let lineage = saved.state_lineage.clone().unwrap();
    // A fresh state file at the same path, with the same serial.
    std::fs::remove_dir_all(p.root().join("state")).unwrap();
    seed_uploads(&p);
    seed(&p, &[applied(&p, "a", Audit::Approved)]);
    let (view, digest) = current(&p);
    assert_eq!(view.serial, saved.state_serial, "only the lineage differs");
    match plan::check_fresh(&saved, &view, &digest) {
        Err(Stale::OtherState { saved, current }) => {
            assert_eq!(saved, lineage);
            assert_ne!(current, lineage);
        }
        other => panic!("expected OtherState, got {other:?}"),
    }
    // And a plan made with no state file is stale once state has been written.
    let none = Plan {
        state_lineage: None,
        state_serial: 0,
        ..saved
    };
    assert_eq!(
        plan::check_fresh(&none, &view, &digest),
        Err(Stale::StateChanged {
            saved: 0,
            current: view.serial
        })
    );
}

#[test]
fn plan_writes_no_state_and_a_saved_plan_stays_fresh() {
    // `plan` may refresh the stat cache but never bumps the serial.
    let p = approved_project(&["a"]);
    let serial = state(&p).serial();
    for _ in 0..2 {
        assert_eq!(code(&p.run(&["plan"])), 0);
    }
    assert_eq!(state(&p).serial(), serial);
}

// ---------------------------------------------------------------------------------------------
// State errors.

#[test]
fn corrupt_state_file_is_a_clear_error() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    std::fs::create_dir_all(p.root().join("state")).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let bytes: Vec<u8> = (0..8192).map(|_| rng.u8(..)).collect();
    std::fs::write(state_path(&p), &bytes).unwrap();
    let out = p.run(&["plan"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("is not a coursesync state file (not an SQLite database)"),
        "{err}"
    );
    assert!(err.contains("coursesync.db"), "{err}");
    assert!(stdout(&out).is_empty());
    assert_eq!(
        std::fs::read(state_path(&p)).unwrap(),
        bytes,
        "left as it was"
    );
}

#[test]
fn foreign_sqlite_file_is_a_clear_error() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    std::fs::create_dir_all(p.root().join("state")).unwrap();
    let conn = rusqlite::Connection::open(state_path(&p)).unwrap();
    conn.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('cat');")
        .unwrap();
    drop(conn);
    let out = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("belongs to another program"), "{err}");
    assert!(err.contains("hint: check [state] path"), "{err}");
    let conn = rusqlite::Connection::open(state_path(&p)).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "nothing was added to the foreign file");
}

#[test]
fn plan_without_a_state_file_creates_none() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    for args in [
        &["plan"][..],
        &["plan", "--format", "json"],
        &["plan", "--detailed-exitcode"],
    ] {
        let out = p.run(args);
        assert!(matches!(code(&out), 0 | 2), "{}", stderr(&out));
    }
    assert!(!state_path(&p).exists());
    assert!(!p.root().join("state").exists());
}

// ---------------------------------------------------------------------------------------------
// No phantom diffs.

fn payload_hash(p: &Project, id: &str) -> String {
    payloads(p).remove(id).unwrap().1
}

#[test]
fn whitespace_around_text_is_not_a_change() {
    let p = approved_project(&["a"]);
    let before = payload_hash(&p, "a");
    let text = base("a")
        .replace("title = \"基础课程\"", "title = \"  基础课程 \"")
        .replace(
            "purchase_precaution = \"购买后可反复学习\"",
            "purchase_precaution = \"\"\"\n购买后可反复学习\n\"\"\"",
        )
        .replace("text = \"讲义内容\"", "text = \"讲义内容\\n\"");
    assert_ne!(text, base("a"));
    p.course("a.toml", &text);
    assert_eq!(payload_hash(&p, "a"), before);
    assert!(!make_plan(&p).has_changes());
}

#[test]
fn inline_table_key_order_is_not_a_change() {
    let p = Project::new();
    p.course(
        "a.toml",
        &edited(
            "a",
            "query = { channel = \"catalog\" }",
            "query = { a = \"1\", b = \"2\" }",
        ),
    );
    seed_uploads(&p);
    seed(&p, &[applied(&p, "a", Audit::Approved)]);
    let before = payload_hash(&p, "a");
    p.course(
        "a.toml",
        &edited(
            "a",
            "query = { channel = \"catalog\" }",
            "query = { b = \"2\", a = \"1\" }",
        ),
    );
    assert_eq!(payload_hash(&p, "a"), before);
    assert!(!make_plan(&p).has_changes());
    // A real value change is still seen.
    p.course(
        "a.toml",
        &edited(
            "a",
            "query = { channel = \"catalog\" }",
            "query = { b = \"3\", a = \"1\" }",
        ),
    );
    assert_ne!(payload_hash(&p, "a"), before);
}

#[test]
fn moving_a_course_file_is_not_a_change() {
    let p = approved_project(&["a"]);
    let before = payload_hash(&p, "a");
    std::fs::remove_file(p.catalog().join("a.toml")).unwrap();
    p.course("deep/er/still/a-renamed.toml", &base("a"));
    assert_eq!(payload_hash(&p, "a"), before);
    let plan = make_plan(&p);
    assert!(!plan.has_changes(), "{plan:#?}");
    assert!(plan.notes.is_empty());
}

#[test]
fn redaction_replaces_digests_and_lineages_only() {
    let digest = "0123456789abcdef".repeat(4);
    let text = format!(
        "a {digest} b sha256:{}… \"{}\" add deadbeef",
        &digest[..12],
        &digest[..32]
    );
    assert_eq!(
        redact(&text),
        "a [SHA256] b sha256:[HEX12]… \"[LINEAGE]\" add deadbeef"
    );
}

#[test]
fn field_changes_of_equal_payloads_are_empty() {
    let p = Project::new();
    p.course("a.toml", &base("a"));
    let (payload, _) = payloads(&p).remove("a").unwrap();
    assert!(plan::field_changes(Some(&payload), &payload).is_empty());
    let file = FileRef::Local("assets/cover.jpg".into());
    let digests = HashMap::from([("assets/cover.jpg".to_string(), "ab".repeat(32))]);
    assert_eq!(plan::resource_key(&file, &digests), "ab".repeat(32));
}

#[test]
fn json_with_out_keeps_stdout_a_pure_document() {
    let p = approved_project(&["a"]);
    let out = p.run(&["plan", "--format", "json", "--out", "saved.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["format_version"], 1);
}
