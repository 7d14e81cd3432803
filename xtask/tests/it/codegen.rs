//! The generator, end to end: snapshots of its output, schema changes
//! flowing into the types, and `--check` catching stale files.

use std::fs;
use std::path::{Path, PathBuf};

use xtask::codegen::{self, Layout, generate_module, naming_for};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn vendored_schema() -> String {
    fs::read_to_string(workspace_root().join("schemas/gladly-webhook-schema.json")).unwrap()
}

/// Generates the module for a fixture under `tests/fixtures/`.
fn generate_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = fs::read_to_string(&path).unwrap();
    generate_module(&format!("fixtures/{name}"), &text, &naming_for(name)).unwrap()
}

#[test]
fn snapshot_vendored_webhook_schema() {
    let text = vendored_schema();
    let out = generate_module(
        "schemas/gladly-webhook-schema.json",
        &text,
        &naming_for("gladly-webhook-schema.json"),
    )
    .unwrap();
    insta::assert_snapshot!("webhook", out);
}

#[test]
fn snapshot_fixture_enum() {
    insta::assert_snapshot!("enum", generate_fixture("enum.json"));
}

#[test]
fn snapshot_fixture_required_and_optional_fields() {
    insta::assert_snapshot!("fields", generate_fixture("fields.json"));
}

#[test]
fn snapshot_fixture_formats() {
    insta::assert_snapshot!("formats", generate_fixture("formats.json"));
}

#[test]
fn snapshot_fixture_nested_object() {
    insta::assert_snapshot!("nested", generate_fixture("nested.json"));
}

#[test]
fn snapshot_fixture_one_of() {
    insta::assert_snapshot!("one_of", generate_fixture("one_of.json"));
}

#[test]
fn output_is_deterministic() {
    let text = vendored_schema();
    let naming = naming_for("gladly-webhook-schema.json");
    let first = generate_module("schemas/x.json", &text, &naming).unwrap();
    for _ in 0..3 {
        assert_eq!(
            generate_module("schemas/x.json", &text, &naming).unwrap(),
            first
        );
    }
}

#[test]
fn header_names_source_and_hash() {
    let text = vendored_schema();
    let out = generate_module(
        "schemas/gladly-webhook-schema.json",
        &text,
        &naming_for("gladly-webhook-schema.json"),
    )
    .unwrap();
    let first_line = out.lines().next().unwrap();
    assert!(first_line.starts_with("// @generated"));
    assert!(first_line.contains("schemas/gladly-webhook-schema.json"));
    assert!(first_line.contains(&codegen::sha256_hex(&text)));
    assert!(first_line.contains("Do not edit by hand"));
}

/// The proof that a schema change regenerates correctly: an added enum value
/// and an added optional property appear in the output.
#[test]
fn schema_change_flows_into_types() {
    let mut schema: serde_json::Value = serde_json::from_str(&vendored_schema()).unwrap();
    schema["properties"]["events"]["items"]["enum"]
        .as_array_mut()
        .unwrap()
        .push("CONVERSATION_REOPENED".into());
    schema["properties"]["description"] =
        serde_json::json!({"type": "string", "description": "What the subscription is for."});
    let text = serde_json::to_string_pretty(&schema).unwrap();
    let out = generate_module(
        "schemas/gladly-webhook-schema.json",
        &text,
        &naming_for("gladly-webhook-schema.json"),
    )
    .unwrap();

    assert!(
        out.contains("#[serde(rename = \"CONVERSATION_REOPENED\")]\n    ConversationReopened,")
    );
    assert!(out.contains("Self::ConversationReopened => f.write_str(\"CONVERSATION_REOPENED\")"));
    assert!(out.contains("pub const ALL: [Self; 11]"));
    assert!(out.contains("pub description: ::std::option::Option<::std::string::String>,"));
    // Renames and the secret conversion survive the change.
    assert!(out.contains("pub struct Webhook {"));
    assert!(out.contains("pub enum EventType {"));
    assert!(out.contains("pub secret: ::std::option::Option<crate::Secret>,"));
}

#[test]
fn invalid_json_is_an_error_naming_the_reason() {
    let err =
        generate_module("schemas/bad.json", "{\"type\": ", &naming_for("bad.json")).unwrap_err();
    assert!(format!("{err:#}").contains("not valid JSON"), "{err:#}");
}

