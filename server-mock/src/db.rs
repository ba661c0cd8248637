//! Storage: one SQLite connection owned by a dedicated writer thread, used from async code
//! through [`Db::call`] and from start-up code through [`Db::with_blocking`].
//!
//! Migrations are the ordered files `server-mock/migrations/NNNN_<tables>.sql` (named by
//! what they create), embedded at
//! compile time and listed in [`MIGRATIONS`]; each is applied once, tracked by
//! `PRAGMA user_version` (= number of applied migrations). To add one, create the next
//! file and append it to [`MIGRATIONS`].
//!
//! **Group commit.** Every call is a job sent to the writer thread. The thread takes the
//! jobs that are waiting (up to [`MAX_BATCH`]), runs them one after another inside one
//! SQLite transaction — each job inside its own `SAVEPOINT`, so jobs see each other's writes
//! in the order they ran, exactly as if they had run one by one — commits once, and only
//! then answers each caller. One request alone is one job and one commit; sixteen requests
//! arriving together share one commit (and one `fsync`). A job that panics is rolled back
//! to its savepoint (its caller gets a 500), and so is a job that returns `Err`: **a job is
//! all-or-nothing** — every write it made is undone and the error goes back to its caller,
//! while the other jobs of the batch keep theirs. If the commit itself fails, every job of
//! the batch is answered with a 500 and nothing of it is kept.
//!
//! So a handler does all the writes of a request inside one `Db::call` and needs no
//! transaction of its own (`conn.transaction()` cannot be used: the writer's transaction is
//! already open; a nested `conn.savepoint()` still works for a part that may fail alone).
//!
//! **Durability** (file databases, `journal_mode=WAL`): with [`Synchronous::Full`] (the
//! default) every batch is fsynced before any caller is answered, so an acknowledged write
//! (say a `201` for a conversion event) survives a power loss, as with a real server's
//! database; [`Synchronous::Normal`] survives a `kill -9` of the process but may lose the
//! last batches on a power loss.
//!
//! Statements are prepared once and cached per connection ([`ConnExt`]; the cache holds
//! [`STATEMENT_CACHE`] statements).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use rusqlite::{Connection, Params, Row};

use crate::error::ApiError;

/// Ordered migrations: (name, SQL).
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_tenants_admins_partners_keys_sessions",
        include_str!("../migrations/0001_tenants_admins_partners_keys_sessions.sql"),
    ),
    (
        "0002_programs_links_clicks_events_commissions_payouts",
        include_str!("../migrations/0002_programs_links_clicks_events_commissions_payouts.sql"),
    ),
    (
        "0003_webhook_endpoints_deliveries_attempts",
        include_str!("../migrations/0003_webhook_endpoints_deliveries_attempts.sql"),
    ),
    (
        "0004_partner_postbacks",
        include_str!("../migrations/0004_partner_postbacks.sql"),
    ),
];

/// Most jobs that share one commit.
pub const MAX_BATCH: usize = 64;

/// Prepared statements kept per connection.
pub const STATEMENT_CACHE: usize = 256;

/// SQLite `PRAGMA synchronous` for file databases (`--synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `FULL`: every commit is fsynced before callers are answered (the default).
    #[default]
    Full,
    /// `NORMAL`: commits survive a process crash, not necessarily a power loss.
    Normal,
    /// `OFF`: no fsync at all (throw-away sandboxes).
    Off,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        }
    }
}

impl std::str::FromStr for Synchronous {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            "off" => Ok(Synchronous::Off),
            _ => Err(format!("'{s}' is not one of full, normal, off")),
        }
    }
}

/// What a job hands back after running: called with whether the batch committed.
type Reply = Box<dyn FnOnce(bool) + Send>;
/// A job: runs on the writer thread, says whether it succeeded (`false` rolls its writes
/// back) and hands back its reply.
type Job = Box<dyn FnOnce(&mut Connection) -> (bool, Reply) + Send>;

