//! `Policy::schema()` against a real JSON Schema validator (the
//! `jsonschema` crate, format assertions on), on a table of edge cases and
//! on generated documents: the verdicts must agree on every document, and
//! wherever `jsonschema` rejects, our report must hold an error at the same
//! JSON pointer.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use gladly_webhook_core::validate::{Policy, validate_str};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn reference() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(gladly_schema::webhook::SCHEMA).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

/// Compares the two validators on `text`: `Ok(verdict)` when they agree
/// (`true` for valid), `Err` describing a disagreement.
fn compare(text: &str) -> Result<bool, String> {
    let ours = validate_str(text, &Policy::schema());
    let strict = validate_str(text, &Policy::strict());
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            return Err(format!(
                "valid JSON that `Value` cannot hold belongs in tests/validate.rs: {}",
                &text[..text.len().min(120)]
            ));
        }
        // Not JSON: jsonschema cannot judge it, and we must reject it.
        return match ours {
            Err(_) => Ok(false),
            Ok(_) => Err(format!("accepted text that is not JSON: {text}")),
        };
    };
    let theirs: BTreeSet<String> = reference()
        .iter_errors(&value)
        .map(|e| e.instance_path().as_str().to_string())
        .collect();
    match (&ours, theirs.is_empty()) {
        (Ok(_), true) => Ok(true),
        (Ok(_), false) => Err(format!(
            "we accept, jsonschema rejects at {theirs:?}: {text}"
        )),
        (Err(report), true) => Err(format!("we reject, jsonschema accepts: {text}\n{report}")),
        (Err(report), false) => {
            let pointers: BTreeSet<&str> =
                report.errors().iter().map(|e| e.pointer.as_str()).collect();
            let missing: Vec<&String> = theirs
                .iter()
                .filter(|p| !pointers.contains(p.as_str()))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "jsonschema rejects at {missing:?}, our report does not: {text}\n{report}"
                ));
            }
            if strict.is_ok() {
                return Err(format!("strict accepts what the schema rejects: {text}"));
            }
            Ok(false)
        }
    }
}

fn valid() -> Map<String, Value> {
    json!({
        "id": "wh_1",
        "url": "https://hooks.example.com/gladly?tenant=acme",
        "events": ["CONVERSATION_CLOSED", "MESSAGE_CREATED"],
        "secret": "whsec_example_0123456789abcdef",
        "active": true,
        "createdAt": "2026-11-26T17:00:00Z",
        "modifiedAt": "2026-11-26T17:05:00Z"
    })
    .as_object()
    .unwrap()
    .clone()
}

const KEYS: [&str; 7] = [
    "id",
    "url",
    "events",
    "secret",
    "active",
    "createdAt",
    "modifiedAt",
];

fn with(key: &str, value: Value) -> String {
    let mut doc = valid();
    doc.insert(key.to_string(), value);
    Value::Object(doc).to_string()
}

fn without(key: &str) -> String {
    let mut doc = valid();
    doc.remove(key);
    Value::Object(doc).to_string()
}

const URIS: &[&str] = &[
    "https://example.com",
    "https://example.com/",
    "http://example.com/a/b?c=d#e",
    "HTTPS://EXAMPLE.COM",
    "https://user:pass@example.com/",
    "https://example.com:8443/x",
    "https://example.com:/x",
    "https://example.com:99999",
    "https://[::1]:8080/",
    "https://[v1.fe]/",
    "https://[::1",
    "https://[zz::1]/",
    "https://127.0.0.1/",
    "https://exa mple.com",
    "https://example.com/a b",
    "https://example.com/%",
    "https://example.com/%zz",
    "https://example.com/%41",
    "https://例子.测试/",
    "https://example.com/ü",
    "mailto:someone@example.com",
    "urn:isbn:0451450523",
    "file:///etc/passwd",
    "https:",
    "https:/x",
    "https://",
    "https:///path",
    "//example.com",
    "/relative/path",
    "relative",
    "",
    " https://example.com",
    "https://example.com ",
    "1https://example.com",
    "ht tp://example.com",
    "h+t-t.p://example.com",
    "https://example.com/?q=a|b",
    "https://example.com/#a#b",
    "https://example.com/{x}",
    "https://example.com\\path",
    "https://ex%41mple.com/",
    "https://@example.com",
    "https://a@b@c/",
    "x:",
    "a:b:c",
    "https://example.com/..//./",
    "https://example.com?",
    "https://example.com#",
    "tel:+1-816-555-1212",
];

