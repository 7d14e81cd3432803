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
    for host in ["localhost", "127.0.0.1", "[::1]", "LOCALHOST"] {
        let url = format!("http://{host}:8080/h");
        assert_eq!(
            codes(&doc(&url), &strict),
            one(ErrorCode::HttpsRequired),
            "{url}"
        );
        assert_eq!(codes(&doc(&url), &local), [], "{url}");
    }
    assert_eq!(
        codes(&doc("http://127.0.0.2/h"), &local),
        one(ErrorCode::HttpsRequired)
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
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
    assert_eq!(code(deep.as_bytes(), &schema), ErrorCode::TooDeep);
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
