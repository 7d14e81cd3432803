//! `cargo xtask bench-report --only receive`: receiving over HTTP, end to
//! end, side by side in one run: the bare HTTP stack (the floor), the
//! receiver inline, with a SQLite inbox (FULL and NORMAL), with a
//! PostgreSQL inbox (when a database URL is given), the relay accepting
//! into each of those stores, and the peer,
//! `@octokit/webhooks` on Node. Written into `BENCHMARKS.md` as the section
//! "Receiving over HTTP", with an SVG chart beside it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The heading the section starts with; everything from it to the end of
/// `BENCHMARKS.md` is this section.
pub const HEADING: &str = "## Receiving over HTTP";

/// The chart's file name, beside `BENCHMARKS.md`.
pub const CHART: &str = "benchmarks-receive.svg";

/// One load run: a server at a concurrency.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The server's label (`floor`, `inline`, `sqlite-full`...).
    pub server: String,
    /// Concurrent keep-alive connections.
    pub connections: u64,
    /// Requests answered per second.
    pub rps: f64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th percentile latency, microseconds.
    pub p99_us: u64,
    /// Answers other than 2xx.
    pub non_2xx: u64,
}

/// Everything one `--only receive` run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Receive {
    /// Every run.
    pub runs: Vec<Run>,
    /// fsyncs per second of a small append on the disk the SQLite inbox used.
    pub fsync_per_second: f64,
    /// The commands run, in order, for the record.
    pub commands: Vec<String>,
    /// When.
    pub date: String,
}

impl Receive {
    /// The run of `server` at `connections`, if measured.
    pub fn get(&self, server: &str, connections: u64) -> Option<&Run> {
        self.runs
            .iter()
            .find(|r| r.server == server && r.connections == connections)
    }
}

/// The servers, in the order of the tables: label and `receive` arguments.
fn servers(database_url: Option<&str>) -> Vec<(&'static str, Vec<String>, &'static str)> {
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let mut all = vec![
        ("floor", s(&["--server", "floor"]), "1,16,64"),
        ("inline", s(&["--server", "inline"]), "1,16,64"),
        ("sqlite-full", s(&["--server", "sqlite"]), "1,16,64"),
        (
            "sqlite-normal",
            s(&["--server", "sqlite", "--normal-sync"]),
            "1,16,64",
        ),
        (
            "sqlite-full-no-group-commit",
            s(&["--server", "sqlite", "--no-group-commit"]),
            "64",
        ),
        ("relay", s(&["--server", "relay"]), "16,64"),
    ];
    if let Some(url) = database_url {
        for (label, server, connections) in [
            ("postgres", "postgres", "1,16,32,64"),
            ("relay-postgres", "relay-postgres", "16,64"),
        ] {
            all.push((
                label,
                vec![
                    "--server".into(),
                    server.into(),
                    "--database-url".into(),
                    url.to_string(),
                ],
                connections,
            ));
        }
    }
    all.push(("octokit", s(&["--server", "octokit"]), "1,16,64"));
    all
}