const DATE_TIMES: &[&str] = &[
    "2026-11-26T17:00:00Z",
    "2026-11-26t17:00:00z",
    "2026-11-26T17:00:00.123456789Z",
    "2026-11-26T17:00:00.Z",
    "2026-11-26T17:00:00+01:00",
    "2026-11-26T17:00:00-00:00",
    "2026-11-26T17:00:00+0100",
    "2026-11-26T17:00:00+24:00",
    "2026-11-26T17:00:00",
    "2026-11-26T17:00Z",
    "2026-11-26 17:00:00Z",
    "2026-11-26",
    "17:00:00Z",
    "",
    "1998-12-31T23:59:60Z",
    "1998-12-31T15:59:60.123-08:00",
    "1998-12-31T23:59:61Z",
    "1998-12-31T23:58:60Z",
    "1998-12-31T22:59:60Z",
    "2026-11-26T23:59:60Z",
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-13-10T00:00:00Z",
    "2026-11-00T00:00:00Z",
    "2026-11-26T24:00:00Z",
    "2026-11-26T23:60:00Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "+2026-11-26T17:00:00Z",
    "20261126T170000Z",
    "2026-11-26T17:00:00ZZ",
    "2026-11-26T17:00:00z ",
    "２０２６-11-26T17:00:00Z",
    "2026-1-26T17:00:00Z",
    "1900-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
];

fn edge_cases() -> Vec<String> {
    let mut cases = vec![
        Value::Object(valid()).to_string(),
        "{}".into(), "[]".into(), "[{}]".into(), "null".into(), "true".into(), "42".into(), "\"x\"".into(), "".into(), "{".into(),
        r#"{"id":"a","url":"https://h.example","events":[]}"#.into(),
        r#"{"id":"","url":"https://h.example","events":["TASK_CLOSED","TASK_CLOSED"]}"#.into(),
        r#"{"id":"a","url":"https://h.example","events":["TASK_CLOSED"],"extra":{"nested":[1,2,{"x":null}]},"another":7}"#.into(),
        // Repeated keys: the last one wins, for both.
        r#"{"id":1,"id":"a","url":"https://h.example","events":["TASK_CLOSED"]}"#.into(),
        r#"{"id":"a","id":1,"url":"https://h.example","events":["TASK_CLOSED"]}"#.into(),
        r#"{"id":"a","url":"nope","url":"https://h.example","events":["TASK_CLOSED"]}"#.into(),
        // Escaped keys name the same properties.
        r#"{"\u0069d":"a","ur\u006c":"https://h.example","events":["TASK_CLOSED"]}"#.into(),
    ];
    // Nesting up to serde_json's limit of 128, under known and unknown keys
    // (deeper nesting, which `Value` cannot hold, is in `tests/validate.rs`).
    for depth in [124, 125, 126] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        cases.push(format!(
            r#"{{"id":"a","url":"https://h.example","events":["TASK_CLOSED"],"x":{nested}}}"#
        ));
        cases.push(format!(
            r#"{{"id":{nested},"url":"https://h.example","events":["TASK_CLOSED"]}}"#
        ));
    }
    let wrong_types = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1.5),
        json!("s"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"a": 1}),
    ];
    for key in KEYS {
        cases.push(without(key));
        for value in &wrong_types {
            cases.push(with(key, value.clone()));
        }
    }
    for uri in URIS {
        cases.push(with("url", json!(uri)));
    }
    for time in DATE_TIMES {
        cases.push(with("createdAt", json!(time)));
        cases.push(with("modifiedAt", json!(time)));
    }
    for events in [
        json!([]),
        json!(["TASK_CLOSED", "TASK_CLOSED"]),
        json!(["task_closed"]),
        json!(["TASK_CLOSED", 1, null]),
        json!(["TASK_CLOSED", "NOPE", "TASK_CREATED", ""]),
        json!([["TASK_CLOSED"]]),
        json!(["TASK_CLOSED "]),
    ] {
        cases.push(with("events", events));
    }
    cases
}

#[test]
fn agrees_on_the_edge_case_table() {
    let cases = edge_cases();
    let verdicts: Vec<Result<bool, String>> = cases.iter().map(|c| compare(c)).collect();
    let disagreements: Vec<&String> = verdicts.iter().filter_map(|v| v.as_ref().err()).collect();
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    let valid = verdicts.iter().filter(|v| matches!(v, Ok(true))).count();
    eprintln!(
        "edge cases compared: {} ({valid} valid, {} invalid)",
        cases.len(),
        cases.len() - valid
    );
    assert!(
        cases.len() >= 200 && valid >= 40 && cases.len() - valid >= 100,
        "the table exercises both verdicts"
    );
}

