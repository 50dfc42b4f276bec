//! `cargo bench --bench report`: the status report at 10,000 realistic courses (Chinese titles,
//! the platform's reject reasons, 19-digit product ids). Prints wall times and the page's size;
//! asserts nothing about time. Goal (issue 13): under 1 s and under 5 MB.
//!
//! Measured: building the model from a real SQLite state file (`ops::report::report`), rendering
//! it with and without a drift column (a drift check's result is made up here: the check itself
//! is the platform's `query` per course and is not what this measures), and the real binary's
//! `coursesync report` from start to exit.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use coursesync::drift::{self, Change, CourseDrift, Kind};
use coursesync::ops::report::{Options, report};
use coursesync::report::html::render;
use coursesync::settings::Settings;
use coursesync::state::{Audit, CourseRecord, State};

const COURSES: usize = 10_000;
const RUNS: usize = 7;

const SUBJECTS: [&str; 10] = [
    "Python 数据分析实战",
    "少儿编程 Scratch 创意课",
    "雅思口语 7 分冲刺",
    "HSK 一级 汉语入门",
    "亲子阅读：绘本里的大世界",
    "Go 语言后端开发从入门到精通",
    "零基础学素描与色彩",
    "考研英语阅读精讲",
    "Excel 函数与数据透视表",
    "家庭理财 30 讲",
];

/// Reasons as `refresh` stores them from the platform's `reject_reason` JSON.
const REASONS: [&str; 6] = [
    "禁入课程:非课程教学; 课程质量:货不对板 (position: 标题, 封面, 画面, 音频)",
    "课程质量:画面模糊、声音不清晰 (position: 画面, 音频)",
    "资质问题:讲师资质与课程类目不符 (position: 讲师)",
    "价格问题:划线价与实际售价差距过大 (position: 价格)",
    "内容违规:含站外引流信息 (position: 详情页)",
    "禁入课程:标题含违禁词「最强」 (position: 标题)",
];

fn records() -> Vec<CourseRecord> {
    let mut rng = fastrand::Rng::with_seed(13);
    let base = 1_764_806_400_000_i64;
    (0..COURSES)
        .map(|i| {
            let subject = SUBJECTS[i % SUBJECTS.len()];
            let audit = match rng.u32(0..100) {
                0..70 => Audit::Approved,
                70..85 => Audit::InReview,
                85..95 => Audit::Rejected,
                _ => Audit::NotSubmitted,
            };
            let applied = base + rng.i64(0..30 * 86_400_000);
            CourseRecord {
                course_id: format!("course-{i:05}-{}", ["a", "b", "c"][i % 3]),
                title: format!("{subject} 第{}期", i / SUBJECTS.len() + 1),
                product_id: (audit != Audit::NotSubmitted)
                    .then(|| rng.i64(7_000_000_000_000_000_000..7_400_000_000_000_000_000)),
                audit,
                reject_reason: (audit == Audit::Rejected)
                    .then(|| REASONS[rng.usize(0..REASONS.len())].to_string()),
                listed: audit == Audit::Approved,
                payload: None,
                payload_hash: Some(format!("{:064x}", rng.u128(..))),
                approved_payload: None,
                approved_hash: (audit == Audit::Approved).then(|| format!("{:064x}", rng.u128(..))),
                first_applied_at: (audit != Audit::NotSubmitted).then_some(applied),
                last_applied_at: (audit != Audit::NotSubmitted).then_some(applied),
                updated_at: applied,
                lesson_audits: None,
            }
        })
        .collect()
}

/// 5% of the approved courses changed on the platform (two fields), 1% delisted.
fn made_up_drift(records: &[CourseRecord]) -> drift::Report {
    let change = |path: &str| Change {
        path: path.into(),
        platform: None,
        applied: None,
    };
    let courses = records
        .iter()
        .filter(|r| r.audit == Audit::Approved)
        .enumerate()
        .filter_map(|(i, r)| {
            let kind = match i % 100 {
                0..5 => Kind::Changed,
                5 => Kind::Listing,
                _ => return None,
            };
            Some(CourseDrift {
                course_id: r.course_id.clone(),
                product_id: r.product_id.unwrap_or_default(),
                kind,
                changes: match kind {
                    Kind::Changed => vec![change("price.real_price"), change("title")],
                    _ => vec![change("listed")],
                },
                pending: false,
                platform_payload: None,
                platform_listed: (kind == Kind::Listing).then_some(false),
            })
        })
        .collect();
    drift::Report {
        format_version: drift::FORMAT_VERSION,
        courses,
        errors: Vec::new(),
        listing_reported: true,
        not_reported: Vec::new(),
    }
}

fn best_and_median(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let settings_file = dir.path().join("coursesync.toml");
    let settings_text = "[app]\nappid = \"tt_bench_app\"\nenvironment = \"sandbox\"\n";
    std::fs::write(&settings_file, settings_text).unwrap();
    let settings = Settings::parse(&settings_file, settings_text).unwrap();
    let records = records();
    State::open(&settings.state_path)
        .unwrap()
        .put_courses(&records)
        .unwrap();
    println!(
        "{COURSES} courses in a state file; best and median of {RUNS} runs (wall time, one thread)"
    );

    let mut build = Vec::new();
    let mut model = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        model = Some(report(&settings, &Options::default()).unwrap());
        build.push(start.elapsed());
    }
    let model = model.unwrap();
    assert_eq!(model.courses.len(), COURSES);
    let (best, median) = best_and_median(build);
    println!(
        "  model from state (open, read, build): best {}, median {}",
        ms(best),
        ms(median)
    );

    let by_id: BTreeMap<String, CourseRecord> = records
        .iter()
        .map(|r| (r.course_id.clone(), r.clone()))
        .collect();
    let with_drift = coursesync::report::Report::build(
        model.meta.clone(),
        &by_id,
        Some(&made_up_drift(&records)),
        &BTreeMap::new(),
    );
    for (name, m) in [
        ("render", &model),
        ("render with a drift column", &with_drift),
    ] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let html = render(m).unwrap();
            times.push(start.elapsed());
            size = html.len();
        }
        let (best, median) = best_and_median(times);
        println!(
            "  {name}: best {}, median {}; {} bytes = {:.2} MB ({} bytes a course)",
            ms(best),
            ms(median),
            size,
            size as f64 / 1e6,
            size / COURSES
        );
    }

    let out = dir.path().join("report.html");
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_coursesync"))
            .current_dir(dir.path())
            .args(["report", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        times.push(start.elapsed());
        assert!(status.success());
    }
    let (best, median) = best_and_median(times);
    println!(
        "  `coursesync report --out FILE`, process start to exit: best {}, median {}; {:.2} MB written",
        ms(best),
        ms(median),
        std::fs::metadata(&out).unwrap().len() as f64 / 1e6
    );
}
