//! [`SqliteInbox`]: the embedded inbox, a SQLite file.
//!
//! One writer task owns the one connection that writes, so writes never
//! wait on each other's locks; reads go through a small pool (WAL lets
//! them run beside the writer). The writer takes every write queued while
//! it was busy and commits them in one transaction: **group commit**, one
//! fsync for many deliveries, so concurrency is not capped at one fsync per
//! event. Each caller is answered only after that commit.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row, SqlStr};
use tokio::sync::{mpsc, oneshot};

use super::ops::{
    CLAIM_SQLITE, HISTORY, INSERT_COLUMNS, Write, Written, get_sql, list_sql, sqlite as ops,
    unexpected,
};
use super::{
    BoxFuture, Claimed, HistoryEntry, InboxError, Inserted, ListFilter, NewEvent, Outcome, State,
    Stats, StoredEvent, millis,
};

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

/// A queued write and where its answer goes.
struct Queued {
    write: Write,
    reply: oneshot::Sender<Result<Written, InboxError>>,
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
    writes: mpsc::Sender<Queued>,
    reads: SqlitePool,
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
            reads,
            path: Arc::new(path),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write(&self, write: Write) -> Result<Written, InboxError> {
        let (reply, answer) = oneshot::channel();
        self.writes
            .send(Queued { write, reply })
            .await
            .map_err(|_| InboxError::Closed)?;
        answer.await.map_err(|_| InboxError::Closed)?
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
    mut queue: mpsc::Receiver<Queued>,
    batch: usize,
) {
    let mut pending: Vec<Queued> = Vec::with_capacity(batch);
    while queue.recv_many(&mut pending, batch).await > 0 {
        let writes: Vec<(Write, oneshot::Sender<_>)> =
            pending.drain(..).map(|q| (q.write, q.reply)).collect();
        match run_batch(&mut conn, writes).await {
            Ok(answers) => {
                for (reply, result) in answers {
                    let _ = reply.send(result);
                }
            }
            Err((replies, err)) => {
                tracing::warn!(error = %err, writes = replies.len(), "inbox write failed; nothing in it was stored");
                for reply in replies {
                    let _ = reply.send(Err(err.clone_shared()));
                }
                if !is_clean(&mut conn).await {
                    match SqliteConnection::connect_with(&connect).await {
                        Ok(fresh) => {
                            tracing::info!(
                                "inbox writer: connection replaced after a failed write"
                            );
                            conn = fresh;
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, "inbox writer: could not reconnect; trying again after the next failure")
                        }
                    }
                }
            }
        }
    }
}

type Replies = Vec<oneshot::Sender<Result<Written, InboxError>>>;

/// Runs one batch. A database error anywhere rolls the whole batch back.
async fn run_batch(
    conn: &mut SqliteConnection,
    writes: Vec<(Write, oneshot::Sender<Result<Written, InboxError>>)>,
) -> Result<
    Vec<(
        oneshot::Sender<Result<Written, InboxError>>,
        Result<Written, InboxError>,
    )>,
    (Replies, InboxError),
> {
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(err) => {
            return Err((writes.into_iter().map(|(_, r)| r).collect(), err.into()));
        }
    };
    let now = Utc::now();
    let mut answers = Vec::with_capacity(writes.len());
    let mut failure = None;
    // The inserts first, together: one statement for many deliveries.
    let (inserts, others): (Vec<_>, Vec<_>) = writes
        .into_iter()
        .partition(|(write, _)| matches!(write, Write::Insert(_)));
    let (events, replies): (Vec<NewEvent>, Vec<_>) = inserts
        .into_iter()
        .map(|(write, reply)| match write {
            Write::Insert(event) => (event, reply),
            _ => unreachable!("partitioned on Write::Insert"),
        })
        .unzip();
    match insert_many(&mut tx, &events, now).await {
        Ok(inserted) => answers.extend(
            replies
                .into_iter()
                .zip(inserted)
                .map(|(reply, i)| (reply, Ok(Written::Inserted(i)))),
        ),
        Err(err) => {
            failure = Some(err);
            answers.extend(replies.into_iter().map(|r| (r, Err(InboxError::Closed))));
        }
    }
    for (write, reply) in others {
        if failure.is_some() {
            answers.push((reply, Err(InboxError::Closed)));
            continue;
        }
        match ops::apply(&mut tx, write, now, CLAIM_SQLITE).await {
            Err(err @ InboxError::Database(_)) => {
                failure = Some(err);
                answers.push((reply, Err(InboxError::Closed)));
            }
            other => answers.push((reply, other)),
        }
    }
    let failure = match failure {
        Some(err) => Some(err),
        None => tx.commit().await.err().map(InboxError::from),
    };
    match failure {
        None => Ok(answers),
        Some(err) => Err((answers.into_iter().map(|(r, _)| r).collect(), err)),
    }
}

