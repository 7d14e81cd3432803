//! The receiver over real loopback HTTP: every row of the answers table,
//! for each inbox backend, with requests signed by `Signer`.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use common::*;
use gladly_webhook_core::gladly_schema::event::ConversationClosed;
use gladly_webhook_receiver::inbox::{ListFilter, State};
use gladly_webhook_receiver::{Delivery, Handlers, Receiver, Verification, VerifiedEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_of_the_answers_table() {
    for backend in backends().await {
        let name = backend.name;
        let inbox = Arc::clone(&backend.inbox);
        let app = Receiver::with_inbox(verifier(), Arc::clone(&inbox)).router("/hooks/gladly");
        let addr = serve(app).await;
        let post =
            |body: Vec<u8>| async move { send(addr, &signed("/hooks/gladly", &body), false).await };

        // A verified event with a new id: 200 after the commit, pending.
        let answer = post(event("evt_1")).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "stored"),
            "{name}"
        );
        let row = inbox.get("evt_1").await.unwrap().expect("stored");
        assert_eq!(
            (row.state, row.event_type.as_str()),
            (State::Pending, "CONVERSATION_CLOSED")
        );
        assert_eq!(row.body, event("evt_1"), "{name}: the body byte for byte");

        // The same id again (Gladly's retry): 200, no new row.
        let answer = post(event("evt_1")).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "duplicate"),
            "{name}"
        );

        // PING: 200, stored nowhere.
        let before = counts(inbox.as_ref()).await;
        let answer = post(br#"{"type":"PING"}"#.to_vec()).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "ping"),
            "{name}"
        );
        assert_eq!(
            counts(inbox.as_ref()).await,
            before,
            "{name}: a PING adds nothing"
        );

        // An unknown type: 200, stored pending for the unknown handlers.
        let answer =
            post(br#"{"id":"evt_new","type":"CONVERSATION_REOPENED","x":1}"#.to_vec()).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "stored"),
            "{name}"
        );
        let row = inbox.get("evt_new").await.unwrap().unwrap();
        assert_eq!(
            (row.state, row.event_type.as_str()),
            (State::Pending, "CONVERSATION_REOPENED")
        );

        // Verified but malformed: 200, stored dead with the reason.
        let bad_content = br#"{"id":"evt_bad","type":"TASK_CLOSED","timestamp":"2026-11-26T17:00:00Z","initiator":{"id":"a","type":"AGENT"},"content":{"customerId":"c","taskId":7}}"#;
        for (body, key) in [
            (bad_content.to_vec(), "evt_bad".to_string()),
            (
                b"not json at all".to_vec(),
                gladly_webhook_receiver::inbox::dedup_key(None, b"not json at all"),
            ),
            (
                br#"{"type":"TASK_CLOSED"}"#.to_vec(),
                gladly_webhook_receiver::inbox::dedup_key(None, br#"{"type":"TASK_CLOSED"}"#),
            ),
        ] {
            let answer = post(body.clone()).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (200, "stored_dead"),
                "{name}: {}",
                String::from_utf8_lossy(&body)
            );
            let row = inbox.get(&key).await.unwrap().expect("kept for replay");
            assert_eq!(row.state, State::Dead, "{name}");
            assert!(
                row.last_error.as_deref().is_some_and(|e| !e.is_empty()),
                "{name}: the reason is kept"
            );
            // And a retry of it is a duplicate.
            assert_eq!(post(body).await.body, "duplicate");
        }
        let dead = inbox.get("evt_bad").await.unwrap().unwrap();
        assert!(
            dead.last_error.unwrap().contains("/content/taskId"),
            "{name}"
        );

        // Missing or bad signatures, stale or future times: 401 and a code.
        let rows = counts(inbox.as_ref()).await;
        let unsigned = http::Request::post("/hooks/gladly")
            .body(event("evt_x"))
            .unwrap();
        let wrong_secret = signed_at(
            "/hooks/gladly",
            &event("evt_x"),
            Utc::now(),
            "whsec_not_the_secret_000000",
        );
        let stale = signed_at(
            "/hooks/gladly",
            &event("evt_x"),
            Utc::now() - chrono::TimeDelta::minutes(6),
            SECRET,
        );
        let future = signed_at(
            "/hooks/gladly",
            &event("evt_x"),
            Utc::now() + chrono::TimeDelta::minutes(6),
            SECRET,
        );
        let mut tampered = signed("/hooks/gladly", &event("evt_x"));
        tampered.body_mut()[10] ^= 1;
        for (request, reason) in [
            (unsigned, "missing_signature_header"),
            (wrong_secret, "signature_mismatch"),
            (stale, "time_too_old"),
            (future, "time_in_future"),
            (tampered, "signature_mismatch"),
        ] {
            let answer = send(addr, &request, false).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (401, reason),
                "{name}"
            );
            assert!(!answer.body.contains("whsec"));
        }
        assert_eq!(
            counts(inbox.as_ref()).await,
            rows,
            "{name}: nothing stored on a 401"
        );

        // Not POST: 405.
        let mut get = signed("/hooks/gladly", b"");
        *get.method_mut() = http::Method::GET;
        assert_eq!(send(addr, &get, false).await.status, 405, "{name}");

        // Over the limit: 413, with a length and chunked with none.
        let big = vec![b' '; (1 << 20) + 1];
        for chunked in [false, true] {
            let answer = send(addr, &signed("/hooks/gladly", &big), chunked).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (413, "body_too_large"),
                "{name} chunked={chunked}"
            );
        }
        // A chunked delivery under the limit is read whole.
        let answer = send(addr, &signed("/hooks/gladly", &event("evt_chunked")), true).await;
        assert_eq!(answer.body, "stored", "{name}");

        // Another path is not the receiver's.
        assert_eq!(
            send(addr, &signed("/other", &event("evt_2")), false)
                .await
                .status,
            404
        );
        let (pending, running, done, dead) = rows;
        assert_eq!(
            counts(inbox.as_ref()).await,
            (pending + 1, running, done, dead),
            "{name}: only the chunked one more"
        );
    }
}