/// Runs every server through the load generator (`seconds` per run) and
/// measures the fsync ceiling. Needs `node` and `npm` for the peer.
pub fn run(root: &Path, database_url: Option<&str>, seconds: f64) -> Result<Receive> {
    let mut commands = Vec::new();
    // Recorded as a reader would type them: paths relative to the
    // workspace, `cargo` by name, the database URL as a variable.
    let shown = |text: &str| -> String {
        if text.contains("://") {
            return "$DATABASE_URL".to_string();
        }
        let path = Path::new(text);
        match path.strip_prefix(root) {
            Ok(relative) => relative.display().to_string(),
            Err(_) if path.file_name().is_some_and(|n| n == "cargo") => "cargo".to_string(),
            Err(_) => text.to_string(),
        }
    };
    let mut record = |command: &Command| {
        let args: Vec<String> = command
            .get_args()
            .map(|a| shown(&a.to_string_lossy()))
            .collect();
        let program = shown(&command.get_program().to_string_lossy());
        let dir = command
            .get_current_dir()
            .filter(|d| *d != root)
            .map_or(String::new(), |d| {
                format!("(cd {} && ", shown(&d.to_string_lossy()))
            });
        let close = if dir.is_empty() { "" } else { ")" };
        commands.push(format!("{dir}{program} {}{close}", args.join(" ")));
    };
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--release", "--package", "gladly-webhook-bench"])
        .current_dir(root);
    record(&build);
    ensure(build.status(), "cargo build of the bench")?;
    let peer = root.join("crates/gladly-webhook-bench/octokit");
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&peer);
    record(&npm);
    ensure(npm.status(), "npm ci (the octokit peer)")?;

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bench = target.join("release/gladly-webhook-bench");

    let mut fsync = Command::new(&bench);
    fsync.args(["fsync", "--seconds", "3"]);
    record(&fsync);
    let out = output(&mut fsync)?;
    let value: serde_json::Value = serde_json::from_str(out.trim()).context("fsync's output")?;
    let fsync_per_second = value["fsyncs_per_second"]
        .as_f64()
        .context("fsyncs_per_second")?;

    let mut runs = Vec::new();
    for (label, args, connections) in servers(database_url) {
        let mut receive = Command::new(&bench);
        receive.arg("receive").args(&args).args([
            "--connections",
            connections,
            "--seconds",
            &seconds.to_string(),
            "--label",
            label,
        ]);
        record(&receive);
        for line in output(&mut receive)?.lines() {
            runs.push(parse_run(line)?);
        }
    }
    Ok(Receive {
        runs,
        fsync_per_second,
        commands,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    })
}

