//! The "Receiving over HTTP" section and its chart, from sample results.

use xtask::receive_report::{
    HEADING, Receive, Run, parse_run, render_section, render_svg, section_of, splice,
};

fn run(server: &str, connections: u64, rps: f64, p99_us: u64) -> Run {
    Run {
        server: server.to_string(),
        connections,
        rps,
        p50_us: p99_us / 3,
        p99_us,
        non_2xx: 0,
    }
}

fn sample() -> Receive {
    Receive {
        runs: vec![
            run("floor", 64, 90_000.0, 2_000),
            run("inline", 64, 80_000.0, 3_000),
            run("sqlite-full", 64, 20_000.0, 9_000),
            run("postgres", 32, 4_000.0, 13_000),
            run("postgres", 64, 12_000.0, 30_000),
            run("relay", 64, 15_000.0, 12_000),
            run("relay-postgres", 64, 12_500.0, 20_000),
            run("inline", 1, 8_700.0, 150),
            run("octokit", 64, 6_000.0, 28_000),
            run("floor", 1, 9_000.0, 200),
        ],
        fsync_per_second: 7_000.0,
        commands: vec!["target/release/gladly-webhook-bench receive --server floor".to_string()],
        date: "2026-11-27 00:00 UTC".to_string(),
    }
}

#[test]
fn targets_are_judged_from_the_ratios() {
    let text = render_section(&sample());
    assert!(text.starts_with(HEADING));
    // 80k / 90k = 0.89x at 64: not 0.9x; 8.7k / 9k = 0.97x at 1: met.
    // 20k / 7k fsyncs = 2.86x: met; 20k / 90k = 0.22x: not.
    assert!(
        text.contains(
            "| ours inline ≥ 0.9x the floor's requests/s at 64 connections | 0.89x | **no** |"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "| ours inline ≥ 0.95x the floor's requests/s at 1 connection | 0.97x | yes |"
        ),
        "{text}"
    );
    assert!(
        text.contains("2.86x (20000 events/s against 7000 fsyncs/s) | yes |"),
        "{text}"
    );
    assert!(
        text.contains(
            "| ours with the SQLite inbox (FULL) ≥ 0.25x the floor at 64 connections | 0.22x | **no** |"
        ),
        "{text}"
    );
    assert!(
        text.contains("13.33x; p99 3.0 ms against 28.0 ms | yes |"),
        "{text}"
    );
    assert!(
        text.contains(
            "| PostgreSQL inbox ≥ 10,000 events/s at 64 connections, p99 ≤ 50 ms | 12000 events/s, p99 30.0 ms | yes |"
        ),
        "{text}"
    );
    // 15k / 20k on SQLite: 0.75x, not met; 12.5k / 12k on PostgreSQL: met.
    assert!(
        text.contains(
            "| the relay's acceptance (5 destinations) ≥ the SQLite inbox's at 64 connections | 0.75x (15000 against 20000 events/s) | **no** |"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "| the relay's acceptance (5 destinations) ≥ the PostgreSQL inbox's at 64 connections | 1.04x (12500 against 12000 events/s) | yes |"
        ),
        "{text}"
    );
    assert!(text.contains("### 1 connection\n"));
    assert!(
        text.contains("| inline | 80000 | 1.0 ms | 3.0 ms | 0 | 0.89x |"),
        "{text}"
    );
    assert!(text.contains("gladly-webhook-bench receive --server floor"));
}

#[test]
fn the_chart_has_a_bar_per_run() {
    let svg = render_svg(&sample());
    assert!(svg.starts_with("<svg"));
    assert_eq!(svg.matches("<title>").count(), 10);
    assert!(svg.contains("octokit at 64: 6000 req/s"));
}

#[test]
fn splicing_replaces_only_the_section() {
    let old = format!("# Benchmarks\n\nmicro tables\n\n{HEADING}\n\nold figures\n");
    let new = splice(&old, &render_section(&sample()));
    assert!(new.starts_with("# Benchmarks\n\nmicro tables\n\n## Receiving"));
    assert!(!new.contains("old figures"));
    assert_eq!(section_of(&new).unwrap(), render_section(&sample()));
    let appended = splice("# Benchmarks\n", "## Receiving over HTTP\n\nx\n");
    assert_eq!(appended, "# Benchmarks\n\n## Receiving over HTTP\n\nx\n");
    // A section written by hand after it stays, after it.
    let with_tail = format!("{old}\n### Commands run\n\nold\n\n## Fan-out\n\nby hand\n");
    let new = splice(&with_tail, "## Receiving over HTTP\n\nnew\n");
    assert_eq!(
        new,
        "# Benchmarks\n\nmicro tables\n\n## Receiving over HTTP\n\nnew\n\n## Fan-out\n\nby hand\n"
    );
    assert_eq!(
        section_of(&new).unwrap(),
        "## Receiving over HTTP\n\nnew\n\n"
    );
}

#[test]
fn result_lines_parse() {
    let line = r#"{"connections":64,"max_us":18551,"non_2xx":2,"p50_us":8982,"p99_us":16412,"requests":35549,"requests_per_second":7104.0,"seconds":5.0,"server":"sqlite-full"}"#;
    let run = parse_run(line).unwrap();
    assert_eq!(
        (
            run.server.as_str(),
            run.connections,
            run.non_2xx,
            run.p99_us
        ),
        ("sqlite-full", 64, 2, 16412)
    );
    assert!(parse_run("{}").is_err());
}