/// The inbox cannot commit (SQLite busy past its timeout: another process
/// holds the write lock): 503, and nothing is reported stored that is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_that_cannot_commit_answers_503() {
    use gladly_webhook_receiver::inbox::SqliteOptions;
    use sqlx::Connection;

    let backend =
        sqlite_with(SqliteOptions::default().busy_timeout(Duration::from_millis(200))).await;
    let inbox = Arc::clone(&backend.inbox);
    let addr = serve(Receiver::with_inbox(verifier(), Arc::clone(&inbox)).router("/h")).await;

    // Another connection takes the write lock and holds it.
    let path = backend.url.clone().unwrap();
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    let answer = send(addr, &signed("/h", &event("evt_locked")), false).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (503, "inbox_unavailable")
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(
        inbox.get("evt_locked").await.unwrap(),
        None,
        "a 503 stored nothing"
    );

    // Gladly's retry, once the lock is gone, is stored.
    let answer = send(addr, &signed("/h", &event("evt_locked")), false).await;
    assert_eq!(answer.body, "stored");
}

/// The PostgreSQL database goes away under the receiver: 503, nothing
/// reported stored; back, and the retry is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_answers_503() {
    use sqlx::Connection;
    let Some(backend) = postgres().await else {
        return;
    };
    let url = backend.url.clone().unwrap();
    let database = url.rsplit_once('/').unwrap().1.to_string();
    let inbox = Arc::clone(&backend.inbox);
    let addr = serve(Receiver::with_inbox(verifier(), Arc::clone(&inbox)).router("/h")).await;
    assert_eq!(
        send(addr, &signed("/h", &event("evt_before")), false)
            .await
            .body,
        "stored"
    );

    let admin_url = pg_admin_url().unwrap();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let run = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    run(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let answer = send(addr, &signed("/h", &event("evt_down")), false).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (503, "inbox_unavailable")
    );

    run(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(
        inbox.get("evt_down").await.unwrap(),
        None,
        "a 503 stored nothing"
    );
    let answer = send(addr, &signed("/h", &event("evt_down")), false).await;
    assert_eq!(answer.body, "stored");
}

/// Inline mode: the handler runs in the request; 200 only if it succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_mode_answers_with_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let handlers = Handlers::new().on(move |closed: Delivery<ConversationClosed>| {
        let calls = Arc::clone(&counted);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            if closed.content.conversation_id == "conv_evt_fail" {
                Err("the downstream system is down".into())
            } else {
                Ok(())
            }
        }
    });
    let addr = serve(Receiver::inline(verifier(), handlers).router("/h")).await;
    let answer = send(addr, &signed("/h", &event("evt_ok")), false).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "handled"));
    let answer = send(addr, &signed("/h", &event("evt_fail")), false).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (500, "handler_failed")
    );
    assert!(
        !answer.body.contains("downstream"),
        "the handler's error is logged, not sent"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let answer = send(addr, &signed("/h", b"[]"), false).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "malformed_event")
    );
}

