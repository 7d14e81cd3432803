//! Deliveries authenticated as Gladly's REST API 1.0 webhooks send them
//! (Basic credentials, required headers, both), over loopback HTTP on
//! every inbox backend (issue 18): right, wrong, missing, `Authorization`
//! twice, a header value in another case, a colon in the password, bytes
//! that are not UTF-8. The answer table is the same as for signed
//! deliveries.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{backends, event, serve};
use gladly_webhook_core::Secret;
use gladly_webhook_receiver::{DeliveryAuth, Receiver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a POST with `headers` (raw bytes, repeated names allowed) and
/// `body`; the status, the body and the head of the answer.
async fn post(addr: SocketAddr, headers: &[(&str, &[u8])], body: &[u8]) -> (u16, String, String) {
    let mut request = format!(
        "POST /hooks HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, body.to_string(), head.to_ascii_lowercase())
}

/// Request headers as raw bytes, repeated names allowed.
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

fn basic(pair: &str) -> Vec<u8> {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_credentials_and_headers_on_every_backend() {
    for backend in backends().await {
        let name = backend.name;
        let rule = DeliveryAuth::basic("gladly", Secret::new("pa:ss:word"))
            .and(DeliveryAuth::header("X-Gladly-Token", Secret::new("Tok_Secret_1")).unwrap());
        let app = Receiver::with_inbox(rule, Arc::clone(&backend.inbox)).router("/hooks");
        let addr = serve(app).await;
        let good = basic("gladly:pa:ss:word");
        let token: &[u8] = b"Tok_Secret_1";
        let short = basic("gladly:pa:ss");

        // Right: stored, then a duplicate; a PING is answered 200.
        let (status, body, _) = post(
            addr,
            &[("Authorization", &good), ("X-Gladly-Token", token)],
            &event("evt_basic_1"),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "stored"), "{name}");
        let (status, body, _) = post(
            addr,
            &[("Authorization", &good), ("X-Gladly-Token", token)],
            &event("evt_basic_1"),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "duplicate"), "{name}");
        let (status, body, _) = post(
            addr,
            &[("Authorization", &good), ("X-Gladly-Token", token)],
            br#"{"type":"PING"}"#,
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "ping"), "{name}");

        // Wrong, missing, twice, another case, not UTF-8: 401 with a code.
        let cases: Vec<(Headers, &str)> = vec![
            (vec![("X-Gladly-Token", token)], "missing_credentials"),
            (
                vec![("Authorization", b"Bearer x"), ("X-Gladly-Token", token)],
                "missing_credentials",
            ),
            (
                vec![("Authorization", &short), ("X-Gladly-Token", token)],
                "bad_credentials",
            ),
            (
                vec![
                    ("Authorization", &good),
                    ("Authorization", &good),
                    ("X-Gladly-Token", token),
                ],
                "bad_credentials",
            ),
            (
                vec![
                    ("Authorization", b"Basic \xff\xfe\xfd"),
                    ("X-Gladly-Token", token),
                ],
                "bad_credentials",
            ),
            (vec![("Authorization", &good)], "missing_header"),
            (
                vec![
                    ("Authorization", &good),
                    ("X-Gladly-Token", b"tok_secret_1"),
                ],
                "bad_header_value",
            ),
            (
                vec![
                    ("Authorization", &good),
                    ("X-Gladly-Token", token),
                    ("X-Gladly-Token", token),
                ],
                "bad_header_value",
            ),
            (
                vec![
                    ("Authorization", &good),
                    ("X-Gladly-Token", b"Tok_\xffSecret"),
                ],
                "bad_header_value",
            ),
        ];
        let before = common::counts(backend.inbox.as_ref()).await;
        for (headers, code) in cases {
            let (status, body, head) = post(addr, &headers, &event("evt_refused")).await;
            assert_eq!((status, body.as_str()), (401, code), "{name}: {code}");
            let asks = head.contains("www-authenticate: basic realm=\"gladly-webhook\"");
            assert_eq!(
                asks,
                code.ends_with("credentials"),
                "{name}: {code}: {head}"
            );
            assert!(!body.contains("Tok_Secret") && !head.contains("pa:ss"));
        }
        assert_eq!(
            common::counts(backend.inbox.as_ref()).await,
            before,
            "{name}: nothing refused was stored"
        );
    }
}