fn ensure(status: std::io::Result<std::process::ExitStatus>, what: &str) -> Result<()> {
    let status = status.with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn output(command: &mut Command) -> Result<String> {
    let out = command.output().context("cannot run the bench")?;
    if !out.status.success() {
        bail!(
            "the bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One JSON line of `gladly-webhook-bench receive`.
pub fn parse_run(line: &str) -> Result<Run> {
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("not a result line: {line}"))?;
    let num = |key: &str| v[key].as_f64().with_context(|| format!("{key} in {line}"));
    Ok(Run {
        server: v["server"].as_str().context("server")?.to_string(),
        connections: num("connections")? as u64,
        rps: num("requests_per_second")?,
        p50_us: num("p50_us")? as u64,
        p99_us: num("p99_us")? as u64,
        non_2xx: num("non_2xx")? as u64,
    })
}

/// A target: what it asks, what was measured, whether it is met.
struct Target {
    what: String,
    measured: String,
    met: Option<bool>,
}

fn targets(r: &Receive) -> Vec<Target> {
    let rps = |s: &str, c: u64| r.get(s, c).map(|run| run.rps);
    let mut out = Vec::new();
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let times = |x: Option<f64>| x.map_or("not measured".into(), |x| format!("{x:.2}x"));
    let pg = r.get("postgres", 64);
    out.push(Target {
        what: "PostgreSQL inbox ≥ 10,000 events/s at 64 connections, p99 ≤ 50 ms".into(),
        measured: pg.map_or("not measured (no database URL given)".into(), |run| {
            format!("{:.0} events/s, p99 {}", run.rps, ms(run.p99_us))
        }),
        met: pg.map(|run| run.rps >= 10_000.0 && run.p99_us <= 50_000),
    });
    let full = rps("sqlite-full", 64);
    let vs_fsync = full.map(|f| f / r.fsync_per_second);
    out.push(Target {
        what: "ours with the SQLite inbox (FULL) ≥ 2.5x the fsync ceiling (group commit works)"
            .into(),
        measured: vs_fsync.map_or("not measured".into(), |x| {
            format!(
                "{x:.2}x ({:.0} events/s against {:.0} fsyncs/s)",
                full.unwrap_or(0.0),
                r.fsync_per_second
            )
        }),
        met: vs_fsync.map(|x| x >= 2.5),
    });
    let full_floor = ratio(full, rps("floor", 64));
    out.push(Target {
        what: "ours with the SQLite inbox (FULL) ≥ 0.25x the floor at 64 connections".into(),
        measured: times(full_floor),
        met: full_floor.map(|x| x >= 0.25),
    });
    for (connections, at_least) in [(64, 0.9), (1, 0.95)] {
        let inline_floor = ratio(rps("inline", connections), rps("floor", connections));
        out.push(Target {
            what: format!(
                "ours inline ≥ {at_least}x the floor's requests/s at {connections} connection{}",
                if connections == 1 { "" } else { "s" }
            ),
            measured: times(inline_floor),
            met: inline_floor.map(|x| x >= at_least),
        });
    }
    for (relay, inbox, store) in [
        ("relay", "sqlite-full", "SQLite"),
        ("relay-postgres", "postgres", "PostgreSQL"),
    ] {
        let (accepted, kept) = (rps(relay, 64), rps(inbox, 64));
        out.push(Target {
            what: format!(
                "the relay's acceptance (5 destinations) ≥ the {store} inbox's at 64 connections"
            ),
            measured: match accepted.zip(kept) {
                Some((a, k)) => format!("{:.2}x ({a:.0} against {k:.0} events/s)", a / k),
                None => "not measured".into(),
            },
            met: accepted.zip(kept).map(|(a, k)| a >= k),
        });
    }
    let vs_octokit = ratio(rps("inline", 64), rps("octokit", 64));
    let p99 = r
        .get("inline", 64)
        .zip(r.get("octokit", 64))
        .map(|(a, b)| (a.p99_us, b.p99_us));
    out.push(Target {
        what: "ours inline ≥ 4x octokit's requests/s at 64 connections, with a lower p99".into(),
        measured: match (vs_octokit, p99) {
            (Some(x), Some((a, b))) => format!("{x:.2}x; p99 {} against {}", ms(a), ms(b)),
            _ => "not measured".into(),
        },
        met: vs_octokit.zip(p99).map(|(x, (a, b))| x >= 4.0 && a < b),
    });
    out
}

fn ms(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// The section's markdown.
pub fn render_section(r: &Receive) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADING}\n");
    let _ = writeln!(
        out,
        "Written by `cargo xtask bench-report --only receive` on {}. Each server is started by the bench and stopped after; \
         the load generator (`gladly-webhook-bench load`) holds N HTTP/1.1 keep-alive connections on 127.0.0.1, each request a \
         distinct 1 KiB event (a fresh id) signed for that request (GitHub's `X-Hub-Signature-256` for the peer). The load \
         generator and the server share the machine's 2 cores, so every figure includes the generator's cost; the ratios, \
         measured in one run, are the result.\n",
        r.date
    );
    let _ = writeln!(
        out,
        "- *floor*: a bare axum handler that buffers the body and answers 200;\n\
         - *inline*: the receiver verifying, parsing and calling a no-op handler;\n\
         - *sqlite-full* / *sqlite-normal*: the receiver committing each event to a SQLite inbox, `synchronous=FULL` / `NORMAL`, \
         group commit on (*sqlite-full-no-group-commit*: off); the fsync ceiling of the same disk is {:.0} fsyncs/s;\n\
         - *postgres*: the receiver with a PostgreSQL inbox (Debian's server, default durability);\n\
         - *relay* / *relay-postgres*: the relay accepting Gladly's deliveries into its store (SQLite FULL / PostgreSQL), \
         each event with a delivery to each of 5 destinations, its dispatcher not started;\n\
         - *octokit*: `@octokit/webhooks` `createNodeMiddleware` on Node's `http` server, verifying and dispatching to a no-op.\n",
        r.fsync_per_second
    );
    let _ = writeln!(
        out,
        "![requests per second by server and concurrency]({CHART})\n"
    );
    let _ = writeln!(
        out,
        "### Targets\n\n| target | measured | met |\n|---|---|---|"
    );
    for t in targets(r) {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        let _ = writeln!(out, "| {} | {} | {met} |", t.what, t.measured);
    }
    let _ = writeln!(
        out,
        "\nWhy a target is missed, with the CPU of each process per event and what would reach it: \
         \"Receiving: what limits the inline receiver, the SQLite inbox and the relay\" below."
    );
    let mut levels: Vec<u64> = r.runs.iter().map(|run| run.connections).collect();
    levels.sort_unstable();
    levels.dedup();
    for connections in levels {
        let floor = r.get("floor", connections).map(|f| f.rps);
        let _ = writeln!(
            out,
            "\n### {connections} connection{}\n\n| server | requests/s | p50 | p99 | non-2xx | / floor |\n|---|---|---|---|---|---|",
            if connections == 1 { "" } else { "s" }
        );
        for run in r.runs.iter().filter(|run| run.connections == connections) {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {} | {} | {} | {} |",
                run.server,
                run.rps,
                ms(run.p50_us),
                ms(run.p99_us),
                run.non_2xx,
                floor.map_or("-".to_string(), |f| format!("{:.2}x", run.rps / f))
            );
        }
    }
    let _ = writeln!(out, "\n### Commands run\n\n```sh");
    for command in &r.commands {
        let _ = writeln!(out, "{command}");
    }
    let _ = writeln!(out, "```");
    out
}

/// A grouped bar chart: requests/s for each server, a bar per concurrency.
pub fn render_svg(r: &Receive) -> String {
    let mut servers: Vec<&str> = Vec::new();
    for run in &r.runs {
        if !servers.contains(&run.server.as_str()) {
            servers.push(&run.server);
        }
    }
    let mut levels: Vec<u64> = r.runs.iter().map(|run| run.connections).collect();
    levels.sort_unstable();
    levels.dedup();
    let colors = ["#9ecae1", "#4292c6", "#08519c", "#f16913", "#41ab5d"];
    let max = r.runs.iter().map(|run| run.rps).fold(1.0, f64::max);
    let (left, top, height, group_w, bar_w) = (70.0, 40.0, 300.0, 120.0, 22.0);
    let width = left + group_w * servers.len() as f64 + 150.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{:.0}" font-family="sans-serif" font-size="11">"#,
        top + height + 90.0
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="22" font-size="14">Receiving over HTTP: requests/s by server and connections ({})</text>"#,
        r.date
    );
    for i in 0..=4 {
        let value = max * f64::from(i) / 4.0;
        let y = top + height - height * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{:.0}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{value:.0}</text>",
            left + group_w * servers.len() as f64,
            left - 6.0,
            y + 4.0
        );
    }
    for (g, server) in servers.iter().enumerate() {
        let x0 = left + group_w * g as f64 + 10.0;
        for (b, connections) in levels.iter().enumerate() {
            let Some(run) = r.get(server, *connections) else {
                continue;
            };
            let h = height * run.rps / max;
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar_w}" height="{h:.1}" fill="{}"><title>{server} at {connections}: {:.0} req/s</title></rect>"#,
                x0 + bar_w * b as f64,
                top + height - h,
                colors[b % colors.len()],
                run.rps
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" transform="rotate(-30 {:.1} {:.1})">{server}</text>"#,
            x0 + group_w / 2.0,
            top + height + 16.0,
            x0 + group_w / 2.0,
            top + height + 16.0
        );
    }
    for (b, connections) in levels.iter().enumerate() {
        let y = top + 14.0 * b as f64;
        let x = left + group_w * servers.len() as f64 + 20.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.0}" y="{y:.0}" width="10" height="10" fill="{}"/><text x="{:.0}" y="{:.0}">{connections} connections</text>"#,
            colors[b % colors.len()],
            x + 14.0,
            y + 9.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// `existing` (a whole `BENCHMARKS.md`) with its receive section replaced
/// by `section` (or `section` appended); the sections after it stay.
pub fn splice(existing: &str, section: &str) -> String {
    crate::sections::splice(existing, HEADING, section)
}

/// The receive section of `existing`, if it has one: from its heading to
/// the next section of the same level (such as the fan-out section), or to
/// the end.
pub fn section_of(existing: &str) -> Option<&str> {
    crate::sections::section_of(existing, HEADING)
}

/// Runs the receive benchmarks and writes the section and the chart.
pub fn report(root: &Path, database_url: Option<&str>, seconds: f64) -> Result<()> {
    let results = run(root, database_url, seconds)?;
    crate::sections::write(
        root,
        HEADING,
        &render_section(&results),
        CHART,
        &render_svg(&results),
    )
}
