//! Signing and verification: rotation, tolerance, malformed headers, and
//! properties over arbitrary requests.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gladly_webhook_core::signing::{AuthorizationError, KeyError, SignError};
use gladly_webhook_core::{Signer, Verifier, VerifyError};
use http::request::Parts;
use http::{HeaderName, HeaderValue};
use proptest::prelude::*;

const SECRET: &str = "whsec_test_0123456789abcdef";
const SIG: &str = "934f0ea64664eb0ae15287ce08dceb1b58a9b6b786527cc674980ad3f609a802";

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 5).unwrap()
}

fn signed(secret: &str, body: &[u8]) -> (Parts, Vec<u8>) {
    let (mut parts, ()) = http::Request::post("/hooks/gladly?x=1")
        .header("content-type", "application/json")
        .body(())
        .unwrap()
        .into_parts();
    Signer::new(secret)
        .unwrap()
        .sign_parts_at(&mut parts, body, at())
        .unwrap();
    (parts, body.to_vec())
}

fn verifier(secrets: &[&str]) -> Verifier {
    Verifier::new(secrets.iter().copied()).unwrap().clock(at)
}

#[test]
fn rotation_old_signature_verifies_with_new_and_old_only() {
    let (parts, body) = signed("old-secret-0123456789", b"{}");
    let both = verifier(&["new-secret-0123456789", "old-secret-0123456789"]);
    assert_eq!(both.verify(&parts, &body).unwrap().secret_index(), 1);
    let new_only = verifier(&["new-secret-0123456789"]);
    assert_eq!(
        new_only.verify(&parts, &body),
        Err(VerifyError::SignatureMismatch)
    );

    let (parts, body) = signed("new-secret-0123456789", b"{}");
    assert_eq!(both.verify(&parts, &body).unwrap().secret_index(), 0);
}

#[test]
fn key_errors() {
    assert_eq!(
        Verifier::new(Vec::<&str>::new()).unwrap_err(),
        KeyError::NoSecrets
    );
    assert_eq!(
        Verifier::new(["ok-secret", ""]).unwrap_err(),
        KeyError::EmptySecret { index: 1 }
    );
    assert_eq!(
        Signer::new("").unwrap_err(),
        KeyError::EmptySecret { index: 0 }
    );
}

#[test]
fn tolerance_edges_in_both_directions() {
    let (parts, body) = signed(SECRET, b"body");
    let tolerance = std::time::Duration::from_secs(300);
    let check = |offset: i64| {
        Verifier::new([SECRET])
            .unwrap()
            .tolerance(tolerance)
            .clock(move || at() + TimeDelta::seconds(offset))
            .verify(&parts, &body)
    };
    assert!(
        check(300).is_ok(),
        "exactly at the edge, request in the past"
    );
    assert!(
        check(-300).is_ok(),
        "exactly at the edge, request in the future"
    );
    assert_eq!(
        check(301),
        Err(VerifyError::TimeOutsideTolerance {
            skew: TimeDelta::seconds(301),
            tolerance: TimeDelta::seconds(300)
        })
    );
    assert_eq!(
        check(-301),
        Err(VerifyError::TimeOutsideTolerance {
            skew: TimeDelta::seconds(-301),
            tolerance: TimeDelta::seconds(300)
        })
    );
    assert_eq!(
        check(-301).unwrap_err().to_string(),
        "`Gladly-Time` is 301 s ahead of the verifier's clock, beyond the tolerance of 300 s"
    );
    // A fraction of a second past the edge says so, rather than "300s
    // beyond 300s".
    let (parts, body) = signed(SECRET, b"");
    let late = at() + TimeDelta::milliseconds(300_999);
    let err = Verifier::new([SECRET])
        .unwrap()
        .clock(move || late)
        .verify(&parts, &body)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`Gladly-Time` is 300.999 s behind the verifier's clock, beyond the tolerance of 300 s"
    );
}

#[test]
fn default_tolerance_is_five_minutes() {
    let (parts, body) = signed(SECRET, b"");
    let v = |offset| {
        Verifier::new([SECRET])
            .unwrap()
            .clock(move || at() + TimeDelta::seconds(offset))
    };
    assert!(v(300).verify(&parts, &body).is_ok());
    assert!(v(301).verify(&parts, &body).is_err());
}