/// The signature rule is unchanged, and `none` accepts every delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_and_no_rule() {
    let backend = common::sqlite().await;
    let app = Receiver::with_inbox(common::verifier(), Arc::clone(&backend.inbox)).router("/hooks");
    let addr = serve(app).await;
    let (status, body, _) = post(addr, &[], &event("evt_unsigned")).await;
    assert_eq!((status, body.as_str()), (401, "missing_signature_header"));
    let open =
        Receiver::with_inbox(DeliveryAuth::none(), Arc::clone(&backend.inbox)).router("/hooks");
    let addr = serve(open).await;
    let (status, body, _) = post(addr, &[], &event("evt_open")).await;
    assert_eq!((status, body.as_str()), (200, "stored"));
}

/// A receiver on `backend`'s inbox that takes Basic credentials
/// `gladly:correct horse battery`, woken `workers` running `handlers`, on
/// loopback: the workers, the address, and the `Authorization` value.
async fn basic_receiver(
    backend: &common::TestInbox,
    handlers: gladly_webhook_receiver::Handlers,
    workers: usize,
) -> (gladly_webhook_receiver::Workers, SocketAddr, Vec<u8>) {
    use gladly_webhook_receiver::{WorkerOptions, spawn_workers};
    let options = WorkerOptions::default().poll_interval(Duration::from_millis(20));
    let workers = spawn_workers(Arc::clone(&backend.inbox), handlers, workers, options);
    let rule = DeliveryAuth::basic("gladly", Secret::new("correct horse battery"));
    let app = Receiver::with_inbox(rule, Arc::clone(&backend.inbox))
        .wake(&workers)
        .router("/hooks");
    let addr = serve(app).await;
    (workers, addr, basic("gladly:correct horse battery"))
}

/// A real-style delivery end to end on every backend: `CONVERSATION/CLOSED`
/// with Basic credentials is stored, and a worker hands its content, typed
/// by the REST API 1.0 types, to the handler registered for it; our user's
/// model's handler beside it does not run for it, and a malformed real
/// event is kept dead with its pointer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_events_reach_their_typed_handlers_on_every_backend() {
    use gladly_webhook_core::gladly_schema::{event, rest};
    use gladly_webhook_receiver::inbox::State;
    use gladly_webhook_receiver::{Delivery, Handlers};
    use std::sync::Mutex;

    for backend in backends().await {
        let name = backend.name;
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (real, ours) = (Arc::clone(&seen), Arc::clone(&seen));
        let handlers = Handlers::new()
            .on(move |closed: Delivery<rest::event::ConversationClosed>| {
                let seen = Arc::clone(&real);
                async move {
                    let assignee = &closed.content.context.assignee;
                    seen.lock().unwrap().push(format!(
                        "{} {} {} {}",
                        closed.event_type,
                        closed.content.conversation_id,
                        assignee.inbox_id,
                        closed.initiator.map(|i| i.type_).unwrap_or_default()
                    ));
                    Ok(())
                }
            })
            .on(move |_: Delivery<event::ConversationClosed>| {
                let seen = Arc::clone(&ours);
                async move {
                    seen.lock().unwrap().push("ours".to_string());
                    Ok(())
                }
            });
        let (workers, addr, auth) = basic_receiver(&backend, handlers, 1).await;
        let closed = br#"{"id":"evt_real_1","type":"CONVERSATION/CLOSED","timestamp":"2019-07-03T04:30:12.07Z",
            "initiator":{"id":"agent_1","type":"AGENT"},
            "content":{"customerId":"cust_1","conversationId":"conv_1","context":{"assignee":{"inboxId":"inbox_1"}}}}"#;
        let (status, body, _) = post(addr, &[("Authorization", &auth)], closed).await;
        assert_eq!((status, body.as_str()), (200, "stored"), "{name}");
        let broken = br#"{"id":"evt_real_2","type":"CONVERSATION/CLOSED","timestamp":"2019-07-03T04:30:12.07Z",
            "initiator":{"id":"agent_1","type":"AGENT"},"content":{"customerId":"cust_1"}}"#;
        let (status, _, _) = post(addr, &[("Authorization", &auth)], broken).await;
        assert_eq!(status, 200, "{name}: authentic, kept dead");

        let inbox = Arc::clone(&backend.inbox);
        assert!(
            common::eventually(Duration::from_secs(30), || async {
                inbox.get("evt_real_1").await.unwrap().unwrap().state == State::Done
            })
            .await,
            "{name}"
        );
        assert_eq!(
            *seen.lock().unwrap(),
            ["CONVERSATION/CLOSED conv_1 inbox_1 AGENT"],
            "{name}"
        );
        let dead = inbox.get("evt_real_2").await.unwrap().unwrap();
        assert_eq!(dead.state, State::Dead, "{name}");
        assert_eq!(dead.event_type, "CONVERSATION/CLOSED");
        let error = dead.last_error.unwrap_or_default();
        assert!(
            error.contains("/content: missing required property \"conversationId\""),
            "{name}: {error}"
        );
        workers.shutdown(Duration::from_secs(5)).await;
    }
}

