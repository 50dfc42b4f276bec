//! Rendering a [`Plan`]: human (`+ ~ -`, field by field, long text as a line diff; colour when
//! the output is a terminal), markdown for a pull-request comment (summary first, each course
//! collapsed, under a fixed size budget), and JSON (the plan value itself, `format_version` 1).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::{CourseChange, FieldChange, NoteKind, Plan, Send};

/// PRODUCT.md "Plans fit a PR comment": markdown stays under 60,000 characters.
pub const MARKDOWN_BUDGET: usize = 60_000;

/// A text longer than this, or with a newline, is shown as a line diff.
const LONG_TEXT: usize = 80;

const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn sigil(c: &CourseChange) -> (char, Style) {
    match (c.send, c.listing, c.removed) {
        (_, _, true) => ('-', RED),
        (Some(Send::Add | Send::AddAgain), _, _) => ('+', GREEN),
        _ => ('~', YELLOW),
    }
}

/// What happens to a course, in words.
pub fn describe(c: &CourseChange) -> String {
    let mut parts = Vec::new();
    match c.send {
        Some(Send::Add) => parts.push("add (then audit)".to_string()),
        Some(Send::AddAgain) => {
            parts.push("add again: the rejected first add's product id is dead".to_string());
        }
        Some(Send::Modify) => parts
            .push("modify (re-audit; the approved version stays live until it passes)".to_string()),
        Some(Send::ModifyNoAudit) => {
            parts.push("path-only change (modify_no_audit, no re-audit)".to_string());
        }
        None => {}
    }
    match (c.listing, c.removed) {
        (Some(false), true) => parts.push("delist: removed from the catalog (prune)".to_string()),
        (Some(false), false) => parts.push("delist (modify_status)".to_string()),
        (Some(true), _) => parts.push("list (modify_status)".to_string()),
        (None, _) => {}
    }
    if !c.uploads.is_empty() {
        parts.push(format!(
            "after {} upload{}",
            c.uploads.len(),
            if c.uploads.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(id) = c.product_id {
        parts.push(format!("product {id}"));
    }
    parts.join("; ")
}

/// A value for display; a file hash is shown with the catalog file it came from when known, other
/// values in the author's language ([`super::display`]).
fn show(path: &str, v: &Value, files: &BTreeMap<String, String>) -> String {
    match v {
        Value::String(s) if s.starts_with("sha256:") && s.chars().count() > 19 => {
            let short: String = s.chars().take(19).collect();
            match files.get(s) {
                Some(path) => format!("{path} ({short}…)"),
                None => format!("{short}…"),
            }
        }
        other => super::display::value(path, other),
    }
}

fn is_long(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| s.contains('\n') || s.chars().count() > LONG_TEXT)
}

/// The lines of one field change (without indentation); `(tag, line)` with tag '+', '-' or '~'.
pub fn field_lines(f: &FieldChange, files: &BTreeMap<String, String>) -> Vec<(char, String)> {
    match (&f.old, &f.new) {
        (None, Some(new)) if is_long(Some(new)) => {
            let text = new.as_str().unwrap_or_default();
            let first = text.lines().next().unwrap_or("");
            vec![(
                '+',
                format!(
                    "{}: {:?}… ({} lines, {} characters)",
                    f.path,
                    first,
                    text.lines().count(),
                    text.chars().count()
                ),
            )]
        }
        (None, Some(new)) => vec![('+', format!("{}: {}", f.path, show(&f.path, new, files)))],
        (Some(old), None) => vec![('-', format!("{}: {}", f.path, show(&f.path, old, files)))],
        (Some(old), Some(new)) if is_long(Some(old)) || is_long(Some(new)) => {
            // Both sides end in a newline, so that a last line followed by new lines is not
            // shown as removed and added again.
            let (a, b) = (
                newline_terminated(old.as_str().unwrap_or_default()),
                newline_terminated(new.as_str().unwrap_or_default()),
            );
            let mut out = vec![('~', format!("{}:", f.path))];
            let diff = TextDiff::from_lines(&a, &b);
            for (i, group) in diff.grouped_ops(1).into_iter().enumerate() {
                // Unchanged lines between two hunks are left out: say so.
                if i > 0 {
                    out.push((' ', "    …".to_string()));
                }
                for op in group {
                    for change in diff.iter_changes(&op) {
                        let tag = match change.tag() {
                            ChangeTag::Delete => '-',
                            ChangeTag::Insert => '+',
                            ChangeTag::Equal => ' ',
                        };
                        out.push((
                            tag,
                            format!("    {}", change.value().trim_end_matches('\n')),
                        ));
                    }
                }
            }
            out
        }
        (Some(old), Some(new)) => vec![(
            '~',
            format!(
                "{}: {} -> {}",
                f.path,
                show(&f.path, old, files),
                show(&f.path, new, files)
            ),
        )],
        (None, None) => Vec::new(),
    }
}

fn newline_terminated(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

/// The human form.
pub fn human(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.has_changes() && plan.blocked.is_empty() {
        let _ = writeln!(
            out,
            "No changes: the platform matches the catalog as far as state knows."
        );
    } else if !plan.has_changes() {
        let _ = writeln!(
            out,
            "Nothing can be sent: every course with changes is blocked by the roles preflight."
        );
    }
    for c in &plan.courses {
        let (s, style) = sigil(c);
        let _ = writeln!(
            out,
            "{style}{s}{style:#} {BOLD}{}{BOLD:#} {}",
            c.course_id, c.title
        );
        let _ = writeln!(out, "    {DIM}{}{DIM:#}", describe(c));
        for f in super::display::ordered(&c.field_changes()) {
            for (tag, line) in field_lines(f, &c.files) {
                let st = match tag {
                    '+' => GREEN,
                    '-' => RED,
                    '~' => YELLOW,
                    _ => Style::new(),
                };
                let _ = writeln!(out, "    {st}{tag} {line}{st:#}");
            }
        }
        for n in &c.notes {
            let _ = writeln!(out, "    {YELLOW}!{YELLOW:#} {n}");
        }
        out.push('\n');
    }
    if !plan.uploads.is_empty() {
        let _ = writeln!(
            out,
            "{BOLD}Uploads{BOLD:#} (each waited for before the courses that need it):"
        );
        for u in &plan.uploads {
            let what = if u.is_url {
                "hosted URL".to_string()
            } else {
                format!("sha256 {}…", u.key.chars().take(12).collect::<String>())
            };
            let _ = writeln!(
                out,
                "  {GREEN}↑{GREEN:#} {} (resource type {}, {what}) for {}",
                u.source,
                u.resource_type,
                u.needed_by.join(", ")
            );
        }
        out.push('\n');
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(out, "{BOLD}Notes{BOLD:#}:");
        for n in &plan.notes {
            let st = if matches!(n.kind, NoteKind::StillRejected | NoteKind::Held) {
                RED
            } else {
                YELLOW
            };
            let _ = writeln!(out, "  {st}!{st:#} {}: {}", n.course_id, n.message);
        }
        out.push('\n');
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(
            out,
            "{BOLD}Blocked{BOLD:#} by the roles preflight (not sent; `coursesync roles` shows why):"
        );
        for b in &plan.blocked {
            let _ = writeln!(out, "  {RED}!{RED:#} {} blocked: {}", b.course_id, b.reason);
        }
        out.push('\n');
    }
    if plan.summary.in_review > 0 {
        let _ = writeln!(
            out,
            "{} unchanged course{} still in review.",
            plan.summary.in_review,
            if plan.summary.in_review == 1 {
                " is"
            } else {
                "s are"
            }
        );
    }
    let _ = writeln!(out, "{BOLD}{}{BOLD:#}", plan.summary.line());
    if let Some(line) = held_line(plan) {
        let _ = writeln!(out, "{RED}{line}{RED:#}");
    }
    if let Some(line) = plan.blocked_line() {
        let _ = writeln!(out, "{RED}{line}{RED:#}");
    }
    if let Some(line) = plan.preflight_skipped_line() {
        let _ = writeln!(out, "{YELLOW}{line}{YELLOW:#}");
    }
    out
}

/// `Held: 1 course with an unknown outcome (not sent until resolved; see the notes).`, when
/// any course is held (PRODUCT.md "No blind re-add").
pub fn held_line(plan: &Plan) -> Option<String> {
    let n = plan.summary.held;
    (n > 0).then(|| {
        format!(
            "Held: {n} course{} with an unknown outcome (not sent until resolved; see the notes).",
            if n == 1 { "" } else { "s" }
        )
    })
}

/// The markdown form for a pull-request comment, never longer than [`MARKDOWN_BUDGET`].
pub fn markdown(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut out = String::new();
    let _ = writeln!(out, "### coursesync plan\n");
    let _ = writeln!(out, "| action | courses |\n|---|---:|");
    for (label, n) in [
        ("add", s.add),
        ("modify (re-audit)", s.modify),
        ("path-only change (no re-audit)", s.path_only),
        ("listing change", s.listing),
        ("delist", s.delist),
        ("uploads", s.uploads),
        ("unchanged, still in review", s.in_review),
        ("unchanged, still rejected", s.rejected),
    ] {
        let _ = writeln!(out, "| {label} | {n} |");
    }
    if s.held > 0 {
        let _ = writeln!(out, "| held: unknown outcome, not sent | {} |", s.held);
    }
    let _ = writeln!(out, "\n**{}**\n", s.line());
    if let Some(line) = held_line(plan) {
        let _ = writeln!(out, "**{line}**\n");
    }
    if let Some(line) = plan.blocked_line() {
        let _ = writeln!(out, "**{line}**\n");
        let _ = writeln!(
            out,
            "<details><summary>Blocked by the roles preflight ({}): not sent</summary>\n",
            plan.blocked.len()
        );
        for (shown, b) in plan.blocked.iter().enumerate() {
            let line = format!(
                "- `{}` blocked: {}\n",
                escape_md(&b.course_id),
                escape_md(&b.reason)
            );
            if out.len() + line.len() > MARKDOWN_BUDGET / 4 {
                let _ = writeln!(out, "- … and {} more", plan.blocked.len() - shown);
                break;
            }
            out.push_str(&line);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    if let Some(line) = plan.preflight_skipped_line() {
        let _ = writeln!(out, "_{}_\n", escape_md(&line));
    }
    if !plan.notes.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Notes ({})</summary>\n",
            plan.notes.len()
        );
        for (shown_notes, n) in plan.notes.iter().enumerate() {
            let line = format!("- `{}`: {}\n", n.course_id, escape_md(&n.message));
            if out.len() + line.len() > MARKDOWN_BUDGET / 4 {
                let _ = writeln!(out, "- … and {} more notes", plan.notes.len() - shown_notes);
                break;
            }
            out.push_str(&line);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    // Keep room for the closing lines whatever happens.
    let limit = MARKDOWN_BUDGET - 600;
    let mut shown = 0;
    for c in &plan.courses {
        let (sig, _) = sigil(c);
        let mut block = format!(
            "<details><summary><code>{sig} {}</code> {} — {}</summary>\n\n```diff\n",
            escape_md(&c.course_id),
            escape_md(&c.title),
            escape_md(&describe(c))
        );
        for f in super::display::ordered(&c.field_changes()) {
            for (tag, line) in field_lines(f, &c.files) {
                let tag = if tag == '~' { '!' } else { tag };
                let _ = writeln!(block, "{tag} {}", line.replace("```", "` ` `"));
            }
        }
        for n in &c.notes {
            let _ = writeln!(block, "# {n}");
        }
        block.push_str("```\n</details>\n\n");
        if out.len() + block.len() > limit {
            break;
        }
        out.push_str(&block);
        shown += 1;
    }
    let hidden = plan.courses.len() - shown;
    if hidden > 0 {
        let _ = writeln!(
            out,
            "…and {hidden} more course{} not shown here (the comment has a size limit); run `coursesync plan` for all of them.\n",
            if hidden == 1 { "" } else { "s" }
        );
    }
    if !plan.uploads.is_empty() {
        let _ = writeln!(
            out,
            "{} file upload{} before the courses that need them.",
            plan.uploads.len(),
            if plan.uploads.len() == 1 { "" } else { "s" }
        );
    }
    out
}

fn escape_md(s: &str) -> String {
    s.replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

/// The JSON form: the plan value.
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan serializes")
}
