//! [`LoginThrottle`]: failed logins are counted per peer address in a
//! token bucket; a peer out of tokens is answered 429 with `Retry-After`
//! (whatever it sends) until a token comes back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most peers remembered; past it, peers whose bucket is full again
/// are forgotten first.
const MAX_PEERS: usize = 10_000;

/// Failed logins per peer: `burst` at once, then one per `every`.
#[derive(Debug)]
pub struct LoginThrottle {
    burst: f64,
    every: Duration,
    peers: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Default for LoginThrottle {
    /// 10 failed logins at once, then one a second.
    fn default() -> Self {
        Self::new(10, Duration::from_secs(1))
    }
}

impl LoginThrottle {
    /// `burst` failures at once per peer, then one per `every`.
    pub fn new(burst: u32, every: Duration) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            every: every.max(Duration::from_millis(1)),
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let earned = now.duration_since(bucket.at).as_secs_f64() / self.every.as_secs_f64();
        bucket.tokens = (bucket.tokens + earned).min(self.burst);
        bucket.at = now;
    }

    /// How long `peer` must wait before it may try again, if it must.
    pub fn wait(&self, peer: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = peers.get_mut(&peer)?;
        self.refill(bucket, now);
        (bucket.tokens < 1.0).then(|| self.every.mul_f64(1.0 - bucket.tokens))
    }

    /// Counts a failed login of `peer`.
    pub fn failed(&self, peer: IpAddr) {
        let now = Instant::now();
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            let (burst, every) = (self.burst, self.every);
            peers.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() / every.as_secs_f64() < burst
            });
            if peers.len() >= MAX_PEERS {
                // Every remembered peer is still failing: forget one.
                if let Some(first) = peers.keys().next().copied() {
                    peers.remove(&first);
                }
            }
        }
        let bucket = peers.entry(peer).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        self.refill(bucket, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_throttled_after_its_burst_and_others_are_not() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.wait(peer), None);
            throttle.failed(peer);
        }
        let wait = throttle.wait(peer).expect("throttled");
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert_eq!(throttle.wait(other), None);
        let quick = LoginThrottle::new(1, Duration::from_millis(20));
        quick.failed(peer);
        assert!(quick.wait(peer).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(quick.wait(peer), None);
    }
}
