//! Storage: one SQLite connection behind a mutex, used from async code through
//! [`Db::call`] (runs the closure on tokio's blocking pool).
//!
//! Migrations are the ordered files `server-mock/migrations/NNNN_*.sql`, embedded at
//! compile time and listed in [`MIGRATIONS`]; each is applied once, tracked by
//! `PRAGMA user_version` (= number of applied migrations). To add one, create the next
//! file and append it to [`MIGRATIONS`].
//!
//! Durability: file databases run with `journal_mode=WAL`, `synchronous=NORMAL`: every
//! committed transaction is in the WAL before the handler answers, so acknowledged writes
//! survive a `kill -9` of the process (a power loss may lose the last transactions, which
//! is fine for a sandbox). Handlers must do their writes inside one `Db::call` and, when
//! several statements belong together, inside one transaction (`conn.transaction()`).

use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::ApiError;

/// Ordered migrations: (name, SQL).
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("../migrations/0001_core.sql")),
    (
        "0002_attribution",
        include_str!("../migrations/0002_attribution.sql"),
    ),
];

/// Handle to the database (cheap to clone).
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` (`":memory:"` for an in-memory
    /// database) and applies pending migrations.
    pub fn open(path: &str) -> anyhow::Result<Db> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            let c = Connection::open(path)?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut conn = conn;
        migrate(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with exclusive access to the connection on the blocking pool.
    pub async fn call<F, T>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "database task failed");
            ApiError::internal()
        })?
    }

    /// Synchronous access (startup and tests only; never from async handlers).
    pub fn with_blocking<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// Applies every migration above the database's `user_version`, each in its own
/// transaction.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= current {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {name} failed: {e}"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::debug!(migration = name, "applied");
    }
    Ok(())
}
