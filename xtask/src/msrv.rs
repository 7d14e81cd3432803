//! `cargo xtask msrv`: each crate's declared `rust-version` is at least
//! that of every crate it is built with.
//!
//! Reads `cargo metadata` (the locked resolution, all features), walks each
//! workspace member's normal and build dependencies transitively, and fails
//! naming every member whose declared `rust-version` is below the highest
//! one among them (or that declares none). Development dependencies do not
//! count: a user building the crate never builds them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// A `rust-version` as numbers (`1.94` is `[1, 94]`).
fn parse(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

fn compare(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    let pad = |v: &[u64]| {
        let mut v = v.to_vec();
        v.resize(len, 0);
        v
    };
    pad(a).cmp(&pad(b))
}

/// One member's finding: its declared version and the highest it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The member's name.
    pub crate_name: String,
    /// What it declares.
    pub declared: Option<String>,
    /// The highest `rust-version` among what it is built with, and whose.
    pub needed: Option<(String, String)>,
}

impl Finding {
    /// Whether the declaration is true.
    pub fn holds(&self) -> bool {
        match (&self.declared, &self.needed) {
            (_, None) => self.declared.is_some(),
            (None, Some(_)) => false,
            (Some(declared), Some((needed, _))) => {
                compare(&parse(declared), &parse(needed)) != Ordering::Less
            }
        }
    }
}

/// The findings for `metadata`, the JSON of `cargo metadata
/// --format-version 1`.
pub fn findings(metadata: &Value) -> Result<Vec<Finding>> {
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata has no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let built_with = |id: &str| -> Vec<String> {
        nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .into_iter()
            .flatten()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind["kind"].is_null() || kind["kind"] == "build")
            })
            .filter_map(|dep| dep["pkg"].as_str().map(str::to_string))
            .collect()
    };
    let mut findings = Vec::new();
    for member in metadata["workspace_members"]
        .as_array()
        .context("cargo metadata has no workspace members")?
    {
        let member = member.as_str().context("a member id is a string")?;
        let package = packages.get(member).context("a member is a package")?;
        let mut seen = BTreeSet::new();
        let mut stack = built_with(member);
        while let Some(id) = stack.pop() {
            if seen.insert(id.clone()) {
                stack.extend(built_with(&id));
            }
        }
        let mut needed: Option<(String, String)> = None;
        for id in &seen {
            let Some(dep) = packages.get(id.as_str()) else {
                continue;
            };
            let Some(version) = dep["rust_version"].as_str() else {
                continue;
            };
            let higher = needed
                .as_ref()
                .is_none_or(|(v, _)| compare(&parse(version), &parse(v)) == Ordering::Greater);
            if higher {
                let name = format!(
                    "{} {}",
                    dep["name"].as_str().unwrap_or("?"),
                    dep["version"].as_str().unwrap_or("?")
                );
                needed = Some((version.to_string(), name));
            }
        }
        findings.push(Finding {
            crate_name: package["name"].as_str().unwrap_or("?").to_string(),
            declared: package["rust_version"].as_str().map(str::to_string),
            needed,
        });
    }
    Ok(findings)
}

/// Runs `cargo metadata` in `root` and checks every member; prints one line
/// each and fails if any declaration is false.
pub fn check(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    // The dependencies built for this machine: a `cfg(...)` dependency
    // nothing enables (such as `loom` under `cfg(loom)`, for a crate's own
    // concurrency tests) is never compiled, so its rust-version binds no one.
    let host = host_triple()?;
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            &host,
        ])
        .current_dir(root)
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    let findings = findings(&metadata)?;
    let mut false_ones = Vec::new();
    for finding in &findings {
        let declared = finding.declared.as_deref().unwrap_or("(none)");
        let needed = finding
            .needed
            .as_ref()
            .map_or("nothing declares one".to_string(), |(v, who)| {
                format!("{v} ({who})")
            });
        println!(
            "msrv: {} declares {declared}, needs {needed}",
            finding.crate_name
        );
        if !finding.holds() {
            false_ones.push(finding.crate_name.clone());
        }
    }
    if !false_ones.is_empty() {
        bail!(
            "rust-version is lower than a dependency's in: {}",
            false_ones.join(", ")
        );
    }
    Ok(())
}

/// The triple `rustc` builds for by default (`rustc -vV`'s `host:`).
fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_string())
        .context("rustc -vV named no host")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metadata(declared: Option<&str>) -> Value {
        json!({
            "workspace_members": ["a"],
            "packages": [
                {"id": "a", "name": "a", "version": "0.1.0", "rust_version": declared},
                {"id": "b", "name": "b", "version": "1.0.0", "rust_version": "1.88"},
                {"id": "c", "name": "c", "version": "2.0.0", "rust_version": "1.94.0"},
                {"id": "t", "name": "t", "version": "3.0.0", "rust_version": "1.99"}
            ],
            "resolve": {"nodes": [
                {"id": "a", "deps": [
                    {"pkg": "b", "dep_kinds": [{"kind": null}]},
                    {"pkg": "t", "dep_kinds": [{"kind": "dev"}]}
                ]},
                {"id": "b", "deps": [{"pkg": "c", "dep_kinds": [{"kind": "build"}]}]},
                {"id": "c", "deps": []},
                {"id": "t", "deps": []}
            ]}
        })
    }

    #[test]
    fn the_highest_normal_or_build_dependency_counts_not_dev() {
        let found = findings(&metadata(Some("1.94"))).unwrap();
        assert_eq!(
            found[0].needed,
            Some(("1.94.0".to_string(), "c 2.0.0".to_string()))
        );
        assert!(found[0].holds());
        assert!(!findings(&metadata(Some("1.93"))).unwrap()[0].holds());
        assert!(!findings(&metadata(None)).unwrap()[0].holds());
    }
}
