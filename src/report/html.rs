//! The report as one self-contained HTML page: inline CSS, an inline SVG chart and a small
//! inline script; no network, no external file. The table is plain HTML, so the page reads with
//! JavaScript off; the script only adds sorting, filtering and local times.
//!
//! Rendered with askama: the templates (`templates/report.html`, `.css`, `.js`) are compiled
//! into the binary and checked against these types at build time, and every `{{ value }}` is
//! HTML-escaped, so a title or reject reason containing `<script>` shows as text.

use askama::Template;

use super::{AUDIT_ORDER, AuditStyle, CourseRow, DriftCell, RejectGroup, Report, audit_style};
use crate::state::Audit;

/// A moment shown on the page: the machine form for `<time datetime>` and sorting, and the
/// text shown without JavaScript (UTC; the script rewrites it in the viewer's time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// RFC 3339, UTC, to the second: `2026-12-04T15:04:33Z`.
    pub iso: String,
    /// `2026-12-04 15:04 UTC`.
    pub text: String,
}

impl Stamp {
    /// `None` for a time outside what the calendar library handles (never from real state).
    pub fn from_ms(ms: i64) -> Option<Stamp> {
        let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
        let iso = t
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()?;
        let text = t
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()?;
        Some(Stamp { iso, text })
    }
}

/// One bar of the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bar {
    style: AuditStyle,
    count: usize,
    /// In SVG user units, 0 to [`BAR_MAX`].
    width: u32,
    /// Top of the bar's line.
    y: u32,
}

const BAR_MAX: u32 = 260;
const BAR_LINE: u32 = 30;

fn bars(counts: &[(Audit, usize)]) -> Vec<Bar> {
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    counts
        .iter()
        .zip(0u32..)
        .map(|(&(audit, count), i)| Bar {
            style: audit_style(audit),
            count,
            // A non-zero count gets at least a sliver, so it is never drawn as nothing.
            width: if count == 0 {
                0
            } else {
                ((count as u64 * u64::from(BAR_MAX)) / max as u64).max(2) as u32
            },
            y: i * BAR_LINE,
        })
        .collect()
}

/// One table row, with what the template shows already worked out.
struct Row<'a> {
    c: &'a CourseRow,
    style: AuditStyle,
    last_applied: Option<Stamp>,
    drift: Option<DriftView>,
}

struct DriftView {
    words: String,
    /// A CSS class: `ok`, `drift`, `pending`, `error` or `none`.
    class: &'static str,
}

fn drift_view(cell: &DriftCell) -> DriftView {
    let class = match cell {
        DriftCell::None => "ok",
        DriftCell::NotChecked => "none",
        DriftCell::Changed(_) | DriftCell::Listing { .. } | DriftCell::Missing => "drift",
        DriftCell::Pending(_) => "pending",
        DriftCell::Error(_) => "error",
    };
    DriftView {
        words: cell.words(),
        class,
    }
}

#[derive(Template)]
#[template(path = "report.html", config = "src/report/askama.toml")]
struct Page<'a> {
    r: &'a Report,
    generated: Option<Stamp>,
    state_changed: Option<Stamp>,
    bars: Vec<Bar>,
    chart_height: u32,
    /// (audit style, count) for the filter's options.
    states: Vec<(AuditStyle, usize)>,
    rows: Vec<Row<'a>>,
    groups: Vec<RejectGroup<'a>>,
    held: Vec<&'a CourseRow>,
    blocked: Vec<(&'a str, Option<&'a CourseRow>, &'a str)>,
    rejected: usize,
    drifted: usize,
}

