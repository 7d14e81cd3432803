//! `cargo xtask bench-report --only fanout`: the hub's delivery throughput
//! and latency (`gladly-webhook-bench fanout`) on SQLite and, given a
//! server, PostgreSQL: 20 receivers three times, 1, 3 and 100 receivers,
//! each width again on fresh tables (no `ANALYZE`: the regression guard of
//! issue 39, printed as a ratio), 3 and 20 receivers analyzed early (an
//! `ANALYZE` of small tables: issue 39's cliff), 3 and 20 receivers apart (in their own
//! process, as issue 39 measured Svix: its 3x targets), a 50 ms receiver with the window and in
//! strict order, a failing event, 200,000 finished deliveries prefilled,
//! and the latency at half the measured rate. Written into `BENCHMARKS.md`
//! as the section "Delivering from the hub (fan-out)", with an SVG chart
//! beside it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The heading the section starts with; it runs to the next section or the
/// end of `BENCHMARKS.md`.
pub const HEADING: &str = "## Delivering from the hub (fan-out)";

/// The chart's file name, beside `BENCHMARKS.md`.
pub const CHART: &str = "benchmarks-fanout.svg";

/// One `fanout` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// What the run is (`sqlite, 20 receivers #1`...).
    pub label: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// Events accepted per second.
    pub published_per_second: f64,
    /// Deliveries per second, first publication to last delivery.
    pub deliveries_per_second: f64,
    /// Events per second over the same time.
    pub events_per_second: f64,
    /// Seconds from the first publication to the last delivery.
    pub total_seconds: f64,
    /// Publish-to-delivery latency, milliseconds.
    pub p50_ms: f64,
    /// Publish-to-delivery latency, milliseconds.
    pub p99_ms: f64,
}

/// Everything one `--only fanout` run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Fanout {
    /// Every run, in order.
    pub runs: Vec<Run>,
    /// Runs that did not finish: label and why.
    pub failed: Vec<(String, String)>,
    /// The commands run, in order, for the record.
    pub commands: Vec<String>,
    /// When.
    pub date: String,
}

impl Fanout {
    /// The runs whose label starts with `prefix`.
    pub fn runs_of(&self, prefix: &str) -> Vec<&Run> {
        self.runs
            .iter()
            .filter(|r| r.label.starts_with(prefix))
            .collect()
    }
}

/// Parses one JSON line of `gladly-webhook-bench fanout`.
pub fn parse_run(label: &str, line: &str) -> Result<Run> {
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("not a result line: {line}"))?;
    let num = |key: &str| v[key].as_f64().with_context(|| format!("{key} in {line}"));
    Ok(Run {
        label: label.to_string(),
        store: v["store"].as_str().context("store")?.to_string(),
        published_per_second: num("published_per_second")?,
        deliveries_per_second: num("deliveries_per_second")?,
        events_per_second: num("events_per_second")?,
        total_seconds: num("total_seconds")?,
        p50_ms: num("latency_p50_ms")?,
        p99_ms: num("latency_p99_ms")?,
    })
}

const TWENTY: &[&str] = &[
    "--receivers",
    "20",
    "--events",
    "2000",
    "--publishers",
    "16",
];

/// The widths (subscriptions) measured with statistics and on fresh
/// tables.
pub const WIDTHS: [usize; 4] = [1, 3, 20, 100];

/// The label of a run of `width` receivers (the first of three at 20),
/// with statistics or on fresh tables.
pub fn width_label(store: &str, width: usize, fresh: bool) -> String {
    let receivers = if width == 1 { "receiver" } else { "receivers" };
    match (width, fresh) {
        (_, true) => format!("{store}, {width} {receivers}, fresh tables"),
        (20, false) => format!("{store}, 20 receivers #1"),
        (_, false) => format!("{store}, {width} {receivers}"),
    }
}

/// The widths measured again after an `ANALYZE` of small tables, and the
/// warm-up (events) that ANALYZE follows: issue 39's cliff, where cached
/// plans made then read whole tables as they grew.
pub const EARLY_ANALYZE: [(usize, &str); 2] = [(3, "10"), (20, "50")];

/// The label of the run of `width` receivers analyzed early.
pub fn early_label(store: &str, width: usize) -> String {
    format!("{store}, {width} receivers, analyzed early")
}

/// The widths measured again with the receivers in a process of their own
/// (`--receivers-apart`), as issue 39 measured Svix's server and the hub.
pub const APART_WIDTHS: [usize; 2] = [3, 20];