/// What the handlers of [`every_real_event_type_smallest_and_full_reaches_its_typed_handler`]
/// saw: the event type as sent, and the type its handler was registered for.
type Seen = Arc<std::sync::Mutex<Vec<(String, &'static str)>>>;

/// `handlers` with one more, for the content type `C`, recording to `seen`.
fn on<C>(
    handlers: gladly_webhook_receiver::Handlers,
    seen: &Seen,
) -> gladly_webhook_receiver::Handlers
where
    C: gladly_webhook_core::EventContent + Send + 'static,
    C::Parent: gladly_webhook_core::event::ModelEvent,
{
    let seen = Arc::clone(seen);
    handlers.on(move |delivery: gladly_webhook_receiver::Delivery<C>| {
        let seen = Arc::clone(&seen);
        async move {
            seen.lock().unwrap().push((delivery.event_type, C::TAG));
            Ok(())
        }
    })
}

/// Issue 32: every type of Gladly's REST API 1.0, as the smallest payload
/// the reference allows (only what its type requires: no `initiator` for
/// `CUSTOMER_PROFILE/*`, `EXPORT_JOB/*`, `CONVERSATION_STATUS/UPDATED`; only
/// `type` for `AUTOMATION/*`) and as a full one (every property), both made
/// from the vendored schema, is answered 200 `stored` with Basic
/// credentials, kept pending (never dead), and run once by the handler
/// registered for its content type, on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_event_type_smallest_and_full_reaches_its_typed_handler() {
    use common::payloads::{Fill, payloads};
    use gladly_webhook_core::gladly_schema::rest::event as rest;
    use gladly_webhook_receiver::Handlers;

    let registrations: [fn(Handlers, &Seen) -> Handlers; 52] = [
        on::<rest::AgentAvailabilityUpdated>,
        on::<rest::AgentStatusChangedActiveReason>,
        on::<rest::AgentStatusLoggedIn>,
        on::<rest::AgentStatusLoggedOut>,
        on::<rest::AgentStatusReturnedFromAway>,
        on::<rest::AgentStatusWentAway>,
        on::<rest::AutomationMessageReceived>,
        on::<rest::ContactEnded>,
        on::<rest::ContactFulfilled>,
        on::<rest::ContactHoldEnded>,
        on::<rest::ContactHoldStarted>,
        on::<rest::ContactJoined>,
        on::<rest::ContactMessageReceived>,
        on::<rest::ContactMessageSent>,
        on::<rest::ContactOfferAccepted>,
        on::<rest::ContactOfferRejected>,
        on::<rest::ContactOffered>,
        on::<rest::ContactStarted>,
        on::<rest::ContactTransferred>,
        on::<rest::ConversationAssigneeUpdated>,
        on::<rest::ConversationClosed>,
        on::<rest::ConversationCreated>,
        on::<rest::ConversationCustomAttributeAdded>,
        on::<rest::ConversationCustomAttributeRemoved>,
        on::<rest::ConversationNoteCreated>,
        on::<rest::ConversationReopened>,
        on::<rest::ConversationStatusUpdated>,
        on::<rest::ConversationTopicAdded>,
        on::<rest::ConversationTopicRemoved>,
        on::<rest::CustomChannelMessageSent>,
        on::<rest::CustomerMerged>,
        on::<rest::CustomerProfileCreated>,
        on::<rest::CustomerProfileDeleted>,
        on::<rest::CustomerProfileMerged>,
        on::<rest::CustomerProfileUpdated>,
        on::<rest::ExportJobCompleted>,
        on::<rest::ExportJobFailed>,
        on::<rest::PaymentRequestCreated>,
        on::<rest::PaymentRequestStatusChanged>,
        on::<rest::PaymentRequestViewed>,
        on::<rest::TaskAssigneeUpdated>,
        on::<rest::TaskClosed>,
        on::<rest::TaskCommentAdded>,
        on::<rest::TaskContentUpdated>,
        on::<rest::TaskCreated>,
        on::<rest::TaskDueDateUpdated>,
        on::<rest::TaskFollowerAdded>,
        on::<rest::TaskFollowerRemoved>,
        on::<rest::TaskReopened>,
        on::<rest::AgentAvailabilityFocusEntered>,
        on::<rest::AgentAvailabilityFocusExited>,
        on::<rest::AutomationMessageSent>,
    ];
    let smallest = payloads(rest::SCHEMA, Fill::Smallest, "min");
    let full = payloads(rest::SCHEMA, Fill::Full, "full");
    assert_eq!((smallest.len(), full.len()), (52, 52));
    let bare = &smallest
        .iter()
        .find(|(t, _)| t == "CUSTOMER_PROFILE/CREATED")
        .unwrap()
        .1;
    assert!(
        bare.get("initiator").is_none() && bare.get("id").is_some(),
        "{bare}"
    );
    let automation = &smallest
        .iter()
        .find(|(t, _)| t == "AUTOMATION/MESSAGE_SENT")
        .unwrap()
        .1;
    assert_eq!(
        automation,
        &serde_json::json!({"type": "AUTOMATION/MESSAGE_SENT"})
    );

    for backend in backends().await {
        let name = backend.name;
        let seen: Seen = Arc::default();
        let handlers = registrations
            .iter()
            .fold(Handlers::new(), |handlers, register| {
                register(handlers, &seen)
            });
        let (workers, addr, auth) = basic_receiver(&backend, handlers, 2).await;
        for (event_type, payload) in smallest.iter().chain(&full) {
            let body = serde_json::to_vec(payload).unwrap();
            let (status, answer, _) = post(addr, &[("Authorization", &auth)], &body).await;
            assert_eq!(
                (status, answer.as_str()),
                (200, "stored"),
                "{name}: {event_type} {payload}"
            );
        }
        let inbox = Arc::clone(&backend.inbox);
        let all_done = common::eventually(Duration::from_secs(60), || async {
            inbox.stats().await.unwrap().done == 104
        })
        .await;
        let stats = inbox.stats().await.unwrap();
        assert!(all_done, "{name}: {stats:?}");
        assert_eq!(stats.dead, 0, "{name}");
        let mut seen: Vec<(String, String)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(sent, tag)| (sent.clone(), tag.to_string()))
            .collect();
        seen.sort();
        let mut expected: Vec<(String, String)> = smallest
            .iter()
            .chain(&full)
            .map(|(event_type, _)| (event_type.clone(), event_type.clone()))
            .collect();
        expected.sort();
        assert_eq!(
            seen, expected,
            "{name}: each event once, by its own type's handler"
        );
        workers.shutdown(Duration::from_secs(5)).await;
    }
}
