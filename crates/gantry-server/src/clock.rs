//! [`Clock`]: where the lease path reads the time (renewing a run's lease, recording when its
//! client was heard from, sweeping expired leases). A server reads the system clock; a test of
//! leases hands it a [`ManualClock`] instead and moves it on by minutes without waiting.
//!
//! The store compares the times it is given, never its own clock, so this one clock decides
//! when a lease expires.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// The time the lease path reads: the system clock, or a [`ManualClock`]'s. Cheap to clone.
#[derive(Clone, Default)]
pub struct Clock {
    /// The manual clock's time when there is one; `None` reads the system clock.
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(time) => *time.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.manual.is_some() {
            "Clock::manual"
        } else {
            "Clock::system"
        })
    }
}

/// A clock that stands still until it is moved on; every [`Clock`] it handed out reads it.
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock that reads `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            time: Arc::new(Mutex::new(start)),
        }
    }

    /// A [`Clock`] that reads this one, for a server's state.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.time.clone()),
        }
    }

    /// The time it reads.
    pub fn now(&self) -> DateTime<Utc> {
        *self.time.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        *self.time.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}
