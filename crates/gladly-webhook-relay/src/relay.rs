//! [`Relay`]: the inputs in front, the store and the dispatcher behind.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use gladly_webhook_hub::alerts::AlertOptions;
use gladly_webhook_hub::destinations::{Destination, Destinations};
use gladly_webhook_hub::store::StoreError;
use gladly_webhook_hub::{Dispatcher, DispatcherOptions, Store, Waker};
use gladly_webhook_receiver::{Keeper, Receiver};
use gladly_webhook_sender::{Sender, SenderError};
use gladly_webhook_server::body::BodyBudget;
use http::StatusCode;

use crate::config::{DestinationConfig, DestinationKind, RelayConfig};
use crate::outbox::Outbox;

/// Why a relay could not start or take a new configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The store refused.
    #[error("the relay's store: {0}")]
    Store(#[from] StoreError),
    /// The store holds a hub's subscriptions: a relay's store is a hub's
    /// store, and sharing one would fan each one's events out to the
    /// other's recipients.
    #[error(
        "the store holds a hub's subscriptions: give the relay a database of its own (never a hub's)"
    )]
    SharedStore,
    /// A destination's HTTP client could not be built.
    #[error("destination {name}: {source}")]
    Sender {
        /// The destination.
        name: String,
        /// Why.
        source: SenderError,
    },
    /// A NATS destination could not start: its servers' addresses, its
    /// credentials, or its stream.
    #[cfg(feature = "nats")]
    #[error("destination {name}: {source}")]
    Nats {
        /// The destination.
        name: String,
        /// Why.
        source: crate::nats::NatsError,
    },
    /// A destination of a kind this build does not have (built without its
    /// feature).
    #[error("destination {name}: this build has no {kind} support")]
    Unsupported {
        /// The destination.
        name: String,
        /// Its kind.
        kind: &'static str,
    },
}

/// The inputs in force, by path.
type Inputs = HashMap<String, Receiver>;

/// A relay: Gladly's deliveries verified on each input path, kept in the
/// store with one delivery per destination, then sent on as Standard
/// Webhooks by a dispatcher ([`Relay::spawn_dispatcher`]). Cheap to clone.
#[derive(Clone)]
pub struct Relay {
    store: Store,
    destinations: Destinations,
    waker: Waker,
    inputs: Arc<RwLock<Arc<Inputs>>>,
    budget: BodyBudget,
    body_timeout: Option<std::time::Duration>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inputs = self.current_inputs();
        let mut paths: Vec<&String> = inputs.keys().collect();
        paths.sort();
        f.debug_struct("Relay")
            .field("inputs", &paths)
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Opens the configuration's store (creating and migrating it) and
    /// applies the configuration.
    pub async fn open(config: &RelayConfig) -> Result<Self, RelayError> {
        let store = Store::open(config.store_url().expose()).await?;
        Self::with_store(store, config).await
    }

    /// A relay on `store`, with `config` applied (its store URL unused).
    pub async fn with_store(store: Store, config: &RelayConfig) -> Result<Self, RelayError> {
        let relay = Self::new(store);
        relay.apply(config).await?;
        Ok(relay)
    }

