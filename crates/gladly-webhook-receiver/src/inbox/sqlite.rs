//! [`SqliteInbox`]: the embedded inbox, a SQLite file.
//!
//! One writer task owns the one connection that writes, so writes never
//! wait on each other's locks; reads go through a small pool (WAL lets
//! them run beside the writer). The writer takes every write queued while
//! it was busy and commits them in one transaction: **group commit**, one
//! fsync for many deliveries, so concurrency is not capped at one fsync per
//! event. Each caller is answered only after that commit.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqlStr};
use tokio::sync::mpsc;

use super::backed::Backed;
use super::backend::{Conn, Db, Pool};
use super::jobs::{Job, run_batch};
use super::{BoxFuture, InboxError};

/// How much a commit promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL` (the default): a commit is on disk before it
    /// returns, so a 200 means the event survives a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: WAL commits are not synced one by one. A
    /// process crash loses nothing; a power loss or OS crash can lose the
    /// commits since the last checkpoint sync (events already answered
    /// 200). Faster; for deliveries that can be replayed from elsewhere.
    Normal,
}

/// How a [`SqliteInbox`] is opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// What a commit promises (default [`Durability::Full`]).
    pub durability: Durability,
    /// How long a write waits for a lock another process holds before it
    /// fails (default 5 s); the receiver then answers 503.
    pub busy_timeout: Duration,
    /// Whether the writer commits every queued write together (default
    /// `true`). Off, each write is its own transaction and fsync.
    pub group_commit: bool,
    /// The most writes in one group commit (default 512).
    pub max_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            group_commit: true,
            max_batch: 512,
        }
    }
}

impl SqliteOptions {
    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Turns group commit on or off.
    pub fn group_commit(mut self, on: bool) -> Self {
        self.group_commit = on;
        self
    }
}

/// The embedded inbox: a SQLite file, created on first open, migrated on
/// every open.
///
/// ```no_run
/// use gladly_webhook_receiver::inbox::{Inbox, SqliteInbox};
///
/// # async fn demo() -> Result<(), gladly_webhook_receiver::inbox::InboxError> {
/// let inbox = SqliteInbox::open("gladly-inbox.db").await?;
/// println!("{:?}", inbox.stats().await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteInbox {
    writes: mpsc::Sender<Job>,
    reads: Pool,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for SqliteInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteInbox")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The migrations, embedded.
fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator::with_migrations(vec![
        sqlx::migrate::Migration::new(
            1,
            "inbox".into(),
            sqlx::migrate::MigrationType::Simple,
            SqlStr::from_static(include_str!("../../migrations/sqlite/0001_inbox.sql")),
            false,
        ),
        sqlx::migrate::Migration::new(
            2,
            "cursors".into(),
            sqlx::migrate::MigrationType::Simple,
            SqlStr::from_static(include_str!("../../migrations/sqlite/0002_cursors.sql")),
            false,
        ),
    ])
}

