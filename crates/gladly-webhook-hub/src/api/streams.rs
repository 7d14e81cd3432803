//! [`StreamSlots`]: how many Events API answers one API user may have in
//! progress at once ([`MAX_STREAMS_PER_USER`]); each holds a page of
//! events in memory while its client reads it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Events API answers in progress at once for one API user; past it the
/// request is answered 429.
pub const MAX_STREAMS_PER_USER: usize = 4;

/// The answers in progress, per API user.
#[derive(Debug, Default)]
pub struct StreamSlots {
    taken: Mutex<HashMap<String, usize>>,
}

impl StreamSlots {
    /// A slot for `user`, held until the [`StreamSlot`] is dropped (the
    /// answer ended, or its client went away); `None` when the user has
    /// [`MAX_STREAMS_PER_USER`] already.
    pub(crate) fn take(self: &Arc<Self>, user: &str) -> Option<StreamSlot> {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        let count = taken.entry(user.to_string()).or_default();
        if *count >= MAX_STREAMS_PER_USER {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            slots: Arc::clone(self),
            user: user.to_string(),
        })
    }
}

/// One answer in progress; gives its slot back when dropped.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    slots: Arc<StreamSlots>,
    user: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = taken.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                taken.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_user_and_given_back() {
        let slots = Arc::new(StreamSlots::default());
        let held: Vec<StreamSlot> = (0..MAX_STREAMS_PER_USER)
            .map(|_| slots.take("a@example.com").unwrap())
            .collect();
        assert!(slots.take("a@example.com").is_none());
        assert!(slots.take("b@example.com").is_some());
        drop(held);
        assert!(slots.take("a@example.com").is_some());
        assert!(slots.taken.lock().unwrap().is_empty());
    }
}
