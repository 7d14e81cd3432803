//! The worked example of `gladly-request-signing.md`, step by step.

use chrono::{TimeZone, Utc};
use gladly_webhook_core::signing::{canonical_request, string_to_sign};
use gladly_webhook_core::{Secret, Signer, Verifier};
use http::HeaderName;

const SECRET: &str = "whsec_example_0123456789abcdef";
const BODY: &str = r#"{"id":"evt_0001","type":"CONVERSATION_CLOSED","timestamp":"2026-11-26T17:00:00Z","initiator":{"id":"agent_42","type":"AGENT"},"content":{"customerId":"cust_7","conversationId":"conv_9"}}"#;
const SIGNED_HEADERS: &str = "content-type;gladly-time;x-request-id";
const CANONICAL: &str = "POST
/hooks/gladly
a=1&b=2&tenant=acme
content-type:application/json
gladly-time:20261126T170005Z
x-request-id:req 77

content-type;gladly-time;x-request-id
6d5a69f180a4124f21b3ade376b5c25502a7c35911d9dbb26f526b0fe0e58f4c";
const STRING_TO_SIGN: &str = "hmac-sha256
20261126T170005Z
0eb8a8d98ed52aeb69085acb0b142b314f221ca5476d3af79d0b7a2ef6ebeb1b";
const SIGNATURE: &str = "934f0ea64664eb0ae15287ce08dceb1b58a9b6b786527cc674980ad3f609a802";

fn request() -> http::Request<Vec<u8>> {
    http::Request::post("/hooks/gladly?tenant=acme&b=2&a=1")
        .header("Content-Type", "application/json")
        .header("X-Request-Id", "  req   77  ")
        .body(BODY.as_bytes().to_vec())
        .unwrap()
}

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap()
}

#[test]
fn step_1_canonical_request() {
    let mut request = request();
    request
        .headers_mut()
        .insert("gladly-time", "20261126T170005Z".parse().unwrap());
    let (parts, body) = request.into_parts();
    let canonical = canonical_request(&parts, SIGNED_HEADERS, &body).unwrap();
    assert_eq!(String::from_utf8(canonical).unwrap(), CANONICAL);
}

#[test]
fn step_2_string_to_sign() {
    assert_eq!(
        string_to_sign("20261126T170005Z", CANONICAL.as_bytes()),
        STRING_TO_SIGN
    );
}

#[test]
fn step_3_and_4_signature() {
    let signer = Signer::new(Secret::new(SECRET))
        .unwrap()
        .sign_header(HeaderName::from_static("x-request-id"))
        .unwrap();
    let mut request = request();
    signer.sign_request_at(&mut request, at()).unwrap();
    assert_eq!(request.headers()["gladly-time"], "20261126T170005Z");
    assert_eq!(
        request.headers()["gladly-authorization"],
        format!(
            "SigningAlgorithm=hmac-sha256, SignedHeaders={SIGNED_HEADERS}, Signature={SIGNATURE}"
        )
        .as_str()
    );
    assert_eq!(request.body(), BODY.as_bytes(), "the body is untouched");
}

#[test]
fn the_example_verifies_as_gladly_would_send_it() {
    let mut request = request();
    let headers = request.headers_mut();
    headers.insert("gladly-time", "20261126T170005Z".parse().unwrap());
    headers.insert(
        "gladly-authorization",
        format!(
            "SigningAlgorithm=hmac-sha256, SignedHeaders={SIGNED_HEADERS}, Signature={SIGNATURE}"
        )
        .parse()
        .unwrap(),
    );
    let verifier = Verifier::new([Secret::new(SECRET)])
        .unwrap()
        .clock(|| at() + chrono::TimeDelta::seconds(3));
    let verified = verifier.verify_request(&request).unwrap();
    assert_eq!(verified.secret_index(), 0);
    assert_eq!(verified.signed_at(), at());
}
