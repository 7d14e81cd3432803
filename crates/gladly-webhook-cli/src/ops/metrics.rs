//! The Prometheus recorder: every metric the libraries record through the
//! `metrics` facade, rendered on a scrape with the gauges read from the
//! store at that moment (inbox depth, backlogs), so a gauge never outlives
//! what it measures.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::error::CliError;

/// Histogram buckets for webhook latencies, in seconds: 1 ms to 15 s (an
/// attempt's timeout), and `+Inf` past it.
pub const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0,
];

/// How often the recorder's histograms are compacted between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process), describes every metric and
/// makes every counter's series exist at 0.
/// Must run inside the runtime: it starts the recorder's upkeep.
pub fn install() -> Result<(), CliError> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let failed = |err: metrics_exporter_prometheus::BuildError| {
        CliError::Usage(format!("cannot start the metrics recorder: {err}"))
    };
    let handle = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .map_err(failed)?
        .install_recorder()
        .map_err(failed)?;
    gladly_webhook_receiver::metrics::describe();
    gladly_webhook_hub::metrics::describe();
    gladly_webhook_receiver::metrics::zero();
    gladly_webhook_hub::metrics::zero();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let _ = HANDLE.set(handle);
    Ok(())
}

/// What the recorder holds, in Prometheus' text format.
pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// A gauge family rendered by hand: `# HELP`, `# TYPE` and its samples.
pub struct Gauge<'a> {
    out: &'a mut String,
    name: &'a str,
}

impl<'a> Gauge<'a> {
    /// Starts the family `name`.
    pub fn new(out: &'a mut String, name: &'a str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        Self { out, name }
    }

    /// One sample, with its labels.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        let name = self.name;
        let _ = write!(self.out, "{name}");
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape_label(text));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }
}

/// A label value as the text format wants it: `\`, `"` and newlines
/// escaped.
fn escape_label(text: &str) -> String {
    text.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_written_in_the_text_format() {
        let mut out = String::new();
        Gauge::new(&mut out, "x_items", "Items.")
            .sample(&[], 2.0)
            .sample(&[("id", "a\"b\\c\nd"), ("k", "v")], 0.5);
        assert_eq!(
            out,
            "# HELP x_items Items.\n# TYPE x_items gauge\nx_items 2\nx_items{id=\"a\\\"b\\\\c\\nd\",k=\"v\"} 0.5\n"
        );
    }
}
