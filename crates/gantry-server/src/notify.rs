//! [`Recorded`]: wakes the log streams of this server when it records run events, so that a
//! follower sees a line as soon as it arrives instead of at its next poll.
//!
//! Followers still poll: other processes and replicas record into the same store, and only
//! polling sees their lines.

use std::sync::Arc;

use tokio::sync::watch;

/// A counter bumped after every recording; cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// A watch channel: followers only need to know that something changed since they last
    /// looked, never each change, and a slow follower must not hold anything up.
    sender: Arc<watch::Sender<u64>>,
}

impl Default for Recorded {
    fn default() -> Self {
        Self {
            sender: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Recorded {
    /// Tells every follower that events were recorded.
    pub fn notify(&self) {
        self.sender.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// A receiver that is marked changed at each [`Recorded::notify`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}
