//! `cargo xtask doc-examples`: each crate's first example, compiled as a
//! reader who copies the docs would compile it: a package of its own whose
//! `[dependencies]` are exactly the lines the docs show (the workspace's
//! crates by path), whose `main.rs` is the example. All of them are
//! members of one throwaway workspace under `target/doc-examples`, locked
//! to the workspace's `Cargo.lock` and checked offline into the workspace's
//! own target folder (`cargo check`: the dependencies the lints checked are
//! not compiled again; an example that type-checks against exactly the
//! docs' dependencies is what a reader needs, the link adds nothing).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::doc_deps::first_example;

/// One dependency line of the docs with the workspace's crates given by
/// path: `gladly-webhook-core = "0.1"` becomes `gladly-webhook-core = {
/// version = "0.1", path = ".../crates/gladly-webhook-core" }`.
pub fn with_path(line: &str, crates: &Path) -> String {
    let Some((name, value)) = line.split_once('=') else {
        return line.to_string();
    };
    let name = name.trim();
    if !name.starts_with("gladly-") || !crates.join(name).is_dir() {
        return line.to_string();
    }
    let path = crates.join(name).display().to_string();
    let value = value.trim();
    match value.strip_prefix('{') {
        Some(rest) => format!("{name} = {{ path = {path:?},{rest}"),
        None => format!("{name} = {{ version = {value}, path = {path:?} }}"),
    }
}

/// Writes the throwaway workspace, one package per crate whose docs have a
/// first example, and checks it; the crates whose examples it checked.
pub fn build(root: &Path) -> Result<Vec<String>> {
    let crates = root.join("crates");
    let dir = root.join("target/doc-examples");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut members = Vec::new();
    let mut names: Vec<_> = fs::read_dir(&crates)?.collect::<Result<_, _>>()?;
    names.sort_by_key(|e| e.path());
    for entry in names {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(docs) = fs::read_to_string(entry.path().join("src/lib.rs")) else {
            continue;
        };
        let Some(example) = first_example(&docs) else {
            continue;
        };
        if !example.code.iter().any(|l| l.contains("fn main")) {
            continue;
        }
        let package = dir.join(&name);
        fs::create_dir_all(package.join("src"))?;
        let mut manifest = format!(
            "[package]\nname = \"example-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n"
        );
        for line in &example.toml {
            let _ = writeln!(manifest, "{}", with_path(line, &crates));
        }
        fs::write(package.join("Cargo.toml"), manifest)?;
        fs::write(package.join("src/main.rs"), example.code.join("\n") + "\n")?;
        members.push(name);
    }
    let list: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            list.join(", ")
        ),
    )?;
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["check", "--offline", "--workspace", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!(
            "a crate's first example does not compile from its docs' [dependencies] lines (the packages are in {})",
            dir.display()
        );
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_crates_are_given_by_path() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
        let path = crates.join("gladly-webhook-core").display().to_string();
        assert_eq!(
            with_path("gladly-webhook-core = \"0.1\"", &crates),
            format!("gladly-webhook-core = {{ version = \"0.1\", path = {path:?} }}")
        );
        let path = crates.join("gladly-webhook-hub").display().to_string();
        assert_eq!(
            with_path(
                "gladly-webhook-hub = { version = \"0.1\", features = [\"sqlite\"] }",
                &crates
            ),
            format!(
                "gladly-webhook-hub = {{ path = {path:?}, version = \"0.1\", features = [\"sqlite\"] }}"
            )
        );
        assert_eq!(with_path("tokio = \"1\"", &crates), "tokio = \"1\"");
        assert_eq!(with_path("[dependencies]", &crates), "[dependencies]");
    }
}
