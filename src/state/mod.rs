//! The SQLite state file: what coursesync last did on the platform and what the platform said.
//!
//! The plan diffs the catalog against it; apply records every platform result in it the moment
//! it arrives (PRODUCT.md "Promises"). Invariants:
//! - A file is ours only if it carries [`APPLICATION_ID`]; foreign, corrupt and newer files are
//!   refused before anything is written to them.
//! - The schema is the append-only [`MIGRATIONS`] list, tracked by `PRAGMA user_version`.
//! - `meta.lineage` is fixed at creation; `meta.serial` grows by one in every write transaction
//!   that changes what a plan decides on, so a saved plan can tell that it went stale. The stat
//!   cache and the lock are bookkeeping and leave the serial alone.
//! - Read-only opens ([`State::open_readonly`]) never create or write the file.

mod held;
mod journal;
mod lock;
mod records;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use held::AddDetail;
pub use journal::{JOURNAL_ACTIONS, JournalEntry};
pub use lock::{LockGuard, LockHolder};
pub use records::{Audit, CourseRecord, FileStat, ResourceRecord};

/// `PRAGMA application_id` of every coursesync state file ("CSYN").
pub const APPLICATION_ID: i32 = 0x4353_594E;

/// The schema, one migration per entry. Append only: never edit or reorder a released entry.
pub const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    lineage TEXT NOT NULL,
    serial  INTEGER NOT NULL
);
CREATE TABLE courses (
    course_id        TEXT PRIMARY KEY NOT NULL,
    title            TEXT NOT NULL,
    product_id       INTEGER,
    audit            TEXT NOT NULL
                     CHECK (audit IN ('not_submitted', 'in_review', 'approved', 'rejected')),
    reject_reason    TEXT,
    listed           INTEGER NOT NULL,
    payload_hash     TEXT,
    approved_hash    TEXT,
    first_applied_at INTEGER,
    last_applied_at  INTEGER,
    updated_at       INTEGER NOT NULL,
    lesson_audits    TEXT
);
-- The payload bodies (KBs each) live apart so that scanning the courses' small columns does not
-- page through them: see State::courses_without_payloads.
CREATE TABLE course_payloads (
    course_id        TEXT PRIMARY KEY NOT NULL REFERENCES courses (course_id) ON DELETE CASCADE,
    payload          TEXT,
    approved_payload TEXT
);
CREATE TABLE resources (
    sha256        TEXT NOT NULL,
    resource_type INTEGER NOT NULL,
    uri           TEXT NOT NULL,
    status        INTEGER NOT NULL,
    url           TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (sha256, resource_type)
) WITHOUT ROWID;
CREATE TABLE file_stats (
    path     TEXT PRIMARY KEY NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode    INTEGER NOT NULL,
    sha256   TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE journal (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    course_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    payload_hash TEXT,
    detail       TEXT,
    started_at   INTEGER NOT NULL
);
CREATE TABLE lock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    command    TEXT NOT NULL,
    token      TEXT NOT NULL
);
",
    // 2: `unknown_outcome` (an add whose answer was lost, held until resolved). SQLite cannot change
    // a CHECK constraint in place: the table is rebuilt (foreign keys are off while migrating, so
    // dropping the old table does not cascade to course_payloads, whose reference then names the
    // rebuilt table).
    r"
CREATE TABLE courses_v2 (
    course_id        TEXT PRIMARY KEY NOT NULL,
    title            TEXT NOT NULL,
    product_id       INTEGER,
    audit            TEXT NOT NULL
                     CHECK (audit IN ('not_submitted', 'in_review', 'approved', 'rejected',
                                      'unknown_outcome')),
    reject_reason    TEXT,
    listed           INTEGER NOT NULL,
    payload_hash     TEXT,
    approved_hash    TEXT,
    first_applied_at INTEGER,
    last_applied_at  INTEGER,
    updated_at       INTEGER NOT NULL,
    lesson_audits    TEXT
);
INSERT INTO courses_v2 SELECT course_id, title, product_id, audit, reject_reason, listed,
    payload_hash, approved_hash, first_applied_at, last_applied_at, updated_at, lesson_audits
    FROM courses;
