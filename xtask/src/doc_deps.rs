//! `cargo xtask doc-deps`: each crate's docs show the `[dependencies]`
//! lines a reader copies, then a first example; every crate that example
//! names (`use gladly_webhook_core::...`, `tokio::main`) must be in those
//! lines, or the copied program does not compile.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Crates an example may name without a line: the standard library's and
/// the example's own paths.
const ALWAYS: &[&str] = &["std", "core", "alloc", "crate", "self", "super", "Self"];

/// One crate's docs that name a crate their lines leave out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The file read (`crates/gladly-webhook-receiver/src/lib.rs`).
    pub file: String,
    /// The crates the first example names that the lines do not list.
    pub crates: Vec<String>,
}

/// Every crate under `root/crates` whose docs' first example names a crate
/// its `[dependencies]` lines leave out; crates whose docs have no lines
/// are not read.
pub fn check(root: &Path) -> Result<Vec<Missing>> {
    let mut missing = Vec::new();
    let crates = root.join("crates");
    let mut entries: Vec<_> = fs::read_dir(&crates)
        .with_context(|| format!("cannot read {}", crates.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let lib = entry.path().join("src/lib.rs");
        let Ok(text) = fs::read_to_string(&lib) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().replace('-', "_");
        if let Some(found) = missing_in(&text, &name) {
            let file = lib.strip_prefix(root).unwrap_or(&lib).display().to_string();
            missing.push(Missing {
                file,
                crates: found,
            });
        }
    }
    Ok(missing)
}

/// A crate's docs as a reader copies them: the `[dependencies]` lines and
/// the first example after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstExample {
    /// The lines of the ```toml block, `[dependencies]` included.
    pub toml: Vec<String>,
    /// The example's lines, hidden ones (`# ...`) as the code they are.
    pub code: Vec<String>,
}

/// The `[dependencies]` lines of `docs` (a crate's `//!` docs) and the first
/// example after them, if the docs have both.
pub fn first_example(docs: &str) -> Option<FirstExample> {
    let lines: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let fence = |from: usize, open: bool| {
        lines[from..]
            .iter()
            .position(|l| {
                let l = l.trim_start();
                if open {
                    l.starts_with("```") && !l.contains("toml")
                } else {
                    l.trim_end() == "```"
                }
            })
            .map(|at| from + at)
    };
    let toml_at = lines.iter().position(|l| l.trim() == "```toml")?;
    let toml_end = fence(toml_at + 1, false)?;
    let example_at = fence(toml_end + 1, true)?;
    let example_end = fence(example_at + 1, false)?;
    let code = lines[example_at + 1..example_end]
        .iter()
        .map(|l| match l.strip_prefix('#') {
            // A hidden line: code the reader does not see but compiles.
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                rest.strip_prefix(' ').unwrap_or(rest).to_string()
            }
            _ => (*l).to_string(),
        })
        .collect();
    Some(FirstExample {
        toml: lines[toml_at + 1..toml_end]
            .iter()
            .map(|l| (*l).to_string())
            .collect(),
        code,
    })
}

/// The crates the first example after the `[dependencies]` lines of
/// `docs` names and the lines leave out (`own` is always there); `None`
/// when nothing is left out or the docs have no lines.
pub fn missing_in(docs: &str, own: &str) -> Option<Vec<String>> {
    let example = first_example(docs)?;
    let mut listed: BTreeSet<String> = example
        .toml
        .iter()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim_start().starts_with('['))
        .filter_map(|l| l.split('=').next())
        .map(|name| name.trim().replace('-', "_"))
        .filter(|name| !name.is_empty())
        .collect();
    listed.insert(own.to_string());
    let code: Vec<&str> = example.code.iter().map(String::as_str).collect();
    let left_out: Vec<String> = named_crates(&code)
        .into_iter()
        .filter(|name| !listed.contains(name) && !ALWAYS.contains(&name.as_str()))
        .collect();
    (!left_out.is_empty()).then_some(left_out)
}

