//! `listen`, `trigger`, `send` and `inbox` end to end, as built binaries on
//! loopback, for both inbox backends; and the crash test: `listen --exec`
//! killed with SIGKILL while a sender delivers on Gladly's schedule.

use crate::common;

use common::wait_until;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec_example_0123456789abcdef";
const BIN: &str = env!("CARGO_BIN_EXE_gladly-webhook");

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env("GLADLY_SECRET", SECRET);
    command
}

/// Runs the binary to its end: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let output = command(args).stdin(Stdio::null()).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A running `listen`, in its own process group, and where it listens.
struct Listener {
    child: Child,
    url: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Listener {
    fn start(inbox: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "listen",
            "--path",
            "/hooks/gladly",
            "--secret-env",
            "GLADLY_SECRET",
            "--inbox",
            inbox,
        ];
        if !extra.contains(&"--addr") {
            args.extend(["--addr", "127.0.0.1:0"]);
        }
        args.extend_from_slice(extra);
        Self::spawn(command(&args))
    }

    /// Starts `command` (a `listen` invocation) and waits for its address.
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (found, url) = std::sync::mpsc::channel();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let error_lines = Arc::clone(&errors);
        std::thread::spawn(move || {
            let mut found = Some(found);
            let mut before = Vec::new();
            for line in stderr.lines().map_while(Result::ok) {
                error_lines.lock().unwrap().push(line.clone());
                if let Some(rest) = line.split("listening on ").nth(1) {
                    if let Some(tx) = found.take() {
                        let _ = tx.send(Ok(rest.split(' ').next().unwrap_or_default().to_string()));
                    }
                } else if found.is_some() {
                    before.push(line);
                }
            }
            if let Some(tx) = found {
                let _ = tx.send(Err(before.join("\n")));
            }
        });
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        let out = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(60))
            .expect("listen starts within 60 s")
            .unwrap_or_else(|stderr| panic!("listen did not start: {stderr}"));
        Self {
            child,
            url,
            stdout,
            stderr: errors,
        }
    }

    /// SIGKILL to the whole process group: the listener and the commands
    /// it runs, as a crashed machine would lose them. The commands run in
    /// process groups of their own (so that a timeout kills each whole):
    /// the listener is stopped first, then each command's group is killed,
    /// then the listener's.
    fn kill_hard(mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-s", "STOP", &pid.to_string()])
            .status();
        let mut commands = Vec::new();
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let children =
                    std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                commands.extend(children.split_whitespace().map(str::to_string));
            }
        }
        for command in commands {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{command}")])
                .status();
        }
        let status = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success(), "kill the process group");
        let _ = self.child.wait();
    }

    /// SIGTERM: a graceful stop; its exit code.
    fn stop(mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        status.code().unwrap_or(-1)
    }
}