/// Replaces the request's `Gladly-Authorization` with `value`.
fn with_authorization(value: &[u8]) -> Parts {
    let (mut parts, _) = signed(SECRET, b"{}");
    parts.headers.insert(
        "gladly-authorization",
        HeaderValue::from_bytes(value).unwrap(),
    );
    parts
}

fn malformed(err: AuthorizationError) -> Result<(), VerifyError> {
    Err(VerifyError::MalformedAuthorization(err))
}

#[test]
fn malformed_authorization_headers() {
    let good = format!(
        "SigningAlgorithm=hmac-sha256, SignedHeaders=content-type;gladly-time, Signature={SIG}"
    );
    let sig_param = format!("Signature={SIG}");
    let cases: Vec<(String, Result<(), VerifyError>)> = vec![
        ("".into(), malformed(AuthorizationError::Empty)),
        ("   ".into(), malformed(AuthorizationError::Empty)),
        (
            format!("{good},"),
            malformed(AuthorizationError::EmptyParameter { position: 4 }),
        ),
        (
            format!("{good}, garbage"),
            malformed(AuthorizationError::NotNameValue { position: 4 }),
        ),
        (
            "SigningAlgorithm=hmac-sha256".into(),
            malformed(AuthorizationError::MissingParameter {
                name: "SignedHeaders",
            }),
        ),
        (
            "SigningAlgorithm=hmac-sha256, SignedHeaders=gladly-time".into(),
            malformed(AuthorizationError::MissingParameter { name: "Signature" }),
        ),
        (
            format!("SignedHeaders=gladly-time, {sig_param}"),
            malformed(AuthorizationError::MissingParameter {
                name: "SigningAlgorithm",
            }),
        ),
        (
            format!("{good}, Signature={SIG}"),
            malformed(AuthorizationError::DuplicateParameter { name: "Signature" }),
        ),
        (
            format!("{good}, signedheaders=gladly-time"),
            malformed(AuthorizationError::DuplicateParameter {
                name: "SignedHeaders",
            }),
        ),
        (
            format!("{good}, Extra=1"),
            malformed(AuthorizationError::UnknownParameter {
                name: "Extra".into(),
            }),
        ),
        (
            format!("SigningAlgorithm=hmac-sha1, SignedHeaders=gladly-time, {sig_param}"),
            Err(VerifyError::UnsupportedAlgorithm {
                algorithm: "hmac-sha1".into(),
            }),
        ),
        (
            format!("SigningAlgorithm=, SignedHeaders=gladly-time, {sig_param}"),
            Err(VerifyError::UnsupportedAlgorithm {
                algorithm: "".into(),
            }),
        ),
        (
            format!("SigningAlgorithm=hmac-sha256, SignedHeaders=, {sig_param}"),
            malformed(AuthorizationError::BadSignedHeaders {
                reason: "it is empty".into(),
            }),
        ),
        (
            format!(
                "SigningAlgorithm=hmac-sha256, SignedHeaders=gladly-time;;content-type, {sig_param}"
            ),
            malformed(AuthorizationError::BadSignedHeaders {
                reason: "name #2 is empty".into(),
            }),
        ),
        (
            format!("SigningAlgorithm=hmac-sha256, SignedHeaders=Gladly-Time, {sig_param}"),
            malformed(AuthorizationError::BadSignedHeaders {
                reason: "`Gladly-Time` is not a lowercase header name".into(),
            }),
        ),
        (
            format!(
                "SigningAlgorithm=hmac-sha256, SignedHeaders=gladly-time;gladly-time, {sig_param}"
            ),
            malformed(AuthorizationError::BadSignedHeaders {
                reason: "`gladly-time` is listed twice".into(),
            }),
        ),
        (
            format!("SigningAlgorithm=hmac-sha256, SignedHeaders=content-type, {sig_param}"),
            Err(VerifyError::TimeNotSigned),
        ),
        (
            good.replace(SIG, &SIG.to_uppercase()),
            malformed(AuthorizationError::BadSignature {
                reason: "it contains `F`".into(),
            }),
        ),
        (
            good.replace(SIG, &SIG.replace('a', "g")),
            malformed(AuthorizationError::BadSignature {
                reason: "it contains `g`".into(),
            }),
        ),
        (
            good.replace(SIG, &SIG[..63]),
            malformed(AuthorizationError::BadSignature {
                reason: "it has 63 characters".into(),
            }),
        ),
        (
            good.replace(SIG, &format!("{SIG}0")),
            malformed(AuthorizationError::BadSignature {
                reason: "it has 65 characters".into(),
            }),
        ),
        (
            good.replace(SIG, ""),
            malformed(AuthorizationError::BadSignature {
                reason: "it has 0 characters".into(),
            }),
        ),
        (good.clone(), Err(VerifyError::SignatureMismatch)),
        (good.replace(", ", ","), Err(VerifyError::SignatureMismatch)),
        (
            good.replace(", ", " ,\t "),
            Err(VerifyError::SignatureMismatch),
        ),
        (
            good.replace("=", " = "),
            Err(VerifyError::SignatureMismatch),
        ),
    ];
    let verifier = verifier(&[SECRET]);
    for (value, expected) in cases {
        let parts = with_authorization(value.as_bytes());
        let got = verifier.verify(&parts, b"{}").map(|_| ());
        assert_eq!(got, expected, "header value {value:?}");
    }
}

