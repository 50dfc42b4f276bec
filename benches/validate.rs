//! `validate` on a generated catalog of 10,000 course files (and 1,000 / 30,000 to show how it
//! grows). Run: `cargo bench --bench validate`. Prints the median of 5 runs of `catalog::load`,
//! which reads, parses and checks every file (the same work `coursesync validate` does, minus
//! printing). Files live under target/bench-data/ and are made once.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn course(i: usize) -> String {
    format!(
        r#"course_id = "bench-{i:06}"
title = "基准课程 {i}"
first_class = 10000
second_class = 10300
purchase_precaution = "购买后可在「我的课程」中反复学习"
cover = "assets/cover.jpg"

[price]
unit = "节"
price = 5000
real_price = 4900

[page]
path = "pages/course/detail"
query = {{ channel = "catalog", batch = "{b}" }}

[[lessons]]
name = "第一节: 介绍"
type = "video"
file = "assets/lesson-{l}.mp4"

[[lessons]]
name = "第二节: 练习"
type = "video"
file = "assets/lesson-{l2}.mp4"

[[lessons]]
name = "讲义"
type = "text"
text = "这是第 {i} 门课程的讲义。内容包括基础概念、练习与答案。"

[[details]]
text = "零基础入门，{i} 号课程。"

[[details]]
image = "assets/detail.png"

[anchor]
title = "基准课程"

[course]
teacher_id = "E_7283947392973"
course_num = 12
refund = {{ days_unused = 7 }}
valid_until = 2027-12-31
start = 2026-12-01T00:00:00+08:00
end = 2027-12-01T00:00:00+08:00
"#,
        b = i % 50,
        l = i % 500,
        l2 = (i + 1) % 500
    )
}

fn make_catalog(n: usize) -> PathBuf {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-data/validate-{n}"));
    let catalog = root.join("catalog");
    if catalog.join(".complete").exists() {
        return root;
    }
    let assets = catalog.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    std::fs::write(assets.join("cover.jpg"), b"jpg").unwrap();
    std::fs::write(assets.join("detail.png"), b"png").unwrap();
    for l in 0..500 {
        std::fs::write(assets.join(format!("lesson-{l}.mp4")), b"mp4").unwrap();
    }
    for i in 0..n {
        let dir = catalog.join(format!("group-{:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("course-{i:06}.toml")), course(i)).unwrap();
    }
    std::fs::write(catalog.join(".complete"), b"").unwrap();
    root
}

fn main() {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!("validate benchmark ({threads} threads, files in the page cache after the first run)");
    for n in [1_000, 10_000, 30_000] {
        let root = make_catalog(n);
        let mut times = Vec::new();
        let mut bytes = 0u64;
        for _ in 0..5 {
            let start = Instant::now();
            let loaded = coursesync::catalog::load(&root.join("catalog"), &root).unwrap();
            times.push(start.elapsed());
            assert_eq!(
                loaded.catalog.courses.len(),
                n,
                "{:?}",
                loaded.diagnostics.first()
            );
            assert_eq!(loaded.errors(), 0);
            bytes = loaded.files as u64;
        }
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "  {n:>6} course files: median {:>8.1} ms  ({:.1} µs/file; min {:.1} ms, max {:.1} ms)",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e6 / bytes as f64,
            times[0].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
}