impl Drop for Listener {
    /// A test that fails leaves no listener behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// Inbox stats as JSON.
fn stats(inbox: &str) -> serde_json::Value {
    let (code, out, err) = run(&["inbox", "stats", "--inbox", inbox, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The inbox URLs to test: SQLite always, PostgreSQL when configured.
fn inboxes(dir: &Path) -> Vec<common::Database> {
    common::databases(&dir.join("inbox.db"), "inbox")
}

/// A handler script: logs each run; `evt_fail*` fails until `fixed`
/// exists; `evt_flaky*` fails its first attempt. It also writes to its
/// stdout, which must never reach `listen`'s.
fn handler(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"body=$(cat); echo "$GLADLY_EVENT_ID $GLADLY_EVENT_TYPE $GLADLY_ATTEMPT ${{#body}}" >> "{d}/runs.log";
echo "handler output for $GLADLY_EVENT_ID, not JSON";
case "$GLADLY_EVENT_ID" in
  evt_fail*) [ -e "{d}/fixed" ] || exit 3 ;;
  evt_flaky*) [ "$GLADLY_ATTEMPT" -ge 2 ] || exit 1 ;;
esac"#
    )
}

fn trigger(url: &str, event_type: &str, id: &str) -> (i32, String, String) {
    let set = format!("/id=\"{id}\"");
    run(&[
        "trigger",
        event_type,
        "--to",
        url,
        "--secret-env",
        "GLADLY_SECRET",
        "--schedule",
        "none",
        "--set",
        &set,
    ])
}

fn state(inbox: &str, id: &str) -> serde_json::Value {
    let (code, out, err) = run(&["inbox", "show", id, "--inbox", inbox, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn listen_trigger_exec_retry_dead_requeue_on_each_backend() {
    let dir = tempfile::tempdir().unwrap();
    for inbox in inboxes(dir.path()) {
        let _ = std::fs::remove_file(dir.path().join("runs.log"));
        let _ = std::fs::remove_file(dir.path().join("fixed"));
        let script = handler(dir.path());
        let listener = Listener::start(
            &inbox,
            &[
                "--exec",
                &script,
                "--workers",
                "2",
                "--max-attempts",
                "3",
                "--retry-base",
                "50ms",
                "--format",
                "json",
            ],
        );
        let url = listener.url.clone();

        assert_eq!(trigger(&url, "CONVERSATION_CLOSED", "evt_ok").0, 0);
        assert_eq!(trigger(&url, "TASK_CLOSED", "evt_flaky").0, 0);
        assert_eq!(trigger(&url, "MESSAGE_CREATED", "evt_fail").0, 0);
        let (code, out, _) = trigger(&url, "CONVERSATION_CLOSED", "evt_ok");
        assert_eq!(
            (code, out.as_str()),
            (0, "delivered after 1 attempt\n"),
            "a duplicate is still delivered"
        );
        // A send of a file, and a PING.
        let (code, _, err) = run(&[
            "send",
            "--to",
            &url,
            "--secret-env",
            "GLADLY_SECRET",
            "../../examples/events/customer-updated.json",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(trigger(&url, "PING", "evt_ping").0, 0);
        // A request to another path: a 404, reported like other refusals.
        let elsewhere = url.replace("/hooks/gladly", "/hooks/other");
        assert!(raw_post(&elsewhere, &[], "{}").contains(" 404 "));

        let settled = wait_until(Duration::from_secs(60), || {
            let s = stats(&inbox);
            s["pending"] == 0 && s["running"] == 0 && s["dead"] == 1
        });
        assert!(settled, "{inbox}: {}", stats(&inbox));
        assert_eq!(state(&inbox, "evt_ok")["state"], "done");
        let flaky = state(&inbox, "evt_flaky");
        assert_eq!(
            (flaky["state"].as_str(), flaky["attempts"].as_u64()),
            (Some("done"), Some(2))
        );
        let failed = state(&inbox, "evt_fail");
        assert_eq!(
            (failed["state"].as_str(), failed["attempts"].as_u64()),
            (Some("dead"), Some(3)),
            "{inbox}"
        );
        assert_eq!(failed["last_error"], "the command exited with status 3");
        let outcomes: Vec<&str> = failed["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["failed", "failed", "dead"]);
        assert!(
            state(&inbox, "evt_0108")["state"] == "done",
            "the sent file's event ran"
        );
        let (code, _, _) = run(&["inbox", "show", "evt_ping", "--inbox", &inbox]);
        assert_eq!(code, 1, "a PING is stored nowhere");

        // Fix the cause, requeue, and it runs to done.
        std::fs::write(dir.path().join("fixed"), "").unwrap();
        let (code, out, err) = run(&["inbox", "requeue", "evt_fail", "--inbox", &inbox]);
        assert_eq!((code, out.as_str()), (0, "requeued 1\n"), "{err}");
        assert!(wait_until(Duration::from_secs(60), || state(
            &inbox, "evt_fail"
        )["state"]
            == "done"));
        let (code, _, err) = run(&["inbox", "requeue", "evt_fail", "--inbox", &inbox]);
        assert_eq!(code, 1, "only dead events are requeued: {err}");

        let (code, out, _) = run(&[
            "inbox", "list", "--inbox", &inbox, "--format", "json", "--state", "done",
        ]);
        assert_eq!(code, 0);
        assert_eq!(out.lines().count(), 4, "{out}");

        let runs = std::fs::read_to_string(dir.path().join("runs.log")).unwrap();
        assert_eq!(
            runs.lines().filter(|l| l.starts_with("evt_ok ")).count(),
            1,
            "{runs}"
        );
        assert!(runs.contains("evt_fail MESSAGE_CREATED 1 "), "{runs}");

        // Issue 36: a window, by type and state: the done MESSAGE_CREATED
        // event of the last hour runs again (a replay), once.
        let window = [
            "inbox",
            "requeue",
            "--since",
            "1h",
            "--type",
            "MESSAGE_CREATED",
            "--state",
            "done",
            "--inbox",
            &inbox,
            "--format",
            "json",
        ];
        let (code, out, err) = run(&window);
        assert_eq!(
            (code, out.as_str()),
            (0, "{\"requeued\":1}\n"),
            "{inbox}: {err}"
        );
        assert!(wait_until(Duration::from_secs(60), || state(
            &inbox, "evt_fail"
        )["state"]
            == "done"));
        let (code, out, _) = run(&[
            "inbox", "requeue", "--since", "1h", "--until", "30m", "--inbox", &inbox,
        ]);
        assert_eq!((code, out.as_str()), (0, "requeued 0\n"), "{inbox}");

        let printed = Arc::clone(&listener.stdout);
        let listener_stderr = Arc::clone(&listener.stderr);
        assert_eq!(listener.stop(), 0, "SIGTERM is a graceful stop");
        // The reader thread drains what was printed before the exit.
        std::thread::sleep(Duration::from_millis(200));
        let all = printed.lock().unwrap().clone();
        // --format json: stdout holds JSON objects only (the handler's
        // own output went to stderr): deliveries, runs, and the dead line.
        let values: Vec<serde_json::Value> = all
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect();
        let lines: Vec<&String> = all
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.get("status").is_some())
            .map(|(line, _)| line)
            .collect();
        assert_eq!(lines.len(), 7, "one line per delivery: {all:?}");
        for (line, value) in all.iter().zip(&values) {
            assert!(
                (value["status"].is_u64() && value["verdict"].is_string())
                    || value["run"].is_string()
                    || value["outcome"] == "dead",
                "{line}"
            );
        }
        let elsewhere: Vec<_> = values.iter().filter(|v| v["status"] == 404).collect();
        assert_eq!(elsewhere.len(), 1, "{all:?}");
        assert_eq!(elsewhere[0]["verdict"], "not_found");
        let dead: Vec<_> = values.iter().filter(|v| v["outcome"] == "dead").collect();
        assert_eq!(dead.len(), 1, "{all:?}");
        assert_eq!(
            (&dead[0]["id"], &dead[0]["attempts"], &dead[0]["error"]),
            (
                &serde_json::json!("evt_fail"),
                &serde_json::json!(3),
                &serde_json::json!("the command exited with status 3")
            )
        );
        let runs = values.iter().filter(|v| v["run"].is_string()).count();
        assert_eq!(
            runs, 9,
            "evt_ok 1, evt_flaky 2, evt_fail 3, 1 after the requeue and 1 replayed, the file's 1: {all:?}"
        );
        assert!(
            listener_stderr
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("handler output for evt_ok")),
            "the handler's stdout went to stderr"
        );
        let duplicates = values.iter().filter(|v| v["verdict"] == "duplicate");
        assert_eq!(duplicates.count(), 1);
    }
}

#[test]
fn send_dry_run_prints_a_request_verify_accepts() {
    let (code, out, err) = run(&[
        "send",
        "--to",
        "http://127.0.0.1:9/hooks/gladly?tenant=acme",
        "--secret-env",
        "GLADLY_SECRET",
        "--dry-run",
        "../../examples/events/conversation-closed.json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("POST /hooks/gladly?tenant=acme HTTP/1.1\r\n"),
        "{out}"
    );
    let mut verify = command(&["verify", "--secret-env", "GLADLY_SECRET", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut verify.stdin.take().unwrap(), out.as_bytes()).unwrap();
    let verified = verify.wait_with_output().unwrap();
    assert!(verified.status.success());
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("event: CONVERSATION_CLOSED evt_0001")
    );

    // Nothing listening: every attempt fails, exit 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/h", listener.local_addr().unwrap());
    drop(listener);
    let (code, out, err) = run(&[
        "send",
        "--to",
        &url,
        "--secret-env",
        "GLADLY_SECRET",
        "--schedule",
        "10ms,10ms",
        "../../examples/events/ping.json",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (1, "gave up after 3 attempts\n"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("attempt ")).count(),
        3,
        "{err}"
    );
    let (code, _, err) = run(&[
        "trigger",
        "NO_SUCH_TYPE",
        "--to",
        &url,
        "--secret-env",
        "GLADLY_SECRET",
    ]);
    assert_eq!(code, 2);
    // Not the 63 types (issue 37): where to find them.
    assert!(err.contains("trigger --list"), "{err}");
}

/// The crash test. A sender on Gladly's schedule (time-scaled) delivers a
/// few hundred events, several at once, while `listen --exec` is killed
/// with SIGKILL (its whole process group) at random moments and restarted
/// on the same SQLite inbox. At the end every event is in the inbox once
/// and done, every event ran at least once, and an event ran more than
/// once only where a kill fell inside one of its runs.
#[test]
fn crash_test_sigkill_loses_nothing() {
    const EVENTS: usize = 300;
    const IN_FLIGHT: usize = 8;
    const KILLS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let log = dir.path().join("runs.log");
    let script = format!(
        r#"cat > /dev/null; echo "$GLADLY_EVENT_ID start $(date +%s%N)" >> "{l}"; sleep 0.02; echo "$GLADLY_EVENT_ID end $(date +%s%N)" >> "{l}""#,
        l = log.display()
    );
    let mut listen_args = vec![
        "--exec",
        script.as_str(),
        "--workers",
        "4",
        "--lease",
        "1s",
        "--retry-base",
        "50ms",
    ];
    let first = Listener::start(&inbox, &listen_args);
    let url = first.url.clone();
    // Restarts listen on the same port, as a service manager would.
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    listen_args.extend(["--addr", addr.as_str()]);
    let mut listener = Some(first);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let next = Arc::new(Mutex::new(0usize));
    let senders: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (next, url) = (Arc::clone(&next), url.clone());
            runtime.spawn(async move {
                // Gladly's schedule, 250 times faster: 30 s, 5, 30 and 60
                // minutes become 0.12, 1.2, 7.2 and 14.4 seconds.
                let sender = gladly_webhook_sender::Sender::new(SECRET)
                    .unwrap()
                    .address_policy(
                        gladly_webhook_sender::AddressPolicy::public_only().allow_loopback(true),
                    )
                    .unwrap()
                    .schedule(gladly_webhook_sender::Schedule::Gladly)
                    .time_scale(0.004);
                let mut reports = Vec::new();
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    if i >= EVENTS {
                        return reports;
                    }
                    let id = format!("evt_crash_{i:04}");
                    let body = format!(
                        r#"{{"id":"{id}","type":"CUSTOMER_UPDATED","timestamp":"2026-11-26T17:00:00Z","initiator":{{"id":"a","type":"SYSTEM"}},"content":{{"customerId":"c{i}"}}}}"#
                    );
                    let report = sender.deliver(&url, body.as_bytes(), |_| {}).await.unwrap();
                    reports.push((id, report.outcome, report.attempts));
                    // Paced, so that the kills fall while events arrive.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            })
        })
        .collect();

    // Kill at random moments while sending, restarting at once.
    let mut kill_times = Vec::new();
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(100 + fastrand::u64(0..250)));
        listener.take().unwrap().kill_hard();
        // Taken once the group is dead: every run started before it was
        // either finished or killed.
        kill_times.push(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        listener = Some(Listener::start(&inbox, &listen_args));
    }
    let mut reports = Vec::new();
    for sender in senders {
        reports.extend(runtime.block_on(sender).unwrap());
    }
    assert!(started.elapsed() < Duration::from_secs(300));

    // Every event delivered (acknowledged) by the sender.
    let undelivered: Vec<&String> = reports
        .iter()
        .filter(|(_, outcome, _)| *outcome != gladly_webhook_sender::Outcome::Delivered)
        .map(|(id, _, _)| id)
        .collect();
    assert!(undelivered.is_empty(), "not delivered: {undelivered:?}");
    let duplicates_delivered = reports
        .iter()
        .filter(|(_, _, attempts)| attempts.iter().any(|a| a.body == "duplicate"))
        .count();
    let failed_attempts: usize = reports
        .iter()
        .map(|(_, _, a)| a.iter().filter(|a| a.status != Some(200)).count())
        .sum();

    // The inbox settles: every event done.
    assert!(
        wait_until(Duration::from_secs(120), || {
            let s = stats(&inbox);
            s["done"] == EVENTS && s["pending"] == 0 && s["running"] == 0
        }),
        "{}",
        stats(&inbox)
    );
    assert_eq!(listener.take().unwrap().stop(), 0);
    let (code, out, _) = run(&[
        "inbox", "list", "--inbox", &inbox, "--format", "json", "--limit", "10000",
    ]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), EVENTS, "each event once");
    let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), EVENTS);
    assert!(rows.iter().all(|r| r["state"] == "done"));

    // Every event ran; a repeated run only where a kill fell inside a run.
    let runs_log = std::fs::read_to_string(&log).unwrap();
    let mut starts: BTreeMap<String, Vec<u128>> = BTreeMap::new();
    for line in runs_log.lines() {
        let mut parts = line.split(' ');
        let (id, what, at) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap_or("0"),
        );
        if what == "start" {
            starts
                .entry(id.to_string())
                .or_default()
                .push(at.parse().unwrap_or(0));
        }
    }
    assert_eq!(starts.len(), EVENTS, "every event ran at least once");
    let mut repeated = 0;
    for (id, times) in &starts {
        if times.len() > 1 {
            repeated += 1;
            let (first, last) = (times[0], *times.last().unwrap());
            assert!(
                kill_times.iter().any(|k| *k > first && *k < last),
                "{id} ran {} times ({times:?}) with no kill between its runs (kills at {kill_times:?})",
                times.len()
            );
        }
    }
    eprintln!(
        "crash test: {EVENTS} events, {IN_FLIGHT} in flight, {} SIGKILLs, {failed_attempts} failed attempts retried by the sender, \
         {duplicates_delivered} duplicates delivered (answered `duplicate`), {repeated} events run more than once, {:.1} s",
        kill_times.len(),
        started.elapsed().as_secs_f64()
    );
}

/// `listen` closes a silent connection after `--header-timeout`, and
/// answers connections past `--max-connections` with 503 (issue 17, item
/// 2: `axum::serve` kept both for as long as the client liked).
#[test]
fn listen_bounds_silent_and_surplus_connections() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let listener = Listener::start(
        &inbox,
        &["--header-timeout", "1s", "--max-connections", "2"],
    );
    let addr = listener
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    let _held = std::net::TcpStream::connect(&addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut surplus = std::net::TcpStream::connect(&addr).unwrap();
    surplus
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let _ = surplus.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut rest = Vec::new();
    let read = silent.read_to_end(&mut rest);
    assert!(
        read.is_ok(),
        "the silent connection was not closed: {read:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(listener.stop(), 0);
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Issue 17, item 7: `--exec` runs without the signing secret's variable
/// in its environment, in a process group of its own that is killed whole
/// on `--exec-timeout` (its children too, not only `sh`), and an event
/// whose id cannot be passed to a command says why in `inbox show`.
#[test]
fn exec_hides_the_secret_and_kills_its_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let inbox = format!("sqlite:{d}/inbox.db");
    let script = format!(
        r#"env > "{d}/env-$GLADLY_EVENT_ID.txt"; sleep 300 & echo $! > "{d}/child-$GLADLY_EVENT_ID.pid"; wait"#
    );
    let listener = Listener::start(
        &inbox,
        &[
            "--exec",
            &script,
            "--exec-timeout",
            "1s",
            "--max-attempts",
            "1",
        ],
    );
    let (code, _, err) = trigger(&listener.url, "CUSTOMER_UPDATED", "evt_group");
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(Duration::from_secs(60), || {
        state(&inbox, "evt_group")["state"] == "dead"
    }));
    let env = std::fs::read_to_string(dir.path().join("env-evt_group.txt")).unwrap();
    assert!(env.contains("GLADLY_EVENT_ID=evt_group"), "{env}");
    assert!(
        !env.contains("GLADLY_SECRET"),
        "the secret's variable reached --exec"
    );
    assert!(!env.contains(SECRET), "the secret reached --exec");
    let child = std::fs::read_to_string(dir.path().join("child-evt_group.pid")).unwrap();
    let child = child.trim();
    assert!(
        wait_until(Duration::from_secs(20), || process_gone(child)),
        "the command's child {child} outlived the timeout"
    );
    let shown = state(&inbox, "evt_group");
    assert!(shown.to_string().contains("longer than 1 s"), "{shown}");

    // An id too long to pass in GLADLY_EVENT_ID: the reason is shown.
    let long_id = format!("evt_{}", "x".repeat(5000));
    let (code, _, err) = trigger(&listener.url, "CUSTOMER_UPDATED", &long_id);
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(Duration::from_secs(60), || {
        state(&inbox, &long_id)["state"] == "dead"
    }));
    let shown = state(&inbox, &long_id).to_string();
    assert!(shown.contains("cannot start the command"), "{shown}");
    assert!(shown.contains("5004 bytes"), "{shown}");
    assert_eq!(listener.stop(), 0);
}

/// Issue 17, item 7: `listen` logs the inbox's own errors on stderr (it
/// logged only start and stop during a database outage), and no line holds
/// the secret.
#[test]
fn listen_logs_inbox_errors() {
    let Some(inbox) = common::pg_database("inbox") else {
        return;
    };
    let listener = Listener::start(&inbox, &[]);
    let (code, _, err) = trigger(&listener.url, "CUSTOMER_UPDATED", "evt_before");
    assert_eq!(code, 0, "{err}");
    // The database goes away under the listener (dropped with its
    // connections).
    drop(inbox);
    let (code, out, _) = trigger(&listener.url, "CUSTOMER_UPDATED", "evt_during");
    assert_eq!(code, 1, "{out}");
    assert!(
        wait_until(Duration::from_secs(20), || {
            listener
                .stderr
                .lock()
                .unwrap()
                .iter()
                .any(|line| line.contains("inbox could not commit"))
        }),
        "{:?}",
        listener.stderr.lock().unwrap()
    );
    let lines = listener.stderr.lock().unwrap().clone();
    assert!(lines.iter().all(|line| !line.contains(SECRET)));
    let _ = listener.stop();
}

/// One raw POST to `url` with `headers`: the status line.
fn raw_post(url: &str, headers: &[(&str, &str)], body: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

/// Issue 18: `listen` receives deliveries as Gladly's REST API 1.0
/// webhooks send them (Basic credentials and a header, no signature),
/// refuses to start with no way to authenticate unless told `--no-auth`
/// (and then says so first), and hides the credentials' variables from
/// `--exec`.
#[test]
fn listen_with_basic_credentials_and_a_required_header() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let (code, _, err) = run(&["listen", "--inbox", &inbox, "--addr", "127.0.0.1:0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--no-auth"), "{err}");

    let mut with_basic = command(&[
        "listen",
        "--path",
        "/hooks",
        "--inbox",
        &inbox,
        "--addr",
        "127.0.0.1:0",
        "--basic-auth-env",
        "HOOK_BASIC",
        "--require-header",
        "X-Gladly-Token",
        "--header-value-env",
        "HOOK_TOKEN",
    ]);
    with_basic
        .env("HOOK_BASIC", "gladly:pa:ss")
        .env("HOOK_TOKEN", "tok_header_value")
        .env_remove("GLADLY_SECRET");
    let listener = Listener::spawn(with_basic);
    let good = "Basic Z2xhZGx5OnBhOnNz"; // gladly:pa:ss
    let event = r#"{"id":"evt_rest_1","type":"CUSTOMER_UPDATED","timestamp":"2026-11-26T17:00:00Z","initiator":{"id":"a","type":"SYSTEM"},"content":{"customerId":"c"}}"#;
    let ok = raw_post(
        &listener.url,
        &[
            ("Authorization", good),
            ("X-Gladly-Token", "tok_header_value"),
        ],
        event,
    );
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    // `trigger` sends as a REST API 1.0 webhook does: Basic and the header,
    // no signature; its dry run never prints them.
    let send_args = |extra: &[&str]| {
        let mut args = vec![
            "trigger",
            "CUSTOMER_UPDATED",
            "--to",
            listener.url.as_str(),
            "--schedule",
            "none",
            "--basic-auth-env",
            "HOOK_BASIC",
            "--require-header",
            "X-Gladly-Token",
            "--header-value-env",
            "HOOK_TOKEN",
            "--set",
            "/id=\"evt_rest_2\"",
        ];
        args.extend_from_slice(extra);
        let output = command(&args)
            .env("HOOK_BASIC", "gladly:pa:ss")
            .env("HOOK_TOKEN", "tok_header_value")
            .env_remove("GLADLY_SECRET")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, out, err) = send_args(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, dry, _) = send_args(&["--dry-run"]);
    assert_eq!(code, 0);
    assert!(dry.contains("authorization: [REDACTED]"), "{dry}");
    assert!(dry.contains("x-gladly-token: [REDACTED]"), "{dry}");
    assert!(!dry.contains("gladly-authorization") && !dry.contains("tok_header_value"));
    assert_eq!(state(&inbox, "evt_rest_2")["state"], "pending");
    let refused = raw_post(&listener.url, &[("Authorization", good)], event);
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(wait_until(Duration::from_secs(10), || {
        listener
            .stdout
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("401 missing_header"))
    }));
    let errors = listener.stderr.lock().unwrap().join("\n");
    assert!(
        errors.contains("Basic credentials and header x-gladly-token"),
        "{errors}"
    );
    assert!(!errors.contains("pa:ss") && !errors.contains("tok_header_value"));
    assert_eq!(state(&inbox, "evt_rest_1")["state"], "pending");
    assert_eq!(listener.stop(), 0);

    let mut open = command(&[
        "listen",
        "--path",
        "/hooks",
        "--inbox",
        &inbox,
        "--addr",
        "127.0.0.1:0",
        "--no-auth",
    ]);
    open.env_remove("GLADLY_SECRET");
    let listener = Listener::spawn(open);
    let first = listener
        .stderr
        .lock()
        .unwrap()
        .first()
        .cloned()
        .unwrap_or_default();
    assert!(first.contains("--no-auth"), "{first}");
    assert!(raw_post(&listener.url, &[], event).starts_with("HTTP/1.1 200"));
    assert_eq!(listener.stop(), 0);
}

/// Issue 21 (in part): read-only inbox commands refuse a SQLite inbox
/// that does not exist (they created an empty one and said "all clear"),
/// and `listen` binds its address before it creates its inbox, so a port in
/// use leaves no file behind.
#[test]
fn missing_inboxes_are_not_created_by_reading_or_by_a_busy_port() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let inbox = format!("sqlite:{}", path.display());
    for command in ["stats", "list"] {
        let (code, _, err) = run(&["inbox", command, "--inbox", &inbox]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(err.contains("does not exist"), "{err}");
    }
    let (code, _, _) = run(&["inbox", "show", "evt_1", "--inbox", &inbox]);
    assert_eq!(code, 2);
    assert!(!path.exists(), "a read created the inbox");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (code, _, err) = run(&[
        "listen",
        "--addr",
        &addr,
        "--inbox",
        &inbox,
        "--secret-env",
        "GLADLY_SECRET",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        !path.exists(),
        "a listen that could not bind created the inbox"
    );
}

/// One typed round trip per event type of Gladly's REST API 1.0, on each
/// backend: `trigger TYPE` sends the built-in sample with Basic
/// credentials (no signature) to `listen --basic-auth-env`, the event is
/// stored, `inbox show` names its type as a known REST API 1.0 type, and
/// `listen`'s line shows the type as sent.
#[test]
fn every_real_event_type_round_trips_from_trigger_to_inbox_show() {
    let samples: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../samples/rest-api-v1-events.json")).unwrap();
    let types: Vec<&str> = samples
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 52);
    let dir = tempfile::tempdir().unwrap();
    for inbox in inboxes(dir.path()) {
        let mut listen = command(&[
            "listen",
            "--path",
            "/hooks",
            "--inbox",
            &inbox,
            "--addr",
            "127.0.0.1:0",
            "--basic-auth-env",
            "HOOK_BASIC",
        ]);
        listen
            .env("HOOK_BASIC", "gladly:a long webhook password")
            .env_remove("GLADLY_SECRET");
        let listener = Listener::spawn(listen);
        // Four lanes of types at once: each type's round trip is three
        // processes started one after another, mostly waiting.
        let round_trip = |n: usize, event_type: &str| {
            let id = format!("evt_real_{n:02}");
            let set = format!("/id=\"{id}\"");
            let output = command(&[
                "trigger",
                event_type,
                "--to",
                &listener.url,
                "--schedule",
                "none",
                "--basic-auth-env",
                "HOOK_BASIC",
                "--set",
                &set,
            ])
            .env("HOOK_BASIC", "gladly:a long webhook password")
            .env_remove("GLADLY_SECRET")
            .stdin(Stdio::null())
            .output()
            .unwrap();
            let out = String::from_utf8_lossy(&output.stdout);
            let err = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{event_type}: {out}{err}");

            let (code, shown, err) = run(&["inbox", "show", &id, "--inbox", &inbox]);
            assert_eq!(code, 0, "{event_type}: {err}");
            assert!(
                shown.contains(&format!("type: {event_type} (Gladly REST API 1.0)\n")),
                "{event_type}: {shown}"
            );
            assert!(shown.contains("state: pending\n"), "{event_type}: {shown}");
            let json = state(&inbox, &id);
            assert_eq!(json["model"], "rest-api-v1", "{event_type}");
            assert_eq!(json["type"], event_type);
        };
        std::thread::scope(|lanes| {
            for lane in 0..4 {
                let round_trip = &round_trip;
                let types = &types;
                lanes.spawn(move || {
                    for (n, event_type) in types.iter().enumerate().skip(lane).step_by(4) {
                        round_trip(n, event_type);
                    }
                });
            }
        });
        assert!(wait_until(Duration::from_secs(10), || {
            listener
                .stdout
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("CONVERSATION/CLOSED") && l.contains("evt_real_"))
        }));
        assert_eq!(stats(&inbox)["pending"], 52, "{inbox}");
        listener.stop();
    }
}

/// Issue 32: `listen --secret-env` takes the key the signing side chose,
/// however short (Gladly's example uses `test-apikey-1`, 13 bytes): it
/// warns once at start and stores what is signed with it; a delivery
/// signed with another key is still refused.
#[test]
fn listen_accepts_a_short_key_the_signer_chose() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let mut listen = command(&[
        "listen",
        "--path",
        "/hooks/gladly",
        "--addr",
        "127.0.0.1:0",
        "--secret-env",
        "SHORT_KEY",
        "--inbox",
        &inbox,
    ]);
    listen.env("SHORT_KEY", "test-apikey-1");
    let listener = Listener::spawn(listen);
    let send = |key: &str, id: &str| {
        let set = format!("/id=\"{id}\"");
        let output = command(&[
            "trigger",
            "CONVERSATION_CLOSED",
            "--to",
            &listener.url,
            "--secret-env",
            "SHORT_KEY",
            "--schedule",
            "none",
            "--set",
            &set,
        ])
        .env("SHORT_KEY", key)
        .stdin(Stdio::null())
        .output()
        .unwrap();
        output.status.code()
    };
    assert_eq!(send("test-apikey-1", "evt_short_key"), Some(0));
    assert_ne!(send("test-apikey-2", "evt_other_key"), Some(0));
    assert_eq!(state(&inbox, "evt_short_key")["state"], "pending");
    let (code, _, _) = run(&["inbox", "show", "evt_other_key", "--inbox", &inbox]);
    assert_ne!(code, 0, "the wrongly signed delivery was not stored");
    let stderr = listener.stderr.lock().unwrap().join("\n");
    assert_eq!(stderr.matches("is 13 bytes").count(), 1, "{stderr}");
    assert!(!stderr.contains("test-apikey"), "{stderr}");
    assert_eq!(listener.stop(), 0);
}