#[test]
fn five_independent_problems_in_one_report() {
    let text = r#"{"url": "https://exa mple.com", "events": ["TASK_CLOSED", "NOPE"], "active": "yes", "createdAt": "yesterday"}"#;
    let report = validate_str(text, &Policy::schema()).unwrap_err();
    let found: Vec<(&str, &str)> = report
        .errors()
        .iter()
        .map(|e| (e.pointer.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("", "Required"),
            ("/url", "Format"),
            ("/events/1", "Enum"),
            ("/active", "Type"),
            ("/createdAt", "Format")
        ]
    );
}

// ---- generated documents ----------------------------------------------------

fn uri_like() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(URIS).prop_map(str::to_string),
        "(https?|ftp|[a-z][a-z0-9+.-]{0,4}|1x|)(:)?(//)?([a-z0-9.@:%\\[\\]_~-]{0,12})(/[a-zA-Z0-9 %#?.:@!$&'()*+,;=_~-]{0,8}){0,2}",
    ]
}

fn date_time_like() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(DATE_TIMES).prop_map(str::to_string),
        "(19|20|00|99)[0-9]{2}-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2])[Tt ]([01][0-9]|2[0-4]):([0-5][0-9]|60):([0-5][0-9]|6[01])(\\.[0-9]{0,4})?([Zz]|[+-]([01][0-9]|2[0-4]):[0-6][0-9]|[+-][0-9]{4})?",
    ]
}

fn event_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(gladly_schema::EventType::ALL.to_vec()).prop_map(|e| json!(e.to_string())),
        1 => "[A-Z_]{0,12}".prop_map(Value::String),
        1 => any_json(),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value aimed at `key`: usually of the right kind, sometimes not.
fn value_for(key: &'static str) -> BoxedStrategy<Value> {
    let specific: BoxedStrategy<Value> = match key {
        "url" => uri_like().prop_map(Value::String).boxed(),
        "createdAt" | "modifiedAt" => date_time_like().prop_map(Value::String).boxed(),
        "events" => prop::collection::vec(event_like(), 0..5)
            .prop_map(Value::Array)
            .boxed(),
        "active" => any::<bool>().prop_map(Value::Bool).boxed(),
        _ => "[ -~]{0,20}".prop_map(Value::String).boxed(),
    };
    prop_oneof![4 => specific, 1 => any_json()].boxed()
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove(&'static str),
    Set(&'static str, Value),
    Unknown(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop::sample::select(KEYS.to_vec());
    prop_oneof![
        1 => key.clone().prop_map(Mutation::Remove),
        5 => key.prop_flat_map(|k| value_for(k).prop_map(move |v| Mutation::Set(k, v))),
        1 => ("[a-zA-Z]{1,8}", any_json()).prop_map(|(k, v)| Mutation::Unknown(k, v)),
    ]
}

fn mutated_document() -> impl Strategy<Value = String> {
    prop::collection::vec(mutation(), 1..5).prop_map(|mutations| {
        let mut doc = valid();
        for m in mutations {
            match m {
                Mutation::Remove(k) => {
                    doc.remove(k);
                }
                Mutation::Set(k, v) => {
                    doc.insert(k.to_string(), v);
                }
                Mutation::Unknown(k, v) => {
                    doc.insert(k, v);
                }
            }
        }
        Value::Object(doc).to_string()
    })
}

/// The generator yields both verdicts in fair measure, so agreement on it
/// means something.
#[test]
fn generated_documents_are_a_mix_of_valid_and_invalid() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = mutated_document();
    let total = 2_000;
    let mut valid = 0;
    for _ in 0..total {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        if compare(&text).unwrap() {
            valid += 1;
        }
    }
    eprintln!("generated sample: {valid} of {total} valid");
    assert!(
        valid > total / 10 && valid < total * 9 / 10,
        "{valid} of {total} valid"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_on_generated_documents(text in mutated_document()) {
        if let Err(disagreement) = compare(&text) {
            prop_assert!(false, "{}", disagreement);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn agrees_on_arbitrary_json(value in any_json()) {
        if let Err(disagreement) = compare(&value.to_string()) {
            prop_assert!(false, "{}", disagreement);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = gladly_webhook_core::validate_json(&bytes, &Policy::schema());
        let _ = gladly_webhook_core::validate_json(&bytes, &Policy::strict().allow_insecure_localhost(true));
    }
}
