//! The resolver that applies the [`AddressPolicy`] to every address a host
//! name resolves to: the addresses refused are never connected to, and a
//! name with no allowed address fails with the rule it broke.

use std::net::SocketAddr;

use gladly_webhook_core::address::{AddressPolicy, AddressRefused};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves with the system resolver, then keeps only the addresses the
/// policy allows. The connection is made to exactly those addresses (the
/// answer is pinned: no second lookup can rebind the name).
pub(crate) struct PolicyResolver {
    policy: AddressPolicy,
}

impl PolicyResolver {
    pub(crate) fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.check(addr.ip()) {
                    Ok(()) => true,
                    Err(err) => {
                        refused.get_or_insert(err);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(refused)) => Err(Box::new(refused) as _),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// The address refusal somewhere in `err`'s chain of causes, if any.
pub(crate) fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<AddressRefused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<AddressRefused>() {
            return Some(*refused);
        }
        cause = current.source();
    }
    None
}
