//! How the command line shows [`Event`]s: warnings on stderr, progress bars on stderr (drawn
//! only when stderr is a terminal), and the `--wait` poll results on stdout.

use std::io::Write as _;
use std::sync::Mutex;

use crate::events::{Event, Events};

/// Renders events for a person at a terminal.
#[derive(Default)]
pub struct Terminal {
    bars: Mutex<Option<Bars>>,
}

struct Bars {
    uploads: indicatif::ProgressBar,
    courses: indicatif::ProgressBar,
}

impl Bars {
    fn new(uploads: usize, courses: usize) -> Bars {
        let multi =
            indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
        let style =
            indicatif::ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
        let bar = |len: usize, prefix: &'static str| {
            let b = multi.add(indicatif::ProgressBar::new(len as u64));
            b.set_style(style.clone());
            b.set_prefix(prefix);
            b
        };
        Bars {
            uploads: bar(uploads, "uploads"),
            courses: bar(courses, "courses"),
        }
    }
}

impl Terminal {
    fn with_bars(&self, f: impl FnOnce(&mut Option<Bars>)) {
        f(&mut self
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }
}

impl Events for Terminal {
    fn on(&self, event: Event<'_>) {
        match event {
            Event::TookOverLock(h) => warn_takeover(h),
            Event::ApplyStarted { uploads, courses } => {
                self.with_bars(|b| *b = Some(Bars::new(uploads, courses)));
            }
            Event::UploadFinished => self.with_bars(|b| {
                if let Some(b) = b {
                    b.uploads.inc(1);
                }
            }),
            Event::CourseFinished => self.with_bars(|b| {
                if let Some(b) = b {
                    b.courses.inc(1);
                }
            }),
            Event::ApplyFinished => self.with_bars(|b| {
                if let Some(b) = b.take() {
                    b.uploads.finish_and_clear();
                    b.courses.finish_and_clear();
                }
            }),
            Event::WaitStarted { courses, timeout } => {
                println!(
                    "Waiting up to {} for the audit of {courses} course(s)…",
                    crate::duration::show(timeout),
                );
            }
            Event::Refreshed(report) => {
                let _ = super::refresh::print_report(&mut anstream::stdout(), report);
            }
        }
    }
}

/// Warns on stderr that a stale lock was taken over (PRODUCT.md "Locks do not strand").
pub fn warn_takeover(h: &crate::state::LockHolder) {
    let yellow = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    let _ = writeln!(
        anstream::stderr(),
        "{yellow}warning{yellow:#}: took over a stale lock held by {h} (that process is gone)"
    );
}
