//! What the end-to-end tests share: waiting, and the databases to run on.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// The database URLs to test `what` (the inbox, the store) on: a SQLite
/// file at `sqlite_file` always, and a fresh PostgreSQL database when
/// `GLADLY_TEST_DATABASE_URL` names a server. Under CI an unset URL is a
/// failure: PostgreSQL must not go untested.
pub fn databases(sqlite_file: &Path, what: &str) -> Vec<String> {
    let mut all = vec![format!("sqlite:{}", sqlite_file.display())];
    match std::env::var("GLADLY_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => all.push(fresh_pg_database(&url)),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but GLADLY_TEST_DATABASE_URL is not: the PostgreSQL {what} would go untested"
            )
        }
        _ => eprintln!(
            "skipping the PostgreSQL {what}: GLADLY_TEST_DATABASE_URL is not set (see the README)"
        ),
    }
    all
}

/// A new database on the server `admin` names, and its URL.
pub fn fresh_pg_database(admin: &str) -> String {
    use sqlx::Connection;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let name = format!("gladly_cli_{nanos:016x}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
