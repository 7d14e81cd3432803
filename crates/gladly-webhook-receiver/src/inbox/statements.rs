//! Every statement the inbox sends, prepared on both backends against the
//! migrated schema.

use super::backend::{Db, Pool, on};
use super::{reads, writes};

/// Prepares every statement on `pool`; the failures, each named.
async fn prepare_all(pool: &Pool) -> Vec<String> {
    use sqlx::{AssertSqlSafe, Executor, SqlSafeStr};
    let mut failures = Vec::new();
    let count = on!(pool, |pool, dialect| {
        let mut statements = writes::statements(dialect);
        statements.extend(reads::statements());
        for sql in &statements {
            if let Err(err) = pool
                .prepare(AssertSqlSafe(sql.clone()).into_sql_str())
                .await
            {
                failures.push(format!("{err}\n  {sql}"));
            }
        }
        statements.len()
    });
    assert!(count > 15, "only {count} statements listed");
    failures
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn every_statement_prepares_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = super::SqliteInbox::open(dir.path().join("inbox.db"))
        .await
        .unwrap();
    let failures = prepare_all(super::backed::Backed::reads(&inbox)).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matches!(
        super::backed::Backed::reads(&inbox),
        Db::Sqlite(_)
    ));
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn every_statement_prepares_on_postgres() {
    let Some(database) = gladly_webhook_testkit::TestDatabase::create("gladly_inbox_sql", "inbox")
    else {
        return;
    };
    let inbox = super::PgInbox::connect(database.url()).await.unwrap();
    let failures = prepare_all(super::backed::Backed::reads(&inbox)).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