/// The label of the `n`th run of `width` receivers apart.
pub fn apart_label(store: &str, width: usize, n: usize) -> String {
    format!("{store}, {width} receivers apart #{n}")
}

/// The arguments of a run of `width` receivers: 2,000 events from 16
/// publishers (1,000 at 100 receivers: 100,000 deliveries).
fn width_args(width: usize) -> Vec<&'static str> {
    let (receivers, events) = match width {
        1 => ("1", "2000"),
        3 => ("3", "2000"),
        20 => ("20", "2000"),
        _ => ("100", "1000"),
    };
    vec![
        "--receivers",
        receivers,
        "--events",
        events,
        "--publishers",
        "16",
    ]
}

/// The runs of one store, before the one at half the measured rate.
fn plans(store: &str) -> Vec<(String, Vec<&'static str>)> {
    let mut plans = Vec::new();
    // Each width with statistics, then on fresh tables, side by side.
    for width in WIDTHS {
        plans.push((width_label(store, width, false), width_args(width)));
        let mut fresh = width_args(width);
        fresh.push("--no-analyze");
        plans.push((width_label(store, width, true), fresh));
    }
    for n in 2..=3 {
        plans.push((format!("{store}, 20 receivers #{n}"), TWENTY.to_vec()));
    }
    // The cliff of issue 39: ANALYZE while the tables are small (a new hub
    // that autovacuum analyzes early), then the tables grow under load.
    for (width, warmup) in EARLY_ANALYZE {
        let mut early = width_args(width);
        early.extend(["--warmup", warmup]);
        plans.push((early_label(store, width), early));
    }
    // Issue 39's peer setup: receivers in their own process, answering at
    // once; twice each, with statistics.
    for width in APART_WIDTHS {
        for n in 1..=2 {
            let mut apart = width_args(width);
            apart.push("--receivers-apart");
            plans.push((apart_label(store, width, n), apart));
        }
    }
    let slow = vec![
        "--receivers",
        "1",
        "--receiver-delay",
        "50ms",
        "--events",
        "300",
        "--publishers",
        "4",
    ];
    plans.push((format!("{store}, a 50 ms receiver"), slow.clone()));
    let mut ordered = slow;
    ordered.extend(["--max-in-flight", "1"]);
    plans.push((format!("{store}, a 50 ms receiver, ordered"), ordered));
    plans.push((
        format!("{store}, 19 behind a failing event"),
        vec![
            "--receivers",
            "1",
            "--events",
            "20",
            "--publishers",
            "1",
            "--fail-one",
            "--warmup",
            "0",
        ],
    ));
    let mut prefilled = TWENTY.to_vec();
    prefilled.extend(["--prefill", "200000"]);
    plans.push((format!("{store}, 20 receivers, 200k prefilled"), prefilled));
    plans
}

/// Runs every plan on SQLite and, with `database_url` (a server the bench
/// may make databases on), on PostgreSQL.
pub fn run(root: &Path, database_url: Option<&str>) -> Result<Fanout> {
    let mut commands = Vec::new();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--release", "--package", "gladly-webhook-bench"])
        .current_dir(root);
    commands.push("cargo build --release --package gladly-webhook-bench".to_string());
    let built = build.status().context("cannot run cargo build")?;
    if !built.success() {
        bail!("building the bench failed");
    }
    let bench = root.join("target/release/gladly-webhook-bench");
    let mut stores = vec![("sqlite", Vec::<String>::new())];
    if let Some(url) = database_url {
        stores.push((
            "postgres",
            vec![
                "--database-url".into(),
                url.to_string(),
                "--fresh-database".into(),
            ],
        ));
    }
    let mut runs = Vec::new();
    let mut failed = Vec::new();
    let mut one = |label: String, args: Vec<String>, runs: &mut Vec<Run>| {
        let (command, result) = fanout_once(&bench, &label, &args);
        commands.push(command);
        match result {
            Ok(run) => runs.push(run),
            Err(why) => failed.push((label, why)),
        }
    };
    for (store, store_args) in &stores {
        for (label, args) in plans(store) {
            let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            all.extend(store_args.iter().cloned());
            one(label, all, &mut runs);
        }
    }
    // Latency at half the lowest rate the three 20-receiver runs measured.
    for (store, store_args) in &stores {
        let lowest = runs
            .iter()
            .filter(|r| r.label.starts_with(&format!("{store}, 20 receivers #")))
            .map(|r| r.events_per_second)
            .fold(f64::INFINITY, f64::min);
        if !lowest.is_finite() {
            continue;
        }
        let rate = (lowest / 2.0).round().max(1.0);
        let mut all: Vec<String> = TWENTY.iter().map(|a| a.to_string()).collect();
        all.extend(["--rate".to_string(), format!("{rate}")]);
        all.extend(store_args.iter().cloned());
        one(
            format!("{store}, 20 receivers at half the rate"),
            all,
            &mut runs,
        );
    }
    Ok(Fanout {
        runs,
        failed,
        commands,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    })
}

