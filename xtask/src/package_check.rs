//! `cargo xtask package-check`: every publishable crate as a registry
//! would hold it, checked together.
//!
//! `cargo package --workspace` verifies its packages by building them in a
//! target folder of its own, so every dependency is compiled again (about
//! 5 minutes of a 2-core machine's CI). Here the packages are made without
//! that build (`--no-verify`), unpacked into a throwaway workspace under
//! `target/package-check` whose `[patch.crates-io]` points each crate's
//! dependency on another at the unpacked copy (as cargo's own verification
//! does with a local registry), and checked offline into the workspace's
//! target folder, from a copy of its `Cargo.lock` (the same versions, less
//! the unpublished members): the dependencies compiled by
//! the lints are not compiled again, and what is checked is exactly what
//! would be uploaded (a file left out of a package, a path dependency
//! without a version, a feature a package lacks all fail here). A check
//! does not generate code or link: the tests build the same sources.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace's members that are never published.
pub const UNPUBLISHED: &[&str] = &["gladly-webhook-bench", "gladly-webhook-testkit", "xtask"];

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The throwaway workspace's manifest: `packages` (folder names, such as
/// `gladly-webhook-core-0.1.0`, each holding crate `name`) as members,
/// and each patched in for its name.
pub fn manifest(packages: &[(String, String)]) -> String {
    let members: Vec<String> = packages.iter().map(|(_, dir)| format!("{dir:?}")).collect();
    let mut text = format!(
        "[workspace]\nresolver = \"2\"\nmembers = [{}]\n\n[patch.crates-io]\n",
        members.join(", ")
    );
    for (name, dir) in packages {
        text.push_str(&format!("{name} = {{ path = {dir:?} }}\n"));
    }
    text
}

/// The crate name of a package file's stem: `gladly-webhook-core-0.1.0`
/// is `gladly-webhook-core`.
pub fn crate_name(stem: &str) -> Option<&str> {
    let (name, version) = stem.rsplit_once('-')?;
    version
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        .then_some(name)
}

/// Packages every publishable crate, unpacks the packages and checks them
/// together; the packages checked.
pub fn check(root: &Path, allow_dirty: bool) -> Result<Vec<String>> {
    let packaged = root.join("target/package");
    let _ = fs::remove_dir_all(&packaged);
    let mut package = cargo();
    package.args([
        "package",
        "--workspace",
        "--locked",
        "--no-verify",
        "--quiet",
    ]);
    for name in UNPUBLISHED {
        package.args(["--exclude", name]);
    }
    if allow_dirty {
        package.arg("--allow-dirty");
    }
    let status = package
        .current_dir(root)
        .status()
        .context("cannot run cargo package")?;
    if !status.success() {
        bail!("cargo package failed");
    }

    let dir = root.join("target/package-check");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut packages = Vec::new();
    let mut files: Vec<_> = fs::read_dir(&packaged)?.collect::<Result<_, _>>()?;
    files.sort_by_key(|e| e.path());
    for file in files {
        let path = file.path();
        if path.extension().is_none_or(|e| e != "crate") {
            continue;
        }
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let Some(name) = crate_name(&stem) else {
            bail!("{} is not named <crate>-<version>.crate", path.display());
        };
        let status = Command::new("tar")
            .arg("xzf")
            .arg(&path)
            .arg("-C")
            .arg(&dir)
            .status()
            .context("cannot run tar")?;
        if !status.success() {
            bail!("cannot unpack {}", path.display());
        }
        packages.push((name.to_string(), stem));
    }
    if packages.is_empty() {
        bail!("cargo package made no package in {}", packaged.display());
    }
    fs::write(dir.join("Cargo.toml"), manifest(&packages))?;
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    let status = cargo()
        .args(["check", "--workspace", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .status()
        .context("cannot run cargo check")?;
    if !status.success() {
        bail!(
            "the packages do not build as a registry would hold them (unpacked in {})",
            dir.display()
        );
    }
    Ok(packages.into_iter().map(|(_, dir)| dir).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_file_names_its_crate() {
        assert_eq!(
            crate_name("gladly-webhook-core-0.1.0"),
            Some("gladly-webhook-core")
        );
        assert_eq!(crate_name("gladly-schema-12.0.3"), Some("gladly-schema"));
        assert_eq!(crate_name("gladly-webhook-core"), None);
    }

    #[test]
    fn each_package_is_a_member_and_patched_in() {
        let text = manifest(&[(
            "gladly-schema".to_string(),
            "gladly-schema-0.1.0".to_string(),
        )]);
        assert!(
            text.contains("members = [\"gladly-schema-0.1.0\"]"),
            "{text}"
        );
        assert!(
            text.contains("[patch.crates-io]\ngladly-schema = { path = \"gladly-schema-0.1.0\" }"),
            "{text}"
        );
    }
}
