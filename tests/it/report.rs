//! `coursesync report` through the real binary against the emulator over real HTTP, and the page
//! it writes opened in a real headless Chromium: the rows are there, the header buttons sort,
//! the filter box and the audit-state list filter, times turn local, and the page still reads
//! when its script does not run. A screenshot is saved as `target/report-screenshot.png` for a person.
//!
//! Chromium is Debian's `chromium` package (`.ci/run` installs it). Without it the browser tests
//! fail and say how to install it; they never pass silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use coursesync::emulator::testing::TestEmulator;
use scraper::{ElementRef, Html, Selector};
use serde_json::json;

use crate::support::{Remote, base_course, stderr, stdout};

fn code(out: &Output, expected: i32) {
    assert_eq!(
        out.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

const WRITES: [&str; 5] = [
    "add",
    "modify",
    "modify_no_audit",
    "modify_status",
    "upload_resource",
];

fn writes(r: &Remote) -> u64 {
    WRITES.iter().map(|e| r.emulator.count(e)).sum()
}

/// Titles with plain first letters so that the expected sort orders are obvious; two contain
/// the emulator's banned word `<script>` and are rejected with a reason that quotes it.
const COURSES: [(&str, &str); 4] = [
    ("alpha", "Python 入门"),
    ("bravo", "Java <script>alert('title')</script> 入门"),
    ("charlie", "Go 语言"),
    ("delta", "Rust <script> 实战"),
];

/// The teacher every course of the base fixture names.
const TEACHER: &str = "E_1";

/// Four courses applied and refreshed: alpha and charlie approved, bravo and delta rejected.
fn applied() -> Remote {
    let mut config = TestEmulator::config();
    config.banned_words = vec!["<script>".into()];
    let r = Remote::with(config, "");
    for (id, title) in COURSES {
        let text =
            base_course(id).replacen("title = \"基础课程\"", &format!("title = {title:?}"), 1);
        r.course(&format!("{id}.toml"), &text);
    }
    code(&r.run(&["apply", "--auto-approve"]), 0);
    r.emulator.finish_audits();
    code(&r.run(&["refresh"]), 0);
    r
}

fn parse(path: &Path) -> Html {
    Html::parse_document(&std::fs::read_to_string(path).unwrap())
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(e: &ElementRef<'_>) -> String {
    e.text().collect()
}

/// The rows' course ids in page order, each with whether it is shown.
fn rows(doc: &Html) -> Vec<(String, bool)> {
    select(doc, "#courses tbody tr")
        .iter()
        .map(|r| {
            (
                r.value()
                    .id()
                    .unwrap()
                    .strip_prefix("c-")
                    .unwrap()
                    .to_string(),
                r.value().attr("hidden").is_none(),
            )
        })
        .collect()
}

fn shown(doc: &Html) -> Vec<String> {
    rows(doc)
        .into_iter()
        .filter(|(_, shown)| *shown)
        .map(|(id, _)| id)
        .collect()
}

fn order(doc: &Html) -> Vec<String> {
    rows(doc).into_iter().map(|(id, _)| id).collect()
}

fn cell(doc: &Html, course_id: &str, col: usize) -> String {
    let cells = select(doc, &format!("tr[id=c-{course_id}] td"));
    text(&cells[col])
}

#[test]
fn report_reads_state_and_platform_without_writing_and_escapes_every_text() {
    let r = applied();
    let state_file = r.project.root().join("state/coursesync.db");
    let serial = r.state().serial();
    let modified = std::fs::metadata(&state_file).unwrap().modified().unwrap();
    let before = writes(&r);
    let queries = r.emulator.count("query");

    let out = r.run(&["report", "--out", "page.html"]);
    code(&out, 0);
    assert!(
        stdout(&out).starts_with("Wrote page.html: 4 course(s), "),
        "{}",
        stdout(&out)
    );
    assert_eq!(r.emulator.count("query"), queries, "no --drift, no query");
    let page = parse(&r.project.root().join("page.html"));
    assert_eq!(
        order(&page),
        ["alpha", "bravo", "charlie", "delta"],
        "every course, by course_id"
    );
    assert_eq!(cell(&page, "alpha", 3), "approved");
    assert_eq!(cell(&page, "bravo", 3), "rejected");
    // Title and reason with `<script>` are text, and the page has no script but its own.
    assert_eq!(cell(&page, "bravo", 1), COURSES[1].1);
    let reason = cell(&page, "bravo", 4);
    assert!(reason.contains("「<script>」"), "{reason}");
    assert_eq!(select(&page, "script").len(), 1);
    let raw = std::fs::read_to_string(r.project.root().join("page.html")).unwrap();
    assert!(
        !raw.contains("<script>alert"),
        "unescaped title in the page"
    );
    // Both rejections share one reason: one group with both courses.
    let groups = select(&page, "#reasons li.group");
    assert_eq!(groups.len(), 1, "{raw}");
    assert_eq!(text(&select(&page, "#reasons .reason")[0]), reason);
    assert_eq!(
        select(&page, "#reasons li.group a")
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        ["bravo", "delta"]
    );
    // No drift column without --drift.
    assert!(select(&page, "th[data-col=drift]").is_empty());

    // --drift: an out-of-band title change shows; read calls only.
    let alpha = r.emulator.product_by_course("alpha").unwrap().product_id;
    r.emulator
        .edit_on_shelf(
            alpha,
            &json!({"common_product_params": {"title": "改过的 <i>标题</i>"}}),
        )
        .unwrap();
    let out = r.run(&["report", "--drift", "--out", "drift.html"]);
    code(&out, 0);
    assert!(r.emulator.count("query") > queries, "--drift asks `query`");
    let page = parse(&r.project.root().join("drift.html"));
    assert_eq!(cell(&page, "alpha", 7), "changed: title");
    assert_eq!(cell(&page, "charlie", 7), "none");
    assert_eq!(cell(&page, "bravo", 7), "not checked (no live product)");
    let header = text(&select(&page, "header")[0]);
    assert!(
        header.contains("Statestate/coursesync.db, last changed"),
        "{header}"
    );
    assert!(
        header.contains("Drift: 1 course differs, 0 pending review, 0 unknown to the platform."),
        "{header}"
    );

    // --drift also runs the roles preflight: a course whose teacher has not authorised the app
    // is highlighted as blocked, with the reason.
    r.emulator
        .seed_entities(&[coursesync::emulator::EntitySeed::parse_arg(&format!(
            "{TEACHER}=auth-in-review"
        ))
        .unwrap()]);
    code(&r.run(&["report", "--drift", "--out", "blocked.html"]), 0);
    let page = parse(&r.project.root().join("blocked.html"));
    let blocked = select(&page, "#blocked li");
    assert_eq!(
        blocked.len(),
        COURSES.len(),
        "every course names that teacher"
    );
    assert!(text(&blocked[0]).contains(TEACHER), "{}", text(&blocked[0]));
    let plain = parse(&r.project.root().join("drift.html"));
    assert!(
        select(&plain, "#blocked").is_empty(),
        "nothing was blocked before"
    );

    // `-` writes the page to stdout.
    let out = r.run(&["report", "--out", "-"]);
    code(&out, 0);
    assert!(stdout(&out).starts_with("<!DOCTYPE html>"));
    assert!(stdout(&out).trim_end().ends_with("</html>"));

    assert_eq!(writes(&r), before, "report called a write endpoint");
    assert_eq!(r.state().serial(), serial);
    assert_eq!(
        std::fs::metadata(&state_file).unwrap().modified().unwrap(),
        modified,
        "report wrote the state file"
    );
}

#[test]
fn report_without_state_is_an_empty_page_and_creates_nothing() {
    let r = Remote::new();
    let out = r.run(&["report"]);
    code(&out, 0);
    assert!(
        stderr(&out).contains("no state file at"),
        "{}",
        stderr(&out)
    );
    let page = parse(&r.project.root().join("coursesync-report.html"));
    assert!(rows(&page).is_empty());
    assert!(text(&select(&page, "main")[0]).contains("No state file yet"));
    assert!(!r.project.root().join("state").exists());
}

// ---- the page in a real browser ----

/// Chromium from Debian's package, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "Chromium is not installed, and the report's browser tests need it: \
             run `apt-get update && apt-get install -y chromium` (Debian's package; .ci/run \
             installs it when /usr/bin/chromium is missing)"
        )
    })
}