#[test]
fn schema_typify_cannot_handle_is_an_error_not_a_panic() {
    let text = r##"{"title": "Broken", "type": "object",
        "properties": {"a": {"$ref": "#/$defs/Missing"}}}"##;
    let err = generate_module("schemas/broken.json", text, &naming_for("broken.json")).unwrap_err();
    assert!(
        format!("{err:#}").contains("typify cannot generate types"),
        "{err:#}"
    );
}

#[test]
fn missing_secret_pointer_is_an_error() {
    let text = r#"{"title": "Gladly Webhook", "type": "object", "properties": {}}"#;
    let err = generate_module(
        "schemas/gladly-webhook-schema.json",
        text,
        &naming_for("gladly-webhook-schema.json"),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("/properties/secret"), "{err:#}");
}

/// A workspace in a temporary folder holding the vendored schema.
fn temp_layout() -> (tempfile::TempDir, Layout) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("schemas")).unwrap();
    fs::write(
        dir.path().join("schemas/gladly-webhook-schema.json"),
        vendored_schema(),
    )
    .unwrap();
    let layout = Layout::of_workspace(dir.path());
    (dir, layout)
}

#[test]
fn check_passes_after_write_and_detects_stale_missing_and_orphan_files() {
    let (_dir, layout) = temp_layout();
    let err = codegen::check(&layout).unwrap_err().to_string();
    assert!(err.contains("webhook.rs: missing"), "{err}");

    let written = codegen::write(&layout).unwrap();
    assert_eq!(written.len(), 2);
    codegen::check(&layout).unwrap();
    assert!(
        codegen::write(&layout).unwrap().is_empty(),
        "a second write changes nothing"
    );

    let webhook_rs = layout.generated_dir.join("webhook.rs");
    let original = fs::read_to_string(&webhook_rs).unwrap();
    fs::write(
        &webhook_rs,
        original.replace("pub struct Webhook", "pub struct Hook"),
    )
    .unwrap();
    fs::write(layout.generated_dir.join("old.rs"), "// left over\n").unwrap();
    let err = codegen::check(&layout).unwrap_err().to_string();
    assert!(err.contains("webhook.rs: stale"), "{err}");
    assert!(err.contains("old.rs: generated from no schema"), "{err}");
    assert!(err.contains("run `cargo xtask codegen`"), "{err}");
    assert!(!err.contains("mod.rs"), "{err}");

    codegen::write(&layout).unwrap();
    assert_eq!(fs::read_to_string(&webhook_rs).unwrap(), original);
    assert!(!layout.generated_dir.join("old.rs").exists());
    codegen::check(&layout).unwrap();
}

#[test]
fn schema_change_makes_check_fail_and_revert_restores_bytes() {
    let (dir, layout) = temp_layout();
    codegen::write(&layout).unwrap();
    let webhook_rs = layout.generated_dir.join("webhook.rs");
    let original = fs::read(&webhook_rs).unwrap();

    let schema_path = dir.path().join("schemas/gladly-webhook-schema.json");
    let schema = vendored_schema();
    let changed = schema.replace(
        "\"AGENT_STATE_CHANGED\"\n",
        "\"AGENT_STATE_CHANGED\",\n          \"CONVERSATION_REOPENED\"\n",
    );
    assert_ne!(changed, schema);
    fs::write(&schema_path, &changed).unwrap();
    let err = codegen::check(&layout).unwrap_err().to_string();
    assert!(err.contains("webhook.rs: stale"), "{err}");

    codegen::write(&layout).unwrap();
    assert!(
        fs::read_to_string(&webhook_rs)
            .unwrap()
            .contains("ConversationReopened")
    );

    fs::write(&schema_path, &schema).unwrap();
    codegen::write(&layout).unwrap();
    assert_eq!(fs::read(&webhook_rs).unwrap(), original);
}

#[test]
fn a_bad_schema_writes_nothing() {
    let (dir, layout) = temp_layout();
    fs::write(dir.path().join("schemas/zz-broken.json"), "{ not json").unwrap();
    let err = codegen::write(&layout).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("schemas/zz-broken.json"), "{msg}");
    assert!(msg.contains("not valid JSON"), "{msg}");
    assert!(!layout.generated_dir.exists(), "nothing was written");
}

#[test]
fn the_checked_in_output_is_current() {
    codegen::check(&Layout::of_workspace(&workspace_root())).unwrap();
}

