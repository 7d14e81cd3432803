//! Which database a handle is on, and the statements whose text differs.
//!
//! Every query is written once, at its call site, inside [`on!`]: the
//! macro repeats that code once per backend this build has, each time on
//! the backend's own types (`SqlitePool`, `PgConnection`...), so sqlx
//! binds and decodes without a dynamic layer. Most SQL is the same on both
//! (sqlx binds `$N` on SQLite too); the few statements that are not are
//! [`PerBackend`] values, picked with the [`Dialect`] that [`on!`] names.

#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
use std::convert::Infallible;
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
use std::marker::PhantomData;

#[cfg(feature = "postgres")]
use sqlx::{PgConnection, PgPool};
#[cfg(feature = "sqlite")]
use sqlx::{SqliteConnection, SqlitePool};

// The handles of a backend this build does not have (never made: its
// variant of `Db` is compiled out).
#[cfg(not(feature = "sqlite"))]
type SqlitePool = ();
#[cfg(not(feature = "sqlite"))]
type SqliteConnection = ();
#[cfg(not(feature = "postgres"))]
type PgPool = ();
#[cfg(not(feature = "postgres"))]
type PgConnection = ();

/// One handle per backend: `S` on SQLite, `P` on PostgreSQL.
#[derive(Clone)]
pub(crate) enum Db<S, P> {
    /// On SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(S),
    /// On PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(P),
    /// Keeps both parameters used in a build with one backend; never made.
    #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
    #[allow(dead_code)]
    Absent(Infallible, PhantomData<(S, P)>),
}

/// The store's pool of connections.
pub(crate) type Pool = Db<SqlitePool, PgPool>;

/// A connection inside a transaction, handed to the code that writes in it.
pub(crate) type Conn<'a> = Db<&'a mut SqliteConnection, &'a mut PgConnection>;

impl Conn<'_> {
    /// The same connection, lent for one call.
    pub(crate) fn reborrow(&mut self) -> Conn<'_> {
        on!(self, |conn| Conn::from(&mut **conn))
    }
}

#[cfg(feature = "sqlite")]
impl<'a> From<&'a mut SqliteConnection> for Conn<'a> {
    fn from(conn: &'a mut SqliteConnection) -> Self {
        Db::Sqlite(conn)
    }
}

#[cfg(feature = "postgres")]
impl<'a> From<&'a mut PgConnection> for Conn<'a> {
    fn from(conn: &'a mut PgConnection) -> Self {
        Db::Postgres(conn)
    }
}

/// Runs `$body` with `$db` bound to `$handle`'s own backend handle (and
/// `$dialect`, when named, to its [`Dialect`]): the code is written once
/// and compiled once per backend, on that backend's concrete types.
///
/// ```text
/// let n: i64 = on!(&self.pool, |pool| {
///     sqlx::query_scalar(COUNT).fetch_one(pool).await?
/// });
/// ```
macro_rules! on {
    ($handle:expr, |$db:ident| $body:expr) => {
        on!($handle, |$db, _dialect| $body)
    };
    ($handle:expr, |$db:ident, $dialect:ident| $body:expr) => {
        match $handle {
            #[cfg(feature = "sqlite")]
            $crate::store::backend::Db::Sqlite($db) => {
                let $dialect = $crate::store::backend::Dialect::Sqlite;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::store::backend::Db::Postgres($db) => {
                let $dialect = $crate::store::backend::Dialect::Postgres;
                $body
            }
            #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
            $crate::store::backend::Db::Absent(never, _) => $crate::store::backend::absurd(never),
        }
    };
}
pub(crate) use on;

/// What an [`Db::Absent`] handle leads to: nothing, since none is made.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
pub(crate) fn absurd<T>(never: impl std::borrow::Borrow<Infallible>) -> T {
    match *never.borrow() {}
}

/// The SQL dialect of the backend [`on!`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: one writer, no row locks.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
    /// PostgreSQL: row locks where writers meet.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

impl Dialect {
    /// The backend's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// How a write transaction begins: on SQLite it takes the write lock at
    /// once (`IMMEDIATE`), so two writers never both read then both fail to
    /// upgrade.
    pub(crate) fn begin(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// The text of `statement` on this backend.
    pub(crate) fn pick(self, statement: &PerBackend) -> &'static str {
        match self {
            Self::Sqlite => statement.sqlite,
            Self::Postgres => statement.postgres,
        }
    }
}

/// A statement whose text differs per backend (row locks, mostly).
pub(crate) struct PerBackend {
    /// On SQLite.
    pub(crate) sqlite: &'static str,
    /// On PostgreSQL.
    pub(crate) postgres: &'static str,
}

/// Whether `err` is a unique constraint's violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