/// Runs `gladly-webhook-bench fanout ARGS` once: the command as recorded
/// (a database URL shown as `$DATABASE_URL`) and its result or why not.
fn fanout_once(bench: &Path, label: &str, args: &[String]) -> (String, Result<Run, String>) {
    let shown: Vec<&str> = args
        .iter()
        .map(|a| {
            if a.contains("://") {
                "$DATABASE_URL"
            } else {
                a.as_str()
            }
        })
        .collect();
    let command = format!(
        "target/release/gladly-webhook-bench fanout {}",
        shown.join(" ")
    );
    eprintln!("bench-report: fanout: {label}");
    let result = match Command::new(bench).arg("fanout").args(args).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().last().unwrap_or_default();
            parse_run(label, line).map_err(|e| e.to_string())
        }
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(err) => Err(err.to_string()),
    };
    (command, result)
}

/// A target: what it asks, what was measured, whether it is met.
struct Target {
    what: String,
    measured: String,
    met: bool,
}

/// A width's runs with statistics (the median of three at 20) and on
/// fresh tables: `(rate, p99)` of each.
fn statistics_against_fresh(
    f: &Fanout,
    store: &str,
    width: usize,
) -> Option<((f64, f64), (f64, f64))> {
    let analyzed = if width == 20 {
        let mut runs = f.runs_of(&format!("{store}, 20 receivers #"));
        runs.sort_by(|a, b| a.deliveries_per_second.total_cmp(&b.deliveries_per_second));
        runs.get(runs.len() / 2).copied()
    } else {
        f.runs
            .iter()
            .find(|r| r.label == width_label(store, width, false))
    }?;
    let fresh = f
        .runs
        .iter()
        .find(|r| r.label == width_label(store, width, true))?;
    Some((
        (analyzed.deliveries_per_second, analyzed.p99_ms),
        (fresh.deliveries_per_second, fresh.p99_ms),
    ))
}

/// Issue 39's targets on PostgreSQL: with statistics within 20% of fresh
/// tables and a p99 no worse at every width, 3x Svix's figures at 3 and 20.
fn statistics_targets(f: &Fanout, out: &mut Vec<Target>) {
    let mut ratios = Vec::new();
    let mut p99s = Vec::new();
    let mut all = true;
    let mut p99_ok = true;
    for width in WIDTHS {
        let Some(((rate, p99), (fresh, fresh_p99))) =
            statistics_against_fresh(f, "postgres", width)
        else {
            all = false;
            continue;
        };
        let ratio = rate / fresh;
        all &= ratio >= 0.8;
        p99_ok &= p99 <= fresh_p99;
        ratios.push(format!("{width}: {ratio:.2}"));
        p99s.push(format!("{width}: {p99:.0} / {fresh_p99:.0} ms"));
    }
    if ratios.is_empty() {
        return;
    }
    out.push(Target {
        what: "postgres, with statistics: ≥ 0.8x fresh tables at 1, 3, 20 and 100 receivers"
            .to_string(),
        measured: ratios.join(", "),
        met: all,
    });
    let mut early = Vec::new();
    let mut early_ok = true;
    for (width, warmup) in EARLY_ANALYZE {
        let run = f
            .runs
            .iter()
            .find(|r| r.label == early_label("postgres", width));
        let fresh = f
            .runs
            .iter()
            .find(|r| r.label == width_label("postgres", width, true));
        if let (Some(run), Some(fresh)) = (run, fresh) {
            let ratio = run.deliveries_per_second / fresh.deliveries_per_second;
            early_ok &= ratio >= 0.8;
            early.push(format!("{width} (after {warmup} events): {ratio:.2}"));
        }
    }
    if !early.is_empty() {
        out.push(Target {
            what: "postgres, ANALYZE of small tables (then grown under load): ≥ 0.8x fresh tables"
                .to_string(),
            measured: early.join(", "),
            met: early_ok,
        });
    }
    out.push(Target {
        what: "postgres, with statistics: p99 no worse than on fresh tables".to_string(),
        measured: p99s.join(", "),
        met: all && p99_ok,
    });
    // Svix was measured with its receivers in their own process, answering
    // at once: the runs apart are the ones to hold against it.
    for (width, floor) in [(3, 6600.0), (20, 11_000.0)] {
        let runs = f.runs_of(&format!("postgres, {width} receivers apart #"));
        if runs.is_empty() {
            continue;
        }
        let rates: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.0}", r.deliveries_per_second))
            .collect();
        out.push(Target {
            what: format!(
                "postgres, {width} receivers apart (their own process, answering at once, as Svix was measured), with statistics: ≥ {floor:.0} deliveries/s in each run (3x Svix)"
            ),
            measured: rates.join(", "),
            met: runs.iter().all(|r| r.deliveries_per_second >= floor),
        });
    }
}

