//! Publication under concurrency (issue 23): on SQLite, publications queued
//! together share one transaction (group commit), and each still gets its
//! own answer: a republication is recognised, an id reused with another
//! body is refused alone, and nothing else in its transaction is lost. The
//! same holds on PostgreSQL, where each publication is its own transaction.

mod common;

use chrono::Utc;
use gladly_webhook_hub::store::PublishError;

fn body(id: &str, note: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","type":"TASK_CLOSED","content":{{"note":"{note}"}}}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publications_each_get_their_own_answer() {
    for test_store in common::stores().await {
        let store = test_store.open().await;
        common::create_task_subscription(&store, "wh_many").await;
        let first = store
            .publish(
                "evt_dup",
                "TASK_CLOSED",
                &body("evt_dup", "a"),
                &body("evt_dup", "a"),
                Utc::now(),
            )
            .await
            .unwrap();
        assert!(first.created);

        // 100 new events, 10 republications and 5 reuses of one id with
        // another body, all at once.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..115 {
            let store = store.clone();
            tasks.spawn(async move {
                let (id, note) = match n {
                    0..100 => (format!("evt_{n}"), "a"),
                    100..110 => ("evt_dup".to_string(), "a"),
                    _ => ("evt_dup".to_string(), "another"),
                };
                let bytes = body(&id, note);
                let result = store
                    .publish(&id, "TASK_CLOSED", &bytes, &bytes, Utc::now())
                    .await;
                (n, result)
            });
        }
        let mut new_deliveries = std::collections::HashSet::new();
        while let Some(joined) = tasks.join_next().await {
            let (n, result) = joined.unwrap();
            let name = test_store.name;
            match n {
                0..100 => {
                    let published = result.unwrap_or_else(|e| panic!("{name}: evt_{n}: {e}"));
                    assert!(published.created, "{name}: evt_{n}");
                    assert_eq!(published.deliveries.len(), 1, "{name}: evt_{n}");
                    new_deliveries.insert(published.deliveries[0].id.clone());
                }
                100..110 => {
                    let published = result.unwrap_or_else(|e| panic!("{name}: republication: {e}"));
                    assert!(!published.created, "{name}: a republication is recognised");
                    assert_eq!(
                        published.deliveries[0].id, first.deliveries[0].id,
                        "{name}: a republication answers the first publication's deliveries"
                    );
                }
                _ => assert!(
                    matches!(result, Err(PublishError::IdReused)),
                    "{name}: an id reused with another body: {result:?}"
                ),
            }
        }
        assert_eq!(new_deliveries.len(), 100, "{}", test_store.name);

        // All of it is stored, once: the first event and the 100 new ones.
        let stored = store.deliveries("wh_many", 1000).await.unwrap();
        assert_eq!(stored.len(), 101, "{}", test_store.name);
        // And read back by a store opened anew (the commits are durable,
        // not only in this handle's connection).
        drop(store);
        let reopened = test_store.open().await;
        let stored = reopened.deliveries("wh_many", 1000).await.unwrap();
        assert_eq!(stored.len(), 101, "{}", test_store.name);
    }
}
