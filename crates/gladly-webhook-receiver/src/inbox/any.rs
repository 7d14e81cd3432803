//! Opening an inbox from a URL, as a command line names it.

use std::sync::Arc;

use super::{Inbox, InboxError};

/// Opens the inbox a URL names: `sqlite:PATH` (or `sqlite://PATH`) for a
/// SQLite file, created on first use (feature `sqlite`), or a
/// `postgres://` / `postgresql://` URL (feature `postgres`).
///
/// ```no_run
/// # async fn demo() -> Result<(), gladly_webhook_receiver::inbox::InboxError> {
/// let inbox = gladly_webhook_receiver::inbox::open("sqlite:gladly-inbox.db").await?;
/// # Ok(()) }
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn Inbox>, InboxError> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        return open_sqlite(path).await;
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return open_postgres(url).await;
    }
    Err(InboxError::Url(
        "expected sqlite:PATH or a postgres:// URL".to_string(),
    ))
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(path: &str) -> Result<Arc<dyn Inbox>, InboxError> {
    if path.is_empty() {
        return Err(InboxError::Url("sqlite: needs a file path".to_string()));
    }
    Ok(Arc::new(super::SqliteInbox::open(path).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(_: &str) -> Result<Arc<dyn Inbox>, InboxError> {
    Err(InboxError::Url(
        "this build has no SQLite inbox (feature `sqlite`)".to_string(),
    ))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn Inbox>, InboxError> {
    Ok(Arc::new(super::PgInbox::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_: &str) -> Result<Arc<dyn Inbox>, InboxError> {
    Err(InboxError::Url(
        "this build has no PostgreSQL inbox (feature `postgres`)".to_string(),
    ))
}
