//! `cargo xtask bench-report`: runs `cargo bench -p gladly-webhook-core`
//! and writes `BENCHMARKS.md` from criterion's results, as ratios to the
//! floor and to the peers (absolute times drift on a shared machine; ratios
//! measured in one run hold).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One benchmark's median time, in nanoseconds, and its throughput in bytes
/// per iteration when criterion recorded one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
    /// Bytes processed per iteration.
    pub bytes: Option<u64>,
}

/// Results keyed by (group, function, parameter), as criterion names them.
pub type Results = BTreeMap<(String, String, String), Estimate>;

/// The machine the figures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// The number of cores the OS reports.
    pub cores: usize,
    /// Whether the CPU has SHA extensions (`sha_ni`).
    pub sha_extensions: bool,
    /// `rustc --version`.
    pub rustc: String,
}

/// Runs the benchmarks (unless `run` is false), then writes the report to
/// `root/BENCHMARKS.md`. Returns the report's path.
pub fn bench_report(root: &Path, run: bool) -> Result<PathBuf> {
    if run {
        let status = Command::new(env!("CARGO"))
            .args([
                "bench",
                "--package",
                "gladly-webhook-core",
                "--bench",
                "core",
            ])
            .current_dir(root)
            .status()
            .context("cannot run cargo bench")?;
        if !status.success() {
            bail!("cargo bench failed ({status})");
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let results = read_results(&target.join("criterion"))?;
    let report = render(
        &results,
        &machine(),
        &chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    )?;
    let path = root.join("BENCHMARKS.md");
    // The receiving section is another run's, and the sections after it
    // are written by hand: keep them.
    let existing = fs::read_to_string(&path).unwrap_or_default();
    let kept = [
        crate::receive_report::HEADING,
        crate::fanout_report::HEADING,
    ]
    .iter()
    .filter_map(|heading| existing.find(heading))
    .min();
    let report = match kept {
        Some(at) => format!("{}\n\n{}", report.trim_end(), &existing[at..]),
        None => report,
    };
    fs::write(&path, report).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Reads every `<group>/<function>/<parameter>/new/` result under
/// criterion's output folder.
pub fn read_results(criterion: &Path) -> Result<Results> {
    let mut results = Results::new();
    let dirs = |path: &Path| -> Result<Vec<PathBuf>> {
        let mut out: Vec<PathBuf> = fs::read_dir(path)
            .with_context(|| format!("cannot read {} (run the benchmarks first)", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "report"))
            .collect();
        out.sort();
        Ok(out)
    };
    let name = |p: &Path| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    for group in dirs(criterion)? {
        for function in dirs(&group)? {
            for parameter in dirs(&function)? {
                let new = parameter.join("new");
                let Ok(estimates) = fs::read_to_string(new.join("estimates.json")) else {
                    continue;
                };
                let estimates: serde_json::Value = serde_json::from_str(&estimates)
                    .with_context(|| format!("{}: not JSON", new.display()))?;
                let median_ns = estimates["median"]["point_estimate"]
                    .as_f64()
                    .with_context(|| format!("{}: no median", new.display()))?;
                let bytes = fs::read_to_string(new.join("benchmark.json"))
                    .ok()
                    .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
                    .and_then(|b| b["throughput"]["Bytes"].as_u64());
                results.insert(
                    (name(&group), name(&function), name(&parameter)),
                    Estimate { median_ns, bytes },
                );
            }
        }
    }
    if results.is_empty() {
        bail!("no benchmark results under {}", criterion.display());
    }
    Ok(results)
}

fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        cpuinfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    Machine {
        cpu: field("model name").unwrap_or_else(|| "unknown".to_string()),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        sha_extensions: field("flags").is_some_and(|f| f.split_whitespace().any(|x| x == "sha_ni")),
        rustc,
    }
}

/// A time for a table: ns, µs or ms.
fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn throughput(e: &Estimate) -> String {
    match e.bytes {
        Some(bytes) => format!(
            "{:.0} MiB/s",
            bytes as f64 / (e.median_ns / 1e9) / (1 << 20) as f64
        ),
        None => "-".to_string(),
    }
}

/// The report's text.
pub fn render(results: &Results, machine: &Machine, date: &str) -> Result<String> {
    let get = |group: &str, function: &str, parameter: &str| -> Result<Estimate> {
        results
            .get(&(
                group.to_string(),
                function.to_string(),
                parameter.to_string(),
            ))
            .copied()
            .with_context(|| {
                format!("no result for {group}/{function}/{parameter}: run all the benchmarks")
            })
    };
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "# Benchmarks\n")?;
    writeln!(
        w,
        "Written by `cargo xtask bench-report` (which runs `cargo bench -p gladly-webhook-core`) on {date}.\n"
    )?;
    writeln!(
        w,
        "- CPU: {} ({} cores), SHA extensions: {}",
        machine.cpu,
        machine.cores,
        if machine.sha_extensions { "yes" } else { "no" }
    )?;
    writeln!(w, "- Compiler: {}\n", machine.rustc)?;
    writeln!(
        w,
        "The figures are from one shared 2-core machine: absolute times drift from run to run \
         and between machines. The ratios, each measured side by side in the same run, are the result.\n"
    )?;

    // Targets first.
    let mut targets = Vec::new();
    for (size, limit) in [("1KiB", 2.0), ("64KiB", 1.1), ("1MiB", 1.1)] {
        let ratio =
            get("verify", "ours", size)?.median_ns / get("verify", "floor", size)?.median_ns;
        targets.push((
            format!("verify at {size}: at most {limit:.1}x the floor"),
            format!("{ratio:.2}x"),
            ratio <= limit,
        ));
    }
    let mut worst = 0.0f64;
    for size in ["256B", "1KiB", "64KiB", "1MiB"] {
        worst = worst.max(
            get("verify", "ours", size)?.median_ns
                / get("verify", "standardwebhooks", size)?.median_ns,
        );
    }
    targets.push((
        "verify: no slower than standardwebhooks at any size".to_string(),
        format!("at most {worst:.2}x its time"),
        worst <= 1.0,
    ));
    let speedup = get("validate", "jsonschema", "valid")?.median_ns
        / get("validate", "ours_schema", "valid")?.median_ns;
    targets.push((
        "validate (schema) of a valid document: at least 2x faster than Value + jsonschema"
            .to_string(),
        format!("{speedup:.2}x faster"),
        speedup >= 2.0,
    ));
    writeln!(w, "## Targets\n")?;
    writeln!(
        w,
        "Where a target is not met, `crates/gladly-webhook-core/benches/PROFILE.md` gives the profile, \
         what was fixed, and the before and after.\n"
    )?;
    writeln!(w, "| target | measured | met |\n|---|---|---|")?;
    for (target, measured, met) in &targets {
        writeln!(
            w,
            "| {target} | {measured} | {} |",
            if *met { "yes" } else { "**no**" }
        )?;
    }

    writeln!(w, "\n## verify\n")?;
    writeln!(
        w,
        "`Verifier::verify` on a request with five signed headers; the floor is one HMAC-SHA256 over the body \
        (`hmac` + `sha2`), which no scheme can undercut; `standardwebhooks` is the Standard Webhooks scheme's Rust library. \
        Median time (throughput).\n"
    )?;
    writeln!(
        w,
        "| body | ours | floor | standardwebhooks | ours / floor | ours / standardwebhooks |\n|---|---|---|---|---|---|"
    )?;
    for size in ["256B", "1KiB", "64KiB", "1MiB"] {
        let (ours, floor, peer) = (
            get("verify", "ours", size)?,
            get("verify", "floor", size)?,
            get("verify", "standardwebhooks", size)?,
        );
        writeln!(
            w,
            "| {size} | {} ({}) | {} ({}) | {} ({}) | {:.2}x | {:.2}x |",
            time(ours.median_ns),
            throughput(&ours),
            time(floor.median_ns),
            throughput(&floor),
            time(peer.median_ns),
            throughput(&peer),
            ours.median_ns / floor.median_ns,
            ours.median_ns / peer.median_ns
        )?;
    }

    writeln!(w, "\n## sign\n")?;
    writeln!(
        w,
        "| body | ours | floor | ours / floor |\n|---|---|---|---|"
    )?;
    for size in ["1KiB", "64KiB"] {
        let (ours, floor) = (get("sign", "ours", size)?, get("sign", "floor", size)?);
        writeln!(
            w,
            "| {size} | {} ({}) | {} ({}) | {:.2}x |",
            time(ours.median_ns),
            throughput(&ours),
            time(floor.median_ns),
            throughput(&floor),
            ours.median_ns / floor.median_ns
        )?;
    }

    writeln!(w, "\n## validate\n")?;
    writeln!(
        w,
        "`validate_json` on `examples/subscription.json` and on a document with three problems; the peer parses \
        a `serde_json::Value` and runs a `jsonschema` validator compiled once (format assertions on), collecting every error; \
        the floor is `serde_json::from_slice::<Webhook>` with no checks.\n"
    )?;
    writeln!(
        w,
        "| document | ours, schema | ours, strict | Value + jsonschema | floor | jsonschema / ours (schema) | ours (schema) / floor |\n|---|---|---|---|---|---|---|"
    )?;
    for doc in ["valid", "three_problems"] {
        let (schema, strict, peer) = (
            get("validate", "ours_schema", doc)?,
            get("validate", "ours_strict", doc)?,
            get("validate", "jsonschema", doc)?,
        );
        let floor = get("validate", "floor", doc).ok();
        writeln!(
            w,
            "| {doc} | {} | {} | {} | {} | {:.2}x | {} |",
            time(schema.median_ns),
            time(strict.median_ns),
            time(peer.median_ns),
            floor.map_or("-".to_string(), |f| time(f.median_ns)),
            peer.median_ns / schema.median_ns,
            floor.map_or("-".to_string(), |f| format!(
                "{:.2}x",
                schema.median_ns / f.median_ns
            ))
        )?;
    }

    writeln!(w, "\n## parse_event\n")?;
    writeln!(
        w,
        "| payload | ours (typed `Event`) | `from_slice::<Value>` | ours / Value |\n|---|---|---|---|"
    )?;
    let (ours, value) = (
        get("parse_event", "ours", "conversation_closed")?,
        get("parse_event", "value", "conversation_closed")?,
    );
    writeln!(
        w,
        "| conversation_closed | {} | {} | {:.2}x |",
        time(ours.median_ns),
        time(value.median_ns),
        ours.median_ns / value.median_ns
    )?;
    Ok(out)
}
