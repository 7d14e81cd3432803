//! The strict policy's rules, bad input, and snapshots of rendered reports.

use gladly_webhook_core::validate::{
    ErrorCode, Policy, ValidateWebhook, validate_json, validate_str,
};
use gladly_webhook_core::{EventType, Secret, Webhook};

fn codes(text: &str, policy: &Policy) -> Vec<(String, ErrorCode)> {
    match validate_str(text, policy) {
        Ok(_) => Vec::new(),
        Err(report) => report
            .errors()
            .iter()
            .map(|e| (e.pointer.clone(), e.code))
            .collect(),
    }
}

fn doc(url: &str) -> String {
    format!(
        r#"{{"id":"wh_1","url":{},"events":["TASK_CLOSED"]}}"#,
        serde_json::Value::from(url)
    )
}

#[test]
fn strict_url_rules() {
    let strict = Policy::strict();
    let local = Policy::strict().allow_insecure_localhost(true);
    let one = |code| vec![("/url".to_string(), code)];
    assert_eq!(codes(&doc("https://example.com/h"), &strict), []);
    assert_eq!(codes(&doc("HTTPS://example.com/h"), &strict), []);
    assert_eq!(
        codes(&doc("http://example.com/h"), &strict),
        one(ErrorCode::HttpsRequired)
    );
    assert_eq!(
        codes(&doc("ftp://example.com/h"), &strict),
        one(ErrorCode::HttpsRequired)
    );
    for host in ["localhost", "127.0.0.1", "[::1]", "LOCALHOST", "127.0.0.2"] {
        let url = format!("http://{host}:8080/h");
        assert_eq!(
            codes(&doc(&url), &strict),
            vec![
                ("/url".to_string(), ErrorCode::HttpsRequired),
                ("/url".to_string(), ErrorCode::AddressNotAllowed)
            ],
            "{url}"
        );
        assert_eq!(codes(&doc(&url), &local), [], "{url}");
    }
    assert_eq!(
        codes(&doc("http://10.0.0.1/h"), &local),
        vec![
            ("/url".to_string(), ErrorCode::HttpsRequired),
            ("/url".to_string(), ErrorCode::AddressNotAllowed)
        ]
    );
    assert_eq!(
        codes(&doc("http://localhost.example.com/h"), &local),
        one(ErrorCode::HttpsRequired)
    );
    assert_eq!(
        codes(&doc("ftp://localhost/h"), &local),
        one(ErrorCode::HttpsRequired)
    );
    assert_eq!(
        codes(&doc("https:///h"), &strict),
        one(ErrorCode::MissingHost)
    );
    assert_eq!(
        codes(&doc("https:/h"), &strict),
        one(ErrorCode::MissingHost)
    );
    assert_eq!(
        codes(&doc("https://user:pw@example.com/h"), &strict),
        one(ErrorCode::UserInfo)
    );
    assert_eq!(
        codes(&doc("https://example.com/h#frag"), &strict),
        one(ErrorCode::Fragment)
    );
    assert_eq!(
        codes(&doc("mailto:x@example.com"), &strict),
        [
            ("/url".to_string(), ErrorCode::HttpsRequired),
            ("/url".to_string(), ErrorCode::MissingHost)
        ]
    );
    // The schema level accepts all of them: they are URIs.
    for url in [
        "http://example.com",
        "https:///h",
        "https://u:p@example.com",
        "https://e.com#f",
        "mailto:x@example.com",
    ] {
        assert_eq!(codes(&doc(url), &Policy::schema()), [], "{url}");
    }
}

#[test]
fn strict_events_id_secret_and_times() {
    let strict = Policy::strict();
    assert_eq!(
        codes(r#"{"id":"","url":"https://e.com","events":[]}"#, &strict),
        [
            ("/id".to_string(), ErrorCode::EmptyId),
            ("/events".to_string(), ErrorCode::EmptyEvents)
        ]
    );
    assert_eq!(
        codes(
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED","TASK_CREATED","TASK_CLOSED","TASK_CLOSED"]}"#,
            &strict
        ),
        [
            ("/events/2".to_string(), ErrorCode::DuplicateEvent),
            ("/events/3".to_string(), ErrorCode::DuplicateEvent)
        ]
    );
    assert_eq!(
        codes(
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"secret":" short "}"#,
            &strict
        ),
        [
            ("/secret".to_string(), ErrorCode::SecretTooShort),
            ("/secret".to_string(), ErrorCode::SecretWhitespace)
        ]
    );
    assert_eq!(
        codes(
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"secret":"exactly-16-bytes"}"#,
            &strict
        ),
        []
    );
    assert_eq!(
        codes(
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"createdAt":"2026-11-26T17:00:00Z","modifiedAt":"2026-11-26T18:59:59+02:00"}"#,
            &strict
        ),
        [("/modifiedAt".to_string(), ErrorCode::ModifiedBeforeCreated)]
    );
    assert_eq!(
        codes(
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"createdAt":"2026-11-26T17:00:00Z","modifiedAt":"2026-11-26T19:00:00+02:00"}"#,
            &strict
        ),
        []
    );
}

