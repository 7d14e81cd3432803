//! A full disk, then space again: the hub's SQLite store writes again
//! without a restart, and nothing it acknowledged is lost (issue 17, item
//! 6). Needs a small tmpfs (`mount -t tmpfs`, as root): where mounting is
//! not permitted the test says so and passes, except under `CI`.

use chrono::Utc;
use gladly_webhook_core::{EventType, Secret};
use gladly_webhook_hub::Store;
use gladly_webhook_hub::store::StoredWebhook;

fn body(id: &str) -> Vec<u8> {
    let padding = "x".repeat(8 * 1024);
    format!(r#"{{"id":"{id}","type":"TASK_CLOSED","content":{{"taskId":"t","note":"{padding}"}}}}"#)
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_hub_store_writes_again_once_the_disk_has_space() {
    let Some(fs) = gladly_webhook_testkit::disk::Tmpfs::mount("2m") else {
        return;
    };
    let store = Store::open_sqlite(fs.path().join("hub.db")).await.unwrap();
    let webhook = StoredWebhook::new(
        "wh_1",
        "https://example.com/hooks",
        vec![EventType::TaskClosed],
        Secret::new("whsec_test_0123456789abcdef"),
        true,
        Utc::now(),
    );
    store.create_webhook(&webhook, 20).await.unwrap();
    let filler = gladly_webhook_testkit::disk::fill(fs.path());
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..400 {
        let id = format!("evt_{n}");
        let body = body(&id);
        match store
            .publish(&id, "TASK_CLOSED", Utc::now(), &body, &body, Utc::now())
            .await
        {
            Ok(_) => acknowledged.push(id),
            Err(_) => {
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused, 3, "the disk never filled");
    std::fs::remove_file(filler).unwrap();
    // Every pooled connection is tried: the next writes all succeed.
    for n in 0..8 {
        let id = format!("after_{n}");
        let body = body(&id);
        let published = store
            .publish(&id, "TASK_CLOSED", Utc::now(), &body, &body, Utc::now())
            .await;
        assert!(
            published.is_ok(),
            "{id} after space returned: {published:?}"
        );
        acknowledged.push(id);
    }
    let deliveries = store.deliveries("wh_1", 1000).await.unwrap();
    assert_eq!(deliveries.len(), acknowledged.len());
}

/// The store's file and its WAL and SHM are readable by their owner only.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_hub_store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let store = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(store.count_webhooks().await.unwrap(), 0);
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
}
