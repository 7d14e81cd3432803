//! The fan-out section of BENCHMARKS.md: result lines, targets, chart and
//! splicing, from a sample run (the benchmarks themselves run on demand).

use xtask::fanout_report::{
    CHART, Fanout, HEADING, Run, parse_run, render_section, render_svg, splice,
};

fn run(label: &str, store: &str, deliveries: f64, total: f64, p99: f64) -> Run {
    Run {
        label: label.to_string(),
        store: store.to_string(),
        published_per_second: deliveries / 20.0,
        deliveries_per_second: deliveries,
        events_per_second: deliveries / 20.0,
        total_seconds: total,
        p50_ms: p99 / 4.0,
        p99_ms: p99,
    }
}

fn sample() -> Fanout {
    Fanout {
        runs: vec![
            run("sqlite, 20 receivers #1", "sqlite", 9000.0, 4.4, 180.0),
            run("sqlite, 20 receivers #2", "sqlite", 8500.0, 4.7, 190.0),
            run("sqlite, 20 receivers #3", "sqlite", 7000.0, 5.7, 210.0),
            run("sqlite, a 50 ms receiver", "sqlite", 149.0, 2.0, 1700.0),
            run(
                "sqlite, a 50 ms receiver, ordered",
                "sqlite",
                19.0,
                15.9,
                15000.0,
            ),
            run(
                "sqlite, 19 behind a failing event",
                "sqlite",
                300.0,
                0.06,
                6.0,
            ),
            run(
                "sqlite, 20 receivers, 200k prefilled",
                "sqlite",
                7900.0,
                5.0,
                200.0,
            ),
            run(
                "sqlite, 20 receivers at half the rate",
                "sqlite",
                4000.0,
                10.0,
                51.0,
            ),
        ],
        failed: vec![(
            "postgres, 3 receivers".into(),
            "line 1\nconnection refused".into(),
        )],
        commands: vec!["target/release/gladly-webhook-bench fanout --receivers 20".into()],
        date: "2026-12-02 06:00 UTC".into(),
    }
}

#[test]
fn result_lines_parse() {
    let line = r#"{"store":"postgres","events":2000,"receivers":20,"publishers":16,"max_in_flight":8,"receiver_delay_ms":0,"fail_one":false,"prefilled_deliveries":0,"published_per_second":231.0,"events_per_second":114.6,"deliveries_per_second":2293.0,"publish_seconds":8.6,"total_seconds":17.45,"latency_p50_ms":7910.0,"latency_p99_ms":9170.0,"latency_max_ms":9334.0}"#;
    let run = parse_run("postgres, 20 receivers #1", line).unwrap();
    assert_eq!(run.store, "postgres");
    assert_eq!(run.deliveries_per_second, 2293.0);
    assert_eq!(run.p99_ms, 9170.0);
    assert!(parse_run("x", "gladly-webhook-bench: not every event").is_err());
}

#[test]
fn the_section_judges_every_target_from_the_runs() {
    let text = render_section(&sample());
    assert!(text.starts_with(HEADING));
    assert!(text.contains(&format!("![deliveries per second by run]({CHART})")));
    // One of three runs under 8k: missed.
    assert!(
        text.contains(
            "| sqlite, 20 receivers: ≥ 8000 deliveries/s in every run | 9000, 8500, 7000 | **no** |"
        ),
        "{text}"
    );
    assert!(
        text.contains("149/s, 7.8x (19/s ordered) | yes |"),
        "{text}"
    );
    assert!(text.contains("all 19 in 0.06 s | yes |"), "{text}");
    // 7900 against the median 8500: 93%.
    assert!(
        text.contains("7900/s, 93% of the empty store's median 8500/s | yes |"),
        "{text}"
    );
    assert!(text.contains("p99 51 ms | yes |"), "{text}");
    assert!(
        text.contains("| sqlite, a 50 ms receiver, ordered | 1 | 19 | 3.75 s | 15.00 s | 15.90 |"),
        "{text}"
    );
    assert!(
        text.contains("| postgres, 3 receivers | did not finish: connection refused |"),
        "{text}"
    );
}

#[test]
fn the_chart_has_a_bar_per_run() {
    let svg = render_svg(&sample());
    assert!(svg.starts_with("<svg"));
    assert_eq!(svg.matches("<title>").count(), 8);
    assert!(svg.contains("sqlite, 20 receivers #1: 9000 deliveries/s"));
}