/// Under `Router::nest`, the nested handler sees the path without the
/// prefix; the signature covers the path requested. The receiver and the
/// extractor verify against `OriginalUri`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_routers_verify_the_original_path() {
    let receiver = Receiver::inline(verifier(), Handlers::new());
    let extracted = axum::Router::new()
        .route(
            "/mine",
            axum::routing::post(|delivery: VerifiedEvent| async move {
                delivery
                    .event
                    .map(|e| e.event_type().to_string())
                    .unwrap_or_default()
            }),
        )
        .with_state(Verification::new(verifier()));
    let app = axum::Router::new()
        .nest("/outer", receiver.router("/gladly"))
        .nest("/custom", extracted);
    let addr = serve(app).await;
    let answer = send(addr, &signed("/outer/gladly", &event("evt_n")), false).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "handled"));
    // Signed for the stripped path: what a verifier reading the nested
    // `Uri` would have accepted, and must not.
    let answer = send(addr, &signed("/gladly", &event("evt_n")), false).await;
    assert_eq!(answer.status, 404);
    let mut moved = signed("/gladly", &event("evt_n"));
    *moved.uri_mut() = "/outer/gladly".parse().unwrap();
    assert_eq!(send(addr, &moved, false).await.status, 401);

    let answer = send(addr, &signed("/custom/mine", &event("evt_e")), false).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "CONVERSATION_CLOSED")
    );
    let mut bad = signed("/custom/mine", &event("evt_e"));
    bad.body_mut()[3] ^= 1;
    let answer = send(addr, &bad, false).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (401, "signature_mismatch")
    );
}

/// Several deliveries of one id at the same time: one row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_make_one_row() {
    for backend in backends().await {
        let inbox = Arc::clone(&backend.inbox);
        let addr = serve(Receiver::with_inbox(verifier(), Arc::clone(&inbox)).router("/h")).await;
        let sends: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn(
                    async move { send(addr, &signed("/h", &event("evt_same")), false).await },
                )
            })
            .collect();
        let mut bodies = Vec::new();
        for task in sends {
            bodies.push(task.await.unwrap().body);
        }
        bodies.sort();
        assert_eq!(
            bodies.iter().filter(|b| *b == "stored").count(),
            1,
            "{}: {bodies:?}",
            backend.name
        );
        assert_eq!(
            bodies.iter().filter(|b| *b == "duplicate").count(),
            7,
            "{}",
            backend.name
        );
        let rows = inbox.list(ListFilter::default()).await.unwrap();
        assert_eq!(rows.len(), 1, "{}", backend.name);
    }
}

/// Configuring a clone changes that clone alone (and never panics).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuring_a_clone_leaves_the_original_alone() {
    let original = Receiver::inline(verifier(), Handlers::new());
    let strict = original.clone().body_limit(16);
    let (a, b) = (
        serve(original.router("/h")).await,
        serve(strict.router("/h")).await,
    );
    assert_eq!(
        send(a, &signed("/h", &event("evt_a")), false).await.status,
        200
    );
    assert_eq!(
        send(b, &signed("/h", &event("evt_b")), false).await.status,
        413
    );
}

/// Issue 17, item 7: an authentic event whose id or type holds a NUL is
/// kept (dead, with the reason, keyed by its body) and answered 200 on
/// both backends alike; PostgreSQL answered 503 on every try before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_or_type_with_a_nul_is_kept_dead_and_answered_200() {
    for backend in backends().await {
        let name = backend.name;
        let inbox = Arc::clone(&backend.inbox);
        let app = Receiver::with_inbox(verifier(), Arc::clone(&inbox)).router("/hooks/gladly");
        let addr = serve(app).await;
        for body in [
            br#"{"id":"evt_\u0000x","type":"CUSTOMER_UPDATED","timestamp":"2026-11-26T17:00:00Z","initiator":{"id":"a","type":"SYSTEM"},"content":{"customerId":"c"}}"#.to_vec(),
            br#"{"id":"evt_nul_type","type":"CUSTOMER\u0000UPDATED","timestamp":"2026-11-26T17:00:00Z","content":{}}"#.to_vec(),
        ] {
            let answer = send(addr, &signed("/hooks/gladly", &body), false).await;
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (200, "stored_dead"),
                "{name}"
            );
            let again = send(addr, &signed("/hooks/gladly", &body), false).await;
            assert_eq!((again.status, again.body.as_str()), (200, "duplicate"), "{name}");
        }
        let dead = inbox
            .list(gladly_webhook_receiver::inbox::ListFilter::default())
            .await
            .unwrap();
        assert_eq!(dead.len(), 2, "{name}");
        for row in dead {
            assert_eq!(row.state, State::Dead, "{name}");
            assert!(
                row.last_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("NUL"),
                "{name}: {:?}",
                row.last_error
            );
        }
    }
}
