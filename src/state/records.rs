//! The rows the plan reads: courses, uploaded resources, and the file stat cache.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use rusqlite::{OptionalExtension, Row, params};

use super::{State, StateError};

/// Where a course stands in the platform's audit (platform-api.md §5.5: 1 review, 2 passed,
/// 3 rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audit {
    NotSubmitted,
    InReview,
    Approved,
    Rejected,
    /// The answer to its `add` was lost (timeout, 5xx, dropped connection, or a kill between
    /// sending and recording): the platform may have the product or not. Held, never re-sent
    /// blindly, until `import --product-id N` or `apply --resend` (PRODUCT.md "No blind
    /// re-add").
    UnknownOutcome,
}

impl Audit {
    pub fn as_str(self) -> &'static str {
        match self {
            Audit::NotSubmitted => "not_submitted",
            Audit::InReview => "in_review",
            Audit::Approved => "approved",
            Audit::Rejected => "rejected",
            Audit::UnknownOutcome => "unknown_outcome",
        }
    }
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown audit state {0:?} (expected not_submitted, in_review, approved, rejected or unknown_outcome)"
)]
pub struct UnknownAudit(pub String);

impl FromStr for Audit {
    type Err = UnknownAudit;
    fn from_str(s: &str) -> Result<Audit, UnknownAudit> {
        match s {
            "not_submitted" => Ok(Audit::NotSubmitted),
            "in_review" => Ok(Audit::InReview),
            "approved" => Ok(Audit::Approved),
            "rejected" => Ok(Audit::Rejected),
            "unknown_outcome" => Ok(Audit::UnknownOutcome),
            other => Err(UnknownAudit(other.to_string())),
        }
    }
}

/// One course as coursesync last left it on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRecord {
    pub course_id: String,
    pub title: String,
    pub product_id: Option<i64>,
    pub audit: Audit,
    pub reject_reason: Option<String>,
    /// Listing state on the platform.
    pub listed: bool,
    /// Canonical JSON last submitted (add / modify / modify_no_audit).
    pub payload: Option<String>,
    pub payload_hash: Option<String>,
    /// The live, last approved version.
    pub approved_payload: Option<String>,
    pub approved_hash: Option<String>,
    /// Unix ms.
    pub first_applied_at: Option<i64>,
    pub last_applied_at: Option<i64>,
    pub updated_at: i64,
    /// JSON, per-lesson audit results, written by refresh.
    pub lesson_audits: Option<String>,
}

/// An upload, keyed by (sha256, resource_type): a file used with two resource types is uploaded
/// once per type (PRODUCT.md "Settled details").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRecord {
    pub sha256: String,
    pub resource_type: i64,
    pub uri: String,
    /// 1 uploading, 2 done, 3 failed (platform-api.md §6.2).
    pub status: i64,
    /// The URL offered to the platform.
    pub url: String,
    pub updated_at: i64,
}

/// What a file looked like when it was last hashed; equal size, mtime and inode mean the same
/// content, so a second plan re-hashes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// Relative to the catalog directory.
    pub path: String,
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    pub inode: u64,
    pub sha256: String,
}

/// Columns of `courses c` joined with `course_payloads p`, in [`course_from_row`] order.
const COURSE_COLUMNS: &str = "c.course_id, c.title, c.product_id, c.audit, c.reject_reason, \
     c.listed, p.payload, c.payload_hash, p.approved_payload, c.approved_hash, \
     c.first_applied_at, c.last_applied_at, c.updated_at, c.lesson_audits";

/// The same columns with NULL for the two payload bodies.
const COURSE_COLUMNS_WITHOUT_PAYLOADS: &str = "c.course_id, c.title, c.product_id, c.audit, \
     c.reject_reason, c.listed, NULL, c.payload_hash, NULL, c.approved_hash, \
     c.first_applied_at, c.last_applied_at, c.updated_at, c.lesson_audits";