#[test]
fn strict_and_schema_problems_together_in_document_order() {
    let text =
        r#"{"events":["TASK_CLOSED","TASK_CLOSED",7],"active":1,"url":"http://e.com","id":""}"#;
    let found = codes(text, &Policy::strict());
    assert_eq!(
        found,
        [
            ("/events/1".to_string(), ErrorCode::DuplicateEvent),
            ("/events/2".to_string(), ErrorCode::Type),
            ("/active".to_string(), ErrorCode::Type),
            ("/url".to_string(), ErrorCode::HttpsRequired),
            ("/id".to_string(), ErrorCode::EmptyId),
        ]
    );
}

#[test]
fn messages_never_contain_the_secret() {
    let secret = " my-secret-value ";
    let text = format!(
        r#"{{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"secret":"{secret}"}}"#
    );
    let report = validate_str(&text, &Policy::strict()).unwrap_err();
    assert!(!report.to_string().contains("my-secret"), "{report}");
    let text = r#"{"id":"a","url":"https://user:hunter2@e.com/ x","events":["TASK_CLOSED"]}"#;
    let report = validate_str(text, &Policy::strict()).unwrap_err();
    assert!(!report.to_string().contains("hunter2"), "{report}");
    let text = r#"{"id":"a","url":"https://user:hunter2@/x","events":["TASK_CLOSED"]}"#;
    let report = validate_str(text, &Policy::strict()).unwrap_err();
    assert!(!report.to_string().contains("hunter2"), "{report}");
}

#[test]
fn bad_input_is_a_report() {
    let schema = Policy::schema();
    let code =
        |bytes: &[u8], policy: &Policy| validate_json(bytes, policy).unwrap_err().errors()[0].code;
    assert_eq!(code(b"", &schema), ErrorCode::Syntax);
    assert_eq!(code(b"{\"id\": }", &schema), ErrorCode::Syntax);
    assert_eq!(code(b"{} {}", &schema), ErrorCode::Syntax);
    assert_eq!(code(b"{\"id\": \"\xff\"}", &schema), ErrorCode::NotUtf8);
    assert_eq!(code(b"\"\\ud800\"", &schema), ErrorCode::Syntax);
    assert_eq!(code(b"[1]", &schema), ErrorCode::Type);
    let deep_known = format!("{{\"id\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(code(deep_known.as_bytes(), &schema), ErrorCode::TooDeep);
    let big = format!(
        r#"{{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    assert_eq!(code(big.as_bytes(), &schema), ErrorCode::TooLarge);
    assert!(validate_json(big.as_bytes(), &schema.max_size(2 << 20)).is_ok());
}

#[test]
fn valid_document_gives_the_typed_webhook() {
    let text = r#"{"id":"wh_1","url":"https://e.com/h","events":["TASK_CLOSED","MESSAGE_CREATED"],
        "secret":"whsec_example_0123456789abcdef","active":false,
        "createdAt":"2026-11-26T17:00:00Z","modifiedAt":"2026-11-26t18:00:00.5+01:00","unknown":{"x":[1]}}"#;
    let webhook = validate_str(text, &Policy::strict()).unwrap();
    let expected: Webhook = serde_json::from_str(text).unwrap();
    assert_eq!(webhook, expected);
    assert_eq!(
        webhook.events,
        [EventType::TaskClosed, EventType::MessageCreated]
    );
    assert_eq!(
        webhook.secret,
        Some(Secret::new("whsec_example_0123456789abcdef"))
    );
}

#[test]
fn escaped_strings_are_read_as_their_values() {
    let text = r#"{"id":"wh\u005f1","url":"https:\/\/e.com\/h","events":["TASK\u005fCLOSED"]}"#;
    let webhook = validate_str(text, &Policy::strict()).unwrap();
    assert_eq!(webhook.id, "wh_1");
    assert_eq!(webhook.url, "https://e.com/h");
}

#[test]
fn typed_webhooks_validate_too() {
    let mut webhook = Webhook {
        id: String::new(),
        url: "http://e.com/h#x".into(),
        events: vec![EventType::TaskClosed, EventType::TaskClosed],
        secret: Some(Secret::new("short")),
        active: None,
        created_at: Some("2026-11-26T17:00:00Z".parse().unwrap()),
        modified_at: Some("2026-11-26T16:00:00Z".parse().unwrap()),
    };
    let report = webhook.validate(&Policy::strict()).unwrap_err();
    insta::assert_snapshot!("typed_webhook_strict", report);
    webhook.url = "not a uri".into();
    let report = webhook.validate(&Policy::schema()).unwrap_err();
    assert_eq!(report.errors()[0].pointer, "/url");
    assert_eq!(report.len(), 1);
}

#[test]
fn report_serializes_as_an_array() {
    let report = validate_str("{}", &Policy::schema()).unwrap_err();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json[0],
        serde_json::json!({"pointer": "", "code": "Required", "message": "missing required property \"id\""})
    );
    assert_eq!(json.as_array().unwrap().len(), 3);
}

