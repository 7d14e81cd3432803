//! [`Hub`]: the API and the dispatcher over one store.

use std::sync::Arc;
use std::time::Duration;

use gladly_webhook_core::Policy;
use gladly_webhook_core::address::IpNet;
use gladly_webhook_core::model::Model;
use gladly_webhook_sender::{Schedule, Sender, SenderError};
use gladly_webhook_server::body::{BodyBudget, BodyLimits};

use crate::alerts::AlertOptions;
use crate::api::state::Shared;
use crate::auth::ApiUsers;
use crate::dispatch::{Dispatcher, DispatcherOptions, Waker, spawn_dispatcher};
use crate::gate::ChangeGate;
use crate::rules::Rules;
use crate::store::Store;
use crate::subscriptions::Subscriptions;
use crate::throttle::LoginThrottle;

/// The most subscriptions an organization holds, as Gladly allows.
pub const MAX_WEBHOOKS: usize = 20;
/// The largest request body the API reads.
pub const BODY_LIMIT: usize = 1 << 20;
/// How far back Gladly's Events API reaches, and the local one by default.
pub const EVENTS_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Requests a second Gladly answers an organization (REST API 1.0), and
/// the local one by default.
pub const RATE_LIMIT: u32 = 10;

/// A subscription service: the REST API ([`Hub::router`]) and the
/// dispatcher that delivers what it publishes ([`Hub::spawn_dispatcher`]),
/// over one [`Store`].
///
/// ```no_run
/// use gladly_webhook_hub::{ApiUsers, Hub, Store};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Store::open("sqlite:gladly-hub.db").await?;
/// let users = ApiUsers::parse("ops@example.com:tok_0123456789abcdef")?;
/// let hub = Hub::new(store, users)?;
/// let dispatcher = hub.spawn_dispatcher();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
/// axum::serve(listener, hub.router()).await?;
/// dispatcher.shutdown(std::time::Duration::from_secs(20)).await;
/// # Ok(()) }
/// ```
pub struct Hub {
    store: Store,
    users: ApiUsers,
    sender: Sender,
    policy: Policy,
    waker: Waker,
    gate: ChangeGate,
    logins: Arc<LoginThrottle>,
    body: BodyLimits,
    dispatch: DispatcherOptions,
    model: Model,
    rate: Arc<crate::api::rest::RateLimit>,
    events_window: Duration,
    streams: Arc<crate::api::rest::StreamSlots>,
    alerts: AlertOptions,
    max_webhooks: usize,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("store", &self.store)
            .field("users", &self.users)
            .field("policy", &self.policy)
            .field("dispatch", &self.dispatch)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub on `store` for `users`: strict validation (https URLs only),
    /// at most [`MAX_WEBHOOKS`] subscriptions, bodies up to
    /// [`BODY_LIMIT`], Gladly's schedule and 15 s timeout.
    pub fn new(store: Store, users: ApiUsers) -> Result<Self, SenderError> {
        // The sender's own secret is never used: every request is signed
        // with its subscription's secret (`Sender::with_secret`).
        let sender =
            Sender::new("gladly-webhook-hub: no secret of its own")?.schedule(Schedule::None);
        Ok(Self {
            store,
            users,
            sender,
            policy: Policy::strict(),
            waker: Waker::new(),
            gate: ChangeGate::new(),
            logins: Arc::new(LoginThrottle::default()),
            body: BodyLimits::new(BODY_LIMIT),
            dispatch: DispatcherOptions::default(),
            model: Model::Subscription,
            rate: Arc::new(crate::api::rest::RateLimit::per_second(RATE_LIMIT)),
            events_window: EVENTS_WINDOW,
            streams: Arc::default(),
            alerts: AlertOptions::default(),
            max_webhooks: MAX_WEBHOOKS,
        })
    }

    /// Serves `model`'s API (default: our user's subscription model).
    ///
    /// [`Model::RestApiV1`] makes the hub a local Gladly: `/api/v1/webhooks`
    /// speaks REST API 1.0 as the reference describes it (`enabled`,
    /// `credentials` and `headers` never returned, `201` with `Location`,
    /// `PATCH` answering `204`, errors as `{"errors": [{"attr", "code",
    /// "detail"}]}`), deliveries carry the webhook's Basic credentials and
    /// headers unsigned, every answer carries the rate limit's headers
    /// ([`Hub::rate_limit`]), and `GET /api/v1/events` is the Events API
    /// over what was published in the last [`Hub::events_window`]. See
    /// [`crate::api::rest`].
    ///
    /// Subscriptions of the other model in the same store are not shown by
    /// this API; the dispatcher delivers them all the same.
    ///
    /// ```no_run
    /// use gladly_webhook_core::model::Model;
    /// use gladly_webhook_hub::{ApiUsers, Hub, Store};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// // A local Gladly for a team's provisioning code and receiver.
    /// let hub = Hub::new(
    ///     Store::open("sqlite:local-gladly.db").await?,
    ///     ApiUsers::parse("ops@example.com:tok_0123456789abcdef")?,
    /// )?
    /// .allow_insecure_localhost(true)?
    /// .model(Model::RestApiV1)
    /// .rate_limit(10);
    /// let dispatcher = hub.spawn_dispatcher();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8090").await?;
    /// axum::serve(listener, hub.router()).await?;
    /// dispatcher.shutdown(std::time::Duration::from_secs(20)).await;
    /// # Ok(()) }
    /// ```
    pub fn model(mut self, model: Model) -> Self {
        self.model = model;
        self
    }

    /// The model whose API this hub serves.
    pub fn served_model(&self) -> Model {
        self.model
    }

