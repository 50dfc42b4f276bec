//! Write-through persistence for `--data FILE`: one SQLite table of JSON rows keyed by
//! (kind, key). Every write call of the API upserts the rows it changed in one transaction, so a
//! restarted emulator resumes with the same products, resources, tokens, callback registrations
//! and pending audits.

use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, params};

pub struct Store {
    conn: Connection,
}

/// One row to write: (kind, key, JSON), or a deletion when the JSON is `None`.
pub type Row = (&'static str, String, Option<String>);

impl Store {
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the directory of {}", path.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening emulator data file {}", path.display()))?;
        // WAL + NORMAL: a crash may lose the last writes but never corrupts the file; the
        // emulator is a test platform, not a ledger.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS rows (
                 kind TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL,
                 PRIMARY KEY (kind, key));",
        )
        .with_context(|| format!("initialising emulator data file {}", path.display()))?;
        Ok(Store { conn })
    }

    /// Every stored row of `kind`, as JSON text.
    pub fn load(&self, kind: &str) -> anyhow::Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM rows WHERE kind = ?1 ORDER BY key")?;
        let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn write(&mut self, rows: &[Row]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO rows (kind, key, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, key) DO UPDATE SET json = excluded.json",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM rows WHERE kind = ?1 AND key = ?2")?;
            for (kind, key, json) in rows {
                match json {
                    Some(json) => upsert.execute(params![kind, key, json])?,
                    None => delete.execute(params![kind, key])?,
                };
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn clear(&mut self) -> anyhow::Result<()> {
        self.conn.execute("DELETE FROM rows", [])?;
        Ok(())
    }
}
