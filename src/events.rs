//! Progress events: what a long-running use case tells its caller while it works. The command
//! line draws progress bars and prints warnings from them; tests and library users may ignore
//! them ([`Quiet`]). A leaf module, so that `apply` and `ops` can both emit them.

use std::time::Duration;

use crate::audit::RefreshReport;
use crate::state::LockHolder;

#[derive(Debug)]
pub enum Event<'a> {
    /// A stale lock (its process is gone) was taken over (PRODUCT.md "Locks do not strand").
    TookOverLock(&'a LockHolder),
    /// Apply starts: this many uploads and courses to do.
    ApplyStarted { uploads: usize, courses: usize },
    /// One upload finished (either way).
    UploadFinished,
    /// One course finished (either way).
    CourseFinished,
    /// Every upload and course of the apply finished.
    ApplyFinished,
    /// `apply --wait` starts waiting for the audits of this many courses.
    WaitStarted { courses: usize, timeout: Duration },
    /// `apply --wait` polled the platform and something changed.
    Refreshed(&'a RefreshReport),
}

/// Receives [`Event`]s; shared with the tasks of an apply, hence `Send + Sync`.
pub trait Events: Send + Sync {
    fn on(&self, event: Event<'_>);
}

/// Ignores every event.
pub struct Quiet;

impl Events for Quiet {
    fn on(&self, _: Event<'_>) {}
}