#[test]
fn authorization_with_non_ascii_bytes_is_malformed_not_a_panic() {
    let parts = with_authorization(b"SigningAlgorithm=hmac-sha256\xff");
    assert_eq!(
        verifier(&[SECRET]).verify(&parts, b"{}").map(|_| ()),
        malformed(AuthorizationError::NotAscii)
    );
}

#[test]
fn parameters_in_any_order_verify() {
    let (mut parts, body) = signed(SECRET, b"{}");
    let value = parts.headers["gladly-authorization"]
        .to_str()
        .unwrap()
        .to_string();
    let params: Vec<&str> = value.split(", ").collect();
    let reordered = format!("{}, {}, {}", params[2], params[0], params[1]);
    parts
        .headers
        .insert("gladly-authorization", reordered.parse().unwrap());
    assert!(verifier(&[SECRET]).verify(&parts, &body).is_ok());
}

#[test]
fn missing_repeated_and_malformed_headers() {
    let v = verifier(&[SECRET]);
    let (parts, body) = signed(SECRET, b"{}");

    let mut p = parts.clone();
    p.headers.remove("gladly-authorization");
    assert_eq!(
        v.verify(&p, &body),
        Err(VerifyError::MissingHeader {
            header: "Gladly-Authorization"
        })
    );

    let mut p = parts.clone();
    let auth = p.headers["gladly-authorization"].clone();
    p.headers.append("gladly-authorization", auth);
    assert_eq!(
        v.verify(&p, &body).map(|_| ()),
        malformed(AuthorizationError::Repeated)
    );

    let mut p = parts.clone();
    p.headers.remove("gladly-time");
    assert_eq!(
        v.verify(&p, &body),
        Err(VerifyError::MissingHeader {
            header: "Gladly-Time"
        })
    );

    let mut p = parts.clone();
    p.headers
        .append("gladly-time", HeaderValue::from_static("20261126T170005Z"));
    assert_eq!(
        v.verify(&p, &body),
        Err(VerifyError::SignedHeaderRepeated {
            header: "gladly-time".into()
        })
    );

    for bad in [
        "2026-11-26T17:00:05Z",
        "20261126T170005",
        "20261126t170005z",
        "20261131T170005Z",
        "20261126T240000Z",
        "20261126T235960Z",
        "",
    ] {
        let mut p = parts.clone();
        p.headers
            .insert("gladly-time", HeaderValue::from_str(bad).unwrap());
        assert_eq!(
            v.verify(&p, &body),
            Err(VerifyError::MalformedTime { value: bad.into() }),
            "{bad}"
        );
    }
    let mut p = parts.clone();
    p.headers.insert(
        "gladly-time",
        HeaderValue::from_bytes(b"2026\xff1126T170005Z").unwrap(),
    );
    assert!(matches!(
        v.verify(&p, &body),
        Err(VerifyError::MalformedTime { .. })
    ));

    let mut p = parts.clone();
    p.headers.remove("content-type");
    assert_eq!(
        v.verify(&p, &body),
        Err(VerifyError::SignedHeaderMissing {
            header: "content-type".into()
        })
    );

    let mut p = parts.clone();
    p.headers
        .append("content-type", HeaderValue::from_static("text/plain"));
    assert_eq!(
        v.verify(&p, &body),
        Err(VerifyError::SignedHeaderRepeated {
            header: "content-type".into()
        })
    );
}