#[test]
fn splicing_replaces_only_the_section() {
    let old =
        format!("# Benchmarks\n\n## Receiving over HTTP\n\nfigures\n\n{HEADING}\n\nby hand\n");
    let new = splice(&old, &format!("{HEADING}\n\nnew\n"));
    assert_eq!(
        new,
        format!("# Benchmarks\n\n## Receiving over HTTP\n\nfigures\n\n{HEADING}\n\nnew\n")
    );
    let with_tail = format!("{old}\n## Later\n\nstays\n");
    let new = splice(&with_tail, &format!("{HEADING}\n\nnew\n"));
    assert!(
        new.ends_with(&format!("{HEADING}\n\nnew\n\n## Later\n\nstays\n")),
        "{new}"
    );
    let appended = splice("# Benchmarks\n", &format!("{HEADING}\n\nx\n"));
    assert_eq!(appended, format!("# Benchmarks\n\n{HEADING}\n\nx\n"));
}

/// Issue 39: each width with statistics beside fresh tables, as a ratio,
/// and the PostgreSQL targets judged from them.
#[test]
fn statistics_are_set_against_fresh_tables_at_every_width() {
    use xtask::fanout_report::{WIDTHS, apart_label, early_label, width_label};
    let mut runs = Vec::new();
    for width in WIDTHS {
        let (with, fresh) = match width {
            3 => (3065.0, 7461.0),
            20 => (11_500.0, 12_000.0),
            _ => (9000.0, 9500.0),
        };
        runs.push(run(
            &width_label("postgres", width, false),
            "postgres",
            with,
            1.0,
            40.0,
        ));
        runs.push(run(
            &width_label("postgres", width, true),
            "postgres",
            fresh,
            1.0,
            50.0,
        ));
    }
    runs.push(run(
        "postgres, 20 receivers #2",
        "postgres",
        11_200.0,
        1.0,
        40.0,
    ));
    runs.push(run(
        "postgres, 20 receivers #3",
        "postgres",
        12_100.0,
        1.0,
        40.0,
    ));
    // After an ANALYZE of small tables: 3 at 0.26 of fresh (the cliff).
    runs.push(run(
        &early_label("postgres", 3),
        "postgres",
        1955.0,
        1.0,
        60.0,
    ));
    runs.push(run(
        &early_label("postgres", 20),
        "postgres",
        11_000.0,
        1.0,
        60.0,
    ));
    // The 3x Svix targets are judged from the runs apart only.
    for (width, n, rate) in [
        (3, 1, 6700.0),
        (3, 2, 6500.0),
        (20, 1, 11_600.0),
        (20, 2, 11_900.0),
    ] {
        runs.push(run(
            &apart_label("postgres", width, n),
            "postgres",
            rate,
            1.0,
            30.0,
        ));
    }
    let f = Fanout {
        runs,
        failed: Vec::new(),
        commands: Vec::new(),
        date: "2026-12-07 23:00 UTC".into(),
    };
    let text = render_section(&f);
    assert!(
        text.contains("| postgres | 3 | 3065/s | 7461/s | 0.41 | 40 ms / 50 ms |"),
        "{text}"
    );
    // The median of the three 20-receiver runs.
    assert!(
        text.contains("| postgres | 20 | 11500/s | 12000/s | 0.96 |"),
        "{text}"
    );
    assert!(
        text.contains("≥ 0.8x fresh tables at 1, 3, 20 and 100 receivers | 1: 0.95, 3: 0.41, 20: 0.96, 100: 0.95 | **no** |"),
        "{text}"
    );
    assert!(
        text.contains("| postgres, 3 receivers apart (their own process, answering at once, as Svix was measured), with statistics: ≥ 6600 deliveries/s in each run (3x Svix) | 6700, 6500 | **no** |"),
        "{text}"
    );
    assert!(
        text.contains("| postgres, 20 receivers apart (their own process, answering at once, as Svix was measured), with statistics: ≥ 11000 deliveries/s in each run (3x Svix) | 11600, 11900 | yes |"),
        "{text}"
    );
    assert!(
        text.contains("| postgres, ANALYZE of small tables (then grown under load): ≥ 0.8x fresh tables | 3 (after 10 events): 0.26, 20 (after 50 events): 0.92 | **no** |"),
        "{text}"
    );
    assert_eq!(
        width_label("sqlite", 1, true),
        "sqlite, 1 receiver, fresh tables"
    );
}
