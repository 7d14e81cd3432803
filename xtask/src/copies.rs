//! Files a published crate needs from outside its folder, copied into it.
//!
//! `cargo package` ships a crate's own folder only, so a crate cannot
//! `include_str!` a file of the workspace. The originals stay where they
//! are the source of truth (`schemas/`, `examples/`); `cargo xtask codegen`
//! copies each into the crate that embeds it, and `--check` fails when a
//! copy differs from its original.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What our user's model's example events are called in `examples/events/`.
const EXAMPLE_EVENTS: &[&str] = &[
    "agent-state-changed.json",
    "conversation-closed.json",
    "conversation-created.json",
    "conversation-updated.json",
    "customer-created.json",
    "customer-updated.json",
    "message-created.json",
    "ping.json",
    "task-closed.json",
    "task-created.json",
    "task-updated.json",
];

/// Every copy: (original, copy), relative to the workspace root.
pub fn copies() -> Vec<(PathBuf, PathBuf)> {
    let mut copies = vec![
        (
            PathBuf::from("schemas/openapi/gladly-hub-api.json"),
            PathBuf::from("crates/gladly-webhook-hub/openapi/gladly-hub-api.json"),
        ),
        (
            PathBuf::from("schemas/openapi/gladly-rest-api-v1.json"),
            PathBuf::from("crates/gladly-webhook-hub/openapi/gladly-rest-api-v1.json"),
        ),
    ];
    for name in EXAMPLE_EVENTS {
        copies.push((
            Path::new("examples/events").join(name),
            Path::new("crates/gladly-webhook-cli/samples/subscription").join(name),
        ));
    }
    copies
}

/// Writes every copy whose bytes differ from its original; the paths written.
pub fn write(root: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (original, copy) in copies() {
        let text = fs::read(root.join(&original))
            .with_context(|| format!("cannot read {}", original.display()))?;
        let target = root.join(&copy);
        if fs::read(&target).ok().as_deref() != Some(text.as_slice()) {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            fs::write(&target, &text)
                .with_context(|| format!("cannot write {}", copy.display()))?;
            written.push(target);
        }
    }
    Ok(written)
}

/// Fails, naming each, unless every copy holds its original's bytes.
pub fn check(root: &Path) -> Result<()> {
    let mut stale = Vec::new();
    for (original, copy) in copies() {
        let text = fs::read(root.join(&original))
            .with_context(|| format!("cannot read {}", original.display()))?;
        match fs::read(root.join(&copy)) {
            Ok(bytes) if bytes == text => {}
            Ok(_) => stale.push(format!(
                "{}: differs from {}",
                copy.display(),
                original.display()
            )),
            Err(_) => stale.push(format!(
                "{}: missing (a copy of {})",
                copy.display(),
                original.display()
            )),
        }
    }
    if !stale.is_empty() {
        bail!(
            "copies inside the crates are out of date:\n  {}\nrun `cargo xtask codegen` and commit the copies",
            stale.join("\n  ")
        );
    }
    Ok(())
}