/// A checkout that turned LF into CRLF (in the schemas or the generated
/// files) is not stale, and generates the same bytes.
#[test]
fn crlf_checkouts_are_not_stale() {
    let (dir, layout) = temp_layout();
    codegen::write(&layout).unwrap();
    let webhook_rs = layout.generated_dir.join("webhook.rs");
    let lf = fs::read_to_string(&webhook_rs).unwrap();
    for path in [
        webhook_rs.clone(),
        layout.generated_dir.join("mod.rs"),
        dir.path().join("schemas/gladly-webhook-schema.json"),
    ] {
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    }
    codegen::check(&layout).unwrap();
    let regenerated = codegen::generate_all(&layout).unwrap();
    let webhook = regenerated.iter().find(|f| f.name == "webhook.rs").unwrap();
    assert_eq!(webhook.contents, lf);
}

/// Each generated file says "do not edit" once, in its header, and the
/// only hash a header carries is its own schema's.
#[test]
fn headers_are_true_and_say_do_not_edit_once() {
    let (_dir, layout) = temp_layout();
    for file in codegen::generate_all(&layout).unwrap() {
        assert_eq!(
            file.contents.matches("Do not edit").count(),
            1,
            "{}",
            file.name
        );
        assert_eq!(
            file.contents.to_lowercase().matches("do not edit").count(),
            1,
            "{}",
            file.name
        );
        let header = file.contents.lines().next().unwrap();
        if file.name == "mod.rs" {
            assert!(!header.contains("sha256"), "{header}");
        } else {
            assert!(
                header.contains(&codegen::sha256_hex(&vendored_schema())),
                "{header}"
            );
        }
    }
}

/// The tagged event enum gets its envelope accessors from the generator.
#[test]
fn tagged_enums_get_accessors_and_every_enum_is_non_exhaustive() {
    let text =
        fs::read_to_string(workspace_root().join("schemas/gladly-webhook-event-schema.json"))
            .unwrap();
    let out = generate_module(
        "schemas/gladly-webhook-event-schema.json",
        &text,
        &naming_for("gladly-webhook-event-schema.json"),
    )
    .unwrap();
    assert!(out.contains("pub fn event_type(&self) -> &'static str"));
    assert!(out.contains("Self::Ping { .. } => \"PING\","));
    assert!(out.contains("pub fn id(&self) -> ::std::option::Option<&str>"));
    assert!(out.contains("Self::Ping { id, .. } => id.as_deref(),"));
    assert!(out.contains("pub fn initiator(&self) -> ::std::option::Option<&Initiator>"));
    let enums = out.matches("pub enum ").count();
    assert!(enums >= 5);
    assert_eq!(out.matches("#[non_exhaustive]\npub enum ").count(), enums);
}

fn generate_vendored(file: &str) -> String {
    let text = fs::read_to_string(workspace_root().join("schemas").join(file)).unwrap();
    generate_module(&format!("schemas/{file}"), &text, &naming_for(file)).unwrap()
}

/// Gladly's REST API 1.0 webhook resource, whole: write-only credentials
/// and header values are secrets, the 52 names one enum.
#[test]
fn snapshot_vendored_rest_webhook_schema() {
    let out = generate_vendored("gladly-rest-api-v1-webhook-schema.json");
    assert!(out.contains("pub password: crate::Secret,"));
    assert!(out.contains("::std::collections::HashMap<::std::string::String, crate::Secret>"));
    insta::assert_snapshot!("rest_webhook", out);
}

/// Gladly's REST API 1.0 events: the module is 7,000 lines, so the
/// snapshot is its surface (every type, every content impl and its
/// variant's tag, every accessor), which is what a schema change
/// moves and a reviewer reads.
#[test]
fn snapshot_vendored_rest_event_surface() {
    let out = generate_vendored("gladly-rest-api-v1-event-schema.json");
    let surface: Vec<&str> = out
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            line.starts_with("pub enum ")
                || line.starts_with("pub struct ")
                || line.starts_with("impl crate::EventContent for ")
                || line.starts_with("const TAG: ")
                || line.starts_with("pub fn ")
        })
        .collect();
    // Both event modules implement the crate's one content trait rather
    // than declaring their own.
    assert!(!out.contains("pub trait EventContent"));
    assert_eq!(out.matches("impl crate::EventContent for ").count(), 52);
    insta::assert_snapshot!("rest_event_surface", surface.join("\n"));
}
