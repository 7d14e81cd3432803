//! What the workspace's tests share (a dev-dependency, never published).
//!
//! The PostgreSQL tests run on the server `GLADLY_TEST_DATABASE_URL`
//! names (`.ci/start-postgres` starts one). Each test gets a database of
//! its own, [`TestDatabase`], dropped when the test ends, even when it
//! fails. Without the variable the PostgreSQL half of a test is skipped
//! and a line says so on the terminal, past the test harness's capture:
//! `skipped: the PostgreSQL inbox of TEST (N in this binary so far)`, once
//! per test; under CI (`CI` set) a missing variable fails the test
//! instead, so PostgreSQL never goes untested there.

pub mod disk;
pub mod fake_gladly;
pub mod hosts;
pub mod http1;
pub mod nats;
pub mod standard_webhooks;
pub mod wait;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

/// The variable naming the PostgreSQL server to test on.
pub const DATABASE_URL_VARIABLE: &str = "GLADLY_TEST_DATABASE_URL";

/// The server's URL (a database to connect to for `CREATE DATABASE`), or
/// `None` with a note that the PostgreSQL `what` (the inbox, the store)
/// is not tested.
///
/// # Panics
///
/// When `CI` is set and the variable is not: PostgreSQL must be tested.
pub fn admin_url(what: &str) -> Option<String> {
    match std::env::var(DATABASE_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but {DATABASE_URL_VARIABLE} is not: the PostgreSQL {what} would go untested"
        ),
        _ => {
            note_skipped(what);
            None
        }
    }
}

/// Says, on the real standard error (the harness captures `eprintln!`, not
/// this), which test ran without its PostgreSQL half: once per test (libtest
/// names each test's thread after it), with the count so far in this test
/// binary, so that what was not tested is seen and counted, not passed
/// over.
fn note_skipped(what: &str) {
    static SKIPPED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let test = std::thread::current()
        .name()
        .unwrap_or("(a test)")
        .to_string();
    let mut skipped = SKIPPED.lock().unwrap_or_else(|p| p.into_inner());
    if !skipped.insert(test.clone()) {
        return;
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "skipped: the PostgreSQL {what} of {test} ({} in this binary so far): {DATABASE_URL_VARIABLE} is not set \
         (eval \"$(.ci/start-postgres)\" starts a server; see the README)",
        skipped.len()
    );
}

/// A fresh database on the test server, dropped (with its connections) when
/// this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    admin: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a database named `{prefix}_{random}` when a server is
    /// configured (see [`admin_url`]). Works inside and outside a tokio
    /// runtime.
    ///
    /// # Panics
    ///
    /// When the server cannot create it: a test cannot go on.
    pub fn create(prefix: &str, what: &str) -> Option<Self> {
        let admin = admin_url(what)?;
        let name = format!("{prefix}_{:016x}", fastrand::u64(..));
        let statement = format!("CREATE DATABASE {name}");
        if let Err(err) = run_on(&admin, statement) {
            panic!("creating the test database {name}: {err}");
        }
        let (base, _) = admin
            .rsplit_once('/')
            .expect("GLADLY_TEST_DATABASE_URL ends with /DATABASE");
        let url = format!("{base}/{name}");
        Some(Self { admin, name, url })
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(err) = run_on(&self.admin, statement) {
            let _ = writeln!(
                std::io::stderr().lock(),
                "note: the test database {} was not dropped: {err}",
                self.name
            );
        }
    }
}

/// Runs one statement on the server at `admin`, on a thread and runtime of
/// its own (so that it works from a `Drop` inside an async test).
fn run_on(admin: &str, statement: String) -> Result<(), String> {
    let admin = admin.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?;
        runtime.block_on(async {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&admin)
                .await
                .map_err(|err| err.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut connection)
                .await
                .map_err(|err| err.to_string())?;
            connection.close().await.map_err(|err| err.to_string())
        })
    })
    .join()
    .map_err(|_| "the thread panicked".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the configured server: a database exists while its guard
    /// lives, and is gone after.
    #[test]
    fn a_test_database_is_dropped_with_its_guard() {
        let Some(database) = TestDatabase::create("gladly_testkit", "testkit") else {
            return;
        };
        let admin = database.admin.clone();
        let exists = |name: &str| {
            let admin = admin.clone();
            let name = name.to_string();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        use sqlx::Connection;
                        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                        let found: Option<(i32,)> =
                            sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                                .bind(name)
                                .fetch_optional(&mut c)
                                .await
                                .unwrap();
                        found.is_some()
                    })
            })
            .join()
            .unwrap()
        };
        let name = database.name.clone();
        assert!(exists(&name));
        drop(database);
        assert!(!exists(&name));
    }
}
