//! The README's shell blocks (issue 37, item 7): each one either runs as
//! written, here, or says in its first line why no test runs it (a sketch,
//! or a step `.ci/run` takes itself). The blocks that run are run as they
//! stand, each in a fresh folder holding the repository's `.ci/` (as a
//! clone does) with the `gladly-webhook` this test built first on the
//! `PATH`, and the NATS consumer example after it (the block's own `cargo
//! build` lines are skipped: they made those binaries), and must exit 0.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How a block that no test runs says so, in its first line.
const NOT_RUN: &[&str] = &["# A sketch", "# Not run by the README test:"];

/// The line that builds the tool and puts it on the `PATH`, in the forms
/// the README uses; replaced by this test's binary.
const BUILD_LINES: &[&str] = &[
    "cargo build -q -p gladly-webhook-cli && export PATH=\"$PWD/target/debug:$PATH\"",
    "cargo build -p gladly-webhook-cli && export PATH=\"$PWD/target/debug:$PATH\"",
];

/// The line that builds the NATS consumer example and puts it on the
/// `PATH`; replaced by the example `cargo test --workspace` built.
const EXAMPLE_LINE: &str = "cargo build -q -p gladly-webhook-relay --features nats --example nats_consumer && export PATH=\"$PWD/target/debug/examples:$PATH\"";

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).unwrap()
}

/// The README's ```sh blocks, in order.
fn shell_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("```sh\n") {
        let body = &rest[at + 6..];
        let end = body.find("```\n").expect("a closed block");
        blocks.push(body[..end].to_string());
        rest = &body[end + 4..];
    }
    blocks
}

#[test]
fn every_readme_shell_block_runs_as_written_or_says_why_not() {
    let blocks = shell_blocks(&readme());
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    let bin_dir: PathBuf = Path::new(env!("CARGO_BIN_EXE_gladly-webhook"))
        .parent()
        .unwrap()
        .to_path_buf();
    let examples = bin_dir.join("examples");
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        examples.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut ran = 0;
    for (n, block) in blocks.iter().enumerate() {
        let first = block.lines().next().unwrap_or_default();
        if NOT_RUN.iter().any(|marker| first.starts_with(marker)) {
            continue;
        }
        let mut script = block.clone();
        let mut built = false;
        for line in BUILD_LINES {
            if script.contains(line) {
                script = script.replacen(line, "export PATH", 1);
                built = true;
            }
        }
        assert!(
            built,
            "README block {}: it runs `gladly-webhook`, so it starts by building it, or its first line says why no test runs it:\n{block}",
            n + 1
        );
        if script.contains(EXAMPLE_LINE) {
            assert!(
                examples.join("nats_consumer").exists(),
                "README block {}: the NATS consumer example is not built (cargo test --workspace builds it; or cargo build -p gladly-webhook-relay --features nats --example nats_consumer)",
                n + 1
            );
            script = script.replacen(EXAMPLE_LINE, "export PATH", 1);
        }
        let dir = tempfile::tempdir().unwrap();
        // The scripts the README names (`.ci/start-nats`), as in a clone.
        std::os::unix::fs::symlink(repo.join(".ci"), dir.path().join(".ci")).unwrap();
        let output = Command::new("bash")
            .args(["-e", "-o", "pipefail", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("GLADLY_API_URL")
            .env_remove("GLADLY_SECRET")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "README block {} failed ({:?}):\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            n + 1,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} blocks ran");
}
