//! The inspector pages in a real browser: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`) with
//! fantoccini. `listen --ui` shows deliveries as they come, refusals with
//! their code, an event with its runs, requeues a dead one; a body holding
//! `<script>` shows as text and runs nothing; `serve --ui` shows
//! subscriptions and attempts, publishes a test event, re-activates a
//! subscription and retries now.
//!
//! The two browser tests are `#[ignore]`d, so that a run without a browser
//! shows them as ignored rather than passed; `.ci/run` runs them with
//! `--ignored` after `.ci/install-chromium` installs Chromium and
//! chromedriver, and there they fail if chromedriver is missing. With
//! `GLADLY_WRITE_SCREENSHOTS=1` they write the screenshots the README
//! shows into `docs/`.

use crate::common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{BIN, Running, wait_until};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const SECRET: &str = "whsec_example_0123456789abcdef";
const USER: &str = "ops@example.com";
const TOKEN: &str = "tok_inspector_0123456789abcdef";

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver; fails the test when it is missing.
    fn start() -> Self {
        let path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect(
                "the browser tests need chromium and chromium-driver: bash .ci/install-chromium",
            );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let up = wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "chromedriver did not start");
        Self { child, port }
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_string(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--window-size=1280,900"]}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// A Chrome DevTools command, through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Logs the browser in as an API user: every request it makes carries the
/// Basic credentials, as after the login prompt a browser shows on a 401
/// (a URL's embedded credentials would serve the first page only).
async fn log_in(client: &Client, authorization: &str) {
    client
        .issue_cmd(Cdp {
            cmd: "Network.enable",
            params: json!({}),
        })
        .await
        .unwrap();
    client
        .issue_cmd(Cdp {
            cmd: "Network.setExtraHTTPHeaders",
            params: json!({"headers": {"Authorization": authorization}}),
        })
        .await
        .unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Waits (polling, up to 30 s) until `locator` finds an element whose
/// text contains `text`; its text.
async fn wait_for_text(client: &Client, locator: Locator<'_>, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(elements) = client.find_all(locator).await {
            for element in elements {
                if let Ok(found) = element.text().await {
                    if found.contains(text) {
                        return found;
                    }
                    last = found;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{text:?} did not appear in {locator:?} (last: {last:?}); page: {}",
        client.source().await.unwrap_or_default()
    );
}

/// Writes a screenshot into `docs/` when asked (`GLADLY_WRITE_SCREENSHOTS`).
async fn screenshot(client: &Client, name: &str) {
    if std::env::var_os("GLADLY_WRITE_SCREENSHOTS").is_none() {
        return;
    }
    let png = client.screenshot().await.unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join(name), png).unwrap();
}

/// The page fits a narrow window: nothing wider than the viewport.
async fn fits_a_narrow_window(client: &Client) {
    client.set_window_size(400, 800).await.unwrap();
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, Value::Bool(true), "the page is wider than 400 px");
    client.set_window_size(1280, 900).await.unwrap();
}

fn trigger(url: &str, event_type: &str, secret: &str, sets: &[&str]) {
    let mut args = vec!["trigger", event_type, "--to", url, "--secret-env", "S"];
    for set in sets {
        args.extend(["--set", set]);
    }
    // A refused delivery exits non-zero: what matters is what the page shows.
    Command::new(BIN)
        .args(&args)
        .env("S", secret)
        .output()
        .unwrap();
}

#[test]
#[ignore = "needs chromium and chromium-driver (bash .ci/install-chromium); run with --ignored, as .ci/run does"]
fn the_receiver_page_shows_deliveries_live_and_replays_a_dead_event() {
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let fixed = dir.path().join("fixed");
    let handler = format!(
        r#"body=$(cat); case "$body" in *cust_dead*) [ -e "{}" ] || {{ echo "the CRM said no" >&2; exit 3; }} ;; esac"#,
        fixed.display()
    );
    let ui_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ui_addr = format!("127.0.0.1:{ui_port}");
    let listen = Running::start(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--path",
            "/hooks",
            "--secret-env",
            "S",
            "--inbox",
            &inbox,
            "--exec",
            &handler,
            "--max-attempts",
            "1",
            "--ui",
            "--ui-addr",
            &ui_addr,
        ],
        &[("S", SECRET)],
        "inspector page on",
    );
    let stderr = listen.stderr();
    let hooks = stderr
        .lines()
        .find_map(|l| l.split("listening on ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string();
    let page = format!("http://{ui_addr}/");

    runtime().block_on(async {
        let client = driver.browser().await;
        client.goto(&page).await.unwrap();
        // A mark that a reload would wipe.
        client
            .execute("window.gladlyMark = 42; return true;", vec![])
            .await
            .unwrap();

        // Deliveries appear without a reload: stored, refused with its code.
        trigger(&hooks, "CONVERSATION_CLOSED", SECRET, &[r#"/id="evt_live_1""#]);
        wait_for_text(&client, Locator::Css("#deliveries tr"), "evt_live_1").await;
        trigger(&hooks, "TASK_CLOSED", "whsec_not_the_right_one_0123", &[]);
        let refused = wait_for_text(&client, Locator::Css("#deliveries tr"), "401").await;
        assert!(refused.contains("signature_mismatch"), "{refused}");
        trigger(
            &hooks,
            "CONVERSATION_CLOSED",
            SECRET,
            &[r#"/id="evt_dead_1""#, r#"/content/customerId="cust_dead""#],
        );
        let dead = wait_for_text(&client, Locator::Css("#events tr"), "evt_dead_1").await;
        assert!(dead.contains("dead"), "{dead}");
        let mark = client.execute("return window.gladlyMark;", vec![]).await.unwrap();
        assert_eq!(mark, json!(42), "the page was not reloaded");
        screenshot(&client, "inspector-receiver.png").await;
        fits_a_narrow_window(&client).await;

        // The dead event: its run and error, then a requeue once fixed.
        click(&client, Locator::LinkText("evt_dead_1")).await;
        wait_for_text(&client, Locator::Css("#state"), "dead").await;
        let runs = client.source().await.unwrap();
        assert!(runs.contains("the CRM said no"), "stderr's end is shown");
        assert!(runs.contains("gladly-authorization"), "the headers are shown");
        assert!(!runs.contains("Signature=") || runs.contains("Signature=****"));
        screenshot(&client, "inspector-event.png").await;
        std::fs::write(&fixed, "").unwrap();
        click(&client, Locator::Id("requeue")).await;
        wait_for_text(&client, Locator::Css("#state"), "done").await;

        // A body holding a script shows as text and runs nothing.
        trigger(
            &hooks,
            "CONVERSATION_CLOSED",
            SECRET,
            &[
                r#"/id="evt_xss_1""#,
                r#"/content/customerId="<script>window.gladlyPwned = 1</script><img src=x onerror=window.gladlyPwned=2>""#,
            ],
        );
        client.goto(&page).await.unwrap();
        wait_for_text(&client, Locator::Css("#events tr"), "evt_xss_1").await;
        client
            .goto(&format!("http://{ui_addr}/events/evt_xss_1"))
            .await
            .unwrap();
        let body = wait_for_text(&client, Locator::Css("pre"), "<script>").await;
        assert!(body.contains("<script>window.gladlyPwned = 1</script>"), "{body}");
        let pwned = client
            .execute("return window.gladlyPwned === undefined;", vec![])
            .await
            .unwrap();
        assert_eq!(pwned, json!(true), "the body's script ran");

        // A form without the page's token is refused.
        let (status, _) = common::http(
            ui_port,
            "POST",
            "/events/evt_live_1/rerun",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "csrf=forged",
        );
        assert_eq!(status, 403);
        client.close().await.unwrap();
    });
    drop(listen);
}

#[test]
#[ignore = "needs chromium and chromium-driver (bash .ci/install-chromium); run with --ignored, as .ci/run does"]
fn the_hub_page_shows_attempts_publishes_reactivates_retries_now_and_recovers() {
    let driver = Driver::start();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("hub.db").display());
    let users = format!("{USER}:{TOKEN}");
    let hub = Running::start(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            &db,
            "--api-user-env",
            "USERS",
            "--allow-insecure-localhost",
            "--ui",
        ],
        &[("USERS", &users)],
        "inspector page on",
    );
    let stderr = hub.stderr();
    let api: u16 = stderr
        .lines()
        .find_map(|l| l.split("hub API on http://127.0.0.1:").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let receiver_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let receiver_addr = format!("127.0.0.1:{receiver_port}");
    let receiver = || {
        Running::start(
            &[
                "listen",
                "--addr",
                &receiver_addr,
                "--no-auth",
                "--inbox",
                &format!("sqlite:{}", dir.path().join("inbox.db").display()),
            ],
            &[],
            "listening on",
        )
    };
    let mut listen = receiver();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{TOKEN}"))
    );
    let (status, created) = common::http(
        api,
        "POST",
        "/api/v1/webhooks",
        &[("Authorization", &auth)],
        &json!({"url": format!("http://{receiver_addr}/"), "events": ["CONVERSATION_CLOSED"], "active": false})
            .to_string(),
    );
    assert_eq!(status, 201, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // Without credentials: 401, asking the browser for them.
    let (status, _) = common::http(api, "GET", "/ui/", &[], "");
    assert_eq!(status, 401);

    runtime().block_on(async {
        let client = driver.browser().await;
        log_in(&client, &auth).await;
        let base = format!("http://127.0.0.1:{api}/ui/");
        client.goto(&base).await.unwrap();
        let row = wait_for_text(&client, Locator::Css("#webhooks tr"), &id).await;
        assert!(row.contains("inactive"), "{row}");

        // Re-activation: the hub PINGs listen, then the subscription is active.
        click(&client, Locator::LinkText(&id)).await;
        click(&client, Locator::Id("activate")).await;
        wait_for_text(&client, Locator::Id("webhook-state"), "active").await;

        // A test event from the form, delivered, its attempt shown live.
        client.goto(&base).await.unwrap();
        publish_closed(&client).await;
        click(&client, Locator::LinkText(&id)).await;
        let delivered =
            wait_for_text(&client, Locator::Css("#deliveries section"), "delivered").await;
        assert!(delivered.contains("200"), "{delivered}");
        screenshot(&client, "inspector-webhook.png").await;

        // The receiver down: the next one waits 30 s for its retry; with
        // the receiver back, "retry now" delivers it at once.
        listen.kill_hard();
        client.goto(&base).await.unwrap();
        publish_closed(&client).await;
        screenshot(&client, "inspector-hub.png").await;
        fits_a_narrow_window(&client).await;
        click(&client, Locator::LinkText(&id)).await;
        let waiting =
            wait_for_text(&client, Locator::Css("#deliveries section"), "next attempt").await;
        assert!(waiting.contains("pending"), "{waiting}");
        let _back = receiver();
        let asked = Instant::now();
        click(&client, Locator::Id("retry")).await;
        wait_until_all_delivered(&client).await;
        assert!(
            asked.elapsed() < Duration::from_secs(25),
            "delivered before the 30 s retry"
        );

        // Recover (issue 36): the form's window reaches the use case; none
        // of the last hour's deliveries failed, so none is sent again (the
        // API and `hub recover` tests recover real failures).
        client.goto(&format!("{base}webhooks/{id}")).await.unwrap();
        client
            .find(Locator::Id("recover-since"))
            .await
            .unwrap()
            .send_keys("1h")
            .await
            .unwrap();
        click(&client, Locator::Id("recover")).await;
        wait_for_text(&client, Locator::Id("recovered"), "Recovered 0 deliveries").await;
        client.close().await.unwrap();
    });
    drop(hub);
}

/// Clicks the element `locator` finds, within 5 s. The pages update
/// themselves, and a form's answer loads a new page: between two loads the
/// element is not there yet, and an element found just before an update is
/// replaced (Chromium says "stale", or an "unknown error" whose node "does
/// not belong to the document"). Either is tried again, every 50 ms.
async fn click(client: &Client, locator: Locator<'_>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let why = match client.find(locator).await {
            Ok(element) => match element.click().await {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(e)) if replaced(&e) => e.to_string(),
                Err(err) => panic!("{locator:?}: {err}"),
            },
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::NoSuchElement =>
            {
                e.to_string()
            }
            Err(err) => panic!("{locator:?}: {err}"),
        };
        if Instant::now() >= deadline {
            panic!(
                "{locator:?}: {why} for 5 s: {}",
                client.source().await.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a WebDriver error says the element was replaced by an update.
fn replaced(error: &fantoccini::error::WebDriver) -> bool {
    use fantoccini::error::ErrorStatus;
    error.error == ErrorStatus::StaleElementReference
        || (error.error == ErrorStatus::UnknownError
            && error.message.contains("does not belong to the document"))
}

/// Publishes a sample CONVERSATION_CLOSED with the page's form, and waits
/// for the page its answer loads (so the next click is not made on the
/// page being left).
async fn publish_closed(client: &Client) {
    click(
        client,
        Locator::Css("#event-type option[value='CONVERSATION_CLOSED']"),
    )
    .await;
    client
        .execute("window.gladlyLeaving = true;", vec![])
        .await
        .unwrap();
    click(client, Locator::Id("send")).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let loaded = client
            .execute(
                "return document.readyState === 'complete' && !window.gladlyLeaving;",
                vec![],
            )
            .await;
        if matches!(loaded, Ok(Value::Bool(true))) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the form's answer did not load within 5 s: {loaded:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until no delivery on the page is pending.
async fn wait_until_all_delivered(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(25);
    while Instant::now() < deadline {
        // The page may be between two loads (the form's redirect): try again.
        let text = match client.find(Locator::Id("deliveries")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if !text.contains("pending") && text.matches("delivered").count() >= 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "still pending: {}",
        client.source().await.unwrap_or_default()
    );
}

/// `inbox ui`: the same page for an inbox alone (no deliveries: those live
/// in `listen --ui`'s memory), with its security headers; a missing inbox
/// is refused.
#[test]
fn inbox_ui_serves_an_inbox_alone() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let (listen, port) = common::listen_without_auth(&inbox);
    let url = format!("http://127.0.0.1:{port}/");
    let output = Command::new(BIN)
        .args([
            "trigger",
            "TASK_CLOSED",
            "--to",
            &url,
            "--no-auth",
            "--set",
            r#"/id="evt_ui_1""#,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    drop(listen);

    let ui = Running::start(
        &["inbox", "ui", "--inbox", &inbox, "--addr", "127.0.0.1:0"],
        &[],
        "inspector page on",
    );
    let port: u16 = ui
        .stderr()
        .lines()
        .find_map(|l| l.split("inspector page on http://127.0.0.1:").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let (status, head, page) = common::http_with_head(port, "GET", "/", &[], "");
    assert_eq!(status, 200);
    assert!(page.contains("evt_ui_1"), "{page}");
    assert!(!page.contains("Deliveries"), "{page}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self';"),
        "{head}"
    );
    assert!(head.contains("x-frame-options: deny"), "{head}");
    assert_eq!(
        common::http(port, "GET", "/live/deliveries", &[], "").0,
        404
    );
    let (status, event) = common::http(port, "GET", "/events/evt_ui_1", &[], "");
    assert_eq!(status, 200);
    assert!(event.contains("TASK_CLOSED"), "{event}");
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    assert_eq!(
        common::http(port, "POST", "/events/evt_ui_1/requeue", &form, "csrf=x").0,
        403
    );
    drop(ui);

    let missing = format!("sqlite:{}", dir.path().join("nothing.db").display());
    let output = Command::new(BIN)
        .args(["inbox", "ui", "--inbox", &missing, "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no inbox at"));
}