fn course_from_row(r: &Row<'_>) -> rusqlite::Result<CourseRecord> {
    let audit = r.get_ref(3)?.as_str()?.parse::<Audit>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(CourseRecord {
        course_id: r.get(0)?,
        title: r.get(1)?,
        product_id: r.get(2)?,
        audit,
        reject_reason: r.get(4)?,
        listed: r.get(5)?,
        payload: r.get(6)?,
        payload_hash: r.get(7)?,
        approved_payload: r.get(8)?,
        approved_hash: r.get(9)?,
        first_applied_at: r.get(10)?,
        last_applied_at: r.get(11)?,
        updated_at: r.get(12)?,
        lesson_audits: r.get(13)?,
    })
}

pub(super) fn upsert_course(conn: &rusqlite::Connection, c: &CourseRecord) -> rusqlite::Result<()> {
    // An upsert, not INSERT OR REPLACE: a replace deletes the row first, which would cascade to
    // its payloads.
    conn.prepare_cached(
        "INSERT INTO courses (course_id, title, product_id, audit, reject_reason, listed, \
         payload_hash, approved_hash, first_applied_at, last_applied_at, updated_at, \
         lesson_audits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (course_id) DO UPDATE SET title = excluded.title, \
         product_id = excluded.product_id, audit = excluded.audit, \
         reject_reason = excluded.reject_reason, listed = excluded.listed, \
         payload_hash = excluded.payload_hash, approved_hash = excluded.approved_hash, \
         first_applied_at = excluded.first_applied_at, \
         last_applied_at = excluded.last_applied_at, updated_at = excluded.updated_at, \
         lesson_audits = excluded.lesson_audits",
    )?
    .execute(params![
        c.course_id,
        c.title,
        c.product_id,
        c.audit.as_str(),
        c.reject_reason,
        c.listed,
        c.payload_hash,
        c.approved_hash,
        c.first_applied_at,
        c.last_applied_at,
        c.updated_at,
        c.lesson_audits,
    ])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO course_payloads (course_id, payload, approved_payload) \
         VALUES (?1, ?2, ?3)",
    )?
    .execute(params![c.course_id, c.payload, c.approved_payload])?;
    Ok(())
}

impl State {
    /// Every course, by course_id, complete with both payload bodies, in one query. At 100,000
    /// courses with 2 KB payloads that is hundreds of MB to materialise; a caller that only
    /// compares hashes wants [`State::courses_without_payloads`].
    pub fn courses(&self) -> Result<BTreeMap<String, CourseRecord>, StateError> {
        self.query_courses(&format!(
            "SELECT {COURSE_COLUMNS} FROM courses c \
             LEFT JOIN course_payloads p ON p.course_id = c.course_id"
        ))
    }

    /// Every course with `payload` and `approved_payload` left `None` (their hashes are set):
    /// enough to decide what changed, and it never reads the payload bodies. Fetch a changed
    /// course's bodies with [`State::course`].
    pub fn courses_without_payloads(&self) -> Result<BTreeMap<String, CourseRecord>, StateError> {
        self.query_courses(&format!(
            "SELECT {COURSE_COLUMNS_WITHOUT_PAYLOADS} FROM courses c"
        ))
    }

    fn query_courses(&self, sql: &str) -> Result<BTreeMap<String, CourseRecord>, StateError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        // Collected first: building a BTreeMap from a Vec sorts once and builds in bulk, which
        // beat 100,000 single inserts.
        let rows = stmt
            .query_map([], |r| course_from_row(r).map(|c| (c.course_id.clone(), c)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows.into_iter().collect())
    }