/// A dozen bad documents, rendered, so a wording change is reviewed.
#[test]
fn snapshots_of_rendered_reports() {
    let cases: [(&str, &str, Policy); 12] = [
        ("empty_object", "{}", Policy::schema()),
        ("not_an_object", r#"["https://e.com"]"#, Policy::schema()),
        ("not_json", r#"{"id": "a", "url": }"#, Policy::schema()),
        (
            "wrong_types",
            r#"{"id":7,"url":null,"events":{},"secret":12345,"active":"true","createdAt":1}"#,
            Policy::schema(),
        ),
        (
            "bad_formats",
            r#"{"id":"a","url":"https://exa mple.com","events":["TASK_CLOSED"],"createdAt":"2026-11-26 17:00:00Z","modifiedAt":"2026-02-30T00:00:00Z"}"#,
            Policy::schema(),
        ),
        (
            "bad_events",
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED","task_created",null,"CONVERSATION_REOPENED"]}"#,
            Policy::schema(),
        ),
        (
            "insecure_url",
            r#"{"id":"a","url":"http://localhost:8080/h","events":["TASK_CLOSED"]}"#,
            Policy::strict(),
        ),
        (
            "url_credentials_and_fragment",
            r#"{"id":"a","url":"https://admin:hunter2@e.com/h#top","events":["TASK_CLOSED"]}"#,
            Policy::strict(),
        ),
        (
            "no_host",
            r#"{"id":"a","url":"https:/hooks","events":["TASK_CLOSED"]}"#,
            Policy::strict(),
        ),
        (
            "empty_and_duplicate",
            r#"{"id":"","url":"https://e.com","events":["TASK_CLOSED","MESSAGE_CREATED","TASK_CLOSED"]}"#,
            Policy::strict(),
        ),
        (
            "weak_secret_and_times",
            r#"{"id":"a","url":"https://e.com","events":["TASK_CLOSED"],"secret":"abc ","createdAt":"2026-11-26T17:00:00Z","modifiedAt":"2026-11-25T17:00:00Z"}"#,
            Policy::strict(),
        ),
        (
            "five_problems",
            r#"{"url":"https://exa mple.com","events":["TASK_CLOSED","NOPE"],"active":"yes","createdAt":"yesterday"}"#,
            Policy::strict(),
        ),
    ];
    for (name, text, policy) in cases {
        let report = validate_str(text, &policy).unwrap_err();
        insta::assert_snapshot!(name, report, text);
    }
}

/// JSON that `serde_json::Value` (and so `jsonschema`) cannot hold, but
/// that is valid JSON and, where it is only skipped, valid against the
/// schema: accepted there; where validation must read it, the divergences
/// the module docs list.
#[test]
fn valid_json_that_serde_value_cannot_hold() {
    let doc = |extra: &str| {
        format!(r#"{{"id":"a","url":"https://e.com/h","events":["TASK_CLOSED"],{extra}}}"#)
    };
    for extra in [
        format!(r#""x":{}{}"#, "[".repeat(200), "]".repeat(200)),
        format!(r#""x":{}1{}"#, "{\"a\":".repeat(10_000), "}".repeat(10_000)),
        r#""x":1e400"#.to_string(),
        r#""x":-1e400"#.to_string(),
        r#""x":{"y":[1e99999]}"#.to_string(),
        r#""x":"\ud800""#.to_string(),
        r#""\udc00":1"#.to_string(),
        r#""x":{"\ud800":"\udfff\ud800"}"#.to_string(),
    ] {
        let text = doc(&extra);
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_err(),
            "Value holds it: not a case for this test"
        );
        for policy in [Policy::schema(), Policy::strict()] {
            let result = validate_str(&text, &policy);
            assert!(
                result.is_ok(),
                "{}: {result:?}",
                &text[..text.len().min(120)]
            );
        }
    }
    // In a property validation reads: the same verdict as the schema's
    // (invalid), under another code.
    let code = |text: &str| validate_str(text, &Policy::schema()).unwrap_err().errors()[0].code;
    assert_eq!(code(&doc(r#""active":1e400"#)), ErrorCode::Syntax);
    let deep_known = format!(r#"{{"id":{}{}}}"#, "[".repeat(200), "]".repeat(200));
    assert_eq!(code(&deep_known), ErrorCode::TooDeep);
    // The one divergence in verdict: a lone surrogate in a string property
    // cannot be a Rust `String`, so an `id` or `secret` holding one is
    // refused though the schema allows it.
    let lone = r#"{"id":"\ud800","url":"https://e.com/h","events":["TASK_CLOSED"]}"#;
    assert_eq!(code(lone), ErrorCode::Syntax);
}

/// Defect: a URL whose password holds an unencoded `/`, `?` or `#` is not
/// a URI, and the `Format` message echoed it whole, password included;
/// strict messages echoed queries and fragments, where tokens live.
#[test]
fn no_message_echoes_a_credential_a_query_or_a_fragment() {
    let secrets = [
        "S3C/RET", "S3C?RET", "S3C#RET", "S3C@RET", "S3C RET", "S3CRET",
    ];
    for password in secrets {
        for url in [
            format!("https://admin:{password}@example.com/h"),
            format!("https://admin:{password}@example.com:0/h"),
            format!("https://admin:{password}@e..com/h"),
            format!("http://admin:{password}@/h"),
            format!("admin:{password}@example.com"),
        ] {
            for policy in [Policy::schema(), Policy::strict()] {
                let text = doc(&url);
                let shown = match validate_str(&text, &policy) {
                    Ok(_) => continue,
                    Err(report) => report.to_string(),
                };
                assert!(!shown.contains("S3C"), "{url}: {shown}");
            }
        }
    }
    for url in [
        "https://example.com/h?token=T0KEN",
        "https://example.com/h#access_token=T0KEN",
        "https://example.com/h?a=1#T0KEN",
        "http://example.com:99999/h?token=T0KEN",
        "https:///h?token=T0KEN",
        "https://exa mple.com/h?token=T0KEN",
    ] {
        if let Err(report) = validate_str(&doc(url), &Policy::strict()) {
            assert!(!report.to_string().contains("T0KEN"), "{url}: {report}");
        }
    }
    let report = validate_str(
        &doc("https://admin:S3C/RET@example.com/h"),
        &Policy::schema(),
    )
    .unwrap_err();
    assert_eq!(
        report.to_string(),
        "/url: Format: expected an absolute URI (RFC 3986), found \"https://***@example.com/h\""
    );
}

/// Defect: strict accepted URLs nothing can deliver to.
#[test]
fn strict_refuses_urls_nothing_can_deliver_to() {
    let strict = Policy::strict();
    let one = |code| vec![("/url".to_string(), code)];
    for url in [
        "https://example.com:0/h",
        "https://example.com:65536/h",
        "https://example.com:99999999999999999999/h",
        "https://example.com:/h",
    ] {
        assert_eq!(
            codes(&doc(url), &strict),
            one(ErrorCode::InvalidPort),
            "{url}"
        );
        assert_eq!(
            codes(&doc(url), &Policy::schema()),
            [],
            "{url}: the schema allows it"
        );
    }
    for url in [
        "https://e..com/h",
        "https://.example.com/h",
        "https://example.com../h",
        "https://[v1.fe80::a]/h",
    ] {
        assert_eq!(
            codes(&doc(url), &strict),
            one(ErrorCode::InvalidHost),
            "{url}"
        );
    }
    for url in [
        "https://example.com:1/h",
        "https://example.com:65535/h",
        "https://example.com:0443/h",
        "https://example.com./h",
        "https://93.184.215.14/h",
        "https://[2606:4700::1111]/h",
    ] {
        assert_eq!(codes(&doc(url), &strict), [], "{url}");
    }
    let report = validate_str(&doc("https://example.com:70000/h"), &strict).unwrap_err();
    assert_eq!(
        report.to_string(),
        "/url: InvalidPort: expected a port from 1 to 65535, found \"70000\""
    );
}

/// Every spelling of a non-public address that a URL parser accepts is
/// refused at `/url` by the strict policy (issue 17, SSRF), and allowed
/// only by the matching opt-in.
#[test]
fn strict_refuses_every_spelling_of_a_non_public_address() {
    let strict = Policy::strict();
    let one = |code| vec![("/url".to_string(), code)];
    for host in gladly_webhook_testkit::hosts::NON_PUBLIC_HOSTS {
        let url = format!("https://{host}/h");
        assert_eq!(
            codes(&doc(&url), &strict),
            one(ErrorCode::AddressNotAllowed),
            "{url}"
        );
    }
    let report = validate_str(&doc("https://169.254.169.254/latest"), &strict).unwrap_err();
    assert!(report.to_string().contains("link-local"), "{report}");
    let allowed = Policy::strict().allow_network("10.1.0.0/16".parse().unwrap());
    assert_eq!(codes(&doc("https://10.1.2.3/h"), &allowed), []);
    assert_eq!(
        codes(&doc("https://10.2.0.1/h"), &allowed),
        one(ErrorCode::AddressNotAllowed)
    );
    let local = Policy::strict().allow_insecure_localhost(true);
    assert_eq!(codes(&doc("https://2130706433/h"), &local), []);
    assert_eq!(
        codes(&doc("https://169.254.169.254/h"), &local),
        one(ErrorCode::AddressNotAllowed)
    );
}

/// Issue 32: a REST API 1.0 webhook's `headers` are sent on every
/// delivery, so one that cannot be sent (a name that is no header name, a
/// value with NUL, CR or LF) or that the delivery sets itself (framing,
/// connection, host, content type, a second `Authorization`) is refused at
/// create and at PATCH, at its pointer, and the value is never echoed.
#[test]
fn rest_webhook_headers_that_cannot_be_sent_are_refused() {
    use gladly_webhook_core::validate::{RESERVED_HEADERS, RestBody, validate_rest_webhook};
    let policy = Policy::schema();
    let with_headers = |headers: serde_json::Value| {
        serde_json::json!({"url": "https://example.com/hooks", "events": ["CONVERSATION/CLOSED"],
            "headers": headers})
        .to_string()
    };
    for body in [RestBody::Create, RestBody::Update] {
        let fine = with_headers(serde_json::json!({"X-Gladly-Token": "tok 123\tok"}));
        assert!(validate_rest_webhook(fine.as_bytes(), &policy, body).is_ok());
        let mut bad = serde_json::Map::new();
        bad.insert("bad name".into(), "v".into());
        bad.insert("X-Nul".into(), "secret\u{0}value".into());
        bad.insert("X-Split".into(), "secret\r\nX-Injected: 1".into());
        bad.insert("a/b~c".into(), "v".into());
        for name in [
            "Content-Length",
            "Transfer-Encoding",
            "Authorization",
            "Connection",
            "Upgrade",
            "Expect",
            "HOST",
        ] {
            bad.insert(name.into(), "3".into());
        }
        let text = with_headers(serde_json::Value::Object(bad));
        let report = validate_rest_webhook(text.as_bytes(), &policy, body).unwrap_err();
        let mut found: Vec<(String, ErrorCode)> = report
            .errors()
            .iter()
            .map(|e| (e.pointer.clone(), e.code))
            .collect();
        found.sort();
        let mut expected: Vec<(String, ErrorCode)> = [
            ("/headers/Authorization", ErrorCode::HeaderName),
            ("/headers/Connection", ErrorCode::HeaderName),
            ("/headers/Content-Length", ErrorCode::HeaderName),
            ("/headers/Expect", ErrorCode::HeaderName),
            ("/headers/HOST", ErrorCode::HeaderName),
            ("/headers/Transfer-Encoding", ErrorCode::HeaderName),
            ("/headers/Upgrade", ErrorCode::HeaderName),
            ("/headers/X-Nul", ErrorCode::HeaderValue),
            ("/headers/X-Split", ErrorCode::HeaderValue),
            ("/headers/a~1b~0c", ErrorCode::HeaderName),
            ("/headers/bad name", ErrorCode::HeaderName),
        ]
        .into_iter()
        .map(|(p, c)| (p.to_string(), c))
        .collect();
        expected.sort();
        assert_eq!(found, expected, "{body:?}");
        let rendered = report.to_string();
        assert!(!rendered.contains("secret"), "{rendered}");
    }
    assert!(RESERVED_HEADERS.contains(&"content-length"));
}
