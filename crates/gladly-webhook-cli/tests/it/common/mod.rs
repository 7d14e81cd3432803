//! What the end-to-end tests share: waiting, and the databases to run on.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_gladly-webhook");

pub use gladly_webhook_testkit::wait::wait_until;

/// A database a test runs on: a SQLite file's URL, or a fresh PostgreSQL
/// database, dropped when this is.
pub struct Database {
    url: String,
    _postgres: Option<gladly_webhook_testkit::TestDatabase>,
}

impl std::ops::Deref for Database {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// The databases to test `what` (the inbox, the store) on: a SQLite file
/// at `sqlite_file` always, and a fresh PostgreSQL database when
/// `GLADLY_TEST_DATABASE_URL` names a server (see the testkit).
pub fn databases(sqlite_file: &Path, what: &str) -> Vec<Database> {
    let mut all = vec![Database {
        url: format!("sqlite:{}", sqlite_file.display()),
        _postgres: None,
    }];
    all.extend(pg_database(what));
    all
}

/// A fresh PostgreSQL database, when a server is configured.
pub fn pg_database(what: &str) -> Option<Database> {
    let database = gladly_webhook_testkit::TestDatabase::create("gladly_cli", what)?;
    Some(Database {
        url: database.url().to_string(),
        _postgres: Some(database),
    })
}

/// A running binary in its own process group, with its output collected.
pub struct Running {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Starts `args` and waits for a stderr line containing `ready`.
    pub fn start(args: &[&str], env: &[(&str, &str)], ready: &str) -> Self {
        let mut command = Command::new(BIN);
        command.args(args).envs(env.iter().copied());
        Self::spawn(command, ready)
    }

    /// Starts `command` in a process group of its own and waits for a
    /// stderr line containing `ready`.
    pub fn spawn(mut command: Command, ready: &str) -> Self {
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let stderr: Arc<Mutex<Vec<String>>> = Arc::default();
        let stdout: Arc<Mutex<Vec<String>>> = Arc::default();
        for (pipe, lines) in [
            (
                Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
                stderr.clone(),
            ),
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                stdout.clone(),
            ),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let running = Self {
            child,
            stderr,
            stdout,
        };
        let started = wait_until(Duration::from_secs(60), || {
            running
                .stderr
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(ready))
        });
        assert!(
            started,
            "{args:?} did not start: {:?}",
            running.stderr.lock().unwrap()
        );
        running
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// SIGKILL to the process group, as a crashed machine.
    pub fn kill_hard(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end; its exit code.
    pub fn wait(&mut self) -> i32 {
        self.child.wait().unwrap().code().unwrap_or(-1)
    }

    /// SIGTERM: a graceful stop; the exit code.
    pub fn stop(&mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_hard();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 call on loopback with `headers` (JSON unless they name a
/// `Content-Type`) and `body`: (status, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let (status, _, body) = http_with_head(port, method, path, headers, body);
    (status, body)
}

/// [`http`], with the answer's head (status line and headers) too.
pub fn http_with_head(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    write!(
        stream,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The port of the address a command announced after `marker` (such as
/// `listening on http://`).
pub fn announced_port(running: &Running, marker: &str) -> u16 {
    let stderr = running.stderr();
    let rest = stderr
        .lines()
        .find_map(|l| l.split(marker).nth(1))
        .unwrap_or_else(|| panic!("no {marker:?} in {stderr}"));
    let addr = rest.split(['/', ' ']).next().unwrap();
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// The port `listen` announced.
pub fn listen_port(running: &Running) -> u16 {
    announced_port(running, "listening on http://")
}

/// `listen --no-auth` on a free loopback port with `inbox`: it and its port.
pub fn listen_without_auth(inbox: &str) -> (Running, u16) {
    let listen = Running::start(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--no-auth",
            "--inbox",
            inbox,
        ],
        &[],
        "listening on",
    );
    let port = listen_port(&listen);
    (listen, port)
}