/// How long one Chromium run may take before the test fails instead of hanging.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs headless Chromium on `page` with `extra` flags; its stdout. Chromium runs in its own
/// process group, which is killed afterwards (it leaves helpers behind) and on timeout.
fn run_chromium(page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let out_path = logs.path().join("stdout");
    let err_path = logs.path().join("stderr");
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1280,900",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    // Times on the page turn into the viewer's zone: make it one with an offset.
    .env("TZ", "Asia/Shanghai")
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out_path).unwrap())
    .stderr(std::fs::File::create(&err_path).unwrap());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The whole group: the browser's helper processes too.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    match status {
        None => panic!("Chromium did not finish within {BROWSER_TIMEOUT:?}; stderr:\n{err}"),
        Some(s) if !s.success() => panic!("Chromium failed ({s}); stderr:\n{err}"),
        Some(_) => std::fs::read_to_string(&out_path).unwrap(),
    }
}

/// Opens a copy of `page` with a script appended that, once the page has loaded, does `actions`
/// through the page's own controls (`click('title')` on a column header, `type('x')` into the
/// filter box, `pick('rejected')` in the audit-state list); returns the DOM Chromium dumps then.
fn after_actions(page: &Path, actions: &str) -> Html {
    let html = std::fs::read_to_string(page).unwrap();
    let driver = format!(
        r#"<script>
window.addEventListener("error", function (e) {{ document.body.setAttribute("data-driver-error", String(e.message)); }});
window.addEventListener("load", function () {{
  function click(col) {{ document.querySelector('th[data-col="' + col + '"] button').click(); }}
  function type(text) {{ var box = document.getElementById("filter-text"); box.value = text;
    box.dispatchEvent(new Event("input", {{ bubbles: true }})); }}
  function pick(state) {{ var list = document.getElementById("filter-audit"); list.value = state;
    list.dispatchEvent(new Event("change", {{ bubbles: true }})); }}
  {actions}
  document.body.setAttribute("data-driver", "done");
}});
</script>
</body>"#
    );
    assert!(html.contains("</body>"));
    let driven = page.with_extension("driven.html");
    std::fs::write(&driven, html.replacen("</body>", &driver, 1)).unwrap();
    let dom = run_chromium(&driven, &["--dump-dom"]);
    let doc = Html::parse_document(&dom);
    let body = select(&doc, "body");
    assert_eq!(
        body.first()
            .and_then(|b| b.value().attr("data-driver-error")),
        None,
        "a script failed in the page"
    );
    assert_eq!(
        body.first().and_then(|b| b.value().attr("data-driver")),
        Some("done"),
        "the actions did not run; DOM:\n{dom}"
    );
    doc
}