fn targets(f: &Fanout) -> Vec<Target> {
    let mut out = Vec::new();
    for (store, floor) in [("sqlite", 8000.0), ("postgres", 10_000.0)] {
        let twenty = f.runs_of(&format!("{store}, 20 receivers #"));
        if twenty.is_empty() {
            continue;
        }
        let rates: Vec<String> = twenty
            .iter()
            .map(|r| format!("{:.0}", r.deliveries_per_second))
            .collect();
        out.push(Target {
            what: format!("{store}, 20 receivers: ≥ {floor:.0} deliveries/s in every run"),
            measured: rates.join(", "),
            met: twenty.len() == 3 && twenty.iter().all(|r| r.deliveries_per_second >= floor),
        });
        let slow = f.runs_of(&format!("{store}, a 50 ms receiver"));
        let window = slow.iter().find(|r| !r.label.ends_with("ordered"));
        let ordered = slow.iter().find(|r| r.label.ends_with("ordered"));
        if let (Some(window), Some(ordered)) = (window, ordered) {
            let ratio = window.deliveries_per_second / ordered.deliveries_per_second;
            out.push(Target {
                what: format!("{store}, a 50 ms receiver: ≥ 100 deliveries/s, ≥ 5x strict order"),
                measured: format!(
                    "{:.0}/s, {ratio:.1}x ({:.0}/s ordered)",
                    window.deliveries_per_second, ordered.deliveries_per_second
                ),
                met: window.deliveries_per_second >= 100.0 && ratio >= 5.0,
            });
        }
        if let Some(failing) = f
            .runs_of(&format!("{store}, 19 behind a failing event"))
            .first()
        {
            // The failing event is retried after 2 s: finishing sooner is
            // not waiting for it.
            out.push(Target {
                what: format!("{store}: 19 of 19 behind a failing event delivered at once"),
                measured: format!("all 19 in {:.2} s", failing.total_seconds),
                met: failing.total_seconds < 2.0,
            });
        }
        if let Some(prefilled) = f
            .runs_of(&format!("{store}, 20 receivers, 200k prefilled"))
            .first()
        {
            let mut empty: Vec<f64> = twenty.iter().map(|r| r.deliveries_per_second).collect();
            empty.sort_by(f64::total_cmp);
            let median = empty[empty.len() / 2];
            let ratio = prefilled.deliveries_per_second / median;
            out.push(Target {
                what: format!(
                    "{store}: 200,000 rows prefilled: at most 20% slower than an empty store"
                ),
                measured: format!(
                    "{:.0}/s, {:.0}% of the empty store's median {median:.0}/s",
                    prefilled.deliveries_per_second,
                    ratio * 100.0
                ),
                met: ratio >= 0.8,
            });
        }
        if let Some(half) = f
            .runs_of(&format!("{store}, 20 receivers at half the rate"))
            .first()
        {
            out.push(Target {
                what: format!("{store}: p99 publish-to-delivery ≤ 250 ms at half the rate"),
                measured: format!("p99 {:.0} ms", half.p99_ms),
                met: half.p99_ms <= 250.0,
            });
        }
    }
    statistics_targets(f, &mut out);
    out
}

fn ms(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.2} s", value / 1000.0)
    } else {
        format!("{value:.0} ms")
    }
}