/// The row counts of the multi-row `INSERT`s (7 parameters a row, far
/// under SQLite's limit of 32,766). A batch is cut into these sizes, largest
/// first, so that only four statements are ever prepared and all stay in
/// the connection's statement cache (a statement per batch size would be
/// prepared again and again).
const ROWS_PER_INSERT: [usize; 4] = [128, 32, 8, 1];

/// `(start, rows)` of each statement for a batch of `n` inserts.
fn insert_chunks(n: usize) -> Vec<(usize, usize)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < n {
        let rows = ROWS_PER_INSERT
            .into_iter()
            .find(|rows| *rows <= n - start)
            .unwrap_or(1);
        chunks.push((start, rows));
        start += rows;
    }
    chunks
}

/// Inserts `events` with few statements (see [`ROWS_PER_INSERT`]): what
/// each became, in order. Of two deliveries of one key in the same batch,
/// the first is new and the second a duplicate.
async fn insert_many(
    conn: &mut SqliteConnection,
    events: &[NewEvent],
    now: chrono::DateTime<Utc>,
) -> Result<Vec<Inserted>, InboxError> {
    let mut results = vec![Inserted::Duplicate; events.len()];
    let mut claimed_keys: HashSet<&str> = HashSet::new();
    for (start, rows) in insert_chunks(events.len()) {
        let chunk = &events[start..start + rows];
        let mut sql = format!("INSERT INTO gladly_inbox {} VALUES ", INSERT_COLUMNS);
        for i in 0..chunk.len() {
            let p = i * 7;
            let _ = write!(
                sql,
                "{}(${}, ${}, ${}, ${}, ${}, ${}, 0, ${}, ${}, ${})",
                if i == 0 { "" } else { ", " },
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6,
                p + 5,
                p + 7,
                p + 5
            );
        }
        sql.push_str(" ON CONFLICT (dedup_key) DO NOTHING RETURNING seq, dedup_key");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            query = query
                .bind(event.dedup_key.as_str())
                .bind(event.event_id.as_deref())
                .bind(event.event_type.as_str())
                .bind(event.body.as_slice())
                .bind(millis(event.received_at))
                .bind(event.state.as_str())
                .bind(event.error.as_deref());
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let mut stored: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for row in rows {
            stored.insert(row.try_get("dedup_key")?, row.try_get("seq")?);
        }
        for (i, event) in chunk.iter().enumerate() {
            let Some(&seq) = stored.get(&event.dedup_key) else {
                continue;
            };
            if !claimed_keys.insert(event.dedup_key.as_str()) {
                continue;
            }
            results[start + i] = Inserted::New;
            if event.state == State::Dead {
                sqlx::query(HISTORY)
                    .bind(seq)
                    .bind(millis(now))
                    .bind(0i64)
                    .bind("dead")
                    .bind(event.error.as_deref())
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(results)
}

impl InboxError {
    /// The same error, for every caller of a failed batch.
    fn clone_shared(&self) -> Self {
        match self {
            Self::Database(err) => Self::Database(Arc::clone(err)),
            other => Self::Corrupt(other.to_string()),
        }
    }
}

super::ops::impl_inbox!(SqliteInbox, ops, reads);

#[cfg(test)]
mod tests {
    use super::insert_chunks;

    #[test]
    fn batches_are_cut_into_four_statement_sizes() {
        assert_eq!(insert_chunks(0), []);
        assert_eq!(insert_chunks(1), [(0, 1)]);
        assert_eq!(
            insert_chunks(45),
            [
                (0, 32),
                (32, 8),
                (40, 1),
                (41, 1),
                (42, 1),
                (43, 1),
                (44, 1)
            ]
        );
        assert_eq!(
            insert_chunks(300),
            [
                (0, 128),
                (128, 128),
                (256, 32),
                (288, 8),
                (296, 1),
                (297, 1),
                (298, 1),
                (299, 1)
            ]
        );
        for n in 0..600 {
            let chunks = insert_chunks(n);
            assert_eq!(chunks.iter().map(|(_, rows)| rows).sum::<usize>(), n);
        }
    }
}
