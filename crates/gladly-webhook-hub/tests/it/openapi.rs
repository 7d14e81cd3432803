//! The OpenAPI document and the router agree: every documented operation
//! is served, every other method on a documented path is 405, every
//! `$ref` resolves, and the subscriptions the API returns fit the vendored
//! `Webhook` schema.

use crate::common;

use common::{TestReceiver, hub, sqlite};
use gladly_webhook_hub::api::openapi_document;
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn the_checked_in_document_reuses_the_vendored_schemas_by_ref() {
    let source: Value = serde_json::from_str(include_str!(
        "../../../../schemas/openapi/gladly-hub-api.json"
    ))
    .unwrap();
    assert_eq!(source["openapi"], "3.1.0");
    assert_eq!(
        source["components"]["schemas"]["Webhook"],
        json!({"$ref": "../gladly-webhook-schema.json"})
    );
    assert_eq!(
        source["components"]["schemas"]["Event"],
        json!({"$ref": "../gladly-webhook-event-schema.json"})
    );

    // Bundled, every reference is internal and resolves.
    let doc = openapi_document();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20);
    for target in found {
        // References inside the bundled schemas too (`#/$defs/...` was
        // left relative to the schema, and resolved for no client).
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {target}"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_no_other() {
    let store = sqlite();
    // One request without credentials per operation: more failed logins
    // than the default throttle lets through at once.
    let hub = common::hub_configured(&store, common::dispatch_options(), |hub| {
        hub.allow_insecure_localhost(true).unwrap().login_throttle(
            gladly_webhook_hub::LoginThrottle::new(100, std::time::Duration::from_secs(1)),
        )
    })
    .await;
    let receiver = TestReceiver::start().await;
    let created = hub.create(&receiver.url, &["TASK_CLOSED"], false).await;
    let id = created["id"].as_str().unwrap();

    let doc = openapi_document();
    let served = hub
        .raw(hub.client.get(format!("{}/api/v1/openapi.json", hub.base)))
        .await;
    assert_eq!(served.json, doc);

    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", id);
        for method in METHODS {
            let documented = item.get(method.to_lowercase()).is_some();
            // A body that cannot change anything: not an object.
            let body = matches!(method, "POST" | "PATCH" | "PUT").then(|| json!([]));
            let is_rotation = path.ends_with("/secret");
            let answer = hub
                .call(method, &concrete, if is_rotation { None } else { body })
                .await;
            if documented {
                assert!(
                    answer.status != 405
                        && !(answer.status == 404 && answer.text.contains("no such route")),
                    "{method} {path} is documented but answered {}: {}",
                    answer.status,
                    answer.text
                );
                let code = answer.status.to_string();
                assert!(
                    doc["paths"][path][method.to_lowercase()]["responses"]
                        .get(&code)
                        .is_some(),
                    "{method} {path} answered {code}, which the document does not list"
                );
                // An unknown query parameter is refused, as documented.
                let unknown = hub
                    .call(
                        method,
                        &format!("{concrete}?limt=5"),
                        if is_rotation {
                            None
                        } else {
                            matches!(method, "POST" | "PATCH").then(|| json!([]))
                        },
                    )
                    .await;
                assert_eq!(
                    unknown.status, 400,
                    "{method} {path}?limt=5: {}",
                    unknown.text
                );
                assert_eq!(unknown.json["error"], "invalid_query");
                // Without credentials: 401, everywhere but the document.
                if !path.ends_with("openapi.json") {
                    let anonymous = hub
                        .raw(
                            hub.client.request(
                                method.parse().unwrap(),
                                format!("{}{concrete}", hub.base),
                            ),
                        )
                        .await;
                    assert_eq!(anonymous.status, 401, "{method} {path} without credentials");
                }
                assert!(
                    doc["paths"][path][method.to_lowercase()]["responses"]
                        .get("400")
                        .is_some()
                );
            } else {
                assert_eq!(
                    answer.status, 405,
                    "{method} {path} is not documented: {}",
                    answer.text
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_the_api_returns_fit_the_vendored_schema() {
    let schema: Value =
        serde_json::from_str(gladly_webhook_core::gladly_schema::webhook::SCHEMA).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let store = sqlite();
    let hub = hub(&store).await;
    let receiver = TestReceiver::start().await;
    let created = hub
        .create(&receiver.url, &["TASK_CLOSED", "CUSTOMER_UPDATED"], true)
        .await;
    let listed = hub.call("GET", "/api/v1/webhooks", None).await.json;
    let one = hub
        .call(
            "GET",
            &format!("/api/v1/webhooks/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await
        .json;
    for webhook in [&created, &listed[0], &one] {
        let errors: Vec<String> = validator
            .iter_errors(webhook)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{webhook}: {errors:?}");
    }
}