/// The header cell's `aria-sort`.
fn sort_mark(doc: &Html, col: &str) -> Option<String> {
    select(doc, &format!("th[data-col={col}]"))[0]
        .value()
        .attr("aria-sort")
        .map(str::to_string)
}

fn counter(doc: &Html) -> String {
    text(&select(doc, "#shown")[0])
}

#[test]
fn the_page_sorts_and_filters_in_a_real_browser() {
    let r = applied();
    code(&r.run(&["report", "--drift", "--out", "report.html"]), 0);
    let page = r.project.root().join("report.html");

    // For a person to look at: the page as a browser draws it.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(&page, &[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {shot:?}: {e}"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);

    // Loaded, no action: every row shown in course_id order, the controls shown, local times.
    let doc = after_actions(&page, "");
    assert_eq!(
        rows(&doc),
        [
            ("alpha".to_string(), true),
            ("bravo".to_string(), true),
            ("charlie".to_string(), true),
            ("delta".to_string(), true)
        ]
    );
    assert_eq!(counter(&doc), "Showing 4 of 4 course(s)");
    assert!(
        select(&doc, "#controls")[0]
            .value()
            .attr("hidden")
            .is_none()
    );
    let applied_at = select(&doc, "tr[id=c-alpha] time")[0];
    assert!(
        text(&applied_at).ends_with(" +08:00"),
        "{}",
        text(&applied_at)
    );
    assert!(
        applied_at.value().attr("title").unwrap().ends_with(" UTC"),
        "the UTC time stays as the tooltip"
    );

    // A click on "Title" sorts ascending, a second one descending.
    let doc = after_actions(&page, "click('title');");
    assert_eq!(order(&doc), ["charlie", "bravo", "alpha", "delta"]);
    assert_eq!(sort_mark(&doc, "title").as_deref(), Some("ascending"));
    assert_eq!(sort_mark(&doc, "course_id"), None);
    let doc = after_actions(&page, "click('title'); click('title');");
    assert_eq!(order(&doc), ["delta", "alpha", "bravo", "charlie"]);
    assert_eq!(sort_mark(&doc, "title").as_deref(), Some("descending"));

    // Product ids: as numbers; the page shows them as the state holds them.
    let mut by_product: Vec<(i64, String)> = r
        .state()
        .courses()
        .unwrap()
        .values()
        .map(|c| (c.product_id.unwrap(), c.course_id.clone()))
        .collect();
    by_product.sort();
    let expected: Vec<String> = by_product.into_iter().map(|(_, id)| id).collect();
    let doc = after_actions(&page, "click('product_id');");
    assert_eq!(order(&doc), expected);

    // Typing in the filter box: matches any cell, case-insensitively, `<script>` as text.
    let doc = after_actions(&page, "type('RUST');");
    assert_eq!(shown(&doc), ["delta"]);
    assert_eq!(counter(&doc), "Showing 1 of 4 course(s)");
    let doc = after_actions(&page, "click('title'); click('title'); type('<script>');");
    assert_eq!(shown(&doc), ["delta", "bravo"], "sorted and filtered");
    // The drift column is searchable too.
    let doc = after_actions(&page, "type('not checked');");
    assert_eq!(shown(&doc), ["bravo", "delta"]);

    // The audit-state list, alone and with the text filter; back to all.
    let doc = after_actions(&page, "pick('approved');");
    assert_eq!(shown(&doc), ["alpha", "charlie"]);
    let doc = after_actions(&page, "pick('rejected'); type('java');");
    assert_eq!(shown(&doc), ["bravo"]);
    let doc = after_actions(&page, "pick('rejected'); pick('');");
    assert_eq!(shown(&doc).len(), 4);
}

