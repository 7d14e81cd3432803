//! What the end-to-end tests share: waiting, and the databases to run on.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

/// Polls `done` every 50 ms for up to `within`; its last answer.
pub fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// A database a test runs on: a SQLite file's URL, or a fresh PostgreSQL
/// database, dropped when this is.
pub struct Database {
    url: String,
    _postgres: Option<gladly_webhook_testkit::TestDatabase>,
}

impl std::ops::Deref for Database {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// The databases to test `what` (the inbox, the store) on: a SQLite file
/// at `sqlite_file` always, and a fresh PostgreSQL database when
/// `GLADLY_TEST_DATABASE_URL` names a server (see the testkit).
pub fn databases(sqlite_file: &Path, what: &str) -> Vec<Database> {
    let mut all = vec![Database {
        url: format!("sqlite:{}", sqlite_file.display()),
        _postgres: None,
    }];
    all.extend(pg_database(what));
    all
}

/// A fresh PostgreSQL database, when a server is configured.
pub fn pg_database(what: &str) -> Option<Database> {
    let database = gladly_webhook_testkit::TestDatabase::create("gladly_cli", what)?;
    Some(Database {
        url: database.url().to_string(),
        _postgres: Some(database),
    })
}
