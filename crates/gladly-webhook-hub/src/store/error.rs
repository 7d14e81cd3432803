//! What can go wrong in the store, one enum per kind of call.

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names no store this build has.
    #[error("bad store URL: {0}")]
    Url(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not be applied.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// No lease token could be drawn.
    #[error(transparent)]
    Random(#[from] crate::ids::RandomError),
    /// A stored value does not read back (a row written by something else).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The SQLite file could not be created or made private.
    #[error("the store file: {0}")]
    File(String),
}

/// Why a subscription could not be created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Another subscription has this URL.
    #[error("another subscription (id {existing}) has this URL")]
    DuplicateUrl {
        /// The id of the subscription holding the URL.
        existing: String,
    },
    /// The organization holds the most subscriptions allowed.
    #[error("at most {max} subscriptions are allowed")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// No subscription has this id.
    #[error("no subscription has this id")]
    NotFound,
    /// The subscription changed since it was read; read it again.
    #[error("the subscription changed meanwhile")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

/// What publishing an event did.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// An event with this id was published before with another body.
    #[error("an event with this id was published before, with another body")]
    IdReused,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PublishError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}