/// The crates example `lines` name: the first segment of each `a::b` path
/// that starts an item path (after `use`, `#[`, a space, `(`, `<`, `&`,
/// `!`), leaving out the relative paths inside a `use` statement's braces.
fn named_crates(lines: &[&str]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    // Open braces of the `use` statement under way.
    let mut use_braces = 0_usize;
    for line in lines {
        // A hidden line (`# ...`) is compiled too.
        let code = line.strip_prefix("# ").unwrap_or(line);
        let code = code.split("//").next().unwrap_or_default();
        let bytes = code.as_bytes();
        let mut depth_at = Vec::with_capacity(bytes.len());
        for &b in bytes {
            depth_at.push(use_braces);
            match b {
                b'{' if use_braces > 0 || code.trim_start().starts_with("use ") => use_braces += 1,
                b'}' if use_braces > 0 => use_braces -= 1,
                _ => {}
            }
        }
        let mut i = 0;
        while let Some(at) = code[i..].find("::") {
            let end = i + at;
            let mut start = end;
            while start > 0
                && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_')
            {
                start -= 1;
            }
            let before = if start == 0 { b' ' } else { bytes[start - 1] };
            let word = &code[start..end];
            let starts_path = matches!(
                before,
                b' ' | b'(' | b'<' | b'&' | b'!' | b'[' | b'{' | b','
            );
            let in_string = code[..start].matches('"').count() % 2 == 1;
            let relative = depth_at.get(start).is_some_and(|depth| *depth > 0);
            if starts_path
                && !in_string
                && !relative
                && word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            {
                names.insert(word.to_string());
            }
            i = end + 2;
        }
    }
    // A module a `use` brought in (`use a::{inbox, ...}`, then `inbox::open`)
    // is not a crate.
    names.retain(|name| !imported(lines, name));
    names
}

/// Whether a `use` statement of `lines` brings `name` into scope (as a
/// segment after the first of its path, or inside its braces).
fn imported(lines: &[&str], name: &str) -> bool {
    let mut in_use = false;
    for line in lines {
        let code = line.strip_prefix("# ").unwrap_or(line).trim();
        if code.starts_with("use ") {
            in_use = true;
        }
        if in_use {
            let rest = code.strip_prefix("use ").unwrap_or(code);
            let words = rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            // The first word of a `use` line is the crate itself.
            let skip = usize::from(code.starts_with("use "));
            if words
                .filter(|w| !w.is_empty())
                .skip(skip)
                .any(|w| w == name)
            {
                return true;
            }
            if code.ends_with(';') {
                in_use = false;
            }
        }
    }
    false
}

/// Fails, naming each crate's file and what it leaves out, when any docs
/// do.
pub fn ensure(root: &Path) -> Result<()> {
    let missing = check(root)?;
    if missing.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = missing
        .iter()
        .map(|m| {
            format!(
                "{}: the first example names {} but the [dependencies] lines do not",
                m.file,
                m.crates.join(", ")
            )
        })
        .collect();
    bail!("{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = "//! Intro.\n//!\n//! ```toml\n//! [dependencies]\n//! # a comment\n//! my-crate = \"0.1\"\n//! tokio = { version = \"1\" }\n//! ```\n//!\n//! ```no_run\n//! use my_crate::{Thing, inner::Other, module};\n//! use std::sync::Arc;\n//! use gladly_webhook_core::Secret;\n//! #[tokio::main]\n//! async fn main() {\n//!     let _ = Arc::new(chrono::Utc::now()); // note::this\n//!     module::call();\n//!     println!(\"a::b\");\n//! }\n//! ```\n";

    #[test]
    fn the_crates_an_example_names_must_be_listed() {
        assert_eq!(
            missing_in(DOCS, "my_crate"),
            Some(vec![
                "chrono".to_string(),
                "gladly_webhook_core".to_string()
            ])
        );
        let fixed = DOCS.replace(
            "//! tokio",
            "//! chrono = \"0.4\"\n//! gladly-webhook-core = \"0.1\"\n//! tokio",
        );
        assert_eq!(missing_in(&fixed, "my_crate"), None);
        assert_eq!(missing_in("//! No lines here.\n", "x"), None);
    }
}
