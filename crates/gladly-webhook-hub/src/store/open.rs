//! Opening a store: the URL, the pools, the SQLite file's mode, the
//! migrations.

use std::time::Duration;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::backend::Db;
use super::backend::{Dialect, on};
use super::{Store, StoreError};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::{WriteTurns, group_commit};

impl Store {
    /// Opens the store a URL names: `sqlite:PATH` (or `sqlite://PATH`), a
    /// file created on first use, or a `postgres://` URL. Applies the
    /// migrations (recorded in `_gladly_hub_migrations`, so the hub can
    /// share a database with a receiver's inbox).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Url("sqlite: needs a file path".to_string()));
            }
            return Self::open_sqlite(path).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::connect_postgres(url).await;
        }
        Err(StoreError::Url(
            "expected sqlite:PATH or a postgres:// URL".to_string(),
        ))
    }

    /// Opens (creating it if need be) the SQLite store at `path`: WAL,
    /// `synchronous=FULL`, a 5 s busy timeout, temporary files in memory,
    /// the log copied back to the database every 10,000 pages.
    #[cfg(feature = "sqlite")]
    pub async fn open_sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        use std::str::FromStr;

        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        create_private(path.as_ref())?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // A deleted secret is overwritten, not left in a free page.
            .pragma("secure_delete", "ON")
            // A statement's journal (of the pages one multi-row write
            // changed, to undo that statement alone) went to a temporary
            // file past 64 KiB: with a savepoint per write of a group
            // commit, 4 of every 5 writes to the disk (800,000 for 44,000
            // deliveries). In memory it is bounded by one statement.
            .pragma("temp_store", "MEMORY")
            // The outbox rewrites the same pages (each subscription's place
            // in the indexes) commit after commit: copying the log back to
            // the database every 1,000 pages (SQLite's default) copied
            // them again and again, in the writer's own commit.
            .pragma("wal_autocheckpoint", "10000")
            // ... and the log's file is cut back to 64 MiB after it.
            .pragma("journal_size_limit", "67108864");
        let pool = sqlite_pool(4).connect_with(options.clone()).await?;
        migrator(Dialect::Sqlite).run(&pool).await?;
        let turns = WriteTurns::default();
        // The group-committing writer has a connection of its own, so it
        // never queues for one behind the dispatcher's reads.
        let writer = Db::Sqlite(sqlite_pool(1).connect_lazy_with(options));
        Ok(Store::assemble(
            Db::Sqlite(pool),
            group_commit::Publisher::start(writer, turns.clone()),
            turns,
        ))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn open_sqlite(_: &str) -> Result<Self, StoreError> {
        Err(StoreError::Url(
            "this build has no SQLite store (feature `sqlite`)".to_string(),
        ))
    }

    /// Connects to PostgreSQL at `url` with a pool of up to 16
    /// connections, plus one for the group-committing writer of
    /// publications and the dispatcher's records, and applies the
    /// migrations under PostgreSQL's advisory lock, so hubs that start
    /// together do not race.
    #[cfg(feature = "postgres")]
    pub async fn connect_postgres(url: &str) -> Result<Self, StoreError> {
        let options: sqlx::postgres::PgConnectOptions = url.parse()?;
        first_postgres_connection(&options, Duration::from_secs(5)).await?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        migrator(Dialect::Postgres).run(&pool).await?;
        // The group-committing writer has a connection of its own: queued
        // behind the dispatcher's reads for one of the pool's, it stalled
        // every write of its batch behind it.
        let writer = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        let turns = WriteTurns::default();
        Ok(Store::assemble(
            Db::Postgres(pool),
            group_commit::Publisher::start(Db::Postgres(writer), turns.clone()),
            turns,
        ))
    }

    #[cfg(not(feature = "postgres"))]
    async fn connect_postgres(_: &str) -> Result<Self, StoreError> {
        Err(StoreError::Url(
            "this build has no PostgreSQL store (feature `postgres`)".to_string(),
        ))
    }

    /// Runs a trivial query: `Ok` when the database answers (a readiness
    /// check; bound its wait with a timeout, as the pool waits for a
    /// connection).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on!(self.pool(), |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}

/// The hub's migrations for `dialect`, recorded in their own table so the
/// hub can share a database with a receiver's inbox.
pub(crate) fn migrator(dialect: Dialect) -> Migrator {
    /// Each migration's name and its file in each dialect's directory.
    macro_rules! migrations {
        ($(($file:literal, $name:literal)),* $(,)?) => {
            [$((
                $name,
                include_str!(concat!("../../migrations/sqlite/", $file, ".sql")),
                include_str!(concat!("../../migrations/postgres/", $file, ".sql")),
            )),*]
        };
    }
    let all = migrations![
        ("0001_hub", "hub"),
        ("0002_due_by_webhook", "due by webhook"),
        ("0003_rest_api_webhooks", "rest api webhooks"),
        ("0004_queue_plans", "queue plans"),
        ("0005_event_timestamps", "event timestamps"),
        ("0006_recover", "recover"),
        ("0007_rate_limits", "rate limits"),
        ("0008_operational_events", "operational events"),
        ("0009_relay", "relay"),
        ("0010_acknowledgements", "acknowledgements"),
        ("0011_no_row_checks", "no row checks"),
    ];
    let mut migrator = Migrator::with_migrations(
        all.into_iter()
            .zip(1..)
            .map(|((name, sqlite, postgres), version)| {
                let sql = match dialect {
                    Dialect::Sqlite => sqlite,
                    Dialect::Postgres => postgres,
                };
                Migration::new(
                    version,
                    name.into(),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name("_gladly_hub_migrations");
    migrator
}

/// A SQLite pool of up to `connections`, closing a connection that a
/// failed `COMMIT` left in doubt.
#[cfg(feature = "sqlite")]
fn sqlite_pool(connections: u32) -> sqlx::sqlite::SqlitePoolOptions {
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(connections)
        // After a failed COMMIT (a full disk) SQLite may have rolled
        // back on its own while sqlx still counts the transaction
        // open, and every later BEGIN on that connection would fail:
        // such a connection is closed instead of reused. The ping lets
        // a rollback already queued take effect first.
        .after_release(|conn, _| {
            Box::pin(async move {
                use sqlx::Connection;
                if !conn.is_in_transaction() {
                    return Ok(true);
                }
                Ok(conn.ping().await.is_ok() && !conn.is_in_transaction())
            })
        })
}

/// Creates the SQLite file readable and writable by its owner only (0600)
/// before SQLite opens it, or tightens an existing one and its `-wal` and
/// `-shm` files (SQLite creates those with the database file's mode).
#[cfg(feature = "sqlite")]
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |err: std::io::Error| StoreError::File(format!("{}: {err}", path.display()));
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

/// Connects once, outside any pool, so that a server that cannot be used
/// reports why (connection refused, password authentication failed, no
/// such database) instead of the pool's "timed out".
#[cfg(feature = "postgres")]
async fn first_postgres_connection(
    options: &sqlx::postgres::PgConnectOptions,
    within: Duration,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    match tokio::time::timeout(within, sqlx::postgres::PgConnection::connect_with(options)).await {
        Ok(connection) => connection?.close().await,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the server did not answer within {} s", within.as_secs()),
        ))),
    }
}