#[test]
fn the_page_reads_without_its_script() {
    let r = applied();
    code(&r.run(&["report", "--out", "report.html"]), 0);
    // A copy whose policy forbids every script: the page's own does not run. (Chromium's
    // scriptEnabled=false switch also stops --dump-dom, which reads the DOM through script.)
    let html = std::fs::read_to_string(r.project.root().join("report.html")).unwrap();
    let page = r.project.root().join("no-script.html");
    std::fs::write(
        &page,
        html.replacen(
            "<head>",
            r#"<head><meta http-equiv="Content-Security-Policy" content="script-src 'none'">"#,
            1,
        ),
    )
    .unwrap();
    let dom = run_chromium(&page, &["--dump-dom"]);
    let doc = Html::parse_document(&dom);
    assert_eq!(shown(&doc), ["alpha", "bravo", "charlie", "delta"]);
    assert_eq!(cell(&doc, "bravo", 1), COURSES[1].1);
    // The controls that need the script stay hidden; the times stay in UTC.
    assert!(
        select(&doc, "#controls")[0]
            .value()
            .attr("hidden")
            .is_some()
    );
    assert!(cell(&doc, "alpha", 6).ends_with(" UTC"));
    // The chart is drawn without the script.
    let bars: Vec<&str> = select(&doc, "svg rect[data-audit]")
        .iter()
        .map(|b| b.value().attr("data-count").unwrap())
        .collect();
    assert_eq!(bars, ["2", "0", "2", "0", "0"]);
}
