//! Checking Standard Webhooks deliveries with the official Python package
//! (`standardwebhooks`, v1) and `cryptography` (ed25519, v1a): libraries we
//! did not write. `.ci/python-standardwebhooks` makes the environment and
//! names its interpreter in [`PYTHON_VARIABLE`].

use std::io::Write;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The variable naming the Python interpreter that has the packages.
pub const PYTHON_VARIABLE: &str = "GLADLY_TEST_PYTHON";

/// The verifying script.
const SCRIPT: &str = include_str!("python/verify_standard_webhooks.py");

/// One delivery as a consumer saw it, with what should verify it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The `whsec_` secret the consumer holds.
    pub secret: String,
    /// The `whpk_` public keys whose `v1a` entry must verify.
    pub public_keys: Vec<String>,
    /// The request's headers.
    pub headers: Vec<(String, String)>,
    /// The body, as received.
    pub body: Vec<u8>,
}

/// Verifies `deliveries` with the Python packages: `Some(Ok(report))`,
/// `Some(Err(failures))`, or `None` (with a note on standard error) when no
/// interpreter is named.
///
/// # Panics
///
/// When `CI` is set and [`PYTHON_VARIABLE`] is not: the check must run.
pub fn verify_with_python(deliveries: &[Captured]) -> Option<Result<String, String>> {
    let python = match std::env::var(PYTHON_VARIABLE) {
        Ok(python) if !python.is_empty() => python,
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but {PYTHON_VARIABLE} is not: the Standard Webhooks deliveries would go unchecked by the official package"
        ),
        _ => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "skipped: the official Python Standard Webhooks check of {}: {PYTHON_VARIABLE} is not set \
                 (eval \"$(.ci/python-standardwebhooks)\" makes the environment)",
                std::thread::current().name().unwrap_or("(a test)")
            );
            return None;
        }
    };
    let dir = tempfile::tempdir().ok()?;
    let script = dir.path().join("verify_standard_webhooks.py");
    let input = dir.path().join("deliveries.json");
    let deliveries: Vec<serde_json::Value> = deliveries
        .iter()
        .map(|d| {
            let headers: serde_json::Map<String, serde_json::Value> = d
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                .collect();
            serde_json::json!({
                "secret": d.secret, "public_keys": d.public_keys,
                "headers": headers, "body_b64": STANDARD.encode(&d.body),
            })
        })
        .collect();
    let written = std::fs::write(&script, SCRIPT).and_then(|()| {
        std::fs::write(
            &input,
            serde_json::json!({ "deliveries": deliveries }).to_string(),
        )
    });
    if let Err(err) = written {
        return Some(Err(format!("cannot write the check's files: {err}")));
    }
    let output = match Command::new(&python).arg(&script).arg(&input).output() {
        Ok(output) => output,
        Err(err) => return Some(Err(format!("cannot run {python}: {err}"))),
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(if output.status.success() {
        Ok(said)
    } else {
        Err(said)
    })
}
