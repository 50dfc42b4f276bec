//! One lock per state file: two applies never run at once, and a dead holder never strands it
//! (PRODUCT.md "Locks do not strand").
//!
//! The lock is a row, taken in a `BEGIN IMMEDIATE` transaction so that checking and taking it
//! are one step. A holder on this host whose process is gone (or whose pid now belongs to a
//! process started after the lock was taken) is stale and taken over; a holder on another host
//! is always treated as alive, since its liveness cannot be checked from here.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{BUSY_TIMEOUT, State, StateError, format_ms, now_ms, read_meta};

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    /// Unix ms.
    pub started_at: i64,
    pub command: String,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on {} since {}, running `{}`",
            self.pid,
            self.host,
            format_ms(self.started_at),
            self.command
        )
    }
}

impl LockHolder {
    fn current(command: &str) -> LockHolder {
        LockHolder {
            pid: std::process::id(),
            host: this_host(),
            started_at: now_ms(),
            command: command.to_string(),
        }
    }

    /// Whether the holder may still be running. Only a holder on this host can be found dead.
    pub fn is_alive(&self) -> bool {
        self.host != this_host() || process_alive(self.pid, self.started_at)
    }
}

/// The held lock; released when dropped (only if this guard still holds it).
#[derive(Debug)]
pub struct LockGuard {
    conn: Connection,
    holder: LockHolder,
    /// Random, per taking: the same pid may take the lock twice in one millisecond.
    token: String,
    /// The stale holder this lock was taken over from, for the caller to warn about.
    pub took_over: Option<LockHolder>,
}

impl LockGuard {
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    /// Releases the lock now, reporting a failure that `drop` would have to swallow.
    pub fn release(self) -> Result<(), StateError> {
        self.delete()?;
        // The row is gone; drop's second delete matches nothing.
        Ok(())
    }

    fn delete(&self) -> rusqlite::Result<usize> {
        self.conn.execute(
            "DELETE FROM lock WHERE id = 1 AND token = ?1",
            [&self.token],
        )
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.delete();
    }
}

fn read_holder(conn: &Connection) -> rusqlite::Result<Option<LockHolder>> {
    conn.query_row(
        "SELECT pid, host, started_at, command FROM lock WHERE id = 1",
        [],
        |r| {
            Ok(LockHolder {
                pid: r.get(0)?,
                host: r.get(1)?,
                started_at: r.get(2)?,
                command: r.get(3)?,
            })
        },
    )
    .optional()
}

impl State {
    /// Takes the lock for `command` (e.g. "apply"), or fails fast with
    /// [`StateError::Locked`] naming a live holder. Also re-reads the serial, so that after
    /// locking [`State::serial`] is the file's. Neither taking nor releasing moves the serial.
    pub fn lock(&self, command: &str) -> Result<LockGuard, StateError> {
        if self.conn.is_readonly("main")? {
            return Err(StateError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let holder = LockHolder::current(command);
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let took_over = match read_holder(&tx)? {
            Some(existing) if existing.is_alive() => {
                return Err(StateError::Locked { holder: existing });
            }
            stale => stale,
        };
        let token = format!("{:032x}", fastrand::u128(..));
        tx.execute(
            "INSERT OR REPLACE INTO lock (id, pid, host, started_at, command, token) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![
                holder.pid,
                holder.host,
                holder.started_at,
                holder.command,
                token
            ],
        )?;
        let (_, serial) = read_meta(&tx)?;
        tx.commit()?;
        self.serial.set(serial);
        Ok(LockGuard {
            conn,
            holder,
            token,
            took_over,
        })
    }

    /// The current holder, if any, alive or not.
    pub fn lock_holder(&self) -> Result<Option<LockHolder>, StateError> {
        Ok(read_holder(&self.conn)?)
    }

    /// Removes the lock whoever holds it; returns who did. For `coursesync state unlock`.
    pub fn force_unlock(&self) -> Result<Option<LockHolder>, StateError> {
        self.write_unversioned(|tx| {
            let holder = read_holder(tx)?;
            tx.execute("DELETE FROM lock WHERE id = 1", [])?;
            Ok(holder)
        })
    }
}

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Whether `pid` is a running process that could have taken a lock at `locked_at` (unix ms).
/// Linux only (`/proc`); elsewhere every pid counts as alive, which never steals a live lock.
fn process_alive(pid: u32, locked_at: i64) -> bool {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return !std::path::Path::new("/proc/self/stat").exists();
        }
        Err(_) => return true,
    };
    // Fields after the parenthesised command name (which may itself hold spaces and parens).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return true;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // A zombie has exited; only its exit status waits to be collected.
    if matches!(fields.first(), Some(&("Z" | "X"))) {
        return false;
    }
    // Field 22 (starttime, clock ticks since boot) is the 20th after the name. A process that
    // started after the lock was taken reuses a dead holder's pid.
    let started_ms = fields
        .get(19)
        .and_then(|t| t.parse::<i64>().ok())
        .zip(boot_time_s())
        .map(|(ticks, boot)| boot * 1000 + ticks * 1000 / CLOCK_TICKS_PER_S);
    match started_ms {
        // Boot time has one-second resolution; allow for it.
        Some(started) => started <= locked_at.saturating_add(2_000),
        None => true,
    }
}

