//! The receiver's page as a browser (or an attacker's page) reaches it,
//! through its router: the `Host` names it answers to (DNS rebinding), the
//! login of a page beyond this machine, and what its lists hold when
//! deliveries name huge ids (issue 32).

use std::sync::Arc;

use axum::body::Body;
use gladly_webhook_core::Secret;
use gladly_webhook_core::auth::DeliveryAuth;
use gladly_webhook_inspector::receiver::{ReceiverInspector, RecentDeliveries};
use gladly_webhook_inspector::{AllowedHosts, PageLogin};
use gladly_webhook_receiver::Receiver;
use gladly_webhook_receiver::inbox::{Inbox, SqliteInbox};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn inbox(dir: &tempfile::TempDir) -> Arc<dyn Inbox> {
    Arc::new(
        SqliteInbox::open(dir.path().join("inbox.db"))
            .await
            .unwrap(),
    )
}

/// A GET of `path` with `headers`: the status and the body.
async fn get(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let answer = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = answer.status();
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_rebound_host_is_refused_and_the_bound_ones_answer() {
    let dir = tempfile::tempdir().unwrap();
    let bound = "127.0.0.1:8081".parse().unwrap();
    let app = ReceiverInspector::new(inbox(&dir).await)
        .unwrap()
        .hosts(AllowedHosts::local(bound).with("inspector.internal:8081"))
        .router();
    for host in [
        "127.0.0.1:8081",
        "localhost:8081",
        "[::1]:8081",
        "inspector.internal:8081",
    ] {
        let (status, _) = get(&app, "/", &[("host", host)]).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    // An attacker's domain rebound to 127.0.0.1: the browser names it.
    for host in ["attacker.example:8081", "localhost:9999", "127.0.0.1"] {
        let (status, body) = get(&app, "/", &[("host", host)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}");
        assert!(!body.contains("csrf"), "{host}: no token leaks: {body}");
    }
    let (status, _) = get(&app, "/live/events", &[("host", "attacker.example:8081")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The default, for a page mounted in an application: loopback names.
    let mounted = ReceiverInspector::new(inbox(&dir).await).unwrap().router();
    assert_eq!(
        get(&mounted, "/", &[("host", "localhost:3000")]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&mounted, "/", &[("host", "attacker.example")]).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_page_with_a_login_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let login = PageLogin::parse(&Secret::new("ops:a long page password")).unwrap();
    assert_eq!(format!("{login:?}"), "PageLogin(****)");
    assert!(PageLogin::parse(&Secret::new("no colon")).is_err());
    assert!(PageLogin::parse(&Secret::new("ops:")).is_err());
    let app = ReceiverInspector::new(inbox(&dir).await)
        .unwrap()
        .login(login)
        .router();
    let host = ("host", "127.0.0.1:8081");
    let (status, body) = get(&app, "/", &[host]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("csrf"));
    // base64("ops:wrong") and base64("ops:a long page password").
    let wrong = ("authorization", "Basic b3BzOndyb25n");
    assert_eq!(
        get(&app, "/", &[host, wrong]).await.0,
        StatusCode::UNAUTHORIZED
    );
    let right = ("authorization", "Basic b3BzOmEgbG9uZyBwYWdlIHBhc3N3b3Jk");
    assert_eq!(get(&app, "/", &[host, right]).await.0, StatusCode::OK);
}

/// 120 deliveries naming 500 KB ids and types: the ring keeps and the live
/// fragment shows a bounded part of each (it was 120 MB, fetched every
/// second), and the inbox's list too.
#[tokio::test]
async fn huge_ids_and_types_are_shortened_in_the_ring_and_the_lists() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = inbox(&dir).await;
    let recent = RecentDeliveries::new(500);
    let ring = recent.clone();
    let receiver = Receiver::with_inbox(DeliveryAuth::none(), Arc::clone(&inbox))
        .body_limit(2 * 1024 * 1024)
        .on_receipt(move |receipt| ring.record(receipt))
        .router("/hooks");
    let huge = "x".repeat(500 * 1024);
    for n in 0..120 {
        let body = format!(
            r#"{{"id":"{n:03}{huge}","type":"T{huge}","timestamp":"2026-11-26T17:00:00Z"}}"#
        );
        let answer = receiver
            .clone()
            .oneshot(Request::post("/hooks").body(Body::from(body)).unwrap())
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert_eq!(recent.len(), 120);
    let app = ReceiverInspector::new(inbox)
        .unwrap()
        .recent(recent)
        .router();
    let host = ("host", "127.0.0.1:8081");
    for path in ["/live/deliveries", "/live/events", "/"] {
        let (status, body) = get(&app, path, &[host]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.len() < 512 * 1024, "{path}: {} bytes", body.len());
        assert!(
            body.contains("xxxx"),
            "{path}: the ids are shown, shortened"
        );
    }
}
