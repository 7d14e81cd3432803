//! The sections of `BENCHMARKS.md` each report writes: a section runs from
//! its `## ` heading to the next `## ` heading or the end, and a report
//! replaces its own and keeps the rest.

use std::path::Path;

use anyhow::{Context, Result};

/// The section of `existing` that starts with `heading`, if any.
pub fn section_of<'a>(existing: &'a str, heading: &str) -> Option<&'a str> {
    let rest = &existing[existing.find(heading)?..];
    let end = rest[heading.len()..]
        .find("\n## ")
        .map_or(rest.len(), |e| heading.len() + e + 1);
    Some(&rest[..end])
}

/// `existing` with the section under `heading` replaced by `section` (or
/// `section` appended); what comes before and after it stays.
pub fn splice(existing: &str, heading: &str, section: &str) -> String {
    let (Some(at), Some(old)) = (existing.find(heading), section_of(existing, heading)) else {
        return format!("{}\n\n{section}", existing.trim_end());
    };
    let head = existing[..at].trim_end();
    let tail = &existing[at + old.len()..];
    if tail.trim().is_empty() {
        format!("{head}\n\n{section}")
    } else {
        format!("{head}\n\n{}\n\n{tail}", section.trim_end())
    }
}

/// Writes `section` (under `heading`) into the workspace's `BENCHMARKS.md`
/// and `svg` beside it as `chart`.
pub fn write(root: &Path, heading: &str, section: &str, chart: &str, svg: &str) -> Result<()> {
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_string());
    std::fs::write(&path, splice(&existing, heading, section))
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::write(root.join(chart), svg).context("cannot write the chart")?;
    Ok(())
}
