//! `--exec CMD`: a handler that runs `sh -c CMD` per event, and the worker
//! options the exec flags set.

use std::os::fd::AsFd;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use gladly_webhook_core::echo::escape;
use gladly_webhook_core::event::ParsedEvent;
use gladly_webhook_receiver::inbox::Outcome;
use gladly_webhook_receiver::{
    BoxError, Delivery, Handlers, RetryPolicy, RunReport, WorkerOptions,
};
use tokio::io::AsyncWriteExt;

use crate::cli::{ExecArgs, OutputFormat};
use crate::error::CliError;

/// Where the lines about runs go, and in which format.
#[derive(Debug, Clone, Copy)]
pub struct RunLines {
    /// Text or JSON.
    pub format: OutputFormat,
    /// Standard output when `true`, standard error otherwise. The
    /// commands' own output always goes to standard error, so standard
    /// output holds nothing but our lines.
    pub stdout: bool,
}

impl RunLines {
    fn emit(self, line: &str) {
        if self.stdout {
            crate::commands::emit(line);
        } else {
            eprintln!("{line}");
        }
    }
}

/// The worker options of `args`; an event that goes dead gets a line of
/// its own in `lines`.
pub fn worker_options(args: &ExecArgs, lines: RunLines) -> Result<WorkerOptions, CliError> {
    let retry = RetryPolicy::new(
        args.max_attempts.max(1),
        args.retry_base,
        Duration::from_secs(600),
    );
    Ok(WorkerOptions::default()
        .lease(args.lease)
        .poll_interval(Duration::from_millis(500))
        .retry(retry)
        .on_outcome(move |run| report_dead(run, lines)))
}

/// The line of an event that went dead (its last allowed run failed).
fn report_dead(run: &RunReport, lines: RunLines) {
    let Outcome::Dead { error } = &run.outcome else {
        return;
    };
    if !run.recorded {
        return;
    }
    let id = run.event_id.as_deref().unwrap_or("");
    let line = match lines.format {
        OutputFormat::Json => serde_json::json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "outcome": "dead",
            "type": run.event_type,
            "id": id,
            "attempts": run.attempt,
            "error": error,
        })
        .to_string(),
        OutputFormat::Text => format!(
            "dead {} {} after {} attempt{}: {} (`gladly-webhook inbox requeue {}` runs it again)",
            escape(&run.event_type, 80),
            escape(id, 80),
            run.attempt,
            if run.attempt == 1 { "" } else { "s" },
            escape(error, 200),
            escape(id, 80),
        ),
    };
    lines.emit(&line);
}

/// The longest event id passed in `GLADLY_EVENT_ID`.
const MAX_ID_BYTES: usize = 4096;

/// A handler running `command` for every event, printing one line per run
/// in `lines`. The variables in `hidden` (the signing secrets' variables)
/// are removed from the command's environment. The command runs in a
/// process group of its own, killed whole when it times out or the worker
/// stops.
pub fn handlers(
    command: String,
    timeout: Duration,
    lines: RunLines,
    hidden: Vec<String>,
) -> Result<Handlers, CliError> {
    let command = Arc::new(command);
    let hidden = Arc::new(hidden);
    Ok(
        Handlers::new().on_any(move |delivery: Delivery<ParsedEvent>| {
            let command = Arc::clone(&command);
            let hidden = Arc::clone(&hidden);
            async move {
                let result = run(&command, &hidden, &delivery, timeout).await;
                report(&delivery, &result, lines);
                result
            }
        }),
    )
}