DROP TABLE courses;
ALTER TABLE courses_v2 RENAME TO courses;
",
];

/// No memory map: reads go through SQLite's own small page cache. A map made a scan of the
/// courses table (every plan reads every record) count the whole file in the process's resident
/// memory: at 100,000 realistic courses a no-op plan peaked at 632 MB with a 1 GiB map and 322 MB
/// without, no slower (4.4-5.2 s either way, `/usr/bin/time coursesync plan`).
const MMAP_SIZE: i64 = 0;

/// How long a connection waits for another one's write transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot create the directory of state file {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a coursesync state file (not an SQLite database)")]
    NotSqlite { path: PathBuf },
    #[error(
        "{path} is an SQLite database that belongs to another program (application_id {application_id:#x})"
    )]
    Foreign { path: PathBuf, application_id: i32 },
    #[error(
        "{path} was written by a newer coursesync (schema {found} > {known}); upgrade coursesync"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "{path} has an older schema ({found} < {known}) and was opened read-only, so it cannot be upgraded"
    )]
    Outdated {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the state is locked by pid {pid} on {host} since {since}, running `{command}`",
        pid = holder.pid, host = holder.host, since = format_ms(holder.started_at),
        command = holder.command)]
    Locked { holder: LockHolder },
    #[error("{path} is open read-only; it cannot be locked or written")]
    ReadOnly { path: PathBuf },
    #[error("journal entry {id} is not pending")]
    NoSuchJournalEntry { id: i64 },
    #[error("unknown journal action {action:?} (expected one of {expected})", expected = JOURNAL_ACTIONS.join(", "))]
    UnknownJournalAction { action: String },
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StateError {
    /// What to do about the error, printed as `hint: ...`.
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::NotSqlite { .. } | StateError::Foreign { .. } => Some(
                "check [state] path in coursesync.toml; coursesync only writes files it created"
                    .into(),
            ),
            StateError::TooNew { .. } => {
                Some("install the coursesync version this repository's CI uses".into())
            }
            StateError::Outdated { .. } => {
                Some("run `coursesync refresh` or `coursesync apply` once to upgrade it".into())
            }
            StateError::Locked { .. } => Some(
                "wait for it to finish; if that process is really gone, run `coursesync state unlock`"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// An open state file.
#[derive(Debug)]
pub struct State {
    conn: Connection,
    path: PathBuf,
    lineage: String,
    /// This handle's view of `meta.serial`: read at open and on `lock`, updated by own writes.
    serial: Cell<u64>,
}

impl State {
    /// Opens the state file for reading and writing, creating it (and its directory) when missing
    /// and bringing its schema up to date.
    pub fn open(path: &Path) -> Result<State, StateError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Identity first: nothing may be written to a file that is not ours.
        let found = check_identity(&conn, path)?;
        if found.version > latest_version() {
            return Err(StateError::TooNew {
                path: path.to_path_buf(),
                found: found.version,
                known: latest_version(),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL: a commit survives the process being killed (the WAL frames are in the
        // OS page cache once write() returns); only power loss can drop the last commits. The
        // journal's intents are committed with FULL (see `journal_begin`).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Migrations run with foreign keys off (a table rebuild must not cascade), then on.
        conn.pragma_update(None, "foreign_keys", false)?;
        migrate(&conn)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        let (lineage, serial) = read_meta(&conn)?;
        Ok(State {
            conn,
            path: path.to_path_buf(),
            lineage,
            serial: Cell::new(serial),
        })
    }

    /// Opens the state file for reading only: `Ok(None)` when it does not exist (or is an empty
    /// file), so `plan` and `status` can treat the state as empty without creating anything.
    pub fn open_readonly(path: &Path) -> Result<Option<State>, StateError> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let found = check_identity(&conn, path)?;
        if found.empty {
            return Ok(None);
        }
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        let known = latest_version();
        if found.version > known {
            return Err(StateError::TooNew {
                path: path.to_path_buf(),
                found: found.version,
                known,
            });
        }
        if found.version < known {
            return Err(StateError::Outdated {
                path: path.to_path_buf(),
                found: found.version,
                known,
            });
        }
        let (lineage, serial) = read_meta(&conn)?;
        Ok(Some(State {
            conn,
            path: path.to_path_buf(),
            lineage,
            serial: Cell::new(serial),
        }))
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A random id made once when the file was created; a plan made against another lineage is
    /// stale whatever the serial.
    pub fn lineage(&self) -> String {
        self.lineage.clone()
    }

    /// The serial as of the last read (open, `lock`) or this handle's own last write. While the
    /// lock is held no other process writes, so this is then the file's serial.
    pub fn serial(&self) -> u64 {
        self.serial.get()
    }

    /// The schema version this build writes.
    pub fn schema_version() -> i64 {
        latest_version()
    }

    /// Runs `f` in one IMMEDIATE transaction and bumps the serial in it.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        let serial: i64 = tx.query_row(
            "UPDATE meta SET serial = serial + 1 WHERE id = 1 RETURNING serial",
            [],
            |r| r.get(0),
        )?;
        tx.commit()?;
        self.serial.set(serial as u64);
        Ok(out)
    }

    /// Runs `f` in one IMMEDIATE transaction that leaves the serial alone (bookkeeping only).
    fn write_unversioned<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

struct Identity {
    version: i64,
    /// No schema at all: a new (or zero-length) file.
    empty: bool,
}

fn check_identity(conn: &Connection, path: &Path) -> Result<Identity, StateError> {
    let not_sqlite = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StateError::NotSqlite {
            path: path.to_path_buf(),
        },
        _ => StateError::Sqlite(e),
    };
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(not_sqlite)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(not_sqlite)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(not_sqlite)?;
    if application_id == APPLICATION_ID {
        return Ok(Identity {
            version,
            empty: false,
        });
    }
    if application_id == 0 && version == 0 && objects == 0 {
        return Ok(Identity {
            version: 0,
            empty: true,
        });
    }
    Err(StateError::Foreign {
        path: path.to_path_buf(),
        application_id,
    })
}

/// Runs every migration the file has not seen, each in its own transaction. The version is
/// re-read inside the transaction so two processes opening a new file cannot both migrate.
fn migrate(conn: &Connection) -> Result<(), StateError> {
    loop {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let Some(sql) = MIGRATIONS.get(version as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        if version == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.execute(
                "INSERT INTO meta (id, lineage, serial) VALUES (1, ?1, 0)",
                [new_lineage()],
            )?;
        }
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

fn new_lineage() -> String {
    format!("{:032x}", fastrand::u128(..))
}

fn read_meta(conn: &Connection) -> Result<(String, u64), StateError> {
    let (lineage, serial): (String, i64) =
        conn.query_row("SELECT lineage, serial FROM meta WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok((lineage, serial as u64))
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds as RFC 3339 (UTC), the one way times are printed.
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("coursesync.db");
        (dir, path)
    }

    fn user_version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn open_creates_directory_and_migrates_to_latest() {
        let (_dir, path) = temp();
        let state = State::open(&path).unwrap();
        assert!(path.exists());
        assert_eq!(state.serial(), 0);
        assert_eq!(state.lineage().len(), 32);
        drop(state);
        assert_eq!(user_version(&path), latest_version());
        let app: i32 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
    }

    #[test]
    fn a_version_1_file_migrates_keeping_courses_and_payloads() {
        let (_dir, path) = temp();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            conn.execute(
                "INSERT INTO meta (id, lineage, serial) VALUES (1, 'l1', 7)",
                [],
            )
            .unwrap();
            conn.execute_batch(
                "INSERT INTO courses (course_id, title, product_id, audit, listed, updated_at) \
                 VALUES ('py-101', 't', 42, 'approved', 1, 5); \
                 INSERT INTO course_payloads (course_id, payload, approved_payload) \
                 VALUES ('py-101', '{\"a\":1}', '{\"a\":1}');",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        assert!(matches!(
            State::open_readonly(&path),
            Err(StateError::Outdated { found: 1, .. })
        ));
        let state = State::open(&path).unwrap();
        assert_eq!(user_version(&path), latest_version());
        assert_eq!((state.lineage(), state.serial()), ("l1".to_string(), 7));
        let mut c = state.course("py-101").unwrap().unwrap();
        assert_eq!(c.product_id, Some(42));
        assert_eq!(c.payload.as_deref(), Some("{\"a\":1}"));
        assert_eq!(c.approved_payload.as_deref(), Some("{\"a\":1}"));
        c.audit = Audit::UnknownOutcome;
        state.put_course(&c).unwrap();
        assert_eq!(
            state.course("py-101").unwrap().unwrap().audit,
            Audit::UnknownOutcome
        );
        // The payloads still follow their course (the foreign key is on again).
        assert!(state.remove_course("py-101").unwrap());
        let left: i64 = state
            .conn
            .query_row("SELECT count(*) FROM course_payloads", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn migrating_a_zero_length_file_reaches_latest() {
        let (_dir, path) = temp();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"").unwrap();
        State::open(&path).unwrap();
        assert_eq!(user_version(&path), latest_version());
    }

    #[test]
    fn reopening_runs_no_migration_and_keeps_lineage() {
        let (_dir, path) = temp();
        let first = State::open(&path).unwrap();
        let lineage = first.lineage();
        drop(first);
        // A migration re-run would fail on CREATE TABLE; the lineage would change on re-init.
        let again = State::open(&path).unwrap();
        assert_eq!(again.lineage(), lineage);
        assert_eq!(again.serial(), 0);
        assert_eq!(user_version(&path), latest_version());
    }

    #[test]
    fn text_file_is_not_a_state_file_and_is_left_untouched() {
        let (_dir, path) = temp();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = "this is not a database, it is a long enough line of text to fill a header\n"
            .repeat(10);
        std::fs::write(&path, &text).unwrap();
        let err = State::open(&path).unwrap_err();
        assert!(matches!(err, StateError::NotSqlite { .. }), "{err:?}");
        assert!(
            err.to_string()
                .ends_with("is not a coursesync state file (not an SQLite database)"),
            "{err}"
        );
        assert!(matches!(
            State::open_readonly(&path).unwrap_err(),
            StateError::NotSqlite { .. }
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn foreign_sqlite_file_is_refused_and_left_untouched() {
        let (_dir, path) = temp();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("CREATE TABLE notes (x TEXT);").unwrap();
        drop(other);
        let before = std::fs::read(&path).unwrap();
        let err = State::open(&path).unwrap_err();
        assert!(matches!(err, StateError::Foreign { .. }), "{err:?}");
        assert!(
            err.to_string().contains("belongs to another program"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn newer_schema_is_refused_with_upgrade_advice() {
        let (_dir, path) = temp();
        drop(State::open(&path).unwrap());
        let newer = latest_version() + 3;
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", newer)
            .unwrap();
        for err in [
            State::open(&path).unwrap_err(),
            State::open_readonly(&path).unwrap_err(),
        ] {
            assert!(matches!(err, StateError::TooNew { found, .. } if found == newer));
            let msg = err.to_string();
            assert!(
                msg.contains(&format!(
                    "written by a newer coursesync (schema {newer} > {})",
                    latest_version()
                )) && msg.ends_with("upgrade coursesync"),
                "{msg}"
            );
        }
    }

    #[test]
    fn open_readonly_does_not_create_a_missing_file() {
        let (dir, path) = temp();
        assert!(State::open_readonly(&path).unwrap().is_none());
        assert!(!path.exists());
        assert!(!dir.path().join("state").exists());
    }

    #[test]
    fn open_readonly_reads_what_open_wrote_and_cannot_write() {
        let (_dir, path) = temp();
        let writer = State::open(&path).unwrap();
        writer
            .put_course(&records::tests::course("py-101"))
            .unwrap();
        let lineage = writer.lineage();
        drop(writer);
        let reader = State::open_readonly(&path).unwrap().unwrap();
        assert_eq!(reader.lineage(), lineage);
        assert_eq!(reader.serial(), 1);
        assert!(reader.course("py-101").unwrap().is_some());
        assert!(reader.put_course(&records::tests::course("x")).is_err());
    }

    #[test]
    fn format_ms_is_rfc3339_utc() {
        assert_eq!(format_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