#[test]
fn signer_refuses_absent_or_repeated_headers_and_leaves_the_request_alone() {
    let signer = Signer::new(SECRET)
        .unwrap()
        .sign_header(HeaderName::from_static("x-request-id"))
        .unwrap();
    let (mut parts, ()) = http::Request::post("/h").body(()).unwrap().into_parts();
    let before = parts.headers.clone();
    assert_eq!(
        signer.sign_parts_at(&mut parts, b"", at()),
        Err(SignError::MissingHeader {
            header: "x-request-id".into()
        })
    );
    assert_eq!(parts.headers, before);

    parts
        .headers
        .append("x-request-id", HeaderValue::from_static("a"));
    parts
        .headers
        .append("x-request-id", HeaderValue::from_static("b"));
    assert_eq!(
        signer.sign_parts_at(&mut parts, b"", at()),
        Err(SignError::RepeatedHeader {
            header: "x-request-id".into()
        })
    );

    let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
    let (mut parts, ()) = http::Request::post("/h").body(()).unwrap().into_parts();
    assert!(matches!(
        Signer::new(SECRET)
            .unwrap()
            .sign_parts_at(&mut parts, b"", far),
        Err(SignError::TimeOutOfRange { .. })
    ));
}

#[test]
fn signing_twice_replaces_the_headers() {
    let signer = Signer::new(SECRET).unwrap();
    let (mut parts, ()) = http::Request::post("/h").body(()).unwrap().into_parts();
    signer.sign_parts_at(&mut parts, b"a", at()).unwrap();
    signer.sign_parts_at(&mut parts, b"b", at()).unwrap();
    assert_eq!(parts.headers.get_all("gladly-time").iter().count(), 1);
    assert_eq!(
        parts.headers.get_all("gladly-authorization").iter().count(),
        1
    );
    assert!(verifier(&[SECRET]).verify(&parts, b"b").is_ok());
}

#[test]
fn non_ascii_header_values_sign_and_verify() {
    let signer = Signer::new(SECRET)
        .unwrap()
        .sign_header(HeaderName::from_static("x-name"))
        .unwrap();
    let (mut parts, ()) = http::Request::post("/h").body(()).unwrap().into_parts();
    parts.headers.insert(
        "x-name",
        HeaderValue::from_bytes(b"caf\xc3\xa9 \xff\tx").unwrap(),
    );
    signer.sign_parts_at(&mut parts, b"", at()).unwrap();
    assert!(verifier(&[SECRET]).verify(&parts, b"").is_ok());
    parts.headers.insert(
        "x-name",
        HeaderValue::from_bytes(b"caf\xc3\xa9 \xfe\tx").unwrap(),
    );
    assert_eq!(
        verifier(&[SECRET]).verify(&parts, b""),
        Err(VerifyError::SignatureMismatch)
    );
}

#[test]
fn debug_and_errors_never_show_secrets() {
    let signer = Signer::new(SECRET).unwrap();
    let verifier = verifier(&[SECRET, "another-secret-value"]);
    for text in [format!("{signer:?}"), format!("{verifier:?}")] {
        assert!(
            !text.contains("whsec") && !text.contains("another"),
            "{text}"
        );
    }
}

// ---- properties -------------------------------------------------------------

/// A request to sign: method, path, query, extra signed headers, an unsigned
/// header, and the body.
#[derive(Debug, Clone)]
struct Case {
    method: http::Method,
    path: String,
    query: Option<String>,
    signed: Vec<(String, String)>,
    body: Vec<u8>,
}

fn header_value() -> impl Strategy<Value = String> {
    "[ -~]{0,24}".prop_filter("not blank after trimming", |v| !v.trim().is_empty())
}

fn case(max_body: usize) -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![
            http::Method::POST,
            http::Method::PUT,
            http::Method::GET,
            http::Method::PATCH,
        ]),
        "(/[a-zA-Z0-9._~-]{0,8}){1,4}",
        prop::option::of("[a-z0-9]{1,4}=[a-zA-Z0-9%]{0,6}(&[a-z0-9]{1,4}=[a-zA-Z0-9%]{0,6}){0,4}"),
        prop::collection::btree_map("x-[a-z]{1,8}", header_value(), 0..5),
        prop::collection::vec(any::<u8>(), 0..=max_body),
    )
        .prop_map(|(method, path, query, signed, body)| Case {
            method,
            path,
            query,
            signed: signed.into_iter().collect(),
            body,
        })
}