/// Issue 32: an inspector page beyond loopback is an explicit choice with
/// a login: `listen --ui --ui-addr 0.0.0.0:...` and `inbox ui --addr
/// 0.0.0.0:...` are refused without `--ui-allow-remote`, which needs
/// `--ui-login-env`; with both the page asks for the login, and it
/// answers only to the host names it was started with.
#[test]
fn an_inspector_page_beyond_loopback_needs_an_opt_in_and_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    for args in [
        &[
            "listen",
            "--no-auth",
            "--addr",
            "127.0.0.1:0",
            "--inbox",
            &inbox,
            "--ui",
            "--ui-addr",
            "0.0.0.0:0",
        ][..],
        &[
            "listen",
            "--no-auth",
            "--addr",
            "127.0.0.1:0",
            "--inbox",
            &inbox,
            "--ui",
            "--ui-addr",
            "[::]:0",
        ][..],
        &["inbox", "ui", "--inbox", &inbox, "--addr", "0.0.0.0:0"][..],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("--ui-allow-remote"), "{args:?}: {err}");
        let mut remote = args.to_vec();
        remote.push("--ui-allow-remote");
        let (code, _, err) = run(&remote);
        assert_eq!(code, 2, "{remote:?}: {err}");
        assert!(err.contains("needs --ui-login-env"), "{remote:?}: {err}");
    }

    let mut listen = command(&[
        "listen",
        "--no-auth",
        "--addr",
        "127.0.0.1:0",
        "--inbox",
        &inbox,
        "--ui",
        "--ui-addr",
        "0.0.0.0:0",
        "--ui-allow-remote",
        "--ui-login-env",
        "UI_LOGIN",
        "--ui-host",
        "inspector.internal",
    ]);
    listen.env("UI_LOGIN", "ops:a long page password");
    let listener = Listener::spawn(listen);
    let port: u16 = wait_for_line(&listener, "inspector page on http://")
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let get = |host: &str, auth: Option<&str>| {
        let mut headers = vec![("Host", host.to_string())];
        if let Some(auth) = auth {
            headers.push(("Authorization", auth.to_string()));
        }
        raw_get(port, "/", &headers)
    };
    // base64("ops:a long page password").
    let login = "Basic b3BzOmEgbG9uZyBwYWdlIHBhc3N3b3Jk";
    assert!(get(&format!("127.0.0.1:{port}"), None).starts_with("HTTP/1.1 401"));
    assert!(get(&format!("127.0.0.1:{port}"), Some(login)).starts_with("HTTP/1.1 200"));
    assert!(get("inspector.internal", Some(login)).starts_with("HTTP/1.1 200"));
    assert!(get("attacker.example", Some(login)).starts_with("HTTP/1.1 403"));
    let stderr = listener.stderr.lock().unwrap().join("\n");
    assert!(!stderr.contains("a long page password"), "{stderr}");
    assert_eq!(listener.stop(), 0);
}

