//! What the relay's test files share: a relay served on loopback with a
//! dispatcher that polls often.

use std::net::SocketAddr;
use std::time::Duration;

use gladly_webhook_hub::alerts::AlertOptions;
use gladly_webhook_hub::{Dispatcher, DispatcherOptions};
use gladly_webhook_relay::Relay;

/// `relay`'s router on a free loopback port.
pub async fn serve(relay: &Relay) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = relay.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A dispatcher polling every 50 ms, 4 deliveries in flight.
pub fn fast_dispatch() -> DispatcherOptions {
    let mut options = DispatcherOptions::default();
    options.poll = Duration::from_millis(50);
    options.max_in_flight = 4;
    options
}

/// `relay` running: its dispatcher ([`fast_dispatch`]) and its address.
pub async fn run(relay: &Relay) -> (Dispatcher, SocketAddr) {
    let dispatcher = relay
        .spawn_dispatcher(fast_dispatch(), AlertOptions::default())
        .unwrap();
    (dispatcher, serve(relay).await)
}