    /// One course, complete.
    pub fn course(&self, course_id: &str) -> Result<Option<CourseRecord>, StateError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COURSE_COLUMNS} FROM courses c \
             LEFT JOIN course_payloads p ON p.course_id = c.course_id WHERE c.course_id = ?1"
        ))?;
        Ok(stmt.query_row([course_id], course_from_row).optional()?)
    }

    /// Inserts or replaces one course.
    pub fn put_course(&self, course: &CourseRecord) -> Result<(), StateError> {
        self.write(|tx| Ok(upsert_course(tx, course)?))
    }

    /// Inserts or replaces many courses in one transaction (one serial step).
    pub fn put_courses(&self, courses: &[CourseRecord]) -> Result<(), StateError> {
        self.write(|tx| {
            for c in courses {
                upsert_course(tx, c)?;
            }
            Ok(())
        })
    }

    /// Forgets a course (the platform is not touched). `false` when it was not known; the serial
    /// moves only when something was removed.
    pub fn remove_course(&self, course_id: &str) -> Result<bool, StateError> {
        if self.course(course_id)?.is_none() {
            return Ok(false);
        }
        self.write(|tx| {
            Ok(tx.execute("DELETE FROM courses WHERE course_id = ?1", [course_id])? > 0)
        })
    }

    /// Every upload, by (sha256, resource_type).
    pub fn resources(&self) -> Result<HashMap<(String, i64), ResourceRecord>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, resource_type, uri, status, url, updated_at FROM resources",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ResourceRecord {
                sha256: r.get(0)?,
                resource_type: r.get(1)?,
                uri: r.get(2)?,
                status: r.get(3)?,
                url: r.get(4)?,
                updated_at: r.get(5)?,
            })
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let r = row?;
            out.insert((r.sha256.clone(), r.resource_type), r);
        }
        Ok(out)
    }

    pub fn put_resource(&self, resource: &ResourceRecord) -> Result<(), StateError> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO resources (sha256, resource_type, uri, status, url, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                resource.sha256,
                resource.resource_type,
                resource.uri,
                resource.status,
                resource.url,
                resource.updated_at,
            ])?;
            Ok(())
        })
    }

    /// The stat cache, by path relative to the catalog directory.
    pub fn file_stats(&self) -> Result<HashMap<String, FileStat>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path, size, mtime_ns, inode, sha256 FROM file_stats")?;
        let rows = stmt.query_map([], |r| {
            Ok(FileStat {
                path: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                mtime_ns: r.get(2)?,
                inode: r.get::<_, i64>(3)? as u64,
                sha256: r.get(4)?,
            })
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let s = row?;
            out.insert(s.path.clone(), s);
        }
        Ok(out)
    }

    /// Upserts stat-cache entries in one transaction. This is the one write that does NOT bump
    /// the serial: the cache only saves re-hashing, it changes nothing a plan decides on (a
    /// file's hash is recomputed when its stat differs), and `plan` itself writes it, so a saved
    /// plan must not go stale because another plan ran.
    pub fn put_file_stats(&self, stats: &[FileStat]) -> Result<(), StateError> {
        if stats.is_empty() {
            return Ok(());
        }
        self.write_unversioned(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO file_stats (path, size, mtime_ns, inode, sha256) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for s in stats {
                stmt.execute(params![
                    s.path,
                    s.size as i64,
                    s.mtime_ns,
                    s.inode as i64,
                    s.sha256
                ])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn course(id: &str) -> CourseRecord {
        CourseRecord {
            course_id: id.to_string(),
            title: format!("课程 {id}"),
            product_id: Some(7_301_000_000_000_000_001),
            audit: Audit::InReview,
            reject_reason: None,
            listed: true,
            payload: Some(r#"{"title":"x"}"#.into()),
            payload_hash: Some("ab".repeat(32)),
            approved_payload: None,
            approved_hash: None,
            first_applied_at: Some(1_700_000_000_000),
            last_applied_at: Some(1_700_000_000_500),
            updated_at: 1_700_000_000_500,
            lesson_audits: Some(r#"[{"status":1}]"#.into()),
        }
    }

    fn open() -> (tempfile::TempDir, State) {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(&dir.path().join("s.db")).unwrap();
        (dir, state)
    }

    #[test]
    fn audit_round_trips_through_its_name() {
        for a in [
            Audit::NotSubmitted,
            Audit::InReview,
            Audit::Approved,
            Audit::Rejected,
        ] {
            assert_eq!(a.as_str().parse::<Audit>().unwrap(), a);
        }
        assert!("pending".parse::<Audit>().is_err());
    }

    #[test]
    fn course_round_trips_every_field_and_bumps_serial() {
        let (_d, state) = open();
        let mut c = course("py-101");
        c.reject_reason = Some("价格不合理".into());
        c.audit = Audit::Rejected;
        c.approved_payload = Some("{}".into());
        c.approved_hash = Some("cd".repeat(32));
        state.put_course(&c).unwrap();
        assert_eq!(state.serial(), 1);
        assert_eq!(state.course("py-101").unwrap(), Some(c.clone()));
        let mut none = course("bare");
        none.product_id = None;
        none.payload = None;
        none.first_applied_at = None;
        none.listed = false;
        state.put_course(&none).unwrap();
        assert_eq!(state.course("bare").unwrap(), Some(none));
        assert_eq!(state.serial(), 2);
        assert_eq!(state.course("nope").unwrap(), None);
    }

    #[test]
    fn put_course_replaces_and_courses_lists_in_order() {
        let (_d, state) = open();
        state
            .put_courses(&[course("b"), course("a"), course("c")])
            .unwrap();
        assert_eq!(state.serial(), 1, "one transaction, one serial step");
        let mut a = course("a");
        a.audit = Audit::Approved;
        state.put_course(&a).unwrap();
        let all = state.courses().unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(all["a"].audit, Audit::Approved);
    }

    #[test]
    fn courses_without_payloads_keeps_everything_but_the_bodies() {
        let (_d, state) = open();
        let mut c = course("a");
        c.approved_payload = Some(r#"{"v":1}"#.into());
        c.approved_hash = Some("cd".repeat(32));
        state.put_course(&c).unwrap();
        let light = state.courses_without_payloads().unwrap();
        let full = state.courses().unwrap();
        assert_eq!(full["a"], c);
        assert_eq!(
            light["a"],
            CourseRecord {
                payload: None,
                approved_payload: None,
                ..c
            }
        );
    }

    #[test]
    fn replacing_a_course_replaces_its_payloads() {
        let (_d, state) = open();
        state.put_course(&course("a")).unwrap();
        let mut c = course("a");
        c.payload = Some(r#"{"v":2}"#.into());
        c.approved_payload = Some(r#"{"v":1}"#.into());
        state.put_course(&c).unwrap();
        assert_eq!(state.course("a").unwrap(), Some(c));
        let mut cleared = course("a");
        cleared.payload = None;
        state.put_course(&cleared).unwrap();
        assert_eq!(state.course("a").unwrap(), Some(cleared));
    }

    #[test]
    fn remove_course_reports_whether_it_existed() {
        let (_d, state) = open();
        state.put_course(&course("a")).unwrap();
        assert!(state.remove_course("a").unwrap());
        assert_eq!(state.serial(), 2);
        assert!(!state.remove_course("a").unwrap());
        assert_eq!(state.serial(), 2);
        assert!(state.courses().unwrap().is_empty());
        let orphans: i64 = state
            .conn
            .query_row("SELECT count(*) FROM course_payloads", [], |r| r.get(0))
            .unwrap();
        assert_eq!(orphans, 0);
    }

    #[test]
    fn resources_are_keyed_by_hash_and_type() {
        let (_d, state) = open();
        let r = |t, uri: &str| ResourceRecord {
            sha256: "ee".repeat(32),
            resource_type: t,
            uri: uri.into(),
            status: 2,
            url: "https://cdn/x.jpg?sha256=ee".into(),
            updated_at: 5,
        };
        state.put_resource(&r(1, "product/resource/1")).unwrap();
        state.put_resource(&r(31, "tos-cn-i/31")).unwrap();
        state.put_resource(&r(1, "product/resource/1b")).unwrap();
        let all = state.resources().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[&("ee".repeat(32), 1)].uri, "product/resource/1b");
        assert_eq!(all[&("ee".repeat(32), 31)], r(31, "tos-cn-i/31"));
        assert_eq!(state.serial(), 3);
    }

    #[test]
    fn file_stats_round_trip_without_moving_the_serial() {
        let (_d, state) = open();
        let s = FileStat {
            path: "assets/a/b.mp4".into(),
            size: u64::from(u32::MAX) + 7,
            mtime_ns: 1_700_000_000_123_456_789,
            inode: 1 << 40,
            sha256: "aa".repeat(32),
        };
        state.put_file_stats(std::slice::from_ref(&s)).unwrap();
        assert_eq!(state.file_stats().unwrap()["assets/a/b.mp4"], s);
        assert_eq!(state.serial(), 0);
    }
}