    /// Holds at most `max` subscriptions (default [`MAX_WEBHOOKS`], as
    /// Gladly allows an organization): more for a hub that serves several.
    pub fn max_webhooks(mut self, max: usize) -> Self {
        self.max_webhooks = max;
        self
    }

    /// Answers at most `per_second` API requests a second, across all API
    /// users, as Gladly limits an organization (REST API 1.0 only; default
    /// [`RATE_LIMIT`]); past it, 429 with `Retry-After`. `0` turns the
    /// limit off.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate = Arc::new(crate::api::rest::RateLimit::per_second(per_second));
        self
    }

    /// How far back the Events API reaches (REST API 1.0 only; default
    /// [`EVENTS_WINDOW`], as Gladly's). Events are kept at least this long
    /// whatever the purge's retention.
    pub fn events_window(mut self, window: Duration) -> Self {
        self.events_window = window;
        self
    }

    /// Accepts URLs to loopback (`localhost`, `127.0.0.1`, `[::1]`), `http`
    /// as well as `https`, and lets the sender connect there (for a
    /// receiver on the same machine). Off by default: the hub connects only
    /// to globally routable addresses, and every other URL must be `https`.
    pub fn allow_insecure_localhost(mut self, allow: bool) -> Result<Self, SenderError> {
        self.policy = self.policy.allow_insecure_localhost(allow);
        let addresses = self.sender.addresses().clone().allow_loopback(allow);
        self.sender = self.sender.address_policy(addresses)?;
        Ok(self)
    }

    /// Accepts subscriptions to addresses in `network` and lets the sender
    /// connect there (repeatable): receivers inside the operator's own
    /// network, e.g. `10.1.0.0/16`. Off by default.
    pub fn allow_network(mut self, network: IpNet) -> Result<Self, SenderError> {
        self.policy = self.policy.allow_network(network);
        let addresses = self.sender.addresses().clone().allow_network(network);
        self.sender = self.sender.address_policy(addresses)?;
        Ok(self)
    }

    /// How long a PING or a delivery attempt may take (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.sender = self.sender.timeout(timeout);
        self
    }

    /// Answers 408 when a request body does not arrive whole within
    /// `timeout` (default 30 s).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body.timeout = timeout;
        self
    }

    /// Buffers request bodies only while `budget` has room (503 past it;
    /// default 64 MiB of its own).
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        self.body.budget = budget;
        self
    }

    /// Throttles failed logins per peer with `throttle` (default: 10 at
    /// once, then one a second; 429 with `Retry-After` past it). The peer
    /// is the connection's address, as `gladly_webhook_server::serve` (or
    /// axum's `into_make_service_with_connect_info`) records it.
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.logins = Arc::new(throttle);
        self
    }

    /// Where operational events go (the operator's endpoints, as Standard
    /// Webhooks) and when a backlog raises one; see [`crate::alerts`].
    /// [`Hub::apply_alert_endpoints`] writes the endpoints to the store.
    pub fn alerts(mut self, options: AlertOptions) -> Self {
        self.alerts = options;
        self
    }

    /// Makes the store's operator endpoints those of [`Hub::alerts`] (none
    /// by default): new ones added, changed ones updated, others removed
    /// with their pending deliveries. Every hub on a store should be given
    /// the same.
    pub async fn apply_alert_endpoints(&self) -> Result<(), crate::store::StoreError> {
        self.store
            .set_operator_endpoints(&self.alerts.endpoints)
            .await
    }

    /// How the dispatcher works (schedule, time scale, lease, concurrency).
    pub fn dispatcher_options(mut self, options: DispatcherOptions) -> Self {
        self.dispatch = options;
        self
    }

    /// The use cases on this hub's subscriptions (what both API dialects
    /// and the inspector call): create, change, delete, rotate,
    /// re-activate, retry now, publish.
    pub fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            store: self.store.clone(),
            sender: self.sender.clone(),
            gate: self.gate.clone(),
            waker: self.waker.clone(),
            rules: Rules::of(self.model),
            max: self.max_webhooks,
            event_limit: self.body.max_bytes,
        }
    }

    fn shared(&self) -> Arc<Shared> {
        Arc::new(Shared {
            subscriptions: self.subscriptions(),
            store: self.store.clone(),
            users: self.users.clone(),
            policy: self.policy.clone(),
            body: self.body.clone(),
            logins: self.logins.clone(),
            rate: self.rate.clone(),
            events_window: self.events_window,
            streams: self.streams.clone(),
        })
    }

    /// The API as an axum router: `/api/v1/...`, in the served model's
    /// dialect ([`Hub::model`]).
    pub fn router(&self) -> axum::Router {
        match self.model {
            Model::RestApiV1 => crate::api::rest::router(self.shared()),
            _ => crate::api::router(self.shared()),
        }
    }

    /// `router` behind the API's Basic auth and login throttle (for pages
    /// served beside the API, such as an inspector): a request without an
    /// API user's credentials is answered 401, as the API answers it.
    pub fn protect(&self, router: axum::Router) -> axum::Router {
        router.route_layer(axum::middleware::from_fn_with_state(
            self.shared(),
            crate::api::require_user,
        ))
    }

    /// Starts the dispatcher (and the backlog watch of [`Hub::alerts`]); the
    /// API wakes it on each publication.
    pub fn spawn_dispatcher(&self) -> Dispatcher {
        let mut options = self.dispatch.clone();
        // The Events API reads what the purge leaves.
        options.retention = Rules::of(self.model).retention(options.retention, self.events_window);
        spawn_dispatcher(
            self.store.clone(),
            self.sender.clone(),
            self.waker.clone(),
            self.gate.clone(),
            options,
            self.alerts.clone(),
        )
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