/// The rest of the first stderr line of `listener` that holds `marker`,
/// waited for up to 30 s.
fn wait_for_line(listener: &Listener, marker: &str) -> String {
    let mut found = None;
    wait_until(Duration::from_secs(30), || {
        found = listener.stderr.lock().unwrap().iter().find_map(|l| {
            l.split(marker)
                .nth(1)
                .map(|rest| rest.split(' ').next().unwrap_or_default().to_string())
        });
        found.is_some()
    });
    found.unwrap_or_else(|| panic!("no {marker:?}"))
}

/// A GET of `path` on loopback `port` with `headers`: the whole answer.
fn raw_get(port: u16, path: &str, headers: &[(&str, String)]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Issue 32: a client that writes its whole request before it reads
/// (Python's `http.client` here; many JVM clients do the same) reads the
/// 413 for a body over the limit, 20 times of 20, instead of a broken pipe
/// or a reset: `listen` closes its side, then drains what still arrives
/// (for at most 5 s and 64 MiB, and half a second of silence). 2 MiB fits in this machine's loopback
/// socket buffers, so its write ends before the reset comes; 24 MiB does
/// not: without the lingering close its first try fails with a broken
/// pipe.
#[test]
fn a_client_that_writes_everything_first_reads_the_413() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let listener = Listener::spawn(command(&[
        "listen",
        "--no-auth",
        "--path",
        "/hooks",
        "--addr",
        "127.0.0.1:0",
        "--inbox",
        &inbox,
    ]));
    let port = listener
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let script = r#"
import http.client, sys
port, mib = int(sys.argv[1]), int(sys.argv[2])
body = b"x" * (mib * 1024 * 1024)
read = 0
for _ in range(20):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request("POST", "/hooks", body=body, headers={"Content-Type": "application/json"})
        if connection.getresponse().status == 413:
            read += 1
        connection.close()
    except OSError as err:
        print(repr(err), file=sys.stderr)
print(read)
"#;
    for mib in ["2", "24"] {
        let output = Command::new("python3")
            .args(["-c", script, &port, mib])
            .output()
            .expect("python3 runs (it is on every machine of this project's kind)");
        let read = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            read.trim(),
            "20",
            "{mib} MiB: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(listener.stop(), 0);
}

/// Issue 37 (item 6): `--ui-addr` on a port in use is refused before
/// `listen` says it is listening, and the error names `--ui-addr`.
#[test]
fn a_ui_port_in_use_is_told_as_ui_addrs() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ui_addr = busy.local_addr().unwrap().to_string();
    let (code, _, err) = run(&[
        "listen",
        "--no-auth",
        "--addr",
        "127.0.0.1:0",
        "--inbox",
        &inbox,
        "--ui",
        "--ui-addr",
        &ui_addr,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("--ui-addr {ui_addr}")), "{err}");
    assert!(!err.contains("listening on http://"), "{err}");
}
