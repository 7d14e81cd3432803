//! The report's arithmetic and its reading of criterion's output, on
//! synthetic results.

use std::fs;

use xtask::bench_report::{Estimate, Machine, Results, read_results, render};

fn results(verify_ours_1k: f64, validate_ours: f64) -> Results {
    let mut r = Results::new();
    let mut put = |g: &str, f: &str, p: &str, ns: f64, bytes: Option<u64>| {
        r.insert(
            (g.into(), f.into(), p.into()),
            Estimate {
                median_ns: ns,
                bytes,
            },
        );
    };
    for (size, bytes, floor) in [
        ("256B", 256, 500.0),
        ("1KiB", 1024, 1000.0),
        ("64KiB", 65536, 40_000.0),
        ("1MiB", 1 << 20, 640_000.0),
    ] {
        let ours = if size == "1KiB" {
            verify_ours_1k
        } else {
            floor * 1.05
        };
        put("verify", "ours", size, ours, Some(bytes));
        put("verify", "floor", size, floor, Some(bytes));
        put("verify", "standardwebhooks", size, floor * 1.5, Some(bytes));
    }
    for (size, floor) in [("1KiB", 1000.0), ("64KiB", 40_000.0)] {
        put("sign", "ours", size, floor * 1.3, None);
        put("sign", "floor", size, floor, None);
    }
    put("validate", "ours_schema", "valid", validate_ours, None);
    put(
        "validate",
        "ours_strict",
        "valid",
        validate_ours * 1.1,
        None,
    );
    put("validate", "jsonschema", "valid", 3000.0, None);
    put("validate", "floor", "valid", 800.0, None);
    put("validate", "ours_schema", "three_problems", 1500.0, None);
    put("validate", "ours_strict", "three_problems", 1600.0, None);
    put("validate", "jsonschema", "three_problems", 5000.0, None);
    put("parse_event", "ours", "conversation_closed", 900.0, None);
    put("parse_event", "value", "conversation_closed", 1200.0, None);
    r
}

fn machine() -> Machine {
    Machine {
        cpu: "Test CPU".into(),
        cores: 2,
        sha_extensions: true,
        rustc: "rustc 1.0".into(),
    }
}

#[test]
fn targets_met_and_missed() {
    let met = render(&results(1500.0, 1000.0), &machine(), "2026-11-26 18:00 UTC").unwrap();
    assert!(
        met.contains("| verify at 1KiB: at most 2.0x the floor | 1.50x | yes |"),
        "{met}"
    );
    assert!(
        met.contains("| verify at 64KiB: at most 1.1x the floor | 1.05x | yes |"),
        "{met}"
    );
    assert!(met.contains("at most 1.00x its time | yes |"), "{met}");
    assert!(met.contains("| 3.00x faster | yes |"), "{met}");
    assert!(met.contains("shared 2-core machine"));
    assert!(met.contains("SHA extensions: yes"));

    let missed = render(&results(2500.0, 2000.0), &machine(), "2026-11-26 18:00 UTC").unwrap();
    assert!(
        missed.contains("| verify at 1KiB: at most 2.0x the floor | 2.50x | **no** |"),
        "{missed}"
    );
    assert!(missed.contains("| 1.50x faster | **no** |"), "{missed}");
    // 2500 ns against standardwebhooks' 1500 ns at 1 KiB.
    assert!(
        missed.contains("at most 1.67x its time | **no** |"),
        "{missed}"
    );
}

#[test]
fn a_missing_result_is_an_error() {
    let mut r = results(1500.0, 1000.0);
    r.remove(&("verify".into(), "floor".into(), "1MiB".into()));
    let err = render(&r, &machine(), "now").unwrap_err().to_string();
    assert!(err.contains("verify/floor/1MiB"), "{err}");
}

#[test]
fn reads_criterion_output() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("verify/ours/1KiB/new");
    fs::create_dir_all(&new).unwrap();
    fs::create_dir_all(dir.path().join("report")).unwrap();
    fs::write(
        new.join("estimates.json"),
        r#"{"median": {"point_estimate": 1234.5}}"#,
    )
    .unwrap();
    fs::write(
        new.join("benchmark.json"),
        r#"{"throughput": {"Bytes": 1024}}"#,
    )
    .unwrap();
    let results = read_results(dir.path()).unwrap();
    assert_eq!(
        results[&("verify".to_string(), "ours".to_string(), "1KiB".to_string())],
        Estimate {
            median_ns: 1234.5,
            bytes: Some(1024)
        }
    );
    assert!(read_results(&dir.path().join("nothing")).is_err());
}