/// Kills a command's whole process group when dropped, unless disarmed:
/// on a timeout, and when the worker stops (its future is dropped).
struct GroupGuard(Option<rustix::process::Pid>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

/// Why an event's id cannot be passed to a command, if so.
fn unpassable(id: &str) -> Option<String> {
    if id.contains('\0') {
        return Some(
            "the event id holds a NUL character: it cannot be passed in GLADLY_EVENT_ID"
                .to_string(),
        );
    }
    if id.len() > MAX_ID_BYTES {
        return Some(format!(
            "the event id is {} bytes: more than the {MAX_ID_BYTES} passed in GLADLY_EVENT_ID",
            id.len()
        ));
    }
    None
}

async fn run(
    command: &str,
    hidden: &[String],
    delivery: &Delivery<ParsedEvent>,
    timeout: Duration,
) -> Result<(), BoxError> {
    let id = delivery.event_id.as_deref().unwrap_or("");
    if let Some(reason) = unpassable(id).or_else(|| unpassable(&delivery.event_type)) {
        return Err(format!("cannot start the command: {reason}").into());
    }
    // The command's own output goes to stderr: stdout is ours. With
    // `--log-format json` both its streams are read and each line said as
    // a JSON object, so that stderr holds nothing else.
    let json = crate::say::is_json();
    let stdout = if json {
        Stdio::piped()
    } else {
        Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?)
    };
    let mut sh = tokio::process::Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .env("GLADLY_EVENT_ID", id)
        .env("GLADLY_EVENT_TYPE", &delivery.event_type)
        .env("GLADLY_ATTEMPT", delivery.attempt.to_string())
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in hidden {
        sh.env_remove(name);
    }
    let mut child = sh
        .spawn()
        .map_err(|e| format!("cannot start the command: {e}"))?;
    let mut group = GroupGuard(
        child
            .id()
            .and_then(|pid| rustix::process::Pid::from_raw(pid as i32)),
    );
    let tail = Output::follow(child.stderr.take(), "stderr", id, json);
    let _stdout = Output::follow(child.stdout.take(), "stdout", id, json);
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input is fine.
        let _ = stdin.write_all(&delivery.body).await;
    }
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(result) => {
            group.disarm();
            match result {
                Ok(status) if status.success() => Ok(()),
                Ok(status) => {
                    let mut error = match status.code() {
                        Some(code) => format!("the command exited with status {code}"),
                        None => "the command was killed by a signal".to_string(),
                    };
                    if let Some(tail) = tail.end().await {
                        error.push_str("; its stderr ended with: ");
                        error.push_str(&tail);
                    }
                    Err(error.into())
                }
                Err(err) => Err(format!("waiting for the command failed: {err}").into()),
            }
        }
        Err(_) => {
            drop(group); // the whole group, not only `sh`
            let _ = child.wait().await;
            Err(format!(
                "the command took longer than {} s and was stopped",
                timeout.as_secs_f64()
            )
            .into())
        }
    }
}

/// The most bytes of a failed command's stderr kept in its error.
const STDERR_TAIL: usize = 1000;
/// The longest line of a command's output said as one JSON line; a longer
/// one is said in pieces of this size.
const JSON_LINE: usize = 16 * 1024;

/// A command's output cut into lines, each said as a JSON object.
struct JsonLines {
    stream: &'static str,
    event_id: String,
    partial: Vec<u8>,
}

impl JsonLines {
    fn new(stream: &'static str, event_id: String) -> Self {
        Self {
            stream,
            event_id,
            partial: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.say(&line[..end]);
        }
        while self.partial.len() >= JSON_LINE {
            let piece: Vec<u8> = self.partial.drain(..JSON_LINE).collect();
            self.say(&piece);
        }
    }

    fn finish(mut self) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.say(&rest);
        }
    }

    fn say(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        crate::say::command_output(self.stream, &self.event_id, line.trim_end_matches('\r'));
    }
}

/// One of a command's output streams, passed on to our stderr as it
/// comes (as JSON lines when `json`), its last [`STDERR_TAIL`] bytes kept
/// for the error of a failed run (and the inspector's run history).
struct Output {
    kept: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Output {
    fn follow<R>(stream: Option<R>, name: &'static str, event_id: &str, json: bool) -> Self
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
    {
        use tokio::io::AsyncReadExt;
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let event_id = event_id.to_string();
        let reader = stream.map(|mut stream| {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut lines = JsonLines::new(name, event_id);
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if json {
                        lines.push(&buf[..n]);
                    } else {
                        let mut out = std::io::stderr().lock();
                        let _ = std::io::Write::write_all(&mut out, &buf[..n]);
                    }
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    kept.extend_from_slice(&buf[..n]);
                    let excess = kept.len().saturating_sub(STDERR_TAIL);
                    kept.drain(..excess);
                }
                lines.finish();
            })
        });
        Self { kept, reader }
    }

    /// The last bytes written, trimmed, once the command's stderr closed (or
    /// after 200 ms: a process it left behind may hold it open).
    async fn end(mut self) -> Option<String> {
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_millis(200), reader).await;
        }
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let text = String::from_utf8_lossy(&kept).trim().to_string();
        (!text.is_empty()).then_some(text)
    }
}

fn report(delivery: &Delivery<ParsedEvent>, result: &Result<(), BoxError>, lines: RunLines) {
    let id = delivery.event_id.as_deref().unwrap_or("");
    let line = match lines.format {
        OutputFormat::Json => serde_json::json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "run": if result.is_ok() { "ok" } else { "failed" },
            "type": delivery.event_type,
            "id": id,
            "attempt": delivery.attempt,
            "error": result.as_ref().err().map(|e| e.to_string()),
        })
        .to_string(),
        OutputFormat::Text => format!(
            "run {} {} attempt {}: {}",
            escape(&delivery.event_type, 80),
            escape(id, 80),
            delivery.attempt,
            match result {
                Ok(()) => "ok".to_string(),
                Err(err) => escape(&err.to_string(), 200),
            }
        ),
    };
    lines.emit(&line);
}