impl SqliteInbox {
    /// Opens (creating it if need be) the inbox at the file `path` with the
    /// default options: `synchronous=FULL`, group commit on. A file path,
    /// as the hub's `Store::open_sqlite` takes; [`super::open`] takes the
    /// URL form (`sqlite:PATH`, `postgres://...`) as the hub's
    /// `Store::open` does.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens the inbox at `path` with `options`.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<Self, InboxError> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let connect = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let mut writer = SqliteConnection::connect_with(&connect).await?;
        migrator().run(&mut writer).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(connect.clone().read_only(true))
            .await?;
        let (writes, queue) = mpsc::channel(options.max_batch.max(1) * 4);
        let batch = if options.group_commit {
            options.max_batch.max(1)
        } else {
            1
        };
        tokio::spawn(write_loop(writer, connect, queue, batch));
        Ok(Self {
            writes,
            reads: Db::Sqlite(reads),
            path: Arc::new(path),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Backed for SqliteInbox {
    fn submit(&self, job: Job) -> BoxFuture<'_, ()> {
        // A job the writer never takes is answered `Closed` when its reply
        // is dropped with it.
        Box::pin(async move {
            let _ = self.writes.send(job).await;
        })
    }

    fn reads(&self) -> &Pool {
        &self.reads
    }
}

/// Creates the database file readable and writable by its owner only
/// (0600) before SQLite opens it, or tightens an existing one and its
/// `-wal` and `-shm` files: SQLite creates those with the database file's
/// permissions. Events carry customer data.
fn create_private(path: &Path) -> Result<(), InboxError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |err: std::io::Error| {
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
            let reason = match folder {
                Some(folder) if err.kind() == std::io::ErrorKind::NotFound && !folder.exists() => {
                    format!(
                        "the folder {} does not exist (create it first)",
                        folder.display()
                    )
                }
                _ => err.to_string(),
            };
            InboxError::File {
                path: path.display().to_string(),
                reason,
            }
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            if std::fs::metadata(&file).is_ok() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Whether `conn` is out of any transaction, so the next batch can begin.
/// After a failed `COMMIT` (a full disk) SQLite may have rolled back on its
/// own while sqlx still counts the transaction open: every later `BEGIN`
/// would fail. A ping first lets a rollback already queued take effect.
async fn is_clean(conn: &mut SqliteConnection) -> bool {
    conn.ping().await.is_ok() && !conn.is_in_transaction()
}

/// The writer: takes what is queued, up to `batch`, runs it in one
/// `BEGIN IMMEDIATE` transaction, commits, then answers every caller with
/// its result, or every caller with the error when the batch failed. After
/// a failure the connection is replaced unless it is clean, so writes
/// resume as soon as the cause (a full disk) is gone.
async fn write_loop(
    mut conn: SqliteConnection,
    connect: SqliteConnectOptions,
    mut queue: mpsc::Receiver<Job>,
    batch: usize,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(batch);
    while queue.recv_many(&mut jobs, batch).await > 0 {
        // Writes on their way share the commit (a lone one is made at once).
        gladly_webhook_server::batch::gather(&mut queue, &mut jobs, batch).await;
        let count = jobs.len();
        match write_batch(&mut conn, std::mem::take(&mut jobs)).await {
            Ok(answers) => answers.into_iter().for_each(|a| a.send(None)),
            Err((err, answers)) => {
                tracing::warn!(error = %err, writes = count, "inbox write failed; nothing in it was stored");
                answers.into_iter().for_each(|a| a.send(Some(&err)));
                if !is_clean(&mut conn).await {
                    reconnect(&mut conn, &connect).await;
                }
            }
        }
    }
}

/// Replaces the writer's connection (after a failed write left it in
/// doubt).
async fn reconnect(conn: &mut SqliteConnection, connect: &SqliteConnectOptions) {
    match SqliteConnection::connect_with(connect).await {
        Ok(fresh) => {
            tracing::info!("inbox writer: connection replaced after a failed write");
            *conn = fresh;
        }
        Err(err) => {
            tracing::warn!(error = %err, "inbox writer: could not reconnect; trying again after the next failure")
        }
    }
}

/// Runs `jobs` in one `BEGIN IMMEDIATE` transaction and commits it: each
/// job's answer, or the error that spoiled the batch with every answer.
async fn write_batch(
    conn: &mut SqliteConnection,
    jobs: Vec<Job>,
) -> Result<Vec<super::jobs::Answer>, (InboxError, Vec<super::jobs::Answer>)> {
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(err) => {
            let answers = jobs.into_iter().map(super::jobs::Answer::refused).collect();
            return Err((err.into(), answers));
        }
    };
    let answers = run_batch(Conn::from(&mut *tx), jobs, Utc::now()).await?;
    match tx.commit().await {
        Ok(()) => Ok(answers),
        Err(err) => Err((err.into(), answers)),
    }
}