fn sign_case(case: &Case) -> (Parts, Signer) {
    let uri = match &case.query {
        Some(q) => format!("{}?{q}", case.path),
        None => case.path.clone(),
    };
    let mut builder = http::Request::builder()
        .method(case.method.clone())
        .uri(uri)
        .header("content-type", "application/json")
        .header("user-agent", "unsigned/1.0");
    for (name, value) in &case.signed {
        builder = builder.header(name, value);
    }
    let (mut parts, ()) = builder.body(()).unwrap().into_parts();
    let mut signer = Signer::new(SECRET).unwrap();
    for (name, _) in &case.signed {
        signer = signer
            .sign_header(HeaderName::try_from(name.as_str()).unwrap())
            .unwrap();
    }
    signer.sign_parts_at(&mut parts, &case.body, at()).unwrap();
    (parts, signer)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_and_tamper(case in case(4096), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (parts, _) = sign_case(&case);
        let v = verifier(&[SECRET]);
        prop_assert!(v.verify(&parts, &case.body).is_ok());

        // Flipping any bit of the body breaks it.
        if !case.body.is_empty() {
            let mut body = case.body.clone();
            let i = flip.index(body.len());
            body[i] ^= 1 << bit;
            prop_assert_eq!(v.verify(&parts, &body), Err(VerifyError::SignatureMismatch));
        }
        // So does another method.
        let mut p = parts.clone();
        p.method = if case.method == http::Method::DELETE { http::Method::POST } else { http::Method::DELETE };
        prop_assert_eq!(v.verify(&p, &case.body), Err(VerifyError::SignatureMismatch));
        // Another path.
        let mut p = parts.clone();
        let uri = format!("{}/x{}", case.path, case.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default());
        p.uri = uri.parse().unwrap();
        prop_assert_eq!(v.verify(&p, &case.body), Err(VerifyError::SignatureMismatch));
        // Another query.
        let mut p = parts.clone();
        let query = match &case.query { Some(q) => format!("{q}&zz=1"), None => "zz=1".to_string() };
        p.uri = format!("{}?{query}", case.path).parse().unwrap();
        prop_assert_eq!(v.verify(&p, &case.body), Err(VerifyError::SignatureMismatch));
        // Any signed header's value.
        for (name, value) in case.signed.iter().map(|(n, v)| (n.as_str(), v.as_str())).chain([("content-type", "application/json")]) {
            let mut p = parts.clone();
            p.headers.insert(HeaderName::try_from(name).unwrap(), HeaderValue::from_str(&format!("{value}!")).unwrap());
            prop_assert_eq!(v.verify(&p, &case.body), Err(VerifyError::SignatureMismatch));
        }
        // But not an unsigned header.
        let mut p = parts.clone();
        p.headers.insert("user-agent", HeaderValue::from_static("changed/2.0"));
        prop_assert!(v.verify(&p, &case.body).is_ok());
    }

    #[test]
    fn query_order_and_header_whitespace_do_not_matter(case in case(64), pad in "[ \t]{0,3}") {
        let (parts, _) = sign_case(&case);
        let v = verifier(&[SECRET]);
        let mut p = parts.clone();
        if let Some(q) = &case.query {
            let mut pairs: Vec<&str> = q.split('&').collect();
            pairs.reverse();
            p.uri = format!("{}?{}", case.path, pairs.join("&")).parse().unwrap();
        }
        for (name, value) in &case.signed {
            let spaced = format!("{pad}{}{pad}", value.trim().replace(' ', "  "));
            p.headers.insert(HeaderName::try_from(name.as_str()).unwrap(), HeaderValue::from_str(&spaced).unwrap());
        }
        prop_assert!(v.verify(&p, &case.body).is_ok());
    }

    #[test]
    fn arbitrary_authorization_bytes_never_panic(value in prop::collection::vec(any::<u8>(), 0..200), time in "[0-9TZ]{0,20}") {
        let (mut parts, _) = signed(SECRET, b"{}");
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            parts.headers.insert("gladly-authorization", value);
        }
        if let Ok(time) = HeaderValue::from_str(&time) {
            parts.headers.insert("gladly-time", time);
        }
        let _ = verifier(&[SECRET]).verify(&parts, b"{}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Bodies up to 1 MiB: hashed once, verified, and one flipped bit fails.
    #[test]
    fn large_bodies_sign_and_verify(len in 0usize..=(1 << 20), seed in any::<u8>(), flip in any::<prop::sample::Index>()) {
        let body: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let (parts, body) = signed(SECRET, &body);
        let v = verifier(&[SECRET]);
        prop_assert!(v.verify(&parts, &body).is_ok());
        if !body.is_empty() {
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 0x80;
            prop_assert_eq!(v.verify(&parts, &tampered), Err(VerifyError::SignatureMismatch));
        }
    }
}

/// Defect: a signer configured with more headers than a verifier accepts
/// signed a prefix of them while listing them all, and said Ok.
#[test]
fn signer_refuses_more_headers_than_a_verifier_accepts() {
    use gladly_webhook_core::SignError;
    use gladly_webhook_core::signing::MAX_SIGNED_HEADERS;

    let mut signer = Signer::new(SECRET).unwrap();
    let mut request = http::Request::post("/hooks").header("content-type", "application/json");
    // gladly-time and content-type are always signed: 62 more fit.
    for i in 0..MAX_SIGNED_HEADERS - 2 {
        let name = format!("x-h{i:02}");
        request = request.header(name.as_str(), "v");
        signer = signer
            .sign_header(HeaderName::try_from(name).unwrap())
            .unwrap();
    }
    let refused = signer.sign_header(HeaderName::from_static("x-one-too-many"));
    assert_eq!(
        refused.unwrap_err(),
        SignError::TooManyHeaders { count: 65, max: 64 }
    );

    // The signer at the limit signs what the verifier accepts.
    let mut signer = Signer::new(SECRET).unwrap();
    for i in 0..MAX_SIGNED_HEADERS - 2 {
        signer = signer
            .sign_header(HeaderName::try_from(format!("x-h{i:02}")).unwrap())
            .unwrap();
    }
    let mut request = request.body(b"{}".to_vec()).unwrap();
    signer.sign_request_at(&mut request, at()).unwrap();
    let verified = Verifier::new([SECRET])
        .unwrap()
        .clock(at)
        .verify_request(&request);
    assert!(verified.is_ok(), "{verified:?}");
}

/// Defect: signing `gladly-authorization` signed its old value, which the
/// signature then replaced: no verifier could accept it.
#[test]
fn signer_refuses_to_sign_the_authorization_header() {
    use gladly_webhook_core::SignError;

    let refused = Signer::new(SECRET)
        .unwrap()
        .sign_header(HeaderName::from_static("gladly-authorization"));
    assert_eq!(
        refused.unwrap_err(),
        SignError::UnsignableHeader {
            header: "gladly-authorization".to_string()
        }
    );
    // gladly-time and content-type are signed anyway: naming them is fine.
    let signer = Signer::new(SECRET)
        .unwrap()
        .sign_header(HeaderName::from_static("gladly-time"))
        .unwrap()
        .sign_header(HeaderName::from_static("content-type"))
        .unwrap();
    let (mut parts, ()) = http::Request::post("/h").body(()).unwrap().into_parts();
    signer.sign_parts_at(&mut parts, b"", at()).unwrap();
    assert!(
        Verifier::new([SECRET])
            .unwrap()
            .clock(at)
            .verify(&parts, b"")
            .is_ok()
    );
}

/// Issue 32: the key is the signer's choice. Gladly's own signing example
/// keys its HMAC with `test-apikey-1` (13 bytes); what it signs verifies
/// (only an empty key is refused, by both sides).
#[test]
fn a_short_key_chosen_by_the_signer_signs_and_verifies() {
    let at = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 26, 17, 0, 5).unwrap();
    let mut request = http::Request::post("/lookup")
        .header("content-type", "application/json")
        .body(br#"{"query":{"emails":["a@example.com"]}}"#.to_vec())
        .unwrap();
    gladly_webhook_core::Signer::new("test-apikey-1")
        .unwrap()
        .sign_request_at(&mut request, at)
        .unwrap();
    let verifier = gladly_webhook_core::Verifier::new(["test-apikey-1"])
        .unwrap()
        .clock(move || at);
    assert_eq!(verifier.verify_request(&request).unwrap().secret_index(), 0);
    assert!(gladly_webhook_core::Verifier::new([""]).is_err());
    assert!(gladly_webhook_core::Signer::new("").is_err());
}