/// The page for `report`.
pub fn render(report: &Report) -> Result<String, askama::Error> {
    let counts = report.counts();
    let page = Page {
        r: report,
        generated: Stamp::from_ms(report.meta.generated_at),
        state_changed: report.state_changed_at.and_then(Stamp::from_ms),
        bars: bars(&counts),
        chart_height: AUDIT_ORDER.len() as u32 * BAR_LINE,
        states: counts.iter().map(|&(a, n)| (audit_style(a), n)).collect(),
        rows: report
            .courses
            .iter()
            .map(|c| Row {
                c,
                style: audit_style(c.audit),
                last_applied: c.last_applied_at.and_then(Stamp::from_ms),
                drift: c.drift.as_ref().map(drift_view),
            })
            .collect(),
        groups: report.reject_groups(),
        held: report.held(),
        blocked: report.blocked(),
        rejected: counts
            .iter()
            .filter(|(a, _)| *a == Audit::Rejected)
            .map(|(_, n)| n)
            .sum(),
        drifted: report.drifted(),
    };
    // About 330 bytes a course; reserving once saves the String's regrowth copies at 10,000.
    let mut out = String::with_capacity(16 * 1024 + report.courses.len() * 400);
    page.render_into(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::Meta;
    use crate::state::CourseRecord;

    fn record(id: &str, title: &str, audit: Audit, reason: Option<&str>) -> CourseRecord {
        CourseRecord {
            course_id: id.into(),
            title: title.into(),
            product_id: Some(7_191_428_983_867_697_275),
            audit,
            reject_reason: reason.map(str::to_string),
            listed: audit == Audit::Approved,
            payload: None,
            payload_hash: None,
            approved_payload: None,
            approved_hash: None,
            first_applied_at: Some(1_764_806_400_000),
            last_applied_at: Some(1_764_806_400_000),
            updated_at: 1_764_806_400_000,
            lesson_audits: None,
        }
    }

    fn report(records: Vec<CourseRecord>, blocked: &[(&str, &str)]) -> Report {
        let records: BTreeMap<String, CourseRecord> = records
            .into_iter()
            .map(|r| (r.course_id.clone(), r))
            .collect();
        let blocked: BTreeMap<String, String> = blocked
            .iter()
            .map(|(id, reason)| ((*id).to_string(), (*reason).to_string()))
            .collect();
        Report::build(
            Meta {
                appid: "tt_<app>".into(),
                environment: "local".into(),
                state_path: "state/coursesync.db".into(),
                state_exists: true,
                generated_at: 1_764_810_000_000,
            },
            &records,
            None,
            &blocked,
        )
    }

    fn document(html: &str) -> scraper::Html {
        scraper::Html::parse_document(html)
    }

    fn select<'a>(doc: &'a scraper::Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
        doc.select(&scraper::Selector::parse(css).unwrap())
            .collect()
    }

    fn text(e: &scraper::ElementRef<'_>) -> String {
        e.text().collect::<String>()
    }

    const EVIL_TITLE: &str = "<script>alert('title')</script> Python 入门";
    const EVIL_REASON: &str =
        "禁入课程:标题含违禁词「<script>alert(\"reason\")</script>」 (position: 标题)";

    #[test]
    fn catalog_and_platform_text_is_escaped() {
        let html = render(&report(
            vec![
                record("evil", EVIL_TITLE, Audit::Rejected, Some(EVIL_REASON)),
                record("<b>id</b>", "ok", Audit::Approved, None),
            ],
            &[("new", "<img src=x onerror=alert(1)>")],
        ))
        .unwrap();
        // The only script element is the page's own.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(!html.contains("<b>id</b>"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("tt_<app>"));
        let doc = document(&html);
        assert_eq!(select(&doc, "script").len(), 1);
        assert!(select(&doc, "img").is_empty());
        // ...and the texts read as they were written.
        let evil = select(&doc, "tr[id=c-evil]");
        assert_eq!(evil.len(), 1);
        let cells: Vec<String> = select(&doc, "tr[id=c-evil] td").iter().map(text).collect();
        assert_eq!(cells[1], EVIL_TITLE);
        assert_eq!(cells[4], EVIL_REASON);
        assert_eq!(select(&doc, r#"tr[id="c-<b>id</b>"]"#).len(), 1);
        let group = select(&doc, "#reasons .reason");
        assert_eq!(text(&group[0]), EVIL_REASON);
        assert!(text(&select(&doc, "#blocked")[0]).contains("<img src=x onerror=alert(1)>"));
        assert!(text(&select(&doc, "header")[0]).contains("tt_<app>"));
    }

    #[test]
    fn the_page_has_every_part_and_needs_nothing_from_the_network() {
        let html = render(&report(
            vec![
                record("a-approved", "课程 A", Audit::Approved, None),
                record("b-review", "课程 B", Audit::InReview, None),
                record(
                    "c-rejected",
                    "课程 C",
                    Audit::Rejected,
                    Some("课程质量:货不对板"),
                ),
                record(
                    "d-rejected",
                    "课程 D",
                    Audit::Rejected,
                    Some("课程质量:货不对板"),
                ),
            ],
            &[],
        ))
        .unwrap();
        let doc = document(&html);
        // Self-contained: no external resource of any kind.
        for attr in ["src", "href"] {
            for e in select(&doc, &format!("[{attr}]")) {
                let v = e.value().attr(attr).unwrap();
                assert!(v.starts_with('#'), "external {attr}={v}");
            }
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(select(&doc, "link").is_empty());
        // Header facts.
        let header = text(&select(&doc, "header")[0]);
        assert!(header.contains("local"), "{header}");
        assert!(header.contains("2025-12-04 01:00 UTC"), "{header}");
        assert!(header.contains("2025-12-04 00:00 UTC"), "{header}");
        // The chart: one bar per audit state, with its count.
        let bars = select(&doc, "svg rect[data-audit]");
        let counted: Vec<(&str, String)> = bars
            .iter()
            .map(|b| {
                (
                    b.value().attr("data-audit").unwrap(),
                    b.value().attr("data-count").unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            counted,
            [
                ("approved", "1".to_string()),
                ("in_review", "1".to_string()),
                ("rejected", "2".to_string()),
                ("unknown_outcome", "0".to_string()),
                ("not_submitted", "0".to_string()),
            ]
        );
        let widths: Vec<&str> = bars
            .iter()
            .map(|b| b.value().attr("width").unwrap())
            .collect();
        assert_eq!(widths, ["130", "130", "260", "0", "0"]);
        // The table, in course_id order, with its columns (no drift column without --drift).
        let heads: Vec<String> = select(&doc, "#courses thead th").iter().map(text).collect();
        assert_eq!(
            heads,
            [
                "Course ID",
                "Title",
                "Product ID",
                "Audit",
                "Reject reason",
                "Listing",
                "Last applied"
            ]
        );
        let ids: Vec<&str> = select(&doc, "#courses tbody tr")
            .iter()
            .map(|r| r.value().id().unwrap().strip_prefix("c-").unwrap())
            .collect();
        assert_eq!(ids, ["a-approved", "b-review", "c-rejected", "d-rejected"]);
        let first: Vec<String> = select(&doc, "#courses tbody tr:first-child td")
            .iter()
            .map(text)
            .collect();
        assert_eq!(
            first,
            [
                "a-approved",
                "课程 A",
                "7191428983867697275",
                "approved",
                "—",
                "listed",
                "2025-12-04 00:00 UTC"
            ]
        );
        // Reasons grouped with their courses.
        let groups = select(&doc, "#reasons li.group");
        assert_eq!(groups.len(), 1);
        let links: Vec<&str> = select(&doc, "#reasons li.group a")
            .iter()
            .map(|a| a.value().attr("href").unwrap())
            .collect();
        assert_eq!(links, ["#c-c-rejected", "#c-d-rejected"]);
        for target in &links {
            assert_eq!(select(&doc, &format!("tr[id='{}']", &target[1..])).len(), 1);
        }
        // No highlight sections when there is nothing to highlight.
        assert!(select(&doc, "#held").is_empty());
        assert!(select(&doc, "#blocked").is_empty());
        // Controls stay hidden until the script shows them (JavaScript off: just the table).
        assert!(
            select(&doc, "#controls")[0]
                .value()
                .attr("hidden")
                .is_some()
        );
    }

    #[test]
    fn held_and_blocked_courses_are_highlighted() {
        let mut r = report(
            vec![
                record("held-one", "课程 H", Audit::InReview, None),
                record("blocked-one", "课程 B", Audit::NotSubmitted, None),
                record("fine", "课程 F", Audit::Approved, None),
            ],
            &[
                ("blocked-one", "teacher E_1 has no bound role"),
                ("not-yet", "institution I_9 is not authorised"),
            ],
        );
        // No state this build knows is held (issue 9 adds one): mark the row as it will be.
        for c in r.courses.iter_mut().filter(|c| c.course_id == "held-one") {
            c.held = true;
        }
        let html = render(&r).unwrap();
        let doc = document(&html);
        let held = select(&doc, "#held li");
        assert_eq!(held.len(), 1);
        assert!(text(&held[0]).contains("held-one"));
        let blocked: Vec<String> = select(&doc, "#blocked li").iter().map(text).collect();
        assert_eq!(blocked.len(), 2);
        assert!(blocked[0].contains("blocked-one"));
        assert!(blocked[0].contains("teacher E_1 has no bound role"));
        assert!(blocked[1].contains("not-yet"));
        assert!(blocked[1].contains("not in state"));
        // The rows carry the marks (for styling and for a reader of the table).
        assert!(
            select(&doc, "tr[id=c-blocked-one]")[0]
                .value()
                .attr("data-blocked")
                .is_some()
        );
        assert!(
            select(&doc, "tr[id=c-held-one]")[0]
                .value()
                .attr("data-held")
                .is_some()
        );
        assert!(
            select(&doc, "tr[id=c-fine]")[0]
                .value()
                .attr("data-held")
                .is_none()
        );
    }

    #[test]
    fn an_empty_state_says_so() {
        let mut r = report(vec![], &[]);
        r.meta.state_exists = false;
        let doc = document(&render(&r).unwrap());
        let body = text(&select(&doc, "main")[0]);
        assert!(body.contains("No state file yet"), "{body}");
        assert!(select(&doc, "#courses tbody tr").is_empty());
    }

    #[test]
    fn stamps_are_utc_to_the_second() {
        let s = Stamp::from_ms(1_764_806_405_999).unwrap();
        assert_eq!(s.iso, "2025-12-04T00:00:05Z");
        assert_eq!(s.text, "2025-12-04 00:00 UTC");
        assert_eq!(Stamp::from_ms(i64::MAX), None);
    }
}