/// Handle to the database (cheap to clone). The writer thread ends when the last handle
/// is dropped.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
    /// Jobs submitted so far (see [`Db::jobs_submitted`]).
    submitted: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` (`":memory:"` for an in-memory
    /// database) with `PRAGMA synchronous` = `FULL`, applies pending migrations and starts
    /// the writer thread.
    pub fn open(path: &str) -> anyhow::Result<Db> {
        Db::open_with(path, Synchronous::default())
    }

    /// [`Db::open`] with an explicit durability level (ignored for `":memory:"`).
    pub fn open_with(path: &str, sync: Synchronous) -> anyhow::Result<Db> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            let c = Connection::open(path)?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", sync.pragma())?;
            c
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Savepoint journals (every job runs in one) stay in memory, not in temp files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut conn = conn;
        migrate(&mut conn)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("openpartner-db".into())
            .spawn(move || writer(conn, rx))?;
        Ok(Db {
            jobs,
            submitted: Default::default(),
        })
    }

    /// Runs `f` with exclusive access to the connection on the writer thread and returns
    /// its result once the batch it ran in is committed. All-or-nothing: when `f` returns
    /// `Err` (or panics) every write it made is rolled back. Errors: `f`'s own, or a 500
    /// when `f` panicked or the commit failed.
    pub async fn call<F, T>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(f, move |r| {
            let _ = tx.send(r);
        })?;
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(ApiError::internal()),
        }
    }

    /// Synchronous access (start-up, seeding and tests; never from async handlers, as it
    /// blocks the calling thread until the batch commits). Errors: a panic in `f` or a
    /// failed commit.
    pub fn with_blocking<F, T>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Connection) -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(
            move |c| Ok::<T, ApiError>(f(c)),
            move |r| {
                let _ = tx.send(r);
            },
        )
        .map_err(|_| anyhow::anyhow!("the database thread has stopped"))?;
        match rx.recv() {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(anyhow::anyhow!("the database commit failed")),
            Err(_) => Err(anyhow::anyhow!("the database job panicked")),
        }
    }

    /// How many jobs were submitted through this handle and its clones since the database
    /// was opened (a relaxed counter; tests and benchmarks count the jobs a request costs).
    pub fn jobs_submitted(&self) -> u64 {
        self.submitted.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn submit<F, T>(
        &self,
        f: F,
        answer: impl FnOnce(Result<T, ApiError>) + Send + 'static,
    ) -> Result<(), ApiError>
    where
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |committed| {
                answer(if committed {
                    result
                } else {
                    Err(ApiError::internal())
                })
            });
            (ok, reply)
        });
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.jobs.send(job).map_err(|_| {
            tracing::error!("database thread has stopped");
            ApiError::internal()
        })
    }
}

/// The writer thread: batches of waiting jobs, one transaction and one commit per batch.
fn writer(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut replies: Vec<Reply> = Vec::new();
        let mut next = Some(first);
        if let Err(e) = conn.execute_batch("BEGIN") {
            tracing::error!(error = %e, "cannot begin a transaction");
            // Run the job anyway in autocommit mode rather than dropping it.
            if let Some(job) = next.take() {
                run_job(&mut conn, job, false, &mut replies);
            }
            replies.into_iter().for_each(|r| r(true));
            continue;
        }
        while let Some(job) = next.take() {
            run_job(&mut conn, job, true, &mut replies);
            if replies.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let committed = match conn.execute_batch("COMMIT") {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, jobs = replies.len(), "commit failed; batch rolled back");
                let _ = conn.execute_batch("ROLLBACK");
                false
            }
        };
        for reply in replies {
            reply(committed);
        }
    }
}

fn run_job(conn: &mut Connection, job: Job, in_tx: bool, replies: &mut Vec<Reply>) {
    if in_tx {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "cannot open a savepoint");
        }
    }
    match std::panic::catch_unwind(AssertUnwindSafe(|| job(conn))) {
        Ok((ok, reply)) => {
            if in_tx {
                let sql = if ok {
                    "RELEASE job"
                } else {
                    "ROLLBACK TO job; RELEASE job"
                };
                if let Err(e) = conn.execute_batch(sql) {
                    tracing::error!(error = %e, "cannot close a job's savepoint");
                }
            }
            replies.push(reply);
        }
        Err(_) => {
            tracing::error!("database job panicked; its writes were rolled back");
            if in_tx {
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            }
        }
    }
}

/// Cached-statement shorthands for [`Connection`] (and, through `Deref`, savepoints):
/// the SQL text is parsed once per connection instead of on every call.
pub trait ConnExt {
    /// `prepare_cached(sql)?.execute(params)`: the number of changed rows.
    fn exec<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    /// `prepare_cached(sql)?.query_row(params, f)`.
    fn row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl ConnExt for Connection {
    fn exec<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
    fn row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_share_commits_and_see_each_other() {
        let db = Db::open(":memory:").unwrap();
        db.call(|c| {
            c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")?;
            Ok(())
        })
        .await
        .unwrap();
        let mut handles = Vec::new();
        for i in 0..200i64 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                db.call(move |c| {
                    let tx = c.savepoint()?;
                    tx.exec("INSERT INTO t (v) VALUES (?1)", [i])?;
                    tx.commit()?;
                    Ok(i)
                })
                .await
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().unwrap(), i as i64);
        }
        let (n, sum): (i64, i64) = db
            .call(|c| {
                Ok(c.row("SELECT COUNT(*), SUM(v) FROM t", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?)
            })
            .await
            .unwrap();
        assert_eq!((n, sum), (200, (0..200).sum()));
    }

    #[tokio::test]
    async fn a_failed_nested_transaction_rolls_back_only_itself() {
        let db = Db::open(":memory:").unwrap();
        db.with_blocking(|c| c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)"))
            .unwrap()
            .unwrap();
        let ok = db.call(|c| {
            c.exec("INSERT INTO t (v) VALUES (1)", [])?;
            Ok(())
        });
        let failed = db.call(|c| {
            let tx = c.savepoint()?;
            tx.exec("INSERT INTO t (v) VALUES (2)", [])?;
            tx.exec("INSERT INTO t (v) VALUES (1)", [])?; // UNIQUE violation → Err, rollback
            tx.commit()?;
            Ok(())
        });
        let (a, b) = tokio::join!(ok, failed);
        a.unwrap();
        assert!(b.is_err());
        let vals: Vec<i64> = db
            .with_blocking(|c| {
                let mut st = c.prepare("SELECT v FROM t ORDER BY v").unwrap();
                let rows = st.query_map([], |r| r.get(0)).unwrap();
                rows.collect::<Result<Vec<i64>, _>>().unwrap()
            })
            .unwrap();
        assert_eq!(vals, vec![1]);
    }

    #[tokio::test]
    async fn a_job_that_writes_then_fails_leaves_nothing_and_the_batch_keeps_the_others() {
        let db = Db::open(":memory:").unwrap();
        db.with_blocking(|c| c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)"))
            .unwrap()
            .unwrap();
        // Many jobs submitted together so they share batches: every third one writes two
        // rows and then fails (no savepoint of its own).
        let mut handles = Vec::new();
        for i in 0..90i64 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                db.call(move |c| {
                    c.exec("INSERT INTO t (v) VALUES (?1)", [i])?;
                    if i % 3 == 0 {
                        c.exec("INSERT INTO t (v) VALUES (?1)", [i + 1000])?;
                        return Err(ApiError::conflict("nope"));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            let r = h.await.unwrap();
            assert_eq!(r.is_err(), i % 3 == 0, "job {i}");
        }
        let vals: Vec<i64> = db
            .with_blocking(|c| {
                let mut st = c.prepare("SELECT v FROM t ORDER BY v").unwrap();
                let rows = st.query_map([], |r| r.get(0)).unwrap();
                rows.collect::<Result<Vec<i64>, _>>().unwrap()
            })
            .unwrap();
        let want: Vec<i64> = (0..90).filter(|i| i % 3 != 0).collect();
        assert_eq!(vals, want);
    }

    #[tokio::test]
    async fn a_panicking_job_is_a_500_and_leaves_nothing_behind() {
        let db = Db::open(":memory:").unwrap();
        db.with_blocking(|c| c.execute_batch("CREATE TABLE t (v INTEGER)"))
            .unwrap()
            .unwrap();
        let r: Result<(), ApiError> = db
            .call(|c| {
                c.exec("INSERT INTO t (v) VALUES (7)", [])?;
                panic!("boom");
            })
            .await;
        assert!(r.is_err());
        let n: i64 = db
            .with_blocking(|c| c.row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap())
            .unwrap();
        assert_eq!(n, 0);
        // The thread survived.
        db.call(|c| {
            c.exec("INSERT INTO t (v) VALUES (8)", [])?;
            Ok(())
        })
        .await
        .unwrap();
    }

    #[test]
    fn file_database_is_durable_and_synchronous_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let path = path.to_str().unwrap().to_owned();
        let db = Db::open_with(&path, Synchronous::Full).unwrap();
        let mode: i64 = db
            .with_blocking(|c| c.row("PRAGMA synchronous", [], |r| r.get(0)).unwrap())
            .unwrap();
        assert_eq!(mode, 2, "FULL");
        db.with_blocking(|c| {
            c.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (5)")
        })
        .unwrap()
        .unwrap();
        drop(db);
        let c = Connection::open(&path).unwrap();
        let v: i64 = c.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 5);
        assert_eq!("normal".parse::<Synchronous>(), Ok(Synchronous::Normal));
        assert!("fast".parse::<Synchronous>().is_err());
    }
}