    /// A relay on `store` with no input and no destination yet: set its
    /// limits, then [`Relay::apply`] a configuration.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            destinations: Destinations::new(),
            waker: Waker::new(),
            inputs: Arc::default(),
            budget: BodyBudget::default(),
            body_timeout: None,
        }
    }

    /// Buffers request bodies only while `budget` has room (503 past it);
    /// for the inputs of the configurations applied after.
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Answers 408 when a body does not arrive whole within `timeout`
    /// (default 30 s); for the inputs of the configurations applied after.
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = Some(timeout);
        self
    }

    /// Applies `config` (at start, and on a reload): destinations added,
    /// changed and removed (a removed one keeps what it has pending, sent
    /// if it comes back), inputs replaced. What is queued is kept. Its
    /// store URL and dispatch options take effect at the next start. A
    /// store that holds a hub's subscriptions is refused.
    pub async fn apply(&self, config: &RelayConfig) -> Result<(), RelayError> {
        if !self.store.list_webhooks().await?.is_empty() {
            return Err(RelayError::SharedStore);
        }
        let mut destinations = Vec::with_capacity(config.destinations.len());
        for d in &config.destinations {
            destinations.push(destination(d).await?);
        }
        self.destinations.apply(&self.store, destinations).await?;
        let outbox = self.keeper();
        let inputs: Inputs = config
            .inputs
            .iter()
            .map(|input| {
                let mut receiver = Receiver::keeping(input.auth.clone(), outbox.clone())
                    .body_budget(self.budget.clone());
                if let Some(timeout) = self.body_timeout {
                    receiver = receiver.body_timeout(timeout);
                }
                (input.path.clone(), receiver)
            })
            .collect();
        match self.inputs.write() {
            Ok(mut current) => *current = Arc::new(inputs),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(inputs),
        }
        Ok(())
    }

    fn current_inputs(&self) -> Arc<Inputs> {
        match self.inputs.read() {
            Ok(inputs) => Arc::clone(&inputs),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What keeps a verified delivery, exactly as the inputs do: for
    /// another source of Gladly's events (a backfill from its Events API),
    /// so that an event received both ways is kept, and sent, once.
    pub fn keeper(&self) -> Arc<dyn Keeper> {
        Arc::new(Outbox {
            store: self.store.clone(),
            waker: self.waker.clone(),
        })
    }

    /// The router of the input paths: each `POST`ed delivery verified by
    /// its path's rule, kept, and answered (see
    /// [`gladly_webhook_receiver`]'s table of answers); any other path is
    /// 404. Serve it with `gladly_webhook_server::serve`'s limits.
    pub fn router(&self) -> Router {
        Router::new().fallback(receive).with_state(self.clone())
    }

    /// Starts the dispatcher that sends to the destinations with `options`
    /// (its window, leases, poll and retention; each destination's schedule
    /// is its own) and to the operator's endpoints of `alerts`.
    pub fn spawn_dispatcher(
        &self,
        options: DispatcherOptions,
        alerts: AlertOptions,
    ) -> Result<Dispatcher, RelayError> {
        // The operator's endpoints are reached as the destinations are: the
        // base sender is only theirs.
        let sender = Sender::unsigned().map_err(|source| RelayError::Sender {
            name: "operator endpoints".to_string(),
            source,
        })?;
        Ok(self.destinations.spawn_dispatcher(
            self.store.clone(),
            &sender,
            self.waker.clone(),
            options,
            alerts,
        ))
    }
}

/// The destination `d` configures: an HTTP client of its own (its address
/// rule and timeout), or a connection to its NATS servers.
async fn destination(d: &DestinationConfig) -> Result<Destination, RelayError> {
    let destination = match &d.kind {
        DestinationKind::Http { signer, body } => {
            let failed = |source| RelayError::Sender {
                name: d.name.clone(),
                source,
            };
            let sender = Sender::unsigned()
                .map_err(failed)?
                .address_policy(d.addresses.clone())
                .map_err(failed)?
                .timeout(d.timeout);
            Destination::new(&d.id(), &d.url, d.events.clone(), signer.clone(), &sender).body(*body)
        }
        DestinationKind::Nats(nats) => nats_destination(d, nats).await?,
    };
    Ok(destination.schedule(d.schedule.clone()))
}

#[cfg(feature = "nats")]
async fn nats_destination(
    d: &DestinationConfig,
    nats: &crate::config::NatsConfig,
) -> Result<Destination, RelayError> {
    let transport = crate::nats::NatsTransport::connect(nats, d.timeout, &d.addresses)
        .await
        .map_err(|source| RelayError::Nats {
            name: d.name.clone(),
            source,
        })?;
    Ok(Destination::with_transport(
        &d.id(),
        &d.url,
        d.events.clone(),
        Arc::new(transport),
    ))
}

#[cfg(not(feature = "nats"))]
async fn nats_destination(
    d: &DestinationConfig,
    _: &crate::config::NatsConfig,
) -> Result<Destination, RelayError> {
    Err(RelayError::Unsupported {
        name: d.name.clone(),
        kind: "NATS",
    })
}

/// Every request: the input of its path, or 404.
async fn receive(State(relay): State<Relay>, request: Request<Body>) -> Response {
    let inputs = relay.current_inputs();
    match inputs.get(request.uri().path()) {
        Some(receiver) => receiver.receive(request).await.into_response(),
        None => (StatusCode::NOT_FOUND, "no input on this path\n").into_response(),
    }
}
