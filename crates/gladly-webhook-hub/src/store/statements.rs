//! Every statement the store sends, prepared on both backends against the
//! migrated schema: a column renamed in a migration, a typo, a construct
//! one database lacks fails here, whether or not a test runs the query.

use super::backend::{Db, Dialect, Pool};
use super::{
    alerts, destinations, leases, outbox, publish, rate_limits, recover, retention, successes,
    views, webhooks,
};

/// A file's list of its statements.
type Statements = fn(Dialect) -> Vec<String>;

/// Each file's statements for `dialect`, with where they come from.
fn all(dialect: Dialect) -> Vec<(&'static str, String)> {
    let files: [(&str, Statements); 11] = [
        ("webhooks", webhooks::statements),
        ("publish", publish::statements),
        ("successes", successes::statements),
        ("leases", leases::statements),
        ("outbox", outbox::statements),
        ("recover", recover::statements),
        ("rate_limits", rate_limits::statements),
        ("alerts", alerts::statements),
        ("destinations", destinations::statements),
        ("views", views::statements),
        ("retention", retention::statements),
    ];
    files
        .into_iter()
        .flat_map(|(file, statements)| statements(dialect).into_iter().map(move |s| (file, s)))
        .collect()
}

/// Prepares every statement on `pool`; the failures, each named.
async fn prepare_all(pool: &Pool) -> Vec<String> {
    use sqlx::{AssertSqlSafe, Executor, SqlSafeStr};
    let mut failures = Vec::new();
    let (dialect, count) = super::backend::on!(pool, |pool, dialect| {
        let statements = all(dialect);
        for (file, sql) in &statements {
            if let Err(err) = pool
                .prepare(AssertSqlSafe(sql.clone()).into_sql_str())
                .await
            {
                failures.push(format!("{file}: {err}\n  {sql}"));
            }
        }
        (dialect, statements.len())
    });
    assert!(count > 30, "{dialect:?}: only {count} statements listed");
    failures
}

#[tokio::test]
async fn every_statement_prepares_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::Store::open_sqlite(dir.path().join("hub.db"))
        .await
        .unwrap();
    let failures = prepare_all(store.pool()).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matches!(store.pool(), Db::Sqlite(_)));
}

#[tokio::test]
async fn every_statement_prepares_on_postgres() {
    let Some(database) = gladly_webhook_testkit::TestDatabase::create("gladly_hub_sql", "store")
    else {
        return;
    };
    let store = super::Store::open(database.url()).await.unwrap();
    let failures = prepare_all(store.pool()).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