/// The section, from its heading.
pub fn render_section(f: &Fanout) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADING}\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench-report --only fanout` on {}. One process holds the hub (API and dispatcher), the receivers (`Receiver::inline`, verifying each signature) and the publishers, except in the runs marked apart (`--receivers-apart`: the receivers in a process of their own, answering 200 at once without verifying, the setup in which issue 39 measured Svix's server and the hub); PostgreSQL, when measured, shares the machine. Every run publishes 200 warm-up events first, then runs `ANALYZE` (but those marked fresh tables), so the planner has statistics as a hub that has run a while does; latency is from the publisher's 202 to the receiver's handler. The crate docs of `fanout` in `gladly-webhook-bench` show how to check the outbox's plans.\n",
        f.date
    );
    let _ = writeln!(out, "![deliveries per second by run]({CHART})\n");
    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(out, "| target | measured | met |\n|---|---|---|");
    for t in targets(f) {
        let met = if t.met { "yes" } else { "**no**" };
        let _ = writeln!(out, "| {} | {} | {met} |", t.what, t.measured);
    }
    let _ = writeln!(out, "\n### With statistics against fresh tables\n");
    let _ = writeln!(
        out,
        "Each width run after `ANALYZE` (the median of three at 20) and on fresh tables (`--no-analyze`), side by side: the ratio falls when statistics lead the planner astray. The section \"Fan-out on PostgreSQL with statistics: the diagnosis\" below has each hot statement's time and plan both ways.\n"
    );
    let _ = writeln!(
        out,
        "| store | receivers | with statistics | fresh tables | ratio | p99 with / fresh |\n|---|---|---|---|---|---|"
    );
    for store in ["sqlite", "postgres"] {
        for width in WIDTHS {
            if let Some(((rate, p99), (fresh, fresh_p99))) =
                statistics_against_fresh(f, store, width)
            {
                let _ = writeln!(
                    out,
                    "| {store} | {width} | {rate:.0}/s | {fresh:.0}/s | {:.2} | {} / {} |",
                    rate / fresh,
                    ms(p99),
                    ms(fresh_p99)
                );
            }
        }
    }
    let _ = writeln!(out, "\n### Runs\n");
    let _ = writeln!(
        out,
        "| run | published/s | deliveries/s | p50 | p99 | seconds |\n|---|---|---|---|---|---|"
    );
    for r in &f.runs {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {} | {} | {:.2} |",
            r.label,
            r.published_per_second,
            r.deliveries_per_second,
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.total_seconds
        );
    }
    for (label, why) in &f.failed {
        let why = why.lines().last().unwrap_or_default().replace('|', "\\|");
        let _ = writeln!(out, "| {label} | did not finish: {why} | | | | |");
    }
    let _ = writeln!(out, "\n### Commands run\n\n```sh");
    for command in &f.commands {
        let _ = writeln!(out, "{command}");
    }
    let _ = writeln!(out, "```");
    out
}

/// A horizontal bar per run: its deliveries per second.
pub fn render_svg(f: &Fanout) -> String {
    let (left, top, bar_h, gap, width) = (300.0, 40.0, 16.0, 6.0, 420.0);
    let max = f
        .runs
        .iter()
        .map(|r| r.deliveries_per_second)
        .fold(1.0, f64::max);
    let height = top + (bar_h + gap) * f.runs.len() as f64 + 20.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#,
        left + width + 80.0
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="22" font-size="14">The hub's fan-out: deliveries/s by run ({})</text>"#,
        f.date
    );
    for (i, r) in f.runs.iter().enumerate() {
        let y = top + (bar_h + gap) * i as f64;
        let w = width * r.deliveries_per_second / max;
        let color = if r.store == "postgres" {
            "#08519c"
        } else {
            "#f16913"
        };
        let _ = writeln!(
            svg,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{}</text><rect x="{left}" y="{y:.1}" width="{w:.1}" height="{bar_h}" fill="{color}"><title>{}: {:.0} deliveries/s</title></rect><text x="{:.1}" y="{:.1}">{:.0}</text>"#,
            left - 6.0,
            y + 12.0,
            r.label,
            r.label,
            r.deliveries_per_second,
            left + w + 4.0,
            y + 12.0,
            r.deliveries_per_second
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// `existing` (a whole `BENCHMARKS.md`) with its fan-out section replaced
/// by `section` (or `section` appended); what follows it stays.
pub fn splice(existing: &str, section: &str) -> String {
    crate::sections::splice(existing, HEADING, section)
}

/// Runs the fan-out benchmarks and writes the section and the chart.
pub fn report(root: &Path, database_url: Option<&str>) -> Result<()> {
    let results = run(root, database_url)?;
    crate::sections::write(
        root,
        HEADING,
        &render_section(&results),
        CHART,
        &render_svg(&results),
    )
}