/// USER_HZ: 100 on every Linux architecture that reports it to user space.
const CLOCK_TICKS_PER_S: i64 = 100;

fn boot_time_s() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn plant_holder(state: &State, holder: &LockHolder) {
        state
            .conn
            .execute(
                "INSERT OR REPLACE INTO lock (id, pid, host, started_at, command, token) \
                 VALUES (1, ?1, ?2, ?3, ?4, 'planted')",
                params![holder.pid, holder.host, holder.started_at, holder.command],
            )
            .unwrap();
    }

    fn open() -> (tempfile::TempDir, State) {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(&dir.path().join("s.db")).unwrap();
        (dir, state)
    }

    #[test]
    fn second_lock_fails_naming_the_holder_and_drop_releases() {
        let (_d, state) = open();
        let guard = state.lock("apply").unwrap();
        assert!(guard.took_over.is_none());
        let err = state.lock("refresh").unwrap_err();
        let StateError::Locked { holder } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(holder, guard.holder());
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id()))
                && msg.contains(&this_host())
                && msg.contains("`apply`")
                && msg.contains(&format_ms(guard.holder().started_at)),
            "{msg}"
        );
        assert!(err.hint().unwrap().contains("coursesync state unlock"));
        drop(guard);
        assert_eq!(state.lock_holder().unwrap(), None);
        state.lock("refresh").unwrap().release().unwrap();
    }

    #[test]
    fn lock_and_unlock_leave_the_serial_alone() {
        let (dir, state) = open();
        state
            .put_course(&crate::state::records::tests::course("a"))
            .unwrap();
        let guard = state.lock("apply").unwrap();
        assert_eq!(state.serial(), 1);
        drop(guard);
        state.force_unlock().unwrap();
        drop(state.lock("apply").unwrap());
        let reopened = State::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(reopened.serial(), 1);
    }

    #[test]
    fn dead_holder_on_this_host_is_taken_over() {
        let (_d, state) = open();
        let stale = LockHolder {
            pid: dead_pid(),
            host: this_host(),
            started_at: now_ms() - 60_000,
            command: "apply".into(),
        };
        plant_holder(&state, &stale);
        assert!(!stale.is_alive());
        let guard = state.lock("apply").unwrap();
        assert_eq!(guard.took_over.as_ref(), Some(&stale));
        assert_eq!(state.lock_holder().unwrap().as_ref(), Some(guard.holder()));
    }

    #[test]
    fn reused_pid_started_after_the_lock_is_stale() {
        // Our own pid, but with a lock taken long before this process started.
        let old = LockHolder {
            pid: std::process::id(),
            host: this_host(),
            started_at: 1_000_000_000_000,
            command: "apply".into(),
        };
        assert!(!old.is_alive());
        let fresh = LockHolder {
            started_at: now_ms(),
            ..old
        };
        assert!(fresh.is_alive());
    }

    #[test]
    fn holder_on_another_host_is_never_taken_over() {
        let (_d, state) = open();
        let remote = LockHolder {
            pid: dead_pid(),
            host: format!("{}-elsewhere", this_host()),
            started_at: now_ms(),
            command: "apply".into(),
        };
        plant_holder(&state, &remote);
        assert!(matches!(
            state.lock("apply"),
            Err(StateError::Locked { holder }) if holder == remote
        ));
        assert_eq!(state.force_unlock().unwrap(), Some(remote));
        assert_eq!(state.lock_holder().unwrap(), None);
    }

    #[test]
    fn a_read_only_state_cannot_be_locked() {
        let (dir, state) = open();
        drop(state);
        let reader = State::open_readonly(&dir.path().join("s.db"))
            .unwrap()
            .unwrap();
        assert!(matches!(
            reader.lock("apply"),
            Err(StateError::ReadOnly { .. })
        ));
    }

    #[test]
    fn a_guard_does_not_release_a_lock_it_lost() {
        let (_d, state) = open();
        let guard = state.lock("apply").unwrap();
        state.force_unlock().unwrap();
        let second = state.lock("refresh").unwrap();
        drop(guard);
        assert_eq!(state.lock_holder().unwrap().as_ref(), Some(second.holder()));
    }
}
